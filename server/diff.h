/* diff.h - what a sync must do: the walk of a repository compared with its
 * stored manifest.
 *
 * DESIGN: both lists are sorted by path (bytewise), so one merge pass
 * classifies every path: in the walk only (added), in the manifest only
 * (deleted), in both with the same size and mtime (unchanged: not even read)
 * or with a different one (changed: read, then confirmed by content hash).
 * full=true treats every file present in both as changed. Pure and
 * thread-safe.
 */
#ifndef MNEMO_DIFF_H
#define MNEMO_DIFF_H

#include <stdbool.h>

#include "repos.h"
#include "walker.h"

typedef enum mnemo_diff_kind {
    MNEMO_DIFF_ADDED,
    MNEMO_DIFF_CHANGED,
    MNEMO_DIFF_UNCHANGED,
    MNEMO_DIFF_DELETED,
} mnemo_diff_kind_t;

typedef struct mnemo_diff_item {
    mnemo_diff_kind_t kind;
    const mnemo_walk_file_t *file;     /* NULL when deleted */
    const mnemo_manifest_entry_t *old; /* NULL when added */
} mnemo_diff_item_t;

/* Returns false to stop the diff early. */
typedef bool (*mnemo_diff_fn)(void *ctx, const mnemo_diff_item_t *item);

/* Calls fn once per path of walk and manifest, in path order. Returns false
 * when fn stopped it. */
bool mnemo_diff(const mnemo_walk_result_t *walk, const mnemo_manifest_t *manifest, bool full,
                mnemo_diff_fn fn, void *ctx);

#endif
