/* test_server_lifecycle.c - mnemod as a process: clean exit on SIGTERM and
 * SIGINT (also under load), data and ranking kept across a restart, no
 * acknowledged store lost to kill -9, one server per data dir and per port,
 * flags and MNEMO_* environment (docs/design.md "Running it"), and health
 * after a store write fails.
 *
 * DESIGN: every test starts its own servers with server_harness and talks
 * to them through memrpc. The kill -9 tests store from several
 * threads and kill while stores are still in flight, so "acknowledged" is
 * what the client saw, not what the server meant to do; the sync trials
 * also kill in the middle of a sync and compare the resumed index with a
 * clean one. MNEMO_KILL_TRIALS=N sets the trials of each (default 3);
 * MNEMO_KILL_ONLY=1 runs only the kill -9 tests (kill_trials.sh).
 */
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "grpc/health/v1/health.pb-c.h"
#include "itest.h"
#include "memrpc.h"
#include "synctree.h"

#define STOP_TIMEOUT_MS 20000

static bool exited_with(int wait_status, int code)
{
    return wait_status != -1 && WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == code;
}

static const char *describe(int wait_status, char *buf, size_t size)
{
    if (wait_status == -1)
        snprintf(buf, size, "did not exit in time");
    else if (WIFEXITED(wait_status))
        snprintf(buf, size, "exit %d", WEXITSTATUS(wait_status));
    else if (WIFSIGNALED(wait_status))
        snprintf(buf, size, "killed by signal %d", WTERMSIG(wait_status));
    else
        snprintf(buf, size, "wait status %d", wait_status);
    return buf;
}

/* Starts a default server or fails the test (dumping the log). */
static mnemo_harness_t *start(const mnemo_harness_options_t *opts)
{
    mnemo_harness_t *h = NULL;
    mnemo_harness_result_t r = mnemo_harness_start(&h, opts);
    if (!CHECK(r == MNEMO_HARNESS_SERVING, "mnemod started (result %d)", (int)r)) {
        if (h != NULL)
            mnemo_harness_dump_log(h);
        mnemo_harness_destroy(h);
        return NULL;
    }
    return h;
}

static bool restart(mnemo_harness_t *h)
{
    mnemo_harness_result_t r = mnemo_harness_restart(h);
    if (!CHECK(r == MNEMO_HARNESS_SERVING, "mnemod restarted (result %d)", (int)r)) {
        mnemo_harness_dump_log(h);
        return false;
    }
    return true;
}

/* Stores content and copies its id into id; returns the status. */
static int store_id(const char *addr, const char *content, char id[65])
{
    Mnemo__V1__StoreMemoryResponse *resp = NULL;
    int st = memrpc_store(addr, content, NULL, 0, &resp, NULL);
    if (st == GRPC_STATUS_OK)
        snprintf(id, 65, "%s", resp->memory->id);
    mnemo_client_free_message(resp);
    return st;
}

static void expect_clean_exit(mnemo_harness_t *h, int signo)
{
    char buf[64];
    int st = mnemo_harness_signal_wait(h, signo, STOP_TIMEOUT_MS);
    if (!CHECK(exited_with(st, 0), "mnemod after signal %d: %s, want exit 0", signo,
               describe(st, buf, sizeof buf)))
        mnemo_harness_dump_log(h);
}

/* ---- signals ---------------------------------------------------------- */

static void test_lifecycle__sigterm_exits_zero(void)
{
    mnemo_harness_t *h = start(NULL);
    if (h == NULL)
        return;
    char id[65];
    CHECK(store_id(mnemo_harness_address(h), "before sigterm", id) == GRPC_STATUS_OK, "store");
    expect_clean_exit(h, SIGTERM);
    mnemo_harness_destroy(h);
}

static void test_lifecycle__sigint_exits_zero(void)
{
    mnemo_harness_t *h = start(NULL);
    if (h == NULL)
        return;
    expect_clean_exit(h, SIGINT);
    mnemo_harness_destroy(h);
}

/* ---- concurrent writers ------------------------------------------------ */

#define WRITERS     4
#define MAX_PER_ONE 4000

typedef struct writer {
    pthread_t thread;
    const char *addr;
    int index;
    atomic_int *acked_total;
    atomic_bool *stop;
    char (*ids)[65]; /* acknowledged ids */
    char **contents; /* and their contents */
    int n_acked;
    int n_failed; /* non-OK answers (expected once the server goes away) */
} writer_t;

static void *writer_main(void *arg)
{
    writer_t *w = arg;
    for (int i = 0; i < MAX_PER_ONE && !atomic_load(w->stop); i++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "writer %d item %d", w->index, i);
        char *content = itest_unique(prefix, "durable acknowledged memory");
        char id[65];
        if (store_id(w->addr, content, id) == GRPC_STATUS_OK) {
            memcpy(w->ids[w->n_acked], id, 65);
            w->contents[w->n_acked++] = content;
            atomic_fetch_add(w->acked_total, 1);
        } else {
            free(content);
            w->n_failed++;
        }
    }
    return NULL;
}

