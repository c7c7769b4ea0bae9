/* dbtest.c - fresh databases on both engines for unit tests (see dbtest.h). */
#include "dbtest.h"
#include "core/err.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *dbtest_pg_url(void)
{
	const char *url = getenv("HEARTH_TEST_PG_URL"), *pw = getenv("HEARTH_TEST_PG_PASSWORD");

	if (!url || !*url)
		return NULL;
	if (pw && *pw && !getenv("HEARTH_STORE_PASSWORD"))
		setenv("HEARTH_STORE_PASSWORD", pw, 1);
	return url;
}

void dbtest_pg_skip_note(const char *test)
{
	static int said;

	if (said++)
		return;
	fprintf(stderr, "SKIP %s on PostgreSQL: HEARTH_TEST_PG_URL is not set. Run "
		"eval \"$(tests/pg/cluster.sh start)\" first (tests/run-all.sh does).\n", test);
}

/* An admin connection to the cluster's own database (the one in HEARTH_TEST_PG_URL). */
static struct db *admin(void)
{
	struct db *db = NULL;
	const char *url = dbtest_pg_url();

	if (!url || db_open(url, &db))
		return NULL;
	return db;
}

char *dbtest_fresh_url(enum db_engine engine)
{
	static unsigned n;
	char *url = NULL;

	if (engine == DB_SQLITE) {
		char dir[] = "/tmp/hearth-dbtest-XXXXXX";
		if (!mkdtemp(dir) || asprintf(&url, "sqlite:%s/test.db", dir) < 0)
			return NULL;
		return url;
	} else {
		const char *base = dbtest_pg_url();
		struct db *a;
		char schema[64], sql[192];
		if (!base || !(a = admin()))
			return NULL;
		snprintf(schema, sizeof(schema), "t_%ld_%u", (long)getpid(), ++n);
		snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
		if (db_exec(a, sql) != HE_OK ||
		    asprintf(&url, "%s%soptions=-csearch_path%%3D%s", base, strchr(base, '?') ? "&" : "?",
			     schema) < 0)
			url = NULL;
		db_free(a);
		return url;
	}
}

char *dbtest_pg_url_for(const char *key)
{
	const char *base = dbtest_pg_url();
	uint64_t h = 1469598103934665603ull;
	struct db *a;
	char schema[64], sql[192], *url = NULL;

	if (!base || !(a = admin()))
		return NULL;
	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	snprintf(schema, sizeof(schema), "k_%ld_%llx", (long)getpid(), (unsigned long long)h);
	snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS %s", schema);
	if (db_exec(a, sql) != HE_OK ||
	    asprintf(&url, "%s%soptions=-csearch_path%%3D%s", base, strchr(base, '?') ? "&" : "?",
		     schema) < 0)
		url = NULL;
	db_free(a);
	return url;
}

void dbtest_drop(const char *url)
{
	if (!url)
		return;
	if (strncmp(url, "sqlite:", 7) == 0) {
		char *path = strdup(url + 7), *slash;
		char wal[4200];
		if (!path)
			return;
		unlink(path);
		snprintf(wal, sizeof(wal), "%s-wal", path);
		unlink(wal);
		snprintf(wal, sizeof(wal), "%s-shm", path);
		unlink(wal);
		if ((slash = strrchr(path, '/'))) {
			*slash = '\0';
			rmdir(path);
		}
		free(path);
	} else {
		const char *s = strstr(url, "search_path%3D");
		struct db *a;
		char sql[128];
		if (!s || !(a = admin()))
			return;
		snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %.60s CASCADE", s + 14);
		db_exec(a, sql);
		db_free(a);
	}
}

int dbtest_open(enum db_engine engine, struct db **out, char **url_out)
{
	char *url = dbtest_fresh_url(engine);
	int rc;

	*out = NULL;
	if (url_out)
		*url_out = NULL;
	if (!url)
		return engine == DB_PG && !dbtest_pg_url() ? HE_NOTFOUND : HE_DB;
	rc = db_open(url, out);
	if (rc || !url_out) {
		if (rc)
			dbtest_drop(url);
		free(url);
		return rc;
	}
	*url_out = url;
	return HE_OK;
}

int dbtest_fix_open(struct dbtest_fix *f)
{
	if (f->engine == DB_PG && !dbtest_pg_url())
		return 0; /* the test itself says SKIP */
	return dbtest_open(f->engine, &f->db, &f->url) == HE_OK ? 0 : -1;
}

int dbtest_fix_teardown(void **state)
{
	struct dbtest_fix *f = *state;

	db_free(f->db);
	f->db = NULL;
	dbtest_drop(f->url);
	free(f->url);
	f->url = NULL;
	return 0;
}
