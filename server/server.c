/* server.c - mnemod's lifecycle (see server.h).
 *
 * DESIGN: every registered method keeps SLOTS_PER_METHOD requests posted on
 * the shared CQ; when one completes with a call, the slot takes the call's
 * fields, posts itself again and only then dispatches, so a burst never
 * finds the method without a posted request. success=0 means shutdown: the
 * slot stays idle. The server owns the slots; they are freed after the CQ
 * has drained.
 *
 * Threads: start/stop on the main thread; slot callbacks on CQ threads;
 * sync jobs on their own threads (sync.c), stopped before the drain.
 */
#include "server.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "bytes.h"
#include "mnemo/codec.h"
#include "rpc.h"
#include "thread.h"

#define SLOTS_PER_METHOD 4
#define GENERIC_SLOTS    2

typedef struct slot {
    mnemo_tag_t tag;
    mnemo_server_t *srv;
    const mnemo_method_t *method; /* NULL: the generic (unknown method) slot */
    const ProtobufCMethodDescriptor *desc;
    void *registered;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_byte_buffer *payload;
    grpc_call_details details;
} slot_t;

struct mnemo_server {
    const mnemo_config_t *cfg;
    mnemo_app_t app;
    grpc_server *server;
    grpc_completion_queue *cq;
    pthread_t *threads;
    int n_threads;
    slot_t *slots;
    size_t n_slots;
    int port;
};

static void request_slot(slot_t *slot)
{
    grpc_call_error e;
    if (slot->method == NULL)
        e = grpc_server_request_call(slot->srv->server, &slot->call, &slot->details, &slot->md,
                                     slot->srv->cq, slot->srv->cq, &slot->tag);
    else
        e = grpc_server_request_registered_call(
            slot->srv->server, slot->registered, &slot->call, &slot->deadline, &slot->md,
            slot->method->client_streaming ? NULL : &slot->payload, slot->srv->cq, slot->srv->cq,
            &slot->tag);
    if (e != GRPC_CALL_OK)
        fprintf(stderr, "mnemod: cannot request calls (%d)\n", (int)e);
}

static void on_slot(mnemo_tag_t *tag, bool ok)
{
    slot_t *slot = (slot_t *)(void *)tag;
    if (!ok)
        return; /* shutting down: no call */
    grpc_call *call = slot->call;
    grpc_metadata_array md = slot->md;
    grpc_byte_buffer *payload = slot->payload;
    grpc_call_details details = slot->details;
    slot->call = NULL;
    slot->payload = NULL;
    grpc_metadata_array_init(&slot->md);
    grpc_call_details_init(&slot->details);
    request_slot(slot);
    if (slot->method == NULL) {
        mnemo_call_reject_unknown(call, &details, &md);
    } else {
        if (slot->method->interactive)
            mnemo_pace_note_request(&slot->srv->app.pace);
        mnemo_call_dispatch(slot->method, slot->desc, call, &md, payload, &slot->srv->app);
    }
    grpc_metadata_array_destroy(&md);
    grpc_call_details_destroy(&details);
}

static void *cq_thread(void *arg)
{
    grpc_completion_queue *cq = arg;
    mnemo_thread_name("mnemod-cq");
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            return NULL;
        if (ev.type == GRPC_OP_COMPLETE) {
            mnemo_tag_t *tag = ev.tag;
            tag->fn(tag, ev.success != 0);
        }
    }
}

static size_t count_methods(void)
{
    size_t n = 0;
    for (size_t t = 0; t < mnemo_rpc_n_tables; t++)
        for (const mnemo_method_t *m = mnemo_rpc_tables[t]; m->name != NULL; m++)
            n++;
    return n;
}

static void init_slot(slot_t *slot, mnemo_server_t *srv, const mnemo_method_t *m,
                      const ProtobufCMethodDescriptor *desc, void *registered)
{
    slot->tag.fn = on_slot;
    slot->srv = srv;
    slot->method = m;
    slot->desc = desc;
    slot->registered = registered;
    grpc_metadata_array_init(&slot->md);
    grpc_call_details_init(&slot->details);
}

