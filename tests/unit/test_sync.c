/* test_sync.c - unit tests of sync.c without sockets: real job threads over
 * a store in a temporary directory, watched by a recording observer. Event
 * order and progress, incremental re-syncs, cancellation at batch
 * boundaries, one sync per repository and max_syncs, watch and unsubscribe,
 * live status, dry runs, shutdown, skipped files and the data directory.
 *
 * DESIGN: no test measures time. A job is held at a known point either by a
 * pause between batches that never elapses (LONG_PAUSE_MS: only a cancel
 * ends it) or by the test holding the read side of the application lock
 * (the job then blocks on its first commit, before its walk). Waits on the
 * observer's condition variable time out after WAIT_S seconds only so that
 * a bug fails a test instead of hanging it. Observers outlive the registry:
 * shutdown (in env_finish) still delivers finals to them.
 *
 * config.c lives in mnemo_server (gRPC); this binary links mnemo_domain
 * only, so the config is zeroed and the four fields sync.c reads are set.
 */
#include "sync.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WAIT_S        10
#define LONG_PAUSE_MS 60000

/* ---- the recording observer -------------------------------------------- */

typedef struct ev_rec {
    mnemo_sync_state_t state;
    mnemo_sync_progress_t progress;
    size_t n_skipped;
    char current_path[64];
} ev_rec_t;

typedef struct skip_rec {
    char *path;
    char *reason;
} skip_rec_t;

typedef struct rec {
    mnemo_sync_observer_t obs; /* first: the callbacks cast back */
    pthread_mutex_t mu;        /* guards everything below */
    pthread_cond_t cv;
    ev_rec_t *events; /* on_event calls, in order */
    size_t n_events;
    skip_rec_t *skips; /* from every event and the final */
    size_t n_skips;
    size_t n_finals;
    ev_rec_t final;
    char *final_error;
    /* When job is set, the first RUNNING event with batches_committed ==
     * cancel_at cancels it from the job's thread: a cancel that lands at an
     * exact point of the run. */
    mnemo_sync_job_t *job;
    int64_t cancel_at;
} rec_t;

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (p == NULL)
        abort();
    return p;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (d == NULL)
        abort();
    return d;
}

