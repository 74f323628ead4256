/* call.c - per-call state, unary replies and coalescing server streams.
 *
 * DESIGN: see call.h. References: the owner's (created with the call) plus
 * one per batch in flight, each released by that batch's tag. Stream state
 * (queued message, send in flight, status pending) lives under `mu`; the
 * mutex is held around grpc_call_start_batch only, which never waits.
 * Details strings sent to clients are copied into slices that gRPC owns once
 * the batch starts.
 *
 * Threads: any. Tag callbacks run on CQ threads.
 */
#include "call.h"

#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/slice.h>
#include <grpc/status.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "bytes.h"
#include "log.h"
#include "metrics.h"
#include "mnemo/codec.h"
#include "thread.h"

/* codes.h re-exports gRPC's codes value for value: the casts below rely on it. */
#define CHECK_CODE(name, value)                                                                    \
    _Static_assert(MNEMO_CODE_##name == (int)GRPC_STATUS_##name, "codes.h: " #name);
MNEMO_CODE_TABLE(CHECK_CODE)
#undef CHECK_CODE

#define CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

struct mnemo_call {
    grpc_call *call;
    grpc_metadata_array md;
    const ProtobufCMethodDescriptor *desc; /* NULL for unknown methods */
    bool streaming;                        /* close watched from the start */
    atomic_int refs;
    atomic_bool cancelled;
    gpr_timespec deadline;     /* GPR_CLOCK_MONOTONIC; infinite: none */
    atomic_bool past_deadline; /* when cancelled was first set (note_cancel) */

    mnemo_tag_t close_tag;  /* RECV_CLOSE_ON_SERVER */
    mnemo_tag_t send_tag;   /* one SEND_MESSAGE in flight at most */
    mnemo_tag_t status_tag; /* SEND_STATUS_FROM_SERVER (+ unary message) */
    mnemo_tag_t recv_tag;   /* RECV_MESSAGE of bidirectional streams */
    grpc_byte_buffer *recv_buf;
    mnemo_read_fn read_fn;
    void *read_ctx;
    int close_cancelled; /* written by gRPC when close_tag completes */

    pthread_mutex_t mu;                              /* guards everything below */
    bool closed;                                     /* close_tag completed */
    void (*on_close)(void *ctx, mnemo_call_t *call); /* run once at close */
    void *on_close_ctx;
    bool initial_md_sent;        /* SEND_INITIAL_METADATA started */
    bool sending;                /* a SEND_MESSAGE is in flight */
    bool finishing;              /* finish was called */
    bool status_started;         /* SEND_STATUS_FROM_SERVER started */
    grpc_byte_buffer *in_flight; /* buffer of the send in flight */
    grpc_byte_buffer *queued;    /* latest message waiting for the send */
    mnemo_produce_fn produce;    /* pull model: builds the next message */
    void *produce_ctx;
    bool dirty;                /* produce has something new to send */
    grpc_byte_buffer *reply;   /* unary reply in the status batch */
    mnemo_write_fn write_done; /* mnemo_call_write's callback */
    void *write_ctx;
    grpc_status_code code;
    char *details;
    atomic_int cancel_code; /* mnemo_call_cancel's code; -1: none */

    mnemo_call_obs_t obs; /* metrics and the access log (metrics.h) */
    int64_t last_send_ns; /* when the latest SEND_MESSAGE started */

    /* Under the ticker's mutex: the heartbeat list (mnemo_call_heartbeat). */
    mnemo_ticker_t *ticker;
    mnemo_call_t *tick_prev, *tick_next;
};

struct mnemo_ticker {
    int64_t heartbeat_ns;
    pthread_t thread;
    pthread_mutex_t mu; /* guards what follows and every call's tick_* */
    pthread_cond_t wake;
    bool stop;
    mnemo_call_t *head; /* each holds a reference */
};

static void on_close(mnemo_tag_t *tag, bool ok);
static void on_send(mnemo_tag_t *tag, bool ok);
static void on_status(mnemo_tag_t *tag, bool ok);
static void on_recv(mnemo_tag_t *tag, bool ok);
static void ticker_remove(mnemo_call_t *call);

static mnemo_call_t *call_create(grpc_call *gcall, grpc_metadata_array *md,
                                 const ProtobufCMethodDescriptor *desc, gpr_timespec deadline)
{
    mnemo_call_t *call = mnemo_xcalloc(1, sizeof *call);
    call->call = gcall;
    call->deadline = gpr_convert_clock_type(deadline, GPR_CLOCK_MONOTONIC);
    call->md = *md;
    grpc_metadata_array_init(md);
    call->desc = desc;
    atomic_init(&call->refs, 1);
    atomic_init(&call->cancelled, false);
    atomic_init(&call->past_deadline, false);
    atomic_init(&call->cancel_code, -1);
    call->close_tag.fn = on_close;
    call->send_tag.fn = on_send;
    call->status_tag.fn = on_status;
    call->recv_tag.fn = on_recv;
    pthread_mutex_init(&call->mu, NULL);
    return call;
}

/* A call cancelled at most this long before its deadline ended by it. The
 * client's gRPC cancels the call at its own deadline, which falls before
 * the server's by the time the request took to arrive (the deadline
 * travels as a timeout), so its RST_STREAM often beats the server's timer:
 * on loopback, 29 and then 42 of 50 Python Watch streams with a 200 ms
 * deadline were seen cancelled before it, by up to 9.4 ms. */
#define DEADLINE_SLACK_MS 100

/* Marks the call broken. The first time, it notes whether the deadline
 * had (nearly) passed: gRPC core ends a call at its deadline exactly as it
 * ends one the client cancelled (recv_close_on_server's cancelled=1,
 * nothing more), so the clock then is what tells the two apart. A unary
 * call sees its close only once its status went out: one the client
 * cancelled early, whose handler outlived the deadline, reads as past its
 * deadline. */
static void note_cancel(mnemo_call_t *call)
{
    if (atomic_exchange(&call->cancelled, true))
        return;
    gpr_timespec near = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                     gpr_time_from_millis(DEADLINE_SLACK_MS, GPR_TIMESPAN));
    atomic_store(&call->past_deadline, gpr_time_cmp(near, call->deadline) >= 0);
}

