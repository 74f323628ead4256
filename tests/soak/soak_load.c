/* soak_load.c - the soak test's load and its sampling (see soak.h).
 *
 * DESIGN: requests are tickets: ticket k is due at t0 + k / rate, and
 * whichever worker takes it sleeps until then, so the rate holds whatever
 * the latencies do (a ticket taken more than LATE_S after it was due is
 * counted as late: the generator, not mnemod, fell behind). The kind of
 * request comes from a hash of k, so a run's mix is fixed by its seed.
 * Latency is from the call to its return, recorded in the window current
 * when it returns. Stored memory ids go into a ring: GetMemory picks one
 * of the newer half (never one a concurrent store is about to delete),
 * and with --live the oldest beyond it is deleted by the store that
 * pushed it out (its latency is the "delete" op).
 *
 * Errors: every status other than OK from a memory request, a watch
 * stream that ends in anything but OK (CANCELLED when we stop it), a
 * changing sync that does not complete, and a cancelled sync that ends
 * otherwise than cancelled (or completed) or whose stream fails with
 * something other than the CANCELLED we caused. The first MAX_REPORTED
 * are printed with their message.
 *
 * Threads: the main thread (soak_run: set-up, the sampler, shutdown),
 * --workers request threads, --watchers watch threads and one sync
 * driver. Shared counters and the current window live in soak_t under
 * its mutex; each thread keeps nothing else that another reads.
 */
#include "soak.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "mnemo/client.h"

#define LATE_S        0.25
#define MAX_REPORTED  20
#define N_TAGS        48
#define TREE_REPO     "soak-tree"
#define BIG_REPO      "soak-big"
#define CANCEL_AFTER  1.0  /* seconds from the start of the full sync to its cancel */
#define CHANGE_BATCH  1    /* files per batch of the changing sync */
#define TREE_SYNC_AT  5.0  /* seconds into each minute */
#define BIG_SYNC_AT   30.0 /* seconds into each minute */
#define STOP_WAIT_S   60.0 /* longest wait for a cancelled sync to end */
#define WATCH_STACK   (256 * 1024)
#define SYNC_DEADLINE (10 * 60 * 1000)

enum { OP_STORE, OP_GET, OP_RETRIEVE, OP_TAGS, OP_DELETE, N_OPS };
static const char *const OP_NAMES[N_OPS] = {"store", "get", "retrieve", "tags", "delete"};

/* What one window saw; the sampler swaps it out for a fresh one. */
typedef struct soak_window {
    bench_samples_t lat[N_OPS]; /* milliseconds */
    long errors;                /* every kind of error above */
    long late;
    long watch_opens, watch_events;
    int tree_syncs, big_syncs; /* syncs that ended in the window */
    double tree_sync_s;        /* duration of the last changing sync */
} soak_window_t;

typedef struct watcher {
    pthread_t thread;
    struct soak *s;
    int index;
    pthread_mutex_t mu;
    mnemo_stream_t *stream; /* open stream, under mu, for the stop */
} watcher_t;

typedef struct soak {
    const soak_opts_t *o;
    mnemo_client_t *load, *watch, *sync;
    bench_corpus_t corpus;
    soak_tree_t tree, big;
    double t0;
    atomic_bool stop;
    atomic_ullong ticket;
    atomic_int watch_open;
    pthread_mutex_t mu;
    soak_window_t win; /* under mu */
    long total[N_OPS], total_errors, total_late, reported;
    char (*ring)[65]; /* live ids, under mu: [tail, head) modulo ring_cap */
    uint64_t head, tail, stored;
    size_t ring_cap;
    watcher_t *watchers;
    mnemo_stream_t *syncing[2]; /* open sync streams, under mu, for the stop */
} soak_t;

/* ---- recording ---- */

static void record(soak_t *s, int op, double ms)
{
    pthread_mutex_lock(&s->mu);
    bench_samples_push(&s->win.lat[op], ms);
    s->total[op]++;
    pthread_mutex_unlock(&s->mu);
}

static void fail(soak_t *s, const char *what, int code, const char *message)
{
    pthread_mutex_lock(&s->mu);
    s->win.errors++;
    s->total_errors++;
    bool report = s->reported++ < MAX_REPORTED;
    pthread_mutex_unlock(&s->mu);
    if (report)
        bench_log("soak: error: %s: %s: %s", what, mnemo_client_code_name(code), message);
}

