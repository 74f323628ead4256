/* test_index.c - unit tests of index.c over a real store in a temporary
 * directory: BM25 ranking, removal, filters, limits, namespaces,
 * persistence, merging of posting blocks and concurrent use. Test ids are
 * short strings zero-padded to ID_LEN bytes. */
#include "index.h"
#include "store.h"
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define ID_LEN 12

typedef struct fixture {
    char *dir;
    mnemo_store_t *store;
    mnemo_index_t *index; /* namespace 'M' */
} fixture_t;

static void fx_open_index(fixture_t *f)
{
    mnemo_err_t err;
    CU_ASSERT_EQUAL_FATAL(mnemo_store_open(&f->store, f->dir, NULL, &err), MNEMO_OK);
    CU_ASSERT_EQUAL_FATAL(mnemo_index_open(&f->index, f->store, 'M', ID_LEN, &err), MNEMO_OK);
}

static void fx_close_index(fixture_t *f)
{
    mnemo_index_close(f->index);
    mnemo_store_close(f->store);
    f->index = NULL;
    f->store = NULL;
}

static void fx_setup(fixture_t *f)
{
    f->dir = mnemo_test_tmpdir();
    fx_open_index(f);
}

static void fx_teardown(fixture_t *f)
{
    fx_close_index(f);
    mnemo_test_rmtree(f->dir);
    free(f->dir);
}

static const uint8_t *pad(uint8_t out[ID_LEN], const char *id)
{
    memset(out, 0, ID_LEN);
    memcpy(out, id, strlen(id) < ID_LEN ? strlen(id) : ID_LEN);
    return out;
}

static void stage_add(mnemo_index_t *index, mnemo_store_batch_t *b, const char *id,
                      const char *text)
{
    uint8_t pid[ID_LEN];
    CU_ASSERT_EQUAL(mnemo_index_add(index, b, pad(pid, id), text, strlen(text), NULL), MNEMO_OK);
}

static void stage_remove(mnemo_index_t *index, mnemo_store_batch_t *b, const char *id)
{
    uint8_t pid[ID_LEN];
    mnemo_index_remove(index, b, pad(pid, id));
}

static void add_to(mnemo_store_t *store, mnemo_index_t *index, const char *id, const char *text)
{
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    stage_add(index, b, id, text);
    CU_ASSERT_EQUAL(mnemo_store_write(store, b, false, NULL), MNEMO_OK);
    mnemo_store_batch_destroy(b);
}

static void add_doc(fixture_t *f, const char *id, const char *text)
{
    add_to(f->store, f->index, id, text);
}

static void remove_doc(fixture_t *f, const char *id)
{
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    stage_remove(f->index, b, id);
    CU_ASSERT_EQUAL(mnemo_store_write(f->store, b, false, NULL), MNEMO_OK);
    mnemo_store_batch_destroy(b);
}

static size_t search_ex(mnemo_index_t *index, mnemo_index_hit_t **hits, const char *query,
                        size_t limit, double min_score, mnemo_index_filter_fn filter, void *ctx)
{
    size_t count = 99;
    mnemo_err_t err;
    mnemo_status_t st = mnemo_index_search(index, hits, &count, query, strlen(query), limit,
                                           min_score, filter, ctx, &err);
    CU_ASSERT_EQUAL(st, MNEMO_OK);
    if (st != MNEMO_OK) {
        fprintf(stderr, "\nsearch '%s': %s\n", query, err.msg);
        *hits = NULL;
        return 0;
    }
    return count;
}

static size_t search(fixture_t *f, mnemo_index_hit_t **hits, const char *query, size_t limit)
{
    return search_ex(f->index, hits, query, limit, 0.0, NULL, NULL);
}

static bool hit_is(const mnemo_index_hit_t *hit, const char *id)
{
    uint8_t pid[ID_LEN];
    return hit->id_len == ID_LEN && memcmp(hit->id, pad(pid, id), ID_LEN) == 0;
}

static void merge(fixture_t *f)
{
    mnemo_err_t err;
    CU_ASSERT_EQUAL(mnemo_index_merge(f->index, &err), MNEMO_OK);
}

static void test_index__ranks_rare_term_higher(void)
{
    fixture_t f;
    fx_setup(&f);
    add_doc(&f, "d1", "common words here");
    add_doc(&f, "d2", "common words there");
    add_doc(&f, "d3", "rare words here");
    add_doc(&f, "d4", "common words elsewhere");
    mnemo_index_hit_t *hits;
    size_t n = search(&f, &hits, "common rare", 10);
    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT(n > 0 && hit_is(&hits[0], "d3"));
    for (size_t i = 1; i < n; i++)
        CU_ASSERT(hits[i - 1].score >= hits[i].score);
    free(hits);
    fx_teardown(&f);
}

static void test_index__scores_match_bm25_formula(void)
{
    fixture_t f;
    fx_setup(&f);
    add_doc(&f, "d1", "alpha beta");
    add_doc(&f, "d2", "beta gamma delta");
    mnemo_index_hit_t *hits;
    CU_ASSERT_EQUAL_FATAL(search(&f, &hits, "alpha", 10), 1);
    /* N = 2, df = 1, avgdl = 2.5, tf = 1, dl = 2. */
    double idf = log(1.0 + (2.0 - 1.0 + 0.5) / (1.0 + 0.5));
    double want = idf * 2.2 / (1.0 + 1.2 * (0.25 + 0.75 * 2.0 / 2.5));
    CU_ASSERT_DOUBLE_EQUAL(hits[0].score, want, 1e-9);
    CU_ASSERT(hit_is(&hits[0], "d1"));
    free(hits);
    fx_teardown(&f);
}

static void test_index__higher_tf_and_shorter_doc_rank_higher(void)
{
    fixture_t f;
    fx_setup(&f);
    add_doc(&f, "tf1", "cat dog fish bird");
    add_doc(&f, "tf3", "cat cat cat bird");
    add_doc(&f, "long", "mouse dog fish bird horse cow pig hen duck goose owl");
    add_doc(&f, "short", "mouse owl");
    mnemo_index_hit_t *hits;
    CU_ASSERT_EQUAL_FATAL(search(&f, &hits, "cat", 10), 2);
    CU_ASSERT(hit_is(&hits[0], "tf3"));
    CU_ASSERT(hit_is(&hits[1], "tf1"));
    free(hits);
    CU_ASSERT_EQUAL_FATAL(search(&f, &hits, "mouse", 10), 2);
    CU_ASSERT(hit_is(&hits[0], "short"));
    CU_ASSERT(hit_is(&hits[1], "long"));
    free(hits);
    fx_teardown(&f);
}

