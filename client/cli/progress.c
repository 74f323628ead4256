/* progress.c - progress lines, rates and durations (see progress.h).
 *
 * DESIGN: a line is built from ASCII fields (bar, percentage, count, rate,
 * ETA), whose width is their length, plus the one field of unknown shape,
 * the path, which is sanitised and cut from the left to the room left:
 * the end of a path (file name, nearest directories) says the most. The
 * rate is an exponentially weighted average of the rates between samples,
 * weighted by the time each covers, so bursts of events (one per batch)
 * and pauses smooth out alike. Part of mnemo_cli_core. Threads: any.
 */
#include "progress.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "format.h"

#define BAR_WIDTH     20 /* cells of a bar when there is room */
#define BAR_MIN_WIDTH 10 /* narrower than this, the bar goes */
#define PATH_MIN_COLS 8  /* a path cut shorter than this says nothing */
#define ETA_MAX_S     (100.0 * 3600.0)
#define ELLIPSIS      "\xE2\x80\xA6" /* U+2026, one column */

void cli_rate_init(cli_rate_t *r)
{
    memset(r, 0, sizeof(*r));
}

double cli_rate_update(cli_rate_t *r, double now, int64_t done)
{
    if (r->samples == 0 || done < r->last_done || now < r->last_t) {
        cli_rate_init(r);
        r->samples = 1;
        r->first_t = r->last_t = now;
        r->first_done = r->last_done = done;
        return -1;
    }
    r->samples++;
    if (!r->known) {
        double elapsed = now - r->first_t;
        if (elapsed < CLI_RATE_WARMUP_S)
            return -1;
        r->rate = (double)(done - r->first_done) / elapsed;
        r->known = 1;
        r->last_t = now;
        r->last_done = done;
        return r->rate;
    }
    double dt = now - r->last_t;
    if (dt <= 0)
        return r->rate; /* the count is taken in with the next sample that has time */
    double inst = (double)(done - r->last_done) / dt;
    r->rate += dt / (CLI_RATE_TAU_S + dt) * (inst - r->rate);
    r->last_t = now;
    r->last_done = done;
    return r->rate;
}

double cli_eta_seconds(int64_t done, int64_t total, double rate)
{
    if (!(rate > 0))
        return -1;
    if (done >= total)
        return 0;
    return (double)(total - done) / rate;
}

char *cli_format_duration(char *buf, size_t size, double secs)
{
    if (!isfinite(secs) || secs < 0 || secs >= ETA_MAX_S) {
        snprintf(buf, size, "--:--");
        return buf;
    }
    long s = (long)(secs + 0.5);
    if (s >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
    return buf;
}

char *cli_format_rate(char *buf, size_t size, double rate)
{
    if (!isfinite(rate) || rate < 0)
        snprintf(buf, size, "--.- files/s");
    else if (rate < 99.95)
        snprintf(buf, size, "%.1f files/s", rate);
    else
        snprintf(buf, size, "%.0f files/s", rate);
    return buf;
}

char *cli_format_bytes(char *buf, size_t size, int64_t bytes)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024) {
        snprintf(buf, size, "%" PRId64 " B", bytes);
        return buf;
    }
    double v = (double)bytes / 1024.0;
    size_t u = 0;
    while (v >= 1023.95 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024.0;
        u++;
    }
    snprintf(buf, size, "%.1f %s", v, units[u]);
    return buf;
}

/* Appends the characters of text from character skip on, sanitised (see
 * cli_truncate_left), while they fit in buf; *out is the length so far. */
static void append_sanitised(char *buf, size_t size, size_t *out, const char *text, size_t skip)
{
    size_t n = strlen(text);
    for (size_t i = 0; i < n;) {
        unsigned char ch = (unsigned char)text[i];
        size_t seq = cli_utf8_seq(text + i, n - i);
        int bad = seq == 0 || ch < 0x20 || ch == 0x7F;
        size_t len = bad ? 1 : seq;
        if (skip > 0) {
            skip--;
        } else {
            if (*out + len >= size)
                break;
            if (bad)
                buf[*out] = '?';
            else
                memcpy(buf + *out, text + i, len);
            *out += len;
        }
        i += seq != 0 ? seq : 1;
    }
    buf[*out] = '\0';
}

void cli_truncate_left(char *buf, size_t size, const char *path, size_t max_cols)
{
    if (size == 0)
        return;
    size_t out = 0;
    buf[0] = '\0';
    size_t cols = cli_display_width(path);
    if (cols <= max_cols) {
        append_sanitised(buf, size, &out, path, 0);
        return;
    }
    if (max_cols == 0 || size <= sizeof(ELLIPSIS))
        return;
    memcpy(buf, ELLIPSIS, sizeof(ELLIPSIS));
    out = sizeof(ELLIPSIS) - 1;
    append_sanitised(buf, size, &out, path, cols - (max_cols - 1));
}

