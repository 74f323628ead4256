/* test_codec.c - byte buffer <-> protobuf-c messages and method paths. */
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/slice.h>

#include "grpc/health/v1/health.pb-c.h"
#include "mnemo/codec.h"
#include "mnemo/v1/memory.pb-c.h"
#include "testutil.h"

static grpc_byte_buffer *buffer_of(const void *data, size_t len)
{
    grpc_slice s = grpc_slice_from_copied_buffer(data, len);
    grpc_byte_buffer *buf = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return buf;
}

static void test_codec__round_trips_a_message(void)
{
    char *tags[] = {"a", "b"};
    Mnemo__V1__StoreMemoryRequest req = MNEMO__V1__STORE_MEMORY_REQUEST__INIT;
    req.content = "hello world";
    req.tags = tags;
    req.n_tags = 2;
    grpc_byte_buffer *buf = mnemo_codec_encode(&req.base);
    ProtobufCMessage *out = NULL;
    mnemo_err_t err;
    CU_ASSERT_EQUAL_FATAL(
        mnemo_codec_decode(&out, &mnemo__v1__store_memory_request__descriptor, buf, &err),
        MNEMO_OK);
    Mnemo__V1__StoreMemoryRequest *back = (Mnemo__V1__StoreMemoryRequest *)out;
    CU_ASSERT_STRING_EQUAL(back->content, "hello world");
    CU_ASSERT_EQUAL(back->n_tags, 2);
    CU_ASSERT_STRING_EQUAL(back->tags[1], "b");
    mnemo_codec_free(out);
    grpc_byte_buffer_destroy(buf);
}

static void test_codec__null_payload_is_the_empty_message(void)
{
    ProtobufCMessage *out = NULL;
    CU_ASSERT_EQUAL_FATAL(
        mnemo_codec_decode(&out, &mnemo__v1__get_memory_request__descriptor, NULL, NULL), MNEMO_OK);
    CU_ASSERT_STRING_EQUAL(((Mnemo__V1__GetMemoryRequest *)out)->id, "");
    mnemo_codec_free(out);
}

static void test_codec__garbage_is_invalid_argument_naming_the_message(void)
{
    static const unsigned char garbage[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};
    grpc_byte_buffer *buf = buffer_of(garbage, sizeof garbage);
    ProtobufCMessage *out = NULL;
    mnemo_err_t err;
    CU_ASSERT_EQUAL(
        mnemo_codec_decode(&out, &mnemo__v1__store_memory_request__descriptor, buf, &err),
        MNEMO_EINVAL);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "mnemo.v1.StoreMemoryRequest"));
    grpc_byte_buffer_destroy(buf);
}

static void expect_nul_refused(const ProtobufCMessage *msg, const char *field)
{
    unsigned char packed[256];
    size_t len = protobuf_c_message_pack(msg, packed);
    /* Turn the 'X' placeholder into a NUL byte inside the string. */
    unsigned char *x = memchr(packed, 'X', len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    *x = '\0';
    grpc_byte_buffer *buf = buffer_of(packed, len);
    ProtobufCMessage *out = NULL;
    mnemo_err_t err;
    CU_ASSERT_EQUAL(mnemo_codec_decode(&out, msg->descriptor, buf, &err), MNEMO_EINVAL);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, field));
    grpc_byte_buffer_destroy(buf);
}

static void test_codec__refuses_nul_inside_strings(void)
{
    Mnemo__V1__StoreMemoryRequest req = MNEMO__V1__STORE_MEMORY_REQUEST__INIT;
    req.content = "aXb";
    expect_nul_refused(&req.base, "content: must not contain NUL");

    Mnemo__V1__StoreMemoryRequest__MetadataEntry e =
        MNEMO__V1__STORE_MEMORY_REQUEST__METADATA_ENTRY__INIT;
    Mnemo__V1__StoreMemoryRequest__MetadataEntry *entries[] = {&e};
    e.key = "k";
    e.value = "vX";
    req.content = "ok";
    req.metadata = entries;
    req.n_metadata = 1;
    expect_nul_refused(&req.base, "metadata.value");
}

