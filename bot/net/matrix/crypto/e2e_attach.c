/* e2e_attach.c - encrypted attachments (Matrix spec, "Sending encrypted attachments").
 *
 * A file for an encrypted room is encrypted with AES-256-CTR under a fresh random key and IV
 * before it is uploaded, so the homeserver's media store only ever holds ciphertext; the key,
 * IV and the SHA-256 of the ciphertext travel inside the Megolm-encrypted event as
 * content.file. */
#include "net/matrix/crypto/e2e.h"
#include "core/err.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Unpadded base64, standard or URL-safe alphabet. Caller frees. */
static char *b64(const unsigned char *bin, size_t len, int variant)
{
	size_t n = sodium_base64_encoded_len(len, variant);
	char *out = malloc(n);

	if (out)
		sodium_bin2base64(out, n, bin, len, variant);
	return out;
}

int e2e_encrypt_attachment(const void *plain, size_t len, unsigned char **cipher, json_t **file)
{
	unsigned char key[32], iv[16], hash[32];
	char *k = NULL, *ivs = NULL, *h = NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char *out = NULL;
	int n1 = 0, n2 = 0, rc = HE_CRYPTO;

	*cipher = NULL;
	*file = NULL;
	if (len > (size_t)INT32_MAX)
		return HE_TOOBIG;
	randombytes_buf(key, sizeof(key));
	/* The spec's IV: 64 random bits, then a 64-bit counter starting at zero. */
	randombytes_buf(iv, 8);
	memset(iv + 8, 0, 8);
	out = malloc(len ? len : 1);
	ctx = EVP_CIPHER_CTX_new();
	if (!out || !ctx) {
		rc = HE_NOMEM;
		goto out;
	}
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_ctr(), NULL, key, iv) != 1 ||
	    EVP_EncryptUpdate(ctx, out, &n1, plain, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, out + n1, &n2) != 1 || (size_t)(n1 + n2) != len)
		goto out;
	if (EVP_Digest(out, len, hash, NULL, EVP_sha256(), NULL) != 1)
		goto out;
	k = b64(key, sizeof(key), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	ivs = b64(iv, sizeof(iv), sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	h = b64(hash, sizeof(hash), sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	if (!k || !ivs || !h) {
		rc = HE_NOMEM;
		goto out;
	}
	*file = json_pack("{s:{s:s, s:[s,s], s:s, s:s, s:b}, s:s, s:{s:s}, s:s}",
			  "key", "kty", "oct", "key_ops", "encrypt", "decrypt", "alg", "A256CTR", "k", k,
			  "ext", 1,
			  "iv", ivs, "hashes", "sha256", h, "v", "v2");
	if (!*file) {
		rc = HE_NOMEM;
		goto out;
	}
	*cipher = out;
	out = NULL;
	rc = HE_OK;
out:
	sodium_memzero(key, sizeof(key));
	if (k)
		sodium_memzero(k, strlen(k));
	EVP_CIPHER_CTX_free(ctx);
	free(out);
	free(k);
	free(ivs);
	free(h);
	return rc;
}
