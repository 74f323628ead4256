/* codeindex.c - the code index as a service (see codeindex.h).
 *
 * DESIGN: ci->lock orders readers of the repository store against writers;
 * the rules that need it are all here or in sync.c, which gets the lock
 * through its env:
 *   - a sync job loads its repository record and manifest under the read
 *     side and commits each batch under the write side (sync.c);
 *   - DeleteRepository checks "not syncing" and deletes under the write
 *     side, so a sync admitted just after the check cannot load its
 *     record until the delete is done, and one admitted before it makes
 *     the check fail;
 *   - the registry (sync.c) admits one sync per name under its own mutex.
 * Lock order: ci->lock, then the registry's mutex, then a job's mutex.
 *
 * Paths are resolved with realpath(): symlinks in the requested path are
 * followed once, here, and the result must lie inside an allowed root (also
 * canonical) and outside the data dir. The walker then never follows a
 * symlink below it (walker.h).
 */
#include "codeindex.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bytes.h"
#include "log.h"
#include "utf8.h"

#define PATH_FIELD_MAX 4096

struct mnemo_codeindex {
    mnemo_repos_t *repos;
    mnemo_syncs_t *syncs;
    pthread_rwlock_t lock; /* see the file header */
    char **roots;          /* canonical allowed roots */
    size_t n_roots;
    char *data_dir; /* canonical; never synced; NULL: none */
};

/* ---- paths and names ------------------------------------------------- */

static char *canonical(const char *path)
{
    char buf[PATH_MAX];
    return realpath(path, buf) != NULL ? mnemo_xstrdup(buf) : NULL;
}

static bool path_under(const char *path, const char *root)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/')
        return path[0] == '/';
    return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static bool allowed(const mnemo_codeindex_t *ci, const char *path)
{
    for (size_t i = 0; i < ci->n_roots; i++)
        if (path_under(path, ci->roots[i]))
            return true;
    return false;
}

