/* test_ignore.c - unit tests of ignore.c: gitignore(5) parsing (comments,
 * trailing spaces, escapes, negation, anchoring, directory-only rules),
 * the wildmatch semantics of '*', '?', brackets and "**", and how sets
 * scope and override each other.
 */
#include "ignore.h"
#include "testutil.h"

#include <string.h>

/* An ignore stack holding text as its root set. */
static mnemo_ignore_t *root_rules(const char *text)
{
    mnemo_ignore_t *ig = mnemo_ignore_create();
    mnemo_ignore_push(ig, "", text, strlen(text));
    return ig;
}

#define IGNORED(ig, path)     CU_ASSERT_TRUE(mnemo_ignore_match((ig), (path), false))
#define KEPT(ig, path)        CU_ASSERT_FALSE(mnemo_ignore_match((ig), (path), false))
#define IGNORED_DIR(ig, path) CU_ASSERT_TRUE(mnemo_ignore_match((ig), (path), true))
#define KEPT_DIR(ig, path)    CU_ASSERT_FALSE(mnemo_ignore_match((ig), (path), true))

static void test_ignore__empty_stack_ignores_nothing(void)
{
    mnemo_ignore_t *ig = mnemo_ignore_create();
    CU_ASSERT_EQUAL(mnemo_ignore_depth(ig), 0);
    KEPT(ig, "a");
    KEPT_DIR(ig, "a/b");
    mnemo_ignore_destroy(ig);
    mnemo_ignore_destroy(NULL);
}

static void test_ignore__comments_and_blank_lines(void)
{
    mnemo_ignore_t *ig = root_rules("# a comment\n\n   \n#x\n\\#y\n");
    KEPT(ig, "# a comment");
    KEPT(ig, "#x");
    IGNORED(ig, "#y"); /* escaped '#' is a pattern */
    KEPT(ig, "   ");
    mnemo_ignore_destroy(ig);
}

static void test_ignore__trailing_spaces(void)
{
    mnemo_ignore_t *ig = root_rules("foo   \nbar\\ \nbaz\\  \n");
    IGNORED(ig, "foo");
    KEPT(ig, "foo ");
    IGNORED(ig, "bar "); /* escaped space kept */
    KEPT(ig, "bar");
    IGNORED(ig, "baz "); /* escaped one kept, the unescaped one trimmed */
    KEPT(ig, "baz  ");
    mnemo_ignore_destroy(ig);
}

static void test_ignore__crlf_and_bom(void)
{
    mnemo_ignore_t *ig = root_rules("\xEF\xBB\xBF*.tmp\r\nfoo\r\n");
    IGNORED(ig, "a.tmp");
    IGNORED(ig, "foo");
    KEPT(ig, "foo\r");
    mnemo_ignore_destroy(ig);
}

static void test_ignore__escapes(void)
{
    mnemo_ignore_t *ig = root_rules("\\!important\n\\*star\nq\\?\nhash\\#\ndangling\\\n");
    IGNORED(ig, "!important");
    IGNORED(ig, "*star");
    KEPT(ig, "xstar");
    IGNORED(ig, "q?");
    KEPT(ig, "qx");
    IGNORED(ig, "hash#");
    KEPT(ig, "dangling"); /* a pattern ending in a lone '\' is invalid */
    KEPT(ig, "dangling\\");
    mnemo_ignore_destroy(ig);
}

static void test_ignore__negation_reincludes(void)
{
    mnemo_ignore_t *ig = root_rules("*.log\n!keep.log\n!\n");
    IGNORED(ig, "debug.log");
    IGNORED(ig, "sub/debug.log");
    KEPT(ig, "keep.log");
    KEPT(ig, "sub/keep.log");
    KEPT(ig, "other.txt");
    mnemo_ignore_destroy(ig);
}

static void test_ignore__last_rule_wins(void)
{
    mnemo_ignore_t *ig = root_rules("!a.txt\n*.txt\nb.c\n!*.c\n");
    IGNORED(ig, "a.txt"); /* the later "*.txt" overrides the earlier "!a.txt" */
    KEPT(ig, "b.c");      /* the later "!*.c" overrides "b.c" */
    mnemo_ignore_destroy(ig);
}

static void test_ignore__anchored_leading_slash(void)
{
    mnemo_ignore_t *ig = root_rules("/build\n");
    IGNORED_DIR(ig, "build");
    IGNORED(ig, "build");
    KEPT_DIR(ig, "src/build");
    KEPT(ig, "build2");
    mnemo_ignore_destroy(ig);
}

static void test_ignore__middle_slash_anchors(void)
{
    mnemo_ignore_t *ig = root_rules("doc/frotz\n");
    IGNORED(ig, "doc/frotz");
    IGNORED_DIR(ig, "doc/frotz");
    KEPT(ig, "a/doc/frotz");
    KEPT(ig, "frotz");
    mnemo_ignore_destroy(ig);
}

