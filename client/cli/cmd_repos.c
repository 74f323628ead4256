/* cmd_repos.c - `mnemo repos`: the synced repositories
 * (ListRepositories).
 *
 * DESIGN: paging as in `mnemo list` (pages.h): one page by default with
 * the next page's token on stderr, so stdout stays a clean table; --all
 * follows the tokens and shows every page as one table.
 * Threads: the CLI's one thread.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_repo.h"
#include "pages.h"
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

/* Handles one of the command's own arguments (cli_arg_fn). */
static int repos_arg(void *out, const cli_command_t *self, int id, const char *value)
{
    cli_repos_args_t *ra = out;
    switch (id) {
    case OPT_LIMIT:
        if (cli_parse_int(&ra->limit, value, 0, INT32_MAX) != 0)
            return cli_usage_error(self, "--limit: '%s' is not a number >= 0", value);
        return CLI_CONTINUE;
    case OPT_PAGE_TOKEN:
        ra->page_token = value;
        return CLI_CONTINUE;
    case OPT_ALL:
        ra->all = 1;
        return CLI_CONTINUE;
    default: /* CLI_ARG_POSITIONAL */
        return cli_usage_error(self, "unexpected argument '%s'", value);
    }
}

int cli_repos_parse(cli_repos_args_t *out, cli_ctx_t *ctx, const cli_command_t *self, int argc,
                    char **argv)
{
    memset(out, 0, sizeof(*out));
    return cli_parse_args(out, repos_arg, ctx, self, options, argc, argv);
}

/* Asks for one page of repositories (cli_page_fetch_fn). */
static int fetch_page(ProtobufCMessage **out, const char **next_page_token, mnemo_client_t *c,
                      const void *arg, const char *page_token, mnemo_call_error_t *err)
{
    const cli_repos_args_t *ra = arg;
    Mnemo__V1__ListRepositoriesRequest req = MNEMO__V1__LIST_REPOSITORIES_REQUEST__INIT;
    req.page_size = (int32_t)ra->limit;
    req.page_token = (char *)page_token;
    Mnemo__V1__ListRepositoriesResponse *resp = NULL;
    int rc = mnemo_client_list_repositories(&resp, c, &req, err);
    if (rc == MNEMO_CODE_OK) {
        *out = &resp->base;
        *next_page_token = resp->next_page_token;
    }
    return rc;
}

static const Mnemo__V1__ListRepositoriesResponse *page_at(const cli_pages_t *p, size_t i)
{
    return (const Mnemo__V1__ListRepositoriesResponse *)p->v[i];
}

static void json_repositories(cli_json_t *j, const ProtobufCMessage *page)
{
    const Mnemo__V1__ListRepositoriesResponse *resp =
        (const Mnemo__V1__ListRepositoriesResponse *)page;
    for (size_t k = 0; k < resp->n_repositories; k++)
        cli_json_repository(j, resp->repositories[k]);
}

static int print_human(const cli_pages_t *p, const cli_command_t *self)
{
    size_t total = 0, at = 0;
    for (size_t i = 0; i < p->n; i++)
        total += page_at(p, i)->n_repositories;
    Mnemo__V1__Repository **all = calloc(total + 1, sizeof(*all));
    if (all == NULL)
        return cli_out_of_memory();
    for (size_t i = 0; i < p->n; i++)
        for (size_t k = 0; k < page_at(p, i)->n_repositories; k++)
            all[at++] = page_at(p, i)->repositories[k];
    cli_print_repository_table(stdout, all, total);
    free(all);
    cli_pages_print_more(p, self);
    return CLI_EXIT_OK;
}

static int run(cli_ctx_t *ctx, const cli_command_t *self, int argc, char **argv)
{
    cli_repos_args_t ra;
    cli_pages_t pages = {NULL, 0, NULL};
    int rc = cli_repos_parse(&ra, ctx, self, argc, argv);
    if (rc != CLI_CONTINUE)
        return rc;
    rc = cli_connect(ctx);
    if (rc == CLI_EXIT_OK)
        rc = cli_pages_fetch(&pages, ctx, fetch_page, &ra, ra.page_token, ra.all);
    if (rc == CLI_EXIT_OK && ctx->json)
        cli_pages_print_json(&pages, "repositories", json_repositories);
    else if (rc == CLI_EXIT_OK)
        rc = print_human(&pages, self);
    cli_pages_cleanup(&pages);
    return rc;
}

const cli_command_t cli_cmd_repos = {"repos", "list synced repositories", usage, run};
