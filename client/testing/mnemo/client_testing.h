/* client_testing.h - what mnemo's own tests and benchmark use of libmnemo
 * beyond the public client.h: raw calls, and the grpc.health.v1 messages.
 * Not installed, not part of the API.
 *
 * DESIGN: the integration tests must reach the server exactly as written
 * (unparseable bytes, unknown methods, health requests built by hand), which
 * a user of the library never needs; keeping it out of client.h keeps the
 * installed header free of test hooks and of gRPC's own generated headers.
 * mnemo_client_call_raw is exported from the shared library like any
 * MNEMO_API function, so tests link the same libmnemo as users do. The
 * health messages' generated code is internal to libmnemo; the build tree
 * links it into the programs that include this header (client/CMakeLists.txt).
 * Threads: as client.h.
 */
#ifndef MNEMO_CLIENT_TESTING_H
#define MNEMO_CLIENT_TESTING_H

#include <stddef.h>

#include "grpc/health/v1/health.pb-c.h"
#include "mnemo/client.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sends len bytes, unencoded, as the request of the method at path
 * ("/pkg.Service/Method"), for tests of malformed input. When out is not
 * NULL, the response is decoded as a message of response_desc and, on OK,
 * *out is the caller's; when out is NULL the response is dropped. Returns
 * the call's code (mnemo_code_t); INTERNAL when a wanted response does not
 * parse. */
MNEMO_API int mnemo_client_call_raw(mnemo_client_t *c, const char *path, const void *bytes,
                                    size_t len, const ProtobufCMessageDescriptor *response_desc,
                                    ProtobufCMessage **out, mnemo_call_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
