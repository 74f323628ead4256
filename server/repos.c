/* repos.c - the code index: repository records, file manifests, chunks and
 * ranked code search, over store.h, index.h (namespace 'C') and chunker.h.
 *
 * DESIGN: the key layout is the one in repos.h. Values are versioned binary
 * records (str = varint length + bytes; times and counts are varints of
 * their two's complement bits; a value that does not decode exactly is
 * MNEMO_ECORRUPT):
 *   'R' record:   u8 version | str path | varint file_count, chunk_count,
 *                 last_synced_at_ms | varint state | 9 varint progress
 *                 counters | u64le percentage bits | varint started,
 *                 finished | u8 flags (1 background, 2 error, 4 paced)
 *                 [| str error] [| varint paced_ms] (flag 4 came later: a
 *                 record with it reads as corrupt to older mnemods)
 *   'F' manifest: u8 version | varint size | varint mtime_ns | sha256[32] |
 *                 varint n_chunks
 *   'K' chunk:    u8 version | str name | str path | varint start_line,
 *                 end_line | str content
 *   'S' "token-key": the 32 random bytes that sign list page tokens
 *                 (pagetoken.h; 'S' is no other key's prefix here, and
 *                 every scan above stops at the end of its own prefix)
 * A batch object wraps one store batch and the repository record as it will
 * read after commit: its counts are loaded at create and adjusted by every
 * put and remove (the manifest of a repository has a single writer), and
 * commit re-stages the record when files changed after the last
 * set_status, so the persisted counts always match the manifest. Removing
 * a file's old chunks reads nothing (the index knows their doc numbers), so
 * it cannot fail; a put that fails half-way (the index could not add a
 * chunk: the store failed) poisons the batch, whose commit then fails.
 * Deleting a repository reuses the batch object: pages of 1000 manifest
 * entries are removed and committed in turn (the record, with shrinking
 * counts, goes in the last batch). A corrupt record is reported by
 * get_status and list but neither stops open nor prevents delete.
 *
 * A list page token (pagetoken.h, purpose MNEMO_PAGETOKEN_REPOS) holds the
 * last name of its page, signed under the store's token key: a forged,
 * mistyped or truncated token is refused. Tokens of the unkeyed format
 * before it are refused too (the client lists again from the start).
 *
 * Threads: any; the caller serialises writers (app->lock, see repos.h). A
 * batch belongs to one thread at a time.
 */
#include "repos.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "bytes.h"
#include "defaults.h"
#include "hash.h"
#include "index.h"
#include "pagetoken.h"

#define RECORD_VERSION     1
#define NAME_HASH_LEN      8
#define FILE_HASH_LEN      12
#define FILE_ID_LEN        (NAME_HASH_LEN + FILE_HASH_LEN)
#define DOC_ID_LEN         (FILE_ID_LEN + 4)
#define DELETE_BATCH_FILES 1000
#define INDEX_NS           'C'
#define FLAG_BACKGROUND    1
#define FLAG_ERROR         2
#define FLAG_PACED         4 /* a varint paced_ms follows the error, if any */
#define INTERRUPTED_ERROR  "interrupted: the server stopped during this sync"

_Static_assert(MNEMO_REPO_NAME_MAX <= MNEMO_PAGETOKEN_MAX_POS, "a name fits in a page token");

struct mnemo_repos {
    mnemo_store_t *store; /* borrowed; outlives repos */
    mnemo_index_t *index; /* namespace 'C' */
    mnemo_pagetoken_key_t token_key;
    /* Statuses a failed commit could not record (a full disk): read in
     * place of the stored record's status until a commit of the same
     * repository or mnemo_repos_record_held records one. */
    pthread_mutex_t held_mu;
    mnemo_sync_status_t *held; /* path and error owned */
    size_t n_held;
};

/* ---- held statuses ---- */

static void status_copy(mnemo_sync_status_t *out, const mnemo_sync_status_t *in)
{
    *out = *in;
    out->path = mnemo_xstrdup(in->path != NULL ? in->path : "");
    out->error = in->error != NULL ? mnemo_xstrdup(in->error) : NULL;
}

static ssize_t held_find_locked(const mnemo_repos_t *repos, const char *name)
{
    for (size_t i = 0; i < repos->n_held; i++)
        if (strcmp(repos->held[i].name, name) == 0)
            return (ssize_t)i;
    return -1;
}

static void held_put(mnemo_repos_t *repos, const mnemo_sync_status_t *status)
{
    pthread_mutex_lock(&repos->held_mu);
    ssize_t i = held_find_locked(repos, status->name);
    if (i < 0) {
        repos->held = mnemo_xrealloc(repos->held, (repos->n_held + 1) * sizeof *repos->held);
        i = (ssize_t)repos->n_held++;
    } else {
        mnemo_sync_status_cleanup(&repos->held[i]);
    }
    status_copy(&repos->held[i], status);
    pthread_mutex_unlock(&repos->held_mu);
}

static void held_drop(mnemo_repos_t *repos, const char *name)
{
    pthread_mutex_lock(&repos->held_mu);
    ssize_t i = held_find_locked(repos, name);
    if (i >= 0) {
        mnemo_sync_status_cleanup(&repos->held[i]);
        repos->held[i] = repos->held[--repos->n_held];
    }
    pthread_mutex_unlock(&repos->held_mu);
}

/* Copies the held status of name into *out (caller's); false when none. */
static bool held_get(mnemo_repos_t *repos, const char *name, mnemo_sync_status_t *out)
{
    pthread_mutex_lock(&repos->held_mu);
    ssize_t i = held_find_locked(repos, name);
    if (i >= 0)
        status_copy(out, &repos->held[i]);
    pthread_mutex_unlock(&repos->held_mu);
    return i >= 0;
}

/* A repository record; status.name comes from the key. */
typedef struct repo_record {
    int64_t file_count;
    int64_t chunk_count;
    int64_t last_synced_at_ms;
    mnemo_sync_status_t status; /* path and error owned */
} repo_record_t;

struct mnemo_repos_batch {
    mnemo_repos_t *repos;
    char name[MNEMO_REPO_NAME_MAX + 1];
    uint8_t name_hash[NAME_HASH_LEN];
    mnemo_store_batch_t *batch;
    repo_record_t rec;      /* the record as it reads after commit */
    int64_t stored_files;   /* rec's counts as the store has them (loaded or */
    int64_t stored_chunks;  /* last committed): what a failed commit returns to */
    bool have_record;       /* rec is worth writing: loaded or set_status */
    bool dirty;             /* counts changed since rec was last staged */
    mnemo_status_t load_st; /* reading the record at create failed */
    mnemo_err_t load_err;
};

/* ---- keys and ids ---- */

/* 'R' name into b (reset first). */
static void key_repo(mnemo_buf_t *b, const char *name)
{
    b->len = 0;
    mnemo_buf_byte(b, 'R');
    mnemo_buf_add(b, name, strlen(name));
}

/* 'F' name '\0' [path] into b (reset first); path NULL gives the prefix. */
static void key_file(mnemo_buf_t *b, const char *name, const char *path)
{
    b->len = 0;
    mnemo_buf_byte(b, 'F');
    mnemo_buf_add(b, name, strlen(name) + 1);
    if (path != NULL)
        mnemo_buf_add(b, path, strlen(path));
}

static void name_hash(uint8_t out[NAME_HASH_LEN], const char *name)
{
    uint8_t full[MNEMO_SHA256_LEN];
    mnemo_sha256(name, strlen(name), full);
    memcpy(out, full, NAME_HASH_LEN);
}

/* SHA-256(name)[0..8) ++ SHA-256(name '\0' path)[0..12): the doc id of a
 * file's chunks without the chunk number. */
static void file_id(uint8_t out[FILE_ID_LEN], const uint8_t nh[NAME_HASH_LEN], const char *name,
                    const char *path)
{
    mnemo_buf_t b = {0};
    mnemo_buf_add(&b, name, strlen(name) + 1);
    mnemo_buf_add(&b, path, strlen(path));
    uint8_t full[MNEMO_SHA256_LEN];
    mnemo_sha256(b.p, b.len, full);
    mnemo_buf_cleanup(&b);
    memcpy(out, nh, NAME_HASH_LEN);
    memcpy(out + NAME_HASH_LEN, full, FILE_HASH_LEN);
}

/* 'K' doc_id of chunk k of the file with id fid. */
static void key_chunk(uint8_t key[1 + DOC_ID_LEN], const uint8_t fid[FILE_ID_LEN], uint32_t k)
{
    key[0] = 'K';
    memcpy(key + 1, fid, FILE_ID_LEN);
    mnemo_put_be32(key + 1 + FILE_ID_LEN, k);
}

/* ---- records ---- */

