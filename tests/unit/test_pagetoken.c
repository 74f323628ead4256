/* test_pagetoken.c - unit tests of pagetoken.c: round trip, every kind of
 * tampering, purpose, binding and key separation, length bounds, and the
 * key record over a real store.
 */
#include "pagetoken.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char binding[] = "alpha\0beta"; /* two tags, each with its NUL */
#define BINDING_LEN (sizeof binding)

static mnemo_pagetoken_key_t key_of(uint8_t fill)
{
    mnemo_pagetoken_key_t k;
    memset(k.bytes, fill, sizeof k.bytes);
    return k;
}

/* MNEMO_OK with the position, or the status of decoding token. */
static mnemo_status_t decode(const mnemo_pagetoken_key_t *key, const char *purpose,
                             const void *bind, size_t bind_len, const char *token)
{
    uint8_t pos[MNEMO_PAGETOKEN_MAX_POS];
    size_t n = 0;
    mnemo_err_t err = {{0}};
    mnemo_status_t st = mnemo_pagetoken_decode(pos, &n, key, purpose, bind, bind_len, token, &err);
    if (st != MNEMO_OK)
        CU_ASSERT_STRING_EQUAL(err.msg, "page_token: invalid or from another query");
    return st;
}

static mnemo_status_t decode_default(const char *token)
{
    mnemo_pagetoken_key_t k = key_of(7);
    return decode(&k, MNEMO_PAGETOKEN_MEMORIES, binding, BINDING_LEN, token);
}

static char *encode_default(const void *pos, size_t pos_len)
{
    mnemo_pagetoken_key_t k = key_of(7);
    return mnemo_pagetoken_encode(&k, MNEMO_PAGETOKEN_MEMORIES, pos, pos_len, binding, BINDING_LEN);
}

static void test_pagetoken__round_trip(void)
{
    mnemo_pagetoken_key_t k = key_of(7);
    uint8_t max[MNEMO_PAGETOKEN_MAX_POS];
    for (size_t i = 0; i < sizeof max; i++)
        max[i] = (uint8_t)(255 - i);
    const size_t lens[] = {1, 40, MNEMO_PAGETOKEN_MAX_POS};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        char *token = mnemo_pagetoken_encode(&k, MNEMO_PAGETOKEN_REPOS, max, lens[i], NULL, 0);
        CU_ASSERT_EQUAL(strlen(token), 2 * (1 + lens[i] + MNEMO_PAGETOKEN_MAC_LEN));
        CU_ASSERT(strlen(token) <= MNEMO_PAGETOKEN_MAX_LEN);
        CU_ASSERT(strncmp(token, "02", 2) == 0); /* the version */
        CU_ASSERT_EQUAL(strspn(token, "0123456789abcdef"), strlen(token));
        uint8_t pos[MNEMO_PAGETOKEN_MAX_POS];
        size_t n = 0;
        CU_ASSERT_EQUAL(
            mnemo_pagetoken_decode(pos, &n, &k, MNEMO_PAGETOKEN_REPOS, NULL, 0, token, NULL),
            MNEMO_OK);
        CU_ASSERT_EQUAL(n, lens[i]);
        CU_ASSERT(memcmp(pos, max, lens[i]) == 0);
        free(token);
    }
    CU_ASSERT_EQUAL(MNEMO_PAGETOKEN_MAX_LEN, 290);
}

static void test_pagetoken__binding_round_trips_and_is_deterministic(void)
{
    char *a = encode_default("position", 8);
    char *b = encode_default("position", 8);
    CU_ASSERT_STRING_EQUAL(a, b); /* same list, same place: same token */
    CU_ASSERT_EQUAL(decode_default(a), MNEMO_OK);
    free(a);
    free(b);
}

/* Flips one bit of the byte at raw offset i of token (hex) into a copy. */
static char *flip_byte(const char *token, size_t i)
{
    char *t = strdup(token);
    char d = t[2 * i + 1];
    t[2 * i + 1] = d == '0' ? '1' : '0';
    return t;
}

