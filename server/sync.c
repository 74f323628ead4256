/* sync.c - repository sync jobs (see sync.h).
 *
 * DESIGN: the registry (mnemo_syncs_t) keeps every job from start until its
 * thread is joined: running jobs are looked up by name; finished ones are
 * reaped (joined) by the next start or by shutdown, so no thread is ever
 * left behind. A job's status snapshot, pending skips and observers live
 * under job->mu; the registry's list under syncs->mu; lock order is
 * syncs->mu, then job->mu. The job thread holds neither while reading files
 * or committing; it takes the code index lock's write side only inside
 * commit_batch(). While interactive requests arrive, the job thread paces
 * itself after every file (pace.h).
 *
 * Threads: job threads run run_job(); everything else is called from CQ
 * threads or the main thread (shutdown).
 */
#include "sync.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bytes.h"
#include "diff.h"
#include "hash.h"
#include "log.h"
#include "thread.h"

#define EVENT_MAX_SKIPS 100

struct mnemo_sync_job {
    atomic_int refs;
    mnemo_syncs_t *syncs;
    pthread_t thread;
    bool started;  /* thread created (under syncs->mu) */
    bool finished; /* run_job returned (under syncs->mu) */
    char *path;
    bool full;
    bool dry_run;
    int batch_size;
    atomic_bool cancel;
    atomic_bool asked;           /* a client cancelled it (not the server's shutdown) */
    mnemo_pacer_t pacer;         /* the job thread's CPU use (job thread only) */
    int64_t paced_ns;            /* paused so far (job thread only) */
    struct mnemo_sync_job *next; /* registry list (syncs->mu) */

    pthread_mutex_t mu; /* guards everything below */
    mnemo_sync_status_t status;
    int64_t files_done; /* walk files dealt with, for the percentage */
    char *current_path;
    mnemo_walk_skip_t *skips; /* pending for the next event (owned copies) */
    size_t n_skips;
    size_t cap_skips;
    mnemo_sync_observer_t *observers;
    bool done; /* final event delivered; no more observers */
};

/* The counters of mnemo_sync_stats_t, relaxed atomics: each is added to by
 * one job thread at a time per event and read by a metrics scrape. */
typedef struct stats {
    atomic_uint_fast64_t running, files, chunks, bytes, batches, paced_ns;
    atomic_uint_fast64_t finished[7];
} stats_t;

struct mnemo_syncs {
    mnemo_sync_env_t env;
    pthread_mutex_t mu;
    mnemo_sync_job_t *jobs;
    bool shut;
    stats_t stats;
};

