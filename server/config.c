/* config.c - defaults, MNEMO_* environment and flags for mnemod.
 *
 * DESIGN: one table lists every option once: its flag, its environment
 * variable, its kind and bounds, and where it lands in mnemo_config_t. The
 * environment pass and the flag pass both go through set_option(), so a
 * value means the same wherever it comes from and every error names where
 * it came from. Single-threaded.
 */
#include "config.h"
#include "bytes.h"
#include "store.h"
#include "sync.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* OPT_FLAG: a bool whose flag takes no value (--insecure); its environment
 * variable takes true/false like OPT_BOOL. OPT_LOG_FORMAT, OPT_LOG_LEVEL:
 * a name log.h knows, stored as its enum value in an int. OPT_DURATION: an int of
 * milliseconds written with a unit (mnemo_config_parse_duration);
 * OPT_DURATION_OFF also takes "off" (MNEMO_DURATION_OFF). */
typedef enum opt_kind {
    OPT_STRING,
    OPT_INT,
    OPT_SIZE,
    OPT_BOOL,
    OPT_FLAG,
    OPT_ROOTS,
    OPT_LOG_FORMAT,
    OPT_LOG_LEVEL,
    OPT_DURATION,
    OPT_DURATION_OFF,
} opt_kind_t;

typedef struct opt {
    const char *flag;
    const char *env;
    opt_kind_t kind;
    size_t offset;
    long long min;
    long long max;
    size_t cap; /* OPT_STRING: buffer size */
} opt_t;

#define FIELD(f) offsetof(mnemo_config_t, f)
#define STR(f)   OPT_STRING, FIELD(f), 0, 0, sizeof(((mnemo_config_t *)0)->f)
/* Durations in milliseconds; the longest finite one any option takes
 * (24 days, just under INT_MAX ms, which means "off"). */
#define SEC     1000LL
#define MIN     (60 * SEC)
#define HOUR    (60 * MIN)
#define DAYS_24 (24 * 24 * HOUR)

