/* test_e2e_secret.c - the access token sealed at rest: it opens with the same key file only,
 * a changed byte is refused, and the sealed form holds no byte run of the secret. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "net/matrix/crypto/e2e_secret.h"

static char dir[] = "/tmp/hearth-secret-XXXXXX";

static void round_trip_and_refusals(void **state)
{
	char key1[128], key2[128], *sealed = NULL, *plain = NULL;
	const char *token = "syt_aGVhcnRo_secretsecretsecret_0a1b2c";

	snprintf(key1, sizeof(key1), "%s/e2e.key", dir);
	snprintf(key2, sizeof(key2), "%s/other.key", dir);
	assert_int_equal(e2e_secret_seal(key1, token, &sealed), HE_OK); /* creates the key file */
	assert_true(e2e_secret_is_sealed(sealed));
	assert_null(strstr(sealed, "secret"));
	assert_int_equal(e2e_secret_open(key1, sealed, &plain), HE_OK);
	assert_string_equal(plain, token);
	free(plain);
	/* another key file: refused */
	assert_int_equal(e2e_secret_open(key2, sealed, &plain), HE_CRYPTO);
	assert_null(plain);
	/* one changed character: refused */
	size_t i = strlen(sealed) - 5;
	sealed[i] = sealed[i] == 'A' ? 'B' : 'A';
	assert_int_equal(e2e_secret_open(key1, sealed, &plain), HE_CRYPTO);
	/* not sealed, cut short, not base64 */
	assert_int_equal(e2e_secret_open(key1, token, &plain), HE_INVAL);
	assert_int_equal(e2e_secret_open(key1, E2E_SECRET_TAG "AAAA", &plain), HE_CRYPTO);
	assert_int_equal(e2e_secret_open(key1, E2E_SECRET_TAG "!!!!", &plain), HE_CRYPTO);
	free(sealed);
	/* two seals of the same secret differ (a fresh nonce each) */
	char *a = NULL, *b = NULL;
	assert_int_equal(e2e_secret_seal(key1, token, &a), HE_OK);
	assert_int_equal(e2e_secret_seal(key1, token, &b), HE_OK);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
	unlink(key1);
	unlink(key2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip_and_refusals),
	};
	if (sodium_init() < 0 || !mkdtemp(dir))
		return 1;
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(dir);
	return rc;
}
