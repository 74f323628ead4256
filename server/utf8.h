/* utf8.h - UTF-8 validation. Pure and thread-safe.
 */
#ifndef MNEMO_UTF8_H
#define MNEMO_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF). NUL bytes are valid UTF-8. */
bool mnemo_utf8_valid(const char *s, size_t len);

/* Length of the longest prefix of s[0..len) that does not end inside a
 * multi-byte sequence; never more than len. */
size_t mnemo_utf8_boundary(const char *s, size_t len);

#endif