static void record(mnemo_sync_observer_t *obs, const mnemo_sync_event_t *ev, bool final)
{
    rec_t *r = (rec_t *)obs;
    ev_rec_t e = {ev->status->state, ev->status->progress, ev->n_skipped, ""};
    snprintf(e.current_path, sizeof e.current_path, "%s", ev->current_path);
    pthread_mutex_lock(&r->mu);
    if (final) {
        r->n_finals++;
        r->final = e;
        free(r->final_error);
        r->final_error = ev->status->error != NULL ? xstrdup(ev->status->error) : NULL;
    } else {
        r->events = xrealloc(r->events, (r->n_events + 1) * sizeof *r->events);
        r->events[r->n_events++] = e;
        if (r->job != NULL && e.state == MNEMO_SYNC_RUNNING &&
            e.progress.batches_committed == r->cancel_at)
            mnemo_sync_job_cancel(r->job);
    }
    r->skips = xrealloc(r->skips, (r->n_skips + ev->n_skipped + 1) * sizeof *r->skips);
    for (size_t i = 0; i < ev->n_skipped; i++) {
        r->skips[r->n_skips].path = xstrdup(ev->skipped[i].path);
        r->skips[r->n_skips++].reason = xstrdup(ev->skipped[i].reason);
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void on_event(mnemo_sync_observer_t *obs, const mnemo_sync_event_t *ev)
{
    record(obs, ev, false);
}

static void on_final(mnemo_sync_observer_t *obs, const mnemo_sync_event_t *ev)
{
    record(obs, ev, true);
}

static void rec_init(rec_t *r)
{
    memset(r, 0, sizeof *r);
    r->obs.on_event = on_event;
    r->obs.on_final = on_final;
    r->cancel_at = -1;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
}

static void rec_cleanup(rec_t *r)
{
    for (size_t i = 0; i < r->n_skips; i++) {
        free(r->skips[i].path);
        free(r->skips[i].reason);
    }
    free(r->skips);
    free(r->events);
    free(r->final_error);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
}

/* Arms the in-callback cancel (see rec_t). */
static void rec_cancel_at(rec_t *r, mnemo_sync_job_t *job, int64_t batches)
{
    pthread_mutex_lock(&r->mu);
    r->job = job;
    r->cancel_at = batches;
    pthread_mutex_unlock(&r->mu);
}

static bool reached_locked(const rec_t *r, int64_t batches)
{
    if (r->n_finals > 0)
        return true;
    return batches >= 0 && r->n_events > 0 &&
           r->events[r->n_events - 1].progress.batches_committed >= batches;
}

/* Waits until the job has committed `batches` batches (or ended), or for
 * the final event when batches < 0. False on the hang guard. */
static bool rec_wait(rec_t *r, int64_t batches)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += WAIT_S;
    pthread_mutex_lock(&r->mu);
    int rc = 0;
    while (!reached_locked(r, batches) && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&r->cv, &r->mu, &deadline);
    bool ok = reached_locked(r, batches);
    pthread_mutex_unlock(&r->mu);
    if (!ok)
        fprintf(stderr, "\nhang guard: no %s after %d s\n", batches < 0 ? "final" : "batch",
                WAIT_S);
    return ok;
}

static bool rec_wait_final(rec_t *r)
{
    return rec_wait(r, -1);
}

static size_t rec_n_events(rec_t *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->n_events;
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* The reason recorded for path, NULL if none; times counts the records. */
static const char *rec_skip_reason(const rec_t *r, const char *path, int *times)
{
    const char *reason = NULL;
    *times = 0;
    for (size_t i = 0; i < r->n_skips; i++) {
        if (strcmp(r->skips[i].path, path) == 0) {
            reason = r->skips[i].reason;
            (*times)++;
        }
    }
    return reason;
}

/* Skips carried by every event and the final (the job has ended). */
static size_t rec_skips_reported(const rec_t *r)
{
    size_t n = r->final.n_skipped;
    for (size_t i = 0; i < r->n_events; i++)
        n += r->events[i].n_skipped;
    return n;
}

/* ---- the environment ---------------------------------------------------- */

typedef struct env {
    char *dir;  /* canonical */
    char *data; /* the store, excluded from every walk */
    mnemo_store_t *store;
    mnemo_repos_t *repos;
    pthread_rwlock_t lock;
    mnemo_config_t cfg;
    const char *exclude[1];
    mnemo_syncs_t *syncs;
} env_t;

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = xrealloc(NULL, n);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

static void env_start(env_t *e, int batch_pause_ms, int max_syncs)
{
    memset(e, 0, sizeof *e);
    char *tmp = mnemo_test_tmpdir();
    e->dir = realpath(tmp, NULL);
    free(tmp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e->dir);
    e->data = join(e->dir, "data");
    CU_ASSERT_EQUAL_FATAL(mkdir(e->data, 0755), 0);
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL_FATAL(mnemo_store_open(&e->store, e->data, NULL, &err), MNEMO_OK);
    CU_ASSERT_EQUAL_FATAL(mnemo_repos_open(&e->repos, e->store, &err), MNEMO_OK);
    pthread_rwlock_init(&e->lock, NULL);
    e->cfg.batch_size = 10;
    e->cfg.batch_pause_ms = batch_pause_ms;
    e->cfg.max_syncs = max_syncs;
    e->cfg.max_file_bytes = 1u << 20;
    e->exclude[0] = e->data;
    mnemo_sync_env_t senv = {e->repos, &e->lock, &e->cfg, e->exclude, 1};
    e->syncs = mnemo_syncs_create(&senv);
}

static void env_finish(env_t *e)
{
    mnemo_syncs_shutdown(e->syncs);
    mnemo_syncs_destroy(e->syncs);
    mnemo_repos_close(e->repos);
    mnemo_store_close(e->store);
    pthread_rwlock_destroy(&e->lock);
    mnemo_test_rmtree(e->dir);
    free(e->data);
    free(e->dir);
}

static void write_file(const char *dir, const char *rel, const void *data, size_t len)
{
    char *path = join(dir, rel);
    CU_ASSERT_EQUAL(mnemo_test_write_file(path, data, len), 0);
    free(path);
}

static void write_text(const char *dir, const char *rel, const char *text)
{
    write_file(dir, rel, text, strlen(text));
}

static size_t file_text(char *buf, size_t cap, int i)
{
    int n =
        snprintf(buf, cap, "/* file %d */\nint value_%d = %d;\nconst char *word_%d = \"w%d\";\n", i,
                 i, i * 7, i, i);
    return (size_t)n;
}

static void file_name(char *buf, size_t cap, int i)
{
    snprintf(buf, cap, "f%03d.txt", i);
}

/* dir/name with n files f000.txt.. (sorted as numbered); *bytes gets their
 * total size when not NULL. The path is the caller's. */
static char *make_tree(env_t *e, const char *name, int n, int64_t *bytes)
{
    char *root = join(e->dir, name);
    CU_ASSERT_EQUAL(mkdir(root, 0755), 0);
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        char rel[32], text[256];
        file_name(rel, sizeof rel, i);
        size_t len = file_text(text, sizeof text, i);
        write_file(root, rel, text, len);
        total += (int64_t)len;
    }
    if (bytes != NULL)
        *bytes = total;
    return root;
}

static mnemo_sync_request_t request(const char *path, const char *name, int batch_size)
{
    return (mnemo_sync_request_t){.path = path, .name = name, .batch_size = batch_size};
}

static mnemo_sync_job_t *start(env_t *e, const mnemo_sync_request_t *req, rec_t *r)
{
    mnemo_sync_job_t *job = NULL;
    mnemo_err_t err = {{0}};
    mnemo_status_t st = mnemo_syncs_start(e->syncs, &job, req, r != NULL ? &r->obs : NULL, &err);
    CU_ASSERT_EQUAL(st, MNEMO_OK);
    if (st != MNEMO_OK)
        fprintf(stderr, "\nstart %s: %s\n", req->name, err.msg);
    return job;
}

/* Starts req and waits for its end; false on the hang guard. */
static bool run_sync(env_t *e, const mnemo_sync_request_t *req, rec_t *r)
{
    mnemo_sync_job_t *job = start(e, req, r);
    bool ok = job != NULL && rec_wait_final(r);
    mnemo_sync_job_unref(job);
    return ok;
}

static mnemo_manifest_t manifest_of(env_t *e, const char *name)
{
    mnemo_manifest_t m = {0};
    mnemo_err_t err = {{0}};
    pthread_rwlock_rdlock(&e->lock);
    CU_ASSERT_EQUAL(mnemo_repos_load_manifest(e->repos, &m, name, &err), MNEMO_OK);
    pthread_rwlock_unlock(&e->lock);
    return m;
}

static bool manifest_has(const mnemo_manifest_t *m, const char *path)
{
    for (size_t i = 0; i < m->count; i++)
        if (strcmp(m->entries[i].path, path) == 0)
            return true;
    return false;
}

/* The manifest of name is exactly f000.. f(n-1) of make_tree. */
static void assert_manifest_is_first(env_t *e, const char *name, int n)
{
    mnemo_manifest_t m = manifest_of(e, name);
    CU_ASSERT_EQUAL(m.count, (size_t)n);
    for (size_t i = 0; i < m.count; i++) {
        char rel[32];
        file_name(rel, sizeof rel, (int)i);
        CU_ASSERT_STRING_EQUAL(m.entries[i].path, rel);
    }
    mnemo_manifest_cleanup(&m);
}

static mnemo_status_t persisted(env_t *e, mnemo_sync_status_t *out, const char *name)
{
    mnemo_err_t err = {{0}};
    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&e->lock);
    mnemo_status_t st = mnemo_repos_get_status(e->repos, out, name, &err);
    pthread_rwlock_unlock(&e->lock);
    return st;
}

/* ---- progress and events ------------------------------------------------ */

