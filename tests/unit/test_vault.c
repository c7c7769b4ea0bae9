/* Unit tests for bot/care/vault.c: the key file's life and sealing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "care/vault.h"
#include "core/err.h"
#include "core/log.h"

struct fixture {
	char dir[128];
	char key[192];
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	hlog_set_level(HLOG_INFO);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/hearth-test-vault-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->key, sizeof(fx->key), "%s/mood.key", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		return -1;
	free(fx);
	return 0;
}

static void read_key(const char *path, unsigned char key[VAULT_KEY_BYTES])
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(key, 1, VAULT_KEY_BYTES, f), VAULT_KEY_BYTES);
	fclose(f);
}

/* Runs vault_open with stderr captured; returns the code and the log text. */
static int open_logged(const char *path, struct vault **v, char *log, size_t loglen)
{
	char tmpl[] = "/tmp/hearth-vault-log-XXXXXX";
	int fd = mkstemp(tmpl), saved = dup(2), rc;
	ssize_t n;

	assert_true(fd >= 0);
	fflush(stderr);
	dup2(fd, 2);
	rc = vault_open(path, v);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, log, loglen - 1);
	log[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(tmpl);
	return rc;
}

static void test_created_0600_and_reused(void **state)
{
	struct fixture *fx = *state;
	struct vault *v = NULL, *w = NULL;
	struct stat st;
	unsigned char nonce[VAULT_NONCE_BYTES], *box = NULL, key[VAULT_KEY_BYTES];
	size_t boxlen, plen;
	char *plain = NULL, log[4096];

	umask(022);
	assert_int_equal(open_logged(fx->key, &v, log, sizeof(log)), 0);
	assert_non_null(strstr(log, "created a new mood key file"));
	assert_int_equal(stat(fx->key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, VAULT_KEY_BYTES);
	read_key(fx->key, key);
	assert_null(memmem(log, strlen(log), key, VAULT_KEY_BYTES));

	assert_int_equal(vault_seal(v, "hello", 5, "ad", 2, nonce, &box, &boxlen), 0);
	assert_int_equal(boxlen, 5 + VAULT_TAG_BYTES);
	assert_null(memmem(box, boxlen, "hello", 5));
	vault_free(v);

	/* The same key next time: what was sealed still opens. */
	assert_int_equal(vault_open(fx->key, &w), 0);
	assert_int_equal(vault_unseal(w, box, boxlen, "ad", 2, nonce, &plain, &plen), 0);
	assert_int_equal(plen, 5);
	assert_string_equal(plain, "hello");
	free(plain);
	/* Other associated data (another member or entry): refused. */
	assert_int_equal(vault_unseal(w, box, boxlen, "ae", 2, nonce, &plain, &plen), HE_CRYPTO);
	assert_null(plain);
	/* Tampered ciphertext: refused. */
	box[0] ^= 1;
	assert_int_equal(vault_unseal(w, box, boxlen, "ad", 2, nonce, &plain, &plen), HE_CRYPTO);
	assert_int_equal(vault_unseal(w, box, 3, "ad", 2, nonce, &plain, &plen), HE_INVAL);
	free(box);
	vault_free(w);
	vault_free(NULL);
}

static void test_fresh_nonce_each_time(void **state)
{
	struct fixture *fx = *state;
	struct vault *v = NULL;
	unsigned char n1[VAULT_NONCE_BYTES], n2[VAULT_NONCE_BYTES], *b1, *b2;
	size_t l1, l2;

	assert_int_equal(vault_open(fx->key, &v), 0);
	assert_int_equal(vault_seal(v, "same", 4, NULL, 0, n1, &b1, &l1), 0);
	assert_int_equal(vault_seal(v, "same", 4, NULL, 0, n2, &b2, &l2), 0);
	assert_memory_not_equal(n1, n2, VAULT_NONCE_BYTES);
	assert_memory_not_equal(b1, b2, l1);
	free(b1);
	free(b2);
	vault_free(v);
}

static void test_refuses_wide_permissions(void **state)
{
	struct fixture *fx = *state;
	struct vault *v = NULL;
	char log[4096];

	assert_int_equal(vault_open(fx->key, &v), 0);
	vault_free(v);
	v = NULL;
	assert_int_equal(chmod(fx->key, 0644), 0);
	assert_int_equal(open_logged(fx->key, &v, log, sizeof(log)), HE_PERM);
	assert_null(v);
	assert_non_null(strstr(log, "chmod 600"));
	assert_non_null(strstr(log, fx->key));
	assert_int_equal(chmod(fx->key, 0640), 0);
	assert_int_equal(vault_open(fx->key, &v), HE_PERM);
	assert_int_equal(chmod(fx->key, 0400), 0);
	assert_int_equal(vault_open(fx->key, &v), 0);
	vault_free(v);
}

static void test_refuses_wrong_size_and_links(void **state)
{
	struct fixture *fx = *state;
	struct vault *v = NULL;
	char link[256], log[4096];
	FILE *f;

	f = fopen(fx->key, "wb");
	assert_non_null(f);
	fputs("short", f);
	fclose(f);
	assert_int_equal(chmod(fx->key, 0600), 0);
	assert_int_equal(open_logged(fx->key, &v, log, sizeof(log)), HE_INVAL);
	assert_non_null(strstr(log, "has 5 bytes"));
	/* It was not overwritten by a new key. */
	struct stat st;
	assert_int_equal(stat(fx->key, &st), 0);
	assert_int_equal(st.st_size, 5);

	snprintf(link, sizeof(link), "%s/link.key", fx->dir);
	assert_int_equal(symlink(fx->key, link), 0);
	assert_int_not_equal(vault_open(link, &v), 0);
	assert_null(v);
	/* A directory that does not exist: a clear I/O error, nothing created. */
	snprintf(link, sizeof(link), "%s/missing/mood.key", fx->dir);
	assert_int_equal(vault_open(link, &v), HE_IO);
	assert_int_equal(vault_open(fx->dir, &v), HE_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_created_0600_and_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fresh_nonce_each_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_wide_permissions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_wrong_size_and_links, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