static const opt_t options[] = {
    {"--listen", "MNEMO_LISTEN", STR(listen)},
    {"--data-dir", "MNEMO_DATA_DIR", STR(data_dir)},
    {"--allow-root", "MNEMO_ALLOW_ROOTS", OPT_ROOTS, 0, 0, 0, 0},
    {"--threads", "MNEMO_THREADS", OPT_INT, FIELD(threads), 1, 256, 0},
    {"--max-recv-bytes", "MNEMO_MAX_RECV_BYTES", OPT_SIZE, FIELD(max_recv_bytes), 1024, 1LL << 30,
     0},
    {"--max-content-bytes", "MNEMO_MAX_CONTENT_BYTES", OPT_SIZE, FIELD(limits.max_content_bytes), 1,
     64LL << 20, 0},
    {"--grace-ms", "MNEMO_GRACE_MS", OPT_INT, FIELD(grace_ms), 0, 3600000, 0},
    {"--sync-writes", "MNEMO_SYNC_WRITES", OPT_BOOL, FIELD(sync_writes), 0, 1, 0},
    {"--batch-size", "MNEMO_BATCH_SIZE", OPT_INT, FIELD(batch_size), 1, MNEMO_SYNC_BATCH_MAX, 0},
    {"--batch-pause-ms", "MNEMO_BATCH_PAUSE_MS", OPT_INT, FIELD(batch_pause_ms), 0, 600000, 0},
    {"--sync-share", "MNEMO_SYNC_SHARE", OPT_INT, FIELD(sync_share), 1, 100, 0},
    {"--max-syncs", "MNEMO_MAX_SYNCS", OPT_INT, FIELD(max_syncs), 1, 64, 0},
    {"--max-file-bytes", "MNEMO_MAX_FILE_BYTES", OPT_SIZE, FIELD(max_file_bytes), 1, 64LL << 20, 0},
    {"--max-reply-bytes", "MNEMO_MAX_REPLY_BYTES", OPT_SIZE, FIELD(max_reply_bytes),
     MNEMO_MIN_MAX_REPLY_BYTES, 1LL << 30, 0},
    {"--store-cache-bytes", "MNEMO_STORE_CACHE_BYTES", OPT_SIZE, FIELD(store_cache_bytes),
     1LL << 20, 64LL << 30, 0},
    {"--store-write-buffer-bytes", "MNEMO_STORE_WRITE_BUFFER_BYTES", OPT_SIZE,
     FIELD(store_write_buffer_bytes), 1LL << 20, 1LL << 30, 0},
    {"--ballast-bytes", "MNEMO_BALLAST_BYTES", OPT_SIZE, FIELD(ballast_bytes), 0, 64LL << 30, 0},
    {"--malloc-arenas", "MNEMO_MALLOC_ARENAS", OPT_INT, FIELD(malloc_arenas), 0, 1024, 0},
    {"--tls-cert", "MNEMO_TLS_CERT", STR(tls_cert)},
    {"--tls-key", "MNEMO_TLS_KEY", STR(tls_key)},
    {"--tls-client-ca", "MNEMO_TLS_CLIENT_CA", STR(tls_client_ca)},
    {"--tls-client-roles", "MNEMO_TLS_CLIENT_ROLES", STR(tls_client_roles)},
    {"--auth-tokens", "MNEMO_AUTH_TOKENS", STR(auth_tokens)},
    {"--insecure", "MNEMO_INSECURE", OPT_FLAG, FIELD(insecure), 0, 1, 0},
    {"--metrics-listen", "MNEMO_METRICS_LISTEN", STR(metrics_listen)},
    {"--log-format", "MNEMO_LOG_FORMAT", OPT_LOG_FORMAT, FIELD(log_format), 0, 0, 0},
    {"--log-level", "MNEMO_LOG_LEVEL", OPT_LOG_LEVEL, FIELD(log_level), 0, 0, 0},
    {"--access-log", "MNEMO_ACCESS_LOG", OPT_FLAG, FIELD(access_log), 0, 1, 0},
    {"--drain-delay", "MNEMO_DRAIN_DELAY", OPT_DURATION, FIELD(drain_delay_ms), 0, HOUR, 0},
    {"--health-listen", "MNEMO_HEALTH_LISTEN", STR(health_listen)},
    {"--stream-heartbeat", "MNEMO_STREAM_HEARTBEAT", OPT_DURATION_OFF, FIELD(stream_heartbeat_ms),
     100, HOUR, 0},
    {"--max-connection-age", "MNEMO_MAX_CONNECTION_AGE", OPT_DURATION_OFF,
     FIELD(conn.max_connection_age_ms), SEC, DAYS_24, 0},
    {"--max-connection-age-grace", "MNEMO_MAX_CONNECTION_AGE_GRACE", OPT_DURATION_OFF,
     FIELD(conn.max_connection_age_grace_ms), 0, DAYS_24, 0},
    {"--max-connection-idle", "MNEMO_MAX_CONNECTION_IDLE", OPT_DURATION_OFF,
     FIELD(conn.max_connection_idle_ms), SEC, DAYS_24, 0},
    {"--keepalive-time", "MNEMO_KEEPALIVE_TIME", OPT_DURATION_OFF, FIELD(conn.keepalive_time_ms),
     SEC, DAYS_24, 0},
    {"--keepalive-timeout", "MNEMO_KEEPALIVE_TIMEOUT", OPT_DURATION,
     FIELD(conn.keepalive_timeout_ms), SEC, DAYS_24, 0},
    {"--keepalive-min-ping-interval", "MNEMO_KEEPALIVE_MIN_PING_INTERVAL", OPT_DURATION,
     FIELD(conn.min_ping_interval_ms), 0, DAYS_24, 0},
    {"--keepalive-permit-without-calls", "MNEMO_KEEPALIVE_PERMIT_WITHOUT_CALLS", OPT_BOOL,
     FIELD(conn.permit_without_calls), 0, 1, 0},
    {"--max-concurrent-streams", "MNEMO_MAX_CONCURRENT_STREAMS", OPT_INT,
     FIELD(conn.max_concurrent_streams), 1, INT_MAX, 0},
    {"--max-metadata-bytes", "MNEMO_MAX_METADATA_BYTES", OPT_INT, FIELD(conn.max_metadata_bytes),
     1024, 1LL << 24, 0},
};

#define N_OPTIONS (sizeof options / sizeof options[0])

/* The default thread count: THREADS_PER_CORE x cores, within
 * [MIN_DEFAULT_THREADS, MAX_DEFAULT_THREADS]. */
#define THREADS_PER_CORE    4
#define MIN_DEFAULT_THREADS 4
#define MAX_DEFAULT_THREADS 64
/* The default malloc arenas: one per core, at least this many. */
#define MIN_DEFAULT_ARENAS 2
/* The default transport limit: the content limit plus this for the rest of
 * a request. */
