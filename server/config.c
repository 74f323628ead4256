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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* OPT_FLAG: a bool whose flag takes no value (--insecure); its environment
 * variable takes true/false like OPT_BOOL. OPT_LOG_FORMAT, OPT_LOG_LEVEL:
 * a name log.h knows, stored as its enum value in an int. */
typedef enum opt_kind {
    OPT_STRING,
    OPT_INT,
    OPT_SIZE,
    OPT_BOOL,
    OPT_FLAG,
    OPT_ROOTS,
    OPT_LOG_FORMAT,
    OPT_LOG_LEVEL,
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
};

#define N_OPTIONS (sizeof options / sizeof options[0])

/* The default thread count: THREADS_PER_CORE x cores, within
 * [MIN_DEFAULT_THREADS, MAX_DEFAULT_THREADS]. */
#define THREADS_PER_CORE    4
#define MIN_DEFAULT_THREADS 4
#define MAX_DEFAULT_THREADS 64
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
    cfg->grace_ms = MNEMO_DEFAULT_GRACE_MS;
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
           "                          port 0 picks a free port (logged as \"metrics on\n"
           "                          http://HOST:PORT/metrics\") [MNEMO_METRICS_LISTEN]\n"
           "                          (default: off)\n"
           "  --log-format FORMAT     text or json, one line per event on stderr\n"
           "                          [MNEMO_LOG_FORMAT] (default text)\n"
           "  --log-level LEVEL       debug, info, warn or error [MNEMO_LOG_LEVEL]\n"
           "                          (default info)\n"
           "  --access-log            one line per finished call: method, peer, code,\n"
           "                          duration, bytes, credential name [MNEMO_ACCESS_LOG]\n"
           "  --help, --version\n"
           "\n"
           "On SIGINT/SIGTERM mnemod reports NOT_SERVING, drains in-flight calls and exits 0.\n"
           "Exit status: 0 clean shutdown, 1 runtime failure, 2 bad configuration.\n";
}