/* A reader of val past its version byte; !ok when that is not
 * RECORD_VERSION. */
static mnemo_reader_t reader_of(const char *val, size_t vlen)
{
    mnemo_reader_t r;
    mnemo_reader_init(&r, val, vlen);
    if (mnemo_read_byte(&r) != RECORD_VERSION)
        r.ok = false;
    return r;
}

static void record_encode(mnemo_buf_t *b, const repo_record_t *rec)
{
    const mnemo_sync_status_t *s = &rec->status;
    const mnemo_sync_progress_t *p = &s->progress;
    const char *path = s->path != NULL ? s->path : "";
    mnemo_buf_byte(b, RECORD_VERSION);
    mnemo_buf_str(b, path, strlen(path));
    mnemo_buf_varint(b, (uint64_t)rec->file_count);
    mnemo_buf_varint(b, (uint64_t)rec->chunk_count);
    mnemo_buf_varint(b, (uint64_t)rec->last_synced_at_ms);
    mnemo_buf_varint(b, (uint64_t)s->state);
    const int64_t counters[] = {p->total_files,    p->processed_files, p->unchanged_files,
                                p->skipped_files,  p->failed_files,    p->deleted_files,
                                p->chunks_written, p->bytes_processed, p->batches_committed};
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        mnemo_buf_varint(b, (uint64_t)counters[i]);
    uint64_t bits;
    memcpy(&bits, &p->percentage, sizeof bits);
    mnemo_buf_u64le(b, bits);
    mnemo_buf_varint(b, (uint64_t)s->started_at_ms);
    mnemo_buf_varint(b, (uint64_t)s->finished_at_ms);
    mnemo_buf_byte(b, (uint8_t)((s->background ? FLAG_BACKGROUND : 0) |
                                (s->error != NULL ? FLAG_ERROR : 0) |
                                (p->paced_ms > 0 ? FLAG_PACED : 0)));
    if (s->error != NULL)
        mnemo_buf_str(b, s->error, strlen(s->error));
    if (p->paced_ms > 0)
        mnemo_buf_varint(b, (uint64_t)p->paced_ms);
}

static void progress_decode(mnemo_reader_t *r, mnemo_sync_progress_t *p)
{
    int64_t *counters[] = {&p->total_files,    &p->processed_files, &p->unchanged_files,
                           &p->skipped_files,  &p->failed_files,    &p->deleted_files,
                           &p->chunks_written, &p->bytes_processed, &p->batches_committed};
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        *counters[i] = (int64_t)mnemo_read_varint(r);
    uint64_t bits = mnemo_read_u64le(r);
    memcpy(&p->percentage, &bits, sizeof bits);
}

/* Decodes the record of name (len bytes) into *rec (the caller's:
 * record_cleanup, also after a failure). */
static mnemo_status_t record_decode(repo_record_t *rec, const char *name, size_t name_len,
                                    const char *val, size_t vlen, mnemo_err_t *err)
{
    memset(rec, 0, sizeof *rec);
    mnemo_sync_status_t *s = &rec->status;
    mnemo_reader_t r = reader_of(val, vlen);
    if (name_len == 0 || name_len > MNEMO_REPO_NAME_MAX)
        r.ok = false;
    else
        memcpy(s->name, name, name_len);
    size_t n = 0;
    const char *str = mnemo_read_str(&r, &n);
    s->path = mnemo_xstrndup(str, n);
    rec->file_count = (int64_t)mnemo_read_varint(&r);
    rec->chunk_count = (int64_t)mnemo_read_varint(&r);
    rec->last_synced_at_ms = (int64_t)mnemo_read_varint(&r);
    uint64_t state = mnemo_read_varint(&r);
    s->state = state <= MNEMO_SYNC_INTERRUPTED ? (mnemo_sync_state_t)state : 0;
    r.ok = r.ok && state <= MNEMO_SYNC_INTERRUPTED;
    progress_decode(&r, &s->progress);
    s->started_at_ms = (int64_t)mnemo_read_varint(&r);
    s->finished_at_ms = (int64_t)mnemo_read_varint(&r);
    const uint8_t *flags = mnemo_read_bytes(&r, 1);
    s->background = flags != NULL && (*flags & FLAG_BACKGROUND) != 0;
    if (flags != NULL && (*flags & FLAG_ERROR) != 0) {
        str = mnemo_read_str(&r, &n);
        s->error = mnemo_xstrndup(str, n);
    }
    if (flags != NULL && (*flags & FLAG_PACED) != 0)
        s->progress.paced_ms = (int64_t)mnemo_read_varint(&r);
    if (!mnemo_reader_done(&r))
        return mnemo_err_set(err, MNEMO_ECORRUPT, "repository %.*s: corrupt record",
                             (int)(name_len > MNEMO_REPO_NAME_MAX ? 0 : name_len), name);
    return MNEMO_OK;
}

static void record_cleanup(repo_record_t *rec)
{
    mnemo_sync_status_cleanup(&rec->status);
}

/* Loads the record of name; MNEMO_ENOTFOUND (with the message of
 * GetSyncStatus) when there is none. */
static mnemo_status_t record_load(mnemo_repos_t *repos, repo_record_t *rec, const char *name,
                                  mnemo_err_t *err)
{
    mnemo_buf_t key = {0};
    key_repo(&key, name);
    char *val = NULL;
    size_t vlen = 0;
    mnemo_status_t st = mnemo_store_get(repos->store, key.p, key.len, &val, &vlen, err);
    mnemo_buf_cleanup(&key);
    mnemo_sync_status_t held;
    if (st == MNEMO_ENOTFOUND && held_get(repos, name, &held)) {
        memset(rec, 0, sizeof *rec); /* its first commit failed: no counts yet */
        rec->status = held;
        return MNEMO_OK;
    }
    if (st == MNEMO_ENOTFOUND)
        return mnemo_err_set(err, MNEMO_ENOTFOUND, "repository_name: no repository named %s", name);
    if (st != MNEMO_OK)
        return st;
    st = record_decode(rec, name, strlen(name), val, vlen, err);
    free(val);
    if (st != MNEMO_OK) {
        record_cleanup(rec);
    } else if (held_get(repos, name, &held)) {
        mnemo_sync_status_cleanup(&rec->status);
        rec->status = held;
    }
    return st;
}

static void record_stage(mnemo_store_batch_t *batch, const char *name, const repo_record_t *rec)
{
    mnemo_buf_t key = {0}, val = {0};
    key_repo(&key, name);
    record_encode(&val, rec);
    mnemo_store_batch_put(batch, key.p, key.len, val.p, val.len);
    mnemo_buf_cleanup(&key);
    mnemo_buf_cleanup(&val);
}

static void manifest_encode(mnemo_buf_t *b, uint64_t size, int64_t mtime_ns, const uint8_t sha[32],
                            uint32_t n_chunks)
{
    mnemo_buf_byte(b, RECORD_VERSION);
    mnemo_buf_varint(b, size);
    mnemo_buf_varint(b, (uint64_t)mtime_ns);
    mnemo_buf_add(b, sha, 32);
    mnemo_buf_varint(b, n_chunks);
}

/* Decodes a manifest value into e (path set by the caller); false if corrupt. */
static bool manifest_decode(mnemo_manifest_entry_t *e, const char *val, size_t vlen)
{
    mnemo_reader_t r = reader_of(val, vlen);
    e->size = mnemo_read_varint(&r);
    e->mtime_ns = (int64_t)mnemo_read_varint(&r);
    const uint8_t *sha = mnemo_read_bytes(&r, 32);
    if (sha != NULL)
        memcpy(e->sha256, sha, 32);
    uint64_t n = mnemo_read_varint(&r);
    e->n_chunks = (uint32_t)n;
    return mnemo_reader_done(&r) && n <= UINT32_MAX;
}

/* A decoded chunk, borrowing the bytes of its value. */
typedef struct chunk_view {
    const char *name, *path, *content;
    size_t name_len, path_len, content_len;
    uint32_t start_line, end_line;
} chunk_view_t;

static bool chunk_decode(chunk_view_t *c, const char *val, size_t vlen)
{
    mnemo_reader_t r = reader_of(val, vlen);
    c->name = mnemo_read_str(&r, &c->name_len);
    c->path = mnemo_read_str(&r, &c->path_len);
    uint64_t start = mnemo_read_varint(&r), end = mnemo_read_varint(&r);
    c->content = mnemo_read_str(&r, &c->content_len);
    c->start_line = (uint32_t)start;
    c->end_line = (uint32_t)end;
    return mnemo_reader_done(&r) && start <= UINT32_MAX && end <= UINT32_MAX &&
           c->name_len <= MNEMO_REPO_NAME_MAX;
}

/* ---- open and close ---- */

