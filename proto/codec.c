/* codec.c - grpc_byte_buffer <-> protobuf-c message (see codec.h).
 *
 * DESIGN: protobuf_c_message_unpack copies what it needs, so the flattened
 * slice is released right after unpacking. Encoding packs straight into one
 * slice that the byte buffer takes over. protobuf-c hands `string` fields
 * over as NUL-terminated C strings and drops their length, so a string with
 * a NUL byte inside would silently lose its tail; before unpacking, a walk
 * over the wire bytes (guided by the message descriptor, into nested
 * messages and map entries) refuses such strings, naming the field.
 * Thread-safe.
 */
#include "mnemo/codec.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>

typedef struct wire {
    const uint8_t *p, *end;
} wire_t;

static bool wire_varint(wire_t *w, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; shift < 64 && w->p < w->end; shift += 7) {
        uint8_t c = *w->p++;
        *v |= (uint64_t)(c & 0x7f) << shift;
        if ((c & 0x80) == 0)
            return true;
    }
    return false;
}

/* Skips a field of wire type t; false when the bytes run out. */
static bool wire_skip(wire_t *w, unsigned t, uint64_t *len)
{
    uint64_t v = 0;
    size_t left = (size_t)(w->end - w->p);
    switch (t) {
    case 0:
        return wire_varint(w, &v);
    case 1:
        return left >= 8 ? (w->p += 8, true) : false;
    case 5:
        return left >= 4 ? (w->p += 4, true) : false;
    case 2:
        if (!wire_varint(w, len) || *len > (uint64_t)(w->end - w->p))
            return false;
        w->p += *len;
        return true;
    default:
        return false;
    }
}

/* What scan_wire finds that protobuf-c would let through. */
typedef enum wire_flaw { WIRE_OK, WIRE_NUL_STRING, WIRE_FIELD_ZERO } wire_flaw_t;

/* Walks the message's keys (and those of nested messages): a string field
 * holding a NUL byte (its path written into field), or a key of field
 * number 0, which protobuf-c 1.4.1 accepts when spelled in two bytes
 * (80 00), keeps as an unknown field and then refuses to re-pack. */
static wire_flaw_t scan_wire(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t n,
                             char *field, size_t cap, int depth)
{
    wire_t w = {p, p + n};
    uint64_t key = 0, len = 0;
    while (w.p < w.end && depth < 16 && wire_varint(&w, &key)) {
        if ((key >> 3) == 0)
            return WIRE_FIELD_ZERO;
        if (!wire_skip(&w, (unsigned)(key & 7), &len))
            return WIRE_OK; /* protobuf-c refuses it */
        if ((key & 7) != 2)
            continue;
        const uint8_t *start = w.p - len;
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field(desc, (unsigned)(key >> 3));
        if (f == NULL)
            continue;
        size_t used = strlen(field);
        snprintf(field + used, cap - used, "%s%s", used ? "." : "", f->name);
        if (f->type == PROTOBUF_C_TYPE_STRING && memchr(start, 0, (size_t)len) != NULL)
            return WIRE_NUL_STRING;
        if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            wire_flaw_t flaw = scan_wire(f->descriptor, start, (size_t)len, field, cap, depth + 1);
            if (flaw != WIRE_OK)
                return flaw;
        }
        field[used] = '\0';
    }
    return WIRE_OK;
}

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
    char field[128] = "";
    wire_flaw_t flaw = scan_wire(desc, GRPC_SLICE_START_PTR(flat), GRPC_SLICE_LENGTH(flat), field,
                                 sizeof field, 0);
    if (flaw != WIRE_OK) {
        grpc_slice_unref(flat);
        return flaw == WIRE_NUL_STRING
                   ? mnemo_err_set(err, MNEMO_EINVAL, "%s: must not contain NUL bytes", field)
                   : mnemo_err_set(err, MNEMO_EINVAL, "request: not a valid %s (field number 0)",
                                   desc->name);
    }
    ProtobufCMessage *msg =
        protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(flat), GRPC_SLICE_START_PTR(flat));
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

ProtobufCMessage *mnemo_codec_unpack(const ProtobufCMessageDescriptor *desc, const void *data,
                                     size_t len)
{
    return protobuf_c_message_unpack(desc, NULL, len, data);
}

void *mnemo_codec_pack(const ProtobufCMessage *msg, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(msg);
    void *buf = malloc(*len ? *len : 1);
    if (buf == NULL)
        abort();
    size_t written = protobuf_c_message_pack(msg, buf);
    assert(written == *len);
    (void)written;
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
