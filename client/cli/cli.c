/* cli.c - the helpers the commands of the `mnemo` CLI share: scanning
 * their arguments, common options and the environment, usage errors,
 * connecting (TLS and the bearer token), reporting a failed call with a
 * hint, and the shape of the commands that ask for one repository's
 * SyncStatus (`status`, `cancel`).
 *
 * DESIGN: every message a command prints on failure goes through here, so
 * the formats scripts parse ("mnemo: <CODE>: <details>") and the exit
 * codes (cli.h) are decided in one place. Settings come from flags, then
 * the environment (cli_ctx_init reads it first, flags overwrite); each
 * remembers which of the two gave it, so errors name what the user typed.
 * The token is read at connect time, handed to libmnemo (which copies it)
 * and wiped; no message here ever includes it. Threads: the CLI's one
 * thread.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "render.h"
#include "render_repo.h"
#include "token.h"

/* The value of the variable name in envp; NULL when unset or empty. */
static const char *env_get(char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (; envp != NULL && *envp != NULL; envp++)
        if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
            return (*envp)[n + 1] != '\0' ? *envp + n + 1 : NULL;
    return NULL;
}

static void env_setting(cli_setting_t *s, char *const *envp, const char *name)
{
    s->value = env_get(envp, name);
    s->source = s->value != NULL ? name : NULL;
}

void cli_ctx_init(cli_ctx_t *ctx, char *const *envp)
{
    memset(ctx, 0, sizeof(*ctx));
    const char *server = env_get(envp, "MNEMO_SERVER");
    ctx->server = server != NULL ? server : CLI_DEFAULT_SERVER;
    ctx->timeout_ms = CLI_DEFAULT_TIMEOUT_MS;
    env_setting(&ctx->sec.tls_ca, envp, "MNEMO_TLS_CA");
    env_setting(&ctx->sec.tls_cert, envp, "MNEMO_CLIENT_TLS_CERT");
    env_setting(&ctx->sec.tls_key, envp, "MNEMO_CLIENT_TLS_KEY");
    env_setting(&ctx->sec.token_file, envp, "MNEMO_TOKEN_FILE");
    ctx->sec.token_env = env_get(envp, "MNEMO_TOKEN");
}

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

/* Sets s from the flag name (value non-empty). */
static int set_flag(cli_setting_t *s, const cli_command_t *cmd, const char *name, const char *value)
{
    if (value[0] == '\0')
        return cli_usage_error(cmd, "%s: empty value", name);
    s->value = value;
    s->source = name;
    return CLI_CONTINUE;
}

/* The security options of cli_set_global. */
static int set_security(cli_security_t *sec, const cli_command_t *cmd, int id, const char *value)
{
    switch (id) {
    case CLI_OPT_TLS:
        sec->tls = 1;
        return CLI_CONTINUE;
    case CLI_OPT_TLS_CA:
        return set_flag(&sec->tls_ca, cmd, "--tls-ca", value);
    case CLI_OPT_TLS_CERT:
        return set_flag(&sec->tls_cert, cmd, "--tls-cert", value);
    case CLI_OPT_TLS_KEY:
        return set_flag(&sec->tls_key, cmd, "--tls-key", value);
    case CLI_OPT_TLS_SERVER_NAME:
        return set_flag(&sec->tls_server_name, cmd, "--tls-server-name", value);
    case CLI_OPT_TOKEN_FILE:
        return set_flag(&sec->token_file, cmd, "--token-file", value);
    case CLI_OPT_TOKEN:
        /* The value is never echoed: it is a secret typed in the open. */
        return cli_usage_error(cmd, "--token: not accepted, because a token on the command line "
                                    "shows in 'ps' and the shell history; use --token-file FILE "
                                    "or the environment variable MNEMO_TOKEN");
    default:
        return cli_usage_error(cmd, "unexpected option");
    }
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
        return set_security(&ctx->sec, cmd, id, value);
    }
}

void cli_print_usage(FILE *f, const cli_command_t *cmd)
{
    fputs(cmd->usage, f);
    fputs("\n"
          "Global options, before or after the command: --server ADDR, --timeout MS,\n"
          "--json; for a secured server --tls, --tls-ca FILE, --tls-cert FILE,\n"
          "--tls-key FILE, --tls-server-name NAME, --token-file FILE (or the\n"
          "environment: MNEMO_TLS_CA, MNEMO_CLIENT_TLS_CERT, MNEMO_CLIENT_TLS_KEY,\n"
          "MNEMO_TOKEN_FILE, MNEMO_TOKEN). See 'mnemo --help'.\n",
          f);
}

