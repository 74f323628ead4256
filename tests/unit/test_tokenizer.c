/* test_tokenizer.c - unit tests of tokenizer.c: identifier splitting, case
 * folding, separators, UTF-8 and the length cut. */
#include "tokenizer.h"
#include "testutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_TERMS 32

typedef struct terms {
    char term[MAX_TERMS][MNEMO_TOKEN_MAX + 1];
    size_t len[MAX_TERMS];
    size_t n;
} terms_t;

static void collect(void *ctx, const char *term, size_t len)
{
    terms_t *t = ctx;
    CU_ASSERT_FATAL(t->n < MAX_TERMS);
    CU_ASSERT(len >= 1 && len <= MNEMO_TOKEN_MAX);
    memcpy(t->term[t->n], term, len);
    t->term[t->n][len] = '\0';
    t->len[t->n] = len;
    t->n++;
}

static size_t tokenize(terms_t *t, const char *text)
{
    memset(t, 0, sizeof *t);
    size_t n = mnemo_tokenize(text, strlen(text), collect, t);
    CU_ASSERT_EQUAL(n, t->n);
    return n;
}

/* Asserts that text gives exactly the NULL-terminated list of terms. */
static void expect(const char *text, ...)
{
    terms_t t;
    tokenize(&t, text);
    va_list ap;
    va_start(ap, text);
    size_t i = 0;
    for (const char *want = va_arg(ap, const char *); want != NULL;
         want = va_arg(ap, const char *), i++) {
        if (i >= t.n || strcmp(t.term[i], want) != 0) {
            fprintf(stderr, "\n%s: term %zu is '%s', want '%s'\n", text, i,
                    i < t.n ? t.term[i] : "(none)", want);
            CU_FAIL("unexpected term");
        }
    }
    va_end(ap);
    if (i != t.n)
        fprintf(stderr, "\n%s: %zu terms, want %zu\n", text, t.n, i);
    CU_ASSERT_EQUAL(t.n, i);
}

static void test_tokenizer__splits_camel_case_with_acronym(void)
{
    expect("parseHTTPRequest", "parse", "http", "request", "parsehttprequest", NULL);
    expect("XMLHttpRequest", "xml", "http", "request", "xmlhttprequest", NULL);
    expect("IOError getX", "io", "error", "ioerror", "get", "x", "getx", NULL);
}

static void test_tokenizer__splits_snake_case_keeping_underscores_in_whole(void)
{
    expect("snake_case_name", "snake", "case", "name", "snake_case_name", NULL);
    expect("SNAKE_Case", "snake", "case", "snake_case", NULL);
    expect("__init__ _private_var_", "init", "private", "var", "private_var", NULL);
    expect("a__b", "a", "b", "a__b", NULL);
}

static void test_tokenizer__keeps_digits_with_letters_before_them(void)
{
    expect("utf8", "utf8", NULL);
    expect("base64Encode", "base64", "encode", "base64encode", NULL);
    expect("HTTP2Server", "http2", "server", "http2server", NULL);
    expect("x86_64 v2beta", "x86", "64", "x86_64", "v2beta", NULL);
    expect("42 3.14", "42", "3", "14", NULL);
}

static void test_tokenizer__single_part_words_are_emitted_once(void)
{
    expect("Hello, WORLD! hello", "hello", "world", "hello", NULL);
    expect("A b", "a", "b", NULL);
}

static void test_tokenizer__punctuation_and_whitespace_give_no_terms(void)
{
    terms_t t;
    CU_ASSERT_EQUAL(tokenize(&t, ""), 0);
    CU_ASSERT_EQUAL(tokenize(&t, " \t\r\n.,;:!?()[]{}<>-+*/=\"'`~@#$%^&|\\"), 0);
    CU_ASSERT_EQUAL(tokenize(&t, "___ _"), 0);
    CU_ASSERT_EQUAL(mnemo_tokenize(NULL, 0, collect, &t), 0);
}

static void test_tokenizer__nul_bytes_separate_terms(void)
{
    terms_t t;
    memset(&t, 0, sizeof t);
    CU_ASSERT_EQUAL(mnemo_tokenize("ab\0cd", 5, collect, &t), 2);
    CU_ASSERT_STRING_EQUAL(t.term[0], "ab");
    CU_ASSERT_STRING_EQUAL(t.term[1], "cd");
}

static void test_tokenizer__folds_ascii_case_only(void)
{
    /* "Über" and "ÉTÉ": non-ASCII bytes are word bytes, kept as they are. */
    expect("\xC3\x9C"
           "ber \xC3\x89T\xC3\x89 na\xC3\xAFve",
           "\xC3\x9C"
           "ber",
           "\xC3\x89t\xC3\x89", "na\xC3\xAFve", NULL);
    expect("caf\xC3\xA9-MENU", "caf\xC3\xA9", "menu", NULL);
    expect("\xE6\x97\xA5\xE6\x9C\xAC", "\xE6\x97\xA5\xE6\x9C\xAC", NULL);
}

