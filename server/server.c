/* server.c - mnemod's lifecycle (see server.h).
 *
 * DESIGN: every registered method keeps SLOTS_PER_METHOD requests posted on
 * the shared CQ; when one completes with a call, the slot takes the call's
 * fields, posts itself again and only then dispatches, so a burst never
 * finds the method without a posted request. success=0 means shutdown: the
 * slot stays idle. The server owns the slots; they are freed after the CQ
 * has drained.
 *
 * --health-listen is a second grpc_server on the same CQ with only the
 * health methods registered (the ports of one grpc_server share every
 * method): a data RPC there is an unknown method, UNIMPLEMENTED, whatever
 * credentials it carries. Both read the one health state.
 *
 * Connection management (keepalive, connection age and idle, stream and
 * header limits) is gRPC core's, set through channel args from --flags.
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
#include <strings.h>
#include <sys/stat.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "bytes.h"
#include "datadir.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "mnemo/codec.h"
#include "recovery.h"
#include "rpc.h"
#include "thread.h"
#include "tls.h"

#define SLOTS_PER_METHOD 4
#define GENERIC_SLOTS    2

typedef struct slot {
    mnemo_tag_t tag;
    mnemo_server_t *srv;
    grpc_server *server;          /* the listener it takes calls from */
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
    mnemo_auth_t *auth;       /* tokens and client certificate roles */
    mnemo_tls_t *tls;         /* NULL: plaintext listener */
    mnemo_metrics_t *metrics; /* every call is reported to it (metrics.h) */
    mnemo_httpd_t *httpd;     /* GET /metrics; NULL without --metrics-listen */
    grpc_server *server;
    grpc_server *health_server; /* --health-listen; NULL: none */
    grpc_completion_queue *cq;
    pthread_t *threads;
    int n_threads;
    slot_t *slots;
    size_t n_slots;
    int port;
    int health_port;
    /* Reopens a store after a full disk; set once the stores are open
     * (their failure hooks wake it; before, it finds them failed itself). */
    _Atomic(mnemo_recovery_t *) recovery;
};

static void request_slot(slot_t *slot)
{
    grpc_call_error e;
    if (slot->method == NULL)
        e = grpc_server_request_call(slot->server, &slot->call, &slot->details, &slot->md,
                                     slot->srv->cq, slot->srv->cq, &slot->tag);
    else
        e = grpc_server_request_registered_call(
            slot->server, slot->registered, &slot->call, &slot->deadline, &slot->md,
            slot->method->client_streaming ? NULL : &slot->payload, slot->srv->cq, slot->srv->cq,
            &slot->tag);
    if (e != GRPC_CALL_OK)
        mnemo_log(MNEMO_LOG_ERROR, "cannot request calls (%d)", (int)e);
}

/* The token of an "authorization: Bearer <token>" header: *token NULL when
 * there is no such header; MNEMO_EUNAUTH for another scheme. */
static mnemo_status_t bearer_token(const grpc_metadata_array *md, const char **token, size_t *len,
                                   mnemo_err_t *err)
{
    static const char scheme[] = "bearer ";
    *token = NULL;
    for (size_t i = 0; i < md->count; i++) {
        if (grpc_slice_str_cmp(md->metadata[i].key, "authorization") != 0)
            continue;
        const char *v = (const char *)GRPC_SLICE_START_PTR(md->metadata[i].value);
        size_t n = GRPC_SLICE_LENGTH(md->metadata[i].value);
        if (n <= sizeof scheme - 1 || strncasecmp(v, scheme, sizeof scheme - 1) != 0)
            return mnemo_err_set(err, MNEMO_EUNAUTH,
                                 "authorization: want 'Bearer <token>' (the value is not shown)");
        *token = v + sizeof scheme - 1;
        *len = n - (sizeof scheme - 1);
        return MNEMO_OK;
    }
    return MNEMO_OK;
}

