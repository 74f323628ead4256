/* codeindex.h - the code index as a service: repositories, their syncs and
 * code search, with every rule about them in one place.
 *
 * DESIGN: this module owns the repository store (repos.h), the registry of
 * running syncs (sync.h), the lock between them, and the rules a caller
 * must not be able to skip: a repository path is canonicalised and must
 * lie inside an allowed root and outside the data directory; a name is
 * 1-128 bytes of UTF-8 without '/' and defaults to the base name of the
 * path; one sync per repository at a time; a repository that is syncing
 * cannot be deleted. The rpc layer (rpc_repo.c) only validates field
 * limits, calls one function here, and encodes the answer; an in-process
 * caller gets exactly the same rules.
 *
 * The lock, in one sentence: readers of the code index (SearchCode,
 * ListRepositories, sync status, a job loading its manifest) take the read
 * side of ci->lock concurrently, and a sync takes the write side only for
 * the one atomic commit of a batch (as does DeleteRepository), never while
 * it reads files or a client reads its stream. Memories live in another
 * store and take no lock of this module, so a sync never delays them on a
 * lock (docs/architecture.md).
 *
 * Threads: every function may be called from any thread, concurrently,
 * until mnemo_codeindex_close. Observer callbacks run on job threads (see
 * sync.h).
 */
#ifndef MNEMO_CODEINDEX_H
#define MNEMO_CODEINDEX_H

#include <stdbool.h>
#include <stddef.h>

#include "mnemo/status.h"
#include "pace.h"
#include "repos.h"
#include "store.h"
#include "sync.h"

typedef struct mnemo_codeindex mnemo_codeindex_t;

typedef struct mnemo_codeindex_options {
    /* Directories that may be synced; canonicalised at open. None: the
     * working directory. */
    const char *const *allow_roots;
    size_t n_allow_roots;
    const char *data_dir; /* never synced (canonicalised at open); NULL: none */
    mnemo_sync_options_t sync;
    mnemo_pace_t *pace; /* jobs yield to interactive requests by it; NULL: never */
} mnemo_codeindex_options_t;

/* What a client asks to sync, as it asked. */
typedef struct mnemo_codeindex_sync_request {
    const char *path; /* any spelling; resolved against the allowed roots */
    const char *name; /* NULL or "": the base name of the canonical path */
    bool background;
    bool full;
    bool dry_run;
    int batch_size; /* 0: the default of the options */
} mnemo_codeindex_sync_request_t;

/* Opens the code index on store (which must outlive it): every repository
 * whose sync was running when the process died reads INTERRUPTED. *out is
 * the caller's (mnemo_codeindex_close). MNEMO_EINVAL naming the root that
 * does not resolve; MNEMO_EIO when the data dir does not; store errors as
 * mnemo_repos_open. */
mnemo_status_t mnemo_codeindex_open(mnemo_codeindex_t **out, mnemo_store_t *store,
                                    const mnemo_codeindex_options_t *opts, mnemo_err_t *err);

/* Cancels every running sync and joins its thread (observers get their
 * final events); later syncs are MNEMO_EUNAVAIL. Idempotent. */
void mnemo_codeindex_shutdown(mnemo_codeindex_t *ci);

/* Shuts down (if not yet) and frees everything. NULL: no-op. */
void mnemo_codeindex_close(mnemo_codeindex_t *ci);

/* Starts a sync of req. When obs is not NULL it receives the first event
 * before this returns; *job (may be NULL) gets a reference
 * (mnemo_sync_job_unref). Statuses: MNEMO_EINVAL (repository_path does not
 * resolve to a directory, or repository_name is not a valid name),
 * MNEMO_EPERM (outside the allowed roots, or inside the data dir),
 * MNEMO_EABORTED (the name is already syncing), MNEMO_ERESOURCE (max_syncs
 * running), MNEMO_EUNAVAIL (shut down). */
