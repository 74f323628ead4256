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
 */
#include "sync.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
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
    mnemo_pace_t pace; /* share 100 (no pacing) unless a test sets it */
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
    mnemo_pace_init(&e->pace, 100);
    e->exclude[0] = e->data;
    mnemo_sync_env_t senv = {.repos = e->repos,
                             .lock = &e->lock,
                             .pace = &e->pace,
                             .opts = {.batch_size = 10,
                                      .batch_pause_ms = batch_pause_ms,
                                      .max_syncs = max_syncs,
                                      .max_file_bytes = 1u << 20},
                             .exclude_dirs = e->exclude,
                             .n_exclude_dirs = 1};
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

/* Loads the persisted status of name, which must exist, and checks its
 * state. *s is the caller's (mnemo_sync_status_cleanup). */
static void assert_persisted(env_t *e, mnemo_sync_status_t *s, const char *name,
                             mnemo_sync_state_t state)
{
    CU_ASSERT_EQUAL_FATAL(persisted(e, s, name), MNEMO_OK);
    CU_ASSERT_EQUAL(s->state, state);
}

/* path was reported skipped exactly once, for reason. */
static void assert_skipped_once(const rec_t *r, const char *path, const char *reason)
{
    int times = 0;
    const char *got = rec_skip_reason(r, path, &times);
    CU_ASSERT_EQUAL(times, 1);
    CU_ASSERT(got != NULL && strcmp(got, reason) == 0);
}

/* ---- the fixture ---------------------------------------------------------- */

#define NO_TREE (-1)

/* What most tests stand on: an environment (max_syncs 4), a tree "repo" in
 * it and the observer of the test's first job. */
typedef struct fixture {
    env_t e;
    char *root;    /* e.dir/repo, NULL for NO_TREE */
    int64_t bytes; /* the tree's total size */
    rec_t r;
} fixture_t;

/* n_files >= 0: root is a tree of make_tree (0: an empty directory). */
static void fixture_start(fixture_t *f, int batch_pause_ms, int n_files)
{
    env_start(&f->e, batch_pause_ms, 4);
    f->bytes = 0;
    f->root = n_files >= 0 ? make_tree(&f->e, "repo", n_files, &f->bytes) : NULL;
    rec_init(&f->r);
}

/* Shuts the environment down first: observers outlive the registry. */
static void fixture_finish(fixture_t *f)
{
    env_finish(&f->e);
    rec_cleanup(&f->r);
    free(f->root);
}

/* Starts req and waits until it has committed `batches` batches. *job is
 * set either way (NULL when the start failed) and is the caller's. False
 * when the start failed or on the hang guard. */
static bool start_until_batch(mnemo_sync_job_t **job, env_t *e, const mnemo_sync_request_t *req,
                              rec_t *r, int64_t batches)
{
    *job = start(e, req, r);
    return *job != NULL && rec_wait(r, batches);
}

/* Cancels job and waits for its final; false on the hang guard. */
static bool cancel_to_final(mnemo_sync_job_t *job, rec_t *r)
{
    mnemo_sync_job_cancel(job);
    return rec_wait_final(r);
}

/* ---- progress and events ------------------------------------------------ */

/* Every event before the final: PENDING or RUNNING, percentage never going
 * back; after the walk's event (total known, nothing done) one event per
 * committed batch, each naming its last file. The walk's index in *walk,
 * the last event's percentage in *pct. */
static void assert_events_in_order(const rec_t *r, int n_files, int batch_size, size_t *walk,
                                   double *pct)
{
    *pct = 0.0;
    *walk = r->n_events;
    CU_ASSERT_EQUAL(r->events[0].state, MNEMO_SYNC_PENDING);
    for (size_t i = 0; i < r->n_events; i++) {
        const ev_rec_t *ev = &r->events[i];
        CU_ASSERT(ev->state == MNEMO_SYNC_PENDING || ev->state == MNEMO_SYNC_RUNNING);
        CU_ASSERT(ev->progress.percentage >= *pct && ev->progress.percentage <= 100.0);
        *pct = ev->progress.percentage;
        if (*walk == r->n_events && ev->progress.total_files == n_files) {
            *walk = i;
            CU_ASSERT_EQUAL(ev->state, MNEMO_SYNC_RUNNING);
            CU_ASSERT_EQUAL(ev->progress.batches_committed, 0);
        } else if (*walk < i) {
            int64_t b = ev->progress.batches_committed;
            int last = b * batch_size - 1 < n_files - 1 ? (int)(b * batch_size - 1) : n_files - 1;
            char rel[32];
            file_name(rel, sizeof rel, last);
            CU_ASSERT_EQUAL(b, r->events[i - 1].progress.batches_committed + 1);
            CU_ASSERT_STRING_EQUAL(ev->current_path, rel);
        } else {
            CU_ASSERT_EQUAL(ev->progress.batches_committed, 0);
        }
    }
}