/* The CN and SANs of the call's verified client certificate, copied into
 * names (each NUL-terminated in buf); returns how many. */
static size_t cert_names(grpc_call *call, const char **names, size_t max, char *buf, size_t cap)
{
    static const char *const props[] = {GRPC_X509_CN_PROPERTY_NAME, GRPC_X509_SAN_PROPERTY_NAME};
    grpc_auth_context *ctx = grpc_call_auth_context(call);
    size_t n = 0, used = 0;
    for (size_t k = 0; ctx != NULL && k < sizeof props / sizeof props[0]; k++) {
        grpc_auth_property_iterator it = grpc_auth_context_find_properties_by_name(ctx, props[k]);
        const grpc_auth_property *p;
        while (n < max && (p = grpc_auth_property_iterator_next(&it)) != NULL) {
            if (p->value_length + 1 > cap - used)
                break;
            memcpy(buf + used, p->value, p->value_length);
            buf[used + p->value_length] = '\0';
            names[n++] = buf + used;
            used += p->value_length + 1;
        }
    }
    grpc_auth_context_release(ctx);
    return n;
}

/* The credential check (auth.h) before a handler runs; who names the
 * credential accepted. */
static mnemo_status_t authorize(const slot_t *slot, grpc_call *call, const grpc_metadata_array *md,
                                char who[MNEMO_AUTH_NAME_MAX + 16], mnemo_err_t *err)
{
    const mnemo_method_t *m = slot->method;
    mnemo_auth_t *auth = slot->srv->auth;
    if (m->role == MNEMO_ROLE_OPEN || !mnemo_auth_enabled(auth))
        return MNEMO_OK;
    mnemo_auth_peer_t peer = {0};
    mnemo_status_t st = bearer_token(md, &peer.bearer, &peer.bearer_len, err);
    if (st != MNEMO_OK)
        return st;
    const char *names[16];
    char buf[2048];
    if (peer.bearer == NULL && slot->srv->cfg->tls_client_roles[0] != '\0') {
        peer.n_cert_names =
            cert_names(call, names, sizeof names / sizeof names[0], buf, sizeof buf);
        peer.cert_names = names;
    }
    char method[MNEMO_METHOD_PATH_MAX];
    snprintf(method, sizeof method, "%s/%s", mnemo_method_service(m), m->name);
    return mnemo_auth_check(auth, &peer, m->role, method, who, err);
}

/* Request headers of a call as HTTP/2 counts them against
 * SETTINGS_MAX_HEADER_LIST_SIZE: name, value and 32 bytes per entry. */
static size_t metadata_bytes(const grpc_metadata_array *md)
{
    size_t n = 0;
    for (size_t i = 0; i < md->count; i++)
        n += GRPC_SLICE_LENGTH(md->metadata[i].key) + GRPC_SLICE_LENGTH(md->metadata[i].value) + 32;
    return n;
}

/* --max-metadata-bytes, checked here rather than by gRPC core, which
 * closes the whole connection over a call whose headers are too large
 * (the other calls on it fail UNAVAILABLE): core gets a higher, hard
 * limit (HARD_METADATA_FACTOR times more) and a call between the two is
 * refused alone, RESOURCE_EXHAUSTED. Header values are never quoted: they
 * may be credentials. */
static mnemo_status_t check_metadata(const slot_t *slot, const grpc_metadata_array *md,
                                     mnemo_err_t *err)
{
    size_t n = metadata_bytes(md), max = (size_t)slot->srv->cfg->conn.max_metadata_bytes;
    if (n <= max)
        return MNEMO_OK;
    return mnemo_err_set(err, MNEMO_ERESOURCE,
                         "request metadata: %zu bytes of headers, over the server's limit of %zu "
                         "(--max-metadata-bytes)",
                         n, max);
}