static bool stopping(soak_t *s)
{
    return atomic_load(&s->stop);
}

/* Sleeps until bench_now() reaches t or the run stops; false when it stopped. */
static bool sleep_until(soak_t *s, double t)
{
    while (!stopping(s)) {
        double left = t - bench_now();
        if (left <= 0)
            return true;
        if (left > 0.1)
            left = 0.1;
        struct timespec ts = {0, (long)(left * 1e9)};
        nanosleep(&ts, NULL);
    }
    return false;
}

/* ---- memory requests ---- */

static void ring_push(soak_t *s, const char *id, char out_evicted[65])
{
    out_evicted[0] = '\0';
    pthread_mutex_lock(&s->mu);
    memcpy(s->ring[s->head % s->ring_cap], id, 65);
    s->head++;
    uint64_t live = (uint64_t)s->o->live;
    if (s->head - s->tail > (live > 0 ? live : s->ring_cap)) {
        memcpy(out_evicted, s->ring[s->tail % s->ring_cap], 65);
        s->tail++;
    }
    pthread_mutex_unlock(&s->mu);
    /* Without --live the ring forgets the oldest id; the memory stays. */
    if (s->o->live <= 0)
        out_evicted[0] = '\0';
}

/* One of the newer half of the live ids into id; false when there is none. */
static bool ring_pick(soak_t *s, uint64_t r, char id[65])
{
    pthread_mutex_lock(&s->mu);
    uint64_t n = s->head - s->tail;
    if (n > 0)
        memcpy(id, s->ring[(s->head - 1 - r % (n / 2 + 1)) % s->ring_cap], 65);
    pthread_mutex_unlock(&s->mu);
    return n > 0;
}

static void do_delete(soak_t *s, const char *id)
{
    Mnemo__V1__DeleteMemoryRequest req = MNEMO__V1__DELETE_MEMORY_REQUEST__INIT;
    req.id = (char *)id;
    Mnemo__V1__DeleteMemoryResponse *resp = NULL;
    mnemo_call_error_t err;
    double t0 = bench_now();
    int code = mnemo_client_delete_memory(&resp, s->load, &req, &err);
    record(s, OP_DELETE, (bench_now() - t0) * 1e3);
    if (code != MNEMO_CODE_OK)
        fail(s, "DeleteMemory", code, err.message);
    else if (!resp->deleted)
        fail(s, "DeleteMemory", code, "deleted=false for a stored memory");
    mnemo_client_free_message(resp);
}

static void do_store(soak_t *s, uint64_t r)
{
    char *content = NULL, tagbuf[3][16];
    pthread_mutex_lock(&s->mu);
    uint64_t n = s->stored++;
    pthread_mutex_unlock(&s->mu);
    if (asprintf(&content, "%s (soak note %llu)", s->corpus.entries[n % s->corpus.n_entries],
                 (unsigned long long)n) < 0)
        abort();
    char *tags[3];
    size_t n_tags = 1 + r % 3;
    for (size_t i = 0; i < n_tags; i++) {
        snprintf(tagbuf[i], sizeof tagbuf[i], "tag%02d", (int)((r >> (8 * (i + 1))) % N_TAGS));
        tags[i] = tagbuf[i];
    }
    Mnemo__V1__StoreMemoryRequest req = MNEMO__V1__STORE_MEMORY_REQUEST__INIT;
    req.content = content;
    req.tags = tags;
    req.n_tags = n_tags;
    req.memory_type = "note";
    Mnemo__V1__StoreMemoryResponse *resp = NULL;
    mnemo_call_error_t err;
    double t0 = bench_now();
    int code = mnemo_client_store_memory(&resp, s->load, &req, &err);
    record(s, OP_STORE, (bench_now() - t0) * 1e3);
    char evicted[65];
    if (code == MNEMO_CODE_OK) {
        ring_push(s, resp->memory->id, evicted);
        if (evicted[0] != '\0')
            do_delete(s, evicted);
    } else {
        fail(s, "StoreMemory", code, err.message);
    }
    mnemo_client_free_message(resp);
    free(content);
}

