/* index.c - inverted index with BM25 ranking, persisted in the store (see
 * index.h for the key layout).
 *
 * DESIGN: three parts.
 *
 * The document table, in memory: doc number -> state word and id, in pages
 * of PAGE_DOCS (1,024) found through a directory of 2^22 page pointers
 * (calloc'd: untouched directory pages cost no memory). Pages are small
 * because a page holding even one live document stays: partial re-syncs
 * leave a few live documents in each page they wrote, and a page costs
 * 4 KiB + 1,024 ids (36 KiB for code's 32-byte ids). Pages are allocated under
 * alloc_mu and published with release stores, never moved, so readers need
 * no lock. A state word is 0 while the document is not (yet) live, its
 * length in terms + 1 while it is live, DEAD once it was removed. Doc
 * numbers below boot_next that were not live at open belong to removed
 * documents too. Doc numbers are leased from the 'n' record, LEASE at a
 * time, before use, so a number is never handed out twice even after a
 * crash.
 *
 * Doc numbers are never reused, so every full re-sync of a repository
 * moves its chunks to new pages. A page whose documents all died is
 * retired after a sweep (retire_pages): its directory slot points at the
 * tomb, a shared page whose states are all DEAD, so it reads exactly as
 * before, and the page is freed once no search that could still hold it
 * runs (numbers handed out to a batch that was never written are marked
 * DEAD, so they do not hold a page back). Searches announce themselves in
 * one of two reader counts, chosen by the parity of reader_epoch; the
 * retirer bumps the epoch and waits for the old parity's count to drain (a
 * search takes milliseconds). The table thus costs memory for the pages
 * that hold a live document, not for the history of the index.
 *
 * Transactions: add and remove stage into a txn attached to the store
 * batch (one per index and batch). add tokenizes the text into a termset
 * (open addressing over distinct terms whose bytes live in one arena),
 * appends (term, doc, tf) postings to the txn and stages the 'd' record;
 * remove finds the doc number in the id map (open addressing over doc
 * numbers, compared through the table's ids; map_mu) and stages the
 * deletion of 'd'. When the batch is
 * written, prepare groups the postings by term (a counting sort; doc
 * numbers of one txn ascend) and puts one block per term; done(true)
 * applies the table changes in order and counts the new blocks.
 *
 * Merges: one at a time (merge_mu), on a snapshot. Merging a term reads
 * its blocks, picks some (the smallest ones logarithmically, or all in a
 * sweep), and replaces them by one block, dropping postings of removed
 * documents: the deletes of the keys it read and the put of the merged
 * block (keyed by its first doc number) go in the same write. Writers only
 * ever put blocks with new keys (a document is added once, and a block's
 * key is one of its own doc numbers), so a merge never races with them.
 * Postings of documents whose state is still 0 (their batch is being
 * written) are kept. The merger thread learns which terms are due from the
 * commits (dirty: blocks per term since its last merge; ready: the queue)
 * and from queries; a sweep walks the whole 'p' range.
 *
 * Search: the blocks of each distinct query term are read with one
 * iterator (one snapshot per query). Each live posting's BM25 term weight,
 * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)), waits in a pending
 * array until the term's df is known, then idf * weight is added to the
 * doc's accumulator: a dense array indexed by doc number less the floor
 * (every page below it retired), valid where its mark equals the query's
 * epoch, so nothing is cleared between queries; a hash table instead when
 * the span outnumbers the live documents (struct scratch).
 * Accumulators come from a pool, so concurrent queries do not allocate.
 * The best `limit` are selected with a bounded min-heap (root = worst kept
 * hit); the filter is asked only about a document that would enter it.
 *
 * Threads: any thread may call any function concurrently; the caller
 * serialises add/remove of one document (index.h). The merger thread runs
 * merges; it sleeps on cond between them.
 */
#include "index.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bytes.h"
#include "thread.h"
#include "tokenizer.h"

#define BM25_K1 1.2
#define BM25_B  0.75

#define PAGE_BITS 10
#define PAGE_DOCS (1u << PAGE_BITS)
#define DIR_PAGES (1u << (32 - PAGE_BITS))
#define DEAD      UINT32_MAX
#define LEASE     4096u
#define MAX_DOCS  (UINT32_MAX - LEASE)
#define MAP_EMPTY UINT32_MAX

#define FLUSH_POSTS       (512u << 10) /* buffered postings that make a flush due */
#define IDLE_FLUSH_POSTS  (64u << 10)  /* ... or this many once writes paused IDLE_FLUSH_MS */
#define IDLE_FLUSH_MS     2000
#define IDLE_FLUSH_ANY_MS 30000        /* ... or any buffer once writes paused this long */
#define MERGE_TERM_BLOCKS 64           /* new blocks of a term that make it due for a merge */
#define MERGE_HINT_BLOCKS 16           /* blocks of one query term that make it due */
#define MERGE_SWEEP_DEAD  1024         /* removed documents (and 1/4 of the live) before a sweep */
#define MERGE_BATCH_BYTES (256u << 10) /* a merge write holds LevelDB's writer queue */
#define DIRTY_KEEP_TERMS  (16u << 10)  /* an idle merger prunes a larger dirty set */

/* ns 'p' term '\0' be32 */
#define BLOCK_KEY_MAX (2 + MNEMO_TOKEN_MAX + 1 + 4)

typedef struct page {
    _Atomic uint32_t state[PAGE_DOCS]; /* 0, length + 1 or DEAD */
    uint8_t ids[];                     /* PAGE_DOCS * id_len */
} page_t;

typedef struct scratch scratch_t;
typedef struct membuf membuf_t;

struct mnemo_index {
    mnemo_store_t *store; /* borrowed; outlives the index */
    char ns;
    size_t id_len;
    _Atomic(page_t *) *dir;        /* DIR_PAGES */
    page_t *tomb;                  /* stands for every retired page: all DEAD */
    uint32_t boot_next;            /* next_doc at open */
    _Atomic uint32_t floor;        /* no document below it can be live again (floor_advance) */
    _Atomic unsigned reader_epoch; /* its parity picks a search's reader count */
    _Atomic uint64_t readers[2];   /* searches running, by the parity they entered */
    _Atomic uint64_t pages;        /* pages held, the tomb not counted */
    _Atomic bool legacy_segs;      /* segment records under the old key loaded, not yet flushed */

    pthread_mutex_t map_mu; /* guards the id map: live id -> doc number */
    uint32_t *map;          /* map_cap slots of doc numbers or MAP_EMPTY */
    size_t map_cap, map_count;

    pthread_mutex_t alloc_mu; /* guards next_doc, lease_end, page allocation */
    _Atomic uint32_t next_doc;
    uint32_t lease_end;

    _Atomic uint64_t docs;      /* live documents */
    _Atomic uint64_t total_len; /* sum of their lengths, in terms */
    pthread_rwlock_t buf_lock;  /* guards active and flushing (not their contents' use) */
    struct membuf *active;      /* postings of written batches not yet in blocks */
    struct membuf *flushing;    /* the buffer a flush is turning into blocks, or NULL */
    _Atomic size_t buffered;    /* postings in active */

    _Atomic uint64_t blocks; /* posting blocks: exact after a sweep, then tracked */
    _Atomic uint64_t dead;   /* documents removed since the last sweep */

    pthread_mutex_t merge_mu; /* one merge at a time */
    pthread_mutex_t mu;       /* guards the fields below */
    pthread_cond_t cond;
    pthread_t merger;
    bool merger_running, stopping;
    bool burst_over;       /* mnemo_index_burst_over since the last idle flush */
    struct termset *dirty; /* term -> blocks written since its last merge */
    mnemo_buf_t ready;     /* terms due for a merge, each u8 length + bytes */
    scratch_t *pool;       /* free accumulators, the last given first */
    uint64_t takes;        /* accumulators taken so far */
};

/* ---- small helpers ---- */

/* A fast hash for in-memory tables only (never persisted). */
static uint64_t hash_bytes(const void *data, size_t n)
{
    const uint8_t *s = data;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    for (; n >= 8; s += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
    }
    uint64_t w = 0;
    if (n > 0)
        memcpy(&w, s, n);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
    return h ^ (h >> 29);
}

/* Subtracts d from *v, stopping at 0 (stats never wrap). */
static void atomic_sub_floor(_Atomic uint64_t *v, uint64_t d)
{
    uint64_t cur = atomic_load(v);
    while (!atomic_compare_exchange_weak(v, &cur, cur > d ? cur - d : 0)) {
    }
}

/* A varint with the one-byte case inline: block decoding is the hot loop. */
static inline uint64_t read_varint_fast(mnemo_reader_t *r)
{
    if (r->p < r->end && *r->p < 0x80)
        return *r->p++;
    return mnemo_read_varint(r);
}

/* ---- termset: distinct terms of a text, each with a value ---- */

typedef struct term {
    uint64_t hash;
    uint32_t off; /* into the arena */
    uint32_t len; /* 0: empty slot */
    uint32_t val; /* a document's termset: tf; a txn's: the term's number */
} term_t;

typedef struct termset {
    term_t *slots; /* cap slots, cap a power of two, at most half full */
    size_t cap;
    size_t count;   /* distinct terms */
    size_t total;   /* terms fed, repeats included: the document length */
    uint32_t *used; /* the slots in use, in insertion order (kept by grow) */
    char *arena;
    size_t arena_len, arena_cap;
} termset_t;

static void termset_init(termset_t *ts)
{
    memset(ts, 0, sizeof *ts);
    ts->cap = 64;
    ts->slots = mnemo_xcalloc(ts->cap, sizeof *ts->slots);
    ts->used = mnemo_xrealloc(NULL, ts->cap / 2 * sizeof *ts->used);
    ts->arena_cap = 1024;
    ts->arena = mnemo_xrealloc(NULL, ts->arena_cap);
}

static void termset_cleanup(termset_t *ts)
{
    free(ts->slots);
    free(ts->used);
    free(ts->arena);
}

/* Empties ts for the next text, keeping its memory: clears only the slots
 * in use, so a table grown by one long text costs nothing to reuse. */
static void termset_reset(termset_t *ts)
{
    for (size_t k = 0; k < ts->count; k++)
        ts->slots[ts->used[k]].len = 0;
    ts->count = ts->total = ts->arena_len = 0;
}

static void termset_grow(termset_t *ts)
{
    size_t cap = ts->cap * 2;
    term_t *slots = mnemo_xcalloc(cap, sizeof *slots);
    ts->used = mnemo_xrealloc(ts->used, cap / 2 * sizeof *ts->used);
    for (size_t k = 0; k < ts->count; k++) {
        const term_t *t = &ts->slots[ts->used[k]];
        size_t j = t->hash & (cap - 1);
        while (slots[j].len != 0)
            j = (j + 1) & (cap - 1);
        slots[j] = *t;
        ts->used[k] = (uint32_t)j;
    }
    free(ts->slots);
    ts->slots = slots;
    ts->cap = cap;
}

/* The slot of term, whose hash_bytes is h, inserted with val 0 when new
 * (*fresh says so). The pointer is valid until the next insertion. */
/* The slot holding term (hash_bytes h), or the empty slot where it would
 * go. */
static size_t termset_probe(const termset_t *ts, const char *term, size_t len, uint64_t h)
{
    size_t i = h & (ts->cap - 1);
    for (; ts->slots[i].len != 0; i = (i + 1) & (ts->cap - 1)) {
        const term_t *t = &ts->slots[i];
        if (t->hash == h && t->len == len && memcmp(ts->arena + t->off, term, len) == 0)
            break;
    }
    return i;
}

static term_t *termset_intern_hashed(termset_t *ts, const char *term, size_t len, uint64_t h,
                                     bool *fresh)
{
    size_t i = termset_probe(ts, term, len, h);
    *fresh = ts->slots[i].len == 0;
    if (!*fresh)
        return &ts->slots[i];
    if (ts->arena_len + len > ts->arena_cap) {
        while (ts->arena_len + len > ts->arena_cap)
            ts->arena_cap *= 2;
        ts->arena = mnemo_xrealloc(ts->arena, ts->arena_cap);
    }
    memcpy(ts->arena + ts->arena_len, term, len);
    ts->slots[i] = (term_t){.hash = h, .off = (uint32_t)ts->arena_len, .len = (uint32_t)len};
    ts->arena_len += len;
    ts->used[ts->count] = (uint32_t)i;
    *fresh = true;
    if (++ts->count * 2 >= ts->cap) { /* keep room for used[count] */
        termset_grow(ts);
        term_t *moved = termset_intern_hashed(ts, term, len, h, fresh); /* found at once */
        *fresh = true;
        return moved;
    }
    return &ts->slots[i];
}

