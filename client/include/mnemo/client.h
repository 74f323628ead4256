/* client.h - libmnemo, the C client of the mnemo daemon (mnemod).
 *
 * Conventions (they hold for every function below unless its contract says
 * otherwise):
 *
 * Handles. mnemo_client_t and mnemo_stream_t are opaque. A client is opened
 * on a target ("host:port") and owns one gRPC channel; the connection is
 * made lazily by the first call and re-made after a failure. A stream is one
 * server-streaming call; it must be closed before its client.
 *
 * Ownership. Out parameters come first and are set only on success. What
 * comes back through `**out` is the caller's: messages are freed with
 * mnemo_client_free_message(), streams with mnemo_stream_close(), clients
 * with mnemo_client_close(). Request messages are only read, never kept.
 * Every free/close function accepts NULL.
 *
 * Errors. Every call returns a status code: a mnemo_code_t value
 * (<mnemo/codes.h>: MNEMO_CODE_OK = 0, MNEMO_CODE_NOT_FOUND,
 * MNEMO_CODE_UNAVAILABLE, ...; mnemo_client_code_name() gives the name),
 * carried in an int. The codes are gRPC's canonical status codes under
 * mnemo's names, value for value, so no gRPC header is needed to read one.
 * When the caller passes a mnemo_call_error_t, it is always filled: the
 * code again, and either the status details the server sent or a
 * description of the local failure. `unreachable` tells a status the server
 * produced from one produced because no connection could be made
 * (UNAVAILABLE or DEADLINE_EXCEEDED while connecting). Local failures use
 * INVALID_ARGUMENT (bad arguments, e.g. an empty target) and INTERNAL (a
 * response that does not parse, a gRPC batch that cannot start). Passing a
 * message of the wrong type is a programming error (assert).
 *
 * Why an int and not mnemo_code_t: the return values and
 * mnemo_call_error_t.code were ints before codes.h existed, and an enum
 * with no negative value may be an unsigned type, which would change the
 * ABI and the meaning of the -1 that mnemo_stream_next and
 * mnemo_stream_status return beside the codes.
 *
 * Deadlines. Each call gets the client's default deadline (milliseconds from
 * the start of the call; 0 = none), set at open and changeable at any time
 * with mnemo_client_set_deadline(); a stream takes the value current when it
 * is opened. An expired deadline is DEADLINE_EXCEEDED.
 *
 * Threads. A client may be used from several threads at once: each call has
 * its own completion queue. A stream is used by one thread at a time, except
 * mnemo_stream_cancel(), which any thread may call while the stream is open
 * (for example a thread that waits for SIGINT with sigwait). No function is
 * async-signal-safe: do not call one from a signal handler.
 *
 * Process. mnemo_client_open() calls grpc_init() and mnemo_client_close()
 * calls grpc_shutdown(); gRPC counts them, so an application may use gRPC
 * itself too.
 *
 * Messages are the protoc-c structs of the .proto files under proto/mnemo/v1
 * (<mnemo/v1/memory.pb-c.h>, <mnemo/v1/repository.pb-c.h>, included below):
 * build a request with its __INIT macro, read the response, free it.
 *
 * Linking. Every function below is exported (MNEMO_API) together with the
 * generated mnemo__v1__* message code; nothing else of the shared library
 * is. pkg-config: `pkg-config --cflags --libs mnemo`; CMake:
 * find_package(mnemo) and the target mnemo::mnemo.
 */
#ifndef MNEMO_CLIENT_H
#define MNEMO_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "mnemo/codes.h"
#include "mnemo/v1/memory.pb-c.h"
#include "mnemo/v1/repository.pb-c.h"

/* Marks the functions the library exports: libmnemo is compiled with
 * -fvisibility=hidden, so what is not marked stays inside it. */
#ifndef MNEMO_API
#if defined(__GNUC__) || defined(__clang__)
#define MNEMO_API __attribute__((visibility("default")))
#else
#define MNEMO_API
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mnemo_client mnemo_client_t;
typedef struct mnemo_stream mnemo_stream_t;