static void test_sync__events_report_progress_in_order(void)
{
    env_t e;
    env_start(&e, 0, 4);
    int64_t bytes = 0;
    char *root = make_tree(&e, "repo", 23, &bytes);
    rec_t r;
    rec_init(&r);
    mnemo_sync_request_t req = request(root, "proj", 5);
    if (!run_sync(&e, &req, &r))
        goto done;

    CU_ASSERT_EQUAL(r.n_finals, 1);
    CU_ASSERT_FATAL(r.n_events >= 2);
    CU_ASSERT_EQUAL(r.events[0].state, MNEMO_SYNC_PENDING);
    size_t walk = r.n_events;
    double pct = 0.0;
    for (size_t i = 0; i < r.n_events; i++) {
        const ev_rec_t *ev = &r.events[i];
        CU_ASSERT(ev->state == MNEMO_SYNC_PENDING || ev->state == MNEMO_SYNC_RUNNING);
        CU_ASSERT(ev->progress.percentage >= pct && ev->progress.percentage <= 100.0);
        pct = ev->progress.percentage;
        if (walk == r.n_events && ev->progress.total_files == 23) {
            walk = i; /* the walk's event: the total is known, nothing done */
            CU_ASSERT_EQUAL(ev->state, MNEMO_SYNC_RUNNING);
            CU_ASSERT_EQUAL(ev->progress.batches_committed, 0);
        } else if (walk < i) {
            /* one event per committed batch, each naming its last file */
            int64_t b = ev->progress.batches_committed;
            char rel[32];
            file_name(rel, sizeof rel, b * 5 - 1 < 22 ? (int)(b * 5 - 1) : 22);
            CU_ASSERT_EQUAL(b, r.events[i - 1].progress.batches_committed + 1);
            CU_ASSERT_STRING_EQUAL(ev->current_path, rel);
        } else {
            CU_ASSERT_EQUAL(ev->progress.batches_committed, 0);
        }
    }
    CU_ASSERT_FATAL(walk < r.n_events);
    CU_ASSERT_EQUAL(r.n_events - walk - 1, 5);

    const mnemo_sync_progress_t *p = &r.final.progress;
    CU_ASSERT_EQUAL(r.final.state, MNEMO_SYNC_COMPLETED);
    CU_ASSERT_PTR_NULL(r.final_error);
    CU_ASSERT_EQUAL(p->total_files, 23);
    CU_ASSERT_EQUAL(p->processed_files, 23);
    CU_ASSERT_EQUAL(p->unchanged_files, 0);
    CU_ASSERT_EQUAL(p->skipped_files, 0);
    CU_ASSERT_EQUAL(p->failed_files, 0);
    CU_ASSERT_EQUAL(p->deleted_files, 0);
    CU_ASSERT_EQUAL(p->batches_committed, 5);
    CU_ASSERT(p->chunks_written >= 23);
    CU_ASSERT_EQUAL(p->bytes_processed, bytes);
    CU_ASSERT(p->percentage == 100.0 && p->percentage >= pct);

    mnemo_sync_status_t s;
    CU_ASSERT_EQUAL_FATAL(persisted(&e, &s, "proj"), MNEMO_OK);
    CU_ASSERT_EQUAL(s.state, MNEMO_SYNC_COMPLETED);
    CU_ASSERT_STRING_EQUAL(s.path, root);
    CU_ASSERT_EQUAL(s.progress.processed_files, 23);
    CU_ASSERT_EQUAL(s.progress.batches_committed, 5);
    CU_ASSERT_EQUAL(s.progress.chunks_written, p->chunks_written);
    CU_ASSERT(s.started_at_ms > 0 && s.finished_at_ms > 0);
    mnemo_sync_status_cleanup(&s);
    assert_manifest_is_first(&e, "proj", 23);
    CU_ASSERT_FALSE(mnemo_syncs_running(e.syncs, "proj"));
done:
    env_finish(&e);
    rec_cleanup(&r);
    free(root);
}

/* ---- incremental --------------------------------------------------------- */

static void test_sync__resync_of_unchanged_tree_writes_no_chunks(void)
{
    env_t e;
    env_start(&e, 0, 4);
    char *root = make_tree(&e, "repo", 12, NULL);
    rec_t first, again;
    rec_init(&first);
    rec_init(&again);
    mnemo_sync_request_t req = request(root, "proj", 5);
    if (!run_sync(&e, &req, &first) || !run_sync(&e, &req, &again))
        goto done;

    CU_ASSERT(first.final.progress.chunks_written >= 12);
    const mnemo_sync_progress_t *p = &again.final.progress;
    CU_ASSERT_EQUAL(again.final.state, MNEMO_SYNC_COMPLETED);
    CU_ASSERT_EQUAL(p->total_files, 12);
    CU_ASSERT_EQUAL(p->chunks_written, 0);
    CU_ASSERT_EQUAL(p->processed_files, 0);
    CU_ASSERT_EQUAL(p->unchanged_files, 12);
    CU_ASSERT_EQUAL(p->bytes_processed, 0);
    CU_ASSERT_EQUAL(p->deleted_files, 0);
    CU_ASSERT_EQUAL(p->percentage, 100.0);
    assert_manifest_is_first(&e, "proj", 12);
done:
    env_finish(&e);
    rec_cleanup(&first);
    rec_cleanup(&again);
    free(root);
}

static void test_sync__resync_indexes_only_what_changed(void)
{
    env_t e;
    env_start(&e, 0, 4);
    char *root = make_tree(&e, "repo", 12, NULL);
    rec_t first, again;
    rec_init(&first);
    rec_init(&again);
    mnemo_sync_request_t req = request(root, "proj", 5);
    if (!run_sync(&e, &req, &first))
        goto done;

    /* f000: same bytes, another mtime (read, hash matches: unchanged);
     * f001: new content; f002: deleted; new.txt: added. */
    char *f000 = join(root, "f000.txt");
    struct timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
    CU_ASSERT_EQUAL(utimensat(AT_FDCWD, f000, times, 0), 0);
    free(f000);
    write_text(root, "f001.txt", "completely different and longer content here\n");
    char *f002 = join(root, "f002.txt");
    CU_ASSERT_EQUAL(unlink(f002), 0);
    free(f002);
    write_text(root, "new.txt", "a brand new file\n");
    if (!run_sync(&e, &req, &again))
        goto done;

    const mnemo_sync_progress_t *p = &again.final.progress;
    CU_ASSERT_EQUAL(again.final.state, MNEMO_SYNC_COMPLETED);
    CU_ASSERT_EQUAL(p->total_files, 12);
    CU_ASSERT_EQUAL(p->processed_files, 2);
    CU_ASSERT_EQUAL(p->unchanged_files, 10);
    CU_ASSERT_EQUAL(p->deleted_files, 1);
    CU_ASSERT(p->chunks_written >= 2);
    mnemo_manifest_t m = manifest_of(&e, "proj");
    CU_ASSERT_EQUAL(m.count, 12);
    CU_ASSERT_FALSE(manifest_has(&m, "f002.txt"));
    CU_ASSERT(manifest_has(&m, "new.txt"));
    CU_ASSERT(m.count > 0 && m.entries[0].mtime_ns == 1000000000LL * 1000000000LL);
    mnemo_manifest_cleanup(&m);
done:
    env_finish(&e);
    rec_cleanup(&first);
    rec_cleanup(&again);
    free(root);
}

/* ---- cancellation --------------------------------------------------------- */

