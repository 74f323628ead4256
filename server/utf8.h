/* utf8.h - UTF-8 validation, and the one check of a text field that every
 * layer uses (so an in-process caller of a domain module and a gRPC client
 * get the same rule and the same message). Pure and thread-safe.
 */
#ifndef MNEMO_UTF8_H
#define MNEMO_UTF8_H

#include <stdbool.h>
#include <stddef.h>

#include "mnemo/status.h"

/* True when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF). NUL bytes are valid UTF-8. */
bool mnemo_utf8_valid(const char *s, size_t len);

/* Length of the longest prefix of s[0..len) that does not end inside a
 * multi-byte sequence; never more than len. */
size_t mnemo_utf8_boundary(const char *s, size_t len);

/* MNEMO_OK when s (NULL reads as "") is valid UTF-8 of at most max bytes
 * and, unless allow_empty, not empty; else MNEMO_EINVAL with a message
 * naming field: "<field>: must not be empty", "<field>: N bytes is over the
 * limit of MAX bytes", "<field>: not valid UTF-8". */
mnemo_status_t mnemo_utf8_check_field(const char *s, const char *field, size_t max,
                                      bool allow_empty, mnemo_err_t *err);

#endif
