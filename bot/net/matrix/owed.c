/* owed.c - what Hearth still owes the rooms, kept in the store so the sync position never waits.
 *
 * The /sync position is saved as soon as a batch is walked. What the batch started and has not
 * finished is written here first and finished after a restart:
 *
 *   mx_owed_events  one row per message handed to the core, keyed by its event id: open until
 *                   every reply it caused was sent (or dropped for good), then done. Only ids,
 *                   the room and the two decisions taken when it came (private chat, moderator)
 *                   are kept, never a body: after a restart the event is fetched again from the
 *                   homeserver. Done rows stop a replayed batch from handling it twice; they
 *                   are pruned after two days.
 *   mx_owed_joins   invites being joined, with the first try's time and the tries so far, so
 *                   that the bound on retries holds across restarts.
 *   mx_owed_gaps    the missed messages of a limited timeline, not fetched yet.
 *
 * Module "matrix_owed" in schema_version. Every function takes the store so the unit tests can
 * use one in memory. */
#include "net/matrix/mx.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#define OWED_KEEP_DONE_S (2 * 24 * 3600)

static const char *const migrations[] = {
	/* 1 */
	"CREATE TABLE mx_owed_events (event_id TEXT PRIMARY KEY, room_id TEXT NOT NULL,"
	" done INTEGER NOT NULL DEFAULT 0,"
	" ts INTEGER NOT NULL);"
	"CREATE INDEX mx_owed_events_open ON mx_owed_events (done, ts);"
	"CREATE TABLE mx_owed_joins (room_id TEXT PRIMARY KEY, inviter TEXT, first_ms INTEGER NOT NULL,"
	" tries INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE mx_owed_gaps (room_id TEXT NOT NULL, from_tok TEXT NOT NULL, to_tok TEXT NOT NULL,"
	" PRIMARY KEY (room_id, from_tok));",
};

static int prune(struct store *s, int64_t now_s);

int mx_owed_init(struct store *s, int64_t now_s)
{
	int rc = store_migrate(s, "matrix_owed", migrations, sizeof(migrations) / sizeof(migrations[0]));

	return rc ? rc : prune(s, now_s);
}

int mx_owed_clear(struct store *s)
{
	if (store_exec(s, "DELETE FROM mx_owed_events") || store_exec(s, "DELETE FROM mx_owed_joins") ||
	    store_exec(s, "DELETE FROM mx_owed_gaps"))
		return HE_DB;
	return HE_OK;
}

static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st) == SQLITE_DONE ? HE_OK : HE_DB;

	sqlite3_reset(st);
	return rc;
}

/* ---- events ---- */

int mx_owed_event_get(struct store *s, const char *event_id)
{
	sqlite3_stmt *st = store_stmt(s, "SELECT done FROM mx_owed_events WHERE event_id = ?");
	int rc = MX_OWED_NONE;

	if (!st)
		return HE_DB;
	sqlite3_bind_text(st, 1, event_id, -1, SQLITE_STATIC);
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		rc = sqlite3_column_int(st, 0) ? MX_OWED_DONE : MX_OWED_OPEN;
		break;
	case SQLITE_DONE:
		break;
	default:
		rc = HE_DB;
	}
	sqlite3_reset(st);
	return rc;
}

static int prune(struct store *s, int64_t now_s)
{
	sqlite3_stmt *st = store_stmt(s, "DELETE FROM mx_owed_events WHERE done = 1 AND ts < ?");

	if (!st)
		return HE_DB;
	sqlite3_bind_int64(st, 1, now_s - OWED_KEEP_DONE_S);
	return step_done(st);
}

int mx_owed_event_add(struct store *s, const char *event_id, const char *room_id, int64_t now_s)
{
	sqlite3_stmt *st = store_stmt(s, "INSERT OR IGNORE INTO mx_owed_events (event_id, room_id, ts)"
				      " VALUES (?, ?, ?)");
	int rc;

	if (!st)
		return HE_DB;
	sqlite3_bind_text(st, 1, event_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, room_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_s);
	rc = step_done(st);
	/* a Hearth that runs for months: old done rows go every 1024 messages, not only at start */
	if (rc == HE_OK && sqlite3_changes(store_db(s)) > 0 &&
	    sqlite3_last_insert_rowid(store_db(s)) % 1024 == 0 && prune(s, now_s) != HE_OK)
		hlog_debug(MX_MOD, "could not prune answered messages from the store");
	return rc;
}

int mx_owed_event_done(struct store *s, const char *event_id)
{
	sqlite3_stmt *st = store_stmt(s, "UPDATE mx_owed_events SET done = 1 WHERE event_id = ?");

	if (!st)
		return HE_DB;
	sqlite3_bind_text(st, 1, event_id, -1, SQLITE_STATIC);
	return step_done(st);
}