static void test_sync__cancel_stops_at_batch_boundary(void)
{
    env_t e;
    env_start(&e, LONG_PAUSE_MS, 4);
    char *root = make_tree(&e, "repo", 10, NULL);
    rec_t r;
    rec_init(&r);
    mnemo_sync_request_t req = request(root, "proj", 2);
    mnemo_sync_job_t *job = start(&e, &req, &r);
    if (job == NULL || !rec_wait(&r, 1))
        goto done;
    mnemo_sync_job_cancel(job); /* the job is in its pause after batch 1 */
    if (!rec_wait_final(&r))
        goto done;

    const mnemo_sync_progress_t *p = &r.final.progress;
    CU_ASSERT_EQUAL(r.final.state, MNEMO_SYNC_CANCELLED);
    CU_ASSERT_PTR_NULL(r.final_error);
    CU_ASSERT(p->batches_committed >= 1 && p->batches_committed < 5);
    CU_ASSERT_EQUAL(p->processed_files, 2 * p->batches_committed);
    mnemo_sync_status_t s;
    CU_ASSERT_EQUAL_FATAL(persisted(&e, &s, "proj"), MNEMO_OK);
    CU_ASSERT_EQUAL(s.state, MNEMO_SYNC_CANCELLED);
    CU_ASSERT_EQUAL(s.progress.batches_committed, p->batches_committed);
    CU_ASSERT_EQUAL(s.progress.processed_files, p->processed_files);
    CU_ASSERT(s.finished_at_ms > 0);
    mnemo_sync_status_cleanup(&s);
    /* every committed file is in the manifest, no later one */
    assert_manifest_is_first(&e, "proj", (int)p->processed_files);
    CU_ASSERT_FALSE(mnemo_syncs_running(e.syncs, "proj"));
done:
    mnemo_sync_job_unref(job);
    env_finish(&e);
    rec_cleanup(&r);
    free(root);
}

/* Polls the live status of name until it has counted `unchanged` files
 * (the job's planner counts them under the job's mutex as it meets them,
 * after the post-batch cancel check). False on the hang guard. */
static bool wait_live_unchanged(env_t *e, const char *name, int64_t unchanged)
{
    for (int i = 0; i < WAIT_S * 1000; i++) {
        mnemo_sync_status_t s;
        if (mnemo_syncs_status(e->syncs, &s, name, false) != MNEMO_OK)
            return false;
        int64_t n = s.progress.unchanged_files;
        mnemo_sync_status_cleanup(&s);
        if (n >= unchanged)
            return true;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    fprintf(stderr, "\nhang guard: %s never counted %lld unchanged files\n", name,
            (long long)unchanged);
    return false;
}

/* A cancel that lands while the job waits between batches: no batch is in
 * flight, so the next batch boundary is now and nothing more is written.
 * The re-sync changes f000 f001 | f003 f004 | ... with f002 unchanged in
 * between: once the live status counts f002, the job is past its check
 * after batch 1 and on its way into the pause before batch 2. */
static void test_sync__cancel_during_pause_commits_no_further_batch(void)
{
    env_t e;
    env_start(&e, LONG_PAUSE_MS, 4);
    char *root = make_tree(&e, "repo", 10, NULL);
    rec_t first, r;
    rec_init(&first);
    rec_init(&r);
    mnemo_sync_job_t *job = NULL;
    mnemo_sync_request_t whole = request(root, "proj", 100); /* one batch: no pause */
    if (!run_sync(&e, &whole, &first))
        goto done;
    const char *changed[] = {"f000.txt", "f001.txt", "f003.txt", "f004.txt", "f006.txt"};
    for (size_t i = 0; i < 5; i++)
        write_text(root, changed[i], "changed, and longer than any file of make_tree was\n");

    mnemo_sync_request_t req = request(root, "proj", 2);
    job = start(&e, &req, &r);
    if (job == NULL || !rec_wait(&r, 1) || !wait_live_unchanged(&e, "proj", 1))
        goto done;
    mnemo_sync_job_cancel(job);
    if (!rec_wait_final(&r))
        goto done;

    CU_ASSERT_EQUAL(r.final.state, MNEMO_SYNC_CANCELLED);
    CU_ASSERT_EQUAL(r.final.progress.batches_committed, 1);
    CU_ASSERT_EQUAL(r.final.progress.processed_files, 2);
    mnemo_manifest_t m = manifest_of(&e, "proj");
    CU_ASSERT_EQUAL_FATAL(m.count, 10);
    CU_ASSERT_NOT_EQUAL(m.entries[1].size, m.entries[2].size); /* f001 new, f002 old */
    CU_ASSERT_EQUAL(m.entries[3].size, m.entries[2].size);     /* f003 not written */
    mnemo_manifest_cleanup(&m);
done:
    mnemo_sync_job_unref(job);
    env_finish(&e);
    rec_cleanup(&first);
    rec_cleanup(&r);
    free(root);
}

/* Cancel right after the walk (from the walk's event): no batch was begun,
 * so none may be committed. The test holds the application lock's read
 * side until the observer knows the job, so the job cannot pass its first
 * commit (and reach its walk) before that. */
static void test_sync__cancel_before_first_batch_commits_nothing(void)
{
    env_t e;
    env_start(&e, 0, 4);
    char *root = make_tree(&e, "repo", 6, NULL);
    rec_t r;
    rec_init(&r);
    mnemo_sync_request_t req = request(root, "proj", 2);
    pthread_rwlock_rdlock(&e.lock);
    mnemo_sync_job_t *job = start(&e, &req, &r);
    rec_cancel_at(&r, job, 0);
    pthread_rwlock_unlock(&e.lock);
    if (job == NULL || !rec_wait_final(&r))
        goto done;

    CU_ASSERT_EQUAL(r.final.state, MNEMO_SYNC_CANCELLED);
    CU_ASSERT_EQUAL(r.final.progress.total_files, 6);
    CU_ASSERT_EQUAL(r.final.progress.batches_committed, 0);
    CU_ASSERT_EQUAL(r.final.progress.processed_files, 0);
    assert_manifest_is_first(&e, "proj", 0);
    mnemo_sync_status_t s;
    CU_ASSERT_EQUAL_FATAL(persisted(&e, &s, "proj"), MNEMO_OK);
    CU_ASSERT_EQUAL(s.state, MNEMO_SYNC_CANCELLED);
    CU_ASSERT_EQUAL(s.progress.batches_committed, 0);
    mnemo_sync_status_cleanup(&s);
done:
    mnemo_sync_job_unref(job);
    env_finish(&e);
    rec_cleanup(&r);
    free(root);
}

/* Cancel just after batch 2 is committed (from its event): the job stops
 * there, with exactly those files kept. */
static void test_sync__cancel_after_commit_keeps_committed_batches(void)
{
    env_t e;
    env_start(&e, 0, 4);
    char *root = make_tree(&e, "repo", 10, NULL);
    rec_t r;
    rec_init(&r);
    mnemo_sync_request_t req = request(root, "proj", 3);
    pthread_rwlock_rdlock(&e.lock);
    mnemo_sync_job_t *job = start(&e, &req, &r);
    rec_cancel_at(&r, job, 2);
    pthread_rwlock_unlock(&e.lock);
    if (job == NULL || !rec_wait_final(&r))
        goto done;

    CU_ASSERT_EQUAL(r.final.state, MNEMO_SYNC_CANCELLED);
    CU_ASSERT_EQUAL(r.final.progress.batches_committed, 2);
    CU_ASSERT_EQUAL(r.final.progress.processed_files, 6);
    CU_ASSERT(r.final.progress.percentage < 100.0);
    assert_manifest_is_first(&e, "proj", 6);
    mnemo_sync_status_t s;
    CU_ASSERT_EQUAL_FATAL(persisted(&e, &s, "proj"), MNEMO_OK);
    CU_ASSERT_EQUAL(s.state, MNEMO_SYNC_CANCELLED);
    CU_ASSERT_EQUAL(s.progress.processed_files, 6);
    mnemo_sync_status_cleanup(&s);
done:
    mnemo_sync_job_unref(job);
    env_finish(&e);
    rec_cleanup(&r);
    free(root);
}

/* ---- the registry ----------------------------------------------------------- */

static void test_sync__second_start_of_same_name_is_aborted(void)
{
    env_t e;
    env_start(&e, LONG_PAUSE_MS, 4);
    char *root = make_tree(&e, "repo", 10, NULL);
    rec_t r, refused, later;
    rec_init(&r);
    rec_init(&refused);
    rec_init(&later);
    mnemo_sync_request_t req = request(root, "proj", 3);
    mnemo_sync_job_t *job = start(&e, &req, &r);
    if (job == NULL || !rec_wait(&r, 1))
        goto done;

    mnemo_sync_job_t *dup = NULL;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_syncs_start(e.syncs, &dup, &req, &refused.obs, &err), MNEMO_EABORTED);
    CU_ASSERT_PTR_NULL(dup);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "proj"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "WatchSync"));
    CU_ASSERT_EQUAL(rec_n_events(&refused), 0); /* never subscribed */

    mnemo_sync_job_cancel(job);
    if (!rec_wait_final(&r))
        goto done;
    /* ended: the name is free again (one batch: no pause) */
    mnemo_sync_request_t whole = request(root, "proj", 100);
    if (!run_sync(&e, &whole, &later))
        goto done;
    CU_ASSERT_EQUAL(later.final.state, MNEMO_SYNC_COMPLETED);
    assert_manifest_is_first(&e, "proj", 10);
    CU_ASSERT_EQUAL(refused.n_finals, 0);
