// The SHA256_* functions are deprecated in OpenSSL 3 in favour of EVP, but EVP cannot copy a
// pre-keyed state without an allocation per message, which costs more than the hash itself here.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>

#include "CConcordCrypto.h"

_Static_assert(sizeof(SHA256_CTX) <= sizeof(((concord_hmac_sha256_key *)0)->inner),
               "SHA256_CTX does not fit the opaque state");

void concord_hmac_sha256_init(concord_hmac_sha256_key *key, const uint8_t *secret, size_t secret_length) {
    uint8_t block[SHA256_CBLOCK];
    uint8_t pad[SHA256_CBLOCK];
    memset(block, 0, sizeof block);
    if (secret_length > SHA256_CBLOCK) {
        SHA256(secret, secret_length, block);
    } else if (secret_length > 0) {
        memcpy(block, secret, secret_length);
    }
    memset(key, 0, sizeof *key);
    SHA256_CTX *inner = (SHA256_CTX *)key->inner;
    SHA256_CTX *outer = (SHA256_CTX *)key->outer;
    for (size_t i = 0; i < SHA256_CBLOCK; i++) pad[i] = block[i] ^ 0x36;
    SHA256_Init(inner);
    SHA256_Update(inner, pad, sizeof pad);
    for (size_t i = 0; i < SHA256_CBLOCK; i++) pad[i] = block[i] ^ 0x5c;
    SHA256_Init(outer);
    SHA256_Update(outer, pad, sizeof pad);
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pad, sizeof pad);
}

void concord_hmac_sha256(const concord_hmac_sha256_key *key,
                         const uint8_t *message, size_t message_length,
                         uint8_t *mac) {
    SHA256_CTX context;
    uint8_t inner_digest[SHA256_DIGEST_LENGTH];
    memcpy(&context, key->inner, sizeof context);
    SHA256_Update(&context, message, message_length);
    SHA256_Final(inner_digest, &context);
    memcpy(&context, key->outer, sizeof context);
    SHA256_Update(&context, inner_digest, sizeof inner_digest);
    SHA256_Final(mac, &context);
}

void concord_hmac_sha256_clear(concord_hmac_sha256_key *key) {
    OPENSSL_cleanse(key, sizeof *key);
}
