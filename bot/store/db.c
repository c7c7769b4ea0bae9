/* db.c - the engine-neutral half of the statement layer: opening by URL, the statement cache,
 * the binder, transactions, migrations, and URL redaction. The engines are db_sqlite.c and
 * db_pg.c behind struct db_ops. */
#include "store/db_impl.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sqlite3.h>

struct db *db_alloc(const struct db_ops *ops, enum db_engine engine, const char *url)
{
	struct db *db = calloc(1, sizeof(*db));
	size_t n = strlen(url) + 8;

	if (!db)
		return NULL;
	db->ops = ops;
	db->engine = engine;
	db->safe_url = malloc(n);
	if (!db->safe_url) {
		free(db);
		return NULL;
	}
	db_url_redact(url, db->safe_url, n); /* "***" for a password is never longer than 8 more */
	return db;
}

bool db_url_is_pg(const char *url)
{
	return url && (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0);
}

int db_open(const char *url, struct db **out)
{
	*out = NULL;
	if (!url || !*url)
		return HE_INVAL;
	if (db_url_is_pg(url))
		return db_pg_open(url, out);
	if (strncmp(url, "sqlite:", 7) == 0 && url[7])
		return db_sqlite_open(url + 7, url, out);
	{
		char safe[256];
		db_url_redact(url, safe, sizeof(safe));
		hlog_error("store", "the store url %s is not one Hearth knows: write postgresql://USER@HOST/"
			   "DATABASE, or sqlite:PATH, or leave url out to keep SQLite in data_dir", safe);
	}
	return HE_INVAL;
}

int db_open_sqlite(const char *path, struct db **out)
{
	char *url = NULL;
	int rc;

	*out = NULL;
	if (asprintf(&url, "sqlite:%s", path) < 0)
		return HE_NOMEM;
	rc = db_sqlite_open(path, url, out);
	free(url);
	return rc;
}

void db_free(struct db *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->ncache; i++) {
		for (struct db_stmt *st = db->cache[i].st, *next; st; st = next) {
			next = st->alt;
			db->ops->finalize(st);
			free(st);
		}
	}
	db->ops->close(db);
	free(db->safe_url);
	free(db);
}

enum db_engine db_engine(const struct db *db) { return db->engine; }

int db_set_reconnect_hook(struct db *db, int (*fn)(struct db *db, void *arg), void *arg)
{
	db->reconnect_hook = fn;
	db->reconnect_arg = arg;
	return HE_OK;
}
void *db_native(struct db *db) { return db->h; }
const char *db_safe_url(const struct db *db) { return db->safe_url; }

/* ---- URL redaction ------------------------------------------------------------------------ */

struct outbuf {
	char *p;
	size_t len, cap;
	bool over;
};

static void out_put(struct outbuf *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (o->len + 1 >= o->cap) {
			o->over = true;
			return;
		}
		o->p[o->len++] = s[i];
	}
}

/* Writes s[0..n) with every password=VALUE (case-insensitive key, after '?', '&', a space or
 * the start) replaced by password=***. VALUE ends at '&' or a space (or a closing quote for
 * a quoted key=value form). */
static void put_redacting_params(struct outbuf *o, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		bool at_key = i == 0 || s[i - 1] == '?' || s[i - 1] == '&' || s[i - 1] == ' ';
		if (at_key && n - i >= 8 && strncasecmp(s + i, "password", 8) == 0) {
			size_t j = i + 8;
			while (j < n && s[j] == ' ')
				j++;
			if (j < n && s[j] == '=') {
				j++;
				while (j < n && s[j] == ' ')
					j++;
				out_put(o, "password=***", 12);
				if (j < n && s[j] == '\'') { /* key='quoted \' value' */
					j++;
					while (j < n && s[j] != '\'') {
						if (s[j] == '\\' && j + 1 < n)
							j++;
						j++;
					}
					if (j < n)
						j++;
				} else {
					while (j < n && s[j] != '&' && s[j] != ' ')
						j++;
				}
				i = j;
				continue;
			}
		}
		out_put(o, s + i, 1);
		i++;
	}
}

