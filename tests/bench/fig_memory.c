/* fig_memory.c - figures 1, 2 and 7: StoreMemory throughput, RetrieveMemory
 * latency, and memory-op latency while a full sync runs.
 *
 * DESIGN:
 * 1. store: per round FTS5, then mnemo, then FTS5 again (the round's
 *    baseline is the mean of the two FTS5 runs, see store_round). mnemo: a
 *    fresh mnemod (durable defaults) storing distinct corpus entries through
 *    one libmnemo client (one HTTP/2 connection, as one agent process would)
 *    from 1 and then 16 threads, o->seconds each. FTS5: a fresh database, the
 *    same entries one per transaction from one connection (SQLite has a
 *    single writer, so one thread is its best case at any concurrency).
 * 2. retrieve: mnemo's memory store of every entry is built in-process
 *    (work/mem-mnemo, writes not synced: set-up only) and so is the FTS5
 *    database; both are reopened and warmed with one pass, then each round
 *    times o->passes passes over the queries, limit 10, on each. End to end:
 *    mnemod on the same data dir, one warm client, the same passes, each
 *    round alternating with an FTS5 in-process pass (the baseline column).
 * 7. during-sync: per round a copy of work/mem-mnemo under a fresh mnemod;
 *    two client threads (sequential RetrieveMemory over the queries, and
 *    sequential StoreMemory of new texts) run with no sync (idle), while a
 *    background full sync of o->code_path runs, and idle again once mnemod
 *    is quiet (its CPU use drops when the sync's compactions and merges
 *    finish); p99 of each, the baseline being the mean of the two idle
 *    runs (see during_round). Then two full re-syncs of the same tree, one
 *    watched by o->watchers WatchSync streams (100 per client connection,
 *    as many watching processes would; niced, see crowd_watch), one not, in
 *    alternating order per round: the p99s with the watchers against those without (see
 *    watched_resyncs).
 * Latencies are recorded in milliseconds.
 *
 * Threads: the main thread, plus the load threads of 1 and 7, which share
 * one client (libmnemo allows it) and write only their own samples, and
 * 7's watcher threads, which only count events.
 */
#include "bench.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fts5.h"
#include "memories.h"
#include "mnemo/client.h"
#include "store.h"

#define LIMIT 10

/* Corpus entry i, or a variant of entry i % n once the corpus is used up,
 * so every store is a new document. */
static const char *content_for(const bench_corpus_t *c, size_t i, char *buf, size_t cap)
{
    if (i < c->n_entries)
        return c->entries[i];
    snprintf(buf, cap, "%s [bench %zu]", c->entries[i % c->n_entries], i / c->n_entries);
    return buf;
}

static int store_one(mnemo_client_t *client, const char *content)
{
    Mnemo__V1__StoreMemoryRequest req = MNEMO__V1__STORE_MEMORY_REQUEST__INIT;
    req.content = (char *)content;
    Mnemo__V1__StoreMemoryResponse *resp = NULL;
    mnemo_call_error_t err;
    int rc = mnemo_client_store_memory(&resp, client, &req, &err);
    if (rc != 0)
        fprintf(stderr, "bench: StoreMemory: %s: %s\n", mnemo_client_code_name(rc), err.message);
    mnemo_client_free_message(resp);
    return rc;
}

static int retrieve_one(mnemo_client_t *client, const char *query, int *hits)
{
    Mnemo__V1__RetrieveMemoryRequest req = MNEMO__V1__RETRIEVE_MEMORY_REQUEST__INIT;
    req.query = (char *)query;
    req.limit = LIMIT;
    Mnemo__V1__RetrieveMemoryResponse *resp = NULL;
    mnemo_call_error_t err;
    int rc = mnemo_client_retrieve_memory(&resp, client, &req, &err);
    if (rc != 0)
        fprintf(stderr, "bench: RetrieveMemory: %s: %s\n", mnemo_client_code_name(rc), err.message);
    else
        *hits = (int)resp->n_results;
    mnemo_client_free_message(resp);
    return rc;
}

