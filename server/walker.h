/* walker.h - lists the files of a repository that a sync may read, and
 * reads one of them safely.
 *
 * DESIGN: the walk runs first and whole, so a sync knows its total before
 * it processes a file (percentage never goes backwards). It descends from
 * the canonical root with openat/fdopendir on directory descriptors, never
 * following a symlink, and never entering `.git`, an excluded directory
 * (the server's data dir: opening its LevelDB LOCK would drop the lock) or
 * a .gitignored path (root and nested .gitignore files and
 * .git/info/exclude, see ignore.h). It lists regular files only, sorted by
 * path (bytewise) so batches and resumption are deterministic. What it
 * passes over is reported with a reason: symlinks, FIFOs, sockets and
 * devices ("not a regular file"), names that are not valid UTF-8 (path
 * shown with invalid bytes as \xNN), files over the size cap, ignored paths
 * and unreadable directories. The .git directory and ignored entries are
 * reported once, not per file below them.
 *
 * Reading opens the file relative to the root without following any
 * symlink in any component (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS,
 * or per-component O_NOFOLLOW where openat2 is missing) and O_NONBLOCK,
 * then checks with fstat that it is still a regular file, so a file swapped
 * for a FIFO or a symlink after the walk is never read or waited on. A NUL
 * byte anywhere makes it binary; text that is not valid UTF-8 is skipped
 * too (everything indexed leaves the server as protobuf strings).
 *
 * Threads: a walk and its result belong to one thread; different walks run
 * in parallel.
 */
#ifndef MNEMO_WALKER_H
#define MNEMO_WALKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mnemo/status.h"

typedef struct mnemo_walk_file {
    char *path;       /* relative to the root, '/'-separated, valid UTF-8 */
    uint64_t size;    /* from lstat at walk time */
    int64_t mtime_ns; /* from lstat at walk time */
} mnemo_walk_file_t;

typedef struct mnemo_walk_skip {
    char *path;         /* relative, valid UTF-8 (invalid bytes escaped) */
    const char *reason; /* static text: "symlink", "not a regular file", ... */
} mnemo_walk_skip_t;

typedef struct mnemo_walk_result {
    mnemo_walk_file_t *files; /* sorted by path */
    size_t n_files;
    mnemo_walk_skip_t *skips;
    size_t n_skips;
} mnemo_walk_result_t;

typedef struct mnemo_walk_options {
    uint64_t max_file_bytes;         /* larger files are skipped ("too large") */
    const char *const *exclude_dirs; /* canonical absolute paths never entered */
    size_t n_exclude_dirs;
    const atomic_bool *cancel; /* polled per directory; may be NULL */
} mnemo_walk_options_t;

/* Walks root (a canonical absolute directory path). *out is the caller's
 * (mnemo_walk_result_cleanup). MNEMO_EINVAL when root is not a directory,
 * MNEMO_ECANCELLED when *opts->cancel turned true, MNEMO_EIO when root cannot
 * be opened. Unreadable subdirectories are skips, not errors. */
mnemo_status_t mnemo_walk(mnemo_walk_result_t *out, const char *root,
                          const mnemo_walk_options_t *opts, mnemo_err_t *err);

void mnemo_walk_result_cleanup(mnemo_walk_result_t *res);

/* Reads root/relpath as described above into *data (the caller's, free();
 * NUL-terminated, not counted in *len). On a file that must be skipped
 * returns MNEMO_EPRECOND with *reason set ("binary", "not valid UTF-8",
 * "too large", "not a regular file", "symlink"); on an unreadable one MNEMO_EIO with err set.
 * *size and *mtime_ns are those of the file read (fstat). */
mnemo_status_t mnemo_walk_read_file(char **data, size_t *len, uint64_t *size, int64_t *mtime_ns,
                                    const char **reason, const char *root, const char *relpath,
                                    uint64_t max_file_bytes, mnemo_err_t *err);

#endif
