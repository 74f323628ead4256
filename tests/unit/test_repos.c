/* test_repos.c - unit tests of repos.c over a real store in a temporary
 * directory: batches and search, filters, replacing and removing files,
 * manifests, counts, listing with page tokens, delete, recovery of
 * interrupted syncs and the status record.
 */
#include "hash.h"
#include "repos.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct env {
    char *dir;
    mnemo_store_t *store;
    mnemo_repos_t *repos;
} env_t;

static void env_open(env_t *e)
{
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL_FATAL(mnemo_store_open(&e->store, e->dir, NULL, &err), MNEMO_OK);
    CU_ASSERT_EQUAL_FATAL(mnemo_repos_open(&e->repos, e->store, &err), MNEMO_OK);
}

static void env_close(env_t *e)
{
    mnemo_repos_close(e->repos);
    mnemo_store_close(e->store);
    e->repos = NULL;
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

/* Records path with text into b; old is its previous entry or NULL.
 * Returns the number of chunks written. */
static size_t put_opts(mnemo_repos_batch_t *b, const mnemo_manifest_entry_t *old, const char *path,
                       const char *text, const mnemo_chunker_options_t *opts)
{
    uint8_t sha[MNEMO_SHA256_LEN];
    mnemo_sha256(text, strlen(text), sha);
    size_t written = 0;
    mnemo_err_t err = {{0}};
    mnemo_status_t st = mnemo_repos_batch_put_file(b, old, path, strlen(text), 1000, sha, text,
                                                   strlen(text), opts, &written, &err);
    CU_ASSERT_EQUAL(st, MNEMO_OK);
    return written;
}

static size_t put(mnemo_repos_batch_t *b, const char *path, const char *text)
{
    return put_opts(b, NULL, path, text, NULL);
}

static mnemo_sync_status_t make_status(const char *name, mnemo_sync_state_t state)
{
    mnemo_sync_status_t s = {.path = "/src/repo", .state = state};
    snprintf(s.name, sizeof s.name, "%s", name);
    s.started_at_ms = 1000;
    bool live = state == MNEMO_SYNC_RUNNING || state == MNEMO_SYNC_PENDING;
    s.finished_at_ms = live ? 0 : 2000;
    return s;
}

static void finish(mnemo_repos_batch_t *b, const char *name, mnemo_sync_state_t state)
{
    mnemo_sync_status_t s = make_status(name, state);
    mnemo_repos_batch_set_status(b, &s);
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_repos_commit(b, &err), MNEMO_OK);
}

/* Syncs name with the n files paths/texts in one committed batch. */
static void sync_files(env_t *e, const char *name, const char *const *paths,
                       const char *const *texts, size_t n)
{
    mnemo_repos_batch_t *b = mnemo_repos_batch_create(e->repos, name);
    for (size_t i = 0; i < n; i++)
        put(b, paths[i], texts[i]);
    finish(b, name, MNEMO_SYNC_COMPLETED);
    mnemo_repos_batch_destroy(b);
}

static size_t search(env_t *e, mnemo_code_hit_t **hits, const char *query, const char *name,
                     const char *prefix)
{
    size_t n = 99;
    mnemo_err_t err = {{0}};
    *hits = NULL;
    CU_ASSERT_EQUAL(mnemo_repos_search(e->repos, hits, &n, query, name, prefix, 0, &err), MNEMO_OK);
    return n;
}

static size_t count_hits(env_t *e, const char *query, const char *name, const char *prefix)
{
    mnemo_code_hit_t *hits = NULL;
    size_t n = search(e, &hits, query, name, prefix);
    mnemo_code_hits_free(hits, n);
    return n;
}

static mnemo_manifest_t manifest_of(env_t *e, const char *name)
{
    mnemo_manifest_t m = {0};
    mnemo_err_t err = {{0}};
    mnemo_status_t st = mnemo_repos_load_manifest(e->repos, &m, name, &err);
    CU_ASSERT_EQUAL(st, MNEMO_OK);
    if (st != MNEMO_OK)
        fprintf(stderr, "\nload_manifest %s: %s\n", name, err.msg);
    return m;
}

static void test_repos__put_file_then_search_finds_it(void)
{
    env_t e = env_start();
    const char *paths[] = {"src/alpha.c", "README.md"};
    const char *texts[] = {"int zebra_count(void)\n{\n    return 42;\n}\n",
                           "# readme\nnothing about animals\n"};
    sync_files(&e, "proj", paths, texts, 2);

    mnemo_code_hit_t *hits = NULL;
    size_t n = search(&e, &hits, "zebra_count", NULL, NULL);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_STRING_EQUAL(hits[0].name, "proj");
    CU_ASSERT_STRING_EQUAL(hits[0].path, "src/alpha.c");
    CU_ASSERT_EQUAL(hits[0].start_line, 1);
    CU_ASSERT_EQUAL(hits[0].end_line, 4);
    CU_ASSERT_STRING_EQUAL(hits[0].content, texts[0]);
    CU_ASSERT(hits[0].score > 0.0);
    mnemo_code_hits_free(hits, n);

    CU_ASSERT_EQUAL(count_hits(&e, "animals", NULL, NULL), 1);
    CU_ASSERT_EQUAL(count_hits(&e, "", NULL, NULL), 0);
    CU_ASSERT_EQUAL(count_hits(&e, "  ,;  ", NULL, NULL), 0);
    env_finish(&e);
}

