/* db.h - one statement layer over two engines: SQLite (embedded, the default) and PostgreSQL
 * (libpq).
 *
 * Modules write SQL once with `?` placeholders; the PostgreSQL backend turns them into $1..$n
 * (outside quotes and comments). Where the dialects truly differ (INSERT OR REPLACE, rowid vs
 * identity, BLOB vs bytea, strftime) a module keeps both texts side by side and picks one with
 * db_engine() or DB_SQL(db, sqlite_text, pg_text).
 *
 * Statements are cached per SQL text for the connection's lifetime (every SQL text in Hearth is
 * a literal, so the set is bounded): db_stmtf() returns the cached statement, reset and bound.
 * Do not free it. A statement's column values stay valid until its next step or reset.
 *
 * Errors follow core/err.h: HE_DB (the database refused: logged with the engine's message),
 * HE_IO (the connection to the server is gone; the next call reconnects), HE_NOMEM, HE_INVAL
 * (a bad bind format or URL). Passwords never reach a log: URLs are logged by db_url_redact().
 *
 * Single-threaded, like the rest of Hearth: one struct db belongs to one thread. */
#ifndef HEARTH_DB_H
#define HEARTH_DB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum db_engine { DB_SQLITE = 1, DB_PG = 2 };

/* db_step() results besides the negative HE_* errors. */
enum { DB_DONE = 0, DB_ROW = 1 };

/* What a column holds in the current row (as sqlite3_column_type does). */
enum db_type { DB_NULL = 0, DB_INT, DB_FLOAT, DB_TEXT, DB_BLOB };

struct db;
struct db_stmt;

/* One migration step: the SQL for each engine (one or more statements). pg NULL: the same
 * text works on both. */
struct db_migration {
	const char *sqlite;
	const char *pg;
};

/* Opens by URL:
 *   postgresql://[user@]host[:port]/dbname[?param=...]   (postgres:// too; libpq's URI syntax)
 *   sqlite:PATH   (":memory:" works)
 * The PostgreSQL password comes from HEARTH_STORE_PASSWORD when it is set, else libpq's own
 * sources (~/.pgpass, PGPASSFILE, PGPASSWORD); a password written in the URL works but is
 * warned about. HE_INVAL for an unknown scheme, HE_DB/HE_IO (logged) when the server refuses. */
int db_open(const char *url, struct db **out);
/* Opens (creating) an SQLite file: WAL journal, foreign keys on, 5 s busy timeout. */
int db_open_sqlite(const char *path, struct db **out);
void db_free(struct db *db);                     /* accepts NULL; closes the connection */

enum db_engine db_engine(const struct db *db);
/* The engine's native handle (sqlite3 * or PGconn *), for code not yet on this layer. */
void *db_native(struct db *db);
/* The URL it was opened with, password removed (safe to log). */
const char *db_safe_url(const struct db *db);

#define DB_SQL(db, sqlite_text, pg_text) (db_engine(db) == DB_PG ? (pg_text) : (sqlite_text))

/* PostgreSQL: fn runs after every reconnect, before any other statement (to take session
 * locks again). When it fails, every later call fails with HE_PERM: the connection is not
 * used without what fn holds. SQLite never reconnects: the hook is kept but never runs. */
int db_set_reconnect_hook(struct db *db, int (*fn)(struct db *db, void *arg), void *arg);

/* Copies url into out (outlen bytes) with any password removed: the user-info password of a
 * URL and any password=... parameter (URL query or key=value form) become "***". Returns
 * HE_OK or HE_TOOBIG (out then holds a truncated but still redacted text). */
int db_url_redact(const char *url, char *out, size_t outlen);
/* True when url names a PostgreSQL server (postgresql:// or postgres://). */
bool db_url_is_pg(const char *url);

/* Runs SQL without parameters or results; several statements separated by ';' are allowed
 * (migrations, BEGIN, ...). */
int db_exec(struct db *db, const char *sql);

/* The cached statement for sql, reset, with its parameters bound. fmt has one letter per `?`:
 *   s  const char *            text (NULL binds NULL)
 *   i  int64_t                 integer (cast: a plain int is not an int64_t in varargs)
 *   d  double                  real
 *   b  const void *, int       blob and its length in bytes (bytea, sent in binary);
 *                              a NULL pointer binds NULL, a pointer with length 0 an empty blob
 *   n  (no argument)           NULL
 * Values are copied. Returns NULL (logged) on error. */
