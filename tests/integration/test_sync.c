/* test_sync.c - mnemo.v1.RepositoryService end to end: real mnemod
 * processes syncing generated trees, driven through libmnemo
 * (client/include/mnemo/client.h). What docs/design.md "Behaviour that users
 * rely on" promises for sync: foreground and background streams,
 * cancellation by the client, its deadline, CancelSync and shutdown,
 * incremental re-syncs, crash safety, memory RPCs while a sync runs,
 * allowed roots and the data directory, listing and deleting repositories.
 *
 * DESIGN: every tree is generated under one temp dir (workroot), which is
 * every server's --allow-root. Two shared servers: "fast" (itest's, default
 * sync settings) and "slow" (--batch-pause-ms 50, so a sync with a small
 * batch_size runs long enough to be observed and cancelled mid-way without
 * racing it). Tests that need their own process (kill -9, SIGTERM,
 * --max-syncs 1, a data dir inside the synced tree) start one with
 * server_harness and stop it with SIGTERM, requiring exit 0 (under ASan a
 * leak or error at exit is a failure). A test that starts a sync ends it
 * (completed or cancelled) before it returns, so tests stay independent.
 * Timings and latencies are printed, never asserted: the only time bounds
 * are generous safety timeouts that turn a hang into a failure.
 *
 * The trees and the comparison of two indexes are synctree.h's.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <grpc/status.h>

#include "mnemo/client.h"

#include "itest.h"
#include "synctree.h"

#define IDENT_LINE    SYNCTREE_IDENT_LINE
#define BIG_FILES     2000
#define SLOW_PAUSE_MS "50"
#define WAIT_MS       30000 /* safety bound on waiting for a sync to end */

#define ST_PENDING     MNEMO__V1__SYNC_STATE__SYNC_STATE_PENDING
#define ST_RUNNING     MNEMO__V1__SYNC_STATE__SYNC_STATE_RUNNING
#define ST_COMPLETED   MNEMO__V1__SYNC_STATE__SYNC_STATE_COMPLETED
#define ST_CANCELLED   MNEMO__V1__SYNC_STATE__SYNC_STATE_CANCELLED
#define ST_INTERRUPTED MNEMO__V1__SYNC_STATE__SYNC_STATE_INTERRUPTED

static char *workroot; /* canonical; every tree lives below it */
static mnemo_client_t *fast;
static mnemo_harness_t *slow_srv;
static mnemo_client_t *slow;

/* ---- files and trees ------------------------------------------------------ */

static char *pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *pathf(const char *fmt, ...)
{
    char buf[PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *s = strdup(buf);
    if (s == NULL)
        abort();
    return s;
}

static void mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(buf, 0755);
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        CHECK(false, "mkdir %s: %s", buf, strerror(errno));
}

static void write_text(const char *path, const char *text)
{
    CHECK(mnemo_test_write_file(path, text, strlen(text)) == 0, "write %s", path);
}

/* workroot/name with n sources f0000.c ... (sorted order = index order). */
static char *make_flat_tree(const char *name, const char *tag, int n)
{
    char *root = pathf("%s/%s", workroot, name);
    synctree_write_flat(root, tag, n);
    return root;
}

/* The skips the big tree must report: path and a word of the reason. */
static const char *const big_skips[][2] = {
    {".git", "git"},          {"build", "ignored"},
    {"debug.log", "ignored"}, {"assets/blob.bin", "binary"},
    {"link_out", "symlink"},  {"link_dir", "symlink"},
    {"pipe.fifo", "regular"},
};
#define N_BIG_SKIPS (sizeof big_skips / sizeof big_skips[0])

/* root/rel, made with its parents. */
static void mkdir_under(const char *root, const char *rel)
{
    char *p = pathf("%s/%s", root, rel);
    mkdir_p(p);
    free(p);
}

/* root/rel holding text. */
static void write_under(const char *root, const char *rel, const char *text)
{
    char *p = pathf("%s/%s", root, rel);
    write_text(p, text);
    free(p);
}

/* BIG_FILES sources in src/dNN/, plus everything a sync must pass over:
 * a .gitignored dir and file, .git, a binary file, symlinks out of the
 * root (to a file and a dir holding searchable words), a FIFO. Each of
 * them holds a word ("<word>q") that must never be found. */
static char *make_big_tree(void)
{
    char *root = pathf("%s/big", workroot);
    for (int d = 0; d < BIG_FILES / 100; d++) {
        char *dir = pathf("%s/src/d%02d", root, d);
        mkdir_p(dir);
        for (int i = d * 100; i < (d + 1) * 100; i++) {
            char *p = pathf("%s/f%04d.c", dir, i);
            synctree_write_source(p, "big", i);
            free(p);
        }
        free(dir);
    }
    write_under(root, ".gitignore", "build/\n*.log\n");
    mkdir_under(root, "build/sub");
    write_under(root, "build/sub/gen.c", "int bigignoredbuildq;\n");
    write_under(root, "debug.log", "bigignoredlogq\n");
    mkdir_under(root, ".git/objects/aa");
    write_under(root, ".git/config", "[core]\n\tbiggitmetaq = true\n");
    write_under(root, ".git/HEAD", "ref: refs/heads/main\n");
    mkdir_under(root, "assets");
    static const char blob[] = "bigbinaryblobq\n\0\0\1\2\3 sharedword\n";
    char *p = pathf("%s/assets/blob.bin", root);
    CHECK(mnemo_test_write_file(p, blob, sizeof blob) == 0, "write blob");
    free(p);
    char *outside = pathf("%s/big-outside", workroot);
    mkdir_p(outside);
    p = pathf("%s/secret.c", outside);
    write_text(p, "int bigoutsidesecretq;\n");
    char *link = pathf("%s/link_out", root);
    CHECK(symlink(p, link) == 0, "symlink %s", link);
    free(link);
    free(p);
    link = pathf("%s/link_dir", root);
    CHECK(symlink(outside, link) == 0, "symlink %s", link);
    free(link);
    free(outside);
    p = pathf("%s/pipe.fifo", root);
    CHECK(mkfifo(p, 0644) == 0, "mkfifo %s", p);
    free(p);
    return root;
}

/* The big tree, built by the first caller; the caller's path (free()). */
static char *big_tree(void)
{
    static bool built;
    if (!built) {
        built = true;
        return make_big_tree();
    }
    return pathf("%s/big", workroot);
}

/* ---- clients and servers ------------------------------------------------ */

static mnemo_client_t *open_client(const char *addr, int64_t deadline_ms)
{
    mnemo_client_options_t opts;
    mnemo_client_options_init(&opts);
    if (deadline_ms > 0)
        opts.deadline_ms = deadline_ms;
    mnemo_client_t *c = NULL;
    mnemo_call_error_t err;
    int st = mnemo_client_open(&c, addr, &opts, &err);
    CHECK(st == 0, "mnemo_client_open(%s): %s", addr, err.message);
    return st == 0 ? c : NULL;
}

/* Starts mnemod with --allow-root workroot plus extra (NULL-terminated, may
 * be NULL) on data_dir (NULL: fresh). NULL when it does not serve. */
static mnemo_harness_t *start_server(const char *const *extra, const char *data_dir)
{
    const char *args[16] = {"--allow-root", workroot};
    size_t n = 2;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 15; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    mnemo_harness_options_t opts = {.extra_args = args, .data_dir = data_dir};
    mnemo_harness_t *h = NULL;
    mnemo_harness_result_t r = mnemo_harness_start(&h, &opts);
    if (!CHECK(r == MNEMO_HARNESS_SERVING, "mnemod started (result %d)", (int)r)) {
        if (h != NULL) {
            mnemo_harness_dump_log(h);
            mnemo_harness_destroy(h);
        }
        return NULL;
    }
    return h;
}

/* SIGTERM; the server must exit 0 (a clean drain; under ASan, no leak). */
static void stop_clean(mnemo_harness_t *h, const char *what)
{
    if (h == NULL)
        return;
    int st = mnemo_harness_stop(h, 0);
    bool ok = st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (!CHECK(ok, "%s: mnemod exits 0 on SIGTERM (wait status %d)", what, st))
        mnemo_harness_dump_log(h);
    mnemo_harness_destroy(h);
}

static const char *state_name(int state)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&mnemo__v1__sync_state__descriptor, state);
    return v != NULL ? v->name : "?";
}

/* ---- sync streams ------------------------------------------------------- */

typedef struct skip_rec {
    char *path;
    char *reason;
} skip_rec_t;

/* What a reader saw on one SyncEvent stream. */
typedef struct run {
    long long started_ms;
    long long ms; /* open to end */
    int code;     /* final status; -1 while the stream runs */
    char message[512];
    int n_events;
    Mnemo__V1__SyncEvent *first; /* owned */
    Mnemo__V1__SyncEvent *last;  /* owned (may be first) */
    int distinct_batches;        /* distinct batches_committed values seen */
    bool monotonic;              /* batches and percentage never went back */
    char why[256];               /* the first violation */
    skip_rec_t *skips;
    size_t n_skips;
} run_t;

static void run_init(run_t *r)
{
    memset(r, 0, sizeof *r);
    r->code = -1;
    r->monotonic = true;
    r->started_ms = mnemo_harness_now_ms();
}

static void run_cleanup(run_t *r)
{
    if (r->last != r->first)
        mnemo_client_free_message(r->last);
    mnemo_client_free_message(r->first);
    for (size_t i = 0; i < r->n_skips; i++) {
        free(r->skips[i].path);
        free(r->skips[i].reason);
    }
    free(r->skips);
    memset(r, 0, sizeof *r);
}

static const Mnemo__V1__SyncProgress *progress_of(const Mnemo__V1__SyncEvent *ev)
{
    static const Mnemo__V1__SyncProgress none = MNEMO__V1__SYNC_PROGRESS__INIT;
    if (ev == NULL || ev->status == NULL || ev->status->progress == NULL)
        return &none;
    return ev->status->progress;
}

static int state_of(const Mnemo__V1__SyncEvent *ev)
{
    return ev != NULL && ev->status != NULL ? (int)ev->status->state : -1;
}

/* Records ev (taking it). */
static void run_take(run_t *r, Mnemo__V1__SyncEvent *ev)
{
    const Mnemo__V1__SyncProgress *p = progress_of(ev);
    if (r->last == NULL) {
        r->distinct_batches = 1;
    } else {
        const Mnemo__V1__SyncProgress *q = progress_of(r->last);
        if (r->monotonic &&
            (p->batches_committed < q->batches_committed || p->percentage < q->percentage)) {
            r->monotonic = false;
            snprintf(r->why, sizeof r->why,
                     "event %d: batches %lld -> %lld, percentage %.3f -> %.3f", r->n_events,
                     (long long)q->batches_committed, (long long)p->batches_committed,
                     q->percentage, p->percentage);
        }
        if (p->batches_committed != q->batches_committed)
            r->distinct_batches++;
    }
    for (size_t i = 0; i < ev->n_skipped; i++) {
        r->skips = realloc(r->skips, (r->n_skips + 1) * sizeof *r->skips);
        if (r->skips == NULL)
            abort();
        r->skips[r->n_skips].path = strdup(ev->skipped[i]->path);
        r->skips[r->n_skips++].reason = strdup(ev->skipped[i]->reason);
    }
    r->n_events++;
    if (r->first == NULL)
        r->first = ev;
    else if (r->last != r->first)
        mnemo_client_free_message(r->last);
    r->last = ev;
}

/* Reads one event into r; false when the stream ended (r->code set). */
static bool run_next(run_t *r, mnemo_stream_t *s)
{
    Mnemo__V1__SyncEvent *ev = NULL;
    mnemo_call_error_t err;
    int got = mnemo_stream_next_sync_event(&ev, s, &err);
    if (got == 1) {
        run_take(r, ev);
        return true;
    }
    if (got < 0) { /* the call is cancelled; the next read ends the stream */
        CHECK(false, "an event that does not parse: %s", err.message);
        return true;
    }
    r->code = err.code;
    snprintf(r->message, sizeof r->message, "%s", err.message);
    r->ms = mnemo_harness_now_ms() - r->started_ms;
    return false;
}

static void run_drain(run_t *r, mnemo_stream_t *s)
{
    while (run_next(r, s))
        ;
}

static int64_t run_batches(const run_t *r)
{
    return progress_of(r->last)->batches_committed;
}

static Mnemo__V1__SyncRepositoryRequest sync_req(const char *path, const char *name, int batch)
{
    Mnemo__V1__SyncRepositoryRequest req = MNEMO__V1__SYNC_REPOSITORY_REQUEST__INIT;
    req.repository_path = (char *)path;
    req.repository_name = (char *)name;
    req.batch_size = batch;
    return req;
}

static mnemo_stream_t *open_sync(mnemo_client_t *c, const Mnemo__V1__SyncRepositoryRequest *req)
{
    mnemo_stream_t *s = NULL;
    mnemo_call_error_t err;
    int st = mnemo_client_sync_repository(&s, c, req, &err);
    CHECK(st == 0, "SyncRepository %s: open: %s", req->repository_name, err.message);
    return st == 0 ? s : NULL;
}

