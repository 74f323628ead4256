/* fts5.h - the SQLite FTS5 baseline: the same memories and the same code
 * chunks in SQLite, configured the way memory servers built on it are.
 *
 * DESIGN: one database file per use, opened with journal_mode=WAL and
 * synchronous=FULL (every commit fsyncs the WAL: the durable setting; WAL is
 * the faster of SQLite's durable modes, so the baseline gets its best case).
 *   memories(rowid, id TEXT UNIQUE, content, created_at) + an external-content
 *   FTS5 table memories_fts(content) kept in step by an AFTER INSERT trigger
 *   (the pattern of the SQLite documentation and of most memory servers);
 *   id = hex SHA-256 of the content, and a repeated content is a no-op, as in
 *   mnemo.
 *   files(path PRIMARY KEY, size, mtime_ns, n_chunks) + chunks, an FTS5
 *   table (path, start_line, end_line UNINDEXED; content indexed), filled
 *   with mnemo's own walker, text checks and chunker (same files, same
 *   chunks), one transaction per batch of files (mnemo's batch size).
 * Queries: each whitespace-separated query word becomes an FTS5 string
 * ("word", so an identifier is a phrase of its parts), OR-ed; top `limit`
 * by bm25 (ORDER BY rank), reading every returned column so the cost of
 * producing results is counted as in mnemo, which returns whole documents.
 *
 * Built only when SQLite is found (MNEMO_BENCH_SQLITE); otherwise every
 * function fails and bench_fts_available() is false.
 *
 * Threads: one database handle per thread.
 */
#ifndef MNEMO_BENCH_FTS5_H
#define MNEMO_BENCH_FTS5_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bench_fts bench_fts_t;

typedef struct bench_fts_code_stats {
    uint64_t bytes;  /* bytes of the files indexed */
    uint64_t files;  /* files indexed */
    uint64_t chunks; /* chunks inserted */
} bench_fts_code_stats_t;

bool bench_fts_available(void);

/* Opens (creating) the memories database at path. 0 or -1. */
int bench_fts_mem_open(bench_fts_t **out, const char *path);
/* Inserts one memory in its own durable transaction. 0 or -1. */
int bench_fts_mem_insert(bench_fts_t *db, const char *content);
/* Inserts every entry in one transaction (set-up, not timed). 0 or -1. */
int bench_fts_mem_load(bench_fts_t *db, char *const *entries, size_t n);
/* Runs query; *n_hits gets the number of rows. 0 or -1. */
int bench_fts_mem_query(bench_fts_t *db, const char *query, int limit, int *n_hits);

/* Opens (creating) the code database at path. 0 or -1. */
int bench_fts_code_open(bench_fts_t **out, const char *path);
/* Indexes every text file under root (canonical) as mnemo's sync would. */
int bench_fts_code_index(bench_fts_t *db, const char *root, uint64_t max_file_bytes,
                         int batch_files, bench_fts_code_stats_t *stats);
int bench_fts_code_query(bench_fts_t *db, const char *query, int limit, int *n_hits);

void bench_fts_close(bench_fts_t *db);

#endif
