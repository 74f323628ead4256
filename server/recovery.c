/* recovery.c - reopening stores after a full disk, and the ballast (see
 * recovery.h).
 *
 * DESIGN: the thread sleeps on cond: without a timeout while every store
 * writes and the ballast is in place; RECOVERY_POLL_MS at a time while a
 * store has failed (statvfs is the whole cost of a poll); BALLAST_RETRY_MS
 * while the ballast waits for room. All decisions are made on the thread;
 * wake only releases the ballast (at once, for the reopen's sake) and
 * signals.
 */
#include "recovery.h"

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bytes.h"
#include "datadir.h"
#include "log.h"
#include "thread.h"

#define RECOVERY_POLL_MS  500
#define REOPEN_BACKOFF_MS 1000  /* after a failed reopen, doubling ... */
#define REOPEN_MAX_MS     30000 /* ... up to this */
#define BALLAST_RETRY_MS  10000

struct mnemo_recovery {
    mnemo_recovery_options_t opts; /* data_dir and names owned */
    pthread_t thread;
    pthread_mutex_t mu; /* guards the fields below */
    pthread_cond_t cond;
    bool running; /* thread started */
    bool stopping;
    bool woken;
};

static long long now_ms(void)
{
    return (long long)(mnemo_clock_ns() / 1000000);
}

/* Waits up to ms (forever when negative) for a wake or stop; caller holds mu. */
static void nap_locked(mnemo_recovery_t *rec, long ms)
{
    if (rec->woken || rec->stopping) {
        rec->woken = false;
        return;
    }
    if (ms < 0) {
        pthread_cond_wait(&rec->cond, &rec->mu);
    } else {
        mnemo_thread_cond_wait_ms(&rec->cond, &rec->mu, ms);
    }
    rec->woken = false;
}

static size_t failed_stores(const mnemo_recovery_t *rec)
{
    size_t n = 0;
    for (size_t i = 0; i < rec->opts.n_stores; i++)
        n += mnemo_store_failed(rec->opts.stores[i]) && !mnemo_store_damaged(rec->opts.stores[i]);
    return n;
}

/* Makes the ballast when the disk has room for it and need_bytes more;
 * true when it is in place (or none is wanted). loud: say why not. */
static bool ballast_try(const mnemo_recovery_t *rec, bool loud)
{
    const mnemo_recovery_options_t *o = &rec->opts;
    if (o->ballast_bytes == 0 || mnemo_datadir_ballast_bytes(o->data_dir) >= o->ballast_bytes)
        return true;
    unsigned long long free_bytes = mnemo_datadir_free_bytes(o->data_dir);
    if (free_bytes < o->ballast_bytes + o->need_bytes) {
        if (loud)
            mnemo_log(MNEMO_LOG_WARN,
                      "warning: %llu bytes free in %s: too few for the %llu-byte ballast and "
                      "room to write; it is made once the disk has room",
                      free_bytes, o->data_dir, o->ballast_bytes);
        return false;
    }
    mnemo_err_t err;
    if (mnemo_datadir_ballast_ensure(o->data_dir, o->ballast_bytes, &err) != MNEMO_OK) {
        if (loud)
            mnemo_log(MNEMO_LOG_WARN, "warning: %s", err.msg);
        return false;
    }
    return true;
}

/* Reopens every failed store; true when all write again. */
static bool reopen_failed(mnemo_recovery_t *rec)
{
    bool all = true;
    for (size_t i = 0; i < rec->opts.n_stores; i++) {
        mnemo_store_t *store = rec->opts.stores[i];
        if (!mnemo_store_failed(store) || mnemo_store_damaged(store))
            continue;
        mnemo_err_t err;
        if (mnemo_store_recover(store, &err) != MNEMO_OK) {
            mnemo_log(MNEMO_LOG_WARN, "%s store: cannot reopen yet: %s", rec->opts.names[i],
                      err.msg);
            all = false;
        }
    }
    return all;
}

