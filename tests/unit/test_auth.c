/* test_auth.c - tokens and client certificate names mapped to roles:
 * parsing (every bad line names its file and line, never echoes a hash),
 * the role order, unknown and missing credentials, reload (a removed token
 * is refused at once; a bad file keeps the old entries), and hashing.
 */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* Tokens of the tests and their SHA-256 (printf 'reader-token' | sha256sum). */
#define READER "reader-token"
#define WRITER "writer-token"
#define ADMIN  "admin-token"

typedef struct fixture {
    char *dir;
    char tokens[512];
    char certs[512];
} fixture_t;

static void write_text(const char *path, const char *text)
{
    CU_ASSERT_EQUAL_FATAL(mnemo_test_write_file(path, text, strlen(text)), 0);
}

/* A token file line for token with role and name. */
static void line_for(char *out, size_t cap, const char *token, const char *role, const char *name)
{
    char hex[65];
    mnemo_auth_hash_token(hex, token, strlen(token));
    snprintf(out, cap, "%s %s %s\n", hex, role, name);
}

static void fx_init(fixture_t *f)
{
    f->dir = mnemo_test_tmpdir();
    snprintf(f->tokens, sizeof f->tokens, "%s/tokens", f->dir);
    snprintf(f->certs, sizeof f->certs, "%s/certs", f->dir);
    char text[1024], l1[160], l2[160], l3[160];
    line_for(l1, sizeof l1, READER, "read", "dashboard");
    line_for(l2, sizeof l2, WRITER, "write", "agent-42");
    line_for(l3, sizeof l3, ADMIN, "admin", "ops");
    snprintf(text, sizeof text, "# mnemo tokens\n\n%s  %s\t%s# trailing comment\n", l1, l2, l3);
    write_text(f->tokens, text);
    write_text(f->certs, "ci-runner.example read\nspiffe://mesh/ns/a/sa/indexer admin\n");
}

static void fx_cleanup(fixture_t *f)
{
    mnemo_test_rmtree(f->dir);
    free(f->dir);
}

static mnemo_status_t check_token(mnemo_auth_t *a, const char *token, mnemo_role_t need, char *who,
                                  mnemo_err_t *err)
{
    mnemo_auth_peer_t peer = {.bearer = token, .bearer_len = token != NULL ? strlen(token) : 0};
    return mnemo_auth_check(a, &peer, need, "mnemo.v1.MemoryService/StoreMemory", who, err);
}

static void test_auth__roles_contain_the_ones_below(void)
{
    fixture_t f;
    fx_init(&f);
    mnemo_auth_t *a = NULL;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL_FATAL(mnemo_auth_open(&a, f.tokens, NULL, &err), MNEMO_OK);
    static const struct {
        const char *token;
        mnemo_role_t need;
        mnemo_status_t want;
    } cases[] = {
        {READER, MNEMO_ROLE_READ, MNEMO_OK},     {READER, MNEMO_ROLE_WRITE, MNEMO_EPERM},
        {READER, MNEMO_ROLE_ADMIN, MNEMO_EPERM}, {WRITER, MNEMO_ROLE_READ, MNEMO_OK},
        {WRITER, MNEMO_ROLE_WRITE, MNEMO_OK},    {WRITER, MNEMO_ROLE_ADMIN, MNEMO_EPERM},
        {ADMIN, MNEMO_ROLE_READ, MNEMO_OK},      {ADMIN, MNEMO_ROLE_WRITE, MNEMO_OK},
        {ADMIN, MNEMO_ROLE_ADMIN, MNEMO_OK},     {ADMIN, MNEMO_ROLE_OPEN, MNEMO_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mnemo_status_t st = check_token(a, cases[i].token, cases[i].need, NULL, &err);
        if (st != cases[i].want)
            fprintf(stderr, "\ncase %zu: got %d want %d (%s)\n", i, st, cases[i].want, err.msg);
        CU_ASSERT_EQUAL(st, cases[i].want);
    }
    mnemo_auth_close(a);
    fx_cleanup(&f);
}

static void test_auth__messages_name_roles_and_never_the_token(void)
{
    fixture_t f;
    fx_init(&f);
    mnemo_auth_t *a = NULL;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL_FATAL(mnemo_auth_open(&a, f.tokens, NULL, &err), MNEMO_OK);
    char who[MNEMO_AUTH_NAME_MAX + 16];
    CU_ASSERT_EQUAL(check_token(a, READER, MNEMO_ROLE_WRITE, who, &err), MNEMO_EPERM);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "needs role write"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "token dashboard has role read"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "StoreMemory"));
    CU_ASSERT_PTR_NULL(strstr(err.msg, READER));
    CU_ASSERT_EQUAL(check_token(a, WRITER, MNEMO_ROLE_WRITE, who, &err), MNEMO_OK);
    CU_ASSERT_STRING_EQUAL(who, "token agent-42");
    mnemo_auth_close(a);
    fx_cleanup(&f);
}

