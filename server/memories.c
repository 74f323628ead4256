/* memories.c - the memory store: records, tag and time indexes, BM25
 * retrieval and signed page tokens, over store.h and index.h.
 *
 * DESIGN: the key layout is the one in memories.h. A record ('m' id32) is
 *   u8 version (1) | varint created | varint updated | str content |
 *   str memory_type | varint n_tags, str tag... |
 *   varint n_metadata, (str key, str value)...
 * where str = varint length + bytes; a record that does not decode exactly is
 * MNEMO_ECORRUPT. A put or delete of one id runs under one of N_STRIPES
 * mutexes chosen by the id's first byte: read 'm', decide, then write the
 * record, its 't' and 'g' keys, the index postings and the stripe's count in
 * ONE batch. The memory count is kept per stripe ('S' "count" stripe-byte ->
 * be64), so each count key is only ever written under its stripe's mutex and
 * commit order cannot make a persisted count go stale; the total is their
 * sum, kept in an atomic.
 *
 * Listing merges reverse scans: of 't' without tags, of each tag's 'g'
 * prefix otherwise (one memory has the same position - be64 created + id32 -
 * under every tag, so equal positions are one memory). A page token
 * (pagetoken.h, purpose MNEMO_PAGETOKEN_MEMORIES) holds the last position
 * of its page and is bound to the sorted tag filter, each tag with its NUL.
 * Retrieval restricts the BM25 ranking to the ids found under the tags (a
 * sorted array searched by the index filter). No query scans every memory.
 *
 * Threads: every function may be called from any thread; writers of one id
 * serialise on its stripe, readers take no lock.
 */
#include "memories.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "defaults.h"
#include "hash.h"
#include "index.h"
#include "pagetoken.h"

#define ID_LEN         MNEMO_SHA256_LEN
#define POS_LEN        (8 + ID_LEN) /* be64 created + id32 */
#define N_STRIPES      64
#define RECORD_VERSION 1
#define INDEX_NS       'M'

_Static_assert(MNEMO_MEMORY_ID_LEN == MNEMO_SHA256_HEX_LEN, "an id is the hex SHA-256");
_Static_assert(POS_LEN <= MNEMO_PAGETOKEN_MAX_POS, "a position fits in a page token");
_Static_assert(MNEMO_PAGETOKEN_MAX_LEN + 16 <= MNEMO_MEMORY_LIST_RESERVE,
               "a reply's reserve holds a page token and a flag");

static const char count_key_name[] = "Scount"; /* followed by one stripe byte */

struct mnemo_memories {
    mnemo_store_t *store;
    mnemo_index_t *index;
    bool sync_writes;
    size_t budget; /* for a result's items; 0: none (max_result_bytes) */
    mnemo_pagetoken_key_t token_key;
    pthread_mutex_t stripes[N_STRIPES];
    uint64_t stripe_count[N_STRIPES]; /* [i] guarded by stripes[i] */
    atomic_uint_least64_t total;      /* sum of stripe_count */
};

/* ---- records ---- */

static mnemo_memory_t *memory_new(const uint8_t id32[ID_LEN])
{
    mnemo_memory_t *m = mnemo_xcalloc(1, sizeof *m);
    mnemo_hex_encode(m->id, id32, ID_LEN);
    return m;
}

static void record_encode(mnemo_buf_t *b, const mnemo_memory_t *m)
{
    mnemo_buf_byte(b, RECORD_VERSION);
    mnemo_buf_varint(b, (uint64_t)m->created_at_ms);
    mnemo_buf_varint(b, (uint64_t)m->updated_at_ms);
    mnemo_buf_str(b, m->content, m->content_len);
    mnemo_buf_str(b, m->memory_type, strlen(m->memory_type));
    mnemo_buf_varint(b, m->n_tags);
    for (size_t i = 0; i < m->n_tags; i++)
        mnemo_buf_str(b, m->tags[i], strlen(m->tags[i]));
    mnemo_buf_varint(b, m->n_metadata);
    for (size_t i = 0; i < m->n_metadata; i++) {
        mnemo_buf_str(b, m->metadata[i].key, strlen(m->metadata[i].key));
        mnemo_buf_str(b, m->metadata[i].value, strlen(m->metadata[i].value));
    }
}

