/* ignore.c - .gitignore rules in directory-scoped sets, matched with git's
 * wildmatch semantics.
 *
 * DESIGN: a set is the compiled text of one ignore file plus its base.
 * Each line is compiled once at push time, in the order git parses it:
 * comment and blank lines dropped, trailing spaces trimmed unless escaped,
 * '!' read as negation, one trailing '/' read as "directories only", and
 * any other '/' anchoring the pattern to the base (a leading one is then
 * stripped). An unanchored pattern is matched against the last component
 * of a path, an anchored one against the path relative to the base, with a
 * matcher modelled on git's wildmatch.c (WM_PATHNAME): '*', '?' and
 * brackets stop at '/', "**" spans directories only as a whole component,
 * and the ABORT results prune the backtracking so a pattern with many stars
 * stays polynomial. fnmatch(3) is not used: its FNM_PATHNAME has no "**".
 * Matching scans sets from the deepest and rules from the last, so the
 * first hit is the rule git would apply. Patterns longer than
 * MAX_PATTERN bytes, with an embedded NUL or a dangling '\' are dropped
 * (they cannot match a path, and the cap bounds the matcher's recursion).
 * Allocation failure aborts, as elsewhere in the daemon.
 *
 * Threads: an ignore stack belongs to one walk and one thread.
 */
#include "ignore.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"

#define MAX_PATTERN 4096

/* Results of the matcher, as in git's wildmatch.c. */
enum { WM_MATCH, WM_NOMATCH, WM_ABORT_ALL, WM_ABORT_TO_STARSTAR };

typedef struct rule {
    char *pat;     /* NUL-terminated, '!' and the trailing and leading '/' removed */
    bool negate;   /* '!': a match re-includes */
    bool dir_only; /* trailing '/': matches directories only */
    bool anchored; /* contained '/': matches the path relative to the base */
} rule_t;

typedef struct rule_set {
    char *base; /* "" for the root */
    size_t base_len;
    rule_t *rules; /* in file order */
    size_t n_rules;
} rule_set_t;

struct mnemo_ignore {
    rule_set_t *sets; /* [0..n_sets) from the root down */
    size_t n_sets;
    size_t cap_sets;
};

/* ---- the matcher ---- */

static int wild(const unsigned char *pattern, const unsigned char *p, const unsigned char *text);

/* True when c is in the POSIX class name[0..n) (ASCII, as git's sane_ctype);
 * *known is false for a name that is no class. */
static bool in_posix_class(const unsigned char *name, size_t n, unsigned char c, bool *known)
{
    bool upper = c >= 'A' && c <= 'Z', lower = c >= 'a' && c <= 'z';
    bool digit = c >= '0' && c <= '9', alpha = upper || lower;
    bool print = c >= 0x20 && c < 0x7f;
    static const char *const names[] = {"alnum", "alpha", "blank", "cntrl", "digit", "graph",
                                        "lower", "print", "punct", "space", "upper", "xdigit"};
    bool in[] = {alpha || digit,
                 alpha,
                 c == ' ' || c == '\t',
                 c < 0x20 || c == 0x7f,
                 digit,
                 print && c != ' ',
                 lower,
                 print,
                 print && c != ' ' && !alpha && !digit,
                 c == ' ' || (c >= '\t' && c <= '\r'),
                 upper,
                 digit || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strlen(names[i]) == n && memcmp(names[i], name, n) == 0) {
            *known = true;
            return in[i];
        }
    }
    *known = false;
    return false;
}

/* A "[:name:]" at *pp inside a bracket: 1 when it is one (*pp moved to its
 * last ']', *matched updated), 0 when it is a plain '[', -1 when malformed. */
static int posix_class(const unsigned char **pp, unsigned char t, bool *matched)
{
    const unsigned char *s = *pp + 2, *p = s;
    while (*p != '\0' && *p != ']')
        p++;
    if (*p == '\0')
        return -1;
    if (p - s < 1 || p[-1] != ':')
        return 0; /* no ":]": the '[' is an ordinary member */
    bool known;
    if (in_posix_class(s, (size_t)(p - s - 1), t, &known))
        *matched = true;
    if (!known)
        return -1;
    *pp = p;
    return 1;
}

/* Matches t against the bracket expression opening at *pp; leaves *pp on
 * its closing ']'. Never matches '/'. */