#define RECV_HEADROOM_BYTES (1u << 20)

void mnemo_config_init(mnemo_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->listen, sizeof cfg->listen, "%s", MNEMO_DEFAULT_LISTEN);
    snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s", MNEMO_DEFAULT_DATA_DIR);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    /* Memory RPCs block on fsync; more pollers than cores lets concurrent
     * stores share one fsync (group commit) instead of queueing behind it. */
    cfg->threads = cores > 0 ? (int)(cores * THREADS_PER_CORE) : MIN_DEFAULT_THREADS;
    if (cfg->threads < MIN_DEFAULT_THREADS)
        cfg->threads = MIN_DEFAULT_THREADS;
    if (cfg->threads > MAX_DEFAULT_THREADS)
        cfg->threads = MAX_DEFAULT_THREADS;
    cfg->malloc_arenas = cores > MIN_DEFAULT_ARENAS ? (int)cores : MIN_DEFAULT_ARENAS;
    cfg->grace_ms = MNEMO_DEFAULT_GRACE_MS;
    cfg->stream_heartbeat_ms = MNEMO_DEFAULT_STREAM_HEARTBEAT_MS;
    cfg->sync_writes = true;
    cfg->batch_size = MNEMO_DEFAULT_BATCH_SIZE;
    cfg->batch_pause_ms = 0;
    cfg->sync_share = MNEMO_DEFAULT_SYNC_SHARE;
    cfg->max_syncs = MNEMO_DEFAULT_MAX_SYNCS;
    cfg->max_file_bytes = MNEMO_DEFAULT_MAX_FILE_BYTES;
    cfg->max_reply_bytes = MNEMO_DEFAULT_MAX_REPLY_BYTES;
    cfg->store_cache_bytes = MNEMO_STORE_DEFAULT_CACHE_BYTES;
    cfg->store_write_buffer_bytes = MNEMO_STORE_DEFAULT_WRITE_BUFFER;
    cfg->ballast_bytes = MNEMO_DEFAULT_BALLAST_BYTES;
    cfg->log_format = MNEMO_LOG_TEXT;
    cfg->log_level = MNEMO_LOG_INFO;
    cfg->conn = (mnemo_conn_config_t){
        .max_connection_age_ms = MNEMO_DEFAULT_MAX_CONNECTION_AGE_MS,
        .max_connection_age_grace_ms = MNEMO_DURATION_OFF,
        .max_connection_idle_ms = MNEMO_DEFAULT_MAX_CONNECTION_IDLE_MS,
        .keepalive_time_ms = MNEMO_DEFAULT_KEEPALIVE_TIME_MS,
        .keepalive_timeout_ms = MNEMO_DEFAULT_KEEPALIVE_TIMEOUT_MS,
        .min_ping_interval_ms = MNEMO_DEFAULT_MIN_PING_INTERVAL_MS,
        .permit_without_calls = true,
        .max_concurrent_streams = MNEMO_DEFAULT_MAX_CONCURRENT_STREAMS,
        .max_metadata_bytes = MNEMO_DEFAULT_MAX_METADATA_BYTES,
    };
    cfg->limits = (mnemo_limits_t){
        .max_content_bytes = MNEMO_DEFAULT_MAX_CONTENT_BYTES,
        .max_tags = MNEMO_MAX_TAGS,
        .max_tag_bytes = MNEMO_MAX_TAG_BYTES,
        .max_metadata = MNEMO_MAX_METADATA,
        .max_meta_key_bytes = MNEMO_MAX_META_KEY_BYTES,
        .max_meta_value_bytes = MNEMO_MAX_META_VALUE_BYTES,
        .max_query_bytes = MNEMO_MAX_QUERY_BYTES,
        .default_limit = MNEMO_DEFAULT_LIMIT,
        .default_page_size = MNEMO_DEFAULT_PAGE_SIZE,
        .max_limit = MNEMO_MAX_LIMIT,
    };
}

static mnemo_status_t parse_number(long long *out, const opt_t *o, const char *from,
                                   const char *value, mnemo_err_t *err)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (value[0] == '\0' || *end != '\0' || errno != 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "%s: '%s' is not a whole number", from, value);
    if (v < o->min || v > o->max)
        return mnemo_err_set(err, MNEMO_EINVAL, "%s: %lld is out of range [%lld, %lld]", from, v,
                             o->min, o->max);
    *out = v;
    return MNEMO_OK;
}

