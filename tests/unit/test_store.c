/* test_store.c - unit tests of store.c: reads and writes, atomic batches,
 * batch hooks, snapshot iterators, the directory lock, the sticky write
 * failure, damaged files (never served as data) and repair.
 */
#include "store.h"
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static mnemo_store_t *open_with(const char *dir, const mnemo_store_options_t *opts)
{
    mnemo_store_t *s = NULL;
    mnemo_err_t err = {{0}};
    mnemo_status_t st = mnemo_store_open(&s, dir, opts, &err);
    CU_ASSERT_EQUAL_FATAL(st, MNEMO_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    return s;
}

static mnemo_store_t *open_store(const char *dir)
{
    return open_with(dir, NULL);
}

static void put1(mnemo_store_t *s, const char *key, const char *val)
{
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    mnemo_store_batch_put(b, key, strlen(key), val, strlen(val));
    CU_ASSERT_EQUAL(mnemo_store_write(s, b, false, NULL), MNEMO_OK);
    mnemo_store_batch_destroy(b);
}

/* True when key holds exactly val. */
static int has(mnemo_store_t *s, const char *key, const char *val)
{
    char *got = NULL;
    size_t n = 0;
    if (mnemo_store_get(s, key, strlen(key), &got, &n, NULL) != MNEMO_OK)
        return 0;
    int ok = n == strlen(val) && memcmp(got, val, n) == 0 && got[n] == '\0';
    free(got);
    return ok;
}

static int absent(mnemo_store_t *s, const char *key)
{
    char *got = NULL;
    size_t n = 0;
    return mnemo_store_get(s, key, strlen(key), &got, &n, NULL) == MNEMO_ENOTFOUND && got == NULL;
}

static void test_store__get_after_write(void)
{
    char *dir = mnemo_test_tmpdir();
    mnemo_store_t *s = open_store(dir);
    put1(s, "alpha", "one");
    CU_ASSERT(has(s, "alpha", "one"));
    put1(s, "alpha", "two");
    CU_ASSERT(has(s, "alpha", "two"));
    CU_ASSERT(!mnemo_store_failed(s));
    mnemo_store_close(s);
    mnemo_test_rmtree(dir);
    free(dir);
}

static void test_store__get_missing_is_notfound(void)
{
    char *dir = mnemo_test_tmpdir();
    mnemo_store_t *s = open_store(dir);
    CU_ASSERT(absent(s, "nothing"));
    mnemo_store_close(s);
    mnemo_test_rmtree(dir);
    free(dir);
}

static void test_store__binary_keys_and_values(void)
{
    char *dir = mnemo_test_tmpdir();
    mnemo_store_t *s = open_store(dir);
    const char key[] = {'k', '\0', 'x'};
    const char val[] = {'\0', 'v', '\0', (char)0xff};
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    mnemo_store_batch_put(b, key, sizeof key, val, sizeof val);
    mnemo_store_batch_put(b, "", 0, "", 0); /* empty key and value */
    CU_ASSERT_EQUAL(mnemo_store_write(s, b, true, NULL), MNEMO_OK);
    mnemo_store_batch_destroy(b);
    char *got = NULL;
    size_t n = 0;
    CU_ASSERT_EQUAL_FATAL(mnemo_store_get(s, key, sizeof key, &got, &n, NULL), MNEMO_OK);
    CU_ASSERT_EQUAL(n, sizeof val);
    CU_ASSERT(memcmp(got, val, sizeof val) == 0);
    CU_ASSERT_EQUAL(got[n], '\0');
    free(got);
    CU_ASSERT(absent(s, "k")); /* a prefix of key is another key */
    CU_ASSERT(has(s, "", ""));
    mnemo_store_close(s);
    mnemo_test_rmtree(dir);
    free(dir);
}

static void test_store__delete(void)
{
    char *dir = mnemo_test_tmpdir();
    mnemo_store_t *s = open_store(dir);
    put1(s, "a", "1");
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    mnemo_store_batch_delete(b, "a", 1);
    mnemo_store_batch_delete(b, "never", 5); /* deleting an absent key is fine */
    CU_ASSERT_EQUAL(mnemo_store_batch_count(b), 2);
    CU_ASSERT_EQUAL(mnemo_store_write(s, b, true, NULL), MNEMO_OK);
    mnemo_store_batch_destroy(b);
    CU_ASSERT(absent(s, "a"));
    mnemo_store_close(s);
    mnemo_test_rmtree(dir);
    free(dir);
}

static void test_store__batch_is_atomic_and_ordered(void)
{
    char *dir = mnemo_test_tmpdir();
    mnemo_store_t *s = open_store(dir);
    put1(s, "old", "x");
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    CU_ASSERT_EQUAL(mnemo_store_batch_count(b), 0);
    mnemo_store_batch_put(b, "k1", 2, "v1", 2);
    mnemo_store_batch_put(b, "k2", 2, "v2", 2);
    mnemo_store_batch_delete(b, "old", 3);
    mnemo_store_batch_put(b, "k1", 2, "v1b", 3); /* later op wins */
    CU_ASSERT_EQUAL(mnemo_store_batch_count(b), 4);
    /* Nothing is visible before the write. */
    CU_ASSERT(absent(s, "k1"));
    CU_ASSERT(has(s, "old", "x"));
    CU_ASSERT_EQUAL(mnemo_store_write(s, b, true, NULL), MNEMO_OK);
    CU_ASSERT(has(s, "k1", "v1b"));
    CU_ASSERT(has(s, "k2", "v2"));
    CU_ASSERT(absent(s, "old"));
    /* A cleared batch writes nothing and can be reused. */
    mnemo_store_batch_clear(b);
    CU_ASSERT_EQUAL(mnemo_store_batch_count(b), 0);
    mnemo_store_batch_put(b, "k3", 2, "v3", 2);
    CU_ASSERT_EQUAL(mnemo_store_write(s, b, false, NULL), MNEMO_OK);
    CU_ASSERT(has(s, "k3", "v3"));
    CU_ASSERT(has(s, "k1", "v1b"));
    mnemo_store_batch_destroy(b);
    mnemo_store_batch_destroy(NULL);
    mnemo_store_close(s);
    mnemo_test_rmtree(dir);
    free(dir);
}

static void put_letters(mnemo_store_t *s)
{
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    const char *keys[] = {"b", "d", "f", "h"};
    for (size_t i = 0; i < 4; i++)
        mnemo_store_batch_put(b, keys[i], 1, keys[i], 1);
    CU_ASSERT_EQUAL(mnemo_store_write(s, b, false, NULL), MNEMO_OK);
    mnemo_store_batch_destroy(b);
}

/* The key under it as a NUL-terminated string in buf, or "" when invalid. */
static const char *at(mnemo_store_iter_t *it, char buf[16])
{
    buf[0] = '\0';
    if (mnemo_store_iter_valid(it)) {
        size_t n = 0;
        const char *k = mnemo_store_iter_key(it, &n);
        snprintf(buf, 16, "%.*s", (int)n, k);
    }
    return buf;
}

static void test_store__iter_forward_and_reverse(void)
{
    char *dir = mnemo_test_tmpdir();
    mnemo_store_t *s = open_store(dir);
    put_letters(s);
    mnemo_store_iter_t *it = mnemo_store_iter_create(s);
    char buf[16];
    char seen[8] = "";
    for (mnemo_store_iter_seek(it, "", 0); mnemo_store_iter_valid(it); mnemo_store_iter_next(it))
        strcat(seen, at(it, buf));
    CU_ASSERT_STRING_EQUAL(seen, "bdfh");
    mnemo_store_iter_seek(it, "c", 1);
    CU_ASSERT_STRING_EQUAL(at(it, buf), "d");
    size_t vlen = 0;
    CU_ASSERT(memcmp(mnemo_store_iter_value(it, &vlen), "d", 1) == 0 && vlen == 1);
    seen[0] = '\0';
    for (mnemo_store_iter_seek_before(it, "zz", 2); mnemo_store_iter_valid(it);
         mnemo_store_iter_prev(it))
        strcat(seen, at(it, buf));
    CU_ASSERT_STRING_EQUAL(seen, "hfdb");
    CU_ASSERT_EQUAL(mnemo_store_iter_status(it, NULL), MNEMO_OK);
    mnemo_store_iter_destroy(it);
    mnemo_store_iter_destroy(NULL);
    mnemo_store_close(s);
    mnemo_test_rmtree(dir);
    free(dir);
}

static void test_store__iter_seek_before(void)
{
    char *dir = mnemo_test_tmpdir();
    mnemo_store_t *s = open_store(dir);
    mnemo_store_iter_t *empty = mnemo_store_iter_create(s);
    mnemo_store_iter_seek_before(empty, "m", 1);
    CU_ASSERT(!mnemo_store_iter_valid(empty));
    mnemo_store_iter_destroy(empty);
    put_letters(s);
    mnemo_store_iter_t *it = mnemo_store_iter_create(s);
    char buf[16];
    mnemo_store_iter_seek_before(it, "e", 1); /* between keys */
    CU_ASSERT_STRING_EQUAL(at(it, buf), "d");
    mnemo_store_iter_seek_before(it, "f", 1); /* strictly before an existing key */
    CU_ASSERT_STRING_EQUAL(at(it, buf), "d");
    mnemo_store_iter_seek_before(it, "b", 1); /* nothing before the first key */
    CU_ASSERT(!mnemo_store_iter_valid(it));
    mnemo_store_iter_seek_before(it, "i", 1); /* past the end */
    CU_ASSERT_STRING_EQUAL(at(it, buf), "h");
    mnemo_store_iter_seek(it, "i", 1);
    CU_ASSERT(!mnemo_store_iter_valid(it));
    mnemo_store_iter_destroy(it);
    mnemo_store_close(s);
    mnemo_test_rmtree(dir);
    free(dir);
}

static void test_store__iter_sees_snapshot(void)
{
    char *dir = mnemo_test_tmpdir();
    mnemo_store_t *s = open_store(dir);
    put_letters(s);
    mnemo_store_iter_t *it = mnemo_store_iter_create(s);
    put1(s, "c", "new");
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    mnemo_store_batch_delete(b, "d", 1);
    CU_ASSERT_EQUAL(mnemo_store_write(s, b, false, NULL), MNEMO_OK);
    mnemo_store_batch_destroy(b);
    char buf[16];
    char seen[8] = "";
    for (mnemo_store_iter_seek(it, "", 0); mnemo_store_iter_valid(it); mnemo_store_iter_next(it))
        strcat(seen, at(it, buf));
    CU_ASSERT_STRING_EQUAL(seen, "bdfh");
    mnemo_store_iter_destroy(it);
    it = mnemo_store_iter_create(s); /* a new iterator sees the writes */
    seen[0] = '\0';
    for (mnemo_store_iter_seek(it, "", 0); mnemo_store_iter_valid(it); mnemo_store_iter_next(it))
        strcat(seen, at(it, buf));
    CU_ASSERT_STRING_EQUAL(seen, "bcfh");
    mnemo_store_iter_destroy(it);
    mnemo_store_close(s);
    mnemo_test_rmtree(dir);
    free(dir);
}

static void test_store__second_open_is_unavailable(void)
{
    char *dir = mnemo_test_tmpdir();
    mnemo_store_t *s = open_store(dir);
    mnemo_store_t *s2 = NULL;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_store_open(&s2, dir, NULL, &err), MNEMO_EUNAVAIL);
    CU_ASSERT_PTR_NULL(s2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, dir));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "in use by another process"));
    mnemo_store_close(s);
    /* Once closed, the directory opens again. */
    CU_ASSERT_EQUAL(mnemo_store_open(&s2, dir, NULL, &err), MNEMO_OK);
    mnemo_store_close(s2);
    mnemo_store_close(NULL);
    mnemo_test_rmtree(dir);
    free(dir);
}