/* Runs a whole SyncRepository stream into r; returns its final code. */
static int sync_run(run_t *r, mnemo_client_t *c, const Mnemo__V1__SyncRepositoryRequest *req)
{
    run_init(r);
    mnemo_stream_t *s = open_sync(c, req);
    if (s == NULL)
        return r->code;
    run_drain(r, s);
    mnemo_stream_close(s);
    return r->code;
}

/* A foreground sync that must complete: checks the stream's shape. */
static bool sync_ok(run_t *r, mnemo_client_t *c, const char *path, const char *name, int batch,
                    bool full, bool dry_run)
{
    Mnemo__V1__SyncRepositoryRequest req = sync_req(path, name, batch);
    req.full = full;
    req.dry_run = dry_run;
    sync_run(r, c, &req);
    bool ok = EXPECT_STATUS("SyncRepository", r->code, r->message, GRPC_STATUS_OK, NULL);
    ok = CHECK(state_of(r->last) == ST_COMPLETED, "%s: last event COMPLETED (got %s)", name,
               state_name(state_of(r->last))) &&
         ok;
    ok = CHECK(r->monotonic, "%s: progress never goes back: %s", name, r->why) && ok;
    return ok;
}

static const char *run_skip_reason(const run_t *r, const char *path)
{
    for (size_t i = 0; i < r->n_skips; i++)
        if (strcmp(r->skips[i].path, path) == 0)
            return r->skips[i].reason;
    return NULL;
}

/* ---- unary helpers -------------------------------------------------------- */

static Mnemo__V1__SyncStatus *get_status(mnemo_client_t *c, const char *name, int *code,
                                         mnemo_call_error_t *err)
{
    Mnemo__V1__GetSyncStatusRequest req = MNEMO__V1__GET_SYNC_STATUS_REQUEST__INIT;
    req.repository_name = (char *)name;
    Mnemo__V1__SyncStatus *out = NULL;
    *code = mnemo_client_get_sync_status(&out, c, &req, err);
    return out;
}