static void test_ignore__no_slash_matches_at_any_depth(void)
{
    mnemo_ignore_t *ig = root_rules("frotz\n");
    IGNORED(ig, "frotz");
    IGNORED(ig, "a/frotz");
    IGNORED_DIR(ig, "a/b/frotz");
    KEPT(ig, "frotz.c");
    mnemo_ignore_destroy(ig);
}

static void test_ignore__dir_only(void)
{
    mnemo_ignore_t *ig = root_rules("logs/\n/out/\na/cache/\n");
    IGNORED_DIR(ig, "logs");
    IGNORED_DIR(ig, "x/logs");
    KEPT(ig, "logs"); /* a file named logs */
    KEPT(ig, "x/logs");
    IGNORED_DIR(ig, "out");
    KEPT_DIR(ig, "x/out");
    IGNORED_DIR(ig, "a/cache");
    KEPT(ig, "a/cache");
    KEPT_DIR(ig, "b/a/cache");
    mnemo_ignore_destroy(ig);
}

static void test_ignore__star(void)
{
    mnemo_ignore_t *ig = root_rules("*.o\nlib*.a\n/top*\n");
    IGNORED(ig, "x.o");
    IGNORED(ig, "deep/down/x.o");
    IGNORED(ig, ".o");
    KEPT(ig, "x.oo");
    IGNORED(ig, "libfoo.a");
    IGNORED(ig, "lib.a");
    KEPT(ig, "alibfoo.a");
    IGNORED(ig, "topfile");
    KEPT(ig, "top/x"); /* '*' never crosses '/' */
    KEPT(ig, "a/topfile");
    mnemo_ignore_destroy(ig);
}

static void test_ignore__star_slash_is_one_component(void)
{
    mnemo_ignore_t *ig = root_rules("src/*/gen\n*/only\n");
    IGNORED_DIR(ig, "src/a/gen");
    KEPT_DIR(ig, "src/a/b/gen");
    KEPT_DIR(ig, "src/gen");
    IGNORED(ig, "x/only");
    KEPT(ig, "only");
    KEPT(ig, "x/y/only");
    mnemo_ignore_destroy(ig);
}

static void test_ignore__question_mark(void)
{
    mnemo_ignore_t *ig = root_rules("file?.txt\na?b\n");
    IGNORED(ig, "file1.txt");
    IGNORED(ig, "sub/fileX.txt");
    KEPT(ig, "file.txt");
    KEPT(ig, "file12.txt");
    KEPT(ig, "a/b"); /* '?' never matches '/' */
    mnemo_ignore_destroy(ig);
}

static void test_ignore__brackets(void)
{
    mnemo_ignore_t *ig = root_rules("[a-c].txt\nx[!0-9]\ny[^a]\nz[]]\nw[[:digit:]x]\nq[\\]]\n");
    IGNORED(ig, "a.txt");
    IGNORED(ig, "c.txt");
    KEPT(ig, "d.txt");
    IGNORED(ig, "xa");
    KEPT(ig, "x5");
    IGNORED(ig, "yb");
    KEPT(ig, "ya");
    IGNORED(ig, "z]");
    IGNORED(ig, "w7");
    IGNORED(ig, "wx");
    KEPT(ig, "wy");
    IGNORED(ig, "q]");
    mnemo_ignore_destroy(ig);
}

static void test_ignore__bracket_never_matches_slash(void)
{
    mnemo_ignore_t *ig = root_rules("a[!x]b\nc[/]d\n[[:bogus:]]\n");
    KEPT(ig, "a/b");
    IGNORED(ig, "a-b");
    KEPT(ig, "c/d");
    KEPT(ig, "b"); /* an unknown class makes the pattern match nothing */
    mnemo_ignore_destroy(ig);
}

static void test_ignore__leading_double_star(void)
{
    mnemo_ignore_t *ig = root_rules("**/foo\n**/x/bar\n");
    IGNORED(ig, "foo");
    IGNORED(ig, "a/foo");
    IGNORED_DIR(ig, "a/b/c/foo");
    KEPT(ig, "foox");
    IGNORED(ig, "x/bar");
    IGNORED(ig, "a/b/x/bar");
    KEPT(ig, "bar");
    KEPT(ig, "a/bar");
    mnemo_ignore_destroy(ig);
}

static void test_ignore__trailing_double_star(void)
{
    mnemo_ignore_t *ig = root_rules("foo/**\n");
    IGNORED(ig, "foo/a");
    IGNORED(ig, "foo/a/b/c");
    KEPT_DIR(ig, "foo"); /* everything inside, not foo itself */
    KEPT(ig, "x/foo/a");
    mnemo_ignore_destroy(ig);
}

static void test_ignore__middle_double_star(void)
{
    mnemo_ignore_t *ig = root_rules("a/**/b\n");
    IGNORED(ig, "a/b");
    IGNORED(ig, "a/x/b");
    IGNORED(ig, "a/x/y/z/b");
    KEPT(ig, "a/xb");
    KEPT(ig, "a/x/b/c");
    KEPT(ig, "x/a/b");
    mnemo_ignore_destroy(ig);
}

