/* synctree.c - see synctree.h. */
#include "synctree.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <grpc/status.h>

#include "itest.h"

void synctree_ident(char out[64], const char *tag, int i)
{
    snprintf(out, 64, "%s%05dq", tag, i);
}

/* A small C file whose identifier sits on line SYNCTREE_IDENT_LINE. */
void synctree_write_source(const char *path, const char *tag, int i)
{
    char id[64], text[512];
    synctree_ident(id, tag, i);
    snprintf(text, sizeof text,
             "/* generated file %d of tree %s: sharedword */\n"
             "#include <stdio.h>\n"
             "\n"
             "int %s(int x)\n"
             "{\n"
             "    return x * %d + 1;\n"
             "}\n",
             i, tag, id, i);
    CHECK(mnemo_test_write_file(path, text, strlen(text)) == 0, "write %s", path);
}

void synctree_write_flat(const char *dir, const char *tag, int n)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        CHECK(false, "mkdir %s: %s", dir, strerror(errno));
    for (int i = 0; i < n; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/f%04d.c", dir, i);
        synctree_write_source(path, tag, i);
    }
}

Mnemo__V1__SearchCodeResponse *synctree_search(mnemo_client_t *c, const char *query,
                                               const char *repo, const char *prefix, int limit)
{
    Mnemo__V1__SearchCodeRequest req = MNEMO__V1__SEARCH_CODE_REQUEST__INIT;
    req.query = (char *)query;
    req.repository_name = (char *)(repo != NULL ? repo : "");
    req.path_prefix = (char *)(prefix != NULL ? prefix : "");
    req.limit = limit;
    Mnemo__V1__SearchCodeResponse *out = NULL;
    mnemo_call_error_t err;
    int st = mnemo_client_search_code(&out, c, &req, &err);
    EXPECT_STATUS("SearchCode", st, err.message, GRPC_STATUS_OK, NULL);
    return out;
}

typedef struct hit_set {
    Mnemo__V1__SearchCodeResponse *resp;
    const Mnemo__V1__CodeHit **sorted;
} hit_set_t;

static int hit_cmp(const void *a, const void *b)
{
    const Mnemo__V1__CodeHit *x = *(const Mnemo__V1__CodeHit *const *)a;
    const Mnemo__V1__CodeHit *y = *(const Mnemo__V1__CodeHit *const *)b;
    int c = strcmp(x->path, y->path);
    return c != 0 ? c : x->start_line - y->start_line;
}

static hit_set_t hit_set(mnemo_client_t *c, const char *query, const char *repo)
{
    hit_set_t s = {synctree_search(c, query, repo, NULL, 1000), NULL};
    if (s.resp != NULL) {
        s.sorted = calloc(s.resp->n_hits + 1, sizeof *s.sorted);
        memcpy(s.sorted, s.resp->hits, s.resp->n_hits * sizeof *s.sorted);
        qsort(s.sorted, s.resp->n_hits, sizeof *s.sorted, hit_cmp);
    }
    return s;
}

static void hit_set_free(hit_set_t *s)
{
    free(s->sorted);
    mnemo_client_free_message(s->resp);
}

static bool same_hit(const Mnemo__V1__CodeHit *h, const Mnemo__V1__CodeHit *k)
{
    return strcmp(h->path, k->path) == 0 && h->start_line == k->start_line &&
           h->end_line == k->end_line && strcmp(h->content, k->content) == 0 &&
           fabs(h->score - k->score) <= 1e-9 * fmax(1.0, fabs(k->score));
}

int synctree_expect_same_hits(mnemo_client_t *a, mnemo_client_t *b, const char *query,
                              const char *repo, size_t want)
{
    hit_set_t x = hit_set(a, query, repo), y = hit_set(b, query, repo);
    int diff = -1;
    if (x.resp != NULL && y.resp != NULL &&
        CHECK(x.resp->n_hits == want && y.resp->n_hits == want,
              "\"%s\": %zu hits after the crash, %zu clean (want %zu)", query, x.resp->n_hits,
              y.resp->n_hits, want)) {
        diff = 0;
        for (size_t i = 0; i < want; i++) {
            const Mnemo__V1__CodeHit *h = x.sorted[i], *k = y.sorted[i];
            if (!same_hit(h, k) && diff++ < 3)
                CHECK(false,
                      "\"%s\" hit %zu: %s:%d-%d score %.12f vs clean %s:%d-%d score "
                      "%.12f",
                      query, i, h->path, h->start_line, h->end_line, h->score, k->path,
                      k->start_line, k->end_line, k->score);
        }
        CHECK(diff == 0, "\"%s\": resumed index equals a clean one (%d differences)", query, diff);
    }
    hit_set_free(&x);
    hit_set_free(&y);
    return diff;
}

int synctree_expect_same_search(mnemo_client_t *a, mnemo_client_t *b, const char *repo,
                                const char *tag, int n)
{
    int differed = 0;
    differed += synctree_expect_same_hits(a, b, "sharedword", repo, (size_t)n) != 0;
    differed += synctree_expect_same_hits(a, b, "generated file tree", repo, (size_t)n) != 0;
    for (int i = 0; i < n; i += 37) {
        char id[64];
        synctree_ident(id, tag, i);
        differed += synctree_expect_same_hits(a, b, id, repo, 1) != 0;
    }
    return differed;
}
