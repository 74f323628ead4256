/* test_chunker.c - unit tests of chunker.c: invariants checked on many
 * generated files (fixed-seed PRNG: random lines, empty and whitespace-only
 * lines, CRLF, no trailing newline, multi-byte UTF-8, very long lines, random
 * options), then the choice of breaks and the edge cases one by one.
 */
#include "chunker.h"
#include "testutil.h"
#include "utf8.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CASES 500

/* A growing byte buffer. */
typedef struct buf {
    char *p;
    size_t len, cap;
} buf_t;

static void put(buf_t *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        CU_ASSERT_FATAL(b->p != NULL);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void puts_(buf_t *b, const char *s)
{
    put(b, s, strlen(s));
}

/* NUL-terminates b without counting the NUL; returns the C string. */
static const char *cstr(buf_t *b)
{
    put(b, "", 1);
    b->len--;
    return b->p;
}

/* splitmix64 with a fixed seed: every run sees the same files. */
static uint64_t rng_state;

static uint32_t below(uint32_t n)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return n != 0 ? (uint32_t)(z % n) : 0;
}

/* One random character: ASCII most of the time, else 2, 3 or 4 bytes. */
static void put_char(buf_t *b)
{
    static const char *const wide[] = {"\xc3\xa9", "\xe2\x82\xac", "\xe4\xb8\xad",
                                       "\xf0\x9f\x98\x80", "\xd0\x96"};
    static const char ascii[] = "abcdefghijklmnopqrstuvwxyz_{}();=+*/ 0123456789";
    if (below(4) == 0)
        puts_(b, wide[below(5)]);
    else
        put(b, &ascii[below(sizeof ascii - 1)], 1);
}

static void put_line(buf_t *b)
{
    static const char *const fixed[] = {"", "}", "};", "   \t", "end", "\t}", "int f(void)"};
    uint32_t kind = below(12);
    if (kind < 4)
        puts_(b, fixed[below(7)]);
    else if (kind == 4)
        for (uint32_t n = below(3000); n > 0; n--)
            put_char(b);
    else
        for (uint32_t n = below(80); n > 0; n--)
            put_char(b);
}

/* Limits as chunker.h resolves them. */
typedef struct limits {
    uint64_t max_lines;
    size_t max_bytes;
} limits_t;

/* Generates case i into b; returns the options to use (NULL or *opts). */
static const mnemo_chunker_options_t *generate(uint32_t i, buf_t *b, mnemo_chunker_options_t *opts)
{
    b->len = 0;
    memset(opts, 0, sizeof *opts);
    if (i < 2) { /* a 100 KiB single line, without or with a CRLF end */
        while (b->len < 100 * 1024)
            put_char(b);
        if (i == 1)
            puts_(b, "\r\n");
        return NULL;
    }
    bool crlf = below(4) == 0;
    for (uint32_t n = below(400); n > 0; n--) {
        put_line(b);
        if (n > 1 || below(3) != 0)
            puts_(b, crlf || below(8) == 0 ? "\r\n" : "\n");
    }
    if (below(4) == 0)
        return NULL;
    opts->target_lines = below(30);
    if (below(3) != 0)
        opts->max_lines = (opts->target_lines != 0 ? opts->target_lines : 60) + below(40);
    if (below(3) != 0)
        opts->max_bytes = 4 + below(600);
    return opts;
}

static limits_t resolve(const mnemo_chunker_options_t *opts)
{
    uint64_t target = opts != NULL && opts->target_lines != 0 ? opts->target_lines : 60;
    limits_t l = {2 * target, 16 * 1024};
    if (opts != NULL && opts->max_lines != 0)
        l.max_lines = opts->max_lines;
    if (opts != NULL && opts->max_bytes != 0)
        l.max_bytes = opts->max_bytes;
    return l;
}

/* A check returns NULL when the chunks of text are right, else what is wrong. */
typedef const char *(*check_fn)(const char *text, size_t len, const mnemo_chunk_t *c, size_t n,
                                limits_t l);

