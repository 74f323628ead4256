/* fuzz_request.c - libFuzzer target: every request mnemod decodes, and the
 * checks its handler runs on it.
 *
 * DESIGN: the first input byte picks a row of the method tables
 * (mnemo_rpc_tables, rows in order, (byte & 0x7f) modulo their number);
 * its bit 7 picks tight limits instead of mnemod's defaults, so that both
 * sides of every limit are reached by small inputs. The rest of the input
 * is the request payload: it is decoded into the method's input type with
 * mnemo_codec_decode, as call.c decodes a call, then goes through the
 * method's validation: the rpc layer's checks (rpc.h) and, for requests
 * carrying a repository name, the code index's check of it, which runs
 * first in the domain function the handler calls. Beyond "no crash, leak
 * or UB" it checks:
 *   - a refused request is MNEMO_EINVAL, with a message that starts with a
 *     field of the request ("tags[3]: ...", "metadata[0].key: ...");
 *   - a resolved count is within its range and set only on success;
 *   - no decoded request holds a field numbered 0 (protobuf-c 1.4 takes
 *     one whose key is spelled in two bytes, 80 00, and cannot re-pack
 *     it; the codec refuses it: see has_field_zero);
 *   - a request that passes re-encodes (mnemo_codec_encode), the bytes
 *     decode again, pass again, and pack to the same bytes.
 * Every row of the tables must have a row in `methods` below and the other
 * way round (LLVMFuzzerInitialize aborts naming the odd one), so an RPC
 * cannot be added, or renamed, without this target following it.
 */
#include <stdbool.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/slice.h>

#include "fuzz.h"
#include "mnemo/codec.h"
#include "rpc.h"
#include "sync.h"

/* The method's validation; NULL count when it resolves none. */
typedef mnemo_status_t (*check_fn)(size_t *count, const ProtobufCMessage *msg,
                                   const mnemo_limits_t *lim, mnemo_err_t *err);

/* No field limit checked before the domain call (health, reflection). */
static mnemo_status_t check_none(size_t *count, const ProtobufCMessage *msg,
                                 const mnemo_limits_t *lim, mnemo_err_t *err)
{
    return MNEMO_OK;
}

static mnemo_status_t check_store_memory(size_t *count, const ProtobufCMessage *msg,
                                         const mnemo_limits_t *lim, mnemo_err_t *err)
{
    return mnemo_rpc_check_store_memory((const Mnemo__V1__StoreMemoryRequest *)msg, lim, err);
}

static mnemo_status_t check_get_memory(size_t *count, const ProtobufCMessage *msg,
                                       const mnemo_limits_t *lim, mnemo_err_t *err)
{
    return mnemo_rpc_check_get_memory((const Mnemo__V1__GetMemoryRequest *)msg, err);
}

static mnemo_status_t check_delete_memory(size_t *count, const ProtobufCMessage *msg,
                                          const mnemo_limits_t *lim, mnemo_err_t *err)
{
    return mnemo_rpc_check_delete_memory((const Mnemo__V1__DeleteMemoryRequest *)msg, err);
}

static mnemo_status_t check_list_memories(size_t *count, const ProtobufCMessage *msg,
                                          const mnemo_limits_t *lim, mnemo_err_t *err)
{
    return mnemo_rpc_check_list_memories(count, (const Mnemo__V1__ListMemoriesRequest *)msg, lim,
                                         err);
}

static mnemo_status_t check_retrieve_memory(size_t *count, const ProtobufCMessage *msg,
                                            const mnemo_limits_t *lim, mnemo_err_t *err)
{
    return mnemo_rpc_check_retrieve_memory(count, (const Mnemo__V1__RetrieveMemoryRequest *)msg,
                                           lim, err);
}

static mnemo_status_t check_search_by_tag(size_t *count, const ProtobufCMessage *msg,
                                          const mnemo_limits_t *lim, mnemo_err_t *err)
{
    return mnemo_rpc_check_search_by_tag(count, (const Mnemo__V1__SearchByTagRequest *)msg, lim,
                                         err);
}

