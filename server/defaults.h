/* defaults.h - mnemo's request limits, each defined once.
 *
 * DESIGN: config.c starts mnemo_limits_t from these and the rpc layer
 * validates requests against that struct; memories.c and repos.c apply the
 * same defaults when a caller passes 0. Plain constants, so the domain may
 * include this header (no gRPC, no config.h). Not <limits.h>: that name
 * would shadow the system header for every file of server/.
 */
#ifndef MNEMO_DEFAULTS_H
#define MNEMO_DEFAULTS_H

/* Results of a retrieval, tag search or code search that sets no limit. */
#define MNEMO_DEFAULT_LIMIT 10
/* Items of a list page (memories, repositories) that sets no page size. */
#define MNEMO_DEFAULT_PAGE_SIZE 50
/* The largest limit or page size a request may ask for. */
#define MNEMO_MAX_LIMIT 1000

/* Memory fields. Content is the only configurable one (--max-content-bytes). */
#define MNEMO_DEFAULT_MAX_CONTENT_BYTES (1u << 20)
#define MNEMO_MAX_TAGS                  64  /* per memory, and per request filter */
#define MNEMO_MAX_TAG_BYTES             128 /* a tag, and memory_type */
#define MNEMO_MAX_METADATA              64  /* entries per memory */
#define MNEMO_MAX_META_KEY_BYTES        128
#define MNEMO_MAX_META_VALUE_BYTES      4096
#define MNEMO_MAX_QUERY_BYTES           4096 /* a retrieval or code search query */

#endif
