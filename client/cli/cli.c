/* cli.c - the helpers the commands of the `mnemo` CLI share: scanning
 * their arguments, common options, usage errors, connecting, reporting a
 * failed call, and the shape of the commands that ask for one
 * repository's SyncStatus (`status`, `cancel`).
 *
 * DESIGN: every message a command prints on failure goes through here, so
 * the formats scripts parse ("mnemo: <CODE>: <details>") and the exit
 * codes (cli.h) are decided in one place. Threads: the CLI's one thread.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "render.h"
#include "render_repo.h"

int cli_usage_error(const cli_command_t *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (cmd != NULL)
        fprintf(stderr, "mnemo %s: ", cmd->name);
    else
        fputs("mnemo: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (cmd != NULL)
        fprintf(stderr, "\nTry 'mnemo %s --help'.\n", cmd->name);
    else
        fprintf(stderr, "\nTry 'mnemo --help'.\n");
    return CLI_EXIT_USAGE;
}

int cli_set_global(cli_ctx_t *ctx, const cli_command_t *cmd, int id, const char *value)
{
    switch (id) {
    case CLI_OPT_JSON:
        ctx->json = 1;
        return CLI_CONTINUE;
    case CLI_OPT_SERVER:
        if (value[0] == '\0')
            return cli_usage_error(cmd, "--server: empty address");
        ctx->server = value;
        return CLI_CONTINUE;
    case CLI_OPT_TIMEOUT:
        if (cli_parse_int(&ctx->timeout_ms, value, 0, INT32_MAX) != 0)
            return cli_usage_error(cmd, "--timeout: '%s' is not a number of milliseconds", value);
        return CLI_CONTINUE;
    default:
        return cli_usage_error(cmd, "unexpected option");
    }
}

int cli_common_option(cli_ctx_t *ctx, const cli_command_t *cmd, int id, const cli_args_t *a)
{
    if (id == CLI_ARG_ERROR)
        return cli_usage_error(cmd, "%s", a->error);
    if (id == CLI_OPT_HELP) {
        fputs(cmd->usage, stdout);
        return CLI_EXIT_OK;
    }
    return cli_set_global(ctx, cmd, id, a->value);
}

int cli_parse_args(void *out, cli_arg_fn on_arg, cli_ctx_t *ctx, const cli_command_t *cmd,
                   const cli_option_t *options, int argc, char **argv)
{
    cli_args_t a;
    cli_args_init(&a, argc, argv, options);
    int id, rc = CLI_CONTINUE;
    while (rc == CLI_CONTINUE && (id = cli_args_next(&a)) != CLI_ARG_END) {
        if (id == CLI_ARG_ERROR || id >= CLI_OPT_HELP)
            rc = cli_common_option(ctx, cmd, id, &a);
        else
            rc = on_arg(out, cmd, id, a.value);
    }
    return rc;
}

int cli_set_positional(const char **slot, const cli_command_t *cmd, const char *value)
{
    if (*slot != NULL)
        return cli_usage_error(cmd, "unexpected argument '%s'", value);
    *slot = value;
    return CLI_CONTINUE;
}

/* The only own arguments of a single-positional command are positionals. */
static int single_arg(void *out, const cli_command_t *cmd, int id, const char *value)
{
    (void)id;
    return cli_set_positional(out, cmd, value);
}

int cli_parse_single(const char **out, const char *required, cli_ctx_t *ctx,
                     const cli_command_t *cmd, int argc, char **argv)
{
    static const cli_option_t options[] = {CLI_COMMON_OPTIONS};
    *out = NULL;
    int rc = cli_parse_args(out, single_arg, ctx, cmd, options, argc, argv);
    if (rc == CLI_CONTINUE && required != NULL && *out == NULL)
        rc = cli_usage_error(cmd, "%s is missing", required);
    return rc;
}

int cli_parse_single_and_connect(const char **out, const char *required, cli_ctx_t *ctx,
                                 const cli_command_t *cmd, int argc, char **argv)
{
    int rc = cli_parse_single(out, required, ctx, cmd, argc, argv);
    if (rc != CLI_CONTINUE)
        return rc;
    rc = cli_connect(ctx);
    return rc == CLI_EXIT_OK ? CLI_CONTINUE : rc;
}

int cli_connect(cli_ctx_t *ctx)
{
    mnemo_client_options_t opts;
    mnemo_client_options_init(&opts);
    opts.deadline_ms = ctx->timeout_ms;
    mnemo_call_error_t err;
    if (mnemo_client_open(&ctx->client, ctx->server, &opts, &err) != MNEMO_CODE_OK) {
        fprintf(stderr, "mnemo: %s: %s\n", mnemo_client_code_name(err.code), err.message);
        return CLI_EXIT_UNREACHABLE;
    }
    return CLI_EXIT_OK;
}

int cli_call_failed(const mnemo_call_error_t *err)
{
    fprintf(stderr, "mnemo: %s: ", mnemo_client_code_name(err->code));
    cli_print_text(stderr, err->message);
    fputc('\n', stderr);
    return cli_exit_code(err->code, err->unreachable);
}

int cli_out_of_memory(void)
{
    fprintf(stderr, "mnemo: out of memory\n");
    return CLI_EXIT_SERVER;
}

int cli_print_memories(Mnemo__V1__Memory *const *memories, size_t n)
{
    if (n == 0) {
        printf("no memories\n");
        return CLI_EXIT_OK;
    }
    cli_memory_row_t *rows = calloc(n, sizeof(*rows));
    if (rows == NULL)
        return cli_out_of_memory();
    for (size_t i = 0; i < n; i++)
        rows[i].memory = memories[i];
    cli_print_memory_table(stdout, rows, n, 0);
    free(rows);
    return CLI_EXIT_OK;
}

int cli_run_sync_status_call(cli_ctx_t *ctx, const cli_command_t *cmd, int argc, char **argv,
                             cli_sync_status_call_fn call,
                             void (*print_human)(const Mnemo__V1__SyncStatus *st))
{
    const char *name = NULL;
    int rc = cli_parse_single_and_connect(&name, "NAME", ctx, cmd, argc, argv);
    if (rc != CLI_CONTINUE)
        return rc;
    Mnemo__V1__SyncStatus *st = NULL;
    mnemo_call_error_t err;
    if (call(&st, ctx->client, name, &err) != MNEMO_CODE_OK)
        return cli_call_failed(&err);
    if (ctx->json) {
        cli_json_t j;
        cli_json_init(&j, stdout);
        cli_json_sync_status(&j, st);
        cli_json_finish(&j);
    } else {
        print_human(st);
    }
    mnemo_client_free_message(st);
    return CLI_EXIT_OK;
}