static Mnemo__V1__SyncStatus *cancel_sync(mnemo_client_t *c, const char *name)
{
    Mnemo__V1__CancelSyncRequest req = MNEMO__V1__CANCEL_SYNC_REQUEST__INIT;
    req.repository_name = (char *)name;
    Mnemo__V1__SyncStatus *out = NULL;
    mnemo_call_error_t err;
    int st = mnemo_client_cancel_sync(&out, c, &req, &err);
    EXPECT_STATUS("CancelSync", st, err.message, GRPC_STATUS_OK, NULL);
    return out;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Polls GetSyncStatus until name is neither PENDING nor RUNNING (at most
 * WAIT_MS); the last status, the caller's, or NULL. */
static Mnemo__V1__SyncStatus *wait_finished(mnemo_client_t *c, const char *name)
{
    long long until = mnemo_harness_now_ms() + WAIT_MS;
    for (;;) {
        int code = 0;
        mnemo_call_error_t err;
        Mnemo__V1__SyncStatus *s = get_status(c, name, &code, &err);
        if (!EXPECT_STATUS("GetSyncStatus", code, err.message, GRPC_STATUS_OK, NULL))
            return NULL;
        bool live = s->state == ST_PENDING || s->state == ST_RUNNING;
        if (!live || mnemo_harness_now_ms() > until) {
            CHECK(!live, "%s: sync ended within %d ms (still %s)", name, WAIT_MS,
                  state_name(s->state));
            return s;
        }
        mnemo_client_free_message(s);
        sleep_ms(10);
    }
}

/* Waits until the server is done with the sync of name: a WatchSync
 * stream ends only once the job has left the registry (its final event is
 * published after that), whereas GetSyncStatus reports the final state
 * while the job still commits it (see test_sync__final_status_means_done). */
static void wait_job_gone(mnemo_client_t *c, const char *name)
{
    Mnemo__V1__WatchSyncRequest req = MNEMO__V1__WATCH_SYNC_REQUEST__INIT;
    req.repository_name = (char *)name;
    mnemo_stream_t *w = NULL;
    mnemo_call_error_t err;
    if (!CHECK(mnemo_client_watch_sync(&w, c, &req, &err) == 0, "WatchSync: %s", err.message))
        return;
    run_t r;
    run_init(&r);
    run_drain(&r, w);
    mnemo_stream_close(w);
    CHECK(r.code == GRPC_STATUS_OK && r.n_events >= 1 && state_of(r.last) != ST_PENDING &&
              state_of(r.last) != ST_RUNNING,
          "%s: WatchSync ends with a final state (%s, %d events, last %s)", name,
          mnemo_client_code_name(r.code), r.n_events, state_name(state_of(r.last)));
    run_cleanup(&r);
}

/* Cancels a background sync and waits for it to end. */
static void cancel_and_wait(mnemo_client_t *c, const char *name)
{
    mnemo_client_free_message(cancel_sync(c, name));
    mnemo_client_free_message(wait_finished(c, name));
    wait_job_gone(c, name);
}

/* Number of hits of query in repo (-1 on error). */
static long n_hits(mnemo_client_t *c, const char *query, const char *repo)
{
    Mnemo__V1__SearchCodeResponse *r = synctree_search(c, query, repo, NULL, 100);
    long n = r != NULL ? (long)r->n_hits : -1;
    mnemo_client_free_message(r);
    return n;
}

/* Checks that the identifier of file i of tag is found exactly once, at
 * path, on the right lines. */
static bool expect_ident_at(mnemo_client_t *c, const char *repo, const char *tag, int i,
                            const char *path)
{
    char id[64];
    synctree_ident(id, tag, i);
    Mnemo__V1__SearchCodeResponse *r = synctree_search(c, id, repo, NULL, 10);
    bool ok = r != NULL && CHECK(r->n_hits == 1, "%s: one hit (got %zu)", id, r->n_hits);
    if (ok) {
        const Mnemo__V1__CodeHit *h = r->hits[0];
        ok = CHECK(strcmp(h->path, path) == 0, "%s: path %s (got %s)", id, path, h->path) &&
             CHECK(strcmp(h->repository_name, repo) == 0, "%s: repository %s (got %s)", id, repo,
                   h->repository_name) &&
             CHECK(h->start_line <= IDENT_LINE && IDENT_LINE <= h->end_line && h->start_line >= 1,
                   "%s: lines %d-%d hold line %d", id, h->start_line, h->end_line, IDENT_LINE) &&
             CHECK(strstr(h->content, id) != NULL, "%s: content holds it", id) &&
             CHECK(h->score > 0, "%s: score %f > 0", id, h->score);
    }
    mnemo_client_free_message(r);
    return ok;
}

typedef struct repo_info {
    bool found;
    int64_t file_count;
    int64_t chunk_count;
    int64_t last_synced_at_ms;
    int last_state;
    char path[PATH_MAX];
} repo_info_t;

/* Pages through ListRepositories (page_size) for name. */
static repo_info_t find_repo(mnemo_client_t *c, const char *name, int page_size)
{
    repo_info_t info = {0};
    char token[1100] = "";
    for (int pages = 0; pages < 1000; pages++) {
        Mnemo__V1__ListRepositoriesRequest req = MNEMO__V1__LIST_REPOSITORIES_REQUEST__INIT;
        req.page_size = page_size;
        req.page_token = token;
        Mnemo__V1__ListRepositoriesResponse *resp = NULL;
        mnemo_call_error_t err;
        int st = mnemo_client_list_repositories(&resp, c, &req, &err);
        if (!EXPECT_STATUS("ListRepositories", st, err.message, GRPC_STATUS_OK, NULL))
            return info;
        for (size_t i = 0; i < resp->n_repositories; i++) {
            const Mnemo__V1__Repository *r = resp->repositories[i];
            if (strcmp(r->name, name) == 0) {
                info.found = true;
                info.file_count = r->file_count;
                info.chunk_count = r->chunk_count;
                info.last_synced_at_ms = r->last_synced_at_ms;
                info.last_state = r->last_state;
                snprintf(info.path, sizeof info.path, "%s", r->path);
            }
        }
        snprintf(token, sizeof token, "%s", resp->next_page_token);
        mnemo_client_free_message(resp);
        if (token[0] == '\0')
            break;
    }
    return info;
}

static bool delete_repo(mnemo_client_t *c, const char *name, int want, bool want_deleted)
{
    Mnemo__V1__DeleteRepositoryRequest req = MNEMO__V1__DELETE_REPOSITORY_REQUEST__INIT;
    req.repository_name = (char *)name;
    Mnemo__V1__DeleteRepositoryResponse *resp = NULL;
    mnemo_call_error_t err;
    int st = mnemo_client_delete_repository(&resp, c, &req, &err);
    bool ok = EXPECT_STATUS("DeleteRepository", st, err.message, want,
                            want == GRPC_STATUS_OK ? NULL : "repository_name");
    if (ok && want == GRPC_STATUS_OK)
        ok = CHECK(resp->deleted == want_deleted, "%s: deleted=%d", name, want_deleted);
    mnemo_client_free_message(resp);
    return ok;
}

static bool store_memory(mnemo_client_t *c, const char *content)
{
    Mnemo__V1__StoreMemoryRequest req = MNEMO__V1__STORE_MEMORY_REQUEST__INIT;
    req.content = (char *)content;
    Mnemo__V1__StoreMemoryResponse *resp = NULL;
    mnemo_call_error_t err;
    int st = mnemo_client_store_memory(&resp, c, &req, &err);
    bool ok = EXPECT_STATUS("StoreMemory", st, err.message, GRPC_STATUS_OK, NULL);
    if (ok) {
        Mnemo__V1__GetMemoryRequest g = MNEMO__V1__GET_MEMORY_REQUEST__INIT;
        g.id = resp->memory->id;
        Mnemo__V1__Memory *m = NULL;
        st = mnemo_client_get_memory(&m, c, &g, &err);
        ok = EXPECT_STATUS("GetMemory", st, err.message, GRPC_STATUS_OK, NULL) &&
             CHECK(strcmp(m->content, content) == 0, "GetMemory returns the content");
        mnemo_client_free_message(m);
    }
    mnemo_client_free_message(resp);
    return ok;
}

/* ---- 1. foreground sync of a large tree ----------------------------------- */

static void check_big_progress(const Mnemo__V1__SyncProgress *p)
{
    const int64_t regular = BIG_FILES + 2; /* + .gitignore, assets/blob.bin */
    CHECK(p->total_files == regular, "total_files %lld (want %lld)", (long long)p->total_files,
          (long long)regular);
    CHECK(p->processed_files == BIG_FILES + 1, "processed_files %lld (want %d)",
          (long long)p->processed_files, BIG_FILES + 1);
    CHECK(p->skipped_files == (int64_t)N_BIG_SKIPS, "skipped_files %lld (want %zu)",
          (long long)p->skipped_files, N_BIG_SKIPS);
    CHECK(p->failed_files == 0 && p->deleted_files == 0 && p->unchanged_files == 0,
          "failed %lld deleted %lld unchanged %lld (want 0)", (long long)p->failed_files,
          (long long)p->deleted_files, (long long)p->unchanged_files);
    CHECK(p->chunks_written == BIG_FILES + 1, "chunks_written %lld (want one per file, %d)",
          (long long)p->chunks_written, BIG_FILES + 1);
    CHECK(p->bytes_processed > BIG_FILES * 50, "bytes_processed %lld",
          (long long)p->bytes_processed);
    CHECK(p->batches_committed == (regular + 49) / 50, "batches_committed %lld (want %lld)",
          (long long)p->batches_committed, (long long)((regular + 49) / 50));
    CHECK(p->percentage == 100.0, "percentage %.3f (want 100)", p->percentage);
}

static void check_big_skips(const run_t *r)
{
    for (size_t i = 0; i < N_BIG_SKIPS; i++) {
        const char *reason = run_skip_reason(r, big_skips[i][0]);
        CHECK(reason != NULL && strstr(reason, big_skips[i][1]) != NULL,
              "skipped[] reports %s with a reason mentioning \"%s\" (got %s)", big_skips[i][0],
              big_skips[i][1], reason != NULL ? reason : "no entry");
    }
    for (size_t i = 0; i < r->n_skips; i++)
        CHECK(strncmp(r->skips[i].path, "src/", 4) != 0 && r->skips[i].reason[0] != '\0',
              "unexpected skip %s (%s)", r->skips[i].path, r->skips[i].reason);
    CHECK(r->n_skips == N_BIG_SKIPS, "%zu skipped[] entries (want %zu, each reported once)",
          r->n_skips, N_BIG_SKIPS);
}

static void check_big_search(void)
{
    for (int i = 0; i < BIG_FILES; i += 97) {
        char path[64];
        snprintf(path, sizeof path, "src/d%02d/f%04d.c", i / 100, i);
        expect_ident_at(fast, "big", "big", i, path);
    }
    expect_ident_at(fast, "big", "big", BIG_FILES - 1, "src/d19/f1999.c");
    static const char *const never[] = {"bigignoredbuildq", "bigignoredlogq", "biggitmetaq",
                                        "bigbinaryblobq", "bigoutsidesecretq"};
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        CHECK(n_hits(fast, never[i], NULL) == 0, "%s (a skipped file) is not indexed", never[i]);
    Mnemo__V1__SearchCodeResponse *r = synctree_search(fast, "sharedword", "big", "src/d05/", 1000);
    if (r != NULL) {
        CHECK(r->n_hits == 100, "path_prefix src/d05/: 100 hits (got %zu)", r->n_hits);
        for (size_t i = 0; i < r->n_hits; i++)
            CHECK(strncmp(r->hits[i]->path, "src/d05/", 8) == 0, "hit %s under the prefix",
                  r->hits[i]->path);
    }
    mnemo_client_free_message(r);
}

static void test_sync__foreground_large_tree(void)
{
    long long t0 = mnemo_harness_now_ms();
    char *root = big_tree();
    long long t_gen = mnemo_harness_now_ms() - t0;
    run_t r;
    if (sync_ok(&r, fast, root, "big", 50, false, false)) {
        const Mnemo__V1__SyncProgress *p = progress_of(r.last);
        printf("\n[timing] foreground sync of %d files (+%zu to skip), batch 50: %lld ms; "
               "%d events for %lld batches (%d distinct batch counts seen); tree built in "
               "%lld ms\n",
               BIG_FILES, N_BIG_SKIPS, r.ms, r.n_events, (long long)p->batches_committed,
               r.distinct_batches, t_gen);
        CHECK(state_of(r.first) == ST_PENDING || state_of(r.first) == ST_RUNNING,
              "first event PENDING or RUNNING (got %s)", state_name(state_of(r.first)));
        CHECK(progress_of(r.first)->batches_committed == 0, "first event before any batch");
        CHECK(r.n_events >= 3 && r.distinct_batches >= 3,
              "events follow the batches: %d events, %d distinct batch counts", r.n_events,
              r.distinct_batches);
        CHECK(strcmp(r.last->status->repository_name, "big") == 0, "status names the repo");
        CHECK(strcmp(r.last->status->repository_path, root) == 0, "repository_path %s (got %s)",
              root, r.last->status->repository_path);
        CHECK(!r.last->status->background, "background=false");
        CHECK(r.last->status->finished_at_ms >= r.last->status->started_at_ms &&
                  r.last->status->started_at_ms > 1600000000000LL,
              "started/finished times");
        check_big_progress(p);
        check_big_skips(&r);
        check_big_search();
        repo_info_t info = find_repo(fast, "big", 0);
        CHECK(info.found && info.file_count == BIG_FILES + 1 && info.chunk_count == BIG_FILES + 1 &&
                  info.last_state == ST_COMPLETED && strcmp(info.path, root) == 0,
              "ListRepositories: big with %d files and chunks, COMPLETED (got found=%d files "
              "%lld chunks %lld state %s)",
              BIG_FILES + 1, info.found, (long long)info.file_count, (long long)info.chunk_count,
              state_name(info.last_state));
    }
    run_cleanup(&r);
    free(root);
}

/* A reader that does not read: the sync runs to its end regardless, and the
 * reader then gets a stream ending in the final state. */
static void test_sync__unread_stream_never_slows_the_sync(void)
{
    const int n = 600;
    char *root = make_flat_tree("unread", "unr", n);
    Mnemo__V1__SyncRepositoryRequest req = sync_req(root, "unread", 5);
    run_t r;
    run_init(&r);
    mnemo_stream_t *s = open_sync(fast, &req);
    /* The first event says the sync started; then the reader stops reading. */
    bool started = s != NULL && run_next(&r, s);
    CHECK(started, "a first event (stream ended %s \"%s\")", mnemo_client_code_name(r.code),
          r.message);
    Mnemo__V1__SyncStatus *st = started ? wait_finished(fast, "unread") : NULL;
    long long t_done = mnemo_harness_now_ms() - r.started_ms;
    CHECK(st != NULL && st->state == ST_COMPLETED,
          "the sync completes while its stream is not read (got %s)",
          st != NULL ? state_name(st->state) : "-");
    if (s != NULL) {
        run_drain(&r, s);
        mnemo_stream_close(s);
    }
    printf("\n[timing] unread stream: sync of %d files (%lld batches) done in %lld ms; the "
           "reader then got %d events\n",
           n, st != NULL ? (long long)st->progress->batches_committed : -1LL, t_done, r.n_events);
    EXPECT_STATUS("the unread stream", r.code, r.message, GRPC_STATUS_OK, NULL);
    CHECK(state_of(r.last) == ST_COMPLETED && r.monotonic,
          "the unread stream ends with COMPLETED (got %s), progress monotonic",
          state_name(state_of(r.last)));
    mnemo_client_free_message(st);
    run_cleanup(&r);
    free(root);
}

/* ---- 2. cancelling the stream ------------------------------------------- */

/* Files [0, done) of tag are found in repo, [done, n) are not. */
static void expect_prefix_indexed(mnemo_client_t *c, const char *repo, const char *tag, int n,
                                  int done)
{
    int wrong = 0;
    for (int i = 0; i < n; i++) {
        char id[64];
        synctree_ident(id, tag, i);
        long got = n_hits(c, id, repo);
        if (got != (i < done ? 1 : 0) && wrong++ < 5)
            CHECK(false, "%s: file %d of %d (%d committed): %ld hits", repo, i, n, done, got);
    }
    CHECK(wrong == 0, "%s: exactly the %d committed files are searchable (%d wrong)", repo, done,
          wrong);
}

static void test_sync__cancel_stream_stops_at_batch_boundary(void)
{
    const int n = 400;
    char *root = make_flat_tree("cancel", "cnl", n);
    Mnemo__V1__SyncRepositoryRequest req = sync_req(root, "cancel", 5);
    run_t r;
    run_init(&r);
    mnemo_stream_t *s = open_sync(slow, &req);
    while (s != NULL && run_next(&r, s) && run_batches(&r) < 3)
        ;
    int64_t seen = run_batches(&r);
    long long t_cancel = mnemo_harness_now_ms();
    mnemo_stream_cancel(s);
    run_drain(&r, s);
    mnemo_stream_close(s);
    CHECK(seen >= 3, "saw 3 batches before the stream ended (saw %lld, end %d %s)", (long long)seen,
          r.code, r.message);
    EXPECT_STATUS("cancelled SyncRepository stream", r.code, r.message, GRPC_STATUS_CANCELLED,
                  NULL);
    Mnemo__V1__SyncStatus *st = wait_finished(slow, "cancel");
    if (st != NULL) {
        const Mnemo__V1__SyncProgress *p = st->progress;
        printf("\n[timing] cancel: seen %lld batches, server stopped at %lld, %lld ms after "
               "the cancel\n",
               (long long)seen, (long long)p->batches_committed, mnemo_harness_now_ms() - t_cancel);
        CHECK(st->state == ST_CANCELLED, "state CANCELLED (got %s)", state_name(st->state));
        CHECK(p->batches_committed >= seen && p->batches_committed <= seen + 2,
              "stopped within a batch: %lld committed, %lld seen", (long long)p->batches_committed,
              (long long)seen);
        CHECK(p->processed_files == 5 * p->batches_committed, "processed %lld = 5 x %lld batches",
              (long long)p->processed_files, (long long)p->batches_committed);
        CHECK(st->finished_at_ms > 0 && st->error[0] == '\0', "finished, no error (\"%s\")",
              st->error);
        expect_prefix_indexed(slow, "cancel", "cnl", n, (int)p->processed_files);
    }
    mnemo_client_free_message(st);
    run_cleanup(&r);
    free(root);
}

/* ---- 3. deadline --------------------------------------------------------- */

static void test_sync__deadline_cancels_foreground_sync(void)
{
    const int n = 400;
    char *root = make_flat_tree("deadline", "ddl", n);
    mnemo_client_t *c = open_client(mnemo_harness_address(slow_srv), 300);
    Mnemo__V1__SyncRepositoryRequest req = sync_req(root, "deadline", 5);
    run_t r;
    sync_run(&r, c, &req);
    printf("\n[timing] deadline 300 ms: stream ended after %lld ms with %s, %d events, %lld "
           "batches seen\n",
           r.ms, mnemo_client_code_name(r.code), r.n_events, (long long)run_batches(&r));
    EXPECT_STATUS("SyncRepository past its deadline", r.code, r.message,
                  GRPC_STATUS_DEADLINE_EXCEEDED, NULL);
    Mnemo__V1__SyncStatus *st = wait_finished(slow, "deadline");
    if (st != NULL) {
        CHECK(st->state == ST_CANCELLED, "server state CANCELLED (got %s)", state_name(st->state));
        CHECK(st->progress->batches_committed < n / 5 &&
                  st->progress->processed_files == 5 * st->progress->batches_committed,
              "stopped early at a batch boundary: %lld files in %lld batches",
              (long long)st->progress->processed_files, (long long)st->progress->batches_committed);
    }
    mnemo_client_free_message(st);
    run_cleanup(&r);
    mnemo_client_close(c);
    free(root);
}

/* ---- 4. background syncs --------------------------------------------------- */

/* Starts a background sync of root as name; true when its stream had
 * exactly one event and ended OK. */
static bool start_background(mnemo_client_t *c, const char *root, const char *name, int batch)
{
    Mnemo__V1__SyncRepositoryRequest req = sync_req(root, name, batch);
    req.background = true;
    run_t r;
    sync_run(&r, c, &req);
    bool ok = EXPECT_STATUS("background SyncRepository", r.code, r.message, GRPC_STATUS_OK, NULL);
    ok = CHECK(r.n_events == 1, "%s: background stream has exactly one event (got %d)", name,
               r.n_events) &&
         ok;
    if (r.first != NULL)
        ok = CHECK(r.first->status->background, "%s: first event says background", name) && ok;
    run_cleanup(&r);
    return ok;
}

static bool same_final(const Mnemo__V1__SyncStatus *a, const Mnemo__V1__SyncStatus *b)
{
    return a != NULL && b != NULL && a->state == b->state &&
           a->finished_at_ms == b->finished_at_ms && a->started_at_ms == b->started_at_ms &&
           a->progress->batches_committed == b->progress->batches_committed &&
           a->progress->processed_files == b->progress->processed_files;
}

static void expect_aborted_second_sync(const char *root, const char *name)
{
    Mnemo__V1__SyncRepositoryRequest req = sync_req(root, name, 5);
    run_t r;
    sync_run(&r, slow, &req);
    EXPECT_STATUS("second SyncRepository of a syncing name", r.code, r.message, GRPC_STATUS_ABORTED,
                  "WatchSync");
    CHECK(r.n_events == 0, "no event before ABORTED (got %d)", r.n_events);
    run_cleanup(&r);
}

/* Cancelling a WatchSync stream leaves the sync running. */
static void expect_watch_cancel_harmless(const char *name)
{
    Mnemo__V1__WatchSyncRequest wreq = MNEMO__V1__WATCH_SYNC_REQUEST__INIT;
    wreq.repository_name = (char *)name;
    mnemo_stream_t *w = NULL;
    mnemo_call_error_t err;
    if (mnemo_client_watch_sync(&w, slow, &wreq, &err) != 0)
        return;
    run_t r;
    run_init(&r);
    run_next(&r, w);
    mnemo_stream_cancel(w);
    run_drain(&r, w);
    mnemo_stream_close(w);
    run_cleanup(&r);
    int64_t before = 0;
    int code;
    Mnemo__V1__SyncStatus *st = get_status(slow, name, &code, &err);
    if (st != NULL)
        before = st->progress->batches_committed;
    mnemo_client_free_message(st);
    /* Two more batches: a cancelled sync commits at most one. */
    long long until = mnemo_harness_now_ms() + WAIT_MS;
    for (st = NULL;; sleep_ms(10)) {
        mnemo_client_free_message(st);
        st = get_status(slow, name, &code, &err);
        if (st == NULL || st->state != ST_RUNNING || mnemo_harness_now_ms() > until ||
            st->progress->batches_committed >= before + 2)
            break;
    }
    CHECK(st != NULL && st->state == ST_RUNNING && st->progress->batches_committed >= before + 2,
          "a cancelled WatchSync leaves the sync running (%s, %lld -> %lld batches)",
          st != NULL ? state_name(st->state) : "-", (long long)before,
          st != NULL ? (long long)st->progress->batches_committed : -1LL);
    mnemo_client_free_message(st);
}

/* GetSyncStatus of a just started background sync: RUNNING (once its
 * thread runs), background. */
static void expect_running_background(const char *name)
{
    int code = 0;
    mnemo_call_error_t err;
    Mnemo__V1__SyncStatus *st = NULL;
    for (int i = 0; i < 500; i++) { /* PENDING until the job thread runs */
        mnemo_client_free_message(st);
        st = get_status(slow, name, &code, &err);
        if (code != 0 || st->state != ST_PENDING)
            break;
        sleep_ms(10);
    }
    if (EXPECT_STATUS("GetSyncStatus", code, err.message, GRPC_STATUS_OK, NULL))
        CHECK(st->state == ST_RUNNING && st->background, "%s: RUNNING, background (got %s)", name,
              state_name(st->state));
    mnemo_client_free_message(st);
}

/* After CancelSync: the WatchSync stream w (read so far into watch) ends
 * with CANCELLED; CancelSync after the end answers the same final state. */
static void expect_watch_ends_cancelled(run_t *watch, mnemo_stream_t *w, const char *name)
{
    if (w != NULL) {
        run_drain(watch, w);
        mnemo_stream_close(w);
    }
    EXPECT_STATUS("WatchSync to the end", watch->code, watch->message, GRPC_STATUS_OK, NULL);
    CHECK(state_of(watch->last) == ST_CANCELLED, "WatchSync's last event CANCELLED (got %s)",
          state_name(state_of(watch->last)));
    CHECK(watch->monotonic, "WatchSync progress never goes back: %s", watch->why);
    printf("\n[info] background: WatchSync saw %d events\n", watch->n_events);
    Mnemo__V1__SyncStatus *fin = wait_finished(slow, name);
    Mnemo__V1__SyncStatus *c2 = cancel_sync(slow, name);
    Mnemo__V1__SyncStatus *c3 = cancel_sync(slow, name);
    CHECK(fin != NULL && fin->state == ST_CANCELLED, "%s ends CANCELLED (got %s)", name,
          fin != NULL ? state_name(fin->state) : "-");
    CHECK(same_final(fin, c2) && same_final(c2, c3),
          "CancelSync after the end is idempotent: same final state");
    CHECK(watch->last == NULL || fin == NULL ||
              progress_of(watch->last)->batches_committed == fin->progress->batches_committed,
          "WatchSync's final event matches GetSyncStatus");
    mnemo_client_free_message(c2);
    mnemo_client_free_message(c3);
    mnemo_client_free_message(fin);
}

/* WatchSync of an ended sync: one event with its final state, then OK. */
static void expect_watch_of_ended(const char *name, int state)
{
    Mnemo__V1__WatchSyncRequest wreq = MNEMO__V1__WATCH_SYNC_REQUEST__INIT;
    wreq.repository_name = (char *)name;
    mnemo_stream_t *w = NULL;
    mnemo_call_error_t err;
    run_t done;
    run_init(&done);
    if (mnemo_client_watch_sync(&w, slow, &wreq, &err) == 0) {
        run_drain(&done, w);
        mnemo_stream_close(w);
        CHECK(done.code == GRPC_STATUS_OK && done.n_events == 1 && state_of(done.last) == state,
              "WatchSync of an ended sync: one %s event then OK (got %d events, %s)",
              state_name(state), done.n_events, mnemo_client_code_name(done.code));
    }
    run_cleanup(&done);
}

static void test_sync__background_watch_cancel(void)
{
    char *root = make_flat_tree("bg", "bgt", 400);
    /* Started from a client that then goes away: a disconnect never
     * cancels a background sync. */
    mnemo_client_t *gone = open_client(mnemo_harness_address(slow_srv), 0);
    bool started = gone != NULL && start_background(gone, root, "bg", 1);
    mnemo_client_close(gone);
    if (started) {
        expect_running_background("bg");
        Mnemo__V1__WatchSyncRequest wreq = MNEMO__V1__WATCH_SYNC_REQUEST__INIT;
        wreq.repository_name = "bg";
        mnemo_stream_t *w = NULL;
        mnemo_call_error_t err;
        run_t watch;
        run_init(&watch);
        if (mnemo_client_watch_sync(&w, slow, &wreq, &err) == 0) {
            run_next(&watch, w);
            int64_t b0 = run_batches(&watch);
            while (run_next(&watch, w) && run_batches(&watch) < b0 + 2)
                ;
            CHECK(run_batches(&watch) >= b0 + 2, "WatchSync follows the batches (%lld -> %lld)",
                  (long long)b0, (long long)run_batches(&watch));
        }
        expect_watch_cancel_harmless("bg");
        expect_aborted_second_sync(root, "bg");
        mnemo_client_free_message(cancel_sync(slow, "bg"));
        expect_watch_ends_cancelled(&watch, w, "bg");
        run_cleanup(&watch);
        expect_watch_of_ended("bg", ST_CANCELLED);
    }
    free(root);
}

static void test_sync__unknown_names_not_found(void)
{
    int code = 0;
    mnemo_call_error_t err;
    Mnemo__V1__SyncStatus *st = get_status(slow, "never-synced-repo", &code, &err);
    EXPECT_STATUS("GetSyncStatus of an unknown name", code, err.message, GRPC_STATUS_NOT_FOUND,
                  NULL);
    mnemo_client_free_message(st);
    Mnemo__V1__WatchSyncRequest wreq = MNEMO__V1__WATCH_SYNC_REQUEST__INIT;
    wreq.repository_name = "never-synced-repo";
    mnemo_stream_t *w = NULL;
    if (mnemo_client_watch_sync(&w, slow, &wreq, &err) == 0) {
        run_t r;
        run_init(&r);
        run_drain(&r, w);
        mnemo_stream_close(w);
        EXPECT_STATUS("WatchSync of an unknown name", r.code, r.message, GRPC_STATUS_NOT_FOUND,
                      NULL);
        run_cleanup(&r);
    }
    Mnemo__V1__GetSyncStatusRequest bad = MNEMO__V1__GET_SYNC_STATUS_REQUEST__INIT;
    st = NULL;
    code = mnemo_client_get_sync_status(&st, slow, &bad, &err);
    EXPECT_STATUS("GetSyncStatus without a name", code, err.message, GRPC_STATUS_INVALID_ARGUMENT,
                  "repository_name");
    mnemo_client_free_message(st);
}

/* Streams opened at once from many threads: each must reach its method.
 * libmnemo once gave gRPC the method path as a static slice of a stack
 * buffer; the headers of a stream are written after its open returns, so
 * under load streams sent garbage paths and ended UNIMPLEMENTED. */
#define CROWD 200

typedef struct crowd {
    pthread_barrier_t go;
    mnemo_client_t *clients[2];
    atomic_int not_found, other;
} crowd_t;

static void *crowd_watch(void *arg)
{
    crowd_t *cr = arg;
    static atomic_int next;
    mnemo_client_t *c = cr->clients[atomic_fetch_add(&next, 1) % 2];
    Mnemo__V1__WatchSyncRequest wreq = MNEMO__V1__WATCH_SYNC_REQUEST__INIT;
    wreq.repository_name = "never-synced-crowd";
    mnemo_stream_t *w = NULL;
    mnemo_call_error_t err;
    pthread_barrier_wait(&cr->go);
    int code = mnemo_client_watch_sync(&w, c, &wreq, &err);
    if (code == 0) {
        Mnemo__V1__SyncEvent *ev = NULL;
        while (mnemo_stream_next_sync_event(&ev, w, &err) == 1)
            mnemo_client_free_message(ev);
        code = mnemo_stream_status(w, &err);
    }
    mnemo_stream_close(w);
    atomic_fetch_add(code == GRPC_STATUS_NOT_FOUND ? &cr->not_found : &cr->other, 1);
    if (code != GRPC_STATUS_NOT_FOUND)
        fprintf(stderr, "crowd: %s: %s\n", mnemo_client_code_name(code), err.message);
    return NULL;
}

static void test_sync__many_streams_open_at_once(void)
{
    crowd_t cr = {0};
    pthread_t threads[CROWD];
    int started = 0;
    for (int i = 0; i < 2; i++)
        cr.clients[i] = open_client(mnemo_harness_address(slow_srv), 0);
    if (cr.clients[0] == NULL || cr.clients[1] == NULL)
        goto out;
    pthread_barrier_init(&cr.go, NULL, CROWD);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 << 10);
    for (; started < CROWD; started++)
        if (pthread_create(&threads[started], &attr, crowd_watch, &cr) != 0)
            break;
    pthread_attr_destroy(&attr);
    if (!CHECK(started == CROWD, "%d watcher threads start (%d did)", CROWD, started))
        abort(); /* the others wait on the barrier for good */
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&cr.go);
    CHECK(atomic_load(&cr.not_found) == CROWD,
          "%d WatchSync streams opened at once all reach WatchSync (NOT_FOUND: %d, other: %d)",
          CROWD, atomic_load(&cr.not_found), atomic_load(&cr.other));
