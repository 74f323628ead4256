/* consumer.c - a user's program of libmnemo, built by test_install.sh
 * against an installed prefix only (pkg-config and find_package).
 *
 * DESIGN: touches each part a user links against: the MNEMO_API functions,
 * the code names of codes.h, a generated message's __INIT macro and its
 * exported pack function, and gRPC core through one call to a server that
 * is not there (a unix socket in a directory that does not exist: no port,
 * no wait). Prints one line; the test compares it.
 */
#include <stdio.h>

#include <mnemo/client.h>

int main(void)
{
    mnemo_client_t *c = NULL;
    mnemo_call_error_t err;
    if (mnemo_client_open(&c, "unix:/nonexistent/mnemo.sock", NULL, &err) != MNEMO_CODE_OK) {
        fprintf(stderr, "consumer: open: %s\n", err.message);
        return 1;
    }
    Mnemo__V1__GetMemoryRequest req = MNEMO__V1__GET_MEMORY_REQUEST__INIT;
    req.id = "abc";
    Mnemo__V1__Memory *m = NULL;
    int rc = mnemo_client_get_memory(&m, c, &req, &err);
    printf("%s %s %zu %s %s\n", mnemo_client_code_name(MNEMO_CODE_NOT_FOUND),
           req.base.descriptor->name, mnemo__v1__get_memory_request__get_packed_size(&req),
           mnemo_client_serving_status_name(MNEMO_SERVING_STATUS_SERVING),
           rc == MNEMO_CODE_UNAVAILABLE && err.unreachable ? "unreachable" : err.message);
    mnemo_client_close(c);
    return 0;
}
