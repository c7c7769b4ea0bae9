/* mood_store.c - the mood log's storage: schema and migrations, entries sealed with
 * care/vault (bound to member and entry id), consent and the consent-shown mark, the forget
 * slot, forget, optout and the retention purge. See mood_store.h and mood.h. */
#include "care/mood_store.h"
#include "care/checkin.h"
#include "care/mood.h"
#include "care/vault.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The expiry of a forget slot with nothing pending: long past, and stored in 6 bytes, as wide
 * as any real expiry time for millennia, so arming it never makes its row grow. Migration 2
 * writes the same value. */
#define MOOD_SLOT_IDLE (-4294967296LL)

const struct db_migration mood_migrations[] = {
	/* 1 */
	{ "CREATE TABLE mood_consent (network TEXT NOT NULL, member TEXT NOT NULL,"
	  " given_at INTEGER NOT NULL, version INTEGER NOT NULL,"
	  " PRIMARY KEY (network, member)) WITHOUT ROWID;"
	  /* origin_room: the group room an entry was logged in (room aggregates), NULL when private.
	   * nonce/box: XChaCha20-Poly1305 of "note\0tag\0tag...", NULL when there is neither. */
	  "CREATE TABLE mood_entry (id INTEGER PRIMARY KEY, network TEXT NOT NULL, member TEXT NOT NULL,"
	  " origin_room TEXT, ts INTEGER NOT NULL, score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 10),"
	  " nonce BLOB, box BLOB);"
	  /* Covering indexes: history days and room totals never touch the table itself. */
	  "CREATE INDEX mood_entry_member_ts ON mood_entry (network, member, ts, score);"
	  "CREATE INDEX mood_entry_room_ts ON mood_entry (network, origin_room, ts, member, score)"
	  " WHERE origin_room IS NOT NULL;"
	  "CREATE INDEX mood_entry_ts ON mood_entry (ts);"
	  /* tz "" = the bot's time zone; last_day: local day key of the last reminder sent. */
	  "CREATE TABLE mood_reminder (network TEXT NOT NULL, member TEXT NOT NULL,"
	  " minute INTEGER NOT NULL, tz TEXT NOT NULL, last_day INTEGER NOT NULL DEFAULT 0,"
	  " PRIMARY KEY (network, member)) WITHOUT ROWID;"
	  "CREATE TABLE mood_pending (network TEXT NOT NULL, member TEXT NOT NULL, action TEXT NOT NULL,"
	  " expires INTEGER NOT NULL, PRIMARY KEY (network, member)) WITHOUT ROWID;",
	  /* PostgreSQL: the same; ids are chosen by mood_log (no identity), times are BIGINT. */
	  "CREATE TABLE mood_consent (network TEXT NOT NULL, member TEXT NOT NULL,"
	  " given_at BIGINT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (network, member));"
	  "CREATE TABLE mood_entry (id BIGINT PRIMARY KEY, network TEXT NOT NULL, member TEXT NOT NULL,"
	  " origin_room TEXT, ts BIGINT NOT NULL, score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 10),"
	  " nonce BYTEA, box BYTEA);"
	  "CREATE INDEX mood_entry_member_ts ON mood_entry (network, member, ts, score);"
	  "CREATE INDEX mood_entry_room_ts ON mood_entry (network, origin_room, ts, member, score)"
	  " WHERE origin_room IS NOT NULL;"
	  "CREATE INDEX mood_entry_ts ON mood_entry (ts);"
	  "CREATE TABLE mood_reminder (network TEXT NOT NULL, member TEXT NOT NULL,"
	  " minute INTEGER NOT NULL, tz TEXT NOT NULL, last_day BIGINT NOT NULL DEFAULT 0,"
	  " PRIMARY KEY (network, member));"
	  "CREATE TABLE mood_pending (network TEXT NOT NULL, member TEXT NOT NULL, action TEXT NOT NULL,"
	  " expires BIGINT NOT NULL, PRIMARY KEY (network, member));" },
	/* 2 */
	/* IRC members without a services account were stored by nick ("nick:NAME", made only by
	 * net/irc/irc.c), an id that passes to whoever takes the nick next: all of it goes, and
	 * such senders are never stored again (hmsg.sender_transient). */
	{ "DELETE FROM mood_entry WHERE substr(member, 1, 5) = 'nick:';"
	  "DELETE FROM mood_consent WHERE substr(member, 1, 5) = 'nick:';"
	  "DELETE FROM mood_reminder WHERE substr(member, 1, 5) = 'nick:';"
	  "DELETE FROM mood_pending WHERE substr(member, 1, 5) = 'nick:';"
	  /* When `!mood optin` last showed a member the consent text: `!mood optin confirm` counts
	   * only within MOOD_OPTIN_WINDOW after it. */
	  "CREATE TABLE mood_consent_shown (network TEXT NOT NULL, member TEXT NOT NULL,"
	  " shown_at INTEGER NOT NULL, PRIMARY KEY (network, member)) WITHOUT ROWID;"
	  /* Every member with something stored keeps a mood_pending row, expired when nothing is
	   * pending, so that `!mood forget` is an update in place that needs no new page (a full
	   * disk never stops a member from deleting their log). See mstore_forget_arm(). */
	  "INSERT OR IGNORE INTO mood_pending (network, member, action, expires)"
	  " SELECT network, member, 'forget', -4294967296 FROM"
	  " (SELECT network, member FROM mood_consent UNION SELECT network, member FROM mood_entry);",
	  "DELETE FROM mood_entry WHERE substr(member, 1, 5) = 'nick:';"
	  "DELETE FROM mood_consent WHERE substr(member, 1, 5) = 'nick:';"
	  "DELETE FROM mood_reminder WHERE substr(member, 1, 5) = 'nick:';"
	  "DELETE FROM mood_pending WHERE substr(member, 1, 5) = 'nick:';"
	  "CREATE TABLE mood_consent_shown (network TEXT NOT NULL, member TEXT NOT NULL,"
	  " shown_at BIGINT NOT NULL, PRIMARY KEY (network, member));"
	  "INSERT INTO mood_pending (network, member, action, expires)"
	  " SELECT network, member, 'forget', -4294967296 FROM"
	  " (SELECT network, member FROM mood_consent UNION SELECT network, member FROM mood_entry)"
	  " AS m ON CONFLICT DO NOTHING;" },
	/* 3 */
	/* One-tap answers (mood_tap.c), kept so that taking a tap back works across a restart:
	 * the reaction's id (answer), its room, the check-in it answered (about), whose entry it
	 * logged (0 once taken back or past the undo window). Pruned an hour after the tap (the
	 * flood limit counts taps per hour); `!mood forget` deletes a member's rows. */
	{ "CREATE TABLE mood_tap (network TEXT NOT NULL, answer TEXT NOT NULL, room TEXT NOT NULL,"
	  " about TEXT NOT NULL, member TEXT NOT NULL, entry INTEGER NOT NULL, score INTEGER NOT NULL,"
	  " at INTEGER NOT NULL, PRIMARY KEY (network, answer)) WITHOUT ROWID;"
	  "CREATE INDEX mood_tap_member ON mood_tap (network, member, at);"
	  "CREATE INDEX mood_tap_at ON mood_tap (at);",
	  "CREATE TABLE mood_tap (network TEXT NOT NULL, answer TEXT NOT NULL, room TEXT NOT NULL,"
	  " about TEXT NOT NULL, member TEXT NOT NULL, entry BIGINT NOT NULL, score INTEGER NOT NULL,"
	  " at BIGINT NOT NULL, PRIMARY KEY (network, answer));"
	  "CREATE INDEX mood_tap_member ON mood_tap (network, member, at);"
	  "CREATE INDEX mood_tap_at ON mood_tap (at);" },
};
const size_t mood_nmigrations = sizeof(mood_migrations) / sizeof(mood_migrations[0]);

