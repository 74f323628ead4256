/* corpus.c - the memories and queries of the benchmark, from the Debian
 * changelogs every Debian machine has.
 *
 * DESIGN: one memory per changelog bullet. In a changelog.Debian file a
 * bullet starts with "  * " and continues on the following lines indented
 * by four or more spaces (sub-bullets "    - " included); it ends at a
 * blank line, the next bullet, a "  [ Name ]" header or the " -- " trailer.
 * Its text is the bullet without the "* ", every line trimmed, joined with
 * single spaces. Bullets are short real texts (median ~60 bytes), which is
 * what agents store as memories. The same text appears in many packages
 * ("New upstream release."): only the first occurrence is kept, since mnemo
 * ids are content hashes and both stores must hold the same documents.
 * Texts that are not valid UTF-8 (old Latin-1 changelogs) are dropped: mnemo
 * refuses them by contract. Files are read in sorted path order through
 * `gzip -dc`, so the corpus is the same on every run of one machine.
 *
 * Queries: BENCH_N_QUERIES from a fixed-seed splitmix64 stream; each picks a
 * random entry and takes 2 or 3 consecutive words of it (ASCII letters, 3 to
 * 20 of them, lowercased), so every query matches at least one document and
 * both engines tokenize it the same way.
 *
 * Threads: main thread only.
 */
#include "bench.h"

#include <ctype.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* ---- growable byte buffer ---- */

typedef struct buf {
    char *p;
    size_t len, cap;
} buf_t;

static void buf_add(buf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        while (b->len + n + 1 > b->cap)
            b->cap = b->cap != 0 ? b->cap * 2 : 1 << 16;
        b->p = realloc(b->p, b->cap);
        if (b->p == NULL)
            abort();
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* ---- a set of strings, for dedup ---- */

typedef struct strset {
    char **slots;
    size_t cap, count;
} strset_t;

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

/* True when s was new (it is then kept, as a copy). */
static bool strset_add(strset_t *set, const char *s, size_t n)
{
    if ((set->count + 1) * 2 > set->cap) {
        size_t cap = set->cap != 0 ? set->cap * 2 : 1 << 16;
        char **slots = calloc(cap, sizeof *slots);
        if (slots == NULL)
            abort();
        for (size_t i = 0; i < set->cap; i++) {
            if (set->slots[i] == NULL)
                continue;
            size_t j = fnv1a(set->slots[i], strlen(set->slots[i])) & (cap - 1);
            while (slots[j] != NULL)
                j = (j + 1) & (cap - 1);
            slots[j] = set->slots[i];
        }
        free(set->slots);
        set->slots = slots;
        set->cap = cap;
    }
    size_t i = fnv1a(s, n) & (set->cap - 1);
    for (; set->slots[i] != NULL; i = (i + 1) & (set->cap - 1)) {
        if (strlen(set->slots[i]) == n && memcmp(set->slots[i], s, n) == 0)
            return false;
    }
    set->slots[i] = bench_xmalloc(n + 1);
    memcpy(set->slots[i], s, n);
    set->slots[i][n] = '\0';
    set->count++;
    return true;
}

static void strset_cleanup(strset_t *set)
{
    for (size_t i = 0; i < set->cap; i++)
        free(set->slots[i]);
    free(set->slots);
}

/* ---- changelog parsing ---- */

typedef struct collector {
    buf_t out; /* entries, NUL-separated */
    buf_t cur; /* the bullet being read */
    bool in_bullet;
    strset_t seen;
    size_t n, max;
} collector_t;

static void finish_bullet(collector_t *c)
{
    if (c->in_bullet && c->cur.len > 0 && (c->max == 0 || c->n < c->max) &&
        mnemo_utf8_valid(c->cur.p, c->cur.len) && strset_add(&c->seen, c->cur.p, c->cur.len)) {
        buf_add(&c->out, c->cur.p, c->cur.len + 1); /* with its NUL */
        c->n++;
    }
    c->in_bullet = false;
    c->cur.len = 0;
}

/* Appends text (trimmed) to the current bullet, space-separated. */
static void add_text(collector_t *c, const char *s, size_t n)
{
    while (n > 0 && isspace((unsigned char)*s))
        s++, n--;
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if (n == 0)
        return;
    if (c->cur.len > 0)
        buf_add(&c->cur, " ", 1);
    buf_add(&c->cur, s, n);
}

static void feed_line(collector_t *c, const char *line, size_t n)
{
    if (n >= 4 && memcmp(line, "  * ", 4) == 0) {
        finish_bullet(c);
        c->in_bullet = true;
        add_text(c, line + 4, n - 4);
    } else if (c->in_bullet && n >= 4 && memcmp(line, "    ", 4) == 0) {
        add_text(c, line, n);
    } else {
        finish_bullet(c);
    }
}

static void feed_file(collector_t *c, const char *path)
{
    char *argv[] = {"gzip", "-dc", "--", (char *)path, NULL};
    char *text = NULL;
    size_t len = 0;
    if (bench_run(&text, &len, argv, NULL, false) != 0) {
        free(text);
        return;
    }
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t n = nl != NULL ? (size_t)(nl - (text + i)) : len - i;
        if (memchr(text + i, '\0', n) == NULL)
            feed_line(c, text + i, n);
        i += n + 1;
    }
    finish_bullet(c);
    free(text);
}

