/* e2e_secret.h - a short secret of the transport (the access token) sealed at rest with the key
 * that protects the E2EE pickles (DATA_DIR/e2e.key), so the store never holds it in clear. */
#ifndef HEARTH_E2E_SECRET_H
#define HEARTH_E2E_SECRET_H

#include <stdbool.h>

/* The form a sealed value has in the store: "sealed1:" then base64 of nonce and box. */
#define E2E_SECRET_TAG "sealed1:"

/* Seals plain with a key derived from the pickle key file at key_path (created 0600 when
 * missing). *out is a new string (free it). HE_IO when the key file cannot be had. */
int e2e_secret_seal(const char *key_path, const char *plain, char **out);
/* Opens what e2e_secret_seal made. *out is a new string (wipe and free it). HE_CRYPTO when it
 * does not open with this key (another key file, or tampered). */
int e2e_secret_open(const char *key_path, const char *sealed, char **out);
bool e2e_secret_is_sealed(const char *value);

/* The pickle key file at path against what the store holds (issue 13): HE_OK when it is the key
 * the store's check value names, or when the store holds nothing sealed yet (the check value is
 * kept then, and a missing file stays missing: it is made when first needed). HE_CRYPTO (logged
 * with which file to copy) when the file is another key, or missing while the store holds an
 * E2EE account, a sealed access token (kv namespace token_ns) or a check value: nothing is
 * created or changed then. A store from before the check with data gets HE_OK here; the
 * account's unpickling decides, and mx_e2e.c keeps the check value once it opened. */
struct store;
int e2e_key_check(struct store *st, const char *path, const char *token_ns);

#endif
