/* codes.h - the status codes a mnemo client sees: gRPC's canonical codes,
 * re-exported under mnemo's names.
 *
 * DESIGN: mnemo speaks gRPC, so the code a call returns is the gRPC status
 * code the server sent (or the one gRPC produced locally: UNAVAILABLE when
 * no connection could be made, DEADLINE_EXCEEDED, CANCELLED, ...). Rather
 * than a second enum with a mapping to keep in step, this header gives the
 * gRPC codes mnemo's names, value for value: MNEMO_CODE_NOT_FOUND == 5 ==
 * GRPC_STATUS_NOT_FOUND. A client program needs no gRPC header to read a
 * result. The server's own status table (status.h) names, for each internal
 * status, the code in this table that the client receives.
 *
 * The values are gRPC's and never change. Plain C, no dependencies:
 * installed with libmnemo as <mnemo/codes.h>.
 */
#ifndef MNEMO_CODES_H
#define MNEMO_CODES_H

/* X(name, value): every gRPC status code, in value order. */
#define MNEMO_CODE_TABLE(X)                                                                        \
    X(OK, 0)                                                                                       \
    X(CANCELLED, 1)                                                                                \
    X(UNKNOWN, 2)                                                                                  \
    X(INVALID_ARGUMENT, 3)                                                                         \
    X(DEADLINE_EXCEEDED, 4)                                                                        \
    X(NOT_FOUND, 5)                                                                                \
    X(ALREADY_EXISTS, 6)                                                                           \
    X(PERMISSION_DENIED, 7)                                                                        \
    X(RESOURCE_EXHAUSTED, 8)                                                                       \
    X(FAILED_PRECONDITION, 9)                                                                      \
    X(ABORTED, 10)                                                                                 \
    X(OUT_OF_RANGE, 11)                                                                            \
    X(UNIMPLEMENTED, 12)                                                                           \
    X(INTERNAL, 13)                                                                                \
    X(UNAVAILABLE, 14)                                                                             \
    X(DATA_LOSS, 15)                                                                               \
    X(UNAUTHENTICATED, 16)

typedef enum mnemo_code {
#define MNEMO_CODE_ENUM(name, value) MNEMO_CODE_##name = value,
    MNEMO_CODE_TABLE(MNEMO_CODE_ENUM)
#undef MNEMO_CODE_ENUM
} mnemo_code_t;

#endif
