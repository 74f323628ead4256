/* rpc_memory.c - mnemo.v1.MemoryService: decode -> validate -> execute ->
 * encode -> reply, one handler per RPC.
 *
 * DESIGN: requests arrive decoded (call.c); each handler validates every
 * field against the configured limits (messages name the field), calls the
 * memory store and answers. Memories live in their own store, apart from
 * the code index: no lock or LevelDB writer queue of a running sync is on
 * their path (see rpc.h). The reply byte budget (--max-reply-bytes) is
 * the memory store's (max_result_bytes, memories.h): it ends pages early
 * and cuts rankings, which set truncated. Responses
 * point into the domain objects (no string copies); they are packed by
 * mnemo_call_reply before the domain objects are freed.
 *
 * Threads: handlers run on CQ threads, concurrently.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnemo/v1/memory.pb-c.h"
#include "bytes.h"
#include "rpc.h"

/* A Memory message pointing into a domain memory, with its map entries. */
typedef struct pb_memory {
    Mnemo__V1__Memory msg;
    Mnemo__V1__Memory__MetadataEntry *entries;
    Mnemo__V1__Memory__MetadataEntry **ptrs;
} pb_memory_t;

static void pb_memory_init(pb_memory_t *pb, const mnemo_memory_t *m)
{
    mnemo__v1__memory__init(&pb->msg);
    pb->msg.id = (char *)m->id;
    pb->msg.content = m->content;
    pb->msg.tags = m->tags;
    pb->msg.n_tags = m->n_tags;
    pb->msg.memory_type = m->memory_type != NULL ? m->memory_type : "";
    pb->msg.created_at_ms = m->created_at_ms;
    pb->msg.updated_at_ms = m->updated_at_ms;
    pb->entries = mnemo_xcalloc(m->n_metadata, sizeof *pb->entries);
    pb->ptrs = mnemo_xcalloc(m->n_metadata, sizeof *pb->ptrs);
    for (size_t i = 0; i < m->n_metadata; i++) {
        mnemo__v1__memory__metadata_entry__init(&pb->entries[i]);
        pb->entries[i].key = m->metadata[i].key;
        pb->entries[i].value = m->metadata[i].value;
        pb->ptrs[i] = &pb->entries[i];
    }
    pb->msg.metadata = pb->ptrs;
    pb->msg.n_metadata = m->n_metadata;
}

static void pb_memory_cleanup(pb_memory_t *pb)
{
    free(pb->entries);
    free(pb->ptrs);
}

/* The Memory messages of a domain list, and pointers to them. */
typedef struct pb_list {
    pb_memory_t *items;
    Mnemo__V1__Memory **ptrs;
    size_t count;
} pb_list_t;

static void pb_list_init(pb_list_t *pl, const mnemo_memory_list_t *list)
{
    pl->count = list->count;
    pl->items = mnemo_xcalloc(list->count, sizeof *pl->items);
    pl->ptrs = mnemo_xcalloc(list->count, sizeof *pl->ptrs);
    for (size_t i = 0; i < list->count; i++) {
        pb_memory_init(&pl->items[i], list->items[i]);
        pl->ptrs[i] = &pl->items[i].msg;
    }
}

static void pb_list_cleanup(pb_list_t *pl)
{
    for (size_t i = 0; i < pl->count; i++)
        pb_memory_cleanup(&pl->items[i]);
    free(pl->items);
    free(pl->ptrs);
}

/* Metadata is a map: on the wire a key may repeat, and the last one wins. */
static size_t dedupe_metadata(const Mnemo__V1__StoreMemoryRequest *req, const char **keys,
                              const char **values)
{
    size_t n = 0;
    for (size_t i = 0; i < req->n_metadata; i++) {
        const Mnemo__V1__StoreMemoryRequest__MetadataEntry *e = req->metadata[i];
        size_t j = 0;
        while (j < n && strcmp(keys[j], e->key) != 0)
            j++;
        keys[j] = e->key;
        values[j] = e->value;
        n += j == n;
    }
    return n;
}