/* ---- queries ---- */

/* Words of text (runs of 3..20 ASCII letters) as offsets and lengths. */
static size_t split_words(const char *text, size_t *off, size_t *len, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; text[i] != '\0' && n < max;) {
        if (!isalpha((unsigned char)text[i]) || (unsigned char)text[i] >= 0x80) {
            i++;
            continue;
        }
        size_t j = i;
        while (isalpha((unsigned char)text[j]) && (unsigned char)text[j] < 0x80)
            j++;
        if (j - i >= 3 && j - i <= 20) {
            off[n] = i;
            len[n] = j - i;
            n++;
        }
        i = j;
    }
    return n;
}

static void make_queries(buf_t *q, char **entries, size_t n_entries)
{
    uint64_t rng = BENCH_QUERY_SEED;
    size_t off[64], len[64];
    for (int made = 0; made < BENCH_N_QUERIES && n_entries > 0;) {
        const char *e = entries[bench_splitmix64(&rng) % n_entries];
        size_t nw = split_words(e, off, len, 64);
        size_t k = 2 + bench_splitmix64(&rng) % 2;
        if (nw < k)
            continue;
        size_t start = bench_splitmix64(&rng) % (nw - k + 1);
        for (size_t w = start; w < start + k; w++) {
            for (size_t i = 0; i < len[w]; i++) {
                char ch = (char)tolower((unsigned char)e[off[w] + i]);
                buf_add(q, &ch, 1);
            }
            buf_add(q, w + 1 < start + k ? " " : "\n", 1);
        }
        made++;
    }
}

/* ---- build and load ---- */

static int write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    return fclose(f) == 0 && w == len ? 0 : -1;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    buf_t b = {0};
    char chunk[1 << 16];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_add(&b, chunk, n);
    fclose(f);
    if (b.p == NULL)
        buf_add(&b, "", 0);
    *len = b.len;
    return b.p;
}

/* Pointers to the NUL- (sep 0) or newline-separated (sep '\n') items of
 * data, which is modified in place. */
static char **split_items(char *data, size_t len, char sep, size_t *n)
{
    size_t count = 0;
    for (size_t i = 0; i < len; i++)
        count += data[i] == sep;
    char **items = bench_xmalloc((count + 1) * sizeof *items);
    size_t k = 0, start = 0;
    for (size_t i = 0; i < len; i++) {
        if (data[i] != sep)
            continue;
        data[i] = '\0';
        if (i > start)
            items[k++] = data + start;
        start = i + 1;
    }
    *n = k;
    return items;
}

int bench_corpus_build(const char *dir, int max_entries)
{
    glob_t g;
    if (glob("/usr/share/doc/*/changelog.Debian.gz", 0, NULL, &g) != 0) {
        fprintf(stderr, "corpus: no /usr/share/doc/*/changelog.Debian.gz\n");
        return -1;
    }
    collector_t c = {.max = max_entries > 0 ? (size_t)max_entries : 0};
    for (size_t i = 0; i < g.gl_pathc && (c.max == 0 || c.n < c.max); i++)
        feed_file(&c, g.gl_pathv[i]);
    size_t n_files = g.gl_pathc;
    globfree(&g);

    size_t n = 0;
    char *copy = bench_xmalloc(c.out.len + 1);
    memcpy(copy, c.out.p != NULL ? c.out.p : "", c.out.len);
    char **entries = split_items(copy, c.out.len, '\0', &n);
    buf_t q = {0};
    make_queries(&q, entries, n);
    bench_pathbuf_t pe, pq;
    int rc = write_file(bench_path(&pe, dir, "entries"), c.out.p, c.out.len) == 0 &&
                     write_file(bench_path(&pq, dir, "queries"), q.p, q.len) == 0
                 ? 0
                 : -1;
    bench_log("corpus: %zu unique entries (%zu bytes) from %zu changelogs, %d queries", n,
              c.out.len, n_files, BENCH_N_QUERIES);
    free(entries);
    free(copy);
    free(q.p);
    free(c.out.p);
    free(c.cur.p);
    strset_cleanup(&c.seen);
    return rc;
}

int bench_corpus_load(bench_corpus_t *c, const char *dir)
{
    memset(c, 0, sizeof *c);
    size_t len, qlen;
    bench_pathbuf_t pe, pq;
    c->buf = read_file(bench_path(&pe, dir, "entries"), &len);
    c->qbuf = read_file(bench_path(&pq, dir, "queries"), &qlen);
    if (c->buf == NULL || c->qbuf == NULL) {
        fprintf(stderr, "corpus: cannot read %s/entries or queries (run `corpus` first)\n", dir);
        bench_corpus_cleanup(c);
        return -1;
    }
    c->entries = split_items(c->buf, len, '\0', &c->n_entries);
    c->queries = split_items(c->qbuf, qlen, '\n', &c->n_queries);
    return 0;
}

void bench_corpus_cleanup(bench_corpus_t *c)
{
    free(c->entries);
    free(c->queries);
    free(c->buf);
    free(c->qbuf);
    memset(c, 0, sizeof *c);
}
