/* test_bytes.c - unit tests of bytes.c: varints at their boundaries and
 * malformed, the reader's bounds checks, fixed-width integers, buffer
 * growth and the allocation helpers.
 */
#include "bytes.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

/* Encodes v with mnemo_buf_varint, checks its length and that
 * mnemo_varint_put writes the same bytes, then decodes it back. */
static void check_varint(uint64_t v, size_t want_len)
{
    mnemo_buf_t b = {0};
    mnemo_buf_varint(&b, v);
    CU_ASSERT_EQUAL(b.len, want_len);
    uint8_t raw[MNEMO_VARINT_MAX];
    size_t n = mnemo_varint_put(raw, v);
    CU_ASSERT_EQUAL(n, want_len);
    CU_ASSERT(n == b.len && memcmp(raw, b.p, n) == 0);
    mnemo_reader_t r;
    mnemo_reader_init(&r, b.p, b.len);
    CU_ASSERT(mnemo_read_varint(&r) == v);
    CU_ASSERT(mnemo_reader_done(&r));
    mnemo_buf_cleanup(&b);
}

static void test_bytes__varint_round_trips(void)
{
    check_varint(0, 1);
    check_varint(1, 1);
    check_varint(127, 1);
    check_varint(128, 2);
    check_varint(16383, 2);
    check_varint(16384, 3);
    check_varint(UINT32_MAX, 5);
    check_varint((1ull << 56) - 1, 8);
    check_varint(1ull << 56, 9);
    check_varint((1ull << 63) - 1, 9);
    check_varint(1ull << 63, 10);
    check_varint(UINT64_MAX, 10);
}

