/* args.h - command-line scanning for the mnemo CLI: options, numbers,
 * `--meta key=value` pairs, string lists and stdin content.
 *
 * DESIGN: pure functions over argv and plain buffers, no global state (no
 * getopt), so main.c and every cmd_*.c share one scanner and the unit tests
 * drive it directly. Options are long (`--tag T` or `--tag=T`) plus the few
 * short aliases a table lists; "-" is a positional (stdin) and "--" ends the
 * options. Part of mnemo_cli_core. Threads: any; nothing is shared.
 */
#ifndef MNEMO_CLI_ARGS_H
#define MNEMO_CLI_ARGS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One option of a table ending with {NULL, 0, 0}. */
typedef struct cli_option {
    const char *name; /* with its dashes: "--tag", "-h" */
    int has_arg;      /* 1: takes a value */
    int id;           /* > 0; what cli_args_next returns */
} cli_option_t;

#define CLI_ARG_POSITIONAL 0
#define CLI_ARG_END        (-1)
#define CLI_ARG_ERROR      (-2)

/* A scan over argv[1..argc-1]. Embedded; cli_args_init. */
typedef struct cli_args {
    int argc;
    char **argv;
    int index;                   /* next argv index to read */
    const cli_option_t *options; /* not owned */
    int options_done;            /* "--" seen: the rest is positional */
    const char *value;           /* the option's value or the positional */
    const char *name;            /* the option as the user spelled it, without "=value" */
    char error[160];             /* set on CLI_ARG_ERROR */
} cli_args_t;

void cli_args_init(cli_args_t *a, int argc, char **argv, const cli_option_t *options);

/* Reads the next argument. Returns an option id with a->value its value
 * (NULL for a flag); CLI_ARG_POSITIONAL with a->value the argument;
 * CLI_ARG_END; or CLI_ARG_ERROR with a->error saying why (unknown option,
 * missing value, value given to a flag). */
int cli_args_next(cli_args_t *a);

/* Parses a whole decimal integer in [min, max]; 0 on success, -1 otherwise
 * (*out untouched). */
int cli_parse_int(int64_t *out, const char *s, int64_t min, int64_t max);

/* Parses a finite decimal number; 0 on success, -1 otherwise. */
int cli_parse_double(double *out, const char *s);

/* Splits "key=value" at its first '='. *key and *value are malloc'd, the
 * caller's. 0 on success; -1 when there is no '=' or the key is empty. The
 * value may be empty and may contain '='. */
int cli_parse_meta(char **key, char **value, const char *arg);

/* A growable list of borrowed strings (argv entries). Embedded, zeroed to
 * start; cli_strv_cleanup frees the array, not the strings. */
typedef struct cli_strv {
    char **v;
    size_t n;
    size_t cap;
} cli_strv_t;

/* Appends s; 0 or -1 (out of memory). */
int cli_strv_push(cli_strv_t *l, const char *s);
void cli_strv_cleanup(cli_strv_t *l);

/* The strings of l joined with sep, malloc'd (the caller's); "" for an
 * empty list. NULL when out of memory. */
char *cli_strv_join(const cli_strv_t *l, const char *sep);

/* path made absolute against the current directory, malloc'd (the
 * caller's): its realpath when it exists, else path itself when absolute,
 * else "CWD/path". NULL when out of memory or the current directory cannot
 * be read. */
char *cli_absolute_path(const char *path);

/* Key/value pairs with owned strings; setting a key again replaces its
 * value, so the last `--meta k=v` wins. Embedded, zeroed to start. */
typedef struct cli_meta {
    char **keys;
    char **values;
    size_t n;
    size_t cap;
} cli_meta_t;

/* Takes ownership of key and value (both malloc'd); 0 or -1 (out of
 * memory, and then both are freed). */
int cli_meta_set(cli_meta_t *m, char *key, char *value);
void cli_meta_cleanup(cli_meta_t *m);

/* Reads f to its end into a malloc'd NUL-terminated buffer (the caller's).
 * 0 on success; -1 on a read error or out of memory. */
int cli_read_all(char **out, size_t *out_len, FILE *f);

/* Removes trailing "\n" and "\r\n" from s in place, like $(...) does;
 * returns the new length. */
size_t cli_trim_newlines(char *s, size_t len);

#endif
