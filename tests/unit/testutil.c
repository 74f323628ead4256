/* testutil.c - see testutil.h. Single-threaded test binaries only. */
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

CU_pSuite mnemo_test_suite(const char *name)
{
    if (CU_get_registry() == NULL && CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
        exit(1);
    }
    CU_pSuite s = CU_add_suite(name, NULL, NULL);
    if (s == NULL) {
        fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
        exit(1);
    }
    return s;
}

CU_pTest mnemo_test_add(CU_pSuite s, const char *name, CU_TestFunc fn)
{
    const char *only = getenv("MNEMO_TEST_ONLY");
    if (only != NULL && only[0] != '\0' && strstr(name, only) == NULL)
        return NULL;
    return CU_add_test(s, name, fn);
}

int mnemo_test_run(void)
{
    CU_basic_set_mode(CU_BRM_VERBOSE);
    if (CU_basic_run_tests() != CUE_SUCCESS) {
        fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
        CU_cleanup_registry();
        return 1;
    }
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    return failed == 0 && run > 0 ? 0 : 1;
}

char *mnemo_test_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    size_t n = strlen(base) + sizeof "/mnemo-test-XXXXXX";
    char *path = malloc(n);
    if (path == NULL)
        abort();
    snprintf(path, n, "%s/mnemo-test-XXXXXX", base);
    if (mkdtemp(path) == NULL) {
        perror("mkdtemp");
        abort();
    }
    return path;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void mnemo_test_rmtree(const char *path)
{
    if (path != NULL)
        nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int mnemo_test_write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return close(fd);
}

static struct rlimit uncapped;
static void (*uncapped_handler)(int);

void mnemo_test_cap_files(size_t max_bytes)
{
    CU_ASSERT_EQUAL_FATAL(getrlimit(RLIMIT_FSIZE, &uncapped), 0);
    uncapped_handler = signal(SIGXFSZ, SIG_IGN);
    struct rlimit cap = {.rlim_cur = max_bytes, .rlim_max = uncapped.rlim_max};
    CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_FSIZE, &cap), 0);
}

void mnemo_test_uncap_files(void)
{
    CU_ASSERT_EQUAL(setrlimit(RLIMIT_FSIZE, &uncapped), 0);
    signal(SIGXFSZ, uncapped_handler);
}

bool mnemo_test_tables_hold(const char *dir, const void *data, size_t len)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return false;
    static char buf[4 << 20];
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 4, ".ldb") != 0)
            continue;
        char path[PATH_MAX];
        int pn = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = pn > 0 && (size_t)pn < sizeof path ? fopen(path, "rb") : NULL;
        if (f == NULL)
            continue;
        size_t got = fread(buf, 1, sizeof buf, f);
        fclose(f);
        found = memmem(buf, got, data, len) != NULL;
    }
    closedir(d);
    return found;
}
