/* store.c - the key-value store under mnemod, over LevelDB's C API.
 *
 * DESIGN: this is the only file that includes leveldb/c.h. The store owns
 * the LevelDB handle and everything the handle borrows (options, block
 * cache, bloom filter policy, read and write options), and frees them after
 * the handle at close. Two LevelDB conventions are confined to one helper
 * each: every buffer LevelDB allocates is released by ldb_free(), and every
 * `char **errptr` result is turned into a status by take_error().
 *
 * A failed write is fatal for the handle (LevelDB would acknowledge later
 * writes and lose them on reopen): the first failure sets the atomic
 * `failed` flag and later writes return MNEMO_EIO without touching LevelDB.
 * Reads keep working. mnemo_store_recover closes and reopens the handle
 * (LevelDB's recovery replays the log; a record torn by the failed write is
 * its tail, dropped as after kill -9, and was never acknowledged), which
 * clears the flag. Every use of the handle is counted (db_enter/db_leave;
 * an iterator counts from create to destroy): the reopen waits for the
 * count to drain and holds new users back meanwhile, except threads that
 * already hold a use (a merge writing while it iterates), which could
 * never drain otherwise. A reopen that fails leaves no handle: reads
 * answer MNEMO_EUNAVAIL and iterators are empty with that status until a
 * later recover succeeds.
 *
 * Iterators own a snapshot and the read options that pin it, so a scan sees
 * one consistent state however long it runs; both are released at destroy.
 *
 * Threads: any thread may call any function; LevelDB serialises writers and
 * groups concurrent sync writes into one fsync. A batch or an iterator is
 * used by one thread at a time.
 */
#include "store.h"

#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <leveldb/c.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bytes.h"
#include "thread.h"

#define BLOOM_BITS_PER_KEY 10

struct mnemo_store {
    leveldb_t *db; /* NULL after a reopen that failed */
    char *dir;
    pthread_mutex_t db_mu; /* guards users and reopening */
    pthread_cond_t db_cond;
    unsigned users;         /* uses of db in progress */
    bool reopening;         /* mnemo_store_recover waits for users to drain */
    char reopen_error[512]; /* why the last reopen failed */
    leveldb_options_t *options;
    leveldb_cache_t *cache;
    leveldb_filterpolicy_t *bloom;
    leveldb_readoptions_t *read_opts;
    leveldb_writeoptions_t *write_sync;   /* sync=true */
    leveldb_writeoptions_t *write_nosync; /* sync=false */
    atomic_bool failed;                   /* set once, by the first failed write */
    atomic_uint_fast64_t write_errors;    /* writes LevelDB failed, for metrics */
    pthread_mutex_t failure_mu;           /* guards the fields below */
    void (*on_failure)(void *ctx, const char *problem);
    void *failure_ctx;
    bool failure_told; /* on_failure ran (or is running) */
    char problem[512]; /* the first failed write or damage found; "" while none */
    bool damaged;      /* damage was found: recover does not clear problem */
};

/* Uses of any store's handle held by this thread (see the DESIGN). */
static _Thread_local int thread_uses;

static leveldb_t *db_enter(mnemo_store_t *s)
{
    pthread_mutex_lock(&s->db_mu);
    while (s->reopening && thread_uses == 0)
        pthread_cond_wait(&s->db_cond, &s->db_mu);
    s->users++;
    thread_uses++;
    leveldb_t *db = s->db;
    pthread_mutex_unlock(&s->db_mu);
    return db;
}

static void db_leave(mnemo_store_t *s)
{
    pthread_mutex_lock(&s->db_mu);
    s->users--;
    if (thread_uses > 0)
        thread_uses--;
    if (s->users == 0 && s->reopening)
        pthread_cond_broadcast(&s->db_cond);
    pthread_mutex_unlock(&s->db_mu);
}

/* The answer of a read when a failed reopen left no handle. */
static mnemo_status_t no_handle(mnemo_store_t *s, mnemo_err_t *err)
{
    char why[sizeof s->reopen_error];
    pthread_mutex_lock(&s->db_mu);
    memcpy(why, s->reopen_error, sizeof why);
    pthread_mutex_unlock(&s->db_mu);
    return mnemo_err_set(err, MNEMO_EUNAVAIL, "store unavailable: reopening it failed: %s", why);
}

typedef struct attached_hook {
    const void *owner;
    const mnemo_store_hook_t *hook;
    void *ctx;
} attached_hook_t;

struct mnemo_store_batch {
    leveldb_writebatch_t *wb;
    size_t count; /* puts and deletes since create or clear */
    attached_hook_t hooks[MNEMO_STORE_MAX_HOOKS];
    size_t n_hooks;
};

struct mnemo_store_iter {
    mnemo_store_t *store;
    leveldb_t *db; /* the handle it entered with; NULL: empty iterator */
    const leveldb_snapshot_t *snapshot;
    leveldb_readoptions_t *read_opts; /* pins snapshot */
    leveldb_iterator_t *it;
};

static mnemo_status_t read_result(mnemo_store_t *store, mnemo_status_t st, const mnemo_err_t *err);

/* The one caller of leveldb_free: LevelDB's buffers may come from another
 * allocator than ours. */
static void ldb_free(void *p)
{
    if (p != NULL)
        leveldb_free(p);
}

