/* test_repair.c - unit tests of repair.c over real stores in a temporary
 * data dir: the memories' consistency pass (a record whose content was
 * altered is dropped and reported, missing entries come back, a record
 * that contradicts its entries is dropped, the index is rebuilt from what
 * was kept), the code store's (a file with a lost chunk is dropped from
 * the index and its repository marked for re-sync, a repository whose
 * record is gone is removed) and the printed report.
 */
#include "bytes.h"
#include "datadir.h"
#include "hash.h"
#include "memories.h"
#include "repair.h"
#include "repos.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct env {
    char *dir; /* the data dir */
    char store_dir[4200];
    mnemo_store_t *store;
    mnemo_memories_t *mem;
    mnemo_repos_t *repos;
} env_t;

/* Opens the memories (or the code) store of the data dir e->dir. */
static void env_open(env_t *e, bool code)
{
    mnemo_err_t err = {{0}};
    snprintf(e->store_dir, sizeof e->store_dir, "%s/%s", e->dir, code ? "code" : "memories");
    CU_ASSERT_EQUAL_FATAL(mnemo_store_open(&e->store, e->store_dir, NULL, &err), MNEMO_OK);
    if (code) {
        CU_ASSERT_EQUAL_FATAL(mnemo_repos_open(&e->repos, e->store, &err), MNEMO_OK);
    } else {
        mnemo_memories_options_t opts = {.sync_writes = false};
        CU_ASSERT_EQUAL_FATAL(mnemo_memories_open(&e->mem, e->store, &opts, &err), MNEMO_OK);
    }
}

/* Closes the modules, leaving the store open for damage. */
static void env_close_modules(env_t *e)
{
    mnemo_memories_close(e->mem);
    mnemo_repos_close(e->repos);
    e->mem = NULL;
    e->repos = NULL;
}

static void env_close(env_t *e)
{
    env_close_modules(e);
    mnemo_store_close(e->store);
    e->store = NULL;
}

static mnemo_repair_report_t repair(env_t *e)
{
    mnemo_repair_report_t r;
    memset(&r, 0, sizeof r);
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL_FATAL(mnemo_repair_run(&r, e->dir, &err), MNEMO_OK);
    return r;
}

/* The report as printed, the caller's (free()). */
static char *printed(const mnemo_repair_report_t *r)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    mnemo_repair_print(r, f);
    fclose(f);
    return text;
}

static void put(env_t *e, const char *content, const char *tag, char id[65])
{
    const char *tags[1] = {tag};
    mnemo_memory_input_t in = {.content = content,
                               .content_len = strlen(content),
                               .tags = tags,
                               .n_tags = tag != NULL ? 1 : 0};
    mnemo_memory_t *m = NULL;
    bool created = false;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL_FATAL(mnemo_memories_put(e->mem, &m, &created, &in, 1000, &err), MNEMO_OK);
    memcpy(id, m->id, 65);
    mnemo_memory_destroy(m);
}

static void raw_put(env_t *e, const void *key, size_t klen, const void *val, size_t vlen)
{
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    mnemo_store_batch_put(b, key, klen, val, vlen);
    CU_ASSERT_EQUAL(mnemo_store_write(e->store, b, true, NULL), MNEMO_OK);
    mnemo_store_batch_destroy(b);
}

static void raw_delete(env_t *e, const void *key, size_t klen)
{
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    mnemo_store_batch_delete(b, key, klen);
    CU_ASSERT_EQUAL(mnemo_store_write(e->store, b, true, NULL), MNEMO_OK);
    mnemo_store_batch_destroy(b);
}

/* Deletes every key that starts with prefix (one byte). */
static void raw_drop(env_t *e, char prefix)
{
    mnemo_store_iter_t *it = mnemo_store_iter_create(e->store);
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    for (mnemo_store_iter_seek(it, &prefix, 1); mnemo_store_iter_valid(it);
         mnemo_store_iter_next(it)) {
        size_t klen = 0;
        const char *key = mnemo_store_iter_key(it, &klen);
        if (key[0] != prefix)
            break;
        mnemo_store_batch_delete(b, key, klen);
    }
    mnemo_store_iter_destroy(it);
    CU_ASSERT_EQUAL(mnemo_store_write(e->store, b, true, NULL), MNEMO_OK);
    mnemo_store_batch_destroy(b);
}

