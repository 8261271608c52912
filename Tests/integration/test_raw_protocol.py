"""The responder spoken to in raw FastCGI, with no web server in front.

nginx never sends a management record, an unknown role, a repeated or NUL-laden param, or half
a record, but anything that can reach the FastCGI socket can (a misconfigured proxy, a local
user, a compromised neighbour). Whatever arrives, the process must stay up, hand out no token it
should not, and keep answering well-formed requests promptly: every test ends with a healthz on
a new connection. Each test starts its own responder (a crash in one must not fail the next) on
127.0.0.1, with the sandbox as eSputnik.
"""

import json
import os
import random
import re
import signal
import threading
import time

import pytest

import fcgi_raw as fcgi
from stack import Responder

HEALTHZ = "/app-inbox/healthz"
TOKEN = "/app-inbox/token"
ALICE = "alice@example.com"
VICTIM = "victim@example.com"  # a known contact: a leaked identity would get a real token

# A small params limit keeps the oversize tests fast; the default is 64 KiB.
MAX_PARAMS_ENV = {"APP_INBOX_MAX_PARAMS_BYTES": "8192"}


@pytest.fixture
def start_responder(workdir, sandbox, request):
    """Starts app-inbox-fcgi alone for one test; every one is stopped by PID afterwards."""
    started = []
    name = re.sub(r"[^\w.-]", "_", request.node.name)

    def start(threads=4, env=None):
        responder = Responder(os.path.join(workdir, f"raw-{name}-{len(started)}"), sandbox, env=env,
                              threads=threads)
        started.append(responder)
        # Serving once first: the baseline for memory, and for the processes that must all
        # survive (a serving child that crashed and was restarted counts as a crash).
        assert_serving(responder, within=5.0)
        responder.baseline = responder.processes()
        return responder

    yield start
    # A crash the abuse set off later (say, while freeing what it corrupted) shows here: a
    # responder that was fine stops on SIGTERM with status 0.
    unclean = []
    for responder in started:
        was_alive = responder.alive()  # if not, the test has failed on it already
        code = responder.stop(timeout=5.0)
        if was_alive and code != 0:
            unclean.append(f"{responder.dir.name}: stop status {code}; {fate(responder)}")
    assert not unclean, "; ".join(unclean)


@pytest.fixture
def responder(start_responder):
    return start_responder()


CRASH_SIGNS = re.compile(r"stack smashing|crashed|Fatal error|Segmentation|double free|corrupted|child_died")


def fate(responder):
    """How the process is doing, for failure messages. A crash may still be in progress (the
    Swift runtime prints a backtrace before the process goes), so the log's signs of one count."""
    if not responder.alive():
        code = responder.proc.returncode
        state = f"the process was killed by {signal.Signals(-code).name}" if code < 0 \
            else f"the process exited with status {code}"
    elif getattr(responder, "baseline", None) not in (None, responder.processes()):
        state = f"the responder's processes changed from {sorted(responder.baseline)} to {sorted(responder.processes())}"
    else:
        state = "the process is alive"
    signs = [line for line in responder.log().splitlines() if CRASH_SIGNS.search(line)]
    return state + ("; its log says:\n" + "\n".join(signs[:6]) if signs else "")


def serving_problem(responder, since=None, within=1.0):
    """What a user checks after any abuse: the process is up and a well-formed healthz on a new
    connection is answered 200 "ok" within `within` seconds of `since` (default: now). Returns
    what went wrong, or None."""
    since = time.monotonic() if since is None else since
    budget = since + within - time.monotonic()
    try:
        response = fcgi.request(responder.port, HEALTHZ, timeout=max(budget, 0.05))
    except OSError as error:  # refused, reset, or TimeoutError
        return f"healthz got no answer within {within}s: {error!r}"
    elapsed = time.monotonic() - since
    if response.status != 200 or response.body.strip() != b"ok":
        return f"healthz got {response.describe()}"
    if elapsed > within:
        return f"healthz took {elapsed:.2f}s, more than {within}s"
    if not responder.alive() or responder.processes() != getattr(responder, "baseline", responder.processes()):
        return "the process did not survive (healthz itself was answered)"
    return None


def assert_serving(responder, since=None, within=1.0):
    problem = serving_problem(responder, since, within)
    assert problem is None, f"{problem}; {fate(responder)}"


def assert_closed_without_answer(conn, responder, within=1.0, what="the connection"):
    """The responder closes the connection and sends nothing at all on it first."""
    try:
        records = conn.read_until_close(timeout=within)
    except TimeoutError:
        pytest.fail(f"{what} was still open {within}s later (expected the responder to close it); {fate(responder)}")
    assert records == [], f"{what} got an answer before closing: {records}; {fate(responder)}"


