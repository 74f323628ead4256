/* config.h - mnemod's configuration: defaults, MNEMO_* environment, flags.
 *
 * DESIGN: one plain struct filled in three layers (defaults, then the
 * environment, then command-line flags: flags win). Parsing is pure (the
 * environment is passed in) so it is unit-tested without a process. Every
 * bad value is MNEMO_EINVAL with a message naming the flag or variable;
 * mnemod prints it and exits 2. Single-threaded (main, before the server).
 */
#ifndef MNEMO_CONFIG_H
#define MNEMO_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "defaults.h"
#include "log.h"
#include "mnemo/status.h"

#define MNEMO_CONFIG_MAX_ROOTS 32
#define MNEMO_CONFIG_PATH_MAX  4096
#define MNEMO_DEFAULT_LISTEN   "127.0.0.1:50051"
#define MNEMO_DEFAULT_DATA_DIR "./mnemo-data"
/* Percent of one core a sync uses while interactive requests arrive. */
#define MNEMO_DEFAULT_SYNC_SHARE 5
/* A quiet sync stream resends its status after this long: under the
 * 60 s read timeouts proxies default to (nginx grpc_read_timeout, HAProxy
 * timeout server, Envoy stream idle timeout is 5 min), with room for a
 * slow tick. */
#define MNEMO_DEFAULT_STREAM_HEARTBEAT_MS 10000
/* Shutdown drain before in-flight calls are cancelled. */
#define MNEMO_DEFAULT_GRACE_MS 5000
/* Files per sync batch, and concurrent syncs. */
#define MNEMO_DEFAULT_BATCH_SIZE 100
#define MNEMO_DEFAULT_MAX_SYNCS  4
/* A sync skips larger files. */
#define MNEMO_DEFAULT_MAX_FILE_BYTES (1u << 20)
/* Byte budget of one list or search reply: gRPC's default 4 MiB client
 * receive limit less 64 KiB for framing and headers, so that a client with
 * default settings takes any reply (README "Limits"). */
#define MNEMO_DEFAULT_MAX_REPLY_BYTES ((4u << 20) - (64u << 10))
#define MNEMO_DEFAULT_BALLAST_BYTES   (64u << 20)
#define MNEMO_MIN_MAX_REPLY_BYTES     (64u << 10)

/* A duration flag set to "off": no limit. INT_MAX milliseconds is also
 * what gRPC core reads as "never" in its channel args. */
#define MNEMO_DURATION_OFF INT_MAX
/* Connection management (README "Configuration" gives the reasons). */
#define MNEMO_DEFAULT_MAX_CONNECTION_AGE_MS  (30 * 60 * 1000)
#define MNEMO_DEFAULT_MAX_CONNECTION_IDLE_MS (15 * 60 * 1000)
#define MNEMO_DEFAULT_KEEPALIVE_TIME_MS      (60 * 1000)
#define MNEMO_DEFAULT_KEEPALIVE_TIMEOUT_MS   (20 * 1000)
#define MNEMO_DEFAULT_MIN_PING_INTERVAL_MS   (10 * 1000)
/* 200 WatchSync streams of one client plus its requests fit five times. */
#define MNEMO_DEFAULT_MAX_CONCURRENT_STREAMS 1000
/* gRPC's own default: what nginx's and Envoy's default header limits let
 * through anyway. */
#define MNEMO_DEFAULT_MAX_METADATA_BYTES (8u << 10)

typedef enum mnemo_config_action {
    MNEMO_CONFIG_RUN,
    MNEMO_CONFIG_HELP,
    MNEMO_CONFIG_VERSION,
    MNEMO_CONFIG_HASH_TOKEN, /* `mnemod hash-token`: print the SHA-256 of stdin's token */
} mnemo_config_action_t;

/* What requests are validated against; mnemo_config_init fills it from
 * defaults.h (the comments name each constant). */
typedef struct mnemo_limits {
    size_t max_content_bytes;    /* MNEMO_DEFAULT_MAX_CONTENT_BYTES (1 MiB) */
    size_t max_tags;             /* MNEMO_MAX_TAGS (64) */
    size_t max_tag_bytes;        /* MNEMO_MAX_TAG_BYTES (128) */
    size_t max_metadata;         /* MNEMO_MAX_METADATA (64) */
    size_t max_meta_key_bytes;   /* MNEMO_MAX_META_KEY_BYTES (128) */
    size_t max_meta_value_bytes; /* MNEMO_MAX_META_VALUE_BYTES (4 KiB) */
    size_t max_query_bytes;      /* MNEMO_MAX_QUERY_BYTES (4 KiB) */
    size_t default_limit;        /* MNEMO_DEFAULT_LIMIT (10): retrieval and search */
    size_t default_page_size;    /* MNEMO_DEFAULT_PAGE_SIZE (50): lists */
    size_t max_limit;            /* MNEMO_MAX_LIMIT (1000): limits and page sizes */
} mnemo_limits_t;

/* How connections live (gRFC A8 keepalive, A9 connection age and idle),
 * handed to gRPC core as channel args by server.c. Durations in
 * milliseconds; MNEMO_DURATION_OFF where "off" is allowed. */
