/* memrpc.h - typed MemoryService and Health calls over rawcall, for the
 * integration tests that must reach the server without libmnemo in between
 * (validation, wire errors, crash and restart checks).
 *
 * DESIGN: a method is looked up by name in the protoc-c service descriptor,
 * like the server and libmnemo do, so the path and the response type always
 * match the .proto. Responses are protobuf-c messages owned by the caller
 * (mnemo_raw_free_msg).
 *
 * Threads: every function may be called from any thread concurrently.
 */
#ifndef MNEMO_MEMRPC_H
#define MNEMO_MEMRPC_H

#include <stddef.h>

#include "grpc/health/v1/health.pb-c.h"
#include "mnemo/v1/memory.pb-c.h"
#include "mnemo/v1/repository.pb-c.h"
#include "rawcall.h"

/* Default deadline of a test call. */
#define MEMRPC_TIMEOUT_MS 15000

/* Calls method `name` of service svc with req. Returns the gRPC status; on
 * OK *resp (when resp is not NULL) is the decoded response, else NULL.
 * *details (when not NULL) is the status message (the caller's, free()). */
int memrpc_call(const ProtobufCServiceDescriptor *svc, const char *addr, const char *name,
                const ProtobufCMessage *req, ProtobufCMessage **resp, char **details);

/* MemoryService shorthand for memrpc_call. */
int memrpc_mem(const char *addr, const char *name, const ProtobufCMessage *req,
               ProtobufCMessage **resp, char **details);

/* StoreMemory of content with n_tags tags (tags may be NULL when 0). */
int memrpc_store(const char *addr, const char *content, char **tags, size_t n_tags,
                 Mnemo__V1__StoreMemoryResponse **resp, char **details);

/* GetMemory of id. */
int memrpc_get(const char *addr, const char *id, Mnemo__V1__Memory **resp, char **details);

/* RetrieveMemory of query with limit (no tag filter, min_score 0). */
int memrpc_retrieve(const char *addr, const char *query, int limit,
                    Mnemo__V1__RetrieveMemoryResponse **resp, char **details);

/* Health Check of service; *serving_status set on OK. */
int memrpc_health(const char *addr, const char *service, int *serving_status, char **details);

/* Lowercase hex SHA-256 of len bytes of data into hex (65 bytes with NUL). */
void memrpc_sha256_hex(char hex[65], const void *data, size_t len);

/* "/<service full name>/<method>" of svc's method name into buf. */
void memrpc_path(char *buf, size_t size, const ProtobufCServiceDescriptor *svc, const char *name);

#endif