static void do_get(soak_t *s, uint64_t r)
{
    char id[65];
    if (!ring_pick(s, r, id)) {
        do_store(s, r);
        return;
    }
    Mnemo__V1__GetMemoryRequest req = MNEMO__V1__GET_MEMORY_REQUEST__INIT;
    req.id = id;
    Mnemo__V1__Memory *m = NULL;
    mnemo_call_error_t err;
    double t0 = bench_now();
    int code = mnemo_client_get_memory(&m, s->load, &req, &err);
    record(s, OP_GET, (bench_now() - t0) * 1e3);
    if (code != MNEMO_CODE_OK)
        fail(s, "GetMemory", code, err.message);
    mnemo_client_free_message(m);
}

static void do_retrieve(soak_t *s, uint64_t r)
{
    Mnemo__V1__RetrieveMemoryRequest req = MNEMO__V1__RETRIEVE_MEMORY_REQUEST__INIT;
    req.query = s->corpus.queries[r % s->corpus.n_queries];
    req.limit = 10;
    char tagbuf[16], *tags[1] = {tagbuf};
    if (r % 4 == 0) { /* a quarter filter by a tag */
        snprintf(tagbuf, sizeof tagbuf, "tag%02d", (int)((r >> 16) % N_TAGS));
        req.tags = tags;
        req.n_tags = 1;
    }
    Mnemo__V1__RetrieveMemoryResponse *resp = NULL;
    mnemo_call_error_t err;
    double t0 = bench_now();
    int code = mnemo_client_retrieve_memory(&resp, s->load, &req, &err);
    record(s, OP_RETRIEVE, (bench_now() - t0) * 1e3);
    if (code != MNEMO_CODE_OK)
        fail(s, "RetrieveMemory", code, err.message);
    mnemo_client_free_message(resp);
}

static void do_tags(soak_t *s, uint64_t r)
{
    char tagbuf[2][16], *tags[2] = {tagbuf[0], tagbuf[1]};
    for (int i = 0; i < 2; i++)
        snprintf(tagbuf[i], sizeof tagbuf[i], "tag%02d", (int)((r >> (8 * (i + 1))) % N_TAGS));
    Mnemo__V1__SearchByTagRequest req = MNEMO__V1__SEARCH_BY_TAG_REQUEST__INIT;
    req.tags = tags;
    req.n_tags = 1 + r % 2;
    req.match_all = (r >> 4) % 2 == 0;
    req.limit = 20;
    Mnemo__V1__SearchByTagResponse *resp = NULL;
    mnemo_call_error_t err;
    double t0 = bench_now();
    int code = mnemo_client_search_by_tag(&resp, s->load, &req, &err);
    record(s, OP_TAGS, (bench_now() - t0) * 1e3);
    if (code != MNEMO_CODE_OK)
        fail(s, "SearchByTag", code, err.message);
    mnemo_client_free_message(resp);
}

/* The mix: 20 % stores, 30 % gets, 30 % retrieves, 20 % tag searches. */
static void *worker_main(void *arg)
{
    soak_t *s = arg;
    while (!stopping(s)) {
        uint64_t k = atomic_fetch_add(&s->ticket, 1);
        double due = s->t0 + (double)k / s->o->rate;
        if (!sleep_until(s, due))
            break;
        if (bench_now() - due > LATE_S) {
            pthread_mutex_lock(&s->mu);
            s->win.late++;
            s->total_late++;
            pthread_mutex_unlock(&s->mu);
        }
        uint64_t r = s->o->seed ^ (k * 0x9E3779B97F4A7C15ull);
        r = bench_splitmix64(&r);
        unsigned pick = (unsigned)(r % 10);
        r >>= 8;
        if (pick < 2)
            do_store(s, r);
        else if (pick < 5)
            do_get(s, r);
        else if (pick < 8)
            do_retrieve(s, r);
        else
            do_tags(s, r);
    }
    return NULL;
}

/* ---- WatchSync streams ---- */

