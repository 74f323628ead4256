/* bench_main.c - mnemo-bench: the benchmark program that tests/bench/run.sh
 * drives, one subcommand per group of figures (see bench.h for the output).
 *
 *   mnemo-bench corpus      --work DIR [--max-entries N]
 *   mnemo-bench store       --work DIR [--rounds N] [--seconds S]
 *   mnemo-bench retrieve    --work DIR [--rounds N] [--passes N]
 *   mnemo-bench unary       --work DIR [--rounds N] [--cpp-server PATH]
 *   mnemo-bench code        --work DIR --path DIR [--rounds N] [--passes N]
 *   mnemo-bench during-sync --work DIR --path DIR [--rounds N] [--watchers N]
 *
 * The corpus lives in WORK/corpus unless --corpus says otherwise. --smoke
 * shortens durations for the test-suite run. Exit status 0 when every
 * measurement ran, 1 otherwise, 2 on a usage error.
 *
 * Threads: main thread (the figures start their own).
 */
#include "bench.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc.h>

static int usage(void)
{
    fputs("usage: mnemo-bench corpus|store|retrieve|unary|code|during-sync --work DIR\n"
          "       [--corpus DIR] [--path DIR] [--cpp-server PATH] [--rounds N]\n"
          "       [--seconds S] [--passes N] [--max-entries N] [--watchers N]\n"
          "       [--smoke]\n",
          stderr);
    return 2;
}

static int parse(bench_opts_t *o, int argc, char **argv)
{
    static char corpus[4096];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--smoke") == 0) {
            o->smoke = true;
            continue;
        }
        if (v == NULL)
            return -1;
        i++;
        if (strcmp(a, "--work") == 0)
            o->work = v;
        else if (strcmp(a, "--corpus") == 0)
            o->corpus = v;
        else if (strcmp(a, "--path") == 0)
            o->code_path = v;
        else if (strcmp(a, "--cpp-server") == 0)
            o->cpp_server = v;
        else if (strcmp(a, "--rounds") == 0)
            o->rounds = atoi(v);
        else if (strcmp(a, "--seconds") == 0)
            o->seconds = atof(v);
        else if (strcmp(a, "--passes") == 0)
            o->passes = atoi(v);
        else if (strcmp(a, "--watchers") == 0)
            o->watchers = atoi(v);
        else if (strcmp(a, "--max-entries") == 0)
            o->max_entries = atoi(v);
        else
            return -1;
    }
    if (o->work == NULL || o->rounds < 1 || o->passes < 1 || o->seconds <= 0 || o->watchers < 0)
        return -1;
    if (o->corpus == NULL) {
        snprintf(corpus, sizeof corpus, "%s/corpus", o->work);
        o->corpus = corpus;
    }
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    bench_opts_t o = {.rounds = 3, .seconds = 3.0, .passes = 3, .watchers = 1000};
    if (argc < 2 || parse(&o, argc, argv) != 0)
        return usage();
    const char *cmd = argv[1];
    bool needs_path = strcmp(cmd, "code") == 0 || strcmp(cmd, "during-sync") == 0;
    if (needs_path && o.code_path == NULL)
        return usage();
    int rc;
    grpc_init();
    if (strcmp(cmd, "corpus") == 0) {
        bench_mkdir(o.corpus);
        rc = bench_corpus_build(o.corpus, o.max_entries);
    } else if (strcmp(cmd, "store") == 0) {
        rc = bench_fig_store(&o);
    } else if (strcmp(cmd, "retrieve") == 0) {
        rc = bench_fig_retrieve(&o);
    } else if (strcmp(cmd, "unary") == 0) {
        rc = bench_fig_unary(&o);
    } else if (strcmp(cmd, "code") == 0) {
        rc = bench_fig_code(&o);
    } else if (strcmp(cmd, "during-sync") == 0) {
        rc = bench_fig_during_sync(&o);
    } else {
        grpc_shutdown();
        return usage();
    }
    grpc_shutdown();
    if (rc != 0)
        fprintf(stderr, "mnemo-bench %s: FAILED\n", cmd);
    return rc == 0 ? 0 : 1;
}