/* Registers every method of every table and prepares its slots. */
static void register_methods(mnemo_server_t *srv)
{
    srv->n_slots = count_methods() * SLOTS_PER_METHOD + GENERIC_SLOTS;
    srv->slots = mnemo_xcalloc(srv->n_slots, sizeof *srv->slots);
    size_t k = 0;
    for (size_t t = 0; t < mnemo_rpc_n_tables; t++) {
        for (const mnemo_method_t *m = mnemo_rpc_tables[t]; m->name != NULL; m++) {
            const ProtobufCMethodDescriptor *desc =
                protobuf_c_service_descriptor_get_method_by_name(m->service, m->name);
            if (desc == NULL) {
                fprintf(stderr, "mnemod: %s has no method %s\n", m->service->name, m->name);
                abort();
            }
            char path[MNEMO_METHOD_PATH_MAX];
            snprintf(path, sizeof path, "/%s/%s", mnemo_method_service(m), m->name);
            /* Bidirectional streams read their messages themselves. */
            void *registered = grpc_server_register_method(
                srv->server, path, NULL,
                m->client_streaming ? GRPC_SRM_PAYLOAD_NONE
                                    : GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER,
                0);
            for (int i = 0; i < SLOTS_PER_METHOD; i++)
                init_slot(&srv->slots[k++], srv, m, desc, registered);
        }
    }
    while (k < srv->n_slots)
        init_slot(&srv->slots[k++], srv, NULL, NULL, NULL);
}

static grpc_server *create_grpc_server(const mnemo_config_t *cfg)
{
    grpc_arg args[3];
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = GRPC_ARG_ALLOW_REUSEPORT; /* a second mnemod must fail to bind */
    args[0].value.integer = 0;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[1].value.integer = (int)cfg->max_recv_bytes;
    args[2].type = GRPC_ARG_INTEGER;
    args[2].key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
    args[2].value.integer = -1;
    grpc_channel_args channel_args = {3, args};
    return grpc_server_create(&channel_args, NULL);
}

/* Writes <data-dir>/<name> into path, creating the data dir if needed. */
static mnemo_status_t data_path(char path[PATH_MAX], const char *data_dir, const char *name,
                                mnemo_err_t *err)
{
    if (mkdir(data_dir, 0755) != 0 && errno != EEXIST)
        return mnemo_err_set(err, MNEMO_EIO, "--data-dir: cannot create %s: %s", data_dir,
                             strerror(errno));
    if (snprintf(path, PATH_MAX, "%s/%s", data_dir, name) >= PATH_MAX)
        return mnemo_err_set(err, MNEMO_EINVAL, "--data-dir: path too long");
    return MNEMO_OK;
}

/* A store write failed (any thread): health turns NOT_SERVING at once,
 * which every Watch stream hears, whoever made the write. */
static void memory_store_failed(void *ctx)
{
    fprintf(stderr, "mnemod: a write to the memories store failed: writes are refused, reads "
                    "go on, health is NOT_SERVING\n");
    mnemo_health_set_serving(ctx, false);
}

static void code_store_failed(void *ctx)
{
    fprintf(stderr, "mnemod: a write to the code store failed: writes are refused, reads go "
                    "on, health is NOT_SERVING\n");
    mnemo_health_set_serving(ctx, false);
}

static mnemo_status_t open_store(mnemo_store_t **out, const char *data_dir, const char *name,
                                 void (*on_failure)(void *), mnemo_health_t *health,
                                 mnemo_err_t *err)
{
    char path[PATH_MAX];
    mnemo_status_t st = data_path(path, data_dir, name, err);
    if (st == MNEMO_OK)
        st = mnemo_store_open(out, path, NULL, err);
    if (st == MNEMO_OK)
        mnemo_store_on_failure(*out, on_failure, health);
    return st;
}

/* The code index's options from mnemod's flags. */
static mnemo_codeindex_options_t codeindex_options(mnemo_server_t *srv)
{
    const mnemo_config_t *cfg = srv->cfg;
    return (mnemo_codeindex_options_t){
        .allow_roots = (const char *const *)cfg->allow_roots,
        .n_allow_roots = cfg->n_allow_roots,
        .data_dir = cfg->data_dir,
        .sync =
            {
                .batch_size = cfg->batch_size,
                .batch_pause_ms = cfg->batch_pause_ms,
                .max_syncs = cfg->max_syncs,
                .max_file_bytes = cfg->max_file_bytes,
            },
        .pace = &srv->app.pace,
    };
}

static mnemo_status_t open_domain(mnemo_server_t *srv, mnemo_err_t *err)
{
    char scratch[PATH_MAX];
    mnemo_status_t st = data_path(scratch, srv->cfg->data_dir, ".background", err);
    if (st != MNEMO_OK)
        return st;
    mnemo_store_start_background(scratch); /* before any store opens: see store.h */
    srv->app.health = mnemo_health_create();
    st = open_store(&srv->app.memory_store, srv->cfg->data_dir, "memories", memory_store_failed,
                    srv->app.health, err);
    if (st == MNEMO_OK)
        st = open_store(&srv->app.code_store, srv->cfg->data_dir, "code", code_store_failed,
                        srv->app.health, err);
    if (st != MNEMO_OK)
        return st;
    mnemo_pace_init(&srv->app.pace, srv->cfg->sync_share);
    mnemo_memories_options_t mopts = {.sync_writes = srv->cfg->sync_writes};
    st = mnemo_memories_open(&srv->app.memories, srv->app.memory_store, &mopts, err);
    mnemo_codeindex_options_t copts = codeindex_options(srv);
    if (st == MNEMO_OK)
        st = mnemo_codeindex_open(&srv->app.codeindex, srv->app.code_store, &copts, err);
    if (st != MNEMO_OK)
        return st;
    srv->app.cfg = srv->cfg;
    return MNEMO_OK;
}