/* Reads one WatchSync stream to its end. */
static void watch_once(watcher_t *w)
{
    soak_t *s = w->s;
    Mnemo__V1__WatchSyncRequest req = MNEMO__V1__WATCH_SYNC_REQUEST__INIT;
    req.repository_name = TREE_REPO;
    mnemo_stream_t *st = NULL;
    mnemo_call_error_t err;
    if (mnemo_client_watch_sync(&st, s->watch, &req, &err) != MNEMO_CODE_OK) {
        fail(s, "WatchSync open", err.code, err.message);
        return;
    }
    pthread_mutex_lock(&w->mu);
    w->stream = st;
    pthread_mutex_unlock(&w->mu);
    if (stopping(s))
        mnemo_stream_cancel(st);
    atomic_fetch_add(&s->watch_open, 1);
    long events = 0;
    Mnemo__V1__SyncEvent *ev = NULL;
    int got;
    while ((got = mnemo_stream_next_sync_event(&ev, st, &err)) == 1) {
        events++;
        mnemo_client_free_message(ev);
    }
    atomic_fetch_sub(&s->watch_open, 1);
    pthread_mutex_lock(&w->mu);
    w->stream = NULL;
    pthread_mutex_unlock(&w->mu);
    int code = mnemo_stream_status(st, &err);
    mnemo_stream_close(st);
    pthread_mutex_lock(&s->mu);
    s->win.watch_opens++;
    s->win.watch_events += events;
    pthread_mutex_unlock(&s->mu);
    if (got < 0 || (code != MNEMO_CODE_OK && !(stopping(s) && code == MNEMO_CODE_CANCELLED)))
        fail(s, "WatchSync", code, err.message);
}

static void *watcher_main(void *arg)
{
    watcher_t *w = arg;
    soak_t *s = w->s;
    uint64_t rng = s->o->seed ^ (uint64_t)(w->index + 1) * 0xD1B54A32D192ED03ull;
    /* Spread the first opens over one pause. */
    double pause = s->o->watch_pause_ms / 1e3;
    sleep_until(s, bench_now() + pause * (double)(bench_splitmix64(&rng) % 1000) / 1e3);
    while (!stopping(s)) {
        watch_once(w);
        double jitter = 0.5 + (double)(bench_splitmix64(&rng) % 1000) / 1e3;
        sleep_until(s, bench_now() + pause * jitter);
    }
    return NULL;
}

/* ---- syncs ---- */

/* Runs a foreground sync of path as name; with cancel_after > 0 it is
 * cancelled that many seconds in, by CancelSync when by_rpc, else by
 * dropping the stream. Reads the stream to its end: *code is its final
 * status, the return value the last state it reported (-1: none). */
static int sync_stream(soak_t *s, const char *path, const char *name, bool full, int batch,
                       double cancel_after, bool by_rpc, int *code)
{
    Mnemo__V1__SyncRepositoryRequest req = MNEMO__V1__SYNC_REPOSITORY_REQUEST__INIT;
    req.repository_path = (char *)path;
    req.repository_name = (char *)name;
    req.full = full;
    req.batch_size = batch;
    mnemo_stream_t *st = NULL;
    mnemo_call_error_t err;
    if ((*code = mnemo_client_sync_repository(&st, s->sync, &req, &err)) != MNEMO_CODE_OK) {
        fail(s, name, *code, err.message);
        return -1;
    }
    pthread_mutex_lock(&s->mu);
    int slot = s->syncing[0] == NULL ? 0 : 1;
    s->syncing[slot] = st;
    pthread_mutex_unlock(&s->mu);
    if (stopping(s))
        mnemo_stream_cancel(st);
    if (cancel_after > 0) {
        sleep_until(s, bench_now() + cancel_after);
        Mnemo__V1__CancelSyncRequest creq = MNEMO__V1__CANCEL_SYNC_REQUEST__INIT;
        creq.repository_name = (char *)name;
        Mnemo__V1__SyncStatus *cs = NULL;
        int c = by_rpc ? mnemo_client_cancel_sync(&cs, s->sync, &creq, &err) : MNEMO_CODE_OK;
        if (c != MNEMO_CODE_OK)
            fail(s, "CancelSync", c, err.message);
        mnemo_client_free_message(cs);
        if (!by_rpc)
            mnemo_stream_cancel(st);
    }
    int state = -1;
    Mnemo__V1__SyncEvent *ev = NULL;
    while (mnemo_stream_next_sync_event(&ev, st, &err) == 1) {
        if (ev->status != NULL)
            state = (int)ev->status->state;
        mnemo_client_free_message(ev);
    }
    *code = mnemo_stream_status(st, &err);
    bool we_cancelled = (cancel_after > 0 && !by_rpc) || stopping(s);
    if (*code != MNEMO_CODE_OK && !(we_cancelled && *code == MNEMO_CODE_CANCELLED))
        fail(s, name, *code, err.message);
    pthread_mutex_lock(&s->mu);
    s->syncing[slot] = NULL;
    mnemo_stream_close(st);
    pthread_mutex_unlock(&s->mu);
    return state;
}