static void writers_start(writer_t *ws, const char *addr, atomic_int *acked, atomic_bool *stop)
{
    for (int i = 0; i < WRITERS; i++) {
        ws[i] = (writer_t){.addr = addr, .index = i, .acked_total = acked, .stop = stop};
        ws[i].ids = calloc(MAX_PER_ONE, sizeof *ws[i].ids);
        ws[i].contents = calloc(MAX_PER_ONE, sizeof *ws[i].contents);
        pthread_create(&ws[i].thread, NULL, writer_main, &ws[i]);
    }
}

static void writers_join(writer_t *ws)
{
    for (int i = 0; i < WRITERS; i++)
        pthread_join(ws[i].thread, NULL);
}

/* Every acknowledged memory is there with its content; frees the writers.
 * Prints a "kill trial:" line (tests/integration/kill_trials.sh adds them
 * up) and returns how many were lost or changed. */
static int expect_all_acked(writer_t *ws, const char *addr)
{
    int missing = 0, wrong = 0, total = 0;
    for (int i = 0; i < WRITERS; i++) {
        for (int k = 0; k < ws[i].n_acked; k++) {
            Mnemo__V1__Memory *m = NULL;
            int st = memrpc_get(addr, ws[i].ids[k], &m, NULL);
            total++;
            if (st != GRPC_STATUS_OK) {
                if (missing++ < 5)
                    fprintf(stderr, "lost acknowledged memory %s (%s)\n", ws[i].ids[k],
                            mnemo_client_code_name(st));
            } else if (strcmp(m->content, ws[i].contents[k]) != 0) {
                wrong++;
            }
            mnemo_client_free_message(m);
            free(ws[i].contents[k]);
        }
        free(ws[i].ids);
        free(ws[i].contents);
    }
    fprintf(stderr, "kill trial: %d acknowledged memories, %d lost, %d changed\n", total, missing,
            wrong);
    CHECK(missing == 0 && wrong == 0, "%d acknowledged memories: %d lost, %d with other content",
          total, missing, wrong);
    return missing + wrong;
}

/* Writers store until at least `target` acks, then the server gets signo
 * while they are still storing; after a restart every ack must be there. */
static void kill_during_writes(int signo, int target, int want_exit)
{
    mnemo_harness_t *h = start(NULL);
    if (h == NULL)
        return;
    atomic_int acked = 0;
    atomic_bool stop = false;
    writer_t ws[WRITERS];
    writers_start(ws, mnemo_harness_address(h), &acked, &stop);
    long long deadline = mnemo_harness_now_ms() + 120000;
    while (atomic_load(&acked) < target && mnemo_harness_now_ms() < deadline)
        usleep(1000);
    int at_signal = atomic_load(&acked);
    int st = mnemo_harness_signal_wait(h, signo, STOP_TIMEOUT_MS);
    atomic_store(&stop, true);
    writers_join(ws);
    int failed = 0;
    for (int i = 0; i < WRITERS; i++)
        failed += ws[i].n_failed;
    fprintf(stderr, "signal %d after %d acknowledged stores; %d in total, %d refused after it\n",
            signo, at_signal, atomic_load(&acked), failed);
    char buf[64];
    CHECK(atomic_load(&acked) >= target, "%d stores acknowledged before the signal (want %d)",
          atomic_load(&acked), target);
    if (want_exit >= 0)
        CHECK(exited_with(st, want_exit), "mnemod after signal %d under load: %s, want exit %d",
              signo, describe(st, buf, sizeof buf), want_exit);
    else
        CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == signo, "mnemod killed by %d: %s",
              signo, describe(st, buf, sizeof buf));
    if (restart(h))
        expect_all_acked(ws, mnemo_harness_address(h));
    else
        expect_all_acked(ws, "127.0.0.1:1"); /* frees; reports everything lost */
    mnemo_harness_stop(h, STOP_TIMEOUT_MS);
    mnemo_harness_destroy(h);
}

/* kill -9 trials: MNEMO_KILL_TRIALS (default 3; more for a longer run,
 * e.g. MNEMO_KILL_TRIALS=50 ./itest_server_lifecycle), each killing at
 * another point of the stores. */
static int kill_trials(void)
{
    const char *v = getenv("MNEMO_KILL_TRIALS");
    int n = v != NULL ? atoi(v) : 3;
    return n > 0 ? n : 3;
}

static void test_lifecycle__kill9_loses_no_acknowledged_store(void)
{
    int trials = kill_trials();
    for (int t = 0; t < trials; t++)
        kill_during_writes(SIGKILL, 50 + (t * 97) % 300, -1);
}

static void test_lifecycle__sigterm_under_load_drains(void)
{
    kill_during_writes(SIGTERM, 100, 0);
}

/* ---- kill -9 during a sync --------------------------------------------- */

#define TRIAL_FILES 300
#define TRIAL_BATCH 10 /* files per batch: 30 batches */
#define TRIAL_REPO  "killed"
#define TRIAL_TAG   "kil"

#define ST_RUNNING     MNEMO__V1__SYNC_STATE__SYNC_STATE_RUNNING
#define ST_COMPLETED   MNEMO__V1__SYNC_STATE__SYNC_STATE_COMPLETED
#define ST_INTERRUPTED MNEMO__V1__SYNC_STATE__SYNC_STATE_INTERRUPTED

