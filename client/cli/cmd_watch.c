/* cmd_watch.c - `mnemo watch NAME`: follow a running sync (WatchSync) with
 * the same progress display as `mnemo sync`.
 *
 * DESIGN: the server sends the live events of the sync running under NAME
 * until it ends, or, when none runs, one event with the last recorded
 * status; follow.c shows either. Ctrl-C stops the watching only: the sync
 * goes on. Threads: the CLI's thread, plus follow.c's signal thread.
 */
#include <string.h>

#include "cli.h"
#include "cmd_repo.h"
#include "follow.h"

static const char usage[] =
    "usage: mnemo watch NAME [--verbose]\n"
    "\n"
    "Attaches to the sync of repository NAME (a background one, or one a\n"
    "`mnemo sync` elsewhere runs) and shows its progress until it ends,\n"
    "then its summary. When NAME is not syncing, shows its last sync.\n"
    "Ctrl-C stops watching; the sync goes on ('mnemo cancel NAME' stops it).\n"
    "\n"
    "  -v, --verbose   list the skipped files reported while watching\n"
    "  --json          one JSON document per event on stdout (NDJSON)\n"
    "\n"
    "Exit status: 0 the sync COMPLETED, 1 it ended otherwise or NAME is\n"
    "unknown (NOT_FOUND), 2 usage, 3 server unreachable, 130 Ctrl-C.\n";

enum { OPT_VERBOSE = 1 };

static const cli_option_t options[] = {
    {"--verbose", 0, OPT_VERBOSE}, {"-v", 0, OPT_VERBOSE}, CLI_COMMON_OPTIONS};

/* Handles one of the command's own arguments (cli_arg_fn). */
static int watch_arg(void *out, const cli_command_t *self, int id, const char *value)
{
    cli_watch_args_t *wa = out;
    switch (id) {
    case OPT_VERBOSE:
        wa->verbose = 1;
        return CLI_CONTINUE;
    default: /* CLI_ARG_POSITIONAL: NAME */
        return cli_set_positional(&wa->name, self, value);
    }
}

int cli_watch_parse(cli_watch_args_t *out, cli_ctx_t *ctx, const cli_command_t *self, int argc,
                    char **argv)
{
    memset(out, 0, sizeof(*out));
    int rc = cli_parse_args(out, watch_arg, ctx, self, options, argc, argv);
    if (rc == CLI_CONTINUE && out->name == NULL)
        rc = cli_usage_error(self, "NAME is missing");
    return rc;
}

static int open_watch(mnemo_stream_t **out, mnemo_client_t *c, const void *arg,
                      mnemo_call_error_t *err)
{
    return mnemo_client_watch_sync(out, c, arg, err);
}

static int run(cli_ctx_t *ctx, const cli_command_t *self, int argc, char **argv)
{
    cli_watch_args_t wa;
    int rc = cli_watch_parse(&wa, ctx, self, argc, argv);
    if (rc != CLI_CONTINUE)
        return rc;
    Mnemo__V1__WatchSyncRequest req = MNEMO__V1__WATCH_SYNC_REQUEST__INIT;
    req.repository_name = (char *)wa.name;
    cli_follow_opts_t opts = {open_watch, &req, wa.name, wa.verbose, 0, 1};
    return cli_follow_run(ctx, &opts);
}

const cli_command_t cli_cmd_watch = {"watch", "follow a running sync", usage, run};