/* The code the call ended with, as its client learnt it: a cancel's;
 * DEADLINE_EXCEEDED or CANCELLED when the call ended before its status
 * went out, as the deadline had passed or not when that was seen (the
 * codes gRPC and go-grpc-prometheus report); else the status sent. */
static mnemo_code_t final_code(const mnemo_call_t *call)
{
    int cancelled = atomic_load(&((mnemo_call_t *)call)->cancel_code);
    if (cancelled >= 0)
        return (mnemo_code_t)cancelled;
    if (call->close_cancelled || !call->status_started)
        return atomic_load(&((mnemo_call_t *)call)->past_deadline) ? MNEMO_CODE_DEADLINE_EXCEEDED
                                                                   : MNEMO_CODE_CANCELLED;
    return (mnemo_code_t)call->code;
}

/* Reports the end of the call to the metrics and the access log. */
static void call_ended(mnemo_call_t *call)
{
    mnemo_metrics_t *m = call->obs.metrics;
    if (m == NULL)
        return;
    char *peer = mnemo_metrics_wants_peer(m) ? grpc_call_get_peer(call->call) : NULL;
    mnemo_metrics_call_end(&call->obs, final_code(call), peer);
    gpr_free(peer);
}

static void call_free(mnemo_call_t *call)
{
    call_ended(call);
    grpc_byte_buffer_destroy(call->queued);
    grpc_byte_buffer_destroy(call->in_flight);
    grpc_byte_buffer_destroy(call->reply);
    free(call->details);
    grpc_metadata_array_destroy(&call->md);
    grpc_call_unref(call->call);
    pthread_mutex_destroy(&call->mu);
    free(call);
}

void mnemo_call_ref(mnemo_call_t *call)
{
    atomic_fetch_add_explicit(&call->refs, 1, memory_order_relaxed);
}

void mnemo_call_unref(mnemo_call_t *call)
{
    if (call != NULL && atomic_fetch_sub_explicit(&call->refs, 1, memory_order_acq_rel) == 1)
        call_free(call);
}