out:
    mnemo_client_close(cr.clients[0]);
    mnemo_client_close(cr.clients[1]);
}

static void test_sync__max_syncs_resource_exhausted(void)
{
    const char *extra[] = {"--max-syncs", "1", "--batch-pause-ms", SLOW_PAUSE_MS, NULL};
    mnemo_harness_t *h = start_server(extra, NULL);
    if (h == NULL)
        return;
    mnemo_client_t *c = open_client(mnemo_harness_address(h), 0);
    char *one = make_flat_tree("maxone", "mxa", 200);
    char *two = make_flat_tree("maxtwo", "mxb", 20);
    if (c != NULL && start_background(c, one, "maxone", 1)) {
        Mnemo__V1__SyncRepositoryRequest req = sync_req(two, "maxtwo", 5);
        run_t r;
        sync_run(&r, c, &req);
        EXPECT_STATUS("a second repository over --max-syncs 1", r.code, r.message,
                      GRPC_STATUS_RESOURCE_EXHAUSTED, NULL);
        run_cleanup(&r);
        cancel_and_wait(c, "maxone");
        if (sync_ok(&r, c, two, "maxtwo", 100, false, false))
            CHECK(progress_of(r.last)->processed_files == 20, "maxtwo synced once a slot freed");
        run_cleanup(&r);
    }
    mnemo_client_close(c);
    stop_clean(h, "--max-syncs 1 server");
    free(one);
    free(two);
}

/* Starts a background sync; its stream's final code (no assertion). */
static int try_background(mnemo_client_t *c, const char *root, const char *name, int batch,
                          char *message, size_t cap)
{
    Mnemo__V1__SyncRepositoryRequest req = sync_req(root, name, batch);
    req.background = true;
    run_t r;
    sync_run(&r, c, &req);
    snprintf(message, cap, "%s", r.message);
    run_cleanup(&r);
    return r.code;
}

/* Polls GetSyncStatus without pausing until name reads a final state. */
static int poll_final_tight(mnemo_client_t *c, const char *name)
{
    long long until = mnemo_harness_now_ms() + WAIT_MS;
    int state = -1;
    while (mnemo_harness_now_ms() < until) {
        int code;
        mnemo_call_error_t err;
        Mnemo__V1__SyncStatus *st = get_status(c, name, &code, &err);
        state = st != NULL ? (int)st->state : -1;
        mnemo_client_free_message(st);
        if (code != GRPC_STATUS_OK || (state != ST_PENDING && state != ST_RUNNING))
            break;
    }
    return state;
}

/* A client that sees a final state in GetSyncStatus may act on it at once:
 * the repository is no longer syncing, so DeleteRepository and a new
 * SyncRepository of it are accepted (and a --max-syncs slot is free). The
 * server must not report the final state before the job has left its
 * registry. Each round polls until the final state and then, at once,
 * deletes the repository (even rounds) or starts the next sync of it (odd
 * rounds). */
static void test_sync__final_status_means_done(void)
{
    const int rounds = 60;
    char *root = make_flat_tree("final", "fnl", 20);
    int refused_delete = 0, refused_sync = 0, done = 0;
    char msg[512], first[600] = "";
    for (int i = 0; i < rounds; i++, done++) {
        int code = try_background(fast, root, "final", 1, msg, sizeof msg);
        if (code == GRPC_STATUS_ABORTED) {
            if (refused_sync++ == 0)
                snprintf(first, sizeof first, "SyncRepository: ABORTED \"%s\"", msg);
            wait_job_gone(fast, "final");
            code = try_background(fast, root, "final", 1, msg, sizeof msg);
        }
        if (!CHECK(code == GRPC_STATUS_OK, "round %d: background sync: %s \"%s\"", i,
                   mnemo_client_code_name(code), msg))
            break;
        int state = poll_final_tight(fast, "final");
        if (!CHECK(state == ST_COMPLETED, "round %d: COMPLETED (got %s)", i, state_name(state)))
            break;
        if (i % 2 != 0)
            continue; /* the next round's start is the check */
        Mnemo__V1__DeleteRepositoryRequest dreq = MNEMO__V1__DELETE_REPOSITORY_REQUEST__INIT;
        dreq.repository_name = "final";
        Mnemo__V1__DeleteRepositoryResponse *dresp = NULL;
        mnemo_call_error_t err;
        code = mnemo_client_delete_repository(&dresp, fast, &dreq, &err);
        mnemo_client_free_message(dresp);
        if (code == GRPC_STATUS_FAILED_PRECONDITION) {
            if (refused_delete++ == 0 && first[0] == '\0')
                snprintf(first, sizeof first, "DeleteRepository: FAILED_PRECONDITION \"%s\"",
                         err.message);
            wait_job_gone(fast, "final");
            delete_repo(fast, "final", GRPC_STATUS_OK, true);
        } else {
            EXPECT_STATUS("DeleteRepository after the final state", code, err.message,
                          GRPC_STATUS_OK, NULL);
        }
    }
    wait_job_gone(fast, "final");
    printf("\n[info] final state then act at once: %d rounds; DeleteRepository refused %d "
           "times, SyncRepository refused %d times\n",
           done, refused_delete, refused_sync);
    CHECK(refused_delete == 0 && refused_sync == 0,
          "after GetSyncStatus reads COMPLETED the repository is not \"syncing\": %d of %d "
          "deletes refused, %d of %d new syncs refused; first: %s",
          refused_delete, (rounds + 1) / 2, refused_sync, rounds / 2, first);
    free(root);
}

