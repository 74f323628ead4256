/* rpc_util.c - validation and failure helpers shared by the rpc_* files.
 *
 * DESIGN: every bad request is answered by one of these, so every message
 * has the same shape: "<field>: <what is wrong> (<limit>)". Pure functions
 * except mnemo_rpc_fail, which ends the call. Any thread.
 */
#include "rpc.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pagetoken.h"
#include "utf8.h"

const mnemo_method_t *const mnemo_rpc_tables[] = {
    mnemo_rpc_memory_methods,
    mnemo_rpc_health_methods,
    mnemo_rpc_repo_methods,
    mnemo_rpc_reflection_methods,
};
const size_t mnemo_rpc_n_tables = sizeof mnemo_rpc_tables / sizeof mnemo_rpc_tables[0];

int64_t mnemo_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

mnemo_status_t mnemo_rpc_check_count(size_t *out, int32_t value, const char *field, size_t def,
                                     size_t max, mnemo_err_t *err)
{
    if (value < 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "%s: must not be negative (got %d)", field,
                             (int)value);
    if ((size_t)value > max)
        return mnemo_err_set(err, MNEMO_EINVAL, "%s: at most %zu (got %d)", field, max, (int)value);
    *out = value == 0 ? def : (size_t)value;
    return MNEMO_OK;
}

mnemo_status_t mnemo_rpc_check_text(const char *s, const char *field, size_t max, bool allow_empty,
                                    mnemo_err_t *err)
{
    return mnemo_utf8_check_field(s, field, max, allow_empty, err);
}

mnemo_status_t mnemo_rpc_check_page(size_t *page_size, int32_t page_size_field,
                                    const char *page_token, const mnemo_limits_t *limits,
                                    mnemo_err_t *err)
{
    size_t n = 0;
    mnemo_status_t st = mnemo_rpc_check_count(&n, page_size_field, "page_size",
                                              limits->default_page_size, limits->max_limit, err);
    if (st == MNEMO_OK)
        st = mnemo_rpc_check_text(page_token, "page_token", MNEMO_PAGETOKEN_MAX_LEN, true, err);
    if (st == MNEMO_OK)
        *page_size = n;
    return st;
}

mnemo_status_t mnemo_rpc_check_tags(char *const *tags, size_t n, const char *field,
                                    const mnemo_limits_t *limits, mnemo_err_t *err)
{
    if (n > limits->max_tags)
        return mnemo_err_set(err, MNEMO_EINVAL, "%s: %zu tags is over the limit of %zu", field, n,
                             limits->max_tags);
    for (size_t i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s[%zu]", field, i);
        mnemo_status_t st = mnemo_rpc_check_text(tags[i], name, limits->max_tag_bytes, false, err);
        if (st != MNEMO_OK)
            return st;
    }
    return MNEMO_OK;
}

void mnemo_rpc_fail(mnemo_call_t *call, mnemo_status_t st, const mnemo_err_t *err)
{
    mnemo_call_finish(call, st, err != NULL && err->msg[0] != '\0' ? err->msg : NULL);
}
