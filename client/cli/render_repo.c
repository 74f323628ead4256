/* render_repo.c - sync statuses, repositories and code hits as JSON and
 * text (see render_repo.h).
 *
 * DESIGN: labelled blocks use one label column so `status` and the end of
 * `sync` read alike; the counts are printed by one helper for both. Every
 * string from the server goes through cli_print_text or a sanitising
 * cut, so a file name cannot drive the terminal. Part of mnemo_cli_core.
 * Threads: any.
 */
#include "render_repo.h"

#include <inttypes.h>
#include <string.h>

#include "format.h"
#include "render.h"

#define STATE_PREFIX "SYNC_STATE_"
#define LABEL_WIDTH  12
#define NAME_CHARS   40

static const char *state_proto_name(int state)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&mnemo__v1__sync_state__descriptor, state);
    return v != NULL ? v->name : NULL;
}

const char *cli_sync_state_name(int state)
{
    const char *name = state_proto_name(state);
    if (name == NULL)
        return "UNKNOWN";
    return strncmp(name, STATE_PREFIX, strlen(STATE_PREFIX)) == 0 ? name + strlen(STATE_PREFIX)
                                                                  : name;
}

int cli_sync_state_final(int state)
{
    return state == MNEMO__V1__SYNC_STATE__SYNC_STATE_COMPLETED ||
           state == MNEMO__V1__SYNC_STATE__SYNC_STATE_CANCELLED ||
           state == MNEMO__V1__SYNC_STATE__SYNC_STATE_FAILED ||
           state == MNEMO__V1__SYNC_STATE__SYNC_STATE_INTERRUPTED;
}

int64_t cli_sync_done_files(const Mnemo__V1__SyncProgress *p)
{
    if (p == NULL)
        return 0;
    return p->processed_files + p->unchanged_files + p->skipped_files + p->failed_files;
}

cli_progress_view_t cli_sync_view(const Mnemo__V1__SyncStatus *s, double rate, const char *path)
{
    const Mnemo__V1__SyncProgress *p = s != NULL ? s->progress : NULL;
    cli_progress_view_t v = {0, 0, 0, rate, path};
    if (p != NULL) {
        v.percentage = p->percentage;
        v.total = p->total_files;
        /* Skips found by the walk are not among total_files: never show
         * more done than there is. */
        v.done = cli_sync_done_files(p);
        v.done = v.done > v.total ? v.total : v.done;
    }
    return v;
}

static void json_progress(cli_json_t *j, const Mnemo__V1__SyncProgress *p)
{
    if (p == NULL) {
        cli_json_null(j);
        return;
    }
    cli_json_begin_object(j);
    cli_json_field_int(j, "total_files", p->total_files);
    cli_json_field_int(j, "processed_files", p->processed_files);
    cli_json_field_int(j, "unchanged_files", p->unchanged_files);
    cli_json_field_int(j, "skipped_files", p->skipped_files);
    cli_json_field_int(j, "failed_files", p->failed_files);
    cli_json_field_int(j, "deleted_files", p->deleted_files);
    cli_json_field_int(j, "chunks_written", p->chunks_written);
    cli_json_field_int(j, "bytes_processed", p->bytes_processed);
    cli_json_field_int(j, "batches_committed", p->batches_committed);
    cli_json_field_double(j, "percentage", p->percentage);
    cli_json_field_int(j, "paced_ms", p->paced_ms);
    cli_json_end_object(j);
}

void cli_json_sync_status(cli_json_t *j, const Mnemo__V1__SyncStatus *s)
{
    if (s == NULL) {
        cli_json_null(j);
        return;
    }
    const char *state = state_proto_name((int)s->state);
    cli_json_begin_object(j);
    cli_json_field_string(j, "repository_name", s->repository_name);
    cli_json_field_string(j, "repository_path", s->repository_path);
    if (state != NULL)
        cli_json_field_string(j, "state", state);
    else
        cli_json_field_int(j, "state", (int64_t)s->state);
    cli_json_key(j, "progress");
    json_progress(j, s->progress);
    cli_json_field_int(j, "started_at_ms", s->started_at_ms);
    cli_json_field_int(j, "finished_at_ms", s->finished_at_ms);
    cli_json_field_time(j, "started_at", s->started_at_ms);
    cli_json_field_time(j, "finished_at", s->finished_at_ms);
    cli_json_field_string(j, "error", s->error);
    cli_json_field_bool(j, "background", s->background);
    cli_json_end_object(j);
}