/* Syncs that end at once (a tiny tree, nothing changed), back to back, in
 * the background and in the foreground: a stream whose call closes before
 * its handler is done with it must be handled as cleanly as a long one (the
 * server must stay up; under ASan, no use-after-free). */
static void test_sync__short_syncs_back_to_back(void)
{
    const int rounds = 100;
    char *root = make_flat_tree("short", "srt", 2);
    int failed = 0;
    for (int i = 0; i < rounds && failed < 3; i++) {
        char msg[512];
        int code = try_background(fast, root, "short-bg", 0, msg, sizeof msg);
        if (!CHECK(code == GRPC_STATUS_OK, "round %d: background: %s \"%s\"", i,
                   mnemo_client_code_name(code), msg))
            failed++;
        wait_job_gone(fast, "short-bg");
        run_t r;
        Mnemo__V1__SyncRepositoryRequest req = sync_req(root, "short-fg", 0);
        sync_run(&r, fast, &req);
        if (!CHECK(r.code == GRPC_STATUS_OK && state_of(r.last) == ST_COMPLETED,
                   "round %d: foreground: %s \"%s\", last %s", i, mnemo_client_code_name(r.code),
                   r.message, state_name(state_of(r.last))))
            failed++;
        run_cleanup(&r);
    }
    CHECK(store_memory(fast, "the server still serves after many short syncs"), "store");
    free(root);
}

/* ---- 5. incremental --------------------------------------------------------- */

static void expect_counts(const run_t *r, const char *what, int64_t processed, int64_t unchanged,
                          int64_t deleted, int64_t chunks)
{
    const Mnemo__V1__SyncProgress *p = progress_of(r->last);
    CHECK(p->processed_files == processed && p->unchanged_files == unchanged &&
              p->deleted_files == deleted && p->chunks_written == chunks && p->failed_files == 0,
          "%s: processed %lld unchanged %lld deleted %lld chunks %lld (want %lld %lld %lld "
          "%lld)",
          what, (long long)p->processed_files, (long long)p->unchanged_files,
          (long long)p->deleted_files, (long long)p->chunks_written, (long long)processed,
          (long long)unchanged, (long long)deleted, (long long)chunks);
}

static void set_mtime(const char *path, time_t sec)
{
    struct timespec ts[2] = {{sec, 0}, {sec, 0}};
    CHECK(utimensat(AT_FDCWD, path, ts, 0) == 0, "utimensat %s", path);
}

static bool same_status(const Mnemo__V1__SyncStatus *a, const Mnemo__V1__SyncStatus *b)
{
    return same_final(a, b) && a->progress->chunks_written == b->progress->chunks_written &&
           a->progress->deleted_files == b->progress->deleted_files &&
           a->progress->unchanged_files == b->progress->unchanged_files;
}

/* dry_run=true after one more change: counts, and nothing written. */
static void incremental_dry_run(const char *root, int n)
{
    char *p5 = pathf("%s/f0005.c", root);
    char *p9 = pathf("%s/f0009.c", root);
    write_text(p5, "int incrdryfivezq(void) { return 5; } /* sharedword */\n");
    unlink(p9);
    int code;
    mnemo_call_error_t err;
    Mnemo__V1__SyncStatus *before = get_status(fast, "incr", &code, &err);
    run_t r;
    if (sync_ok(&r, fast, root, "incr", 10, false, true))
        expect_counts(&r, "dry run", 1, n - 2, 1, 1);
    run_cleanup(&r);
    Mnemo__V1__SyncStatus *after = get_status(fast, "incr", &code, &err);
    CHECK(same_status(before, after), "dry run leaves the persisted status as it was");
    CHECK(n_hits(fast, "incrdryfivezq", "incr") == 0, "dry run indexes nothing");
    char id[64];
    synctree_ident(id, "inc", 5);
    CHECK(n_hits(fast, id, "incr") == 1, "dry run keeps the old chunks of a changed file");
    synctree_ident(id, "inc", 9);
    CHECK(n_hits(fast, id, "incr") == 1, "dry run keeps the chunks of a deleted file");
    if (sync_ok(&r, fast, root, "incr", 10, false, false))
        expect_counts(&r, "sync after the dry run", 1, n - 2, 1, 1);
    run_cleanup(&r);
    CHECK(n_hits(fast, "incrdryfivezq", "incr") == 1 && n_hits(fast, id, "incr") == 0,
          "the real sync applies what the dry run only counted");
    mnemo_client_free_message(before);
    mnemo_client_free_message(after);
    free(p5);
    free(p9);
}

/* A dry run of a repository never synced: counts, then no trace at all. */
static void incremental_dry_run_new(const char *root, int n)
{
    run_t r;
    if (sync_ok(&r, fast, root, "incr-dry", 10, false, true))
        expect_counts(&r, "dry run of a new repository", n, 0, 0, n);
    run_cleanup(&r);
    int code;
    mnemo_call_error_t err;
    Mnemo__V1__SyncStatus *st = get_status(fast, "incr-dry", &code, &err);
    EXPECT_STATUS("GetSyncStatus after a dry run of a new repository", code, err.message,
                  GRPC_STATUS_NOT_FOUND, NULL);
    mnemo_client_free_message(st);
    CHECK(!find_repo(fast, "incr-dry", 0).found, "a dry run lists no repository");
    char id[64];
    synctree_ident(id, "inc", 0);
    CHECK(n_hits(fast, id, "incr-dry") == 0 && n_hits(fast, id, NULL) == 0,
          "a dry run indexes nothing");
}

/* A file that turns binary and one that becomes .gitignored leave the
 * index; both are reported. The tree then holds 49 sources. */
static void incremental_skips(const char *root)
{
    char *ign = pathf("%s/.gitignore", root);
    char *p11 = pathf("%s/f0011.c", root);
    write_text(ign, "f0012.c\n");
    static const char bin[] = "int x;\n\0\0\0binary now\n";
    CHECK(mnemo_test_write_file(p11, bin, sizeof bin) == 0, "write %s", p11);
    run_t r;
    if (sync_ok(&r, fast, root, "incr", 10, false, false)) {
        expect_counts(&r, "one file turns binary, one is ignored", 1, 47, 2, 1);
        const char *why11 = run_skip_reason(&r, "f0011.c");
        const char *why12 = run_skip_reason(&r, "f0012.c");
        CHECK(why11 != NULL && strstr(why11, "binary") != NULL, "f0011.c skipped as binary (%s)",
              why11 != NULL ? why11 : "not reported");
        CHECK(why12 != NULL && strstr(why12, "ignored") != NULL, "f0012.c skipped as ignored (%s)",
              why12 != NULL ? why12 : "not reported");
        CHECK(progress_of(r.last)->skipped_files == 2, "skipped_files 2 (got %lld)",
              (long long)progress_of(r.last)->skipped_files);
    }
    run_cleanup(&r);
    char id[64];
    synctree_ident(id, "inc", 11);
    CHECK(n_hits(fast, id, "incr") == 0, "a file that turned binary leaves the index");
    synctree_ident(id, "inc", 12);
    CHECK(n_hits(fast, id, "incr") == 0, "a file that became ignored leaves the index");
    repo_info_t info = find_repo(fast, "incr", 0);
    CHECK(info.file_count == 48, "file_count 48 (got %lld)", (long long)info.file_count);
    free(ign);
    free(p11);
}

/* Modify one file, delete one, add one: exactly those are dealt with. */
static void incremental_changes(const char *root, int n)
{
    char *p3 = pathf("%s/f0003.c", root);
    char *p7 = pathf("%s/f0007.c", root);
    char *pn = pathf("%s/f9999.c", root);
    write_text(p3, "int incrmodifiedthreezq(void) { return 3; } /* sharedword */\n");
    CHECK(unlink(p7) == 0, "unlink %s", p7);
    synctree_write_source(pn, "inc", 9999);
    run_t r;
    if (sync_ok(&r, fast, root, "incr", 10, false, false)) {
        expect_counts(&r, "modify 1, delete 1, add 1", 2, n - 2, 1, 2);
        CHECK(progress_of(r.last)->total_files == n, "total_files %lld",
              (long long)progress_of(r.last)->total_files);
    }
    run_cleanup(&r);
    char id[64];
    synctree_ident(id, "inc", 7);
    CHECK(n_hits(fast, id, "incr") == 0, "the deleted file's chunks are gone");
    synctree_ident(id, "inc", 3);
    CHECK(n_hits(fast, id, "incr") == 0, "the modified file's old chunks are gone");
    CHECK(n_hits(fast, "incrmodifiedthreezq", "incr") == 1, "the modified file is re-indexed");
    expect_ident_at(fast, "incr", "inc", 9999, "f9999.c");
    free(p3);
    free(p7);
    free(pn);
}

/* full=true re-indexes every file, and the index holds each chunk once. */
static void incremental_full(const char *root, int n)
{
    run_t r;
    if (sync_ok(&r, fast, root, "incr", 10, true, false))
        expect_counts(&r, "full=true", n, 0, 0, n);
    run_cleanup(&r);
    repo_info_t info = find_repo(fast, "incr", 0);
    CHECK(info.found && info.file_count == n && info.chunk_count == n,
          "after full: %d files and chunks (got %lld, %lld)", n, (long long)info.file_count,
          (long long)info.chunk_count);
    Mnemo__V1__SearchCodeResponse *all = synctree_search(fast, "sharedword", "incr", NULL, 1000);
    CHECK(all != NULL && all->n_hits == (size_t)n, "full re-sync: %d chunks found once (got %zu)",
          n, all != NULL ? all->n_hits : 0);
    mnemo_client_free_message(all);
}

static void test_sync__incremental(void)
{
    const int n = 50;
    char *root = make_flat_tree("incr", "inc", n);
    incremental_dry_run_new(root, n);
    run_t r;
    bool ok = sync_ok(&r, fast, root, "incr", 10, false, false);
    if (ok)
        expect_counts(&r, "first sync", n, 0, 0, n);
    run_cleanup(&r);
    if (ok && sync_ok(&r, fast, root, "incr", 10, false, false))
        expect_counts(&r, "unchanged re-sync", 0, n, 0, 0);
    run_cleanup(&r);
    char *p1 = pathf("%s/f0001.c", root);
    set_mtime(p1, time(NULL) - 3600); /* only the mtime changes: hashed, not re-indexed */
    if (ok && sync_ok(&r, fast, root, "incr", 10, false, false))
        expect_counts(&r, "re-sync after touching one file", 0, n, 0, 0);
    run_cleanup(&r);
    if (ok) {
        incremental_changes(root, n);
        incremental_full(root, n);
        incremental_dry_run(root, n);
        incremental_skips(root);
    }
    free(p1);
    free(root);
}

/* ---- 6. crash ------------------------------------------------------------- */

/* Kills mnemod -9 after a few batches of a foreground sync of root. */
static int64_t crash_mid_sync(mnemo_harness_t *h, const char *root)
{
    mnemo_client_t *c = open_client(mnemo_harness_address(h), 0);
    Mnemo__V1__SyncRepositoryRequest req = sync_req(root, "crash", 5);
    run_t r;
    run_init(&r);
    mnemo_stream_t *s = c != NULL ? open_sync(c, &req) : NULL;
    while (s != NULL && run_next(&r, s) && run_batches(&r) < 4)
        ;
    int64_t seen = run_batches(&r);
    int ws = mnemo_harness_signal_wait(h, SIGKILL, 0);
    CHECK(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL, "mnemod killed -9 (wait status %d)", ws);
    if (s != NULL)
        run_drain(&r, s);
    printf("\n[info] crash: killed after %lld batches seen; the stream ended %s\n", (long long)seen,
           mnemo_client_code_name(r.code));
    CHECK(r.code != GRPC_STATUS_OK && state_of(r.last) != ST_COMPLETED,
          "the stream ends in an error when the server dies (got %s)",
          mnemo_client_code_name(r.code));
    mnemo_stream_close(s);
    run_cleanup(&r);
    mnemo_client_close(c);
    return seen;
}

static void crash_compare_clean(mnemo_client_t *resumed, const char *root, int n)
{
    mnemo_harness_t *h = start_server(NULL, NULL);
    mnemo_client_t *c = h != NULL ? open_client(mnemo_harness_address(h), 0) : NULL;
    run_t r;
    if (c != NULL && sync_ok(&r, c, root, "crash", 50, false, false)) {
        repo_info_t a = find_repo(resumed, "crash", 0), b = find_repo(c, "crash", 0);
        CHECK(a.found && b.found && a.file_count == b.file_count &&
                  a.chunk_count == b.chunk_count && a.file_count == n,
              "ListRepositories after the crash: %lld files %lld chunks; clean: %lld %lld",
              (long long)a.file_count, (long long)a.chunk_count, (long long)b.file_count,
              (long long)b.chunk_count);
        synctree_expect_same_search(resumed, c, "crash", "crs", n);
    }
    run_cleanup(&r);
    mnemo_client_close(c);
    stop_clean(h, "clean-sync server");
}

