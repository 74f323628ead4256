/* test_config.c - defaults, environment, flags and their precedence. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "testutil.h"

static mnemo_status_t parse(mnemo_config_t *cfg, mnemo_config_action_t *action, char **argv,
                            char **envp, mnemo_err_t *err)
{
    int argc = 0;
    while (argv[argc] != NULL)
        argc++;
    mnemo_config_init(cfg);
    return mnemo_config_parse(cfg, action, argc, argv, envp, err);
}

static void test_config__defaults_match_the_contract(void)
{
    mnemo_config_t cfg;
    mnemo_config_action_t action;
    char *argv[] = {"mnemod", NULL};
    CU_ASSERT_EQUAL_FATAL(parse(&cfg, &action, argv, NULL, NULL), MNEMO_OK);
    CU_ASSERT_EQUAL(action, MNEMO_CONFIG_RUN);
    CU_ASSERT_STRING_EQUAL(cfg.listen, "127.0.0.1:50051");
    CU_ASSERT_STRING_EQUAL(cfg.data_dir, "./mnemo-data");
    CU_ASSERT(cfg.threads >= 4);
    /* One malloc arena per core, at least 2 (docs/design.md "Memory"). */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    CU_ASSERT_EQUAL(cfg.malloc_arenas, cores > 2 ? (int)cores : 2);
    CU_ASSERT_EQUAL(cfg.limits.max_content_bytes, 1u << 20);
    CU_ASSERT_EQUAL(cfg.limits.max_tags, 64);
    CU_ASSERT_EQUAL(cfg.limits.max_meta_value_bytes, 4096);
    CU_ASSERT_EQUAL(cfg.limits.max_tag_bytes, 128);
    CU_ASSERT_EQUAL(cfg.limits.max_metadata, 64);
    CU_ASSERT_EQUAL(cfg.limits.max_meta_key_bytes, 128);
    CU_ASSERT_EQUAL(cfg.limits.max_query_bytes, 4096);
    CU_ASSERT_EQUAL(cfg.limits.default_limit, 10);
    CU_ASSERT_EQUAL(cfg.limits.default_page_size, 50);
    CU_ASSERT_EQUAL(cfg.limits.max_limit, 1000);
    CU_ASSERT_EQUAL(cfg.max_recv_bytes, (1u << 20) + (1u << 20));
    CU_ASSERT(cfg.sync_writes);
    CU_ASSERT_EQUAL(cfg.batch_size, 100);
    CU_ASSERT_EQUAL(cfg.sync_share, MNEMO_DEFAULT_SYNC_SHARE);
    CU_ASSERT_EQUAL(cfg.n_allow_roots, 0);
    /* gRPC's default 4 MiB client receive limit, less room for framing. */
    CU_ASSERT_EQUAL(cfg.max_reply_bytes, (4u << 20) - (64u << 10));
    /* Connection management: README's table gives the reasons. */
    CU_ASSERT_EQUAL(cfg.conn.max_connection_age_ms, 30 * 60 * 1000);
    CU_ASSERT_EQUAL(cfg.conn.max_connection_age_grace_ms, MNEMO_DURATION_OFF);
    CU_ASSERT_EQUAL(cfg.conn.max_connection_idle_ms, 15 * 60 * 1000);
    CU_ASSERT_EQUAL(cfg.conn.keepalive_time_ms, 60 * 1000);
    CU_ASSERT_EQUAL(cfg.conn.keepalive_timeout_ms, 20 * 1000);
    CU_ASSERT_EQUAL(cfg.conn.min_ping_interval_ms, 10 * 1000);
    CU_ASSERT_TRUE(cfg.conn.permit_without_calls);
    CU_ASSERT_EQUAL(cfg.conn.max_concurrent_streams, 1000);
    CU_ASSERT_EQUAL(cfg.conn.max_metadata_bytes, 8192);
    CU_ASSERT_EQUAL(cfg.drain_delay_ms, 0);
    CU_ASSERT_STRING_EQUAL(cfg.health_listen, "");
    mnemo_config_cleanup(&cfg);
}

