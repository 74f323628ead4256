/* fig_code.c - figures 4, 5 and 6: a full SyncRepository of a code tree
 * (throughput, on-disk size, peak RSS), the no-change re-sync, and
 * SearchCode latency, against SQLite FTS5 and codesearch (cindex/csearch).
 *
 * DESIGN: the input is what mnemo's walker lists under o->code_path with
 * mnemod's default 1 MiB size cap; its total size and file count are the
 * numerator of every MB/s and files/s figure, so the three engines are
 * compared on time for the same input (each also logs what it indexed).
 * The page cache is warmed by reading every file once before round 1.
 * Per round, in a rotating order:
 *   mnemo   fresh mnemod and data dir; foreground full sync; VmHWM; a second
 *           sync (nothing changed); SearchCode passes; SIGTERM, then the
 *           size of the data dir (LevelDB finishes its compactions on close).
 *   FTS5    fresh database; fts5.c indexes the same files with the same
 *           chunker, one transaction per FTS_BATCH_FILES files (mnemod's
 *           default batch), synchronous=FULL; size after close (WAL
 *           checkpointed); queries in-process.
 *   cindex  fresh index file; `cindex PATH` timed; each query is one
 *           `csearch REGEX` process whose output is read through a pipe, as
 *           a user runs it (the query, regex-escaped, as a literal).
 * Sizes are apparent sizes (sum of st_size). Latencies are in ms.
 *
 * Threads: main thread only.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fts5.h"
#include "mnemo/client.h"
#include "walker.h"

/* Files per FTS5 transaction: mnemod's default --batch-size (server/config.c),
 * so both commit as often. */
#define FTS_BATCH_FILES 100
#define MAX_FILE_BYTES  (1u << 20) /* mnemod's default size cap */
#define LIMIT           10
#define REPO            "bench-code"

/* Identifier and phrase queries over C/C++ headers; all occur in the headers
 * of mnemo's own build dependencies. */
static const char *const QUERIES[] = {
    "pthread_mutex_lock",
    "grpc_call_start_batch",
    "leveldb_writeoptions_set_sync",
    "protobuf_c_message_unpack",
    "EVP_DigestInit_ex",
    "SSL_CTX_new",
    "CU_ASSERT_EQUAL",
    "epoll_wait",
    "O_CLOEXEC",
    "memcpy",
    "struct sockaddr_in6",
    "unique_ptr",
    "atomic compare exchange",
    "ring buffer",
    "hash table lookup",
};
#define N_QUERIES (sizeof QUERIES / sizeof QUERIES[0])

typedef struct input {
    unsigned long long bytes;
    size_t files;
} input_t;

/* Lists the input and reads every file once (page cache). */
static int survey_input(const char *root, input_t *in)
{
    mnemo_walk_result_t walk;
    mnemo_walk_options_t wo = {.max_file_bytes = MAX_FILE_BYTES};
    mnemo_err_t err;
    if (mnemo_walk(&walk, root, &wo, &err) != MNEMO_OK) {
        fprintf(stderr, "bench: walk %s: %s\n", root, err.msg);
        return -1;
    }
    in->bytes = 0;
    in->files = walk.n_files;
    for (size_t i = 0; i < walk.n_files; i++) {
        in->bytes += walk.files[i].size;
        char *data = NULL;
        size_t len;
        uint64_t size;
        int64_t mtime;
        const char *reason;
        if (mnemo_walk_read_file(&data, &len, &size, &mtime, &reason, root, walk.files[i].path,
                                 MAX_FILE_BYTES, &err) == MNEMO_OK)
            free(data);
    }
    mnemo_walk_result_cleanup(&walk);
    return 0;
}

static void report_sync(const char *mbps_row, const char *files_row, const char *side, int round,
                        const input_t *in, double seconds)
{
    bench_result(mbps_row, side, round, (double)in->bytes / (1 << 20) / seconds);
    bench_result(files_row, side, round, (double)in->files / seconds);
}

static void report_latency(const char *row, const char *side, int round, bench_samples_t *s)
{
    char name[64];
    snprintf(name, sizeof name, "%s_p50", row);
    bench_result(name, side, round, bench_percentile(s, 0.50));
    snprintf(name, sizeof name, "%s_p99", row);
    bench_result(name, side, round, bench_percentile(s, 0.99));
}

/* ---- mnemo ---- */

static int search_mnemo(mnemo_client_t *client, const char *q, int *hits)
{
    Mnemo__V1__SearchCodeRequest req = MNEMO__V1__SEARCH_CODE_REQUEST__INIT;
    req.query = (char *)q;
    req.limit = LIMIT;
    Mnemo__V1__SearchCodeResponse *resp = NULL;
    mnemo_call_error_t err;
    int rc = mnemo_client_search_code(&resp, client, &req, &err);
    if (rc != 0)
        fprintf(stderr, "bench: SearchCode: %s\n", err.message);
    else
        *hits = (int)resp->n_hits;
    mnemo_client_free_message(resp);
    return rc;
}