/* The changing tree: files modified, added and deleted, then a sync with
 * batches of CHANGE_BATCH files, which --batch-pause-ms (run.sh) spreads
 * over most of the minute, so that the watchers have a sync to watch. */
static void changing_sync(soak_t *s, int minute)
{
    int mod, add, del, code;
    if (soak_tree_change(&s->tree, minute, &mod, &add, &del) != 0) {
        fail(s, "changing the tree", MNEMO_CODE_INTERNAL, s->tree.root);
        return;
    }
    double t0 = bench_now();
    int state = sync_stream(s, s->tree.root, TREE_REPO, false, CHANGE_BATCH, 0, false, &code);
    double took = bench_now() - t0;
    if (stopping(s))
        return;
    if (code == MNEMO_CODE_OK && state != MNEMO__V1__SYNC_STATE__SYNC_STATE_COMPLETED)
        fail(s, "changing sync", MNEMO_CODE_UNKNOWN, "the last event is not COMPLETED");
    bench_log("soak: minute %d: %d files modified, %d added, %d deleted; synced in %.1f s", minute,
              mod, add, del, took);
    pthread_mutex_lock(&s->mu);
    s->win.tree_syncs++;
    s->win.tree_sync_s = took;
    pthread_mutex_unlock(&s->mu);
}

/* Waits until BIG_REPO's sync has ended on the server; its final state. */
static int wait_ended(soak_t *s)
{
    bench_mnemod_t m = {.client = s->sync};
    double until = bench_now() + STOP_WAIT_S;
    int state;
    while ((state = bench_mnemod_sync_state(&m, BIG_REPO, NULL)) ==
               MNEMO__V1__SYNC_STATE__SYNC_STATE_RUNNING ||
           state == MNEMO__V1__SYNC_STATE__SYNC_STATE_PENDING) {
        if (bench_now() > until || stopping(s))
            break;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return state;
}

/* A full sync of the big tree, cancelled CANCEL_AFTER seconds in: by
 * CancelSync on odd minutes, by dropping the stream on even ones. */
static void cancelled_sync(soak_t *s, int minute)
{
    bool by_rpc = minute % 2 == 1;
    int code;
    sync_stream(s, s->big.root, BIG_REPO, true, 0, CANCEL_AFTER, by_rpc, &code);
    int state = wait_ended(s);
    if (stopping(s))
        return;
    if (state != MNEMO__V1__SYNC_STATE__SYNC_STATE_CANCELLED &&
        state != MNEMO__V1__SYNC_STATE__SYNC_STATE_COMPLETED)
        fail(s, "cancelled full sync", MNEMO_CODE_UNKNOWN, "did not end CANCELLED or COMPLETED");
    else
        bench_log("soak: minute %d: full sync cancelled by %s; it ended %s", minute,
                  by_rpc ? "CancelSync" : "dropping the stream",
                  state == MNEMO__V1__SYNC_STATE__SYNC_STATE_CANCELLED ? "CANCELLED" : "COMPLETED");
    pthread_mutex_lock(&s->mu);
    s->win.big_syncs++;
    pthread_mutex_unlock(&s->mu);
}

typedef struct driver {
    soak_t *s;
    double at; /* seconds into each minute */
    void (*run)(soak_t *s, int minute);
} driver_t;

/* Runs d->run once a minute, d->at seconds in (later if the previous one
 * overran: a sync of a repository never runs twice at once). */
static void *driver_main(void *arg)
{
    driver_t *d = arg;
    for (int minute = 0; sleep_until(d->s, d->s->t0 + minute * 60.0 + d->at); minute++)
        d->run(d->s, minute);
    return NULL;
}

/* ---- sampling ---- */

static int count_fds(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* What mnemod's GET /metrics says of its memory, in bytes; -1: not read. */
typedef struct heap_figures {
    double leveldb; /* mnemo_store_memory_bytes of both stores: caches and memtables */
    double index;   /* mnemo_index_memory_bytes of both search indexes */
    double in_use;  /* mnemo_heap_in_use_bytes: malloc's blocks handed out */
    double free;    /* mnemo_heap_free_bytes: kept free in malloc's arenas */
} heap_figures_t;

/* Adds the value of line to *sum when the line is a sample of name
 * (a bare name, or a name followed by labels). */
static void add_sample(double *sum, const char *line, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(line, name, n) != 0 || (line[n] != ' ' && line[n] != '{'))
        return;
    const char *value = line[n] == '{' ? strchr(line, '}') : line + n;
    if (value != NULL)
        *sum = (*sum < 0 ? 0 : *sum) + strtod(value + 1, NULL);
}

/* Scrapes GET /metrics at addr ("a.b.c.d:port"); every figure stays -1
 * when it cannot be read. */
static heap_figures_t scrape_heap(const char *addr)
{
    heap_figures_t h = {-1, -1, -1, -1};
    char host[64];
    int port;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    if (addr == NULL || sscanf(addr, "%63[^:]:%d", host, &port) != 2 ||
        inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return h;
    sa.sin_port = htons((uint16_t)port);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return h;
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    static const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
    FILE *f = NULL;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1))
        f = fdopen(fd, "r");
    if (f == NULL) {
        close(fd);
        return h;
    }
    char line[1024];
    while (fgets(line, sizeof line, f) != NULL) {
        add_sample(&h.leveldb, line, "mnemo_store_memory_bytes");
        add_sample(&h.index, line, "mnemo_index_memory_bytes");
        add_sample(&h.in_use, line, "mnemo_heap_in_use_bytes");
        add_sample(&h.free, line, "mnemo_heap_free_bytes");
    }
    fclose(f);
    return h;
}

