#include "CCrypto.h"
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <limits.h>
#include <pthread.h>

// OpenSSL 3's EVP_MAC: initialising with a NULL key restarts from the already keyed state,
// which is what makes reusing one context per thread cheap.
struct ccrypto_hmac {
    EVP_MAC_CTX *mac;
};

ccrypto_hmac *ccrypto_hmac_sha256_new(const uint8_t *key, size_t key_length) {
    EVP_MAC *algorithm = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (algorithm == NULL) {
        return NULL;
    }
    EVP_MAC_CTX *mac = EVP_MAC_CTX_new(algorithm);
    EVP_MAC_free(algorithm);
    if (mac == NULL) {
        return NULL;
    }
    char digest_name[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_init(mac, key, key_length, params) != 1) {
        EVP_MAC_CTX_free(mac);
        return NULL;
    }
    ccrypto_hmac *context = OPENSSL_zalloc(sizeof(*context));
    if (context == NULL) {
        EVP_MAC_CTX_free(mac);
        return NULL;
    }
    context->mac = mac;
    return context;
}

int ccrypto_hmac_sha256(ccrypto_hmac *context, const uint8_t *message, size_t length, uint8_t *digest) {
    size_t written = 0;
    return EVP_MAC_init(context->mac, NULL, 0, NULL) == 1 && EVP_MAC_update(context->mac, message, length) == 1
        && EVP_MAC_final(context->mac, digest, &written, 32) == 1 && written == 32;
}

void ccrypto_hmac_free(ccrypto_hmac *context) {
    if (context != NULL) {
        EVP_MAC_CTX_free(context->mac);
        OPENSSL_free(context);
    }
}

int ccrypto_hmac_sha256_copy(const ccrypto_hmac *context, const uint8_t *message, size_t length, uint8_t *digest) {
    EVP_MAC_CTX *copy = EVP_MAC_CTX_dup(context->mac);
    if (copy == NULL) {
        return 0;
    }
    size_t written = 0;
    int ok = EVP_MAC_update(copy, message, length) == 1 && EVP_MAC_final(copy, digest, &written, 32) == 1
        && written == 32;
    EVP_MAC_CTX_free(copy);
    return ok;
}

// SHA-256 fetched from the provider once: EVP_sha256() is a legacy handle that OpenSSL 3 turns
// into a fetch (a locked lookup) on every digest, which cost more than hashing a token.
static EVP_MD *sha256;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void) { sha256 = EVP_MD_fetch(NULL, "SHA256", NULL); }

int ccrypto_sha256(const uint8_t *message, size_t length, uint8_t *digest) {
    if (pthread_once(&sha256_once, fetch_sha256) != 0 || sha256 == NULL) {
        return 0;
    }
    unsigned int written = 0;
    return EVP_Digest(message, length, digest, &written, sha256, NULL) == 1 && written == 32;
}

int ccrypto_hmac_sha256_once(const uint8_t *key, size_t key_length, const uint8_t *message, size_t length,
                             uint8_t *digest) {
    if (key_length > INT_MAX) return 0;
    unsigned int written = 0;
    return HMAC(EVP_sha256(), key, (int)key_length, message, length, digest, &written) != NULL && written == 32;
}
