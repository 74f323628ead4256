/* repair.h - `mnemod repair`: brings a damaged data directory back to a
 * state mnemod starts on, and says exactly what was kept and what was lost.
 *
 * DESIGN: repair works on a stopped data dir, in two steps. First, store by
 * store (memories/, code/), the LevelDB-level repair (mnemo_store_repair:
 * checksummed log recovery, LevelDB's repairer, a compaction; it holds the
 * store's LOCK meanwhile and so refuses while a mnemod has it): it keeps
 * every record that can still be read intact and moves the files it
 * replaced or could not read into <store>/lost/. A store directory that is
 * gone (or holds no LevelDB file) is created empty instead; when the data
 * dir's marker (datadir.h) names it, everything it held is lost. Second,
 * each store's own consistency pass, which alone knows its record formats:
 * mnemo_memories_repair (memories.h: re-hash every memory, drop what is
 * damaged or contradicts its tag and time entries, rebuild the index) and
 * mnemo_repos_repair (repos.h: check every file's chunks against its
 * manifest, drop damaged files and mark their repository for re-sync,
 * rebuild the index). A page token key that no longer reads is replaced
 * (tokens issued before are refused). Last, the marker is rewritten to
 * name both stores. Nothing here reads or writes LevelDB itself.
 *
 * The result is a report (a plain struct, for tests) that
 * mnemo_repair_print writes for people: counts, the ids of lost memories,
 * the repositories marked or removed, LevelDB's own findings. It holds no
 * memory content and no credential.
 *
 * Threads: one thread, in a process that has none of the stores open
 * (mnemod's main). No gRPC.
 */
#ifndef MNEMO_REPAIR_H
#define MNEMO_REPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "memories.h"
#include "mnemo/status.h"
#include "repos.h"

/* What happened to one store's files. */
typedef struct mnemo_repair_store {
    const char *name; /* "memories" or "code" (static) */
    /* Its directory was missing or held no LevelDB file: created empty. */
    bool recreated;
    /* ...and the data dir's marker named it: everything it held is lost. */
    bool was_marked;
    char *findings; /* LevelDB's findings, one per line, or NULL (owned) */
    /* LevelDB dropped damaged parts of a log: what was written there is
     * gone, and not every memory lost with it can be counted. */
    bool log_dropped;
    /* Files this repair set aside in <store>/lost/: logs (their intact
     * records were kept), MANIFESTs (rebuilt), tables (damaged: what could
     * be read was kept), anything else. */
    size_t lost_logs, lost_manifests, lost_tables, lost_other;
    bool token_key_reset; /* its page token key did not read: a new one was made */
} mnemo_repair_store_t;

typedef struct mnemo_repair_report {
    char data_dir[4096];
    mnemo_repair_store_t memories_store;
    mnemo_repair_store_t code_store;
    mnemo_memories_repair_t memories; /* memories.h */
    mnemo_repos_repair_t code;        /* repos.h */
} mnemo_repair_report_t;

/* Repairs the data dir data_dir (see DESIGN). On success the data dir is
 * consistent, whatever was lost, and *out (the caller's,
 * mnemo_repair_report_cleanup) says what was kept and lost.
 * MNEMO_ENOTFOUND when data_dir is not a directory holding a marker or a
 * store (nothing is created in a directory given by mistake);
 * MNEMO_EUNAVAIL when a process (a running mnemod) holds a store's lock:
 * nothing was changed then; MNEMO_EIO or MNEMO_ECORRUPT when a store
 * cannot be repaired, read or written (the message names the store;
 * running repair again is safe). */
mnemo_status_t mnemo_repair_run(mnemo_repair_report_t *out, const char *data_dir, mnemo_err_t *err);

/* Writes the report for people to f: per store what LevelDB found, what
 * was kept and what was lost, and what the operator does next. */
void mnemo_repair_print(const mnemo_repair_report_t *r, FILE *f);

/* Frees what the report owns. NULL: no-op. */
void mnemo_repair_report_cleanup(mnemo_repair_report_t *r);

#endif
