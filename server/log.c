/* log.c - one line per event on stderr, text or JSON (see log.h).
 *
 * DESIGN: a line is built in an out_t over the caller's buffer whose last
 * CLOSE_ROOM bytes are kept for the closing characters, so a cut line is
 * still closed (JSON: the open string's quote and the brace; text: a
 * quoted value's quote). Escapes are appended whole or not at all. A text
 * value is logfmt's: bare when every byte stands for itself, else quoted
 * and escaped as a JSON string is, so no value can end its field or its
 * line early. Threads: any; the settings are written once before other
 * threads start and read relaxed.
 */
#include "log.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "utf8.h"

/* '"', '}', '\n' and the NUL (JSON); '"', '\n' and the NUL (text). */
#define CLOSE_ROOM 4
/* A field's separator, quotes and colon, and its longest number. */
#define FIELD_ROOM 48

static atomic_int log_format = MNEMO_LOG_TEXT;
static atomic_int log_min = MNEMO_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void mnemo_log_setup(mnemo_log_format_t format, mnemo_log_level_t min_level)
{
    atomic_store_explicit(&log_format, (int)format, memory_order_relaxed);
    atomic_store_explicit(&log_min, (int)min_level, memory_order_relaxed);
}

bool mnemo_log_parse_level(mnemo_log_level_t *out, const char *name)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (mnemo_log_level_t)i;
            return true;
        }
    }
    return false;
}

bool mnemo_log_parse_format(mnemo_log_format_t *out, const char *name)
{
    if (strcmp(name, "text") == 0 || strcmp(name, "json") == 0) {
        *out = name[0] == 't' ? MNEMO_LOG_TEXT : MNEMO_LOG_JSON;
        return true;
    }
    return false;
}

bool mnemo_log_enabled(mnemo_log_level_t level)
{
    return (int)level >= atomic_load_explicit(&log_min, memory_order_relaxed);
}

typedef struct out {
    char *p;
    size_t cap; /* usable bytes: the buffer less CLOSE_ROOM */
    size_t len;
    bool full; /* something did not fit: nothing more is appended */
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
    if (o->full || n > o->cap - o->len) {
        o->full = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void puts_(out_t *o, const char *s)
{
    put(o, s, strlen(s));
}

/* Length of the well-formed UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t want = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
    return want != 0 && want <= n && mnemo_utf8_valid((const char *)s, want) ? want : 0;
}

/* Appends s escaped: for JSON (inside a string; a quoted text value too)
 * or for a text line's message (backslashes doubled, control bytes and
 * invalid UTF-8 as \xNN, so a line stays one line and reads back). */
static void put_escaped(out_t *o, const char *str, bool json)
{
    const unsigned char *s = (const unsigned char *)(str != NULL ? str : "");
    size_t n = strlen((const char *)s);
    char esc[8];
    for (size_t i = 0; i < n && !o->full;) {
        unsigned char c = s[i];
        if (c >= 0x80) {
            size_t k = utf8_seq(s + i, n - i);
            if (k > 0)
                put(o, (const char *)s + i, k);
            else if (json)
                puts_(o, "\\ufffd");
            else
                snprintf(esc, sizeof esc, "\\x%02X", c), puts_(o, esc);
            i += k > 0 ? k : 1;
            continue;
        }
        if (c == '\\' || (json && c == '"'))
            esc[0] = '\\', esc[1] = (char)c, esc[2] = '\0';
        else if (c == '\n' || c == '\t' || c == '\r')
            snprintf(esc, sizeof esc, "\\%c", c == '\n' ? 'n' : c == '\t' ? 't' : 'r');
        else if (c < 0x20 || c == 0x7F)
            snprintf(esc, sizeof esc, json ? "\\u%04x" : "\\x%02X", c);
        else
            esc[0] = (char)c, esc[1] = '\0';
        puts_(o, esc);
        i++;
    }
}

/* True when a text value must be quoted: it is empty, or holds a byte
 * that would not stand for itself bare (a space or another separator, a
 * quote, a backslash, a control byte, bytes that are not UTF-8). */
static bool needs_quotes(const unsigned char *s)
{
    if (s[0] == '\0')
        return true;
    for (size_t n = strlen((const char *)s), i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c <= ' ' || c == '=' || c == '"' || c == '\\' || c == 0x7F)
            return true;
        size_t k = c >= 0x80 ? utf8_seq(s + i, n - i) : 1;
        if (k == 0)
            return true;
        i += k - 1;
    }
    return false;
}

/* A text field value, logfmt-style: bare, or quoted with JSON's escapes. A
 * value cut by the end of the line still gets its closing quote. */
static void put_text_value(out_t *o, const char *s)
{
    s = s != NULL ? s : "";
    if (!needs_quotes((const unsigned char *)s)) {
        put_escaped(o, s, false); /* nothing in it to escape: as it is */
        return;
    }
    puts_(o, "\"");
    if (o->full)
        return; /* not even the opening quote */
    put_escaped(o, s, true);
    puts_(o, "\"");
    if (o->full) /* cut: the reserved room takes the closing quote */
        o->p[o->len++] = '"';
}

/* A field starts only with room for its key, its separators and any
 * number, so a cut falls inside a string value, which the reserve closes. */
static bool field_fits(out_t *o, const char *key)
{
    if (!o->full && o->cap - o->len < strlen(key) + FIELD_ROOM)
        o->full = true;
    return !o->full;
}

static void put_number(out_t *o, const mnemo_log_field_t *f, bool json)
{
    char num[64];
    if (f->kind == MNEMO_LOG_FIELD_INT)
        snprintf(num, sizeof num, "%lld", f->i);
    else if (isfinite(f->d) && fabs(f->d) < 1e15)
        snprintf(num, sizeof num, "%.3f", f->d);
    else if (isfinite(f->d))
        snprintf(num, sizeof num, "%.6g", f->d);
    else
        snprintf(num, sizeof num, "%s", json ? "null" : "nan");
    puts_(o, num);
}

static void put_ts(out_t *o, long long ts_ms)
{
    time_t secs = (time_t)(ts_ms / 1000);
    struct tm tm;
    char ts[48];
    gmtime_r(&secs, &tm);
    size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof ts - n, ".%03dZ", (int)(ts_ms % 1000));
    puts_(o, ts);
}

