/* diff.c - walk versus manifest, in one merge pass (see diff.h). */
#include "diff.h"

#include <string.h>

static mnemo_diff_kind_t classify(const mnemo_walk_file_t *f, const mnemo_manifest_entry_t *e,
                                  bool full)
{
    if (!full && f->size == e->size && f->mtime_ns == e->mtime_ns)
        return MNEMO_DIFF_UNCHANGED;
    return MNEMO_DIFF_CHANGED;
}

bool mnemo_diff(const mnemo_walk_result_t *walk, const mnemo_manifest_t *manifest, bool full,
                mnemo_diff_fn fn, void *ctx)
{
    size_t i = 0, j = 0;
    while (i < walk->n_files || j < manifest->count) {
        int c = i == walk->n_files     ? 1
                : j == manifest->count ? -1
                                       : strcmp(walk->files[i].path, manifest->entries[j].path);
        mnemo_diff_item_t item;
        if (c < 0) {
            item = (mnemo_diff_item_t){MNEMO_DIFF_ADDED, &walk->files[i++], NULL};
        } else if (c > 0) {
            item = (mnemo_diff_item_t){MNEMO_DIFF_DELETED, NULL, &manifest->entries[j++]};
        } else {
            item = (mnemo_diff_item_t){classify(&walk->files[i], &manifest->entries[j], full),
                                       &walk->files[i], &manifest->entries[j]};
            i++, j++;
        }
        if (!fn(ctx, &item))
            return false;
    }
    return true;
}
