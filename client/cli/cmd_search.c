/* cmd_search.c - `mnemo search QUERY`: memories ranked by relevance
 * (RetrieveMemory).
 *
 * DESIGN: the words of the query may be given as one quoted argument or as
 * several; they are joined with spaces, like a search box. Results come
 * best first, with their scores. Threads: the CLI's one thread.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "render.h"

static const char usage[] =
    "usage: mnemo search QUERY... [--limit N] [--tag TAG]... [--min-score X]\n"
    "\n"
    "Ranks memories by relevance to the query (BM25) and shows the best\n"
    "first, with their scores.\n"
    "\n"
    "  QUERY...         the query; several words are joined with spaces\n"
    "  --limit N        at most N results (0 = the server's default, 10)\n"
    "  --tag TAG        only memories with any of these tags (repeatable)\n"
    "  --min-score X    drop results scoring below X\n"
    "  --json           print {\"results\": [{\"score\": x, \"memory\": {...}}], \"truncated\": "
    "b}\n";

enum { OPT_LIMIT = 1, OPT_TAG, OPT_MIN_SCORE };

static const cli_option_t options[] = {{"--limit", 1, OPT_LIMIT},
                                       {"--tag", 1, OPT_TAG},
                                       {"--min-score", 1, OPT_MIN_SCORE},
                                       CLI_COMMON_OPTIONS};

typedef struct search_args {
    cli_strv_t words;
    cli_strv_t tags;
    int64_t limit;
    double min_score;
} search_args_t;

/* Handles one of the command's own arguments (cli_arg_fn). */
static int search_arg(void *out, const cli_command_t *self, int id, const char *value)
{
    search_args_t *sa = out;
    switch (id) {
    case OPT_LIMIT:
        if (cli_parse_int(&sa->limit, value, 0, INT32_MAX) != 0)
            return cli_usage_error(self, "--limit: '%s' is not a number >= 0", value);
        return CLI_CONTINUE;
    case OPT_TAG:
        return cli_strv_push(&sa->tags, value) == 0 ? CLI_CONTINUE : cli_out_of_memory();
    case OPT_MIN_SCORE:
        if (cli_parse_double(&sa->min_score, value) != 0)
            return cli_usage_error(self, "--min-score: '%s' is not a number", value);
        return CLI_CONTINUE;
    default: /* CLI_ARG_POSITIONAL: a word of the query */
        return cli_strv_push(&sa->words, value) == 0 ? CLI_CONTINUE : cli_out_of_memory();
    }
}

static int parse(search_args_t *sa, cli_ctx_t *ctx, const cli_command_t *self, int argc,
                 char **argv)
{
    int rc = cli_parse_args(sa, search_arg, ctx, self, options, argc, argv);
    if (rc == CLI_CONTINUE && sa->words.n == 0)
        rc = cli_usage_error(self, "QUERY is missing");
    return rc;
}

static void print_json(const Mnemo__V1__RetrieveMemoryResponse *resp)
{
    cli_json_t j;
    cli_json_init(&j, stdout);
    cli_json_begin_object(&j);
    cli_json_key(&j, "results");
    cli_json_begin_array(&j);
    for (size_t i = 0; i < resp->n_results; i++) {
        cli_json_begin_object(&j);
        cli_json_field_double(&j, "score", resp->results[i]->score);
        cli_json_key(&j, "memory");
        if (resp->results[i]->memory != NULL)
            cli_json_memory(&j, resp->results[i]->memory);
        else
            cli_json_null(&j);
        cli_json_end_object(&j);
    }
    cli_json_end_array(&j);
    cli_json_field_bool(&j, "truncated", resp->truncated);
    cli_json_end_object(&j);
    cli_json_finish(&j);
}

static int print_human(const Mnemo__V1__RetrieveMemoryResponse *resp)
{
    cli_memory_row_t *rows = calloc(resp->n_results + 1, sizeof(*rows));
    if (rows == NULL)
        return cli_out_of_memory();
    size_t n = 0;
    for (size_t i = 0; i < resp->n_results; i++) {
        if (resp->results[i]->memory == NULL)
            continue;
        rows[n].memory = resp->results[i]->memory;
        rows[n].score = resp->results[i]->score;
        n++;
    }
    if (n == 0)
        printf("no results\n");
    else
        cli_print_memory_table(stdout, rows, n, 1);
    free(rows);
    return CLI_EXIT_OK;
}

static int search(cli_ctx_t *ctx, const search_args_t *sa, char *query)
{
    Mnemo__V1__RetrieveMemoryRequest req = MNEMO__V1__RETRIEVE_MEMORY_REQUEST__INIT;
    req.query = query;
    req.limit = (int32_t)sa->limit;
    req.n_tags = sa->tags.n;
    req.tags = sa->tags.v;
    req.min_score = sa->min_score;
    Mnemo__V1__RetrieveMemoryResponse *resp = NULL;
    mnemo_call_error_t err;
    if (mnemo_client_retrieve_memory(&resp, ctx->client, &req, &err) != MNEMO_CODE_OK)
        return cli_call_failed(ctx, &err);
    int rc = CLI_EXIT_OK;
    if (ctx->json)
        print_json(resp);
    else
        rc = print_human(resp);
    cli_note_truncated(resp->truncated);
    mnemo_client_free_message(resp);
    return rc;
}

static int run(cli_ctx_t *ctx, const cli_command_t *self, int argc, char **argv)
{
    search_args_t sa;
    memset(&sa, 0, sizeof(sa));
    char *query = NULL;
    int rc = parse(&sa, ctx, self, argc, argv);
    if (rc != CLI_CONTINUE)
        goto done;
    query = cli_strv_join(&sa.words, " ");
    if (query == NULL) {
        rc = cli_out_of_memory();
        goto done;
    }
    rc = cli_connect(ctx);
    if (rc != CLI_EXIT_OK)
        goto done;
    rc = search(ctx, &sa, query);
done:
    free(query);
    cli_strv_cleanup(&sa.words);
    cli_strv_cleanup(&sa.tags);
    return rc;
}

const cli_command_t cli_cmd_search = {"search", "rank memories by relevance to a query", usage,
                                      run};