static void test_repos__search_finds_each_chunk_of_a_long_file(void)
{
    env_t e = env_start();
    mnemo_chunker_options_t opts = {.target_lines = 2, .max_lines = 2};
    const char *text = "one apple\ntwo\n\nthree banana\nfour\n\nfive cherry\nsix\n";
    mnemo_repos_batch_t *b = mnemo_repos_batch_create(e.repos, "proj");
    size_t chunks = put_opts(b, NULL, "fruit.txt", text, &opts);
    CU_ASSERT(chunks >= 3);
    finish(b, "proj", MNEMO_SYNC_COMPLETED);
    mnemo_repos_batch_destroy(b);

    mnemo_code_hit_t *hits = NULL;
    size_t n = search(&e, &hits, "cherry", NULL, NULL);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT(hits[0].start_line >= 5 && hits[0].end_line >= 7);
    CU_ASSERT_PTR_NOT_NULL(strstr(hits[0].content, "five cherry"));
    CU_ASSERT_PTR_NULL(strstr(hits[0].content, "apple"));
    mnemo_code_hits_free(hits, n);
    CU_ASSERT_EQUAL(count_hits(&e, "apple banana cherry", NULL, NULL), 3);
    env_finish(&e);
}

static void test_repos__search_filters_by_repository(void)
{
    env_t e = env_start();
    const char *paths[] = {"lib.c"};
    const char *one[] = {"shared_symbol in repo one\n"};
    const char *two[] = {"shared_symbol in repo two\n"};
    sync_files(&e, "one", paths, one, 1);
    sync_files(&e, "two", paths, two, 1);

    CU_ASSERT_EQUAL(count_hits(&e, "shared_symbol", NULL, NULL), 2);
    CU_ASSERT_EQUAL(count_hits(&e, "shared_symbol", "", NULL), 2);
    mnemo_code_hit_t *hits = NULL;
    size_t n = search(&e, &hits, "shared_symbol", "two", NULL);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_STRING_EQUAL(hits[0].name, "two");
    CU_ASSERT_STRING_EQUAL(hits[0].content, two[0]);
    mnemo_code_hits_free(hits, n);
    CU_ASSERT_EQUAL(count_hits(&e, "shared_symbol", "three", NULL), 0);
    env_finish(&e);
}

static void test_repos__search_filters_by_path_prefix(void)
{
    env_t e = env_start();
    mnemo_chunker_options_t opts = {.target_lines = 1, .max_lines = 1};
    mnemo_repos_batch_t *b = mnemo_repos_batch_create(e.repos, "proj");
    put_opts(b, NULL, "src/a.c", "widget\nwidget again\n", &opts);
    put(b, "src/sub/b.c", "widget\n");
    put(b, "docs/widget.md", "widget\n");
    put(b, "srcx.c", "widget\n");
    finish(b, "proj", MNEMO_SYNC_COMPLETED);
    mnemo_repos_batch_destroy(b);

    CU_ASSERT_EQUAL(count_hits(&e, "widget", NULL, NULL), 5);
    CU_ASSERT_EQUAL(count_hits(&e, "widget", NULL, ""), 5);
    CU_ASSERT_EQUAL(count_hits(&e, "widget", NULL, "src/"), 3);
    CU_ASSERT_EQUAL(count_hits(&e, "widget", "proj", "src/sub/"), 1);
    CU_ASSERT_EQUAL(count_hits(&e, "widget", "other", "src/"), 0);
    CU_ASSERT_EQUAL(count_hits(&e, "widget", NULL, "nowhere/"), 0);
    mnemo_code_hit_t *hits = NULL;
    size_t n = search(&e, &hits, "widget", NULL, "docs/");
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_STRING_EQUAL(hits[0].path, "docs/widget.md");
    mnemo_code_hits_free(hits, n);
    env_finish(&e);
}

static mnemo_sync_status_t status_of(env_t *e, const char *name)
{
    mnemo_sync_status_t s = {0};
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_repos_get_status(e->repos, &s, name, &err), MNEMO_OK);
    return s;
}

static mnemo_repo_info_t info_of(env_t *e, const char *name)
{
    mnemo_repo_info_t info;
    memset(&info, 0, sizeof info);
    mnemo_repo_info_t *infos = NULL;
    char *token = NULL;
    size_t n = 0;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_repos_list(e->repos, &infos, &n, &token, 0, NULL, &err), MNEMO_OK);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(infos[i].name, name) == 0) {
            info = infos[i];
            info.path = NULL;
        }
    }
    mnemo_repo_infos_free(infos, n);
    free(token);
    return info;
}

