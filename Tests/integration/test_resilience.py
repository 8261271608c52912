"""Cache, rate limits, upstream cap, circuit breaker, cross-site guard, status and reload,
through nginx against the sandbox."""

import base64
import json
import signal
import threading
import time

from stack import API_KEY, ROTATED_API_KEY


def status_of(app):
    status, _, body = app.get("/app-inbox/status")
    assert status == 200
    return json.loads(body)


def timed_get(app, **kwargs):
    started = time.monotonic()
    status, headers, body = app.get(**kwargs)
    return status, headers, json.loads(body), time.monotonic() - started


def test_cache_hit_fresh_bypass_and_replace(start_app, sandbox):
    app = start_app(env={"APP_INBOX_CACHE_TTL_S": "60"})
    first = app.token("alice@example.com")[1]["token"]
    assert app.token("alice@example.com")[1]["token"] == first
    assert len(sandbox.requests()) == 1
    status, _, body = app.get("/app-inbox/token?fresh=1", email="alice@example.com")
    fresh = json.loads(body)["token"]
    assert status == 200 and fresh != first and fresh.startswith("sbx-alice@")
    assert app.token("alice@example.com")[1]["token"] == fresh  # the fresh token replaced the old one
    assert len(sandbox.requests()) == 2
    cache = status_of(app)["cache"]
    assert cache["enabled"] is True and cache["hits"] == 2 and cache["misses"] == 2 and cache["size"] == 1


def test_cache_keeps_users_apart(start_app, sandbox):
    app = start_app(env={"APP_INBOX_CACHE_TTL_S": "60"})
    for _ in range(3):
        for n in range(5):
            assert app.token(f"user{n}@example.com")[1]["token"].startswith(f"sbx-user{n}@example.com-")
    assert len(sandbox.requests()) == 5


def test_negative_cache_expires_on_its_own_ttl(start_app, sandbox):
    app = start_app(env={"APP_INBOX_CACHE_TTL_S": "60", "APP_INBOX_NEGATIVE_TTL_S": "1"})
    assert app.token("nobody@example.com") == (200, {"token": ""})
    assert app.token("nobody@example.com") == (200, {"token": ""})
    assert len(sandbox.requests()) == 1
    time.sleep(1.2)
    assert app.token("nobody@example.com") == (200, {"token": ""})
    assert len(sandbox.requests()) == 2


def test_cache_evicts_the_oldest_at_its_bound(start_app, sandbox):
    app = start_app(env={"APP_INBOX_CACHE_TTL_S": "60", "APP_INBOX_CACHE_MAX": "3"})
    for n in range(5):
        app.token(f"user{n}@example.com")
    cache = status_of(app)["cache"]
    assert cache["size"] == 3 and cache["evictions"] == 2
    app.token("user4@example.com")  # still cached
    assert len(sandbox.requests()) == 5
    app.token("user0@example.com")  # evicted: asks eSputnik again
    assert len(sandbox.requests()) == 6


def test_rate_limit_per_identity_with_retry_after(start_app, sandbox):
    app = start_app(env={"APP_INBOX_RATE_LIMIT_PER_MIN": "3"})
    assert [app.token("alice@example.com")[0] for _ in range(3)] == [200, 200, 200]
    status, headers, body = app.get(email="alice@example.com")
    assert status == 429 and json.loads(body)["error"] == "rate_limited"
    assert 1 <= int(headers["retry-after"]) <= 20  # one request per 20 s is restored
    assert app.token("user1@example.com")[0] == 200  # other users are unaffected
    assert len(sandbox.requests()) == 4
    assert status_of(app)["rate_limited"] == 1


def test_upstream_cap_answers_503_fast_instead_of_queueing(start_app, sandbox):
    app = start_app(env={"APP_INBOX_MAX_UPSTREAM": "2"})
    sandbox.fault(latency_ms=1500)
    slow = [threading.Thread(target=app.token, args=(f"user{n}@example.com",)) for n in range(2)]
    for thread in slow:
        thread.start()
    time.sleep(0.4)
    status, headers, body, elapsed = timed_get(app, email="user9@example.com")
    assert status == 503 and body["error"] == "upstream_unavailable"
    assert elapsed < 0.05
    assert status_of(app)["upstream"]["in_flight"] == 2
    for thread in slow:
        thread.join()
    assert status_of(app)["upstream"]["rejected_at_capacity"] == 1


