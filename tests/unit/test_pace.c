/* test_pace.c - unit tests of pace.c: the pause for a share of CPU, the
 * window in which requests keep pacing on, the machine-load test, and what
 * mnemo_pace_yield does with and without requests and load. Tests that
 * need a busy machine say so through busy_limit instead of loading it.
 */
#include "pace.h"
#include "testutil.h"

#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#define MS 1000000LL

static int64_t now_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Spins until the calling thread has used ms of CPU. */
static void burn_cpu(int64_t ms)
{
    int64_t end = now_ns(CLOCK_THREAD_CPUTIME_ID) + ms * MS;
    volatile uint64_t x = 0;
    while (now_ns(CLOCK_THREAD_CPUTIME_ID) < end)
        x = x * 6364136223846793005ULL + 1;
}

/* A pace at share percent on a machine that counts as busy, and a pacer
 * for the calling thread. */
static void busy_pace(mnemo_pace_t *pace, mnemo_pacer_t *pacer, int share)
{
    mnemo_pace_init(pace, share);
    pace->busy_limit = -1;
    mnemo_pacer_init(pacer);
}

static void test_pace__pause_keeps_the_share(void)
{
    CU_ASSERT_EQUAL(mnemo_pace_pause_ns(4 * MS, 25), 12 * MS); /* 4 of 16 ms */
    CU_ASSERT_EQUAL(mnemo_pace_pause_ns(4 * MS, 50), 4 * MS);
    CU_ASSERT_EQUAL(mnemo_pace_pause_ns(4 * MS, 100), 0);
    CU_ASSERT_EQUAL(mnemo_pace_pause_ns(0, 10), 0);
    /* One long unit of work never buys one long pause. */
    CU_ASSERT_EQUAL(mnemo_pace_pause_ns(50 * MS, 1), MNEMO_PACE_MAX_PAUSE_MS * MS);
}

static void test_pace__active_only_within_the_window(void)
{
    mnemo_pace_t pace;
    mnemo_pace_init(&pace, 25);
    int64_t t = now_ns(CLOCK_MONOTONIC);
    CU_ASSERT_FALSE(mnemo_pace_active(&pace, t)); /* no request yet */
    mnemo_pace_note_request(&pace);
    CU_ASSERT_TRUE(mnemo_pace_active(&pace, now_ns(CLOCK_MONOTONIC)));
    atomic_store(&pace.last_ns, t);
    CU_ASSERT_TRUE(mnemo_pace_active(&pace, t + (MNEMO_PACE_WINDOW_MS - 1) * MS));
    CU_ASSERT_FALSE(mnemo_pace_active(&pace, t + MNEMO_PACE_WINDOW_MS * MS));
    mnemo_pace_note_request(NULL); /* no pace configured: a no-op */
}