/* The one reader of LevelDB error pointers: when *errptr is set, formats
 * "what: <leveldb message>" into err, frees the message, resets *errptr and
 * returns ECORRUPT for corruption, else fallback. MNEMO_OK when no error. */
static mnemo_status_t take_error(char **errptr, mnemo_status_t fallback, mnemo_err_t *err,
                                 const char *what)
{
    if (*errptr == NULL)
        return MNEMO_OK;
    mnemo_status_t code = strstr(*errptr, "Corruption") != NULL ? MNEMO_ECORRUPT : fallback;
    mnemo_err_set(err, code, "%s: %s", what, *errptr);
    ldb_free(*errptr);
    *errptr = NULL;
    return code;
}

static void destroy_parts(mnemo_store_t *s)
{
    if (s->db != NULL)
        leveldb_close(s->db);
    if (s->options != NULL)
        leveldb_options_destroy(s->options);
    if (s->bloom != NULL)
        leveldb_filterpolicy_destroy(s->bloom);
    if (s->cache != NULL)
        leveldb_cache_destroy(s->cache);
    if (s->read_opts != NULL)
        leveldb_readoptions_destroy(s->read_opts);
    if (s->write_sync != NULL)
        leveldb_writeoptions_destroy(s->write_sync);
    if (s->write_nosync != NULL)
        leveldb_writeoptions_destroy(s->write_nosync);
    pthread_mutex_destroy(&s->failure_mu);
    pthread_mutex_destroy(&s->db_mu);
    pthread_cond_destroy(&s->db_cond);
    free(s->dir);
    free(s);
}

static void configure(mnemo_store_t *s, const mnemo_store_options_t *opts)
{
    size_t cache_bytes = opts != NULL && opts->cache_bytes != 0 ? opts->cache_bytes
                                                                : MNEMO_STORE_DEFAULT_CACHE_BYTES;
    size_t wbuf = opts != NULL && opts->write_buffer_size != 0 ? opts->write_buffer_size
                                                               : MNEMO_STORE_DEFAULT_WRITE_BUFFER;
    s->options = leveldb_options_create();
    s->cache = leveldb_cache_create_lru(cache_bytes);
    s->bloom = leveldb_filterpolicy_create_bloom(BLOOM_BITS_PER_KEY);
    leveldb_options_set_create_if_missing(s->options, 1);
    /* Damage is an error, not silently less data: a log record that fails
     * its checksum stops the open (instead of being dropped), and every
     * read verifies the checksums of the blocks it touches. */
    leveldb_options_set_paranoid_checks(s->options, 1);
    leveldb_options_set_cache(s->options, s->cache);
    leveldb_options_set_filter_policy(s->options, s->bloom);
    leveldb_options_set_write_buffer_size(s->options, wbuf);
    if (opts != NULL && opts->uncompressed)
        leveldb_options_set_compression(s->options, leveldb_no_compression);
    s->read_opts = leveldb_readoptions_create();
    leveldb_readoptions_set_verify_checksums(s->read_opts, 1);
    s->write_sync = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(s->write_sync, 1);
    s->write_nosync = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(s->write_nosync, 0);
}

/* Which file LevelDB found damaged: its info log (<dir>/LOG) names it on
 * the line that reports the corruption ("<dir>/000005.log: dropping 16
 * bytes; Corruption: checksum mismatch"). Writes it into out, "" if none. */