/* Rewrites rec (of name) as INTERRUPTED into batch when its sync was live. */
static void interrupt_stage(mnemo_store_batch_t *batch, repo_record_t *rec)
{
    mnemo_sync_state_t state = rec->status.state;
    if (state != MNEMO_SYNC_PENDING && state != MNEMO_SYNC_RUNNING)
        return;
    rec->status.state = MNEMO_SYNC_INTERRUPTED;
    free(rec->status.error);
    rec->status.error = mnemo_xstrdup(INTERRUPTED_ERROR);
    record_stage(batch, rec->status.name, rec);
}

static mnemo_status_t interrupt_live_syncs(mnemo_repos_t *repos, mnemo_err_t *err)
{
    mnemo_store_batch_t *batch = mnemo_store_batch_create();
    mnemo_store_iter_t *it = mnemo_store_iter_create_bulk(repos->store);
    for (mnemo_store_iter_seek(it, "R", 1); mnemo_store_iter_valid(it); mnemo_store_iter_next(it)) {
        size_t klen = 0, vlen = 0;
        const char *key = mnemo_store_iter_key(it, &klen);
        if (key[0] != 'R')
            break;
        const char *val = mnemo_store_iter_value(it, &vlen);
        repo_record_t rec;
        if (record_decode(&rec, key + 1, klen - 1, val, vlen, NULL) == MNEMO_OK)
            interrupt_stage(batch, &rec);
        record_cleanup(&rec); /* a corrupt record stays for get_status and delete to report */
    }
    mnemo_status_t st = mnemo_store_iter_status(it, err);
    mnemo_store_iter_destroy(it);
    if (st == MNEMO_OK && mnemo_store_batch_count(batch) > 0)
        st = mnemo_store_write(repos->store, batch, true, err);
    mnemo_store_batch_destroy(batch);
    return st;
}

mnemo_status_t mnemo_repos_open(mnemo_repos_t **out, mnemo_store_t *store, mnemo_err_t *err)
{
    assert(out != NULL && store != NULL);
    mnemo_repos_t *repos = mnemo_xcalloc(1, sizeof *repos);
    repos->store = store;
    pthread_mutex_init(&repos->held_mu, NULL);
    mnemo_status_t st = mnemo_index_open(&repos->index, store, INDEX_NS, DOC_ID_LEN, err);
    if (st == MNEMO_OK)
        mnemo_index_start(repos->index);
    if (st == MNEMO_OK)
        st = mnemo_pagetoken_key_load(&repos->token_key, store, err);
    if (st == MNEMO_OK)
        st = interrupt_live_syncs(repos, err);
    if (st != MNEMO_OK) {
        mnemo_repos_close(repos);
        return st;
    }
    *out = repos;
    return MNEMO_OK;
}

void mnemo_repos_close(mnemo_repos_t *repos)
{
    if (repos == NULL)
        return;
    mnemo_index_close(repos->index);
    for (size_t i = 0; i < repos->n_held; i++)
        mnemo_sync_status_cleanup(&repos->held[i]);
    free(repos->held);
    pthread_mutex_destroy(&repos->held_mu);
    free(repos);
}

/* ---- status and manifest ---- */

mnemo_status_t mnemo_repos_get_status(mnemo_repos_t *repos, mnemo_sync_status_t *out,
                                      const char *name, mnemo_err_t *err)
{
    assert(repos != NULL && out != NULL && name != NULL);
    repo_record_t rec;
    mnemo_status_t st = record_load(repos, &rec, name, err);
    if (st != MNEMO_OK)
        return st;
    *out = rec.status; /* moves path and error */
    return MNEMO_OK;
}

/* Appends the manifest entries of name to m, at most max of them, in path
 * order. */
static mnemo_status_t manifest_scan(mnemo_repos_t *repos, mnemo_manifest_t *m, const char *name,
                                    size_t max, mnemo_err_t *err)
{
    mnemo_buf_t prefix = {0};
    key_file(&prefix, name, NULL);
    size_t cap = 0;
    mnemo_status_t st = MNEMO_OK;
    mnemo_store_iter_t *it = mnemo_store_iter_create_bulk(repos->store);
    for (mnemo_store_iter_seek(it, prefix.p, prefix.len);
         st == MNEMO_OK && m->count < max && mnemo_store_iter_valid(it);
         mnemo_store_iter_next(it)) {
        size_t klen = 0, vlen = 0;
        const char *key = mnemo_store_iter_key(it, &klen);
        if (klen < prefix.len || memcmp(key, prefix.p, prefix.len) != 0)
            break;
        if (m->count == cap) {
            cap = cap != 0 ? 2 * cap : 16;
            m->entries = mnemo_xrealloc(m->entries, cap * sizeof *m->entries);
        }
        mnemo_manifest_entry_t *e = &m->entries[m->count];
        memset(e, 0, sizeof *e);
        e->path = mnemo_xstrndup(key + prefix.len, klen - prefix.len);
        m->count++;
        const char *val = mnemo_store_iter_value(it, &vlen);
        if (!manifest_decode(e, val, vlen))
            st = mnemo_err_set(err, MNEMO_ECORRUPT, "repository %s: corrupt manifest entry %s",
                               name, e->path);
    }
    if (st == MNEMO_OK)
        st = mnemo_store_iter_status(it, err);
    mnemo_store_iter_destroy(it);
    mnemo_buf_cleanup(&prefix);
    return st;
}

mnemo_status_t mnemo_repos_load_manifest(mnemo_repos_t *repos, mnemo_manifest_t *out,
                                         const char *name, mnemo_err_t *err)
{
    assert(repos != NULL && out != NULL && name != NULL);
    mnemo_manifest_t m = {0};
    mnemo_status_t st = manifest_scan(repos, &m, name, SIZE_MAX, err);
    if (st != MNEMO_OK) {
        mnemo_manifest_cleanup(&m);
        return st;
    }
    if (m.entries == NULL)
        m.entries = mnemo_xcalloc(1, sizeof *m.entries);
    *out = m;
    return MNEMO_OK;
}

/* ---- batches ---- */

mnemo_repos_batch_t *mnemo_repos_batch_create(mnemo_repos_t *repos, const char *name)
{
    assert(repos != NULL && name != NULL);
    assert(name[0] != '\0' && strlen(name) <= MNEMO_REPO_NAME_MAX);
    mnemo_repos_batch_t *b = mnemo_xcalloc(1, sizeof *b);
    b->repos = repos;
    memcpy(b->name, name, strlen(name) + 1);
    name_hash(b->name_hash, name);
    b->batch = mnemo_store_batch_create();
    mnemo_status_t st = record_load(repos, &b->rec, name, &b->load_err);
    if (st == MNEMO_OK) {
        b->have_record = true;
        b->stored_files = b->rec.file_count;
        b->stored_chunks = b->rec.chunk_count;
    } else {
        memset(&b->rec, 0, sizeof b->rec);
        memcpy(b->rec.status.name, name, strlen(name) + 1);
        if (st != MNEMO_ENOTFOUND)
            b->load_st = st; /* counts unknown: every write of this batch fails */
    }
    return b;
}

static mnemo_status_t batch_check(const mnemo_repos_batch_t *b, mnemo_err_t *err)
{
    if (b->load_st == MNEMO_OK)
        return MNEMO_OK;
    return mnemo_err_set(err, b->load_st, "%s", b->load_err.msg);
}

/* Records the removal of the n_chunks chunks of the file with id fid (keys
 * and postings). Reads nothing, so it cannot fail. */
static void old_chunks_stage_removal(mnemo_repos_batch_t *b, const uint8_t fid[FILE_ID_LEN],
                                     uint32_t n_chunks)
{
    for (uint32_t k = 0; k < n_chunks; k++) {
        uint8_t key[1 + DOC_ID_LEN];
        key_chunk(key, fid, k);
        mnemo_index_remove(b->repos->index, b->batch, key + 1);
        mnemo_store_batch_delete(b->batch, key, sizeof key);
    }
    b->rec.chunk_count -= n_chunks;
    if (b->rec.chunk_count < 0)
        b->rec.chunk_count = 0;
}

/* Records the chunks of text for the file with id fid, their number in *n.
 * An index failure (the store failed, or doc numbers ran out) leaves chunks
 * half-staged: the caller poisons the batch. */