static mnemo_status_t check_metadata(const Mnemo__V1__StoreMemoryRequest *req,
                                     const mnemo_limits_t *lim, mnemo_err_t *err)
{
    if (req->n_metadata > lim->max_metadata)
        return mnemo_err_set(err, MNEMO_EINVAL, "metadata: %zu entries is over the limit of %zu",
                             req->n_metadata, lim->max_metadata);
    for (size_t i = 0; i < req->n_metadata; i++) {
        char field[64];
        snprintf(field, sizeof field, "metadata[%zu].key", i);
        mnemo_status_t st =
            mnemo_rpc_check_text(req->metadata[i]->key, field, lim->max_meta_key_bytes, false, err);
        if (st != MNEMO_OK)
            return st;
        snprintf(field, sizeof field, "metadata[%zu].value", i);
        st = mnemo_rpc_check_text(req->metadata[i]->value, field, lim->max_meta_value_bytes, true,
                                  err);
        if (st != MNEMO_OK)
            return st;
    }
    return MNEMO_OK;
}

mnemo_status_t mnemo_rpc_check_store_memory(const Mnemo__V1__StoreMemoryRequest *req,
                                            const mnemo_limits_t *lim, mnemo_err_t *err)
{
    mnemo_status_t st =
        mnemo_rpc_check_text(req->content, "content", lim->max_content_bytes, false, err);
    if (st == MNEMO_OK)
        st = mnemo_rpc_check_tags(req->tags, req->n_tags, "tags", lim, err);
    if (st == MNEMO_OK)
        st = check_metadata(req, lim, err);
    if (st == MNEMO_OK)
        st = mnemo_rpc_check_text(req->memory_type, "memory_type", lim->max_tag_bytes, true, err);
    return st;
}

static void reply_memory(mnemo_call_t *call, const mnemo_memory_t *m)
{
    pb_memory_t pb;
    pb_memory_init(&pb, m);
    mnemo_call_reply(call, &pb.msg.base);
    pb_memory_cleanup(&pb);
}

static void store_memory(mnemo_call_t *call, const ProtobufCMessage *msg, void *ctx)
{
    mnemo_app_t *app = ctx;
    const Mnemo__V1__StoreMemoryRequest *req = (const Mnemo__V1__StoreMemoryRequest *)msg;
    mnemo_err_t err;
    mnemo_status_t st = mnemo_rpc_check_store_memory(req, &app->cfg->limits, &err);
    if (st != MNEMO_OK) {
        mnemo_rpc_fail(call, st, &err);
        return;
    }

    const char **keys = mnemo_xcalloc(req->n_metadata, sizeof *keys);
    const char **values = mnemo_xcalloc(req->n_metadata, sizeof *values);
    mnemo_memory_input_t in = {
        .content = req->content,
        .content_len = strlen(req->content),
        .tags = (const char *const *)req->tags,
        .n_tags = req->n_tags,
        .meta_keys = keys,
        .meta_values = values,
        .n_metadata = dedupe_metadata(req, keys, values),
        .memory_type = req->memory_type,
    };
    mnemo_memory_t *m = NULL;
    bool created = false;
    st = mnemo_memories_put(app->memories, &m, &created, &in, mnemo_now_ms(), &err);
    free(keys);
    free(values);
    if (st != MNEMO_OK) {
        mnemo_rpc_fail(call, st, &err);
        return;
    }

    pb_memory_t pb;
    pb_memory_init(&pb, m);
    Mnemo__V1__StoreMemoryResponse resp = MNEMO__V1__STORE_MEMORY_RESPONSE__INIT;
    resp.memory = &pb.msg;
    resp.created = created;
    mnemo_call_reply(call, &resp.base);
    pb_memory_cleanup(&pb);
    mnemo_memory_destroy(m);
}

mnemo_status_t mnemo_rpc_check_get_memory(const Mnemo__V1__GetMemoryRequest *req, mnemo_err_t *err)
{
    return mnemo_rpc_check_text(req->id, "id", MNEMO_MEMORY_ID_LEN, false, err);
}

static void get_memory(mnemo_call_t *call, const ProtobufCMessage *msg, void *ctx)
{
    mnemo_app_t *app = ctx;
    const Mnemo__V1__GetMemoryRequest *req = (const Mnemo__V1__GetMemoryRequest *)msg;
    mnemo_err_t err;
    mnemo_memory_t *m = NULL;
    mnemo_status_t st = mnemo_rpc_check_get_memory(req, &err);
    if (st == MNEMO_OK) {
        st = mnemo_memories_get(app->memories, &m, req->id, &err);
    }
    if (st != MNEMO_OK) {
        mnemo_rpc_fail(call, st, &err);
        return;
    }
    reply_memory(call, m);
    mnemo_memory_destroy(m);
}

mnemo_status_t mnemo_rpc_check_delete_memory(const Mnemo__V1__DeleteMemoryRequest *req,
                                             mnemo_err_t *err)
{
    return mnemo_rpc_check_text(req->id, "id", MNEMO_MEMORY_ID_LEN, false, err);
}

