/* test_memory_api.c - every MemoryService RPC and the health service driven
 * through libmnemo (client/include/mnemo/client.h) against a real mnemod:
 * what each RPC returns on good input, that bad input comes back as the
 * right status with the server's message naming the field, and that one
 * client serves many threads.
 *
 * DESIGN: one server and one shared mnemo_client_t for the binary (the
 * library promises thread-safety, which the concurrency test relies on).
 * The exhaustive field-limit matrix lives in test_validation.c (protobuf-c
 * messages sent unchecked by the generic call); here each kind of error is
 * checked once, through the typed wrappers, to prove the status and
 * message reach the caller intact.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnemo/client.h"

#include "itest.h"
#include "memrpc.h"

static const char *addr;
static mnemo_client_t *client;

/* ---- helpers ------------------------------------------------------------ */

static Mnemo__V1__StoreMemoryResponse *store_full(const char *content, char **tags, size_t n_tags,
                                                  const char *key, const char *value,
                                                  const char *type)
{
    Mnemo__V1__StoreMemoryRequest req = MNEMO__V1__STORE_MEMORY_REQUEST__INIT;
    Mnemo__V1__StoreMemoryRequest__MetadataEntry e =
        MNEMO__V1__STORE_MEMORY_REQUEST__METADATA_ENTRY__INIT;
    Mnemo__V1__StoreMemoryRequest__MetadataEntry *entries[] = {&e};
    req.content = (char *)content;
    req.tags = tags;
    req.n_tags = n_tags;
    if (key != NULL) {
        e.key = (char *)key;
        e.value = (char *)value;
        req.metadata = entries;
        req.n_metadata = 1;
    }
    if (type != NULL)
        req.memory_type = (char *)type;
    Mnemo__V1__StoreMemoryResponse *resp = NULL;
    mnemo_call_error_t err;
    int st = mnemo_client_store_memory(&resp, client, &req, &err);
    CHECK(st == 0 && err.code == 0, "store \"%.40s\": %s \"%s\"", content,
          mnemo_client_code_name(st), err.message);
    return st == 0 ? resp : NULL;
}

static Mnemo__V1__StoreMemoryResponse *store(const char *content, char **tags, size_t n_tags)
{
    return store_full(content, tags, n_tags, NULL, NULL, NULL);
}

static bool has_tag(const Mnemo__V1__Memory *m, const char *tag)
{
    for (size_t i = 0; i < m->n_tags; i++)
        if (strcmp(m->tags[i], tag) == 0)
            return true;
    return false;
}

/* Expects a failed call's err to carry want and name field. */
static void expect_err(const char *what, int st, const mnemo_call_error_t *err, int want,
                       const char *field)
{
    CHECK(st == err->code, "%s: return value %d equals err.code %d", what, st, err->code);
    EXPECT_STATUS(what, st, err->message, want, field);
    CHECK(!err->unreachable, "%s: a server answer is not 'unreachable'", what);
}

/* ---- StoreMemory --------------------------------------------------------- */

static void test_memory_api__store_returns_memory(void)
{
    const char *content = "the memory API stores what it is given";
    char *tags[] = {"zeta", "alpha", "zeta"};
    Mnemo__V1__StoreMemoryResponse *r = store_full(content, tags, 3, "source", "test", "note");
    if (r == NULL)
        return;
    Mnemo__V1__Memory *m = r->memory;
    char hex[65];
    memrpc_sha256_hex(hex, content, strlen(content));
    CHECK(r->created, "created=true for new content");
    CHECK(strcmp(m->id, hex) == 0, "id is lowercase hex SHA-256 of content: %s vs %s", m->id, hex);
    CHECK(strcmp(m->content, content) == 0, "content echoed");
    CHECK(m->n_tags == 2 && strcmp(m->tags[0], "alpha") == 0 && strcmp(m->tags[1], "zeta") == 0,
          "tags sorted and unique (got %zu)", m->n_tags);
    CHECK(m->n_metadata == 1 && strcmp(m->metadata[0]->key, "source") == 0 &&
              strcmp(m->metadata[0]->value, "test") == 0,
          "metadata echoed");
    CHECK(strcmp(m->memory_type, "note") == 0, "memory_type echoed");
    CHECK(m->created_at_ms > 1600000000000LL, "created_at_ms is a real time: %lld",
          (long long)m->created_at_ms);
    CHECK(m->updated_at_ms >= m->created_at_ms, "updated_at_ms >= created_at_ms");
    mnemo_client_free_message(r);
}

