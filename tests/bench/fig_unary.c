/* fig_unary.c - figure 3: unary RPC throughput under h2load, mnemod against
 * a minimal C++ gRPC sync server (cpp_server.cc) built on the same gRPC.
 *
 * DESIGN: mnemod (durable defaults) gets the first 200 corpus entries through
 * StoreMemory; their Memory messages are written to a file that the C++
 * server loads into its map, so both serve the very same GetMemory response.
 * h2load sends one fixed request body per method, framed as gRPC (a 5-byte
 * prefix: compressed flag 0, big-endian length, then the protobuf), with
 * content-type application/grpc and te: trailers. h2load counts HTTP 200 as
 * success and never reads grpc-status, so before any load each server's
 * answer to each request is checked twice: the same bytes through libmnemo
 * (grpc-status OK, the expected Memory / SERVING) and the framed file
 * through nghttp -v (grpc-status: 0 in the trailers). Each round runs every
 * (method, load) pair on both servers back to back, alternating which goes
 * first; one h2load run is a warm-up then a fixed duration, single thread.
 *
 * The cost of TLS: a second mnemod, with --tls-cert/--tls-key from
 * make_certs.sh and the same memories, takes GetMemory over https:// in
 * the same rounds (h2load accepts the self-signed chain; libmnemo checks
 * it against the test CA). Its rows hold TLS as "mnemo" and the plaintext
 * mnemod of the same round as "base", so the ratio is TLS/plaintext. New
 * connections are made only at the start of a run: the figure is the
 * steady-state cost of encryption, not of handshakes. The cost of the
 * token check is measured the same way: a third mnemod with --auth-tokens
 * gets every GetMemory with an "authorization: Bearer" header (a token
 * of role write, which seeding needs); its rows hold that mnemod as
 * "mnemo" and the plaintext one without tokens as "base". Every other request carries a dummy
 * header of the same size, so both ends parse the same HPACK load.
 *
 * Threads: main thread only.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth.h"
#include "mnemo/client_testing.h"

#define N_MEMORIES 200

typedef struct target {
    const char *side; /* "mnemo" or "base" */
    char addr[128];
    const char *ca_file; /* TLS: the CA that signed its certificate; NULL: plaintext */
    const char *token;   /* bearer token sent with every request; NULL: none */
    /* A variant of the plaintext mnemod ("tls", "token"): its rows are
     * <row>_<variant>_<load>, measured against that mnemod. NULL: none. */
    const char *variant;
} target_t;

typedef struct method {
    const char *row;  /* row prefix */
    bool variants;    /* also measured on the variant targets */
    const char *path; /* /pkg.Service/Method */
    const char *file; /* framed request */
    uint8_t *raw;     /* unframed request */
    size_t raw_len;
} method_t;

static const struct load {
    const char *suffix;
    const char *c, *m;
} LOADS[] = {{"c4m10", "4", "10"}, {"c1m1", "1", "1"}};

/* Writes msg framed as one gRPC message to path; keeps the raw bytes. */
static int write_request(method_t *me, const char *path, const ProtobufCMessage *msg)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    me->raw = bench_xmalloc(n + 5);
    protobuf_c_message_pack(msg, me->raw + 5);
    me->raw[0] = 0;
    me->raw[1] = (uint8_t)(n >> 24);
    me->raw[2] = (uint8_t)(n >> 16);
    me->raw[3] = (uint8_t)(n >> 8);
    me->raw[4] = (uint8_t)n;
    me->raw_len = n;
    me->file = bench_xstrdup(path);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t w = fwrite(me->raw, 1, n + 5, f);
    return fclose(f) == 0 && w == n + 5 ? 0 : -1;
}

/* Stores N_MEMORIES entries in mnemod, writes their Memory messages (each
 * with a 4-byte big-endian length) to mem_file (NULL: none); *id = the
 * first one's id. */
