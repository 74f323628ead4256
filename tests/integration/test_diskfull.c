/* test_diskfull.c - a real mnemod whose data dir fills up: writes are
 * refused (UNAVAILABLE, never a false acknowledgement), reads go on, writes
 * come back by themselves once space is freed (no restart), a restart on
 * the full disk works (the ballast), and a sync that failed on the full
 * disk reads FAILED everywhere at once.
 *
 * The data dir lives on a tmpfs of its own (mount(2): root only); without
 * the right to mount, every test says so and is skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <grpc/status.h>

#include "itest.h"
#include "memrpc.h"
#include "mnemo/client.h"

#define FS_MIB          48
#define BALLAST_MIB     4
#define CONTENT_BYTES   (150 * 1024)
#define MAX_MEMORIES    2000
#define RECOVER_MS      30000
#define STOP_TIMEOUT_MS 20000

static char *mnt;             /* the tmpfs, or NULL */
static char skip_reason[256]; /* why there is none */

typedef struct acked {
    char id[65];
    char *content;
} acked_t;

static acked_t acked[MAX_MEMORIES];
static int n_acked;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static bool skipped(void)
{
    if (mnt != NULL)
        return false;
    printf("\n    SKIPPED: %s\n", skip_reason);
    return true;
}

static char *pathf(const char *a, const char *b)
{
    char *p = malloc(strlen(a) + strlen(b) + 2);
    sprintf(p, "%s/%s", a, b);
    return p;
}

static long long free_bytes(const char *dir)
{
    struct statvfs v;
    return statvfs(dir, &v) == 0 ? (long long)v.f_bavail * (long long)v.f_frsize : -1;
}

