/* tls.h - TLS on mnemod's listener: the certificate, its key and the
 * client CA read from PEM files, checked, and handed to gRPC; re-read on
 * SIGHUP without a restart.
 *
 * DESIGN: a mnemo_tls_t owns the bytes of the three files (--tls-cert,
 * --tls-key, --tls-client-ca) under a mutex, with a generation counter.
 * The gRPC server credentials it makes use a certificate config fetcher
 * (grpc_ssl_server_credentials_create_options_using_config_fetcher): gRPC
 * calls it at the start of every handshake, and it hands out a fresh
 * config only when the generation moved since the last one it handed out,
 * so a reload is one swap under the mutex. Handshakes that start after the
 * swap use the new files; connections already up keep the ones they were
 * made with, so no call is dropped.
 *
 * Every file is checked with OpenSSL before gRPC sees it, at start and at
 * each reload: readable, PEM, holds a certificate (a key), the key belongs
 * to the certificate, the CA file holds at least one certificate. A file
 * that fails keeps everything as it was. gRPC 1.51's SSL server
 * credentials negotiate TLS 1.2 or 1.3 only (their fixed minimum; the C
 * API has no setting for it). OpenSSL is used in tls.c only; the key's
 * bytes are never logged and are wiped when freed.
 *
 * Threads: open, reload, describe and close on the main thread; the
 * fetcher on gRPC's threads, concurrently with a reload.
 */
#ifndef MNEMO_TLS_H
#define MNEMO_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <grpc/grpc_security.h>

#include "mnemo/status.h"

typedef struct mnemo_tls mnemo_tls_t;

/* What the loaded files say, for logs (no secret in it). */
typedef struct mnemo_tls_info {
    char subject[256];   /* the certificate's subject, RFC 2253 ("CN=mnemod,O=...") */
    char expires[32];    /* its notAfter, "2027-12-05 01:54:09 UTC" */
    bool expired;        /* notAfter is already past */
    size_t n_client_cas; /* certificates in --tls-client-ca; 0 without it */
} mnemo_tls_info_t;

/* Reads and checks cert_path (PEM certificate chain, the server's own
 * certificate first), key_path (its PEM private key, not encrypted) and
 * client_ca_path (PEM CA certificates; NULL or "": no client certificate
 * is asked for). *out is the caller's (mnemo_tls_close); the paths are
 * copied. MNEMO_EINVAL with a message naming the flag and the file when a
 * file cannot be read, is not PEM, holds no certificate or key, or the key
 * is not the certificate's. */
mnemo_status_t mnemo_tls_open(mnemo_tls_t **out, const char *cert_path, const char *key_path,
                              const char *client_ca_path, mnemo_err_t *err);

/* New server credentials (the caller releases them) whose fetcher serves
 * tls's current files; clients must present a certificate signed by the
 * client CA when there is one. tls must outlive the gRPC server using the
 * credentials (close it after grpc_server_destroy). */
grpc_server_credentials *mnemo_tls_server_credentials(mnemo_tls_t *tls);

/* Re-reads the three files and checks them as open does. On success new
 * handshakes use them and *info (may be NULL) describes them; on failure
 * (MNEMO_EINVAL, the message naming the flag and file) the files loaded
 * before stay in use. */
mnemo_status_t mnemo_tls_reload(mnemo_tls_t *tls, mnemo_tls_info_t *info, mnemo_err_t *err);

/* Describes the files in use. */
void mnemo_tls_describe(mnemo_tls_t *tls, mnemo_tls_info_t *info);

/* Frees tls (wiping the key's bytes). NULL: no-op. */
void mnemo_tls_close(mnemo_tls_t *tls);

#endif
