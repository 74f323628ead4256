/* runner_c.c - runs the contract cases (tests/contract/README.md) through
 * libmnemo: `contract_runner_c CASES_JSON [CASE...]` with MNEMO_SERVER and
 * MNEMO_CONTRACT_ROOT set (run_with_server.sh sets them).
 *
 * DESIGN: one libmnemo client for the whole run. A step's request is built
 * from its JSON by pbjson (protoc-c descriptors), sent with the generic
 * mnemo_client_call / mnemo_stream_open on the method found by name in the
 * service descriptors below, and the response turned back into JSON for
 * expect.c's checks. The deadline of a step is the client's default
 * deadline, set before each call (a stream takes it when opened).
 * list_services sends one grpc.reflection.v1 request over
 * mnemo_stream_open (a bidi method, written to as a server stream: one
 * message, then half-close). reflect_call needs messages built from
 * descriptors received at run time, which protobuf-c cannot do: skipped.
 * Threads: one.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "expect.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "mnemo/client_testing.h"
#include "pbjson.h"
#include "why.h"

#define DEFAULT_TIMEOUT_MS        15000
#define DEFAULT_STREAM_TIMEOUT_MS 60000
#define RETRY_PAUSE_MS            20
#define MAX_PAGES                 1000
#define WHY_MAX                   1024

static const ProtobufCServiceDescriptor *const services[] = {
    &mnemo__v1__memory_service__descriptor,
    &mnemo__v1__repository_service__descriptor,
    &grpc__health__v1__health__descriptor,
};

/* Why reflect_call is skipped (the other ops: find_op). */
#define REFLECT_CALL_SKIP                                                                          \
    "reflect_call: protobuf-c has no dynamic messages (types only from descriptors at run time)"

/* What one attempt of a step produced. */
typedef struct outcome {
    char code[32];
    char details[512];
    json_t *result; /* owned; NULL: none */
} outcome_t;

typedef struct runner {
    mnemo_client_t *client;
    const char *root;
} runner_t;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define failf(why, ...) why_set((why), WHY_MAX, __VA_ARGS__)

static void set_status(outcome_t *o, const mnemo_call_error_t *err)
{
    snprintf(o->code, sizeof(o->code), "%s", mnemo_client_code_name(err->code));
    snprintf(o->details, sizeof(o->details), "%s", err->code != 0 ? err->message : "");
}

/* "pkg.Service/Method" -> its service descriptor and method index. */
static int find_method(const ProtobufCServiceDescriptor **svc, unsigned *index, const char *method,
                       char *why)
{
    const char *slash = method != NULL ? strchr(method, '/') : NULL;
    for (size_t i = 0; slash != NULL && i < sizeof(services) / sizeof(services[0]); i++) {
        size_t n = strlen(services[i]->name);
        if ((size_t)(slash - method) != n || strncmp(method, services[i]->name, n) != 0)
            continue;
        const ProtobufCMethodDescriptor *m =
            protobuf_c_service_descriptor_get_method_by_name(services[i], slash + 1);
        if (m == NULL)
            break;
        *svc = services[i];
        *index = (unsigned)(m - services[i]->methods);
        return 0;
    }
    return failf(why, "unknown method %s", method != NULL ? method : "(none)");
}

/* ---- ops ----------------------------------------------------------------- */

static int unary(outcome_t *o, runner_t *r, const char *method, const json_t *request, char *why)
{
    const ProtobufCServiceDescriptor *svc;
    unsigned index;
    ProtobufCMessage *req = NULL, *resp = NULL;
    if (find_method(&svc, &index, method, why) != 0 ||
        pbjson_to_message(&req, svc->methods[index].input, request, why, WHY_MAX) != 0)
        return -1;
    mnemo_call_error_t err;
    mnemo_client_call(&resp, r->client, svc, index, req, &err);
    protobuf_c_message_free_unpacked(req, NULL);
    set_status(o, &err);
    json_decref(o->result);
    o->result = resp != NULL ? pbjson_from_message(resp) : NULL;
    mnemo_client_free_message(resp);
    return 0;
}