done:
    mnemo_sync_job_unref(job);
    env_finish(&e);
    rec_cleanup(&r);
    rec_cleanup(&refused);
    rec_cleanup(&later);
    free(root);
}

static void test_sync__max_syncs_is_resource_exhausted(void)
{
    env_t e;
    env_start(&e, LONG_PAUSE_MS, 2);
    char *ra = make_tree(&e, "a", 6, NULL);
    char *rb = make_tree(&e, "b", 6, NULL);
    char *rc = make_tree(&e, "c", 6, NULL);
    rec_t a, b, c;
    rec_init(&a);
    rec_init(&b);
    rec_init(&c);
    mnemo_sync_request_t qa = request(ra, "a", 2), qb = request(rb, "b", 2),
                         qc = request(rc, "c", 2);
    mnemo_sync_job_t *ja = start(&e, &qa, &a);
    mnemo_sync_job_t *jb = start(&e, &qb, &b);
    mnemo_sync_job_t *jc = NULL;
    if (ja == NULL || jb == NULL)
        goto done;

    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_syncs_start(e.syncs, &jc, &qc, &c.obs, &err), MNEMO_ERESOURCE);
    CU_ASSERT_PTR_NULL(jc);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "max-syncs"));
    CU_ASSERT_EQUAL(rec_n_events(&c), 0);
    /* a name already syncing is ABORTED, whatever the count */
    CU_ASSERT_EQUAL(mnemo_syncs_start(e.syncs, NULL, &qa, NULL, &err), MNEMO_EABORTED);

    mnemo_sync_job_cancel(ja);
    if (!rec_wait_final(&a))
        goto done;
    CU_ASSERT_EQUAL(a.final.state, MNEMO_SYNC_CANCELLED);
    jc = start(&e, &qc, &c); /* a's slot is free */
    CU_ASSERT(mnemo_syncs_running(e.syncs, "b"));
    CU_ASSERT(mnemo_syncs_running(e.syncs, "c"));
done:
    env_finish(&e); /* cancels b and c */
    CU_ASSERT_EQUAL(b.n_finals, 1);
    CU_ASSERT_EQUAL(c.n_finals, jc != NULL ? 1 : 0);
    mnemo_sync_job_unref(ja);
    mnemo_sync_job_unref(jb);
    mnemo_sync_job_unref(jc);
    rec_cleanup(&a);
    rec_cleanup(&b);
    rec_cleanup(&c);
    free(ra);
    free(rb);
    free(rc);
}

static void test_sync__watch_subscribes_and_gets_the_final(void)
{
    env_t e;
    env_start(&e, 0, 4);
    char *root = make_tree(&e, "repo", 7, NULL);
    rec_t w;
    rec_init(&w);
    mnemo_sync_request_t req = request(root, "proj", 3);
    mnemo_sync_job_t *watched = NULL;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_syncs_watch(e.syncs, &watched, "proj", &w.obs, &err), MNEMO_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "proj"));

    pthread_rwlock_rdlock(&e.lock); /* holds the job before its first commit */
    mnemo_sync_job_t *job = start(&e, &req, NULL);
    mnemo_status_t st = mnemo_syncs_watch(e.syncs, &watched, "proj", &w.obs, &err);
    CU_ASSERT_EQUAL(st, MNEMO_OK);
    CU_ASSERT_EQUAL(rec_n_events(&w), 1); /* the first event, at once */
    pthread_rwlock_unlock(&e.lock);
    if (job == NULL || st != MNEMO_OK || !rec_wait_final(&w))
        goto done;

    CU_ASSERT(w.events[0].state == MNEMO_SYNC_PENDING || w.events[0].state == MNEMO_SYNC_RUNNING);
    CU_ASSERT_EQUAL(w.n_finals, 1);
    CU_ASSERT_EQUAL(w.final.state, MNEMO_SYNC_COMPLETED);
    CU_ASSERT_EQUAL(w.final.progress.processed_files, 7);
    CU_ASSERT_EQUAL(w.final.progress.batches_committed, 3);
    CU_ASSERT_EQUAL(mnemo_syncs_watch(e.syncs, &watched, "proj", &w.obs, &err), MNEMO_ENOTFOUND);
done:
    mnemo_sync_job_unref(job);
    mnemo_sync_job_unref(watched);
    env_finish(&e);
    rec_cleanup(&w);
    free(root);
}