mnemo_status_t mnemo_codeindex_sync(mnemo_codeindex_t *ci, mnemo_sync_job_t **job,
                                    const mnemo_codeindex_sync_request_t *req,
                                    mnemo_sync_observer_t *obs, mnemo_err_t *err);

/* Attaches obs to the running sync of name: *job gets a reference and obs
 * its first event at once. When name is not syncing, *job is NULL and
 * *last (the caller's, mnemo_sync_status_cleanup) holds its last persisted
 * status instead. MNEMO_EINVAL for a bad name, MNEMO_ENOTFOUND when name
 * was never synced. */
mnemo_status_t mnemo_codeindex_watch(mnemo_codeindex_t *ci, mnemo_sync_job_t **job,
                                     mnemo_sync_status_t *last, const char *name,
                                     mnemo_sync_observer_t *obs, mnemo_err_t *err);

/* CancelSync: asks the running sync of name to stop at its next batch
 * boundary and attaches obs to it, whose on_final then carries the state
 * it ended in; otherwise as mnemo_codeindex_watch (*job NULL, *last the
 * last persisted status). Same statuses as mnemo_codeindex_watch. */
mnemo_status_t mnemo_codeindex_cancel(mnemo_codeindex_t *ci, mnemo_sync_job_t **job,
                                      mnemo_sync_status_t *last, const char *name,
                                      mnemo_sync_observer_t *obs, mnemo_err_t *err);

/* The code store writes again after a failure (a full disk): records the
 * final sync states that could only be kept in memory meanwhile (until
 * then every reader sees them: memory first, disk when it can). Failures
 * are logged; the next recovery tries again. */
void mnemo_codeindex_recovered(mnemo_codeindex_t *ci);

/* The live status of the running sync of name (asking it to stop at the
 * next batch boundary first when cancel), else the last persisted one.
 * *out is the caller's (mnemo_sync_status_cleanup). MNEMO_EINVAL for a bad
 * name, MNEMO_ENOTFOUND when never synced. */
mnemo_status_t mnemo_codeindex_status(mnemo_codeindex_t *ci, mnemo_sync_status_t *out,
                                      const char *name, bool cancel, mnemo_err_t *err);

/* One page of repositories by name: see mnemo_repos_list. */
mnemo_status_t mnemo_codeindex_list(mnemo_codeindex_t *ci, mnemo_repo_info_t **out, size_t *n,
                                    char **next_token, size_t page_size, const char *page_token,
                                    mnemo_err_t *err);

/* Removes the repository name, its chunks and manifest; *deleted is false
 * when it did not exist. MNEMO_EINVAL for a bad name, MNEMO_EPRECOND while
 * it is syncing (no sync can start until the delete is done). */
mnemo_status_t mnemo_codeindex_delete(mnemo_codeindex_t *ci, bool *deleted, const char *name,
                                      mnemo_err_t *err);

/* Best chunks for query, in repository name (NULL or "": all) under
 * path_prefix: see mnemo_repos_search. MNEMO_EINVAL for a bad name. */
mnemo_status_t mnemo_codeindex_search(mnemo_codeindex_t *ci, mnemo_code_hit_t **hits, size_t *n,
                                      const char *query, const char *name, const char *path_prefix,
                                      size_t limit, mnemo_err_t *err);

/* The code index's numbers for metrics: the sync registry's counters
 * (sync.h) and the repositories stored. A store error leaves *repositories
 * 0 and is returned. */
mnemo_status_t mnemo_codeindex_stats(mnemo_codeindex_t *ci, mnemo_sync_stats_t *syncs,
                                     uint64_t *repositories, mnemo_err_t *err);

/* Bytes the code index's search index holds in memory (index.h). */
uint64_t mnemo_codeindex_index_bytes(mnemo_codeindex_t *ci);

/* Checks a repository name as every function above does: valid UTF-8,
 * 1..MNEMO_REPO_NAME_MAX bytes (0 allowed when allow_empty), no '/'. The
 * message names field. */
mnemo_status_t mnemo_codeindex_check_name(const char *name, const char *field, bool allow_empty,
                                          mnemo_err_t *err);

#endif
