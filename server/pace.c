/* pace.c - background work that gives way while requests keep the machine
 * busy (see pace.h). */
#include "pace.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_MS 1000000LL

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

double mnemo_pace_busy_limit(int ncpu)
{
    return ncpu * (1.0 - MNEMO_PACE_HEADROOM) - 1.0;
}

void mnemo_pace_init(mnemo_pace_t *pace, int share)
{
    pace->share = share < 1 ? 1 : share > 100 ? 100 : share;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    pace->busy_limit = mnemo_pace_busy_limit(ncpu > 0 ? (int)ncpu : 1);
    atomic_init(&pace->last_ns, 0);
}

void mnemo_pace_note_request(mnemo_pace_t *pace)
{
    if (pace == NULL)
        return;
    /* Written at most once a millisecond: request threads on other cores
     * mostly read the line instead of taking it from each other. */
    int64_t now = clock_ns(CLOCK_MONOTONIC);
    if (now - atomic_load_explicit(&pace->last_ns, memory_order_relaxed) >= NS_PER_MS)
        atomic_store_explicit(&pace->last_ns, now, memory_order_relaxed);
}

bool mnemo_pace_active(const mnemo_pace_t *pace, int64_t now_ns)
{
    int64_t last = atomic_load_explicit(&pace->last_ns, memory_order_relaxed);
    return last != 0 && now_ns - last < MNEMO_PACE_WINDOW_MS * NS_PER_MS;
}

int64_t mnemo_pace_pause_ns(int64_t used_ns, int share)
{
    if (share >= 100 || used_ns <= 0)
        return 0;
    int64_t pause = used_ns / share * (100 - share);
    return pause < MNEMO_PACE_MAX_PAUSE_MS * NS_PER_MS ? pause
                                                       : MNEMO_PACE_MAX_PAUSE_MS * NS_PER_MS;
}

bool mnemo_pace_parse_stat(const char *text, uint64_t *fg_ticks)
{
    unsigned long long user, nice, system, idle, iowait, irq, softirq;
    /* "cpu " sums every CPU; "cpu0" and the rest are single CPUs. */
    if (strncmp(text, "cpu ", 4) != 0 ||
        sscanf(text + 4, "%llu %llu %llu %llu %llu %llu %llu", &user, &nice, &system, &idle,
               &iowait, &irq, &softirq) != 7)
        return false;
    *fg_ticks = user + system + irq + softirq;
    return true;
}

/* The machine's un-niced CPU ticks so far, or false (no /proc/stat). */
static bool read_fg_ticks(uint64_t *fg_ticks)
{
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL)
        return false;
    char line[256];
    bool ok = fgets(line, sizeof line, f) != NULL && mnemo_pace_parse_stat(line, fg_ticks);
    fclose(f);
    return ok;
}

/* System time of the calling thread: un-niced in /proc/stat, yet the
 * thread's own. */
static int64_t thread_system_ns(void)
{
#ifdef RUSAGE_THREAD
    struct rusage ru;
    if (getrusage(RUSAGE_THREAD, &ru) == 0)
        return (int64_t)ru.ru_stime.tv_sec * 1000000000LL + (int64_t)ru.ru_stime.tv_usec * 1000;
#endif
    return 0;
}

/* Starts a load interval at now_ns; its end is the next sample. */
static void start_interval(mnemo_pacer_t *pacer, int64_t now_ns)
{
    pacer->sample_ns = now_ns;
    pacer->have_ticks = read_fg_ticks(&pacer->fg_ticks);
    pacer->own_sys_ns = thread_system_ns();
}

void mnemo_pacer_init(mnemo_pacer_t *pacer)
{
    pacer->mark_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    pacer->fg_cores = -1;
    start_interval(pacer, clock_ns(CLOCK_MONOTONIC));
}

/* Starts a fresh interval when the last one went stale (sample_ns 0);
 * else ends the load interval once it is MNEMO_PACE_SAMPLE_MS long: fg_cores
 * becomes the machine's un-niced load over it, less this thread's own
 * system time; -1 when /proc/stat could not be read (or went backwards). */
static void sample_load(mnemo_pacer_t *pacer, int64_t now_ns)
{
    if (pacer->sample_ns == 0) { /* stale after a quiet spell: start over */
        start_interval(pacer, now_ns);
        pacer->fg_cores = -1;
        return;
    }
    int64_t span = now_ns - pacer->sample_ns;
    if (span < MNEMO_PACE_SAMPLE_MS * NS_PER_MS)
        return;
    uint64_t before = pacer->fg_ticks;
    bool had = pacer->have_ticks;
    int64_t own_before = pacer->own_sys_ns;
    start_interval(pacer, now_ns);
    if (!had || !pacer->have_ticks || pacer->fg_ticks < before) {
        pacer->fg_cores = -1;
        return;
    }
    double busy = (double)(pacer->fg_ticks - before) / (double)sysconf(_SC_CLK_TCK);
    double own = (double)(pacer->own_sys_ns - own_before) / 1e9;
    double cores = (busy - own) / ((double)span / 1e9);
    pacer->fg_cores = cores > 0 ? cores : 0;
}

int64_t mnemo_pace_yield(mnemo_pace_t *pace, mnemo_pacer_t *pacer)
{
    if (pace == NULL || pace->share >= 100)
        return 0;
    int64_t cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    int64_t now = clock_ns(CLOCK_MONOTONIC);
    bool busy = false;
    if (mnemo_pace_active(pace, now)) {
        sample_load(pacer, now);
        /* Unknown load: only a machine without a core to spare is busy. */
        busy = pacer->fg_cores >= 0 ? pacer->fg_cores > pace->busy_limit : pace->busy_limit < 0;
    } else {
        pacer->sample_ns = 0; /* no /proc/stat reads while no request comes */
    }
    if (!busy) {
        pacer->mark_ns = cpu; /* CPU used while not pacing is not owed */
        return 0;
    }
    int64_t used = cpu - pacer->mark_ns;
    if (used < MNEMO_PACE_QUANTUM_MS * NS_PER_MS)
        return 0;
    int64_t pause = mnemo_pace_pause_ns(used, pace->share);
    struct timespec ts = {(time_t)(pause / 1000000000LL), (long)(pause % 1000000000LL)};
    nanosleep(&ts, NULL);
    /* A capped pause pays for part of the CPU used; the rest stays owed. */
    int64_t paid = pause / (100 - pace->share) * pace->share;
    pacer->mark_ns = paid < used ? pacer->mark_ns + paid : cpu;
    return clock_ns(CLOCK_MONOTONIC) - now;
}
