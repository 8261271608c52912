"""app-inbox identity tokens for a Python site, with PyJWT (pip install "pyjwt[crypto]").

The site knows who is signed in; the web server in front of app-inbox-fcgi does not. So right
after login the site signs a short-lived token naming the user, and the browser carries it to
/app-inbox/ in a cookie. app-inbox-fcgi checks the signature and exchanges the identity for an
eSputnik App Inbox token. Any algorithm it accepts works here: HS256 (a shared secret, the
simplest), or EdDSA, ES256 or RS256 (a private key on the site, only the public key in the
responder's JWKS, so a leak on the app-inbox side cannot forge users). No PyJWT? HS256 needs only
the standard library: see issue_stdlib.py.

Where to call it, e.g. in Django:

    from django.contrib.auth import login, logout
    from pathlib import Path
    from issue import COOKIE, COOKIE_OPTIONS, app_inbox_identity_token

    SECRET = Path("/etc/app-inbox/identity-secret").read_text().strip()   # once, at import

    def login_view(request):
        ...
        login(request, user)
        response = redirect("home")
        response.set_cookie(COOKIE, app_inbox_identity_token({"email": user.email}, SECRET),
                            max_age=3600, **COOKIE_OPTIONS)
        # COOKIE_OPTIONS: httponly=True, secure=True, samesite="Lax", path="/app-inbox/"
        return response

    def logout_view(request):
        logout(request)
        response = redirect("home")
        response.delete_cookie(COOKIE, path="/app-inbox/", samesite="Lax")
        return response

A page left open longer than the token lives loses its inbox: renew the cookie on every page a
signed-in user loads (signing costs microseconds), e.g. from a middleware:

    def app_inbox_cookie(get_response):
        def middleware(request):
            response = get_response(request)
            if request.user.is_authenticated and not response.cookies.get(COOKIE):
                response.set_cookie(COOKIE, app_inbox_identity_token({"email": request.user.email}, SECRET),
                                    max_age=3600, **COOKIE_OPTIONS)
            return response
        return middleware
"""

import sys
import time

import jwt

#: The cookie app-inbox-fcgi reads (APP_INBOX_SIGNED_IDENTITY_COOKIE).
COOKIE = "app_inbox_identity"
#: The audience app-inbox-fcgi demands (APP_INBOX_SIGNED_IDENTITY_AUDIENCE).
AUDIENCE = "app-inbox"
#: HttpOnly: page scripts (and XSS) cannot read it. Secure: never sent over plain HTTP.
#: SameSite=Lax: other sites cannot make the browser send it with their POSTs. Path: only the
#: responder's routes receive it. No domain: host-only, so sibling subdomains neither receive it
#: nor can replace it.
COOKIE_OPTIONS = {"httponly": True, "secure": True, "samesite": "Lax", "path": "/app-inbox/"}

IDENTITY_CLAIMS = ("email", "phone", "external_customer_id")


def app_inbox_identity_token(identity, key, algorithm="HS256", ttl=3600, kid=None):
    """A token for `identity` (a dict with email, phone and/or external_customer_id).

    key: for HS256 the shared secret, the text of the secret file stripped, as app-inbox-fcgi
    reads it; for EdDSA, ES256 and RS256 the private key (PEM text or a `cryptography` key).
    ttl: an hour is long enough for a page left open and short enough that a stolen cookie soon
    stops working; app-inbox-fcgi refuses more than APP_INBOX_SIGNED_IDENTITY_MAX_AGE_S (a day).
    kid: the key id, once the responder's JWKS holds more than one key (key rotation).
    """
    # Claims must be strings: a phone kept as an int would be refused.
    claims = {name: str(identity[name]) for name in IDENTITY_CLAIMS if identity.get(name) not in (None, "")}
    if not claims:
        raise ValueError("an app-inbox identity needs an email, phone or external_customer_id")
    now = int(time.time())  # NumericDate: whole seconds
    claims |= {"aud": AUDIENCE, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid} if kid else None)


# ---- Command line, for trying it out and for the tests; not needed on a site ------------------
#
#   python3 issue.py HS256 SECRET_FILE email=alice@example.com [phone=…] [external_customer_id=…]
#   python3 issue.py EdDSA|ES256|RS256 PRIVATE_PEM_FILE email=…
#
# Prints the token alone.
if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit("usage: python3 issue.py HS256|EdDSA|ES256|RS256 KEY_FILE email=… [phone=…] [external_customer_id=…]")
    algorithm, key_file, *pairs = sys.argv[1:]
    with open(key_file, encoding="utf-8") as file:
        key = file.read()
    if algorithm.upper() == "HS256":
        algorithm, key = "HS256", key.strip(" \t\r\n")  # as the responder trims the secret file
    print(app_inbox_identity_token(dict(pair.partition("=")[::2] for pair in pairs), key, algorithm))
