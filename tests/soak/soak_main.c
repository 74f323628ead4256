/* soak_main.c - mnemo-soak: the load generator of tests/soak/run.sh (see
 * soak.h for what it does).
 *
 *   mnemo-soak --server HOST:PORT --pid PID --trees DIR --corpus DIR --tsv FILE
 *              [--metrics HOST:PORT] [--seconds S] [--window S] [--rate N] [--workers N]
 *              [--watchers N] [--watch-pause-ms N] [--live N] [--files N]
 *              [--seed N]
 *
 * The corpus directory is the benchmark's (memory texts from the Debian
 * changelogs, and queries): built there with at most 20,000 entries when
 * it holds none yet. Exit status: 0 when mnemod stayed up and no request
 * failed, 1 when some failed, 2 on a usage error or when the run could not
 * start, 3 when mnemod went away.
 *
 * Threads: main thread (soak_run starts the others).
 */
#include "soak.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <grpc/grpc.h>

#include "bench.h"

#define CORPUS_ENTRIES 20000

static int usage(void)
{
    fputs("usage: mnemo-soak --server HOST:PORT --pid PID --trees DIR --corpus DIR --tsv FILE\n"
          "       [--metrics HOST:PORT] [--seconds S] [--window S] [--rate N] [--workers N] "
          "[--watchers N]\n"
          "       [--watch-pause-ms N] [--live N] [--files N] [--seed N]\n",
          stderr);
    return 2;
}

/* Sets the option a names from v; false when a is not one. */
static bool set_option(soak_opts_t *o, const char *a, const char *v)
{
    if (strcmp(a, "--server") == 0)
        o->server = v;
    else if (strcmp(a, "--pid") == 0)
        o->pid = atoi(v);
    else if (strcmp(a, "--metrics") == 0)
        o->metrics = v;
    else if (strcmp(a, "--trees") == 0)
        o->trees = v;
    else if (strcmp(a, "--corpus") == 0)
        o->corpus = v;
    else if (strcmp(a, "--tsv") == 0)
        o->tsv = v;
    else if (strcmp(a, "--seconds") == 0)
        o->seconds = atof(v);
    else if (strcmp(a, "--window") == 0)
        o->window = atof(v);
    else if (strcmp(a, "--rate") == 0)
        o->rate = atof(v);
    else if (strcmp(a, "--workers") == 0)
        o->workers = atoi(v);
    else if (strcmp(a, "--watchers") == 0)
        o->watchers = atoi(v);
    else if (strcmp(a, "--watch-pause-ms") == 0)
        o->watch_pause_ms = atoi(v);
    else if (strcmp(a, "--live") == 0)
        o->live = atoi(v);
    else if (strcmp(a, "--files") == 0)
        o->files = atoi(v);
    else if (strcmp(a, "--seed") == 0)
        o->seed = strtoull(v, NULL, 10);
    else
        return false;
    return true;
}

static int parse(soak_opts_t *o, int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2)
        if (!set_option(o, argv[i], argv[i + 1]))
            return -1;
    if (argc % 2 == 0 || o->server == NULL || o->pid <= 0 || o->trees == NULL ||
        o->corpus == NULL || o->tsv == NULL)
        return -1;
    if (o->seconds <= 0 || o->window <= 0 || o->rate <= 0 || o->workers < 1 || o->watchers < 0 ||
        o->watch_pause_ms < 1 || o->live < 0 || o->files < 10)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    soak_opts_t o = {
        .seconds = 180,
        .window = 10,
        .rate = 400,
        .workers = 8,
        .watchers = 200,
        .watch_pause_ms = 2000,
        .live = 20000,
        .files = 3000,
        .seed = 20240601,
    };
    if (parse(&o, argc, argv) != 0)
        return usage();
    bench_pathbuf_t p;
    if (access(bench_path(&p, o.corpus, "entries"), R_OK) != 0) {
        bench_log("soak: building the corpus in %s", o.corpus);
        if (bench_mkdir(o.corpus) != 0 || bench_corpus_build(o.corpus, CORPUS_ENTRIES) != 0)
            return 2;
    }
    grpc_init();
    int rc = soak_run(&o);
    grpc_shutdown();
    return rc;
}
