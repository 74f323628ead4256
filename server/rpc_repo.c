/* rpc_repo.c - mnemo.v1.RepositoryService: sync streams, status, cancel,
 * repository listing and deletion, code search.
 *
 * DESIGN: a SyncRepository or WatchSync stream is a sync observer
 * (sync.h) bound to its call. The job thread hands it snapshots; it keeps
 * the latest one and the skips not yet sent, and tells the call. The call
 * pulls one SyncEvent whenever its previous send has completed, so the job
 * never waits for a slow client, a slow client gets fewer, fresher events,
 * and no skipped file is dropped from the stream on the way. The
 * observer is shared by two owners - the job's subscription and the call's
 * on-close hook - and freed when both are done with it. For a foreground
 * sync the close hook cancels the job: a client that cancels, disconnects
 * or runs past its deadline stops the sync at the next batch boundary. A
 * background sync sends its first event and ends the call at once.
 *
 * Every rule about repositories (allowed roots, names, one sync per
 * repository, delete vs sync) and the code index lock live in
 * codeindex.h; a handler here validates the limits of its fields, calls
 * one function there and encodes the answer.
 *
 * Threads: handlers on CQ threads; observer callbacks on job threads.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "mnemo/codec.h"
#include "mnemo/v1/repository.pb-c.h"
#include "bytes.h"
#include "rpc.h"

#define PATH_FIELD_MAX 4096

/* ---- messages ----------------------------------------------------------- */

typedef struct pb_status {
    Mnemo__V1__SyncStatus msg;
    Mnemo__V1__SyncProgress progress;
} pb_status_t;

static void pb_status_init(pb_status_t *pb, const mnemo_sync_status_t *s)
{
    mnemo__v1__sync_status__init(&pb->msg);
    mnemo__v1__sync_progress__init(&pb->progress);
    const mnemo_sync_progress_t *p = &s->progress;
    pb->progress.total_files = p->total_files;
    pb->progress.processed_files = p->processed_files;
    pb->progress.unchanged_files = p->unchanged_files;
    pb->progress.skipped_files = p->skipped_files;
    pb->progress.failed_files = p->failed_files;
    pb->progress.deleted_files = p->deleted_files;
    pb->progress.chunks_written = p->chunks_written;
    pb->progress.bytes_processed = p->bytes_processed;
    pb->progress.batches_committed = p->batches_committed;
    pb->progress.percentage = p->percentage;
    pb->progress.paced_ms = p->paced_ms;
    pb->msg.repository_name = (char *)s->name;
    pb->msg.repository_path = s->path != NULL ? s->path : "";
    pb->msg.state = (Mnemo__V1__SyncState)s->state;
    pb->msg.progress = &pb->progress;
    pb->msg.started_at_ms = s->started_at_ms;
    pb->msg.finished_at_ms = s->finished_at_ms;
    pb->msg.error = s->error != NULL ? s->error : "";
    pb->msg.background = s->background;
}

/* A SyncEvent message pointing into ev. */
typedef struct pb_event {
    pb_status_t status;
    Mnemo__V1__SkippedFile *skipped;
    Mnemo__V1__SkippedFile **ptrs;
    Mnemo__V1__SyncEvent msg;
} pb_event_t;

static void pb_event_init(pb_event_t *pe, const mnemo_sync_event_t *ev)
{
    pb_status_init(&pe->status, ev->status);
    pe->skipped = mnemo_xcalloc(ev->n_skipped, sizeof *pe->skipped);
    pe->ptrs = mnemo_xcalloc(ev->n_skipped, sizeof *pe->ptrs);
    for (size_t i = 0; i < ev->n_skipped; i++) {
        mnemo__v1__skipped_file__init(&pe->skipped[i]);
        pe->skipped[i].path = ev->skipped[i].path;
        pe->skipped[i].reason = (char *)ev->skipped[i].reason;
        pe->ptrs[i] = &pe->skipped[i];
    }
    mnemo__v1__sync_event__init(&pe->msg);
    pe->msg.status = &pe->status.msg;
    pe->msg.current_path = (char *)(ev->current_path != NULL ? ev->current_path : "");
    pe->msg.skipped = pe->ptrs;
    pe->msg.n_skipped = ev->n_skipped;
}

