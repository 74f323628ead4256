/* test_wire.c - what a real mnemod does with requests no well-behaved client
 * sends: bytes that do not parse, unknown fields, embedded NUL, unknown
 * methods and services; plus RepositoryService (UNIMPLEMENTED until it is
 * served, then its errors for requests without a valid target) and the
 * standard grpc.health.v1.Health service.
 *
 * DESIGN: raw bytes through memrpc (libmnemo's mnemo_client_call_raw); one
 * server for the binary, stopped with SIGTERM at the end by itest_run
 * (which fails unless it exits 0).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"
#include "memrpc.h"

static const char *addr;

/* How long an UNIMPLEMENTED answer may take: it must come at once, not at
 * the deadline (gRPC core hangs unknown methods unless the server answers
 * them); generous for ASan builds on a loaded machine. */
#define FAST_MS 3000

static void call_bytes(memrpc_reply_t *out, const char *method, const void *bytes, size_t len)
{
    memrpc_raw(out, addr, method, bytes, len, NULL);
}

/* ---- bytes that are not the declared message ------------------------- */

static const struct {
    const char *name;
    const char *bytes;
    size_t len;
} garbage[] = {
    /* field 1, length 5, but only 2 bytes follow */
    {"truncated length-delimited field",
     "\x0a\x05"
     "ab",
     4},
    /* a tag varint that never ends */
    {"endless varint", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11},
    /* field 1 as fixed32 where a string is declared */
    {"wrong wire type", "\x0d\x00\x00\x00\x00", 5},
    /* field number 0 is invalid */
    {"field number zero", "\x00\x01", 2},
    /* a length beyond 2 GiB */
    {"huge length", "\x0a\xff\xff\xff\xff\x0f", 6},
};

static void test_wire__unparseable_requests(void)
{
    static const char *const methods[] = {"StoreMemory",  "GetMemory",      "DeleteMemory",
                                          "ListMemories", "RetrieveMemory", "SearchByTag"};
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        char path[128];
        memrpc_path(path, sizeof path, &mnemo__v1__memory_service__descriptor, methods[m]);
        for (size_t g = 0; g < sizeof garbage / sizeof garbage[0]; g++) {
            memrpc_reply_t r;
            call_bytes(&r, path, garbage[g].bytes, garbage[g].len);
            char what[160];
            snprintf(what, sizeof what, "%s with %s", methods[m], garbage[g].name);
            EXPECT_STATUS(what, r.status, r.details, GRPC_STATUS_INVALID_ARGUMENT, NULL);
            /* libmnemo stands the code's name in for an empty message. */
            CHECK(r.details[0] != '\0' && strcmp(r.details, mnemo_client_code_name(r.status)) != 0,
                  "%s: the status has a message", what);
            memrpc_reply_cleanup(&r);
        }
    }
}

static void test_wire__unknown_fields_are_ignored(void)
{
    /* content = "unknown fields ride along" plus field 99 (varint 1): a
     * newer client's request must still work (proto3 compatibility). */
    static const char content[] = "unknown fields ride along";
    unsigned char buf[64];
    size_t n = 0;
    buf[n++] = 0x0a;
    buf[n++] = (unsigned char)(sizeof content - 1);
    memcpy(buf + n, content, sizeof content - 1);
    n += sizeof content - 1;
    buf[n++] = 0x98; /* (99 << 3) | 0, as a varint */
    buf[n++] = 0x06;
    buf[n++] = 0x01;
    char path[128];
    memrpc_path(path, sizeof path, &mnemo__v1__memory_service__descriptor, "StoreMemory");
    memrpc_reply_t r;
    call_bytes(&r, path, buf, n);
    EXPECT_STATUS("StoreMemory with an unknown field", r.status, r.details, GRPC_STATUS_OK, NULL);
    memrpc_reply_cleanup(&r);
}

