/* render_repo.h - how the mnemo CLI shows what RepositoryService returns:
 * sync statuses and events (JSON, the end-of-sync summary, the `status`
 * block), repositories (JSON, table) and code hits (JSON, snippets).
 *
 * DESIGN: the sibling of render.h for the repository commands (`sync`,
 * `watch`, `status`, `cancel`, `repos`, `code`), so they agree on field
 * names (the .proto names; enums by their proto names; times also as
 * ISO-8601 `*_at` strings, null when unset) and on layout. Human output
 * never passes terminal control characters through. Part of
 * mnemo_cli_core. Threads: any; nothing is shared.
 */
#ifndef MNEMO_CLI_RENDER_REPO_H
#define MNEMO_CLI_RENDER_REPO_H

#include <stdint.h>
#include <stdio.h>

#include "mnemo/v1/repository.pb-c.h"

#include "json.h"
#include "progress.h"

/* "RUNNING", "COMPLETED", ... for a SyncState; "UNKNOWN" otherwise. Static
 * storage. */
const char *cli_sync_state_name(int state);

/* 1 when state is one a sync ends in (COMPLETED, CANCELLED, FAILED,
 * INTERRUPTED). */
int cli_sync_state_final(int state);

/* The files a sync has dealt with: processed + unchanged + skipped +
 * failed (0 for NULL). */
int64_t cli_sync_done_files(const Mnemo__V1__SyncProgress *p);

/* The progress line view of s at rate (files/s, < 0 unknown) on path. */
cli_progress_view_t cli_sync_view(const Mnemo__V1__SyncStatus *s, double rate, const char *path);

/* Writes s as one JSON object value: repository_name, repository_path,
 * state ("SYNC_STATE_RUNNING"), progress {total_files, ..., percentage},
 * started_at_ms, finished_at_ms, started_at, finished_at, error,
 * background. NULL writes null. */
void cli_json_sync_status(cli_json_t *j, const Mnemo__V1__SyncStatus *s);

/* Writes ev as one JSON object value: status, current_path, skipped
 * [{path, reason}]. */
void cli_json_sync_event(cli_json_t *j, const Mnemo__V1__SyncEvent *ev);

/* Prints the end of a sync: "sync NAME: STATE", then the file counts,
 * chunks, bytes, batches, elapsed time (the server's start and finish
 * times, else elapsed_s, else "-"), the error when there is one, and for
 * CANCELLED that committed work is kept. */
void cli_print_sync_summary(FILE *f, const Mnemo__V1__SyncStatus *s, double elapsed_s);

/* Prints s as labelled lines for `mnemo status`: repository, path, state,
 * progress, counts, start and finish times, elapsed (up to now_ms while
 * running), error. */
void cli_print_sync_status(FILE *f, const Mnemo__V1__SyncStatus *s, int64_t now_ms);

/* Writes r as one JSON object value: name, path, file_count, chunk_count,
 * last_synced_at_ms, last_synced_at, last_state. */
void cli_json_repository(cli_json_t *j, const Mnemo__V1__Repository *r);

/* Prints a header and one aligned line per repository: NAME FILES CHUNKS
 * STATE LAST-SYNCED PATH; "no repositories" when n is 0. */
void cli_print_repository_table(FILE *f, Mnemo__V1__Repository *const *repos, size_t n);

/* Writes h as one JSON object value with the .proto names. */
void cli_json_code_hit(cli_json_t *j, const Mnemo__V1__CodeHit *h);

/* Prints "PATH:START-END  SCORE  REPO" and then the content indented by
 * four spaces, at most max_lines lines of it (0 = all) followed by
 * "    ... (N more lines)" when cut. */
void cli_print_code_hit(FILE *f, const Mnemo__V1__CodeHit *h, size_t max_lines);

#endif