/* Alternation inside a round: odd rounds mnemo first. */
static bool mnemo_first(int round)
{
    return round % 2 == 1;
}

/* ---- 1: StoreMemory throughput ---- */

typedef struct store_load {
    mnemo_client_t *client;
    const bench_corpus_t *corpus;
    atomic_size_t *next;
    double end;
    size_t ops;
    int errors;
} store_load_t;

static void *store_thread(void *arg)
{
    store_load_t *l = arg;
    char buf[8192];
    while (bench_now() < l->end && l->errors == 0) {
        size_t i = atomic_fetch_add(l->next, 1);
        if (store_one(l->client, content_for(l->corpus, i, buf, sizeof buf)) == 0)
            l->ops++;
        else
            l->errors++;
    }
    return NULL;
}

/* Stores from conc threads for seconds; ops/s, or -1 on an error. */
static double mnemo_store_rate(mnemo_client_t *client, const bench_corpus_t *c, atomic_size_t *next,
                               int conc, double seconds)
{
    store_load_t loads[64];
    pthread_t th[64];
    double t0 = bench_now();
    for (int i = 0; i < conc; i++) {
        loads[i] = (store_load_t){client, c, next, t0 + seconds, 0, 0};
        pthread_create(&th[i], NULL, store_thread, &loads[i]);
    }
    size_t ops = 0;
    int errors = 0;
    for (int i = 0; i < conc; i++) {
        pthread_join(th[i], NULL);
        ops += loads[i].ops;
        errors += loads[i].errors;
    }
    double elapsed = bench_now() - t0;
    return errors == 0 ? (double)ops / elapsed : -1;
}

/* mnemo's rates at concurrency 1 and 16 on a fresh mnemod; -1 on error. */
static int mnemo_store_rates(const bench_opts_t *o, const bench_corpus_t *c, int round, double *r1,
                             double *r16)
{
    char dir[64];
    snprintf(dir, sizeof dir, "store-mnemo-%d", round);
    bench_pathbuf_t pb;
    const char *data = bench_path(&pb, o->work, dir);
    bench_rmtree(data);
    bench_mnemod_t m;
    if (bench_mnemod_start(&m, data, NULL) != 0)
        return -1;
    atomic_size_t next = 0;
    double warm = mnemo_store_rate(m.client, c, &next, 4, 0.3);
    *r1 = warm < 0 ? -1 : mnemo_store_rate(m.client, c, &next, 1, o->seconds);
    *r16 = *r1 < 0 ? -1 : mnemo_store_rate(m.client, c, &next, 16, o->seconds);
    bench_mnemod_stop(&m);
    bench_rmtree(data);
    return *r16 < 0 ? -1 : 0;
}

static void remove_sqlite(const char *path)
{
    char aux[4200];
    unlink(path);
    snprintf(aux, sizeof aux, "%s-wal", path);
    unlink(aux);
    snprintf(aux, sizeof aux, "%s-shm", path);
    unlink(aux);
}

/* FTS5 inserts from one connection into a fresh database; ops/s or -1. */
static double fts_store_rate(const bench_opts_t *o, const bench_corpus_t *c)
{
    bench_pathbuf_t pb;
    const char *path = bench_path(&pb, o->work, "store.sqlite");
    remove_sqlite(path);
    bench_fts_t *db;
    if (bench_fts_mem_open(&db, path) != 0)
        return -1;
    char buf[8192];
    size_t i = 0, ops = 0;
    int rc = 0;
    for (double end = bench_now() + 0.3; bench_now() < end && rc == 0; i++) /* warm-up */
        rc = bench_fts_mem_insert(db, content_for(c, i, buf, sizeof buf));
    double t0 = bench_now();
    for (double end = t0 + o->seconds; bench_now() < end && rc == 0; i++, ops++)
        rc = bench_fts_mem_insert(db, content_for(c, i, buf, sizeof buf));
    double rate = (double)ops / (bench_now() - t0);
    bench_fts_close(db);
    remove_sqlite(path);
    return rc == 0 ? rate : -1;
}

