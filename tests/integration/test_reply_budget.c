/* test_reply_budget.c - the reply byte budget (--max-reply-bytes, README
 * "Limits") against a real mnemod: pages of ListMemories end early with a
 * token that continues after the last memory returned, RetrieveMemory,
 * SearchByTag and SearchCode cut their results and say truncated=true, every
 * encoded reply stays within the budget, and a client with gRPC's default
 * 4 MiB receive limit never gets RESOURCE_EXHAUSTED for a default request.
 *
 * DESIGN: the shared server (default budget) holds N_BIG memories of the
 * maximum content size (1 MiB) tagged "budget-big", so any page of more
 * than three of them would pass the budget, and a few small ones tagged
 * "budget-small". A second server with the smallest budget (64 KiB) syncs a
 * small repository whose code hits together pass it. Encoded sizes are
 * measured with protobuf-c's get_packed_size of the decoded reply, which is
 * what went over the wire.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <grpc/status.h>

#include "mnemo/client.h"

#include "itest.h"

#define MIB (1024 * 1024)
/* mnemod's default budget (server/config.h MNEMO_DEFAULT_MAX_REPLY_BYTES). */
#define DEFAULT_BUDGET ((4 * MIB) - (64 * 1024))
#define MIN_BUDGET     (64 * 1024)
#define N_BIG          12
#define N_SMALL        3

static const char *addr;
static char *workroot; /* --allow-root of both servers */
static char *big_ids[N_BIG];

/* ---- helpers ---------------------------------------------------------- */

/* A client of addr; max_receive 0 is gRPC's default 4 MiB limit. */
static mnemo_client_t *open_client(const char *target, int max_receive)
{
    mnemo_client_options_t opts;
    mnemo_client_options_init(&opts);
    opts.max_receive_message_size = max_receive;
    opts.deadline_ms = 120000;
    mnemo_client_t *c = NULL;
    mnemo_call_error_t err;
    int st = mnemo_client_open(&c, target, &opts, &err);
    CHECK(st == 0, "mnemo_client_open(%s): %s", target, err.message);
    return st == 0 ? c : NULL;
}

/* Exactly MIB bytes of words: "budgetword <unique> " then filler words. */
static char *big_content(void)
{
    char *head = itest_unique("budgetword", "budgetword");
    char *content = malloc(MIB + 1);
    size_t n = strlen(head);
    memcpy(content, head, n);
    for (size_t i = n; i < MIB; i++)
        content[i] = (i % 8 == 7) ? ' ' : (char)('a' + (i / 8) % 26);
    content[MIB] = '\0';
    free(head);
    return content;
}

static bool store(mnemo_client_t *c, char *content, const char *tag, char **id_out)
{
    char *tags[] = {(char *)tag};
    Mnemo__V1__StoreMemoryRequest req = MNEMO__V1__STORE_MEMORY_REQUEST__INIT;
    req.content = content;
    req.tags = tags;
    req.n_tags = 1;
    Mnemo__V1__StoreMemoryResponse *resp = NULL;
    mnemo_call_error_t err;
    int st = mnemo_client_store_memory(&resp, c, &req, &err);
    bool ok = EXPECT_STATUS("StoreMemory", st, err.message, GRPC_STATUS_OK, NULL);
    if (ok && id_out != NULL)
        *id_out = strdup(resp->memory->id);
    mnemo_client_free_message(resp);
    return ok;
}

/* Stores the big and the small memories on the shared server; the tests
 * below read them. */
static void test_reply_budget__store_max_content_memories(void)
{
    mnemo_client_t *c = open_client(addr, -1);
    for (size_t i = 0; c != NULL && i < N_BIG; i++) {
        char *content = big_content();
        store(c, content, "budget-big", &big_ids[i]);
        free(content);
    }
    for (size_t i = 0; c != NULL && i < N_SMALL; i++) {
        char *content = itest_unique("smallword", "a small memory");
        store(c, content, "budget-small", NULL);
        free(content);
    }
    mnemo_client_close(c);
}

static int big_index(const char *id)
{
    for (int i = 0; i < N_BIG; i++)
        if (big_ids[i] != NULL && strcmp(big_ids[i], id) == 0)
            return i;
    return -1;
}

