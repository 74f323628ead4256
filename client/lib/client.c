/* client.c - opening and closing a libmnemo client, and its small lookups.
 *
 * DESIGN: a client owns one insecure channel to its target and nothing
 * else; calls (call.c) and streams (stream.c) create their own completion
 * queues. Opening takes a gRPC library reference (grpc_init) that closing
 * gives back (grpc_shutdown), so applications never have to.
 * Threads: open and close from any thread, not concurrently with calls on
 * the same client; the rest from any thread at any time.
 */
#include "client_impl.h"

#include <stdlib.h>
#include <string.h>

#include <grpc/grpc_security.h>

#include "mnemo/codec.h"

#ifndef MNEMO_VERSION
#define MNEMO_VERSION "0"
#endif

void mnemo_client_options_init(mnemo_client_options_t *opts)
{
    opts->deadline_ms = MNEMO_CLIENT_DEFAULT_DEADLINE_MS;
    opts->max_receive_message_size = MNEMO_CLIENT_DEFAULT_MAX_RECEIVE;
}

/* Creates c->channel on c->target with the options' channel arguments. */
static int create_channel(mnemo_client_t *c, const mnemo_client_options_t *opts,
                          mnemo_call_error_t *err)
{
    grpc_arg args[2];
    size_t nargs = 0;
    args[nargs].type = GRPC_ARG_STRING;
    args[nargs].key = (char *)GRPC_ARG_PRIMARY_USER_AGENT_STRING;
    args[nargs].value.string = (char *)"mnemo-c/" MNEMO_VERSION;
    nargs++;
    if (opts->max_receive_message_size != 0) {
        args[nargs].type = GRPC_ARG_INTEGER;
        args[nargs].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
        args[nargs].value.integer = opts->max_receive_message_size;
        nargs++;
    }
    grpc_channel_args channel_args = {nargs, args};
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    c->channel = grpc_channel_create(c->target, creds, &channel_args);
    grpc_channel_credentials_release(creds);
    if (c->channel == NULL)
        return mnemo_call_fail(err, MNEMO_CODE_INTERNAL, "cannot create a channel to %s",
                               c->target);
    return MNEMO_CODE_OK;
}

int mnemo_client_open(mnemo_client_t **out, const char *target, const mnemo_client_options_t *opts,
                      mnemo_call_error_t *err)
{
    mnemo_client_options_t defaults;
    if (opts == NULL) {
        mnemo_client_options_init(&defaults);
        opts = &defaults;
    }
    if (target == NULL || target[0] == '\0')
        return mnemo_call_fail(err, MNEMO_CODE_INVALID_ARGUMENT, "target: empty");
    if (opts->deadline_ms < 0)
        return mnemo_call_fail(err, MNEMO_CODE_INVALID_ARGUMENT, "deadline_ms: negative");

    mnemo_client_t *c = calloc(1, sizeof(*c));
    if (c == NULL || (c->target = strdup(target)) == NULL) {
        free(c);
        return mnemo_call_fail(err, MNEMO_CODE_RESOURCE_EXHAUSTED, "out of memory");
    }
    atomic_init(&c->deadline_ms, opts->deadline_ms);
    grpc_init();
    int rc = create_channel(c, opts, err);
    if (rc != MNEMO_CODE_OK) {
        mnemo_client_close(c);
        return rc;
    }
    *out = c;
    return mnemo_call_ok(err);
}

void mnemo_client_close(mnemo_client_t *c)
{
    if (c == NULL)
        return;
    if (c->channel != NULL)
        grpc_channel_destroy(c->channel);
    free(c->target);
    free(c);
    grpc_shutdown();
}

void mnemo_client_set_deadline(mnemo_client_t *c, int64_t deadline_ms)
{
    atomic_store(&c->deadline_ms, deadline_ms > 0 ? deadline_ms : 0);
}

const char *mnemo_client_target(const mnemo_client_t *c)
{
    return c->target;
}

const char *mnemo_client_code_name(int code)
{
    switch (code) {
#define CODE_NAME(name, value)                                                                     \
    case value:                                                                                    \
        return #name;
        MNEMO_CODE_TABLE(CODE_NAME)
#undef CODE_NAME
    }
    return "UNKNOWN_CODE";
}

void mnemo_client_free_message(void *msg)
{
    mnemo_codec_free(msg);
}