/* True when the --help text says "(default N)" for the value N. */
static bool usage_says_default(long long n)
{
    char want[48];
    snprintf(want, sizeof want, "(default %lld)", n);
    return strstr(mnemo_config_usage(), want) != NULL;
}

/* --help states the defaults as text: it must say what init sets. */
static void test_config__usage_states_the_defaults(void)
{
    mnemo_config_t cfg;
    mnemo_config_init(&cfg);
    CU_ASSERT(strstr(mnemo_config_usage(), "(default " MNEMO_DEFAULT_LISTEN ")") != NULL);
    CU_ASSERT(strstr(mnemo_config_usage(), "(default " MNEMO_DEFAULT_DATA_DIR ")") != NULL);
    CU_ASSERT(usage_says_default(cfg.grace_ms));
    CU_ASSERT(usage_says_default(cfg.batch_size));
    CU_ASSERT(usage_says_default(cfg.sync_share));
    CU_ASSERT(usage_says_default(cfg.max_syncs));
    CU_ASSERT(usage_says_default((long long)cfg.max_file_bytes));
    CU_ASSERT(usage_says_default((long long)cfg.limits.max_content_bytes));
    CU_ASSERT(usage_says_default((long long)cfg.max_reply_bytes));
    CU_ASSERT(usage_says_default(cfg.conn.max_concurrent_streams));
    CU_ASSERT(usage_says_default(cfg.conn.max_metadata_bytes));
    CU_ASSERT(usage_says_default(cfg.drain_delay_ms));
    static const char *const durations[] = {"(default 30m; or off)", "(default 15m; or off)",
                                            "(default 1m; or off)", "(default 20s)",
                                            "(default 10s)"};
    for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++)
        CU_ASSERT_PTR_NOT_NULL(strstr(mnemo_config_usage(), durations[i]));
    mnemo_config_cleanup(&cfg);
}

static void test_config__flags_win_over_environment(void)
{
    mnemo_config_t cfg;
    mnemo_config_action_t action;
    char *argv[] = {"mnemod",       "--listen", "127.0.0.1:0", "--threads=3",
                    "--sync-share", "100",      NULL};
    char *envp[] = {"MNEMO_LISTEN=0.0.0.0:9", "MNEMO_THREADS=7", "MNEMO_DATA_DIR=/tmp/d",
                    "MNEMO_SYNC_SHARE=10",    "PATH=/bin",       NULL};
    CU_ASSERT_EQUAL_FATAL(parse(&cfg, &action, argv, envp, NULL), MNEMO_OK);
    CU_ASSERT_STRING_EQUAL(cfg.listen, "127.0.0.1:0");
    CU_ASSERT_EQUAL(cfg.threads, 3);
    CU_ASSERT_EQUAL(cfg.sync_share, 100);
    CU_ASSERT_STRING_EQUAL(cfg.data_dir, "/tmp/d");
    mnemo_config_cleanup(&cfg);
}

static void test_config__allow_roots_from_env_are_replaced_by_flags(void)
{
    mnemo_config_t cfg;
    mnemo_config_action_t action;
    char *argv_none[] = {"mnemod", NULL};
    char *argv_flags[] = {"mnemod", "--allow-root", "/x", "--allow-root", "/y", NULL};
    char *envp[] = {"MNEMO_ALLOW_ROOTS=/a::/b", NULL};
    CU_ASSERT_EQUAL_FATAL(parse(&cfg, &action, argv_none, envp, NULL), MNEMO_OK);
    CU_ASSERT_EQUAL_FATAL(cfg.n_allow_roots, 2);
    CU_ASSERT_STRING_EQUAL(cfg.allow_roots[0], "/a");
    CU_ASSERT_STRING_EQUAL(cfg.allow_roots[1], "/b");
    mnemo_config_cleanup(&cfg);
    CU_ASSERT_EQUAL_FATAL(parse(&cfg, &action, argv_flags, envp, NULL), MNEMO_OK);
    CU_ASSERT_EQUAL_FATAL(cfg.n_allow_roots, 2);
    CU_ASSERT_STRING_EQUAL(cfg.allow_roots[0], "/x");
    CU_ASSERT_STRING_EQUAL(cfg.allow_roots[1], "/y");
    mnemo_config_cleanup(&cfg);
}