static int seed_memories(bench_mnemod_t *m, const bench_corpus_t *c, const char *mem_file, char *id,
                         size_t id_size)
{
    FILE *f = mem_file != NULL ? fopen(mem_file, "wb") : NULL;
    if (mem_file != NULL && f == NULL)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < N_MEMORIES && i < c->n_entries && rc == 0; i++) {
        Mnemo__V1__StoreMemoryRequest req = MNEMO__V1__STORE_MEMORY_REQUEST__INIT;
        req.content = c->entries[i];
        Mnemo__V1__StoreMemoryResponse *resp = NULL;
        mnemo_call_error_t err;
        if (mnemo_client_store_memory(&resp, m->client, &req, &err) != 0 || resp->memory == NULL) {
            fprintf(stderr, "bench: StoreMemory: %s\n", err.message);
            rc = -1;
        } else {
            const ProtobufCMessage *mem = &resp->memory->base;
            size_t n = protobuf_c_message_get_packed_size(mem);
            uint8_t *buf = bench_xmalloc(n + 4);
            buf[0] = (uint8_t)(n >> 24);
            buf[1] = (uint8_t)(n >> 16);
            buf[2] = (uint8_t)(n >> 8);
            buf[3] = (uint8_t)n;
            protobuf_c_message_pack(mem, buf + 4);
            if (f != NULL)
                fwrite(buf, 1, n + 4, f);
            free(buf);
            if (i == 0)
                snprintf(id, id_size, "%s", resp->memory->id);
        }
        mnemo_client_free_message(resp);
    }
    return f == NULL || fclose(f) == 0 ? rc : -1;
}

/* The request's answer through libmnemo: OK and the expected content. */
static int check_libmnemo(const target_t *t, const method_t *me, const char *want_id)
{
    mnemo_client_t *c = NULL;
    mnemo_call_error_t err;
    mnemo_client_options_t co;
    mnemo_client_options_init(&co);
    co.tls = t->ca_file != NULL;
    co.tls_ca_file = t->ca_file;
    co.token = t->token;
    if (mnemo_client_open(&c, t->addr, &co, &err) != 0) {
        fprintf(stderr, "bench: client on %s: %s\n", t->addr, err.message);
        return -1;
    }
    bool health = strstr(me->path, "Health") != NULL;
    ProtobufCMessage *out = NULL;
    int rc = mnemo_client_call_raw(c, me->path, me->raw + 5, me->raw_len,
                                   health ? &grpc__health__v1__health_check_response__descriptor
                                          : &mnemo__v1__memory__descriptor,
                                   &out, &err);
    bool ok = rc == 0 && out != NULL;
    if (ok && health)
        ok = ((Grpc__Health__V1__HealthCheckResponse *)out)->status == 1;
    else if (ok)
        ok = strcmp(((Mnemo__V1__Memory *)out)->id, want_id) == 0;
    if (!ok)
        fprintf(stderr, "bench: %s on %s (%s): %s %s\n", me->path, t->side, t->addr,
                mnemo_client_code_name(rc), err.message);
    mnemo_client_free_message(out);
    mnemo_client_close(c);
    return ok ? 0 : -1;
}

static int check_nghttp(const target_t *t, const method_t *me)
{
    if (!bench_have_program("nghttp"))
        return 0;
    char url[256];
    snprintf(url, sizeof url, "%s://%s%s", t->ca_file != NULL ? "https" : "http", t->addr,
             me->path);
    char auth[128] = "x-mnemo-bench: plain-0123456789abcdefghijklmnopqrstu";
    if (t->token != NULL)
        snprintf(auth, sizeof auth, "authorization: Bearer %s", t->token);
    char *argv[] = {"nghttp",
                    "-v",
                    "--null-out",
                    "-H",
                    "content-type: application/grpc",
                    "-H",
                    "te: trailers",
                    "-H",
                    auth,
                    "-d",
                    (char *)me->file,
                    url,
                    NULL};
    char *out = NULL;
    int st = bench_run(&out, NULL, argv, NULL, false);
    bool ok = st == 0 && out != NULL && strstr(out, "grpc-status: 0") != NULL;
    if (!ok)
        fprintf(stderr, "bench: nghttp %s on %s: no grpc-status: 0\n%s\n", me->path, t->side,
                out != NULL ? out : "");
    free(out);
    return ok ? 0 : -1;
}