/* 'm' id32 of the hex id into key. */
static void record_key(uint8_t key[33], const char *id)
{
    key[0] = 'm';
    CU_ASSERT_FATAL(mnemo_hex_decode(key + 1, 32, id, 64));
}

/* The value of the key in the store, the caller's (free()). */
static char *raw_get(env_t *e, const void *key, size_t klen, size_t *vlen)
{
    char *val = NULL;
    CU_ASSERT_EQUAL_FATAL(mnemo_store_get(e->store, key, klen, &val, vlen, NULL), MNEMO_OK);
    return val;
}

/* Position key 't' be64(created) id32 of memory id, created at 1000. */
static void time_key(uint8_t key[41], const char *id)
{
    key[0] = 't';
    mnemo_put_be64(key + 1, 1000);
    CU_ASSERT_FATAL(mnemo_hex_decode(key + 9, 32, id, 64));
}

/* 'g' tag '\0' be64(created) id32 into b. */
static void tag_key(mnemo_buf_t *b, const char *tag, const char *id)
{
    uint8_t pos[40];
    mnemo_put_be64(pos, 1000);
    CU_ASSERT_FATAL(mnemo_hex_decode(pos + 8, 32, id, 64));
    b->len = 0;
    mnemo_buf_byte(b, 'g');
    mnemo_buf_add(b, tag, strlen(tag) + 1);
    mnemo_buf_add(b, pos, sizeof pos);
}

static mnemo_memory_t *get(env_t *e, const char *id, mnemo_status_t *st)
{
    mnemo_memory_t *m = NULL;
    *st = mnemo_memories_get(e->mem, &m, id, NULL);
    return m;
}

/* The ids retrieved for query, best first, in one string. */
static char *retrieved(env_t *e, const char *query)
{
    mnemo_memory_list_t list = {0};
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(
        mnemo_memories_retrieve(e->mem, &list, query, strlen(query), 10, NULL, 0, 0.0, &err),
        MNEMO_OK);
    mnemo_buf_t out = {0};
    for (size_t i = 0; i < list.count; i++) {
        mnemo_buf_add(&out, list.items[i]->id, MNEMO_MEMORY_ID_LEN);
        mnemo_buf_byte(&out, ' ');
    }
    mnemo_buf_byte(&out, '\0');
    mnemo_memory_list_cleanup(&list);
    return (char *)out.p;
}

static const char *const texts[] = {
    "the lighthouse keeper logs every passing ship",
    "a recipe for sourdough needs a patient starter",
    "quarterly budget review moved to thursday",
};

/* A memory whose stored content was altered no longer hashes to its id:
 * repair drops it and names it; the others are kept exactly and found
 * again by an index rebuilt from their content (the old one is gone). */
