/* test_status.c - the status table: texts, client codes, message carrier. */
#include <string.h>

#include "mnemo/status.h"
#include "testutil.h"

static void test_status__maps_to_client_codes(void)
{
    CU_ASSERT_EQUAL(mnemo_status_to_code(MNEMO_OK), MNEMO_CODE_OK);
    CU_ASSERT_EQUAL(mnemo_status_to_code(MNEMO_EINVAL), MNEMO_CODE_INVALID_ARGUMENT);
    CU_ASSERT_EQUAL(mnemo_status_to_code(MNEMO_ENOTFOUND), MNEMO_CODE_NOT_FOUND);
    CU_ASSERT_EQUAL(mnemo_status_to_code(MNEMO_EPERM), MNEMO_CODE_PERMISSION_DENIED);
    CU_ASSERT_EQUAL(mnemo_status_to_code(MNEMO_ERESOURCE), MNEMO_CODE_RESOURCE_EXHAUSTED);
    CU_ASSERT_EQUAL(mnemo_status_to_code(MNEMO_EABORTED), MNEMO_CODE_ABORTED);
    CU_ASSERT_EQUAL(mnemo_status_to_code(MNEMO_EUNIMPLEMENTED), MNEMO_CODE_UNIMPLEMENTED);
    CU_ASSERT_EQUAL(mnemo_status_to_code(MNEMO_EIO), MNEMO_CODE_UNAVAILABLE);
    CU_ASSERT_EQUAL(mnemo_status_to_code(MNEMO_ECORRUPT), MNEMO_CODE_DATA_LOSS);
    CU_ASSERT_EQUAL(mnemo_status_to_code((mnemo_status_t)-999), MNEMO_CODE_UNKNOWN);
}

static void test_status__codes_are_grpc_values(void)
{
    /* The wire values: codes.h re-exports gRPC's codes, it does not map them
     * (call.c also checks each against <grpc/status.h> at compile time). */
    CU_ASSERT_EQUAL(MNEMO_CODE_OK, 0);
    CU_ASSERT_EQUAL(MNEMO_CODE_CANCELLED, 1);
    CU_ASSERT_EQUAL(MNEMO_CODE_INVALID_ARGUMENT, 3);
    CU_ASSERT_EQUAL(MNEMO_CODE_NOT_FOUND, 5);
    CU_ASSERT_EQUAL(MNEMO_CODE_UNAVAILABLE, 14);
    CU_ASSERT_EQUAL(MNEMO_CODE_DATA_LOSS, 15);
    CU_ASSERT_EQUAL(MNEMO_CODE_UNAUTHENTICATED, 16);
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
    MNEMO_TEST(s, test_status__maps_to_client_codes);
    MNEMO_TEST(s, test_status__codes_are_grpc_values);
    MNEMO_TEST(s, test_status__names_and_texts);
    MNEMO_TEST(s, test_status__err_set_formats_and_returns_code);
    MNEMO_TEST(s, test_status__err_set_truncates_at_utf8_boundary);
    return mnemo_test_run();
}
