"""Fleet mode: several responders share one Redis (APP_INBOX_REDIS_URL), so the per-identity rate
limit, the token cache, single flight and the budget of calls to eSputnik hold for the whole
fleet, not per process; when Redis dies or stalls, every request is still answered, on local
limits, and the fleet re-forms by itself when Redis is back.

Each test starts its own Redis and three responders behind one round-robin nginx (stack.Fleet);
`host=N` reaches responder N alone, and its /app-inbox/status is that process's own."""

import base64
import hashlib
import itertools
import json
import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from stack import Fleet, Redis, cli_env, free_port, run_cli, write_cache_key

# Far above any test's load, for the tests that are not about the budget: with Redis down, each
# responder falls back to a local share of it.
NO_BUDGET = {"APP_INBOX_UPSTREAM_RPS": "100000"}


@pytest.fixture
def start_redis(workdir):
    """Starts a Redis for one test (or only prepares its port: running=False); stopped afterwards."""
    started = []

    def start(running=True, **kwargs):
        # Its own short directory: the unix socket's path must stay under 108 bytes.
        instance = Redis(tempfile.mkdtemp(prefix="redis-", dir=workdir), start=running, **kwargs)
        started.append(instance)
        return instance

    yield start
    for instance in started:
        instance.stop()


@pytest.fixture
def start_fleet(workdir, sandbox, start_redis, request):
    """Starts three responders on one Redis (a new one unless given) behind one nginx, and waits
    until each says it is connected (unless `connected=False`); stopped before their Redis."""
    started = []

    def start(redis=None, env=None, url=None, connected=True, **kwargs):
        redis = redis or start_redis()
        fleet = Fleet(os.path.join(workdir, f"{request.node.name}-fleet-{len(started)}"), sandbox,
                      url or redis.url(), env=env, **kwargs)
        fleet.redis = redis
        started.append(fleet)
        if connected:
            wait_until_fleet_up(fleet)
        return fleet

    yield start
    for fleet in started:
        fleet.stop()


def own_token(fleet, host, email, **kwargs):
    """A token request that must succeed with a token for `email` and no one else."""
    status, body = fleet.token(email, host=host, **kwargs)
    assert status == 200, (host, email, status, body)
    assert body["token"].startswith(f"sbx-{email}-"), (host, email, body)
    return body["token"]


def called_for(sandbox):
    """The email that each call eSputnik received asked about, in order."""
    return [json.loads(r["body"]).get("email") for r in sandbox.requests()]


def calls_for(sandbox, email):
    """How many calls eSputnik received for this email."""
    return called_for(sandbox).count(email)


def concurrently(count, ask):
    """ask(0) … ask(count - 1) at once, from as many threads, released together."""
    barrier = threading.Barrier(count)

    def run(n):
        barrier.wait()
        return ask(n)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def paced(rate, seconds, ask, workers=16):
    """ask(n) for n = 0, 1, … at `rate` calls a second for `seconds`, from `workers` threads;
    returns the results and how long it took from the first call to the last answer."""
    total = int(rate * seconds)
    numbers = itertools.count()
    lock = threading.Lock()
    started = time.monotonic()

    def work():
        done = []
        while True:
            with lock:
                n = next(numbers)
            if n >= total:
                return done
            time.sleep(max(0.0, started + n / rate - time.monotonic()))
            done.append(ask(n))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = [r for batch in pool.map(lambda _: work(), range(workers)) for r in batch]
    return results, time.monotonic() - started


