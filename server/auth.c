/* auth.c - bearer tokens and client certificates mapped to roles (see
 * auth.h).
 *
 * DESIGN: a table is an immutable snapshot of both files, built by
 * load_table() outside any lock; the checker holds the current one under
 * a rwlock: checks take the read side for the lookup only, a reload swaps
 * the pointer under the write side and frees the old table after. A token
 * lookup hashes the presented token once and compares the hash with every
 * entry (no early exit, constant-time compares), so the time taken says
 * nothing about which entry or how many bytes matched.
 *
 * Threads: any (see auth.h).
 */
#include "auth.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "hash.h"

#define LINE_MAX_BYTES 1024
#define WHERE_MAX      (4096 + 16) /* "path:line" */

typedef struct token_entry {
    uint8_t hash[MNEMO_SHA256_LEN];
    mnemo_role_t role;
    char name[MNEMO_AUTH_NAME_MAX + 1];
} token_entry_t;

typedef struct cert_entry {
    char *name; /* CN or SAN */
    mnemo_role_t role;
} cert_entry_t;

typedef struct table {
    token_entry_t *tokens;
    size_t n_tokens;
    cert_entry_t *certs;
    size_t n_certs;
} table_t;

struct mnemo_auth {
    char *tokens_path; /* NULL: none */
    char *certs_path;  /* NULL: none */
    pthread_rwlock_t lock;
    table_t *table; /* under lock */
};

const char *mnemo_role_name(mnemo_role_t role)
{
    switch (role) {
    case MNEMO_ROLE_UNSET:
        return "unset";
    case MNEMO_ROLE_OPEN:
        return "open";
    case MNEMO_ROLE_READ:
        return "read";
    case MNEMO_ROLE_WRITE:
        return "write";
    case MNEMO_ROLE_ADMIN:
        return "admin";
    }
    return "unknown";
}

static bool parse_role(mnemo_role_t *out, const char *word)
{
    static const mnemo_role_t roles[] = {MNEMO_ROLE_READ, MNEMO_ROLE_WRITE, MNEMO_ROLE_ADMIN};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        if (strcmp(word, mnemo_role_name(roles[i])) == 0) {
            *out = roles[i];
            return true;
        }
    }
    return false;
}

/* Names go to logs: printable ASCII without spaces, bounded. */
static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MNEMO_AUTH_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~')
            return false;
    return true;
}

static void table_free(table_t *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n_certs; i++)
        free(t->certs[i].name);
    free(t->certs);
    /* The token hashes are secrets of a kind: do not leave them in freed memory. */
    if (t->tokens != NULL)
        memset(t->tokens, 0, t->n_tokens * sizeof *t->tokens);
    free(t->tokens);
    free(t);
}

/* Splits line into at most max whitespace-separated words (in place),
 * dropping a '#' comment; returns the number of words, or max + 1 when
 * there are more. */
static size_t split_words(char *line, char **words, size_t max)
{
    char *hash = strchr(line, '#');
    if (hash != NULL)
        *hash = '\0';
    size_t n = 0;
    for (char *p = line;;) {
        while (*p != '\0' && isspace((unsigned char)*p))
            p++;
        if (*p == '\0')
            return n;
        if (n == max)
            return max + 1;
        words[n++] = p;
        while (*p != '\0' && !isspace((unsigned char)*p))
            p++;
        if (*p != '\0')
            *p++ = '\0';
    }
}

/* "SHA256-HEX ROLE NAME". The message never quotes the hash. */
static mnemo_status_t add_token(table_t *t, char **w, size_t n, const char *where, mnemo_err_t *err)
{
    token_entry_t e;
    memset(&e, 0, sizeof e);
    if (n != 3)
        return mnemo_err_set(err, MNEMO_EINVAL, "%s: want 'SHA256-HEX ROLE NAME' (%zu fields)",
                             where, n);
    if (!mnemo_hex_decode(e.hash, sizeof e.hash, w[0], strlen(w[0])))
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "%s: the first field must be 64 hex digits, the SHA-256 of the "
                             "token (mnemod hash-token), never the token itself",
                             where);
    if (!parse_role(&e.role, w[1]))
        return mnemo_err_set(err, MNEMO_EINVAL, "%s: role '%.16s' is not read, write or admin",
                             where, w[1]);
    if (!valid_name(w[2]))
        return mnemo_err_set(err, MNEMO_EINVAL, "%s: name must be 1 to %d printable characters",
                             where, MNEMO_AUTH_NAME_MAX);
    for (size_t i = 0; i < t->n_tokens; i++)
        if (memcmp(t->tokens[i].hash, e.hash, sizeof e.hash) == 0)
            return mnemo_err_set(err, MNEMO_EINVAL, "%s: the same token hash as '%s'", where,
                                 t->tokens[i].name);
    snprintf(e.name, sizeof e.name, "%s", w[2]);
    t->tokens = mnemo_xrealloc(t->tokens, (t->n_tokens + 1) * sizeof *t->tokens);
    t->tokens[t->n_tokens++] = e;
    return MNEMO_OK;
}

