/* test_cli.c - unit tests of the mnemo CLI's pure parts (mnemo_cli_core:
 * args.c, format.c, json.c, render.c, render_repo.c, progress.c, the
 * argument scanning of cli.c, the pager of pages.c over a fake List call,
 * the argument parsers of the commands, the security settings and
 * tokens of cli.c and token.c) and of the libmnemo lookups and option
 * checks that need no server. No sockets: nothing here opens a
 * connection (a client is opened, never used).
 */
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <grpc/status.h>

#include "testutil.h"

#include "args.h"
#include "cli.h"
#include "cmd_repo.h"
#include "crypto.h"
#include "format.h"
#include "json.h"
#include "mnemo/client.h"
#include "pages.h"
#include "progress.h"
#include "render.h"
#include "render_repo.h"
#include "token.h"

/* ---- helpers --------------------------------------------------------- */

/* An in-memory FILE whose text is read back with capture_end. */
typedef struct capture {
    FILE *f;
    char *buf;
    size_t len;
} capture_t;

static void capture_begin(capture_t *c)
{
    c->buf = NULL;
    c->len = 0;
    c->f = open_memstream(&c->buf, &c->len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c->f);
}

/* Closes the stream; the text is c->buf (free it). */
static char *capture_end(capture_t *c)
{
    fclose(c->f);
    return c->buf;
}

/* The JSON string literal cli_json_write_string makes of s[0..n). */
static char *json_literal(const char *s, size_t n)
{
    capture_t c;
    capture_begin(&c);
    cli_json_write_string(c.f, s, n);
    return capture_end(&c);
}

enum { OPT_TAG = 1, OPT_ALL, OPT_HELP };
static const cli_option_t test_options[] = {
    {"--tag", 1, OPT_TAG}, {"--all", 0, OPT_ALL}, {"-h", 0, OPT_HELP}, {NULL, 0, 0}};

/* ---- args.c ---------------------------------------------------------- */

static void test_cli__args_scans_options_and_positionals(void)
{
    char *argv[] = {"store", "text", "--tag", "a", "--tag=b=c", "-", "--all", "-h", NULL};
    cli_args_t a;
    cli_args_init(&a, 8, argv, test_options);
    CU_ASSERT_EQUAL(cli_args_next(&a), CLI_ARG_POSITIONAL);
    CU_ASSERT_STRING_EQUAL(a.value, "text");
    CU_ASSERT_EQUAL(cli_args_next(&a), OPT_TAG);
    CU_ASSERT_STRING_EQUAL(a.value, "a");
    CU_ASSERT_EQUAL(cli_args_next(&a), OPT_TAG);
    CU_ASSERT_STRING_EQUAL(a.value, "b=c");
    CU_ASSERT_EQUAL(cli_args_next(&a), CLI_ARG_POSITIONAL);
    CU_ASSERT_STRING_EQUAL(a.value, "-");
    CU_ASSERT_EQUAL(cli_args_next(&a), OPT_ALL);
    CU_ASSERT_PTR_NULL(a.value);
    CU_ASSERT_EQUAL(cli_args_next(&a), OPT_HELP);
    CU_ASSERT_EQUAL(cli_args_next(&a), CLI_ARG_END);
    CU_ASSERT_EQUAL(cli_args_next(&a), CLI_ARG_END);
}

static void test_cli__args_value_may_look_like_an_option(void)
{
    char *argv[] = {"x", "--tag", "--all", NULL};
    cli_args_t a;
    cli_args_init(&a, 3, argv, test_options);
    CU_ASSERT_EQUAL(cli_args_next(&a), OPT_TAG);
    CU_ASSERT_STRING_EQUAL(a.value, "--all");
    CU_ASSERT_EQUAL(cli_args_next(&a), CLI_ARG_END);
}

static void test_cli__args_double_dash_ends_options(void)
{
    char *argv[] = {"x", "--", "--tag", "-h", NULL};
    cli_args_t a;
    cli_args_init(&a, 4, argv, test_options);
    CU_ASSERT_EQUAL(cli_args_next(&a), CLI_ARG_POSITIONAL);
    CU_ASSERT_STRING_EQUAL(a.value, "--tag");
    CU_ASSERT_EQUAL(cli_args_next(&a), CLI_ARG_POSITIONAL);
    CU_ASSERT_STRING_EQUAL(a.value, "-h");
    CU_ASSERT_EQUAL(cli_args_next(&a), CLI_ARG_END);
}

static void test_cli__args_reports_errors(void)
{
    char *unknown[] = {"x", "--nope=1", NULL};
    char *missing[] = {"x", "--tag", NULL};
    char *flag_value[] = {"x", "--all=yes", NULL};
    char *prefix[] = {"x", "--ta", "v", NULL};
    cli_args_t a;
    cli_args_init(&a, 2, unknown, test_options);
    CU_ASSERT_EQUAL(cli_args_next(&a), CLI_ARG_ERROR);
    CU_ASSERT_STRING_EQUAL(a.error, "unknown option '--nope'");
    cli_args_init(&a, 2, missing, test_options);
    CU_ASSERT_EQUAL(cli_args_next(&a), CLI_ARG_ERROR);
    CU_ASSERT_STRING_EQUAL(a.error, "option '--tag' needs a value");
    cli_args_init(&a, 2, flag_value, test_options);
    CU_ASSERT_EQUAL(cli_args_next(&a), CLI_ARG_ERROR);
    CU_ASSERT_STRING_EQUAL(a.error, "option '--all' takes no value");
    cli_args_init(&a, 3, prefix, test_options);
    CU_ASSERT_EQUAL(cli_args_next(&a), CLI_ARG_ERROR);
}

static void test_cli__parse_int_accepts_whole_numbers_in_range(void)
{
    int64_t v = 7;
    CU_ASSERT_EQUAL(cli_parse_int(&v, "42", 0, 100), 0);
    CU_ASSERT_EQUAL(v, 42);
    CU_ASSERT_EQUAL(cli_parse_int(&v, "0", 0, 100), 0);
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_EQUAL(cli_parse_int(&v, "-5", -10, 10), 0);
    CU_ASSERT_EQUAL(v, -5);
    v = 7;
    CU_ASSERT_EQUAL(cli_parse_int(&v, "-1", 0, 100), -1);
    CU_ASSERT_EQUAL(cli_parse_int(&v, "101", 0, 100), -1);
    CU_ASSERT_EQUAL(cli_parse_int(&v, "", 0, 100), -1);
    CU_ASSERT_EQUAL(cli_parse_int(&v, "12abc", 0, 100), -1);
    CU_ASSERT_EQUAL(cli_parse_int(&v, " 12", 0, 100), -1);
    CU_ASSERT_EQUAL(cli_parse_int(&v, "+12", 0, 100), -1);
    CU_ASSERT_EQUAL(cli_parse_int(&v, "99999999999999999999999", 0, INT64_MAX), -1);
    CU_ASSERT_EQUAL(v, 7);
}

static void test_cli__parse_double_rejects_non_finite(void)
{
    double d = 0;
    CU_ASSERT_EQUAL(cli_parse_double(&d, "0.25"), 0);
    CU_ASSERT_DOUBLE_EQUAL(d, 0.25, 1e-12);
    CU_ASSERT_EQUAL(cli_parse_double(&d, "-1e3"), 0);
    CU_ASSERT_DOUBLE_EQUAL(d, -1000.0, 1e-12);
    CU_ASSERT_EQUAL(cli_parse_double(&d, "nan"), -1);
    CU_ASSERT_EQUAL(cli_parse_double(&d, "inf"), -1);
    CU_ASSERT_EQUAL(cli_parse_double(&d, "1e999"), -1);
    CU_ASSERT_EQUAL(cli_parse_double(&d, "1.5x"), -1);
    CU_ASSERT_EQUAL(cli_parse_double(&d, ""), -1);
}

static void test_cli__parse_meta_splits_at_first_equals(void)
{
    char *k = NULL, *v = NULL;
    CU_ASSERT_EQUAL_FATAL(cli_parse_meta(&k, &v, "lang=c=11"), 0);
    CU_ASSERT_STRING_EQUAL(k, "lang");
    CU_ASSERT_STRING_EQUAL(v, "c=11");
    free(k);
    free(v);
    CU_ASSERT_EQUAL_FATAL(cli_parse_meta(&k, &v, "empty="), 0);
    CU_ASSERT_STRING_EQUAL(k, "empty");
    CU_ASSERT_STRING_EQUAL(v, "");
    free(k);
    free(v);
    k = v = NULL;
    CU_ASSERT_EQUAL(cli_parse_meta(&k, &v, "=value"), -1);
    CU_ASSERT_EQUAL(cli_parse_meta(&k, &v, "novalue"), -1);
    CU_ASSERT_PTR_NULL(k);
    CU_ASSERT_PTR_NULL(v);
}

static void test_cli__meta_set_last_value_wins(void)
{
    cli_meta_t m;
    memset(&m, 0, sizeof(m));
    for (int i = 0; i < 20; i++) {
        char key[16], value[16];
        snprintf(key, sizeof(key), "k%d", i % 10);
        snprintf(value, sizeof(value), "v%d", i);
        CU_ASSERT_EQUAL(cli_meta_set(&m, strdup(key), strdup(value)), 0);
    }
    CU_ASSERT_EQUAL(m.n, 10);
    CU_ASSERT_STRING_EQUAL(m.keys[3], "k3");
    CU_ASSERT_STRING_EQUAL(m.values[3], "v13");
    cli_meta_cleanup(&m);
    CU_ASSERT_EQUAL(m.n, 0);
}

static void test_cli__strv_grows(void)
{
    cli_strv_t l;
    memset(&l, 0, sizeof(l));
    for (int i = 0; i < 100; i++)
        CU_ASSERT_EQUAL(cli_strv_push(&l, i % 2 ? "odd" : "even"), 0);
    CU_ASSERT_EQUAL(l.n, 100);
    CU_ASSERT_STRING_EQUAL(l.v[99], "odd");
    cli_strv_cleanup(&l);
    CU_ASSERT_PTR_NULL(l.v);
}

