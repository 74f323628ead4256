/* test_validation.c - every field limit of MemoryService against a real
 * mnemod: each bad input gets INVALID_ARGUMENT (or NOT_FOUND) with a message
 * naming the field, each value at the limit is accepted, and 0 limits mean
 * the documented defaults (docs/design.md "Defaults and limits").
 *
 * DESIGN: requests are built with protobuf-c and sent through memrpc, by
 * libmnemo's generic call (which sends any message unchecked), not its typed
 * wrappers, so that the server's own validation is what is tested. One
 * server for the binary; every test stores its own unique content, so tests
 * do not depend on each other.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"
#include "memrpc.h"

static const char *addr;

#define MIB (1024 * 1024)

/* ---- helpers ---------------------------------------------------------- */

static int store_req(Mnemo__V1__StoreMemoryRequest *req, Mnemo__V1__StoreMemoryResponse **resp,
                     char **details)
{
    return memrpc_mem(addr, "StoreMemory", &req->base, (ProtobufCMessage **)resp, details);
}

/* Stores req and expects want (+ field); frees everything. */
static void expect_store(const char *what, Mnemo__V1__StoreMemoryRequest *req, int want,
                         const char *field)
{
    char *details = NULL;
    Mnemo__V1__StoreMemoryResponse *resp = NULL;
    int st = store_req(req, &resp, &details);
    EXPECT_STATUS(what, st, details, want, field);
    mnemo_client_free_message(resp);
    free(details);
}

/* n tags "<prefix>-<i>" (heap; free with free_tags). */
static char **make_tags(const char *prefix, size_t n)
{
    char **tags = calloc(n + 1, sizeof *tags);
    for (size_t i = 0; i < n; i++) {
        tags[i] = malloc(strlen(prefix) + 24);
        sprintf(tags[i], "%s-%zu", prefix, i);
    }
    return tags;
}

static void free_tags(char **tags, size_t n)
{
    for (size_t i = 0; i < n && tags != NULL; i++)
        free(tags[i]);
    free(tags);
}

/* A metadata array of n entries key-i => value (heap; free_meta). */
static Mnemo__V1__StoreMemoryRequest__MetadataEntry **make_meta(size_t n)
{
    Mnemo__V1__StoreMemoryRequest__MetadataEntry **m = calloc(n + 1, sizeof *m);
    for (size_t i = 0; i < n; i++) {
        m[i] = malloc(sizeof **m);
        mnemo__v1__store_memory_request__metadata_entry__init(m[i]);
        m[i]->key = malloc(32);
        m[i]->value = malloc(32);
        sprintf(m[i]->key, "key-%zu", i);
        sprintf(m[i]->value, "value-%zu", i);
    }
    return m;
}

static void free_meta(Mnemo__V1__StoreMemoryRequest__MetadataEntry **m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(m[i]->key);
        free(m[i]->value);
        free(m[i]);
    }
    free(m);
}

/* A unique valid store request with the given extras. */
static Mnemo__V1__StoreMemoryRequest base_req(char **content_out)
{
    Mnemo__V1__StoreMemoryRequest req = MNEMO__V1__STORE_MEMORY_REQUEST__INIT;
    *content_out = itest_unique("validation memory", "with ordinary words");
    req.content = *content_out;
    return req;
}

/* Invalid UTF-8 samples: a stray continuation byte, an overlong '/', a
 * UTF-16 surrogate, a truncated sequence, a code point above U+10FFFF. */
static const char *const bad_utf8[] = {"abc\x80", "\xc0\xaf", "x\xed\xa0\x80y", "\xe2\x82",
                                       "\xf4\x90\x80\x80"};
#define N_BAD_UTF8 (sizeof bad_utf8 / sizeof bad_utf8[0])

/* ---- StoreMemory: content -------------------------------------------- */

static void test_validation__content_empty(void)
{
    Mnemo__V1__StoreMemoryRequest req = MNEMO__V1__STORE_MEMORY_REQUEST__INIT;
    expect_store("empty content", &req, GRPC_STATUS_INVALID_ARGUMENT, "content");
}

