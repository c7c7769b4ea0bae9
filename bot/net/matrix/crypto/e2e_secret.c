/* e2e_secret.c - the access token sealed at rest (see e2e_secret.h).
 *
 * The key is derived from the pickle key with crypto_kdf (context "hearthtk", id 1), so the
 * pickle key itself never encrypts anything but pickles; the box is XSalsa20-Poly1305
 * (crypto_secretbox_easy) under a random nonce. */
#include "net/matrix/crypto/e2e_secret.h"
#include "net/matrix/crypto/e2e.h"
#include "core/err.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

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
