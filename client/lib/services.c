/* services.c - the typed wrappers of libmnemo: one per RPC of
 * mnemo.v1.MemoryService, mnemo.v1.RepositoryService and
 * grpc.health.v1.Health.
 *
 * DESIGN: every wrapper is the generic call (call.c) or stream (stream.c)
 * on the method found by name in the protoc-c service descriptor, so a
 * reordered .proto cannot send a request to the wrong method, and the
 * descriptor checks in the generic layer catch a wrapper with the wrong
 * request type. Threads: any (see client.h).
 */
#include "client_impl.h"

#include <assert.h>

#include "grpc/health/v1/health.pb-c.h"

/* client.h's serving statuses are the health protocol's, value for value:
 * mnemo_client_health_check passes the response's status on as it is. */
#define CHECK_SERVING(name)                                                                        \
    _Static_assert(MNEMO_SERVING_STATUS_##name ==                                                  \
                       (int)GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__##name,       \
                   "client.h: MNEMO_SERVING_STATUS_" #name);
CHECK_SERVING(UNKNOWN)
CHECK_SERVING(SERVING)
CHECK_SERVING(NOT_SERVING)
CHECK_SERVING(SERVICE_UNKNOWN)
#undef CHECK_SERVING

/* Index of the method called name in svc; the wrappers only name methods
 * that exist. */
static unsigned method_index(const ProtobufCServiceDescriptor *svc, const char *name)
{
    const ProtobufCMethodDescriptor *m =
        protobuf_c_service_descriptor_get_method_by_name(svc, name);
    assert(m != NULL);
    return (unsigned)(m - svc->methods);
}

static int memory_call(ProtobufCMessage **out, mnemo_client_t *c, const char *method,
                       const ProtobufCMessage *req, mnemo_call_error_t *err)
{
    const ProtobufCServiceDescriptor *svc = &mnemo__v1__memory_service__descriptor;
    return mnemo_client_call(out, c, svc, method_index(svc, method), req, err);
}

static int repo_call(ProtobufCMessage **out, mnemo_client_t *c, const char *method,
                     const ProtobufCMessage *req, mnemo_call_error_t *err)
{
    const ProtobufCServiceDescriptor *svc = &mnemo__v1__repository_service__descriptor;
    return mnemo_client_call(out, c, svc, method_index(svc, method), req, err);
}

static int repo_stream(mnemo_stream_t **out, mnemo_client_t *c, const char *method,
                       const ProtobufCMessage *req, mnemo_call_error_t *err)
{
    const ProtobufCServiceDescriptor *svc = &mnemo__v1__repository_service__descriptor;
    return mnemo_stream_open(out, c, svc, method_index(svc, method), req, err);
}

/* ---- grpc.health.v1.Health ------------------------------------------ */

int mnemo_client_health_check(mnemo_client_t *c, const char *service, int *serving_status,
                              mnemo_call_error_t *err)
{
    const ProtobufCServiceDescriptor *svc = &grpc__health__v1__health__descriptor;
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    if (service != NULL)
        req.service = (char *)service;
    ProtobufCMessage *msg = NULL;
    int rc = mnemo_client_call(&msg, c, svc, method_index(svc, "Check"), &req.base, err);
    if (rc == MNEMO_CODE_OK) {
        *serving_status = (int)((Grpc__Health__V1__HealthCheckResponse *)msg)->status;
        mnemo_client_free_message(msg);
    }
    return rc;
}

const char *mnemo_client_serving_status_name(int serving_status)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
        &grpc__health__v1__health_check_response__serving_status__descriptor, serving_status);
    return v != NULL ? v->name : "UNKNOWN";
}

/* ---- mnemo.v1.MemoryService ----------------------------------------- */

int mnemo_client_store_memory(Mnemo__V1__StoreMemoryResponse **out, mnemo_client_t *c,
                              const Mnemo__V1__StoreMemoryRequest *req, mnemo_call_error_t *err)
{
    ProtobufCMessage *msg = NULL;
    int rc = memory_call(&msg, c, "StoreMemory", &req->base, err);
    if (rc == MNEMO_CODE_OK)
        *out = (Mnemo__V1__StoreMemoryResponse *)msg;
    return rc;
}

int mnemo_client_get_memory(Mnemo__V1__Memory **out, mnemo_client_t *c,
                            const Mnemo__V1__GetMemoryRequest *req, mnemo_call_error_t *err)
{
    ProtobufCMessage *msg = NULL;
    int rc = memory_call(&msg, c, "GetMemory", &req->base, err);
    if (rc == MNEMO_CODE_OK)
        *out = (Mnemo__V1__Memory *)msg;
    return rc;
}

int mnemo_client_delete_memory(Mnemo__V1__DeleteMemoryResponse **out, mnemo_client_t *c,
                               const Mnemo__V1__DeleteMemoryRequest *req, mnemo_call_error_t *err)
{
    ProtobufCMessage *msg = NULL;
    int rc = memory_call(&msg, c, "DeleteMemory", &req->base, err);
    if (rc == MNEMO_CODE_OK)
        *out = (Mnemo__V1__DeleteMemoryResponse *)msg;
    return rc;
}

