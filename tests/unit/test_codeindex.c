/* test_codeindex.c - the code index service: the rules an in-process caller
 * cannot skip (allowed roots, the data dir, names, one sync per
 * repository, delete vs sync), watch and status of running and finished
 * syncs, cancellation and shutdown.
 *
 * A sync is held "running" by a long pause between batches (batch size 1,
 * --batch-pause-ms 60 s): it commits its first batch, then waits until it
 * is cancelled. Waits time out after WAIT_S only so that a bug fails a test
 * instead of hanging it.
 */
#include "codeindex.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define WAIT_S 30

typedef struct fixture {
    char *dir;  /* canonical temp dir: the only allowed root */
    char *data; /* the store; inside the root, never synced */
    char *repo; /* dir/myrepo, three files */
    mnemo_store_t *store;
    mnemo_codeindex_t *ci;
} fixture_t;

/* An observer that remembers the final event's state. */
typedef struct final_obs {
    mnemo_sync_observer_t base; /* first */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int events;
    bool done;
    mnemo_sync_state_t state;
} final_obs_t;

static void obs_event(mnemo_sync_observer_t *base, const mnemo_sync_event_t *ev)
{
    final_obs_t *o = (final_obs_t *)base;
    (void)ev;
    pthread_mutex_lock(&o->mu);
    o->events++;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
}

static void obs_final(mnemo_sync_observer_t *base, const mnemo_sync_event_t *ev)
{
    final_obs_t *o = (final_obs_t *)base;
    pthread_mutex_lock(&o->mu);
    o->done = true;
    o->state = ev->status->state;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
}

static void obs_init(final_obs_t *o)
{
    memset(o, 0, sizeof *o);
    o->base.on_event = obs_event;
    o->base.on_final = obs_final;
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cv, NULL);
}

static void obs_cleanup(final_obs_t *o)
{
    pthread_cond_destroy(&o->cv);
    pthread_mutex_destroy(&o->mu);
}

/* The final state, or UNSPECIFIED on the hang guard. */
static mnemo_sync_state_t obs_wait_final(final_obs_t *o)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += WAIT_S;
    pthread_mutex_lock(&o->mu);
    int rc = 0;
    while (!o->done && rc == 0)
        rc = pthread_cond_timedwait(&o->cv, &o->mu, &deadline);
    mnemo_sync_state_t st = o->done ? o->state : MNEMO_SYNC_UNSPECIFIED;
    pthread_mutex_unlock(&o->mu);
    return st;
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

static void write_in(const char *dir, const char *name, const char *text)
{
    char *path = join(dir, name);
    CU_ASSERT_EQUAL_FATAL(mnemo_test_write_file(path, text, strlen(text)), 0);
    free(path);
}

/* pause_ms between batches of one file; max_syncs at once. */
static void fx_open(fixture_t *f, int pause_ms, int max_syncs)
{
    memset(f, 0, sizeof *f);
    char *tmp = mnemo_test_tmpdir();
    f->dir = realpath(tmp, NULL);
    free(tmp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->dir);
    f->data = join(f->dir, "data");
    f->repo = join(f->dir, "myrepo");
    CU_ASSERT_EQUAL_FATAL(mkdir(f->data, 0755), 0);
    CU_ASSERT_EQUAL_FATAL(mkdir(f->repo, 0755), 0);
    write_in(f->repo, "a.c", "int alpha(void) { return 1; }\n");
    write_in(f->repo, "b.c", "int beta(void) { return 2; }\n");
    write_in(f->repo, "c.c", "int gamma(void) { return 3; }\n");
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL_FATAL(mnemo_store_open(&f->store, f->data, NULL, &err), MNEMO_OK);
    const char *roots[] = {f->dir};
    mnemo_codeindex_options_t opts = {
        .allow_roots = roots,
        .n_allow_roots = 1,
        .data_dir = f->data,
        .sync = {.batch_size = 1,
                 .batch_pause_ms = pause_ms,
                 .max_syncs = max_syncs,
                 .max_file_bytes = 1u << 20},
    };
    CU_ASSERT_EQUAL_FATAL(mnemo_codeindex_open(&f->ci, f->store, &opts, &err), MNEMO_OK);
}

static void fx_close(fixture_t *f)
{
    mnemo_codeindex_close(f->ci);
    mnemo_store_close(f->store);
    mnemo_test_rmtree(f->dir);
    free(f->repo);
    free(f->data);
    free(f->dir);
}

