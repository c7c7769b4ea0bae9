/* store.c - the store: SQLite in data_dir or PostgreSQL by URL, per-module migrations, a
 * key-value space. */
#include "store/store.h"
#include "store/db.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sodium.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define STMT_CACHE 256 /* every SQL text in Hearth is a literal: the set is bounded */

struct cached_stmt {
	const char *sql;       /* the caller's string literal: compared by address, then text */
	sqlite3_stmt *stmt;
};

/* store_keyed_id's keys, read once: the kv row was read (a SELECT, a copy and a hex decode)
 * on every call, that is on every command (the member's language). Forgotten when this
 * process writes or deletes the row; wiped at store_free. */
#define KEYED_CACHE 4

struct keyed_key {
	char ns[24], name[24];
	unsigned char key[32];
	bool set;
};

struct store {
	struct db *sql;        /* the statement layer, either engine */
	sqlite3 *db;           /* SQLite only: the same connection, for the older sqlite3_* API */
	char *dir;
	int lock_fd;
	struct cached_stmt cache[STMT_CACHE];
	size_t ncache;
	struct keyed_key keyed[KEYED_CACHE];
};

static const struct db_migration core_migrations[] = {
	/* 1 */
	{ "CREATE TABLE kv (ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
	  " PRIMARY KEY (ns, key)) WITHOUT ROWID;",
	  "CREATE TABLE kv (ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
	  " PRIMARY KEY (ns, key));" },
};

/* PostgreSQL: a session advisory lock per database and schema (taken again after a
 * reconnect), for callers that want the store to themselves. The daemon no longer does: two
 * Hearths share a PostgreSQL store and the leases of store/lease.h pick the active one. */

static int take_pg_lock(struct db *db, void *arg)
{
	int64_t got = 0;
	int rc = db_int64f(db, &got, "SELECT CASE WHEN pg_try_advisory_lock(7421,"
			   " hashtext(current_schema())) THEN 1 ELSE 0 END",
			   "");

	if (rc)
		return rc;
	if (!got) {
		hlog_error("store", "another Hearth is already using the store %s; stop it first",
			   db_safe_url(db));
		return HE_PERM;
	}
	return HE_OK;
}

static int open_with(struct db *db, struct store *s, bool lock)
{
	int rc;

	s->sql = db;
	if (db_engine(db) == DB_SQLITE)
		s->db = db_native(db);
	else if (lock && ((rc = take_pg_lock(db, NULL)) ||
			  (rc = db_set_reconnect_hook(db, take_pg_lock, NULL))))
		return rc;
	return db_migrate(db, "core", core_migrations,
			  sizeof(core_migrations) / sizeof(core_migrations[0]));
}

static int open_db(const char *path, struct store *s)
{
	struct db *db = NULL;
	int rc = db_open_sqlite(path, &db);

	if (rc)
		return rc;
	return open_with(db, s, true);
}

int store_open_file(const char *path, struct store **out)
{
	struct store *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (!s)
		return HE_NOMEM;
	s->lock_fd = -1;
	rc = open_db(path, s);
	if (rc) {
		store_free(s);
		return rc;
	}
	*out = s;
	return HE_OK;
}

static int make_dir(const char *dir)
{
	char tmp[4096];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(tmp))
		return HE_INVAL;
	memcpy(tmp, dir, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
				return HE_IO;
			*p = '/';
		}
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return HE_IO;
	return HE_OK;
}

/* nftw callback: what Hearth keeps is for Hearth's user alone. Links are not followed, and
 * files of other users are left as they are. */
static int tighten_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	mode_t want;

	if (st->st_uid != geteuid() || (type != FTW_F && type != FTW_D && type != FTW_DP))
		return 0;
	want = type == FTW_F ? st->st_mode & 0600 : 0700;
	if ((st->st_mode & 0777) == want)
		return 0;
	if (chmod(path, want) < 0)
		hlog_warn("store", "cannot make %s private (chmod): %s", path, strerror(errno));
	else if (type == FTW_F && (st->st_mode & 0044))
		hlog_warn("store", "%s was readable by other users (mode %03o); it is now %03o", path,
			  (unsigned)(st->st_mode & 0777), (unsigned)want);
	return 0;
}

