/* expect.h - the value language of the contract cases (tests/contract/
 * README.md): generators ($repeat, $seq, $sha256, $tree, $ref), paths into
 * result trees (keys, indexes, -1, *), and the matchers of `expect`.
 *
 * DESIGN: pure functions over jansson trees; no gRPC, no protobuf. Every
 * function that can fail writes what was expected and what came into err
 * (err_len bytes), the text of the runner's FAIL line.
 * Threads: no shared state; any thread.
 */
#ifndef MNEMO_EXPECT_H
#define MNEMO_EXPECT_H

#include <stddef.h>

#include <jansson.h>

/* What generators read: the allowed root ($tree) and the labelled results
 * of the case's earlier steps ($ref; an object label -> result). */
typedef struct expect_ctx {
    const char *root;
    const json_t *results;
} expect_ctx_t;

/* A copy of v with every generator object replaced by its value, innermost
 * first (a new reference), or NULL with err set (a $ref that does not
 * resolve, a generator with a malformed argument). */
json_t *expect_generate(const json_t *v, const expect_ctx_t *ctx, char *err, size_t err_len);

/* The value at path in v (a new reference: `*` builds an array), or NULL
 * with err set when the path does not resolve. "" is v itself. */
json_t *expect_resolve(const json_t *v, const char *path, char *err, size_t err_len);

/* Checks every entry of expect (path -> plain value or matcher object,
 * generators already applied) against result (NULL: no result). Returns 0
 * when all hold, else -1 with err naming the first that does not. */
int expect_check(const json_t *result, const json_t *expect, char *err, size_t err_len);

#endif
