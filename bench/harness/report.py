"""Rows of measurements, the targets they are held to, and the markdown table."""

import json
from dataclasses import asdict, dataclass

from . import LATENCY_MS


@dataclass
class Row:
    """One contender at one connection level. The names are latest.json's keys."""
    key: str
    label: str
    kind: str
    mode: str                 # keep-conn: "on", "off", or "-" for nginx alone
    threads: int
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    non2xx: int
    socket_errors: int
    rss_mb: float             # None where no process of ours answers (nginx alone)
    hwm_mb: float
    cpu_s: float
    cpu_us_per_req: float
    upstream_requests: int    # None for contenders that call no upstream
    new_tls: int
    resumed_tls: int
    processes: int
    probe: dict
    # Only on some rows: app-inbox-fcgi's /status after its last level, and the upstream's new
    # TLS connections over the contender's whole life.
    app_status: dict = None
    instance_new_tls: int = None
    instance_resumed_tls: int = None
    # After the last level of a contender with `idle`: bench/harness/idle.py's readings.
    idle: dict = None

    OPTIONAL = ("app_status", "instance_new_tls", "instance_resumed_tls", "idle")

    def as_json(self):
        return {k: v for k, v in asdict(self).items() if not (k in self.OPTIONAL and v is None)}

    def problem(self):
        """Why this row fails --quick, or None."""
        if self.non2xx > 0:
            return f"{self.non2xx} non-2xx answers"
        if self.requests == 0:
            return "no answers at all"
        return None


@dataclass
class FailedRow:
    """A contender that did not answer its probe: no measurements."""
    key: str
    label: str
    mode: str
    failed: str

    def as_json(self):
        return asdict(self)

    def problem(self):
        return self.failed


def fmt(value, digits=1):
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def print_row(row):
    tls = "" if row.new_tls is None else f" newTLS={row.new_tls}({row.resumed_tls}r)"
    print(f"  {row.key:<16} c={row.connections:<4} {row.rps:>10,.0f} req/s  p50 {row.p50_ms:.2f} ms  "
          f"p99 {row.p99_ms:.2f} ms  non2xx {row.non2xx}  sockerr {row.socket_errors}  "
          f"rss {fmt(row.rss_mb)} MB  cpu {fmt(row.cpu_s, 2)} s{tls}", flush=True)


def find(rows, key, connections):
    return next((r for r in rows if isinstance(r, Row) and r.key == key and r.connections == connections), None)


def ratio(a, b):
    return a / b if a is not None and b else None