static term_t *termset_intern(termset_t *ts, const char *term, size_t len, bool *fresh)
{
    return termset_intern_hashed(ts, term, len, hash_bytes(term, len), fresh);
}

/* mnemo_token_fn: counts one occurrence of term. */
static void termset_add(void *ctx, const char *term, size_t len)
{
    termset_t *ts = ctx;
    bool fresh;
    ts->total++;
    termset_intern(ts, term, len, &fresh)->val++;
}

/* ---- the buffer: postings of written batches not yet in blocks ---- */

typedef struct plist {
    uint32_t *docs, *tfs;
    size_t n, cap;
} plist_t;

struct membuf {
    termset_t terms; /* val = index into lists */
    plist_t *lists;
    size_t n_lists, cap_lists;
    mnemo_buf_t segs; /* be32 key suffix of every segment record held */
    size_t n_posts;
};

static membuf_t *membuf_create(void)
{
    membuf_t *mb = mnemo_xcalloc(1, sizeof *mb);
    termset_init(&mb->terms);
    return mb;
}

static void membuf_destroy(membuf_t *mb)
{
    if (mb == NULL)
        return;
    for (size_t i = 0; i < mb->n_lists; i++) {
        free(mb->lists[i].docs);
        free(mb->lists[i].tfs);
    }
    free(mb->lists);
    termset_cleanup(&mb->terms);
    mnemo_buf_cleanup(&mb->segs);
    free(mb);
}

/* Appends n postings of term (its hash_bytes is hash). */
static void membuf_add(membuf_t *mb, const char *term, size_t tlen, uint64_t hash,
                       const uint32_t *docs, const uint32_t *tfs, size_t n)
{
    bool fresh;
    term_t *t = termset_intern_hashed(&mb->terms, term, tlen, hash, &fresh);
    if (fresh) {
        if (mb->n_lists == mb->cap_lists) {
            mb->cap_lists = mb->cap_lists != 0 ? mb->cap_lists * 2 : 256;
            mb->lists = mnemo_xrealloc(mb->lists, mb->cap_lists * sizeof *mb->lists);
        }
        memset(&mb->lists[mb->n_lists], 0, sizeof *mb->lists);
        t->val = (uint32_t)mb->n_lists++;
    }
    plist_t *l = &mb->lists[t->val];
    if (l->n + n > l->cap) {
        l->cap = (l->n + n) * 2;
        l->docs = mnemo_xrealloc(l->docs, l->cap * sizeof *l->docs);
        l->tfs = mnemo_xrealloc(l->tfs, l->cap * sizeof *l->tfs);
    }
    memcpy(l->docs + l->n, docs, n * sizeof *docs);
    memcpy(l->tfs + l->n, tfs, n * sizeof *tfs);
    l->n += n;
    mb->n_posts += n;
}

/* The postings of term in mb, or NULL. */
static const plist_t *membuf_find(const membuf_t *mb, const char *term, size_t tlen, uint64_t hash)
{
    if (mb == NULL)
        return NULL;
    const term_t *t = &mb->terms.slots[termset_probe(&mb->terms, term, tlen, hash)];
    return t->len != 0 ? &mb->lists[t->val] : NULL;
}

/* ---- the document table ---- */

static page_t *page_of(const mnemo_index_t *index, uint32_t doc)
{
    return atomic_load_explicit(&index->dir[doc >> PAGE_BITS], memory_order_acquire);
}

/* The state word of doc: 0, length + 1 or DEAD. */
static uint32_t doc_state(const mnemo_index_t *index, uint32_t doc)
{
    page_t *pg = page_of(index, doc);
    uint32_t s = pg != NULL
                     ? atomic_load_explicit(&pg->state[doc & (PAGE_DOCS - 1)], memory_order_acquire)
                     : 0;
    return s == 0 && doc < index->boot_next ? DEAD : s;
}

static const uint8_t *doc_id(const mnemo_index_t *index, uint32_t doc)
{
    return page_of(index, doc)->ids + (size_t)(doc & (PAGE_DOCS - 1)) * index->id_len;
}

/* The page holding doc, allocated if needed. */
static page_t *page_get(mnemo_index_t *index, uint32_t doc)
{
    page_t *pg = page_of(index, doc);
    if (pg != NULL)
        return pg;
    pthread_mutex_lock(&index->alloc_mu);
    pg = atomic_load_explicit(&index->dir[doc >> PAGE_BITS], memory_order_relaxed);
    if (pg == NULL) {
        pg = mnemo_xcalloc(1, sizeof *pg + (size_t)PAGE_DOCS * index->id_len);
        atomic_store_explicit(&index->dir[doc >> PAGE_BITS], pg, memory_order_release);
        atomic_fetch_add(&index->pages, 1);
    }
    pthread_mutex_unlock(&index->alloc_mu);
    return pg;
}

static void map_put_locked(mnemo_index_t *index, uint32_t doc);
static void map_erase_locked(mnemo_index_t *index, uint32_t doc);

/* Makes doc live with length dl and id (its id first, then the state, so a
 * reader that sees the state sees the id). */
static void doc_publish(mnemo_index_t *index, uint32_t doc, uint32_t dl, const uint8_t *id)
{
    page_t *pg = page_get(index, doc);
    memcpy(pg->ids + (size_t)(doc & (PAGE_DOCS - 1)) * index->id_len, id, index->id_len);
    uint32_t s = dl < DEAD - 1 ? dl + 1 : DEAD - 1;
    atomic_store_explicit(&pg->state[doc & (PAGE_DOCS - 1)], s, memory_order_release);
    atomic_fetch_add(&index->docs, 1);
    atomic_fetch_add(&index->total_len, dl);
    pthread_mutex_lock(&index->map_mu);
    map_put_locked(index, doc);
    pthread_mutex_unlock(&index->map_mu);
}

static void doc_kill(mnemo_index_t *index, uint32_t doc)
{
    page_t *pg = page_get(index, doc);
    pthread_mutex_lock(&index->map_mu);
    map_erase_locked(index, doc);
    pthread_mutex_unlock(&index->map_mu);
    uint32_t s = atomic_exchange(&pg->state[doc & (PAGE_DOCS - 1)], DEAD);
    if (s != 0 && s != DEAD) {
        atomic_sub_floor(&index->docs, 1);
        atomic_sub_floor(&index->total_len, s - 1);
    }
}

/* A number handed out for a batch that was never written: no document
 * will have it, so it must not keep its page from dying (a state 0 above
 * boot_next reads as a document in flight). */
static void doc_abandon(mnemo_index_t *index, uint32_t doc)
{
    page_t *pg = page_get(index, doc);
    atomic_store_explicit(&pg->state[doc & (PAGE_DOCS - 1)], DEAD, memory_order_release);
}

/* ---- retiring pages of dead documents ---- */

/* Announces a search that reads pages without a lock; returns what
 * reader_exit takes. */
static unsigned reader_enter(mnemo_index_t *index)
{
    for (;;) {
        unsigned e = atomic_load(&index->reader_epoch);
        atomic_fetch_add(&index->readers[e & 1], 1);
        if (atomic_load(&index->reader_epoch) == e)
            return e; /* a retirer bumping e from here on waits for us */
        atomic_fetch_sub(&index->readers[e & 1], 1);
    }
}

static void reader_exit(mnemo_index_t *index, unsigned e)
{
    atomic_fetch_sub(&index->readers[e & 1], 1);
}

/* Returns once every search that entered before this call has left; caller
 * holds merge_mu (one waiter at a time: each wait drains the parity the
 * previous one moved readers away from). */
static void readers_drain(mnemo_index_t *index)
{
    unsigned e = atomic_fetch_add(&index->reader_epoch, 1);
    while (atomic_load(&index->readers[e & 1]) != 0) {
        struct timespec ts = {0, 200 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* True when no document of page p can be live again: each one removed,
 * or not live at open though numbered before it. */
static bool page_dead(const mnemo_index_t *index, const page_t *pg, uint32_t p)
{
    for (uint32_t i = 0; i < PAGE_DOCS; i++) {
        uint32_t s = atomic_load_explicit(&pg->state[i], memory_order_relaxed);
        if (s != DEAD && !(s == 0 && (p << PAGE_BITS | i) < index->boot_next))
            return false;
    }
    return true;
}

/* Moves the floor past the pages in which no document can be live again:
 * retired ones, and those never allocated whose numbers all date from
 * before open. Only whole pages of numbers handed out count: a page not
 * allocated yet may hold a document in flight. Caller holds merge_mu, or
 * opens the index. */
static void floor_advance(mnemo_index_t *index)
{
    uint32_t end = atomic_load(&index->next_doc) >> PAGE_BITS;
    uint32_t p = atomic_load(&index->floor) >> PAGE_BITS;
    for (; p < end; p++) {
        page_t *pg = atomic_load_explicit(&index->dir[p], memory_order_acquire);
        bool before_open = (uint64_t)(p + 1) << PAGE_BITS <= index->boot_next;
        if (pg != index->tomb && !(pg == NULL && before_open))
            break;
    }
    atomic_store(&index->floor, p << PAGE_BITS);
}

/* Points the slots of dead pages at the tomb and frees the pages once no
 * search can hold them; caller holds merge_mu. Only pages whose numbers
 * were all handed out qualify (a document in flight has state 0). */
static void retire_pages(mnemo_index_t *index)
{
    uint32_t end = atomic_load(&index->next_doc) >> PAGE_BITS;
    page_t **gone = NULL;
    size_t n = 0, cap = 0;
    for (uint32_t p = atomic_load(&index->floor) >> PAGE_BITS; p < end; p++) {
        page_t *pg = atomic_load_explicit(&index->dir[p], memory_order_acquire);
        if (pg == NULL || pg == index->tomb || !page_dead(index, pg, p))
            continue;
        if (n == cap) {
            cap = cap != 0 ? cap * 2 : 16;
            gone = mnemo_xrealloc(gone, cap * sizeof *gone);
        }
        gone[n++] = pg;
        atomic_store_explicit(&index->dir[p], index->tomb, memory_order_release);
    }
    floor_advance(index);
    if (n > 0)
        readers_drain(index);
    for (size_t i = 0; i < n; i++)
        free(gone[i]);
    free(gone);
    atomic_fetch_sub(&index->pages, n);
}

/* Hands out the next doc number, writing a new lease first when needed. */
static mnemo_status_t doc_alloc(mnemo_index_t *index, uint32_t *doc, mnemo_err_t *err)
{
    mnemo_status_t st = MNEMO_OK;
    pthread_mutex_lock(&index->alloc_mu);
    uint32_t next = atomic_load(&index->next_doc);
    if (next >= MAX_DOCS) {
        st = mnemo_err_set(err, MNEMO_ERESOURCE, "index '%c': document numbers exhausted",
                           index->ns);
    } else if (next == index->lease_end) {
        char key[2] = {index->ns, 'n'};
        uint8_t val[4];
        mnemo_put_be32(val, next + LEASE);
        mnemo_store_batch_t *b = mnemo_store_batch_create();
        mnemo_store_batch_put(b, key, sizeof key, val, sizeof val);
        st = mnemo_store_write(index->store, b, true, err);
        mnemo_store_batch_destroy(b);
        if (st == MNEMO_OK)
            index->lease_end = next + LEASE;
    }
    if (st == MNEMO_OK) {
        *doc = next;
        atomic_store(&index->next_doc, next + 1);
    }
    pthread_mutex_unlock(&index->alloc_mu);
    return st;
}

/* ---- the id map: open addressing over doc numbers, compared by id ---- */

/* The slot holding id, or the empty slot where it would go; caller holds
 * map_mu. */
static size_t map_find_locked(const mnemo_index_t *index, const void *id)
{
    size_t mask = index->map_cap - 1, i = hash_bytes(id, index->id_len) & mask;
    while (index->map[i] != MAP_EMPTY && memcmp(doc_id(index, index->map[i]), id, index->id_len))
        i = (i + 1) & mask;
    return i;
}

static void map_grow_locked(mnemo_index_t *index)
{
    uint32_t *old = index->map;
    size_t old_cap = index->map_cap;
    index->map_cap = old_cap != 0 ? old_cap * 2 : 1024;
    index->map = mnemo_xrealloc(NULL, index->map_cap * sizeof *index->map);
    memset(index->map, 0xff, index->map_cap * sizeof *index->map); /* MAP_EMPTY */
    index->map_count = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i] != MAP_EMPTY)
            map_put_locked(index, old[i]);
    free(old);
}

/* Maps the id of live doc to doc. */
static void map_put_locked(mnemo_index_t *index, uint32_t doc)
{
    if ((index->map_count + 1) * 2 > index->map_cap)
        map_grow_locked(index);
    size_t i = map_find_locked(index, doc_id(index, doc));
    if (index->map[i] == MAP_EMPTY)
        index->map_count++;
    index->map[i] = doc;
}

/* Forgets id when it maps to doc (backward-shift deletion: no tombstones). */
static void map_erase_locked(mnemo_index_t *index, uint32_t doc)
{
    if (index->map_cap == 0)
        return;
    size_t mask = index->map_cap - 1, i = map_find_locked(index, doc_id(index, doc));
    if (index->map[i] != doc)
        return;
    for (size_t j = i;;) {
        j = (j + 1) & mask;
        if (index->map[j] == MAP_EMPTY)
            break;
        size_t home = hash_bytes(doc_id(index, index->map[j]), index->id_len) & mask;
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            index->map[i] = index->map[j];
            i = j;
        }
    }
    index->map[i] = MAP_EMPTY;
    index->map_count--;
}

