/* memrpc.c - calls for integration tests over libmnemo; see memrpc.h.
 *
 * DESIGN: every call opens its own client and closes it before returning,
 * so no connection outlives a call: an idle connection would hold up the
 * server's SIGTERM drain until the client noticed its GOAWAY (seconds, as
 * nothing polls an idle channel), and a channel that saw its server die
 * would answer the next server on that address from its reconnect backoff.
 * A client takes a gRPC library reference (grpc_init) and closing gives it
 * back, so one more client, the anchor, stays open from the first call to
 * memrpc_shutdown and never carries a call: it keeps gRPC from being
 * started and stopped around every call. This file is the only caller of
 * mnemo_client_open/close among the test helpers.
 */
#include "memrpc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "server_harness.h"

_Static_assert(sizeof(((memrpc_reply_t *)0)->details) == sizeof(((mnemo_call_error_t *)0)->message),
               "details and libmnemo's message differ in size");

static pthread_mutex_t anchor_mu = PTHREAD_MUTEX_INITIALIZER;
static mnemo_client_t *anchor; /* guarded by anchor_mu; see DESIGN */

/* Opens the anchor on addr (it never connects) unless it is open. */
static void anchor_open(const char *addr)
{
    pthread_mutex_lock(&anchor_mu);
    if (anchor == NULL)
        (void)mnemo_client_open(&anchor, addr, NULL, NULL);
    pthread_mutex_unlock(&anchor_mu);
}

void memrpc_shutdown(void)
{
    pthread_mutex_lock(&anchor_mu);
    mnemo_client_t *c = anchor;
    anchor = NULL;
    pthread_mutex_unlock(&anchor_mu);
    mnemo_client_close(c);
}

/* A new client on addr with the test deadline, or NULL with err set (an
 * empty or NULL address is INVALID_ARGUMENT). */
static mnemo_client_t *client_open(const char *addr, mnemo_call_error_t *err)
{
    if (addr == NULL)
        addr = "";
    anchor_open(addr);
    mnemo_client_options_t opts;
    mnemo_client_options_init(&opts);
    opts.deadline_ms = MEMRPC_TIMEOUT_MS;
    mnemo_client_t *c = NULL;
    if (mnemo_client_open(&c, addr, &opts, err) != GRPC_STATUS_OK)
        return NULL;
    return c;
}

/* The index of svc's method name; a name the .proto lacks is a bug. */
static unsigned method_index(const ProtobufCServiceDescriptor *svc, const char *name)
{
    const ProtobufCMethodDescriptor *m =
        protobuf_c_service_descriptor_get_method_by_name(svc, name);
    if (m == NULL) {
        fprintf(stderr, "memrpc: %s has no method %s\n", svc->name, name);
        abort();
    }
    return (unsigned)(m - svc->methods);
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (d == NULL)
        abort();
    return d;
}

int memrpc_call(const ProtobufCServiceDescriptor *svc, const char *addr, const char *name,
                const ProtobufCMessage *req, ProtobufCMessage **resp, char **details)
{
    unsigned method = method_index(svc, name);
    ProtobufCMessage *msg = NULL;
    mnemo_call_error_t err;
    mnemo_client_t *c = client_open(addr, &err);
    if (c != NULL) {
        mnemo_client_call(&msg, c, svc, method, req, &err);
        mnemo_client_close(c);
    }
    if (resp != NULL)
        *resp = msg;
    else
        mnemo_client_free_message(msg);
    if (details != NULL)
        *details = xstrdup(err.message);
    return err.code;
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
    if (st == GRPC_STATUS_OK && serving_status != NULL)
        *serving_status = (int)resp->status;
    mnemo_client_free_message(resp);
    return st;
}

/* Fills out's status and details from err and the elapsed time since t0. */
static void reply_finish(memrpc_reply_t *out, const mnemo_call_error_t *err, long long t0)
{
    out->elapsed_ms = mnemo_harness_now_ms() - t0;
    out->status = err->code;
    memcpy(out->details, err->message, sizeof out->details);
}

void memrpc_raw(memrpc_reply_t *out, const char *addr, const char *path, const void *bytes,
                size_t len, const ProtobufCMessageDescriptor *resp_desc)
{
    memset(out, 0, sizeof *out);
    long long t0 = mnemo_harness_now_ms();
    mnemo_call_error_t err;
    mnemo_client_t *c = client_open(addr, &err);
    if (c != NULL) {
        mnemo_client_call_raw(c, path, bytes, len, resp_desc, resp_desc != NULL ? &out->msg : NULL,
                              &err);
        mnemo_client_close(c);
    }
    reply_finish(out, &err, t0);
}

/* Opens the stream, takes its first message into *msg, cancels it. */
static void stream_first(ProtobufCMessage **msg, mnemo_client_t *client,
                         const ProtobufCServiceDescriptor *svc, unsigned method,
                         const ProtobufCMessage *req, mnemo_call_error_t *err)
{
    mnemo_stream_t *s = NULL;
    if (mnemo_stream_open(&s, client, svc, method, req, err) != GRPC_STATUS_OK)
        return;
    /* 1: a message and err OK; otherwise err is the status that ended it. */
    (void)mnemo_stream_next(msg, s, err);
    mnemo_stream_close(s);
}

void memrpc_stream_first(memrpc_reply_t *out, const char *addr,
                         const ProtobufCServiceDescriptor *svc, const char *name,
                         const ProtobufCMessage *req)
{
    memset(out, 0, sizeof *out);
    unsigned method = method_index(svc, name);
    void *empty = NULL;
    if (req == NULL) {
        const ProtobufCMessageDescriptor *input = svc->methods[method].input;
        if ((empty = malloc(input->sizeof_message)) == NULL)
            abort();
        protobuf_c_message_init(input, empty);
        req = empty;
    }
    long long t0 = mnemo_harness_now_ms();
    mnemo_call_error_t err;
    mnemo_client_t *c = client_open(addr, &err);
    if (c != NULL) {
        stream_first(&out->msg, c, svc, method, req, &err);
        mnemo_client_close(c);
    }
    reply_finish(out, &err, t0);
    free(empty);
}

void memrpc_reply_cleanup(memrpc_reply_t *r)
{
    if (r == NULL)
        return;
    mnemo_client_free_message(r->msg);
    memset(r, 0, sizeof *r);
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

void memrpc_path(char *buf, size_t size, const ProtobufCServiceDescriptor *svc, const char *name)
{
    snprintf(buf, size, "/%s/%s", svc->name, name);
}