static void test_cli__read_all_reads_past_the_first_buffer(void)
{
    size_t big = 10000;
    char *text = malloc(big + 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    memset(text, 'x', big);
    memcpy(text + big, "\n", 2);
    FILE *f = fmemopen(text, big + 1, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char *out = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL_FATAL(cli_read_all(&out, &len, f), 0);
    CU_ASSERT_EQUAL(len, big + 1);
    CU_ASSERT_EQUAL(out[len], '\0');
    CU_ASSERT_EQUAL(cli_trim_newlines(out, len), big);
    CU_ASSERT_EQUAL(strlen(out), big);
    fclose(f);
    free(out);
    free(text);
}

static void test_cli__trim_newlines_strips_only_line_ends(void)
{
    char a[] = "text\r\n\n";
    CU_ASSERT_EQUAL(cli_trim_newlines(a, strlen(a)), 4);
    CU_ASSERT_STRING_EQUAL(a, "text");
    char b[] = "a\nb  ";
    CU_ASSERT_EQUAL(cli_trim_newlines(b, strlen(b)), 5);
    char c[] = "\n\n";
    CU_ASSERT_EQUAL(cli_trim_newlines(c, strlen(c)), 0);
}

/* ---- format.c -------------------------------------------------------- */

static void test_cli__format_time_is_iso8601_utc_with_millis(void)
{
    char buf[CLI_TIME_MAX];
    CU_ASSERT_STRING_EQUAL(cli_format_time(buf, 0), "1970-01-01T00:00:00.000Z");
    CU_ASSERT_STRING_EQUAL(cli_format_time(buf, 1700000000123LL), "2023-11-14T22:13:20.123Z");
    CU_ASSERT_STRING_EQUAL(cli_format_time(buf, -1), "1969-12-31T23:59:59.999Z");
    CU_ASSERT_STRING_EQUAL(cli_format_time(buf, 253402300799999LL), "9999-12-31T23:59:59.999Z");
    CU_ASSERT_STRING_EQUAL(cli_format_time(buf, 253402300800000LL), "-");
    CU_ASSERT_STRING_EQUAL(cli_format_time(buf, INT64_MAX), "-");
}

static void test_cli__utf8_seq_accepts_only_valid_sequences(void)
{
    CU_ASSERT_EQUAL(cli_utf8_seq("a", 1), 1);
    CU_ASSERT_EQUAL(cli_utf8_seq("\xC3\xA9", 2), 2);         /* é */
    CU_ASSERT_EQUAL(cli_utf8_seq("\xE2\x82\xAC", 3), 3);     /* € */
    CU_ASSERT_EQUAL(cli_utf8_seq("\xF0\x9F\x98\x80", 4), 4); /* emoji */
    CU_ASSERT_EQUAL(cli_utf8_seq("\xC0\x80", 2), 0);         /* overlong NUL */
    CU_ASSERT_EQUAL(cli_utf8_seq("\xE0\x80\x80", 3), 0);     /* overlong */
    CU_ASSERT_EQUAL(cli_utf8_seq("\xED\xA0\x80", 3), 0);     /* surrogate */
    CU_ASSERT_EQUAL(cli_utf8_seq("\xF4\x90\x80\x80", 4), 0); /* > U+10FFFF */
    CU_ASSERT_EQUAL(cli_utf8_seq("\xE2\x82", 2), 0);         /* truncated */
    CU_ASSERT_EQUAL(cli_utf8_seq("\x80", 1), 0);             /* stray continuation */
    CU_ASSERT_EQUAL(cli_utf8_seq("\xFF", 1), 0);
    CU_ASSERT_EQUAL(cli_utf8_seq("", 0), 0);
}

static void test_cli__display_width_counts_characters(void)
{
    CU_ASSERT_EQUAL(cli_display_width(""), 0);
    CU_ASSERT_EQUAL(cli_display_width("abc"), 3);
    CU_ASSERT_EQUAL(cli_display_width("caf\xC3\xA9"), 4);
    CU_ASSERT_EQUAL(cli_display_width("\xFF\xFE"), 2);
}

static void test_cli__preview_is_one_line_and_cut_at_characters(void)
{
    char buf[64];
    cli_preview(buf, sizeof(buf), "  first line\n\tsecond   line\n", 40);
    CU_ASSERT_STRING_EQUAL(buf, "first line second line");
    cli_preview(buf, sizeof(buf), "abcdefghijklmnop", 10);
    CU_ASSERT_STRING_EQUAL(buf, "abcdefg...");
    cli_preview(buf, sizeof(buf), "abcdefghij", 10);
    CU_ASSERT_STRING_EQUAL(buf, "abcdefghij");
    /* Ten two-byte characters cut to 7 + "...": no character is split. */
    cli_preview(buf, sizeof(buf),
                "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
                "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9",
                10);
    CU_ASSERT_STRING_EQUAL(buf, "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9...");
    cli_preview(buf, sizeof(buf), "bad\xFFutf8\x1b[31m", 40);
    CU_ASSERT_STRING_EQUAL(buf, "bad?utf8 [31m");
    cli_preview(buf, sizeof(buf), "word word", 6);
    CU_ASSERT_STRING_EQUAL(buf, "wor...");
}

static void test_cli__preview_respects_a_small_buffer(void)
{
    char buf[8];
    cli_preview(buf, sizeof(buf), "abcdefghijklmnopqrstuvwxyz", 100);
    CU_ASSERT(strlen(buf) < sizeof(buf));
    CU_ASSERT_NSTRING_EQUAL(buf, "abcd", 4);
}

static void test_cli__exit_codes_follow_the_contract(void)
{
    CU_ASSERT_EQUAL(cli_exit_code(GRPC_STATUS_OK, 0), 0);
    CU_ASSERT_EQUAL(cli_exit_code(GRPC_STATUS_NOT_FOUND, 0), 1);
    CU_ASSERT_EQUAL(cli_exit_code(GRPC_STATUS_INVALID_ARGUMENT, 0), 1);
    CU_ASSERT_EQUAL(cli_exit_code(GRPC_STATUS_UNAVAILABLE, 1), 3);
    CU_ASSERT_EQUAL(cli_exit_code(GRPC_STATUS_DEADLINE_EXCEEDED, 1), 3);
    /* The server itself may answer UNAVAILABLE (storage failure): exit 1. */
    CU_ASSERT_EQUAL(cli_exit_code(GRPC_STATUS_UNAVAILABLE, 0), 1);
    CU_ASSERT_EQUAL(cli_exit_code(GRPC_STATUS_DEADLINE_EXCEEDED, 0), 1);
}

/* ---- json.c ---------------------------------------------------------- */

static void test_cli__json_escapes_strings(void)
{
    static const char raw[] = "a\"b\\c\n\t\r\b\f\x01\x1f/";
    char *s = json_literal(raw, sizeof(raw) - 1);
    CU_ASSERT_STRING_EQUAL(s, "\"a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001f/\"");
    free(s);
    s = json_literal("caf\xC3\xA9 \xF0\x9F\x98\x80", 10);
    CU_ASSERT_STRING_EQUAL(s, "\"caf\xC3\xA9 \xF0\x9F\x98\x80\"");
    free(s);
    s = json_literal("x\xFFy\xC3", 4);
    CU_ASSERT_STRING_EQUAL(s, "\"x\\ufffdy\\ufffd\"");
    free(s);
    s = json_literal("nul\0byte", 8);
    CU_ASSERT_STRING_EQUAL(s, "\"nul\\u0000byte\"");
    free(s);
}

static void test_cli__json_places_separators(void)
{
    capture_t c;
    capture_begin(&c);
    cli_json_t j;
    cli_json_init(&j, c.f);
    cli_json_begin_object(&j);
    cli_json_field_string(&j, "s", "v");
    cli_json_field_int(&j, "i", INT64_MIN);
    cli_json_field_bool(&j, "b", 1);
    cli_json_field_string(&j, "n", NULL);
    cli_json_key(&j, "a");
    cli_json_begin_array(&j);
    cli_json_int(&j, 1);
    cli_json_begin_object(&j);
    cli_json_end_object(&j);
    cli_json_begin_array(&j);
    cli_json_end_array(&j);
    cli_json_bool(&j, 0);
    cli_json_end_array(&j);
    cli_json_end_object(&j);
    cli_json_finish(&j);
    char *out = capture_end(&c);
    CU_ASSERT_STRING_EQUAL(out, "{\"s\":\"v\",\"i\":-9223372036854775808,\"b\":true,\"n\":null,"
                                "\"a\":[1,{},[],false]}\n");
    free(out);
}

static void test_cli__json_doubles_round_trip_and_non_finite_is_null(void)
{
    capture_t c;
    capture_begin(&c);
    cli_json_t j;
    cli_json_init(&j, c.f);
    cli_json_begin_array(&j);
    cli_json_double(&j, 0.1);
    cli_json_double(&j, 2.0);
    cli_json_double(&j, 1.0 / 3.0);
    cli_json_double(&j, -1e300);
    cli_json_double(&j, NAN);
    cli_json_double(&j, INFINITY);
    cli_json_end_array(&j);
    cli_json_finish(&j);
    char *out = capture_end(&c);
    CU_ASSERT_STRING_EQUAL(out, "[0.1,2,0.3333333333333333,-1e+300,null,null]\n");
    free(out);
}

static void test_cli__json_many_members_keep_their_commas(void)
{
    capture_t c;
    capture_begin(&c);
    cli_json_t j;
    cli_json_init(&j, c.f);
    cli_json_begin_array(&j);
    for (int i = 0; i < 300; i++)
        cli_json_int(&j, 0);
    cli_json_end_array(&j);
    cli_json_finish(&j);
    char *out = capture_end(&c);
    size_t commas = 0;
    for (char *p = out; *p != '\0'; p++)
        commas += *p == ',';
    CU_ASSERT_EQUAL(commas, 299);
    free(out);
}

/* ---- render.c -------------------------------------------------------- */

/* A memory with two tags and one metadata entry, on the stack. */
typedef struct sample {
    Mnemo__V1__Memory m;
    Mnemo__V1__Memory__MetadataEntry e;
    Mnemo__V1__Memory__MetadataEntry *ep[1];
    char *tags[2];
} sample_t;

static void sample_init(sample_t *s)
{
    mnemo__v1__memory__init(&s->m);
    mnemo__v1__memory__metadata_entry__init(&s->e);
    s->e.key = "lang";
    s->e.value = "C \"11\"";
    s->ep[0] = &s->e;
    s->tags[0] = "a";
    s->tags[1] = "b";
    s->m.id = "abc123";
    s->m.content = "line one\nline two";
    s->m.n_tags = 2;
    s->m.tags = s->tags;
    s->m.n_metadata = 1;
    s->m.metadata = s->ep;
    s->m.memory_type = "note";
    s->m.created_at_ms = 1700000000123LL;
}

static void test_cli__json_memory_uses_proto_names_and_iso_times(void)
{
    sample_t s;
    sample_init(&s);
    capture_t c;
    capture_begin(&c);
    cli_json_t j;
    cli_json_init(&j, c.f);
    cli_json_memory(&j, &s.m);
    cli_json_finish(&j);
    char *out = capture_end(&c);
    CU_ASSERT_STRING_EQUAL(out, "{\"id\":\"abc123\",\"content\":\"line one\\nline two\","
                                "\"tags\":[\"a\",\"b\"],\"metadata\":{\"lang\":\"C \\\"11\\\"\"},"
                                "\"memory_type\":\"note\",\"created_at_ms\":1700000000123,"
                                "\"updated_at_ms\":0,\"created_at\":\"2023-11-14T22:13:20.123Z\","
                                "\"updated_at\":null}\n");
    free(out);
}

static void test_cli__json_field_time_is_iso8601_or_null(void)
{
    capture_t c;
    capture_begin(&c);
    cli_json_t j;
    cli_json_init(&j, c.f);
    cli_json_begin_object(&j);
    cli_json_field_time(&j, "set", 1700000000123LL);
    cli_json_field_time(&j, "zero", 0);
    cli_json_field_time(&j, "negative", -5);
    cli_json_end_object(&j);
    cli_json_finish(&j);
    char *out = capture_end(&c);
    CU_ASSERT_STRING_EQUAL(out, "{\"set\":\"2023-11-14T22:13:20.123Z\",\"zero\":null,"
                                "\"negative\":null}\n");
    free(out);
}

static void test_cli__memory_table_aligns_columns(void)
{
    sample_t a, b;
    sample_init(&a);
    sample_init(&b);
    b.m.id = "abcdef";
    b.m.n_tags = 0;
    b.m.created_at_ms = 0;
    b.m.content = "\x1b]0;pwned\x07 text";
    cli_memory_row_t rows[2] = {{&a.m, 1.5}, {&b.m, 0.25}};
    capture_t c;
    capture_begin(&c);
    cli_print_memory_table(c.f, rows, 2, 1);
    char *out = capture_end(&c);
    CU_ASSERT_STRING_EQUAL(out,
                           "SCORE     ID      CREATED                   TAGS  CONTENT\n"
                           "1.5000    abc123  2023-11-14T22:13:20.123Z  a,b   line one line two\n"
                           "0.2500    abcdef  -                         -     ]0;pwned text\n");
    free(out);
}

static void test_cli__memory_block_shows_every_field(void)
{
    sample_t s;
    sample_init(&s);
    capture_t c;
    capture_begin(&c);
    cli_print_memory(c.f, &s.m);
    char *out = capture_end(&c);
    CU_ASSERT_STRING_EQUAL(out, "id:       abc123\n"
                                "type:     note\n"
                                "tags:     a, b\n"
                                "metadata: lang=C \"11\"\n"
                                "created:  2023-11-14T22:13:20.123Z\n"
                                "updated:  -\n"
                                "\n"
                                "line one\nline two\n");
    free(out);
}

static void test_cli__print_text_masks_terminal_controls(void)
{
    capture_t c;
    capture_begin(&c);
    cli_print_text(c.f, "ok\n\t\x1b[2J\x7f!");
    char *out = capture_end(&c);
    CU_ASSERT_STRING_EQUAL(out, "ok\n\t?[2J?!");
    free(out);
}

/* ---- args.c: joining and paths --------------------------------------- */

static void test_cli__strv_join_uses_the_separator(void)
{
    cli_strv_t l;
    memset(&l, 0, sizeof(l));
    char *s = cli_strv_join(&l, " ");
    CU_ASSERT_STRING_EQUAL(s, "");
    free(s);
    cli_strv_push(&l, "helper_3_7");
    cli_strv_push(&l, "x");
    cli_strv_push(&l, "");
    s = cli_strv_join(&l, ", ");
    CU_ASSERT_STRING_EQUAL(s, "helper_3_7, x, ");
    free(s);
    cli_strv_cleanup(&l);
}

static void test_cli__absolute_path_resolves_against_the_cwd(void)
{
    char *dir = mnemo_test_tmpdir();
    char *old = getcwd(NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(chdir(dir), 0);
    char *real = realpath(dir, NULL);
    char want[PATH_MAX + 32];
    char *p = cli_absolute_path(".");
    CU_ASSERT_STRING_EQUAL(p, real); /* exists: its realpath */
    free(p);
    p = cli_absolute_path("missing/sub");
    snprintf(want, sizeof(want), "%s/missing/sub", real);
    CU_ASSERT_STRING_EQUAL(p, want); /* missing: joined, left to the server */
    free(p);
    p = cli_absolute_path("/no/such/dir/..");
    CU_ASSERT_STRING_EQUAL(p, "/no/such/dir/.."); /* absolute: as given */
    free(p);
    CU_ASSERT_EQUAL(chdir(old), 0);
    mnemo_test_rmtree(dir);
    free(real);
    free(old);
    free(dir);
}

/* ---- progress.c ------------------------------------------------------ */

static void test_cli__progress_formats_durations(void)
{
    char b[32];
    CU_ASSERT_STRING_EQUAL(cli_format_duration(b, sizeof(b), 0), "0:00");
    CU_ASSERT_STRING_EQUAL(cli_format_duration(b, sizeof(b), 33.4), "0:33");
    CU_ASSERT_STRING_EQUAL(cli_format_duration(b, sizeof(b), 59.5), "1:00");
    CU_ASSERT_STRING_EQUAL(cli_format_duration(b, sizeof(b), 725), "12:05");
    CU_ASSERT_STRING_EQUAL(cli_format_duration(b, sizeof(b), 3599.4), "59:59");
    CU_ASSERT_STRING_EQUAL(cli_format_duration(b, sizeof(b), 3723), "1:02:03");
    CU_ASSERT_STRING_EQUAL(cli_format_duration(b, sizeof(b), -1), "--:--");
    CU_ASSERT_STRING_EQUAL(cli_format_duration(b, sizeof(b), NAN), "--:--");
    CU_ASSERT_STRING_EQUAL(cli_format_duration(b, sizeof(b), INFINITY), "--:--");
    CU_ASSERT_STRING_EQUAL(cli_format_duration(b, sizeof(b), 360000), "--:--");
}

static void test_cli__progress_formats_rates_and_bytes(void)
{
    char b[32];
    CU_ASSERT_STRING_EQUAL(cli_format_rate(b, sizeof(b), -1), "--.- files/s");
    CU_ASSERT_STRING_EQUAL(cli_format_rate(b, sizeof(b), 0), "0.0 files/s");
    CU_ASSERT_STRING_EQUAL(cli_format_rate(b, sizeof(b), 35.14), "35.1 files/s");
    CU_ASSERT_STRING_EQUAL(cli_format_rate(b, sizeof(b), 99.96), "100 files/s");
    CU_ASSERT_STRING_EQUAL(cli_format_rate(b, sizeof(b), 1234.4), "1234 files/s");
    CU_ASSERT_STRING_EQUAL(cli_format_bytes(b, sizeof(b), 0), "0 B");
    CU_ASSERT_STRING_EQUAL(cli_format_bytes(b, sizeof(b), 1023), "1023 B");
    CU_ASSERT_STRING_EQUAL(cli_format_bytes(b, sizeof(b), 1536), "1.5 KiB");
    CU_ASSERT_STRING_EQUAL(cli_format_bytes(b, sizeof(b), 1048575), "1.0 MiB");
    CU_ASSERT_STRING_EQUAL(cli_format_bytes(b, sizeof(b), 3460300), "3.3 MiB");
    CU_ASSERT_STRING_EQUAL(cli_format_bytes(b, sizeof(b), 1073741824), "1.0 GiB");
    CU_ASSERT_STRING_EQUAL(cli_format_bytes(b, sizeof(b), INT64_MAX), "8388608.0 TiB");
}

static void test_cli__progress_eta_needs_a_rate(void)
{
    CU_ASSERT_DOUBLE_EQUAL(cli_eta_seconds(840, 2000, 35.1), 1160 / 35.1, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(cli_eta_seconds(840, 2000, -1), -1, 0);
    CU_ASSERT_DOUBLE_EQUAL(cli_eta_seconds(840, 2000, 0), -1, 0);
    CU_ASSERT_DOUBLE_EQUAL(cli_eta_seconds(2000, 2000, -1), -1, 0);
    CU_ASSERT_DOUBLE_EQUAL(cli_eta_seconds(2000, 2000, 3), 0, 0);
}

static void test_cli__progress_rate_warms_up_then_smooths(void)
{
    cli_rate_t r;
    cli_rate_init(&r);
    CU_ASSERT(cli_rate_update(&r, 10.0, 0) < 0);  /* baseline */
    CU_ASSERT(cli_rate_update(&r, 10.2, 50) < 0); /* still warming up */
    CU_ASSERT_DOUBLE_EQUAL(cli_rate_update(&r, 11.0, 100), 100.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(cli_rate_update(&r, 11.0, 130), 100.0, 1e-9); /* no time passed */
    CU_ASSERT_DOUBLE_EQUAL(cli_rate_update(&r, 12.0, 200), 100.0, 1e-9);
    /* A burst moves the rate only part of the way... */
    double burst = cli_rate_update(&r, 12.1, 300);
    CU_ASSERT(burst > 100.0 && burst < 1000.0);
    /* ...and a steady 50 files/s wins in the end. */
    double rate = burst;
    int64_t done = 300;
    for (int i = 1; i <= 60; i++)
        rate = cli_rate_update(&r, 12.1 + i, done += 50);
    CU_ASSERT_DOUBLE_EQUAL(rate, 50.0, 0.1);
    /* A count going backwards is a new sync: start over. */
    CU_ASSERT(cli_rate_update(&r, 80.0, 10) < 0);
}

static void test_cli__progress_truncates_paths_from_the_left(void)
{
    char b[64];
    cli_truncate_left(b, sizeof(b), "abc", 5);
    CU_ASSERT_STRING_EQUAL(b, "abc");
    cli_truncate_left(b, sizeof(b), "abcdef", 6);
    CU_ASSERT_STRING_EQUAL(b, "abcdef");
    cli_truncate_left(b, sizeof(b), "abcdef", 4);
    CU_ASSERT_STRING_EQUAL(b, "\xE2\x80\xA6"
                              "def");
    cli_truncate_left(b, sizeof(b), "abcdef", 1);
    CU_ASSERT_STRING_EQUAL(b, "\xE2\x80\xA6");
    cli_truncate_left(b, sizeof(b), "abcdef", 0);
    CU_ASSERT_STRING_EQUAL(b, "");
    /* Characters, not bytes: "dir/été.c" is 9 characters. */
    cli_truncate_left(b, sizeof(b), "dir/\xC3\xA9t\xC3\xA9.c", 5);
    CU_ASSERT_STRING_EQUAL(b, "\xE2\x80\xA6t\xC3\xA9.c");
    CU_ASSERT_EQUAL(cli_display_width(b), 5);
    /* Nothing reaches the terminal that could drive it. */
    cli_truncate_left(b, sizeof(b), "a\x1b[31mb\xFF\n", 20);
    CU_ASSERT_STRING_EQUAL(b, "a?[31mb??");
    /* A small buffer is never overrun. */
    char small[6];
    cli_truncate_left(small, sizeof(small), "abcdefghij", 8);
    CU_ASSERT(strlen(small) < sizeof(small));
}

static const cli_progress_view_t sample_view = {42.0, 840, 2000, 35.1, "src/foo/bar.c"};

static void test_cli__progress_bar_fills_the_width(void)
{
    char b[CLI_PROGRESS_LINE_MAX];
    size_t cols = cli_progress_bar(b, sizeof(b), &sample_view, 100);
    CU_ASSERT_STRING_EQUAL(b, "[########............]  42%  840/2000 files  35.1 files/s  ETA 0:33"
                              "  src/foo/bar.c");
    CU_ASSERT_EQUAL(cols, 82);
    cols = cli_progress_bar(b, sizeof(b), &sample_view, 80);
    CU_ASSERT_STRING_EQUAL(b, "[########............]  42%  840/2000 files  35.1 files/s  ETA 0:33"
                              "  \xE2\x80\xA6"
                              "foo/bar.c");
    CU_ASSERT_EQUAL(cols, 79);
    CU_ASSERT_EQUAL(cli_display_width(b), 79);
}

static void test_cli__progress_bar_gives_up_fields_when_narrow(void)
{
    char b[CLI_PROGRESS_LINE_MAX];
    cli_progress_bar(b, sizeof(b), &sample_view, 60);
    CU_ASSERT_STRING_EQUAL(b, "[#####.......]  42%  840/2000 files  35.1 files/s  ETA 0:33");
    cli_progress_bar(b, sizeof(b), &sample_view, 45);
    CU_ASSERT_STRING_EQUAL(b, "[####......]  42%  840/2000 files  ETA 0:33");
    cli_progress_bar(b, sizeof(b), &sample_view, 30);
    CU_ASSERT_STRING_EQUAL(b, "[####......]  42%  ETA 0:33");
    cli_progress_bar(b, sizeof(b), &sample_view, 20);
    CU_ASSERT_STRING_EQUAL(b, "42%  ETA 0:33");
    cli_progress_bar(b, sizeof(b), &sample_view, 10);
    CU_ASSERT_STRING_EQUAL(b, "42%");
    cli_progress_bar(b, sizeof(b), &sample_view, 3);
    CU_ASSERT_STRING_EQUAL(b, "42");
    cli_progress_bar(b, sizeof(b), &sample_view, 0);
    CU_ASSERT_STRING_EQUAL(b, "");
    /* Whatever the width, the line leaves the last column free. */
    for (int w = 1; w <= 300; w++) {
        size_t cols = cli_progress_bar(b, sizeof(b), &sample_view, w);
        CU_ASSERT(cols < (size_t)w);
        CU_ASSERT_EQUAL(cli_display_width(b), cols);
    }
}

static void test_cli__progress_bar_without_rate_shows_no_eta(void)
{
    char b[CLI_PROGRESS_LINE_MAX];
    cli_progress_view_t v = {0, 0, 0, -1, NULL};
    cli_progress_bar(b, sizeof(b), &v, 80);
    CU_ASSERT_STRING_EQUAL(b, "[....................]   0%  0/0 files  --.- files/s  ETA --:--");
    cli_progress_view_t w = {99.99, 1999, 2000, -1, ""};
    cli_progress_bar(b, sizeof(b), &w, 80);
    CU_ASSERT_STRING_EQUAL(b,
                           "[###################.]  99%  1999/2000 files  --.- files/s  ETA --:--");
    cli_progress_view_t full = {100, 2000, 2000, 10, "x.c"};
    cli_progress_bar(b, sizeof(b), &full, 80);
    CU_ASSERT_STRING_EQUAL(b, "[####################] 100%  2000/2000 files  10.0 files/s  ETA 0:00"
                              "  x.c");
}

static void test_cli__progress_plain_line(void)
{
    char b[256];
    cli_progress_view_t v = {42.7, 840, 2000, 35.1, "ignored.c"};
    cli_progress_plain(b, sizeof(b), "repo", &v, 12, 17);
    CU_ASSERT_STRING_EQUAL(b, "sync repo: 42% 840/2000 files, 12 chunks, batch 17");
    cli_progress_plain(b, sizeof(b), "bad\x1bname", &v, 0, 0);
    CU_ASSERT_STRING_EQUAL(b, "sync bad?name: 42% 840/2000 files, 0 chunks, batch 0");
    CU_ASSERT_EQUAL(cli_progress_percent(-3), 0);
    CU_ASSERT_EQUAL(cli_progress_percent(NAN), 0);
    CU_ASSERT_EQUAL(cli_progress_percent(99.999), 99);
    CU_ASSERT_EQUAL(cli_progress_percent(250), 100);
}

/* ---- render_repo.c --------------------------------------------------- */

/* A FAILED status with every count set, on the stack. */
typedef struct sync_sample {
    Mnemo__V1__SyncStatus s;
    Mnemo__V1__SyncProgress p;
} sync_sample_t;

static void sync_sample_init(sync_sample_t *x)
{
    mnemo__v1__sync_status__init(&x->s);
    mnemo__v1__sync_progress__init(&x->p);
    x->p.total_files = 10;
    x->p.processed_files = 3;
    x->p.unchanged_files = 4;
    x->p.skipped_files = 1;
    x->p.failed_files = 2;
    x->p.chunks_written = 7;
    x->p.bytes_processed = 2048;
    x->p.batches_committed = 2;
    x->p.percentage = 100;
    x->s.repository_name = "r";
    x->s.repository_path = "/src/r";
    x->s.state = MNEMO__V1__SYNC_STATE__SYNC_STATE_FAILED;
    x->s.progress = &x->p;
    x->s.started_at_ms = 1000;
    x->s.finished_at_ms = 61000;
    x->s.error = "disk full\x1b";
}

static void test_cli__sync_state_names_are_short(void)
{
    CU_ASSERT_STRING_EQUAL(cli_sync_state_name(MNEMO__V1__SYNC_STATE__SYNC_STATE_RUNNING),
                           "RUNNING");
    CU_ASSERT_STRING_EQUAL(cli_sync_state_name(MNEMO__V1__SYNC_STATE__SYNC_STATE_INTERRUPTED),
                           "INTERRUPTED");
    CU_ASSERT_STRING_EQUAL(cli_sync_state_name(99), "UNKNOWN");
    CU_ASSERT(cli_sync_state_final(MNEMO__V1__SYNC_STATE__SYNC_STATE_CANCELLED));
    CU_ASSERT(!cli_sync_state_final(MNEMO__V1__SYNC_STATE__SYNC_STATE_PENDING));
    CU_ASSERT(!cli_sync_state_final(MNEMO__V1__SYNC_STATE__SYNC_STATE_RUNNING));
}

static void test_cli__sync_view_never_counts_past_the_total(void)
{
    sync_sample_t x;
    sync_sample_init(&x);
    x.p.skipped_files = 50; /* found by the walk: not among total_files */
    cli_progress_view_t v = cli_sync_view(&x.s, 2.5, "a.c");
    CU_ASSERT_EQUAL(v.done, 10);
    CU_ASSERT_EQUAL(v.total, 10);
    CU_ASSERT_DOUBLE_EQUAL(v.rate, 2.5, 0);
    v = cli_sync_view(NULL, -1, NULL);
    CU_ASSERT_EQUAL(v.done, 0);
}

static void test_cli__sync_summary_shows_counts_time_and_error(void)
{
    sync_sample_t x;
    sync_sample_init(&x);
    capture_t c;
    capture_begin(&c);
    cli_print_sync_summary(c.f, &x.s, 5);
    char *out = capture_end(&c);
    CU_ASSERT_STRING_EQUAL(out, "sync r: FAILED\n"
                                "  files       3 processed, 4 unchanged, 1 skipped, 2 failed, "
                                "0 deleted (10 total)\n"
                                "  chunks      7\n"
                                "  bytes       2.0 KiB\n"
                                "  batches     2\n"
                                "  elapsed     1:00\n"
                                "  error       disk full?\n");
    free(out);
    x.s.state = MNEMO__V1__SYNC_STATE__SYNC_STATE_CANCELLED;
    x.s.error = "";
    x.s.finished_at_ms = 0; /* no server times: the client's elapsed */
    capture_begin(&c);
    cli_print_sync_summary(c.f, &x.s, 5);
    out = capture_end(&c);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "  elapsed     0:05\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\ncancelled after 2 batches; committed work kept\n"));
    CU_ASSERT_PTR_NULL(strstr(out, "error"));
    free(out);
}

static void test_cli__sync_event_json_uses_proto_names(void)
{
    sync_sample_t x;
    sync_sample_init(&x);
    Mnemo__V1__SkippedFile sk = MNEMO__V1__SKIPPED_FILE__INIT;
    Mnemo__V1__SkippedFile *skp[1] = {&sk};
    sk.path = "blob.bin";
    sk.reason = "binary";
    Mnemo__V1__SyncEvent ev = MNEMO__V1__SYNC_EVENT__INIT;
    ev.status = &x.s;
    ev.current_path = "a.c";
    ev.n_skipped = 1;
    ev.skipped = skp;
    capture_t c;
    capture_begin(&c);
    cli_json_t j;
    cli_json_init(&j, c.f);
    cli_json_sync_event(&j, &ev);
    cli_json_finish(&j);
    char *out = capture_end(&c);
    CU_ASSERT_STRING_EQUAL(
        out, "{\"status\":{\"repository_name\":\"r\",\"repository_path\":\"/src/r\","
             "\"state\":\"SYNC_STATE_FAILED\",\"progress\":{\"total_files\":10,"
             "\"processed_files\":3,\"unchanged_files\":4,\"skipped_files\":1,"
             "\"failed_files\":2,\"deleted_files\":0,\"chunks_written\":7,"
             "\"bytes_processed\":2048,\"batches_committed\":2,\"percentage\":100,\"paced_ms\":0},"
             "\"started_at_ms\":1000,\"finished_at_ms\":61000,"
             "\"started_at\":\"1970-01-01T00:00:01.000Z\","
             "\"finished_at\":\"1970-01-01T00:01:01.000Z\",\"error\":\"disk full\\u001b\","
             "\"background\":false},\"current_path\":\"a.c\","
             "\"skipped\":[{\"path\":\"blob.bin\",\"reason\":\"binary\"}]}\n");
    free(out);
}

static void test_cli__code_hit_is_cut_to_max_lines(void)
{
    Mnemo__V1__CodeHit h = MNEMO__V1__CODE_HIT__INIT;
    h.repository_name = "tree";
    h.path = "src/a.c";
    h.start_line = 3;
    h.end_line = 12;
    h.score = 1.5;
    h.content = "l1\n\tl2\n\nl4\r\nl5\nl6\nl7\nl8\nl9\nl10\n";
    capture_t c;
    capture_begin(&c);
    cli_print_code_hit(c.f, &h, 8);
    char *out = capture_end(&c);
    CU_ASSERT_STRING_EQUAL(out, "src/a.c:3-12  1.5000  tree\n"
                                "    l1\n    \tl2\n\n    l4\n    l5\n    l6\n    l7\n    l8\n"
                                "    ... (2 more lines)\n");
    free(out);
    capture_begin(&c);
    cli_print_code_hit(c.f, &h, 0);
    out = capture_end(&c);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "    l10\n"));
    CU_ASSERT_PTR_NULL(strstr(out, "more line"));
    free(out);
}

static void test_cli__repository_table_aligns_columns(void)
{
    Mnemo__V1__Repository a = MNEMO__V1__REPOSITORY__INIT, b = MNEMO__V1__REPOSITORY__INIT;
    a.name = "tree";
    a.path = "/tmp/tree";
    a.file_count = 2000;
    a.chunk_count = 2001;
    a.last_synced_at_ms = 1700000000123LL;
    a.last_state = MNEMO__V1__SYNC_STATE__SYNC_STATE_COMPLETED;
    b.name = "longer-name";
    b.path = "/x";
    b.last_state = MNEMO__V1__SYNC_STATE__SYNC_STATE_CANCELLED;
    Mnemo__V1__Repository *repos[2] = {&a, &b};
    capture_t c;
    capture_begin(&c);
    cli_print_repository_table(c.f, repos, 2);
    char *out = capture_end(&c);
    CU_ASSERT_STRING_EQUAL(out, "NAME            FILES    CHUNKS  STATE        LAST SYNCED         "
                                "      PATH\n"
                                "tree             2000      2001  COMPLETED    "
                                "2023-11-14T22:13:20.123Z  /tmp/tree\n"
                                "longer-name         0         0  CANCELLED    -                  "
                                "       /x\n");
    free(out);
}

/* ---- argument parsers of the repository commands --------------------- */

/* Sends stdout and stderr to /dev/null while a parser prints help or a
 * usage error; quiet_end puts them back. */
typedef struct quiet {
    int out, err;
} quiet_t;

static void quiet_begin(quiet_t *q)
{
    fflush(stdout);
    fflush(stderr);
    q->out = dup(STDOUT_FILENO);
    q->err = dup(STDERR_FILENO);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    close(null);
}

static void quiet_end(quiet_t *q)
{
    fflush(stdout);
    fflush(stderr);
    dup2(q->out, STDOUT_FILENO);
    dup2(q->err, STDERR_FILENO);
    close(q->out);
    close(q->err);
}

#define ARGC(argv) ((int)(sizeof(argv) / sizeof((argv)[0])) - 1)

static void test_cli__sync_parse_reads_every_option(void)
{
    char *argv[] = {"sync",      "repo", "--name", "n", "--background", "--batch-size=5", "--full",
                    "--dry-run", "-v",   "--json", NULL};
    cli_ctx_t ctx = {0};
    cli_sync_args_t a;
    CU_ASSERT_EQUAL_FATAL(cli_sync_parse(&a, &ctx, &cli_cmd_sync, ARGC(argv), argv), CLI_CONTINUE);
    CU_ASSERT_STRING_EQUAL(a.path, "repo");
    CU_ASSERT_STRING_EQUAL(a.name, "n");
    CU_ASSERT_EQUAL(a.batch_size, 5);
    CU_ASSERT(a.background && a.full && a.dry_run && a.verbose && ctx.json);
    char *plain[] = {"sync", ".", NULL};
    CU_ASSERT_EQUAL(cli_sync_parse(&a, &ctx, &cli_cmd_sync, ARGC(plain), plain), CLI_CONTINUE);
    CU_ASSERT_PTR_NULL(a.name);
    CU_ASSERT(!a.background && !a.full && !a.dry_run && !a.verbose && a.batch_size == 0);
}

static void test_cli__sync_parse_rejects_bad_command_lines(void)
{
    char *missing[] = {"sync", "--full", NULL};
    char *two[] = {"sync", "a", "b", NULL};
    char *empty[] = {"sync", "", NULL};
    char *negative[] = {"sync", "a", "--batch-size", "-1", NULL};
    char *word[] = {"sync", "a", "--batch-size", "ten", NULL};
    char *noname[] = {"sync", "a", "--name=", NULL};
    char *unknown[] = {"sync", "a", "--fast", NULL};
    char *help[] = {"sync", "--help", NULL};
    cli_ctx_t ctx = {0};
    cli_sync_args_t a;
    quiet_t q;
    quiet_begin(&q);
    int rc[8] = {
        cli_sync_parse(&a, &ctx, &cli_cmd_sync, ARGC(missing), missing),
        cli_sync_parse(&a, &ctx, &cli_cmd_sync, ARGC(two), two),
        cli_sync_parse(&a, &ctx, &cli_cmd_sync, ARGC(empty), empty),
        cli_sync_parse(&a, &ctx, &cli_cmd_sync, ARGC(negative), negative),
        cli_sync_parse(&a, &ctx, &cli_cmd_sync, ARGC(word), word),
        cli_sync_parse(&a, &ctx, &cli_cmd_sync, ARGC(noname), noname),
        cli_sync_parse(&a, &ctx, &cli_cmd_sync, ARGC(unknown), unknown),
        cli_sync_parse(&a, &ctx, &cli_cmd_sync, ARGC(help), help),
    };
    quiet_end(&q);
    for (int i = 0; i < 7; i++)
        CU_ASSERT_EQUAL(rc[i], CLI_EXIT_USAGE);
    CU_ASSERT_EQUAL(rc[7], CLI_EXIT_OK);
}

static void test_cli__watch_repos_and_code_parse(void)
{
    cli_ctx_t ctx = {0};
    char *watch[] = {"watch", "tree", "--verbose", NULL};
    cli_watch_args_t w;
    CU_ASSERT_EQUAL(cli_watch_parse(&w, &ctx, &cli_cmd_watch, ARGC(watch), watch), CLI_CONTINUE);
    CU_ASSERT_STRING_EQUAL(w.name, "tree");
    CU_ASSERT(w.verbose);
    char *repos[] = {"repos", "--limit", "2", "--page-token", "tok", "--all", NULL};
    cli_repos_args_t r;
    CU_ASSERT_EQUAL(cli_repos_parse(&r, &ctx, &cli_cmd_repos, ARGC(repos), repos), CLI_CONTINUE);
    CU_ASSERT_EQUAL(r.limit, 2);
    CU_ASSERT_STRING_EQUAL(r.page_token, "tok");
    CU_ASSERT(r.all);
    char *code[] = {"code",   "helper", "--repo",    "tree",           "3_7",
                    "--path", "src/",   "--limit=4", "--full-content", NULL};
    cli_code_args_t k;
    CU_ASSERT_EQUAL(cli_code_parse(&k, &ctx, &cli_cmd_code, ARGC(code), code), CLI_CONTINUE);
    CU_ASSERT_EQUAL(k.words.n, 2);
    CU_ASSERT_STRING_EQUAL(k.words.v[1], "3_7");
    CU_ASSERT_STRING_EQUAL(k.repo, "tree");
    CU_ASSERT_STRING_EQUAL(k.path, "src/");
    CU_ASSERT_EQUAL(k.limit, 4);
    CU_ASSERT(k.full_content);
    cli_code_args_cleanup(&k);
}

static void test_cli__repo_commands_reject_bad_command_lines(void)
{
    cli_ctx_t ctx = {0};
    char *watch_none[] = {"watch", NULL};
    char *watch_two[] = {"watch", "a", "b", NULL};
    char *repos_arg[] = {"repos", "x", NULL};
    char *repos_limit[] = {"repos", "--limit", "-3", NULL};
    char *code_none[] = {"code", "--repo", "r", NULL};
    char *status_none[] = {"status", NULL};
    char *cancel_two[] = {"cancel", "a", "b", NULL};
    cli_watch_args_t w;
    cli_repos_args_t r;
    cli_code_args_t k;
    quiet_t q;
    quiet_begin(&q);
    int rc[7] = {
        cli_watch_parse(&w, &ctx, &cli_cmd_watch, ARGC(watch_none), watch_none),
        cli_watch_parse(&w, &ctx, &cli_cmd_watch, ARGC(watch_two), watch_two),
        cli_repos_parse(&r, &ctx, &cli_cmd_repos, ARGC(repos_arg), repos_arg),
        cli_repos_parse(&r, &ctx, &cli_cmd_repos, ARGC(repos_limit), repos_limit),
        cli_code_parse(&k, &ctx, &cli_cmd_code, ARGC(code_none), code_none),
        /* status and cancel stop before connecting on a usage error */
        cli_cmd_status.run(&ctx, &cli_cmd_status, ARGC(status_none), status_none),
        cli_cmd_cancel.run(&ctx, &cli_cmd_cancel, ARGC(cancel_two), cancel_two),
    };
    quiet_end(&q);
    cli_code_args_cleanup(&k);
    for (int i = 0; i < 7; i++)
        CU_ASSERT_EQUAL(rc[i], CLI_EXIT_USAGE);
    CU_ASSERT_PTR_NULL(ctx.client);
}

/* ---- cli.c: scanning a command's arguments, --help -------------------- */

enum { OWN_TAG = 1, OWN_STOP };
static const cli_option_t own_options[] = {
    {"--tag", 1, OWN_TAG}, {"--stop", 0, OWN_STOP}, CLI_COMMON_OPTIONS};

/* What own_arg saw, in order. */
typedef struct seen {
    int ids[8];
    const char *values[8];
    int n;
} seen_t;

static int own_arg(void *out, const cli_command_t *cmd, int id, const char *value)
{
    seen_t *s = out;
    (void)cmd;
    if (id == OWN_STOP)
        return CLI_EXIT_USAGE;
    s->ids[s->n] = id;
    s->values[s->n++] = value;
    return CLI_CONTINUE;
}

static void test_cli__parse_args_hands_own_arguments_to_the_command(void)
{
    char *argv[] = {"get", "a", "--tag", "t", "--json", "--timeout=5", "b", NULL};
    cli_ctx_t ctx = {0};
    seen_t s = {0};
    CU_ASSERT_EQUAL(cli_parse_args(&s, own_arg, &ctx, &cli_cmd_get, own_options, ARGC(argv), argv),
                    CLI_CONTINUE);
    CU_ASSERT_EQUAL_FATAL(s.n, 3);
    CU_ASSERT(s.ids[0] == CLI_ARG_POSITIONAL && strcmp(s.values[0], "a") == 0);
    CU_ASSERT(s.ids[1] == OWN_TAG && strcmp(s.values[1], "t") == 0);
    CU_ASSERT(s.ids[2] == CLI_ARG_POSITIONAL && strcmp(s.values[2], "b") == 0);
    CU_ASSERT(ctx.json);
    CU_ASSERT_EQUAL(ctx.timeout_ms, 5);
}

static void test_cli__parse_args_stops_at_the_first_failure(void)
{
    char *stop[] = {"get", "a", "--stop", "b", NULL};
    char *unknown[] = {"get", "--nope", "b", NULL};
    char *help[] = {"get", "-h", "b", NULL};
    cli_ctx_t ctx = {0};
    seen_t s1 = {0}, s2 = {0}, s3 = {0};
    quiet_t q;
    quiet_begin(&q);
    int rc[3] = {
        cli_parse_args(&s1, own_arg, &ctx, &cli_cmd_get, own_options, ARGC(stop), stop),
        cli_parse_args(&s2, own_arg, &ctx, &cli_cmd_get, own_options, ARGC(unknown), unknown),
        cli_parse_args(&s3, own_arg, &ctx, &cli_cmd_get, own_options, ARGC(help), help),
    };
    quiet_end(&q);
    CU_ASSERT_EQUAL(rc[0], CLI_EXIT_USAGE);
    CU_ASSERT_EQUAL(s1.n, 1);
    CU_ASSERT_EQUAL(rc[1], CLI_EXIT_USAGE);
    CU_ASSERT_EQUAL(s2.n, 0);
    CU_ASSERT_EQUAL(rc[2], CLI_EXIT_OK);
    CU_ASSERT_EQUAL(s3.n, 0);
}

static void test_cli__parse_single_takes_one_positional(void)
{
    char *one[] = {"get", "id", NULL};
    char *two[] = {"get", "id", "more", NULL};
    char *none[] = {"health", NULL};
    cli_ctx_t ctx = {0};
    const char *id = NULL;
    CU_ASSERT_EQUAL(cli_parse_single(&id, "ID", &ctx, &cli_cmd_get, ARGC(one), one), CLI_CONTINUE);
    CU_ASSERT_STRING_EQUAL(id, "id");
    CU_ASSERT_EQUAL(cli_parse_single(&id, NULL, &ctx, &cli_cmd_health, ARGC(none), none),
                    CLI_CONTINUE);
    CU_ASSERT_PTR_NULL(id);
    quiet_t q;
    quiet_begin(&q);
    int rc[2] = {
        cli_parse_single(&id, "ID", &ctx, &cli_cmd_get, ARGC(two), two),
        cli_parse_single(&id, "ID", &ctx, &cli_cmd_get, ARGC(none), none),
    };
    quiet_end(&q);
    CU_ASSERT_EQUAL(rc[0], CLI_EXIT_USAGE);
    CU_ASSERT_EQUAL(rc[1], CLI_EXIT_USAGE);
}

static void test_cli__every_command_help_exits_0_without_connecting(void)
{
    const cli_command_t *const commands[] = {
        &cli_cmd_store,  &cli_cmd_get,    &cli_cmd_delete, &cli_cmd_list,   &cli_cmd_search,
        &cli_cmd_tags,   &cli_cmd_health, &cli_cmd_sync,   &cli_cmd_status, &cli_cmd_watch,
        &cli_cmd_cancel, &cli_cmd_repos,  &cli_cmd_code,   &cli_cmd_token,
    };
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        const cli_command_t *cmd = commands[i];
        char *help[] = {(char *)cmd->name, "--help", NULL};
        char *h[] = {(char *)cmd->name, "--json", "-h", NULL};
        cli_ctx_t ctx = {0};
        quiet_t q;
        quiet_begin(&q);
        int rc[2] = {cmd->run(&ctx, cmd, ARGC(help), help), cmd->run(&ctx, cmd, ARGC(h), h)};
        quiet_end(&q);
        CU_ASSERT_EQUAL(rc[0], CLI_EXIT_OK);
        CU_ASSERT_EQUAL(rc[1], CLI_EXIT_OK);
        CU_ASSERT_PTR_NULL(ctx.client);
    }
}