def targets(rows, startup):
    """(target, measured, "met" or "NOT met") for each target the rows can speak to."""
    out = []

    def verdict(ok):
        return "met" if ok else "NOT met"

    for keep in ("keep", "nokeep"):
        hit, c = find(rows, f"app-hit-{keep}", 64), find(rows, f"c-{keep}", 64)
        if hit and c:
            r = hit.rps / c.rps
            out.append((f"cache-hit throughput ≥ 0.85 × C ceiling (64 conns, keep-conn {hit.mode})",
                        f"{hit.rps:,.0f} / {c.rps:,.0f} = {r:.2f}×", verdict(r >= 0.85)))
    for keep in ("keep", "nokeep"):
        app, php = find(rows, f"app-exch-{keep}", 64), find(rows, f"php-{keep}", 64)
        if app and php:
            r = app.rps / php.rps
            out.append((f"exchange throughput ≥ 5 × php-fpm (64 conns, keep-conn {app.mode})",
                        f"{app.rps:,.0f} / {php.rps:,.0f} = {r:.1f}×", verdict(r >= 5)))
        if app and app.instance_new_tls is not None:
            # One connection per call in flight (HTTP/1.1), kept for the next: at most as many as
            # the most connections of any level, whatever the worker count.
            n, most = app.instance_new_tls, max(r.connections for r in rows if isinstance(r, Row) and r.key == app.key)
            out.append((f"new upstream TLS connections ≤ the most calls in flight ({most}) for the whole run "
                        f"(app exchange, keep-conn {app.mode}, warm-up + every level)",
                        f"{n} ({app.instance_resumed_tls} resumed)", verdict(n <= most)))
    for lat in (find(rows, "app-lat", 64), find(rows, "app-lat64", 64)):
        if not lat:
            continue
        ideal = 64 / (LATENCY_MS / 1000)
        out.append((f"latency-bound ≥ 0.9 × connections / latency (64 conns, {LATENCY_MS} ms: ≥ {0.9 * ideal:,.0f} req/s), "
                    f"{lat.threads} workers", f"{lat.rps:,.0f} req/s = {lat.rps / ideal:.2f}×",
                    verdict(lat.rps >= 0.9 * ideal)))
        out.append((f"latency-bound p99 ≤ latency + 5 ms (≤ {LATENCY_MS + 5} ms), {lat.threads} workers",
                    f"{lat.p99_ms:.1f} ms", verdict(lat.p99_ms <= LATENCY_MS + 5)))
    for connections in (16, 64, 256):
        hit, c = find(rows, "app-hit-keep-pool", connections), find(rows, "c-keep-pool", connections)
        if hit and c:
            r = hit.rps / c.rps
            out.append((f"cache hit, keep-conn, pool at the concurrency: ≥ 1.2 × C ceiling ({connections} conns)",
                        f"{hit.rps:,.0f} / {c.rps:,.0f} = {r:.2f}×", verdict(r >= 1.2)))
            out.append((f"… and p99 ≤ 3 × its p50 ({connections} conns; C: {c.p50_ms:.2f} / {c.p99_ms:.2f} ms)",
                        f"{hit.p50_ms:.2f} / {hit.p99_ms:.2f} ms", verdict(hit.p99_ms <= 3 * hit.p50_ms)))
        small, c = find(rows, "app-hit-keep", connections), find(rows, "c-keep", connections)
        if small and c:
            r = small.rps / c.rps
            out.append((f"cache hit, keep-conn, small pool (connections churn): ≥ 0.95 × C ceiling ({connections} conns)",
                        f"{small.rps:,.0f} / {c.rps:,.0f} = {r:.2f}×", verdict(r >= 0.95)))
    for algorithm in ("hs256", "eddsa"):
        signed, params = find(rows, f"app-hit-signed-{algorithm}", 64), find(rows, "app-hit-keep", 64)
        if signed and params:
            r = signed.rps / params.rps
            out.append((f"cache hit with a signed identity cookie ({signed.label.rsplit(', ', 1)[1]}) ≥ 0.9 × with the "
                        "identity param (64 conns, keep-conn)", f"{signed.rps:,.0f} / {params.rps:,.0f} = {r:.2f}×",
                        verdict(r >= 0.9)))
    params = find(rows, "app-hit-keep", 64)
    for algorithm in ("hs256", "eddsa", "es256", "rs256"):
        cold = find(rows, f"app-hit-signed-{algorithm}-cold", 64)
        if cold and params and cold.cpu_us_per_req is not None and params.cpu_us_per_req is not None:
            out.append((f"full verification of each token ({algorithm.upper()}): CPU per request beyond the identity "
                        "param's (64 conns; reported, no target)",
                        f"{cold.cpu_us_per_req - params.cpu_us_per_req:.0f} µs ({cold.rps:,.0f} req/s = "
                        f"{cold.rps / params.rps:.2f}×)", "measured"))
    fleet, single = find(rows, "app-fleet-hit", 64), find(rows, "app-hit-keep", 64)
    if fleet and single:
        r = fleet.rps / single.rps
        out.append(("fleet mode: cache hit with 3 responders and Redis on these 2 cores ≥ 0.5 × one responder's "
                    "(64 conns, keep-conn)", f"{fleet.rps:,.0f} / {single.rps:,.0f} = {r:.2f}×; CPU "
                    f"{fmt(fleet.cpu_us_per_req, 0)} against {fmt(single.cpu_us_per_req, 0)} µs/req", verdict(r >= 0.5)))
    exchange, single = find(rows, "app-fleet-exch", 64), find(rows, "app-exch-keep", 64)
    if exchange and single:
        out.append(("fleet mode: exchange with 3 responders and Redis against one responder's (64 conns; reported, "
                    "no target)", f"{exchange.rps:,.0f} / {single.rps:,.0f} = {exchange.rps / single.rps:.2f}×", "measured"))
    lat8 = find(rows, "app-lat8", 256)
    if lat8:
        ideal = 256 / (LATENCY_MS / 1000)
        out.append((f"latency-bound, 8 workers, 256 conns, {LATENCY_MS} ms: ≥ 0.9 × 256 / latency (≥ {0.9 * ideal:,.0f} req/s)",
                    f"{lat8.rps:,.0f} req/s = {lat8.rps / ideal:.2f}×; CPU {fmt(lat8.cpu_us_per_req, 0)} µs/req",
                    verdict(lat8.rps >= 0.9 * ideal)))
    for connections in (256, 1024):
        lat8, alone = find(rows, "app-lat8", connections), find(rows, "standin-lat", connections)
        if lat8 and alone:
            out.append((f"… or, where two cores run out first: ≥ 0.9 × wrk straight at the stand-in ({connections} conns)",
                        f"{lat8.rps:,.0f} / {alone.rps:,.0f} = {lat8.rps / alone.rps:.2f}×",
                        verdict(lat8.rps >= 0.9 * alone.rps)))
    wide = find(rows, "app-lat8", 1024)
    if wide:
        out.append(("latency-bound, 8 workers, 1,024 conns: no errors, RSS ≤ 64 MB",
                    f"{wide.rps:,.0f} req/s, {wide.non2xx:,} non-2xx, {wide.socket_errors:,} socket errors, "
                    f"RSS {fmt(wide.rss_mb)} MB", verdict(not wide.non2xx and not wide.socket_errors and wide.rss_mb <= 64)))
    idle = next((r.idle for r in rows if isinstance(r, Row) and r.idle), None)
    if idle:
        out.append((f"{idle['connections']:,} idle kept connections: RSS ≤ 64 MB, a new request in < 10 ms",
                    f"RSS {idle['rss_before_mb']:.1f} → {idle['rss_mb']:.1f} MB; new request median "
                    f"{idle['new_request_median_ms']:.2f} ms, worst {idle['new_request_max_ms']:.2f} ms; "
                    f"{idle['failures']} failures",
                    verdict(idle["rss_mb"] <= 64 and idle["new_request_max_ms"] < 10 and not idle["failures"])))
    rss = find(rows, "app-rss64", 256)
    if rss:
        out.append(("RSS ≤ 40 MB with 64 worker threads after the 256-connection run",
                    f"VmRSS {rss.rss_mb:.1f} MB (peak VmHWM {rss.hwm_mb:.1f} MB)", verdict(rss.rss_mb <= 40)))
    if startup:
        c = next(s for s in startup if s["label"].startswith("C libfcgi"))
        app = next(s for s in startup if "healthz" in s["label"] and "CGI" not in s["label"])
        r = app["median_ms"] / c["median_ms"]
        with_curl = next((s for s in startup if "libcurl" in s["label"]), None)
        also = f" (C linked with libcurl: {with_curl['median_ms']:.1f} ms, app = {app['median_ms'] / with_curl['median_ms']:.1f}× that)" \
            if with_curl else ""
        out.append(("startup to first answer ≤ 2 × the C responder's (median)",
                    f"{app['median_ms']:.1f} / {c['median_ms']:.1f} ms = {r:.1f}×{also}", verdict(r <= 2)))
    return out