static mnemo_status_t chunks_stage(mnemo_repos_batch_t *b, uint32_t *n_out,
                                   const uint8_t fid[FILE_ID_LEN], const char *path,
                                   const char *text, size_t len,
                                   const mnemo_chunker_options_t *chunking, mnemo_err_t *err)
{
    mnemo_chunk_t *chunks = NULL;
    size_t n = mnemo_chunk_text(&chunks, text, len, chunking);
    assert(n <= UINT32_MAX);
    mnemo_buf_t val = {0};
    mnemo_status_t st = MNEMO_OK;
    for (size_t k = 0; k < n && st == MNEMO_OK; k++) {
        const mnemo_chunk_t *ch = &chunks[k];
        uint8_t key[1 + DOC_ID_LEN];
        key_chunk(key, fid, (uint32_t)k);
        val.len = 0;
        mnemo_buf_byte(&val, RECORD_VERSION);
        mnemo_buf_str(&val, b->name, strlen(b->name));
        mnemo_buf_str(&val, path, strlen(path));
        mnemo_buf_varint(&val, ch->start_line);
        mnemo_buf_varint(&val, ch->end_line);
        mnemo_buf_str(&val, text + ch->offset, ch->len);
        mnemo_store_batch_put(b->batch, key, sizeof key, val.p, val.len);
        st = mnemo_index_add(b->repos->index, b->batch, key + 1, text + ch->offset, ch->len, err);
    }
    mnemo_buf_cleanup(&val);
    free(chunks);
    b->rec.chunk_count += (int64_t)n;
    *n_out = (uint32_t)n;
    return st;
}

static void manifest_stage(mnemo_repos_batch_t *b, const char *path, uint64_t size,
                           int64_t mtime_ns, const uint8_t sha256[32], uint32_t n_chunks)
{
    mnemo_buf_t key = {0}, val = {0};
    key_file(&key, b->name, path);
    manifest_encode(&val, size, mtime_ns, sha256, n_chunks);
    mnemo_store_batch_put(b->batch, key.p, key.len, val.p, val.len);
    mnemo_buf_cleanup(&key);
    mnemo_buf_cleanup(&val);
}

mnemo_status_t mnemo_repos_batch_put_file(mnemo_repos_batch_t *b, const mnemo_manifest_entry_t *old,
                                          const char *path, uint64_t size, int64_t mtime_ns,
                                          const uint8_t sha256[32], const char *text, size_t len,
                                          const mnemo_chunker_options_t *chunking,
                                          size_t *chunks_written, mnemo_err_t *err)
{
    assert(b != NULL && path != NULL && path[0] != '\0' && (text != NULL || len == 0));
    assert(old == NULL || strcmp(old->path, path) == 0);
    mnemo_status_t st = batch_check(b, err);
    if (st != MNEMO_OK)
        return st;
    uint8_t fid[FILE_ID_LEN];
    file_id(fid, b->name_hash, b->name, path);
    if (old != NULL) /* before the new puts: same keys, later wins */
        old_chunks_stage_removal(b, fid, old->n_chunks);
    uint32_t n = 0;
    st = chunks_stage(b, &n, fid, path, text != NULL ? text : "", len, chunking, err);
    if (st != MNEMO_OK) {
        b->load_st = st; /* half-staged: every later write of this batch fails */
        mnemo_err_set(&b->load_err, st, "%s", err != NULL ? err->msg : "index failure");
        return st;
    }
    manifest_stage(b, path, size, mtime_ns, sha256, n);
    if (old == NULL)
        b->rec.file_count++;
    b->dirty = true;
    if (chunks_written != NULL)
        *chunks_written = n;
    return MNEMO_OK;
}

void mnemo_repos_batch_touch_file(mnemo_repos_batch_t *b, const mnemo_manifest_entry_t *old,
                                  uint64_t size, int64_t mtime_ns)
{
    assert(b != NULL && old != NULL && old->path != NULL);
    manifest_stage(b, old->path, size, mtime_ns, old->sha256, old->n_chunks);
}

mnemo_status_t mnemo_repos_batch_remove_file(mnemo_repos_batch_t *b,
                                             const mnemo_manifest_entry_t *old, mnemo_err_t *err)
{
    assert(b != NULL && old != NULL && old->path != NULL);
    mnemo_status_t st = batch_check(b, err);
    if (st == MNEMO_OK) {
        uint8_t fid[FILE_ID_LEN];
        file_id(fid, b->name_hash, b->name, old->path);
        old_chunks_stage_removal(b, fid, old->n_chunks);
        mnemo_buf_t key = {0};
        key_file(&key, b->name, old->path);
        mnemo_store_batch_delete(b->batch, key.p, key.len);
        mnemo_buf_cleanup(&key);
        if (b->rec.file_count > 0)
            b->rec.file_count--;
        b->dirty = true;
    }
    return st;
}

void mnemo_repos_batch_set_status(mnemo_repos_batch_t *b, const mnemo_sync_status_t *status)
{
    assert(b != NULL && status != NULL);
    mnemo_sync_status_t *s = &b->rec.status;
    free(s->path);
    free(s->error);
    *s = *status;
    memcpy(s->name, b->name, sizeof s->name);
    s->path = mnemo_xstrdup(status->path != NULL ? status->path : "");
    s->error = mnemo_xstrdup(status->error);
    if (status->state == MNEMO_SYNC_COMPLETED)
        b->rec.last_synced_at_ms = status->finished_at_ms;
    b->have_record = true;
    b->dirty = false;
    record_stage(b->batch, b->name, &b->rec);
}

size_t mnemo_repos_batch_size(const mnemo_repos_batch_t *b)
{
    return mnemo_store_batch_count(b->batch);
}

mnemo_status_t mnemo_repos_commit(mnemo_repos_batch_t *b, mnemo_err_t *err)
{
    assert(b != NULL);
    mnemo_status_t st = batch_check(b, err);
    if (st != MNEMO_OK)
        return st;
    if (b->dirty && b->have_record)
        record_stage(b->batch, b->name, &b->rec); /* files changed after set_status */
    st = mnemo_store_write(b->repos->store, b->batch, true, err);
    if (b->have_record && b->rec.status.state != MNEMO_SYNC_RUNNING)
        mnemo_index_burst_over(b->repos->index); /* the sync's last batch */
    if (st != MNEMO_OK) {
        /* Memory first, disk when it can: readers see this status now. */
        if (b->have_record)
            held_put(b->repos, &b->rec.status);
        /* The write told the index it failed, so the index has forgotten
         * these changes: they must never reach the store by a later commit
         * of this batch (a sync's final status after a failed batch, once
         * the store recovered), or their chunks would be on disk but not
         * in the index, unreachable until a restart and unremovable by the
         * next sync. The counts go back to what the store holds. */
        mnemo_store_batch_clear(b->batch);
        b->rec.file_count = b->stored_files;
        b->rec.chunk_count = b->stored_chunks;
        b->dirty = false;
        return st;
    }
    mnemo_store_batch_clear(b->batch);
    b->stored_files = b->rec.file_count;
    b->stored_chunks = b->rec.chunk_count;
    b->dirty = false;
    if (b->have_record)
        held_drop(b->repos, b->name);
    return MNEMO_OK;
}

mnemo_status_t mnemo_repos_record_held(mnemo_repos_t *repos, mnemo_err_t *err)
{
    assert(repos != NULL);
    mnemo_status_t st = MNEMO_OK;
    for (;;) {
        mnemo_sync_status_t status;
        pthread_mutex_lock(&repos->held_mu);
        bool any = repos->n_held > 0;
        if (any)
            status_copy(&status, &repos->held[0]);
        pthread_mutex_unlock(&repos->held_mu);
        if (!any || st != MNEMO_OK)
            break;
        mnemo_repos_batch_t *b = mnemo_repos_batch_create(repos, status.name);
        mnemo_repos_batch_set_status(b, &status);
        st = mnemo_repos_commit(b, err); /* drops it from held */
        mnemo_repos_batch_destroy(b);
        mnemo_sync_status_cleanup(&status);
    }
    return st;
}

void mnemo_repos_batch_destroy(mnemo_repos_batch_t *b)
{
    if (b == NULL)
        return;
    mnemo_store_batch_destroy(b->batch);
    record_cleanup(&b->rec);
    free(b);
}

/* ---- list ---- */

static char *token_encode(const mnemo_repos_t *repos, const char *name)
{
    return mnemo_pagetoken_encode(&repos->token_key, MNEMO_PAGETOKEN_REPOS, name, strlen(name),
                                  NULL, 0);
}

/* Decodes token into 'R' name '\0': the first key after that name. */
static mnemo_status_t token_decode(const mnemo_repos_t *repos, mnemo_buf_t *seek, const char *token,
                                   mnemo_err_t *err)
{
    uint8_t name[MNEMO_PAGETOKEN_MAX_POS];
    size_t len = 0;
    mnemo_status_t st = mnemo_pagetoken_decode(name, &len, &repos->token_key, MNEMO_PAGETOKEN_REPOS,
                                               NULL, 0, token, err);
    if (st != MNEMO_OK)
        return st;
    mnemo_buf_byte(seek, 'R');
    mnemo_buf_add(seek, name, len);
    mnemo_buf_byte(seek, '\0');
    return MNEMO_OK;
}