static const char TSV_HEADER[] =
    "t_s\trss_mib\tanon_mib\tfile_mib\tleveldb_mib\tindex_mib\theap_used_mib\theap_free_"
    "mib\tfds\tthreads\trequests\treq_per_"
    "s\terrors\tlate\tp50_"
    "ms\tp99_ms"
    "\tstore_p50\tstore_p99\tget_p50\tget_p99\tretrieve_p50\tretrieve_p99\ttags_p50\ttags_p99"
    "\tdelete_p50\tdelete_p99\twatch_open\twatch_opens\twatch_events\tlive\ttree_syncs"
    "\ttree_sync_s\tbig_syncs\n";

/* Prints one window (stderr) and writes its row; false when mnemod is gone.
 * RSS is split in two: RssAnon (the heap, stacks: what mnemod allocated)
 * and RssFile (libraries, and the LevelDB tables it maps for reading:
 * page cache that grows with the data read, and that the kernel reclaims
 * under pressure). */
static bool sample(soak_t *s, FILE *tsv, double t, soak_window_t *w)
{
    int pid = s->o->pid;
    long rss = bench_proc_status(pid, "VmRSS"), threads = bench_proc_status(pid, "Threads");
    long anon = bench_proc_status(pid, "RssAnon"), file = bench_proc_status(pid, "RssFile");
    heap_figures_t heap = scrape_heap(s->o->metrics);
    const double MIB = 1048576.0;
    int fds = count_fds(pid);
    if (rss < 0 || anon < 0 || file < 0 || threads < 0 || fds < 0 || kill(pid, 0) != 0)
        return false;
    bench_samples_t all = {0};
    double p50[N_OPS], p99[N_OPS];
    for (int op = 0; op < N_OPS; op++) {
        for (size_t i = 0; i < w->lat[op].n; i++)
            bench_samples_push(&all, w->lat[op].v[i]);
        p50[op] = bench_percentile(&w->lat[op], 0.5);
        p99[op] = bench_percentile(&w->lat[op], 0.99);
    }
    double a50 = bench_percentile(&all, 0.5), a99 = bench_percentile(&all, 0.99);
    pthread_mutex_lock(&s->mu);
    unsigned long long live = (unsigned long long)(s->head - s->tail);
    pthread_mutex_unlock(&s->mu);
    double rate = (double)all.n / s->o->window;
    fprintf(stderr,
            "[%6.0fs] rss %7.1f MiB (anon %6.1f, leveldb %6.1f)  fds %4d  threads %3ld  %6.1f "
            "req/s  p50 %6.2f "
            "ms  p99 %7.2f ms  (retrieve p99 %6.2f)  errors %ld  watching %d\n",
            t, rss / 1024.0, anon / 1024.0, heap.leveldb / MIB, fds, threads, rate, a50, a99,
            p99[OP_RETRIEVE], w->errors, atomic_load(&s->watch_open));
    fprintf(tsv,
            "%.0f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%ld\t%zu\t%.1f\t%ld\t%ld\t%.3f\t%."
            "3f",
            t, rss / 1024.0, anon / 1024.0, file / 1024.0, heap.leveldb / MIB, heap.index / MIB,
            heap.in_use / MIB, heap.free / MIB, fds, threads, all.n, rate, w->errors, w->late, a50,
            a99);
    for (int op = 0; op < N_OPS; op++)
        fprintf(tsv, "\t%.3f\t%.3f", p50[op], p99[op]);
    fprintf(tsv, "\t%d\t%ld\t%ld\t%llu\t%d\t%.2f\t%d\n", atomic_load(&s->watch_open),
            w->watch_opens, w->watch_events, live, w->tree_syncs, w->tree_sync_s, w->big_syncs);
    fflush(tsv);
    bench_samples_cleanup(&all);
    return true;
}