/* The same, from another process: LevelDB's fcntl lock refuses it. */
static void test_store__open_from_other_process_is_unavailable(void)
{
    char *dir = mnemo_test_tmpdir();
    mnemo_store_t *s = open_store(dir);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        mnemo_store_t *s2 = NULL;
        mnemo_err_t err = {{0}};
        mnemo_status_t st = mnemo_store_open(&s2, dir, NULL, &err);
        _exit(st == MNEMO_EUNAVAIL && strstr(err.msg, dir) != NULL ? 0 : 1);
    }
    int wstatus = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &wstatus, 0), pid);
    CU_ASSERT(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
    mnemo_store_close(s);
    mnemo_test_rmtree(dir);
    free(dir);
}

static void test_store__reopen_keeps_data(void)
{
    char *dir = mnemo_test_tmpdir();
    mnemo_store_options_t opts = {.cache_bytes = 1 << 20, .write_buffer_size = 1 << 20};
    mnemo_store_t *s = NULL;
    CU_ASSERT_EQUAL_FATAL(mnemo_store_open(&s, dir, &opts, NULL), MNEMO_OK);
    char key[32];
    char val[64];
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    for (int i = 0; i < 2000; i++) {
        int kn = snprintf(key, sizeof key, "key%05d", i);
        int vn = snprintf(val, sizeof val, "value-%d-padding-padding-padding", i);
        mnemo_store_batch_put(b, key, (size_t)kn, val, (size_t)vn);
    }
    CU_ASSERT_EQUAL(mnemo_store_write(s, b, true, NULL), MNEMO_OK);
    mnemo_store_batch_destroy(b);
    mnemo_store_close(s);
    s = open_store(dir);
    CU_ASSERT(has(s, "key00000", "value-0-padding-padding-padding"));
    CU_ASSERT(has(s, "key01999", "value-1999-padding-padding-padding"));
    CU_ASSERT(mnemo_store_approximate_size(s, "key", 3, "kez", 3) < (1ull << 30));
    mnemo_store_close(s);
    mnemo_test_rmtree(dir);
    free(dir);
}

