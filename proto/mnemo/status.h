/* status.h - the one status enum of mnemo, shared by server and client.
 *
 * DESIGN: every function that can fail returns a mnemo_status_t and, when
 * given a mnemo_err_t, a human-readable message naming the field or the
 * resource at fault. Codes travel up unchanged; only the call layer turns
 * them into a gRPC status (the table holds the gRPC code as a plain int so
 * that domain modules need no gRPC header). The table is append only.
 * Thread-safe: pure functions.
 */
#ifndef MNEMO_STATUS_H
#define MNEMO_STATUS_H

#include <stddef.h>

/* X(enum name, value, short text, gRPC status code) */
#define MNEMO_STATUS_TABLE(X)                                                                      \
    X(MNEMO_OK, 0, "ok", 0)                                                                        \
    X(MNEMO_EINVAL, -1, "invalid argument", 3)                                                     \
    X(MNEMO_ENOTFOUND, -2, "not found", 5)                                                         \
    X(MNEMO_EEXIST, -3, "already exists", 6)                                                       \
    X(MNEMO_EPRECOND, -4, "failed precondition", 9)                                                \
    X(MNEMO_EABORTED, -5, "aborted", 10)                                                           \
    X(MNEMO_ERESOURCE, -6, "resource exhausted", 8)                                                \
    X(MNEMO_EPERM, -7, "permission denied", 7)                                                     \
    X(MNEMO_ECANCELLED, -8, "cancelled", 1)                                                        \
    X(MNEMO_ETIMEDOUT, -9, "deadline exceeded", 4)                                                 \
    X(MNEMO_EUNAVAIL, -10, "unavailable", 14)                                                      \
    X(MNEMO_EINTERNAL, -11, "internal error", 13)                                                  \
    X(MNEMO_ENOMEM, -12, "out of memory", 8)                                                       \
    X(MNEMO_EIO, -13, "storage I/O error", 14)                                                     \
    X(MNEMO_ECORRUPT, -14, "corrupt data", 15)                                                     \
    X(MNEMO_EUNIMPLEMENTED, -15, "unimplemented", 12)                                              \
    X(MNEMO_EUNAUTH, -16, "unauthenticated", 16)

typedef enum mnemo_status {
#define MNEMO_STATUS_ENUM(name, value, text, grpc) name = value,
    MNEMO_STATUS_TABLE(MNEMO_STATUS_ENUM)
#undef MNEMO_STATUS_ENUM
} mnemo_status_t;

/* A message that goes with a failed status. Embedded, never allocated. */
typedef struct mnemo_err {
    char msg[512];
} mnemo_err_t;

/* Short text of a status ("invalid argument"); "unknown status" otherwise. */
const char *mnemo_status_text(mnemo_status_t st);

/* Name of the enum value ("MNEMO_EINVAL"). */
const char *mnemo_status_name(mnemo_status_t st);

/* gRPC status code for st (an int equal to grpc_status_code). */
int mnemo_status_to_grpc(mnemo_status_t st);

/* Nearest mnemo status for a gRPC status code (used by the client). */
mnemo_status_t mnemo_status_from_grpc(int grpc_code);

/* Formats a message into err (when err is not NULL) and returns code, so that
 * a failure reads `return mnemo_err_set(err, MNEMO_EINVAL, "tags[%zu]: empty", i);`.
 * A message that does not fit is truncated at a UTF-8 boundary. */
mnemo_status_t mnemo_err_set(mnemo_err_t *err, mnemo_status_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears err (when not NULL). */
void mnemo_err_clear(mnemo_err_t *err);

#endif