/* FTS5, mnemo (1 then 16 threads), FTS5 again: the baseline of the round is
 * the mean of the two FTS5 runs around mnemo's, so a drift of the disk's
 * fsync latency during the round (this VM's varies several-fold with its
 * neighbours' I/O) weighs on both sides alike. */
static int store_round(const bench_opts_t *o, const bench_corpus_t *c, int round, bool fts)
{
    double before = fts ? fts_store_rate(o, c) : 0, r1, r16;
    if (before < 0 || mnemo_store_rates(o, c, round, &r1, &r16) != 0)
        return -1;
    double after = fts ? fts_store_rate(o, c) : 0;
    if (after < 0)
        return -1;
    bench_result("store_c1", "mnemo", round, r1);
    bench_result("store_c16", "mnemo", round, r16);
    if (fts) {
        bench_log("  (FTS5 before %.0f, after %.0f ops/s)", before, after);
        /* One writer is SQLite's best case at any concurrency. */
        bench_result("store_c1", "base", round, (before + after) / 2);
        bench_result("store_c16", "base", round, (before + after) / 2);
    }
    return 0;
}

int bench_fig_store(const bench_opts_t *o)
{
    bench_corpus_t c;
    if (bench_corpus_load(&c, o->corpus) != 0)
        return -1;
    bench_log("figure 1: StoreMemory throughput, %d rounds of %.1f s", o->rounds, o->seconds);
    bool fts = bench_fts_available();
    if (!fts) {
        bench_skip("store_c1", "SQLite not built in");
        bench_skip("store_c16", "SQLite not built in");
    }
    int rc = 0;
    for (int r = 1; r <= o->rounds && rc == 0; r++)
        rc = store_round(o, &c, r, fts);
    bench_corpus_cleanup(&c);
    return rc;
}

/* ---- 2: RetrieveMemory latency ---- */

/* Opens the memories store at dir with the options mnemod opens it with. */
static mnemo_status_t open_mem_store(mnemo_store_t **store, const char *dir, mnemo_err_t *err)
{
    mnemo_store_options_t so = {0};
    mnemo_memories_store_options(&so);
    return mnemo_store_open(store, dir, &so, err);
}

/* Builds work/mem-mnemo with every entry, in-process. */
static int build_mem_store(const bench_opts_t *o, const bench_corpus_t *c)
{
    bench_pathbuf_t pb;
    bench_rmtree(bench_path(&pb, o->work, BENCH_MEM_DIR));
    if (mkdir(bench_path(&pb, o->work, BENCH_MEM_DIR), 0755) != 0) {
        perror("bench: mkdir");
        return -1;
    }
    const char *dir = bench_path(&pb, o->work, BENCH_MEM_STORE);
    double t0 = bench_now();
    mnemo_store_t *store = NULL;
    mnemo_memories_t *mem = NULL;
    mnemo_err_t err;
    mnemo_memories_options_t mo = {.sync_writes = false};
    if (open_mem_store(&store, dir, &err) != MNEMO_OK ||
        mnemo_memories_open(&mem, store, &mo, &err) != MNEMO_OK) {
        fprintf(stderr, "bench: %s: %s\n", dir, err.msg);
        mnemo_store_close(store);
        return -1;
    }
    int64_t now_ms = (int64_t)time(NULL) * 1000;
    int rc = 0;
    for (size_t i = 0; i < c->n_entries && rc == 0; i++) {
        mnemo_memory_input_t in = {.content = c->entries[i], .content_len = strlen(c->entries[i])};
        mnemo_memory_t *out = NULL;
        bool created;
        if (mnemo_memories_put(mem, &out, &created, &in, now_ms + (int64_t)i, &err) != MNEMO_OK) {
            fprintf(stderr, "bench: put: %s\n", err.msg);
            rc = -1;
        }
        mnemo_memory_destroy(out);
    }
    mnemo_memories_close(mem);
    mnemo_store_close(store);
    bench_log("  mnemo memory store: %zu memories in %.1f s (in-process, set-up)", c->n_entries,
              bench_now() - t0);
    return rc;
}

