/* test_tls.c - the listener's TLS files: a matching certificate and key
 * open and are described (subject, expiry, expired or not, client CAs);
 * every bad file is MNEMO_EINVAL naming the flag and the file (missing,
 * not PEM, DER, no certificate, no key, an encrypted key, the key of
 * another certificate, a CA file without a certificate); a reload swaps
 * in good files and keeps the loaded ones when a file is bad.
 *
 * Certificates are made in-process with libcrypto (self-signed EC P-256),
 * so the test needs neither a socket nor the openssl CLI.
 */
#include "tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "testutil.h"

typedef struct fixture {
    char *dir;
    char cert[512], key[512], ca[512];
} fixture_t;

/* A self-signed certificate for a new EC key, valid from two hours ago
 * for not_after_s seconds from now (negative: already expired). */
static X509 *make_cert(EVP_PKEY **key, const char *cn, long not_after_s)
{
    *key = EVP_EC_gen("P-256");
    CU_ASSERT_PTR_NOT_NULL_FATAL(*key);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -7200);
    X509_gmtime_adj(X509_getm_notAfter(x), not_after_s);
    X509_set_pubkey(x, *key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, name);
    CU_ASSERT_FATAL(X509_sign(x, *key, EVP_sha256()) > 0);
    return x;
}

/* Writes a certificate for cn to cert_path and its key to key_path. */
static void write_pair(const char *cert_path, const char *key_path, const char *cn,
                       long not_after_s)
{
    EVP_PKEY *key = NULL;
    X509 *x = make_cert(&key, cn, not_after_s);
    FILE *f = fopen(cert_path, "w");
    CU_ASSERT_FATAL(f != NULL && PEM_write_X509(f, x) == 1);
    fclose(f);
    f = fopen(key_path, "w");
    CU_ASSERT_FATAL(f != NULL && PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(key);
}

static void write_text(const char *path, const char *text)
{
    CU_ASSERT_EQUAL_FATAL(mnemo_test_write_file(path, text, strlen(text)), 0);
}

static void fx_init(fixture_t *f)
{
    f->dir = mnemo_test_tmpdir();
    snprintf(f->cert, sizeof f->cert, "%s/server.pem", f->dir);
    snprintf(f->key, sizeof f->key, "%s/server.key", f->dir);
    snprintf(f->ca, sizeof f->ca, "%s/ca.pem", f->dir);
    write_pair(f->cert, f->key, "unit-server", 86400);
    char ca_key[600];
    snprintf(ca_key, sizeof ca_key, "%s/ca.key", f->dir);
    write_pair(f->ca, ca_key, "unit-ca", 86400);
}

static void fx_cleanup(fixture_t *f)
{
    mnemo_test_rmtree(f->dir);
    free(f->dir);
}

/* Open fails with MNEMO_EINVAL and a message holding want1 and want2. */
static void assert_open_fails(const char *cert, const char *key, const char *ca, const char *want1,
                              const char *want2)
{
    mnemo_tls_t *tls = NULL;
    mnemo_err_t err;
    CU_ASSERT_EQUAL(mnemo_tls_open(&tls, cert, key, ca, &err), MNEMO_EINVAL);
    CU_ASSERT_PTR_NULL(tls);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want1));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want2));
    if (strstr(err.msg, want1) == NULL || strstr(err.msg, want2) == NULL)
        fprintf(stderr, "\n  message: %s (want '%s' and '%s')\n", err.msg, want1, want2);
}

static void test_tls__open_describes_the_certificate(void)
{
    fixture_t f;
    fx_init(&f);
    mnemo_tls_t *tls = NULL;
    mnemo_err_t err;
    CU_ASSERT_EQUAL_FATAL(mnemo_tls_open(&tls, f.cert, f.key, NULL, &err), MNEMO_OK);
    mnemo_tls_info_t info;
    mnemo_tls_describe(tls, &info);
    CU_ASSERT_STRING_EQUAL(info.subject, "CN=unit-server");
    CU_ASSERT_FALSE(info.expired);
    CU_ASSERT_EQUAL(strlen(info.expires), strlen("2027-12-05 01:54:09 UTC"));
    CU_ASSERT_EQUAL(info.n_client_cas, 0);
    mnemo_tls_close(tls);

    CU_ASSERT_EQUAL_FATAL(mnemo_tls_open(&tls, f.cert, f.key, f.ca, &err), MNEMO_OK);
    mnemo_tls_describe(tls, &info);
    CU_ASSERT_EQUAL(info.n_client_cas, 1);
    mnemo_tls_close(tls);
    mnemo_tls_close(NULL);
    fx_cleanup(&f);
}