static void test_validation__content_at_limit_accepted(void)
{
    /* Words, not one giant token: the point is the byte count. */
    char *content = malloc(MIB + 1);
    for (size_t i = 0; i < MIB; i++)
        content[i] = (i % 8 == 7) ? ' ' : (char)('a' + (i / 8) % 26);
    content[MIB] = '\0';
    Mnemo__V1__StoreMemoryRequest req = MNEMO__V1__STORE_MEMORY_REQUEST__INIT;
    req.content = content;
    char *details = NULL;
    Mnemo__V1__StoreMemoryResponse *resp = NULL;
    int st = store_req(&req, &resp, &details);
    if (EXPECT_STATUS("content of exactly 1 MiB", st, details, GRPC_STATUS_OK, NULL)) {
        char hex[65];
        memrpc_sha256_hex(hex, content, MIB);
        CHECK(resp->memory != NULL && strcmp(resp->memory->id, hex) == 0,
              "id of 1 MiB content is its SHA-256");
        CHECK(resp->memory != NULL && strlen(resp->memory->content) == MIB,
              "1 MiB content comes back whole");
    }
    mnemo_client_free_message(resp);
    free(details);
    free(content);
}

static void test_validation__content_over_limit(void)
{
    char *content = itest_repeat('a', MIB + 1);
    Mnemo__V1__StoreMemoryRequest req = MNEMO__V1__STORE_MEMORY_REQUEST__INIT;
    req.content = content;
    expect_store("content of 1 MiB + 1", &req, GRPC_STATUS_INVALID_ARGUMENT, "content");
    free(content);
}

static void test_validation__content_over_transport_limit(void)
{
    /* 5 MiB is past gRPC's default 4 MiB receive limit: gRPC may refuse it
     * (RESOURCE_EXHAUSTED) before the server sees it; either way no OK. */
    char *content = itest_repeat('b', 5 * MIB);
    Mnemo__V1__StoreMemoryRequest req = MNEMO__V1__STORE_MEMORY_REQUEST__INIT;
    req.content = content;
    char *details = NULL;
    int st = store_req(&req, NULL, &details);
    CHECK(st == GRPC_STATUS_RESOURCE_EXHAUSTED || st == GRPC_STATUS_INVALID_ARGUMENT,
          "5 MiB content: got %s \"%s\", want RESOURCE_EXHAUSTED or INVALID_ARGUMENT",
          mnemo_client_code_name(st), details);
    free(details);
    free(content);
}

static void test_validation__content_invalid_utf8(void)
{
    for (size_t i = 0; i < N_BAD_UTF8; i++) {
        Mnemo__V1__StoreMemoryRequest req = MNEMO__V1__STORE_MEMORY_REQUEST__INIT;
        req.content = (char *)bad_utf8[i];
        char what[64];
        snprintf(what, sizeof what, "content with invalid UTF-8 #%zu", i);
        expect_store(what, &req, GRPC_STATUS_INVALID_ARGUMENT, "content");
    }
}

static void test_validation__content_multibyte_roundtrip(void)
{
    char *content = itest_unique("h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9d\x84\x9e", "end");
    char *details = NULL;
    Mnemo__V1__StoreMemoryResponse *resp = NULL;
    int st = memrpc_store(addr, content, NULL, 0, &resp, &details);
    if (EXPECT_STATUS("store multibyte UTF-8", st, details, GRPC_STATUS_OK, NULL)) {
        Mnemo__V1__Memory *got = NULL;
        char *d2 = NULL;
        st = memrpc_get(addr, resp->memory->id, &got, &d2);
        if (EXPECT_STATUS("get multibyte UTF-8", st, d2, GRPC_STATUS_OK, NULL))
            CHECK(strcmp(got->content, content) == 0, "multibyte content round-trips exactly");
        mnemo_client_free_message(got);
        free(d2);
    }
    mnemo_client_free_message(resp);
    free(details);
    free(content);
}

