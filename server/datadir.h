/* datadir.h - the data directory's marker: which stores it must hold.
 *
 * DESIGN: a LevelDB store that is missing opens as a new, empty store, so
 * a data dir that lost its memories/ directory would start serving with
 * no memories and no word of it. The data dir therefore keeps a marker
 * file, <dir>/MNEMO, written once its stores exist: a header line and one
 * "store NAME" line per store. At start, a marker that names a store
 * whose directory (with LevelDB's CURRENT file) is missing refuses the
 * start; an operator who really wants that store empty removes its line.
 * A data dir without a marker (new, or made by a mnemod before markers)
 * gets one written after its stores open.
 *
 * Threads: the marker: main thread at start only; the ballast: any. No
 * gRPC, no LevelDB.
 */
#ifndef MNEMO_DATADIR_H
#define MNEMO_DATADIR_H

#include <stdbool.h>
#include <stddef.h>

#include "mnemo/status.h"

#define MNEMO_DATADIR_MARKER "MNEMO"

/* Checks dir against its marker. *marked says whether a marker exists.
 * MNEMO_ECORRUPT naming the store and what to do when the marker names a
 * store among names[0..n) whose directory has no CURRENT file;
 * MNEMO_ECORRUPT when the marker does not parse; MNEMO_EIO when it cannot
 * be read. */
mnemo_status_t mnemo_datadir_check(bool *marked, const char *dir, const char *const *names,
                                   size_t n, mnemo_err_t *err);

/* Writes the marker naming names[0..n) (atomically: a temp file renamed
 * and fsynced). MNEMO_EIO when it cannot. */
mnemo_status_t mnemo_datadir_mark(const char *dir, const char *const *names, size_t n,
                                  mnemo_err_t *err);

/* ---- the ballast ----
 *
 * A full disk must not leave mnemod unable to recover or even restart
 * (LevelDB's open writes the log it replays into a new table). The data
 * dir keeps <dir>/ballast, a file of reserved blocks that mnemod deletes
 * when a write fails for lack of space, so the space it held is there for
 * the reopen or the restart; it is made again once the disk has room. */
#define MNEMO_DATADIR_BALLAST "ballast"

/* Bytes available to mnemod on dir's file system, and the file system's
 * size; 0 when statvfs fails. */
unsigned long long mnemo_datadir_free_bytes(const char *dir);
unsigned long long mnemo_datadir_fs_bytes(const char *dir);

/* Makes the ballast bytes long (allocated blocks, not a sparse file), or
 * removes it when bytes is 0. MNEMO_OK when it already is. MNEMO_EIO (the
 * partial file removed again) when the disk lacks the room. */
mnemo_status_t mnemo_datadir_ballast_ensure(const char *dir, unsigned long long bytes,
                                            mnemo_err_t *err);

/* Bytes of disk the ballast holds now, 0 when there is none. */
unsigned long long mnemo_datadir_ballast_bytes(const char *dir);

/* Deletes the ballast; the bytes it held, 0 when there was none. Any
 * thread (async-signal-unsafe but lock-free: unlink only). */
unsigned long long mnemo_datadir_ballast_release(const char *dir);

#endif
