/* test_faults.c - a real mnemod over a damaged data dir: it refuses to start
 * or answers DATA_LOSS, and never serves changed bytes or silently less;
 * then `mnemod repair` recovers what is recoverable and reports the rest.
 *
 * Each case stores memories through gRPC, stops mnemod with SIGTERM,
 * damages a file the way a disk or an operator does (bytes flipped in the
 * write-ahead log or in a table, the log cut short, CURRENT emptied,
 * MANIFEST cut short, a store directory removed) and starts mnemod again
 * on the same data dir. Then it runs `mnemod repair --data-dir`, reads the
 * report's kept and lost numbers, and starts mnemod once more: every
 * memory must come back byte for byte or be NOT_FOUND, the kept ones
 * exactly those the report counts, the lost ids NOT_FOUND, and kept + lost
 * the number stored (at most that number where LevelDB dropped part of a
 * log, which the report then says).
 *
 * Not detected, and why (README "When things go wrong"): a log cut short
 * looks to LevelDB exactly like the torn tail a kill -9 or a power loss
 * leaves, which it must recover from; mnemod starts with the records
 * before the cut, and the test checks that what it serves is exact.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
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

/* Starts mnemod on data_dir, with --allow-root root when root is not NULL. */
static mnemo_harness_t *start_allowing(const char *data_dir, const char *root)
{
    const char *args[] = {"--allow-root", root, NULL};
    return itest_start_on(data_dir, root != NULL ? args : NULL);
}

static mnemo_harness_t *start_on(const char *data_dir)
{
    return start_allowing(data_dir, NULL);
}

static void stop(mnemo_harness_t *h)
{
    itest_stop_clean(h, STOP_TIMEOUT_MS);
}

/* ---- a small repository in the code store ---- */

#define REPO_NAME "tiny"
#define REPO_TERM "zanzibarquokka" /* a term only the repository's file holds */
static const char repo_text[] = "int zanzibarquokka(void)\n{\n    return 42;\n}\n";

/* Syncs the directory repo (one file) as REPO_NAME in the background and
 * waits until it has COMPLETED. */
static void sync_repo(const char *addr, const char *repo)
{
    const ProtobufCServiceDescriptor *svc = &mnemo__v1__repository_service__descriptor;
    Mnemo__V1__SyncRepositoryRequest req = MNEMO__V1__SYNC_REPOSITORY_REQUEST__INIT;
    req.repository_path = (char *)repo;
    req.repository_name = REPO_NAME;
    req.background = true;
    memrpc_reply_t r;
    memrpc_stream_first(&r, addr, svc, "SyncRepository", &req.base);
    CHECK(r.status == GRPC_STATUS_OK, "SyncRepository: %d %s", r.status, r.details);
    memrpc_reply_cleanup(&r);
    int state = 0;
    for (long long t0 = mnemo_harness_now_ms();
         state != MNEMO__V1__SYNC_STATE__SYNC_STATE_COMPLETED &&
         mnemo_harness_now_ms() - t0 < STOP_TIMEOUT_MS;
         usleep(20000)) {
        Mnemo__V1__GetSyncStatusRequest q = MNEMO__V1__GET_SYNC_STATUS_REQUEST__INIT;
        q.repository_name = REPO_NAME;
        Mnemo__V1__SyncStatus *st = NULL;
        if (memrpc_call(svc, addr, "GetSyncStatus", &q.base, (ProtobufCMessage **)&st, NULL) ==
            GRPC_STATUS_OK)
            state = (int)st->state;
        mnemo_client_free_message(st);
    }
    CHECK(state == MNEMO__V1__SYNC_STATE__SYNC_STATE_COMPLETED, "the sync completed (%d)", state);
}

/* True when SearchCode finds the repository's file, byte for byte. */
static bool repo_found(const char *addr)
{
    Mnemo__V1__SearchCodeRequest req = MNEMO__V1__SEARCH_CODE_REQUEST__INIT;
    req.query = REPO_TERM;
    Mnemo__V1__SearchCodeResponse *resp = NULL;
    int st = memrpc_call(&mnemo__v1__repository_service__descriptor, addr, "SearchCode", &req.base,
                         (ProtobufCMessage **)&resp, NULL);
    bool found = st == GRPC_STATUS_OK && resp->n_hits == 1 &&
                 strcmp(resp->hits[0]->content, repo_text) == 0 &&
                 strcmp(resp->hits[0]->repository_name, REPO_NAME) == 0;
    mnemo_client_free_message(resp);
    return found;
}

