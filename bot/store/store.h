/* store.h - the one store: SQLite in data_dir (default) or PostgreSQL ([store] url).
 *
 * WAL journal, foreign keys on, a lock file so that two processes never share one store (two
 * processes on one Matrix device would fork its crypto state). Each module owns its tables and
 * brings its own ordered list of migrations; store_migrate() applies the missing ones in one
 * transaction and records the module's version in the `schema_version` table. */
#ifndef HEARTH_STORE_H
#define HEARTH_STORE_H

#include <sqlite3.h>
#include <stdarg.h>

#include "store/db.h"
#include <stddef.h>

struct store;

/* Opens (creating) DIR/hearth.db, making DIR with mode 0700 if needed. HE_PERM when another
 * Hearth holds the lock. */
int store_open(const char *dir, struct store **out);
/* url NULL or "": store_open(dir). Else the database at url (postgresql://..., see db.h);
 * dir is still made and kept private (key files live there). PostgreSQL: no whole-store lock;
 * two Hearths may share it, one active per network section (store/lease.h). */
int store_open_url(const char *dir, const char *url, struct store **out);
/* PostgreSQL only: the store without its one-Hearth lock, beside a running Hearth (the
 * operator's `hearth admin member ...`; the server serialises the writes). */
int store_open_url_shared(const char *url, struct store **out);
/* Opens a database file directly (tests, benchmarks); ":memory:" works. No lock file. */
int store_open_file(const char *path, struct store **out);
void store_free(struct store *s);              /* accepts NULL; closes the database */

/* The statement layer (store/db.h), either engine: modules use this. Borrowed. */
struct db *store_sql(struct store *s);
enum db_engine store_engine(const struct store *s);
/* SQLite only (NULL on PostgreSQL): the same connection for code not yet on store_sql(). */
sqlite3 *store_db(struct store *s);            /* borrowed */
const char *store_dir(const struct store *s);  /* NULL for store_open_file */

/* Applies migrations[version..n-1] for module; each entry is one or more SQL statements.
 * Returns 0, HE_DB (logged, nothing applied), or HE_INVAL when the database is newer than
 * this build knows (a downgrade). */
int store_migrate(struct store *s, const char *module, const char *const *migrations, size_t n);
/* The same for migrations written for both engines (store/db.h): what modules use. */
int store_migrate_db(struct store *s, const char *module, const struct db_migration *m, size_t n);
/* The module's schema version (0 when never migrated). */
int store_version(struct store *s, const char *module);

/* A small key-value space per namespace for transport state (sync tokens, device ids).
 * store_kv_get sets *value to a malloc'd string, or NULL with HE_NOTFOUND. */
int store_kv_get(struct store *s, const char *ns, const char *key, char **value);
int store_kv_set(struct store *s, const char *ns, const char *key, const char *value);
/* A keyed hash (32 hex digits + NUL in out) of the n strings in parts, so a table can tell
 * people apart without naming them: the 32-byte key is random, made at first use and kept in
 * the kv table as (ns, key_name). Returns HE_OK, or HE_DB when the key cannot be read or kept. */
int store_keyed_id(struct store *s, const char *ns, const char *key_name, const char *const *parts,
		   size_t n, char out[33]);
int store_kv_del(struct store *s, const char *ns, const char *key);

/* Key checks (one per key file: "mood", "e2e"): a keyed hash of a fixed text under the key,
 * kept in kv namespace "keycheck", so that a start with another key (or a lost key file) is
 * told from a first start, without keeping anything that opens the data.
 * store_keycheck_of: the check value of key for name (BLAKE2b keyed with the key).
 * store_keycheck: HE_OK when the stored value is fp, HE_NOTFOUND when there is none yet,
 * HE_CRYPTO when it is another key's, HE_DB on a store error.
 * store_keycheck_record: stores fp for name (replacing nothing: HE_CRYPTO if another is there). */
#define STORE_KEYCHECK_BYTES 32
void store_keycheck_of(const unsigned char *key, size_t keylen, const char *name,
		       unsigned char fp[STORE_KEYCHECK_BYTES]);
int store_keycheck(struct store *s, const char *name, const unsigned char fp[STORE_KEYCHECK_BYTES]);
int store_keycheck_record(struct store *s, const char *name,
			  const unsigned char fp[STORE_KEYCHECK_BYTES]);

/* The one SQL binder. fmt has one letter per `?` parameter, in order:
 *   s  const char *            text (NULL binds NULL)
 *   i  int64_t                 integer (cast: a plain int is not an int64_t in varargs)
 *   d  double                  real
 *   b  const void *, int       blob and its length in bytes
 * Values are copied, so they need not outlive the call.
 * store_stmtf: the cached statement (store_stmt) with its parameters bound, ready to step; NULL
 * (logged) on error. The next store_stmt* of the same SQL resets it.
 * store_runf: binds and runs one statement (a write), then resets it: HE_OK, or HE_DB (logged). */
sqlite3_stmt *store_stmtf(struct store *s, const char *sql, const char *fmt, ...);
int store_runf(struct store *s, const char *sql, const char *fmt, ...);
sqlite3_stmt *store_vstmtf(struct store *s, const char *sql, const char *fmt, va_list ap);
int store_vrunf(struct store *s, const char *sql, const char *fmt, va_list ap);

/* Runs a one-row query (e.g. "SELECT count(*) FROM t WHERE a = ?") with its parameters bound by
 * fmt as above and returns the row's first column as a count: >= 0, or -1 (logged) when the
 * statement fails, or when it gives no row or a negative or NULL value. */
long store_count(struct store *s, const char *sql, const char *fmt, ...);

/* Runs one cached write statement with two text parameters (e.g. network, member). */
int store_run2(struct store *s, const char *sql, const char *a, const char *b);

/* Runs SQL without results (BEGIN, COMMIT, ...). */
int store_exec(struct store *s, const char *sql);

/* A prepared statement cached for the store's lifetime, keyed by its SQL text; reset before it
 * is returned. Returns NULL (logged) on error. Do not finalize it. */
sqlite3_stmt *store_stmt(struct store *s, const char *sql);

#endif