static void test_index__remove_makes_doc_unfindable_and_drops_stats(void)
{
    fixture_t f;
    fx_setup(&f);
    add_doc(&f, "a", "shared uniqa");
    add_doc(&f, "b", "shared uniqb");
    CU_ASSERT_EQUAL(mnemo_index_doc_count(f.index), 2);
    remove_doc(&f, "a");
    CU_ASSERT_EQUAL(mnemo_index_doc_count(f.index), 1);
    mnemo_index_hit_t *hits;
    CU_ASSERT_EQUAL(search(&f, &hits, "uniqa", 10), 0);
    CU_ASSERT_PTR_NULL(hits);
    CU_ASSERT_EQUAL_FATAL(search(&f, &hits, "shared", 10), 1);
    CU_ASSERT(hit_is(&hits[0], "b"));
    free(hits);
    fx_close_index(&f);
    fx_open_index(&f);
    CU_ASSERT_EQUAL(mnemo_index_doc_count(f.index), 1);
    fx_teardown(&f);
}

typedef struct filter_ctx {
    const char *reject;
    int calls_for_b;
} filter_ctx_t;

static bool reject_one(void *ctx, const void *id, size_t id_len)
{
    filter_ctx_t *fc = ctx;
    uint8_t b[ID_LEN], reject[ID_LEN];
    CU_ASSERT_EQUAL(id_len, ID_LEN);
    if (memcmp(id, pad(b, "b"), ID_LEN) == 0)
        fc->calls_for_b++;
    return memcmp(id, pad(reject, fc->reject), ID_LEN) != 0;
}

static void test_index__filter_excludes_and_asks_once_per_doc(void)
{
    fixture_t f;
    fx_setup(&f);
    add_doc(&f, "a", "red green blue");
    add_doc(&f, "b", "red green");
    add_doc(&f, "c", "yellow");
    filter_ctx_t fc = {"a", 0};
    mnemo_index_hit_t *hits;
    size_t n = search_ex(f.index, &hits, "red green blue", 10, 0.0, reject_one, &fc);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT(hit_is(&hits[0], "b"));
    CU_ASSERT_EQUAL(fc.calls_for_b, 1);
    free(hits);
    fx_teardown(&f);
}

static void test_index__limit_min_score_and_ties(void)
{
    fixture_t f;
    fx_setup(&f);
    char id[8], text[256];
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "d%02d", i);
        text[0] = '\0';
        for (int r = 0; r <= i % 10; r++)
            strcat(text, "needle ");
        strcat(text, "hay hay hay hay hay hay hay hay hay hay");
        add_doc(&f, id, text);
    }
    mnemo_index_hit_t *hits;
    CU_ASSERT_EQUAL_FATAL(search(&f, &hits, "needle", 5), 5);
    /* tf 10: d09, d19 (tie: smaller id first); tf 9: d08, d18; tf 8: d07. */
    const char *want[] = {"d09", "d19", "d08", "d18", "d07"};
    for (int i = 0; i < 5; i++)
        CU_ASSERT(hit_is(&hits[i], want[i]));
    CU_ASSERT_EQUAL(hits[0].score, hits[1].score);
    double third = hits[2].score;
    free(hits);
    CU_ASSERT_EQUAL(search_ex(f.index, &hits, "needle", 100, third, NULL, NULL), 4);
    free(hits);
    CU_ASSERT_EQUAL(search(&f, &hits, "needle", 1000), 20);
    free(hits);
    CU_ASSERT_EQUAL(search(&f, &hits, "needle", 0), 0);
    free(hits);
    fx_teardown(&f);
}

static void test_index__namespaces_are_separate(void)
{
    fixture_t f;
    fx_setup(&f);
    mnemo_index_t *code;
    CU_ASSERT_EQUAL_FATAL(mnemo_index_open(&code, f.store, 'C', ID_LEN, NULL), MNEMO_OK);
    add_doc(&f, "m1", "memory about apples");
    add_to(f.store, code, "c1", "code about oranges");
    add_to(f.store, code, "c2", "code about oranges again");
    CU_ASSERT_EQUAL(mnemo_index_doc_count(f.index), 1);
    CU_ASSERT_EQUAL(mnemo_index_doc_count(code), 2);
    mnemo_index_hit_t *hits;
    CU_ASSERT_EQUAL(search(&f, &hits, "oranges about", 10), 1);
    CU_ASSERT(hits != NULL && hit_is(&hits[0], "m1"));
    free(hits);
    CU_ASSERT_EQUAL(search_ex(code, &hits, "apples", 10, 0.0, NULL, NULL), 0);
    free(hits);
    mnemo_index_close(code);
    fx_teardown(&f);
}

static void test_index__stats_survive_reopen(void)
{
    fixture_t f;
    fx_setup(&f);
    add_doc(&f, "x", "one two three");
    add_doc(&f, "y", "two three four five");
    add_doc(&f, "z", "five six");
    mnemo_index_hit_t *hits;
    CU_ASSERT_EQUAL_FATAL(search(&f, &hits, "two five", 10), 3);
    double before = hits[0].score;
    free(hits);
    fx_close_index(&f);
    fx_open_index(&f);
    CU_ASSERT_EQUAL(mnemo_index_doc_count(f.index), 3);
    CU_ASSERT_EQUAL_FATAL(search(&f, &hits, "two five", 10), 3);
    CU_ASSERT_DOUBLE_EQUAL(hits[0].score, before, 1e-12);
    CU_ASSERT(hit_is(&hits[0], "y"));
    free(hits);
    fx_teardown(&f);
}

static void test_index__identifier_query_ranks_its_definition_first(void)
{
    fixture_t f;
    fx_setup(&f);
    add_doc(&f, "sep1", "parse the request and return it");
    add_doc(&f, "sep2", "request to parse later");
    add_doc(&f, "def", "int parseHTTPRequest(const char *buf)");
    add_doc(&f, "other", "unrelated text entirely");
    mnemo_index_hit_t *hits;
    size_t n = search(&f, &hits, "parseHTTPRequest", 10);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT(n > 0 && hit_is(&hits[0], "def"));
    CU_ASSERT(n > 1 && hits[0].score > hits[1].score);
    free(hits);
    fx_teardown(&f);
}