/* Field number 0 is invalid protobuf. protobuf-c 1.4.1 refuses its
 * one-byte key (00) but keeps a two-byte one (80 00) as an unknown field,
 * which it then cannot pack again: the codec refuses both (found by
 * tests/fuzz/fuzz_request). */
static void test_codec__refuses_field_number_zero(void)
{
    static const uint8_t two_byte_key[] = {0x0a, 0x01, 'x', 0x80, 0x00, 0x01};
    static const uint8_t alone[] = {0x80, 0x00, 0x00};
    const uint8_t *cases[] = {two_byte_key, alone};
    size_t lens[] = {sizeof two_byte_key, sizeof alone};
    for (size_t i = 0; i < 2; i++) {
        grpc_slice slice = grpc_slice_from_copied_buffer((const char *)cases[i], lens[i]);
        grpc_byte_buffer *buf = grpc_raw_byte_buffer_create(&slice, 1);
        grpc_slice_unref(slice);
        ProtobufCMessage *out = NULL;
        mnemo_err_t err = {{0}};
        CU_ASSERT_EQUAL(
            mnemo_codec_decode(&out, &mnemo__v1__get_memory_request__descriptor, buf, &err),
            MNEMO_EINVAL);
        CU_ASSERT_PTR_NULL(out);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "field number 0"));
        grpc_byte_buffer_destroy(buf);
    }
}

static void test_codec__decodes_messages_spanning_slices(void)
{
    Mnemo__V1__GetMemoryRequest req = MNEMO__V1__GET_MEMORY_REQUEST__INIT;
    req.id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    unsigned char packed[128];
    size_t len = protobuf_c_message_pack(&req.base, packed);
    grpc_slice parts[2] = {grpc_slice_from_copied_buffer((char *)packed, 10),
                           grpc_slice_from_copied_buffer((char *)packed + 10, len - 10)};
    grpc_byte_buffer *buf = grpc_raw_byte_buffer_create(parts, 2);
    grpc_slice_unref(parts[0]);
    grpc_slice_unref(parts[1]);
    ProtobufCMessage *out = NULL;
    CU_ASSERT_EQUAL_FATAL(
        mnemo_codec_decode(&out, &mnemo__v1__get_memory_request__descriptor, buf, NULL), MNEMO_OK);
    CU_ASSERT_STRING_EQUAL(((Mnemo__V1__GetMemoryRequest *)out)->id, req.id);
    mnemo_codec_free(out);
    grpc_byte_buffer_destroy(buf);
}

static void test_codec__method_paths_come_from_descriptors(void)
{
    char path[MNEMO_METHOD_PATH_MAX];
    const ProtobufCMethodDescriptor *m = protobuf_c_service_descriptor_get_method_by_name(
        &mnemo__v1__memory_service__descriptor, "RetrieveMemory");
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    mnemo_method_path(path, &mnemo__v1__memory_service__descriptor,
                      (unsigned)(m - mnemo__v1__memory_service__descriptor.methods));
    CU_ASSERT_STRING_EQUAL(path, "/mnemo.v1.MemoryService/RetrieveMemory");
    mnemo_method_path(path, &grpc__health__v1__health__descriptor, 0);
    CU_ASSERT_STRING_EQUAL(path, "/grpc.health.v1.Health/Check");
}

int main(void)
{
    grpc_init();
    CU_pSuite s = mnemo_test_suite("codec");
    MNEMO_TEST(s, test_codec__round_trips_a_message);
    MNEMO_TEST(s, test_codec__null_payload_is_the_empty_message);
    MNEMO_TEST(s, test_codec__garbage_is_invalid_argument_naming_the_message);
    MNEMO_TEST(s, test_codec__refuses_nul_inside_strings);
    MNEMO_TEST(s, test_codec__refuses_field_number_zero);
    MNEMO_TEST(s, test_codec__decodes_messages_spanning_slices);
    MNEMO_TEST(s, test_codec__method_paths_come_from_descriptors);
    int rc = mnemo_test_run();
    grpc_shutdown();
    return rc;
}