static mnemo_status_t info_from(mnemo_repo_info_t *info, const char *key, size_t klen,
                                const char *val, size_t vlen, mnemo_err_t *err)
{
    repo_record_t rec;
    mnemo_status_t st = record_decode(&rec, key + 1, klen - 1, val, vlen, err);
    if (st == MNEMO_OK) {
        memcpy(info->name, rec.status.name, sizeof info->name);
        info->path = rec.status.path;
        rec.status.path = NULL;
        info->file_count = rec.file_count;
        info->chunk_count = rec.chunk_count;
        info->last_synced_at_ms = rec.last_synced_at_ms;
        info->last_state = rec.status.state;
    }
    record_cleanup(&rec);
    return st;
}

/* Reads up to max records from the iterator's position; *more says whether
 * another record follows. */
static mnemo_status_t list_collect(mnemo_repos_t *repos, mnemo_store_iter_t *it,
                                   mnemo_repo_info_t *infos, size_t max, size_t *n, bool *more,
                                   mnemo_err_t *err)
{
    mnemo_status_t st = MNEMO_OK;
    *more = false;
    for (; st == MNEMO_OK && mnemo_store_iter_valid(it); mnemo_store_iter_next(it)) {
        size_t klen = 0, vlen = 0;
        const char *key = mnemo_store_iter_key(it, &klen);
        if (key[0] != 'R')
            break;
        if (*n == max) {
            *more = true;
            break;
        }
        const char *val = mnemo_store_iter_value(it, &vlen);
        st = info_from(&infos[*n], key, klen, val, vlen, err);
        mnemo_sync_status_t held;
        if (st == MNEMO_OK && held_get(repos, infos[*n].name, &held)) {
            infos[*n].last_state = held.state;
            mnemo_sync_status_cleanup(&held);
        }
        if (st == MNEMO_OK)
            (*n)++;
    }
    if (st == MNEMO_OK)
        st = mnemo_store_iter_status(it, err);
    return st;
}

uint64_t mnemo_repos_index_bytes(mnemo_repos_t *repos)
{
    return mnemo_index_memory_bytes(repos->index);
}

mnemo_status_t mnemo_repos_count(mnemo_repos_t *repos, uint64_t *n, mnemo_err_t *err)
{
    uint64_t count = 0;
    mnemo_store_iter_t *it = mnemo_store_iter_create_bulk(repos->store);
    for (mnemo_store_iter_seek(it, "R", 1); mnemo_store_iter_valid(it); mnemo_store_iter_next(it)) {
        size_t klen = 0;
        if (mnemo_store_iter_key(it, &klen)[0] != 'R')
            break;
        count++;
    }
    mnemo_status_t st = mnemo_store_iter_status(it, err);
    mnemo_store_iter_destroy(it);
    if (st == MNEMO_OK)
        *n = count;
    return st;
}

mnemo_status_t mnemo_repos_list(mnemo_repos_t *repos, mnemo_repo_info_t **out, size_t *n,
                                char **next_token, size_t page_size, const char *page_token,
                                mnemo_err_t *err)
{
    assert(repos != NULL && out != NULL && n != NULL && next_token != NULL);
    if (page_size == 0)
        page_size = MNEMO_DEFAULT_PAGE_SIZE;
    mnemo_buf_t seek = {0};
    mnemo_status_t st = MNEMO_OK;
    if (page_token != NULL && page_token[0] != '\0')
        st = token_decode(repos, &seek, page_token, err);
    else
        mnemo_buf_byte(&seek, 'R');
    if (st != MNEMO_OK) {
        mnemo_buf_cleanup(&seek);
        return st;
    }
    mnemo_repo_info_t *infos = mnemo_xcalloc(page_size, sizeof *infos);
    size_t count = 0;
    bool more = false;
    mnemo_store_iter_t *it = mnemo_store_iter_create(repos->store);
    mnemo_store_iter_seek(it, seek.p, seek.len);
    st = list_collect(repos, it, infos, page_size, &count, &more, err);
    mnemo_store_iter_destroy(it);
    mnemo_buf_cleanup(&seek);
    if (st != MNEMO_OK) {
        mnemo_repo_infos_free(infos, count);
        return st;
    }
    *next_token = more && count > 0 ? token_encode(repos, infos[count - 1].name) : NULL;
    *out = infos;
    *n = count;
    return MNEMO_OK;
}

/* ---- delete ---- */

/* Removes up to DELETE_BATCH_FILES files of b's repository and commits;
 * when they were the last, deletes the record in the same write. */
static mnemo_status_t delete_round(mnemo_repos_batch_t *b, bool *found, bool *done,
                                   mnemo_err_t *err)
{
    mnemo_manifest_t m = {0};
    mnemo_status_t st = manifest_scan(b->repos, &m, b->name, DELETE_BATCH_FILES, err);
    for (size_t i = 0; st == MNEMO_OK && i < m.count; i++)
        st = mnemo_repos_batch_remove_file(b, &m.entries[i], err);
    *found = m.count > 0;
    *done = m.count < DELETE_BATCH_FILES;
    mnemo_manifest_cleanup(&m);
    if (st != MNEMO_OK)
        return st;
    if (*done) {
        mnemo_buf_t key = {0};
        key_repo(&key, b->name);
        mnemo_store_batch_delete(b->batch, key.p, key.len);
        mnemo_buf_cleanup(&key);
        b->have_record = false; /* commit must not put it back */
    }
    return mnemo_repos_commit(b, err);
}

mnemo_status_t mnemo_repos_delete(mnemo_repos_t *repos, bool *deleted, const char *name,
                                  mnemo_err_t *err)
{
    assert(repos != NULL && deleted != NULL && name != NULL);
    mnemo_repos_batch_t *b = mnemo_repos_batch_create(repos, name);
    bool existed = b->have_record, found = false, done = false;
    if (b->load_st == MNEMO_ECORRUPT) {
        b->load_st = MNEMO_OK; /* a corrupt record must not make the repository undeletable */
        existed = true;
    }
    mnemo_status_t st = batch_check(b, err);
    while (st == MNEMO_OK && !done) {
        st = delete_round(b, &found, &done, err);
        existed = existed || found;
    }
    mnemo_repos_batch_destroy(b);
    if (st == MNEMO_OK)
        held_drop(repos, name);
    if (st == MNEMO_OK)
        *deleted = existed;
    return st;
}

/* ---- search ---- */

typedef struct search_filter {
    mnemo_repos_t *repos;
    const uint8_t *name_hash; /* NULL: any repository */
    const char *prefix;       /* NULL: any path */
    size_t prefix_len;
    uint8_t last_file[FILE_ID_LEN]; /* the chunks of one file share a verdict */
    bool have_last, last_pass;
    mnemo_status_t st; /* the first store error, reported after the search */
    mnemo_err_t err;
} search_filter_t;

static bool path_has_prefix(search_filter_t *f, const uint8_t *doc_id)
{
    uint8_t key[1 + DOC_ID_LEN];
    key[0] = 'K';
    memcpy(key + 1, doc_id, DOC_ID_LEN);
    char *val = NULL;
    size_t vlen = 0;
    mnemo_status_t st = mnemo_store_get(f->repos->store, key, sizeof key, &val, &vlen, &f->err);
    chunk_view_t c;
    bool pass = false;
    if (st == MNEMO_OK && chunk_decode(&c, val, vlen)) {
        pass = c.path_len >= f->prefix_len && memcmp(c.path, f->prefix, f->prefix_len) == 0;
        memcpy(f->last_file, doc_id, FILE_ID_LEN);
        f->have_last = true;
        f->last_pass = pass;
    } else if (st != MNEMO_OK && st != MNEMO_ENOTFOUND) {
        f->st = st; /* a corrupt chunk is skipped here and reported when loaded */
    }
    free(val);
    return pass;
}

static bool search_filter(void *ctx, const void *doc_id, size_t id_len)
{
    search_filter_t *f = ctx;
    if (id_len != DOC_ID_LEN || f->st != MNEMO_OK)
        return false;
    if (f->name_hash != NULL && memcmp(doc_id, f->name_hash, NAME_HASH_LEN) != 0)
        return false;
    if (f->prefix == NULL)
        return true;
    if (f->have_last && memcmp(doc_id, f->last_file, FILE_ID_LEN) == 0)
        return f->last_pass;
    return path_has_prefix(f, doc_id);
}

