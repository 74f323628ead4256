/* test_memories.c - unit tests of memories.c over a real store: dedupe and
 * tag merge, ids, delete, paging with signed tokens, retrieval, tag search,
 * persistence and concurrent writers.
 */
#include "hash.h"
#include "memories.h"
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct env {
    char *dir;
    mnemo_store_t *store;
    mnemo_memories_t *mem;
} env_t;

/* max_result_bytes: the byte budget of a result (0: none). */
static void env_open_budget(env_t *e, size_t max_result_bytes)
{
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL_FATAL(mnemo_store_open(&e->store, e->dir, NULL, &err), MNEMO_OK);
    /* sync_writes off: the tests do not need power-loss durability. */
    mnemo_memories_options_t opts = {.sync_writes = false, .max_result_bytes = max_result_bytes};
    CU_ASSERT_EQUAL_FATAL(mnemo_memories_open(&e->mem, e->store, &opts, &err), MNEMO_OK);
}

static void env_open(env_t *e)
{
    env_open_budget(e, 0);
}

static void env_close(env_t *e)
{
    mnemo_memories_close(e->mem);
    mnemo_store_close(e->store);
    e->mem = NULL;
    e->store = NULL;
}

static env_t env_start(void)
{
    env_t e = {mnemo_test_tmpdir(), NULL, NULL};
    env_open(&e);
    return e;
}

static void env_finish(env_t *e)
{
    env_close(e);
    mnemo_test_rmtree(e->dir);
    free(e->dir);
}

/* Stores content with tags at now_ms; *created (when not NULL) says whether it was new. */
static mnemo_memory_t *put_full(env_t *e, const char *content, const char *const *tags,
                                size_t n_tags, int64_t now_ms, bool *created)
{
    mnemo_memory_input_t in = {
        .content = content, .content_len = strlen(content), .tags = tags, .n_tags = n_tags};
    mnemo_memory_t *m = NULL;
    bool c = false;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_memories_put(e->mem, &m, &c, &in, now_ms, &err), MNEMO_OK);
    if (created != NULL)
        *created = c;
    return m;
}

static void put(env_t *e, const char *content, const char *tag, int64_t now_ms)
{
    const char *tags[1] = {tag};
    mnemo_memory_destroy(put_full(e, content, tags, tag != NULL ? 1 : 0, now_ms, NULL));
}

static void id_of(char id[65], const char *content)
{
    uint8_t d[32];
    mnemo_sha256(content, strlen(content), d);
    mnemo_hex_encode(id, d, sizeof d);
}

/* The merged tag is searchable, and get returns the merged record. */
static void check_merged(env_t *e, const char *id)
{
    mnemo_memory_list_t list = {0};
    const char *q[] = {"gamma"};
    CU_ASSERT_EQUAL(mnemo_memories_by_tag(e->mem, &list, q, 1, false, 0, NULL), MNEMO_OK);
    CU_ASSERT_EQUAL(list.count, 1);
    mnemo_memory_list_cleanup(&list);
    mnemo_memory_t *m = NULL;
    CU_ASSERT_EQUAL_FATAL(mnemo_memories_get(e->mem, &m, id, NULL), MNEMO_OK);
    CU_ASSERT_EQUAL(m->n_tags, 3);
    CU_ASSERT_EQUAL(m->content_len, 15);
    CU_ASSERT_STRING_EQUAL(m->content, "the sky is blue");
    mnemo_memory_destroy(m);
}