/* ---- security settings, tokens (cli.c, token.c, crypto.c) ------------ */

/* What fd 1 and 2 received between grab_begin and grab_end. */
typedef struct grab {
    int out, err;
    FILE *f;
} grab_t;

static void grab_begin(grab_t *g)
{
    fflush(stdout);
    fflush(stderr);
    g->f = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(g->f);
    g->out = dup(STDOUT_FILENO);
    g->err = dup(STDERR_FILENO);
    dup2(fileno(g->f), STDOUT_FILENO);
    dup2(fileno(g->f), STDERR_FILENO);
}

/* The text written in between (the caller's, free). */
static char *grab_end(grab_t *g)
{
    fflush(stdout);
    fflush(stderr);
    dup2(g->out, STDOUT_FILENO);
    dup2(g->err, STDERR_FILENO);
    close(g->out);
    close(g->err);
    rewind(g->f);
    char *text = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL(cli_read_all(&text, &len, g->f), 0);
    fclose(g->f);
    return text;
}

/* A file in a fresh directory holding text; the caller frees the path
 * and removes *dir. */
static char *temp_file(char **dir, const char *name, const char *text)
{
    *dir = mnemo_test_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(*dir);
    char *path = NULL;
    CU_ASSERT_FATAL(asprintf(&path, "%s/%s", *dir, name) > 0);
    CU_ASSERT_EQUAL_FATAL(mnemo_test_write_file(path, text, strlen(text)), 0);
    return path;
}