static void test_memory_api__store_same_content_merges_tags(void)
{
    const char *content = "stored twice with different tags";
    char *t1[] = {"first"};
    char *t2[] = {"second"};
    Mnemo__V1__StoreMemoryResponse *a = store(content, t1, 1);
    Mnemo__V1__StoreMemoryResponse *b = store(content, t2, 1);
    if (a != NULL && b != NULL) {
        CHECK(a->created && !b->created, "created true then false");
        CHECK(strcmp(a->memory->id, b->memory->id) == 0, "same id");
        CHECK(has_tag(b->memory, "first") && has_tag(b->memory, "second"), "tags merged: %zu tags",
              b->memory->n_tags);
        CHECK(b->memory->created_at_ms == a->memory->created_at_ms, "created_at_ms kept");
    }
    mnemo_client_free_message(a);
    mnemo_client_free_message(b);
}

static void test_memory_api__store_errors(void)
{
    mnemo_call_error_t err;
    Mnemo__V1__StoreMemoryResponse *r = NULL;
    Mnemo__V1__StoreMemoryRequest req = MNEMO__V1__STORE_MEMORY_REQUEST__INIT;
    int st = mnemo_client_store_memory(&r, client, &req, &err);
    expect_err("store empty content", st, &err, GRPC_STATUS_INVALID_ARGUMENT, "content");
    CHECK(r == NULL, "no response on error");

    char *content = itest_repeat('x', 1024 * 1024 + 1);
    req.content = content;
    st = mnemo_client_store_memory(&r, client, &req, &err);
    expect_err("store 1 MiB + 1", st, &err, GRPC_STATUS_INVALID_ARGUMENT, "content");
    free(content);

    req.content = "bad \xff utf-8";
    st = mnemo_client_store_memory(&r, client, &req, &err);
    expect_err("store invalid UTF-8", st, &err, GRPC_STATUS_INVALID_ARGUMENT, "content");

    char *tag = itest_repeat('t', 129);
    req.content = "tag too long";
    req.tags = &tag;
    req.n_tags = 1;
    st = mnemo_client_store_memory(&r, client, &req, &err);
    expect_err("store 129-byte tag", st, &err, GRPC_STATUS_INVALID_ARGUMENT, "tags");
    free(tag);
}

/* ---- GetMemory / DeleteMemory ------------------------------------------ */

static void test_memory_api__get_and_delete(void)
{
    Mnemo__V1__StoreMemoryResponse *r = store("get me, then delete me", NULL, 0);
    if (r == NULL)
        return;
    mnemo_call_error_t err;
    Mnemo__V1__GetMemoryRequest g = MNEMO__V1__GET_MEMORY_REQUEST__INIT;
    g.id = r->memory->id;
    Mnemo__V1__Memory *m = NULL;
    int st = mnemo_client_get_memory(&m, client, &g, &err);
    if (CHECK(st == 0, "get: %s \"%s\"", mnemo_client_code_name(st), err.message)) {
        CHECK(strcmp(m->content, "get me, then delete me") == 0, "get returns the content");
        CHECK(m->created_at_ms == r->memory->created_at_ms, "same created_at_ms");
    }
    mnemo_client_free_message(m);
    m = NULL;

    Mnemo__V1__DeleteMemoryRequest d = MNEMO__V1__DELETE_MEMORY_REQUEST__INIT;
    d.id = r->memory->id;
    Mnemo__V1__DeleteMemoryResponse *dr = NULL;
    st = mnemo_client_delete_memory(&dr, client, &d, &err);
    CHECK(st == 0 && dr->deleted, "first delete: deleted=true");
    mnemo_client_free_message(dr);
    dr = NULL;
    st = mnemo_client_delete_memory(&dr, client, &d, &err);
    CHECK(st == 0 && !dr->deleted, "second delete: OK, deleted=false (idempotent)");
    mnemo_client_free_message(dr);

    st = mnemo_client_get_memory(&m, client, &g, &err);
    expect_err("get after delete", st, &err, GRPC_STATUS_NOT_FOUND, NULL);
    mnemo_client_free_message(m);
    mnemo_client_free_message(r);
}