/* Starts a sync of path named name; the job is released at once. */
static mnemo_status_t start(fixture_t *f, const char *path, const char *name, final_obs_t *obs,
                            mnemo_err_t *err)
{
    mnemo_codeindex_sync_request_t req = {.path = path, .name = name};
    return mnemo_codeindex_sync(f->ci, NULL, &req, obs != NULL ? &obs->base : NULL, err);
}

/* Asks the sync of name to stop and returns the state it ended in. */
static mnemo_sync_state_t cancel_and_wait(fixture_t *f, const char *name, final_obs_t *obs)
{
    mnemo_sync_status_t st = {0};
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_codeindex_status(f->ci, &st, name, true, &err), MNEMO_OK);
    mnemo_sync_status_cleanup(&st);
    return obs_wait_final(obs);
}

static void test_codeindex__refuses_paths_outside_allowed_roots(void)
{
    fixture_t f;
    fx_open(&f, 0, 4);
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(start(&f, "/usr", NULL, NULL, &err), MNEMO_EPERM);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "repository_path"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "allowed roots"));
    /* A symlink inside the root that points out of it resolves outside. */
    char *link = join(f.dir, "escape");
    CU_ASSERT_EQUAL_FATAL(symlink("/usr", link), 0);
    CU_ASSERT_EQUAL(start(&f, link, NULL, NULL, &err), MNEMO_EPERM);
    /* Absent paths outside the roots do not reveal whether they exist. */
    CU_ASSERT_EQUAL(start(&f, "/no/such/dir", NULL, NULL, &err), MNEMO_EPERM);
    free(link);
    fx_close(&f);
}

static void test_codeindex__refuses_the_data_dir_and_non_directories(void)
{
    fixture_t f;
    fx_open(&f, 0, 4);
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(start(&f, f.data, NULL, NULL, &err), MNEMO_EPERM);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "data directory"));
    char *file = join(f.repo, "a.c");
    CU_ASSERT_EQUAL(start(&f, file, NULL, NULL, &err), MNEMO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not a directory"));
    CU_ASSERT_EQUAL(start(&f, "", NULL, NULL, &err), MNEMO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "repository_path"));
    free(file);
    fx_close(&f);
}

static void test_codeindex__checks_names_in_every_call(void)
{
    fixture_t f;
    fx_open(&f, 0, 4);
    mnemo_err_t err = {{0}};
    char long_name[MNEMO_REPO_NAME_MAX + 2];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    CU_ASSERT_EQUAL(start(&f, f.repo, "a/b", NULL, &err), MNEMO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "repository_name: must not contain '/'"));
    CU_ASSERT_EQUAL(start(&f, f.repo, long_name, NULL, &err), MNEMO_EINVAL);
    CU_ASSERT_EQUAL(start(&f, f.repo, "\xff", NULL, &err), MNEMO_EINVAL);
    bool deleted = true;
    CU_ASSERT_EQUAL(mnemo_codeindex_delete(f.ci, &deleted, "", &err), MNEMO_EINVAL);
    CU_ASSERT_EQUAL(mnemo_codeindex_delete(f.ci, &deleted, "x/y", &err), MNEMO_EINVAL);
    mnemo_sync_status_t st = {0};
    CU_ASSERT_EQUAL(mnemo_codeindex_status(f.ci, &st, "../x", false, &err), MNEMO_EINVAL);
    mnemo_code_hit_t *hits = NULL;
    size_t n = 0;
    CU_ASSERT_EQUAL(mnemo_codeindex_search(f.ci, &hits, &n, "alpha", "a/b", NULL, 10, &err),
                    MNEMO_EINVAL);
    fx_close(&f);
}

