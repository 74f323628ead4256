/* chunker.h - splits a text file into line-based chunks for the code index.
 *
 * DESIGN: chunks are contiguous and cover the whole text, so the chunks of
 * a file reassemble to the file byte for byte. A chunk aims at
 * target_lines lines; between target_lines/2 and max_lines it prefers to
 * end after a blank line or after a line that closes a top-level block (a
 * line starting with '}' or ending a top-level definition), so functions
 * tend to stay whole. A chunk never exceeds max_bytes: a longer line (say,
 * minified code) is cut at a UTF-8 boundary, never inside a sequence, and
 * such a cut continues on the same line number. Lines are counted from 1;
 * end_line is the line of the chunk's last byte. Pure and thread-safe.
 */
#ifndef MNEMO_CHUNKER_H
#define MNEMO_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

typedef struct mnemo_chunk {
    size_t offset;
    size_t len;
    uint32_t start_line;
    uint32_t end_line;
} mnemo_chunk_t;

typedef struct mnemo_chunker_options {
    uint32_t target_lines; /* 0 means 60 */
    uint32_t max_lines;    /* 0 means 2 x target_lines */
    size_t max_bytes;      /* 0 means 16 KiB */
} mnemo_chunker_options_t;

/* Splits text[0..len) and returns the number of chunks; *out (the caller's,
 * free()) holds them in order. An empty text gives 0 chunks and *out NULL.
 * opts may be NULL (defaults). */
size_t mnemo_chunk_text(mnemo_chunk_t **out, const char *text, size_t len,
                        const mnemo_chunker_options_t *opts);

#endif
