/* pagetoken.h - the page tokens of every list mnemod serves (ListMemories,
 * ListRepositories): one format, signed under a per-store secret key.
 *
 * DESIGN: a token is the lowercase hex of
 *   u8 version (2) | position (1..MNEMO_PAGETOKEN_MAX_POS bytes) | mac (16)
 * where mac is the first MNEMO_PAGETOKEN_MAC_LEN bytes of HMAC-SHA256, under
 * the store's token key, of
 *   purpose '\0' | u8 version | u8 position length | position | binding.
 * The position is where the next page starts (the list's own bytes). The
 * purpose names the list (MNEMO_PAGETOKEN_MEMORIES, MNEMO_PAGETOKEN_REPOS),
 * so a token of one list is refused by the other even under one key; the
 * binding is what else the token is valid only with (ListMemories: its
 * sorted tag filter). So a client can neither forge a position nor replay a
 * token with another filter, another list or another store: any token this
 * key did not issue for this purpose and binding is MNEMO_EINVAL naming
 * "page_token", never a crash or a wrong page. Decoding bounds the length
 * before it reads and compares the MAC in constant time.
 *
 * The key is MNEMO_PAGETOKEN_KEY_LEN random bytes kept in the store under
 * MNEMO_PAGETOKEN_KEY_RECORD ('S' "token-key"), created on the first open;
 * the memory store and the code store each have their own. The memory
 * store's record is the one memories.c created before this module, so an
 * existing deployment keeps its key.
 *
 * Tokens issued before this format (version 1) are refused: a ListMemories
 * token of version 1 was signed without a purpose, a ListRepositories token
 * of version 1 carried an unkeyed checksum (which anyone could forge). A
 * client holding one gets INVALID_ARGUMENT "page_token: invalid or from
 * another query" and lists again from the first page.
 *
 * Threads: encode and decode are pure and may run on any thread; key_load
 * runs once per store, at open.
 */
#ifndef MNEMO_PAGETOKEN_H
#define MNEMO_PAGETOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "mnemo/status.h"
#include "store.h"

#define MNEMO_PAGETOKEN_KEY_LEN 32
#define MNEMO_PAGETOKEN_MAC_LEN 16
/* The longest position: a repository name (MNEMO_REPO_NAME_MAX). */
#define MNEMO_PAGETOKEN_MAX_POS 128
/* The longest token in characters (290): what a request's page_token may
 * be at most before it is decoded. */
#define MNEMO_PAGETOKEN_MAX_LEN (2 * (1 + MNEMO_PAGETOKEN_MAX_POS + MNEMO_PAGETOKEN_MAC_LEN))

/* The store key of the token key record. */
#define MNEMO_PAGETOKEN_KEY_RECORD "Stoken-key"

/* Purposes: one per list, never reused for another. */
#define MNEMO_PAGETOKEN_MEMORIES "mnemo.memories.list"
#define MNEMO_PAGETOKEN_REPOS    "mnemo.repos.list"

typedef struct mnemo_pagetoken_key {
    uint8_t bytes[MNEMO_PAGETOKEN_KEY_LEN];
} mnemo_pagetoken_key_t;

/* Reads store's token key into *out, or on the first open of store draws a
 * random one and writes it (sync=true) before returning. MNEMO_ECORRUPT
 * when the record has another length; the errors of mnemo_store_get and
 * mnemo_store_write otherwise. */
mnemo_status_t mnemo_pagetoken_key_load(mnemo_pagetoken_key_t *out, mnemo_store_t *store,
                                        mnemo_err_t *err);

/* The token of position pos (1..MNEMO_PAGETOKEN_MAX_POS bytes) for purpose
 * and binding (binding_len bytes; NULL when 0): a NUL-terminated string of
 * at most MNEMO_PAGETOKEN_MAX_LEN characters, the caller's (free()). */
char *mnemo_pagetoken_encode(const mnemo_pagetoken_key_t *key, const char *purpose, const void *pos,
                             size_t pos_len, const void *binding, size_t binding_len);

/* Checks token against key, purpose and binding and writes its position to
 * pos (MNEMO_PAGETOKEN_MAX_POS bytes of room) and its length to *pos_len.
 * MNEMO_EINVAL "page_token: invalid or from another query" for any token
 * that mnemo_pagetoken_encode did not return for the same key, purpose and
 * binding; pos and *pos_len are then untouched. */
mnemo_status_t mnemo_pagetoken_decode(uint8_t *pos, size_t *pos_len,
                                      const mnemo_pagetoken_key_t *key, const char *purpose,
                                      const void *binding, size_t binding_len, const char *token,
                                      mnemo_err_t *err);

/* Sets the error of a refused token (what decode returns), for a caller
 * whose own check of a decoded position fails. Returns MNEMO_EINVAL. */
mnemo_status_t mnemo_pagetoken_refuse(mnemo_err_t *err);

#endif