/* A fresh data dir with N_MEMORIES stored and, when with_repo, a one-file
 * repository synced; restarted once first when in_tables (LevelDB turns
 * the log into a table at open). */
static char *make_data_repo(stored_t *mems, bool in_tables, bool with_repo)
{
    char *root = mnemo_test_tmpdir();
    char *data = malloc(strlen(root) + 8), repo[4200];
    sprintf(data, "%s/data", root);
    snprintf(repo, sizeof repo, "%s/repo", root);
    free(root);
    char file[4300];
    snprintf(file, sizeof file, "%s/tiny.c", repo);
    if (with_repo)
        CHECK(mkdir(repo, 0755) == 0 &&
                  mnemo_test_write_file(file, repo_text, strlen(repo_text)) == 0,
              "write %s", file);
    mnemo_harness_t *h = start_allowing(data, with_repo ? repo : NULL);
    if (h == NULL)
        return data;
    if (with_repo)
        sync_repo(mnemo_harness_address(h), repo);
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

static char *make_data(stored_t *mems, bool in_tables)
{
    return make_data_repo(mems, in_tables, false);
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

/* ---- mnemod repair ---- */

typedef struct repair_run {
    int exit_status; /* -1: did not exit normally */
    char *output;    /* stdout and stderr, in order */
    long kept;       /* "memories: kept N, lost M": -1 when not printed */
    long lost;
    bool at_least; /* "lost at least M": LevelDB dropped part of a log */
    bool all_lost; /* "all memories lost": the store was missing */
} repair_run_t;

/* Runs `mnemod repair args...` (NULL-terminated) and reads its output. */
static repair_run_t run_repair_args(const char *const *args)
{
    repair_run_t r = {.exit_status = -1, .kept = -1, .lost = -1};
    int fds[2];
    if (!CHECK(pipe(fds) == 0, "pipe"))
        return r;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        unsetenv("MNEMO_DATA_DIR"); /* the flag decides */
        const char *argv[16] = {mnemo_harness_mnemod_path(), "repair"};
        for (size_t i = 0; args[i] != NULL && i < 13; i++)
            argv[i + 2] = args[i];
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0, cap = 4096;
    r.output = malloc(cap);
    ssize_t n;
    while ((n = read(fds[0], r.output + len, cap - len - 1)) > 0) {
        len += (size_t)n;
        if (cap - len < 1024)
            r.output = realloc(r.output, cap *= 2);
    }
    r.output[len] = '\0';
    close(fds[0]);
    int st = 0;
    if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st))
        r.exit_status = WEXITSTATUS(st);
    const char *m = strstr(r.output, "memories: kept ");
    if (m != NULL) {
        r.all_lost = strncmp(m, "memories: kept 0, all memories lost", 35) == 0;
        r.at_least =
            strncmp(strchr(m, ',') != NULL ? strchr(m, ',') : m, ", lost at least ", 16) == 0;
        if (sscanf(m, "memories: kept %ld, lost %ld", &r.kept, &r.lost) != 2)
            sscanf(m, "memories: kept %ld, lost at least %ld", &r.kept, &r.lost);
    }
    return r;
}

static repair_run_t run_repair(const char *data)
{
    const char *args[] = {"--data-dir", data, NULL};
    return run_repair_args(args);
}

/* True when the report lists id among the lost memories. */
static bool reported_lost(const repair_run_t *r, const char *id)
{
    const char *ids = strstr(r->output, "(ids: ");
    const char *end = ids != NULL ? strchr(ids, ')') : NULL;
    const char *at = ids != NULL ? strstr(ids, id) : NULL;
    return at != NULL && at < end;
}

/* Runs repair on data, expects it to succeed, then starts mnemod and checks
 * every memory against the report: the kept ones byte for byte, the rest
 * NOT_FOUND (the lost ids among them), kept + lost == N_MEMORIES (<= when
 * the report says "at least"), the index rebuilt, health SERVING. */
