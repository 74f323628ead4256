/* sync.h - repository sync jobs: one thread per running sync, a registry
 * that allows one sync per repository and at most max_syncs at once, live
 * progress for observers, cancellation between batches, and a shutdown that
 * cancels and joins every job.
 *
 * DESIGN: this is the code index's job engine; codeindex.h is its only
 * caller in mnemod and owns the lock, the allowed roots and the rules
 * around it. A job walks its repository (walker.h), compares the walk with
 * the stored manifest (repos.h) and processes what changed in batches:
 * files are read, hashed and chunked outside any lock; the write side of
 * the code index lock is taken only around the one atomic commit of a batch
 * (chunks, postings, manifest entries and the progress checkpoint). After
 * each commit the job updates its status snapshot and hands it to every
 * observer; observers must not block (the rpc layer queues the latest event
 * on its call: a slow client gets fewer, fresher events, and the job never
 * waits). The cancel flag is checked between batches (and by the walk), so
 * a cancelled sync stops at a batch boundary with everything committed so
 * far kept, and reads CANCELLED.
 *
 * Incremental: a file whose size and mtime match its manifest entry is not
 * read; one that differs is read and, if its SHA-256 matches, only its
 * manifest entry is touched. Files gone from the walk are removed. full=true
 * re-reads and re-indexes everything; dry_run=true reads and counts but
 * writes nothing (not even the status).
 *
 * Lifetimes: jobs are reference counted (the registry holds one while the
 * job exists; mnemo_syncs_start and watch hand out more). Observers are the
 * caller's; a subscribed observer receives events until either its
 * on_final runs (the job ended: the observer is already unsubscribed) or
 * mnemo_sync_job_unsubscribe returns true.
 *
 * Threads: every function may be called from any thread. Observer callbacks
 * run on the job's thread (or the subscribing thread for the first event)
 * with the job's mutex held: they must only queue work.
 */
#ifndef MNEMO_SYNC_H
#define MNEMO_SYNC_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "pace.h"
#include "repos.h"
#include "walker.h"

typedef struct mnemo_syncs mnemo_syncs_t;
typedef struct mnemo_sync_job mnemo_sync_job_t;

typedef struct mnemo_sync_event {
    const mnemo_sync_status_t *status;
    const char *current_path;         /* last file processed, or "" */
    const mnemo_walk_skip_t *skipped; /* skips reported since the last event */
    size_t n_skipped;
    /* The final event of a sync that mnemo_syncs_shutdown stopped (state
     * CANCELLED): nobody asked it to stop, and syncing again resumes it. */
    bool server_stopped;
} mnemo_sync_event_t;

typedef struct mnemo_sync_observer {
    void (*on_event)(struct mnemo_sync_observer *obs, const mnemo_sync_event_t *ev);
    void (*on_final)(struct mnemo_sync_observer *obs, const mnemo_sync_event_t *ev);
    struct mnemo_sync_observer *next; /* the job's list */
} mnemo_sync_observer_t;

typedef struct mnemo_sync_request {
    const char *path; /* canonical absolute directory */
    const char *name; /* validated repository name */
    bool background;
    bool full;
    bool dry_run;
    int batch_size; /* >= 1 */
} mnemo_sync_request_t;

/* The largest batch a request or the server's default may ask for. */
#define MNEMO_SYNC_BATCH_MAX 1000

/* How jobs run; mnemod fills it from its flags (--batch-size, ...). */
typedef struct mnemo_sync_options {
    int batch_size;        /* files per batch when a request says 0 (>= 1) */
    int batch_pause_ms;    /* pause between batches (0: none) */
    int max_syncs;         /* running at once; more are MNEMO_ERESOURCE (>= 1) */
    size_t max_file_bytes; /* larger files are skipped */
} mnemo_sync_options_t;