/* The data folder holds members' health data: it must be ours and private. A folder of another
 * user is refused; an open mode (e.g. 0755 from an earlier mkdir) is closed, down to every file
 * already in it (database, WAL, keys, exports). */
static int private_dir(const char *dir)
{
	struct stat st;

	if (lstat(dir, &st) < 0) {
		hlog_error("store", "cannot read the data folder %s: %s", dir, strerror(errno));
		return HE_IO;
	}
	if (!S_ISDIR(st.st_mode)) {
		hlog_error("store", "the data folder %s is not a folder; point data_dir at a folder of "
			   "Hearth's own", dir);
		return HE_IO;
	}
	if (st.st_uid != geteuid()) {
		hlog_error("store", "the data folder %s belongs to another user (uid %u, Hearth runs as "
			   "uid %u); members' data must stay private, so Hearth will not use it. Give Hearth "
			   "a folder of its own, or chown it to Hearth's user", dir, (unsigned)st.st_uid,
			   (unsigned)geteuid());
		return HE_PERM;
	}
	if (st.st_mode & 0077)
		hlog_info("store", "the data folder %s was open to other users (mode %03o); it is now 0700",
			  dir, (unsigned)(st.st_mode & 0777));
	nftw(dir, tighten_one, 8, FTW_PHYS);
	return HE_OK;
}

int store_open(const char *dir, struct store **out)
{
	struct store *s = NULL;
	char *path = NULL, *lock = NULL;
	int rc;

	*out = NULL;
	if (make_dir(dir)) {
		hlog_error("store", "cannot create the data folder %s: %s", dir, strerror(errno));
		return HE_IO;
	}
	if ((rc = private_dir(dir)))
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s || asprintf(&path, "%s/hearth.db", dir) < 0 || asprintf(&lock, "%s/hearth.lock", dir) < 0) {
		path = lock = NULL;
		rc = HE_NOMEM;
		goto out;
	}
	s->dir = strdup(dir);
	s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		hlog_error("store", "cannot open %s: %s", lock, strerror(errno));
		rc = HE_IO;
		goto out;
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		hlog_error("store", "another Hearth is already using %s; stop it first", dir);
		rc = HE_PERM;
		goto out;
	}
	rc = open_db(path, s);
	if (rc == HE_OK)
		chmod(path, 0600); /* main() sets umask 077; this keeps library users private too */
out:
	free(path);
	free(lock);
	if (rc) {
		store_free(s);
		return rc;
	}
	*out = s;
	return HE_OK;
}

static int open_url(const char *dir, const char *url, bool lock, struct store **out)
{
	struct store *s = NULL;
	struct db *db = NULL;
	int rc;

	*out = NULL;
	if (!url || !*url)
		return store_open(dir, out);
	/* The key files stay in data_dir, private as ever. */
	if (dir && make_dir(dir)) {
		hlog_error("store", "cannot create the data folder %s: %s", dir, strerror(errno));
		return HE_IO;
	}
	if (dir && (rc = private_dir(dir)))
		return rc;
	if (!(s = calloc(1, sizeof(*s))))
		return HE_NOMEM;
	s->lock_fd = -1;
	if (dir && !(s->dir = strdup(dir))) {
		rc = HE_NOMEM;
		goto out;
	}
	if ((rc = db_open(url, &db)))
		goto out;
	rc = open_with(db, s, lock);
	if (rc && !s->sql)
		db_free(db);
out:
	if (rc) {
		store_free(s);
		return rc;
	}
	*out = s;
	return HE_OK;
}

int store_open_url(const char *dir, const char *url, struct store **out)
{
	/* PostgreSQL: two Hearths may share the store; one per network section is active, by the
	 * leases of store/lease.h (the whole-store lock of before would keep the standby out). */
	return open_url(dir, url, !db_url_is_pg(url), out);
}