static void test_bytes__varint_known_bytes(void)
{
    /* The on-disk form: LEB128, least significant group first. */
    mnemo_buf_t b = {0};
    mnemo_buf_varint(&b, 300);
    mnemo_buf_varint(&b, 1ull << 63);
    const uint8_t want[] = {0xac, 0x02, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    CU_ASSERT(b.len == sizeof want && memcmp(b.p, want, sizeof want) == 0);
    mnemo_buf_cleanup(&b);
}

static void test_bytes__varint_truncated_sets_not_ok(void)
{
    const uint8_t cont[] = {0x80, 0xff};
    mnemo_reader_t r;
    for (size_t len = 0; len <= sizeof cont; len++) {
        mnemo_reader_init(&r, len != 0 ? cont : NULL, len);
        CU_ASSERT(mnemo_read_varint(&r) == 0);
        CU_ASSERT(!r.ok);
        CU_ASSERT(!mnemo_reader_done(&r));
    }
}

static void test_bytes__varint_overlong_sets_not_ok(void)
{
    uint8_t eleven[11];
    memset(eleven, 0x80, 10);
    eleven[10] = 0x00;
    mnemo_reader_t r;
    mnemo_reader_init(&r, eleven, sizeof eleven);
    CU_ASSERT(mnemo_read_varint(&r) == 0);
    CU_ASSERT(!r.ok);

    uint8_t ten[10];
    memset(ten, 0xff, 9);
    ten[9] = 0x01; /* the longest valid form: UINT64_MAX */
    mnemo_reader_init(&r, ten, sizeof ten);
    CU_ASSERT(mnemo_read_varint(&r) == UINT64_MAX);
    CU_ASSERT(mnemo_reader_done(&r));
}

static void test_bytes__failure_is_sticky(void)
{
    const uint8_t data[] = {0x80, 0x05}; /* one truncated-looking read, then 5 */
    mnemo_reader_t r;
    mnemo_reader_init(&r, data, 1);
    CU_ASSERT(mnemo_read_varint(&r) == 0);
    CU_ASSERT(!r.ok);
    r.end = data + sizeof data; /* even with bytes available again */
    CU_ASSERT(mnemo_read_varint(&r) == 0);
    CU_ASSERT(mnemo_read_byte(&r) == 0);
    CU_ASSERT(mnemo_read_bytes(&r, 0) == NULL);
    CU_ASSERT(!r.ok);
}

static void test_bytes__read_count_refuses_more_than_left(void)
{
    const uint8_t fits[] = {0x02, 'a', 'b'};
    mnemo_reader_t r;
    mnemo_reader_init(&r, fits, sizeof fits);
    CU_ASSERT_EQUAL(mnemo_read_count(&r), 2);
    CU_ASSERT(r.ok);

    const uint8_t over[] = {0x03, 'a', 'b'};
    mnemo_reader_init(&r, over, sizeof over);
    CU_ASSERT_EQUAL(mnemo_read_count(&r), 0);
    CU_ASSERT(!r.ok);

    mnemo_buf_t b = {0};
    mnemo_buf_varint(&b, UINT64_MAX); /* a corrupt count must not allocate */
    mnemo_reader_init(&r, b.p, b.len);
    CU_ASSERT_EQUAL(mnemo_read_count(&r), 0);
    CU_ASSERT(!r.ok);
    mnemo_buf_cleanup(&b);
}

static void test_bytes__str_round_trips(void)
{
    mnemo_buf_t b = {0};
    mnemo_buf_str(&b, "a\0b", 3); /* NUL bytes are data */
    mnemo_buf_str(&b, "", 0);
    mnemo_buf_str(&b, "xyz", 3);
    mnemo_reader_t r;
    mnemo_reader_init(&r, b.p, b.len);
    size_t len = 99;
    const char *s = mnemo_read_str(&r, &len);
    CU_ASSERT(len == 3 && memcmp(s, "a\0b", 3) == 0);
    s = mnemo_read_str(&r, &len);
    CU_ASSERT(len == 0 && r.ok);
    char *copy = mnemo_read_strdup(&r, &len);
    CU_ASSERT(len == 3 && copy != NULL && strcmp(copy, "xyz") == 0);
    free(copy);
    CU_ASSERT(mnemo_reader_done(&r));
    mnemo_buf_cleanup(&b);
}

static void test_bytes__read_str_past_end(void)
{
    const uint8_t data[] = {0x05, 'a', 'b', 'c'}; /* says 5, holds 3 */
    mnemo_reader_t r;
    mnemo_reader_init(&r, data, sizeof data);
    size_t len = 99;
    const char *s = mnemo_read_str(&r, &len);
    CU_ASSERT(s != NULL && s[0] == '\0' && len == 0);
    CU_ASSERT(!r.ok);

    mnemo_reader_init(&r, data, sizeof data);
    len = 99;
    CU_ASSERT(mnemo_read_strdup(&r, &len) == NULL);
    CU_ASSERT(len == 0 && !r.ok);

    mnemo_reader_init(&r, data, sizeof data);
    CU_ASSERT(mnemo_read_strdup(&r, NULL) == NULL);
    CU_ASSERT(!r.ok);
}

static void test_bytes__read_bytes_and_byte_past_end(void)
{
    const uint8_t data[] = {7, 8, 9};
    mnemo_reader_t r;
    mnemo_reader_init(&r, data, sizeof data);
    CU_ASSERT_EQUAL(mnemo_read_byte(&r), 7);
    const uint8_t *p = mnemo_read_bytes(&r, 2);
    CU_ASSERT(p == data + 1);
    CU_ASSERT(mnemo_reader_done(&r));
    CU_ASSERT_EQUAL(mnemo_read_byte(&r), 0);
    CU_ASSERT(!r.ok);

    mnemo_reader_init(&r, data, sizeof data);
    CU_ASSERT(mnemo_read_bytes(&r, 4) == NULL);
    CU_ASSERT(!r.ok);
    mnemo_reader_init(&r, data, sizeof data);
    CU_ASSERT(mnemo_read_u64le(&r) == 0);
    CU_ASSERT(!r.ok);
}

static void test_bytes__be64_round_trips(void)
{
    uint8_t p[8];
    mnemo_put_be64(p, 0x0102030405060708ull);
    const uint8_t want[] = {1, 2, 3, 4, 5, 6, 7, 8};
    CU_ASSERT(memcmp(p, want, 8) == 0);
    CU_ASSERT(mnemo_get_be64(p) == 0x0102030405060708ull);
    const uint64_t values[] = {0, 1, 255, 256, 1ull << 63, UINT64_MAX};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        mnemo_put_be64(p, values[i]);
        CU_ASSERT(mnemo_get_be64(p) == values[i]);
    }
    uint8_t lo[8], hi[8]; /* keys sort as the numbers do */
    mnemo_put_be64(lo, 255);
    mnemo_put_be64(hi, 256);
    CU_ASSERT(memcmp(lo, hi, 8) < 0);
}

static void test_bytes__be32_round_trips(void)
{
    uint8_t p[4];
    mnemo_put_be32(p, 0x0a0b0c0du);
    const uint8_t want[] = {0x0a, 0x0b, 0x0c, 0x0d};
    CU_ASSERT(memcmp(p, want, 4) == 0);
    CU_ASSERT(mnemo_get_be32(p) == 0x0a0b0c0du);
    mnemo_put_be32(p, UINT32_MAX);
    CU_ASSERT(mnemo_get_be32(p) == UINT32_MAX);
}