static void test_tokenizer__cuts_long_runs_at_token_max(void)
{
    char text[200];
    memset(text, 'a', 150);
    text[150] = '\0';
    terms_t t;
    CU_ASSERT_EQUAL(tokenize(&t, text), 1);
    CU_ASSERT_EQUAL(t.len[0], MNEMO_TOKEN_MAX);

    /* A long part inside an identifier, then a short one. */
    memset(text, 'B', 100);
    strcpy(text + 100, "Request");
    CU_ASSERT_EQUAL(tokenize(&t, text), 3);
    CU_ASSERT_EQUAL(t.len[0], MNEMO_TOKEN_MAX);
    CU_ASSERT_STRING_EQUAL(t.term[1], "request");
    CU_ASSERT_EQUAL(t.len[2], MNEMO_TOKEN_MAX);
    CU_ASSERT_EQUAL(t.term[2][0], 'b');
}

static void test_tokenizer__cut_never_splits_utf8(void)
{
    /* 63 ASCII bytes then a 2-byte sequence straddling the limit. */
    char text[200];
    memset(text, 'x', 63);
    strcpy(text + 63, "\xC3\xA9tail");
    terms_t t;
    CU_ASSERT_EQUAL(tokenize(&t, text), 1);
    CU_ASSERT_EQUAL(t.len[0], 63);

    /* 3-byte sequences: 21 fit in 63 bytes, the 22nd would straddle. */
    text[0] = '\0';
    for (int i = 0; i < 30; i++)
        strcat(text, "\xE6\x97\xA5");
    CU_ASSERT_EQUAL(tokenize(&t, text), 1);
    CU_ASSERT_EQUAL(t.len[0], 63);

    /* 4-byte sequences: exactly 16 fit. */
    text[0] = '\0';
    for (int i = 0; i < 20; i++)
        strcat(text, "\xF0\x9F\x98\x80");
    CU_ASSERT_EQUAL(tokenize(&t, text), 1);
    CU_ASSERT_EQUAL(t.len[0], 64);
}

static void test_tokenizer__exact_token_max_is_not_cut(void)
{
    char text[MNEMO_TOKEN_MAX + 1];
    memset(text, 'Z', MNEMO_TOKEN_MAX);
    text[MNEMO_TOKEN_MAX] = '\0';
    terms_t t;
    CU_ASSERT_EQUAL(tokenize(&t, text), 1);
    CU_ASSERT_EQUAL(t.len[0], MNEMO_TOKEN_MAX);
    CU_ASSERT_EQUAL(t.term[0][MNEMO_TOKEN_MAX - 1], 'z');
}

/* The rule for identifiers of lower-case letters, digits and '_' (which
 * take the tokenizer's fast path), written out plainly: parts between
 * underscores, then the whole without outer underscores when there are
 * several parts; every term cut at MNEMO_TOKEN_MAX. */
static void reference_lower(terms_t *t, const char *s, size_t len)
{
    memset(t, 0, sizeof *t);
    size_t first = 0, last = len, parts = 0;
    while (first < last && s[first] == '_')
        first++;
    while (last > first && s[last - 1] == '_')
        last--;
    for (size_t i = first; i < last; i++) {
        if (s[i] == '_')
            continue;
        size_t j = i;
        while (j < last && s[j] != '_')
            j++;
        collect(t, s + i, j - i < MNEMO_TOKEN_MAX ? j - i : MNEMO_TOKEN_MAX);
        parts++;
        i = j;
    }
    if (parts > 1)
        collect(t, s + first, last - first < MNEMO_TOKEN_MAX ? last - first : MNEMO_TOKEN_MAX);
}

static void test_tokenizer__lower_case_identifiers_follow_the_rule(void)
{
    static const char alphabet[] = "ab9_";
    unsigned seed = 7;
    char ident[160];
    for (int round = 0; round < 3000; round++) {
        seed = seed * 1103515245u + 12345u;
        size_t len = (seed >> 16) % (round < 2000 ? 12 : 150);
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            /* long runs of one letter make parts longer than the cut */
            ident[i] = round >= 2000 && (seed >> 16) % 8 != 0 ? 'a' : alphabet[(seed >> 16) % 4];
        }
        ident[len] = '\0';
        terms_t got, want;
        tokenize(&got, ident);
        reference_lower(&want, ident, len);
        CU_ASSERT_EQUAL_FATAL(got.n, want.n);
        for (size_t k = 0; k < got.n; k++)
            CU_ASSERT_STRING_EQUAL(got.term[k], want.term[k]);
    }
}

int main(void)
{
    CU_pSuite s = mnemo_test_suite("tokenizer");
    MNEMO_TEST(s, test_tokenizer__splits_camel_case_with_acronym);
    MNEMO_TEST(s, test_tokenizer__splits_snake_case_keeping_underscores_in_whole);
    MNEMO_TEST(s, test_tokenizer__keeps_digits_with_letters_before_them);
    MNEMO_TEST(s, test_tokenizer__single_part_words_are_emitted_once);
    MNEMO_TEST(s, test_tokenizer__punctuation_and_whitespace_give_no_terms);
    MNEMO_TEST(s, test_tokenizer__nul_bytes_separate_terms);
    MNEMO_TEST(s, test_tokenizer__folds_ascii_case_only);
    MNEMO_TEST(s, test_tokenizer__cuts_long_runs_at_token_max);
    MNEMO_TEST(s, test_tokenizer__cut_never_splits_utf8);
    MNEMO_TEST(s, test_tokenizer__exact_token_max_is_not_cut);
    MNEMO_TEST(s, test_tokenizer__lower_case_identifiers_follow_the_rule);
    return mnemo_test_run();
}
