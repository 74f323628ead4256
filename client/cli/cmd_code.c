/* cmd_code.c - `mnemo code QUERY`: search the code index (SearchCode).
 *
 * DESIGN: like `mnemo search` for chunks: the words are joined into one
 * query, hits come best first. Each hit is shown as "path:start-end
 * score repo" and its chunk, cut to a few lines unless --full-content;
 * --json always carries the whole chunk. Threads: the CLI's one thread.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_repo.h"
#include "render.h"
#include "render_repo.h"

#define SNIPPET_LINES 8

static const char usage[] =
    "usage: mnemo code QUERY... [--repo NAME] [--path PREFIX] [--limit N]\n"
    "                  [--full-content]\n"
    "\n"
    "Searches the chunks of synced repositories and shows the best first:\n"
    "\"path:start-end  score  repository\", then the chunk (8 lines of it\n"
    "unless --full-content).\n"
    "\n"
    "  QUERY...          the query; several words are joined with spaces\n"
    "  --repo NAME       only this repository (default: all)\n"
    "  --path PREFIX     only files whose path starts with PREFIX\n"
    "  --limit N         at most N hits (0 = the server's default, 10)\n"
    "  --full-content    show whole chunks\n"
    "  --json            print {\"hits\": [{\"repository_name\", \"path\", \"start_line\",\n"
    "                    \"end_line\", \"content\", \"score\"}], \"truncated\": b}\n";

enum { OPT_REPO = 1, OPT_PATH, OPT_LIMIT, OPT_FULL_CONTENT };

static const cli_option_t options[] = {{"--repo", 1, OPT_REPO},
                                       {"--path", 1, OPT_PATH},
                                       {"--limit", 1, OPT_LIMIT},
                                       {"--full-content", 0, OPT_FULL_CONTENT},
                                       CLI_COMMON_OPTIONS};

void cli_code_args_cleanup(cli_code_args_t *a)
{
    cli_strv_cleanup(&a->words);
}

/* Handles one of the command's own arguments (cli_arg_fn). */
static int code_arg(void *out, const cli_command_t *self, int id, const char *value)
{
    cli_code_args_t *ca = out;
    switch (id) {
    case OPT_REPO:
        ca->repo = value;
        return CLI_CONTINUE;
    case OPT_PATH:
        ca->path = value;
        return CLI_CONTINUE;
    case OPT_LIMIT:
        if (cli_parse_int(&ca->limit, value, 0, INT32_MAX) != 0)
            return cli_usage_error(self, "--limit: '%s' is not a number >= 0", value);
        return CLI_CONTINUE;
    case OPT_FULL_CONTENT:
        ca->full_content = 1;
        return CLI_CONTINUE;
    default: /* CLI_ARG_POSITIONAL: a word of the query */
        return cli_strv_push(&ca->words, value) == 0 ? CLI_CONTINUE : cli_out_of_memory();
    }
}

int cli_code_parse(cli_code_args_t *out, cli_ctx_t *ctx, const cli_command_t *self, int argc,
                   char **argv)
{
    memset(out, 0, sizeof(*out));
    int rc = cli_parse_args(out, code_arg, ctx, self, options, argc, argv);
    if (rc == CLI_CONTINUE && out->words.n == 0)
        rc = cli_usage_error(self, "QUERY is missing");
    return rc;
}

static void print_json(const Mnemo__V1__SearchCodeResponse *resp)
{
    cli_json_t j;
    cli_json_init(&j, stdout);
    cli_json_begin_object(&j);
    cli_json_key(&j, "hits");
    cli_json_begin_array(&j);
    for (size_t i = 0; i < resp->n_hits; i++)
        cli_json_code_hit(&j, resp->hits[i]);
    cli_json_end_array(&j);
    cli_json_field_bool(&j, "truncated", resp->truncated);
    cli_json_end_object(&j);
    cli_json_finish(&j);
}

static void print_human(const Mnemo__V1__SearchCodeResponse *resp, int full_content)
{
    if (resp->n_hits == 0) {
        printf("no results\n");
        return;
    }
    for (size_t i = 0; i < resp->n_hits; i++) {
        if (i > 0)
            fputc('\n', stdout);
        cli_print_code_hit(stdout, resp->hits[i], full_content ? 0 : SNIPPET_LINES);
    }
}

static int search(cli_ctx_t *ctx, const cli_code_args_t *ca, char *query)
{
    Mnemo__V1__SearchCodeRequest req = MNEMO__V1__SEARCH_CODE_REQUEST__INIT;
    req.query = query;
    if (ca->repo != NULL)
        req.repository_name = (char *)ca->repo;
    if (ca->path != NULL)
        req.path_prefix = (char *)ca->path;
    req.limit = (int32_t)ca->limit;
    Mnemo__V1__SearchCodeResponse *resp = NULL;
    mnemo_call_error_t err;
    if (mnemo_client_search_code(&resp, ctx->client, &req, &err) != MNEMO_CODE_OK)
        return cli_call_failed(ctx, &err);
    if (ctx->json)
        print_json(resp);
    else
        print_human(resp, ca->full_content);
    cli_note_truncated(resp->truncated);
    mnemo_client_free_message(resp);
    return CLI_EXIT_OK;
}

static int run(cli_ctx_t *ctx, const cli_command_t *self, int argc, char **argv)
{
    cli_code_args_t ca;
    char *query = NULL;
    int rc = cli_code_parse(&ca, ctx, self, argc, argv);
    if (rc != CLI_CONTINUE)
        goto done;
    query = cli_strv_join(&ca.words, " ");
    if (query == NULL) {
        rc = cli_out_of_memory();
        goto done;
    }
    rc = cli_connect(ctx);
    if (rc == CLI_EXIT_OK)
        rc = search(ctx, &ca, query);
done:
    free(query);
    cli_code_args_cleanup(&ca);
    return rc;
}

const cli_command_t cli_cmd_code = {"code", "search the code index", usage, run};