static void test_sync__events_report_progress_in_order(void)
{
    fixture_t f;
    fixture_start(&f, 0, 23);
    mnemo_sync_request_t req = request(f.root, "proj", 5);
    if (!run_sync(&f.e, &req, &f.r))
        goto done;

    CU_ASSERT_EQUAL(f.r.n_finals, 1);
    CU_ASSERT_FATAL(f.r.n_events >= 2);
    size_t walk;
    double pct;
    assert_events_in_order(&f.r, 23, 5, &walk, &pct);
    CU_ASSERT_FATAL(walk < f.r.n_events);
    CU_ASSERT_EQUAL(f.r.n_events - walk - 1, 5);

    const mnemo_sync_progress_t *p = &f.r.final.progress;
    CU_ASSERT_EQUAL(f.r.final.state, MNEMO_SYNC_COMPLETED);
    CU_ASSERT_PTR_NULL(f.r.final_error);
    CU_ASSERT_EQUAL(p->total_files, 23);
    CU_ASSERT_EQUAL(p->processed_files, 23);
    CU_ASSERT_EQUAL(p->unchanged_files, 0);
    CU_ASSERT_EQUAL(p->skipped_files, 0);
    CU_ASSERT_EQUAL(p->failed_files, 0);
    CU_ASSERT_EQUAL(p->deleted_files, 0);
    CU_ASSERT_EQUAL(p->batches_committed, 5);
    CU_ASSERT(p->chunks_written >= 23);
    CU_ASSERT_EQUAL(p->bytes_processed, f.bytes);
    CU_ASSERT(p->percentage == 100.0 && p->percentage >= pct);

    mnemo_sync_status_t s;
    assert_persisted(&f.e, &s, "proj", MNEMO_SYNC_COMPLETED);
    CU_ASSERT_STRING_EQUAL(s.path, f.root);
    CU_ASSERT_EQUAL(s.progress.processed_files, 23);
    CU_ASSERT_EQUAL(s.progress.batches_committed, 5);
    CU_ASSERT_EQUAL(s.progress.chunks_written, p->chunks_written);
    CU_ASSERT(s.started_at_ms > 0 && s.finished_at_ms > 0);
    mnemo_sync_status_cleanup(&s);
    assert_manifest_is_first(&f.e, "proj", 23);
    CU_ASSERT_FALSE(mnemo_syncs_running(f.e.syncs, "proj"));
done:
    fixture_finish(&f);
}

/* ---- incremental --------------------------------------------------------- */

static void test_sync__resync_of_unchanged_tree_writes_no_chunks(void)
{
    fixture_t f;
    fixture_start(&f, 0, 12);
    rec_t again;
    rec_init(&again);
    mnemo_sync_request_t req = request(f.root, "proj", 5);
    if (!run_sync(&f.e, &req, &f.r) || !run_sync(&f.e, &req, &again))
        goto done;

    CU_ASSERT(f.r.final.progress.chunks_written >= 12);
    const mnemo_sync_progress_t *p = &again.final.progress;
    CU_ASSERT_EQUAL(again.final.state, MNEMO_SYNC_COMPLETED);
    CU_ASSERT_EQUAL(p->total_files, 12);
    CU_ASSERT_EQUAL(p->chunks_written, 0);
    CU_ASSERT_EQUAL(p->processed_files, 0);
    CU_ASSERT_EQUAL(p->unchanged_files, 12);
    CU_ASSERT_EQUAL(p->bytes_processed, 0);
    CU_ASSERT_EQUAL(p->deleted_files, 0);
    CU_ASSERT_EQUAL(p->percentage, 100.0);
    assert_manifest_is_first(&f.e, "proj", 12);
done:
    fixture_finish(&f);
    rec_cleanup(&again);
}

static void remove_file(const char *dir, const char *rel)
{
    char *path = join(dir, rel);
    CU_ASSERT_EQUAL(unlink(path), 0);
    free(path);
}

static void test_sync__resync_indexes_only_what_changed(void)
{
    fixture_t f;
    fixture_start(&f, 0, 12);
    rec_t again;
    rec_init(&again);
    mnemo_sync_request_t req = request(f.root, "proj", 5);
    if (!run_sync(&f.e, &req, &f.r))
        goto done;

    /* f000: same bytes, another mtime (read, hash matches: unchanged);
     * f001: new content; f002: deleted; new.txt: added. */
    char *f000 = join(f.root, "f000.txt");
    struct timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
    CU_ASSERT_EQUAL(utimensat(AT_FDCWD, f000, times, 0), 0);
    free(f000);
    write_text(f.root, "f001.txt", "completely different and longer content here\n");
    remove_file(f.root, "f002.txt");
    write_text(f.root, "new.txt", "a brand new file\n");
    if (!run_sync(&f.e, &req, &again))
        goto done;

    const mnemo_sync_progress_t *p = &again.final.progress;
    CU_ASSERT_EQUAL(again.final.state, MNEMO_SYNC_COMPLETED);
    CU_ASSERT_EQUAL(p->total_files, 12);
    CU_ASSERT_EQUAL(p->processed_files, 2);
    CU_ASSERT_EQUAL(p->unchanged_files, 10);
    CU_ASSERT_EQUAL(p->deleted_files, 1);
    CU_ASSERT(p->chunks_written >= 2);
    mnemo_manifest_t m = manifest_of(&f.e, "proj");
    CU_ASSERT_EQUAL(m.count, 12);
    CU_ASSERT_FALSE(manifest_has(&m, "f002.txt"));
    CU_ASSERT(manifest_has(&m, "new.txt"));
    CU_ASSERT(m.count > 0 && m.entries[0].mtime_ns == 1000000000LL * 1000000000LL);
    mnemo_manifest_cleanup(&m);
done:
    fixture_finish(&f);
    rec_cleanup(&again);
}