int db_url_redact(const char *url, char *out, size_t outlen)
{
	struct outbuf o = { out, 0, outlen, false };
	const char *scheme_end, *auth, *auth_end, *at = NULL;

	if (!out || outlen == 0)
		return HE_TOOBIG;
	out[0] = '\0';
	if (!url)
		return HE_OK;
	scheme_end = strstr(url, "://");
	if (scheme_end) {
		auth = scheme_end + 3;
		auth_end = auth + strcspn(auth, "/?#");
		/* user-info ends at the LAST '@' of the authority (a password may hold '@'). */
		for (const char *p = auth; p < auth_end; p++)
			if (*p == '@')
				at = p;
		out_put(&o, url, (size_t)(auth - url));
		if (at) {
			const char *colon = memchr(auth, ':', (size_t)(at - auth));
			if (colon) {
				out_put(&o, auth, (size_t)(colon - auth));
				out_put(&o, ":***", 4);
			} else {
				out_put(&o, auth, (size_t)(at - auth));
			}
			out_put(&o, at, (size_t)(auth_end - at));
		} else {
			out_put(&o, auth, (size_t)(auth_end - auth));
		}
		put_redacting_params(&o, auth_end, strlen(auth_end));
	} else {
		put_redacting_params(&o, url, strlen(url));
	}
	o.p[o.len] = '\0';
	if (o.over) {
		/* Truncated: never end in the middle of what might be a secret's neighbourhood. */
		if (outlen > 4)
			memcpy(out + outlen - 4, "...", 4);
		return HE_TOOBIG;
	}
	return HE_OK;
}

/* ---- placeholders ------------------------------------------------------------------------- */

char *db_pg_translate(const char *sql, int *nparams, int *err)
{
	size_t len = strlen(sql);
	char *out = malloc(len * 6 + 1), *w = out; /* "?" -> "$99999" at most */
	enum { NORMAL, SQUOTE, DQUOTE, LINE, BLOCK } state = NORMAL;
	int n = 0;

	*nparams = 0;
	*err = HE_OK;
	if (!out) {
		*err = HE_NOMEM;
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		char c = sql[i];
		switch (state) {
		case NORMAL:
			if (c == '?') {
				if (sql[i + 1] >= '0' && sql[i + 1] <= '9') {
					/* ?NNN: numbered parameters are not part of this layer. */
					free(out);
					*err = HE_INVAL;
					return NULL;
				}
				if (++n > 65535) {
					free(out);
					*err = HE_TOOBIG;
					return NULL;
				}
				w += sprintf(w, "$%d", n);
				continue;
			}
			if (c == '\'')
				state = SQUOTE;
			else if (c == '"')
				state = DQUOTE;
			else if (c == '-' && sql[i + 1] == '-')
				state = LINE;
			else if (c == '/' && sql[i + 1] == '*') {
				*w++ = c;
				*w++ = sql[++i];
				state = BLOCK;
				continue;
			}
			break;
		case SQUOTE:
			if (c == '\'')
				state = NORMAL; /* '' re-enters SQUOTE at once */
			break;
		case DQUOTE:
			if (c == '"')
				state = NORMAL;
			break;
		case LINE:
			if (c == '\n')
				state = NORMAL;
			break;
		case BLOCK:
			if (c == '*' && sql[i + 1] == '/') {
				*w++ = c;
				*w++ = sql[++i];
				state = NORMAL;
				continue;
			}
			break;
		}
		*w++ = c;
	}
	*w = '\0';
	*nparams = n;
	return out;
}

/* ---- statements --------------------------------------------------------------------------- */

static void stmt_reset(struct db_stmt *st)
{
	st->active = false;
	st->used = false;
	st->db->ops->reset(st);
}

static struct db_stmt *stmt_new(struct db *db, const char *sql)
{
	struct db_stmt *st = calloc(1, sizeof(*st));

	if (!st) {
		hlog_error("store", "out of memory preparing a statement");
		return NULL;
	}
	st->db = db;
	st->sql = sql;
	if (db->ops->prepare(db, st) != HE_OK) {
		free(st);
		return NULL;
	}
	return st;
}

/* The cached statement of sql, or, while that one is still active (its caller reads its rows
 * and runs the same SQL inside the loop), another statement of the same SQL kept beside it.
 * Resetting the active one there would end the outer caller's rows without a word. More than
 * DB_STMT_ALTS active at once is a statement never reset (a bug): the first is reset then, as
 * before, and it is logged. */
static struct db_stmt *stmt_free_of(struct db *db, struct db_stmt *first)
{
	struct db_stmt *st = first, *last = first;
	int n = 0;

