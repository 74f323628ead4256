/* expect.c - generators, paths and matchers of the contract cases
 * (expect.h). The README's rules, one function each: equal() is the
 * "plain value" rule that every matcher uses for equality.
 */
#include "expect.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memrpc.h" /* memrpc_sha256_hex */
#include "why.h"

/* v as compact JSON, cut at 200 bytes, in buf. */
static const char *show(char buf[256], const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s == NULL)
        snprintf(buf, 256, "(unprintable)");
    else if (strlen(s) > 200)
        snprintf(buf, 256, "%.200s...(%zu chars)", s, strlen(s));
    else
        snprintf(buf, 256, "%s", s);
    free(s);
    return buf;
}

/* ---- generators ---------------------------------------------------------- */

static json_t *gen_repeat(const json_t *arg, char *err, size_t len)
{
    const json_t *s = json_array_get(arg, 0), *n = json_array_get(arg, 1);
    if (!json_is_string(s) || !json_is_integer(n) || json_integer_value(n) < 0) {
        why_set(err, len, "$repeat wants [STRING, COUNT]");
        return NULL;
    }
    size_t sl = json_string_length(s), count = (size_t)json_integer_value(n);
    char *buf = malloc(sl * count + 1);
    if (buf == NULL)
        return NULL;
    for (size_t i = 0; i < count; i++)
        memcpy(buf + i * sl, json_string_value(s), sl);
    json_t *out = json_stringn(buf, sl * count);
    free(buf);
    return out;
}

static json_t *gen_seq(const json_t *arg, char *err, size_t len)
{
    const json_t *p = json_array_get(arg, 0), *n = json_array_get(arg, 1);
    if (!json_is_string(p) || !json_is_integer(n)) {
        why_set(err, len, "$seq wants [PREFIX, COUNT]");
        return NULL;
    }
    json_t *out = json_array();
    for (json_int_t i = 0; i < json_integer_value(n); i++)
        json_array_append_new(out, json_sprintf("%s%lld", json_string_value(p), (long long)i));
    return out;
}

static json_t *gen_ref(const json_t *arg, const expect_ctx_t *ctx, char *err, size_t len)
{
    const char *ref = json_string_value(arg);
    const char *dot = ref != NULL ? strchr(ref, '.') : NULL;
    size_t label_len = dot != NULL ? (size_t)(dot - ref) : (ref != NULL ? strlen(ref) : 0);
    char label[128];
    if (ref == NULL || label_len >= sizeof(label)) {
        why_set(err, len, "$ref wants \"LABEL.PATH\"");
        return NULL;
    }
    memcpy(label, ref, label_len);
    label[label_len] = '\0';
    const json_t *result = json_object_get(ctx->results, label);
    if (result == NULL) {
        why_set(err, len, "$ref %s: no earlier step labelled %s", ref, label);
        return NULL;
    }
    char why[512];
    json_t *v = expect_resolve(result, dot != NULL ? dot + 1 : "", why, sizeof(why));
    if (v == NULL)
        why_set(err, len, "$ref %s: %s", ref, why);
    return v;
}

/* The value of the generator key(arg), or NULL with err set. */
static json_t *generator(const char *key, const json_t *arg, const expect_ctx_t *ctx, char *err,
                         size_t len)
{
    if (strcmp(key, "$repeat") == 0)
        return gen_repeat(arg, err, len);
    if (strcmp(key, "$seq") == 0)
        return gen_seq(arg, err, len);
    if (strcmp(key, "$sha256") == 0) {
        char hex[65];
        if (!json_is_string(arg)) {
            why_set(err, len, "$sha256 wants a string");
            return NULL;
        }
        memrpc_sha256_hex(hex, json_string_value(arg), json_string_length(arg));
        return json_string(hex);
    }
    if (strcmp(key, "$tree") == 0)
        return json_sprintf("%s/%s", ctx->root, json_string_value(arg));
    return gen_ref(arg, ctx, err, len);
}

static bool is_generator(const char *key)
{
    static const char *const names[] = {"$repeat", "$seq", "$sha256", "$tree", "$ref"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(key, names[i]) == 0)
            return true;
    return false;
}