/* The outcome of a call. Embedded by the caller, never allocated. */
typedef struct mnemo_call_error {
    int code;          /* a mnemo_code_t; MNEMO_CODE_OK = 0 */
    char message[512]; /* server's status details or a local description; "" when OK */
    int unreachable;   /* 1: the status says the server could not be reached */
} mnemo_call_error_t;

/* Options of mnemo_client_open(); start from mnemo_client_options_init(),
 * which sets the defaults below, then set what differs.
 *
 * Security. With tls = 0 (the default) the channel is plaintext: right for
 * a loopback server or one behind a TLS-terminating proxy or sidecar. With
 * tls = 1 the server must present a certificate that tls_ca_file (or
 * gRPC's default roots) vouches for, issued for the target's host (or for
 * tls_server_name); tls_cert_file and tls_key_file add a client
 * certificate (mutual TLS). The files are PEM, read once by
 * mnemo_client_open (a later change needs a new client). A bearer token is
 * sent as the header "authorization: Bearer <token>" on every call and
 * stream of the client, over TLS and plaintext alike; it is not tied to
 * TLS so that a token also works behind a sidecar that terminates TLS.
 * Send a token in plaintext only over loopback or a network you trust.
 *
 * Ownership. The strings are only read during mnemo_client_open: the
 * client keeps copies (the token's is wiped when the client is closed), so
 * they may be freed or wiped as soon as it returns. */
typedef struct mnemo_client_options {
    int64_t deadline_ms;          /* default per-call deadline; 0 = none (default 30000) */
    int max_receive_message_size; /* bytes; 0 = gRPC's 4 MiB, -1 = unlimited (default 64 MiB) */
    int tls;                      /* 1: TLS; 0: plaintext (default 0) */
    const char *tls_ca_file;      /* PEM roots that verify the server; NULL: gRPC's default
                                   * roots (needs tls = 1; default NULL) */
    const char *tls_cert_file;    /* PEM client certificate (chain) for mutual TLS; NULL: none
                                   * (needs tls = 1 and tls_key_file; default NULL) */
    const char *tls_key_file;     /* PEM private key of tls_cert_file (default NULL) */
    const char *tls_server_name;  /* the name the server's certificate must carry, when not
                                   * the target's host (e.g. dialling an IP address or a
                                   * tunnel); NULL: the target's host (needs tls = 1) */
    const char *token;            /* bearer token: 1 to MNEMO_CLIENT_TOKEN_MAX printable
                                   * ASCII characters, no spaces; NULL: none (default) */
} mnemo_client_options_t;

#define MNEMO_CLIENT_DEFAULT_DEADLINE_MS 30000
#define MNEMO_CLIENT_DEFAULT_MAX_RECEIVE (64 * 1024 * 1024)
#define MNEMO_CLIENT_TOKEN_MAX           4095 /* bytes; the limit of `mnemod hash-token` */

/* ---- client --------------------------------------------------------- */

/* Fills opts with the defaults above. */
MNEMO_API void mnemo_client_options_init(mnemo_client_options_t *opts);

/* Opens a client on target ("host:port", or any gRPC target URI): a
 * plaintext or TLS channel and the bearer token as opts say (NULL:
 * defaults, plaintext without a token). Reads the PEM files of opts now.
 * Does not connect: an unreachable server, and a TLS handshake that fails
 * (a server certificate the roots do not vouch for or issued for another
 * name, a plaintext server, a refused client certificate), show up as
 * UNAVAILABLE on the first call, marked `unreachable`. *out is the
 * caller's (mnemo_client_close). Returns 0; INVALID_ARGUMENT with a
 * message naming the field: empty target, negative deadline, a file that
 * is missing, unreadable, empty, larger than 16 MiB or holds no PEM block
 * (the message names the file), a TLS field set while tls is 0, only one
 * of tls_cert_file and tls_key_file, an empty tls_server_name, a token
 * that is empty, too long or holds a space, control or non-ASCII byte
 * (the message never shows the token); RESOURCE_EXHAUSTED (out of
 * memory); or INTERNAL (gRPC refused the credentials or the channel). */
MNEMO_API int mnemo_client_open(mnemo_client_t **out, const char *target,
                                const mnemo_client_options_t *opts, mnemo_call_error_t *err);