def eventually(check, timeout=10.0, interval=0.1):
    """Runs check() until its assertions pass, for at most `timeout` seconds; returns its result."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(interval)


def wait_until_fleet_up(fleet, timeout=10.0):
    """Polls until every responder's status says Redis is up. Only the status is asked for: a
    responder (re)connects by itself, as an operator who just started it or Redis expects."""

    def check():
        states = {host: fleet.status(host)["fleet"]["redis"] for host in fleet.hosts}
        assert set(states.values()) == {"up"}, f"Redis as each host sees it after {timeout} s: {states}"

    eventually(check, timeout=timeout)


def assert_cache_shared(fleet, sandbox, email):
    """A miss on host 1 and then a hit on host 2: one call to eSputnik for both."""
    first = own_token(fleet, 1, email)
    assert own_token(fleet, 2, email) == first
    assert calls_for(sandbox, email) == 1
    return first


class Load:
    """Threads asking every host in turn for tokens of user0 … user39 until the block ends;
    records each answer's status (or the error instead of one) and whether its token was the
    asker's own."""

    def __init__(self, fleet, threads=3, pause=0.01):
        self.fleet, self.pause = fleet, pause
        self.answers = []  # (host, email, status or error, token is the asker's)
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(n,)) for n in range(threads)]

    def run(self, n):
        for i in itertools.count(n * 1000):
            if self.stopping.is_set():
                return
            host, email = self.fleet.hosts[i % len(self.fleet.hosts)], f"user{i % 40}@example.com"
            try:
                status, body = self.fleet.token(email, host=host)
                own = status == 200 and body["token"].startswith(f"sbx-{email}-")
            except Exception as error:  # a request that failed is what the test counts
                status, own = repr(error), False
            self.answers.append((host, email, status, own))
            time.sleep(self.pause)

    def failures(self):
        return [answer for answer in self.answers if answer[2] != 200 or not answer[3]]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_):
        self.stopping.set()
        for thread in self.threads:
            thread.join()


def test_status_shows_the_fleet_and_every_member(start_fleet, start_app):
    fleet = start_fleet()
    for host in fleet.hosts:
        own_token(fleet, host, "alice@example.com")

    def every_host_sees_three_members():
        for host in fleet.hosts:
            report = fleet.status(host)["fleet"]
            assert report["enabled"] is True and report["redis"] == "up", (host, report)
            assert report["members"] == 3, (host, report)
            assert report["round_trips"] > 0 and report["errors"] == 0 and report["timeouts"] == 0, (host, report)
            assert report["fallbacks"] == 0 and isinstance(report["latency_ms"], (int, float)), (host, report)

    eventually(every_host_sees_three_members)
    # A responder without APP_INBOX_REDIS_URL says it is on its own.
    status, _, body = start_app().get("/app-inbox/status")
    assert status == 200 and json.loads(body)["fleet"]["enabled"] is False


def test_per_identity_rate_limit_holds_for_the_fleet(start_fleet, sandbox):
    fleet = start_fleet(env={"APP_INBOX_RATE_LIMIT_PER_MIN": "10"})
    hosts = itertools.cycle(fleet.hosts)
    assert [fleet.token("alice@example.com", host=next(hosts))[0] for _ in range(10)] == [200] * 10
    for host in fleet.hosts:  # the 11th, wherever it lands
        status, headers, body = fleet.get(email="alice@example.com", host=host)
        assert status == 429 and json.loads(body)["error"] == "rate_limited", (host, status, body)
        assert 1 <= int(headers["retry-after"]) <= 60, headers
        assert fleet.status(host)["rate_limited"] == 1
    assert fleet.token("alice@example.com")[0] == 429  # through the round robin too
    assert fleet.token("user1@example.com")[0] == 200  # other users are unaffected
    assert called_for(sandbox) == ["alice@example.com"] * 10 + ["user1@example.com"]


def test_simultaneous_asks_on_different_hosts_make_one_call(start_fleet, sandbox):
    fleet = start_fleet()
    sandbox.fault(latency_ms=500)
    results = concurrently(20, lambda n: fleet.token("alice@example.com", host=fleet.hosts[n % len(fleet.hosts)]))
    assert [status for status, _ in results] == [200] * 20, results
    tokens = {body["token"] for _, body in results}
    assert len(tokens) == 1 and tokens.pop().startswith("sbx-alice@example.com-"), results
    assert called_for(sandbox) == ["alice@example.com"]


