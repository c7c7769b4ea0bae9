/* Unit tests for store_count() (bot/store/store.c): the one helper for "how many" queries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/err.h"
#include "store/store.h"
#include "testapp.h"

static int setup(void **state)
{
	struct store *s = NULL;

	assert_int_equal(ta_store_open(":memory:", &s), HE_OK); /* PostgreSQL: unit.store_count.pg */
	assert_int_equal(db_exec(store_sql(s), "CREATE TABLE t (a TEXT, b BIGINT)"), HE_OK);
	assert_int_equal(db_runf(store_sql(s), NULL, "INSERT INTO t VALUES (?, ?)", "si", "x", (int64_t)1), HE_OK);
	assert_int_equal(db_runf(store_sql(s), NULL, "INSERT INTO t VALUES (?, ?)", "si", "x", (int64_t)2), HE_OK);
	assert_int_equal(db_runf(store_sql(s), NULL, "INSERT INTO t VALUES (?, ?)", "si", "y", (int64_t)3), HE_OK);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	store_free(*state);
	return 0;
}

static void test_counts(void **state)
{
	struct store *s = *state;

	assert_int_equal(store_count(s, "SELECT count(*) FROM t", ""), 3);
	assert_int_equal(store_count(s, "SELECT count(*) FROM t WHERE a = ?", "s", "x"), 2);
	assert_int_equal(store_count(s, "SELECT count(*) FROM t WHERE a = ? AND b > ?", "si", "x",
				     (int64_t)1), 1);
	/* A member's name with SQL in it is a value, never SQL. */
	assert_int_equal(store_count(s, "SELECT count(*) FROM t WHERE a = ?", "s", "x' OR '1'='1"), 0);
	/* The cached statement is reset: the same query again gives the same answer. */
	assert_int_equal(store_count(s, "SELECT count(*) FROM t WHERE a = ?", "s", "x"), 2);
}

static void test_failures(void **state)
{
	struct store *s = *state;

	assert_int_equal(store_count(s, "SELECT b FROM t WHERE 1 = 0", ""), -1);              /* no row */
	assert_int_equal(store_count(s, "SELECT NULL", ""), -1);                          /* NULL */
	assert_int_equal(store_count(s, "SELECT -5", ""), -1);                            /* negative */
	assert_int_equal(store_count(s, "SELECT count(*) FROM no_such_table", ""), -1);  /* bad SQL */
	assert_int_equal(store_count(s, "SELECT count(*) FROM t WHERE a = ?", "q", "x"), -1); /* bad fmt */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
