/* test_cli.c - unit tests of the mnemo CLI's pure parts (mnemo_cli_core:
 * args.c, format.c, json.c, render.c) and of the libmnemo lookups that need
 * no server. No sockets: nothing here opens a connection.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/status.h>

#include "testutil.h"

#include "args.h"
#include "format.h"
#include "json.h"
#include "mnemo/client.h"
#include "render.h"

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
    MNEMO_TEST(s, test_cli__memory_table_aligns_columns);
    MNEMO_TEST(s, test_cli__memory_block_shows_every_field);
    MNEMO_TEST(s, test_cli__print_text_masks_terminal_controls);
    MNEMO_TEST(s, test_cli__client_names_codes_and_serving_states);
    MNEMO_TEST(s, test_cli__client_open_rejects_bad_arguments);
    return mnemo_test_run();
}