/* "NAME ROLE". */
static mnemo_status_t add_cert(table_t *t, char **w, size_t n, const char *where, mnemo_err_t *err)
{
    mnemo_role_t role;
    if (n != 2)
        return mnemo_err_set(err, MNEMO_EINVAL, "%s: want 'NAME ROLE' (%zu fields)", where, n);
    if (!valid_name(w[0]))
        return mnemo_err_set(err, MNEMO_EINVAL, "%s: name must be 1 to %d printable characters",
                             where, MNEMO_AUTH_NAME_MAX);
    if (!parse_role(&role, w[1]))
        return mnemo_err_set(err, MNEMO_EINVAL, "%s: role '%.16s' is not read, write or admin",
                             where, w[1]);
    t->certs = mnemo_xrealloc(t->certs, (t->n_certs + 1) * sizeof *t->certs);
    t->certs[t->n_certs++] = (cert_entry_t){mnemo_xstrdup(w[0]), role};
    return MNEMO_OK;
}

typedef mnemo_status_t (*add_fn)(table_t *t, char **w, size_t n, const char *where,
                                 mnemo_err_t *err);

static mnemo_status_t read_file(table_t *t, const char *path, add_fn add, mnemo_err_t *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "%s: %s", path, strerror(errno));
    char line[LINE_MAX_BYTES + 2];
    mnemo_status_t st = MNEMO_OK;
    for (int lineno = 1; st == MNEMO_OK && fgets(line, sizeof line, f) != NULL; lineno++) {
        char where[WHERE_MAX];
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        size_t len = strlen(line);
        if (len > LINE_MAX_BYTES)
            st = mnemo_err_set(err, MNEMO_EINVAL, "%s: line longer than %d bytes", where,
                               LINE_MAX_BYTES);
        char *w[4];
        size_t n = st == MNEMO_OK ? split_words(line, w, 3) : 0;
        if (st == MNEMO_OK && n > 0)
            st = add(t, w, n, where, err);
    }
    if (st == MNEMO_OK && ferror(f))
        st = mnemo_err_set(err, MNEMO_EINVAL, "%s: read error", path);
    fclose(f);
    memset(line, 0, sizeof line);
    return st;
}

static mnemo_status_t load_table(table_t **out, const mnemo_auth_t *auth, mnemo_err_t *err)
{
    table_t *t = mnemo_xcalloc(1, sizeof *t);
    mnemo_status_t st = MNEMO_OK;
    if (auth->tokens_path != NULL)
        st = read_file(t, auth->tokens_path, add_token, err);
    if (st == MNEMO_OK && auth->certs_path != NULL)
        st = read_file(t, auth->certs_path, add_cert, err);
    if (st != MNEMO_OK) {
        table_free(t);
        return st;
    }
    *out = t;
    return MNEMO_OK;
}

static char *path_or_null(const char *path)
{
    return path != NULL && path[0] != '\0' ? mnemo_xstrdup(path) : NULL;
}

mnemo_status_t mnemo_auth_open(mnemo_auth_t **out, const char *tokens_path,
                               const char *cert_roles_path, mnemo_err_t *err)
{
    mnemo_auth_t *auth = mnemo_xcalloc(1, sizeof *auth);
    auth->tokens_path = path_or_null(tokens_path);
    auth->certs_path = path_or_null(cert_roles_path);
    pthread_rwlock_init(&auth->lock, NULL);
    mnemo_status_t st = load_table(&auth->table, auth, err);
    if (st != MNEMO_OK) {
        mnemo_auth_close(auth);
        return st;
    }
    *out = auth;
    return MNEMO_OK;
}

void mnemo_auth_close(mnemo_auth_t *auth)
{
    if (auth == NULL)
        return;
    table_free(auth->table);
    pthread_rwlock_destroy(&auth->lock);
    free(auth->tokens_path);
    free(auth->certs_path);
    free(auth);
}

