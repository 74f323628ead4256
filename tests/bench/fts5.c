/* fts5.c - the SQLite FTS5 baseline (see fts5.h).
 *
 * DESIGN: prepared statements are made once per handle; every step's
 * result code is checked, and the first failure is printed with SQLite's
 * message. The code indexer mirrors sync.c's put_file: mnemo_walk lists the
 * files (regular files, no symlinks, size cap, .gitignore), the same reader
 * skips binary files, the whole text must be NUL-free UTF-8, and
 * mnemo_chunk_text with default options cuts the chunks.
 *
 * Threads: one handle per thread.
 */
#include "fts5.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#ifdef MNEMO_BENCH_SQLITE

#include <sqlite3.h>

#include "chunker.h"
#include "hash.h"
#include "utf8.h"
#include "walker.h"

struct bench_fts {
    sqlite3 *db;
    sqlite3_stmt *insert;   /* memories or chunks */
    sqlite3_stmt *insert_f; /* files (code only) */
    sqlite3_stmt *query;
};

static const char MEM_SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS memories(rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
    " content TEXT NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE VIRTUAL TABLE IF NOT EXISTS memories_fts USING fts5(content, content='memories',"
    " content_rowid='rowid');"
    "CREATE TRIGGER IF NOT EXISTS memories_ai AFTER INSERT ON memories BEGIN"
    " INSERT INTO memories_fts(rowid, content) VALUES (new.rowid, new.content); END;";

static const char MEM_INSERT[] = "INSERT INTO memories(id, content, created_at) VALUES (?1, ?2, ?3)"
                                 " ON CONFLICT(id) DO NOTHING";

static const char MEM_QUERY[] =
    "SELECT m.id, m.content, m.created_at, f.rank FROM"
    " (SELECT rowid, rank FROM memories_fts WHERE memories_fts MATCH ?1 ORDER BY rank LIMIT ?2)"
    " AS f JOIN memories AS m ON m.rowid = f.rowid ORDER BY f.rank";

static const char CODE_SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS files(path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER,"
    " n_chunks INTEGER);"
    "CREATE VIRTUAL TABLE IF NOT EXISTS chunks USING fts5(path UNINDEXED, start_line UNINDEXED,"
    " end_line UNINDEXED, content);";

static const char CODE_INSERT[] =
    "INSERT INTO chunks(path, start_line, end_line, content) VALUES (?1, ?2, ?3, ?4)";
static const char CODE_INSERT_FILE[] =
    "INSERT OR REPLACE INTO files(path, size, mtime_ns, n_chunks) VALUES (?1, ?2, ?3, ?4)";
static const char CODE_QUERY[] = "SELECT path, start_line, end_line, content, rank FROM chunks"
                                 " WHERE chunks MATCH ?1 ORDER BY rank LIMIT ?2";

bool bench_fts_available(void)
{
    return true;
}

static int fail(bench_fts_t *db, const char *what)
{
    fprintf(stderr, "fts5: %s: %s\n", what, db->db != NULL ? sqlite3_errmsg(db->db) : "no db");
    return -1;
}

static int exec(bench_fts_t *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    fprintf(stderr, "fts5: %s: %s\n", sql, msg != NULL ? msg : "?");
    sqlite3_free(msg);
    return -1;
}

static int prepare(bench_fts_t *db, sqlite3_stmt **st, const char *sql)
{
    return sqlite3_prepare_v3(db->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) == SQLITE_OK
               ? 0
               : fail(db, sql);
}

static int open_db(bench_fts_t **out, const char *path, const char *schema)
{
    bench_fts_t *db = calloc(1, sizeof *db);
    if (db == NULL)
        abort();
    if (sqlite3_open(path, &db->db) != SQLITE_OK || exec(db, "PRAGMA journal_mode=WAL") != 0 ||
        exec(db, "PRAGMA synchronous=FULL") != 0 || exec(db, schema) != 0) {
        fail(db, "open");
        bench_fts_close(db);
        return -1;
    }
    *out = db;
    return 0;
}

void bench_fts_close(bench_fts_t *db)
{
    if (db == NULL)
        return;
    sqlite3_finalize(db->insert);
    sqlite3_finalize(db->insert_f);
    sqlite3_finalize(db->query);
    sqlite3_close(db->db);
    free(db);
}

/* "w1" OR "w2" ...: each whitespace-separated word as an FTS5 string. */
static char *or_query(const char *q)
{
    size_t n = strlen(q);
    char *out = bench_xmalloc(n * 6 + 8);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        while (i < n && (q[i] == ' ' || q[i] == '\t'))
            i++;
        if (i == n)
            break;
        if (o > 0) {
            memcpy(out + o, " OR ", 4);
            o += 4;
        }
        out[o++] = '"';
        for (; i < n && q[i] != ' ' && q[i] != '\t'; i++) {
            if (q[i] == '"')
                out[o++] = '"';
            out[o++] = q[i];
        }
        out[o++] = '"';
    }
    out[o] = '\0';
    return out;
}

/* Steps a query to the end, reading every column; rows in *n_hits. */
static int run_query(bench_fts_t *db, sqlite3_stmt *st, const char *query, int limit, int *n_hits)
{
    char *q = or_query(query);
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, q, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, limit);
    free(q);
    int rc, rows = 0, cols = sqlite3_column_count(st);
    volatile size_t touched = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int c = 0; c < cols; c++) {
            if (sqlite3_column_type(st, c) == SQLITE_TEXT)
                touched += (size_t)sqlite3_column_bytes(st, c);
            else
                touched += (size_t)sqlite3_column_double(st, c);
        }
        rows++;
    }
    if (rc != SQLITE_DONE)
        return fail(db, "query");
    *n_hits = rows;
    return 0;
}