static void test_memory_api__deleted_memory_leaves_search(void)
{
    char *tags[] = {"vanishing"};
    Mnemo__V1__StoreMemoryResponse *r = store("ephemeral xylophonist", tags, 1);
    if (r == NULL)
        return;
    mnemo_call_error_t err;
    Mnemo__V1__DeleteMemoryRequest d = MNEMO__V1__DELETE_MEMORY_REQUEST__INIT;
    d.id = r->memory->id;
    Mnemo__V1__DeleteMemoryResponse *dr = NULL;
    mnemo_client_delete_memory(&dr, client, &d, &err);
    mnemo_client_free_message(dr);

    Mnemo__V1__RetrieveMemoryRequest q = MNEMO__V1__RETRIEVE_MEMORY_REQUEST__INIT;
    q.query = "xylophonist";
    Mnemo__V1__RetrieveMemoryResponse *rr = NULL;
    int st = mnemo_client_retrieve_memory(&rr, client, &q, &err);
    CHECK(st == 0 && rr->n_results == 0, "a deleted memory is not retrieved (%zu results)",
          st == 0 ? rr->n_results : 0);
    mnemo_client_free_message(rr);

    Mnemo__V1__SearchByTagRequest t = MNEMO__V1__SEARCH_BY_TAG_REQUEST__INIT;
    t.tags = tags;
    t.n_tags = 1;
    Mnemo__V1__SearchByTagResponse *tr = NULL;
    st = mnemo_client_search_by_tag(&tr, client, &t, &err);
    CHECK(st == 0 && tr->n_memories == 0, "a deleted memory is not found by tag");
    mnemo_client_free_message(tr);
    mnemo_client_free_message(r);
}

static void test_memory_api__get_errors(void)
{
    mnemo_call_error_t err;
    Mnemo__V1__GetMemoryRequest g = MNEMO__V1__GET_MEMORY_REQUEST__INIT;
    Mnemo__V1__Memory *m = NULL;
    g.id = "not-a-hex-id";
    int st = mnemo_client_get_memory(&m, client, &g, &err);
    expect_err("get malformed id", st, &err, GRPC_STATUS_INVALID_ARGUMENT, "id");
    char hex[65];
    memrpc_sha256_hex(hex, "absent", 6);
    g.id = hex;
    st = mnemo_client_get_memory(&m, client, &g, &err);
    expect_err("get unknown id", st, &err, GRPC_STATUS_NOT_FOUND, NULL);
    mnemo_client_free_message(m);
}

/* ---- ListMemories -------------------------------------------------------- */

static void test_memory_api__list_pages_with_tag_filter(void)
{
    char *tags[] = {"listed"};
    char ids[9][65];
    for (int i = 0; i < 9; i++) {
        char content[64];
        snprintf(content, sizeof content, "listed memory number %d", i);
        Mnemo__V1__StoreMemoryResponse *r = store(content, tags, 1);
        snprintf(ids[i], 65, "%s", r != NULL ? r->memory->id : "");
        mnemo_client_free_message(r);
    }
    mnemo_client_free_message(store("not listed: no tag", NULL, 0));

    Mnemo__V1__ListMemoriesRequest req = MNEMO__V1__LIST_MEMORIES_REQUEST__INIT;
    req.page_size = 4;
    req.tags = tags;
    req.n_tags = 1;
    size_t seen = 0, pages = 0;
    int64_t prev = INT64_MAX;
    bool ordered = true;
    char *token = strdup("");
    do {
        req.page_token = token;
        Mnemo__V1__ListMemoriesResponse *p = NULL;
        mnemo_call_error_t err;
        int st = mnemo_client_list_memories(&p, client, &req, &err);
        if (!CHECK(st == 0, "list page %zu: %s \"%s\"", pages, mnemo_client_code_name(st),
                   err.message))
            break;
        for (size_t i = 0; i < p->n_memories; i++) {
            ordered = ordered && p->memories[i]->created_at_ms <= prev;
            prev = p->memories[i]->created_at_ms;
            CHECK(has_tag(p->memories[i], "listed"), "only tagged memories are listed");
        }
        CHECK(p->n_memories <= 4, "page_size respected");
        seen += p->n_memories;
        free(token);
        token = strdup(p->next_page_token);
        pages++;
        mnemo_client_free_message(p);
    } while (token[0] != '\0' && pages < 10);
    free(token);
    CHECK(seen == 9, "9 tagged memories listed, got %zu", seen);
    CHECK(pages == 3, "9 memories in pages of 4: 3 pages, got %zu", pages);
    CHECK(ordered, "newest first");
    /* The newest of them comes first. */
    Mnemo__V1__ListMemoriesResponse *p = NULL;
    req.page_token = "";
    req.page_size = 1;
    mnemo_call_error_t err;
    if (mnemo_client_list_memories(&p, client, &req, &err) == 0 && p->n_memories == 1) {
        Mnemo__V1__GetMemoryRequest g = MNEMO__V1__GET_MEMORY_REQUEST__INIT;
        g.id = ids[8];
        Mnemo__V1__Memory *last = NULL;
        if (mnemo_client_get_memory(&last, client, &g, &err) == 0)
            CHECK(p->memories[0]->created_at_ms >= last->created_at_ms,
                  "first listed is the newest");
        mnemo_client_free_message(last);
    }
    mnemo_client_free_message(p);
}