static void window_cleanup(soak_window_t *w)
{
    for (int op = 0; op < N_OPS; op++)
        bench_samples_cleanup(&w->lat[op]);
    memset(w, 0, sizeof *w);
}

/* Samples every window until the end of the run; false when mnemod went. */
static bool sample_loop(soak_t *s, FILE *tsv)
{
    fputs(TSV_HEADER, tsv);
    for (int k = 1;; k++) {
        double t = k * s->o->window;
        if (t > s->o->seconds + 1e-9)
            return true;
        sleep_until(s, s->t0 + t);
        pthread_mutex_lock(&s->mu);
        soak_window_t w = s->win;
        memset(&s->win, 0, sizeof s->win);
        pthread_mutex_unlock(&s->mu);
        bool alive = sample(s, tsv, t, &w);
        window_cleanup(&w);
        if (!alive) {
            bench_log("soak: mnemod (pid %d) is gone", s->o->pid);
            return false;
        }
    }
}

/* ---- set-up and shutdown ---- */

static mnemo_client_t *open_client(const char *server, int64_t deadline_ms)
{
    mnemo_client_options_t co;
    mnemo_client_options_init(&co);
    co.deadline_ms = deadline_ms;
    mnemo_client_t *c = NULL;
    mnemo_call_error_t err;
    if (mnemo_client_open(&c, server, &co, &err) != MNEMO_CODE_OK) {
        bench_log("soak: client on %s: %s", server, err.message);
        return NULL;
    }
    return c;
}

/* Trees, corpus, clients and the first sync of the changing tree. */
static int setup(soak_t *s)
{
    const soak_opts_t *o = s->o;
    bench_pathbuf_t p;
    bench_mkdir(o->trees);
    bench_log("soak: writing the trees under %s", o->trees);
    if (soak_tree_create(&s->tree, bench_path(&p, o->trees, "changing"), o->files, o->seed) != 0 ||
        soak_tree_create(&s->big, bench_path(&p, o->trees, "big"), o->files * 4, o->seed + 1) != 0)
        return -1;
    if (bench_corpus_load(&s->corpus, o->corpus) != 0 || s->corpus.n_entries == 0 ||
        s->corpus.n_queries == 0) {
        bench_log("soak: no corpus in %s", o->corpus);
        return -1;
    }
    s->load = open_client(o->server, 30000);
    s->watch = open_client(o->server, 0);
    s->sync = open_client(o->server, SYNC_DEADLINE);
    if (s->load == NULL || s->watch == NULL || s->sync == NULL)
        return -1;
    /* Large batches: run.sh's --batch-pause-ms is for the minute's syncs. */
    double t0 = bench_now();
    int code, state = sync_stream(s, s->tree.root, TREE_REPO, false, 1000, 0, false, &code);
    if (state != MNEMO__V1__SYNC_STATE__SYNC_STATE_COMPLETED)
        return -1;
    bench_log("soak: first sync of the changing tree (%d files): %.1f s", s->tree.live,
              bench_now() - t0);
    s->ring_cap = o->live > 0 ? (size_t)o->live + 1 : 100000;
    s->ring = bench_xmalloc(s->ring_cap * sizeof *s->ring);
    return 0;
}

