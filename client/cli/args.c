/* args.c - command-line scanning for the mnemo CLI (see args.h).
 *
 * DESIGN: one small scanner instead of getopt_long, because subcommands
 * take options after positionals ("store TEXT --tag a") and a value may
 * look like an option ("--min-score -1"): an option that takes a value
 * always consumes the next argument. Part of mnemo_cli_core.
 * Threads: any; nothing is shared.
 */
#include "args.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cli_args_init(cli_args_t *a, int argc, char **argv, const cli_option_t *options)
{
    memset(a, 0, sizeof(*a));
    a->argc = argc;
    a->argv = argv;
    a->index = 1;
    a->options = options;
}

/* The table entry named exactly name[0..len), or NULL. */
static const cli_option_t *find_option(const cli_option_t *options, const char *name, size_t len)
{
    for (const cli_option_t *o = options; o->name != NULL; o++)
        if (strlen(o->name) == len && memcmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

/* Handles arg, known to look like an option. */
static int scan_option(cli_args_t *a, const char *arg)
{
    const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
    size_t len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
    const cli_option_t *o = find_option(a->options, arg, len);
    a->name = arg;
    if (o == NULL) {
        snprintf(a->error, sizeof(a->error), "unknown option '%.*s'", (int)len, arg);
        return CLI_ARG_ERROR;
    }
    a->name = o->name;
    if (!o->has_arg) {
        if (eq != NULL) {
            snprintf(a->error, sizeof(a->error), "option '%s' takes no value", o->name);
            return CLI_ARG_ERROR;
        }
        a->value = NULL;
        return o->id;
    }
    if (eq != NULL) {
        a->value = eq + 1;
        return o->id;
    }
    if (a->index >= a->argc) {
        snprintf(a->error, sizeof(a->error), "option '%s' needs a value", o->name);
        return CLI_ARG_ERROR;
    }
    a->value = a->argv[a->index++];
    return o->id;
}

int cli_args_next(cli_args_t *a)
{
    a->value = NULL;
    a->name = NULL;
    if (a->index >= a->argc)
        return CLI_ARG_END;
    const char *arg = a->argv[a->index++];
    if (!a->options_done && strcmp(arg, "--") == 0) {
        a->options_done = 1;
        return cli_args_next(a);
    }
    if (a->options_done || arg[0] != '-' || arg[1] == '\0') {
        a->value = arg;
        return CLI_ARG_POSITIONAL;
    }
    return scan_option(a, arg);
}

int cli_parse_int(int64_t *out, const char *s, int64_t min, int64_t max)
{
    if (s == NULL || *s == '\0' || *s == ' ' || *s == '+')
        return -1;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = (int64_t)v;
    return 0;
}

int cli_parse_double(double *out, const char *s)
{
    if (s == NULL || *s == '\0' || *s == ' ')
        return -1;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int cli_parse_meta(char **key, char **value, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (eq == NULL || eq == arg)
        return -1;
    char *k = strndup(arg, (size_t)(eq - arg));
    char *v = strdup(eq + 1);
    if (k == NULL || v == NULL) {
        free(k);
        free(v);
        return -1;
    }
    *key = k;
    *value = v;
    return 0;
}

/* Makes room for one more element in an array of n elements of size size. */
static int grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap != 0 ? *cap * 2 : 8;
    void *nv = realloc(*v, ncap * size);
    if (nv == NULL)
        return -1;
    *v = nv;
    *cap = ncap;
    return 0;
}

int cli_strv_push(cli_strv_t *l, const char *s)
{
    void *v = l->v;
    if (grow(&v, &l->cap, l->n, sizeof(char *)) != 0)
        return -1;
    l->v = v;
    l->v[l->n++] = (char *)s;
    return 0;
}

void cli_strv_cleanup(cli_strv_t *l)
{
    free(l->v);
    memset(l, 0, sizeof(*l));
}

char *cli_strv_join(const cli_strv_t *l, const char *sep)
{
    size_t len = 1, sep_len = strlen(sep);
    for (size_t i = 0; i < l->n; i++)
        len += strlen(l->v[i]) + sep_len;
    char *out = malloc(len);
    if (out == NULL)
        return NULL;
    size_t at = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (i > 0) {
            memcpy(out + at, sep, sep_len);
            at += sep_len;
        }
        size_t n = strlen(l->v[i]);
        memcpy(out + at, l->v[i], n);
        at += n;
    }
    out[at] = '\0';
    return out;
}

char *cli_absolute_path(const char *path)
{
    char *real = realpath(path, NULL);
    if (real != NULL || path[0] == '/')
        return real != NULL ? real : strdup(path);
    char *cwd = getcwd(NULL, 0);
    if (cwd == NULL)
        return NULL;
    size_t n = strlen(cwd) + strlen(path) + 2;
    char *out = malloc(n);
    if (out != NULL)
        snprintf(out, n, "%s%s%s", cwd, strcmp(cwd, "/") == 0 ? "" : "/", path);
    free(cwd);
    return out;
}

int cli_meta_set(cli_meta_t *m, char *key, char *value)
{
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->keys[i], key) == 0) {
            free(key);
            free(m->values[i]);
            m->values[i] = value;
            return 0;
        }
    }
    if (m->n == m->cap) {
        size_t ncap = m->cap != 0 ? m->cap * 2 : 8;
        char **keys = realloc(m->keys, ncap * sizeof(char *));
        if (keys != NULL)
            m->keys = keys;
        char **values = keys != NULL ? realloc(m->values, ncap * sizeof(char *)) : NULL;
        if (values == NULL) {
            free(key);
            free(value);
            return -1;
        }
        m->values = values;
        m->cap = ncap;
    }
    m->keys[m->n] = key;
    m->values[m->n] = value;
    m->n++;
    return 0;
}

void cli_meta_cleanup(cli_meta_t *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->keys[i]);
        free(m->values[i]);
    }
    free(m->keys);
    free(m->values);
    memset(m, 0, sizeof(*m));
}

int cli_read_all(char **out, size_t *out_len, FILE *f)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    if (buf == NULL)
        return -1;
    for (;;) {
        if (cap - len < 2) {
            char *nbuf = cap < SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
            if (nbuf == NULL)
                goto fail;
            buf = nbuf;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f))
        goto fail;
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return 0;
fail:
    free(buf);
    return -1;
}

size_t cli_trim_newlines(char *s, size_t len)
{
    while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
        s[--len] = '\0';
    return len;
}