static void test_repair__altered_memory_is_dropped_and_reported(void)
{
    env_t e = {.dir = mnemo_test_tmpdir()};
    env_open(&e, false);
    char ids[3][65];
    for (int i = 0; i < 3; i++)
        put(&e, texts[i], i == 2 ? "work" : NULL, ids[i]);
    env_close_modules(&e);
    uint8_t key[33];
    record_key(key, ids[1]);
    size_t vlen = 0;
    char *val = raw_get(&e, key, sizeof key, &vlen);
    char *at = memmem(val, vlen, "sourdough", 9);
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    at[0] = 'S'; /* still decodes; no longer hashes to its id */
    raw_put(&e, key, sizeof key, val, vlen);
    free(val);
    raw_drop(&e, 'M'); /* the index is gone too */
    mnemo_store_close(e.store);

    mnemo_repair_report_t r = repair(&e);
    CU_ASSERT_EQUAL(r.memories.kept, 2);
    CU_ASSERT_EQUAL(r.memories.lost, 1);
    CU_ASSERT_STRING_EQUAL(r.memories.lost_ids[0], ids[1]);
    CU_ASSERT_EQUAL(r.memories.untraced, 0);
    char *text = printed(&r);
    char want[200];
    snprintf(want, sizeof want, "memories: kept 2, lost 1 (ids: %s)\n", ids[1]);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, want));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "index: rebuilt from 2 memories\n"));
    CU_ASSERT_PTR_NULL(strstr(text, "sourdough")); /* no content in the report */
    free(text);
    mnemo_repair_report_cleanup(&r);

    env_open(&e, false);
    mnemo_status_t st;
    mnemo_memory_t *m = get(&e, ids[1], &st);
    CU_ASSERT_EQUAL(st, MNEMO_ENOTFOUND);
    for (int i = 0; i < 3; i += 2) {
        m = get(&e, ids[i], &st);
        CU_ASSERT_EQUAL(st, MNEMO_OK);
        CU_ASSERT(m != NULL && strcmp(m->content, texts[i]) == 0);
        mnemo_memory_destroy(m);
    }
    char *hits = retrieved(&e, "lighthouse ship");
    CU_ASSERT_EQUAL(strncmp(hits, ids[0], 64), 0);
    free(hits);
    hits = retrieved(&e, "budget thursday");
    CU_ASSERT_EQUAL(strncmp(hits, ids[2], 64), 0);
    free(hits);
    hits = retrieved(&e, "sourdough starter");
    CU_ASSERT_STRING_EQUAL(hits, "");
    free(hits);
    CU_ASSERT_EQUAL(mnemo_memories_count(e.mem), 2);
    mnemo_memory_list_t list = {0};
    CU_ASSERT_EQUAL(mnemo_memories_list(e.mem, &list, 0, NULL, NULL, 0, NULL), MNEMO_OK);
    CU_ASSERT_EQUAL(list.count, 2);
    mnemo_memory_list_cleanup(&list);
    env_close(&e);
    mnemo_test_rmtree(e.dir);
    free(e.dir);
}

/* A kept memory's missing time and tag entries come back; a record that
 * an entry contradicts (a tag it lacks: it may be an older version) is
 * dropped and reported; an entry whose record is gone names a lost id. */
static void test_repair__entries_are_restored_or_the_memory_dropped(void)
{
    env_t e = {.dir = mnemo_test_tmpdir()};
    env_open(&e, false);
    char ids[3][65];
    put(&e, texts[0], "sea", ids[0]);
    put(&e, texts[1], "food", ids[1]);
    put(&e, texts[2], "work", ids[2]);
    env_close_modules(&e);
    uint8_t key[41];
    time_key(key, ids[0]);
    raw_delete(&e, key, sizeof key); /* memory 0 lost its entries */
    mnemo_buf_t b = {0};
    tag_key(&b, "sea", ids[0]);
    raw_delete(&e, b.p, b.len);
    tag_key(&b, "dessert", ids[1]); /* memory 1: an entry its record lacks */
    raw_put(&e, b.p, b.len, "", 0);
    uint8_t rkey[33];
    record_key(rkey, ids[2]); /* memory 2: entries without a record */
    raw_delete(&e, rkey, sizeof rkey);
    mnemo_buf_cleanup(&b);
    mnemo_store_close(e.store);

    mnemo_repair_report_t r = repair(&e);
    CU_ASSERT_EQUAL(r.memories.kept, 1);
    CU_ASSERT_EQUAL(r.memories.lost, 2);
    bool named1 = false, named2 = false;
    for (uint64_t i = 0; i < r.memories.lost; i++) {
        named1 = named1 || strcmp(r.memories.lost_ids[i], ids[1]) == 0;
        named2 = named2 || strcmp(r.memories.lost_ids[i], ids[2]) == 0;
    }
    CU_ASSERT(named1 && named2);
    CU_ASSERT_EQUAL(r.memories.entries_restored, 2);
    CU_ASSERT(r.memories.entries_removed >= 3); /* dessert, and memory 2's time and tag */
    mnemo_repair_report_cleanup(&r);

    env_open(&e, false);
    const char *sea[] = {"sea"};
    mnemo_memory_list_t list = {0};
    CU_ASSERT_EQUAL(mnemo_memories_by_tag(e.mem, &list, sea, 1, false, 0, NULL), MNEMO_OK);
    CU_ASSERT(list.count == 1 && strcmp(list.items[0]->id, ids[0]) == 0);
    mnemo_memory_list_cleanup(&list);
    CU_ASSERT_EQUAL(mnemo_memories_list(e.mem, &list, 0, NULL, NULL, 0, NULL), MNEMO_OK);
    CU_ASSERT(list.count == 1 && strcmp(list.items[0]->id, ids[0]) == 0);
    mnemo_memory_list_cleanup(&list);
    const char *gone[] = {"dessert", "food", "work"};
    CU_ASSERT_EQUAL(mnemo_memories_by_tag(e.mem, &list, gone, 3, false, 0, NULL), MNEMO_OK);
    CU_ASSERT_EQUAL(list.count, 0);
    mnemo_memory_list_cleanup(&list);
    CU_ASSERT_EQUAL(mnemo_memories_count(e.mem), 1);
    env_close(&e);
    mnemo_test_rmtree(e.dir);
    free(e.dir);
}