/* Destroys the channel, wipes and frees the client's copy of the token and
 * releases gRPC. Every stream of c must be closed and no other thread may
 * be using c. NULL: no-op. */
MNEMO_API void mnemo_client_close(mnemo_client_t *c);

/* Sets the default deadline of calls started from now on (ms; 0 = none;
 * negative values are treated as 0). Thread-safe. */
MNEMO_API void mnemo_client_set_deadline(mnemo_client_t *c, int64_t deadline_ms);

/* The target c was opened on (owned by c). */
MNEMO_API const char *mnemo_client_target(const mnemo_client_t *c);

/* "OK", "NOT_FOUND", ... for a mnemo_code_t (the names of MNEMO_CODE_TABLE);
 * "UNKNOWN_CODE" for any other value. Static storage. */
MNEMO_API const char *mnemo_client_code_name(int code);

/* Frees a message returned by any call of this library. NULL: no-op. */
MNEMO_API void mnemo_client_free_message(void *msg);

/* ---- generic calls -------------------------------------------------- */

/* Calls the unary method svc->methods[method] with req (whose descriptor
 * must be the method's input). On OK, *out is the decoded response (its
 * descriptor is the method's output), the caller's. Returns the call's
 * code; INTERNAL when the response does not parse or is missing. */
MNEMO_API int mnemo_client_call(ProtobufCMessage **out, mnemo_client_t *c,
                                const ProtobufCServiceDescriptor *svc, unsigned method,
                                const ProtobufCMessage *req, mnemo_call_error_t *err);

/* Starts the server-streaming method svc->methods[method] with req: sends
 * the request and begins waiting for the final status. *out is the
 * caller's (mnemo_stream_close). Returns 0 or INTERNAL (the call could not
 * start); a server that cannot be reached shows up in mnemo_stream_next(). */
MNEMO_API int mnemo_stream_open(mnemo_stream_t **out, mnemo_client_t *c,
                                const ProtobufCServiceDescriptor *svc, unsigned method,
                                const ProtobufCMessage *req, mnemo_call_error_t *err);

/* Waits for the next message. Returns 1 with *out set (the caller's); 0
 * when the stream has ended, with err (and mnemo_stream_status) holding the
 * final status, which may be an error (CANCELLED after mnemo_stream_cancel);
 * -1 when a message does not parse (err: INTERNAL; the call is cancelled and
 * next returns 0 afterwards). */
MNEMO_API int mnemo_stream_next(ProtobufCMessage **out, mnemo_stream_t *s, mnemo_call_error_t *err);

/* The final status of an ended stream (see mnemo_stream_next); -1 while it
 * has not ended. Fills err like a call. */
MNEMO_API int mnemo_stream_status(const mnemo_stream_t *s, mnemo_call_error_t *err);

/* Cancels the call: a pending or later mnemo_stream_next returns 0 with
 * CANCELLED (unless the status had already arrived). Safe from any thread
 * until mnemo_stream_close begins; idempotent. NULL: no-op. */
MNEMO_API void mnemo_stream_cancel(mnemo_stream_t *s);

/* Cancels the call if it has not ended, waits for gRPC to release it, and
 * frees s. NULL: no-op. */
MNEMO_API void mnemo_stream_close(mnemo_stream_t *s);

/* ---- grpc.health.v1.Health ------------------------------------------ */

/* The serving status of a health check: the values of the health
 * protocol's HealthCheckResponse.ServingStatus (grpc/health/v1/health.proto),
 * which the library checks at compile time. */
typedef enum mnemo_serving_status {
    MNEMO_SERVING_STATUS_UNKNOWN = 0,
    MNEMO_SERVING_STATUS_SERVING = 1,
    MNEMO_SERVING_STATUS_NOT_SERVING = 2,
    MNEMO_SERVING_STATUS_SERVICE_UNKNOWN = 3, /* only from Watch, never from Check */
} mnemo_serving_status_t;

/* Checks service ("" or NULL: the whole server). On OK *serving_status is
 * the response's status, a mnemo_serving_status_t (MNEMO_SERVING_STATUS_SERVING
 * when the service serves). An unknown service is NOT_FOUND. */
MNEMO_API int mnemo_client_health_check(mnemo_client_t *c, const char *service, int *serving_status,
                                        mnemo_call_error_t *err);

