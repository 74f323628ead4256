/* soak.h - mnemo-soak, the load generator of the soak test
 * (tests/soak/run.sh MINUTES): a real mnemod under a steady mixed load for
 * many minutes, sampled every window so that a leak (RSS, fds, threads) or
 * a latency that creeps up shows as a slope.
 *
 * DESIGN: run.sh starts mnemod; mnemo-soak gets its address and pid,
 * writes two generated source trees under --trees (soak_tree.c), and runs
 * until --seconds have passed (soak_load.c):
 *   - memory RPCs at a fixed target rate (--rate, requests/s), a fixed mix
 *     drawn per request from its ticket number: StoreMemory (each store
 *     beyond --live memories also deletes the oldest one, so the live data
 *     stays bounded and what grows is only what leaks), GetMemory,
 *     RetrieveMemory and SearchByTag, from --workers threads on one client;
 *   - each minute, the "changing" tree gets files modified, added and
 *     deleted and is synced (incrementally) in the foreground; half a
 *     minute later a full sync of the larger "big" tree starts and is
 *     cancelled a second later, by CancelSync on odd minutes and by
 *     dropping the stream on even ones;
 *   - --watchers threads each keep a WatchSync stream on the changing
 *     tree, re-opened (after a jittered pause) whenever it ends: a watch of
 *     a repository that is not syncing ends after one event, so the streams
 *     are all attached while the minute's sync runs and cycle in between.
 * The main thread samples mnemod every --window seconds (/proc/PID/status,
 * /proc/PID/fd) with the latencies of the requests that ended in the
 * window, prints a line on stderr and a row in the --tsv file, and stops
 * early when mnemod is gone. The per-op columns and what counts as an
 * error are described with soak_window_t.
 *
 * Threads: soak_run is called from the main thread; it starts the others.
 */
#ifndef MNEMO_SOAK_H
#define MNEMO_SOAK_H

#include <stdint.h>

typedef struct soak_opts {
    const char *server;  /* mnemod's host:port */
    int pid;             /* mnemod's pid (not our child) */
    const char *metrics; /* mnemod's --metrics-listen host:port (IPv4); NULL: none */
    const char *trees;   /* directory for the trees, inside an --allow-root of mnemod */
    const char *corpus;  /* bench corpus directory (memory texts and queries) */
    const char *tsv;     /* samples, one row per window */
    double seconds;      /* length of the run */
    double window;       /* seconds per sample */
    double rate;         /* memory requests per second, all workers together */
    int workers;         /* threads sending memory requests */
    int watchers;        /* WatchSync streams */
    int watch_pause_ms;  /* mean pause before a watcher re-opens its stream */
    int live;            /* memories kept; a store beyond deletes the oldest; 0: never */
    int files;           /* files of the changing tree (the big tree has 4x) */
    uint64_t seed;       /* trees, contents and the mix */
} soak_opts_t;

/* Writes the trees, runs the load and samples until o->seconds have
 * passed or mnemod has gone. Returns 0 when mnemod stayed up and no
 * request failed, 1 when some failed, 3 when mnemod went away, 2 when the
 * run could not start. */
int soak_run(const soak_opts_t *o);

/* ---- generated source trees (soak_tree.c) ---- */

/* A tree of code-like files under root: file i's path and text depend
 * only on (seed, i, its version), so the same seed gives the same tree. */
typedef struct soak_tree {
    char *root;
    uint64_t seed;
    int n;        /* file slots used: files 0..n-1, some deleted */
    int cap;      /* slots allocated */
    int *version; /* per slot; -1: deleted */
    int live;     /* files that exist */
} soak_tree_t;

/* Creates root (removing what was there) with n_files files. 0 or -1. */
int soak_tree_create(soak_tree_t *t, const char *root, int n_files, uint64_t seed);

/* The change of one minute: about 1 % of the files get a new version (a
 * few functions rewritten), 0.5 % are deleted and as many added. The
 * counts of each go to *modified, *added, *deleted. 0 or -1. */
int soak_tree_change(soak_tree_t *t, int minute, int *modified, int *added, int *deleted);

void soak_tree_cleanup(soak_tree_t *t);

#endif