static void repair_and_check_repo(const char *data, const stored_t *mems, bool with_repo)
{
    repair_run_t r = run_repair(data);
    bool ok = CHECK(r.exit_status == 0, "mnemod repair exit status %d", r.exit_status);
    ok = CHECK(r.kept >= 0 && r.lost >= 0, "the report says kept and lost") && ok;
    ok =
        CHECK(strstr(r.output, "the data dir is consistent") != NULL, "the report ends well") && ok;
    if (r.at_least)
        ok = CHECK(r.kept + r.lost <= N_MEMORIES, "kept %ld + lost at least %ld <= %d", r.kept,
                   r.lost, N_MEMORIES) &&
             ok;
    else
        ok = CHECK(r.kept + r.lost == N_MEMORIES, "kept %ld + lost %ld == %d", r.kept, r.lost,
                   N_MEMORIES) &&
             ok;
    mnemo_harness_t *h = ok ? start_on(data) : NULL;
    long served = 0;
    int probe = -1;
    for (int i = 0; h != NULL && i < N_MEMORIES; i++) {
        Mnemo__V1__Memory *m = NULL;
        char *details = NULL;
        int st = memrpc_get(mnemo_harness_address(h), mems[i].id, &m, &details);
        if (st == GRPC_STATUS_OK) {
            ok =
                CHECK(strcmp(m->content, mems[i].content) == 0, "memory %d: the stored bytes", i) &&
                ok;
            served++;
            probe = i;
        } else {
            ok = CHECK(st == GRPC_STATUS_NOT_FOUND, "memory %d: status %d '%s' after repair", i, st,
                       details != NULL ? details : "") &&
                 ok;
        }
        if (st == GRPC_STATUS_OK && reported_lost(&r, mems[i].id))
            ok = CHECK(false, "memory %d is served but reported lost", i) && ok;
        mnemo_client_free_message(m);
        free(details);
    }
    if (h != NULL) {
        ok = CHECK(served == r.kept, "mnemod serves %ld memories, the report kept %ld", served,
                   r.kept) &&
             ok;
        char query[64];
        snprintf(query, sizeof query, "w%d_%d", probe, probe);
        Mnemo__V1__RetrieveMemoryResponse *resp = NULL;
        int st = probe >= 0 ? memrpc_retrieve(mnemo_harness_address(h), query, 1, &resp, NULL)
                            : GRPC_STATUS_OK;
        if (probe >= 0)
            ok = CHECK(st == GRPC_STATUS_OK && resp->n_results == 1 &&
                           strcmp(resp->results[0]->memory->id, mems[probe].id) == 0,
                       "the rebuilt index finds memory %d by '%s'", probe, query) &&
                 ok;
        mnemo_client_free_message(resp);
        if (with_repo)
            ok = CHECK(strstr(r.output, "code: 1 repositories kept, 0 marked for re-sync\n") &&
                           repo_found(mnemo_harness_address(h)),
                       "the repository is kept and found byte for byte") &&
                 ok;
        int serving = -1;
        ok = CHECK(memrpc_health(mnemo_harness_address(h), "", &serving, NULL) == GRPC_STATUS_OK &&
                       serving == 1,
                   "health SERVING after repair (%d)", serving) &&
             ok;
        stop(h);
    }
    if (!ok)
        fprintf(stderr, "mnemod repair said:\n%s\n", r.output);
    free(r.output);
}

static void repair_and_check(const char *data, const stored_t *mems)
{
    repair_and_check_repo(data, mems, false);
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
    repair_and_check(data, mems);
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
        repair_and_check(data, mems);
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
    repair_and_check(data, mems);
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
    repair_run_t r = run_repair(data);
    CHECK(r.exit_status == 0 && r.all_lost && r.kept == 0,
          "repair recreates the store and says every memory is lost:\n%s", r.output);
    free(r.output);
    mnemo_harness_t *h = start_on(data);
    for (int i = 0; h != NULL && i < N_MEMORIES; i += 37) {
        int st = memrpc_get(mnemo_harness_address(h), mems[i].id, NULL, NULL);
        CHECK(st == GRPC_STATUS_NOT_FOUND, "memory %d: NOT_FOUND (%d)", i, st);
    }
    if (h != NULL)
        stop(h);
    free_data(data, mems);
}

static void test_faults__empty_current_refuses_to_start(void)
{
    stored_t mems[N_MEMORIES] = {{{0}, NULL}};
    char *data = make_data_repo(mems, true, true);
    char path[4096];
    snprintf(path, sizeof path, "%s/code/CURRENT", data);
    CHECK(truncate(path, 0) == 0, "empty %s", path);
    const char *needles[] = {"the code store is damaged", NULL};
    expect_refused(data, needles);
    repair_and_check_repo(data, mems, true);
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
    repair_and_check(data, mems);
    free_data(data, mems);
}