/* Loads the chunk of doc_id into hit; MNEMO_ENOTFOUND when it is gone. */
static mnemo_status_t hit_load(mnemo_repos_t *repos, mnemo_code_hit_t *hit, const uint8_t *doc_id,
                               mnemo_err_t *err)
{
    uint8_t key[1 + DOC_ID_LEN];
    key[0] = 'K';
    memcpy(key + 1, doc_id, DOC_ID_LEN);
    char *val = NULL;
    size_t vlen = 0;
    mnemo_status_t st = mnemo_store_get(repos->store, key, sizeof key, &val, &vlen, err);
    if (st != MNEMO_OK)
        return st;
    chunk_view_t c;
    if (chunk_decode(&c, val, vlen)) {
        memcpy(hit->name, c.name, c.name_len);
        hit->name[c.name_len] = '\0';
        hit->path = mnemo_xstrndup(c.path, c.path_len);
        hit->content = mnemo_xstrndup(c.content, c.content_len);
        hit->start_line = c.start_line;
        hit->end_line = c.end_line;
    } else {
        char hex[2 * DOC_ID_LEN + 1];
        mnemo_hex_encode(hex, doc_id, DOC_ID_LEN);
        st = mnemo_err_set(err, MNEMO_ECORRUPT, "code chunk %s: corrupt record", hex);
    }
    free(val);
    return st;
}

/* Turns index hits into code hits, skipping chunks removed since ranking. */
static mnemo_status_t hits_load(mnemo_repos_t *repos, mnemo_code_hit_t **out, size_t *n,
                                const mnemo_index_hit_t *ih, size_t n_ih, mnemo_err_t *err)
{
    mnemo_code_hit_t *hits = mnemo_xcalloc(n_ih, sizeof *hits);
    size_t count = 0;
    mnemo_status_t st = MNEMO_OK;
    for (size_t i = 0; i < n_ih && st == MNEMO_OK; i++) {
        if (ih[i].id_len != DOC_ID_LEN)
            continue;
        st = hit_load(repos, &hits[count], ih[i].id, err);
        if (st == MNEMO_OK)
            hits[count++].score = ih[i].score;
        else if (st == MNEMO_ENOTFOUND)
            st = MNEMO_OK;
    }
    if (st != MNEMO_OK) {
        mnemo_code_hits_free(hits, count);
        return st;
    }
    *out = hits;
    *n = count;
    return MNEMO_OK;
}

mnemo_status_t mnemo_repos_search(mnemo_repos_t *repos, mnemo_code_hit_t **hits, size_t *n,
                                  const char *query, const char *name, const char *path_prefix,
                                  size_t limit, mnemo_err_t *err)
{
    assert(repos != NULL && hits != NULL && n != NULL);
    uint8_t nh[NAME_HASH_LEN];
    search_filter_t f = {.repos = repos, .st = MNEMO_OK};
    if (name != NULL && name[0] != '\0') {
        name_hash(nh, name);
        f.name_hash = nh;
    }
    if (path_prefix != NULL && path_prefix[0] != '\0') {
        f.prefix = path_prefix;
        f.prefix_len = strlen(path_prefix);
    }
    bool filtered = f.name_hash != NULL || f.prefix != NULL;
    if (query == NULL)
        query = "";
    mnemo_index_hit_t *ih = NULL;
    size_t n_ih = 0;
    mnemo_status_t st = mnemo_index_search(repos->index, &ih, &n_ih, query, strlen(query),
                                           limit != 0 ? limit : MNEMO_DEFAULT_LIMIT, 0.0,
                                           filtered ? search_filter : NULL, &f, err);
    if (st == MNEMO_OK && f.st != MNEMO_OK)
        st = mnemo_err_set(err, f.st, "%s", f.err.msg);
    if (st == MNEMO_OK)
        st = hits_load(repos, hits, n, ih, n_ih, err);
    free(ih);
    return st;
}

/* ---- ownership ---- */

void mnemo_sync_status_cleanup(mnemo_sync_status_t *st)
{
    if (st == NULL)
        return;
    free(st->path);
    free(st->error);
    st->path = NULL;
    st->error = NULL;
}

void mnemo_manifest_cleanup(mnemo_manifest_t *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->count; i++)
        free(m->entries[i].path);
    free(m->entries);
    m->entries = NULL;
    m->count = 0;
}