static void test_index__query_without_terms_gives_no_hits(void)
{
    fixture_t f;
    fx_setup(&f);
    mnemo_index_hit_t *hits;
    CU_ASSERT_EQUAL(search(&f, &hits, "anything", 10), 0); /* empty index */
    add_doc(&f, "a", "some words");
    CU_ASSERT_EQUAL(search(&f, &hits, "", 10), 0);
    CU_ASSERT_PTR_NULL(hits);
    CU_ASSERT_EQUAL(search(&f, &hits, " ?! ... ---", 10), 0);
    CU_ASSERT_PTR_NULL(hits);
    CU_ASSERT_EQUAL(search(&f, &hits, "absent", 10), 0);
    fx_teardown(&f);
}

static void test_index__malformed_posting_is_corrupt(void)
{
    fixture_t f;
    fx_setup(&f);
    static const char key[] = "Mpbroken\0\0\0\0\1";
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    mnemo_store_batch_put(b, key, sizeof key - 1, "\xff", 1);
    CU_ASSERT_EQUAL(mnemo_store_write(f.store, b, false, NULL), MNEMO_OK);
    mnemo_store_batch_destroy(b);
    mnemo_index_hit_t *hits = NULL;
    size_t count = 7;
    mnemo_err_t err;
    CU_ASSERT_EQUAL(
        mnemo_index_search(f.index, &hits, &count, "broken", 6, 10, 0.0, NULL, NULL, &err),
        MNEMO_ECORRUPT);
    CU_ASSERT_EQUAL(count, 7); /* out parameters untouched on failure */
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "broken"));
    fx_teardown(&f);
}

typedef struct shared {
    fixture_t *f;
    atomic_bool done;
    atomic_int errors;
} shared_t;

static void shared_init(shared_t *sh, fixture_t *f)
{
    sh->f = f;
    atomic_init(&sh->done, false);
    atomic_init(&sh->errors, 0);
}

static void *searcher(void *arg)
{
    shared_t *sh = arg;
    int rounds = 0;
    while (!atomic_load(&sh->done) || rounds < 10) {
        mnemo_index_hit_t *hits = NULL;
        size_t count = 0;
        mnemo_status_t st = mnemo_index_search(sh->f->index, &hits, &count, "alpha beta", 10, 10,
                                               0.0, NULL, NULL, NULL);
        if (st != MNEMO_OK || count > 10)
            atomic_fetch_add(&sh->errors, 1);
        for (size_t i = 1; i < count; i++)
            if (hits[i - 1].score < hits[i].score)
                atomic_fetch_add(&sh->errors, 1);
        free(hits);
        rounds++;
    }
    return NULL;
}

static void test_index__concurrent_searches_while_adding(void)
{
    fixture_t f;
    fx_setup(&f);
    shared_t sh;
    shared_init(&sh, &f);
    pthread_t threads[4];
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&threads[i], NULL, searcher, &sh), 0);
    char id[16], text[64];
    for (int i = 0; i < 400; i++) {
        snprintf(id, sizeof id, "doc%d", i);
        snprintf(text, sizeof text, "%s number%d filler", i % 3 ? "alpha" : "beta gamma", i);
        add_doc(&f, id, text);
    }
    atomic_store(&sh.done, true);
    for (int i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
    CU_ASSERT_EQUAL(atomic_load(&sh.errors), 0);
    CU_ASSERT_EQUAL(mnemo_index_doc_count(f.index), 400);
    fx_teardown(&f);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* 20,000 synthetic documents: checks the ranking and reports the timings
 * (informative only; no time is asserted). */
static void test_index__ranks_in_a_large_corpus(void)
{
    fixture_t f;
    fx_setup(&f);
    static const char *words[] = {"index", "query", "memory", "store",  "batch", "token",
                                  "score", "heap",  "client", "server", "sync",  "chunk"};
    char id[16], text[512];
    double t0 = now_ms();
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    unsigned seed = 12345;
    for (int i = 0; i < 20000; i++) {
        size_t len = 0;
        for (int w = 0; w < 40; w++) {
            seed = seed * 1103515245u + 12345u;
            len += (size_t)snprintf(text + len, sizeof text - len, "%s%u ", words[seed % 12],
                                    (seed >> 16) % 500);
        }
        if (i == 12345)
            len += (size_t)snprintf(text + len, sizeof text - len, "zebraUnicorn");
        snprintf(id, sizeof id, "doc%05d", i);
        uint8_t pid[ID_LEN];
        CU_ASSERT_EQUAL(mnemo_index_add(f.index, b, pad(pid, id), text, len, NULL), MNEMO_OK);
        if (mnemo_store_batch_count(b) > 5000) {
            CU_ASSERT_EQUAL(mnemo_store_write(f.store, b, false, NULL), MNEMO_OK);
            mnemo_store_batch_clear(b);
        }
    }
    CU_ASSERT_EQUAL(mnemo_store_write(f.store, b, false, NULL), MNEMO_OK);
    mnemo_store_batch_destroy(b);
    double t1 = now_ms();
    mnemo_index_hit_t *hits;
    size_t n = search(&f, &hits, "memory7 zebra unicorn", 10);
    CU_ASSERT_EQUAL(n, 10);
    CU_ASSERT(n > 0 && hit_is(&hits[0], "doc12345"));
    free(hits);
    double t2 = now_ms();
    int queries = 100;
    for (int q = 0; q < queries; q++) {
        snprintf(text, sizeof text, "%s%d %s%d", words[q % 12], q, words[(q + 5) % 12], q + 1);
        search(&f, &hits, text, 10);
        free(hits);
    }
    double t3 = now_ms();
    fprintf(stderr, "\n    20000 docs: index %.0f ms, first query %.2f ms, %.2f ms/query\n",
            t1 - t0, t2 - t1, (t3 - t2) / queries);
    fx_teardown(&f);
}

/* Search results of query as "id:score" lines, for comparing two states. */
static char *results_of(fixture_t *f, const char *query)
{
    mnemo_index_hit_t *hits;
    size_t n = search(f, &hits, query, 1000);
    size_t cap = 64 + n * (ID_LEN + 32), len = 0;
    char *out = malloc(cap);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, cap - len, "%.*s:%.9f\n", ID_LEN,
                                (const char *)hits[i].id, hits[i].score);
    free(hits);
    return out;
}