static void expect_error(char **argv, char **envp, const char *needle)
{
    mnemo_config_t cfg;
    mnemo_config_action_t action;
    mnemo_err_t err;
    CU_ASSERT_EQUAL(parse(&cfg, &action, argv, envp, &err), MNEMO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, needle));
    mnemo_config_cleanup(&cfg);
}

static void test_config__bad_values_name_their_source(void)
{
    char *plain[] = {"mnemod", NULL};
    expect_error((char *[]){"mnemod", "--threads", "zero", NULL}, NULL, "--threads");
    expect_error((char *[]){"mnemod", "--threads", "0", NULL}, NULL, "out of range");
    expect_error((char *[]){"mnemod", "--batch-size", "1001", NULL}, NULL, "--batch-size");
    expect_error((char *[]){"mnemod", "--sync-share", "0", NULL}, NULL, "--sync-share");
    expect_error(plain, (char *[]){"MNEMO_SYNC_SHARE=101", NULL}, "MNEMO_SYNC_SHARE");
    expect_error((char *[]){"mnemod", "--listen", NULL}, NULL, "missing value");
    expect_error((char *[]){"mnemod", "--bogus", NULL}, NULL, "--bogus");
    expect_error((char *[]){"mnemod", "--data-dir=", NULL}, NULL, "--data-dir");
    expect_error(plain, (char *[]){"MNEMO_THREADS=-1", NULL}, "MNEMO_THREADS");
    expect_error(plain, (char *[]){"MNEMO_SYNC_WRITES=maybe", NULL}, "MNEMO_SYNC_WRITES");
    expect_error((char *[]){"mnemod", "--max-reply-bytes", "65535", NULL}, NULL,
                 "--max-reply-bytes");
    expect_error(plain, (char *[]){"MNEMO_MAX_REPLY_BYTES=1k", NULL}, "MNEMO_MAX_REPLY_BYTES");
    expect_error((char *[]){"mnemod", "--malloc-arenas", "-1", NULL}, NULL, "--malloc-arenas");
    expect_error(plain, (char *[]){"MNEMO_MALLOC_ARENAS=many", NULL}, "MNEMO_MALLOC_ARENAS");
}

static void test_config__help_and_version(void)
{
    mnemo_config_t cfg;
    mnemo_config_action_t action;
    CU_ASSERT_EQUAL(parse(&cfg, &action, (char *[]){"mnemod", "--help", NULL}, NULL, NULL),
                    MNEMO_OK);
    CU_ASSERT_EQUAL(action, MNEMO_CONFIG_HELP);
    CU_ASSERT_EQUAL(parse(&cfg, &action, (char *[]){"mnemod", "--version", NULL}, NULL, NULL),
                    MNEMO_OK);
    CU_ASSERT_EQUAL(action, MNEMO_CONFIG_VERSION);
    CU_ASSERT_PTR_NOT_NULL(strstr(mnemo_config_usage(), "--allow-root"));
    mnemo_config_cleanup(&cfg);
}

