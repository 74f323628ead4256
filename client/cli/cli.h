/* cli.h - what main.c and the cmd_*.c files of the `mnemo` CLI share: the
 * run context, the command table entry, and the helpers that print errors
 * and map them to exit codes.
 *
 * Exit codes (scripts may rely on them; see format.h and `mnemo --help`):
 *   0  success; `delete` of an absent id is a success too (idempotent)
 *   1  the server answered with an error: "mnemo: <CODE>: <details>" on stderr
 *      (and a "hint: " line for a missing token or role, cli_call_failed)
 *   2  usage error (unknown command or option, bad value, missing argument,
 *      a TLS or token file that cannot be used)
 *   3  the server cannot be reached (refused, unresolvable, a failed TLS
 *      handshake, timed out while connecting)
 *   130  `sync` or `watch` interrupted by Ctrl-C (128 + the signal; follow.h)
 *
 * DESIGN: main.c reads the environment (cli_ctx_init), then the global
 * options, into a cli_ctx_t and hands the rest of argv to one command; each
 * command parses its own options with cli_parse_args (over the scanner of
 * args.h), connects through cli_connect only once its arguments are valid,
 * calls one typed libmnemo wrapper and prints through render.h or json.h.
 * The CLI is single-threaded, except for the signal thread of `sync` and
 * `watch` (follow.h).
 */
#ifndef MNEMO_CLI_CLI_H
#define MNEMO_CLI_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "mnemo/client.h"

#include "args.h"
#include "format.h"

#define CLI_DEFAULT_SERVER     "127.0.0.1:50051"
#define CLI_DEFAULT_TIMEOUT_MS 10000

/* A setting that a flag or an environment variable gives: the flag wins. */
typedef struct cli_setting {
    const char *value;  /* NULL: not set */
    const char *source; /* where value came from: "--tls-ca", "MNEMO_TLS_CA", ... */
} cli_setting_t;

/* Security settings (cli_client_options). Any TLS setting implies TLS. The
 * token comes from --token-file, else MNEMO_TOKEN or MNEMO_TOKEN_FILE (not
 * both), and is never taken from the command line itself. */
typedef struct cli_security {
    int tls;                       /* --tls: TLS with gRPC's default roots */
    cli_setting_t tls_ca;          /* --tls-ca, MNEMO_TLS_CA */
    cli_setting_t tls_cert;        /* --tls-cert, MNEMO_CLIENT_TLS_CERT */
    cli_setting_t tls_key;         /* --tls-key, MNEMO_CLIENT_TLS_KEY */
    cli_setting_t tls_server_name; /* --tls-server-name */
    cli_setting_t token_file;      /* --token-file, MNEMO_TOKEN_FILE */
    const char *token_env;         /* MNEMO_TOKEN: the token itself */
} cli_security_t;

typedef struct cli_ctx {
    const char *server;     /* --server, MNEMO_SERVER, or the default */
    int json;               /* --json: one JSON document on stdout */
    int64_t timeout_ms;     /* --timeout: per-call deadline; 0 = none */
    cli_security_t sec;     /* TLS and token settings */
    const char *token_from; /* set by cli_connect: where the token sent came from
                             * ("MNEMO_TOKEN", "--token-file"), for hints; NULL: none */
    mnemo_client_t *client; /* opened by cli_connect, closed by main */
} cli_ctx_t;

/* The defaults, then the settings of the environment envp (NULL-terminated
 * "NAME=value" entries, like environ): MNEMO_SERVER, MNEMO_TLS_CA,
 * MNEMO_CLIENT_TLS_CERT, MNEMO_CLIENT_TLS_KEY, MNEMO_TOKEN_FILE and
 * MNEMO_TOKEN. Empty variables count as unset. The strings are borrowed. */
void cli_ctx_init(cli_ctx_t *ctx, char *const *envp);

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
extern const cli_command_t cli_cmd_token;

/* Options every command accepts besides its own (the global ones may also
 * follow the command: `mnemo get ID --json`). A command numbers its own
 * options from 1, below CLI_OPT_HELP. */
enum {
    CLI_OPT_HELP = 100,
    CLI_OPT_JSON,
    CLI_OPT_SERVER,
    CLI_OPT_TIMEOUT,
    CLI_OPT_TLS,
    CLI_OPT_TLS_CA,
    CLI_OPT_TLS_CERT,
    CLI_OPT_TLS_KEY,
    CLI_OPT_TLS_SERVER_NAME,
    CLI_OPT_TOKEN_FILE,
    CLI_OPT_TOKEN, /* refused with a usage error that says why */
};
#define CLI_COMMON_OPTIONS                                                                         \
    {"--help", 0, CLI_OPT_HELP}, {"-h", 0, CLI_OPT_HELP}, {"--json", 0, CLI_OPT_JSON},             \
        {"--server", 1, CLI_OPT_SERVER}, {"--timeout", 1, CLI_OPT_TIMEOUT},                        \
        {"--tls", 0, CLI_OPT_TLS}, {"--tls-ca", 1, CLI_OPT_TLS_CA},                                \
        {"--tls-cert", 1, CLI_OPT_TLS_CERT}, {"--tls-key", 1, CLI_OPT_TLS_KEY},                    \
        {"--tls-server-name", 1, CLI_OPT_TLS_SERVER_NAME},                                         \
        {"--token-file", 1, CLI_OPT_TOKEN_FILE}, {"--token", 1, CLI_OPT_TOKEN},                    \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Prints cmd->usage and the global options every command accepts. */
void cli_print_usage(FILE *f, const cli_command_t *cmd);

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

/* Fills opts (after mnemo_client_options_init) from ctx: the deadline,
 * TLS when --tls or any TLS setting is given, and the token. A token file
 * is read now: *token is then its text (the caller's, cli_token_free once
 * the client is open), else NULL; ctx->token_from names the token's
 * source. Returns CLI_CONTINUE, or 2 after printing why not (a token file
 * that cannot be read or holds no valid token, MNEMO_TOKEN and
 * MNEMO_TOKEN_FILE both set, an invalid MNEMO_TOKEN); the token itself is
 * never printed. */
int cli_client_options(mnemo_client_options_t *opts, char **token, cli_ctx_t *ctx);

/* Opens ctx->client on ctx->server with cli_client_options, then checks
 * the TLS files with OpenSSL (crypto.h). Returns 0, or the exit code after
 * printing why not: 2 for a bad setting (a file that cannot be read or
 * parsed, a key that is not its certificate's; the message names the flag
 * or variable that gave it), 3 otherwise. */
int cli_connect(cli_ctx_t *ctx);

/* Prints "mnemo: <CODE>: <details>" to stderr, and a "hint: " line when
 * the code says how to fix it: UNAUTHENTICATED (no token or a refused
 * one), PERMISSION_DENIED for a missing role, a TLS handshake that failed.
 * Returns the exit code for err (1, or 3 when the server could not be
 * reached). ctx may be NULL (no hints that need the settings). */
int cli_call_failed(const cli_ctx_t *ctx, const mnemo_call_error_t *err);

/* The hint line cli_call_failed prints for err (without "hint: " and the
 * newline), into buf; returns 0, or -1 when there is none. */
int cli_call_hint(char *buf, size_t size, const cli_ctx_t *ctx, const mnemo_call_error_t *err);

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