def token_of(response):
    assert response.status == 200, response.describe()
    return response.json()["token"]


def identity_request(extra, **kwargs):
    return fcgi.request_bytes(TOKEN, extra=extra, **kwargs)


# ---- 1. management records --------------------------------------------------------------------

MANAGEMENT_RECORDS = {
    # libfcgi writes its FCGI_GET_VALUES_RESULT into a 64-byte stack buffer, 17 bytes per known
    # name: eight names overflow it, and the stack protector aborts the whole process.
    "get-values-8x-max-conns": fcgi.get_values(["FCGI_MAX_CONNS"] * 8, padding=8),
    "unknown-type-12": fcgi.record(12, 0, b"\0" * 8),
    "unknown-type-200": fcgi.record(200, 0, b"management?"),
}


@pytest.mark.parametrize("after_request", [False, True], ids=["alone", "after-begin-and-params"])
@pytest.mark.parametrize("kind", list(MANAGEMENT_RECORDS))
def test_management_record_closes_the_connection_without_answer(responder, kind, after_request):
    # Behind a web server nothing sends management records; one arriving is a stranger on the
    # socket, so the connection is dropped with no reply, whether the record comes first or in
    # the middle of a request (here in the same write as a complete BEGIN and PARAMS).
    prefix = fcgi.begin() + fcgi.params(fcgi.cgi_params(HEALTHZ)) if after_request else b""
    problems = []
    with fcgi.Connection(responder.port) as conn:
        conn.send(prefix + MANAGEMENT_RECORDS[kind])
        sent = time.monotonic()
        try:
            records = conn.read_until_close(timeout=1.0)
            if records:
                problems.append(f"the connection got an answer: {records}")
        except TimeoutError:
            problems.append("the connection was still open 1s after the record")
    # Our end is closed now as well: a responder still waiting inside the record meets EOF here,
    # and must survive that too.
    problems.append(serving_problem(responder, since=None if problems else sent, within=1.0))
    problems = [p for p in problems if p]
    time.sleep(0.2)
    assert not problems and responder.alive(), "; ".join(problems) + f"; {fate(responder)}"


# ---- 2. roles other than RESPONDER ------------------------------------------------------------

@pytest.mark.parametrize("role", [fcgi.AUTHORIZER, fcgi.FILTER, 99], ids=["authorizer", "filter", "role-99"])
def test_other_roles_are_refused_and_never_reach_upstream(responder, sandbox, role):
    with fcgi.Connection(responder.port) as conn:
        conn.send(identity_request([("INBOX_EMAIL", ALICE)], request_id=7, role=role))
        response = conn.read_response(request_id=7, timeout=2.0)
        assert not any(r.type == fcgi.STDOUT for r in response.records), \
            f"answered role {role} as a responder request: {response.describe()}"
        if response.ended:
            assert response.protocol_status == fcgi.UNKNOWN_ROLE, response.describe()
        else:
            assert response.closed, response.describe()
        if not response.closed:
            try:
                conn.read_until_close(timeout=1.0)
            except TimeoutError:
                pytest.fail("the connection stayed open after FCGI_UNKNOWN_ROLE")
    assert sandbox.requests() == [], "an identity from a refused role reached eSputnik"
    assert_serving(responder)


# ---- 3. params size ---------------------------------------------------------------------------

def test_params_over_the_limit_close_the_connection(start_responder, sandbox):
    responder = start_responder(env=MAX_PARAMS_ENV)
    with fcgi.Connection(responder.port) as conn:
        conn.send(identity_request([("INBOX_EMAIL", ALICE), ("HTTP_X_FILLER", "x" * 9000)]))
        assert_closed_without_answer(conn, responder, within=2.0, what="a request with 9 KiB of params")
    assert sandbox.requests() == []
    assert_serving(responder)


def test_params_under_the_limit_are_served(start_responder):
    responder = start_responder(env=MAX_PARAMS_ENV)
    response = fcgi.request(responder.port, TOKEN, extra=[("INBOX_EMAIL", ALICE), ("HTTP_X_FILLER", "x" * 4000)])
    assert re.fullmatch(r"sbx-alice@example\.com-\d+", token_of(response))


FLOOD_BYTES = 50 * 1024 * 1024
CHUNK = 65528  # the largest record content that needs no padding


