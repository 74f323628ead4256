/* stream.c - the generic reader of a server-streaming call.
 *
 * DESIGN: opening starts two batches: the send side (the client's
 * authorization header, the request) with RECV_INITIAL_METADATA, then
 * RECV_STATUS_ON_CLIENT on its own, up front, so that the final status is
 * collected however the stream ends. Each mnemo_stream_next starts exactly
 * one RECV_MESSAGE and plucks it; a NULL message means the stream is over,
 * and then the two opening batches are plucked and the status recorded.
 * Every batch of a stream is plucked before its completion queue goes away,
 * so closing an unfinished stream cancels it first.
 * Threads: a stream is driven by one thread at a time; mnemo_stream_cancel
 * may come from any thread until close begins (grpc_call_cancel is
 * thread-safe against batches in flight).
 */
#include "client_impl.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "mnemo/codec.h"

struct mnemo_stream {
    mnemo_client_t *client;                   /* not owned; outlives the stream */
    const ProtobufCMessageDescriptor *output; /* the method's response type */
    grpc_completion_queue *cq;                /* owned; this stream's batches only */
    grpc_call *call;                          /* owned; NULL if creation failed */
    grpc_byte_buffer *request;                /* owned; kept until the send batch is plucked */
    grpc_metadata metadata[MNEMO_CALL_METADATA_MAX]; /* sent; kept like request */
    mnemo_recv_t recv;                               /* initial metadata and final status */
    int send_pending;         /* send batch started, not plucked (tag: &it) */
    int status_pending;       /* status batch started, not plucked (tag: &it) */
    int ended;                /* final is set; no batch is pending */
    mnemo_call_error_t final; /* the final status once ended */
};

/* Starts the send batch and the status batch. */
static int start_batches(mnemo_stream_t *s, const char *path, mnemo_call_error_t *err)
{
    grpc_op ops[4];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = mnemo_call_metadata(s->metadata, s->client);
    ops[0].data.send_initial_metadata.metadata = s->metadata;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = s->request;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &s->recv.initial;
    grpc_call_error e = grpc_call_start_batch(s->call, ops, 4, &s->send_pending, NULL);
    if (e != GRPC_CALL_OK)
        return mnemo_call_fail(err, MNEMO_CODE_INTERNAL, "%s: cannot start the call (error %d)",
                               path, (int)e);
    s->send_pending = 1;

    grpc_op st;
    memset(&st, 0, sizeof(st));
    st.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    st.data.recv_status_on_client.trailing_metadata = &s->recv.trailing;
    st.data.recv_status_on_client.status = &s->recv.status;
    st.data.recv_status_on_client.status_details = &s->recv.details;
    st.data.recv_status_on_client.error_string = &s->recv.error_string;
    e = grpc_call_start_batch(s->call, &st, 1, &s->status_pending, NULL);
    if (e != GRPC_CALL_OK)
        return mnemo_call_fail(err, MNEMO_CODE_INTERNAL,
                               "%s: cannot wait for the status (error %d)", path, (int)e);
    s->status_pending = 1;
    return MNEMO_CODE_OK;
}

int mnemo_stream_open(mnemo_stream_t **out, mnemo_client_t *c,
                      const ProtobufCServiceDescriptor *svc, unsigned method,
                      const ProtobufCMessage *req, mnemo_call_error_t *err)
{
    assert(c != NULL);
    char path[MNEMO_METHOD_PATH_MAX];
    const ProtobufCMethodDescriptor *m = mnemo_call_method(path, svc, method, req);
    mnemo_stream_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return mnemo_call_fail(err, MNEMO_CODE_RESOURCE_EXHAUSTED, "out of memory");
    s->client = c;
    s->output = m->output;
    mnemo_recv_init(&s->recv);
    s->cq = mnemo_cq_create();
    s->call = mnemo_call_create(c, s->cq, path);
    int rc;
    if (s->call == NULL) {
        rc = mnemo_call_fail(err, MNEMO_CODE_INTERNAL, "%s: cannot create the call", path);
        goto fail;
    }
    s->request = mnemo_codec_encode(req);
    rc = start_batches(s, path, err);
    if (rc != MNEMO_CODE_OK)
        goto fail;
    *out = s;
    return mnemo_call_ok(err);
fail:
    mnemo_stream_close(s);
    return rc;
}

/* Plucks the opening batches and records the final status. The status
 * batch completes once the server has ended the call or the call was
 * cancelled; the caller cancels first when it cannot know which. */
static void stream_end(mnemo_stream_t *s)
{
    if (s->ended)
        return;
    if (s->send_pending) {
        (void)mnemo_cq_wait(s->cq, &s->send_pending);
        s->send_pending = 0;
    }
    mnemo_buffer_free(s->request);
    s->request = NULL;
    if (s->status_pending) {
        (void)mnemo_cq_wait(s->cq, &s->status_pending);
        s->status_pending = 0;
        mnemo_call_finish(&s->final, s->client, &s->recv);
    } else {
        mnemo_call_fail(&s->final, MNEMO_CODE_INTERNAL, "the call never started");
    }
    s->ended = 1;
}

/* Receives one message into *message (NULL at the end of the stream). */
static void recv_message(grpc_byte_buffer **message, mnemo_stream_t *s)
{
    grpc_op op;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = message;
    *message = NULL;
    if (grpc_call_start_batch(s->call, &op, 1, message, NULL) != GRPC_CALL_OK) {
        /* Make sure the pending status batch completes. */
        grpc_call_cancel_with_status(s->call, GRPC_STATUS_INTERNAL,
                                     "client: cannot receive the next message", NULL);
        return;
    }
    (void)mnemo_cq_wait(s->cq, message);
}

int mnemo_stream_next(ProtobufCMessage **out, mnemo_stream_t *s, mnemo_call_error_t *err)
{
    assert(s != NULL);
    if (!s->ended) {
        grpc_byte_buffer *message = NULL;
        recv_message(&message, s);
        if (message != NULL) {
            ProtobufCMessage *msg = NULL;
            mnemo_status_t st = mnemo_codec_decode(&msg, s->output, message, NULL);
            mnemo_buffer_free(message);
            if (st == MNEMO_OK) {
                *out = msg;
                mnemo_call_ok(err);
                return 1;
            }
            grpc_call_cancel_with_status(s->call, GRPC_STATUS_INTERNAL,
                                         "client: response is not a valid message", NULL);
            stream_end(s);
            mnemo_call_fail(err, MNEMO_CODE_INTERNAL, "response: not a valid %s", s->output->name);
            return -1;
        }
        stream_end(s);
    }
    if (err != NULL)
        *err = s->final;
    return 0;
}

int mnemo_stream_status(const mnemo_stream_t *s, mnemo_call_error_t *err)
{
    if (!s->ended)
        return -1;
    if (err != NULL)
        *err = s->final;
    return s->final.code;
}

void mnemo_stream_cancel(mnemo_stream_t *s)
{
    if (s != NULL && s->call != NULL)
        grpc_call_cancel(s->call, NULL);
}

void mnemo_stream_close(mnemo_stream_t *s)
{
    if (s == NULL)
        return;
    if (!s->ended && s->call != NULL)
        grpc_call_cancel(s->call, NULL);
    stream_end(s);
    if (s->call != NULL)
        grpc_call_unref(s->call);
    mnemo_cq_destroy(s->cq);
    mnemo_recv_cleanup(&s->recv);
    free(s);
}
