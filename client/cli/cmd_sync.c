/* cmd_sync.c - `mnemo sync PATH`: sync a directory into the code index
 * (SyncRepository) with a live progress bar.
 *
 * DESIGN: the path is made absolute here, against the CLI's current
 * directory, because the server resolves relative paths against its own;
 * the server canonicalises it again and checks its allowed roots. The
 * stream is followed by follow.c (progress, Ctrl-C, summary, exit code),
 * shared with `watch`. Threads: the CLI's thread, plus follow.c's signal
 * thread.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_repo.h"
#include "follow.h"

static const char usage[] =
    "usage: mnemo sync PATH [--name NAME] [--background] [--batch-size K]\n"
    "                  [--full] [--dry-run] [--verbose]\n"
    "\n"
    "Syncs the directory PATH into the server's code index and shows the\n"
    "progress until the sync ends: a live bar when stderr is a terminal, a\n"
    "line a second otherwise, then a summary. PATH is on the server's\n"
    "machine, made absolute against the current directory; the server must\n"
    "allow it (mnemod --allow-root). A re-sync reads only changed files.\n"
    "Ctrl-C cancels the sync at its next batch boundary (committed batches\n"
    "stay) and prints the state the server ended it in; a second Ctrl-C\n"
    "quits at once.\n"
    "\n"
    "  --name NAME       repository name (default: the directory's name)\n"
    "  --background      start the sync and return; see 'mnemo watch'\n"
    "  --batch-size K    files per committed batch (0 = the server's default)\n"
    "  --full            re-index every file, changed or not\n"
    "  --dry-run         walk, read and count; write nothing\n"
    "  -v, --verbose     list every skipped file with its reason\n"
    "  --json            one JSON document per event on stdout (NDJSON):\n"
    "                    {\"status\": {...}, \"current_path\": \"...\", \"skipped\": [...]}\n"
    "\n"
    "Exit status: 0 COMPLETED (--background: started), 1 the sync FAILED or\n"
    "was cancelled elsewhere, or a server error, 2 usage, 3 server\n"
    "unreachable, 130 cancelled by Ctrl-C (143 by SIGTERM).\n";

enum { OPT_NAME = 1, OPT_BACKGROUND, OPT_BATCH_SIZE, OPT_FULL, OPT_DRY_RUN, OPT_VERBOSE };

static const cli_option_t options[] = {{"--name", 1, OPT_NAME},
                                       {"--background", 0, OPT_BACKGROUND},
                                       {"--batch-size", 1, OPT_BATCH_SIZE},
                                       {"--full", 0, OPT_FULL},
                                       {"--dry-run", 0, OPT_DRY_RUN},
                                       {"--verbose", 0, OPT_VERBOSE},
                                       {"-v", 0, OPT_VERBOSE},
                                       CLI_COMMON_OPTIONS};

/* Handles one of the command's own arguments (cli_arg_fn). */
static int sync_arg(void *out, const cli_command_t *self, int id, const char *value)
{
    cli_sync_args_t *sa = out;
    switch (id) {
    case CLI_ARG_POSITIONAL:
        if (sa->path == NULL && value[0] == '\0')
            return cli_usage_error(self, "PATH is empty");
        return cli_set_positional(&sa->path, self, value);
    case OPT_NAME:
        if (value[0] == '\0')
            return cli_usage_error(self, "--name: empty name");
        sa->name = value;
        return CLI_CONTINUE;
    case OPT_BACKGROUND:
        sa->background = 1;
        return CLI_CONTINUE;
    case OPT_BATCH_SIZE:
        if (cli_parse_int(&sa->batch_size, value, 0, INT32_MAX) != 0)
            return cli_usage_error(self, "--batch-size: '%s' is not a number >= 0", value);
        return CLI_CONTINUE;
    case OPT_FULL:
        sa->full = 1;
        return CLI_CONTINUE;
    case OPT_DRY_RUN:
        sa->dry_run = 1;
        return CLI_CONTINUE;
    case OPT_VERBOSE:
        sa->verbose = 1;
        return CLI_CONTINUE;
    default:
        return cli_usage_error(self, "unexpected option");
    }
}

int cli_sync_parse(cli_sync_args_t *out, cli_ctx_t *ctx, const cli_command_t *self, int argc,
                   char **argv)
{
    memset(out, 0, sizeof(*out));
    int rc = cli_parse_args(out, sync_arg, ctx, self, options, argc, argv);
    if (rc == CLI_CONTINUE && out->path == NULL)
        rc = cli_usage_error(self, "PATH is missing");
    return rc;
}

static int open_sync(mnemo_stream_t **out, mnemo_client_t *c, const void *arg,
                     mnemo_call_error_t *err)
{
    return mnemo_client_sync_repository(out, c, arg, err);
}

static int run(cli_ctx_t *ctx, const cli_command_t *self, int argc, char **argv)
{
    cli_sync_args_t sa;
    int rc = cli_sync_parse(&sa, ctx, self, argc, argv);
    if (rc != CLI_CONTINUE)
        return rc;
    char *path = cli_absolute_path(sa.path);
    if (path == NULL) {
        fprintf(stderr, "mnemo sync: cannot make '%s' absolute\n", sa.path);
        return CLI_EXIT_SERVER;
    }
    Mnemo__V1__SyncRepositoryRequest req = MNEMO__V1__SYNC_REPOSITORY_REQUEST__INIT;
    req.repository_path = path;
    req.repository_name = (char *)(sa.name != NULL ? sa.name : "");
    req.background = sa.background;
    req.batch_size = (int32_t)sa.batch_size;
    req.full = sa.full;
    req.dry_run = sa.dry_run;
    /* Until the first event names it: what the server will call it. */
    const char *base = strrchr(path, '/');
    const char *name = sa.name != NULL ? sa.name : base != NULL && base[1] ? base + 1 : NULL;
    cli_follow_opts_t opts = {open_sync, &req, name, sa.verbose, sa.background, 0};
    rc = cli_follow_run(ctx, &opts);
    free(path);
    return rc;
}

const cli_command_t cli_cmd_sync = {"sync", "sync a directory into the code index", usage, run};