static mnemo_status_t record_decode(mnemo_memory_t **out, const uint8_t id32[ID_LEN],
                                    const char *val, size_t vlen, mnemo_err_t *err)
{
    mnemo_reader_t r;
    mnemo_reader_init(&r, val, vlen);
    mnemo_memory_t *m = memory_new(id32);
    if (mnemo_read_byte(&r) != RECORD_VERSION)
        r.ok = false;
    m->created_at_ms = (int64_t)mnemo_read_varint(&r);
    m->updated_at_ms = (int64_t)mnemo_read_varint(&r);
    m->content = mnemo_read_strdup(&r, &m->content_len);
    m->memory_type = mnemo_read_strdup(&r, NULL);
    size_t nt = mnemo_read_count(&r);
    m->tags = mnemo_xcalloc(nt, sizeof *m->tags);
    for (; r.ok && m->n_tags < nt; m->n_tags++)
        m->tags[m->n_tags] = mnemo_read_strdup(&r, NULL);
    size_t nm = mnemo_read_count(&r);
    m->metadata = mnemo_xcalloc(nm, sizeof *m->metadata);
    for (; r.ok && m->n_metadata < nm; m->n_metadata++) {
        m->metadata[m->n_metadata].key = mnemo_read_strdup(&r, NULL);
        m->metadata[m->n_metadata].value = mnemo_read_strdup(&r, NULL);
    }
    if (!r.ok || r.p != r.end) {
        mnemo_status_t st = mnemo_err_set(err, MNEMO_ECORRUPT, "memory %s: corrupt record", m->id);
        mnemo_memory_destroy(m);
        return st;
    }
    /* The id is the content's SHA-256: a record that decodes but whose
     * content no longer hashes to its id was damaged (on disk, or by a
     * bug), and is never returned as that memory. */
    uint8_t hash[MNEMO_SHA256_LEN];
    mnemo_sha256(m->content, m->content_len, hash);
    if (memcmp(hash, id32, ID_LEN) != 0) {
        mnemo_status_t st = mnemo_err_set(err, MNEMO_ECORRUPT,
                                          "memory %s: stored content does not hash to its id "
                                          "(damaged data)",
                                          m->id);
        mnemo_memory_destroy(m);
        return st;
    }
    *out = m;
    return MNEMO_OK;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_kv(const void *a, const void *b)
{
    return strcmp(((const mnemo_kv_t *)a)->key, ((const mnemo_kv_t *)b)->key);
}

/* Adds the tags m lacks and keeps m->tags sorted. The added tags (pointers
 * into m) go to *added when not NULL (the caller frees the array). */
static size_t merge_tags(mnemo_memory_t *m, const char *const *tags, size_t n, char ***added)
{
    m->tags = mnemo_xrealloc(m->tags, (m->n_tags + n) * sizeof *m->tags);
    char **fresh = mnemo_xcalloc(n, sizeof *fresh);
    size_t n_fresh = 0;
    for (size_t i = 0; i < n; i++) {
        assert(tags[i] != NULL);
        bool present = false;
        for (size_t j = 0; j < m->n_tags && !present; j++)
            present = strcmp(m->tags[j], tags[i]) == 0;
        if (!present) {
            m->tags[m->n_tags] = mnemo_xstrdup(tags[i]);
            fresh[n_fresh++] = m->tags[m->n_tags++];
        }
    }
    qsort(m->tags, m->n_tags, sizeof *m->tags, cmp_str_ptr);
    if (added != NULL)
        *added = fresh;
    else
        free(fresh);
    return n_fresh;
}

/* Adds the metadata keys m lacks; among the input, the last value of a
 * repeated key wins. Keeps m->metadata sorted by key. */
static void merge_metadata(mnemo_memory_t *m, const mnemo_memory_input_t *in)
{
    size_t n0 = m->n_metadata; /* entries that existed before: never replaced */
    m->metadata = mnemo_xrealloc(m->metadata, (n0 + in->n_metadata) * sizeof *m->metadata);
    for (size_t i = 0; i < in->n_metadata; i++) {
        const char *k = in->meta_keys[i], *v = in->meta_values[i];
        size_t j = 0;
        while (j < m->n_metadata && strcmp(m->metadata[j].key, k) != 0)
            j++;
        if (j < n0)
            continue;
        if (j < m->n_metadata) {
            free(m->metadata[j].value);
        } else {
            m->metadata[j].key = mnemo_xstrdup(k);
            m->n_metadata++;
        }
        m->metadata[j].value = mnemo_xstrdup(v);
    }
    qsort(m->metadata, m->n_metadata, sizeof *m->metadata, cmp_kv);
}

static mnemo_memory_t *memory_from_input(const mnemo_memory_input_t *in, const uint8_t id32[ID_LEN],
                                         int64_t now_ms)
{
    mnemo_memory_t *m = memory_new(id32);
    m->content = mnemo_xstrndup(in->content, in->content_len);
    m->content_len = in->content_len;
    const char *type = in->memory_type != NULL ? in->memory_type : "";
    m->memory_type = mnemo_xstrdup(type);
    m->created_at_ms = now_ms;
    m->updated_at_ms = now_ms;
    merge_tags(m, in->tags, in->n_tags, NULL);
    merge_metadata(m, in);
    return m;
}

/* ---- keys ---- */

static void make_position(uint8_t pos[POS_LEN], int64_t created_ms, const uint8_t id32[ID_LEN])
{
    mnemo_put_be64(pos, (uint64_t)created_ms);
    memcpy(pos + 8, id32, ID_LEN);
}

static void make_record_key(uint8_t key[1 + ID_LEN], const uint8_t id32[ID_LEN])
{
    key[0] = 'm';
    memcpy(key + 1, id32, ID_LEN);
}

/* 'g' tag '\0' [pos] into b (reset first); pos may be NULL for the prefix. */
static void make_tag_key(mnemo_buf_t *b, const char *tag, const uint8_t *pos)
{
    b->len = 0;
    mnemo_buf_byte(b, 'g');
    mnemo_buf_add(b, tag, strlen(tag) + 1);
    if (pos != NULL)
        mnemo_buf_add(b, pos, POS_LEN);
}

static void stage_record(mnemo_store_batch_t *batch, const mnemo_memory_t *m,
                         const uint8_t id32[ID_LEN])
{
    uint8_t key[1 + ID_LEN];
    make_record_key(key, id32);
    mnemo_buf_t val = {0};
    record_encode(&val, m);
    mnemo_store_batch_put(batch, key, sizeof key, val.p, val.len);
    mnemo_buf_cleanup(&val);
}

/* Puts (or deletes) the 't' key and the 'g' keys of tags at position pos. */
static void stage_positions(mnemo_store_batch_t *batch, const uint8_t pos[POS_LEN], bool with_t,
                            char *const *tags, size_t n_tags, bool put)
{
    mnemo_buf_t key = {0};
    if (with_t) {
        mnemo_buf_byte(&key, 't');
        mnemo_buf_add(&key, pos, POS_LEN);
        if (put)
            mnemo_store_batch_put(batch, key.p, key.len, "", 0);
        else
            mnemo_store_batch_delete(batch, key.p, key.len);
    }
    for (size_t i = 0; i < n_tags; i++) {
        make_tag_key(&key, tags[i], pos);
        if (put)
            mnemo_store_batch_put(batch, key.p, key.len, "", 0);
        else
            mnemo_store_batch_delete(batch, key.p, key.len);
    }
    mnemo_buf_cleanup(&key);
}

static void stage_count(mnemo_store_batch_t *batch, unsigned stripe, uint64_t value)
{
    uint8_t key[sizeof count_key_name]; /* name without its NUL + stripe byte */
    memcpy(key, count_key_name, sizeof count_key_name - 1);
    key[sizeof key - 1] = (uint8_t)stripe;
    uint8_t val[8];
    mnemo_put_be64(val, value);
    mnemo_store_batch_put(batch, key, sizeof key, val, sizeof val);
}

/* ---- open and close ---- */

static mnemo_status_t load_counts(mnemo_memories_t *mem, mnemo_err_t *err)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < N_STRIPES; i++) {
        uint8_t key[sizeof count_key_name];
        memcpy(key, count_key_name, sizeof count_key_name - 1);
        key[sizeof key - 1] = (uint8_t)i;
        char *val = NULL;
        size_t vlen = 0;
        mnemo_status_t st = mnemo_store_get(mem->store, key, sizeof key, &val, &vlen, err);
        if (st == MNEMO_ENOTFOUND)
            continue;
        if (st != MNEMO_OK)
            return st;
        if (vlen == 8)
            mem->stripe_count[i] = mnemo_get_be64((const uint8_t *)val);
        free(val);
        if (vlen != 8)
            return mnemo_err_set(err, MNEMO_ECORRUPT, "memory count %u: bad length", i);
        total += mem->stripe_count[i];
    }
    atomic_store(&mem->total, total);
    return MNEMO_OK;
}

void mnemo_memories_store_options(mnemo_store_options_t *opts)
{
    opts->uncompressed = true;
}

mnemo_status_t mnemo_memories_open(mnemo_memories_t **out, mnemo_store_t *store,
                                   const mnemo_memories_options_t *opts, mnemo_err_t *err)
{
    assert(out != NULL && store != NULL);
    mnemo_memories_t *mem = mnemo_xcalloc(1, sizeof *mem);
    mem->store = store;
    mem->sync_writes = opts != NULL ? opts->sync_writes : true;
    if (opts != NULL && opts->max_result_bytes != 0)
        mem->budget = opts->max_result_bytes > MNEMO_MEMORY_LIST_RESERVE
                          ? opts->max_result_bytes - MNEMO_MEMORY_LIST_RESERVE
                          : 1;
    atomic_init(&mem->total, 0);
    for (size_t i = 0; i < N_STRIPES; i++)
        pthread_mutex_init(&mem->stripes[i], NULL);
    mnemo_status_t st = mnemo_index_open(&mem->index, store, INDEX_NS, ID_LEN, err);
    if (st == MNEMO_OK)
        mnemo_index_start(mem->index);
    if (st == MNEMO_OK)
        st = mnemo_pagetoken_key_load(&mem->token_key, store, err);
    if (st == MNEMO_OK)
        st = load_counts(mem, err);
    if (st != MNEMO_OK) {
        mnemo_memories_close(mem);
        return st;
    }
    *out = mem;
    return MNEMO_OK;
}

