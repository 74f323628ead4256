/* codec.h - the one codec between gRPC byte buffers and protobuf-c messages,
 * and the method paths derived from protoc-c service descriptors.
 *
 * DESIGN: server and client are driven by the protoc-c descriptors: a method
 * is (service descriptor, method index), its path is "/" + service full name
 * + "/" + method name, and its messages are decoded and encoded generically
 * with the method's input and output descriptors. This file is the only user
 * of protobuf_c_message_unpack/pack/free_unpacked and of the byte buffer
 * reader. Thread-safe.
 */
#ifndef MNEMO_CODEC_H
#define MNEMO_CODEC_H

#include <grpc/byte_buffer.h>
#include <protobuf-c/protobuf-c.h>

#include "mnemo/status.h"

/* Longest method path we build ("/" service "/" method). */
#define MNEMO_METHOD_PATH_MAX 160

/* Decodes payload (NULL is the empty message) as a message of desc. *out is
 * the caller's (mnemo_codec_free). MNEMO_EINVAL when the bytes do not parse
 * ("request: not a valid <message name>") or when a string field holds a
 * NUL byte, which protobuf-c's C strings cannot carry ("<field>: must not
 * contain NUL bytes"). payload is not consumed. */
mnemo_status_t mnemo_codec_decode(ProtobufCMessage **out, const ProtobufCMessageDescriptor *desc,
                                  grpc_byte_buffer *payload, mnemo_err_t *err);

/* Encodes msg into a new byte buffer (the caller's, grpc_byte_buffer_destroy). */
grpc_byte_buffer *mnemo_codec_encode(const ProtobufCMessage *msg);

/* Decodes data[0..len) as a message of desc (no NUL check: for trusted
 * bytes such as the embedded descriptor set). NULL when it does not parse. */
ProtobufCMessage *mnemo_codec_unpack(const ProtobufCMessageDescriptor *desc, const void *data,
                                     size_t len);

/* Packs msg into a new buffer (the caller's, free()); *len gets its size. */
void *mnemo_codec_pack(const ProtobufCMessage *msg, size_t *len);

/* Frees a message returned by mnemo_codec_decode or _unpack. NULL: no-op. */
void mnemo_codec_free(ProtobufCMessage *msg);

/* Writes the method path of svc->methods[index] into buf. */
void mnemo_method_path(char buf[MNEMO_METHOD_PATH_MAX], const ProtobufCServiceDescriptor *svc,
                       unsigned index);

#endif
