/* cmd_list.c - `mnemo list`: list memories newest first (ListMemories).
 *
 * DESIGN: one page by default, with the token of the next one on stderr so
 * stdout stays a clean table; --all follows the tokens to the last page
 * and shows every page as one list (pages.h, as for `repos`).
 * Threads: the CLI's one thread.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pages.h"
#include "render.h"

static const char usage[] =
    "usage: mnemo list [--tag TAG]... [--limit N] [--page-token TOKEN] [--all]\n"
    "\n"
    "Lists memories, newest first, one page at a time. When there are more,\n"
    "the token of the next page is printed on stderr.\n"
    "\n"
    "  --tag TAG            only memories with any of these tags (repeatable)\n"
    "  --limit N            page size (0 = the server's default, 50)\n"
    "  --page-token TOKEN   continue from a previous page (same --tag options)\n"
    "  --all                fetch every page\n"
    "  --json               print {\"memories\": [...], \"next_page_token\": \"...\"}\n";

enum { OPT_TAG = 1, OPT_LIMIT, OPT_PAGE_TOKEN, OPT_ALL };

static const cli_option_t options[] = {{"--tag", 1, OPT_TAG},
                                       {"--limit", 1, OPT_LIMIT},
                                       {"--page-token", 1, OPT_PAGE_TOKEN},
                                       {"--all", 0, OPT_ALL},
                                       CLI_COMMON_OPTIONS};

typedef struct list_args {
    cli_strv_t tags;
    int64_t limit;
    const char *page_token;
    int all;
} list_args_t;

/* Handles one of the command's own arguments (cli_arg_fn). */
static int list_arg(void *out, const cli_command_t *self, int id, const char *value)
{
    list_args_t *la = out;
    switch (id) {
    case OPT_TAG:
        return cli_strv_push(&la->tags, value) == 0 ? CLI_CONTINUE : cli_out_of_memory();
    case OPT_LIMIT:
        if (cli_parse_int(&la->limit, value, 0, INT32_MAX) != 0)
            return cli_usage_error(self, "--limit: '%s' is not a number >= 0", value);
        return CLI_CONTINUE;
    case OPT_PAGE_TOKEN:
        la->page_token = value;
        return CLI_CONTINUE;
    case OPT_ALL:
        la->all = 1;
        return CLI_CONTINUE;
    default: /* CLI_ARG_POSITIONAL */
        return cli_usage_error(self, "unexpected argument '%s'", value);
    }
}

/* Asks for one page of memories (cli_page_fetch_fn). */
static int fetch_page(ProtobufCMessage **out, const char **next_page_token, mnemo_client_t *c,
                      const void *arg, const char *page_token, mnemo_call_error_t *err)
{
    const list_args_t *la = arg;
    Mnemo__V1__ListMemoriesRequest req = MNEMO__V1__LIST_MEMORIES_REQUEST__INIT;
    req.page_size = (int32_t)la->limit;
    req.n_tags = la->tags.n;
    req.tags = la->tags.v;
    req.page_token = (char *)page_token;
    Mnemo__V1__ListMemoriesResponse *resp = NULL;
    int rc = mnemo_client_list_memories(&resp, c, &req, err);
    if (rc == MNEMO_CODE_OK) {
        *out = &resp->base;
        *next_page_token = resp->next_page_token;
    }
    return rc;
}

static const Mnemo__V1__ListMemoriesResponse *page_at(const cli_pages_t *p, size_t i)
{
    return (const Mnemo__V1__ListMemoriesResponse *)p->v[i];
}

static void json_memories(cli_json_t *j, const ProtobufCMessage *page)
{
    const Mnemo__V1__ListMemoriesResponse *resp = (const Mnemo__V1__ListMemoriesResponse *)page;
    for (size_t k = 0; k < resp->n_memories; k++)
        cli_json_memory(j, resp->memories[k]);
}

static int print_human(const cli_pages_t *p, const cli_command_t *self)
{
    size_t total = 0, at = 0;
    for (size_t i = 0; i < p->n; i++)
        total += page_at(p, i)->n_memories;
    Mnemo__V1__Memory **all = calloc(total + 1, sizeof(*all));
    if (all == NULL)
        return cli_out_of_memory();
    for (size_t i = 0; i < p->n; i++)
        for (size_t k = 0; k < page_at(p, i)->n_memories; k++)
            all[at++] = page_at(p, i)->memories[k];
    int rc = cli_print_memories(all, total);
    free(all);
    if (rc == CLI_EXIT_OK)
        cli_pages_print_more(p, self);
    return rc;
}

static int run(cli_ctx_t *ctx, const cli_command_t *self, int argc, char **argv)
{
    list_args_t la;
    memset(&la, 0, sizeof(la));
    cli_pages_t pages = {NULL, 0, NULL};
    int rc = cli_parse_args(&la, list_arg, ctx, self, options, argc, argv);
    if (rc != CLI_CONTINUE)
        goto done;
    rc = cli_connect(ctx);
    if (rc != CLI_EXIT_OK)
        goto done;
    rc = cli_pages_fetch(&pages, ctx, fetch_page, &la, la.page_token, la.all);
    if (rc != CLI_EXIT_OK)
        goto done;
    if (ctx->json)
        cli_pages_print_json(&pages, "memories", json_memories);
    else
        rc = print_human(&pages, self);
done:
    cli_pages_cleanup(&pages);
    cli_strv_cleanup(&la.tags);
    return rc;
}

const cli_command_t cli_cmd_list = {"list", "list memories, newest first", usage, run};
