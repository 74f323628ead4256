/* thread.c - background thread priority (see thread.h). */
#include "thread.h"

#ifdef __linux__
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