static void test_store__open_fails_on_a_file(void)
{
    char *dir = mnemo_test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/plainfile", dir);
    CU_ASSERT_EQUAL_FATAL(mnemo_test_write_file(path, "x", 1), 0);
    mnemo_store_t *s = NULL;
    mnemo_err_t err = {{0}};
    mnemo_status_t st = mnemo_store_open(&s, path, NULL, &err);
    CU_ASSERT(st == MNEMO_EIO || st == MNEMO_ECORRUPT);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT(err.msg[0] != '\0');
    mnemo_test_rmtree(dir);
    free(dir);
}

/* A write that fails (here: the file size limit makes the log append fail)
 * fails the store for good, even once the cause is gone. */
/* A batch hook that records what happened to it. */
typedef struct probe {
    mnemo_store_t *store; /* to check what is visible when done runs */
    int prepared, done, committed;
    int saw_own_key; /* in done: the key prepare added was readable */
} probe_t;

static void probe_prepare(void *ctx, mnemo_store_batch_t *batch)
{
    probe_t *p = ctx;
    p->prepared++;
    mnemo_store_batch_put(batch, "hooked", 6, "yes", 3);
}

static void probe_done(void *ctx, bool committed)
{
    probe_t *p = ctx;
    p->done++;
    p->committed += committed;
    p->saw_own_key = has(p->store, "hooked", "yes");
}

