"""The token route through a real nginx, against the sandbox over real HTTPS."""

import base64
import json
import re

from stack import API_KEY


def test_known_contact_gets_its_token_with_no_store_headers(app, sandbox):
    status, headers, body = app.get(email="alice@example.com")
    assert status == 200
    assert re.fullmatch(r'\{"token":"sbx-alice@example\.com-\d+"\}', body.decode())
    assert headers["content-type"] == "application/json"
    assert headers["cache-control"] == "no-store, private"
    assert headers["x-content-type-options"] == "nosniff"


def test_each_call_gets_a_fresh_token(app):
    first = app.token("alice@example.com")[1]["token"]
    second = app.token("alice@example.com")[1]["token"]
    assert first != second and first.startswith("sbx-alice@") and second.startswith("sbx-alice@")


def test_unknown_contact_gets_empty_token(app):
    assert app.token("nobody@example.com") == (200, {"token": ""})


def test_phone_and_external_id_identities(app):
    assert app.token(phone="+380501234567")[1]["token"].startswith("sbx-+380501234567-")
    assert app.token(external_id="cust-42")[1]["token"].startswith("sbx-cust-42-")


def test_post_is_answered_like_get(app):
    status, body = app.token("alice@example.com", method="POST", body=b"")
    assert status == 200 and body["token"].startswith("sbx-alice@")


def test_upstream_request_is_exactly_what_esputnik_documents(app, sandbox):
    app.get(email="alice@example.com", phone="+380501234567")
    [recorded] = sandbox.requests()
    assert recorded["method"] == "POST"
    assert recorded["uri"] == "/v1/auth/contact/token"
    assert recorded["content_type"] == "application/json"
    assert recorded["accept"] == "application/json"
    assert recorded["user_agent"].startswith("app-inbox-fcgi/")
    user, _, password = base64.b64decode(recorded["authorization"].removeprefix("Basic ")).decode().partition(":")
    assert user and password == API_KEY
    assert json.loads(recorded["body"]) == {"email": "alice@example.com", "phone": "+380501234567"}


def test_only_present_fields_are_sent(app, sandbox):
    app.get(external_id="cust-42", email="", phone="   ")
    [recorded] = sandbox.requests()
    assert json.loads(recorded["body"]) == {"externalCustomerId": "cust-42"}


def test_identity_values_are_trimmed(app, sandbox):
    status, body = app.token("  alice@example.com\t")
    assert status == 200 and body["token"].startswith("sbx-alice@example.com-")
    assert json.loads(sandbox.requests()[0]["body"]) == {"email": "alice@example.com"}


def test_no_identity_is_401(app, sandbox):
    status, headers, body = app.get()
    assert status == 401
    assert json.loads(body)["error"] == "unauthenticated"
    assert headers["content-type"] == "application/json"
    assert sandbox.requests() == []


def test_identity_is_never_taken_from_query_or_body(app, sandbox):
    assert app.get("/app-inbox/token?email=alice@example.com")[0] == 401
    status, _, _ = app.get(method="POST", body=b'{"email":"alice@example.com"}',
                           headers={"Content-Type": "application/json"})
    assert status == 401
    assert sandbox.requests() == []


def test_malformed_identities_are_400(app, sandbox):
    for kwargs in ({"email": "not-an-email"}, {"email": "a" * 250 + "@example.com"},
                   {"phone": "call me maybe"}, {"external_id": "x" * 257},
                   {"email": "al\x01ice@example.com"}, {"email": "alice@exam\x7fple.com"}):
        status, headers, body = app.get(**kwargs)
        assert status == 400, kwargs
        assert json.loads(body)["error"] == "invalid_identity"
    invalid_utf8 = b"al\xffce@example.com"
    status, _, body = app.get(headers={"X-Test-Email": invalid_utf8.decode("latin-1")})
    assert status == 400 and json.loads(body)["error"] == "invalid_identity"
    assert sandbox.requests() == []


def test_unknown_route_is_json_404(app):
    for path in ("/app-inbox/nope", "/app-inbox/token/extra", "/app-inboxtoken", "/elsewhere"):
        status, headers, body = app.get(path, email="alice@example.com")
        assert status == 404, path
        assert json.loads(body) == {"error": "not_found", "message": "No such route."}


def test_wrong_method_is_405_with_allow(app):
    for method in ("PUT", "DELETE", "PATCH"):
        status, headers, body = app.get(method=method, email="alice@example.com")
        assert status == 405
        assert headers["allow"] == "GET, POST"
        assert json.loads(body)["error"] == "method_not_allowed"


def test_healthz(app):
    status, _, body = app.get("/app-inbox/healthz")
    assert (status, body) == (200, b"ok\n")


def test_identity_from_basic_auth_remote_user(app):
    port = app.basic_port
    assert app.get(port=port)[0] == 401  # nginx's own challenge
    status, _, body = app.get(port=port, basic=("alice@example.com", "secret"))
    assert status == 200 and json.loads(body)["token"].startswith("sbx-alice@example.com-")
    assert app.get(port=port, basic=("alice@example.com", "wrong"))[0] == 401


def test_api_key_never_in_answers_or_log_and_identities_are_masked(app, sandbox):
    encoded_key = base64.b64encode(API_KEY.encode()).decode()
    answers = []
    answers.append(app.get(email="alice@example.com"))
    for kind in ("401", "500", "garbage", "429"):
        sandbox.fault(kind=kind)
        answers.append(app.get(email="alice@example.com"))
    sandbox.reset()
    answers.append(app.get(email="bad"))
    answers.append(app.get())
    for status, headers, body in answers:
        blob = body.decode(errors="replace") + json.dumps(headers)
        assert API_KEY not in blob and encoded_key not in blob
    log = app.log()
    assert "request" in log and "a***@example.com" in log
    assert API_KEY not in log and encoded_key not in log
    assert "alice@example.com" not in log