/* Runs check on the chunks of every generated case. */
static void for_each_case(check_fn check)
{
    buf_t b = {0};
    mnemo_chunker_options_t opts;
    rng_state = 20240601;
    for (uint32_t i = 0; i < CASES; i++) {
        const mnemo_chunker_options_t *o = generate(i, &b, &opts);
        mnemo_chunk_t *chunks = NULL;
        size_t n = mnemo_chunk_text(&chunks, b.p, b.len, o);
        const char *why = check(b.p, b.len, chunks, n, resolve(o));
        if (why != NULL) {
            fprintf(stderr, "\ncase %u (%zu bytes, %zu chunks): %s\n", i, b.len, n, why);
            CU_FAIL("generated case failed");
        }
        free(chunks);
    }
    free(b.p);
}

static const char *check_reassembly(const char *text, size_t len, const mnemo_chunk_t *c, size_t n,
                                    limits_t l)
{
    if ((n == 0) != (len == 0) || (n == 0 && c != NULL))
        return "chunks present iff text is not empty";
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i].len == 0)
            return "empty chunk";
        if (c[i].offset != at)
            return "gap or overlap between chunks";
        at += c[i].len;
    }
    return at == len ? NULL : "chunks do not end at the end of the text";
}

static void test_chunker__reassembles_to_the_file(void)
{
    for_each_case(check_reassembly);
}

/* Moves *at forward to byte to, counting the '\n' passed into *line. */
static void advance(const char *text, size_t *at, uint32_t *line, size_t to)
{
    for (; *at < to; (*at)++)
        *line += text[*at] == '\n';
}

static const char *check_line_numbers(const char *text, size_t len, const mnemo_chunk_t *c,
                                      size_t n, limits_t l)
{
    size_t at = 0;
    uint32_t line = 1;
    for (size_t i = 0; i < n; i++) {
        if (c[i].offset < at || c[i].len == 0)
            return "chunks out of order";
        if (c[i].start_line > c[i].end_line)
            return "start_line after end_line";
        if (i == 0 ? c[i].start_line != 1
                   : c[i].start_line != c[i - 1].end_line + 1 &&
                         !(c[i].start_line == c[i - 1].end_line && text[c[i].offset - 1] != '\n'))
            return "start_line neither previous end_line + 1 nor a cut line";
        advance(text, &at, &line, c[i].offset);
        if (c[i].start_line != line)
            return "start_line does not match the text";
        advance(text, &at, &line, c[i].offset + c[i].len - 1);
        if (c[i].end_line != line)
            return "end_line does not match the text";
    }
    return NULL;
}

static void test_chunker__line_numbers_are_consistent(void)
{
    for_each_case(check_line_numbers);
}

static const char *check_limits(const char *text, size_t len, const mnemo_chunk_t *c, size_t n,
                                limits_t l)
{
    for (size_t i = 0; i < n; i++) {
        if (c[i].len > l.max_bytes)
            return "chunk longer than max_bytes";
        if ((uint64_t)c[i].end_line - c[i].start_line + 1 > l.max_lines)
            return "chunk longer than max_lines";
    }
    return NULL;
}

static void test_chunker__respects_max_bytes_and_max_lines(void)
{
    for_each_case(check_limits);
}

static const char *check_utf8(const char *text, size_t len, const mnemo_chunk_t *c, size_t n,
                              limits_t l)
{
    for (size_t i = 0; i < n; i++) {
        if (((unsigned char)text[c[i].offset] & 0xC0) == 0x80)
            return "chunk starts inside a UTF-8 sequence";
        if (!mnemo_utf8_valid(text + c[i].offset, c[i].len))
            return "chunk is not well-formed UTF-8";
        if (c[i].len >= 2 && text[c[i].offset + c[i].len - 1] == '\r' &&
            c[i].offset + c[i].len < len && text[c[i].offset + c[i].len] == '\n')
            return "cut between '\\r' and '\\n'";
    }
    return NULL;
}

static void test_chunker__never_cuts_inside_a_utf8_sequence(void)
{
    for_each_case(check_utf8);
}