static void test_repos__replacing_a_file_removes_its_old_chunks(void)
{
    env_t e = env_start();
    mnemo_chunker_options_t opts = {.target_lines = 1, .max_lines = 1};
    mnemo_repos_batch_t *b = mnemo_repos_batch_create(e.repos, "proj");
    CU_ASSERT_EQUAL(put_opts(b, NULL, "f.c", "old_one\nold_two\nold_three\n", &opts), 3);
    finish(b, "proj", MNEMO_SYNC_COMPLETED);
    CU_ASSERT_EQUAL(count_hits(&e, "old_one old_two old_three", NULL, NULL), 3);

    mnemo_manifest_t m = manifest_of(&e, "proj");
    CU_ASSERT_EQUAL_FATAL(m.count, 1);
    CU_ASSERT_EQUAL(m.entries[0].n_chunks, 3);
    CU_ASSERT_EQUAL(put_opts(b, &m.entries[0], "f.c", "new_text\n", &opts), 1);
    finish(b, "proj", MNEMO_SYNC_COMPLETED);
    mnemo_repos_batch_destroy(b);
    mnemo_manifest_cleanup(&m);

    CU_ASSERT_EQUAL(count_hits(&e, "old_one old_two old_three", NULL, NULL), 0);
    mnemo_code_hit_t *hits = NULL;
    size_t n = search(&e, &hits, "new_text", NULL, NULL);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_STRING_EQUAL(hits[0].content, "new_text\n");
    mnemo_code_hits_free(hits, n);
    m = manifest_of(&e, "proj");
    CU_ASSERT_EQUAL_FATAL(m.count, 1);
    CU_ASSERT_EQUAL(m.entries[0].n_chunks, 1);
    CU_ASSERT_EQUAL(m.entries[0].size, strlen("new_text\n"));
    mnemo_manifest_cleanup(&m);
    mnemo_repo_info_t info = info_of(&e, "proj");
    CU_ASSERT_EQUAL(info.file_count, 1);
    CU_ASSERT_EQUAL(info.chunk_count, 1);
    env_finish(&e);
}

static void test_repos__remove_file_removes_chunks_and_manifest_entry(void)
{
    env_t e = env_start();
    const char *paths[] = {"keep.c", "gone.c"};
    const char *texts[] = {"keeperword\n", "doomedword\n"};
    sync_files(&e, "proj", paths, texts, 2);

    mnemo_manifest_t m = manifest_of(&e, "proj");
    CU_ASSERT_EQUAL_FATAL(m.count, 2);
    CU_ASSERT_STRING_EQUAL_FATAL(m.entries[0].path, "gone.c");
    mnemo_repos_batch_t *b = mnemo_repos_batch_create(e.repos, "proj");
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_repos_batch_remove_file(b, &m.entries[0], &err), MNEMO_OK);
    CU_ASSERT(mnemo_repos_batch_size(b) > 0);
    finish(b, "proj", MNEMO_SYNC_COMPLETED);
    mnemo_repos_batch_destroy(b);
    mnemo_manifest_cleanup(&m);

    CU_ASSERT_EQUAL(count_hits(&e, "doomedword", NULL, NULL), 0);
    CU_ASSERT_EQUAL(count_hits(&e, "keeperword", NULL, NULL), 1);
    m = manifest_of(&e, "proj");
    CU_ASSERT_EQUAL_FATAL(m.count, 1);
    CU_ASSERT_STRING_EQUAL(m.entries[0].path, "keep.c");
    mnemo_manifest_cleanup(&m);
    mnemo_repo_info_t info = info_of(&e, "proj");
    CU_ASSERT_EQUAL(info.file_count, 1);
    CU_ASSERT_EQUAL(info.chunk_count, 1);
    env_finish(&e);
}

static void test_repos__manifest_round_trips_sorted(void)
{
    env_t e = env_start();
    const char *paths[] = {"z.c", "a/b.c", "a.c", "a/a.c", "\xc3\xa9t\xc3\xa9.txt"};
    const char *texts[] = {"z\n", "ab\n", "a\n", "aa\n", ""};
    sync_files(&e, "proj", paths, texts, 5);
    const char *other[] = {"other.c"};
    sync_files(&e, "proj2", other, texts, 1); /* "proj" is a prefix of its name */

    mnemo_manifest_t m = manifest_of(&e, "proj");
    CU_ASSERT_EQUAL_FATAL(m.count, 5);
    const char *sorted[] = {"a.c", "a/a.c", "a/b.c", "z.c", "\xc3\xa9t\xc3\xa9.txt"};
    for (size_t i = 0; i < 5; i++)
        CU_ASSERT_STRING_EQUAL(m.entries[i].path, sorted[i]);
    uint8_t sha[MNEMO_SHA256_LEN];
    mnemo_sha256("ab\n", 3, sha);
    CU_ASSERT_EQUAL(m.entries[2].size, 3);
    CU_ASSERT_EQUAL(m.entries[2].mtime_ns, 1000);
    CU_ASSERT_EQUAL(memcmp(m.entries[2].sha256, sha, sizeof sha), 0);
    CU_ASSERT_EQUAL(m.entries[2].n_chunks, 1);
    CU_ASSERT_EQUAL(m.entries[4].n_chunks, 0); /* empty file */
    mnemo_manifest_cleanup(&m);

    m = manifest_of(&e, "never-synced");
    CU_ASSERT_EQUAL(m.count, 0);
    mnemo_manifest_cleanup(&m);
    env_finish(&e);
}

static void test_repos__touch_file_updates_only_size_and_mtime(void)
{
    env_t e = env_start();
    const char *paths[] = {"t.c"};
    const char *texts[] = {"touchy\n"};
    sync_files(&e, "proj", paths, texts, 1);
    mnemo_manifest_t m = manifest_of(&e, "proj");
    CU_ASSERT_EQUAL_FATAL(m.count, 1);
    mnemo_repos_batch_t *b = mnemo_repos_batch_create(e.repos, "proj");
    mnemo_repos_batch_touch_file(b, &m.entries[0], 7, -5);
    finish(b, "proj", MNEMO_SYNC_COMPLETED);
    mnemo_repos_batch_destroy(b);

    mnemo_manifest_t t = manifest_of(&e, "proj");
    CU_ASSERT_EQUAL_FATAL(t.count, 1);
    CU_ASSERT_EQUAL(t.entries[0].size, 7);
    CU_ASSERT_EQUAL(t.entries[0].mtime_ns, -5);
    CU_ASSERT_EQUAL(t.entries[0].n_chunks, 1);
    CU_ASSERT_EQUAL(memcmp(t.entries[0].sha256, m.entries[0].sha256, 32), 0);
    CU_ASSERT_EQUAL(count_hits(&e, "touchy", NULL, NULL), 1);
    mnemo_manifest_cleanup(&m);
    mnemo_manifest_cleanup(&t);
    env_finish(&e);
}