int mnemo_client_list_memories(Mnemo__V1__ListMemoriesResponse **out, mnemo_client_t *c,
                               const Mnemo__V1__ListMemoriesRequest *req, mnemo_call_error_t *err)
{
    ProtobufCMessage *msg = NULL;
    int rc = memory_call(&msg, c, "ListMemories", &req->base, err);
    if (rc == MNEMO_CODE_OK)
        *out = (Mnemo__V1__ListMemoriesResponse *)msg;
    return rc;
}

int mnemo_client_retrieve_memory(Mnemo__V1__RetrieveMemoryResponse **out, mnemo_client_t *c,
                                 const Mnemo__V1__RetrieveMemoryRequest *req,
                                 mnemo_call_error_t *err)
{
    ProtobufCMessage *msg = NULL;
    int rc = memory_call(&msg, c, "RetrieveMemory", &req->base, err);
    if (rc == MNEMO_CODE_OK)
        *out = (Mnemo__V1__RetrieveMemoryResponse *)msg;
    return rc;
}

int mnemo_client_search_by_tag(Mnemo__V1__SearchByTagResponse **out, mnemo_client_t *c,
                               const Mnemo__V1__SearchByTagRequest *req, mnemo_call_error_t *err)
{
    ProtobufCMessage *msg = NULL;
    int rc = memory_call(&msg, c, "SearchByTag", &req->base, err);
    if (rc == MNEMO_CODE_OK)
        *out = (Mnemo__V1__SearchByTagResponse *)msg;
    return rc;
}

/* ---- mnemo.v1.RepositoryService ------------------------------------- */

int mnemo_client_sync_repository(mnemo_stream_t **out, mnemo_client_t *c,
                                 const Mnemo__V1__SyncRepositoryRequest *req,
                                 mnemo_call_error_t *err)
{
    return repo_stream(out, c, "SyncRepository", &req->base, err);
}

int mnemo_client_watch_sync(mnemo_stream_t **out, mnemo_client_t *c,
                            const Mnemo__V1__WatchSyncRequest *req, mnemo_call_error_t *err)
{
    return repo_stream(out, c, "WatchSync", &req->base, err);
}

int mnemo_stream_next_sync_event(Mnemo__V1__SyncEvent **out, mnemo_stream_t *s,
                                 mnemo_call_error_t *err)
{
    ProtobufCMessage *msg = NULL;
    int rc = mnemo_stream_next(&msg, s, err);
    if (rc == 1) {
        assert(msg->descriptor == &mnemo__v1__sync_event__descriptor);
        *out = (Mnemo__V1__SyncEvent *)msg;
    }
    return rc;
}

int mnemo_client_get_sync_status(Mnemo__V1__SyncStatus **out, mnemo_client_t *c,
                                 const Mnemo__V1__GetSyncStatusRequest *req,
                                 mnemo_call_error_t *err)
{
    ProtobufCMessage *msg = NULL;
    int rc = repo_call(&msg, c, "GetSyncStatus", &req->base, err);
    if (rc == MNEMO_CODE_OK)
        *out = (Mnemo__V1__SyncStatus *)msg;
    return rc;
}

int mnemo_client_cancel_sync(Mnemo__V1__SyncStatus **out, mnemo_client_t *c,
                             const Mnemo__V1__CancelSyncRequest *req, mnemo_call_error_t *err)
{
    ProtobufCMessage *msg = NULL;
    int rc = repo_call(&msg, c, "CancelSync", &req->base, err);
    if (rc == MNEMO_CODE_OK)
        *out = (Mnemo__V1__SyncStatus *)msg;
    return rc;
}

int mnemo_client_list_repositories(Mnemo__V1__ListRepositoriesResponse **out, mnemo_client_t *c,
                                   const Mnemo__V1__ListRepositoriesRequest *req,
                                   mnemo_call_error_t *err)
{
    ProtobufCMessage *msg = NULL;
    int rc = repo_call(&msg, c, "ListRepositories", &req->base, err);
    if (rc == MNEMO_CODE_OK)
        *out = (Mnemo__V1__ListRepositoriesResponse *)msg;
    return rc;
}

int mnemo_client_delete_repository(Mnemo__V1__DeleteRepositoryResponse **out, mnemo_client_t *c,
                                   const Mnemo__V1__DeleteRepositoryRequest *req,
                                   mnemo_call_error_t *err)
{
    ProtobufCMessage *msg = NULL;
    int rc = repo_call(&msg, c, "DeleteRepository", &req->base, err);
    if (rc == MNEMO_CODE_OK)
        *out = (Mnemo__V1__DeleteRepositoryResponse *)msg;
    return rc;
}

int mnemo_client_search_code(Mnemo__V1__SearchCodeResponse **out, mnemo_client_t *c,
                             const Mnemo__V1__SearchCodeRequest *req, mnemo_call_error_t *err)
{
    ProtobufCMessage *msg = NULL;
    int rc = repo_call(&msg, c, "SearchCode", &req->base, err);
    if (rc == MNEMO_CODE_OK)
        *out = (Mnemo__V1__SearchCodeResponse *)msg;
    return rc;
}
