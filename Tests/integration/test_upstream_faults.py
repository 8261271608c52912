"""A dead, slow or lying eSputnik: each fault gives the status README.md "Token exchange" names, in bounded time."""

import json
import time

import pytest


def timed(app, **kwargs):
    started = time.monotonic()
    status, headers, body = app.get(email="alice@example.com", **kwargs)
    return status, headers, json.loads(body), time.monotonic() - started


def test_5xx_is_retried_then_succeeds(app, sandbox):
    sandbox.fault(kind="500", times=2)
    status, _, body, _ = timed(app)
    assert status == 200 and body["token"].startswith("sbx-alice@")
    assert len(sandbox.requests()) == 3


def test_persistent_5xx_is_503_after_bounded_retries(app, sandbox):
    sandbox.fault(kind="500")
    status, _, body, elapsed = timed(app)
    assert status == 503 and body["error"] == "upstream_unavailable"
    assert 2 <= len(sandbox.requests()) <= 4
    assert elapsed < 2.5


def test_429_is_503_with_upstream_retry_after(app, sandbox):
    sandbox.fault(kind="429", retry_after=17)
    status, headers, body, _ = timed(app)
    assert status == 503 and body["error"] == "upstream_unavailable"
    assert headers["retry-after"] == "17"
    assert len(sandbox.requests()) == 1  # not retried: eSputnik asked us to slow down


def test_wrong_api_key_is_502_and_logged_as_error(app, sandbox):
    sandbox.fault(kind="401")
    status, _, body, _ = timed(app)
    assert status == 502 and body["error"] == "upstream_auth_failed"
    assert len(sandbox.requests()) == 1
    assert "error upstream_auth_failed" in app.log()


def test_esputnik_rejecting_the_request_is_502(app, sandbox):
    sandbox.fault(kind="400")
    status, _, body, _ = timed(app)
    assert status == 502 and body["error"] == "upstream_rejected"
    assert len(sandbox.requests()) == 1


def test_wrong_key_in_config_is_502_upstream_auth_failed(start_app, sandbox):
    app = start_app(env={"APP_INBOX_API_KEY": "not-the-key"})
    status, _, body = app.get(email="alice@example.com")
    assert status == 502 and json.loads(body)["error"] == "upstream_auth_failed"
    assert "not-the-key" not in app.log()


@pytest.mark.parametrize("kind", ["garbage", "oversize"])
def test_lying_upstream_is_502_bad_upstream_response(app, sandbox, kind):
    sandbox.fault(kind=kind)
    status, _, body, _ = timed(app)
    assert status == 502 and body == {"error": "bad_upstream_response",
                                      "message": "eSputnik sent an answer that is not a token."}


def test_latency_is_waited_for(app, sandbox):
    sandbox.fault(latency_ms=400)
    status, _, body, elapsed = timed(app)
    assert status == 200 and body["token"]
    assert 0.4 <= elapsed < 1.5


def test_hang_ends_at_the_deadline_with_504(app, sandbox):
    sandbox.fault(kind="hang")
    status, _, body, elapsed = timed(app)
    assert status == 504 and body["error"] == "upstream_timeout"
    assert abs(elapsed - 2.0) <= 1.0  # APP_INBOX_TIMEOUT_MS=2000


def test_dead_upstream_is_503_within_the_deadline(start_app):
    from stack import free_port
    app = start_app(env={"APP_INBOX_TOKEN_URL": f"https://127.0.0.1:{free_port()}/v1/auth/contact/token"})
    started = time.monotonic()
    status, _, body = app.get(email="alice@example.com")
    assert status == 503 and json.loads(body)["error"] == "upstream_unavailable"
    assert time.monotonic() - started < 2.5
    assert "upstream_failed" in app.log()


def test_untrusted_certificate_is_refused(start_app, sandbox):
    app = start_app(env={"APP_INBOX_CA_FILE": None})  # the sandbox's CA is not in the system store
    status, _, body = app.get(email="alice@example.com")
    assert status == 503 and json.loads(body)["error"] == "upstream_unavailable"
    assert sandbox.requests() == []


@pytest.mark.parametrize("token", ['quote" back\\slash', "</script><script>alert(1)</script>",
                                   "line\u2028sep\u2029para", "ünïcødé ✓ 🎉", "tab\tnew\nline"])
def test_odd_tokens_pass_byte_exact(app, sandbox, token):
    sandbox.fault(kind="token", token=token)
    status, headers, body = app.get(email="alice@example.com")
    assert status == 200
    assert json.loads(body) == {"token": token}
    assert b"</" not in body and "\u2028".encode() not in body