static void test_codeindex__names_default_to_the_directory(void)
{
    fixture_t f;
    fx_open(&f, 0, 4);
    final_obs_t obs;
    obs_init(&obs);
    mnemo_err_t err = {{0}};
    /* A non-canonical spelling of the path: the name is its real base name. */
    char *spelled = join(f.dir, "myrepo/../myrepo/.");
    CU_ASSERT_EQUAL_FATAL(start(&f, spelled, NULL, &obs, &err), MNEMO_OK);
    CU_ASSERT_EQUAL(obs_wait_final(&obs), MNEMO_SYNC_COMPLETED);
    mnemo_sync_status_t st = {0};
    CU_ASSERT_EQUAL_FATAL(mnemo_codeindex_status(f.ci, &st, "myrepo", false, &err), MNEMO_OK);
    CU_ASSERT_STRING_EQUAL(st.path, f.repo);
    CU_ASSERT_EQUAL(st.progress.processed_files, 3);
    mnemo_sync_status_cleanup(&st);
    mnemo_code_hit_t *hits = NULL;
    size_t n = 0;
    CU_ASSERT_EQUAL(mnemo_codeindex_search(f.ci, &hits, &n, "gamma", "myrepo", "", 10, &err),
                    MNEMO_OK);
    CU_ASSERT_EQUAL(n, 1);
    if (n == 1)
        CU_ASSERT_STRING_EQUAL(hits[0].path, "c.c");
    mnemo_code_hits_free(hits, n);
    free(spelled);
    obs_cleanup(&obs);
    fx_close(&f);
}

static void test_codeindex__one_sync_per_repository(void)
{
    fixture_t f;
    fx_open(&f, 60000, 4);
    final_obs_t obs;
    obs_init(&obs);
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL_FATAL(start(&f, f.repo, "r", &obs, &err), MNEMO_OK);
    CU_ASSERT_EQUAL(start(&f, f.repo, "r", NULL, &err), MNEMO_EABORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "WatchSync"));
    /* The same directory under another name is another repository. */
    final_obs_t other;
    obs_init(&other);
    CU_ASSERT_EQUAL(start(&f, f.repo, "r2", &other, &err), MNEMO_OK);
    CU_ASSERT_EQUAL(cancel_and_wait(&f, "r", &obs), MNEMO_SYNC_CANCELLED);
    CU_ASSERT_EQUAL(cancel_and_wait(&f, "r2", &other), MNEMO_SYNC_CANCELLED);
    obs_cleanup(&other);
    obs_cleanup(&obs);
    fx_close(&f);
}

static void test_codeindex__max_syncs_is_resource_exhausted(void)
{
    fixture_t f;
    fx_open(&f, 60000, 1);
    final_obs_t obs;
    obs_init(&obs);
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL_FATAL(start(&f, f.repo, "r", &obs, &err), MNEMO_OK);
    CU_ASSERT_EQUAL(start(&f, f.repo, "r2", NULL, &err), MNEMO_ERESOURCE);
    CU_ASSERT_EQUAL(cancel_and_wait(&f, "r", &obs), MNEMO_SYNC_CANCELLED);
    obs_cleanup(&obs);
    fx_close(&f);
}

static void test_codeindex__delete_waits_for_no_sync(void)
{
    fixture_t f;
    fx_open(&f, 60000, 4);
    final_obs_t obs;
    obs_init(&obs);
    mnemo_err_t err = {{0}};
    bool deleted = true;
    CU_ASSERT_EQUAL(mnemo_codeindex_delete(f.ci, &deleted, "r", &err), MNEMO_OK);
    CU_ASSERT_FALSE(deleted); /* never synced */
    CU_ASSERT_EQUAL_FATAL(start(&f, f.repo, "r", &obs, &err), MNEMO_OK);
    CU_ASSERT_EQUAL(mnemo_codeindex_delete(f.ci, &deleted, "r", &err), MNEMO_EPRECOND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "is syncing"));
    CU_ASSERT_EQUAL(cancel_and_wait(&f, "r", &obs), MNEMO_SYNC_CANCELLED);
    CU_ASSERT_EQUAL(mnemo_codeindex_delete(f.ci, &deleted, "r", &err), MNEMO_OK);
    CU_ASSERT_TRUE(deleted);
    mnemo_sync_status_t st = {0};
    CU_ASSERT_EQUAL(mnemo_codeindex_status(f.ci, &st, "r", false, &err), MNEMO_ENOTFOUND);
    obs_cleanup(&obs);
    fx_close(&f);
}