	for (; st; last = st, st = st->alt, n++)
		if (!st->active)
			break;
	if (st) {
		/* one its last user reset (db_reset, db_runf, db_int64f) is ready as it is: a second
		 * reset and clearing of its bindings cost ~3% of a plain command's CPU */
		if (st->used)
			stmt_reset(st);
		st->used = true;
		return st;
	}
	if (n < DB_STMT_ALTS && (st = stmt_new(db, first->sql))) {
		last->alt = st;
		st->used = true;
		return st;
	}
	hlog_error("store", "%d statements of one SQL are still being read (a missing db_reset, a "
		   "bug); the first is reset", n);
	stmt_reset(first);
	first->used = true;
	return first;
}

static struct db_stmt *stmt_get(struct db *db, const char *sql)
{
	struct db_stmt *st;
	size_t i;

	/* Every SQL text is a literal: the same pointer finds it without comparing text (a strcmp
	 * per cached statement on every lookup was a measurable share of a command's CPU). The text
	 * is compared only when the pointer is new (the same literal in another file). */
	for (i = 0; i < db->ncache && db->cache[i].sql != sql; i++)
		;
	if (i == db->ncache)
		for (i = 0; i < db->ncache && strcmp(db->cache[i].sql, sql) != 0; i++)
			;
	if (i < db->ncache)
		return stmt_free_of(db, db->cache[i].st);
	if (db->ncache >= DB_STMT_CACHE) {
		hlog_error("store", "statement cache full (%d); raise DB_STMT_CACHE", DB_STMT_CACHE);
		return NULL;
	}
	if (!(st = stmt_new(db, sql)))
		return NULL;
	st->used = true;
	db->cache[db->ncache].sql = sql;
	db->cache[db->ncache].st = st;
	db->ncache++;
	return st;
}

struct db_stmt *db_stmt(struct db *db, const char *sql) { return stmt_get(db, sql); }

struct db_stmt *db_vstmtf(struct db *db, const char *sql, const char *fmt, va_list ap)
{
	struct db_stmt *st = stmt_get(db, sql);
	int want, i = 0;

	if (!st)
		return NULL;
	want = db->ops->nparams(st);
	if ((int)strlen(fmt ? fmt : "") != want) {
		hlog_error("store", "the SQL takes %d parameters but the call gives %zu (a bug)", want,
			   strlen(fmt ? fmt : ""));
		return NULL;
	}
	for (const char *f = fmt; f && *f; f++) {
		struct db_value v = { .kind = *f };
		switch (*f) {
		case 's':
			v.s = va_arg(ap, const char *);
			if (!v.s)
				v.kind = 'n';
			break;
		case 'i':
			v.i = va_arg(ap, int64_t);
			break;
		case 'd':
			v.d = va_arg(ap, double);
			break;
		case 'b':
			v.b = va_arg(ap, const void *);
			v.n = va_arg(ap, int);
			if (!v.b)
				v.kind = 'n'; /* as sqlite3_bind_blob: no pointer, no value */
			if (v.n < 0) {
				hlog_error("store", "negative blob length (a bug)");
				goto fail;
			}
			break;
		case 'n':
			break;
		default:
			hlog_error("store", "unknown bind letter '%c' (a bug)", *f);
			goto fail;
		}
		if (db->ops->bind(st, ++i, &v) != HE_OK) {
			hlog_error("store", "cannot bind SQL parameter %d", i);
			goto fail;
		}
	}
	return st;
fail:
	stmt_reset(st);
	return NULL;
}

struct db_stmt *db_stmtf(struct db *db, const char *sql, const char *fmt, ...)
{
	struct db_stmt *st;
	va_list ap;

	va_start(ap, fmt);
	st = db_vstmtf(db, sql, fmt, ap);
	va_end(ap);
	return st;
}

int db_vrunf(struct db *db, int64_t *changes, const char *sql, const char *fmt, va_list ap)
{
	struct db_stmt *st = db_vstmtf(db, sql, fmt, ap);
	int rc;

	if (changes)
		*changes = 0;
	if (!st)
		return HE_DB;
	while ((rc = db_step(st)) == DB_ROW)
		;
	if (rc == DB_DONE && changes)
		*changes = db->ops->changes(st);
	stmt_reset(st);
	return rc < 0 ? rc : HE_OK;
}

int db_runf(struct db *db, int64_t *changes, const char *sql, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = db_vrunf(db, changes, sql, fmt, ap);
	va_end(ap);
	return rc;
}

