/* client.c - opening and closing a libmnemo client, and its small lookups.
 *
 * DESIGN: a client owns one channel to its target, plaintext or TLS, and
 * the authorization header its calls send; calls (call.c) and streams
 * (stream.c) create their own completion queues. Opening checks the
 * options, reads the PEM files, hands them to gRPC's SSL credentials
 * (which keep copies) and wipes its own buffers. The header is a slice
 * whose bytes are wiped and freed when its last reference goes: the
 * client holds one until it closes, gRPC takes others while a call sends
 * it. This is the one file of libmnemo that uses gRPC's security API.
 * Opening takes a gRPC library reference (grpc_init) that closing gives
 * back (grpc_shutdown), so applications never have to.
 * Threads: open and close from any thread, not concurrently with calls on
 * the same client; the rest from any thread at any time.
 */
#include "client_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc_security.h>
#include <grpc/slice.h>

#include "mnemo/codec.h"

#ifndef MNEMO_VERSION
#define MNEMO_VERSION "0"
#endif

/* The largest PEM file read: CA bundles are a few hundred KiB. */
#define PEM_MAX (16 * 1024 * 1024)

static const char bearer_prefix[] = "Bearer ";

void mnemo_client_options_init(mnemo_client_options_t *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->deadline_ms = MNEMO_CLIENT_DEFAULT_DEADLINE_MS;
    opts->max_receive_message_size = MNEMO_CLIENT_DEFAULT_MAX_RECEIVE;
}

/* Frees len bytes at p after overwriting them (a destroy function of
 * grpc_slice_new_with_len). NULL: no-op. */
static void wipe_free(void *p, size_t len)
{
    if (p == NULL)
        return;
    explicit_bzero(p, len);
    free(p);
}

/* A file's text, NUL-terminated; wiped when freed (keys). */
typedef struct pem {
    char *text; /* NULL: no file */
    size_t len;
    size_t cap;
} pem_t;

static void pem_cleanup(pem_t *p)
{
    wipe_free(p->text, p->cap);
    memset(p, 0, sizeof(*p));
}

/* Makes room for more bytes in p; a moved buffer is wiped. 0 or -1. */
static int pem_grow(pem_t *p)
{
    size_t cap = p->cap != 0 ? p->cap * 2 : 8192;
    char *text = malloc(cap);
    if (text == NULL)
        return -1;
    if (p->len > 0)
        memcpy(text, p->text, p->len);
    wipe_free(p->text, p->cap);
    p->text = text;
    p->cap = cap;
    return 0;
}

/* Reads f to its end into p: 0, or an errno value (EFBIG past PEM_MAX). */
static int pem_read_stream(pem_t *p, FILE *f)
{
    for (;;) {
        if (p->cap - p->len < 2 && pem_grow(p) != 0)
            return ENOMEM;
        size_t n = fread(p->text + p->len, 1, p->cap - p->len - 1, f);
        p->len += n;
        if (p->len > PEM_MAX)
            return EFBIG;
        if (n == 0)
            return ferror(f) ? EIO : 0;
    }
}

/* Reads the PEM file at path, the value of the option field, into p. */
static int pem_read(pem_t *p, const char *field, const char *path, mnemo_call_error_t *err)
{
    if (path[0] == '\0')
        return mnemo_call_fail(err, MNEMO_CODE_INVALID_ARGUMENT, "%s: empty file name", field);
    char why[128];
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return mnemo_call_fail(err, MNEMO_CODE_INVALID_ARGUMENT, "%s: cannot read %s: %s", field,
                               path, strerror_r(errno, why, sizeof(why)));
    int e = pem_read_stream(p, f);
    fclose(f);
    if (e == ENOMEM)
        return mnemo_call_fail(err, MNEMO_CODE_RESOURCE_EXHAUSTED, "out of memory");
    if (e == EFBIG)
        return mnemo_call_fail(err, MNEMO_CODE_INVALID_ARGUMENT, "%s: %s is larger than %d MiB",
                               field, path, PEM_MAX >> 20);
    if (e != 0)
        return mnemo_call_fail(err, MNEMO_CODE_INVALID_ARGUMENT, "%s: cannot read %s: %s", field,
                               path, strerror_r(e, why, sizeof(why)));
    p->text[p->len] = '\0';
    if (p->len == 0)
        return mnemo_call_fail(err, MNEMO_CODE_INVALID_ARGUMENT, "%s: %s is empty", field, path);
    if (strstr(p->text, "-----BEGIN ") == NULL || strlen(p->text) != p->len)
        return mnemo_call_fail(err, MNEMO_CODE_INVALID_ARGUMENT,
                               "%s: %s is not a PEM file (no '-----BEGIN' line)", field, path);
    return MNEMO_CODE_OK;
}