static mnemo_status_t parse_bool(bool *out, const char *from, const char *value, mnemo_err_t *err)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(value, yes[i]) == 0)
            return *out = true, MNEMO_OK;
        if (strcmp(value, no[i]) == 0)
            return *out = false, MNEMO_OK;
    }
    return mnemo_err_set(err, MNEMO_EINVAL, "%s: '%s' is not true/false", from, value);
}

/* --log-format and --log-level: the names log.h parses. */
static mnemo_status_t parse_log_choice(int *out, opt_kind_t kind, const char *from,
                                       const char *value, mnemo_err_t *err)
{
    mnemo_log_format_t format;
    mnemo_log_level_t level;
    if (kind == OPT_LOG_FORMAT && mnemo_log_parse_format(&format, value))
        return *out = (int)format, MNEMO_OK;
    if (kind == OPT_LOG_LEVEL && mnemo_log_parse_level(&level, value))
        return *out = (int)level, MNEMO_OK;
    return mnemo_err_set(err, MNEMO_EINVAL, "%s: '%s' is not one of %s", from, value,
                         kind == OPT_LOG_FORMAT ? "text, json" : "debug, info, warn, error");
}

static const struct {
    const char *unit;
    long long ms;
} duration_units[] = {{"h", HOUR}, {"m", MIN}, {"s", SEC}, {"ms", 1}};

#define N_DURATION_UNITS (sizeof duration_units / sizeof duration_units[0])

mnemo_status_t mnemo_config_parse_duration(int *ms, const char *from, const char *text,
                                           mnemo_err_t *err)
{
    char *end = NULL;
    errno = 0;
    long long n = text[0] >= '0' && text[0] <= '9' ? strtoll(text, &end, 10) : -1;
    if (n == 0 && *end == '\0')
        return *ms = 0, MNEMO_OK; /* the one value that needs no unit */
    size_t u = 0;
    while (n >= 0 && u < N_DURATION_UNITS && strcmp(end, duration_units[u].unit) != 0)
        u++;
    if (n < 0 || u == N_DURATION_UNITS)
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "%s: '%s' is not a duration: want a whole number and a unit, as "
                             "500ms, 30s, 5m or 2h",
                             from, text);
    if (errno == ERANGE || n > (INT_MAX - 1) / duration_units[u].ms)
        return mnemo_err_set(err, MNEMO_EINVAL, "%s: '%s' is too long (at most %d ms)", from, text,
                             INT_MAX - 1);
    *ms = (int)(n * duration_units[u].ms);
    return MNEMO_OK;
}

/* ms in the largest unit that divides it ("90s", "5m", "250ms"). */
static const char *format_duration(char buf[32], long long ms)
{
    size_t i = 0;
    while (ms != 0 && i + 1 < N_DURATION_UNITS && ms % duration_units[i].ms != 0)
        i++;
    snprintf(buf, 32, "%lld%s", ms / duration_units[i].ms, ms == 0 ? "" : duration_units[i].unit);
    return buf;
}

/* A duration within the option's bounds, or "off" where it allows that. */
static mnemo_status_t set_duration(int *out, const opt_t *o, const char *from, const char *value,
                                   mnemo_err_t *err)
{
    bool may_be_off = o->kind == OPT_DURATION_OFF;
    if (may_be_off && strcmp(value, "off") == 0)
        return *out = MNEMO_DURATION_OFF, MNEMO_OK;
    int ms = 0;
    mnemo_status_t st = mnemo_config_parse_duration(&ms, from, value, err);
    if (st != MNEMO_OK)
        return st;
    if (ms < o->min || ms > o->max) {
        char lo[32], hi[32];
        return mnemo_err_set(err, MNEMO_EINVAL, "%s: %s is out of range [%s, %s]%s", from, value,
                             format_duration(lo, o->min), format_duration(hi, o->max),
                             may_be_off ? " (or off)" : "");
    }
    *out = ms;
    return MNEMO_OK;
}

static mnemo_status_t add_root(mnemo_config_t *cfg, const char *from, const char *dir, size_t len,
                               mnemo_err_t *err)
{
    if (len == 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "%s: empty directory", from);
    if (cfg->n_allow_roots == MNEMO_CONFIG_MAX_ROOTS)
        return mnemo_err_set(err, MNEMO_EINVAL, "%s: more than %d roots", from,
                             MNEMO_CONFIG_MAX_ROOTS);
    char *copy = mnemo_xstrndup(dir, len);
    cfg->allow_roots[cfg->n_allow_roots++] = copy;
    return MNEMO_OK;
}