void mnemo_memories_close(mnemo_memories_t *mem)
{
    if (mem == NULL)
        return;
    mnemo_index_close(mem->index);
    for (size_t i = 0; i < N_STRIPES; i++)
        pthread_mutex_destroy(&mem->stripes[i]);
    free(mem);
}

/* ---- put, get, delete ---- */

static mnemo_status_t load_memory(mnemo_memories_t *mem, mnemo_memory_t **out,
                                  const uint8_t id32[ID_LEN], mnemo_err_t *err)
{
    uint8_t key[1 + ID_LEN];
    make_record_key(key, id32);
    char *val = NULL;
    size_t vlen = 0;
    mnemo_status_t st = mnemo_store_get(mem->store, key, sizeof key, &val, &vlen, err);
    if (st == MNEMO_ENOTFOUND) {
        char hex[MNEMO_MEMORY_ID_LEN + 1];
        mnemo_hex_encode(hex, id32, ID_LEN);
        return mnemo_err_set(err, MNEMO_ENOTFOUND, "memory %s not found", hex);
    }
    if (st != MNEMO_OK)
        return st;
    mnemo_err_t local;
    st = record_decode(out, id32, val, vlen, &local);
    free(val);
    if (st == MNEMO_ECORRUPT)
        mnemo_store_report_damage(mem->store, local.msg);
    if (st != MNEMO_OK && err != NULL)
        *err = local;
    return st;
}

/* Ids have one spelling, the lowercase hex that StoreMemory returns: an
 * uppercase id is refused rather than silently folded, so that ids compare
 * equal as strings in every client. */
static mnemo_status_t parse_id(uint8_t id32[ID_LEN], const char *id, mnemo_err_t *err)
{
    size_t len = id != NULL ? strlen(id) : 0;
    if (len != MNEMO_MEMORY_ID_LEN || strspn(id, "0123456789abcdef") != len ||
        !mnemo_hex_decode(id32, ID_LEN, id, len))
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "id: must be %d lowercase hex digits (the SHA-256 of the content), "
                             "got %zu characters",
                             MNEMO_MEMORY_ID_LEN, len);
    return MNEMO_OK;
}

/* Records a new memory: record, 't' and 'g' keys, postings, stripe count. */
static mnemo_status_t stage_create(mnemo_memories_t *mem, mnemo_store_batch_t *batch,
                                   const mnemo_memory_t *m, const uint8_t id32[ID_LEN],
                                   unsigned stripe, mnemo_err_t *err)
{
    uint8_t pos[POS_LEN];
    make_position(pos, m->created_at_ms, id32);
    stage_record(batch, m, id32);
    stage_positions(batch, pos, true, m->tags, m->n_tags, true);
    stage_count(batch, stripe, mem->stripe_count[stripe] + 1);
    return mnemo_index_add(mem->index, batch, id32, m->content, m->content_len, err);
}

/* Merges in into the existing m and records the new record and 'g' keys. */
static void stage_merge(mnemo_store_batch_t *batch, mnemo_memory_t *m,
                        const mnemo_memory_input_t *in, const uint8_t id32[ID_LEN], int64_t now_ms)
{
    char **added = NULL;
    size_t n_added = merge_tags(m, in->tags, in->n_tags, &added);
    merge_metadata(m, in);
    if (m->memory_type[0] == '\0' && in->memory_type != NULL && in->memory_type[0] != '\0') {
        free(m->memory_type);
        m->memory_type = mnemo_xstrdup(in->memory_type);
    }
    m->updated_at_ms = now_ms;
    uint8_t pos[POS_LEN];
    make_position(pos, m->created_at_ms, id32);
    stage_record(batch, m, id32);
    stage_positions(batch, pos, false, added, n_added, true);
    free(added);
}

mnemo_status_t mnemo_memories_put(mnemo_memories_t *mem, mnemo_memory_t **out, bool *created,
                                  const mnemo_memory_input_t *in, int64_t now_ms, mnemo_err_t *err)
{
    assert(mem != NULL && out != NULL && created != NULL && in != NULL);
    assert(in->content != NULL && in->content_len > 0);
    uint8_t id32[ID_LEN];
    mnemo_sha256(in->content, in->content_len, id32);
    unsigned stripe = id32[0] % N_STRIPES;
    mnemo_memory_t *m = NULL;
    mnemo_store_batch_t *batch = mnemo_store_batch_create();

    pthread_mutex_lock(&mem->stripes[stripe]);
    mnemo_status_t st = load_memory(mem, &m, id32, err);
    bool is_new = st == MNEMO_ENOTFOUND;
    if (st == MNEMO_OK) {
        stage_merge(batch, m, in, id32, now_ms);
    } else if (is_new) {
        m = memory_from_input(in, id32, now_ms);
        st = stage_create(mem, batch, m, id32, stripe, err);
    }
    if (st == MNEMO_OK)
        st = mnemo_store_write(mem->store, batch, mem->sync_writes, err);
    if (st == MNEMO_OK && is_new) {
        mem->stripe_count[stripe]++;
        atomic_fetch_add(&mem->total, 1);
    }
    pthread_mutex_unlock(&mem->stripes[stripe]);
    mnemo_store_batch_destroy(batch);
    if (st != MNEMO_OK) {
        mnemo_memory_destroy(m);
        return st;
    }
    *out = m;
    *created = is_new;
    return MNEMO_OK;
}

mnemo_status_t mnemo_memories_get(mnemo_memories_t *mem, mnemo_memory_t **out, const char *id,
                                  mnemo_err_t *err)
{
    assert(mem != NULL && out != NULL);
    uint8_t id32[ID_LEN];
    mnemo_status_t st = parse_id(id32, id, err);
    if (st != MNEMO_OK)
        return st;
    return load_memory(mem, out, id32, err);
}

