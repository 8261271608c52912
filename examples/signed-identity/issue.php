<?php
/*
 * app-inbox identity tokens for a PHP site (PHP 7.4 or later, no Composer).
 *
 * The site knows who is signed in; the web server in front of app-inbox-fcgi does not. So right
 * after login the site signs a short-lived token naming the user, and the browser carries it to
 * /app-inbox/ in a cookie. app-inbox-fcgi checks the signature and exchanges the identity for
 * an eSputnik App Inbox token. The token is a standard JWT (a compact JWS), so any JWT library
 * would do as well; this file only avoids the dependency.
 *
 * Pick one:
 *   - HS256, a shared secret: simplest. The same secret file is read by the site and by
 *     app-inbox-fcgi (APP_INBOX_SIGNED_IDENTITY_SECRET_FILE).
 *   - EdDSA (Ed25519), a key pair: the site holds the private key, app-inbox-fcgi only the public
 *     one (APP_INBOX_SIGNED_IDENTITY_KEYS), so a leak on the app-inbox side cannot forge users.
 *
 * Where to call it:
 *
 *     require_once '/path/to/issue.php';
 *     const APP_INBOX_SECRET_FILE = '/etc/app-inbox/identity-secret';
 *
 *     // After a successful login (and after session_regenerate_id(true)):
 *     $secret = trim(file_get_contents(APP_INBOX_SECRET_FILE));
 *     app_inbox_set_identity_cookie(app_inbox_identity_token(['email' => $user->email], $secret));
 *
 *     // On every page a signed-in user loads, call the same two lines again: an HMAC costs
 *     // microseconds, and the cookie then never expires under an open session. (The cookie's
 *     // Path=/app-inbox/ keeps it out of $_COOKIE on the site's own pages, so the site cannot
 *     // look for it; keep its expiry in the session if you would rather renew less often.)
 *
 *     // On logout, before or after session_destroy():
 *     app_inbox_clear_identity_cookie();
 *
 * Everything here must run before any output, like header() and setcookie() always must.
 */

declare(strict_types=1);

/** The cookie app-inbox-fcgi reads (APP_INBOX_SIGNED_IDENTITY_COOKIE). */
const APP_INBOX_IDENTITY_COOKIE = 'app_inbox_identity';
/** The audience app-inbox-fcgi demands (APP_INBOX_SIGNED_IDENTITY_AUDIENCE). */
const APP_INBOX_AUDIENCE = 'app-inbox';
/** The cookie goes only to the responder's routes: the site's own pages never see it. */
const APP_INBOX_COOKIE_PATH = '/app-inbox/';

/**
 * An HS256 token for $identity (keys email, phone and/or external_customer_id) signed with the
 * shared secret: the text of the secret file, trimmed, as app-inbox-fcgi reads it.
 *
 * $ttl: an hour is long enough for a page left open and short enough that a stolen cookie soon
 * stops working; app-inbox-fcgi refuses more than APP_INBOX_SIGNED_IDENTITY_MAX_AGE_S (a day).
 * $kid: the key id, once the responder's JWKS holds more than one secret (key rotation).
 */
function app_inbox_identity_token(array $identity, string $secret, int $ttl = 3600, ?string $kid = null): string
{
    if (strlen($secret) < 32) {
        // The responder refuses shorter secrets at startup; fail here too rather than mint
        // tokens nobody accepts.
        throw new InvalidArgumentException('the app-inbox identity secret needs at least 32 bytes');
    }
    $input = app_inbox_signing_input('HS256', $kid, app_inbox_claims($identity, $ttl));
    return $input . '.' . app_inbox_base64url(hash_hmac('sha256', $input, $secret, true));
}

/**
 * An EdDSA token signed with an Ed25519 secret key in libsodium's form: 64 raw bytes (seed then
 * public key), as sodium_crypto_sign_keypair() makes, or the 32-byte seed alone.
 * app_inbox_ed25519_key_from_pem() reads the PEM file that `openssl genpkey` writes.
 */
function app_inbox_identity_token_ed25519(array $identity, string $secretKey, int $ttl = 3600, ?string $kid = null): string
{
    if (strlen($secretKey) === SODIUM_CRYPTO_SIGN_SEEDBYTES) {
        $secretKey = sodium_crypto_sign_secretkey(sodium_crypto_sign_seed_keypair($secretKey));
    }
    if (strlen($secretKey) !== SODIUM_CRYPTO_SIGN_SECRETKEYBYTES) {
        throw new InvalidArgumentException('an Ed25519 secret key has 64 bytes (or a 32-byte seed)');
    }
    $input = app_inbox_signing_input('EdDSA', $kid, app_inbox_claims($identity, $ttl));
    return $input . '.' . app_inbox_base64url(sodium_crypto_sign_detached($input, $secretKey));
}