/* Checks a bearer token without ever quoting it. NULL: no token. */
static int check_token(const char *token, mnemo_call_error_t *err)
{
    if (token == NULL)
        return MNEMO_CODE_OK;
    size_t len = strnlen(token, MNEMO_CLIENT_TOKEN_MAX + 1);
    if (len == 0)
        return mnemo_call_fail(err, MNEMO_CODE_INVALID_ARGUMENT, "token: empty (NULL: none)");
    if (len > MNEMO_CLIENT_TOKEN_MAX)
        return mnemo_call_fail(err, MNEMO_CODE_INVALID_ARGUMENT, "token: longer than %d bytes",
                               MNEMO_CLIENT_TOKEN_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)token[i];
        if (ch <= ' ' || ch > '~')
            return mnemo_call_fail(err, MNEMO_CODE_INVALID_ARGUMENT,
                                   "token: character %zu is a space, a control character or "
                                   "not ASCII (a bearer token is printable ASCII)",
                                   i + 1);
    }
    return MNEMO_CODE_OK;
}

/* The first TLS field opts set, or NULL. */
static const char *tls_field_set(const mnemo_client_options_t *opts)
{
    if (opts->tls_ca_file != NULL)
        return "tls_ca_file";
    if (opts->tls_cert_file != NULL)
        return "tls_cert_file";
    if (opts->tls_key_file != NULL)
        return "tls_key_file";
    if (opts->tls_server_name != NULL)
        return "tls_server_name";
    return NULL;
}

/* Checks what can be checked of opts before any file is read. */
static int check_options(const mnemo_client_options_t *opts, mnemo_call_error_t *err)
{
    if (opts->deadline_ms < 0)
        return mnemo_call_fail(err, MNEMO_CODE_INVALID_ARGUMENT, "deadline_ms: negative");
    const char *field = tls_field_set(opts);
    if (!opts->tls && field != NULL)
        return mnemo_call_fail(err, MNEMO_CODE_INVALID_ARGUMENT,
                               "%s: set while tls is 0 (the channel would be plaintext)", field);
    if (opts->tls_cert_file != NULL && opts->tls_key_file == NULL)
        return mnemo_call_fail(err, MNEMO_CODE_INVALID_ARGUMENT,
                               "tls_key_file: missing (tls_cert_file needs its private key)");
    if (opts->tls_key_file != NULL && opts->tls_cert_file == NULL)
        return mnemo_call_fail(err, MNEMO_CODE_INVALID_ARGUMENT,
                               "tls_cert_file: missing (tls_key_file needs its certificate)");
    if (opts->tls_server_name != NULL && opts->tls_server_name[0] == '\0')
        return mnemo_call_fail(err, MNEMO_CODE_INVALID_ARGUMENT, "tls_server_name: empty");
    return check_token(opts->token, err);
}

/* The SSL credentials of opts, from its PEM files (read here). */
static int ssl_credentials(grpc_channel_credentials **out, const mnemo_client_options_t *opts,
                           mnemo_call_error_t *err)
{
    pem_t ca = {0}, cert = {0}, key = {0};
    int rc = MNEMO_CODE_OK;
    if (opts->tls_ca_file != NULL)
        rc = pem_read(&ca, "tls_ca_file", opts->tls_ca_file, err);
    if (rc == MNEMO_CODE_OK && opts->tls_cert_file != NULL)
        rc = pem_read(&cert, "tls_cert_file", opts->tls_cert_file, err);
    if (rc == MNEMO_CODE_OK && opts->tls_key_file != NULL)
        rc = pem_read(&key, "tls_key_file", opts->tls_key_file, err);
    if (rc == MNEMO_CODE_OK) {
        /* gRPC copies the PEM text; NULL roots: its default roots. */
        grpc_ssl_pem_key_cert_pair pair = {key.text, cert.text};
        *out = grpc_ssl_credentials_create(ca.text, cert.text != NULL ? &pair : NULL, NULL, NULL);
        if (*out == NULL)
            rc = mnemo_call_fail(err, MNEMO_CODE_INTERNAL, "tls: gRPC refused the credentials");
    }
    pem_cleanup(&ca);
    pem_cleanup(&cert);
    pem_cleanup(&key);
    return rc;
}

/* Creates c->channel on c->target with the options' credentials and
 * channel arguments. */