static void test_ignore__other_double_stars_are_plain_stars(void)
{
    mnemo_ignore_t *ig = root_rules("x**y\n/p/**q\n");
    IGNORED(ig, "xaay");
    KEPT(ig, "xa/ay");
    IGNORED(ig, "p/zzq");
    KEPT(ig, "p/z/q");
    mnemo_ignore_destroy(ig);
}

static void test_ignore__many_stars_stay_fast(void)
{
    /* Exponential without git's abort rules; instant with them. */
    mnemo_ignore_t *ig = root_rules("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b\n");
    char name[201];
    memset(name, 'a', 200);
    name[200] = '\0';
    KEPT(ig, name);
    mnemo_ignore_destroy(ig);
}

static void test_ignore__nested_set_scoped_to_base(void)
{
    mnemo_ignore_t *ig = mnemo_ignore_create();
    mnemo_ignore_push(ig, "", "", 0);
    const char *sub = "*.gen\n/local\nd/deep\n";
    mnemo_ignore_push(ig, "src", sub, strlen(sub));
    CU_ASSERT_EQUAL(mnemo_ignore_depth(ig), 2);
    IGNORED(ig, "src/a.gen");
    IGNORED(ig, "src/x/y/a.gen");
    KEPT(ig, "a.gen");      /* outside the base */
    KEPT(ig, "srcx/a.gen"); /* not below "src/" */
    IGNORED(ig, "src/local");
    KEPT(ig, "local");
    KEPT(ig, "src/x/local");
    IGNORED(ig, "src/d/deep");
    KEPT(ig, "d/deep");
    KEPT_DIR(ig, "src"); /* the base itself */
    mnemo_ignore_pop(ig);
    CU_ASSERT_EQUAL(mnemo_ignore_depth(ig), 1);
    KEPT(ig, "src/a.gen");
    mnemo_ignore_destroy(ig);
}

static void test_ignore__deeper_set_overrides_root(void)
{
    mnemo_ignore_t *ig = root_rules("*.txt\n!keep.md\n*.md\n");
    const char *sub = "!*.txt\nnotes.md\n";
    mnemo_ignore_push(ig, "docs", sub, strlen(sub));
    KEPT(ig, "docs/readme.txt");
    IGNORED(ig, "readme.txt");
    IGNORED(ig, "docs/notes.md");
    IGNORED(ig, "docs/keep.md"); /* root "*.md" comes after "!keep.md" */
    mnemo_ignore_pop(ig);
    IGNORED(ig, "docs/readme.txt");
    mnemo_ignore_destroy(ig);
}

static void test_ignore__destroy_pops_remaining_sets(void)
{
    mnemo_ignore_t *ig = root_rules("a\n");
    mnemo_ignore_push(ig, "x/", "b\n", 2); /* a trailing '/' on base is tolerated */
    IGNORED(ig, "x/b");
    mnemo_ignore_push(ig, "x/y", NULL, 0);
    CU_ASSERT_EQUAL(mnemo_ignore_depth(ig), 3);
    mnemo_ignore_destroy(ig); /* ASan proves nothing leaks */
}

int main(void)
{
    CU_pSuite s = mnemo_test_suite("ignore");
    MNEMO_TEST(s, test_ignore__empty_stack_ignores_nothing);
    MNEMO_TEST(s, test_ignore__comments_and_blank_lines);
    MNEMO_TEST(s, test_ignore__trailing_spaces);
    MNEMO_TEST(s, test_ignore__crlf_and_bom);
    MNEMO_TEST(s, test_ignore__escapes);
    MNEMO_TEST(s, test_ignore__negation_reincludes);
    MNEMO_TEST(s, test_ignore__last_rule_wins);
    MNEMO_TEST(s, test_ignore__anchored_leading_slash);
    MNEMO_TEST(s, test_ignore__middle_slash_anchors);
    MNEMO_TEST(s, test_ignore__no_slash_matches_at_any_depth);
    MNEMO_TEST(s, test_ignore__dir_only);
    MNEMO_TEST(s, test_ignore__star);
    MNEMO_TEST(s, test_ignore__star_slash_is_one_component);
    MNEMO_TEST(s, test_ignore__question_mark);
    MNEMO_TEST(s, test_ignore__brackets);
    MNEMO_TEST(s, test_ignore__bracket_never_matches_slash);
    MNEMO_TEST(s, test_ignore__leading_double_star);
    MNEMO_TEST(s, test_ignore__trailing_double_star);
    MNEMO_TEST(s, test_ignore__middle_double_star);
    MNEMO_TEST(s, test_ignore__other_double_stars_are_plain_stars);
    MNEMO_TEST(s, test_ignore__many_stars_stay_fast);
    MNEMO_TEST(s, test_ignore__nested_set_scoped_to_base);
    MNEMO_TEST(s, test_ignore__deeper_set_overrides_root);
    MNEMO_TEST(s, test_ignore__destroy_pops_remaining_sets);
    return mnemo_test_run();
}