static mnemo_status_t bind_and_serve(mnemo_server_t *srv, mnemo_err_t *err)
{
    srv->server = create_grpc_server(srv->cfg);
    srv->cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(srv->server, srv->cq, NULL);
    register_methods(srv);
    grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
    srv->port = grpc_server_add_http2_port(srv->server, srv->cfg->listen, creds);
    grpc_server_credentials_release(creds);
    if (srv->port == 0)
        return mnemo_err_set(err, MNEMO_EUNAVAIL,
                             "--listen: cannot listen on %s (address in use or invalid)",
                             srv->cfg->listen);
    grpc_server_start(srv->server);
    for (size_t i = 0; i < srv->n_slots; i++)
        request_slot(&srv->slots[i]);
    srv->threads = mnemo_xcalloc((size_t)srv->cfg->threads, sizeof *srv->threads);
    for (; srv->n_threads < srv->cfg->threads; srv->n_threads++)
        pthread_create(&srv->threads[srv->n_threads], NULL, cq_thread, srv->cq);
    return MNEMO_OK;
}

mnemo_status_t mnemo_server_start(mnemo_server_t **out, const mnemo_config_t *cfg, mnemo_err_t *err)
{
    mnemo_server_t *srv = mnemo_xcalloc(1, sizeof *srv);
    srv->cfg = cfg;
    mnemo_status_t st = open_domain(srv, err);
    if (st == MNEMO_OK)
        st = bind_and_serve(srv, err);
    if (st != MNEMO_OK) {
        mnemo_server_stop(srv);
        return st;
    }
    *out = srv;
    return MNEMO_OK;
}

int mnemo_server_port(const mnemo_server_t *srv)
{
    return srv->port;
}

/* Steps 2-3 of the order: refuse new calls, drain, then cancel leftovers. */
static void drain(mnemo_server_t *srv)
{
    grpc_completion_queue *done = grpc_completion_queue_create_for_next(NULL);
    mnemo_tag_t tag = {NULL};
    grpc_server_shutdown_and_notify(srv->server, done, &tag);
    gpr_timespec grace = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                      gpr_time_from_millis(srv->cfg->grace_ms, GPR_TIMESPAN));
    grpc_event ev = grpc_completion_queue_next(done, grace, NULL);
    if (ev.type == GRPC_QUEUE_TIMEOUT) {
        fprintf(stderr, "mnemod: grace period over, cancelling in-flight calls\n");
        grpc_server_cancel_all_calls(srv->server);
        grpc_completion_queue_next(done, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    }
    grpc_completion_queue_shutdown(done);
    while (grpc_completion_queue_next(done, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(done);
}

static void stop_threads(mnemo_server_t *srv)
{
    grpc_completion_queue_shutdown(srv->cq);
    for (int i = 0; i < srv->n_threads; i++)
        pthread_join(srv->threads[i], NULL);
    free(srv->threads);
    /* Returns at once when the threads saw the shutdown; drains otherwise. */
    while (grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(srv->cq);
}

static void free_slots(mnemo_server_t *srv)
{
    for (size_t i = 0; i < srv->n_slots; i++) {
        grpc_metadata_array_destroy(&srv->slots[i].md);
        grpc_call_details_destroy(&srv->slots[i].details);
    }
    free(srv->slots);
}

void mnemo_server_stop(mnemo_server_t *srv)
{
    if (srv == NULL)
        return;
    if (srv->app.health != NULL)
        mnemo_health_shutdown(srv->app.health);
    /* Syncs stop at a batch boundary; foreground streams get their final
     * CANCELLED event before the drain below waits for them. */
    if (srv->app.codeindex != NULL)
        mnemo_codeindex_shutdown(srv->app.codeindex);
    if (srv->server != NULL) {
        if (srv->n_threads > 0)
            drain(srv);
        grpc_server_destroy(srv->server);
    }
    if (srv->cq != NULL)
        stop_threads(srv);
    free_slots(srv);
    mnemo_codeindex_close(srv->app.codeindex);
    mnemo_memories_close(srv->app.memories);
    /* Last user of health: a store's failure hook (a merger may write
     * until its module closes). */
    mnemo_health_destroy(srv->app.health);
    mnemo_store_close(srv->app.code_store);
    mnemo_store_close(srv->app.memory_store);
    free(srv);
}
