/* pages.h - the paging of `mnemo list` and `mnemo repos`: one page of a
 * List call, or with --all every page up to the last; the JSON document
 * {"<items>": [...], "next_page_token": "..."}; and the hint that names
 * the next page.
 *
 * DESIGN: the pager knows a page only as a response message and its
 * next_page_token; the command makes the typed call in its fetch function
 * and reads the items of each page with their types. A server that hands
 * back the token it was given would loop forever: the pager reports that
 * as an error. Part of mnemo_cli_core. Threads: the CLI's one thread.
 */
#ifndef MNEMO_CLI_PAGES_H
#define MNEMO_CLI_PAGES_H

#include "cli.h"
#include "json.h"

/* Asks c for the page at page_token ("" for the first) of the listing that
 * arg (the command's) describes. On OK *out is the response (the
 * caller's) and *next_page_token its next_page_token, "" on the last
 * page. Returns the gRPC status code. */
typedef int (*cli_page_fetch_fn)(ProtobufCMessage **out, const char **next_page_token,
                                 mnemo_client_t *c, const void *arg, const char *page_token,
                                 mnemo_call_error_t *err);

/* The pages received, in order. Embedded, zeroed to start;
 * cli_pages_cleanup frees the pages. */
typedef struct cli_pages {
    ProtobufCMessage **v;
    size_t n;
    const char *next_page_token; /* the last page's; "" when none follows */
} cli_pages_t;

/* Fetches the page at page_token (NULL: the first) on ctx->client, and
 * with all every page after it up to the last. Returns 0 with at least one
 * page in p, or the exit code after printing why not: the call's (1 or
 * 3), or 1 when out of memory or the server repeats a page token. */
int cli_pages_fetch(cli_pages_t *p, cli_ctx_t *ctx, cli_page_fetch_fn fetch, const void *arg,
                    const char *page_token, int all);

/* Writes the items of one page into the open array of j. */
typedef void (*cli_page_json_fn)(cli_json_t *j, const ProtobufCMessage *page);

/* Prints {"<key>": [the items of every page], "next_page_token": "..."}
 * as one JSON document on stdout. */
void cli_pages_print_json(const cli_pages_t *p, const char *key, cli_page_json_fn write_items);

/* Once the table is on stdout: when another page follows, prints
 * "more: mnemo NAME --page-token TOKEN" on stderr. */
void cli_pages_print_more(const cli_pages_t *p, const cli_command_t *cmd);

void cli_pages_cleanup(cli_pages_t *p);

#endif
