/* bench.h - shared pieces of the mnemo benchmark (run.sh drives it; the
 * method and the last table are in RESULTS.md): options, the corpus, timing
 * and samples, result lines, the mnemod under test, process helpers.
 *
 * DESIGN: one program, mnemo-bench, with one subcommand per group of
 * figures. Each subcommand runs its rounds itself, mnemo and its baseline
 * back to back inside every round (the order changes from round to round;
 * figure 1 runs its baseline before and after mnemo), and prints one line
 * per measurement on stdout:
 *   RESULT <row> <side> <round> <value>
 * where side is "mnemo" or "base". tests/bench/table.py turns those lines
 * into medians, min-max, per-round ratios and the target verdicts; a
 * baseline that cannot run prints "SKIP <row> <reason>" instead. Progress
 * and diagnostics go to stderr.
 *
 * Threads: the helpers are called from the main thread, except the sample
 * and clock functions, which any thread may use on its own samples.
 */
#ifndef MNEMO_BENCH_H
#define MNEMO_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- options shared by every subcommand ---- */

typedef struct bench_opts {
    const char *work;       /* scratch directory (must exist) */
    const char *corpus;     /* directory written by `corpus` */
    const char *code_path;  /* directory to sync / index (figures 4-7) */
    const char *cpp_server; /* path of the C++ baseline server, or NULL */
    int rounds;             /* rounds per figure */
    double seconds;         /* duration of one throughput measurement */
    int max_entries;        /* corpus cap (0: all) */
    int passes;             /* timed passes over the queries per round */
    int watchers;           /* WatchSync streams of figure 7's second part */
    bool smoke;             /* tiny corpus: shorter everything */
} bench_opts_t;

/* ---- corpus: changelog entries and queries ---- */

typedef struct bench_corpus {
    char **entries; /* unique, valid UTF-8, NUL-free; point into buf */
    size_t n_entries;
    char **queries; /* point into qbuf */
    size_t n_queries;
    char *buf, *qbuf;
} bench_corpus_t;

#define BENCH_QUERY_SEED 20240501u
#define BENCH_N_QUERIES  200

/* Reads every /usr/share/doc/NAME/changelog.Debian.gz (sorted by path),
 * splits it into entries (one per "  * " bullet, continuation lines joined
 * with single spaces), keeps the first of each distinct text that is valid
 * UTF-8, stops after max_entries (0: all), makes the queries, and writes
 * dir/entries (NUL-separated) and dir/queries (one per line). 0 or -1. */
int bench_corpus_build(const char *dir, int max_entries);
int bench_corpus_load(bench_corpus_t *c, const char *dir);
void bench_corpus_cleanup(bench_corpus_t *c);

/* ---- clock and samples ---- */

double bench_now(void); /* seconds, monotonic */
/* The next number of a splitmix64 stream (a fixed seed gives a fixed stream). */
uint64_t bench_splitmix64(uint64_t *state);

typedef struct bench_samples {
    double *v;
    size_t n, cap;
} bench_samples_t;

void bench_samples_push(bench_samples_t *s, double v);
/* Nearest-rank percentile, q in (0, 1]; sorts s. 0 when empty. */
double bench_percentile(bench_samples_t *s, double q);
void bench_samples_cleanup(bench_samples_t *s);

/* ---- output ---- */

void bench_result(const char *row, const char *side, int round, double value);
/* The baseline of row cannot run: "SKIP <row> <reason>". */
void bench_skip(const char *row, const char *reason);
/* Neither side of row can run (no load generator): "SKIP-ALL <row> <reason>". */
void bench_skip_all(const char *row, const char *reason);
/* Progress line on stderr, prefixed with the elapsed time of the run. */
void bench_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- files and processes ---- */

void *bench_xmalloc(size_t n);
char *bench_xstrdup(const char *s);
/* A path built by bench_path, owned by the caller (on its stack). */
typedef struct bench_pathbuf {
    char s[4096];
} bench_pathbuf_t;

/* Writes "dir/name" into *buf and returns buf->s. */
const char *bench_path(bench_pathbuf_t *buf, const char *dir, const char *name);
int bench_rmtree(const char *path);
int bench_mkdir(const char *path);
/* Bytes allocated on disk under path (st_blocks * 512), recursively. */
unsigned long long bench_disk_usage(const char *path);
/* Sum of st_size under path, recursively. */
unsigned long long bench_apparent_size(const char *path);
/* The number after "field:" in /proc/pid/status (VmRSS, VmHWM in KiB,
 * Threads), or -1 when pid or the field is not there. */