static const mnemo_store_hook_t probe_hook = {probe_prepare, probe_done};

static void test_store__hook_prepares_before_and_publishes_after_write(void)
{
    char *dir = mnemo_test_tmpdir();
    mnemo_store_t *s = open_store(dir);
    probe_t p = {.store = s};
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    mnemo_store_batch_put(b, "plain", 5, "v", 1);
    mnemo_store_batch_attach(b, &p, &probe_hook, &p);
    CU_ASSERT_PTR_EQUAL(mnemo_store_batch_attached(b, &p), &p);
    CU_ASSERT_PTR_NULL(mnemo_store_batch_attached(b, s));
    CU_ASSERT_EQUAL(mnemo_store_write(s, b, false, NULL), MNEMO_OK);
    CU_ASSERT_EQUAL(p.prepared, 1);
    CU_ASSERT_EQUAL(p.done, 1);
    CU_ASSERT_EQUAL(p.committed, 1);
    CU_ASSERT_EQUAL(p.saw_own_key, 1); /* done runs once the write is visible */
    CU_ASSERT(has(s, "plain", "v"));
    /* detached after done: a second write of the same batch runs nothing */
    CU_ASSERT_PTR_NULL(mnemo_store_batch_attached(b, &p));
    CU_ASSERT_EQUAL(mnemo_store_write(s, b, false, NULL), MNEMO_OK);
    CU_ASSERT_EQUAL(p.done, 1);
    mnemo_store_batch_destroy(b);
    CU_ASSERT_EQUAL(p.done, 1);
    mnemo_store_close(s);
    mnemo_test_rmtree(dir);
    free(dir);
}

static void test_store__hook_is_told_of_unwritten_batches(void)
{
    char *dir = mnemo_test_tmpdir();
    mnemo_store_t *s = open_store(dir);
    probe_t cleared = {.store = s}, destroyed = {.store = s};
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    mnemo_store_batch_attach(b, &cleared, &probe_hook, &cleared);
    mnemo_store_batch_clear(b);
    CU_ASSERT_EQUAL(cleared.done, 1);
    CU_ASSERT_EQUAL(cleared.committed, 0);
    CU_ASSERT_EQUAL(cleared.prepared, 0);
    mnemo_store_batch_attach(b, &destroyed, &probe_hook, &destroyed);
    mnemo_store_batch_destroy(b);
    CU_ASSERT_EQUAL(destroyed.done, 1);
    CU_ASSERT_EQUAL(destroyed.committed, 0);
    CU_ASSERT(absent(s, "hooked"));
    mnemo_store_close(s);
    mnemo_test_rmtree(dir);
    free(dir);
}