/**
 * The 32-byte seed inside an unencrypted Ed25519 private key PEM (`openssl genpkey -algorithm
 * ed25519`), so one key pair serves PHP, Node and Python alike.
 */
function app_inbox_ed25519_key_from_pem(string $pem): string
{
    // PKCS #8 for Ed25519 (RFC 8410) is always these 16 bytes followed by the seed.
    $prefix = hex2bin('302e020100300506032b657004220420');
    $body = preg_replace('/-----[^-]+-----|\s+/', '', $pem);
    $der = base64_decode($body, true);
    if ($der === false || strlen($der) !== 48 || strncmp($der, $prefix, 16) !== 0) {
        throw new InvalidArgumentException('not an unencrypted Ed25519 PRIVATE KEY PEM');
    }
    return substr($der, 16);
}

/**
 * Sets the cookie for as long as the token lives. HttpOnly: page scripts (and XSS) cannot read
 * it. Secure: never sent over plain HTTP. SameSite=Lax: other sites cannot make the browser
 * send it with their POSTs. No Domain: host-only, so sibling subdomains neither receive it nor
 * can replace it.
 */
function app_inbox_set_identity_cookie(string $token, int $ttl = 3600): bool
{
    return setcookie(APP_INBOX_IDENTITY_COOKIE, $token, [
        'expires' => time() + $ttl,
        'path' => APP_INBOX_COOKIE_PATH,
        'secure' => true,
        'httponly' => true,
        'samesite' => 'Lax',
    ]);
}

/** Deletes the cookie at logout: same name, path and flags, expired. */
function app_inbox_clear_identity_cookie(): bool
{
    return setcookie(APP_INBOX_IDENTITY_COOKIE, '', [
        'expires' => time() - 3600,
        'path' => APP_INBOX_COOKIE_PATH,
        'secure' => true,
        'httponly' => true,
        'samesite' => 'Lax',
    ]);
}

/** The claims app-inbox-fcgi requires: the identity, aud, and iat/exp bounding the lifetime. */
function app_inbox_claims(array $identity, int $ttl): array
{
    $claims = [];
    foreach (['email', 'phone', 'external_customer_id'] as $name) {
        if (isset($identity[$name]) && $identity[$name] !== '') {
            // Claims must be strings: a phone kept as an integer would be refused.
            $claims[$name] = (string) $identity[$name];
        }
    }
    if ($claims === []) {
        throw new InvalidArgumentException('an app-inbox identity needs an email, phone or external_customer_id');
    }
    $now = time();
    return $claims + ['aud' => APP_INBOX_AUDIENCE, 'iat' => $now, 'exp' => $now + $ttl];
}

/** BASE64URL(header) . BASE64URL(claims): the bytes the signature covers. */
function app_inbox_signing_input(string $alg, ?string $kid, array $claims): string
{
    $header = ['alg' => $alg, 'typ' => 'JWT'];
    if ($kid !== null) {
        $header['kid'] = $kid;
    }
    // JSON_THROW_ON_ERROR: invalid UTF-8 in an email must not become a silently empty claim.
    $flags = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR;
    return app_inbox_base64url(json_encode($header, $flags)) . '.' . app_inbox_base64url(json_encode($claims, $flags));
}

/** Base64url without padding (RFC 7515 §2): app-inbox-fcgi refuses '=', '+' and '/'. */
function app_inbox_base64url(string $bytes): string
{
    return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
}


// ---- Command line, for trying it out and for the tests; not needed on a site ------------------
//
//   php issue.php hs256 SECRET_FILE email=alice@example.com [phone=…] [external_customer_id=…]
//   php issue.php eddsa KEY_FILE email=…   (KEY_FILE: base64 of the 64-byte sodium secret key,
//                                          or an Ed25519 private key PEM)
//
// Prints the token alone. Runs only when this file is the script, never when it is included.
if (PHP_SAPI === 'cli' && realpath($_SERVER['argv'][0] ?? '') === __FILE__) {
    $args = array_slice($_SERVER['argv'], 1);
    if (count($args) < 3 || !in_array($args[0], ['hs256', 'eddsa'], true)) {
        fwrite(STDERR, "usage: php issue.php hs256|eddsa KEY_FILE email=… [phone=…] [external_customer_id=…]\n");
        exit(2);
    }
    $key = trim((string) file_get_contents($args[1]));
    $identity = [];
    foreach (array_slice($args, 2) as $pair) {
        [$name, $value] = array_pad(explode('=', $pair, 2), 2, '');
        $identity[$name] = $value;
    }
    if ($args[0] === 'hs256') {
        echo app_inbox_identity_token($identity, $key), "\n";
    } else {
        $secretKey = strpos($key, '-----BEGIN') === 0 ? app_inbox_ed25519_key_from_pem($key) : base64_decode($key, true);
        echo app_inbox_identity_token_ed25519($identity, (string) $secretKey), "\n";
    }
}