static void test_index__merge_keeps_results_and_leaves_one_block_per_term(void)
{
    fixture_t f;
    fx_setup(&f);
    char id[16], text[64];
    for (int i = 0; i < 60; i++) { /* one batch (so one block per term) per document */
        snprintf(id, sizeof id, "m%02d", i);
        snprintf(text, sizeof text, "alpha %s w%d", i % 2 ? "beta" : "gamma", i % 7);
        add_doc(&f, id, text);
    }
    /* every posting is still in the buffer (and its segment records) */
    CU_ASSERT_EQUAL(mnemo_index_block_count(f.index), 0);
    char *before = results_of(&f, "alpha beta w3");
    fx_close_index(&f); /* the buffer is rebuilt from the segment records */
    fx_open_index(&f);
    char *reopened = results_of(&f, "alpha beta w3");
    CU_ASSERT_STRING_EQUAL(reopened, before);
    free(reopened);
    merge(&f); /* flushes the buffer, then merges: one block per term */
    CU_ASSERT_EQUAL(mnemo_index_block_count(f.index), 10); /* alpha beta gamma w0..w6 */
    char *after = results_of(&f, "alpha beta w3");
    CU_ASSERT_STRING_EQUAL(after, before);
    free(after);
    fx_close_index(&f); /* and the merged blocks are what the next open reads */
    fx_open_index(&f);
    after = results_of(&f, "alpha beta w3");
    CU_ASSERT_STRING_EQUAL(after, before);
    free(after);
    free(before);
    fx_teardown(&f);
}

static void test_index__merge_drops_removed_documents(void)
{
    fixture_t f;
    fx_setup(&f);
    add_doc(&f, "keep", "solo shared");
    add_doc(&f, "gone", "lonely shared");
    remove_doc(&f, "gone");
    merge(&f); /* "lonely" had one block, all removed: the block goes */
    CU_ASSERT_EQUAL(mnemo_index_block_count(f.index), 2);
    mnemo_index_hit_t *hits;
    CU_ASSERT_EQUAL(search(&f, &hits, "lonely", 10), 0);
    CU_ASSERT_EQUAL_FATAL(search(&f, &hits, "shared", 10), 1);
    CU_ASSERT(hit_is(&hits[0], "keep"));
    free(hits);
    fx_teardown(&f);
}

static void test_index__remove_and_add_same_id_in_one_batch(void)
{
    fixture_t f;
    fx_setup(&f);
    add_doc(&f, "file#0", "old contents");
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    stage_remove(f.index, b, "file#0");
    stage_add(f.index, b, "file#0", "new contents");
    CU_ASSERT_EQUAL(mnemo_store_write(f.store, b, false, NULL), MNEMO_OK);
    mnemo_store_batch_destroy(b);
    CU_ASSERT_EQUAL(mnemo_index_doc_count(f.index), 1);
    mnemo_index_hit_t *hits;
    CU_ASSERT_EQUAL(search(&f, &hits, "old", 10), 0);
    CU_ASSERT_EQUAL_FATAL(search(&f, &hits, "contents", 10), 1);
    CU_ASSERT(hit_is(&hits[0], "file#0"));
    free(hits);
    /* the id now names the new document: removing it removes that one */
    remove_doc(&f, "file#0");
    CU_ASSERT_EQUAL(search(&f, &hits, "new contents", 10), 0);
    CU_ASSERT_EQUAL(mnemo_index_doc_count(f.index), 0);
    fx_teardown(&f);
}

static void test_index__unwritten_batch_changes_nothing(void)
{
    fixture_t f;
    fx_setup(&f);
    add_doc(&f, "a", "apple");
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    stage_add(f.index, b, "b", "apple banana");
    stage_remove(f.index, b, "a");
    mnemo_store_batch_destroy(b); /* never written */
    CU_ASSERT_EQUAL(mnemo_index_doc_count(f.index), 1);
    mnemo_index_hit_t *hits;
    CU_ASSERT_EQUAL(search(&f, &hits, "banana", 10), 0);
    CU_ASSERT_EQUAL_FATAL(search(&f, &hits, "apple", 10), 1);
    CU_ASSERT(hit_is(&hits[0], "a"));
    free(hits);
    fx_teardown(&f);
}

static void test_index__doc_numbers_are_not_reused_after_reopen(void)
{
    fixture_t f;
    fx_setup(&f);
    add_doc(&f, "old", "secret");
    remove_doc(&f, "old"); /* its posting stays in a block until a merge */
    fx_close_index(&f);
    fx_open_index(&f);
    add_doc(&f, "new", "public");
    mnemo_index_hit_t *hits;
    CU_ASSERT_EQUAL(search(&f, &hits, "secret", 10), 0);
    CU_ASSERT_EQUAL(mnemo_index_doc_count(f.index), 1);
    merge(&f);
    CU_ASSERT_EQUAL(mnemo_index_block_count(f.index), 1); /* "public" only */
    CU_ASSERT_EQUAL(search(&f, &hits, "secret", 10), 0);
    fx_teardown(&f);
}

static void *merger_loop(void *arg)
{
    shared_t *c = arg;
    while (!atomic_load(&c->done))
        if (mnemo_index_merge(c->f->index, NULL) != MNEMO_OK)
            atomic_fetch_add(&c->errors, 1);
    return NULL;
}

/* Adds, removes and merges run at once; then every live document is found
 * exactly once and no removed one is. */
static void test_index__merges_race_with_adds_and_removes(void)
{
    fixture_t f;
    fx_setup(&f);
    shared_t c;
    shared_init(&c, &f);
    pthread_t t;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, merger_loop, &c), 0);
    char id[16];
    bool removed[600] = {false};
    for (int i = 0; i < 600; i++) {
        snprintf(id, sizeof id, "c%d", i);
        add_doc(&f, id, i % 2 ? "churn odd" : "churn even");
        if (i % 3 == 0) {
            snprintf(id, sizeof id, "c%d", i / 2);
            remove_doc(&f, id);
            removed[i / 2] = true;
        }
    }
    atomic_store(&c.done, true);
    pthread_join(t, NULL);
    CU_ASSERT_EQUAL(atomic_load(&c.errors), 0);
    merge(&f);
    size_t live = 0;
    for (int i = 0; i < 600; i++)
        live += !removed[i];
    CU_ASSERT_EQUAL(mnemo_index_doc_count(f.index), live);
    mnemo_index_hit_t *hits;
    CU_ASSERT_EQUAL(search(&f, &hits, "churn", 1000), live);
    for (size_t i = 0; i < live && hits != NULL; i++)
        for (size_t j = 0; j < i; j++)
            CU_ASSERT(memcmp(hits[i].id, hits[j].id, ID_LEN) != 0);
    free(hits);
    CU_ASSERT_EQUAL(mnemo_index_block_count(f.index), 3);
    fx_teardown(&f);
}