static void test_pagetoken__tampered_position_is_refused(void)
{
    char *token = encode_default("position", 8);
    for (size_t i = 1; i <= 8; i++) {
        char *t = flip_byte(token, i);
        CU_ASSERT_EQUAL(decode_default(t), MNEMO_EINVAL);
        free(t);
    }
    free(token);
}

static void test_pagetoken__tampered_mac_is_refused(void)
{
    char *token = encode_default("position", 8);
    for (size_t i = 1 + 8; i < 1 + 8 + MNEMO_PAGETOKEN_MAC_LEN; i++) {
        char *t = flip_byte(token, i);
        CU_ASSERT_EQUAL(decode_default(t), MNEMO_EINVAL);
        free(t);
    }
    free(token);
}

static void test_pagetoken__other_version_is_refused(void)
{
    char *token = encode_default("position", 8);
    const char *versions[] = {"00", "01", "03", "ff"};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        char *t = strdup(token);
        memcpy(t, versions[i], 2);
        CU_ASSERT_EQUAL(decode_default(t), MNEMO_EINVAL);
        free(t);
    }
    free(token);
}

static void test_pagetoken__other_purpose_is_refused(void)
{
    mnemo_pagetoken_key_t k = key_of(7);
    char *mem = mnemo_pagetoken_encode(&k, MNEMO_PAGETOKEN_MEMORIES, "alpha", 5, NULL, 0);
    char *repo = mnemo_pagetoken_encode(&k, MNEMO_PAGETOKEN_REPOS, "alpha", 5, NULL, 0);
    CU_ASSERT_STRING_NOT_EQUAL(mem, repo);
    CU_ASSERT_EQUAL(decode(&k, MNEMO_PAGETOKEN_REPOS, NULL, 0, mem), MNEMO_EINVAL);
    CU_ASSERT_EQUAL(decode(&k, MNEMO_PAGETOKEN_MEMORIES, NULL, 0, repo), MNEMO_EINVAL);
    CU_ASSERT_EQUAL(decode(&k, MNEMO_PAGETOKEN_MEMORIES, NULL, 0, mem), MNEMO_OK);
    CU_ASSERT_EQUAL(decode(&k, MNEMO_PAGETOKEN_REPOS, NULL, 0, repo), MNEMO_OK);
    free(mem);
    free(repo);
}

static void test_pagetoken__other_binding_is_refused(void)
{
    mnemo_pagetoken_key_t k = key_of(7);
    char *token = encode_default("position", 8);
    const char *p = MNEMO_PAGETOKEN_MEMORIES;
    CU_ASSERT_EQUAL(decode(&k, p, NULL, 0, token), MNEMO_EINVAL);           /* no filter */
    CU_ASSERT_EQUAL(decode(&k, p, "alpha", 6, token), MNEMO_EINVAL);        /* fewer tags */
    CU_ASSERT_EQUAL(decode(&k, p, "alpha\0betb", 11, token), MNEMO_EINVAL); /* another tag */
    CU_ASSERT_EQUAL(decode(&k, p, binding, BINDING_LEN - 1, token), MNEMO_EINVAL);
    free(token);
}

/* The position length is in the MAC: a byte moved from the position to the
 * binding does not give a valid token. */
static void test_pagetoken__position_binding_boundary_is_fixed(void)
{
    mnemo_pagetoken_key_t k = key_of(7);
    const char *p = MNEMO_PAGETOKEN_MEMORIES;
    char *token = mnemo_pagetoken_encode(&k, p, "ab", 2, "c", 1);
    CU_ASSERT_EQUAL(decode(&k, p, "c", 1, token), MNEMO_OK);
    char shifted[128];
    snprintf(shifted, sizeof shifted, "02%s%s", "61", token + 2 + 4); /* position "a" */
    CU_ASSERT_EQUAL(decode(&k, p, "bc", 2, shifted), MNEMO_EINVAL);
    free(token);
}