/* Rows of a query as an array of objects with the given column names (text or integer). */
static int rows(sqlite3_stmt *st, const char *const *names, size_t n, json_t **out)
{
	json_t *arr = json_array(), *o;
	int step, rc = HE_OK;

	*out = NULL;
	if (!st) {
		json_decref(arr);
		return HE_DB;
	}
	if (!arr) {
		sqlite3_reset(st);
		return HE_NOMEM;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (!(o = json_object()) || json_array_append_new(arr, o)) {
			rc = HE_NOMEM;
			break;
		}
		for (size_t i = 0; i < n; i++) {
			if (sqlite3_column_type(st, (int)i) == SQLITE_INTEGER)
				json_object_set_new(o, names[i], json_integer(sqlite3_column_int64(st, (int)i)));
			else if (sqlite3_column_type(st, (int)i) == SQLITE_TEXT)
				json_object_set_new(o, names[i],
						    json_string((const char *)sqlite3_column_text(st, (int)i)));
		}
	}
	if (rc == HE_OK && step != SQLITE_DONE)
		rc = HE_DB;
	sqlite3_reset(st);
	if (rc) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return HE_OK;
}

int mx_owed_events_open(struct store *s, json_t **out)
{
	static const char *const names[] = { "event_id", "room_id" };

	return rows(store_stmt(s, "SELECT event_id, room_id FROM mx_owed_events WHERE done = 0"
			       " ORDER BY ts, rowid"), names, 2, out);
}

/* ---- joins ---- */

int mx_owed_join_add(struct store *s, const char *room_id, const char *inviter, int64_t now_ms)
{
	sqlite3_stmt *st = store_stmt(s, "INSERT OR IGNORE INTO mx_owed_joins (room_id, inviter,"
				      " first_ms) VALUES (?, ?, ?)");

	if (!st)
		return HE_DB;
	sqlite3_bind_text(st, 1, room_id, -1, SQLITE_STATIC);
	if (inviter)
		sqlite3_bind_text(st, 2, inviter, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_int64(st, 3, now_ms);
	return step_done(st);
}

int mx_owed_join_get(struct store *s, const char *room_id, int64_t *first_ms, unsigned *tries)
{
	sqlite3_stmt *st = store_stmt(s, "SELECT first_ms, tries FROM mx_owed_joins WHERE room_id = ?");
	int rc = HE_NOTFOUND;

	if (!st)
		return HE_DB;
	sqlite3_bind_text(st, 1, room_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*first_ms = sqlite3_column_int64(st, 0);
		*tries = (unsigned)sqlite3_column_int(st, 1);
		rc = HE_OK;
	}
	sqlite3_reset(st);
	return rc;
}

int mx_owed_join_tried(struct store *s, const char *room_id, unsigned tries)
{
	sqlite3_stmt *st = store_stmt(s, "UPDATE mx_owed_joins SET tries = ? WHERE room_id = ?");

	if (!st)
		return HE_DB;
	sqlite3_bind_int(st, 1, (int)tries);
	sqlite3_bind_text(st, 2, room_id, -1, SQLITE_STATIC);
	return step_done(st);
}

int mx_owed_join_del(struct store *s, const char *room_id)
{
	sqlite3_stmt *st = store_stmt(s, "DELETE FROM mx_owed_joins WHERE room_id = ?");

	if (!st)
		return HE_DB;
	sqlite3_bind_text(st, 1, room_id, -1, SQLITE_STATIC);
	return step_done(st);
}

int mx_owed_joins(struct store *s, json_t **out)
{
	static const char *const names[] = { "room_id", "inviter", "first_ms", "tries" };

	return rows(store_stmt(s, "SELECT room_id, inviter, first_ms, tries FROM mx_owed_joins"
			       " ORDER BY first_ms, rowid"), names, 4, out);
}

long mx_owed_join_count(struct store *s)
{
	return store_count(s, "SELECT count(*) FROM mx_owed_joins", "");
}

bool mx_join_give_up(int status, unsigned tries, uint64_t elapsed_ms)
{
	if (status >= 200 && status < 300)
		return false;
	if (elapsed_ms >= MX_JOIN_GIVE_UP_MS)
		return true;
	/* a refusal (403 M_FORBIDDEN, 404 M_NOT_FOUND, ...) can be the invite/join race on a
	 * homeserver with workers for a second or two; more than a few are the answer */
	return status >= 400 && status < 500 && tries >= MX_JOIN_REFUSED_TRIES;
}

/* ---- gaps ---- */

int mx_owed_gap_add(struct store *s, const char *room_id, const char *from, const char *to)
{
	sqlite3_stmt *st = store_stmt(s, "INSERT OR REPLACE INTO mx_owed_gaps (room_id, from_tok, to_tok)"
				      " VALUES (?, ?, ?)");

	if (!st)
		return HE_DB;
	sqlite3_bind_text(st, 1, room_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, to, -1, SQLITE_STATIC);
	return step_done(st);
}

int mx_owed_gap_del(struct store *s, const char *room_id, const char *from)
{
	sqlite3_stmt *st = store_stmt(s, "DELETE FROM mx_owed_gaps WHERE room_id = ? AND from_tok = ?");

	if (!st)
		return HE_DB;
	sqlite3_bind_text(st, 1, room_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	return step_done(st);
}

int mx_owed_gaps(struct store *s, json_t **out)
{
	static const char *const names[] = { "room_id", "from", "to" };

	return rows(store_stmt(s, "SELECT room_id, from_tok, to_tok FROM mx_owed_gaps ORDER BY rowid"),
		    names, 3, out);
}