/* Chunks text (a C string) with the given limits; the caller frees *out. */
static size_t chunk(mnemo_chunk_t **out, const char *text, uint32_t target, uint32_t max_lines,
                    size_t max_bytes)
{
    mnemo_chunker_options_t o = {target, max_lines, max_bytes};
    return mnemo_chunk_text(out, text, strlen(text), &o);
}

static void expect_chunk(const mnemo_chunk_t *c, uint32_t start_line, uint32_t end_line)
{
    if (c->start_line != start_line || c->end_line != end_line)
        fprintf(stderr, "\nchunk has lines %u..%u, want %u..%u\n", (unsigned)c->start_line,
                (unsigned)c->end_line, (unsigned)start_line, (unsigned)end_line);
    CU_ASSERT_EQUAL(c->start_line, start_line);
    CU_ASSERT_EQUAL(c->end_line, end_line);
}

/* The last line of chunk c, line end excluded, as a C string in line. */
static void last_line(char *line, size_t cap, const char *text, const mnemo_chunk_t *c)
{
    size_t end = c->offset + c->len;
    if (end > c->offset && text[end - 1] == '\n')
        end--;
    if (end > c->offset && text[end - 1] == '\r')
        end--;
    size_t start = end;
    while (start > c->offset && text[start - 1] != '\n')
        start--;
    snprintf(line, cap, "%.*s", (int)(end - start), text + start);
}

static void test_chunker__ends_chunks_after_functions_or_blank_lines(void)
{
    buf_t b = {0};
    rng_state = 7;
    for (int f = 0; f < 60; f++) {
        puts_(&b, "static int f(int x)\n{\n");
        for (uint32_t n = below(28); n > 0; n--)
            puts_(&b, below(6) == 0 ? "\n" : "    x = x * 3 + 1;\n");
        puts_(&b, "    return x;\n}\n\n");
    }
    mnemo_chunk_t *c = NULL;
    size_t n = chunk(&c, cstr(&b), 20, 40, 0);
    CU_ASSERT(n > 10);
    char line[64];
    for (size_t i = 0; i + 1 < n; i++) {
        last_line(line, sizeof line, b.p, &c[i]);
        if (strcmp(line, "}") != 0 && line[0] != '\0')
            fprintf(stderr, "\nchunk %zu ends with '%s'\n", i, line);
        CU_ASSERT(strcmp(line, "}") == 0 || line[0] == '\0');
    }
    free(c);
    free(b.p);
}

