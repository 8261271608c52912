#include "CCrypto.h"
#include <openssl/evp.h>
#include <limits.h>
#include <openssl/rand.h>

// AES-256-GCM (NIST SP 800-38D) for what the fleet keeps in Redis: a random 96-bit nonce per
// value, the value's Redis key bound in as associated data, so a value copied to another key
// does not open there. Layout: nonce (12) ‖ ciphertext ‖ tag (16).

enum { NONCE = 12, TAG = 16 };

size_t ccrypto_sealed_length(size_t length) {
    return NONCE + length + TAG;
}

int ccrypto_seal(const uint8_t *key, const uint8_t *aad, size_t aad_length, const uint8_t *plain, size_t length,
                 uint8_t *out) {
    if (length > INT_MAX - NONCE - TAG || aad_length > INT_MAX) return 0;
    if (RAND_bytes(out, NONCE) != 1) return 0;
    EVP_CIPHER_CTX *context = EVP_CIPHER_CTX_new();
    if (context == NULL) return 0;
    int written = 0, final = 0;
    int ok = EVP_EncryptInit_ex(context, EVP_aes_256_gcm(), NULL, key, out) == 1
          && (aad_length == 0 || EVP_EncryptUpdate(context, NULL, &written, aad, (int)aad_length) == 1)
          && EVP_EncryptUpdate(context, out + NONCE, &written, plain, (int)length) == 1
          && EVP_EncryptFinal_ex(context, out + NONCE + written, &final) == 1
          && written + final == (int)length
          && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, TAG, out + NONCE + length) == 1;
    EVP_CIPHER_CTX_free(context);
    return ok;
}

long ccrypto_open(const uint8_t *key, const uint8_t *aad, size_t aad_length, const uint8_t *sealed, size_t length,
                  uint8_t *out) {
    if (length < NONCE + TAG || length > INT_MAX || aad_length > INT_MAX) return -1;
    size_t plain = length - NONCE - TAG;
    EVP_CIPHER_CTX *context = EVP_CIPHER_CTX_new();
    if (context == NULL) return -1;
    int written = 0, final = 0;
    // The tag is set before EVP_DecryptFinal_ex, which fails when it does not match.
    int ok = EVP_DecryptInit_ex(context, EVP_aes_256_gcm(), NULL, key, sealed) == 1
          && (aad_length == 0 || EVP_DecryptUpdate(context, NULL, &written, aad, (int)aad_length) == 1)
          && EVP_DecryptUpdate(context, out, &written, sealed + NONCE, (int)plain) == 1
          && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, TAG, (void *)(sealed + NONCE + plain)) == 1
          && EVP_DecryptFinal_ex(context, out + written, &final) == 1
          && written + final == (int)plain;
    EVP_CIPHER_CTX_free(context);
    return ok ? (long)plain : -1;
}