mnemo_status_t mnemo_memories_delete(mnemo_memories_t *mem, bool *deleted, const char *id,
                                     mnemo_err_t *err)
{
    assert(mem != NULL && deleted != NULL);
    uint8_t id32[ID_LEN];
    mnemo_status_t st = parse_id(id32, id, err);
    if (st != MNEMO_OK)
        return st;
    unsigned stripe = id32[0] % N_STRIPES;
    mnemo_memory_t *m = NULL;
    mnemo_store_batch_t *batch = mnemo_store_batch_create();
    bool gone = false;

    pthread_mutex_lock(&mem->stripes[stripe]);
    st = load_memory(mem, &m, id32, err);
    if (st != MNEMO_OK)
        goto done;
    uint8_t key[1 + ID_LEN], pos[POS_LEN];
    make_record_key(key, id32);
    make_position(pos, m->created_at_ms, id32);
    mnemo_store_batch_delete(batch, key, sizeof key);
    stage_positions(batch, pos, true, m->tags, m->n_tags, false);
    mnemo_index_remove(mem->index, batch, id32);
    if (mem->stripe_count[stripe] > 0)
        stage_count(batch, stripe, mem->stripe_count[stripe] - 1);
    st = mnemo_store_write(mem->store, batch, mem->sync_writes, err);
    if (st == MNEMO_OK) {
        if (mem->stripe_count[stripe] > 0) {
            mem->stripe_count[stripe]--;
            atomic_fetch_sub(&mem->total, 1);
        }
        gone = true;
    }
done:
    pthread_mutex_unlock(&mem->stripes[stripe]);
    mnemo_store_batch_destroy(batch);
    mnemo_memory_destroy(m);
    if (st == MNEMO_ENOTFOUND)
        st = MNEMO_OK; /* idempotent */
    if (st == MNEMO_OK)
        *deleted = gone;
    return st;
}

uint64_t mnemo_memories_count(const mnemo_memories_t *mem)
{
    return atomic_load(&mem->total);
}

uint64_t mnemo_memories_index_bytes(mnemo_memories_t *mem)
{
    return mnemo_index_memory_bytes(mem->index);
}

/* ---- tag filters and page tokens ---- */

/* The sorted, de-duplicated tag filter (the caller frees the array only). */
static const char **sorted_tags(const char *const *tags, size_t n, size_t *n_out)
{
    const char **s = mnemo_xcalloc(n, sizeof *s);
    for (size_t i = 0; i < n; i++) {
        assert(tags[i] != NULL);
        s[i] = tags[i];
    }
    qsort(s, n, sizeof *s, cmp_str_ptr);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || strcmp(s[u - 1], s[i]) != 0)
            s[u++] = s[i];
    *n_out = u;
    return s;
}

/* What a token is bound to: the sorted filter, each tag with its NUL (so
 * that no two filters give the same bytes). The caller cleans b up. */
static void token_binding(mnemo_buf_t *b, const char **tags, size_t n_tags)
{
    for (size_t i = 0; i < n_tags; i++)
        mnemo_buf_add(b, tags[i], strlen(tags[i]) + 1);
}

static char *token_encode(const mnemo_memories_t *mem, const uint8_t pos[POS_LEN],
                          const char **tags, size_t n_tags)
{
    mnemo_buf_t binding = {0};
    token_binding(&binding, tags, n_tags);
    char *token = mnemo_pagetoken_encode(&mem->token_key, MNEMO_PAGETOKEN_MEMORIES, pos, POS_LEN,
                                         binding.p, binding.len);
    mnemo_buf_cleanup(&binding);
    return token;
}

static mnemo_status_t token_decode(const mnemo_memories_t *mem, uint8_t pos[POS_LEN],
                                   const char *token, const char **tags, size_t n_tags,
                                   mnemo_err_t *err)
{
    mnemo_buf_t binding = {0};
    token_binding(&binding, tags, n_tags);
    uint8_t raw[MNEMO_PAGETOKEN_MAX_POS];
    size_t n = 0;
    mnemo_status_t st = mnemo_pagetoken_decode(raw, &n, &mem->token_key, MNEMO_PAGETOKEN_MEMORIES,
                                               binding.p, binding.len, token, err);
    mnemo_buf_cleanup(&binding);
    if (st == MNEMO_OK && n != POS_LEN)
        st = mnemo_pagetoken_refuse(err); /* signed, but not a position we issue */
    if (st == MNEMO_OK)
        memcpy(pos, raw, POS_LEN);
    return st;
}

/* ---- merged reverse scans ---- */

/* A reverse scan of one prefix ('t', or 'g' tag '\0'). */
typedef struct cursor {
    mnemo_store_iter_t *it;
    mnemo_buf_t key; /* prefix, then scratch for seeks */
    size_t plen;
    bool valid;
    uint8_t pos[POS_LEN]; /* current position while valid */
} cursor_t;

typedef struct merge {
    cursor_t *c;
    size_t n;
} merge_t;

static void cursor_load(cursor_t *c)
{
    c->valid = false;
    if (!mnemo_store_iter_valid(c->it))
        return;
    size_t klen = 0;
    const char *key = mnemo_store_iter_key(c->it, &klen);
    if (klen != c->plen + POS_LEN || memcmp(key, c->key.p, c->plen) != 0)
        return;
    memcpy(c->pos, key + c->plen, POS_LEN);
    c->valid = true;
}

/* Positions c on its newest entry older than after (NULL: the newest). */
static void cursor_start(cursor_t *c, mnemo_store_t *store, const uint8_t *after)
{
    c->it = mnemo_store_iter_create(store);
    c->key.len = c->plen;
    if (after != NULL) {
        mnemo_buf_add(&c->key, after, POS_LEN);
        mnemo_store_iter_seek_before(c->it, c->key.p, c->key.len);
        c->key.len = c->plen;
    } else {
        c->key.p[c->plen - 1]++; /* 't' -> 'u', '\0' -> '\1': just past the prefix */
        mnemo_store_iter_seek_before(c->it, c->key.p, c->plen);
        c->key.p[c->plen - 1]--;
    }
    cursor_load(c);
}

static void merge_open(merge_t *mg, mnemo_store_t *store, const char **tags, size_t n_tags,
                       const uint8_t *after)
{
    mg->n = n_tags != 0 ? n_tags : 1;
    mg->c = mnemo_xcalloc(mg->n, sizeof *mg->c);
    for (size_t i = 0; i < mg->n; i++) {
        cursor_t *c = &mg->c[i];
        if (n_tags == 0)
            mnemo_buf_byte(&c->key, 't');
        else
            make_tag_key(&c->key, tags[i], NULL);
        c->plen = c->key.len;
        cursor_start(c, store, after);
    }
}

/* The newest position of any cursor into pos; advances every cursor on it
 * (a memory under several tags sits at the same position in each). */
static bool merge_next(merge_t *mg, uint8_t pos[POS_LEN])
{
    const uint8_t *best = NULL;
    for (size_t i = 0; i < mg->n; i++)
        if (mg->c[i].valid && (best == NULL || memcmp(mg->c[i].pos, best, POS_LEN) > 0))
            best = mg->c[i].pos;
    if (best == NULL)
        return false;
    memcpy(pos, best, POS_LEN);
    for (size_t i = 0; i < mg->n; i++) {
        if (mg->c[i].valid && memcmp(mg->c[i].pos, pos, POS_LEN) == 0) {
            mnemo_store_iter_prev(mg->c[i].it);
            cursor_load(&mg->c[i]);
        }
    }
    return true;
}

static bool merge_has_more(const merge_t *mg)
{
    for (size_t i = 0; i < mg->n; i++)
        if (mg->c[i].valid)
            return true;
    return false;
}

