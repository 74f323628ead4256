/* httpd.c - GET /metrics over libmicrohttpd (see httpd.h).
 *
 * DESIGN: the address is resolved here (numeric hosts and names, v4 and
 * v6) and handed to libmicrohttpd as a sockaddr. An empty host (":port")
 * is every address of both families, as exporters listen: one "::" socket
 * with IPV6_V6ONLY off (MHD_USE_DUAL_STACK) that takes IPv4 too, or
 * "0.0.0.0" on a kernel without IPv6; a host given is that address alone
 * ("0.0.0.0" IPv4 only, "[::]" IPv6 only). Each request is answered
 * on its first callback (a GET has no body to wait for) with a buffer the
 * response takes over. libmicrohttpd's own messages go to the log.
 *
 * Threads: see httpd.h.
 */
#include "httpd.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

#define HTTPD_MAX_CONNECTIONS 16
#define HTTPD_TIMEOUT_S       10
#define CONTENT_TYPE          "text/plain; version=0.0.4; charset=utf-8"

struct mnemo_httpd {
    struct MHD_Daemon *daemon;
    mnemo_httpd_render_fn render;
    void *ctx;
};

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, void *body, size_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, body != NULL ? body : "",
        body != NULL ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    if (status == MHD_HTTP_OK)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    mnemo_httpd_t *h = cls;
    (void)version;
    (void)upload_data;
    (void)con_cls;
    if (*upload_data_size != 0) { /* a body nobody asked for: ignore it */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/metrics") != 0)
        return answer(conn, MHD_HTTP_NOT_FOUND, NULL, 0);
    bool head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    if (!head && strcmp(method, MHD_HTTP_METHOD_GET) != 0)
        return answer(conn, MHD_HTTP_METHOD_NOT_ALLOWED, NULL, 0);
    mnemo_buf_t body = {0};
    h->render(h->ctx, &body);
    return answer(conn, MHD_HTTP_OK, body.p, body.len);
}

/* libmicrohttpd's messages; fmt is its own (clang's -Wformat-nonliteral
 * wants to be told it is a printf format). */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    mnemo_log(MNEMO_LOG_WARN, "metrics listener: %s", msg);
}

/* The wildcard of ":port": IPv6's, which the dual-stack socket extends to
 * IPv4, unless the kernel has no IPv6 at all. */
static const char *any_host(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return "0.0.0.0";
    close(fd);
    return "::";
}

/* Splits "host:port" / "[v6]:port" / ":port" and resolves it; *any tells
 * that the host was empty. */
static mnemo_status_t resolve(struct addrinfo **res, bool *any, const char *listen,
                              mnemo_err_t *err)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    size_t len = colon != NULL ? (size_t)(colon - listen) : 0;
    if (colon == NULL || colon[1] == '\0' || len >= sizeof host)
        return mnemo_err_set(err, MNEMO_EINVAL, "--metrics-listen: want HOST:PORT, got '%s'",
                             listen);
    const char *h = listen;
    if (len >= 2 && listen[0] == '[' && listen[len - 1] == ']')
        h++, len -= 2;
    memcpy(host, h, len);
    host[len] = '\0';
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    *any = len == 0;
    int rc = getaddrinfo(*any ? any_host() : host, colon + 1, &hints, res);
    if (rc != 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "--metrics-listen: %s: %s", listen,
                             gai_strerror(rc));
    return MNEMO_OK;
}

mnemo_status_t mnemo_httpd_start(mnemo_httpd_t **out, const char *listen,
                                 mnemo_httpd_render_fn render, void *ctx, int *port,
                                 mnemo_err_t *err)
{
    struct addrinfo *res = NULL;
    bool any = false;
    mnemo_status_t st = resolve(&res, &any, listen, err);
    if (st != MNEMO_OK)
        return st;
    mnemo_httpd_t *h = mnemo_xcalloc(1, sizeof *h);
    h->render = render;
    h->ctx = ctx;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (res->ai_family == AF_INET6)
        flags |= any ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
    /* The logger first, so that every message of the start reaches it. */
    h->daemon =
        MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
                         NULL, MHD_OPTION_SOCK_ADDR, res->ai_addr, MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned)HTTPD_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
                         (unsigned)HTTPD_TIMEOUT_S, MHD_OPTION_END);
    freeaddrinfo(res);
    const union MHD_DaemonInfo *info =
        h->daemon != NULL ? MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (info == NULL || info->port == 0) {
        mnemo_httpd_stop(h);
        return mnemo_err_set(err, MNEMO_EUNAVAIL,
                             "--metrics-listen: cannot listen on %s (address in use or invalid)",
                             listen);
    }
    *port = info->port;
    *out = h;
    return MNEMO_OK;
}

void mnemo_httpd_stop(mnemo_httpd_t *h)
{
    if (h == NULL)
        return;
    if (h->daemon != NULL)
        MHD_stop_daemon(h->daemon);
    free(h);
}