json_t *expect_generate(const json_t *v, const expect_ctx_t *ctx, char *err, size_t err_len)
{
    if (json_is_array(v)) {
        json_t *out = json_array();
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *e = expect_generate(json_array_get(v, i), ctx, err, err_len);
            if (e == NULL || json_array_append_new(out, e) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    if (!json_is_object(v))
        return json_deep_copy(v);
    json_t *out = json_object();
    const char *key;
    json_t *e;
    json_object_foreach((json_t *)v, key, e)
    {
        json_t *g = expect_generate(e, ctx, err, err_len);
        if (g == NULL || json_object_set_new(out, key, g) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    if (json_object_size(out) != 1 || !is_generator(json_object_iter_key(json_object_iter(out))))
        return out;
    json_t *value = generator(json_object_iter_key(json_object_iter(out)),
                              json_object_iter_value(json_object_iter(out)), ctx, err, err_len);
    json_decref(out);
    return value;
}

/* ---- paths --------------------------------------------------------------- */

static json_t *resolve_index(const json_t *v, const char *seg, const char *rest, char *err,
                             size_t len)
{
    if (strcmp(seg, "*") == 0) {
        json_t *out = json_array();
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *e = expect_resolve(json_array_get(v, i), rest, err, len);
            if (e == NULL) {
                json_decref(out);
                return NULL;
            }
            json_array_append_new(out, e);
        }
        return out;
    }
    char *end = NULL;
    long i = strtol(seg, &end, 10);
    if (end == seg || *end != '\0') {
        why_set(err, len, "%s is not an index of an array", seg);
        return NULL;
    }
    if (i == -1)
        i = (long)json_array_size(v) - 1;
    if (i < 0 || (size_t)i >= json_array_size(v)) {
        why_set(err, len, "index %s out of range (%zu elements)", seg, json_array_size(v));
        return NULL;
    }
    return expect_resolve(json_array_get(v, (size_t)i), rest, err, len);
}

json_t *expect_resolve(const json_t *v, const char *path, char *err, size_t err_len)
{
    if (*path == '\0')
        return json_incref((json_t *)v);
    const char *dot = strchr(path, '.');
    size_t seg_len = dot != NULL ? (size_t)(dot - path) : strlen(path);
    const char *rest = dot != NULL ? dot + 1 : "";
    char seg[256];
    snprintf(seg, sizeof(seg), "%.*s", (int)seg_len, path);
    if (json_is_array(v))
        return resolve_index(v, seg, rest, err, err_len);
    const json_t *next = json_is_object(v) ? json_object_get(v, seg) : NULL;
    if (next == NULL || json_is_null(next)) {
        why_set(err, err_len, json_is_object(v) ? "no %s" : "%s: not an object or array", seg);
        return NULL;
    }
    return expect_resolve(next, rest, err, err_len);
}

/* ---- matchers ------------------------------------------------------------ */

/* A JSON number, or a string of decimal digits (proto3 JSON's int64). */
static bool as_number(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return true;
    }
    if (json_is_string(v) && json_string_length(v) > 0) {
        char *end = NULL;
        long long x = strtoll(json_string_value(v), &end, 10);
        if (*end == '\0') {
            *out = (double)x;
            return true;
        }
    }
    return false;
}

static bool equal(const json_t *got, const json_t *want)
{
    double a, b;
    if (json_is_number(want))
        return as_number(got, &a) && as_number(want, &b) && a == b;
    if (json_is_array(want)) {
        if (!json_is_array(got) || json_array_size(got) != json_array_size(want))
            return false;
        for (size_t i = 0; i < json_array_size(want); i++)
            if (!equal(json_array_get(got, i), json_array_get(want, i)))
                return false;
        return true;
    }
    if (json_is_object(want)) {
        if (!json_is_object(got) || json_object_size(got) != json_object_size(want))
            return false;
        const char *key;
        json_t *w;
        json_object_foreach((json_t *)want, key, w)
        {
            const json_t *g = json_object_get(got, key);
            if (g == NULL || !equal(g, w))
                return false;
        }
        return true;
    }
    return json_equal((json_t *)got, (json_t *)want);
}

static bool is_set(const json_t *v)
{
    double n;
    if (json_is_boolean(v))
        return json_is_true(v);
    if (as_number(v, &n))
        return n != 0;
    if (json_is_string(v))
        return json_string_length(v) > 0;
    if (json_is_array(v))
        return json_array_size(v) > 0;
    if (json_is_object(v))
        return json_object_size(v) > 0;
    return false;
}

static bool has_len(const json_t *v, json_int_t n)
{
    if (json_is_array(v))
        return (json_int_t)json_array_size(v) == n;
    if (json_is_object(v))
        return (json_int_t)json_object_size(v) == n;
    return json_is_string(v) && (json_int_t)json_string_length(v) == n;
}

static bool contains(const json_t *got, const json_t *want)
{
    for (size_t i = 0; i < json_array_size(got); i++)
        if (equal(json_array_get(got, i), want))
            return true;
    return false;
}

/* The same elements in any order: each wanted one consumes one equal got. */
static bool unordered(const json_t *got, const json_t *want)
{
    size_t n = json_array_size(want);
    if (!json_is_array(got) || !json_is_array(want) || json_array_size(got) != n)
        return false;
    bool *used = calloc(n ? n : 1, sizeof(bool));
    bool ok = used != NULL;
    for (size_t w = 0; ok && w < n; w++) {
        size_t g = 0;
        while (g < n && (used[g] || !equal(json_array_get(got, g), json_array_get(want, w))))
            g++;
        ok = g < n;
        if (ok)
            used[g] = true;
    }
    free(used);
    return ok;
}

static bool is_sorted(const json_t *got, const char *order)
{
    bool asc = strcmp(order, "asc") == 0;
    double prev = 0, x;
    if (!json_is_array(got))
        return false;
    for (size_t i = 0; i < json_array_size(got); i++) {
        if (!as_number(json_array_get(got, i), &x))
            return false;
        if (i > 0 && (asc ? x < prev : x > prev))
            return false;
        prev = x;
    }
    return true;
}

/* Whether matcher key(arg) holds for got; -1 for an unknown matcher. */
static int matcher_holds(const char *key, const json_t *arg, const json_t *got)
{
    double n, x;
    if (strcmp(key, "$set") == 0)
        return is_set(got) == json_is_true(arg);
    if (strcmp(key, "$len") == 0)
        return has_len(got, json_integer_value(arg));
    if (strcmp(key, "$gte") == 0)
        return as_number(got, &n) && as_number(arg, &x) && n >= x;
    if (strcmp(key, "$lte") == 0)
        return as_number(got, &n) && as_number(arg, &x) && n <= x;
    if (strcmp(key, "$in") == 0)
        return contains(arg, got);
    if (strcmp(key, "$contains") == 0)
        return json_is_array(got) && contains(got, arg);
    if (strcmp(key, "$unordered") == 0)
        return unordered(got, arg);
    if (strcmp(key, "$sorted") == 0)
        return json_is_string(arg) && is_sorted(got, json_string_value(arg));
    return -1;
}

static bool is_matcher(const json_t *v)
{
    if (!json_is_object(v) || json_object_size(v) == 0)
        return false;
    const char *key;
    json_t *e;
    json_object_foreach((json_t *)v, key, e)
    {
        if (key[0] != '$')
            return false;
    }
    return true;
}

static int check_one(const char *path, const json_t *got, const json_t *want, char *err, size_t len)
{
    char a[256], b[256];
    if (!is_matcher(want))
        return equal(got, want)
                   ? 0
                   : why_set(err, len, "%s: want %s, got %s", path, show(a, want), show(b, got));
    const char *key;
    json_t *arg;
    json_object_foreach((json_t *)want, key, arg)
    {
        int holds = matcher_holds(key, arg, got);
        if (holds < 0)
            return why_set(err, len, "%s: unknown matcher %s", path, key);
        if (!holds)
            return why_set(err, len, "%s: want %s %s, got %s", path, key, show(a, arg),
                           show(b, got));
    }
    return 0;
}

int expect_check(const json_t *result, const json_t *expect, char *err, size_t err_len)
{
    const char *path;
    json_t *want;
    json_object_foreach((json_t *)expect, path, want)
    {
        char why[512];
        json_t *got = result != NULL ? expect_resolve(result, path, why, sizeof(why)) : NULL;
        if (got == NULL)
            return why_set(err, err_len, "%s: %s", path, result != NULL ? why : "no result");
        int rc = check_one(path, got, want, err, err_len);
        json_decref(got);
        if (rc != 0)
            return -1;
    }
    return 0;
}