/* Canonicalises the requested path into canon (PATH_MAX) and checks it. */
static mnemo_status_t resolve_path(const mnemo_codeindex_t *ci, const char *path, char *canon,
                                   mnemo_err_t *err)
{
    mnemo_status_t st = mnemo_utf8_check_field(path, "repository_path", PATH_FIELD_MAX, false, err);
    if (st != MNEMO_OK)
        return st;
    if (realpath(path, canon) == NULL) {
        int e = errno;
        if (path[0] == '/' && !allowed(ci, path))
            return mnemo_err_set(err, MNEMO_EPERM,
                                 "repository_path: %s is outside the server's allowed roots", path);
        return mnemo_err_set(err, MNEMO_EINVAL, "repository_path: %s: %s", path, strerror(e));
    }
    if (!mnemo_utf8_valid(canon, strlen(canon)))
        return mnemo_err_set(err, MNEMO_EINVAL, "repository_path: canonical path is not UTF-8");
    if (!allowed(ci, canon))
        return mnemo_err_set(err, MNEMO_EPERM,
                             "repository_path: %s is outside the server's allowed roots "
                             "(--allow-root)",
                             canon);
    if (ci->data_dir != NULL && path_under(canon, ci->data_dir))
        return mnemo_err_set(err, MNEMO_EPERM,
                             "repository_path: %s is inside the server's data directory", canon);
    struct stat sb;
    if (stat(canon, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return mnemo_err_set(err, MNEMO_EINVAL, "repository_path: %s is not a directory", canon);
    return MNEMO_OK;
}

mnemo_status_t mnemo_codeindex_check_name(const char *name, const char *field, bool allow_empty,
                                          mnemo_err_t *err)
{
    mnemo_status_t st = mnemo_utf8_check_field(name, field, MNEMO_REPO_NAME_MAX, allow_empty, err);
    if (st == MNEMO_OK && name != NULL && strchr(name, '/') != NULL)
        st = mnemo_err_set(err, MNEMO_EINVAL, "%s: must not contain '/'", field);
    return st;
}

/* The requested name, or the base name of the canonical path. */
static mnemo_status_t pick_name(char name[MNEMO_REPO_NAME_MAX + 1], const char *requested,
                                const char *canon, mnemo_err_t *err)
{
    if (requested != NULL && requested[0] != '\0') {
        snprintf(name, MNEMO_REPO_NAME_MAX + 1, "%s", requested);
        return MNEMO_OK;
    }
    const char *base = strrchr(canon, '/');
    base = base != NULL && base[1] != '\0' ? base + 1 : "root";
    if (strlen(base) > MNEMO_REPO_NAME_MAX)
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "repository_name: the directory name is over %d bytes; pass a name",
                             MNEMO_REPO_NAME_MAX);
    snprintf(name, MNEMO_REPO_NAME_MAX + 1, "%s", base);
    return MNEMO_OK;
}

/* ---- lifetime ------------------------------------------------------------ */

/* Canonical allowed roots (none given: the working directory) and data dir. */
static mnemo_status_t resolve_roots(mnemo_codeindex_t *ci, const mnemo_codeindex_options_t *opts,
                                    mnemo_err_t *err)
{
    size_t n = opts->n_allow_roots > 0 ? opts->n_allow_roots : 1;
    ci->roots = mnemo_xcalloc(n, sizeof *ci->roots);
    for (size_t i = 0; i < n; i++) {
        const char *root = opts->n_allow_roots > 0 ? opts->allow_roots[i] : ".";
        if ((ci->roots[i] = canonical(root)) == NULL)
            return mnemo_err_set(err, MNEMO_EINVAL, "allowed root %s: %s", root, strerror(errno));
        ci->n_roots++;
    }
    if (opts->data_dir != NULL && (ci->data_dir = canonical(opts->data_dir)) == NULL)
        return mnemo_err_set(err, MNEMO_EIO, "data directory %s: %s", opts->data_dir,
                             strerror(errno));
    return MNEMO_OK;
}

mnemo_status_t mnemo_codeindex_open(mnemo_codeindex_t **out, mnemo_store_t *store,
                                    const mnemo_codeindex_options_t *opts, mnemo_err_t *err)
{
    mnemo_codeindex_t *ci = mnemo_xcalloc(1, sizeof *ci);
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    /* A sync's batch commit must not starve behind a stream of readers. */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&ci->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    mnemo_status_t st = resolve_roots(ci, opts, err);
    if (st == MNEMO_OK)
        st = mnemo_repos_open(&ci->repos, store, err);
    if (st != MNEMO_OK) {
        mnemo_codeindex_close(ci);
        return st;
    }
    mnemo_sync_env_t env = {
        .repos = ci->repos,
        .lock = &ci->lock,
        .pace = opts->pace,
        .opts = opts->sync,
        .exclude_dirs = (const char *const *)&ci->data_dir,
        .n_exclude_dirs = ci->data_dir != NULL ? 1 : 0,
    };
    ci->syncs = mnemo_syncs_create(&env);
    *out = ci;
    return MNEMO_OK;
}

void mnemo_codeindex_shutdown(mnemo_codeindex_t *ci)
{
    if (ci->syncs != NULL)
        mnemo_syncs_shutdown(ci->syncs);
}

void mnemo_codeindex_close(mnemo_codeindex_t *ci)
{
    if (ci == NULL)
        return;
    mnemo_codeindex_shutdown(ci);
    mnemo_syncs_destroy(ci->syncs);
    mnemo_repos_close(ci->repos);
    for (size_t i = 0; i < ci->n_roots; i++)
        free(ci->roots[i]);
    free(ci->roots);
    free(ci->data_dir);
    pthread_rwlock_destroy(&ci->lock);
    free(ci);
}

/* ---- syncs --------------------------------------------------------------- */

mnemo_status_t mnemo_codeindex_sync(mnemo_codeindex_t *ci, mnemo_sync_job_t **job,
                                    const mnemo_codeindex_sync_request_t *req,
                                    mnemo_sync_observer_t *obs, mnemo_err_t *err)
{
    char canon[PATH_MAX];
    char name[MNEMO_REPO_NAME_MAX + 1];
    mnemo_status_t st = resolve_path(ci, req->path, canon, err);
    if (st == MNEMO_OK)
        st = mnemo_codeindex_check_name(req->name, "repository_name", true, err);
    if (st == MNEMO_OK)
        st = pick_name(name, req->name, canon, err);
    if (st != MNEMO_OK)
        return st;
    mnemo_sync_request_t sreq = {
        .path = canon,
        .name = name,
        .background = req->background,
        .full = req->full,
        .dry_run = req->dry_run,
        .batch_size = req->batch_size,
    };
    return mnemo_syncs_start(ci->syncs, job, &sreq, obs, err);
}

/* The last persisted status of name, under the read side. */
static mnemo_status_t persisted_status(mnemo_codeindex_t *ci, mnemo_sync_status_t *out,
                                       const char *name, mnemo_err_t *err)
{
    pthread_rwlock_rdlock(&ci->lock);
    mnemo_status_t st = mnemo_repos_get_status(ci->repos, out, name, err);
    pthread_rwlock_unlock(&ci->lock);
    return st;
}

/* Watch, or cancel and watch: obs on the running sync, else *last. */
static mnemo_status_t attach(mnemo_codeindex_t *ci, mnemo_sync_job_t **job,
                             mnemo_sync_status_t *last, const char *name,
                             mnemo_sync_observer_t *obs, bool cancel, mnemo_err_t *err)
{
    mnemo_status_t st = mnemo_codeindex_check_name(name, "repository_name", false, err);
    if (st != MNEMO_OK)
        return st;
    st = cancel ? mnemo_syncs_cancel(ci->syncs, job, name, obs, NULL)
                : mnemo_syncs_watch(ci->syncs, job, name, obs, NULL);
    if (st == MNEMO_OK)
        return MNEMO_OK;
    *job = NULL;
    return persisted_status(ci, last, name, err);
}

mnemo_status_t mnemo_codeindex_watch(mnemo_codeindex_t *ci, mnemo_sync_job_t **job,
                                     mnemo_sync_status_t *last, const char *name,
                                     mnemo_sync_observer_t *obs, mnemo_err_t *err)
{
    return attach(ci, job, last, name, obs, false, err);
}

mnemo_status_t mnemo_codeindex_cancel(mnemo_codeindex_t *ci, mnemo_sync_job_t **job,
                                      mnemo_sync_status_t *last, const char *name,
                                      mnemo_sync_observer_t *obs, mnemo_err_t *err)
{
    return attach(ci, job, last, name, obs, true, err);
}

mnemo_status_t mnemo_codeindex_status(mnemo_codeindex_t *ci, mnemo_sync_status_t *out,
                                      const char *name, bool cancel, mnemo_err_t *err)
{
    mnemo_status_t st = mnemo_codeindex_check_name(name, "repository_name", false, err);
    if (st != MNEMO_OK)
        return st;
    if (mnemo_syncs_status(ci->syncs, out, name, cancel) == MNEMO_OK)
        return MNEMO_OK;
    return persisted_status(ci, out, name, err);
}

void mnemo_codeindex_recovered(mnemo_codeindex_t *ci)
{
    mnemo_err_t err;
    pthread_rwlock_wrlock(&ci->lock);
    mnemo_status_t st = mnemo_repos_record_held(ci->repos, &err);
    pthread_rwlock_unlock(&ci->lock);
    if (st != MNEMO_OK)
        mnemo_log(MNEMO_LOG_WARN, "cannot record a sync's final state yet: %s", err.msg);
}

/* ---- repositories and search ------------------------------------------ */

mnemo_status_t mnemo_codeindex_list(mnemo_codeindex_t *ci, mnemo_repo_info_t **out, size_t *n,
                                    char **next_token, size_t page_size, const char *page_token,
                                    mnemo_err_t *err)
{
    pthread_rwlock_rdlock(&ci->lock);
    mnemo_status_t st = mnemo_repos_list(ci->repos, out, n, next_token, page_size, page_token, err);
    pthread_rwlock_unlock(&ci->lock);
    return st;
}

mnemo_status_t mnemo_codeindex_delete(mnemo_codeindex_t *ci, bool *deleted, const char *name,
                                      mnemo_err_t *err)
{
    mnemo_status_t st = mnemo_codeindex_check_name(name, "repository_name", false, err);
    if (st != MNEMO_OK)
        return st;
    pthread_rwlock_wrlock(&ci->lock);
    if (mnemo_syncs_running(ci->syncs, name))
        st = mnemo_err_set(err, MNEMO_EPRECOND,
                           "repository_name: '%s' is syncing; cancel the sync first", name);
    else
        st = mnemo_repos_delete(ci->repos, deleted, name, err);
    pthread_rwlock_unlock(&ci->lock);
    return st;
}

mnemo_status_t mnemo_codeindex_stats(mnemo_codeindex_t *ci, mnemo_sync_stats_t *syncs,
                                     uint64_t *repositories, mnemo_err_t *err)
{
    mnemo_syncs_stats(ci->syncs, syncs);
    *repositories = 0;
    pthread_rwlock_rdlock(&ci->lock);
    mnemo_status_t st = mnemo_repos_count(ci->repos, repositories, err);
    pthread_rwlock_unlock(&ci->lock);
    return st;
}

uint64_t mnemo_codeindex_index_bytes(mnemo_codeindex_t *ci)
{
    return mnemo_repos_index_bytes(ci->repos); /* the index takes its own locks */
}

mnemo_status_t mnemo_codeindex_search(mnemo_codeindex_t *ci, mnemo_code_hit_t **hits, size_t *n,
                                      const char *query, const char *name, const char *path_prefix,
                                      size_t limit, mnemo_err_t *err)
{
    mnemo_status_t st = mnemo_codeindex_check_name(name, "repository_name", true, err);
    if (st != MNEMO_OK)
        return st;
    pthread_rwlock_rdlock(&ci->lock);
    st = mnemo_repos_search(ci->repos, hits, n, query, name, path_prefix, limit, err);
    pthread_rwlock_unlock(&ci->lock);
    return st;
}