static void test_pace__busy_limit_leaves_a_core_and_headroom(void)
{
    CU_ASSERT(mnemo_pace_busy_limit(1) < 0); /* one CPU: always contended */
    CU_ASSERT_DOUBLE_EQUAL(mnemo_pace_busy_limit(2), 0.5, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(mnemo_pace_busy_limit(8), 5.0, 1e-9);
}

static void test_pace__parse_stat_counts_unniced_busy_ticks(void)
{
    uint64_t ticks = 0;
    /* user nice system idle iowait irq softirq steal ... */
    CU_ASSERT_TRUE(mnemo_pace_parse_stat("cpu  100 5000 20 900000 7 3 4 11 0 0\n", &ticks));
    CU_ASSERT_EQUAL(ticks, 100 + 20 + 3 + 4);
    CU_ASSERT_FALSE(mnemo_pace_parse_stat("cpu0 1 2 3 4 5 6 7\n", &ticks));
    CU_ASSERT_FALSE(mnemo_pace_parse_stat("cpu  1 2 3\n", &ticks));
    uint64_t real = 0; /* this machine's */
    FILE *f = fopen("/proc/stat", "r");
    char line[256];
    if (f != NULL && fgets(line, sizeof line, f) != NULL)
        CU_ASSERT_TRUE(mnemo_pace_parse_stat(line, &real));
    if (f != NULL)
        fclose(f);
}

static void test_pace__yield_pauses_only_while_requests_arrive(void)
{
    mnemo_pace_t pace;
    mnemo_pacer_t pacer;
    busy_pace(&pace, &pacer, 50);
    burn_cpu(MNEMO_PACE_QUANTUM_MS + 1);
    CU_ASSERT_EQUAL(mnemo_pace_yield(&pace, &pacer), 0); /* no request: flat out */

    /* CPU used while idle is forgiven: a request now does not pause at once. */
    mnemo_pace_note_request(&pace);
    CU_ASSERT_EQUAL(mnemo_pace_yield(&pace, &pacer), 0);

    mnemo_pace_note_request(&pace);
    burn_cpu(MNEMO_PACE_QUANTUM_MS + 1);
    mnemo_pace_note_request(&pace);
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    int64_t paused = mnemo_pace_yield(&pace, &pacer);
    /* At 50 % the pause is at least the CPU used since the last one. */
    CU_ASSERT(paused >= (MNEMO_PACE_QUANTUM_MS + 1) * MS);
    CU_ASSERT(now_ns(CLOCK_MONOTONIC) - t0 >= paused); /* it did sleep */
    /* The next quantum starts after the pause. */
    CU_ASSERT_EQUAL(mnemo_pace_yield(&pace, &pacer), 0);
}

static void test_pace__capped_pause_leaves_the_rest_owed(void)
{
    mnemo_pace_t pace;
    mnemo_pacer_t pacer;
    busy_pace(&pace, &pacer, 1);
    mnemo_pace_note_request(&pace);
    burn_cpu(5);
    mnemo_pace_note_request(&pace);
    CU_ASSERT(mnemo_pace_yield(&pace, &pacer) >= MNEMO_PACE_MAX_PAUSE_MS * MS);
    /* 5 ms at 1 % would be ~500 ms: one capped pause paid ~1 ms of it. */
    mnemo_pace_note_request(&pace);
    CU_ASSERT(mnemo_pace_yield(&pace, &pacer) >= MNEMO_PACE_MAX_PAUSE_MS * MS);
}

static void test_pace__share_is_clamped(void)
{
    mnemo_pace_t pace;
    mnemo_pace_init(&pace, 0);
    CU_ASSERT_EQUAL(pace.share, 1);
    mnemo_pace_init(&pace, 500);
    CU_ASSERT_EQUAL(pace.share, 100);
    CU_ASSERT_EQUAL(mnemo_pace_pause_ns(5 * MS, 100), 0);
}

static void test_pace__share_100_never_pauses(void)
{
    mnemo_pace_t pace;
    mnemo_pacer_t pacer;
    busy_pace(&pace, &pacer, 100);
    mnemo_pace_note_request(&pace);
    burn_cpu(MNEMO_PACE_QUANTUM_MS + 1);
    CU_ASSERT_EQUAL(mnemo_pace_yield(&pace, &pacer), 0);
    CU_ASSERT_EQUAL(mnemo_pace_yield(NULL, &pacer), 0);
}

static void test_pace__room_to_spare_means_no_pause(void)
{
    mnemo_pace_t pace;
    mnemo_pace_init(&pace, 1);
    pace.busy_limit = 1e9; /* the machine always has room */
    mnemo_pacer_t pacer;
    mnemo_pacer_init(&pacer);
    CU_ASSERT_EQUAL(mnemo_pace_yield(&pace, &pacer), 0); /* no request yet */
    mnemo_pace_note_request(&pace);
    CU_ASSERT_EQUAL(mnemo_pace_yield(&pace, &pacer), 0); /* starts a load sample */
    nanosleep(&(struct timespec){0, (MNEMO_PACE_SAMPLE_MS + 10) * MS}, NULL);
    mnemo_pace_note_request(&pace);
    burn_cpu(MNEMO_PACE_QUANTUM_MS + 1);
    mnemo_pace_note_request(&pace);
    /* Requests arrive, but the load sample shows room: flat out. */
    CU_ASSERT_EQUAL(mnemo_pace_yield(&pace, &pacer), 0);
}

int main(void)
{
    CU_pSuite s = mnemo_test_suite("pace");
    MNEMO_TEST(s, test_pace__pause_keeps_the_share);
    MNEMO_TEST(s, test_pace__active_only_within_the_window);
    MNEMO_TEST(s, test_pace__yield_pauses_only_while_requests_arrive);
    MNEMO_TEST(s, test_pace__share_100_never_pauses);
    MNEMO_TEST(s, test_pace__busy_limit_leaves_a_core_and_headroom);
    MNEMO_TEST(s, test_pace__parse_stat_counts_unniced_busy_ticks);
    MNEMO_TEST(s, test_pace__room_to_spare_means_no_pause);
    MNEMO_TEST(s, test_pace__capped_pause_leaves_the_rest_owed);
    MNEMO_TEST(s, test_pace__share_is_clamped);
    return mnemo_test_run();
}
