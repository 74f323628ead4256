/* test_utf8.c - unit tests of utf8.c: tables of well-formed and ill-formed
 * sequences, the ASCII fast path at every alignment, boundaries.
 */
#include "testutil.h"
#include "utf8.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *s;
    size_t len; /* 0: strlen */
    const char *why;
} sample_t;

#define S(str, why)                                                                                \
    {                                                                                              \
        str, sizeof str - 1, why                                                                   \
    }

static const sample_t valid[] = {
    S("", "empty"),
    S("hello, world", "ascii"),
    S("a\0b", "NUL is valid"),
    S("\x7f", "DEL"),
    S("\xc2\x80", "U+0080 smallest 2-byte"),
    S("\xdf\xbf", "U+07FF largest 2-byte"),
    S("\xe0\xa0\x80", "U+0800 smallest 3-byte"),
    S("\xe2\x82\xac", "euro sign"),
    S("\xed\x9f\xbf", "U+D7FF below surrogates"),
    S("\xee\x80\x80", "U+E000 above surrogates"),
    S("\xef\xbf\xbf", "U+FFFF"),
    S("\xf0\x90\x80\x80", "U+10000 smallest 4-byte"),
    S("\xf0\x9f\x98\x80", "emoji"),
    S("\xf4\x8f\xbf\xbf", "U+10FFFF largest"),
    S("caf\xc3\xa9 na\xc3\xafve \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "mixed"),
};

static const sample_t invalid[] = {
    S("\x80", "lone continuation"),
    S("\xbf", "lone continuation"),
    S("abc\x80", "continuation after ascii"),
    S("\xc0\x80", "overlong NUL"),
    S("\xc1\xbf", "overlong 2-byte"),
    S("\xe0\x80\x80", "overlong 3-byte"),
    S("\xe0\x9f\xbf", "overlong 3-byte max"),
    S("\xf0\x80\x80\x80", "overlong 4-byte"),
    S("\xf0\x8f\xbf\xbf", "overlong 4-byte max"),
    S("\xed\xa0\x80", "surrogate D800"),
    S("\xed\xbf\xbf", "surrogate DFFF"),
    S("\xed\xa0\xbd\xed\xb8\x80", "CESU-8 pair"),
    S("\xf4\x90\x80\x80", "U+110000"),
    S("\xf5\x80\x80\x80", "lead F5"),
    S("\xf8\x88\x80\x80\x80", "5-byte form"),
    S("\xfe", "FE"),
    S("\xff", "FF"),
    S("\xc2", "truncated 2-byte"),
    S("\xe2\x82", "truncated 3-byte"),
    S("\xf0\x9f\x98", "truncated 4-byte"),
    S("\xe2\x82x", "bad continuation"),
    S("\xf0\x9f\x98\x28", "bad last continuation"),
    S("\xc2\xc2\x80", "lead where continuation expected"),
    S("abcdefgh\xe2\x82", "truncated after a fast-path word"),
};

static void test_utf8__valid_table(void)
{
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        if (!mnemo_utf8_valid(valid[i].s, valid[i].len))
            printf("\n  should be valid: %s\n", valid[i].why);
        CU_ASSERT(mnemo_utf8_valid(valid[i].s, valid[i].len));
    }
}

static void test_utf8__invalid_table(void)
{
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        if (mnemo_utf8_valid(invalid[i].s, invalid[i].len))
            printf("\n  should be invalid: %s\n", invalid[i].why);
        CU_ASSERT(!mnemo_utf8_valid(invalid[i].s, invalid[i].len));
    }
}

/* Every sample embedded at every offset in ASCII padding, so it is met both
 * by the 8-byte fast path and byte by byte. */
static void test_utf8__samples_at_every_alignment(void)
{
    char buf[64];
    for (size_t pad = 0; pad < 17; pad++) {
        memset(buf, 'x', sizeof buf);
        for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
            memcpy(buf + pad, valid[i].s, valid[i].len);
            CU_ASSERT(mnemo_utf8_valid(buf, pad + valid[i].len + 9));
        }
        for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
            memset(buf, 'x', sizeof buf);
            memcpy(buf + pad, invalid[i].s, invalid[i].len);
            CU_ASSERT(!mnemo_utf8_valid(buf, pad + invalid[i].len + 9));
        }
    }
}

static void test_utf8__length_is_respected(void)
{
    /* The bytes past len never count, whether good or bad. */
    CU_ASSERT(mnemo_utf8_valid("abc\xff", 3));
    CU_ASSERT(!mnemo_utf8_valid("\xe2\x82\xac", 2));
    CU_ASSERT(mnemo_utf8_valid("\xe2\x82\xac", 3));
    CU_ASSERT(mnemo_utf8_valid(NULL, 0));
}

static void test_utf8__boundary(void)
{
    CU_ASSERT_EQUAL(mnemo_utf8_boundary("", 0), 0);
    CU_ASSERT_EQUAL(mnemo_utf8_boundary("abc", 3), 3);
    CU_ASSERT_EQUAL(mnemo_utf8_boundary("ab\xc3\xa9", 4), 4);
    CU_ASSERT_EQUAL(mnemo_utf8_boundary("ab\xc3\xa9", 3), 2);
    CU_ASSERT_EQUAL(mnemo_utf8_boundary("a\xe2\x82\xac", 4), 4);
    CU_ASSERT_EQUAL(mnemo_utf8_boundary("a\xe2\x82\xac", 3), 1);
    CU_ASSERT_EQUAL(mnemo_utf8_boundary("a\xe2\x82\xac", 2), 1);
    CU_ASSERT_EQUAL(mnemo_utf8_boundary("\xf0\x9f\x98\x80", 4), 4);
    CU_ASSERT_EQUAL(mnemo_utf8_boundary("\xf0\x9f\x98\x80", 3), 0);
    CU_ASSERT_EQUAL(mnemo_utf8_boundary("\xf0\x9f\x98\x80", 1), 0);
    CU_ASSERT_EQUAL(mnemo_utf8_boundary("x\xf0\x9f\x98\x80y", 6), 6);
    /* Stray continuation bytes are not a sequence in progress. */
    CU_ASSERT_EQUAL(mnemo_utf8_boundary("a\x80", 2), 2);
    CU_ASSERT_EQUAL(mnemo_utf8_boundary("a\x80\x80\x80\x80", 5), 5);
    /* Every cut of a valid string at its boundary stays valid. */
    const char *text = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80!";
    for (size_t n = 0; n <= strlen(text); n++) {
        size_t b = mnemo_utf8_boundary(text, n);
        CU_ASSERT(b <= n && n - b < 4);
        CU_ASSERT(mnemo_utf8_valid(text, b));
    }
}

int main(void)
{
    CU_pSuite s = mnemo_test_suite("utf8");
    MNEMO_TEST(s, test_utf8__valid_table);
    MNEMO_TEST(s, test_utf8__invalid_table);
    MNEMO_TEST(s, test_utf8__samples_at_every_alignment);
    MNEMO_TEST(s, test_utf8__length_is_respected);
    MNEMO_TEST(s, test_utf8__boundary);
    return mnemo_test_run();
}
