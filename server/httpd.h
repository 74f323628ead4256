/* httpd.h - the metrics listener: a small HTTP/1.1 server (libmicrohttpd)
 * answering GET /metrics with what a render callback writes.
 *
 * DESIGN: the only user of libmicrohttpd. One internal polling thread
 * (libmicrohttpd's own) accepts scrapes and calls render for each GET or
 * HEAD of /metrics; the body goes out as "text/plain; version=0.0.4"
 * (Prometheus' text exposition format). Any other path is 404, any other
 * method on /metrics 405; the request is never parsed here: libmicrohttpd
 * does the HTTP. At most HTTPD_MAX_CONNECTIONS scrapers at once, each cut
 * after HTTPD_TIMEOUT_S of silence, so a stuck client cannot pile up.
 *
 * Threads: start and stop on the main thread; render runs on the
 * listener's thread, one scrape at a time.
 */
#ifndef MNEMO_HTTPD_H
#define MNEMO_HTTPD_H

#include "bytes.h"
#include "mnemo/status.h"

typedef struct mnemo_httpd mnemo_httpd_t;

/* Appends the body of one scrape to out. */
typedef void (*mnemo_httpd_render_fn)(void *ctx, mnemo_buf_t *out);

/* Serves GET /metrics on listen ("host:port" and "[v6]:port" for that
 * address alone, ":port" for every IPv4 and IPv6 address; port 0 picks a
 * free one, returned in *port). *out is the
 * caller's (mnemo_httpd_stop). MNEMO_EINVAL when listen does not parse or
 * resolve, MNEMO_EUNAVAIL when it cannot be bound. */
mnemo_status_t mnemo_httpd_start(mnemo_httpd_t **out, const char *listen,
                                 mnemo_httpd_render_fn render, void *ctx, int *port,
                                 mnemo_err_t *err);

/* Closes the listener and joins its thread: render is never called after
 * it returns. NULL: no-op. */
void mnemo_httpd_stop(mnemo_httpd_t *h);

#endif