static mnemo_client_t *client_on(mnemo_harness_t *h)
{
    mnemo_client_options_t o;
    mnemo_client_options_init(&o);
    mnemo_client_t *c = NULL;
    mnemo_call_error_t err;
    CHECK(mnemo_client_open(&c, mnemo_harness_address(h), &o, &err) == 0, "client: %s",
          err.message);
    return c;
}

static const char *state_name(int state)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&mnemo__v1__sync_state__descriptor, state);
    return v != NULL ? v->name : "none";
}

/* A foreground sync of tree as TRIAL_REPO; NULL after a failed check. */
static mnemo_stream_t *trial_sync_open(mnemo_client_t *c, const char *tree)
{
    Mnemo__V1__SyncRepositoryRequest req = MNEMO__V1__SYNC_REPOSITORY_REQUEST__INIT;
    req.repository_path = (char *)tree;
    req.repository_name = TRIAL_REPO;
    req.batch_size = TRIAL_BATCH;
    mnemo_stream_t *s = NULL;
    mnemo_call_error_t err;
    if (!CHECK(mnemo_client_sync_repository(&s, c, &req, &err) == 0, "SyncRepository: %s",
               err.message))
        return NULL;
    return s;
}

/* Reads s until a RUNNING event reports at least `batches` committed
 * batches (true) or the stream ends (false). RUNNING, not the PENDING
 * event sent at once: a sync is recorded when it starts running, and a
 * kill before that leaves nothing to resume. *state: the last state seen (-1:
 * none); *seen: its committed batches. */
static bool trial_read_until(mnemo_stream_t *s, int64_t batches, int *state, int64_t *seen)
{
    Mnemo__V1__SyncEvent *ev = NULL;
    while (mnemo_stream_next_sync_event(&ev, s, NULL) == 1) {
        if (ev->status != NULL) {
            *state = (int)ev->status->state;
            *seen = ev->status->progress != NULL ? ev->status->progress->batches_committed : 0;
        }
        mnemo_client_free_message(ev);
        if (*seen >= batches && *state == ST_RUNNING)
            return true;
    }
    return false;
}

/* A whole sync of tree: true when it completed. */
static bool trial_sync_complete(mnemo_client_t *c, const char *tree, const char *what)
{
    mnemo_stream_t *s = trial_sync_open(c, tree);
    int state = -1;
    int64_t seen = 0;
    if (s != NULL)
        trial_read_until(s, INT64_MAX, &state, &seen);
    mnemo_call_error_t err;
    int code = s != NULL ? mnemo_stream_status(s, &err) : -1;
    mnemo_stream_close(s);
    return CHECK(code == 0 && state == ST_COMPLETED, "%s: stream %s, last state %s", what,
                 mnemo_client_code_name(code), state_name(state));
}

/* The recorded state of TRIAL_REPO, or -1 after a failed check. */
static int trial_state(mnemo_client_t *c)
{
    Mnemo__V1__GetSyncStatusRequest req = MNEMO__V1__GET_SYNC_STATUS_REQUEST__INIT;
    req.repository_name = TRIAL_REPO;
    Mnemo__V1__SyncStatus *st = NULL;
    mnemo_call_error_t err;
    int code = mnemo_client_get_sync_status(&st, c, &req, &err);
    int state = EXPECT_STATUS("GetSyncStatus after the kill", code, err.message, 0, NULL)
                    ? (int)st->state
                    : -1;
    mnemo_client_free_message(st);
    return state;
}

/* Starts a sync with writers storing, kills mnemod -9 once the sync
 * reported `at` committed batches (or ended); true when the sync was
 * seen to complete before the kill. */
static bool kill_in_sync(mnemo_harness_t *h, const char *tree, int at, writer_t *ws, int64_t *seen)
{
    atomic_int acked = 0;
    atomic_bool stop = false;
    writers_start(ws, mnemo_harness_address(h), &acked, &stop);
    long long deadline = mnemo_harness_now_ms() + 60000;
    while (atomic_load(&acked) < 20 && mnemo_harness_now_ms() < deadline)
        usleep(1000);
    mnemo_client_t *c = client_on(h);
    mnemo_stream_t *s = c != NULL ? trial_sync_open(c, tree) : NULL;
    int state = -1;
    if (s != NULL)
        trial_read_until(s, at, &state, seen);
    int st = mnemo_harness_signal_wait(h, SIGKILL, STOP_TIMEOUT_MS);
    atomic_store(&stop, true);
    writers_join(ws);
    CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "mnemod killed -9 (%d)", st);
    mnemo_stream_close(s);
    mnemo_client_close(c);
    return state == ST_COMPLETED;
}

/* One trial: kill -9 at `at` batches into a sync while memories are
 * stored, restart, then: every acknowledged memory intact, the sync
 * INTERRUPTED (or COMPLETED), a re-sync completes and searches like the
 * clean index. */