static void pb_event_cleanup(pb_event_t *pe)
{
    free(pe->ptrs);
    free(pe->skipped);
}

static void send_event(mnemo_call_t *call, const mnemo_sync_event_t *ev)
{
    pb_event_t pe;
    pb_event_init(&pe, ev);
    mnemo_call_send(call, &pe.msg.base);
    pb_event_cleanup(&pe);
}

static void reply_status(mnemo_call_t *call, const mnemo_sync_status_t *s)
{
    pb_status_t pb;
    pb_status_init(&pb, s);
    mnemo_call_reply(call, &pb.msg.base);
}

/* ---- stream observers ----------------------------------------------------- */

typedef struct stream_obs {
    mnemo_sync_observer_t base; /* first: the job hands us this pointer */
    mnemo_call_t *call;
    mnemo_sync_job_t *job;
    bool cancel_on_close; /* foreground sync: the client leaving cancels it */
    atomic_int refs;      /* the subscription's and the close hook's */

    pthread_mutex_t mu;         /* guards what the next event will carry */
    mnemo_sync_status_t status; /* latest snapshot (owned copy) */
    char *current_path;
    mnemo_walk_skip_t *skips; /* found since the last event sent */
    size_t n_skips;
    size_t cap_skips;
} stream_obs_t;

static void free_skips(stream_obs_t *obs)
{
    for (size_t i = 0; i < obs->n_skips; i++)
        free(obs->skips[i].path);
    obs->n_skips = 0;
}

static void obs_unref(stream_obs_t *obs)
{
    if (atomic_fetch_sub(&obs->refs, 1) != 1)
        return;
    mnemo_sync_job_unref(obs->job);
    mnemo_sync_status_cleanup(&obs->status);
    free(obs->current_path);
    free_skips(obs);
    free(obs->skips);
    pthread_mutex_destroy(&obs->mu);
    free(obs);
}

/* Keeps the latest snapshot and adds the event's skips to those not yet
 * sent. Runs on the job's thread. */
static void obs_record(stream_obs_t *obs, const mnemo_sync_event_t *ev)
{
    pthread_mutex_lock(&obs->mu);
    mnemo_sync_status_cleanup(&obs->status);
    obs->status = *ev->status;
    obs->status.path = mnemo_xstrdup(ev->status->path);
    obs->status.error = mnemo_xstrdup(ev->status->error);
    free(obs->current_path);
    obs->current_path = mnemo_xstrdup(ev->current_path != NULL ? ev->current_path : "");
    for (size_t i = 0; i < ev->n_skipped; i++) {
        if (obs->n_skips == obs->cap_skips) {
            obs->cap_skips = obs->cap_skips ? 2 * obs->cap_skips : 16;
            obs->skips = mnemo_xrealloc(obs->skips, obs->cap_skips * sizeof *obs->skips);
        }
        obs->skips[obs->n_skips].path = mnemo_xstrdup(ev->skipped[i].path);
        obs->skips[obs->n_skips++].reason = ev->skipped[i].reason;
    }
    pthread_mutex_unlock(&obs->mu);
}

/* The call is ready to send: one event with the latest snapshot and every
 * skip since the previous event sent. */
static grpc_byte_buffer *obs_produce(void *ctx)
{
    stream_obs_t *obs = ctx;
    pthread_mutex_lock(&obs->mu);
    mnemo_sync_event_t ev = {&obs->status, obs->current_path, obs->skips, obs->n_skips, false};
    pb_event_t pe;
    pb_event_init(&pe, &ev);
    grpc_byte_buffer *buf = mnemo_codec_encode(&pe.msg.base);
    pb_event_cleanup(&pe);
    free_skips(obs);
    pthread_mutex_unlock(&obs->mu);
    return buf;
}

static void obs_event(mnemo_sync_observer_t *base, const mnemo_sync_event_t *ev)
{
    stream_obs_t *obs = (stream_obs_t *)(void *)base;
    obs_record(obs, ev);
    mnemo_call_notify(obs->call, obs_produce, obs);
}

