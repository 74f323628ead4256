/* bench_util.c - clock, samples, result lines, files and child processes
 * for the benchmark (see bench.h).
 *
 * DESIGN: children are started with posix_spawnp, never fork-then-work (the
 * benchmark has gRPC threads). A server started here is stopped by
 * bench_stop_server (SIGTERM, then SIGKILL after 10 s); the C++ server also
 * dies with its parent (PR_SET_PDEATHSIG), as mnemod does under the harness.
 *
 * Threads: main thread, except bench_now and the sample functions.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void *bench_xmalloc(size_t n)
{
    void *p = malloc(n != 0 ? n : 1);
    if (p == NULL)
        abort();
    return p;
}

char *bench_xstrdup(const char *s)
{
    char *d = strdup(s);
    if (d == NULL)
        abort();
    return d;
}

uint64_t bench_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* ---- samples ---- */

void bench_samples_push(bench_samples_t *s, double v)
{
    if (s->n == s->cap) {
        s->cap = s->cap != 0 ? s->cap * 2 : 256;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (s->v == NULL)
            abort();
    }
    s->v[s->n++] = v;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_percentile(bench_samples_t *s, double q)
{
    if (s->n == 0)
        return 0;
    qsort(s->v, s->n, sizeof *s->v, cmp_double);
    size_t rank = (size_t)(q * (double)s->n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > s->n)
        rank = s->n;
    return s->v[rank - 1];
}

void bench_samples_cleanup(bench_samples_t *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* ---- output ---- */

static double run_start;

void bench_result(const char *row, const char *side, int round, double value)
{
    printf("RESULT %s %s %d %.6g\n", row, side, round, value);
    fflush(stdout);
    bench_log("  %s %s round %d: %.6g", row, side, round, value);
}

void bench_skip(const char *row, const char *reason)
{
    printf("SKIP %s %s\n", row, reason);
    fflush(stdout);
    bench_log("  %s baseline skipped: %s", row, reason);
}

void bench_skip_all(const char *row, const char *reason)
{
    printf("SKIP-ALL %s %s\n", row, reason);
    fflush(stdout);
    bench_log("  %s skipped: %s", row, reason);
}

void bench_log(const char *fmt, ...)
{
    if (run_start == 0)
        run_start = bench_now();
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[%7.1fs] ", bench_now() - run_start);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- files ---- */

const char *bench_path(bench_pathbuf_t *buf, const char *dir, const char *name)
{
    snprintf(buf->s, sizeof buf->s, "%s/%s", dir, name);
    return buf->s;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

int bench_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int bench_mkdir(const char *path)
{
    return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

static unsigned long long du_total;
static bool du_apparent;

static int du_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if (flag == FTW_F)
        du_total += du_apparent ? (unsigned long long)st->st_size
                                : (unsigned long long)st->st_blocks * 512ull;
    return 0;
}

unsigned long long bench_disk_usage(const char *path)
{
    du_total = 0;
    du_apparent = false;
    nftw(path, du_one, 16, FTW_PHYS);
    return du_total;
}

unsigned long long bench_apparent_size(const char *path)
{
    du_total = 0;
    du_apparent = true;
    nftw(path, du_one, 16, FTW_PHYS);
    return du_total;
}

long bench_proc_status(pid_t pid, const char *field)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    char line[256];
    size_t n = strlen(field);
    long value = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            value = strtol(line + n + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return value;
}

long bench_vm_hwm_kib(pid_t pid)
{
    return bench_proc_status(pid, "VmHWM");
}

double bench_cpu_seconds(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* utime and stime are fields 14 and 15; the command (field 2) may hold
     * spaces, so count from the ')' that closes it. */
    const char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

double bench_wait_idle(pid_t pid, double max_seconds)
{
    double t0 = bench_now(), last = bench_cpu_seconds(pid);
    while (last >= 0 && bench_now() - t0 < max_seconds) {
        struct timespec ts = {0, 500 * 1000000L};
        nanosleep(&ts, NULL);
        double now = bench_cpu_seconds(pid);
        if (now < 0 || now - last < 0.025) /* under 5 % of a core */
            break;
        last = now;
    }
    return bench_now() - t0;
}

bool bench_have_program(const char *name)
{
    const char *path = getenv("PATH");
    if (path == NULL)
        return false;
    char *copy = bench_xstrdup(path);
    bool found = false;
    bench_pathbuf_t p;
    for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir != NULL && !found;
         dir = strtok_r(NULL, ":", &save))
        found = access(bench_path(&p, dir, name), X_OK) == 0;
    free(copy);
    return found;
}

/* ---- processes ---- */

/* environ plus extra, NULL-terminated; the array is the caller's, the
 * strings are borrowed. */
static char **merged_env(const char *const *extra)
{
    size_t n = 0, k = 0;
    while (environ[n] != NULL)
        n++;
    while (extra != NULL && extra[k] != NULL)
        k++;
    char **env = bench_xmalloc((n + k + 1) * sizeof *env);
    memcpy(env, environ, n * sizeof *env);
    for (size_t i = 0; i < k; i++)
        env[n + i] = (char *)extra[i];
    env[n + k] = NULL;
    return env;
}

int bench_run(char **out, size_t *out_len, char *const argv[], const char *const *env,
              bool keep_stderr)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    if (!keep_stderr)
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    char **envp = merged_env(env);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    free(envp);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return -1;
    }
    size_t len = 0, cap = 4096;
    char *buf = bench_xmalloc(cap);
    for (;;) {
        if (cap - len < 4096) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (buf == NULL)
                abort();
        }
        ssize_t n = read(fds[0], buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fds[0]);
    buf[len] = '\0';
    int status = -1;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (out != NULL) {
        *out = buf;
        if (out_len != NULL)
            *out_len = len;
    } else {
        free(buf);
    }
    return status;
}

/* Reads lines from fd until one holds "listening on HOST:PORT". */
static bool read_listening(int fd, char *addr, size_t addr_size, int timeout_ms)
{
    char line[512];
    size_t len = 0;
    double deadline = bench_now() + timeout_ms / 1000.0;
    while (bench_now() < deadline) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        char c;
        ssize_t n = read(fd, &c, 1);
        if (n <= 0)
            return false;
        if (c != '\n') {
            if (len < sizeof line - 1)
                line[len++] = c;
            continue;
        }
        line[len] = '\0';
        len = 0;
        const char *p2 = strstr(line, "listening on ");
        if (p2 != NULL) {
            snprintf(addr, addr_size, "%s", p2 + strlen("listening on "));
            return true;
        }
    }
    return false;
}

pid_t bench_spawn_server(char *addr, size_t addr_size, char *const argv[], const char *log_path,
                         int timeout_ms)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return -1;
    }
    bool ok = read_listening(fds[0], addr, addr_size, timeout_ms);
    /* The server writes nothing more on stdout; keep no pipe open. */
    close(fds[0]);
    if (!ok) {
        bench_stop_server(pid);
        return -1;
    }
    return pid;
}

void bench_stop_server(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 1000; i++) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}