static void test_sync__crash_then_resume(void)
{
    const int n = 300;
    const char *extra[] = {"--batch-pause-ms", SLOW_PAUSE_MS, NULL};
    char *root = make_flat_tree("crash", "crs", n);
    mnemo_harness_t *h = start_server(extra, NULL);
    if (h == NULL)
        goto out;
    int64_t seen = crash_mid_sync(h, root);
    if (!CHECK(mnemo_harness_restart(h) == MNEMO_HARNESS_SERVING, "mnemod restarts")) {
        mnemo_harness_dump_log(h);
        mnemo_harness_destroy(h);
        goto out;
    }
    mnemo_client_t *c = open_client(mnemo_harness_address(h), 0);
    int code;
    mnemo_call_error_t err;
    Mnemo__V1__SyncStatus *st = get_status(c, "crash", &code, &err);
    if (EXPECT_STATUS("GetSyncStatus after kill -9", code, err.message, GRPC_STATUS_OK, NULL)) {
        CHECK(st->state == ST_INTERRUPTED, "state INTERRUPTED after a crash (got %s)",
              state_name(st->state));
        CHECK(st->progress->batches_committed >= seen,
              "the checkpoint holds the %lld batches seen (got %lld)", (long long)seen,
              (long long)st->progress->batches_committed);
    }
    int64_t committed = st != NULL ? st->progress->processed_files : 0;
    mnemo_client_free_message(st);
    run_t r;
    if (sync_ok(&r, c, root, "crash", 50, false, false)) {
        const Mnemo__V1__SyncProgress *p = progress_of(r.last);
        CHECK(p->unchanged_files == committed && p->processed_files == n - committed,
              "the next sync resumes: %lld unchanged (committed before the crash: %lld), %lld "
              "processed",
              (long long)p->unchanged_files, (long long)committed, (long long)p->processed_files);
    }
    run_cleanup(&r);
    crash_compare_clean(c, root, n);
    mnemo_client_close(c);
    stop_clean(h, "restarted server");
out:
    free(root);
}