def test_upstream_budget_holds_for_the_fleet_and_the_rest_get_503(start_fleet, sandbox):
    budget = 50
    fleet = start_fleet(env={"APP_INBOX_UPSTREAM_RPS": str(budget)})
    # 300 requests a second over the three hosts, each for a new identity: nothing coalesces
    # and nothing is cached, so each answered one costs one call to eSputnik.
    results, seconds = paced(300, 3.0, lambda n: fleet.get(email=f"u{n}@example.com", host=1 + n % 3))
    calls = len(sandbox.requests())
    answered = sum(status == 200 for status, _, _ in results)
    refused = [(status, headers, body) for status, headers, body in results if status != 200]
    assert answered == calls, (answered, calls)
    assert budget * seconds * 0.9 <= calls <= budget * seconds * 1.1 + 5, \
        f"{calls} calls in {seconds:.2f} s: {calls / seconds:.1f} a second against a budget of {budget}"
    assert len(refused) >= len(results) // 2, (len(refused), len(results))
    for status, headers, body in refused:
        assert status == 503 and json.loads(body)["error"] == "upstream_unavailable", (status, body)
        assert 1 <= int(headers["retry-after"]) <= 10, headers
    per_host = [sum(fleet.status(host)["upstream"]["calls"].values()) for host in fleet.hosts]
    assert sum(per_host) == calls and min(per_host) > 0, per_host


def identity_traces(text):
    """What would give a value away in Redis: the text itself and its plain, unkeyed encodings
    and digests (a keyed HMAC under the shared secret is what belongs there)."""
    raw = text.encode()
    digest = hashlib.sha256(raw).digest()
    return {raw, raw.hex().encode(), base64.b64encode(raw), base64.urlsafe_b64encode(raw).rstrip(b"="),
            digest, digest.hex().encode(), base64.b64encode(digest)}


def test_cache_is_shared_replaced_fleet_wide_and_keeps_no_raw_identity(start_fleet, sandbox):
    fleet = start_fleet(env={"APP_INBOX_CACHE_TTL_S": "60"})
    first = assert_cache_shared(fleet, sandbox, "alice@example.com")
    assert fleet.status(2)["cache"]["hits"] == 1
    fresh = own_token(fleet, 3, "alice@example.com", fresh=True)
    assert fresh != first, "?fresh=1 was answered from the shared cache"
    assert own_token(fleet, 1, "alice@example.com") == fresh  # the fresh token replaced the old everywhere
    assert fleet.status(1)["cache"]["hits"] == 1
    assert called_for(sandbox) == ["alice@example.com"] * 2

    contents = fleet.redis.contents()
    assert contents, "the shared cache left nothing in Redis"
    traces = identity_traces("alice@example.com") | identity_traces(first) | identity_traces(fresh)
    for key, value in contents.items():
        for trace in traces:
            assert trace not in key and trace not in value, (key, value, trace)


def test_killed_redis_fails_no_request_and_the_fleet_reforms_when_it_is_back(start_fleet, sandbox):
    fleet = start_fleet(env={"APP_INBOX_RATE_LIMIT_PER_MIN": "600", "APP_INBOX_CACHE_TTL_S": "60", **NO_BUDGET})
    with Load(fleet) as load:
        def load_is_running():
            assert len(load.answers) >= 30, len(load.answers)

        eventually(load_is_running, timeout=5)
        fleet.redis.kill()

        def every_host_fell_back():
            for host in fleet.hosts:
                report = fleet.status(host)["fleet"]
                assert report["redis"] != "up" and report["fallbacks"] > 0, (host, report)
                assert "redis_unavailable" in fleet.log(host), host

        eventually(every_host_fell_back, timeout=5)
        fleet.redis.restart()
        wait_until_fleet_up(fleet)
    assert len(load.answers) > 50 and not load.failures(), load.failures()[:10]

    def every_host_logged_its_return():
        for host in fleet.hosts:
            log = fleet.log(host)
            assert "redis_up" in log and log.rindex("redis_up") > log.rindex("redis_unavailable"), host

    eventually(every_host_logged_its_return, timeout=2)
    assert_cache_shared(fleet, sandbox, "alice@example.com")  # the restarted Redis is the fleet's again


