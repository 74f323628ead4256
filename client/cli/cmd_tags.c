/* cmd_tags.c - `mnemo tags TAG...`: memories carrying tags (SearchByTag).
 *
 * DESIGN: any of the tags by default, all of them with --all; newest
 * first, shown like `list`. Threads: the CLI's one thread.
 */
#include <string.h>

#include "cli.h"
#include "render.h"

static const char usage[] =
    "usage: mnemo tags TAG... [--all] [--limit N]\n"
    "\n"
    "Shows the memories that carry any of the tags (all of them with --all),\n"
    "newest first.\n"
    "\n"
    "  --all       only memories carrying every tag\n"
    "  --limit N   at most N memories (0 = the server's default, 10)\n"
    "  --json      print {\"memories\": [...], \"truncated\": b}\n";

enum { OPT_ALL = 1, OPT_LIMIT };

static const cli_option_t options[] = {
    {"--all", 0, OPT_ALL}, {"--limit", 1, OPT_LIMIT}, CLI_COMMON_OPTIONS};

typedef struct tags_args {
    cli_strv_t tags;
    int all;
    int64_t limit;
} tags_args_t;

/* Handles one of the command's own arguments (cli_arg_fn). */
static int tags_arg(void *out, const cli_command_t *self, int id, const char *value)
{
    tags_args_t *ta = out;
    switch (id) {
    case OPT_ALL:
        ta->all = 1;
        return CLI_CONTINUE;
    case OPT_LIMIT:
        if (cli_parse_int(&ta->limit, value, 0, INT32_MAX) != 0)
            return cli_usage_error(self, "--limit: '%s' is not a number >= 0", value);
        return CLI_CONTINUE;
    default: /* CLI_ARG_POSITIONAL: a tag */
        return cli_strv_push(&ta->tags, value) == 0 ? CLI_CONTINUE : cli_out_of_memory();
    }
}

static int parse(tags_args_t *ta, cli_ctx_t *ctx, const cli_command_t *self, int argc, char **argv)
{
    int rc = cli_parse_args(ta, tags_arg, ctx, self, options, argc, argv);
    if (rc == CLI_CONTINUE && ta->tags.n == 0)
        rc = cli_usage_error(self, "TAG is missing");
    return rc;
}

static void print_json(const Mnemo__V1__SearchByTagResponse *resp)
{
    cli_json_t j;
    cli_json_init(&j, stdout);
    cli_json_begin_object(&j);
    cli_json_key(&j, "memories");
    cli_json_begin_array(&j);
    for (size_t i = 0; i < resp->n_memories; i++)
        cli_json_memory(&j, resp->memories[i]);
    cli_json_end_array(&j);
    cli_json_field_bool(&j, "truncated", resp->truncated);
    cli_json_end_object(&j);
    cli_json_finish(&j);
}

static int search_by_tag(cli_ctx_t *ctx, const tags_args_t *ta)
{
    Mnemo__V1__SearchByTagRequest req = MNEMO__V1__SEARCH_BY_TAG_REQUEST__INIT;
    req.n_tags = ta->tags.n;
    req.tags = ta->tags.v;
    req.match_all = ta->all;
    req.limit = (int32_t)ta->limit;
    Mnemo__V1__SearchByTagResponse *resp = NULL;
    mnemo_call_error_t err;
    if (mnemo_client_search_by_tag(&resp, ctx->client, &req, &err) != MNEMO_CODE_OK)
        return cli_call_failed(ctx, &err);
    int rc = CLI_EXIT_OK;
    if (ctx->json)
        print_json(resp);
    else
        rc = cli_print_memories(resp->memories, resp->n_memories);
    cli_note_truncated(resp->truncated);
    mnemo_client_free_message(resp);
    return rc;
}

static int run(cli_ctx_t *ctx, const cli_command_t *self, int argc, char **argv)
{
    tags_args_t ta;
    memset(&ta, 0, sizeof(ta));
    int rc = parse(&ta, ctx, self, argc, argv);
    if (rc != CLI_CONTINUE)
        goto done;
    rc = cli_connect(ctx);
    if (rc == CLI_EXIT_OK)
        rc = search_by_tag(ctx, &ta);
done:
    cli_strv_cleanup(&ta.tags);
    return rc;
}

const cli_command_t cli_cmd_tags = {"tags", "find memories by tag (any, or --all)", usage, run};
