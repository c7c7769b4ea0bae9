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
#include "store/store.h"
#include "testapp.h"

#include <fcntl.h>

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

static void write_key(const char *path, unsigned char fill)
{
	unsigned char k[32];
	int fd;

	memset(k, fill, sizeof(k));
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, k, sizeof(k)), (ssize_t)sizeof(k));
	close(fd);
}

/* Issue 13: e2e.key against the store. A first start takes the key (and makes no file early);
 * then another key, or no key file, is refused and nothing is created or changed. Runs on
 * PostgreSQL too (unit.e2e_secret.pg). */
static void key_checked_against_the_store(void **state)
{
	char key[128], db[128], *check = NULL, *after = NULL, *sealed = NULL;
	struct store *st = NULL;

	(void)state;
	snprintf(key, sizeof(key), "%s/kc.key", dir);
	snprintf(db, sizeof(db), "%s/kc.db", dir);
	assert_int_equal(ta_store_open(db, &st), HE_OK);
	/* nothing stored, no key file: fine, and no file made yet */
	assert_int_equal(e2e_key_check(st, key, "matrix"), HE_OK);
	assert_int_equal(access(key, F_OK), -1);
	/* key A on a first start: its check value is kept */
	write_key(key, 0xa1);
	assert_int_equal(e2e_key_check(st, key, "matrix"), HE_OK);
	assert_int_equal(store_kv_get(st, "keycheck", "e2e", &check), HE_OK);
	assert_int_equal(e2e_key_check(st, key, "matrix"), HE_OK);
	/* key B: refused, the check value stays */
	write_key(key, 0xb2);
	assert_int_equal(e2e_key_check(st, key, "matrix"), HE_CRYPTO);
	assert_int_equal(store_kv_get(st, "keycheck", "e2e", &after), HE_OK);
	assert_string_equal(check, after);
	free(after);
	/* no key file: refused, and none is made */
	unlink(key);
	assert_int_equal(e2e_key_check(st, key, "matrix"), HE_CRYPTO);
	assert_int_equal(access(key, F_OK), -1);
	/* a store from before the check, holding a token sealed with key A */
	write_key(key, 0xa1);
	assert_int_equal(e2e_secret_seal(key, "syt_token", &sealed), HE_OK);
	assert_int_equal(store_kv_set(st, "matrix", "access_token", sealed), HE_OK);
	assert_int_equal(store_kv_del(st, "keycheck", "e2e"), HE_OK);
	write_key(key, 0xb2);
	assert_int_equal(e2e_key_check(st, key, "matrix"), HE_CRYPTO); /* B does not open it */
	assert_int_equal(store_kv_get(st, "keycheck", "e2e", &after), HE_NOTFOUND);
	unlink(key);
	assert_int_equal(e2e_key_check(st, key, "matrix"), HE_CRYPTO); /* missing */
	assert_int_equal(access(key, F_OK), -1);
	write_key(key, 0xa1);
	assert_int_equal(e2e_key_check(st, key, "matrix"), HE_OK);       /* A does, and is kept */
	assert_int_equal(store_kv_get(st, "keycheck", "e2e", &after), HE_OK);
	assert_string_equal(check, after);
	free(after);
	free(check);
	free(sealed);
	store_free(st);
	unlink(key);
	unlink(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip_and_refusals),
		cmocka_unit_test(key_checked_against_the_store),
	};
	if (sodium_init() < 0 || !mkdtemp(dir))
		return 1;
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
	return rc;
}
