/* rpc_reflection.c - grpc.reflection.v1 (and v1alpha) ServerReflection, so
 * generic tools (grpcurl, Postman, evans) can discover mnemod's API.
 *
 * DESIGN: the build compiles every .proto mnemod serves, with its imports,
 * into one FileDescriptorSet and embeds its bytes (mnemo_descriptor_set).
 * On first use it is decoded once into a table of files, each with its
 * packed FileDescriptorProto bytes. A reflection call is a bidirectional
 * stream answered strictly in turn: read a request, write its response,
 * read the next; it ends when the client half-closes. Files are answered
 * with their transitive dependencies, requested file first. Services are
 * listed from the server's method tables, so the list is what is actually
 * registered. v1 and v1alpha share field numbers: one handler serves both.
 *
 * Threads: CQ threads; the table is built under pthread_once and read-only
 * after.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "google/protobuf/descriptor.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "log.h"
#include "mnemo/codec.h"
#include "rpc.h"

extern const unsigned char mnemo_descriptor_set[];
extern const size_t mnemo_descriptor_set_len;

typedef struct refl_file {
    const Google__Protobuf__FileDescriptorProto *proto;
    ProtobufCBinaryData packed;
} refl_file_t;

static struct {
    pthread_once_t once;
    Google__Protobuf__FileDescriptorSet *set;
    refl_file_t *files;
    size_t n_files;
} table = {PTHREAD_ONCE_INIT, NULL, NULL, 0};

static void build_table(void)
{
    table.set = (Google__Protobuf__FileDescriptorSet *)mnemo_codec_unpack(
        &google__protobuf__file_descriptor_set__descriptor, mnemo_descriptor_set,
        mnemo_descriptor_set_len);
    if (table.set == NULL) {
        mnemo_log(MNEMO_LOG_ERROR, "the embedded descriptor set does not parse");
        abort();
    }
    table.n_files = table.set->n_file;
    table.files = mnemo_xcalloc(table.n_files, sizeof *table.files);
    for (size_t i = 0; i < table.n_files; i++) {
        table.files[i].proto = table.set->file[i];
        table.files[i].packed.data =
            mnemo_codec_pack(&table.set->file[i]->base, &table.files[i].packed.len);
    }
}

static const refl_file_t *file_named(const char *name)
{
    for (size_t i = 0; i < table.n_files; i++)
        if (strcmp(table.files[i].proto->name, name) == 0)
            return &table.files[i];
    return NULL;
}

/* True when `symbol` is scope + "." + name (scope may be empty). */
static bool names(const char *symbol, const char *scope, const char *name)
{
    size_t n = strlen(scope);
    if (n == 0)
        return strcmp(symbol, name) == 0;
    return strncmp(symbol, scope, n) == 0 && symbol[n] == '.' && strcmp(symbol + n + 1, name) == 0;
}

static bool message_defines(const Google__Protobuf__DescriptorProto *m, const char *scope,
                            const char *symbol, int depth)
{
    if (names(symbol, scope, m->name))
        return true;
    if (depth > 32)
        return false;
    char inner[512];
    if (snprintf(inner, sizeof inner, "%s%s%s", scope, scope[0] ? "." : "", m->name) >=
        (int)sizeof inner)
        return false; /* longer than any name mnemod serves */
    for (size_t i = 0; i < m->n_enum_type; i++)
        if (names(symbol, inner, m->enum_type[i]->name))
            return true;
    for (size_t i = 0; i < m->n_nested_type; i++)
        if (message_defines(m->nested_type[i], inner, symbol, depth + 1))
            return true;
    return false;
}

static bool file_defines(const Google__Protobuf__FileDescriptorProto *f, const char *symbol)
{
    const char *pkg = f->package != NULL ? f->package : "";
    for (size_t i = 0; i < f->n_message_type; i++)
        if (message_defines(f->message_type[i], pkg, symbol, 0))
            return true;
    for (size_t i = 0; i < f->n_enum_type; i++)
        if (names(symbol, pkg, f->enum_type[i]->name))
            return true;
    for (size_t i = 0; i < f->n_service; i++) {
        const Google__Protobuf__ServiceDescriptorProto *s = f->service[i];
        char scope[512];
        if (snprintf(scope, sizeof scope, "%s%s%s", pkg, pkg[0] ? "." : "", s->name) >=
            (int)sizeof scope)
            continue;
        if (names(symbol, pkg, s->name))
            return true;
        for (size_t j = 0; j < s->n_method; j++)
            if (names(symbol, scope, s->method[j]->name))
                return true;
    }
    return false;
}

static const refl_file_t *file_defining(const char *symbol)
{
    for (size_t i = 0; i < table.n_files; i++)
        if (file_defines(table.files[i].proto, symbol))
            return &table.files[i];
    return NULL;
}

/* Appends f and, depth first, its dependencies to out (no repeats). */
static void add_with_deps(const refl_file_t *f, ProtobufCBinaryData *out, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        if (out[i].data == f->packed.data)
            return;
    out[(*n)++] = f->packed;
    for (size_t i = 0; i < f->proto->n_dependency; i++) {
        const refl_file_t *dep = file_named(f->proto->dependency[i]);
        if (dep != NULL)
            add_with_deps(dep, out, n);
    }
}

/* Distinct service names of the method tables, in table order. */
static size_t served_services(const char **out, size_t cap)
{
    size_t n = 0;
    for (size_t t = 0; t < mnemo_rpc_n_tables; t++) {
        for (const mnemo_method_t *m = mnemo_rpc_tables[t]; m->name != NULL; m++) {
            const char *name = mnemo_method_service(m);
            size_t i = 0;
            while (i < n && strcmp(out[i], name) != 0)
                i++;
            if (i == n && n < cap)
                out[n++] = name;
        }
    }
    return n;
}

