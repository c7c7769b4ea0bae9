/* rooms.c - per-room settings in the store. */
#include "care/rooms.h"
#include "core/err.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>

static const struct db_migration migrations[] = {
	/* 1 */
	{ "CREATE TABLE room_settings (network TEXT NOT NULL, room TEXT NOT NULL,"
	  " paused INTEGER NOT NULL DEFAULT 0, quiet_start INTEGER NOT NULL DEFAULT -1,"
	  " quiet_end INTEGER NOT NULL DEFAULT -1, tz TEXT NOT NULL DEFAULT '',"
	  " PRIMARY KEY (network, room)) WITHOUT ROWID;",
	  "CREATE TABLE room_settings (network TEXT NOT NULL, room TEXT NOT NULL,"
	  " paused INTEGER NOT NULL DEFAULT 0, quiet_start INTEGER NOT NULL DEFAULT -1,"
	  " quiet_end INTEGER NOT NULL DEFAULT -1, tz TEXT NOT NULL DEFAULT '',"
	  " PRIMARY KEY (network, room));" },
};

int rooms_migrate(struct store *s)
{
	return store_migrate_db(s, "rooms", migrations, sizeof(migrations) / sizeof(migrations[0]));
}

int rooms_init(struct happ *app)
{
	return rooms_migrate(app->store);
}

int rooms_get(struct happ *app, const char *network, const char *room, struct room_settings *out)
{
	struct db_stmt *st = db_stmtf(store_sql(app->store), "SELECT paused, quiet_start, quiet_end, tz FROM"
				       " room_settings WHERE network = ? AND room = ?", "ss", network, room);

	memset(out, 0, sizeof(*out));
	out->quiet_start = out->quiet_end = -1;
	if (!st)
		return HE_DB;
	if (db_step(st) == DB_ROW) {
		out->paused = db_col_int(st, 0) != 0;
		out->quiet_start = db_col_int(st, 1);
		out->quiet_end = db_col_int(st, 2);
		snprintf(out->tz, sizeof(out->tz), "%s", db_col_text(st, 3));
	}
	db_reset(st);
	return HE_OK;
}

static int ensure_row(struct happ *app, const char *network, const char *room)
{
	return db_runf(store_sql(app->store), NULL, "INSERT INTO room_settings (network, room) VALUES (?, ?)"
		       " ON CONFLICT DO NOTHING", "ss",
			  network, room);
}

int rooms_set_paused(struct happ *app, const char *network, const char *room, bool paused)
{
	int rc = ensure_row(app, network, room);

	if (rc)
		return rc;
	return db_runf(store_sql(app->store), NULL, "UPDATE room_settings SET paused = ? WHERE network = ? AND room = ?",
			  "iss", (int64_t)paused, network, room);
}

int rooms_set_quiet(struct happ *app, const char *network, const char *room, int start, int end,
		    const char *tz)
{
	int rc = ensure_row(app, network, room);

	if (rc)
		return rc;
	return db_runf(store_sql(app->store), NULL, "UPDATE room_settings SET quiet_start = ?, quiet_end = ?, tz = ?"
				      " WHERE network = ? AND room = ?",
			  "iisss", (int64_t)start, (int64_t)end, tz ? tz : "", network, room);
}
