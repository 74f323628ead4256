/* rpc_health.c - grpc.health.v1.Health: Check and Watch for "" (the whole
 * server) and every service mnemod registers (the method tables).
 *
 * DESIGN: one serving flag covers every service (they share the process and
 * the data dir). It turns NOT_SERVING at shutdown and the moment a store
 * write fails, on whichever thread made it (server.c hooks each store), so
 * Watch streams hear of a failed sync batch without waiting for some later
 * RPC to fail. SIGTERM drains first: NOT_SERVING for good (a store that
 * works again cannot turn it back), while Check and Watch keep answering,
 * so a load balancer sees the replica go before it refuses anything.
 * Watch streams are kept in a list; each holds its call's owner reference
 * until it ends, either because the client went away (the call's on-close
 * hook removes it) or because the server shuts down (shutdown sends
 * NOT_SERVING, then ends every stream with UNAVAILABLE so the drain does
 * not wait for them). Both listeners (--listen, --health-listen) read the
 * same state. Lock order: health->mu, then a call's own mutex.
 *
 * Threads: any; handlers run on CQ threads.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "rpc.h"
#include "bytes.h"

typedef struct watcher {
    mnemo_call_t *call;
    struct watcher *next;
} watcher_t;

struct mnemo_health {
    pthread_mutex_t mu;
    bool serving;
    bool draining; /* NOT_SERVING for good; Check and Watch still answer */
    bool shut;     /* Watch streams ended; new ones refused */
    watcher_t *watchers;
};

/* "" or the name of a service in the method tables. */
static bool known_service(const char *name)
{
    if (name[0] == '\0')
        return true;
    for (size_t t = 0; t < mnemo_rpc_n_tables; t++)
        for (const mnemo_method_t *m = mnemo_rpc_tables[t]; m->name != NULL; m++)
            if (strcmp(name, mnemo_method_service(m)) == 0)
                return true;
    return false;
}

mnemo_health_t *mnemo_health_create(void)
{
    mnemo_health_t *h = mnemo_xcalloc(1, sizeof *h);
    pthread_mutex_init(&h->mu, NULL);
    h->serving = true;
    return h;
}

void mnemo_health_destroy(mnemo_health_t *h)
{
    if (h == NULL)
        return;
    pthread_mutex_destroy(&h->mu);
    free(h);
}

static void send_status(mnemo_call_t *call, Grpc__Health__V1__HealthCheckResponse__ServingStatus s)
{
    Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    resp.status = s;
    mnemo_call_send(call, &resp.base);
}

static Grpc__Health__V1__HealthCheckResponse__ServingStatus status_locked(mnemo_health_t *h)
{
    return h->serving ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
                      : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
}

static void set_serving_locked(mnemo_health_t *h, bool serving)
{
    if (h->serving == serving)
        return;
    h->serving = serving;
    for (watcher_t *w = h->watchers; w != NULL; w = w->next)
        send_status(w->call, status_locked(h));
}

void mnemo_health_set_serving(mnemo_health_t *h, bool serving)
{
    pthread_mutex_lock(&h->mu);
    if (!h->draining)
        set_serving_locked(h, serving);
    pthread_mutex_unlock(&h->mu);
}

void mnemo_health_drain(mnemo_health_t *h)
{
    pthread_mutex_lock(&h->mu);
    set_serving_locked(h, false);
    h->draining = true;
    pthread_mutex_unlock(&h->mu);
}

void mnemo_health_shutdown(mnemo_health_t *h)
{
    mnemo_health_drain(h);
    pthread_mutex_lock(&h->mu);
    h->shut = true;
    watcher_t *list = h->watchers;
    h->watchers = NULL;
    pthread_mutex_unlock(&h->mu);
    while (list != NULL) {
        watcher_t *next = list->next;
        mnemo_call_finish(list->call, MNEMO_EUNAVAIL, "server is shutting down");
        free(list);
        list = next;
    }
}

static void check(mnemo_call_t *call, const ProtobufCMessage *msg, void *ctx)
{
    mnemo_app_t *app = ctx;
    const Grpc__Health__V1__HealthCheckRequest *req =
        (const Grpc__Health__V1__HealthCheckRequest *)msg;
    if (!known_service(req->service)) {
        mnemo_call_finish(call, MNEMO_ENOTFOUND, "service: unknown service");
        return;
    }
    Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    pthread_mutex_lock(&app->health->mu);
    resp.status = status_locked(app->health);
    pthread_mutex_unlock(&app->health->mu);
    mnemo_call_reply(call, &resp.base);
}

/* The client went away: drop its watcher, if shutdown has not already. */
static void watcher_closed(void *ctx, mnemo_call_t *call)
{
    mnemo_health_t *h = ctx;
    watcher_t *found = NULL;
    pthread_mutex_lock(&h->mu);
    for (watcher_t **p = &h->watchers; *p != NULL; p = &(*p)->next) {
        if ((*p)->call == call) {
            found = *p;
            *p = found->next;
            break;
        }
    }
    pthread_mutex_unlock(&h->mu);
    if (found != NULL) {
        mnemo_call_finish(call, MNEMO_ECANCELLED, NULL);
        free(found);
    }
}

static void watch(mnemo_call_t *call, const ProtobufCMessage *msg, void *ctx)
{
    mnemo_app_t *app = ctx;
    mnemo_health_t *h = app->health;
    const Grpc__Health__V1__HealthCheckRequest *req =
        (const Grpc__Health__V1__HealthCheckRequest *)msg;
    pthread_mutex_lock(&h->mu);
    if (h->shut) {
        pthread_mutex_unlock(&h->mu);
        mnemo_call_finish(call, MNEMO_EUNAVAIL, "server is shutting down");
        return;
    }
    if (!known_service(req->service)) {
        /* The health protocol: an unknown service is reported, not refused,
         * because it may appear later. */
        send_status(call, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN);
    } else {
        send_status(call, status_locked(h));
    }
    if (!mnemo_call_on_close(call, watcher_closed, h)) {
        pthread_mutex_unlock(&h->mu);
        mnemo_call_finish(call, MNEMO_ECANCELLED, NULL);
        return;
    }
    watcher_t *w = mnemo_xcalloc(1, sizeof *w);
    w->call = call;
    w->next = h->watchers;
    h->watchers = w;
    pthread_mutex_unlock(&h->mu);
}

const mnemo_method_t mnemo_rpc_health_methods[] = {
    {.service = &grpc__health__v1__health__descriptor,
     .name = "Check",
     .server_streaming = false,
     .handler = check,
     .role = MNEMO_ROLE_OPEN},
    {.service = &grpc__health__v1__health__descriptor,
     .name = "Watch",
     .server_streaming = true,
     .handler = watch,
     .role = MNEMO_ROLE_OPEN},
    {.name = NULL},
};