static int match_bracket(const unsigned char **pp, unsigned char t)
{
    const unsigned char *p = *pp + 1;
    bool negated = false, matched = false;
    unsigned char c = *p, prev = 0;
    if (c == '!' || c == '^') {
        negated = true;
        c = *++p;
    }
    do { /* the first member may be ']' itself */
        if (c == '\0')
            return WM_ABORT_ALL;
        if (c == '\\') {
            if ((c = *++p) == '\0')
                return WM_ABORT_ALL;
            matched |= t == c;
        } else if (c == '-' && prev != 0 && p[1] != '\0' && p[1] != ']') {
            c = *++p;
            if (c == '\\' && (c = *++p) == '\0')
                return WM_ABORT_ALL;
            matched |= t >= prev && t <= c;
            c = 0; /* a range cannot start a range */
        } else if (c == '[' && p[1] == ':') {
            int r = posix_class(&p, t, &matched);
            if (r < 0)
                return WM_ABORT_ALL;
            if (r > 0)
                c = 0;
            else
                matched |= t == '[';
        } else {
            matched |= t == c;
        }
        prev = c;
        c = *++p;
    } while (c != ']');
    *pp = p;
    return matched == negated || t == '/' ? WM_NOMATCH : WM_MATCH;
}

/* Matches text against the pattern from the star(s) at p on. */
static int match_star(const unsigned char *pattern, const unsigned char *p,
                      const unsigned char *text)
{
    bool match_slash = false;
    bool at_component_start = p == pattern || p[-1] == '/';
    if (p[1] == '*') {
        while (*++p == '*')
            ;
        /* "**" spans directories only as a whole path component */
        if (at_component_start && (*p == '\0' || *p == '/' || (p[0] == '\\' && p[1] == '/'))) {
            if (*p == '/' && wild(pattern, p + 1, text) == WM_MATCH)
                return WM_MATCH; /* zero directories */
            match_slash = true;
        }
    } else {
        p++;
    }
    if (*p == '\0')
        return match_slash || strchr((const char *)text, '/') == NULL ? WM_MATCH : WM_NOMATCH;
    if (!match_slash && *p == '/') { /* "*" + "/": the rest of this component */
        const char *slash = strchr((const char *)text, '/');
        if (slash == NULL)
            return WM_NOMATCH;
        return wild(pattern, p + 1, (const unsigned char *)slash + 1);
    }
    for (unsigned char t = *text; t != '\0'; t = *++text) {
        int r = wild(pattern, p, text);
        if (r != WM_NOMATCH) {
            if (!match_slash || r != WM_ABORT_TO_STARSTAR)
                return r;
        } else if (!match_slash && t == '/') {
            return WM_ABORT_TO_STARSTAR;
        }
    }
    return WM_ABORT_ALL;
}

/* git's dowild() with WM_PATHNAME: matches text against the pattern from p
 * on (pattern is its start, for the "**" component test). */
static int wild(const unsigned char *pattern, const unsigned char *p, const unsigned char *text)
{
    for (; *p != '\0'; text++, p++) {
        unsigned char t = *text;
        if (t == '\0' && *p != '*')
            return WM_ABORT_ALL;
        switch (*p) {
        case '\\':
            if (*++p == '\0')
                return WM_ABORT_ALL;
            if (*p != t)
                return WM_NOMATCH;
            break;
        case '?':
            if (t == '/')
                return WM_NOMATCH;
            break;
        case '[': {
            int r = match_bracket(&p, t);
            if (r != WM_MATCH)
                return r;
            break;
        }
        case '*':
            return match_star(pattern, p, text);
        default:
            if (*p != t)
                return WM_NOMATCH;
        }
    }
    return *text != '\0' ? WM_NOMATCH : WM_MATCH;
}

static bool wildmatch(const char *pattern, const char *text)
{
    const unsigned char *p = (const unsigned char *)pattern;
    return wild(p, p, (const unsigned char *)text) == WM_MATCH;
}

/* ---- compiling a set ---- */

/* Length of line[0..len) without trailing spaces, as git's
 * trim_trailing_spaces(): a space escaped by '\' stays. */
static size_t trim_trailing_spaces(const char *line, size_t len)
{
    size_t end = len;
    bool in_spaces = false;
    for (size_t i = 0; i < len; i++) {
        if (line[i] == ' ') {
            if (!in_spaces)
                end = i;
            in_spaces = true;
            continue;
        }
        if (line[i] == '\\' && ++i == len)
            return len; /* dangling '\': nothing to trim, compile drops it */
        in_spaces = false;
    }
    return in_spaces ? end : len;
}

/* True when s[0..len) ends with an odd run of '\' (escaping nothing). */
static bool dangling_escape(const char *s, size_t len)
{
    size_t n = 0;
    while (n < len && s[len - 1 - n] == '\\')
        n++;
    return n % 2 == 1;
}