/* The merger thread flushes the buffer into blocks once it holds enough
 * postings (FLUSH_POSTS, 512 Ki), and searches see the same results before
 * and after. */
static void test_index__background_merger_flushes_the_buffer(void)
{
    fixture_t f;
    fx_setup(&f);
    mnemo_index_start(f.index);
    char id[16], text[1024];
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    for (int i = 0; i < 9000; i++) { /* 9,000 docs x 60 distinct terms */
        size_t len = (size_t)snprintf(text, sizeof text, "%s ", i % 2 ? "odd" : "even");
        for (int w = 0; w < 59; w++)
            len += (size_t)snprintf(text + len, sizeof text - len, "t%d ", (i + w * 7) % 400);
        snprintf(id, sizeof id, "f%05d", i);
        stage_add(f.index, b, id, text);
        if (i % 100 == 99 || i == 8999) {
            CU_ASSERT_EQUAL(mnemo_store_write(f.store, b, false, NULL), MNEMO_OK);
            mnemo_store_batch_clear(b);
        }
    }
    mnemo_store_batch_destroy(b);
    for (int tries = 0; tries < 1000 && mnemo_index_block_count(f.index) == 0; tries++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    CU_ASSERT(mnemo_index_block_count(f.index) > 0);
    char *got = results_of(&f, "odd t7");
    merge(&f); /* everything in blocks now */
    char *want = results_of(&f, "odd t7");
    CU_ASSERT_STRING_EQUAL(got, want);
    free(got);
    free(want);
    fx_teardown(&f); /* close stops the merger */
}

/* Searches "race" until done: every hit has the same score (identical
 * documents: a posting counted twice would stand out) and the number of
 * hits never drops (documents are only added: a posting lost between the
 * buffer and the blocks would). */
static void *race_searcher(void *arg)
{
    shared_t *r = arg;
    size_t last = 0;
    while (!atomic_load(&r->done)) {
        mnemo_index_hit_t *hits = NULL;
        size_t n = 0;
        if (mnemo_index_search(r->f->index, &hits, &n, "race", 4, 1000, 0.0, NULL, NULL, NULL) !=
                MNEMO_OK ||
            n < last)
            atomic_fetch_add(&r->errors, 1);
        for (size_t i = 1; i < n; i++)
            if (hits[i].score != hits[0].score)
                atomic_fetch_add(&r->errors, 1);
        last = n;
        free(hits);
    }
    return NULL;
}

static void test_index__flushes_race_with_searches(void)
{
    fixture_t f;
    fx_setup(&f);
    shared_t r;
    shared_init(&r, &f);
    pthread_t t;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, race_searcher, &r), 0);
    char id[16];
    for (int i = 0; i < 600; i++) {
        snprintf(id, sizeof id, "r%d", i);
        add_doc(&f, id, "race");
        if (i % 50 == 49)
            merge(&f);
    }
    atomic_store(&r.done, true);
    pthread_join(t, NULL);
    CU_ASSERT_EQUAL(atomic_load(&r.errors), 0);
    mnemo_index_hit_t *hits;
    CU_ASSERT_EQUAL(search(&f, &hits, "race", 1000), 600);
    free(hits);
    fx_teardown(&f);
}

/* Adds n documents "<prefix><i>" with text, or removes them when text is
 * NULL; one batch per 500. */
static void batch_many(fixture_t *f, const char *prefix, int from, int n, const char *text)
{
    char id[16];
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    for (int i = from; i < from + n; i++) {
        snprintf(id, sizeof id, "%s%d", prefix, i);
        if (text != NULL)
            stage_add(f->index, b, id, text);
        else
            stage_remove(f->index, b, id);
        if ((i - from) % 500 == 499 || i == from + n - 1) {
            CU_ASSERT_EQUAL(mnemo_store_write(f->store, b, false, NULL), MNEMO_OK);
            mnemo_store_batch_clear(b);
        }
    }
    mnemo_store_batch_destroy(b);
}

static void add_many(fixture_t *f, const char *prefix, int from, int n, const char *text)
{
    batch_many(f, prefix, from, n, text);
}

static void remove_many(fixture_t *f, const char *prefix, int from, int n)
{
    batch_many(f, prefix, from, n, NULL);
}

/* Doc numbers are never reused, so re-adding the same documents again and
 * again (a full re-sync) walks through new pages of the document table;
 * the pages whose documents all died must be given back, or the table
 * grows with the history of the index instead of its contents. */
static void test_index__pages_of_dead_documents_are_given_back(void)
{
    fixture_t f;
    fx_setup(&f);
    add_many(&f, "k", 0, 10, "keeper");
    uint64_t base = mnemo_index_page_count(f.index);
    CU_ASSERT_EQUAL(base, 1);
    for (int round = 0; round < 5; round++) { /* 5 x 9,000 docs: 11 pages' worth */
        add_many(&f, "g", 0, 9000, "generation churn");
        remove_many(&f, "g", 0, 9000);
    }
    CU_ASSERT(mnemo_index_page_count(f.index) >= 10);
    merge(&f);
    /* Left: the keepers' page and the page still being handed out. */
    CU_ASSERT(mnemo_index_page_count(f.index) <= 2);
    mnemo_index_hit_t *hits;
    CU_ASSERT_EQUAL(search(&f, &hits, "keeper", 100), 10);
    free(hits);
    CU_ASSERT_EQUAL(search(&f, &hits, "churn", 100), 0);
    free(hits);
    add_many(&f, "n", 0, 5000, "fresh churn"); /* new pages still work */
    CU_ASSERT_EQUAL(search(&f, &hits, "fresh", 10000), 5000);
    free(hits);
    fx_teardown(&f);
}

/* Numbers handed out to a batch that was never written (a write that
 * failed, a batch dropped) belong to no document: they must not keep their
 * pages alive as if their documents were still in flight. */