/* Writes a batch of 256 KiB while files may not grow past 4 KiB: the write
 * fails (EFBIG). p, when not NULL, is attached as a batch hook. */
static mnemo_status_t write_too_big(mnemo_store_t *s, mnemo_store_batch_t *b, probe_t *p)
{
    mnemo_test_cap_files(4096);
    size_t big = 256 * 1024;
    char *val = malloc(big);
    CU_ASSERT_PTR_NOT_NULL_FATAL(val);
    memset(val, 'v', big);
    mnemo_store_batch_put(b, "big", 3, val, big);
    if (p != NULL)
        mnemo_store_batch_attach(b, p, &probe_hook, p);
    mnemo_err_t err = {{0}};
    mnemo_status_t st = mnemo_store_write(s, b, true, &err);
    mnemo_test_uncap_files();
    free(val);
    return st;
}

static void count_failure(void *ctx, const char *problem)
{
    CU_ASSERT_PTR_NOT_NULL(strstr(problem, "store write"));
    (*(int *)ctx)++;
}

static void test_store__failed_write_is_sticky(void)
{
    char *dir = mnemo_test_tmpdir();
    mnemo_store_t *s = open_store(dir);
    put1(s, "before", "ok");
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    probe_t p = {.store = s};
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(write_too_big(s, b, &p), MNEMO_EIO);
    CU_ASSERT(mnemo_store_failed(s));
    CU_ASSERT_EQUAL(p.done, 1); /* a failed write tells the hook so */
    CU_ASSERT_EQUAL(p.committed, 0);
    mnemo_store_batch_clear(b);
    mnemo_store_batch_put(b, "small", 5, "s", 1);
    CU_ASSERT_EQUAL(mnemo_store_write(s, b, false, &err), MNEMO_EIO);
    CU_ASSERT(absent(s, "small"));
    CU_ASSERT(has(s, "before", "ok")); /* reads keep working */
    mnemo_store_batch_destroy(b);
    mnemo_store_close(s);
    mnemo_test_rmtree(dir);
    free(dir);
}

static void test_store__failure_hook_runs_once(void)
{
    char *dir = mnemo_test_tmpdir();
    mnemo_store_t *s = open_store(dir);
    int told = 0;
    mnemo_store_on_failure(s, count_failure, &told);
    put1(s, "before", "ok");
    CU_ASSERT_EQUAL(told, 0); /* writes that succeed tell nothing */
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    CU_ASSERT_EQUAL(write_too_big(s, b, NULL), MNEMO_EIO);
    CU_ASSERT_EQUAL(told, 1);
    mnemo_store_batch_clear(b);
    mnemo_store_batch_put(b, "small", 5, "s", 1);
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_store_write(s, b, false, &err), MNEMO_EIO);
    CU_ASSERT_EQUAL(told, 1); /* refused, not failed again */
    mnemo_store_batch_destroy(b);
    mnemo_store_close(s);
    mnemo_test_rmtree(dir);
    free(dir);
}

static void test_store__failure_hook_set_late_runs_at_once(void)
{
    char *dir = mnemo_test_tmpdir();
    mnemo_store_t *s = open_store(dir);
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    CU_ASSERT_EQUAL(write_too_big(s, b, NULL), MNEMO_EIO);
    int told = 0;
    mnemo_store_on_failure(s, count_failure, &told);
    CU_ASSERT_EQUAL(told, 1);
    mnemo_store_batch_destroy(b);
    mnemo_store_close(s);
    mnemo_test_rmtree(dir);
    free(dir);
}

/* ---- damaged files ------------------------------------------------------ */

/* The path of the first file in dir whose name ends with suffix. */
static bool find_file(char *out, size_t cap, const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    struct dirent *e;
    bool found = false;
    while (!found && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name), k = strlen(suffix);
        if (n > k && strcmp(e->d_name + n - k, suffix) == 0) {
            snprintf(out, cap, "%s/%s", dir, e->d_name);
            found = true;
        }
    }
    closedir(d);
    return found;
}