static void test_cli__ctx_init_reads_the_environment(void)
{
    char *env[] = {"HOME=/root",
                   "MNEMO_SERVER=db:1",
                   "MNEMO_TLS_CA=/ca.pem",
                   "MNEMO_CLIENT_TLS_CERT=/c.pem",
                   "MNEMO_CLIENT_TLS_KEY=/c.key",
                   "MNEMO_TLS_CERT=/server.pem", /* mnemod's own: not the client's */
                   "MNEMO_TLS_KEY=/server.key",
                   "MNEMO_TOKEN_FILE=/t",
                   "MNEMO_TOKEN=secret-token",
                   NULL};
    cli_ctx_t ctx;
    cli_ctx_init(&ctx, env);
    CU_ASSERT_STRING_EQUAL(ctx.server, "db:1");
    CU_ASSERT_EQUAL(ctx.timeout_ms, CLI_DEFAULT_TIMEOUT_MS);
    CU_ASSERT_EQUAL(ctx.sec.tls, 0);
    CU_ASSERT_STRING_EQUAL(ctx.sec.tls_ca.value, "/ca.pem");
    CU_ASSERT_STRING_EQUAL(ctx.sec.tls_ca.source, "MNEMO_TLS_CA");
    CU_ASSERT_STRING_EQUAL(ctx.sec.tls_cert.value, "/c.pem");
    CU_ASSERT_STRING_EQUAL(ctx.sec.tls_cert.source, "MNEMO_CLIENT_TLS_CERT");
    CU_ASSERT_STRING_EQUAL(ctx.sec.tls_key.value, "/c.key");
    CU_ASSERT_STRING_EQUAL(ctx.sec.token_file.value, "/t");
    CU_ASSERT_STRING_EQUAL(ctx.sec.token_env, "secret-token");
    CU_ASSERT_PTR_NULL(ctx.sec.tls_server_name.value);

    char *empty[] = {"MNEMO_SERVER=", "MNEMO_TLS_CA=", "MNEMO_TOKEN=", NULL};
    cli_ctx_init(&ctx, empty);
    CU_ASSERT_STRING_EQUAL(ctx.server, CLI_DEFAULT_SERVER);
    CU_ASSERT_PTR_NULL(ctx.sec.tls_ca.value);
    CU_ASSERT_PTR_NULL(ctx.sec.tls_ca.source);
    CU_ASSERT_PTR_NULL(ctx.sec.token_env);
    cli_ctx_init(&ctx, NULL);
    CU_ASSERT_STRING_EQUAL(ctx.server, CLI_DEFAULT_SERVER);
}