/* The live doc number of id, or MAP_EMPTY. */
static uint32_t map_get(mnemo_index_t *index, const void *id)
{
    pthread_mutex_lock(&index->map_mu);
    uint32_t doc = index->map_cap != 0 ? index->map[map_find_locked(index, id)] : MAP_EMPTY;
    pthread_mutex_unlock(&index->map_mu);
    return doc;
}

/* ---- transactions: what one batch stages ---- */

typedef struct posting {
    uint32_t term; /* number of the term in the txn */
    uint32_t doc;
    uint32_t tf;
} posting_t;

typedef struct change {
    uint32_t doc;
    uint32_t dl;     /* DEAD: a removal */
    uint32_t id_off; /* into ids (additions) */
} change_t;

typedef struct txn {
    mnemo_index_t *index;
    termset_t doc;   /* the terms of the document being added (reused) */
    termset_t terms; /* val = term number */
    posting_t *posts;
    size_t n_posts, cap_posts;
    change_t *changes;
    size_t n_changes, cap_changes;
    mnemo_buf_t ids;
    uint32_t *sdocs, *stfs; /* prepare: postings grouped by term number */
    size_t *start;          /* term t: sdocs[start[t] .. start[t + 1]) */
} txn_t;

static void txn_prepare(void *ctx, mnemo_store_batch_t *batch);
static void txn_done(void *ctx, bool committed);

static const mnemo_store_hook_t txn_hook = {txn_prepare, txn_done};

static txn_t *txn_of(mnemo_index_t *index, mnemo_store_batch_t *batch)
{
    txn_t *txn = mnemo_store_batch_attached(batch, index);
    if (txn == NULL) {
        txn = mnemo_xcalloc(1, sizeof *txn);
        txn->index = index;
        termset_init(&txn->doc);
        termset_init(&txn->terms);
        mnemo_store_batch_attach(batch, index, &txn_hook, txn);
    }
    return txn;
}

static void txn_change(txn_t *txn, uint32_t doc, uint32_t dl, const void *id)
{
    if (txn->n_changes == txn->cap_changes) {
        txn->cap_changes = txn->cap_changes != 0 ? txn->cap_changes * 2 : 16;
        txn->changes = mnemo_xrealloc(txn->changes, txn->cap_changes * sizeof *txn->changes);
    }
    txn->changes[txn->n_changes++] = (change_t){doc, dl, (uint32_t)txn->ids.len};
    if (id != NULL)
        mnemo_buf_add(&txn->ids, id, txn->index->id_len);
}

/* Appends a posting of doc for every term of doc_terms. */
static void txn_post(txn_t *txn, const termset_t *doc_terms, uint32_t doc)
{
    for (size_t k = 0; k < doc_terms->count; k++) {
        const term_t *t = &doc_terms->slots[doc_terms->used[k]];
        bool fresh;
        term_t *tt =
            termset_intern_hashed(&txn->terms, doc_terms->arena + t->off, t->len, t->hash, &fresh);
        if (fresh)
            tt->val = (uint32_t)(txn->terms.count - 1);
        if (txn->n_posts == txn->cap_posts) {
            txn->cap_posts = txn->cap_posts != 0 ? txn->cap_posts * 2 : 256;
            txn->posts = mnemo_xrealloc(txn->posts, txn->cap_posts * sizeof *txn->posts);
        }
        txn->posts[txn->n_posts++] = (posting_t){tt->val, doc, t->val};
    }
}

static void txn_free(txn_t *txn)
{
    free(txn->sdocs);
    free(txn->stfs);
    free(txn->start);
    termset_cleanup(&txn->doc);
    termset_cleanup(&txn->terms);
    free(txn->posts);
    free(txn->changes);
    mnemo_buf_cleanup(&txn->ids);
    free(txn);
}

/* ---- blocks ---- */

/* 0xff ns be32 first: the segment record of the batch whose first added
 * document is first. A record holds a whole batch's postings (hundreds of
 * KiB for a sync batch), so a table block holding one is as big. Keyed
 * after every other key, such a block never spans the range of a term:
 * under the old key, ns 'g' (which data dirs of 0.x may still hold, read
 * and deleted alike), the block that ended with a segment covered the
 * whole ns 'p' range of its table, and every term lookup (each search,
 * each merge) read and decompressed it again: a sweep of 184,000 terms
 * went from 0.3 s to minutes. */
#define SEG_MARK   0xff
#define SEG_LEGACY 'g'

mnemo_status_t mnemo_index_drop(mnemo_store_t *store, char ns, mnemo_store_batch_t *batch,
                                size_t every, mnemo_err_t *err)
{
    const char terms[1] = {ns}; /* the legacy segments too */
    const char segs[2] = {(char)SEG_MARK, ns};
    mnemo_status_t st =
        mnemo_store_drop_prefix(store, batch, terms, sizeof terms, every, NULL, err);
    return st == MNEMO_OK
               ? mnemo_store_drop_prefix(store, batch, segs, sizeof segs, every, NULL, err)
               : st;
}

static void seg_key(const mnemo_index_t *index, uint8_t key[6], uint32_t first)
{
    key[0] = SEG_MARK;
    key[1] = (uint8_t)index->ns;
    mnemo_put_be32(key + 2, first);
}

static void seg_key_legacy(const mnemo_index_t *index, uint8_t key[6], uint32_t first)
{
    key[0] = (uint8_t)index->ns;
    key[1] = SEG_LEGACY;
    mnemo_put_be32(key + 2, first);
}

/* Writes ns 'p' term '\0' into key; returns its length. */
static size_t term_prefix(char *key, char ns, const char *term, size_t tlen)
{
    key[0] = ns;
    key[1] = 'p';
    memcpy(key + 2, term, tlen);
    key[2 + tlen] = '\0';
    return 3 + tlen;
}

/* Appends the block of the n postings at docs/tfs (docs ascending) to out. */
static void block_encode(mnemo_buf_t *out, const uint32_t *docs, const uint32_t *tfs, size_t n)
{
    mnemo_buf_varint(out, n);
    uint32_t prev = docs[0];
    for (size_t i = 0; i < n; i++) {
        uint64_t delta = docs[i] - prev;
        prev = docs[i];
        mnemo_buf_varint(out, delta << 1 | (tfs[i] == 1));
        if (tfs[i] != 1)
            mnemo_buf_varint(out, tfs[i]);
    }
}

typedef struct block_reader {
    mnemo_reader_t r;
    size_t left;
    uint32_t doc;
} block_reader_t;

/* Starts br on a block whose key ends in first. */
static void block_open(block_reader_t *br, uint32_t first, const void *val, size_t vlen)
{
    mnemo_reader_init(&br->r, val, vlen);
    br->left = mnemo_read_count(&br->r);
    br->doc = first;
}

/* The next posting; false at the end of the block or when it is malformed
 * (then br->r.ok is false). */
static bool block_next(block_reader_t *br, uint32_t *doc, uint32_t *tf)
{
    if (br->left == 0 || !br->r.ok)
        return false;
    br->left--;
    uint64_t v = read_varint_fast(&br->r);
    uint64_t d = (uint64_t)br->doc + (v >> 1);
    *tf = (v & 1) ? 1 : (uint32_t)read_varint_fast(&br->r);
    if (d > UINT32_MAX || *tf == 0)
        br->r.ok = false;
    br->doc = (uint32_t)d;
    *doc = br->doc;
    return br->r.ok;
}

/* Splits a block key of ns into term and first doc number. */
static bool block_key_parse(const char *key, size_t klen, size_t *tlen, uint32_t *first)
{
    if (klen < 2 + 1 + 4 || key[klen - 5] != '\0')
        return false;
    *tlen = klen - 2 - 5;
    *first = mnemo_get_be32((const uint8_t *)key + klen - 4);
    return true;
}

/* Walks the blocks of one term on an iterator: start seeks to the term's
 * first block; each next steps to the following one. */
typedef struct term_walk {
    mnemo_store_iter_t *it;
    char prefix[BLOCK_KEY_MAX];
    size_t plen;
    bool started;
} term_walk_t;

typedef struct block_ref { /* borrowed from the iterator until it moves */
    const char *key, *val;
    size_t klen, vlen;
    uint32_t first;
} block_ref_t;

/* seek false: the iterator is on the term's first block already (a sweep
 * walking the 'p' range in order). */
static void term_walk_start(term_walk_t *w, mnemo_store_iter_t *it, char ns, const char *term,
                            size_t tlen, bool seek)
{
    w->it = it;
    w->plen = term_prefix(w->prefix, ns, term, tlen);
    w->started = false;
    if (seek)
        mnemo_store_iter_seek(it, w->prefix, w->plen);
}

/* 1: *b is the term's next block; 0: no more (the iterator stays on the
 * first key after them, or it failed: check its status); -1: a malformed
 * block key. */
static int term_walk_next(term_walk_t *w, block_ref_t *b)
{
    if (w->started)
        mnemo_store_iter_next(w->it);
    w->started = true;
    if (!mnemo_store_iter_valid(w->it))
        return 0;
    b->key = mnemo_store_iter_key(w->it, &b->klen);
    if (b->klen < w->plen || memcmp(b->key, w->prefix, w->plen) != 0)
        return 0;
    size_t tlen;
    if (!block_key_parse(b->key, b->klen, &tlen, &b->first))
        return -1;
    b->val = mnemo_store_iter_value(w->it, &b->vlen);
    return 1;
}

static mnemo_status_t malformed_block(const mnemo_index_t *index, const char *term, size_t tlen,
                                      mnemo_err_t *err)
{
    return mnemo_err_set(err, MNEMO_ECORRUPT, "index '%c': malformed block of '%.*s'", index->ns,
                         (int)tlen, term);
}