static mnemo_status_t check_sync_repository(size_t *count, const ProtobufCMessage *msg,
                                            const mnemo_limits_t *lim, mnemo_err_t *err)
{
    const Mnemo__V1__SyncRepositoryRequest *req = (const Mnemo__V1__SyncRepositoryRequest *)msg;
    size_t n = 0;
    mnemo_status_t st = mnemo_rpc_check_sync_repository(&n, req, err);
    if (st == MNEMO_OK) /* the path is resolved on disk: not for a fuzzer */
        st = mnemo_codeindex_check_name(req->repository_name, "repository_name", true, err);
    if (st == MNEMO_OK)
        *count = n;
    return st;
}

/* WatchSync, GetSyncStatus, CancelSync and DeleteRepository carry one
 * field, repository_name, in the same place (field 1, a string). */
static mnemo_status_t check_repository_name(size_t *count, const ProtobufCMessage *msg,
                                            const mnemo_limits_t *lim, mnemo_err_t *err)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, "repository_name");
    FUZZ_CHECK(f != NULL && f->type == PROTOBUF_C_TYPE_STRING);
    const char *name = *(char *const *)(const void *)((const char *)msg + f->offset);
    return mnemo_codeindex_check_name(name, "repository_name", false, err);
}

static mnemo_status_t check_list_repositories(size_t *count, const ProtobufCMessage *msg,
                                              const mnemo_limits_t *lim, mnemo_err_t *err)
{
    return mnemo_rpc_check_list_repositories(count, (const Mnemo__V1__ListRepositoriesRequest *)msg,
                                             lim, err);
}

static mnemo_status_t check_search_code(size_t *count, const ProtobufCMessage *msg,
                                        const mnemo_limits_t *lim, mnemo_err_t *err)
{
    const Mnemo__V1__SearchCodeRequest *req = (const Mnemo__V1__SearchCodeRequest *)msg;
    size_t n = 0;
    mnemo_status_t st = mnemo_rpc_check_search_code(&n, req, lim, err);
    if (st == MNEMO_OK)
        st = mnemo_codeindex_check_name(req->repository_name, "repository_name", true, err);
    if (st == MNEMO_OK)
        *count = n;
    return st;
}

enum count_kind { NO_COUNT, PAGE_SIZE, LIMIT, BATCH_SIZE };

typedef struct method_check {
    const char *service; /* as served (mnemo_method_service) */
    const char *name;
    check_fn check;
    enum count_kind count; /* what the check resolves */
} method_check_t;

static const method_check_t methods[] = {
    {"mnemo.v1.MemoryService", "StoreMemory", check_store_memory, NO_COUNT},
    {"mnemo.v1.MemoryService", "GetMemory", check_get_memory, NO_COUNT},
    {"mnemo.v1.MemoryService", "DeleteMemory", check_delete_memory, NO_COUNT},
    {"mnemo.v1.MemoryService", "ListMemories", check_list_memories, PAGE_SIZE},
    {"mnemo.v1.MemoryService", "RetrieveMemory", check_retrieve_memory, LIMIT},
    {"mnemo.v1.MemoryService", "SearchByTag", check_search_by_tag, LIMIT},
    {"mnemo.v1.RepositoryService", "SyncRepository", check_sync_repository, BATCH_SIZE},
    {"mnemo.v1.RepositoryService", "WatchSync", check_repository_name, NO_COUNT},
    {"mnemo.v1.RepositoryService", "GetSyncStatus", check_repository_name, NO_COUNT},
    {"mnemo.v1.RepositoryService", "CancelSync", check_repository_name, NO_COUNT},
    {"mnemo.v1.RepositoryService", "ListRepositories", check_list_repositories, PAGE_SIZE},
    {"mnemo.v1.RepositoryService", "DeleteRepository", check_repository_name, NO_COUNT},
    {"mnemo.v1.RepositoryService", "SearchCode", check_search_code, LIMIT},
    {"grpc.health.v1.Health", "Check", check_none, NO_COUNT},
    {"grpc.health.v1.Health", "Watch", check_none, NO_COUNT},
    {"grpc.reflection.v1.ServerReflection", "ServerReflectionInfo", check_none, NO_COUNT},
    {"grpc.reflection.v1alpha.ServerReflection", "ServerReflectionInfo", check_none, NO_COUNT},
};
#define N_METHODS (sizeof methods / sizeof methods[0])

