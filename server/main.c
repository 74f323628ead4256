/* main.c - mnemod: parse the configuration, serve until SIGINT/SIGTERM,
 * drain and exit; `mnemod hash-token` hashes a token for --auth-tokens.
 *
 * DESIGN: SIGINT, SIGTERM and SIGHUP are blocked before grpc_init so every
 * thread gRPC starts inherits the mask; the main thread alone takes them
 * with sigwait: SIGHUP re-reads the credentials and goes on waiting,
 * SIGINT/SIGTERM run the server's fixed shutdown order. Exit status: 0
 * after a clean shutdown, 1 when the server cannot start, 2 for a bad
 * configuration (a flag, or a credential file that does not read).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <grpc/grpc.h>

#include "auth.h"
#include "config.h"
#include "server.h"

extern char **environ;

/* Prints "listening on HOST:PORT" with the port actually bound: scripts and
 * tests read it to find a server started on port 0. */
static void announce(const mnemo_config_t *cfg, int port)
{
    const char *colon = strrchr(cfg->listen, ':');
    int host_len = colon != NULL ? (int)(colon - cfg->listen) : (int)strlen(cfg->listen);
    fprintf(stderr, "listening on %.*s:%d\n", host_len, cfg->listen, port);
    fflush(stderr);
}

/* glibc raises its mmap threshold to the size of each large block freed
 * (up to 32 MiB), after which a sync's batches and a merge's blocks come
 * from the arenas, and the pages they held stay with the process when they
 * are freed. A fixed threshold (glibc's initial one) keeps large transient
 * buffers in their own mappings, returned to the system on free, so RSS
 * follows the live data (docs/design.md "Memory"). MALLOC_MMAP_THRESHOLD_
 * or GLIBC_TUNABLES, when set, win. */
static void heap_policy(void)
{
#ifdef __GLIBC__
    if (getenv("MALLOC_MMAP_THRESHOLD_") == NULL && getenv("GLIBC_TUNABLES") == NULL)
        mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}

static int serve(const mnemo_config_t *cfg, sigset_t *signals)
{
    mnemo_err_t err;
    mnemo_server_t *srv = NULL;
    heap_policy();
    if (cfg->auth_tokens[0] != '\0' && getenv("GRPC_TRACE") != NULL) {
        /* gRPC's tracers print request headers (and raw bytes): they would
         * write every bearer token to the log. */
        fprintf(stderr, "mnemod: ignoring GRPC_TRACE: gRPC's tracers print request headers, "
                        "which carry bearer tokens (--auth-tokens is set)\n");
        unsetenv("GRPC_TRACE");
    }
    grpc_init();
    mnemo_status_t st = mnemo_server_start(&srv, cfg, &err);
    if (st != MNEMO_OK) {
        fprintf(stderr, "mnemod: %s\n", err.msg);
        grpc_shutdown();
        return st == MNEMO_EINVAL ? 2 : 1; /* a bad file or flag value: configuration */
    }
    announce(cfg, mnemo_server_port(srv));
    int sig = 0;
    while (sigwait(signals, &sig) == 0 && sig == SIGHUP)
        mnemo_server_reload(srv);
    fprintf(stderr, "mnemod: %s, draining\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    mnemo_server_stop(srv);
    grpc_shutdown();
    fprintf(stderr, "mnemod: stopped\n");
    return 0;
}

/* `mnemod hash-token`: the SHA-256 of the token on stdin (one line; the
 * newline is not part of it), for --auth-tokens. The token is never
 * printed. */
static int hash_token(void)
{
    char token[4096];
    size_t n = fread(token, 1, sizeof token, stdin);
    while (n > 0 && (token[n - 1] == '\n' || token[n - 1] == '\r'))
        n--;
    if (n == 0 || n == sizeof token || memchr(token, '\n', n) != NULL) {
        fprintf(stderr, "mnemod hash-token: want one token of 1 to %zu bytes on stdin\n",
                sizeof token - 1);
        return 2;
    }
    char hex[65];
    mnemo_auth_hash_token(hex, token, n);
    memset(token, 0, sizeof token);
    printf("%s\n", hex);
    return 0;
}

int main(int argc, char **argv)
{
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    mnemo_config_t cfg;
    mnemo_config_action_t action;
    mnemo_err_t err;
    mnemo_config_init(&cfg);
    if (mnemo_config_parse(&cfg, &action, argc, argv, environ, &err) != MNEMO_OK) {
        fprintf(stderr, "mnemod: %s\n", err.msg);
        mnemo_config_cleanup(&cfg);
        return 2;
    }
    int rc = 0;
    if (action == MNEMO_CONFIG_HELP)
        fputs(mnemo_config_usage(), stdout);
    else if (action == MNEMO_CONFIG_VERSION)
        printf("mnemod %s\n", MNEMO_VERSION);
    else if (action == MNEMO_CONFIG_HASH_TOKEN)
        rc = hash_token();
    else
        rc = serve(&cfg, &signals);
    mnemo_config_cleanup(&cfg);
    return rc;
}
