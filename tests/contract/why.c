/* why.c - the failure text of the contract runner's checks (why.h). */
#include "why.h"

#include <stdarg.h>
#include <stdio.h>

int why_set(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return -1;
}
