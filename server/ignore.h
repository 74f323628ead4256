/* ignore.h - .gitignore rules: which paths of a repository a sync skips.
 *
 * DESIGN: rules come in sets, one per ignore file, each scoped to the
 * directory holding the file (`base`, relative to the repository root, ""
 * for the root; .git/info/exclude is a root set). Sets are pushed when the
 * walker enters a directory and popped when it leaves, so the rules in force
 * are always those of the current directory's ancestors. Matching follows
 * gitignore(5): blank lines and '#' comments ignored, trailing spaces
 * trimmed unless escaped, '!' negates, a leading or middle '/' anchors the
 * pattern to its base, a trailing '/' matches directories only, '*' and '?'
 * and [...] classes never cross '/', '**' spans directories ("**" + "/x",
 * "a/" + "**", "a/" + "**" + "/b"), '\' escapes. The last matching rule wins;
 * deeper sets come later. As in git, a path inside an ignored directory
 * stays ignored (the walker never descends into it).
 *
 * Threads: one ignore stack per walk; not shared.
 */
#ifndef MNEMO_IGNORE_H
#define MNEMO_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct mnemo_ignore mnemo_ignore_t;

mnemo_ignore_t *mnemo_ignore_create(void);
void mnemo_ignore_destroy(mnemo_ignore_t *ig);

/* Pushes the rules of text[0..len) (gitignore format) scoped to base
 * (relative directory path without trailing '/', "" for the root). */
void mnemo_ignore_push(mnemo_ignore_t *ig, const char *base, const char *text, size_t len);

/* Pops the most recently pushed set. */
void mnemo_ignore_pop(mnemo_ignore_t *ig);

/* Number of sets pushed and not popped. */
size_t mnemo_ignore_depth(const mnemo_ignore_t *ig);

/* True when relpath (relative to the root, '/'-separated, no leading '/')
 * is ignored by the rules in force; is_dir says whether it is a directory. */
bool mnemo_ignore_match(const mnemo_ignore_t *ig, const char *relpath, bool is_dir);

#endif
