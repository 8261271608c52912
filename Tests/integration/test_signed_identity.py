"""Signed identity end to end: identity tokens as a site's own code mints them (PyJWT, and the
issuer snippets of examples/signed-identity/ run as the site would run them), carried in the
cookie or in Authorization: Bearer through an nginx location that sets no identity param, to the
real responder and on to the sandbox over HTTPS."""

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import get_default_algorithms

from stack import FASTCGI_PARAMS, ROOT, Nginx, Responder, basic_auth, free_port, http_request, nginx_config, stop
from stack import wait_for_port

EXAMPLES = ROOT / "examples" / "signed-identity"
COOKIE = "app_inbox_identity"
ALGORITHMS = ["HS256", "EdDSA", "ES256", "RS256"]
# The user the second front server names itself, as an auth module would; a known contact, so
# that its answer is a real token distinguishable from alice's.
SERVER_SET_USER = "user1@example.com"


# --- Helpers -------------------------------------------------------------------------------------

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def now():
    """A NumericDate: whole seconds since 1970."""
    return int(time.time())


def claims(ttl=600, **overrides):
    """Alice's claims, valid for `ttl` seconds from now; an override of None drops a claim."""
    issued = now()
    body = {"email": "alice@example.com", "aud": "app-inbox", "iat": issued, "exp": issued + ttl} | overrides
    return {name: value for name, value in body.items() if value is not None}


def forge(header, body, sign=lambda signing_input: b""):
    """A compact JWS built by hand, for what PyJWT refuses to make (alg none, a public key as an
    HMAC secret)."""
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(body).encode())
    return signing_input + "." + b64url(sign(signing_input.encode()))


def pem(private_key):
    return private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())


def public_jwk(private_key, alg, kid):
    """The public half of a key as a JWK, as the site publishes it to the responder."""
    jwk = json.loads(get_default_algorithms()[alg].to_jwk(private_key.public_key()))
    assert "d" not in jwk
    return jwk | {"alg": alg, "kid": kid, "use": "sig"}


def jwks(*keys):
    return json.dumps({"keys": list(keys)})


