/* mnemod.c - starts the mnemod under test through the integration tests'
 * server harness and opens a libmnemo client on it (see bench.h).
 *
 * DESIGN: mnemod runs with its defaults (durable writes, default threads
 * and batch size) so that the numbers are those a user gets; only the data
 * dir, the ephemeral port and the allowed root (or the TLS files) are
 * set. The client's deadline is generous (a full sync streams for
 * minutes). TLS certificates come from the integration tests' script
 * (MNEMO_MAKE_CERTS, its path in the source tree).
 *
 * Threads: main thread.
 */
#include "bench.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "mnemo/client.h"
#include "server_harness.h"

/* Starts mnemod with args (NULL-terminated, may be NULL) and opens a
 * client with co on it. */
static int start(bench_mnemod_t *m, const char *data_dir, const char *const *args,
                 const mnemo_client_options_t *co)
{
    memset(m, 0, sizeof *m);
    bench_mkdir(data_dir);
    mnemo_harness_options_t ho = {
        .data_dir = data_dir,
        .extra_args = args,
        .start_timeout_ms = 60000,
    };
    mnemo_harness_t *h = NULL;
    mnemo_harness_result_t r = mnemo_harness_start(&h, &ho);
    if (r != MNEMO_HARNESS_SERVING) {
        fprintf(stderr, "bench: mnemod did not start (%d)\n", (int)r);
        if (h != NULL)
            mnemo_harness_dump_log(h);
        mnemo_harness_destroy(h);
        return -1;
    }
    mnemo_call_error_t err;
    if (mnemo_client_open(&m->client, mnemo_harness_address(h), co, &err) != 0) {
        fprintf(stderr, "bench: client: %s\n", err.message);
        mnemo_harness_destroy(h);
        return -1;
    }
    int serving = 0;
    if (mnemo_client_health_check(m->client, "", &serving, &err) != 0 || serving != 1) {
        fprintf(stderr, "bench: mnemod not serving: %s\n", err.message);
        mnemo_client_close(m->client);
        mnemo_harness_destroy(h);
        return -1;
    }
    m->h = h;
    m->pid = mnemo_harness_pid(h);
    return 0;
}

int bench_mnemod_start(bench_mnemod_t *m, const char *data_dir, const char *allow_root)
{
    const char *args[] = {"--allow-root", allow_root, NULL};
    mnemo_client_options_t co;
    mnemo_client_options_init(&co);
    co.deadline_ms = 30 * 60 * 1000;
    return start(m, data_dir, allow_root != NULL ? args : NULL, &co);
}

int bench_mnemod_start_tls(bench_mnemod_t *m, const char *data_dir, const char *cert_dir)
{
    bench_pathbuf_t cert, key, ca;
    const char *args[] = {"--tls-cert", bench_path(&cert, cert_dir, "server.pem"), "--tls-key",
                          bench_path(&key, cert_dir, "server.key"), NULL};
    mnemo_client_options_t co;
    mnemo_client_options_init(&co);
    co.deadline_ms = 30 * 60 * 1000;
    co.tls = 1;
    co.tls_ca_file = bench_path(&ca, cert_dir, "ca.pem");
    return start(m, data_dir, args, &co);
}

int bench_mnemod_start_token(bench_mnemod_t *m, const char *data_dir, const char *tokens_file,
                             const char *token)
{
    const char *args[] = {"--auth-tokens", tokens_file, NULL};
    mnemo_client_options_t co;
    mnemo_client_options_init(&co);
    co.deadline_ms = 30 * 60 * 1000;
    co.token = token;
    return start(m, data_dir, args, &co);
}

int bench_make_certs(const char *dir)
{
    char *argv[] = {"bash", MNEMO_MAKE_CERTS, (char *)dir, NULL};
    int status = bench_run(NULL, NULL, argv, NULL, true);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench: %s %s failed (status %d)\n", MNEMO_MAKE_CERTS, dir, status);
        return -1;
    }
    return 0;
}