static int build_fts_mem(const bench_opts_t *o, const bench_corpus_t *c, bench_fts_t **db)
{
    bench_pathbuf_t pb;
    const char *path = bench_path(&pb, o->work, "mem.sqlite");
    remove_sqlite(path);
    double t0 = bench_now();
    if (bench_fts_mem_open(db, path) != 0)
        return -1;
    if (bench_fts_mem_load(*db, c->entries, c->n_entries) != 0) {
        bench_fts_close(*db);
        return -1;
    }
    bench_log("  FTS5 memory db: %zu memories in %.1f s (set-up)", c->n_entries, bench_now() - t0);
    return 0;
}

typedef enum engine { IN_PROCESS, END_TO_END, FTS5 } engine_t;

typedef struct retriever {
    mnemo_memories_t *mem;
    mnemo_client_t *client;
    bench_fts_t *fts;
} retriever_t;

/* One query on engine e; hits in *hits. */
static int query_once(const retriever_t *rt, engine_t e, const char *q, int *hits)
{
    if (e == FTS5)
        return bench_fts_mem_query(rt->fts, q, LIMIT, hits);
    if (e == END_TO_END)
        return retrieve_one(rt->client, q, hits);
    mnemo_memory_list_t list;
    mnemo_err_t err;
    if (mnemo_memories_retrieve(rt->mem, &list, q, strlen(q), LIMIT, NULL, 0, 0.0, &err) !=
        MNEMO_OK) {
        fprintf(stderr, "bench: retrieve: %s\n", err.msg);
        return -1;
    }
    *hits = (int)list.count;
    mnemo_memory_list_cleanup(&list);
    return 0;
}

/* passes x every query on e, latencies (ms) into s; average hits/query. */
static double query_passes(const retriever_t *rt, engine_t e, const bench_corpus_t *c, int passes,
                           bench_samples_t *s)
{
    long total_hits = 0;
    for (int p = 0; p < passes; p++) {
        for (size_t i = 0; i < c->n_queries; i++) {
            int hits = 0;
            double t0 = bench_now();
            if (query_once(rt, e, c->queries[i], &hits) != 0)
                return -1;
            if (s != NULL)
                bench_samples_push(s, (bench_now() - t0) * 1e3);
            total_hits += hits;
        }
    }
    /* Every query is made of words of an entry: no hit at all means the
     * engine looked at an empty store, and its timings would be a lie. */
    if (total_hits == 0 && c->n_queries > 0) {
        fprintf(stderr, "bench: no query found anything: is the store empty?\n");
        return -1;
    }
    return (double)total_hits / (double)(passes * (int)c->n_queries);
}

/* Times o->passes passes on e and reports p50/p99 under row_prefix. */
static int timed_round(const bench_opts_t *o, const retriever_t *rt, engine_t e,
                       const bench_corpus_t *c, const char *row_prefix, const char *side, int round)
{
    bench_samples_t s = {0};
    double hits = query_passes(rt, e, c, o->passes, &s);
    if (hits < 0) {
        bench_samples_cleanup(&s);
        return -1;
    }
    char row[64];
    snprintf(row, sizeof row, "%s_p50", row_prefix);
    bench_result(row, side, round, bench_percentile(&s, 0.50));
    snprintf(row, sizeof row, "%s_p99", row_prefix);
    bench_result(row, side, round, bench_percentile(&s, 0.99));
    bench_log("  (%s %s: %.2f hits/query over %zu samples)", row_prefix, side, hits, s.n);
    bench_samples_cleanup(&s);
    return 0;
}