/* prepare: one block per term, postings grouped by a counting sort. */
static void txn_prepare(void *ctx, mnemo_store_batch_t *batch)
{
    txn_t *txn = ctx;
    size_t nt = txn->terms.count;
    if (nt == 0)
        return;
    size_t *start = mnemo_xcalloc(nt + 1, sizeof *start);
    for (size_t i = 0; i < txn->n_posts; i++)
        start[txn->posts[i].term + 1]++;
    for (size_t t = 0; t < nt; t++)
        start[t + 1] += start[t];
    uint32_t *docs = mnemo_xrealloc(NULL, txn->n_posts * sizeof *docs);
    uint32_t *tfs = mnemo_xrealloc(NULL, txn->n_posts * sizeof *tfs);
    size_t *fill = mnemo_xrealloc(NULL, nt * sizeof *fill);
    memcpy(fill, start, nt * sizeof *fill);
    for (size_t i = 0; i < txn->n_posts; i++) { /* stable: doc numbers stay ascending */
        size_t at = fill[txn->posts[i].term]++;
        docs[at] = txn->posts[i].doc;
        tfs[at] = txn->posts[i].tf;
    }
    free(fill);
    /* One segment record for the whole batch: n_terms, then per term its
     * bytes, its first doc number and its block. */
    mnemo_buf_t val = {0};
    mnemo_buf_varint(&val, nt);
    for (size_t t = 0; t < nt; t++) {
        /* term number t is the t-th inserted: used[t] is its slot */
        const term_t *term = &txn->terms.slots[txn->terms.used[t]];
        size_t at = start[t], n = start[t + 1] - at;
        mnemo_buf_str(&val, txn->terms.arena + term->off, term->len);
        mnemo_buf_varint(&val, docs[at]);
        block_encode(&val, docs + at, tfs + at, n);
    }
    uint8_t key[6];
    seg_key(txn->index, key, txn->posts[0].doc);
    mnemo_store_batch_put(batch, key, sizeof key, val.p, val.len);
    mnemo_buf_cleanup(&val);
    txn->sdocs = docs;
    txn->stfs = tfs;
    txn->start = start;
}

static void merger_note(mnemo_index_t *index, const termset_t *terms);
static void merger_hint(mnemo_index_t *index, const char *term, size_t tlen);
static void merger_poke(mnemo_index_t *index);

/* Adds a written txn's postings to the active buffer (before its documents
 * are published, so a live document is always searchable). */
static void buffer_txn(mnemo_index_t *index, const txn_t *txn)
{
    uint8_t key[6];
    seg_key(index, key, txn->posts[0].doc);
    pthread_rwlock_wrlock(&index->buf_lock);
    for (size_t t = 0; t < txn->terms.count; t++) {
        const term_t *term = &txn->terms.slots[txn->terms.used[t]];
        size_t at = txn->start[t], n = txn->start[t + 1] - at;
        membuf_add(index->active, txn->terms.arena + term->off, term->len, term->hash,
                   txn->sdocs + at, txn->stfs + at, n);
    }
    mnemo_buf_add(&index->active->segs, key + 2, 4);
    atomic_store(&index->buffered, index->active->n_posts);
    pthread_rwlock_unlock(&index->buf_lock);
}

/* done: publish the table changes in order once the batch is written. */
static void txn_done(void *ctx, bool committed)
{
    txn_t *txn = ctx;
    mnemo_index_t *index = txn->index;
    if (committed) {
        if (txn->sdocs != NULL)
            buffer_txn(index, txn);
        for (size_t i = 0; i < txn->n_changes; i++) {
            const change_t *c = &txn->changes[i];
            if (c->dl == DEAD) {
                doc_kill(index, c->doc);
                atomic_fetch_add(&index->dead, 1);
            } else
                doc_publish(index, c->doc, c->dl, txn->ids.p + c->id_off);
        }
        merger_poke(index);
    } else {
        for (size_t i = 0; i < txn->n_changes; i++)
            if (txn->changes[i].dl != DEAD)
                doc_abandon(index, txn->changes[i].doc);
    }
    txn_free(txn);
}

/* ---- add / remove ---- */

static void doc_key(const mnemo_index_t *index, uint8_t key[6], uint32_t doc)
{
    key[0] = (uint8_t)index->ns;
    key[1] = 'd';
    mnemo_put_be32(key + 2, doc);
}

mnemo_status_t mnemo_index_add(mnemo_index_t *index, mnemo_store_batch_t *batch, const void *doc_id,
                               const char *text, size_t len, mnemo_err_t *err)
{
    assert(index != NULL && batch != NULL && doc_id != NULL);
    uint32_t doc;
    mnemo_status_t st = doc_alloc(index, &doc, err);
    if (st != MNEMO_OK)
        return st;
    txn_t *txn = txn_of(index, batch);
    termset_reset(&txn->doc);
    mnemo_tokenize(text, len, termset_add, &txn->doc);
    uint32_t dl = txn->doc.total < DEAD - 1 ? (uint32_t)txn->doc.total : DEAD - 2;
    txn_post(txn, &txn->doc, doc);
    txn_change(txn, doc, dl, doc_id);

    uint8_t key[6], val[MNEMO_VARINT_MAX + MNEMO_INDEX_MAX_ID];
    doc_key(index, key, doc);
    size_t n = mnemo_varint_put(val, dl);
    memcpy(val + n, doc_id, index->id_len);
    mnemo_store_batch_put(batch, key, sizeof key, val, n + index->id_len);
    return MNEMO_OK;
}

void mnemo_index_remove(mnemo_index_t *index, mnemo_store_batch_t *batch, const void *doc_id)
{
    assert(index != NULL && batch != NULL && doc_id != NULL);
    uint32_t doc = map_get(index, doc_id);
    if (doc == MAP_EMPTY)
        return;
    uint8_t key[6];
    doc_key(index, key, doc);
    mnemo_store_batch_delete(batch, key, sizeof key);
    txn_change(txn_of(index, batch), doc, DEAD, NULL);
}

/* ---- open / close ---- */

/* Loads the lease and every live document into the table. */
static mnemo_status_t load_docs(mnemo_index_t *index, mnemo_err_t *err)
{
    char lkey[2] = {index->ns, 'n'};
    char *val = NULL;
    size_t vlen = 0;
    mnemo_status_t st = mnemo_store_get(index->store, lkey, sizeof lkey, &val, &vlen, err);
    if (st == MNEMO_OK && vlen == 4)
        index->lease_end = mnemo_get_be32((const uint8_t *)val);
    else if (st == MNEMO_OK)
        st = mnemo_err_set(err, MNEMO_ECORRUPT, "index '%c': malformed lease", index->ns);
    free(val);
    if (st != MNEMO_OK && st != MNEMO_ENOTFOUND)
        return st;

    char prefix[2] = {index->ns, 'd'};
    mnemo_store_iter_t *it = mnemo_store_iter_create_bulk(index->store);
    for (mnemo_store_iter_seek(it, prefix, 2); mnemo_store_iter_valid(it);
         mnemo_store_iter_next(it)) {
        size_t klen;
        const char *key = mnemo_store_iter_key(it, &klen);
        if (klen < 2 || memcmp(key, prefix, 2) != 0)
            break;
        const char *v = mnemo_store_iter_value(it, &vlen);
        mnemo_reader_t r;
        mnemo_reader_init(&r, v, vlen);
        uint64_t dl = mnemo_read_varint(&r);
        const uint8_t *id = mnemo_read_bytes(&r, index->id_len);
        uint32_t doc = klen == 6 ? mnemo_get_be32((const uint8_t *)key + 2) : 0;
        if (klen != 6 || !mnemo_reader_done(&r) || dl >= DEAD - 1 || doc >= index->lease_end) {
            mnemo_store_iter_destroy(it);
            return mnemo_err_set(err, MNEMO_ECORRUPT, "index '%c': malformed document %u",
                                 index->ns, doc);
        }
        doc_publish(index, doc, (uint32_t)dl, id);
    }
    st = mnemo_store_iter_status(it, err);
    mnemo_store_iter_destroy(it);
    /* Every number below the lease may have been handed out before a crash. */
    index->boot_next = index->lease_end;
    atomic_store(&index->next_doc, index->lease_end);
    floor_advance(index);
    return st;
}

/* Puts the postings of one segment record (see txn_prepare) into the
 * active buffer; false when it is malformed. */
static bool replay_segment(mnemo_index_t *index, const char *val, size_t vlen, uint32_t *docs,
                           uint32_t *tfs)
{
    mnemo_reader_t r;
    mnemo_reader_init(&r, val, vlen);
    size_t nt = mnemo_read_count(&r);
    for (size_t t = 0; t < nt && r.ok; t++) {
        size_t tlen;
        const char *term = mnemo_read_str(&r, &tlen);
        uint64_t first = mnemo_read_varint(&r);
        if (!r.ok || tlen == 0 || tlen > MNEMO_TOKEN_MAX || first > UINT32_MAX)
            return false;
        block_reader_t br;
        block_open(&br, (uint32_t)first, r.p, (size_t)(r.end - r.p));
        size_t n = 0;
        while (n < vlen && block_next(&br, &docs[n], &tfs[n]))
            n++;
        if (br.left != 0 || !br.r.ok)
            return false;
        r.p = br.r.p;
        membuf_add(index->active, term, tlen, hash_bytes(term, tlen), docs, tfs, n);
    }
    return mnemo_reader_done(&r);
}

/* Loads the segment records of batches not yet flushed into blocks, under
 * both keys (seg_key). */
static mnemo_status_t load_segments(mnemo_index_t *index, mnemo_err_t *err)
{
    uint8_t prefixes[2][2] = {{SEG_MARK, (uint8_t)index->ns}, {(uint8_t)index->ns, SEG_LEGACY}};
    mnemo_store_iter_t *it = mnemo_store_iter_create_bulk(index->store);
    mnemo_status_t st = MNEMO_OK;
    uint32_t *docs = NULL, *tfs = NULL;
    for (int p = 0; p < 2 && st == MNEMO_OK; p++) {
        for (mnemo_store_iter_seek(it, prefixes[p], 2);
             mnemo_store_iter_valid(it) && st == MNEMO_OK; mnemo_store_iter_next(it)) {
            size_t klen, vlen;
            const char *key = mnemo_store_iter_key(it, &klen);
            if (klen < 2 || memcmp(key, prefixes[p], 2) != 0)
                break;
            const char *val = mnemo_store_iter_value(it, &vlen);
            docs = mnemo_xrealloc(docs, (vlen + 1) * sizeof *docs); /* a posting takes a byte */
            tfs = mnemo_xrealloc(tfs, (vlen + 1) * sizeof *tfs);
            if (klen != 6 || !replay_segment(index, val, vlen, docs, tfs))
                st = mnemo_err_set(err, MNEMO_ECORRUPT, "index '%c': malformed segment record",
                                   index->ns);
            else
                mnemo_buf_add(&index->active->segs, key + 2, 4);
            if (p == 1)
                atomic_store(&index->legacy_segs, true);
        }
        if (st == MNEMO_OK)
            st = mnemo_store_iter_status(it, err);
    }
    mnemo_store_iter_destroy(it);
    free(docs);
    free(tfs);
    atomic_store(&index->buffered, index->active->n_posts);
    return st;
}

mnemo_status_t mnemo_index_open(mnemo_index_t **out, mnemo_store_t *store, char ns, size_t id_len,
                                mnemo_err_t *err)
{
    assert(out != NULL && store != NULL && id_len >= 1 && id_len <= MNEMO_INDEX_MAX_ID);
    mnemo_index_t *index = mnemo_xcalloc(1, sizeof *index);
    index->store = store;
    index->ns = ns;
    index->id_len = id_len;
    index->dir = mnemo_xcalloc(DIR_PAGES, sizeof *index->dir);
    index->tomb = mnemo_xcalloc(1, sizeof *index->tomb + (size_t)PAGE_DOCS * id_len);
    for (size_t i = 0; i < PAGE_DOCS; i++)
        atomic_init(&index->tomb->state[i], DEAD);
    pthread_mutex_init(&index->alloc_mu, NULL);
    pthread_mutex_init(&index->map_mu, NULL);
    pthread_rwlock_init(&index->buf_lock, NULL);
    index->active = membuf_create();
    pthread_mutex_init(&index->merge_mu, NULL);
    pthread_mutex_init(&index->mu, NULL);
    pthread_cond_init(&index->cond, NULL);
    mnemo_status_t st = load_docs(index, err);
    if (st == MNEMO_OK)
        st = load_segments(index, err);
    if (st != MNEMO_OK) {
        mnemo_index_close(index);
        return st;
    }
    *out = index;
    return MNEMO_OK;
}

uint64_t mnemo_index_doc_count(const mnemo_index_t *index)
{
    /* C11's atomic_load takes a non-const pointer (fixed in C17). */
    return atomic_load(&((mnemo_index_t *)index)->docs);
}

uint64_t mnemo_index_page_count(const mnemo_index_t *index)
{
    return atomic_load(&((mnemo_index_t *)index)->pages);
}

uint64_t mnemo_index_block_count(const mnemo_index_t *index)
{
    return atomic_load(&((mnemo_index_t *)index)->blocks);
}

/* ---- search ---- */