/* ---- storage ----------------------------------------------------------------------------- */

/* Associated data binding a sealed note to its member and entry. */
static int entry_ad(struct hbuf *ad, const char *network, const char *member, long long id)
{
	hbuf_reset(ad);
	hbuf_puts(ad, "hearth.mood.v1");
	hbuf_putc(ad, '\0');
	hbuf_puts(ad, network);
	hbuf_putc(ad, '\0');
	hbuf_puts(ad, member);
	hbuf_putc(ad, '\0');
	hbuf_printf(ad, "%lld", id);
	return ad->oom ? HE_NOMEM : HE_OK;
}

int mood_log(struct happ *app, const char *network, const char *member, const char *origin_room,
	     time_t ts, const struct mood_entry_in *e)
{
	struct mood *mo = mood_state(app);
	struct hbuf plain = HBUF_INIT, ad = HBUF_INIT;
	unsigned char nonce[VAULT_NONCE_BYTES], *box = NULL;
	size_t boxlen = 0;
	struct db_stmt *st;
	long long id;
	int rc = HE_OK;

	if (!mo || e->score < 1 || e->score > 10)
		return HE_INVAL;
	/* The id is chosen here (max + 1, as SQLite would) so that it can be sealed into the box:
	 * one process owns the store, so nothing races us between the two statements. */
	st = db_stmt(store_sql(app->store), "SELECT coalesce(max(id), 0) + 1 FROM mood_entry");
	if (!st || db_step(st) != DB_ROW) {
		rc = HE_DB;
		goto out;
	}
	id = db_col_int64(st, 0);
	db_reset(st);
	if (e->note || e->ntags) {
		hbuf_puts(&plain, e->note ? e->note : "");
		for (size_t i = 0; i < e->ntags; i++) {
			hbuf_putc(&plain, '\0');
			hbuf_puts(&plain, e->tags[i]);
		}
		if (plain.oom || entry_ad(&ad, network, member, id)) {
			rc = HE_NOMEM;
			goto out;
		}
		rc = vault_seal(mo->vault, plain.data, plain.len, ad.data, ad.len, nonce, &box, &boxlen);
		if (rc)
			goto out;
	}
	/* No note: nonce and box are NULL (a NULL blob pointer binds NULL). */
	rc = db_runf(store_sql(app->store), NULL, "INSERT INTO mood_entry (id, network, member, origin_room, ts, score,"
				    " nonce, box) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", "isssiibb",
			(int64_t)id, network, member, origin_room, (int64_t)ts, (int64_t)e->score,
			box ? nonce : NULL, box ? (int)VAULT_NONCE_BYTES : 0, box, box ? (int)boxlen : 0);
	if (rc)
		hlog_error("mood", "cannot store an entry");
out:
	if (plain.data)
		sodium_memzero(plain.data, plain.len);
	hbuf_free(&plain);
	hbuf_free(&ad);
	free(box);
	return rc;
}