mnemo_status_t mnemo_auth_reload(mnemo_auth_t *auth, size_t *n_tokens, size_t *n_certs,
                                 mnemo_err_t *err)
{
    table_t *fresh = NULL;
    mnemo_status_t st = load_table(&fresh, auth, err);
    if (st != MNEMO_OK)
        return st;
    pthread_rwlock_wrlock(&auth->lock);
    table_t *old = auth->table;
    auth->table = fresh;
    pthread_rwlock_unlock(&auth->lock);
    if (n_tokens != NULL)
        *n_tokens = fresh->n_tokens;
    if (n_certs != NULL)
        *n_certs = fresh->n_certs;
    table_free(old);
    return MNEMO_OK;
}

bool mnemo_auth_enabled(const mnemo_auth_t *auth)
{
    return auth->tokens_path != NULL || auth->certs_path != NULL;
}

/* The entry whose hash equals the token's, looked at in constant time. */
static const token_entry_t *find_token(const table_t *t, const char *token, size_t len)
{
    uint8_t hash[MNEMO_SHA256_LEN];
    mnemo_sha256(token, len, hash);
    const token_entry_t *found = NULL;
    for (size_t i = 0; i < t->n_tokens; i++) {
        bool eq = mnemo_consttime_equal(t->tokens[i].hash, hash, sizeof hash);
        found = eq ? &t->tokens[i] : found;
    }
    memset(hash, 0, sizeof hash);
    return found;
}

/* The best role a certificate name maps to, MNEMO_ROLE_UNSET for none. */
static mnemo_role_t find_cert(const table_t *t, const mnemo_auth_peer_t *peer, const char **name)
{
    mnemo_role_t best = MNEMO_ROLE_UNSET;
    for (size_t i = 0; i < t->n_certs; i++) {
        for (size_t k = 0; k < peer->n_cert_names; k++) {
            if (t->certs[i].role > best && strcmp(t->certs[i].name, peer->cert_names[k]) == 0) {
                best = t->certs[i].role;
                *name = t->certs[i].name;
            }
        }
    }
    return best;
}

mnemo_status_t mnemo_auth_check(mnemo_auth_t *auth, const mnemo_auth_peer_t *peer,
                                mnemo_role_t need, const char *method,
                                char who[MNEMO_AUTH_NAME_MAX + 16], mnemo_err_t *err)
{
    if (who != NULL)
        who[0] = '\0';
    if (need == MNEMO_ROLE_OPEN || !mnemo_auth_enabled(auth))
        return MNEMO_OK;
    char label[MNEMO_AUTH_NAME_MAX + 16] = "";
    mnemo_role_t role = MNEMO_ROLE_UNSET;
    mnemo_status_t st = MNEMO_OK;
    pthread_rwlock_rdlock(&auth->lock);
    if (peer->bearer != NULL) {
        const token_entry_t *e = find_token(auth->table, peer->bearer, peer->bearer_len);
        if (e == NULL) {
            st = mnemo_err_set(err, MNEMO_EUNAUTH,
                               "authorization: unknown bearer token (revoked, mistyped, or "
                               "for another server)");
        } else {
            role = e->role;
            snprintf(label, sizeof label, "token %s", e->name);
        }
    } else {
        const char *name = NULL;
        role = find_cert(auth->table, peer, &name);
        if (role != MNEMO_ROLE_UNSET)
            snprintf(label, sizeof label, "certificate %s", name);
    }
    pthread_rwlock_unlock(&auth->lock);
    if (st != MNEMO_OK)
        return st;
    if (role == MNEMO_ROLE_UNSET)
        return mnemo_err_set(err, MNEMO_EUNAUTH,
                             "authorization: %s needs credentials: send the header "
                             "'authorization: Bearer <token>'%s",
                             method,
                             auth->certs_path != NULL ? " or a mapped client certificate" : "");
    if (role < need)
        return mnemo_err_set(err, MNEMO_EPERM, "%s needs role %s; %s has role %s", method,
                             mnemo_role_name(need), label, mnemo_role_name(role));
    if (who != NULL)
        memcpy(who, label, sizeof label);
    return MNEMO_OK;
}

void mnemo_auth_hash_token(char hex[65], const char *token, size_t len)
{
    uint8_t hash[MNEMO_SHA256_LEN];
    mnemo_sha256(token, len, hash);
    mnemo_hex_encode(hex, hash, sizeof hash);
}
