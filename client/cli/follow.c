/* follow.c - following a SyncEvent stream: progress, interrupts, summary
 * (see follow.h).
 *
 * DESIGN: two threads. The CLI's thread connects, opens the stream, reads
 * it to its end, draws and reports. The signal thread (sigwatch) sleeps in
 * sigwait; on the first SIGINT/SIGTERM it records the signal and cancels
 * the attached stream, on the second it exits the process; SIGUSR1, sent
 * to it alone by sigwatch_stop, ends it (pthread_cancel would do too, but
 * AddressSanitizer misreads a thread cancelled inside sigwait). The stream
 * pointer and the signal record are shared under sigwatch.mu: the CLI's
 * thread detaches the stream under the mutex before closing it, so a
 * cancel can never reach a closed stream. The signal thread writes nothing
 * but the one-line notice of the second signal, so the terminal is drawn
 * by one thread. Part of mnemo_cli_core.
 */
#include "follow.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"
#include "render.h"
#include "render_repo.h"

#define REDRAW_INTERVAL_S  0.1 /* terminal redraws at most ten times a second */
#define PLAIN_INTERVAL_S   1.0 /* plain lines at most once a second */
#define FINAL_WAIT_S       3.0 /* how long to wait for a cancelled sync to stop */
#define FINAL_POLL_NS      100000000L
#define EXIT_SIGNAL_OFFSET 128

/* ---- the signal thread ------------------------------------------------- */

typedef struct sigwatch {
    pthread_t thread;
    pthread_mutex_t mu;
    sigset_t set;           /* SIGINT, SIGTERM, and SIGUSR1 to stop */
    mnemo_stream_t *stream; /* guarded by mu: what the first signal cancels */
    int signo;              /* guarded by mu: the first signal caught, 0 none */
    int count;              /* guarded by mu: signals caught */
    int running;            /* the thread was started (CLI's thread only) */
} sigwatch_t;

static void *sigwatch_main(void *arg)
{
    sigwatch_t *w = arg;
    for (;;) {
        int sig = 0;
        if (sigwait(&w->set, &sig) != 0)
            continue;
        if (sig == SIGUSR1)
            return NULL; /* sigwatch_stop */
        pthread_mutex_lock(&w->mu);
        int count = ++w->count;
        if (w->signo == 0)
            w->signo = sig;
        if (count == 1 && w->stream != NULL)
            mnemo_stream_cancel(w->stream);
        pthread_mutex_unlock(&w->mu);
        if (count > 1) {
            static const char msg[] = "\nmnemo: interrupted again; exiting\n";
            ssize_t n = write(STDERR_FILENO, msg, sizeof(msg) - 1);
            (void)n;
            _exit(EXIT_SIGNAL_OFFSET + sig);
        }
    }
    return NULL;
}

/* Blocks SIGINT, SIGTERM and SIGUSR1 in the calling thread (and so in every thread
 * it creates from now on) and starts the signal thread. 0 or -1. */
