/* index.c - inverted index with BM25 ranking, persisted in the store (see
 * index.h for the key layout).
 *
 * DESIGN: the index object holds only the store, its namespace byte and the
 * two corpus statistics (document count, total length in terms) as atomics;
 * everything else lives in the store, so any number of threads may add,
 * remove and search at once without a lock.
 *
 * add/remove tokenize the text into a termset: an open-addressing hash table
 * of distinct terms with their frequency, whose bytes live in one arena, so
 * a document costs a handful of allocations however many terms it has. One
 * posting is put (or deleted) per distinct term, and the updated stats are
 * put into the same batch. A document without terms still counts in N.
 *
 * search tokenizes the query into a termset, then walks the postings of each
 * distinct term with a single store iterator (one snapshot per query). Each
 * posting's BM25 term weight, tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl /
 * avgdl)), is kept in a reusable pending array until the term's postings
 * are counted (df) and its idf, ln(1 + (N - df + 0.5) / (df + 0.5)), is
 * known; then it is added to the document's score. Documents are
 * accumulated in a docmap (open addressing keyed by the id bytes) that also
 * caches the filter's verdict, so the filter runs once per distinct
 * document. The best `limit` are selected with a bounded min-heap whose
 * root is the worst kept hit. Nothing is allocated per posting.
 *
 * Threads: any thread may call any function concurrently; the caller
 * serialises add/remove of one document (index.h).
 */
#include "index.h"

#include <assert.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "tokenizer.h"

#define BM25_K1 1.2
#define BM25_B  0.75

/* ns 'p' term '\0' doc_id */
#define POSTING_KEY_MAX (2 + MNEMO_TOKEN_MAX + 1 + MNEMO_INDEX_MAX_ID)

