/* test_walker.c - unit tests of walker.c on real temporary trees: the
 * sorted file list, .git and .gitignore handling, symlinks, FIFOs and
 * other non-regular files, size caps, excluded directories, non-UTF-8
 * names, cancellation, deep trees, and safe reads of single files.
 */
#include "testutil.h"
#include "walker.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_BYTES (1u << 20)

/* ---- tree helpers ---- */

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p == NULL)
        abort();
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

static void make_dir(const char *root, const char *rel)
{
    char *p = path_join(root, rel);
    CU_ASSERT_EQUAL_FATAL(mkdir(p, 0755), 0);
    free(p);
}

static void make_file(const char *root, const char *rel, const char *content)
{
    char *p = path_join(root, rel);
    CU_ASSERT_EQUAL_FATAL(mnemo_test_write_file(p, content, strlen(content)), 0);
    free(p);
}

static void make_symlink(const char *root, const char *rel, const char *target)
{
    char *p = path_join(root, rel);
    CU_ASSERT_EQUAL_FATAL(symlink(target, p), 0);
    free(p);
}

static mnemo_status_t walk_opts(mnemo_walk_result_t *out, const char *root, uint64_t max,
                                const char *exclude)
{
    const char *excl[1] = {exclude};
    mnemo_walk_options_t opts = {
        .max_file_bytes = max,
        .exclude_dirs = excl,
        .n_exclude_dirs = exclude != NULL ? 1 : 0,
    };
    mnemo_err_t err;
    mnemo_status_t st = mnemo_walk(out, root, &opts, &err);
    if (st != MNEMO_OK)
        fprintf(stderr, "walk: %s\n", err.msg);
    return st;
}

static mnemo_status_t walk(mnemo_walk_result_t *out, const char *root)
{
    return walk_opts(out, root, MAX_BYTES, NULL);
}

static const mnemo_walk_file_t *find_file(const mnemo_walk_result_t *r, const char *path)
{
    for (size_t i = 0; i < r->n_files; i++)
        if (strcmp(r->files[i].path, path) == 0)
            return &r->files[i];
    return NULL;
}

/* Reason of the skip of path, or NULL; fails when path is skipped twice. */
static const char *skip_reason(const mnemo_walk_result_t *r, const char *path)
{
    const char *reason = NULL;
    for (size_t i = 0; i < r->n_skips; i++) {
        if (strcmp(r->skips[i].path, path) == 0) {
            CU_ASSERT_PTR_NULL(reason);
            reason = r->skips[i].reason;
        }
    }
    return reason;
}

/* Files and skips at or below prefix + "/". */
static size_t count_below(const mnemo_walk_result_t *r, const char *prefix)
{
    size_t n = 0, len = strlen(prefix);
    for (size_t i = 0; i < r->n_files; i++)
        n += strncmp(r->files[i].path, prefix, len) == 0 && r->files[i].path[len] == '/';
    for (size_t i = 0; i < r->n_skips; i++)
        n += strncmp(r->skips[i].path, prefix, len) == 0 && r->skips[i].path[len] == '/';
    return n;
}

#define ASSERT_SKIP(res, path, why)                                                                \
    do {                                                                                           \
        const char *reason_ = skip_reason((res), (path));                                          \
        CU_ASSERT_PTR_NOT_NULL(reason_);                                                           \
        if (reason_ != NULL)                                                                       \
            CU_ASSERT_STRING_EQUAL(reason_, (why));                                                \
    } while (0)

#define ASSERT_REASON(reason, why)                                                                 \
    do {                                                                                           \
        CU_ASSERT_PTR_NOT_NULL(reason);                                                            \
        if ((reason) != NULL)                                                                      \
            CU_ASSERT_STRING_EQUAL((reason), (why));                                               \
    } while (0)

/* Reads relpath under root; returns the status, *reason on a skip. */
static mnemo_status_t read_one(const char *root, const char *relpath, uint64_t max,
                               const char **reason, char **data, size_t *len)
{
    uint64_t size = 0;
    int64_t mtime = 0;
    char *buf = NULL;
    size_t n = 0;
    mnemo_err_t err = {{0}};
    *reason = NULL;
    mnemo_status_t st =
        mnemo_walk_read_file(&buf, &n, &size, &mtime, reason, root, relpath, max, &err);
    if (st == MNEMO_OK && data != NULL) {
        *data = buf;
        *len = n;
    } else {
        free(buf);
    }
    if (st != MNEMO_OK)
        CU_ASSERT_NOT_EQUAL(err.msg[0], '\0');
    return st;
}

