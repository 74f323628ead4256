/* store.h - the key-value store under mnemod: the only module that knows
 * LevelDB (store.c is the only file including leveldb/c.h).
 *
 * DESIGN: one mnemo_store_t owns one LevelDB handle on one data directory.
 * Writes go through batches, each applied atomically. A write error is fatal
 * for the handle: LevelDB would acknowledge later writes and lose them on
 * reopen, so after the first failed write every write returns MNEMO_EIO and
 * mnemo_store_failed() turns true (the server reports NOT_SERVING). Reads
 * keep working.
 *
 * Damage is never served as data: the store opens with LevelDB's paranoid
 * checks (a log or MANIFEST record failing its checksum fails the open
 * instead of being dropped) and every read verifies block checksums (a
 * damaged block is MNEMO_ECORRUPT, which the rpc layer answers DATA_LOSS).
 * A torn last record of the log, what kill -9 leaves, is still recovered
 * silently: LevelDB cannot tell it from a log cut short.
 *
 * Threads: a store, its iterators and its batches may be used from any
 * thread; a store may be shared (LevelDB serialises writers and groups
 * concurrent sync writes into one fsync). A batch or an iterator is used by
 * one thread at a time.
 *
 * Keys and values are byte strings; values returned to the caller are the
 * caller's and freed with free().
 */
#ifndef MNEMO_STORE_H
#define MNEMO_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mnemo/status.h"

typedef struct mnemo_store mnemo_store_t;
typedef struct mnemo_store_batch mnemo_store_batch_t;
typedef struct mnemo_store_iter mnemo_store_iter_t;

/* A store's fixed memory: the block cache, and up to two memtables (one
 * filling, one being written out) of the write buffer size each. */
#define MNEMO_STORE_DEFAULT_CACHE_BYTES  (32u << 20)
#define MNEMO_STORE_DEFAULT_WRITE_BUFFER (16u << 20)

typedef struct mnemo_store_options {
    size_t cache_bytes;       /* block cache; 0: MNEMO_STORE_DEFAULT_CACHE_BYTES */
    size_t write_buffer_size; /* memtable size; 0: MNEMO_STORE_DEFAULT_WRITE_BUFFER */
    /* Tables written from now on are not compressed (false: snappy, what
     * LevelDB does by default). LevelDB maps table files (up to 1000 in a
     * process) and serves an uncompressed block straight from the mapping:
     * no copy, no decompression, and nothing in the block cache. What a
     * read brings in is page cache that leaves with its file when a
     * compaction deletes it. A compressed block is decompressed into the
     * block cache, and blocks of deleted tables stay there until pushed
     * out, so under churn the cache fills to its size with dead blocks.
     * For data that compresses little and churns (memories.h). Past the
     * 1000 mapped files (2 GB of tables in the process, both stores
     * counted) LevelDB reads with pread, and uncompressed blocks are
     * cached like any other. */
    bool uncompressed;
} mnemo_store_options_t;

/* Opens (creating if needed) the store in dir. Returns MNEMO_EUNAVAIL when
 * another process holds the directory's lock (the message says so and names
 * dir), MNEMO_ECORRUPT or MNEMO_EIO for other failures. opts may be NULL. */
mnemo_status_t mnemo_store_open(mnemo_store_t **out, const char *dir,
                                const mnemo_store_options_t *opts, mnemo_err_t *err);

/* Closes the store. Every iterator must be destroyed first. NULL: no-op. */
void mnemo_store_close(mnemo_store_t *store);

/* Reads key. On success *val (NUL-terminated for convenience, not counted in
 * *vlen) is the caller's. MNEMO_ENOTFOUND when absent, MNEMO_EIO or
 * MNEMO_ECORRUPT on read errors. */
mnemo_status_t mnemo_store_get(mnemo_store_t *store, const void *key, size_t klen, char **val,
                               size_t *vlen, mnemo_err_t *err);

/* Applies batch atomically. sync=true: durable against power loss when this
 * returns (fsync, shared by concurrent writers); false: durable against a
 * process crash. MNEMO_EIO when the write failed or the store already failed. */
mnemo_status_t mnemo_store_write(mnemo_store_t *store, mnemo_store_batch_t *batch, bool sync,
                                 mnemo_err_t *err);

/* True once a write has failed: the store accepts no more writes until
 * mnemo_store_recover succeeds. */
