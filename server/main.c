/* main.c - mnemod: parse the configuration, serve until SIGINT/SIGTERM,
 * drain and exit.
 *
 * DESIGN: SIGINT and SIGTERM are blocked before grpc_init so every thread
 * gRPC starts inherits the mask; the main thread alone takes them with
 * sigwait and then runs the server's fixed shutdown order. Exit status: 0
 * after a clean shutdown, 1 when the server cannot start, 2 for a bad
 * configuration.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <grpc/grpc.h>

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

static int serve(const mnemo_config_t *cfg, sigset_t *signals)
{
    mnemo_err_t err;
    mnemo_server_t *srv = NULL;
    grpc_init();
    if (mnemo_server_start(&srv, cfg, &err) != MNEMO_OK) {
        fprintf(stderr, "mnemod: %s\n", err.msg);
        grpc_shutdown();
        return 1;
    }
    announce(cfg, mnemo_server_port(srv));
    int sig = 0;
    sigwait(signals, &sig);
    fprintf(stderr, "mnemod: %s, draining\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    mnemo_server_stop(srv);
    grpc_shutdown();
    fprintf(stderr, "mnemod: stopped\n");
    return 0;
}

int main(int argc, char **argv)
{
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
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
    else
        rc = serve(&cfg, &signals);
    mnemo_config_cleanup(&cfg);
    return rc;
}
