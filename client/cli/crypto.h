/* crypto.h - what the mnemo CLI needs of OpenSSL (libcrypto): the SHA-256
 * of a token, and a check of the PEM files given for TLS.
 *
 * DESIGN: libmnemo reads the TLS files itself and checks only that they
 * hold a PEM block: it does not link OpenSSL, and gRPC reports a corrupt
 * file or a key that does not belong to its certificate only when the
 * first call fails (UNAVAILABLE, "empty address list"). The CLI parses the
 * files here once more, so that such a file is a usage error that names
 * it. This is the CLI's one user of OpenSSL. Part of mnemo_cli_core.
 * Threads: any.
 */
#ifndef MNEMO_CLI_CRYPTO_H
#define MNEMO_CLI_CRYPTO_H

#include <stddef.h>

#define CLI_SHA256_HEX 64

/* The lowercase hex SHA-256 of data[0..len) and a NUL. */
void cli_crypto_sha256_hex(char hex[CLI_SHA256_HEX + 1], const void *data, size_t len);

/* Checks that the file at path holds at least one PEM certificate (what
 * gRPC needs of a CA bundle and of a certificate chain). 0, or -1 with why
 * saying what is wrong (not the path). */
int cli_crypto_check_certs(const char *path, char *why, size_t why_size);

/* Checks that key_path holds an unencrypted PEM private key and that it
 * belongs to the first certificate of cert_path. 0, or -1 with why (not
 * naming the paths). */
int cli_crypto_check_key(const char *key_path, const char *cert_path, char *why, size_t why_size);

#endif