/* Opens the sealed note/tags of a row (columns inonce, ibox of st). *plain is NULL when the
 * entry has neither; HE_CRYPTO when it cannot be opened (wrong key, tampering). */
int mstore_open_box(struct happ *app, struct db_stmt *st, int inonce, int ibox, const char *network,
		    const char *member, long long id, char **plain, size_t *len)
{
	struct hbuf ad = HBUF_INIT;
	const void *nonce = db_col_blob(st, inonce);
	int nlen = db_col_bytes(st, inonce);
	const void *box = db_col_blob(st, ibox);
	int blen = db_col_bytes(st, ibox);
	int rc;

	*plain = NULL;
	*len = 0;
	if (!box)
		return HE_OK;
	if (!nonce || nlen != VAULT_NONCE_BYTES)
		return HE_CRYPTO;
	if (entry_ad(&ad, network, member, id)) {
		hbuf_free(&ad);
		return HE_NOMEM;
	}
	rc = vault_unseal(mood_state(app)->vault, box, (size_t)blen, ad.data, ad.len, nonce, plain, len);
	hbuf_free(&ad);
	return rc;
}


int mstore_consent_get(struct happ *app, const char *network, const char *member, long long *given_at,
		       int *version)
{
	struct db_stmt *st = db_stmtf(store_sql(app->store), "SELECT given_at, version FROM mood_consent"
						   " WHERE network = ? AND member = ?", "ss", network, member);
	int rc;

	if (!st)
		return HE_DB;
	rc = db_step(st);
	if (rc == DB_ROW) {
		if (given_at)
			*given_at = db_col_int64(st, 0);
		if (version)
			*version = db_col_int(st, 1);
		rc = HE_OK;
	} else {
		rc = rc == DB_DONE ? HE_NOTFOUND : HE_DB;
	}
	db_reset(st);
	return rc;
}

long mstore_count(struct happ *app, const char *network, const char *member)
{
	return store_count(app->store, "SELECT count(*) FROM mood_entry WHERE network = ? AND member = ?",
			   "ss", network, member);
}

