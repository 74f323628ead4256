/* repair.c - `mnemod repair` (see repair.h): LevelDB's repairer on each
 * store, then each store's consistency pass, then the report.
 *
 * DESIGN: every LevelDB repair runs before any store is opened or
 * created, so that a data dir held by a running mnemod is refused before
 * anything in it changed (the repair of the first store already finds the
 * lock held). The consistency passes then run one store at a time, each
 * on a store opened only for it. The report is printed from the struct
 * alone, so what tests check is what people read.
 *
 * Threads: one thread (mnemod's main).
 */
#include "repair.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bytes.h"
#include "datadir.h"
#include "pagetoken.h"
#include "store.h"

static const char *const store_names[] = {"memories", "code"};
#define N_STORES 2

/* MNEMO_ENOTFOUND naming path unless it is a directory that a mnemod made:
 * with its marker or one of its stores (repair must not create stores in
 * a directory given by mistake). */
static mnemo_status_t check_dir(const char *path, mnemo_err_t *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return mnemo_err_set(err, MNEMO_ENOTFOUND, "data dir %s: %s", path, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return mnemo_err_set(err, MNEMO_ENOTFOUND, "data dir %s: not a directory", path);
    char sub[4200];
    bool known = false;
    const char *const names[] = {MNEMO_DATADIR_MARKER, store_names[0], store_names[1]};
    for (size_t i = 0; i < 3 && !known; i++) {
        snprintf(sub, sizeof sub, "%s/%s", path, names[i]);
        known = stat(sub, &sb) == 0;
    }
    if (!known)
        return mnemo_err_set(err, MNEMO_ENOTFOUND,
                             "data dir %s: not a mnemo data dir (no %s marker, no memories/ or "
                             "code/): nothing to repair",
                             path, MNEMO_DATADIR_MARKER);
    return MNEMO_OK;
}

/* Counts the files in <store>/lost/ by kind, where LevelDB's repairer
 * moves what it replaced or could not read. */
static void count_lost(mnemo_repair_store_t *s, const char *store_dir, int sign)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/lost", store_dir);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        const char *dot = strrchr(e->d_name, '.');
        size_t *kind = &s->lost_other;
        if (e->d_name[0] == '.')
            continue;
        if (strncmp(e->d_name, "MANIFEST-", 9) == 0)
            kind = &s->lost_manifests;
        else if (dot != NULL && strcmp(dot, ".log") == 0)
            kind = &s->lost_logs;
        else if (dot != NULL && (strcmp(dot, ".ldb") == 0 || strcmp(dot, ".sst") == 0))
            kind = &s->lost_tables;
        *kind += (size_t)sign; /* -1 before the repair, +1 after: what it added */
    }
    if (d != NULL)
        closedir(d);
}

/* The options store s is opened and repaired with, as mnemod opens it. */
static mnemo_store_options_t store_options(mnemo_repair_report_t *r, const mnemo_repair_store_t *s)
{
    mnemo_store_options_t opts = {0};
    if (s == &r->memories_store)
        mnemo_memories_store_options(&opts);
    return opts;
}

/* LevelDB's repairer on every store; a store without LevelDB files is
 * marked for creation. */
static mnemo_status_t repair_files(mnemo_repair_report_t *r, mnemo_repair_store_t *stores[],
                                   bool marked, mnemo_err_t *err)
{
    for (size_t i = 0; i < N_STORES; i++) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/%s", r->data_dir, stores[i]->name);
        mnemo_err_t why;
        count_lost(stores[i], dir, -1);
        const mnemo_store_options_t opts = store_options(r, stores[i]);
        mnemo_status_t st = mnemo_store_repair(dir, &opts, &stores[i]->findings, &why);
        if (st == MNEMO_ENOTFOUND) {
            stores[i]->recreated = true;
            stores[i]->was_marked = marked;
        } else if (st == MNEMO_EUNAVAIL) {
            return mnemo_err_set(err, st,
                                 "%s (a running mnemod?): stop it first, then run repair "
                                 "again%s",
                                 why.msg, i == 0 ? "; nothing was changed" : "");
        } else if (st != MNEMO_OK) {
            return mnemo_err_set(err, st, "the %s store: %s", stores[i]->name, why.msg);
        }
        count_lost(stores[i], dir, +1);
        stores[i]->log_dropped =
            stores[i]->findings != NULL && strstr(stores[i]->findings, ": dropping ") != NULL;
    }
    return MNEMO_OK;
}

