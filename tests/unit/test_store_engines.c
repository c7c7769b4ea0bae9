/* test_store_engines.c - the store on SQLite and on PostgreSQL: the key-value space, one Hearth
 * per store (also after a reconnect), and modules not yet converted refused on PostgreSQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "dbtest.h"
#include "store/db.h"
#include "store/store.h"

struct fix {
	enum db_engine engine;
	char *url;
	char dir[64];
};
static struct fix lite = { DB_SQLITE, NULL, "" };
static struct fix pg = { DB_PG, NULL, "" };

static int setup(void **state)
{
	struct fix *f = *state;

	hlog_set_level(HLOG_ERROR);
	snprintf(f->dir, sizeof(f->dir), "/tmp/hearth-se-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	if (f->engine == DB_PG && !dbtest_pg_url())
		return 0;
	f->url = dbtest_fresh_url(f->engine);
	return f->url ? 0 : -1;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	char cmd[128];

	dbtest_drop(f->url);
	free(f->url);
	f->url = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	(void)!system(cmd);
	return 0;
}

#define NEED(f) DBTEST_NEED((f)->url, "unit.store_engines")

static void kv_on_both(void **state)
{
	struct fix *f = *state;
	struct store *s = NULL;
	char *v = NULL;

	NEED(f);
	assert_int_equal(store_open_url(f->dir, f->url, &s), HE_OK);
	assert_int_equal(store_engine(s), f->engine);
	assert_int_equal(store_version(s, "core"), 1);
	assert_int_equal(store_kv_get(s, "matrix", "since", &v), HE_NOTFOUND);
	assert_null(v);
	assert_int_equal(store_kv_set(s, "matrix", "since", "s1_2'3?"), HE_OK);
	assert_int_equal(store_kv_set(s, "matrix", "since", "s2"), HE_OK);
	assert_int_equal(store_kv_get(s, "matrix", "since", &v), HE_OK);
	assert_string_equal(v, "s2");
	free(v);
	store_free(s);

	/* Reopened: still there (and the core schema is not applied twice). */
	assert_int_equal(store_open_url(f->dir, f->url, &s), HE_OK);
	assert_int_equal(store_kv_get(s, "matrix", "since", &v), HE_OK);
	assert_string_equal(v, "s2");
	free(v);
	assert_int_equal(store_kv_del(s, "matrix", "since"), HE_OK);
	assert_int_equal(store_kv_get(s, "matrix", "since", &v), HE_NOTFOUND);
	store_free(s);
}

/* Two Hearths share one PostgreSQL store (one active per network section, by the leases of
 * store/lease.h, tested in test_lease.c): the store itself no longer keeps the second out. */
static void pg_two_hearths_share_store(void **state)
{
	struct fix *f = *state;
	struct store *a = NULL, *b = NULL;
	char *v = NULL;

	NEED(f);
	assert_int_equal(store_open_url(f->dir, f->url, &a), HE_OK);
	assert_int_equal(store_open_url(f->dir, f->url, &b), HE_OK);
	assert_int_equal(store_kv_set(a, "n", "k", "v"), HE_OK);
	assert_int_equal(store_kv_get(b, "n", "k", &v), HE_OK);
	assert_string_equal(v, "v");
	free(v);
	store_free(a);
	store_free(b);
}

/* A connection that the server cut is made again on the next call. */
static void pg_reconnects(void **state)
{
	struct fix *f = *state;
	struct store *a = NULL;
	struct db *killer = NULL;
	int64_t pid = 0;

	NEED(f);
	assert_int_equal(store_open_url(f->dir, f->url, &a), HE_OK);
	assert_int_equal(db_open(f->url, &killer), HE_OK);
	assert_int_equal(db_int64f(store_sql(a), &pid, "SELECT pg_backend_pid()", ""), HE_OK);
	assert_int_equal(db_runf(killer, NULL, "SELECT pg_terminate_backend(?::int)", "i", pid), HE_OK);
	usleep(100 * 1000);
	assert_int_equal(store_kv_set(a, "n", "k", "v"), HE_IO);
	assert_int_equal(store_kv_set(a, "n", "k", "v"), HE_OK);
	store_free(a);
	db_free(killer);
}

static void pg_old_api_refused(void **state)
{
	struct fix *f = *state;
	static const char *const old[] = { "CREATE TABLE t (a INTEGER) WITHOUT ROWID;" };
	struct store *s = NULL;

	NEED(f);
	assert_int_equal(store_open_url(f->dir, f->url, &s), HE_OK);
	assert_null(store_db(s));
	assert_int_equal(store_migrate(s, "old", old, 1), HE_INVAL);
	assert_int_equal(store_version(s, "old"), 0);
	assert_null(store_stmt(s, "SELECT 1"));
	assert_int_equal(store_runf(s, "SELECT ?", "i", (int64_t)1), HE_DB);
	store_free(s);
}

#define BOTH(fn) cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, &lite), \
		 cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, &pg)
#define PG(fn) cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, &pg)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(kv_on_both),
		PG(pg_two_hearths_share_store),
		PG(pg_reconnects),
		PG(pg_old_api_refused),
	};
	if (!dbtest_pg_url())
		fprintf(stderr, "unit.store_engines: PostgreSQL variants SKIPPED (HEARTH_TEST_PG_URL not "
			"set; eval \"$(tests/pg/cluster.sh start)\" runs them)\n");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