static void damaged_file(char *out, size_t cap, const char *dir)
{
    out[0] = '\0';
    char path[4096];
    snprintf(path, sizeof path, "%s/LOG", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    char line[1024];
    size_t dlen = strlen(dir);
    while (fgets(line, sizeof line, f) != NULL) {
        if (strstr(line, "Corruption") == NULL && strstr(line, "dropping") == NULL)
            continue;
        const char *p = strstr(line, dir);
        if (p == NULL || p[dlen] != '/')
            continue;
        size_t n = strcspn(p, ": \n");
        snprintf(out, cap, "%.*s", (int)n, p);
    }
    fclose(f);
}

mnemo_status_t mnemo_store_open(mnemo_store_t **out, const char *dir,
                                const mnemo_store_options_t *opts, mnemo_err_t *err)
{
    assert(out != NULL && dir != NULL);
    mnemo_store_t *s = mnemo_xmalloc(sizeof *s);
    memset(s, 0, sizeof *s);
    atomic_init(&s->failed, false);
    pthread_mutex_init(&s->failure_mu, NULL);
    pthread_mutex_init(&s->db_mu, NULL);
    pthread_cond_init(&s->db_cond, NULL);
    s->dir = mnemo_xstrdup(dir);
    configure(s, opts);

    char *errptr = NULL;
    s->db = leveldb_open(s->options, dir, &errptr);
    if (errptr != NULL) {
        /* LevelDB reports a held LOCK file as "IO error: lock <dir>/LOCK: ...". */
        bool locked = strstr(errptr, "lock") != NULL;
        mnemo_err_t local;
        mnemo_status_t st = take_error(&errptr, MNEMO_EIO, &local, "open data dir");
        if (locked)
            st = mnemo_err_set(&local, MNEMO_EUNAVAIL, "data dir %s is in use by another process",
                               dir);
        char file[1024];
        if (st == MNEMO_ECORRUPT && (damaged_file(file, sizeof file, dir), file[0] != '\0')) {
            mnemo_err_t found = local;
            mnemo_err_set(&local, st, "%.300s (damaged file: %.400s)", found.msg, file);
        }
        if (err != NULL)
            *err = local;
        s->db = NULL;
        destroy_parts(s);
        return st;
    }
    *out = s;
    return MNEMO_OK;
}

void mnemo_store_close(mnemo_store_t *store)
{
    if (store != NULL)
        destroy_parts(store);
}

mnemo_status_t mnemo_store_get(mnemo_store_t *store, const void *key, size_t klen, char **val,
                               size_t *vlen, mnemo_err_t *err)
{
    assert(store != NULL && val != NULL && vlen != NULL);
    char *errptr = NULL;
    size_t n = 0;
    leveldb_t *db = db_enter(store);
    if (db == NULL) {
        db_leave(store);
        return no_handle(store, err);
    }
    char *found = leveldb_get(db, store->read_opts, key, klen, &n, &errptr);
    db_leave(store);
    mnemo_err_t local;
    mnemo_status_t st = take_error(&errptr, MNEMO_EIO, &local, "store read");
    if (st != MNEMO_OK) {
        ldb_free(found);
        if (err != NULL)
            *err = local;
        return read_result(store, st, &local);
    }
    if (found == NULL)
        return mnemo_err_set(err, MNEMO_ENOTFOUND, "key not found");
    char *copy = mnemo_xmalloc(n + 1);
    memcpy(copy, found, n);
    copy[n] = '\0';
    ldb_free(found);
    *val = copy;
    *vlen = n;
    return MNEMO_OK;
}

/* Runs and detaches every hook of batch, in the order they were attached. */
static void run_done_hooks(mnemo_store_batch_t *batch, bool committed)
{
    size_t n = batch->n_hooks;
    batch->n_hooks = 0;
    for (size_t i = 0; i < n; i++)
        batch->hooks[i].hook->done(batch->hooks[i].ctx, committed);
}

/* Records problem (when it is the first) and runs the failure hook if it
 * has not run yet. problem NULL: only run a hook set after the problem. */
static void tell_failure(mnemo_store_t *store, const char *problem)
{
    pthread_mutex_lock(&store->failure_mu);
    if (problem != NULL && store->problem[0] == '\0')
        snprintf(store->problem, sizeof store->problem, "%s", problem);
    void (*fn)(void *, const char *) = NULL;
    if (store->on_failure != NULL && !store->failure_told && store->problem[0] != '\0') {
        store->failure_told = true;
        fn = store->on_failure;
    }
    void *ctx = store->failure_ctx;
    char copy[sizeof store->problem];
    memcpy(copy, store->problem, sizeof copy);
    pthread_mutex_unlock(&store->failure_mu);
    if (fn != NULL)
        fn(ctx, copy);
}

void mnemo_store_on_failure(mnemo_store_t *store, void (*fn)(void *ctx, const char *problem),
                            void *ctx)
{
    assert(store != NULL && fn != NULL);
    pthread_mutex_lock(&store->failure_mu);
    assert(store->on_failure == NULL);
    store->on_failure = fn;
    store->failure_ctx = ctx;
    pthread_mutex_unlock(&store->failure_mu);
    tell_failure(store, NULL); /* a problem may have come before the hook */
}

static void tell_damage(mnemo_store_t *store, const char *what)
{
    pthread_mutex_lock(&store->failure_mu);
    store->damaged = true;
    pthread_mutex_unlock(&store->failure_mu);
    tell_failure(store, what);
}

void mnemo_store_report_damage(mnemo_store_t *store, const char *what)
{
    tell_damage(store, what);
}

bool mnemo_store_damaged(mnemo_store_t *store)
{
    pthread_mutex_lock(&store->failure_mu);
    bool damaged = store->damaged;
    pthread_mutex_unlock(&store->failure_mu);
    return damaged;
}

/* A read that found damaged data (st == MNEMO_ECORRUPT) tells the hook. */
static mnemo_status_t read_result(mnemo_store_t *store, mnemo_status_t st, const mnemo_err_t *err)
{
    if (st == MNEMO_ECORRUPT)
        tell_damage(store, err != NULL ? err->msg : "damaged data read");
    return st;
}

mnemo_status_t mnemo_store_write(mnemo_store_t *store, mnemo_store_batch_t *batch, bool sync,
                                 mnemo_err_t *err)
{
    assert(store != NULL && batch != NULL);
    if (atomic_load(&store->failed))
        return mnemo_err_set(err, MNEMO_EIO, "store write refused: an earlier write failed");
    for (size_t i = 0; i < batch->n_hooks; i++)
        batch->hooks[i].hook->prepare(batch->hooks[i].ctx, batch);
    char *errptr = NULL;
    leveldb_t *db = db_enter(store);
    if (db != NULL)
        leveldb_write(db, sync ? store->write_sync : store->write_nosync, batch->wb, &errptr);
    db_leave(store);
    if (db == NULL) {
        run_done_hooks(batch, false);
        return mnemo_err_set(err, MNEMO_EIO, "store write refused: the store is not open");
    }
    if (errptr != NULL) {
        atomic_store(&store->failed, true);
        atomic_fetch_add_explicit(&store->write_errors, 1, memory_order_relaxed);
        mnemo_err_t local;
        take_error(&errptr, MNEMO_EIO, &local, "store write");
        if (err != NULL)
            *err = local;
        run_done_hooks(batch, false);
        tell_failure(store, local.msg);
        return MNEMO_EIO; /* the header promises EIO, even for corruption */
    }
    run_done_hooks(batch, true);
    return MNEMO_OK;
}

uint64_t mnemo_store_write_errors(const mnemo_store_t *store)
{
    return atomic_load_explicit(&((mnemo_store_t *)store)->write_errors, memory_order_relaxed);
}

unsigned long long mnemo_store_disk_bytes(const mnemo_store_t *store)
{
    unsigned long long total = 0;
    DIR *d = opendir(store->dir);
    if (d == NULL)
        return 0;
    struct dirent *e;
    struct stat sb;
    while ((e = readdir(d)) != NULL)
        if (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode))
            total += (unsigned long long)sb.st_size;
    closedir(d);
    return total;
}

