/* bytes.h - the byte-level helpers the domain modules share: allocation that
 * cannot fail, fixed-width big- and little-endian integers, LEB128 varints,
 * a growable byte buffer for encoding records and keys, and a bounds-checked
 * reader for decoding them.
 *
 * DESIGN: these are the encodings of every value memories.c, repos.c and
 * index.c persist, so they never change: a varint is unsigned LEB128 (seven
 * bits a byte, least significant group first, high bit set on every byte but
 * the last, at most MNEMO_VARINT_MAX bytes), a str is a varint length then
 * that many bytes, and be32/be64/u64le are plain fixed-width integers.
 *
 * Out of memory is not an error the domain reports: every allocation here
 * aborts the process instead of returning NULL, so callers never check.
 *
 * A mnemo_buf_t is zero-initialised ({0} is an empty buffer), owns its bytes
 * and is released with mnemo_buf_cleanup; its fields are public so that a
 * caller may reset it (len = 0) or take over p. A mnemo_reader_t borrows the
 * bytes it reads: a failed read clears ok, every later read fails too and
 * returns a neutral value (0, NULL or ""), so a decoder reads every field
 * and checks once at the end.
 *
 * Threads: every function is pure or touches only its arguments; a buffer
 * or reader belongs to one thread at a time.
 */
#ifndef MNEMO_BYTES_H
#define MNEMO_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest varint: ten groups of seven bits hold 64. */
#define MNEMO_VARINT_MAX 10

/* ---- allocation ---- */

/* malloc, calloc and realloc that abort the process when memory runs out
 * and never return NULL (a zero size allocates one byte). The result is the
 * caller's, freed with free(). */
void *mnemo_xmalloc(size_t n);
void *mnemo_xcalloc(size_t n, size_t size);
void *mnemo_xrealloc(void *p, size_t n);

/* Gives the heap's free pages back to the system (glibc's malloc_trim:
 * the whole free pages inside every arena, and the main arena's top; the
 * top of a thread's arena is out of its reach, which is why mnemod caps
 * the arenas, main.c heap_policy). The allocator keeps what
 * a burst freed otherwise, spread over the arenas of the threads that
 * freed it, so RSS would follow the largest burst ever seen instead of the
 * live data. Takes each arena's lock briefly and costs a walk of its free
 * lists: for housekeeping threads after large frees (a flush or sweep of
 * the index, the end of a sync), not for request paths. */
void mnemo_heap_give_back(void);

/* What the allocator holds (glibc's mallinfo2, every arena; zeros
 * elsewhere): in_use, bytes handed out from its arenas and not freed;
 * mapped, blocks of 128 KiB or more it mapped on their own (their whole
 * size, touched or not: the index's document-table directories are 32 MiB
 * each, mostly never touched); free, bytes it keeps free in its arenas,
 * resident or not. Takes each arena's lock briefly. */
typedef struct mnemo_heap_stats {
    size_t in_use, mapped, free;
} mnemo_heap_stats_t;
mnemo_heap_stats_t mnemo_heap_stats(void);

/* A NUL-terminated copy of the n bytes at s (which may hold NULs; s may be
 * NULL when n is 0). The caller's, free(). */
char *mnemo_xstrndup(const void *s, size_t n);

/* A copy of the string s, or NULL when s is NULL. The caller's, free(). */
char *mnemo_xstrdup(const char *s);

/* ---- fixed-width integers ---- */

/* Writes v into p[0..4) (or p[0..8)), most significant byte first: the
 * order in which keys sort as numbers. */
void mnemo_put_be32(uint8_t *p, uint32_t v);
void mnemo_put_be64(uint8_t *p, uint64_t v);

/* The big-endian integer in p[0..4) (or p[0..8)). */
uint32_t mnemo_get_be32(const uint8_t *p);
uint64_t mnemo_get_be64(const uint8_t *p);

/* Writes v as a varint into out (room for MNEMO_VARINT_MAX bytes); returns
 * the number of bytes written, 1 to MNEMO_VARINT_MAX. */
size_t mnemo_varint_put(uint8_t *out, uint64_t v);

/* ---- encoding: a growable byte buffer ---- */

typedef struct mnemo_buf {
    uint8_t *p; /* owned; NULL until the first byte is added */
    size_t len; /* bytes in use, len <= cap */
    size_t cap; /* bytes allocated at p */
} mnemo_buf_t;

/* Appends the n bytes at data (data may be NULL when n is 0), growing the
 * buffer by doubling from 64 bytes. */
void mnemo_buf_add(mnemo_buf_t *b, const void *data, size_t n);

/* Appends the byte c. */
void mnemo_buf_byte(mnemo_buf_t *b, uint8_t c);

/* Appends v as a varint (1 to MNEMO_VARINT_MAX bytes). */
void mnemo_buf_varint(mnemo_buf_t *b, uint64_t v);

/* Appends a str: the varint n, then the n bytes at s. */
void mnemo_buf_str(mnemo_buf_t *b, const char *s, size_t n);

/* Appends v as eight bytes, least significant first. */
void mnemo_buf_u64le(mnemo_buf_t *b, uint64_t v);

/* Frees the bytes and leaves b empty ({0}), ready for reuse. NULL: no-op. */
void mnemo_buf_cleanup(mnemo_buf_t *b);

/* ---- decoding: a bounds-checked reader ---- */

typedef struct mnemo_reader {
    const uint8_t *p;   /* next byte to read, p <= end */
    const uint8_t *end; /* one past the last byte */
    bool ok;            /* false once any read has failed */
} mnemo_reader_t;

/* Starts r on the len bytes at data (borrowed: they must outlive r; data
 * may be NULL when len is 0). r holds nothing to clean up. */
void mnemo_reader_init(mnemo_reader_t *r, const void *data, size_t len);

/* The next byte; 0 (and !ok) past the end. */
uint8_t mnemo_read_byte(mnemo_reader_t *r);

/* The next varint; 0 (and !ok) when it is truncated or runs past
 * MNEMO_VARINT_MAX bytes. As ever, bits past the 64th in a tenth byte are
 * ignored and non-minimal encodings are accepted. */
uint64_t mnemo_read_varint(mnemo_reader_t *r);

/* A varint counting items that take at least one byte each: 0 (and !ok)
 * when it is larger than the bytes left, so a corrupt count can never cause
 * a huge allocation. */
size_t mnemo_read_count(mnemo_reader_t *r);

/* The next n bytes, borrowed from the reader's input; NULL (and !ok) when
 * fewer are left. */
const uint8_t *mnemo_read_bytes(mnemo_reader_t *r, size_t n);

/* The bytes of the next str, borrowed and not NUL-terminated, their number
 * in *len; "" with *len 0 (and !ok) past the end. */
const char *mnemo_read_str(mnemo_reader_t *r, size_t *len);

/* A NUL-terminated copy of the next str (the caller's, free()), its length
 * in *len when len is not NULL; NULL with *len 0 (and !ok) past the end. */
char *mnemo_read_strdup(mnemo_reader_t *r, size_t *len);

/* The next eight bytes as a little-endian integer; 0 (and !ok) past the
 * end. */
uint64_t mnemo_read_u64le(mnemo_reader_t *r);

/* True when every read succeeded and the input is used up: the test that a
 * value decoded exactly. */
bool mnemo_reader_done(const mnemo_reader_t *r);

#endif