/* Dense mode indexes its arrays by doc - base, base being the index's
 * floor when the query started: the arrays span the doc numbers a live
 * document may have, which follow the live documents when they are
 * removed oldest first (memories that expire, chunks of a full re-sync),
 * not every number ever handed out. */
struct scratch {
    scratch_t *next; /* in the pool */
    double *score;   /* [doc - base], valid where mark[doc - base] == epoch */
    uint32_t *mark;
    uint32_t *seen; /* [doc - base] == term_epoch: already counted for this term */
    uint32_t term_epoch;
    size_t cap; /* doc numbers covered */
    uint32_t epoch;
    uint32_t base;     /* doc numbers of this query are at or above it */
    uint32_t *touched; /* docs scored by this query */
    size_t n_touched, cap_touched;
    uint32_t *pend_doc; /* live postings of the current term */
    double *pend_w;
    size_t n_pend, cap_pend;
    /* Sparse mode, when doc numbers far outnumber live documents (they are
     * never reused): the same per-doc fields in a table keyed by doc + 1,
     * emptied for every query, so memory follows what a query touches. */
    bool sparse;
    uint32_t limit; /* doc numbers of this query are below it */
    uint32_t *hkey; /* doc + 1; 0: empty */
    double *hscore;
    uint32_t *hseen;
    bool *hscored;
    size_t hcap, hcount;
    /* Docs the recent queries touched (scratch_note_use): what the arrays
     * above are trimmed to when they are far larger (scratch_trim). */
    size_t recent;
    uint64_t taken_at; /* index->takes when it was last taken */
};

#define SPARSE_SLACK 65536 /* dense while the span <= 4 x live + this */

static void sparse_alloc(scratch_t *s, size_t cap)
{
    s->hkey = mnemo_xcalloc(cap, sizeof *s->hkey);
    s->hscore = mnemo_xrealloc(NULL, cap * sizeof *s->hscore);
    s->hseen = mnemo_xrealloc(NULL, cap * sizeof *s->hseen);
    s->hscored = mnemo_xrealloc(NULL, cap * sizeof *s->hscored);
    s->hcap = cap;
    s->hcount = 0;
}

static void sparse_free(scratch_t *s)
{
    free(s->hkey);
    free(s->hscore);
    free(s->hseen);
    free(s->hscored);
    s->hkey = NULL;
    s->hscore = NULL;
    s->hseen = NULL;
    s->hscored = NULL;
    s->hcap = s->hcount = 0;
}

static void dense_free(scratch_t *s)
{
    free(s->score);
    free(s->mark);
    free(s->seen);
    s->score = NULL;
    s->mark = s->seen = NULL;
    s->cap = 0;
}

/* Sizes the dense arrays for span doc numbers: grown when short, shrunk
 * when more than twice what the span wants (the floor moved up). Stale
 * marks are harmless wherever they land: epochs only go up. */
static void dense_fit(scratch_t *s, size_t span)
{
    size_t want = span + span / 4 + 1024;
    if (s->cap >= span && s->cap <= 2 * want)
        return;
    size_t old = s->cap < want ? s->cap : want;
    s->score = mnemo_xrealloc(s->score, want * sizeof *s->score);
    s->mark = mnemo_xrealloc(s->mark, want * sizeof *s->mark);
    s->seen = mnemo_xrealloc(s->seen, want * sizeof *s->seen);
    memset(s->mark + old, 0, (want - old) * sizeof *s->mark);
    memset(s->seen + old, 0, (want - old) * sizeof *s->seen);
    s->cap = want;
}

static size_t sparse_home(const scratch_t *s, uint32_t doc)
{
    return (size_t)(((uint64_t)doc * 0x9E3779B97F4A7C15ull) >> 32) & (s->hcap - 1);
}

/* The slot of doc; inserted (unscored, unseen) when absent. */
static size_t sparse_slot(scratch_t *s, uint32_t doc)
{
    if ((s->hcount + 1) * 2 > s->hcap) {
        scratch_t old = *s;
        sparse_alloc(s, old.hcap * 2);
        for (size_t i = 0; i < old.hcap; i++) {
            if (old.hkey[i] == 0)
                continue;
            size_t j = sparse_home(s, old.hkey[i] - 1);
            while (s->hkey[j] != 0)
                j = (j + 1) & (s->hcap - 1);
            s->hkey[j] = old.hkey[i];
            s->hscore[j] = old.hscore[i];
            s->hseen[j] = old.hseen[i];
            s->hscored[j] = old.hscored[i];
        }
        s->hcount = old.hcount;
        sparse_free(&old);
    }
    size_t i = sparse_home(s, doc);
    while (s->hkey[i] != 0 && s->hkey[i] != doc + 1)
        i = (i + 1) & (s->hcap - 1);
    if (s->hkey[i] == 0) {
        s->hkey[i] = doc + 1;
        s->hseen[i] = 0;
        s->hscored[i] = false;
        s->hcount++;
    }
    return i;
}

/* At the end of a query: recent becomes the docs it touched, or three
 * quarters of the recent figure when that is more, so that one large
 * query keeps the arrays for the next few before they shrink. */
static void scratch_note_use(scratch_t *s)
{
    size_t used = s->n_touched > s->hcount ? s->n_touched : s->hcount;
    size_t decayed = s->recent - s->recent / 4;
    s->recent = used > decayed ? used : decayed;
}

/* The arrays' size for the recent queries: a power of two, at least 1 Ki. */
static size_t scratch_keep(const scratch_t *s)
{
    size_t keep = 1024;
    while (keep < s->recent)
        keep *= 2;
    return keep;
}

/* At the start of a query: the arrays sized by what queries touch (the
 * touched list, a term's postings, the sparse table at twice the docs)
 * shrink when more than 4 x what the recent queries needed, so they follow
 * an index that shrank (a repository deleted, memories removed) down.
 * Dense arrays follow the span instead (dense_fit). */
static void scratch_trim(scratch_t *s)
{
    size_t keep = scratch_keep(s);
    if (s->cap_touched > 4 * keep) {
        s->touched = mnemo_xrealloc(s->touched, keep * sizeof *s->touched);
        s->cap_touched = keep;
    }
    if (s->cap_pend > 4 * keep) {
        s->pend_doc = mnemo_xrealloc(s->pend_doc, keep * sizeof *s->pend_doc);
        s->pend_w = mnemo_xrealloc(s->pend_w, keep * sizeof *s->pend_w);
        s->cap_pend = keep;
    }
    if (s->hcap > 4 * 2 * keep)
        sparse_free(s);
    s->n_touched = s->n_pend = 0;
}

/* An accumulator for a query over doc numbers [base, docs) of an index
 * with live documents: dense (arrays over the span) unless the span far
 * outnumbers them. Whichever mode it is not in holds no memory. */
static scratch_t *scratch_take(mnemo_index_t *index, uint32_t base, uint32_t docs, uint64_t live)
{
    pthread_mutex_lock(&index->mu);
    scratch_t *s = index->pool;
    if (s != NULL)
        index->pool = s->next;
    uint64_t now = ++index->takes;
    pthread_mutex_unlock(&index->mu);
    if (s == NULL)
        s = mnemo_xcalloc(1, sizeof *s);
    s->taken_at = now;
    scratch_trim(s);
    s->n_touched = 0;
    s->base = base;
    s->limit = docs;
    size_t span = docs - base;
    s->sparse = span > 4 * live + SPARSE_SLACK;
    if (s->sparse) {
        dense_free(s);
        if (s->hcap == 0)
            sparse_alloc(s, 2 * scratch_keep(s));
        memset(s->hkey, 0, s->hcap * sizeof *s->hkey);
        s->hcount = 0;
        return s;
    }
    sparse_free(s);
    dense_fit(s, span);
    if (++s->epoch == 0) { /* wrapped: forget every old mark */
        memset(s->mark, 0, s->cap * sizeof *s->mark);
        s->epoch = 1;
    }
    s->n_touched = 0;
    return s;
}

static void scratch_free(scratch_t *s)
{
    sparse_free(s);
    dense_free(s);
    free(s->touched);
    free(s->pend_doc);
    free(s->pend_w);
    free(s);
}

/* An accumulator no search took in this many is freed: the pool grows to
 * the most searches that ran at once, and being last in first out, those
 * a burst added sink to its bottom, where only the next burst would take
 * (and trim) them. */
#define POOL_IDLE_TAKES 256

static void scratch_give(mnemo_index_t *index, scratch_t *s)
{
    scratch_note_use(s);
    scratch_t *idle = NULL;
    pthread_mutex_lock(&index->mu);
    s->next = index->pool;
    index->pool = s;
    for (scratch_t **p = &s->next; *p != NULL;) {
        scratch_t *e = *p;
        if (index->takes - e->taken_at > POOL_IDLE_TAKES) {
            *p = e->next;
            e->next = idle;
            idle = e;
        } else {
            p = &e->next;
        }
    }
    pthread_mutex_unlock(&index->mu);
    while (idle != NULL) {
        scratch_t *next = idle->next;
        scratch_free(idle);
        idle = next;
    }
}

static size_t termset_bytes(const termset_t *ts)
{
    return ts->cap * sizeof *ts->slots + ts->cap / 2 * sizeof *ts->used + ts->arena_cap;
}

static size_t membuf_bytes(const membuf_t *mb)
{
    if (mb == NULL)
        return 0;
    size_t n =
        sizeof *mb + termset_bytes(&mb->terms) + mb->cap_lists * sizeof *mb->lists + mb->segs.cap;
    for (size_t i = 0; i < mb->n_lists; i++)
        n += mb->lists[i].cap * (sizeof *mb->lists[i].docs + sizeof *mb->lists[i].tfs);
    return n;
}

static size_t scratch_bytes(const scratch_t *s)
{
    return sizeof *s + s->cap * (sizeof *s->score + sizeof *s->mark + sizeof *s->seen) +
           s->hcap * (sizeof *s->hkey + sizeof *s->hscore + sizeof *s->hseen + sizeof *s->hscored) +
           s->cap_touched * sizeof *s->touched +
           s->cap_pend * (sizeof *s->pend_doc + sizeof *s->pend_w);
}

uint64_t mnemo_index_memory_bytes(mnemo_index_t *index)
{
    size_t page = sizeof(page_t) + (size_t)PAGE_DOCS * index->id_len;
    /* The directory's pages are touched up to the last page pointer used. */
    size_t dir = ((size_t)(atomic_load(&index->next_doc) >> PAGE_BITS) + 1) * sizeof *index->dir;
    uint64_t n = sizeof *index + (atomic_load(&index->pages) + 1) * page + dir;
    pthread_mutex_lock(&index->map_mu);
    n += index->map_cap * sizeof *index->map;
    pthread_mutex_unlock(&index->map_mu);
    pthread_rwlock_rdlock(&index->buf_lock);
    n += membuf_bytes(index->active) + membuf_bytes(index->flushing);
    pthread_rwlock_unlock(&index->buf_lock);
    pthread_mutex_lock(&index->mu);
    for (const scratch_t *s = index->pool; s != NULL; s = s->next)
        n += scratch_bytes(s);
    pthread_mutex_unlock(&index->mu);
    return n;
}

typedef struct search {
    mnemo_index_t *index;
    mnemo_store_iter_t *it;
    scratch_t *acc;
    double n_docs, avgdl;
    uint32_t *rdocs, *rtfs; /* buffered postings of the query terms */
    size_t n_r, cap_r;
    size_t *rstart; /* query term k: rdocs[rstart[k] .. rstart[k + 1]) */
} search_t;

/* Copies the buffered postings of every query term (before the snapshot is
 * taken: a flush writes its blocks before it drops the buffer it flushed,
 * so each posting is in the copy, in the snapshot, or in both). */
static void ram_copy(search_t *s, const termset_t *terms)
{
    mnemo_index_t *index = s->index;
    s->rstart = mnemo_xcalloc(terms->count + 1, sizeof *s->rstart);
    pthread_rwlock_rdlock(&index->buf_lock);
    membuf_t *bufs[2] = {index->active, index->flushing};
    for (size_t k = 0; k < terms->count; k++) {
        const term_t *t = &terms->slots[terms->used[k]];
        for (int b = 0; b < 2; b++) {
            const plist_t *l = membuf_find(bufs[b], terms->arena + t->off, t->len, t->hash);
            if (l == NULL)
                continue;
            if (s->n_r + l->n > s->cap_r) {
                s->cap_r = (s->n_r + l->n) * 2;
                s->rdocs = mnemo_xrealloc(s->rdocs, s->cap_r * sizeof *s->rdocs);
                s->rtfs = mnemo_xrealloc(s->rtfs, s->cap_r * sizeof *s->rtfs);
            }
            memcpy(s->rdocs + s->n_r, l->docs, l->n * sizeof *l->docs);
            memcpy(s->rtfs + s->n_r, l->tfs, l->n * sizeof *l->tfs);
            s->n_r += l->n;
        }
        s->rstart[k + 1] = s->n_r;
    }
    pthread_rwlock_unlock(&index->buf_lock);
}