/* MNEMO_ALLOW_ROOTS is ':'-separated; --allow-root takes one directory. */
static mnemo_status_t set_roots(mnemo_config_t *cfg, bool from_env, const char *from,
                                const char *value, mnemo_err_t *err)
{
    if (!from_env)
        return add_root(cfg, from, value, strlen(value), err);
    for (const char *p = value; *p != '\0';) {
        const char *colon = strchr(p, ':');
        size_t len = colon != NULL ? (size_t)(colon - p) : strlen(p);
        if (len > 0) {
            mnemo_status_t st = add_root(cfg, from, p, len, err);
            if (st != MNEMO_OK)
                return st;
        }
        p += len + (colon != NULL);
    }
    return MNEMO_OK;
}

static mnemo_status_t set_option(mnemo_config_t *cfg, const opt_t *o, bool from_env,
                                 const char *value, mnemo_err_t *err)
{
    const char *from = from_env ? o->env : o->flag;
    char *field = (char *)cfg + o->offset;
    long long n = 0;
    mnemo_status_t st = MNEMO_OK;
    switch (o->kind) {
    case OPT_STRING:
        if (value[0] == '\0' || strlen(value) >= o->cap)
            return mnemo_err_set(err, MNEMO_EINVAL, "%s: must be 1 to %zu bytes", from, o->cap - 1);
        memcpy(field, value, strlen(value) + 1);
        return MNEMO_OK;
    case OPT_INT:
        if ((st = parse_number(&n, o, from, value, err)) == MNEMO_OK)
            *(int *)(void *)field = (int)n;
        return st;
    case OPT_SIZE:
        if ((st = parse_number(&n, o, from, value, err)) == MNEMO_OK)
            *(size_t *)(void *)field = (size_t)n;
        return st;
    case OPT_BOOL:
    case OPT_FLAG:
        return parse_bool((bool *)(void *)field, from, value, err);
    case OPT_ROOTS:
        return set_roots(cfg, from_env, from, value, err);
    case OPT_LOG_FORMAT:
    case OPT_LOG_LEVEL:
        return parse_log_choice((int *)(void *)field, o->kind, from, value, err);
    case OPT_DURATION:
    case OPT_DURATION_OFF:
        return set_duration((int *)(void *)field, o, from, value, err);
    }
    return MNEMO_EINTERNAL;
}

static mnemo_status_t apply_env(mnemo_config_t *cfg, char *const *envp, mnemo_err_t *err)
{
    for (size_t e = 0; envp != NULL && envp[e] != NULL; e++) {
        for (size_t i = 0; i < N_OPTIONS; i++) {
            size_t n = strlen(options[i].env);
            if (strncmp(envp[e], options[i].env, n) != 0 || envp[e][n] != '=')
                continue;
            mnemo_status_t st = set_option(cfg, &options[i], true, envp[e] + n + 1, err);
            if (st != MNEMO_OK)
                return st;
        }
    }
    return MNEMO_OK;
}

static const opt_t *find_flag(const char *arg, const char **inline_value)
{
    *inline_value = NULL;
    for (size_t i = 0; i < N_OPTIONS; i++) {
        size_t n = strlen(options[i].flag);
        if (strncmp(arg, options[i].flag, n) != 0)
            continue;
        if (arg[n] == '=')
            *inline_value = arg + n + 1;
        if (arg[n] == '\0' || arg[n] == '=')
            return &options[i];
    }
    return NULL;
}

static mnemo_status_t apply_flags(mnemo_config_t *cfg, mnemo_config_action_t *action, int argc,
                                  char *const *argv, mnemo_err_t *err)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return *action = MNEMO_CONFIG_HELP, MNEMO_OK;
        if (strcmp(argv[i], "--version") == 0)
            return *action = MNEMO_CONFIG_VERSION, MNEMO_OK;
        const char *value = NULL;
        const opt_t *o = find_flag(argv[i], &value);
        if (o == NULL)
            return mnemo_err_set(err, MNEMO_EINVAL, "unknown argument '%s' (see --help)", argv[i]);
        if (value == NULL && o->kind == OPT_FLAG)
            value = "true";
        if (value == NULL) {
            if (i + 1 >= argc)
                return mnemo_err_set(err, MNEMO_EINVAL, "%s: missing value", o->flag);
            value = argv[++i];
        }
        mnemo_status_t st = set_option(cfg, o, false, value, err);
        if (st != MNEMO_OK)
            return st;
    }
    return MNEMO_OK;
}

