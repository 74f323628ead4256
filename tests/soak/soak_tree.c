/* soak_tree.c - generated source trees for the soak test (see soak.h).
 *
 * DESIGN: file i lives at "<area>/<module>/<name>_<i>.<ext>": 16 areas, 8
 * modules each, so a few thousand files spread over ~130 directories like
 * a mid-sized project. Most files are C (a header comment, includes, a
 * struct, 2 to 12 functions of 4 to 24 statements built from a vocabulary
 * of identifiers), one in 8 is a header and one in 16 Markdown prose, so
 * the chunker and tokenizer see what they see in real code: repeated
 * keywords, a long tail of identifiers, comments. Function j of a file at
 * version v is drawn from a stream seeded by (seed, i, j, v / (j + 1)): a
 * new version rewrites function 0 and, less and less often, the later
 * ones, as edits do.
 *
 * Threads: one tree is used by one thread.
 */
#include "soak.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

static const char *const AREAS[] = {"net",  "store", "index", "cli",   "auth", "sync",
                                    "util", "proto", "cache", "sched", "log",  "fs",
                                    "http", "json",  "crypt", "test"};
static const char *const WORDS[] = {
    "buffer", "parse",  "config", "node",   "index",  "entry",  "token",  "stream", "batch",
    "commit", "flush",  "reader", "writer", "cursor", "page",   "block",  "table",  "key",
    "value",  "length", "offset", "count",  "state",  "event",  "queue",  "worker", "lock",
    "slot",   "hash",   "chunk",  "path",   "name",   "limit",  "error",  "status", "reply",
    "query",  "score",  "term",   "doc",    "merge",  "split",  "scan",   "seek",   "open",
    "close",  "retry",  "timer",  "delay",  "window", "peer",   "frame",  "header", "body",
    "cache",  "evict",  "pool",   "arena",  "ref",    "owner",  "filter", "match",  "encode",
    "decode", "verify", "digest", "sign",   "shard",  "replica"};
#define N_AREAS (sizeof AREAS / sizeof AREAS[0])
#define N_WORDS (sizeof WORDS / sizeof WORDS[0])

/* ---- text building ---- */

typedef struct text {
    char *p;
    size_t len, cap;
} text_t;

static void add(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(text_t *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        t->cap = t->cap * 2 + (size_t)n + 64;
        t->p = realloc(t->p, t->cap);
        if (t->p == NULL)
            abort();
    }
}

static const char *word(uint64_t *rng)
{
    return WORDS[bench_splitmix64(rng) % N_WORDS];
}

static uint64_t stream_for(uint64_t seed, int file, int part, int version)
{
    uint64_t s = seed ^ ((uint64_t)file << 20) ^ ((uint64_t)part << 8) ^ ((uint64_t)version << 40);
    bench_splitmix64(&s);
    return s;
}

/* One statement line (or two) of a function body. */
static void statement(text_t *t, uint64_t *rng)
{
    const char *a = word(rng), *b = word(rng), *c = word(rng);
    int k = (int)(bench_splitmix64(rng) % 100);
    switch (bench_splitmix64(rng) % 6) {
    case 0:
        add(t, "    %s_%s = %s_%s(%s, %d);\n", a, b, b, c, a, k);
        break;
    case 1:
        add(t, "    if (%s == NULL || %s->%s_%s > %d)\n        return -%d;\n", a, a, b, c, k,
            k % 7 + 1);
        break;
    case 2:
        add(t, "    for (size_t i = 0; i < %s->%s; i++)\n        %s[i] = %s_%s(%s, i);\n", a, c, b,
            a, c, b);
        break;
    case 3:
        add(t, "    /* %s the %s before the %s is %s */\n", a, b, c, word(rng));
        break;
    case 4:
        add(t, "    %s->%s_%s += %s;\n", a, b, c, word(rng));
        break;
    default:
        add(t, "    log_%s(\"%s %s: %%d\", %s_%s);\n", a, b, c, c, a);
        break;
    }
}

static void function(text_t *t, uint64_t rng, const char *module)
{
    const char *verb = word(&rng), *noun = word(&rng);
    add(t, "/* %s_%s_%s: %s every %s of the %s, then %s it. */\n", module, verb, noun, verb, noun,
        word(&rng), word(&rng));
    add(t, "int %s_%s_%s(struct %s *%s, size_t %s)\n{\n", module, verb, noun, module, noun,
        word(&rng));
    int lines = 4 + (int)(bench_splitmix64(&rng) % 21);
    for (int i = 0; i < lines; i++)
        statement(t, &rng);
    add(t, "    return 0;\n}\n\n");
}