static void test_memories__create_then_duplicate_merges(void)
{
    env_t e = env_start();
    const char *tags1[] = {"beta", "alpha", "beta"};
    const char *keys1[] = {"source", "lang"};
    const char *vals1[] = {"chat", "en"};
    mnemo_memory_input_t in = {.content = "the sky is blue",
                               .content_len = 15,
                               .tags = tags1,
                               .n_tags = 3,
                               .meta_keys = keys1,
                               .meta_values = vals1,
                               .n_metadata = 2,
                               .memory_type = "fact"};
    mnemo_memory_t *m = NULL;
    bool created = false;
    CU_ASSERT_EQUAL_FATAL(mnemo_memories_put(e.mem, &m, &created, &in, 1000, NULL), MNEMO_OK);
    char id[65];
    id_of(id, "the sky is blue");
    CU_ASSERT(created);
    CU_ASSERT_STRING_EQUAL(m->id, id);
    CU_ASSERT_EQUAL_FATAL(m->n_tags, 2);
    CU_ASSERT_STRING_EQUAL(m->tags[0], "alpha");
    CU_ASSERT_STRING_EQUAL(m->tags[1], "beta");
    CU_ASSERT_STRING_EQUAL(m->metadata[0].key, "lang");
    CU_ASSERT_STRING_EQUAL(m->memory_type, "fact");
    CU_ASSERT_EQUAL(m->created_at_ms, 1000);
    mnemo_memory_destroy(m);

    const char *tags2[] = {"gamma", "alpha"};
    const char *keys2[] = {"source", "mood"};
    const char *vals2[] = {"other", "calm"};
    mnemo_memory_input_t again = {.content = "the sky is blue",
                                  .content_len = 15,
                                  .tags = tags2,
                                  .n_tags = 2,
                                  .meta_keys = keys2,
                                  .meta_values = vals2,
                                  .n_metadata = 2};
    CU_ASSERT_EQUAL_FATAL(mnemo_memories_put(e.mem, &m, &created, &again, 2000, NULL), MNEMO_OK);
    CU_ASSERT(!created);
    CU_ASSERT_EQUAL_FATAL(m->n_tags, 3);
    CU_ASSERT_STRING_EQUAL(m->tags[2], "gamma");
    CU_ASSERT_EQUAL_FATAL(m->n_metadata, 3);
    CU_ASSERT_STRING_EQUAL(m->metadata[1].key, "mood");
    CU_ASSERT_STRING_EQUAL(m->metadata[2].value, "chat"); /* existing value kept */
    CU_ASSERT_EQUAL(m->created_at_ms, 1000);
    CU_ASSERT_EQUAL(m->updated_at_ms, 2000);
    mnemo_memory_destroy(m);
    CU_ASSERT_EQUAL(mnemo_memories_count(e.mem), 1);

    check_merged(&e, id);
    env_finish(&e);
}

static void test_memories__get_unknown_is_notfound(void)
{
    env_t e = env_start();
    mnemo_memory_t *m = NULL;
    mnemo_err_t err = {{0}};
    char id[65];
    id_of(id, "never stored");
    CU_ASSERT_EQUAL(mnemo_memories_get(e.mem, &m, id, &err), MNEMO_ENOTFOUND);
    CU_ASSERT_PTR_NULL(m);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, id));
    env_finish(&e);
}

static void test_memories__bad_id_is_einval(void)
{
    env_t e = env_start();
    put(&e, "some content", NULL, 1);
    char id[65];
    id_of(id, "some content");
    const char *bad[] = {"", "abc", "zz", NULL};
    char longer[70];
    snprintf(longer, sizeof longer, "%s0", id);
    char nonhex[65];
    memcpy(nonhex, id, sizeof nonhex);
    nonhex[10] = 'g';
    mnemo_memory_t *m = NULL;
    mnemo_err_t err = {{0}};
    bool deleted = true;
    for (size_t i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(mnemo_memories_get(e.mem, &m, bad[i], &err), MNEMO_EINVAL);
        CU_ASSERT(strncmp(err.msg, "id", 2) == 0);
    }
    CU_ASSERT_EQUAL(mnemo_memories_get(e.mem, &m, longer, &err), MNEMO_EINVAL);
    CU_ASSERT_EQUAL(mnemo_memories_get(e.mem, &m, nonhex, &err), MNEMO_EINVAL);
    CU_ASSERT_EQUAL(mnemo_memories_delete(e.mem, &deleted, nonhex, &err), MNEMO_EINVAL);
    CU_ASSERT_PTR_NULL(m);
    /* Ids have one spelling: upper case is refused, not folded. */
    char upper[65];
    for (size_t i = 0; i < sizeof upper; i++)
        upper[i] = id[i] >= 'a' && id[i] <= 'f' ? (char)(id[i] - 32) : id[i];
    CU_ASSERT_EQUAL(mnemo_memories_get(e.mem, &m, upper, &err), MNEMO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "lowercase"));
    CU_ASSERT_EQUAL_FATAL(mnemo_memories_get(e.mem, &m, id, &err), MNEMO_OK);
    CU_ASSERT_STRING_EQUAL(m->id, id);
    mnemo_memory_destroy(m);
    env_finish(&e);
}

static size_t count_list(env_t *e, const char *const *tags, size_t n_tags)
{
    mnemo_memory_list_t list = {0};
    CU_ASSERT_EQUAL(mnemo_memories_list(e->mem, &list, 1000, NULL, tags, n_tags, NULL), MNEMO_OK);
    size_t n = list.count;
    mnemo_memory_list_cleanup(&list);
    return n;
}

static size_t count_retrieve(env_t *e, const char *query, const char *const *tags, size_t n_tags)
{
    mnemo_memory_list_t list = {0};
    CU_ASSERT_EQUAL(
        mnemo_memories_retrieve(e->mem, &list, query, strlen(query), 10, tags, n_tags, 0.0, NULL),
        MNEMO_OK);
    size_t n = list.count;
    mnemo_memory_list_cleanup(&list);
    return n;
}