static void test_memory_api__list_errors(void)
{
    mnemo_call_error_t err;
    Mnemo__V1__ListMemoriesRequest req = MNEMO__V1__LIST_MEMORIES_REQUEST__INIT;
    Mnemo__V1__ListMemoriesResponse *p = NULL;
    req.page_size = -5;
    int st = mnemo_client_list_memories(&p, client, &req, &err);
    expect_err("list page_size -5", st, &err, GRPC_STATUS_INVALID_ARGUMENT, "page_size");
    req.page_size = 1001;
    st = mnemo_client_list_memories(&p, client, &req, &err);
    expect_err("list page_size 1001", st, &err, GRPC_STATUS_INVALID_ARGUMENT, "page_size");
    req.page_size = 0;
    req.page_token = "Zm9yZ2VkIHRva2Vu";
    st = mnemo_client_list_memories(&p, client, &req, &err);
    expect_err("list forged page_token", st, &err, GRPC_STATUS_INVALID_ARGUMENT, "page_token");
    mnemo_client_free_message(p);
}

/* ---- RetrieveMemory ----------------------------------------------------- */

static void test_memory_api__retrieve_ranks_by_relevance(void)
{
    char *cats[] = {"cats"};
    Mnemo__V1__StoreMemoryResponse *best =
        store("ocelot ocelot ocelot: the ocelot is a wild cat", cats, 1);
    Mnemo__V1__StoreMemoryResponse *mid = store("an ocelot crossed the road at dusk", NULL, 0);
    Mnemo__V1__StoreMemoryResponse *none = store("nothing relevant to that query here", NULL, 0);
    if (best == NULL || mid == NULL || none == NULL)
        goto done;
    mnemo_call_error_t err;
    Mnemo__V1__RetrieveMemoryRequest q = MNEMO__V1__RETRIEVE_MEMORY_REQUEST__INIT;
    q.query = "ocelot";
    q.limit = 5;
    Mnemo__V1__RetrieveMemoryResponse *rr = NULL;
    int st = mnemo_client_retrieve_memory(&rr, client, &q, &err);
    if (CHECK(st == 0, "retrieve: %s \"%s\"", mnemo_client_code_name(st), err.message)) {
        CHECK(rr->n_results == 2, "two memories mention ocelot, got %zu", rr->n_results);
        if (rr->n_results >= 2) {
            CHECK(strcmp(rr->results[0]->memory->id, best->memory->id) == 0,
                  "the memory with most mentions ranks first");
            CHECK(strcmp(rr->results[1]->memory->id, mid->memory->id) == 0, "then the other");
            CHECK(rr->results[0]->score > rr->results[1]->score && rr->results[1]->score > 0,
                  "scores strictly decrease and are positive: %f %f", rr->results[0]->score,
                  rr->results[1]->score);
            /* min_score between the two scores drops the second. */
            double cut = (rr->results[0]->score + rr->results[1]->score) / 2;
            Mnemo__V1__RetrieveMemoryResponse *hi = NULL;
            q.min_score = cut;
            st = mnemo_client_retrieve_memory(&hi, client, &q, &err);
            CHECK(st == 0 && hi->n_results == 1, "min_score %f keeps only the best", cut);
            mnemo_client_free_message(hi);
        }
    }
    mnemo_client_free_message(rr);
    rr = NULL;

    /* Tags filter before ranking: only the tagged memory competes. */
    q.min_score = 0;
    q.tags = cats;
    q.n_tags = 1;
    st = mnemo_client_retrieve_memory(&rr, client, &q, &err);
    CHECK(st == 0 && rr->n_results == 1 &&
              strcmp(rr->results[0]->memory->id, best->memory->id) == 0,
          "tag filter leaves the tagged memory only");
    mnemo_client_free_message(rr);
    rr = NULL;

    /* Limit 1. */
    q.tags = NULL;
    q.n_tags = 0;
    q.limit = 1;
    st = mnemo_client_retrieve_memory(&rr, client, &q, &err);
    CHECK(st == 0 && rr->n_results == 1, "limit 1 gives one result");
    mnemo_client_free_message(rr);
done:
    mnemo_client_free_message(best);
    mnemo_client_free_message(mid);
    mnemo_client_free_message(none);
}

