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

/* Every control byte as JSON wants it: \t, \n and \r short, the others
 * and DEL as \u00XX. */
static void test_log__json_escapes_every_control_byte(void)
{
    char value[40], line[512];
    for (int c = 1; c < 0x20; c++)
        value[c - 1] = (char)c;
    value[31] = 0x7F;
    value[32] = '\0';
    mnemo_log_field_t f[] = {MNEMO_LOG_STR("v", value)};
    mnemo_log_format_line(line, sizeof line, MNEMO_LOG_JSON, MNEMO_LOG_INFO, TS, "m\r\n", f, 1);
    CU_ASSERT_STRING_EQUAL(line, "{\"ts\":\"2024-05-01T12:00:00.123Z\",\"level\":\"info\","
                                 "\"msg\":\"m\\r\\n\",\"v\":\""
                                 "\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\u0008"
                                 "\\t\\n\\u000b\\u000c\\r\\u000e\\u000f\\u0010"
                                 "\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018"
                                 "\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\\u007f\"}\n");
}

/* logfmt: a value that holds a space, '=', a quote, a backslash, a control
 * byte or bytes that are not UTF-8 is quoted and escaped; one that holds
 * none is bare, UTF-8 included. */
static void test_log__text_quotes_and_escapes_values_logfmt_style(void)
{
    char line[512];
    mnemo_log_field_t f[] = {
        MNEMO_LOG_STR("path", "/srv/my repo"),
        MNEMO_LOG_STR("q", "say \"hi\""),
        MNEMO_LOG_STR("eq", "a=b"),
        MNEMO_LOG_STR("bs", "C:\\new"),
        MNEMO_LOG_STR("nl", "a\nb\rc\td"),
        MNEMO_LOG_STR("ctl", "\x01\x1f\x7f"),
        MNEMO_LOG_STR("bad", "\xff"),
        MNEMO_LOG_STR("utf8", "caf\xc3\xa9"),
        MNEMO_LOG_STR("plain", "ipv4:1.2.3.4:5"),
        MNEMO_LOG_STR("null", NULL),
    };
    mnemo_log_format_line(line, sizeof line, MNEMO_LOG_TEXT, MNEMO_LOG_INFO, TS, "m", f, 10);
    CU_ASSERT_STRING_EQUAL(line, "mnemod: m path=\"/srv/my repo\" q=\"say \\\"hi\\\"\" eq=\"a=b\" "
                                 "bs=\"C:\\\\new\" nl=\"a\\nb\\rc\\td\" "
                                 "ctl=\"\\u0001\\u001f\\u007f\" bad=\"\\ufffd\" "
                                 "utf8=caf\xc3\xa9 plain=ipv4:1.2.3.4:5 null=\"\"\n");
}

/* A value cannot forge a field or a line: what follows the quote or the
 * newline in it stays inside its quotes. */
static void test_log__text_value_cannot_forge_fields_or_lines(void)
{
    char line[512];
    mnemo_log_field_t f[] = {MNEMO_LOG_STR("peer", "x\" code=OK"),
                             MNEMO_LOG_STR("err", "oops\nmnemod: call code=OK who=admin"),
                             MNEMO_LOG_STR("code", "NOT_FOUND")};
    size_t n =
        mnemo_log_format_line(line, sizeof line, MNEMO_LOG_TEXT, MNEMO_LOG_INFO, TS, "call", f, 3);
    CU_ASSERT_STRING_EQUAL(line, "mnemod: call peer=\"x\\\" code=OK\" "
                                 "err=\"oops\\nmnemod: call code=OK who=admin\" code=NOT_FOUND\n");
    CU_ASSERT(strchr(line, '\n') == line + n - 1);
}

/* The message is never quoted, but never holds a raw control byte either,
 * and its backslashes are doubled so that every escape reads back. */
