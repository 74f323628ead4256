/* server_harness.c - spawns and controls a real mnemod for integration tests.
 *
 * DESIGN: see server_harness.h. A harness owns a work dir (the log, and the
 * data dir unless the test gave one), the child's pid until it is reaped, and
 * one drain thread per started process. The child is forked with
 * PR_SET_PDEATHSIG=SIGKILL so that a crashed or timed-out test binary never
 * leaves a mnemod behind holding a port or a data dir; between fork and exec
 * it calls only async-signal-safe functions (the test process has gRPC
 * threads). Reaping uses waitpid on the one pid, never on -1.
 *
 * Threads: the test thread drives the harness; the drain thread writes the
 * log and publishes address / eof under mu.
 */
#include "server_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

extern char **environ;

#define DEFAULT_TIMEOUT_MS 20000
#define LOG_WAIT_MS        5000 /* how long log_contains waits for a line */
#define LISTEN_MARK        "listening on "

struct mnemo_harness {
    /* fixed at creation */
    char *workdir; /* temp dir: mnemod.log, and data/ when owns_data */
    char *data_dir;
    bool owns_data;
    char *listen;
    char **argv; /* full argv of the child, NULL-terminated */
    char **envp; /* full environment of the child, NULL-terminated */
    int start_timeout_ms;
    long long file_size_limit; /* 0: inherited */
    char *log_path;
    int starts;

    /* per process */
    pid_t pid; /* 0: none running or not yet reaped */
    bool reaped;
    int wait_status;
    pthread_t drain;
    bool drain_started;
    int pipe_rd;

    pthread_mutex_t mu; /* guards the fields below */
    pthread_cond_t cv;
    bool eof;
    char address[128];
    int port;
};

long long mnemo_harness_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *mnemo_harness_mnemod_path(void)
{
    const char *env = getenv("MNEMOD");
    if (env != NULL && env[0] != '\0')
        return env;
#ifdef MNEMO_MNEMOD_PATH
    return MNEMO_MNEMOD_PATH;
#else
    return "mnemod";
#endif
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (d == NULL)
        abort();
    return d;
}

/* "dir/name", heap. */
static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *s = malloc(n);
    if (s == NULL)
        abort();
    snprintf(s, n, "%s/%s", dir, name);
    return s;
}

static void free_strv(char **v)
{
    if (v == NULL)
        return;
    for (char **p = v; *p != NULL; p++)
        free(*p);
    free(v);
}

static size_t strv_len(const char *const *v)
{
    size_t n = 0;
    while (v != NULL && v[n] != NULL)
        n++;
    return n;
}

/* argv: mnemod [--listen L --data-dir D] extra... */
static char **build_argv(const mnemo_harness_t *h, const mnemo_harness_options_t *o)
{
    size_t n_extra = strv_len(o->extra_args);
    char **argv = calloc(n_extra + 6, sizeof *argv);
    if (argv == NULL)
        abort();
    size_t i = 0;
    argv[i++] = xstrdup(mnemo_harness_mnemod_path());
    if (!o->no_default_args) {
        argv[i++] = xstrdup("--listen");
        argv[i++] = xstrdup(h->listen);
        argv[i++] = xstrdup("--data-dir");
        argv[i++] = xstrdup(h->data_dir);
    }
    for (size_t k = 0; k < n_extra; k++)
        argv[i++] = xstrdup(o->extra_args[k]);
    return argv;
}

/* The parent's environment minus MNEMO_*, plus extra. */
static char **build_envp(const char *const *extra)
{
    size_t n = strv_len((const char *const *)environ) + strv_len(extra) + 1;
    char **envp = calloc(n, sizeof *envp);
    if (envp == NULL)
        abort();
    size_t i = 0;
    for (char **e = environ; e != NULL && *e != NULL; e++) {
        if (strncmp(*e, "MNEMO_", 6) != 0)
            envp[i++] = xstrdup(*e);
    }
    for (size_t k = 0; extra != NULL && extra[k] != NULL; k++)
        envp[i++] = xstrdup(extra[k]);
    return envp;
}

