/* dbtest.h - fresh, empty databases on both engines for unit tests.
 *
 * SQLite: a new file in a temp folder. PostgreSQL: a new schema in the cluster named by
 * HEARTH_TEST_PG_URL (tests/pg/cluster.sh start sets it and HEARTH_TEST_PG_PASSWORD), reached
 * through a URL whose search_path is that schema, so tests that run at once never meet. */
#ifndef HEARTH_DBTEST_H
#define HEARTH_DBTEST_H

#include "store/db.h"

/* The cluster's URL, or NULL when no cluster is configured. Exports HEARTH_STORE_PASSWORD from
 * HEARTH_TEST_PG_PASSWORD the first time. */
const char *dbtest_pg_url(void);
/* Prints, once per process, that the PostgreSQL variants are skipped and how to run them. */
void dbtest_pg_skip_note(const char *test);

/* A fresh database for engine: its URL (malloc'd; "sqlite:PATH" or a postgresql:// URL).
 * NULL when PostgreSQL is wanted and not configured. dbtest_drop() removes it again. */
char *dbtest_fresh_url(enum db_engine engine);
void dbtest_drop(const char *url);
/* PostgreSQL: the URL of a schema named after key (and this process), created when missing, so
 * that a test that closes and reopens "the same file" finds its data again. NULL without a
 * cluster. */
char *dbtest_pg_url_for(const char *key);

/* dbtest_fresh_url + db_open. HE_NOTFOUND when PostgreSQL is not configured. *url_out (when
 * not NULL) gets the URL (malloc'd) for dbtest_drop. */
int dbtest_open(enum db_engine engine, struct db **out, char **url_out);

/* The fixture of a test run once per engine: one fresh database. dbtest_fix_open opens it
 * (leaves db NULL, and returns 0, when PostgreSQL is wanted and not configured: the test skips
 * itself with DBTEST_NEED); dbtest_fix_teardown (a cmocka teardown; *state is the fixture)
 * closes and drops it, and accepts a fixture never opened. */
struct dbtest_fix {
	enum db_engine engine;
	struct db *db;
	char *url;
};
int dbtest_fix_open(struct dbtest_fix *f);
int dbtest_fix_teardown(void **state);

/* In a cmocka test: skip it (saying once how to run it) when its database is not there. */
#define DBTEST_NEED(have, test)                          \
	do {                                             \
		if (!(have)) {                           \
			dbtest_pg_skip_note(test);       \
			skip();                          \
		}                                        \
	} while (0)

#endif
