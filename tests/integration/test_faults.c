/* test_faults.c - a real mnemod over a damaged data dir: it refuses to start
 * or answers DATA_LOSS, and never serves changed bytes or silently less.
 *
 * Each case stores memories through gRPC, stops mnemod with SIGTERM,
 * damages a file the way a disk or an operator does (bytes flipped in the
 * write-ahead log or in a table, CURRENT emptied, MANIFEST cut short, a
 * store directory removed) and starts mnemod again on the same data dir.
 *
 * Not covered, and why (README "When things go wrong"): a log cut short at
 * a record boundary looks to LevelDB exactly like the torn tail a kill -9
 * leaves, which it must recover from; that case is not detected.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"
#include "memrpc.h"

#define N_MEMORIES      300
#define STOP_TIMEOUT_MS 20000

typedef struct stored {
    char id[65];
    char *content;
} stored_t;

/* The content of memory i: distinct, about 400 bytes. */
static char *content_of(int i)
{
    char *c = malloc(512);
    int n = snprintf(c, 512, "fault test memory %d:", i);
    for (int w = 0; n < 400; w++)
        n += snprintf(c + n, 512 - (size_t)n, " w%d_%d", i, w * 31 + i);
    return c;
}

static mnemo_harness_t *start_on(const char *data_dir)
{
    mnemo_harness_options_t opts = {.data_dir = data_dir};
    mnemo_harness_t *h = NULL;
    mnemo_harness_result_t r = mnemo_harness_start(&h, &opts);
    if (!CHECK(r == MNEMO_HARNESS_SERVING, "mnemod started on %s (result %d)", data_dir, (int)r)) {
        if (h != NULL)
            mnemo_harness_dump_log(h);
        mnemo_harness_destroy(h);
        return NULL;
    }
    return h;
}

static void stop(mnemo_harness_t *h)
{
    int st = mnemo_harness_stop(h, STOP_TIMEOUT_MS);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "mnemod stopped cleanly");
    mnemo_harness_destroy(h);
}

/* A fresh data dir with N_MEMORIES stored; restarted once first when
 * in_tables (LevelDB turns the log into a table at open). */
static char *make_data(stored_t *mems, bool in_tables)
{
    char *root = mnemo_test_tmpdir();
    char *data = malloc(strlen(root) + 8);
    sprintf(data, "%s/data", root);
    free(root);
    mnemo_harness_t *h = start_on(data);
    if (h == NULL)
        return data;
    for (int i = 0; i < N_MEMORIES; i++) {
        mems[i].content = content_of(i);
        Mnemo__V1__StoreMemoryResponse *resp = NULL;
        int st = memrpc_store(mnemo_harness_address(h), mems[i].content, NULL, 0, &resp, NULL);
        CHECK(st == GRPC_STATUS_OK, "store %d: %d", i, st);
        if (resp != NULL)
            snprintf(mems[i].id, sizeof mems[i].id, "%s", resp->memory->id);
        mnemo_client_free_message(resp);
    }
    stop(h);
    if (in_tables && (h = start_on(data)) != NULL)
        stop(h);
    return data;
}

static void free_data(char *data, stored_t *mems)
{
    char *slash = strrchr(data, '/');
    *slash = '\0';
    mnemo_test_rmtree(data);
    free(data);
    for (int i = 0; i < N_MEMORIES; i++)
        free(mems[i].content);
}

/* The path of the largest file in dir whose name ends with suffix. */
static bool largest(char *out, size_t cap, const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return false;
    off_t best = -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name), k = strlen(suffix);
        if (n <= k || strcmp(e->d_name + n - k, suffix) != 0)
            continue;
        char path[4096];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &sb) == 0 && sb.st_size > best) {
            best = sb.st_size;
            snprintf(out, cap, "%s", path);
        }
    }
    closedir(d);
    return best > 0;
}

static void flip(const char *path, long num, long den, int n)
{
    FILE *f = fopen(path, "r+b");
    if (!CHECK(f != NULL, "open %s", path))
        return;
    fseek(f, 0, SEEK_END);
    long at = ftell(f) * num / den;
    for (int i = 0; i < n; i++) {
        fseek(f, at + i, SEEK_SET);
        int c = fgetc(f);
        fseek(f, at + i, SEEK_SET);
        fputc(~c & 0xFF, f);
    }
    fclose(f);
}

/* Starts mnemod on data and expects it to refuse (exit 1) with every
 * needle in its output. */
static void expect_refused(const char *data, const char *const *needles)
{
    mnemo_harness_options_t opts = {.data_dir = data};
    mnemo_harness_t *h = NULL;
    mnemo_harness_result_t r = mnemo_harness_start(&h, &opts);
    bool ok = CHECK(r == MNEMO_HARNESS_EXITED, "mnemod refused to start (result %d)", (int)r);
    int st = h != NULL ? mnemo_harness_wait(h, STOP_TIMEOUT_MS) : -1;
    ok = CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1, "exit status 1") && ok;
    for (size_t i = 0; needles[i] != NULL && h != NULL; i++)
        ok =
            CHECK(mnemo_harness_log_contains(h, needles[i]), "the message says '%s'", needles[i]) &&
            ok;
    if (!ok && h != NULL)
        mnemo_harness_dump_log(h);
    mnemo_harness_destroy(h);
}

static void test_faults__flipped_log_refuses_to_start(void)
{
    stored_t mems[N_MEMORIES] = {{{0}, NULL}};
    char *data = make_data(mems, false);
    char dir[4096], log[4096];
    snprintf(dir, sizeof dir, "%s/memories", data);
    if (CHECK(largest(log, sizeof log, dir, ".log"), "a memories log"))
        flip(log, 1, 2, 16);
    const char *needles[] = {"the memories store is damaged", "damaged file: ", ".log",
                             "When things go wrong", NULL};
    expect_refused(data, needles);
    free_data(data, mems);
}