int cli_progress_percent(double pct)
{
    if (!(pct > 0))
        return 0;
    if (pct >= 100)
        return 100;
    return (int)pct; /* truncation is the floor of a positive number */
}

/* How much a line shows besides the bar and the path. */
enum detail { DETAIL_ALL, DETAIL_NO_RATE, DETAIL_ETA, DETAIL_PERCENT };

/* Writes the ASCII part of a line: a bar of bar_w cells (none when 0), the
 * percentage, then the fields detail keeps. Returns its length. */
static size_t fixed_part(char *buf, size_t size, const cli_progress_view_t *v, int bar_w,
                         enum detail detail)
{
    int pct = cli_progress_percent(v->percentage);
    size_t n = 0;
    if (bar_w > 0 && size > (size_t)bar_w + 2) {
        int fill = pct * bar_w / 100;
        buf[n++] = '[';
        for (int i = 0; i < bar_w; i++)
            buf[n++] = i < fill ? '#' : '.';
        buf[n++] = ']';
        buf[n] = '\0';
    }
    char eta[32], rate[32];
    double rate_v = v->rate;
    cli_format_duration(eta, sizeof(eta), cli_eta_seconds(v->done, v->total, rate_v));
    cli_format_rate(rate, sizeof(rate), rate_v);
    const char *sep = n > 0 ? " " : "";
    int w = n > 0 ? 3 : 0;
    if (detail == DETAIL_ALL)
        snprintf(buf + n, size - n, "%s%*d%%  %" PRId64 "/%" PRId64 " files  %s  ETA %s", sep, w,
                 pct, v->done, v->total, rate, eta);
    else if (detail == DETAIL_NO_RATE)
        snprintf(buf + n, size - n, "%s%*d%%  %" PRId64 "/%" PRId64 " files  ETA %s", sep, w, pct,
                 v->done, v->total, eta);
    else if (detail == DETAIL_ETA)
        snprintf(buf + n, size - n, "%s%*d%%  ETA %s", sep, w, pct, eta);
    else
        snprintf(buf + n, size - n, "%s%*d%%", sep, w, pct);
    return strlen(buf);
}

/* Appends "  PATH" cut to the columns left of avail; returns the columns. */
static size_t add_path(char *buf, size_t size, size_t len, const char *path, size_t avail)
{
    if (path == NULL || path[0] == '\0' || len + 2 + PATH_MIN_COLS > avail)
        return len;
    memcpy(buf + len, "  ", 3);
    cli_truncate_left(buf + len + 2, size - len - 2, path, avail - len - 2);
    return len + 2 + cli_display_width(buf + len + 2);
}

size_t cli_progress_bar(char *buf, size_t size, const cli_progress_view_t *v, int width)
{
    if (size == 0)
        return 0;
    size_t avail = width > 1 ? (size_t)width - 1 : 0;
    size_t len = fixed_part(buf, size, v, BAR_WIDTH, DETAIL_ALL);
    if (len <= avail)
        return add_path(buf, size, len, v->path, avail);
    if (len - avail <= BAR_WIDTH - BAR_MIN_WIDTH)
        return fixed_part(buf, size, v, BAR_WIDTH - (int)(len - avail), DETAIL_ALL);
    static const enum detail fewer[] = {DETAIL_NO_RATE, DETAIL_ETA};
    for (size_t i = 0; i < sizeof(fewer) / sizeof(fewer[0]); i++) {
        len = fixed_part(buf, size, v, BAR_MIN_WIDTH, fewer[i]);
        if (len <= avail)
            return len;
    }
    len = fixed_part(buf, size, v, 0, DETAIL_ETA);
    if (len <= avail)
        return len;
    len = fixed_part(buf, size, v, 0, DETAIL_PERCENT);
    if (len > avail) {
        len = avail < size ? avail : size - 1;
        buf[len] = '\0';
    }
    return len;
}

void cli_progress_plain(char *buf, size_t size, const char *name, const cli_progress_view_t *v,
                        int64_t chunks, int64_t batches)
{
    char safe[256];
    cli_truncate_left(safe, sizeof(safe), name, 64);
    snprintf(buf, size,
             "sync %s: %d%% %" PRId64 "/%" PRId64 " files, %" PRId64 " chunks, batch %" PRId64,
             safe, cli_progress_percent(v->percentage), v->done, v->total, chunks, batches);
}
