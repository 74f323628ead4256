/* cmd_cancel.c - `mnemo cancel NAME`: stop a running sync (CancelSync).
 *
 * DESIGN: the server stops the sync at its next batch boundary, keeps
 * every committed batch and answers once it has stopped, with the state
 * it stopped in (CANCELLED, or COMPLETED/FAILED when it ended first), so
 * --timeout bounds the wait. Cancelling a sync that is not running is not
 * an error (CancelSync is idempotent): the answer is its last state.
 * Threads: the CLI's one thread.
 */
#include <inttypes.h>

#include "cli.h"
#include "render.h"
#include "render_repo.h"

static const char usage[] =
    "usage: mnemo cancel NAME\n"
    "\n"
    "Stops the sync of repository NAME at its next batch boundary and waits\n"
    "for it (at most --timeout); committed batches stay. Prints the state it\n"
    "stopped in. Cancelling a repository that is not syncing changes nothing\n"
    "and prints its last state.\n"
    "\n"
    "  --json   print the SyncStatus the server answered as one JSON object\n"
    "\n"
    "Exit status: 0 done (also when nothing was running), 1 NAME is\n"
    "unknown (NOT_FOUND) or another server error, 2 usage, 3 server\n"
    "unreachable.\n";

static void print_human(const Mnemo__V1__SyncStatus *st)
{
    fputs("sync ", stdout);
    cli_print_text(stdout, st->repository_name);
    if (cli_sync_state_final((int)st->state)) {
        printf(": %s (%" PRId64 " batches committed)\n", cli_sync_state_name((int)st->state),
               st->progress != NULL ? st->progress->batches_committed : 0);
        return;
    }
    printf(": cancel requested; it stops at its next batch boundary (%" PRId64
           " batches committed so far)\n",
           st->progress != NULL ? st->progress->batches_committed : 0);
}

static int cancel_sync(Mnemo__V1__SyncStatus **out, mnemo_client_t *c, const char *name,
                       mnemo_call_error_t *err)
{
    Mnemo__V1__CancelSyncRequest req = MNEMO__V1__CANCEL_SYNC_REQUEST__INIT;
    req.repository_name = (char *)name;
    return mnemo_client_cancel_sync(out, c, &req, err);
}

static int run(cli_ctx_t *ctx, const cli_command_t *self, int argc, char **argv)
{
    return cli_run_sync_status_call(ctx, self, argc, argv, cancel_sync, print_human);
}

const cli_command_t cli_cmd_cancel = {"cancel", "stop a running sync", usage, run};