/* ---- cancellation --------------------------------------------------------- */

static void test_sync__cancel_stops_at_batch_boundary(void)
{
    fixture_t f;
    fixture_start(&f, LONG_PAUSE_MS, 10);
    mnemo_sync_request_t req = request(f.root, "proj", 2);
    mnemo_sync_job_t *job;
    /* then the job is in its pause after batch 1 */
    if (!start_until_batch(&job, &f.e, &req, &f.r, 1) || !cancel_to_final(job, &f.r))
        goto done;

    const mnemo_sync_progress_t *p = &f.r.final.progress;
    CU_ASSERT_EQUAL(f.r.final.state, MNEMO_SYNC_CANCELLED);
    CU_ASSERT_PTR_NULL(f.r.final_error);
    CU_ASSERT(p->batches_committed >= 1 && p->batches_committed < 5);
    CU_ASSERT_EQUAL(p->processed_files, 2 * p->batches_committed);
    mnemo_sync_status_t s;
    assert_persisted(&f.e, &s, "proj", MNEMO_SYNC_CANCELLED);
    CU_ASSERT_EQUAL(s.progress.batches_committed, p->batches_committed);
    CU_ASSERT_EQUAL(s.progress.processed_files, p->processed_files);
    CU_ASSERT(s.finished_at_ms > 0);
    mnemo_sync_status_cleanup(&s);
    /* every committed file is in the manifest, no later one */
    assert_manifest_is_first(&f.e, "proj", (int)p->processed_files);
    CU_ASSERT_FALSE(mnemo_syncs_running(f.e.syncs, "proj"));
done:
    mnemo_sync_job_unref(job);
    fixture_finish(&f);
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
    fixture_t f;
    fixture_start(&f, LONG_PAUSE_MS, 10);
    rec_t r;
    rec_init(&r);
    mnemo_sync_job_t *job = NULL;
    mnemo_sync_request_t whole = request(f.root, "proj", 100); /* one batch: no pause */
    if (!run_sync(&f.e, &whole, &f.r))
        goto done;
    const char *changed[] = {"f000.txt", "f001.txt", "f003.txt", "f004.txt", "f006.txt"};
    for (size_t i = 0; i < 5; i++)
        write_text(f.root, changed[i], "changed, and longer than any file of make_tree was\n");

    mnemo_sync_request_t req = request(f.root, "proj", 2);
    if (!start_until_batch(&job, &f.e, &req, &r, 1) || !wait_live_unchanged(&f.e, "proj", 1) ||
        !cancel_to_final(job, &r))
        goto done;

    CU_ASSERT_EQUAL(r.final.state, MNEMO_SYNC_CANCELLED);
    CU_ASSERT_EQUAL(r.final.progress.batches_committed, 1);
    CU_ASSERT_EQUAL(r.final.progress.processed_files, 2);
    mnemo_manifest_t m = manifest_of(&f.e, "proj");
    CU_ASSERT_EQUAL_FATAL(m.count, 10);
    CU_ASSERT_NOT_EQUAL(m.entries[1].size, m.entries[2].size); /* f001 new, f002 old */
    CU_ASSERT_EQUAL(m.entries[3].size, m.entries[2].size);     /* f003 not written */
    mnemo_manifest_cleanup(&m);
done:
    mnemo_sync_job_unref(job);
    fixture_finish(&f);
    rec_cleanup(&r);
}

/* A job its observer cancels from the event that reports cancel_at
 * committed batches (0: the walk's event). */
typedef struct cancel_case {
    int n_files;
    int batch_size;
    int64_t cancel_at;
    int64_t committed_files; /* what the batches before the cancel hold */
} cancel_case_t;

/* Starts the case in f while holding the application lock's read side
 * until the observer knows the job, so the job cannot pass its first
 * commit (and reach its walk) before that. Then checks what every such
 * cancel leaves: CANCELLED after exactly cancel_at batches, the manifest
 * holding exactly the committed files, CANCELLED persisted (in *s, the
 * caller's). False on the hang guard (*s untouched). */