struct db_stmt *db_stmtf(struct db *db, const char *sql, const char *fmt, ...);
struct db_stmt *db_vstmtf(struct db *db, const char *sql, const char *fmt, va_list ap);
/* Binds, runs one statement to its end, resets it: HE_OK or an HE_* error (logged). *changes
 * (when not NULL) gets the number of rows inserted, updated or deleted. */
int db_runf(struct db *db, int64_t *changes, const char *sql, const char *fmt, ...);
int db_vrunf(struct db *db, int64_t *changes, const char *sql, const char *fmt, va_list ap);
/* Runs a statement whose first row's first column is an integer (an INSERT ... RETURNING id,
 * a SELECT count(*)): HE_OK with *value, HE_NOTFOUND when there is no row or it is NULL. */
int db_int64f(struct db *db, int64_t *value, const char *sql, const char *fmt, ...);

/* The cached statement for sql, reset, with no parameters bound: bind by hand with db_bind_*
 * (for code that binds in a loop or conditionally). NULL (logged) on error. */
struct db_stmt *db_stmt(struct db *db, const char *sql);

/* A statement of its own, not cached, for SQL built at run time (table names in `hearth store
 * copy`); the SQL is copied. Bind with db_bind_*, step, then db_finalize (NULL-safe). */
int db_prepare(struct db *db, const char *sql, struct db_stmt **out);
void db_finalize(struct db_stmt *st);
/* Bind parameter idx (from 1) of a statement that is not running. HE_OK or HE_INVAL/HE_NOMEM. */
int db_bind_int64(struct db_stmt *st, int idx, int64_t v);
int db_bind_double(struct db_stmt *st, int idx, double v);
int db_bind_text(struct db_stmt *st, int idx, const char *v);     /* NULL binds NULL */
int db_bind_blob(struct db_stmt *st, int idx, const void *p, int n);
int db_bind_null(struct db_stmt *st, int idx);

/* DB_ROW, DB_DONE or a negative HE_* error (logged). */
int db_step(struct db_stmt *st);
/* Ends the statement's current run (results dropped) and clears its bindings. NULL-safe. */
void db_reset(struct db_stmt *st);
/* Rows changed by the statement's last run (INSERT/UPDATE/DELETE). */
int64_t db_changes(struct db_stmt *st);

int db_col_count(struct db_stmt *st);
enum db_type db_col_type(struct db_stmt *st, int col);
bool db_col_null(struct db_stmt *st, int col);
int64_t db_col_int64(struct db_stmt *st, int col); /* NULL -> 0; text is parsed; real truncated */
int db_col_int(struct db_stmt *st, int col);
double db_col_double(struct db_stmt *st, int col);
/* NUL-terminated UTF-8, NULL for SQL NULL; integers and reals come back as text. */
const char *db_col_text(struct db_stmt *st, int col);
const void *db_col_blob(struct db_stmt *st, int col); /* NULL for SQL NULL or empty */
int db_col_bytes(struct db_stmt *st, int col);

/* Rows changed by the last INSERT, UPDATE or DELETE that ran to its end on this connection
 * (as sqlite3_changes: a SELECT in between does not change it). */
int64_t db_last_changes(struct db *db);
/* True inside a transaction, however it was opened (db_begin, db_exec("BEGIN"), SAVEPOINT). */
bool db_in_tx(struct db *db);

/* Transactions. db_begin takes the write lock at once on SQLite (BEGIN IMMEDIATE), so two
 * writers never deadlock on an upgrade. */
int db_begin(struct db *db);
int db_commit(struct db *db);
int db_rollback(struct db *db);                  /* logs nothing when no transaction is open */

/* Applies migrations[have..n-1] for module in one transaction and records the version in
 * schema_version (created on first use). On PostgreSQL a transaction-scoped advisory lock
 * serialises two processes migrating at once. HE_OK, HE_DB (logged; nothing applied), or
 * HE_INVAL when the database is newer than this build (a downgrade). */
int db_migrate(struct db *db, const char *module, const struct db_migration *m, size_t n);
int db_version(struct db *db, const char *module); /* 0 when never migrated */

#endif
