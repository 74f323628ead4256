/* utf8.c - strict UTF-8 validation and sequence boundaries.
 *
 * DESIGN: the validator follows the well-formed byte sequence table of the
 * Unicode standard (Table 3-7): the lead byte fixes the length and the
 * allowed range of the second byte, which is where overlongs (E0 80..9F,
 * F0 80..8F), surrogates (ED A0..BF) and code points above U+10FFFF
 * (F4 90..BF, F5..FF) are refused; later bytes are plain continuations.
 * Text is mostly ASCII, so the loop first skips 8 bytes at a time while no
 * byte has its high bit set.
 *
 * Threads: pure functions, callable from any thread.
 */
#include "utf8.h"

#include <stdint.h>
#include <string.h>

#define HIGH_BITS 0x8080808080808080ull

/* Length of the well-formed multi-byte sequence at p (avail bytes left,
 * p[0] >= 0x80), or 0 when it is ill-formed or truncated. */
static size_t sequence_length(const unsigned char *p, size_t avail)
{
    unsigned char lead = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (lead >= 0xC2 && lead <= 0xDF)
        n = 2;
    else if (lead >= 0xE0 && lead <= 0xEF)
        n = 3;
    else if (lead >= 0xF0 && lead <= 0xF4)
        n = 4;
    else
        return 0; /* continuation byte, overlong C0/C1, or F5..FF */
    if (lead == 0xE0)
        lo = 0xA0;
    else if (lead == 0xED)
        hi = 0x9F;
    else if (lead == 0xF0)
        lo = 0x90;
    else if (lead == 0xF4)
        hi = 0x8F;
    if (avail < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

bool mnemo_utf8_valid(const char *s, size_t len)
{
    if (len == 0)
        return true; /* s may be NULL */
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + len;
    while (p < end) {
        if (end - p >= 8) {
            uint64_t word;
            memcpy(&word, p, sizeof word);
            if ((word & HIGH_BITS) == 0) {
                p += 8;
                continue;
            }
        }
        if (*p < 0x80) {
            p++;
            continue;
        }
        size_t n = sequence_length(p, (size_t)(end - p));
        if (n == 0)
            return false;
        p += n;
    }
    return true;
}

size_t mnemo_utf8_boundary(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    /* Find the start of the last sequence: at most 3 continuation bytes back. */
    size_t i = len;
    while (i > 0 && len - i < 3 && (p[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return len;
    unsigned char lead = p[i - 1];
    size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return len - (i - 1) < want ? i - 1 : len;
}

mnemo_status_t mnemo_utf8_check_field(const char *s, const char *field, size_t max,
                                      bool allow_empty, mnemo_err_t *err)
{
    size_t len = s != NULL ? strlen(s) : 0;
    if (len == 0 && !allow_empty)
        return mnemo_err_set(err, MNEMO_EINVAL, "%s: must not be empty", field);
    if (len > max)
        return mnemo_err_set(err, MNEMO_EINVAL, "%s: %zu bytes is over the limit of %zu bytes",
                             field, len, max);
    if (!mnemo_utf8_valid(s, len))
        return mnemo_err_set(err, MNEMO_EINVAL, "%s: not valid UTF-8", field);
    return MNEMO_OK;
}