static void test_config__sizes_and_bools_parse(void)
{
    mnemo_config_t cfg;
    mnemo_config_action_t action;
    char *argv[] = {"mnemod", "--max-content-bytes", "2048", "--sync-writes", "off", NULL};
    CU_ASSERT_EQUAL_FATAL(parse(&cfg, &action, argv, NULL, NULL), MNEMO_OK);
    CU_ASSERT_EQUAL(cfg.limits.max_content_bytes, 2048);
    CU_ASSERT_EQUAL(cfg.max_recv_bytes, 2048 + (1u << 20));
    CU_ASSERT_FALSE(cfg.sync_writes);
    mnemo_config_cleanup(&cfg);
    char *budget[] = {"mnemod", "--max-reply-bytes", "65536", NULL};
    CU_ASSERT_EQUAL_FATAL(parse(&cfg, &action, budget, NULL, NULL), MNEMO_OK);
    CU_ASSERT_EQUAL(cfg.max_reply_bytes, 65536);
    mnemo_config_cleanup(&cfg);
    char *env[] = {"MNEMO_MAX_REPLY_BYTES=1048576", NULL};
    CU_ASSERT_EQUAL_FATAL(parse(&cfg, &action, (char *[]){"mnemod", NULL}, env, NULL), MNEMO_OK);
    CU_ASSERT_EQUAL(cfg.max_reply_bytes, 1048576);
    mnemo_config_cleanup(&cfg);
    char *arenas[] = {"mnemod", "--malloc-arenas", "0", NULL}; /* glibc's own */
    CU_ASSERT_EQUAL_FATAL(parse(&cfg, &action, arenas, NULL, NULL), MNEMO_OK);
    CU_ASSERT_EQUAL(cfg.malloc_arenas, 0);
    mnemo_config_cleanup(&cfg);
}