static void test_tls__expired_certificate_opens_and_says_so(void)
{
    fixture_t f;
    fx_init(&f);
    write_pair(f.cert, f.key, "unit-expired", -3600);
    mnemo_tls_t *tls = NULL;
    mnemo_err_t err;
    CU_ASSERT_EQUAL_FATAL(mnemo_tls_open(&tls, f.cert, f.key, "", &err), MNEMO_OK);
    mnemo_tls_info_t info;
    mnemo_tls_describe(tls, &info);
    CU_ASSERT_TRUE(info.expired);
    mnemo_tls_close(tls);
    fx_cleanup(&f);
}

static void test_tls__bad_files_name_the_flag_and_file(void)
{
    fixture_t f;
    fx_init(&f);
    char missing[600], junk[600], der[600], other_cert[600], other_key[600], enc[600];
    snprintf(missing, sizeof missing, "%s/missing.pem", f.dir);
    snprintf(junk, sizeof junk, "%s/junk.txt", f.dir);
    snprintf(der, sizeof der, "%s/server.der", f.dir);
    snprintf(other_cert, sizeof other_cert, "%s/other.pem", f.dir);
    snprintf(other_key, sizeof other_key, "%s/other.key", f.dir);
    snprintf(enc, sizeof enc, "%s/encrypted.key", f.dir);
    write_text(junk, "hello, not PEM\n");
    write_pair(other_cert, other_key, "unit-other", 86400);
    EVP_PKEY *key = NULL;
    X509 *x = make_cert(&key, "unit-der", 86400);
    FILE *fp = fopen(der, "wb");
    CU_ASSERT_FATAL(fp != NULL && i2d_X509_fp(fp, x) == 1);
    fclose(fp);
    fp = fopen(enc, "w");
    CU_ASSERT_FATAL(fp != NULL &&
                    PEM_write_PrivateKey(fp, key, EVP_aes_128_cbc(), (unsigned char *)"secret", 6,
                                         NULL, NULL) == 1);
    fclose(fp);
    X509_free(x);
    EVP_PKEY_free(key);

    assert_open_fails(missing, f.key, NULL, "--tls-cert", missing);
    assert_open_fails(f.cert, missing, NULL, "--tls-key", missing);
    assert_open_fails(f.cert, f.key, missing, "--tls-client-ca", missing);
    assert_open_fails(junk, f.key, NULL, "--tls-cert", "not a PEM file");
    assert_open_fails(der, f.key, NULL, der, "not a PEM file");
    assert_open_fails(f.dir, f.key, NULL, "--tls-cert", "cannot read");
    assert_open_fails(f.key, f.key, NULL, f.key, "no certificate");
    assert_open_fails(f.cert, f.cert, NULL, f.cert, "no private key");
    assert_open_fails(f.cert, enc, NULL, enc, "encrypted");
    assert_open_fails(f.cert, other_key, NULL, other_key, "not the key of the certificate");
    assert_open_fails(f.cert, f.key, f.key, "--tls-client-ca", "no certificate");
    fx_cleanup(&f);
}

static void test_tls__reload_swaps_or_keeps(void)
{
    fixture_t f;
    fx_init(&f);
    mnemo_tls_t *tls = NULL;
    mnemo_err_t err;
    CU_ASSERT_EQUAL_FATAL(mnemo_tls_open(&tls, f.cert, f.key, NULL, &err), MNEMO_OK);
    write_pair(f.cert, f.key, "unit-rotated", 86400);
    mnemo_tls_info_t info;
    CU_ASSERT_EQUAL(mnemo_tls_reload(tls, &info, &err), MNEMO_OK);
    CU_ASSERT_STRING_EQUAL(info.subject, "CN=unit-rotated");

    /* A certificate without its key, then a broken file: nothing changes. */
    char spare_key[600];
    snprintf(spare_key, sizeof spare_key, "%s/spare.key", f.dir);
    write_pair(f.cert, spare_key, "unit-half-done", 86400);
    CU_ASSERT_EQUAL(mnemo_tls_reload(tls, &info, &err), MNEMO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not the key of the certificate"));
    write_text(f.key, "-----BEGIN PRIVATE KEY-----\ntruncated\n");
    CU_ASSERT_EQUAL(mnemo_tls_reload(tls, &info, &err), MNEMO_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, f.key));
    mnemo_tls_describe(tls, &info);
    CU_ASSERT_STRING_EQUAL(info.subject, "CN=unit-rotated");
    mnemo_tls_close(tls);
    fx_cleanup(&f);
}

int main(void)
{
    CU_pSuite s = mnemo_test_suite("tls");
    MNEMO_TEST(s, test_tls__open_describes_the_certificate);
    MNEMO_TEST(s, test_tls__expired_certificate_opens_and_says_so);
    MNEMO_TEST(s, test_tls__bad_files_name_the_flag_and_file);
    MNEMO_TEST(s, test_tls__reload_swaps_or_keeps);
    return mnemo_test_run();
}