static void test_chunker__ends_at_first_break_from_target_lines(void)
{
    /* target 4: line 2 is a break before the target, line 5 the first after. */
    mnemo_chunk_t *c = NULL;
    size_t n = chunk(&c, "a\n\nb\nc\n}\nd\n\ne\n", 4, 0, 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    expect_chunk(&c[0], 1, 5);
    expect_chunk(&c[1], 6, 8);
    free(c);
}

static void test_chunker__prefers_closing_brace_over_later_blank_line(void)
{
    /* target 10, max 20: no break from line 10 on, so the chunk falls back
     * to the best break from line 5 on: the '}' of line 6 outranks the
     * later blank line 8 inside the next function. */
    buf_t b = {0};
    puts_(&b, "int f(void)\n{\n  a();\n  b();\n  return 0;\n}\nint g(void)\n\n");
    for (int i = 9; i <= 25; i++)
        puts_(&b, "  c();\n");
    mnemo_chunk_t *c = NULL;
    size_t n = chunk(&c, cstr(&b), 10, 20, 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    expect_chunk(&c[0], 1, 6);
    expect_chunk(&c[1], 7, 25);
    free(c);
    free(b.p);
}

static void test_chunker__keeps_blank_lines_after_a_brace_in_the_chunk(void)
{
    mnemo_chunk_t *c = NULL;
    size_t n = chunk(&c, "a\nb\n}\n\n\nc\nd\ne\nf\n", 2, 4, 0);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    expect_chunk(&c[0], 1, 3); /* '}' at the target ends the chunk at once */
    expect_chunk(&c[1], 4, 5);
    expect_chunk(&c[2], 6, 9);
    free(c);
    n = chunk(&c, "a\nb\nc\n}\n\n\nd\ne\nf\ng\nh\n", 8, 10, 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    expect_chunk(&c[0], 1, 6); /* fall-back: the last blank after '}' */
    expect_chunk(&c[1], 7, 11);
    free(c);
}

static void test_chunker__ignores_breaks_before_half_the_target(void)
{
    /* target 10: the blank line 4 is too early to end a chunk on. */
    buf_t b = {0};
    puts_(&b, "a\nb\nc\n\n");
    for (int i = 5; i <= 25; i++)
        puts_(&b, "x = 1;\n");
    mnemo_chunk_t *c = NULL;
    size_t n = chunk(&c, cstr(&b), 10, 20, 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    expect_chunk(&c[0], 1, 20);
    expect_chunk(&c[1], 21, 25);
    free(c);
    free(b.p);
}

static void test_chunker__cuts_at_max_lines_without_breaks(void)
{
    buf_t b = {0};
    for (int i = 0; i < 50; i++)
        puts_(&b, "x = 1;\n");
    mnemo_chunk_t *c = NULL;
    size_t n = chunk(&c, cstr(&b), 10, 20, 0);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    expect_chunk(&c[0], 1, 20);
    expect_chunk(&c[1], 21, 40);
    expect_chunk(&c[2], 41, 50);
    free(c);
    free(b.p);
}

static void test_chunker__byte_cap_ends_at_best_break(void)
{
    /* 5 x 31 + 2 = 157 bytes to the '}', then 21-byte lines: line 9 would
     * pass 200 bytes, and lines 7..9 fit after the '}'. */
    buf_t b = {0};
    for (int i = 0; i < 5; i++)
        puts_(&b, "int x_________________________\n");
    puts_(&b, "}\n");
    for (int i = 0; i < 5; i++)
        puts_(&b, "y = y + 1;__________\n");
    mnemo_chunk_t *c = NULL;
    size_t n = chunk(&c, cstr(&b), 10, 0, 200);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    expect_chunk(&c[0], 1, 6);
    CU_ASSERT_EQUAL(c[0].len, 157);
    expect_chunk(&c[1], 7, 11);
    free(c);
    free(b.p);
}

static void test_chunker__cuts_a_long_line_on_its_line_number(void)
{
    /* 5 lines: short, 10 000 bytes of 3-byte characters, short. */
    buf_t b = {0};
    puts_(&b, "a\n");
    for (int i = 0; i < 3333; i++)
        puts_(&b, "\xe2\x82\xac");
    puts_(&b, "x\nb\n");
    mnemo_chunk_t *c = NULL;
    size_t n = chunk(&c, cstr(&b), 0, 0, 1000);
    CU_ASSERT_EQUAL_FATAL(n, 13); /* "a", 10 x 999 + 1 x 11 bytes, "b" */
    expect_chunk(&c[0], 1, 1);
    for (size_t i = 1; i < 12; i++) {
        expect_chunk(&c[i], 2, 2);
        CU_ASSERT(c[i].len <= 1000);
    }
    expect_chunk(&c[12], 3, 3);
    free(c);
    free(b.p);
}

static void test_chunker__never_splits_crlf(void)
{
    /* One line of exactly max_bytes + 1 bytes ending in "\r\n". */
    char text[16];
    memcpy(text, "abcdefgh\r\n", 11);
    mnemo_chunk_t *c = NULL;
    size_t n = chunk(&c, text, 0, 0, 9);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_EQUAL(c[0].len, 8);
    CU_ASSERT_EQUAL(c[1].len, 2);
    expect_chunk(&c[0], 1, 1);
    expect_chunk(&c[1], 1, 1);
    free(c);
}

static void test_chunker__empty_input_gives_no_chunks(void)
{
    mnemo_chunk_t *c = (mnemo_chunk_t *)&c; /* must be overwritten with NULL */
    CU_ASSERT_EQUAL(mnemo_chunk_text(&c, "", 0, NULL), 0);
    CU_ASSERT_PTR_NULL(c);
    c = (mnemo_chunk_t *)&c;
    CU_ASSERT_EQUAL(mnemo_chunk_text(&c, NULL, 0, NULL), 0);
    CU_ASSERT_PTR_NULL(c);
}

static void test_chunker__one_line_gives_one_chunk(void)
{
    static const char *const texts[] = {"hello", "hello\n", "hello\r\n", "\n", "}"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        mnemo_chunk_t *c = NULL;
        CU_ASSERT_EQUAL_FATAL(mnemo_chunk_text(&c, texts[i], strlen(texts[i]), NULL), 1);
        expect_chunk(&c[0], 1, 1);
        CU_ASSERT_EQUAL(c[0].offset, 0);
        CU_ASSERT_EQUAL(c[0].len, strlen(texts[i]));
        free(c);
    }
}

static void test_chunker__uses_defaults_when_opts_null(void)
{
    buf_t b = {0};
    for (int i = 0; i < 300; i++)
        puts_(&b, "x = 1;\n");
    for (int i = 0; i < 40000; i++)
        puts_(&b, "z");
    size_t len = b.len;
    mnemo_chunk_t *c = NULL;
    size_t n = mnemo_chunk_text(&c, b.p, len, NULL);
    /* max_lines 2 x 60 without breaks, then 40 000 bytes cut at 16 KiB. */
    CU_ASSERT_EQUAL_FATAL(n, 6);
    expect_chunk(&c[0], 1, 120);
    expect_chunk(&c[1], 121, 240);
    expect_chunk(&c[2], 241, 300);
    CU_ASSERT_EQUAL(c[3].len, 16384);
    CU_ASSERT_EQUAL(c[4].len, 16384);
    CU_ASSERT_EQUAL(c[5].len, 40000 - 2 * 16384);
    expect_chunk(&c[5], 301, 301);
    mnemo_chunker_options_t zero = {0}, explicit = {60, 120, 16384};
    mnemo_chunk_t *cz = NULL, *ce = NULL;
    CU_ASSERT_EQUAL_FATAL(mnemo_chunk_text(&cz, b.p, len, &zero), n);
    CU_ASSERT_EQUAL_FATAL(mnemo_chunk_text(&ce, b.p, len, &explicit), n);
    CU_ASSERT(memcmp(c, cz, n * sizeof *c) == 0);
    CU_ASSERT(memcmp(c, ce, n * sizeof *c) == 0);
    free(c);
    free(cz);
    free(ce);
    free(b.p);
}

int main(void)
{
    CU_pSuite s = mnemo_test_suite("chunker");
    MNEMO_TEST(s, test_chunker__reassembles_to_the_file);
    MNEMO_TEST(s, test_chunker__line_numbers_are_consistent);
    MNEMO_TEST(s, test_chunker__respects_max_bytes_and_max_lines);
    MNEMO_TEST(s, test_chunker__never_cuts_inside_a_utf8_sequence);
    MNEMO_TEST(s, test_chunker__ends_chunks_after_functions_or_blank_lines);
    MNEMO_TEST(s, test_chunker__ends_at_first_break_from_target_lines);
    MNEMO_TEST(s, test_chunker__prefers_closing_brace_over_later_blank_line);
    MNEMO_TEST(s, test_chunker__keeps_blank_lines_after_a_brace_in_the_chunk);
    MNEMO_TEST(s, test_chunker__ignores_breaks_before_half_the_target);
    MNEMO_TEST(s, test_chunker__cuts_at_max_lines_without_breaks);
    MNEMO_TEST(s, test_chunker__byte_cap_ends_at_best_break);
    MNEMO_TEST(s, test_chunker__cuts_a_long_line_on_its_line_number);
    MNEMO_TEST(s, test_chunker__never_splits_crlf);
    MNEMO_TEST(s, test_chunker__empty_input_gives_no_chunks);
    MNEMO_TEST(s, test_chunker__one_line_gives_one_chunk);
    MNEMO_TEST(s, test_chunker__uses_defaults_when_opts_null);
    return mnemo_test_run();
}