static void test_auth__missing_and_unknown_tokens_are_unauthenticated(void)
{
    fixture_t f;
    fx_init(&f);
    mnemo_auth_t *a = NULL;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL_FATAL(mnemo_auth_open(&a, f.tokens, NULL, &err), MNEMO_OK);
    CU_ASSERT_EQUAL(check_token(a, NULL, MNEMO_ROLE_READ, NULL, &err), MNEMO_EUNAUTH);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "authorization: Bearer"));
    CU_ASSERT_EQUAL(check_token(a, "no-such-token", MNEMO_ROLE_READ, NULL, &err), MNEMO_EUNAUTH);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "unknown bearer token"));
    CU_ASSERT_PTR_NULL(strstr(err.msg, "no-such-token"));
    /* A prefix of a real token is not that token. */
    CU_ASSERT_EQUAL(check_token(a, "admin-toke", MNEMO_ROLE_READ, NULL, &err), MNEMO_EUNAUTH);
    CU_ASSERT_EQUAL(check_token(a, "", MNEMO_ROLE_READ, NULL, &err), MNEMO_EUNAUTH);
    /* Open methods need nothing. */
    CU_ASSERT_EQUAL(check_token(a, NULL, MNEMO_ROLE_OPEN, NULL, &err), MNEMO_OK);
    mnemo_auth_close(a);
    fx_cleanup(&f);
}

static void test_auth__no_files_allows_everything(void)
{
    mnemo_auth_t *a = NULL;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL_FATAL(mnemo_auth_open(&a, "", NULL, &err), MNEMO_OK);
    CU_ASSERT_FALSE(mnemo_auth_enabled(a));
    CU_ASSERT_EQUAL(check_token(a, NULL, MNEMO_ROLE_ADMIN, NULL, &err), MNEMO_OK);
    mnemo_auth_close(a);
}

static void test_auth__certificate_names_map_to_roles(void)
{
    fixture_t f;
    fx_init(&f);
    mnemo_auth_t *a = NULL;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL_FATAL(mnemo_auth_open(&a, f.tokens, f.certs, &err), MNEMO_OK);
    const char *ci[] = {"ci-runner.example"};
    const char *indexer[] = {"indexer.local", "spiffe://mesh/ns/a/sa/indexer"};
    const char *stranger[] = {"evil.example"};
    mnemo_auth_peer_t peer = {.cert_names = ci, .n_cert_names = 1};
    char who[MNEMO_AUTH_NAME_MAX + 16];
    CU_ASSERT_EQUAL(mnemo_auth_check(a, &peer, MNEMO_ROLE_READ, "m", who, &err), MNEMO_OK);
    CU_ASSERT_STRING_EQUAL(who, "certificate ci-runner.example");
    CU_ASSERT_EQUAL(mnemo_auth_check(a, &peer, MNEMO_ROLE_WRITE, "m", who, &err), MNEMO_EPERM);
    peer = (mnemo_auth_peer_t){.cert_names = indexer, .n_cert_names = 2};
    CU_ASSERT_EQUAL(mnemo_auth_check(a, &peer, MNEMO_ROLE_ADMIN, "m", who, &err), MNEMO_OK);
    peer = (mnemo_auth_peer_t){.cert_names = stranger, .n_cert_names = 1};
    CU_ASSERT_EQUAL(mnemo_auth_check(a, &peer, MNEMO_ROLE_READ, "m", who, &err), MNEMO_EUNAUTH);
    /* An unknown token is refused even when the certificate would do. */
    peer = (mnemo_auth_peer_t){
        .bearer = "bogus", .bearer_len = 5, .cert_names = indexer, .n_cert_names = 2};
    CU_ASSERT_EQUAL(mnemo_auth_check(a, &peer, MNEMO_ROLE_READ, "m", who, &err), MNEMO_EUNAUTH);
    mnemo_auth_close(a);
    fx_cleanup(&f);
}