/* Runs a one-row write keyed by (network, member). */
int mstore_run(struct happ *app, const char *sql, const char *network, const char *member)
{
	return db_runf(store_sql(app->store), NULL, sql, "ss", network, member);
}

bool mstore_reminder_get(struct happ *app, const char *network, const char *member, int *minute,
			 char *tz, size_t tzlen)
{
	struct db_stmt *st = db_stmtf(store_sql(app->store), "SELECT minute, tz FROM mood_reminder WHERE network = ?"
						   " AND member = ?", "ss", network, member);
	bool found = false;

	if (!st)
		return false;
	if (db_step(st) == DB_ROW) {
		found = true;
		if (minute)
			*minute = db_col_int(st, 0);
		if (tz)
			snprintf(tz, tzlen, "%s", db_col_text(st, 1));
	}
	db_reset(st);
	return found;
}

int mood_purge(struct happ *app, long *purged)
{
	time_t now = happ_now(app);
	long n = 0;
	int rc = HE_OK;

	if (purged)
		*purged = 0;
	if (db_runf(store_sql(app->store), NULL, "DELETE FROM mood_entry WHERE ts < ?", "i",
		       (int64_t)now - (int64_t)app->cfg->mood_retention_days * 86400))
		rc = HE_DB;
	else
		n = (long)db_last_changes(store_sql(app->store));
	/* Forget slots of members who have nothing left (their entries aged out after an optout),
	 * and consent texts shown long ago. */
	if (db_runf(store_sql(app->store), NULL, "DELETE FROM mood_pending WHERE expires < ? AND NOT EXISTS"
				   " (SELECT 1 FROM mood_consent c WHERE c.network = mood_pending.network AND"
				   " c.member = mood_pending.member) AND NOT EXISTS (SELECT 1 FROM mood_entry e"
				   " WHERE e.network = mood_pending.network AND e.member = mood_pending.member)",
		       "i", (int64_t)now))
		rc = HE_DB;
	if (db_runf(store_sql(app->store), NULL, "DELETE FROM mood_consent_shown WHERE shown_at < ?", "i",
		       (int64_t)now - MOOD_OPTIN_WINDOW))
		rc = HE_DB;
	/* secure_delete zeroed the freed cells; fold the WAL back so old page images go too (as
	 * forget does). Not inside a caller's transaction. */
	if (!db_in_tx(store_sql(app->store)) && store_engine(app->store) == DB_SQLITE)
		db_exec(store_sql(app->store), "PRAGMA wal_checkpoint(TRUNCATE)");
	if (n)
		hlog_info("mood", "retention: deleted %ld entries older than %d days", n,
			  app->cfg->mood_retention_days);
	if (purged)
		*purged = n;
	return rc;
}

/* Notes that the member was just shown the consent text. */
int mstore_consent_shown(struct happ *app, const char *network, const char *member)
{
	return db_runf(store_sql(app->store), NULL, "INSERT INTO mood_consent_shown (network, member, shown_at)"
				      " VALUES (?, ?, ?) ON CONFLICT (network, member) DO UPDATE"
				      " SET shown_at = excluded.shown_at",
			  "ssi", network, member, (int64_t)happ_now(app));
}

/* True when this member was shown the consent text within MOOD_OPTIN_WINDOW (a time in the
 * future, after a clock step back, does not count). */
bool mstore_consent_shown_recently(struct happ *app, const char *network, const char *member)
{
	struct db_stmt *st = db_stmtf(store_sql(app->store), "SELECT shown_at FROM mood_consent_shown"
						   " WHERE network = ? AND member = ?", "ss", network, member);
	long long now = (long long)happ_now(app), at = -1;

	if (!st)
		return false;
	if (db_step(st) == DB_ROW)
		at = db_col_int64(st, 0);
	db_reset(st);
	return at >= 0 && at <= now && now - at <= MOOD_OPTIN_WINDOW;
}

/* A transaction of our own unless the caller has one open (then its commit decides). */
static int tx_begin(struct happ *app, bool *own)
{
	*own = !db_in_tx(store_sql(app->store));
	return *own ? db_begin(store_sql(app->store)) : HE_OK;
}

/* Ends a transaction tx_begin opened: commit when all went well, else roll back. */
static int tx_end(struct happ *app, bool own, int rc)
{
	if (!own)
		return rc;
	if (rc == HE_OK && db_commit(store_sql(app->store)))
		rc = HE_DB;
	if (rc)
		db_rollback(store_sql(app->store));
	return rc;
}