static void test_repos__counts_in_record_and_list(void)
{
    env_t e = env_start();
    mnemo_chunker_options_t opts = {.target_lines = 1, .max_lines = 1};
    mnemo_repos_batch_t *b = mnemo_repos_batch_create(e.repos, "proj");
    put_opts(b, NULL, "a.c", "1\n2\n3\n", &opts);
    put_opts(b, NULL, "b.c", "1\n2\n", &opts);
    finish(b, "proj", MNEMO_SYNC_RUNNING); /* checkpoint, then more files */
    put_opts(b, NULL, "c.c", "1\n", &opts);
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_repos_commit(b, &err), MNEMO_OK); /* re-stages the counts */
    mnemo_repos_batch_destroy(b);

    mnemo_repo_info_t info = info_of(&e, "proj");
    CU_ASSERT_STRING_EQUAL(info.name, "proj");
    CU_ASSERT_EQUAL(info.file_count, 3);
    CU_ASSERT_EQUAL(info.chunk_count, 6);
    CU_ASSERT_EQUAL(info.last_state, MNEMO_SYNC_RUNNING);
    CU_ASSERT_EQUAL(info.last_synced_at_ms, 0);

    b = mnemo_repos_batch_create(e.repos, "proj"); /* counts load from the record */
    put_opts(b, NULL, "d.c", "1\n2\n", &opts);
    finish(b, "proj", MNEMO_SYNC_COMPLETED);
    mnemo_repos_batch_destroy(b);
    info = info_of(&e, "proj");
    CU_ASSERT_EQUAL(info.file_count, 4);
    CU_ASSERT_EQUAL(info.chunk_count, 8);
    CU_ASSERT_EQUAL(info.last_state, MNEMO_SYNC_COMPLETED);
    CU_ASSERT_EQUAL(info.last_synced_at_ms, 2000);

    b = mnemo_repos_batch_create(e.repos, "proj"); /* a failed sync keeps last_synced_at */
    finish(b, "proj", MNEMO_SYNC_FAILED);
    mnemo_repos_batch_destroy(b);
    info = info_of(&e, "proj");
    CU_ASSERT_EQUAL(info.last_state, MNEMO_SYNC_FAILED);
    CU_ASSERT_EQUAL(info.last_synced_at_ms, 2000);
    CU_ASSERT_EQUAL(info.file_count, 4);
    env_finish(&e);
}

/* Lists every repository with pages of page_size into names; returns the count. */
static size_t list_all(env_t *e, size_t page_size, char names[][MNEMO_REPO_NAME_MAX + 1],
                       size_t max)
{
    size_t total = 0, pages = 0;
    char *token = NULL;
    do {
        mnemo_repo_info_t *infos = NULL;
        size_t n = 0;
        char *next = NULL;
        mnemo_err_t err = {{0}};
        CU_ASSERT_EQUAL_FATAL(mnemo_repos_list(e->repos, &infos, &n, &next, page_size, token, &err),
                              MNEMO_OK);
        CU_ASSERT(n <= page_size);
        for (size_t i = 0; i < n && total < max; i++) {
            CU_ASSERT_STRING_EQUAL(infos[i].path, "/src/repo");
            snprintf(names[total++], MNEMO_REPO_NAME_MAX + 1, "%s", infos[i].name);
        }
        mnemo_repo_infos_free(infos, n);
        free(token);
        token = next;
        CU_ASSERT_FATAL(++pages < 100);
    } while (token != NULL);
    return total;
}

static void test_repos__list_pages_by_name(void)
{
    env_t e = env_start();
    const char *created[] = {"delta", "alpha", "echo", "bravo", "charlie"};
    const char *paths[] = {"f.c"};
    const char *texts[] = {"x\n"};
    for (size_t i = 0; i < 5; i++)
        sync_files(&e, created[i], paths, texts, 1);
    const char *sorted[] = {"alpha", "bravo", "charlie", "delta", "echo"};
    char names[8][MNEMO_REPO_NAME_MAX + 1];
    for (size_t page = 1; page <= 6; page++) {
        CU_ASSERT_EQUAL_FATAL(list_all(&e, page, names, 8), 5);
        for (size_t i = 0; i < 5; i++)
            CU_ASSERT_STRING_EQUAL(names[i], sorted[i]);
    }
    env_finish(&e);
}