bool mnemo_store_failed(const mnemo_store_t *store)
{
    assert(store != NULL);
    return atomic_load(&store->failed);
}

mnemo_status_t mnemo_store_recover(mnemo_store_t *store, mnemo_err_t *err)
{
    assert(store != NULL && thread_uses == 0);
    if (!atomic_load(&store->failed))
        return MNEMO_OK;
    pthread_mutex_lock(&store->db_mu);
    store->reopening = true;
    while (store->users > 0)
        pthread_cond_wait(&store->db_cond, &store->db_mu);
    if (store->db != NULL)
        leveldb_close(store->db); /* waits for LevelDB's compaction of it */
    char *errptr = NULL;
    store->db = leveldb_open(store->options, store->dir, &errptr);
    mnemo_err_t local;
    mnemo_status_t st = take_error(&errptr, MNEMO_EIO, &local, "reopen store");
    if (st != MNEMO_OK) {
        store->db = NULL;
        snprintf(store->reopen_error, sizeof store->reopen_error, "%s", local.msg);
    }
    store->reopening = false;
    pthread_cond_broadcast(&store->db_cond);
    pthread_mutex_unlock(&store->db_mu);
    if (st != MNEMO_OK) {
        if (err != NULL)
            *err = local;
        return st;
    }
    pthread_mutex_lock(&store->failure_mu);
    if (!store->damaged) { /* the next problem is news again */
        store->problem[0] = '\0';
        store->failure_told = false;
    }
    pthread_mutex_unlock(&store->failure_mu);
    atomic_store(&store->failed, false);
    return MNEMO_OK;
}

unsigned long long mnemo_store_memory_bytes(mnemo_store_t *store)
{
    char *value = NULL;
    leveldb_t *db = db_enter(store);
    if (db != NULL)
        value = leveldb_property_value(db, "leveldb.approximate-memory-usage");
    db_leave(store);
    unsigned long long bytes = value != NULL ? strtoull(value, NULL, 10) : 0;
    leveldb_free(value);
    return bytes;
}

unsigned long long mnemo_store_approximate_size(mnemo_store_t *store, const void *start,
                                                size_t slen, const void *limit, size_t llen)
{
    const char *starts[1] = {start};
    const char *limits[1] = {limit};
    uint64_t sizes[1] = {0};
    leveldb_t *db = db_enter(store);
    if (db != NULL)
        leveldb_approximate_sizes(db, 1, starts, &slen, limits, &llen, sizes);
    db_leave(store);
    return (unsigned long long)sizes[0];
}

mnemo_store_batch_t *mnemo_store_batch_create(void)
{
    mnemo_store_batch_t *b = mnemo_xmalloc(sizeof *b);
    b->wb = leveldb_writebatch_create();
    if (b->wb == NULL)
        abort();
    b->count = 0;
    b->n_hooks = 0;
    return b;
}

void mnemo_store_batch_put(mnemo_store_batch_t *batch, const void *key, size_t klen,
                           const void *val, size_t vlen)
{
    leveldb_writebatch_put(batch->wb, key, klen, val, vlen);
    batch->count++;
}

void mnemo_store_batch_delete(mnemo_store_batch_t *batch, const void *key, size_t klen)
{
    leveldb_writebatch_delete(batch->wb, key, klen);
    batch->count++;
}

void mnemo_store_batch_clear(mnemo_store_batch_t *batch)
{
    run_done_hooks(batch, false);
    leveldb_writebatch_clear(batch->wb);
    batch->count = 0;
}

size_t mnemo_store_batch_count(const mnemo_store_batch_t *batch)
{
    return batch->count;
}

void mnemo_store_batch_destroy(mnemo_store_batch_t *batch)
{
    if (batch == NULL)
        return;
    run_done_hooks(batch, false);
    leveldb_writebatch_destroy(batch->wb);
    free(batch);
}

void mnemo_store_batch_attach(mnemo_store_batch_t *batch, const void *owner,
                              const mnemo_store_hook_t *hook, void *ctx)
{
    assert(batch->n_hooks < MNEMO_STORE_MAX_HOOKS &&
           mnemo_store_batch_attached(batch, owner) == NULL);
    batch->hooks[batch->n_hooks++] = (attached_hook_t){owner, hook, ctx};
}

void *mnemo_store_batch_attached(const mnemo_store_batch_t *batch, const void *owner)
{
    for (size_t i = 0; i < batch->n_hooks; i++)
        if (batch->hooks[i].owner == owner)
            return batch->hooks[i].ctx;
    return NULL;
}

/* ---- LevelDB's background thread ---- */

