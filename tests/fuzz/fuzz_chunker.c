/* fuzz_chunker.c - libFuzzer target: mnemo_chunk_text (chunker.h).
 *
 * DESIGN: input = 3 option bytes | text. The option bytes give
 * target_lines (0..15), max_lines (0..31) and max_bytes (0..255; 0 is the
 * default 16 KiB, below 4 is raised to 4), small so that every rule of the
 * chunker is reached by short texts. Checks the contract:
 *   - the chunks, in order, reassemble to the text byte for byte; an empty
 *     text gives no chunk and NULL;
 *   - no chunk is empty or longer than max_bytes, none spans more than
 *     max_lines lines;
 *   - start_line is the line of a chunk's first byte and end_line that of
 *     its last (lines counted from 1 at each '\n'), so a cut inside a long
 *     line continues on the same line number;
 *   - a cut inside a line never falls between '\r' and '\n', nor, when the
 *     text is valid UTF-8, inside a sequence.
 */
#include <stdbool.h>
#include <string.h>

#include "chunker.h"
#include "fuzz.h"
#include "utf8.h"

/* The options as the chunker resolves them (chunker.c). */
static void resolve(mnemo_chunker_options_t *r, const mnemo_chunker_options_t *o)
{
    r->target_lines = o->target_lines != 0 ? o->target_lines : 60;
    r->max_lines = o->max_lines != 0 ? o->max_lines : 2 * r->target_lines;
    if (r->max_lines < r->target_lines)
        r->max_lines = r->target_lines;
    r->max_bytes = o->max_bytes != 0 ? o->max_bytes : 16 * 1024;
    if (r->max_bytes < 4)
        r->max_bytes = 4;
}

static void check_chunk(const mnemo_chunk_t *c, const char *text, const uint32_t *line_of,
                        const mnemo_chunker_options_t *r, bool utf8)
{
    FUZZ_CHECK(c->len >= 1 && c->len <= r->max_bytes);
    FUZZ_CHECK(c->start_line == line_of[c->offset]);
    FUZZ_CHECK(c->end_line == line_of[c->offset + c->len - 1]);
    FUZZ_CHECK(c->end_line - c->start_line + 1 <= r->max_lines);
    if (c->offset == 0 || text[c->offset - 1] == '\n')
        return; /* a chunk that starts a line */
    FUZZ_CHECK(!(text[c->offset - 1] == '\r' && text[c->offset] == '\n'));
    if (utf8)
        FUZZ_CHECK(((unsigned char)text[c->offset] & 0xC0) != 0x80);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    mnemo_chunker_options_t opts = {data[0] % 16u, data[1] % 32u, data[2]}, r;
    resolve(&r, &opts);
    const char *text = (const char *)data + 3;
    size_t len = size - 3;

    uint32_t *line_of = malloc((len + 1) * sizeof *line_of);
    FUZZ_CHECK(line_of != NULL);
    uint32_t line = 1;
    for (size_t i = 0; i < len; i++) {
        line_of[i] = line;
        line += text[i] == '\n';
    }

    mnemo_chunk_t *chunks = NULL;
    size_t n = mnemo_chunk_text(&chunks, text, len, &opts);
    FUZZ_CHECK((n == 0) == (len == 0) && (n == 0) == (chunks == NULL));
    bool utf8 = mnemo_utf8_valid(text, len);
    char *joined = malloc(len + 1);
    FUZZ_CHECK(joined != NULL);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(chunks[i].offset == at && chunks[i].len <= len - at);
        check_chunk(&chunks[i], text, line_of, &r, utf8);
        memcpy(joined + at, text + chunks[i].offset, chunks[i].len);
        at += chunks[i].len;
    }
    FUZZ_CHECK(at == len && memcmp(joined, text, len) == 0);
    free(joined);
    free(chunks);
    free(line_of);
    return 0;
}
