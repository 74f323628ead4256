/* fuzz_tokenizer.c - libFuzzer target: mnemo_tokenize (tokenizer.h).
 *
 * DESIGN: the whole input is the text. Checks, for every term fed:
 *   - 1..MNEMO_TOKEN_MAX bytes of ASCII lower-case letters, digits, '_'
 *     (inside a whole identifier only: never first, and last only when
 *     the cut at MNEMO_TOKEN_MAX bytes fell after one) and bytes >= 0x80;
 *   - a substring of the text with its ASCII letters lower-cased (parts
 *     and whole identifiers are cut from it, never built);
 *   - valid UTF-8 whenever the text is (terms never end inside a
 *     sequence);
 * and that the count returned is the number of terms fed.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "tokenizer.h"
#include "utf8.h"

typedef struct seen {
    const char *lower; /* the text, ASCII lower-cased */
    size_t len;
    bool utf8; /* the text is valid UTF-8 */
    size_t terms;
} seen_t;

static bool term_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

static void on_term(void *ctx, const char *term, size_t len)
{
    seen_t *s = ctx;
    s->terms++;
    FUZZ_CHECK(len >= 1 && len <= MNEMO_TOKEN_MAX);
    for (size_t i = 0; i < len; i++)
        FUZZ_CHECK(term_byte((unsigned char)term[i]));
    /* A cut term is 61..64 bytes: backed off to a UTF-8 boundary. */
    FUZZ_CHECK(term[0] != '_' && (term[len - 1] != '_' || len > MNEMO_TOKEN_MAX - 4));
    FUZZ_CHECK(memmem(s->lower, s->len, term, len) != NULL);
    if (s->utf8)
        FUZZ_CHECK(mnemo_utf8_valid(term, len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *lower = malloc(size + 1);
    FUZZ_CHECK(lower != NULL);
    for (size_t i = 0; i < size; i++)
        lower[i] = (char)(data[i] >= 'A' && data[i] <= 'Z' ? data[i] | 0x20 : data[i]);
    seen_t s = {lower, size, mnemo_utf8_valid((const char *)data, size), 0};
    size_t n = mnemo_tokenize((const char *)data, size, on_term, &s);
    FUZZ_CHECK(n == s.terms);
    free(lower);
    return 0;
}
