/* synctree.h - the generated trees and the search comparisons that the
 * sync integration tests share (test_sync.c, and the kill -9 trials of
 * test_server_lifecycle.c): what a sync indexes, and whether two servers
 * answer SearchCode the same.
 *
 * DESIGN: a flat tree holds n small C files f0000.c ... named so that
 * their sorted order (the order a sync processes them in) is their index
 * order; file i holds one identifier of its own, "<tag><5 digits>q", on
 * line SYNCTREE_IDENT_LINE, which the tokenizer keeps as a single term,
 * and the word "sharedword" for broad queries. Comparisons sort the hits
 * by path and line, so two indexes built in a different order compare
 * equal when they hold the same chunks with the same scores.
 *
 * Threads: the CUnit thread (failures are reported through CHECK).
 */
#ifndef MNEMO_SYNCTREE_H
#define MNEMO_SYNCTREE_H

#include <stddef.h>

#include "mnemo/client.h"

#define SYNCTREE_IDENT_LINE 4

/* The identifier of file i of tree tag into out. */
void synctree_ident(char out[64], const char *tag, int i);

/* Writes file i of tree tag at path. */
void synctree_write_source(const char *path, const char *tag, int i);

/* Creates dir (its parent must exist) holding n files of tree tag. */
void synctree_write_flat(const char *dir, const char *tag, int n);

/* SearchCode of query (repo, prefix: NULL for all); the response, the
 * caller's, or NULL after a failed check. */
Mnemo__V1__SearchCodeResponse *synctree_search(mnemo_client_t *c, const char *query,
                                               const char *repo, const char *prefix, int limit);

/* Checks that a and b give the same want hits (path, lines, content,
 * score) for query in repo. Returns the number of differences (0: same;
 * -1: a search failed or the counts differ). */
int synctree_expect_same_hits(mnemo_client_t *a, mnemo_client_t *b, const char *query,
                              const char *repo, size_t want);

/* The same over the queries that cover a flat tree of n files of tag:
 * "sharedword" (every file), a phrase of every header comment, and the
 * identifiers of every 37th file. Returns the number of queries that
 * differed. */
int synctree_expect_same_search(mnemo_client_t *a, mnemo_client_t *b, const char *repo,
                                const char *tag, int n);

#endif