/* ---- 7. memory RPCs during a sync ------------------------------------------- */

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int ll_cmp(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static void print_latency(const char *what, long long *us, int n)
{
    qsort(us, (size_t)n, sizeof *us, ll_cmp);
    printf("[latency] %s during a sync: n=%d p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", what, n,
           us[n / 2] / 1000.0, us[(n * 99 + 99) / 100 - 1] / 1000.0, us[n - 1] / 1000.0);
}

/* Issues n StoreMemory and n RetrieveMemory calls on c while repo syncs;
 * prints the latencies; returns how many failed. */
static int memory_load(mnemo_client_t *c, const char *repo, const char *label, int n)
{
    long long *store_us = calloc((size_t)n, sizeof *store_us);
    long long *retrieve_us = calloc((size_t)n, sizeof *retrieve_us);
    int failures = 0, code;
    mnemo_call_error_t err;
    Mnemo__V1__SyncStatus *before = get_status(c, repo, &code, &err);
    for (int i = 0; i < n; i++) {
        char *content = itest_unique("sync load memory", "zebracorn during a repository sync");
        Mnemo__V1__StoreMemoryRequest sreq = MNEMO__V1__STORE_MEMORY_REQUEST__INIT;
        sreq.content = content;
        Mnemo__V1__StoreMemoryResponse *sr = NULL;
        long long t = now_us();
        int st = mnemo_client_store_memory(&sr, c, &sreq, &err);
        store_us[i] = now_us() - t;
        failures += st != 0;
        Mnemo__V1__RetrieveMemoryRequest rreq = MNEMO__V1__RETRIEVE_MEMORY_REQUEST__INIT;
        rreq.query = "zebracorn sync";
        rreq.limit = 5;
        Mnemo__V1__RetrieveMemoryResponse *rr = NULL;
        t = now_us();
        st = mnemo_client_retrieve_memory(&rr, c, &rreq, &err);
        retrieve_us[i] = now_us() - t;
        failures += st != 0 || rr->n_results == 0;
        mnemo_client_free_message(sr);
        mnemo_client_free_message(rr);
        free(content);
    }
    Mnemo__V1__SyncStatus *after = get_status(c, repo, &code, &err);
    char what[128];
    printf("\n");
    snprintf(what, sizeof what, "StoreMemory (%s)", label);
    print_latency(what, store_us, n);
    snprintf(what, sizeof what, "RetrieveMemory (%s)", label);
    print_latency(what, retrieve_us, n);
    printf("[info] %s: batches %lld -> %lld committed during the calls; sync %s after them\n",
           label, before != NULL ? (long long)before->progress->batches_committed : -1LL,
           after != NULL ? (long long)after->progress->batches_committed : -1LL,
           after != NULL ? state_name(after->state) : "?");
    CHECK(after != NULL && before != NULL &&
              (before->state == ST_PENDING || before->state == ST_RUNNING),
          "%s: the sync ran when the calls began (%s)", label,
          before != NULL ? state_name(before->state) : "-");
    mnemo_client_free_message(before);
    mnemo_client_free_message(after);
    free(store_us);
    free(retrieve_us);
    return failures;
}

static void test_sync__memory_rpcs_during_sync(void)
{
    const int n = 100;
    /* Paced sync (slow server, batch 1): it surely runs through every call. */
    char *root = make_flat_tree("memload", "mld", 400);
    if (start_background(slow, root, "memload", 1)) {
        int failures = memory_load(slow, "memload", "paced sync", n);
        CHECK(failures == 0, "%d of %d memory calls failed during the sync", failures, 2 * n);
        int code;
        mnemo_call_error_t err;
        Mnemo__V1__SyncStatus *st = get_status(slow, "memload", &code, &err);
        CHECK(st != NULL && st->state == ST_RUNNING,
              "the paced sync still ran after the calls (got %s; make the tree bigger if not)",
              st != NULL ? state_name(st->state) : "?");
        mnemo_client_free_message(st);
        cancel_and_wait(slow, "memload");
    }
    /* Full speed (fast server, batch 1: a write-locked commit per file). */
    char *big = big_tree();
    if (start_background(fast, big, "bigload", 1)) {
        int failures = memory_load(fast, "bigload", "full-speed sync", n);
        CHECK(failures == 0, "%d of %d memory calls failed during the sync", failures, 2 * n);
        cancel_and_wait(fast, "bigload");
        delete_repo(fast, "bigload", GRPC_STATUS_OK, true);
    }
    free(big);
    free(root);
}

/* Two threads retrieving back to back on one client: enough to keep two
 * CPUs busy. */
typedef struct retriever {
    mnemo_client_t *c;
    atomic_bool stop;
    atomic_int failures;
} retriever_t;

static void *retrieve_loop(void *arg)
{
    retriever_t *r = arg;
    while (!atomic_load(&r->stop)) {
        Mnemo__V1__RetrieveMemoryRequest rreq = MNEMO__V1__RETRIEVE_MEMORY_REQUEST__INIT;
        rreq.query = "pacing probe";
        Mnemo__V1__RetrieveMemoryResponse *rr = NULL;
        mnemo_call_error_t err;
        if (mnemo_client_retrieve_memory(&rr, r->c, &rreq, &err) != 0)
            atomic_fetch_add(&r->failures, 1);
        mnemo_client_free_message(rr);
    }
    return NULL;
}

/* Polls name's sync until it reports a pause (paced_ms > 0) or ends, at
 * most WAIT_MS, while two threads retrieve; the last status seen, the
 * caller's, or NULL. */
static Mnemo__V1__SyncStatus *retrieve_until_paced(mnemo_client_t *c, const char *name)
{
    retriever_t r = {.c = c};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, retrieve_loop, &r);
    long long until = mnemo_harness_now_ms() + WAIT_MS;
    Mnemo__V1__SyncStatus *s = NULL;
    for (;;) {
        sleep_ms(20);
        int code = 0;
        mnemo_call_error_t err;
        s = get_status(c, name, &code, &err);
        if (s == NULL || s->progress->paced_ms > 0 ||
            (s->state != ST_PENDING && s->state != ST_RUNNING) || mnemo_harness_now_ms() > until)
            break;
        mnemo_client_free_message(s);
    }
    atomic_store(&r.stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    int failures = atomic_load(&r.failures);
    CHECK(failures == 0, "%d RetrieveMemory calls failed", failures);
    return s;
}

/* --sync-share: a sync on a quiet server never pauses; memory RPCs arriving
 * back to back keep two CPUs busy enough that it pauses, says so in
 * paced_ms, and the pause is persisted. With more CPUs one client leaves
 * the sync room, so it need not pause there. */
static void test_sync__paces_while_memory_rpcs_arrive(void)
{
    const char *extra[] = {"--sync-share", "1", NULL};
    mnemo_harness_t *h = start_server(extra, NULL);
    if (h == NULL)
        return;
    mnemo_client_t *c = open_client(mnemo_harness_address(h), 0);
    char *root = make_flat_tree("paced", "pcd", 3000);
    run_t r;
    if (c != NULL && sync_ok(&r, c, root, "quiet", 20, false, false))
        CHECK(progress_of(r.last)->paced_ms == 0, "no requests, no pause (paced_ms %lld)",
              (long long)progress_of(r.last)->paced_ms);
    run_cleanup(&r);
    Mnemo__V1__SyncStatus *s = NULL;
    if (c != NULL && start_background(c, root, "busy", 5))
        s = retrieve_until_paced(c, "busy");
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (s != NULL) {
        long long paced = (long long)s->progress->paced_ms;
        if (ncpu <= 2)
            CHECK(paced > 0, "the sync paused while RetrieveMemory calls arrived (state %s)",
                  state_name(s->state));
        else
            printf("\n[info] %ld CPUs: the sync paused %lld ms for the calls\n", ncpu, paced);
        mnemo_client_free_message(s);
        cancel_and_wait(c, "busy");
        int code = 0;
        mnemo_call_error_t err;
        s = get_status(c, "busy", &code, &err);
        CHECK(s != NULL && s->progress->paced_ms >= paced,
              "the final status keeps paced_ms (%lld, then %lld)", paced,
              s != NULL ? (long long)s->progress->paced_ms : -1LL);
        mnemo_client_free_message(s);
    }
    mnemo_client_close(c);
    stop_clean(h, "--sync-share 1 server");
    free(root);
}

/* ---- 8. allowed roots and the data directory -------------------------------- */

static void expect_sync_refused(mnemo_client_t *c, const char *path, int want, const char *field,
                                const char *what)
{
    Mnemo__V1__SyncRepositoryRequest req = sync_req(path, "refused", 0);
    run_t r;
    sync_run(&r, c, &req);
    EXPECT_STATUS(what, r.code, r.message, want, field);
    CHECK(r.n_events == 0, "%s: no event (got %d)", what, r.n_events);
    run_cleanup(&r);
}

static void test_sync__allowed_roots(void)
{
    char *outside = mnemo_test_tmpdir(); /* a sibling of workroot */
    char *p = pathf("%s/x.c", outside);
    write_text(p, "int outsiderootq;\n");
    free(p);
    char *inside = pathf("%s/roots", workroot);
    mkdir_p(inside);
    char *link = pathf("%s/escape", inside);
    CHECK(symlink(outside, link) == 0, "symlink %s", link);
    char *dotdot = pathf("%s/roots/../..", workroot);
    char *file = pathf("%s/file.c", inside);
    write_text(file, "int x;\n");
    char *missing_in = pathf("%s/no-such-dir", inside);
    char *missing_out = pathf("%s/no-such-dir", outside);

    expect_sync_refused(fast, outside, GRPC_STATUS_PERMISSION_DENIED, "repository_path",
                        "a dir outside the roots");
    expect_sync_refused(fast, "/", GRPC_STATUS_PERMISSION_DENIED, "repository_path", "/");
    expect_sync_refused(fast, link, GRPC_STATUS_PERMISSION_DENIED, "repository_path",
                        "a symlink inside the root to a dir outside");
    expect_sync_refused(fast, dotdot, GRPC_STATUS_PERMISSION_DENIED, "repository_path",
                        "a path escaping with ..");
    expect_sync_refused(fast, missing_out, GRPC_STATUS_PERMISSION_DENIED, "repository_path",
                        "a missing path outside");
    expect_sync_refused(fast, file, GRPC_STATUS_INVALID_ARGUMENT, "repository_path", "a file path");
    expect_sync_refused(fast, missing_in, GRPC_STATUS_INVALID_ARGUMENT, "repository_path",
                        "a missing path inside");
    expect_sync_refused(fast, "", GRPC_STATUS_INVALID_ARGUMENT, "repository_path", "an empty path");
    CHECK(n_hits(fast, "outsiderootq", NULL) == 0, "nothing outside the roots got indexed");

    Mnemo__V1__SyncRepositoryRequest req = sync_req(inside, "bad/name", 0);
    run_t r;
    sync_run(&r, fast, &req);
    EXPECT_STATUS("a name with '/'", r.code, r.message, GRPC_STATUS_INVALID_ARGUMENT,
                  "repository_name");
    run_cleanup(&r);
    req = sync_req(inside, "negbatch", -1);
    sync_run(&r, fast, &req);
    EXPECT_STATUS("batch_size -1", r.code, r.message, GRPC_STATUS_INVALID_ARGUMENT, "batch_size");
    run_cleanup(&r);

    mnemo_test_rmtree(outside);
    free(outside);
    free(inside);
    free(link);
    free(dotdot);
    free(file);
    free(missing_in);
    free(missing_out);
}

/* Checks a sync of a tree holding the server's data dir (rel). */
static void check_data_dir_sync(mnemo_client_t *c, const char *root, const char *rel, int n,
                                int processed)
{
    run_t r;
    if (sync_ok(&r, c, root, "dtree", 0, false, false)) {
        const Mnemo__V1__SyncProgress *p = progress_of(r.last);
        CHECK(p->total_files == n && p->processed_files == processed &&
                  p->processed_files + p->unchanged_files == n,
              "only the %d sources are files of the tree (total %lld, processed %lld, "
              "unchanged %lld)",
              n, (long long)p->total_files, (long long)p->processed_files,
              (long long)p->unchanged_files);
        size_t len = strlen(rel);
        for (size_t i = 0; i < r.n_skips; i++)
            CHECK(strncmp(r.skips[i].path, rel, len) != 0 || r.skips[i].path[len] != '/',
                  "no file of the data dir in skipped[]: %s (%s)", r.skips[i].path,
                  r.skips[i].reason);
    }
    run_cleanup(&r);
    static const char *const words[] = {"sharedword", "recovering", "manifest", "log",
                                        "delete",     "current",    "lock",     "type"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        Mnemo__V1__SearchCodeResponse *s = synctree_search(c, words[i], "dtree", rel, 100);
        CHECK(s != NULL && s->n_hits == 0, "no hit under the data dir for \"%s\" (%zu)", words[i],
              s != NULL ? s->n_hits : 0);
        mnemo_client_free_message(s);
    }
}

static void test_sync__data_dir_inside_tree_never_indexed(void)
{
    const int n = 20;
    char *root = make_flat_tree("dtree", "dtr", n);
    char *data = pathf("%s/.mnemo-data", root);
    mkdir_p(data);
    mnemo_harness_t *h = start_server(NULL, data);
    mnemo_client_t *c = h != NULL ? open_client(mnemo_harness_address(h), 0) : NULL;
    if (c != NULL) {
        CHECK(store_memory(c, "written before the sync so the data dir has a log"), "store");
        check_data_dir_sync(c, root, ".mnemo-data", n, n);
        check_data_dir_sync(c, root, ".mnemo-data", n, 0); /* incremental pass too */
        expect_sync_refused(c, data, GRPC_STATUS_PERMISSION_DENIED, "data dir",
                            "a repository_path inside the data dir");
        CHECK(store_memory(c, "the server still works after syncing its own data dir"),
              "store after the sync");
        /* The walker never opened the LevelDB LOCK: it is still held. */
        mnemo_harness_options_t o = {.data_dir = data};
        mnemo_harness_t *h2 = NULL;
        mnemo_harness_result_t r2 = mnemo_harness_start(&h2, &o);
        CHECK(r2 == MNEMO_HARNESS_EXITED,
              "a second mnemod on the same data dir is refused (result %d): the LOCK is held",
              (int)r2);
        mnemo_harness_destroy(h2);
        CHECK(store_memory(c, "and still works after the refused second server"), "store");
    }
    mnemo_client_close(c);
    stop_clean(h, "data-dir-in-tree server");
    free(data);
    free(root);
}

/* ---- 9. shutdown during a foreground sync ------------------------------- */

static void test_sync__sigterm_during_foreground_sync(void)
{
    const char *extra[] = {"--batch-pause-ms", SLOW_PAUSE_MS, NULL};
    char *root = make_flat_tree("shut", "sht", 400);
    mnemo_harness_t *h = start_server(extra, NULL);
    mnemo_client_t *c = h != NULL ? open_client(mnemo_harness_address(h), 0) : NULL;
    if (c == NULL)
        goto out;
    /* A background sync runs too: shutdown cancels it just as cleanly. */
    start_background(c, root, "shutbg", 1);
    Mnemo__V1__SyncRepositoryRequest req = sync_req(root, "shut", 5);
    run_t r;
    run_init(&r);
    mnemo_stream_t *s = open_sync(c, &req);
    while (s != NULL && run_next(&r, s) && run_batches(&r) < 2)
        ;
    long long t0 = mnemo_harness_now_ms();
    kill(mnemo_harness_pid(h), SIGTERM);
    if (s != NULL)
        run_drain(&r, s);
    long long t_stream = mnemo_harness_now_ms() - t0;
    int ws = mnemo_harness_wait(h, 20000);
    long long t_exit = mnemo_harness_now_ms() - t0;
    printf("\n[timing] SIGTERM during a sync: stream ended (%s, last event %s) after %lld ms, "
           "mnemod exited after %lld ms\n",
           mnemo_client_code_name(r.code), state_name(state_of(r.last)), t_stream, t_exit);
    /* Stopped by the server, not by its client: a status clients retry,
     * after the final event, and a message saying a new sync resumes. */
    CHECK(r.code == GRPC_STATUS_UNAVAILABLE && state_of(r.last) == ST_CANCELLED &&
              strstr(r.message, "resume") != NULL,
          "the stream ends with a CANCELLED event, then UNAVAILABLE saying the sync can be "
          "resumed (got %s \"%s\", last %s)",
          mnemo_client_code_name(r.code), r.message, state_name(state_of(r.last)));
    if (!CHECK(ws != -1 && WIFEXITED(ws) && WEXITSTATUS(ws) == 0,
               "mnemod exits 0 within 20 s of SIGTERM during a sync (wait status %d)", ws))
        mnemo_harness_dump_log(h);
    mnemo_stream_close(s);
    run_cleanup(&r);
    mnemo_client_close(c);
    c = NULL;
    if (ws == -1 || mnemo_harness_restart(h) != MNEMO_HARNESS_SERVING)
        goto out;
    c = open_client(mnemo_harness_address(h), 0);
    int code;
    mnemo_call_error_t err;
    Mnemo__V1__SyncStatus *st = get_status(c, "shut", &code, &err);
    if (EXPECT_STATUS("GetSyncStatus after the restart", code, err.message, GRPC_STATUS_OK, NULL))
        CHECK(st->state == ST_CANCELLED, "a sync stopped by shutdown reads CANCELLED, not %s",
              state_name(st->state));
    mnemo_client_free_message(st);
    st = get_status(c, "shutbg", &code, &err);
    if (EXPECT_STATUS("GetSyncStatus shutbg after the restart", code, err.message, GRPC_STATUS_OK,
                      NULL))
        CHECK(st->state == ST_CANCELLED && st->background,
              "a background sync stopped by shutdown reads CANCELLED, not %s",
              state_name(st->state));
    mnemo_client_free_message(st);
out:
    mnemo_client_close(c);
    stop_clean(h, "shutdown-test server");
    free(root);
}

/* A foreground sync of 2 batches with pause_ms between them, read to its
 * end by a SyncRepository stream and a WatchSync stream; their event
 * counts into events[2]. */
static void quiet_sync(const char *heartbeat, const char *pause_ms, const char *name, int events[2])
{
    const char *extra[] = {"--batch-pause-ms", pause_ms, "--stream-heartbeat", heartbeat, NULL};
    char *root = make_flat_tree(name, name, 2);
    mnemo_harness_t *h = start_server(extra, NULL);
    mnemo_client_t *c = h != NULL ? open_client(mnemo_harness_address(h), 0) : NULL;
    events[0] = events[1] = -1;
    if (c != NULL) {
        Mnemo__V1__SyncRepositoryRequest req = sync_req(root, name, 1);
        run_t r, w;
        run_init(&r);
        run_init(&w);
        mnemo_stream_t *s = open_sync(c, &req);
        Mnemo__V1__WatchSyncRequest wreq = MNEMO__V1__WATCH_SYNC_REQUEST__INIT;
        wreq.repository_name = (char *)name;
        mnemo_stream_t *ws = NULL;
        mnemo_call_error_t err;
        if (s != NULL && run_next(&r, s) &&
            EXPECT_STATUS("WatchSync", mnemo_client_watch_sync(&ws, c, &wreq, &err), err.message,
                          GRPC_STATUS_OK, NULL)) {
            run_drain(&w, ws);
            run_drain(&r, s);
            CHECK(r.code == GRPC_STATUS_OK && state_of(r.last) == ST_COMPLETED && r.monotonic,
                  "%s: the sync completes, progress never going back (%s)", name, r.why);
            CHECK(w.code == GRPC_STATUS_OK && state_of(w.last) == ST_COMPLETED && w.monotonic,
                  "%s: the watch ends with the sync (%s)", name, w.why);
            events[0] = r.n_events;
            events[1] = w.n_events;
        }
        mnemo_stream_close(ws);
        mnemo_stream_close(s);
        run_cleanup(&w);
        run_cleanup(&r);
    }
    mnemo_client_close(c);
    stop_clean(h, name);
    free(root);
}

/* A proxy ends a stream that is quiet longer than its read timeout: a
 * stream whose sync sits between batches (paced, or --batch-pause-ms)
 * resends its status every --stream-heartbeat. With heartbeats off the
 * streams carry only the sync's own events (at most the first, the walk's
 * total, one per batch, the final); with 200 ms heartbeats across two 2 s pauses there are
 * about ten more, and at least three would be there even on a machine
 * slow enough to stretch every tick to twice its length. */
static void test_sync__quiet_streams_send_heartbeats(void)
{
    int off[2], on[2];
    quiet_sync("off", "2000", "beatoff", off);
    quiet_sync("200ms", "2000", "beaton", on);
    printf("\n[events] 2 batches, 2 s pauses: heartbeats off: sync %d, watch %d; every 200 ms: "
           "sync %d, watch %d\n",
           off[0], off[1], on[0], on[1]);
    CHECK(off[0] >= 3 && off[0] <= 5 && off[1] >= 2 && off[1] <= 5,
          "without heartbeats, the first event, the walk's, one per batch and the last "
          "(sync %d, watch %d)",
          off[0], off[1]);
    CHECK(on[0] >= off[0] + 3 && on[1] >= off[1] + 3,
          "heartbeats resend the status while the sync is quiet (sync %d vs %d, watch %d vs %d)",
          on[0], off[0], on[1], off[1]);
}

/* ---- 10. ListRepositories and DeleteRepository ---------------------------- */

static void list_pages(const char *prefix, int n_want)
{
    char token[1100] = "";
    int found = 0, pages = 0;
    char prev[256] = "";
    bool sorted = true, unique = true;
    do {
        Mnemo__V1__ListRepositoriesRequest req = MNEMO__V1__LIST_REPOSITORIES_REQUEST__INIT;
        req.page_size = 2;
        req.page_token = token;
        Mnemo__V1__ListRepositoriesResponse *resp = NULL;
        mnemo_call_error_t err;
        int st = mnemo_client_list_repositories(&resp, fast, &req, &err);
        if (!EXPECT_STATUS("ListRepositories page", st, err.message, GRPC_STATUS_OK, NULL))
            return;
        CHECK(resp->n_repositories <= 2, "page of %zu <= page_size 2", resp->n_repositories);
        for (size_t i = 0; i < resp->n_repositories; i++) {
            const Mnemo__V1__Repository *r = resp->repositories[i];
            int c = strcmp(prev, r->name);
            sorted = sorted && c <= 0;
            unique = unique && c != 0;
            snprintf(prev, sizeof prev, "%s", r->name);
            if (strncmp(r->name, prefix, strlen(prefix)) == 0) {
                found++;
                CHECK(r->file_count == 3 && r->chunk_count == 3 && r->last_state == ST_COMPLETED &&
                          r->last_synced_at_ms > 0,
                      "%s: 3 files, 3 chunks, COMPLETED", r->name);
            }
        }
        snprintf(token, sizeof token, "%s", resp->next_page_token);
        mnemo_client_free_message(resp);
    } while (token[0] != '\0' && ++pages < 1000);
    CHECK(sorted && unique, "pages are by name, no repository twice");
    CHECK(found == n_want, "%d repositories named %s* over the pages (got %d)", n_want, prefix,
          found);
}

static void test_sync__list_pages_and_delete(void)
{
    char *root = make_flat_tree("pages", "pgs", 3);
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "page-r%d", i);
        run_t r;
        sync_ok(&r, fast, root, name, 0, false, false);
        run_cleanup(&r);
    }
    list_pages("page-r", 5);
    Mnemo__V1__ListRepositoriesRequest bad = MNEMO__V1__LIST_REPOSITORIES_REQUEST__INIT;
    bad.page_token = "not-a-token";
    Mnemo__V1__ListRepositoriesResponse *resp = NULL;
    mnemo_call_error_t err;
    int st = mnemo_client_list_repositories(&resp, fast, &bad, &err);
    EXPECT_STATUS("ListRepositories with a forged token", st, err.message,
                  GRPC_STATUS_INVALID_ARGUMENT, "page_token");
    mnemo_client_free_message(resp);

    char id[64];
    synctree_ident(id, "pgs", 1);
    CHECK(n_hits(fast, id, "page-r0") == 1, "page-r0 is searchable before the delete");
    delete_repo(fast, "page-r0", GRPC_STATUS_OK, true);
    CHECK(n_hits(fast, id, "page-r0") == 0, "page-r0: nothing found after the delete");
    CHECK(n_hits(fast, id, NULL) == 4, "the other 4 repositories keep their chunks (%ld hits)",
          n_hits(fast, id, NULL));
    int code;
    Mnemo__V1__SyncStatus *s = get_status(fast, "page-r0", &code, &err);
    EXPECT_STATUS("GetSyncStatus of a deleted repository", code, err.message, GRPC_STATUS_NOT_FOUND,
                  NULL);
    mnemo_client_free_message(s);
    CHECK(!find_repo(fast, "page-r0", 0).found, "page-r0 gone from ListRepositories");
    list_pages("page-r", 4);
    delete_repo(fast, "page-r0", GRPC_STATUS_OK, false);
    run_t r;
    if (sync_ok(&r, fast, root, "page-r0", 0, false, false))
        expect_counts(&r, "re-sync of a deleted repository", 3, 0, 0, 3);
    run_cleanup(&r);
    CHECK(n_hits(fast, id, "page-r0") == 1, "a deleted repository synced again is searchable");
    /* An empty name: the base name of the canonical path. */
    char *unclean = pathf("%s/pages/../pages/", workroot);
    if (sync_ok(&r, fast, unclean, "", 0, false, false))
        CHECK(strcmp(r.last->status->repository_name, "pages") == 0 &&
                  strcmp(r.last->status->repository_path, root) == 0,
              "default name \"pages\" and canonical path (got \"%s\", %s)",
              r.last->status->repository_name, r.last->status->repository_path);
    run_cleanup(&r);
    CHECK(n_hits(fast, id, "pages") == 1, "found under the default name");
    delete_repo(fast, "pages", GRPC_STATUS_OK, true);
    free(unclean);
    free(root);
}

