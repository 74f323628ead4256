/* memories.h - the memory store: short texts with tags and metadata, kept by
 * content hash, listed newest first, found by tag or by relevance.
 *
 * DESIGN: a memory's id is the lowercase hex SHA-256 of its content; storing
 * the same content again merges the new tags into the existing memory (and
 * adds metadata keys it lacked) and reports created=false. Layout in the
 * store (id32 = the 32 raw bytes of the id, be64 = big-endian int64):
 *   'm' id32                      -> the memory record
 *   't' be64(created) id32        -> ""   (newest first = reverse scan)
 *   'g' tag '\0' be64(created) id32 -> "" (per-tag, newest first)
 *   'M'...                        -> the BM25 index of contents (index.h)
 *   'S' "token-key"               -> random key that signs page tokens
 *                                    (pagetoken.h)
 *   'S' "count" stripe-byte       -> be64 count of the memories of a stripe
 * Every put or delete is one atomic batch written with sync=true by default
 * (an acknowledged store survives kill -9 and power loss; concurrent puts
 * share an fsync). Put and delete of one id are serialised by a striped
 * mutex; different ids proceed in parallel. Page tokens are opaque: a
 * position plus a keyed hash over it and the tag filter (pagetoken.h), so a
 * forged or foreign token is MNEMO_EINVAL, never a crash or a wrong page.
 *
 * Validation of field limits is the caller's (rpc_memory.c); this module
 * asserts what it relies on (non-empty content, tags without NUL).
 *
 * Threads: every function may be called from any thread concurrently.
 */
#ifndef MNEMO_MEMORIES_H
#define MNEMO_MEMORIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mnemo/status.h"
#include "store.h"

/* A memory id: lowercase hex digits of the SHA-256 of the content. */
#define MNEMO_MEMORY_ID_LEN 64

typedef struct mnemo_memories mnemo_memories_t;

typedef struct mnemo_kv {
    char *key;
    char *value;
} mnemo_kv_t;

/* A memory as returned to callers: heap-allocated, freed with
 * mnemo_memory_destroy. Strings are NUL-terminated; content may not contain
 * NUL only because callers validate it as text. Tags are sorted, unique;
 * metadata sorted by key. */
typedef struct mnemo_memory {
    char id[MNEMO_MEMORY_ID_LEN + 1];
    char *content;
    size_t content_len;
    char **tags;
    size_t n_tags;
    mnemo_kv_t *metadata;
    size_t n_metadata;
    char *memory_type;
    int64_t created_at_ms;
    int64_t updated_at_ms;
} mnemo_memory_t;

/* What a caller stores: everything borrowed for the call. */
typedef struct mnemo_memory_input {
    const char *content;
    size_t content_len;
    const char *const *tags;
    size_t n_tags;
    const char *const *meta_keys;
    const char *const *meta_values;
    size_t n_metadata;
    const char *memory_type; /* NULL or "" for none */
} mnemo_memory_input_t;

/* A page or a ranking: items[i] (and scores[i] for retrieve) are owned by
 * the list; free with mnemo_memory_list_cleanup. */
typedef struct mnemo_memory_list {
    mnemo_memory_t **items;
    double *scores; /* NULL except for retrieve */
    size_t count;
    char *next_page_token; /* NULL on the last page */
    /* The byte budget (max_result_bytes) cut the result short: a list
     * continues at next_page_token; a ranking or tag search lost its
     * lower-ranked (or older) tail. */
    bool truncated;
} mnemo_memory_list_t;

/* Bytes per memory, beyond mnemo_memory_size_bound's fields, for the
 * message that carries it in a reply: a length-prefixed repeated field, and
 * a wrapper with a score (ScoredMemory). */
#define MNEMO_MEMORY_ENVELOPE_BYTES 32
/* Bytes of a reply kept outside its memories: a page token (at most
 * MNEMO_PAGETOKEN_MAX_LEN, pagetoken.h) and a flag, each with its tag and
 * length. */
#define MNEMO_MEMORY_LIST_RESERVE 512

typedef struct mnemo_memories_options {
    bool sync_writes; /* fsync every acknowledged write (default true) */
    /* Byte budget of one list, retrieve or by_tag result: the sum of
     * mnemo_memory_size_bound over its items stays within max_result_bytes
     * - MNEMO_MEMORY_LIST_RESERVE, except that a first item larger than
     * that is returned alone (a memory is never split; the default content
     * limit, 1 MiB, is well below the default budget). 0: no budget. */
    size_t max_result_bytes;
} mnemo_memories_options_t;

/* An upper bound of the bytes that m takes in a reply: every string with a
 * field tag and a length prefix of up to 5 bytes each, every map entry as a
 * nested message, both timestamps as 10-byte varints, plus
 * MNEMO_MEMORY_ENVELOPE_BYTES. At least protobuf's encoded size of a Memory
 * inside a ListMemories, SearchByTag or RetrieveMemory reply. */
size_t mnemo_memory_size_bound(const mnemo_memory_t *m);

/* Sets what the store under the memories is opened with, beyond the
 * caller's sizes: its tables are written uncompressed (store.h says what
 * that changes). Memory texts are short and the index's posting blocks are
 * varint deltas, so snappy saves about a quarter of the disk (26,172
 * changelog entries: 11.7 MB with it, 15.9 MB without), while a stream of stores and deletes
 * rewrites the tables all the time: with snappy, the block cache filled to
 * its 32 MiB with blocks of deleted tables over a soak's first 20 minutes
 * (docs/design-notes.md). mnemod, its repair and the benchmark open the
 * store so. */