/* The queue gate (mnemo_call_close_queue): batches being started, and
 * whether the queue is closing. Sequentially consistent, so that a batch
 * either sees the queue closing or is counted before the close waits. */
static atomic_int batches_starting;
static atomic_bool queue_closing;

void mnemo_call_open_queue(void)
{
    atomic_store(&queue_closing, false);
}

void mnemo_call_close_queue(grpc_completion_queue *cq)
{
    atomic_store(&queue_closing, true);
    while (atomic_load(&batches_starting) > 0)
        sched_yield();
    grpc_completion_queue_shutdown(cq);
}

/* Starts ops with tag holding a reference; a refusal is a bug in this
 * file. False when the queue gate dropped the batch: its tag never runs,
 * and the caller undoes what it set up for it. */
static bool start_batch(mnemo_call_t *call, const grpc_op *ops, size_t n, mnemo_tag_t *tag)
{
    mnemo_call_ref(call);
    atomic_fetch_add(&batches_starting, 1);
    if (atomic_load(&queue_closing)) {
        /* The server drained: this call is over for gRPC (a status after
         * its close, a heartbeat), and a batch on a queue that is shut
         * down aborts in gRPC core. */
        atomic_fetch_sub(&batches_starting, 1);
        note_cancel(call);
        mnemo_call_unref(call);
        return false;
    }
    grpc_call_error e = grpc_call_start_batch(call->call, ops, n, tag, NULL);
    atomic_fetch_sub(&batches_starting, 1);
    if (e != GRPC_CALL_OK) {
        mnemo_log(MNEMO_LOG_ERROR, "grpc_call_start_batch refused (%d)", (int)e);
        assert(!"grpc_call_start_batch refused");
        mnemo_call_unref(call);
    }
    return true;
}

static void on_close(mnemo_tag_t *tag, bool ok)
{
    mnemo_call_t *call = CONTAINER_OF(tag, mnemo_call_t, close_tag);
    if (!ok || call->close_cancelled)
        note_cancel(call);
    pthread_mutex_lock(&call->mu);
    call->closed = true;
    void (*fn)(void *, mnemo_call_t *) = call->on_close;
    bool ticking = call->ticker != NULL; /* set once, before closed */
    pthread_mutex_unlock(&call->mu);
    if (ticking)
        ticker_remove(call);
    if (fn != NULL)
        fn(call->on_close_ctx, call);
    mnemo_call_unref(call);
}

bool mnemo_call_cancelled(const mnemo_call_t *call)
{
    return atomic_load(&((mnemo_call_t *)call)->cancelled);
}

bool mnemo_call_on_close(mnemo_call_t *call, void (*fn)(void *ctx, mnemo_call_t *call), void *ctx)
{
    pthread_mutex_lock(&call->mu);
    bool open = !call->closed;
    if (open) {
        call->on_close_ctx = ctx;
        call->on_close = fn;
    }
    pthread_mutex_unlock(&call->mu);
    return open;
}

/* Adds SEND_INITIAL_METADATA to ops the first time; returns the op count. */
static size_t add_initial_md_locked(mnemo_call_t *call, grpc_op *ops)
{
    if (call->initial_md_sent)
        return 0;
    call->initial_md_sent = true;
    memset(&ops[0], 0, sizeof ops[0]);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    return 1;
}

static void start_send_locked(mnemo_call_t *call, grpc_byte_buffer *buf)
{
    grpc_op ops[2];
    size_t n = add_initial_md_locked(call, ops);
    memset(&ops[n], 0, sizeof ops[n]);
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n].data.send_message.send_message = buf;
    call->in_flight = buf;
    call->sending = true;
    call->last_send_ns = mnemo_clock_ns();
    if (!start_batch(call, ops, n + 1, &call->send_tag)) {
        call->in_flight = NULL;
        call->sending = false;
        grpc_byte_buffer_destroy(buf);
    }
}

/* Sends the status (and, for unary calls, the reply) with RECV_CLOSE for
 * unary calls, whose close was not watched from the start. */