typedef Grpc__Reflection__V1__ServerReflectionRequest request_t;
typedef Grpc__Reflection__V1__ServerReflectionResponse response_t;

static void on_request(mnemo_call_t *call, const ProtobufCMessage *msg, void *ctx);

static void on_written(mnemo_call_t *call, bool ok, void *ctx)
{
    if (!ok) {
        mnemo_call_finish(call, MNEMO_ECANCELLED, NULL);
        return;
    }
    mnemo_call_read(call, on_request, ctx);
}

static void write_error(mnemo_call_t *call, response_t *resp, mnemo_status_t st,
                        const char *message)
{
    Grpc__Reflection__V1__ErrorResponse e = GRPC__REFLECTION__V1__ERROR_RESPONSE__INIT;
    e.error_code = mnemo_status_to_code(st);
    e.error_message = (char *)message;
    resp->message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
    resp->error_response = &e;
    mnemo_call_write(call, &resp->base, on_written, NULL);
}

static void write_files(mnemo_call_t *call, response_t *resp, const refl_file_t *f)
{
    ProtobufCBinaryData *files = mnemo_xcalloc(table.n_files, sizeof *files);
    size_t n = 0;
    add_with_deps(f, files, &n);
    Grpc__Reflection__V1__FileDescriptorResponse fr =
        GRPC__REFLECTION__V1__FILE_DESCRIPTOR_RESPONSE__INIT;
    fr.file_descriptor_proto = files;
    fr.n_file_descriptor_proto = n;
    resp->message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
    resp->file_descriptor_response = &fr;
    mnemo_call_write(call, &resp->base, on_written, NULL);
    free(files);
}

static void write_services(mnemo_call_t *call, response_t *resp)
{
    const char *names[32];
    size_t n = served_services(names, sizeof names / sizeof names[0]);
    Grpc__Reflection__V1__ServiceResponse services[32];
    Grpc__Reflection__V1__ServiceResponse *ptrs[32];
    for (size_t i = 0; i < n; i++) {
        grpc__reflection__v1__service_response__init(&services[i]);
        services[i].name = (char *)names[i];
        ptrs[i] = &services[i];
    }
    Grpc__Reflection__V1__ListServiceResponse list =
        GRPC__REFLECTION__V1__LIST_SERVICE_RESPONSE__INIT;
    list.service = ptrs;
    list.n_service = n;
    resp->message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
    resp->list_services_response = &list;
    mnemo_call_write(call, &resp->base, on_written, NULL);
}

/* mnemod defines no extensions: known types get an empty list. */
static void write_extension_numbers(mnemo_call_t *call, response_t *resp, const char *type)
{
    if (file_defining(type) == NULL) {
        write_error(call, resp, MNEMO_ENOTFOUND, "all_extension_numbers_of_type: unknown type");
        return;
    }
    Grpc__Reflection__V1__ExtensionNumberResponse en =
        GRPC__REFLECTION__V1__EXTENSION_NUMBER_RESPONSE__INIT;
    en.base_type_name = (char *)type;
    resp->message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE;
    resp->all_extension_numbers_response = &en;
    mnemo_call_write(call, &resp->base, on_written, NULL);
}

static void answer(mnemo_call_t *call, const request_t *req)
{
    response_t resp = GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__INIT;
    resp.valid_host = req->host;
    resp.original_request = (request_t *)req;
    const refl_file_t *f = NULL;
    switch (req->message_request_case) {
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
        write_services(call, &resp);
        return;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
        if ((f = file_named(req->file_by_filename)) == NULL)
            write_error(call, &resp, MNEMO_ENOTFOUND, "file_by_filename: unknown file");
        else
            write_files(call, &resp, f);
        return;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
        if ((f = file_defining(req->file_containing_symbol)) == NULL)
            write_error(call, &resp, MNEMO_ENOTFOUND, "file_containing_symbol: unknown symbol");
        else
            write_files(call, &resp, f);
        return;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION:
        write_error(call, &resp, MNEMO_ENOTFOUND,
                    "file_containing_extension: mnemod defines no extensions");
        return;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE:
        write_extension_numbers(call, &resp, req->all_extension_numbers_of_type);
        return;
    default:
        write_error(call, &resp, MNEMO_EINVAL, "message_request: not set");
        return;
    }
}

static void on_request(mnemo_call_t *call, const ProtobufCMessage *msg, void *ctx)
{
    (void)ctx;
    if (msg == NULL) {
        /* Half-close ends the stream; a broken or bad read was cancelled. */
        mnemo_call_finish(call, mnemo_call_cancelled(call) ? MNEMO_ECANCELLED : MNEMO_OK, NULL);
        return;
    }
    answer(call, (const request_t *)msg);
}

static void server_reflection_info(mnemo_call_t *call, const ProtobufCMessage *msg, void *ctx)
{
    (void)msg;
    pthread_once(&table.once, build_table);
    mnemo_call_read(call, on_request, ctx);
}

#define REFLECTION_METHOD(served_as)                                                               \
    {                                                                                              \
        .service = &grpc__reflection__v1__server_reflection__descriptor,                           \
        .name = "ServerReflectionInfo", .server_streaming = true,                                  \
        .handler = server_reflection_info, .client_streaming = true, .service_name = served_as,    \
        .role = MNEMO_ROLE_OPEN                                                                    \
    }

const mnemo_method_t mnemo_rpc_reflection_methods[] = {
    REFLECTION_METHOD(NULL),
    REFLECTION_METHOD("grpc.reflection.v1alpha.ServerReflection"),
    {.name = NULL},
};