bool mnemo_store_failed(const mnemo_store_t *store);

/* Makes a failed store writable again: closes and reopens its LevelDB
 * handle (LevelDB recovers its log, which needs room on the disk for the
 * memtable it writes out), waiting for the reads and iterators in progress
 * and holding new ones back meanwhile. MNEMO_OK at once when the store has
 * not failed. On failure (MNEMO_EIO, or MNEMO_ECORRUPT) the store is left
 * with no handle: writes fail, reads answer MNEMO_EUNAVAIL, iterators are
 * empty with that status, until a later call succeeds. After a success the
 * failure hook runs again for the next problem (unless damage was found,
 * which stays). The calling thread must hold no iterator of any store. */
mnemo_status_t mnemo_store_recover(mnemo_store_t *store, mnemo_err_t *err);

/* True once damage was found in the store (a block failing its checksum,
 * or mnemo_store_report_damage): recover does not clear it. */
bool mnemo_store_damaged(mnemo_store_t *store);

/* Calls fn(ctx, problem) once, for the first problem of the store: a
 * failed write (before that write returns MNEMO_EIO), a read that found
 * damaged data (MNEMO_ECORRUPT: a block failing its checksum), or damage
 * a module reported (mnemo_store_report_damage); on the thread that met
 * it (any: a request's, a sync job's, a merger's), or at once, on this
 * thread, when it came before the hook was set. problem describes it
 * (no keys or values). fn must not use the store. One hook per store,
 * set once. */
void mnemo_store_on_failure(mnemo_store_t *store, void (*fn)(void *ctx, const char *problem),
                            void *ctx);

/* A module found a record that decodes but is wrong (a memory whose
 * content does not hash to its id): tells the failure hook, as a damaged
 * block would. Writes go on. */
void mnemo_store_report_damage(mnemo_store_t *store, const char *what);

/* Writes LevelDB refused since the store opened (a full disk, an I/O
 * error); refusals of later writes by mnemo itself are not counted. */
uint64_t mnemo_store_write_errors(const mnemo_store_t *store);

/* Bytes of the files in the store's directory (tables, logs, MANIFEST):
 * what it holds on disk now. A directory read at each call; 0 when it
 * cannot be read. */
unsigned long long mnemo_store_disk_bytes(const mnemo_store_t *store);

/* Bytes LevelDB holds in memory for the store: its block cache and
 * memtables (its "approximate-memory-usage"), bounded by the cache and
 * write-buffer sizes it was opened with; 0 while the store is closed. */
unsigned long long mnemo_store_memory_bytes(mnemo_store_t *store);

/* Approximate bytes on disk used by keys in [start, limit). */
unsigned long long mnemo_store_approximate_size(mnemo_store_t *store, const void *start,
                                                size_t slen, const void *limit, size_t llen);

/* Batches. create aborts on out-of-memory (as every small allocation in mnemo does). */
mnemo_store_batch_t *mnemo_store_batch_create(void);
void mnemo_store_batch_put(mnemo_store_batch_t *batch, const void *key, size_t klen,
                           const void *val, size_t vlen);
void mnemo_store_batch_delete(mnemo_store_batch_t *batch, const void *key, size_t klen);
void mnemo_store_batch_clear(mnemo_store_batch_t *batch);
/* Number of put and delete operations recorded since create or clear. */
size_t mnemo_store_batch_count(const mnemo_store_batch_t *batch);
void mnemo_store_batch_destroy(mnemo_store_batch_t *batch);

/* Batch hooks let a module that stages work into a batch finish it just
 * before the write and publish it only once the write succeeded (the index
 * builds its posting blocks and updates its in-memory document table this
 * way). mnemo_store_write first runs every hook's prepare, which may add to
 * the batch, then writes, then runs done(ctx, true) on success or
 * done(ctx, false) on failure; clear and destroy run done(ctx, false) for
 * the hooks still attached. Either way a hook is then detached: done runs
 * exactly once and owns ctx's cleanup. A batch holds at most
 * MNEMO_STORE_MAX_HOOKS hooks; owner tells them apart. */
#define MNEMO_STORE_MAX_HOOKS 4

typedef struct mnemo_store_hook {
    void (*prepare)(void *ctx, mnemo_store_batch_t *batch);
    void (*done)(void *ctx, bool committed);
} mnemo_store_hook_t;