static void test_repos__bad_page_token_is_einval(void)
{
    env_t e = env_start();
    const char *paths[] = {"f.c"};
    const char *texts[] = {"x\n"};
    sync_files(&e, "alpha", paths, texts, 1);
    sync_files(&e, "bravo", paths, texts, 1);
    mnemo_repo_info_t *infos = NULL;
    size_t n = 0;
    char *token = NULL;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL_FATAL(mnemo_repos_list(e.repos, &infos, &n, &token, 1, NULL, &err), MNEMO_OK);
    mnemo_repo_infos_free(infos, n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(token);

    char *tampered = malloc(strlen(token) + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tampered);
    memcpy(tampered, token, strlen(token) + 1);
    tampered[3] = tampered[3] == '0' ? '1' : '0';
    const char *bad[] = {"zz", "abc", "00", tampered, "not a token at all"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        infos = NULL;
        char *next = NULL;
        err.msg[0] = '\0';
        CU_ASSERT_EQUAL(mnemo_repos_list(e.repos, &infos, &n, &next, 1, bad[i], &err),
                        MNEMO_EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "page_token"));
        CU_ASSERT_PTR_NULL(infos);
    }
    free(tampered);
    CU_ASSERT_EQUAL(mnemo_repos_list(e.repos, &infos, &n, &tampered, 1, token, &err), MNEMO_OK);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_STRING_EQUAL(infos[0].name, "bravo");
    CU_ASSERT_PTR_NULL(tampered);
    mnemo_repo_infos_free(infos, n);
    free(token);
    env_finish(&e);
}

/* hex(version | name | SHA-256(label | version [| name length] | name)[0..check_len)):
 * a token whose "MAC" anyone can compute, without the store's key. */
static char *unkeyed_token(const char *label, size_t label_len, uint8_t version, bool with_len,
                           const char *name, size_t check_len)
{
    size_t n = strlen(name);
    uint8_t msg[64 + MNEMO_REPO_NAME_MAX], raw[1 + MNEMO_REPO_NAME_MAX + MNEMO_SHA256_LEN];
    size_t m = 0;
    memcpy(msg, label, label_len);
    m += label_len;
    msg[m++] = version;
    if (with_len)
        msg[m++] = (uint8_t)n;
    memcpy(msg + m, name, n);
    m += n;
    uint8_t digest[MNEMO_SHA256_LEN];
    mnemo_sha256(msg, m, digest);
    raw[0] = version;
    memcpy(raw + 1, name, n);
    memcpy(raw + 1 + n, digest, check_len);
    char *hex = malloc(2 * (1 + n + check_len) + 1);
    mnemo_hex_encode(hex, raw, 1 + n + check_len);
    return hex;
}

/* The forgery that used to work: a token checked by an unkeyed hash. */
static void test_repos__unkeyed_page_token_is_refused(void)
{
    env_t e = env_start();
    const char *paths[] = {"f.c"};
    const char *texts[] = {"x\n"};
    sync_files(&e, "alpha", paths, texts, 1);
    sync_files(&e, "bravo", paths, texts, 1);
    static const char old_tag[] = "mnemo.repos.page", label[] = "mnemo.repos.list";
    char *forged[] = {
        /* the format before keyed tokens, exactly as mnemod issued it */
        unkeyed_token(old_tag, sizeof old_tag, 1, false, "alpha", 8),
        /* today's framing and length, hashed without the key */
        unkeyed_token(label, sizeof label, 2, true, "alpha", 16),
    };
    for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++) {
        mnemo_repo_info_t *infos = NULL;
        size_t n = 0;
        char *next = NULL;
        mnemo_err_t err = {{0}};
        CU_ASSERT_EQUAL(mnemo_repos_list(e.repos, &infos, &n, &next, 1, forged[i], &err),
                        MNEMO_EINVAL);
        CU_ASSERT_STRING_EQUAL(err.msg, "page_token: invalid or from another query");
        CU_ASSERT_PTR_NULL(infos);
        CU_ASSERT_PTR_NULL(next);
        free(forged[i]);
    }
    env_finish(&e);
}

static void check_gone(env_t *e, const char *name, const char *word)
{
    CU_ASSERT_EQUAL(count_hits(e, word, NULL, NULL), 0);
    mnemo_sync_status_t s = {0};
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_repos_get_status(e->repos, &s, name, &err), MNEMO_ENOTFOUND);
    mnemo_manifest_t m = manifest_of(e, name);
    CU_ASSERT_EQUAL(m.count, 0);
    mnemo_manifest_cleanup(&m);
    CU_ASSERT_EQUAL(info_of(e, name).name[0], '\0');
}

static void test_repos__delete_removes_everything(void)
{
    env_t e = env_start();
    const char *paths[] = {"a.c", "b/c.c"};
    const char *texts[] = {"deleteme one\n", "deleteme two\n"};
    const char *keep[] = {"deleteme keep\n"};
    sync_files(&e, "doomed", paths, texts, 2);
    sync_files(&e, "kept", paths, keep, 1);
    CU_ASSERT_EQUAL(count_hits(&e, "deleteme", NULL, NULL), 3);

    bool deleted = false;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_repos_delete(e.repos, &deleted, "doomed", &err), MNEMO_OK);
    CU_ASSERT_TRUE(deleted);
    check_gone(&e, "doomed", "one");
    CU_ASSERT_EQUAL(count_hits(&e, "deleteme", NULL, NULL), 1);
    CU_ASSERT_EQUAL(info_of(&e, "kept").file_count, 1);

    deleted = true;
    CU_ASSERT_EQUAL(mnemo_repos_delete(e.repos, &deleted, "doomed", &err), MNEMO_OK);
    CU_ASSERT_FALSE(deleted);
    env_finish(&e);
}

