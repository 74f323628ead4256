/* main.c - the `mnemo` command-line client of mnemod.
 *
 * usage: mnemo [--server ADDR] [--json] [--timeout MS] [--tls] [--tls-ca FILE]
 *              [--tls-cert FILE --tls-key FILE] [--tls-server-name NAME]
 *              [--token-file FILE] COMMAND [ARGS...]
 *
 * Exit codes: 0 success (including `delete` of an absent id), 1 the server
 * answered with an error ("mnemo: <CODE>: <details>" on stderr), 2 usage
 * error, 3 the server cannot be reached, 130 `sync`/`watch` interrupted.
 * See cli.h and follow.h.
 *
 * DESIGN: main reads the environment (cli_ctx_init), then the global
 * options (which may also follow the command, and win over the
 * environment), finds the command in one table and runs it; each command lives
 * in its own cmd_<name>.c. main owns the client and closes it, so commands
 * return instead of exiting. Threads: one, except that `sync` and `watch`
 * add a signal-waiting thread (follow.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#ifndef MNEMO_VERSION
#define MNEMO_VERSION "0"
#endif

static const cli_command_t *const commands[] = {
    &cli_cmd_store, &cli_cmd_get,  &cli_cmd_delete, &cli_cmd_list,  &cli_cmd_search,
    &cli_cmd_tags,  &cli_cmd_sync, &cli_cmd_status, &cli_cmd_watch, &cli_cmd_cancel,
    &cli_cmd_repos, &cli_cmd_code, &cli_cmd_health, &cli_cmd_token,
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

enum { OPT_VERSION = 1 };

static const cli_option_t global_options[] = {
    {"--version", 0, OPT_VERSION},
    {"-V", 0, OPT_VERSION},
    CLI_COMMON_OPTIONS,
};

static void print_usage(FILE *f)
{
    fputs("usage: mnemo [OPTIONS] COMMAND [ARGS...]\n"
          "\n"
          "Stores and retrieves memories on a mnemod server, syncs code\n"
          "repositories into its index and searches them.\n"
          "\n"
          "Commands:\n",
          f);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-8s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f,
            "\n"
            "Options (also accepted after the command):\n"
            "  --server ADDR  server address, host:port (env MNEMO_SERVER;\n"
            "                 default %s)\n"
            "  --json         print one JSON document on stdout\n"
            "  --timeout MS   deadline of each call in milliseconds, 0 = none\n"
            "                 (default %d; the streams of 'sync' and 'watch'\n"
            "                 have none)\n"
            "  -h, --help     show this help; 'mnemo COMMAND --help' for a command\n"
            "  -V, --version  print the version\n"
            "\n"
            "Security (flags win over the environment):\n"
            "  --tls                   speak TLS, trusting gRPC's default roots (the\n"
            "                          system's CAs)\n"
            "  --tls-ca FILE           speak TLS, trusting the CAs in this PEM file\n"
            "                          (env MNEMO_TLS_CA)\n"
            "  --tls-cert FILE         client certificate (PEM) for mutual TLS; needs\n"
            "                          --tls-key (env MNEMO_CLIENT_TLS_CERT)\n"
            "  --tls-key FILE          its private key (env MNEMO_CLIENT_TLS_KEY)\n"
            "  --tls-server-name NAME  the name the server's certificate must carry,\n"
            "                          when it is not the host in --server\n"
            "  --token-file FILE       send the bearer token on the file's first line\n"
            "                          (env MNEMO_TOKEN_FILE); env MNEMO_TOKEN holds\n"
            "                          the token itself. There is no --token flag: the\n"
            "                          command line shows in 'ps' and shell history.\n"
            "  Any --tls-* option implies --tls. 'mnemo token new' makes a token,\n"
            "  'mnemo token hash' prints its SHA-256 for mnemod's --auth-tokens.\n"
            "\n"
            "Exit status:\n"
            "  0  success ('delete' of an absent id included)\n"
            "  1  the server answered with an error, printed on stderr as\n"
            "     'mnemo: <CODE>: <details>' (CODE is the gRPC status name),\n"
            "     with a 'hint:' line for a missing or refused token or role\n"
            "  2  usage error (also: a TLS or token file that cannot be used)\n"
            "  3  the server cannot be reached (refused, unknown host, a failed TLS\n"
            "     handshake, or no connection before the timeout)\n"
            "  130  'sync' or 'watch' interrupted by Ctrl-C (143: SIGTERM)\n",
            CLI_DEFAULT_SERVER, CLI_DEFAULT_TIMEOUT_MS);
}

static const cli_command_t *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

/* Parses the global options; returns CLI_CONTINUE with *cmd_index the
 * argv index of the command, or an exit code. */
static int parse_globals(cli_ctx_t *ctx, int *cmd_index, int argc, char **argv)
{
    cli_args_t a;
    cli_args_init(&a, argc, argv, global_options);
    for (;;) {
        int id = cli_args_next(&a);
        switch (id) {
        case CLI_ARG_POSITIONAL:
            *cmd_index = a.index - 1;
            return CLI_CONTINUE;
        case CLI_ARG_END:
            print_usage(stderr);
            return CLI_EXIT_USAGE;
        case CLI_ARG_ERROR:
            return cli_usage_error(NULL, "%s", a.error);
        case OPT_VERSION:
            printf("mnemo %s\n", MNEMO_VERSION);
            return CLI_EXIT_OK;
        case CLI_OPT_HELP:
            print_usage(stdout);
            return CLI_EXIT_OK;
        default: {
            int rc = cli_set_global(ctx, NULL, id, a.value);
            if (rc != CLI_CONTINUE)
                return rc;
        }
        }
    }
}

int main(int argc, char **argv)
{
    /* gRPC's own log lines repeat, less readably, what the CLI prints of a
     * failure (a TLS handshake, a refused connection); GRPC_VERBOSITY set
     * by the user still wins. */
    setenv("GRPC_VERBOSITY", "NONE", 0);
    cli_ctx_t ctx;
    cli_ctx_init(&ctx, environ);
    int cmd_index = 0;
    int rc = parse_globals(&ctx, &cmd_index, argc, argv);
    if (rc != CLI_CONTINUE)
        return rc;

    const char *name = argv[cmd_index];
    if (strcmp(name, "help") == 0) {
        const cli_command_t *cmd = cmd_index + 1 < argc ? find_command(argv[cmd_index + 1]) : NULL;
        if (cmd_index + 1 < argc && cmd == NULL)
            return cli_usage_error(NULL, "unknown command '%s'", argv[cmd_index + 1]);
        if (cmd != NULL)
            cli_print_usage(stdout, cmd);
        else
            print_usage(stdout);
        return CLI_EXIT_OK;
    }
    const cli_command_t *cmd = find_command(name);
    if (cmd == NULL)
        return cli_usage_error(NULL, "unknown command '%s'", name);
    rc = cmd->run(&ctx, cmd, argc - cmd_index, argv + cmd_index);
    mnemo_client_close(ctx.client);
    fflush(stdout);
    return rc;
}
