"""The measurements: wrk through the front nginx, CPU and memory from /proc, startup to the first
answer, and what the machine and the binary were."""

import hashlib
import json
import os
import statistics
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

from stack import NGINX, free_port

from . import BENCH
from .contenders import build_c_responder, php_fpm_binary
from .fastcgi import FastCGIClient, request_params

WRK_SCRIPT = BENCH / "wrk.lua"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def wrk(port, connections, seconds, identities, wrk_threads, raw_log, direct=None, extra_env=None):
    """wrk with bench/wrk.lua rotating `identities` signed-in users; its BENCH-RESULT as a dict,
    with req/s and the socket errors summed. wrk's own output is appended to `raw_log`. `direct`
    (a URL and an Authorization header) asks the eSputnik stand-in itself instead; `extra_env`
    reaches bench/wrk.lua (BENCH_TOKENS)."""
    threads = max(1, min(wrk_threads, connections))
    url = direct[0] if direct else f"http://127.0.0.1:{port}/app-inbox/token"
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "--latency",
            "-s", str(WRK_SCRIPT), url]
    env = dict(os.environ, BENCH_IDENTITIES=str(identities), **(extra_env or {}))
    if direct:
        env["BENCH_DIRECT_AUTH"] = direct[1]
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=seconds + 60)
    with open(raw_log, "a") as raw:
        raw.write(f"$ BENCH_IDENTITIES={identities} {' '.join(argv)}\n{result.stdout}{result.stderr}\n")
    line = next((l for l in result.stdout.splitlines() if l.startswith("BENCH-RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{result.stdout}\n{result.stderr}")
    data = json.loads(line.removeprefix("BENCH-RESULT "))
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    data["socket_errors"] = data["connect"] + data["read"] + data["write"] + data["timeout"]
    return data


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (all threads)
    return total / CLK_TCK


def memory_kb(pids):
    rss = hwm = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm += int(line.split()[1])
        except OSError:
            continue
    return rss, hwm


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), "?")

    def version(argv):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=20)
            return (out.stdout + out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"

    php = php_fpm_binary()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "kernel": os.uname().release,
        "memory_mb": int(next(l.split()[1] for l in Path("/proc/meminfo").read_text().splitlines()
                              if l.startswith("MemTotal:"))) // 1024,
        "nginx": version([NGINX, "-v"]),
        "php": version([php, "-v"]) if php else "not installed",
        "curl": version(["curl", "--version"]),
        "swift": version(["swift", "--version"]),
        "wrk": version(["wrk", "-v"]),
        "libfcgi": version(["dpkg-query", "-W", "-f=${Version}", "libfcgi0ldbl"]),
    }


def load_note():
    load = Path("/proc/loadavg").read_text().split()[:3]
    builds = subprocess.run(["pgrep", "-f", "swift-build"], capture_output=True, text=True).stdout.split()
    return {"loadavg": " ".join(load), "swift_build_running": len(builds)}


def binary_fingerprint(path):
    """sha256 prefix and build time of a binary: others may rebuild it while we measure."""
    try:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
        built = datetime.fromtimestamp(Path(path).stat().st_mtime, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"{digest} (built {built})"
    except OSError:
        return "missing"


# ---------------------------------------------------------------------------------------------
# Startup: process start to first answered request, straight over FastCGI (no nginx).

def time_first_answer(argv, env, path, workdir):
    port = free_port()
    argv = [a.replace("PORT", str(port)) for a in argv]
    log = open(Path(workdir) / "startup.log", "ab")
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        while True:
            try:
                client = FastCGIClient(port)
                break
            except ConnectionRefusedError:
                if proc.poll() is not None:
                    raise RuntimeError(f"{argv[0]} exited with {proc.returncode}")
                time.sleep(0.0002)
        answer = client.get(request_params(path), keep=False)
        elapsed = time.perf_counter() - started
        client.close()
        if not answer.startswith(b"Status: 200"):
            raise RuntimeError(f"{argv[0]} answered {answer[:80]!r}")
        return elapsed * 1000
    finally:
        proc.kill()
        proc.wait()
        log.close()


def time_cgi(binary, env, path):
    env = dict(env, GATEWAY_INTERFACE="CGI/1.1", REQUEST_METHOD="GET", REQUEST_URI=path,
               INBOX_EMAIL="user1@example.com", SERVER_PROTOCOL="HTTP/1.1")
    started = time.perf_counter()
    result = subprocess.run([str(binary)], env=env, capture_output=True, stdin=subprocess.DEVNULL, timeout=30)
    elapsed = time.perf_counter() - started
    if not result.stdout.startswith(b"Status: 200"):
        raise RuntimeError(f"CGI answered {result.stdout[:80]!r} {result.stderr[-300:]!r}")
    return elapsed * 1000


def measure_startup(upstream, binaries, threads, runs, workdir):
    env = upstream.app_env("fixed", cache=False)
    c_curl = build_c_responder(workdir, with_curl=True)

    def first_answer(binary, path):
        argv = [str(binary), "--listen", "127.0.0.1:PORT", "--threads", str(threads)]
        return lambda: time_first_answer(argv, env, path, workdir)

    cases = [
        ("C libfcgi responder, first answer", first_answer(binaries.c_responder, "/app-inbox/token")),
        ("C libfcgi responder linked with libcurl (curl_global_init), first answer",
         first_answer(c_curl, "/app-inbox/token")),
        ("app-inbox-fcgi, first answer (healthz)", first_answer(binaries.app, "/app-inbox/healthz")),
        ("app-inbox-fcgi, first token (one exchange, new TLS connection)",
         first_answer(binaries.app, "/app-inbox/token")),
        ("app-inbox-fcgi CGI mode, healthz (whole process)", lambda: time_cgi(binaries.app, env, "/app-inbox/healthz")),
        ("app-inbox-fcgi CGI mode, token (whole process, one exchange)",
         lambda: time_cgi(binaries.app, env, "/app-inbox/token")),
    ]
    if binaries.static is not None:  # make static's build, when there is one
        cases.insert(4, ("app-inbox-fcgi --static-swift-stdlib (make static), first answer (healthz)",
                         first_answer(binaries.static, "/app-inbox/healthz")))
    results = []
    for label, measure in cases:
        samples = sorted(measure() for _ in range(runs))
        results.append({"label": label, "median_ms": statistics.median(samples), "min_ms": samples[0],
                        "max_ms": samples[-1], "runs": runs})
        print(f"  {label}: median {results[-1]['median_ms']:.1f} ms (min {samples[0]:.1f}, max {samples[-1]:.1f}, "
              f"{runs} runs)", flush=True)
    return results