void mnemo_memories_store_options(mnemo_store_options_t *opts);

/* Opens the memory store on store (which must outlive it). opts may be
 * NULL (defaults). */
mnemo_status_t mnemo_memories_open(mnemo_memories_t **out, mnemo_store_t *store,
                                   const mnemo_memories_options_t *opts, mnemo_err_t *err);
void mnemo_memories_close(mnemo_memories_t *mem);

/* Stores in (new or merged) at time now_ms; *out (the caller's) is the stored
 * memory, *created says whether it is new. MNEMO_EIO when the write failed. */
mnemo_status_t mnemo_memories_put(mnemo_memories_t *mem, mnemo_memory_t **out, bool *created,
                                  const mnemo_memory_input_t *in, int64_t now_ms, mnemo_err_t *err);

/* MNEMO_ENOTFOUND when no memory has id (64 lowercase hex digits; anything
 * else is MNEMO_EINVAL naming "id"). */
mnemo_status_t mnemo_memories_get(mnemo_memories_t *mem, mnemo_memory_t **out, const char *id,
                                  mnemo_err_t *err);

/* Deletes id; *deleted is false when it was absent (not an error). */
mnemo_status_t mnemo_memories_delete(mnemo_memories_t *mem, bool *deleted, const char *id,
                                     mnemo_err_t *err);

/* One page, newest first, of memories with any of tags (all memories when
 * n_tags is 0); page_size 0 means MNEMO_DEFAULT_PAGE_SIZE (defaults.h). A
 * page that the byte budget (max_result_bytes) ends early has a
 * next_page_token after its last item and truncated set.
 * page_token NULL or "" starts at the newest; a token that this store did
 * not issue for the same tags is MNEMO_EINVAL naming "page_token". */
mnemo_status_t mnemo_memories_list(mnemo_memories_t *mem, mnemo_memory_list_t *out,
                                   size_t page_size, const char *page_token,
                                   const char *const *tags, size_t n_tags, mnemo_err_t *err);

/* Up to limit memories (0: MNEMO_DEFAULT_LIMIT) ranked by BM25 against
 * query, best first, only among memories with any of tags (when n_tags > 0),
 * dropping scores < min_score. The byte budget keeps the best and sets
 * truncated when it drops the rest. */
mnemo_status_t mnemo_memories_retrieve(mnemo_memories_t *mem, mnemo_memory_list_t *out,
                                       const char *query, size_t qlen, size_t limit,
                                       const char *const *tags, size_t n_tags, double min_score,
                                       mnemo_err_t *err);

/* Up to limit memories (0: MNEMO_DEFAULT_LIMIT), newest first, with any
 * (match_all=false) or all of tags (n_tags >= 1). The byte budget keeps the
 * newest and sets truncated when it drops the rest. */
mnemo_status_t mnemo_memories_by_tag(mnemo_memories_t *mem, mnemo_memory_list_t *out,
                                     const char *const *tags, size_t n_tags, bool match_all,
                                     size_t limit, mnemo_err_t *err);

/* Number of memories stored. */
uint64_t mnemo_memories_count(const mnemo_memories_t *mem);

/* Bytes the memories' search index holds in memory (mnemo_index_memory_bytes). */
uint64_t mnemo_memories_index_bytes(mnemo_memories_t *mem);

void mnemo_memory_destroy(mnemo_memory_t *m);
void mnemo_memory_list_cleanup(mnemo_memory_list_t *list);

/* Repair (repair.h): what mnemo_memories_repair kept and lost. */
typedef struct mnemo_memories_repair {
    uint64_t kept; /* memories whose record decodes and hashes to its id */
    /* Memories removed, by id (sorted, each once): a record that does not
     * decode or hash to its id; a record that contradicts a tag or time
     * entry naming it (it may be an older version of the memory); and ids
     * whose entries remain while their record is gone. lost_ids is the
     * caller's (mnemo_memories_repair_cleanup). An id listed here may also
     * be a memory deleted just before the damage. */
    uint64_t lost;
    char (*lost_ids)[MNEMO_MEMORY_ID_LEN + 1];
    /* Memories the store counted that left no trace (record, entries and
     * postings all gone, as when LevelDB drops a damaged part of a log):
     * at least this many more are lost, ids unknown. */
    uint64_t untraced;
    /* More memories than the store counted: a deletion recorded in a
     * damaged part may have been undone (which one is not known). */
    uint64_t uncounted;
    uint64_t entries_restored; /* tag or time entries of kept memories re-added */
    uint64_t entries_removed;  /* entries naming no kept memory, removed */
} mnemo_memories_repair_t;

/* The consistency pass of `mnemod repair` over the memory store in store,
 * which no mnemo_memories_t may have open (LevelDB's repairer has run):
 * re-hashes every record and removes those that fail or contradict their
 * tag and time entries, re-adds the entries a kept memory lacks, removes
 * entries naming no kept memory, rewrites the per-stripe counts, and drops
 * the BM25 index ('M') and rebuilds it from the kept memories' content.
 * Afterwards mnemo_memories_open finds a consistent store whose every
 * memory reads back exactly as stored. *out is the caller's
 * (mnemo_memories_repair_cleanup), set only on success. MNEMO_EIO or
 * MNEMO_ECORRUPT when the store cannot be read or written; the store is
 * then partly repaired, and running the pass again is safe. */
mnemo_status_t mnemo_memories_repair(mnemo_memories_repair_t *out, mnemo_store_t *store,
                                     mnemo_err_t *err);
void mnemo_memories_repair_cleanup(mnemo_memories_repair_t *r);

#endif