static int retrieve_in_process(const bench_opts_t *o, const bench_corpus_t *c, retriever_t *rt)
{
    bench_pathbuf_t pb;
    const char *dir = bench_path(&pb, o->work, BENCH_MEM_STORE);
    mnemo_store_t *store = NULL;
    mnemo_err_t err;
    if (open_mem_store(&store, dir, &err) != MNEMO_OK ||
        mnemo_memories_open(&rt->mem, store, NULL, &err) != MNEMO_OK) {
        fprintf(stderr, "bench: %s: %s\n", dir, err.msg);
        mnemo_store_close(store);
        return -1;
    }
    int rc = query_passes(rt, IN_PROCESS, c, 1, NULL) < 0 ? -1 : 0; /* warm-up */
    if (rt->fts != NULL && rc == 0)
        rc = query_passes(rt, FTS5, c, 1, NULL) < 0 ? -1 : 0;
    for (int r = 1; r <= o->rounds && rc == 0; r++) {
        for (int k = 0; k < 2 && rc == 0; k++) {
            if ((k == 0) == mnemo_first(r))
                rc = timed_round(o, rt, IN_PROCESS, c, "retr_inproc", "mnemo", r);
            else if (rt->fts != NULL)
                rc = timed_round(o, rt, FTS5, c, "retr_inproc", "base", r);
        }
    }
    mnemo_memories_close(rt->mem);
    rt->mem = NULL;
    mnemo_store_close(store);
    return rc;
}

static int retrieve_end_to_end(const bench_opts_t *o, const bench_corpus_t *c, retriever_t *rt)
{
    bench_mnemod_t m;
    bench_pathbuf_t pb;
    if (bench_mnemod_start(&m, bench_path(&pb, o->work, BENCH_MEM_DIR), NULL) != 0)
        return -1;
    rt->client = m.client;
    int rc = query_passes(rt, END_TO_END, c, 1, NULL) < 0 ? -1 : 0; /* warm client */
    for (int r = 1; r <= o->rounds && rc == 0; r++) {
        for (int k = 0; k < 2 && rc == 0; k++) {
            if ((k == 0) == mnemo_first(r))
                rc = timed_round(o, rt, END_TO_END, c, "retr_e2e", "mnemo", r);
            else if (rt->fts != NULL)
                rc = timed_round(o, rt, FTS5, c, "retr_e2e", "base", r);
        }
    }
    rt->client = NULL;
    bench_mnemod_stop(&m);
    return rc;
}

int bench_fig_retrieve(const bench_opts_t *o)
{
    bench_corpus_t c;
    if (bench_corpus_load(&c, o->corpus) != 0)
        return -1;
    bench_log("figure 2: RetrieveMemory over %zu memories, %zu queries x %d passes, %d rounds",
              c.n_entries, c.n_queries, o->passes, o->rounds);
    retriever_t rt = {0};
    int rc = build_mem_store(o, &c);
    if (rc == 0 && bench_fts_available())
        rc = build_fts_mem(o, &c, &rt.fts);
    if (rt.fts == NULL) {
        bench_skip("retr_inproc_p50", "SQLite not built in");
        bench_skip("retr_inproc_p99", "SQLite not built in");
        bench_skip("retr_e2e_p50", "SQLite not built in");
        bench_skip("retr_e2e_p99", "SQLite not built in");
    }
    if (rc == 0)
        rc = retrieve_in_process(o, &c, &rt);
    if (rc == 0)
        rc = retrieve_end_to_end(o, &c, &rt);
    bench_fts_close(rt.fts);
    bench_corpus_cleanup(&c);
    return rc;
}

/* ---- 7: memory operations while a sync runs ---- */

typedef struct mix {
    mnemo_client_t *client;
    const bench_corpus_t *corpus;
    atomic_bool stop;
    bench_samples_t retr, store;
    int round, errors;
    size_t stored; /* stores so far: the next unique text */
} mix_t;

static void *mix_retrieve(void *arg)
{
    mix_t *x = arg;
    for (size_t i = 0; !atomic_load(&x->stop) && x->errors == 0; i++) {
        int hits;
        double t0 = bench_now();
        if (retrieve_one(x->client, x->corpus->queries[i % x->corpus->n_queries], &hits) != 0)
            x->errors++;
        bench_samples_push(&x->retr, (bench_now() - t0) * 1e3);
    }
    return NULL;
}

static void *mix_store(void *arg)
{
    mix_t *x = arg;
    char buf[8192];
    while (!atomic_load(&x->stop) && x->errors == 0) {
        const bench_corpus_t *c = x->corpus;
        size_t i = x->stored++;
        snprintf(buf, sizeof buf, "during-sync round %d note %zu: %s", x->round, i,
                 c->entries[i % c->n_entries]);
        double t0 = bench_now();
        if (store_one(x->client, buf) != 0)
            x->errors++;
        bench_samples_push(&x->store, (bench_now() - t0) * 1e3);
    }
    return NULL;
}

