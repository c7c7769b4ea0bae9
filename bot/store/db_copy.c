/* db_copy.c - a whole SQLite store into another store, in one transaction (see db_copy.h). */
#include "store/db_copy.h"
#include "core/err.h"
#include "core/log.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TABLES 128
#define MAX_COLS 64
#define NAME_MAX_LEN 63

struct table {
	char name[NAME_MAX_LEN + 1];
	char cols[MAX_COLS][NAME_MAX_LEN + 1];
	int ncols;
	int64_t rows;
};

/* Names go into SQL text: only plain identifiers are accepted (Hearth's own are all plain). */
static bool plain_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > NAME_MAX_LEN || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

static int list_tables(struct db *src, struct table **out, int *n)
{
	struct db_stmt *st;
	struct table *t = calloc(MAX_TABLES, sizeof(*t));
	int rc, k = 0;

	*out = NULL;
	*n = 0;
	if (!t)
		return HE_NOMEM;
	/* rowid order is creation order: a table a foreign key points at comes first. */
	st = db_stmtf(src, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE"
		      " 'sqlite\\_%' ESCAPE '\\' AND name <> 'schema_version' ORDER BY rowid", "");
	if (!st) {
		free(t);
		return HE_DB;
	}
	while ((rc = db_step(st)) == DB_ROW) {
		const char *name = db_col_text(st, 0);
		if (!plain_name(name)) {
			hlog_error("store", "copy: the source has a table named oddly (%.40s); not a Hearth store?",
				   name ? name : "");
			rc = HE_INVAL;
			break;
		}
		if (k == MAX_TABLES) {
			hlog_error("store", "copy: more than %d tables in the source", MAX_TABLES);
			rc = HE_INVAL;
			break;
		}
		snprintf(t[k++].name, sizeof(t->name), "%s", name);
	}
	db_reset(st);
	if (rc < 0) {
		free(t);
		return rc;
	}
	for (int i = 0; i < k; i++) {
		st = db_stmtf(src, "SELECT name FROM pragma_table_info(?) ORDER BY cid", "s", t[i].name);
		if (!st) {
			free(t);
			return HE_DB;
		}
		while ((rc = db_step(st)) == DB_ROW) {
			const char *c = db_col_text(st, 0);
			if (!plain_name(c) || t[i].ncols == MAX_COLS) {
				hlog_error("store", "copy: table %s has an odd or extra column", t[i].name);
				rc = HE_INVAL;
				break;
			}
			snprintf(t[i].cols[t[i].ncols++], NAME_MAX_LEN + 1, "%s", c);
		}
		db_reset(st);
		if (rc < 0) {
			free(t);
			return rc;
		}
	}
	*out = t;
	*n = k;
	return HE_OK;
}

/* Every module's schema version must be the same on both sides: the copy moves rows, not
 * schemas. */
static int same_versions(struct db *src, struct db *dst)
{
	struct db_stmt *st = db_stmtf(src, "SELECT module, version FROM schema_version ORDER BY module",
				      "");
	int rc, mismatch = 0;

	if (!st)
		return HE_DB;
	while ((rc = db_step(st)) == DB_ROW) {
		const char *module = db_col_text(st, 0);
		int v = db_col_int(st, 1), have = db_version(dst, module);
		if (v != have) {
			hlog_error("store", "copy: the %s schema is version %d in the source but %d in the "
				   "target. Start this Hearth once on each store (it migrates them), then copy",
				   module, v, have);
			mismatch = 1;
		}
	}
	db_reset(st);
	if (rc < 0)
		return rc;
	return mismatch ? HE_INVAL : HE_OK;
}

static int count_rows(struct db *db, const char *table, int64_t *n)
{
	char sql[128];
	struct db_stmt *st = NULL;
	int rc;

	*n = -1;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if ((rc = db_prepare(db, sql, &st)))
		return rc;
	rc = db_step(st);
	if (rc == DB_ROW) {
		*n = db_col_int64(st, 0);
		rc = HE_OK;
	} else if (rc == DB_DONE) {
		rc = HE_DB;
	}
	db_finalize(st);
	return rc;
}

