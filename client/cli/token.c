/* token.c - bearer tokens in the mnemo CLI (see token.h).
 *
 * DESIGN: tokens are read into one stack buffer of CLI_TOKEN_MAX + 2
 * bytes and copied once into the caller's heap buffer; both are wiped
 * (explicit_bzero) when done. Error texts say which character or line is
 * wrong, never what it holds. Part of mnemo_cli_core. Threads: any.
 */
#include "token.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "crypto.h"

size_t cli_base64url(char *out, const uint8_t *in, size_t n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
        out[o++] = alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
    }
    out[o] = '\0';
    return o;
}

int cli_token_new(char out[CLI_TOKEN_NEW_LEN + 1])
{
    uint8_t raw[CLI_TOKEN_RANDOM];
    size_t got = 0;
    while (got < sizeof(raw)) {
        ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            explicit_bzero(raw, sizeof(raw));
            return -1;
        }
        got += (size_t)n;
    }
    cli_base64url(out, raw, sizeof(raw));
    explicit_bzero(raw, sizeof(raw));
    return 0;
}

void cli_token_hash(char hex[CLI_TOKEN_HASH_HEX + 1], const char *token, size_t len)
{
    _Static_assert(CLI_TOKEN_HASH_HEX == CLI_SHA256_HEX, "hash sizes differ");
    cli_crypto_sha256_hex(hex, token, len);
}

int cli_token_check(const char *token, size_t len, char *why, size_t why_size)
{
    if (len == 0) {
        snprintf(why, why_size, "the token is empty");
        return -1;
    }
    if (len > CLI_TOKEN_MAX) {
        snprintf(why, why_size, "the token is longer than %d bytes", CLI_TOKEN_MAX);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)token[i];
        if (ch <= ' ' || ch > '~') {
            snprintf(why, why_size,
                     "character %zu of the token is a space, a control character or not "
                     "ASCII (a bearer token is printable ASCII)",
                     i + 1);
            return -1;
        }
    }
    return 0;
}

/* Reads the first line of f into buf (at most max bytes, "\n" and a
 * trailing "\r" dropped): its length, or -1 with why set. */
static long read_line(char *buf, size_t max, FILE *f, char *why, size_t why_size)
{
    size_t len = 0;
    int ch;
    while ((ch = getc(f)) != EOF && ch != '\n') {
        if (len == max) {
            snprintf(why, why_size, "the token is longer than %zu bytes", max);
            return -1;
        }
        buf[len++] = (char)ch;
    }
    if (ferror(f)) {
        snprintf(why, why_size, "read error: %s", strerror(errno));
        return -1;
    }
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    return (long)len;
}

/* Checks that only newlines follow in f. */
static int only_newlines_follow(FILE *f, char *why, size_t why_size)
{
    int ch;
    while ((ch = getc(f)) != EOF) {
        if (ch != '\n' && ch != '\r') {
            snprintf(why, why_size, "more than one line: want the token alone");
            return -1;
        }
    }
    return 0;
}

int cli_token_read(char **out, FILE *f, cli_token_lines_t lines, char *why, size_t why_size)
{
    char buf[CLI_TOKEN_MAX + 1];
    long n = read_line(buf, CLI_TOKEN_MAX, f, why, why_size);
    int rc = -1;
    if (n == 0)
        snprintf(why, why_size, "no token on the first line");
    if (n <= 0)
        goto done;
    if (cli_token_check(buf, (size_t)n, why, why_size) != 0)
        goto done;
    if (lines == CLI_TOKEN_ONE_LINE && only_newlines_follow(f, why, why_size) != 0)
        goto done;
    char *token = malloc((size_t)n + 1);
    if (token == NULL) {
        snprintf(why, why_size, "out of memory");
        goto done;
    }
    memcpy(token, buf, (size_t)n);
    token[n] = '\0';
    *out = token;
    rc = 0;
done:
    explicit_bzero(buf, sizeof(buf));
    return rc;
}

int cli_token_read_file(char **out, const char *path, char *why, size_t why_size)
{
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        snprintf(why, why_size, "cannot read it: %s", strerror(errno));
        return -1;
    }
    /* stdio's buffer gets the token too: make it one that is wiped. */
    char iobuf[4096];
    setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
    int rc = cli_token_read(out, f, CLI_TOKEN_FIRST_LINE, why, why_size);
    fclose(f);
    explicit_bzero(iobuf, sizeof(iobuf));
    return rc;
}

void cli_token_free(char *token)
{
    if (token == NULL)
        return;
    explicit_bzero(token, strlen(token));
    free(token);
}
