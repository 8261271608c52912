"""Signed identity for the cache-hit rows that sign users in with a cookie instead of a header:
a key, the JWKS the responder verifies with, and the tokens, minted as a site's backend would
(examples/signed-identity/)."""

import base64
import hashlib
import hmac
import json
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SECRET = b"bench-secret-bench-secret-bench-secret!!"
# More distinct tokens than the responder remembers as verified (VerifiedTokens.capacity, 8192),
# sent in turn by two wrk threads half a turn apart: every request is then verified in full.
COLD_TOKENS = 17000


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_b64(number):
    return _b64(number.to_bytes((number.bit_length() + 7) // 8, "big"))


def _key(algorithm):
    """The public JWK and a function that signs bytes."""
    if algorithm == "HS256":
        return {"kty": "oct", "k": _b64(SECRET)}, lambda data: hmac.new(SECRET, data, hashlib.sha256).digest()
    if algorithm == "EdDSA":
        key = Ed25519PrivateKey.generate()
        raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw)}, key.sign
    if algorithm == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
        numbers = key.public_key().public_numbers()

        def sign(data):
            r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")

        return {"kty": "EC", "crv": "P-256", "x": _b64(numbers.x.to_bytes(32, "big")),
                "y": _b64(numbers.y.to_bytes(32, "big"))}, sign
    if algorithm == "RS256":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = key.public_key().public_numbers()
        return {"kty": "RSA", "n": _int_b64(numbers.n), "e": _int_b64(numbers.e)}, \
            lambda data: key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    raise ValueError(f"no bench key for {algorithm}")


def prepare(algorithm, identities, directory, cold=False):
    """Writes keys.json and tokens.txt into `directory`: one token per user (user{i}@example.com,
    line i), or with `cold` COLD_TOKENS of them, user i on the lines ≡ i modulo `identities`; all
    valid for two hours. Returns the responder's extra environment and the tokens file."""
    jwk, sign = _key(algorithm)
    jwk.update(kid="bench", alg=algorithm)
    keys = directory / "keys.json"
    keys.write_text(json.dumps({"keys": [jwk]}))
    header = _b64(json.dumps({"alg": algorithm, "kid": "bench", "typ": "JWT"}).encode())
    now = int(time.time())
    lines = []
    for n in range(COLD_TOKENS if cold else identities):
        claims = {"email": f"user{n % identities}@example.com", "aud": "app-inbox", "iat": now, "exp": now + 7200,
                  "jti": n}
        signing_input = f"{header}.{_b64(json.dumps(claims).encode())}"
        lines.append(f"{signing_input}.{_b64(sign(signing_input.encode()))}")
    tokens = directory / "tokens.txt"
    tokens.write_text("\n".join(lines) + "\n")
    return {"APP_INBOX_SIGNED_IDENTITY_KEYS": str(keys)}, tokens
