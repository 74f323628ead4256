/* call.h - one gRPC call on the server: its state, its replies, its stream.
 *
 * DESIGN: a completion-queue tag is a mnemo_tag_t whose callback the CQ
 * threads run with the event's success flag. A mnemo_call_t wraps one
 * grpc_call and is reference counted (atomically: two tags of one call can
 * complete at once on two CQ threads): one reference belongs to the owner
 * (the handler, then whoever it hands the call to), one to each batch in
 * flight. The call is freed when the last reference goes.
 *
 * Unary calls end with exactly one mnemo_call_reply or mnemo_call_finish,
 * which also gives up the owner's reference. Server-streaming calls start
 * with a RECV_CLOSE_ON_SERVER batch that turns mnemo_call_cancelled() true
 * when the client cancels or the deadline passes; mnemo_call_send queues the
 * latest message: it is sent at once when no send is in flight, otherwise it
 * replaces the queued one (a slow reader gets fewer, fresher messages and
 * never blocks the sender); mnemo_call_finish sends the status after the
 * queued message. Exactly one SEND_MESSAGE is in flight per call, always.
 *
 * Threads: every function may be called from any thread; send-side batches
 * are serialised by the call's mutex, which is never held while waiting.
 */
#ifndef MNEMO_CALL_H
#define MNEMO_CALL_H

#include <stdbool.h>

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include "auth.h"
#include "mnemo/status.h"

typedef struct mnemo_tag {
    void (*fn)(struct mnemo_tag *tag, bool ok);
} mnemo_tag_t;

typedef struct mnemo_call mnemo_call_t;
typedef struct mnemo_metrics mnemo_metrics_t; /* metrics.h */

/* A handler runs on a CQ thread with the decoded request (borrowed for the
 * call) and the context the server was given. */
typedef void (*mnemo_handler_fn)(mnemo_call_t *call, const ProtobufCMessage *request, void *ctx);

/* One row of the method table: (service, method name) -> handler. */
typedef struct mnemo_method {
    const ProtobufCServiceDescriptor *service;
    const char *name;
    bool server_streaming;
    mnemo_handler_fn handler;
    /* Bidirectional streams: the handler gets a NULL request and reads
     * with mnemo_call_read. */
    bool client_streaming;
    /* Serve under this service name instead of service->name (the same
     * messages under two names, as reflection v1 and v1alpha). */
    const char *service_name;
    /* Someone is waiting on these (memory operations, SearchCode): while
     * they arrive, syncs pace themselves (pace.h). */
    bool interactive;
    /* Who may call it (auth.h): open (health, reflection), read, write or
     * admin. A row without a role stops mnemod at start. */
    mnemo_role_t role;
} mnemo_method_t;

/* The service name m is served under: service_name, else the descriptor's. */
static inline const char *mnemo_method_service(const mnemo_method_t *m)
{
    return m->service_name != NULL ? m->service_name : m->service->name;
}

/* Runs on a CQ thread for a call the server accepted: wraps it, decodes its
 * payload with the method's input descriptor (a payload that does not parse
 * is answered INVALID_ARGUMENT), starts the cancellation watch of streaming
 * calls and runs the handler. Takes over call, md and payload. Every call
 * is reported to metrics (NULL: none) at its start, per message and at
 * its end, when its last reference goes (metrics.h): a call that ends
 * before its status goes out is reported DEADLINE_EXCEEDED when deadline
 * (the call's, as gRPC gave it) had passed then, else CANCELLED. who names
 * the credential auth accepted, for the access log (NULL: none). */
void mnemo_call_dispatch(const mnemo_method_t *method, const ProtobufCMethodDescriptor *desc,
                         grpc_call *call, gpr_timespec deadline, grpc_metadata_array *md,
                         grpc_byte_buffer *payload, mnemo_metrics_t *metrics, const char *who,
                         void *ctx);

/* Answers a call of method the server accepted with st and message before
 * any handler runs (a refused credential). Takes over call, md and payload
 * (NULL: none); reported to metrics as dispatch does. */
void mnemo_call_reject(const mnemo_method_t *method, grpc_call *call, gpr_timespec deadline,
                       grpc_metadata_array *md, grpc_byte_buffer *payload, mnemo_metrics_t *metrics,
                       mnemo_status_t st, const char *message);

/* Answers a call of a method nobody registered with UNIMPLEMENTED, naming
 * the method. Takes over call and details. Access-logged, not counted. */
void mnemo_call_reject_unknown(grpc_call *call, grpc_call_details *details, grpc_metadata_array *md,
                               mnemo_metrics_t *metrics);

/* Unary success: sends resp (borrowed) with status OK; gives up the owner's
 * reference. */
void mnemo_call_reply(mnemo_call_t *call, const ProtobufCMessage *resp);

/* Ends the call with st (its gRPC code) and message (borrowed, may be NULL)
 * after any queued stream message; gives up the owner's reference. A second
 * finish only gives up the reference. */