static int mnemo_searches(const bench_opts_t *o, mnemo_client_t *client, bench_samples_t *s)
{
    int hits = 0, total = 0;
    for (size_t i = 0; i < N_QUERIES; i++) /* warm-up */
        if (search_mnemo(client, QUERIES[i], &hits) != 0)
            return -1;
    for (int p = 0; p < o->passes; p++) {
        for (size_t i = 0; i < N_QUERIES; i++) {
            double t0 = bench_now();
            if (search_mnemo(client, QUERIES[i], &hits) != 0)
                return -1;
            bench_samples_push(s, (bench_now() - t0) * 1e3);
            total += hits;
        }
    }
    bench_log("  (mnemo SearchCode: %.1f hits/query)", (double)total / (double)s->n);
    return 0;
}

static int round_mnemo(const bench_opts_t *o, const input_t *in, int round, bool cindex)
{
    bench_pathbuf_t pb;
    const char *data = bench_path(&pb, o->work, "code-mnemo");
    bench_rmtree(data);
    bench_mnemod_t m;
    if (bench_mnemod_start(&m, data, o->code_path) != 0)
        return -1;
    bench_sync_result_t full, again;
    bench_samples_t s = {0};
    int rc = bench_mnemod_sync(&m, &full, o->code_path, REPO, false);
    long hwm_sync = rc == 0 ? bench_vm_hwm_kib(m.pid) : -1;
    if (rc == 0)
        rc = bench_mnemod_sync(&m, &again, o->code_path, REPO, false);
    if (rc == 0)
        rc = mnemo_searches(o, m.client, &s);
    long hwm = bench_vm_hwm_kib(m.pid);
    bench_mnemod_stop(&m);
    unsigned long long size = bench_apparent_size(data);
    bench_rmtree(data);
    if (rc != 0) {
        bench_samples_cleanup(&s);
        return -1;
    }
    bench_log("  (mnemo: %lld files, %lld chunks, %lld bytes indexed, %lld skipped in %.2f s;"
              " re-sync %.3f s, %lld unchanged; VmHWM %ld KiB after sync)",
              (long long)full.processed_files, (long long)full.chunks, (long long)full.bytes,
              (long long)full.skipped_files, full.seconds, again.seconds,
              (long long)again.unchanged_files, hwm_sync);
    report_sync("sync_mbps", "sync_files", "mnemo", round, in, full.seconds);
    if (cindex)
        report_sync("sync_mbps_ci", "sync_files_ci", "mnemo", round, in, full.seconds);
    bench_result("disk_mib", "mnemo", round, (double)size / (1 << 20));
    bench_result("rss_mib", "mnemo", round, (double)hwm / 1024);
    bench_result("resync_pct", "mnemo", round, 100.0 * again.seconds / full.seconds);
    report_latency("search", "mnemo", round, &s);
    if (cindex)
        report_latency("search_cs", "mnemo", round, &s);
    bench_samples_cleanup(&s);
    return 0;
}

/* ---- FTS5 ---- */

static int fts_searches(const bench_opts_t *o, bench_fts_t *db, bench_samples_t *s)
{
    int hits = 0, total = 0;
    for (size_t i = 0; i < N_QUERIES; i++)
        if (bench_fts_code_query(db, QUERIES[i], LIMIT, &hits) != 0)
            return -1;
    for (int p = 0; p < o->passes; p++) {
        for (size_t i = 0; i < N_QUERIES; i++) {
            double t0 = bench_now();
            if (bench_fts_code_query(db, QUERIES[i], LIMIT, &hits) != 0)
                return -1;
            bench_samples_push(s, (bench_now() - t0) * 1e3);
            total += hits;
        }
    }
    bench_log("  (FTS5 search: %.1f hits/query)", (double)total / (double)s->n);
    return 0;
}

static int round_fts(const bench_opts_t *o, const input_t *in, int round)
{
    bench_pathbuf_t pb;
    const char *path = bench_path(&pb, o->work, "code.sqlite");
    char wal[4200];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(path);
    unlink(wal);
    bench_fts_t *db;
    bench_fts_code_stats_t st;
    double t0 = bench_now();
    if (bench_fts_code_open(&db, path) != 0)
        return -1;
    if (bench_fts_code_index(db, o->code_path, MAX_FILE_BYTES, FTS_BATCH_FILES, &st) != 0) {
        bench_fts_close(db);
        return -1;
    }
    double seconds = bench_now() - t0;
    bench_fts_close(db);
    unsigned long long size = bench_apparent_size(path) + bench_apparent_size(wal);
    bench_samples_t s = {0};
    int rc = bench_fts_code_open(&db, path);
    if (rc == 0) {
        rc = fts_searches(o, db, &s);
        bench_fts_close(db);
    }
    unlink(path);
    unlink(wal);
    if (rc == 0) {
        bench_log("  (FTS5: %llu files, %llu chunks, %llu bytes indexed in %.2f s)",
                  (unsigned long long)st.files, (unsigned long long)st.chunks,
                  (unsigned long long)st.bytes, seconds);
        report_sync("sync_mbps", "sync_files", "base", round, in, seconds);
        bench_result("disk_mib", "base", round, (double)size / (1 << 20));
        report_latency("search", "base", round, &s);
    }
    bench_samples_cleanup(&s);
    return rc;
}