void cli_json_sync_event(cli_json_t *j, const Mnemo__V1__SyncEvent *ev)
{
    cli_json_begin_object(j);
    cli_json_key(j, "status");
    cli_json_sync_status(j, ev->status);
    cli_json_field_string(j, "current_path", ev->current_path);
    cli_json_key(j, "skipped");
    cli_json_begin_array(j);
    for (size_t i = 0; i < ev->n_skipped; i++) {
        cli_json_begin_object(j);
        cli_json_field_string(j, "path", ev->skipped[i]->path);
        cli_json_field_string(j, "reason", ev->skipped[i]->reason);
        cli_json_end_object(j);
    }
    cli_json_end_array(j);
    cli_json_end_object(j);
}

/* Prints "  LABEL" padded to the value column. */
static void label(FILE *f, const char *name)
{
    fprintf(f, "  %-*s", LABEL_WIDTH, name);
}

/* The file counts, chunks, bytes and batches of p, one labelled line each,
 * and the time the sync paused for requests when it did. */
static void print_counts(FILE *f, const Mnemo__V1__SyncProgress *p)
{
    static const Mnemo__V1__SyncProgress zero = MNEMO__V1__SYNC_PROGRESS__INIT;
    p = p != NULL ? p : &zero;
    char bytes[32];
    label(f, "files");
    fprintf(f,
            "%" PRId64 " processed, %" PRId64 " unchanged, %" PRId64 " skipped, %" PRId64
            " failed, %" PRId64 " deleted (%" PRId64 " total)\n",
            p->processed_files, p->unchanged_files, p->skipped_files, p->failed_files,
            p->deleted_files, p->total_files);
    label(f, "chunks");
    fprintf(f, "%" PRId64 "\n", p->chunks_written);
    label(f, "bytes");
    fprintf(f, "%s\n", cli_format_bytes(bytes, sizeof(bytes), p->bytes_processed));
    label(f, "batches");
    fprintf(f, "%" PRId64 "\n", p->batches_committed);
    if (p->paced_ms > 0) {
        label(f, "paced");
        fprintf(f, "%.1f s (paused for requests)\n", (double)p->paced_ms / 1e3);
    }
}

/* Prints the labelled elapsed line: server times when they make sense. */
static void print_elapsed(FILE *f, const Mnemo__V1__SyncStatus *s, int64_t end_ms, double elapsed_s)
{
    char buf[32];
    if (s->started_at_ms > 0 && end_ms >= s->started_at_ms)
        elapsed_s = (double)(end_ms - s->started_at_ms) / 1000.0;
    label(f, "elapsed");
    fprintf(f, "%s\n", elapsed_s >= 0 ? cli_format_duration(buf, sizeof(buf), elapsed_s) : "-");
}

static void print_error(FILE *f, const Mnemo__V1__SyncStatus *s)
{
    if (s->error[0] == '\0')
        return;
    label(f, "error");
    cli_print_text(f, s->error);
    fputc('\n', f);
}

void cli_print_sync_summary(FILE *f, const Mnemo__V1__SyncStatus *s, double elapsed_s)
{
    fputs("sync ", f);
    cli_print_text(f, s->repository_name);
    fprintf(f, ": %s\n", cli_sync_state_name((int)s->state));
    print_counts(f, s->progress);
    print_elapsed(f, s, s->finished_at_ms, elapsed_s);
    print_error(f, s);
    if (s->state == MNEMO__V1__SYNC_STATE__SYNC_STATE_CANCELLED)
        fprintf(f, "cancelled after %" PRId64 " batches; committed work kept\n",
                s->progress != NULL ? s->progress->batches_committed : 0);
}

static void print_time(FILE *f, const char *name, int64_t ms)
{
    char buf[CLI_TIME_MAX];
    label(f, name);
    fprintf(f, "%s\n", ms > 0 ? cli_format_time(buf, ms) : "-");
}

void cli_print_sync_status(FILE *f, const Mnemo__V1__SyncStatus *s, int64_t now_ms)
{
    int running = !cli_sync_state_final((int)s->state);
    label(f, "repository");
    cli_print_text(f, s->repository_name);
    fputc('\n', f);
    label(f, "path");
    cli_print_text(f, s->repository_path[0] != '\0' ? s->repository_path : "-");
    fputc('\n', f);
    label(f, "state");
    fprintf(f, "%s%s\n", cli_sync_state_name((int)s->state), s->background ? " (background)" : "");
    cli_progress_view_t v = cli_sync_view(s, -1, NULL);
    label(f, "progress");
    fprintf(f, "%d%%  %" PRId64 "/%" PRId64 " files\n", cli_progress_percent(v.percentage), v.done,
            v.total);
    print_counts(f, s->progress);
    print_time(f, "started", s->started_at_ms);
    print_time(f, "finished", s->finished_at_ms);
    print_elapsed(f, s, running ? now_ms : s->finished_at_ms, -1);
    print_error(f, s);
}