/* "finished in 4.00s, 12345.67 req/s" and no failed or errored request. */
static double parse_h2load(const char *out)
{
    const char *p = strstr(out, "finished in ");
    const char *q = strstr(out, "requests: ");
    if (p == NULL || q == NULL)
        return -1;
    p = strchr(p, ',');
    unsigned long total, started, done, ok, failed, errored;
    if (p == NULL || sscanf(q,
                            "requests: %lu total, %lu started, %lu done, %lu succeeded, "
                            "%lu failed, %lu errored",
                            &total, &started, &done, &ok, &failed, &errored) != 6)
        return -1;
    if (failed != 0 || errored != 0 || ok == 0)
        return -1;
    return strtod(p + 1, NULL);
}

static double h2load(const bench_opts_t *o, const target_t *t, const method_t *me,
                     const struct load *l)
{
    char url[256], auth[128] = "x-mnemo-bench: plain-0123456789abcdefghijklmnopqrstu";
    snprintf(url, sizeof url, "%s://%s%s", t->ca_file != NULL ? "https" : "http", t->addr,
             me->path);
    if (t->token != NULL)
        snprintf(auth, sizeof auth, "authorization: Bearer %s", t->token);
    char *argv[] = {"h2load",
                    "-t",
                    "1",
                    "-c",
                    (char *)l->c,
                    "-m",
                    (char *)l->m,
                    "-D",
                    o->smoke ? "1" : "4",
                    "--warm-up-time",
                    o->smoke ? "500ms" : "1",
                    "-H",
                    "content-type: application/grpc",
                    "-H",
                    "te: trailers",
                    "-H",
                    auth,
                    "-d",
                    (char *)me->file,
                    url,
                    NULL};
    char *out = NULL;
    int st = bench_run(&out, NULL, argv, NULL, false);
    double qps = st == 0 ? parse_h2load(out) : -1;
    if (qps < 0)
        fprintf(stderr, "bench: h2load %s on %s failed:\n%s\n", me->path, t->side,
                out != NULL ? out : "");
    free(out);
    return qps;
}

/* One (method, load) of round r on every target, back to back. */
static int run_one(const bench_opts_t *o, const target_t *targets, size_t n_targets, int r,
                   const method_t *me, const struct load *l)
{
    char row[64];
    double plain = -1, variant[4];
    const char *names[4];
    size_t n_variants = 0;
    for (size_t k = 0; k < n_targets; k++) {
        const target_t *t = &targets[r % 2 == 1 ? k : n_targets - 1 - k];
        if (t->variant != NULL && !me->variants)
            continue;
        double qps = h2load(o, t, me, l);
        if (qps < 0)
            return -1;
        if (t->variant != NULL && n_variants < 4) {
            names[n_variants] = t->variant;
            variant[n_variants++] = qps;
            continue;
        }
        snprintf(row, sizeof row, "%s_%s", me->row, l->suffix);
        bench_result(row, t->side, r, qps);
        if (strcmp(t->side, "mnemo") == 0)
            plain = qps;
    }
    for (size_t v = 0; v < n_variants; v++) {
        snprintf(row, sizeof row, "%s_%s_%s", me->row, names[v], l->suffix);
        bench_result(row, "mnemo", r, variant[v]);
        bench_result(row, "base", r, plain);
    }
    return 0;
}

static int run_rounds(const bench_opts_t *o, const target_t *targets, size_t n_targets,
                      const method_t *methods, size_t n_methods)
{
    for (int r = 1; r <= o->rounds; r++)
        for (size_t mi = 0; mi < n_methods; mi++)
            for (size_t li = 0; li < sizeof LOADS / sizeof LOADS[0]; li++)
                if (run_one(o, targets, n_targets, r, &methods[mi], &LOADS[li]) != 0)
                    return -1;
    return 0;
}