static void test_wire__content_with_nul(void)
{
    /* "a\0b" is valid UTF-8. The server must either refuse it, naming
     * content, or keep all three bytes (id = SHA-256 of the three): never
     * silently store "a". */
    static const unsigned char req[] = {0x0a, 0x03, 'a', 0x00, 'b'};
    char path[128];
    memrpc_path(path, sizeof path, &mnemo__v1__memory_service__descriptor, "StoreMemory");
    memrpc_reply_t r;
    memrpc_raw(&r, addr, path, req, sizeof req, &mnemo__v1__store_memory_response__descriptor);
    if (r.status == GRPC_STATUS_OK) {
        char hex[65];
        memrpc_sha256_hex(hex, "a\0b", 3);
        const Mnemo__V1__StoreMemoryResponse *resp = (const Mnemo__V1__StoreMemoryResponse *)r.msg;
        CHECK(resp != NULL && resp->memory != NULL && strcmp(resp->memory->id, hex) == 0,
              "content \"a\\0b\" accepted: id must be SHA-256 of all 3 bytes (%s), got %s", hex,
              resp != NULL && resp->memory != NULL ? resp->memory->id : "(none)");
    } else {
        EXPECT_STATUS("content with NUL", r.status, r.details, GRPC_STATUS_INVALID_ARGUMENT,
                      "content");
    }
    memrpc_reply_cleanup(&r);
}

static void test_wire__empty_request_is_empty_message(void)
{
    /* No payload bytes at all = every field at its default: id "". */
    char path[128];
    memrpc_path(path, sizeof path, &mnemo__v1__memory_service__descriptor, "GetMemory");
    memrpc_reply_t r;
    call_bytes(&r, path, NULL, 0);
    EXPECT_STATUS("GetMemory with an empty request", r.status, r.details,
                  GRPC_STATUS_INVALID_ARGUMENT, "id");
    memrpc_reply_cleanup(&r);
}

/* ---- methods the server does not serve ------------------------------- */

static void expect_unimplemented(const char *path)
{
    memrpc_reply_t r;
    call_bytes(&r, path, "", 0);
    char what[200];
    snprintf(what, sizeof what, "call of %s", path);
    EXPECT_STATUS(what, r.status, r.details, GRPC_STATUS_UNIMPLEMENTED, NULL);
    CHECK(r.elapsed_ms < FAST_MS, "%s answered in %lld ms (want < %d: no hang to the deadline)",
          path, r.elapsed_ms, FAST_MS);
    memrpc_reply_cleanup(&r);
}

static void test_wire__unknown_methods_unimplemented_fast(void)
{
    expect_unimplemented("/mnemo.v1.MemoryService/NoSuchMethod");
    expect_unimplemented("/mnemo.v1.NoSuchService/StoreMemory");
    expect_unimplemented("/grpc.health.v1.Health/NoSuchMethod");
    expect_unimplemented("/no.such.Service/Method");
    expect_unimplemented("/x");
}

static void test_wire__unknown_methods_keep_coming(void)
{
    /* Many in a row: each one must be answered, so the server keeps a
     * generic request posted after answering one. */
    for (int i = 0; i < 50; i++)
        expect_unimplemented("/mnemo.v1.MemoryService/Nope");
}

/* Calls a RepositoryService method with a request message: a stream up to
 * its first message, a unary call with the message packed here. */
static void repo_call(memrpc_reply_t *r, const char *method, const ProtobufCMessage *req,
                      bool streaming)
{
    const ProtobufCServiceDescriptor *svc = &mnemo__v1__repository_service__descriptor;
    if (streaming) {
        memrpc_stream_first(r, addr, svc, method, req);
        return;
    }
    char path[128];
    memrpc_path(path, sizeof path, svc, method);
    size_t len = protobuf_c_message_get_packed_size(req);
    uint8_t *buf = malloc(len + 1);
    protobuf_c_message_pack(req, buf);
    memrpc_raw(r, addr, path, buf, len, NULL);
    free(buf);
}

static bool is_streaming(const char *method)
{
    return strcmp(method, "SyncRepository") == 0 || strcmp(method, "WatchSync") == 0;
}

