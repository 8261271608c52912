'use strict';
/*
 * app-inbox identity tokens for a Node site (Node 18 or later, built-in `crypto` only).
 *
 * The site knows who is signed in; the web server in front of app-inbox-fcgi does not. So right
 * after login the site signs a short-lived token naming the user, and the browser carries it to
 * /app-inbox/ in a cookie. app-inbox-fcgi checks the signature and exchanges the identity for
 * an eSputnik App Inbox token. The token is a standard JWT (a compact JWS): `jose` or
 * `jsonwebtoken` would make the same thing; this file only avoids the dependency.
 *
 * Pick one:
 *   - HS256, a shared secret: simplest. The same secret file is read by the site and by
 *     app-inbox-fcgi (APP_INBOX_SIGNED_IDENTITY_SECRET_FILE).
 *   - EdDSA (Ed25519), a key pair: the site holds the private key, app-inbox-fcgi only the public
 *     one (APP_INBOX_SIGNED_IDENTITY_KEYS), so a leak on the app-inbox side cannot forge users.
 *
 * Where to call it, e.g. with Express:
 *
 *   const fs = require('fs');
 *   const appInbox = require('./issue.js');
 *   const secret = fs.readFileSync('/etc/app-inbox/identity-secret', 'utf8').trim();
 *   const cookieOptions = appInbox.COOKIE_OPTIONS; // httpOnly, secure, sameSite 'lax', path '/app-inbox/'
 *
 *   // After a successful login, and on every page a signed-in user loads (an HMAC costs
 *   // microseconds, and the cookie then never expires under an open session):
 *   res.cookie(appInbox.COOKIE, appInbox.appInboxIdentityToken({ email: user.email }, secret),
 *              { ...cookieOptions, maxAge: 3600 * 1000 });   // Express wants milliseconds
 *
 *   // On logout:
 *   res.clearCookie(appInbox.COOKIE, cookieOptions);
 *
 * Without Express: res.setHeader('Set-Cookie', appInbox.identityCookie(token)) and, on logout,
 * appInbox.clearedIdentityCookie().
 */

const crypto = require('crypto');

/** The cookie app-inbox-fcgi reads (APP_INBOX_SIGNED_IDENTITY_COOKIE). */
const COOKIE = 'app_inbox_identity';
/** The audience app-inbox-fcgi demands (APP_INBOX_SIGNED_IDENTITY_AUDIENCE). */
const AUDIENCE = 'app-inbox';
/**
 * Express's cookie options. httpOnly: page scripts (and XSS) cannot read it. secure: never sent
 * over plain HTTP. sameSite lax: other sites cannot make the browser send it with their POSTs.
 * path: only the responder's routes receive it. No domain: host-only, so sibling subdomains
 * neither receive it nor can replace it.
 */
const COOKIE_OPTIONS = Object.freeze({ httpOnly: true, secure: true, sameSite: 'lax', path: '/app-inbox/' });

/**
 * An HS256 token for `identity` ({email, phone, external_customer_id}, at least one) signed with
 * the shared secret: the text of the secret file, trimmed, as app-inbox-fcgi reads it.
 *
 * ttl: an hour is long enough for a page left open and short enough that a stolen cookie soon
 * stops working; app-inbox-fcgi refuses more than APP_INBOX_SIGNED_IDENTITY_MAX_AGE_S (a day).
 * kid: the key id, once the responder's JWKS holds more than one key (key rotation).
 */
function appInboxIdentityToken(identity, secret, ttl = 3600, kid = undefined) {
  if (Buffer.byteLength(secret) < 32) {
    // The responder refuses shorter secrets at startup; fail here too rather than mint tokens
    // nobody accepts.
    throw new Error('the app-inbox identity secret needs at least 32 bytes');
  }
  const input = signingInput('HS256', kid, claims(identity, ttl));
  return input + '.' + crypto.createHmac('sha256', secret).update(input).digest('base64url');
}

/**
 * An EdDSA token signed with an Ed25519 private key: a PEM string (`openssl genpkey -algorithm
 * ed25519`) or a KeyObject. Load the key once at startup, not per request.
 */
function appInboxIdentityTokenEd25519(identity, privateKey, ttl = 3600, kid = undefined) {
  const input = signingInput('EdDSA', kid, claims(identity, ttl));
  // Ed25519 hashes internally: the digest argument must be null.
  return input + '.' + crypto.sign(null, Buffer.from(input), privateKey).toString('base64url');
}

/** A Set-Cookie value that carries `token` for as long as it lives. */
function identityCookie(token, ttl = 3600) {
  return `${COOKIE}=${token}; Max-Age=${ttl}; Path=${COOKIE_OPTIONS.path}; HttpOnly; Secure; SameSite=Lax`;
}

/** The Set-Cookie value that deletes the cookie at logout: same name and path, expired. */
function clearedIdentityCookie() {
  return `${COOKIE}=; Max-Age=0; Path=${COOKIE_OPTIONS.path}; HttpOnly; Secure; SameSite=Lax`;
}

/** The claims app-inbox-fcgi requires: the identity, aud, and iat/exp bounding the lifetime. */
function claims(identity, ttl) {
  const result = {};
  for (const name of ['email', 'phone', 'external_customer_id']) {
    // Claims must be strings: a phone kept as a number would be refused.
    if (identity[name] !== undefined && identity[name] !== null && identity[name] !== '') {
      result[name] = String(identity[name]);
    }
  }
  if (Object.keys(result).length === 0) {
    throw new Error('an app-inbox identity needs an email, phone or external_customer_id');
  }
  const now = Math.floor(Date.now() / 1000); // NumericDate: whole seconds, not milliseconds
  return { ...result, aud: AUDIENCE, iat: now, exp: now + ttl };
}

/** BASE64URL(header) . BASE64URL(claims): the bytes the signature covers. */
function signingInput(alg, kid, body) {
  const header = kid === undefined ? { alg, typ: 'JWT' } : { alg, typ: 'JWT', kid };
  // 'base64url' has no padding, as JWS requires (app-inbox-fcgi refuses '=', '+' and '/').
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return encode(header) + '.' + encode(body);
}

module.exports = {
  COOKIE,
  COOKIE_OPTIONS,
  appInboxIdentityToken,
  appInboxIdentityTokenEd25519,
  identityCookie,
  clearedIdentityCookie,
};


// ---- Command line, for trying it out and for the tests; not needed on a site ------------------
//
//   node issue.js hs256 SECRET_FILE email=alice@example.com [phone=…] [external_customer_id=…]
//   node issue.js eddsa PRIVATE_PEM_FILE email=…
//
// Prints the token alone. Runs only when this file is the script, never when it is required.
if (require.main === module) {
  const [mode, keyFile, ...pairs] = process.argv.slice(2);
  if (!['hs256', 'eddsa'].includes(mode) || !keyFile || pairs.length === 0) {
    process.stderr.write('usage: node issue.js hs256|eddsa KEY_FILE email=… [phone=…] [external_customer_id=…]\n');
    process.exit(2);
  }
  const key = require('fs').readFileSync(keyFile, 'utf8').trim();
  const identity = Object.fromEntries(pairs.map((pair) => {
    const at = pair.indexOf('=');
    return at < 0 ? [pair, ''] : [pair.slice(0, at), pair.slice(at + 1)];
  }));
  const token = mode === 'hs256' ? appInboxIdentityToken(identity, key) : appInboxIdentityTokenEd25519(identity, key);
  process.stdout.write(token + '\n');
}
