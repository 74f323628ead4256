/* test_metrics.c - call counters summed over shards and threads, their
 * Prometheus text, /proc/self/stat parsing. No socket, no domain. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "rpc.h"
#include "testutil.h"

#define THREADS 4
#define CALLS   1000

/* True when text holds the line exactly (never its first line: a HELP). */
static bool has_line(const mnemo_buf_t *text, const char *line)
{
    char needle[512];
    int n = snprintf(needle, sizeof needle, "\n%s\n", line);
    return memmem(text->p, text->len, needle, (size_t)n) != NULL;
}

static const mnemo_method_t *method(const char *name)
{
    for (const mnemo_method_t *m = mnemo_rpc_memory_methods; m->name != NULL; m++)
        if (strcmp(m->name, name) == 0)
            return m;
    return NULL;
}

static void *calls(void *arg)
{
    mnemo_metrics_t *m = arg;
    for (int i = 0; i < CALLS; i++) {
        mnemo_call_obs_t obs;
        mnemo_metrics_call_start(m, &obs, method("GetMemory"), NULL, NULL, 70);
        if (i % 4 != 0)
            mnemo_metrics_call_sent(&obs, 200);
        mnemo_metrics_call_end(&obs, i % 4 == 0 ? MNEMO_CODE_NOT_FOUND : MNEMO_CODE_OK, NULL);
    }
    return NULL;
}

static void render(mnemo_metrics_t *m, mnemo_buf_t *out)
{
    mnemo_metrics_sources_t none = {0};
    out->len = 0;
    mnemo_metrics_render(m, &none, out);
}

#define GET "grpc_type=\"unary\",grpc_service=\"mnemo.v1.MemoryService\",grpc_method=\"GetMemory\""

static void test_metrics__counters_sum_every_thread(void)
{
    mnemo_metrics_t *m = mnemo_metrics_create(&(mnemo_metrics_options_t){.count_calls = true});
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, calls, m);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    mnemo_buf_t text = {0};
    render(m, &text);
    CU_ASSERT(has_line(&text, "grpc_server_started_total{" GET "} 4000"));
    CU_ASSERT(has_line(&text, "grpc_server_msg_received_total{" GET "} 4000"));
    CU_ASSERT(has_line(&text, "grpc_server_msg_sent_total{" GET "} 3000"));
    CU_ASSERT(has_line(&text, "grpc_server_handled_total{" GET ",grpc_code=\"OK\"} 3000"));
    CU_ASSERT(has_line(&text, "grpc_server_handled_total{" GET ",grpc_code=\"NotFound\"} 1000"));
    CU_ASSERT(has_line(&text, "grpc_server_handled_total{" GET ",grpc_code=\"Aborted\"} 0"));
    /* Buckets are cumulative and end in +Inf = count. */
    CU_ASSERT(has_line(&text, "grpc_server_handling_seconds_bucket{" GET ",le=\"+Inf\"} 4000"));
    CU_ASSERT(has_line(&text, "grpc_server_handling_seconds_bucket{" GET ",le=\"10\"} 4000"));
    CU_ASSERT(has_line(&text, "grpc_server_handling_seconds_count{" GET "} 4000"));
    CU_ASSERT(has_line(&text, "# TYPE grpc_server_handling_seconds histogram"));
    CU_ASSERT(has_line(&text, "mnemo_calls_in_flight 0"));
    CU_ASSERT_EQUAL(mnemo_metrics_in_flight(m), 0);
    mnemo_buf_cleanup(&text);
    mnemo_metrics_destroy(m);
}

/* Without --metrics-listen nothing is counted, but calls in flight are. */
static void test_metrics__off_counts_only_calls_in_flight(void)
{
    mnemo_metrics_t *m = mnemo_metrics_create(&(mnemo_metrics_options_t){0});
    mnemo_call_obs_t obs;
    mnemo_metrics_call_start(m, &obs, method("GetMemory"), NULL, NULL, 70);
    CU_ASSERT_EQUAL(mnemo_metrics_in_flight(m), 1);
    CU_ASSERT_EQUAL(obs.start_ns, 0); /* no clock read */
    mnemo_metrics_call_end(&obs, MNEMO_CODE_OK, NULL);
    CU_ASSERT_EQUAL(mnemo_metrics_in_flight(m), 0);
    mnemo_buf_t text = {0};
    render(m, &text);
    CU_ASSERT(has_line(&text, "grpc_server_started_total{" GET "} 0"));
    mnemo_buf_cleanup(&text);
    mnemo_metrics_destroy(m);
}

static void test_metrics__proc_stat_parses(void)
{
    /* /proc/self/stat after "(mnemod)": utime 250, stime 50, starttime
     * 1000, vsize 8192000, rss 300 pages. */
    const char *text = " S 1 2 3 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 1000 8192000 300 "
                       "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
    mnemo_proc_stat_t ps;
    CU_ASSERT_FATAL(mnemo_metrics_parse_proc_stat(&ps, text, 100, 4096));
    CU_ASSERT_DOUBLE_EQUAL(ps.cpu_seconds, 3.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(ps.start_since_boot_seconds, 10.0, 1e-9);
    CU_ASSERT_EQUAL(ps.virtual_bytes, 8192000);
    CU_ASSERT_EQUAL(ps.resident_bytes, 300 * 4096);
    CU_ASSERT(!mnemo_metrics_parse_proc_stat(&ps, " S 1 2", 100, 4096));
}

static void test_metrics__code_labels_are_go_grpc_prometheus_names(void)
{
    CU_ASSERT_STRING_EQUAL(mnemo_metrics_code_label(MNEMO_CODE_OK), "OK");
    CU_ASSERT_STRING_EQUAL(mnemo_metrics_code_label(MNEMO_CODE_CANCELLED), "Canceled");
    CU_ASSERT_STRING_EQUAL(mnemo_metrics_code_label(MNEMO_CODE_DEADLINE_EXCEEDED),
                           "DeadlineExceeded");
    CU_ASSERT_STRING_EQUAL(mnemo_metrics_code_label(MNEMO_CODE_UNAUTHENTICATED), "Unauthenticated");
}

int main(void)
{
    CU_pSuite s = mnemo_test_suite("metrics");
    MNEMO_TEST(s, test_metrics__counters_sum_every_thread);
    MNEMO_TEST(s, test_metrics__off_counts_only_calls_in_flight);
    MNEMO_TEST(s, test_metrics__proc_stat_parses);
    MNEMO_TEST(s, test_metrics__code_labels_are_go_grpc_prometheus_names);
    return mnemo_test_run();
}