def test_breaker_opens_answers_fast_then_closes_after_a_healthy_probe(start_app, sandbox):
    app = start_app(env={"APP_INBOX_BREAKER_FAILURES": "3", "APP_INBOX_BREAKER_COOLDOWN_S": "2",
                         "APP_INBOX_TIMEOUT_MS": "400", "APP_INBOX_HEALTH_STRICT": "1"})
    sandbox.fault(kind="500")
    for _ in range(3):
        assert app.get(email="alice@example.com")[0] == 503
    calls = len(sandbox.requests())
    status, headers, body, elapsed = timed_get(app, email="alice@example.com")
    assert status == 503 and body["error"] == "upstream_unavailable"
    assert elapsed < 0.05 and 1 <= int(headers["retry-after"]) <= 2
    assert len(sandbox.requests()) == calls  # eSputnik was spared
    report = status_of(app)
    assert report["breaker"]["state"] == "open" and report["breaker"]["opened"] == 1
    assert app.get("/app-inbox/healthz")[0] == 503
    assert "error breaker_opened" in app.log()
    sandbox.reset()
    time.sleep(2.1)
    status, _, body, _ = timed_get(app, email="alice@example.com")
    assert status == 200 and body["token"].startswith("sbx-alice@")
    assert status_of(app)["breaker"]["state"] == "closed"
    assert app.get("/app-inbox/healthz")[0] == 200


def test_healthz_stays_ok_with_open_breaker_unless_strict(start_app, sandbox):
    app = start_app(env={"APP_INBOX_BREAKER_FAILURES": "1", "APP_INBOX_TIMEOUT_MS": "300"})
    sandbox.fault(kind="garbage")
    app.get(email="alice@example.com")
    assert status_of(app)["breaker"]["state"] == "open"
    assert app.get("/app-inbox/healthz")[0] == 200


def test_wrong_key_is_logged_once_per_interval(start_app, sandbox):
    app = start_app()
    sandbox.fault(kind="401")
    for n in range(5):
        assert app.get(email=f"user{n}@example.com")[0] == 502
    assert app.log().count("error upstream_auth_failed") == 1
    assert status_of(app)["breaker"]["state"] == "closed"  # a wrong key is not eSputnik failing


def test_cross_site_requests_are_refused_without_cors_headers(app, sandbox):
    status, headers, body = app.get(email="alice@example.com", headers={"Sec-Fetch-Site": "cross-site",
                                                                       "Origin": "https://evil.example"})
    assert status == 403 and json.loads(body)["error"] == "cross_site"
    assert not any(name.startswith("access-control-") for name in headers)
    for site in ("same-origin", "same-site", "none"):
        status, headers, _ = app.get(email="alice@example.com", headers={"Sec-Fetch-Site": site})
        assert status == 200 and not any(name.startswith("access-control-") for name in headers)
    assert len(sandbox.requests()) == 3


def test_allowed_origins(start_app, sandbox):
    app = start_app(env={"APP_INBOX_ALLOWED_ORIGINS": "https://shop.example, https://www.shop.example/"})
    assert app.get(email="alice@example.com", headers={"Origin": "https://evil.example"})[0] == 403
    assert app.get(email="alice@example.com", headers={"Origin": "https://shop.example.evil.example"})[0] == 403
    assert app.get(email="alice@example.com", headers={"Origin": "https://www.shop.example"})[0] == 200
    assert app.get(email="alice@example.com", headers={"Origin": "HTTPS://SHOP.EXAMPLE"})[0] == 200
    assert app.get(email="alice@example.com")[0] == 200  # same-origin GETs often carry no Origin