void cli_json_repository(cli_json_t *j, const Mnemo__V1__Repository *r)
{
    const char *state = state_proto_name((int)r->last_state);
    cli_json_begin_object(j);
    cli_json_field_string(j, "name", r->name);
    cli_json_field_string(j, "path", r->path);
    cli_json_field_int(j, "file_count", r->file_count);
    cli_json_field_int(j, "chunk_count", r->chunk_count);
    cli_json_field_int(j, "last_synced_at_ms", r->last_synced_at_ms);
    cli_json_field_time(j, "last_synced_at", r->last_synced_at_ms);
    if (state != NULL)
        cli_json_field_string(j, "last_state", state);
    else
        cli_json_field_int(j, "last_state", (int64_t)r->last_state);
    cli_json_end_object(j);
}

/* Prints s (sanitised, cut to NAME_CHARS) padded to width characters. */
static void print_cell(FILE *f, const char *s, size_t width)
{
    char cell[NAME_CHARS * 4 + 8];
    cli_preview(cell, sizeof(cell), s, NAME_CHARS);
    fputs(cell, f);
    for (size_t w = cli_display_width(cell); w < width; w++)
        fputc(' ', f);
}

void cli_print_repository_table(FILE *f, Mnemo__V1__Repository *const *repos, size_t n)
{
    if (n == 0) {
        fputs("no repositories\n", f);
        return;
    }
    size_t name_w = strlen("NAME");
    for (size_t i = 0; i < n; i++) {
        size_t w = cli_display_width(repos[i]->name);
        w = w > NAME_CHARS ? NAME_CHARS : w;
        name_w = w > name_w ? w : name_w;
    }
    print_cell(f, "NAME", name_w);
    fprintf(f, "  %8s  %8s  %-11s  %-24s  PATH\n", "FILES", "CHUNKS", "STATE", "LAST SYNCED");
    for (size_t i = 0; i < n; i++) {
        const Mnemo__V1__Repository *r = repos[i];
        char time[CLI_TIME_MAX];
        print_cell(f, r->name, name_w);
        fprintf(f, "  %8" PRId64 "  %8" PRId64 "  %-11s  %-24s  ", r->file_count, r->chunk_count,
                cli_sync_state_name((int)r->last_state),
                r->last_synced_at_ms > 0 ? cli_format_time(time, r->last_synced_at_ms) : "-");
        cli_print_text(f, r->path);
        fputc('\n', f);
    }
}

void cli_json_code_hit(cli_json_t *j, const Mnemo__V1__CodeHit *h)
{
    cli_json_begin_object(j);
    cli_json_field_string(j, "repository_name", h->repository_name);
    cli_json_field_string(j, "path", h->path);
    cli_json_field_int(j, "start_line", h->start_line);
    cli_json_field_int(j, "end_line", h->end_line);
    cli_json_field_string(j, "content", h->content);
    cli_json_field_double(j, "score", h->score);
    cli_json_end_object(j);
}

/* Prints one line of content (len bytes at s), indented and sanitised. */
static void print_content_line(FILE *f, const char *s, size_t len)
{
    if (len > 0)
        fputs("    ", f);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        fputc((ch < 0x20 && ch != '\t') || ch == 0x7F ? '?' : ch, f);
    }
    fputc('\n', f);
}

void cli_print_code_hit(FILE *f, const Mnemo__V1__CodeHit *h, size_t max_lines)
{
    cli_print_text(f, h->path);
    fprintf(f, ":%d-%d  %.4f  ", (int)h->start_line, (int)h->end_line, h->score);
    cli_print_text(f, h->repository_name);
    fputc('\n', f);
    const char *p = h->content;
    size_t shown = 0, cut = 0;
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (max_lines == 0 || shown < max_lines) {
            print_content_line(f, p, len);
            shown++;
        } else {
            cut++;
        }
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    if (cut > 0)
        fprintf(f, "    ... (%zu more line%s)\n", cut, cut == 1 ? "" : "s");
}
