/* status.c - lookups over MNEMO_STATUS_TABLE and the error message carrier.
 *
 * DESIGN: the table in status.h is the only place codes are listed; every
 * function here is a switch generated from it. Thread-safe.
 */
#include "mnemo/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *mnemo_status_text(mnemo_status_t st)
{
    switch (st) {
#define MNEMO_STATUS_CASE(name, value, text, code)                                                 \
    case name:                                                                                     \
        return text;
        MNEMO_STATUS_TABLE(MNEMO_STATUS_CASE)
#undef MNEMO_STATUS_CASE
    }
    return "unknown status";
}

const char *mnemo_status_name(mnemo_status_t st)
{
    switch (st) {
#define MNEMO_STATUS_CASE(name, value, text, code)                                                 \
    case name:                                                                                     \
        return #name;
        MNEMO_STATUS_TABLE(MNEMO_STATUS_CASE)
#undef MNEMO_STATUS_CASE
    }
    return "MNEMO_UNKNOWN";
}

mnemo_code_t mnemo_status_to_code(mnemo_status_t st)
{
    switch (st) {
#define MNEMO_STATUS_CASE(name, value, text, code)                                                 \
    case name:                                                                                     \
        return code;
        MNEMO_STATUS_TABLE(MNEMO_STATUS_CASE)
#undef MNEMO_STATUS_CASE
    }
    return MNEMO_CODE_UNKNOWN;
}

/* Cuts s at its last complete UTF-8 sequence so a truncated message stays
 * valid UTF-8 (gRPC peers in other languages reject invalid details). */
static void trim_utf8_tail(char *s)
{
    size_t n = strlen(s);
    size_t i = n;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t want = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (n - (i - 1) < want)
        s[i - 1] = '\0';
}

mnemo_status_t mnemo_err_set(mnemo_err_t *err, mnemo_status_t code, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof err->msg)
        trim_utf8_tail(err->msg);
    return code;
}

void mnemo_err_clear(mnemo_err_t *err)
{
    if (err != NULL)
        err->msg[0] = '\0';
}