/* Closes mg and returns the first scan error, if any. */
static mnemo_status_t merge_close(merge_t *mg, mnemo_err_t *err)
{
    mnemo_status_t st = MNEMO_OK;
    for (size_t i = 0; i < mg->n; i++) {
        if (st == MNEMO_OK)
            st = mnemo_store_iter_status(mg->c[i].it, err);
        mnemo_store_iter_destroy(mg->c[i].it);
        mnemo_buf_cleanup(&mg->c[i].key);
    }
    free(mg->c);
    mg->c = NULL;
    mg->n = 0;
    return st;
}

/* ---- loading pages ---- */

/* Bytes of a string field: tag, a length of up to 5 bytes, the bytes. */
static size_t field_bound(size_t len)
{
    return 1 + 5 + len;
}

size_t mnemo_memory_size_bound(const mnemo_memory_t *m)
{
    size_t n = MNEMO_MEMORY_ENVELOPE_BYTES + field_bound(MNEMO_MEMORY_ID_LEN) +
               field_bound(m->content_len) + 2 * (1 + 10);
    n += field_bound(m->memory_type != NULL ? strlen(m->memory_type) : 0);
    for (size_t i = 0; i < m->n_tags; i++)
        n += field_bound(strlen(m->tags[i]));
    for (size_t i = 0; i < m->n_metadata; i++)
        n += field_bound(field_bound(strlen(m->metadata[i].key)) +
                         field_bound(strlen(m->metadata[i].value)));
    return n;
}

/* Loads the memories at positions into list (skipping ids deleted since the
 * scan) until the byte budget is spent: the first memory always, each next
 * one only while the sum of mnemo_memory_size_bound stays within it.
 * *used (may be NULL) is how many positions were consumed; fewer than n
 * sets list->truncated. scores may be NULL. */
static mnemo_status_t load_list(mnemo_memories_t *mem, mnemo_memory_list_t *list,
                                const uint8_t *ids, size_t stride, size_t n, const double *scores,
                                size_t *used, mnemo_err_t *err)
{
    list->items = mnemo_xcalloc(n, sizeof *list->items);
    list->scores = scores != NULL ? mnemo_xcalloc(n, sizeof *list->scores) : NULL;
    list->count = 0;
    size_t bytes = 0, i = 0;
    for (; i < n; i++) {
        mnemo_memory_t *m = NULL;
        mnemo_status_t st = load_memory(mem, &m, ids + i * stride, err);
        if (st == MNEMO_ENOTFOUND)
            continue;
        if (st != MNEMO_OK)
            return st;
        size_t size = mnemo_memory_size_bound(m);
        if (mem->budget != 0 && list->count > 0 && bytes + size > mem->budget) {
            mnemo_memory_destroy(m);
            list->truncated = true;
            break;
        }
        bytes += size;
        if (scores != NULL)
            list->scores[list->count] = scores[i];
        list->items[list->count++] = m;
    }
    if (used != NULL)
        *used = i;
    return MNEMO_OK;
}

/* Collects up to limit positions of the merged scan into *positions (the
 * caller's), newest first; *more says whether the scan had more. */
static mnemo_status_t collect(merge_t *mg, size_t limit, uint8_t **positions, size_t *n, bool *more,
                              mnemo_err_t *err)
{
    uint8_t *p = mnemo_xcalloc(limit, POS_LEN);
    size_t count = 0;
    while (count < limit && merge_next(mg, p + count * POS_LEN))
        count++;
    *more = merge_has_more(mg);
    mnemo_status_t st = merge_close(mg, err);
    if (st != MNEMO_OK) {
        free(p);
        return st;
    }
    *positions = p;
    *n = count;
    return MNEMO_OK;
}

static mnemo_status_t list_merged(mnemo_memories_t *mem, mnemo_memory_list_t *out,
                                  const char **tags, size_t n_tags, const uint8_t *after,
                                  size_t limit, bool want_token, mnemo_err_t *err)
{
    mnemo_memory_list_t list = {0};
    merge_t mg;
    merge_open(&mg, mem->store, tags, n_tags, after);
    uint8_t *positions = NULL;
    size_t n = 0;
    bool more = false;
    mnemo_status_t st = collect(&mg, limit, &positions, &n, &more, err);
    if (st != MNEMO_OK)
        return st;
    size_t used = 0;
    st = load_list(mem, &list, positions + 8, POS_LEN, n, NULL, &used, err);
    if (st == MNEMO_OK && want_token && (more || used < n) && used > 0)
        list.next_page_token = token_encode(mem, positions + (used - 1) * POS_LEN, tags, n_tags);
    free(positions);
    if (st != MNEMO_OK) {
        mnemo_memory_list_cleanup(&list);
        return st;
    }
    *out = list;
    return MNEMO_OK;
}

mnemo_status_t mnemo_memories_list(mnemo_memories_t *mem, mnemo_memory_list_t *out,
                                   size_t page_size, const char *page_token,
                                   const char *const *tags, size_t n_tags, mnemo_err_t *err)
{
    assert(mem != NULL && out != NULL);
    size_t n_sorted = 0;
    const char **sorted = sorted_tags(tags, n_tags, &n_sorted);
    uint8_t after[POS_LEN];
    bool has_token = page_token != NULL && page_token[0] != '\0';
    mnemo_status_t st = MNEMO_OK;
    if (has_token)
        st = token_decode(mem, after, page_token, sorted, n_sorted, err);
    if (st == MNEMO_OK)
        st = list_merged(mem, out, sorted, n_sorted, has_token ? after : NULL,
                         page_size != 0 ? page_size : MNEMO_DEFAULT_PAGE_SIZE, true, err);
    free(sorted);
    return st;
}

/* ---- retrieval and tag search ---- */

typedef struct id_set {
    uint8_t *ids; /* sorted id32s */
    size_t n;
} id_set_t;

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, ID_LEN);
}

static bool id_set_has(void *ctx, const void *doc_id, size_t id_len)
{
    const id_set_t *set = ctx;
    return id_len == ID_LEN && bsearch(doc_id, set->ids, set->n, ID_LEN, cmp_id) != NULL;
}

/* The ids of every memory under any of tags: a scan of those tags only. */
static mnemo_status_t id_set_build(mnemo_memories_t *mem, id_set_t *set, const char **tags,
                                   size_t n_tags, mnemo_err_t *err)
{
    merge_t mg;
    merge_open(&mg, mem->store, tags, n_tags, NULL);
    mnemo_buf_t ids = {0};
    uint8_t pos[POS_LEN];
    size_t n = 0;
    while (merge_next(&mg, pos)) {
        mnemo_buf_add(&ids, pos + 8, ID_LEN);
        n++;
    }
    mnemo_status_t st = merge_close(&mg, err);
    if (st != MNEMO_OK) {
        mnemo_buf_cleanup(&ids);
        return st;
    }
    if (n > 0)
        qsort(ids.p, n, ID_LEN, cmp_id);
    set->ids = ids.p;
    set->n = n;
    return MNEMO_OK;
}