static void test_cli__security_flags_win_over_the_environment(void)
{
    char *dir;
    char *token_path = temp_file(&dir, "token", "from-the-file\n");
    char *env[] = {"MNEMO_TLS_CA=/env-ca.pem", "MNEMO_CLIENT_TLS_CERT=/env.pem",
                   "MNEMO_CLIENT_TLS_KEY=/env.key", "MNEMO_TOKEN=from-env", NULL};
    cli_ctx_t ctx;
    cli_ctx_init(&ctx, env);
    char *argv[] = {"get",
                    "ID",
                    "--tls-ca",
                    "/flag-ca.pem",
                    "--tls-cert",
                    "/f.pem",
                    "--tls-server-name",
                    "mnemod.internal",
                    "--token-file",
                    token_path,
                    NULL};
    const char *id = NULL;
    CU_ASSERT_EQUAL_FATAL(cli_parse_single(&id, "ID", &ctx, &cli_cmd_get, ARGC(argv), argv),
                          CLI_CONTINUE);
    CU_ASSERT_STRING_EQUAL(ctx.sec.tls_ca.source, "--tls-ca");
    CU_ASSERT_STRING_EQUAL(ctx.sec.tls_cert.value, "/f.pem");
    CU_ASSERT_STRING_EQUAL(ctx.sec.tls_key.value, "/env.key"); /* no flag: env stays */
    CU_ASSERT_STRING_EQUAL(ctx.sec.tls_key.source, "MNEMO_CLIENT_TLS_KEY");

    mnemo_client_options_t opts;
    mnemo_client_options_init(&opts);
    char *token = NULL;
    CU_ASSERT_EQUAL_FATAL(cli_client_options(&opts, &token, &ctx), CLI_CONTINUE);
    CU_ASSERT_EQUAL(opts.tls, 1);
    CU_ASSERT_STRING_EQUAL(opts.tls_ca_file, "/flag-ca.pem");
    CU_ASSERT_STRING_EQUAL(opts.tls_cert_file, "/f.pem");
    CU_ASSERT_STRING_EQUAL(opts.tls_key_file, "/env.key");
    CU_ASSERT_STRING_EQUAL(opts.tls_server_name, "mnemod.internal");
    CU_ASSERT_EQUAL(opts.deadline_ms, CLI_DEFAULT_TIMEOUT_MS);
    /* --token-file wins over MNEMO_TOKEN. */
    CU_ASSERT_PTR_NOT_NULL_FATAL(token);
    CU_ASSERT_STRING_EQUAL(token, "from-the-file");
    CU_ASSERT_PTR_EQUAL(opts.token, token);
    CU_ASSERT_STRING_EQUAL(ctx.token_from, "--token-file");
    cli_token_free(token);
    free(token_path);
    mnemo_test_rmtree(dir);
    free(dir);
}