long bench_proc_status(pid_t pid, const char *field);
/* Peak resident set (VmHWM) of pid in KiB, or -1. */
long bench_vm_hwm_kib(pid_t pid);
/* CPU time (user + system) pid has used, in seconds, or -1. */
double bench_cpu_seconds(pid_t pid);
/* Waits until pid uses under 5 % of a core over half a second (its
 * background work is done), or max_seconds; returns the seconds waited. */
double bench_wait_idle(pid_t pid, double max_seconds);
/* True when an executable named name is on PATH. */
bool bench_have_program(const char *name);

/* Runs argv (argv[0] looked up on PATH) with env entries added ("K=V",
 * NULL-terminated, may be NULL), stdin from /dev/null, stderr to /dev/null
 * unless keep_stderr; collects stdout into *out (NUL-terminated, the
 * caller's; out may be NULL to discard it). Returns the wait status or -1. */
int bench_run(char **out, size_t *out_len, char *const argv[], const char *const *env,
              bool keep_stderr);

/* Starts argv in the background with stdout on a pipe and stderr appended
 * to log_path; waits up to timeout_ms for a line "listening on HOST:PORT"
 * on stdout and copies HOST:PORT into addr. Returns the pid or -1. */
pid_t bench_spawn_server(char *addr, size_t addr_size, char *const argv[], const char *log_path,
                         int timeout_ms);
/* SIGTERM, wait up to 10 s, then SIGKILL. */
void bench_stop_server(pid_t pid);

/* ---- a mnemod under test and a warm libmnemo client on it ---- */

struct mnemo_harness;
struct mnemo_client;

typedef struct bench_mnemod {
    struct mnemo_harness *h;
    struct mnemo_client *client;
    int pid;
} bench_mnemod_t;

/* Starts mnemod (server_harness.h) on data_dir (created if needed, never
 * removed here) with allow_root (NULL: none beyond the default) and opens a
 * client on it. 0 or -1 (the server log is printed). */
int bench_mnemod_start(bench_mnemod_t *m, const char *data_dir, const char *allow_root);
/* The same with TLS on mnemod's listener: cert_dir holds make_certs.sh's
 * files (server.pem/server.key served, ca.pem trusted by the client). */
int bench_mnemod_start_tls(bench_mnemod_t *m, const char *data_dir, const char *cert_dir);
/* The same checking bearer tokens (--auth-tokens tokens_file); the client
 * sends token. */
int bench_mnemod_start_token(bench_mnemod_t *m, const char *data_dir, const char *tokens_file,
                             const char *token);
/* Runs tests/integration/make_certs.sh into dir. 0 or -1. */
int bench_make_certs(const char *dir);
/* Closes the client and stops the server with SIGTERM. */
void bench_mnemod_stop(bench_mnemod_t *m);

/* The outcome of a sync as its final event reported it. */
typedef struct bench_sync_result {
    double seconds; /* from the request to the final event */
    int state;      /* mnemo.v1.SyncState; 3 = COMPLETED */
    int64_t processed_files, unchanged_files, skipped_files, chunks, bytes;
} bench_sync_result_t;

/* Runs SyncRepository of path as repository name in the foreground and
 * reads the stream to its end. 0 when the sync COMPLETED, else -1. */
int bench_mnemod_sync(bench_mnemod_t *m, bench_sync_result_t *out, const char *path,
                      const char *name, bool full);
/* Starts a background sync, full: every file re-indexed (the stream ends
 * after its first event). */
int bench_mnemod_sync_background(bench_mnemod_t *m, const char *path, const char *name, bool full);
/* The server's address, for more clients (mnemo_client_open). */
const char *bench_mnemod_address(const bench_mnemod_t *m);
/* The state of name's sync (GetSyncStatus), or -1 on error; *paced_ms
 * (when not NULL) gets the time it paused for requests. */
int bench_mnemod_sync_state(bench_mnemod_t *m, const char *name, int64_t *paced_ms);

/* ---- figures ---- */

int bench_fig_store(const bench_opts_t *o);       /* 1 */
int bench_fig_retrieve(const bench_opts_t *o);    /* 2 */
int bench_fig_unary(const bench_opts_t *o);       /* 3 */
int bench_fig_code(const bench_opts_t *o);        /* 4, 5, 6 */
int bench_fig_during_sync(const bench_opts_t *o); /* 7 */

/* A mnemod data dir holding every entry, built in-process by `retrieve`
 * and reused by `during-sync`: work/mem-mnemo. mnemod keeps its memories
 * in the data dir's memories/ store, so the in-process store opens that. */
#define BENCH_MEM_DIR   "mem-mnemo"
#define BENCH_MEM_STORE BENCH_MEM_DIR "/memories"

#endif
