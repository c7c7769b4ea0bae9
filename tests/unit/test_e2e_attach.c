/* test_e2e_attach.c - a member's export in an encrypted private chat reaches the media store only
 * as ciphertext, and the EncryptedFile in the event is enough to read it back (spec v2 format). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "net/matrix/crypto/e2e.h"

static size_t unb64(const char *s, unsigned char *out, size_t max, int variant)
{
	size_t n = 0;
	assert_int_equal(sodium_base642bin(out, max, s, strlen(s), NULL, &n, NULL, variant), 0);
	return n;
}

static void roundtrip_and_format(void **state)
{
	static const char plain[] = "when,score,note\n2026-11-26,6,\"a private marker zebra\"\n";
	unsigned char *cipher = NULL, key[32], iv[16], hash[32], want[32], back[sizeof(plain)];
	json_t *file = NULL, *jwk;
	EVP_CIPHER_CTX *ctx;
	int n1 = 0, n2 = 0;

	assert_int_equal(sodium_init() >= 0, 1);
	assert_int_equal(e2e_encrypt_attachment(plain, sizeof(plain), &cipher, &file), HE_OK);
	/* Only ciphertext: the marker is not in what gets uploaded. */
	assert_null(memmem(cipher, sizeof(plain), "zebra", 5));
	assert_string_equal(json_string_value(json_object_get(file, "v")), "v2");
	assert_null(json_object_get(file, "url")); /* the transport adds it after the upload */
	jwk = json_object_get(file, "key");
	assert_string_equal(json_string_value(json_object_get(jwk, "alg")), "A256CTR");
	assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "oct");
	assert_true(json_is_true(json_object_get(jwk, "ext")));
	assert_int_equal(unb64(json_string_value(json_object_get(jwk, "k")), key, sizeof(key),
			       sodium_base64_VARIANT_URLSAFE_NO_PADDING), 32);
	assert_int_equal(unb64(json_string_value(json_object_get(file, "iv")), iv, sizeof(iv),
			       sodium_base64_VARIANT_ORIGINAL_NO_PADDING), 16);
	for (int i = 8; i < 16; i++)
		assert_int_equal(iv[i], 0); /* the counter half starts at zero */
	assert_int_equal(unb64(json_string_value(json_object_get(json_object_get(file, "hashes"), "sha256")),
			       hash, sizeof(hash), sodium_base64_VARIANT_ORIGINAL_NO_PADDING), 32);
	EVP_Digest(cipher, sizeof(plain), want, NULL, EVP_sha256(), NULL);
	assert_memory_equal(hash, want, 32);
	/* A member's client decrypts it with what the event carries. */
	ctx = EVP_CIPHER_CTX_new();
	assert_int_equal(EVP_DecryptInit_ex(ctx, EVP_aes_256_ctr(), NULL, key, iv), 1);
	assert_int_equal(EVP_DecryptUpdate(ctx, back, &n1, cipher, (int)sizeof(plain)), 1);
	assert_int_equal(EVP_DecryptFinal_ex(ctx, back + n1, &n2), 1);
	assert_int_equal(n1 + n2, (int)sizeof(plain));
	assert_memory_equal(back, plain, sizeof(plain));
	EVP_CIPHER_CTX_free(ctx);
	free(cipher);
	json_decref(file);

	/* A fresh key every time. */
	json_t *f2 = NULL, *f3 = NULL;
	unsigned char *c2 = NULL, *c3 = NULL;
	assert_int_equal(e2e_encrypt_attachment(plain, sizeof(plain), &c2, &f2), HE_OK);
	assert_int_equal(e2e_encrypt_attachment(plain, sizeof(plain), &c3, &f3), HE_OK);
	assert_string_not_equal(json_string_value(json_object_get(json_object_get(f2, "key"), "k")),
				json_string_value(json_object_get(json_object_get(f3, "key"), "k")));
	assert_memory_not_equal(c2, c3, sizeof(plain));
	free(c2);
	free(c3);
	json_decref(f2);
	json_decref(f3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip_and_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