class Keys:
    """One key per algorithm, generated for this run, and the files a site would keep them in:
    the private halves (PEM, a libsodium key, the secret file) and the JWKS of the public ones."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.hs = secrets.token_bytes(48)  # a JWKS oct key, kid hs-1
        self.ed = ed25519.Ed25519PrivateKey.generate()
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.signing = {"HS256": (self.hs, "hs-1"), "EdDSA": (self.ed, "ed-1"), "ES256": (self.ec, "ec-1"),
                        "RS256": (self.rsa, "rsa-1")}
        self.jwks = self.dir / "identity-keys.json"
        self.jwks.write_text(jwks({"kty": "oct", "alg": "HS256", "kid": "hs-1", "k": b64url(self.hs)},
                                  public_jwk(self.ed, "EdDSA", "ed-1"), public_jwk(self.ec, "ES256", "ec-1"),
                                  public_jwk(self.rsa, "RS256", "rsa-1")))
        # The secret file the snippets share with the responder: text, with the newline that
        # `openssl rand -base64 48 >` leaves.
        self.secret_file = self.dir / "identity-secret"
        self.secret_file.write_text(base64.b64encode(secrets.token_bytes(48)).decode() + "\n")
        self.files = {"secret": self.secret_file}
        for name, key in (("ed25519.pem", self.ed), ("p256.pem", self.ec), ("rsa.pem", self.rsa)):
            self.files[name] = self.dir / name
            self.files[name].write_bytes(pem(key))
        raw = lambda key: key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        seed = self.ed.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                     serialization.NoEncryption())
        self.files["ed25519.sodium"] = self.dir / "ed25519.sodium"  # libsodium's 64-byte secret key
        self.files["ed25519.sodium"].write_text(base64.b64encode(seed + raw(self.ed.public_key())).decode() + "\n")
        for path in self.files.values():
            path.chmod(0o600)

    def mint(self, alg="HS256", kid=True, ttl=600, **overrides):
        """A token as a site mints it with PyJWT. Its header names the key's kid, or `kid` when
        that is a string, or none when it is False."""
        key, key_id = self.signing[alg]
        headers = {"kid": kid if isinstance(kid, str) else key_id} if kid else None
        return jwt.encode(claims(ttl, **overrides), key, algorithm=alg, headers=headers)


class Site:
    """The responder with signed identity on, behind an nginx location that sets no identity param
    and passes the request's headers as nginx does by default (as a site whose login lives in
    its application runs it), plus a second server whose location sets INBOX_EMAIL itself."""

    def __init__(self, directory, sandbox, env):
        directory = Path(directory)
        self.responder = Responder(directory / "app", sandbox, env=env)
        self.port, self.server_set_port = free_port(), free_port()
        location = f"""
            fastcgi_param REMOTE_USER "";
            include {FASTCGI_PARAMS};
            fastcgi_pass 127.0.0.1:{self.responder.port};"""
        servers = f"""
    server {{
        listen 127.0.0.1:{self.port};
        # Room for a Cookie line past the responder's own 8 KiB token limit: nginx's default
        # (8k per header line) would answer 400 before the responder saw it.
        large_client_header_buffers 4 16k;
        location /app-inbox/ {{ {location} }}
    }}
    server {{
        listen 127.0.0.1:{self.server_set_port};
        location /app-inbox/ {{
            {location}
            fastcgi_param INBOX_EMAIL {SERVER_SET_USER};
        }}
    }}"""
        try:
            self.nginx = Nginx(directory / "nginx", nginx_config(directory / "nginx", servers),
                               [self.port, self.server_set_port])
        except Exception:
            self.responder.stop()
            raise

    def get(self, cookie=None, bearer=None, headers=None, port=None):
        """The token route, with `cookie` as the identity cookie's value and/or a Bearer token."""
        all_headers = dict(headers or {})
        if cookie is not None:
            all_headers["Cookie"] = f"{COOKIE}={cookie}"
        if bearer is not None:
            all_headers["Authorization"] = f"Bearer {bearer}"
        return http_request(port or self.port, "/app-inbox/token", headers=all_headers, timeout=10)

    def log(self):
        return self.responder.log()

    def wait_for_log(self, text, count=1, timeout=5.0):
        deadline = time.monotonic() + timeout
        while self.log().count(text) < count:
            assert time.monotonic() < deadline, f"{text!r} not logged {count} times:\n{self.log()[-3000:]}"
            time.sleep(0.02)

    def reload(self):
        """SIGHUP, as `kill -HUP` does; returns once the reload is logged, applied or refused."""
        before = self.log().count(" reloaded ") + self.log().count(" reload_refused ")
        self.responder.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while self.log().count(" reloaded ") + self.log().count(" reload_refused ") == before:
            assert time.monotonic() < deadline, self.log()[-3000:]
            time.sleep(0.02)

    def stop(self):
        self.nginx.stop()
        self.responder.stop()


def owner(answer):
    """Whose token a 200 answer holds: the sandbox's tokens read sbx-<identity>-<n>."""
    assert answer.status == 200, (answer.status, answer.body)
    token = answer.json()["token"]
    assert re.fullmatch(r"sbx-.+-\d+", token), token
    return token[len("sbx-"):].rsplit("-", 1)[0]


def assert_refused(site, answer, token, error):
    """A refusal as a site's developer sees it: the status and JSON error, a message, and neither
    the answer nor the responder's log repeating the token."""
    assert answer.status == 401, (answer.status, answer.body)
    body = answer.json()
    assert body["error"] == error and body["message"], body
    assert "token" not in body
    parts = {token} - {""} | {part for part in token.split(".") if len(part) >= 16}
    assert not any(part in answer.body.decode(errors="replace") for part in parts)
    if error != "unauthenticated":
        site.wait_for_log("identity_token_refused")
    log = site.log()
    assert not any(part in log for part in parts), "the log holds the token"