static Mnemo__V1__ListMemoriesResponse *list_page(mnemo_client_t *c, const char *tag, int page_size,
                                                  const char *token, int *code)
{
    char *tags[] = {(char *)tag};
    Mnemo__V1__ListMemoriesRequest req = MNEMO__V1__LIST_MEMORIES_REQUEST__INIT;
    req.page_size = page_size;
    req.page_token = (char *)(token != NULL ? token : "");
    req.tags = tag != NULL ? tags : NULL;
    req.n_tags = tag != NULL ? 1 : 0;
    Mnemo__V1__ListMemoriesResponse *resp = NULL;
    mnemo_call_error_t err;
    *code = mnemo_client_list_memories(&resp, c, &req, &err);
    EXPECT_STATUS("ListMemories", *code, err.message, GRPC_STATUS_OK, NULL);
    return resp;
}

static Mnemo__V1__RetrieveMemoryResponse *retrieve(mnemo_client_t *c, const char *query, int limit,
                                                   int *code)
{
    Mnemo__V1__RetrieveMemoryRequest req = MNEMO__V1__RETRIEVE_MEMORY_REQUEST__INIT;
    req.query = (char *)query;
    req.limit = limit;
    Mnemo__V1__RetrieveMemoryResponse *resp = NULL;
    mnemo_call_error_t err;
    *code = mnemo_client_retrieve_memory(&resp, c, &req, &err);
    EXPECT_STATUS("RetrieveMemory", *code, err.message, GRPC_STATUS_OK, NULL);
    return resp;
}

static Mnemo__V1__SearchByTagResponse *by_tag(mnemo_client_t *c, const char *tag, bool match_all,
                                              int limit, int *code)
{
    char *tags[] = {(char *)tag};
    Mnemo__V1__SearchByTagRequest req = MNEMO__V1__SEARCH_BY_TAG_REQUEST__INIT;
    req.tags = tags;
    req.n_tags = 1;
    req.match_all = match_all;
    req.limit = limit;
    Mnemo__V1__SearchByTagResponse *resp = NULL;
    mnemo_call_error_t err;
    *code = mnemo_client_search_by_tag(&resp, c, &req, &err);
    EXPECT_STATUS("SearchByTag", *code, err.message, GRPC_STATUS_OK, NULL);
    return resp;
}

/* ---- ListMemories ------------------------------------------------------ */

/* Pages of page_size over tag: each within the budget, together every big
 * memory exactly once. Returns the number of pages. */
static int walk_pages(mnemo_client_t *c, const char *tag, int page_size)
{
    int seen[N_BIG] = {0};
    char *token = NULL;
    int pages = 0;
    for (;;) {
        int code = 0;
        Mnemo__V1__ListMemoriesResponse *resp = list_page(c, tag, page_size, token, &code);
        free(token);
        token = NULL;
        if (resp == NULL)
            break;
        pages++;
        size_t size = mnemo__v1__list_memories_response__get_packed_size(resp);
        CHECK(size <= DEFAULT_BUDGET, "page %d: %zu bytes within the budget %d", pages, size,
              DEFAULT_BUDGET);
        CHECK(resp->n_memories >= 1, "page %d is not empty", pages);
        for (size_t i = 0; i < resp->n_memories; i++) {
            int k = big_index(resp->memories[i]->id);
            if (k >= 0)
                seen[k]++;
        }
        if (resp->next_page_token[0] != '\0')
            token = strdup(resp->next_page_token);
        mnemo_client_free_message(resp);
        if (token == NULL || !CHECK(pages <= 2 * N_BIG + N_SMALL, "paging ends"))
            break;
    }
    free(token);
    for (int i = 0; i < N_BIG; i++)
        CHECK(seen[i] == 1, "big memory %d listed exactly once (%d times)", i, seen[i]);
    return pages;
}

static void test_reply_budget__list_pages_within_budget(void)
{
    mnemo_client_t *c = open_client(addr, -1);
    if (c == NULL)
        return;
    /* 12 MiB of memories cannot fit one page: the budget ends pages early. */
    int pages = walk_pages(c, "budget-big", 1000);
    CHECK(pages >= 4, "12 x 1 MiB over at least 4 pages (got %d)", pages);
    walk_pages(c, NULL, 1000);
    walk_pages(c, "budget-big", 0);
    mnemo_client_close(c);
}

/* ---- RetrieveMemory, SearchByTag ---------------------------------------- */

