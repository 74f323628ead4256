/* cmd_list.c - `mnemo list`: list memories newest first (ListMemories).
 *
 * DESIGN: one page by default, with the token of the next one on stderr so
 * stdout stays a clean table; --all follows the tokens to the last page
 * and shows every page as one list. A server that hands back the token it
 * was given would loop forever: that is reported as an error.
 * Threads: the CLI's one thread.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
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

/* The pages received, in order; each is the caller's. */
typedef struct pages {
    Mnemo__V1__ListMemoriesResponse **v;
    size_t n;
} pages_t;

static int parse(list_args_t *la, cli_ctx_t *ctx, const cli_command_t *self, int argc, char **argv)
{
    cli_args_t a;
    cli_args_init(&a, argc, argv, options);
    int id, rc = CLI_CONTINUE;
    while (rc == CLI_CONTINUE && (id = cli_args_next(&a)) != CLI_ARG_END) {
        if (id == CLI_ARG_POSITIONAL)
            rc = cli_usage_error(self, "unexpected argument '%s'", a.value);
        else if (id == OPT_TAG)
            rc = cli_strv_push(&la->tags, a.value) == 0 ? CLI_CONTINUE : cli_out_of_memory();
        else if (id == OPT_LIMIT && cli_parse_int(&la->limit, a.value, 0, INT32_MAX) != 0)
            rc = cli_usage_error(self, "--limit: '%s' is not a number >= 0", a.value);
        else if (id == OPT_PAGE_TOKEN)
            la->page_token = a.value;
        else if (id == OPT_ALL)
            la->all = 1;
        else if (id != OPT_LIMIT)
            rc = cli_common_option(ctx, self, id, &a);
    }
    return rc;
}

static int push_page(pages_t *p, Mnemo__V1__ListMemoriesResponse *resp)
{
    Mnemo__V1__ListMemoriesResponse **v = realloc(p->v, (p->n + 1) * sizeof(*v));
    if (v == NULL) {
        mnemo_client_free_message(resp);
        return cli_out_of_memory();
    }
    p->v = v;
    p->v[p->n++] = resp;
    return CLI_CONTINUE;
}

/* Fetches one page, or every page from the first one asked for. */
static int fetch(pages_t *p, cli_ctx_t *ctx, const list_args_t *la)
{
    Mnemo__V1__ListMemoriesRequest req = MNEMO__V1__LIST_MEMORIES_REQUEST__INIT;
    req.page_size = (int32_t)la->limit;
    req.n_tags = la->tags.n;
    req.tags = la->tags.v;
    if (la->page_token != NULL)
        req.page_token = (char *)la->page_token;
    for (;;) {
        Mnemo__V1__ListMemoriesResponse *resp = NULL;
        mnemo_call_error_t err;
        if (mnemo_client_list_memories(&resp, ctx->client, &req, &err) != 0)
            return cli_call_failed(&err);
        int rc = push_page(p, resp);
        if (rc != CLI_CONTINUE)
            return rc;
        if (!la->all || resp->next_page_token[0] == '\0')
            return CLI_EXIT_OK;
        if (strcmp(resp->next_page_token, req.page_token) == 0) {
            fprintf(stderr, "mnemo: the server returned the same page token twice\n");
            return CLI_EXIT_SERVER;
        }
        req.page_token = resp->next_page_token;
    }
}

static void print_json(const pages_t *p)
{
    cli_json_t j;
    cli_json_init(&j, stdout);
    cli_json_begin_object(&j);
    cli_json_key(&j, "memories");
    cli_json_begin_array(&j);
    for (size_t i = 0; i < p->n; i++)
        for (size_t k = 0; k < p->v[i]->n_memories; k++)
            cli_json_memory(&j, p->v[i]->memories[k]);
    cli_json_end_array(&j);
    cli_json_field_string(&j, "next_page_token", p->v[p->n - 1]->next_page_token);
    cli_json_end_object(&j);
    cli_json_finish(&j);
}

static int print_human(const pages_t *p)
{
    size_t total = 0, at = 0;
    for (size_t i = 0; i < p->n; i++)
        total += p->v[i]->n_memories;
    Mnemo__V1__Memory **all = calloc(total + 1, sizeof(*all));
    if (all == NULL)
        return cli_out_of_memory();
    for (size_t i = 0; i < p->n; i++)
        for (size_t k = 0; k < p->v[i]->n_memories; k++)
            all[at++] = p->v[i]->memories[k];
    int rc = cli_print_memories(all, total);
    free(all);
    const char *next = p->v[p->n - 1]->next_page_token;
    fflush(stdout); /* keep the table before the hint when both go to one place */
    if (rc == CLI_EXIT_OK && next[0] != '\0')
        fprintf(stderr, "more: mnemo list --page-token %s\n", next);
    return rc;
}

static int run(cli_ctx_t *ctx, const cli_command_t *self, int argc, char **argv)
{
    list_args_t la;
    memset(&la, 0, sizeof(la));
    pages_t pages = {NULL, 0};
    int rc = parse(&la, ctx, self, argc, argv);
    if (rc != CLI_CONTINUE)
        goto done;
    rc = cli_connect(ctx);
    if (rc != CLI_EXIT_OK)
        goto done;
    rc = fetch(&pages, ctx, &la);
    if (rc != CLI_EXIT_OK)
        goto done;
    if (ctx->json)
        print_json(&pages);
    else
        rc = print_human(&pages);
done:
    for (size_t i = 0; i < pages.n; i++)
        mnemo_client_free_message(pages.v[i]);
    free(pages.v);
    cli_strv_cleanup(&la.tags);
    return rc;
}

const cli_command_t cli_cmd_list = {"list", "list memories, newest first", usage, run};