static void sync_trial(const char *tree, mnemo_client_t *clean, int trial, int at)
{
    const char *args[] = {"--allow-root", tree, "--batch-pause-ms", "20", NULL};
    mnemo_harness_options_t opts = {.extra_args = args};
    mnemo_harness_t *h = start(&opts);
    if (h == NULL)
        return;
    writer_t ws[WRITERS];
    int64_t seen = 0;
    bool completed = kill_in_sync(h, tree, at, ws, &seen);
    if (!restart(h)) {
        expect_all_acked(ws, "127.0.0.1:1"); /* frees; reports everything lost */
        mnemo_harness_destroy(h);
        return;
    }
    int lost = expect_all_acked(ws, mnemo_harness_address(h));
    mnemo_client_t *c = client_on(h);
    int state = trial_state(c);
    CHECK(state == ST_INTERRUPTED || (state == ST_COMPLETED && seen > 0),
          "after the kill the sync reads INTERRUPTED or COMPLETED (got %s)", state_name(state));
    CHECK(!completed || state == ST_COMPLETED, "a sync seen COMPLETED stays so (got %s)",
          state_name(state));
    int differed = -1;
    if (trial_sync_complete(c, tree, "re-sync after the kill"))
        differed = synctree_expect_same_search(c, clean, TRIAL_REPO, TRIAL_TAG, TRIAL_FILES);
    fprintf(stderr,
            "kill trial (sync) %d: killed at %lld batches (aimed at %d); then %s; %d acknowledged "
            "memories lost; resumed search %s\n",
            trial, (long long)seen, at, state_name(state), lost,
            differed == 0 ? "equals a clean sync" : "DIFFERS from a clean sync");
    mnemo_client_close(c);
    mnemo_harness_stop(h, STOP_TIMEOUT_MS);
    mnemo_harness_destroy(h);
}

/* kill -9 trials during a sync (MNEMO_KILL_TRIALS, like the store
 * trials): trial t kills after (11 t) mod 34 of the 30 batches, so the
 * points spread over the whole sync, from the end of the walk (0) on, and
 * some trials find the sync completed. */
static void test_lifecycle__kill9_during_sync_resumes_like_clean(void)
{
    char cwd[PATH_MAX / 2], tree[PATH_MAX];
    CHECK(getcwd(cwd, sizeof cwd) != NULL, "getcwd");
    snprintf(tree, sizeof tree, "%s/kill-sync-tree", cwd);
    synctree_write_flat(tree, TRIAL_TAG, TRIAL_FILES);
    const char *args[] = {"--allow-root", tree, NULL};
    mnemo_harness_options_t opts = {.extra_args = args};
    mnemo_harness_t *ref = start(&opts);
    mnemo_client_t *clean = ref != NULL ? client_on(ref) : NULL;
    if (clean != NULL && trial_sync_complete(clean, tree, "clean sync")) {
        int trials = kill_trials();
        for (int t = 0; t < trials; t++)
            sync_trial(tree, clean, t, (11 * t) % 34);
    }
    mnemo_client_close(clean);
    if (ref != NULL)
        expect_clean_exit(ref, SIGTERM);
    mnemo_harness_destroy(ref);
}

/* ---- restart ----------------------------------------------------------- */

static const char *const corpus[] = {
    "the lighthouse keeper logs every passing ship in a leather book",
    "lighthouse lamps were once fuelled by whale oil, later by kerosene",
    "a lighthouse lighthouse lighthouse: the word repeated to rank first",
    "kerosene prices rose sharply during the winter of that year",
    "ships avoid the reef by keeping the light on their starboard side",
    "the keeper's cat sleeps on the warm lens housing at night",
    "fog horns replaced the bells on most coastal stations",
    "leather book bindings crack when stored in damp salty air",
};
#define N_CORPUS (sizeof corpus / sizeof corpus[0])

typedef struct ranking {
    size_t n;
    char ids[16][65];
    double scores[16];
} ranking_t;

static bool rank(const char *addr, const char *query, ranking_t *out)
{
    Mnemo__V1__RetrieveMemoryResponse *resp = NULL;
    char *details = NULL;
    int st = memrpc_retrieve(addr, query, 16, &resp, &details);
    bool ok = EXPECT_STATUS("RetrieveMemory", st, details, GRPC_STATUS_OK, NULL);
    if (ok) {
        out->n = resp->n_results < 16 ? resp->n_results : 16;
        for (size_t i = 0; i < out->n; i++) {
            snprintf(out->ids[i], 65, "%s", resp->results[i]->memory->id);
            out->scores[i] = resp->results[i]->score;
        }
    }
    mnemo_client_free_message(resp);
    free(details);
    return ok;
}