static bool run_cancel_case(fixture_t *f, const cancel_case_t *c, mnemo_sync_status_t *s)
{
    fixture_start(f, 0, c->n_files);
    mnemo_sync_request_t req = request(f->root, "proj", c->batch_size);
    pthread_rwlock_rdlock(&f->e.lock);
    mnemo_sync_job_t *job = start(&f->e, &req, &f->r);
    rec_cancel_at(&f->r, job, c->cancel_at);
    pthread_rwlock_unlock(&f->e.lock);
    bool ended = job != NULL && rec_wait_final(&f->r);
    mnemo_sync_job_unref(job);
    if (!ended)
        return false;

    CU_ASSERT_EQUAL(f->r.final.state, MNEMO_SYNC_CANCELLED);
    CU_ASSERT_EQUAL(f->r.final.progress.batches_committed, c->cancel_at);
    CU_ASSERT_EQUAL(f->r.final.progress.processed_files, c->committed_files);
    assert_manifest_is_first(&f->e, "proj", (int)c->committed_files);
    assert_persisted(&f->e, s, "proj", MNEMO_SYNC_CANCELLED);
    return true;
}

/* Cancel right after the walk (from the walk's event): no batch was begun,
 * so none may be committed. */
static void test_sync__cancel_before_first_batch_commits_nothing(void)
{
    static const cancel_case_t c = {.n_files = 6, .batch_size = 2, .cancel_at = 0};
    fixture_t f;
    mnemo_sync_status_t s;
    if (run_cancel_case(&f, &c, &s)) {
        CU_ASSERT_EQUAL(f.r.final.progress.total_files, 6);
        CU_ASSERT_EQUAL(s.progress.batches_committed, 0);
        mnemo_sync_status_cleanup(&s);
    }
    fixture_finish(&f);
}

/* Cancel just after batch 2 is committed (from its event): the job stops
 * there, with exactly those files kept. */
static void test_sync__cancel_after_commit_keeps_committed_batches(void)
{
    static const cancel_case_t c = {
        .n_files = 10, .batch_size = 3, .cancel_at = 2, .committed_files = 6};
    fixture_t f;
    mnemo_sync_status_t s;
    if (run_cancel_case(&f, &c, &s)) {
        CU_ASSERT(f.r.final.progress.percentage < 100.0);
        CU_ASSERT_EQUAL(s.progress.processed_files, 6);
        mnemo_sync_status_cleanup(&s);
    }
    fixture_finish(&f);
}

/* ---- the registry ----------------------------------------------------------- */

static void test_sync__second_start_of_same_name_is_aborted(void)
{
    fixture_t f;
    fixture_start(&f, LONG_PAUSE_MS, 10);
    rec_t refused, later;
    rec_init(&refused);
    rec_init(&later);
    mnemo_sync_request_t req = request(f.root, "proj", 3);
    mnemo_sync_job_t *job;
    if (!start_until_batch(&job, &f.e, &req, &f.r, 1))
        goto done;

    mnemo_sync_job_t *dup = NULL;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_syncs_start(f.e.syncs, &dup, &req, &refused.obs, &err), MNEMO_EABORTED);
    CU_ASSERT_PTR_NULL(dup);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "proj"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "WatchSync"));
    CU_ASSERT_EQUAL(rec_n_events(&refused), 0); /* never subscribed */

    if (!cancel_to_final(job, &f.r))
        goto done;
    /* ended: the name is free again (one batch: no pause) */
    mnemo_sync_request_t whole = request(f.root, "proj", 100);
    if (!run_sync(&f.e, &whole, &later))
        goto done;
    CU_ASSERT_EQUAL(later.final.state, MNEMO_SYNC_COMPLETED);
    assert_manifest_is_first(&f.e, "proj", 10);
    CU_ASSERT_EQUAL(refused.n_finals, 0);
done:
    mnemo_sync_job_unref(job);
    fixture_finish(&f);
    rec_cleanup(&refused);
    rec_cleanup(&later);
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

    if (!cancel_to_final(ja, &a))
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
    fixture_t f; /* f.r watches a job started without an observer */
    fixture_start(&f, 0, 7);
    mnemo_sync_request_t req = request(f.root, "proj", 3);
    mnemo_sync_job_t *watched = NULL;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_syncs_watch(f.e.syncs, &watched, "proj", &f.r.obs, &err),
                    MNEMO_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "proj"));

    pthread_rwlock_rdlock(&f.e.lock); /* holds the job before its first commit */
    mnemo_sync_job_t *job = start(&f.e, &req, NULL);
    mnemo_status_t st = mnemo_syncs_watch(f.e.syncs, &watched, "proj", &f.r.obs, &err);
    CU_ASSERT_EQUAL(st, MNEMO_OK);
    CU_ASSERT_EQUAL(rec_n_events(&f.r), 1); /* the first event, at once */
    pthread_rwlock_unlock(&f.e.lock);
    if (job == NULL || st != MNEMO_OK || !rec_wait_final(&f.r))
        goto done;

    const rec_t *w = &f.r;
    CU_ASSERT(w->events[0].state == MNEMO_SYNC_PENDING || w->events[0].state == MNEMO_SYNC_RUNNING);
    CU_ASSERT_EQUAL(w->n_finals, 1);
    CU_ASSERT_EQUAL(w->final.state, MNEMO_SYNC_COMPLETED);
    CU_ASSERT_EQUAL(w->final.progress.processed_files, 7);
    CU_ASSERT_EQUAL(w->final.progress.batches_committed, 3);
    CU_ASSERT_EQUAL(mnemo_syncs_watch(f.e.syncs, &watched, "proj", &f.r.obs, &err),
                    MNEMO_ENOTFOUND);
