/* chunker.c - splits a text file into line-based chunks (see chunker.h).
 *
 * DESIGN: one forward pass over the lines (memchr for '\n'; "\r\n" is one
 * line end, and a last line without '\n' is still a line). The open chunk
 * is [start, line start) plus the best break seen in it; chunks go to one
 * growing array, so no line costs an allocation. For each line:
 *   - a good break is a blank (or whitespace-only) line, rank 1, or a line
 *     that closes a top-level block, rank 2: first byte '}', ')' or ']', or
 *     the line is "end", "end;" or "end.". Blank lines right after such a
 *     closer rank 2 as well, so "}\n\n" stays at the end of a chunk;
 *   - from target_lines on, the chunk ends after the first good break;
 *   - from half = ceil(target_lines / 2) on, good breaks are remembered;
 *     the best is the highest rank, the latest among equals;
 *   - at max_lines, or when the line would push the chunk past max_bytes,
 *     the chunk ends after the best break, else before the line (bytes) or
 *     after it (lines);
 *   - a line longer than max_bytes on its own is cut at UTF-8 boundaries
 *     (mnemo_utf8_boundary, never between '\r' and '\n') into chunks that
 *     all start and end on its line number.
 * Ending a chunk at its best break b hands the lines after b to the next
 * chunk without looking at them again, which is safe: such a line x sits at
 * least half lines into the next chunk only if it sat at least
 * 2 * half >= target_lines lines into the old one, where a good break would
 * already have ended the old chunk; so none of them is a break the next
 * chunk could use. max_bytes below 4 is raised to 4 so that any UTF-8
 * sequence fits in a chunk. Line numbers are uint32_t (as in chunker.h).
 *
 * Threads: pure; callable from any thread.
 */
#include "chunker.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

#define DEFAULT_TARGET_LINES 60
#define DEFAULT_MAX_BYTES    (16 * 1024)
#define MIN_MAX_BYTES        4 /* the longest UTF-8 sequence */

enum { NO_BREAK, BLANK_BREAK, BLOCK_BREAK };

/* The resolved options and the pass in progress. */
typedef struct chunker {
    const char *text;
    uint64_t target, half, max_lines; /* half = ceil(target / 2) */
    size_t max_bytes;
    mnemo_chunk_t *chunks; /* chunks[0..n), capacity cap */
    size_t n, cap;
    size_t start;       /* first byte of the open chunk */
    uint32_t line;      /* number of the current line */
    uint32_t first;     /* first line of the open chunk */
    int prev_rank;      /* rank of the previous line */
    int best_rank;      /* NO_BREAK when no break is remembered */
    size_t best_end;    /* byte after the best break's line */
    uint32_t best_line; /* line number of the best break */
} chunker_t;