static void test_repos__delete_removes_a_corrupt_record(void)
{
    env_t e = env_start();
    const char *paths[] = {"f.c"};
    const char *texts[] = {"brokenrepo\n"};
    sync_files(&e, "proj", paths, texts, 1);
    mnemo_store_batch_t *sb = mnemo_store_batch_create();
    mnemo_store_batch_put(sb, "Rproj", 5, "\x01", 1);
    CU_ASSERT_EQUAL(mnemo_store_write(e.store, sb, false, NULL), MNEMO_OK);
    mnemo_store_batch_destroy(sb);
    mnemo_sync_status_t s = {0};
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_repos_get_status(e.repos, &s, "proj", &err), MNEMO_ECORRUPT);
    env_close(&e);
    env_open(&e); /* a corrupt record does not stop the server from starting */

    bool deleted = false;
    CU_ASSERT_EQUAL(mnemo_repos_delete(e.repos, &deleted, "proj", &err), MNEMO_OK);
    CU_ASSERT_TRUE(deleted);
    check_gone(&e, "proj", "brokenrepo");
    env_finish(&e);
}

static void test_repos__delete_of_a_large_repository_takes_several_batches(void)
{
    env_t e = env_start();
    mnemo_repos_batch_t *b = mnemo_repos_batch_create(e.repos, "big");
    char path[32], text[64];
    for (int i = 0; i < 2100; i++) {
        snprintf(path, sizeof path, "f%04d.c", i);
        snprintf(text, sizeof text, "bulkword file%04d\n", i);
        put(b, path, text);
    }
    finish(b, "big", MNEMO_SYNC_COMPLETED);
    mnemo_repos_batch_destroy(b);
    CU_ASSERT_EQUAL(info_of(&e, "big").file_count, 2100);
    CU_ASSERT_EQUAL(count_hits(&e, "file1234", NULL, NULL), 1);

    bool deleted = false;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_repos_delete(e.repos, &deleted, "big", &err), MNEMO_OK);
    CU_ASSERT_TRUE(deleted);
    check_gone(&e, "big", "bulkword");
    env_finish(&e);
}

static void test_repos__reopen_turns_running_into_interrupted(void)
{
    env_t e = env_start();
    const char *paths[] = {"f.c"};
    const char *texts[] = {"x\n"};
    sync_files(&e, "done", paths, texts, 1);
    mnemo_repos_batch_t *b = mnemo_repos_batch_create(e.repos, "live");
    put(b, "f.c", "survivor\n");
    finish(b, "live", MNEMO_SYNC_RUNNING);
    mnemo_repos_batch_destroy(b);
    b = mnemo_repos_batch_create(e.repos, "queued");
    finish(b, "queued", MNEMO_SYNC_PENDING);
    mnemo_repos_batch_destroy(b);

    env_close(&e);
    env_open(&e);
    const char *names[] = {"live", "queued"};
    for (size_t i = 0; i < 2; i++) {
        mnemo_sync_status_t s = status_of(&e, names[i]);
        CU_ASSERT_EQUAL(s.state, MNEMO_SYNC_INTERRUPTED);
        CU_ASSERT_STRING_EQUAL(s.name, names[i]);
        CU_ASSERT_EQUAL(s.finished_at_ms, 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s.error);
        CU_ASSERT_STRING_EQUAL(s.error, "interrupted: the server stopped during this sync");
        mnemo_sync_status_cleanup(&s);
    }
    mnemo_sync_status_t s = status_of(&e, "done");
    CU_ASSERT_EQUAL(s.state, MNEMO_SYNC_COMPLETED);
    CU_ASSERT_PTR_NULL(s.error);
    mnemo_sync_status_cleanup(&s);
    CU_ASSERT_EQUAL(count_hits(&e, "survivor", "live", NULL), 1); /* committed stays */
    CU_ASSERT_EQUAL(info_of(&e, "live").file_count, 1);
    env_finish(&e);
}

static void test_repos__uncommitted_batch_leaves_nothing_visible(void)
{
    env_t e = env_start();
    const char *paths[] = {"f.c"};
    const char *texts[] = {"committedword\n"};
    sync_files(&e, "proj", paths, texts, 1);
    mnemo_manifest_t m = manifest_of(&e, "proj");
    CU_ASSERT_EQUAL_FATAL(m.count, 1);

    mnemo_repos_batch_t *b = mnemo_repos_batch_create(e.repos, "proj");
    put_opts(b, &m.entries[0], "f.c", "replacementword\n", NULL);
    put(b, "new.c", "ghostword\n");
    mnemo_sync_status_t s = make_status("proj", MNEMO_SYNC_FAILED);
    mnemo_repos_batch_set_status(b, &s);
    CU_ASSERT(mnemo_repos_batch_size(b) > 0);
    mnemo_repos_batch_destroy(b); /* never committed */
    b = mnemo_repos_batch_create(e.repos, "other");
    put(b, "o.c", "ghostword\n");
    mnemo_repos_batch_destroy(b);
    mnemo_manifest_cleanup(&m);

    /* The index's in-memory stats counted the lost documents (index.h):
     * only what is visible is checked, not BM25 statistics. */
    CU_ASSERT_EQUAL(count_hits(&e, "ghostword replacementword", NULL, NULL), 0);
    CU_ASSERT_EQUAL(count_hits(&e, "committedword", NULL, NULL), 1);
    m = manifest_of(&e, "proj");
    CU_ASSERT_EQUAL(m.count, 1);
    mnemo_manifest_cleanup(&m);
    s = status_of(&e, "proj");
    CU_ASSERT_EQUAL(s.state, MNEMO_SYNC_COMPLETED);
    mnemo_sync_status_cleanup(&s);
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_repos_get_status(e.repos, &s, "other", &err), MNEMO_ENOTFOUND);
    env_finish(&e);
}

