"""app-inbox identity tokens (HS256) with nothing but the Python standard library.

The same token issue.py makes with PyJWT, for sites that cannot add a dependency: a compact JWS
signed with HMAC-SHA256 under the secret that app-inbox-fcgi reads from
APP_INBOX_SIGNED_IDENTITY_SECRET_FILE. Call it right after login (and on every page a signed-in
user loads, so the cookie outlives no session), set it as the cookie `app_inbox_identity` with
HttpOnly, Secure, SameSite=Lax and Path=/app-inbox/, and delete that cookie at logout; issue.py
shows this for Django. With the standard library alone (http.cookies):

    from http.cookies import SimpleCookie
    cookie = SimpleCookie()
    cookie["app_inbox_identity"] = app_inbox_identity_token({"email": email}, SECRET)
    cookie["app_inbox_identity"].update({"max-age": 3600, "path": "/app-inbox/", "secure": True,
                                         "httponly": True, "samesite": "Lax"})
    headers.append(("Set-Cookie", cookie["app_inbox_identity"].OutputString()))
"""

import base64
import hashlib
import hmac
import json
import sys
import time

AUDIENCE = "app-inbox"  # APP_INBOX_SIGNED_IDENTITY_AUDIENCE
IDENTITY_CLAIMS = ("email", "phone", "external_customer_id")


def base64url(data):
    """Base64url without padding (RFC 7515 §2): app-inbox-fcgi refuses '=', '+' and '/'."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def app_inbox_identity_token(identity, secret, ttl=3600, kid=None):
    """An HS256 token for `identity` (email, phone and/or external_customer_id).

    secret: the text of the secret file, stripped, as app-inbox-fcgi reads it (not decoded from
    base64: the text itself is the key). ttl: an hour is long enough for a page left open and
    short enough that a stolen cookie soon stops working; app-inbox-fcgi refuses more than
    APP_INBOX_SIGNED_IDENTITY_MAX_AGE_S (a day). kid: the key id, once the responder's JWKS
    holds more than one key.
    """
    key = secret.encode() if isinstance(secret, str) else secret
    if len(key) < 32:
        # The responder refuses shorter secrets at startup; fail here too.
        raise ValueError("the app-inbox identity secret needs at least 32 bytes")
    # Claims must be strings: a phone kept as an int would be refused.
    claims = {name: str(identity[name]) for name in IDENTITY_CLAIMS if identity.get(name) not in (None, "")}
    if not claims:
        raise ValueError("an app-inbox identity needs an email, phone or external_customer_id")
    now = int(time.time())  # NumericDate: whole seconds
    claims.update(aud=AUDIENCE, iat=now, exp=now + ttl)
    header = {"alg": "HS256", "typ": "JWT"} | ({"kid": kid} if kid else {})
    compact = lambda value: json.dumps(value, separators=(",", ":")).encode()
    signing_input = base64url(compact(header)) + "." + base64url(compact(claims))
    signature = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + base64url(signature)


# ---- Command line, for trying it out and for the tests; not needed on a site ------------------
#
#   python3 issue_stdlib.py hs256 SECRET_FILE email=alice@example.com [phone=…] [external_customer_id=…]
#
# Prints the token alone.
if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[1].lower() != "hs256":
        sys.exit("usage: python3 issue_stdlib.py hs256 SECRET_FILE email=… [phone=…] [external_customer_id=…]")
    with open(sys.argv[2], encoding="utf-8") as file:
        secret = file.read().strip(" \t\r\n")  # as the responder trims the secret file
    print(app_inbox_identity_token(dict(pair.partition("=")[::2] for pair in sys.argv[3:]), secret))
