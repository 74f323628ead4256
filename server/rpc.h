/* rpc.h - what the rpc_* translation layer shares: the application context
 * handed to every handler, the method tables, and request validation.
 *
 * DESIGN: an rpc_* handler reads top to bottom: validate the limits of the
 * decoded request's fields (every failure names the field), call one
 * domain function, encode and reply. The domain owns its rules and its
 * locking: memories (memories.h) and the code index (codeindex.h) live in
 * two LevelDB stores under the data dir, so a sync's bulk writes and
 * compactions never queue in front of a memory store's fsync, and memory
 * RPCs take no lock that a sync holds. Handlers run on CQ threads and must
 * not block beyond one storage operation.
 */
#ifndef MNEMO_RPC_H
#define MNEMO_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "call.h"
#include "codeindex.h"
#include "config.h"
#include "memories.h"
#include "mnemo/v1/memory.pb-c.h"
#include "mnemo/v1/repository.pb-c.h"
#include "pace.h"
#include "store.h"

typedef struct mnemo_health mnemo_health_t;

typedef struct mnemo_app {
    const mnemo_config_t *cfg;
    mnemo_store_t *memory_store; /* <data-dir>/memories */
    mnemo_store_t *code_store;   /* <data-dir>/code */
    mnemo_memories_t *memories;
    mnemo_codeindex_t *codeindex; /* repositories, syncs, code search */
    mnemo_health_t *health;
    /* Interactive requests note their arrival; sync jobs pace by it. */
    mnemo_pace_t pace;
    /* Heartbeats of SyncRepository and WatchSync streams (NULL: none). */
    mnemo_ticker_t *ticker;
} mnemo_app_t;

/* Method tables, one per service; each ends with a row whose name is NULL. */
extern const mnemo_method_t mnemo_rpc_memory_methods[];
extern const mnemo_method_t mnemo_rpc_health_methods[];
extern const mnemo_method_t mnemo_rpc_repo_methods[];
extern const mnemo_method_t mnemo_rpc_reflection_methods[];

/* Every table above: what mnemod registers (and reflection lists). */
extern const mnemo_method_t *const mnemo_rpc_tables[];
extern const size_t mnemo_rpc_n_tables;

/* Health of the services mnemod serves (rpc_health.c). Any thread. */
mnemo_health_t *mnemo_health_create(void);
/* Sets every service SERVING or NOT_SERVING and tells the watchers. */
void mnemo_health_set_serving(mnemo_health_t *health, bool serving);
/* NOT_SERVING for good (Watch streams hear it and stay open). */
void mnemo_health_drain(mnemo_health_t *health);
/* Drains, then ends every Watch stream (UNAVAILABLE). */
void mnemo_health_shutdown(mnemo_health_t *health);
/* Every Watch call must have closed (the server drained) first. */
void mnemo_health_destroy(mnemo_health_t *health);

/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t mnemo_now_ms(void);

/* Validation helpers: each returns MNEMO_OK or MNEMO_EINVAL with a message
 * naming `field` and the limit. */

/* A limit or page size: 0 -> def, negative or above max -> MNEMO_EINVAL. */
mnemo_status_t mnemo_rpc_check_count(size_t *out, int32_t value, const char *field, size_t def,
                                     size_t max, mnemo_err_t *err);

/* Valid UTF-8, at most max bytes, and non-empty unless allow_empty. */
mnemo_status_t mnemo_rpc_check_text(const char *s, const char *field, size_t max, bool allow_empty,
                                    mnemo_err_t *err);

/* The paging fields every list request has: page_size (0 -> the default
 * page size, at most max_limit) into *page_size on success only, and
 * page_token (at most MNEMO_PAGETOKEN_MAX_LEN, valid UTF-8; whether it was
 * issued is the domain's check). */
mnemo_status_t mnemo_rpc_check_page(size_t *page_size, int32_t page_size_field,
                                    const char *page_token, const mnemo_limits_t *limits,
                                    mnemo_err_t *err);

/* A list of tags: at most limits->max_tags, each non-empty valid UTF-8 of at
 * most limits->max_tag_bytes, named field[i]. */
mnemo_status_t mnemo_rpc_check_tags(char *const *tags, size_t n, const char *field,
                                    const mnemo_limits_t *limits, mnemo_err_t *err);

/* Request validation: what a handler checks before its one domain call,
 * one function per request that has field limits (rpc_memory.c,
 * rpc_repo.c), so that tests/fuzz/fuzz_request.c runs exactly the
 * handlers' checks. Each returns MNEMO_OK or MNEMO_EINVAL naming the first
 * bad field; a count (first argument) gets its resolved value (0 -> the
 * default) on success only. The other requests have no limit to check
 * here: the code index checks their repository names itself
 * (mnemo_codeindex_check_name). */
mnemo_status_t mnemo_rpc_check_store_memory(const Mnemo__V1__StoreMemoryRequest *req,
                                            const mnemo_limits_t *lim, mnemo_err_t *err);
mnemo_status_t mnemo_rpc_check_get_memory(const Mnemo__V1__GetMemoryRequest *req, mnemo_err_t *err);
mnemo_status_t mnemo_rpc_check_delete_memory(const Mnemo__V1__DeleteMemoryRequest *req,
                                             mnemo_err_t *err);
mnemo_status_t mnemo_rpc_check_list_memories(size_t *page_size,
                                             const Mnemo__V1__ListMemoriesRequest *req,
                                             const mnemo_limits_t *lim, mnemo_err_t *err);
mnemo_status_t mnemo_rpc_check_retrieve_memory(size_t *limit,
                                               const Mnemo__V1__RetrieveMemoryRequest *req,
                                               const mnemo_limits_t *lim, mnemo_err_t *err);
mnemo_status_t mnemo_rpc_check_search_by_tag(size_t *limit,
                                             const Mnemo__V1__SearchByTagRequest *req,
                                             const mnemo_limits_t *lim, mnemo_err_t *err);
/* batch_size: 0 stays 0 (the code index fills in its default). */
mnemo_status_t mnemo_rpc_check_sync_repository(size_t *batch_size,
                                               const Mnemo__V1__SyncRepositoryRequest *req,
                                               mnemo_err_t *err);
mnemo_status_t mnemo_rpc_check_list_repositories(size_t *page_size,
                                                 const Mnemo__V1__ListRepositoriesRequest *req,
                                                 const mnemo_limits_t *lim, mnemo_err_t *err);
mnemo_status_t mnemo_rpc_check_search_code(size_t *limit, const Mnemo__V1__SearchCodeRequest *req,
                                           const mnemo_limits_t *lim, mnemo_err_t *err);

/* Ends call with st and err's message (the status text when it has none).
 * A failed store write has already turned health NOT_SERVING (server.c). */
void mnemo_rpc_fail(mnemo_call_t *call, mnemo_status_t st, const mnemo_err_t *err);

#endif
