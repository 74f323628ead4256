/* pbjson.c - protobuf-c messages to and from JSON trees (pbjson.h).
 *
 * DESIGN: a field's storage is found from its descriptor: the value (or the
 * array of values) at `offset`, the count (repeated), has-flag (optional)
 * or oneof case at `quantifier_offset`. A map field is a repeated message
 * of an "...Entry" type with fields key and value; in JSON it is an object,
 * and each entry is converted through the same code as any message.
 */
#include "pbjson.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "why.h"

static size_t elt_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM:
        return sizeof(int);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    }
    return 0;
}

static bool is_map(const ProtobufCFieldDescriptor *f)
{
    if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE)
        return false;
    const ProtobufCMessageDescriptor *d = f->descriptor;
    size_t n = strlen(d->name);
    return n > 5 && strcmp(d->name + n - 5, "Entry") == 0 && d->n_fields == 2 &&
           strcmp(d->fields[0].name, "key") == 0 && strcmp(d->fields[1].name, "value") == 0;
}

/* A JSON integer, an integral real, or (for 64-bit fields) a decimal string. */
static int json_to_int(int64_t *out, const json_t *v)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v))) {
        *out = (int64_t)json_real_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        char *end = NULL;
        long long x = strtoll(json_string_value(v), &end, 10);
        if (end != json_string_value(v) && *end == '\0') {
            *out = x;
            return 0;
        }
    }
    return -1;
}

static int set_int(const ProtobufCFieldDescriptor *f, void *dst, const json_t *v, char *err,
                   size_t len)
{
    int64_t x = 0;
    if (json_to_int(&x, v) != 0)
        return why_set(err, len, "%s: not an integer", f->name);
    if (elt_size(f->type) == 4) {
        if (x < INT32_MIN || x > UINT32_MAX)
            return why_set(err, len, "%s: %lld out of range", f->name, (long long)x);
        int32_t x32 = (int32_t)x;
        memcpy(dst, &x32, 4);
    } else {
        memcpy(dst, &x, 8);
    }
    return 0;
}

static int set_message(const ProtobufCFieldDescriptor *f, void *dst, const json_t *v, char *err,
                       size_t len)
{
    ProtobufCMessage *sub = NULL;
    if (pbjson_to_message(&sub, f->descriptor, v, err, len) != 0)
        return -1;
    *(ProtobufCMessage **)dst = sub;
    return 0;
}

static int set_enum(const ProtobufCFieldDescriptor *f, void *dst, const json_t *v, char *err,
                    size_t len)
{
    const ProtobufCEnumValue *ev = NULL;
    if (json_is_string(v))
        ev = protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, json_string_value(v));
    else if (json_is_integer(v))
        ev = protobuf_c_enum_descriptor_get_value(f->descriptor, (int)json_integer_value(v));
    if (ev == NULL)
        return why_set(err, len, "%s: not a value of %s", f->name,
                       ((const ProtobufCEnumDescriptor *)f->descriptor)->name);
    *(int *)dst = ev->value;
    return 0;
}

/* Stores one JSON value into dst, the storage of one element of field f. */
static int set_value(const ProtobufCFieldDescriptor *f, void *dst, const json_t *v, char *err,
                     size_t len)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        if (!json_is_string(v))
            return why_set(err, len, "%s: not a string", f->name);
        *(char **)dst = strndup(json_string_value(v), json_string_length(v));
        return *(char **)dst == NULL ? why_set(err, len, "out of memory") : 0;
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v))
            return why_set(err, len, "%s: not a boolean", f->name);
        *(protobuf_c_boolean *)dst = json_is_true(v);
        return 0;
    case PROTOBUF_C_TYPE_DOUBLE:
    case PROTOBUF_C_TYPE_FLOAT:
        if (!json_is_number(v))
            return why_set(err, len, "%s: not a number", f->name);
        if (f->type == PROTOBUF_C_TYPE_FLOAT)
            *(float *)dst = (float)json_number_value(v);
        else
            *(double *)dst = json_number_value(v);
        return 0;
    case PROTOBUF_C_TYPE_ENUM:
        return set_enum(f, dst, v, err, len);
    case PROTOBUF_C_TYPE_MESSAGE:
        return set_message(f, dst, v, err, len);
    case PROTOBUF_C_TYPE_BYTES:
        return why_set(err, len, "%s: bytes fields are not supported", f->name);
    default:
        return set_int(f, dst, v, err, len);
    }
}

/* A repeated field from a JSON array, or a map field from a JSON object
 * (each entry converted as the message {"key": k, "value": v}). */