static void test_log__text_message_is_one_line(void)
{
    char line[512];
    mnemo_log_format_line(line, sizeof line, MNEMO_LOG_TEXT, MNEMO_LOG_INFO, TS,
                          "a \"b\"\r\nc\\n\x1b[31m\xfe", NULL, 0);
    CU_ASSERT_STRING_EQUAL(line, "mnemod: a \"b\"\\r\\nc\\\\n\\x1B[31m\\xFE\n");
}

#define CUT_LINE_CAP 256

/* Formats into line (CUT_LINE_CAP bytes) a line with 2,999 bytes of fill
 * in the field "a", followed by the field "n"; in_msg: in the message too. */
static size_t format_big(char *line, mnemo_log_format_t format, char fill, bool in_msg)
{
    static char big[3000];
    memset(big, fill, sizeof big - 1);
    big[sizeof big - 1] = '\0';
    mnemo_log_field_t f[] = {MNEMO_LOG_STR("a", big), MNEMO_LOG_INT("n", 1)};
    return mnemo_log_format_line(line, CUT_LINE_CAP, format, MNEMO_LOG_INFO, TS, in_msg ? big : "m",
                                 f, 2);
}

/* A line longer than the buffer is cut, and still closed: one line, and
 * for JSON an object whose last string is terminated. */
static void test_log__cut_lines_stay_closed(void)
{
    char line[CUT_LINE_CAP];
    size_t n = format_big(line, MNEMO_LOG_JSON, '"', false);
    CU_ASSERT(n < sizeof line);
    CU_ASSERT(n >= 3 && strcmp(line + n - 3, "\"}\n") == 0);
    CU_ASSERT(strchr(line, '\n') == line + n - 1); /* one line */
    /* an escape is never cut in half: an even run of backslashes before the end */
    size_t k = 0;
    while (k < n - 3 && line[n - 4 - k] == '\\')
        k++;
    CU_ASSERT_EQUAL(k % 2, 0);
    /* The cut falls in the message: the fields after it are left out. */
    n = format_big(line, MNEMO_LOG_JSON, '"', true);
    CU_ASSERT(strcmp(line + n - 3, "\"}\n") == 0);
    CU_ASSERT_PTR_NULL(strstr(line, "\"n\":"));
}

/* A text line cut inside a quoted value still closes its quotes, with no
 * escape cut in half; a field that does not fit is left out whole. */
static void test_log__cut_text_lines_close_their_quotes(void)
{
    char line[CUT_LINE_CAP];
    size_t n = format_big(line, MNEMO_LOG_TEXT, '\\', false);
    CU_ASSERT(n < sizeof line);
    CU_ASSERT(strncmp(line, "mnemod: m a=\"\\\\", 15) == 0);
    CU_ASSERT(n >= 2 && strcmp(line + n - 2, "\"\n") == 0);
    CU_ASSERT(strchr(line, '\n') == line + n - 1);
    CU_ASSERT_EQUAL((n - 2 - strlen("mnemod: m a=\"")) % 2, 0); /* whole \\ escapes */
    CU_ASSERT_PTR_NULL(strstr(line, " n="));
    /* A message that fills the line leaves no room for a field's key. */
    n = format_big(line, MNEMO_LOG_TEXT, 'x', true);
    CU_ASSERT(strchr(line, '=') == NULL && line[n - 1] == '\n');
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
    MNEMO_TEST(s, test_log__json_escapes_every_control_byte);
    MNEMO_TEST(s, test_log__text_quotes_and_escapes_values_logfmt_style);
    MNEMO_TEST(s, test_log__text_value_cannot_forge_fields_or_lines);
    MNEMO_TEST(s, test_log__text_message_is_one_line);
    MNEMO_TEST(s, test_log__cut_lines_stay_closed);
    MNEMO_TEST(s, test_log__cut_text_lines_close_their_quotes);
    MNEMO_TEST(s, test_log__levels_and_formats_parse_by_name);
    return mnemo_test_run();
}
