/* token.h - bearer tokens in the mnemo CLI: making a new one, hashing one
 * for mnemod's --auth-tokens, reading one from a file or a stream, and
 * checking that it can travel in an HTTP/2 header.
 *
 * DESIGN: a token is a secret: nothing here prints one or puts one in an
 * error message (positions only), and every buffer that held one is wiped
 * before it is freed (cli_token_free). Tokens are 1 to CLI_TOKEN_MAX
 * printable ASCII characters without spaces, the set libmnemo accepts;
 * new ones are 32 random bytes in base64url (43 characters). The hash is
 * the lowercase hex SHA-256 of the token's bytes, the same as `mnemod
 * hash-token` prints (crypto.h). This is the CLI's one user of
 * getrandom. Part of mnemo_cli_core. Threads: any.
 */
#ifndef MNEMO_CLI_TOKEN_H
#define MNEMO_CLI_TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mnemo/client.h"

#define CLI_TOKEN_MAX      MNEMO_CLIENT_TOKEN_MAX
#define CLI_TOKEN_RANDOM   32 /* bytes of randomness in a new token */
#define CLI_TOKEN_NEW_LEN  43 /* base64url characters of CLI_TOKEN_RANDOM bytes */
#define CLI_TOKEN_HASH_HEX 64

/* Writes n bytes as base64url without padding (RFC 4648 section 5) and a
 * NUL into out, which holds at least (n * 4 + 2) / 3 + 1 bytes; returns the
 * length. */
size_t cli_base64url(char *out, const uint8_t *in, size_t n);

/* A new token: CLI_TOKEN_RANDOM bytes from getrandom, in base64url. 0, or
 * -1 when the kernel gives no randomness (errno set). */
int cli_token_new(char out[CLI_TOKEN_NEW_LEN + 1]);

/* The lowercase hex SHA-256 of token[0..len) and a NUL. */
void cli_token_hash(char hex[CLI_TOKEN_HASH_HEX + 1], const char *token, size_t len);

/* Why token[0..len) cannot be sent, into why (never quoting it), or 0 when
 * it can: empty, longer than CLI_TOKEN_MAX, or a byte that is a space, a
 * control character or not ASCII. Returns 0 or -1. */
int cli_token_check(const char *token, size_t len, char *why, size_t why_size);

/* How cli_token_read takes what it reads. */
typedef enum cli_token_lines {
    CLI_TOKEN_FIRST_LINE, /* the first line; the rest is ignored (token files) */
    CLI_TOKEN_ONE_LINE,   /* exactly one line (stdin of `token hash`) */
} cli_token_lines_t;

/* Reads a token from f: the text up to the first newline (or the end),
 * without its "\n" or "\r\n"; with CLI_TOKEN_ONE_LINE, only newlines may
 * follow. At most CLI_TOKEN_MAX bytes are kept. On success *out is the
 * caller's (cli_token_free) and 0 is returned; otherwise -1 with why
 * saying what was wrong (read error, empty, too long, a second line, a
 * byte cli_token_check refuses), never quoting the token. */
int cli_token_read(char **out, FILE *f, cli_token_lines_t lines, char *why, size_t why_size);

/* cli_token_read over the file at path; why names the error but not
 * the path (the caller knows it). */
int cli_token_read_file(char **out, const char *path, char *why, size_t why_size);

/* Wipes and frees a token from cli_token_read. NULL: no-op. */
void cli_token_free(char *token);

#endif