static void test_memory_api__retrieve_errors(void)
{
    mnemo_call_error_t err;
    Mnemo__V1__RetrieveMemoryRequest q = MNEMO__V1__RETRIEVE_MEMORY_REQUEST__INIT;
    Mnemo__V1__RetrieveMemoryResponse *rr = NULL;
    q.query = "x";
    q.limit = -1;
    int st = mnemo_client_retrieve_memory(&rr, client, &q, &err);
    expect_err("retrieve limit -1", st, &err, GRPC_STATUS_INVALID_ARGUMENT, "limit");
    q.limit = 1001;
    st = mnemo_client_retrieve_memory(&rr, client, &q, &err);
    expect_err("retrieve limit 1001", st, &err, GRPC_STATUS_INVALID_ARGUMENT, "limit");
    char *big = itest_repeat('q', 4097);
    q.limit = 0;
    q.query = big;
    st = mnemo_client_retrieve_memory(&rr, client, &q, &err);
    expect_err("retrieve query 4097 bytes", st, &err, GRPC_STATUS_INVALID_ARGUMENT, "query");
    free(big);
    mnemo_client_free_message(rr);
}

/* ---- SearchByTag --------------------------------------------------------- */

static void test_memory_api__search_by_tag_any_all(void)
{
    char *xy[] = {"tx", "ty"}, *x[] = {"tx"}, *y[] = {"ty"};
    Mnemo__V1__StoreMemoryResponse *a = store("tagged with x and y", xy, 2);
    Mnemo__V1__StoreMemoryResponse *b = store("tagged with x only", x, 1);
    Mnemo__V1__StoreMemoryResponse *c = store("tagged with y only", y, 1);
    mnemo_call_error_t err;
    Mnemo__V1__SearchByTagRequest t = MNEMO__V1__SEARCH_BY_TAG_REQUEST__INIT;
    t.tags = xy;
    t.n_tags = 2;
    Mnemo__V1__SearchByTagResponse *r = NULL;
    int st = mnemo_client_search_by_tag(&r, client, &t, &err);
    if (CHECK(st == 0, "search any: %s \"%s\"", mnemo_client_code_name(st), err.message)) {
        CHECK(r->n_memories == 3, "any of tx,ty: 3, got %zu", r->n_memories);
        bool ordered = true;
        for (size_t i = 1; i < r->n_memories; i++)
            ordered = ordered && r->memories[i]->created_at_ms <= r->memories[i - 1]->created_at_ms;
        CHECK(ordered, "newest first");
    }
    mnemo_client_free_message(r);
    r = NULL;
    t.match_all = 1;
    st = mnemo_client_search_by_tag(&r, client, &t, &err);
    CHECK(st == 0 && r->n_memories == 1 && a != NULL &&
              strcmp(r->memories[0]->id, a->memory->id) == 0,
          "all of tx,ty: just the one with both");
    mnemo_client_free_message(r);
    r = NULL;
    t.match_all = 0;
    t.limit = 2;
    st = mnemo_client_search_by_tag(&r, client, &t, &err);
    CHECK(st == 0 && r->n_memories == 2, "limit 2 respected");
    mnemo_client_free_message(r);
    r = NULL;
    t.limit = -1;
    st = mnemo_client_search_by_tag(&r, client, &t, &err);
    expect_err("search by tag limit -1", st, &err, GRPC_STATUS_INVALID_ARGUMENT, "limit");
    mnemo_client_free_message(a);
    mnemo_client_free_message(b);
    mnemo_client_free_message(c);
}