static void test_cli__client_options_tls_is_off_unless_asked(void)
{
    cli_ctx_t ctx;
    cli_ctx_init(&ctx, NULL);
    mnemo_client_options_t opts;
    mnemo_client_options_init(&opts);
    char *token = (char *)"unchanged";
    CU_ASSERT_EQUAL(cli_client_options(&opts, &token, &ctx), CLI_CONTINUE);
    CU_ASSERT_EQUAL(opts.tls, 0);
    CU_ASSERT_PTR_NULL(opts.tls_ca_file);
    CU_ASSERT_PTR_NULL(opts.token);
    CU_ASSERT_PTR_NULL(token);
    CU_ASSERT_PTR_NULL(ctx.token_from);
    /* --tls alone: TLS with the default roots. */
    CU_ASSERT_EQUAL(cli_set_global(&ctx, NULL, CLI_OPT_TLS, NULL), CLI_CONTINUE);
    CU_ASSERT_EQUAL(cli_client_options(&opts, &token, &ctx), CLI_CONTINUE);
    CU_ASSERT_EQUAL(opts.tls, 1);
    CU_ASSERT_PTR_NULL(opts.tls_ca_file);
    /* Any TLS setting implies TLS, one from the environment too. */
    char *env[] = {"MNEMO_TLS_CA=/ca.pem", NULL};
    cli_ctx_init(&ctx, env);
    CU_ASSERT_EQUAL(cli_client_options(&opts, &token, &ctx), CLI_CONTINUE);
    CU_ASSERT_EQUAL(opts.tls, 1);
    CU_ASSERT_STRING_EQUAL(opts.tls_ca_file, "/ca.pem");
    cli_ctx_init(&ctx, NULL);
    CU_ASSERT_EQUAL(cli_set_global(&ctx, NULL, CLI_OPT_TLS_SERVER_NAME, "x"), CLI_CONTINUE);
    CU_ASSERT_EQUAL(cli_client_options(&opts, &token, &ctx), CLI_CONTINUE);
    CU_ASSERT_EQUAL(opts.tls, 1);
}

static void test_cli__client_options_take_the_token_from_the_environment(void)
{
    char *env[] = {"MNEMO_TOKEN=env-token", NULL};
    cli_ctx_t ctx;
    cli_ctx_init(&ctx, env);
    mnemo_client_options_t opts;
    mnemo_client_options_init(&opts);
    char *token = NULL;
    CU_ASSERT_EQUAL(cli_client_options(&opts, &token, &ctx), CLI_CONTINUE);
    CU_ASSERT_STRING_EQUAL(opts.token, "env-token");
    CU_ASSERT_PTR_NULL(token); /* nothing read: nothing to free */
    CU_ASSERT_STRING_EQUAL(ctx.token_from, "MNEMO_TOKEN");

    char *dir;
    char *path = temp_file(&dir, "t", "file-token\r\nsecond line is ignored\n");
    char *file_env[] = {"MNEMO_TOKEN_FILE=", NULL};
    char *assignment = NULL;
    CU_ASSERT_FATAL(asprintf(&assignment, "MNEMO_TOKEN_FILE=%s", path) > 0);
    file_env[0] = assignment;
    cli_ctx_init(&ctx, file_env);
    CU_ASSERT_EQUAL(cli_client_options(&opts, &token, &ctx), CLI_CONTINUE);
    CU_ASSERT_PTR_NOT_NULL_FATAL(token);
    CU_ASSERT_STRING_EQUAL(opts.token, "file-token");
    CU_ASSERT_STRING_EQUAL(ctx.token_from, "MNEMO_TOKEN_FILE");
    cli_token_free(token);
    free(assignment);
    free(path);
    mnemo_test_rmtree(dir);
    free(dir);
}

static void test_cli__client_options_refuse_bad_tokens_without_showing_them(void)
{
    char *dir;
    char *spaced = temp_file(&dir, "t", "sec ret-value\n");
    char *both[] = {"MNEMO_TOKEN=tok", "MNEMO_TOKEN_FILE=/x", NULL};
    char *bad_env[] = {"MNEMO_TOKEN=bad\tsecret-value", NULL};
    char *missing[] = {"MNEMO_TOKEN_FILE=/nonexistent/token", NULL};
    char *no_key[] = {"MNEMO_CLIENT_TLS_CERT=/c.pem", NULL};
    char *const *envs[] = {both, bad_env, missing, no_key, NULL};
    int rc[6];
    mnemo_client_options_t opts;
    char *token = NULL;
    cli_ctx_t ctx;
    grab_t g;
    grab_begin(&g);
    for (int i = 0; envs[i] != NULL; i++) {
        cli_ctx_init(&ctx, envs[i]);
        mnemo_client_options_init(&opts);
        rc[i] = cli_client_options(&opts, &token, &ctx);
    }
    cli_ctx_init(&ctx, NULL);
    CU_ASSERT_EQUAL(cli_set_global(&ctx, NULL, CLI_OPT_TOKEN_FILE, spaced), CLI_CONTINUE);
    rc[4] = cli_client_options(&opts, &token, &ctx);
    /* A token flag is refused, and its value not echoed. */
    rc[5] = cli_set_global(&ctx, &cli_cmd_store, CLI_OPT_TOKEN, "flag-secret-value");
    char *text = grab_end(&g);
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(rc[i], CLI_EXIT_USAGE);
    CU_ASSERT_PTR_NULL(token);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "MNEMO_TOKEN and MNEMO_TOKEN_FILE are both set"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "MNEMO_TOKEN: character 4 of the token"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "MNEMO_TOKEN_FILE /nonexistent/token: cannot read it"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "MNEMO_CLIENT_TLS_CERT: needs its private key"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "character 4 of the token is a space"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "--token: not accepted"));
    CU_ASSERT_PTR_NULL(strstr(text, "secret-value"));
    CU_ASSERT_PTR_NULL(strstr(text, "ret-value"));
    free(text);
    free(spaced);
    mnemo_test_rmtree(dir);
    free(dir);
}