static int op_call(outcome_t *o, runner_t *r, const json_t *step, const json_t *request, char *why)
{
    return unary(o, r, json_string_value(json_object_get(step, "method")), request, why);
}

static int op_pages(outcome_t *o, runner_t *r, const json_t *step, const json_t *request, char *why)
{
    const char *items_field = json_string_value(json_object_get(step, "items"));
    json_t *req = json_deep_copy(request), *items = json_array();
    int pages = 0, rc = 0;
    const char *token = "";
    do {
        json_object_set_new(req, "page_token", json_string(token));
        if (++pages > MAX_PAGES)
            rc = failf(why, "more than %d pages", MAX_PAGES);
        else
            rc = op_call(o, r, step, req, why);
        if (rc != 0 || o->result == NULL)
            break;
        json_array_extend(items, json_object_get(o->result, items_field));
        token = json_string_value(json_object_get(o->result, "next_page_token"));
    } while (token != NULL && *token != '\0');
    if (rc == 0 && o->result != NULL) {
        json_decref(o->result);
        o->result = json_pack("{s:i,s:O}", "pages", pages, "items", items);
    }
    json_decref(items);
    json_decref(req);
    return rc;
}

/* Reads s to its end into events; cancels it after cancel_after messages
 * (0: never). */
static int read_stream(outcome_t *o, mnemo_stream_t *s, json_int_t cancel_after, json_t *events,
                       char *why)
{
    mnemo_call_error_t err;
    ProtobufCMessage *msg = NULL;
    int rc;
    while ((rc = mnemo_stream_next(&msg, s, &err)) == 1) {
        json_array_append_new(events, pbjson_from_message(msg));
        mnemo_client_free_message(msg);
        if ((json_int_t)json_array_size(events) == cancel_after)
            mnemo_stream_cancel(s);
    }
    if (rc < 0)
        return failf(why, "a stream message does not parse: %s", err.message);
    set_status(o, &err);
    return 0;
}

static int op_stream(outcome_t *o, runner_t *r, const json_t *step, const json_t *request,
                     char *why)
{
    const ProtobufCServiceDescriptor *svc;
    unsigned index;
    ProtobufCMessage *req = NULL;
    const char *method = json_string_value(json_object_get(step, "method"));
    if (find_method(&svc, &index, method, why) != 0 ||
        pbjson_to_message(&req, svc->methods[index].input, request, why, WHY_MAX) != 0)
        return -1;
    mnemo_call_error_t err;
    mnemo_stream_t *s = NULL;
    int rc = mnemo_stream_open(&s, r->client, svc, index, req, &err);
    protobuf_c_message_free_unpacked(req, NULL);
    if (rc != 0)
        return failf(why, "cannot open the stream: %s", err.message);
    json_t *events = json_array();
    rc = read_stream(o, s, json_integer_value(json_object_get(step, "cancel_after")), events, why);
    mnemo_stream_close(s);
    json_decref(o->result);
    o->result = json_pack("{s:o}", "events", events);
    return rc;
}

static int op_list_services(outcome_t *o, runner_t *r, const json_t *step, const json_t *request,
                            char *why)
{
    (void)step;
    (void)request;
    Grpc__Reflection__V1__ServerReflectionRequest req =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
    req.message_request_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES;
    req.list_services = "";
    mnemo_call_error_t err;
    mnemo_stream_t *s = NULL;
    if (mnemo_stream_open(&s, r->client, &grpc__reflection__v1__server_reflection__descriptor, 0,
                          &req.base, &err) != 0)
        return failf(why, "cannot open the reflection stream: %s", err.message);
    ProtobufCMessage *msg = NULL;
    int rc = mnemo_stream_next(&msg, s, &err);
    mnemo_stream_close(s); /* one answer is all we asked for */
    set_status(o, &err);
    if (rc != 1)
        return rc < 0 ? failf(why, "reflection: %s", err.message) : 0;
    const Grpc__Reflection__V1__ServerReflectionResponse *resp = (const void *)msg;
    json_t *names = json_array();
    if (resp->message_response_case ==
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE)
        for (size_t i = 0; i < resp->list_services_response->n_service; i++)
            json_array_append_new(names,
                                  json_string(resp->list_services_response->service[i]->name));
    mnemo_client_free_message(msg);
    json_decref(o->result);
    o->result = json_pack("{s:o}", "services", names);
    return 0;
}