/* Compiles one line of an ignore file into r; false when it holds no rule. */
static bool compile_rule(rule_t *r, const char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len == 0 || line[0] == '#')
        return false;
    len = trim_trailing_spaces(line, len);
    *r = (rule_t){0};
    if (len > 0 && line[0] == '!') {
        r->negate = true;
        line++;
        len--;
    }
    if (len > 0 && line[len - 1] == '/') {
        r->dir_only = true;
        len--;
    }
    r->anchored = memchr(line, '/', len) != NULL;
    if (len > 0 && line[0] == '/') {
        line++;
        len--;
    }
    if (len == 0 || len > MAX_PATTERN || memchr(line, '\0', len) != NULL ||
        dangling_escape(line, len))
        return false;
    r->pat = mnemo_xstrndup(line, len);
    return true;
}

/* Compiles every line of text[0..len) into set->rules. */
static void compile_set(rule_set_t *set, const char *text, size_t len)
{
    size_t cap = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) { /* UTF-8 BOM */
        text += 3;
        len -= 3;
    }
    while (len > 0) {
        const char *nl = memchr(text, '\n', len);
        size_t n = nl != NULL ? (size_t)(nl - text) : len;
        rule_t r;
        if (compile_rule(&r, text, n)) {
            if (set->n_rules == cap) {
                cap = cap != 0 ? 2 * cap : 8;
                set->rules = mnemo_xrealloc(set->rules, cap * sizeof *set->rules);
            }
            set->rules[set->n_rules++] = r;
        }
        text += n;
        len -= n;
        if (len > 0) { /* the '\n' */
            text++;
            len--;
        }
    }
}

/* ---- the stack ---- */

mnemo_ignore_t *mnemo_ignore_create(void)
{
    mnemo_ignore_t *ig = mnemo_xrealloc(NULL, sizeof *ig);
    *ig = (mnemo_ignore_t){0};
    return ig;
}

void mnemo_ignore_destroy(mnemo_ignore_t *ig)
{
    if (ig == NULL)
        return;
    while (ig->n_sets > 0)
        mnemo_ignore_pop(ig);
    free(ig->sets);
    free(ig);
}

void mnemo_ignore_push(mnemo_ignore_t *ig, const char *base, const char *text, size_t len)
{
    if (ig->n_sets == ig->cap_sets) {
        ig->cap_sets = ig->cap_sets != 0 ? 2 * ig->cap_sets : 8;
        ig->sets = mnemo_xrealloc(ig->sets, ig->cap_sets * sizeof *ig->sets);
    }
    rule_set_t *set = &ig->sets[ig->n_sets++];
    size_t base_len = strlen(base);
    while (base_len > 0 && base[base_len - 1] == '/')
        base_len--;
    *set = (rule_set_t){.base = mnemo_xstrndup(base, base_len), .base_len = base_len};
    compile_set(set, text != NULL ? text : "", text != NULL ? len : 0);
}

void mnemo_ignore_pop(mnemo_ignore_t *ig)
{
    assert(ig->n_sets > 0);
    if (ig->n_sets == 0)
        return;
    rule_set_t *set = &ig->sets[--ig->n_sets];
    for (size_t i = 0; i < set->n_rules; i++)
        free(set->rules[i].pat);
    free(set->rules);
    free(set->base);
}

size_t mnemo_ignore_depth(const mnemo_ignore_t *ig)
{
    return ig->n_sets;
}

/* relpath relative to set's base, or NULL when it is not below the base. */
static const char *below_base(const rule_set_t *set, const char *relpath)
{
    if (set->base_len == 0)
        return relpath;
    if (strncmp(relpath, set->base, set->base_len) != 0 || relpath[set->base_len] != '/' ||
        relpath[set->base_len + 1] == '\0')
        return NULL;
    return relpath + set->base_len + 1;
}

static bool rule_matches(const rule_t *r, const char *sub, const char *name, bool is_dir)
{
    if (r->dir_only && !is_dir)
        return false;
    return wildmatch(r->pat, r->anchored ? sub : name);
}

bool mnemo_ignore_match(const mnemo_ignore_t *ig, const char *relpath, bool is_dir)
{
    const char *slash = strrchr(relpath, '/');
    const char *name = slash != NULL ? slash + 1 : relpath;
    for (size_t s = ig->n_sets; s-- > 0;) {
        const rule_set_t *set = &ig->sets[s];
        const char *sub = below_base(set, relpath);
        if (sub == NULL)
            continue;
        for (size_t i = set->n_rules; i-- > 0;)
            if (rule_matches(&set->rules[i], sub, name, is_dir))
                return !set->rules[i].negate;
    }
    return false;
}
