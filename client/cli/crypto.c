/* crypto.c - the CLI's uses of OpenSSL (see crypto.h).
 *
 * DESIGN: files are read through BIOs; a private key is never decrypted
 * (the password callback refuses, so OpenSSL never prompts on the
 * terminal) and its structure is freed with EVP_PKEY_free, which clears
 * it. OpenSSL's error queue is emptied after each check. Threads: any.
 */
#include "crypto.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

void cli_crypto_sha256_hex(char hex[CLI_SHA256_HEX + 1], const void *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    /* A one-shot digest of memory fails only without memory; the hash is
     * then all zeros, which matches no token. */
    if (EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32) {
        memset(md, 0, sizeof(md));
        md_len = 32;
    }
    for (unsigned i = 0; i < md_len; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[CLI_SHA256_HEX] = '\0';
}

/* The password callback: encrypted keys are refused, never prompted for. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* Opens path for reading, or sets why. */
static BIO *open_file(const char *path, char *why, size_t why_size)
{
    BIO *bio = BIO_new_file(path, "r");
    if (bio == NULL) {
        snprintf(why, why_size, "cannot read it: %s", strerror(errno != 0 ? errno : EIO));
        ERR_clear_error();
    }
    return bio;
}

/* The first certificate of path, or NULL with why set. */
static X509 *first_cert(const char *path, char *why, size_t why_size)
{
    BIO *bio = open_file(path, why, why_size);
    if (bio == NULL)
        return NULL;
    X509 *cert = PEM_read_bio_X509(bio, NULL, no_password, NULL);
    if (cert == NULL)
        snprintf(why, why_size, "holds no valid PEM certificate");
    BIO_free(bio);
    ERR_clear_error();
    return cert;
}

int cli_crypto_check_certs(const char *path, char *why, size_t why_size)
{
    X509 *cert = first_cert(path, why, why_size);
    X509_free(cert);
    return cert != NULL ? 0 : -1;
}

int cli_crypto_check_key(const char *key_path, const char *cert_path, char *why, size_t why_size)
{
    BIO *bio = open_file(key_path, why, why_size);
    if (bio == NULL)
        return -1;
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
    BIO_free(bio);
    int rc = -1;
    X509 *cert = NULL;
    if (key == NULL) {
        snprintf(why, why_size,
                 "holds no usable PEM private key (an encrypted key is not "
                 "supported)");
    } else if ((cert = first_cert(cert_path, why, why_size)) == NULL) {
        snprintf(why, why_size, "its certificate cannot be read");
    } else if (X509_check_private_key(cert, key) != 1) {
        snprintf(why, why_size, "is not the private key of the certificate");
    } else {
        rc = 0;
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return rc;
}