static void free_roots(mnemo_config_t *cfg)
{
    for (size_t i = 0; i < cfg->n_allow_roots; i++)
        free(cfg->allow_roots[i]);
    cfg->n_allow_roots = 0;
}

bool mnemo_config_listen_is_local(const char *listen)
{
    if (strncmp(listen, "unix:", 5) == 0 || strncmp(listen, "unix-abstract:", 14) == 0)
        return true;
    char host[256];
    const char *colon = strrchr(listen, ':');
    size_t len = colon != NULL ? (size_t)(colon - listen) : strlen(listen);
    if (len >= 2 && listen[0] == '[' && listen[len - 1] == ']') {
        listen++;
        len -= 2;
    }
    if (len == 0 || len >= sizeof host)
        return false; /* ":50051" listens on every interface */
    memcpy(host, listen, len);
    host[len] = '\0';
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, host, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &v6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&v6);
    return strcmp(host, "localhost") == 0;
}

/* Flags that only work together, and the safe default for an exposed
 * listener. */
static mnemo_status_t check_security(const mnemo_config_t *cfg, mnemo_err_t *err)
{
    bool tls = cfg->tls_cert[0] != '\0';
    if (tls != (cfg->tls_key[0] != '\0'))
        return mnemo_err_set(err, MNEMO_EINVAL, "--tls-cert and --tls-key: give both or neither");
    if (cfg->tls_client_ca[0] != '\0' && !tls)
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "--tls-client-ca: needs --tls-cert and --tls-key (mutual TLS)");
    if (cfg->tls_client_roles[0] != '\0' && cfg->tls_client_ca[0] == '\0')
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "--tls-client-roles: needs --tls-client-ca (client certificates)");
    if (!tls && cfg->auth_tokens[0] == '\0' && !cfg->insecure &&
        !mnemo_config_listen_is_local(cfg->listen))
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "--listen: %s is reachable from other machines, and anyone who can "
                             "reach it could read and change every memory: add --tls-cert and "
                             "--tls-key, and/or --auth-tokens; or --insecure when a proxy or "
                             "sidecar in front of mnemod secures the connection",
                             cfg->listen);
    return MNEMO_OK;
}

mnemo_status_t mnemo_config_parse(mnemo_config_t *cfg, mnemo_config_action_t *action, int argc,
                                  char *const *argv, char *const *envp, mnemo_err_t *err)
{
    *action = MNEMO_CONFIG_RUN;
    if (argc > 1 && strcmp(argv[1], "hash-token") == 0) {
        if (argc > 2)
            return mnemo_err_set(err, MNEMO_EINVAL,
                                 "hash-token: takes no arguments (it reads the token on stdin)");
        *action = MNEMO_CONFIG_HASH_TOKEN;
        return MNEMO_OK;
    }
    mnemo_status_t st = apply_env(cfg, envp, err);
    if (st != MNEMO_OK)
        return st;
    /* Flags win over the environment, also for the repeatable roots. */
    size_t env_roots = cfg->n_allow_roots;
    st = apply_flags(cfg, action, argc, argv, err);
    if (st != MNEMO_OK)
        return st;
    if (cfg->n_allow_roots > env_roots && env_roots > 0) {
        for (size_t i = 0; i < env_roots; i++)
            free(cfg->allow_roots[i]);
        memmove(cfg->allow_roots, cfg->allow_roots + env_roots,
                (cfg->n_allow_roots - env_roots) * sizeof cfg->allow_roots[0]);
        cfg->n_allow_roots -= env_roots;
    }
    if (cfg->max_recv_bytes == 0)
        cfg->max_recv_bytes = cfg->limits.max_content_bytes + RECV_HEADROOM_BYTES;
    return *action == MNEMO_CONFIG_RUN ? check_security(cfg, err) : MNEMO_OK;
}

void mnemo_config_cleanup(mnemo_config_t *cfg)
{
    free_roots(cfg);
}