static void test_validation__memory_type_invalid_utf8(void)
{
    char *content;
    Mnemo__V1__StoreMemoryRequest req = base_req(&content);
    req.memory_type = "note\xff";
    expect_store("memory_type with invalid UTF-8", &req, GRPC_STATUS_INVALID_ARGUMENT,
                 "memory_type");
    free(content);
}

/* ---- StoreMemory: tags ------------------------------------------------ */

static void test_validation__tags_64_accepted_65_rejected(void)
{
    char *content;
    Mnemo__V1__StoreMemoryRequest req = base_req(&content);
    char **tags = make_tags("t", 65);
    req.tags = tags;
    req.n_tags = 64;
    char *details = NULL;
    Mnemo__V1__StoreMemoryResponse *resp = NULL;
    int st = store_req(&req, &resp, &details);
    if (EXPECT_STATUS("64 tags", st, details, GRPC_STATUS_OK, NULL))
        CHECK(resp->memory->n_tags == 64, "64 tags stored, got %zu", resp->memory->n_tags);
    mnemo_client_free_message(resp);
    free(details);
    free(content);

    req = base_req(&content);
    req.tags = tags;
    req.n_tags = 65;
    expect_store("65 tags", &req, GRPC_STATUS_INVALID_ARGUMENT, "tags");
    free(content);
    free_tags(tags, 65);
}

static void test_validation__tag_empty(void)
{
    char *content;
    Mnemo__V1__StoreMemoryRequest req = base_req(&content);
    char *tags[] = {"fine", ""};
    req.tags = tags;
    req.n_tags = 2;
    expect_store("empty tag", &req, GRPC_STATUS_INVALID_ARGUMENT, "tags");
    free(content);
}

static void test_validation__tag_length(void)
{
    char *content;
    char *t128 = itest_repeat('t', 128);
    char *t129 = itest_repeat('t', 129);
    Mnemo__V1__StoreMemoryRequest req = base_req(&content);
    req.tags = &t128;
    req.n_tags = 1;
    expect_store("128-byte tag", &req, GRPC_STATUS_OK, NULL);
    free(content);

    req = base_req(&content);
    req.tags = &t129;
    req.n_tags = 1;
    expect_store("129-byte tag", &req, GRPC_STATUS_INVALID_ARGUMENT, "tags");
    free(content);
    free(t128);
    free(t129);
}

static void test_validation__tag_invalid_utf8(void)
{
    for (size_t i = 0; i < N_BAD_UTF8; i++) {
        char *content;
        Mnemo__V1__StoreMemoryRequest req = base_req(&content);
        char *tags[] = {"ok", (char *)bad_utf8[i]};
        req.tags = tags;
        req.n_tags = 2;
        char what[64];
        snprintf(what, sizeof what, "tag with invalid UTF-8 #%zu", i);
        expect_store(what, &req, GRPC_STATUS_INVALID_ARGUMENT, "tags");
        free(content);
    }
}

/* ---- StoreMemory: metadata -------------------------------------------- */

static void test_validation__metadata_64_accepted_65_rejected(void)
{
    Mnemo__V1__StoreMemoryRequest__MetadataEntry **m = make_meta(65);
    char *content;
    Mnemo__V1__StoreMemoryRequest req = base_req(&content);
    req.metadata = m;
    req.n_metadata = 64;
    expect_store("64 metadata entries", &req, GRPC_STATUS_OK, NULL);
    free(content);

    req = base_req(&content);
    req.metadata = m;
    req.n_metadata = 65;
    expect_store("65 metadata entries", &req, GRPC_STATUS_INVALID_ARGUMENT, "metadata");
    free(content);
    free_meta(m, 65);
}

/* Stores one metadata entry key => value and expects want. */
static void expect_meta(const char *what, const char *key, const char *value, int want)
{
    Mnemo__V1__StoreMemoryRequest__MetadataEntry e =
        MNEMO__V1__STORE_MEMORY_REQUEST__METADATA_ENTRY__INIT;
    e.key = (char *)key;
    e.value = (char *)value;
    Mnemo__V1__StoreMemoryRequest__MetadataEntry *entries[] = {&e};
    char *content;
    Mnemo__V1__StoreMemoryRequest req = base_req(&content);
    req.metadata = entries;
    req.n_metadata = 1;
    expect_store(what, &req, want, want == GRPC_STATUS_OK ? NULL : "metadata");
    free(content);
}