struct mnemo_index {
    mnemo_store_t *store; /* borrowed; outlives the index */
    char ns;
    _Atomic uint64_t docs;      /* documents indexed */
    _Atomic uint64_t total_len; /* sum of their lengths, in terms */
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

/* ---- termset: distinct terms of a text with their frequency ---- */

typedef struct term {
    uint64_t hash;
    uint32_t off; /* into the arena */
    uint32_t len; /* 0: empty slot */
    uint32_t tf;
} term_t;

typedef struct termset {
    term_t *slots; /* cap slots, cap a power of two, at most half full */
    size_t cap;
    size_t count; /* distinct terms */
    size_t total; /* terms fed, repeats included: the document length */
    char *arena;
    size_t arena_len, arena_cap;
} termset_t;

static void termset_init(termset_t *ts)
{
    memset(ts, 0, sizeof *ts);
    ts->cap = 64;
    ts->slots = mnemo_xcalloc(ts->cap, sizeof *ts->slots);
    ts->arena_cap = 1024;
    ts->arena = mnemo_xrealloc(NULL, ts->arena_cap);
}

static void termset_cleanup(termset_t *ts)
{
    free(ts->slots);
    free(ts->arena);
}

static void termset_grow(termset_t *ts)
{
    size_t cap = ts->cap * 2;
    term_t *slots = mnemo_xcalloc(cap, sizeof *slots);
    for (size_t i = 0; i < ts->cap; i++) {
        if (ts->slots[i].len == 0)
            continue;
        size_t j = ts->slots[i].hash & (cap - 1);
        while (slots[j].len != 0)
            j = (j + 1) & (cap - 1);
        slots[j] = ts->slots[i];
    }
    free(ts->slots);
    ts->slots = slots;
    ts->cap = cap;
}

/* mnemo_token_fn: counts one occurrence of term. */
static void termset_add(void *ctx, const char *term, size_t len)
{
    termset_t *ts = ctx;
    uint64_t h = hash_bytes(term, len);
    size_t i = h & (ts->cap - 1);
    ts->total++;
    for (; ts->slots[i].len != 0; i = (i + 1) & (ts->cap - 1)) {
        term_t *t = &ts->slots[i];
        if (t->hash == h && t->len == len && memcmp(ts->arena + t->off, term, len) == 0) {
            t->tf++;
            return;
        }
    }
    if (ts->arena_len + len > ts->arena_cap) {
        while (ts->arena_len + len > ts->arena_cap)
            ts->arena_cap *= 2;
        ts->arena = mnemo_xrealloc(ts->arena, ts->arena_cap);
    }
    memcpy(ts->arena + ts->arena_len, term, len);
    ts->slots[i] =
        (term_t){.hash = h, .off = (uint32_t)ts->arena_len, .len = (uint32_t)len, .tf = 1};
    ts->arena_len += len;
    if (++ts->count * 2 > ts->cap)
        termset_grow(ts);
}

/* ---- keys and stats ---- */

/* Writes ns 'p' term '\0' into key; returns its length. */
static size_t term_prefix(char *key, char ns, const char *term, size_t tlen)
{
    key[0] = ns;
    key[1] = 'p';
    memcpy(key + 2, term, tlen);
    key[2 + tlen] = '\0';
    return 3 + tlen;
}

static void put_stats(mnemo_index_t *index, mnemo_store_batch_t *batch)
{
    char key[2] = {index->ns, 's'};
    uint8_t val[2 * MNEMO_VARINT_MAX];
    size_t n = mnemo_varint_put(val, atomic_load(&index->docs));
    n += mnemo_varint_put(val + n, atomic_load(&index->total_len));
    mnemo_store_batch_put(batch, key, sizeof key, val, n);
}

static mnemo_status_t load_stats(mnemo_index_t *index, mnemo_err_t *err)
{
    char key[2] = {index->ns, 's'};
    char *val = NULL;
    size_t vlen = 0;
    mnemo_status_t st = mnemo_store_get(index->store, key, sizeof key, &val, &vlen, err);
    if (st == MNEMO_ENOTFOUND)
        return MNEMO_OK;
    if (st != MNEMO_OK)
        return st;
    mnemo_reader_t r;
    mnemo_reader_init(&r, val, vlen);
    uint64_t docs = mnemo_read_varint(&r);
    uint64_t total = mnemo_read_varint(&r);
    bool ok = mnemo_reader_done(&r);
    free(val);
    if (!ok)
        return mnemo_err_set(err, MNEMO_ECORRUPT, "index '%c': malformed stats record", index->ns);
    atomic_store(&index->docs, docs);
    atomic_store(&index->total_len, total);
    return MNEMO_OK;
}

mnemo_status_t mnemo_index_open(mnemo_index_t **out, mnemo_store_t *store, char ns,
                                mnemo_err_t *err)
{
    mnemo_index_t *index = mnemo_xcalloc(1, sizeof *index);
    index->store = store;
    index->ns = ns;
    atomic_init(&index->docs, 0);
    atomic_init(&index->total_len, 0);
    mnemo_status_t st = load_stats(index, err);
    if (st != MNEMO_OK) {
        free(index);
        return st;
    }
    *out = index;
    return MNEMO_OK;
}

void mnemo_index_close(mnemo_index_t *index)
{
    free(index);
}

uint64_t mnemo_index_doc_count(const mnemo_index_t *index)
{
    /* C11's atomic_load takes a non-const pointer (fixed in C17). */
    return atomic_load(&((mnemo_index_t *)index)->docs);
}

/* ---- add / remove ---- */

/* Records into batch a put (put=true) or a delete of the posting of every
 * term of ts for doc_id. */
static void write_postings(mnemo_index_t *index, mnemo_store_batch_t *batch, const termset_t *ts,
                           const void *doc_id, size_t id_len, bool put)
{
    char key[POSTING_KEY_MAX];
    uint8_t val[2 * MNEMO_VARINT_MAX];
    uint8_t dl[MNEMO_VARINT_MAX];
    size_t dl_len = mnemo_varint_put(dl, ts->total);
    for (size_t i = 0; i < ts->cap; i++) {
        const term_t *t = &ts->slots[i];
        if (t->len == 0)
            continue;
        size_t klen = term_prefix(key, index->ns, ts->arena + t->off, t->len);
        memcpy(key + klen, doc_id, id_len);
        klen += id_len;
        if (put) {
            size_t n = mnemo_varint_put(val, t->tf);
            memcpy(val + n, dl, dl_len);
            mnemo_store_batch_put(batch, key, klen, val, n + dl_len);
        } else {
            mnemo_store_batch_delete(batch, key, klen);
        }
    }
}

size_t mnemo_index_add(mnemo_index_t *index, mnemo_store_batch_t *batch, const void *doc_id,
                       size_t id_len, const char *text, size_t len)
{
    assert(id_len >= 1 && id_len <= MNEMO_INDEX_MAX_ID);
    termset_t ts;
    termset_init(&ts);
    mnemo_tokenize(text, len, termset_add, &ts);
    write_postings(index, batch, &ts, doc_id, id_len, true);
    atomic_fetch_add(&index->docs, 1);
    atomic_fetch_add(&index->total_len, ts.total);
    put_stats(index, batch);
    size_t total = ts.total;
    termset_cleanup(&ts);
    return total;
}

void mnemo_index_remove(mnemo_index_t *index, mnemo_store_batch_t *batch, const void *doc_id,
                        size_t id_len, const char *text, size_t len)
{
    assert(id_len >= 1 && id_len <= MNEMO_INDEX_MAX_ID);
    termset_t ts;
    termset_init(&ts);
    mnemo_tokenize(text, len, termset_add, &ts);
    write_postings(index, batch, &ts, doc_id, id_len, false);
    atomic_sub_floor(&index->docs, 1);
    atomic_sub_floor(&index->total_len, ts.total);
    put_stats(index, batch);
    termset_cleanup(&ts);
}

/* ---- search ---- */

typedef struct doc {
    uint64_t hash;
    double score;
    bool pass; /* the filter's verdict */
    uint8_t id_len;
    uint8_t id[MNEMO_INDEX_MAX_ID];
} doc_t;

typedef struct pending {
    uint32_t doc; /* index into docs */
    double weight;
} pending_t;

typedef struct search {
    mnemo_index_t *index;
    mnemo_store_iter_t *it; /* one per query, reused for every term */
    double n_docs, avgdl;
    mnemo_index_filter_fn filter;
    void *ctx;
    doc_t *docs; /* dense, in first-seen order */
    size_t ndocs, docs_cap;
    uint32_t *slots; /* docmap: 0 empty, else index into docs + 1 */
    size_t slots_cap;
    pending_t *pending; /* postings of the current term */
    size_t npending, pending_cap;
} search_t;

static void docmap_grow(search_t *s)
{
    size_t cap = s->slots_cap * 2;
    uint32_t *slots = mnemo_xcalloc(cap, sizeof *slots);
    for (size_t d = 0; d < s->ndocs; d++) {
        size_t j = s->docs[d].hash & (cap - 1);
        while (slots[j] != 0)
            j = (j + 1) & (cap - 1);
        slots[j] = (uint32_t)(d + 1);
    }
    free(s->slots);
    s->slots = slots;
    s->slots_cap = cap;
}

/* Index of doc id in s->docs, adding it (and asking the filter) if new. */
static uint32_t docmap_get(search_t *s, const void *id, size_t id_len)
{
    uint64_t h = hash_bytes(id, id_len);
    size_t i = h & (s->slots_cap - 1);
    for (; s->slots[i] != 0; i = (i + 1) & (s->slots_cap - 1)) {
        doc_t *d = &s->docs[s->slots[i] - 1];
        if (d->hash == h && d->id_len == id_len && memcmp(d->id, id, id_len) == 0)
            return s->slots[i] - 1;
    }
    if (s->ndocs == s->docs_cap) {
        s->docs_cap = s->docs_cap != 0 ? s->docs_cap * 2 : 256;
        s->docs = mnemo_xrealloc(s->docs, s->docs_cap * sizeof *s->docs);
    }
    uint32_t n = (uint32_t)s->ndocs++;
    doc_t *d = &s->docs[n];
    d->hash = h;
    d->score = 0;
    d->id_len = (uint8_t)id_len;
    memcpy(d->id, id, id_len);
    d->pass = s->filter == NULL || s->filter(s->ctx, id, id_len);
    s->slots[i] = n + 1;
    if (s->ndocs * 2 > s->slots_cap)
        docmap_grow(s);
    return n;
}

static void pending_push(search_t *s, uint32_t doc, double weight)
{
    if (s->npending == s->pending_cap) {
        s->pending_cap = s->pending_cap != 0 ? s->pending_cap * 2 : 256;
        s->pending = mnemo_xrealloc(s->pending, s->pending_cap * sizeof *s->pending);
    }
    s->pending[s->npending++] = (pending_t){doc, weight};
}

/* Records the BM25 term weight of one posting (key after the prefix is the
 * doc id); false when the posting is malformed. */
static bool score_posting(search_t *s, const char *id, size_t id_len, const char *val, size_t vlen)
{
    if (id_len == 0 || id_len > MNEMO_INDEX_MAX_ID)
        return false;
    uint32_t d = docmap_get(s, id, id_len);
    if (!s->docs[d].pass)
        return true;
    mnemo_reader_t r;
    mnemo_reader_init(&r, val, vlen);
    uint64_t tf = mnemo_read_varint(&r);
    uint64_t dl = mnemo_read_varint(&r);
    if (!r.ok)
        return false;
    double norm = BM25_K1 * (1.0 - BM25_B + BM25_B * (double)dl / s->avgdl);
    pending_push(s, d, (double)tf * (BM25_K1 + 1.0) / ((double)tf + norm));
    return true;
}

/* Walks the postings of one term and adds its BM25 share to each document. */
static mnemo_status_t score_term(search_t *s, const char *term, size_t tlen, mnemo_err_t *err)
{
    char prefix[POSTING_KEY_MAX];
    size_t plen = term_prefix(prefix, s->index->ns, term, tlen);
    size_t df = 0;
    s->npending = 0;
    for (mnemo_store_iter_seek(s->it, prefix, plen); mnemo_store_iter_valid(s->it);
         mnemo_store_iter_next(s->it)) {
        size_t klen, vlen;
        const char *key = mnemo_store_iter_key(s->it, &klen);
        if (klen < plen || memcmp(key, prefix, plen) != 0)
            break;
        const char *val = mnemo_store_iter_value(s->it, &vlen);
        if (!score_posting(s, key + plen, klen - plen, val, vlen))
            return mnemo_err_set(err, MNEMO_ECORRUPT, "index '%c': malformed posting of '%.*s'",
                                 s->index->ns, (int)tlen, term);
        df++;
    }
    mnemo_status_t st = mnemo_store_iter_status(s->it, err);
    if (st != MNEMO_OK)
        return st;
    /* Stats may lag the postings after a crash: never let N fall below df. */
    double n = s->n_docs > (double)df ? s->n_docs : (double)df;
    double idf = log(1.0 + (n - (double)df + 0.5) / ((double)df + 0.5));
    for (size_t i = 0; i < s->npending; i++)
        s->docs[s->pending[i].doc].score += idf * s->pending[i].weight;
    return MNEMO_OK;
}

/* True when a ranks below b: lower score, or same score and larger id. */
static bool ranks_below(const doc_t *a, const doc_t *b)
{
    if (a->score != b->score)
        return a->score < b->score;
    size_t n = a->id_len < b->id_len ? a->id_len : b->id_len;
    int c = memcmp(a->id, b->id, n);
    return c != 0 ? c > 0 : a->id_len > b->id_len;
}

/* Restores the min-heap (root = lowest ranked) below position i. */
static void heap_down(const doc_t *docs, uint32_t *heap, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && ranks_below(&docs[heap[l]], &docs[heap[m]]))
            m = l;
        if (r < n && ranks_below(&docs[heap[r]], &docs[heap[m]]))
            m = r;
        if (m == i)
            return;
        uint32_t t = heap[i];
        heap[i] = heap[m];
        heap[m] = t;
        i = m;
    }
}