static void start_threads(soak_t *s, pthread_t *workers, pthread_t *syncers, driver_t *drivers)
{
    for (int i = 0; i < s->o->workers; i++)
        pthread_create(&workers[i], NULL, worker_main, s);
    drivers[0] = (driver_t){s, TREE_SYNC_AT, changing_sync};
    drivers[1] = (driver_t){s, BIG_SYNC_AT, cancelled_sync};
    for (int i = 0; i < 2; i++)
        pthread_create(&syncers[i], NULL, driver_main, &drivers[i]);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WATCH_STACK);
    for (int i = 0; i < s->o->watchers; i++) {
        watcher_t *w = &s->watchers[i];
        w->s = s;
        w->index = i;
        pthread_mutex_init(&w->mu, NULL);
        pthread_create(&w->thread, &attr, watcher_main, w);
    }
    pthread_attr_destroy(&attr);
}

static void stop_threads(soak_t *s, pthread_t *workers, pthread_t *syncers)
{
    atomic_store(&s->stop, true);
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < 2; i++)
        mnemo_stream_cancel(s->syncing[i]);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->o->workers; i++)
        pthread_join(workers[i], NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(syncers[i], NULL);
    for (int i = 0; i < s->o->watchers; i++) {
        watcher_t *w = &s->watchers[i];
        pthread_mutex_lock(&w->mu);
        mnemo_stream_cancel(w->stream);
        pthread_mutex_unlock(&w->mu);
    }
    for (int i = 0; i < s->o->watchers; i++) {
        pthread_join(s->watchers[i].thread, NULL);
        pthread_mutex_destroy(&s->watchers[i].mu);
    }
}

static void summary(soak_t *s)
{
    long requests = 0;
    char per_op[256];
    size_t len = 0;
    for (int op = 0; op < N_OPS; op++) {
        requests += s->total[op];
        len += (size_t)snprintf(per_op + len, sizeof per_op - len, "%s%ld %s", op > 0 ? ", " : "",
                                s->total[op], OP_NAMES[op]);
    }
    bench_log("soak: %ld requests (%s), %ld late, %ld errors", requests, per_op, s->total_late,
              s->total_errors);
}

int soak_run(const soak_opts_t *o)
{
    soak_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        abort();
    s->o = o;
    pthread_mutex_init(&s->mu, NULL);
    FILE *tsv = fopen(o->tsv, "w");
    int rc = 2;
    if (tsv == NULL) {
        bench_log("soak: %s: %s", o->tsv, strerror(errno));
    } else if (setup(s) == 0) {
        pthread_t *workers = bench_xmalloc((size_t)o->workers * sizeof *workers), syncers[2];
        driver_t drivers[2];
        s->watchers = calloc((size_t)o->watchers + 1, sizeof *s->watchers);
        s->t0 = bench_now();
        start_threads(s, workers, syncers, drivers);
        bool alive = sample_loop(s, tsv);
        stop_threads(s, workers, syncers);
        summary(s);
        rc = !alive ? 3 : s->total_errors > 0 ? 1 : 0;
        free(workers);
        free(s->watchers);
    }
    if (tsv != NULL)
        fclose(tsv);
    window_cleanup(&s->win);
    mnemo_client_close(s->load);
    mnemo_client_close(s->watch);
    mnemo_client_close(s->sync);
    bench_corpus_cleanup(&s->corpus);
    soak_tree_cleanup(&s->tree);
    soak_tree_cleanup(&s->big);
    free(s->ring);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return rc;
}