#define WARM_BUFFER (64 << 10) /* LevelDB's smallest memtable */
#define WARM_VALUE  4096
#define WARM_VALUES 64 /* 256 KiB: fills the memtable, so a flush is scheduled */

/* Runs on a niced thread: opens a throwaway store with the smallest
 * memtable and overfills it, so that this thread is the one that schedules
 * the process's first compaction (and so starts LevelDB's background
 * thread), then closes (waiting for that compaction) and destroys it. */
static void *warm_main(void *arg)
{
    const char *dir = arg;
    mnemo_thread_name("mnemod-leveldb"); /* LevelDB's thread inherits it */
    mnemo_thread_background();
    leveldb_options_t *o = leveldb_options_create();
    leveldb_options_set_create_if_missing(o, 1);
    leveldb_options_set_write_buffer_size(o, WARM_BUFFER);
    char *errptr = NULL;
    leveldb_t *db = leveldb_open(o, dir, &errptr);
    if (db != NULL) {
        leveldb_writeoptions_t *wo = leveldb_writeoptions_create();
        static const char val[WARM_VALUE];
        for (int i = 0; i < WARM_VALUES && errptr == NULL; i++) {
            char key[16];
            int n = snprintf(key, sizeof key, "k%04d", i);
            leveldb_put(db, wo, key, (size_t)n, val, sizeof val, &errptr);
        }
        leveldb_writeoptions_destroy(wo);
        leveldb_close(db);
    }
    ldb_free(errptr);
    errptr = NULL;
    leveldb_destroy_db(o, dir, &errptr);
    ldb_free(errptr);
    leveldb_options_destroy(o);
    return NULL;
}

void mnemo_store_start_background(const char *scratch_dir)
{
    assert(scratch_dir != NULL);
    pthread_t t;
    if (pthread_create(&t, NULL, warm_main, (void *)scratch_dir) == 0)
        pthread_join(t, NULL);
}

static mnemo_store_iter_t *iter_create(mnemo_store_t *store, bool fill_cache)
{
    assert(store != NULL);
    mnemo_store_iter_t *it = mnemo_xmalloc(sizeof *it);
    memset(it, 0, sizeof *it);
    it->store = store;
    it->db = db_enter(store); /* left at destroy */
    if (it->db == NULL)
        return it; /* empty, its status says why */
    it->snapshot = leveldb_create_snapshot(it->db);
    it->read_opts = leveldb_readoptions_create();
    leveldb_readoptions_set_verify_checksums(it->read_opts, 1);
    leveldb_readoptions_set_fill_cache(it->read_opts, fill_cache);
    leveldb_readoptions_set_snapshot(it->read_opts, it->snapshot);
    it->it = leveldb_create_iterator(it->db, it->read_opts);
    return it;
}

mnemo_store_iter_t *mnemo_store_iter_create(mnemo_store_t *store)
{
    return iter_create(store, true);
}

mnemo_store_iter_t *mnemo_store_iter_create_bulk(mnemo_store_t *store)
{
    return iter_create(store, false);
}

void mnemo_store_iter_destroy(mnemo_store_iter_t *it)
{
    if (it == NULL)
        return;
    if (it->db != NULL) {
        leveldb_iter_destroy(it->it);
        leveldb_readoptions_destroy(it->read_opts);
        leveldb_release_snapshot(it->db, it->snapshot);
    }
    db_leave(it->store);
    free(it);
}

void mnemo_store_iter_seek(mnemo_store_iter_t *it, const void *key, size_t klen)
{
    if (it->it != NULL)
        leveldb_iter_seek(it->it, key, klen);
}

void mnemo_store_iter_seek_before(mnemo_store_iter_t *it, const void *key, size_t klen)
{
    if (it->it == NULL)
        return;
    leveldb_iter_seek(it->it, key, klen);
    if (leveldb_iter_valid(it->it))
        leveldb_iter_prev(it->it);
    else
        leveldb_iter_seek_to_last(it->it); /* every key is < key */
}

bool mnemo_store_iter_valid(const mnemo_store_iter_t *it)
{
    return it->it != NULL && leveldb_iter_valid(it->it) != 0;
}

void mnemo_store_iter_next(mnemo_store_iter_t *it)
{
    assert(mnemo_store_iter_valid(it));
    leveldb_iter_next(it->it);
}

void mnemo_store_iter_prev(mnemo_store_iter_t *it)
{
    assert(mnemo_store_iter_valid(it));
    leveldb_iter_prev(it->it);
}

const char *mnemo_store_iter_key(const mnemo_store_iter_t *it, size_t *klen)
{
    assert(mnemo_store_iter_valid(it));
    return leveldb_iter_key(it->it, klen);
}

const char *mnemo_store_iter_value(const mnemo_store_iter_t *it, size_t *vlen)
{
    assert(mnemo_store_iter_valid(it));
    return leveldb_iter_value(it->it, vlen);
}

mnemo_status_t mnemo_store_iter_status(const mnemo_store_iter_t *it, mnemo_err_t *err)
{
    if (it->it == NULL)
        return no_handle(it->store, err);
    char *errptr = NULL;
    leveldb_iter_get_error(it->it, &errptr);
    mnemo_err_t local;
    mnemo_status_t st = take_error(&errptr, MNEMO_EIO, &local, "store scan");
    if (st != MNEMO_OK && err != NULL)
        *err = local;
    return st == MNEMO_OK ? st : read_result(it->store, st, &local);
}

