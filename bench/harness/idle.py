"""Idle kept connections against a responder: what 10,000 of them cost in memory, and whether
a new request is still answered at once (issue targets in report.targets)."""

import resource
import statistics
import time

from .measure import memory_kb

import fcgi_raw as fcgi  # noqa: E402  (Tests/integration, on the path from harness/__init__.py)

HEALTHZ = "/app-inbox/healthz"


def kept_request(conn):
    conn.send(fcgi.request_bytes(HEALTHZ, flags=fcgi.KEEP_CONN))
    return conn.read_response(timeout=5.0)


def measure_idle(port, pids, count):
    """Opens `count` connections straight to the responder, each answered once and kept; returns
    RSS before and with them, and the median and worst time of 20 new requests meanwhile."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, count + 512)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    rss_before, _ = memory_kb(pids)
    kept, failures = [], 0
    try:
        for _ in range(min(count, wanted - 256)):
            try:
                conn = fcgi.Connection(port, timeout=5.0)
                kept.append(conn)
                if kept_request(conn).status != 200:
                    failures += 1
            except (OSError, TimeoutError):
                failures += 1
        time.sleep(0.5)
        rss_with, _ = memory_kb(pids)
        times = []
        for _ in range(20):
            started = time.monotonic()
            answer = fcgi.request(port, HEALTHZ, timeout=5.0)
            times.append((time.monotonic() - started) * 1000)
            if answer.status != 200:
                failures += 1
        # The kept ones still work, too.
        for conn in (kept[0], kept[-1]):
            if kept_request(conn).status != 200:
                failures += 1
        return {"connections": len(kept), "failures": failures, "rss_before_mb": rss_before / 1024,
                "rss_mb": rss_with / 1024, "new_request_median_ms": statistics.median(times),
                "new_request_max_ms": max(times)}
    finally:
        for conn in kept:
            conn.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
