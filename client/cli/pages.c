/* pages.c - fetching and printing the pages of a List call (see pages.h).
 *
 * DESIGN: every page is kept until the command has printed, because the
 * items the command shows point into them; --all shows every page as one
 * list. Part of mnemo_cli_core. Threads: the CLI's one thread.
 */
#include "pages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends page to p; on failure frees it. Returns CLI_CONTINUE or 1. */
static int push_page(cli_pages_t *p, ProtobufCMessage *page, const char *next_page_token)
{
    ProtobufCMessage **v = realloc(p->v, (p->n + 1) * sizeof(*v));
    if (v == NULL) {
        mnemo_client_free_message(page);
        return cli_out_of_memory();
    }
    p->v = v;
    p->v[p->n++] = page;
    p->next_page_token = next_page_token;
    return CLI_CONTINUE;
}

int cli_pages_fetch(cli_pages_t *p, cli_ctx_t *ctx, cli_page_fetch_fn fetch, const void *arg,
                    const char *page_token, int all)
{
    const char *token = page_token != NULL ? page_token : "";
    for (;;) {
        ProtobufCMessage *page = NULL;
        const char *next = NULL;
        mnemo_call_error_t err;
        if (fetch(&page, &next, ctx->client, arg, token, &err) != MNEMO_CODE_OK)
            return cli_call_failed(ctx, &err);
        int rc = push_page(p, page, next);
        if (rc != CLI_CONTINUE)
            return rc;
        if (!all || next[0] == '\0')
            return CLI_EXIT_OK;
        if (strcmp(next, token) == 0) {
            fprintf(stderr, "mnemo: the server returned the same page token twice\n");
            return CLI_EXIT_SERVER;
        }
        token = next;
    }
}

void cli_pages_print_json(const cli_pages_t *p, const char *key, cli_page_json_fn write_items)
{
    cli_json_t j;
    cli_json_init(&j, stdout);
    cli_json_begin_object(&j);
    cli_json_key(&j, key);
    cli_json_begin_array(&j);
    for (size_t i = 0; i < p->n; i++)
        write_items(&j, p->v[i]);
    cli_json_end_array(&j);
    cli_json_field_string(&j, "next_page_token", p->next_page_token);
    cli_json_end_object(&j);
    cli_json_finish(&j);
}

void cli_pages_print_more(const cli_pages_t *p, const cli_command_t *cmd)
{
    fflush(stdout); /* keep the table before the hint when both go to one place */
    if (p->next_page_token[0] != '\0')
        fprintf(stderr, "more: mnemo %s --page-token %s\n", cmd->name, p->next_page_token);
}

void cli_pages_cleanup(cli_pages_t *p)
{
    for (size_t i = 0; i < p->n; i++)
        mnemo_client_free_message(p->v[i]);
    free(p->v);
    memset(p, 0, sizeof(*p));
}