typedef struct mnemo_conn_config {
    int max_connection_age_ms;       /* GOAWAY after this (gRPC adds +-10 % jitter) */
    int max_connection_age_grace_ms; /* then streams still open are cut; default off */
    int max_connection_idle_ms;      /* GOAWAY after this long without a call */
    int keepalive_time_ms;           /* the server pings a quiet connection this often */
    int keepalive_timeout_ms;        /* and closes it when the ack takes longer */
    int min_ping_interval_ms;        /* clients pinging more often get GOAWAY */
    bool permit_without_calls;       /* pings allowed (and sent) with no call open */
    int max_concurrent_streams;      /* per connection, advertised in SETTINGS */
    int max_metadata_bytes;          /* request headers, advertised in SETTINGS */
} mnemo_conn_config_t;

typedef struct mnemo_config {
    char listen[256];
    char data_dir[4096];
    char *allow_roots[MNEMO_CONFIG_MAX_ROOTS]; /* owned; empty: the start directory */
    size_t n_allow_roots;
    int threads;             /* completion-queue threads; default 4 x cores (4 to 64) */
    size_t max_recv_bytes;   /* transport limit; default max_content_bytes + 1 MiB */
    int grace_ms;            /* shutdown drain before cancelling calls */
    int drain_delay_ms;      /* SIGTERM: NOT_SERVING but serving this long before GOAWAY */
    char health_listen[256]; /* plaintext listener serving only health; "" = none */
    mnemo_conn_config_t conn;
    int stream_heartbeat_ms; /* a quiet SyncRepository/WatchSync resends its status; 0 = off */
    bool sync_writes;        /* fsync acknowledged writes (default on) */
    int batch_size;          /* sync files per batch (default 100, max 1000) */
    int batch_pause_ms;      /* pause between sync batches (default 0) */
    int sync_share;          /* % of a core a sync uses while requests arrive (pace.h) */
    int max_syncs;           /* concurrent syncs (default 4) */
    size_t max_file_bytes;   /* sync skips larger files (default 1 MiB) */
    /* Byte budget of a list or search reply (MNEMO_DEFAULT_MAX_REPLY_BYTES) */
    size_t max_reply_bytes;
    /* Each store's LevelDB block cache and memtable size (store.h) */
    size_t store_cache_bytes, store_write_buffer_bytes;
    /* glibc malloc arenas (M_ARENA_MAX): one per core, at least 2; 0 leaves
     * glibc's own (8 per core). Each arena keeps the pages at its top once a
     * burst freed them, out of malloc_trim's reach (docs/design.md). */
    int malloc_arenas;
    /* The data dir's ballast (datadir.h); 0: none. The default is capped
     * at 1 % of the data dir's file system. */
    size_t ballast_bytes;
    mnemo_limits_t limits;
    /* Security (README "Security"); "" = not set. */
    char tls_cert[MNEMO_CONFIG_PATH_MAX];         /* PEM certificate chain of --listen */
    char tls_key[MNEMO_CONFIG_PATH_MAX];          /* PEM private key of tls_cert */
    char tls_client_ca[MNEMO_CONFIG_PATH_MAX];    /* PEM CA bundle: clients must present a cert */
    char tls_client_roles[MNEMO_CONFIG_PATH_MAX]; /* client certificate name -> role */
    char auth_tokens[MNEMO_CONFIG_PATH_MAX];      /* token hash, role, name per line */
    bool insecure; /* serve a non-loopback --listen without TLS or tokens */
    /* Operating (README "Metrics", "Logs"). */
    char metrics_listen[256]; /* host:port of GET /metrics; "" = off */
    int log_format;           /* mnemo_log_format_t (log.h) */
    int log_level;            /* mnemo_log_level_t: the lowest level written */
    bool access_log;          /* one line per finished call */
} mnemo_config_t;

/* Fills cfg with the defaults (threads from the number of online cores). */
void mnemo_config_init(mnemo_config_t *cfg);

/* Applies envp ("NAME=value" strings, NULL-terminated; may be NULL), then
 * argv[1..argc) over cfg. *action says whether to run, print help/version
 * or hash a token (argv[1] == "hash-token"). MNEMO_EINVAL naming the flag
 * or variable on a bad value or unknown flag, on flags that only work
 * together (--tls-cert with --tls-key, --tls-client-ca with them,
 * --tls-client-roles with --tls-client-ca), and when --listen is not a
 * loopback address while neither TLS nor tokens nor --insecure is set. */
mnemo_status_t mnemo_config_parse(mnemo_config_t *cfg, mnemo_config_action_t *action, int argc,
                                  char *const *argv, char *const *envp, mnemo_err_t *err);

/* Parses a duration: a whole number with a unit, "500ms", "30s", "5m",
 * "2h" ("0" needs none) into *ms (set on success only). MNEMO_EINVAL with
 * a message naming `from` (the flag or variable) and the accepted forms,
 * also when the value does not fit in an int of milliseconds. */
mnemo_status_t mnemo_config_parse_duration(int *ms, const char *from, const char *text,
                                           mnemo_err_t *err);

/* True when listen ("host:port", "[v6]:port", "unix:path") can only be
 * reached from this machine: 127.0.0.0/8, ::1, "localhost", unix sockets. */
bool mnemo_config_listen_is_local(const char *listen);

/* The --help text. */
const char *mnemo_config_usage(void);

/* Frees what parse allocated (allow roots). */
void mnemo_config_cleanup(mnemo_config_t *cfg);

#endif
