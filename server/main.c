/* main.c - mnemod: parse the configuration, serve until SIGINT/SIGTERM,
 * drain and exit; `mnemod hash-token` hashes a token for --auth-tokens;
 * `mnemod repair` repairs a damaged data dir (repair.h).
 *
 * DESIGN: SIGINT, SIGTERM and SIGHUP are blocked before grpc_init so every
 * thread gRPC starts inherits the mask; the main thread alone takes them
 * with sigwait: SIGHUP re-reads the credentials and goes on waiting,
 * SIGINT/SIGTERM drain (health NOT_SERVING, still serving) for
 * --drain-delay, then run the server's fixed shutdown order; a second
 * SIGINT/SIGTERM cuts the delay short. Exit status: 0
 * after a clean shutdown, 1 when the server cannot start, 2 for a bad
 * configuration (a flag, or a credential file that does not read).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <grpc/grpc.h>

#include "auth.h"
#include "config.h"
#include "log.h"
#include "repair.h"
#include "server.h"

extern char **environ;

/* Prints "<prefix>HOST:PORT<suffix>" for a listener with the port actually
 * bound: scripts and tests read it to find a server started on port 0. */
static void announce(const char *prefix, const char *listen, int port, const char *suffix)
{
    const char *colon = strrchr(listen, ':');
    int host_len = colon != NULL ? (int)(colon - listen) : (int)strlen(listen);
    char line[512];
    snprintf(line, sizeof line, "%s%.*s:%d%s", prefix, host_len, listen, port, suffix);
    /* Whatever --log-level says: scripts read the port of --listen :0 here. */
    mnemo_log_fields(MNEMO_LOG_INFO, true, line, NULL, 0);
}

/* --drain-delay: health already reads NOT_SERVING and everything is still
 * served, so load balancers and proxies take this replica out before it
 * refuses anything. SIGHUP still reloads; another SIGINT/SIGTERM ends the
 * wait. */
static void drain_delay(mnemo_server_t *srv, const sigset_t *signals, int delay_ms)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long until = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 + delay_ms;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long left = until - ((long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
        if (left <= 0)
            return;
        struct timespec wait = {(time_t)(left / 1000), (long)(left % 1000) * 1000000L};
        int sig = sigtimedwait(signals, NULL, &wait);
        if (sig == SIGHUP) {
            mnemo_server_reload(srv);
        } else if (sig >= 0) {
            mnemo_log(MNEMO_LOG_INFO, "second signal, ending the drain delay");
            return;
        } else if (errno != EINTR) {
            return; /* EAGAIN: the delay is over */
        }
    }
}

/* How mnemod asks glibc's malloc to keep RSS following the live data
 * (docs/design.md "Memory follows the data"); MALLOC_MMAP_THRESHOLD_,
 * MALLOC_ARENA_MAX or GLIBC_TUNABLES, when set, win.
 * - glibc raises its mmap threshold to the size of each large block freed
 *   (up to 32 MiB), after which a sync's batches and a merge's blocks come
 *   from the arenas, and the pages they held stay with the process when
 *   they are freed. A fixed threshold (glibc's initial one) keeps large
 *   transient buffers in their own mappings, returned on free.
 * - glibc gives each contending thread an arena of its own, up to 8 per
 *   core, and malloc_trim cannot shrink the top of any but the main one:
 *   what a thread's burst freed there stays resident until a later large
 *   free in the same arena trims it. With 16 arenas on 2 cores, 80
 *   cancelled syncs left 5 MiB of such tops on an 8 MiB server; capped at
 *   one arena per core they are gone (docs/design-notes.md). */
static void heap_policy(const mnemo_config_t *cfg)
{
#ifdef __GLIBC__
    bool tunables = getenv("GLIBC_TUNABLES") != NULL;
    if (getenv("MALLOC_MMAP_THRESHOLD_") == NULL && !tunables)
        mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    if (cfg->malloc_arenas > 0 && getenv("MALLOC_ARENA_MAX") == NULL && !tunables)
        mallopt(M_ARENA_MAX, cfg->malloc_arenas);
#else
    (void)cfg;
#endif
}

