/* recovery.h - keeps the stores writable: a store whose write failed (a
 * full disk) is reopened by itself once the disk has room again, and the
 * data dir's ballast (datadir.h) keeps that room for the reopen and for a
 * restart.
 *
 * DESIGN: one thread per server. A store's failure hook calls
 * mnemo_recovery_wake; when the problem is a lack of space (ENOSPC,
 * EDQUOT) the ballast is deleted at once, on the hook's thread, so its
 * bytes are free before anything else can take them. The thread then
 * checks the free space every RECOVERY_POLL_MS (statvfs: cheap) and, once
 * it covers need_bytes per failed store plus the ballast, reopens each
 * failed store (mnemo_store_recover); a reopen that fails is tried again
 * after 1 s, doubling to 30 s. When every store writes again, the ballast
 * is made again (only while that leaves need_bytes free) and writable(ctx)
 * runs: the server reports SERVING and records what a full disk kept in
 * memory only (a sync's final state). A store with damage found in it is
 * not a failed write and is never reopened here.
 *
 * Threads: start and stop on one thread; wake from any (a failure hook).
 * writable runs on the recovery thread.
 */
#ifndef MNEMO_RECOVERY_H
#define MNEMO_RECOVERY_H

#include <stddef.h>

#include "mnemo/status.h"
#include "store.h"

#define MNEMO_RECOVERY_MAX_STORES 4

typedef struct mnemo_recovery mnemo_recovery_t;

typedef struct mnemo_recovery_options {
    const char *data_dir;
    unsigned long long ballast_bytes; /* 0: no ballast */
    /* Free bytes a reopen needs per failed store besides the ballast
     * (LevelDB writes the log it replays into a table, up to two
     * memtables' worth). */
    unsigned long long need_bytes;
    mnemo_store_t *stores[MNEMO_RECOVERY_MAX_STORES];
    const char *names[MNEMO_RECOVERY_MAX_STORES]; /* for the log */
    size_t n_stores;
    void (*writable)(void *ctx); /* every store writes again */
    void *ctx;
} mnemo_recovery_options_t;

/* Makes the ballast (a warning on stderr, not an error, when the disk
 * lacks the room: the thread makes it later) and starts the thread.
 * Strings in opts are copied. */
mnemo_status_t mnemo_recovery_start(mnemo_recovery_t **out, const mnemo_recovery_options_t *opts,
                                    mnemo_err_t *err);

/* A store reported problem (its failure hook): releases the ballast when
 * the problem is a lack of space, and wakes the thread. */
void mnemo_recovery_wake(mnemo_recovery_t *rec, const char *problem);

/* Stops and joins the thread: writable never runs after this returns;
 * wake still releases the ballast (failure hooks may run until the stores
 * close). NULL: no-op. */
void mnemo_recovery_stop(mnemo_recovery_t *rec);

/* Frees rec, stopped or not, once no failure hook can call wake. */
void mnemo_recovery_destroy(mnemo_recovery_t *rec);

#endif