/* Replaces a page token key that does not read (wrong length). */
static mnemo_status_t check_token_key(mnemo_store_t *store, bool *reset, mnemo_err_t *err)
{
    mnemo_pagetoken_key_t key;
    mnemo_status_t st = mnemo_pagetoken_key_load(&key, store, err);
    if (st != MNEMO_ECORRUPT)
        return st;
    mnemo_store_batch_t *batch = mnemo_store_batch_create();
    mnemo_store_batch_delete(batch, MNEMO_PAGETOKEN_KEY_RECORD,
                             sizeof MNEMO_PAGETOKEN_KEY_RECORD - 1);
    st = mnemo_store_write(store, batch, true, err);
    mnemo_store_batch_destroy(batch);
    *reset = true;
    return st == MNEMO_OK ? mnemo_pagetoken_key_load(&key, store, err) : st;
}

/* Opens store s (creating it when it was missing) and runs its pass. */
static mnemo_status_t repair_store(mnemo_repair_report_t *r, mnemo_repair_store_t *s,
                                   mnemo_err_t *err)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/%s", r->data_dir, s->name);
    mnemo_store_t *store = NULL;
    mnemo_err_t why;
    const mnemo_store_options_t opts = store_options(r, s);
    mnemo_status_t st = mnemo_store_open(&store, dir, &opts, &why);
    if (st == MNEMO_OK)
        st = check_token_key(store, &s->token_key_reset, &why);
    if (st == MNEMO_OK && s == &r->memories_store)
        st = mnemo_memories_repair(&r->memories, store, &why);
    else if (st == MNEMO_OK)
        st = mnemo_repos_repair(&r->code, store, &why);
    mnemo_store_close(store);
    if (st != MNEMO_OK)
        return mnemo_err_set(err, st, "the %s store: %s", s->name, why.msg);
    return MNEMO_OK;
}

mnemo_status_t mnemo_repair_run(mnemo_repair_report_t *out, const char *data_dir, mnemo_err_t *err)
{
    assert(out != NULL && data_dir != NULL);
    mnemo_status_t st = check_dir(data_dir, err);
    if (st != MNEMO_OK)
        return st;
    mnemo_repair_report_t *r = mnemo_xcalloc(1, sizeof *r);
    snprintf(r->data_dir, sizeof r->data_dir, "%s", data_dir);
    r->memories_store.name = store_names[0];
    r->code_store.name = store_names[1];
    mnemo_repair_store_t *stores[N_STORES] = {&r->memories_store, &r->code_store};
    bool marked = false;
    mnemo_err_t ignored; /* a missing store is what repair is for; a bad marker is rewritten */
    mnemo_datadir_check(&marked, data_dir, store_names, N_STORES, &ignored);
    st = repair_files(r, stores, marked, err);
    for (size_t i = 0; st == MNEMO_OK && i < N_STORES; i++)
        st = repair_store(r, stores[i], err);
    if (st == MNEMO_OK)
        st = mnemo_datadir_mark(data_dir, store_names, N_STORES, err);
    if (st != MNEMO_OK) {
        mnemo_repair_report_cleanup(r);
        free(r);
        return st;
    }
    *out = *r;
    free(r);
    return MNEMO_OK;
}

/* ---- the printed report ---- */