/* The files of README "A tree's files". */
static int op_tree(outcome_t *o, runner_t *r, const json_t *step, const json_t *request, char *why)
{
    (void)o;
    (void)request;
    const char *name = json_string_value(json_object_get(step, "name"));
    json_int_t files = json_integer_value(json_object_get(step, "files"));
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", r->root, name != NULL ? name : "");
    if (name == NULL || mkdir(path, 0755) != 0)
        return failf(why, "tree: cannot create %s: %s", path, strerror(errno));
    for (json_int_t i = 0; i < files; i++) {
        snprintf(path, sizeof(path), "%s/%s/f%04lld.c", r->root, name, (long long)i);
        FILE *f = fopen(path, "w");
        if (f == NULL)
            return failf(why, "tree: cannot create %s: %s", path, strerror(errno));
        int i_ = (int)i;
        fprintf(f, "/* contract tree %s file %d */\nint %s%05dq(int x)\n{\n    return x + %d;\n}\n",
                name, i_, name, i_, i_);
        if (fclose(f) != 0)
            return failf(why, "tree: cannot write %s: %s", path, strerror(errno));
    }
    return 0;
}

/* ---- steps and cases ----------------------------------------------------- */

typedef int (*op_fn)(outcome_t *, runner_t *, const json_t *, const json_t *, char *);

static op_fn find_op(const char *op)
{
    static const struct {
        const char *name;
        op_fn fn;
    } table[] = {{"call", op_call},
                 {"stream", op_stream},
                 {"pages", op_pages},
                 {"tree", op_tree},
                 {"list_services", op_list_services}};
    for (size_t i = 0; op != NULL && i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(op, table[i].name) == 0)
            return table[i].fn;
    return NULL;
}

/* The code, message and expectations of a step against its outcome. */
static int check_outcome(const outcome_t *o, const json_t *step, const expect_ctx_t *ctx, char *why)
{
    const char *want = json_string_value(json_object_get(step, "code"));
    const char *contains = json_string_value(json_object_get(step, "message_contains"));
    if (strcmp(o->code, want != NULL ? want : "OK") != 0)
        return failf(why, "want code %s, got %s (%s)", want != NULL ? want : "OK", o->code,
                     o->details);
    if (contains != NULL && strstr(o->details, contains) == NULL)
        return failf(why, "status message \"%s\" does not contain \"%s\"", o->details, contains);
    json_t *expect = json_object_get(step, "expect");
    if (expect == NULL)
        return 0;
    json_t *gen = expect_generate(expect, ctx, why, WHY_MAX);
    int rc = gen != NULL ? expect_check(o->result, gen, why, WHY_MAX) : -1;
    json_decref(gen);
    return rc;
}

/* One attempt; on success *result is the step's result (a new reference or NULL). */
static int attempt(json_t **result, runner_t *r, const json_t *step, const expect_ctx_t *ctx,
                   char *why)
{
    const char *op = json_string_value(json_object_get(step, "op"));
    json_t *timeout = json_object_get(step, "timeout_ms");
    int64_t deadline = timeout != NULL             ? json_integer_value(timeout)
                       : strcmp(op, "stream") == 0 ? DEFAULT_STREAM_TIMEOUT_MS
                                                   : DEFAULT_TIMEOUT_MS;
    json_t *request = expect_generate(json_object_get(step, "request"), ctx, why, WHY_MAX);
    if (json_object_get(step, "request") != NULL && request == NULL)
        return -1;
    outcome_t o = {.code = "OK"};
    mnemo_client_set_deadline(r->client, deadline);
    int rc = find_op(op)(&o, r, step, request, why);
    json_decref(request);
    if (rc == 0)
        rc = check_outcome(&o, step, ctx, why);
    if (rc == 0)
        *result = o.result;
    else
        json_decref(o.result);
    return rc;
}