static void test_sync__delete_while_syncing_refused(void)
{
    char *busy = make_flat_tree("delbusy", "dlb", 200);
    if (start_background(slow, busy, "delbusy", 1)) {
        delete_repo(slow, "delbusy", GRPC_STATUS_FAILED_PRECONDITION, false);
        cancel_and_wait(slow, "delbusy");
        delete_repo(slow, "delbusy", GRPC_STATUS_OK, true);
        char id[64];
        synctree_ident(id, "dlb", 0);
        CHECK(n_hits(slow, id, "delbusy") == 0, "delbusy: nothing found after the delete");
    }
    free(busy);
}

/* ---- main --------------------------------------------------------------- */

/* ---- memory over the history of syncs ------------------------------------ */

/* workroot/name: n C files of ~180 lines, each with 150 identifiers of its
 * own besides shared words: code's long tail of distinct terms, the shape
 * that makes a full sync's index buffers big. */
static char *make_wordy_tree(const char *name, int n)
{
    char *root = pathf("%s/%s", workroot, name);
    mkdir_p(root);
    enum { LINES = 150, LINE_MAX_BYTES = 96 };
    char *text = malloc(LINES * LINE_MAX_BYTES);
    for (int i = 0; i < n && text != NULL; i++) {
        size_t len = 0;
        for (int k = 0; k < LINES; k++)
            len += (size_t)snprintf(text + len, LINE_MAX_BYTES,
                                    "static int wordy_%d_%d = helper_%d(value_%d) + table_%d;\n", i,
                                    k, k % 40, (i * 7 + k) % 2000, k % 9);
        char *p = pathf("%s/w%04d.c", root, i);
        CHECK(mnemo_test_write_file(p, text, len) == 0, "write %s", p);
        free(p);
    }
    free(text);
    return root;
}

/* The process's own resident memory (heap, stacks) in KiB, or -1. RssFile
 * is left out: LevelDB maps its table files, page cache that the kernel
 * reclaims and that the data on disk bounds. */
static long rss_anon_kib(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "RssAnon: %ld kB", &kib) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return kib;
}

/* CPU ticks (user + system) pid has used, or -1. */
static long long cpu_ticks(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    size_t n = f != NULL ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f != NULL)
        fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the name may hold spaces */
    unsigned long long ut = 0, st = 0;
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (long long)(ut + st);
}

/* Threads of pid that are running or waiting for a CPU (R) or in a disk
 * wait (D), or -1. */
static int busy_threads(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    int busy = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char stat[320], buf[512];
        snprintf(stat, sizeof stat, "/proc/%d/task/%s/stat", pid, e->d_name);
        FILE *f = fopen(stat, "r");
        size_t n = f != NULL ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f != NULL)
            fclose(f);
        buf[n] = '\0';
        const char *p = strrchr(buf, ')');
        if (p != NULL && (p[2] == 'R' || p[2] == 'D'))
            busy++;
    }
    closedir(d);
    return busy;
}

/* RssAnon once the server is idle: what it keeps, not the transient peak
 * of the sweep and merges a sync leaves behind. Idle = for 3 s (longer
 * than the index's 2 s idle flush), no thread of the server running or
 * runnable and at most one CPU tick used: its merger and LevelDB's
 * compactions run niced, so on a machine busy with other work they wait
 * for a CPU without using any, and CPU time alone would call them idle.
 * At most 120 s. The least RssAnon of the idle window. */
static long settled_rss_kib(int pid)
{
    enum { SAMPLE_MS = 250, QUIET_SAMPLES = 12 };
    long least = -1;
    long long since = cpu_ticks(pid);
    for (int i = 0, quiet = 0; i < 480 && quiet < QUIET_SAMPLES; i++) {
        sleep_ms(SAMPLE_MS);
        long kib = rss_anon_kib(pid);
        if (busy_threads(pid) != 0 || cpu_ticks(pid) - since > 1) {
            quiet = 0;
            least = -1;
            since = cpu_ticks(pid);
            continue;
        }
        quiet++;
        if (kib >= 0 && (least < 0 || kib < least))
            least = kib;
    }
    return least >= 0 ? least : rss_anon_kib(pid);
}

/* docs/design.md "Memory": the server's memory follows its live data, not
 * the history of syncs. Doc numbers are never reused, so each full re-sync
 * moves every chunk to new document-table pages, and each sync's buffers
 * are freed in whatever arena its thread used; before the fix RSS climbed
 * with every full sync (5 of one tree: 333 -> 1,034 MiB). The issue's
 * bound: after 10 full re-syncs, and after 20 cancelled ones, within 1.5x
 * of RSS after the first. */
static void test_sync__memory_follows_data_not_sync_history(void)
{
    char *tree = make_wordy_tree("wordy", 1200);
    /* Each store's block cache and memtables are fixed costs that fill up
     * over the first syncs (2 x (32 + 2 x 16) MiB by default, more than
     * this small tree's whole footprint); 1 MiB each keeps them from
     * hiding what this test is about. */
    const char *extra[] = {
        "--sync-share", "100", "--store-cache-bytes", "1048576", "--store-write-buffer-bytes",
        "1048576",      NULL};
    mnemo_harness_t *h = start_server(extra, NULL);
    mnemo_client_t *c = h != NULL ? open_client(mnemo_harness_address(h), 0) : NULL;
    if (c == NULL)
        goto out;
    int pid = mnemo_harness_pid(h);
    run_t r;
    bool ok = sync_ok(&r, c, tree, "wordy", 0, true, false);
    run_cleanup(&r);
    long first = settled_rss_kib(pid);
    for (int i = 0; i < 10 && ok; i++) {
        ok = sync_ok(&r, c, tree, "wordy", 0, true, false);
        run_cleanup(&r);
    }
    long after_full = settled_rss_kib(pid);
    for (int i = 0; i < 20 && ok; i++) {
        Mnemo__V1__SyncRepositoryRequest req = sync_req(tree, "wordy", 50);
        req.background = req.full = true;
        sync_run(&r, c, &req);
        ok = EXPECT_STATUS("background full sync", r.code, r.message, GRPC_STATUS_OK, NULL);
        run_cleanup(&r);
        sleep_ms(100 + 37 * i % 200); /* a few batches in */
        cancel_and_wait(c, "wordy");
    }
    /* ... and the sync that finishes their job, as a user would run: each
     * point is then measured after a completed sync (what LevelDB holds in
     * its memtables depends on the last writes, by up to 3 MiB here). */
    if (ok) {
        ok = sync_ok(&r, c, tree, "wordy", 0, false, false);
        run_cleanup(&r);
    }
    long after_cancel = settled_rss_kib(pid);
    printf("\n    RssAnon after the 1st full sync %ld KiB, after 10 more %ld KiB (x%.2f), after "
           "20 cancelled %ld KiB (x%.2f)\n",
           first, after_full, (double)after_full / (double)first, after_cancel,
           (double)after_cancel / (double)first);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    /* The sanitizer's allocator keeps freed memory in quarantine: RSS says
     * nothing here; the syncs above still ran under it. */
#else
    /* 1.5 x, plus what the flags above let LevelDB hold (2 stores x (1 MiB
     * of cache + 2 memtables of 1 MiB)): how full those are, and how much
     * of what glibc keeps around them stays resident, depends on the last
     * writes and varies by that much between runs with no history at all
     * (docs/design-notes.md "The flaky memory test"). Growth with history,
     * 333 -> 1,034 MiB before the fixes, is far beyond it. Cancelled syncs
     * ran to x2-x3 (7.3 -> 21.9 MiB) until mnemod capped glibc's arenas:
     * each thread's arena kept its top resident after a cancelled batch,
     * where malloc_trim cannot reach (docs/design-notes.md "Arena tops"). */
    const long leveldb_kib = 2 * (1024 + 2 * 1024);
    CHECK(first > 0 && after_full <= first * 3 / 2 + leveldb_kib,
          "RssAnon after 10 full re-syncs %ld KiB <= 1.5 x %ld KiB + %ld KiB", after_full, first,
          leveldb_kib);
    CHECK(first > 0 && after_cancel <= first * 3 / 2 + leveldb_kib,
          "RssAnon after 20 cancelled full syncs %ld KiB <= 1.5 x %ld KiB + %ld KiB", after_cancel,
          first, leveldb_kib);
#endif
out:
    if (c != NULL)
        mnemo_client_close(c);
    stop_clean(h, "memory test server");
    free(tree);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    char *tmp = mnemo_test_tmpdir();
    char canon[PATH_MAX];
    if (realpath(tmp, canon) == NULL) {
        perror("realpath");
        return 1;
    }
    workroot = strdup(canon);
    free(tmp);
    const char *fast_args[] = {"--allow-root", workroot, NULL};
    mnemo_harness_options_t fo = {.extra_args = fast_args};
    const char *addr = itest_start_server_opts(&fo);
    /* No CHECK before the suites run: CUnit has no current test yet. */
    const char *slow_args[] = {"--allow-root", workroot, "--batch-pause-ms", SLOW_PAUSE_MS, NULL};
    mnemo_harness_options_t so = {.extra_args = slow_args};
    if (mnemo_harness_start(&slow_srv, &so) != MNEMO_HARNESS_SERVING) {
        fprintf(stderr, "test_sync: the slow mnemod did not start\n");
        if (slow_srv != NULL)
            mnemo_harness_dump_log(slow_srv);
        return 1;
    }
    mnemo_call_error_t err;
    if (mnemo_client_open(&fast, addr, NULL, &err) != 0 ||
        mnemo_client_open(&slow, mnemo_harness_address(slow_srv), NULL, &err) != 0) {
        fprintf(stderr, "test_sync: mnemo_client_open: %s\n", err.message);
        return 1;
    }

    CU_pSuite s = mnemo_test_suite("sync");
    MNEMO_TEST(s, test_sync__foreground_large_tree);
    MNEMO_TEST(s, test_sync__unread_stream_never_slows_the_sync);
    MNEMO_TEST(s, test_sync__cancel_stream_stops_at_batch_boundary);
    MNEMO_TEST(s, test_sync__deadline_cancels_foreground_sync);
    MNEMO_TEST(s, test_sync__background_watch_cancel);
    MNEMO_TEST(s, test_sync__unknown_names_not_found);
    MNEMO_TEST(s, test_sync__many_streams_open_at_once);
    MNEMO_TEST(s, test_sync__max_syncs_resource_exhausted);
    MNEMO_TEST(s, test_sync__incremental);
    MNEMO_TEST(s, test_sync__crash_then_resume);
    MNEMO_TEST(s, test_sync__memory_rpcs_during_sync);
    MNEMO_TEST(s, test_sync__paces_while_memory_rpcs_arrive);
    MNEMO_TEST(s, test_sync__allowed_roots);
    MNEMO_TEST(s, test_sync__data_dir_inside_tree_never_indexed);
    MNEMO_TEST(s, test_sync__sigterm_during_foreground_sync);
    MNEMO_TEST(s, test_sync__quiet_streams_send_heartbeats);
    MNEMO_TEST(s, test_sync__list_pages_and_delete);
    MNEMO_TEST(s, test_sync__delete_while_syncing_refused);
    /* Last: each races the server's own threads many times over. */
    MNEMO_TEST(s, test_sync__final_status_means_done);
    MNEMO_TEST(s, test_sync__short_syncs_back_to_back);
    MNEMO_TEST(s, test_sync__memory_follows_data_not_sync_history);
    int rc = itest_run();
    mnemo_client_close(slow);
    mnemo_client_close(fast);
    int st = mnemo_harness_stop(slow_srv, 0);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "test_sync: FAIL: the slow mnemod did not exit 0 on SIGTERM (%d)\n", st);
        mnemo_harness_dump_log(slow_srv);
        rc = 1;
    }
    mnemo_harness_destroy(slow_srv);
    mnemo_test_rmtree(workroot);
    free(workroot);
    return rc;
}