/* Fills the tmpfs with a file until free_mib MiB are left. */
static void fill_leaving(const char *name, long free_mib)
{
    char *path = pathf(mnt, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    static char chunk[1 << 16];
    memset(chunk, 'x', sizeof chunk);
    for (;;) {
        long long avail = free_bytes(mnt);
        if (fd < 0 || avail <= free_mib * 1048576LL)
            break;
        long long n = avail - free_mib * 1048576LL;
        if (write(fd, chunk, n < (long long)sizeof chunk ? (size_t)n : sizeof chunk) <= 0)
            break;
    }
    if (fd >= 0)
        close(fd);
    free(path);
}

static void unfill(const char *name)
{
    char *path = pathf(mnt, name);
    CHECK(unlink(path) == 0, "remove %s: %s", path, strerror(errno));
    free(path);
}

static bool ballast_present(const char *data)
{
    char *path = pathf(data, "ballast");
    struct stat sb;
    bool yes = stat(path, &sb) == 0 && sb.st_size == BALLAST_MIB * 1048576LL;
    free(path);
    return yes;
}

static mnemo_harness_t *start_on(const char *data)
{
    static const char *const args[] = {"--store-write-buffer-bytes",
                                       "1048576",
                                       "--ballast-bytes",
                                       "4194304",
                                       "--allow-root",
                                       "/",
                                       NULL};
    return itest_start_on(data, args);
}

static void stop(mnemo_harness_t *h)
{
    itest_stop_clean(h, STOP_TIMEOUT_MS);
}

static int health_of(mnemo_harness_t *h)
{
    int serving = -1;
    memrpc_health(mnemo_harness_address(h), "", &serving, NULL);
    return serving;
}

/* A content that differs from every other of the run. */
static char *next_content(void)
{
    static int seq;
    char *c = malloc(CONTENT_BYTES + 1);
    unsigned x = 0x9E3779B9u * (unsigned)++seq;
    for (size_t i = 0; i < CONTENT_BYTES; i++) {
        x = x * 1103515245u + 12345u;
        c[i] = (char)('a' + (x >> 16) % 26);
    }
    c[CONTENT_BYTES] = '\0';
    snprintf(c, 32, "memory %d ", seq);
    c[strlen(c)] = ' ';
    return c;
}

/* One StoreMemory; an acknowledged one joins acked. Its status. */
static int store_one(mnemo_harness_t *h, char **details)
{
    char *content = next_content();
    Mnemo__V1__StoreMemoryResponse *resp = NULL;
    int st = memrpc_store(mnemo_harness_address(h), content, NULL, 0, &resp, details);
    if (st == GRPC_STATUS_OK && n_acked < MAX_MEMORIES && resp != NULL) {
        snprintf(acked[n_acked].id, sizeof acked[n_acked].id, "%s", resp->memory->id);
        acked[n_acked++].content = content;
        content = NULL;
    }
    mnemo_client_free_message(resp);
    free(content);
    return st;
}

/* Stores until a write is refused; every refusal must be UNAVAILABLE. */
static void store_until_full(mnemo_harness_t *h)
{
    for (int tries = 0; tries < MAX_MEMORIES; tries++) {
        char *details = NULL;
        int st = store_one(h, &details);
        if (st != GRPC_STATUS_OK) {
            CHECK(st == GRPC_STATUS_UNAVAILABLE, "a full disk is UNAVAILABLE (got %d: %s)", st,
                  details != NULL ? details : "");
            free(details);
            return;
        }
        free(details);
    }
    CHECK(false, "the disk never filled up");
}

/* Every acknowledged memory reads back byte for byte. */
static void expect_all_acked(mnemo_harness_t *h, const char *when)
{
    int bad = 0;
    for (int i = 0; i < n_acked; i++) {
        Mnemo__V1__Memory *m = NULL;
        int st = memrpc_get(mnemo_harness_address(h), acked[i].id, &m, NULL);
        bad += st != GRPC_STATUS_OK || m == NULL || strcmp(m->content, acked[i].content) != 0;
        mnemo_client_free_message(m);
    }
    CHECK(bad == 0, "%s: all %d acknowledged memories read back intact (%d not)", when, n_acked,
          bad);
}

static void forget_acked(void)
{
    for (int i = 0; i < n_acked; i++)
        free(acked[i].content);
    n_acked = 0;
}

static char *fresh_data(const char *name)
{
    char *data = pathf(mnt, name);
    mnemo_test_rmtree(data);
    return data;
}

/* Writes refused while full, reads go on; freeing space brings writes back
 * without a restart, in well under a second (RECOVERY_POLL_MS is 500). */
static void test_diskfull__recovers_without_restart(void)
{
    if (skipped())
        return;
    char *data = fresh_data("recover");
    mnemo_harness_t *h = start_on(data);
    if (h == NULL)
        goto out;
    CHECK(ballast_present(data), "the ballast is made at start");
    fill_leaving("filler", 10);
    store_until_full(h);
    CHECK(health_of(h) == 2, "health is NOT_SERVING while writes fail (got %d)", health_of(h));
    CHECK(!ballast_present(data), "the ballast was released");
    expect_all_acked(h, "full disk");
    char *details = NULL;
    CHECK(store_one(h, &details) == GRPC_STATUS_UNAVAILABLE, "still refused: %s",
          details != NULL ? details : "");
    free(details);

    long long freed_at = mnemo_harness_now_ms();
    unfill("filler");
    int st = -1;
    while ((st = store_one(h, NULL)) != GRPC_STATUS_OK &&
           mnemo_harness_now_ms() - freed_at < RECOVER_MS)
        sleep_ms(20);
    long long took = mnemo_harness_now_ms() - freed_at;
    CHECK(st == GRPC_STATUS_OK, "writes accepted again within %d ms of freeing space", RECOVER_MS);
    printf("\n    writes accepted again %lld ms after space was freed\n", took);
    CHECK(health_of(h) == 1, "health is SERVING again");
    CHECK(ballast_present(data), "the ballast is made again");
    for (int i = 0; i < 5; i++)
        CHECK(store_one(h, NULL) == GRPC_STATUS_OK, "store %d after recovery", i);
    expect_all_acked(h, "after recovery");
    stop(h);
    h = start_on(data);
    if (h != NULL) {
        expect_all_acked(h, "after a restart");
        stop(h);
    }
out:
    forget_acked();
    free(data);
}

/* kill -9 on a full disk, then a restart with the disk still full but for
 * the ballast it released: that is the room LevelDB's recovery needs (the
 * log it replays becomes a table), so mnemod starts and serves everything
 * acknowledged. Without a ballast this start failed (issue 13: "open data
 * dir: IO error: ...ldb: No space left on device"). */
static void test_diskfull__restart_on_a_full_disk(void)
{
    if (skipped())
        return;
    char *data = fresh_data("restart");
    mnemo_harness_t *h = start_on(data);
    if (h == NULL)
        goto out;
    fill_leaving("filler", 10);
    store_until_full(h);
    mnemo_harness_signal_wait(h, SIGKILL, STOP_TIMEOUT_MS);
    mnemo_harness_destroy(h);
    /* Whatever else was free is gone too: only the ballast's room is left. */
    fill_leaving("filler2", BALLAST_MIB);
    h = start_on(data);
    if (h != NULL) {
        expect_all_acked(h, "restart on a full disk");
        stop(h);
    }
    unfill("filler2");
    unfill("filler");
out:
    forget_acked();
    free(data);
}

/* A tree of n small C files under dir. */
static void make_tree(const char *dir, int n)
{
    mkdir(dir, 0755);
    for (int i = 0; i < n; i++) {
        char name[32], text[4096];
        snprintf(name, sizeof name, "f%04d.c", i);
        char *p = pathf(dir, name);
        int len = 0;
        for (int k = 0; k < 60; k++)
            len += snprintf(text + len, sizeof text - (size_t)len,
                            "int disk_%d_%d(int x) { return x * %d; }\n", i, k, k);
        CHECK(mnemo_test_write_file(p, text, (size_t)len) == 0, "write %s", p);
        free(p);
    }
}

static int status_state(mnemo_client_t *c, bool cancel)
{
    Mnemo__V1__SyncStatus *s = NULL;
    mnemo_call_error_t err;
    int st;
    if (cancel) {
        Mnemo__V1__CancelSyncRequest req = MNEMO__V1__CANCEL_SYNC_REQUEST__INIT;
        req.repository_name = "fulltree";
        st = mnemo_client_cancel_sync(&s, c, &req, &err);
    } else {
        Mnemo__V1__GetSyncStatusRequest req = MNEMO__V1__GET_SYNC_STATUS_REQUEST__INIT;
        req.repository_name = "fulltree";
        st = mnemo_client_get_sync_status(&s, c, &req, &err);
    }
    int state = st == 0 && s != NULL ? (int)s->state : -st;
    mnemo_client_free_message(s);
    return state;
}

static int listed_state(mnemo_client_t *c)
{
    Mnemo__V1__ListRepositoriesRequest req = MNEMO__V1__LIST_REPOSITORIES_REQUEST__INIT;
    Mnemo__V1__ListRepositoriesResponse *resp = NULL;
    mnemo_call_error_t err;
    int state = -1;
    if (mnemo_client_list_repositories(&resp, c, &req, &err) == 0)
        for (size_t i = 0; i < resp->n_repositories; i++)
            if (strcmp(resp->repositories[i]->name, "fulltree") == 0)
                state = (int)resp->repositories[i]->last_state;
    mnemo_client_free_message(resp);
    return state;
}

/* The sync fails on the full disk, and so does the write of its final
 * state: GetSyncStatus, CancelSync and ListRepositories say FAILED at once
 * all the same (memory first), and the disk says so too once it has room. */
static void test_diskfull__failed_sync_reads_failed_everywhere(void)
{
    if (skipped())
        return;
    char *data = fresh_data("sync");
    char *root = mnemo_test_tmpdir(), *tree = pathf(root, "fulltree");
    make_tree(tree, 3000);
    mnemo_harness_t *h = start_on(data);
    mnemo_client_t *c = NULL;
    mnemo_call_error_t err;
    if (h == NULL || mnemo_client_open(&c, mnemo_harness_address(h), NULL, &err) != 0)
        goto out;
    fill_leaving("filler", 3);
    Mnemo__V1__SyncRepositoryRequest req = MNEMO__V1__SYNC_REPOSITORY_REQUEST__INIT;
    req.repository_path = tree;
    req.batch_size = 50;
    mnemo_stream_t *s = NULL;
    int last = -1;
    if (mnemo_client_sync_repository(&s, c, &req, &err) == 0) {
        Mnemo__V1__SyncEvent *ev = NULL;
        while (mnemo_stream_next_sync_event(&ev, s, &err) == 1) {
            if (ev->status != NULL)
                last = (int)ev->status->state;
            mnemo_client_free_message(ev);
        }
        mnemo_stream_close(s);
    }
    const int failed = MNEMO__V1__SYNC_STATE__SYNC_STATE_FAILED;
    CHECK(last == failed, "the sync's last event is FAILED (got %d)", last);
    CHECK(status_state(c, false) == failed, "GetSyncStatus: FAILED (got %d)",
          status_state(c, false));
    CHECK(status_state(c, true) == failed, "CancelSync: FAILED (got %d)", status_state(c, true));
    CHECK(listed_state(c) == failed, "ListRepositories: FAILED (got %d)", listed_state(c));
    unfill("filler");
    long long until = mnemo_harness_now_ms() + RECOVER_MS;
    while (health_of(h) != 1 && mnemo_harness_now_ms() < until)
        sleep_ms(50);
    CHECK(health_of(h) == 1, "SERVING once space is free");
    mnemo_client_close(c);
    c = NULL;
    stop(h);
    h = start_on(data); /* now from disk: FAILED, not INTERRUPTED */
    if (h != NULL && mnemo_client_open(&c, mnemo_harness_address(h), NULL, &err) == 0)
        CHECK(status_state(c, false) == failed, "after a restart: FAILED (got %d)",
              status_state(c, false));
out:
    if (c != NULL)
        mnemo_client_close(c);
    if (h != NULL)
        stop(h);
    mnemo_test_rmtree(root);
    free(root);
    free(tree);
    free(data);
}

int main(void)
{
    char tmpl[] = "/tmp/mnemo-diskfull-XXXXXX";
    char *dir = mkdtemp(tmpl);
    char opts[32];
    snprintf(opts, sizeof opts, "size=%dm", FS_MIB);
    if (dir == NULL)
        snprintf(skip_reason, sizeof skip_reason, "mkdtemp: %s", strerror(errno));
    else if (mount("tmpfs", dir, "tmpfs", 0, opts) != 0)
        snprintf(skip_reason, sizeof skip_reason,
                 "cannot mount a tmpfs to fill (%s): the disk-full tests need root",
                 strerror(errno));
    else
        mnt = dir;
    CU_pSuite s = mnemo_test_suite("diskfull");
    MNEMO_TEST(s, test_diskfull__recovers_without_restart);
    MNEMO_TEST(s, test_diskfull__restart_on_a_full_disk);
    MNEMO_TEST(s, test_diskfull__failed_sync_reads_failed_everywhere);
    int rc = itest_run();
    if (mnt != NULL)
        umount2(mnt, MNT_DETACH);
    if (dir != NULL)
        rmdir(dir);
    return rc;
}
