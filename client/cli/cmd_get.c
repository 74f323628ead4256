/* cmd_get.c - `mnemo get ID`: show one memory (GetMemory).
 *
 * DESIGN: an absent id is the server's NOT_FOUND, reported like any other
 * error (exit 1), unlike `delete`. Threads: the CLI's one thread.
 */
#include <string.h>

#include "cli.h"
#include "render.h"

static const char usage[] = "usage: mnemo get ID\n"
                            "\n"
                            "Shows the memory with this id: its fields, then its content.\n"
                            "An absent id fails with NOT_FOUND (exit status 1).\n"
                            "\n"
                            "  --json   print the memory as one JSON object\n";

static int run(cli_ctx_t *ctx, const cli_command_t *self, int argc, char **argv)
{
    const char *id = NULL;
    int rc = cli_parse_single_and_connect(&id, "ID", ctx, self, argc, argv);
    if (rc != CLI_CONTINUE)
        return rc;
    Mnemo__V1__GetMemoryRequest req = MNEMO__V1__GET_MEMORY_REQUEST__INIT;
    req.id = (char *)id;
    Mnemo__V1__Memory *m = NULL;
    mnemo_call_error_t err;
    if (mnemo_client_get_memory(&m, ctx->client, &req, &err) != MNEMO_CODE_OK)
        return cli_call_failed(ctx, &err);
    if (ctx->json) {
        cli_json_t j;
        cli_json_init(&j, stdout);
        cli_json_memory(&j, m);
        cli_json_finish(&j);
    } else {
        cli_print_memory(stdout, m);
    }
    mnemo_client_free_message(m);
    return CLI_EXIT_OK;
}

const cli_command_t cli_cmd_get = {"get", "show one memory by id", usage, run};