static void test_lifecycle__restart_keeps_data_and_ranking(void)
{
    mnemo_harness_t *h = start(NULL);
    if (h == NULL)
        return;
    char ids[N_CORPUS][65];
    for (size_t i = 0; i < N_CORPUS; i++)
        CHECK(store_id(mnemo_harness_address(h), corpus[i], ids[i]) == GRPC_STATUS_OK, "store %zu",
              i);
    static const char *const queries[] = {"lighthouse", "leather book", "kerosene ships"};
    ranking_t before[3], after[3];
    for (size_t q = 0; q < 3; q++)
        rank(mnemo_harness_address(h), queries[q], &before[q]);
    CHECK(before[0].n >= 3 && strcmp(before[0].ids[0], ids[2]) == 0,
          "the memory that repeats \"lighthouse\" ranks first");

    expect_clean_exit(h, SIGTERM);
    if (!restart(h)) {
        mnemo_harness_destroy(h);
        return;
    }
    const char *addr = mnemo_harness_address(h);
    for (size_t i = 0; i < N_CORPUS; i++) {
        Mnemo__V1__Memory *m = NULL;
        int st = memrpc_get(addr, ids[i], &m, NULL);
        CHECK(st == GRPC_STATUS_OK && strcmp(m->content, corpus[i]) == 0,
              "memory %zu after restart", i);
        mnemo_client_free_message(m);
    }
    for (size_t q = 0; q < 3; q++) {
        if (!rank(addr, queries[q], &after[q]))
            continue;
        bool same = before[q].n == after[q].n;
        for (size_t i = 0; same && i < before[q].n; i++) {
            double d = before[q].scores[i] - after[q].scores[i];
            same = strcmp(before[q].ids[i], after[q].ids[i]) == 0 && d < 1e-9 && d > -1e-9;
        }
        CHECK(same, "ranking for \"%s\" unchanged by a restart", queries[q]);
    }
    expect_clean_exit(h, SIGTERM);
    mnemo_harness_destroy(h);
}

/* mnemod writes the memories store's tables uncompressed (memories.h says
 * why): a text that snappy folds into a few back-references lies in the
 * table as it was stored, and reads back whole after the restart that
 * turned the log into that table. */
static void test_lifecycle__memory_tables_are_uncompressed(void)
{
    mnemo_harness_t *h = start(NULL);
    if (h == NULL)
        return;
    char content[1300] = "";
    for (int i = 0; i < 30; i++)
        strcat(content, "the lighthouse keeper winds the clock. ");
    char id[65];
    CHECK(store_id(mnemo_harness_address(h), content, id) == GRPC_STATUS_OK, "store");
    expect_clean_exit(h, SIGTERM);
    if (!restart(h)) {
        mnemo_harness_destroy(h);
        return;
    }
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/memories", mnemo_harness_data_dir(h));
    CHECK(mnemo_test_tables_hold(dir, content, strlen(content)),
          "a table in %s holds the content as stored", dir);
    Mnemo__V1__Memory *m = NULL;
    int st = memrpc_get(mnemo_harness_address(h), id, &m, NULL);
    CHECK(st == GRPC_STATUS_OK && strcmp(m->content, content) == 0, "the memory reads back");
    mnemo_client_free_message(m);
    expect_clean_exit(h, SIGTERM);
    mnemo_harness_destroy(h);
}

static void test_lifecycle__dedup_survives_restart(void)
{
    mnemo_harness_t *h = start(NULL);
    if (h == NULL)
        return;
    char id1[65], id2[65];
    CHECK(store_id(mnemo_harness_address(h), "stored twice across a restart", id1) ==
              GRPC_STATUS_OK,
          "first store");
    mnemo_harness_signal_wait(h, SIGKILL, 0);
    if (restart(h)) {
        Mnemo__V1__StoreMemoryResponse *resp = NULL;
        int st = memrpc_store(mnemo_harness_address(h), "stored twice across a restart", NULL, 0,
                              &resp, NULL);
        if (CHECK(st == GRPC_STATUS_OK, "second store: %s", mnemo_client_code_name(st))) {
            snprintf(id2, sizeof id2, "%s", resp->memory->id);
            CHECK(strcmp(id1, id2) == 0, "same id");
            CHECK(!resp->created, "created=false for content stored before the restart");
        }
        mnemo_client_free_message(resp);
    }
    mnemo_harness_destroy(h);
}

/* ---- exclusivity --------------------------------------------------------- */

static void expect_still_serving(mnemo_harness_t *h, const char *why)
{
    char id[65];
    char content[128];
    snprintf(content, sizeof content, "still serving after %s", why);
    CHECK(store_id(mnemo_harness_address(h), content, id) == GRPC_STATUS_OK,
          "first server serves after %s", why);
}

static void test_lifecycle__second_server_same_data_dir_fails(void)
{
    mnemo_harness_t *a = start(NULL);
    if (a == NULL)
        return;
    mnemo_harness_options_t o = {.data_dir = mnemo_harness_data_dir(a)};
    mnemo_harness_t *b = NULL;
    mnemo_harness_result_t r = mnemo_harness_start(&b, &o);
    char buf[64];
    if (CHECK(r == MNEMO_HARNESS_EXITED, "second mnemod on the same data dir exits (result %d)",
              (int)r)) {
        int st = mnemo_harness_wait(b, 0);
        CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0, "it exits non-zero: %s",
              describe(st, buf, sizeof buf));
        CHECK(mnemo_harness_log_contains(b, mnemo_harness_data_dir(a)),
              "its message names the data dir %s", mnemo_harness_data_dir(a));
        mnemo_harness_dump_log(b);
    }
    expect_still_serving(a, "a second server tried its data dir");
    mnemo_harness_destroy(b);
    expect_clean_exit(a, SIGTERM);
    mnemo_harness_destroy(a);
}