done:
    mnemo_sync_job_unref(job);
    mnemo_sync_job_unref(watched);
    fixture_finish(&f);
}

static void test_sync__unsubscribe_is_true_while_running_false_after(void)
{
    fixture_t f; /* f.r: the starter's observer, which unsubscribes */
    fixture_start(&f, LONG_PAUSE_MS, 6);
    rec_t *gone = &f.r;
    rec_t stays;
    rec_init(&stays);
    mnemo_sync_request_t req = request(f.root, "proj", 2);
    mnemo_sync_job_t *job, *watched = NULL;
    if (!start_until_batch(&job, &f.e, &req, gone, 1))
        goto done;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_syncs_watch(f.e.syncs, &watched, "proj", &stays.obs, &err), MNEMO_OK);
    if (watched == NULL)
        goto done;

    CU_ASSERT_TRUE(mnemo_sync_job_unsubscribe(job, &gone->obs));
    size_t seen = rec_n_events(gone);
    if (!cancel_to_final(job, &stays))
        goto done;
    CU_ASSERT_EQUAL(stays.final.state, MNEMO_SYNC_CANCELLED);
    CU_ASSERT_EQUAL(gone->n_finals, 0);
    CU_ASSERT_EQUAL(rec_n_events(gone), seen);
    CU_ASSERT_FALSE(mnemo_sync_job_unsubscribe(watched, &stays.obs));
done:
    mnemo_sync_job_unref(job);
    mnemo_sync_job_unref(watched);
    env_finish(&f.e);
    CU_ASSERT_EQUAL(gone->n_finals, 0);
    rec_cleanup(gone);
    rec_cleanup(&stays);
    free(f.root);
}

static void test_sync__status_is_live_while_running_notfound_after(void)
{
    fixture_t f;
    fixture_start(&f, LONG_PAUSE_MS, 6);
    mnemo_sync_request_t req = request(f.root, "proj", 2);
    mnemo_sync_job_t *job = start(&f.e, &req, &f.r);
    mnemo_sync_status_t s;
    memset(&s, 0, sizeof s);
    CU_ASSERT_EQUAL(mnemo_syncs_status(f.e.syncs, &s, "other", false), MNEMO_ENOTFOUND);
    if (job == NULL || !rec_wait(&f.r, 1))
        goto done;

    CU_ASSERT_TRUE(mnemo_syncs_running(f.e.syncs, "proj"));
    CU_ASSERT_FALSE(mnemo_syncs_running(f.e.syncs, "other"));
    CU_ASSERT_EQUAL_FATAL(mnemo_syncs_status(f.e.syncs, &s, "proj", false), MNEMO_OK);
    CU_ASSERT_STRING_EQUAL(s.name, "proj");
    CU_ASSERT_STRING_EQUAL(s.path, f.root);
    CU_ASSERT_EQUAL(s.state, MNEMO_SYNC_RUNNING);
    CU_ASSERT_EQUAL(s.progress.total_files, 6);
    CU_ASSERT(s.progress.batches_committed >= 1);
    CU_ASSERT_EQUAL(s.finished_at_ms, 0);
    CU_ASSERT_PTR_NULL(s.error);
    mnemo_sync_status_cleanup(&s);

    /* cancel=true: copies the status, then the job stops */
    CU_ASSERT_EQUAL_FATAL(mnemo_syncs_status(f.e.syncs, &s, "proj", true), MNEMO_OK);
    mnemo_sync_status_cleanup(&s);
    if (!rec_wait_final(&f.r))
        goto done;
    CU_ASSERT_EQUAL(f.r.final.state, MNEMO_SYNC_CANCELLED);
    CU_ASSERT_EQUAL(mnemo_syncs_status(f.e.syncs, &s, "proj", false), MNEMO_ENOTFOUND);
    CU_ASSERT_FALSE(mnemo_syncs_running(f.e.syncs, "proj"));
done:
    mnemo_sync_job_unref(job);
    fixture_finish(&f);
}

/* ---- dry run ---------------------------------------------------------------- */

static void test_sync__dry_run_of_new_repo_writes_nothing(void)
{
    fixture_t f;
    fixture_start(&f, 0, 7);
    mnemo_sync_request_t req = request(f.root, "proj", 3);
    req.dry_run = true;
    if (!run_sync(&f.e, &req, &f.r))
        goto done;

    CU_ASSERT_EQUAL(f.r.final.state, MNEMO_SYNC_COMPLETED);
    CU_ASSERT_EQUAL(f.r.final.progress.total_files, 7);
    CU_ASSERT_EQUAL(f.r.final.progress.processed_files, 7);
    CU_ASSERT(f.r.final.progress.chunks_written >= 7); /* what would be written */
    assert_manifest_is_first(&f.e, "proj", 0);
    mnemo_sync_status_t s;
    CU_ASSERT_EQUAL(persisted(&f.e, &s, "proj"), MNEMO_ENOTFOUND);
done:
    fixture_finish(&f);
}