/* What the jobs work with; everything must outlive the registry. */
typedef struct mnemo_sync_env {
    mnemo_repos_t *repos;
    pthread_rwlock_t *lock; /* read side to load, write side to commit */
    mnemo_pace_t *pace;     /* jobs yield to requests by it; NULL: never pace */
    mnemo_sync_options_t opts;
    const char *const *exclude_dirs; /* canonical; the data dir */
    size_t n_exclude_dirs;
} mnemo_sync_env_t;

mnemo_syncs_t *mnemo_syncs_create(const mnemo_sync_env_t *env);

/* Cancels every job and joins every job thread; later starts fail with
 * MNEMO_EUNAVAIL. Observers get their final events, marked
 * server_stopped when the job stopped for it. Idempotent. */
void mnemo_syncs_shutdown(mnemo_syncs_t *syncs);

/* After shutdown. NULL: no-op. */
void mnemo_syncs_destroy(mnemo_syncs_t *syncs);

/* Starts a sync of req. When obs is not NULL it is subscribed before the
 * job runs and receives the first event at once. *job (may be NULL) gets a
 * reference (mnemo_sync_job_unref). MNEMO_EABORTED when req->name is
 * already syncing, MNEMO_ERESOURCE when max_syncs are running,
 * MNEMO_EUNAVAIL after shutdown. */
mnemo_status_t mnemo_syncs_start(mnemo_syncs_t *syncs, mnemo_sync_job_t **job,
                                 const mnemo_sync_request_t *req, mnemo_sync_observer_t *obs,
                                 mnemo_err_t *err);

/* Subscribes obs to the running sync of name (first event at once) and
 * gives *job a reference. MNEMO_ENOTFOUND when name is not syncing. */
mnemo_status_t mnemo_syncs_watch(mnemo_syncs_t *syncs, mnemo_sync_job_t **job, const char *name,
                                 mnemo_sync_observer_t *obs, mnemo_err_t *err);

/* As mnemo_syncs_watch, after asking the sync to stop at its next batch
 * boundary: obs's on_final then carries the state it stopped in. */
mnemo_status_t mnemo_syncs_cancel(mnemo_syncs_t *syncs, mnemo_sync_job_t **job, const char *name,
                                  mnemo_sync_observer_t *obs, mnemo_err_t *err);

/* Copies the live status of the running sync of name into *out (the
 * caller's, mnemo_sync_status_cleanup); with cancel=true asks it to stop
 * first. MNEMO_ENOTFOUND when name is not syncing. */
mnemo_status_t mnemo_syncs_status(mnemo_syncs_t *syncs, mnemo_sync_status_t *out, const char *name,
                                  bool cancel);

/* True when name has a running sync. */
bool mnemo_syncs_running(mnemo_syncs_t *syncs, const char *name);

/* What the registry's jobs did since it was created, for metrics: counts
 * only grow, except `running`. Files, chunks, bytes and batches are those
 * of committed batches (dry runs write nothing and count nothing). */
typedef struct mnemo_sync_stats {
    uint64_t running;     /* jobs between start and their final state */
    uint64_t files;       /* files read and (re-)indexed */
    uint64_t chunks;      /* chunks written */
    uint64_t bytes;       /* bytes of the files indexed */
    uint64_t batches;     /* batches committed */
    uint64_t paced_ns;    /* time jobs paused for requests (pace.h) */
    uint64_t finished[7]; /* by final state, indexed by mnemo_sync_state_t */
} mnemo_sync_stats_t;

/* Copies the counters (each read atomically, not all at one instant). */
void mnemo_syncs_stats(mnemo_syncs_t *syncs, mnemo_sync_stats_t *out);

/* Asks the job to stop at the next batch boundary. */
void mnemo_sync_job_cancel(mnemo_sync_job_t *job);

/* Removes obs from job; true when it was subscribed (its on_final will not
 * run), false when the job already ended (on_final ran or is running). */
bool mnemo_sync_job_unsubscribe(mnemo_sync_job_t *job, mnemo_sync_observer_t *obs);

void mnemo_sync_job_unref(mnemo_sync_job_t *job);

#endif