int db_int64f(struct db *db, int64_t *value, const char *sql, const char *fmt, ...)
{
	struct db_stmt *st;
	va_list ap;
	int rc;

	*value = 0;
	va_start(ap, fmt);
	st = db_vstmtf(db, sql, fmt, ap);
	va_end(ap);
	if (!st)
		return HE_DB;
	rc = db_step(st);
	if (rc == DB_ROW) {
		if (db->ops->col_type(st, 0) == DB_NULL) {
			rc = HE_NOTFOUND;
		} else {
			*value = db->ops->col_int64(st, 0);
			rc = HE_OK;
		}
		/* An INSERT ... RETURNING of several rows: run it to its end. */
		while (rc == HE_OK) {
			int r = db_step(st);
			if (r == DB_DONE)
				break;
			if (r < 0)
				rc = r;
		}
	} else if (rc == DB_DONE) {
		rc = HE_NOTFOUND;
	}
	stmt_reset(st);
	return rc;
}

int db_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
	struct db_stmt *st = calloc(1, sizeof(*st));
	int rc;

	*out = NULL;
	if (!st || !(st->owned_sql = strdup(sql))) {
		free(st);
		return HE_NOMEM;
	}
	st->db = db;
	st->sql = st->owned_sql;
	if ((rc = db->ops->prepare(db, st)) != HE_OK) {
		free(st->owned_sql);
		free(st);
		return rc;
	}
	*out = st;
	return HE_OK;
}

void db_finalize(struct db_stmt *st)
{
	if (!st)
		return;
	if (!st->owned_sql) {
		hlog_error("store", "db_finalize on a cached statement (a bug); ignored");
		return;
	}
	st->db->ops->finalize(st);
	free(st->owned_sql);
	free(st);
}

static int bind_one(struct db_stmt *st, int idx, const struct db_value *v)
{
	if (idx < 1 || idx > st->db->ops->nparams(st))
		return HE_INVAL;
	return st->db->ops->bind(st, idx, v);
}

int db_bind_int64(struct db_stmt *st, int idx, int64_t v)
{
	struct db_value x = { .kind = 'i', .i = v };
	return bind_one(st, idx, &x);
}
int db_bind_double(struct db_stmt *st, int idx, double v)
{
	struct db_value x = { .kind = 'd', .d = v };
	return bind_one(st, idx, &x);
}
int db_bind_text(struct db_stmt *st, int idx, const char *v)
{
	struct db_value x = { .kind = v ? 's' : 'n', .s = v };
	return bind_one(st, idx, &x);
}
int db_bind_blob(struct db_stmt *st, int idx, const void *p, int n)
{
	struct db_value x = { .kind = p ? 'b' : 'n', .b = p, .n = n };
	return n < 0 ? HE_INVAL : bind_one(st, idx, &x);
}
int db_bind_null(struct db_stmt *st, int idx)
{
	struct db_value x = { .kind = 'n' };
	return bind_one(st, idx, &x);
}

int db_step(struct db_stmt *st)
{
	int rc = st->db->ops->step(st);

	st->active = rc == DB_ROW;
	if (rc < 0)
		metrics_store_error();
	return rc;
}
void db_reset(struct db_stmt *st)
{
	if (st)
		stmt_reset(st);
}
int64_t db_changes(struct db_stmt *st) { return st->db->ops->changes(st); }

static bool col_ok(struct db_stmt *st, int col)
{
	return col >= 0 && col < st->db->ops->col_count(st);
}

int db_col_count(struct db_stmt *st) { return st->db->ops->col_count(st); }
enum db_type db_col_type(struct db_stmt *st, int col)
{
	return col_ok(st, col) ? st->db->ops->col_type(st, col) : DB_NULL;
}
bool db_col_null(struct db_stmt *st, int col) { return db_col_type(st, col) == DB_NULL; }
int64_t db_col_int64(struct db_stmt *st, int col)
{
	return col_ok(st, col) ? st->db->ops->col_int64(st, col) : 0;
}
int db_col_int(struct db_stmt *st, int col)
{
	int64_t v = db_col_int64(st, col);
	return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int)v;
}
double db_col_double(struct db_stmt *st, int col)
{
	return col_ok(st, col) ? st->db->ops->col_double(st, col) : 0.0;
}
const char *db_col_text(struct db_stmt *st, int col)
{
	return col_ok(st, col) ? st->db->ops->col_text(st, col) : NULL;
}
const void *db_col_blob(struct db_stmt *st, int col)
{
	return col_ok(st, col) ? st->db->ops->col_blob(st, col) : NULL;
}
int db_col_bytes(struct db_stmt *st, int col)
{
	return col_ok(st, col) ? st->db->ops->col_bytes(st, col) : 0;
}

int db_exec(struct db *db, const char *sql)
{
	int rc = db->ops->exec(db, sql);

	if (rc < 0)
		metrics_store_error();
	return rc;
}