static void test_cli__connect_names_the_setting_of_an_unusable_file(void)
{
    char *dir;
    char *not_pem = temp_file(&dir, "ca.pem", "just text\n");
    char *env[] = {"MNEMO_TLS_CA=/nonexistent/ca.pem", NULL};
    cli_ctx_t a, b;
    cli_ctx_init(&a, env);
    cli_ctx_init(&b, NULL);
    CU_ASSERT_EQUAL(cli_set_global(&b, NULL, CLI_OPT_TLS_CA, not_pem), CLI_CONTINUE);
    grab_t g;
    grab_begin(&g);
    int rc[2] = {cli_connect(&a), cli_connect(&b)};
    char *text = grab_end(&g);
    CU_ASSERT_EQUAL(rc[0], CLI_EXIT_USAGE);
    CU_ASSERT_EQUAL(rc[1], CLI_EXIT_USAGE);
    CU_ASSERT_PTR_NULL(a.client);
    CU_ASSERT_PTR_NULL(b.client);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(text, "mnemo: MNEMO_TLS_CA: cannot read /nonexistent/ca.pem: No such file"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "mnemo: --tls-ca: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "is not a PEM file"));
    free(text);
    free(not_pem);
    mnemo_test_rmtree(dir);
    free(dir);
}

static void test_cli__token_read_takes_the_first_line(void)
{
    struct {
        const char *text;
        const char *want; /* NULL: refused */
    } cases[] = {
        {"abc\n", "abc"},
        {"abc", "abc"},
        {"abc\r\n", "abc"},
        {"abc\nsecond\n", "abc"},
        {"", NULL},
        {"\nabc\n", NULL},
        {"a c\n", NULL},
        {"a\x01"
         "c\n",
         NULL},
        {"caf\xc3\xa9\n", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        FILE *f = fmemopen((void *)cases[i].text, strlen(cases[i].text), "r");
        if (cases[i].text[0] == '\0')
            f = fopen("/dev/null", "r");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        char *token = NULL;
        char why[200] = "";
        int rc = cli_token_read(&token, f, CLI_TOKEN_FIRST_LINE, why, sizeof(why));
        fclose(f);
        if (cases[i].want != NULL) {
            CU_ASSERT_EQUAL(rc, 0);
            CU_ASSERT_STRING_EQUAL(token, cases[i].want);
        } else {
            CU_ASSERT_EQUAL(rc, -1);
            CU_ASSERT_PTR_NULL(token);
            CU_ASSERT(why[0] != '\0');
        }
        cli_token_free(token);
    }
}

static void test_cli__token_read_one_line_and_length_limits(void)
{
    char why[200];
    char *token = NULL;
    FILE *f = fmemopen((void *)"tok\n\n", 5, "r");
    CU_ASSERT_EQUAL(cli_token_read(&token, f, CLI_TOKEN_ONE_LINE, why, sizeof(why)), 0);
    fclose(f);
    CU_ASSERT_STRING_EQUAL(token, "tok");
    cli_token_free(token);
    token = NULL;
    f = fmemopen((void *)"tok\nmore\n", 9, "r");
    CU_ASSERT_EQUAL(cli_token_read(&token, f, CLI_TOKEN_ONE_LINE, why, sizeof(why)), -1);
    fclose(f);
    CU_ASSERT_STRING_EQUAL(why, "more than one line: want the token alone");

    char *longest = malloc(CLI_TOKEN_MAX + 2);
    memset(longest, 'x', CLI_TOKEN_MAX + 1);
    for (size_t len = CLI_TOKEN_MAX; len <= CLI_TOKEN_MAX + 1; len++) {
        f = fmemopen(longest, len, "r");
        token = NULL;
        int rc = cli_token_read(&token, f, CLI_TOKEN_FIRST_LINE, why, sizeof(why));
        fclose(f);
        CU_ASSERT_EQUAL(rc, len == CLI_TOKEN_MAX ? 0 : -1);
        if (rc == 0)
            CU_ASSERT_EQUAL(strlen(token), CLI_TOKEN_MAX);
        cli_token_free(token);
    }
    free(longest);

    token = NULL;
    CU_ASSERT_EQUAL(cli_token_read_file(&token, "/nonexistent/t", why, sizeof(why)), -1);
    CU_ASSERT_STRING_EQUAL(why, "cannot read it: No such file or directory");
    cli_token_free(NULL);
}

static void test_cli__token_check_wants_printable_ascii(void)
{
    char why[200];
    CU_ASSERT_EQUAL(cli_token_check("a-b_c.d~e+f/g=", 14, why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(cli_token_check("", 0, why, sizeof(why)), -1);
    CU_ASSERT_STRING_EQUAL(why, "the token is empty");
    CU_ASSERT_EQUAL(cli_token_check("ab\x7f", 3, why, sizeof(why)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "character 3 of the token"));
    CU_ASSERT_EQUAL(cli_token_check("a\n", 2, why, sizeof(why)), -1);
}

static void test_cli__base64url_follows_rfc4648(void)
{
    /* RFC 4648 section 10, without padding, and the two URL-safe letters. */
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *want[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    char out[16];
    for (size_t i = 0; i < 7; i++) {
        CU_ASSERT_EQUAL(cli_base64url(out, (const uint8_t *)in[i], strlen(in[i])), strlen(want[i]));
        CU_ASSERT_STRING_EQUAL(out, want[i]);
    }
    const uint8_t url[] = {0xfb, 0xff, 0xbf};
    cli_base64url(out, url, sizeof(url));
    CU_ASSERT_STRING_EQUAL(out, "-_-_"); /* "+/+/" in standard base64 */
}

static void test_cli__token_new_is_random_base64url(void)
{
    char a[CLI_TOKEN_NEW_LEN + 1], b[CLI_TOKEN_NEW_LEN + 1];
    CU_ASSERT_EQUAL_FATAL(cli_token_new(a), 0);
    CU_ASSERT_EQUAL_FATAL(cli_token_new(b), 0);
    CU_ASSERT_EQUAL(strlen(a), 43);
    CU_ASSERT_EQUAL(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                    43);
    CU_ASSERT(strcmp(a, b) != 0);
    char why[200];
    CU_ASSERT_EQUAL(cli_token_check(a, strlen(a), why, sizeof(why)), 0);
}

static void test_cli__token_hash_is_sha256_hex(void)
{
    char hex[CLI_TOKEN_HASH_HEX + 1];
    cli_token_hash(hex, "abc", 3);
    CU_ASSERT_STRING_EQUAL(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    cli_token_hash(hex, "", 0);
    CU_ASSERT_STRING_EQUAL(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_cli__crypto_checks_pem_files(void)
{
    char *dir;
    char *junk = temp_file(&dir, "junk.pem",
                           "-----BEGIN CERTIFICATE-----\nAAAA\n-----END "
                           "CERTIFICATE-----\n");
    char why[200];
    CU_ASSERT_EQUAL(cli_crypto_check_certs(junk, why, sizeof(why)), -1);
    CU_ASSERT_STRING_EQUAL(why, "holds no valid PEM certificate");
    CU_ASSERT_EQUAL(cli_crypto_check_certs("/nonexistent/x.pem", why, sizeof(why)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "cannot read it"));
    CU_ASSERT_EQUAL(cli_crypto_check_key(junk, junk, why, sizeof(why)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "no usable PEM private key"));
    free(junk);
    mnemo_test_rmtree(dir);
    free(dir);
}

static void test_cli__call_hints_name_the_fix(void)
{
    char hint[512];
    cli_ctx_t ctx;
    cli_ctx_init(&ctx, NULL);
    mnemo_call_error_t err = {.code = MNEMO_CODE_UNAUTHENTICATED};
    snprintf(err.message, sizeof(err.message), "authorization: X needs credentials");
    CU_ASSERT_EQUAL(cli_call_hint(hint, sizeof(hint), &ctx, &err), 0);
    CU_ASSERT_STRING_EQUAL(hint, "this server wants a token: --token-file FILE or MNEMO_TOKEN");
    CU_ASSERT_EQUAL(cli_call_hint(hint, sizeof(hint), NULL, &err), 0);

    CU_ASSERT_EQUAL(cli_set_global(&ctx, NULL, CLI_OPT_TOKEN_FILE, "/t"), CLI_CONTINUE);
    ctx.token_from = ctx.sec.token_file.source;
    CU_ASSERT_EQUAL(cli_call_hint(hint, sizeof(hint), &ctx, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(hint, "does not know the token from --token-file /t"));

    err.code = MNEMO_CODE_PERMISSION_DENIED;
    snprintf(err.message, sizeof(err.message),
             "mnemo.v1.MemoryService/StoreMemory needs role write; token ci has role read");
    CU_ASSERT_EQUAL(cli_call_hint(hint, sizeof(hint), &ctx, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(hint, "this call needs role write,"));
    /* Other denials (a path outside the allowed roots) have no role. */
    snprintf(err.message, sizeof(err.message), "repository_path: outside every allowed root");
    CU_ASSERT_EQUAL(cli_call_hint(hint, sizeof(hint), &ctx, &err), -1);

    err.code = MNEMO_CODE_UNAVAILABLE;
    err.unreachable = 1;
    snprintf(err.message, sizeof(err.message), "cannot reach x: Ssl handshake failed: ...");
    CU_ASSERT_EQUAL(cli_call_hint(hint, sizeof(hint), &ctx, &err), -1); /* not TLS */
    CU_ASSERT_EQUAL(cli_set_global(&ctx, NULL, CLI_OPT_TLS, NULL), CLI_CONTINUE);
    CU_ASSERT_EQUAL(cli_call_hint(hint, sizeof(hint), &ctx, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(hint, "TLS handshake failed"));
    err.code = MNEMO_CODE_NOT_FOUND;
    CU_ASSERT_EQUAL(cli_call_hint(hint, sizeof(hint), &ctx, &err), -1);
}

static void test_cli__token_command_rejects_bad_command_lines(void)
{
    char *none[] = {"token", NULL};
    char *bogus[] = {"token", "frob", NULL};
    char *two[] = {"token", "new", "hash", NULL};
    char *out_hash[] = {"token", "hash", "--out", "f", NULL};
    cli_ctx_t ctx = {0};
    quiet_t q;
    quiet_begin(&q);
    int rc[4] = {
        cli_cmd_token.run(&ctx, &cli_cmd_token, ARGC(none), none),
        cli_cmd_token.run(&ctx, &cli_cmd_token, ARGC(bogus), bogus),
        cli_cmd_token.run(&ctx, &cli_cmd_token, ARGC(two), two),
        cli_cmd_token.run(&ctx, &cli_cmd_token, ARGC(out_hash), out_hash),
    };
    quiet_end(&q);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(rc[i], CLI_EXIT_USAGE);
}

static void test_cli__token_new_out_writes_a_private_file_once(void)
{
    char *dir = mnemo_test_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char *path = NULL;
    CU_ASSERT_FATAL(asprintf(&path, "%s/new.token", dir) > 0);
    char *argv[] = {"token", "new", "--out", path, NULL};
    cli_ctx_t ctx = {0};
    grab_t g;
    grab_begin(&g);
    int rc[2] = {cli_cmd_token.run(&ctx, &cli_cmd_token, ARGC(argv), argv),
                 cli_cmd_token.run(&ctx, &cli_cmd_token, ARGC(argv), argv)};
    char *text = grab_end(&g);
    CU_ASSERT_EQUAL(rc[0], CLI_EXIT_OK);
    CU_ASSERT_EQUAL(rc[1], CLI_EXIT_USAGE); /* never over an existing file */
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "cannot create it: File exists"));
    struct stat st;
    CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    char *token = NULL;
    char why[200];
    CU_ASSERT_EQUAL_FATAL(cli_token_read_file(&token, path, why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(strlen(token), CLI_TOKEN_NEW_LEN);
    CU_ASSERT_PTR_NULL(strstr(text, token)); /* written to the file only */
    cli_token_free(token);
    free(text);
    free(path);
    mnemo_test_rmtree(dir);
    free(dir);
}

/* ---- pages.c over a fake List call ----------------------------------- */

/* The listing fake_page serves: the page at tokens[i] names next[i]. */
typedef struct fake_listing {
    const char *tokens[4];
    const char *next[4];
    int *calls; /* counts the pages asked for */
} fake_listing_t;

static int fake_page(ProtobufCMessage **out, const char **next_page_token, mnemo_client_t *c,
                     const void *arg, const char *page_token, mnemo_call_error_t *err)
{
    const fake_listing_t *l = arg;
    (void)c;
    (*l->calls)++;
    for (int i = 0; i < 4 && l->tokens[i] != NULL; i++) {
        if (strcmp(l->tokens[i], page_token) != 0)
            continue;
        /* A heap message, as the client library hands out. */
        Mnemo__V1__ListRepositoriesResponse resp = MNEMO__V1__LIST_REPOSITORIES_RESPONSE__INIT;
        resp.next_page_token = (char *)l->next[i];
        uint8_t buf[64];
        size_t len = mnemo__v1__list_repositories_response__pack(&resp, buf);
        Mnemo__V1__ListRepositoriesResponse *copy =
            mnemo__v1__list_repositories_response__unpack(NULL, len, buf);
        *out = &copy->base;
        *next_page_token = copy->next_page_token;
        return GRPC_STATUS_OK;
    }
    memset(err, 0, sizeof(*err));
    err->code = GRPC_STATUS_INVALID_ARGUMENT;
    snprintf(err->message, sizeof(err->message), "page_token: unknown");
    return err->code;
}

static void test_cli__pages_fetch_follows_tokens_with_all(void)
{
    int calls = 0;
    fake_listing_t l = {{"", "p2", "p3", NULL}, {"p2", "p3", "", NULL}, &calls};
    cli_ctx_t ctx = {0};
    cli_pages_t p = {0};
    CU_ASSERT_EQUAL(cli_pages_fetch(&p, &ctx, fake_page, &l, NULL, 0), CLI_EXIT_OK);
    CU_ASSERT_EQUAL(p.n, 1);
    CU_ASSERT_STRING_EQUAL(p.next_page_token, "p2");
    cli_pages_cleanup(&p);
    CU_ASSERT_EQUAL(cli_pages_fetch(&p, &ctx, fake_page, &l, "p2", 1), CLI_EXIT_OK);
    CU_ASSERT_EQUAL(p.n, 2);
    CU_ASSERT_STRING_EQUAL(p.next_page_token, "");
    cli_pages_cleanup(&p);
    CU_ASSERT_EQUAL(cli_pages_fetch(&p, &ctx, fake_page, &l, NULL, 1), CLI_EXIT_OK);
    CU_ASSERT_EQUAL(p.n, 3);
    cli_pages_cleanup(&p);
    CU_ASSERT_EQUAL(calls, 6);
}

static void test_cli__pages_fetch_stops_on_a_repeated_token_or_an_error(void)
{
    int loop_calls = 0, broken_calls = 0;
    fake_listing_t loop = {{"", "x", NULL}, {"x", "x", NULL}, &loop_calls};
    fake_listing_t broken = {{"", NULL}, {"gone", NULL}, &broken_calls};
    cli_ctx_t ctx = {0};
    cli_pages_t p1 = {0}, p2 = {0};
    quiet_t q;
    quiet_begin(&q);
    int rc[2] = {
        cli_pages_fetch(&p1, &ctx, fake_page, &loop, NULL, 1),
        cli_pages_fetch(&p2, &ctx, fake_page, &broken, NULL, 1),
    };
    quiet_end(&q);
    CU_ASSERT_EQUAL(rc[0], CLI_EXIT_SERVER);
    CU_ASSERT_EQUAL(loop_calls, 2);
    CU_ASSERT_EQUAL(rc[1], CLI_EXIT_SERVER);
    CU_ASSERT_EQUAL(broken_calls, 2);
    CU_ASSERT_EQUAL(p2.n, 1);
    cli_pages_cleanup(&p1);
    cli_pages_cleanup(&p2);
}

/* ---- libmnemo lookups (no connection) -------------------------------- */

static void test_cli__client_names_codes_and_serving_states(void)
{
    CU_ASSERT_STRING_EQUAL(mnemo_client_code_name(0), "OK");
    CU_ASSERT_STRING_EQUAL(mnemo_client_code_name(5), "NOT_FOUND");
    CU_ASSERT_STRING_EQUAL(mnemo_client_code_name(14), "UNAVAILABLE");
    CU_ASSERT_STRING_EQUAL(mnemo_client_code_name(16), "UNAUTHENTICATED");
    CU_ASSERT_STRING_EQUAL(mnemo_client_code_name(17), "UNKNOWN_CODE");
    CU_ASSERT_STRING_EQUAL(mnemo_client_code_name(-1), "UNKNOWN_CODE");
    CU_ASSERT_STRING_EQUAL(mnemo_client_serving_status_name(1), "SERVING");
    CU_ASSERT_STRING_EQUAL(mnemo_client_serving_status_name(2), "NOT_SERVING");
    CU_ASSERT_STRING_EQUAL(mnemo_client_serving_status_name(99), "UNKNOWN");
}

static void test_cli__client_open_rejects_bad_arguments(void)
{
    mnemo_client_t *c = NULL;
    mnemo_call_error_t err;
    CU_ASSERT_EQUAL(mnemo_client_open(&c, "", NULL, &err), GRPC_STATUS_INVALID_ARGUMENT);
    CU_ASSERT_EQUAL(err.code, GRPC_STATUS_INVALID_ARGUMENT);
    CU_ASSERT_STRING_EQUAL(err.message, "target: empty");
    CU_ASSERT_PTR_NULL(c);
    mnemo_client_options_t opts;
    mnemo_client_options_init(&opts);
    CU_ASSERT_EQUAL(opts.deadline_ms, MNEMO_CLIENT_DEFAULT_DEADLINE_MS);
    opts.deadline_ms = -1;
    CU_ASSERT_EQUAL(mnemo_client_open(&c, "127.0.0.1:1", &opts, &err),
                    GRPC_STATUS_INVALID_ARGUMENT);
    CU_ASSERT_PTR_NULL(c);
    /* Opening does not connect, so this needs no server. */
    CU_ASSERT_EQUAL_FATAL(mnemo_client_open(&c, "127.0.0.1:1", NULL, &err), 0);
    CU_ASSERT_EQUAL(err.code, 0);
    CU_ASSERT_STRING_EQUAL(mnemo_client_target(c), "127.0.0.1:1");
    mnemo_client_close(c);
    mnemo_client_close(NULL);
    mnemo_client_free_message(NULL);
}

static void test_cli__client_open_checks_security_options(void)
{
    char *dir;
    char *pem = temp_file(&dir, "ca.pem",
                          "-----BEGIN CERTIFICATE-----\nAAAA\n-----END "
                          "CERTIFICATE-----\n");
    char *empty = NULL, *text = NULL;
    CU_ASSERT_FATAL(asprintf(&empty, "%s/empty.pem", dir) > 0);
    CU_ASSERT_FATAL(asprintf(&text, "%s/text.pem", dir) > 0);
    CU_ASSERT_EQUAL_FATAL(mnemo_test_write_file(empty, "", 0), 0);
    CU_ASSERT_EQUAL_FATAL(mnemo_test_write_file(text, "no pem\n", 7), 0);
    struct {
        mnemo_client_options_t o;
        const char *want; /* the start of err.message; NULL: opens */
    } cases[] = {
        {{.tls_ca_file = pem}, "tls_ca_file: set while tls is 0"},
        {{.tls_server_name = "x"}, "tls_server_name: set while tls is 0"},
        {{.tls = 1, .tls_cert_file = pem}, "tls_key_file: missing"},
        {{.tls = 1, .tls_key_file = pem}, "tls_cert_file: missing"},
        {{.tls = 1, .tls_server_name = ""}, "tls_server_name: empty"},
        {{.tls = 1, .tls_ca_file = "/nonexistent/ca.pem"},
         "tls_ca_file: cannot read /nonexistent/ca.pem: No such file or directory"},
        {{.tls = 1, .tls_ca_file = empty}, "tls_ca_file: "},
        {{.tls = 1, .tls_ca_file = text}, "tls_ca_file: "},
        {{.tls = 1, .tls_ca_file = pem, .tls_cert_file = pem, .tls_key_file = dir},
         "tls_key_file: cannot read "},
        {{.token = ""}, "token: empty"},
        {{.token = "secret value"}, "token: character 7 is a space"},
        {{.token = "secret\nvalue"}, "token: character 7 is a space"},
        {{.tls = 1}, NULL},
        {{.tls = 1,
          .tls_ca_file = pem,
          .tls_cert_file = pem,
          .tls_key_file = pem,
          .tls_server_name = "mnemod.test",
          .token = "s3cret"},
         NULL},
        {{.token = "plaintext-token"}, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mnemo_client_t *c = NULL;
        mnemo_call_error_t err;
        int rc = mnemo_client_open(&c, "127.0.0.1:1", &cases[i].o, &err);
        if (cases[i].want == NULL) {
            CU_ASSERT_EQUAL(rc, MNEMO_CODE_OK);
            CU_ASSERT_PTR_NOT_NULL(c);
        } else {
            CU_ASSERT_EQUAL(rc, MNEMO_CODE_INVALID_ARGUMENT);
            CU_ASSERT_PTR_NULL(c);
            CU_ASSERT_NSTRING_EQUAL(err.message, cases[i].want, strlen(cases[i].want));
            CU_ASSERT_PTR_NULL(strstr(err.message, "secret"));
        }
        mnemo_client_close(c);
    }
    char *long_token = malloc(MNEMO_CLIENT_TOKEN_MAX + 2);
    memset(long_token, 'x', MNEMO_CLIENT_TOKEN_MAX + 1);
    long_token[MNEMO_CLIENT_TOKEN_MAX + 1] = '\0';
    mnemo_client_options_t o;
    mnemo_client_options_init(&o);
    CU_ASSERT_EQUAL(o.tls, 0);
    CU_ASSERT_PTR_NULL(o.token);
    o.token = long_token;
    mnemo_client_t *c = NULL;
    mnemo_call_error_t err;
    CU_ASSERT_EQUAL(mnemo_client_open(&c, "127.0.0.1:1", &o, &err), MNEMO_CODE_INVALID_ARGUMENT);
    long_token[MNEMO_CLIENT_TOKEN_MAX] = '\0';
    CU_ASSERT_EQUAL(mnemo_client_open(&c, "127.0.0.1:1", &o, &err), MNEMO_CODE_OK);
    mnemo_client_close(c);
    free(long_token);
    free(pem);
    free(empty);
    free(text);
    mnemo_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    CU_pSuite s = mnemo_test_suite("cli");
    MNEMO_TEST(s, test_cli__args_scans_options_and_positionals);
    MNEMO_TEST(s, test_cli__args_value_may_look_like_an_option);
    MNEMO_TEST(s, test_cli__args_double_dash_ends_options);
    MNEMO_TEST(s, test_cli__args_reports_errors);
    MNEMO_TEST(s, test_cli__parse_int_accepts_whole_numbers_in_range);
    MNEMO_TEST(s, test_cli__parse_double_rejects_non_finite);
    MNEMO_TEST(s, test_cli__parse_meta_splits_at_first_equals);
    MNEMO_TEST(s, test_cli__meta_set_last_value_wins);
    MNEMO_TEST(s, test_cli__strv_grows);
    MNEMO_TEST(s, test_cli__read_all_reads_past_the_first_buffer);
    MNEMO_TEST(s, test_cli__trim_newlines_strips_only_line_ends);
    MNEMO_TEST(s, test_cli__format_time_is_iso8601_utc_with_millis);
    MNEMO_TEST(s, test_cli__utf8_seq_accepts_only_valid_sequences);
    MNEMO_TEST(s, test_cli__display_width_counts_characters);
    MNEMO_TEST(s, test_cli__preview_is_one_line_and_cut_at_characters);
    MNEMO_TEST(s, test_cli__preview_respects_a_small_buffer);
    MNEMO_TEST(s, test_cli__exit_codes_follow_the_contract);
    MNEMO_TEST(s, test_cli__json_escapes_strings);
    MNEMO_TEST(s, test_cli__json_places_separators);
    MNEMO_TEST(s, test_cli__json_doubles_round_trip_and_non_finite_is_null);
    MNEMO_TEST(s, test_cli__json_many_members_keep_their_commas);
    MNEMO_TEST(s, test_cli__json_memory_uses_proto_names_and_iso_times);
    MNEMO_TEST(s, test_cli__json_field_time_is_iso8601_or_null);
    MNEMO_TEST(s, test_cli__memory_table_aligns_columns);
    MNEMO_TEST(s, test_cli__memory_block_shows_every_field);
    MNEMO_TEST(s, test_cli__print_text_masks_terminal_controls);
    MNEMO_TEST(s, test_cli__strv_join_uses_the_separator);
    MNEMO_TEST(s, test_cli__absolute_path_resolves_against_the_cwd);
    MNEMO_TEST(s, test_cli__progress_formats_durations);
    MNEMO_TEST(s, test_cli__progress_formats_rates_and_bytes);
    MNEMO_TEST(s, test_cli__progress_eta_needs_a_rate);
    MNEMO_TEST(s, test_cli__progress_rate_warms_up_then_smooths);
    MNEMO_TEST(s, test_cli__progress_truncates_paths_from_the_left);
    MNEMO_TEST(s, test_cli__progress_bar_fills_the_width);
    MNEMO_TEST(s, test_cli__progress_bar_gives_up_fields_when_narrow);
    MNEMO_TEST(s, test_cli__progress_bar_without_rate_shows_no_eta);
    MNEMO_TEST(s, test_cli__progress_plain_line);
    MNEMO_TEST(s, test_cli__sync_state_names_are_short);
    MNEMO_TEST(s, test_cli__sync_view_never_counts_past_the_total);
    MNEMO_TEST(s, test_cli__sync_summary_shows_counts_time_and_error);
    MNEMO_TEST(s, test_cli__sync_event_json_uses_proto_names);
    MNEMO_TEST(s, test_cli__code_hit_is_cut_to_max_lines);
    MNEMO_TEST(s, test_cli__repository_table_aligns_columns);
    MNEMO_TEST(s, test_cli__sync_parse_reads_every_option);
    MNEMO_TEST(s, test_cli__sync_parse_rejects_bad_command_lines);
    MNEMO_TEST(s, test_cli__watch_repos_and_code_parse);
    MNEMO_TEST(s, test_cli__repo_commands_reject_bad_command_lines);
    MNEMO_TEST(s, test_cli__parse_args_hands_own_arguments_to_the_command);
    MNEMO_TEST(s, test_cli__parse_args_stops_at_the_first_failure);
    MNEMO_TEST(s, test_cli__parse_single_takes_one_positional);
    MNEMO_TEST(s, test_cli__every_command_help_exits_0_without_connecting);
    MNEMO_TEST(s, test_cli__pages_fetch_follows_tokens_with_all);
    MNEMO_TEST(s, test_cli__pages_fetch_stops_on_a_repeated_token_or_an_error);
    MNEMO_TEST(s, test_cli__client_names_codes_and_serving_states);
    MNEMO_TEST(s, test_cli__client_open_rejects_bad_arguments);
    MNEMO_TEST(s, test_cli__client_open_checks_security_options);
    MNEMO_TEST(s, test_cli__ctx_init_reads_the_environment);
    MNEMO_TEST(s, test_cli__security_flags_win_over_the_environment);
    MNEMO_TEST(s, test_cli__client_options_tls_is_off_unless_asked);
    MNEMO_TEST(s, test_cli__client_options_take_the_token_from_the_environment);
    MNEMO_TEST(s, test_cli__client_options_refuse_bad_tokens_without_showing_them);
    MNEMO_TEST(s, test_cli__connect_names_the_setting_of_an_unusable_file);
    MNEMO_TEST(s, test_cli__token_read_takes_the_first_line);
    MNEMO_TEST(s, test_cli__token_read_one_line_and_length_limits);
    MNEMO_TEST(s, test_cli__token_check_wants_printable_ascii);
    MNEMO_TEST(s, test_cli__base64url_follows_rfc4648);
    MNEMO_TEST(s, test_cli__token_new_is_random_base64url);
    MNEMO_TEST(s, test_cli__token_hash_is_sha256_hex);
    MNEMO_TEST(s, test_cli__crypto_checks_pem_files);
    MNEMO_TEST(s, test_cli__call_hints_name_the_fix);
    MNEMO_TEST(s, test_cli__token_command_rejects_bad_command_lines);
    MNEMO_TEST(s, test_cli__token_new_out_writes_a_private_file_once);
    return mnemo_test_run();
}