static void test_codeindex__watch_running_and_finished(void)
{
    fixture_t f;
    fx_open(&f, 60000, 4);
    final_obs_t obs, watcher;
    obs_init(&obs);
    obs_init(&watcher);
    mnemo_err_t err = {{0}};
    mnemo_sync_job_t *job = NULL;
    mnemo_sync_status_t last = {0};
    CU_ASSERT_EQUAL(mnemo_codeindex_watch(f.ci, &job, &last, "r", &watcher.base, &err),
                    MNEMO_ENOTFOUND);
    CU_ASSERT_EQUAL_FATAL(start(&f, f.repo, "r", &obs, &err), MNEMO_OK);
    CU_ASSERT_EQUAL_FATAL(mnemo_codeindex_watch(f.ci, &job, &last, "r", &watcher.base, &err),
                          MNEMO_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(job);
    pthread_mutex_lock(&watcher.mu);
    CU_ASSERT(watcher.events >= 1); /* the first event at once */
    pthread_mutex_unlock(&watcher.mu);
    CU_ASSERT_EQUAL(cancel_and_wait(&f, "r", &obs), MNEMO_SYNC_CANCELLED);
    CU_ASSERT_EQUAL(obs_wait_final(&watcher), MNEMO_SYNC_CANCELLED);
    mnemo_sync_job_unref(job);
    /* Not syncing any more: the persisted status instead of a job. */
    static char not_a_job;
    job = (mnemo_sync_job_t *)(void *)&not_a_job;
    CU_ASSERT_EQUAL(mnemo_codeindex_watch(f.ci, &job, &last, "r", &watcher.base, &err), MNEMO_OK);
    CU_ASSERT_PTR_NULL(job);
    CU_ASSERT_EQUAL(last.state, MNEMO_SYNC_CANCELLED);
    CU_ASSERT_STRING_EQUAL(last.path, f.repo);
    mnemo_sync_status_cleanup(&last);
    obs_cleanup(&watcher);
    obs_cleanup(&obs);
    fx_close(&f);
}

static void test_codeindex__shutdown_cancels_and_refuses(void)
{
    fixture_t f;
    fx_open(&f, 60000, 4);
    final_obs_t obs;
    obs_init(&obs);
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL_FATAL(start(&f, f.repo, "r", &obs, &err), MNEMO_OK);
    mnemo_codeindex_shutdown(f.ci);
    CU_ASSERT_EQUAL(obs_wait_final(&obs), MNEMO_SYNC_CANCELLED);
    CU_ASSERT_EQUAL(start(&f, f.repo, "r", NULL, &err), MNEMO_EUNAVAIL);
    mnemo_sync_status_t st = {0};
    CU_ASSERT_EQUAL_FATAL(mnemo_codeindex_status(f.ci, &st, "r", false, &err), MNEMO_OK);
    CU_ASSERT_EQUAL(st.state, MNEMO_SYNC_CANCELLED);
    mnemo_sync_status_cleanup(&st);
    obs_cleanup(&obs);
    fx_close(&f);
}

static void test_codeindex__open_refuses_a_missing_root(void)
{
    char *tmp = mnemo_test_tmpdir();
    char *data = join(tmp, "data");
    CU_ASSERT_EQUAL_FATAL(mkdir(data, 0755), 0);
    mnemo_store_t *store = NULL;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL_FATAL(mnemo_store_open(&store, data, NULL, &err), MNEMO_OK);
    const char *roots[] = {"/no/such/root"};
    mnemo_codeindex_options_t opts = {
        .allow_roots = roots, .n_allow_roots = 1, .sync = {.batch_size = 1, .max_syncs = 1}};
    mnemo_codeindex_t *ci = NULL;
    CU_ASSERT_EQUAL(mnemo_codeindex_open(&ci, store, &opts, &err), MNEMO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/no/such/root"));
    CU_ASSERT_PTR_NULL(ci);
    mnemo_store_close(store);
    mnemo_test_rmtree(tmp);
    free(data);
    free(tmp);
}

int main(void)
{
    CU_pSuite s = mnemo_test_suite("codeindex");
    MNEMO_TEST(s, test_codeindex__refuses_paths_outside_allowed_roots);
    MNEMO_TEST(s, test_codeindex__refuses_the_data_dir_and_non_directories);
    MNEMO_TEST(s, test_codeindex__checks_names_in_every_call);
    MNEMO_TEST(s, test_codeindex__names_default_to_the_directory);
    MNEMO_TEST(s, test_codeindex__one_sync_per_repository);
    MNEMO_TEST(s, test_codeindex__max_syncs_is_resource_exhausted);
    MNEMO_TEST(s, test_codeindex__delete_waits_for_no_sync);
    MNEMO_TEST(s, test_codeindex__watch_running_and_finished);
    MNEMO_TEST(s, test_codeindex__shutdown_cancels_and_refuses);
    MNEMO_TEST(s, test_codeindex__open_refuses_a_missing_root);
    return mnemo_test_run();
}