/* n with thousands separators ("3,120") into buf. */
static const char *num(char buf[32], uint64_t n)
{
    char digits[24];
    int len = snprintf(digits, sizeof digits, "%" PRIu64, n);
    size_t o = 0;
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

/* Prints sep, then "N thing(s) why", when n > 0; the separator for the next. */
static const char *part(FILE *f, const char *sep, size_t n, const char *one, const char *many,
                        const char *why)
{
    if (n == 0)
        return sep;
    fprintf(f, "%s%zu %s%s%s", sep, n, n == 1 ? one : many, why[0] != '\0' ? " " : "", why);
    return ", ";
}

static void print_files(const mnemo_repair_report_t *r, const mnemo_repair_store_t *s, FILE *f)
{
    if (s->recreated) {
        fprintf(f, "%s store: %s/%s was missing (no LevelDB files): created empty\n", s->name,
                r->data_dir, s->name);
        return;
    }
    if (s->findings == NULL) {
        fprintf(f, "%s store: LevelDB found nothing damaged\n", s->name);
    } else {
        fprintf(f, "%s store: LevelDB found:\n", s->name);
        for (const char *p = s->findings; *p != '\0';) {
            size_t n = strcspn(p, "\n");
            fprintf(f, "  %.*s\n", (int)n, p);
            p += n + (p[n] == '\n');
        }
    }
    if (s->lost_logs + s->lost_manifests + s->lost_tables + s->lost_other > 0) {
        fprintf(f, "%s store: set aside in %s/%s/lost:", s->name, r->data_dir, s->name);
        const char *sep = " ";
        sep = part(f, sep, s->lost_logs, "log", "logs", "(intact records kept)");
        sep = part(f, sep, s->lost_manifests, "MANIFEST", "MANIFESTs", "(rebuilt)");
        sep = part(f, sep, s->lost_tables, "damaged table", "damaged tables",
                   "(readable entries kept)");
        part(f, sep, s->lost_other, "other file", "other files", "");
        fprintf(f, "; delete them once you are satisfied\n");
    }
    if (s->token_key_reset)
        fprintf(f,
                "%s store: its page token key was damaged and was replaced: page tokens "
                "issued before are refused (list again from the start)\n",
                s->name);
}

static void print_memories(const mnemo_repair_report_t *r, FILE *f)
{
    const mnemo_memories_repair_t *m = &r->memories;
    const mnemo_repair_store_t *s = &r->memories_store;
    char a[32], b[32];
    if (s->recreated) {
        fprintf(f, "memories: kept 0, %s\n",
                s->was_marked ? "all memories lost (the store was missing)"
                              : "lost 0 (the store was new)");
    } else {
        fprintf(f, "memories: kept %s, lost %s%s", num(a, m->kept),
                s->log_dropped ? "at least " : "", num(b, m->lost + m->untraced));
        for (uint64_t i = 0; i < m->lost; i++)
            fprintf(f, "%s%s", i > 0 ? ", " : " (ids: ", m->lost_ids[i]);
        if (m->lost > 0)
            fprintf(f, ")");
        if (m->untraced > 0)
            fprintf(f, "; %s of them left no trace but the store's counts (ids unknown)",
                    num(a, m->untraced));
        fprintf(f, "\n");
    }
    if (s->log_dropped)
        fprintf(f, "memories: LevelDB dropped damaged parts of a log: what was written there "
                   "(memories stored, tags added, deletions) is gone, and not every memory "
                   "stored there can be counted\n");
    if (m->uncounted > 0)
        fprintf(f,
                "memories: %s more than the store counted: deletions made just before the "
                "damage may have been undone, or be listed as lost above\n",
                num(a, m->uncounted));
    if (m->entries_restored + m->entries_removed > 0)
        fprintf(f, "memories: %s tag or time entries restored, %s removed\n",
                num(a, m->entries_restored), num(b, m->entries_removed));
    fprintf(f, "index: rebuilt from %s memories\n", num(a, m->kept));
}

static void print_code(const mnemo_repair_report_t *r, FILE *f)
{
    const mnemo_repos_repair_t *c = &r->code;
    size_t kept = 0, marked = 0;
    for (size_t i = 0; i < c->n_repos; i++) {
        kept += !c->repos[i].removed;
        marked += !c->repos[i].removed && c->repos[i].files_damaged > 0;
    }
    char a[32], b[32], d[32], e[32];
    if (r->code_store.recreated && r->code_store.was_marked)
        fprintf(f, "code: the whole code index was lost (the store was missing): sync every "
                   "repository again\n");
    fprintf(f, "code: %zu repositories kept, %zu marked for re-sync%s", kept, marked,
            marked > 0 ? ":" : "");
    for (size_t i = 0, k = 0; i < c->n_repos; i++) {
        const mnemo_repo_repair_t *p = &c->repos[i];
        if (p->removed || p->files_damaged == 0)
            continue;
        fprintf(f, "%s %s (%s of %s chunks damaged, in %s of %s files)", k++ > 0 ? "," : "",
                p->name, num(a, (uint64_t)p->chunks_damaged), num(b, (uint64_t)p->chunks),
                num(d, (uint64_t)p->files_damaged), num(e, (uint64_t)p->files));
    }
    fprintf(f, "\n");
    if (marked > 0)
        fprintf(f, "code: the damaged files were dropped from the index; the next sync of each "
                   "marked repository reads them again\n");
    for (size_t i = 0; i < c->n_repos; i++) {
        const mnemo_repo_repair_t *p = &c->repos[i];
        if (p->removed)
            fprintf(f,
                    "code: repository %s lost its record: its %s files and %s chunks were "
                    "removed; sync it again by path to restore it\n",
                    p->name, num(a, (uint64_t)p->files), num(b, (uint64_t)p->chunks));
    }
    if (c->stray_chunks > 0)
        fprintf(f, "code: %s chunks of no file removed\n", num(a, (uint64_t)c->stray_chunks));
    fprintf(f, "code index: rebuilt from %s chunks\n", num(a, (uint64_t)c->chunks_indexed));
}

void mnemo_repair_print(const mnemo_repair_report_t *r, FILE *f)
{
    fprintf(f, "mnemod repair: data dir %s\n", r->data_dir);
    print_files(r, &r->memories_store, f);
    print_memories(r, f);
    print_files(r, &r->code_store, f);
    print_code(r, f);
    fprintf(f, "the data dir is consistent: mnemod can start\n");
}

void mnemo_repair_report_cleanup(mnemo_repair_report_t *r)
{
    if (r == NULL)
        return;
    free(r->memories_store.findings);
    free(r->code_store.findings);
    r->memories_store.findings = NULL;
    r->code_store.findings = NULL;
    mnemo_memories_repair_cleanup(&r->memories);
    mnemo_repos_repair_cleanup(&r->code);
}
