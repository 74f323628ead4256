/* test_client_security.c - libmnemo's TLS, mutual TLS and bearer token
 * against a real mnemod that wants all three (--tls-cert, --tls-key,
 * --tls-client-ca, --auth-tokens): certificates made at test time by
 * make_certs.sh, the tokens file by `mnemod hash-token`.
 *
 * DESIGN: one server for the binary; each test opens its own clients with
 * the options it is about. What is checked: the token reaches unary calls
 * and streams (a stream refused for its role, not for a missing token); no
 * token is UNAUTHENTICATED and a read token on a write PERMISSION_DENIED,
 * both answers of the server (not `unreachable`); a failed handshake
 * (unknown CA, no client certificate, plaintext, a name the certificate
 * does not carry) is UNAVAILABLE marked `unreachable`; tls_server_name;
 * the client keeps its own copy of the token; one client with a token
 * serves 8 threads at once (the header's slice is shared by their calls,
 * which the sanitizer builds watch).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnemo/client.h"

#include "itest.h"

#ifndef MNEMO_MAKE_CERTS
#error "MNEMO_MAKE_CERTS: the path of make_certs.sh (tests/integration/CMakeLists.txt)"
#endif

static const char *addr;
static char *dir;   /* the test's files: certs/, tokens */
static char *certs; /* dir/certs */

static const char read_token[] = "read-token-for-client-security-Zq3";
static const char write_token[] = "write-token-for-client-security-Vb8";

/* certs/name, the caller's. */
static char *cert_path(const char *name)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", certs, name) < 0)
        abort();
    return p;
}

/* Options with TLS, the test CA and the client certificate. */
static void mtls_options(mnemo_client_options_t *o, char *paths[3])
{
    mnemo_client_options_init(o);
    paths[0] = cert_path("ca.pem");
    paths[1] = cert_path("client.pem");
    paths[2] = cert_path("client.key");
    o->tls = 1;
    o->tls_ca_file = paths[0];
    o->tls_cert_file = paths[1];
    o->tls_key_file = paths[2];
    o->deadline_ms = 10000;
}

static void free_paths(char *paths[3])
{
    for (int i = 0; i < 3; i++)
        free(paths[i]);
}

static mnemo_client_t *open_client(const mnemo_client_options_t *o)
{
    mnemo_client_t *c = NULL;
    mnemo_call_error_t err;
    int rc = mnemo_client_open(&c, addr, o, &err);
    CHECK(rc == MNEMO_CODE_OK, "open: %s %s", mnemo_client_code_name(rc), err.message);
    return c;
}

/* Stores content through c; returns the code, err filled. */
static int store(mnemo_client_t *c, const char *content, mnemo_call_error_t *err)
{
    Mnemo__V1__StoreMemoryRequest req = MNEMO__V1__STORE_MEMORY_REQUEST__INIT;
    req.content = (char *)content;
    Mnemo__V1__StoreMemoryResponse *resp = NULL;
    int rc = mnemo_client_store_memory(&resp, c, &req, err);
    mnemo_client_free_message(resp);
    return rc;
}

