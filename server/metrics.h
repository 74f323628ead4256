/* metrics.h - what mnemod counts about its calls, the access log, the
 * heap given back after a burst of calls, and the Prometheus text of it
 * all (GET /metrics, httpd.h).
 *
 * DESIGN: call.c reports each call here exactly once at its start, once
 * per message each way, and once at its end (when its last reference
 * goes). The per-method counters are the gRPC interceptors' of the
 * ecosystem (go-grpc-prometheus: grpc_server_started_total,
 * grpc_server_handled_total, grpc_server_msg_received_total,
 * grpc_server_msg_sent_total, grpc_server_handling_seconds), so existing
 * dashboards work; they are preallocated per method of the rpc tables x
 * status code x histogram bucket, in MNEMO_METRICS_SHARDS copies picked by
 * thread, and touched with relaxed atomic adds only: no lock and no
 * allocation on the request path, and two CQ threads seldom share a cache
 * line. A scrape sums the shards. Calls of methods nobody registered are
 * not counted (their names are the client's to choose), but they are
 * access-logged. Counting is off unless --metrics-listen is set; the
 * count of calls in flight is always kept, since it drives the give-back:
 * when it falls to MNEMO_METRICS_BURST_LOW after having reached
 * MNEMO_METRICS_BURST_HIGH, the thread ending that call wakes mnemod-trim,
 * which waits MNEMO_METRICS_SETTLE_MS for the burst's last frees and gives
 * the heap's free pages back (mnemo_heap_give_back), once per burst.
 * Measured (1,000 health Watch streams opened and closed, RssAnon against
 * before the burst): glibc alone keeps the high-water mark (5.6x);
 * trimming at once, with 16 calls still closing, 2.2x-3.6x; trimming once
 * the frees have settled, about 1.4x (docs/design-notes.md).
 *
 * The mnemo_* and process_* families are read at scrape time from the
 * domain's own counters (memories, code index, stores) and /proc.
 *
 * Threads: create/destroy on the main thread (create starts mnemod-trim,
 * destroy joins it); the call functions from any thread; render on the
 * metrics listener's thread.
 */
#ifndef MNEMO_METRICS_H
#define MNEMO_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "bytes.h"
#include "codeindex.h"
#include "memories.h"
#include "mnemo/codes.h"
#include "store.h"

typedef struct mnemo_metrics mnemo_metrics_t;
typedef struct mnemo_method mnemo_method_t;

#define MNEMO_METRICS_SHARDS 8
/* The give-back after a burst: calls in flight reached HIGH, then fell to
 * LOW. A GetMemory load of h2load -c4 -m10 keeps ~40 in flight and never
 * triggers it; 1,000 streams closing do, once. */
#define MNEMO_METRICS_BURST_HIGH 256
#define MNEMO_METRICS_BURST_LOW  16
#define MNEMO_METRICS_SETTLE_MS  250
/* ... and once each time the server goes quiet (no call started for
 * QUIET_MS, none in flight) while glibc keeps at least QUIET_FREE_BYTES
 * free: what syncs, merges, compactions and the tail of a burst freed. A
 * steady load never triggers it. */
#define MNEMO_METRICS_QUIET_MS         2000
#define MNEMO_METRICS_QUIET_FREE_BYTES (1u << 20)

typedef struct mnemo_metrics_options {
    bool count_calls; /* the grpc_server_* counters (--metrics-listen) */
    bool access_log;  /* one line per finished call (--access-log) */
} mnemo_metrics_options_t;

/* Sets up counters for every method of the rpc tables (rpc.h). The
 * caller's (mnemo_metrics_destroy). */
mnemo_metrics_t *mnemo_metrics_create(const mnemo_metrics_options_t *opts);
void mnemo_metrics_destroy(mnemo_metrics_t *m);

/* One call as the metrics see it; embedded in the call (call.c), filled by
 * mnemo_metrics_call_start. */
typedef struct mnemo_call_obs {
    mnemo_metrics_t *metrics; /* NULL: not started (nothing to report) */
    int method;               /* index of the method's counters; -1: not counted */
    const mnemo_method_t *m;  /* NULL: a method nobody registered */
    char path[128];           /* "/service/method" for the access log */
    int64_t start_ns;         /* CLOCK_MONOTONIC; 0 when nothing needs it */
    uint64_t bytes_in, bytes_out;
    char who[MNEMO_AUTH_NAME_MAX + 16]; /* the credential's name, or "" */
} mnemo_call_obs_t;

/* A call starts: method NULL for an unknown one (path then names it, as
 * the client sent it, made printable); who (NULL: none) names the
 * credential auth accepted. request_bytes: the request message of a unary
 * or server-streaming call (counted as one message received); -1 for
 * client streams, whose messages are counted as they come. */
void mnemo_metrics_call_start(mnemo_metrics_t *m, mnemo_call_obs_t *obs,
                              const mnemo_method_t *method, const char *path, const char *who,
                              long long request_bytes);

/* A message of n bytes went out (a stream's, or a unary reply), or came
 * in (client streams). */
void mnemo_metrics_call_sent(mnemo_call_obs_t *obs, size_t n);
void mnemo_metrics_call_received(mnemo_call_obs_t *obs, size_t n);

/* The call ended with code; peer (may be NULL) for the access log. */
void mnemo_metrics_call_end(mnemo_call_obs_t *obs, mnemo_code_t code, const char *peer);

/* True when the access log wants the peer of each call. */
bool mnemo_metrics_wants_peer(const mnemo_metrics_t *m);

/* Calls started and not ended. */
uint64_t mnemo_metrics_in_flight(const mnemo_metrics_t *m);

/* Where the mnemo_* families come from (any may be NULL: left out). */
typedef struct mnemo_metrics_sources {
    mnemo_memories_t *memories;
    mnemo_codeindex_t *codeindex;
    mnemo_store_t *stores[2];
    const char *store_names[2];
} mnemo_metrics_sources_t;

/* Appends the Prometheus text exposition of every family to out. */
void mnemo_metrics_render(mnemo_metrics_t *m, const mnemo_metrics_sources_t *src, mnemo_buf_t *out);

/* The process_* numbers from /proc/self/stat's text (after the command's
 * closing parenthesis): CPU seconds, virtual and resident bytes, start
 * time in seconds since boot. false when the text does not parse. */
typedef struct mnemo_proc_stat {
    double cpu_seconds;
    double start_since_boot_seconds;
    unsigned long long virtual_bytes;
    unsigned long long resident_bytes;
} mnemo_proc_stat_t;
bool mnemo_metrics_parse_proc_stat(mnemo_proc_stat_t *out, const char *text, long ticks_per_s,
                                   long page_size);

/* The gRPC code names of go-grpc-prometheus' grpc_code label ("OK",
 * "NotFound", ...). */
const char *mnemo_metrics_code_label(mnemo_code_t code);

#endif