int64_t db_last_changes(struct db *db)
{
	if (db->engine == DB_SQLITE)
		return sqlite3_changes64(db->h);
	return db->last_changes;
}

bool db_in_tx(struct db *db) { return db->ops->in_tx(db); }

/* ---- transactions ------------------------------------------------------------------------- */

int db_begin(struct db *db)
{
	int rc;

	if (db->in_tx || db->ops->in_tx(db)) {
		hlog_error("store", "a transaction is already open (a bug)");
		return HE_INVAL;
	}
	rc = db->ops->exec(db, db->ops->begin_sql);
	if (rc == HE_OK)
		db->in_tx = 1;
	return rc;
}

int db_commit(struct db *db)
{
	int rc;

	if (!db->in_tx && !db->ops->in_tx(db)) {
		hlog_error("store", "COMMIT without a transaction (a bug)");
		return HE_INVAL;
	}
	rc = db->ops->exec(db, "COMMIT");
	if (rc != HE_OK)
		db->ops->exec(db, "ROLLBACK"); /* SQLite keeps a failed COMMIT's transaction open */
	db->in_tx = 0;
	return rc;
}

int db_rollback(struct db *db)
{
	int rc;

	if (!db->in_tx && !db->ops->in_tx(db))
		return HE_OK;
	rc = db->ops->exec(db, "ROLLBACK");
	db->in_tx = 0;
	return rc;
}

/* ---- migrations --------------------------------------------------------------------------- */

static int versions_table(struct db *db)
{
	int rc;

	int64_t have = 0;

	if (db->have_versions)
		return HE_OK;
	/* Looked up first: on PostgreSQL, CREATE TABLE IF NOT EXISTS of a table that is there sends
	 * the notice "relation ... already exists, skipping" at every start, which reads in the log
	 * like a key or schema conflict. to_regclass follows the connection's search_path. */
	rc = db_int64f(db, &have, DB_SQL(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
					 " AND name = 'schema_version'",
					 "SELECT count(*) FROM (SELECT to_regclass('schema_version') AS r) AS t"
					 " WHERE r IS NOT NULL"), "");
	if (rc == HE_OK && have > 0) {
		db->have_versions = 1;
		return HE_OK;
	}
	rc = db_exec(db, "CREATE TABLE IF NOT EXISTS schema_version (module TEXT PRIMARY KEY,"
		     " version INTEGER NOT NULL)");
	if (rc == HE_OK)
		db->have_versions = 1;
	return rc;
}

int db_version(struct db *db, const char *module)
{
	int64_t v = 0;

	if (versions_table(db))
		return 0;

	if (db_int64f(db, &v, "SELECT version FROM schema_version WHERE module = ?", "s", module))
		return 0;
	return v < 0 || v > INT32_MAX ? 0 : (int)v;
}

int db_migrate(struct db *db, const char *module, const struct db_migration *m, size_t n)
{
	int have, rc;

	if ((rc = versions_table(db)))
		return rc;
	have = db_version(db, module);
	if (have == (int)n)
		return HE_OK;
	if ((rc = db_begin(db)))
		return rc;
	if (db->engine == DB_PG) {
		/* Two processes starting at once: the second waits here, then sees the new version. */
		rc = db_runf(db, NULL, "SELECT pg_advisory_xact_lock(7422, hashtext(?))", "s", module);
		if (rc)
			goto out;
		have = db_version(db, module);
	}
	if (have > (int)n) {
		hlog_error("store", "the database's %s schema is version %d but this Hearth knows only %zu; "
			   "use a newer Hearth or restore a backup", module, have, n);
		rc = HE_INVAL;
		goto out;
	}
	for (size_t i = (size_t)have; i < n; i++) {
		const char *sql = db->engine == DB_PG && m[i].pg ? m[i].pg : m[i].sqlite;
		if ((rc = db_exec(db, sql))) {
			hlog_error("store", "migration %s %zu failed", module, i + 1);
			goto out;
		}
	}
	rc = db_runf(db, NULL, "INSERT INTO schema_version (module, version) VALUES (?, ?)"
		     " ON CONFLICT (module) DO UPDATE SET version = excluded.version", "si", module,
		     (int64_t)n);
out:
	if (rc) {
		db_rollback(db);
		return rc;
	}
	rc = db_commit(db);
	if (rc == HE_OK && have != (int)n)
		hlog_info("store", "%s schema migrated from version %d to %zu", module, have, n);
	return rc;
}
