/* cmd_store.c - `mnemo store`: store a memory (StoreMemory).
 *
 * DESIGN: the content comes from the one positional argument, or from
 * stdin when it is "-" (trailing newlines removed, as $(...) would, so
 * `echo hi | mnemo store -` and `mnemo store hi` store the same memory).
 * Repeated --meta keys: the last one wins. Threads: the CLI's one thread.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "render.h"

static const char usage[] =
    "usage: mnemo store CONTENT|- [--tag TAG]... [--meta KEY=VALUE]... [--type TYPE]\n"
    "\n"
    "Stores a memory and prints its id (the SHA-256 of the content). Storing\n"
    "content that is already stored merges the tags into the existing memory.\n"
    "\n"
    "  CONTENT            the text; '-' reads it from stdin (trailing newlines\n"
    "                     are removed)\n"
    "  --tag TAG          a tag (repeatable)\n"
    "  --meta KEY=VALUE   a metadata entry (repeatable; a repeated key replaces\n"
    "                     the earlier value)\n"
    "  --type TYPE        the memory type, e.g. note\n"
    "  --                 ends the options: 'mnemo store -- -text-' stores \"-text-\"\n"
    "  --json             print {\"created\": bool, \"memory\": {...}}\n";

enum { OPT_TAG = 1, OPT_META, OPT_TYPE };

static const cli_option_t options[] = {
    {"--tag", 1, OPT_TAG}, {"--meta", 1, OPT_META}, {"--type", 1, OPT_TYPE}, CLI_COMMON_OPTIONS};

typedef struct store_args {
    const char *content; /* the positional: text or "-" */
    cli_strv_t tags;
    cli_meta_t meta;
    const char *type;
} store_args_t;

static int add_meta(store_args_t *sa, const cli_command_t *self, const char *arg)
{
    char *key, *value;
    if (cli_parse_meta(&key, &value, arg) != 0)
        return cli_usage_error(self, "--meta: '%s' is not KEY=VALUE", arg);
    if (cli_meta_set(&sa->meta, key, value) != 0)
        return cli_out_of_memory();
    return CLI_CONTINUE;
}

/* Handles one of the command's own arguments (cli_arg_fn). */
static int store_arg(void *out, const cli_command_t *self, int id, const char *value)
{
    store_args_t *sa = out;
    switch (id) {
    case OPT_TAG:
        return cli_strv_push(&sa->tags, value) == 0 ? CLI_CONTINUE : cli_out_of_memory();
    case OPT_META:
        return add_meta(sa, self, value);
    case OPT_TYPE:
        sa->type = value;
        return CLI_CONTINUE;
    default: /* CLI_ARG_POSITIONAL: the content */
        if (sa->content != NULL)
            return cli_usage_error(self, "one CONTENT only (quote text with spaces)");
        sa->content = value;
        return CLI_CONTINUE;
    }
}

static int parse(store_args_t *sa, cli_ctx_t *ctx, const cli_command_t *self, int argc, char **argv)
{
    int rc = cli_parse_args(sa, store_arg, ctx, self, options, argc, argv);
    if (rc == CLI_CONTINUE && sa->content == NULL)
        rc = cli_usage_error(self, "CONTENT is missing");
    return rc;
}

/* The content to store, malloc'd: the argument, or stdin for "-". */
static int load_content(char **out, const cli_command_t *self, const char *arg)
{
    if (strcmp(arg, "-") != 0) {
        *out = strdup(arg);
        return *out != NULL ? CLI_CONTINUE : cli_out_of_memory();
    }
    size_t len;
    if (cli_read_all(out, &len, stdin) != 0) {
        fprintf(stderr, "mnemo store: cannot read stdin\n");
        return CLI_EXIT_USAGE;
    }
    if (strlen(*out) != len) {
        free(*out);
        *out = NULL;
        return cli_usage_error(self, "stdin holds a NUL byte: binary content is not supported");
    }
    cli_trim_newlines(*out, len);
    return CLI_CONTINUE;
}

static void print_result(const cli_ctx_t *ctx, const Mnemo__V1__StoreMemoryResponse *resp)
{
    if (ctx->json) {
        cli_json_t j;
        cli_json_init(&j, stdout);
        cli_json_begin_object(&j);
        cli_json_field_bool(&j, "created", resp->created);
        cli_json_key(&j, "memory");
        if (resp->memory != NULL)
            cli_json_memory(&j, resp->memory);
        else
            cli_json_null(&j);
        cli_json_end_object(&j);
        cli_json_finish(&j);
        return;
    }
    const char *id = resp->memory != NULL ? resp->memory->id : "?";
    if (resp->created)
        printf("stored %s\n", id);
    else
        printf("already stored %s (tags merged)\n", id);
}

/* Calls StoreMemory with the parsed arguments and prints the result. */
static int store(cli_ctx_t *ctx, const store_args_t *sa, char *content)
{
    size_t n = sa->meta.n;
    Mnemo__V1__StoreMemoryRequest__MetadataEntry *entries = calloc(n + 1, sizeof(*entries));
    Mnemo__V1__StoreMemoryRequest__MetadataEntry **ptrs = calloc(n + 1, sizeof(*ptrs));
    if (entries == NULL || ptrs == NULL) {
        free(entries);
        free(ptrs);
        return cli_out_of_memory();
    }
    Mnemo__V1__StoreMemoryRequest req = MNEMO__V1__STORE_MEMORY_REQUEST__INIT;
    req.content = content;
    req.n_tags = sa->tags.n;
    req.tags = sa->tags.v;
    for (size_t i = 0; i < n; i++) {
        mnemo__v1__store_memory_request__metadata_entry__init(&entries[i]);
        entries[i].key = sa->meta.keys[i];
        entries[i].value = sa->meta.values[i];
        ptrs[i] = &entries[i];
    }
    req.n_metadata = n;
    req.metadata = ptrs;
    if (sa->type != NULL)
        req.memory_type = (char *)sa->type;

    Mnemo__V1__StoreMemoryResponse *resp = NULL;
    mnemo_call_error_t err;
    int rc = mnemo_client_store_memory(&resp, ctx->client, &req, &err);
    if (rc == MNEMO_CODE_OK)
        print_result(ctx, resp);
    else
        rc = cli_call_failed(ctx, &err);
    mnemo_client_free_message(resp);
    free(entries);
    free(ptrs);
    return rc;
}

static int run(cli_ctx_t *ctx, const cli_command_t *self, int argc, char **argv)
{
    store_args_t sa;
    memset(&sa, 0, sizeof(sa));
    char *content = NULL;
    int rc = parse(&sa, ctx, self, argc, argv);
    if (rc != CLI_CONTINUE)
        goto done;
    rc = load_content(&content, self, sa.content);
    if (rc != CLI_CONTINUE)
        goto done;
    rc = cli_connect(ctx);
    if (rc != CLI_EXIT_OK)
        goto done;
    rc = store(ctx, &sa, content);
done:
    free(content);
    cli_strv_cleanup(&sa.tags);
    cli_meta_cleanup(&sa.meta);
    return rc;
}

const cli_command_t cli_cmd_store = {"store", "store a memory (text or - for stdin)", usage, run};
