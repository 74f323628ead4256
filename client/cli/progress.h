/* progress.h - the live progress of `mnemo sync` and `mnemo watch`: the
 * one-line bar drawn on a terminal, the plain line written elsewhere, the
 * smoothed rate and the ETA, and the duration, rate and size formats.
 *
 * DESIGN: pure functions over caller-provided buffers and plain numbers:
 * the caller reads the clock and the terminal width and hands them in, so
 * the unit tests drive every layout and every rate without a terminal or a
 * server. Widths are counted in characters (code points), like format.h.
 * Part of mnemo_cli_core. Threads: any; nothing is shared.
 */
#ifndef MNEMO_CLI_PROGRESS_H
#define MNEMO_CLI_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

/* The width used when the terminal's cannot be read. */
#define CLI_PROGRESS_DEFAULT_WIDTH 80

/* The room a progress line needs: CLI_PROGRESS_LINE_MAX bytes holds any
 * line of up to 512 columns (a path character may take 4 bytes). */
#define CLI_PROGRESS_LINE_MAX 2200

/* A files-per-second meter smoothed over a few seconds. Embedded;
 * cli_rate_init. */
typedef struct cli_rate {
    int samples;        /* samples fed so far */
    double first_t;     /* time of the first sample, seconds */
    double last_t;      /* time of the latest sample that moved the rate */
    int64_t first_done; /* count at the first sample */
    int64_t last_done;  /* count at last_t */
    double rate;        /* files/s; meaningful once known */
    int known;          /* 1: enough time has passed for a rate */
} cli_rate_t;

/* The meter waits this long after its first sample before it trusts a rate,
 * and smooths with this time constant (seconds). */
#define CLI_RATE_WARMUP_S 0.5
#define CLI_RATE_TAU_S    3.0

void cli_rate_init(cli_rate_t *r);

/* Feeds one sample: done files counted at now (seconds on a monotonic
 * clock). The first sample is the baseline; a count that goes backwards
 * (a new sync) restarts the meter. Returns the smoothed rate in files/s, or
 * -1 while none is known yet. */
double cli_rate_update(cli_rate_t *r, double now, int64_t done);

/* Seconds until total is reached at rate: -1 while no rate is known
 * (rate <= 0), 0 when done >= total. */
double cli_eta_seconds(int64_t done, int64_t total, double rate);

/* secs as "M:SS" or "H:MM:SS" ("0:33", "12:05", "1:02:03"), rounded to the
 * second; "--:--" when secs is negative, not finite, or 100 hours or more
 * (an estimate that far out says nothing). Returns buf. */
char *cli_format_duration(char *buf, size_t size, double secs);

/* rate as "35.1 files/s" (one decimal below 100, whole numbers from
 * there on); "--.- files/s" when rate < 0. Returns buf. */
char *cli_format_rate(char *buf, size_t size, double rate);

/* bytes as "512 B", "1.5 KiB", "3.3 MiB", "1.0 GiB" (binary units, one
 * decimal). Returns buf. */
char *cli_format_bytes(char *buf, size_t size, int64_t bytes);

/* Writes the end of path that fits in max_cols characters into buf:
 * unchanged when it fits, else "…" followed by its last max_cols - 1
 * characters. Control characters become '?' and invalid UTF-8 bytes '?',
 * so the result is safe on a terminal. max_cols 0 gives "". */
void cli_truncate_left(char *buf, size_t size, const char *path, size_t max_cols);

/* What a progress line shows. */
typedef struct cli_progress_view {
    double percentage; /* 0-100, from the server */
    int64_t done;      /* files dealt with */
    int64_t total;     /* files to deal with; 0 while unknown */
    double rate;       /* files/s; < 0 while unknown */
    const char *path;  /* the file being worked on; NULL or "" for none */
} cli_progress_view_t;

/* Renders the terminal line
 *   [#####.....]  42%  840/2000 files  35.1 files/s  ETA 0:33  src/foo/bar.c
 * into buf so that it takes fewer than width columns (the last column is
 * left free: writing there makes some terminals wrap). The path, cut from
 * the left, takes the room that is left; on narrow terminals the path,
 * then bar width, rate and count are given up in that order. Returns the
 * number of columns written. */
size_t cli_progress_bar(char *buf, size_t size, const cli_progress_view_t *v, int width);

/* Renders the plain line written when stderr is not a terminal:
 *   "sync NAME: 42% 840/2000 files, 12 chunks, batch 17" */
void cli_progress_plain(char *buf, size_t size, const char *name, const cli_progress_view_t *v,
                        int64_t chunks, int64_t batches);

/* The integer percentage shown for pct: floored, within 0..100, so 99.9
 * never reads as 100. */
int cli_progress_percent(double pct);

#endif