/* The TLS target: certificates, a second mnemod with the same memories.
 * 1 when it runs, 0 when it is skipped (rows marked), -1 on failure. */
static int start_tls(const bench_opts_t *o, bench_mnemod_t *m, target_t *t, const bench_corpus_t *c,
                     const char *want_id)
{
    static const char *rows[] = {"unary_get_tls_c4m10", "unary_get_tls_c1m1"};
    static bench_pathbuf_t certs, data, ca;
    bench_path(&certs, o->work, "unary-certs");
    bench_rmtree(certs.s);
    if (!bench_have_program("openssl") || bench_make_certs(certs.s) != 0) {
        for (size_t i = 0; i < 2; i++)
            bench_skip_all(rows[i], "no certificates (make_certs.sh needs the openssl CLI)");
        return 0;
    }
    bench_path(&data, o->work, "unary-mnemo-tls");
    bench_rmtree(data.s);
    if (bench_mnemod_start_tls(m, data.s, certs.s) != 0)
        return -1;
    char id[80] = "";
    if (seed_memories(m, c, NULL, id, sizeof id) != 0 || strcmp(id, want_id) != 0)
        return -1;
    *t = (target_t){
        .side = "mnemo-tls", .ca_file = bench_path(&ca, certs.s, "ca.pem"), .variant = "tls"};
    snprintf(t->addr, sizeof t->addr, "%s", mnemo_client_target(m->client));
    return 1;
}

/* The token target: a mnemod checking bearer tokens (--auth-tokens), the
 * same memories; every request carries a token (role write: seeding
 * stores). */
static int start_token(const bench_opts_t *o, bench_mnemod_t *m, target_t *t,
                       const bench_corpus_t *c, const char *want_id)
{
    /* A made-up token of the length `mnemo token new` prints. */
    static const char token[] = "bench-token-0123456789abcdefghijklmnopqrstu";
    static bench_pathbuf_t data, tokens;
    bench_path(&data, o->work, "unary-mnemo-token");
    bench_rmtree(data.s);
    bench_path(&tokens, o->work, "unary-tokens");
    char hex[65];
    mnemo_auth_hash_token(hex, token, strlen(token));
    FILE *f = fopen(tokens.s, "w");
    if (f == NULL || fprintf(f, "%s write bench\n", hex) < 0 || fclose(f) != 0)
        return -1;
    if (bench_mnemod_start_token(m, data.s, tokens.s, token) != 0)
        return -1;
    char id[80] = "";
    if (seed_memories(m, c, NULL, id, sizeof id) != 0 || strcmp(id, want_id) != 0)
        return -1;
    *t = (target_t){.side = "mnemo-token", .token = token, .variant = "token"};
    snprintf(t->addr, sizeof t->addr, "%s", mnemo_client_target(m->client));
    return 1;
}

static void stop_token(const bench_opts_t *o, bench_mnemod_t *m)
{
    bench_pathbuf_t p;
    bench_mnemod_stop(m);
    bench_rmtree(bench_path(&p, o->work, "unary-mnemo-token"));
    bench_rmtree(bench_path(&p, o->work, "unary-tokens"));
}

static void stop_tls(const bench_opts_t *o, bench_mnemod_t *m)
{
    bench_pathbuf_t p;
    bench_mnemod_stop(m);
    bench_rmtree(bench_path(&p, o->work, "unary-mnemo-tls"));
    bench_rmtree(bench_path(&p, o->work, "unary-certs"));
}

static pid_t start_cpp(const bench_opts_t *o, target_t *t, const char *mem_file)
{
    char *argv[] = {(char *)o->cpp_server, "--listen",       "127.0.0.1:0",
                    "--memories",          (char *)mem_file, NULL};
    t->side = "base";
    bench_pathbuf_t log;
    return bench_spawn_server(t->addr, sizeof t->addr, argv,
                              bench_path(&log, o->work, "cpp_server.log"), 30000);
}