/* The sync ended: its final event, then the status. A foreground sync the
 * server stopped (shutdown) ends UNAVAILABLE, a status clients retry, so
 * that its client knows to sync again, which resumes it; a WatchSync
 * stream saw the sync end and ends OK. */
static void obs_final(mnemo_sync_observer_t *base, const mnemo_sync_event_t *ev)
{
    stream_obs_t *obs = (stream_obs_t *)(void *)base;
    obs_record(obs, ev);
    mnemo_call_notify(obs->call, obs_produce, obs);
    if (ev->server_stopped && obs->cancel_on_close)
        mnemo_call_finish(obs->call, MNEMO_EUNAVAIL,
                          "the server is shutting down: the sync stopped at a batch boundary and "
                          "every committed batch is kept; run SyncRepository again to resume it");
    else
        mnemo_call_finish(obs->call, MNEMO_OK, NULL);
    obs_unref(obs);
}

static void obs_closed(void *ctx, mnemo_call_t *call)
{
    stream_obs_t *obs = ctx;
    /* The call may still hold obs as its producer (a send completing after
     * the client left): detach it before obs can be freed below. */
    mnemo_call_stop_produce(call);
    if (obs->cancel_on_close)
        mnemo_sync_job_cancel(obs->job);
    if (mnemo_sync_job_unsubscribe(obs->job, &obs->base)) {
        mnemo_call_finish(call, MNEMO_ECANCELLED, NULL);
        obs_unref(obs);
    }
    obs_unref(obs);
}

static stream_obs_t *obs_create(mnemo_call_t *call, bool cancel_on_close)
{
    stream_obs_t *obs = mnemo_xcalloc(1, sizeof *obs);
    obs->base.on_event = obs_event;
    obs->base.on_final = obs_final;
    obs->call = call;
    obs->cancel_on_close = cancel_on_close;
    atomic_init(&obs->refs, 2);
    pthread_mutex_init(&obs->mu, NULL);
    return obs;
}

/* Hooks a subscribed observer to its call's close, and the call to the
 * heartbeats (the producer resends the latest status when the sync is
 * quiet). The extra call reference keeps the call alive should the job
 * end (and finish the call) before the hook is in place. */
static void obs_attach(stream_obs_t *obs, mnemo_ticker_t *ticker)
{
    mnemo_call_t *call = obs->call; /* obs may be gone after obs_closed */
    if (!mnemo_call_on_close(call, obs_closed, obs))
        obs_closed(obs, call);
    else
        mnemo_call_heartbeat(call, ticker);
    mnemo_call_unref(call);
}

/* ---- handlers ------------------------------------------------------------ */

mnemo_status_t mnemo_rpc_check_sync_repository(size_t *batch_size,
                                               const Mnemo__V1__SyncRepositoryRequest *req,
                                               mnemo_err_t *err)
{
    /* 0 stays 0: the code index fills in its default. */
    return mnemo_rpc_check_count(batch_size, req->batch_size, "batch_size", 0, MNEMO_SYNC_BATCH_MAX,
                                 err);
}

static void sync_repository(mnemo_call_t *call, const ProtobufCMessage *msg, void *ctx)
{
    mnemo_app_t *app = ctx;
    const Mnemo__V1__SyncRepositoryRequest *req = (const Mnemo__V1__SyncRepositoryRequest *)msg;
    mnemo_err_t err;
    size_t batch_size = 0;
    mnemo_status_t st = mnemo_rpc_check_sync_repository(&batch_size, req, &err);
    if (st != MNEMO_OK) {
        mnemo_rpc_fail(call, st, &err);
        return;
    }
    mnemo_codeindex_sync_request_t sreq = {
        .path = req->repository_path,
        .name = req->repository_name,
        .background = req->background,
        .full = req->full,
        .dry_run = req->dry_run,
        .batch_size = (int)batch_size,
    };
    stream_obs_t *obs = obs_create(call, !req->background);
    mnemo_call_ref(call);
    st = mnemo_codeindex_sync(app->codeindex, &obs->job, &sreq, &obs->base, &err);
    if (st != MNEMO_OK) {
        /* A start that failed after subscribing left obs as the call's
         * producer: detach it before obs goes. */
        mnemo_call_stop_produce(call);
        atomic_store(&obs->refs, 1);
        obs_unref(obs);
        mnemo_call_unref(call);
        mnemo_rpc_fail(call, st, &err);
        return;
    }
    if (req->background && mnemo_sync_job_unsubscribe(obs->job, &obs->base)) {
        /* The first event is queued: end the stream; the sync goes on. */
        mnemo_call_finish(call, MNEMO_OK, NULL);
        obs_unref(obs);
    }
    obs_attach(obs, req->background ? NULL : app->ticker);
}