void mnemo_repo_infos_free(mnemo_repo_info_t *infos, size_t n)
{
    if (infos == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(infos[i].path);
    free(infos);
}

void mnemo_code_hits_free(mnemo_code_hit_t *hits, size_t n)
{
    if (hits == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(hits[i].path);
        free(hits[i].content);
    }
    free(hits);
}

/* ---- repair (repos.h, mnemo_repos_repair) ----
 *
 * Over a store no mnemo_repos_t has open, after LevelDB's repairer. The
 * index is dropped first. The repositories are the names of 'R' records
 * and of 'F' entries. One with a readable record is checked file by file:
 * its manifest is loaded and sorted by file id, then the chunks of the
 * repository (one key range: every chunk id starts with the name's hash)
 * are read in order, which brings each file's chunks together and in
 * chunk order; a file is kept when they are all there and their contents
 * hash to the manifest's SHA-256 (the chunker's chunks reassemble to the
 * file), and its chunks then go into the new index. One without a
 * readable record is removed. Last, chunks of names no kept repository
 * has are removed.
 */

#include <stdio.h> /* here, not at the top: only the repair uses it */

#define REPAIR_OPS 1024 /* store operations (or chunks indexed) per write */

typedef struct repair_file {
    uint8_t fid[FILE_ID_LEN];
    mnemo_manifest_entry_t e; /* path owned */
    bool seen;                /* its chunks were met */
} repair_file_t;

typedef struct repair {
    mnemo_repos_t repos; /* store and the new index; no token key */
    mnemo_store_batch_t *batch;
    size_t staged;    /* chunks indexed into batch since the last write */
    mnemo_buf_t kept; /* name hashes of the repositories kept, sorted */
    size_t n_kept;
    mnemo_repos_repair_t out;
    size_t cap;
} repair_t;

/* The chunks of one file as the range scan meets them. */
typedef struct file_scan {
    bool active;      /* on a file (the fields below are set) */
    repair_file_t *f; /* NULL: no manifest entry has these chunks */
    uint8_t fid[FILE_ID_LEN];
    uint32_t next;    /* the chunk number expected next */
    uint32_t good;    /* chunks met that decode and name the file */
    bool bad;         /* a chunk missing, damaged or not of the file */
    mnemo_buf_t text; /* their contents, in order */
    size_t *ends;     /* where each chunk ends in text */
    size_t n_ends, cap_ends;
} file_scan_t;

static mnemo_status_t repair_flush(repair_t *r, size_t min, bool sync, mnemo_err_t *err)
{
    if (mnemo_store_batch_count(r->batch) < min && r->staged < min)
        return MNEMO_OK;
    mnemo_status_t st = mnemo_store_write(r->repos.store, r->batch, sync, err);
    mnemo_store_batch_clear(r->batch);
    r->staged = 0;
    return st;
}

static mnemo_repo_repair_t *repair_entry_for(repair_t *r, const char *name, size_t len)
{
    for (size_t i = 0; i < r->out.n_repos; i++)
        if (strlen(r->out.repos[i].name) == len && memcmp(r->out.repos[i].name, name, len) == 0)
            return &r->out.repos[i];
    if (r->out.n_repos == r->cap) {
        r->cap = r->cap != 0 ? 2 * r->cap : 8;
        r->out.repos = mnemo_xrealloc(r->out.repos, r->cap * sizeof *r->out.repos);
    }
    mnemo_repo_repair_t *rep = &r->out.repos[r->out.n_repos++];
    memset(rep, 0, sizeof *rep);
    memcpy(rep->name, name, len);
    return rep;
}

/* A name as it may appear in a key: 1..MNEMO_REPO_NAME_MAX bytes, no NUL. */
static bool repair_name_ok(const char *name, size_t len)
{
    return len > 0 && len <= MNEMO_REPO_NAME_MAX && memchr(name, '\0', len) == NULL;
}

/* Lists every repository name of 'R' records and 'F' entries in r->out
 * (a key that cannot hold a name is removed). */
static mnemo_status_t repair_names(repair_t *r, mnemo_err_t *err)
{
    mnemo_status_t st = MNEMO_OK;
    mnemo_store_iter_t *it = mnemo_store_iter_create_bulk(r->repos.store);
    mnemo_buf_t seek = {0};
    for (mnemo_store_iter_seek(it, "F", 1); st == MNEMO_OK && mnemo_store_iter_valid(it);) {
        size_t klen = 0;
        const char *key = mnemo_store_iter_key(it, &klen);
        if (key[0] != 'F' && key[0] != 'R') {
            if (key[0] > 'R')
                break;
            mnemo_store_iter_seek(it, "R", 1);
            continue;
        }
        const char *nul = key[0] == 'F' ? memchr(key + 1, '\0', klen - 1) : NULL;
        size_t len = key[0] == 'F' ? (nul != NULL ? (size_t)(nul - key - 1) : 0) : klen - 1;
        if (!repair_name_ok(key + 1, len)) {
            mnemo_store_batch_delete(r->batch, key, klen);
            mnemo_store_iter_next(it);
            continue;
        }
        repair_entry_for(r, key + 1, len);
        if (key[0] == 'R') {
            mnemo_store_iter_next(it);
            continue;
        }
        seek.len = 0; /* past every entry of this name: 'F' name '\1' */
        mnemo_buf_add(&seek, key, 1 + len);
        mnemo_buf_byte(&seek, 1);
        mnemo_store_iter_seek(it, seek.p, seek.len);
    }
    mnemo_buf_cleanup(&seek);
    if (st == MNEMO_OK)
        st = mnemo_store_iter_status(it, err);
    mnemo_store_iter_destroy(it);
    return st == MNEMO_OK ? repair_flush(r, 1, false, err) : st;
}

static int cmp_repair_file(const void *a, const void *b)
{
    return memcmp(((const repair_file_t *)a)->fid, ((const repair_file_t *)b)->fid, FILE_ID_LEN);
}

/* The manifest of rep's repository into *files (sorted by file id, the
 * caller's); an entry that does not decode is removed and counted damaged. */
static mnemo_status_t repair_manifest(repair_t *r, mnemo_repo_repair_t *rep,
                                      const uint8_t nh[NAME_HASH_LEN], repair_file_t **files,
                                      size_t *n, mnemo_err_t *err)
{
    mnemo_buf_t prefix = {0};
    key_file(&prefix, rep->name, NULL);
    size_t cap = 0;
    *files = NULL;
    *n = 0;
    mnemo_store_iter_t *it = mnemo_store_iter_create_bulk(r->repos.store);
    for (mnemo_store_iter_seek(it, prefix.p, prefix.len); mnemo_store_iter_valid(it);
         mnemo_store_iter_next(it)) {
        size_t klen = 0, vlen = 0;
        const char *key = mnemo_store_iter_key(it, &klen);
        if (klen < prefix.len || memcmp(key, prefix.p, prefix.len) != 0)
            break;
        const char *val = mnemo_store_iter_value(it, &vlen);
        rep->files++;
        repair_file_t f = {.seen = false};
        if (klen == prefix.len || !manifest_decode(&f.e, val, vlen)) {
            mnemo_store_batch_delete(r->batch, key, klen); /* its chunks go as strays */
            rep->files_damaged++;
            continue;
        }
        f.e.path = mnemo_xstrndup(key + prefix.len, klen - prefix.len);
        file_id(f.fid, nh, rep->name, f.e.path);
        rep->chunks += f.e.n_chunks;
        if (*n == cap) {
            cap = cap != 0 ? 2 * cap : 16;
            *files = mnemo_xrealloc(*files, cap * sizeof **files);
        }
        (*files)[(*n)++] = f;
    }
    mnemo_status_t st = mnemo_store_iter_status(it, err);
    mnemo_store_iter_destroy(it);
    mnemo_buf_cleanup(&prefix);
    if (*n > 0)
        qsort(*files, *n, sizeof **files, cmp_repair_file);
    return st == MNEMO_OK ? repair_flush(r, 1, false, err) : st;
}

/* Indexes the chunks of an intact file (their contents in s->text). */
static mnemo_status_t repair_index_file(repair_t *r, const file_scan_t *s, mnemo_err_t *err)
{
    mnemo_status_t st = MNEMO_OK;
    for (uint32_t k = 0; k < s->n_ends && st == MNEMO_OK; k++) {
        uint8_t key[1 + DOC_ID_LEN];
        key_chunk(key, s->fid, k);
        size_t start = k > 0 ? s->ends[k - 1] : 0;
        st = mnemo_index_add(r->repos.index, r->batch, key + 1, (const char *)s->text.p + start,
                             s->ends[k] - start, err);
        r->staged++;
        r->out.chunks_indexed++;
    }
    return st;
}

/* Drops a damaged file: its manifest entry and every chunk it had. */
static void repair_drop_file(repair_t *r, const mnemo_repo_repair_t *rep, const repair_file_t *f)
{
    for (uint32_t k = 0; k < f->e.n_chunks; k++) {
        uint8_t key[1 + DOC_ID_LEN];
        key_chunk(key, f->fid, k);
        mnemo_store_batch_delete(r->batch, key, sizeof key);
    }
    mnemo_buf_t key = {0};
    key_file(&key, rep->name, f->e.path);
    mnemo_store_batch_delete(r->batch, key.p, key.len);
    mnemo_buf_cleanup(&key);
}

/* Decides the file s scanned: indexed when whole, else dropped. */
static mnemo_status_t repair_finish_file(repair_t *r, mnemo_repo_repair_t *rep, file_scan_t *s,
                                         int64_t *kept_chunks, mnemo_err_t *err)
{
    repair_file_t *f = s->f;
    if (f == NULL)
        return MNEMO_OK;
    f->seen = true;
    bool whole = !s->bad && s->next == f->e.n_chunks;
    uint8_t sha[MNEMO_SHA256_LEN];
    mnemo_sha256(s->text.len > 0 ? (const void *)s->text.p : "", s->text.len, sha);
    bool same = whole && memcmp(sha, f->e.sha256, sizeof sha) == 0;
    if (same) {
        *kept_chunks += f->e.n_chunks;
        mnemo_status_t st = repair_index_file(r, s, err);
        return st == MNEMO_OK ? repair_flush(r, REPAIR_OPS, false, err) : st;
    }
    rep->files_damaged++;
    rep->chunks_damaged += whole ? f->e.n_chunks : f->e.n_chunks - s->good;
    repair_drop_file(r, rep, f);
    return repair_flush(r, REPAIR_OPS, false, err);
}

/* Starts s on the chunks of file id fid. */
static void scan_start(file_scan_t *s, repair_file_t *files, size_t n, const uint8_t *fid)
{
    memcpy(s->fid, fid, FILE_ID_LEN);
    s->active = true;
    repair_file_t probe;
    memcpy(probe.fid, fid, FILE_ID_LEN);
    s->f = n > 0 ? bsearch(&probe, files, n, sizeof *files, cmp_repair_file) : NULL;
    s->next = 0;
    s->good = 0;
    s->bad = false;
    s->text.len = 0;
    s->n_ends = 0;
}

/* Adds chunk k (value val) to the file s is on; false when it is a stray
 * (no manifest entry calls for it). */
static bool scan_chunk(file_scan_t *s, const char *name, uint32_t k, const char *val, size_t vlen)
{
    if (s->f == NULL || k >= s->f->e.n_chunks)
        return false;
    chunk_view_t c;
    bool ok = chunk_decode(&c, val, vlen) && c.name_len == strlen(name) &&
              memcmp(c.name, name, c.name_len) == 0 && c.path_len == strlen(s->f->e.path) &&
              memcmp(c.path, s->f->e.path, c.path_len) == 0;
    s->bad = s->bad || !ok || k != s->next;
    s->next = k + 1;
    if (!ok)
        return true;
    s->good++;
    mnemo_buf_add(&s->text, c.content, c.content_len);
    if (s->n_ends == s->cap_ends) {
        s->cap_ends = s->cap_ends != 0 ? 2 * s->cap_ends : 16;
        s->ends = mnemo_xrealloc(s->ends, s->cap_ends * sizeof *s->ends);
    }
    s->ends[s->n_ends++] = s->text.len;
    return true;
}

/* Reads the chunks of rep's repository (key range 'K' name-hash) file by
 * file; *kept_chunks counts those of intact files. */
static mnemo_status_t repair_chunks(repair_t *r, mnemo_repo_repair_t *rep,
                                    const uint8_t nh[NAME_HASH_LEN], repair_file_t *files, size_t n,
                                    int64_t *kept_chunks, mnemo_err_t *err)
{
    uint8_t prefix[1 + NAME_HASH_LEN];
    prefix[0] = 'K';
    memcpy(prefix + 1, nh, NAME_HASH_LEN);
    file_scan_t s = {.active = false};
    mnemo_status_t st = MNEMO_OK;
    mnemo_store_iter_t *it = mnemo_store_iter_create_bulk(r->repos.store);
    for (mnemo_store_iter_seek(it, prefix, sizeof prefix);
         st == MNEMO_OK && mnemo_store_iter_valid(it); mnemo_store_iter_next(it)) {
        size_t klen = 0, vlen = 0;
        const char *key = mnemo_store_iter_key(it, &klen);
        if (klen < sizeof prefix || memcmp(key, prefix, sizeof prefix) != 0)
            break;
        const uint8_t *fid = (const uint8_t *)key + 1;
        bool sized = klen == 1 + DOC_ID_LEN;
        if (sized && (!s.active || memcmp(fid, s.fid, FILE_ID_LEN) != 0)) {
            st = repair_finish_file(r, rep, &s, kept_chunks, err);
            scan_start(&s, files, n, fid);
        }
        const char *val = mnemo_store_iter_value(it, &vlen);
        if (!sized || !scan_chunk(&s, rep->name, mnemo_get_be32(fid + FILE_ID_LEN), val, vlen)) {
            mnemo_store_batch_delete(r->batch, key, klen);
            r->out.stray_chunks++;
        }
    }
    if (st == MNEMO_OK)
        st = mnemo_store_iter_status(it, err);
    mnemo_store_iter_destroy(it);
    if (st == MNEMO_OK)
        st = repair_finish_file(r, rep, &s, kept_chunks, err);
    mnemo_buf_cleanup(&s.text);
    free(s.ends);
    return st;
}

/* Checks every file of the repository whose record rec is, and rewrites
 * the record: counts of what was kept, INTERRUPTED when files were
 * dropped. */
static mnemo_status_t repair_repo(repair_t *r, mnemo_repo_repair_t *rep, repo_record_t *rec,
                                  mnemo_err_t *err)
{
    uint8_t nh[NAME_HASH_LEN];
    name_hash(nh, rep->name);
    repair_file_t *files = NULL;
    size_t n = 0;
    int64_t kept_files = 0, kept_chunks = 0;
    mnemo_status_t st = repair_manifest(r, rep, nh, &files, &n, err);
    if (st == MNEMO_OK)
        st = repair_chunks(r, rep, nh, files, n, &kept_chunks, err);
    for (size_t i = 0; st == MNEMO_OK && i < n; i++) {
        repair_file_t *f = &files[i];
        bool empty_ok = f->e.n_chunks == 0 && !f->seen; /* an empty file has no chunks */
        if (empty_ok) {
            file_scan_t none = {.f = f};
            st = repair_finish_file(r, rep, &none, &kept_chunks, err);
        } else if (!f->seen) {
            rep->files_damaged++;
            rep->chunks_damaged += f->e.n_chunks;
            repair_drop_file(r, rep, f);
        }
    }
    kept_files = rep->files - rep->files_damaged;
    for (size_t i = 0; i < n; i++)
        free(files[i].e.path);
    free(files);
    if (st != MNEMO_OK)
        return st;
    rec->file_count = kept_files;
    rec->chunk_count = kept_chunks;
    if (rep->files_damaged > 0) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "repair: %lld of %lld files had missing or damaged chunks and were dropped; "
                 "the next sync reads them again",
                 (long long)rep->files_damaged, (long long)rep->files);
        rec->status.state = MNEMO_SYNC_INTERRUPTED;
        free(rec->status.error);
        rec->status.error = mnemo_xstrdup(msg);
    }
    record_stage(r->batch, rep->name, rec);
    mnemo_buf_add(&r->kept, nh, NAME_HASH_LEN);
    return repair_flush(r, 1, false, err);
}