static void pend_push(scratch_t *s, uint32_t doc, double w)
{
    if (s->n_pend == s->cap_pend) {
        s->cap_pend = s->cap_pend != 0 ? s->cap_pend * 2 : 1024;
        s->pend_doc = mnemo_xrealloc(s->pend_doc, s->cap_pend * sizeof *s->pend_doc);
        s->pend_w = mnemo_xrealloc(s->pend_w, s->cap_pend * sizeof *s->pend_w);
    }
    s->pend_doc[s->n_pend] = doc;
    s->pend_w[s->n_pend++] = w;
}

static void touch(scratch_t *s, uint32_t doc)
{
    if (s->n_touched == s->cap_touched) {
        s->cap_touched = s->cap_touched != 0 ? s->cap_touched * 2 : 1024;
        s->touched = mnemo_xrealloc(s->touched, s->cap_touched * sizeof *s->touched);
    }
    s->touched[s->n_touched++] = doc;
}

static void acc_add(scratch_t *s, uint32_t doc, double v)
{
    if (s->sparse) {
        size_t i = sparse_slot(s, doc);
        if (!s->hscored[i]) {
            s->hscored[i] = true;
            s->hscore[i] = 0;
            touch(s, doc);
        }
        s->hscore[i] += v;
        return;
    }
    size_t i = doc - s->base;
    if (s->mark[i] != s->epoch) {
        s->mark[i] = s->epoch;
        s->score[i] = 0;
        touch(s, doc);
    }
    s->score[i] += v;
}

/* The slot of doc, which is present. */
static size_t sparse_find(const scratch_t *s, uint32_t doc)
{
    size_t i = sparse_home(s, doc);
    while (s->hkey[i] != doc + 1)
        i = (i + 1) & (s->hcap - 1);
    return i;
}

/* The score of a touched doc. */
static double acc_score(const scratch_t *s, uint32_t doc)
{
    return s->sparse ? s->hscore[sparse_find(s, doc)] : s->score[doc - s->base];
}

/* True the first time doc is met for the current term. */
static bool acc_first_seen(scratch_t *s, uint32_t doc)
{
    if (doc >= s->limit || doc < s->base) /* below the floor: dead */
        return false;
    uint32_t *seen;
    if (s->sparse) {
        /* The slot first: inserting may grow the table, and C does not say
         * whether s->hseen would be read before or after the call. */
        size_t i = sparse_slot(s, doc);
        seen = &s->hseen[i];
    } else if (doc - s->base < s->cap)
        seen = &s->seen[doc - s->base];
    else
        return false;
    if (*seen == s->term_epoch)
        return false;
    *seen = s->term_epoch;
    return true;
}

/* Queues the BM25 term weight of one posting of the current term, once per
 * live document. */
static void score_posting(search_t *s, uint32_t doc, uint32_t tf)
{
    scratch_t *acc = s->acc;
    if (!acc_first_seen(acc, doc))
        return;
    uint32_t st = doc_state(s->index, doc);
    if (st == 0 || st == DEAD)
        return;
    double norm = BM25_K1 * (1.0 - BM25_B + BM25_B * (double)(st - 1) / s->avgdl);
    pend_push(acc, doc, (double)tf * (BM25_K1 + 1.0) / ((double)tf + norm));
}

static bool score_block(search_t *s, uint32_t first, const char *val, size_t vlen)
{
    block_reader_t br;
    block_open(&br, first, val, vlen);
    uint32_t doc, tf;
    while (block_next(&br, &doc, &tf))
        score_posting(s, doc, tf);
    return br.left == 0 && mnemo_reader_done(&br.r);
}

/* Walks the buffered postings and the blocks of query term k and adds its
 * BM25 share to each document. */
static mnemo_status_t score_term(search_t *s, size_t k, const char *term, size_t tlen,
                                 mnemo_err_t *err)
{
    term_walk_t w;
    block_ref_t b;
    size_t n_blocks = 0;
    int more;
    scratch_t *acc = s->acc;
    acc->n_pend = 0;
    if (++acc->term_epoch == 0) { /* wrapped: forget every old mark */
        if (acc->cap > 0)
            memset(acc->seen, 0, acc->cap * sizeof *acc->seen);
        if (acc->hcap > 0)
            memset(acc->hseen, 0, acc->hcap * sizeof *acc->hseen);
        acc->term_epoch = 1;
    }
    for (size_t i = s->rstart[k]; i < s->rstart[k + 1]; i++)
        score_posting(s, s->rdocs[i], s->rtfs[i]);
    term_walk_start(&w, s->it, s->index->ns, term, tlen, true);
    while ((more = term_walk_next(&w, &b)) > 0 && score_block(s, b.first, b.val, b.vlen))
        n_blocks++;
    if (more != 0)
        return malformed_block(s->index, term, tlen, err);
    mnemo_status_t st = mnemo_store_iter_status(s->it, err);
    if (st != MNEMO_OK)
        return st;
    if (n_blocks >= MERGE_HINT_BLOCKS)
        merger_hint(s->index, term, tlen);
    double df = (double)s->acc->n_pend;
    double n = s->n_docs > df ? s->n_docs : df;
    double idf = log(1.0 + (n - df + 0.5) / (df + 0.5));
    for (size_t i = 0; i < s->acc->n_pend; i++)
        acc_add(s->acc, s->acc->pend_doc[i], idf * s->acc->pend_w[i]);
    return MNEMO_OK;
}

/* True when doc a ranks below doc b: lower score, or same score and larger id. */
static bool ranks_below(const search_t *s, uint32_t a, uint32_t b)
{
    double sa = acc_score(s->acc, a), sb = acc_score(s->acc, b);
    if (sa != sb)
        return sa < sb;
    return memcmp(doc_id(s->index, a), doc_id(s->index, b), s->index->id_len) > 0;
}

/* Restores the min-heap (root = lowest ranked) below position i. */
static void heap_down(const search_t *s, uint32_t *heap, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && ranks_below(s, heap[l], heap[m]))
            m = l;
        if (r < n && ranks_below(s, heap[r], heap[m]))
            m = r;
        if (m == i)
            return;
        uint32_t t = heap[i];
        heap[i] = heap[m];
        heap[m] = t;
        i = m;
    }
}

static void heap_up(const search_t *s, uint32_t *heap, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!ranks_below(s, heap[i], heap[parent]))
            return;
        uint32_t t = heap[i];
        heap[i] = heap[parent];
        heap[parent] = t;
        i = parent;
    }
}

/* Keeps the best limit scored documents with score >= min_score that the
 * filter lets through, then writes them best first into a new array. The
 * filter sees only documents that would enter the heap. */
static size_t select_top(const search_t *s, mnemo_index_hit_t **hits, size_t limit,
                         double min_score, mnemo_index_filter_fn filter, void *ctx)
{
    const scratch_t *acc = s->acc;
    size_t k = limit < acc->n_touched ? limit : acc->n_touched, n = 0;
    uint32_t *heap = mnemo_xrealloc(NULL, (k > 0 ? k : 1) * sizeof *heap);
    for (size_t i = 0; i < acc->n_touched && k > 0; i++) {
        uint32_t d = acc->touched[i];
        if (acc_score(acc, d) < min_score || (n == k && !ranks_below(s, heap[0], d)))
            continue;
        if (filter != NULL && !filter(ctx, doc_id(s->index, d), s->index->id_len))
            continue;
        if (n < k) {
            heap[n] = d;
            heap_up(s, heap, n++);
        } else {
            heap[0] = d;
            heap_down(s, heap, n, 0);
        }
    }
    *hits = n > 0 ? mnemo_xrealloc(NULL, n * sizeof **hits) : NULL;
    size_t kept = n;
    for (size_t left = n; left > 0; left--) {
        uint32_t d = heap[0];
        mnemo_index_hit_t *hit = &(*hits)[left - 1];
        memcpy(hit->id, doc_id(s->index, d), s->index->id_len);
        hit->id_len = s->index->id_len;
        hit->score = acc_score(acc, d);
        /* Removed since it was scored: its page may be the tomb by now, so
         * the id just copied may be the tomb's zeros. States never come
         * back from DEAD, so a live state read after the copy vouches for
         * it. */
        if (doc_state(s->index, d) == DEAD) {
            hit->id_len = 0;
            kept--;
        }
        heap[0] = heap[left - 1];
        heap_down(s, heap, left - 1, 0);
    }
    free(heap);
    if (kept < n) {
        size_t j = 0;
        for (size_t i = 0; i < n; i++)
            if ((*hits)[i].id_len != 0)
                (*hits)[j++] = (*hits)[i];
    }
    return kept;
}

mnemo_status_t mnemo_index_search(mnemo_index_t *index, mnemo_index_hit_t **hits, size_t *count,
                                  const char *query, size_t qlen, size_t limit, double min_score,
                                  mnemo_index_filter_fn filter, void *ctx, mnemo_err_t *err)
{
    assert(index != NULL && hits != NULL && count != NULL);
    termset_t terms;
    termset_init(&terms);
    mnemo_tokenize(query, qlen, termset_add, &terms);
    if (terms.count == 0 || limit == 0) {
        termset_cleanup(&terms);
        *hits = NULL;
        *count = 0;
        return MNEMO_OK;
    }
    search_t s = {.index = index};
    unsigned epoch = reader_enter(index); /* pages stay until we leave */
    ram_copy(&s, &terms);
    s.it = mnemo_store_iter_create(index->store);
    /* After the snapshot: every doc number in it is below next_doc. */
    uint64_t docs = atomic_load(&index->docs), total = atomic_load(&index->total_len);
    /* The floor first: it only moves to numbers already handed out, so
     * read before next_doc it is at most next_doc. */
    uint32_t base = atomic_load(&index->floor);
    s.acc = scratch_take(index, base, atomic_load(&index->next_doc), docs);
    s.n_docs = (double)docs;
    s.avgdl = docs > 0 && total > 0 ? (double)total / (double)docs : 1.0;
    mnemo_status_t st = MNEMO_OK;
    for (size_t k = 0; k < terms.count && st == MNEMO_OK; k++) {
        const term_t *t = &terms.slots[terms.used[k]];
        st = score_term(&s, k, terms.arena + t->off, t->len, err);
    }
    if (st == MNEMO_OK)
        *count = select_top(&s, hits, limit, min_score, filter, ctx);
    mnemo_store_iter_destroy(s.it);
    free(s.rdocs);
    free(s.rtfs);
    free(s.rstart);
    scratch_give(index, s.acc);
    reader_exit(index, epoch);
    termset_cleanup(&terms);
    return st;
}

/* ---- merge ---- */

typedef struct blk {
    size_t off; /* of the key in merge.raw; the value follows it */
    size_t klen, vlen;
    uint32_t first;
    size_t count; /* postings */
} blk_t;

typedef struct merge {
    mnemo_index_t *index;
    mnemo_store_iter_t *it;
    mnemo_store_batch_t *batch;
    size_t batch_bytes;
    mnemo_buf_t raw; /* keys and values of the blocks of one term */
    blk_t *blks;
    size_t n_blks, cap_blks;
    uint64_t *posts; /* doc << 32 | tf, sorted by doc before encoding */
    uint32_t *docs, *tfs;
    size_t n, cap;
    mnemo_buf_t val;
    uint64_t left; /* blocks of the terms visited, after the merge */
} merge_t;

/* Reads every block of term from m->it into m->blks (seek: see
 * term_walk_start); leaves the iterator on the first key after them. */