static void test_sync__unsubscribe_is_true_while_running_false_after(void)
{
    env_t e;
    env_start(&e, LONG_PAUSE_MS, 4);
    char *root = make_tree(&e, "repo", 6, NULL);
    rec_t gone, stays;
    rec_init(&gone);
    rec_init(&stays);
    mnemo_sync_request_t req = request(root, "proj", 2);
    mnemo_sync_job_t *job = start(&e, &req, &gone);
    mnemo_sync_job_t *watched = NULL;
    if (job == NULL || !rec_wait(&gone, 1))
        goto done;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_syncs_watch(e.syncs, &watched, "proj", &stays.obs, &err), MNEMO_OK);
    if (watched == NULL)
        goto done;

    CU_ASSERT_TRUE(mnemo_sync_job_unsubscribe(job, &gone.obs));
    size_t seen = rec_n_events(&gone);
    mnemo_sync_job_cancel(job);
    if (!rec_wait_final(&stays))
        goto done;
    CU_ASSERT_EQUAL(stays.final.state, MNEMO_SYNC_CANCELLED);
    CU_ASSERT_EQUAL(gone.n_finals, 0);
    CU_ASSERT_EQUAL(rec_n_events(&gone), seen);
    CU_ASSERT_FALSE(mnemo_sync_job_unsubscribe(watched, &stays.obs));
done:
    mnemo_sync_job_unref(job);
    mnemo_sync_job_unref(watched);
    env_finish(&e);
    CU_ASSERT_EQUAL(gone.n_finals, 0);
    rec_cleanup(&gone);
    rec_cleanup(&stays);
    free(root);
}

static void test_sync__status_is_live_while_running_notfound_after(void)
{
    env_t e;
    env_start(&e, LONG_PAUSE_MS, 4);
    char *root = make_tree(&e, "repo", 6, NULL);
    rec_t r;
    rec_init(&r);
    mnemo_sync_request_t req = request(root, "proj", 2);
    mnemo_sync_job_t *job = start(&e, &req, &r);
    mnemo_sync_status_t s;
    memset(&s, 0, sizeof s);
    CU_ASSERT_EQUAL(mnemo_syncs_status(e.syncs, &s, "other", false), MNEMO_ENOTFOUND);
    if (job == NULL || !rec_wait(&r, 1))
        goto done;

    CU_ASSERT_TRUE(mnemo_syncs_running(e.syncs, "proj"));
    CU_ASSERT_FALSE(mnemo_syncs_running(e.syncs, "other"));
    CU_ASSERT_EQUAL_FATAL(mnemo_syncs_status(e.syncs, &s, "proj", false), MNEMO_OK);
    CU_ASSERT_STRING_EQUAL(s.name, "proj");
    CU_ASSERT_STRING_EQUAL(s.path, root);
    CU_ASSERT_EQUAL(s.state, MNEMO_SYNC_RUNNING);
    CU_ASSERT_EQUAL(s.progress.total_files, 6);
    CU_ASSERT(s.progress.batches_committed >= 1);
    CU_ASSERT_EQUAL(s.finished_at_ms, 0);
    CU_ASSERT_PTR_NULL(s.error);
    mnemo_sync_status_cleanup(&s);

    /* cancel=true: copies the status, then the job stops */
    CU_ASSERT_EQUAL_FATAL(mnemo_syncs_status(e.syncs, &s, "proj", true), MNEMO_OK);
    mnemo_sync_status_cleanup(&s);
    if (!rec_wait_final(&r))
        goto done;
    CU_ASSERT_EQUAL(r.final.state, MNEMO_SYNC_CANCELLED);
    CU_ASSERT_EQUAL(mnemo_syncs_status(e.syncs, &s, "proj", false), MNEMO_ENOTFOUND);
    CU_ASSERT_FALSE(mnemo_syncs_running(e.syncs, "proj"));
done:
    mnemo_sync_job_unref(job);
    env_finish(&e);
    rec_cleanup(&r);
    free(root);
}

/* ---- dry run ---------------------------------------------------------------- */

static void test_sync__dry_run_of_new_repo_writes_nothing(void)
{
    env_t e;
    env_start(&e, 0, 4);
    char *root = make_tree(&e, "repo", 7, NULL);
    rec_t r;
    rec_init(&r);
    mnemo_sync_request_t req = request(root, "proj", 3);
    req.dry_run = true;
    if (!run_sync(&e, &req, &r))
        goto done;

    CU_ASSERT_EQUAL(r.final.state, MNEMO_SYNC_COMPLETED);
    CU_ASSERT_EQUAL(r.final.progress.total_files, 7);
    CU_ASSERT_EQUAL(r.final.progress.processed_files, 7);
    CU_ASSERT(r.final.progress.chunks_written >= 7); /* what would be written */
    assert_manifest_is_first(&e, "proj", 0);
    mnemo_sync_status_t s;
    CU_ASSERT_EQUAL(persisted(&e, &s, "proj"), MNEMO_ENOTFOUND);
done:
    env_finish(&e);
    rec_cleanup(&r);
    free(root);
}

static void test_sync__dry_run_of_synced_repo_changes_nothing(void)
{
    env_t e;
    env_start(&e, 0, 4);
    char *root = make_tree(&e, "repo", 5, NULL);
    rec_t real, dry;
    rec_init(&real);
    rec_init(&dry);
    mnemo_sync_request_t req = request(root, "proj", 2);
    mnemo_sync_status_t before, after;
    memset(&before, 0, sizeof before);
    memset(&after, 0, sizeof after);
    if (!run_sync(&e, &req, &real))
        goto done;
    CU_ASSERT_EQUAL(persisted(&e, &before, "proj"), MNEMO_OK);
    mnemo_manifest_t m0 = manifest_of(&e, "proj");

    write_text(root, "f000.txt", "rewritten with a different length\n");
    char *f001 = join(root, "f001.txt");
    CU_ASSERT_EQUAL(unlink(f001), 0);
    free(f001);
    req.dry_run = true;
    if (!run_sync(&e, &req, &dry)) {
        mnemo_manifest_cleanup(&m0);
        goto done;
    }
    CU_ASSERT_EQUAL(dry.final.state, MNEMO_SYNC_COMPLETED);
    CU_ASSERT_EQUAL(dry.final.progress.processed_files, 1);
    CU_ASSERT_EQUAL(dry.final.progress.deleted_files, 1);
    CU_ASSERT_EQUAL(dry.final.progress.unchanged_files, 3);

    CU_ASSERT_EQUAL(persisted(&e, &after, "proj"), MNEMO_OK);
    CU_ASSERT_EQUAL(after.state, before.state);
    CU_ASSERT_EQUAL(after.finished_at_ms, before.finished_at_ms);
    CU_ASSERT_EQUAL(after.progress.processed_files, 5);
    mnemo_manifest_t m1 = manifest_of(&e, "proj");
    CU_ASSERT_EQUAL(m1.count, m0.count);
    for (size_t i = 0; i < m0.count && i < m1.count; i++) {
        CU_ASSERT_STRING_EQUAL(m1.entries[i].path, m0.entries[i].path);
        CU_ASSERT_EQUAL(m1.entries[i].size, m0.entries[i].size);
        CU_ASSERT_EQUAL(memcmp(m1.entries[i].sha256, m0.entries[i].sha256, 32), 0);
    }
    mnemo_manifest_cleanup(&m0);
    mnemo_manifest_cleanup(&m1);
done:
    mnemo_sync_status_cleanup(&before);
    mnemo_sync_status_cleanup(&after);
    env_finish(&e);
    rec_cleanup(&real);
    rec_cleanup(&dry);
    free(root);
}