/* Expects parse to fail with a message containing want. */
static void expect_refused(char **argv, char **envp, const char *want)
{
    mnemo_config_t cfg;
    mnemo_config_action_t action;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(parse(&cfg, &action, argv, envp, &err), MNEMO_EINVAL);
    if (strstr(err.msg, want) == NULL)
        fprintf(stderr, "\nwant '%s' in '%s'\n", want, err.msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
    mnemo_config_cleanup(&cfg);
}

static bool accepted(char **argv, char **envp)
{
    mnemo_config_t cfg;
    mnemo_config_action_t action;
    mnemo_err_t err = {{0}};
    mnemo_status_t st = parse(&cfg, &action, argv, envp, &err);
    if (st != MNEMO_OK)
        fprintf(stderr, "\nrefused: %s\n", err.msg);
    mnemo_config_cleanup(&cfg);
    return st == MNEMO_OK;
}

static void test_config__listen_is_local(void)
{
    static const char *const local[] = {"127.0.0.1:0",          "127.8.9.1:50051",
                                        "[::1]:50051",          "localhost:50051",
                                        "unix:/tmp/mnemo.sock", "unix-abstract:mnemo"};
    static const char *const exposed[] = {
        "0.0.0.0:50051",       "[::]:50051",           ":50051",      "10.0.0.5:50051",
        "mnemo.example:50051", "[::ffff:127.0.0.1]:1", "128.0.0.1:1", "localhost.evil:1"};
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
        CU_ASSERT_TRUE(mnemo_config_listen_is_local(local[i]));
    for (size_t i = 0; i < sizeof exposed / sizeof exposed[0]; i++) {
        if (mnemo_config_listen_is_local(exposed[i]))
            fprintf(stderr, "\n%s counted as local\n", exposed[i]);
        CU_ASSERT_FALSE(mnemo_config_listen_is_local(exposed[i]));
    }
}

/* A non-loopback listener needs TLS, tokens or --insecure. */
static void test_config__exposed_listener_needs_security(void)
{
    expect_refused((char *[]){"mnemod", "--listen", "0.0.0.0:50051", NULL}, NULL,
                   "add --tls-cert and --tls-key, and/or --auth-tokens; or --insecure");
    expect_refused((char *[]){"mnemod", NULL}, (char *[]){"MNEMO_LISTEN=[::]:7000", NULL},
                   "--listen: [::]:7000");
    CU_ASSERT_TRUE(
        accepted((char *[]){"mnemod", "--listen", "0.0.0.0:0", "--insecure", NULL}, NULL));
    CU_ASSERT_TRUE(accepted((char *[]){"mnemod", "--listen", "0.0.0.0:0", NULL},
                            (char *[]){"MNEMO_INSECURE=true", NULL}));
    CU_ASSERT_TRUE(accepted(
        (char *[]){"mnemod", "--listen", "0.0.0.0:0", "--auth-tokens", "/etc/tokens", NULL}, NULL));
    CU_ASSERT_TRUE(accepted((char *[]){"mnemod", "--listen", "0.0.0.0:0", "--tls-cert", "c.pem",
                                       "--tls-key", "k.pem", NULL},
                            NULL));
    /* --insecure takes no value: the next argument is a flag again. */
    mnemo_config_t cfg;
    mnemo_config_action_t action;
    mnemo_err_t err = {{0}};
    char *argv[] = {"mnemod", "--insecure", "--threads", "7", NULL};
    CU_ASSERT_EQUAL_FATAL(parse(&cfg, &action, argv, NULL, &err), MNEMO_OK);
    CU_ASSERT_TRUE(cfg.insecure);
    CU_ASSERT_EQUAL(cfg.threads, 7);
    mnemo_config_cleanup(&cfg);
}

static void test_config__tls_flags_go_together(void)
{
    expect_refused((char *[]){"mnemod", "--tls-cert", "c.pem", NULL}, NULL,
                   "--tls-cert and --tls-key: give both or neither");
    expect_refused((char *[]){"mnemod", "--tls-key", "k.pem", NULL}, NULL, "give both");
    expect_refused((char *[]){"mnemod", "--tls-client-ca", "ca.pem", NULL}, NULL,
                   "--tls-client-ca: needs --tls-cert");
    expect_refused((char *[]){"mnemod", "--tls-cert", "c.pem", "--tls-key", "k.pem",
                              "--tls-client-roles", "r", NULL},
                   NULL, "--tls-client-roles: needs --tls-client-ca");
    CU_ASSERT_TRUE(
        accepted((char *[]){"mnemod", NULL},
                 (char *[]){"MNEMO_TLS_CERT=c.pem", "MNEMO_TLS_KEY=k.pem",
                            "MNEMO_TLS_CLIENT_CA=ca.pem", "MNEMO_TLS_CLIENT_ROLES=roles", NULL}));
}

static void test_config__parse_duration_units(void)
{
    static const struct {
        const char *text;
        int ms;
    } good[] = {{"500ms", 500}, {"30s", 30000}, {"5m", 300000}, {"2h", 7200000},
                {"0", 0},       {"0s", 0},      {"1ms", 1},     {"596h", 596 * 3600000}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int ms = -1;
        mnemo_err_t err = {{0}};
        CU_ASSERT_EQUAL(mnemo_config_parse_duration(&ms, "--x", good[i].text, &err), MNEMO_OK);
        CU_ASSERT_EQUAL(ms, good[i].ms);
    }
    static const char *const bad[] = {"",  "5",  "1.5s",  "-1s", "+1s", "5 s",  "5sec",
                                      "s", "1d", "1h30m", "ms5", " 5s", "0x10s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int ms = 77;
        mnemo_err_t err = {{0}};
        CU_ASSERT_EQUAL(mnemo_config_parse_duration(&ms, "--drain-delay", bad[i], &err),
                        MNEMO_EINVAL);
        CU_ASSERT_EQUAL(ms, 77); /* set on success only */
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--drain-delay: '"));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "500ms, 30s, 5m or 2h"));
    }
    int ms = 0;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_config_parse_duration(&ms, "--x", "597h", &err), MNEMO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "too long"));
    CU_ASSERT_EQUAL(mnemo_config_parse_duration(&ms, "--x", "99999999999999999999s", &err),
                    MNEMO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "too long"));
}

