#ifndef CCONCORD_CRYPTO_H
#define CCONCORD_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/// An HMAC-SHA256 key with its inner and outer SHA-256 states already absorbed (RFC 2104),
/// so each message costs only the hashing of the message itself plus one outer block.
/// The states are opaque bytes sized for OpenSSL's SHA256_CTX; only concord_crypto.c reads them.
typedef struct concord_hmac_sha256_key {
    _Alignas(16) uint8_t inner[128];
    _Alignas(16) uint8_t outer[128];
} concord_hmac_sha256_key;

/// Prepares `key` for `concord_hmac_sha256`. Keys longer than 64 bytes are hashed first (RFC 2104).
void concord_hmac_sha256_init(concord_hmac_sha256_key *key, const uint8_t *secret, size_t secret_length);

/// Writes HMAC-SHA256(key, message) into the 32 bytes at `mac`.
void concord_hmac_sha256(const concord_hmac_sha256_key *key,
                         const uint8_t *message, size_t message_length,
                         uint8_t *mac);

/// Overwrites the key's states with zeros.
void concord_hmac_sha256_clear(concord_hmac_sha256_key *key);

#endif
