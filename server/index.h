/* index.h - inverted index with BM25 ranking, persisted in the store.
 *
 * DESIGN: one index per namespace byte (memories use 'M', code chunks 'C').
 * For each term of a document the index keeps one posting
 *   key   = ns 'p' term '\0' doc_id
 *   value = varint term frequency, varint document length (in terms)
 * and per namespace one stats record (ns 's': document count, total length)
 * so BM25 needs no scan of the documents. A query reads only the postings
 * of its terms, accumulates BM25 (k1 = 1.2, b = 0.75) per document, keeps
 * the best `limit` in a heap and returns them best first (ties: smaller
 * doc id first, so results are deterministic).
 *
 * Writes are recorded into a caller's batch (so a document and its postings
 * commit in one atomic write). The in-memory stats are updated at once and
 * persisted inside the same batch; if a batch is then lost to a failed
 * write, the store is failed anyway. Under concurrent writers the persisted
 * stats may lag by the writes in flight at a crash: BM25 tolerates that.
 *
 * Threads: every function may be called from any thread concurrently; the
 * caller serialises add/remove of the same document.
 */
#ifndef MNEMO_INDEX_H
#define MNEMO_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mnemo/status.h"
#include "store.h"

#define MNEMO_INDEX_MAX_ID 64

typedef struct mnemo_index mnemo_index_t;

typedef struct mnemo_index_hit {
    uint8_t id[MNEMO_INDEX_MAX_ID];
    size_t id_len;
    double score;
} mnemo_index_hit_t;

/* Return true to let doc_id take part in the ranking (e.g. a tag filter). */
typedef bool (*mnemo_index_filter_fn)(void *ctx, const void *doc_id, size_t id_len);

/* Opens the index of namespace ns in store, loading its stats. */
mnemo_status_t mnemo_index_open(mnemo_index_t **out, mnemo_store_t *store, char ns,
                                mnemo_err_t *err);
void mnemo_index_close(mnemo_index_t *index);

/* Records the postings of document doc_id with text into batch and updates
 * the stats. id_len is 1..MNEMO_INDEX_MAX_ID. Returns the number of terms. */
size_t mnemo_index_add(mnemo_index_t *index, mnemo_store_batch_t *batch, const void *doc_id,
                       size_t id_len, const char *text, size_t len);

/* Records the removal of the postings that mnemo_index_add recorded for the
 * same doc_id and text. */
void mnemo_index_remove(mnemo_index_t *index, mnemo_store_batch_t *batch, const void *doc_id,
                        size_t id_len, const char *text, size_t len);

/* Ranks documents for query. *hits (the caller's, free()) holds at most
 * limit hits with score >= min_score, best first; *count says how many.
 * A query with no terms gives no hits. filter may be NULL. MNEMO_EIO or
 * MNEMO_ECORRUPT on store errors. */
mnemo_status_t mnemo_index_search(mnemo_index_t *index, mnemo_index_hit_t **hits, size_t *count,
                                  const char *query, size_t qlen, size_t limit, double min_score,
                                  mnemo_index_filter_fn filter, void *ctx, mnemo_err_t *err);

/* Number of documents indexed. */
uint64_t mnemo_index_doc_count(const mnemo_index_t *index);

#endif
