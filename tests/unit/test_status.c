/* test_status.c - the status table: texts, gRPC mapping, message carrier. */
#include <string.h>

#include "mnemo/status.h"
#include "testutil.h"

static void test_status__maps_to_grpc_codes(void)
{
    CU_ASSERT_EQUAL(mnemo_status_to_grpc(MNEMO_OK), 0);
    CU_ASSERT_EQUAL(mnemo_status_to_grpc(MNEMO_EINVAL), 3);
    CU_ASSERT_EQUAL(mnemo_status_to_grpc(MNEMO_ENOTFOUND), 5);
    CU_ASSERT_EQUAL(mnemo_status_to_grpc(MNEMO_EPERM), 7);
    CU_ASSERT_EQUAL(mnemo_status_to_grpc(MNEMO_ERESOURCE), 8);
    CU_ASSERT_EQUAL(mnemo_status_to_grpc(MNEMO_EABORTED), 10);
    CU_ASSERT_EQUAL(mnemo_status_to_grpc(MNEMO_EUNIMPLEMENTED), 12);
    CU_ASSERT_EQUAL(mnemo_status_to_grpc(MNEMO_EIO), 14);
    CU_ASSERT_EQUAL(mnemo_status_to_grpc((mnemo_status_t)-999), 2);
}

static void test_status__round_trips_canonical_codes(void)
{
    static const mnemo_status_t canonical[] = {
        MNEMO_OK,       MNEMO_EINVAL,    MNEMO_ENOTFOUND,      MNEMO_EEXIST,     MNEMO_EPRECOND,
        MNEMO_EABORTED, MNEMO_ERESOURCE, MNEMO_EPERM,          MNEMO_ECANCELLED, MNEMO_ETIMEDOUT,
        MNEMO_EUNAVAIL, MNEMO_EINTERNAL, MNEMO_EUNIMPLEMENTED, MNEMO_EUNAUTH,
    };
    for (size_t i = 0; i < sizeof canonical / sizeof canonical[0]; i++)
        CU_ASSERT_EQUAL(mnemo_status_from_grpc(mnemo_status_to_grpc(canonical[i])), canonical[i]);
    CU_ASSERT_EQUAL(mnemo_status_from_grpc(2), MNEMO_EINTERNAL);
}

static void test_status__names_and_texts(void)
{
    CU_ASSERT_STRING_EQUAL(mnemo_status_name(MNEMO_EINVAL), "MNEMO_EINVAL");
    CU_ASSERT_STRING_EQUAL(mnemo_status_text(MNEMO_ENOTFOUND), "not found");
    CU_ASSERT_STRING_EQUAL(mnemo_status_text((mnemo_status_t)-999), "unknown status");
}

static void test_status__err_set_formats_and_returns_code(void)
{
    mnemo_err_t err;
    CU_ASSERT_EQUAL(mnemo_err_set(&err, MNEMO_EINVAL, "tags[%d]: empty", 3), MNEMO_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "tags[3]: empty");
    CU_ASSERT_EQUAL(mnemo_err_set(NULL, MNEMO_EIO, "ignored"), MNEMO_EIO);
    mnemo_err_clear(&err);
    CU_ASSERT_STRING_EQUAL(err.msg, "");
}

static void test_status__err_set_truncates_at_utf8_boundary(void)
{
    /* 600 bytes of two-byte 'é' cannot fit: the cut must not split one. */
    char text[601];
    for (int i = 0; i < 600; i += 2)
        memcpy(text + i, "\xc3\xa9", 2);
    text[600] = '\0';
    mnemo_err_t err;
    for (int shift = 0; shift < 2; shift++) {
        mnemo_err_set(&err, MNEMO_EINVAL, "%.*s%s", shift, "x", text);
        size_t n = strlen(err.msg);
        CU_ASSERT(n < sizeof err.msg);
        CU_ASSERT(n >= sizeof err.msg - 3);
        CU_ASSERT(((unsigned char)err.msg[n - 1] & 0xE0) != 0xC0); /* no lone lead byte */
        CU_ASSERT(((n - (size_t)shift) % 2) == 0);
    }
}

int main(void)
{
    CU_pSuite s = mnemo_test_suite("status");
    MNEMO_TEST(s, test_status__maps_to_grpc_codes);
    MNEMO_TEST(s, test_status__round_trips_canonical_codes);
    MNEMO_TEST(s, test_status__names_and_texts);
    MNEMO_TEST(s, test_status__err_set_formats_and_returns_code);
    MNEMO_TEST(s, test_status__err_set_truncates_at_utf8_boundary);
    return mnemo_test_run();
}