static void start_status_locked(mnemo_call_t *call, bool unary)
{
    grpc_op ops[4];
    size_t n = add_initial_md_locked(call, ops);
    if (call->reply != NULL) {
        memset(&ops[n], 0, sizeof ops[n]);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = call->reply;
    }
    grpc_slice details = grpc_slice_from_copied_string(call->details ? call->details : "");
    memset(&ops[n], 0, sizeof ops[n]);
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = call->code;
    ops[n++].data.send_status_from_server.status_details = &details;
    if (unary) {
        memset(&ops[n], 0, sizeof ops[n]);
        ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
        ops[n++].data.recv_close_on_server.cancelled = &call->close_cancelled;
    }
    /* Only a status that went out counts (final_code: CANCELLED else). */
    call->status_started = start_batch(call, ops, n, &call->status_tag);
    grpc_slice_unref(details);
}

static void on_send(mnemo_tag_t *tag, bool ok)
{
    mnemo_call_t *call = CONTAINER_OF(tag, mnemo_call_t, send_tag);
    pthread_mutex_lock(&call->mu);
    if (ok)
        mnemo_metrics_call_sent(&call->obs, grpc_byte_buffer_length(call->in_flight));
    grpc_byte_buffer_destroy(call->in_flight);
    call->in_flight = NULL;
    call->sending = false;
    if (!ok) {
        /* The stream is gone (client cancelled or status already out). */
        note_cancel(call);
        grpc_byte_buffer_destroy(call->queued);
        call->queued = NULL;
        call->dirty = false;
    }
    mnemo_write_fn done = call->write_done;
    void *done_ctx = call->write_ctx;
    call->write_done = NULL;
    grpc_byte_buffer *next = call->queued;
    call->queued = NULL;
    if (next == NULL && call->dirty && call->produce != NULL) {
        call->dirty = false;
        next = call->produce(call->produce_ctx);
    }
    if (next != NULL)
        start_send_locked(call, next);
    else if (call->finishing && !call->status_started)
        start_status_locked(call, false);
    pthread_mutex_unlock(&call->mu);
    if (done != NULL)
        done(call, ok, done_ctx);
    mnemo_call_unref(call);
}

static void on_status(mnemo_tag_t *tag, bool ok)
{
    (void)ok;
    mnemo_call_t *call = CONTAINER_OF(tag, mnemo_call_t, status_tag);
    /* A unary call's close came with its status (a stream's is on_close's). */
    if (!call->streaming && call->close_cancelled)
        note_cancel(call);
    mnemo_call_unref(call);
}

void mnemo_call_send(mnemo_call_t *call, const ProtobufCMessage *msg)
{
    grpc_byte_buffer *buf = mnemo_codec_encode(msg);
    pthread_mutex_lock(&call->mu);
    if (call->finishing || atomic_load(&call->cancelled)) {
        grpc_byte_buffer_destroy(buf);
    } else if (call->sending) {
        grpc_byte_buffer_destroy(call->queued);
        call->queued = buf;
    } else {
        start_send_locked(call, buf);
    }
    pthread_mutex_unlock(&call->mu);
}

void mnemo_call_notify(mnemo_call_t *call, mnemo_produce_fn produce, void *ctx)
{
    pthread_mutex_lock(&call->mu);
    if (!call->finishing && !atomic_load(&call->cancelled)) {
        call->produce = produce;
        call->produce_ctx = ctx;
        if (call->sending) {
            call->dirty = true;
        } else {
            grpc_byte_buffer *buf = produce(ctx);
            if (buf != NULL)
                start_send_locked(call, buf);
        }
    }
    pthread_mutex_unlock(&call->mu);
}

void mnemo_call_stop_produce(mnemo_call_t *call)
{
    pthread_mutex_lock(&call->mu); /* waits out a produce in progress */
    call->produce = NULL;
    call->produce_ctx = NULL;
    call->dirty = false;
    pthread_mutex_unlock(&call->mu);
}