const char *mnemo_config_usage(void)
{
    return "usage: mnemod [options]\n"
           "       mnemod hash-token < token-file   (prints the SHA-256 for --auth-tokens)\n"
           "       mnemod repair [--data-dir DIR]   (repairs a damaged data dir and reports\n"
           "                                        what was kept and lost; see --help there)\n"
           "\n"
           "Serves mnemo.v1 (memories and code index) over gRPC from a LevelDB data dir.\n"
           "Every option can also be set by the environment variable in brackets;\n"
           "flags win over the environment.\n"
           "\n"
           "  --listen ADDR           host:port to serve; port 0 picks a free port\n"
           "                          [MNEMO_LISTEN] (default 127.0.0.1:50051)\n"
           "  --data-dir DIR          LevelDB data directory [MNEMO_DATA_DIR]\n"
           "                          (default ./mnemo-data)\n"
           "  --allow-root DIR        directory that may be synced; repeatable\n"
           "                          [MNEMO_ALLOW_ROOTS, ':'-separated] (default: cwd)\n"
           "  --threads N             completion-queue threads [MNEMO_THREADS]\n"
           "                          (default 4 x cores)\n"
           "  --max-recv-bytes N      largest request accepted by the transport\n"
           "                          [MNEMO_MAX_RECV_BYTES] (default content limit + 1 MiB)\n"
           "  --max-content-bytes N   largest memory content [MNEMO_MAX_CONTENT_BYTES]\n"
           "                          (default 1048576)\n"
           "  --sync-writes BOOL      fsync every acknowledged write [MNEMO_SYNC_WRITES]\n"
           "                          (default true; false survives kill -9, not power loss)\n"
           "  --grace-ms N            shutdown drain before in-flight calls are cancelled\n"
           "                          [MNEMO_GRACE_MS] (default 5000)\n"
           "  --batch-size N          files per sync batch [MNEMO_BATCH_SIZE] (default 100)\n"
           "  --batch-pause-ms N      pause between sync batches [MNEMO_BATCH_PAUSE_MS]\n"
           "  --sync-share PERCENT    CPU a sync may use, in % of one core, while memory\n"
           "                          or code-search requests keep the machine busy;\n"
           "                          100: no pacing\n"
           "                          [MNEMO_SYNC_SHARE] (default 5)\n"
           "  --max-syncs N           concurrent syncs [MNEMO_MAX_SYNCS] (default 4)\n"
           "  --max-file-bytes N      sync skips larger files [MNEMO_MAX_FILE_BYTES]\n"
           "                          (default 1048576)\n"
           "  --max-reply-bytes N     byte budget of a list or search reply (at least\n"
           "                          65536): pages end early, longer results are cut\n"
           "                          (truncated=true) [MNEMO_MAX_REPLY_BYTES]\n"
           "                          (default 4128768)\n"
           "  --store-cache-bytes N   LevelDB block cache of each of the two stores\n"
           "                          [MNEMO_STORE_CACHE_BYTES] (default 33554432)\n"
           "  --store-write-buffer-bytes N\n"
           "                          memtable of each store; up to two per store are\n"
           "                          in memory [MNEMO_STORE_WRITE_BUFFER_BYTES]\n"
           "                          (default 16777216)\n"
           "  --ballast-bytes N       disk space the data dir keeps in reserve for a\n"
           "                          full disk (README \"When things go wrong\");\n"
           "                          0: none [MNEMO_BALLAST_BYTES] (default: 64 MiB,\n"
           "                          or 1 % of the file system when that is less)\n"
           "  --malloc-arenas N       glibc malloc arenas; fewer keep less freed memory\n"
           "                          resident; 0: glibc's own, 8 per core\n"
           "                          [MNEMO_MALLOC_ARENAS] (default: one per core, at\n"
           "                          least 2; MALLOC_ARENA_MAX, when set, wins)\n"
           "\n"
           "Security (README \"Security\"); a non-loopback --listen needs TLS, tokens\n"
           "or --insecure. SIGHUP re-reads every file below; calls in flight go on.\n"
           "  --tls-cert FILE         PEM certificate (chain) for TLS 1.2+ [MNEMO_TLS_CERT]\n"
           "  --tls-key FILE          PEM private key of --tls-cert [MNEMO_TLS_KEY]\n"
           "  --tls-client-ca FILE    mutual TLS: clients must present a certificate\n"
           "                          signed by this CA bundle [MNEMO_TLS_CLIENT_CA]\n"
           "  --tls-client-roles FILE a client certificate's CN or SAN -> role, one\n"
           "                          'NAME ROLE' per line [MNEMO_TLS_CLIENT_ROLES]\n"
           "  --auth-tokens FILE      bearer tokens: 'SHA256-HEX ROLE NAME' per line,\n"
           "                          roles read, write, admin [MNEMO_AUTH_TOKENS]\n"
           "  --insecure              serve a non-loopback --listen in plaintext without\n"
           "                          tokens (a sidecar secures it) [MNEMO_INSECURE]\n"
           "\n"
           "Operating (README \"Metrics\", \"Logs\"):\n"
           "  --metrics-listen ADDR   serve Prometheus metrics on http://ADDR/metrics;\n"
           "                          :PORT is every IPv4 and IPv6 address, HOST:PORT\n"
           "                          that address alone;\n"
           "                          port 0 picks a free port (logged as \"metrics on\n"
           "                          http://HOST:PORT/metrics\") [MNEMO_METRICS_LISTEN]\n"
           "                          (default: off)\n"
           "  --log-format FORMAT     text or json, one line per event on stderr\n"
           "                          [MNEMO_LOG_FORMAT] (default text)\n"
           "  --log-level LEVEL       debug, info, warn or error [MNEMO_LOG_LEVEL]\n"
           "                          (default info)\n"
           "  --access-log            one line per finished call: method, peer, code,\n"
           "                          duration, bytes, credential name [MNEMO_ACCESS_LOG]\n"
           "\n"
           "Connections and shutdown (README \"Operating mnemod\"). Durations take a\n"
           "unit: 500ms, 30s, 5m, 2h; 'off' means no limit where it is allowed.\n"
           "  --max-connection-age D  GOAWAY to a connection this old, so clients behind\n"
           "                          an L4 balancer reconnect and spread to new replicas\n"
           "                          [MNEMO_MAX_CONNECTION_AGE] (default 30m; or off)\n"
           "  --max-connection-age-grace D\n"
           "                          then cut the streams still open on it\n"
           "                          [MNEMO_MAX_CONNECTION_AGE_GRACE] (default off: a\n"
           "                          sync or watch is never cut by age)\n"
           "  --max-connection-idle D GOAWAY to a connection without a call this long\n"
           "                          [MNEMO_MAX_CONNECTION_IDLE] (default 15m; or off)\n"
           "  --keepalive-time D      ping a quiet connection this often to find dead\n"
           "                          peers [MNEMO_KEEPALIVE_TIME] (default 1m; or off)\n"
           "  --keepalive-timeout D   close it when a ping is not answered within D\n"
           "                          [MNEMO_KEEPALIVE_TIMEOUT] (default 20s)\n"
           "  --keepalive-min-ping-interval D\n"
           "                          clients pinging more often get GOAWAY\n"
           "                          too_many_pings [MNEMO_KEEPALIVE_MIN_PING_INTERVAL]\n"
           "                          (default 10s)\n"
           "  --keepalive-permit-without-calls BOOL\n"
           "                          allow (and send) pings on a connection without\n"
           "                          calls [MNEMO_KEEPALIVE_PERMIT_WITHOUT_CALLS]\n"
           "                          (default true)\n"
           "  --max-concurrent-streams N\n"
           "                          calls open at once on one connection; more wait\n"
           "                          in the client [MNEMO_MAX_CONCURRENT_STREAMS]\n"
           "                          (default 1000)\n"
           "  --max-metadata-bytes N  request headers of one call\n"
           "                          [MNEMO_MAX_METADATA_BYTES] (default 8192)\n"
           "  --health-listen ADDR    a second, plaintext listener serving only\n"
           "                          grpc.health.v1, for probes when --listen needs\n"
           "                          mTLS or tokens [MNEMO_HEALTH_LISTEN] (default: none)\n"
           "  --drain-delay D         on SIGTERM, health reads NOT_SERVING and mnemod\n"
           "                          keeps serving this long before GOAWAY (cover the\n"
           "                          load balancer's endpoint removal) [MNEMO_DRAIN_DELAY]\n"
           "                          (default 0)\n"
           "  --stream-heartbeat D    a SyncRepository or WatchSync stream with nothing\n"
           "                          to send for D resends the current status, so a\n"
           "                          proxy's read timeout never ends it\n"
           "                          [MNEMO_STREAM_HEARTBEAT] (default 10s; or off)\n"
           "  --help, --version\n"
           "\n"
           "On SIGINT/SIGTERM: health NOT_SERVING at once, --drain-delay of serving,\n"
           "GOAWAY, --grace-ms for calls in flight, exit 0 (a second signal skips the\n"
           "rest of the drain delay).\n"
           "Exit status: 0 clean shutdown, 1 runtime failure, 2 bad configuration.\n";
}