static void test_index__abandoned_numbers_do_not_pin_pages(void)
{
    fixture_t f;
    fx_setup(&f);
    add_many(&f, "k", 0, 10, "kept"); /* numbers 0-9: page 0 */
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    for (int i = 0; i < 2000; i++) { /* numbers 10-2009: pages 0 and 1 */
        char id[16];
        snprintf(id, sizeof id, "x%d", i);
        stage_add(f.index, b, id, "abandoned");
    }
    mnemo_store_batch_destroy(b);      /* never written */
    add_many(&f, "n", 0, 100, "next"); /* 2010-2109: pages 1 and 2 */
    remove_many(&f, "k", 0, 10);
    remove_many(&f, "n", 0, 100);
    CU_ASSERT_EQUAL(mnemo_index_page_count(f.index), 3);
    merge(&f);
    /* Pages 0 and 1 are all dead now; page 2 is still being handed out. */
    CU_ASSERT_EQUAL(mnemo_index_page_count(f.index), 1);
    mnemo_index_hit_t *hits;
    CU_ASSERT_EQUAL(search(&f, &hits, "abandoned", 10), 0);
    add_many(&f, "m", 0, 10, "more");
    CU_ASSERT_EQUAL(search(&f, &hits, "more", 100), 10);
    free(hits);
    fx_teardown(&f);
}

/* Memories that expire oldest first (or the chunks a full re-sync
 * replaces) keep moving to new doc numbers. What a search holds between
 * queries must follow the documents that are live, not the numbers ever
 * handed out: a dense accumulator over every number would grow by 16
 * bytes a document ever added. Results stay exact while the floor below
 * which nothing is live moves up. */
static void test_index__memory_follows_live_documents_under_churn(void)
{
    enum { LIVE = 3000, ROUNDS = 20 };
    fixture_t f;
    fx_setup(&f);
    add_many(&f, "e", 0, LIVE, "expiring note");
    uint64_t warm = 0;
    for (int round = 1; round <= ROUNDS; round++) {
        add_many(&f, "e", round * LIVE, LIVE, "expiring note");
        remove_many(&f, "e", (round - 1) * LIVE, LIVE);
        merge(&f);
        mnemo_index_hit_t *hits;
        size_t n = search(&f, &hits, "expiring", 2 * LIVE);
        CU_ASSERT_EQUAL(n, LIVE);
        uint8_t oldest[ID_LEN], newest[ID_LEN];
        char id[16];
        snprintf(id, sizeof id, "e%d", round * LIVE);
        pad(oldest, id);
        snprintf(id, sizeof id, "e%d", round * LIVE + LIVE - 1);
        pad(newest, id);
        bool has_oldest = false, has_newest = false;
        for (size_t i = 0; i < n; i++) {
            has_oldest |= memcmp(hits[i].id, oldest, ID_LEN) == 0;
            has_newest |= memcmp(hits[i].id, newest, ID_LEN) == 0;
        }
        CU_ASSERT(has_oldest && has_newest);
        free(hits);
        if (round == 2)
            warm = mnemo_index_memory_bytes(f.index);
    }
    uint64_t end = mnemo_index_memory_bytes(f.index);
    printf("\n  index memory after 2 rounds %.0f KiB, after %d rounds %.0f KiB (x%.2f)\n",
           (double)warm / 1024, ROUNDS, (double)end / 1024, (double)end / (double)warm);
    CU_ASSERT(end <= warm + warm / 4);
    fx_teardown(&f);
}

/* Keys in the store that start with the plen bytes of prefix. */
static size_t count_keys(fixture_t *f, const void *prefix, size_t plen)
{
    size_t n = 0;
    mnemo_store_iter_t *it = mnemo_store_iter_create(f->store);
    for (mnemo_store_iter_seek(it, prefix, plen); mnemo_store_iter_valid(it);
         mnemo_store_iter_next(it)) {
        size_t klen;
        const char *key = mnemo_store_iter_key(it, &klen);
        if (klen < plen || memcmp(key, prefix, plen) != 0)
            break;
        n++;
    }
    mnemo_store_iter_destroy(it);
    return n;
}

/* Segment records (the postings of batches not yet flushed into blocks)
 * moved from ns 'g' to 0xff ns, after every other key (index.c seg_key).
 * A data dir written before holds them under the old key: they must still
 * be loaded (their documents found) and then deleted by the first flush. */
static void test_index__segments_under_the_old_key_are_read_and_deleted(void)
{
    fixture_t f;
    fx_setup(&f);
    add_many(&f, "s", 0, 20, "legacy segment");
    const uint8_t mark[2] = {0xff, 'M'}, legacy[2] = {'M', 'g'};
    CU_ASSERT_EQUAL(count_keys(&f, mark, 2), 1);
    /* Move the record to the old key, as mnemod 0.x wrote it. */
    mnemo_store_iter_t *it = mnemo_store_iter_create(f.store);
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    for (mnemo_store_iter_seek(it, mark, 2); mnemo_store_iter_valid(it);
         mnemo_store_iter_next(it)) {
        size_t klen, vlen;
        const char *key = mnemo_store_iter_key(it, &klen);
        if (klen != 6 || memcmp(key, mark, 2) != 0)
            break;
        const char *val = mnemo_store_iter_value(it, &vlen);
        uint8_t old[6] = {'M', 'g'};
        memcpy(old + 2, key + 2, 4);
        mnemo_store_batch_put(b, old, sizeof old, val, vlen);
        mnemo_store_batch_delete(b, key, klen);
    }
    mnemo_store_iter_destroy(it);
    mnemo_err_t err;
    CU_ASSERT_EQUAL_FATAL(mnemo_store_write(f.store, b, true, &err), MNEMO_OK);
    mnemo_store_batch_destroy(b);
    CU_ASSERT_EQUAL(count_keys(&f, mark, 2), 0);
    CU_ASSERT_EQUAL(count_keys(&f, legacy, 2), 1);

    fx_close_index(&f);
    fx_open_index(&f);
    mnemo_index_hit_t *hits;
    CU_ASSERT_EQUAL(search(&f, &hits, "legacy", 100), 20);
    free(hits);
    merge(&f); /* flushes the buffer into blocks */
    CU_ASSERT_EQUAL(count_keys(&f, legacy, 2), 0);
    CU_ASSERT_EQUAL(count_keys(&f, mark, 2), 0);
    CU_ASSERT_EQUAL(search(&f, &hits, "segment", 100), 20);
    free(hits);
    fx_close_index(&f); /* and after a restart, from the blocks alone */
    fx_open_index(&f);
    CU_ASSERT_EQUAL(search(&f, &hits, "legacy", 100), 20);
    free(hits);
    fx_teardown(&f);
}

/* Searches "wave" until done; every hit must carry a real id (a "w" id),
 * never the zeros of a retired page. */