/* Inverts n bytes of path at offset size * num / den. */
static void flip_bytes(const char *path, long num, long den, int n)
{
    FILE *f = fopen(path, "r+b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
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

/* The value of key i of put_many: 1000 bytes (and a NUL), its number
 * first, so no two keys' values are alike, then letters that repeat every
 * 26 bytes, which snappy folds to a fraction. */
static void value_of(int i, char val[1001])
{
    snprintf(val, 1001, "%04d", i);
    for (int j = 4; j < 1000; j++)
        val[j] = (char)('a' + (i * 7 + j * 11) % 26);
    val[1000] = '\0';
}

/* 400 keys of 1000 bytes each: many blocks, in the log until the store is
 * reopened, in a table after. */
static void put_many(mnemo_store_t *s)
{
    char key[16], val[1001];
    for (int i = 0; i < 400; i++) {
        snprintf(key, sizeof key, "k%04d", i);
        value_of(i, val);
        put1(s, key, val);
    }
}

static void count_damage(void *ctx, const char *problem)
{
    CU_ASSERT_PTR_NOT_NULL(strstr(problem, "Corruption"));
    (*(int *)ctx)++;
}

/* A flipped byte in the log fails the open instead of dropping records
 * (LevelDB's default drops them and opens with less data). */
static void test_store__damaged_log_fails_the_open(void)
{
    char *dir = mnemo_test_tmpdir();
    mnemo_store_t *s = open_store(dir);
    put_many(s);
    mnemo_store_close(s);
    char log[4096];
    CU_ASSERT_FATAL(find_file(log, sizeof log, dir, ".log"));
    flip_bytes(log, 1, 2, 16);
    mnemo_err_t err = {{0}};
    s = NULL;
    CU_ASSERT_EQUAL(mnemo_store_open(&s, dir, NULL, &err), MNEMO_ECORRUPT);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "Corruption"));
    mnemo_test_rmtree(dir);
    free(dir);
}

/* Writes put_many's keys into a new store in dir and reopens it, so that
 * they are in a table; returns the table's path in table. */
static void put_many_in_a_table(char *table, size_t cap, const char *dir,
                                const mnemo_store_options_t *opts)
{
    mnemo_store_t *s = open_with(dir, opts);
    put_many(s);
    mnemo_store_close(s);
    mnemo_store_close(open_with(dir, opts)); /* the log becomes a table */
    CU_ASSERT_FATAL(find_file(table, cap, dir, ".ldb"));
}

/* A flipped byte in a table: reads of the damaged block are MNEMO_ECORRUPT
 * (and tell the failure hook), never a changed value. Uncompressed, a block
 * is served from the mapped table as it lies there: only its checksum
 * stands between a flipped byte and the reader. */
static void damaged_table_is_never_read_as_data(const mnemo_store_options_t *opts)
{
    char *dir = mnemo_test_tmpdir();
    char table[4096];
    put_many_in_a_table(table, sizeof table, dir, opts);
    flip_bytes(table, 1, 3, 1);
    mnemo_store_t *s = open_with(dir, opts);
    int told = 0;
    mnemo_store_on_failure(s, count_damage, &told);
    int corrupt = 0, ok = 0;
    char key[16], want[1001];
    for (int i = 0; i < 400; i++) {
        snprintf(key, sizeof key, "k%04d", i);
        value_of(i, want);
        char *got = NULL;
        size_t n = 0;
        mnemo_err_t err = {{0}};
        mnemo_status_t st = mnemo_store_get(s, key, strlen(key), &got, &n, &err);
        if (st == MNEMO_ECORRUPT)
            corrupt++;
        else if (st == MNEMO_OK && n == 1000 && memcmp(got, want, n) == 0)
            ok++;
        else
            CU_FAIL("a read returned something other than the value or ECORRUPT");
        free(got);
    }
    CU_ASSERT(corrupt >= 1);
    CU_ASSERT_EQUAL(corrupt + ok, 400);
    CU_ASSERT_EQUAL(told, 1);
    CU_ASSERT_FALSE(mnemo_store_failed(s)); /* damage found by a read does not stop writes */
    mnemo_store_close(s);
    mnemo_test_rmtree(dir);
    free(dir);
}

static void test_store__damaged_table_is_never_read_as_data(void)
{
    damaged_table_is_never_read_as_data(NULL);
}

static void test_store__damaged_uncompressed_table_is_never_read_as_data(void)
{
    damaged_table_is_never_read_as_data(&(mnemo_store_options_t){.uncompressed = true});
}

/* Snappy folds put_many's values to a fraction; an uncompressed table
 * holds each as written. */
