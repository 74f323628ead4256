/* call.c - the generic unary call of libmnemo and the helpers every call
 * shares (completion queues, deadlines, turning a status into an error).
 *
 * DESIGN: a unary call is one batch of SEND_INITIAL_METADATA (with the
 * client's authorization header, if it has a token), SEND_MESSAGE,
 * SEND_CLOSE_FROM_CLIENT, RECV_INITIAL_METADATA, RECV_MESSAGE and
 * RECV_STATUS_ON_CLIENT on a pluck completion queue created for that call
 * alone (RECV_INITIAL_METADATA is not optional: without it the status may
 * wait for the deadline). The call's deadline bounds the wait, so plucking
 * waits without one. Requests are encoded and responses decoded by the one
 * codec (proto/mnemo/codec.h) with the method's descriptors.
 * Threads: any; a call touches nothing shared but the channel, which gRPC
 * makes thread-safe, and the client's atomic deadline.
 */
#include "client_impl.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/status.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "mnemo/client_testing.h"
#include "mnemo/codec.h"
#include "mnemo/status.h"

/* codes.h re-exports gRPC's codes value for value: a received
 * grpc_status_code is returned as it is (mnemo_call_finish). */
#define CHECK_CODE(name, value)                                                                    \
    _Static_assert(MNEMO_CODE_##name == (int)GRPC_STATUS_##name, "codes.h: " #name);
MNEMO_CODE_TABLE(CHECK_CODE)
#undef CHECK_CODE

void mnemo_recv_init(mnemo_recv_t *r)
{
    memset(r, 0, sizeof(*r));
    grpc_metadata_array_init(&r->initial);
    grpc_metadata_array_init(&r->trailing);
    r->status = GRPC_STATUS_UNKNOWN;
    r->details = grpc_empty_slice();
}

void mnemo_recv_cleanup(mnemo_recv_t *r)
{
    grpc_metadata_array_destroy(&r->initial);
    grpc_metadata_array_destroy(&r->trailing);
    mnemo_buffer_free(r->message);
    r->message = NULL;
    grpc_slice_unref(r->details);
    r->details = grpc_empty_slice();
    gpr_free((void *)r->error_string);
    r->error_string = NULL;
}

void mnemo_buffer_free(grpc_byte_buffer *buf)
{
    if (buf != NULL)
        grpc_byte_buffer_destroy(buf);
}

grpc_completion_queue *mnemo_cq_create(void)
{
    return grpc_completion_queue_create_for_pluck(NULL);
}

void mnemo_cq_destroy(grpc_completion_queue *cq)
{
    if (cq == NULL)
        return;
    grpc_completion_queue_shutdown(cq);
    /* Every tag was plucked, so this returns GRPC_QUEUE_SHUTDOWN at once. */
    grpc_event ev = grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    assert(ev.type == GRPC_QUEUE_SHUTDOWN);
    (void)ev;
    grpc_completion_queue_destroy(cq);
}

int mnemo_cq_wait(grpc_completion_queue *cq, void *tag)
{
    grpc_event ev = grpc_completion_queue_pluck(cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    assert(ev.type == GRPC_OP_COMPLETE && ev.tag == tag);
    return ev.success;
}

size_t mnemo_call_metadata(grpc_metadata md[MNEMO_CALL_METADATA_MAX], const mnemo_client_t *c)
{
    if (GRPC_SLICE_IS_EMPTY(c->authorization))
        return 0;
    memset(md, 0, sizeof(*md));
    md[0].key = grpc_slice_from_static_string("authorization");
    md[0].value = c->authorization; /* borrowed: gRPC takes its own reference */
    return 1;
}

grpc_call *mnemo_call_create(mnemo_client_t *c, grpc_completion_queue *cq, const char *path)
{
    int64_t ms = atomic_load(&c->deadline_ms);
    gpr_timespec deadline = gpr_inf_future(GPR_CLOCK_REALTIME);
    if (ms > 0)
        deadline =
            gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(ms, GPR_TIMESPAN));
    /* A copy, which the call references: gRPC encodes :path when the
     * transport writes the headers, which for a stream can be after its
     * open returned and path (a caller's stack buffer) is gone. A static
     * slice of path sent other streams' garbage as their method
     * (UNIMPLEMENTED) when many opened at once. */
    grpc_slice method = grpc_slice_from_copied_string(path);
    grpc_call *call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                               method, NULL, deadline, NULL);
    grpc_slice_unref(method);
    return call;
}

const ProtobufCMethodDescriptor *mnemo_call_method(char path[MNEMO_METHOD_PATH_MAX],
                                                   const ProtobufCServiceDescriptor *svc,
                                                   unsigned method, const ProtobufCMessage *req)
{
    assert(svc != NULL && req != NULL && method < svc->n_methods);
    const ProtobufCMethodDescriptor *m = &svc->methods[method];
    assert(req->descriptor == m->input);
    mnemo_method_path(path, svc, method);
    return m;
}

/* Copies text into err->message, cut at a UTF-8 boundary if it is long. */
static void set_message(mnemo_call_error_t *err, const char *text)
{
    mnemo_err_t e;
    mnemo_err_set(&e, MNEMO_OK, "%s", text);
    _Static_assert(sizeof(e.msg) == sizeof(err->message), "message sizes differ");
    memcpy(err->message, e.msg, sizeof(err->message));
}