/* A flipped table byte. Either mnemod refuses to start (the damaged block
 * is one it reads at open) naming the store, or it starts and every
 * memory is returned exactly or refused with DATA_LOSS, the first of
 * which turns health NOT_SERVING. Which one depends on where the byte
 * lands; the test flips bytes at several places, each in a fresh copy. */
static void check_flipped_table(long num, long den, int *refused, int *served)
{
    stored_t mems[N_MEMORIES] = {{{0}, NULL}};
    char *data = make_data(mems, true);
    char dir[4096], table[4096];
    snprintf(dir, sizeof dir, "%s/memories", data);
    if (CHECK(largest(table, sizeof table, dir, ".ldb"), "a memories table"))
        flip(table, num, den, 1);
    mnemo_harness_options_t opts = {.data_dir = data};
    mnemo_harness_t *h = NULL;
    mnemo_harness_result_t r = mnemo_harness_start(&h, &opts);
    if (r == MNEMO_HARNESS_EXITED) {
        (*refused)++;
        CHECK(mnemo_harness_log_contains(h, "the memories store is damaged"),
              "a refusal names the store");
        mnemo_harness_destroy(h);
        free_data(data, mems);
        return;
    }
    CHECK(r == MNEMO_HARNESS_SERVING, "mnemod served or refused (result %d)", (int)r);
    (*served)++;
    int exact = 0, lost = 0;
    for (int i = 0; r == MNEMO_HARNESS_SERVING && i < N_MEMORIES; i++) {
        Mnemo__V1__Memory *m = NULL;
        char *details = NULL;
        int st = memrpc_get(mnemo_harness_address(h), mems[i].id, &m, &details);
        if (st == GRPC_STATUS_OK && strcmp(m->content, mems[i].content) == 0)
            exact++;
        else if (st == GRPC_STATUS_DATA_LOSS)
            lost++;
        else
            CHECK(false, "memory %d: status %d '%s' (neither its bytes nor DATA_LOSS)", i, st,
                  details != NULL ? details : "");
        mnemo_client_free_message(m);
        free(details);
    }
    CHECK(lost >= 1 && exact + lost == N_MEMORIES, "%d exact, %d DATA_LOSS", exact, lost);
    int serving = -1;
    CHECK(memrpc_health(mnemo_harness_address(h), "", &serving, NULL) == GRPC_STATUS_OK &&
              serving == 2,
          "health NOT_SERVING after damage (%d)", serving);
    CHECK(mnemo_harness_log_contains(h, "memories store: store read: Corruption"),
          "the damage is logged");
    stop(h);
    free_data(data, mems);
}

static void test_faults__flipped_table_is_refused_or_data_loss(void)
{
    int refused = 0, served = 0;
    for (long num = 1; num <= 3; num++)
        check_flipped_table(num, 5, &refused, &served);
    fprintf(stderr, "(flipped tables: %d refused at start, %d served with DATA_LOSS) ", refused,
            served);
}

static void test_faults__missing_store_refuses_to_start(void)
{
    stored_t mems[N_MEMORIES] = {{{0}, NULL}};
    char *data = make_data(mems, false);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/memories", data);
    mnemo_test_rmtree(dir);
    const char *needles[] = {"the memories store is missing", "/MNEMO", NULL};
    expect_refused(data, needles);
    free_data(data, mems);
}

static void test_faults__empty_current_refuses_to_start(void)
{
    stored_t mems[N_MEMORIES] = {{{0}, NULL}};
    char *data = make_data(mems, true);
    char path[4096];
    snprintf(path, sizeof path, "%s/code/CURRENT", data);
    CHECK(truncate(path, 0) == 0, "empty %s", path);
    const char *needles[] = {"the code store is damaged", NULL};
    expect_refused(data, needles);
    free_data(data, mems);
}

static void test_faults__short_manifest_refuses_to_start(void)
{
    stored_t mems[N_MEMORIES] = {{{0}, NULL}};
    char *data = make_data(mems, true);
    /* The MANIFEST in use is the one CURRENT names. */
    char current[4096], name[256] = "", manifest[4400];
    snprintf(current, sizeof current, "%s/memories/CURRENT", data);
    FILE *f = fopen(current, "r");
    if (CHECK(f != NULL && fgets(name, sizeof name, f) != NULL, "read %s", current)) {
        name[strcspn(name, "\n")] = '\0';
        snprintf(manifest, sizeof manifest, "%s/memories/%s", data, name);
        struct stat sb;
        CHECK(stat(manifest, &sb) == 0 && truncate(manifest, sb.st_size / 2) == 0, "cut %s",
              manifest);
    }
    if (f != NULL)
        fclose(f);
    const char *needles[] = {"the memories store is damaged", NULL};
    expect_refused(data, needles);
    free_data(data, mems);
}

int main(void)
{
    CU_pSuite s = mnemo_test_suite("faults");
    MNEMO_TEST(s, test_faults__flipped_log_refuses_to_start);
    MNEMO_TEST(s, test_faults__flipped_table_is_refused_or_data_loss);
    MNEMO_TEST(s, test_faults__missing_store_refuses_to_start);
    MNEMO_TEST(s, test_faults__empty_current_refuses_to_start);
    MNEMO_TEST(s, test_faults__short_manifest_refuses_to_start);
    return itest_run();
}
