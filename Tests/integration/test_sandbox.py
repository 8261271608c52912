"""The sandbox itself behaves as eSputnik documents, so tests against it mean something."""

import json

from stack import API_KEY, http_request


def call(sandbox, body, auth=("any", API_KEY), content_type="application/json"):
    answer = http_request(sandbox.port, "/v1/auth/contact/token", method="POST", body=body,
                          headers={"Content-Type": content_type}, basic=auth, tls=sandbox.ca, timeout=10)
    return answer.status, answer.body


def test_basic_auth_is_checked(sandbox):
    assert call(sandbox, b'{"email":"alice@example.com"}', auth=None)[0] == 401
    assert call(sandbox, b'{"email":"alice@example.com"}', auth=("u", "wrong"))[0] == 401
    status, body = call(sandbox, b'{"email":"alice@example.com"}', auth=("whoever", API_KEY))
    assert status == 200 and json.loads(body)["token"].startswith("sbx-alice@example.com-")


def test_bad_bodies_are_400(sandbox):
    assert call(sandbox, b"email=alice")[0] == 400
    assert call(sandbox, b"{}")[0] == 400
    assert call(sandbox, b'{"email":""}')[0] == 400
    assert call(sandbox, b'{"email":5}')[0] == 400
    assert call(sandbox, b'{"email":"alice@example.com"}', content_type="text/plain")[0] == 400


def test_unknown_contacts_get_empty_tokens_and_known_ones_differ_per_call(sandbox):
    assert json.loads(call(sandbox, b'{"email":"stranger@example.com"}')[1]) == {"token": ""}
    tokens = {json.loads(call(sandbox, b'{"phone":"+380501234567"}')[1])["token"] for _ in range(3)}
    assert len(tokens) == 3


def test_faults_apply_for_the_given_number_of_calls(sandbox):
    sandbox.fault(kind="500", times=2)
    assert [call(sandbox, b'{"email":"alice@example.com"}')[0] for _ in range(3)] == [500, 500, 200]
    assert len(sandbox.requests()) == 3