static void test_reply_budget__retrieve_truncated(void)
{
    mnemo_client_t *c = open_client(addr, -1);
    if (c == NULL)
        return;
    int code = 0;
    Mnemo__V1__RetrieveMemoryResponse *resp = retrieve(c, "budgetword", 1000, &code);
    if (resp != NULL) {
        size_t size = mnemo__v1__retrieve_memory_response__get_packed_size(resp);
        CHECK(resp->truncated, "limit 1000 over 12 MiB: truncated");
        CHECK(size <= DEFAULT_BUDGET, "%zu bytes within the budget", size);
        CHECK(resp->n_results >= 1 && resp->n_results < N_BIG, "some results (%zu)",
              resp->n_results);
        for (size_t i = 1; i < resp->n_results; i++)
            CHECK(resp->results[i - 1]->score >= resp->results[i]->score, "best first");
    }
    mnemo_client_free_message(resp);
    resp = retrieve(c, "smallword", 1000, &code);
    if (resp != NULL)
        CHECK(!resp->truncated && resp->n_results == N_SMALL, "small: %zu results, not truncated",
              resp->n_results);
    mnemo_client_free_message(resp);
    mnemo_client_close(c);
}

static void test_reply_budget__search_by_tag_truncated(void)
{
    mnemo_client_t *c = open_client(addr, -1);
    if (c == NULL)
        return;
    for (int all = 0; all <= 1; all++) {
        int code = 0;
        Mnemo__V1__SearchByTagResponse *resp = by_tag(c, "budget-big", all, 1000, &code);
        if (resp != NULL) {
            size_t size = mnemo__v1__search_by_tag_response__get_packed_size(resp);
            CHECK(resp->truncated, "match_all=%d: truncated", all);
            CHECK(size <= DEFAULT_BUDGET, "match_all=%d: %zu bytes within the budget", all, size);
            CHECK(resp->n_memories >= 1 && resp->n_memories < N_BIG, "some memories (%zu)",
                  resp->n_memories);
        }
        mnemo_client_free_message(resp);
        resp = by_tag(c, "budget-small", all, 1000, &code);
        if (resp != NULL)
            CHECK(!resp->truncated && resp->n_memories == N_SMALL,
                  "small, match_all=%d: %zu memories, not truncated", all, resp->n_memories);
        mnemo_client_free_message(resp);
    }
    mnemo_client_close(c);
}

/* gRPC's default 4 MiB receive limit: default requests, and the largest. */
static void test_reply_budget__default_client_never_exhausted(void)
{
    mnemo_client_t *c = open_client(addr, 0);
    if (c == NULL)
        return;
    int code = 0;
    for (int page_size = 0; page_size <= 1000; page_size += 1000) {
        mnemo_client_free_message(list_page(c, NULL, page_size, NULL, &code));
        mnemo_client_free_message(list_page(c, "budget-big", page_size, NULL, &code));
        mnemo_client_free_message(retrieve(c, "budgetword", page_size, &code));
        mnemo_client_free_message(by_tag(c, "budget-big", false, page_size, &code));
        mnemo_client_free_message(by_tag(c, "budget-big", true, page_size, &code));
    }
    mnemo_client_close(c);
}

/* ---- SearchCode --------------------------------------------------------- */

/* root/<name>/src<i>.c: n files of 120 lines that all contain "budgetcode". */
static char *make_repo(const char *name, int n)
{
    char *dir = malloc(strlen(workroot) + strlen(name) + 2);
    sprintf(dir, "%s/%s", workroot, name);
    mkdir(dir, 0755);
    char line[128];
    size_t cap = 120 * sizeof line;
    char *text = malloc(cap);
    for (int f = 0; f < n; f++) {
        size_t len = 0;
        for (int l = 0; l < 120; l++)
            len += (size_t)snprintf(text + len, cap - len,
                                    "int budgetcode_%d_%d(void) { return %d; } /* padding */\n", f,
                                    l, l);
        char path[4096];
        snprintf(path, sizeof path, "%s/src%d.c", dir, f);
        mnemo_test_write_file(path, text, len);
    }
    free(text);
    return dir;
}

static bool sync_repo(mnemo_client_t *c, const char *path, const char *name)
{
    Mnemo__V1__SyncRepositoryRequest req = MNEMO__V1__SYNC_REPOSITORY_REQUEST__INIT;
    req.repository_path = (char *)path;
    req.repository_name = (char *)name;
    mnemo_stream_t *s = NULL;
    mnemo_call_error_t err;
    if (!CHECK(mnemo_client_sync_repository(&s, c, &req, &err) == 0, "sync %s: %s", name,
               err.message))
        return false;
    Mnemo__V1__SyncEvent *ev = NULL;
    while (mnemo_stream_next_sync_event(&ev, s, &err) == 1)
        mnemo_client_free_message(ev);
    int code = mnemo_stream_status(s, &err);
    mnemo_stream_close(s);
    return EXPECT_STATUS("SyncRepository", code, err.message, GRPC_STATUS_OK, NULL);
}

