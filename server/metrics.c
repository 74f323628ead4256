/* metrics.c - call counters, the access log, the give-back after a burst,
 * and the Prometheus text exposition (see metrics.h).
 *
 * DESIGN: counters_t holds one method's counters; the array is
 * [shard][method], each shard's block aligned to a cache line, and a
 * thread keeps the shard it drew first. Histogram buckets are counted
 * per bucket (not cumulative) and summed into Prometheus' cumulative
 * buckets at render time. Label values are the method tables' service and
 * method names and fixed words, all plain identifiers: nothing to escape.
 *
 * Threads: see metrics.h.
 */
#include "metrics.h"

#include <assert.h>
#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "rpc.h"
#include "thread.h"

#define N_CODES   17 /* MNEMO_CODE_OK .. MNEMO_CODE_UNAUTHENTICATED */
#define N_BUCKETS 11
#define NS        1000000000.0

/* go-grpc-prometheus' default buckets (Prometheus' DefBuckets), seconds. */
static const double bucket_s[N_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

/* Aligned so that no two methods (or shards) share a cache line. */
typedef struct counters {
    _Alignas(64) atomic_uint_fast64_t started;
    atomic_uint_fast64_t received, sent, sum_ns;
    atomic_uint_fast64_t handled[N_CODES];
    atomic_uint_fast64_t buckets[N_BUCKETS + 1]; /* the last: above 10 s */
} counters_t;

struct mnemo_metrics {
    mnemo_metrics_options_t opts;
    const mnemo_method_t **methods; /* by index */
    size_t n_methods;
    size_t first[8];      /* index of the first method of each rpc table */
    counters_t *counters; /* [MNEMO_METRICS_SHARDS][n_methods] */
    int64_t bucket_ns[N_BUCKETS];
    atomic_uint_fast64_t in_flight;
    atomic_uint_fast64_t started; /* calls ever started: is the server quiet? */
    atomic_uint_fast64_t peak;    /* in flight since the last give-back */
    atomic_uint_fast64_t give_backs;

    /* The give-back thread: woken once per burst, it lets the burst's
     * last frees (gRPC's deferred ones included) happen, then trims. */
    pthread_t trimmer;
    bool trimmer_running;
    pthread_mutex_t mu; /* guards the two below */
    pthread_cond_t cond;
    bool trim_due, stopping;
};

static atomic_uint next_shard;
static _Thread_local int my_shard = -1;

static int shard(void)
{
    if (my_shard < 0)
        my_shard = (int)(atomic_fetch_add_explicit(&next_shard, 1, memory_order_relaxed) %
                         MNEMO_METRICS_SHARDS);
    return my_shard;
}

static void add(atomic_uint_fast64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t get(const atomic_uint_fast64_t *c)
{
    return atomic_load_explicit((atomic_uint_fast64_t *)c, memory_order_relaxed);
}

static void *trimmer_main(void *arg);

mnemo_metrics_t *mnemo_metrics_create(const mnemo_metrics_options_t *opts)
{
    mnemo_metrics_t *m = mnemo_xcalloc(1, sizeof *m);
    m->opts = *opts;
    assert(mnemo_rpc_n_tables <= sizeof m->first / sizeof m->first[0]);
    for (size_t t = 0; t < mnemo_rpc_n_tables; t++)
        for (const mnemo_method_t *row = mnemo_rpc_tables[t]; row->name != NULL; row++)
            m->n_methods++;
    m->methods = mnemo_xcalloc(m->n_methods, sizeof *m->methods);
    size_t k = 0;
    for (size_t t = 0; t < mnemo_rpc_n_tables; t++) {
        m->first[t] = k;
        for (const mnemo_method_t *row = mnemo_rpc_tables[t]; row->name != NULL; row++)
            m->methods[k++] = row;
    }
    size_t bytes = MNEMO_METRICS_SHARDS * m->n_methods * sizeof(counters_t);
    m->counters = aligned_alloc(_Alignof(counters_t), bytes); /* a multiple of it */
    if (m->counters == NULL)
        abort(); /* as every allocation in mnemo (bytes.h) */
    memset(m->counters, 0, bytes);
    for (size_t i = 0; i < N_BUCKETS; i++)
        m->bucket_ns[i] = (int64_t)(bucket_s[i] * NS);
    pthread_mutex_init(&m->mu, NULL);
    mnemo_thread_cond_init(&m->cond);
    m->trimmer_running = pthread_create(&m->trimmer, NULL, trimmer_main, m) == 0;
    return m;
}

void mnemo_metrics_destroy(mnemo_metrics_t *m)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->mu);
    m->stopping = true;
    pthread_cond_signal(&m->cond);
    pthread_mutex_unlock(&m->mu);
    if (m->trimmer_running)
        pthread_join(m->trimmer, NULL);
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->mu);
    free(m->counters);
    free(m->methods);
    free(m);
}