static void test_memories__delete_is_idempotent_and_complete(void)
{
    env_t e = env_start();
    put(&e, "remember the zebra crossing", "animals", 10);
    put(&e, "keep this one", "animals", 11);
    char id[65];
    id_of(id, "remember the zebra crossing");
    const char *tags[] = {"animals"};
    CU_ASSERT_EQUAL(count_retrieve(&e, "zebra", NULL, 0), 1);
    bool deleted = false;
    CU_ASSERT_EQUAL(mnemo_memories_delete(e.mem, &deleted, id, NULL), MNEMO_OK);
    CU_ASSERT(deleted);
    CU_ASSERT_EQUAL(mnemo_memories_delete(e.mem, &deleted, id, NULL), MNEMO_OK);
    CU_ASSERT(!deleted);
    mnemo_memory_t *m = NULL;
    CU_ASSERT_EQUAL(mnemo_memories_get(e.mem, &m, id, NULL), MNEMO_ENOTFOUND);
    CU_ASSERT_EQUAL(count_list(&e, NULL, 0), 1);
    CU_ASSERT_EQUAL(count_list(&e, tags, 1), 1);
    CU_ASSERT_EQUAL(count_retrieve(&e, "zebra", NULL, 0), 0);
    CU_ASSERT_EQUAL(count_retrieve(&e, "zebra crossing", tags, 1), 0);
    CU_ASSERT_EQUAL(mnemo_memories_count(e.mem), 1);
    /* Storing it again creates it anew. */
    bool created = false;
    mnemo_memory_destroy(put_full(&e, "remember the zebra crossing", NULL, 0, 20, &created));
    CU_ASSERT(created);
    CU_ASSERT_EQUAL(mnemo_memories_count(e.mem), 2);
    env_finish(&e);
}

/* Stores 120 memories created at 1000+i; tag "even" on even i, "three" on
 * multiples of 3. */
static void put_many(env_t *e)
{
    char content[64];
    for (int i = 0; i < 120; i++) {
        snprintf(content, sizeof content, "memory number %d", i);
        const char *tags[2];
        size_t n = 0;
        if (i % 2 == 0)
            tags[n++] = "even";
        if (i % 3 == 0)
            tags[n++] = "three";
        mnemo_memory_destroy(put_full(e, content, tags, n, 1000 + i, NULL));
    }
}

/* Pages through list with page_size; counts visits per i in seen[]. */
static size_t page_through(env_t *e, size_t page_size, const char *const *tags, size_t n_tags,
                           int seen[120], size_t *pages)
{
    char *token = NULL;
    size_t total = 0;
    int64_t last = INT64_MAX;
    *pages = 0;
    do {
        mnemo_memory_list_t list = {0};
        mnemo_err_t err = {{0}};
        CU_ASSERT_EQUAL_FATAL(
            mnemo_memories_list(e->mem, &list, page_size, token, tags, n_tags, &err), MNEMO_OK);
        free(token);
        token = list.next_page_token != NULL ? strdup(list.next_page_token) : NULL;
        for (size_t i = 0; i < list.count; i++) {
            CU_ASSERT(list.items[i]->created_at_ms < last); /* strictly newest first */
            last = list.items[i]->created_at_ms;
            seen[last - 1000]++;
        }
        CU_ASSERT(list.count <= page_size);
        total += list.count;
        (*pages)++;
        mnemo_memory_list_cleanup(&list);
    } while (token != NULL && *pages < 100);
    return total;
}

static void test_memories__list_pages_newest_first(void)
{
    env_t e = env_start();
    put_many(&e);
    int seen[120] = {0};
    size_t pages = 0;
    CU_ASSERT_EQUAL(page_through(&e, 50, NULL, 0, seen, &pages), 120);
    CU_ASSERT_EQUAL(pages, 3);
    for (int i = 0; i < 120; i++)
        CU_ASSERT_EQUAL(seen[i], 1);
    /* An exact multiple of the page size ends without an empty page. */
    memset(seen, 0, sizeof seen);
    CU_ASSERT_EQUAL(page_through(&e, 40, NULL, 0, seen, &pages), 120);
    CU_ASSERT_EQUAL(pages, 3);
    /* page_size 0 means the default of 50. */
    mnemo_memory_list_t list = {0};
    CU_ASSERT_EQUAL(mnemo_memories_list(e.mem, &list, 0, "", NULL, 0, NULL), MNEMO_OK);
    CU_ASSERT_EQUAL(list.count, 50);
    CU_ASSERT_EQUAL(list.items[0]->created_at_ms, 1119);
    CU_ASSERT_PTR_NULL(list.scores);
    mnemo_memory_list_cleanup(&list);
    env_finish(&e);
}