static void format_json(out_t *o, mnemo_log_level_t level, long long ts_ms, const char *msg,
                        const mnemo_log_field_t *fields, size_t n)
{
    puts_(o, "{\"ts\":\"");
    put_ts(o, ts_ms);
    puts_(o, "\",\"level\":\"");
    puts_(o, level_names[level]);
    puts_(o, "\",\"msg\":\"");
    put_escaped(o, msg, true);
    bool open = true; /* a string is open: the closing quote is due */
    for (size_t i = 0; i < n && !o->full; i++) {
        if (!field_fits(o, fields[i].key))
            break;
        puts_(o, open ? "\",\"" : ",\"");
        puts_(o, fields[i].key);
        puts_(o, "\":");
        open = fields[i].kind == MNEMO_LOG_FIELD_STR;
        if (open) {
            puts_(o, "\"");
            put_escaped(o, fields[i].s, true);
        } else {
            put_number(o, &fields[i], true);
        }
    }
    /* The reserved room always takes the closing characters. */
    if (open)
        o->p[o->len++] = '"';
    o->p[o->len++] = '}';
}

static void format_text(out_t *o, const char *msg, const mnemo_log_field_t *fields, size_t n)
{
    puts_(o, "mnemod: ");
    put_escaped(o, msg, false);
    for (size_t i = 0; i < n && field_fits(o, fields[i].key); i++) {
        puts_(o, " ");
        puts_(o, fields[i].key);
        puts_(o, "=");
        if (fields[i].kind == MNEMO_LOG_FIELD_STR)
            put_text_value(o, fields[i].s);
        else
            put_number(o, &fields[i], false);
    }
}

size_t mnemo_log_format_line(char *out, size_t cap, mnemo_log_format_t format,
                             mnemo_log_level_t level, long long ts_ms, const char *msg,
                             const mnemo_log_field_t *fields, size_t n_fields)
{
    if (cap < 64)
        return out[0] = '\0', 0;
    out_t o = {.p = out, .cap = cap - CLOSE_ROOM};
    if (format == MNEMO_LOG_JSON) {
        format_json(&o, level, ts_ms, msg, fields, n_fields);
    } else {
        format_text(&o, msg, fields, n_fields);
    }
    o.p[o.len++] = '\n';
    o.p[o.len] = '\0';
    return o.len;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_line(const char *line, size_t len)
{
    while (len > 0) {
        ssize_t w = write(STDERR_FILENO, line, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* nowhere to say it */
        line += w;
        len -= (size_t)w;
    }
}

void mnemo_log_fields(mnemo_log_level_t level, bool always, const char *msg,
                      const mnemo_log_field_t *fields, size_t n_fields)
{
    if (!always && !mnemo_log_enabled(level))
        return;
    char line[MNEMO_LOG_LINE_MAX];
    int format = atomic_load_explicit(&log_format, memory_order_relaxed);
    size_t len = mnemo_log_format_line(line, sizeof line, (mnemo_log_format_t)format, level,
                                       now_ms(), msg, fields, n_fields);
    write_line(line, len);
}

void mnemo_log(mnemo_log_level_t level, const char *fmt, ...)
{
    if (!mnemo_log_enabled(level))
        return;
    char msg[MNEMO_LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mnemo_log_fields(level, true, msg, NULL, 0);
}