static void test_auth__reload_revokes_at_once_and_keeps_on_error(void)
{
    fixture_t f;
    fx_init(&f);
    mnemo_auth_t *a = NULL;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL_FATAL(mnemo_auth_open(&a, f.tokens, NULL, &err), MNEMO_OK);
    CU_ASSERT_EQUAL(check_token(a, WRITER, MNEMO_ROLE_WRITE, NULL, &err), MNEMO_OK);
    char l1[160];
    line_for(l1, sizeof l1, READER, "read", "dashboard");
    write_text(f.tokens, l1); /* the writer's and the admin's tokens removed */
    size_t n_tokens = 0;
    CU_ASSERT_EQUAL(mnemo_auth_reload(a, &n_tokens, NULL, &err), MNEMO_OK);
    CU_ASSERT_EQUAL(n_tokens, 1);
    CU_ASSERT_EQUAL(check_token(a, WRITER, MNEMO_ROLE_READ, NULL, &err), MNEMO_EUNAUTH);
    CU_ASSERT_EQUAL(check_token(a, READER, MNEMO_ROLE_READ, NULL, &err), MNEMO_OK);
    /* A broken file keeps what was loaded. */
    write_text(f.tokens, "not a token line at all\n");
    CU_ASSERT_EQUAL(mnemo_auth_reload(a, &n_tokens, NULL, &err), MNEMO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, ":1:"));
    CU_ASSERT_EQUAL(check_token(a, READER, MNEMO_ROLE_READ, NULL, &err), MNEMO_OK);
    remove(f.tokens);
    CU_ASSERT_EQUAL(mnemo_auth_reload(a, &n_tokens, NULL, &err), MNEMO_EINVAL);
    CU_ASSERT_EQUAL(check_token(a, READER, MNEMO_ROLE_READ, NULL, &err), MNEMO_OK);
    mnemo_auth_close(a);
    fx_cleanup(&f);
}

/* Each bad file: the error names file:line and never quotes a hash. */
static void test_auth__bad_lines_name_file_and_line(void)
{
    char hex[65];
    mnemo_auth_hash_token(hex, READER, strlen(READER));
    char plain[200], dup[400], badrole[200], badname[300];
    snprintf(plain, sizeof plain, "%s read\n", READER);
    snprintf(dup, sizeof dup, "%s read a\n%s write b\n", hex, hex);
    snprintf(badrole, sizeof badrole, "%s root a\n", hex);
    snprintf(badname, sizeof badname, "%s read %s\n", hex,
             "a-name-that-is-longer-than-sixty-four-characters-which-is-the-limit-for-logs");
    const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {plain, ":1: want 'SHA256-HEX ROLE NAME'"},
        {"# header\nreader-token read dashboard\n", ":2: the first field must be 64 hex digits"},
        {dup, ":2: the same token hash as 'a'"},
        {badrole, ":1: role 'root' is not read, write or admin"},
        {badname, ":1: name must be 1 to 64"},
    };
    char *dir = mnemo_test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/tokens", dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_text(path, cases[i].text);
        mnemo_auth_t *a = NULL;
        mnemo_err_t err = {{0}};
        CU_ASSERT_EQUAL(mnemo_auth_open(&a, path, NULL, &err), MNEMO_EINVAL);
        CU_ASSERT_PTR_NULL(a);
        if (strstr(err.msg, cases[i].want) == NULL)
            fprintf(stderr, "\ncase %zu: '%s'\n", i, err.msg);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cases[i].want));
        CU_ASSERT_PTR_NULL(strstr(err.msg, hex));
        CU_ASSERT_PTR_NULL(strstr(err.msg, READER));
    }
    mnemo_auth_t *a = NULL;
    mnemo_err_t err = {{0}};
    CU_ASSERT_EQUAL(mnemo_auth_open(&a, "/no/such/tokens", NULL, &err), MNEMO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/no/such/tokens"));
    mnemo_test_rmtree(dir);
    free(dir);
}

static void test_auth__hash_token_is_sha256_hex(void)
{
    char hex[65];
    mnemo_auth_hash_token(hex, "abc", 3);
    CU_ASSERT_STRING_EQUAL(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CU_ASSERT_STRING_EQUAL(mnemo_role_name(MNEMO_ROLE_ADMIN), "admin");
}

int main(void)
{
    CU_pSuite s = mnemo_test_suite("auth");
    MNEMO_TEST(s, test_auth__roles_contain_the_ones_below);
    MNEMO_TEST(s, test_auth__messages_name_roles_and_never_the_token);
    MNEMO_TEST(s, test_auth__missing_and_unknown_tokens_are_unauthenticated);
    MNEMO_TEST(s, test_auth__no_files_allows_everything);
    MNEMO_TEST(s, test_auth__certificate_names_map_to_roles);
    MNEMO_TEST(s, test_auth__reload_revokes_at_once_and_keeps_on_error);
    MNEMO_TEST(s, test_auth__bad_lines_name_file_and_line);
    MNEMO_TEST(s, test_auth__hash_token_is_sha256_hex);
    return mnemo_test_run();
}