/* Records the status once; returns false when the call already finished. */
static bool set_status_locked(mnemo_call_t *call, mnemo_status_t st, const char *message)
{
    if (call->finishing)
        return false;
    call->finishing = true;
    call->code = (grpc_status_code)mnemo_status_to_code(st);
    call->details =
        mnemo_xstrdup(message != NULL ? message : (st == MNEMO_OK ? "" : mnemo_status_text(st)));
    return true;
}

void mnemo_call_finish(mnemo_call_t *call, mnemo_status_t st, const char *message)
{
    pthread_mutex_lock(&call->mu);
    /* Streams watch their close from the start; unary calls do it here. */
    if (set_status_locked(call, st, message) && !call->sending)
        start_status_locked(call, !call->streaming);
    pthread_mutex_unlock(&call->mu);
    mnemo_call_unref(call);
}

void mnemo_call_reply(mnemo_call_t *call, const ProtobufCMessage *resp)
{
    grpc_byte_buffer *buf = mnemo_codec_encode(resp);
    pthread_mutex_lock(&call->mu);
    assert(!call->finishing && !call->sending);
    mnemo_metrics_call_sent(&call->obs, grpc_byte_buffer_length(buf));
    call->reply = buf;
    set_status_locked(call, MNEMO_OK, NULL);
    start_status_locked(call, true);
    pthread_mutex_unlock(&call->mu);
    mnemo_call_unref(call);
}

void mnemo_call_cancel(mnemo_call_t *call, mnemo_status_t st, const char *message)
{
    int none = -1;
    atomic_compare_exchange_strong(&call->cancel_code, &none, (int)mnemo_status_to_code(st));
    atomic_store(&call->cancelled, true);
    grpc_call_cancel_with_status(call->call, (grpc_status_code)mnemo_status_to_code(st), message,
                                 NULL);
}

/* Starts the call's report (metrics.h): the request is one message in,
 * except for client streams, whose messages are counted as they come. */
static void observe(mnemo_call_t *call, mnemo_metrics_t *metrics, const mnemo_method_t *method,
                    const char *path, const char *who, const grpc_byte_buffer *payload)
{
    if (metrics == NULL)
        return;
    long long in = -1;
    if (method == NULL || !method->client_streaming)
        in = payload != NULL ? (long long)grpc_byte_buffer_length((grpc_byte_buffer *)payload) : 0;
    mnemo_metrics_call_start(metrics, &call->obs, method, path, who, in);
}

void mnemo_call_dispatch(const mnemo_method_t *method, const ProtobufCMethodDescriptor *desc,
                         grpc_call *gcall, gpr_timespec deadline, grpc_metadata_array *md,
                         grpc_byte_buffer *payload, mnemo_metrics_t *metrics, const char *who,
                         void *ctx)
{
    mnemo_call_t *call = call_create(gcall, md, desc, deadline);
    observe(call, metrics, method, NULL, who, payload);
    mnemo_err_t err;
    ProtobufCMessage *request = NULL;
    mnemo_status_t st = MNEMO_OK;
    if (!method->client_streaming)
        st = mnemo_codec_decode(&request, desc->input, payload, &err);
    grpc_byte_buffer_destroy(payload);
    if (st != MNEMO_OK) {
        mnemo_call_finish(call, st, err.msg);
        return;
    }
    if (method->server_streaming || method->client_streaming) {
        grpc_op op;
        memset(&op, 0, sizeof op);
        op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
        op.data.recv_close_on_server.cancelled = &call->close_cancelled;
        call->streaming = true;
        start_batch(call, &op, 1, &call->close_tag);
    }
    method->handler(call, request, ctx);
    mnemo_codec_free(request);
}

/* Copies a client-supplied method path for an error message, keeping only
 * printable ASCII so the details stay valid UTF-8 for every client. */
static void printable_copy(char *out, size_t cap, grpc_slice s)
{
    size_t len = GRPC_SLICE_LENGTH(s);
    const unsigned char *p = GRPC_SLICE_START_PTR(s);
    size_t n = 0;
    for (size_t i = 0; i < len && n + 1 < cap; i++)
        out[n++] = (p[i] >= 0x20 && p[i] < 0x7F) ? (char)p[i] : '?';
    out[n] = '\0';
}