def test_stalled_redis_delays_requests_by_its_timeout_at_most(start_fleet, sandbox):
    fleet = start_fleet(env={"APP_INBOX_REDIS_TIMEOUT_MS": "100", "APP_INBOX_CACHE_TTL_S": "60",
                             "APP_INBOX_RATE_LIMIT_PER_MIN": "600", **NO_BUDGET})
    for host in fleet.hosts:
        own_token(fleet, host, f"user{host}@example.com")
    stalled_until = time.monotonic() + 3.0
    fleet.redis.command("CLIENT", "PAUSE", 3000, "ALL")  # every command waits 3 s

    def timed_token(host, email):
        started = time.monotonic()
        own_token(fleet, host, email)
        return host, time.monotonic() - started

    for round_ in range(2):  # the first meets the stall, the second a responder that knows of it
        for host, took in concurrently(3, lambda n: timed_token(n + 1, f"user{10 + 3 * round_ + n}@example.com")):
            assert took < 1.0, f"host {host} answered after {took:.2f} s with Redis stalled"
    assert time.monotonic() < stalled_until, "the requests above took so long that Redis was no longer stalled"
    for host in fleet.hosts:
        report = fleet.status(host)["fleet"]
        assert report["timeouts"] > 0 and report["fallbacks"] > 0, (host, report)

    time.sleep(max(0.0, stalled_until - time.monotonic()))
    wait_until_fleet_up(fleet)
    # Replies to the commands that timed out arrive late: none may be taken for a later one's.
    for host in fleet.hosts:
        for n in range(5):
            own_token(fleet, host, f"user{20 + n}@example.com")
    assert_cache_shared(fleet, sandbox, "alice@example.com")


def test_fleet_settings_that_cannot_work_are_refused(sandbox, tmp_path):
    url = f"redis://127.0.0.1:{free_port()}/0"
    key = write_cache_key(tmp_path / "cache.key")
    short = tmp_path / "short.key"
    short.write_text(os.urandom(8).hex() + "\n")  # 16 bytes as text, 8 as hex: short either way

    def refused(variables, args=("check-config",)):
        result = run_cli(list(args), cli_env(sandbox) | variables)
        assert result.returncode == 2, (variables, result.returncode, result.stdout, result.stderr)
        return result.stderr

    assert "APP_INBOX_CACHE_KEY_FILE" in refused({"APP_INBOX_REDIS_URL": url})
    assert "APP_INBOX_CACHE_KEY_FILE" in refused({"APP_INBOX_REDIS_URL": url},
                                                  args=("--listen", f"127.0.0.1:{free_port()}"))
    message = refused({"APP_INBOX_REDIS_URL": "rediss://127.0.0.1:6380/0", "APP_INBOX_CACHE_KEY_FILE": str(key)})
    assert "APP_INBOX_REDIS_URL" in message and "TLS" in message.upper(), message
    assert "APP_INBOX_CACHE_KEY_FILE" in refused({"APP_INBOX_REDIS_URL": url, "APP_INBOX_CACHE_KEY_FILE": str(short)})
    assert "APP_INBOX_CACHE_KEY_FILE" in refused({"APP_INBOX_REDIS_URL": url,
                                                  "APP_INBOX_CACHE_KEY_FILE": str(tmp_path / "missing.key")})
    assert "APP_INBOX_REDIS_URL" in refused({"APP_INBOX_REDIS_URL": "http://127.0.0.1:6379/",
                                             "APP_INBOX_CACHE_KEY_FILE": str(key)})

    # A sound configuration passes, and shows neither the Redis password nor the shared secret.
    accepted = run_cli(["check-config"], cli_env(sandbox) | {
        "APP_INBOX_REDIS_URL": f"redis://:pw-5e1c7a@127.0.0.1:{free_port()}/2", "APP_INBOX_CACHE_KEY_FILE": str(key)})
    assert accepted.returncode == 0, accepted.stderr
    shown = accepted.stdout + accepted.stderr
    assert "pw-5e1c7a" not in shown and key.read_text().strip() not in shown


def test_responders_start_without_redis_and_join_when_it_comes(start_redis, start_fleet, sandbox):
    redis = start_redis(running=False)
    fleet = start_fleet(redis, env={"APP_INBOX_CACHE_TTL_S": "60", **NO_BUDGET}, connected=False)
    for host in fleet.hosts:
        started = time.monotonic()
        own_token(fleet, host, f"user{host}@example.com")
        assert time.monotonic() - started < 1.0, host
        report = fleet.status(host)["fleet"]
        assert report["enabled"] is True and report["redis"] != "up" and report["fallbacks"] > 0, (host, report)
    redis.start()
    wait_until_fleet_up(fleet)
    assert_cache_shared(fleet, sandbox, "alice@example.com")