static void test_lifecycle__second_server_same_port_fails(void)
{
    mnemo_harness_t *a = start(NULL);
    if (a == NULL)
        return;
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", mnemo_harness_port(a));
    mnemo_harness_options_t o = {.listen = listen};
    mnemo_harness_t *b = NULL;
    mnemo_harness_result_t r = mnemo_harness_start(&b, &o);
    char buf[64];
    if (CHECK(r == MNEMO_HARNESS_EXITED, "second mnemod on port %d exits (result %d)",
              mnemo_harness_port(a), (int)r)) {
        int st = mnemo_harness_wait(b, 0);
        CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0, "it exits non-zero: %s",
              describe(st, buf, sizeof buf));
        mnemo_harness_dump_log(b);
    }
    expect_still_serving(a, "a second server tried its port");
    mnemo_harness_destroy(b);
    expect_clean_exit(a, SIGTERM);
    mnemo_harness_destroy(a);
}

/* ---- flags and environment ------------------------------------------------ */

/* Runs mnemod with exactly args (no --listen/--data-dir added) and expects
 * it to exit by itself with code; returns the harness for log checks. */
static mnemo_harness_t *run_to_exit(const char *const *args, int code)
{
    mnemo_harness_options_t o = {.extra_args = args, .no_default_args = true};
    mnemo_harness_t *h = NULL;
    mnemo_harness_result_t r = mnemo_harness_start(&h, &o);
    char buf[64];
    if (!CHECK(r == MNEMO_HARNESS_EXITED, "mnemod %s ... exits by itself (result %d)",
               args[0] != NULL ? args[0] : "", (int)r))
        return h;
    int st = mnemo_harness_wait(h, 0);
    if (!CHECK(exited_with(st, code), "mnemod %s %s: %s, want exit %d", args[0],
               args[1] != NULL ? args[1] : "", describe(st, buf, sizeof buf), code))
        mnemo_harness_dump_log(h);
    return h;
}

static void test_lifecycle__version_and_help(void)
{
    const char *version[] = {"--version", NULL};
    mnemo_harness_t *h = run_to_exit(version, 0);
    if (h != NULL)
        CHECK(mnemo_harness_log_contains(h, "0."), "--version prints a version");
    mnemo_harness_destroy(h);
    const char *help[] = {"--help", NULL};
    h = run_to_exit(help, 0);
    if (h != NULL)
        CHECK(mnemo_harness_log_contains(h, "--listen") &&
                  mnemo_harness_log_contains(h, "--data-dir"),
              "--help lists --listen and --data-dir");
    mnemo_harness_destroy(h);
}

/* A listener other machines can reach needs TLS, tokens or --insecure;
 * bad credential files are configuration errors too. Binding 0.0.0.0 is
 * only a bind: the test talks to 127.0.0.1. */
static void test_lifecycle__exposed_listener_needs_security(void)
{
    char data[4200], tokens[4200];
    char *dir = mnemo_test_tmpdir();
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(tokens, sizeof tokens, "%s/no-such-tokens", dir);
    const char *exposed[] = {"--listen", "0.0.0.0:0", "--data-dir", data, NULL};
    mnemo_harness_t *h = run_to_exit(exposed, 2);
    CHECK(h != NULL && mnemo_harness_log_contains(h, "add --tls-cert and --tls-key") &&
              mnemo_harness_log_contains(h, "--insecure"),
          "the refusal says which flags to add");
    mnemo_harness_destroy(h);
    const char *bad_file[] = {"--data-dir", data, "--auth-tokens", tokens, NULL};
    h = run_to_exit(bad_file, 2);
    CHECK(h != NULL && mnemo_harness_log_contains(h, "no-such-tokens"), "names the file");
    mnemo_harness_destroy(h);

    const char *insecure[] = {"--listen", "0.0.0.0:0", "--data-dir", data, "--insecure", NULL};
    mnemo_harness_options_t o = {.extra_args = insecure, .no_default_args = true};
    h = NULL;
    if (CHECK(mnemo_harness_start(&h, &o) == MNEMO_HARNESS_SERVING, "--insecure serves")) {
        char addr[64];
        snprintf(addr, sizeof addr, "127.0.0.1:%d", mnemo_harness_port(h));
        char id[65];
        CHECK(store_id(addr, "stored on an --insecure listener", id) == GRPC_STATUS_OK,
              "a store through 127.0.0.1");
        expect_clean_exit(h, SIGTERM);
    }
    mnemo_harness_destroy(h);
    mnemo_test_rmtree(dir);
    free(dir);
}

static void test_lifecycle__bad_flags_exit_2(void)
{
    const char *const cases[][4] = {{"--threads", "abc", NULL},
                                    {"--threads", "-3", NULL},
                                    {"--no-such-flag", NULL},
                                    {"--listen", NULL},
                                    {"--batch-size", "12x", NULL}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mnemo_harness_t *h = run_to_exit(cases[i], 2);
        mnemo_harness_destroy(h);
    }
}