static void heap_up(const doc_t *docs, uint32_t *heap, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!ranks_below(&docs[heap[i]], &docs[heap[parent]]))
            return;
        uint32_t t = heap[i];
        heap[i] = heap[parent];
        heap[parent] = t;
        i = parent;
    }
}

/* Keeps the best limit passing documents with score >= min_score in a
 * min-heap, then writes them best first into a new array. */
static size_t select_top(const search_t *s, mnemo_index_hit_t **hits, size_t limit,
                         double min_score)
{
    size_t k = limit < s->ndocs ? limit : s->ndocs, n = 0;
    uint32_t *heap = mnemo_xrealloc(NULL, k * sizeof *heap);
    for (uint32_t d = 0; d < s->ndocs; d++) {
        const doc_t *doc = &s->docs[d];
        if (!doc->pass || doc->score < min_score)
            continue;
        if (n < k) {
            heap[n] = d;
            heap_up(s->docs, heap, n++);
        } else if (k > 0 && ranks_below(&s->docs[heap[0]], doc)) {
            heap[0] = d;
            heap_down(s->docs, heap, n, 0);
        }
    }
    *hits = n > 0 ? mnemo_xrealloc(NULL, n * sizeof **hits) : NULL;
    for (size_t left = n; left > 0; left--) {
        const doc_t *doc = &s->docs[heap[0]];
        mnemo_index_hit_t *hit = &(*hits)[left - 1];
        memcpy(hit->id, doc->id, doc->id_len);
        hit->id_len = doc->id_len;
        hit->score = doc->score;
        heap[0] = heap[left - 1];
        heap_down(s->docs, heap, left - 1, 0);
    }
    free(heap);
    return n;
}

