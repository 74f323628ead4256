/* tls.c - the listener's TLS files, checked with OpenSSL and served to
 * gRPC through a certificate config fetcher (see tls.h).
 *
 * DESIGN: a pem_set_t is an immutable snapshot of the three files, built
 * and checked by load_set() outside any lock. A reload swaps tls->set
 * under tls->mu and bumps the generation; the fetcher, under the same
 * mutex, hands gRPC a config copied from the current set (gRPC's
 * grpc_ssl_server_certificate_config_create copies the strings, and gRPC
 * frees the config) when the generation moved since its last one, and
 * answers UNCHANGED otherwise. One credentials object serves one
 * listener: mnemo_tls_server_credentials resets what was handed out so
 * that its first fetch (at grpc_server_add_http2_port) gets the files.
 *
 * gRPC 1.51 asserts (GPR_DEBUG_ASSERT, compiled into Debian's build) that
 * a fetched config carries client root certificates, even when no client
 * certificate is asked for. Without --tls-client-ca the server's own
 * chain fills that slot; it is never used, since the server then sends
 * no certificate request and verifies nothing.
 *
 * Threads: see tls.h. OpenSSL's error queue is per thread; every check
 * clears it before and after.
 */
#include "tls.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bytes.h"

/* A certificate chain or key file is a few KiB; a CA bundle may be a few
 * hundred. */
#define MAX_PEM_BYTES (4u << 20)

typedef struct pem_set {
    char *cert; /* the --tls-cert file, NUL-terminated */
    char *key;  /* the --tls-key file, NUL-terminated; wiped when freed */
    size_t key_len;
    char *ca; /* the --tls-client-ca file; NULL without it */
    mnemo_tls_info_t info;
} pem_set_t;

struct mnemo_tls {
    char *cert_path, *key_path;
    char *ca_path; /* NULL: no client certificate is asked for */
    pthread_mutex_t mu;
    pem_set_t *set;      /* under mu; replaced whole by a reload */
    uint64_t generation; /* under mu: bumped by every successful load */
    uint64_t handed_out; /* under mu: the generation the fetcher last gave gRPC */
};

static void wipe_free(char *p, size_t n)
{
    if (p == NULL)
        return;
    OPENSSL_cleanse(p, n);
    free(p);
}

static void set_free(pem_set_t *s)
{
    if (s == NULL)
        return;
    free(s->cert);
    wipe_free(s->key, s->key_len);
    free(s->ca);
    free(s);
}

/* Reads path whole into *out (NUL-terminated, the caller's, *len bytes).
 * MNEMO_EINVAL naming flag and path when it cannot be read, is too large
 * or is not PEM text. */
static mnemo_status_t read_pem(char **out, size_t *len, const char *flag, const char *path,
                               mnemo_err_t *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "%s %s: cannot read: %s", flag, path,
                             strerror(errno));
    size_t cap = 16384, n = 0;
    char *buf = mnemo_xmalloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n > MAX_PEM_BYTES)
            break;
        if (cap - n - 1 == 0) {
            char *bigger = mnemo_xmalloc(cap * 2);
            memcpy(bigger, buf, n);
            wipe_free(buf, n);
            buf = bigger;
            cap *= 2;
        }
    }
    int read_errno = ferror(f) ? errno : 0;
    fclose(f);
    buf[n] = '\0';
    const char *why = NULL;
    if (read_errno != 0) {
        wipe_free(buf, n);
        return mnemo_err_set(err, MNEMO_EINVAL, "%s %s: cannot read: %s", flag, path,
                             strerror(read_errno));
    }
    if (n > MAX_PEM_BYTES)
        why = "larger than 4 MiB, not a PEM certificate or key";
    else if (memchr(buf, '\0', n) != NULL || strstr(buf, "-----BEGIN ") == NULL)
        why = "not a PEM file (no -----BEGIN line; convert DER with openssl x509 -outform PEM)";
    if (why != NULL) {
        wipe_free(buf, n);
        return mnemo_err_set(err, MNEMO_EINVAL, "%s %s: %s", flag, path, why);
    }
    *out = buf;
    *len = n;
    return MNEMO_OK;
}

/* The reason of OpenSSL's last error (or fallback); clears the queue. */
static const char *ssl_reason(const char *fallback)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return r != NULL ? r : fallback;
}