/* Creates the call, starts its report and ends it with st. */
static void reject(const mnemo_method_t *method, const char *path, grpc_call *gcall,
                   gpr_timespec deadline, grpc_metadata_array *md, grpc_byte_buffer *payload,
                   mnemo_metrics_t *metrics, mnemo_status_t st, const char *message)
{
    mnemo_call_t *call = call_create(gcall, md, NULL, deadline);
    observe(call, metrics, method, path, NULL, payload);
    grpc_byte_buffer_destroy(payload);
    mnemo_call_finish(call, st, message);
}

void mnemo_call_reject_unknown(grpc_call *gcall, grpc_call_details *details,
                               grpc_metadata_array *md, mnemo_metrics_t *metrics)
{
    char path[256];
    char message[320];
    printable_copy(path, sizeof path, details->method);
    gpr_timespec deadline = details->deadline;
    grpc_call_details_destroy(details);
    grpc_call_details_init(details);
    snprintf(message, sizeof message, "method %s is not served by mnemod", path);
    reject(NULL, path, gcall, deadline, md, NULL, metrics, MNEMO_EUNIMPLEMENTED, message);
}

void mnemo_call_reject(const mnemo_method_t *method, grpc_call *gcall, gpr_timespec deadline,
                       grpc_metadata_array *md, grpc_byte_buffer *payload, mnemo_metrics_t *metrics,
                       mnemo_status_t st, const char *message)
{
    reject(method, NULL, gcall, deadline, md, payload, metrics, st, message);
}

static void on_recv(mnemo_tag_t *tag, bool ok)
{
    mnemo_call_t *call = CONTAINER_OF(tag, mnemo_call_t, recv_tag);
    grpc_byte_buffer *buf = call->recv_buf;
    call->recv_buf = NULL;
    if (!ok)
        note_cancel(call); /* broken, not half-closed */
    ProtobufCMessage *msg = NULL;
    if (ok && buf != NULL) {
        mnemo_metrics_call_received(&call->obs, grpc_byte_buffer_length(buf));
        mnemo_err_t err;
        if (mnemo_codec_decode(&msg, call->desc->input, buf, &err) != MNEMO_OK)
            mnemo_call_cancel(call, MNEMO_EINVAL, err.msg);
    }
    grpc_byte_buffer_destroy(buf);
    call->read_fn(call, msg, call->read_ctx);
    mnemo_codec_free(msg);
    mnemo_call_unref(call);
}

void mnemo_call_read(mnemo_call_t *call, mnemo_read_fn fn, void *ctx)
{
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &call->recv_buf;
    call->read_fn = fn;
    call->read_ctx = ctx;
    if (!start_batch(call, &op, 1, &call->recv_tag))
        fn(call, NULL, ctx); /* as a broken call reads: the reader ends */
}

void mnemo_call_write(mnemo_call_t *call, const ProtobufCMessage *msg, mnemo_write_fn done,
                      void *ctx)
{
    grpc_byte_buffer *buf = mnemo_codec_encode(msg);
    pthread_mutex_lock(&call->mu);
    assert(!call->sending && call->write_done == NULL);
    call->write_done = done;
    call->write_ctx = ctx;
    start_send_locked(call, buf);
    bool dropped = !call->sending; /* the queue gate: done runs here */
    if (dropped)
        call->write_done = NULL;
    pthread_mutex_unlock(&call->mu);
    if (dropped)
        done(call, false, ctx);
}

/* ---- heartbeats ---------------------------------------------------------- */

/* Sends the producer's message when nothing went out for a heartbeat. */
static void beat_locked(mnemo_call_t *call, int64_t now, int64_t heartbeat_ns)
{
    if (call->sending || call->finishing || call->produce == NULL ||
        atomic_load(&call->cancelled) || now - call->last_send_ns < heartbeat_ns)
        return;
    call->dirty = false;
    grpc_byte_buffer *buf = call->produce(call->produce_ctx);
    if (buf != NULL)
        start_send_locked(call, buf);
}

/* Wakes every quarter heartbeat (at most a second apart): a stream's gap
 * is then at most 1.25 heartbeats, whatever its phase. Lock order: the
 * list's lock, then a call's, never both while beating. */
