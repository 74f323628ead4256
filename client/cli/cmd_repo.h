/* cmd_repo.h - the parsed arguments of the repository commands (`sync`,
 * `watch`, `repos`, `code`) and their parsers, so the unit tests check
 * what a command line means without a server.
 *
 * DESIGN: each parser follows the shape of the other commands': it scans
 * with cli_parse_args, which hands the common options to
 * cli_common_option, and returns CLI_CONTINUE when the command should go
 * on, or the exit code (0 after --help, 2 after printing a usage error).
 * `status` and `cancel` take one NAME and run through
 * cli_run_sync_status_call. Part of mnemo_cli_core. Threads: the CLI's
 * one thread.
 */
#ifndef MNEMO_CLI_CMD_REPO_H
#define MNEMO_CLI_CMD_REPO_H

#include "cli.h"

typedef struct cli_sync_args {
    const char *path; /* as given; made absolute by the command */
    const char *name; /* --name, or NULL */
    int64_t batch_size;
    int background;
    int full;
    int dry_run;
    int verbose;
} cli_sync_args_t;

/* `mnemo sync PATH [--name N] [--background] [--batch-size K] [--full]
 * [--dry-run] [--verbose]`; *out is zeroed first. */
int cli_sync_parse(cli_sync_args_t *out, cli_ctx_t *ctx, const cli_command_t *self, int argc,
                   char **argv);

typedef struct cli_watch_args {
    const char *name;
    int verbose;
} cli_watch_args_t;

/* `mnemo watch NAME [--verbose]`; *out is zeroed first. */
int cli_watch_parse(cli_watch_args_t *out, cli_ctx_t *ctx, const cli_command_t *self, int argc,
                    char **argv);

typedef struct cli_repos_args {
    int64_t limit;
    const char *page_token; /* NULL: the first page */
    int all;
} cli_repos_args_t;

/* `mnemo repos [--limit N] [--page-token T] [--all]`; *out is zeroed
 * first. */
int cli_repos_parse(cli_repos_args_t *out, cli_ctx_t *ctx, const cli_command_t *self, int argc,
                    char **argv);

typedef struct cli_code_args {
    cli_strv_t words; /* the query's words; cli_code_args_cleanup */
    const char *repo; /* --repo, or NULL: every repository */
    const char *path; /* --path prefix, or NULL */
    int64_t limit;    /* 0: the server's default */
    int full_content; /* show whole chunks */
} cli_code_args_t;

/* `mnemo code QUERY... [--repo R] [--path P] [--limit N] [--full-content]`;
 * *out is zeroed first and must be cleaned up whatever the result. */
int cli_code_parse(cli_code_args_t *out, cli_ctx_t *ctx, const cli_command_t *self, int argc,
                   char **argv);
void cli_code_args_cleanup(cli_code_args_t *a);

#endif