/* Counts the certificates of pem (blocks of other types are skipped);
 * *first (when first is not NULL) gets the first one, the caller's.
 * -1 with *why when a certificate block does not parse. */
static int read_certs(const char *pem, X509 **first, const char **why)
{
    ERR_clear_error();
    BIO *bio = BIO_new_mem_buf(pem, -1);
    if (bio == NULL)
        abort();
    int n = 0;
    X509 *x;
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (n++ == 0 && first != NULL)
            *first = x;
        else
            X509_free(x);
    }
    BIO_free(bio);
    unsigned long e = ERR_peek_last_error();
    if (e == 0 || (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
        ERR_clear_error(); /* the end of the file */
        return n;
    }
    *why = ssl_reason("a certificate does not parse");
    if (first != NULL && n > 0) {
        X509_free(*first);
        *first = NULL;
    }
    return -1;
}

/* Encrypted keys are refused rather than prompted for. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    return -1;
}

/* The key of s parses and belongs to cert. */
static mnemo_status_t check_key(const pem_set_t *s, X509 *cert, const mnemo_tls_t *tls,
                                mnemo_err_t *err)
{
    ERR_clear_error();
    BIO *bio = BIO_new_mem_buf(s->key, (int)s->key_len);
    if (bio == NULL)
        abort();
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
    BIO_free(bio);
    mnemo_status_t st = MNEMO_OK;
    if (pkey == NULL && strstr(s->key, "ENCRYPTED") != NULL) {
        ERR_clear_error();
        st = mnemo_err_set(err, MNEMO_EINVAL,
                           "--tls-key %s: the key is encrypted; mnemod needs it unencrypted "
                           "(openssl pkey -in KEY -out PLAIN), readable by mnemod only",
                           tls->key_path);
    } else if (pkey == NULL) {
        st = mnemo_err_set(err, MNEMO_EINVAL, "--tls-key %s: no private key in it (%s)",
                           tls->key_path, ssl_reason("no PEM private key"));
    } else if (X509_check_private_key(cert, pkey) != 1) {
        ERR_clear_error();
        st = mnemo_err_set(err, MNEMO_EINVAL,
                           "--tls-key %s: not the key of the certificate in --tls-cert %s",
                           tls->key_path, tls->cert_path);
    }
    EVP_PKEY_free(pkey);
    return st;
}