/* Commits b while no file may grow past 4 KiB (the store's log is larger
 * by then): the write fails with EFBIG, as on a full disk. */
static mnemo_status_t commit_failing(mnemo_repos_batch_t *b)
{
    mnemo_test_cap_files(4096);
    mnemo_err_t err = {{0}};
    mnemo_status_t st = mnemo_repos_commit(b, &err);
    mnemo_test_uncap_files();
    return st;
}

/* A sync whose batch failed to write records its final state with the
 * same batch once the store recovered (sync.c finish_job). The failed
 * batch's chunks must not ride along: the index was told the write failed
 * and never learned of them, so on disk they would be found by nothing
 * until a restart and removed by no later sync. */
static void test_repos__failed_commit_leaves_nothing_for_the_next(void)
{
    env_t e = env_start();
    const char *paths[] = {"kept.c"};
    const char *texts[] = {"keptword\n"};
    sync_files(&e, "proj", paths, texts, 1);
    char big[64 * 1024]; /* the batch must outgrow the log's 4 KiB limit */
    memset(big, 'x', sizeof big - 2);
    memcpy(big, "lostword ", 9);
    big[sizeof big - 2] = '\n';
    big[sizeof big - 1] = '\0';

    mnemo_repos_batch_t *b = mnemo_repos_batch_create(e.repos, "proj");
    mnemo_sync_status_t s = make_status("proj", MNEMO_SYNC_RUNNING);
    mnemo_repos_batch_set_status(b, &s);
    put(b, "lost.c", big);
    CU_ASSERT_EQUAL(commit_failing(b), MNEMO_EIO);
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL_FATAL(mnemo_store_recover(e.store, &err), MNEMO_OK);
    finish(b, "proj", MNEMO_SYNC_FAILED);
    mnemo_repos_batch_destroy(b);

    for (int reopened = 0; reopened < 2; reopened++) {
        CU_ASSERT_EQUAL(count_hits(&e, "lostword", NULL, NULL), 0);
        CU_ASSERT_EQUAL(count_hits(&e, "keptword", NULL, NULL), 1);
        mnemo_manifest_t m = manifest_of(&e, "proj");
        CU_ASSERT_EQUAL(m.count, 1);
        mnemo_manifest_cleanup(&m);
        mnemo_repo_info_t info = info_of(&e, "proj");
        CU_ASSERT_EQUAL(info.file_count, 1);
        CU_ASSERT_EQUAL(info.last_state, MNEMO_SYNC_FAILED);
        env_close(&e); /* what a restart would find */
        env_open(&e);
    }
    env_finish(&e);
}

static void test_repos__status_fields_round_trip(void)
{
    env_t e = env_start();
    mnemo_sync_status_t in = make_status("proj", MNEMO_SYNC_FAILED);
    in.path = "/home/u/\xc3\xa9t\xc3\xa9";
    in.error = "walk: permission denied on src/secret";
    in.background = true;
    in.started_at_ms = 1700000000123;
    in.finished_at_ms = 1700000009876;
    in.progress = (mnemo_sync_progress_t){.total_files = 10,
                                          .processed_files = 9,
                                          .unchanged_files = 8,
                                          .skipped_files = 7,
                                          .failed_files = 6,
                                          .deleted_files = 5,
                                          .chunks_written = 4,
                                          .bytes_processed = 1LL << 40,
                                          .batches_committed = 2,
                                          .percentage = 33.333333333333336,
                                          .paced_ms = 1234};
    mnemo_repos_batch_t *b = mnemo_repos_batch_create(e.repos, "proj");
    mnemo_repos_batch_set_status(b, &in);
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_repos_commit(b, &err), MNEMO_OK);
    mnemo_repos_batch_destroy(b);
    /* Paced without an error: the optional fields stand alone. */
    mnemo_sync_status_t paced = make_status("paced", MNEMO_SYNC_COMPLETED);
    paced.progress.paced_ms = 7;
    b = mnemo_repos_batch_create(e.repos, "paced");
    mnemo_repos_batch_set_status(b, &paced);
    CU_ASSERT_EQUAL(mnemo_repos_commit(b, &err), MNEMO_OK);
    mnemo_repos_batch_destroy(b);

    env_close(&e);
    env_open(&e);
    mnemo_sync_status_t s = status_of(&e, "proj");
    CU_ASSERT_STRING_EQUAL(s.name, "proj");
    CU_ASSERT_STRING_EQUAL(s.path, in.path);
    CU_ASSERT_EQUAL(s.state, MNEMO_SYNC_FAILED);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s.error);
    CU_ASSERT_STRING_EQUAL(s.error, in.error);
    CU_ASSERT_TRUE(s.background);
    CU_ASSERT_EQUAL(s.started_at_ms, in.started_at_ms);
    CU_ASSERT_EQUAL(s.finished_at_ms, in.finished_at_ms);
    CU_ASSERT_EQUAL(memcmp(&s.progress, &in.progress, sizeof s.progress), 0);
    CU_ASSERT_EQUAL(s.progress.percentage, 33.333333333333336);
    mnemo_sync_status_cleanup(&s);
    mnemo_sync_status_cleanup(&s); /* idempotent */
    s = status_of(&e, "paced");
    CU_ASSERT_EQUAL(s.progress.paced_ms, 7);
    CU_ASSERT_PTR_NULL(s.error);
    mnemo_sync_status_cleanup(&s);
    env_finish(&e);
}

