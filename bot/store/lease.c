/* lease.c - one active Hearth per network section, with a fencing number (see lease.h). */
#include "store/lease.h"
#include "store/store.h"
#include "core/err.h"
#include "core/log.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LEASE_MARGIN_MS 1500 /* the local deadline comes this much before the row's */
#define LEASE_REGISTRY 16

struct lease {
	struct store *s;
	char section[LEASE_SECTION_MAX];
	char holder[160];
	int64_t fence;
	bool held;
	bool lost;
	bool lost_logged;
	bool exclusive;            /* lease_set_exclusive(): SQLite's lock file holds others out */
	uint64_t valid_until_ms;   /* CLOCK_BOOTTIME */
	void (*on_lost)(struct lease *l, void *arg);
	void *on_lost_arg;
};

/* Single-threaded like the rest of Hearth: the leases this process holds, by section. */
static struct lease *registry[LEASE_REGISTRY];

static const struct db_migration migrations[] = {
	/* 1 */
	{ "CREATE TABLE lease (section TEXT PRIMARY KEY, holder TEXT NOT NULL DEFAULT '',"
	  " fence INTEGER NOT NULL DEFAULT 0, expires_at INTEGER NOT NULL DEFAULT 0)",
	  "CREATE TABLE lease (section TEXT PRIMARY KEY, holder TEXT NOT NULL DEFAULT '',"
	  " fence BIGINT NOT NULL DEFAULT 0, expires_at BIGINT NOT NULL DEFAULT 0)" },
};

/* The database's clock in milliseconds since the epoch. */
#define NOW_SQLITE "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"
#define NOW_PG "CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) AS BIGINT)"

static uint64_t boot_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int lease_migrate(struct store *s)
{
	return store_migrate_db(s, "lease", migrations, sizeof(migrations) / sizeof(migrations[0]));
}

/* A process frozen inside a transaction (SIGSTOP, a machine cut off) would hold its FOR SHARE
 * row lock and keep the standby's takeover waiting: PostgreSQL ends a session that sits idle in
 * a transaction this long (Hearth's transactions never wait on anything but the database). */
static int session_setup(struct db *db, void *arg)
{
	return db_exec(db, "SET idle_in_transaction_session_timeout = '3s'");
}

int lease_setup(struct store *s)
{
	struct db *db = store_sql(s);
	int rc;

	if (db_engine(db) != DB_PG)
		return HE_OK;
	if ((rc = session_setup(db, NULL)))
		return rc;
	return db_set_reconnect_hook(db, session_setup, NULL);
}

int lease_new(struct store *s, const char *section, const char *holder, struct lease **out)
{
	struct lease *l;
	char host[64] = "";
	size_t slot = LEASE_REGISTRY;

	*out = NULL;
	if (!section || strlen(section) >= LEASE_SECTION_MAX)
		return HE_INVAL;
	for (size_t i = 0; i < LEASE_REGISTRY; i++)
		if (!registry[i]) {
			slot = i;
			break;
		}
	if (slot == LEASE_REGISTRY)
		return HE_TOOBIG;
	if (!(l = calloc(1, sizeof(*l))))
		return HE_NOMEM;
	l->s = s;
	snprintf(l->section, sizeof(l->section), "%s", section);
	if (holder && *holder) {
		snprintf(l->holder, sizeof(l->holder), "%s", holder);
	} else {
		if (gethostname(host, sizeof(host) - 1) != 0)
			snprintf(host, sizeof(host), "unknown");
		host[sizeof(host) - 1] = '\0';
		snprintf(l->holder, sizeof(l->holder), "%s:%ld:%08x", host, (long)getpid(),
			 randombytes_random());
	}
	registry[slot] = l;
	*out = l;
	return HE_OK;
}

void lease_free(struct lease *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < LEASE_REGISTRY; i++)
		if (registry[i] == l)
			registry[i] = NULL;
	free(l);
}

int64_t lease_fence(const struct lease *l) { return l->held ? l->fence : 0; }
const char *lease_holder(const struct lease *l) { return l->holder; }
const char *lease_section(const struct lease *l) { return l->section; }
bool lease_lost(const struct lease *l) { return l->lost; }

bool lease_valid(const struct lease *l)
{
	return l->held && !l->lost && (l->exclusive || boot_ms() < l->valid_until_ms);
}

void lease_on_lost(struct lease *l, void (*fn)(struct lease *l, void *arg), void *arg)
{
	l->on_lost = fn;
	l->on_lost_arg = arg;
}

void lease_mark_lost(struct lease *l, const char *why)
{
	bool was_held = l->held;

	l->lost = true;
	l->held = false;
	if (!was_held || l->lost_logged)
		return;
	l->lost_logged = true;
	hlog_warn("lease", "lost the lease for [%s] (%s); going back to standby", l->section, why);
	if (l->on_lost)
		l->on_lost(l, l->on_lost_arg);
}

