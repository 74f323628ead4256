/* index.h - inverted index with BM25 ranking, persisted in the store.
 *
 * DESIGN: one index per namespace byte (memories use 'M', code chunks 'C'),
 * over documents named by ids of one fixed length per index. Each document
 * gets a small number (doc number, never reused) when it is added; postings
 * refer to doc numbers, so a posting costs 1-3 bytes instead of a key with
 * the whole id. Keys, all after the namespace byte but the first:
 *   0xff ns be32 first        (0xff first, after every other key: a record
 *                             is big, and a table block holding one must
 *                             never span a term's range) segment record:
 *                             every posting one written batch added
 *                             (varint n_terms, then per term str term |
 *                             varint first doc | block), until a flush has
 *                             turned it into blocks; older data dirs hold
 *                             them under ns 'g' be32, read and deleted alike
 *   'p' term '\0' be32 first  posting block: postings of term sorted by doc
 *                             number; first is its first doc number
 *   'd' be32 doc              live document: varint length (terms) | id
 *   'n'                       be32 doc numbers handed out up to (a lease)
 * A block is varint count, then per posting varint (delta << 1 | tf == 1)
 * [varint tf when not 1], delta from the previous doc number (from first
 * for the first posting).
 *
 * add and remove only stage: the postings of every document added to one
 * store batch become ONE segment record when the batch is written (a
 * store.h batch hook), so a memory costs a handful of keys and a sync batch
 * hundreds, not one per term. Once the write succeeded, the postings join
 * an in-memory buffer (searched with the blocks; rebuilt from the segment
 * records at open) and the in-memory document table (doc number -> length
 * and id, and id -> doc number; loaded from 'd' at open) changes. The
 * merger flushes the buffer once it holds 512 Ki postings: one block per
 * term and the deletion of the segment records it came from, in one write.
 * A removed document's postings stay until a flush or merge drops them;
 * searches skip them at once. The merger also merges a term once 64 new
 * blocks of it were written (or a query met it spread over 16):
 * logarithmically, folding its smallest blocks together, so each posting
 * is rewritten O(log n) times. Once removed documents number 1024 and a
 * quarter of the live ones, it sweeps: every term with several blocks or
 * removed postings becomes one block (mnemo_index_merge flushes and sweeps
 * on demand).
 *
 * Search copies the buffered postings of each query term, then reads their
 * blocks from a snapshot taken after that copy (a flush writes its blocks
 * before it drops the buffer it flushed, so every posting is in the copy,
 * the snapshot or both, and each document counts once per term);
 * accumulates BM25 (k1 = 1.2, b = 0.75; N, average length and df counted
 * over live documents) per doc number in a dense array over the numbers
 * a live document may have (from the first page not yet retired; a hash
 * table when they outnumber live documents more than 4 to 1), keeps the
 * best `limit` (ties: smaller id first). The filter is asked only about
 * documents that would enter the top `limit`.
 *
 * Threads: every function may be called from any thread concurrently; the
 * caller serialises add/remove of one id and commits the batches of one id
 * in order.
 */
#ifndef MNEMO_INDEX_H
#define MNEMO_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mnemo/status.h"
#include "store.h"

#define MNEMO_INDEX_MAX_ID 64

/* Deletes every key of index ns from store, the way
 * mnemo_store_drop_prefix does (through batch, a write each every
 * operations): its namespace and its segment records. The index must not
 * be open. */
mnemo_status_t mnemo_index_drop(mnemo_store_t *store, char ns, mnemo_store_batch_t *batch,
                                size_t every, mnemo_err_t *err);

typedef struct mnemo_index mnemo_index_t;

typedef struct mnemo_index_hit {
    uint8_t id[MNEMO_INDEX_MAX_ID];
    size_t id_len;
    double score;
} mnemo_index_hit_t;

/* Return true to let doc_id take part in the ranking (e.g. a tag filter). */
typedef bool (*mnemo_index_filter_fn)(void *ctx, const void *doc_id, size_t id_len);

/* Opens the index of namespace ns in store, whose document ids are id_len
 * (1..MNEMO_INDEX_MAX_ID) bytes, loading its document table. MNEMO_EIO or
 * MNEMO_ECORRUPT on store errors. */
mnemo_status_t mnemo_index_open(mnemo_index_t **out, mnemo_store_t *store, char ns, size_t id_len,
                                mnemo_err_t *err);

/* Starts the background merger thread (niced: merging waits for the work
 * that produces it). Without it, blocks are merged only by
 * mnemo_index_merge. */
void mnemo_index_start(mnemo_index_t *index);

/* Stops the merger (at the end of the batch it is writing) and frees the
 * index. Every batch holding staged changes must be written or destroyed
 * first. NULL: no-op. */
void mnemo_index_close(mnemo_index_t *index);

/* Stages document doc_id (id_len bytes, not in the index: remove it first)
 * with text into batch; it becomes searchable once the batch is written.
 * MNEMO_EIO when the doc number lease cannot be written (the store has then
 * failed), MNEMO_ERESOURCE when doc numbers ran out (after 4 billion
 * additions); either way nothing was staged, but earlier additions to the
 * same batch were: the caller must not write it. */
mnemo_status_t mnemo_index_add(mnemo_index_t *index, mnemo_store_batch_t *batch, const void *doc_id,
                               const char *text, size_t len, mnemo_err_t *err);

/* Stages the removal of doc_id into batch (nothing when it is not indexed
 * when the batch is staged). Never fails: it reads nothing from the store. */
void mnemo_index_remove(mnemo_index_t *index, mnemo_store_batch_t *batch, const void *doc_id);

/* Ranks documents for query. *hits (the caller's, free()) holds at most
 * limit hits with score >= min_score, best first; *count says how many.
 * A query with no terms gives no hits. filter may be NULL. MNEMO_EIO or
 * MNEMO_ECORRUPT on store errors. */
mnemo_status_t mnemo_index_search(mnemo_index_t *index, mnemo_index_hit_t **hits, size_t *count,
                                  const char *query, size_t qlen, size_t limit, double min_score,
                                  mnemo_index_filter_fn filter, void *ctx, mnemo_err_t *err);

/* The writer's burst of additions is over (a sync ended): the merger
 * writes what is buffered, however little, once writes have paused for
 * 2 s, rather than hold it in memory until the next burst. */
void mnemo_index_burst_over(mnemo_index_t *index);

/* Flushes the buffer, then merges every term with more than one block or
 * with postings of removed documents into one block, now (writes without
 * fsync: neither changes a result, and a lost one leaves what it read).
 * MNEMO_EIO or MNEMO_ECORRUPT on store errors. */
mnemo_status_t mnemo_index_merge(mnemo_index_t *index, mnemo_err_t *err);

/* Number of documents indexed. */
uint64_t mnemo_index_doc_count(const mnemo_index_t *index);

/* Number of posting blocks (not counting the buffer), exact after
 * mnemo_index_merge, tracked since (for tests and benchmarks). */
uint64_t mnemo_index_block_count(const mnemo_index_t *index);

/* Pages of the in-memory document table held (each covers 1,024 doc
 * numbers): those with a live document or one in flight; pages whose
 * documents all died are given back by the next mnemo_index_merge (for
 * tests and benchmarks). */
uint64_t mnemo_index_page_count(const mnemo_index_t *index);

/* Bytes the index holds in memory, approximately: the document table, the
 * id map, the buffered postings and the accumulators of searches not
 * running now. What it costs follows the live documents, not the history
 * of the index (doc numbers handed out). */
uint64_t mnemo_index_memory_bytes(mnemo_index_t *index);

#endif