static void stat_add(atomic_uint_fast64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

mnemo_syncs_t *mnemo_syncs_create(const mnemo_sync_env_t *env)
{
    mnemo_syncs_t *s = mnemo_xcalloc(1, sizeof *s);
    s->env = *env;
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

/* ---- job lifetime ---------------------------------------------------- */

static void free_skips(mnemo_walk_skip_t *skips, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(skips[i].path);
    free(skips);
}

static void job_ref(mnemo_sync_job_t *job)
{
    atomic_fetch_add(&job->refs, 1);
}

void mnemo_sync_job_unref(mnemo_sync_job_t *job)
{
    if (job == NULL || atomic_fetch_sub(&job->refs, 1) != 1)
        return;
    mnemo_sync_status_cleanup(&job->status);
    free(job->current_path);
    free_skips(job->skips, job->n_skips);
    free(job->path);
    pthread_mutex_destroy(&job->mu);
    free(job);
}

void mnemo_sync_job_cancel(mnemo_sync_job_t *job)
{
    atomic_store(&job->asked, true);
    atomic_store(&job->cancel, true);
}

static mnemo_sync_job_t *job_create(mnemo_syncs_t *syncs, const mnemo_sync_request_t *req)
{
    mnemo_sync_job_t *job = mnemo_xcalloc(1, sizeof *job);
    atomic_init(&job->refs, 1); /* the registry's */
    atomic_init(&job->cancel, false);
    atomic_init(&job->asked, false);
    job->syncs = syncs;
    job->path = mnemo_xstrdup(req->path);
    job->full = req->full;
    job->dry_run = req->dry_run;
    job->batch_size = req->batch_size > 0 ? req->batch_size : syncs->env.opts.batch_size;
    pthread_mutex_init(&job->mu, NULL);
    snprintf(job->status.name, sizeof job->status.name, "%s", req->name);
    job->status.path = mnemo_xstrdup(req->path);
    job->status.state = MNEMO_SYNC_PENDING;
    job->status.started_at_ms = now_ms();
    job->status.background = req->background;
    job->current_path = mnemo_xstrdup("");
    return job;
}

/* ---- events ----------------------------------------------------------- */

/* Queues a skip for the next event; count=false when the batch that found
 * it already counted it (as skipped or failed). */
static void add_skip_locked(mnemo_sync_job_t *job, const char *path, const char *reason, bool count)
{
    if (count)
        job->status.progress.skipped_files++;
    if (job->n_skips == job->cap_skips) {
        job->cap_skips = job->cap_skips ? job->cap_skips * 2 : 64;
        job->skips = mnemo_xrealloc(job->skips, job->cap_skips * sizeof *job->skips);
    }
    job->skips[job->n_skips].path = mnemo_xstrdup(path);
    job->skips[job->n_skips++].reason = reason;
}

/* Hands the snapshot and up to EVENT_MAX_SKIPS pending skips (all of them
 * for the final event) to every observer. server_stopped: see
 * mnemo_sync_event_t (final events only). */
static void publish_locked(mnemo_sync_job_t *job, bool final, bool server_stopped)
{
    size_t n = final || job->n_skips < EVENT_MAX_SKIPS ? job->n_skips : EVENT_MAX_SKIPS;
    mnemo_sync_event_t ev = {&job->status, job->current_path, job->skips, n, server_stopped};
    mnemo_sync_observer_t *obs = job->observers;
    if (final) {
        job->observers = NULL;
        job->done = true;
    }
    while (obs != NULL) {
        mnemo_sync_observer_t *next = obs->next;
        if (final)
            obs->on_final(obs, &ev);
        else
            obs->on_event(obs, &ev);
        obs = next;
    }
    for (size_t i = 0; i < n; i++)
        free(job->skips[i].path);
    if (n > 0 && job->n_skips > n)
        memmove(job->skips, job->skips + n, (job->n_skips - n) * sizeof *job->skips);
    job->n_skips -= n;
}

static void subscribe_locked(mnemo_sync_job_t *job, mnemo_sync_observer_t *obs)
{
    mnemo_sync_event_t ev = {&job->status, job->current_path, NULL, 0, false};
    obs->next = job->observers;
    job->observers = obs;
    obs->on_event(obs, &ev);
}

bool mnemo_sync_job_unsubscribe(mnemo_sync_job_t *job, mnemo_sync_observer_t *obs)
{
    bool found = false;
    pthread_mutex_lock(&job->mu);
    for (mnemo_sync_observer_t **p = &job->observers; *p != NULL; p = &(*p)->next) {
        if (*p == obs) {
            *p = obs->next;
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&job->mu);
    return found;
}

static void update_percentage_locked(mnemo_sync_job_t *job)
{
    mnemo_sync_progress_t *p = &job->status.progress;
    double pct =
        p->total_files > 0 ? 100.0 * (double)job->files_done / (double)p->total_files : 0.0;
    if (pct > 100.0)
        pct = 100.0;
    if (pct > p->percentage) /* never backwards */
        p->percentage = pct;
}

/* ---- the job thread ---------------------------------------------------- */

typedef enum work_kind { WORK_PUT, WORK_REMOVE } work_kind_t;

typedef struct work {
    work_kind_t kind;
    const mnemo_walk_file_t *file;     /* WORK_PUT */
    const mnemo_manifest_entry_t *old; /* previous entry, or NULL */
} work_t;

/* What one batch did, applied to the job only once it is committed. */
typedef struct batch_state {
    mnemo_sync_progress_t progress;
    int64_t files_done;
    mnemo_walk_skip_t *skips;
    size_t n_skips;
    size_t cap_skips;
    const char *current_path;
} batch_state_t;

static void batch_skip(batch_state_t *bs, const char *path, const char *reason, bool failed)
{
    if (failed)
        bs->progress.failed_files++;
    else
        bs->progress.skipped_files++;
    if (bs->n_skips == bs->cap_skips) {
        bs->cap_skips = bs->cap_skips ? bs->cap_skips * 2 : 16;
        bs->skips = mnemo_xrealloc(bs->skips, bs->cap_skips * sizeof *bs->skips);
    }
    bs->skips[bs->n_skips].path = mnemo_xstrdup(path);
    bs->skips[bs->n_skips++].reason = reason;
}

static void set_state(mnemo_sync_job_t *job, mnemo_sync_state_t state)
{
    pthread_mutex_lock(&job->mu);
    job->status.state = state;
    pthread_mutex_unlock(&job->mu);
}

/* Copies the job's status with progress replaced (strings borrowed). */
static mnemo_sync_status_t status_with(mnemo_sync_job_t *job, const mnemo_sync_progress_t *p)
{
    pthread_mutex_lock(&job->mu);
    mnemo_sync_status_t snap = job->status;
    pthread_mutex_unlock(&job->mu);
    if (p != NULL)
        snap.progress = *p;
    return snap;
}

/* Records the checkpoint and commits the batch under the write lock. */
static mnemo_status_t commit_batch(mnemo_sync_job_t *job, mnemo_repos_batch_t *batch,
                                   const mnemo_sync_status_t *snap, mnemo_err_t *err)
{
    if (job->dry_run)
        return MNEMO_OK;
    mnemo_repos_batch_set_status(batch, snap);
    pthread_rwlock_wrlock(job->syncs->env.lock);
    mnemo_status_t st = mnemo_repos_commit(batch, err);
    pthread_rwlock_unlock(job->syncs->env.lock);
    return st;
}

static void put_file(mnemo_sync_job_t *job, mnemo_repos_batch_t *batch, const work_t *w,
                     batch_state_t *bs)
{
    const mnemo_sync_env_t *env = &job->syncs->env;
    char *data = NULL;
    size_t len = 0;
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    const char *reason = NULL;
    mnemo_err_t err;
    mnemo_status_t st = mnemo_walk_read_file(&data, &len, &size, &mtime_ns, &reason, job->path,
                                             w->file->path, env->opts.max_file_bytes, &err);
    bs->files_done++;
    bs->current_path = w->file->path;
    if (st == MNEMO_EPRECOND) {
        batch_skip(bs, w->file->path, reason, false);
        if (w->old != NULL &&
            (job->dry_run || mnemo_repos_batch_remove_file(batch, w->old, &err) == MNEMO_OK))
            bs->progress.deleted_files++;
        return;
    }
    if (st != MNEMO_OK) {
        batch_skip(bs, w->file->path, "unreadable", true);
        return;
    }
    uint8_t sha[MNEMO_SHA256_LEN];
    mnemo_sha256(data, len, sha);
    if (w->old != NULL && !job->full && memcmp(sha, w->old->sha256, sizeof sha) == 0) {
        if (!job->dry_run)
            mnemo_repos_batch_touch_file(batch, w->old, size, mtime_ns);
        bs->progress.unchanged_files++;
    } else if (job->dry_run) {
        /* Count what would be written; the batch stays empty. */
        mnemo_chunk_t *chunks = NULL;
        bs->progress.chunks_written += (int64_t)mnemo_chunk_text(&chunks, data, len, NULL);
        bs->progress.processed_files++;
        bs->progress.bytes_processed += (int64_t)len;
        free(chunks);
    } else {
        size_t chunks = 0;
        if (mnemo_repos_batch_put_file(batch, w->old, w->file->path, size, mtime_ns, sha, data, len,
                                       NULL, &chunks, &err) == MNEMO_OK) {
            bs->progress.processed_files++;
            bs->progress.chunks_written += (int64_t)chunks;
            bs->progress.bytes_processed += (int64_t)len;
        } else {
            batch_skip(bs, w->file->path, "cannot index", true);
        }
    }
    free(data);
}

/* Makes a committed batch visible: progress, skips and an event. */
static void apply_batch(mnemo_sync_job_t *job, batch_state_t *bs)
{
    pthread_mutex_lock(&job->mu);
    job->status.progress = bs->progress;
    job->files_done = bs->files_done;
    if (bs->current_path != NULL) {
        free(job->current_path);
        job->current_path = mnemo_xstrdup(bs->current_path);
    }
    for (size_t i = 0; i < bs->n_skips; i++)
        add_skip_locked(job, bs->skips[i].path, bs->skips[i].reason, false);
    update_percentage_locked(job);
    publish_locked(job, false, false);
    pthread_mutex_unlock(&job->mu);
}

/* Adds what a committed batch did (p against the job's progress before
 * it) to the registry's counters. */
static void count_batch(mnemo_sync_job_t *job, const mnemo_sync_progress_t *p)
{
    if (job->dry_run)
        return;
    stats_t *s = &job->syncs->stats;
    pthread_mutex_lock(&job->mu);
    mnemo_sync_progress_t before = job->status.progress;
    pthread_mutex_unlock(&job->mu);
    stat_add(&s->files, (uint64_t)(p->processed_files - before.processed_files));
    stat_add(&s->chunks, (uint64_t)(p->chunks_written - before.chunks_written));
    stat_add(&s->bytes, (uint64_t)(p->bytes_processed - before.bytes_processed));
    stat_add(&s->batches, 1);
}

/* Reads, chunks and commits one batch of work; nothing of it is visible
 * unless the commit succeeds. Cancellation is checked between batches only:
 * dropping a half-built batch would leave the index statistics counting
 * postings that were never written. */
static mnemo_status_t run_batch(mnemo_sync_job_t *job, mnemo_repos_batch_t *batch,
                                const work_t *work, size_t n, mnemo_err_t *err)
{
    batch_state_t bs = {0};
    pthread_mutex_lock(&job->mu);
    bs.progress = job->status.progress;
    bs.files_done = job->files_done;
    pthread_mutex_unlock(&job->mu);
    mnemo_status_t st = MNEMO_OK;
    for (size_t i = 0; i < n && st == MNEMO_OK; i++) {
        if (work[i].kind == WORK_REMOVE) {
            if (!job->dry_run)
                st = mnemo_repos_batch_remove_file(batch, work[i].old, err);
            bs.progress.deleted_files++;
        } else {
            put_file(job, batch, &work[i], &bs);
        }
        if (!atomic_load(&job->cancel)) {
            int64_t paused = mnemo_pace_yield(job->syncs->env.pace, &job->pacer);
            job->paced_ns += paused;
            stat_add(&job->syncs->stats.paced_ns, (uint64_t)paused);
            bs.progress.paced_ms = job->paced_ns / 1000000;
        }
    }
    if (st == MNEMO_OK) {
        bs.progress.batches_committed++;
        mnemo_sync_status_t snap = status_with(job, &bs.progress);
        st = commit_batch(job, batch, &snap, err);
    }
    if (st == MNEMO_OK) {
        count_batch(job, &bs.progress);
        apply_batch(job, &bs);
    }
    free_skips(bs.skips, bs.n_skips);
    return st;
}

static void pause_between_batches(mnemo_sync_job_t *job)
{
    int left = job->syncs->env.opts.batch_pause_ms;
    while (left > 0 && !atomic_load(&job->cancel)) {
        int step = left < 20 ? left : 20;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        left -= step;
    }
}

/* Walks the repository and publishes the total and the walk's skips. */
static mnemo_status_t walk_repository(mnemo_sync_job_t *job, mnemo_walk_result_t *walk,
                                      mnemo_err_t *err)
{
    const mnemo_sync_env_t *env = &job->syncs->env;
    mnemo_walk_options_t opts = {
        .max_file_bytes = env->opts.max_file_bytes,
        .exclude_dirs = env->exclude_dirs,
        .n_exclude_dirs = env->n_exclude_dirs,
        .cancel = &job->cancel,
    };
    mnemo_status_t st = mnemo_walk(walk, job->path, &opts, err);
    if (st != MNEMO_OK)
        return st;
    pthread_mutex_lock(&job->mu);
    job->status.progress.total_files = (int64_t)walk->n_files;
    for (size_t i = 0; i < walk->n_skips; i++)
        add_skip_locked(job, walk->skips[i].path, walk->skips[i].reason, true);
    publish_locked(job, false, false);
    pthread_mutex_unlock(&job->mu);
    return MNEMO_OK;
}

/* The batch being filled by the diff of walk and manifest. */
typedef struct planner {
    mnemo_sync_job_t *job;
    mnemo_repos_batch_t *batch;
    work_t *work;
    size_t n;
    size_t batches;
    mnemo_status_t st;
    mnemo_err_t *err;
} planner_t;

static bool flush(planner_t *p)
{
    if (p->n == 0)
        return true;
    if (p->batches++ > 0)
        pause_between_batches(p->job);
    /* A cancel during the walk or the pause stops before this batch. */
    if (atomic_load(&p->job->cancel)) {
        p->st = MNEMO_ECANCELLED;
        return false;
    }
    p->st = run_batch(p->job, p->batch, p->work, p->n, p->err);
    p->n = 0;
    if (p->st == MNEMO_OK && atomic_load(&p->job->cancel))
        p->st = MNEMO_ECANCELLED;
    return p->st == MNEMO_OK;
}

static bool plan(void *ctx, const mnemo_diff_item_t *item)
{
    planner_t *p = ctx;
    if (item->kind == MNEMO_DIFF_UNCHANGED) {
        /* Not even read; counted now, checkpointed with the next batch. */
        pthread_mutex_lock(&p->job->mu);
        p->job->status.progress.unchanged_files++;
        p->job->files_done++;
        pthread_mutex_unlock(&p->job->mu);
        return true;
    }
    bool removal = item->kind == MNEMO_DIFF_DELETED;
    p->work[p->n++] = (work_t){removal ? WORK_REMOVE : WORK_PUT, item->file, item->old};
    return p->n < (size_t)p->job->batch_size || flush(p);
}

/* Turns the diff of walk and manifest into batches of work. */
static mnemo_status_t process(mnemo_sync_job_t *job, const mnemo_walk_result_t *walk,
                              const mnemo_manifest_t *man, mnemo_repos_batch_t *batch,
                              mnemo_err_t *err)
{
    planner_t p = {job,      batch, mnemo_xcalloc((size_t)job->batch_size, sizeof(work_t)), 0, 0,
                   MNEMO_OK, err};
    if (mnemo_diff(walk, man, job->full, plan, &p))
        flush(&p);
    free(p.work);
    if (p.st == MNEMO_OK && atomic_load(&job->cancel))
        p.st = MNEMO_ECANCELLED;
    return p.st;
}

/* Persists and publishes the final state; marks the job finished first so
 * a new sync of the same repository may start once the event is out. */
static mnemo_sync_state_t final_state(mnemo_status_t st)
{
    return st == MNEMO_OK           ? MNEMO_SYNC_COMPLETED
           : st == MNEMO_ECANCELLED ? MNEMO_SYNC_CANCELLED
                                    : MNEMO_SYNC_FAILED;
}

/* Commits the final state first, then makes it visible and marks the job
 * finished in one step (under both locks): whoever reads the final state
 * also finds the repository free for a new sync or a delete. */
static void finish_job(mnemo_sync_job_t *job, mnemo_repos_batch_t *batch, mnemo_status_t st,
                       const mnemo_err_t *err)
{
    pthread_mutex_lock(&job->mu);
    mnemo_sync_status_t snap = job->status;
    pthread_mutex_unlock(&job->mu);
    snap.state = final_state(st);
    snap.error = NULL;
    if (st != MNEMO_OK && st != MNEMO_ECANCELLED)
        snap.error = mnemo_xstrdup(err->msg[0] ? err->msg : mnemo_status_text(st));
    if (st == MNEMO_OK)
        snap.progress.percentage = 100.0;
    snap.finished_at_ms = now_ms();
    mnemo_err_t commit_err;
    if (batch != NULL && commit_batch(job, batch, &snap, &commit_err) != MNEMO_OK)
        mnemo_log(MNEMO_LOG_ERROR, "sync %s: cannot record the final state: %s", snap.name,
                  commit_err.msg);
    pthread_mutex_lock(&job->syncs->mu);
    pthread_mutex_lock(&job->mu);
    free(job->status.error);
    job->status.state = snap.state;
    job->status.error = snap.error;
    job->status.progress.percentage = snap.progress.percentage;
    job->status.finished_at_ms = snap.finished_at_ms;
    job->finished = true;
    stat_add(&job->syncs->stats.finished[snap.state], 1);
    atomic_fetch_sub_explicit(&job->syncs->stats.running, 1, memory_order_relaxed);
    /* Under syncs->mu: shut cannot change while the event goes out. A sync
     * a client cancelled before the shutdown stays cancelled: its stream
     * must not end with a status that clients retry. */
    publish_locked(job, true,
                   job->syncs->shut && snap.state == MNEMO_SYNC_CANCELLED &&
                       !atomic_load(&job->asked));
    pthread_mutex_unlock(&job->mu);
    pthread_mutex_unlock(&job->syncs->mu);
}

static void *run_job(void *arg)
{
    mnemo_sync_job_t *job = arg;
    mnemo_thread_name("mnemod-sync");
    mnemo_thread_background(); /* memory RPCs go first on a busy machine */
    mnemo_pacer_init(&job->pacer);
    mnemo_repos_t *repos = job->syncs->env.repos;
    mnemo_err_t err = {{0}};
    mnemo_walk_result_t walk = {0};
    mnemo_manifest_t manifest = {0};
    pthread_rwlock_rdlock(job->syncs->env.lock);
    mnemo_repos_batch_t *batch = mnemo_repos_batch_create(repos, job->status.name);
    pthread_rwlock_unlock(job->syncs->env.lock);

    set_state(job, MNEMO_SYNC_RUNNING);
    stat_add(&job->syncs->stats.running, 1);
    /* Persist RUNNING first: a crash from here on reads INTERRUPTED. */
    mnemo_sync_status_t snap = status_with(job, NULL);
    mnemo_status_t st = commit_batch(job, batch, &snap, &err);
    if (st == MNEMO_OK)
        st = walk_repository(job, &walk, &err);
    if (st == MNEMO_OK) {
        pthread_rwlock_rdlock(job->syncs->env.lock);
        st = mnemo_repos_load_manifest(repos, &manifest, job->status.name, &err);
        pthread_rwlock_unlock(job->syncs->env.lock);
    }
    if (st == MNEMO_OK)
        st = process(job, &walk, &manifest, batch, &err);
    finish_job(job, job->dry_run ? NULL : batch, st, &err);
    mnemo_repos_batch_destroy(batch);
    mnemo_manifest_cleanup(&manifest);
    mnemo_walk_result_cleanup(&walk);
    mnemo_heap_give_back(); /* the walk, the manifest, the batches */
    return NULL;
}

/* ---- the registry ------------------------------------------------------ */

/* Unlinks finished jobs; the caller joins them (reap_join) after dropping
 * syncs->mu, so a registry call never waits for a job's cleanup. */
static mnemo_sync_job_t *reap_locked(mnemo_syncs_t *syncs)
{
    mnemo_sync_job_t *done = NULL;
    for (mnemo_sync_job_t **p = &syncs->jobs; *p != NULL;) {
        mnemo_sync_job_t *job = *p;
        if (!job->finished) {
            p = &job->next;
            continue;
        }
        *p = job->next;
        job->next = done;
        done = job;
    }
    return done;
}

static void reap_join(mnemo_sync_job_t *done)
{
    while (done != NULL) {
        mnemo_sync_job_t *next = done->next;
        pthread_join(done->thread, NULL);
        mnemo_sync_job_unref(done);
        done = next;
    }
}

static mnemo_sync_job_t *find_running_locked(mnemo_syncs_t *syncs, const char *name)
{
    for (mnemo_sync_job_t *job = syncs->jobs; job != NULL; job = job->next)
        if (!job->finished && strcmp(job->status.name, name) == 0)
            return job;
    return NULL;
}

static mnemo_status_t admit_locked(mnemo_syncs_t *syncs, const char *name, mnemo_err_t *err)
{
    if (syncs->shut)
        return mnemo_err_set(err, MNEMO_EUNAVAIL, "server is shutting down");
    if (find_running_locked(syncs, name) != NULL)
        return mnemo_err_set(err, MNEMO_EABORTED,
                             "repository_name: '%s' is already syncing; use WatchSync to follow "
                             "it or CancelSync to stop it",
                             name);
    int running = 0;
    for (mnemo_sync_job_t *job = syncs->jobs; job != NULL; job = job->next)
        running += !job->finished;
    if (running >= syncs->env.opts.max_syncs)
        return mnemo_err_set(err, MNEMO_ERESOURCE,
                             "%d syncs are already running (the server's --max-syncs); retry "
                             "when one ends",
                             running);
    return MNEMO_OK;
}

mnemo_status_t mnemo_syncs_start(mnemo_syncs_t *syncs, mnemo_sync_job_t **out,
                                 const mnemo_sync_request_t *req, mnemo_sync_observer_t *obs,
                                 mnemo_err_t *err)
{
    pthread_mutex_lock(&syncs->mu);
    mnemo_sync_job_t *done = reap_locked(syncs);
    mnemo_status_t st = admit_locked(syncs, req->name, err);
    if (st != MNEMO_OK) {
        pthread_mutex_unlock(&syncs->mu);
        reap_join(done);
        return st;
    }
    mnemo_sync_job_t *job = job_create(syncs, req);
    if (obs != NULL) {
        pthread_mutex_lock(&job->mu);
        subscribe_locked(job, obs);
        pthread_mutex_unlock(&job->mu);
    }
    if (pthread_create(&job->thread, NULL, run_job, job) != 0) {
        pthread_mutex_unlock(&syncs->mu);
        reap_join(done);
        if (obs != NULL)
            mnemo_sync_job_unsubscribe(job, obs);
        mnemo_sync_job_unref(job);
        return mnemo_err_set(err, MNEMO_ERESOURCE, "cannot start a sync thread");
    }
    job->next = syncs->jobs;
    syncs->jobs = job;
    if (out != NULL) {
        job_ref(job);
        *out = job;
    }
    pthread_mutex_unlock(&syncs->mu);
    reap_join(done);
    return MNEMO_OK;
}

/* mnemo_syncs_watch, and mnemo_syncs_cancel when cancel: the cancel and
 * the subscription reach the same job. */
static mnemo_status_t attach(mnemo_syncs_t *syncs, mnemo_sync_job_t **out, const char *name,
                             mnemo_sync_observer_t *obs, bool cancel, mnemo_err_t *err)
{
    pthread_mutex_lock(&syncs->mu);
    mnemo_sync_job_t *job = find_running_locked(syncs, name);
    bool ok = false;
    if (job != NULL) {
        if (cancel)
            mnemo_sync_job_cancel(job);
        pthread_mutex_lock(&job->mu);
        ok = !job->done;
        if (ok)
            subscribe_locked(job, obs);
        pthread_mutex_unlock(&job->mu);
    }
    if (ok) {
        job_ref(job);
        *out = job;
    }
    pthread_mutex_unlock(&syncs->mu);
    return ok ? MNEMO_OK
              : mnemo_err_set(err, MNEMO_ENOTFOUND, "repository_name: '%s' is not syncing", name);
}

mnemo_status_t mnemo_syncs_watch(mnemo_syncs_t *syncs, mnemo_sync_job_t **out, const char *name,
                                 mnemo_sync_observer_t *obs, mnemo_err_t *err)
{
    return attach(syncs, out, name, obs, false, err);
}

mnemo_status_t mnemo_syncs_cancel(mnemo_syncs_t *syncs, mnemo_sync_job_t **out, const char *name,
                                  mnemo_sync_observer_t *obs, mnemo_err_t *err)
{
    return attach(syncs, out, name, obs, true, err);
}

static void copy_status(mnemo_sync_status_t *out, const mnemo_sync_status_t *in)
{
    *out = *in;
    out->path = mnemo_xstrdup(in->path);
    out->error = in->error != NULL ? mnemo_xstrdup(in->error) : NULL;
}

mnemo_status_t mnemo_syncs_status(mnemo_syncs_t *syncs, mnemo_sync_status_t *out, const char *name,
                                  bool cancel)
{
    pthread_mutex_lock(&syncs->mu);
    mnemo_sync_job_t *job = find_running_locked(syncs, name);
    if (job != NULL) {
        if (cancel)
            mnemo_sync_job_cancel(job);
        pthread_mutex_lock(&job->mu);
        copy_status(out, &job->status);
        pthread_mutex_unlock(&job->mu);
    }
    pthread_mutex_unlock(&syncs->mu);
    return job != NULL ? MNEMO_OK : MNEMO_ENOTFOUND;
}

void mnemo_syncs_stats(mnemo_syncs_t *syncs, mnemo_sync_stats_t *out)
{
    const stats_t *s = &syncs->stats;
#define LOAD(c) atomic_load_explicit(&(c), memory_order_relaxed)
    *out = (mnemo_sync_stats_t){.running = LOAD(s->running),
                                .files = LOAD(s->files),
                                .chunks = LOAD(s->chunks),
                                .bytes = LOAD(s->bytes),
                                .batches = LOAD(s->batches),
                                .paced_ns = LOAD(s->paced_ns)};
    for (size_t i = 0; i < sizeof out->finished / sizeof out->finished[0]; i++)
        out->finished[i] = LOAD(s->finished[i]);
#undef LOAD
}

bool mnemo_syncs_running(mnemo_syncs_t *syncs, const char *name)
{
    pthread_mutex_lock(&syncs->mu);
    bool running = find_running_locked(syncs, name) != NULL;
    pthread_mutex_unlock(&syncs->mu);
    return running;
}

void mnemo_syncs_shutdown(mnemo_syncs_t *syncs)
{
    pthread_mutex_lock(&syncs->mu);
    syncs->shut = true;
    mnemo_sync_job_t *jobs = syncs->jobs;
    syncs->jobs = NULL;
    for (mnemo_sync_job_t *job = jobs; job != NULL; job = job->next)
        atomic_store(&job->cancel, true); /* not asked: the server stops it */
    pthread_mutex_unlock(&syncs->mu);
    while (jobs != NULL) {
        mnemo_sync_job_t *next = jobs->next;
        pthread_join(jobs->thread, NULL);
        mnemo_sync_job_unref(jobs);
        jobs = next;
    }
}

void mnemo_syncs_destroy(mnemo_syncs_t *syncs)
{
    if (syncs == NULL)
        return;
    pthread_mutex_destroy(&syncs->mu);
    free(syncs);
}