static void test_validation__metadata_key_length(void)
{
    char *k128 = itest_repeat('k', 128);
    char *k129 = itest_repeat('k', 129);
    expect_meta("128-byte metadata key", k128, "v", GRPC_STATUS_OK);
    expect_meta("129-byte metadata key", k129, "v", GRPC_STATUS_INVALID_ARGUMENT);
    free(k128);
    free(k129);
}

static void test_validation__metadata_value_length(void)
{
    char *v4096 = itest_repeat('v', 4096);
    char *v4097 = itest_repeat('v', 4097);
    expect_meta("4096-byte metadata value", "k", v4096, GRPC_STATUS_OK);
    expect_meta("4097-byte metadata value", "k", v4097, GRPC_STATUS_INVALID_ARGUMENT);
    free(v4096);
    free(v4097);
}

static void test_validation__metadata_invalid_utf8(void)
{
    for (size_t i = 0; i < N_BAD_UTF8; i++) {
        expect_meta("metadata key with invalid UTF-8", bad_utf8[i], "v",
                    GRPC_STATUS_INVALID_ARGUMENT);
        expect_meta("metadata value with invalid UTF-8", "k", bad_utf8[i],
                    GRPC_STATUS_INVALID_ARGUMENT);
    }
}

/* ---- GetMemory / DeleteMemory: ids ------------------------------------ */

static const char *const bad_ids[] = {
    "", "xyz",
    /* 63 and 65 hex digits */
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",
    /* uppercase */
    "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
    /* 64 characters, one not hex */
    "g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "../../../../etc/passwd",
    "\xff\xfe"};
#define N_BAD_IDS (sizeof bad_ids / sizeof bad_ids[0])

static void test_validation__get_malformed_id(void)
{
    for (size_t i = 0; i < N_BAD_IDS; i++) {
        char *details = NULL;
        int st = memrpc_get(addr, bad_ids[i], NULL, &details);
        char what[160];
        snprintf(what, sizeof what, "GetMemory id \"%.80s\"", bad_ids[i]);
        EXPECT_STATUS(what, st, details, GRPC_STATUS_INVALID_ARGUMENT, "id");
        free(details);
    }
}

static void test_validation__delete_malformed_id(void)
{
    for (size_t i = 0; i < N_BAD_IDS; i++) {
        Mnemo__V1__DeleteMemoryRequest req = MNEMO__V1__DELETE_MEMORY_REQUEST__INIT;
        req.id = (char *)bad_ids[i];
        char *details = NULL;
        int st = memrpc_mem(addr, "DeleteMemory", &req.base, NULL, &details);
        char what[160];
        snprintf(what, sizeof what, "DeleteMemory id \"%.80s\"", bad_ids[i]);
        EXPECT_STATUS(what, st, details, GRPC_STATUS_INVALID_ARGUMENT, "id");
        free(details);
    }
}

static void test_validation__get_unknown_id_not_found(void)
{
    char hex[65];
    memrpc_sha256_hex(hex, "never stored anywhere", 21);
    char *details = NULL;
    int st = memrpc_get(addr, hex, NULL, &details);
    EXPECT_STATUS("GetMemory unknown id", st, details, GRPC_STATUS_NOT_FOUND, NULL);
    free(details);
}

/* ---- ListMemories ----------------------------------------------------- */

static int list(int page_size, const char *token, char **tags, size_t n_tags,
                Mnemo__V1__ListMemoriesResponse **resp, char **details)
{
    Mnemo__V1__ListMemoriesRequest req = MNEMO__V1__LIST_MEMORIES_REQUEST__INIT;
    req.page_size = page_size;
    req.page_token = (char *)(token != NULL ? token : "");
    req.tags = tags;
    req.n_tags = n_tags;
    return memrpc_mem(addr, "ListMemories", &req.base, (ProtobufCMessage **)resp, details);
}