/* Not served yet: every method answers UNIMPLEMENTED at once. */
static void expect_repository_unimplemented(void)
{
    const ProtobufCServiceDescriptor *svc = &mnemo__v1__repository_service__descriptor;
    for (unsigned i = 0; i < svc->n_methods; i++) {
        char path[128];
        memrpc_path(path, sizeof path, svc, svc->methods[i].name);
        memrpc_reply_t r;
        if (is_streaming(svc->methods[i].name))
            memrpc_stream_first(&r, addr, svc, svc->methods[i].name, NULL);
        else
            memrpc_raw(&r, addr, path, "", 0, NULL);
        EXPECT_STATUS(path, r.status, r.details, GRPC_STATUS_UNIMPLEMENTED, NULL);
        CHECK(r.elapsed_ms < FAST_MS, "%s answered in %lld ms", path, r.elapsed_ms);
        memrpc_reply_cleanup(&r);
    }
}

/* Served: requests without a valid target get their documented errors. */
static void expect_repository_errors(void)
{
    memrpc_reply_t r;
    Mnemo__V1__SyncRepositoryRequest sync = MNEMO__V1__SYNC_REPOSITORY_REQUEST__INIT;
    sync.repository_path = "/etc"; /* outside the allowed root (the server's cwd) */
    repo_call(&r, "SyncRepository", &sync.base, true);
    EXPECT_STATUS("SyncRepository of /etc", r.status, r.details, GRPC_STATUS_PERMISSION_DENIED,
                  NULL);
    memrpc_reply_cleanup(&r);

    sync.repository_path = "";
    repo_call(&r, "SyncRepository", &sync.base, true);
    EXPECT_STATUS("SyncRepository without a path", r.status, r.details,
                  GRPC_STATUS_INVALID_ARGUMENT, "repository_path");
    memrpc_reply_cleanup(&r);

    sync.repository_path = "bad\xff";
    repo_call(&r, "SyncRepository", &sync.base, true);
    EXPECT_STATUS("SyncRepository path with invalid UTF-8", r.status, r.details,
                  GRPC_STATUS_INVALID_ARGUMENT, "repository_path");
    memrpc_reply_cleanup(&r);

    Mnemo__V1__SearchCodeRequest sc = MNEMO__V1__SEARCH_CODE_REQUEST__INIT;
    sc.query = "anything";
    sc.limit = -1;
    repo_call(&r, "SearchCode", &sc.base, false);
    EXPECT_STATUS("SearchCode limit -1", r.status, r.details, GRPC_STATUS_INVALID_ARGUMENT,
                  "limit");
    memrpc_reply_cleanup(&r);

    Mnemo__V1__ListRepositoriesRequest lr = MNEMO__V1__LIST_REPOSITORIES_REQUEST__INIT;
    lr.page_token = "forged";
    repo_call(&r, "ListRepositories", &lr.base, false);
    EXPECT_STATUS("ListRepositories forged page_token", r.status, r.details,
                  GRPC_STATUS_INVALID_ARGUMENT, "page_token");
    memrpc_reply_cleanup(&r);

    char path[128];
    memrpc_path(path, sizeof path, &mnemo__v1__repository_service__descriptor, "CancelSync");
    memrpc_raw(&r, addr, path, garbage[0].bytes, garbage[0].len, NULL);
    EXPECT_STATUS("CancelSync with unparseable bytes", r.status, r.details,
                  GRPC_STATUS_INVALID_ARGUMENT, NULL);
    memrpc_reply_cleanup(&r);
}

static void test_wire__repository_service(void)
{
    /* RepositoryService answers UNIMPLEMENTED until it lands; from then on
     * GetSyncStatus of a name never synced is NOT_FOUND. Which one this
     * server is decides what else is checked. */
    Mnemo__V1__GetSyncStatusRequest gs = MNEMO__V1__GET_SYNC_STATUS_REQUEST__INIT;
    gs.repository_name = "never-synced-repository";
    memrpc_reply_t r;
    repo_call(&r, "GetSyncStatus", &gs.base, false);
    int st = r.status;
    CHECK(st == GRPC_STATUS_UNIMPLEMENTED || st == GRPC_STATUS_NOT_FOUND,
          "GetSyncStatus of a name never synced: %s \"%s\", want UNIMPLEMENTED (not served) or "
          "NOT_FOUND",
          mnemo_client_code_name(st), r.details);
    memrpc_reply_cleanup(&r);
    if (st == GRPC_STATUS_UNIMPLEMENTED)
        expect_repository_unimplemented();
    else if (st == GRPC_STATUS_NOT_FOUND)
        expect_repository_errors();
}

