/* thread.c - background thread priority, names, timed waits (see thread.h). */
#include "thread.h"

#include <time.h>

#ifdef __linux__
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

void mnemo_thread_background(void)
{
#ifdef __linux__
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), MNEMO_BACKGROUND_NICE);
#endif
}

void mnemo_thread_name(const char *name)
{
#ifdef __linux__
    char buf[16];
    strncpy(buf, name, sizeof buf - 1);
    buf[sizeof buf - 1] = '\0';
    (void)pthread_setname_np(pthread_self(), buf);
#else
    (void)name;
#endif
}

int64_t mnemo_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void mnemo_thread_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
}

int mnemo_thread_cond_wait_ms(pthread_cond_t *cond, pthread_mutex_t *mu, long ms)
{
    struct timespec at;
    clock_gettime(CLOCK_MONOTONIC, &at);
    at.tv_sec += ms / 1000;
    at.tv_nsec += (ms % 1000) * 1000000L;
    if (at.tv_nsec >= 1000000000L) {
        at.tv_sec++;
        at.tv_nsec -= 1000000000L;
    }
    return pthread_cond_timedwait(cond, mu, &at);
}
