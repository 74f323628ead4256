/* test_log.c - the line formats: text and JSON, escaping, cut lines. */
#include <string.h>

#include "log.h"
#include "testutil.h"

/* 2024-05-01T12:00:00.123Z */
#define TS 1714564800123LL

static void test_log__json_line_has_time_level_message_and_fields(void)
{
    char line[512];
    mnemo_log_field_t f[] = {MNEMO_LOG_STR("method", "/a.B/C"), MNEMO_LOG_INT("code", 5),
                             MNEMO_LOG_NUM("ms", 1.5)};
    size_t n = mnemo_log_format_line(line, sizeof line, MNEMO_LOG_JSON, MNEMO_LOG_WARN, TS,
                                     "access", f, 3);
    CU_ASSERT_STRING_EQUAL(line, "{\"ts\":\"2024-05-01T12:00:00.123Z\",\"level\":\"warn\","
                                 "\"msg\":\"access\",\"method\":\"/a.B/C\",\"code\":5,"
                                 "\"ms\":1.500}\n");
    CU_ASSERT_EQUAL(n, strlen(line));
}

static void test_log__json_escapes_quotes_controls_and_bad_utf8(void)
{
    char line[512];
    mnemo_log_field_t f[] = {MNEMO_LOG_STR("path", "a\"b\\c\n\x01\xff\xc3\xa9")};
    mnemo_log_format_line(line, sizeof line, MNEMO_LOG_JSON, MNEMO_LOG_INFO, TS, "tab\there", f, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "\"msg\":\"tab\\there\""));
    /* U+00E9 stays as it is; 0xFF is no UTF-8: U+FFFD */
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "\"path\":\"a\\\"b\\\\c\\n\\u0001\\ufffd\xc3\xa9\"}"));
}

static void test_log__text_line_quotes_values_with_spaces(void)
{
    char line[512];
    mnemo_log_field_t f[] = {MNEMO_LOG_STR("who", "token ci"), MNEMO_LOG_STR("code", "OK"),
                             MNEMO_LOG_STR("empty", "")};
    mnemo_log_format_line(line, sizeof line, MNEMO_LOG_TEXT, MNEMO_LOG_INFO, TS, "line\nbreak", f,
                          3);
    CU_ASSERT_STRING_EQUAL(line, "mnemod: line\\nbreak who=\"token ci\" code=OK empty=\"\"\n");
}

/* A line longer than the buffer is cut, and still closed: one line, and
 * for JSON an object whose last string is terminated. */
static void test_log__cut_lines_stay_closed(void)
{
    char big[3000];
    memset(big, '"', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char line[256];
    mnemo_log_field_t f[] = {MNEMO_LOG_STR("a", big), MNEMO_LOG_INT("n", 1)};
    size_t n =
        mnemo_log_format_line(line, sizeof line, MNEMO_LOG_JSON, MNEMO_LOG_INFO, TS, "m", f, 2);
    CU_ASSERT(n < sizeof line);
    CU_ASSERT(n >= 3 && strcmp(line + n - 3, "\"}\n") == 0);
    CU_ASSERT(strchr(line, '\n') == line + n - 1); /* one line */
    /* an escape is never cut in half: an even run of backslashes before the end */
    size_t k = 0;
    while (k < n - 3 && line[n - 4 - k] == '\\')
        k++;
    CU_ASSERT_EQUAL(k % 2, 0);
    /* The cut falls in the message: the fields after it are left out. */
    n = mnemo_log_format_line(line, sizeof line, MNEMO_LOG_JSON, MNEMO_LOG_INFO, TS, big, f, 2);
    CU_ASSERT(strcmp(line + n - 3, "\"}\n") == 0);
    CU_ASSERT_PTR_NULL(strstr(line, "\"n\":"));
}

static void test_log__levels_and_formats_parse_by_name(void)
{
    mnemo_log_level_t level;
    mnemo_log_format_t format;
    CU_ASSERT(mnemo_log_parse_level(&level, "debug") && level == MNEMO_LOG_DEBUG);
    CU_ASSERT(mnemo_log_parse_level(&level, "error") && level == MNEMO_LOG_ERROR);
    CU_ASSERT(!mnemo_log_parse_level(&level, "verbose"));
    CU_ASSERT(mnemo_log_parse_format(&format, "json") && format == MNEMO_LOG_JSON);
    CU_ASSERT(!mnemo_log_parse_format(&format, "xml"));
    mnemo_log_setup(MNEMO_LOG_TEXT, MNEMO_LOG_WARN);
    CU_ASSERT(!mnemo_log_enabled(MNEMO_LOG_INFO));
    CU_ASSERT(mnemo_log_enabled(MNEMO_LOG_ERROR));
    mnemo_log_setup(MNEMO_LOG_TEXT, MNEMO_LOG_INFO);
}

int main(void)
{
    CU_pSuite s = mnemo_test_suite("log");
    MNEMO_TEST(s, test_log__json_line_has_time_level_message_and_fields);
    MNEMO_TEST(s, test_log__json_escapes_quotes_controls_and_bad_utf8);
    MNEMO_TEST(s, test_log__text_line_quotes_values_with_spaces);
    MNEMO_TEST(s, test_log__cut_lines_stay_closed);
    MNEMO_TEST(s, test_log__levels_and_formats_parse_by_name);
    return mnemo_test_run();
}