static mnemo_status_t gather(merge_t *m, const char *term, size_t tlen, bool seek, mnemo_err_t *err)
{
    term_walk_t w;
    block_ref_t b;
    int more;
    m->raw.len = 0;
    m->n_blks = 0;
    term_walk_start(&w, m->it, m->index->ns, term, tlen, seek);
    while ((more = term_walk_next(&w, &b)) > 0) {
        mnemo_reader_t r;
        mnemo_reader_init(&r, b.val, b.vlen);
        size_t count = mnemo_read_count(&r);
        if (!r.ok) {
            more = -1;
            break;
        }
        if (m->n_blks == m->cap_blks) {
            m->cap_blks = m->cap_blks != 0 ? m->cap_blks * 2 : 16;
            m->blks = mnemo_xrealloc(m->blks, m->cap_blks * sizeof *m->blks);
        }
        m->blks[m->n_blks++] = (blk_t){m->raw.len, b.klen, b.vlen, b.first, count};
        mnemo_buf_add(&m->raw, b.key, b.klen);
        mnemo_buf_add(&m->raw, b.val, b.vlen);
    }
    if (more != 0)
        return malformed_block(m->index, term, tlen, err);
    return mnemo_store_iter_status(m->it, err);
}

static int cmp_blk_count(const void *a, const void *b)
{
    const blk_t *x = a, *y = b;
    return (x->count > y->count) - (x->count < y->count);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Decodes the first k blocks of m->blks into m->posts, dropping postings of
 * removed documents; returns how many were dropped, or -1 when a block is
 * malformed. */
static long decode_blocks(merge_t *m, size_t k)
{
    long dropped = 0;
    m->n = 0;
    for (size_t b = 0; b < k; b++) {
        const blk_t *blk = &m->blks[b];
        if (m->n + blk->count > m->cap) {
            m->cap = (m->n + blk->count) * 2;
            m->posts = mnemo_xrealloc(m->posts, m->cap * sizeof *m->posts);
        }
        block_reader_t br;
        block_open(&br, blk->first, m->raw.p + blk->off + blk->klen, blk->vlen);
        uint32_t doc, tf;
        while (block_next(&br, &doc, &tf)) {
            if (doc_state(m->index, doc) == DEAD)
                dropped++;
            else
                m->posts[m->n++] = (uint64_t)doc << 32 | tf;
        }
        if (br.left != 0 || !mnemo_reader_done(&br.r))
            return -1;
    }
    return dropped;
}

/* Replaces the first k blocks of m->blks by one holding m->posts. */
static mnemo_status_t rewrite(merge_t *m, const char *term, size_t tlen, size_t k, mnemo_err_t *err)
{
    for (size_t b = 0; b < k; b++)
        mnemo_store_batch_delete(m->batch, m->raw.p + m->blks[b].off, m->blks[b].klen);
    if (m->n > 0) {
        qsort(m->posts, m->n, sizeof *m->posts, cmp_u64);
        m->docs = mnemo_xrealloc(m->docs, m->n * sizeof *m->docs);
        m->tfs = mnemo_xrealloc(m->tfs, m->n * sizeof *m->tfs);
        for (size_t i = 0; i < m->n; i++) {
            m->docs[i] = (uint32_t)(m->posts[i] >> 32);
            m->tfs[i] = (uint32_t)m->posts[i];
        }
        char key[BLOCK_KEY_MAX];
        size_t klen = term_prefix(key, m->index->ns, term, tlen);
        mnemo_put_be32((uint8_t *)key + klen, m->docs[0]);
        m->val.len = 0;
        block_encode(&m->val, m->docs, m->tfs, m->n);
        mnemo_store_batch_put(m->batch, key, klen + 4, m->val.p, m->val.len);
        m->batch_bytes += m->val.len;
    }
    m->left += m->n_blks - k + (m->n > 0);
    atomic_sub_floor(&m->index->blocks, k - (m->n > 0));
    m->batch_bytes += k * BLOCK_KEY_MAX;
    if (m->batch_bytes < MERGE_BATCH_BYTES)
        return MNEMO_OK;
    m->batch_bytes = 0;
    mnemo_status_t st = mnemo_store_write(m->index->store, m->batch, false, err);
    mnemo_store_batch_clear(m->batch);
    return st;
}

/* Merges the blocks of term. sweep: all of them, when there are several or
 * some hold removed documents (m->it is then on the term's first block).
 * Otherwise logarithmically: the smallest blocks, each no larger than twice
 * the ones before it together, so every posting is rewritten O(log n)
 * times and a term keeps O(log n) blocks. */
static mnemo_status_t merge_term(merge_t *m, const char *term, size_t tlen, bool sweep,
                                 mnemo_err_t *err)
{
    mnemo_status_t st = gather(m, term, tlen, !sweep, err);
    if (st != MNEMO_OK || m->n_blks == 0)
        return st;
    size_t k = m->n_blks;
    if (!sweep) {
        qsort(m->blks, m->n_blks, sizeof *m->blks, cmp_blk_count);
        size_t acc = m->blks[0].count;
        for (k = 1; k < m->n_blks && m->blks[k].count <= 2 * acc; k++)
            acc += m->blks[k].count;
        if (k < 2) {
            m->left += m->n_blks;
            return MNEMO_OK;
        }
    }
    long dropped = decode_blocks(m, k);
    if (dropped < 0)
        return malformed_block(m->index, term, tlen, err);
    if (k < 2 && dropped == 0) {
        m->left += m->n_blks;
        return MNEMO_OK;
    }
    return rewrite(m, term, tlen, k, err);
}

static void merge_init(merge_t *m, mnemo_index_t *index)
{
    memset(m, 0, sizeof *m);
    m->index = index;
    m->it = mnemo_store_iter_create_bulk(index->store);
    m->batch = mnemo_store_batch_create();
}

/* Writes what is left in the batch and frees m; returns st or the write's. */
static mnemo_status_t merge_finish(merge_t *m, mnemo_status_t st, mnemo_err_t *err)
{
    if (st == MNEMO_OK && mnemo_store_batch_count(m->batch) > 0)
        st = mnemo_store_write(m->index->store, m->batch, false, err);
    mnemo_store_batch_destroy(m->batch);
    mnemo_store_iter_destroy(m->it);
    mnemo_buf_cleanup(&m->raw);
    mnemo_buf_cleanup(&m->val);
    free(m->blks);
    free(m->posts);
    free(m->docs);
    free(m->tfs);
    return st;
}

static bool merger_should_stop(mnemo_index_t *index);
static mnemo_status_t flush_between(merge_t *m, mnemo_err_t *err);

/* Merges the terms listed in terms (u8 length + bytes each). */
static mnemo_status_t merge_terms(mnemo_index_t *index, const mnemo_buf_t *terms, mnemo_err_t *err)
{
    pthread_mutex_lock(&index->merge_mu);
    merge_t m;
    merge_init(&m, index);
    mnemo_status_t st = MNEMO_OK;
    for (size_t off = 0; off < terms->len && st == MNEMO_OK && !merger_should_stop(index);) {
        size_t tlen = terms->p[off];
        st = merge_term(&m, (const char *)terms->p + off + 1, tlen, false, err);
        if (st == MNEMO_OK)
            st = flush_between(&m, err);
        off += 1 + tlen;
    }
    st = merge_finish(&m, st, err);
    pthread_mutex_unlock(&index->merge_mu);
    return st;
}

/* Sorts a buffered posting list by doc number (batches written at once by
 * several threads interleave) into m->docs / m->tfs, dropping removed
 * documents; returns how many are left. */
static size_t flush_list(merge_t *m, const plist_t *l)
{
    if (l->n > m->cap) {
        m->cap = l->n * 2;
        m->posts = mnemo_xrealloc(m->posts, m->cap * sizeof *m->posts);
    }
    size_t n = 0;
    bool sorted = true;
    for (size_t i = 0; i < l->n; i++) {
        if (doc_state(m->index, l->docs[i]) == DEAD)
            continue;
        m->posts[n] = (uint64_t)l->docs[i] << 32 | l->tfs[i];
        sorted = sorted && (n == 0 || m->posts[n - 1] < m->posts[n]);
        n++;
    }
    if (!sorted)
        qsort(m->posts, n, sizeof *m->posts, cmp_u64);
    m->docs = mnemo_xrealloc(m->docs, (n > 0 ? n : 1) * sizeof *m->docs);
    m->tfs = mnemo_xrealloc(m->tfs, (n > 0 ? n : 1) * sizeof *m->tfs);
    for (size_t i = 0; i < n; i++) {
        m->docs[i] = (uint32_t)(m->posts[i] >> 32);
        m->tfs[i] = (uint32_t)m->posts[i];
    }
    return n;
}

/* Turns the active buffer into one block per term, deleting the segment
 * records it came from in the same write; caller holds merge_mu. Searches
 * keep reading the buffer (as flushing) until the blocks are written.
 * *written (may be NULL) counts the blocks. */
static mnemo_status_t flush_buffer(mnemo_index_t *index, uint64_t *written_out, mnemo_err_t *err)
{
    pthread_rwlock_wrlock(&index->buf_lock);
    membuf_t *mb = index->active;
    if (mb->segs.len == 0) {
        pthread_rwlock_unlock(&index->buf_lock);
        return MNEMO_OK;
    }
    index->flushing = mb;
    index->active = membuf_create();
    atomic_store(&index->buffered, 0);
    pthread_rwlock_unlock(&index->buf_lock);

    merge_t m;
    merge_init(&m, index);
    char key[BLOCK_KEY_MAX];
    uint64_t written = 0;
    for (size_t k = 0; k < mb->terms.count; k++) {
        const term_t *t = &mb->terms.slots[mb->terms.used[k]];
        size_t n = flush_list(&m, &mb->lists[t->val]);
        if (n == 0)
            continue;
        size_t klen = term_prefix(key, index->ns, mb->terms.arena + t->off, t->len);
        mnemo_put_be32((uint8_t *)key + klen, m.docs[0]);
        m.val.len = 0;
        block_encode(&m.val, m.docs, m.tfs, n);
        mnemo_store_batch_put(m.batch, key, klen + 4, m.val.p, m.val.len);
        written++;
    }
    /* Those loaded at open are all in the first buffer flushed. */
    bool legacy = atomic_load(&index->legacy_segs);
    for (size_t off = 0; off + 4 <= mb->segs.len; off += 4) {
        uint8_t sk[6];
        seg_key(index, sk, mnemo_get_be32(mb->segs.p + off));
        mnemo_store_batch_delete(m.batch, sk, sizeof sk);
        if (legacy) {
            seg_key_legacy(index, sk, mnemo_get_be32(mb->segs.p + off));
            mnemo_store_batch_delete(m.batch, sk, sizeof sk);
        }
    }
    /* One write: a crash leaves either the segments or the blocks. */
    mnemo_status_t st = merge_finish(&m, MNEMO_OK, err);
    pthread_rwlock_wrlock(&index->buf_lock);
    index->flushing = NULL;
    if (st != MNEMO_OK) { /* keep the postings searchable: back into active */
        membuf_t *old = mb;
        mb = index->active;
        index->active = old;
        for (size_t k = 0; k < mb->terms.count; k++) {
            const term_t *t = &mb->terms.slots[mb->terms.used[k]];
            const plist_t *l = &mb->lists[t->val];
            membuf_add(old, mb->terms.arena + t->off, t->len, t->hash, l->docs, l->tfs, l->n);
        }
        mnemo_buf_add(&old->segs, mb->segs.p, mb->segs.len);
        atomic_store(&index->buffered, old->n_posts);
    }
    pthread_rwlock_unlock(&index->buf_lock);
    if (st == MNEMO_OK) {
        if (legacy)
            atomic_store(&index->legacy_segs, false);
        atomic_fetch_add(&index->blocks, written);
        merger_note(index, &mb->terms);
        if (written_out != NULL)
            *written_out += written;
    }
    membuf_destroy(mb);
    return st;
}

static bool flush_due(mnemo_index_t *index);

/* Between two terms of a long merge or sweep: flushes the buffer when it is
 * due, so writes that go on meanwhile (a full sync during a sweep) keep it
 * near FLUSH_POSTS instead of growing for as long as the merge runs. The
 * flush writes blocks under new keys, outside the merge's snapshot, so the
 * merge goes on undisturbed; their count joins m->left. Caller holds
 * merge_mu. */
static mnemo_status_t flush_between(merge_t *m, mnemo_err_t *err)
{
    if (!flush_due(m->index))
        return MNEMO_OK;
    return flush_buffer(m->index, &m->left, err);
}

mnemo_status_t mnemo_index_merge(mnemo_index_t *index, mnemo_err_t *err)
{
    assert(index != NULL);
    pthread_mutex_lock(&index->merge_mu);
    mnemo_status_t fst = flush_buffer(index, NULL, err);
    if (fst != MNEMO_OK) {
        pthread_mutex_unlock(&index->merge_mu);
        return fst;
    }
    uint64_t dead = atomic_exchange(&index->dead, 0);
    merge_t m;
    merge_init(&m, index);
    char prefix[2] = {index->ns, 'p'}, term[MNEMO_TOKEN_MAX];
    mnemo_status_t st = MNEMO_OK;
    mnemo_store_iter_seek(m.it, prefix, 2);
    while (st == MNEMO_OK && mnemo_store_iter_valid(m.it) && !merger_should_stop(index)) {
        size_t klen, tlen;
        uint32_t first;
        const char *key = mnemo_store_iter_key(m.it, &klen);
        if (klen < 2 || memcmp(key, prefix, 2) != 0)
            break;
        if (!block_key_parse(key, klen, &tlen, &first) || tlen > MNEMO_TOKEN_MAX) {
            st = mnemo_err_set(err, MNEMO_ECORRUPT, "index '%c': malformed block key", index->ns);
            break;
        }
        memcpy(term, key + 2, tlen); /* gather moves the iterator past the term */
        st = merge_term(&m, term, tlen, true, err);
        if (st == MNEMO_OK)
            st = flush_between(&m, err);
    }
    if (st == MNEMO_OK)
        st = mnemo_store_iter_status(m.it, err);
    if (st == MNEMO_OK && !merger_should_stop(index))
        atomic_store(&index->blocks, m.left);
    st = merge_finish(&m, st, err);
    if (st != MNEMO_OK)
        atomic_fetch_add(&index->dead, dead); /* sweep again later */
    retire_pages(index);
    pthread_mutex_unlock(&index->merge_mu);
    return st;
}

/* ---- the merger thread ---- */

static bool merger_should_stop(mnemo_index_t *index)
{
    pthread_mutex_lock(&index->mu);
    bool stop = index->stopping;
    pthread_mutex_unlock(&index->mu);
    return stop;
}

/* Queues term for a merge; caller holds mu. */
static void ready_push_locked(mnemo_index_t *index, const char *term, size_t tlen)
{
    uint8_t len = (uint8_t)tlen;
    mnemo_buf_add(&index->ready, &len, 1);
    mnemo_buf_add(&index->ready, term, tlen);
}

static bool sweep_due(mnemo_index_t *index)
{
    uint64_t dead = atomic_load(&index->dead), live = atomic_load(&index->docs);
    return dead >= MERGE_SWEEP_DEAD && dead >= live / 4;
}

/* Counts the block a flush added to each of terms, queueing the terms that
 * reach MERGE_TERM_BLOCKS for a merge. */
static void merger_note(mnemo_index_t *index, const termset_t *terms)
{
    pthread_mutex_lock(&index->mu);
    if (index->merger_running) {
        for (size_t k = 0; k < terms->count; k++) {
            const term_t *t = &terms->slots[terms->used[k]];
            bool fresh;
            term_t *d =
                termset_intern_hashed(index->dirty, terms->arena + t->off, t->len, t->hash, &fresh);
            if (++d->val == MERGE_TERM_BLOCKS)
                ready_push_locked(index, terms->arena + t->off, t->len);
        }
    }
    pthread_mutex_unlock(&index->mu);
}

/* The merger went idle with more than DIRTY_KEEP_TERMS terms counted:
 * drops those with at most one block since their last merge (code's long
 * tail of identifiers, each in one file), so an idle index does not keep a
 * count for every distinct term of its last big sync (17 MiB for the
 * 184,000 terms of 1,200 files). A dropped term counts from zero again:
 * its merge waits one block longer, and a query that meets many blocks
 * still asks for one (merger_hint). Caller holds mu. */
static void merger_prune_locked(mnemo_index_t *index)
{
    termset_t *dirty = index->dirty;
    if (dirty->count <= DIRTY_KEEP_TERMS)
        return;
    termset_t kept;
    termset_init(&kept);
    for (size_t k = 0; k < dirty->count; k++) {
        const term_t *t = &dirty->slots[dirty->used[k]];
        bool fresh;
        if (t->val >= 2)
            termset_intern_hashed(&kept, dirty->arena + t->off, t->len, t->hash, &fresh)->val =
                t->val;
    }
    termset_cleanup(dirty);
    *dirty = kept;
}

static bool flush_due(mnemo_index_t *index)
{
    return atomic_load(&index->buffered) >= FLUSH_POSTS;
}

/* Wakes the merger when a flush or a sweep is due (after every write). */
static void merger_poke(mnemo_index_t *index)
{
    if (!flush_due(index) && !sweep_due(index))
        return;
    pthread_mutex_lock(&index->mu);
    if (index->merger_running)
        pthread_cond_signal(&index->cond);
    pthread_mutex_unlock(&index->mu);
}

void mnemo_index_burst_over(mnemo_index_t *index)
{
    assert(index != NULL);
    pthread_mutex_lock(&index->mu);
    if (index->merger_running && !index->burst_over) {
        index->burst_over = true;
        pthread_cond_signal(&index->cond);
    }
    pthread_mutex_unlock(&index->mu);
}

/* A query met term spread over many blocks (written before a restart, say). */
static void merger_hint(mnemo_index_t *index, const char *term, size_t tlen)
{
    pthread_mutex_lock(&index->mu);
    if (index->merger_running) {
        bool fresh;
        term_t *d = termset_intern(index->dirty, term, tlen, &fresh);
        if (d->val < MERGE_TERM_BLOCKS) {
            d->val = MERGE_TERM_BLOCKS;
            ready_push_locked(index, term, tlen);
            pthread_cond_signal(&index->cond);
        }
    }
    pthread_mutex_unlock(&index->mu);
}

/* Resets the counts of the terms in work (of every term when work is NULL);
 * caller holds mu. */
static void merger_forget_locked(mnemo_index_t *index, const mnemo_buf_t *work)
{
    if (work == NULL) { /* after a sweep: start afresh, so the set does not grow forever */
        termset_cleanup(index->dirty);
        termset_init(index->dirty);
        return;
    }
    for (size_t off = 0; off < work->len; off += 1 + work->p[off]) {
        bool fresh;
        term_t *d =
            termset_intern(index->dirty, (const char *)work->p + off + 1, work->p[off], &fresh);
        d->val = 0;
    }
}

/* One round of merger work, with no lock held: a sweep (which flushes
 * first), a flush, or the term merges queued in work. */
static mnemo_status_t merger_round(mnemo_index_t *index, bool sweep, bool flush,
                                   const mnemo_buf_t *work)
{
    mnemo_err_t err;
    if (sweep)
        return mnemo_index_merge(index, &err);
    if (!flush)
        return merge_terms(index, work, &err);
    pthread_mutex_lock(&index->merge_mu);
    mnemo_status_t st = flush_buffer(index, NULL, &err); /* a failure keeps the buffer */
    pthread_mutex_unlock(&index->merge_mu);
    return st;
}

static void *merger_main(void *arg)
{
    mnemo_index_t *index = arg;
    mnemo_thread_name(index->ns == 'M' ? "mnemod-merge-m" : "mnemod-merge-c");
    mnemo_thread_background(); /* housekeeping: requests and syncs go first */
    /* After a failed round (a failed store, a corrupt block) the same work
     * would fail again at once: wait, 1 s doubling to 60 s, whatever new
     * writes say meanwhile. */
    long backoff_ms = 0;
    struct timespec retry_at = {0, 0};
    bool worked = false;     /* rounds ran since the heap was last trimmed */
    bool idle_flush = false; /* writes paused with IDLE_FLUSH_POSTS buffered */
    pthread_mutex_lock(&index->mu);
    while (!index->stopping) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        if (backoff_ms > 0 && (now.tv_sec < retry_at.tv_sec ||
                               (now.tv_sec == retry_at.tv_sec && now.tv_nsec < retry_at.tv_nsec))) {
            pthread_cond_timedwait(&index->cond, &index->mu, &retry_at);
            continue;
        }
        bool sweep = sweep_due(index), flush = !sweep && (flush_due(index) || idle_flush);
        idle_flush = false;
        if (!sweep && !flush && index->ready.len == 0) {
            if (worked) { /* a burst ended: give back what its rounds freed */
                worked = false;
                merger_prune_locked(index);
                pthread_mutex_unlock(&index->mu);
                mnemo_heap_give_back();
                pthread_mutex_lock(&index->mu);
                continue;
            }
            /* A buffer of a burst that ended is flushed after a pause, so
             * an idle server does not hold up to FLUSH_POSTS postings (tens
             * of MiB of code's distinct terms) until the next burst: after
             * IDLE_FLUSH_MS when it is big or its writer said the burst is
             * over (a sync ended), after IDLE_FLUSH_ANY_MS otherwise, so a
             * trickle of memories does not become a block per term each. */
            size_t held = atomic_load(&index->buffered);
            if (held > 0) {
                long ms = held >= IDLE_FLUSH_POSTS || index->burst_over ? IDLE_FLUSH_MS
                                                                        : IDLE_FLUSH_ANY_MS;
                struct timespec at;
                clock_gettime(CLOCK_REALTIME, &at);
                at.tv_sec += ms / 1000;
                idle_flush = pthread_cond_timedwait(&index->cond, &index->mu, &at) == ETIMEDOUT &&
                             atomic_load(&index->buffered) == held;
                if (idle_flush)
                    index->burst_over = false;
                continue;
            }
            pthread_cond_wait(&index->cond, &index->mu);
            continue;
        }
        mnemo_buf_t work = {0};
        if (!sweep && !flush) {
            work = index->ready;
            memset(&index->ready, 0, sizeof index->ready);
        }
        pthread_mutex_unlock(&index->mu);
        mnemo_status_t st = merger_round(index, sweep, flush, &work);
        worked = true;
        pthread_mutex_lock(&index->mu);
        if (!flush)
            merger_forget_locked(index, sweep ? NULL : &work);
        mnemo_buf_cleanup(&work);
        backoff_ms = st == MNEMO_OK ? 0 : backoff_ms == 0 ? 1000 : backoff_ms * 2;
        if (backoff_ms > 60000)
            backoff_ms = 60000;
        clock_gettime(CLOCK_REALTIME, &retry_at);
        retry_at.tv_sec += backoff_ms / 1000;
    }
    pthread_mutex_unlock(&index->mu);
    return NULL;
}