/* The same entries: paths, sizes and hashes. */
static void assert_manifests_equal(const mnemo_manifest_t *got, const mnemo_manifest_t *want)
{
    CU_ASSERT_EQUAL(got->count, want->count);
    for (size_t i = 0; i < want->count && i < got->count; i++) {
        CU_ASSERT_STRING_EQUAL(got->entries[i].path, want->entries[i].path);
        CU_ASSERT_EQUAL(got->entries[i].size, want->entries[i].size);
        CU_ASSERT_EQUAL(memcmp(got->entries[i].sha256, want->entries[i].sha256, 32), 0);
    }
}

static void test_sync__dry_run_of_synced_repo_changes_nothing(void)
{
    fixture_t f; /* f.r: the real sync */
    fixture_start(&f, 0, 5);
    rec_t dry;
    rec_init(&dry);
    mnemo_sync_request_t req = request(f.root, "proj", 2);
    mnemo_sync_status_t before, after;
    memset(&before, 0, sizeof before);
    memset(&after, 0, sizeof after);
    if (!run_sync(&f.e, &req, &f.r))
        goto done;
    CU_ASSERT_EQUAL(persisted(&f.e, &before, "proj"), MNEMO_OK);
    mnemo_manifest_t m0 = manifest_of(&f.e, "proj");

    write_text(f.root, "f000.txt", "rewritten with a different length\n");
    remove_file(f.root, "f001.txt");
    req.dry_run = true;
    if (!run_sync(&f.e, &req, &dry)) {
        mnemo_manifest_cleanup(&m0);
        goto done;
    }
    CU_ASSERT_EQUAL(dry.final.state, MNEMO_SYNC_COMPLETED);
    CU_ASSERT_EQUAL(dry.final.progress.processed_files, 1);
    CU_ASSERT_EQUAL(dry.final.progress.deleted_files, 1);
    CU_ASSERT_EQUAL(dry.final.progress.unchanged_files, 3);

    CU_ASSERT_EQUAL(persisted(&f.e, &after, "proj"), MNEMO_OK);
    CU_ASSERT_EQUAL(after.state, before.state);
    CU_ASSERT_EQUAL(after.finished_at_ms, before.finished_at_ms);
    CU_ASSERT_EQUAL(after.progress.processed_files, 5);
    mnemo_manifest_t m1 = manifest_of(&f.e, "proj");
    assert_manifests_equal(&m1, &m0);
    mnemo_manifest_cleanup(&m0);
    mnemo_manifest_cleanup(&m1);
done:
    mnemo_sync_status_cleanup(&before);
    mnemo_sync_status_cleanup(&after);
    fixture_finish(&f);
    rec_cleanup(&dry);
}

/* ---- shutdown ------------------------------------------------------------------ */

static void test_sync__shutdown_cancels_and_joins_running_jobs(void)
{
    fixture_t f;
    fixture_start(&f, LONG_PAUSE_MS, 6);
    mnemo_sync_request_t req = request(f.root, "proj", 2);
    mnemo_sync_job_t *job;
    if (!start_until_batch(&job, &f.e, &req, &f.r, 1))
        goto done;

    mnemo_syncs_shutdown(f.e.syncs);
    /* joined: the final was delivered before shutdown returned */
    pthread_mutex_lock(&f.r.mu);
    CU_ASSERT_EQUAL(f.r.n_finals, 1);
    CU_ASSERT_EQUAL(f.r.final.state, MNEMO_SYNC_CANCELLED);
    int64_t processed = f.r.final.progress.processed_files;
    pthread_mutex_unlock(&f.r.mu);
    CU_ASSERT_FALSE(mnemo_syncs_running(f.e.syncs, "proj"));

    mnemo_err_t err = {{0}};
    mnemo_sync_job_t *late = NULL;
    CU_ASSERT_EQUAL(mnemo_syncs_start(f.e.syncs, &late, &req, NULL, &err), MNEMO_EUNAVAIL);
    CU_ASSERT_PTR_NULL(late);
    CU_ASSERT_NOT_EQUAL(err.msg[0], '\0');
    mnemo_syncs_shutdown(f.e.syncs); /* idempotent */

    mnemo_sync_status_t s;
    assert_persisted(&f.e, &s, "proj", MNEMO_SYNC_CANCELLED);
    mnemo_sync_status_cleanup(&s);
    assert_manifest_is_first(&f.e, "proj", (int)processed);
done:
    mnemo_sync_job_unref(job);
    fixture_finish(&f);
}

/* ---- skipped files ------------------------------------------------------------ */