/* A row of the method tables, resolved at start. */
typedef struct target {
    const char *service, *name;
    const ProtobufCMessageDescriptor *input;
    const method_check_t *check;
} target_t;

static target_t targets[64];
static size_t n_targets;
static mnemo_limits_t default_limits;

/* Small enough that a few bytes cross every limit; the default counts stay
 * within max_limit, as mnemod's do. */
static const mnemo_limits_t tight_limits = {
    .max_content_bytes = 16,
    .max_tags = 2,
    .max_tag_bytes = 4,
    .max_metadata = 2,
    .max_meta_key_bytes = 4,
    .max_meta_value_bytes = 8,
    .max_query_bytes = 8,
    .default_limit = 3,
    .default_page_size = 4,
    .max_limit = 5,
};

static const method_check_t *find_check(const char *service, const char *name)
{
    for (size_t i = 0; i < N_METHODS; i++)
        if (strcmp(methods[i].service, service) == 0 && strcmp(methods[i].name, name) == 0)
            return &methods[i];
    return NULL;
}

/* Resolves every row of the tables; aborts on a row without a check or a
 * check without a row. */
static void resolve_targets(void)
{
    bool used[N_METHODS] = {false};
    for (size_t t = 0; t < mnemo_rpc_n_tables; t++) {
        for (const mnemo_method_t *m = mnemo_rpc_tables[t]; m->name != NULL; m++) {
            const char *service = mnemo_method_service(m);
            const ProtobufCMethodDescriptor *md =
                protobuf_c_service_descriptor_get_method_by_name(m->service, m->name);
            const method_check_t *c = find_check(service, m->name);
            if (md == NULL || c == NULL || n_targets == sizeof targets / sizeof targets[0]) {
                fprintf(stderr, "fuzz_request: add %s/%s to `methods` in %s\n", service, m->name,
                        __FILE__);
                abort();
            }
            used[c - methods] = true;
            targets[n_targets++] = (target_t){service, m->name, md->input, c};
        }
    }
    for (size_t i = 0; i < N_METHODS; i++) {
        if (!used[i]) {
            fprintf(stderr, "fuzz_request: %s/%s is in no method table: remove it from %s\n",
                    methods[i].service, methods[i].name, __FILE__);
            abort();
        }
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    mnemo_config_t cfg;
    mnemo_config_init(&cfg);
    default_limits = cfg.limits;
    mnemo_config_cleanup(&cfg);
    resolve_targets();
    return 0;
}

/* A refusal names a field of desc: its message starts with "<field>",
 * then '[', '.' or ':'. */
static void check_refusal(mnemo_status_t st, const mnemo_err_t *err,
                          const ProtobufCMessageDescriptor *desc)
{
    FUZZ_CHECK(st == MNEMO_EINVAL);
    char field[128];
    size_t n = strcspn(err->msg, "[.:");
    FUZZ_CHECK(n > 0 && n < sizeof field && err->msg[n] != '\0');
    memcpy(field, err->msg, n);
    field[n] = '\0';
    if (protobuf_c_message_descriptor_get_field_by_name(desc, field) == NULL) {
        fprintf(stderr, "refusal names no field of %s: \"%s\"\n", desc->name, err->msg);
        abort();
    }
}

static void check_count(enum count_kind kind, size_t count, const mnemo_limits_t *lim)
{
    switch (kind) {
    case NO_COUNT:
        FUZZ_CHECK(count == SIZE_MAX);
        break;
    case PAGE_SIZE:
    case LIMIT:
        FUZZ_CHECK(count >= 1 && count <= lim->max_limit);
        break;
    case BATCH_SIZE:
        FUZZ_CHECK(count <= MNEMO_SYNC_BATCH_MAX);
        break;
    }
}

/* Runs the target's check; returns whether msg passed. */
static bool validate(const target_t *t, const ProtobufCMessage *msg, const mnemo_limits_t *lim)
{
    mnemo_err_t err = {{0}};
    size_t count = SIZE_MAX; /* must stay untouched unless the check passes */
    size_t *out = t->check->count != NO_COUNT ? &count : NULL;
    mnemo_status_t st = t->check->check(out, msg, lim, &err);
    if (st != MNEMO_OK) {
        check_refusal(st, &err, t->input);
        FUZZ_CHECK(count == SIZE_MAX);
        return false;
    }
    check_count(t->check->count, count, lim);
    return true;
}

static grpc_byte_buffer *buffer_of(const uint8_t *data, size_t size)
{
    grpc_slice slice = grpc_slice_from_copied_buffer((const char *)data, size);
    grpc_byte_buffer *buf = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return buf;
}

/* True when msg or a message inside it holds an unknown field numbered 0.
 * Field 0 is invalid protobuf; protobuf_c_message_unpack refuses its
 * one-byte key but keeps it, as an unknown field, when the key is a longer
 * varint, and then packs the one-byte key: mnemo_codec_decode refuses
 * such requests, so no decoded one may hold it. */
static bool has_field_zero(const ProtobufCMessage *msg)
{
    for (unsigned i = 0; i < msg->n_unknown_fields; i++)
        if (msg->unknown_fields[i].tag == 0)
            return true;
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    const char *base = (const char *)msg;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        const void *slot = base + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(const void *)(base + f->quantifier_offset);
            ProtobufCMessage *const *subs = *(ProtobufCMessage *const *const *)slot;
            for (size_t k = 0; k < n; k++)
                if (has_field_zero(subs[k]))
                    return true;
            continue;
        }
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0 &&
            *(const uint32_t *)(const void *)(base + f->quantifier_offset) != f->id)
            continue; /* another member of the oneof holds the slot */
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)slot;
        if (sub != NULL && has_field_zero(sub))
            return true;
    }
    return false;
}