/* ---- wire level through the library -------------------------------------- */

static void test_memory_api__raw_calls(void)
{
    mnemo_call_error_t err;
    int st = mnemo_client_call_raw(client, "/mnemo.v1.MemoryService/StoreMemory", "\x0a\x09xx", 4,
                                   NULL, NULL, &err);
    expect_err("unparseable StoreMemory", st, &err, GRPC_STATUS_INVALID_ARGUMENT, NULL);
    long long t0 = mnemo_harness_now_ms();
    st = mnemo_client_call_raw(client, "/mnemo.v1.MemoryService/Forget", "", 0, NULL, NULL, &err);
    expect_err("unknown method", st, &err, GRPC_STATUS_UNIMPLEMENTED, NULL);
    CHECK(mnemo_harness_now_ms() - t0 < 3000, "unknown method answered at once");
    Mnemo__V1__GetSyncStatusRequest gs = MNEMO__V1__GET_SYNC_STATUS_REQUEST__INIT;
    gs.repository_name = "anything";
    Mnemo__V1__SyncStatus *ss = NULL;
    st = mnemo_client_get_sync_status(&ss, client, &gs, &err);
    /* UNIMPLEMENTED while RepositoryService is not served, NOT_FOUND after. */
    CHECK(st == err.code && (st == GRPC_STATUS_UNIMPLEMENTED || st == GRPC_STATUS_NOT_FOUND) &&
              !err.unreachable,
          "GetSyncStatus of a name never synced: %s \"%s\"", mnemo_client_code_name(st),
          err.message);
    mnemo_client_free_message(ss);
}

/* ---- health ---------------------------------------------------------------- */

static void test_memory_api__health(void)
{
    static const char *const names[] = {"", "mnemo.v1.MemoryService", "mnemo.v1.RepositoryService"};
    mnemo_call_error_t err;
    for (size_t i = 0; i < 3; i++) {
        int serving = -1;
        int st = mnemo_client_health_check(client, names[i], &serving, &err);
        CHECK(st == 0 && serving == 1, "health \"%s\": %s, %s", names[i],
              mnemo_client_code_name(st), mnemo_client_serving_status_name(serving));
    }
    int st = mnemo_client_health_check(client, "nope.Service", NULL, &err);
    expect_err("health of an unknown service", st, &err, GRPC_STATUS_NOT_FOUND, NULL);

    /* Watch: the first message is the current status. */
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    const ProtobufCServiceDescriptor *svc = &grpc__health__v1__health__descriptor;
    const ProtobufCMethodDescriptor *watch =
        protobuf_c_service_descriptor_get_method_by_name(svc, "Watch");
    mnemo_stream_t *s = NULL;
    st = mnemo_stream_open(&s, client, svc, (unsigned)(watch - svc->methods), &req.base, &err);
    if (CHECK(st == 0, "open Watch: %s", err.message)) {
        ProtobufCMessage *msg = NULL;
        int got = mnemo_stream_next(&msg, s, &err);
        CHECK(got == 1 && ((Grpc__Health__V1__HealthCheckResponse *)msg)->status == 1,
              "Watch first message SERVING (next=%d, %s)", got, err.message);
        mnemo_client_free_message(msg);
    }
    mnemo_stream_close(s);
}

static void test_memory_api__unreachable_server(void)
{
    mnemo_client_options_t o;
    mnemo_client_options_init(&o);
    o.deadline_ms = 3000;
    mnemo_client_t *c = NULL;
    mnemo_call_error_t err;
    /* Port 1 on loopback: nothing listens there. */
    if (!CHECK(mnemo_client_open(&c, "127.0.0.1:1", &o, &err) == 0, "open: %s", err.message))
        return;
    Mnemo__V1__GetMemoryRequest g = MNEMO__V1__GET_MEMORY_REQUEST__INIT;
    g.id = "x";
    Mnemo__V1__Memory *m = NULL;
    int st = mnemo_client_get_memory(&m, c, &g, &err);
    CHECK(st == GRPC_STATUS_UNAVAILABLE || st == GRPC_STATUS_DEADLINE_EXCEEDED, "no server: %s",
          mnemo_client_code_name(st));
    CHECK(err.unreachable, "no server: err.unreachable set");
    mnemo_client_free_message(m);
    mnemo_client_close(c);
}