static void log_line(const mnemo_harness_t *h, const char *line)
{
    FILE *f = fopen(h->log_path, "a");
    if (f == NULL)
        return;
    fputs(line, f);
    fclose(f);
}

/* Looks for "listening on HOST:PORT" in one complete line. */
static void scan_line(mnemo_harness_t *h, const char *line)
{
    const char *p = strstr(line, LISTEN_MARK);
    if (p == NULL)
        return;
    p += strlen(LISTEN_MARK);
    size_t len = strcspn(p, " \t\r\n");
    const char *colon = memrchr(p, ':', len);
    if (len == 0 || len >= sizeof h->address || colon == NULL)
        return;
    pthread_mutex_lock(&h->mu);
    if (h->address[0] == '\0') {
        memcpy(h->address, p, len);
        h->address[len] = '\0';
        h->port = atoi(colon + 1);
        pthread_cond_broadcast(&h->cv);
    }
    pthread_mutex_unlock(&h->mu);
}

/* Copies the child's output to the log until EOF, scanning each line. */
static void *drain_main(void *arg)
{
    mnemo_harness_t *h = arg;
    FILE *log = fopen(h->log_path, "a");
    char buf[4096];
    char line[2048];
    size_t line_len = 0;
    for (;;) {
        ssize_t n = read(h->pipe_rd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (log != NULL) {
            fwrite(buf, 1, (size_t)n, log);
            fflush(log);
        }
        for (ssize_t i = 0; i < n; i++) {
            if (line_len < sizeof line - 1)
                line[line_len++] = buf[i];
            if (buf[i] == '\n') {
                line[line_len] = '\0';
                scan_line(h, line);
                line_len = 0;
            }
        }
    }
    if (line_len > 0) {
        line[line_len] = '\0';
        scan_line(h, line);
    }
    if (log != NULL)
        fclose(log);
    close(h->pipe_rd);
    h->pipe_rd = -1;
    pthread_mutex_lock(&h->mu);
    h->eof = true;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void child_exec(mnemo_harness_t *h, int wr, pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(127);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(wr, 1) < 0 || dup2(wr, 2) < 0)
        _exit(127);
    /* Default dispositions and an empty mask: the test process may block or
     * ignore signals (gRPC, CUnit), and mnemod must see SIGTERM as usual. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (h->file_size_limit > 0) {
        /* An ignored signal stays ignored across execve. */
        sa.sa_handler = SIG_IGN;
        struct rlimit lim;
        if (sigaction(SIGXFSZ, &sa, NULL) != 0 || getrlimit(RLIMIT_FSIZE, &lim) != 0)
            _exit(127);
        lim.rlim_cur = (rlim_t)h->file_size_limit;
        if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
            _exit(127);
    }
    execve(h->argv[0], h->argv, h->envp);
    static const char msg[] = "server_harness: execve of mnemod failed\n";
    ssize_t ignored = write(2, msg, sizeof msg - 1);
    (void)ignored;
    _exit(127);
}

static mnemo_harness_result_t wait_listening(mnemo_harness_t *h);

static mnemo_harness_result_t spawn(mnemo_harness_t *h)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        perror("server_harness: pipe2");
        return MNEMO_HARNESS_ERROR;
    }
    h->starts++;
    char marker[256];
    snprintf(marker, sizeof marker, "=== server_harness: start #%d: %s\n", h->starts, h->argv[0]);
    log_line(h, marker);

    pthread_mutex_lock(&h->mu);
    h->eof = false;
    h->address[0] = '\0';
    h->port = 0;
    pthread_mutex_unlock(&h->mu);
    h->reaped = false;
    h->wait_status = 0;

    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        perror("server_harness: fork");
        close(fds[0]);
        close(fds[1]);
        return MNEMO_HARNESS_ERROR;
    }
    if (pid == 0)
        child_exec(h, fds[1], parent);
    close(fds[1]);
    h->pid = pid;
    h->pipe_rd = fds[0];
    if (pthread_create(&h->drain, NULL, drain_main, h) != 0) {
        fprintf(stderr, "server_harness: pthread_create failed\n");
        close(fds[0]);
        h->pipe_rd = -1;
        mnemo_harness_signal_wait(h, SIGKILL, 0);
        return MNEMO_HARNESS_ERROR;
    }
    h->drain_started = true;
    return wait_listening(h);
}