mnemo_status_t mnemo_memories_retrieve(mnemo_memories_t *mem, mnemo_memory_list_t *out,
                                       const char *query, size_t qlen, size_t limit,
                                       const char *const *tags, size_t n_tags, double min_score,
                                       mnemo_err_t *err)
{
    assert(mem != NULL && out != NULL && (query != NULL || qlen == 0));
    size_t n_sorted = 0;
    const char **sorted = sorted_tags(tags, n_tags, &n_sorted);
    id_set_t set = {0};
    mnemo_index_hit_t *hits = NULL;
    size_t n_hits = 0;
    double *scores = NULL;
    uint8_t *ids = NULL;
    mnemo_memory_list_t list = {0};
    mnemo_status_t st = MNEMO_OK;
    if (n_sorted > 0)
        st = id_set_build(mem, &set, sorted, n_sorted, err);
    if (st != MNEMO_OK || (n_sorted > 0 && set.n == 0))
        goto done; /* no memory carries the tags: nothing to rank */
    st = mnemo_index_search(mem->index, &hits, &n_hits, query != NULL ? query : "", qlen,
                            limit != 0 ? limit : MNEMO_DEFAULT_LIMIT, min_score,
                            n_sorted > 0 ? id_set_has : NULL, &set, err);
    if (st != MNEMO_OK)
        goto done;
    scores = mnemo_xcalloc(n_hits, sizeof *scores);
    ids = mnemo_xcalloc(n_hits, ID_LEN);
    size_t n = 0;
    for (size_t i = 0; i < n_hits; i++) {
        if (hits[i].id_len != ID_LEN)
            continue; /* not a memory id: cannot be ours */
        memcpy(ids + n * ID_LEN, hits[i].id, ID_LEN);
        scores[n++] = hits[i].score;
    }
    st = load_list(mem, &list, ids, ID_LEN, n, scores, NULL, err);
done:
    if (st == MNEMO_OK && list.scores == NULL)
        list.scores = mnemo_xcalloc(1, sizeof *list.scores);
    if (st == MNEMO_OK && list.items == NULL)
        list.items = mnemo_xcalloc(1, sizeof *list.items);
    if (st == MNEMO_OK)
        *out = list;
    else
        mnemo_memory_list_cleanup(&list);
    free(ids);
    free(scores);
    free(hits);
    free(set.ids);
    free(sorted);
    return st;
}

/* True when the memory at pos carries tag (a point lookup of its 'g' key). */
static mnemo_status_t has_tag(mnemo_memories_t *mem, bool *yes, const char *tag,
                              const uint8_t pos[POS_LEN], mnemo_err_t *err)
{
    mnemo_buf_t key = {0};
    make_tag_key(&key, tag, pos);
    char *val = NULL;
    size_t vlen = 0;
    mnemo_status_t st = mnemo_store_get(mem->store, key.p, key.len, &val, &vlen, err);
    mnemo_buf_cleanup(&key);
    free(val);
    *yes = st == MNEMO_OK;
    return st == MNEMO_ENOTFOUND ? MNEMO_OK : st;
}

/* The index of the tag with the fewest bytes of 'g' keys on disk (a cheap
 * guess at the fewest memories): the one to scan for match_all. */
static size_t smallest_tag(mnemo_memories_t *mem, const char **tags, size_t n_tags)
{
    size_t best = 0;
    unsigned long long best_size = 0;
    mnemo_buf_t start = {0}, limit = {0};
    for (size_t i = 0; i < n_tags; i++) {
        make_tag_key(&start, tags[i], NULL);
        make_tag_key(&limit, tags[i], NULL);
        limit.p[limit.len - 1] = 1;
        unsigned long long size =
            mnemo_store_approximate_size(mem->store, start.p, start.len, limit.p, limit.len);
        if (i == 0 || size < best_size) {
            best = i;
            best_size = size;
        }
    }
    mnemo_buf_cleanup(&start);
    mnemo_buf_cleanup(&limit);
    return best;
}

static mnemo_status_t by_all_tags(mnemo_memories_t *mem, mnemo_memory_list_t *out,
                                  const char **tags, size_t n_tags, size_t limit, mnemo_err_t *err)
{
    size_t scan = smallest_tag(mem, tags, n_tags);
    merge_t mg;
    merge_open(&mg, mem->store, tags + scan, 1, NULL);
    uint8_t *ids = mnemo_xcalloc(limit, ID_LEN);
    size_t n = 0;
    uint8_t pos[POS_LEN];
    mnemo_status_t st = MNEMO_OK;
    while (st == MNEMO_OK && n < limit && merge_next(&mg, pos)) {
        bool all = true;
        for (size_t i = 0; i < n_tags && all && st == MNEMO_OK; i++)
            if (i != scan)
                st = has_tag(mem, &all, tags[i], pos, err);
        if (st == MNEMO_OK && all)
            memcpy(ids + ID_LEN * n++, pos + 8, ID_LEN);
    }
    mnemo_status_t close_st = merge_close(&mg, err);
    if (st == MNEMO_OK)
        st = close_st;
    mnemo_memory_list_t list = {0};
    if (st == MNEMO_OK)
        st = load_list(mem, &list, ids, ID_LEN, n, NULL, NULL, err);
    free(ids);
    if (st != MNEMO_OK) {
        mnemo_memory_list_cleanup(&list);
        return st;
    }
    *out = list;
    return MNEMO_OK;
}

mnemo_status_t mnemo_memories_by_tag(mnemo_memories_t *mem, mnemo_memory_list_t *out,
                                     const char *const *tags, size_t n_tags, bool match_all,
                                     size_t limit, mnemo_err_t *err)
{
    assert(mem != NULL && out != NULL);
    if (n_tags == 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "tags: at least one tag is required");
    size_t n_sorted = 0;
    const char **sorted = sorted_tags(tags, n_tags, &n_sorted);
    if (limit == 0)
        limit = MNEMO_DEFAULT_LIMIT;
    mnemo_status_t st = match_all
                            ? by_all_tags(mem, out, sorted, n_sorted, limit, err)
                            : list_merged(mem, out, sorted, n_sorted, NULL, limit, false, err);
    free(sorted);
    return st;
}

/* ---- ownership ---- */

void mnemo_memory_destroy(mnemo_memory_t *m)
{
    if (m == NULL)
        return;
    free(m->content);
    for (size_t i = 0; i < m->n_tags; i++)
        free(m->tags[i]);
    free(m->tags);
    for (size_t i = 0; i < m->n_metadata; i++) {
        free(m->metadata[i].key);
        free(m->metadata[i].value);
    }
    free(m->metadata);
    free(m->memory_type);
    free(m);
}

void mnemo_memory_list_cleanup(mnemo_memory_list_t *list)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->count; i++)
        mnemo_memory_destroy(list->items[i]);
    free(list->items);
    free(list->scores);
    free(list->next_page_token);
    memset(list, 0, sizeof *list);
}