/* ---- one client, many threads -------------------------------------------- */

#define THREADS    8
#define PER_THREAD 25

static void *worker(void *arg)
{
    intptr_t n = (intptr_t)arg;
    intptr_t failures = 0;
    for (int i = 0; i < PER_THREAD; i++) {
        char content[96];
        snprintf(content, sizeof content, "concurrent thread %ld item %d quasar", (long)n, i);
        Mnemo__V1__StoreMemoryRequest req = MNEMO__V1__STORE_MEMORY_REQUEST__INIT;
        req.content = content;
        Mnemo__V1__StoreMemoryResponse *r = NULL;
        mnemo_call_error_t err;
        if (mnemo_client_store_memory(&r, client, &req, &err) != 0) {
            failures++;
            continue;
        }
        Mnemo__V1__GetMemoryRequest g = MNEMO__V1__GET_MEMORY_REQUEST__INIT;
        g.id = r->memory->id;
        Mnemo__V1__Memory *m = NULL;
        if (mnemo_client_get_memory(&m, client, &g, &err) != 0 || strcmp(m->content, content) != 0)
            failures++;
        Mnemo__V1__RetrieveMemoryRequest q = MNEMO__V1__RETRIEVE_MEMORY_REQUEST__INIT;
        q.query = "quasar";
        Mnemo__V1__RetrieveMemoryResponse *rr = NULL;
        if (mnemo_client_retrieve_memory(&rr, client, &q, &err) != 0)
            failures++;
        mnemo_client_free_message(rr);
        mnemo_client_free_message(m);
        mnemo_client_free_message(r);
    }
    return (void *)failures;
}

static void test_memory_api__concurrent_clients(void)
{
    pthread_t t[THREADS];
    for (intptr_t i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    intptr_t failures = 0;
    for (int i = 0; i < THREADS; i++) {
        void *f = NULL;
        pthread_join(t[i], &f);
        failures += (intptr_t)f;
    }
    CHECK(failures == 0, "%ld failed calls out of %d", (long)failures, THREADS * PER_THREAD * 3);
    Mnemo__V1__RetrieveMemoryRequest q = MNEMO__V1__RETRIEVE_MEMORY_REQUEST__INIT;
    q.query = "quasar";
    q.limit = 1000;
    Mnemo__V1__RetrieveMemoryResponse *rr = NULL;
    mnemo_call_error_t err;
    int st = mnemo_client_retrieve_memory(&rr, client, &q, &err);
    CHECK(st == 0 && rr->n_results == THREADS * PER_THREAD, "all %d concurrent stores found (%zu)",
          THREADS * PER_THREAD, st == 0 ? rr->n_results : 0);
    mnemo_client_free_message(rr);
}

int main(void)
{
    addr = itest_start_server();
    mnemo_call_error_t err;
    if (mnemo_client_open(&client, addr, NULL, &err) != 0) {
        fprintf(stderr, "mnemo_client_open(%s): %s\n", addr, err.message);
        return 1;
    }
    CU_pSuite s = mnemo_test_suite("memory_api");
    MNEMO_TEST(s, test_memory_api__store_returns_memory);
    MNEMO_TEST(s, test_memory_api__store_same_content_merges_tags);
    MNEMO_TEST(s, test_memory_api__store_errors);
    MNEMO_TEST(s, test_memory_api__get_and_delete);
    MNEMO_TEST(s, test_memory_api__deleted_memory_leaves_search);
    MNEMO_TEST(s, test_memory_api__get_errors);
    MNEMO_TEST(s, test_memory_api__list_pages_with_tag_filter);
    MNEMO_TEST(s, test_memory_api__list_errors);
    MNEMO_TEST(s, test_memory_api__retrieve_ranks_by_relevance);
    MNEMO_TEST(s, test_memory_api__retrieve_errors);
    MNEMO_TEST(s, test_memory_api__search_by_tag_any_all);
    MNEMO_TEST(s, test_memory_api__raw_calls);
    MNEMO_TEST(s, test_memory_api__health);
    MNEMO_TEST(s, test_memory_api__unreachable_server);
    MNEMO_TEST(s, test_memory_api__concurrent_clients);
    int rc = itest_run();
    mnemo_client_close(client);
    return rc;
}