/* msg passed: it re-encodes, and what it encodes to decodes, passes and
 * packs to the same bytes. */
static void check_reencode(const target_t *t, const ProtobufCMessage *msg,
                           const mnemo_limits_t *lim)
{
    grpc_byte_buffer *buf = mnemo_codec_encode(msg);
    FUZZ_CHECK(buf != NULL);
    FUZZ_CHECK(!has_field_zero(msg));
    ProtobufCMessage *again = NULL;
    mnemo_err_t err = {{0}};
    mnemo_status_t st = mnemo_codec_decode(&again, t->input, buf, &err);
    grpc_byte_buffer_destroy(buf);
    if (st != MNEMO_OK) {
        fprintf(stderr, "%s/%s: the re-encoded request does not decode: %s\n", t->service, t->name,
                err.msg);
        abort();
    }
    FUZZ_CHECK(validate(t, again, lim));
    size_t len1 = 0, len2 = 0;
    void *bytes1 = mnemo_codec_pack(msg, &len1);
    void *bytes2 = mnemo_codec_pack(again, &len2);
    FUZZ_CHECK(len1 == len2 && memcmp(bytes1, bytes2, len1) == 0);
    free(bytes1);
    free(bytes2);
    mnemo_codec_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const target_t *t = &targets[(data[0] & 0x7f) % n_targets];
    const mnemo_limits_t *lim = (data[0] & 0x80) != 0 ? &tight_limits : &default_limits;
    grpc_byte_buffer *payload = buffer_of(data + 1, size - 1);
    ProtobufCMessage *msg = NULL;
    mnemo_err_t err = {{0}};
    mnemo_status_t st = mnemo_codec_decode(&msg, t->input, payload, &err);
    grpc_byte_buffer_destroy(payload);
    if (st != MNEMO_OK) {
        FUZZ_CHECK(st == MNEMO_EINVAL && msg == NULL && err.msg[0] != '\0');
        return 0;
    }
    if (validate(t, msg, lim))
        check_reencode(t, msg, lim);
    mnemo_codec_free(msg);
    return 0;
}