/* Writes batch (not synced) and clears it once it holds at least min
 * operations. */
static mnemo_status_t write_when(mnemo_store_t *store, mnemo_store_batch_t *batch, size_t min,
                                 mnemo_err_t *err)
{
    if (batch->count == 0 || batch->count < min)
        return MNEMO_OK;
    mnemo_status_t st = mnemo_store_write(store, batch, false, err);
    mnemo_store_batch_clear(batch);
    return st;
}

mnemo_status_t mnemo_store_drop_prefix(mnemo_store_t *store, mnemo_store_batch_t *batch,
                                       const void *prefix, size_t plen, size_t every, int64_t *n,
                                       mnemo_err_t *err)
{
    assert(store != NULL && batch != NULL && every > 0);
    mnemo_status_t st = MNEMO_OK;
    mnemo_store_iter_t *it = mnemo_store_iter_create_bulk(store);
    for (mnemo_store_iter_seek(it, prefix, plen); st == MNEMO_OK && mnemo_store_iter_valid(it);
         mnemo_store_iter_next(it)) {
        size_t klen = 0;
        const char *key = mnemo_store_iter_key(it, &klen);
        if (klen < plen || memcmp(key, prefix, plen) != 0)
            break;
        mnemo_store_batch_delete(batch, key, klen);
        if (n != NULL)
            (*n)++;
        st = write_when(store, batch, every, err);
    }
    if (st == MNEMO_OK)
        st = mnemo_store_iter_status(it, err);
    mnemo_store_iter_destroy(it);
    return st == MNEMO_OK ? write_when(store, batch, 1, err) : st;
}

/* ---- repair ----
 *
 * LevelDB's repairer reads logs without verifying their checksums (1.23
 * makes the log reader of its log conversion with checksum=false), so
 * bytes flipped in a log would enter the repaired store as data. The logs
 * are therefore salvaged first the way an open recovers them, which does
 * verify them: copied into a fresh scratch store (dir/salvage.tmp) and
 * recovered there with paranoid checks off, which drops every damaged part
 * (and says so in the scratch store's LOG) instead of failing. The tables
 * that recovery writes hold every intact record with its sequence number;
 * they move into dir under file numbers above every file there (the logs
 * are the newest data), and the logs move to dir/lost/. Then the repairer
 * runs with paranoid checks, so every table it scans has its block
 * checksums verified, and it finds no log left. Last, one compaction of
 * everything (compact_all says why). All of it under dir's lock. A run
 * interrupted half-way may be repeated: a log salvaged twice gives the
 * same records twice.
 */

/* Here rather than at the top: only the repair below uses them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define SALVAGE_DIR    "salvage.tmp"
#define SALVAGE_BASE   1000000ULL  /* log numbers in the scratch store: above its own files */
#define SALVAGE_BUFFER (64u << 20) /* memtable of the scratch store: few tables */
#define MAX_LOGS       4096

typedef struct numbered {
    unsigned long long number;
    char name[256];
} numbered_t;

/* The number of a LevelDB file name "<digits><suffix>", or 0 when name is
 * not one. */
static unsigned long long file_number(const char *name, const char *suffix)
{
    size_t n = strspn(name, "0123456789");
    if (n == 0 || n > 19 || strcmp(name + n, suffix) != 0)
        return 0;
    return strtoull(name, NULL, 10);
}

static int cmp_numbered(const void *a, const void *b)
{
    unsigned long long x = ((const numbered_t *)a)->number, y = ((const numbered_t *)b)->number;
    return x < y ? -1 : x > y;
}

/* The number in any LevelDB file name (a table, a log, a MANIFEST), or 0. */
static unsigned long long any_number(const char *name)
{
    if (strncmp(name, "MANIFEST-", 9) == 0)
        name += 9;
    size_t n = strspn(name, "0123456789");
    bool ok = n > 0 && n <= 19 && (name[n] == '.' || name[n] == '\0');
    return ok ? strtoull(name, NULL, 10) : 0;
}

/* The files of dir named "<number><suffix>", sorted by number, into out
 * (at most cap); *max_number (may be NULL) becomes the highest number of
 * any LevelDB file in dir, when higher. */
static size_t list_numbered(numbered_t *out, size_t cap, const char *dir, const char *suffix,
                            unsigned long long *max_number)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        unsigned long long any = any_number(e->d_name);
        if (max_number != NULL && any > *max_number)
            *max_number = any;
        unsigned long long num = suffix != NULL ? file_number(e->d_name, suffix) : 0;
        if (num != 0 && n < cap) {
            out[n].number = num;
            snprintf(out[n].name, sizeof out[n].name, "%s", e->d_name);
            n++;
        }
    }
    closedir(d);
    if (n > 1)
        qsort(out, n, sizeof *out, cmp_numbered);
    return n;
}

/* True when dir holds a file LevelDB made for data: CURRENT, a MANIFEST,
 * a log or a table (LOG, LOCK and lost/ do not count). */
static bool has_leveldb_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL)
        found = strcmp(e->d_name, "CURRENT") == 0 || any_number(e->d_name) != 0;
    closedir(d);
    return found;
}

/* Takes the lock LevelDB takes at open (an fcntl write lock on dir/LOCK),
 * so that a mnemod holding the store is noticed and one starting meanwhile
 * is refused. Closing *fd releases it. */