static int serve(const mnemo_config_t *cfg, sigset_t *signals)
{
    mnemo_err_t err;
    mnemo_server_t *srv = NULL;
    heap_policy(cfg);
    if (cfg->auth_tokens[0] != '\0' && getenv("GRPC_TRACE") != NULL) {
        /* gRPC's tracers print request headers (and raw bytes): they would
         * write every bearer token to the log. */
        mnemo_log(MNEMO_LOG_WARN, "ignoring GRPC_TRACE: gRPC's tracers print request headers, "
                                  "which carry bearer tokens (--auth-tokens is set)");
        unsetenv("GRPC_TRACE");
    }
    grpc_init();
    mnemo_status_t st = mnemo_server_start(&srv, cfg, &err);
    if (st != MNEMO_OK) {
        mnemo_log(MNEMO_LOG_ERROR, "%s", err.msg);
        grpc_shutdown();
        return st == MNEMO_EINVAL ? 2 : 1; /* a bad file or flag value: configuration */
    }
    announce("listening on ", cfg->listen, mnemo_server_port(srv), "");
    if (cfg->health_listen[0] != '\0') /* in words that do not match the line above */
        announce("health port ", cfg->health_listen, mnemo_server_health_port(srv),
                 " (plaintext, grpc.health.v1 only)");
    int sig = 0;
    while (sigwait(signals, &sig) == 0 && sig == SIGHUP)
        mnemo_server_reload(srv);
    mnemo_server_drain(srv);
    mnemo_log(MNEMO_LOG_INFO,
              "%s: health NOT_SERVING; serving %d ms more (--drain-delay), then GOAWAY and up "
              "to %d ms for calls in flight (--grace-ms)",
              sig == SIGINT ? "SIGINT" : "SIGTERM", cfg->drain_delay_ms, cfg->grace_ms);
    drain_delay(srv, signals, cfg->drain_delay_ms);
    mnemo_server_stop(srv);
    grpc_shutdown();
    mnemo_log(MNEMO_LOG_INFO, "stopped");
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

static const char repair_usage[] =
    "usage: mnemod repair [--data-dir DIR]\n"
    "\n"
    "Repairs a damaged data dir (default ./mnemo-data, or MNEMO_DATA_DIR): the logs\n"
    "recovered with their checksums and LevelDB's repairer on each store, then\n"
    "mnemo's consistency pass (memories re-hashed, indexes rebuilt, repositories\n"
    "with damaged chunks marked for re-sync), and prints what was kept and what\n"
    "was lost. Stop mnemod and copy the data dir aside first (README \"When things\n"
    "go wrong\").\n"
    "Exit status: 0 the data dir is consistent (the report says what was lost),\n"
    "1 repair failed or a mnemod holds the data dir, 2 usage error.\n";

/* `mnemod repair [--data-dir DIR]`: the data dir from the flag, else
 * MNEMO_DATA_DIR, else the default; the report on stdout, errors on
 * stderr. */
static int repair(int argc, char **argv)
{
    const char *dir = getenv("MNEMO_DATA_DIR");
    if (dir == NULL || dir[0] == '\0')
        dir = MNEMO_DEFAULT_DATA_DIR;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(repair_usage, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--data-dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (strncmp(argv[i], "--data-dir=", 11) == 0) {
            dir = argv[i] + 11;
        } else {
            fprintf(stderr, "mnemod repair: %s '%s'\n%s",
                    strcmp(argv[i], "--data-dir") == 0 ? "missing value after" : "unknown argument",
                    argv[i], repair_usage);
            return 2;
        }
    }
    if (dir[0] == '\0') {
        fprintf(stderr, "mnemod repair: --data-dir: empty\n");
        return 2;
    }
    mnemo_repair_report_t report;
    mnemo_err_t err;
    mnemo_status_t st = mnemo_repair_run(&report, dir, &err);
    if (st != MNEMO_OK) {
        fprintf(stderr, "mnemod repair: %s\n", err.msg);
        return 1;
    }
    mnemo_repair_print(&report, stdout);
    mnemo_repair_report_cleanup(&report);
    return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "repair") == 0)
        return repair(argc, argv); /* before the signal mask: Ctrl-C stops it */
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
        mnemo_log(MNEMO_LOG_ERROR, "%s", err.msg);
        mnemo_config_cleanup(&cfg);
        return 2;
    }
    mnemo_log_setup((mnemo_log_format_t)cfg.log_format, (mnemo_log_level_t)cfg.log_level);
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