/* Removes a repository whose record is gone or damaged: entries, chunks
 * (one key range), record. */
static mnemo_status_t repair_remove_repo(repair_t *r, mnemo_repo_repair_t *rep, mnemo_err_t *err)
{
    rep->removed = true;
    mnemo_buf_t key = {0};
    key_file(&key, rep->name, NULL);
    mnemo_status_t st = mnemo_store_drop_prefix(r->repos.store, r->batch, key.p, key.len,
                                                REPAIR_OPS, &rep->files, err);
    uint8_t prefix[1 + NAME_HASH_LEN];
    prefix[0] = 'K';
    name_hash(prefix + 1, rep->name);
    if (st == MNEMO_OK)
        st = mnemo_store_drop_prefix(r->repos.store, r->batch, prefix, sizeof prefix, REPAIR_OPS,
                                     &rep->chunks, err);
    key_repo(&key, rep->name);
    mnemo_store_batch_delete(r->batch, key.p, key.len);
    mnemo_buf_cleanup(&key);
    return st == MNEMO_OK ? repair_flush(r, 1, false, err) : st;
}

static int cmp_name_hash(const void *a, const void *b)
{
    return memcmp(a, b, NAME_HASH_LEN);
}

/* Removes every chunk of a name hash no kept repository has; the name in
 * a chunk that still decodes is reported as a removed repository. */
static mnemo_status_t repair_strays(repair_t *r, mnemo_err_t *err)
{
    r->n_kept = r->kept.len / NAME_HASH_LEN;
    if (r->n_kept > 0)
        qsort(r->kept.p, r->n_kept, NAME_HASH_LEN, cmp_name_hash);
    mnemo_status_t st = MNEMO_OK;
    mnemo_store_iter_t *it = mnemo_store_iter_create_bulk(r->repos.store);
    for (mnemo_store_iter_seek(it, "K", 1); st == MNEMO_OK && mnemo_store_iter_valid(it);
         mnemo_store_iter_next(it)) {
        size_t klen = 0, vlen = 0;
        const char *key = mnemo_store_iter_key(it, &klen);
        if (key[0] != 'K')
            break;
        if (klen > NAME_HASH_LEN && r->n_kept > 0 &&
            bsearch(key + 1, r->kept.p, r->n_kept, NAME_HASH_LEN, cmp_name_hash) != NULL)
            continue;
        const char *val = mnemo_store_iter_value(it, &vlen);
        chunk_view_t c;
        if (chunk_decode(&c, val, vlen) && repair_name_ok(c.name, c.name_len)) {
            mnemo_repo_repair_t *rep = repair_entry_for(r, c.name, c.name_len);
            rep->removed = true;
            rep->chunks++;
        } else {
            r->out.stray_chunks++;
        }
        mnemo_store_batch_delete(r->batch, key, klen);
        st = repair_flush(r, REPAIR_OPS, false, err);
    }
    if (st == MNEMO_OK)
        st = mnemo_store_iter_status(it, err);
    mnemo_store_iter_destroy(it);
    return st == MNEMO_OK ? repair_flush(r, 1, false, err) : st;
}

static int cmp_repo_repair(const void *a, const void *b)
{
    return strcmp(((const mnemo_repo_repair_t *)a)->name, ((const mnemo_repo_repair_t *)b)->name);
}

static mnemo_status_t repair_run(repair_t *r, mnemo_err_t *err)
{
    mnemo_status_t st = mnemo_index_drop(r->repos.store, INDEX_NS, r->batch, REPAIR_OPS, err);
    if (st == MNEMO_OK)
        st = mnemo_index_open(&r->repos.index, r->repos.store, INDEX_NS, DOC_ID_LEN, err);
    if (st != MNEMO_OK)
        return st;
    mnemo_index_start(r->repos.index);
    st = repair_names(r, err);
    size_t n_named = r->out.n_repos; /* repair_strays may add more */
    for (size_t i = 0; st == MNEMO_OK && i < n_named; i++) {
        mnemo_repo_repair_t *rep = &r->out.repos[i];
        repo_record_t rec;
        mnemo_err_t why;
        st = record_load(&r->repos, &rec, rep->name, &why);
        if (st == MNEMO_OK) {
            st = repair_repo(r, rep, &rec, err);
            record_cleanup(&rec);
        } else if (st == MNEMO_ENOTFOUND || st == MNEMO_ECORRUPT) {
            st = repair_remove_repo(r, rep, err);
        } else {
            mnemo_err_set(err, st, "%s", why.msg);
        }
    }
    if (st == MNEMO_OK)
        st = repair_strays(r, err);
    if (st == MNEMO_OK)
        st = mnemo_index_merge(r->repos.index, err);
    if (st == MNEMO_OK)
        st = repair_flush(r, 0, true, err); /* an fsync makes every write above durable */
    if (r->out.n_repos > 0)
        qsort(r->out.repos, r->out.n_repos, sizeof *r->out.repos, cmp_repo_repair);
    return st;
}

mnemo_status_t mnemo_repos_repair(mnemo_repos_repair_t *out, mnemo_store_t *store, mnemo_err_t *err)
{
    assert(out != NULL && store != NULL);
    repair_t *r = mnemo_xcalloc(1, sizeof *r);
    r->repos.store = store;
    r->batch = mnemo_store_batch_create();
    mnemo_status_t st = repair_run(r, err);
    mnemo_store_batch_destroy(r->batch); /* before the index closes: see index.h */
    mnemo_index_close(r->repos.index);
    mnemo_buf_cleanup(&r->kept);
    if (st == MNEMO_OK)
        *out = r->out;
    else
        free(r->out.repos);
    free(r);
    return st;
}

void mnemo_repos_repair_cleanup(mnemo_repos_repair_t *r)
{
    if (r == NULL)
        return;
    free(r->repos);
    r->repos = NULL;
    r->n_repos = 0;
}