static mnemo_status_t lock_store(int *fd, const char *dir, mnemo_err_t *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/LOCK", dir);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (*fd < 0)
        return mnemo_err_set(err, MNEMO_EIO, "%s: %s", path, strerror(errno));
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(*fd, F_SETLK, &fl) == 0)
        return MNEMO_OK;
    int e = errno;
    close(*fd);
    *fd = -1;
    if (e == EAGAIN || e == EACCES)
        return mnemo_err_set(err, MNEMO_EUNAVAIL, "data dir %s is in use by another process", dir);
    return mnemo_err_set(err, MNEMO_EIO, "lock %s: %s", path, strerror(e));
}

/* Appends LevelDB's findings in dir/LOG to out, one per line, without time
 * stamp and thread id. In the LOG of the scratch store (logs != NULL), a
 * log's dropped bytes are told under the log's name in the store. */
static void add_findings(mnemo_buf_t *out, const char *dir, const numbered_t *logs, size_t n_logs)
{
    static const char *const words[] = {"dropping", "dropped",    "repaired",
                                        "gnoring",  "unparsable", "Corruption"};
    char path[4200], line[1024];
    snprintf(path, sizeof path, "%s/LOG", dir);
    FILE *f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        bool wanted = false;
        for (size_t i = 0; i < sizeof words / sizeof words[0] && !wanted; i++)
            wanted = strstr(line, words[i]) != NULL;
        const char *msg = strchr(line, ' ');             /* after the time stamp */
        msg = msg != NULL ? strchr(msg + 1, ' ') : NULL; /* after the thread id */
        if (!wanted || msg == NULL)
            continue;
        msg++;
        const char *drop = strstr(msg, "dropping"), *log = strstr(msg, ".log:");
        const char *digits = log;
        while (digits != NULL && digits > msg && digits[-1] >= '0' && digits[-1] <= '9')
            digits--;
        unsigned long long num = digits != NULL ? strtoull(digits, NULL, 10) : 0;
        if (logs != NULL && drop != NULL && num >= SALVAGE_BASE && num - SALVAGE_BASE < n_logs) {
            mnemo_buf_add(out, "log ", 4);
            mnemo_buf_add(out, logs[num - SALVAGE_BASE].name,
                          strlen(logs[num - SALVAGE_BASE].name));
            mnemo_buf_add(out, ": ", 2);
            msg = drop;
        }
        mnemo_buf_add(out, msg, strcspn(msg, "\n"));
        mnemo_buf_byte(out, '\n');
    }
    if (f != NULL)
        fclose(f);
}

/* Removes the scratch store dir: its files, then itself. */
static void remove_scratch(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
    rmdir(dir);
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static mnemo_status_t copy_file(const char *from, const char *to, mnemo_err_t *err)
{
    FILE *in = fopen(from, "rb"), *out = in != NULL ? fopen(to, "wb") : NULL;
    bool ok = out != NULL;
    char buf[1 << 16];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0)
        ok = fwrite(buf, 1, n, out) == n;
    ok = ok && !ferror(in) && fflush(out) == 0 && fsync(fileno(out)) == 0;
    int e = errno;
    if (out != NULL)
        ok = fclose(out) == 0 && ok;
    if (in != NULL)
        fclose(in);
    if (!ok)
        return mnemo_err_set(err, MNEMO_EIO, "copy %s to %s: %s", from, to, strerror(e));
    return MNEMO_OK;
}

/* Opens the scratch store dir with paranoid checks off (creating it when
 * create) and closes it again: recovery turns the logs in it into tables,
 * dropping what fails its checksum. */
static mnemo_status_t open_scratch(const char *dir, bool create, mnemo_err_t *err)
{
    leveldb_options_t *o = leveldb_options_create();
    leveldb_filterpolicy_t *bloom = leveldb_filterpolicy_create_bloom(BLOOM_BITS_PER_KEY);
    leveldb_options_set_create_if_missing(o, create);
    leveldb_options_set_paranoid_checks(o, 0);
    leveldb_options_set_write_buffer_size(o, SALVAGE_BUFFER);
    leveldb_options_set_filter_policy(o, bloom);
    char *errptr = NULL;
    leveldb_t *db = leveldb_open(o, dir, &errptr);
    mnemo_status_t st = take_error(&errptr, MNEMO_EIO, err, "salvage the logs");
    if (db != NULL)
        leveldb_close(db);
    leveldb_options_destroy(o);
    leveldb_filterpolicy_destroy(bloom);
    return st;
}

/* Moves the tables of the scratch store into dir, in their order, under
 * numbers above every file of dir. */
static mnemo_status_t adopt_tables(const char *dir, const char *scratch, mnemo_err_t *err)
{
    numbered_t *tables = mnemo_xcalloc(MAX_LOGS, sizeof *tables);
    unsigned long long next = 0;
    list_numbered(NULL, 0, dir, NULL, &next);
    size_t n = list_numbered(tables, MAX_LOGS, scratch, ".ldb", NULL);
    mnemo_status_t st = MNEMO_OK;
    for (size_t i = 0; i < n && st == MNEMO_OK; i++) {
        char from[4300], to[4300];
        snprintf(from, sizeof from, "%s/%s", scratch, tables[i].name);
        snprintf(to, sizeof to, "%s/%06llu.ldb", dir, ++next);
        if (rename(from, to) != 0)
            st = mnemo_err_set(err, MNEMO_EIO, "move %s to %s: %s", from, to, strerror(errno));
    }
    free(tables);
    return st;
}