/* The counters index of method (a row of the rpc tables), or -1. */
static int method_index(const mnemo_metrics_t *m, const mnemo_method_t *method)
{
    for (size_t t = 0; method != NULL && t < mnemo_rpc_n_tables; t++) {
        const mnemo_method_t *base = mnemo_rpc_tables[t];
        size_t n = (t + 1 < mnemo_rpc_n_tables ? m->first[t + 1] : m->n_methods) - m->first[t];
        if (method >= base && method < base + n)
            return (int)(m->first[t] + (size_t)(method - base));
    }
    return -1;
}

static counters_t *counters(mnemo_metrics_t *m, int sh, int method)
{
    return &m->counters[(size_t)sh * m->n_methods + (size_t)method];
}

void mnemo_metrics_call_start(mnemo_metrics_t *m, mnemo_call_obs_t *obs,
                              const mnemo_method_t *method, const char *path, const char *who,
                              long long request_bytes)
{
    uint64_t n = atomic_fetch_add_explicit(&m->in_flight, 1, memory_order_relaxed) + 1;
    atomic_fetch_add_explicit(&m->started, 1, memory_order_relaxed);
    if (n > get(&m->peak))
        atomic_store_explicit(&m->peak, n, memory_order_relaxed);
    obs->metrics = m;
    obs->m = method;
    obs->method = m->opts.count_calls ? method_index(m, method) : -1;
    obs->bytes_in = request_bytes > 0 ? (uint64_t)request_bytes : 0;
    obs->bytes_out = 0;
    obs->start_ns = obs->method >= 0 || m->opts.access_log ? mnemo_clock_ns() : 0;
    if (m->opts.access_log) {
        snprintf(obs->path, sizeof obs->path, "%s", path != NULL ? path : "");
        if (method != NULL)
            snprintf(obs->path, sizeof obs->path, "/%s/%s", mnemo_method_service(method),
                     method->name);
        snprintf(obs->who, sizeof obs->who, "%s", who != NULL ? who : "");
    }
    if (obs->method < 0)
        return;
    counters_t *c = counters(m, shard(), obs->method);
    add(&c->started, 1);
    if (request_bytes >= 0)
        add(&c->received, 1);
}

/* One message of n bytes, out or in. */
static void count_message(mnemo_call_obs_t *obs, size_t n, bool out)
{
    if (obs->metrics == NULL)
        return;
    *(out ? &obs->bytes_out : &obs->bytes_in) += n;
    if (obs->method >= 0) {
        counters_t *c = counters(obs->metrics, shard(), obs->method);
        add(out ? &c->sent : &c->received, 1);
    }
}

void mnemo_metrics_call_sent(mnemo_call_obs_t *obs, size_t n)
{
    count_message(obs, n, true);
}

void mnemo_metrics_call_received(mnemo_call_obs_t *obs, size_t n)
{
    count_message(obs, n, false);
}

static const char *const code_names[N_CODES] = {
#define CODE_NAME(name, value) [value] = #name,
    MNEMO_CODE_TABLE(CODE_NAME)
#undef CODE_NAME
};

const char *mnemo_metrics_code_label(mnemo_code_t code)
{
    static const char *const go_names[N_CODES] = {
        "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
        "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
        "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
        "DataLoss", "Unauthenticated"};
    return (unsigned)code < N_CODES ? go_names[code] : "Unknown";
}

static void access_line(const mnemo_call_obs_t *obs, mnemo_code_t code, const char *peer,
                        int64_t dur_ns)
{
    mnemo_log_field_t f[] = {
        MNEMO_LOG_STR("method", obs->path),
        MNEMO_LOG_STR("peer", peer != NULL ? peer : ""),
        MNEMO_LOG_STR("code", (unsigned)code < N_CODES ? code_names[code] : "UNKNOWN"),
        MNEMO_LOG_NUM("ms", (double)dur_ns / 1e6),
        MNEMO_LOG_INT("bytes_in", (long long)obs->bytes_in),
        MNEMO_LOG_INT("bytes_out", (long long)obs->bytes_out),
        MNEMO_LOG_STR("who", obs->who),
    };
    size_t n = sizeof f / sizeof f[0] - (obs->who[0] == '\0');
    mnemo_log_fields(MNEMO_LOG_INFO, true, "call", f, n);
}