static void *recovery_main(void *arg)
{
    mnemo_recovery_t *rec = arg;
    mnemo_thread_name("mnemod-recover");
    const mnemo_recovery_options_t *o = &rec->opts;
    bool ballast_ok = ballast_try(rec, false);
    long long failed_since = 0, next_reopen = 0;
    long backoff = REOPEN_BACKOFF_MS;
    pthread_mutex_lock(&rec->mu);
    while (!rec->stopping) {
        pthread_mutex_unlock(&rec->mu);
        size_t failed = failed_stores(rec);
        long nap = -1;
        if (failed == 0) {
            if (!ballast_ok)
                ballast_ok = ballast_try(rec, false);
            nap = ballast_ok ? -1 : BALLAST_RETRY_MS;
        } else {
            long long now = now_ms();
            if (failed_since == 0) {
                failed_since = now;
                ballast_ok = false; /* a lack of space released it */
            }
            nap = RECOVERY_POLL_MS;
            unsigned long long free_bytes = mnemo_datadir_free_bytes(o->data_dir);
            if (now >= next_reopen && free_bytes >= failed * o->need_bytes + o->ballast_bytes) {
                if (reopen_failed(rec)) {
                    ballast_ok = ballast_try(rec, true);
                    mnemo_log(MNEMO_LOG_INFO,
                              "store writes work again, %lld ms after the first failed one; "
                              "health is SERVING",
                              now_ms() - failed_since);
                    failed_since = 0;
                    backoff = REOPEN_BACKOFF_MS;
                    if (o->writable != NULL)
                        o->writable(o->ctx);
                    nap = ballast_ok ? -1 : BALLAST_RETRY_MS;
                } else {
                    next_reopen = now + backoff;
                    backoff = backoff * 2 < REOPEN_MAX_MS ? backoff * 2 : REOPEN_MAX_MS;
                }
            }
        }
        pthread_mutex_lock(&rec->mu);
        nap_locked(rec, nap);
    }
    pthread_mutex_unlock(&rec->mu);
    return NULL;
}

mnemo_status_t mnemo_recovery_start(mnemo_recovery_t **out, const mnemo_recovery_options_t *opts,
                                    mnemo_err_t *err)
{
    assert(out != NULL && opts != NULL && opts->n_stores <= MNEMO_RECOVERY_MAX_STORES);
    mnemo_recovery_t *rec = mnemo_xcalloc(1, sizeof *rec);
    rec->opts = *opts;
    rec->opts.data_dir = mnemo_xstrdup(opts->data_dir);
    for (size_t i = 0; i < opts->n_stores; i++)
        rec->opts.names[i] = mnemo_xstrdup(opts->names[i]);
    pthread_mutex_init(&rec->mu, NULL);
    mnemo_thread_cond_init(&rec->cond);
    ballast_try(rec, true); /* at start, so a full disk later finds it there */
    rec->running = pthread_create(&rec->thread, NULL, recovery_main, rec) == 0;
    if (!rec->running) {
        mnemo_recovery_destroy(rec);
        return mnemo_err_set(err, MNEMO_EIO, "cannot start the recovery thread");
    }
    *out = rec;
    return MNEMO_OK;
}

void mnemo_recovery_wake(mnemo_recovery_t *rec, const char *problem)
{
    if (rec == NULL)
        return;
    if (problem != NULL &&
        (strstr(problem, "No space left") != NULL || strstr(problem, "quota exceeded") != NULL)) {
        unsigned long long freed = mnemo_datadir_ballast_release(rec->opts.data_dir);
        if (freed > 0)
            mnemo_log(MNEMO_LOG_WARN, "released the %llu-byte ballast in %s: room to recover",
                      freed, rec->opts.data_dir);
    }
    pthread_mutex_lock(&rec->mu);
    rec->woken = true;
    pthread_cond_signal(&rec->cond);
    pthread_mutex_unlock(&rec->mu);
}

void mnemo_recovery_stop(mnemo_recovery_t *rec)
{
    if (rec == NULL)
        return;
    pthread_mutex_lock(&rec->mu);
    rec->stopping = true;
    bool join = rec->running;
    rec->running = false;
    pthread_cond_signal(&rec->cond);
    pthread_mutex_unlock(&rec->mu);
    if (join)
        pthread_join(rec->thread, NULL);
}

void mnemo_recovery_destroy(mnemo_recovery_t *rec)
{
    if (rec == NULL)
        return;
    mnemo_recovery_stop(rec);
    pthread_cond_destroy(&rec->cond);
    pthread_mutex_destroy(&rec->mu);
    for (size_t i = 0; i < rec->opts.n_stores; i++)
        free((char *)rec->opts.names[i]);
    free((char *)rec->opts.data_dir);
    free(rec);
}