static int copy_table(struct db *src, struct db *dst, struct table *t)
{
	char *sel = NULL, *ins = NULL;
	size_t cap = (size_t)t->ncols * (NAME_MAX_LEN + 4) + 128;
	struct db_stmt *from = NULL, *to = NULL;
	int rc = HE_NOMEM;

	sel = malloc(cap);
	ins = malloc(cap);
	if (!sel || !ins)
		goto out;
	{
		size_t a = (size_t)snprintf(sel, cap, "SELECT ");
		size_t b = (size_t)snprintf(ins, cap, "INSERT INTO %s (", t->name);
		for (int c = 0; c < t->ncols; c++) {
			a += (size_t)snprintf(sel + a, cap - a, "%s%s", c ? ", " : "", t->cols[c]);
			b += (size_t)snprintf(ins + b, cap - b, "%s%s", c ? ", " : "", t->cols[c]);
		}
		snprintf(sel + a, cap - a, " FROM %s", t->name);
		b += (size_t)snprintf(ins + b, cap - b, ") VALUES (");
		for (int c = 0; c < t->ncols; c++)
			b += (size_t)snprintf(ins + b, cap - b, "%s?", c ? ", " : "");
		snprintf(ins + b, cap - b, ")");
	}
	if ((rc = db_prepare(src, sel, &from)))
		goto out;
	if ((rc = db_prepare(dst, ins, &to))) {
		hlog_error("store", "copy: the target's table %s does not take the source's columns",
			   t->name);
		rc = HE_INVAL;
		goto out;
	}
	t->rows = 0;
	while ((rc = db_step(from)) == DB_ROW) {
		db_reset(to);
		for (int c = 0; c < t->ncols && rc >= 0; c++) {
			switch (db_col_type(from, c)) {
			case DB_INT: rc = db_bind_int64(to, c + 1, db_col_int64(from, c)); break;
			case DB_FLOAT: rc = db_bind_double(to, c + 1, db_col_double(from, c)); break;
			case DB_TEXT: rc = db_bind_text(to, c + 1, db_col_text(from, c)); break;
			case DB_BLOB:
				rc = db_bind_blob(to, c + 1, db_col_blob(from, c), db_col_bytes(from, c));
				break;
			default: rc = db_bind_null(to, c + 1); break;
			}
		}
		if (rc < 0)
			break;
		while ((rc = db_step(to)) == DB_ROW)
			;
		if (rc < 0) {
			hlog_error("store", "copy: a row of %s did not go in", t->name);
			break;
		}
		t->rows++;
	}
out:
	db_finalize(from);
	db_finalize(to);
	free(sel);
	free(ins);
	return rc < 0 ? rc : HE_OK;
}

/* PostgreSQL: identity/serial columns continue after the highest copied id. */
static int move_sequences(struct db *dst, const struct table *t)
{
	for (int c = 0; c < t->ncols; c++) {
		char sql[512], seq[256];
		struct db_stmt *st = db_stmtf(dst, "SELECT pg_get_serial_sequence(?, ?)", "ss", t->name,
					      t->cols[c]);
		int rc;
		if (!st)
			return HE_DB;
		rc = db_step(st);
		seq[0] = '\0';
		if (rc == DB_ROW && db_col_text(st, 0))
			snprintf(seq, sizeof(seq), "%s", db_col_text(st, 0));
		db_reset(st);
		if (rc < 0)
			return rc;
		if (!seq[0])
			continue;
		snprintf(sql, sizeof(sql), "SELECT setval(?, COALESCE((SELECT max(%s) FROM %s), 0) + 1, false)",
			 t->cols[c], t->name);
		if ((rc = db_prepare(dst, sql, &st)))
			return rc;
		if ((rc = db_bind_text(st, 1, seq)) == HE_OK)
			while ((rc = db_step(st)) == DB_ROW)
				;
		db_finalize(st);
		if (rc < 0)
			return rc;
	}
	return HE_OK;
}

int db_copy(struct db *src, struct db *dst, db_copy_cb cb, void *arg)
{
	struct table *t = NULL;
	int n = 0, rc, src_tx = 0;

	if (db_engine(src) != DB_SQLITE) {
		hlog_error("store", "copy: the source must be an SQLite store (sqlite:PATH)");
		return HE_INVAL;
	}
	/* One snapshot of the source. */
	if ((rc = db_exec(src, "BEGIN")))
		return rc;
	src_tx = 1;
	if ((rc = list_tables(src, &t, &n)) || (rc = same_versions(src, dst)))
		goto out;
	for (int i = 0; i < n; i++) {
		int64_t have;
		if ((rc = count_rows(dst, t[i].name, &have))) {
			hlog_error("store", "copy: the target has no table %s; start this Hearth once on it "
				   "so that it creates its tables, then copy", t[i].name);
			rc = HE_INVAL;
			goto out;
		}
		if (have > 0) {
			hlog_error("store", "copy: the target already holds data (table %s has %lld rows); "
				   "copy only into an empty store", t[i].name, (long long)have);
			rc = HE_PERM;
			goto out;
		}
	}
	if ((rc = db_begin(dst)))
		goto out;
	for (int i = 0; i < n && rc == HE_OK; i++) {
		int64_t in_src = -1, in_dst = -1;
		if ((rc = copy_table(src, dst, &t[i])))
			break;
		if ((rc = count_rows(src, t[i].name, &in_src)) || (rc = count_rows(dst, t[i].name, &in_dst)))
			break;
		if (in_src != t[i].rows || in_dst != t[i].rows) {
			hlog_error("store", "copy: table %s has %lld rows in the source, %lld copied, %lld in "
				   "the target; nothing was kept", t[i].name, (long long)in_src,
				   (long long)t[i].rows, (long long)in_dst);
			rc = HE_DB;
			break;
		}
		if (db_engine(dst) == DB_PG && (rc = move_sequences(dst, &t[i])))
			break;
	}
	if (rc) {
		db_rollback(dst);
		goto out;
	}
	if ((rc = db_commit(dst)))
		goto out;
	for (int i = 0; cb && i < n; i++)
		cb(t[i].name, t[i].rows, arg);
out:
	if (src_tx)
		db_exec(src, "COMMIT");
	free(t);
	return rc;
}