static void search_init(search_t *s, mnemo_index_t *index, mnemo_index_filter_fn filter, void *ctx)
{
    memset(s, 0, sizeof *s);
    s->index = index;
    s->filter = filter;
    s->ctx = ctx;
    uint64_t docs = atomic_load(&index->docs), total = atomic_load(&index->total_len);
    s->n_docs = (double)docs;
    s->avgdl = docs > 0 && total > 0 ? (double)total / (double)docs : 1.0;
    s->slots_cap = 1024;
    s->slots = mnemo_xcalloc(s->slots_cap, sizeof *s->slots);
    s->it = mnemo_store_iter_create(index->store);
}

static void search_cleanup(search_t *s)
{
    mnemo_store_iter_destroy(s->it);
    free(s->docs);
    free(s->slots);
    free(s->pending);
}

mnemo_status_t mnemo_index_search(mnemo_index_t *index, mnemo_index_hit_t **hits, size_t *count,
                                  const char *query, size_t qlen, size_t limit, double min_score,
                                  mnemo_index_filter_fn filter, void *ctx, mnemo_err_t *err)
{
    termset_t terms;
    termset_init(&terms);
    mnemo_tokenize(query, qlen, termset_add, &terms);
    if (terms.count == 0 || limit == 0) {
        termset_cleanup(&terms);
        *hits = NULL;
        *count = 0;
        return MNEMO_OK;
    }
    search_t s;
    search_init(&s, index, filter, ctx);
    mnemo_status_t st = MNEMO_OK;
    for (size_t i = 0; i < terms.cap && st == MNEMO_OK; i++) {
        const term_t *t = &terms.slots[i];
        if (t->len != 0)
            st = score_term(&s, terms.arena + t->off, t->len, err);
    }
    if (st == MNEMO_OK)
        *count = select_top(&s, hits, limit, min_score);
    search_cleanup(&s);
    termset_cleanup(&terms);
    return st;
}
