/* rawcall.h - a minimal gRPC client for integration tests that must reach
 * the server exactly as written: arbitrary method paths (unknown methods,
 * RepositoryService, health), arbitrary request bytes (unparseable ones),
 * and protobuf-c messages that libmnemo might refuse to send (so that the
 * server's own validation is what is tested).
 *
 * DESIGN: one channel per call (tests are not about throughput; this keeps
 * the helper stateless and thread-safe), one pluck completion queue per call,
 * and the batch recommended by GRPC_CORE.md (always with
 * RECV_INITIAL_METADATA). gRPC is initialised on first use; call
 * mnemo_raw_shutdown once at the end of main. This file is the only gRPC user
 * among the test helpers.
 *
 * Threads: every function may be called from any thread concurrently.
 */
#ifndef MNEMO_RAWCALL_H
#define MNEMO_RAWCALL_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

/* gRPC status codes, as numbers, so tests need no gRPC header. */
enum {
    RAW_OK = 0,
    RAW_CANCELLED = 1,
    RAW_UNKNOWN = 2,
    RAW_INVALID_ARGUMENT = 3,
    RAW_DEADLINE_EXCEEDED = 4,
    RAW_NOT_FOUND = 5,
    RAW_ALREADY_EXISTS = 6,
    RAW_PERMISSION_DENIED = 7,
    RAW_RESOURCE_EXHAUSTED = 8,
    RAW_FAILED_PRECONDITION = 9,
    RAW_ABORTED = 10,
    RAW_UNIMPLEMENTED = 12,
    RAW_INTERNAL = 13,
    RAW_UNAVAILABLE = 14
};

/* The outcome of one call. Strings and bytes are the reply's. */
typedef struct mnemo_raw_reply {
    int status;          /* gRPC status code */
    char *details;       /* status message, NUL-terminated, never NULL */
    unsigned char *body; /* first response message, NULL when none */
    size_t body_len;
    long long elapsed_ms; /* wall time of the call */
} mnemo_raw_reply_t;

/* Unary call of method ("/pkg.Service/Method") on target ("host:port") with
 * req_len bytes of req as the request message, deadline timeout_ms. Always
 * fills *out (the transport's failures become their gRPC status); free it
 * with mnemo_raw_reply_cleanup. */
void mnemo_raw_call(mnemo_raw_reply_t *out, const char *target, const char *method, const void *req,
                    size_t req_len, int timeout_ms);

/* Packs req, calls, and when the status is OK unpacks the body as resp_desc
 * into *resp (the caller's, mnemo_raw_free_msg; NULL when the status is not
 * OK or the body does not parse, which sets out->status to RAW_INTERNAL with
 * details saying so). resp may be NULL to ignore the body. */
void mnemo_raw_call_msg(mnemo_raw_reply_t *out, ProtobufCMessage **resp, const char *target,
                        const char *method, const ProtobufCMessage *req,
                        const ProtobufCMessageDescriptor *resp_desc, int timeout_ms);

/* Server-streaming call: reads the first response message into out->body
 * (the status is that of the call: OK when a message came, otherwise the
 * status the server ended the stream with), then cancels the call. */
void mnemo_raw_stream_first(mnemo_raw_reply_t *out, const char *target, const char *method,
                            const void *req, size_t req_len, int timeout_ms);

void mnemo_raw_reply_cleanup(mnemo_raw_reply_t *r);
void mnemo_raw_free_msg(ProtobufCMessage *msg);

/* Releases gRPC (balances the lazy grpc_init). Safe to call when unused. */
void mnemo_raw_shutdown(void);

/* Name of a status code ("INVALID_ARGUMENT"), for failure messages. */
const char *mnemo_raw_status_name(int status);

#endif
