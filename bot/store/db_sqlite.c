/* db_sqlite.c - the SQLite engine of the statement layer (db.h). */
#include "store/db_impl.h"
#include "core/err.h"
#include "core/log.h"

#include <sqlite3.h>
#include <stdlib.h>

#define H(db) ((sqlite3 *)(db)->h)
#define S(st) ((sqlite3_stmt *)(st)->impl)

static int lite_exec(struct db *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(H(db), sql, NULL, NULL, &err) != SQLITE_OK) {
		hlog_error("store", "SQL failed: %s", err ? err : sqlite3_errmsg(H(db)));
		sqlite3_free(err);
		return HE_DB;
	}
	return HE_OK;
}

static int lite_prepare(struct db *db, struct db_stmt *st)
{
	sqlite3_stmt *s = NULL;

	/* PERSISTENT: kept for the life of the connection (the cache in db.c), so SQLite takes its
	 * memory from the heap, not the small lookaside meant for short-lived statements */
	if (sqlite3_prepare_v3(H(db), st->sql, -1, st->owned_sql ? 0 : SQLITE_PREPARE_PERSISTENT, &s,
			       NULL) != SQLITE_OK) {
		hlog_error("store", "cannot prepare SQL: %s", sqlite3_errmsg(H(db)));
		return HE_DB;
	}
	st->impl = s;
	return HE_OK;
}

static void lite_finalize(struct db_stmt *st) { sqlite3_finalize(S(st)); }
static int lite_nparams(struct db_stmt *st) { return sqlite3_bind_parameter_count(S(st)); }

static int lite_bind(struct db_stmt *st, int i, const struct db_value *v)
{
	int r;

	switch (v->kind) {
	case 's': r = sqlite3_bind_text(S(st), i, v->s, -1, SQLITE_TRANSIENT); break;
	case 'i': r = sqlite3_bind_int64(S(st), i, v->i); break;
	case 'd': r = sqlite3_bind_double(S(st), i, v->d); break;
	/* A zero-length blob stays a blob, not NULL (SQLite binds NULL for a NULL pointer). */
	case 'b': r = v->n ? sqlite3_bind_blob(S(st), i, v->b, v->n, SQLITE_TRANSIENT)
			   : sqlite3_bind_zeroblob(S(st), i, 0); break;
	default: r = sqlite3_bind_null(S(st), i); break;
	}
	return r == SQLITE_OK ? HE_OK : HE_DB;
}

static int lite_step(struct db_stmt *st)
{
	int r = sqlite3_step(S(st));

	if (r == SQLITE_ROW)
		return DB_ROW;
	if (r == SQLITE_DONE)
		return DB_DONE;
	hlog_error("store", "SQL failed: %s", sqlite3_errmsg(H(st->db)));
	if (r == SQLITE_BUSY || r == SQLITE_LOCKED)
		return HE_AGAIN;
	if (r == SQLITE_NOMEM)
		return HE_NOMEM;
	return HE_DB;
}

static void lite_reset(struct db_stmt *st)
{
	sqlite3_reset(S(st));
	sqlite3_clear_bindings(S(st));
}

static int64_t lite_changes(struct db_stmt *st) { return sqlite3_changes64(H(st->db)); }
static int lite_col_count(struct db_stmt *st) { return sqlite3_data_count(S(st)); }

static enum db_type lite_col_type(struct db_stmt *st, int col)
{
	switch (sqlite3_column_type(S(st), col)) {
	case SQLITE_INTEGER: return DB_INT;
	case SQLITE_FLOAT: return DB_FLOAT;
	case SQLITE_TEXT: return DB_TEXT;
	case SQLITE_BLOB: return DB_BLOB;
	default: return DB_NULL;
	}
}

static int64_t lite_col_int64(struct db_stmt *st, int col) { return sqlite3_column_int64(S(st), col); }
static double lite_col_double(struct db_stmt *st, int col) { return sqlite3_column_double(S(st), col); }
static const char *lite_col_text(struct db_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(S(st), col);
}
static const void *lite_col_blob(struct db_stmt *st, int col) { return sqlite3_column_blob(S(st), col); }
static int lite_col_bytes(struct db_stmt *st, int col) { return sqlite3_column_bytes(S(st), col); }

static bool lite_in_tx(struct db *db) { return !sqlite3_get_autocommit(H(db)); }

static void lite_close(struct db *db)
{
	if (db->h)
		sqlite3_close(H(db));
	db->h = NULL;
}

static const struct db_ops lite_ops = {
	.exec = lite_exec,
	.prepare = lite_prepare,
	.finalize = lite_finalize,
	.nparams = lite_nparams,
	.bind = lite_bind,
	.step = lite_step,
	.reset = lite_reset,
	.changes = lite_changes,
	.col_count = lite_col_count,
	.col_type = lite_col_type,
	.col_int64 = lite_col_int64,
	.col_double = lite_col_double,
	.col_text = lite_col_text,
	.col_blob = lite_col_blob,
	.col_bytes = lite_col_bytes,
	.in_tx = lite_in_tx,
	.close = lite_close,
	.begin_sql = "BEGIN IMMEDIATE",
};

int db_sqlite_open(const char *path, const char *url_for_logs, struct db **out)
{
	struct db *db = db_alloc(&lite_ops, DB_SQLITE, url_for_logs);
	sqlite3 *h = NULL;
	int rc;

	*out = NULL;
	if (!db)
		return HE_NOMEM;
	rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			     NULL);
	db->h = h;
	if (rc != SQLITE_OK) {
		hlog_error("store", "cannot open the database %s: %s", db->safe_url,
			   h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
		rc = HE_DB;
		goto out;
	}
	sqlite3_busy_timeout(h, 5000);
	rc = lite_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
out:
	if (rc) {
		db_free(db);
		return rc;
	}
	*out = db;
	return HE_OK;
}