def test_unix_socket_url_and_its_database_are_used(start_redis, start_fleet, sandbox):
    redis = start_redis(unix_socket=True)
    fleet = start_fleet(redis, url=redis.url(db=5, unix=True), env={"APP_INBOX_CACHE_TTL_S": "60"})
    assert_cache_shared(fleet, sandbox, "alice@example.com")
    assert redis.command("DBSIZE", db=5) > 0 and redis.command("DBSIZE", db=0) == 0


def test_redis_password_is_used_and_never_logged(start_redis, start_fleet, sandbox):
    redis = start_redis(password="pw-3f9d2b71")
    fleet = start_fleet(redis, env={"APP_INBOX_CACHE_TTL_S": "60"})
    assert_cache_shared(fleet, sandbox, "alice@example.com")
    for host in fleet.hosts:
        assert "pw-3f9d2b71" not in fleet.log(host)
        for query in ("", "?format=prometheus"):
            status, _, body = fleet.get("/app-inbox/status" + query, host=host)
            assert status == 200 and b"pw-3f9d2b71" not in body


def test_a_request_sent_after_an_answer_starts_a_call_of_its_own_on_any_host(start_fleet, sandbox):
    # The leader's outcome reaches Redis before its answer leaves: a user's next request, on any
    # host, must not find that call still running and get the same token again (for `fresh=1`,
    # the very token the eSputnik script asked to replace).
    fleet = start_fleet(env=NO_BUDGET)
    tokens = [own_token(fleet, 1 + n % 3, "alice@example.com", fresh=n % 2 == 1) for n in range(30)]
    assert len(set(tokens)) == 30, [t for t in tokens if tokens.count(t) > 1]
    assert calls_for(sandbox, "alice@example.com") == 30


def test_a_world_readable_fleet_secret_is_warned_about(sandbox, tmp_path):
    key = write_cache_key(tmp_path / "fleet.key")
    variables = {"APP_INBOX_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0", "APP_INBOX_CACHE_KEY_FILE": str(key)}
    key.chmod(0o644)
    result = run_cli(["check-config"], cli_env(sandbox) | variables)
    assert result.returncode == 0 and f"{key} holds the fleet's secret and every local user can read it" in result.stderr
    key.chmod(0o600)
    assert "every local user" not in run_cli(["check-config"], cli_env(sandbox) | variables).stderr


def cache_entries(redis):
    """The keys of the shared cache's entries (`…:c:<identity key>`)."""
    return {key for key in redis.command("KEYS", "*") if b":c:" in key}


def test_a_value_moved_to_another_users_key_in_redis_is_never_handed_out(start_fleet, sandbox):
    # Someone who can write to Redis copies another user's cached token under Alice's key, then
    # garbage: Alice never gets the other's token; each time her request misses and eSputnik is
    # asked again.
    fleet = start_fleet(env={"APP_INBOX_CACHE_TTL_S": "60"})
    own_token(fleet, 1, "alice@example.com")
    [alice_key] = cache_entries(fleet.redis)
    other = own_token(fleet, 1, "user1@example.com")
    [other_key] = cache_entries(fleet.redis) - {alice_key}
    fleet.redis.command("SET", alice_key, fleet.redis.command("GET", other_key))
    assert own_token(fleet, 2, "alice@example.com") != other
    fleet.redis.command("SET", alice_key, b"\x00not a sealed value")
    own_token(fleet, 3, "alice@example.com")
    assert calls_for(sandbox, "alice@example.com") == 3 and calls_for(sandbox, "user1@example.com") == 1


def test_scripts_flushed_from_redis_are_loaded_again(start_fleet, sandbox):
    # SCRIPT FLUSH (or a failover to a replica that never saw them): requests go on locally
    # meanwhile, and the next connection loads the scripts again.
    fleet = start_fleet(env={"APP_INBOX_RATE_LIMIT_PER_MIN": "5", **NO_BUDGET})
    fleet.redis.command("SCRIPT", "FLUSH")
    for host in fleet.hosts:
        own_token(fleet, host, "alice@example.com")
    wait_until_fleet_up(fleet)
    assert any("NOSCRIPT" in fleet.log(host) for host in fleet.hosts)
    # The fleet's limit holds again: 5 a minute for the whole fleet.
    statuses = [fleet.token("bob@example.com", host=fleet.hosts[n % 3])[0] for n in range(6)]
    assert statuses == [200] * 5 + [429], statuses
