/* cmd_repos.c - `mnemo repos`: the synced repositories
 * (ListRepositories).
 *
 * DESIGN: paging as in `mnemo list`: one page by default with the next
 * page's token on stderr, so stdout stays a clean table; --all follows the
 * tokens and shows every page as one table. A server that hands back the
 * token it was given would loop forever: that is reported as an error.
 * Threads: the CLI's one thread.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_repo.h"
#include "render_repo.h"

static const char usage[] =
    "usage: mnemo repos [--limit N] [--page-token TOKEN] [--all]\n"
    "\n"
    "Lists the repositories the server has synced: name, files, chunks,\n"
    "last state, last sync time and path. When there are more, the token of\n"
    "the next page is printed on stderr.\n"
    "\n"
    "  --limit N            page size (0 = the server's default, 50)\n"
    "  --page-token TOKEN   continue from a previous page\n"
    "  --all                fetch every page\n"
    "  --json               print {\"repositories\": [...], \"next_page_token\": \"...\"}\n";

enum { OPT_LIMIT = 1, OPT_PAGE_TOKEN, OPT_ALL };

static const cli_option_t options[] = {{"--limit", 1, OPT_LIMIT},
                                       {"--page-token", 1, OPT_PAGE_TOKEN},
                                       {"--all", 0, OPT_ALL},
                                       CLI_COMMON_OPTIONS};

/* The pages received, in order; each is the caller's. */
typedef struct pages {
    Mnemo__V1__ListRepositoriesResponse **v;
    size_t n;
} pages_t;

int cli_repos_parse(cli_repos_args_t *out, cli_ctx_t *ctx, const cli_command_t *self, int argc,
                    char **argv)
{
    memset(out, 0, sizeof(*out));
    cli_args_t a;
    cli_args_init(&a, argc, argv, options);
    int id, rc = CLI_CONTINUE;
    while (rc == CLI_CONTINUE && (id = cli_args_next(&a)) != CLI_ARG_END) {
        if (id == CLI_ARG_POSITIONAL)
            rc = cli_usage_error(self, "unexpected argument '%s'", a.value);
        else if (id == OPT_LIMIT && cli_parse_int(&out->limit, a.value, 0, INT32_MAX) != 0)
            rc = cli_usage_error(self, "--limit: '%s' is not a number >= 0", a.value);
        else if (id == OPT_PAGE_TOKEN)
            out->page_token = a.value;
        else if (id == OPT_ALL)
            out->all = 1;
        else if (id != OPT_LIMIT)
            rc = cli_common_option(ctx, self, id, &a);
    }
    return rc;
}

static int push_page(pages_t *p, Mnemo__V1__ListRepositoriesResponse *resp)
{
    Mnemo__V1__ListRepositoriesResponse **v = realloc(p->v, (p->n + 1) * sizeof(*v));
    if (v == NULL) {
        mnemo_client_free_message(resp);
        return cli_out_of_memory();
    }
    p->v = v;
    p->v[p->n++] = resp;
    return CLI_CONTINUE;
}

/* Fetches one page, or every page from the first one asked for. */
static int fetch(pages_t *p, cli_ctx_t *ctx, const cli_repos_args_t *ra)
{
    Mnemo__V1__ListRepositoriesRequest req = MNEMO__V1__LIST_REPOSITORIES_REQUEST__INIT;
    req.page_size = (int32_t)ra->limit;
    if (ra->page_token != NULL)
        req.page_token = (char *)ra->page_token;
    for (;;) {
        Mnemo__V1__ListRepositoriesResponse *resp = NULL;
        mnemo_call_error_t err;
        if (mnemo_client_list_repositories(&resp, ctx->client, &req, &err) != 0)
            return cli_call_failed(&err);
        int rc = push_page(p, resp);
        if (rc != CLI_CONTINUE)
            return rc;
        if (!ra->all || resp->next_page_token[0] == '\0')
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
    cli_json_key(&j, "repositories");
    cli_json_begin_array(&j);
    for (size_t i = 0; i < p->n; i++)
        for (size_t k = 0; k < p->v[i]->n_repositories; k++)
            cli_json_repository(&j, p->v[i]->repositories[k]);
    cli_json_end_array(&j);
    cli_json_field_string(&j, "next_page_token", p->v[p->n - 1]->next_page_token);
    cli_json_end_object(&j);
    cli_json_finish(&j);
}

static int print_human(const pages_t *p)
{
    size_t total = 0, at = 0;
    for (size_t i = 0; i < p->n; i++)
        total += p->v[i]->n_repositories;
    Mnemo__V1__Repository **all = calloc(total + 1, sizeof(*all));
    if (all == NULL)
        return cli_out_of_memory();
    for (size_t i = 0; i < p->n; i++)
        for (size_t k = 0; k < p->v[i]->n_repositories; k++)
            all[at++] = p->v[i]->repositories[k];
    cli_print_repository_table(stdout, all, total);
    free(all);
    const char *next = p->v[p->n - 1]->next_page_token;
    fflush(stdout); /* keep the table before the hint when both go to one place */
    if (next[0] != '\0')
        fprintf(stderr, "more: mnemo repos --page-token %s\n", next);
    return CLI_EXIT_OK;
}

static int run(cli_ctx_t *ctx, const cli_command_t *self, int argc, char **argv)
{
    cli_repos_args_t ra;
    pages_t pages = {NULL, 0};
    int rc = cli_repos_parse(&ra, ctx, self, argc, argv);
    if (rc != CLI_CONTINUE)
        return rc;
    rc = cli_connect(ctx);
    if (rc == CLI_EXIT_OK)
        rc = fetch(&pages, ctx, &ra);
    if (rc == CLI_EXIT_OK && ctx->json)
        print_json(&pages);
    else if (rc == CLI_EXIT_OK)
        rc = print_human(&pages);
    for (size_t i = 0; i < pages.n; i++)
        mnemo_client_free_message(pages.v[i]);
    free(pages.v);
    return rc;
}

const cli_command_t cli_cmd_repos = {"repos", "list synced repositories", usage, run};