/* ---- grpc.health.v1.Health --------------------------------------------- */

static void test_wire__health_check(void)
{
    static const char *const served[] = {"", "mnemo.v1.MemoryService",
                                         "mnemo.v1.RepositoryService"};
    for (size_t i = 0; i < 3; i++) {
        int serving = -1;
        char *details = NULL;
        int st = memrpc_health(addr, served[i], &serving, &details);
        char what[96];
        snprintf(what, sizeof what, "Health.Check(\"%s\")", served[i]);
        if (EXPECT_STATUS(what, st, details, GRPC_STATUS_OK, NULL))
            CHECK(serving == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING,
                  "%s: SERVING, got %d", what, serving);
        free(details);
    }
    char *details = NULL;
    int st = memrpc_health(addr, "no.such.Service", NULL, &details);
    EXPECT_STATUS("Health.Check of an unknown service", st, details, GRPC_STATUS_NOT_FOUND, NULL);
    free(details);
}

/* Opens Health.Watch(service) and returns the first status sent, -1 if none. */
static int watch_first(const char *service)
{
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    req.service = (char *)service;
    memrpc_reply_t r;
    memrpc_stream_first(&r, addr, &grpc__health__v1__health__descriptor, "Watch", &req.base);
    int status = -1;
    if (r.status == GRPC_STATUS_OK && r.msg != NULL) {
        status = (int)((const Grpc__Health__V1__HealthCheckResponse *)r.msg)->status;
    } else {
        fprintf(stderr, "Watch(\"%s\"): %s \"%s\"\n", service, mnemo_client_code_name(r.status),
                r.details);
    }
    memrpc_reply_cleanup(&r);
    return status;
}

static void test_wire__health_watch(void)
{
    int st = watch_first("");
    CHECK(st == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING,
          "Watch(\"\") first message SERVING, got %d", st);
    st = watch_first("mnemo.v1.MemoryService");
    CHECK(st == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING,
          "Watch(MemoryService) first message SERVING, got %d", st);
    /* The health protocol: an unknown service is reported as SERVICE_UNKNOWN
     * on the stream (not an error), since it might be registered later. */
    st = watch_first("no.such.Service");
    CHECK(st == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN,
          "Watch(unknown) first message SERVICE_UNKNOWN, got %d", st);
}

/* ---- after all of it --------------------------------------------------- */

static void test_wire__still_serving(void)
{
    char *content = itest_unique("wire test survivor", "");
    Mnemo__V1__StoreMemoryResponse *resp = NULL;
    char *details = NULL;
    int st = memrpc_store(addr, content, NULL, 0, &resp, &details);
    EXPECT_STATUS("store after the wire tests", st, details, GRPC_STATUS_OK, NULL);
    mnemo_client_free_message(resp);
    free(details);
    free(content);
}

int main(void)
{
    addr = itest_start_server();
    CU_pSuite s = mnemo_test_suite("wire");
    MNEMO_TEST(s, test_wire__unparseable_requests);
    MNEMO_TEST(s, test_wire__unknown_fields_are_ignored);
    MNEMO_TEST(s, test_wire__content_with_nul);
    MNEMO_TEST(s, test_wire__empty_request_is_empty_message);
    MNEMO_TEST(s, test_wire__unknown_methods_unimplemented_fast);
    MNEMO_TEST(s, test_wire__unknown_methods_keep_coming);
    MNEMO_TEST(s, test_wire__repository_service);
    MNEMO_TEST(s, test_wire__health_check);
    MNEMO_TEST(s, test_wire__health_watch);
    MNEMO_TEST(s, test_wire__still_serving);
    return itest_run();
}
