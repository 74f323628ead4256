/* cli.h - what main.c and the cmd_*.c files of the `mnemo` CLI share: the
 * run context, the command table entry, and the helpers that print errors
 * and map them to exit codes.
 *
 * Exit codes (scripts may rely on them; see format.h and `mnemo --help`):
 *   0  success; `delete` of an absent id is a success too (idempotent)
 *   1  the server answered with an error: "mnemo: <CODE>: <details>" on stderr
 *   2  usage error (unknown command or option, bad value, missing argument)
 *   3  the server cannot be reached (refused, unresolvable, timed out
 *      while connecting)
 *   130  `sync` or `watch` interrupted by Ctrl-C (128 + the signal; follow.h)
 *
 * DESIGN: main.c parses the global options into a cli_ctx_t and hands the
 * rest of argv to one command; each command parses its own options with
 * cli_parse_args (over the scanner of args.h), connects through
 * cli_connect only once its arguments are valid, calls one typed libmnemo
 * wrapper and prints through render.h or json.h. The CLI is
 * single-threaded, except for the signal thread of `sync` and `watch`
 * (follow.h).
 */
#ifndef MNEMO_CLI_CLI_H
#define MNEMO_CLI_CLI_H

#include <stdint.h>

#include "mnemo/client.h"

#include "args.h"
#include "format.h"

#define CLI_DEFAULT_SERVER     "127.0.0.1:50051"
#define CLI_DEFAULT_TIMEOUT_MS 10000

typedef struct cli_ctx {
    const char *server;     /* --server, MNEMO_SERVER, or the default */
    int json;               /* --json: one JSON document on stdout */
    int64_t timeout_ms;     /* --timeout: per-call deadline; 0 = none */
    mnemo_client_t *client; /* opened by cli_connect, closed by main */
} cli_ctx_t;

typedef struct cli_command cli_command_t;
struct cli_command {
    const char *name;
    const char *summary; /* one line for `mnemo --help` */
    const char *usage;   /* the text of `mnemo NAME --help` */
    /* argv[0] is the command name; returns the exit code. */
    int (*run)(cli_ctx_t *ctx, const cli_command_t *self, int argc, char **argv);
};

extern const cli_command_t cli_cmd_store;
extern const cli_command_t cli_cmd_get;
extern const cli_command_t cli_cmd_delete;
extern const cli_command_t cli_cmd_list;
extern const cli_command_t cli_cmd_search;
extern const cli_command_t cli_cmd_tags;
extern const cli_command_t cli_cmd_health;
extern const cli_command_t cli_cmd_sync;
extern const cli_command_t cli_cmd_status;
extern const cli_command_t cli_cmd_watch;
extern const cli_command_t cli_cmd_cancel;
extern const cli_command_t cli_cmd_repos;
extern const cli_command_t cli_cmd_code;

/* Options every command accepts besides its own (the global ones may also
 * follow the command: `mnemo get ID --json`). A command numbers its own
 * options from 1, below CLI_OPT_HELP. */
enum { CLI_OPT_HELP = 100, CLI_OPT_JSON, CLI_OPT_SERVER, CLI_OPT_TIMEOUT };
#define CLI_COMMON_OPTIONS                                                                         \
    {"--help", 0, CLI_OPT_HELP}, {"-h", 0, CLI_OPT_HELP}, {"--json", 0, CLI_OPT_JSON},             \
        {"--server", 1, CLI_OPT_SERVER}, {"--timeout", 1, CLI_OPT_TIMEOUT},                        \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Returned by helpers when the command should go on. */
#define CLI_CONTINUE (-1)

/* Handles what a command's own switch does not: a common option (id), or
 * a scan error (CLI_ARG_ERROR). Returns CLI_CONTINUE, 0 after printing the
 * command's help, or 2 after a usage error. */
int cli_common_option(cli_ctx_t *ctx, const cli_command_t *cmd, int id, const cli_args_t *a);

/* Handles one of a command's own arguments for cli_parse_args: id is the
 * id of one of its options, with value the option's value (NULL for a
 * flag), or CLI_ARG_POSITIONAL with value the argument. Returns
 * CLI_CONTINUE, or the exit code to stop with (after printing why). */
typedef int (*cli_arg_fn)(void *out, const cli_command_t *cmd, int id, const char *value);

/* Scans the arguments of cmd with options (a table ending with
 * CLI_COMMON_OPTIONS): scan errors and the common options go to
 * cli_common_option, the command's own arguments to on_arg with out.
 * Stops at the first result other than CLI_CONTINUE and returns it;
 * returns CLI_CONTINUE once every argument is read. */
int cli_parse_args(void *out, cli_arg_fn on_arg, cli_ctx_t *ctx, const cli_command_t *cmd,
                   const cli_option_t *options, int argc, char **argv);

/* Takes value as the one positional of cmd into *slot; a second
 * positional is a usage error. Returns CLI_CONTINUE or 2. */
int cli_set_positional(const char **slot, const cli_command_t *cmd, const char *value);

/* Parses the arguments of a command that takes at most one positional and
 * only the common options. *out is the positional, or NULL when absent;
 * required names it ("ID") when it must be there, else NULL. Returns
 * CLI_CONTINUE or an exit code (0 after --help, 2 after a usage error). */
int cli_parse_single(const char **out, const char *required, cli_ctx_t *ctx,
                     const cli_command_t *cmd, int argc, char **argv);

/* cli_parse_single, then cli_connect: returns CLI_CONTINUE when the
 * command may make its call, else the exit code (0 after --help, 2 after a
 * usage error, 3 when the server cannot be reached). */
int cli_parse_single_and_connect(const char **out, const char *required, cli_ctx_t *ctx,
                                 const cli_command_t *cmd, int argc, char **argv);

/* Sets a global option (shared by main.c and cli_common_option); returns
 * CLI_CONTINUE or 2 after printing a usage error for cmd (NULL: global). */
int cli_set_global(cli_ctx_t *ctx, const cli_command_t *cmd, int id, const char *value);

/* Prints "mnemo[ CMD]: <message>" and a hint to stderr; returns 2. */
int cli_usage_error(const cli_command_t *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Opens ctx->client on ctx->server. Returns 0, or the exit code after
 * printing why not. */
int cli_connect(cli_ctx_t *ctx);

/* Prints "mnemo: <CODE>: <details>" to stderr; returns the exit code for
 * err (1, or 3 when the server could not be reached). */
int cli_call_failed(const mnemo_call_error_t *err);

/* Prints "mnemo: out of memory"; returns 1. */
int cli_out_of_memory(void);

/* Prints memories as a table on stdout, or "no memories" when n is 0.
 * Returns 0, or 1 when out of memory. */
int cli_print_memories(Mnemo__V1__Memory *const *memories, size_t n);

/* A unary call that names a repository and answers its SyncStatus
 * (GetSyncStatus, CancelSync). On OK *out is the caller's. Returns the
 * gRPC status code. */
typedef int (*cli_sync_status_call_fn)(Mnemo__V1__SyncStatus **out, mnemo_client_t *c,
                                       const char *name, mnemo_call_error_t *err);

/* Runs `mnemo CMD NAME` for such a call: parses NAME, connects, calls,
 * and prints the SyncStatus on stdout: one JSON document with --json
 * (cli_json_sync_status), else through print_human. Returns the exit
 * code. */
int cli_run_sync_status_call(cli_ctx_t *ctx, const cli_command_t *cmd, int argc, char **argv,
                             cli_sync_status_call_fn call,
                             void (*print_human)(const Mnemo__V1__SyncStatus *st));

#endif