static void test_store__uncompressed_tables_hold_values_as_written(void)
{
    const long raw = 400 * 1000;
    const mnemo_store_options_t plain = {.uncompressed = true};
    char *dirs[2] = {mnemo_test_tmpdir(), mnemo_test_tmpdir()};
    char table[2][4096];
    put_many_in_a_table(table[0], sizeof table[0], dirs[0], NULL);
    put_many_in_a_table(table[1], sizeof table[1], dirs[1], &plain);
    long size[2];
    for (int i = 0; i < 2; i++) {
        struct stat st;
        CU_ASSERT_EQUAL_FATAL(stat(table[i], &st), 0);
        size[i] = (long)st.st_size;
    }
    printf("\n  %ld bytes of values: a table of %ld bytes with snappy, %ld uncompressed\n", raw,
           size[0], size[1]);
    CU_ASSERT(size[0] < raw / 2);
    CU_ASSERT(size[1] >= raw);
    char want[1001];
    value_of(399, want);
    CU_ASSERT(mnemo_test_tables_hold(dirs[1], want, 1000));
    mnemo_store_t *s = open_with(dirs[1], &plain);
    CU_ASSERT(has(s, "k0399", want));
    mnemo_store_close(s);
    for (int i = 0; i < 2; i++) {
        mnemo_test_rmtree(dirs[i]);
        free(dirs[i]);
    }
}

/* ---- repair ------------------------------------------------------------- */

/* Inverts a byte in the middle of a value in the log at path (not in a
 * record header, whose damage LevelDB's repairer notices by itself): of
 * the first value from the 200th on that lies whole in one record. */
static bool flip_in_value(const char *path)
{
    FILE *f = fopen(path, "r+b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    char val[1001];
    const char *at = NULL;
    for (int i = 200; i < 400 && at == NULL; i++) {
        value_of(i, val);
        at = memmem(buf, n, val, 1000);
    }
    if (at != NULL) {
        fseek(f, (long)(at - buf) + 500, SEEK_SET);
        fputc(~at[500] & 0xFF, f);
    }
    fclose(f);
    return at != NULL;
}

/* LevelDB's repairer alone would read a log without its checksums and
 * keep a flipped value as data: mnemo_store_repair drops the damaged part
 * instead, says so, and keeps the rest exactly. */
static void test_store__repair_never_keeps_a_flipped_log_value(void)
{
    char *dir = mnemo_test_tmpdir();
    mnemo_store_t *s = open_store(dir);
    put_many(s);
    mnemo_store_close(s);
    char log[4096];
    CU_ASSERT_FATAL(find_file(log, sizeof log, dir, ".log"));
    CU_ASSERT_FATAL(flip_in_value(log));
    char *findings = NULL;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL_FATAL(mnemo_store_repair(dir, NULL, &findings, &err), MNEMO_OK);
    CU_ASSERT_PTR_NOT_NULL(findings != NULL ? strstr(findings, ": dropping ") : NULL);
    CU_ASSERT_PTR_NOT_NULL(findings != NULL ? strstr(findings, "log 0") : NULL);
    free(findings);
    s = open_store(dir);
    int ok = 0, gone = 0;
    char key[16], want[1001];
    for (int i = 0; i < 400; i++) {
        snprintf(key, sizeof key, "k%04d", i);
        value_of(i, want);
        if (has(s, key, want))
            ok++;
        else if (absent(s, key))
            gone++;
        else
            CU_FAIL("a repaired store returned a value other than the one written");
    }
    CU_ASSERT(ok > 0 && gone > 0);
    CU_ASSERT_EQUAL(ok + gone, 400);
    mnemo_store_close(s);
    mnemo_test_rmtree(dir);
    free(dir);
}

/* An intact store comes out of repair whole; a directory without a store
 * is MNEMO_ENOTFOUND and stays without one. */
static void test_store__repair_keeps_an_intact_store(void)
{
    char *dir = mnemo_test_tmpdir();
    char *findings = NULL;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_store_repair(dir, NULL, &findings, &err), MNEMO_ENOTFOUND);
    CU_ASSERT_PTR_NULL(findings);
    char current[4200];
    snprintf(current, sizeof current, "%s/CURRENT", dir);
    CU_ASSERT_NOT_EQUAL(access(current, F_OK), 0);
    mnemo_store_t *s = open_store(dir);
    put1(s, "alpha", "one");
    mnemo_store_close(s);
    CU_ASSERT_EQUAL(mnemo_store_repair(dir, NULL, &findings, &err), MNEMO_OK);
    CU_ASSERT_PTR_NULL(findings);
    s = open_store(dir);
    CU_ASSERT(has(s, "alpha", "one"));
    put1(s, "beta", "two"); /* a repaired store takes writes */
    mnemo_store_close(s);
    s = open_store(dir);
    CU_ASSERT(has(s, "beta", "two"));
    mnemo_store_close(s);
    mnemo_test_rmtree(dir);
    free(dir);
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    CU_ASSERT_FATAL(in != NULL && out != NULL);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        CU_ASSERT_EQUAL(fwrite(buf, 1, n, out), n);
    fclose(in);
    fclose(out);
}