/* Runs with the file-system uid of nobody, so that root loses
 * CAP_DAC_OVERRIDE for file access (setfsuid clears it) and permission bits
 * apply; false when that did not take effect. */
static bool drop_fs_privileges(const char *probe)
{
    if (geteuid() != 0)
        return true;
    setfsuid(65534);
    int fd = open(probe, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        setfsuid(0);
        return false;
    }
    return true;
}

static void restore_fs_privileges(void)
{
    if (geteuid() == 0)
        setfsuid(0);
}

/* ---- the walk ---- */

static void test_walker__lists_regular_files_sorted(void)
{
    char *root = mnemo_test_tmpdir();
    make_file(root, "b.txt", "bb");
    make_file(root, "a.txt", "a");
    make_file(root, "B.txt", "");
    make_dir(root, "dir");
    make_file(root, "dir/c.txt", "ccc");
    make_dir(root, "dir-x");
    make_file(root, "dir-x/z", "z");
    char *a = path_join(root, "a.txt");
    struct timespec times[2] = {{1234567890, 123456789}, {1234567890, 123456789}};
    CU_ASSERT_EQUAL(utimensat(AT_FDCWD, a, times, 0), 0);

    mnemo_walk_result_t r;
    CU_ASSERT_EQUAL_FATAL(walk(&r, root), MNEMO_OK);
    const char *want[] = {"B.txt", "a.txt", "b.txt", "dir-x/z", "dir/c.txt"}; /* '-' < '/' */
    CU_ASSERT_EQUAL_FATAL(r.n_files, 5);
    for (size_t i = 0; i < 5; i++)
        CU_ASSERT_STRING_EQUAL(r.files[i].path, want[i]);
    CU_ASSERT_EQUAL(r.files[1].size, 1);
    CU_ASSERT_EQUAL(r.files[1].mtime_ns, 1234567890123456789LL);
    CU_ASSERT_EQUAL(r.files[4].size, 3);
    CU_ASSERT_EQUAL(r.n_skips, 0);
    mnemo_walk_result_cleanup(&r);
    mnemo_walk_result_cleanup(&r); /* cleanup leaves an empty result */
    mnemo_walk_result_cleanup(NULL);
    free(a);
    mnemo_test_rmtree(root);
    free(root);
}

static void test_walker__skips_git_dir(void)
{
    char *root = mnemo_test_tmpdir();
    make_dir(root, ".git");
    make_dir(root, ".git/objects");
    make_file(root, ".git/HEAD", "ref: refs/heads/main\n");
    make_file(root, ".git/objects/ab", "x");
    make_dir(root, "sub");
    make_file(root, "sub/.git", "gitdir: ../.git/modules/sub\n"); /* a submodule's link */
    make_file(root, "sub/main.c", "int x;\n");
    make_file(root, ".gitignore", "");

    mnemo_walk_result_t r;
    CU_ASSERT_EQUAL_FATAL(walk(&r, root), MNEMO_OK);
    ASSERT_SKIP(&r, ".git", "git metadata");
    ASSERT_SKIP(&r, "sub/.git", "git metadata");
    CU_ASSERT_EQUAL(count_below(&r, ".git"), 0);
    CU_ASSERT_EQUAL(r.n_skips, 2);
    CU_ASSERT_EQUAL(r.n_files, 2);
    CU_ASSERT_PTR_NOT_NULL(find_file(&r, ".gitignore"));
    CU_ASSERT_PTR_NOT_NULL(find_file(&r, "sub/main.c"));
    mnemo_walk_result_cleanup(&r);
    mnemo_test_rmtree(root);
    free(root);
}