/* ---- shutdown ------------------------------------------------------------------ */

static void test_sync__shutdown_cancels_and_joins_running_jobs(void)
{
    env_t e;
    env_start(&e, LONG_PAUSE_MS, 4);
    char *root = make_tree(&e, "repo", 6, NULL);
    rec_t r;
    rec_init(&r);
    mnemo_sync_request_t req = request(root, "proj", 2);
    mnemo_sync_job_t *job = start(&e, &req, &r);
    if (job == NULL || !rec_wait(&r, 1))
        goto done;

    mnemo_syncs_shutdown(e.syncs);
    /* joined: the final was delivered before shutdown returned */
    pthread_mutex_lock(&r.mu);
    CU_ASSERT_EQUAL(r.n_finals, 1);
    CU_ASSERT_EQUAL(r.final.state, MNEMO_SYNC_CANCELLED);
    int64_t processed = r.final.progress.processed_files;
    pthread_mutex_unlock(&r.mu);
    CU_ASSERT_FALSE(mnemo_syncs_running(e.syncs, "proj"));

    mnemo_err_t err = {{0}};
    mnemo_sync_job_t *late = NULL;
    CU_ASSERT_EQUAL(mnemo_syncs_start(e.syncs, &late, &req, NULL, &err), MNEMO_EUNAVAIL);
    CU_ASSERT_PTR_NULL(late);
    CU_ASSERT_NOT_EQUAL(err.msg[0], '\0');
    mnemo_syncs_shutdown(e.syncs); /* idempotent */

    mnemo_sync_status_t s;
    CU_ASSERT_EQUAL_FATAL(persisted(&e, &s, "proj"), MNEMO_OK);
    CU_ASSERT_EQUAL(s.state, MNEMO_SYNC_CANCELLED);
    mnemo_sync_status_cleanup(&s);
    assert_manifest_is_first(&e, "proj", (int)processed);
done:
    mnemo_sync_job_unref(job);
    env_finish(&e);
    rec_cleanup(&r);
    free(root);
}

/* ---- skipped files ------------------------------------------------------------ */

static void test_sync__nul_and_invalid_utf8_files_are_skipped_with_reasons(void)
{
    env_t e;
    env_start(&e, 0, 4);
    char *root = join(e.dir, "repo");
    CU_ASSERT_EQUAL(mkdir(root, 0755), 0);
    write_text(root, "a_good.txt", "plain text\n");
    write_file(root, "b_nul_first.txt", "\0hello\n", 7);
    static char late[9000 + 8];
    memset(late, 'a', 9000); /* past the walker's 8 KiB sniff */
    memcpy(late + 9000, "\0tail\n", 6);
    write_file(root, "c_nul_late.txt", late, 9006);
    write_file(root, "d_nul_last.txt", "hello\n\0", 7);
    write_text(root, "e_latin1.txt", "caf\xe9\n");
    write_text(root, "f_overlong.txt", "slash \xc0\xaf\n");
    write_text(root, "g_surrogate.txt", "\xed\xa0\x80\n");
    write_text(root, "h_cut.txt", "cut \xe2\x82");
    rec_t r;
    rec_init(&r);
    mnemo_sync_request_t req = request(root, "proj", 3);
    if (!run_sync(&e, &req, &r))
        goto done;

    const mnemo_sync_progress_t *p = &r.final.progress;
    CU_ASSERT_EQUAL(r.final.state, MNEMO_SYNC_COMPLETED);
    CU_ASSERT_EQUAL(p->total_files, 8);
    CU_ASSERT_EQUAL(p->processed_files, 1);
    CU_ASSERT_EQUAL(p->skipped_files, 7);
    CU_ASSERT_EQUAL(p->failed_files, 0);
    CU_ASSERT_EQUAL(rec_skips_reported(&r), (size_t)(p->skipped_files + p->failed_files));
    const char *binary[] = {"b_nul_first.txt", "c_nul_late.txt", "d_nul_last.txt"};
    const char *bad[] = {"e_latin1.txt", "f_overlong.txt", "g_surrogate.txt", "h_cut.txt"};
    int times = 0;
    for (size_t i = 0; i < 3; i++) {
        const char *reason = rec_skip_reason(&r, binary[i], &times);
        CU_ASSERT_EQUAL(times, 1);
        CU_ASSERT(reason != NULL && strcmp(reason, "binary") == 0);
    }
    for (size_t i = 0; i < 4; i++) {
        const char *reason = rec_skip_reason(&r, bad[i], &times);
        CU_ASSERT_EQUAL(times, 1);
        CU_ASSERT(reason != NULL && strcmp(reason, "not valid UTF-8") == 0);
    }
    mnemo_manifest_t m = manifest_of(&e, "proj");
    CU_ASSERT_EQUAL(m.count, 1);
    CU_ASSERT(m.count == 1 && strcmp(m.entries[0].path, "a_good.txt") == 0);
    mnemo_manifest_cleanup(&m);
done:
    env_finish(&e);
    rec_cleanup(&r);
    free(root);
}

static void test_sync__indexed_file_that_turns_binary_is_removed(void)
{
    env_t e;
    env_start(&e, 0, 4);
    char *root = make_tree(&e, "repo", 3, NULL);
    rec_t first, again;
    rec_init(&first);
    rec_init(&again);
    mnemo_sync_request_t req = request(root, "proj", 2);
    if (!run_sync(&e, &req, &first))
        goto done;
    static const char bin[] = "now \0 binary, and longer than before\n";
    write_file(root, "f001.txt", bin, sizeof bin - 1);
    if (!run_sync(&e, &req, &again))
        goto done;

    CU_ASSERT_EQUAL(again.final.progress.skipped_files, 1);
    CU_ASSERT_EQUAL(again.final.progress.deleted_files, 1);
    CU_ASSERT_EQUAL(again.final.progress.unchanged_files, 2);
    int times = 0;
    const char *reason = rec_skip_reason(&again, "f001.txt", &times);
    CU_ASSERT_EQUAL(times, 1);
    CU_ASSERT(reason != NULL && strcmp(reason, "binary") == 0);
    mnemo_manifest_t m = manifest_of(&e, "proj");
    CU_ASSERT_EQUAL(m.count, 2);
    CU_ASSERT_FALSE(manifest_has(&m, "f001.txt"));
    mnemo_manifest_cleanup(&m);
done:
    env_finish(&e);
    rec_cleanup(&first);
    rec_cleanup(&again);
    free(root);
}

