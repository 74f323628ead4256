/* itest.h - glue shared by the C integration test binaries: one mnemod per
 * binary, status assertions that print what the server said, and small
 * string builders.
 *
 * DESIGN: a binary calls itest_start_server() before running its suites and
 * itest_finish() at the end; tests that need their own servers (lifecycle)
 * use server_harness directly. Assertion failures go to CUnit and, with the
 * server's status message, to stderr, so ctest --output-on-failure shows
 * what went wrong without a rerun.
 *
 * Threads: EXPECT_* from the CUnit thread only; the builders from any.
 */
#ifndef MNEMO_ITEST_H
#define MNEMO_ITEST_H

#include <stdbool.h>
#include <stddef.h>

#include "server_harness.h"
#include "testutil.h"

/* Asserts that a call named what returned status want and, when field is
 * not NULL, that its message mentions field. Returns whether it held. */
bool itest_expect(const char *file, int line, const char *what, int got, const char *details,
                  int want, const char *field);
#define EXPECT_STATUS(what, got, details, want, field)                                             \
    itest_expect(__FILE__, __LINE__, (what), (got), (details), (want), (field))

/* Plain assertion with a formatted message (CUnit + stderr). */
bool itest_check(const char *file, int line, bool cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define CHECK(cond, ...) itest_check(__FILE__, __LINE__, (cond), __VA_ARGS__)

/* Starts the binary's shared mnemod (fresh data dir, ephemeral port) and
 * returns its address; exits the process with 1 (after printing the server
 * log) when it does not come up. */
const char *itest_start_server(void);
/* The same with harness options (extra flags such as --allow-root; NULL:
 * defaults). Strings in opts are copied. */
const char *itest_start_server_opts(const mnemo_harness_options_t *opts);
mnemo_harness_t *itest_server(void);

/* Runs the registered suites; then, if the shared server still runs, stops
 * it and fails the run unless it exited 0 (SIGTERM is a clean drain, and
 * under ASan a leak or error at exit is a failure). Prints the server log
 * on failure. Returns the process exit code. */
int itest_run(void);

/* Starts a mnemod of the test's own on data_dir with extra args
 * (NULL-terminated, may be NULL); CHECKs that it serves and returns it, or
 * NULL (its log printed) when it does not. */
mnemo_harness_t *itest_start_on(const char *data_dir, const char *const *args);
/* SIGTERM; CHECKs a clean exit 0 within timeout_ms (the log printed when
 * not), then destroys h. */
void itest_stop_clean(mnemo_harness_t *h, int timeout_ms);

/* New strings, the caller's (free()). */
char *itest_repeat(char c, size_t n);
/* "<prefix> <pid>-<counter> <suffix>": content unique in this process. */
char *itest_unique(const char *prefix, const char *suffix);

#endif