/* ---- the code store ---- */

static void sync_files(env_t *e, const char *name, const char *const *paths,
                       const char *const *bodies, size_t n)
{
    mnemo_repos_batch_t *b = mnemo_repos_batch_create(e->repos, name);
    mnemo_chunker_options_t small = {.target_lines = 2, .max_lines = 2};
    for (size_t i = 0; i < n; i++) {
        uint8_t sha[MNEMO_SHA256_LEN];
        mnemo_sha256(bodies[i], strlen(bodies[i]), sha);
        CU_ASSERT_EQUAL(mnemo_repos_batch_put_file(b, NULL, paths[i], strlen(bodies[i]), 1000, sha,
                                                   bodies[i], strlen(bodies[i]), &small, NULL,
                                                   NULL),
                        MNEMO_OK);
    }
    mnemo_sync_status_t s = {.path = "/src/x", .state = MNEMO_SYNC_COMPLETED};
    snprintf(s.name, sizeof s.name, "%s", name);
    s.finished_at_ms = 2000;
    mnemo_repos_batch_set_status(b, &s);
    CU_ASSERT_EQUAL(mnemo_repos_commit(b, NULL), MNEMO_OK);
    mnemo_repos_batch_destroy(b);
}

/* Deletes the chunk whose content holds needle. */
static void drop_chunk_with(env_t *e, const char *needle)
{
    mnemo_store_iter_t *it = mnemo_store_iter_create(e->store);
    mnemo_buf_t key = {0};
    for (mnemo_store_iter_seek(it, "K", 1); mnemo_store_iter_valid(it); mnemo_store_iter_next(it)) {
        size_t klen = 0, vlen = 0;
        const char *k = mnemo_store_iter_key(it, &klen);
        if (k[0] != 'K')
            break;
        const char *v = mnemo_store_iter_value(it, &vlen);
        if (memmem(v, vlen, needle, strlen(needle)) != NULL)
            mnemo_buf_add(&key, k, klen);
    }
    mnemo_store_iter_destroy(it);
    CU_ASSERT_EQUAL_FATAL(key.len, 25); /* exactly one chunk */
    raw_delete(e, key.p, key.len);
    mnemo_buf_cleanup(&key);
}

static size_t hits_for(env_t *e, const char *query, const char *name)
{
    mnemo_code_hit_t *hits = NULL;
    size_t n = 0;
    CU_ASSERT_EQUAL(mnemo_repos_search(e->repos, &hits, &n, query, name, NULL, 10, NULL), MNEMO_OK);
    mnemo_code_hits_free(hits, n);
    return n;
}