/* More skips than one event carries (100), from the walk and from batches:
 * each is reported exactly once and they add up to the final count. */
static void test_sync__skips_of_every_event_add_up_to_the_final_count(void)
{
    env_t e;
    env_start(&e, 0, 4);
    char *root = join(e.dir, "repo");
    CU_ASSERT_EQUAL(mkdir(root, 0755), 0);
    for (int i = 0; i < 130; i++) {
        char rel[32];
        snprintf(rel, sizeof rel, "bad%03d.txt", i);
        write_text(root, rel, i % 2 ? "\xff\xfe" : "x\x80y");
    }
    write_text(root, "good1.txt", "one\n");
    write_text(root, "good2.txt", "two\n");
    char *link = join(root, "link");
    CU_ASSERT_EQUAL(symlink("good1.txt", link), 0);
    free(link);
    rec_t r;
    rec_init(&r);
    mnemo_sync_request_t req = request(root, "proj", 200);
    if (!run_sync(&e, &req, &r))
        goto done;

    const mnemo_sync_progress_t *p = &r.final.progress;
    CU_ASSERT_EQUAL(r.final.state, MNEMO_SYNC_COMPLETED);
    CU_ASSERT_EQUAL(p->processed_files, 2);
    CU_ASSERT_EQUAL(p->skipped_files, 131);
    CU_ASSERT_EQUAL(rec_skips_reported(&r), 131);
    CU_ASSERT_EQUAL(r.n_skips, 131);
    for (size_t i = 0; i < r.n_events; i++)
        CU_ASSERT(r.events[i].n_skipped <= 100);
    int times = 0;
    const char *reason = rec_skip_reason(&r, "link", &times);
    CU_ASSERT_EQUAL(times, 1);
    CU_ASSERT(reason != NULL && strcmp(reason, "symlink") == 0);
    for (int i = 0; i < 130; i++) {
        char rel[32];
        snprintf(rel, sizeof rel, "bad%03d.txt", i);
        reason = rec_skip_reason(&r, rel, &times);
        CU_ASSERT_EQUAL(times, 1);
        CU_ASSERT(reason != NULL && strcmp(reason, "not valid UTF-8") == 0);
    }
done:
    env_finish(&e);
    rec_cleanup(&r);
    free(root);
}

/* The server's data directory under the synced root is never indexed. */
static void test_sync__data_dir_is_never_indexed(void)
{
    env_t e;
    env_start(&e, 0, 4);
    write_text(e.dir, "one.txt", "first\n");
    write_text(e.dir, "two.txt", "second\n");
    rec_t r;
    rec_init(&r);
    mnemo_sync_request_t req = request(e.dir, "self", 10);
    if (!run_sync(&e, &req, &r))
        goto done;

    CU_ASSERT_EQUAL(r.final.state, MNEMO_SYNC_COMPLETED);
    CU_ASSERT_EQUAL(r.final.progress.total_files, 2);
    CU_ASSERT_EQUAL(r.final.progress.processed_files, 2);
    int times = 0;
    const char *reason = rec_skip_reason(&r, "data", &times);
    CU_ASSERT_EQUAL(times, 1);
    CU_ASSERT(reason != NULL && strcmp(reason, "excluded") == 0);
    mnemo_manifest_t m = manifest_of(&e, "self");
    CU_ASSERT_EQUAL(m.count, 2);
    for (size_t i = 0; i < m.count; i++)
        CU_ASSERT_NOT_EQUAL(strncmp(m.entries[i].path, "data/", 5), 0);
    mnemo_manifest_cleanup(&m);
done:
    env_finish(&e);
    rec_cleanup(&r);
}

static void test_sync__missing_root_fails_with_an_error(void)
{
    env_t e;
    env_start(&e, 0, 4);
    char *root = join(e.dir, "nope");
    rec_t r;
    rec_init(&r);
    mnemo_sync_request_t req = request(root, "proj", 2);
    if (!run_sync(&e, &req, &r))
        goto done;

    CU_ASSERT_EQUAL(r.final.state, MNEMO_SYNC_FAILED);
    CU_ASSERT(r.final_error != NULL && r.final_error[0] != '\0');
    mnemo_sync_status_t s;
    CU_ASSERT_EQUAL_FATAL(persisted(&e, &s, "proj"), MNEMO_OK);
    CU_ASSERT_EQUAL(s.state, MNEMO_SYNC_FAILED);
    CU_ASSERT(s.error != NULL && s.error[0] != '\0');
    mnemo_sync_status_cleanup(&s);
    CU_ASSERT_FALSE(mnemo_syncs_running(e.syncs, "proj"));
done:
    env_finish(&e);
    rec_cleanup(&r);
    free(root);
}

int main(void)
{
    CU_pSuite s = mnemo_test_suite("sync");
    MNEMO_TEST(s, test_sync__events_report_progress_in_order);
    MNEMO_TEST(s, test_sync__resync_of_unchanged_tree_writes_no_chunks);
    MNEMO_TEST(s, test_sync__resync_indexes_only_what_changed);
    MNEMO_TEST(s, test_sync__cancel_stops_at_batch_boundary);
    MNEMO_TEST(s, test_sync__cancel_during_pause_commits_no_further_batch);
    MNEMO_TEST(s, test_sync__cancel_before_first_batch_commits_nothing);
    MNEMO_TEST(s, test_sync__cancel_after_commit_keeps_committed_batches);
    MNEMO_TEST(s, test_sync__second_start_of_same_name_is_aborted);
    MNEMO_TEST(s, test_sync__max_syncs_is_resource_exhausted);
    MNEMO_TEST(s, test_sync__watch_subscribes_and_gets_the_final);
    MNEMO_TEST(s, test_sync__unsubscribe_is_true_while_running_false_after);
    MNEMO_TEST(s, test_sync__status_is_live_while_running_notfound_after);
    MNEMO_TEST(s, test_sync__dry_run_of_new_repo_writes_nothing);
    MNEMO_TEST(s, test_sync__dry_run_of_synced_repo_changes_nothing);
    MNEMO_TEST(s, test_sync__shutdown_cancels_and_joins_running_jobs);
    MNEMO_TEST(s, test_sync__nul_and_invalid_utf8_files_are_skipped_with_reasons);
    MNEMO_TEST(s, test_sync__indexed_file_that_turns_binary_is_removed);
    MNEMO_TEST(s, test_sync__skips_of_every_event_add_up_to_the_final_count);
    MNEMO_TEST(s, test_sync__data_dir_is_never_indexed);
    MNEMO_TEST(s, test_sync__missing_root_fails_with_an_error);
    return mnemo_test_run();
}