int mnemo_call_fail(mnemo_call_error_t *err, int code, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    char text[sizeof(err->message) * 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    err->code = code;
    err->unreachable = 0;
    set_message(err, text);
    return code;
}

int mnemo_call_ok(mnemo_call_error_t *err)
{
    if (err != NULL)
        memset(err, 0, sizeof(*err));
    return MNEMO_CODE_OK;
}

int mnemo_call_finish(mnemo_call_error_t *err, mnemo_client_t *c, const mnemo_recv_t *r)
{
    int code = (int)r->status;
    if (err == NULL)
        return code;
    err->code = code;
    err->unreachable = 0;
    err->message[0] = '\0';
    if (code == MNEMO_CODE_OK)
        return code;

    int len = (int)GRPC_SLICE_LENGTH(r->details);
    const char *details = (const char *)GRPC_SLICE_START_PTR(r->details);
    if (len == 0) {
        details = mnemo_client_code_name(code);
        len = (int)strlen(details);
    }
    char text[sizeof(err->message) * 2];
    /* The server answered if the channel is still connected; otherwise the
     * failure is the connection's (refused, unresolvable, timed out). */
    if ((code == MNEMO_CODE_UNAVAILABLE || code == MNEMO_CODE_DEADLINE_EXCEEDED) &&
        grpc_channel_check_connectivity_state(c->channel, 0) != GRPC_CHANNEL_READY) {
        err->unreachable = 1;
        snprintf(text, sizeof(text), "cannot reach %s: %.*s", c->target, len, details);
    } else {
        snprintf(text, sizeof(text), "%.*s", len, details);
    }
    set_message(err, text);
    return code;
}

/* Runs the unary batch: sends request on path and fills r with the reply. */
static int unary_exchange(mnemo_recv_t *r, mnemo_client_t *c, const char *path,
                          grpc_byte_buffer *request, mnemo_call_error_t *err)
{
    int rc;
    grpc_completion_queue *cq = mnemo_cq_create();
    grpc_call *call = mnemo_call_create(c, cq, path);
    if (call == NULL) {
        rc = mnemo_call_fail(err, MNEMO_CODE_INTERNAL, "%s: cannot create the call", path);
        goto cleanup;
    }
    grpc_metadata md[MNEMO_CALL_METADATA_MAX];
    grpc_op ops[6];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = mnemo_call_metadata(md, c);
    ops[0].data.send_initial_metadata.metadata = md;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = request;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &r->initial;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &r->message;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &r->trailing;
    ops[5].data.recv_status_on_client.status = &r->status;
    ops[5].data.recv_status_on_client.status_details = &r->details;
    ops[5].data.recv_status_on_client.error_string = &r->error_string;
    grpc_call_error e = grpc_call_start_batch(call, ops, 6, ops, NULL);
    if (e != GRPC_CALL_OK) {
        rc = mnemo_call_fail(err, MNEMO_CODE_INTERNAL, "%s: cannot start the call (error %d)", path,
                             (int)e);
        goto cleanup;
    }
    (void)mnemo_cq_wait(cq, ops);
    rc = mnemo_call_finish(err, c, r);
cleanup:
    if (call != NULL)
        grpc_call_unref(call);
    mnemo_cq_destroy(cq);
    return rc;
}

/* Decodes the reply of a unary call that ended OK. */
static int decode_response(ProtobufCMessage **out, const ProtobufCMessageDescriptor *desc,
                           grpc_byte_buffer *message, mnemo_call_error_t *err)
{
    if (message == NULL)
        return mnemo_call_fail(err, MNEMO_CODE_INTERNAL, "response: the server sent no %s",
                               desc->name);
    ProtobufCMessage *msg = NULL;
    if (mnemo_codec_decode(&msg, desc, message, NULL) != MNEMO_OK)
        return mnemo_call_fail(err, MNEMO_CODE_INTERNAL, "response: not a valid %s", desc->name);
    *out = msg;
    return MNEMO_CODE_OK;
}

/* A unary call of path with an encoded request; decodes the response as
 * output when out is not NULL. */
static int unary_call(ProtobufCMessage **out, mnemo_client_t *c, const char *path,
                      grpc_byte_buffer *request, const ProtobufCMessageDescriptor *output,
                      mnemo_call_error_t *err)
{
    mnemo_recv_t r;
    mnemo_recv_init(&r);
    int rc = unary_exchange(&r, c, path, request, err);
    if (rc == MNEMO_CODE_OK && out != NULL)
        rc = decode_response(out, output, r.message, err);
    mnemo_recv_cleanup(&r);
    return rc;
}

int mnemo_client_call(ProtobufCMessage **out, mnemo_client_t *c,
                      const ProtobufCServiceDescriptor *svc, unsigned method,
                      const ProtobufCMessage *req, mnemo_call_error_t *err)
{
    assert(c != NULL);
    char path[MNEMO_METHOD_PATH_MAX];
    const ProtobufCMethodDescriptor *m = mnemo_call_method(path, svc, method, req);
    grpc_byte_buffer *request = mnemo_codec_encode(req);
    int rc = unary_call(out, c, path, request, m->output, err);
    mnemo_buffer_free(request);
    return rc;
}

int mnemo_client_call_raw(mnemo_client_t *c, const char *path, const void *bytes, size_t len,
                          const ProtobufCMessageDescriptor *response_desc, ProtobufCMessage **out,
                          mnemo_call_error_t *err)
{
    assert(c != NULL && path != NULL && path[0] == '/');
    assert(out == NULL || response_desc != NULL);
    grpc_slice slice = len > 0 ? grpc_slice_from_copied_buffer(bytes, len) : grpc_empty_slice();
    grpc_byte_buffer *request = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice); /* the buffer holds its own reference */
    int rc = unary_call(out, c, path, request, response_desc, err);
    mnemo_buffer_free(request);
    return rc;
}
