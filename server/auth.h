/* auth.h - who may call what: bearer tokens and client certificates mapped
 * to roles, checked before a handler runs.
 *
 * DESIGN: three roles, each containing the one below: read (Get, List,
 * Retrieve, SearchByTag, SearchCode, GetSyncStatus, ListRepositories,
 * WatchSync), write (read + StoreMemory, DeleteMemory) and admin (write +
 * SyncRepository, CancelSync, DeleteRepository). Every row of the method
 * tables names the role it needs; health and reflection are open so that
 * probes and generic tools work. A row without a role (MNEMO_ROLE_UNSET)
 * stops mnemod at start.
 *
 * Credentials come from two files, both optional and both re-read by
 * mnemo_auth_reload (SIGHUP):
 *   --auth-tokens:      "SHA256-HEX ROLE NAME" per line: the SHA-256 of a
 *                       bearer token (never the token), its role, and a
 *                       name for logs;
 *   --tls-client-roles: "NAME ROLE" per line: a verified client
 *                       certificate whose subject CN or a SAN equals NAME
 *                       has ROLE.
 * '#' starts a comment; blank lines are skipped. With neither file every
 * call is allowed (loopback, or TLS alone). Otherwise a call needs a known
 * token or a mapped certificate: an "authorization: Bearer" header with an
 * unknown token is UNAUTHENTICATED even when a certificate would do, so a
 * revoked token never falls back silently. A token is hashed and compared
 * with every entry in constant time; neither the token nor its hash is
 * ever logged or echoed, only the entry's name.
 *
 * No gRPC here: the rpc layer extracts the header and the certificate
 * names (server.c) and hands them over as plain strings.
 *
 * Threads: mnemo_auth_check from any thread, concurrently with a reload
 * (the tables are swapped under a write lock, parsed outside it).
 */
#ifndef MNEMO_AUTH_H
#define MNEMO_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "mnemo/status.h"

typedef enum mnemo_role {
    MNEMO_ROLE_UNSET = 0, /* a method table row that forgot its role */
    MNEMO_ROLE_OPEN,      /* no credential needed: health, reflection */
    MNEMO_ROLE_READ,
    MNEMO_ROLE_WRITE,
    MNEMO_ROLE_ADMIN,
} mnemo_role_t;

/* The longest entry name (token or certificate), for logs. */
#define MNEMO_AUTH_NAME_MAX 64

typedef struct mnemo_auth mnemo_auth_t;

/* What a call presented. */
typedef struct mnemo_auth_peer {
    const char *bearer; /* the token after "Bearer ", not NUL-terminated; NULL: none */
    size_t bearer_len;
    const char *const *cert_names; /* verified client certificate: CN and SANs */
    size_t n_cert_names;
} mnemo_auth_peer_t;

/* "read", "write", "admin", "open", "unset". */
const char *mnemo_role_name(mnemo_role_t role);

/* Reads the token file and the certificate role file (NULL or "": none).
 * *out is the caller's (mnemo_auth_close). MNEMO_EINVAL naming the file
 * and line of the first bad entry, or the file that cannot be read. */
mnemo_status_t mnemo_auth_open(mnemo_auth_t **out, const char *tokens_path,
                               const char *cert_roles_path, mnemo_err_t *err);

void mnemo_auth_close(mnemo_auth_t *auth);

/* Re-reads both files. On success the new entries answer every check that
 * starts after this returns (a removed token is refused at once) and
 * *n_tokens, *n_certs (may be NULL) count them; on failure the current
 * entries stay and err says why. */
mnemo_status_t mnemo_auth_reload(mnemo_auth_t *auth, size_t *n_tokens, size_t *n_certs,
                                 mnemo_err_t *err);

/* True when calls need a credential (either file was given). */
bool mnemo_auth_enabled(const mnemo_auth_t *auth);

/* Decides a call of `method` ("pkg.Service/Method", for messages) needing
 * role `need` from what peer presented. MNEMO_OK, with who (when not NULL)
 * naming the credential ("token agent-42", "certificate ci-runner", or ""
 * when none was needed). MNEMO_EUNAUTH when no credential was presented or
 * the token is unknown; MNEMO_EPERM when the credential's role is below
 * need (the message names both roles). */
mnemo_status_t mnemo_auth_check(mnemo_auth_t *auth, const mnemo_auth_peer_t *peer,
                                mnemo_role_t need, const char *method,
                                char who[MNEMO_AUTH_NAME_MAX + 16], mnemo_err_t *err);

/* Writes the lowercase hex SHA-256 of token (what --auth-tokens lists)
 * into hex. */
void mnemo_auth_hash_token(char hex[65], const char *token, size_t len);

#endif