static void *wave_searcher(void *arg)
{
    shared_t *r = arg;
    while (!atomic_load(&r->done)) {
        mnemo_index_hit_t *hits = NULL;
        size_t n = 0;
        if (mnemo_index_search(r->f->index, &hits, &n, "wave", 4, 50, 0.0, NULL, NULL, NULL) !=
            MNEMO_OK)
            atomic_fetch_add(&r->errors, 1);
        for (size_t i = 0; i < n; i++)
            if (hits[i].id[0] != 'w')
                atomic_fetch_add(&r->errors, 1);
        free(hits);
    }
    return NULL;
}

/* Pages are freed while searches run (under ASan a search reading a freed
 * page is a use-after-free report, not a lucky read). */
static void test_index__page_retirement_races_with_searches(void)
{
    fixture_t f;
    fx_setup(&f);
    shared_t r;
    shared_init(&r, &f);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, wave_searcher, &r), 0);
    for (int round = 0; round < 4; round++) {
        add_many(&f, "w", round * 5000, 5000, "wave");
        remove_many(&f, "w", round * 5000, 5000);
        merge(&f);
    }
    atomic_store(&r.done, true);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    CU_ASSERT_EQUAL(atomic_load(&r.errors), 0);
    CU_ASSERT(mnemo_index_page_count(f.index) <= 1);
    fx_teardown(&f);
}

static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A sweep that keeps failing (here on a corrupt block) must not make the
 * merger retry at once, forever: found spinning at 100 % CPU by review. */
static void test_index__merger_backs_off_after_a_failed_sweep(void)
{
    fixture_t f;
    fx_setup(&f);
    static const char key[] = "Mpzzbroken\0\0\0\0\1";
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    mnemo_store_batch_put(b, key, sizeof key - 1, "\xff", 1);
    CU_ASSERT_EQUAL(mnemo_store_write(f.store, b, false, NULL), MNEMO_OK);
    mnemo_store_batch_clear(b);
    char id[16];
    for (int i = 0; i < 1200; i++) {
        snprintf(id, sizeof id, "d%d", i);
        stage_add(f.index, b, id, "alpha beta");
    }
    CU_ASSERT_EQUAL(mnemo_store_write(f.store, b, false, NULL), MNEMO_OK);
    mnemo_store_batch_clear(b);
    mnemo_err_t err;
    CU_ASSERT_EQUAL(mnemo_index_merge(f.index, &err), MNEMO_ECORRUPT);
    for (int i = 0; i < 1100; i++) { /* a sweep is now due */
        snprintf(id, sizeof id, "d%d", i);
        stage_remove(f.index, b, id);
    }
    CU_ASSERT_EQUAL(mnemo_store_write(f.store, b, false, NULL), MNEMO_OK);
    mnemo_store_batch_destroy(b);
    double c0 = cpu_seconds();
    mnemo_index_start(f.index);
    struct timespec two = {2, 0};
    nanosleep(&two, NULL);
    /* A spinning merger burns about 2 s of CPU here; one that waits, a few
     * milliseconds (two failed sweeps of a tiny index). */
    CU_ASSERT(cpu_seconds() - c0 < 0.5);
    mnemo_index_hit_t *hits;
    CU_ASSERT_EQUAL(search(&f, &hits, "alpha", 1000), 100); /* and the index still serves */
    free(hits);
    fx_teardown(&f);
}

/* Doc numbers are never reused: after a long history they far outnumber
 * live documents, and a search must not allocate per doc number ever handed
 * out (found by review: 957 MB of RSS for one document). */
/* Reopens the index as if it had handed out 100,000,000 doc numbers: far
 * more than documents, so its searches go sparse (unless the floor, the
 * first page still holding a document, is as far up). */
static void lease_far_ahead(fixture_t *f)
{
    uint8_t lease[4] = {0x05, 0xf5, 0xe1, 0x00};
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    mnemo_store_batch_put(b, "Mn", 2, lease, sizeof lease);
    CU_ASSERT_EQUAL(mnemo_store_write(f->store, b, false, NULL), MNEMO_OK);
    mnemo_store_batch_destroy(b);
    fx_close_index(f);
    fx_open_index(f);
}

static void test_index__sparse_when_doc_numbers_outnumber_documents(void)
{
    fixture_t f;
    fx_setup(&f);
    lease_far_ahead(&f);
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    add_doc(&f, "d1", "alpha beta");
    add_doc(&f, "d2", "beta gamma delta");
    mnemo_index_hit_t *hits;
    CU_ASSERT_EQUAL_FATAL(search(&f, &hits, "alpha", 10), 1);
    double idf = log(1.0 + (2.0 - 1.0 + 0.5) / (1.0 + 0.5)); /* as in scores_match_bm25 */
    CU_ASSERT_DOUBLE_EQUAL(hits[0].score, idf * 2.2 / (1.0 + 1.2 * (0.25 + 0.75 * 2.0 / 2.5)),
                           1e-9);
    free(hits);
    merge(&f); /* blocks now; d3 stays in the buffer */
    add_doc(&f, "d3", "beta");
    CU_ASSERT_EQUAL_FATAL(search(&f, &hits, "beta delta", 10), 3);
    CU_ASSERT(hit_is(&hits[0], "d2"));
    free(hits);
    getrusage(RUSAGE_SELF, &r1);
    CU_ASSERT(r1.ru_maxrss - r0.ru_maxrss < 64 * 1024); /* KiB; dense would be ~2 GiB */
    fx_teardown(&f);
}

/* An old document pins the floor at doc 0, then MANY documents come in
 * from doc 100,000,000: the accumulator is sparse, and a query over them
 * grows its table many times. */
enum { MANY = 20000 };

static void sparse_with_many(fixture_t *f)
{
    fx_setup(f);
    add_doc(f, "pin", "an old document keeps the floor at doc 0");
    lease_far_ahead(f);
    add_many(f, "w", 0, MANY, "common word");
}

/* The table grows many times during the search: a slot taken while it
 * grows must be in the new table (acc_first_seen once wrote through the
 * freed one; the normal build crashed, the ASan build names the write). */
static void test_index__sparse_search_over_many_documents(void)
{
    fixture_t f;
    sparse_with_many(&f);
    mnemo_index_hit_t *hits;
    CU_ASSERT_EQUAL(search(&f, &hits, "common", MANY + 1), MANY);
    free(hits);
    CU_ASSERT_EQUAL(search(&f, &hits, "old document", 10), 1);
    CU_ASSERT(hit_is(&hits[0], "pin"));
    free(hits);
    fx_teardown(&f);
}

