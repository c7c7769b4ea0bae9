/* e2e_secret.c - the access token sealed at rest (see e2e_secret.h).
 *
 * The key is derived from the pickle key with crypto_kdf (context "hearthtk", id 1), so the
 * pickle key itself never encrypts anything but pickles; the box is XSalsa20-Poly1305
 * (crypto_secretbox_easy) under a random nonce. */
#include "net/matrix/crypto/e2e_secret.h"
#include "net/matrix/crypto/e2e.h"
#include "core/err.h"
#include "core/log.h"
#include "store/db.h"
#include "store/store.h"

#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECRET_MAX 4096 /* bytes of a secret: an access token is far shorter */

static int derive(const char *key_path, unsigned char sub[crypto_secretbox_KEYBYTES])
{
	unsigned char key[E2E_PICKLE_KEY_LEN];
	int rc;

	_Static_assert(E2E_PICKLE_KEY_LEN == crypto_kdf_KEYBYTES, "pickle key size");
	if ((rc = e2e_load_pickle_key(key_path, key)))
		return rc;
	rc = crypto_kdf_derive_from_key(sub, crypto_secretbox_KEYBYTES, 1, "hearthtk", key) == 0
		     ? HE_OK : HE_CRYPTO;
	sodium_memzero(key, sizeof(key));
	return rc;
}

bool e2e_secret_is_sealed(const char *value)
{
	return value && strncmp(value, E2E_SECRET_TAG, strlen(E2E_SECRET_TAG)) == 0;
}

int e2e_secret_seal(const char *key_path, const char *plain, char **out)
{
	unsigned char sub[crypto_secretbox_KEYBYTES], *raw = NULL;
	size_t len = strlen(plain), rawlen, b64len, tag = strlen(E2E_SECRET_TAG);
	char *s = NULL;
	int rc;

	*out = NULL;
	if (len > SECRET_MAX)
		return HE_TOOBIG;
	if ((rc = derive(key_path, sub)))
		return rc;
	rawlen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len;
	b64len = sodium_base64_ENCODED_LEN(rawlen, sodium_base64_VARIANT_ORIGINAL);
	if (!(raw = malloc(rawlen)) || !(s = malloc(tag + b64len))) {
		rc = HE_NOMEM;
		goto out;
	}
	randombytes_buf(raw, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(raw + crypto_secretbox_NONCEBYTES, (const unsigned char *)plain, len,
			      raw, sub);
	memcpy(s, E2E_SECRET_TAG, tag);
	sodium_bin2base64(s + tag, b64len, raw, rawlen, sodium_base64_VARIANT_ORIGINAL);
	*out = s;
	s = NULL;
out:
	sodium_memzero(sub, sizeof(sub));
	free(raw);
	free(s);
	return rc;
}

int e2e_secret_open(const char *key_path, const char *sealed, char **out)
{
	unsigned char sub[crypto_secretbox_KEYBYTES], *raw = NULL;
	const char *b64;
	size_t b64len, rawlen = 0, len;
	char *plain = NULL;
	int rc;

	*out = NULL;
	if (!e2e_secret_is_sealed(sealed))
		return HE_INVAL;
	b64 = sealed + strlen(E2E_SECRET_TAG);
	b64len = strlen(b64);
	if (b64len > SECRET_MAX * 2)
		return HE_TOOBIG;
	if ((rc = derive(key_path, sub)))
		return rc;
	if (!(raw = malloc(b64len))) {
		rc = HE_NOMEM;
		goto out;
	}
	if (sodium_base642bin(raw, b64len, b64, b64len, NULL, &rawlen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    rawlen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
		rc = HE_CRYPTO;
		goto out;
	}
	len = rawlen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	if (!(plain = malloc(len + 1))) {
		rc = HE_NOMEM;
		goto out;
	}
	if (crypto_secretbox_open_easy((unsigned char *)plain, raw + crypto_secretbox_NONCEBYTES,
				       rawlen - crypto_secretbox_NONCEBYTES, raw, sub) != 0) {
		rc = HE_CRYPTO;
		goto out;
	}
	plain[len] = '\0';
	*out = plain;
	plain = NULL;
out:
	sodium_memzero(sub, sizeof(sub));
	free(raw);
	free(plain);
	return rc;
}

/* The key file e2e.key against what is stored (issue 13): the E2EE account and the sealed
 * access token open only with the key they were sealed with, so a start whose key file is
 * missing or another one refuses, before anything new is made or written. The store keeps a
 * check value of the key (store_keycheck "e2e"); a store from before the check gets it here when
 * it holds nothing sealed, else once the account has opened (mx_e2e.c). See e2e_secret.h. */
int e2e_key_check(struct store *st, const char *path, const char *token_ns)
{
	unsigned char key[E2E_PICKLE_KEY_LEN], fp[STORE_KEYCHECK_BYTES] = { 0 };
	char *tok = NULL;
	int64_t accounts = 0;
	bool data;
	int rc;

	rc = store_keycheck(st, "e2e", fp); /* a zero value: only "is there one" */
	if (rc != HE_OK && rc != HE_CRYPTO && rc != HE_NOTFOUND)
		return rc;
	data = rc != HE_NOTFOUND;
	if (store_kv_get(st, token_ns, "access_token", &tok) == HE_OK && e2e_secret_is_sealed(tok))
		data = true;
	if (store_version(st, "e2e") > 0 &&
	    db_int64f(store_sql(st), &accounts, "SELECT count(*) FROM e2e_account", "") == HE_OK &&
	    accounts > 0)
		data = true;
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		rc = HE_OK; /* a first start: the key file is made when first needed */
		if (!data)
			goto out;
		hlog_error("e2e", "the encryption key file %s is missing, but the store already holds "
			   "this device's encryption keys or access token sealed with a key. Hearth makes "
			   "no new key, as it could not open them. Copy e2e.key from the first machine "
			   "(the one that ran Hearth with this store first) to %s, mode 0600, then start "
			   "Hearth again", path, path);
		rc = HE_CRYPTO;
		goto out;
	}
	if ((rc = e2e_load_pickle_key(path, key)))
		goto out;
	store_keycheck_of(key, sizeof(key), "e2e", fp);
	sodium_memzero(key, sizeof(key));
	rc = store_keycheck(st, "e2e", fp);
	if (rc == HE_NOTFOUND && !data) {
		rc = store_keycheck_record(st, "e2e", fp);
	} else if (rc == HE_NOTFOUND && e2e_secret_is_sealed(tok)) {
		/* An older store: its sealed token tells (another key would log in again and seal
		 * the new token with the wrong key). */
		char *plain = NULL;
		rc = e2e_secret_open(path, tok, &plain);
		if (plain) {
			sodium_memzero(plain, strlen(plain));
			free(plain);
		}
		if (rc == HE_OK)
			rc = store_keycheck_record(st, "e2e", fp);
	} else if (rc == HE_NOTFOUND) {
		rc = HE_OK; /* an older store with an account only: its unpickling decides (mx_e2e.c) */
	}
	if (rc == HE_CRYPTO)
		hlog_error("e2e", "the encryption key in %s does not open the encryption keys already "
			   "stored: it is not the key they were sealed with. Nothing was changed. Copy "
			   "e2e.key from the first machine (the one that ran Hearth with this store first) "
			   "to %s, mode 0600, then start Hearth again", path, path);
out:
	free(tok);
	return rc;
}