/* Opens WatchSync on name and reads to its end; returns the final code. */
static int watch(mnemo_client_t *c, const char *name, mnemo_call_error_t *err)
{
    Mnemo__V1__WatchSyncRequest req = MNEMO__V1__WATCH_SYNC_REQUEST__INIT;
    req.repository_name = (char *)name;
    mnemo_stream_t *s = NULL;
    int rc = mnemo_client_watch_sync(&s, c, &req, err);
    if (rc != MNEMO_CODE_OK)
        return rc;
    Mnemo__V1__SyncEvent *ev = NULL;
    while (mnemo_stream_next_sync_event(&ev, s, err) == 1)
        mnemo_client_free_message(ev);
    rc = mnemo_stream_status(s, err);
    mnemo_stream_close(s);
    return rc;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_client_security__token_reaches_calls_and_streams(void)
{
    mnemo_client_options_t o;
    char *paths[3];
    mtls_options(&o, paths);
    o.token = write_token;
    mnemo_client_t *c = open_client(&o);
    mnemo_call_error_t err;
    int rc = store(c, "stored over mutual TLS with a write token", &err);
    EXPECT_STATUS("store with a write token", rc, err.message, MNEMO_CODE_OK, NULL);
    /* The stream gets past authentication: an unknown repository. */
    rc = watch(c, "no-such-repository", &err);
    EXPECT_STATUS("watch with a write token", rc, err.message, MNEMO_CODE_NOT_FOUND, NULL);
    mnemo_client_close(c);

    o.token = NULL;
    c = open_client(&o);
    rc = watch(c, "no-such-repository", &err);
    EXPECT_STATUS("watch without a token", rc, err.message, MNEMO_CODE_UNAUTHENTICATED, NULL);
    CHECK(!err.unreachable, "watch without a token: an answer, not unreachable");
    mnemo_client_close(c);
    free_paths(paths);
}

static void test_client_security__missing_token_and_role(void)
{
    mnemo_client_options_t o;
    char *paths[3];
    mtls_options(&o, paths);
    mnemo_client_t *c = open_client(&o);
    mnemo_call_error_t err;
    int rc = store(c, "no token", &err);
    EXPECT_STATUS("store without a token", rc, err.message, MNEMO_CODE_UNAUTHENTICATED,
                  "authorization");
    CHECK(!err.unreachable, "UNAUTHENTICATED is the server's answer");
    mnemo_client_close(c);

    o.token = read_token;
    c = open_client(&o);
    rc = store(c, "read token", &err);
    EXPECT_STATUS("store with a read token", rc, err.message, MNEMO_CODE_PERMISSION_DENIED,
                  "needs role write");
    CHECK(strstr(err.message, read_token) == NULL, "the message does not show the token");
    int serving = 0;
    rc = mnemo_client_health_check(c, NULL, &serving, &err);
    EXPECT_STATUS("health with a read token", rc, err.message, MNEMO_CODE_OK, NULL);
    mnemo_client_close(c);
    free_paths(paths);
}

/* Opens a client with o, stores once, and expects an unreachable server. */
static void expect_handshake_failure(const char *what, const mnemo_client_options_t *o)
{
    mnemo_client_t *c = open_client(o);
    if (c == NULL)
        return;
    mnemo_call_error_t err;
    int rc = store(c, "never stored", &err);
    EXPECT_STATUS(what, rc, err.message, MNEMO_CODE_UNAVAILABLE, NULL);
    CHECK(err.unreachable, "%s: marked unreachable", what);
    CHECK(strstr(err.message, addr) != NULL, "%s: the message names the server", what);
    mnemo_client_close(c);
}

static void test_client_security__failed_handshakes_are_unreachable(void)
{
    mnemo_client_options_t o;
    char *paths[3];
    mtls_options(&o, paths);
    o.token = write_token;

    mnemo_client_options_t v = o;
    v.tls_ca_file = NULL; /* gRPC's default roots do not hold the test CA */
    expect_handshake_failure("default roots", &v);
    char *other_ca = cert_path("other-ca.pem");
    v = o;
    v.tls_ca_file = other_ca;
    expect_handshake_failure("another CA", &v);
    v = o;
    v.tls_cert_file = v.tls_key_file = NULL;
    expect_handshake_failure("no client certificate", &v);
    v = o;
    v.tls_server_name = "wrong.example";
    expect_handshake_failure("a name the certificate lacks", &v);
    mnemo_client_options_init(&v);
    v.token = write_token;
    expect_handshake_failure("plaintext", &v);

    /* The name the certificate carries works as an override too. */
    v = o;
    v.tls_server_name = "localhost";
    mnemo_client_t *c = open_client(&v);
    mnemo_call_error_t err;
    int rc = store(c, "tls_server_name localhost", &err);
    EXPECT_STATUS("tls_server_name localhost", rc, err.message, MNEMO_CODE_OK, NULL);
    mnemo_client_close(c);
    free(other_ca);
    free_paths(paths);
}

static void test_client_security__client_keeps_its_own_token(void)
{
    mnemo_client_options_t o;
    char *paths[3];
    mtls_options(&o, paths);
    char *token = strdup(write_token);
    o.token = token;
    mnemo_client_t *c = open_client(&o);
    memset(token, 'x', strlen(token));
    free(token);
    mnemo_call_error_t err;
    int rc = store(c, "the token was copied at open", &err);
    EXPECT_STATUS("store after the caller's token is gone", rc, err.message, MNEMO_CODE_OK, NULL);
    mnemo_client_close(c);
    free_paths(paths);
}

#define THREADS 8
#define CALLS   20

static mnemo_client_t *shared;

static void *worker(void *arg)
{
    intptr_t id = (intptr_t)arg;
    intptr_t failures = 0;
    for (int i = 0; i < CALLS; i++) {
        char content[96];
        snprintf(content, sizeof(content), "thread %d call %d with a shared token", (int)id, i);
        mnemo_call_error_t err;
        if (store(shared, content, &err) != MNEMO_CODE_OK)
            failures++;
        if (i % 5 == 0 && watch(shared, "none", &err) != MNEMO_CODE_NOT_FOUND)
            failures++;
    }
    return (void *)failures;
}

static void test_client_security__one_client_with_a_token_serves_threads(void)
{
    mnemo_client_options_t o;
    char *paths[3];
    mtls_options(&o, paths);
    o.token = write_token;
    shared = open_client(&o);
    if (shared == NULL) {
        free_paths(paths);
        return;
    }
    pthread_t t[THREADS];
    for (intptr_t i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    intptr_t failures = 0;
    for (int i = 0; i < THREADS; i++) {
        void *f = NULL;
        pthread_join(t[i], &f);
        failures += (intptr_t)f;
    }
    CHECK(failures == 0, "%d of %d calls failed", (int)failures, THREADS * (CALLS + CALLS / 5));
    mnemo_client_close(shared);
    free_paths(paths);
}

/* ---- setup ------------------------------------------------------------------ */

/* The SHA-256 hex of token, from `mnemod hash-token`, into hex. */
static int hash_token(char hex[65], const char *token)
{
    char *cmd = NULL;
    if (asprintf(&cmd, "printf '%%s\\n' '%s' | '%s' hash-token", token,
                 mnemo_harness_mnemod_path()) < 0)
        return -1;
    FILE *p = popen(cmd, "r");
    free(cmd);
    if (p == NULL)
        return -1;
    int ok = fscanf(p, "%64s", hex) == 1 && strlen(hex) == 64;
    return pclose(p) == 0 && ok ? 0 : -1;
}

/* Makes dir/certs and dir/tokens; returns the path of the tokens file. */
static char *prepare(void)
{
    dir = mnemo_test_tmpdir();
    if (dir == NULL || asprintf(&certs, "%s/certs", dir) < 0)
        return NULL;
    char *cmd = NULL;
    if (asprintf(&cmd, "bash '%s' '%s' >/dev/null", MNEMO_MAKE_CERTS, certs) < 0)
        return NULL;
    int rc = system(cmd);
    free(cmd);
    char read_hex[65], write_hex[65];
    if (rc != 0 || hash_token(read_hex, read_token) != 0 ||
        hash_token(write_hex, write_token) != 0) {
        fprintf(stderr, "cannot make the certificates or hash the tokens\n");
        return NULL;
    }
    char *tokens = NULL, *text = NULL;
    if (asprintf(&tokens, "%s/tokens", dir) < 0 ||
        asprintf(&text, "%s read reader\n%s write writer\n", read_hex, write_hex) < 0 ||
        mnemo_test_write_file(tokens, text, strlen(text)) != 0)
        return NULL;
    free(text);
    return tokens;
}

int main(void)
{
    char *tokens = prepare();
    if (tokens == NULL)
        return 1;
    char *cert = cert_path("server.pem"), *key = cert_path("server.key");
    char *ca = cert_path("ca.pem");
    const char *args[] = {"--tls-cert",    cert,   "--tls-key", key, "--tls-client-ca", ca,
                          "--auth-tokens", tokens, NULL};
    mnemo_harness_options_t opts = {.extra_args = args};
    addr = itest_start_server_opts(&opts);
    CU_pSuite s = mnemo_test_suite("client_security");
    MNEMO_TEST(s, test_client_security__token_reaches_calls_and_streams);
    MNEMO_TEST(s, test_client_security__missing_token_and_role);
    MNEMO_TEST(s, test_client_security__failed_handshakes_are_unreachable);
    MNEMO_TEST(s, test_client_security__client_keeps_its_own_token);
    MNEMO_TEST(s, test_client_security__one_client_with_a_token_serves_threads);
    int rc = itest_run();
    free(cert);
    free(key);
    free(ca);
    free(tokens);
    mnemo_test_rmtree(dir);
    free(dir);
    free(certs);
    return rc;
}
