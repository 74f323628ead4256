/* fuzz_ignore.c - libFuzzer target: the .gitignore matcher (ignore.h).
 *
 * DESIGN: the input is sections separated by 0xFF bytes (a byte that no
 * UTF-8 text holds, so rule text may still carry NULs and CRs): every
 * section but the last is the text of one ignore file, pushed as the
 * walker would push them on its way down (bases "", "src", "src/lib",
 * "src/lib/deep" and so on, see `bases`); the last section is paths, one a
 * line, matched against the rules in force (a path ending in '/' is a
 * directory, as are all paths when the first byte of the input is odd).
 * Checks, beyond no crash, leak, UB or runaway backtracking (libFuzzer's
 * -timeout):
 *   - a root rule "*" pushed last ignores every non-empty path, and "!*"
 *     after it re-includes every one;
 *   - an anchored rule spelling the path with every byte escaped ignores
 *     exactly that path, and its negation re-includes it;
 *   - push and pop keep mnemo_ignore_depth, and destroy frees every set.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "ignore.h"

#define SEP       0xFF
#define MAX_SETS  8
#define MAX_PATHS 64

static const char *const bases[MAX_SETS] = {
    "", "src", "src/lib", "src/lib/deep", "src/lib/deep/a", "src/lib/deep/a/b", "x", "x/y",
};

/* Matches relpath with rule (one line, no '\n') pushed last, at the root;
 * pops it again. */
static bool match_with(mnemo_ignore_t *ig, const char *rule, size_t len, const char *relpath,
                       bool is_dir)
{
    size_t depth = mnemo_ignore_depth(ig);
    mnemo_ignore_push(ig, "", rule, len);
    FUZZ_CHECK(mnemo_ignore_depth(ig) == depth + 1);
    bool hit = mnemo_ignore_match(ig, relpath, is_dir);
    mnemo_ignore_pop(ig);
    FUZZ_CHECK(mnemo_ignore_depth(ig) == depth);
    return hit;
}

/* "/" + relpath with every byte escaped (or "!/" + ... when negate): a
 * literal pattern anchored at the root. NULL when a rule cannot spell it:
 * too long, with a '\r' (a rule line loses one at its end) or ending in
 * '/' (a rule's trailing '/' means "directories only", escaped or not). */
static char *literal_rule(const char *relpath, bool negate, size_t *len)
{
    size_t n = strlen(relpath);
    if (n == 0 || n > 2000 || strchr(relpath, '\r') != NULL || relpath[n - 1] == '/')
        return NULL;
    char *rule = malloc(2 * n + 3);
    FUZZ_CHECK(rule != NULL);
    size_t k = 0;
    if (negate)
        rule[k++] = '!';
    rule[k++] = '/';
    for (size_t i = 0; i < n; i++) {
        rule[k++] = '\\';
        rule[k++] = relpath[i];
    }
    *len = k;
    return rule;
}

static void check_path(mnemo_ignore_t *ig, const char *relpath, bool is_dir)
{
    (void)mnemo_ignore_match(ig, relpath, is_dir);
    if (relpath[0] == '\0')
        return;
    FUZZ_CHECK(match_with(ig, "*", 1, relpath, is_dir));
    mnemo_ignore_push(ig, "", "*", 1);
    FUZZ_CHECK(!match_with(ig, "!*", 2, relpath, is_dir));
    mnemo_ignore_pop(ig);

    size_t len = 0;
    char *rule = literal_rule(relpath, false, &len);
    if (rule == NULL)
        return;
    FUZZ_CHECK(match_with(ig, rule, len, relpath, is_dir));
    free(rule);
    rule = literal_rule(relpath, true, &len);
    mnemo_ignore_push(ig, "", "*", 1);
    FUZZ_CHECK(!match_with(ig, rule, len, relpath, is_dir));
    mnemo_ignore_pop(ig);
    free(rule);
}

/* Matches each line of paths[0..len). */
static void check_paths(mnemo_ignore_t *ig, const char *paths, size_t len, bool all_dirs)
{
    size_t count = 0;
    while (len > 0 && count++ < MAX_PATHS) {
        const char *nl = memchr(paths, '\n', len);
        size_t n = nl != NULL ? (size_t)(nl - paths) : len;
        char *path = strndup(paths, n); /* an embedded NUL ends it */
        FUZZ_CHECK(path != NULL);
        size_t plen = strlen(path);
        bool is_dir = all_dirs || (plen > 0 && path[plen - 1] == '/');
        if (plen > 0 && path[plen - 1] == '/')
            path[plen - 1] = '\0'; /* the walker names a directory without it */
        check_path(ig, path, is_dir);
        free(path);
        paths += n;
        len -= n;
        if (len > 0) {
            paths++;
            len--;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    bool all_dirs = (data[0] & 1) != 0;
    const char *p = (const char *)data + 1;
    size_t left = size - 1;
    mnemo_ignore_t *ig = mnemo_ignore_create();
    size_t sets = 0;
    const char *sep;
    while ((sep = memchr(p, SEP, left)) != NULL) {
        size_t n = (size_t)(sep - p);
        mnemo_ignore_push(ig, bases[sets % MAX_SETS], p, n);
        FUZZ_CHECK(mnemo_ignore_depth(ig) == ++sets);
        p += n + 1;
        left -= n + 1;
    }
    check_paths(ig, p, left, all_dirs);
    FUZZ_CHECK(mnemo_ignore_depth(ig) == sets);
    if (sets > 0) { /* destroy pops the rest */
        mnemo_ignore_pop(ig);
        FUZZ_CHECK(mnemo_ignore_depth(ig) == sets - 1);
    }
    mnemo_ignore_destroy(ig);
    return 0;
}
