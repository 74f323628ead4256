/* memrpc.h - calls for the integration tests that must reach the server
 * exactly as written, over libmnemo's generic calls: typed MemoryService and
 * Health calls, any method by name, arbitrary bytes on arbitrary paths
 * (unparseable requests, unknown methods and services), and the first
 * message of a server stream. libmnemo does not validate requests, so what
 * these tests check is the server's own validation.
 *
 * DESIGN: each call opens a libmnemo client on the address, makes the
 * call and closes the client, like a fresh process would: no connection
 * stays open to hold up a server's drain or to carry a dead server's
 * reconnect backoff over to the next one. memrpc_shutdown releases what
 * is kept between calls; itest_run calls it.
 * A method is looked up by name in the protoc-c service descriptor, like
 * the server and libmnemo do, so the path and the response type always
 * match the .proto. Responses are protobuf-c messages owned by the caller
 * (mnemo_client_free_message). Status codes are gRPC's (GRPC_STATUS_*).
 *
 * Threads: every function may be called from any thread concurrently,
 * except memrpc_shutdown (once, after every call has returned).
 */
#ifndef MNEMO_MEMRPC_H
#define MNEMO_MEMRPC_H

#include <stddef.h>

#include <grpc/status.h>

#include "mnemo/client_testing.h"

/* Deadline of a test call. */
#define MEMRPC_TIMEOUT_MS 15000

/* The outcome of memrpc_raw or memrpc_stream_first; memrpc_reply_cleanup
 * frees it. */
typedef struct memrpc_reply {
    int status;        /* gRPC status code */
    char details[512]; /* status message, "" on OK (libmnemo's text when the server sent none) */
    ProtobufCMessage *msg; /* decoded response when one was asked for and came; the reply's */
    long long elapsed_ms;  /* wall time of the call, measured around it */
} memrpc_reply_t;

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

/* Unary call of path ("/pkg.Service/Method", served or not) with len bytes
 * of bytes, unencoded, as the request. When resp_desc is not NULL an OK
 * response is decoded as one into out->msg (INTERNAL when it does not
 * parse or is missing). Always fills *out. */
void memrpc_raw(memrpc_reply_t *out, const char *addr, const char *path, const void *bytes,
                size_t len, const ProtobufCMessageDescriptor *resp_desc);

/* Server-streaming method `name` of svc with req (NULL: the method's input
 * with every field at its default, i.e. no bytes on the wire): reads the
 * first message into out->msg, then cancels the call. out->status is OK
 * when a message came, otherwise the status the server ended the stream
 * with. Always fills *out. */
void memrpc_stream_first(memrpc_reply_t *out, const char *addr,
                         const ProtobufCServiceDescriptor *svc, const char *name,
                         const ProtobufCMessage *req);

void memrpc_reply_cleanup(memrpc_reply_t *r);

/* Closes every client memrpc opened. Safe to call when none was. */
void memrpc_shutdown(void);

/* Lowercase hex SHA-256 of len bytes of data into hex (65 bytes with NUL):
 * computed here, independently of the server, to check its ids. */
void memrpc_sha256_hex(char hex[65], const void *data, size_t len);

/* "/<service full name>/<method>" of svc's method name into buf. */
void memrpc_path(char *buf, size_t size, const ProtobufCServiceDescriptor *svc, const char *name);

#endif