def markdown(rows, startup, meta):
    lines = [f"Measured {meta['date']} with `{meta['command']}`: {meta['threads']} worker threads / php-fpm "
             f"children per contender, wrk -t{meta['wrk_threads']} for {meta['duration']} s per row, "
             f"front nginx 1 worker (keep-conn pool {max(1, meta['threads'] // 2)} connections).",
             f"Machine: {meta['machine']['nproc']} × {meta['machine']['cpu']}, kernel {meta['machine']['kernel']}. "
             f"Load average before {meta['load_before']['loadavg']}, after {meta['load_after']['loadavg']}; "
             f"swift-build processes running before/after: {meta['load_before']['swift_build_running']}/"
             f"{meta['load_after']['swift_build_running']}.",
             f"app-inbox-fcgi binary: sha256 {meta['app_binary']}, copied at the start and used for every "
             "contender.", ""]
    lines += ["| contender | keep-conn | conns | req/s | × C | × php | p50 ms | p99 ms | non-2xx | sock err | "
              "RSS MB | HWM MB | CPU s | CPU µs/req | new TLS (resumed) |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        if isinstance(row, FailedRow):
            lines.append(f"| {row.label} | {row.mode} | – | FAILED: {row.failed} |" + " |" * 11)
            continue
        keep = "keep" if row.mode == "on" else "nokeep"
        ceiling = "c-keep-pool" if row.key.endswith("-pool") else f"c-{keep}" if row.mode != "-" else "c-keep"
        c = find(rows, ceiling, row.connections)
        php = None
        if row.key.startswith("app-exch"):
            php = find(rows, f"php-{keep}", row.connections)
        elif row.key in ("app-lat", "app-lat64"):
            php = find(rows, row.key.replace("app", "php"), row.connections)
        by_c = ratio(row.rps, c.rps) if c else None
        if "lat" in row.key:
            by_c = None  # bound by the sandbox's latency, not by the responder
        tls = "–" if row.new_tls is None else f"{row.new_tls:,} ({row.resumed_tls:,})"
        lines.append(
            f"| {row.label}{' (' + str(row.threads) + ' threads)' if row.threads != meta['threads'] else ''} "
            f"| {row.mode} | {row.connections} | {row.rps:,.0f} | {fmt(by_c, 2)} | "
            f"{fmt(ratio(row.rps, php.rps) if php else None, 1)} | {row.p50_ms:.2f} | {row.p99_ms:.2f} | "
            f"{row.non2xx:,} | {row.socket_errors:,} | {fmt(row.rss_mb)} | {fmt(row.hwm_mb)} | "
            f"{fmt(row.cpu_s, 2)} | {fmt(row.cpu_us_per_req, 0)} | {tls} |")
    instance = {row.key: (row.instance_new_tls, row.instance_resumed_tls, row.threads)
                for row in rows if isinstance(row, Row) and row.instance_new_tls is not None}
    if instance:
        lines += ["", "New upstream TLS connections over each contender's whole life (warm-up and every level): "
                  + "; ".join(f"{k} {n:,} ({r:,} resumed, {t} workers)" for k, (n, r, t) in instance.items()) + "."]
    for row in rows:
        status = getattr(row, "app_status", None)
        if not status:
            continue
        cache = status.get("cache") or {}
        line = (f"- `{row.key}` status: cache {json.dumps(cache, separators=(',', ':'))}, "
                f"coalesced {status.get('coalesced')}, upstream calls "
                f"{json.dumps((status.get('upstream') or {}).get('calls'), separators=(',', ':'))}")
        fleet = status.get("fleet") or {}
        tokens = sum(((status.get("requests") or {}).get("token") or {}).values())
        if fleet.get("enabled") and tokens:
            # One host's figures (the status request reached one of them); the heartbeats included.
            line += (f"; Redis (one host): {fleet['round_trips']:,} round trips for {tokens:,} token requests = "
                     f"{fleet['round_trips'] / tokens:.2f} each, mean {fleet['latency_ms']} ms, "
                     f"{fleet['timeouts']} timeouts, {fleet['fallbacks']} fallbacks")
        lines.append(line)
    if startup:
        lines += ["", "Startup (process start to first answered request, straight over FastCGI; "
                  f"{startup[0]['runs']} runs, {meta['threads']} threads):", "",
                  "| what | median ms | min ms | max ms |", "|---|---:|---:|---:|"]
        lines += [f"| {s['label']} | {s['median_ms']:.1f} | {s['min_ms']:.1f} | {s['max_ms']:.1f} |" for s in startup]
    checks = targets(rows, startup)
    if checks:
        lines += ["", "Targets (issues 5, 11, 12 and 13):", "", "| target | measured | status |", "|---|---|---|"]
        lines += [f"| {t} | {m} | {v} |" for t, m, v in checks]
    return "\n".join(lines) + "\n"
