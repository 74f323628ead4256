/* render.c - memories as JSON, detailed blocks and tables (see render.h).
 *
 * DESIGN: columns are measured in characters (code points), not bytes, so
 * UTF-8 tags and content stay aligned; previews come from cli_preview.
 * Part of mnemo_cli_core. Threads: any.
 */
#include "render.h"

#include <stdlib.h>
#include <string.h>

#include "format.h"

#define PREVIEW_CHARS 60
#define TAGS_CHARS    32
#define SCORE_WIDTH   8
#define TIME_WIDTH    24 /* "2024-05-01T12:34:56.789Z" */

void cli_json_memory(cli_json_t *j, const Mnemo__V1__Memory *m)
{
    cli_json_begin_object(j);
    cli_json_field_string(j, "id", m->id);
    cli_json_field_string(j, "content", m->content);
    cli_json_key(j, "tags");
    cli_json_begin_array(j);
    for (size_t i = 0; i < m->n_tags; i++)
        cli_json_string(j, m->tags[i]);
    cli_json_end_array(j);
    cli_json_key(j, "metadata");
    cli_json_begin_object(j);
    for (size_t i = 0; i < m->n_metadata; i++)
        cli_json_field_string(j, m->metadata[i]->key, m->metadata[i]->value);
    cli_json_end_object(j);
    cli_json_field_string(j, "memory_type", m->memory_type);
    cli_json_field_int(j, "created_at_ms", m->created_at_ms);
    cli_json_field_int(j, "updated_at_ms", m->updated_at_ms);
    cli_json_field_time(j, "created_at", m->created_at_ms);
    cli_json_field_time(j, "updated_at", m->updated_at_ms);
    cli_json_end_object(j);
}

void cli_print_text(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        fputc((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7F ? '?' : ch, f);
    }
}

/* Prints s padded with spaces to width characters. */
void cli_note_truncated(int truncated)
{
    if (truncated)
        fputs("mnemo: the server cut these results to fit its reply size (--max-reply-bytes); "
              "ask for fewer (--limit) or narrow the query\n",
              stderr);
}

static void print_padded(FILE *f, const char *s, size_t width)
{
    cli_print_text(f, s);
    for (size_t w = cli_display_width(s); w < width; w++)
        fputc(' ', f);
}

static void print_time_line(FILE *f, const char *label, int64_t ms)
{
    char buf[CLI_TIME_MAX];
    fprintf(f, "%-10s%s\n", label, ms > 0 ? cli_format_time(buf, ms) : "-");
}

void cli_print_memory(FILE *f, const Mnemo__V1__Memory *m)
{
    fprintf(f, "%-10s", "id:");
    cli_print_text(f, m->id);
    fprintf(f, "\n%-10s", "type:");
    cli_print_text(f, m->memory_type[0] != '\0' ? m->memory_type : "-");
    fprintf(f, "\n%-10s", "tags:");
    for (size_t i = 0; i < m->n_tags; i++) {
        fputs(i > 0 ? ", " : "", f);
        cli_print_text(f, m->tags[i]);
    }
    fputs(m->n_tags == 0 ? "-\n" : "\n", f);
    for (size_t i = 0; i < m->n_metadata; i++) {
        fprintf(f, "%-10s", i == 0 ? "metadata:" : "");
        cli_print_text(f, m->metadata[i]->key);
        fputc('=', f);
        cli_print_text(f, m->metadata[i]->value);
        fputc('\n', f);
    }
    print_time_line(f, "created:", m->created_at_ms);
    print_time_line(f, "updated:", m->updated_at_ms);
    fputc('\n', f);
    cli_print_text(f, m->content);
    fputc('\n', f);
}

/* The tags of m joined with ',' and cut to TAGS_CHARS, into buf. */
static void tags_cell(char *buf, size_t size, const Mnemo__V1__Memory *m)
{
    size_t total = 1;
    for (size_t i = 0; i < m->n_tags; i++)
        total += strlen(m->tags[i]) + 1;
    char *joined = malloc(total);
    if (joined == NULL) {
        snprintf(buf, size, "?");
        return;
    }
    joined[0] = '\0';
    for (size_t i = 0; i < m->n_tags; i++) {
        if (i > 0)
            strcat(joined, ",");
        strcat(joined, m->tags[i]);
    }
    cli_preview(buf, size, m->n_tags > 0 ? joined : "-", TAGS_CHARS);
    free(joined);
}

/* Widths of the ID and TAGS columns over all rows. */
static void measure(const cli_memory_row_t *rows, size_t n, size_t *id_w, size_t *tags_w)
{
    char cell[TAGS_CHARS * 4 + 8];
    *id_w = strlen("ID");
    *tags_w = strlen("TAGS");
    for (size_t i = 0; i < n; i++) {
        size_t w = cli_display_width(rows[i].memory->id);
        *id_w = w > *id_w ? w : *id_w;
        tags_cell(cell, sizeof(cell), rows[i].memory);
        w = cli_display_width(cell);
        *tags_w = w > *tags_w ? w : *tags_w;
    }
}

void cli_print_memory_table(FILE *f, const cli_memory_row_t *rows, size_t n, int with_score)
{
    size_t id_w, tags_w;
    measure(rows, n, &id_w, &tags_w);
    if (with_score)
        fprintf(f, "%-*s  ", SCORE_WIDTH, "SCORE");
    print_padded(f, "ID", id_w);
    fprintf(f, "  %-*s  ", TIME_WIDTH, "CREATED");
    print_padded(f, "TAGS", tags_w);
    fputs("  CONTENT\n", f);
    for (size_t i = 0; i < n; i++) {
        const Mnemo__V1__Memory *m = rows[i].memory;
        char time[CLI_TIME_MAX], tags[TAGS_CHARS * 4 + 8], preview[PREVIEW_CHARS * 4 + 8];
        if (with_score)
            fprintf(f, "%-*.4f  ", SCORE_WIDTH, rows[i].score);
        print_padded(f, m->id, id_w);
        fprintf(f, "  %-*s  ", TIME_WIDTH,
                m->created_at_ms > 0 ? cli_format_time(time, m->created_at_ms) : "-");
        tags_cell(tags, sizeof(tags), m);
        print_padded(f, tags, tags_w);
        cli_preview(preview, sizeof(preview), m->content, PREVIEW_CHARS);
        fprintf(f, "  %s\n", preview);
    }
}