static void test_lifecycle__bad_env_exits_2(void)
{
    const char *env[] = {"MNEMO_THREADS=lots", NULL};
    const char *args[] = {"--listen", "127.0.0.1:0", NULL};
    mnemo_harness_options_t o = {.extra_args = args, .extra_env = env, .no_default_args = true};
    mnemo_harness_t *h = NULL;
    mnemo_harness_result_t r = mnemo_harness_start(&h, &o);
    char buf[64];
    if (CHECK(r == MNEMO_HARNESS_EXITED, "MNEMO_THREADS=lots: exits (result %d)", (int)r)) {
        int st = mnemo_harness_wait(h, 0);
        CHECK(exited_with(st, 2), "MNEMO_THREADS=lots: %s, want exit 2",
              describe(st, buf, sizeof buf));
    }
    mnemo_harness_destroy(h);
}

/* True when dir exists and holds at least one entry (the store's files). */
static bool dir_has_db(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL)
        found = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return found;
}

static void test_lifecycle__environment_configures(void)
{
    char *tmp = mnemo_test_tmpdir();
    char data[4096], env_data[4200];
    snprintf(data, sizeof data, "%s/from-env", tmp);
    snprintf(env_data, sizeof env_data, "MNEMO_DATA_DIR=%s", data);
    const char *env[] = {"MNEMO_LISTEN=127.0.0.1:0", env_data, NULL};
    mnemo_harness_options_t o = {.extra_env = env, .no_default_args = true};
    mnemo_harness_t *h = start(&o);
    if (h != NULL) {
        CHECK(dir_has_db(data), "MNEMO_DATA_DIR=%s is used (and created)", data);
        expect_clean_exit(h, SIGTERM);
        mnemo_harness_destroy(h);
    }
    mnemo_test_rmtree(tmp);
    free(tmp);
}

static void test_lifecycle__flags_win_over_environment(void)
{
    char *tmp = mnemo_test_tmpdir();
    char flag_dir[4096], env_dir[4096], env_data[4200];
    snprintf(flag_dir, sizeof flag_dir, "%s/from-flag", tmp);
    snprintf(env_dir, sizeof env_dir, "%s/from-env", tmp);
    snprintf(env_data, sizeof env_data, "MNEMO_DATA_DIR=%s", env_dir);
    /* An unusable MNEMO_LISTEN: the flag must win, or the server fails. */
    const char *env[] = {"MNEMO_LISTEN=256.0.0.1:bad", env_data, NULL};
    mnemo_harness_options_t o = {.data_dir = flag_dir, .extra_env = env};
    mnemo_harness_t *h = start(&o);
    if (h != NULL) {
        struct stat sb;
        CHECK(dir_has_db(flag_dir), "--data-dir wins: %s is used", flag_dir);
        CHECK(stat(env_dir, &sb) != 0, "MNEMO_DATA_DIR is ignored under --data-dir");
        expect_clean_exit(h, SIGTERM);
        mnemo_harness_destroy(h);
    }
    mnemo_test_rmtree(tmp);
    free(tmp);
}

static void test_lifecycle__creates_missing_data_dir(void)
{
    char *tmp = mnemo_test_tmpdir();
    char data[4096];
    snprintf(data, sizeof data, "%s/not-yet-there", tmp);
    mnemo_harness_options_t o = {.data_dir = data};
    mnemo_harness_t *h = start(&o);
    if (h != NULL) {
        char id[65];
        CHECK(store_id(mnemo_harness_address(h), "in a new data dir", id) == GRPC_STATUS_OK,
              "store");
        CHECK(dir_has_db(data), "data dir %s created", data);
        expect_clean_exit(h, SIGTERM);
        mnemo_harness_destroy(h);
    }
    mnemo_test_rmtree(tmp);
    free(tmp);
}

/* ---- a failed store write ---------------------------------------------- */

/* Writes n files of about 64 KiB of distinct words under dir. */
static void write_repo(const char *dir, int n)
{
    CHECK(mkdir(dir, 0755) == 0, "mkdir %s", dir);
    size_t cap = 64 * 1024;
    char *text = malloc(cap + 64);
    for (int f = 0; f < n; f++) {
        size_t len = 0;
        for (unsigned w = 0; len < cap; w++)
            len += (size_t)sprintf(text + len, "word%d_%u%s", f, w * 2654435761u,
                                   w % 8 == 7 ? "\n" : " ");
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/file%03d.txt", dir, f);
        CHECK(mnemo_test_write_file(path, text, len) == 0, "write %s", path);
    }
    free(text);
}

/* The next message of a health Watch stream: its status, or -1. */
static int next_health(mnemo_stream_t *s)
{
    ProtobufCMessage *msg = NULL;
    mnemo_call_error_t err;
    if (mnemo_stream_next(&msg, s, &err) != 1) {
        fprintf(stderr, "health Watch ended: %s %s\n", mnemo_client_code_name(err.code),
                err.message);
        return -1;
    }
    int status = (int)((Grpc__Health__V1__HealthCheckResponse *)msg)->status;
    mnemo_client_free_message(msg);
    return status;
}

/* A store write that fails on a sync thread, with no RPC failing: every
 * health Watch stream hears NOT_SERVING at once (not at the next failed
 * RPC, as it used to), and Check agrees. RLIMIT_FSIZE makes the code
 * store's log refuse to grow past 1 MiB. */
