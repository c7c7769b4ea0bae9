/* test_store.c - migrations from an old schema keep what members stored; locks; key-value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "store/store.h"

static const char *const v1[] = {
	"CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT NOT NULL);",
};
static const char *const v3[] = {
	"CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT NOT NULL);",
	"ALTER TABLE note ADD COLUMN created INTEGER NOT NULL DEFAULT 0;",
	"CREATE INDEX note_created ON note (created);",
};
static const char *const broken[] = {
	"CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT NOT NULL);",
	"ALTER TABLE note ADD COLUMN created INTEGER NOT NULL DEFAULT 0;",
	"CREATE INDEX note_created ON note (created);",
	"THIS IS NOT SQL;",
};

static void old_schema_to_newest_keeps_data(void **state)
{
	char dir[] = "/tmp/hearth-store-XXXXXX";
	struct store *s = NULL;
	char *v = NULL;
	sqlite3_stmt *st;
	hlog_set_level(HLOG_ERROR);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(store_open(dir, &s), HE_OK);
	assert_int_equal(store_migrate(s, "notes", v1, 1), HE_OK);
	assert_int_equal(store_exec(s, "INSERT INTO note (text) VALUES ('kept')"), HE_OK);
	assert_int_equal(store_kv_set(s, "matrix", "since", "s123"), HE_OK);
	store_free(s);

	/* A newer Hearth starts on the old database. */
	assert_int_equal(store_open(dir, &s), HE_OK);
	assert_int_equal(store_version(s, "notes"), 1);
	assert_int_equal(store_migrate(s, "notes", v3, 3), HE_OK);
	assert_int_equal(store_version(s, "notes"), 3);
	st = store_stmt(s, "SELECT text, created FROM note");
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "kept");
	sqlite3_reset(st);
	assert_int_equal(store_kv_get(s, "matrix", "since", &v), HE_OK);
	assert_string_equal(v, "s123");
	free(v);

	/* A failing migration changes nothing and says so. */
	assert_int_equal(store_migrate(s, "notes", broken, 4), HE_DB);
	assert_int_equal(store_version(s, "notes"), 3);
	/* An older Hearth refuses a newer database instead of corrupting it. */
	assert_int_equal(store_migrate(s, "notes", v1, 1), HE_INVAL);

	/* WAL and foreign keys are on. */
	st = store_stmt(s, "PRAGMA journal_mode");
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_reset(st);
	st = store_stmt(s, "PRAGMA foreign_keys");
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_reset(st);
	store_free(s);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void one_process_per_store(void **state)
{
	char dir[] = "/tmp/hearth-store-XXXXXX", path[256];
	struct store *a = NULL, *b = NULL;
	struct stat st;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(store_open(dir, &a), HE_OK);
	assert_int_equal(store_open(dir, &b), HE_PERM);
	assert_null(b);
	snprintf(path, sizeof(path), "%s/hearth.db", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 077, 0); /* only the owner reads members' data */
	store_free(a);
	assert_int_equal(store_open(dir, &b), HE_OK);
	store_free(b);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void kv_roundtrip(void **state)
{
	struct store *s = NULL;
	char *v = NULL;
	assert_int_equal(store_open_file(":memory:", &s), HE_OK);
	assert_int_equal(store_kv_get(s, "a", "b", &v), HE_NOTFOUND);
	assert_int_equal(store_kv_set(s, "a", "b", "1"), HE_OK);
	assert_int_equal(store_kv_set(s, "a", "b", "2"), HE_OK);
	assert_int_equal(store_kv_get(s, "a", "b", &v), HE_OK);
	assert_string_equal(v, "2");
	free(v);
	assert_int_equal(store_kv_del(s, "a", "b"), HE_OK);
	assert_int_equal(store_kv_get(s, "a", "b", &v), HE_NOTFOUND);
	store_free(s);
	store_free(NULL);
}

/* The one SQL binder: every letter binds its value (copied), NULL text binds NULL, a wrong
 * letter binds nothing and says so, a failed write is HE_DB. */
static void binder_binds_each_kind(void **state)
{
	struct store *s = NULL;
	sqlite3_stmt *st;
	char text[] = "hello", blob[3] = { 1, 0, 2 };

	hlog_set_level(HLOG_ERROR);
	assert_int_equal(store_open_file(":memory:", &s), HE_OK);
	assert_int_equal(store_exec(s, "CREATE TABLE t (a TEXT, n INTEGER, d REAL, b BLOB,"
				    " u TEXT UNIQUE)"), HE_OK);
	assert_int_equal(store_runf(s, "INSERT INTO t VALUES (?, ?, ?, ?, ?)", "sidbs", text,
				    (int64_t)1 << 40, 2.5, blob, 3, (const char *)NULL), HE_OK);
	text[0] = 'X'; /* copied at bind time */
	assert_int_equal(store_runf(s, "INSERT INTO t (u) VALUES (?)", "s", "one"), HE_OK);
	assert_int_equal(store_runf(s, "INSERT INTO t (u) VALUES (?)", "s", "one"), HE_DB);
	st = store_stmtf(s, "SELECT a, n, d, b, u IS NULL FROM t WHERE n = ?", "i", (int64_t)1 << 40);
	assert_non_null(st);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "hello");
	assert_true(sqlite3_column_int64(st, 1) == (int64_t)1 << 40);
	assert_true(sqlite3_column_double(st, 2) == 2.5);
	assert_int_equal(sqlite3_column_bytes(st, 3), 3);
	assert_memory_equal(sqlite3_column_blob(st, 3), blob, 3);
	assert_int_equal(sqlite3_column_int(st, 4), 1);
	sqlite3_reset(st);
	assert_null(store_stmtf(s, "SELECT ? + 1", "x", 1));
	assert_int_equal(store_runf(s, "INSERT INTO t (u) VALUES (?)", "q", "two"), HE_DB);
	st = store_stmtf(s, "SELECT count(*) FROM t", "");
	assert_non_null(st);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 2);
	sqlite3_reset(st);
	store_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(old_schema_to_newest_keeps_data),
		cmocka_unit_test(one_process_per_store),
		cmocka_unit_test(kv_roundtrip),
		cmocka_unit_test(binder_binds_each_kind),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