static void test_sync__nul_and_invalid_utf8_files_are_skipped_with_reasons(void)
{
    fixture_t f;
    fixture_start(&f, 0, 0);
    write_text(f.root, "a_good.txt", "plain text\n");
    write_file(f.root, "b_nul_first.txt", "\0hello\n", 7);
    static char late[9000 + 8];
    memset(late, 'a', 9000); /* past the walker's 8 KiB sniff */
    memcpy(late + 9000, "\0tail\n", 6);
    write_file(f.root, "c_nul_late.txt", late, 9006);
    write_file(f.root, "d_nul_last.txt", "hello\n\0", 7);
    write_text(f.root, "e_latin1.txt", "caf\xe9\n");
    write_text(f.root, "f_overlong.txt", "slash \xc0\xaf\n");
    write_text(f.root, "g_surrogate.txt", "\xed\xa0\x80\n");
    write_text(f.root, "h_cut.txt", "cut \xe2\x82");
    mnemo_sync_request_t req = request(f.root, "proj", 3);
    if (!run_sync(&f.e, &req, &f.r))
        goto done;

    const mnemo_sync_progress_t *p = &f.r.final.progress;
    CU_ASSERT_EQUAL(f.r.final.state, MNEMO_SYNC_COMPLETED);
    CU_ASSERT_EQUAL(p->total_files, 8);
    CU_ASSERT_EQUAL(p->processed_files, 1);
    CU_ASSERT_EQUAL(p->skipped_files, 7);
    CU_ASSERT_EQUAL(p->failed_files, 0);
    CU_ASSERT_EQUAL(rec_skips_reported(&f.r), (size_t)(p->skipped_files + p->failed_files));
    const char *binary[] = {"b_nul_first.txt", "c_nul_late.txt", "d_nul_last.txt"};
    const char *bad[] = {"e_latin1.txt", "f_overlong.txt", "g_surrogate.txt", "h_cut.txt"};
    for (size_t i = 0; i < 3; i++)
        assert_skipped_once(&f.r, binary[i], "binary");
    for (size_t i = 0; i < 4; i++)
        assert_skipped_once(&f.r, bad[i], "not valid UTF-8");
    mnemo_manifest_t m = manifest_of(&f.e, "proj");
    CU_ASSERT_EQUAL(m.count, 1);
    CU_ASSERT(m.count == 1 && strcmp(m.entries[0].path, "a_good.txt") == 0);
    mnemo_manifest_cleanup(&m);
done:
    fixture_finish(&f);
}

static void test_sync__indexed_file_that_turns_binary_is_removed(void)
{
    fixture_t f;
    fixture_start(&f, 0, 3);
    rec_t again;
    rec_init(&again);
    mnemo_sync_request_t req = request(f.root, "proj", 2);
    if (!run_sync(&f.e, &req, &f.r))
        goto done;
    static const char bin[] = "now \0 binary, and longer than before\n";
    write_file(f.root, "f001.txt", bin, sizeof bin - 1);
    if (!run_sync(&f.e, &req, &again))
        goto done;

    CU_ASSERT_EQUAL(again.final.progress.skipped_files, 1);
    CU_ASSERT_EQUAL(again.final.progress.deleted_files, 1);
    CU_ASSERT_EQUAL(again.final.progress.unchanged_files, 2);
    assert_skipped_once(&again, "f001.txt", "binary");
    mnemo_manifest_t m = manifest_of(&f.e, "proj");
    CU_ASSERT_EQUAL(m.count, 2);
    CU_ASSERT_FALSE(manifest_has(&m, "f001.txt"));
    mnemo_manifest_cleanup(&m);
done:
    fixture_finish(&f);
    rec_cleanup(&again);
}

/* More skips than one event carries (100), from the walk and from batches:
 * each is reported exactly once and they add up to the final count. */
static void test_sync__skips_of_every_event_add_up_to_the_final_count(void)
{
    fixture_t f;
    fixture_start(&f, 0, 0);
    for (int i = 0; i < 130; i++) {
        char rel[32];
        snprintf(rel, sizeof rel, "bad%03d.txt", i);
        write_text(f.root, rel, i % 2 ? "\xff\xfe" : "x\x80y");
    }
    write_text(f.root, "good1.txt", "one\n");
    write_text(f.root, "good2.txt", "two\n");
    char *link = join(f.root, "link");
    CU_ASSERT_EQUAL(symlink("good1.txt", link), 0);
    free(link);
    mnemo_sync_request_t req = request(f.root, "proj", 200);
    if (!run_sync(&f.e, &req, &f.r))
        goto done;

    const mnemo_sync_progress_t *p = &f.r.final.progress;
    CU_ASSERT_EQUAL(f.r.final.state, MNEMO_SYNC_COMPLETED);
    CU_ASSERT_EQUAL(p->processed_files, 2);
    CU_ASSERT_EQUAL(p->skipped_files, 131);
    CU_ASSERT_EQUAL(rec_skips_reported(&f.r), 131);
    CU_ASSERT_EQUAL(f.r.n_skips, 131);
    for (size_t i = 0; i < f.r.n_events; i++)
        CU_ASSERT(f.r.events[i].n_skipped <= 100);
    assert_skipped_once(&f.r, "link", "symlink");
    for (int i = 0; i < 130; i++) {
        char rel[32];
        snprintf(rel, sizeof rel, "bad%03d.txt", i);
        assert_skipped_once(&f.r, rel, "not valid UTF-8");
    }
done:
    fixture_finish(&f);
}