int cli_common_option(cli_ctx_t *ctx, const cli_command_t *cmd, int id, const cli_args_t *a)
{
    if (id == CLI_ARG_ERROR)
        return cli_usage_error(cmd, "%s", a->error);
    if (id == CLI_OPT_HELP) {
        cli_print_usage(stdout, cmd);
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

/* Whether the settings ask for TLS: --tls or any TLS setting. */
static int tls_wanted(const cli_security_t *sec)
{
    return sec->tls || sec->tls_ca.value != NULL || sec->tls_cert.value != NULL ||
           sec->tls_key.value != NULL || sec->tls_server_name.value != NULL;
}

/* The token part of cli_client_options. */
static int token_option(mnemo_client_options_t *opts, char **token, cli_ctx_t *ctx)
{
    const cli_setting_t *file = &ctx->sec.token_file;
    const char *env = ctx->sec.token_env;
    char why[200];
    if (file->value != NULL && env != NULL && strcmp(file->source, "--token-file") != 0)
        return cli_usage_error(NULL, "MNEMO_TOKEN and MNEMO_TOKEN_FILE are both set: unset one "
                                     "(or give --token-file, which wins over both)");
    if (file->value != NULL) {
        if (cli_token_read_file(token, file->value, why, sizeof(why)) != 0)
            return cli_usage_error(NULL, "%s %s: %s", file->source, file->value, why);
        opts->token = *token;
        ctx->token_from = file->source;
    } else if (env != NULL) {
        if (cli_token_check(env, strlen(env), why, sizeof(why)) != 0)
            return cli_usage_error(NULL, "MNEMO_TOKEN: %s", why);
        opts->token = env;
        ctx->token_from = "MNEMO_TOKEN";
    }
    return CLI_CONTINUE;
}

int cli_client_options(mnemo_client_options_t *opts, char **token, cli_ctx_t *ctx)
{
    const cli_security_t *sec = &ctx->sec;
    *token = NULL;
    ctx->token_from = NULL;
    opts->deadline_ms = ctx->timeout_ms;
    opts->tls = tls_wanted(sec);
    opts->tls_ca_file = sec->tls_ca.value;
    opts->tls_cert_file = sec->tls_cert.value;
    opts->tls_key_file = sec->tls_key.value;
    opts->tls_server_name = sec->tls_server_name.value;
    if (sec->tls_cert.value != NULL && sec->tls_key.value == NULL)
        return cli_usage_error(NULL,
                               "%s: needs its private key: --tls-key FILE or "
                               "MNEMO_CLIENT_TLS_KEY",
                               sec->tls_cert.source);
    if (sec->tls_key.value != NULL && sec->tls_cert.value == NULL)
        return cli_usage_error(NULL,
                               "%s: needs its certificate: --tls-cert FILE or "
                               "MNEMO_CLIENT_TLS_CERT",
                               sec->tls_key.source);
    return token_option(opts, token, ctx);
}

/* Reports a setting libmnemo refused (INVALID_ARGUMENT naming its field,
 * e.g. "tls_ca_file: cannot read ...") under the flag or variable that
 * gave it. Returns 2. */
static int open_refused(const cli_ctx_t *ctx, const mnemo_call_error_t *err)
{
    const struct {
        const char *field;
        const cli_setting_t *setting;
    } fields[] = {
        {"tls_ca_file: ", &ctx->sec.tls_ca},
        {"tls_cert_file: ", &ctx->sec.tls_cert},
        {"tls_key_file: ", &ctx->sec.tls_key},
        {"tls_server_name: ", &ctx->sec.tls_server_name},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        size_t n = strlen(fields[i].field);
        if (strncmp(err->message, fields[i].field, n) == 0 && fields[i].setting->source != NULL)
            return cli_usage_error(NULL, "%s: %s", fields[i].setting->source, err->message + n);
    }
    return cli_usage_error(NULL, "%s", err->message);
}

/* Parses the TLS files once more (crypto.h): gRPC would report a corrupt
 * file, or a key that is not its certificate's, only as UNAVAILABLE on
 * the first call. Returns CLI_CONTINUE or 2. */
static int check_tls_files(const cli_security_t *sec)
{
    char why[200];
    const cli_setting_t *certs[] = {&sec->tls_ca, &sec->tls_cert};
    for (size_t i = 0; i < 2; i++) {
        const cli_setting_t *s = certs[i];
        if (s->value != NULL && cli_crypto_check_certs(s->value, why, sizeof(why)) != 0)
            return cli_usage_error(NULL, "%s %s: %s", s->source, s->value, why);
    }
    const cli_setting_t *key = &sec->tls_key, *cert = &sec->tls_cert;
    if (key->value != NULL && cert->value != NULL &&
        cli_crypto_check_key(key->value, cert->value, why, sizeof(why)) != 0)
        return cli_usage_error(NULL, "%s %s: %s (%s %s)", key->source, key->value, why,
                               cert->source, cert->value);
    return CLI_CONTINUE;
}

int cli_connect(cli_ctx_t *ctx)
{
    mnemo_client_options_t opts;
    mnemo_client_options_init(&opts);
    char *token = NULL;
    int rc = cli_client_options(&opts, &token, ctx);
    if (rc != CLI_CONTINUE)
        return rc;
    mnemo_call_error_t err;
    int code = mnemo_client_open(&ctx->client, ctx->server, &opts, &err);
    cli_token_free(token); /* the client keeps its own copy */
    if (code == MNEMO_CODE_OK) {
        rc = check_tls_files(&ctx->sec);
        if (rc == CLI_CONTINUE)
            return CLI_EXIT_OK;
        mnemo_client_close(ctx->client);
        ctx->client = NULL;
        return rc;
    }
    if (code == MNEMO_CODE_INVALID_ARGUMENT)
        return open_refused(ctx, &err);
    fprintf(stderr, "mnemo: %s: %s\n", mnemo_client_code_name(err.code), err.message);
    return CLI_EXIT_UNREACHABLE;
}

/* The hint for PERMISSION_DENIED "... needs role ROLE; ...", the server's
 * wording for a missing role (other denials, such as a path outside the
 * allowed roots, get none). */
static int role_hint(char *buf, size_t size, const mnemo_call_error_t *err)
{
    static const char needs[] = "needs role ";
    const char *role = strstr(err->message, needs);
    if (role == NULL)
        return -1;
    role += sizeof(needs) - 1;
    int n = (int)strspn(role, "abcdefghijklmnopqrstuvwxyz");
    if (n == 0)
        return -1;
    snprintf(buf, size,
             "this call needs role %.*s, which your credentials lack: use a token "
             "(--token-file, MNEMO_TOKEN) or client certificate that has role %.*s",
             n, role, n, role);
    return 0;
}

/* The hint for UNAUTHENTICATED: no token sent, or one the server refused. */
static int token_hint(char *buf, size_t size, const cli_ctx_t *ctx)
{
    if (ctx == NULL || ctx->token_from == NULL) {
        snprintf(buf, size, "this server wants a token: --token-file FILE or MNEMO_TOKEN");
        return 0;
    }
    const cli_setting_t *file = &ctx->sec.token_file;
    int from_file = strcmp(ctx->token_from, "MNEMO_TOKEN") != 0;
    snprintf(buf, size,
             "the server does not know the token from %s%s%s (mistyped, revoked, or for "
             "another server)",
             ctx->token_from, from_file ? " " : "", from_file ? file->value : "");
    return 0;
}

/* The hint for a connection that failed, from gRPC's wording of it. */
static int connect_hint(char *buf, size_t size, const cli_ctx_t *ctx, const char *message)
{
    int tls = ctx != NULL && tls_wanted(&ctx->sec);
    if (tls && (strstr(message, "andshake") != NULL || strstr(message, "peer certificate") != NULL))
        snprintf(buf, size,
                 "the TLS handshake failed: does the server speak TLS, does --tls-ca hold the "
                 "CA that signed its certificate, and is that certificate issued for the name "
                 "dialled (else --tls-server-name NAME)?");
    else if (tls && strstr(message, "Socket closed") != NULL)
        snprintf(buf, size,
                 "the server closed the connection during the handshake: it may want a client "
                 "certificate its CA signed (--tls-cert FILE --tls-key FILE)");
    else if (!tls && strstr(message, "Socket closed") != NULL)
        snprintf(buf, size,
                 "the server closed the connection at once: if it speaks TLS, add --tls-ca FILE "
                 "(or --tls)");
    else
        return -1;
    return 0;
}

int cli_call_hint(char *buf, size_t size, const cli_ctx_t *ctx, const mnemo_call_error_t *err)
{
    switch (err->code) {
    case MNEMO_CODE_UNAUTHENTICATED:
        return token_hint(buf, size, ctx);
    case MNEMO_CODE_PERMISSION_DENIED:
        return role_hint(buf, size, err);
    case MNEMO_CODE_UNAVAILABLE:
        return err->unreachable ? connect_hint(buf, size, ctx, err->message) : -1;
    default:
        return -1;
    }
}

int cli_call_failed(const cli_ctx_t *ctx, const mnemo_call_error_t *err)
{
    fprintf(stderr, "mnemo: %s: ", mnemo_client_code_name(err->code));
    cli_print_text(stderr, err->message);
    fputc('\n', stderr);
    char hint[512];
    if (cli_call_hint(hint, sizeof(hint), ctx, err) == 0) {
        fputs("hint: ", stderr);
        cli_print_text(stderr, hint);
        fputc('\n', stderr);
    }
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
        return cli_call_failed(ctx, &err);
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