void bench_mnemod_stop(bench_mnemod_t *m)
{
    mnemo_client_close(m->client);
    if (m->h != NULL) {
        int status = mnemo_harness_stop(m->h, 60000);
        if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "bench: mnemod did not stop cleanly (status %d)\n", status);
            mnemo_harness_dump_log(m->h);
        }
        mnemo_harness_destroy(m->h);
    }
    memset(m, 0, sizeof *m);
}

/* Reads s to its end, remembering the last status. */
static int drain_sync(mnemo_stream_t *s, bench_sync_result_t *out)
{
    Mnemo__V1__SyncEvent *ev = NULL;
    mnemo_call_error_t err;
    int rc;
    while ((rc = mnemo_stream_next_sync_event(&ev, s, &err)) == 1) {
        if (ev->status != NULL) {
            out->state = (int)ev->status->state;
            const Mnemo__V1__SyncProgress *p = ev->status->progress;
            if (p != NULL) {
                out->processed_files = p->processed_files;
                out->unchanged_files = p->unchanged_files;
                out->skipped_files = p->skipped_files;
                out->chunks = p->chunks_written;
                out->bytes = p->bytes_processed;
            }
        }
        mnemo_client_free_message(ev);
    }
    if (rc < 0 || mnemo_stream_status(s, &err) != 0) {
        fprintf(stderr, "bench: sync stream: %s: %s\n", mnemo_client_code_name(err.code),
                err.message);
        return -1;
    }
    return 0;
}

static int open_sync(mnemo_stream_t **s, bench_mnemod_t *m, const char *path, const char *name,
                     bool full, bool background)
{
    Mnemo__V1__SyncRepositoryRequest req = MNEMO__V1__SYNC_REPOSITORY_REQUEST__INIT;
    req.repository_path = (char *)path;
    req.repository_name = (char *)name;
    req.full = full;
    req.background = background;
    mnemo_call_error_t err;
    if (mnemo_client_sync_repository(s, m->client, &req, &err) != 0) {
        fprintf(stderr, "bench: SyncRepository: %s\n", err.message);
        return -1;
    }
    return 0;
}

int bench_mnemod_sync(bench_mnemod_t *m, bench_sync_result_t *out, const char *path,
                      const char *name, bool full)
{
    memset(out, 0, sizeof *out);
    double t0 = bench_now();
    mnemo_stream_t *s = NULL;
    if (open_sync(&s, m, path, name, full, false) != 0)
        return -1;
    int rc = drain_sync(s, out);
    out->seconds = bench_now() - t0;
    mnemo_stream_close(s);
    if (rc == 0 && out->state != MNEMO__V1__SYNC_STATE__SYNC_STATE_COMPLETED) {
        fprintf(stderr, "bench: sync of %s ended in state %d\n", path, out->state);
        rc = -1;
    }
    return rc;
}

int bench_mnemod_sync_background(bench_mnemod_t *m, const char *path, const char *name, bool full)
{
    mnemo_stream_t *s = NULL;
    bench_sync_result_t r = {0};
    if (open_sync(&s, m, path, name, full, true) != 0)
        return -1;
    int rc = drain_sync(s, &r);
    mnemo_stream_close(s);
    return rc;
}

const char *bench_mnemod_address(const bench_mnemod_t *m)
{
    return mnemo_harness_address(m->h);
}

int bench_mnemod_sync_state(bench_mnemod_t *m, const char *name, int64_t *paced_ms)
{
    Mnemo__V1__GetSyncStatusRequest req = MNEMO__V1__GET_SYNC_STATUS_REQUEST__INIT;
    req.repository_name = (char *)name;
    Mnemo__V1__SyncStatus *st = NULL;
    mnemo_call_error_t err;
    if (mnemo_client_get_sync_status(&st, m->client, &req, &err) != 0)
        return -1;
    int state = (int)st->state;
    if (paced_ms != NULL)
        *paced_ms = st->progress != NULL ? st->progress->paced_ms : 0;
    mnemo_client_free_message(st);
    return state;
}
