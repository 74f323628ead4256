/* thread.c - background thread priority (see thread.h). */
#include "thread.h"

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