/* ---- repair (memories.h, mnemo_memories_repair) ----
 *
 * Over a store no mnemo_memories_t has open, after LevelDB's repairer. The
 * index is dropped first. Then every 't' and 'g' entry is checked against
 * the record it names: an entry whose record is gone or damaged is removed
 * and its id counted lost; an entry that contradicts its record (another
 * created time, a tag the record lacks) is removed and marks the record as
 * conflicting: it may be an older version of the memory, since a merge
 * only ever adds tags and a memory's created time never changes. Then
 * every record: a damaged or conflicting one is removed with its entries;
 * a kept one gets back the entries it lacks (it is the newest version, so
 * a missing entry was lost with a damaged block), counts toward its stripe
 * and is added to the new index. Last the stripe counts are rewritten; the
 * counts found before tell how many memories vanished without a trace.
 */

#define REPAIR_BATCH 1024 /* store operations (or memories indexed) per write */

typedef struct repair {
    mnemo_store_t *store;
    mnemo_store_batch_t *batch;
    size_t staged;        /* memories indexed into batch since the last write */
    mnemo_index_t *index; /* the new 'M' index */
    mnemo_buf_t lost;     /* id32s, unsorted, may repeat */
    mnemo_buf_t conflict; /* id32s, sorted (and n_conflict set) after the entries */
    size_t n_conflict;
    uint64_t kept[N_STRIPES];
    uint64_t counted[N_STRIPES]; /* the persisted counts, before the repair */
    bool count_known[N_STRIPES];
    mnemo_memories_repair_t out;
} repair_t;

/* Writes the batch once it holds at least min operations or memories. */
static mnemo_status_t repair_flush(repair_t *r, size_t min, bool sync, mnemo_err_t *err)
{
    if (mnemo_store_batch_count(r->batch) < min && r->staged < min)
        return MNEMO_OK;
    mnemo_status_t st = mnemo_store_write(r->store, r->batch, sync, err);
    mnemo_store_batch_clear(r->batch);
    r->staged = 0;
    return st;
}

/* The counts as they were: a stripe whose key is gone or bad is unknown. */
static mnemo_status_t repair_read_counts(repair_t *r, mnemo_err_t *err)
{
    for (unsigned i = 0; i < N_STRIPES; i++) {
        uint8_t key[sizeof count_key_name];
        memcpy(key, count_key_name, sizeof count_key_name - 1);
        key[sizeof key - 1] = (uint8_t)i;
        char *val = NULL;
        size_t vlen = 0;
        mnemo_status_t st = mnemo_store_get(r->store, key, sizeof key, &val, &vlen, err);
        if (st != MNEMO_OK && st != MNEMO_ENOTFOUND)
            return st;
        r->count_known[i] = st == MNEMO_OK && vlen == 8;
        if (r->count_known[i])
            r->counted[i] = mnemo_get_be64((const uint8_t *)val);
        free(val);
    }
    return MNEMO_OK;
}

/* The record of id32 into *out, NULL when it is gone or damaged (then
 * *damaged says which). Fails only when the store cannot be read. */
static mnemo_status_t repair_record(repair_t *r, mnemo_memory_t **out, bool *damaged,
                                    const uint8_t id32[ID_LEN], mnemo_err_t *err)
{
    uint8_t key[1 + ID_LEN];
    make_record_key(key, id32);
    char *val = NULL;
    size_t vlen = 0;
    *out = NULL;
    *damaged = false;
    mnemo_status_t st = mnemo_store_get(r->store, key, sizeof key, &val, &vlen, err);
    if (st == MNEMO_ENOTFOUND)
        return MNEMO_OK;
    if (st != MNEMO_OK)
        return st;
    *damaged = record_decode(out, id32, val, vlen, NULL) != MNEMO_OK;
    free(val);
    return MNEMO_OK;
}

static bool record_has_tag(const mnemo_memory_t *m, const char *tag)
{
    for (size_t i = 0; i < m->n_tags; i++)
        if (strcmp(m->tags[i], tag) == 0)
            return true;
    return false;
}

/* Checks the entry key (at pos, of tag or of 't' when tag is NULL) against
 * the record it names; removes it unless they agree. */
static mnemo_status_t repair_entry(repair_t *r, const char *key, size_t klen,
                                   const uint8_t pos[POS_LEN], const char *tag, mnemo_err_t *err)
{
    mnemo_memory_t *m = NULL;
    bool damaged = false;
    mnemo_status_t st = repair_record(r, &m, &damaged, pos + 8, err);
    if (st != MNEMO_OK)
        return st;
    bool agrees = m != NULL && m->created_at_ms == (int64_t)mnemo_get_be64(pos) &&
                  (tag == NULL || record_has_tag(m, tag));
    if (!agrees) {
        mnemo_store_batch_delete(r->batch, key, klen);
        r->out.entries_removed++;
        mnemo_buf_add(m != NULL ? &r->conflict : &r->lost, pos + 8, ID_LEN);
    }
    mnemo_memory_destroy(m);
    return repair_flush(r, REPAIR_BATCH, false, err);
}

/* The tag of a 'g' key (NUL-terminated in place), or NULL when the key is
 * not 'g' tag '\0' position with a non-empty tag. */
static const char *entry_tag(const char *key, size_t klen)
{
    if (klen < 1 + 2 + POS_LEN || key[klen - POS_LEN - 1] != '\0')
        return NULL;
    size_t tlen = klen - POS_LEN - 2;
    return memchr(key + 1, '\0', tlen) == NULL ? key + 1 : NULL;
}

/* Checks every entry of prefix ('t' or 'g'); a malformed key is removed. */
static mnemo_status_t repair_entries(repair_t *r, char prefix, mnemo_err_t *err)
{
    mnemo_status_t st = MNEMO_OK;
    mnemo_store_iter_t *it = mnemo_store_iter_create_bulk(r->store);
    for (mnemo_store_iter_seek(it, &prefix, 1); st == MNEMO_OK && mnemo_store_iter_valid(it);
         mnemo_store_iter_next(it)) {
        size_t klen = 0;
        const char *key = mnemo_store_iter_key(it, &klen);
        if (key[0] != prefix)
            break;
        const char *tag = prefix == 'g' ? entry_tag(key, klen) : NULL;
        bool wellformed = prefix == 'g' ? tag != NULL : klen == 1 + POS_LEN;
        if (wellformed) {
            st = repair_entry(r, key, klen, (const uint8_t *)key + klen - POS_LEN, tag, err);
        } else {
            mnemo_store_batch_delete(r->batch, key, klen);
            r->out.entries_removed++;
        }
    }
    if (st == MNEMO_OK)
        st = mnemo_store_iter_status(it, err);
    mnemo_store_iter_destroy(it);
    return st == MNEMO_OK ? repair_flush(r, 1, false, err) : st;
}

