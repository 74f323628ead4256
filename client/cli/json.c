/* json.c - the JSON writer of the mnemo CLI (see json.h).
 *
 * DESIGN: the writer keeps one small state per nesting level (how many
 * values were written, object or array), enough to put separators in the
 * right places; misuse (a value without a key in an object, unbalanced
 * containers) is a programming error caught by assert. Doubles are written
 * with the fewest digits that read back exactly. Part of mnemo_cli_core.
 * Threads: a writer belongs to one thread.
 */
#include "json.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

void cli_json_init(cli_json_t *j, FILE *f)
{
    memset(j, 0, sizeof(*j));
    j->f = f;
}

/* Writes a comma unless this is the first member of the open container. */
static void separate(cli_json_t *j)
{
    if (j->has_member[j->depth - 1])
        fputc(',', j->f);
    j->has_member[j->depth - 1] = 1;
}

/* Writes the separator that goes before a value at the current depth. */
static void before_value(cli_json_t *j)
{
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    assert(j->depth == 0 || !j->object[j->depth - 1]);
    if (j->depth > 0)
        separate(j);
}

static void begin(cli_json_t *j, int object)
{
    before_value(j);
    assert(j->depth < CLI_JSON_MAX_DEPTH);
    j->has_member[j->depth] = 0;
    j->object[j->depth] = (unsigned char)object;
    j->depth++;
    fputc(object ? '{' : '[', j->f);
}

static void end(cli_json_t *j, int object)
{
    assert(j->depth > 0 && j->object[j->depth - 1] == object && !j->after_key);
    j->depth--;
    fputc(object ? '}' : ']', j->f);
}

void cli_json_begin_object(cli_json_t *j)
{
    begin(j, 1);
}

void cli_json_end_object(cli_json_t *j)
{
    end(j, 1);
}

void cli_json_begin_array(cli_json_t *j)
{
    begin(j, 0);
}

void cli_json_end_array(cli_json_t *j)
{
    end(j, 0);
}

void cli_json_key(cli_json_t *j, const char *key)
{
    assert(j->depth > 0 && j->object[j->depth - 1] && !j->after_key);
    separate(j);
    cli_json_write_string(j->f, key, strlen(key));
    fputc(':', j->f);
    j->after_key = 1;
}

/* Writes the escape of one byte below 0x20 (or the quote or backslash). */
static void write_escape(FILE *f, unsigned char ch)
{
    switch (ch) {
    case '"':
        fputs("\\\"", f);
        break;
    case '\\':
        fputs("\\\\", f);
        break;
    case '\n':
        fputs("\\n", f);
        break;
    case '\r':
        fputs("\\r", f);
        break;
    case '\t':
        fputs("\\t", f);
        break;
    case '\b':
        fputs("\\b", f);
        break;
    case '\f':
        fputs("\\f", f);
        break;
    default:
        fprintf(f, "\\u%04x", ch);
        break;
    }
}

void cli_json_write_string(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == '"' || ch == '\\') {
            write_escape(f, ch);
            i++;
            continue;
        }
        size_t seq = cli_utf8_seq(s + i, n - i);
        if (seq == 0) {
            fputs("\\ufffd", f);
            i++;
            continue;
        }
        fwrite(s + i, 1, seq, f);
        i += seq;
    }
    fputc('"', f);
}

void cli_json_string_n(cli_json_t *j, const char *s, size_t n)
{
    before_value(j);
    cli_json_write_string(j->f, s, n);
}

void cli_json_string(cli_json_t *j, const char *s)
{
    if (s == NULL)
        cli_json_null(j);
    else
        cli_json_string_n(j, s, strlen(s));
}

void cli_json_int(cli_json_t *j, int64_t v)
{
    before_value(j);
    fprintf(j->f, "%" PRId64, v);
}

void cli_json_double(cli_json_t *j, double v)
{
    if (!isfinite(v)) {
        cli_json_null(j);
        return;
    }
    before_value(j);
    char buf[32];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, j->f);
}

void cli_json_bool(cli_json_t *j, int v)
{
    before_value(j);
    fputs(v ? "true" : "false", j->f);
}

void cli_json_null(cli_json_t *j)
{
    before_value(j);
    fputs("null", j->f);
}

void cli_json_field_string(cli_json_t *j, const char *key, const char *s)
{
    cli_json_key(j, key);
    cli_json_string(j, s);
}

void cli_json_field_int(cli_json_t *j, const char *key, int64_t v)
{
    cli_json_key(j, key);
    cli_json_int(j, v);
}

void cli_json_field_double(cli_json_t *j, const char *key, double v)
{
    cli_json_key(j, key);
    cli_json_double(j, v);
}

void cli_json_field_bool(cli_json_t *j, const char *key, int v)
{
    cli_json_key(j, key);
    cli_json_bool(j, v);
}

void cli_json_field_time(cli_json_t *j, const char *key, int64_t ms)
{
    char buf[CLI_TIME_MAX];
    cli_json_field_string(j, key, ms > 0 ? cli_format_time(buf, ms) : NULL);
}

void cli_json_finish(cli_json_t *j)
{
    assert(j->depth == 0 && !j->after_key);
    fputc('\n', j->f);
    fflush(j->f);
}
