/* format.h - text helpers of the mnemo CLI: ISO-8601 times, UTF-8
 * scanning, one-line previews, and the exit codes scripts rely on.
 *
 * DESIGN: pure functions over caller-provided buffers; part of
 * mnemo_cli_core so the unit tests cover them. Threads: any.
 */
#ifndef MNEMO_CLI_FORMAT_H
#define MNEMO_CLI_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "mnemo/codes.h"

/* Exit codes of `mnemo` (also in `mnemo --help`). */
enum cli_exit {
    CLI_EXIT_OK = 0,          /* success (also: delete of an absent id) */
    CLI_EXIT_SERVER = 1,      /* the server answered with an error */
    CLI_EXIT_USAGE = 2,       /* bad command line */
    CLI_EXIT_UNREACHABLE = 3, /* no connection to the server */
};

/* The exit code for a call that ended with code (a mnemo_code_t): OK → 0,
 * a failure to connect (unreachable: UNAVAILABLE or DEADLINE_EXCEEDED
 * before the server was reached) → 3, any other status → 1. */
int cli_exit_code(int code, int unreachable);

#define CLI_TIME_MAX 40

/* Writes ms (milliseconds since the Unix epoch) as ISO-8601 UTC with
 * milliseconds, "2024-05-01T12:34:56.789Z", into buf; returns buf. Times
 * outside years 0..9999 are written as "-". */
char *cli_format_time(char buf[CLI_TIME_MAX], int64_t ms);

/* Length (1-4) of the valid UTF-8 sequence at the start of p[0..n), or 0
 * when it is not valid UTF-8 (overlong, surrogate, truncated, > U+10FFFF). */
size_t cli_utf8_seq(const char *p, size_t n);

/* A one-line preview of text into buf (always NUL-terminated): control
 * characters (newlines, tabs) become single spaces, leading spaces are
 * dropped, invalid UTF-8 becomes '?', and at most max_chars characters
 * are kept; a cut preview ends with "..." within those max_chars. */
void cli_preview(char *buf, size_t bufsize, const char *text, size_t max_chars);

/* The number of characters (code points; an invalid byte counts as one)
 * in s, for aligning columns. */
size_t cli_display_width(const char *s);

#endif