static void on_slot(mnemo_tag_t *tag, bool ok)
{
    slot_t *slot = (slot_t *)(void *)tag;
    if (!ok)
        return; /* shutting down: no call */
    grpc_call *call = slot->call;
    gpr_timespec deadline = slot->deadline;
    grpc_metadata_array md = slot->md;
    grpc_byte_buffer *payload = slot->payload;
    grpc_call_details details = slot->details;
    slot->call = NULL;
    slot->payload = NULL;
    grpc_metadata_array_init(&slot->md);
    grpc_call_details_init(&slot->details);
    request_slot(slot);
    mnemo_err_t err;
    mnemo_status_t st = MNEMO_OK;
    mnemo_metrics_t *metrics = slot->srv->metrics;
    char who[MNEMO_AUTH_NAME_MAX + 16] = "";
    if (slot->method == NULL) {
        mnemo_call_reject_unknown(call, &details, &md, metrics);
    } else if ((st = check_metadata(slot, &md, &err)) != MNEMO_OK ||
               (st = authorize(slot, call, &md, who, &err)) != MNEMO_OK) {
        mnemo_call_reject(slot->method, call, deadline, &md, payload, metrics, st, err.msg);
    } else {
        if (slot->method->interactive)
            mnemo_pace_note_request(&slot->srv->app.pace);
        mnemo_call_dispatch(slot->method, slot->desc, call, deadline, &md, payload, metrics, who,
                            &slot->srv->app);
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

static size_t count_methods(const mnemo_method_t *const *tables, size_t n_tables)
{
    size_t n = 0;
    for (size_t t = 0; t < n_tables; t++)
        for (const mnemo_method_t *m = tables[t]; m->name != NULL; m++)
            n++;
    return n;
}

static void init_slot(slot_t *slot, mnemo_server_t *srv, grpc_server *server,
                      const mnemo_method_t *m, const ProtobufCMethodDescriptor *desc,
                      void *registered)
{
    slot->tag.fn = on_slot;
    slot->srv = srv;
    slot->server = server;
    slot->method = m;
    slot->desc = desc;
    slot->registered = registered;
    grpc_metadata_array_init(&slot->md);
    grpc_call_details_init(&slot->details);
}

/* Registers every method of tables on server and adds their slots (and
 * the generic ones) to srv's. */
static void register_methods(mnemo_server_t *srv, grpc_server *server,
                             const mnemo_method_t *const *tables, size_t n_tables)
{
    size_t k = srv->n_slots;
    srv->n_slots += count_methods(tables, n_tables) * SLOTS_PER_METHOD + GENERIC_SLOTS;
    srv->slots = mnemo_xrealloc(srv->slots, srv->n_slots * sizeof *srv->slots);
    memset(srv->slots + k, 0, (srv->n_slots - k) * sizeof *srv->slots);
    for (size_t t = 0; t < n_tables; t++) {
        for (const mnemo_method_t *m = tables[t]; m->name != NULL; m++) {
            const ProtobufCMethodDescriptor *desc =
                protobuf_c_service_descriptor_get_method_by_name(m->service, m->name);
            if (desc == NULL || m->role == MNEMO_ROLE_UNSET) {
                mnemo_log(MNEMO_LOG_ERROR, "%s/%s: %s", m->service->name, m->name,
                          desc == NULL ? "no such method" : "the method table gives no role");
                abort();
            }
            char path[MNEMO_METHOD_PATH_MAX];
            snprintf(path, sizeof path, "/%s/%s", mnemo_method_service(m), m->name);
            /* Bidirectional streams read their messages themselves. */
            void *registered = grpc_server_register_method(
                server, path, NULL,
                m->client_streaming ? GRPC_SRM_PAYLOAD_NONE
                                    : GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER,
                0);
            for (int i = 0; i < SLOTS_PER_METHOD; i++)
                init_slot(&srv->slots[k++], srv, server, m, desc, registered);
        }
    }
    while (k < srv->n_slots)
        init_slot(&srv->slots[k++], srv, server, NULL, NULL, NULL);
}

/* gRPC core's own limit: see check_metadata. */
#define HARD_METADATA_FACTOR 4

static int hard_metadata_limit(int max_metadata_bytes)
{
    return max_metadata_bytes > INT_MAX / HARD_METADATA_FACTOR
               ? INT_MAX
               : max_metadata_bytes * HARD_METADATA_FACTOR;
}

static grpc_arg int_arg(const char *key, int value)
{
    grpc_arg arg = {.type = GRPC_ARG_INTEGER, .key = (char *)key, .value.integer = value};
    return arg;
}

/* A grpc_server with mnemod's channel args; max_recv_bytes: the largest
 * request message. MNEMO_DURATION_OFF is INT_MAX, gRPC's "never". */
static grpc_server *create_grpc_server(const mnemo_config_t *cfg, int max_recv_bytes)
{
    const mnemo_conn_config_t *c = &cfg->conn;
    grpc_arg args[] = {
        int_arg(GRPC_ARG_ALLOW_REUSEPORT, 0), /* a second mnemod must fail to bind */
        int_arg(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, max_recv_bytes),
        int_arg(GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, -1),
        int_arg(GRPC_ARG_MAX_CONNECTION_AGE_MS, c->max_connection_age_ms),
        int_arg(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, c->max_connection_age_grace_ms),
        int_arg(GRPC_ARG_MAX_CONNECTION_IDLE_MS, c->max_connection_idle_ms),
        int_arg(GRPC_ARG_KEEPALIVE_TIME_MS, c->keepalive_time_ms),
        int_arg(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, c->keepalive_timeout_ms),
        int_arg(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, c->permit_without_calls),
        int_arg(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, c->min_ping_interval_ms),
        int_arg(GRPC_ARG_MAX_CONCURRENT_STREAMS, c->max_concurrent_streams),
        int_arg(GRPC_ARG_MAX_METADATA_SIZE, hard_metadata_limit(c->max_metadata_bytes)),
    };
    grpc_channel_args channel_args = {sizeof args / sizeof args[0], args};
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

/* A store write failed or damage was found (any thread): health turns
 * NOT_SERVING at once, which every Watch stream hears, whoever made the
 * write; recovery frees the ballast and reopens the store once it can. */
static void store_problem(const char *store, const char *problem, mnemo_server_t *srv)
{
    mnemo_log(MNEMO_LOG_ERROR,
              "%s store: %s; health is NOT_SERVING (README \"When things go wrong\")", store,
              problem);
    mnemo_health_set_serving(srv->app.health, false);
    mnemo_recovery_wake(atomic_load(&srv->recovery), problem);
}

static void memory_store_failed(void *ctx, const char *problem)
{
    store_problem("memories", problem, ctx);
}

static void code_store_failed(void *ctx, const char *problem)
{
    store_problem("code", problem, ctx);
}

/* The recovery thread reopened every failed store: writes work again. */
static void stores_writable(void *ctx)
{
    mnemo_server_t *srv = ctx;
    if (mnemo_store_damaged(srv->app.memory_store) || mnemo_store_damaged(srv->app.code_store))
        return; /* damage is not cured by a reopen: stay NOT_SERVING */
    mnemo_codeindex_recovered(srv->app.codeindex);
    mnemo_health_set_serving(srv->app.health, true);
}

/* Starts the recovery thread over both stores. */
static mnemo_status_t start_recovery(mnemo_server_t *srv, mnemo_err_t *err)
{
    const mnemo_config_t *cfg = srv->cfg;
    unsigned long long ballast = cfg->ballast_bytes, cap = mnemo_datadir_fs_bytes(cfg->data_dir);
    if (ballast == MNEMO_DEFAULT_BALLAST_BYTES && cap > 0 && ballast > cap / 100)
        ballast = cap / 100; /* the default: 64 MiB or 1 % of the disk, the smaller */
    mnemo_recovery_options_t ro = {
        .data_dir = cfg->data_dir,
        .ballast_bytes = ballast,
        .need_bytes = 2ull * cfg->store_write_buffer_bytes + (1u << 20),
        .stores = {srv->app.memory_store, srv->app.code_store},
        .names = {"memories", "code"},
        .n_stores = 2,
        .writable = stores_writable,
        .ctx = srv,
    };
    mnemo_recovery_t *rec = NULL;
    mnemo_status_t st = mnemo_recovery_start(&rec, &ro, err);
    if (st == MNEMO_OK)
        atomic_store(&srv->recovery, rec);
    return st;
}

/* Rewrites err (MNEMO_ECORRUPT from opening or loading a store) into the
 * message an operator needs: which store, what LevelDB said, what to do. */
static mnemo_status_t damaged(const char *store, const char *data_dir, mnemo_err_t *err)
{
    mnemo_err_t why = *err;
    return mnemo_err_set(err, MNEMO_ECORRUPT,
                         "the %s store is damaged and mnemod does not serve damaged data: %.300s; "
                         "keep a copy of %s, then see README \"When things go wrong\"",
                         store, why.msg, data_dir);
}

/* Opens the store name with the options shape, sized by mnemod's flags. */
static mnemo_status_t open_store(mnemo_store_t **out, const mnemo_config_t *cfg, const char *name,
                                 const mnemo_store_options_t *shape,
                                 void (*on_failure)(void *, const char *), mnemo_server_t *srv,
                                 mnemo_err_t *err)
{
    const char *data_dir = cfg->data_dir;
    mnemo_store_options_t opts = *shape;
    opts.cache_bytes = cfg->store_cache_bytes;
    opts.write_buffer_size = cfg->store_write_buffer_bytes;
    char path[PATH_MAX];
    mnemo_status_t st = data_path(path, data_dir, name, err);
    if (st == MNEMO_OK)
        st = mnemo_store_open(out, path, &opts, err);
    if (st == MNEMO_ECORRUPT)
        return damaged(name, data_dir, err);
    if (st == MNEMO_OK)
        mnemo_store_on_failure(*out, on_failure, srv);
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
    static const char *const stores[] = {"memories", "code"};
    bool marked = false;
    st = mnemo_datadir_check(&marked, srv->cfg->data_dir, stores, 2, err);
    if (st != MNEMO_OK)
        return st;
    mnemo_store_options_t memories_shape = {0}, code_shape = {0};
    mnemo_memories_store_options(&memories_shape);
    st = open_store(&srv->app.memory_store, srv->cfg, "memories", &memories_shape,
                    memory_store_failed, srv, err);
    if (st == MNEMO_OK)
        st = open_store(&srv->app.code_store, srv->cfg, "code", &code_shape, code_store_failed, srv,
                        err);
    if (st == MNEMO_OK && !marked)
        st = mnemo_datadir_mark(srv->cfg->data_dir, stores, 2, err);
    if (st != MNEMO_OK)
        return st;
    mnemo_pace_init(&srv->app.pace, srv->cfg->sync_share);
    mnemo_memories_options_t mopts = {.sync_writes = srv->cfg->sync_writes,
                                      .max_result_bytes = srv->cfg->max_reply_bytes};
    st = mnemo_memories_open(&srv->app.memories, srv->app.memory_store, &mopts, err);
    if (st == MNEMO_ECORRUPT)
        return damaged("memories", srv->cfg->data_dir, err);
    mnemo_codeindex_options_t copts = codeindex_options(srv);
    if (st == MNEMO_OK)
        st = mnemo_codeindex_open(&srv->app.codeindex, srv->app.code_store, &copts, err);
    if (st == MNEMO_ECORRUPT)
        return damaged("code", srv->cfg->data_dir, err);
    if (st == MNEMO_OK)
        st = start_recovery(srv, err);
    if (st != MNEMO_OK)
        return st;
    srv->app.cfg = srv->cfg;
    return MNEMO_OK;
}

/* One line about the TLS certificate in use: subject and expiry, a
 * warning when it has expired (clients will refuse it). */
static void log_tls(mnemo_tls_t *tls, const char *what)
{
    mnemo_tls_info_t info;
    mnemo_tls_describe(tls, &info);
    mnemo_log(info.expired ? MNEMO_LOG_WARN : MNEMO_LOG_INFO, "%s (subject %s, expires %s)%s", what,
              info.subject, info.expires,
              info.expired ? ": WARNING, it has EXPIRED, clients will refuse it" : "");
    if (info.n_client_cas > 0)
        mnemo_log(MNEMO_LOG_INFO,
                  "mutual TLS: clients need a certificate from --tls-client-ca (%zu CA "
                  "certificates)",
                  info.n_client_cas);
}

/* The health request is a service name: a small limit is plenty. */
#define HEALTH_MAX_RECV_BYTES (64 << 10)

/* --health-listen: plaintext, whatever --listen needs, for probes that
 * cannot present a client certificate or a token (kubelet's). */
static mnemo_status_t bind_health(mnemo_server_t *srv, mnemo_err_t *err)
{
    static const mnemo_method_t *const health_only[] = {mnemo_rpc_health_methods};
    srv->health_server = create_grpc_server(srv->cfg, HEALTH_MAX_RECV_BYTES);
    grpc_server_register_completion_queue(srv->health_server, srv->cq, NULL);
    register_methods(srv, srv->health_server, health_only, 1);
    grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
    srv->health_port =
        grpc_server_add_http2_port(srv->health_server, srv->cfg->health_listen, creds);
    grpc_server_credentials_release(creds);
    if (srv->health_port == 0)
        return mnemo_err_set(err, MNEMO_EUNAVAIL,
                             "--health-listen: cannot listen on %s (address in use or invalid)",
                             srv->cfg->health_listen);
    return MNEMO_OK;
}

static mnemo_status_t bind_and_serve(mnemo_server_t *srv, mnemo_err_t *err)
{
    srv->server = create_grpc_server(srv->cfg, (int)srv->cfg->max_recv_bytes);
    srv->cq = grpc_completion_queue_create_for_next(NULL);
    mnemo_call_open_queue();
    grpc_server_register_completion_queue(srv->server, srv->cq, NULL);
    register_methods(srv, srv->server, mnemo_rpc_tables, mnemo_rpc_n_tables);
    grpc_server_credentials *creds = srv->tls != NULL ? mnemo_tls_server_credentials(srv->tls)
                                                      : grpc_insecure_server_credentials_create();
    srv->port = grpc_server_add_http2_port(srv->server, srv->cfg->listen, creds);
    grpc_server_credentials_release(creds);
    if (srv->port == 0)
        return mnemo_err_set(
            err, MNEMO_EUNAVAIL, "--listen: cannot listen on %s (address in use or invalid%s)",
            srv->cfg->listen, srv->tls != NULL ? ", or gRPC refused the TLS files" : "");
    if (srv->cfg->health_listen[0] != '\0') {
        mnemo_status_t st = bind_health(srv, err);
        if (st != MNEMO_OK)
            return st; /* neither server started: both can be destroyed */
    }
    if (srv->tls != NULL)
        log_tls(srv->tls, "TLS on --listen with certificate");
    int heartbeat = srv->cfg->stream_heartbeat_ms;
    srv->app.ticker = mnemo_ticker_start(heartbeat == MNEMO_DURATION_OFF ? 0 : heartbeat);
    grpc_server_start(srv->server);
    if (srv->health_server != NULL)
        grpc_server_start(srv->health_server);
    for (size_t i = 0; i < srv->n_slots; i++)
        request_slot(&srv->slots[i]);
    srv->threads = mnemo_xcalloc((size_t)srv->cfg->threads, sizeof *srv->threads);
    for (; srv->n_threads < srv->cfg->threads; srv->n_threads++)
        pthread_create(&srv->threads[srv->n_threads], NULL, cq_thread, srv->cq);
    return MNEMO_OK;
}

/* GET /metrics: the call counters and what the domain and /proc say. */
static void render_metrics(void *ctx, mnemo_buf_t *out)
{
    mnemo_server_t *srv = ctx;
    mnemo_metrics_sources_t src = {
        .memories = srv->app.memories,
        .codeindex = srv->app.codeindex,
        .stores = {srv->app.memory_store, srv->app.code_store},
        .store_names = {"memories", "code"},
    };
    mnemo_metrics_render(srv->metrics, &src, out);
}

/* --metrics-listen: the listener, once the domain it reads is open. */
static mnemo_status_t serve_metrics(mnemo_server_t *srv, mnemo_err_t *err)
{
    const char *listen = srv->cfg->metrics_listen;
    int port = 0;
    if (listen[0] == '\0')
        return MNEMO_OK;
    mnemo_status_t st = mnemo_httpd_start(&srv->httpd, listen, render_metrics, srv, &port, err);
    if (st == MNEMO_OK) {
        const char *colon = strrchr(listen, ':');
        mnemo_log(MNEMO_LOG_INFO, "metrics on http://%.*s:%d/metrics", (int)(colon - listen),
                  listen, port);
    }
    return st;
}

mnemo_status_t mnemo_server_start(mnemo_server_t **out, const mnemo_config_t *cfg, mnemo_err_t *err)
{
    mnemo_server_t *srv = mnemo_xcalloc(1, sizeof *srv);
    srv->cfg = cfg;
    mnemo_metrics_options_t mo = {.count_calls = cfg->metrics_listen[0] != '\0',
                                  .access_log = cfg->access_log};
    srv->metrics = mnemo_metrics_create(&mo);
    /* Credentials first: a bad file is a configuration error (exit 2),
     * found before the data dir is touched. */
    mnemo_status_t st = mnemo_auth_open(&srv->auth, cfg->auth_tokens, cfg->tls_client_roles, err);
    if (st == MNEMO_OK && cfg->tls_cert[0] != '\0')
        st = mnemo_tls_open(&srv->tls, cfg->tls_cert, cfg->tls_key, cfg->tls_client_ca, err);
    if (st == MNEMO_OK)
        st = open_domain(srv, err);
    if (st == MNEMO_OK)
        st = bind_and_serve(srv, err);
    if (st == MNEMO_OK)
        st = serve_metrics(srv, err);
    if (st != MNEMO_OK) {
        mnemo_server_stop(srv);
        return st;
    }
    *out = srv;
    return MNEMO_OK;
}

/* SIGHUP's TLS half: new handshakes get the files re-read. */
static void reload_tls(mnemo_tls_t *tls)
{
    mnemo_err_t err;
    if (mnemo_tls_reload(tls, NULL, &err) == MNEMO_OK)
        log_tls(tls, "TLS certificate reloaded");
    else
        mnemo_log(MNEMO_LOG_WARN, "TLS files NOT reloaded, the previous ones stay: %s", err.msg);
}

void mnemo_server_reload(mnemo_server_t *srv)
{
    mnemo_err_t err;
    size_t n_tokens = 0, n_certs = 0;
    if (srv->tls != NULL)
        reload_tls(srv->tls);
    if (!mnemo_auth_enabled(srv->auth))
        return;
    if (mnemo_auth_reload(srv->auth, &n_tokens, &n_certs, &err) == MNEMO_OK)
        mnemo_log(MNEMO_LOG_INFO, "credentials reloaded: %zu tokens, %zu certificate names",
                  n_tokens, n_certs);
    else
        mnemo_log(MNEMO_LOG_WARN, "credentials NOT reloaded, the previous ones stay: %s", err.msg);
}

int mnemo_server_port(const mnemo_server_t *srv)
{
    return srv->port;
}

int mnemo_server_health_port(const mnemo_server_t *srv)
{
    return srv->health_port;
}

void mnemo_server_drain(mnemo_server_t *srv)
{
    mnemo_health_drain(srv->app.health);
}

/* Steps 2-4 of the order: GOAWAY on every listener (new calls refused),
 * syncs stopped at a batch boundary while their calls may still finish,
 * then wait for the calls in flight for the grace period and cancel what
 * is left. */
static void drain(mnemo_server_t *srv)
{
    grpc_server *servers[] = {srv->server, srv->health_server};
    size_t n = srv->health_server != NULL ? 2 : 1;
    grpc_completion_queue *done = grpc_completion_queue_create_for_next(NULL);
    mnemo_tag_t tags[2] = {{NULL}, {NULL}};
    for (size_t i = 0; i < n; i++)
        grpc_server_shutdown_and_notify(servers[i], done, &tags[i]);
    gpr_timespec grace = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                      gpr_time_from_millis(srv->cfg->grace_ms, GPR_TIMESPAN));
    /* Foreground streams get their final event and UNAVAILABLE here. */
    if (srv->app.codeindex != NULL)
        mnemo_codeindex_shutdown(srv->app.codeindex);
    for (size_t notified = 0; notified < n;) {
        if (grpc_completion_queue_next(done, grace, NULL).type == GRPC_OP_COMPLETE) {
            notified++;
            continue;
        }
        mnemo_log(MNEMO_LOG_WARN, "grace period over, cancelling in-flight calls");
        for (size_t i = 0; i < n; i++)
            grpc_server_cancel_all_calls(servers[i]);
        grace = gpr_inf_future(GPR_CLOCK_MONOTONIC);
    }
    grpc_completion_queue_shutdown(done);
    while (grpc_completion_queue_next(done, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(done);
}

static void stop_threads(mnemo_server_t *srv)
{
    mnemo_call_close_queue(srv->cq);
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
    mnemo_httpd_stop(srv->httpd); /* no scrape reads what is closed below */
    if (srv->app.health != NULL)
        mnemo_health_shutdown(srv->app.health);
    mnemo_recovery_stop(atomic_load(&srv->recovery)); /* no reopen while we close */
    /* Also after a start that failed once a port was bound: gRPC does not
     * destroy a server with listeners that was not shut down. */
    if (srv->server != NULL)
        drain(srv);
    mnemo_ticker_halt(srv->app.ticker); /* before the queue shuts down */
    /* Not served (the start failed before the server), or drained. */
    if (srv->app.codeindex != NULL)
        mnemo_codeindex_shutdown(srv->app.codeindex);
    if (srv->health_server != NULL)
        grpc_server_destroy(srv->health_server);
    if (srv->server != NULL)
        grpc_server_destroy(srv->server);
    if (srv->cq != NULL)
        stop_threads(srv);
    mnemo_ticker_stop(srv->app.ticker); /* every call has closed */
    free_slots(srv);
    mnemo_codeindex_close(srv->app.codeindex);
    mnemo_memories_close(srv->app.memories);
    /* Last user of health: a store's failure hook (a merger may write
     * until its module closes). */
    mnemo_health_destroy(srv->app.health);
    mnemo_store_close(srv->app.code_store);
    mnemo_store_close(srv->app.memory_store);
    mnemo_recovery_destroy(atomic_load(&srv->recovery)); /* the hooks are gone */
    mnemo_auth_close(srv->auth);
    mnemo_tls_close(srv->tls);           /* after grpc_server_destroy: its fetcher reads it */
    mnemo_metrics_destroy(srv->metrics); /* every call has ended */
    free(srv);
}
