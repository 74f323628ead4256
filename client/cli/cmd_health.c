/* cmd_health.c - `mnemo health [SERVICE]`: the server's health
 * (grpc.health.v1.Health/Check).
 *
 * DESIGN: a probe for scripts: prints the serving status and exits 0 only
 * when it is SERVING, 1 for any other status or error, 3 when the server
 * cannot be reached. Threads: the CLI's one thread.
 */
#include <stdio.h>

#include "cli.h"
#include "json.h"

static const char usage[] =
    "usage: mnemo health [SERVICE]\n"
    "\n"
    "Asks the server whether SERVICE (default: the whole server) is serving\n"
    "and prints the status: SERVING, NOT_SERVING, ... Exits 0 only when\n"
    "SERVING. Services: mnemo.v1.MemoryService, mnemo.v1.RepositoryService.\n"
    "\n"
    "  --json   print {\"service\": \"...\", \"status\": \"...\"}\n";

static int run(cli_ctx_t *ctx, const cli_command_t *self, int argc, char **argv)
{
    const char *service = NULL;
    int rc = cli_parse_single_and_connect(&service, NULL, ctx, self, argc, argv);
    if (rc != CLI_CONTINUE)
        return rc;
    int status = 0;
    mnemo_call_error_t err;
    if (mnemo_client_health_check(ctx->client, service, &status, &err) != MNEMO_CODE_OK)
        return cli_call_failed(ctx, &err);
    const char *name = mnemo_client_serving_status_name(status);
    if (ctx->json) {
        cli_json_t j;
        cli_json_init(&j, stdout);
        cli_json_begin_object(&j);
        cli_json_field_string(&j, "service", service != NULL ? service : "");
        cli_json_field_string(&j, "status", name);
        cli_json_end_object(&j);
        cli_json_finish(&j);
    } else {
        printf("%s\n", name);
    }
    return status == MNEMO_SERVING_STATUS_SERVING ? CLI_EXIT_OK : CLI_EXIT_SERVER;
}

const cli_command_t cli_cmd_health = {"health", "check the server's health", usage, run};
