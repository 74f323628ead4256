/* client_impl.h - what the files of libmnemo share and the public header
 * hides: the client struct and the call helpers.
 *
 * DESIGN: a client is a channel (plaintext or TLS, client.c), the
 * authorization header its calls send, and a default deadline. Every call
 * sends the header in its initial metadata (mnemo_call_metadata), unary
 * calls and streams alike: a header and not call credentials, because gRPC
 * refuses call credentials on a plaintext channel, and a token must also
 * work over loopback or behind a TLS-terminating sidecar. Every call
 * creates its own pluck completion queue (call.c, stream.c), so calls on
 * one client never wait for each other and gRPC's limit on concurrent
 * pluckers of one queue never applies. Every received status goes through
 * mnemo_call_finish, the one place that turns it into a mnemo_call_error_t
 * (its code is the received grpc_status_code, which codes.h names value for
 * value). Nothing declared here is exported: libmnemo is compiled with
 * -fvisibility=hidden and only client.h's MNEMO_API functions leave it.
 * Threads: see client.h; nothing here takes a lock.
 */
#ifndef MNEMO_CLIENT_IMPL_H
#define MNEMO_CLIENT_IMPL_H

#include <stdatomic.h>
#include <stdint.h>

#include <grpc/grpc.h>

#include "mnemo/client.h"
#include "mnemo/codec.h"

struct mnemo_client {
    grpc_channel *channel;       /* owned; destroyed by mnemo_client_close */
    char *target;                /* owned copy of the target */
    grpc_slice authorization;    /* "Bearer <token>": one reference owned (its bytes are
                                  * wiped when the last one goes); empty: no token */
    _Atomic int64_t deadline_ms; /* default deadline of new calls; 0 = none */
};

/* The initial metadata every call of c sends, into md (at most
 * MNEMO_CALL_METADATA_MAX entries, which must stay valid until the batch
 * that sends them completes; they borrow c's slices, so c must outlive
 * the call). Returns the number of entries: 1 with a token, else 0. */
#define MNEMO_CALL_METADATA_MAX 1
size_t mnemo_call_metadata(grpc_metadata md[MNEMO_CALL_METADATA_MAX], const mnemo_client_t *c);

/* What the receive side of a call collects: initial and trailing metadata,
 * one message, the final status. Embedded; mnemo_recv_init before use and
 * mnemo_recv_cleanup once no batch that points into it is pending. */
typedef struct mnemo_recv {
    grpc_metadata_array initial;
    grpc_metadata_array trailing;
    grpc_byte_buffer *message; /* NULL until a message arrives */
    grpc_status_code status;
    grpc_slice details;
    const char *error_string;
} mnemo_recv_t;

void mnemo_recv_init(mnemo_recv_t *r);
void mnemo_recv_cleanup(mnemo_recv_t *r);

/* Destroys a byte buffer (NULL: no-op): the library's one caller of
 * grpc_byte_buffer_destroy. */
void mnemo_buffer_free(grpc_byte_buffer *buf);

/* The method a call of svc's method number `method` with req goes to:
 * asserts that req is that method's input type, writes the method's path
 * ("/package.Service/Method") into path and returns its descriptor. */
const ProtobufCMethodDescriptor *mnemo_call_method(char path[MNEMO_METHOD_PATH_MAX],
                                                   const ProtobufCServiceDescriptor *svc,
                                                   unsigned method, const ProtobufCMessage *req);

/* A new call of path on c's channel, bound to cq, with c's current default
 * deadline. NULL when gRPC refuses to create it. */
grpc_call *mnemo_call_create(mnemo_client_t *c, grpc_completion_queue *cq, const char *path);

/* A new pluck completion queue, and its shutdown and destruction once every
 * tag bound to it has been plucked. */
grpc_completion_queue *mnemo_cq_create(void);
void mnemo_cq_destroy(grpc_completion_queue *cq);

/* Blocks until the batch with tag completes on cq; returns its success. */
int mnemo_cq_wait(grpc_completion_queue *cq, void *tag);

/* Fills err (when not NULL) with a local failure and returns code (a
 * mnemo_code_t). */
int mnemo_call_fail(mnemo_call_error_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fills err (when not NULL) with OK and an empty message; returns 0. */
int mnemo_call_ok(mnemo_call_error_t *err);

/* Turns the status r received on a call of c into err (when not NULL) and
 * returns its code. A status that says the server could not be reached is
 * marked `unreachable` and its message names the target. */
int mnemo_call_finish(mnemo_call_error_t *err, mnemo_client_t *c, const mnemo_recv_t *r);

#endif
