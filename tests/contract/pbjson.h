/* pbjson.h - protobuf-c messages to and from JSON trees (jansson), as the
 * contract cases write them (tests/contract/README.md): field names as in
 * the .proto files, enums by name, maps as objects, every field present
 * in output (unset message fields excepted), 64-bit integers as numbers.
 *
 * DESIGN: driven only by the protoc-c descriptors, so one converter serves
 * every message of every service the C runner calls. Messages built here
 * are allocated with the system allocator, field by field, exactly as
 * protobuf_c_message_free_unpacked(msg, NULL) frees them, so requests are
 * freed like responses (mnemo_client_free_message). Bytes fields are not
 * supported (no mnemo message has one): an error on input, null on output.
 * Threads: no shared state; any thread.
 */
#ifndef MNEMO_PBJSON_H
#define MNEMO_PBJSON_H

#include <stddef.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

/* Builds a message of desc from obj (a JSON object, or NULL for the empty
 * message). On success returns 0 with *out the caller's
 * (protobuf_c_message_free_unpacked(*out, NULL)); on failure returns -1
 * with err (err_len bytes) naming the field and what was wrong: an unknown
 * field, a value of the wrong JSON type, an unknown enum name. */
int pbjson_to_message(ProtobufCMessage **out, const ProtobufCMessageDescriptor *desc,
                      const json_t *obj, char *err, size_t err_len);

/* A new JSON object (the caller's reference) holding every field of msg. */
json_t *pbjson_from_message(const ProtobufCMessage *msg);

#endif
