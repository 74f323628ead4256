/* memrpc.c - typed calls for integration tests; see memrpc.h. */
#include "memrpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

void memrpc_path(char *buf, size_t size, const ProtobufCServiceDescriptor *svc, const char *name)
{
    snprintf(buf, size, "/%s/%s", svc->name, name);
}

int memrpc_call(const ProtobufCServiceDescriptor *svc, const char *addr, const char *name,
                const ProtobufCMessage *req, ProtobufCMessage **resp, char **details)
{
    const ProtobufCMethodDescriptor *m =
        protobuf_c_service_descriptor_get_method_by_name(svc, name);
    if (m == NULL) {
        fprintf(stderr, "memrpc: %s has no method %s\n", svc->name, name);
        abort();
    }
    char path[256];
    memrpc_path(path, sizeof path, svc, name);
    mnemo_raw_reply_t rep;
    mnemo_raw_call_msg(&rep, resp, addr, path, req, m->output, MEMRPC_TIMEOUT_MS);
    int status = rep.status;
    if (details != NULL) {
        *details = rep.details;
        rep.details = NULL;
    }
    mnemo_raw_reply_cleanup(&rep);
    return status;
}

int memrpc_mem(const char *addr, const char *name, const ProtobufCMessage *req,
               ProtobufCMessage **resp, char **details)
{
    return memrpc_call(&mnemo__v1__memory_service__descriptor, addr, name, req, resp, details);
}

int memrpc_store(const char *addr, const char *content, char **tags, size_t n_tags,
                 Mnemo__V1__StoreMemoryResponse **resp, char **details)
{
    Mnemo__V1__StoreMemoryRequest req = MNEMO__V1__STORE_MEMORY_REQUEST__INIT;
    req.content = (char *)content;
    req.tags = tags;
    req.n_tags = n_tags;
    return memrpc_mem(addr, "StoreMemory", &req.base, (ProtobufCMessage **)resp, details);
}

int memrpc_get(const char *addr, const char *id, Mnemo__V1__Memory **resp, char **details)
{
    Mnemo__V1__GetMemoryRequest req = MNEMO__V1__GET_MEMORY_REQUEST__INIT;
    req.id = (char *)id;
    return memrpc_mem(addr, "GetMemory", &req.base, (ProtobufCMessage **)resp, details);
}

int memrpc_retrieve(const char *addr, const char *query, int limit,
                    Mnemo__V1__RetrieveMemoryResponse **resp, char **details)
{
    Mnemo__V1__RetrieveMemoryRequest req = MNEMO__V1__RETRIEVE_MEMORY_REQUEST__INIT;
    req.query = (char *)query;
    req.limit = limit;
    return memrpc_mem(addr, "RetrieveMemory", &req.base, (ProtobufCMessage **)resp, details);
}

int memrpc_health(const char *addr, const char *service, int *serving_status, char **details)
{
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    req.service = (char *)service;
    Grpc__Health__V1__HealthCheckResponse *resp = NULL;
    int st = memrpc_call(&grpc__health__v1__health__descriptor, addr, "Check", &req.base,
                         (ProtobufCMessage **)&resp, details);
    if (st == RAW_OK && serving_status != NULL)
        *serving_status = (int)resp->status;
    mnemo_raw_free_msg((ProtobufCMessage *)resp);
    return st;
}

void memrpc_sha256_hex(char hex[65], const void *data, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32)
        abort();
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}