/* A search's accumulator is pooled. In sparse mode its table, like its
 * list of touched docs, grows to what the largest query touched; once the
 * index shrinks, a few small queries must bring it back down. */
static void test_index__sparse_accumulator_follows_a_shrinking_index(void)
{
    enum { KEEP = 10, SMALL = 12 };
    fixture_t f;
    sparse_with_many(&f);
    mnemo_index_hit_t *hits;
    CU_ASSERT_EQUAL(search(&f, &hits, "common", 10), 10);
    free(hits);
    remove_many(&f, "w", 0, MANY - KEEP);
    merge(&f);
    uint64_t big = mnemo_index_memory_bytes(f.index);
    for (int i = 0; i < SMALL; i++) {
        CU_ASSERT_EQUAL(search(&f, &hits, "common", 2 * KEEP), KEEP);
        free(hits);
    }
    uint64_t small = mnemo_index_memory_bytes(f.index);
    printf("\n  index memory after a query over %d documents %.0f KiB, after %d over %d %.0f KiB\n",
           MANY, (double)big / 1024, SMALL, KEEP, (double)small / 1024);
    CU_ASSERT(small + 1024 * 1024 < big); /* the table alone was 64 Ki slots of 17 bytes */
    fx_teardown(&f);
}

typedef struct held_search {
    mnemo_index_t *index;
    pthread_barrier_t *all_in;
    bool waited;
} held_search_t;

/* Holds its search (and so its accumulator) until every search is in. */
static bool wait_for_all(void *ctx, const void *doc_id, size_t id_len)
{
    (void)doc_id;
    (void)id_len;
    held_search_t *h = ctx;
    if (!h->waited) {
        h->waited = true;
        pthread_barrier_wait(h->all_in);
    }
    return true;
}

static void *held_searcher(void *arg)
{
    held_search_t *h = arg;
    mnemo_index_hit_t *hits = NULL;
    CU_ASSERT_EQUAL(search_ex(h->index, &hits, "common", 10, 0.0, wait_for_all, h), 10);
    free(hits);
    return NULL;
}

/* Four searches at once leave four accumulators in the pool; when later
 * searches run one at a time, the three at the bottom are freed. */
static void test_index__pool_frees_accumulators_a_burst_left(void)
{
    enum { BURST = 4, LATER = 300 };
    fixture_t f;
    fx_setup(&f);
    add_many(&f, "w", 0, MANY, "common word");
    pthread_barrier_t all_in;
    pthread_barrier_init(&all_in, NULL, BURST);
    held_search_t held[BURST];
    pthread_t threads[BURST];
    for (int i = 0; i < BURST; i++) {
        held[i] = (held_search_t){.index = f.index, .all_in = &all_in};
        CU_ASSERT_EQUAL_FATAL(pthread_create(&threads[i], NULL, held_searcher, &held[i]), 0);
    }
    for (int i = 0; i < BURST; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&all_in);
    uint64_t burst = mnemo_index_memory_bytes(f.index);
    mnemo_index_hit_t *hits;
    for (int i = 0; i < LATER; i++) {
        CU_ASSERT_EQUAL(search(&f, &hits, "absentword", 10), 0);
        free(hits);
    }
    uint64_t later = mnemo_index_memory_bytes(f.index);
    printf("\n  index memory after %d searches at once %.0f KiB, after %d one at a time %.0f "
           "KiB\n",
           BURST, (double)burst / 1024, LATER, (double)later / 1024);
    /* each accumulator held dense arrays over 20,000 documents (16 bytes
     * each) and lists of the documents it touched */
    CU_ASSERT(later + (BURST - 1) * 320 * 1024 < burst);
    fx_teardown(&f);
}

int main(void)
{
    CU_pSuite s = mnemo_test_suite("index");
    MNEMO_TEST(s, test_index__ranks_rare_term_higher);
    MNEMO_TEST(s, test_index__scores_match_bm25_formula);
    MNEMO_TEST(s, test_index__higher_tf_and_shorter_doc_rank_higher);
    MNEMO_TEST(s, test_index__remove_makes_doc_unfindable_and_drops_stats);
    MNEMO_TEST(s, test_index__filter_excludes_and_asks_once_per_doc);
    MNEMO_TEST(s, test_index__limit_min_score_and_ties);
    MNEMO_TEST(s, test_index__namespaces_are_separate);
    MNEMO_TEST(s, test_index__stats_survive_reopen);
    MNEMO_TEST(s, test_index__identifier_query_ranks_its_definition_first);
    MNEMO_TEST(s, test_index__query_without_terms_gives_no_hits);
    MNEMO_TEST(s, test_index__malformed_posting_is_corrupt);
    MNEMO_TEST(s, test_index__concurrent_searches_while_adding);
    MNEMO_TEST(s, test_index__ranks_in_a_large_corpus);
    MNEMO_TEST(s, test_index__merge_keeps_results_and_leaves_one_block_per_term);
    MNEMO_TEST(s, test_index__merge_drops_removed_documents);
    MNEMO_TEST(s, test_index__remove_and_add_same_id_in_one_batch);
    MNEMO_TEST(s, test_index__unwritten_batch_changes_nothing);
    MNEMO_TEST(s, test_index__doc_numbers_are_not_reused_after_reopen);
    MNEMO_TEST(s, test_index__merges_race_with_adds_and_removes);
    MNEMO_TEST(s, test_index__background_merger_flushes_the_buffer);
    MNEMO_TEST(s, test_index__flushes_race_with_searches);
    MNEMO_TEST(s, test_index__pages_of_dead_documents_are_given_back);
    MNEMO_TEST(s, test_index__memory_follows_live_documents_under_churn);
    MNEMO_TEST(s, test_index__abandoned_numbers_do_not_pin_pages);
    MNEMO_TEST(s, test_index__segments_under_the_old_key_are_read_and_deleted);
    MNEMO_TEST(s, test_index__page_retirement_races_with_searches);
    MNEMO_TEST(s, test_index__merger_backs_off_after_a_failed_sweep);
    MNEMO_TEST(s, test_index__sparse_when_doc_numbers_outnumber_documents);
    MNEMO_TEST(s, test_index__sparse_search_over_many_documents);
    MNEMO_TEST(s, test_index__sparse_accumulator_follows_a_shrinking_index);
    MNEMO_TEST(s, test_index__pool_frees_accumulators_a_burst_left);
    return mnemo_test_run();
}
