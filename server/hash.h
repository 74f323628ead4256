/* hash.h - SHA-256 (through OpenSSL's libcrypto, used only in hash.c) and
 * hex helpers. Pure and thread-safe.
 */
#ifndef MNEMO_HASH_H
#define MNEMO_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MNEMO_SHA256_LEN     32
#define MNEMO_SHA256_HEX_LEN 64

void mnemo_sha256(const void *data, size_t len, uint8_t out[MNEMO_SHA256_LEN]);

/* Writes 2*len lowercase hex digits and a NUL into out. */
void mnemo_hex_encode(char *out, const uint8_t *data, size_t len);

/* Decodes exactly 2*len hex digits (either case) from hex; false if hex has
 * another length or a non-hex digit. */
bool mnemo_hex_decode(uint8_t *out, size_t len, const char *hex, size_t hex_len);

/* Fills out with len bytes from the OS random source (getrandom). */
void mnemo_random_bytes(uint8_t *out, size_t len);

#endif