def need(program):
    """Skips a test whose runtime is missing here; under CI it must be there."""
    if shutil.which(program) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{program} is missing (scripts/install-deps --test installs it)")
        pytest.skip(f"{program} is not installed")


# --- Fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def keys(workdir):
    return Keys(Path(workdir) / "signed-identity-keys")


@pytest.fixture(scope="module")
def site(workdir, sandbox, keys):
    instance = Site(Path(workdir) / "signed-identity", sandbox,
                    env={"APP_INBOX_SIGNED_IDENTITY_KEYS": str(keys.jwks),
                         "APP_INBOX_SIGNED_IDENTITY_SECRET_FILE": str(keys.secret_file)})
    yield instance
    instance.stop()


# --- Tokens from PyJWT, every algorithm ----------------------------------------------------------

@pytest.mark.parametrize("alg", ALGORITHMS)
def test_a_token_of_each_algorithm_in_the_cookie_gets_alices_token(site, keys, sandbox, alg):
    answer = site.get(cookie=keys.mint(alg))
    assert owner(answer) == "alice@example.com"
    assert answer.headers["cache-control"] == "no-store, private"
    assert [json.loads(r["body"]) for r in sandbox.requests()] == [{"email": "alice@example.com"}]


def test_a_token_without_kid_is_tried_against_the_keys_of_its_algorithm(site, keys):
    for alg in ALGORITHMS:
        assert owner(site.get(cookie=keys.mint(alg, kid=False))) == "alice@example.com", alg


def test_bearer_is_accepted_and_wins_over_the_cookie(site, keys):
    alice, user2 = keys.mint("RS256"), keys.mint("EdDSA", email="user2@example.com")
    assert owner(site.get(bearer=alice)) == "alice@example.com"
    assert owner(site.get(bearer=alice, cookie=user2)) == "alice@example.com"
    # A site's Basic-auth staging password is no token: the cookie still counts.
    answer = site.get(cookie=user2, headers=basic_auth("user3@example.com", "staging"))
    assert owner(answer) == "user2@example.com"


def test_the_cookie_among_the_sites_other_cookies_and_quoted(site, keys):
    token = keys.mint("ES256")
    cookie = f'PHPSESSID=8f3a9c; {COOKIE}="{token}"; theme=dark'
    assert owner(site.get(headers={"Cookie": cookie})) == "alice@example.com"


def test_phone_and_external_id_claims(site, keys, sandbox):
    assert owner(site.get(cookie=keys.mint("EdDSA", email=None, phone="+380501234567"))) == "+380501234567"
    assert owner(site.get(cookie=keys.mint("HS256", email=None, external_customer_id="cust-42"))) == "cust-42"
    assert [json.loads(r["body"]) for r in sandbox.requests()] == [{"phone": "+380501234567"},
                                                                    {"externalCustomerId": "cust-42"}]


def test_an_audience_list_that_holds_app_inbox(site, keys):
    assert owner(site.get(cookie=keys.mint("HS256", aud=["shop", "app-inbox"]))) == "alice@example.com"


# --- The snippets of examples/signed-identity/, run as the site would run them ------------------

# (runtime, script, mode, key file, identity argument, expected owner)
SNIPPETS = {
    "php-hs256": ("php", "issue.php", "hs256", "secret", "email=alice@example.com", "alice@example.com"),
    "php-eddsa-sodium": ("php", "issue.php", "eddsa", "ed25519.sodium", "phone=+380501234567", "+380501234567"),
    "php-eddsa-pem": ("php", "issue.php", "eddsa", "ed25519.pem", "email=alice@example.com", "alice@example.com"),
    "node-hs256": ("node", "issue.js", "hs256", "secret", "email=alice@example.com", "alice@example.com"),
    "node-eddsa": ("node", "issue.js", "eddsa", "ed25519.pem", "external_customer_id=cust-42", "cust-42"),
    "pyjwt-es256": ("python3", "issue.py", "ES256", "p256.pem", "email=alice@example.com", "alice@example.com"),
    "pyjwt-rs256": ("python3", "issue.py", "RS256", "rsa.pem", "email=alice@example.com", "alice@example.com"),
    "pyjwt-hs256": ("python3", "issue.py", "HS256", "secret", "email=alice@example.com", "alice@example.com"),
    "stdlib-hs256": ("python3", "issue_stdlib.py", "hs256", "secret", "email=alice@example.com", "alice@example.com"),
}