static void test_walker__honours_root_gitignore(void)
{
    char *root = mnemo_test_tmpdir();
    make_file(root, ".gitignore", "# build output\n*.log\n!keep.log\nbuild/\n/only-top\n");
    make_file(root, "a.log", "x");
    make_file(root, "keep.log", "x");
    make_dir(root, "build");
    make_file(root, "build/out.o", "x");
    make_file(root, "only-top", "x");
    make_dir(root, "src");
    make_file(root, "src/only-top", "x");
    make_file(root, "src/b.log", "x");
    make_file(root, "build.txt", "x");

    mnemo_walk_result_t r;
    CU_ASSERT_EQUAL_FATAL(walk(&r, root), MNEMO_OK);
    ASSERT_SKIP(&r, "a.log", "ignored");
    ASSERT_SKIP(&r, "src/b.log", "ignored");
    ASSERT_SKIP(&r, "build", "ignored");
    ASSERT_SKIP(&r, "only-top", "ignored");
    CU_ASSERT_EQUAL(count_below(&r, "build"), 0); /* reported once, never entered */
    CU_ASSERT_PTR_NOT_NULL(find_file(&r, "keep.log"));
    CU_ASSERT_PTR_NOT_NULL(find_file(&r, "src/only-top"));
    CU_ASSERT_PTR_NOT_NULL(find_file(&r, "build.txt"));
    CU_ASSERT_PTR_NOT_NULL(find_file(&r, ".gitignore"));
    CU_ASSERT_EQUAL(r.n_files, 4);
    mnemo_walk_result_cleanup(&r);
    mnemo_test_rmtree(root);
    free(root);
}

static void test_walker__honours_nested_gitignore(void)
{
    char *root = mnemo_test_tmpdir();
    make_file(root, ".gitignore", "*.tmp\n");
    make_file(root, "x.tmp", "x");
    make_dir(root, "sub");
    make_file(root, "sub/.gitignore", "!keep.tmp\n/local.c\n");
    make_file(root, "sub/keep.tmp", "x");
    make_file(root, "sub/y.tmp", "x");
    make_file(root, "sub/local.c", "x");
    make_dir(root, "sub/deeper");
    make_file(root, "sub/deeper/keep.tmp", "x");
    make_file(root, "sub/deeper/local.c", "x");
    make_dir(root, "other");
    make_file(root, "other/keep.tmp", "x");
    make_file(root, "other/local.c", "x");

    mnemo_walk_result_t r;
    CU_ASSERT_EQUAL_FATAL(walk(&r, root), MNEMO_OK);
    ASSERT_SKIP(&r, "x.tmp", "ignored");
    ASSERT_SKIP(&r, "sub/y.tmp", "ignored");
    ASSERT_SKIP(&r, "sub/local.c", "ignored");
    ASSERT_SKIP(&r, "other/keep.tmp", "ignored"); /* sub's rules stop at sub */
    CU_ASSERT_PTR_NOT_NULL(find_file(&r, "sub/keep.tmp"));
    CU_ASSERT_PTR_NOT_NULL(find_file(&r, "sub/deeper/keep.tmp"));
    CU_ASSERT_PTR_NOT_NULL(find_file(&r, "sub/deeper/local.c")); /* "/local.c" is anchored */
    CU_ASSERT_PTR_NOT_NULL(find_file(&r, "other/local.c"));
    mnemo_walk_result_cleanup(&r);
    mnemo_test_rmtree(root);
    free(root);
}

static void test_walker__honours_info_exclude(void)
{
    char *root = mnemo_test_tmpdir();
    make_dir(root, ".git");
    make_dir(root, ".git/info");
    make_file(root, ".git/info/exclude", "*.secret\nprivate/\n");
    make_file(root, ".gitignore", "!b.secret\n"); /* .gitignore outranks info/exclude */
    make_file(root, "a.secret", "x");
    make_file(root, "b.secret", "x");
    make_dir(root, "private");
    make_file(root, "private/p", "x");

    mnemo_walk_result_t r;
    CU_ASSERT_EQUAL_FATAL(walk(&r, root), MNEMO_OK);
    ASSERT_SKIP(&r, "a.secret", "ignored");
    ASSERT_SKIP(&r, "private", "ignored");
    CU_ASSERT_PTR_NOT_NULL(find_file(&r, "b.secret"));
    CU_ASSERT_PTR_NULL(find_file(&r, "private/p"));
    mnemo_walk_result_cleanup(&r);
    mnemo_test_rmtree(root);
    free(root);
}

