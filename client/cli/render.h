/* render.h - how the mnemo CLI shows memories: as JSON objects, as a
 * detailed block, and as an aligned table.
 *
 * DESIGN: every command that prints a memory goes through here, so `get`,
 * `store`, `list`, `search` and `tags` agree on field names (the .proto
 * names, plus ISO-8601 `created_at`/`updated_at`) and on layout. Human
 * output never passes terminal control characters through. Part of
 * mnemo_cli_core. Threads: any; nothing is shared.
 */
#ifndef MNEMO_CLI_RENDER_H
#define MNEMO_CLI_RENDER_H

#include <stdio.h>

#include "mnemo/v1/memory.pb-c.h"

#include "json.h"

/* One row of a memory table; score is shown only by tables with scores. */
typedef struct cli_memory_row {
    const Mnemo__V1__Memory *memory;
    double score;
} cli_memory_row_t;

/* Writes m as one JSON object value: id, content, tags, metadata (an
 * object), memory_type, created_at_ms, updated_at_ms, created_at and
 * updated_at (ISO-8601 UTC, null when unset). */
void cli_json_memory(cli_json_t *j, const Mnemo__V1__Memory *m);

/* Prints m as labelled lines (id, type, tags, metadata, created, updated),
 * a blank line and the full content. */
void cli_print_memory(FILE *f, const Mnemo__V1__Memory *m);

/* Prints a header and one aligned line per row: [SCORE] ID CREATED TAGS
 * CONTENT, with full ids and a one-line preview of the content. */
void cli_print_memory_table(FILE *f, const cli_memory_row_t *rows, size_t n, int with_score);

/* Writes s with control characters other than newline and tab replaced
 * by '?', so that stored text cannot drive the terminal. */
void cli_print_text(FILE *f, const char *s);

/* When truncated, tells stderr that the server cut the results to fit its
 * reply size (--max-reply-bytes) and what to do about it. */
void cli_note_truncated(int truncated);

#endif