@pytest.mark.parametrize("snippet", SNIPPETS)
def test_each_snippet_mints_a_token_the_responder_accepts(site, keys, snippet):
    runtime, script, mode, key_file, identity, expected = SNIPPETS[snippet]
    program = sys.executable if runtime == "python3" else runtime
    need(program)
    result = subprocess.run([program, str(EXAMPLES / script), mode, str(keys.files[key_file]), identity],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert result.stdout == token + "\n" and re.fullmatch(r"[\w-]+\.[\w-]+\.[\w-]+", token), result.stdout
    header = jwt.get_unverified_header(token)
    assert header["alg"] == {"hs256": "HS256", "eddsa": "EdDSA"}.get(mode, mode)
    body = jwt.decode(token, options={"verify_signature": False})
    assert body["aud"] == "app-inbox"
    assert body["exp"] - body["iat"] == 3600 and abs(body["iat"] - time.time()) < 60
    assert owner(site.get(cookie=token)) == expected


def test_php_sets_and_clears_the_cookie_with_its_flags(site, keys, tmp_path):
    """issue.php included by a page served by PHP's own web server: the Set-Cookie a browser gets
    after login, that cookie through nginx, and the Set-Cookie of logout."""
    need("php")
    page = tmp_path / "site.php"
    page.write_text(f"""<?php
require {json.dumps(str(EXAMPLES / 'issue.php'))};
if ($_SERVER['REQUEST_URI'] === '/logout') {{
    app_inbox_clear_identity_cookie();
}} else {{
    $secret = trim(file_get_contents({json.dumps(str(keys.secret_file))}));
    app_inbox_set_identity_cookie(app_inbox_identity_token(['email' => 'alice@example.com'], $secret));
}}
echo "ok\\n";
""")
    port = free_port()
    server = subprocess.Popen(["php", "-S", f"127.0.0.1:{port}", str(page)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc=server)
        login = http_request(port, "/login")
        logout = http_request(port, "/logout")
    finally:
        stop(server)
    assert login.status == 200 and login.body == b"ok\n"  # the command-line part did not run
    name, value, attributes = parse_set_cookie(login.headers["set-cookie"])
    assert name == COOKIE and value.count(".") == 2
    assert attributes["path"] == "/app-inbox/" and attributes["samesite"] == "Lax"
    assert {"secure", "httponly"} <= attributes.keys() and "domain" not in attributes
    assert attributes["max-age"] == "3600"
    assert owner(site.get(cookie=value)) == "alice@example.com"

    name, value, attributes = parse_set_cookie(logout.headers["set-cookie"])
    assert (name, attributes["path"]) == (COOKIE, "/app-inbox/")
    assert value in ("", "deleted") and int(attributes["max-age"]) <= 0


def test_node_cookie_headers_carry_the_flags(site, keys):
    need("node")
    script = f"""
const appInbox = require({json.dumps(str(EXAMPLES / 'issue.js'))});
const secret = require('fs').readFileSync({json.dumps(str(keys.secret_file))}, 'utf8').trim();
const token = appInbox.appInboxIdentityToken({{ email: 'alice@example.com' }}, secret);
console.log(JSON.stringify([appInbox.identityCookie(token), appInbox.clearedIdentityCookie(), appInbox.COOKIE_OPTIONS]));
"""
    result = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    set_cookie, cleared, options = json.loads(result.stdout)
    assert options == {"httpOnly": True, "secure": True, "sameSite": "lax", "path": "/app-inbox/"}
    name, value, attributes = parse_set_cookie(set_cookie)
    assert name == COOKIE and attributes["path"] == "/app-inbox/" and attributes["samesite"] == "Lax"
    assert {"secure", "httponly"} <= attributes.keys() and attributes["max-age"] == "3600"
    assert owner(site.get(cookie=value)) == "alice@example.com"
    name, value, attributes = parse_set_cookie(cleared)
    assert (name, value, attributes["max-age"], attributes["path"]) == (COOKIE, "", "0", "/app-inbox/")


def parse_set_cookie(header):
    """(name, value, {lower-case attribute: value}) of one Set-Cookie header."""
    pair, *rest = [part.strip() for part in header.split(";")]
    name, _, value = pair.partition("=")
    attributes = {}
    for attribute in rest:
        key, _, val = attribute.partition("=")
        attributes[key.lower()] = val
    return name, value, attributes


# --- Refusals ------------------------------------------------------------------------------------

def tampered(keys):
    """Alice's valid token with its payload swapped for one naming another (known) contact."""
    header, _, signature = keys.mint("EdDSA").split(".")
    return ".".join([header, b64url(json.dumps(claims(email="victim@example.com")).encode()), signature])


def oversized(keys, size):
    """A valid HS256 token of exactly `size` bytes, padded with an extra claim."""
    for kid in (False, "hs-1"):  # base64 skips some lengths; the kid shifts the rest by a few
        for pad in range(size * 3 // 4 - 200, size * 3 // 4):
            token = keys.mint("HS256", kid=kid, pad="x" * pad)
            if len(token) == size:
                return token
    raise AssertionError(f"no token of {size} bytes")


def hmac_keyed_with_rsa_public_pem(keys, header):
    """Algorithm confusion: an HS256 "signature" under the RSA public key's PEM bytes, which an
    attacker can read from the published JWKS."""
    secret = keys.rsa.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    return forge(header, claims(), lambda data: hmac.new(secret, data, hashlib.sha256).digest())


def member_twice(keys):
    """Validly signed claims that name the email twice: a parser that keeps the first and one that
    keeps the last would disagree on who this is."""
    header = b64url(b'{"alg":"HS256","kid":"hs-1"}')
    body = json.dumps(claims(email="victim@example.com"))[:-1] + ', "email": "alice@example.com"}'
    signing_input = header + "." + b64url(body.encode())
    return signing_input + "." + b64url(hmac.new(keys.hs, signing_input.encode(), hashlib.sha256).digest())


# case: (token maker, error, a phrase of the message and of the logged reason)
REFUSALS = {
    "expired": (lambda k: k.mint(iat=now() - 700, exp=now() - 120), "identity_token_expired", "expired at"),
    "not valid yet": (lambda k: k.mint(nbf=now() + 300), "identity_token_expired", "valid only from"),
    "issued in the future": (lambda k: k.mint(iat=now() + 300), "identity_token_expired", "issued in the future"),
    "wrong audience": (lambda k: k.mint("ES256", aud="another-app"), "invalid_identity_token", "aud"),
    "no audience": (lambda k: k.mint(aud=None), "invalid_identity_token", "no aud"),
    "no exp": (lambda k: k.mint(exp=None), "invalid_identity_token", "no exp"),
    "lives longer than a day": (lambda k: k.mint(ttl=2 * 86400), "invalid_identity_token", "MAX_AGE_S"),
    "no identity claim": (lambda k: k.mint(email=None), "invalid_identity_token", "no email, phone"),
    "identity claim not a string": (lambda k: k.mint(email=None, phone=380501234567), "invalid_identity_token",
                                    "phone claim is not a string"),
    "alg none": (lambda k: forge({"alg": "none", "typ": "JWT"}, claims()), "invalid_identity_token", "signature"),
    "alg none, with a signature": (lambda k: forge({"alg": "none"}, claims(), lambda _: b"x" * 32),
                                   "invalid_identity_token", '"none" is not accepted'),
    "HS256 keyed with the RSA public key, naming its kid": (
        lambda k: hmac_keyed_with_rsa_public_pem(k, {"alg": "HS256", "kid": "rsa-1"}), "invalid_identity_token",
        'no configured key has alg HS256 and kid "rsa-1"'),
    "HS256 keyed with the RSA public key, no kid": (
        lambda k: hmac_keyed_with_rsa_public_pem(k, {"alg": "HS256"}), "invalid_identity_token",
        "signature does not verify"),
    "tampered payload": (tampered, "invalid_identity_token", "signature does not verify"),
    "signed by a key the responder does not have": (
        lambda k: jwt.encode(claims(), ed25519.Ed25519PrivateKey.generate(), algorithm="EdDSA",
                             headers={"kid": "ed-1"}), "invalid_identity_token", "signature does not verify"),
    "unknown kid": (lambda k: k.mint("ES256", kid="ec-9"), "invalid_identity_token", 'kid "ec-9"'),
    "crit header": (lambda k: jwt.encode(claims(), k.hs, algorithm="HS256", headers={"crit": ["exp"], "exp": 1}),
                    "invalid_identity_token", "crit"),
    "a claim named twice": (member_twice, "invalid_identity_token", "payload"),
    "over 8 KiB": (lambda k: oversized(k, 8193), "invalid_identity_token", "longer than 8192 bytes"),
    "not a JWS": (lambda k: "not-a-token", "invalid_identity_token", "compact JWS"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_refused_tokens(site, keys, sandbox, case):
    make, error, reason = REFUSALS[case]
    token = make(keys)
    before = site.log().count("identity_token_refused")
    for answer in (site.get(cookie=token), site.get(bearer=token)):
        assert_refused(site, answer, token, error)
        assert reason in answer.json()["message"], answer.json()
    site.wait_for_log("identity_token_refused", before + 2)
    logged = [line for line in site.log().splitlines() if "identity_token_refused" in line][before:]
    quoted = reason.replace('"', '\\"')  # the log line escapes the quotes of its value
    assert len(logged) == 2 and all('reason="' in line and quoted in line for line in logged), logged
    assert sandbox.requests() == []


def test_a_token_of_exactly_8_kib_is_accepted(site, keys):
    assert owner(site.get(cookie=oversized(keys, 8192))) == "alice@example.com"


def test_clocks_may_disagree_by_30_seconds(site, keys):
    assert owner(site.get(cookie=keys.mint(iat=now() - 600, exp=now() - 10))) == "alice@example.com"
    assert owner(site.get(cookie=keys.mint(nbf=now() + 10, iat=now() + 10))) == "alice@example.com"


def test_no_token_is_unauthenticated(site, sandbox):
    answer = site.get()
    assert_refused(site, answer, "", "unauthenticated")
    assert site.get(headers={"Cookie": "PHPSESSID=8f3a9c"}).status == 401
    assert site.get(cookie="").json()["error"] == "unauthenticated"
    assert sandbox.requests() == []


def test_the_cookie_sent_twice_is_refused(site, keys, sandbox):
    """A sibling subdomain can add a cookie of the same name (cookie tossing): neither is used."""
    mine, tossed = keys.mint("EdDSA"), keys.mint("EdDSA", email="user2@example.com")
    answer = site.get(headers={"Cookie": f"{COOKIE}={tossed}; {COOKIE}={mine}"})
    assert_refused(site, answer, mine, "invalid_identity_token")
    assert tossed not in answer.body.decode()
    assert sandbox.requests() == []


def test_two_cookie_header_lines_are_refused(site, keys, sandbox):
    """nginx passes each Cookie: line as a FastCGI param of its own and libfcgi answers the first:
    a token in the second line, or a tossed duplicate there, would go unseen. Both are refused."""
    mine, tossed = keys.mint("EdDSA"), keys.mint("EdDSA", email="user2@example.com")
    for lines in ([f"PHPSESSID=8f3a9c", f"{COOKIE}={mine}"], [f"{COOKIE}={tossed}", f"{COOKIE}={mine}"]):
        with socket.create_connection(("127.0.0.1", site.port), timeout=10) as connection:
            head = "".join(f"Cookie: {line}\r\n" for line in lines)
            connection.sendall(f"GET /app-inbox/token HTTP/1.1\r\nHost: shop.example\r\n{head}Connection: close\r\n\r\n".encode())
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        status_line, _, rest = answer.partition(b"\r\n")
        assert status_line.split()[1] == b"401", answer
        body = json.loads(rest.partition(b"\r\n\r\n")[2])
        assert body["error"] == "invalid_identity_token" and "more than one Cookie header" in body["message"], body
    assert sandbox.requests() == []


def test_a_malformed_email_in_a_valid_token_is_400(site, keys, sandbox):
    token = keys.mint("HS256", email="not-an-email")
    answer = site.get(cookie=token)
    assert answer.status == 400 and answer.json()["error"] == "invalid_identity"
    assert token not in answer.body.decode() and token not in site.log()
    assert sandbox.requests() == []


# --- A server-set identity wins -----------------------------------------------------------------

def test_a_server_set_identity_param_wins_over_the_token(site, keys, sandbox):
    port = site.server_set_port
    assert owner(site.get(cookie=keys.mint("EdDSA"), port=port)) == SERVER_SET_USER
    assert owner(site.get(bearer=keys.mint("RS256"), port=port)) == SERVER_SET_USER
    # The token is not even read there: an expired one changes nothing.
    expired = keys.mint(iat=now() - 700, exp=now() - 120)
    assert owner(site.get(cookie=expired, port=port)) == SERVER_SET_USER
    assert [json.loads(r["body"]) for r in sandbox.requests()] == [{"email": SERVER_SET_USER}] * 3


# --- Key rotation --------------------------------------------------------------------------------

def test_key_rotation_by_kid_and_sighup(workdir, sandbox, tmp_path):
    old, new = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    old_token = jwt.encode(claims(), old, algorithm="EdDSA", headers={"kid": "2026-01"})
    new_token = jwt.encode(claims(), new, algorithm="EdDSA", headers={"kid": "2026-02"})
    keys_file = tmp_path / "identity-keys.json"
    keys_file.write_text(jwks(public_jwk(old, "EdDSA", "2026-01")))
    site = Site(Path(workdir) / "signed-identity-rotation", sandbox,
                env={"APP_INBOX_SIGNED_IDENTITY_KEYS": str(keys_file)})
    try:
        assert owner(site.get(cookie=old_token)) == "alice@example.com"
        assert_refused(site, site.get(cookie=new_token), new_token, "invalid_identity_token")

        # 1. Both keys, then a reload: tokens of either are accepted, the one refused before too.
        keys_file.write_text(jwks(public_jwk(old, "EdDSA", "2026-01"), public_jwk(new, "EdDSA", "2026-02")))
        site.reload()
        assert "signed_identity_keys=2" in site.log()
        assert owner(site.get(cookie=new_token)) == "alice@example.com"
        assert owner(site.get(cookie=old_token)) == "alice@example.com"

        # 2. A broken key file is refused and the keys in use stay.
        keys_file.write_text(jwks(public_jwk(new, "EdDSA", "2026-02") | {"d": "AAAA"}))
        site.reload()
        assert "reload_refused" in site.log() and "private" in site.log()
        assert owner(site.get(cookie=new_token)) == "alice@example.com"
        assert owner(site.get(cookie=old_token)) == "alice@example.com"

        # 3. The old key retired: from the next reload on, its tokens are refused, even the very
        # token accepted a moment ago.
        keys_file.write_text(jwks(public_jwk(new, "EdDSA", "2026-02")))
        site.reload()
        assert_refused(site, site.get(cookie=old_token), old_token, "invalid_identity_token")
        assert owner(site.get(cookie=new_token)) == "alice@example.com"
        assert site.responder.alive()
    finally:
        site.stop()
