/* fuzz_pagetoken.c - libFuzzer target: the page-token parser
 * (mnemo_pagetoken_decode) and its round trip with the encoder.
 *
 * DESIGN: input = flags byte | binding length byte | binding | token text.
 * Flags bit 0 picks the purpose (ListMemories or ListRepositories); the
 * binding length is taken modulo 64 and capped by what is left; the token
 * text is the rest, NUL-terminated (an embedded NUL ends it, as in a
 * decoded request). The key is fixed (bytes 0..31), so the seed corpus can
 * hold tokens that verify (tests/fuzz/make_corpus.sh signs them). Checks:
 *   - decode refuses with MNEMO_EINVAL and the one refusal message, leaving
 *     the position untouched, or accepts a position of 1..MAX_POS bytes
 *     whose token, encoded again, is the input token byte for byte (one
 *     spelling per token: upper-case hex is refused) and which the other
 *     purpose and a longer binding refuse;
 *   - the token text taken as a position (1..MAX_POS bytes) round-trips:
 *     encode gives lowercase hex of the documented length, decode gives
 *     the position back, and the token is refused under the other
 *     purpose, with another binding, with any one hex digit changed, and
 *     with its last byte cut off.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "pagetoken.h"

#define REFUSAL "page_token: invalid or from another query"

static mnemo_pagetoken_key_t key;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    for (size_t i = 0; i < sizeof key.bytes; i++)
        key.bytes[i] = (uint8_t)i;
    return 0;
}

typedef struct input {
    const char *purpose, *other;
    const uint8_t *binding;
    size_t binding_len;
    char *token; /* NUL-terminated copy, the caller's */
    size_t token_len;
} input_t;

static void split(input_t *in, const uint8_t *data, size_t size)
{
    bool repos = size > 0 && (data[0] & 1) != 0;
    in->purpose = repos ? MNEMO_PAGETOKEN_REPOS : MNEMO_PAGETOKEN_MEMORIES;
    in->other = repos ? MNEMO_PAGETOKEN_MEMORIES : MNEMO_PAGETOKEN_REPOS;
    size_t skip = size < 2 ? size : 2;
    size_t blen = size >= 2 ? data[1] % 64u : 0;
    if (blen > size - skip)
        blen = size - skip;
    in->binding = data + skip;
    in->binding_len = blen;
    const uint8_t *rest = data + skip + blen;
    size_t rest_len = size - skip - blen;
    in->token = malloc(rest_len + 1);
    FUZZ_CHECK(in->token != NULL);
    memcpy(in->token, rest, rest_len);
    in->token[rest_len] = '\0';
    in->token_len = strlen(in->token);
}

/* binding may be NULL only when its length is 0. */
static const void *binding_of(const input_t *in)
{
    return in->binding_len > 0 ? in->binding : NULL;
}

static bool refused(const char *purpose, const void *binding, size_t binding_len, const char *token)
{
    uint8_t pos[MNEMO_PAGETOKEN_MAX_POS];
    size_t pos_len = SIZE_MAX;
    mnemo_err_t err = {{0}};
    mnemo_status_t st =
        mnemo_pagetoken_decode(pos, &pos_len, &key, purpose, binding, binding_len, token, &err);
    if (st == MNEMO_OK)
        return false;
    FUZZ_CHECK(st == MNEMO_EINVAL && strcmp(err.msg, REFUSAL) == 0 && pos_len == SIZE_MAX);
    return true;
}

/* A binding that differs from in's: one byte longer (or shorter). */
static void other_binding(uint8_t *out, size_t *len, const input_t *in)
{
    memcpy(out, in->binding, in->binding_len);
    out[in->binding_len] = 0x5a;
    *len = in->binding_len + 1;
}

static void check_decoded(const input_t *in)
{
    uint8_t pos[MNEMO_PAGETOKEN_MAX_POS];
    size_t pos_len = SIZE_MAX;
    mnemo_err_t err = {{0}};
    mnemo_status_t st = mnemo_pagetoken_decode(pos, &pos_len, &key, in->purpose, binding_of(in),
                                               in->binding_len, in->token, &err);
    if (st != MNEMO_OK) {
        FUZZ_CHECK(st == MNEMO_EINVAL && strcmp(err.msg, REFUSAL) == 0 && pos_len == SIZE_MAX);
        return;
    }
    FUZZ_CHECK(pos_len >= 1 && pos_len <= MNEMO_PAGETOKEN_MAX_POS);
    char *again =
        mnemo_pagetoken_encode(&key, in->purpose, pos, pos_len, binding_of(in), in->binding_len);
    FUZZ_CHECK(strcmp(again, in->token) == 0);
    free(again);
    FUZZ_CHECK(refused(in->other, binding_of(in), in->binding_len, in->token));
    uint8_t b[64 + 1];
    size_t blen = 0;
    other_binding(b, &blen, in);
    FUZZ_CHECK(refused(in->purpose, b, blen, in->token));
}

/* Replaces hex digit c by another one, chosen by salt. */
static char other_digit(char c, unsigned salt)
{
    static const char digits[] = "0123456789abcdef";
    char d = digits[salt % 16];
    return d != c ? d : digits[(salt + 1) % 16];
}

static void check_round_trip(const input_t *in, unsigned salt)
{
    if (in->token_len < 1 || in->token_len > MNEMO_PAGETOKEN_MAX_POS)
        return;
    const uint8_t *pos = (const uint8_t *)in->token;
    size_t pos_len = in->token_len;
    char *tok =
        mnemo_pagetoken_encode(&key, in->purpose, pos, pos_len, binding_of(in), in->binding_len);
    size_t len = strlen(tok);
    FUZZ_CHECK(len == 2 * (1 + pos_len + MNEMO_PAGETOKEN_MAC_LEN));
    FUZZ_CHECK(len <= MNEMO_PAGETOKEN_MAX_LEN && strspn(tok, "0123456789abcdef") == len);

    uint8_t out[MNEMO_PAGETOKEN_MAX_POS];
    size_t out_len = 0;
    mnemo_err_t err = {{0}};
    FUZZ_CHECK(mnemo_pagetoken_decode(out, &out_len, &key, in->purpose, binding_of(in),
                                      in->binding_len, tok, &err) == MNEMO_OK);
    FUZZ_CHECK(out_len == pos_len && memcmp(out, pos, pos_len) == 0);

    FUZZ_CHECK(refused(in->other, binding_of(in), in->binding_len, tok));
    uint8_t b[64 + 1];
    size_t blen = 0;
    other_binding(b, &blen, in);
    FUZZ_CHECK(refused(in->purpose, b, blen, tok));
    if (in->binding_len > 0)
        FUZZ_CHECK(refused(in->purpose, in->binding, in->binding_len - 1, tok));

    size_t at = salt % len;
    char saved = tok[at];
    tok[at] = other_digit(saved, salt >> 8);
    FUZZ_CHECK(refused(in->purpose, binding_of(in), in->binding_len, tok));
    tok[at] = saved;
    tok[len - 2] = '\0';
    FUZZ_CHECK(refused(in->purpose, binding_of(in), in->binding_len, tok));
    free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input_t in;
    split(&in, data, size);
    check_decoded(&in);
    unsigned salt = size > 0 ? data[size - 1] * 257u + (unsigned)size : 0;
    check_round_trip(&in, salt);
    free(in.token);
    return 0;
}