static void delete_memory(mnemo_call_t *call, const ProtobufCMessage *msg, void *ctx)
{
    mnemo_app_t *app = ctx;
    const Mnemo__V1__DeleteMemoryRequest *req = (const Mnemo__V1__DeleteMemoryRequest *)msg;
    mnemo_err_t err;
    bool deleted = false;
    mnemo_status_t st = mnemo_rpc_check_delete_memory(req, &err);
    if (st == MNEMO_OK) {
        st = mnemo_memories_delete(app->memories, &deleted, req->id, &err);
    }
    if (st != MNEMO_OK) {
        mnemo_rpc_fail(call, st, &err);
        return;
    }
    Mnemo__V1__DeleteMemoryResponse resp = MNEMO__V1__DELETE_MEMORY_RESPONSE__INIT;
    resp.deleted = deleted;
    mnemo_call_reply(call, &resp.base);
}

mnemo_status_t mnemo_rpc_check_list_memories(size_t *page_size,
                                             const Mnemo__V1__ListMemoriesRequest *req,
                                             const mnemo_limits_t *lim, mnemo_err_t *err)
{
    size_t n = 0;
    mnemo_status_t st = mnemo_rpc_check_page(&n, req->page_size, req->page_token, lim, err);
    if (st == MNEMO_OK)
        st = mnemo_rpc_check_tags(req->tags, req->n_tags, "tags", lim, err);
    if (st == MNEMO_OK)
        *page_size = n;
    return st;
}

static void list_memories(mnemo_call_t *call, const ProtobufCMessage *msg, void *ctx)
{
    mnemo_app_t *app = ctx;
    const mnemo_limits_t *lim = &app->cfg->limits;
    const Mnemo__V1__ListMemoriesRequest *req = (const Mnemo__V1__ListMemoriesRequest *)msg;
    mnemo_err_t err;
    size_t page_size = 0;
    mnemo_memory_list_t list = {0};
    mnemo_status_t st = mnemo_rpc_check_list_memories(&page_size, req, lim, &err);
    if (st == MNEMO_OK) {
        st = mnemo_memories_list(app->memories, &list, page_size, req->page_token,
                                 (const char *const *)req->tags, req->n_tags, &err);
    }
    if (st != MNEMO_OK) {
        mnemo_rpc_fail(call, st, &err);
        return;
    }

    pb_list_t pl;
    pb_list_init(&pl, &list);
    Mnemo__V1__ListMemoriesResponse resp = MNEMO__V1__LIST_MEMORIES_RESPONSE__INIT;
    resp.memories = pl.ptrs;
    resp.n_memories = pl.count;
    resp.next_page_token = list.next_page_token != NULL ? list.next_page_token : "";
    mnemo_call_reply(call, &resp.base);
    pb_list_cleanup(&pl);
    mnemo_memory_list_cleanup(&list);
}

mnemo_status_t mnemo_rpc_check_retrieve_memory(size_t *limit,
                                               const Mnemo__V1__RetrieveMemoryRequest *req,
                                               const mnemo_limits_t *lim, mnemo_err_t *err)
{
    size_t n = 0;
    mnemo_status_t st = mnemo_rpc_check_text(req->query, "query", lim->max_query_bytes, false, err);
    if (st == MNEMO_OK)
        st =
            mnemo_rpc_check_count(&n, req->limit, "limit", lim->default_limit, lim->max_limit, err);
    if (st == MNEMO_OK)
        st = mnemo_rpc_check_tags(req->tags, req->n_tags, "tags", lim, err);
    if (st == MNEMO_OK && !isfinite(req->min_score))
        st = mnemo_err_set(err, MNEMO_EINVAL, "min_score: must be a finite number");
    if (st == MNEMO_OK)
        *limit = n;
    return st;
}