static void test_config__connection_flags_parse(void)
{
    mnemo_config_t cfg;
    mnemo_config_action_t action;
    char *argv[] = {"mnemod",
                    "--max-connection-age=1s",
                    "--max-connection-age-grace",
                    "0",
                    "--max-connection-idle",
                    "off",
                    "--keepalive-time",
                    "2h",
                    "--keepalive-min-ping-interval",
                    "500ms",
                    "--keepalive-permit-without-calls",
                    "false",
                    "--max-concurrent-streams",
                    "4",
                    "--max-metadata-bytes",
                    "32768",
                    "--drain-delay",
                    "2s",
                    "--health-listen",
                    "127.0.0.1:0",
                    NULL};
    char *envp[] = {"MNEMO_KEEPALIVE_TIMEOUT=5s", "MNEMO_MAX_CONNECTION_AGE=5m",
                    "MNEMO_DRAIN_DELAY=10s", NULL};
    CU_ASSERT_EQUAL_FATAL(parse(&cfg, &action, argv, envp, NULL), MNEMO_OK);
    CU_ASSERT_EQUAL(cfg.conn.max_connection_age_ms, 1000); /* the flag wins */
    CU_ASSERT_EQUAL(cfg.conn.max_connection_age_grace_ms, 0);
    CU_ASSERT_EQUAL(cfg.conn.max_connection_idle_ms, MNEMO_DURATION_OFF);
    CU_ASSERT_EQUAL(cfg.conn.keepalive_time_ms, 7200000);
    CU_ASSERT_EQUAL(cfg.conn.keepalive_timeout_ms, 5000);
    CU_ASSERT_EQUAL(cfg.conn.min_ping_interval_ms, 500);
    CU_ASSERT_FALSE(cfg.conn.permit_without_calls);
    CU_ASSERT_EQUAL(cfg.conn.max_concurrent_streams, 4);
    CU_ASSERT_EQUAL(cfg.conn.max_metadata_bytes, 32768);
    CU_ASSERT_EQUAL(cfg.drain_delay_ms, 2000);
    CU_ASSERT_STRING_EQUAL(cfg.health_listen, "127.0.0.1:0");
    mnemo_config_cleanup(&cfg);
}

static void test_config__bad_connection_values_name_their_source(void)
{
    char *plain[] = {"mnemod", NULL};
    expect_refused((char *[]){"mnemod", "--drain-delay", "5", NULL}, NULL,
                   "--drain-delay: '5' is not a duration");
    expect_refused((char *[]){"mnemod", "--drain-delay", "off", NULL}, NULL, "--drain-delay");
    expect_refused((char *[]){"mnemod", "--drain-delay", "2h", NULL}, NULL,
                   "--drain-delay: 2h is out of range [0, 1h]");
    expect_refused((char *[]){"mnemod", "--max-connection-age", "500ms", NULL}, NULL,
                   "--max-connection-age: 500ms is out of range [1s, 576h] (or off)");
    expect_refused((char *[]){"mnemod", "--keepalive-timeout", "off", NULL}, NULL,
                   "--keepalive-timeout");
    expect_refused(plain, (char *[]){"MNEMO_KEEPALIVE_TIME=fast", NULL}, "MNEMO_KEEPALIVE_TIME");
    expect_refused(plain, (char *[]){"MNEMO_MAX_CONNECTION_AGE_GRACE=1y", NULL},
                   "MNEMO_MAX_CONNECTION_AGE_GRACE");
    expect_refused((char *[]){"mnemod", "--max-concurrent-streams", "0", NULL}, NULL,
                   "--max-concurrent-streams");
    expect_refused((char *[]){"mnemod", "--max-metadata-bytes", "100", NULL}, NULL,
                   "--max-metadata-bytes");
    expect_refused(plain, (char *[]){"MNEMO_KEEPALIVE_PERMIT_WITHOUT_CALLS=sometimes", NULL},
                   "MNEMO_KEEPALIVE_PERMIT_WITHOUT_CALLS");
    expect_refused((char *[]){"mnemod", "--health-listen=", NULL}, NULL, "--health-listen");
}