static int sigwatch_start(sigwatch_t *w)
{
    memset(w, 0, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    sigemptyset(&w->set);
    sigaddset(&w->set, SIGINT);
    sigaddset(&w->set, SIGTERM);
    sigaddset(&w->set, SIGUSR1);
    if (pthread_sigmask(SIG_BLOCK, &w->set, NULL) != 0)
        return -1;
    if (pthread_create(&w->thread, NULL, sigwatch_main, w) != 0)
        return -1;
    w->running = 1;
    return 0;
}

/* Makes s the stream an interrupt cancels; cancels it at once when a
 * signal came before it was opened. */
static void sigwatch_attach(sigwatch_t *w, mnemo_stream_t *s)
{
    pthread_mutex_lock(&w->mu);
    w->stream = s;
    if (w->count > 0)
        mnemo_stream_cancel(s);
    pthread_mutex_unlock(&w->mu);
}

static void sigwatch_detach(sigwatch_t *w)
{
    pthread_mutex_lock(&w->mu);
    w->stream = NULL;
    pthread_mutex_unlock(&w->mu);
}

/* The first signal caught, or 0. */
static int sigwatch_signal(sigwatch_t *w)
{
    pthread_mutex_lock(&w->mu);
    int sig = w->signo;
    pthread_mutex_unlock(&w->mu);
    return sig;
}

/* Stops the signal thread. The signals stay blocked: one that comes now
 * stays pending until the process exits. */
static void sigwatch_stop(sigwatch_t *w)
{
    if (w->running) {
        pthread_kill(w->thread, SIGUSR1);
        pthread_join(w->thread, NULL);
        w->running = 0;
    }
    pthread_mutex_destroy(&w->mu);
}

/* ---- progress output ----------------------------------------------------- */

typedef struct follow {
    cli_ctx_t *ctx;
    const cli_follow_opts_t *opts;
    sigwatch_t sw;
    int tty;                    /* draw a bar on stderr */
    int erase;                  /* the terminal knows ESC [ K */
    size_t drawn;               /* columns of the bar on screen; 0: none */
    cli_rate_t rate;            /* files/s over the events */
    double rate_v;              /* the latest smoothed rate; < 0 unknown */
    double started;             /* when the stream was opened (monotonic s) */
    double last_out;            /* when progress was last written; < 0 never */
    int plain_behind;           /* the latest event is not written as a plain line */
    size_t events;              /* events received */
    Mnemo__V1__SyncEvent *last; /* the latest event (owned) */
} follow_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int term_width(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return CLI_PROGRESS_DEFAULT_WIDTH;
}

/* 1 when the terminal understands "erase to the end of the line" (all but
 * TERM=dumb); else the bar is erased by writing spaces over it. */
static int term_can_erase(void)
{
    const char *term = getenv("TERM");
    return term == NULL || strcmp(term, "dumb") != 0;
}

/* Erases the bar, and what the terminal echoed after it (the "^C" of an
 * interrupt); the cursor goes back to the line's start. */
static void bar_clear(follow_t *f)
{
    if (f->drawn == 0)
        return;
    if (f->erase)
        fputs("\r\x1b[K", stderr);
    else
        fprintf(stderr, "\r%*s\r", (int)f->drawn, "");
    fflush(stderr);
    f->drawn = 0;
}

static void bar_draw(follow_t *f, const Mnemo__V1__SyncEvent *ev)
{
    char line[CLI_PROGRESS_LINE_MAX];
    cli_progress_view_t v = cli_sync_view(ev->status, f->rate_v, ev->current_path);
    size_t cols = cli_progress_bar(line, sizeof(line), &v, term_width());
    fprintf(stderr, "\r%s", line);
    if (f->erase)
        fputs("\x1b[K", stderr);
    else if (cols < f->drawn)
        fprintf(stderr, "%*s", (int)(f->drawn - cols), "");
    fflush(stderr);
    f->drawn = cols > 0 ? cols : 1; /* what lies beyond is blank now */
}

static void plain_write(follow_t *f, const Mnemo__V1__SyncEvent *ev)
{
    char line[CLI_PROGRESS_LINE_MAX];
    const Mnemo__V1__SyncStatus *s = ev->status;
    const Mnemo__V1__SyncProgress *p = s != NULL ? s->progress : NULL;
    cli_progress_view_t v = cli_sync_view(s, f->rate_v, NULL);
    cli_progress_plain(line, sizeof(line), s != NULL ? s->repository_name : "?", &v,
                       p != NULL ? p->chunks_written : 0, p != NULL ? p->batches_committed : 0);
    fprintf(stderr, "%s\n", line);
    fflush(stderr);
    f->plain_behind = 0;
}

static void list_skipped(follow_t *f, const Mnemo__V1__SyncEvent *ev)
{
    if (!f->opts->verbose || ev->n_skipped == 0)
        return;
    bar_clear(f);
    for (size_t i = 0; i < ev->n_skipped; i++) {
        fputs("skipped ", stderr);
        cli_print_text(stderr, ev->skipped[i]->path);
        fputs(": ", stderr);
        cli_print_text(stderr, ev->skipped[i]->reason);
        fputc('\n', stderr);
    }
}

/* Shows one event: a JSON line, or the skipped files and the progress. */
static void on_event(follow_t *f, const Mnemo__V1__SyncEvent *ev)
{
    if (f->ctx->json) {
        cli_json_t j;
        cli_json_init(&j, stdout);
        cli_json_sync_event(&j, ev);
        cli_json_finish(&j);
        return;
    }
    double now = now_s();
    const Mnemo__V1__SyncStatus *s = ev->status;
    f->rate_v = cli_rate_update(&f->rate, now, cli_sync_done_files(s ? s->progress : NULL));
    list_skipped(f, ev);
    if (f->opts->background)
        return; /* one event, then report_background says it all */
    int final = s != NULL && cli_sync_state_final((int)s->state);
    double interval = f->tty ? REDRAW_INTERVAL_S : PLAIN_INTERVAL_S;
    f->plain_behind = 1;
    if (!final && f->last_out >= 0 && now - f->last_out < interval)
        return;
    f->last_out = now;
    if (f->tty)
        bar_draw(f, ev);
    else
        plain_write(f, ev);
}

/* ---- the stream ------------------------------------------------------------ */

/* Opens the stream without a deadline: a sync may take hours. */
static int open_stream(follow_t *f, mnemo_stream_t **out, mnemo_call_error_t *err)
{
    mnemo_client_set_deadline(f->ctx->client, 0);
    int rc = f->opts->open(out, f->ctx->client, f->opts->arg, err);
    mnemo_client_set_deadline(f->ctx->client, f->ctx->timeout_ms);
    return rc;
}

/* Reads and shows events until the stream ends (with background: until
 * the first one). err: the stream's final status (OK after the first event
 * with background). */
static void read_events(follow_t *f, mnemo_stream_t *s, mnemo_call_error_t *err)
{
    for (;;) {
        Mnemo__V1__SyncEvent *ev = NULL;
        if (mnemo_stream_next_sync_event(&ev, s, err) != 1)
            return;
        f->events++;
        on_event(f, ev);
        mnemo_client_free_message(f->last);
        f->last = ev;
        if (f->opts->background) {
            memset(err, 0, sizeof(*err));
            return;
        }
    }
}

int cli_follow_final_status(Mnemo__V1__SyncStatus **out, mnemo_client_t *c, const char *name,
                            double wait_s, mnemo_call_error_t *err)
{
    Mnemo__V1__GetSyncStatusRequest req = MNEMO__V1__GET_SYNC_STATUS_REQUEST__INIT;
    req.repository_name = (char *)name;
    double until = now_s() + wait_s;
    for (;;) {
        Mnemo__V1__SyncStatus *st = NULL;
        int rc = mnemo_client_get_sync_status(&st, c, &req, err);
        if (rc != MNEMO_CODE_OK)
            return rc;
        if (cli_sync_state_final((int)st->state) || now_s() >= until) {
            *out = st;
            return rc;
        }
        mnemo_client_free_message(st);
        struct timespec pause = {0, FINAL_POLL_NS};
        nanosleep(&pause, NULL);
    }
}

/* ---- the end ---------------------------------------------------------------- */

/* The repository's name: the server's, else the one asked for, else NULL. */
static const char *repo_name(const follow_t *f)
{
    const Mnemo__V1__SyncStatus *s = f->last != NULL ? f->last->status : NULL;
    if (s != NULL && s->repository_name[0] != '\0')
        return s->repository_name;
    return f->opts->name;
}

static void print_summary(const follow_t *f, const Mnemo__V1__SyncStatus *s)
{
    cli_print_sync_summary(stdout, s, now_s() - f->started);
    int64_t skipped = s->progress != NULL ? s->progress->skipped_files : 0;
    if (skipped > 0 && !f->opts->verbose)
        printf("%lld file%s skipped; --verbose lists each with its reason\n", (long long)skipped,
               skipped == 1 ? "" : "s");
}

static int report_final(follow_t *f, const Mnemo__V1__SyncStatus *s)
{
    if (!f->ctx->json) {
        if (f->opts->watch && f->events == 1)
            printf("not running; the last sync:\n");
        print_summary(f, s);
    }
    return s->state == MNEMO__V1__SYNC_STATE__SYNC_STATE_COMPLETED ? CLI_EXIT_OK : CLI_EXIT_SERVER;
}

static int report_background(follow_t *f, const Mnemo__V1__SyncStatus *s)
{
    if (f->ctx->json)
        return CLI_EXIT_OK;
    fputs("sync ", stdout);
    cli_print_text(stdout, s->repository_name);
    printf(": started in the background (%s)\n", cli_sync_state_name((int)s->state));
    fputs("follow it with 'mnemo watch ", stdout);
    cli_print_text(stdout, s->repository_name);
    fputs("', stop it with 'mnemo cancel ", stdout);
    cli_print_text(stdout, s->repository_name);
    fputs("'\n", stdout);
    return CLI_EXIT_OK;
}

/* Shows the state the server ended a cancelled sync in. */
static int report_cancelled(follow_t *f, const char *name, int code)
{
    if (!f->ctx->json)
        fprintf(stderr, "cancelling: the server stops the sync at its next batch boundary\n");
    Mnemo__V1__SyncStatus *st = NULL;
    mnemo_call_error_t err;
    if (cli_follow_final_status(&st, f->ctx->client, name, FINAL_WAIT_S, &err) != MNEMO_CODE_OK) {
        cli_call_failed(f->ctx, &err);
        return code;
    }
    if (f->ctx->json) {
        Mnemo__V1__SyncEvent ev = MNEMO__V1__SYNC_EVENT__INIT;
        ev.status = st;
        cli_json_t j;
        cli_json_init(&j, stdout);
        cli_json_sync_event(&j, &ev);
        cli_json_finish(&j);
    } else {
        print_summary(f, st);
        if (!cli_sync_state_final((int)st->state))
            printf("still %s: the server stops it at its next batch boundary\n",
                   cli_sync_state_name((int)st->state));
    }
    int rc = st->state == MNEMO__V1__SYNC_STATE__SYNC_STATE_COMPLETED ? CLI_EXIT_OK : code;
    mnemo_client_free_message(st);
    return rc;
}

static int report_interrupted(follow_t *f, int sig)
{
    int code = EXIT_SIGNAL_OFFSET + sig;
    const char *name = repo_name(f);
    if (f->opts->watch || f->opts->background || name == NULL) {
        fprintf(stderr, "mnemo: interrupted");
        if (f->opts->watch && name != NULL) {
            fputs("; the sync goes on ('mnemo cancel ", stderr);
            cli_print_text(stderr, name);
            fputs("' stops it)", stderr);
        }
        fputc('\n', stderr);
        return code;
    }
    return report_cancelled(f, name, code);
}

/* A sync of the repository already runs: say how to follow or stop it. */
static int report_busy(follow_t *f, const mnemo_call_error_t *err)
{
    int rc = cli_call_failed(f->ctx, err);
    const char *name = repo_name(f);
    fputs("hint: 'mnemo watch ", stderr);
    cli_print_text(stderr, name);
    fputs("' follows it, 'mnemo cancel ", stderr);
    cli_print_text(stderr, name);
    fputs("' stops it\n", stderr);
    return rc;
}

/* Prints how the stream ended and returns the exit code. */
static int report(follow_t *f, const mnemo_call_error_t *err)
{
    const Mnemo__V1__SyncStatus *s = f->last != NULL ? f->last->status : NULL;
    int final = s != NULL && cli_sync_state_final((int)s->state);
    int sig = sigwatch_signal(&f->sw);
    if (!f->ctx->json && !f->tty && f->plain_behind && f->last != NULL)
        plain_write(f, f->last);
    bar_clear(f);
    if (err->code == MNEMO_CODE_OK && final)
        return report_final(f, s);
    if (sig != 0)
        return report_interrupted(f, sig);
    if (err->code == MNEMO_CODE_ABORTED && !f->opts->watch && repo_name(f) != NULL)
        return report_busy(f, err);
    if (err->code != MNEMO_CODE_OK)
        return cli_call_failed(f->ctx, err);
    if (f->opts->background && s != NULL)
        return report_background(f, s);
    fprintf(stderr, "mnemo: the stream ended before the sync did\n");
    if (s != NULL && !f->ctx->json)
        print_summary(f, s);
    return CLI_EXIT_SERVER;
}

static int follow_stream(follow_t *f)
{
    mnemo_stream_t *s = NULL;
    mnemo_call_error_t err;
    f->started = now_s();
    if (open_stream(f, &s, &err) != MNEMO_CODE_OK)
        return cli_call_failed(f->ctx, &err);
    sigwatch_attach(&f->sw, s);
    read_events(f, s, &err);
    sigwatch_detach(&f->sw);
    mnemo_stream_close(s);
    return report(f, &err);
}

int cli_follow_run(cli_ctx_t *ctx, const cli_follow_opts_t *opts)
{
    follow_t f;
    memset(&f, 0, sizeof(f));
    f.ctx = ctx;
    f.opts = opts;
    f.tty = !ctx->json && isatty(STDERR_FILENO);
    f.erase = term_can_erase();
    f.rate_v = -1;
    f.last_out = -1;
    cli_rate_init(&f.rate);
    int rc;
    if (sigwatch_start(&f.sw) != 0) {
        fprintf(stderr, "mnemo: cannot start the signal thread\n");
        rc = CLI_EXIT_SERVER;
    } else {
        rc = cli_connect(ctx);
        if (rc == CLI_EXIT_OK)
            rc = follow_stream(&f);
    }
    sigwatch_stop(&f.sw);
    mnemo_client_free_message(f.last);
    return rc;
}