static void resolve_options(chunker_t *c, const mnemo_chunker_options_t *opts)
{
    uint64_t target =
        opts != NULL && opts->target_lines != 0 ? opts->target_lines : DEFAULT_TARGET_LINES;
    uint64_t max_lines = opts != NULL && opts->max_lines != 0 ? opts->max_lines : 2 * target;
    size_t max_bytes = opts != NULL && opts->max_bytes != 0 ? opts->max_bytes : DEFAULT_MAX_BYTES;
    c->target = target;
    c->half = (target + 1) / 2;
    c->max_lines = max_lines < target ? target : max_lines;
    c->max_bytes = max_bytes < MIN_MAX_BYTES ? MIN_MAX_BYTES : max_bytes;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* Rank of line s[0..len) (line end excluded) as a place to end a chunk. */
static int break_rank(const char *s, size_t len, int prev_rank)
{
    while (len > 0 && is_space(s[len - 1]))
        len--;
    if (len == 0)
        return prev_rank == BLOCK_BREAK ? BLOCK_BREAK : BLANK_BREAK;
    if (s[0] == '}' || s[0] == ')' || s[0] == ']')
        return BLOCK_BREAK;
    if (len >= 3 && len <= 4 && memcmp(s, "end", 3) == 0 &&
        (len == 3 || s[3] == ';' || s[3] == '.'))
        return BLOCK_BREAK;
    return NO_BREAK;
}

/* Appends the chunk [start, end) on lines first..last. */
static void emit(chunker_t *c, size_t start, size_t end, uint32_t first, uint32_t last)
{
    assert(start < end && end - start <= c->max_bytes && first <= last);
    if (c->n == c->cap) {
        c->cap = c->cap != 0 ? 2 * c->cap : 16;
        mnemo_chunk_t *grown = realloc(c->chunks, c->cap * sizeof *grown);
        if (grown == NULL)
            abort(); /* the API has no error path; like the rest of the daemon */
        c->chunks = grown;
    }
    c->chunks[c->n++] = (mnemo_chunk_t){start, end - start, first, last};
}

/* Ends the open chunk at byte end, after line last; the next one starts on
 * line last + 1 unless the cut falls inside line last. */
static void close_at(chunker_t *c, size_t end, uint32_t last, bool line_done)
{
    emit(c, c->start, end, c->first, last);
    c->start = end;
    c->first = line_done ? last + 1 : last;
    c->best_rank = NO_BREAK;
}

/* Cuts the current line [c->start, end), longer than max_bytes and alone in
 * the open chunk, into pieces of at most max_bytes that end on UTF-8
 * boundaries and never between '\r' and '\n'. */
static void cut_long_line(chunker_t *c, size_t end)
{
    while (end - c->start > c->max_bytes) {
        const char *p = c->text + c->start;
        size_t take = mnemo_utf8_boundary(p, c->max_bytes);
        if (take > 1 && p[take - 1] == '\r' && p[take] == '\n')
            take--;
        assert(take > 0); /* max_bytes >= 4 always holds a whole sequence */
        close_at(c, c->start + take, c->line, false);
    }
    close_at(c, end, c->line, true);
}

/* Makes room for line [s, e) under max_bytes: ends the open chunk after its
 * best break when the rest then fits, else before the line. Returns false
 * when the line alone is too long and has been cut into chunks. */
static bool fit_bytes(chunker_t *c, size_t s, size_t e)
{
    if (e - c->start <= c->max_bytes)
        return true;
    if (c->best_rank != NO_BREAK && e - c->best_end <= c->max_bytes)
        close_at(c, c->best_end, c->best_line, true);
    if (e - c->start > c->max_bytes && s > c->start)
        close_at(c, s, c->line - 1, true);
    if (e - s <= c->max_bytes)
        return true;
    cut_long_line(c, e);
    return false;
}

/* Adds line [s, e), whose text without the line end is [s, content_end). */
static void take_line(chunker_t *c, size_t s, size_t content_end, size_t e)
{
    int rank = break_rank(c->text + s, content_end - s, c->prev_rank);
    c->prev_rank = rank;
    if (!fit_bytes(c, s, e))
        return;
    uint64_t count = (uint64_t)c->line - c->first + 1;
    if (rank != NO_BREAK && count >= c->target) {
        close_at(c, e, c->line, true);
        return;
    }
    if (rank != NO_BREAK && count >= c->half && rank >= c->best_rank) {
        c->best_rank = rank;
        c->best_end = e;
        c->best_line = c->line;
    }
    if (count >= c->max_lines) {
        if (c->best_rank != NO_BREAK)
            close_at(c, c->best_end, c->best_line, true);
        else
            close_at(c, e, c->line, true);
    }
}

size_t mnemo_chunk_text(mnemo_chunk_t **out, const char *text, size_t len,
                        const mnemo_chunker_options_t *opts)
{
    chunker_t c = {.text = text, .first = 1, .prev_rank = NO_BREAK, .best_rank = NO_BREAK};
    resolve_options(&c, opts);
    size_t s = 0;
    while (s < len) {
        const char *nl = memchr(text + s, '\n', len - s);
        size_t e = nl != NULL ? (size_t)(nl - text) + 1 : len;
        size_t content_end = nl != NULL ? e - 1 : e; /* break_rank drops a '\r' */
        c.line++;
        take_line(&c, s, content_end, e);
        s = e;
    }
    if (c.start < len)
        close_at(&c, len, c.line, true);
    *out = c.chunks;
    return c.n;
}