/* ---- codesearch ---- */

/* The query as a literal regular expression. */
static void regex_literal(char *out, size_t cap, const char *q)
{
    size_t o = 0;
    for (; *q != '\0' && o + 3 < cap; q++) {
        if (strchr("\\.+*?()|[]{}^$", *q) != NULL)
            out[o++] = '\\';
        out[o++] = *q;
    }
    out[o] = '\0';
}

static int csearch_once(const char *env[], const char *q, int *lines)
{
    char re[512];
    regex_literal(re, sizeof re, q);
    char *argv[] = {"csearch", re, NULL};
    char *out = NULL;
    int st = bench_run(&out, NULL, argv, env, false);
    int n = 0;
    for (const char *p = out; p != NULL && (p = strchr(p, '\n')) != NULL; p++)
        n++;
    free(out);
    *lines = n;
    /* csearch exits 1 when nothing matched, like grep. */
    return st == 0 || (WIFEXITED(st) && WEXITSTATUS(st) == 1) ? 0 : -1;
}

static int round_cindex(const bench_opts_t *o, const input_t *in, int round)
{
    bench_pathbuf_t pb;
    const char *index = bench_path(&pb, o->work, "csearchindex");
    char env_var[4200];
    snprintf(env_var, sizeof env_var, "CSEARCHINDEX=%s", index);
    const char *env[] = {env_var, NULL};
    unlink(index);
    char *argv[] = {"cindex", (char *)o->code_path, NULL};
    double t0 = bench_now();
    if (bench_run(NULL, NULL, argv, env, false) != 0) {
        fprintf(stderr, "bench: cindex %s failed\n", o->code_path);
        return -1;
    }
    double seconds = bench_now() - t0;
    bench_samples_t s = {0};
    int lines = 0, total = 0, rc = 0;
    for (size_t i = 0; i < N_QUERIES && rc == 0; i++)
        rc = csearch_once(env, QUERIES[i], &lines);
    for (int p = 0; p < o->passes && rc == 0; p++) {
        for (size_t i = 0; i < N_QUERIES && rc == 0; i++) {
            double q0 = bench_now();
            rc = csearch_once(env, QUERIES[i], &lines);
            bench_samples_push(&s, (bench_now() - q0) * 1e3);
            total += lines;
        }
    }
    unsigned long long size = bench_apparent_size(index);
    unlink(index);
    if (rc == 0) {
        bench_log("  (cindex: %.2f s, index %.1f MiB; csearch: %.1f lines/query)", seconds,
                  (double)size / (1 << 20), (double)total / (double)(s.n ? s.n : 1));
        report_sync("sync_mbps_ci", "sync_files_ci", "base", round, in, seconds);
        report_latency("search_cs", "base", round, &s);
    }
    bench_samples_cleanup(&s);
    return rc;
}

int bench_fig_code(const bench_opts_t *o)
{
    bench_log("figures 4-6: sync and search of %s, %d rounds", o->code_path, o->rounds);
    input_t in;
    if (survey_input(o->code_path, &in) != 0)
        return -1;
    bench_log("  input: %zu files, %.1f MiB (walker, 1 MiB cap); page cache warmed", in.files,
              (double)in.bytes / (1 << 20));
    bool fts = bench_fts_available();
    bool cindex = bench_have_program("cindex") && bench_have_program("csearch");
    static const char *const fts_rows[] = {"sync_mbps", "sync_files", "disk_mib", "search_p50",
                                           "search_p99"};
    static const char *const ci_rows[] = {"sync_mbps_ci", "sync_files_ci", "search_cs_p50",
                                          "search_cs_p99"};
    for (size_t i = 0; !fts && i < sizeof fts_rows / sizeof fts_rows[0]; i++)
        bench_skip(fts_rows[i], "SQLite not built in");
    for (size_t i = 0; !cindex && i < sizeof ci_rows / sizeof ci_rows[0]; i++)
        bench_skip(ci_rows[i], "codesearch not installed");
    int rc = 0;
    for (int r = 1; r <= o->rounds && rc == 0; r++) {
        for (int k = 0; k < 3 && rc == 0; k++) {
            int engine = (k + r - 1) % 3; /* rotate who goes first */
            if (engine == 0)
                rc = round_mnemo(o, &in, r, cindex);
            else if (engine == 1 && fts)
                rc = round_fts(o, &in, r);
            else if (engine == 2 && cindex)
                rc = round_cindex(o, &in, r);
        }
    }
    return rc;
}
