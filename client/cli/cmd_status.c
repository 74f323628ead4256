/* cmd_status.c - `mnemo status NAME`: the state of a repository's sync
 * (GetSyncStatus): the live one while it runs, else the last recorded.
 *
 * DESIGN: one call, made by cli_run_sync_status_call as for `cancel`,
 * printed as the labelled block of render_repo.h (or its JSON object).
 * The elapsed time of a running sync is measured up to this machine's
 * clock. Threads: the CLI's one thread.
 */
#include <time.h>

#include "cli.h"
#include "render_repo.h"

static const char usage[] =
    "usage: mnemo status NAME\n"
    "\n"
    "Shows the sync state of repository NAME: the running sync's progress,\n"
    "or how its last sync ended (state, counts, times, error).\n"
    "\n"
    "  --json   print the SyncStatus as one JSON object\n"
    "\n"
    "Exit status: 0 shown (whatever the state), 1 NAME is unknown\n"
    "(NOT_FOUND) or another server error, 2 usage, 3 server unreachable.\n";

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int get_sync_status(Mnemo__V1__SyncStatus **out, mnemo_client_t *c, const char *name,
                           mnemo_call_error_t *err)
{
    Mnemo__V1__GetSyncStatusRequest req = MNEMO__V1__GET_SYNC_STATUS_REQUEST__INIT;
    req.repository_name = (char *)name;
    return mnemo_client_get_sync_status(out, c, &req, err);
}

static void print_human(const Mnemo__V1__SyncStatus *st)
{
    cli_print_sync_status(stdout, st, wall_ms());
}

static int run(cli_ctx_t *ctx, const cli_command_t *self, int argc, char **argv)
{
    return cli_run_sync_status_call(ctx, self, argc, argv, get_sync_status, print_human);
}

const cli_command_t cli_cmd_status = {"status", "show a repository's sync state", usage, run};