int bench_fig_unary(const bench_opts_t *o)
{
    bench_corpus_t c;
    if (bench_corpus_load(&c, o->corpus) != 0)
        return -1;
    bench_log("figure 3: unary QPS with h2load, %d rounds", o->rounds);
    static const char *rows[] = {"unary_get_c4m10",       "unary_get_c1m1",
                                 "unary_health_c4m10",    "unary_health_c1m1",
                                 "unary_get_tls_c4m10",   "unary_get_tls_c1m1",
                                 "unary_get_token_c4m10", "unary_get_token_c1m1"};
    if (!bench_have_program("h2load")) {
        for (size_t i = 0; i < 8; i++)
            bench_skip_all(rows[i], "h2load (nghttp2-client) not installed");
        bench_corpus_cleanup(&c);
        return 0;
    }
    bench_pathbuf_t pdata, pmem, pget, phealth;
    const char *data = bench_path(&pdata, o->work, "unary-mnemo");
    bench_rmtree(data);
    bench_mnemod_t m, tm = {0}, km = {0};
    if (bench_mnemod_start(&m, data, NULL) != 0) {
        bench_corpus_cleanup(&c);
        return -1;
    }
    target_t targets[4] = {{.side = "mnemo"}};
    snprintf(targets[0].addr, sizeof targets[0].addr, "%s", mnemo_client_target(m.client));
    char id[80] = "";
    const char *mem_file = bench_path(&pmem, o->work, "memories.bin");
    int rc = seed_memories(&m, &c, mem_file, id, sizeof id);

    method_t methods[2] = {
        {.row = "unary_get", .variants = true, .path = "/mnemo.v1.MemoryService/GetMemory"},
        {.row = "unary_health", .path = "/grpc.health.v1.Health/Check"}};
    Mnemo__V1__GetMemoryRequest get = MNEMO__V1__GET_MEMORY_REQUEST__INIT;
    get.id = id;
    Grpc__Health__V1__HealthCheckRequest hc = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    if (rc == 0)
        rc = write_request(&methods[0], bench_path(&pget, o->work, "get.grpc"), &get.base);
    if (rc == 0)
        rc = write_request(&methods[1], bench_path(&phealth, o->work, "health.grpc"), &hc.base);

    size_t n_targets = 1;
    pid_t cpp = -1;
    if (o->cpp_server == NULL || access(o->cpp_server, X_OK) != 0) {
        for (size_t i = 0; i < 4; i++)
            bench_skip(rows[i], "C++ server not built (libgrpc++-dev)");
    } else if (rc == 0) {
        cpp = start_cpp(o, &targets[n_targets++], mem_file);
        rc = cpp > 0 ? 0 : -1;
    }
    int tls_on = rc == 0 ? start_tls(o, &tm, &targets[n_targets], &c, id) : 0;
    if (tls_on < 0)
        rc = -1;
    else
        n_targets += (size_t)tls_on;
    int token_on = rc == 0 ? start_token(o, &km, &targets[n_targets], &c, id) : 0;
    if (token_on < 0)
        rc = -1;
    else
        n_targets += (size_t)token_on;
    for (size_t t = 0; t < n_targets && rc == 0; t++)
        for (size_t k = 0; k < 2 && rc == 0; k++)
            rc = check_libmnemo(&targets[t], &methods[k], id) == 0 &&
                         check_nghttp(&targets[t], &methods[k]) == 0
                     ? 0
                     : -1;
    if (rc == 0)
        bench_log("  every server answers each request with grpc-status 0 (libmnemo%s)",
                  bench_have_program("nghttp") ? " and nghttp -v" : "");
    if (rc == 0)
        rc = run_rounds(o, targets, n_targets, methods, 2);
    if (cpp > 0)
        bench_stop_server(cpp);
    if (tls_on != 0)
        stop_tls(o, &tm);
    if (token_on != 0)
        stop_token(o, &km);
    bench_mnemod_stop(&m);
    bench_rmtree(data);
    for (size_t k = 0; k < 2; k++) {
        free(methods[k].raw);
        free((char *)methods[k].file);
    }
    bench_corpus_cleanup(&c);
    return rc;
}