/* Consent, the member's forget slot (see mstore_forget_arm) and the end of the shown mark, in one
 * transaction. */
int mstore_consent_give(struct happ *app, const char *network, const char *member, int version)
{
	bool own;
	int rc = HE_OK;

	if (tx_begin(app, &own))
		return HE_DB;
	rc = db_runf(store_sql(app->store), NULL, "INSERT INTO mood_consent (network, member, given_at, version)"
				    " VALUES (?, ?, ?, ?) ON CONFLICT (network, member) DO UPDATE"
				    " SET given_at = excluded.given_at, version = excluded.version",
			"ssii", network, member, (int64_t)happ_now(app), (int64_t)version);
	if (rc == HE_OK)
		rc = db_runf(store_sql(app->store), NULL, "INSERT INTO mood_pending (network, member, action,"
					    " expires) VALUES (?, ?, 'forget', ?) ON CONFLICT DO NOTHING",
				"ssi", network, member, (int64_t)MOOD_SLOT_IDLE);
	if (rc == HE_OK)
		rc = mstore_run(app, "DELETE FROM mood_consent_shown WHERE network = ? AND member = ?",
				 network, member);
	rc = tx_end(app, own, rc);
	return rc;
}

int mstore_forget_all(struct happ *app, const char *network, const char *member)
{
	static const char *const sql[] = {
		"DELETE FROM mood_entry WHERE network = ? AND member = ?",
		"DELETE FROM mood_consent WHERE network = ? AND member = ?",
		"DELETE FROM mood_reminder WHERE network = ? AND member = ?",
		"DELETE FROM mood_pending WHERE network = ? AND member = ?",
		"DELETE FROM mood_consent_shown WHERE network = ? AND member = ?",
		"DELETE FROM mood_tap WHERE network = ? AND member = ?",
	};
	bool own;
	int rc = HE_OK;

	if (tx_begin(app, &own))
		return HE_DB;
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]) && rc == HE_OK; i++)
		rc = mstore_run(app, sql[i], network, member);
	/* Private check-ins rotate per member: that history goes too. */
	if (rc == HE_OK)
		rc = checkin_forget(app, network, member);
	rc = tx_end(app, own, rc);
	/* secure_delete zeroed the freed cells; fold the WAL back so old page images go too. */
	if (rc == HE_OK && own && store_engine(app->store) == DB_SQLITE)
		db_exec(store_sql(app->store), "PRAGMA wal_checkpoint(TRUNCATE)");
	return rc;
}

/* Opens the member's confirmation window. Every member who opted in has a slot row in
 * mood_pending (made with the consent, idle at MOOD_SLOT_IDLE), and a real expiry time is never
 * wider on disk than the one it replaces, so this is an update in place: it needs no new page,
 * and a full disk never keeps a member from deleting their log. Members from before the slots
 * existed got one in migration 2; the insert is only a fallback. */
int mstore_forget_arm(struct happ *app, const char *network, const char *member)
{
	int64_t until = (int64_t)happ_now(app) + MOOD_FORGET_WINDOW;
	int rc = db_runf(store_sql(app->store), NULL, "UPDATE mood_pending SET expires = ? WHERE network = ?"
					" AND member = ? AND action = 'forget'", "iss", (int64_t)until, network, member);

	if (rc || db_last_changes(store_sql(app->store)))
		return rc;
	return db_runf(store_sql(app->store), NULL, "INSERT INTO mood_pending (network, member, action, expires)"
				      " VALUES (?, ?, 'forget', ?) ON CONFLICT (network, member) DO UPDATE"
				      " SET action = excluded.action, expires = excluded.expires",
			  "ssi", network, member, (int64_t)until);
}

/* Consent and reminder go together or not at all. Entries (and the forget slot) stay. */
int mstore_optout_all(struct happ *app, const char *network, const char *member)
{
	bool own;
	int rc;

	if (tx_begin(app, &own))
		return HE_DB;
	rc = mstore_run(app, "DELETE FROM mood_consent WHERE network = ? AND member = ?", network, member);
	if (rc == HE_OK)
		rc = mstore_run(app, "DELETE FROM mood_reminder WHERE network = ? AND member = ?", network, member);
	rc = tx_end(app, own, rc);
	return rc;
}