static void test_config__hash_token_subcommand(void)
{
    mnemo_config_t cfg;
    mnemo_config_action_t action;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(parse(&cfg, &action, (char *[]){"mnemod", "hash-token", NULL}, NULL, &err),
                    MNEMO_OK);
    CU_ASSERT_EQUAL(action, MNEMO_CONFIG_HASH_TOKEN);
    mnemo_config_cleanup(&cfg);
    expect_refused((char *[]){"mnemod", "hash-token", "secret", NULL}, NULL,
                   "hash-token: takes no arguments");
}

/* The operating flags: metrics off unless set, log format and level by
 * name from either source, --access-log without a value. */
static void test_config__metrics_and_log_flags(void)
{
    mnemo_config_t cfg;
    mnemo_config_action_t action;
    mnemo_err_t err;
    char *none[] = {"mnemod", NULL};
    CU_ASSERT_EQUAL_FATAL(parse(&cfg, &action, none, NULL, &err), MNEMO_OK);
    CU_ASSERT_STRING_EQUAL(cfg.metrics_listen, "");
    CU_ASSERT_EQUAL(cfg.log_format, MNEMO_LOG_TEXT);
    CU_ASSERT_EQUAL(cfg.log_level, MNEMO_LOG_INFO);
    CU_ASSERT(!cfg.access_log);
    mnemo_config_cleanup(&cfg);

    char *argv[] = {
        "mnemod", "--metrics-listen", "127.0.0.1:0", "--log-level=debug", "--access-log", NULL};
    char *envp[] = {"MNEMO_LOG_FORMAT=json", "MNEMO_LOG_LEVEL=error", NULL};
    CU_ASSERT_EQUAL_FATAL(parse(&cfg, &action, argv, envp, &err), MNEMO_OK);
    CU_ASSERT_STRING_EQUAL(cfg.metrics_listen, "127.0.0.1:0");
    CU_ASSERT_EQUAL(cfg.log_format, MNEMO_LOG_JSON);
    CU_ASSERT_EQUAL(cfg.log_level, MNEMO_LOG_DEBUG); /* the flag wins */
    CU_ASSERT(cfg.access_log);
    mnemo_config_cleanup(&cfg);

    char *bad[] = {"mnemod", "--log-format", "xml", NULL};
    CU_ASSERT_EQUAL(parse(&cfg, &action, bad, NULL, &err), MNEMO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--log-format: 'xml' is not one of text, json"));
    mnemo_config_cleanup(&cfg);
    char *badenv[] = {"MNEMO_LOG_LEVEL=loud", NULL};
    CU_ASSERT_EQUAL(parse(&cfg, &action, none, badenv, &err), MNEMO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "MNEMO_LOG_LEVEL"));
    mnemo_config_cleanup(&cfg);
}

int main(void)
{
    CU_pSuite s = mnemo_test_suite("config");
    MNEMO_TEST(s, test_config__defaults_match_the_contract);
    MNEMO_TEST(s, test_config__usage_states_the_defaults);
    MNEMO_TEST(s, test_config__flags_win_over_environment);
    MNEMO_TEST(s, test_config__allow_roots_from_env_are_replaced_by_flags);
    MNEMO_TEST(s, test_config__bad_values_name_their_source);
    MNEMO_TEST(s, test_config__help_and_version);
    MNEMO_TEST(s, test_config__sizes_and_bools_parse);
    MNEMO_TEST(s, test_config__listen_is_local);
    MNEMO_TEST(s, test_config__exposed_listener_needs_security);
    MNEMO_TEST(s, test_config__tls_flags_go_together);
    MNEMO_TEST(s, test_config__hash_token_subcommand);
    MNEMO_TEST(s, test_config__metrics_and_log_flags);
    MNEMO_TEST(s, test_config__parse_duration_units);
    MNEMO_TEST(s, test_config__connection_flags_parse);
    MNEMO_TEST(s, test_config__bad_connection_values_name_their_source);
    return mnemo_test_run();
}