/* A file that lost one chunk is dropped from the index (so the next sync
 * reads it again as new) and its repository is marked: INTERRUPTED, with
 * counts of what is left; the intact files and repositories stay, found
 * by the rebuilt index. A repository whose record is gone is removed. */
static void test_repair__damaged_chunk_marks_its_repository(void)
{
    env_t e = {.dir = mnemo_test_tmpdir()};
    env_open(&e, true);
    const char *paths[] = {"a.c", "b.c", "empty.txt"};
    const char *bodies[] = {"int alpha;\nint beta;\nint gamma;\nint delta;\n",
                            "int epsilon;\nint zeta;\nint theta;\nint iota;\nint kappa;\n", ""};
    sync_files(&e, "one", paths, bodies, 3);
    const char *other[] = {"lambda mu nu\n"};
    sync_files(&e, "two", paths, other, 1);
    const char *lost_bodies[] = {"omicron pi rho\n"};
    sync_files(&e, "three", paths, lost_bodies, 1);
    env_close_modules(&e);
    drop_chunk_with(&e, "theta");
    raw_delete(&e, "Rthree", 6);
    mnemo_store_close(e.store);

    mnemo_repair_report_t r = repair(&e);
    CU_ASSERT_EQUAL_FATAL(r.code.n_repos, 3);
    const mnemo_repo_repair_t *one = &r.code.repos[0], *three = &r.code.repos[1],
                              *two = &r.code.repos[2]; /* by name */
    CU_ASSERT_STRING_EQUAL(one->name, "one");
    CU_ASSERT_EQUAL(one->files, 3);
    CU_ASSERT_EQUAL(one->files_damaged, 1);
    CU_ASSERT_EQUAL(one->chunks, 5); /* 2 + 3 + 0 */
    CU_ASSERT_EQUAL(one->chunks_damaged, 1);
    CU_ASSERT_FALSE(one->removed);
    CU_ASSERT(three->removed && strcmp(three->name, "three") == 0);
    CU_ASSERT(!two->removed && two->files_damaged == 0);
    CU_ASSERT_EQUAL(r.code.chunks_indexed, 3); /* a.c's 2 and two's 1 */
    char *text = printed(&r);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(text, "code: 2 repositories kept, 1 marked for re-sync: one (1 of 5 chunks damaged, "
                     "in 1 of 3 files)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "code: repository three lost its record"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "code index: rebuilt from 3 chunks\n"));
    free(text);
    mnemo_repair_report_cleanup(&r);

    env_open(&e, true);
    mnemo_manifest_t m = {0};
    CU_ASSERT_EQUAL(mnemo_repos_load_manifest(e.repos, &m, "one", NULL), MNEMO_OK);
    CU_ASSERT_EQUAL(m.count, 2); /* b.c is gone: the next sync reads it as new */
    CU_ASSERT(m.count == 2 && strcmp(m.entries[0].path, "a.c") == 0 &&
              strcmp(m.entries[1].path, "empty.txt") == 0);
    mnemo_manifest_cleanup(&m);
    mnemo_sync_status_t s = {.path = NULL};
    CU_ASSERT_EQUAL(mnemo_repos_get_status(e.repos, &s, "one", NULL), MNEMO_OK);
    CU_ASSERT_EQUAL(s.state, MNEMO_SYNC_INTERRUPTED);
    CU_ASSERT(s.error != NULL && strstr(s.error, "next sync") != NULL);
    CU_ASSERT_STRING_EQUAL(s.path, "/src/x");
    mnemo_sync_status_cleanup(&s);
    CU_ASSERT_EQUAL(mnemo_repos_get_status(e.repos, &s, "two", NULL), MNEMO_OK);
    CU_ASSERT_EQUAL(s.state, MNEMO_SYNC_COMPLETED);
    mnemo_sync_status_cleanup(&s);
    CU_ASSERT_EQUAL(mnemo_repos_get_status(e.repos, &s, "three", NULL), MNEMO_ENOTFOUND);
    mnemo_repo_info_t *infos = NULL;
    size_t n = 0;
    char *next = NULL;
    CU_ASSERT_EQUAL(mnemo_repos_list(e.repos, &infos, &n, &next, 0, NULL, NULL), MNEMO_OK);
    CU_ASSERT(n == 2 && infos[0].file_count == 2 && infos[0].chunk_count == 2);
    mnemo_repo_infos_free(infos, n);
    CU_ASSERT_EQUAL(hits_for(&e, "alpha", "one"), 1);
    CU_ASSERT_EQUAL(hits_for(&e, "epsilon", "one"), 0); /* b.c's intact chunks went too */
    CU_ASSERT_EQUAL(hits_for(&e, "lambda", "two"), 1);
    CU_ASSERT_EQUAL(hits_for(&e, "omicron", NULL), 0);
    env_close(&e);
    mnemo_test_rmtree(e.dir);
    free(e.dir);
}

/* A store directory that is gone is created empty and reported lost. */
static void test_repair__missing_store_is_recreated_and_reported(void)
{
    env_t e = {.dir = mnemo_test_tmpdir()};
    env_open(&e, false);
    char id[65];
    put(&e, texts[0], NULL, id);
    env_close(&e);
    env_open(&e, true);
    env_close(&e);
    const char *names[] = {"memories", "code"};
    CU_ASSERT_EQUAL(mnemo_datadir_mark(e.dir, names, 2, NULL), MNEMO_OK);
    char path[4300];
    snprintf(path, sizeof path, "%s/memories", e.dir);
    mnemo_test_rmtree(path);

    mnemo_repair_report_t r = repair(&e);
    CU_ASSERT(r.memories_store.recreated && r.memories_store.was_marked);
    CU_ASSERT_FALSE(r.code_store.recreated);
    char *text = printed(&r);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "memories: kept 0, all memories lost"));
    free(text);
    mnemo_repair_report_cleanup(&r);
    env_open(&e, false);
    mnemo_status_t st;
    CU_ASSERT_PTR_NULL(get(&e, id, &st));
    CU_ASSERT_EQUAL(st, MNEMO_ENOTFOUND);
    env_close(&e);
    mnemo_test_rmtree(e.dir);
    free(e.dir);
}