/* A WatchSync of a repository that is not syncing: its last persisted
 * status is the only event. */
static void watch_finished(mnemo_call_t *call, mnemo_sync_status_t *last)
{
    mnemo_sync_event_t ev = {last, "", NULL, 0, false};
    send_event(call, &ev);
    mnemo_call_finish(call, MNEMO_OK, NULL);
    mnemo_sync_status_cleanup(last);
}

static void watch_sync(mnemo_call_t *call, const ProtobufCMessage *msg, void *ctx)
{
    mnemo_app_t *app = ctx;
    const Mnemo__V1__WatchSyncRequest *req = (const Mnemo__V1__WatchSyncRequest *)msg;
    mnemo_err_t err;
    mnemo_sync_status_t last = {0};
    stream_obs_t *obs = obs_create(call, false);
    mnemo_call_ref(call);
    mnemo_status_t st = mnemo_codeindex_watch(app->codeindex, &obs->job, &last,
                                              req->repository_name, &obs->base, &err);
    if (st != MNEMO_OK || obs->job == NULL) {
        atomic_store(&obs->refs, 1);
        obs_unref(obs);
        mnemo_call_unref(call);
        if (st != MNEMO_OK)
            mnemo_rpc_fail(call, st, &err);
        else
            watch_finished(call, &last);
        return;
    }
    obs_attach(obs, app->ticker);
}

/* GetSyncStatus: the live status of a running sync, else the last
 * persisted one. */
static void get_sync_status(mnemo_call_t *call, const ProtobufCMessage *msg, void *ctx)
{
    mnemo_app_t *app = ctx;
    const char *name = ((const Mnemo__V1__GetSyncStatusRequest *)msg)->repository_name;
    mnemo_err_t err;
    mnemo_sync_status_t status = {0};
    mnemo_status_t st = mnemo_codeindex_status(app->codeindex, &status, name, false, &err);
    if (st != MNEMO_OK) {
        mnemo_rpc_fail(call, st, &err);
        return;
    }
    reply_status(call, &status);
    mnemo_sync_status_cleanup(&status);
}

/* CancelSync of a running sync answers once the sync has stopped, with
 * the state it stopped in: an observer whose final event replies. The
 * call's deadline bounds the wait (gRPC ends the call then; the reply
 * that comes later is dropped). Unary calls have no close hook, so the
 * observer stays subscribed until the final event, which always comes:
 * shutdown stops and joins every sync. */
typedef struct cancel_obs {
    mnemo_sync_observer_t base; /* first: the job hands us this pointer */
    mnemo_call_t *call;
} cancel_obs_t;

static void cancel_obs_event(mnemo_sync_observer_t *base, const mnemo_sync_event_t *ev)
{
    (void)base; /* progress: the answer waits for the end */
    (void)ev;
}

static void cancel_obs_final(mnemo_sync_observer_t *base, const mnemo_sync_event_t *ev)
{
    cancel_obs_t *obs = (cancel_obs_t *)(void *)base;
    reply_status(obs->call, ev->status);
    free(obs);
}