static void test_walker__symlinked_gitignore_not_followed(void)
{
    char *root = mnemo_test_tmpdir(), *outside = mnemo_test_tmpdir();
    make_file(outside, "rules", "*\n");
    char *rules = path_join(outside, "rules");
    make_dir(root, "sub");
    make_symlink(root, "sub/.gitignore", rules);
    make_file(root, "sub/a.c", "x");

    mnemo_walk_result_t r;
    CU_ASSERT_EQUAL_FATAL(walk(&r, root), MNEMO_OK);
    CU_ASSERT_PTR_NOT_NULL(find_file(&r, "sub/a.c"));
    ASSERT_SKIP(&r, "sub/.gitignore", "symlink");
    mnemo_walk_result_cleanup(&r);
    free(rules);
    mnemo_test_rmtree(outside);
    mnemo_test_rmtree(root);
    free(outside);
    free(root);
}

static void test_walker__symlink_outside_root_not_listed_or_read(void)
{
    char *root = mnemo_test_tmpdir(), *outside = mnemo_test_tmpdir();
    make_file(outside, "secret", "top secret\n");
    char *secret = path_join(outside, "secret");
    make_symlink(root, "link", secret);
    make_symlink(root, "dirlink", outside);
    make_file(root, "plain", "p");

    mnemo_walk_result_t r;
    CU_ASSERT_EQUAL_FATAL(walk(&r, root), MNEMO_OK);
    ASSERT_SKIP(&r, "link", "symlink");
    ASSERT_SKIP(&r, "dirlink", "symlink");
    CU_ASSERT_EQUAL(r.n_files, 1);
    CU_ASSERT_EQUAL(count_below(&r, "dirlink"), 0);
    mnemo_walk_result_cleanup(&r);

    const char *reason;
    CU_ASSERT_EQUAL(read_one(root, "link", MAX_BYTES, &reason, NULL, NULL), MNEMO_EPRECOND);
    ASSERT_REASON(reason, "symlink");
    /* a symlink in a middle component is refused too */
    CU_ASSERT_EQUAL(read_one(root, "dirlink/secret", MAX_BYTES, &reason, NULL, NULL),
                    MNEMO_EPRECOND);
    ASSERT_REASON(reason, "symlink");
    free(secret);
    mnemo_test_rmtree(outside);
    mnemo_test_rmtree(root);
    free(outside);
    free(root);
}

static void test_walker__symlink_to_dev_zero_not_read(void)
{
    char *root = mnemo_test_tmpdir();
    make_symlink(root, "zero", "/dev/zero");

    mnemo_walk_result_t r;
    alarm(20); /* reading /dev/zero would never end: fail fast instead */
    CU_ASSERT_EQUAL_FATAL(walk(&r, root), MNEMO_OK);
    ASSERT_SKIP(&r, "zero", "symlink");
    CU_ASSERT_EQUAL(r.n_files, 0);
    mnemo_walk_result_cleanup(&r);
    const char *reason;
    CU_ASSERT_EQUAL(read_one(root, "zero", UINT64_MAX, &reason, NULL, NULL), MNEMO_EPRECOND);
    ASSERT_REASON(reason, "symlink");
    alarm(0);
    mnemo_test_rmtree(root);
    free(root);
}

static void test_walker__symlink_loop_does_not_loop(void)
{
    char *root = mnemo_test_tmpdir();
    make_dir(root, "sub");
    make_symlink(root, "sub/up", "..");
    make_symlink(root, "self", "self");
    make_file(root, "sub/f", "f");

    mnemo_walk_result_t r;
    alarm(20);
    CU_ASSERT_EQUAL_FATAL(walk(&r, root), MNEMO_OK);
    alarm(0);
    ASSERT_SKIP(&r, "sub/up", "symlink");
    ASSERT_SKIP(&r, "self", "symlink");
    CU_ASSERT_EQUAL(r.n_files, 1);
    CU_ASSERT_EQUAL(r.n_skips, 2);
    const char *reason;
    CU_ASSERT_EQUAL(read_one(root, "sub/up/sub/f", MAX_BYTES, &reason, NULL, NULL), MNEMO_EPRECOND);
    ASSERT_REASON(reason, "symlink");
    mnemo_walk_result_cleanup(&r);
    mnemo_test_rmtree(root);
    free(root);
}

