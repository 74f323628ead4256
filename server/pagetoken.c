/* pagetoken.c - page tokens signed with HMAC-SHA256 under a per-store key
 * (format and guarantees in pagetoken.h).
 *
 * DESIGN: the MAC is hash.c's (OpenSSL); this file only frames what it
 * covers. The position length is inside the MAC so that the boundary
 * between position and binding cannot be shifted, and the purpose is
 * NUL-terminated so that no purpose is a prefix of another's message.
 * Decoding checks the length before decoding hex, and every refusal has
 * the same message, so a client learns nothing about why.
 *
 * Threads: encode, decode and refuse are pure; key_load reads and writes
 * the store it is given.
 */
#include "pagetoken.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "hash.h"

#define TOKEN_VERSION 2 /* 1: the formats before this module, refused */
#define MIN_RAW       (1 + 1 + MNEMO_PAGETOKEN_MAC_LEN)
#define MAX_RAW       (1 + MNEMO_PAGETOKEN_MAX_POS + MNEMO_PAGETOKEN_MAC_LEN)

_Static_assert(MNEMO_PAGETOKEN_MAX_POS <= UINT8_MAX, "the position length is one byte");
_Static_assert(MNEMO_PAGETOKEN_MAC_LEN <= MNEMO_SHA256_LEN, "a truncated HMAC-SHA256");

static const char key_record[] = MNEMO_PAGETOKEN_KEY_RECORD;

mnemo_status_t mnemo_pagetoken_key_load(mnemo_pagetoken_key_t *out, mnemo_store_t *store,
                                        mnemo_err_t *err)
{
    assert(out != NULL && store != NULL);
    const size_t klen = sizeof key_record - 1;
    char *val = NULL;
    size_t vlen = 0;
    mnemo_status_t st = mnemo_store_get(store, key_record, klen, &val, &vlen, err);
    if (st == MNEMO_OK) {
        if (vlen == MNEMO_PAGETOKEN_KEY_LEN)
            memcpy(out->bytes, val, MNEMO_PAGETOKEN_KEY_LEN);
        else
            st = mnemo_err_set(err, MNEMO_ECORRUPT, "page token key: bad length %zu", vlen);
        free(val);
        return st;
    }
    if (st != MNEMO_ENOTFOUND)
        return st;
    mnemo_pagetoken_key_t key;
    mnemo_random_bytes(key.bytes, sizeof key.bytes); /* first open of this store */
    mnemo_store_batch_t *batch = mnemo_store_batch_create();
    mnemo_store_batch_put(batch, key_record, klen, key.bytes, sizeof key.bytes);
    st = mnemo_store_write(store, batch, true, err);
    mnemo_store_batch_destroy(batch);
    if (st == MNEMO_OK)
        *out = key;
    return st;
}

static void token_mac(uint8_t mac[MNEMO_PAGETOKEN_MAC_LEN], const mnemo_pagetoken_key_t *key,
                      const char *purpose, const uint8_t *pos, size_t pos_len, const void *binding,
                      size_t binding_len)
{
    mnemo_buf_t msg = {0};
    mnemo_buf_add(&msg, purpose, strlen(purpose) + 1); /* with its NUL */
    mnemo_buf_byte(&msg, TOKEN_VERSION);
    mnemo_buf_byte(&msg, (uint8_t)pos_len);
    mnemo_buf_add(&msg, pos, pos_len);
    if (binding_len > 0)
        mnemo_buf_add(&msg, binding, binding_len);
    uint8_t full[MNEMO_SHA256_LEN];
    mnemo_hmac_sha256(full, key->bytes, sizeof key->bytes, msg.p, msg.len);
    memcpy(mac, full, MNEMO_PAGETOKEN_MAC_LEN);
    mnemo_buf_cleanup(&msg);
}

char *mnemo_pagetoken_encode(const mnemo_pagetoken_key_t *key, const char *purpose, const void *pos,
                             size_t pos_len, const void *binding, size_t binding_len)
{
    assert(key != NULL && purpose != NULL && pos != NULL);
    assert(pos_len >= 1 && pos_len <= MNEMO_PAGETOKEN_MAX_POS);
    assert(binding != NULL || binding_len == 0);
    uint8_t raw[MAX_RAW];
    size_t len = 1 + pos_len + MNEMO_PAGETOKEN_MAC_LEN;
    raw[0] = TOKEN_VERSION;
    memcpy(raw + 1, pos, pos_len);
    token_mac(raw + 1 + pos_len, key, purpose, raw + 1, pos_len, binding, binding_len);
    char *hex = mnemo_xmalloc(2 * len + 1);
    mnemo_hex_encode(hex, raw, len);
    return hex;
}

mnemo_status_t mnemo_pagetoken_decode(uint8_t *pos, size_t *pos_len,
                                      const mnemo_pagetoken_key_t *key, const char *purpose,
                                      const void *binding, size_t binding_len, const char *token,
                                      mnemo_err_t *err)
{
    assert(pos != NULL && pos_len != NULL && key != NULL && purpose != NULL && token != NULL);
    assert(binding != NULL || binding_len == 0);
    size_t hex_len = strnlen(token, MNEMO_PAGETOKEN_MAX_LEN + 1);
    size_t len = hex_len / 2;
    uint8_t raw[MAX_RAW];
    /* One spelling per token: the lowercase hex encode writes. */
    if (hex_len % 2 != 0 || len < MIN_RAW || len > MAX_RAW ||
        strspn(token, "0123456789abcdef") != hex_len ||
        !mnemo_hex_decode(raw, len, token, hex_len) || raw[0] != TOKEN_VERSION)
        return mnemo_pagetoken_refuse(err);
    size_t n = len - 1 - MNEMO_PAGETOKEN_MAC_LEN;
    uint8_t mac[MNEMO_PAGETOKEN_MAC_LEN];
    token_mac(mac, key, purpose, raw + 1, n, binding, binding_len);
    if (!mnemo_consttime_equal(mac, raw + 1 + n, MNEMO_PAGETOKEN_MAC_LEN))
        return mnemo_pagetoken_refuse(err);
    memcpy(pos, raw + 1, n);
    *pos_len = n;
    return MNEMO_OK;
}

mnemo_status_t mnemo_pagetoken_refuse(mnemo_err_t *err)
{
    return mnemo_err_set(err, MNEMO_EINVAL, "page_token: invalid or from another query");
}
