/* rawcall.c - minimal gRPC Core client for integration tests; see rawcall.h.
 *
 * DESIGN: each call owns its channel, pluck CQ, call and buffers, and frees
 * them all before returning, so nothing is shared between threads except the
 * once-only grpc_init.
 */
#include "rawcall.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int initialised;

static void do_init(void)
{
    grpc_init();
    initialised = 1;
}

void mnemo_raw_shutdown(void)
{
    if (initialised) {
        grpc_shutdown();
        initialised = 0;
    }
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static gpr_timespec deadline_after(int ms)
{
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

const char *mnemo_raw_status_name(int status)
{
    static const char *const names[] = {"OK",
                                        "CANCELLED",
                                        "UNKNOWN",
                                        "INVALID_ARGUMENT",
                                        "DEADLINE_EXCEEDED",
                                        "NOT_FOUND",
                                        "ALREADY_EXISTS",
                                        "PERMISSION_DENIED",
                                        "RESOURCE_EXHAUSTED",
                                        "FAILED_PRECONDITION",
                                        "ABORTED",
                                        "OUT_OF_RANGE",
                                        "UNIMPLEMENTED",
                                        "INTERNAL",
                                        "UNAVAILABLE",
                                        "DATA_LOSS",
                                        "UNAUTHENTICATED"};
    if (status < 0 || (size_t)status >= sizeof names / sizeof names[0])
        return "?";
    return names[status];
}

static char *slice_strdup(grpc_slice s)
{
    size_t n = GRPC_SLICE_LENGTH(s);
    char *d = malloc(n + 1);
    if (d == NULL)
        abort();
    memcpy(d, GRPC_SLICE_START_PTR(s), n);
    d[n] = '\0';
    return d;
}

/* Copies a received buffer into out->body and destroys it. */
static void take_body(mnemo_raw_reply_t *out, grpc_byte_buffer *bb)
{
    if (bb == NULL)
        return;
    grpc_byte_buffer_reader reader;
    if (grpc_byte_buffer_reader_init(&reader, bb)) {
        grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
        out->body_len = GRPC_SLICE_LENGTH(all);
        out->body = malloc(out->body_len + 1);
        if (out->body == NULL)
            abort();
        memcpy(out->body, GRPC_SLICE_START_PTR(all), out->body_len);
        grpc_slice_unref(all);
        grpc_byte_buffer_reader_destroy(&reader);
    }
    grpc_byte_buffer_destroy(bb);
}

/* Everything one call owns. */
typedef struct raw_call {
    grpc_channel *channel;
    grpc_completion_queue *cq;
    grpc_call *call;
    grpc_metadata_array initial;
    grpc_metadata_array trailing;
    grpc_byte_buffer *request;
    grpc_byte_buffer *response;
    grpc_status_code status;
    grpc_slice details;
    const char *error_string;
    gpr_timespec deadline;
} raw_call_t;

static void raw_open(raw_call_t *c, const char *target, const char *method, const void *req,
                     size_t req_len, int timeout_ms)
{
    pthread_once(&init_once, do_init);
    memset(c, 0, sizeof *c);
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    c->channel = grpc_channel_create(target, creds, NULL);
    grpc_channel_credentials_release(creds);
    c->cq = grpc_completion_queue_create_for_pluck(NULL);
    c->deadline = deadline_after(timeout_ms);
    grpc_slice path = grpc_slice_from_copied_string(method);
    c->call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq, path, NULL,
                                       c->deadline, NULL);
    grpc_slice_unref(path);
    grpc_metadata_array_init(&c->initial);
    grpc_metadata_array_init(&c->trailing);
    grpc_slice body = grpc_slice_from_copied_buffer(req != NULL ? req : "", req_len);
    c->request = grpc_raw_byte_buffer_create(&body, 1);
    grpc_slice_unref(body);
    c->details = grpc_empty_slice();
}

/* Waits for tag; the call's deadline bounds every batch, the margin only
 * guards against a core bug. */
static void raw_pluck(raw_call_t *c, void *tag)
{
    gpr_timespec limit = gpr_time_add(c->deadline, gpr_time_from_millis(10000, GPR_TIMESPAN));
    grpc_event ev = grpc_completion_queue_pluck(c->cq, tag, limit, NULL);
    if (ev.type == GRPC_QUEUE_TIMEOUT) {
        fprintf(stderr, "rawcall: batch did not complete 10 s after the deadline; cancelling\n");
        grpc_call_cancel(c->call, NULL);
        grpc_completion_queue_pluck(c->cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    }
}

static void raw_close(raw_call_t *c, mnemo_raw_reply_t *out)
{
    out->status = (int)c->status;
    out->details = slice_strdup(c->details);
    grpc_slice_unref(c->details);
    if (c->error_string != NULL)
        gpr_free((void *)c->error_string);
    take_body(out, c->response);
    grpc_byte_buffer_destroy(c->request);
    grpc_metadata_array_destroy(&c->initial);
    grpc_metadata_array_destroy(&c->trailing);
    grpc_call_unref(c->call);
    grpc_completion_queue_shutdown(c->cq);
    grpc_completion_queue_destroy(c->cq);
    grpc_channel_destroy(c->channel);
}

static void fill_send_ops(raw_call_t *c, grpc_op *ops)
{
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = c->request;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &c->initial;
}

static void fill_status_op(raw_call_t *c, grpc_op *op)
{
    op->op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    op->data.recv_status_on_client.trailing_metadata = &c->trailing;
    op->data.recv_status_on_client.status = &c->status;
    op->data.recv_status_on_client.status_details = &c->details;
    op->data.recv_status_on_client.error_string = &c->error_string;
}

void mnemo_raw_call(mnemo_raw_reply_t *out, const char *target, const char *method, const void *req,
                    size_t req_len, int timeout_ms)
{
    memset(out, 0, sizeof *out);
    long long t0 = now_ms();
    raw_call_t c;
    raw_open(&c, target, method, req, req_len, timeout_ms);
    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    fill_send_ops(&c, ops);
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &c.response;
    fill_status_op(&c, &ops[5]);
    grpc_call_error e = grpc_call_start_batch(c.call, ops, 6, (void *)1, NULL);
    if (e != GRPC_CALL_OK) {
        fprintf(stderr, "rawcall: start_batch: %d\n", (int)e);
        c.status = GRPC_STATUS_INTERNAL;
    } else {
        raw_pluck(&c, (void *)1);
    }
    raw_close(&c, out);
    out->elapsed_ms = now_ms() - t0;
}

void mnemo_raw_stream_first(mnemo_raw_reply_t *out, const char *target, const char *method,
                            const void *req, size_t req_len, int timeout_ms)
{
    memset(out, 0, sizeof *out);
    long long t0 = now_ms();
    raw_call_t c;
    raw_open(&c, target, method, req, req_len, timeout_ms);
    grpc_op send[4], status[1], recv[1];
    memset(send, 0, sizeof send);
    memset(status, 0, sizeof status);
    memset(recv, 0, sizeof recv);
    fill_send_ops(&c, send);
    fill_status_op(&c, &status[0]);
    recv[0].op = GRPC_OP_RECV_MESSAGE;
    recv[0].data.recv_message.recv_message = &c.response;
    if (grpc_call_start_batch(c.call, send, 4, (void *)1, NULL) != GRPC_CALL_OK ||
        grpc_call_start_batch(c.call, status, 1, (void *)2, NULL) != GRPC_CALL_OK ||
        grpc_call_start_batch(c.call, recv, 1, (void *)3, NULL) != GRPC_CALL_OK) {
        fprintf(stderr, "rawcall: stream start_batch failed\n");
        abort();
    }
    raw_pluck(&c, (void *)1);
    raw_pluck(&c, (void *)3);
    bool got = c.response != NULL;
    if (got)
        grpc_call_cancel(c.call, NULL);
    raw_pluck(&c, (void *)2);
    raw_close(&c, out);
    if (got) {
        /* We cancelled it ourselves: the stream itself delivered a message. */
        out->status = RAW_OK;
    }
    out->elapsed_ms = now_ms() - t0;
}

void mnemo_raw_call_msg(mnemo_raw_reply_t *out, ProtobufCMessage **resp, const char *target,
                        const char *method, const ProtobufCMessage *req,
                        const ProtobufCMessageDescriptor *resp_desc, int timeout_ms)
{
    size_t len = protobuf_c_message_get_packed_size(req);
    uint8_t *buf = malloc(len > 0 ? len : 1);
    if (buf == NULL)
        abort();
    protobuf_c_message_pack(req, buf);
    mnemo_raw_call(out, target, method, buf, len, timeout_ms);
    free(buf);
    if (resp == NULL)
        return;
    *resp = NULL;
    if (out->status != RAW_OK)
        return;
    if (out->body == NULL) {
        free(out->details);
        out->details = strdup("rawcall: status OK without a response message");
        out->status = RAW_INTERNAL;
        return;
    }
    *resp = protobuf_c_message_unpack(resp_desc, NULL, out->body_len, out->body);
    if (*resp == NULL) {
        free(out->details);
        out->details = strdup("rawcall: response does not parse");
        out->status = RAW_INTERNAL;
    }
}

void mnemo_raw_free_msg(ProtobufCMessage *msg)
{
    if (msg != NULL)
        protobuf_c_message_free_unpacked(msg, NULL);
}

void mnemo_raw_reply_cleanup(mnemo_raw_reply_t *r)
{
    if (r == NULL)
        return;
    free(r->details);
    free(r->body);
    memset(r, 0, sizeof *r);
}