static void test_walker__fifo_does_not_block(void)
{
    char *root = mnemo_test_tmpdir();
    char *fifo = path_join(root, "pipe");
    CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0644), 0);
    make_dir(root, "sub");
    char *gi = path_join(root, "sub/.gitignore"); /* read when entering sub */
    CU_ASSERT_EQUAL_FATAL(mkfifo(gi, 0644), 0);
    make_file(root, "sub/a", "a");

    mnemo_walk_result_t r;
    alarm(20); /* a blocked open or read kills the test instead of hanging it */
    CU_ASSERT_EQUAL_FATAL(walk(&r, root), MNEMO_OK);
    ASSERT_SKIP(&r, "pipe", "not a regular file");
    ASSERT_SKIP(&r, "sub/.gitignore", "not a regular file");
    CU_ASSERT_EQUAL(r.n_files, 1);
    mnemo_walk_result_cleanup(&r);
    const char *reason;
    CU_ASSERT_EQUAL(read_one(root, "pipe", MAX_BYTES, &reason, NULL, NULL), MNEMO_EPRECOND);
    ASSERT_REASON(reason, "not a regular file");
    CU_ASSERT_EQUAL(read_one(root, "sub", MAX_BYTES, &reason, NULL, NULL), MNEMO_EPRECOND);
    ASSERT_REASON(reason, "not a regular file");
    alarm(0);
    free(gi);
    free(fifo);
    mnemo_test_rmtree(root);
    free(root);
}

static void test_walker__too_large_skipped(void)
{
    char *root = mnemo_test_tmpdir();
    make_file(root, "big", "0123456789a");
    make_file(root, "fits", "0123456789");

    mnemo_walk_result_t r;
    CU_ASSERT_EQUAL_FATAL(walk_opts(&r, root, 10, NULL), MNEMO_OK);
    ASSERT_SKIP(&r, "big", "too large");
    CU_ASSERT_EQUAL(r.n_files, 1);
    CU_ASSERT_PTR_NOT_NULL(find_file(&r, "fits"));
    mnemo_walk_result_cleanup(&r);
    const char *reason;
    CU_ASSERT_EQUAL(read_one(root, "big", 10, &reason, NULL, NULL), MNEMO_EPRECOND);
    ASSERT_REASON(reason, "too large");
    CU_ASSERT_EQUAL(read_one(root, "fits", 10, &reason, NULL, NULL), MNEMO_OK);
    mnemo_test_rmtree(root);
    free(root);
}

static void test_walker__excluded_dir_never_entered(void)
{
    char *root = mnemo_test_tmpdir(), *elsewhere = mnemo_test_tmpdir();
    make_dir(root, "data");
    make_file(root, "data/LOCK", "");
    make_file(root, "data/CURRENT", "MANIFEST-000001\n");
    make_file(root, "code.c", "int x;\n");
    /* a different spelling of the same directory: (dev, ino) decides */
    char *data = path_join(root, "data");
    make_symlink(elsewhere, "alias", data);
    char *alias = path_join(elsewhere, "alias/../data/.");

    mnemo_walk_result_t r;
    CU_ASSERT_EQUAL_FATAL(walk_opts(&r, root, MAX_BYTES, alias), MNEMO_OK);
    ASSERT_SKIP(&r, "data", "excluded");
    CU_ASSERT_PTR_NULL(find_file(&r, "data/LOCK"));
    CU_ASSERT_EQUAL(count_below(&r, "data"), 0);
    CU_ASSERT_EQUAL(r.n_files, 1);
    mnemo_walk_result_cleanup(&r);

    mnemo_err_t err;
    CU_ASSERT_EQUAL(walk_opts(&r, data, MAX_BYTES, alias), MNEMO_EINVAL); /* root itself */
    const char *missing[] = {"/nonexistent/mnemo-data"};
    mnemo_walk_options_t opts = {
        .max_file_bytes = 10, .exclude_dirs = missing, .n_exclude_dirs = 1};
    CU_ASSERT_EQUAL(mnemo_walk(&r, root, &opts, &err), MNEMO_OK); /* a missing one is harmless */
    CU_ASSERT_PTR_NOT_NULL(find_file(&r, "data/LOCK"));
    mnemo_walk_result_cleanup(&r);
    free(alias);
    free(data);
    mnemo_test_rmtree(elsewhere);
    mnemo_test_rmtree(root);
    free(elsewhere);
    free(root);
}

