/* json.h - the small JSON writer every `mnemo --json` command prints with.
 *
 * DESIGN: a streaming writer onto a FILE: it tracks nesting to place commas
 * and colons, so commands only say what to write. Output is compact, one
 * document per line. Strings are escaped per RFC 8259 (quote, backslash,
 * control characters); invalid UTF-8 becomes U+FFFD so the output is
 * always valid JSON. Numbers that are not finite are written as null.
 * Part of mnemo_cli_core. Threads: a writer belongs to one thread.
 */
#ifndef MNEMO_CLI_JSON_H
#define MNEMO_CLI_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_JSON_MAX_DEPTH 32

typedef struct cli_json {
    FILE *f;                                      /* not owned */
    int depth;                                    /* open objects and arrays */
    unsigned char has_member[CLI_JSON_MAX_DEPTH]; /* 1: the container at that depth has a member */
    unsigned char object[CLI_JSON_MAX_DEPTH];     /* 1: the container at that depth is an object */
    int after_key;                                /* a key was written; its value comes next */
} cli_json_t;

void cli_json_init(cli_json_t *j, FILE *f);

void cli_json_begin_object(cli_json_t *j);
void cli_json_end_object(cli_json_t *j);
void cli_json_begin_array(cli_json_t *j);
void cli_json_end_array(cli_json_t *j);

/* Writes a key inside an object; the next value is its value. */
void cli_json_key(cli_json_t *j, const char *key);

/* Values. cli_json_string(j, NULL) writes null. */
void cli_json_string(cli_json_t *j, const char *s);
void cli_json_string_n(cli_json_t *j, const char *s, size_t n);
void cli_json_int(cli_json_t *j, int64_t v);
void cli_json_double(cli_json_t *j, double v);
void cli_json_bool(cli_json_t *j, int v);
void cli_json_null(cli_json_t *j);

/* Key and value in one call. */
void cli_json_field_string(cli_json_t *j, const char *key, const char *s);
void cli_json_field_int(cli_json_t *j, const char *key, int64_t v);
void cli_json_field_double(cli_json_t *j, const char *key, double v);
void cli_json_field_bool(cli_json_t *j, const char *key, int v);

/* Key and ms (milliseconds since the Unix epoch) as an ISO-8601 string
 * (cli_format_time); null when ms is not positive (unset). */
void cli_json_field_time(cli_json_t *j, const char *key, int64_t ms);

/* Ends the document (every container must be closed): writes a newline and
 * flushes. */
void cli_json_finish(cli_json_t *j);

/* Writes s[0..n) as a JSON string literal, quotes included. */
void cli_json_write_string(FILE *f, const char *s, size_t n);

#endif