/* Runs the two load threads until sync_name's sync ends (NULL: for
 * seconds) or max seconds; samples in x, the sync's paced time in *paced_ms. */
static int run_mix(mix_t *x, bench_mnemod_t *m, const char *sync_name, double seconds,
                   int64_t *paced_ms)
{
    atomic_store(&x->stop, false);
    pthread_t a, b;
    pthread_create(&a, NULL, mix_retrieve, x);
    pthread_create(&b, NULL, mix_store, x);
    double end = bench_now() + seconds;
    int rc = 0;
    while (bench_now() < end) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
        if (sync_name == NULL)
            continue;
        int state = bench_mnemod_sync_state(m, sync_name, paced_ms);
        if (state != MNEMO__V1__SYNC_STATE__SYNC_STATE_RUNNING &&
            state != MNEMO__V1__SYNC_STATE__SYNC_STATE_PENDING) {
            rc = state == MNEMO__V1__SYNC_STATE__SYNC_STATE_COMPLETED ? 0 : -1;
            if (rc != 0)
                fprintf(stderr, "bench: sync %s ended in state %d, not COMPLETED\n", sync_name,
                        state);
            break;
        }
    }
    if (sync_name != NULL && bench_now() >= end) {
        fprintf(stderr, "bench: sync still running after %.0f s\n", seconds);
        rc = -1;
    }
    atomic_store(&x->stop, true);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    return x->errors == 0 ? rc : -1;
}

/* The p99s of x's samples into p99[2] (retrieve, store); logs the p50s. */
static void summarize_mix(mix_t *x, double p99[2], const char *what)
{
    p99[0] = bench_percentile(&x->retr, 0.99);
    p99[1] = bench_percentile(&x->store, 0.99);
    bench_log("  (%s: %zu retrieves p50 %.3f ms p99 %.3f, %zu stores p50 %.3f ms p99 %.3f)", what,
              x->retr.n, bench_percentile(&x->retr, 0.5), p99[0], x->store.n,
              bench_percentile(&x->store, 0.5), p99[1]);
    bench_samples_cleanup(&x->retr);
    bench_samples_cleanup(&x->store);
}

/* The mix with no sync for seconds; p99s into p99[2]. */
static int idle_mix(mix_t *x, bench_mnemod_t *m, double seconds, double p99[2], const char *what)
{
    int rc = run_mix(x, m, NULL, seconds, NULL);
    if (rc == 0)
        summarize_mix(x, p99, what);
    return rc;
}

/* ---- 7b: the same while many WatchSync streams follow the sync ---- */

#define WATCHERS_PER_CLIENT 100

typedef struct crowd {
    mnemo_client_t **clients;
    size_t n_clients;
    pthread_t *threads;
    int n;
    const char *repo;
    atomic_long events;
    atomic_int failed;
} crowd_t;

typedef struct crowd_arg {
    crowd_t *crowd;
    int index;
} crowd_arg_t;

/* One watcher: WatchSync to the end of the sync, counting events. The
 * watchers stand for other processes, usually on other machines: niced,
 * so that the figure shows what they cost mnemod, not what 1,000 threads
 * of this program waking at each event cost the load threads beside them
 * on the same cores. */