static void test_walker__non_utf8_name_skipped_escaped(void)
{
    char *root = mnemo_test_tmpdir();
    make_file(root, "bad\xff.txt", "x");
    make_dir(root, "d\xc3");
    make_file(root, "d\xc3/inner", "x");
    make_file(root, "caf\xc3\xa9.txt", "x"); /* valid UTF-8 */

    mnemo_walk_result_t r;
    CU_ASSERT_EQUAL_FATAL(walk(&r, root), MNEMO_OK);
    ASSERT_SKIP(&r, "bad\\xff.txt", "name is not valid UTF-8");
    ASSERT_SKIP(&r, "d\\xc3", "name is not valid UTF-8");
    CU_ASSERT_EQUAL(r.n_skips, 2);
    CU_ASSERT_EQUAL(r.n_files, 1);
    CU_ASSERT_PTR_NOT_NULL(find_file(&r, "caf\xc3\xa9.txt"));
    mnemo_walk_result_cleanup(&r);
    mnemo_test_rmtree(root);
    free(root);
}

static void test_walker__cancel_flag_cancels(void)
{
    char *root = mnemo_test_tmpdir();
    make_file(root, "a", "a");
    atomic_bool cancel = true;
    mnemo_walk_options_t opts = {.max_file_bytes = MAX_BYTES, .cancel = &cancel};
    mnemo_walk_result_t r = {0};
    mnemo_err_t err;
    CU_ASSERT_EQUAL(mnemo_walk(&r, root, &opts, &err), MNEMO_ECANCELLED);
    CU_ASSERT_PTR_NULL(r.files); /* *out untouched */
    atomic_store(&cancel, false);
    CU_ASSERT_EQUAL(mnemo_walk(&r, root, &opts, &err), MNEMO_OK);
    CU_ASSERT_EQUAL(r.n_files, 1);
    mnemo_walk_result_cleanup(&r);
    mnemo_test_rmtree(root);
    free(root);
}

static void test_walker__root_must_be_a_directory(void)
{
    char *root = mnemo_test_tmpdir();
    make_file(root, "file", "x");
    char *file = path_join(root, "file"), *missing = path_join(root, "missing");
    mnemo_walk_result_t r;
    mnemo_err_t err;
    mnemo_walk_options_t opts = {.max_file_bytes = MAX_BYTES};
    CU_ASSERT_EQUAL(mnemo_walk(&r, file, &opts, &err), MNEMO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "root"));
    CU_ASSERT_EQUAL(mnemo_walk(&r, missing, &opts, &err), MNEMO_EINVAL);
    free(missing);
    free(file);
    mnemo_test_rmtree(root);
    free(root);
}

