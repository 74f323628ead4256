/* hash.h - SHA-256 and HMAC-SHA256 (through OpenSSL's libcrypto, used only
 * in hash.c), a constant-time compare, hex helpers and OS randomness. Pure
 * and thread-safe.
 */
#ifndef MNEMO_HASH_H
#define MNEMO_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MNEMO_SHA256_LEN     32
#define MNEMO_SHA256_HEX_LEN 64

void mnemo_sha256(const void *data, size_t len, uint8_t out[MNEMO_SHA256_LEN]);

/* HMAC-SHA256 (RFC 2104) of data under key. */
void mnemo_hmac_sha256(uint8_t out[MNEMO_SHA256_LEN], const void *key, size_t key_len,
                       const void *data, size_t len);

/* True when the len bytes at a and b are equal, in a time that does not
 * depend on where they differ (for comparing MACs). */
bool mnemo_consttime_equal(const void *a, const void *b, size_t len);

/* Writes 2*len lowercase hex digits and a NUL into out. */
void mnemo_hex_encode(char *out, const uint8_t *data, size_t len);

/* Decodes exactly 2*len hex digits (either case) from hex; false if hex has
 * another length or a non-hex digit. */
bool mnemo_hex_decode(uint8_t *out, size_t len, const char *hex, size_t hex_len);

/* Fills out with len bytes from the OS random source (getrandom). */
void mnemo_random_bytes(uint8_t *out, size_t len);

#endif
