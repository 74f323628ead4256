/* repos.h - the code index: repositories, their file manifests and chunks,
 * and ranked code search. The persistent half of repository sync (the job
 * threads live in sync.c).
 *
 * DESIGN: layout in the store (name = repository name, valid UTF-8 without
 * NUL or '/'; path = file path relative to the repository root):
 *   'R' name                  -> repository record: canonical path, counts,
 *                                and the last sync status (state, progress,
 *                                times, error, background)
 *   'F' name '\0' path        -> manifest entry: size, mtime_ns, SHA-256 of
 *                                the content, number of chunks
 *   'K' doc_id                -> chunk: name, path, start/end line, content
 *   'C'...                    -> BM25 index of chunk contents (index.h)
 *   'S' "token-key"           -> 32 random bytes that sign ListRepositories
 *                                page tokens (pagetoken.h; made on first open)
 * doc_id (24 bytes) = SHA-256(name)[0..8) ++ SHA-256(name '\0' path)[0..12)
 * ++ be32(chunk number), so a repository filter needs no record lookup and
 * a file's chunk ids follow from its manifest entry.
 *
 * A sync builds one mnemo_repos_batch_t per batch of files: replacing or
 * removing files and the progress checkpoint are recorded into it, and
 * mnemo_repos_commit writes it as ONE atomic store write, so after a crash
 * every file is either wholly old or wholly new and the manifest matches
 * the chunks. Only one sync per repository runs at a time (sync.c), so the
 * manifest of a repository has a single writer.
 *
 * Threads: any; the caller holds the code index lock (codeindex.h, the
 * only caller besides the sync jobs it runs): the read side for reads, the
 * write side around mnemo_repos_commit and mnemo_repos_delete.
 */
#ifndef MNEMO_REPOS_H
#define MNEMO_REPOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunker.h"
#include "mnemo/status.h"
#include "store.h"

#define MNEMO_REPO_NAME_MAX 128

typedef enum mnemo_sync_state {
    MNEMO_SYNC_UNSPECIFIED = 0,
    MNEMO_SYNC_PENDING = 1,
    MNEMO_SYNC_RUNNING = 2,
    MNEMO_SYNC_COMPLETED = 3,
    MNEMO_SYNC_CANCELLED = 4,
    MNEMO_SYNC_FAILED = 5,
    MNEMO_SYNC_INTERRUPTED = 6,
} mnemo_sync_state_t; /* values equal mnemo.v1.SyncState */

typedef struct mnemo_sync_progress {
    int64_t total_files;
    int64_t processed_files;
    int64_t unchanged_files;
    int64_t skipped_files;
    int64_t failed_files;
    int64_t deleted_files;
    int64_t chunks_written;
    int64_t bytes_processed;
    int64_t batches_committed;
    double percentage;
    int64_t paced_ms; /* paused for interactive requests (pace.h) */
} mnemo_sync_progress_t;

typedef struct mnemo_sync_status {
    char name[MNEMO_REPO_NAME_MAX + 1];
    char *path; /* owned */
    mnemo_sync_state_t state;
    mnemo_sync_progress_t progress;
    int64_t started_at_ms;
    int64_t finished_at_ms;
    char *error; /* owned, NULL when none */
    bool background;
} mnemo_sync_status_t;

typedef struct mnemo_repo_info {
    char name[MNEMO_REPO_NAME_MAX + 1];
    char *path;
    int64_t file_count;
    int64_t chunk_count;
    int64_t last_synced_at_ms;
    mnemo_sync_state_t last_state;
} mnemo_repo_info_t;

typedef struct mnemo_manifest_entry {
    char *path;
    uint64_t size;
    int64_t mtime_ns;
    uint8_t sha256[32];
    uint32_t n_chunks;
} mnemo_manifest_entry_t;

typedef struct mnemo_manifest {
    mnemo_manifest_entry_t *entries; /* sorted by path */
    size_t count;
} mnemo_manifest_t;

typedef struct mnemo_code_hit {
    char name[MNEMO_REPO_NAME_MAX + 1];
    char *path;
    uint32_t start_line;
    uint32_t end_line;
    char *content;
    double score;
} mnemo_code_hit_t;

typedef struct mnemo_repos mnemo_repos_t;
typedef struct mnemo_repos_batch mnemo_repos_batch_t;

/* Opens the code index on store. Every repository whose persisted state is
 * PENDING or RUNNING (the process died during its sync) becomes INTERRUPTED. */
mnemo_status_t mnemo_repos_open(mnemo_repos_t **out, mnemo_store_t *store, mnemo_err_t *err);
void mnemo_repos_close(mnemo_repos_t *repos);

/* The last persisted status of name; MNEMO_ENOTFOUND if never synced. *out
 * is the caller's (mnemo_sync_status_cleanup). */
mnemo_status_t mnemo_repos_get_status(mnemo_repos_t *repos, mnemo_sync_status_t *out,
                                      const char *name, mnemo_err_t *err);

/* The manifest of name (empty when never synced); the caller's
 * (mnemo_manifest_cleanup). */
mnemo_status_t mnemo_repos_load_manifest(mnemo_repos_t *repos, mnemo_manifest_t *out,
                                         const char *name, mnemo_err_t *err);

/* Batches: record, then commit atomically. */
mnemo_repos_batch_t *mnemo_repos_batch_create(mnemo_repos_t *repos, const char *name);
/* Replaces the file's chunks (old = its previous manifest entry or NULL)
 * with the chunks of text; records the new manifest entry. */