static void test_walker__deep_tree_is_bounded(void)
{
    char *root = mnemo_test_tmpdir();
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CU_ASSERT_FATAL(fd >= 0);
    for (int i = 0; i < 300; i++) { /* d/d/d/... 300 levels, a file in each */
        CU_ASSERT_EQUAL_FATAL(mkdirat(fd, "d", 0755), 0);
        int sub = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        CU_ASSERT_FATAL(sub >= 0);
        int f = openat(sub, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        CU_ASSERT_FATAL(f >= 0);
        close(f);
        close(fd);
        fd = sub;
    }
    close(fd);

    mnemo_walk_result_t r;
    CU_ASSERT_EQUAL_FATAL(walk(&r, root), MNEMO_OK);
    CU_ASSERT_EQUAL(r.n_files, 256); /* d/f .. (d/)^256 f */
    CU_ASSERT_EQUAL(r.n_skips, 1);
    CU_ASSERT_STRING_EQUAL(r.skips[0].reason, "too deep");
    CU_ASSERT_EQUAL(strlen(r.skips[0].path), 257 * 2 - 1); /* the 257th d */
    mnemo_walk_result_cleanup(&r);
    mnemo_test_rmtree(root);
    free(root);
}

static void test_walker__unreadable_dir_is_a_skip(void)
{
    char *root = mnemo_test_tmpdir();
    make_dir(root, "locked");
    make_file(root, "locked/f", "x");
    make_file(root, "open", "x");
    char *locked = path_join(root, "locked");
    CU_ASSERT_EQUAL(chmod(root, 0755), 0);
    CU_ASSERT_EQUAL(chmod(locked, 0), 0);
    if (drop_fs_privileges(locked)) {
        mnemo_walk_result_t r;
        mnemo_status_t st = walk(&r, root);
        restore_fs_privileges(); /* before any assertion can end the test */
        CU_ASSERT_EQUAL_FATAL(st, MNEMO_OK);
        ASSERT_SKIP(&r, "locked", "unreadable directory");
        CU_ASSERT_EQUAL(r.n_files, 1);
        mnemo_walk_result_cleanup(&r);
    } else {
        /* root without a way to drop CAP_DAC_OVERRIDE reads anything: nothing to test */
        fprintf(stderr, "(skipped: permissions do not apply to this user) ");
    }
    chmod(locked, 0755);
    free(locked);
    mnemo_test_rmtree(root);
    free(root);
}

/* ---- reading ---- */

static void test_walker__read_returns_content_and_stat(void)
{
    char *root = mnemo_test_tmpdir();
    make_dir(root, "src");
    make_file(root, "src/a.c", "int main(void) { return 0; }\n");
    char *data = NULL, *path = path_join(root, "src/a.c");
    size_t len = 0;
    uint64_t size = 0;
    int64_t mtime = 0;
    const char *reason = NULL;
    mnemo_err_t err;
    struct timespec times[2] = {{1700000000, 5}, {1700000000, 5}};
    CU_ASSERT_EQUAL(utimensat(AT_FDCWD, path, times, 0), 0);
    CU_ASSERT_EQUAL_FATAL(
        mnemo_walk_read_file(&data, &len, &size, &mtime, &reason, root, "src/a.c", MAX_BYTES, &err),
        MNEMO_OK);
    CU_ASSERT_EQUAL(len, 29);
    CU_ASSERT_EQUAL(size, 29);
    CU_ASSERT_EQUAL(mtime, 1700000000000000005LL);
    CU_ASSERT_STRING_EQUAL(data, "int main(void) { return 0; }\n"); /* NUL-terminated */
    free(data);
    make_file(root, "empty", "");
    CU_ASSERT_EQUAL(read_one(root, "empty", MAX_BYTES, &reason, &data, &len), MNEMO_OK);
    CU_ASSERT_EQUAL(len, 0);
    CU_ASSERT_EQUAL(data[0], '\0');
    free(data);
    free(path);
    mnemo_test_rmtree(root);
    free(root);
}

static void test_walker__read_binary_file(void)
{
    char *root = mnemo_test_tmpdir();
    char *bin = path_join(root, "bin"), *late = path_join(root, "late");
    char *latin1 = path_join(root, "latin1"), *text = path_join(root, "text");
    CU_ASSERT_EQUAL_FATAL(mnemo_test_write_file(bin, "abc\0def", 7), 0);
    static char buf[9000];
    memset(buf, 'x', sizeof buf);
    buf[8192] = '\0'; /* far into the file: still binary, not cut text */
    CU_ASSERT_EQUAL_FATAL(mnemo_test_write_file(late, buf, sizeof buf), 0);
    CU_ASSERT_EQUAL_FATAL(mnemo_test_write_file(latin1, "caf\xe9\n", 5), 0);
    CU_ASSERT_EQUAL_FATAL(mnemo_test_write_file(text, "caf\xc3\xa9\n", 6), 0);
    const char *reason;
    char *data;
    size_t len;
    CU_ASSERT_EQUAL(read_one(root, "bin", MAX_BYTES, &reason, NULL, NULL), MNEMO_EPRECOND);
    ASSERT_REASON(reason, "binary");
    CU_ASSERT_EQUAL(read_one(root, "late", MAX_BYTES, &reason, NULL, NULL), MNEMO_EPRECOND);
    ASSERT_REASON(reason, "binary");
    CU_ASSERT_EQUAL(read_one(root, "latin1", MAX_BYTES, &reason, NULL, NULL), MNEMO_EPRECOND);
    ASSERT_REASON(reason, "not valid UTF-8");
    CU_ASSERT_EQUAL(read_one(root, "text", MAX_BYTES, &reason, &data, &len), MNEMO_OK);
    CU_ASSERT_EQUAL(len, 6);
    free(data);
    free(text);
    free(latin1);
    free(late);
    free(bin);
    mnemo_test_rmtree(root);
    free(root);
}

static void test_walker__read_unreadable_is_eio(void)
{
    char *root = mnemo_test_tmpdir();
    make_file(root, "secret", "x");
    char *secret = path_join(root, "secret");
    const char *reason;
    /* a file gone since the walk cannot be read: EIO for every user */
    CU_ASSERT_EQUAL(read_one(root, "gone", MAX_BYTES, &reason, NULL, NULL), MNEMO_EIO);
    CU_ASSERT_PTR_NULL(reason);
    /* chmod 000 does not stop root (CAP_DAC_OVERRIDE, as in CI), so as
     * root the read runs with the file-system uid of nobody */
    CU_ASSERT_EQUAL(chmod(root, 0755), 0);
    CU_ASSERT_EQUAL(chmod(secret, 0), 0);
    if (drop_fs_privileges(secret)) {
        mnemo_status_t st = read_one(root, "secret", MAX_BYTES, &reason, NULL, NULL);
        restore_fs_privileges();
        CU_ASSERT_EQUAL(st, MNEMO_EIO);
        CU_ASSERT_PTR_NULL(reason);
    } else {
        fprintf(stderr, "(chmod 000 skipped: permissions do not apply to this user) ");
    }
    free(secret);
    mnemo_test_rmtree(root);
    free(root);
}

static void test_walker__read_refuses_paths_leaving_the_root(void)
{
    char *root = mnemo_test_tmpdir();
    make_dir(root, "a");
    make_file(root, "a/b", "x");
    const char *bad[] = {"", "/etc/passwd", "../x", "a/../a/b", "./a/b", "a//b", "a/b/", "a/."};
    const char *reason;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CU_ASSERT_EQUAL(read_one(root, bad[i], MAX_BYTES, &reason, NULL, NULL), MNEMO_EINVAL);
    CU_ASSERT_EQUAL(read_one(root, "a/b", MAX_BYTES, &reason, NULL, NULL), MNEMO_OK);
    mnemo_test_rmtree(root);
    free(root);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    CU_pSuite s = mnemo_test_suite("walker");
    MNEMO_TEST(s, test_walker__lists_regular_files_sorted);
    MNEMO_TEST(s, test_walker__skips_git_dir);
    MNEMO_TEST(s, test_walker__honours_root_gitignore);
    MNEMO_TEST(s, test_walker__honours_nested_gitignore);
    MNEMO_TEST(s, test_walker__honours_info_exclude);
    MNEMO_TEST(s, test_walker__symlinked_gitignore_not_followed);
    MNEMO_TEST(s, test_walker__symlink_outside_root_not_listed_or_read);
    MNEMO_TEST(s, test_walker__symlink_to_dev_zero_not_read);
    MNEMO_TEST(s, test_walker__symlink_loop_does_not_loop);
    MNEMO_TEST(s, test_walker__fifo_does_not_block);
    MNEMO_TEST(s, test_walker__too_large_skipped);
    MNEMO_TEST(s, test_walker__excluded_dir_never_entered);
    MNEMO_TEST(s, test_walker__non_utf8_name_skipped_escaped);
    MNEMO_TEST(s, test_walker__cancel_flag_cancels);
    MNEMO_TEST(s, test_walker__root_must_be_a_directory);
    MNEMO_TEST(s, test_walker__deep_tree_is_bounded);
    MNEMO_TEST(s, test_walker__unreadable_dir_is_a_skip);
    MNEMO_TEST(s, test_walker__read_returns_content_and_stat);
    MNEMO_TEST(s, test_walker__read_binary_file);
    MNEMO_TEST(s, test_walker__read_unreadable_is_eio);
    MNEMO_TEST(s, test_walker__read_refuses_paths_leaving_the_root);
    return mnemo_test_run();
}