static void retrieve_memory(mnemo_call_t *call, const ProtobufCMessage *msg, void *ctx)
{
    mnemo_app_t *app = ctx;
    const Mnemo__V1__RetrieveMemoryRequest *req = (const Mnemo__V1__RetrieveMemoryRequest *)msg;
    mnemo_err_t err;
    size_t limit = 0;
    mnemo_memory_list_t list = {0};
    mnemo_status_t st = mnemo_rpc_check_retrieve_memory(&limit, req, &app->cfg->limits, &err);
    if (st == MNEMO_OK) {
        st = mnemo_memories_retrieve(app->memories, &list, req->query, strlen(req->query), limit,
                                     (const char *const *)req->tags, req->n_tags, req->min_score,
                                     &err);
    }
    if (st != MNEMO_OK) {
        mnemo_rpc_fail(call, st, &err);
        return;
    }

    pb_list_t pl;
    pb_list_init(&pl, &list);
    Mnemo__V1__ScoredMemory *scored = mnemo_xcalloc(list.count, sizeof *scored);
    Mnemo__V1__ScoredMemory **ptrs = mnemo_xcalloc(list.count, sizeof *ptrs);
    for (size_t i = 0; i < list.count; i++) {
        mnemo__v1__scored_memory__init(&scored[i]);
        scored[i].memory = pl.ptrs[i];
        scored[i].score = list.scores != NULL ? list.scores[i] : 0.0;
        ptrs[i] = &scored[i];
    }
    Mnemo__V1__RetrieveMemoryResponse resp = MNEMO__V1__RETRIEVE_MEMORY_RESPONSE__INIT;
    resp.results = ptrs;
    resp.n_results = list.count;
    resp.truncated = list.truncated;
    mnemo_call_reply(call, &resp.base);
    free(ptrs);
    free(scored);
    pb_list_cleanup(&pl);
    mnemo_memory_list_cleanup(&list);
}

mnemo_status_t mnemo_rpc_check_search_by_tag(size_t *limit,
                                             const Mnemo__V1__SearchByTagRequest *req,
                                             const mnemo_limits_t *lim, mnemo_err_t *err)
{
    size_t n = 0;
    mnemo_status_t st = mnemo_rpc_check_tags(req->tags, req->n_tags, "tags", lim, err);
    if (st == MNEMO_OK && req->n_tags == 0)
        st = mnemo_err_set(err, MNEMO_EINVAL, "tags: at least one tag is required");
    if (st == MNEMO_OK)
        st =
            mnemo_rpc_check_count(&n, req->limit, "limit", lim->default_limit, lim->max_limit, err);
    if (st == MNEMO_OK)
        *limit = n;
    return st;
}

static void search_by_tag(mnemo_call_t *call, const ProtobufCMessage *msg, void *ctx)
{
    mnemo_app_t *app = ctx;
    const mnemo_limits_t *lim = &app->cfg->limits;
    const Mnemo__V1__SearchByTagRequest *req = (const Mnemo__V1__SearchByTagRequest *)msg;
    mnemo_err_t err;
    size_t limit = 0;
    mnemo_memory_list_t list = {0};
    mnemo_status_t st = mnemo_rpc_check_search_by_tag(&limit, req, lim, &err);
    if (st == MNEMO_OK) {
        st = mnemo_memories_by_tag(app->memories, &list, (const char *const *)req->tags,
                                   req->n_tags, req->match_all, limit, &err);
    }
    if (st != MNEMO_OK) {
        mnemo_rpc_fail(call, st, &err);
        return;
    }

    pb_list_t pl;
    pb_list_init(&pl, &list);
    Mnemo__V1__SearchByTagResponse resp = MNEMO__V1__SEARCH_BY_TAG_RESPONSE__INIT;
    resp.memories = pl.ptrs;
    resp.n_memories = pl.count;
    resp.truncated = list.truncated;
    mnemo_call_reply(call, &resp.base);
    pb_list_cleanup(&pl);
    mnemo_memory_list_cleanup(&list);
}

/* Every memory RPC is interactive: a sync paces itself while they arrive.
 * need: the role a caller must have (auth.h). */
#define MEMORY_METHOD(method, fn, need)                                                            \
    {                                                                                              \
        .service = &mnemo__v1__memory_service__descriptor, .name = method, .handler = fn,          \
        .interactive = true, .role = need                                                          \
    }

const mnemo_method_t mnemo_rpc_memory_methods[] = {
    MEMORY_METHOD("StoreMemory", store_memory, MNEMO_ROLE_WRITE),
    MEMORY_METHOD("GetMemory", get_memory, MNEMO_ROLE_READ),
    MEMORY_METHOD("DeleteMemory", delete_memory, MNEMO_ROLE_WRITE),
    MEMORY_METHOD("ListMemories", list_memories, MNEMO_ROLE_READ),
    MEMORY_METHOD("RetrieveMemory", retrieve_memory, MNEMO_ROLE_READ),
    MEMORY_METHOD("SearchByTag", search_by_tag, MNEMO_ROLE_READ),
    {.name = NULL},
};