static int run_step(runner_t *r, const json_t *step, json_t *results, char *why)
{
    expect_ctx_t ctx = {.root = r->root, .results = results};
    long long until = now_ms() + json_integer_value(json_object_get(step, "retry_ms"));
    json_t *result = NULL;
    while (attempt(&result, r, step, &ctx, why) != 0) {
        if (now_ms() >= until)
            return -1;
        nanosleep(&(struct timespec){.tv_nsec = RETRY_PAUSE_MS * 1000000L}, NULL);
    }
    const char *label = json_string_value(json_object_get(step, "label"));
    if (label != NULL && result != NULL)
        json_object_set(results, label, result);
    json_decref(result);
    return 0;
}

/* "PASS", "FAIL" or "SKIP", with why filled for the last two. */
static const char *run_case(runner_t *r, const json_t *c, char *why)
{
    const json_t *steps = json_object_get(c, "steps");
    size_t i;
    json_t *step;
    json_array_foreach(steps, i, step)
    {
        const char *op = json_string_value(json_object_get(step, "op"));
        if (op != NULL && strcmp(op, "reflect_call") == 0)
            return failf(why, "%s", REFLECT_CALL_SKIP), "SKIP";
        if (find_op(op) == NULL)
            return failf(why, "op %s not implemented by this runner", op ? op : "(none)"), "SKIP";
    }
    json_t *results = json_object();
    const char *verdict = "PASS";
    json_array_foreach(steps, i, step)
    {
        char step_why[WHY_MAX];
        if (run_step(r, step, results, step_why) != 0) {
            const char *label = json_string_value(json_object_get(step, "label"));
            failf(why, "step %zu (%s): %s", i,
                  label != NULL ? label : json_string_value(json_object_get(step, "op")), step_why);
            verdict = "FAIL";
            break;
        }
    }
    json_decref(results);
    return verdict;
}

static bool wanted(int argc, char **argv, const char *name)
{
    if (argc <= 2)
        return true;
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return true;
    return false;
}

int main(int argc, char **argv)
{
    const char *server = getenv("MNEMO_SERVER"), *root = getenv("MNEMO_CONTRACT_ROOT");
    if (argc < 2 || server == NULL || root == NULL) {
        fprintf(stderr, "usage: MNEMO_SERVER=HOST:PORT MNEMO_CONTRACT_ROOT=DIR "
                        "contract_runner_c CASES_JSON [CASE...]\n");
        return 2;
    }
    json_error_t jerr;
    json_t *file = json_load_file(argv[1], 0, &jerr);
    json_t *cases = json_object_get(file, "cases");
    if (!json_is_array(cases)) {
        fprintf(stderr, "contract_runner_c: %s: %s\n", argv[1],
                file == NULL ? jerr.text : "no \"cases\" array");
        json_decref(file);
        return 2;
    }
    runner_t r = {.root = root};
    mnemo_call_error_t err;
    if (mnemo_client_open(&r.client, server, NULL, &err) != 0) {
        fprintf(stderr, "contract_runner_c: %s: %s\n", server, err.message);
        json_decref(file);
        return 2;
    }
    int counts[3] = {0, 0, 0}; /* PASS, FAIL, SKIP */
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        if (name == NULL || !wanted(argc, argv, name))
            continue;
        char why[WHY_MAX] = "";
        const char *verdict = run_case(&r, c, why);
        counts[verdict[0] == 'P' ? 0 : verdict[0] == 'F' ? 1 : 2]++;
        printf("%s %s%s%s\n", verdict, name, *why ? ": " : "", why);
        fflush(stdout);
    }
    printf("contract c: %d passed, %d failed, %d skipped of %d cases\n", counts[0], counts[1],
           counts[2], counts[0] + counts[1] + counts[2]);
    mnemo_client_close(r.client);
    json_decref(file);
    return counts[1] > 0 ? 1 : 0;
}