static int set_repeated(const ProtobufCFieldDescriptor *f, char *msg, const json_t *v, char *err,
                        size_t len)
{
    bool map = is_map(f);
    if (map ? !json_is_object(v) : !json_is_array(v))
        return why_set(err, len, "%s: not an %s", f->name, map ? "object" : "array");
    size_t n = map ? json_object_size(v) : json_array_size(v), i = 0;
    char *arr = calloc(n ? n : 1, elt_size(f->type));
    if (arr == NULL)
        return why_set(err, len, "out of memory");
    *(void **)(msg + f->offset) = arr;
    size_t *count = (size_t *)(msg + f->quantifier_offset);
    if (map) {
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)v, key, val)
        {
            json_t *entry = json_pack("{s:s,s:O}", "key", key, "value", val);
            int rc = entry ? set_value(f, arr + i * elt_size(f->type), entry, err, len) : -1;
            json_decref(entry);
            if (rc != 0)
                return -1;
            *count = ++i;
        }
        return 0;
    }
    for (; i < n; i++) {
        if (set_value(f, arr + i * elt_size(f->type), json_array_get(v, i), err, len) != 0)
            return -1;
        *count = i + 1;
    }
    return 0;
}

static int set_field(const ProtobufCFieldDescriptor *f, char *msg, const json_t *v, char *err,
                     size_t len)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return set_repeated(f, msg, v, err, len);
    if (set_value(f, msg + f->offset, v, err, len) != 0)
        return -1;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        *(uint32_t *)(msg + f->quantifier_offset) = f->id;
    else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
             f->type != PROTOBUF_C_TYPE_MESSAGE)
        *(protobuf_c_boolean *)(msg + f->quantifier_offset) = 1;
    return 0;
}

int pbjson_to_message(ProtobufCMessage **out, const ProtobufCMessageDescriptor *desc,
                      const json_t *obj, char *err, size_t err_len)
{
    if (obj != NULL && !json_is_object(obj))
        return why_set(err, err_len, "%s: not an object", desc->name);
    ProtobufCMessage *msg = calloc(1, desc->sizeof_message);
    if (msg == NULL)
        return why_set(err, err_len, "out of memory");
    desc->message_init(msg);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name(desc, key);
        if (f == NULL) {
            protobuf_c_message_free_unpacked(msg, NULL);
            return why_set(err, err_len, "%s has no field %s", desc->name, key);
        }
        if (set_field(f, (char *)msg, v, err, err_len) != 0) {
            protobuf_c_message_free_unpacked(msg, NULL);
            return -1;
        }
    }
    *out = msg;
    return 0;
}

/* ---- to JSON ------------------------------------------------------------- */

static json_t *int_json(const ProtobufCFieldDescriptor *f, const void *src)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *)src);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *)src);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return json_integer((json_int_t) * (const uint64_t *)src);
    default:
        return json_integer(*(const int64_t *)src);
    }
}

static json_t *value_json(const ProtobufCFieldDescriptor *f, const void *src)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)src;
        return json_string(s != NULL ? s : "");
    }
    case PROTOBUF_C_TYPE_BOOL:
        return json_boolean(*(const protobuf_c_boolean *)src);
    case PROTOBUF_C_TYPE_DOUBLE:
        return json_real(*(const double *)src);
    case PROTOBUF_C_TYPE_FLOAT:
        return json_real(*(const float *)src);
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *)src);
        return ev != NULL ? json_string(ev->name) : json_integer(*(const int *)src);
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)src;
        return sub != NULL ? pbjson_from_message(sub) : json_null();
    }
    case PROTOBUF_C_TYPE_BYTES:
        return json_null();
    default:
        return int_json(f, src);
    }
}

static json_t *repeated_json(const ProtobufCFieldDescriptor *f, const char *msg)
{
    size_t n = *(const size_t *)(msg + f->quantifier_offset);
    const char *arr = *(char *const *)(msg + f->offset);
    json_t *out = is_map(f) ? json_object() : json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *v = value_json(f, arr + i * elt_size(f->type));
        if (json_is_object(out)) {
            json_object_set(out, json_string_value(json_object_get(v, "key")),
                            json_object_get(v, "value"));
            json_decref(v);
        } else {
            json_array_append_new(out, v);
        }
    }
    return out;
}

json_t *pbjson_from_message(const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    const char *base = (const char *)msg;
    json_t *obj = json_object();
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + f->quantifier_offset) != f->id)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            json_object_set_new(obj, f->name, repeated_json(f, base));
            continue;
        }
        if (f->type == PROTOBUF_C_TYPE_MESSAGE &&
            *(ProtobufCMessage *const *)(base + f->offset) == NULL)
            continue; /* unset message fields are absent */
        json_object_set_new(obj, f->name, value_json(f, base + f->offset));
    }
    return obj;
}