/* Moves the logs of dir to dir/lost/, as the repairer does with what it
 * replaced. */
static mnemo_status_t set_aside(const char *dir, const numbered_t *logs, size_t n, mnemo_err_t *err)
{
    char lost[4200];
    snprintf(lost, sizeof lost, "%s/lost", dir);
    if (mkdir(lost, 0755) != 0 && errno != EEXIST)
        return mnemo_err_set(err, MNEMO_EIO, "%s: %s", lost, strerror(errno));
    for (size_t i = 0; i < n; i++) {
        /* to holds lost/ and any name: gcc -O0 (Debug) sees no bound on
         * lost's length but its size and rejects a smaller buffer. */
        char from[4300], to[sizeof lost + sizeof logs[i].name];
        snprintf(from, sizeof from, "%s/%s", dir, logs[i].name);
        snprintf(to, sizeof to, "%s/%s", lost, logs[i].name);
        if (rename(from, to) != 0)
            return mnemo_err_set(err, MNEMO_EIO, "move %s to %s: %s", from, to, strerror(errno));
    }
    return MNEMO_OK;
}

/* Salvages the logs of dir (see above); appends what it found to out. */
static mnemo_status_t salvage_logs(const char *dir, mnemo_buf_t *out, mnemo_err_t *err)
{
    numbered_t *logs = mnemo_xcalloc(MAX_LOGS, sizeof *logs);
    size_t n = list_numbered(logs, MAX_LOGS, dir, ".log", NULL);
    char scratch[4200];
    snprintf(scratch, sizeof scratch, "%s/" SALVAGE_DIR, dir);
    remove_scratch(scratch); /* left by an interrupted run */
    mnemo_status_t st = n > 0 ? open_scratch(scratch, true, err) : MNEMO_OK;
    for (size_t i = 0; i < n && st == MNEMO_OK; i++) {
        char from[4300], to[4300];
        snprintf(from, sizeof from, "%s/%s", dir, logs[i].name);
        snprintf(to, sizeof to, "%s/%06llu.log", scratch, SALVAGE_BASE + i);
        st = copy_file(from, to, err);
    }
    if (n > 0 && st == MNEMO_OK)
        st = open_scratch(scratch, false, err);
    if (n > 0 && st == MNEMO_OK) {
        add_findings(out, scratch, logs, n);
        st = adopt_tables(dir, scratch, err);
    }
    if (n > 0 && st == MNEMO_OK)
        st = set_aside(dir, logs, n, err);
    if (n > 0)
        sync_dir(dir);
    remove_scratch(scratch);
    free(logs);
    return st;
}

/* The repairer puts every table at level 0, where a lookup trusts the
 * highest file number first, not the newest sequence number: a log that
 * was already flushed but not yet deleted (a crash between the two) comes
 * back as a new table holding older values. One compaction of everything
 * merges by sequence number, so the newest value of every key wins. Runs
 * with dir's lock held by this process, which LevelDB's open shares. */
static mnemo_status_t compact_all(const leveldb_options_t *o, const char *dir, mnemo_err_t *err)
{
    char *errptr = NULL;
    leveldb_t *db = leveldb_open(o, dir, &errptr);
    mnemo_status_t st = take_error(&errptr, MNEMO_EIO, err, "open the repaired store");
    if (db != NULL) {
        leveldb_compact_range(db, NULL, 0, NULL, 0);
        leveldb_close(db);
    }
    return st;
}

mnemo_status_t mnemo_store_repair(const char *dir, const mnemo_store_options_t *opts,
                                  char **findings, mnemo_err_t *err)
{
    assert(dir != NULL);
    if (findings != NULL)
        *findings = NULL;
    if (!has_leveldb_files(dir))
        return mnemo_err_set(err, MNEMO_ENOTFOUND, "%s: no LevelDB store there", dir);
    int fd = -1;
    mnemo_status_t st = lock_store(&fd, dir, err);
    if (st != MNEMO_OK)
        return st;
    mnemo_buf_t found = {0};
    st = salvage_logs(dir, &found, err);
    if (st == MNEMO_OK) {
        leveldb_options_t *o = leveldb_options_create();
        leveldb_filterpolicy_t *bloom = leveldb_filterpolicy_create_bloom(BLOOM_BITS_PER_KEY);
        leveldb_options_set_paranoid_checks(o, 1); /* verify every table block it scans */
        leveldb_options_set_filter_policy(o, bloom);
        if (opts != NULL && opts->uncompressed)
            leveldb_options_set_compression(o, leveldb_no_compression);
        char *errptr = NULL;
        leveldb_repair_db(o, dir, &errptr);
        st = take_error(&errptr, MNEMO_EIO, err, "repair");
        add_findings(&found, dir, NULL, 0); /* before the open below starts a new LOG */
        if (st == MNEMO_OK)
            st = compact_all(o, dir, err);
        leveldb_options_destroy(o);
        leveldb_filterpolicy_destroy(bloom);
    }
    close(fd);
    if (st == MNEMO_OK && findings != NULL && found.len > 0) {
        mnemo_buf_byte(&found, '\0');
        *findings = (char *)found.p;
        found.p = NULL;
    }
    mnemo_buf_cleanup(&found);
    return st;
}
