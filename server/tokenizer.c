/* tokenizer.c - splits text into search terms (see tokenizer.h).
 *
 * DESIGN: one pass over the bytes, driven by a 256-entry class table. An
 * identifier is a maximal run of word bytes (ASCII letters, digits, '_' and
 * bytes >= 0x80). While walking it, the current part and the whole
 * identifier are lowercased into two stack buffers of MNEMO_TOKEN_MAX bytes,
 * so no term ever costs an allocation. Part boundaries:
 *   - '_' ends a part (and stays inside the whole identifier; leading and
 *     trailing underscores are trimmed from it);
 *   - an upper-case letter after a lower-case letter or a digit starts a part
 *     ("parseHTTP" -> parse|http, "base64Encode" -> base64|encode,
 *     "HTTP2Server" -> http2|server: digits stay with the letters before
 *     them, so "utf8" and "http2" are single terms);
 *   - in a run of capitals followed by a lower-case letter, the last capital
 *     starts the next part ("HTTPRequest" -> http|request).
 * Bytes >= 0x80 are word bytes without case: they never start or end a part
 * and are copied unchanged, so a boundary always falls on an ASCII byte and
 * never inside a UTF-8 sequence. An identifier without capitals or bytes
 * >= 0x80 (most of them in code) takes a fast path: its terms are fed
 * straight from the text. A part or identifier longer than
 * MNEMO_TOKEN_MAX bytes is truncated to its first MNEMO_TOKEN_MAX bytes,
 * backed off to the last complete UTF-8 sequence (mnemo_utf8_boundary).
 *
 * Threads: pure; any thread.
 */
#include "tokenizer.h"

#include <stdbool.h>
#include <stdint.h>

#include "utf8.h"

/* Byte classes. */
enum { S, L, U, D, W, H }; /* separator, lower, upper, digit, '_', >= 0x80 */

static const uint8_t byte_class[256] = {
    S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, /* 0x00 */
    S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, /* 0x10 */
    S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, /* 0x20 */
    D, D, D, D, D, D, D, D, D, D, S, S, S, S, S, S, /* 0x30 */
    S, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, /* 0x40 */
    U, U, U, U, U, U, U, U, U, U, U, S, S, S, S, W, /* 0x50 */
    S, L, L, L, L, L, L, L, L, L, L, L, L, L, L, L, /* 0x60 */
    L, L, L, L, L, L, L, L, L, L, L, S, S, S, S, S, /* 0x70 */
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, /* 0x80 */
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, /* 0x90 */
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, /* 0xA0 */
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, /* 0xB0 */
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, /* 0xC0 */
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, /* 0xD0 */
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, /* 0xE0 */
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, /* 0xF0 */
};

/* One identifier in progress. Lengths are logical (they keep counting past
 * MNEMO_TOKEN_MAX); only the first MNEMO_TOKEN_MAX bytes are stored. */
typedef struct ident {
    char part[MNEMO_TOKEN_MAX];
    char whole[MNEMO_TOKEN_MAX];
    size_t plen;   /* bytes in the current part */
    size_t wlen;   /* bytes in the whole identifier, underscores included */
    size_t wtrim;  /* wlen up to the last byte that is not '_' */
    size_t nparts; /* parts emitted so far */
    size_t nterms; /* terms fed so far (all identifiers) */
    char last;     /* the last byte added to the part, lowercased */
    mnemo_token_fn fn;
    void *ctx;
} ident_t;

/* Feeds buf holding the first bytes of a term of logical length len. */
static void emit(ident_t *id, const char *buf, size_t len)
{
    if (len > MNEMO_TOKEN_MAX)
        len = mnemo_utf8_boundary(buf, MNEMO_TOKEN_MAX);
    if (len == 0)
        return;
    id->fn(id->ctx, buf, len);
    id->nterms++;
}

static void flush_part(ident_t *id, size_t len)
{
    if (len == 0)
        return;
    emit(id, id->part, len);
    id->nparts++;
}

static void push(char *buf, size_t *len, char c)
{
    if (*len < MNEMO_TOKEN_MAX)
        buf[*len] = c;
    (*len)++;
}

/* "HTTPRequest" at 'e': the part holds "httpr"; "http" ends before the 'r'. */
static void split_before_last(ident_t *id)
{
    if (id->plen > MNEMO_TOKEN_MAX)
        flush_part(id, id->plen); /* the capital was cut off anyway */
    else
        flush_part(id, id->plen - 1);
    id->part[0] = id->last;
    id->plen = 1;
}

/* Adds byte c of class k; prev and prev2 are the classes of the two bytes
 * before it in the identifier (S when none). */
static void ident_byte(ident_t *id, char c, int k, int prev, int prev2)
{
    if (k == W) {
        flush_part(id, id->plen);
        id->plen = 0;
        if (id->wlen > 0)
            push(id->whole, &id->wlen, '_');
        return;
    }
    if (k == U) {
        if (prev == L || prev == D) {
            flush_part(id, id->plen);
            id->plen = 0;
        }
        c = (char)(c | 0x20);
    } else if (k == L && prev == U && prev2 == U) {
        split_before_last(id);
    }
    push(id->part, &id->plen, c);
    push(id->whole, &id->wlen, c);
    id->last = c;
    id->wtrim = id->wlen;
}

/* The common case, an identifier of lower-case letters, digits and '_'
 * only: every part and the whole (underscores trimmed) are already
 * lowercase substrings of the text, fed without a copy. */
static void ident_feed_lower(ident_t *id, const char *text, size_t len)
{
    size_t first = 0, last = len, nparts = 0;
    while (first < len && text[first] == '_')
        first++;
    while (last > first && text[last - 1] == '_')
        last--;
    for (size_t i = first; i < last;) {
        size_t start = i;
        while (i < last && text[i] != '_')
            i++;
        if (i > start) {
            emit(id, text + start, i - start);
            nparts++;
        }
        while (i < last && text[i] == '_')
            i++;
    }
    if (nparts > 1)
        emit(id, text + first, last - first);
}

/* Feeds the terms of the identifier text[0..len) (all word bytes). */
static void ident_feed(ident_t *id, const uint8_t *text, size_t len)
{
    id->plen = id->wlen = id->wtrim = id->nparts = 0;
    int prev = S, prev2 = S;
    for (size_t i = 0; i < len; i++) {
        int k = byte_class[text[i]];
        ident_byte(id, (char)text[i], k, prev, prev2);
        prev2 = prev;
        prev = k;
    }
    flush_part(id, id->plen);
    if (id->nparts > 1)
        emit(id, id->whole, id->wtrim);
}

size_t mnemo_tokenize(const char *text, size_t len, mnemo_token_fn fn, void *ctx)
{
    const uint8_t *p = (const uint8_t *)text;
    ident_t id;
    id.nterms = 0;
    id.fn = fn;
    id.ctx = ctx;
    size_t i = 0;
    while (i < len) {
        while (i < len && byte_class[p[i]] == S)
            i++;
        size_t start = i;
        bool lower = true; /* no capital and no byte >= 0x80 */
        for (int k; i < len && (k = byte_class[p[i]]) != S; i++)
            lower = lower && k != U && k != H;
        if (i == start)
            continue;
        if (lower)
            ident_feed_lower(&id, text + start, i - start);
        else
            ident_feed(&id, p + start, i - start);
    }
    return id.nterms;
}