/* "SERVING", "NOT_SERVING", ... for a serving status; "UNKNOWN" otherwise. */
MNEMO_API const char *mnemo_client_serving_status_name(int serving_status);

/* ---- mnemo.v1.MemoryService ----------------------------------------- *
 * Each wrapper calls the RPC of its name through mnemo_client_call; *out is
 * the response, the caller's (mnemo_client_free_message). Returns the call's
 * code; the codes the server sends, and when, are listed in docs/design.md. */

MNEMO_API int mnemo_client_store_memory(Mnemo__V1__StoreMemoryResponse **out, mnemo_client_t *c,
                                        const Mnemo__V1__StoreMemoryRequest *req,
                                        mnemo_call_error_t *err);
MNEMO_API int mnemo_client_get_memory(Mnemo__V1__Memory **out, mnemo_client_t *c,
                                      const Mnemo__V1__GetMemoryRequest *req,
                                      mnemo_call_error_t *err);
MNEMO_API int mnemo_client_delete_memory(Mnemo__V1__DeleteMemoryResponse **out, mnemo_client_t *c,
                                         const Mnemo__V1__DeleteMemoryRequest *req,
                                         mnemo_call_error_t *err);
MNEMO_API int mnemo_client_list_memories(Mnemo__V1__ListMemoriesResponse **out, mnemo_client_t *c,
                                         const Mnemo__V1__ListMemoriesRequest *req,
                                         mnemo_call_error_t *err);
MNEMO_API int mnemo_client_retrieve_memory(Mnemo__V1__RetrieveMemoryResponse **out,
                                           mnemo_client_t *c,
                                           const Mnemo__V1__RetrieveMemoryRequest *req,
                                           mnemo_call_error_t *err);
MNEMO_API int mnemo_client_search_by_tag(Mnemo__V1__SearchByTagResponse **out, mnemo_client_t *c,
                                         const Mnemo__V1__SearchByTagRequest *req,
                                         mnemo_call_error_t *err);

/* ---- mnemo.v1.RepositoryService ------------------------------------- *
 * Same contract as above. SyncRepository and WatchSync are streams of
 * SyncEvent: read them with mnemo_stream_next_sync_event. */

MNEMO_API int mnemo_client_sync_repository(mnemo_stream_t **out, mnemo_client_t *c,
                                           const Mnemo__V1__SyncRepositoryRequest *req,
                                           mnemo_call_error_t *err);
MNEMO_API int mnemo_client_watch_sync(mnemo_stream_t **out, mnemo_client_t *c,
                                      const Mnemo__V1__WatchSyncRequest *req,
                                      mnemo_call_error_t *err);
MNEMO_API int mnemo_client_get_sync_status(Mnemo__V1__SyncStatus **out, mnemo_client_t *c,
                                           const Mnemo__V1__GetSyncStatusRequest *req,
                                           mnemo_call_error_t *err);
MNEMO_API int mnemo_client_cancel_sync(Mnemo__V1__SyncStatus **out, mnemo_client_t *c,
                                       const Mnemo__V1__CancelSyncRequest *req,
                                       mnemo_call_error_t *err);
MNEMO_API int mnemo_client_list_repositories(Mnemo__V1__ListRepositoriesResponse **out,
                                             mnemo_client_t *c,
                                             const Mnemo__V1__ListRepositoriesRequest *req,
                                             mnemo_call_error_t *err);
MNEMO_API int mnemo_client_delete_repository(Mnemo__V1__DeleteRepositoryResponse **out,
                                             mnemo_client_t *c,
                                             const Mnemo__V1__DeleteRepositoryRequest *req,
                                             mnemo_call_error_t *err);
MNEMO_API int mnemo_client_search_code(Mnemo__V1__SearchCodeResponse **out, mnemo_client_t *c,
                                       const Mnemo__V1__SearchCodeRequest *req,
                                       mnemo_call_error_t *err);

/* mnemo_stream_next for a stream of SyncEvent (SyncRepository, WatchSync). */
MNEMO_API int mnemo_stream_next_sync_event(Mnemo__V1__SyncEvent **out, mnemo_stream_t *s,
                                           mnemo_call_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