def flood_records(shape):
    """The params of a 50 MiB flood as (head, record, count): `record` is sent `count` times."""
    if shape == "one-huge-value":
        # One pair whose 4-byte value length announces all of it; its bytes follow in records.
        name = b"HTTP_X_FLOOD"
        head = fcgi.record(fcgi.PARAMS, 1, fcgi.encode_length(len(name)) + fcgi.encode_length(FLOOD_BYTES) + name)
        return head, fcgi.record(fcgi.PARAMS, 1, b"v" * CHUNK), FLOOD_BYTES // CHUNK
    # Many ordinary pairs: nothing about any one of them is large.
    pair = fcgi.name_value("HTTP_X_F", "v" * 1000)
    content = pair * (CHUNK // len(pair))
    return b"", fcgi.record(fcgi.PARAMS, 1, content), FLOOD_BYTES // len(content)


class RssSampler(threading.Thread):
    """Samples VmRSS every few milliseconds: the peak a flood causes, even if freed after."""

    def __init__(self, responder):
        super().__init__(daemon=True)
        self.responder, self.peak, self.done = responder, 0, threading.Event()

    def run(self):
        while not self.done.is_set():
            try:
                self.peak = max(self.peak, self.responder.status_kib("VmRSS"))
            except (OSError, KeyError):  # the process is gone
                return
            time.sleep(0.005)

    def stop(self):
        self.done.set()
        self.join(2)


@pytest.mark.parametrize("shape", ["one-huge-value", "many-small-params"])
def test_params_flood_is_cut_off_without_growing_memory(start_responder, shape):
    responder = start_responder(env=MAX_PARAMS_ENV)
    rss_before, hwm_before = responder.status_kib("VmRSS"), responder.status_kib("VmHWM")
    head, chunk, count = flood_records(shape)
    sampler = RssSampler(responder)
    sampler.start()
    stalled = False
    try:
        with fcgi.Connection(responder.port, timeout=5.0) as conn:
            try:
                # send() turns False once the responder closes or resets the connection.
                delivered = conn.send(fcgi.begin() + fcgi.params(fcgi.cgi_params(HEALTHZ), end=False) + head)
                sent = 0
                while delivered and sent < count:
                    delivered = conn.send(chunk)
                    sent += 1
                if delivered:
                    conn.send(fcgi.record(fcgi.PARAMS, 1) + fcgi.stdin())
                response = conn.read_response(timeout=2.0)
            except TimeoutError:
                stalled = True
    finally:
        sampler.stop()
    growth_kib = max(sampler.peak - rss_before, responder.status_kib("VmHWM") - hwm_before) \
        if responder.alive() else None
    assert not stalled, "the responder stopped reading the flood but kept the connection open"
    assert not response.answered and response.closed, \
        f"a request with 50 MiB of params was answered: {response.describe()}"
    assert growth_kib is not None, fate(responder)
    assert growth_kib < 4 * 1024, f"RSS grew by {growth_kib / 1024:.1f} MiB during a params flood"
    assert_serving(responder)


# ---- 4. idle connections ----------------------------------------------------------------------

def test_idle_connections_neither_block_service_nor_stay_open(start_responder):
    idle_s = 2
    threads = 4
    responder = start_responder(threads=threads, env={"APP_INBOX_IDLE_TIMEOUT_S": str(idle_s)})
    # As many silent connections as workers, and as many again stuck halfway through a PARAMS
    # record. Each worker gives a connection at most the idle timeout before closing it, so two
    # rounds of timeouts clear them all. (Workers are still one connection each while they wait:
    # an attacker who keeps reconnecting keeps them busy; the bound only stops "for ever".)
    rounds = 2
    conns = []
    try:
        opened = time.monotonic()
        conns += [("silent", fcgi.Connection(responder.port)) for _ in range(threads)]
        half_params = fcgi.params(fcgi.cgi_params(HEALTHZ), end=False)
        for _ in range(threads):
            conn = fcgi.Connection(responder.port)
            conn.send(fcgi.begin() + half_params[:len(half_params) // 2])
            conns.append(("half-params", conn))
        limit = rounds * idle_s + 2

        problems = []
        started = time.monotonic()
        try:
            fresh = fcgi.request(responder.port, HEALTHZ, timeout=limit)
            if fresh.status != 200:
                problems.append(f"the fresh healthz got {fresh.describe()}")
        except OSError as error:
            problems.append(f"the fresh healthz got no answer within {limit}s ({error!r})")
        took = time.monotonic() - started
        if took > limit:
            problems.append(f"the fresh healthz took {took:.1f}s")

        deadline = opened + limit
        open_still = []
        for label, conn in conns:
            try:
                conn.read_until_close(timeout=max(deadline - time.monotonic(), 0.01))
            except TimeoutError:
                open_still.append(label)
        if open_still:
            problems.append(f"{len(open_still)} of {len(conns)} idle connections were still open "
                            f"{limit}s after they were opened: {open_still}")
        assert not problems, "; ".join(problems) + f"; {fate(responder)}"
    finally:
        for _, conn in conns:
            conn.close()
    assert_serving(responder)


# ---- 5. repeated identity params --------------------------------------------------------------

@pytest.mark.parametrize("values", [[ALICE, VICTIM], [VICTIM, ALICE]], ids=["alice-first", "victim-first"])
def test_repeated_identity_param_is_refused(responder, sandbox, values):
    # libfcgi returns the first of two equal names, php-fpm the last: neither may be trusted.
    response = fcgi.request(responder.port, TOKEN, extra=[("INBOX_EMAIL", v) for v in values])
    assert response.status == 500, response.describe()
    error = response.json()
    assert error["error"] == "identity_param_repeated" and "INBOX_EMAIL" in error["message"], error
    assert "token" not in error
    assert sandbox.requests() == []
    assert_serving(responder)


def test_repeated_remote_user_is_refused(start_responder, sandbox):
    responder = start_responder(env={"APP_INBOX_EMAIL_PARAM": "REMOTE_USER"})
    response = fcgi.request(responder.port, TOKEN, extra=[("REMOTE_USER", ALICE), ("REMOTE_USER", VICTIM)])
    assert response.status == 500, response.describe()
    error = response.json()
    assert error["error"] == "identity_param_repeated" and "REMOTE_USER" in error["message"], error
    assert sandbox.requests() == []
    single = fcgi.request(responder.port, TOKEN, extra=[("REMOTE_USER", ALICE)])
    assert re.fullmatch(r"sbx-alice@example\.com-\d+", token_of(single))
    assert_serving(responder)


def test_single_identity_param_gets_a_token(responder, sandbox):
    response = fcgi.request(responder.port, TOKEN, extra=[("INBOX_EMAIL", ALICE)])
    assert re.fullmatch(r"sbx-alice@example\.com-\d+", token_of(response))
    assert len(sandbox.requests()) == 1


# ---- 6. NUL and '=' in params -----------------------------------------------------------------

SMUGGLED = {
    # A C string ends at the NUL: code that reads the value with strlen sees alice only.
    "nul-in-value": (b"INBOX_EMAIL", f"{ALICE}\0{VICTIM}".encode()),
    # libfcgi stores params as "name=value": this name then reads as INBOX_EMAIL="victim...=".
    "equals-in-name": (f"INBOX_EMAIL={VICTIM}".encode(), b""),
    "nul-in-name": (b"INBOX_EMAIL\0", VICTIM.encode()),
}


@pytest.mark.parametrize("case", list(SMUGGLED))
def test_nul_and_equals_tricks_get_no_token(responder, sandbox, case):
    name, value = SMUGGLED[case]
    with fcgi.Connection(responder.port) as conn:
        conn.send(identity_request([(name, value)]))
        response = conn.read_response(timeout=2.0)
    # Dropping the connection is the expected answer; a 400 is acceptable too. A token is not,
    # for either name, and nothing may reach eSputnik.
    if response.stdout:
        assert response.status == 400, f"{case}: {response.describe()}"
        assert "token" not in response.json()
    else:
        assert response.closed and not response.answered, f"{case}: {response.describe()}"
    assert sandbox.requests() == [], f"{case} reached eSputnik"
    assert_serving(responder)


# ---- 7. canonically equivalent identities in flight together ----------------------------------

EQUIVALENT = {
    # KELVIN SIGN decomposes canonically to K; Swift's String == treats them as equal.
    "kelvin-sign": ("INBOX_EXTERNAL_CUSTOMER_ID", "externalCustomerId", ["K-1001", "\u212a-1001"]),
    "nfc-vs-nfd": ("INBOX_EMAIL", "email", ["jos\u00e9@example.com", "jose\u0301@example.com"]),
}


@pytest.mark.parametrize("case", list(EQUIVALENT))
def test_equivalent_identities_in_flight_together_get_their_own_tokens(responder, sandbox, case):
    param, field, identities = EQUIVALENT[case]
    # Both requests wait on eSputnik at once, the window in which a coalescing or caching key
    # that compares canonically would hand one user the other's token.
    sandbox.fault(kind="none", latency_ms=800)
    conns = [fcgi.Connection(responder.port, timeout=4.0) for _ in identities]
    try:
        for conn, identity in zip(conns, identities):
            conn.send(identity_request([(param, identity)]))
        responses = [conn.read_response(timeout=4.0) for conn in conns]
    finally:
        for conn in conns:
            conn.close()
    for identity, response in zip(identities, responses):
        token = token_of(response)
        assert re.fullmatch(re.escape(f"sbx-{identity}-") + r"\d+", token), \
            f"{ascii(identity)} got {ascii(token)}"
    sent = sorted(json.loads(call["body"]).get(field) for call in sandbox.requests())
    assert sent == sorted(identities), f"eSputnik was asked for {ascii(sent)}"
    assert_serving(responder)


# ---- 8. protocol garbage ----------------------------------------------------------------------

def _garbage():
    healthz = fcgi.params(fcgi.cgi_params(HEALTHZ))
    post = fcgi.params(fcgi.cgi_params(TOKEN, "POST", [("CONTENT_LENGTH", "100"), ("INBOX_EMAIL", ALICE)]))
    begin_body = fcgi.begin()[fcgi.HEADER.size:]
    # (bytes, close right after sending); the rest stay open while the healthz runs, so a
    # connection the responder is stuck on cannot hide behind its close.
    return {
        "truncated-header-then-close": (fcgi.begin()[:5], True),
        "bad-version": (fcgi.record(fcgi.BEGIN_REQUEST, 1, begin_body, version=2) + healthz + fcgi.stdin(), False),
        "begin-request-id-0": (fcgi.begin(request_id=0) + fcgi.params(fcgi.cgi_params(HEALTHZ), request_id=0)
                               + fcgi.stdin(request_id=0), False),
        "begin-short-body": (fcgi.begin(body=b"\0\1\0") + healthz + fcgi.stdin(), False),
        "begin-length-lies": (fcgi.record(fcgi.BEGIN_REQUEST, 1, begin_body, content_length=3) + healthz, False),
        "params-for-another-request-id": (fcgi.begin(request_id=1) + fcgi.params(fcgi.cgi_params(HEALTHZ), request_id=2)
                                          + fcgi.stdin(request_id=2), False),
        "stdin-before-params": (fcgi.begin() + fcgi.stdin(b"body", end=False) + healthz + fcgi.stdin(), False),
        "abort-after-begin": (fcgi.begin() + fcgi.abort(), False),
        "abort-after-params": (fcgi.begin() + healthz + fcgi.abort(), False),
        "abort-mid-stdin": (fcgi.begin() + post + fcgi.stdin(b"x" * 50, end=False) + fcgi.abort(), False),
        "name-length-0x7fffffff": (fcgi.begin() + fcgi.record(
            fcgi.PARAMS, 1, fcgi.encode_length(0x7FFFFFFF) + fcgi.encode_length(0) + b"A" * 1000), False),
        # name + value + 2 overflows a 32-bit int to 0 in libfcgi (CVE-2025-23016's shape).
        "name-and-value-length-0x7fffffff": (fcgi.begin() + fcgi.record(
            fcgi.PARAMS, 1, fcgi.encode_length(0x7FFFFFFF) * 2 + b"A" * 4096), False),
        "4KiB-random-bytes": (random.Random(20240611).randbytes(4096), False),
    }


GARBAGE = _garbage()


@pytest.mark.parametrize("case", list(GARBAGE))
def test_protocol_garbage_does_not_stop_the_responder(responder, case):
    data, close_now = GARBAGE[case]
    conn = fcgi.Connection(responder.port)
    try:
        conn.send(data)
        sent = time.monotonic()
        if close_now:
            conn.close()
        assert_serving(responder, since=sent, within=1.0)
    finally:
        conn.close()
    # Again once the garbage connection is gone: tearing down what it left half-built must not
    # bring the process down either.
    time.sleep(0.1)
    assert_serving(responder, within=1.0)


# ---- 9. kept connections ----------------------------------------------------------------------

def test_kept_connection_does_not_carry_identity_to_the_next_request(responder, sandbox):
    with fcgi.Connection(responder.port) as conn:
        conn.send(identity_request([("INBOX_EMAIL", ALICE)], flags=fcgi.KEEP_CONN))
        first = conn.read_response(timeout=3.0)
        assert re.fullmatch(r"sbx-alice@example\.com-\d+", token_of(first))
        assert not first.closed, "the responder closed a kept connection"
        # Same connection, same request id (as nginx reuses it), no identity this time.
        conn.send(identity_request([], flags=fcgi.KEEP_CONN))
        second = conn.read_response(timeout=3.0)
        assert second.status == 401, f"the second request on the kept connection: {second.describe()}"
        assert second.json()["error"] == "unauthenticated"
    assert len(sandbox.requests()) == 1
    assert_serving(responder)