int store_open_url_shared(const char *url, struct store **out)
{
	*out = NULL;
	if (!db_url_is_pg(url))
		return HE_INVAL;
	return open_url(NULL, url, false, out);
}

void store_free(struct store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->ncache; i++)
		sqlite3_finalize(s->cache[i].stmt);
	sodium_memzero(s->keyed, sizeof(s->keyed));
	db_free(s->sql); /* closes the SQLite connection s->db too */
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->dir);
	free(s);
}

sqlite3 *store_db(struct store *s) { return s->db; }
struct db *store_sql(struct store *s) { return s->sql; }
enum db_engine store_engine(const struct store *s) { return db_engine(s->sql); }
const char *store_dir(const struct store *s) { return s->dir; }

int store_exec(struct store *s, const char *sql)
{
	return db_exec(s->sql, sql);
}

/* The older sqlite3_* API works on SQLite only; a module still on it says so on PostgreSQL. */
static bool sqlite_only(struct store *s, const char *sql)
{
	if (s->db)
		return true;
	hlog_error("store", "a module not yet converted to the statement layer ran SQL on PostgreSQL"
		   " (%.60s...)", sql);
	return false;
}

sqlite3_stmt *store_stmt(struct store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (!sqlite_only(s, sql))
		return NULL;
	for (size_t i = 0; i < s->ncache; i++) {
		if (s->cache[i].sql == sql || strcmp(s->cache[i].sql, sql) == 0) {
			sqlite3_reset(s->cache[i].stmt);
			sqlite3_clear_bindings(s->cache[i].stmt);
			return s->cache[i].stmt;
		}
	}
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		metrics_store_error();
		hlog_error("store", "cannot prepare SQL: %s", sqlite3_errmsg(s->db));
		return NULL;
	}
	if (s->ncache < STMT_CACHE) {
		s->cache[s->ncache].sql = sql;
		s->cache[s->ncache].stmt = st;
		s->ncache++;
		return st;
	}
	hlog_error("store", "statement cache full (%d); raise STMT_CACHE", STMT_CACHE);
	sqlite3_finalize(st);
	return NULL;
}

int store_version(struct store *s, const char *module)
{
	return db_version(s->sql, module);
}

int store_migrate_db(struct store *s, const char *module, const struct db_migration *m, size_t n)
{
	return db_migrate(s->sql, module, m, n);
}

int store_migrate(struct store *s, const char *module, const char *const *migrations, size_t n)
{
	struct db_migration *m;
	int rc;

	if (!s->db) {
		hlog_error("store", "the %s tables have no PostgreSQL schema yet; this module runs on "
			   "SQLite only (leave [store] url out)", module);
		return HE_INVAL;
	}
	if (!(m = calloc(n ? n : 1, sizeof(*m))))
		return HE_NOMEM;
	for (size_t i = 0; i < n; i++)
		m[i].sqlite = migrations[i];
	rc = db_migrate(s->sql, module, m, n);
	free(m);
	return rc;
}

int store_kv_get(struct store *s, const char *ns, const char *key, char **value)
{
	struct db_stmt *st = db_stmtf(s->sql, "SELECT value FROM kv WHERE ns = ? AND key = ?", "ss", ns,
				      key);
	int rc;

	*value = NULL;
	if (!st)
		return HE_DB;
	rc = db_step(st);
	if (rc == DB_ROW) {
		const char *v = db_col_text(st, 0);
		*value = strdup(v ? v : "");
		rc = *value ? HE_OK : HE_NOMEM;
	} else if (rc == DB_DONE) {
		rc = HE_NOTFOUND;
	}
	db_reset(st);
	return rc;
}

static struct keyed_key *keyed_find(struct store *s, const char *ns, const char *name)
{
	for (size_t i = 0; i < KEYED_CACHE; i++)
		if (s->keyed[i].set && strcmp(s->keyed[i].ns, ns) == 0 &&
		    strcmp(s->keyed[i].name, name) == 0)
			return &s->keyed[i];
	return NULL;
}

