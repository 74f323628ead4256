/* tokenizer.h - splits text into search terms, for memories and code alike.
 *
 * DESIGN: a term is a run of ASCII letters and digits (and of bytes >= 0x80,
 * so non-ASCII words stay whole), lowercased (ASCII only). Identifiers are
 * split at case changes and underscores: "parseHTTPRequest" gives "parse",
 * "http", "request", and "snake_case_name" gives "snake", "case", "name";
 * the whole lowercased identifier ("parsehttprequest", "snake_case_name")
 * is emitted too when it has more than one part, so an exact identifier
 * query ranks its definition first. Terms are cut at MNEMO_TOKEN_MAX bytes
 * (never inside a UTF-8 sequence). Pure and thread-safe.
 */
#ifndef MNEMO_TOKENIZER_H
#define MNEMO_TOKENIZER_H

#include <stddef.h>

#define MNEMO_TOKEN_MAX 64

/* Called once per term, in text order; term is borrowed for the call only
 * and is not NUL-terminated. */
typedef void (*mnemo_token_fn)(void *ctx, const char *term, size_t len);

/* Feeds every term of text[0..len) to fn; returns how many it fed. */
size_t mnemo_tokenize(const char *text, size_t len, mnemo_token_fn fn, void *ctx);

#endif
