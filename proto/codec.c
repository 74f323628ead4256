/* codec.c - grpc_byte_buffer <-> protobuf-c message (see codec.h).
 *
 * DESIGN: protobuf_c_message_unpack copies what it needs, so the flattened
 * slice is released right after unpacking. Encoding packs straight into one
 * slice that the byte buffer takes over. Thread-safe.
 */
#include "mnemo/codec.h"

#include <assert.h>
#include <stdio.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>

mnemo_status_t mnemo_codec_decode(ProtobufCMessage **out, const ProtobufCMessageDescriptor *desc,
                                  grpc_byte_buffer *payload, mnemo_err_t *err)
{
    grpc_slice flat = grpc_empty_slice();
    if (payload != NULL) {
        grpc_byte_buffer_reader reader;
        if (!grpc_byte_buffer_reader_init(&reader, payload))
            return mnemo_err_set(err, MNEMO_EINVAL, "request: cannot read the payload");
        flat = grpc_byte_buffer_reader_readall(&reader);
        grpc_byte_buffer_reader_destroy(&reader);
    }
    ProtobufCMessage *msg = protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(flat),
                                                      GRPC_SLICE_START_PTR(flat));
    grpc_slice_unref(flat);
    if (msg == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "request: not a valid %s", desc->name);
    *out = msg;
    return MNEMO_OK;
}

grpc_byte_buffer *mnemo_codec_encode(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    grpc_slice slice = grpc_slice_malloc(len);
    size_t written = protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(slice));
    assert(written == len);
    (void)written;
    grpc_byte_buffer *buf = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return buf;
}

void mnemo_codec_free(ProtobufCMessage *msg)
{
    if (msg != NULL)
        protobuf_c_message_free_unpacked(msg, NULL);
}

void mnemo_method_path(char buf[MNEMO_METHOD_PATH_MAX], const ProtobufCServiceDescriptor *svc,
                       unsigned index)
{
    assert(index < svc->n_methods);
    int n = snprintf(buf, MNEMO_METHOD_PATH_MAX, "/%s/%s", svc->name, svc->methods[index].name);
    assert(n > 0 && n < MNEMO_METHOD_PATH_MAX);
    (void)n;
}