static void test_validation__list_page_size_bounds(void)
{
    const struct {
        int size;
        int want;
    } cases[] = {{-1, GRPC_STATUS_INVALID_ARGUMENT},
                 {-2147483647 - 1, GRPC_STATUS_INVALID_ARGUMENT},
                 {1001, GRPC_STATUS_INVALID_ARGUMENT},
                 {2147483647, GRPC_STATUS_INVALID_ARGUMENT},
                 {1000, GRPC_STATUS_OK},
                 {1, GRPC_STATUS_OK}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *details = NULL;
        Mnemo__V1__ListMemoriesResponse *resp = NULL;
        int st = list(cases[i].size, NULL, NULL, 0, &resp, &details);
        char what[64];
        snprintf(what, sizeof what, "ListMemories page_size %d", cases[i].size);
        EXPECT_STATUS(what, st, details, cases[i].want,
                      cases[i].want == GRPC_STATUS_OK ? NULL : "page_size");
        mnemo_client_free_message(resp);
        free(details);
    }
}

/* Stores n memories tagged tag; returns how many were stored. */
static size_t store_tagged(const char *tag, const char *words, size_t n)
{
    size_t ok = 0;
    char *tags[] = {(char *)tag};
    for (size_t i = 0; i < n; i++) {
        char *content = itest_unique(words, tag);
        if (memrpc_store(addr, content, tags, 1, NULL, NULL) == GRPC_STATUS_OK)
            ok++;
        free(content);
    }
    return ok;
}

static void test_validation__list_default_page_size_and_paging(void)
{
    char *tag = strdup("paging");
    CHECK(store_tagged(tag, "paging test memory", 60) == 60, "stored 60 tagged memories");

    char *tags[] = {tag};
    char *details = NULL;
    Mnemo__V1__ListMemoriesResponse *p1 = NULL, *p2 = NULL;
    int st = list(0, NULL, tags, 1, &p1, &details);
    free(details);
    details = NULL;
    if (EXPECT_STATUS("list page_size 0", st, NULL, GRPC_STATUS_OK, NULL)) {
        CHECK(p1->n_memories == 50, "page_size 0 means 50, got %zu", p1->n_memories);
        CHECK(p1->next_page_token[0] != '\0', "first page has a next_page_token");
        st = list(0, p1->next_page_token, tags, 1, &p2, &details);
        if (EXPECT_STATUS("list second page", st, details, GRPC_STATUS_OK, NULL)) {
            CHECK(p2->n_memories == 10, "second page holds the last 10, got %zu", p2->n_memories);
            CHECK(p2->next_page_token[0] == '\0', "last page has no next_page_token");
            /* Newest first across both pages, no memory twice. */
            int64_t prev = INT64_MAX;
            bool ordered = true, unique = true;
            for (size_t i = 0; i < 60 && p1->n_memories + p2->n_memories == 60; i++) {
                Mnemo__V1__Memory *m = i < 50 ? p1->memories[i] : p2->memories[i - 50];
                ordered = ordered && m->created_at_ms <= prev;
                prev = m->created_at_ms;
                for (size_t j = 0; j < i; j++) {
                    Mnemo__V1__Memory *o = j < 50 ? p1->memories[j] : p2->memories[j - 50];
                    unique = unique && strcmp(o->id, m->id) != 0;
                }
            }
            CHECK(ordered, "pages are newest first");
            CHECK(unique, "no memory on two pages");
        }
        /* The token is bound to the tag filter: reusing it without the
         * filter is a foreign token. */
        free(details);
        details = NULL;
        st = list(0, p1->next_page_token, NULL, 0, NULL, &details);
        EXPECT_STATUS("page_token reused with other tags", st, details,
                      GRPC_STATUS_INVALID_ARGUMENT, "page_token");
        /* One character changed. */
        char *forged = strdup(p1->next_page_token);
        size_t mid = strlen(forged) / 2;
        forged[mid] = forged[mid] == '0' ? '1' : '0'; /* another value, in any base */
        free(details);
        details = NULL;
        st = list(0, forged, tags, 1, NULL, &details);
        EXPECT_STATUS("page_token with one character changed", st, details,
                      GRPC_STATUS_INVALID_ARGUMENT, "page_token");
        free(forged);
    }
    mnemo_client_free_message(p1);
    mnemo_client_free_message(p2);
    free(details);
    free(tag);
}

