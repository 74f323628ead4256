/* why.h - the failure text of the contract runner's checks: every check
 * that fails writes what was expected and what came into a caller's
 * buffer, which becomes its FAIL line.
 * Threads: no shared state; any thread.
 */
#ifndef MNEMO_WHY_H
#define MNEMO_WHY_H

#include <stddef.h>

/* Formats into why (len bytes, always terminated) and returns -1, so that a
 * failing check can `return why_set(...)`. */
int why_set(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
