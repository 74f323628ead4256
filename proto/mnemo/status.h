/* status.h - the server's status enum: what every fallible function of
 * mnemod returns, and the gRPC code each one becomes on the wire.
 *
 * DESIGN: every function that can fail returns a mnemo_status_t and, when
 * given a mnemo_err_t, a human-readable message naming the field or the
 * resource at fault. Codes travel up unchanged; only the call layer
 * (server/call.c) turns them into a gRPC status, with the code of the
 * table's last column. That column is a mnemo_code_t (codes.h): the gRPC
 * codes under mnemo's names, which is also the vocabulary of the C client
 * (client.h). The client never sees a mnemo_status_t: it gets the code and
 * the message. Plain C, no gRPC: the domain library links this alone.
 *
 * Every row is produced somewhere in the server. The table is append only:
 * a row that stops being produced is removed, and its value is never given
 * to another row (removed so far: -3, -9, -12). Thread-safe: pure
 * functions.
 */
#ifndef MNEMO_STATUS_H
#define MNEMO_STATUS_H

#include <stddef.h>

#include "mnemo/codes.h"

/* X(enum name, value, short text, client code) */
#define MNEMO_STATUS_TABLE(X)                                                                      \
    X(MNEMO_OK, 0, "ok", MNEMO_CODE_OK)                                                            \
    X(MNEMO_EINVAL, -1, "invalid argument", MNEMO_CODE_INVALID_ARGUMENT)                           \
    X(MNEMO_ENOTFOUND, -2, "not found", MNEMO_CODE_NOT_FOUND)                                      \
    X(MNEMO_EPRECOND, -4, "failed precondition", MNEMO_CODE_FAILED_PRECONDITION)                   \
    X(MNEMO_EABORTED, -5, "aborted", MNEMO_CODE_ABORTED)                                           \
    X(MNEMO_ERESOURCE, -6, "resource exhausted", MNEMO_CODE_RESOURCE_EXHAUSTED)                    \
    X(MNEMO_EPERM, -7, "permission denied", MNEMO_CODE_PERMISSION_DENIED)                          \
    X(MNEMO_ECANCELLED, -8, "cancelled", MNEMO_CODE_CANCELLED)                                     \
    X(MNEMO_EUNAVAIL, -10, "unavailable", MNEMO_CODE_UNAVAILABLE)                                  \
    X(MNEMO_EINTERNAL, -11, "internal error", MNEMO_CODE_INTERNAL)                                 \
    X(MNEMO_EIO, -13, "storage I/O error", MNEMO_CODE_UNAVAILABLE)                                 \
    X(MNEMO_ECORRUPT, -14, "corrupt data", MNEMO_CODE_DATA_LOSS)                                   \
    X(MNEMO_EUNIMPLEMENTED, -15, "unimplemented", MNEMO_CODE_UNIMPLEMENTED)                        \
    X(MNEMO_EUNAUTH, -16, "unauthenticated", MNEMO_CODE_UNAUTHENTICATED)

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

/* The code a client receives for st: a gRPC status code (codes.h);
 * MNEMO_CODE_UNKNOWN for a value outside the table. */
mnemo_code_t mnemo_status_to_code(mnemo_status_t st);

/* Formats a message into err (when err is not NULL) and returns code, so that
 * a failure reads `return mnemo_err_set(err, MNEMO_EINVAL, "tags[%zu]: empty", i);`.
 * A message that does not fit is truncated at a UTF-8 boundary. */
mnemo_status_t mnemo_err_set(mnemo_err_t *err, mnemo_status_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears err (when not NULL). */
void mnemo_err_clear(mnemo_err_t *err);

#endif
