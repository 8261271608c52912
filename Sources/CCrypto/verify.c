#include "CCrypto.h"
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <string.h>

// Public keys for signed identity tokens (RFC 7515/7518, RFC 8037). Each key is built once, at
// load, and then only read: OpenSSL 3 lets many threads verify with one EVP_PKEY, each through an
// EVP_MD_CTX of its own.

EVP_PKEY *ccrypto_pkey_ed25519(const uint8_t *x, size_t length) {
    if (length != 32) {
        return NULL;
    }
    return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, length);
}

/// Builds a key from OSSL_PARAMs and checks it: a P-256 point must lie on the curve.
static EVP_PKEY *pkey_from_params(const char *type, OSSL_PARAM *params) {
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (ctx == NULL) {
        return NULL;
    }
    if (EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        EVP_PKEY_CTX_free(ctx);
        return NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_CTX *check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (check == NULL || EVP_PKEY_public_check(check) != 1) {
        EVP_PKEY_CTX_free(check);
        EVP_PKEY_free(pkey);
        return NULL;
    }
    EVP_PKEY_CTX_free(check);
    return pkey;
}

EVP_PKEY *ccrypto_pkey_p256(const uint8_t *x, size_t x_length, const uint8_t *y, size_t y_length) {
    if (x_length != 32 || y_length != 32) {
        return NULL;
    }
    uint8_t point[65];
    point[0] = 0x04;  // uncompressed (SEC 1 §2.3.3)
    memcpy(point + 1, x, 32);
    memcpy(point + 33, y, 32);
    char group[] = "P-256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)),
        OSSL_PARAM_construct_end(),
    };
    return pkey_from_params("EC", params);
}

EVP_PKEY *ccrypto_pkey_rsa(const uint8_t *n, size_t n_length, const uint8_t *e, size_t e_length) {
    // 16,384-bit moduli and 64-bit exponents are far beyond any RSA key in use.
    if (n_length == 0 || n_length > 2048 || e_length == 0 || e_length > 8) {
        return NULL;
    }
    EVP_PKEY *pkey = NULL;
    BIGNUM *modulus = BN_bin2bn(n, (int)n_length, NULL);
    BIGNUM *exponent = BN_bin2bn(e, (int)e_length, NULL);
    OSSL_PARAM_BLD *builder = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    if (modulus != NULL && exponent != NULL && builder != NULL
        && OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_N, modulus) == 1
        && OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_E, exponent) == 1
        && (params = OSSL_PARAM_BLD_to_param(builder)) != NULL) {
        pkey = pkey_from_params("RSA", params);
    }
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(builder);
    BN_free(exponent);
    BN_free(modulus);
    return pkey;
}

EVP_PKEY *ccrypto_pkey_from_pem(const uint8_t *pem, size_t length) {
    if (length > INT32_MAX) {
        return NULL;
    }
    BIO *bio = BIO_new_mem_buf(pem, (int)length);
    if (bio == NULL) {
        return NULL;
    }
    EVP_PKEY *pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    return pkey;
}

int ccrypto_pkey_kind(const EVP_PKEY *pkey, int *bits) {
    *bits = EVP_PKEY_get_bits(pkey);
    if (EVP_PKEY_is_a(pkey, "ED25519")) {
        return CCRYPTO_ED25519;
    }
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        return CCRYPTO_RSA;
    }
    if (EVP_PKEY_is_a(pkey, "EC")) {
        char group[32] = {0};
        size_t written = 0;
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &written) == 1
            && (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)) {
            return CCRYPTO_P256;
        }
    }
    return CCRYPTO_UNSUPPORTED;
}

void ccrypto_pkey_free(EVP_PKEY *pkey) { EVP_PKEY_free(pkey); }

/// JWS ES256 signatures are R ‖ S, 32 bytes each (RFC 7518 §3.4); OpenSSL verifies DER.
static int es256_der(const uint8_t *raw, size_t length, uint8_t *der, size_t capacity, size_t *der_length) {
    if (length != 64) {
        return 0;
    }
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, 32, NULL);
    BIGNUM *s = BN_bin2bn(raw + 32, 32, NULL);
    if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(sig);
        return 0;
    }
    int needed = i2d_ECDSA_SIG(sig, NULL);
    int written = 0;
    if (needed > 0 && (size_t)needed <= capacity) {
        uint8_t *cursor = der;
        written = i2d_ECDSA_SIG(sig, &cursor);
    }
    ECDSA_SIG_free(sig);
    if (written <= 0) {
        return 0;
    }
    *der_length = (size_t)written;
    return 1;
}

int ccrypto_verify(EVP_PKEY *pkey, int kind, const uint8_t *message, size_t length, const uint8_t *signature,
                   size_t signature_length) {
    uint8_t der[80];
    if (kind == CCRYPTO_P256) {
        if (es256_der(signature, signature_length, der, sizeof(der), &signature_length) != 1) {
            return 0;
        }
        signature = der;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return -1;
    }
    // Ed25519 hashes inside the algorithm (no digest); ES256 and RS256 take SHA-256, and an RSA
    // key's default padding is PKCS #1 v1.5, which RS256 is.
    const char *digest = kind == CCRYPTO_ED25519 ? NULL : "SHA256";
    int result = -1;
    if (EVP_DigestVerifyInit_ex(ctx, NULL, digest, NULL, NULL, pkey, NULL) == 1) {
        int verified = EVP_DigestVerify(ctx, signature, signature_length, message, length);
        result = verified == 1 ? 1 : 0;
    }
    EVP_MD_CTX_free(ctx);
    return result;
}

int ccrypto_hmac_sha256_verify(ccrypto_hmac *keyed, const uint8_t *message, size_t length, const uint8_t *signature,
                               size_t signature_length) {
    if (signature_length != 32) {
        return 0;
    }
    uint8_t digest[32];
    if (ccrypto_hmac_sha256_copy(keyed, message, length, digest) != 1) {
        return -1;
    }
    // Constant time: where the first wrong byte lies must not show in the timing.
    int equal = CRYPTO_memcmp(digest, signature, 32) == 0;
    OPENSSL_cleanse(digest, sizeof(digest));
    return equal ? 1 : 0;
}
