/* server_harness.h - runs a real mnemod for integration tests: spawn it on
 * an ephemeral port with a fresh (or given) data directory, learn its address
 * from the "listening on HOST:PORT" line, stop it with SIGTERM or kill -9,
 * and restart it on the same data directory.
 *
 * DESIGN: the child's stdout and stderr go into one pipe; a drain thread per
 * harness copies everything to a log file (so the pipe never fills and a
 * failing test can print what the server said) and watches for the listening
 * line. The child gets a clean environment: the parent's minus every MNEMO_*
 * variable (a developer's shell must not change what a test sees), plus the
 * extra entries the test asks for. The mnemod path comes from the
 * MNEMO_MNEMOD_PATH compile definition (set by tests/integration/CMakeLists)
 * or from the MNEMOD environment variable, which wins.
 *
 * Threads: one harness is driven by one test thread; different harnesses are
 * independent. The drain thread only touches the harness under its mutex.
 */
#ifndef MNEMO_SERVER_HARNESS_H
#define MNEMO_SERVER_HARNESS_H

#include <stdbool.h>

typedef struct mnemo_harness mnemo_harness_t;

/* How to start mnemod. Zero-initialise and set what matters. */
typedef struct mnemo_harness_options {
    const char *data_dir;          /* NULL: a fresh temp dir, removed by destroy */
    const char *listen;            /* NULL: "127.0.0.1:0" */
    const char *const *extra_args; /* NULL-terminated, appended to argv */
    const char *const *extra_env;  /* NULL-terminated "NAME=value" entries */
    int start_timeout_ms;          /* 0: 20000 */
    bool no_default_args;          /* pass neither --listen nor --data-dir */
    /* RLIMIT_FSIZE of the child in bytes (0: inherited), with SIGXFSZ
     * ignored: a write that would grow a file past it fails with EFBIG, a
     * store write failure on demand. */
    long long file_size_limit;
} mnemo_harness_options_t;

/* What mnemo_harness_start observed. */
typedef enum mnemo_harness_result {
    MNEMO_HARNESS_SERVING = 0, /* printed its address; it is serving */
    MNEMO_HARNESS_EXITED = 1,  /* exited before serving (exit status kept) */
    MNEMO_HARNESS_TIMEOUT = 2, /* neither within the timeout; it was killed */
    MNEMO_HARNESS_ERROR = 3    /* could not spawn (message on stderr) */
} mnemo_harness_result_t;

/* Creates a harness and starts mnemod with opts (NULL: defaults). *out is
 * always set (the caller's, mnemo_harness_destroy) unless the result is
 * MNEMO_HARNESS_ERROR, so that an EXITED server's status and log can be
 * inspected. Strings in opts are copied. */
mnemo_harness_result_t mnemo_harness_start(mnemo_harness_t **out,
                                           const mnemo_harness_options_t *opts);

/* Starts mnemod again with the same options and data directory (a new
 * ephemeral port unless opts->listen fixed one). The previous process must
 * have been stopped, killed or have exited. */
mnemo_harness_result_t mnemo_harness_restart(mnemo_harness_t *h);

/* "127.0.0.1:PORT" of the serving process, or NULL. Owned by the harness,
 * valid until the next restart. */
const char *mnemo_harness_address(const mnemo_harness_t *h);
int mnemo_harness_port(const mnemo_harness_t *h);
const char *mnemo_harness_data_dir(const mnemo_harness_t *h);
const char *mnemo_harness_log_path(const mnemo_harness_t *h);
int mnemo_harness_pid(const mnemo_harness_t *h);

/* Sends SIGTERM and waits up to timeout_ms (0: 20000) for the exit. Returns
 * the wait status (as from waitpid; test with WIFEXITED etc.), or -1 when the
 * process did not exit in time (it is then killed with SIGKILL). */
int mnemo_harness_stop(mnemo_harness_t *h, int timeout_ms);

/* Sends signo (for example SIGKILL) and waits for the exit; wait status. */
int mnemo_harness_signal_wait(mnemo_harness_t *h, int signo, int timeout_ms);

/* Waits up to timeout_ms for the process to exit by itself; its wait status,
 * or -1 on timeout (the process keeps running). A process that already
 * exited returns its kept status. */
int mnemo_harness_wait(mnemo_harness_t *h, int timeout_ms);

/* True when the log contains needle. While the process's output is still
 * being copied, waits up to 5 s for the line to arrive; after the process
 * exited the log is complete and the answer immediate. */
bool mnemo_harness_log_contains(mnemo_harness_t *h, const char *needle);

/* Prints the log to stderr, each line prefixed with "[mnemod] ". */
void mnemo_harness_dump_log(mnemo_harness_t *h);

/* Kills a still running process (SIGKILL), joins the drain thread and
 * removes the work dir (the log, and the data dir when the harness made it);
 * MNEMO_TEST_KEEP=1 in the environment keeps it for a post-mortem. A data
 * dir given in the options is never removed. NULL: no-op. */
void mnemo_harness_destroy(mnemo_harness_t *h);

/* Path of the mnemod binary the harness runs. */
const char *mnemo_harness_mnemod_path(void);

/* Milliseconds on the monotonic clock, for test timing. */
long long mnemo_harness_now_ms(void);

#endif
