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

#endif
