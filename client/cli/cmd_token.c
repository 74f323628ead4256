/* cmd_token.c - `mnemo token new|hash`: bearer tokens for a mnemod started
 * with --auth-tokens, made and hashed here; no server is involved.
 *
 * DESIGN: `new` prints 32 random bytes in base64url, or writes them to a
 * file created 0600 (never over an existing one) so that the token never
 * passes through a terminal or a world-readable file. `hash` reads one
 * line on stdin, with echo off when stdin is a terminal, and prints the
 * lowercase hex SHA-256, the first field of an --auth-tokens line (the
 * same as `mnemod hash-token` prints for the same input). stdin's buffer
 * is one this file wipes. Threads: the CLI's one thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "token.h"

static const char usage[] =
    "usage: mnemo token new [--out FILE]\n"
    "       mnemo token hash < TOKEN-FILE\n"
    "\n"
    "Bearer tokens for a mnemod started with '--auth-tokens FILE', whose lines\n"
    "are 'SHA256-HEX ROLE NAME' (ROLE: read, write or admin). Nothing is sent\n"
    "to a server. Clients send the token with --token-file FILE or the\n"
    "environment variable MNEMO_TOKEN (see 'mnemo --help').\n"
    "\n"
    "  new          prints a new token on stdout: 32 random bytes in base64url\n"
    "               (43 characters)\n"
    "  --out FILE   with new: writes the token to FILE instead, created with\n"
    "               mode 0600 (an existing FILE is not overwritten)\n"
    "  hash         reads a token on stdin (one line; not echoed on a terminal)\n"
    "               and prints its SHA-256 in lowercase hex, the first field of\n"
    "               an --auth-tokens line (as 'mnemod hash-token' does)\n"
    "  --json       print {\"token\": \"...\"}, {\"file\": \"...\"} or\n"
    "               {\"sha256\": \"...\"}\n"
    "\n"
    "Example:\n"
    "  mnemo token new --out ci.token\n"
    "  echo \"$(mnemo token hash < ci.token) write ci\" >> tokens\n"
    "  mnemod --auth-tokens tokens ...\n"
    "  mnemo --token-file ci.token store 'hello'\n";

enum { OPT_OUT = 1 };

static const cli_option_t options[] = {{"--out", 1, OPT_OUT}, CLI_COMMON_OPTIONS};

typedef struct token_args {
    const char *action; /* "new" or "hash" */
    const char *out;    /* --out FILE */
} token_args_t;

static int token_arg(void *out, const cli_command_t *self, int id, const char *value)
{
    token_args_t *ta = out;
    if (id == OPT_OUT) {
        if (value[0] == '\0')
            return cli_usage_error(self, "--out: empty file name");
        ta->out = value;
        return CLI_CONTINUE;
    }
    if (strcmp(value, "new") != 0 && strcmp(value, "hash") != 0)
        return cli_usage_error(self, "unknown action '%s': want new or hash", value);
    return cli_set_positional(&ta->action, self, value);
}

/* Prints {"name": value} on stdout. */
static void print_json(const char *name, const char *value)
{
    cli_json_t j;
    cli_json_init(&j, stdout);
    cli_json_begin_object(&j);
    cli_json_field_string(&j, name, value);
    cli_json_end_object(&j);
    cli_json_finish(&j);
}

/* Writes token and a newline to a new file at path, mode 0600. */
static int write_new_file(const cli_command_t *self, const char *path, const char *token)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return cli_usage_error(self, "--out %s: cannot create it: %s", path, strerror(errno));
    char line[CLI_TOKEN_NEW_LEN + 2];
    size_t len = (size_t)snprintf(line, sizeof(line), "%s\n", token);
    ssize_t n = write(fd, line, len);
    explicit_bzero(line, sizeof(line));
    if (n != (ssize_t)len || fsync(fd) != 0 || close(fd) != 0) {
        fprintf(stderr, "mnemo token: --out %s: cannot write it: %s\n", path,
                n < 0 ? strerror(errno) : "short write");
        unlink(path);
        return CLI_EXIT_SERVER;
    }
    return CLI_EXIT_OK;
}

static int token_new(cli_ctx_t *ctx, const cli_command_t *self, const char *path)
{
    char token[CLI_TOKEN_NEW_LEN + 1];
    if (cli_token_new(token) != 0) {
        fprintf(stderr, "mnemo token: no randomness from the kernel: %s\n", strerror(errno));
        return CLI_EXIT_SERVER;
    }
    int rc = CLI_EXIT_OK;
    if (path != NULL) {
        rc = write_new_file(self, path, token);
        if (rc == CLI_EXIT_OK && ctx->json)
            print_json("file", path);
    } else if (ctx->json) {
        print_json("token", token);
    } else {
        printf("%s\n", token);
    }
    explicit_bzero(token, sizeof(token));
    return rc;
}

/* Reads the token on stdin, with echo off on a terminal. */
static int read_stdin_token(char **token, char *why, size_t why_size)
{
    static char iobuf[CLI_TOKEN_MAX + 64]; /* outlives stdin's use; wiped after */
    setvbuf(stdin, iobuf, _IOFBF, sizeof(iobuf));
    struct termios saved;
    int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (tty) {
        struct termios quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        fputs("token (not echoed): ", stderr);
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    /* A terminal has no end to wait for: its first line is the token. */
    int rc = cli_token_read(token, stdin, tty ? CLI_TOKEN_FIRST_LINE : CLI_TOKEN_ONE_LINE, why,
                            why_size);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        fputc('\n', stderr);
    }
    explicit_bzero(iobuf, sizeof(iobuf));
    return rc;
}

static int token_hash(cli_ctx_t *ctx, const cli_command_t *self)
{
    char *token = NULL;
    char why[200];
    if (read_stdin_token(&token, why, sizeof(why)) != 0)
        return cli_usage_error(self, "stdin: %s", why);
    char hex[CLI_TOKEN_HASH_HEX + 1];
    cli_token_hash(hex, token, strlen(token));
    cli_token_free(token);
    if (ctx->json)
        print_json("sha256", hex);
    else
        printf("%s\n", hex);
    return CLI_EXIT_OK;
}

static int run(cli_ctx_t *ctx, const cli_command_t *self, int argc, char **argv)
{
    token_args_t ta = {0};
    int rc = cli_parse_args(&ta, token_arg, ctx, self, options, argc, argv);
    if (rc != CLI_CONTINUE)
        return rc;
    if (ta.action == NULL)
        return cli_usage_error(self, "want an action: new or hash");
    if (strcmp(ta.action, "new") == 0)
        return token_new(ctx, self, ta.out);
    if (ta.out != NULL)
        return cli_usage_error(self, "--out: only with 'new'");
    return token_hash(ctx, self);
}

const cli_command_t cli_cmd_token = {"token", "make a bearer token, or hash one for mnemod", usage,
                                     run};