static void keyed_forget(struct store *s, const char *ns, const char *name)
{
	struct keyed_key *k = keyed_find(s, ns, name);

	if (k)
		sodium_memzero(k, sizeof(*k));
}

static void keyed_keep(struct store *s, const char *ns, const char *name, const unsigned char key[32])
{
	struct keyed_key *k = NULL;

	if (strlen(ns) >= sizeof(k->ns) || strlen(name) >= sizeof(k->name))
		return;
	for (size_t i = 0; i < KEYED_CACHE && !k; i++)
		if (!s->keyed[i].set)
			k = &s->keyed[i];
	if (!k)
		return; /* full: read from the store as before */
	snprintf(k->ns, sizeof(k->ns), "%s", ns);
	snprintf(k->name, sizeof(k->name), "%s", name);
	memcpy(k->key, key, sizeof(k->key));
	k->set = true;
}

int store_kv_set(struct store *s, const char *ns, const char *key, const char *value)
{
	int rc;

	keyed_forget(s, ns, key);
	rc = db_runf(s->sql, NULL, "INSERT INTO kv (ns, key, value) VALUES (?, ?, ?)"
			 " ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value", "sss", ns, key,
			 value);

	if (rc)
		hlog_error("store", "cannot save %s/%s", ns, key);
	return rc;
}

int store_keyed_id(struct store *s, const char *ns, const char *key_name, const char *const *parts,
		   size_t n, char out[33])
{
	unsigned char key[32], h[16];
	crypto_generichash_state st;
	char *hex = NULL;
	size_t got = 0;
	struct keyed_key *kept = keyed_find(s, ns, key_name);
	int rc = HE_OK;

	if (kept)
		memcpy(key, kept->key, sizeof(key));
	else
		rc = store_kv_get(s, ns, key_name, &hex);
	if (rc == HE_NOTFOUND) {
		char fresh[65];
		randombytes_buf(key, sizeof(key));
		sodium_bin2hex(fresh, sizeof(fresh), key, sizeof(key));
		rc = store_kv_set(s, ns, key_name, fresh);
		sodium_memzero(fresh, sizeof(fresh));
	} else if (rc == HE_OK && !kept) {
		rc = sodium_hex2bin(key, sizeof(key), hex, strlen(hex), NULL, &got, NULL) ||
			     got != sizeof(key) ? HE_DB : HE_OK;
		sodium_memzero(hex, strlen(hex));
	}
	free(hex);
	if (rc)
		goto out;
	if (!kept)
		keyed_keep(s, ns, key_name, key);
	crypto_generichash_init(&st, key, sizeof(key), sizeof(h));
	for (size_t i = 0; i < n; i++)
		crypto_generichash_update(&st, (const unsigned char *)parts[i], strlen(parts[i]) + 1);
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(out, 33, h, sizeof(h));
out:
	sodium_memzero(key, sizeof(key));
	return rc;
}

int store_kv_del(struct store *s, const char *ns, const char *key)
{
	keyed_forget(s, ns, key);
	return db_runf(s->sql, NULL, "DELETE FROM kv WHERE ns = ? AND key = ?", "ss", ns, key);
}

/* ---- key checks -------------------------------------------------------------------------- */

void store_keycheck_of(const unsigned char *key, size_t keylen, const char *name,
		       unsigned char fp[STORE_KEYCHECK_BYTES])
{
	static const char label[] = "hearth.keycheck.v1";
	crypto_generichash_state st;

	crypto_generichash_init(&st, key, keylen > crypto_generichash_KEYBYTES_MAX ?
				crypto_generichash_KEYBYTES_MAX : keylen, STORE_KEYCHECK_BYTES);
	crypto_generichash_update(&st, (const unsigned char *)label, sizeof(label));
	crypto_generichash_update(&st, (const unsigned char *)name, strlen(name) + 1);
	crypto_generichash_final(&st, fp, STORE_KEYCHECK_BYTES);
}

