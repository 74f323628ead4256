/* test_hash.c - unit tests of hash.c: SHA-256 and HMAC-SHA256 known
 * answers, the constant-time compare, hex encoding and decoding, OS
 * randomness.
 */
#include "hash.h"
#include "testutil.h"

#include <string.h>

static void check_sha(const void *data, size_t len, const char *want_hex)
{
    uint8_t digest[MNEMO_SHA256_LEN];
    char hex[MNEMO_SHA256_HEX_LEN + 1];
    mnemo_sha256(data, len, digest);
    mnemo_hex_encode(hex, digest, sizeof digest);
    CU_ASSERT_STRING_EQUAL(hex, want_hex);
}

static void test_hash__sha256_known_vectors(void)
{
    /* FIPS 180-2 examples and the empty string. */
    check_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_sha(NULL, 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check_sha(two, strlen(two), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char nul[] = {'a', '\0', 'b'}; /* NUL bytes are data */
    uint8_t d1[32], d2[32];
    mnemo_sha256(nul, sizeof nul, d1);
    mnemo_sha256("a", 1, d2);
    CU_ASSERT(memcmp(d1, d2, 32) != 0);
}

static void test_hash__sha256_million_a(void)
{
    static char buf[1000000];
    memset(buf, 'a', sizeof buf);
    check_sha(buf, sizeof buf, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void check_hmac(const void *key, size_t key_len, const char *data, const char *want_hex)
{
    uint8_t mac[MNEMO_SHA256_LEN];
    char hex[MNEMO_SHA256_HEX_LEN + 1];
    mnemo_hmac_sha256(mac, key, key_len, data, strlen(data));
    mnemo_hex_encode(hex, mac, sizeof mac);
    CU_ASSERT_STRING_EQUAL(hex, want_hex);
}

static void test_hash__hmac_sha256_rfc4231_vectors(void)
{
    /* RFC 4231 test case 2: a key shorter than the output. */
    check_hmac("Jefe", 4, "what do ya want for nothing?",
               "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* Test case 1: 20 bytes 0x0b. */
    uint8_t key[131];
    memset(key, 0x0b, 20);
    check_hmac(key, 20, "Hi There",
               "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    /* Test case 6: a key longer than the block, hashed first. */
    memset(key, 0xaa, sizeof key);
    check_hmac(key, sizeof key, "Test Using Larger Than Block-Size Key - Hash Key First",
               "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    /* Empty data and key are valid input. */
    check_hmac("", 0, "", "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    uint8_t a[MNEMO_SHA256_LEN], b[MNEMO_SHA256_LEN];
    mnemo_hmac_sha256(a, NULL, 0, NULL, 0);
    mnemo_hmac_sha256(b, "", 0, "", 0);
    CU_ASSERT(memcmp(a, b, sizeof a) == 0);
}

static void test_hash__consttime_equal(void)
{
    CU_ASSERT(mnemo_consttime_equal("abcd", "abcd", 4));
    CU_ASSERT(!mnemo_consttime_equal("abcd", "abce", 4));
    CU_ASSERT(!mnemo_consttime_equal("xbcd", "abcd", 4));
    CU_ASSERT(mnemo_consttime_equal("ab", "ac", 1)); /* only len bytes count */
    CU_ASSERT(mnemo_consttime_equal("a", "b", 0));
}

static void test_hash__hex_round_trip(void)
{
    uint8_t in[256];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)i;
    char hex[2 * sizeof in + 1];
    mnemo_hex_encode(hex, in, sizeof in);
    CU_ASSERT_EQUAL(strlen(hex), 2 * sizeof in);
    CU_ASSERT(strncmp(hex, "000102", 6) == 0);
    CU_ASSERT(strcmp(hex + 2 * 250, "fafbfcfdfeff") == 0);
    uint8_t out[256];
    CU_ASSERT(mnemo_hex_decode(out, sizeof out, hex, strlen(hex)));
    CU_ASSERT(memcmp(in, out, sizeof in) == 0);
    uint8_t two[2];
    CU_ASSERT(mnemo_hex_decode(two, 2, "AbCd", 4)); /* either case */
    CU_ASSERT(two[0] == 0xab && two[1] == 0xcd);
    char empty[1];
    mnemo_hex_encode(empty, NULL, 0);
    CU_ASSERT_STRING_EQUAL(empty, "");
    CU_ASSERT(mnemo_hex_decode(two, 0, "", 0));
}

static void test_hash__hex_decode_rejects(void)
{
    uint8_t out[2] = {0x11, 0x22};
    CU_ASSERT(!mnemo_hex_decode(out, 2, "abc", 3));    /* odd length */
    CU_ASSERT(!mnemo_hex_decode(out, 2, "abcdef", 6)); /* too long */
    CU_ASSERT(!mnemo_hex_decode(out, 2, "ab", 2));     /* too short */
    CU_ASSERT(!mnemo_hex_decode(out, 2, "abcg", 4));   /* not hex */
    CU_ASSERT(!mnemo_hex_decode(out, 2, "ab c", 4));   /* space */
    CU_ASSERT(!mnemo_hex_decode(out, 2, "ab\0c", 4));  /* NUL */
    CU_ASSERT(!mnemo_hex_decode(out, 2, "0x12", 4));   /* prefix */
    CU_ASSERT(out[0] == 0x11 && out[1] == 0x22);       /* untouched on failure */
}

static void test_hash__random_bytes_differ(void)
{
    uint8_t a[32], b[32];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    mnemo_random_bytes(a, sizeof a);
    mnemo_random_bytes(b, sizeof b);
    CU_ASSERT(memcmp(a, b, sizeof a) != 0);
    static const uint8_t zero[32];
    CU_ASSERT(memcmp(a, zero, sizeof a) != 0);
    mnemo_random_bytes(a, 0);
}

int main(void)
{
    CU_pSuite s = mnemo_test_suite("hash");
    MNEMO_TEST(s, test_hash__sha256_known_vectors);
    MNEMO_TEST(s, test_hash__sha256_million_a);
    MNEMO_TEST(s, test_hash__hmac_sha256_rfc4231_vectors);
    MNEMO_TEST(s, test_hash__consttime_equal);
    MNEMO_TEST(s, test_hash__hex_round_trip);
    MNEMO_TEST(s, test_hash__hex_decode_rejects);
    MNEMO_TEST(s, test_hash__random_bytes_differ);
    return mnemo_test_run();
}