static int create_channel(mnemo_client_t *c, const mnemo_client_options_t *opts,
                          mnemo_call_error_t *err)
{
    grpc_arg args[3];
    size_t nargs = 0;
    args[nargs].type = GRPC_ARG_STRING;
    args[nargs].key = (char *)GRPC_ARG_PRIMARY_USER_AGENT_STRING;
    args[nargs].value.string = (char *)"mnemo-c/" MNEMO_VERSION;
    nargs++;
    if (opts->max_receive_message_size != 0) {
        args[nargs].type = GRPC_ARG_INTEGER;
        args[nargs].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
        args[nargs].value.integer = opts->max_receive_message_size;
        nargs++;
    }
    if (opts->tls_server_name != NULL) {
        /* Both the name checked against the certificate and the SNI. */
        args[nargs].type = GRPC_ARG_STRING;
        args[nargs].key = (char *)GRPC_SSL_TARGET_NAME_OVERRIDE_ARG;
        args[nargs].value.string = (char *)opts->tls_server_name;
        nargs++;
    }
    grpc_channel_credentials *creds = NULL;
    if (!opts->tls) {
        creds = grpc_insecure_credentials_create();
    } else {
        int rc = ssl_credentials(&creds, opts, err);
        if (rc != MNEMO_CODE_OK)
            return rc;
    }
    grpc_channel_args channel_args = {nargs, args};
    c->channel = grpc_channel_create(c->target, creds, &channel_args);
    grpc_channel_credentials_release(creds);
    if (c->channel == NULL)
        return mnemo_call_fail(err, MNEMO_CODE_INTERNAL, "cannot create a channel to %s",
                               c->target);
    return MNEMO_CODE_OK;
}

/* Sets c->authorization to "Bearer <token>" (token checked already). */
static int set_token(mnemo_client_t *c, const char *token, mnemo_call_error_t *err)
{
    if (token == NULL)
        return MNEMO_CODE_OK;
    size_t prefix = sizeof(bearer_prefix) - 1, len = prefix + strlen(token);
    char *value = malloc(len);
    if (value == NULL)
        return mnemo_call_fail(err, MNEMO_CODE_RESOURCE_EXHAUSTED, "out of memory");
    memcpy(value, bearer_prefix, prefix);
    memcpy(value + prefix, token, len - prefix);
    c->authorization = grpc_slice_new_with_len(value, len, wipe_free);
    return MNEMO_CODE_OK;
}

int mnemo_client_open(mnemo_client_t **out, const char *target, const mnemo_client_options_t *opts,
                      mnemo_call_error_t *err)
{
    mnemo_client_options_t defaults;
    if (opts == NULL) {
        mnemo_client_options_init(&defaults);
        opts = &defaults;
    }
    if (target == NULL || target[0] == '\0')
        return mnemo_call_fail(err, MNEMO_CODE_INVALID_ARGUMENT, "target: empty");
    int rc = check_options(opts, err);
    if (rc != MNEMO_CODE_OK)
        return rc;

    mnemo_client_t *c = calloc(1, sizeof(*c));
    if (c == NULL || (c->target = strdup(target)) == NULL) {
        free(c);
        return mnemo_call_fail(err, MNEMO_CODE_RESOURCE_EXHAUSTED, "out of memory");
    }
    atomic_init(&c->deadline_ms, opts->deadline_ms);
    grpc_init();
    rc = set_token(c, opts->token, err);
    if (rc == MNEMO_CODE_OK)
        rc = create_channel(c, opts, err);
    if (rc != MNEMO_CODE_OK) {
        mnemo_client_close(c);
        return rc;
    }
    *out = c;
    return mnemo_call_ok(err);
}

void mnemo_client_close(mnemo_client_t *c)
{
    if (c == NULL)
        return;
    if (c->channel != NULL)
        grpc_channel_destroy(c->channel);
    grpc_slice_unref(c->authorization); /* wiped now, or by the last call holding it */
    free(c->target);
    free(c);
    grpc_shutdown();
}

void mnemo_client_set_deadline(mnemo_client_t *c, int64_t deadline_ms)
{
    atomic_store(&c->deadline_ms, deadline_ms > 0 ? deadline_ms : 0);
}

const char *mnemo_client_target(const mnemo_client_t *c)
{
    return c->target;
}

const char *mnemo_client_code_name(int code)
{
    switch (code) {
#define CODE_NAME(name, value)                                                                     \
    case value:                                                                                    \
        return #name;
        MNEMO_CODE_TABLE(CODE_NAME)
#undef CODE_NAME
    }
    return "UNKNOWN_CODE";
}

void mnemo_client_free_message(void *msg)
{
    mnemo_codec_free(msg);
}
