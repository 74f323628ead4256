/* pace.h - background work that gives way while requests arrive.
 *
 * DESIGN: a sync, and the index merges and LevelDB compactions its writes
 * cause, can keep every core busy. On a small machine that costs the
 * requests served meanwhile more than their share of CPU: measured on the
 * 2-vCPU benchmark VM (docs/design-notes.md), once both vCPUs stay busy
 * the host preempts them (steal time 50-140 ms/s, against ~0 when they are
 * not saturated) and a request caught on a preempted vCPU waits for
 * milliseconds. No thread priority inside the guest helps: a spin loop at
 * SCHED_IDLE alone triples the RetrieveMemory p99. The only remedy is to
 * leave CPU idle, so a sync paces itself while requests arrive (and with
 * it the compactions and merges its writes cause, which are not paced
 * themselves):
 *
 * - Interactive RPCs (memory operations, SearchCode) note their arrival
 *   (mnemo_pace_note_request: a relaxed atomic, written at most once a
 *   millisecond).
 * - A background thread calls mnemo_pace_yield between units of work
 *   (files). It paces only when both hold: a request arrived in the last
 *   MNEMO_PACE_WINDOW_MS, and the machine is busy: the CPU time of the
 *   last MNEMO_PACE_SAMPLE_MS not spent by niced threads (/proc/stat,
 *   read only while requests arrive; all of mnemo's background threads
 *   are niced, thread.h), less the calling thread's own system time,
 *   exceeds busy_limit, i.e. leaves less than one core plus
 *   MNEMO_PACE_HEADROOM of the machine idle. Before the first sample (for
 *   MNEMO_PACE_SAMPLE_MS after requests start), or without /proc/stat,
 *   only a machine whose busy_limit is negative (one CPU) counts as busy.
 * - Then each MNEMO_PACE_QUANTUM_MS of the thread's CPU time buys a pause
 *   that keeps it at `share` percent of one core; a pause longer than
 *   MNEMO_PACE_MAX_PAUSE_MS is split over the following yields.
 * - Otherwise nothing sleeps: a sync runs flat out on a quiet server,
 *   under light traffic, and on a machine with cores to spare.
 *
 * Blind spots: system time of the other niced threads (LevelDB's
 * compactions, the index mergers) counts as load, niced work of other
 * processes does not, and /proc/stat sees the whole machine, not a
 * container's CPU quota.
 *
 * Threads: mnemo_pace_note_request and mnemo_pace_active from any thread;
 * a mnemo_pacer_t belongs to the one background thread that yields with it
 * (it measures that thread's CPU clock).
 */
#ifndef MNEMO_PACE_H
#define MNEMO_PACE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* How long after the last request background work stays paced. */
#define MNEMO_PACE_WINDOW_MS 100
/* CPU time a paced thread runs between pauses. */
#define MNEMO_PACE_QUANTUM_MS 2
/* Longest single pause, so a cancelled job is not held back by one. */
#define MNEMO_PACE_MAX_PAUSE_MS 100
/* How often a paced thread reads the machine's load. */
#define MNEMO_PACE_SAMPLE_MS 100
/* Share of the machine that should stay idle while requests arrive. */
#define MNEMO_PACE_HEADROOM 0.25

typedef struct mnemo_pace {
    int share;                    /* percent of one core, 1..100; 100: never pause */
    double busy_limit;            /* un-niced load (cores) above which to pace */
    atomic_int_least64_t last_ns; /* CLOCK_MONOTONIC of the last request; 0: none */
} mnemo_pace_t;

typedef struct mnemo_pacer {
    int64_t mark_ns;    /* CPU clock up to which the thread's CPU is paid for */
    int64_t sample_ns;  /* CLOCK_MONOTONIC start of the load interval; 0: none */
    bool have_ticks;    /* fg_ticks was read at that start */
    uint64_t fg_ticks;  /* un-niced CPU ticks of the machine then */
    int64_t own_sys_ns; /* the thread's system time then */
    double fg_cores;    /* load of the last full interval, in cores; < 0: unknown */
} mnemo_pacer_t;

/* share: percent of one core a paced thread may use (clamped to 1..100).
 * The busy limit comes from the number of online CPUs
 * (mnemo_pace_busy_limit); tests may set pace->busy_limit after init (a
 * negative one: always busy). */
void mnemo_pace_init(mnemo_pace_t *pace, int share);

/* The un-niced load, in cores, above which a machine of ncpu CPUs has less
 * than one core plus MNEMO_PACE_HEADROOM idle: ncpu * (1 - headroom) - 1
 * (negative on one CPU: pace whenever requests arrive). */
double mnemo_pace_busy_limit(int ncpu);

/* Reads the un-niced busy ticks (user + system + irq + softirq) from the
 * first line of /proc/stat; false if text is not such a line. */
bool mnemo_pace_parse_stat(const char *text, uint64_t *fg_ticks);

/* An interactive request arrived. NULL pace: no-op. */
void mnemo_pace_note_request(mnemo_pace_t *pace);

/* Whether a request arrived within MNEMO_PACE_WINDOW_MS of now_ns
 * (CLOCK_MONOTONIC). */
bool mnemo_pace_active(const mnemo_pace_t *pace, int64_t now_ns);

/* The pause after used_ns of CPU time at share percent:
 * used * (100 - share) / share, at most MNEMO_PACE_MAX_PAUSE_MS; 0 at
 * share 100. */
int64_t mnemo_pace_pause_ns(int64_t used_ns, int share);

/* Starts measuring the calling thread's CPU time and the machine's load. */
void mnemo_pacer_init(mnemo_pacer_t *pacer);

/* Called by the pacer's thread between units of work: pauses as described
 * above and returns the time it slept in nanoseconds (0: none). CPU time
 * used while pacing is off is forgiven, not saved up. NULL pace: 0. */
int64_t mnemo_pace_yield(mnemo_pace_t *pace, mnemo_pacer_t *pacer);

#endif