/* Repair writes the memories store's tables as mnemod does, uncompressed
 * (memories.h): its compaction rewrites every table, and with LevelDB's
 * default they would all come out snappy. */
static void test_repair__memories_tables_stay_uncompressed(void)
{
    env_t e = {.dir = mnemo_test_tmpdir()};
    env_open(&e, false);
    char content[1300] = "";
    for (int i = 0; i < 30; i++)
        strcat(content, "the lighthouse keeper winds the clock. ");
    char id[65];
    put(&e, content, NULL, id);
    env_close(&e);
    env_open(&e, true);
    env_close(&e);
    mnemo_repair_report_t r = repair(&e);
    mnemo_repair_report_cleanup(&r);
    char path[4300];
    snprintf(path, sizeof path, "%s/memories", e.dir);
    CU_ASSERT(mnemo_test_tables_hold(path, content, strlen(content)));
    env_open(&e, false);
    mnemo_status_t st;
    mnemo_memory_t *m = get(&e, id, &st);
    CU_ASSERT(m != NULL && strcmp(m->content, content) == 0);
    mnemo_memory_destroy(m);
    env_close(&e);
    mnemo_test_rmtree(e.dir);
    free(e.dir);
}

int main(void)
{
    CU_pSuite s = mnemo_test_suite("repair");
    MNEMO_TEST(s, test_repair__altered_memory_is_dropped_and_reported);
    MNEMO_TEST(s, test_repair__entries_are_restored_or_the_memory_dropped);
    MNEMO_TEST(s, test_repair__damaged_chunk_marks_its_repository);
    MNEMO_TEST(s, test_repair__missing_store_is_recreated_and_reported);
    MNEMO_TEST(s, test_repair__memories_tables_stay_uncompressed);
    return mnemo_test_run();
}