/* ---- memories ---- */

int bench_fts_mem_open(bench_fts_t **out, const char *path)
{
    bench_fts_t *db;
    if (open_db(&db, path, MEM_SCHEMA) != 0)
        return -1;
    if (prepare(db, &db->insert, MEM_INSERT) != 0 || prepare(db, &db->query, MEM_QUERY) != 0) {
        bench_fts_close(db);
        return -1;
    }
    *out = db;
    return 0;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int bench_fts_mem_insert(bench_fts_t *db, const char *content)
{
    size_t len = strlen(content);
    uint8_t sha[MNEMO_SHA256_LEN];
    char hex[MNEMO_SHA256_HEX_LEN + 1];
    mnemo_sha256(content, len, sha);
    mnemo_hex_encode(hex, sha, sizeof sha);
    sqlite3_stmt *st = db->insert;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, hex, MNEMO_SHA256_HEX_LEN, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, content, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, wall_ms());
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : fail(db, "insert");
}

int bench_fts_mem_load(bench_fts_t *db, char *const *entries, size_t n)
{
    if (exec(db, "BEGIN") != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (bench_fts_mem_insert(db, entries[i]) != 0)
            return -1;
    }
    return exec(db, "COMMIT");
}

int bench_fts_mem_query(bench_fts_t *db, const char *query, int limit, int *n_hits)
{
    return run_query(db, db->query, query, limit, n_hits);
}

/* ---- code ---- */

int bench_fts_code_open(bench_fts_t **out, const char *path)
{
    bench_fts_t *db;
    if (open_db(&db, path, CODE_SCHEMA) != 0)
        return -1;
    if (prepare(db, &db->insert, CODE_INSERT) != 0 ||
        prepare(db, &db->insert_f, CODE_INSERT_FILE) != 0 ||
        prepare(db, &db->query, CODE_QUERY) != 0) {
        bench_fts_close(db);
        return -1;
    }
    *out = db;
    return 0;
}