void mnemo_store_batch_attach(mnemo_store_batch_t *batch, const void *owner,
                              const mnemo_store_hook_t *hook, void *ctx);
/* The ctx attached by owner, or NULL. */
void *mnemo_store_batch_attached(const mnemo_store_batch_t *batch, const void *owner);

/* LevelDB runs every compaction of every store of the process on one
 * background thread, started by whichever thread schedules the first
 * compaction and inheriting its CPU priority. Called before any store is
 * opened, this starts it from a niced thread (thread.h), so compactions
 * yield to the threads serving requests. scratch_dir (created and removed
 * again) holds a throwaway store meanwhile. Best effort: a failure leaves
 * the thread to start as it would have. */
void mnemo_store_start_background(const char *scratch_dir);

/* Iterators see a consistent snapshot of the store taken at create. */
mnemo_store_iter_t *mnemo_store_iter_create(mnemo_store_t *store);
/* The same for a scan that reads much once (a merge, a load at open, a
 * repair): the blocks it reads bypass the block cache (LevelDB's
 * fill_cache = false), which stays with what requests read instead of
 * filling to its size with every block a sweep walks. */
mnemo_store_iter_t *mnemo_store_iter_create_bulk(mnemo_store_t *store);
void mnemo_store_iter_destroy(mnemo_store_iter_t *it);
/* First key >= key. */
void mnemo_store_iter_seek(mnemo_store_iter_t *it, const void *key, size_t klen);
/* Last key < key (the start of a reverse scan that ends before key). */
void mnemo_store_iter_seek_before(mnemo_store_iter_t *it, const void *key, size_t klen);
bool mnemo_store_iter_valid(const mnemo_store_iter_t *it);
void mnemo_store_iter_next(mnemo_store_iter_t *it);
void mnemo_store_iter_prev(mnemo_store_iter_t *it);
/* Borrowed until the iterator moves or is destroyed. */
const char *mnemo_store_iter_key(const mnemo_store_iter_t *it, size_t *klen);
const char *mnemo_store_iter_value(const mnemo_store_iter_t *it, size_t *vlen);
/* MNEMO_OK, or the error that ended the iteration early. */
mnemo_status_t mnemo_store_iter_status(const mnemo_store_iter_t *it, mnemo_err_t *err);

/* Deletes every key that starts with prefix[0..plen) through batch, which
 * may hold other operations already: batch is written (not synced) and
 * cleared each time it holds every operations, and once more at the end.
 * *n (may be NULL) is increased by the number of keys deleted. For offline
 * passes (repair): the keys are read from a snapshot, so a key written
 * meanwhile may stay. */
mnemo_status_t mnemo_store_drop_prefix(mnemo_store_t *store, mnemo_store_batch_t *batch,
                                       const void *prefix, size_t plen, size_t every, int64_t *n,
                                       mnemo_err_t *err);

/* Repair (`mnemod repair`, repair.h): salvages what can be read of the
 * store in dir, under the directory's lock (LevelDB's repairer takes
 * none), so that no mnemod opens it meanwhile. The logs are recovered with
 * their checksums verified (LevelDB's repairer alone would not), dropping
 * their damaged parts; then LevelDB's repairer, with paranoid checks,
 * rebuilds the MANIFEST from the tables it can read and copies the
 * readable entries of a damaged table into a new one; then everything is
 * compacted once, so that the newest value of every key wins. The files
 * replaced or unreadable (logs, MANIFESTs, damaged tables) go to
 * dir/lost/. What LevelDB found goes to *findings (the caller's, free();
 * NULL when nothing; findings may be NULL), one finding per line in
 * LevelDB's words, a log's dropped bytes as "log NAME: dropping N bytes;
 * ...". The store must not be open in this process. MNEMO_EUNAVAIL when
 * another process holds the directory (the message says so and names
 * dir); MNEMO_ENOTFOUND (touching nothing) when dir holds no LevelDB file
 * at all; MNEMO_EIO or MNEMO_ECORRUPT when the repair fails. The tables it
 * writes follow opts->uncompressed (opts may be NULL: snappy). */
mnemo_status_t mnemo_store_repair(const char *dir, const mnemo_store_options_t *opts,
                                  char **findings, mnemo_err_t *err);

#endif