static void test_bytes__u64le_round_trips(void)
{
    mnemo_buf_t b = {0};
    mnemo_buf_u64le(&b, 0x0102030405060708ull);
    const uint8_t want[] = {8, 7, 6, 5, 4, 3, 2, 1};
    CU_ASSERT(b.len == 8 && memcmp(b.p, want, 8) == 0);
    mnemo_reader_t r;
    mnemo_reader_init(&r, b.p, b.len);
    CU_ASSERT(mnemo_read_u64le(&r) == 0x0102030405060708ull);
    CU_ASSERT(mnemo_reader_done(&r));
    mnemo_buf_cleanup(&b);
}

static void test_bytes__buf_grows(void)
{
    mnemo_buf_t b = {0};
    mnemo_buf_add(&b, NULL, 0);
    CU_ASSERT(b.p == NULL && b.len == 0 && b.cap == 0);
    mnemo_buf_byte(&b, 0);
    CU_ASSERT(b.len == 1 && b.cap == 64);
    for (size_t i = 1; i < 1000; i++)
        mnemo_buf_byte(&b, (uint8_t)i);
    CU_ASSERT_EQUAL(b.len, 1000);
    CU_ASSERT_EQUAL(b.cap, 1024); /* doubled from 64 */
    bool same = true;
    for (size_t i = 0; i < b.len; i++)
        same = same && b.p[i] == (uint8_t)i;
    CU_ASSERT(same);
    uint8_t big[5000];
    memset(big, 0xab, sizeof big);
    mnemo_buf_add(&b, big, sizeof big); /* grows by more than one doubling */
    CU_ASSERT(b.len == 6000 && b.cap == 8192);
    CU_ASSERT(b.p[999] == (uint8_t)999 && b.p[1000] == 0xab && b.p[5999] == 0xab);
    b.len = 0; /* reuse keeps the allocation */
    mnemo_buf_byte(&b, 'x');
    CU_ASSERT(b.len == 1 && b.cap == 8192 && b.p[0] == 'x');
    mnemo_buf_cleanup(&b);
    CU_ASSERT(b.p == NULL && b.len == 0 && b.cap == 0);
    mnemo_buf_cleanup(NULL);
}

static void test_bytes__alloc_helpers(void)
{
    void *p = mnemo_xmalloc(0);
    CU_ASSERT(p != NULL);
    free(p);
    p = mnemo_xcalloc(0, 0);
    CU_ASSERT(p != NULL);
    p = mnemo_xrealloc(p, 0);
    CU_ASSERT(p != NULL);
    free(p);
    uint32_t *z = mnemo_xcalloc(4, sizeof *z);
    CU_ASSERT(z[0] == 0 && z[3] == 0);
    free(z);
    char *s = mnemo_xstrndup("ab\0cd", 5);
    CU_ASSERT(memcmp(s, "ab\0cd", 6) == 0);
    free(s);
    s = mnemo_xstrndup(NULL, 0);
    CU_ASSERT_STRING_EQUAL(s, "");
    free(s);
    s = mnemo_xstrdup("hello");
    CU_ASSERT_STRING_EQUAL(s, "hello");
    free(s);
    CU_ASSERT(mnemo_xstrdup(NULL) == NULL);
}

int main(void)
{
    CU_pSuite s = mnemo_test_suite("bytes");
    MNEMO_TEST(s, test_bytes__varint_round_trips);
    MNEMO_TEST(s, test_bytes__varint_known_bytes);
    MNEMO_TEST(s, test_bytes__varint_truncated_sets_not_ok);
    MNEMO_TEST(s, test_bytes__varint_overlong_sets_not_ok);
    MNEMO_TEST(s, test_bytes__failure_is_sticky);
    MNEMO_TEST(s, test_bytes__read_count_refuses_more_than_left);
    MNEMO_TEST(s, test_bytes__str_round_trips);
    MNEMO_TEST(s, test_bytes__read_str_past_end);
    MNEMO_TEST(s, test_bytes__read_bytes_and_byte_past_end);
    MNEMO_TEST(s, test_bytes__be64_round_trips);
    MNEMO_TEST(s, test_bytes__be32_round_trips);
    MNEMO_TEST(s, test_bytes__u64le_round_trips);
    MNEMO_TEST(s, test_bytes__buf_grows);
    MNEMO_TEST(s, test_bytes__alloc_helpers);
    return mnemo_test_run();
}