/* Polls waitpid(pid, WNOHANG) until the exit or the deadline. */
static bool reap(mnemo_harness_t *h, int timeout_ms)
{
    if (h->reaped || h->pid <= 0)
        return h->reaped;
    long long deadline = mnemo_harness_now_ms() + timeout_ms;
    for (;;) {
        int st = 0;
        pid_t r = waitpid(h->pid, &st, WNOHANG);
        if (r == h->pid) {
            h->reaped = true;
            h->wait_status = st;
            return true;
        }
        if (r < 0 && errno != EINTR) {
            perror("server_harness: waitpid");
            h->reaped = true;
            h->wait_status = -1;
            return true;
        }
        if (mnemo_harness_now_ms() >= deadline)
            return false;
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void join_drain(mnemo_harness_t *h)
{
    if (h->drain_started) {
        pthread_join(h->drain, NULL);
        h->drain_started = false;
    }
}

static mnemo_harness_result_t wait_listening(mnemo_harness_t *h)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += h->start_timeout_ms / 1000;
    until.tv_nsec += (long)(h->start_timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&h->mu);
    int rc = 0;
    while (h->address[0] == '\0' && !h->eof && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&h->cv, &h->mu, &until);
    bool serving = h->address[0] != '\0';
    bool eof = h->eof;
    pthread_mutex_unlock(&h->mu);

    if (serving)
        return MNEMO_HARNESS_SERVING;
    if (eof && reap(h, 5000)) {
        join_drain(h);
        return MNEMO_HARNESS_EXITED;
    }
    if (reap(h, 0)) {
        join_drain(h);
        return MNEMO_HARNESS_EXITED;
    }
    fprintf(stderr, "server_harness: mnemod printed no \"%s\" within %d ms; killing it\n",
            LISTEN_MARK, h->start_timeout_ms);
    mnemo_harness_signal_wait(h, SIGKILL, 0);
    return MNEMO_HARNESS_TIMEOUT;
}

mnemo_harness_result_t mnemo_harness_start(mnemo_harness_t **out,
                                           const mnemo_harness_options_t *opts)
{
    static const mnemo_harness_options_t defaults;
    const mnemo_harness_options_t *o = opts != NULL ? opts : &defaults;
    mnemo_harness_t *h = calloc(1, sizeof *h);
    if (h == NULL)
        abort();
    h->workdir = mnemo_test_tmpdir();
    h->log_path = path_join(h->workdir, "mnemod.log");
    if (o->data_dir != NULL) {
        h->data_dir = xstrdup(o->data_dir);
    } else {
        h->data_dir = path_join(h->workdir, "data");
        h->owns_data = true;
        if (mkdir(h->data_dir, 0700) != 0)
            perror("server_harness: mkdir data");
    }
    h->listen = xstrdup(o->listen != NULL ? o->listen : "127.0.0.1:0");
    h->start_timeout_ms = o->start_timeout_ms > 0 ? o->start_timeout_ms : DEFAULT_TIMEOUT_MS;
    h->file_size_limit = o->file_size_limit;
    h->argv = build_argv(h, o);
    h->envp = build_envp(o->extra_env);
    h->pipe_rd = -1;
    pthread_mutex_init(&h->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);

    mnemo_harness_result_t r = spawn(h);
    if (r == MNEMO_HARNESS_ERROR) {
        mnemo_harness_destroy(h);
        return r;
    }
    *out = h;
    return r;
}

mnemo_harness_result_t mnemo_harness_restart(mnemo_harness_t *h)
{
    if (h->pid > 0 && !reap(h, 0)) {
        fprintf(stderr, "server_harness: restart while mnemod %d still runs\n", (int)h->pid);
        return MNEMO_HARNESS_ERROR;
    }
    join_drain(h);
    return spawn(h);
}

const char *mnemo_harness_address(const mnemo_harness_t *h)
{
    return h->address[0] != '\0' ? h->address : NULL;
}

int mnemo_harness_port(const mnemo_harness_t *h)
{
    return h->port;
}

const char *mnemo_harness_data_dir(const mnemo_harness_t *h)
{
    return h->data_dir;
}

const char *mnemo_harness_log_path(const mnemo_harness_t *h)
{
    return h->log_path;
}

int mnemo_harness_pid(const mnemo_harness_t *h)
{
    return (int)h->pid;
}

int mnemo_harness_wait(mnemo_harness_t *h, int timeout_ms)
{
    if (h->pid <= 0)
        return -1;
    if (!reap(h, timeout_ms))
        return -1;
    join_drain(h);
    return h->wait_status;
}

int mnemo_harness_signal_wait(mnemo_harness_t *h, int signo, int timeout_ms)
{
    if (h->pid <= 0)
        return -1;
    if (h->reaped)
        return h->wait_status;
    kill(h->pid, signo);
    int st = mnemo_harness_wait(h, timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS);
    if (st == -1 && signo != SIGKILL) {
        fprintf(stderr, "server_harness: mnemod %d ignored signal %d for %d ms; SIGKILL\n",
                (int)h->pid, signo, timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS);
        kill(h->pid, SIGKILL);
        mnemo_harness_wait(h, DEFAULT_TIMEOUT_MS);
        return -1;
    }
    return st;
}

int mnemo_harness_stop(mnemo_harness_t *h, int timeout_ms)
{
    return mnemo_harness_signal_wait(h, SIGTERM, timeout_ms);
}

/* True when the log file holds needle now. */
static bool log_holds(const mnemo_harness_t *h, const char *needle)
{
    FILE *f = fopen(h->log_path, "r");
    if (f == NULL)
        return false;
    bool found = false;
    char line[4096];
    while (!found && fgets(line, sizeof line, f) != NULL)
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

bool mnemo_harness_log_contains(mnemo_harness_t *h, const char *needle)
{
    /* mnemod writes a line before it acts on it (a health change, an exit),
     * but the drain thread copies the pipe to the file a moment later: while
     * it still runs, the line may be on its way, so wait for it (bounded). */
    long long until = mnemo_harness_now_ms() + LOG_WAIT_MS;
    for (;;) {
        if (log_holds(h, needle))
            return true;
        pthread_mutex_lock(&h->mu);
        bool complete = h->eof || !h->drain_started;
        pthread_mutex_unlock(&h->mu);
        if (complete)
            return log_holds(h, needle); /* EOF came after the first look */
        if (mnemo_harness_now_ms() >= until)
            return false;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

void mnemo_harness_dump_log(mnemo_harness_t *h)
{
    FILE *f = fopen(h->log_path, "r");
    if (f == NULL)
        return;
    char line[4096];
    while (fgets(line, sizeof line, f) != NULL)
        fprintf(stderr, "[mnemod] %s", line);
    fclose(f);
}

void mnemo_harness_destroy(mnemo_harness_t *h)
{
    if (h == NULL)
        return;
    if (h->pid > 0 && !h->reaped)
        mnemo_harness_signal_wait(h, SIGKILL, 0);
    join_drain(h);
    const char *keep = getenv("MNEMO_TEST_KEEP");
    if (keep != NULL && keep[0] == '1')
        fprintf(stderr, "server_harness: kept %s\n", h->workdir);
    else
        mnemo_test_rmtree(h->workdir);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free_strv(h->argv);
    free_strv(h->envp);
    free(h->workdir);
    free(h->data_dir);
    free(h->listen);
    free(h->log_path);
    free(h);
}
