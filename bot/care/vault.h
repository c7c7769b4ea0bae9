/* vault.h - at-rest encryption of members' private text (mood notes and tags) with libsodium.
 *
 * One 32-byte key lives in a key file (cfg->mood_key_file). vault_open() creates it with mode
 * 0600 on first run and refuses a key file that others may read, that is not a regular file of
 * exactly 32 bytes, or that belongs to another user. The key is kept in sodium_malloc'd memory
 * (guarded, locked where the system allows) and is never logged.
 *
 * Cipher: XChaCha20-Poly1305 (IETF AEAD). Each sealed value gets a fresh random 192-bit nonce,
 * so random nonces never collide in practice, and the caller binds it to its owner with
 * associated data (for mood: member and entry id), so a value moved to another member's row or
 * another entry fails to open instead of being shown to the wrong person. */
#ifndef HEARTH_VAULT_H
#define HEARTH_VAULT_H

#include <stddef.h>

#define VAULT_KEY_BYTES 32
#define VAULT_NONCE_BYTES 24
#define VAULT_TAG_BYTES 16

struct vault;

/* Opens the key at path, creating a new random key (mode 0600, O_EXCL) when the file does not
 * exist. Errors (logged with the path and what to do, never the key): HE_PERM for a key file
 * with group/other permissions or another owner, HE_INVAL for a wrong size or not a regular
 * file, HE_IO when it cannot be read or created, HE_CRYPTO when libsodium cannot start. */
int vault_open(const char *path, struct vault **out);
/* A vault from raw key bytes (tests, benchmarks). */
int vault_from_key(const unsigned char key[VAULT_KEY_BYTES], struct vault **out);
void vault_free(struct vault *v);
/* The store's key check value of this key (store_keycheck_of, name "mood"): tells whether the
 * key is the one the stored notes were sealed with. */
void vault_keycheck(const struct vault *v, unsigned char out[32]);              /* accepts NULL; wipes the key */

/* Encrypts len bytes. Fills nonce, sets *out to a malloc'd ciphertext of len + VAULT_TAG_BYTES
 * bytes (*outlen). Returns 0, HE_NOMEM or HE_CRYPTO. */
int vault_seal(const struct vault *v, const void *plain, size_t len, const void *ad, size_t adlen,
	       unsigned char nonce[VAULT_NONCE_BYTES], unsigned char **out, size_t *outlen);
/* Decrypts and verifies. Sets *out to a malloc'd plaintext with a NUL after its *outlen bytes.
 * Returns 0, HE_CRYPTO when the value was tampered with, moved, or sealed with another key,
 * HE_INVAL for a too-short input, HE_NOMEM. */
int vault_unseal(const struct vault *v, const void *cipher, size_t len, const void *ad, size_t adlen,
		 const unsigned char nonce[VAULT_NONCE_BYTES], char **out, size_t *outlen);

#endif