static void test_validation__list_forged_page_token(void)
{
    const char *tokens[] = {
        "garbage", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "0", "-1", "\xff\xff", "%00%00"};
    for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
        char *details = NULL;
        int st = list(10, tokens[i], NULL, 0, NULL, &details);
        char what[96];
        snprintf(what, sizeof what, "ListMemories page_token #%zu", i);
        EXPECT_STATUS(what, st, details, GRPC_STATUS_INVALID_ARGUMENT, "page_token");
        free(details);
    }
}

/* ---- RetrieveMemory --------------------------------------------------- */

static int retrieve(const char *query, int limit, char **tags, size_t n_tags, double min_score,
                    Mnemo__V1__RetrieveMemoryResponse **resp, char **details)
{
    Mnemo__V1__RetrieveMemoryRequest req = MNEMO__V1__RETRIEVE_MEMORY_REQUEST__INIT;
    req.query = (char *)query;
    req.limit = limit;
    req.tags = tags;
    req.n_tags = n_tags;
    req.min_score = min_score;
    return memrpc_mem(addr, "RetrieveMemory", &req.base, (ProtobufCMessage **)resp, details);
}

static void test_validation__retrieve_query_length(void)
{
    char *q4096 = itest_repeat('q', 4096);
    char *q4097 = itest_repeat('q', 4097);
    char *details = NULL;
    int st = retrieve(q4096, 0, NULL, 0, 0, NULL, &details);
    EXPECT_STATUS("query of 4096 bytes", st, details, GRPC_STATUS_OK, NULL);
    free(details);
    details = NULL;
    st = retrieve(q4097, 0, NULL, 0, 0, NULL, &details);
    EXPECT_STATUS("query of 4097 bytes", st, details, GRPC_STATUS_INVALID_ARGUMENT, "query");
    free(details);
    free(q4096);
    free(q4097);
}

static void test_validation__retrieve_query_invalid_utf8(void)
{
    for (size_t i = 0; i < N_BAD_UTF8; i++) {
        char *details = NULL;
        int st = retrieve(bad_utf8[i], 0, NULL, 0, 0, NULL, &details);
        EXPECT_STATUS("query with invalid UTF-8", st, details, GRPC_STATUS_INVALID_ARGUMENT,
                      "query");
        free(details);
    }
}

static void test_validation__retrieve_limit_bounds(void)
{
    const int bad[] = {-1, -2147483647 - 1, 1001, 2147483647};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *details = NULL;
        int st = retrieve("anything", bad[i], NULL, 0, 0, NULL, &details);
        char what[64];
        snprintf(what, sizeof what, "RetrieveMemory limit %d", bad[i]);
        EXPECT_STATUS(what, st, details, GRPC_STATUS_INVALID_ARGUMENT, "limit");
        free(details);
    }
    char *details = NULL;
    int st = retrieve("anything", 1000, NULL, 0, 0, NULL, &details);
    EXPECT_STATUS("RetrieveMemory limit 1000", st, details, GRPC_STATUS_OK, NULL);
    free(details);
}

static void test_validation__retrieve_default_limit_and_order(void)
{
    char *tag = strdup("retrieve-default");
    CHECK(store_tagged(tag, "zephyrquux alpha", 15) == 15, "stored 15 memories");
    char *tags[] = {tag};
    Mnemo__V1__RetrieveMemoryResponse *resp = NULL;
    char *details = NULL;
    int st = retrieve("zephyrquux", 0, tags, 1, 0, &resp, &details);
    if (EXPECT_STATUS("retrieve limit 0", st, details, GRPC_STATUS_OK, NULL)) {
        CHECK(resp->n_results == 10, "limit 0 means 10, got %zu", resp->n_results);
        bool sorted = true, tagged = true;
        for (size_t i = 0; i < resp->n_results; i++) {
            if (i > 0)
                sorted = sorted && resp->results[i]->score <= resp->results[i - 1]->score;
            Mnemo__V1__Memory *m = resp->results[i]->memory;
            bool has = false;
            for (size_t t = 0; m != NULL && t < m->n_tags; t++)
                has = has || strcmp(m->tags[t], tag) == 0;
            tagged = tagged && has;
        }
        CHECK(sorted, "results are best first");
        CHECK(tagged, "every result carries the filter tag");
    }
    mnemo_client_free_message(resp);
    free(details);
    free(tag);
}

