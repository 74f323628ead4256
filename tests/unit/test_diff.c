/* test_diff.c - walk versus manifest: added, changed, unchanged, deleted. */
#include <string.h>

#include "diff.h"
#include "testutil.h"

typedef struct seen {
    char kinds[16];
    const char *paths[16];
    size_t n;
    size_t stop_after; /* 0: never */
} seen_t;

static bool record(void *ctx, const mnemo_diff_item_t *item)
{
    static const char letters[] = {'A', 'C', 'U', 'D'};
    seen_t *s = ctx;
    s->kinds[s->n] = letters[item->kind];
    s->paths[s->n++] = item->file != NULL ? item->file->path : item->old->path;
    CU_ASSERT(item->kind == MNEMO_DIFF_ADDED ? item->old == NULL : item->old != NULL);
    CU_ASSERT(item->kind == MNEMO_DIFF_DELETED ? item->file == NULL : item->file != NULL);
    return s->stop_after == 0 || s->n < s->stop_after;
}

/* walk: a.c(10,1) b.c(20,2) d.c(40,4) e.c(50,5); manifest: b.c(20,2)
 * c.c(30,3) d.c(41,4) e.c(50,9). */
static mnemo_walk_file_t files[] = {{"a.c", 10, 1}, {"b.c", 20, 2}, {"d.c", 40, 4}, {"e.c", 50, 5}};
static mnemo_manifest_entry_t entries[] = {
    {"b.c", 20, 2, {0}, 1}, {"c.c", 30, 3, {0}, 1}, {"d.c", 41, 4, {0}, 1}, {"e.c", 50, 9, {0}, 1}};

static void test_diff__classifies_every_path_in_order(void)
{
    mnemo_walk_result_t walk = {files, 4, NULL, 0};
    mnemo_manifest_t man = {entries, 4};
    seen_t s = {0};
    CU_ASSERT_TRUE(mnemo_diff(&walk, &man, false, record, &s));
    CU_ASSERT_EQUAL(s.n, 5);
    CU_ASSERT_NSTRING_EQUAL(s.kinds, "AUDCC", 5); /* size changed; mtime changed */
    CU_ASSERT_STRING_EQUAL(s.paths[0], "a.c");
    CU_ASSERT_STRING_EQUAL(s.paths[2], "c.c");
    CU_ASSERT_STRING_EQUAL(s.paths[4], "e.c");
}

static void test_diff__full_treats_present_files_as_changed(void)
{
    mnemo_walk_result_t walk = {files, 4, NULL, 0};
    mnemo_manifest_t man = {entries, 4};
    seen_t s = {0};
    CU_ASSERT_TRUE(mnemo_diff(&walk, &man, true, record, &s));
    CU_ASSERT_NSTRING_EQUAL(s.kinds, "ACDCC", 5);
}

static void test_diff__empty_sides(void)
{
    mnemo_walk_result_t walk = {files, 4, NULL, 0};
    mnemo_walk_result_t none = {NULL, 0, NULL, 0};
    mnemo_manifest_t man = {entries, 4};
    mnemo_manifest_t empty = {NULL, 0};
    seen_t s = {0};
    CU_ASSERT_TRUE(mnemo_diff(&walk, &empty, false, record, &s));
    CU_ASSERT_NSTRING_EQUAL(s.kinds, "AAAA", 4);
    memset(&s, 0, sizeof s);
    CU_ASSERT_TRUE(mnemo_diff(&none, &man, false, record, &s));
    CU_ASSERT_NSTRING_EQUAL(s.kinds, "DDDD", 4);
    memset(&s, 0, sizeof s);
    CU_ASSERT_TRUE(mnemo_diff(&none, &empty, false, record, &s));
    CU_ASSERT_EQUAL(s.n, 0);
}

static void test_diff__stops_when_asked(void)
{
    mnemo_walk_result_t walk = {files, 4, NULL, 0};
    mnemo_manifest_t man = {entries, 4};
    seen_t s = {.stop_after = 2};
    CU_ASSERT_FALSE(mnemo_diff(&walk, &man, false, record, &s));
    CU_ASSERT_EQUAL(s.n, 2);
}

int main(void)
{
    CU_pSuite s = mnemo_test_suite("diff");
    MNEMO_TEST(s, test_diff__classifies_every_path_in_order);
    MNEMO_TEST(s, test_diff__full_treats_present_files_as_changed);
    MNEMO_TEST(s, test_diff__empty_sides);
    MNEMO_TEST(s, test_diff__stops_when_asked);
    return mnemo_test_run();
}