static void cancel_sync(mnemo_call_t *call, const ProtobufCMessage *msg, void *ctx)
{
    mnemo_app_t *app = ctx;
    const char *name = ((const Mnemo__V1__CancelSyncRequest *)msg)->repository_name;
    mnemo_err_t err;
    mnemo_sync_status_t last = {0};
    mnemo_sync_job_t *job = NULL;
    cancel_obs_t *obs = mnemo_xcalloc(1, sizeof *obs);
    obs->base.on_event = cancel_obs_event;
    obs->base.on_final = cancel_obs_final;
    obs->call = call;
    mnemo_status_t st = mnemo_codeindex_cancel(app->codeindex, &job, &last, name, &obs->base, &err);
    if (st == MNEMO_OK && job != NULL) {
        mnemo_sync_job_unref(job); /* obs stays subscribed: its final event replies */
        return;
    }
    free(obs);
    if (st != MNEMO_OK) {
        mnemo_rpc_fail(call, st, &err);
        return;
    }
    reply_status(call, &last); /* not syncing: its last recorded status */
    mnemo_sync_status_cleanup(&last);
}

mnemo_status_t mnemo_rpc_check_list_repositories(size_t *page_size,
                                                 const Mnemo__V1__ListRepositoriesRequest *req,
                                                 const mnemo_limits_t *lim, mnemo_err_t *err)
{
    return mnemo_rpc_check_page(page_size, req->page_size, req->page_token, lim, err);
}

static void list_repositories(mnemo_call_t *call, const ProtobufCMessage *msg, void *ctx)
{
    mnemo_app_t *app = ctx;
    const Mnemo__V1__ListRepositoriesRequest *req = (const Mnemo__V1__ListRepositoriesRequest *)msg;
    mnemo_err_t err;
    size_t page_size = 0, n = 0;
    mnemo_repo_info_t *infos = NULL;
    char *next = NULL;
    mnemo_status_t st = mnemo_rpc_check_list_repositories(&page_size, req, &app->cfg->limits, &err);
    if (st == MNEMO_OK)
        st = mnemo_codeindex_list(app->codeindex, &infos, &n, &next, page_size, req->page_token,
                                  &err);
    if (st != MNEMO_OK) {
        mnemo_rpc_fail(call, st, &err);
        return;
    }
    Mnemo__V1__Repository *repos = mnemo_xcalloc(n, sizeof *repos);
    Mnemo__V1__Repository **ptrs = mnemo_xcalloc(n, sizeof *ptrs);
    for (size_t i = 0; i < n; i++) {
        mnemo__v1__repository__init(&repos[i]);
        repos[i].name = infos[i].name;
        repos[i].path = infos[i].path != NULL ? infos[i].path : "";
        repos[i].file_count = infos[i].file_count;
        repos[i].chunk_count = infos[i].chunk_count;
        repos[i].last_synced_at_ms = infos[i].last_synced_at_ms;
        repos[i].last_state = (Mnemo__V1__SyncState)infos[i].last_state;
        ptrs[i] = &repos[i];
    }
    Mnemo__V1__ListRepositoriesResponse resp = MNEMO__V1__LIST_REPOSITORIES_RESPONSE__INIT;
    resp.repositories = ptrs;
    resp.n_repositories = n;
    resp.next_page_token = next != NULL ? next : "";
    mnemo_call_reply(call, &resp.base);
    free(ptrs);
    free(repos);
    free(next);
    mnemo_repo_infos_free(infos, n);
}

static void delete_repository(mnemo_call_t *call, const ProtobufCMessage *msg, void *ctx)
{
    mnemo_app_t *app = ctx;
    const Mnemo__V1__DeleteRepositoryRequest *req = (const Mnemo__V1__DeleteRepositoryRequest *)msg;
    mnemo_err_t err;
    bool deleted = false;
    mnemo_status_t st =
        mnemo_codeindex_delete(app->codeindex, &deleted, req->repository_name, &err);
    if (st != MNEMO_OK) {
        mnemo_rpc_fail(call, st, &err);
        return;
    }
    Mnemo__V1__DeleteRepositoryResponse resp = MNEMO__V1__DELETE_REPOSITORY_RESPONSE__INIT;
    resp.deleted = deleted;
    mnemo_call_reply(call, &resp.base);
}