/* Inserts the chunks and the files row of one text file. */
static int insert_file(bench_fts_t *db, const char *path, const char *text, size_t len,
                       uint64_t size, int64_t mtime_ns, bench_fts_code_stats_t *stats)
{
    mnemo_chunk_t *chunks = NULL;
    size_t n = mnemo_chunk_text(&chunks, text, len, NULL);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        sqlite3_stmt *st = db->insert;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, (int)chunks[i].start_line);
        sqlite3_bind_int(st, 3, (int)chunks[i].end_line);
        sqlite3_bind_text(st, 4, text + chunks[i].offset, (int)chunks[i].len, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : fail(db, "insert chunk");
    }
    free(chunks);
    if (rc != 0)
        return rc;
    sqlite3_stmt *st = db->insert_f;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)size);
    sqlite3_bind_int64(st, 3, mtime_ns);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)n);
    if (sqlite3_step(st) != SQLITE_DONE)
        return fail(db, "insert file");
    stats->bytes += len;
    stats->files++;
    stats->chunks += n;
    return 0;
}

/* Reads and indexes one walked file; files mnemo would skip are skipped. */
static int index_one(bench_fts_t *db, const char *root, const mnemo_walk_file_t *f,
                     uint64_t max_file_bytes, bench_fts_code_stats_t *stats)
{
    char *data = NULL;
    size_t len = 0;
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    const char *reason = NULL;
    mnemo_err_t err;
    if (mnemo_walk_read_file(&data, &len, &size, &mtime_ns, &reason, root, f->path, max_file_bytes,
                             &err) != MNEMO_OK)
        return 0;
    int rc = 0;
    if (memchr(data, 0, len) == NULL && mnemo_utf8_valid(data, len))
        rc = insert_file(db, f->path, data, len, size, mtime_ns, stats);
    free(data);
    return rc;
}

int bench_fts_code_index(bench_fts_t *db, const char *root, uint64_t max_file_bytes,
                         int batch_files, bench_fts_code_stats_t *stats)
{
    memset(stats, 0, sizeof *stats);
    mnemo_walk_result_t walk;
    mnemo_walk_options_t wo = {.max_file_bytes = max_file_bytes};
    mnemo_err_t err;
    if (mnemo_walk(&walk, root, &wo, &err) != MNEMO_OK) {
        fprintf(stderr, "fts5: walk %s: %s\n", root, err.msg);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < walk.n_files && rc == 0; i += (size_t)batch_files) {
        rc = exec(db, "BEGIN");
        for (size_t k = i; k < walk.n_files && k < i + (size_t)batch_files && rc == 0; k++)
            rc = index_one(db, root, &walk.files[k], max_file_bytes, stats);
        if (rc == 0)
            rc = exec(db, "COMMIT");
    }
    mnemo_walk_result_cleanup(&walk);
    return rc;
}

int bench_fts_code_query(bench_fts_t *db, const char *query, int limit, int *n_hits)
{
    return run_query(db, db->query, query, limit, n_hits);
}

#else /* no SQLite: every baseline is skipped */

bool bench_fts_available(void)
{
    return false;
}

int bench_fts_mem_open(bench_fts_t **out, const char *path)
{
    return -1;
}

int bench_fts_mem_insert(bench_fts_t *db, const char *content)
{
    return -1;
}

int bench_fts_mem_load(bench_fts_t *db, char *const *entries, size_t n)
{
    return -1;
}

int bench_fts_mem_query(bench_fts_t *db, const char *query, int limit, int *n_hits)
{
    return -1;
}

int bench_fts_code_open(bench_fts_t **out, const char *path)
{
    return -1;
}

int bench_fts_code_index(bench_fts_t *db, const char *root, uint64_t max_file_bytes,
                         int batch_files, bench_fts_code_stats_t *stats)
{
    return -1;
}

int bench_fts_code_query(bench_fts_t *db, const char *query, int limit, int *n_hits)
{
    return -1;
}

void bench_fts_close(bench_fts_t *db)
{
}

#endif