/* A burst of calls is over (in flight fell to BURST_LOW after reaching
 * BURST_HIGH): the first thread to see it wakes the trimmer, once. */
static void give_back_after_burst(mnemo_metrics_t *m, uint64_t in_flight)
{
    if (in_flight > MNEMO_METRICS_BURST_LOW || get(&m->peak) < MNEMO_METRICS_BURST_HIGH)
        return;
    uint64_t peak = atomic_exchange_explicit(&m->peak, in_flight, memory_order_relaxed);
    if (peak < MNEMO_METRICS_BURST_HIGH)
        return; /* another thread claimed it */
    pthread_mutex_lock(&m->mu);
    m->trim_due = true;
    pthread_cond_signal(&m->cond);
    pthread_mutex_unlock(&m->mu);
}

/* mnemod-trim: after each burst, MNEMO_METRICS_SETTLE_MS for its last
 * frees to happen, then the heap's free pages go back (bytes.h). Off the
 * CQ threads: a trim walks every arena (10-20 ms after 1,000 streams). */
static void *trimmer_main(void *arg)
{
    mnemo_metrics_t *m = arg;
    mnemo_thread_name("mnemod-trim");
    mnemo_thread_background();
    pthread_mutex_lock(&m->mu);
    uint64_t seen = get(&m->started);
    bool trimmed = false; /* since the last call started */
    while (!m->stopping) {
        if (!m->trim_due) {
            /* No burst: check now and then whether the server went quiet
             * (no call started, none in flight) with much free heap kept,
             * as after syncs, merges and compactions, which run on their
             * own threads and free in their own arenas. */
            if (mnemo_thread_cond_wait_ms(&m->cond, &m->mu, MNEMO_METRICS_QUIET_MS) == 0)
                continue;
            uint64_t now = get(&m->started);
            bool quiet = now == seen && get(&m->in_flight) == 0;
            trimmed &= now == seen;
            seen = now;
            if (!quiet || trimmed || mnemo_heap_stats().free < MNEMO_METRICS_QUIET_FREE_BYTES)
                continue;
            trimmed = true;
            pthread_mutex_unlock(&m->mu);
            mnemo_heap_give_back();
            add(&m->give_backs, 1);
            pthread_mutex_lock(&m->mu);
            continue;
        }
        m->trim_due = false;
        /* A stop, or the end of another burst, cuts the wait short. */
        mnemo_thread_cond_wait_ms(&m->cond, &m->mu, MNEMO_METRICS_SETTLE_MS);
        if (m->stopping)
            break;
        pthread_mutex_unlock(&m->mu);
        int64_t t0 = mnemo_clock_ns();
        mnemo_heap_give_back();
        add(&m->give_backs, 1);
        mnemo_log(MNEMO_LOG_DEBUG,
                  "gave the heap's free pages back after a burst of calls (%.1f ms)",
                  (double)(mnemo_clock_ns() - t0) / 1e6);
        pthread_mutex_lock(&m->mu);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

void mnemo_metrics_call_end(mnemo_call_obs_t *obs, mnemo_code_t code, const char *peer)
{
    mnemo_metrics_t *m = obs->metrics;
    if (m == NULL)
        return;
    int64_t dur = obs->start_ns != 0 ? mnemo_clock_ns() - obs->start_ns : 0;
    if (obs->method >= 0) {
        counters_t *c = counters(m, shard(), obs->method);
        add(&c->handled[(unsigned)code < N_CODES ? code : MNEMO_CODE_UNKNOWN], 1);
        size_t b = 0;
        while (b < N_BUCKETS && dur > m->bucket_ns[b])
            b++;
        add(&c->buckets[b], 1);
        add(&c->sum_ns, (uint64_t)(dur > 0 ? dur : 0));
    }
    if (m->opts.access_log)
        access_line(obs, code, peer, dur);
    obs->metrics = NULL;
    uint64_t n = atomic_fetch_sub_explicit(&m->in_flight, 1, memory_order_relaxed) - 1;
    give_back_after_burst(m, n);
}

bool mnemo_metrics_wants_peer(const mnemo_metrics_t *m)
{
    return m->opts.access_log;
}

uint64_t mnemo_metrics_in_flight(const mnemo_metrics_t *m)
{
    return get(&m->in_flight);
}

/* ---- rendering -------------------------------------------------------- */

static void put(mnemo_buf_t *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(mnemo_buf_t *out, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0)
        mnemo_buf_add(out, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static void family(mnemo_buf_t *out, const char *name, const char *type, const char *help)
{
    put(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One method's counters summed over the shards. */
typedef struct totals {
    uint64_t started, received, sent, sum_ns;
    uint64_t handled[N_CODES];
    uint64_t buckets[N_BUCKETS + 1];
} totals_t;

static void sum_method(mnemo_metrics_t *m, int method, totals_t *t)
{
    memset(t, 0, sizeof *t);
    for (int s = 0; s < MNEMO_METRICS_SHARDS; s++) {
        const counters_t *c = counters(m, s, method);
        t->started += get(&c->started);
        t->received += get(&c->received);
        t->sent += get(&c->sent);
        t->sum_ns += get(&c->sum_ns);
        for (int k = 0; k < N_CODES; k++)
            t->handled[k] += get(&c->handled[k]);
        for (int k = 0; k <= N_BUCKETS; k++)
            t->buckets[k] += get(&c->buckets[k]);
    }
}

static const char *grpc_type(const mnemo_method_t *method)
{
    if (method->client_streaming)
        return method->server_streaming ? "bidi_stream" : "client_stream";
    return method->server_streaming ? "server_stream" : "unary";
}

/* grpc_type="...",grpc_service="...",grpc_method="..." */
static void method_labels(char *out, size_t cap, const mnemo_method_t *method)
{
    snprintf(out, cap, "grpc_type=\"%s\",grpc_service=\"%s\",grpc_method=\"%s\"", grpc_type(method),
             mnemo_method_service(method), method->name);
}

static void render_counter(mnemo_metrics_t *m, const totals_t *all, mnemo_buf_t *out,
                           const char *name, size_t field)
{
    char labels[256];
    for (size_t i = 0; i < m->n_methods; i++) {
        method_labels(labels, sizeof labels, m->methods[i]);
        put(out, "%s{%s} %llu\n", name, labels,
            (unsigned long long)*(const uint64_t *)(const void *)((const char *)&all[i] + field));
    }
}

static void render_calls(mnemo_metrics_t *m, mnemo_buf_t *out)
{
    totals_t *all = mnemo_xcalloc(m->n_methods, sizeof *all);
    for (size_t i = 0; i < m->n_methods; i++)
        sum_method(m, (int)i, &all[i]);
    char labels[256];
    family(out, "grpc_server_started_total", "counter",
           "Total number of RPCs started on the server.");
    render_counter(m, all, out, "grpc_server_started_total", offsetof(totals_t, started));
    family(out, "grpc_server_handled_total", "counter",
           "Total number of RPCs completed on the server, regardless of success or failure.");
    for (size_t i = 0; i < m->n_methods; i++) {
        method_labels(labels, sizeof labels, m->methods[i]);
        for (int k = 0; k < N_CODES; k++)
            put(out, "grpc_server_handled_total{%s,grpc_code=\"%s\"} %llu\n", labels,
                mnemo_metrics_code_label((mnemo_code_t)k), (unsigned long long)all[i].handled[k]);
    }
    family(out, "grpc_server_msg_received_total", "counter",
           "Total number of RPC stream messages received on the server.");
    render_counter(m, all, out, "grpc_server_msg_received_total", offsetof(totals_t, received));
    family(out, "grpc_server_msg_sent_total", "counter",
           "Total number of gRPC stream messages sent by the server.");
    render_counter(m, all, out, "grpc_server_msg_sent_total", offsetof(totals_t, sent));
    family(out, "grpc_server_handling_seconds", "histogram",
           "Histogram of response latency (seconds) of gRPC that had been application-level "
           "handled by the server.");
    for (size_t i = 0; i < m->n_methods; i++) {
        method_labels(labels, sizeof labels, m->methods[i]);
        uint64_t cum = 0;
        for (int b = 0; b < N_BUCKETS; b++) {
            cum += all[i].buckets[b];
            put(out, "grpc_server_handling_seconds_bucket{%s,le=\"%g\"} %llu\n", labels,
                bucket_s[b], (unsigned long long)cum);
        }
        cum += all[i].buckets[N_BUCKETS];
        put(out, "grpc_server_handling_seconds_bucket{%s,le=\"+Inf\"} %llu\n", labels,
            (unsigned long long)cum);
        put(out, "grpc_server_handling_seconds_sum{%s} %.9f\n", labels, (double)all[i].sum_ns / NS);
        put(out, "grpc_server_handling_seconds_count{%s} %llu\n", labels, (unsigned long long)cum);
    }
    free(all);
}

static void gauge(mnemo_buf_t *out, const char *name, const char *help, double v)
{
    family(out, name, "gauge", help);
    put(out, "%s %.15g\n", name, v);
}

static void counter(mnemo_buf_t *out, const char *name, const char *help, double v)
{
    family(out, name, "counter", help);
    put(out, "%s %.15g\n", name, v);
}

static void render_sync(const mnemo_metrics_sources_t *src, mnemo_buf_t *out)
{
    mnemo_sync_stats_t s;
    uint64_t repos = 0;
    mnemo_err_t err;
    if (mnemo_codeindex_stats(src->codeindex, &s, &repos, &err) == MNEMO_OK)
        gauge(out, "mnemo_repositories", "Repositories in the code index.", (double)repos);
    gauge(out, "mnemo_syncs_running", "Repository syncs running now.", (double)s.running);
    counter(out, "mnemo_sync_files_total", "Files read and indexed by syncs (committed batches).",
            (double)s.files);
    counter(out, "mnemo_sync_chunks_total", "Chunks written by syncs.", (double)s.chunks);
    counter(out, "mnemo_sync_bytes_total", "Bytes of the files syncs indexed.", (double)s.bytes);
    counter(out, "mnemo_sync_batches_total", "Sync batches committed.", (double)s.batches);
    counter(out, "mnemo_sync_paced_seconds_total",
            "Seconds syncs paused to leave CPU to requests (--sync-share).",
            (double)s.paced_ns / NS);
    family(out, "mnemo_syncs_finished_total", "counter", "Syncs ended, by final state.");
    static const struct {
        mnemo_sync_state_t state;
        const char *name;
    } states[] = {{MNEMO_SYNC_COMPLETED, "completed"},
                  {MNEMO_SYNC_CANCELLED, "cancelled"},
                  {MNEMO_SYNC_FAILED, "failed"}};
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
        put(out, "mnemo_syncs_finished_total{state=\"%s\"} %llu\n", states[i].name,
            (unsigned long long)s.finished[states[i].state]);
}

/* One figure of a store, read at scrape time. */
typedef unsigned long long (*store_figure_fn)(mnemo_store_t *store);

static unsigned long long store_disk_bytes(mnemo_store_t *store)
{
    return mnemo_store_disk_bytes(store);
}

static unsigned long long store_write_errors(mnemo_store_t *store)
{
    return (unsigned long long)mnemo_store_write_errors(store);
}

/* A family with one sample per open store, labelled by its name. */
static void store_family(const mnemo_metrics_sources_t *src, mnemo_buf_t *out, const char *name,
                         const char *type, const char *help, store_figure_fn figure)
{
    family(out, name, type, help);
    for (size_t i = 0; i < 2; i++)
        if (src->stores[i] != NULL)
            put(out, "%s{store=\"%s\"} %llu\n", name, src->store_names[i], figure(src->stores[i]));
}

static void render_stores(const mnemo_metrics_sources_t *src, mnemo_buf_t *out)
{
    store_family(src, out, "mnemo_store_disk_bytes", "gauge",
                 "Bytes of a LevelDB store's files on disk (tables, logs, manifest).",
                 store_disk_bytes);
    store_family(src, out, "mnemo_store_memory_bytes", "gauge",
                 "Bytes a LevelDB store holds in memory: block cache and memtables.",
                 mnemo_store_memory_bytes);
    store_family(src, out, "mnemo_store_write_errors_total", "counter",
                 "Writes LevelDB failed (a full disk, an I/O error).", store_write_errors);
}

static void render_mnemo(mnemo_metrics_t *m, const mnemo_metrics_sources_t *src, mnemo_buf_t *out)
{
    family(out, "mnemo_build_info", "gauge", "mnemod's version; always 1.");
    put(out, "mnemo_build_info{version=\"%s\"} 1\n", MNEMO_VERSION);
    if (src->memories != NULL)
        gauge(out, "mnemo_memories", "Memories stored.",
              (double)mnemo_memories_count(src->memories));
    if (src->codeindex != NULL)
        render_sync(src, out);
    render_stores(src, out);
    family(out, "mnemo_index_memory_bytes", "gauge",
           "Bytes a search index holds in memory: document table, id map, buffered postings, "
           "idle search accumulators.");
    if (src->memories != NULL)
        put(out, "mnemo_index_memory_bytes{index=\"memories\"} %llu\n",
            (unsigned long long)mnemo_memories_index_bytes(src->memories));
    if (src->codeindex != NULL)
        put(out, "mnemo_index_memory_bytes{index=\"code\"} %llu\n",
            (unsigned long long)mnemo_codeindex_index_bytes(src->codeindex));
    gauge(out, "mnemo_calls_in_flight", "gRPC calls started and not yet ended.",
          (double)get(&m->in_flight));
    mnemo_heap_stats_t heap = mnemo_heap_stats();
    gauge(out, "mnemo_heap_in_use_bytes",
          "Bytes malloc has handed out from its arenas and not had back (glibc mallinfo2).",
          (double)heap.in_use);
    gauge(out, "mnemo_heap_mapped_bytes",
          "Bytes of the blocks malloc mapped on their own, whole, touched or not (glibc "
          "mallinfo2).",
          (double)heap.mapped);
    gauge(out, "mnemo_heap_free_bytes",
          "Bytes malloc keeps free in its arenas (glibc mallinfo2), resident or not.",
          (double)heap.free);
    counter(out, "mnemo_heap_give_backs_total",
            "Times the heap's free pages went back to the system after a burst of calls.",
            (double)get(&m->give_backs));
}

bool mnemo_metrics_parse_proc_stat(mnemo_proc_stat_t *out, const char *text, long ticks_per_s,
                                   long page_size)
{
    /* Fields 3.. of proc(5): state ppid pgrp session tty tpgid flags minflt
     * cminflt majflt cmajflt utime stime cutime cstime priority nice
     * threads itrealvalue starttime vsize rss. */
    unsigned long long utime, stime, start, vsize, rss;
    if (sscanf(text,
               " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d "
               "%llu %llu %llu",
               &utime, &stime, &start, &vsize, &rss) != 5 ||
        ticks_per_s <= 0)
        return false;
    out->cpu_seconds = (double)(utime + stime) / (double)ticks_per_s;
    out->start_since_boot_seconds = (double)start / (double)ticks_per_s;
    out->virtual_bytes = vsize;
    out->resident_bytes = rss * (unsigned long long)page_size;
    return true;
}

/* The first line of path holding `key ` followed by a number, or 0. */
static unsigned long long proc_value(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    char line[256];
    unsigned long long v = 0;
    size_t n = strlen(key);
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, key, n) == 0 && line[n] == ' ' && sscanf(line + n, "%llu", &v) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return v;
}

static double open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return 0;
    double n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

static void render_process(mnemo_buf_t *out)
{
    char text[1024] = "";
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n = f != NULL ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f != NULL)
        fclose(f);
    text[n] = '\0';
    const char *paren = strrchr(text, ')');
    mnemo_proc_stat_t ps;
    if (paren != NULL && mnemo_metrics_parse_proc_stat(&ps, paren + 1, sysconf(_SC_CLK_TCK),
                                                       sysconf(_SC_PAGESIZE))) {
        counter(out, "process_cpu_seconds_total",
                "Total user and system CPU time spent in seconds.", ps.cpu_seconds);
        gauge(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
              (double)ps.resident_bytes);
        gauge(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
              (double)ps.virtual_bytes);
        gauge(out, "process_start_time_seconds",
              "Start time of the process since unix epoch in seconds.",
              (double)proc_value("/proc/stat", "btime") + ps.start_since_boot_seconds);
    }
    gauge(out, "process_open_fds", "Number of open file descriptors.", open_fds());
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        gauge(out, "process_max_fds", "Maximum number of open file descriptors.",
              rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur);
}

void mnemo_metrics_render(mnemo_metrics_t *m, const mnemo_metrics_sources_t *src, mnemo_buf_t *out)
{
    render_calls(m, out);
    render_mnemo(m, src, out);
    render_process(out);
}