void mnemo_index_start(mnemo_index_t *index)
{
    assert(index != NULL && !index->merger_running);
    pthread_mutex_lock(&index->mu);
    index->dirty = mnemo_xcalloc(1, sizeof *index->dirty);
    termset_init(index->dirty);
    index->merger_running = pthread_create(&index->merger, NULL, merger_main, index) == 0;
    pthread_mutex_unlock(&index->mu);
}

void mnemo_index_close(mnemo_index_t *index)
{
    if (index == NULL)
        return;
    pthread_mutex_lock(&index->mu);
    index->stopping = true;
    bool running = index->merger_running;
    pthread_cond_signal(&index->cond);
    pthread_mutex_unlock(&index->mu);
    if (running)
        pthread_join(index->merger, NULL);
    if (index->dirty != NULL)
        termset_cleanup(index->dirty);
    free(index->dirty);
    mnemo_buf_cleanup(&index->ready);
    while (index->pool != NULL) {
        scratch_t *s = index->pool;
        index->pool = s->next;
        scratch_free(s);
    }
    for (size_t i = 0; i < DIR_PAGES; i++) {
        page_t *pg = atomic_load(&index->dir[i]);
        if (pg != index->tomb)
            free(pg);
    }
    free(index->tomb);
    free(index->dir);
    pthread_cond_destroy(&index->cond);
    pthread_mutex_destroy(&index->mu);
    pthread_mutex_destroy(&index->merge_mu);
    pthread_mutex_destroy(&index->alloc_mu);
    pthread_mutex_destroy(&index->map_mu);
    membuf_destroy(index->active);
    membuf_destroy(index->flushing);
    pthread_rwlock_destroy(&index->buf_lock);
    free(index->map);
    free(index);
}