def test_status_counts_what_happened_and_speaks_openmetrics(start_app, sandbox):
    app = start_app()
    before = status_of(app)
    assert before["version"] and before["workers"]["total"] == 16 and before["breaker"]["state"] == "closed"
    app.token("alice@example.com")
    app.token("nobody@example.com")
    app.get()
    app.get("/app-inbox/nope")
    report = status_of(app)
    assert report["requests"]["token"] == {"200": 2, "401": 1}
    assert report["requests"]["-"] == {"404": 1}
    assert report["upstream"]["calls"] == {"token": 1, "unknown_contact": 1}
    assert report["upstream"]["latency_ms"]["count"] == 2 and report["upstream"]["latency_ms"]["buckets"]["+Inf"] == 2
    assert report["workers"]["busy"] == 1  # the status request itself
    assert report["uptime_seconds"] >= before["uptime_seconds"]
    assert report["listen_queue_max"] is None or report["listen_queue_max"] >= 0
    for _ in range(300):  # 16 workers: one of them serves at least 19, so it samples the queue
        app.get("/app-inbox/healthz")
    assert status_of(app)["listen_queue_max"] >= 0
    status, headers, body = app.get("/app-inbox/status?format=prometheus")
    text = body.decode()
    assert status == 200 and headers["content-type"].startswith("application/openmetrics-text")
    assert 'app_inbox_requests_total{route="token",status="200"} 2' in text
    assert 'app_inbox_upstream_calls_total{outcome="token"} 1' in text
    assert 'app_inbox_upstream_latency_seconds_bucket{le="+Inf"} 2' in text
    assert 'app_inbox_breaker_state{app_inbox_breaker_state="closed"} 1' in text
    assert "app_inbox_listen_queue_max " in text
    assert text.endswith("# EOF\n")
    assert API_KEY not in text and "alice" not in text


def test_sighup_rotates_the_key_under_load_without_failures(start_app, sandbox, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text(API_KEY + "\n")
    env_file = tmp_path / "app.env"
    env_file.write_text(f"APP_INBOX_API_KEY_FILE={key_file}\n")
    app = start_app(env={"APP_INBOX_API_KEY": None}, args=("--env-file", str(env_file)))
    sandbox.fault(latency_ms=30)
    stop = threading.Event()
    statuses = []

    def load(n):
        while not stop.is_set():
            statuses.append(app.get(email=f"user{n}@example.com")[0])

    clients = [threading.Thread(target=load, args=(n,)) for n in range(8)]
    for client in clients:
        client.start()
    time.sleep(0.5)
    key_file.write_text(ROTATED_API_KEY + "\n")
    app.proc.send_signal(signal.SIGHUP)
    time.sleep(0.8)
    env_file.write_text(f"APP_INBOX_API_KEY_FILE={key_file}\nAPP_INBOX_CONNECT_TIMEOUT_MS=soon\n")  # broken: refused
    app.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    stop.set()
    for client in clients:
        client.join()
    assert len(statuses) > 50 and set(statuses) == {200}
    keys = [base64.b64decode(r["authorization"].removeprefix("Basic ")).decode().partition(":")[2]
            for r in sandbox.requests()]
    assert keys[0] == API_KEY and keys[-1] == ROTATED_API_KEY
    assert keys.index(ROTATED_API_KEY) > 0 and API_KEY not in keys[keys.index(ROTATED_API_KEY) + 20:]
    log = app.log()
    assert "reloaded api_key=rotated" in log and "reload_refused" in log and "APP_INBOX_CONNECT_TIMEOUT_MS" in log
    assert API_KEY not in log and ROTATED_API_KEY not in log
    assert app.proc.poll() is None


def test_descriptor_limit_is_raised_and_status_counts_open_descriptors(start_app):
    """Each kept connection holds a descriptor: the responder lifts the login default to the hard
    limit at start, and status shows how many are open against it."""
    import resource
    import socket

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = min(soft, 256)
    resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard))
    try:
        app = start_app(threads=16)  # started with a soft limit of 256, like a login shell's 1,024
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    expected = hard if hard != resource.RLIM_INFINITY else 1 << 20
    before = status_of(app)["descriptors"]
    assert before["limit"] == expected > low
    assert before["open"] > 0
    idle = [socket.create_connection(("127.0.0.1", app.fcgi_port)) for _ in range(8)]
    try:
        deadline = time.monotonic() + 5
        while True:
            now = status_of(app)["descriptors"]
            if now["open"] >= before["open"] + 8 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert now["open"] >= before["open"] + 8, (before, now)
        _, _, metrics = app.get("/app-inbox/status?format=prometheus")
        assert f"app_inbox_max_fds {expected}" in metrics.decode()
    finally:
        for connection in idle:
            connection.close()
    assert f"fd_limit={expected}" in app.log()
