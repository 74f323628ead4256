/* cmd_delete.c - `mnemo delete ID`: delete a memory (DeleteMemory).
 *
 * DESIGN: deleting is idempotent: an id that is not there prints
 * "not found" and still exits 0, so scripts can delete without checking
 * first. Threads: the CLI's one thread.
 */
#include <string.h>

#include "cli.h"
#include "json.h"

static const char usage[] = "usage: mnemo delete ID\n"
                            "\n"
                            "Deletes the memory with this id. Deleting an id that is not\n"
                            "stored prints 'not found' and succeeds (exit status 0).\n"
                            "\n"
                            "  --json   print {\"id\": ID, \"deleted\": bool}\n";

static int run(cli_ctx_t *ctx, const cli_command_t *self, int argc, char **argv)
{
    const char *id = NULL;
    int rc = cli_parse_single_and_connect(&id, "ID", ctx, self, argc, argv);
    if (rc != CLI_CONTINUE)
        return rc;
    Mnemo__V1__DeleteMemoryRequest req = MNEMO__V1__DELETE_MEMORY_REQUEST__INIT;
    req.id = (char *)id;
    Mnemo__V1__DeleteMemoryResponse *resp = NULL;
    mnemo_call_error_t err;
    if (mnemo_client_delete_memory(&resp, ctx->client, &req, &err) != MNEMO_CODE_OK)
        return cli_call_failed(ctx, &err);
    if (ctx->json) {
        cli_json_t j;
        cli_json_init(&j, stdout);
        cli_json_begin_object(&j);
        cli_json_field_string(&j, "id", id);
        cli_json_field_bool(&j, "deleted", resp->deleted);
        cli_json_end_object(&j);
        cli_json_finish(&j);
    } else {
        printf("%s %s\n", resp->deleted ? "deleted" : "not found:", id);
    }
    mnemo_client_free_message(resp);
    return CLI_EXIT_OK;
}

const cli_command_t cli_cmd_delete = {"delete", "delete a memory by id (idempotent)", usage, run};
