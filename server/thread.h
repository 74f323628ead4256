/* thread.h - what mnemo asks of the threads it starts beyond pthreads.
 *
 * DESIGN: background threads (sync jobs, index mergers) lower their own
 * CPU priority, so on a busy machine the requests served by the
 * completion-queue threads go first. pace.c relies on it too: it counts
 * CPU time the kernel accounts as niced as background work. Linux applies a nice value to one
 * thread (setpriority on its thread id); elsewhere this is a no-op.
 *
 * Threads: any; each call affects the calling thread only.
 */
#ifndef MNEMO_THREAD_H
#define MNEMO_THREAD_H

#include <stdint.h>

#include <pthread.h>

/* Nice value of mnemo's background threads. */
#define MNEMO_BACKGROUND_NICE 10

/* Names the calling thread (shown by top -H, perf, gdb; at most 15
 * bytes are kept). */
void mnemo_thread_name(const char *name);

/* Lowers the calling thread's CPU priority to MNEMO_BACKGROUND_NICE;
 * failure (a sandbox refusing it) is ignored: priority is a preference. */
void mnemo_thread_background(void);

/* CLOCK_MONOTONIC in nanoseconds: for intervals, never for dates. */
int64_t mnemo_clock_ns(void);

/* Initialises cond on CLOCK_MONOTONIC, as mnemo_thread_cond_wait_ms needs
 * (a wall clock stepped back would stretch the wait by the step). */
void mnemo_thread_cond_init(pthread_cond_t *cond);

/* pthread_cond_timedwait for at most ms from now (the caller holds mu);
 * its result: 0 when signalled (or woken spuriously), ETIMEDOUT. */
int mnemo_thread_cond_wait_ms(pthread_cond_t *cond, pthread_mutex_t *mu, long ms);

#endif