int store_keycheck(struct store *s, const char *name, const unsigned char fp[STORE_KEYCHECK_BYTES])
{
	char hex[2 * STORE_KEYCHECK_BYTES + 1], *have = NULL;
	int rc = store_kv_get(s, "keycheck", name, &have);

	if (rc)
		return rc;
	sodium_bin2hex(hex, sizeof(hex), fp, STORE_KEYCHECK_BYTES);
	rc = strlen(have) == strlen(hex) && sodium_memcmp(have, hex, strlen(hex)) == 0 ? HE_OK : HE_CRYPTO;
	free(have);
	return rc;
}

int store_keycheck_record(struct store *s, const char *name, const unsigned char fp[STORE_KEYCHECK_BYTES])
{
	char hex[2 * STORE_KEYCHECK_BYTES + 1];
	int rc = store_keycheck(s, name, fp);

	if (rc != HE_NOTFOUND)
		return rc;
	sodium_bin2hex(hex, sizeof(hex), fp, STORE_KEYCHECK_BYTES);
	/* Two instances starting at once on PostgreSQL: the first one's value stays. */
	rc = db_runf(s->sql, NULL, "INSERT INTO kv (ns, key, value) VALUES ('keycheck', ?, ?)"
		     " ON CONFLICT (ns, key) DO NOTHING", "ss", name, hex);
	return rc ? rc : store_keycheck(s, name, fp);
}

static int bindv(sqlite3_stmt *st, const char *fmt, va_list ap)
{
	int i = 1;

	for (const char *f = fmt; f && *f; f++, i++) {
		int r;
		if (*f == 's') {
			const char *v = va_arg(ap, const char *);
			r = v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
		} else if (*f == 'i') {
			r = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
		} else if (*f == 'd') {
			r = sqlite3_bind_double(st, i, va_arg(ap, double));
		} else if (*f == 'b') {
			const void *p = va_arg(ap, const void *);
			int n = va_arg(ap, int);
			r = sqlite3_bind_blob(st, i, p, n, SQLITE_TRANSIENT);
		} else {
			return HE_INVAL;
		}
		if (r != SQLITE_OK)
			return HE_DB;
	}
	return HE_OK;
}

sqlite3_stmt *store_vstmtf(struct store *s, const char *sql, const char *fmt, va_list ap)
{
	sqlite3_stmt *st = store_stmt(s, sql);

	if (!st)
		return NULL;
	if (bindv(st, fmt, ap) != HE_OK) {
		hlog_error("store", "cannot bind SQL parameters");
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return NULL;
	}
	return st;
}

sqlite3_stmt *store_stmtf(struct store *s, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;

	va_start(ap, fmt);
	st = store_vstmtf(s, sql, fmt, ap);
	va_end(ap);
	return st;
}

int store_vrunf(struct store *s, const char *sql, const char *fmt, va_list ap)
{
	sqlite3_stmt *st = store_vstmtf(s, sql, fmt, ap);
	int r;

	if (!st)
		return HE_DB;
	r = sqlite3_step(st);
	sqlite3_reset(st);
	if (r != SQLITE_DONE && r != SQLITE_ROW) {
		metrics_store_error();
		hlog_error("store", "SQL failed: %s", sqlite3_errmsg(s->db));
		return HE_DB;
	}
	return HE_OK;
}

int store_runf(struct store *s, const char *sql, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = store_vrunf(s, sql, fmt, ap);
	va_end(ap);
	return rc;
}

long store_count(struct store *s, const char *sql, const char *fmt, ...)
{
	struct db_stmt *st;
	va_list ap;
	long n = -1;
	int r;

	va_start(ap, fmt);
	st = db_vstmtf(s->sql, sql, fmt, ap);
	va_end(ap);
	if (!st)
		return -1;
	r = db_step(st);
	if (r == DB_ROW && db_col_type(st, 0) != DB_NULL && db_col_int64(st, 0) >= 0 &&
	    db_col_int64(st, 0) <= LONG_MAX)
		n = (long)db_col_int64(st, 0);
	db_reset(st);
	return n;
}

int store_run2(struct store *s, const char *sql, const char *a, const char *b)
{
	return store_runf(s, sql, "ss", a, b);
}
