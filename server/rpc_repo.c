/* rpc_repo.c - mnemo.v1.RepositoryService.
 *
 * DESIGN: every method is registered (so generic clients see the whole
 * contract) and, until repository sync lands, answers UNIMPLEMENTED with a
 * message naming the method. Threads: CQ threads.
 */
#include <stdio.h>

#include "mnemo/v1/repository.pb-c.h"
#include "rpc.h"

static void unimplemented(mnemo_call_t *call, const ProtobufCMessage *msg, void *ctx)
{
    (void)ctx;
    char message[160];
    snprintf(message, sizeof message, "%s is not implemented yet by this mnemod",
             msg->descriptor->name);
    mnemo_call_finish(call, MNEMO_EUNIMPLEMENTED, message);
}

#define REPO_METHOD(name, streaming)                                                               \
    {                                                                                              \
        &mnemo__v1__repository_service__descriptor, name, streaming, unimplemented                 \
    }

const mnemo_method_t mnemo_rpc_repo_methods[] = {
    REPO_METHOD("SyncRepository", true),    REPO_METHOD("WatchSync", true),
    REPO_METHOD("GetSyncStatus", false),    REPO_METHOD("CancelSync", false),
    REPO_METHOD("ListRepositories", false), REPO_METHOD("DeleteRepository", false),
    REPO_METHOD("SearchCode", false),       {NULL, NULL, false, NULL},
};
