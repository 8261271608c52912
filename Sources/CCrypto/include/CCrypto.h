#ifndef CCRYPTO_H
#define CCRYPTO_H
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

/// An HMAC-SHA256 context keyed once and reused for many messages, so that a per-request
/// digest costs no allocation and no key schedule. Not thread-safe: one per thread.
typedef struct ccrypto_hmac ccrypto_hmac;

/// Creates a context for `key`; NULL on failure.
ccrypto_hmac *ccrypto_hmac_sha256_new(const uint8_t *key, size_t key_length);

/// Writes HMAC-SHA256(key, message) to `digest` (32 bytes); returns 1 on success.
int ccrypto_hmac_sha256(ccrypto_hmac *context, const uint8_t *message, size_t length, uint8_t *digest);

/// Frees a context.
void ccrypto_hmac_free(ccrypto_hmac *context);

/// HMAC-SHA256 on a copy of the keyed `context`, so that many threads may share one context:
/// the copy is made, used and freed inside the call. Returns 1 on success.
int ccrypto_hmac_sha256_copy(const ccrypto_hmac *context, const uint8_t *message, size_t length, uint8_t *digest);

/// 1 when `signature` is HMAC-SHA256(key, message), compared in constant time; 0 when not; -1
/// when OpenSSL failed. Thread-safe (see ccrypto_hmac_sha256_copy).
int ccrypto_hmac_sha256_verify(ccrypto_hmac *context, const uint8_t *message, size_t length, const uint8_t *signature,
                               size_t signature_length);

/// Writes HMAC-SHA256(key, message) to `digest` (32 bytes) with OpenSSL's one-shot HMAC, keyed
/// anew on each call (for the rare digest; a per-request one keeps a context); 1 on success.
int ccrypto_hmac_sha256_once(const uint8_t *key, size_t key_length, const uint8_t *message, size_t length,
                             uint8_t *digest);

/// Writes SHA-256(message) to `digest` (32 bytes); returns 1 on success.
int ccrypto_sha256(const uint8_t *message, size_t length, uint8_t *digest);

/// The public-key kinds that signed identity tokens use (RFC 7518 §3, RFC 8037).
enum { CCRYPTO_UNSUPPORTED = 0, CCRYPTO_ED25519 = 1, CCRYPTO_P256 = 2, CCRYPTO_RSA = 3 };

/// An Ed25519 public key from its 32 raw bytes (JWK `x`); NULL when malformed.
EVP_PKEY *ccrypto_pkey_ed25519(const uint8_t *x, size_t length);

/// A P-256 public key from its coordinates (JWK `x`, `y`, 32 bytes each); NULL unless the point
/// lies on the curve.
EVP_PKEY *ccrypto_pkey_p256(const uint8_t *x, size_t x_length, const uint8_t *y, size_t y_length);

/// An RSA public key from its big-endian modulus and exponent (JWK `n`, `e`); NULL when malformed.
EVP_PKEY *ccrypto_pkey_rsa(const uint8_t *n, size_t n_length, const uint8_t *e, size_t e_length);

/// A public key from PEM (`-----BEGIN PUBLIC KEY-----`); NULL when it holds none.
EVP_PKEY *ccrypto_pkey_from_pem(const uint8_t *pem, size_t length);

/// The key's kind (CCRYPTO_*) and its size in bits.
int ccrypto_pkey_kind(const EVP_PKEY *pkey, int *bits);

/// Frees a key.
void ccrypto_pkey_free(EVP_PKEY *pkey);

/// 1 when `signature` signs `message` under `pkey` of `kind`: Ed25519 (EdDSA), P-256 with
/// SHA-256 and a raw R ‖ S signature (ES256), or RSA PKCS #1 v1.5 with SHA-256 (RS256). 0 when it
/// does not; -1 when OpenSSL failed. Thread-safe.
int ccrypto_verify(EVP_PKEY *pkey, int kind, const uint8_t *message, size_t length, const uint8_t *signature,
                   size_t signature_length);

/// The length of a sealed value of `length` bytes (seal.c).
size_t ccrypto_sealed_length(size_t length);
/// Seals `plain` with AES-256-GCM under the 32-byte `key`, binding `aad`, into `out`
/// (ccrypto_sealed_length(length) bytes); 1, or 0 when OpenSSL failed.
int ccrypto_seal(const uint8_t *key, const uint8_t *aad, size_t aad_length, const uint8_t *plain, size_t length,
                 uint8_t *out);
/// Opens a value sealed by ccrypto_seal into `out` (length - 28 bytes at most); the plain length,
/// or -1 when the value was not sealed under this key and `aad`, or was changed.
long ccrypto_open(const uint8_t *key, const uint8_t *aad, size_t aad_length, const uint8_t *sealed, size_t length,
                  uint8_t *out);

#endif
