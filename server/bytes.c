/* bytes.c - allocation that cannot fail, fixed-width integers, varints, a
 * growable byte buffer and a bounds-checked reader (contracts in bytes.h).
 *
 * DESIGN: these encodings are on disk (memories, repositories, the search
 * index), so the bytes each function writes must never change. The reader
 * compares lengths as uint64_t against the bytes left before it moves p,
 * so a corrupt length can neither wrap a pointer nor read past end; once a
 * read fails, ok stays false and the reader never moves again.
 *
 * Threads: no shared state; any thread may call any function.
 */
#include "bytes.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#define BUF_MIN_CAP 64

/* ---- allocation ---- */

void *mnemo_xmalloc(size_t n)
{
    void *p = malloc(n != 0 ? n : 1);
    if (p == NULL)
        abort();
    return p;
}

void *mnemo_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n != 0 ? n : 1, size != 0 ? size : 1);
    if (p == NULL)
        abort();
    return p;
}

void *mnemo_xrealloc(void *p, size_t n)
{
    p = realloc(p, n != 0 ? n : 1);
    if (p == NULL)
        abort();
    return p;
}

mnemo_heap_stats_t mnemo_heap_stats(void)
{
#ifdef __GLIBC__
    struct mallinfo2 mi = mallinfo2();
    return (mnemo_heap_stats_t){.in_use = mi.uordblks, .mapped = mi.hblkhd, .free = mi.fordblks};
#else
    return (mnemo_heap_stats_t){0, 0, 0};
#endif
}

void mnemo_heap_give_back(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

char *mnemo_xstrndup(const void *s, size_t n)
{
    assert(s != NULL || n == 0);
    char *d = mnemo_xmalloc(n + 1);
    if (n != 0)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *mnemo_xstrdup(const char *s)
{
    return s != NULL ? mnemo_xstrndup(s, strlen(s)) : NULL;
}

/* ---- fixed-width integers ---- */

void mnemo_put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

void mnemo_put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

uint32_t mnemo_get_be32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 8 | p[i];
    return v;
}

uint64_t mnemo_get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

size_t mnemo_varint_put(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

/* ---- the buffer ---- */

void mnemo_buf_add(mnemo_buf_t *b, const void *data, size_t n)
{
    assert(b != NULL && (data != NULL || n == 0));
    assert(n <= SIZE_MAX - b->len);
    if (b->len + n > b->cap) {
        size_t cap = b->cap != 0 ? b->cap : BUF_MIN_CAP;
        while (cap < b->len + n)
            cap *= 2;
        b->p = mnemo_xrealloc(b->p, cap);
        b->cap = cap;
    }
    if (n != 0)
        memcpy(b->p + b->len, data, n);
    b->len += n;
}

void mnemo_buf_byte(mnemo_buf_t *b, uint8_t c)
{
    mnemo_buf_add(b, &c, 1);
}

void mnemo_buf_varint(mnemo_buf_t *b, uint64_t v)
{
    uint8_t tmp[MNEMO_VARINT_MAX];
    size_t n = mnemo_varint_put(tmp, v);
    mnemo_buf_add(b, tmp, n);
}

void mnemo_buf_str(mnemo_buf_t *b, const char *s, size_t n)
{
    mnemo_buf_varint(b, n);
    mnemo_buf_add(b, s, n);
}

void mnemo_buf_u64le(mnemo_buf_t *b, uint64_t v)
{
    uint8_t tmp[8];
    for (size_t i = 0; i < sizeof tmp; i++, v >>= 8)
        tmp[i] = (uint8_t)v;
    mnemo_buf_add(b, tmp, sizeof tmp);
}

void mnemo_buf_cleanup(mnemo_buf_t *b)
{
    if (b == NULL)
        return;
    free(b->p);
    *b = (mnemo_buf_t){0};
}

/* ---- the reader ---- */

void mnemo_reader_init(mnemo_reader_t *r, const void *data, size_t len)
{
    assert(r != NULL && (data != NULL || len == 0));
    r->p = data;
    r->end = len != 0 ? r->p + len : r->p; /* no arithmetic on a NULL data */
    r->ok = true;
}

/* Takes the next n bytes (n from a varint: checked before any narrowing);
 * NULL and !ok when fewer are left. */
static const uint8_t *take(mnemo_reader_t *r, uint64_t n)
{
    if (!r->ok || n > (uint64_t)(r->end - r->p)) {
        r->ok = false;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    return p;
}

uint8_t mnemo_read_byte(mnemo_reader_t *r)
{
    const uint8_t *p = take(r, 1);
    return p != NULL ? *p : 0;
}

uint64_t mnemo_read_varint(mnemo_reader_t *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; r->ok && shift < 64 && r->p < r->end; shift += 7) {
        uint8_t c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if ((c & 0x80) == 0)
            return v;
    }
    r->ok = false;
    return 0;
}

size_t mnemo_read_count(mnemo_reader_t *r)
{
    uint64_t n = mnemo_read_varint(r);
    if (n > (uint64_t)(r->end - r->p))
        r->ok = false;
    return r->ok ? (size_t)n : 0;
}

const uint8_t *mnemo_read_bytes(mnemo_reader_t *r, size_t n)
{
    return take(r, n);
}

const char *mnemo_read_str(mnemo_reader_t *r, size_t *len)
{
    assert(len != NULL);
    uint64_t n = mnemo_read_varint(r);
    const uint8_t *p = take(r, n);
    *len = p != NULL ? (size_t)n : 0;
    return p != NULL ? (const char *)p : "";
}

char *mnemo_read_strdup(mnemo_reader_t *r, size_t *len)
{
    size_t n = 0;
    const char *s = mnemo_read_str(r, &n);
    if (len != NULL)
        *len = n;
    return r->ok ? mnemo_xstrndup(s, n) : NULL;
}

uint64_t mnemo_read_u64le(mnemo_reader_t *r)
{
    const uint8_t *p = take(r, 8);
    uint64_t v = 0;
    for (int i = 7; p != NULL && i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

bool mnemo_reader_done(const mnemo_reader_t *r)
{
    return r->ok && r->p == r->end;
}