int lease_take(struct lease *l, int64_t ttl_ms, bool *held)
{
	struct db *db = store_sql(l->s);
	uint64_t sent = boot_ms();
	int64_t fence = 0;
	int rc;

	*held = false;
	if (l->exclusive && l->held && !l->lost) {
		/* the lock file holds every other process out and lease_valid() needs no time for
		 * it: a renewal (three writes every LEASE_RENEW_MS, also when idle) changes nothing */
		*held = true;
		return HE_OK;
	}
	if (ttl_ms <= 0)
		ttl_ms = LEASE_TTL_MS;
	rc = db_runf(db, NULL, "INSERT INTO lease (section, holder, fence, expires_at) VALUES (?, '', 0, 0)"
		     " ON CONFLICT (section) DO NOTHING", "s", l->section);
	if (rc == HE_OK && l->exclusive) /* whoever held it last is not running (the lock file) */
		rc = db_runf(db, NULL, "UPDATE lease SET expires_at = 0 WHERE section = ? AND holder <> ?",
			     "ss", l->section, l->holder);
	if (rc == HE_OK)
		rc = db_int64f(db, &fence, DB_SQL(db,
			"UPDATE lease SET fence = CASE WHEN holder = ? THEN fence ELSE fence + 1 END,"
			" holder = ?, expires_at = " NOW_SQLITE " + ?"
			" WHERE section = ? AND (holder = ? OR expires_at < " NOW_SQLITE ") RETURNING fence",
			"UPDATE lease SET fence = CASE WHEN holder = ? THEN fence ELSE fence + 1 END,"
			" holder = ?, expires_at = " NOW_PG " + ?"
			" WHERE section = ? AND (holder = ? OR expires_at < " NOW_PG ") RETURNING fence"),
			"ssiss", l->holder, l->holder, ttl_ms, l->section, l->holder);
	if (rc == HE_NOTFOUND) {
		/* another holder's lease has not expired */
		if (l->held)
			lease_mark_lost(l, "another instance holds it");
		return HE_OK;
	}
	if (rc) {
		if (l->held && boot_ms() >= l->valid_until_ms)
			lease_mark_lost(l, "it could not be renewed in time");
		return rc;
	}
	if (l->held && fence != l->fence) {
		/* someone held it in between: what this process has in memory is stale */
		lease_mark_lost(l, "another instance held it in between");
		return HE_OK;
	}
	/* The same fence: nobody held it in between, even if this renew came late. */
	l->fence = fence;
	l->held = true;
	l->lost = false;
	l->lost_logged = false;
	l->valid_until_ms = sent + (uint64_t)ttl_ms - (ttl_ms > 2 * LEASE_MARGIN_MS ? LEASE_MARGIN_MS : ttl_ms / 2);
	*held = true;
	return HE_OK;
}

void lease_set_exclusive(struct lease *l, bool on)
{
	if (l)
		l->exclusive = on;
}

int lease_release(struct lease *l)
{
	int rc;

	if (!l || !l->held)
		return HE_OK;
	l->held = false;
	rc = db_runf(store_sql(l->s), NULL, "UPDATE lease SET expires_at = 0 WHERE section = ? AND holder = ?"
		     " AND fence = ?", "ssi", l->section, l->holder, l->fence);
	if (rc == HE_OK)
		hlog_info("lease", "gave up the lease for [%s]", l->section);
	return rc;
}

int lease_guard(struct lease *l)
{
	struct db *db = store_sql(l->s);
	int64_t fence = 0;
	int rc;

	if (!lease_valid(l)) {
		lease_mark_lost(l, l->held ? "its time ran out before it was renewed" : "it is not held");
		return HE_PERM;
	}
	if (l->exclusive) /* the lock file holds every other process out: no one can take it */
		return HE_OK;
	rc = db_int64f(db, &fence, DB_SQL(db, "SELECT fence FROM lease WHERE section = ?",
					  "SELECT fence FROM lease WHERE section = ? FOR SHARE"),
		       "s", l->section);
	if (rc == HE_NOTFOUND || (rc == HE_OK && fence != l->fence)) {
		lease_mark_lost(l, "a write was refused: another instance took over");
		return HE_PERM;
	}
	return rc;
}

int lease_begin(struct lease *l)
{
	struct db *db = store_sql(l->s);
	int rc;

	if (!lease_valid(l)) {
		lease_mark_lost(l, l->held ? "its time ran out before it was renewed" : "it is not held");
		return HE_PERM;
	}
	if ((rc = db_begin(db)))
		return rc;
	if ((rc = lease_guard(l)))
		db_rollback(db);
	return rc;
}

struct lease *lease_find(const char *section)
{
	for (size_t i = 0; i < LEASE_REGISTRY; i++)
		if (registry[i] && strcmp(registry[i]->section, section) == 0)
			return registry[i];
	return NULL;
}

struct lease *lease_find_store(struct store *s, const char *section)
{
	for (size_t i = 0; i < LEASE_REGISTRY; i++)
		if (registry[i] && registry[i]->s == s && strcmp(registry[i]->section, section) == 0)
			return registry[i];
	return NULL;
}

int lease_guard_section(struct store *s, const char *section)
{
	struct lease *l = lease_find_store(s, section);

	return l ? lease_guard(l) : HE_OK;
}

int lease_open(struct store *s, const char *section, bool *own)
{
	struct db *db = store_sql(s);
	struct lease *l = lease_find_store(s, section);
	int rc;

	*own = false;
	/* no lease for this section (SQLite tools, tests), or one no other process can take (the
	 * daemon on SQLite, lease_set_exclusive): a plain write, no transaction and no fence read
	 * around it (they were ~15% of a plain command's CPU) */
	if (!l || (l->exclusive && lease_valid(l)))
		return HE_OK;
	if (db_in_tx(db))
		return lease_guard(l);
	*own = true;
	if ((rc = lease_begin(l)))
		*own = false; /* rolled back already */
	return rc;
}

int lease_end(struct store *s, bool own, int rc)
{
	struct db *db = store_sql(s);

	if (!own)
		return rc;
	if (rc) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db);
}