static void *ticker_main(void *arg)
{
    mnemo_ticker_t *t = arg;
    mnemo_thread_name("mnemod-beat");
    int64_t tick = t->heartbeat_ns / 4;
    if (tick > 1000000000)
        tick = 1000000000;
    mnemo_call_t **due = NULL;
    size_t cap = 0;
    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        mnemo_thread_cond_wait_ms(&t->wake, &t->mu, (long)(tick / 1000000));
        /* The list, referenced, then the beats without the list's lock:
         * CQ threads add and remove calls meanwhile, and must not wait
         * for a thousand streams' encodes. */
        size_t n = 0;
        for (mnemo_call_t *c = t->head; c != NULL && !t->stop; c = c->tick_next) {
            if (n == cap) {
                cap = cap != 0 ? 2 * cap : 64;
                due = mnemo_xrealloc(due, cap * sizeof *due);
            }
            mnemo_call_ref(c);
            due[n++] = c;
        }
        pthread_mutex_unlock(&t->mu);
        int64_t now = mnemo_clock_ns();
        for (size_t i = 0; i < n; i++) {
            pthread_mutex_lock(&due[i]->mu);
            if (!due[i]->closed)
                beat_locked(due[i], now, t->heartbeat_ns);
            pthread_mutex_unlock(&due[i]->mu);
            mnemo_call_unref(due[i]);
        }
        pthread_mutex_lock(&t->mu);
    }
    pthread_mutex_unlock(&t->mu);
    free(due);
    return NULL;
}

mnemo_ticker_t *mnemo_ticker_start(int heartbeat_ms)
{
    if (heartbeat_ms <= 0)
        return NULL;
    mnemo_ticker_t *t = mnemo_xcalloc(1, sizeof *t);
    t->heartbeat_ns = (int64_t)heartbeat_ms * 1000000;
    pthread_mutex_init(&t->mu, NULL);
    mnemo_thread_cond_init(&t->wake);
    if (pthread_create(&t->thread, NULL, ticker_main, t) != 0) {
        mnemo_log(MNEMO_LOG_ERROR, "cannot start the heartbeat thread; streams get none");
        pthread_cond_destroy(&t->wake);
        pthread_mutex_destroy(&t->mu);
        free(t);
        return NULL;
    }
    return t;
}

void mnemo_ticker_halt(mnemo_ticker_t *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->mu);
    bool joined = t->stop;
    t->stop = true;
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->mu);
    if (!joined)
        pthread_join(t->thread, NULL);
}

void mnemo_ticker_stop(mnemo_ticker_t *t)
{
    if (t == NULL)
        return;
    mnemo_ticker_halt(t);
    while (t->head != NULL) { /* calls that never closed: the server is gone */
        mnemo_call_t *c = t->head;
        t->head = c->tick_next;
        mnemo_call_unref(c);
    }
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

void mnemo_call_heartbeat(mnemo_call_t *call, mnemo_ticker_t *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->mu);
    pthread_mutex_lock(&call->mu);
    if (!call->closed && call->ticker == NULL && !t->stop) {
        call->ticker = t;
        call->tick_prev = NULL;
        call->tick_next = t->head;
        if (t->head != NULL)
            t->head->tick_prev = call;
        t->head = call;
        mnemo_call_ref(call);
    }
    pthread_mutex_unlock(&call->mu);
    pthread_mutex_unlock(&t->mu);
}

/* Takes a closed call off its ticker's list (on_close). */
static void ticker_remove(mnemo_call_t *call)
{
    mnemo_ticker_t *t = call->ticker;
    bool listed = false;
    pthread_mutex_lock(&t->mu);
    if (call->tick_prev != NULL || t->head == call) {
        if (call->tick_prev != NULL)
            call->tick_prev->tick_next = call->tick_next;
        else
            t->head = call->tick_next;
        if (call->tick_next != NULL)
            call->tick_next->tick_prev = call->tick_prev;
        call->tick_prev = call->tick_next = NULL;
        listed = true;
    }
    pthread_mutex_unlock(&t->mu);
    if (listed)
        mnemo_call_unref(call);
}