static void test_validation__retrieve_tag_invalid_utf8(void)
{
    char *tags[] = {(char *)bad_utf8[0]};
    char *details = NULL;
    int st = retrieve("anything", 0, tags, 1, 0, NULL, &details);
    EXPECT_STATUS("retrieve tag filter with invalid UTF-8", st, details,
                  GRPC_STATUS_INVALID_ARGUMENT, "tags");
    free(details);
}

static void test_validation__retrieve_min_score_not_a_number(void)
{
    /* NaN is no usable threshold: refused, or treated as no threshold; never
     * a crash or a non-finite score in the response. */
    char *details = NULL;
    Mnemo__V1__RetrieveMemoryResponse *resp = NULL;
    int st = retrieve("zephyrquux", 0, NULL, 0, NAN, &resp, &details);
    CHECK(st == GRPC_STATUS_OK || st == GRPC_STATUS_INVALID_ARGUMENT,
          "min_score NaN: got %s \"%s\"", mnemo_client_code_name(st), details);
    if (st == GRPC_STATUS_INVALID_ARGUMENT)
        EXPECT_STATUS("min_score NaN", st, details, GRPC_STATUS_INVALID_ARGUMENT, "min_score");
    for (size_t i = 0; st == GRPC_STATUS_OK && i < resp->n_results; i++)
        CHECK(isfinite(resp->results[i]->score), "finite scores");
    mnemo_client_free_message(resp);
    free(details);
}

/* ---- SearchByTag ------------------------------------------------------ */

static int by_tag(char **tags, size_t n_tags, bool match_all, int limit,
                  Mnemo__V1__SearchByTagResponse **resp, char **details)
{
    Mnemo__V1__SearchByTagRequest req = MNEMO__V1__SEARCH_BY_TAG_REQUEST__INIT;
    req.tags = tags;
    req.n_tags = n_tags;
    req.match_all = match_all;
    req.limit = limit;
    return memrpc_mem(addr, "SearchByTag", &req.base, (ProtobufCMessage **)resp, details);
}

static void test_validation__search_by_tag_limit_bounds(void)
{
    char *tags[] = {"anything"};
    const int bad[] = {-1, 1001};
    for (size_t i = 0; i < 2; i++) {
        char *details = NULL;
        int st = by_tag(tags, 1, false, bad[i], NULL, &details);
        char what[64];
        snprintf(what, sizeof what, "SearchByTag limit %d", bad[i]);
        EXPECT_STATUS(what, st, details, GRPC_STATUS_INVALID_ARGUMENT, "limit");
        free(details);
    }
    char *tag = strdup("bytag-default");
    CHECK(store_tagged(tag, "search by tag default", 12) == 12, "stored 12 memories");
    char *t[] = {tag};
    Mnemo__V1__SearchByTagResponse *resp = NULL;
    char *details = NULL;
    int st = by_tag(t, 1, false, 0, &resp, &details);
    if (EXPECT_STATUS("SearchByTag limit 0", st, details, GRPC_STATUS_OK, NULL))
        CHECK(resp->n_memories == 10, "limit 0 means 10, got %zu", resp->n_memories);
    mnemo_client_free_message(resp);
    free(details);
    free(tag);
}

static void test_validation__search_by_tag_no_tags(void)
{
    char *details = NULL;
    int st = by_tag(NULL, 0, false, 0, NULL, &details);
    EXPECT_STATUS("SearchByTag without tags", st, details, GRPC_STATUS_INVALID_ARGUMENT, "tags");
    free(details);
}

