/* log.h - mnemod's one way to say something: one line per event on stderr,
 * as text or as JSON, filtered by level.
 *
 * DESIGN: every message of mnemod goes through here (the domain's too, so
 * this is plain C with no gRPC): a line is formatted into a buffer on the
 * caller's stack and written with one write(2), so lines from different
 * threads never interleave and no lock is taken. Text lines read
 * "mnemod: <message>" followed by " key=value" for each field, logfmt's
 * way: a value that is empty or holds a space, '=', '"', '\\', a control
 * byte or bytes that are not UTF-8 is written in double quotes with JSON's
 * escapes (\" \\ \n \r \t \u00XX, U+FFFD), any other bare; the message
 * is never quoted, but its backslashes are doubled and its control bytes
 * and non-UTF-8 bytes written \n \r \t \xNN, so it never breaks the
 * line. JSON lines are one object with "ts" (RFC 3339, UTC,
 * milliseconds), "level", "msg" and the fields, every string escaped so
 * the line is valid JSON whatever bytes a message holds (bytes that are
 * not UTF-8 become U+FFFD). A line longer than
 * MNEMO_LOG_LINE_MAX is cut, and stays valid. Secrets never reach this
 * module: callers log names (a token's entry name), never tokens.
 *
 * Threads: mnemo_log_setup once on the main thread before other threads
 * start; everything else from any thread.
 */
#ifndef MNEMO_LOG_H
#define MNEMO_LOG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum mnemo_log_level {
    MNEMO_LOG_DEBUG,
    MNEMO_LOG_INFO,
    MNEMO_LOG_WARN,
    MNEMO_LOG_ERROR,
} mnemo_log_level_t;

typedef enum mnemo_log_format {
    MNEMO_LOG_TEXT,
    MNEMO_LOG_JSON,
} mnemo_log_format_t;

/* The longest line written, newline included. */
#define MNEMO_LOG_LINE_MAX 4096

/* One structured field of a line: a string, an integer or a number. */
typedef struct mnemo_log_field {
    const char *key; /* a plain identifier: written as is */
    enum { MNEMO_LOG_FIELD_STR, MNEMO_LOG_FIELD_INT, MNEMO_LOG_FIELD_NUM } kind;
    const char *s; /* MNEMO_LOG_FIELD_STR; NULL reads as "" */
    long long i;   /* MNEMO_LOG_FIELD_INT */
    double d;      /* MNEMO_LOG_FIELD_NUM (written with 3 decimals) */
} mnemo_log_field_t;

#define MNEMO_LOG_STR(k, v) ((mnemo_log_field_t){.key = (k), .kind = MNEMO_LOG_FIELD_STR, .s = (v)})
#define MNEMO_LOG_INT(k, v) ((mnemo_log_field_t){.key = (k), .kind = MNEMO_LOG_FIELD_INT, .i = (v)})
#define MNEMO_LOG_NUM(k, v) ((mnemo_log_field_t){.key = (k), .kind = MNEMO_LOG_FIELD_NUM, .d = (v)})

/* Sets the format and the lowest level written (default: text, info). */
void mnemo_log_setup(mnemo_log_format_t format, mnemo_log_level_t min_level);

/* The names --log-level and --log-format take: "debug", "info", "warn",
 * "error"; "text", "json". Return false for anything else. */
bool mnemo_log_parse_level(mnemo_log_level_t *out, const char *name);
bool mnemo_log_parse_format(mnemo_log_format_t *out, const char *name);

/* True when a line of this level would be written (to skip building an
 * expensive message). */
bool mnemo_log_enabled(mnemo_log_level_t level);

/* One line at level: the printf-formatted message. */
void mnemo_log(mnemo_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line with fields after the message (the access log). always: write
 * it whatever the level filter says. */
void mnemo_log_fields(mnemo_log_level_t level, bool always, const char *msg,
                      const mnemo_log_field_t *fields, size_t n_fields);

/* Formats the line mnemo_log_fields would write into out (at most cap
 * bytes, NUL-terminated, ending in a newline), with ts_ms as its time;
 * returns its length. For tests. */
size_t mnemo_log_format_line(char *out, size_t cap, mnemo_log_format_t format,
                             mnemo_log_level_t level, long long ts_ms, const char *msg,
                             const mnemo_log_field_t *fields, size_t n_fields);

#endif
