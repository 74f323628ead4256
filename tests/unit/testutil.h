/* testutil.h - helpers shared by the CUnit test binaries: suite setup, a
 * runner whose exit code is the verdict, and temporary directories.
 */
#ifndef MNEMO_TESTUTIL_H
#define MNEMO_TESTUTIL_H

#include <CUnit/Basic.h>
#include <stdbool.h>
#include <stddef.h>

/* Adds a suite named name to the registry (initialising it on first use). */
CU_pSuite mnemo_test_suite(const char *name);

/* Adds test function fn to suite s under its own name. */
/* Adds test fn to suite s, unless MNEMO_TEST_ONLY is set and not a part of
 * its name (MNEMO_TEST_ONLY=heartbeat runs just the tests named so). */
#define MNEMO_TEST(s, fn) mnemo_test_add((s), #fn, (fn))
CU_pTest mnemo_test_add(CU_pSuite s, const char *name, CU_TestFunc fn);

/* Runs every suite verbosely; returns 0 when every assertion passed, 1
 * otherwise (and on registry errors). Cleans the registry up. */
int mnemo_test_run(void);

/* A new empty directory under $TMPDIR (or /tmp); the caller's (free()). */
char *mnemo_test_tmpdir(void);

/* Removes path and everything below it; symlinks are removed, not followed. */
void mnemo_test_rmtree(const char *path);

/* Writes len bytes of data to path (creating or truncating it); 0 on success. */
int mnemo_test_write_file(const char *path, const void *data, size_t len);

/* True when a LevelDB table (*.ldb) in dir holds the len bytes of data as
 * they are (only the first 4 MiB of each table are searched). */
bool mnemo_test_tables_hold(const char *dir, const void *data, size_t len);

/* Until mnemo_test_uncap_files(), no file of this process may grow past
 * max_bytes: a write beyond it fails with EFBIG (SIGXFSZ is ignored), as a
 * write to a full disk fails. Calls do not nest. */
void mnemo_test_cap_files(size_t max_bytes);
void mnemo_test_uncap_files(void);

#endif