static void test_pagetoken__other_key_is_refused(void)
{
    mnemo_pagetoken_key_t other = key_of(8);
    char *token = encode_default("position", 8);
    CU_ASSERT_EQUAL(decode(&other, MNEMO_PAGETOKEN_MEMORIES, binding, BINDING_LEN, token),
                    MNEMO_EINVAL);
    free(token);
}

static void test_pagetoken__bad_lengths_and_digits_are_refused(void)
{
    char *token = encode_default("position", 8);
    size_t len = strlen(token);
    char *cut = strdup(token);
    cut[len - 2] = '\0'; /* truncated by one byte */
    CU_ASSERT_EQUAL(decode_default(cut), MNEMO_EINVAL);
    cut[len - 1] = '\0'; /* odd number of digits */
    cut[len - 2] = token[len - 2];
    CU_ASSERT_EQUAL(decode_default(cut), MNEMO_EINVAL);
    free(cut);
    char *longer = malloc(len + 3);
    snprintf(longer, len + 3, "%s00", token); /* overlong by one byte */
    CU_ASSERT_EQUAL(decode_default(longer), MNEMO_EINVAL);
    free(longer);
    char *upper = strdup(token); /* one spelling per token: upper case is refused */
    for (size_t i = 0; upper[i] != '\0'; i++)
        upper[i] = upper[i] >= 'a' && upper[i] <= 'f' ? (char)(upper[i] - 32) : upper[i];
    CU_ASSERT_EQUAL(decode_default(upper), MNEMO_EINVAL);
    upper[5] = 'g'; /* not hex */
    CU_ASSERT_EQUAL(decode_default(upper), MNEMO_EINVAL);
    free(upper);
    char huge[4 * MNEMO_PAGETOKEN_MAX_LEN + 1];
    memset(huge, 'a', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    CU_ASSERT_EQUAL(decode_default(huge), MNEMO_EINVAL);
    const char *junk[] = {"", "0", "02", "0200", "garbage", "%00%00", "\xff\xff"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
        CU_ASSERT_EQUAL(decode_default(junk[i]), MNEMO_EINVAL);
    free(token);
}

static void test_pagetoken__refused_token_leaves_outputs_untouched(void)
{
    mnemo_pagetoken_key_t k = key_of(7);
    uint8_t pos[MNEMO_PAGETOKEN_MAX_POS];
    memset(pos, 0x5a, sizeof pos);
    size_t n = 99;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_pagetoken_decode(pos, &n, &k, MNEMO_PAGETOKEN_MEMORIES, NULL, 0,
                                           "02616161616161616161616161616161616161", &err),
                    MNEMO_EINVAL);
    CU_ASSERT_EQUAL(n, 99);
    CU_ASSERT_EQUAL(pos[0], 0x5a);
    CU_ASSERT_STRING_EQUAL(err.msg, "page_token: invalid or from another query");
    CU_ASSERT_EQUAL(mnemo_pagetoken_refuse(&err), MNEMO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "page_token: invalid or from another query");
}

static mnemo_store_t *open_store(const char *dir)
{
    mnemo_store_t *s = NULL;
    CU_ASSERT_EQUAL_FATAL(mnemo_store_open(&s, dir, NULL, NULL), MNEMO_OK);
    return s;
}

static void test_pagetoken__key_persists_across_reopen(void)
{
    char *dir = mnemo_test_tmpdir();
    mnemo_store_t *s = open_store(dir);
    mnemo_pagetoken_key_t first, again, zero;
    memset(&zero, 0, sizeof zero);
    CU_ASSERT_EQUAL_FATAL(mnemo_pagetoken_key_load(&first, s, NULL), MNEMO_OK);
    CU_ASSERT(memcmp(&first, &zero, sizeof zero) != 0);
    CU_ASSERT_EQUAL_FATAL(mnemo_pagetoken_key_load(&again, s, NULL), MNEMO_OK);
    CU_ASSERT(memcmp(&first, &again, sizeof first) == 0);
    char *token = mnemo_pagetoken_encode(&first, MNEMO_PAGETOKEN_REPOS, "name", 4, NULL, 0);
    mnemo_store_close(s);

    s = open_store(dir);
    memset(&again, 0, sizeof again);
    CU_ASSERT_EQUAL_FATAL(mnemo_pagetoken_key_load(&again, s, NULL), MNEMO_OK);
    CU_ASSERT(memcmp(&first, &again, sizeof first) == 0);
    CU_ASSERT_EQUAL(decode(&again, MNEMO_PAGETOKEN_REPOS, NULL, 0, token), MNEMO_OK);
    mnemo_store_close(s);
    mnemo_test_rmtree(dir);
    free(dir);

    /* Another store draws another key: its tokens are foreign. */
    dir = mnemo_test_tmpdir();
    s = open_store(dir);
    CU_ASSERT_EQUAL_FATAL(mnemo_pagetoken_key_load(&again, s, NULL), MNEMO_OK);
    CU_ASSERT(memcmp(&first, &again, sizeof first) != 0);
    CU_ASSERT_EQUAL(decode(&again, MNEMO_PAGETOKEN_REPOS, NULL, 0, token), MNEMO_EINVAL);
    mnemo_store_close(s);
    mnemo_test_rmtree(dir);
    free(dir);
    free(token);
}

/* The record memories.c wrote before this module is read as the key. */
static void test_pagetoken__key_reads_the_existing_record(void)
{
    char *dir = mnemo_test_tmpdir();
    mnemo_store_t *s = open_store(dir);
    mnemo_pagetoken_key_t want = key_of(0xa5), got;
    mnemo_store_batch_t *b = mnemo_store_batch_create();
    mnemo_store_batch_put(b, "Stoken-key", 10, want.bytes, sizeof want.bytes);
    CU_ASSERT_EQUAL_FATAL(mnemo_store_write(s, b, false, NULL), MNEMO_OK);
    CU_ASSERT_EQUAL_FATAL(mnemo_pagetoken_key_load(&got, s, NULL), MNEMO_OK);
    CU_ASSERT(memcmp(&want, &got, sizeof want) == 0);

    mnemo_store_batch_clear(b);
    mnemo_store_batch_put(b, MNEMO_PAGETOKEN_KEY_RECORD, strlen(MNEMO_PAGETOKEN_KEY_RECORD),
                          "short", 5);
    CU_ASSERT_EQUAL_FATAL(mnemo_store_write(s, b, false, NULL), MNEMO_OK);
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_pagetoken_key_load(&got, s, &err), MNEMO_ECORRUPT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "page token key"));
    mnemo_store_batch_destroy(b);
    mnemo_store_close(s);
    mnemo_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    CU_pSuite s = mnemo_test_suite("pagetoken");
    MNEMO_TEST(s, test_pagetoken__round_trip);
    MNEMO_TEST(s, test_pagetoken__binding_round_trips_and_is_deterministic);
    MNEMO_TEST(s, test_pagetoken__tampered_position_is_refused);
    MNEMO_TEST(s, test_pagetoken__tampered_mac_is_refused);
    MNEMO_TEST(s, test_pagetoken__other_version_is_refused);
    MNEMO_TEST(s, test_pagetoken__other_purpose_is_refused);
    MNEMO_TEST(s, test_pagetoken__other_binding_is_refused);
    MNEMO_TEST(s, test_pagetoken__position_binding_boundary_is_fixed);
    MNEMO_TEST(s, test_pagetoken__other_key_is_refused);
    MNEMO_TEST(s, test_pagetoken__bad_lengths_and_digits_are_refused);
    MNEMO_TEST(s, test_pagetoken__refused_token_leaves_outputs_untouched);
    MNEMO_TEST(s, test_pagetoken__key_persists_across_reopen);
    MNEMO_TEST(s, test_pagetoken__key_reads_the_existing_record);
    return mnemo_test_run();
}