static Mnemo__V1__SearchCodeResponse *search_code(mnemo_client_t *c, const char *name, int limit)
{
    Mnemo__V1__SearchCodeRequest req = MNEMO__V1__SEARCH_CODE_REQUEST__INIT;
    req.query = "budgetcode";
    req.repository_name = (char *)name;
    req.limit = limit;
    Mnemo__V1__SearchCodeResponse *resp = NULL;
    mnemo_call_error_t err;
    int code = mnemo_client_search_code(&resp, c, &req, &err);
    EXPECT_STATUS("SearchCode", code, err.message, GRPC_STATUS_OK, NULL);
    return resp;
}

static void test_reply_budget__search_code_small_not_truncated(void)
{
    mnemo_client_t *c = open_client(addr, 0);
    char *repo = make_repo("small-repo", 2);
    if (c != NULL && sync_repo(c, repo, "budget-small-repo")) {
        Mnemo__V1__SearchCodeResponse *resp = search_code(c, "budget-small-repo", 1000);
        if (resp != NULL)
            CHECK(resp->n_hits >= 1 && !resp->truncated, "%zu hits, not truncated", resp->n_hits);
        mnemo_client_free_message(resp);
    }
    free(repo);
    mnemo_client_close(c);
}

static void test_reply_budget__search_code_truncated(void)
{
    const char *args[] = {"--allow-root", workroot, "--max-reply-bytes", "65536", NULL};
    mnemo_harness_options_t opts = {.extra_args = args};
    mnemo_harness_t *h = NULL;
    if (!CHECK(mnemo_harness_start(&h, &opts) == MNEMO_HARNESS_SERVING, "small-budget mnemod")) {
        if (h != NULL)
            mnemo_harness_dump_log(h);
        mnemo_harness_destroy(h);
        return;
    }
    mnemo_client_t *c = open_client(mnemo_harness_address(h), 0);
    /* 40 files x ~6 KiB: far more than 64 KiB of hits. */
    char *repo = make_repo("big-repo", 40);
    if (c != NULL && sync_repo(c, repo, "budget-big-repo")) {
        Mnemo__V1__SearchCodeResponse *resp = search_code(c, "budget-big-repo", 1000);
        if (resp != NULL) {
            size_t size = mnemo__v1__search_code_response__get_packed_size(resp);
            CHECK(resp->truncated, "SearchCode limit 1000 over 240 KiB: truncated");
            CHECK(size <= MIN_BUDGET, "%zu bytes within the budget %d", size, MIN_BUDGET);
            CHECK(resp->n_hits >= 1, "%zu hits", resp->n_hits);
        }
        mnemo_client_free_message(resp);
    }
    free(repo);
    mnemo_client_close(c);
    int status = mnemo_harness_stop(h, 0);
    CHECK(status == 0, "small-budget mnemod exited cleanly (status %d)", status);
    mnemo_harness_destroy(h);
}

int main(void)
{
    workroot = mnemo_test_tmpdir();
    const char *args[] = {"--allow-root", workroot, NULL};
    mnemo_harness_options_t opts = {.extra_args = args};
    addr = itest_start_server_opts(&opts);
    CU_pSuite s = mnemo_test_suite("reply_budget");
    MNEMO_TEST(s, test_reply_budget__store_max_content_memories);
    MNEMO_TEST(s, test_reply_budget__list_pages_within_budget);
    MNEMO_TEST(s, test_reply_budget__retrieve_truncated);
    MNEMO_TEST(s, test_reply_budget__search_by_tag_truncated);
    MNEMO_TEST(s, test_reply_budget__default_client_never_exhausted);
    MNEMO_TEST(s, test_reply_budget__search_code_small_not_truncated);
    MNEMO_TEST(s, test_reply_budget__search_code_truncated);
    int rc = itest_run();
    for (int i = 0; i < N_BIG; i++)
        free(big_ids[i]);
    mnemo_test_rmtree(workroot);
    free(workroot);
    return rc;
}
