/* follow.h - following a stream of SyncEvent for `mnemo sync` and `mnemo
 * watch`: live progress, Ctrl-C, the final summary and the exit code.
 *
 * Output. With --json, one JSON document per event on stdout (NDJSON; see
 * cli_json_sync_event). Otherwise, when stderr is a terminal, a one-line
 * progress bar redrawn in place on stderr (at most ten times a second) and
 * cleared at the end; when it is not, a plain progress line on stderr at
 * most once a second plus the last one. Skipped files are listed on stderr
 * with --verbose. At the end the summary goes to stdout.
 *
 * Exit codes: 0 when the sync COMPLETED (or, with background, once the
 * first event arrived); 1 when it ended otherwise (FAILED, CANCELLED by
 * someone else, INTERRUPTED) or the server answered with an error; 3 when
 * the server cannot be reached; 128 + the signal (130 for Ctrl-C, 143 for
 * SIGTERM) when interrupted.
 *
 * Interrupts. SIGINT and SIGTERM are blocked before the client is
 * created, so every gRPC thread inherits the mask, and a thread of ours
 * waits for them with sigwait. The first cancels the open stream (under a
 * mutex, so it never races the stream's close): for `sync` the server then
 * stops the sync at its next batch boundary, and the CLI asks
 * GetSyncStatus (for up to about 3 s while it is still RUNNING) to print
 * the state the server ended in; for `watch` only the watching stops. A
 * second signal exits at once.
 *
 * DESIGN: one loop reads events until the stream ends; the latest event is
 * kept for the summary. Streams get no deadline (a sync may take hours):
 * --timeout applies to the unary calls only. Part of mnemo_cli_core.
 * Threads: the CLI's thread runs everything but the signal wait.
 */
#ifndef MNEMO_CLI_FOLLOW_H
#define MNEMO_CLI_FOLLOW_H

#include "cli.h"

/* Opens the stream to follow on c with arg (a request of the caller's). */
typedef int (*cli_follow_open_fn)(mnemo_stream_t **out, mnemo_client_t *c, const void *arg,
                                  mnemo_call_error_t *err);

typedef struct cli_follow_opts {
    cli_follow_open_fn open;
    const void *arg;
    const char *name; /* the repository's name when known, else NULL */
    int verbose;      /* list every skipped file */
    int background;   /* done after the first event (sync --background) */
    int watch;        /* 1: an interrupt stops the watching, not the sync */
} cli_follow_opts_t;

/* Connects (ctx->client), opens the stream and follows it to its end as
 * described above. Returns the exit code. */
int cli_follow_run(cli_ctx_t *ctx, const cli_follow_opts_t *opts);

/* Asks GetSyncStatus for name until the sync is no longer PENDING or
 * RUNNING, or wait_s seconds have passed (0: ask once). On OK *out is the
 * last status (the caller's). Returns the gRPC status code. */
int cli_follow_final_status(Mnemo__V1__SyncStatus **out, mnemo_client_t *c, const char *name,
                            double wait_s, mnemo_call_error_t *err);

#endif