mnemo_status_t mnemo_rpc_check_search_code(size_t *limit, const Mnemo__V1__SearchCodeRequest *req,
                                           const mnemo_limits_t *lim, mnemo_err_t *err)
{
    mnemo_status_t st = mnemo_rpc_check_text(req->query, "query", lim->max_query_bytes, false, err);
    if (st == MNEMO_OK)
        st = mnemo_rpc_check_text(req->path_prefix, "path_prefix", PATH_FIELD_MAX, true, err);
    if (st == MNEMO_OK)
        st = mnemo_rpc_check_count(limit, req->limit, "limit", lim->default_limit, lim->max_limit,
                                   err);
    return st;
}

/* How many of the best hits fit a reply of budget bytes: each hit with its
 * field tag and a length prefix of up to 5 bytes, 16 bytes kept for the
 * truncated flag; the best hit always. */
static size_t hits_within(Mnemo__V1__CodeHit *const *hits, size_t n, size_t budget)
{
    size_t bytes = 16, i = 0;
    for (; i < n; i++) {
        size_t size = 1 + 5 + mnemo__v1__code_hit__get_packed_size(hits[i]);
        if (i > 0 && bytes + size > budget)
            break;
        bytes += size;
    }
    return i;
}

static void search_code(mnemo_call_t *call, const ProtobufCMessage *msg, void *ctx)
{
    mnemo_app_t *app = ctx;
    const Mnemo__V1__SearchCodeRequest *req = (const Mnemo__V1__SearchCodeRequest *)msg;
    mnemo_err_t err;
    size_t limit = 0, n = 0;
    mnemo_code_hit_t *hits = NULL;
    mnemo_status_t st = mnemo_rpc_check_search_code(&limit, req, &app->cfg->limits, &err);
    if (st == MNEMO_OK)
        st = mnemo_codeindex_search(app->codeindex, &hits, &n, req->query, req->repository_name,
                                    req->path_prefix, limit, &err);
    if (st != MNEMO_OK) {
        mnemo_rpc_fail(call, st, &err);
        return;
    }
    Mnemo__V1__CodeHit *pb = mnemo_xcalloc(n, sizeof *pb);
    Mnemo__V1__CodeHit **ptrs = mnemo_xcalloc(n, sizeof *ptrs);
    for (size_t i = 0; i < n; i++) {
        mnemo__v1__code_hit__init(&pb[i]);
        pb[i].repository_name = hits[i].name;
        pb[i].path = hits[i].path;
        pb[i].start_line = (int32_t)hits[i].start_line;
        pb[i].end_line = (int32_t)hits[i].end_line;
        pb[i].content = hits[i].content;
        pb[i].score = hits[i].score;
        ptrs[i] = &pb[i];
    }
    Mnemo__V1__SearchCodeResponse resp = MNEMO__V1__SEARCH_CODE_RESPONSE__INIT;
    resp.hits = ptrs;
    resp.n_hits = hits_within(ptrs, n, app->cfg->max_reply_bytes);
    resp.truncated = resp.n_hits < n;
    mnemo_call_reply(call, &resp.base);
    free(ptrs);
    free(pb);
    mnemo_code_hits_free(hits, n);
}

/* interactive: a sync paces itself while these arrive (SearchCode).
 * need: the role a caller must have (auth.h). */
#define REPO_METHOD(method, streaming, fn, is_interactive, need)                                   \
    {                                                                                              \
        .service = &mnemo__v1__repository_service__descriptor, .name = method,                     \
        .server_streaming = streaming, .handler = fn, .interactive = is_interactive, .role = need  \
    }

const mnemo_method_t mnemo_rpc_repo_methods[] = {
    REPO_METHOD("SyncRepository", true, sync_repository, false, MNEMO_ROLE_ADMIN),
    REPO_METHOD("WatchSync", true, watch_sync, false, MNEMO_ROLE_READ),
    REPO_METHOD("GetSyncStatus", false, get_sync_status, false, MNEMO_ROLE_READ),
    REPO_METHOD("CancelSync", false, cancel_sync, false, MNEMO_ROLE_ADMIN),
    REPO_METHOD("ListRepositories", false, list_repositories, false, MNEMO_ROLE_READ),
    REPO_METHOD("DeleteRepository", false, delete_repository, false, MNEMO_ROLE_ADMIN),
    REPO_METHOD("SearchCode", false, search_code, true, MNEMO_ROLE_READ),
    {.name = NULL},
};