static void test_validation__search_by_tag_invalid_tags(void)
{
    char *bad[] = {(char *)bad_utf8[1]};
    char *details = NULL;
    int st = by_tag(bad, 1, false, 0, NULL, &details);
    EXPECT_STATUS("SearchByTag tag with invalid UTF-8", st, details, GRPC_STATUS_INVALID_ARGUMENT,
                  "tags");
    free(details);
}

/* ---- after all of it --------------------------------------------------- */

static void test_validation__still_serving(void)
{
    char *content = itest_unique("still serving after bad input", "ok");
    Mnemo__V1__StoreMemoryResponse *resp = NULL;
    char *details = NULL;
    int st = memrpc_store(addr, content, NULL, 0, &resp, &details);
    if (EXPECT_STATUS("store after bad input", st, details, GRPC_STATUS_OK, NULL)) {
        Mnemo__V1__Memory *m = NULL;
        char *d2 = NULL;
        st = memrpc_get(addr, resp->memory->id, &m, &d2);
        EXPECT_STATUS("get after bad input", st, d2, GRPC_STATUS_OK, NULL);
        mnemo_client_free_message(m);
        free(d2);
    }
    int serving = -1;
    free(details);
    details = NULL;
    st = memrpc_health(addr, "", &serving, &details);
    EXPECT_STATUS("health after bad input", st, details, GRPC_STATUS_OK, NULL);
    CHECK(serving == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING,
          "SERVING after bad input, got %d", serving);
    mnemo_client_free_message(resp);
    free(details);
    free(content);
}

int main(void)
{
    addr = itest_start_server();
    CU_pSuite s = mnemo_test_suite("validation");
    MNEMO_TEST(s, test_validation__content_empty);
    MNEMO_TEST(s, test_validation__content_at_limit_accepted);
    MNEMO_TEST(s, test_validation__content_over_limit);
    MNEMO_TEST(s, test_validation__content_over_transport_limit);
    MNEMO_TEST(s, test_validation__content_invalid_utf8);
    MNEMO_TEST(s, test_validation__content_multibyte_roundtrip);
    MNEMO_TEST(s, test_validation__memory_type_invalid_utf8);
    MNEMO_TEST(s, test_validation__tags_64_accepted_65_rejected);
    MNEMO_TEST(s, test_validation__tag_empty);
    MNEMO_TEST(s, test_validation__tag_length);
    MNEMO_TEST(s, test_validation__tag_invalid_utf8);
    MNEMO_TEST(s, test_validation__metadata_64_accepted_65_rejected);
    MNEMO_TEST(s, test_validation__metadata_key_length);
    MNEMO_TEST(s, test_validation__metadata_value_length);
    MNEMO_TEST(s, test_validation__metadata_invalid_utf8);
    MNEMO_TEST(s, test_validation__get_malformed_id);
    MNEMO_TEST(s, test_validation__delete_malformed_id);
    MNEMO_TEST(s, test_validation__get_unknown_id_not_found);
    MNEMO_TEST(s, test_validation__list_page_size_bounds);
    MNEMO_TEST(s, test_validation__list_default_page_size_and_paging);
    MNEMO_TEST(s, test_validation__list_forged_page_token);
    MNEMO_TEST(s, test_validation__retrieve_query_length);
    MNEMO_TEST(s, test_validation__retrieve_query_invalid_utf8);
    MNEMO_TEST(s, test_validation__retrieve_limit_bounds);
    MNEMO_TEST(s, test_validation__retrieve_default_limit_and_order);
    MNEMO_TEST(s, test_validation__retrieve_tag_invalid_utf8);
    MNEMO_TEST(s, test_validation__retrieve_min_score_not_a_number);
    MNEMO_TEST(s, test_validation__search_by_tag_limit_bounds);
    MNEMO_TEST(s, test_validation__search_by_tag_no_tags);
    MNEMO_TEST(s, test_validation__search_by_tag_invalid_tags);
    MNEMO_TEST(s, test_validation__still_serving);
    return itest_run();
}