/* The server's data directory under the synced root is never indexed. */
static void test_sync__data_dir_is_never_indexed(void)
{
    fixture_t f;
    fixture_start(&f, 0, NO_TREE);
    write_text(f.e.dir, "one.txt", "first\n");
    write_text(f.e.dir, "two.txt", "second\n");
    mnemo_sync_request_t req = request(f.e.dir, "self", 10);
    if (!run_sync(&f.e, &req, &f.r))
        goto done;

    CU_ASSERT_EQUAL(f.r.final.state, MNEMO_SYNC_COMPLETED);
    CU_ASSERT_EQUAL(f.r.final.progress.total_files, 2);
    CU_ASSERT_EQUAL(f.r.final.progress.processed_files, 2);
    assert_skipped_once(&f.r, "data", "excluded");
    mnemo_manifest_t m = manifest_of(&f.e, "self");
    CU_ASSERT_EQUAL(m.count, 2);
    for (size_t i = 0; i < m.count; i++)
        CU_ASSERT_NOT_EQUAL(strncmp(m.entries[i].path, "data/", 5), 0);
    mnemo_manifest_cleanup(&m);
done:
    fixture_finish(&f);
}

/* Notes a request every millisecond until stop, as a client would. */
typedef struct requester {
    mnemo_pace_t *pace;
    atomic_bool stop;
} requester_t;

static void *note_requests(void *arg)
{
    requester_t *q = arg;
    while (!atomic_load(&q->stop)) {
        mnemo_pace_note_request(q->pace);
        nanosleep(&(struct timespec){0, 1000000L}, NULL);
    }
    return NULL;
}

/* n files of about 32 KiB each: enough tokenizing for several quanta. */
static char *make_big_tree(env_t *e, const char *name, int n)
{
    char *root = join(e->dir, name);
    CU_ASSERT_EQUAL(mkdir(root, 0755), 0);
    size_t cap = 32 * 1024, len = 0;
    char *text = xrealloc(NULL, cap + 64);
    for (int i = 0; i < n; i++) {
        char rel[32];
        file_name(rel, sizeof rel, i);
        for (len = 0; len < cap;)
            len += (size_t)snprintf(text + len, 64, "int ident_%d_%zu = %zu;\n", i, len, len * 7);
        write_file(root, rel, text, len);
    }
    free(text);
    return root;
}

static void test_sync__paces_itself_while_requests_arrive(void)
{
    fixture_t f;
    fixture_start(&f, 0, -1);
    char *root = make_big_tree(&f.e, "big", 40);
    rec_t quiet;
    rec_init(&quiet);
    mnemo_sync_request_t req = request(root, "quiet", 10);
    /* No requests: flat out, even at the smallest share. */
    mnemo_pace_init(&f.e.pace, 1);
    if (!run_sync(&f.e, &req, &quiet))
        goto done;
    CU_ASSERT_EQUAL(quiet.final.state, MNEMO_SYNC_COMPLETED);
    CU_ASSERT_EQUAL(quiet.final.progress.paced_ms, 0);

    f.e.pace.busy_limit = -1; /* count the machine as busy, whatever its load */
    requester_t q = {.pace = &f.e.pace};
    pthread_t t;
    pthread_create(&t, NULL, note_requests, &q);
    req = request(root, "busy", 10);
    bool ended = run_sync(&f.e, &req, &f.r);
    atomic_store(&q.stop, true);
    pthread_join(t, NULL);
    if (!ended)
        goto done;
    const mnemo_sync_progress_t *p = &f.r.final.progress;
    CU_ASSERT_EQUAL(f.r.final.state, MNEMO_SYNC_COMPLETED);
    CU_ASSERT_EQUAL(p->processed_files, 40);
    CU_ASSERT(p->paced_ms > 0);
    mnemo_sync_status_t s;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL_FATAL(mnemo_repos_get_status(f.e.repos, &s, "busy", &err), MNEMO_OK);
    CU_ASSERT_EQUAL(s.progress.paced_ms, p->paced_ms); /* persisted with the final state */
    mnemo_sync_status_cleanup(&s);
done:
    rec_cleanup(&quiet);
    free(root);
    fixture_finish(&f);
}

static void test_sync__missing_root_fails_with_an_error(void)
{
    fixture_t f;
    fixture_start(&f, 0, NO_TREE);
    f.root = join(f.e.dir, "nope");
    mnemo_sync_request_t req = request(f.root, "proj", 2);
    if (!run_sync(&f.e, &req, &f.r))
        goto done;

    CU_ASSERT_EQUAL(f.r.final.state, MNEMO_SYNC_FAILED);
    CU_ASSERT(f.r.final_error != NULL && f.r.final_error[0] != '\0');
    mnemo_sync_status_t s;
    assert_persisted(&f.e, &s, "proj", MNEMO_SYNC_FAILED);
    CU_ASSERT(s.error != NULL && s.error[0] != '\0');
    mnemo_sync_status_cleanup(&s);
    CU_ASSERT_FALSE(mnemo_syncs_running(f.e.syncs, "proj"));
done:
    fixture_finish(&f);
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
    MNEMO_TEST(s, test_sync__paces_itself_while_requests_arrive);
    return mnemo_test_run();
}