/* Overwrites chunk 0 of name/path with bytes that do not decode. */
static void corrupt_first_chunk(env_t *e, const char *name, const char *path)
{
    uint8_t key[1 + 24] = {'K'}, h[MNEMO_SHA256_LEN];
    mnemo_sha256(name, strlen(name), h);
    memcpy(key + 1, h, 8);
    char file[64];
    int len = snprintf(file, sizeof file, "%s%c%s", name, '\0', path);
    mnemo_sha256(file, (size_t)len, h);
    memcpy(key + 9, h, 12); /* be32 chunk number 0 follows */
    mnemo_store_batch_t *sb = mnemo_store_batch_create();
    mnemo_store_batch_put(sb, key, sizeof key, "\x01\xff", 2);
    CU_ASSERT_EQUAL(mnemo_store_write(e->store, sb, false, NULL), MNEMO_OK);
    mnemo_store_batch_destroy(sb);
}

/* A corrupt chunk fails the searches that meet it, and re-indexing the file
 * replaces it: removing old chunks reads nothing, so corruption cannot make
 * a file unreplaceable. */
static void test_repos__corrupt_chunk_is_reported_then_replaced(void)
{
    env_t e = env_start();
    const char *paths[] = {"f.c"};
    const char *texts[] = {"fragile\n"};
    sync_files(&e, "proj", paths, texts, 1);
    corrupt_first_chunk(&e, "proj", "f.c");
    mnemo_code_hit_t *hits = NULL;
    size_t n = 0;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_repos_search(e.repos, &hits, &n, "fragile", NULL, NULL, 0, &err),
                    MNEMO_ECORRUPT);
    mnemo_manifest_t m = manifest_of(&e, "proj");
    CU_ASSERT_EQUAL_FATAL(m.count, 1);

    mnemo_repos_batch_t *b = mnemo_repos_batch_create(e.repos, "proj");
    uint8_t sha[MNEMO_SHA256_LEN] = {0};
    CU_ASSERT_EQUAL(mnemo_repos_batch_put_file(b, &m.entries[0], "f.c", 8, 1, sha, "sturdy\n", 7,
                                               NULL, NULL, &err),
                    MNEMO_OK);
    CU_ASSERT_EQUAL(mnemo_repos_commit(b, &err), MNEMO_OK);
    mnemo_repos_batch_destroy(b);
    mnemo_manifest_cleanup(&m);

    CU_ASSERT_EQUAL(mnemo_repos_search(e.repos, &hits, &n, "fragile", NULL, NULL, 0, &err),
                    MNEMO_OK);
    CU_ASSERT_EQUAL(n, 0);
    mnemo_code_hits_free(hits, n);
    CU_ASSERT_EQUAL(mnemo_repos_search(e.repos, &hits, &n, "sturdy", NULL, NULL, 0, &err),
                    MNEMO_OK);
    CU_ASSERT_EQUAL(n, 1);
    mnemo_code_hits_free(hits, n);
    env_finish(&e);
}

static void test_repos__get_status_of_unknown_is_notfound(void)
{
    env_t e = env_start();
    mnemo_sync_status_t s = {0};
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_repos_get_status(e.repos, &s, "nope", &err), MNEMO_ENOTFOUND);
    CU_ASSERT_STRING_EQUAL(err.msg, "repository_name: no repository named nope");
    CU_ASSERT_PTR_NULL(s.path);
    env_finish(&e);
}

int main(void)
{
    CU_pSuite s = mnemo_test_suite("repos");
    MNEMO_TEST(s, test_repos__put_file_then_search_finds_it);
    MNEMO_TEST(s, test_repos__failed_commit_leaves_nothing_for_the_next);
    MNEMO_TEST(s, test_repos__search_finds_each_chunk_of_a_long_file);
    MNEMO_TEST(s, test_repos__search_filters_by_repository);
    MNEMO_TEST(s, test_repos__search_filters_by_path_prefix);
    MNEMO_TEST(s, test_repos__replacing_a_file_removes_its_old_chunks);
    MNEMO_TEST(s, test_repos__remove_file_removes_chunks_and_manifest_entry);
    MNEMO_TEST(s, test_repos__manifest_round_trips_sorted);
    MNEMO_TEST(s, test_repos__touch_file_updates_only_size_and_mtime);
    MNEMO_TEST(s, test_repos__counts_in_record_and_list);
    MNEMO_TEST(s, test_repos__list_pages_by_name);
    MNEMO_TEST(s, test_repos__bad_page_token_is_einval);
    MNEMO_TEST(s, test_repos__unkeyed_page_token_is_refused);
    MNEMO_TEST(s, test_repos__delete_removes_everything);
    MNEMO_TEST(s, test_repos__delete_removes_a_corrupt_record);
    MNEMO_TEST(s, test_repos__delete_of_a_large_repository_takes_several_batches);
    MNEMO_TEST(s, test_repos__reopen_turns_running_into_interrupted);
    MNEMO_TEST(s, test_repos__uncommitted_batch_leaves_nothing_visible);
    MNEMO_TEST(s, test_repos__status_fields_round_trip);
    MNEMO_TEST(s, test_repos__corrupt_chunk_is_reported_then_replaced);
    MNEMO_TEST(s, test_repos__get_status_of_unknown_is_notfound);
    return mnemo_test_run();
}
