/* test_mood_key.c - the mood key file against the notes already stored (care/mood_key.c,
 * issue 13): a start with another key, or with the key file gone, is refused with a message a
 * person can act on, and changes nothing (no new key file, no check value replaced, no note
 * touched). Runs on SQLite and, as unit.mood_key.pg, on PostgreSQL. */
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

#include "care/mood.h"
#include "care/vault.h"
#include "core/log.h"
#include "testapp.h"

static char dir[64], data[128], key_a[128], key_b[128], db[160];

static int setup(void **state)
{
	struct vault *v = NULL;

	(void)state;
	hlog_set_level(HLOG_ERROR);
	snprintf(dir, sizeof(dir), "/tmp/hearth-mkey-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(key_a, sizeof(key_a), "%s/a.key", dir);
	snprintf(key_b, sizeof(key_b), "%s/b.key", dir);
	snprintf(db, sizeof(db), "dir:%s", data);
	assert_int_equal(vault_open(key_a, &v), HE_OK);
	vault_free(v);
	assert_int_equal(vault_open(key_b, &v), HE_OK);
	vault_free(v);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
	return 0;
}

/* Starts the care layer on the data folder with key; logs a note when note is not NULL. */
static int start(const char *key, const char *note, long *entries, char **check)
{
	struct happ app = { 0 };
	int rc = ta_app_open(&app, db, data, key);

	if (rc == HE_OK && note) {
		struct mood_entry_in e = { .score = 6, .note = (char *)note };
		rc = mood_log(&app, "test", "@a:hs", NULL, 1773576000, &e);
	}
	if (entries)
		*entries = app.store ? store_count(app.store, "SELECT count(*) FROM mood_entry WHERE"
						   " box IS NOT NULL", "") : -1;
	if (check) {
		*check = NULL;
		if (app.store)
			store_kv_get(app.store, "keycheck", "mood", check);
	}
	ta_app_close(&app);
	return rc;
}

/* Captures stderr around a start that is refused; returns what was logged (malloc'd). */
static char *refused(const char *key)
{
	char path[] = "/tmp/hearth-mkeylog-XXXXXX", *buf = calloc(1, 8192);
	int fd = mkstemp(path), saved = dup(2);
	FILE *f;

	assert_true(fd >= 0 && saved >= 0 && buf);
	fflush(stderr);
	dup2(fd, 2);
	assert_int_equal(start(key, NULL, NULL, NULL), HE_CRYPTO);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	f = fopen(path, "r");
	assert_non_null(f);
	(void)!fread(buf, 1, 8191, f);
	fclose(f);
	unlink(path);
	return buf;
}

static void test_other_key_refused_nothing_changed(void **state)
{
	char *check = NULL, *after = NULL, *log;
	long n = 0;

	(void)state;
	assert_int_equal(start(key_a, "a private note", &n, &check), HE_OK);
	assert_int_equal(n, 1);
	assert_non_null(check);
	hlog_set_level(HLOG_ERROR);
	log = refused(key_b);
	assert_non_null(strstr(log, "does not open the mood notes already stored"));
	assert_non_null(strstr(log, "Copy the key file from the first machine"));
	assert_non_null(strstr(log, key_b));
	free(log);
	/* nothing changed: the note, the check value; key A still opens everything */
	assert_int_equal(start(key_a, NULL, &n, &after), HE_OK);
	assert_int_equal(n, 1);
	assert_string_equal(check, after);
	free(check);
	free(after);
}

static void test_missing_key_refused_not_created(void **state)
{
	char gone[160], *log;
	long n = 0;

	(void)state;
	assert_int_equal(start(key_a, "a private note", &n, NULL), HE_OK);
	snprintf(gone, sizeof(gone), "%s/gone.key", dir);
	log = refused(gone);
	assert_non_null(strstr(log, "is missing"));
	assert_non_null(strstr(log, "Copy the key file from the first machine"));
	free(log);
	assert_int_equal(access(gone, F_OK), -1); /* no new key was made */
	assert_int_equal(start(key_a, NULL, &n, NULL), HE_OK);
	assert_int_equal(n, 1);
}

/* A store from before the check (notes, no check value): the key that opens the newest note is
 * taken (and recorded), another one refused. */
static void test_store_from_before_the_check(void **state)
{
	struct store *s = NULL;
	char *check = NULL;
	long n = 0;

	(void)state;
	assert_int_equal(start(key_a, "a private note", &n, NULL), HE_OK);
	assert_int_equal(ta_store_open_dir(data, &s), HE_OK);
	assert_int_equal(store_kv_del(s, "keycheck", "mood"), HE_OK);
	store_free(s);
	free(refused(key_b));
	assert_int_equal(start(key_a, NULL, &n, &check), HE_OK);
	assert_non_null(check);
	free(check);
	free(refused(key_b));
}

/* A first start with nothing stored takes any key (and a fresh data folder makes one). */
static void test_first_start_takes_the_key(void **state)
{
	char *check = NULL;
	long n = -1;

	(void)state;
	assert_int_equal(start(key_b, NULL, &n, &check), HE_OK);
	assert_int_equal(n, 0);
	assert_non_null(check);
	free(check);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_other_key_refused_nothing_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_key_refused_not_created, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_from_before_the_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_start_takes_the_key, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