static void test_lifecycle__failed_sync_write_tells_health_watchers(void)
{
    char root[PATH_MAX / 2], repo[PATH_MAX];
    CHECK(getcwd(root, sizeof root) != NULL, "getcwd");
    snprintf(repo, sizeof repo, "%s/fsize-repo", root);
    write_repo(repo, 40); /* ~2.5 MiB of text: past the limit */
    const char *args[] = {"--allow-root", root, NULL};
    mnemo_harness_options_t opts = {.extra_args = args, .file_size_limit = 1 << 20};
    mnemo_harness_t *h = start(&opts);
    if (h == NULL)
        return;
    mnemo_client_t *c = NULL;
    mnemo_client_options_t copts;
    mnemo_client_options_init(&copts);
    copts.deadline_ms = 30000;
    CHECK(mnemo_client_open(&c, mnemo_harness_address(h), &copts, NULL) == 0, "client");
    Grpc__Health__V1__HealthCheckRequest hreq = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    hreq.service = "";
    mnemo_stream_t *watch = NULL;
    CHECK(mnemo_stream_open(&watch, c, &grpc__health__v1__health__descriptor, 1, &hreq.base,
                            NULL) == 0,
          "health Watch opened");
    CHECK(next_health(watch) == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING,
          "Watch starts SERVING");

    Mnemo__V1__SyncRepositoryRequest sreq = MNEMO__V1__SYNC_REPOSITORY_REQUEST__INIT;
    sreq.repository_path = repo;
    sreq.background = true;
    mnemo_stream_t *sync = NULL;
    CHECK(mnemo_client_sync_repository(&sync, c, &sreq, NULL) == 0, "background sync started");
    Mnemo__V1__SyncEvent *ev = NULL;
    while (mnemo_stream_next_sync_event(&ev, sync, NULL) == 1)
        mnemo_client_free_message(ev);
    mnemo_stream_close(sync);

    long long t0 = mnemo_harness_now_ms();
    int got = next_health(watch);
    CHECK(got == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING,
          "Watch hears NOT_SERVING when the sync's write fails (got %d after %lld ms)", got,
          mnemo_harness_now_ms() - t0);
    int serving = -1;
    CHECK(mnemo_client_health_check(c, "", &serving, NULL) == 0 &&
              serving == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING,
          "Check says NOT_SERVING (%d)", serving);
    CHECK(mnemo_harness_log_contains(h, "code store: store write: "), "the failure is logged");
    mnemo_stream_close(watch);
    mnemo_client_close(c);
    expect_clean_exit(h, SIGTERM);
    mnemo_harness_destroy(h);
}

/* Runs the registered tests and removes the scratch dir. */
static int finish(char *cwd)
{
    int rc = itest_run();
    mnemo_test_rmtree(cwd);
    free(cwd);
    return rc;
}

int main(void)
{
    /* Runs without --data-dir land their default ./mnemo-data in a scratch
     * dir, never in the build tree. */
    char *cwd = mnemo_test_tmpdir();
    if (chdir(cwd) != 0) {
        perror("chdir");
        return 1;
    }
    CU_pSuite s = mnemo_test_suite("lifecycle");
    const char *only = getenv("MNEMO_KILL_ONLY");
    if (only != NULL && strcmp(only, "1") == 0) {
        MNEMO_TEST(s, test_lifecycle__kill9_loses_no_acknowledged_store);
        MNEMO_TEST(s, test_lifecycle__kill9_during_sync_resumes_like_clean);
        return finish(cwd);
    }
    MNEMO_TEST(s, test_lifecycle__sigterm_exits_zero);
    MNEMO_TEST(s, test_lifecycle__sigint_exits_zero);
    MNEMO_TEST(s, test_lifecycle__kill9_loses_no_acknowledged_store);
    MNEMO_TEST(s, test_lifecycle__kill9_during_sync_resumes_like_clean);
    MNEMO_TEST(s, test_lifecycle__sigterm_under_load_drains);
    MNEMO_TEST(s, test_lifecycle__restart_keeps_data_and_ranking);
    MNEMO_TEST(s, test_lifecycle__memory_tables_are_uncompressed);
    MNEMO_TEST(s, test_lifecycle__dedup_survives_restart);
    MNEMO_TEST(s, test_lifecycle__second_server_same_data_dir_fails);
    MNEMO_TEST(s, test_lifecycle__second_server_same_port_fails);
    MNEMO_TEST(s, test_lifecycle__version_and_help);
    MNEMO_TEST(s, test_lifecycle__bad_flags_exit_2);
    MNEMO_TEST(s, test_lifecycle__exposed_listener_needs_security);
    MNEMO_TEST(s, test_lifecycle__bad_env_exits_2);
    MNEMO_TEST(s, test_lifecycle__environment_configures);
    MNEMO_TEST(s, test_lifecycle__flags_win_over_environment);
    MNEMO_TEST(s, test_lifecycle__creates_missing_data_dir);
    MNEMO_TEST(s, test_lifecycle__failed_sync_write_tells_health_watchers);
    return finish(cwd);
}
