/* db_impl.h - what db.c shares with its two backends (db_sqlite.c, db_pg.c). Not for modules. */
#ifndef HEARTH_DB_IMPL_H
#define HEARTH_DB_IMPL_H

#include "store/db.h"

#define DB_STMT_CACHE 256 /* every SQL text in Hearth is a literal: the set is bounded */
#define DB_STMT_ALTS 4    /* statements of one SQL active at once (re-entrant use) at most */

/* One bound parameter. kind: 's' text, 'i' int64, 'd' double, 'b' blob, 'n' NULL. */
struct db_value {
	char kind;
	const char *s;
	int64_t i;
	double d;
	const void *b;
	int n;
};

struct db_stmt {
	struct db *db;
	const char *sql;       /* the caller's string literal: the cache key */
	void *impl;            /* the backend's statement */
	char *owned_sql;       /* db_prepare: its own copy of the SQL (sql points at it) */
	bool active;           /* stepped to a row and not yet reset or run to its end */
	bool used;             /* handed out since its last reset (bound or stepped, maybe) */
	struct db_stmt *alt;   /* cached: another statement of the same SQL, for a use while
				* this one was still active (re-entrant use); finalized with it */
};

struct db_ops {
	int (*exec)(struct db *db, const char *sql);
	int (*prepare)(struct db *db, struct db_stmt *st);   /* sets st->impl */
	void (*finalize)(struct db_stmt *st);                /* frees st->impl */
	int (*nparams)(struct db_stmt *st);
	int (*bind)(struct db_stmt *st, int idx, const struct db_value *v); /* idx from 1 */
	int (*step)(struct db_stmt *st);
	void (*reset)(struct db_stmt *st);
	int64_t (*changes)(struct db_stmt *st);
	int (*col_count)(struct db_stmt *st);
	enum db_type (*col_type)(struct db_stmt *st, int col);
	int64_t (*col_int64)(struct db_stmt *st, int col);
	double (*col_double)(struct db_stmt *st, int col);
	const char *(*col_text)(struct db_stmt *st, int col);
	const void *(*col_blob)(struct db_stmt *st, int col);
	int (*col_bytes)(struct db_stmt *st, int col);
	bool (*in_tx)(struct db *db);
	void (*close)(struct db *db);
	const char *begin_sql;
};

struct db_cached {
	const char *sql;
	struct db_stmt *st;
};

struct db {
	const struct db_ops *ops;
	enum db_engine engine;
	char *safe_url;
	void *h;               /* sqlite3 * or PGconn * */
	void *priv;            /* backend state */
	int in_tx;             /* inside db_begin .. db_commit/db_rollback */
	int have_versions;     /* the schema_version table is known to exist */
	int (*reconnect_hook)(struct db *db, void *arg);
	void *reconnect_arg;
	int64_t last_changes;  /* db_last_changes (PostgreSQL; SQLite asks the engine) */
	struct db_cached cache[DB_STMT_CACHE];
	size_t ncache;
};

/* db.c: a struct db with ops and engine set, safe_url from url (NULL on out of memory). */
struct db *db_alloc(const struct db_ops *ops, enum db_engine engine, const char *url);

/* Backends. */
int db_sqlite_open(const char *path, const char *url_for_logs, struct db **out);
int db_pg_open(const char *url, struct db **out);

/* db_pg.c, exposed for tests through db.c: SQL with `?` turned into $1..$n outside quotes and
 * comments. *nparams gets the count. Returns a malloc'd string, or NULL (HE_INVAL or
 * HE_NOMEM in *err). */
char *db_pg_translate(const char *sql, int *nparams, int *err);

#endif