mnemo_status_t mnemo_repos_batch_put_file(mnemo_repos_batch_t *b, const mnemo_manifest_entry_t *old,
                                          const char *path, uint64_t size, int64_t mtime_ns,
                                          const uint8_t sha256[32], const char *text, size_t len,
                                          const mnemo_chunker_options_t *chunking,
                                          size_t *chunks_written, mnemo_err_t *err);
/* Updates only the manifest's size and mtime of an unchanged file. */
void mnemo_repos_batch_touch_file(mnemo_repos_batch_t *b, const mnemo_manifest_entry_t *old,
                                  uint64_t size, int64_t mtime_ns);
/* Removes a file's chunks and manifest entry. */
mnemo_status_t mnemo_repos_batch_remove_file(mnemo_repos_batch_t *b,
                                             const mnemo_manifest_entry_t *old, mnemo_err_t *err);
/* Records status (and the repository record's counts) as the checkpoint. */
void mnemo_repos_batch_set_status(mnemo_repos_batch_t *b, const mnemo_sync_status_t *status);
/* Number of store operations recorded. */
size_t mnemo_repos_batch_size(const mnemo_repos_batch_t *b);
/* Writes the batch as one atomic store write (sync=true) and clears it. */
mnemo_status_t mnemo_repos_commit(mnemo_repos_batch_t *b, mnemo_err_t *err);
void mnemo_repos_batch_destroy(mnemo_repos_batch_t *b);

/* Records the statuses that commits failed to record (a full disk), which
 * readers have been shown meanwhile. The write side of the lock. */
mnemo_status_t mnemo_repos_record_held(mnemo_repos_t *repos, mnemo_err_t *err);

/* One page of repositories by name. *out (count in *n) is the caller's
 * (mnemo_repo_infos_free); *next_token NULL on the last page. */
mnemo_status_t mnemo_repos_list(mnemo_repos_t *repos, mnemo_repo_info_t **out, size_t *n,
                                char **next_token, size_t page_size, const char *page_token,
                                mnemo_err_t *err);

/* The number of repository records (a walk of their keys only). */
mnemo_status_t mnemo_repos_count(mnemo_repos_t *repos, uint64_t *n, mnemo_err_t *err);

/* Bytes the chunks' search index holds in memory (mnemo_index_memory_bytes). */
uint64_t mnemo_repos_index_bytes(mnemo_repos_t *repos);

/* Removes every chunk, manifest entry and the record of name; *deleted is
 * false when it did not exist. Writes in several batches when large. */
mnemo_status_t mnemo_repos_delete(mnemo_repos_t *repos, bool *deleted, const char *name,
                                  mnemo_err_t *err);

/* Best `limit` chunks for query, in repository name (NULL or "": all) and
 * under path_prefix (NULL or "": all). *hits (count in *n) is the caller's
 * (mnemo_code_hits_free). */
mnemo_status_t mnemo_repos_search(mnemo_repos_t *repos, mnemo_code_hit_t **hits, size_t *n,
                                  const char *query, const char *name, const char *path_prefix,
                                  size_t limit, mnemo_err_t *err);

void mnemo_sync_status_cleanup(mnemo_sync_status_t *st);
void mnemo_manifest_cleanup(mnemo_manifest_t *m);
void mnemo_repo_infos_free(mnemo_repo_info_t *infos, size_t n);
void mnemo_code_hits_free(mnemo_code_hit_t *hits, size_t n);

/* Repair (repair.h): one repository as mnemo_repos_repair found it. */
typedef struct mnemo_repo_repair {
    char name[MNEMO_REPO_NAME_MAX + 1];
    int64_t files;          /* manifest entries found */
    int64_t files_damaged;  /* of them, dropped from the manifest: see below */
    int64_t chunks;         /* chunks the decodable manifest entries call for */
    int64_t chunks_damaged; /* of them, missing or damaged (every chunk of a
                             * file whose chunks do not reassemble to it) */
    /* Its record was gone or damaged (its path with it): every file and
     * chunk of it was removed; syncing it again by path restores it. */
    bool removed;
} mnemo_repo_repair_t;

typedef struct mnemo_repos_repair {
    mnemo_repo_repair_t *repos; /* by name; the caller's (mnemo_repos_repair_cleanup) */
    size_t n_repos;
    int64_t chunks_indexed; /* chunks the rebuilt index holds */
    int64_t stray_chunks;   /* chunks no manifest entry called for, removed */
} mnemo_repos_repair_t;

/* The consistency pass of `mnemod repair` over the code store in store,
 * which no mnemo_repos_t may have open (LevelDB's repairer has run). Every
 * file of every repository is checked: its manifest entry decodes and its
 * chunks are all there, decode, name the file, and reassemble to the bytes
 * whose SHA-256 the entry holds. A file that fails loses its entry and
 * chunks, so that the next sync (incremental or full) reads it again as a
 * new file; its repository's counts are recomputed and its status becomes
 * INTERRUPTED with an error saying so: marked for re-sync. A repository
 * whose record is gone or damaged is removed whole (its path is not known
 * any more), and chunks no manifest entry calls for are removed. The BM25
 * index ('C') is dropped and rebuilt from the chunks kept. *out is the
 * caller's (mnemo_repos_repair_cleanup), set only on success. MNEMO_EIO or
 * MNEMO_ECORRUPT when the store cannot be read or written; the store is
 * then partly repaired, and running the pass again is safe. */
mnemo_status_t mnemo_repos_repair(mnemo_repos_repair_t *out, mnemo_store_t *store,
                                  mnemo_err_t *err);
void mnemo_repos_repair_cleanup(mnemo_repos_repair_t *r);

#endif