/* A log cut short: LevelDB cannot tell it from the torn tail of a crash, so
 * mnemod starts with the records before the cut (README "When things go
 * wrong"). What it serves is exact, the rest NOT_FOUND, and repair then
 * keeps exactly what it served. */
static void test_faults__cut_log_serves_exact_prefix_then_repairs(void)
{
    stored_t mems[N_MEMORIES] = {{{0}, NULL}};
    char *data = make_data(mems, false);
    char dir[4096], log[4096];
    snprintf(dir, sizeof dir, "%s/memories", data);
    struct stat sb;
    if (CHECK(largest(log, sizeof log, dir, ".log") && stat(log, &sb) == 0, "a memories log"))
        CHECK(truncate(log, sb.st_size / 2) == 0, "cut %s", log);
    mnemo_harness_t *h = start_on(data);
    int served = 0;
    for (int i = 0; h != NULL && i < N_MEMORIES; i++) {
        Mnemo__V1__Memory *m = NULL;
        int st = memrpc_get(mnemo_harness_address(h), mems[i].id, &m, NULL);
        if (st == GRPC_STATUS_OK)
            served += CHECK(strcmp(m->content, mems[i].content) == 0, "memory %d exact", i);
        else
            CHECK(st == GRPC_STATUS_NOT_FOUND, "memory %d: NOT_FOUND, not %d", i, st);
        mnemo_client_free_message(m);
    }
    CHECK(served > 0 && served < N_MEMORIES, "a prefix survives the cut (%d)", served);
    if (h != NULL)
        stop(h);
    repair_run_t r = run_repair(data);
    CHECK(r.exit_status == 0 && r.kept == served && r.lost == 0,
          "repair keeps the %d served (kept %ld, lost %ld):\n%s", served, r.kept, r.lost, r.output);
    free(r.output);
    free_data(data, mems);
}

/* Repair refuses a data dir a running mnemod holds, and changes nothing. */
static void test_faults__repair_refuses_while_mnemod_runs(void)
{
    char *root = mnemo_test_tmpdir();
    char data[4200];
    snprintf(data, sizeof data, "%s/data", root);
    mnemo_harness_t *h = start_on(data);
    Mnemo__V1__StoreMemoryResponse *resp = NULL;
    int st = h != NULL ? memrpc_store(mnemo_harness_address(h), "kept while repair is refused",
                                      NULL, 0, &resp, NULL)
                       : -1;
    CHECK(st == GRPC_STATUS_OK, "store: %d", st);
    repair_run_t r = run_repair(data);
    CHECK(r.exit_status == 1 && strstr(r.output, "in use") != NULL &&
              strstr(r.output, "stop it first") != NULL,
          "repair refuses (exit %d):\n%s", r.exit_status, r.output);
    free(r.output);
    Mnemo__V1__Memory *m = NULL;
    st = h != NULL && resp != NULL
             ? memrpc_get(mnemo_harness_address(h), resp->memory->id, &m, NULL)
             : -1;
    CHECK(st == GRPC_STATUS_OK, "the memory still reads: %d", st);
    mnemo_client_free_message(m);
    mnemo_client_free_message(resp);
    if (h != NULL)
        stop(h);
    const char *bad[] = {"--bogus", NULL};
    r = run_repair_args(bad);
    CHECK(r.exit_status == 2, "an unknown argument is a usage error (%d)", r.exit_status);
    free(r.output);
    mnemo_test_rmtree(root);
    free(root);
}

int main(void)
{
    CU_pSuite s = mnemo_test_suite("faults");
    MNEMO_TEST(s, test_faults__flipped_log_refuses_to_start);
    MNEMO_TEST(s, test_faults__flipped_table_is_refused_or_data_loss);
    MNEMO_TEST(s, test_faults__missing_store_refuses_to_start);
    MNEMO_TEST(s, test_faults__empty_current_refuses_to_start);
    MNEMO_TEST(s, test_faults__short_manifest_refuses_to_start);
    MNEMO_TEST(s, test_faults__cut_log_serves_exact_prefix_then_repairs);
    MNEMO_TEST(s, test_faults__repair_refuses_while_mnemod_runs);
    return itest_run();
}
