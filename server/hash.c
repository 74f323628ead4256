/* hash.c - SHA-256 and HMAC-SHA256 through OpenSSL's libcrypto, a
 * constant-time compare, hex helpers and OS randomness.
 *
 * DESIGN: this is the only file that includes an OpenSSL header. SHA-256
 * uses the one-shot EVP_Digest and HMAC-SHA256 the one-shot HMAC() (no
 * deprecated low-level API); a failure there can only mean a broken
 * libcrypto, so it aborts rather than hand out a wrong id or MAC.
 * Randomness comes from getrandom(2), which blocks only until the kernel
 * pool is first initialised.
 *
 * Threads: every function is pure (or reads only the OS random source) and
 * may be called from any thread.
 */
#include "hash.h"

#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <sys/random.h>

void mnemo_sha256(const void *data, size_t len, uint8_t out[MNEMO_SHA256_LEN])
{
    unsigned int n = 0;
    static const uint8_t empty[1];
    if (EVP_Digest(len != 0 ? data : empty, len, out, &n, EVP_sha256(), NULL) != 1 ||
        n != MNEMO_SHA256_LEN)
        abort();
}

void mnemo_hmac_sha256(uint8_t out[MNEMO_SHA256_LEN], const void *key, size_t key_len,
                       const void *data, size_t len)
{
    static const uint8_t empty[1]; /* libcrypto wants non-NULL pointers */
    unsigned int n = 0;
    if (key_len > INT_MAX ||
        HMAC(EVP_sha256(), key_len != 0 ? key : empty, (int)key_len, len != 0 ? data : empty, len,
             out, &n) == NULL ||
        n != MNEMO_SHA256_LEN)
        abort();
}

bool mnemo_consttime_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

void mnemo_hex_encode(char *out, const uint8_t *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 0x0f];
    }
    out[2 * len] = '\0';
}

/* Value of one hex digit of either case, or -1. */
static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool mnemo_hex_decode(uint8_t *out, size_t len, const char *hex, size_t hex_len)
{
    if (hex_len / 2 != len || hex_len % 2 != 0)
        return false;
    for (size_t i = 0; i < hex_len; i++) /* out stays untouched on failure */
        if (hex_value(hex[i]) < 0)
            return false;
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)(hex_value(hex[2 * i]) << 4 | hex_value(hex[2 * i + 1]));
    return true;
}

void mnemo_random_bytes(uint8_t *out, size_t len)
{
    while (len > 0) {
        ssize_t n = getrandom(out, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            abort(); /* no randomness: nothing safe to fall back to */
        }
        out += n;
        len -= (size_t)n;
    }
}