/* Puts key when the store lacks it; counts the entries restored. */
static mnemo_status_t repair_restore(repair_t *r, const mnemo_buf_t *key, mnemo_err_t *err)
{
    char *val = NULL;
    size_t vlen = 0;
    mnemo_status_t st = mnemo_store_get(r->store, key->p, key->len, &val, &vlen, err);
    free(val);
    if (st != MNEMO_ENOTFOUND)
        return st;
    mnemo_store_batch_put(r->batch, key->p, key->len, "", 0);
    r->out.entries_restored++;
    return MNEMO_OK;
}

/* Keeps m: its missing entries back, its stripe's count, the index. */
static mnemo_status_t repair_keep(repair_t *r, const mnemo_memory_t *m, const uint8_t id32[ID_LEN],
                                  mnemo_err_t *err)
{
    uint8_t pos[POS_LEN];
    make_position(pos, m->created_at_ms, id32);
    mnemo_buf_t key = {0};
    mnemo_buf_byte(&key, 't');
    mnemo_buf_add(&key, pos, POS_LEN);
    mnemo_status_t st = repair_restore(r, &key, err);
    for (size_t i = 0; st == MNEMO_OK && i < m->n_tags; i++) {
        make_tag_key(&key, m->tags[i], pos);
        st = repair_restore(r, &key, err);
    }
    mnemo_buf_cleanup(&key);
    if (st != MNEMO_OK)
        return st;
    r->kept[id32[0] % N_STRIPES]++;
    r->out.kept++;
    r->staged++;
    return mnemo_index_add(r->index, r->batch, id32, m->content, m->content_len, err);
}

/* Checks one record: kept, or removed with its entries and its id lost. */
static mnemo_status_t repair_one(repair_t *r, const char *key, size_t klen, const char *val,
                                 size_t vlen, mnemo_err_t *err)
{
    if (klen != 1 + ID_LEN) {
        mnemo_store_batch_delete(r->batch, key, klen); /* no id: not a memory */
        r->out.entries_removed++;
        return MNEMO_OK;
    }
    const uint8_t *id32 = (const uint8_t *)key + 1;
    mnemo_memory_t *m = NULL;
    bool damaged = record_decode(&m, id32, val, vlen, NULL) != MNEMO_OK;
    bool conflict =
        r->n_conflict > 0 && bsearch(id32, r->conflict.p, r->n_conflict, ID_LEN, cmp_id) != NULL;
    if (!damaged && !conflict) {
        mnemo_status_t st = repair_keep(r, m, id32, err);
        mnemo_memory_destroy(m);
        return st;
    }
    mnemo_store_batch_delete(r->batch, key, klen);
    if (m != NULL) {
        uint8_t pos[POS_LEN];
        make_position(pos, m->created_at_ms, id32);
        stage_positions(r->batch, pos, true, m->tags, m->n_tags, false);
        mnemo_memory_destroy(m);
    }
    mnemo_buf_add(&r->lost, id32, ID_LEN);
    return MNEMO_OK;
}

static mnemo_status_t repair_records(repair_t *r, mnemo_err_t *err)
{
    r->n_conflict = r->conflict.len / ID_LEN;
    if (r->n_conflict > 0)
        qsort(r->conflict.p, r->n_conflict, ID_LEN, cmp_id);
    mnemo_status_t st = MNEMO_OK;
    mnemo_store_iter_t *it = mnemo_store_iter_create_bulk(r->store);
    for (mnemo_store_iter_seek(it, "m", 1); st == MNEMO_OK && mnemo_store_iter_valid(it);
         mnemo_store_iter_next(it)) {
        size_t klen = 0, vlen = 0;
        const char *key = mnemo_store_iter_key(it, &klen);
        if (key[0] != 'm')
            break;
        const char *val = mnemo_store_iter_value(it, &vlen);
        st = repair_one(r, key, klen, val, vlen, err);
        if (st == MNEMO_OK)
            st = repair_flush(r, REPAIR_BATCH, false, err);
    }
    if (st == MNEMO_OK)
        st = mnemo_store_iter_status(it, err);
    mnemo_store_iter_destroy(it);
    return st;
}

/* The lost ids, sorted and unique, into out; what the old counts say. */
static void repair_account(repair_t *r)
{
    size_t n = r->lost.len / ID_LEN, u = 0;
    if (n > 0)
        qsort(r->lost.p, n, ID_LEN, cmp_id);
    uint64_t lost[N_STRIPES] = {0};
    r->out.lost_ids = mnemo_xcalloc(n > 0 ? n : 1, sizeof *r->out.lost_ids);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *id = r->lost.p + i * ID_LEN;
        if (u > 0 && memcmp(id, id - ID_LEN, ID_LEN) == 0)
            continue;
        mnemo_hex_encode(r->out.lost_ids[u++], id, ID_LEN);
        lost[id[0] % N_STRIPES]++;
    }
    r->out.lost = u;
    for (unsigned s = 0; s < N_STRIPES; s++) {
        uint64_t found = r->kept[s] + lost[s];
        if (!r->count_known[s])
            continue;
        if (r->counted[s] > found)
            r->out.untraced += r->counted[s] - found;
        else
            r->out.uncounted += found - r->counted[s];
    }
}

static mnemo_status_t repair_run(repair_t *r, mnemo_err_t *err)
{
    mnemo_status_t st = repair_read_counts(r, err);
    if (st == MNEMO_OK)
        st = mnemo_index_drop(r->store, INDEX_NS, r->batch, REPAIR_BATCH, err);
    if (st == MNEMO_OK)
        st = repair_entries(r, 't', err);
    if (st == MNEMO_OK)
        st = repair_entries(r, 'g', err);
    if (st == MNEMO_OK)
        st = mnemo_index_open(&r->index, r->store, INDEX_NS, ID_LEN, err);
    if (st != MNEMO_OK)
        return st;
    mnemo_index_start(r->index);
    st = repair_records(r, err);
    if (st == MNEMO_OK)
        st = repair_flush(r, 1, false, err);
    if (st == MNEMO_OK)
        st = mnemo_index_merge(r->index, err);
    for (unsigned s = 0; st == MNEMO_OK && s < N_STRIPES; s++)
        stage_count(r->batch, s, r->kept[s]);
    if (st == MNEMO_OK)
        st = repair_flush(r, 1, true, err); /* also makes every write above durable */
    return st;
}

mnemo_status_t mnemo_memories_repair(mnemo_memories_repair_t *out, mnemo_store_t *store,
                                     mnemo_err_t *err)
{
    assert(out != NULL && store != NULL);
    repair_t *r = mnemo_xcalloc(1, sizeof *r);
    r->store = store;
    r->batch = mnemo_store_batch_create();
    mnemo_status_t st = repair_run(r, err);
    mnemo_store_batch_destroy(r->batch); /* before the index closes: see index.h */
    mnemo_index_close(r->index);
    if (st == MNEMO_OK) {
        repair_account(r);
        *out = r->out;
    }
    mnemo_buf_cleanup(&r->lost);
    mnemo_buf_cleanup(&r->conflict);
    free(r);
    return st;
}

void mnemo_memories_repair_cleanup(mnemo_memories_repair_t *r)
{
    if (r == NULL)
        return;
    free(r->lost_ids);
    r->lost_ids = NULL;
}