static void *crowd_watch(void *arg)
{
    crowd_arg_t *a = arg;
    crowd_t *cr = a->crowd;
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
    Mnemo__V1__WatchSyncRequest req = MNEMO__V1__WATCH_SYNC_REQUEST__INIT;
    req.repository_name = (char *)cr->repo;
    mnemo_stream_t *st = NULL;
    mnemo_call_error_t err;
    mnemo_client_t *client = cr->clients[(size_t)a->index / WATCHERS_PER_CLIENT];
    if (mnemo_client_watch_sync(&st, client, &req, &err) != 0) {
        atomic_fetch_add(&cr->failed, 1);
        return NULL;
    }
    Mnemo__V1__SyncEvent *ev = NULL;
    int got;
    while ((got = mnemo_stream_next_sync_event(&ev, st, &err)) == 1) {
        atomic_fetch_add(&cr->events, 1);
        mnemo_client_free_message(ev);
    }
    if ((got < 0 || mnemo_stream_status(st, &err) != 0) && atomic_fetch_add(&cr->failed, 1) == 0)
        fprintf(stderr, "bench: WatchSync: %s: %s\n", mnemo_client_code_name(err.code),
                err.message);
    mnemo_stream_close(st);
    return NULL;
}

/* Starts n watchers of repo's running sync on their own clients. */
static int crowd_start(crowd_t *cr, crowd_arg_t *args, bench_mnemod_t *m, const char *repo, int n)
{
    memset(cr, 0, sizeof *cr);
    cr->repo = repo;
    cr->n_clients = ((size_t)n + WATCHERS_PER_CLIENT - 1) / WATCHERS_PER_CLIENT;
    cr->clients = calloc(cr->n_clients, sizeof *cr->clients);
    cr->threads = calloc((size_t)n, sizeof *cr->threads);
    mnemo_client_options_t co;
    mnemo_client_options_init(&co);
    co.deadline_ms = 0; /* a watch lasts as long as the sync */
    for (size_t i = 0; i < cr->n_clients; i++) {
        mnemo_call_error_t err;
        if (mnemo_client_open(&cr->clients[i], bench_mnemod_address(m), &co, &err) != 0) {
            fprintf(stderr, "bench: watcher client: %s\n", err.message);
            return -1;
        }
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 << 10);
    for (; cr->n < n; cr->n++) {
        args[cr->n] = (crowd_arg_t){cr, cr->n};
        if (pthread_create(&cr->threads[cr->n], &attr, crowd_watch, &args[cr->n]) != 0)
            break;
    }
    pthread_attr_destroy(&attr);
    return cr->n == n ? 0 : -1;
}

/* Waits for the watchers (they end with the sync) and frees the crowd;
 * 0 when every stream ended OK. */
static int crowd_join(crowd_t *cr)
{
    for (int i = 0; i < cr->n; i++)
        pthread_join(cr->threads[i], NULL);
    for (size_t i = 0; i < cr->n_clients; i++)
        mnemo_client_close(cr->clients[i]);
    free(cr->clients);
    free(cr->threads);
    int failed = atomic_load(&cr->failed);
    if (failed > 0)
        fprintf(stderr, "bench: %d of %d WatchSync streams failed\n", failed, cr->n);
    return failed == 0 ? 0 : -1;
}

/* One full re-sync in the background with the mix running, watched by
 * watchers streams (0: none); p99s into p99[2]. */
static int watched_resync(const bench_opts_t *o, mix_t *x, bench_mnemod_t *m, int watchers,
                          double p99[2])
{
    crowd_t cr;
    crowd_arg_t *args = calloc((size_t)(watchers > 0 ? watchers : 1), sizeof *args);
    int rc = bench_mnemod_sync_background(m, o->code_path, "bench-during", true);
    bool crowd = rc == 0 && watchers > 0;
    if (crowd)
        rc = crowd_start(&cr, args, m, "bench-during", watchers);
    if (rc == 0)
        rc = run_mix(x, m, "bench-during", 1800, NULL);
    if (crowd) {
        if (crowd_join(&cr) != 0)
            rc = -1;
        bench_log("  (%d WatchSync streams got %ld events)", watchers, atomic_load(&cr.events));
    }
    free(args);
    if (rc == 0) {
        char what[64];
        snprintf(what, sizeof what, "full re-sync, %d watchers", watchers);
        summarize_mix(x, p99, what);
        bench_log("  (server idle after %.1f s)", bench_wait_idle(m->pid, 60));
    }
    return rc;
}