static void test_memories__list_tag_filtered_paging(void)
{
    env_t e = env_start();
    put_many(&e);
    int seen[120] = {0};
    size_t pages = 0;
    const char *tags[] = {"three", "even", "three", "nosuchtag"};
    CU_ASSERT_EQUAL(page_through(&e, 30, tags, 4, seen, &pages), 80); /* 60 + 40 - 20 */
    CU_ASSERT_EQUAL(pages, 3);
    for (int i = 0; i < 120; i++)
        CU_ASSERT_EQUAL(seen[i], i % 2 == 0 || i % 3 == 0 ? 1 : 0);
    const char *none[] = {"nosuchtag"};
    CU_ASSERT_EQUAL(count_list(&e, none, 1), 0);
    env_finish(&e);
}

static mnemo_status_t list_with(env_t *e, const char *token, const char *const *tags, size_t n_tags,
                                mnemo_err_t *err)
{
    mnemo_memory_list_t list = {0};
    mnemo_status_t st = mnemo_memories_list(e->mem, &list, 10, token, tags, n_tags, err);
    mnemo_memory_list_cleanup(&list);
    return st;
}

static void test_memories__bad_page_tokens_are_einval(void)
{
    env_t e = env_start();
    put_many(&e);
    const char *even[] = {"even"};
    mnemo_memory_list_t list = {0};
    CU_ASSERT_EQUAL_FATAL(mnemo_memories_list(e.mem, &list, 10, NULL, even, 1, NULL), MNEMO_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(list.next_page_token);
    char *token = strdup(list.next_page_token);
    mnemo_memory_list_cleanup(&list);
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(list_with(&e, token, even, 1, &err), MNEMO_OK);
    CU_ASSERT_EQUAL(list_with(&e, "garbage", even, 1, &err), MNEMO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "page_token: invalid or from another query");
    const char *three[] = {"three"};
    CU_ASSERT_EQUAL(list_with(&e, token, three, 1, &err), MNEMO_EINVAL); /* other filter */
    CU_ASSERT_EQUAL(list_with(&e, token, NULL, 0, &err), MNEMO_EINVAL);
    for (size_t i = 0; i < strlen(token); i += 7) { /* any changed digit */
        char *forged = strdup(token);
        forged[i] = forged[i] == '0' ? '1' : '0';
        CU_ASSERT_EQUAL(list_with(&e, forged, even, 1, &err), MNEMO_EINVAL);
        free(forged);
    }
    char *cut = strdup(token);
    cut[strlen(cut) - 2] = '\0';
    CU_ASSERT_EQUAL(list_with(&e, cut, even, 1, &err), MNEMO_EINVAL);
    free(cut);
    /* A token of another store (another key) is refused too. */
    env_t other = env_start();
    CU_ASSERT_EQUAL(list_with(&other, token, even, 1, &err), MNEMO_EINVAL);
    env_finish(&other);
    free(token);
    env_finish(&e);
}

static void put_corpus(env_t *e)
{
    put(e, "LevelDB compaction stalls writers when level-0 has too many files", "db", 1);
    put(e, "The cat sat on the mat and watched the birds", "pets", 2);
    put(e, "Compaction of leveldb tables runs on a background thread", "notes", 3);
    put(e, "Bake the bread at 220 degrees for thirty minutes", "food", 4);
    put(e, "Dogs like long walks in the park", "pets", 5);
}

static void test_memories__retrieve_ranks_relevant_first(void)
{
    env_t e = env_start();
    put_corpus(&e);
    mnemo_memory_list_t list = {0};
    const char *q = "leveldb level-0 compaction stalls";
    CU_ASSERT_EQUAL_FATAL(
        mnemo_memories_retrieve(e.mem, &list, q, strlen(q), 10, NULL, 0, 0.0, NULL), MNEMO_OK);
    CU_ASSERT_EQUAL_FATAL(list.count, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(list.scores);
    CU_ASSERT(strncmp(list.items[0]->content, "LevelDB compaction stalls", 25) == 0);
    CU_ASSERT(list.scores[0] > list.scores[1] && list.scores[1] > 0);
    double best = list.scores[0];
    mnemo_memory_list_cleanup(&list);
    /* limit cuts the tail; min_score drops weak hits. */
    CU_ASSERT_EQUAL(mnemo_memories_retrieve(e.mem, &list, q, strlen(q), 1, NULL, 0, 0.0, NULL),
                    MNEMO_OK);
    CU_ASSERT_EQUAL(list.count, 1);
    mnemo_memory_list_cleanup(&list);
    CU_ASSERT_EQUAL(
        mnemo_memories_retrieve(e.mem, &list, q, strlen(q), 10, NULL, 0, best * 0.99, NULL),
        MNEMO_OK);
    CU_ASSERT_EQUAL(list.count, 1);
    mnemo_memory_list_cleanup(&list);
    CU_ASSERT_EQUAL(
        mnemo_memories_retrieve(e.mem, &list, q, strlen(q), 10, NULL, 0, best * 2 + 1, NULL),
        MNEMO_OK);
    CU_ASSERT_EQUAL(list.count, 0);
    mnemo_memory_list_cleanup(&list);
    CU_ASSERT_EQUAL(count_retrieve(&e, "unrelated words entirely", NULL, 0), 0);
    CU_ASSERT_EQUAL(count_retrieve(&e, "", NULL, 0), 0);
    env_finish(&e);
}

static void test_memories__retrieve_filters_tags_before_ranking(void)
{
    env_t e = env_start();
    put_corpus(&e);
    mnemo_memory_list_t list = {0};
    const char *q = "leveldb compaction stalls";
    const char *notes[] = {"notes"};
    /* limit 1: the best overall hit (tag "db") must not crowd out "notes". */
    CU_ASSERT_EQUAL_FATAL(
        mnemo_memories_retrieve(e.mem, &list, q, strlen(q), 1, notes, 1, 0.0, NULL), MNEMO_OK);
    CU_ASSERT_EQUAL_FATAL(list.count, 1);
    CU_ASSERT(strncmp(list.items[0]->content, "Compaction of leveldb", 21) == 0);
    mnemo_memory_list_cleanup(&list);
    const char *pets[] = {"pets", "nosuchtag"};
    CU_ASSERT_EQUAL(count_retrieve(&e, q, pets, 2), 0);
    CU_ASSERT_EQUAL(count_retrieve(&e, "cat walks", pets, 2), 2);
    const char *none[] = {"nosuchtag"};
    CU_ASSERT_EQUAL(count_retrieve(&e, q, none, 1), 0);
    env_finish(&e);
}

static void test_memories__by_tag_any_and_all(void)
{
    env_t e = env_start();
    put_many(&e);
    const char *both[] = {"even", "three"};
    mnemo_memory_list_t list = {0};
    CU_ASSERT_EQUAL_FATAL(mnemo_memories_by_tag(e.mem, &list, both, 2, false, 1000, NULL),
                          MNEMO_OK);
    CU_ASSERT_EQUAL(list.count, 80);
    CU_ASSERT_PTR_NULL(list.next_page_token);
    mnemo_memory_list_cleanup(&list);
    CU_ASSERT_EQUAL_FATAL(mnemo_memories_by_tag(e.mem, &list, both, 2, true, 1000, NULL), MNEMO_OK);
    CU_ASSERT_EQUAL_FATAL(list.count, 20); /* multiples of 6 */
    for (size_t i = 0; i < list.count; i++)
        CU_ASSERT_EQUAL((list.items[i]->created_at_ms - 1000) % 6, 0);
    CU_ASSERT_EQUAL(list.items[0]->created_at_ms, 1114); /* newest first */
    mnemo_memory_list_cleanup(&list);
    CU_ASSERT_EQUAL(mnemo_memories_by_tag(e.mem, &list, both, 2, true, 5, NULL), MNEMO_OK);
    CU_ASSERT_EQUAL(list.count, 5);
    mnemo_memory_list_cleanup(&list);
    CU_ASSERT_EQUAL(mnemo_memories_by_tag(e.mem, &list, both, 2, false, 0, NULL), MNEMO_OK);
    CU_ASSERT_EQUAL(list.count, 10); /* default limit */
    mnemo_memory_list_cleanup(&list);
    const char *with_missing[] = {"even", "nosuchtag"};
    CU_ASSERT_EQUAL(mnemo_memories_by_tag(e.mem, &list, with_missing, 2, true, 100, NULL),
                    MNEMO_OK);
    CU_ASSERT_EQUAL(list.count, 0);
    mnemo_memory_list_cleanup(&list);
    CU_ASSERT_EQUAL(mnemo_memories_by_tag(e.mem, &list, with_missing, 2, false, 100, NULL),
                    MNEMO_OK);
    CU_ASSERT_EQUAL(list.count, 60);
    mnemo_memory_list_cleanup(&list);
    env_finish(&e);
}

static void test_memories__survive_reopen(void)
{
    env_t e = env_start();
    put_many(&e);
    put_corpus(&e);
    const char *even[] = {"even"};
    mnemo_memory_list_t list = {0};
    CU_ASSERT_EQUAL_FATAL(mnemo_memories_list(e.mem, &list, 7, NULL, even, 1, NULL), MNEMO_OK);
    char *token = strdup(list.next_page_token);
    mnemo_memory_list_cleanup(&list);
    env_close(&e);
    env_open(&e);
    CU_ASSERT_EQUAL(mnemo_memories_count(e.mem), 125);
    CU_ASSERT_EQUAL(count_list(&e, NULL, 0), 125);
    CU_ASSERT_EQUAL(count_list(&e, even, 1), 60);
    CU_ASSERT_EQUAL(list_with(&e, token, even, 1, NULL), MNEMO_OK); /* key persisted */
    free(token);
    mnemo_memory_t *m = NULL;
    char id[65];
    id_of(id, "memory number 7");
    CU_ASSERT_EQUAL_FATAL(mnemo_memories_get(e.mem, &m, id, NULL), MNEMO_OK);
    CU_ASSERT_EQUAL(m->created_at_ms, 1007);
    mnemo_memory_destroy(m);
    const char *q = "leveldb compaction";
    CU_ASSERT_EQUAL_FATAL(
        mnemo_memories_retrieve(e.mem, &list, q, strlen(q), 10, NULL, 0, 0.0, NULL), MNEMO_OK);
    CU_ASSERT_EQUAL(list.count, 2);
    mnemo_memory_list_cleanup(&list);
    env_finish(&e);
}

#define N_THREADS  8
#define PER_THREAD 40

typedef struct worker {
    env_t *env;
    int n;
    int errors;
} worker_t;

/* Each thread stores PER_THREAD contents of its own and the same
 * PER_THREAD shared contents, tagging each with its own tag. */
static void *worker_main(void *arg)
{
    worker_t *w = arg;
    char content[64], tag[16];
    snprintf(tag, sizeof tag, "t%d", w->n);
    const char *tags[1] = {tag};
    for (int i = 0; i < 2 * PER_THREAD; i++) {
        if (i % 2 == 0)
            snprintf(content, sizeof content, "own %d of thread %d", i / 2, w->n);
        else
            snprintf(content, sizeof content, "shared item %d", i / 2);
        mnemo_memory_input_t in = {
            .content = content, .content_len = strlen(content), .tags = tags, .n_tags = 1};
        mnemo_memory_t *m = NULL;
        bool created = false;
        if (mnemo_memories_put(w->env->mem, &m, &created, &in, 5000 + i, NULL) != MNEMO_OK)
            w->errors++;
        mnemo_memory_destroy(m);
    }
    return NULL;
}

static void test_memories__concurrent_puts_stay_consistent(void)
{
    env_t e = env_start();
    pthread_t threads[N_THREADS];
    worker_t workers[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        workers[i] = (worker_t){&e, i, 0};
        CU_ASSERT_EQUAL_FATAL(pthread_create(&threads[i], NULL, worker_main, &workers[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(threads[i], NULL);
        CU_ASSERT_EQUAL(workers[i].errors, 0);
    }
    const uint64_t want = N_THREADS * PER_THREAD + PER_THREAD;
    CU_ASSERT_EQUAL(mnemo_memories_count(e.mem), want);
    CU_ASSERT_EQUAL(count_list(&e, NULL, 0), want);
    /* Every shared memory carries every thread's tag. */
    for (int i = 0; i < PER_THREAD; i++) {
        char content[64], id[65];
        snprintf(content, sizeof content, "shared item %d", i);
        id_of(id, content);
        mnemo_memory_t *m = NULL;
        CU_ASSERT_EQUAL_FATAL(mnemo_memories_get(e.mem, &m, id, NULL), MNEMO_OK);
        CU_ASSERT_EQUAL(m->n_tags, N_THREADS);
        mnemo_memory_destroy(m);
    }
    const char *t0[] = {"t0"};
    CU_ASSERT_EQUAL(count_list(&e, t0, 1), 2 * PER_THREAD);
    CU_ASSERT_EQUAL(count_retrieve(&e, "shared item", NULL, 0), 10);
    env_close(&e);
    env_open(&e);
    CU_ASSERT_EQUAL(mnemo_memories_count(e.mem), want);
    env_finish(&e);
}

static void count_damage(void *ctx, const char *problem)
{
    CU_ASSERT_PTR_NOT_NULL(strstr(problem, "does not hash to its id"));
    (*(int *)ctx)++;
}

/* A record whose content no longer hashes to its id (here: another
 * memory's record under its key) is MNEMO_ECORRUPT naming the id, in get,
 * list and retrieve alike, and the store's failure hook hears of it. */
static void test_memories__content_that_does_not_hash_to_its_id_is_corrupt(void)
{
    env_t e = env_start();
    int told = 0;
    mnemo_store_on_failure(e.store, count_damage, &told);
    put(&e, "the original content", NULL, 1000);
    put(&e, "some other words", NULL, 2000);
    char a[65], b[65];
    id_of(a, "the original content");
    id_of(b, "some other words");
    uint8_t ka[33] = {'m'}, kb[33] = {'m'};
    mnemo_hex_decode(ka + 1, 32, a, 64);
    mnemo_hex_decode(kb + 1, 32, b, 64);
    char *val = NULL;
    size_t vlen = 0;
    CU_ASSERT_EQUAL_FATAL(mnemo_store_get(e.store, kb, sizeof kb, &val, &vlen, NULL), MNEMO_OK);
    mnemo_store_batch_t *batch = mnemo_store_batch_create();
    mnemo_store_batch_put(batch, ka, sizeof ka, val, vlen);
    CU_ASSERT_EQUAL_FATAL(mnemo_store_write(e.store, batch, true, NULL), MNEMO_OK);
    mnemo_store_batch_destroy(batch);
    free(val);

    mnemo_memory_t *m = NULL;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_memories_get(e.mem, &m, a, &err), MNEMO_ECORRUPT);
    CU_ASSERT_PTR_NULL(m);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, a));
    mnemo_memory_list_t list = {0};
    CU_ASSERT_EQUAL(mnemo_memories_list(e.mem, &list, 0, NULL, NULL, 0, &err), MNEMO_ECORRUPT);
    mnemo_memory_list_cleanup(&list);
    CU_ASSERT_EQUAL(told, 1);
    /* The other memory is intact. */
    CU_ASSERT_EQUAL(mnemo_memories_get(e.mem, &m, b, &err), MNEMO_OK);
    mnemo_memory_destroy(m);
    env_finish(&e);
}

/* ---- the byte budget ---- */

#define N_BUDGET 10

/* Stores N_BUDGET memories of about 1000 bytes, tagged "b", at times
 * 1..N_BUDGET; returns the size bound of one (they are all the same size). */
static size_t put_budget_memories(env_t *e)
{
    const char *tags[1] = {"b"};
    size_t bound = 0;
    char content[1001];
    for (int i = 0; i < N_BUDGET; i++) {
        memset(content, 'x', 1000);
        content[1000] = '\0';
        snprintf(content, sizeof content, "budget word %03d ", i);
        content[strlen(content)] = ' ';
        mnemo_memory_t *m = put_full(e, content, tags, 1, i + 1, NULL);
        if (m != NULL)
            bound = mnemo_memory_size_bound(m);
        mnemo_memory_destroy(m);
    }
    return bound;
}

/* Reopens e with a budget that holds three and a half memories of bound. */
static size_t reopen_for_three(env_t *e, size_t bound)
{
    env_close(e);
    size_t budget = MNEMO_MEMORY_LIST_RESERVE + 3 * bound + bound / 2;
    env_open_budget(e, budget);
    return budget;
}

static void test_memories__size_bound_covers_every_field(void)
{
    char *tags[] = {"alpha", "beta"};
    mnemo_kv_t meta[] = {{"key", "value"}};
    mnemo_memory_t m = {.content = "hello",
                        .content_len = 5,
                        .tags = tags,
                        .n_tags = 2,
                        .metadata = meta,
                        .n_metadata = 1,
                        .memory_type = "note"};
    size_t bytes = MNEMO_MEMORY_ID_LEN + 5 + 5 + 4 + 3 + 5 + 4;
    size_t bound = mnemo_memory_size_bound(&m);
    CU_ASSERT(bound >= bytes + MNEMO_MEMORY_ENVELOPE_BYTES + 7 * 2 + 2 * 11);
    m.content_len = 5000;
    CU_ASSERT_EQUAL(mnemo_memory_size_bound(&m), bound + 4995);
}

static void test_memories__list_budget_ends_pages_early(void)
{
    env_t e = env_start();
    size_t bound = put_budget_memories(&e);
    size_t budget = reopen_for_three(&e, bound);
    int seen[N_BUDGET] = {0};
    size_t sizes[8] = {0}, pages = 0;
    char *token = NULL;
    int64_t last = INT64_MAX;
    do {
        mnemo_memory_list_t list = {0};
        CU_ASSERT_EQUAL_FATAL(mnemo_memories_list(e.mem, &list, 1000, token, NULL, 0, NULL),
                              MNEMO_OK);
        free(token);
        token = list.next_page_token != NULL ? strdup(list.next_page_token) : NULL;
        CU_ASSERT_EQUAL(list.truncated, token != NULL);
        size_t bytes = 0;
        for (size_t i = 0; i < list.count; i++) {
            bytes += mnemo_memory_size_bound(list.items[i]);
            CU_ASSERT(list.items[i]->created_at_ms < last); /* newest first, no repeat */
            last = list.items[i]->created_at_ms;
            seen[last - 1]++;
        }
        CU_ASSERT(bytes <= budget - MNEMO_MEMORY_LIST_RESERVE);
        sizes[pages++] = list.count;
        mnemo_memory_list_cleanup(&list);
    } while (token != NULL && pages < 8);
    CU_ASSERT_EQUAL(pages, 4);
    CU_ASSERT_EQUAL(sizes[0], 3);
    CU_ASSERT_EQUAL(sizes[3], 1);
    for (int i = 0; i < N_BUDGET; i++)
        CU_ASSERT_EQUAL(seen[i], 1);
    free(token);
    env_finish(&e);
}

static void test_memories__budget_truncates_retrieve_and_by_tag(void)
{
    env_t e = env_start();
    size_t bound = put_budget_memories(&e);
    reopen_for_three(&e, bound);
    mnemo_memory_list_t list = {0};
    const char *q = "budget";
    CU_ASSERT_EQUAL_FATAL(
        mnemo_memories_retrieve(e.mem, &list, q, strlen(q), 100, NULL, 0, 0.0, NULL), MNEMO_OK);
    CU_ASSERT_EQUAL(list.count, 3);
    CU_ASSERT(list.truncated);
    mnemo_memory_list_cleanup(&list);
    const char *b[1] = {"b"};
    for (int all = 0; all <= 1; all++) {
        CU_ASSERT_EQUAL_FATAL(mnemo_memories_by_tag(e.mem, &list, b, 1, all, 100, NULL), MNEMO_OK);
        CU_ASSERT_EQUAL(list.count, 3);
        CU_ASSERT(list.truncated);
        CU_ASSERT(list.count == 3 && list.items[0]->created_at_ms == N_BUDGET); /* newest kept */
        mnemo_memory_list_cleanup(&list);
        CU_ASSERT_EQUAL_FATAL(mnemo_memories_by_tag(e.mem, &list, b, 1, all, 2, NULL), MNEMO_OK);
        CU_ASSERT_EQUAL(list.count, 2);
        CU_ASSERT(!list.truncated);
        mnemo_memory_list_cleanup(&list);
    }
    env_finish(&e);
}

/* A memory larger than the whole budget still comes back, alone. */
static void test_memories__budget_returns_one_oversized_memory(void)
{
    env_t e = env_start();
    put_budget_memories(&e);
    env_close(&e);
    env_open_budget(&e, 1);
    size_t pages = 0;
    char *token = NULL;
    do {
        mnemo_memory_list_t list = {0};
        CU_ASSERT_EQUAL_FATAL(mnemo_memories_list(e.mem, &list, 5, token, NULL, 0, NULL), MNEMO_OK);
        free(token);
        token = list.next_page_token != NULL ? strdup(list.next_page_token) : NULL;
        CU_ASSERT_EQUAL(list.count, 1);
        pages++;
        mnemo_memory_list_cleanup(&list);
    } while (token != NULL && pages <= N_BUDGET);
    CU_ASSERT_EQUAL(pages, N_BUDGET);
    free(token);
    const char *q = "budget";
    mnemo_memory_list_t list = {0};
    CU_ASSERT_EQUAL_FATAL(
        mnemo_memories_retrieve(e.mem, &list, q, strlen(q), 0, NULL, 0, 0.0, NULL), MNEMO_OK);
    CU_ASSERT(list.count == 1 && list.truncated);
    mnemo_memory_list_cleanup(&list);
    env_finish(&e);
}

int main(void)
{
    CU_pSuite s = mnemo_test_suite("memories");
    MNEMO_TEST(s, test_memories__create_then_duplicate_merges);
    MNEMO_TEST(s, test_memories__get_unknown_is_notfound);
    MNEMO_TEST(s, test_memories__bad_id_is_einval);
    MNEMO_TEST(s, test_memories__delete_is_idempotent_and_complete);
    MNEMO_TEST(s, test_memories__list_pages_newest_first);
    MNEMO_TEST(s, test_memories__list_tag_filtered_paging);
    MNEMO_TEST(s, test_memories__bad_page_tokens_are_einval);
    MNEMO_TEST(s, test_memories__retrieve_ranks_relevant_first);
    MNEMO_TEST(s, test_memories__retrieve_filters_tags_before_ranking);
    MNEMO_TEST(s, test_memories__by_tag_any_and_all);
    MNEMO_TEST(s, test_memories__survive_reopen);
    MNEMO_TEST(s, test_memories__concurrent_puts_stay_consistent);
    MNEMO_TEST(s, test_memories__content_that_does_not_hash_to_its_id_is_corrupt);
    MNEMO_TEST(s, test_memories__size_bound_covers_every_field);
    MNEMO_TEST(s, test_memories__list_budget_ends_pages_early);
    MNEMO_TEST(s, test_memories__budget_truncates_retrieve_and_by_tag);
    MNEMO_TEST(s, test_memories__budget_returns_one_oversized_memory);
    return mnemo_test_run();
}