void mnemo_call_finish(mnemo_call_t *call, mnemo_status_t st, const char *message);

/* Queues msg (borrowed; encoded at once) as the stream's latest message.
 * Dropped when the call is finishing or broken. */
void mnemo_call_send(mnemo_call_t *call, const ProtobufCMessage *msg);

/* Pull-model streaming, for messages that accumulate (a sync event
 * carries the skips found since the last event actually sent): tells the
 * call that there is something new. When no send is in flight - now, or as
 * soon as the current one completes - the call runs produce(ctx) to build
 * the next message (an encoded buffer the call takes over, or NULL for
 * nothing), so a slow reader gets fewer messages, each with everything
 * since the previous one. produce runs with the call's mutex held, on the
 * notifying thread or a CQ thread: it may take its own locks, never call
 * back into the call. Ignored once the call is finishing or broken; a
 * finish waits for a pending produce. */
typedef grpc_byte_buffer *(*mnemo_produce_fn)(void *ctx);
void mnemo_call_notify(mnemo_call_t *call, mnemo_produce_fn produce, void *ctx);

/* Detaches the producer: after it returns (having waited for a produce in
 * progress), produce is never called again. Call it before freeing what
 * the producer's ctx points to. */
void mnemo_call_stop_produce(mnemo_call_t *call);

/* True once the client cancelled, the deadline passed or a send failed. */
bool mnemo_call_cancelled(const mnemo_call_t *call);

/* Cancels the call with st and message (sent to the client; safe from any
 * thread until the last reference is gone). */
void mnemo_call_cancel(mnemo_call_t *call, mnemo_status_t st, const char *message);

/* Arranges for fn(ctx, call) to run once, on a CQ thread, when the call's
 * RECV_CLOSE_ON_SERVER completes (client gone or call over). Streaming calls
 * only. Returns false, and fn will never run, when the call has already
 * closed. fn runs without any lock of the call held. */
bool mnemo_call_on_close(mnemo_call_t *call, void (*fn)(void *ctx, mnemo_call_t *call), void *ctx);

/* Bidirectional streams: reads the next request and runs fn(call, msg,
 * ctx) on a CQ thread with it decoded (borrowed for the call), or with NULL
 * when the client half-closed, the call broke or the bytes did not parse
 * (then mnemo_call_cancelled or a finish tells which). One read at a time. */
typedef void (*mnemo_read_fn)(mnemo_call_t *call, const ProtobufCMessage *msg, void *ctx);
void mnemo_call_read(mnemo_call_t *call, mnemo_read_fn fn, void *ctx);

/* Bidirectional streams: sends msg (borrowed; encoded at once) without
 * coalescing and runs done(call, ok, ctx) once it is out. No other send may
 * be in flight. */
typedef void (*mnemo_write_fn)(mnemo_call_t *call, bool ok, void *ctx);
void mnemo_call_write(mnemo_call_t *call, const ProtobufCMessage *msg, mnemo_write_fn done,
                      void *ctx);

/* The completion queue's gate, for the one server of the process. Calls
 * can still run callbacks that start batches (a status after a close, a
 * heartbeat) while the queue drains, and gRPC core aborts on a batch
 * started on a queue that is shut down. mnemo_call_close_queue makes
 * every later batch a no-op (dropping its reference), waits for batches
 * being started, then shuts cq down; mnemo_call_open_queue (at start)
 * opens the gate. Main thread. */
void mnemo_call_open_queue(void);
void mnemo_call_close_queue(grpc_completion_queue *cq);

void mnemo_call_ref(mnemo_call_t *call);
void mnemo_call_unref(mnemo_call_t *call);

/* Heartbeats, so that a proxy's read timeout never ends a quiet stream: a
 * ticker thread re-runs the producer of each registered pull-model stream
 * (mnemo_call_notify) once nothing was sent for heartbeat_ms, so the
 * client gets the latest message again. Between two messages there are
 * at most 1.25 heartbeats. */
typedef struct mnemo_ticker mnemo_ticker_t;

/* Starts the ticker thread; NULL when heartbeat_ms is 0 (no heartbeats)
 * or the thread cannot start (logged). */
mnemo_ticker_t *mnemo_ticker_start(int heartbeat_ms);

/* Stops the thread: no heartbeat starts a batch after it returns. Call it
 * once the server has drained, before its completion queue shuts down (a
 * batch started on a queue that is shut down aborts in gRPC core). NULL:
 * no-op; idempotent. */
void mnemo_ticker_halt(mnemo_ticker_t *t);

/* Halts t if needed and frees it (NULL: no-op), once every call has closed
 * (the completion queue drained). */
void mnemo_ticker_stop(mnemo_ticker_t *t);

/* Puts a streaming call on t's list until it closes (t NULL: no-op). */
void mnemo_call_heartbeat(mnemo_call_t *call, mnemo_ticker_t *t);

#endif