/* The two full re-syncs of 7b, the watched one first in odd rounds. */
static int watched_resyncs(const bench_opts_t *o, mix_t *x, bench_mnemod_t *m, int round)
{
    double with[2], without[2];
    int rc = 0;
    for (int k = 0; k < 2 && rc == 0; k++) {
        if ((k == 0) == mnemo_first(round))
            rc = watched_resync(o, x, m, o->watchers, with);
        else
            rc = watched_resync(o, x, m, 0, without);
    }
    if (rc == 0) {
        bench_result("watched_retr_p99", "mnemo", round, with[0]);
        bench_result("watched_store_p99", "mnemo", round, with[1]);
        bench_result("watched_retr_p99", "base", round, without[0]);
        bench_result("watched_store_p99", "base", round, without[1]);
    }
    return rc;
}

/* One round: idle, during a background full sync, idle again once the
 * server is quiet. The stores of the mix grow the data set all along (a
 * paced sync lasts a minute), so the baseline is the mean of the idle run
 * before (smaller) and after (larger) the sync, as figure 1 brackets
 * mnemo with two FTS5 runs. */
static int during_round(const bench_opts_t *o, const bench_corpus_t *c, int round)
{
    char name[64];
    snprintf(name, sizeof name, "during-%d", round);
    bench_pathbuf_t pb, pmem;
    const char *dir = bench_path(&pb, o->work, name);
    bench_rmtree(dir);
    char *cp[] = {"cp", "-a", (char *)bench_path(&pmem, o->work, BENCH_MEM_DIR), (char *)dir, NULL};
    if (bench_run(NULL, NULL, cp, NULL, true) != 0)
        return -1;
    bench_mnemod_t m;
    if (bench_mnemod_start(&m, dir, o->code_path) != 0)
        return -1;
    mix_t x = {.client = m.client, .corpus = c, .round = round};
    double idle_s = o->smoke ? 1.0 : 5.0, before[2], during[2], after[2];
    int rc = query_passes(&(retriever_t){.client = m.client}, END_TO_END, c, 1, NULL) < 0 ? -1 : 0;
    if (rc == 0)
        rc = idle_mix(&x, &m, idle_s, before, "idle before");
    double t0 = bench_now();
    int64_t paced_ms = 0;
    if (rc == 0)
        rc = bench_mnemod_sync_background(&m, o->code_path, "bench-during", false);
    if (rc == 0)
        rc = run_mix(&x, &m, "bench-during", 1800, &paced_ms);
    if (rc == 0) {
        summarize_mix(&x, during, "during sync");
        bench_log("  (background sync took %.1f s, %.1f s of it paused for requests)",
                  bench_now() - t0, (double)paced_ms / 1e3);
        /* The sync's compactions and merges run on for a while. */
        bench_log("  (server idle after %.1f s)", bench_wait_idle(m.pid, 60));
        rc = idle_mix(&x, &m, idle_s, after, "idle after");
    }
    if (rc == 0) {
        bench_result("during_retr_p99", "mnemo", round, during[0]);
        bench_result("during_store_p99", "mnemo", round, during[1]);
        bench_result("during_retr_p99", "base", round, (before[0] + after[0]) / 2);
        bench_result("during_store_p99", "base", round, (before[1] + after[1]) / 2);
    }
    if (rc == 0 && o->watchers > 0)
        rc = watched_resyncs(o, &x, &m, round);
    bench_samples_cleanup(&x.retr);
    bench_samples_cleanup(&x.store);
    bench_mnemod_stop(&m);
    bench_rmtree(dir);
    return rc;
}

int bench_fig_during_sync(const bench_opts_t *o)
{
    bench_corpus_t c;
    if (bench_corpus_load(&c, o->corpus) != 0)
        return -1;
    bench_log("figure 7: memory ops during a full sync of %s, %d rounds", o->code_path, o->rounds);
    int rc = 0;
    bench_pathbuf_t pb;
    if (access(bench_path(&pb, o->work, BENCH_MEM_DIR), F_OK) != 0)
        rc = build_mem_store(o, &c);
    for (int r = 1; r <= o->rounds && rc == 0; r++)
        rc = during_round(o, &c, r);
    bench_corpus_cleanup(&c);
    return rc;
}