static void c_file(text_t *t, const soak_tree_t *tr, int i, bool header)
{
    uint64_t rng = stream_for(tr->seed, i, 0, 0);
    const char *module = AREAS[(unsigned)i % N_AREAS];
    add(t, "/* %s_%d.%s - the %s %s of the %s layer.\n *\n * DESIGN: %s %s %s.\n */\n", module, i,
        header ? "h" : "c", word(&rng), word(&rng), module, word(&rng), word(&rng), word(&rng));
    add(t, "#include <stddef.h>\n#include \"%s/%s.h\"\n\n", module, word(&rng));
    add(t, "struct %s {\n", module);
    for (int f = 0; f < 3 + (int)(bench_splitmix64(&rng) % 6); f++)
        add(t, "    size_t %s_%s;\n", word(&rng), word(&rng));
    add(t, "};\n\n");
    int funcs = header ? 1 : 2 + (int)(bench_splitmix64(&rng) % 11);
    int v = tr->version[i];
    for (int j = 0; j < funcs; j++)
        function(t, stream_for(tr->seed, i, j + 1, v / (j + 1)), module);
}

static void md_file(text_t *t, const soak_tree_t *tr, int i)
{
    uint64_t rng = stream_for(tr->seed, i, 0, tr->version[i]);
    add(t, "# The %s %s\n\n", word(&rng), word(&rng));
    int paras = 2 + (int)(bench_splitmix64(&rng) % 6);
    for (int p = 0; p < paras; p++) {
        int words = 30 + (int)(bench_splitmix64(&rng) % 60);
        for (int w = 0; w < words; w++)
            add(t, "%s%s", word(&rng), w % 12 == 11 ? "\n" : " ");
        add(t, "\n\n");
    }
}

/* ---- files ---- */

static void file_path(char *buf, size_t size, const soak_tree_t *t, int i, bool mkdirs)
{
    const char *area = AREAS[(unsigned)i % N_AREAS];
    int module = (i / (int)N_AREAS) % 8;
    const char *ext = i % 16 == 5 ? "md" : i % 8 == 3 ? "h" : "c";
    snprintf(buf, size, "%s/%s", t->root, area);
    if (mkdirs)
        mkdir(buf, 0755);
    snprintf(buf, size, "%s/%s/mod%d", t->root, area, module);
    if (mkdirs)
        mkdir(buf, 0755);
    snprintf(buf, size, "%s/%s/mod%d/%s_%d.%s", t->root, area, module, area, i, ext);
}

static int write_file(const soak_tree_t *t, int i)
{
    char path[4096];
    file_path(path, sizeof path, t, i, true);
    text_t text = {0};
    if (i % 16 == 5)
        md_file(&text, t, i);
    else
        c_file(&text, t, i, i % 8 == 3);
    FILE *f = fopen(path, "w");
    size_t wrote = f != NULL ? fwrite(text.p, 1, text.len, f) : 0;
    int rc = f != NULL && fclose(f) == 0 && wrote == text.len ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "soak: write %s: %s\n", path, strerror(errno));
    free(text.p);
    return rc;
}

static int add_slot(soak_tree_t *t)
{
    if (t->n == t->cap) {
        t->cap = t->cap != 0 ? t->cap * 2 : 1024;
        t->version = realloc(t->version, (size_t)t->cap * sizeof *t->version);
        if (t->version == NULL)
            abort();
    }
    t->version[t->n] = 0;
    t->live++;
    return t->n++;
}

int soak_tree_create(soak_tree_t *t, const char *root, int n_files, uint64_t seed)
{
    memset(t, 0, sizeof *t);
    t->root = bench_xstrdup(root);
    t->seed = seed;
    if (bench_rmtree(root) != 0 || bench_mkdir(root) != 0) {
        fprintf(stderr, "soak: cannot make %s\n", root);
        return -1;
    }
    for (int i = 0; i < n_files; i++)
        if (write_file(t, add_slot(t)) != 0)
            return -1;
    return 0;
}

/* A random existing file, or -1 when there is none. */
static int pick_live(soak_tree_t *t, uint64_t *rng)
{
    for (int tries = 0; tries < 64 && t->live > 0; tries++) {
        int i = (int)(bench_splitmix64(rng) % (uint64_t)t->n);
        if (t->version[i] >= 0)
            return i;
    }
    return -1;
}

int soak_tree_change(soak_tree_t *t, int minute, int *modified, int *added, int *deleted)
{
    uint64_t rng = stream_for(t->seed, minute, 0x7e, 1);
    int n_mod = t->live / 100 + 1, n_churn = t->live / 200 + 1;
    *modified = *added = *deleted = 0;
    for (int k = 0; k < n_mod; k++) {
        int i = pick_live(t, &rng);
        if (i < 0)
            break;
        t->version[i]++;
        if (write_file(t, i) != 0)
            return -1;
        (*modified)++;
    }
    for (int k = 0; k < n_churn; k++) {
        int i = pick_live(t, &rng);
        char path[4096];
        if (i < 0)
            break;
        file_path(path, sizeof path, t, i, false);
        if (unlink(path) != 0) {
            fprintf(stderr, "soak: unlink %s: %s\n", path, strerror(errno));
            return -1;
        }
        t->version[i] = -1;
        t->live--;
        (*deleted)++;
    }
    for (int k = 0; k < n_churn; k++) {
        if (write_file(t, add_slot(t)) != 0)
            return -1;
        (*added)++;
    }
    return 0;
}

void soak_tree_cleanup(soak_tree_t *t)
{
    free(t->root);
    free(t->version);
    memset(t, 0, sizeof *t);
}