/* A log already flushed into a table but left behind (a crash between the
 * flush and its deletion) holds older values: repair must keep the newest
 * value of every key, not the one of the highest-numbered table. */
static void test_store__repair_keeps_the_newest_value_over_a_leftover_log(void)
{
    char *dir = mnemo_test_tmpdir();
    mnemo_store_t *s = open_store(dir);
    put1(s, "key", "old");
    mnemo_store_close(s);
    char log[4096], saved[4200];
    CU_ASSERT_FATAL(find_file(log, sizeof log, dir, ".log"));
    snprintf(saved, sizeof saved, "%s.saved", dir);
    copy_file(log, saved);
    s = open_store(dir); /* "old" goes into a table, the log is deleted */
    put1(s, "key", "new");
    mnemo_store_close(s);
    mnemo_store_close(open_store(dir)); /* "new" goes into a table too */
    copy_file(saved, log);              /* the stale log is back */
    remove(saved);
    CU_ASSERT_EQUAL(mnemo_store_repair(dir, NULL, NULL, NULL), MNEMO_OK);
    s = open_store(dir);
    CU_ASSERT(has(s, "key", "new"));
    mnemo_store_close(s);
    mnemo_test_rmtree(dir);
    free(dir);
}

/* LevelDB's repairer takes no lock: repair must see that another process
 * (a running mnemod) holds the store, and refuse. */
static void test_store__repair_refuses_a_store_another_process_holds(void)
{
    char *dir = mnemo_test_tmpdir();
    mnemo_store_t *s = open_store(dir);
    put1(s, "alpha", "one");
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        mnemo_err_t err = {{0}};
        mnemo_status_t st = mnemo_store_repair(dir, NULL, NULL, &err);
        _exit(st == MNEMO_EUNAVAIL && strstr(err.msg, "in use") != NULL ? 0 : 1);
    }
    int wstatus = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &wstatus, 0), pid);
    CU_ASSERT(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
    CU_ASSERT(has(s, "alpha", "one"));
    mnemo_store_close(s);
    mnemo_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    CU_pSuite s = mnemo_test_suite("store");
    MNEMO_TEST(s, test_store__get_after_write);
    MNEMO_TEST(s, test_store__get_missing_is_notfound);
    MNEMO_TEST(s, test_store__binary_keys_and_values);
    MNEMO_TEST(s, test_store__delete);
    MNEMO_TEST(s, test_store__batch_is_atomic_and_ordered);
    MNEMO_TEST(s, test_store__iter_forward_and_reverse);
    MNEMO_TEST(s, test_store__iter_seek_before);
    MNEMO_TEST(s, test_store__iter_sees_snapshot);
    MNEMO_TEST(s, test_store__second_open_is_unavailable);
    MNEMO_TEST(s, test_store__open_from_other_process_is_unavailable);
    MNEMO_TEST(s, test_store__reopen_keeps_data);
    MNEMO_TEST(s, test_store__open_fails_on_a_file);
    MNEMO_TEST(s, test_store__hook_prepares_before_and_publishes_after_write);
    MNEMO_TEST(s, test_store__hook_is_told_of_unwritten_batches);
    MNEMO_TEST(s, test_store__failed_write_is_sticky);
    MNEMO_TEST(s, test_store__failure_hook_runs_once);
    MNEMO_TEST(s, test_store__failure_hook_set_late_runs_at_once);
    MNEMO_TEST(s, test_store__damaged_log_fails_the_open);
    MNEMO_TEST(s, test_store__damaged_table_is_never_read_as_data);
    MNEMO_TEST(s, test_store__damaged_uncompressed_table_is_never_read_as_data);
    MNEMO_TEST(s, test_store__uncompressed_tables_hold_values_as_written);
    MNEMO_TEST(s, test_store__repair_never_keeps_a_flipped_log_value);
    MNEMO_TEST(s, test_store__repair_keeps_an_intact_store);
    MNEMO_TEST(s, test_store__repair_keeps_the_newest_value_over_a_leftover_log);
    MNEMO_TEST(s, test_store__repair_refuses_a_store_another_process_holds);
    return mnemo_test_run();
}