/* Subject and expiry of cert, for logs. */
static void describe_cert(mnemo_tls_info_t *info, X509 *cert)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL)
        abort();
    /* RFC 2253 escapes control characters and non-ASCII bytes: log-safe. */
    X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
    int n = BIO_read(b, info->subject, (int)sizeof info->subject - 1);
    BIO_free(b);
    info->subject[n > 0 ? n : 0] = '\0';
    if (info->subject[0] == '\0')
        snprintf(info->subject, sizeof info->subject, "(empty)");
    const ASN1_TIME *end = X509_get0_notAfter(cert);
    struct tm tm;
    if (ASN1_TIME_to_tm(end, &tm) != 1 ||
        strftime(info->expires, sizeof info->expires, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(info->expires, sizeof info->expires, "(unreadable date)");
    info->expired = X509_cmp_current_time(end) < 0;
    ERR_clear_error();
}

/* The certificate file holds a certificate, the key is its key, the CA
 * file (if any) holds a certificate; fills s->info. */
static mnemo_status_t check_set(pem_set_t *s, const mnemo_tls_t *tls, mnemo_err_t *err)
{
    const char *why = NULL;
    X509 *cert = NULL;
    int n = read_certs(s->cert, &cert, &why);
    if (n <= 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "--tls-cert %s: %s", tls->cert_path,
                             n < 0 ? why : "no certificate in it");
    mnemo_status_t st = check_key(s, cert, tls, err);
    if (st == MNEMO_OK && s->ca != NULL) {
        n = read_certs(s->ca, NULL, &why);
        if (n <= 0)
            st = mnemo_err_set(err, MNEMO_EINVAL, "--tls-client-ca %s: %s", tls->ca_path,
                               n < 0 ? why : "no certificate in it");
        else
            s->info.n_client_cas = (size_t)n;
    }
    if (st == MNEMO_OK)
        describe_cert(&s->info, cert);
    X509_free(cert);
    return st;
}

/* Reads and checks the three files into a new set (the caller's). */
static mnemo_status_t load_set(pem_set_t **out, const mnemo_tls_t *tls, mnemo_err_t *err)
{
    pem_set_t *s = mnemo_xcalloc(1, sizeof *s);
    size_t len;
    mnemo_status_t st = read_pem(&s->cert, &len, "--tls-cert", tls->cert_path, err);
    if (st == MNEMO_OK)
        st = read_pem(&s->key, &s->key_len, "--tls-key", tls->key_path, err);
    if (st == MNEMO_OK && tls->ca_path != NULL)
        st = read_pem(&s->ca, &len, "--tls-client-ca", tls->ca_path, err);
    if (st == MNEMO_OK)
        st = check_set(s, tls, err);
    if (st != MNEMO_OK) {
        set_free(s);
        return st;
    }
    *out = s;
    return MNEMO_OK;
}

mnemo_status_t mnemo_tls_open(mnemo_tls_t **out, const char *cert_path, const char *key_path,
                              const char *client_ca_path, mnemo_err_t *err)
{
    mnemo_tls_t *tls = mnemo_xcalloc(1, sizeof *tls);
    tls->cert_path = mnemo_xstrdup(cert_path);
    tls->key_path = mnemo_xstrdup(key_path);
    if (client_ca_path != NULL && client_ca_path[0] != '\0')
        tls->ca_path = mnemo_xstrdup(client_ca_path);
    pthread_mutex_init(&tls->mu, NULL);
    mnemo_status_t st = load_set(&tls->set, tls, err);
    if (st != MNEMO_OK) {
        mnemo_tls_close(tls);
        return st;
    }
    tls->generation = 1;
    *out = tls;
    return MNEMO_OK;
}

/* gRPC's certificate config fetcher: runs at the start of every
 * handshake, on a gRPC thread. */
static grpc_ssl_certificate_config_reload_status
fetch_config(void *arg, grpc_ssl_server_certificate_config **config)
{
    mnemo_tls_t *tls = arg;
    grpc_ssl_certificate_config_reload_status rs = GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
    pthread_mutex_lock(&tls->mu);
    if (tls->handed_out != tls->generation) {
        const pem_set_t *s = tls->set;
        grpc_ssl_pem_key_cert_pair pair = {.private_key = s->key, .cert_chain = s->cert};
        /* Client roots are never NULL: see DESIGN. */
        *config =
            grpc_ssl_server_certificate_config_create(s->ca != NULL ? s->ca : s->cert, &pair, 1);
        tls->handed_out = tls->generation;
        rs = GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
    }
    pthread_mutex_unlock(&tls->mu);
    return rs;
}

grpc_server_credentials *mnemo_tls_server_credentials(mnemo_tls_t *tls)
{
    pthread_mutex_lock(&tls->mu);
    tls->handed_out = 0;
    pthread_mutex_unlock(&tls->mu);
    grpc_ssl_client_certificate_request_type request =
        tls->ca_path != NULL ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                             : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
    grpc_ssl_server_credentials_options *opts =
        grpc_ssl_server_credentials_create_options_using_config_fetcher(request, fetch_config, tls);
    return grpc_ssl_server_credentials_create_with_options(opts);
}

mnemo_status_t mnemo_tls_reload(mnemo_tls_t *tls, mnemo_tls_info_t *info, mnemo_err_t *err)
{
    pem_set_t *fresh = NULL;
    mnemo_status_t st = load_set(&fresh, tls, err);
    if (st != MNEMO_OK)
        return st;
    if (info != NULL)
        *info = fresh->info;
    pthread_mutex_lock(&tls->mu);
    pem_set_t *old = tls->set;
    tls->set = fresh;
    tls->generation++;
    pthread_mutex_unlock(&tls->mu);
    set_free(old);
    return MNEMO_OK;
}

void mnemo_tls_describe(mnemo_tls_t *tls, mnemo_tls_info_t *info)
{
    pthread_mutex_lock(&tls->mu);
    *info = tls->set->info;
    pthread_mutex_unlock(&tls->mu);
}

void mnemo_tls_close(mnemo_tls_t *tls)
{
    if (tls == NULL)
        return;
    set_free(tls->set);
    pthread_mutex_destroy(&tls->mu);
    free(tls->cert_path);
    free(tls->key_path);
    free(tls->ca_path);
    free(tls);
}
