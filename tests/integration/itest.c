/* itest.c - see itest.h. */
#include "itest.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "memrpc.h"

static mnemo_harness_t *server;

bool itest_check(const char *file, int line, bool cond, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* CUnit copies the condition text into its failure record. */
    CU_assertImplementation(cond ? CU_TRUE : CU_FALSE, (unsigned)line, msg, file, "", CU_FALSE);
    if (!cond)
        fprintf(stderr, "FAIL %s:%d: %s\n", file, line, msg);
    return cond;
}

bool itest_expect(const char *file, int line, const char *what, int got, const char *details,
                  int want, const char *field)
{
    bool ok = got == want;
    if (ok && field != NULL)
        ok = details != NULL && strstr(details, field) != NULL;
    return itest_check(file, line, ok, "%s: got %s \"%s\"; want %s%s%s%s", what,
                       mnemo_client_code_name(got), details != NULL ? details : "(null)",
                       mnemo_client_code_name(want),
                       field != NULL ? " with a message naming \"" : "", field != NULL ? field : "",
                       field != NULL ? "\"" : "");
}

const char *itest_start_server(void)
{
    return itest_start_server_opts(NULL);
}

const char *itest_start_server_opts(const mnemo_harness_options_t *opts)
{
    mnemo_harness_result_t r = mnemo_harness_start(&server, opts);
    if (r != MNEMO_HARNESS_SERVING) {
        fprintf(stderr, "itest: mnemod (%s) did not start (result %d)\n",
                mnemo_harness_mnemod_path(), (int)r);
        if (server != NULL) {
            mnemo_harness_dump_log(server);
            mnemo_harness_destroy(server);
        }
        exit(1);
    }
    return mnemo_harness_address(server);
}

mnemo_harness_t *itest_server(void)
{
    return server;
}

int itest_run(void)
{
    int rc = mnemo_test_run();
    if (server != NULL) {
        int st = mnemo_harness_stop(server, 0);
        if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "itest: FAIL: mnemod did not exit 0 on SIGTERM (wait status %d)\n", st);
            rc = 1;
        }
        if (rc != 0)
            mnemo_harness_dump_log(server);
        mnemo_harness_destroy(server);
        server = NULL;
    }
    memrpc_shutdown();
    return rc;
}

mnemo_harness_t *itest_start_on(const char *data_dir, const char *const *args)
{
    mnemo_harness_options_t opts = {.data_dir = data_dir, .extra_args = args};
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

void itest_stop_clean(mnemo_harness_t *h, int timeout_ms)
{
    int st = mnemo_harness_stop(h, timeout_ms);
    if (!CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "mnemod stopped cleanly"))
        mnemo_harness_dump_log(h);
    mnemo_harness_destroy(h);
}

char *itest_repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    if (s == NULL)
        abort();
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

char *itest_unique(const char *prefix, const char *suffix)
{
    static atomic_uint counter;
    unsigned k = atomic_fetch_add(&counter, 1);
    size_t n = strlen(prefix) + strlen(suffix) + 48;
    char *s = malloc(n);
    if (s == NULL)
        abort();
    snprintf(s, n, "%s %ld-%u %s", prefix, (long)getpid(), k, suffix);
    return s;
}
