/* rooms.c - per-room settings in the store. */
#include "care/rooms.h"
#include "care/cron.h"
#include "core/err.h"
#include "store/store.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
	/* 2: a facilitator's room setup; '' is "the configured default". welcome_seen keeps who
	 * was greeted in a room, as a keyed hash (never a transient IRC nick), so nobody is
	 * greeted twice. */
	{ "ALTER TABLE room_settings ADD COLUMN country TEXT NOT NULL DEFAULT '';"
	  "ALTER TABLE room_settings ADD COLUMN language TEXT NOT NULL DEFAULT '';"
	  "ALTER TABLE room_settings ADD COLUMN prefix TEXT NOT NULL DEFAULT '';"
	  "ALTER TABLE room_settings ADD COLUMN welcome INTEGER NOT NULL DEFAULT 1;"
	  "ALTER TABLE room_settings ADD COLUMN welcome_text TEXT NOT NULL DEFAULT '';"
	  "ALTER TABLE room_settings ADD COLUMN topic_week TEXT NOT NULL DEFAULT '';"
	  "ALTER TABLE room_settings ADD COLUMN topic_week_at INTEGER NOT NULL DEFAULT 0;"
	  "ALTER TABLE room_settings ADD COLUMN introduced INTEGER NOT NULL DEFAULT 0;"
	  "ALTER TABLE room_settings ADD COLUMN last_welcome INTEGER NOT NULL DEFAULT 0;"
	  "CREATE TABLE welcome_seen (network TEXT NOT NULL, room TEXT NOT NULL, member TEXT NOT NULL,"
	  " at INTEGER NOT NULL, PRIMARY KEY (network, room, member)) WITHOUT ROWID;",
	  "ALTER TABLE room_settings ADD COLUMN country TEXT NOT NULL DEFAULT '';"
	  "ALTER TABLE room_settings ADD COLUMN language TEXT NOT NULL DEFAULT '';"
	  "ALTER TABLE room_settings ADD COLUMN prefix TEXT NOT NULL DEFAULT '';"
	  "ALTER TABLE room_settings ADD COLUMN welcome INTEGER NOT NULL DEFAULT 1;"
	  "ALTER TABLE room_settings ADD COLUMN welcome_text TEXT NOT NULL DEFAULT '';"
	  "ALTER TABLE room_settings ADD COLUMN topic_week TEXT NOT NULL DEFAULT '';"
	  "ALTER TABLE room_settings ADD COLUMN topic_week_at BIGINT NOT NULL DEFAULT 0;"
	  "ALTER TABLE room_settings ADD COLUMN introduced BIGINT NOT NULL DEFAULT 0;"
	  "ALTER TABLE room_settings ADD COLUMN last_welcome BIGINT NOT NULL DEFAULT 0;"
	  "CREATE TABLE welcome_seen (network TEXT NOT NULL, room TEXT NOT NULL, member TEXT NOT NULL,"
	  " at BIGINT NOT NULL, PRIMARY KEY (network, room, member));" },
	/* 3: a member's own language for private replies (`!lang`, care/lang.c), keyed by a hash
	 * of the member's id, never the id. */
	{ "CREATE TABLE member_lang (network TEXT NOT NULL, member TEXT NOT NULL, lang TEXT NOT NULL,"
	  " PRIMARY KEY (network, member)) WITHOUT ROWID;",
	  "CREATE TABLE member_lang (network TEXT NOT NULL, member TEXT NOT NULL, lang TEXT NOT NULL,"
	  " PRIMARY KEY (network, member));" },
};

int rooms_migrate(struct store *s)
{
	return store_migrate_db(s, "rooms", migrations, sizeof(migrations) / sizeof(migrations[0]));
}

int rooms_init(struct happ *app)
{
	return rooms_migrate(app->store);
}

static void col(char *dst, size_t len, struct db_stmt *st, int i)
{
	const char *v = db_col_text(st, i);
	snprintf(dst, len, "%s", v ? v : "");
}

void rooms_get_defaults(struct room_settings *out)
{
	memset(out, 0, sizeof(*out));
	out->quiet_start = out->quiet_end = -1;
	out->welcome = true;
}

int rooms_get(struct happ *app, const char *network, const char *room, struct room_settings *out)
{
	struct db_stmt *st = db_stmtf(store_sql(app->store), "SELECT paused, quiet_start, quiet_end, tz, country,"
				       " language, prefix, welcome, welcome_text, topic_week, topic_week_at,"
				       " introduced, last_welcome FROM room_settings WHERE network = ? AND"
				       " room = ?", "ss", network, room);

	rooms_get_defaults(out);
	if (!st)
		return HE_DB;
	if (db_step(st) == DB_ROW) {
		out->paused = db_col_int(st, 0) != 0;
		out->quiet_start = db_col_int(st, 1);
		out->quiet_end = db_col_int(st, 2);
		col(out->tz, sizeof(out->tz), st, 3);
		col(out->country, sizeof(out->country), st, 4);
		col(out->language, sizeof(out->language), st, 5);
		col(out->prefix, sizeof(out->prefix), st, 6);
		out->welcome = db_col_int(st, 7) != 0;
		col(out->welcome_text, sizeof(out->welcome_text), st, 8);
		col(out->topic_week, sizeof(out->topic_week), st, 9);
		out->topic_week_at = (time_t)db_col_int64(st, 10);
		out->introduced = db_col_int(st, 11) != 0;
		out->last_welcome = (time_t)db_col_int64(st, 12);
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
	return rooms_set_int(app, network, room, "paused", paused);
}

int rooms_set_quiet(struct happ *app, const char *network, const char *room, int start, int end,
		    const char *tz)
{
	int rc = ensure_row(app, network, room);

	if (rc)
		return rc;
	if (tz && (rc = rooms_set_text(app, network, room, "tz", tz)))
		return rc;
	return db_runf(store_sql(app->store), NULL, "UPDATE room_settings SET quiet_start = ?, quiet_end = ?"
				      " WHERE network = ? AND room = ?",
			  "iiss", (int64_t)start, (int64_t)end, network, room);
}

/* Column names come from these fixed lists only, never from input. */
int rooms_set_text(struct happ *app, const char *network, const char *room, const char *field,
		   const char *value)
{
	static const char *const sql[][2] = {
		{ "tz", "UPDATE room_settings SET tz = ? WHERE network = ? AND room = ?" },
		{ "country", "UPDATE room_settings SET country = ? WHERE network = ? AND room = ?" },
		{ "language", "UPDATE room_settings SET language = ? WHERE network = ? AND room = ?" },
		{ "prefix", "UPDATE room_settings SET prefix = ? WHERE network = ? AND room = ?" },
		{ "welcome_text", "UPDATE room_settings SET welcome_text = ? WHERE network = ? AND room = ?" },
	};
	int rc = ensure_row(app, network, room);

	if (rc)
		return rc;
	if (strcmp(field, "topic_week") == 0)
		return db_runf(store_sql(app->store), NULL, "UPDATE room_settings SET topic_week = ?, topic_week_at = ?"
					      " WHERE network = ? AND room = ?", "siss", value,
				  (int64_t)happ_now(app), network, room);
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
		if (strcmp(field, sql[i][0]) == 0)
			return db_runf(store_sql(app->store), NULL, sql[i][1], "sss", value ? value : "", network, room);
	return HE_INVAL;
}

int rooms_set_int(struct happ *app, const char *network, const char *room, const char *field,
		  long long value)
{
	static const char *const sql[][2] = {
		{ "paused", "UPDATE room_settings SET paused = ? WHERE network = ? AND room = ?" },
		{ "welcome", "UPDATE room_settings SET welcome = ? WHERE network = ? AND room = ?" },
		{ "introduced", "UPDATE room_settings SET introduced = ? WHERE network = ? AND room = ?" },
		{ "last_welcome", "UPDATE room_settings SET last_welcome = ? WHERE network = ? AND room = ?" },
	};
	int rc = ensure_row(app, network, room);

	if (rc)
		return rc;
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
		if (strcmp(field, sql[i][0]) == 0)
			return db_runf(store_sql(app->store), NULL, sql[i][1], "iss", (int64_t)value, network, room);
	return HE_INVAL;
}

const char *rooms_tz(const struct happ *app, const struct room_settings *rs)
{
	return rs && rs->tz[0] ? rs->tz : app->cfg->timezone;
}

const char *rooms_country(const struct happ *app, const struct room_settings *rs)
{
	return rs && rs->country[0] ? rs->country : app->cfg->crisis_country;
}

const char *rooms_language(const struct happ *app, const struct room_settings *rs)
{
	return rs && rs->language[0] ? rs->language : app->cfg->language;
}

const char *rooms_prefix(const struct happ *app, const struct room_settings *rs)
{
	return rs && rs->prefix[0] ? rs->prefix : app->cfg->prefix;
}

bool rooms_tz_canon(const char *in, char *out, size_t outlen)
{
	const char *base = getenv("TZDIR"), *p = in;
	char path[1024];
	size_t used = 0;

	if (!base || !*base)
		base = "/usr/share/zoneinfo";
	if (!in || !*in || strlen(in) >= outlen || strlen(in) > 128 || in[0] == '/')
		return false;
	if (cron_tz_valid(in)) {
		snprintf(out, outlen, "%s", in);
		return true;
	}
	/* Walk the zone folders one name at a time, matching each without regard to case. */
	out[0] = '\0';
	while (*p) {
		size_t n = strcspn(p, "/");
		char want[130];
		DIR *d;
		struct dirent *e;
		bool found = false;

		if (n == 0 || n >= sizeof(want))
			return false;
		memcpy(want, p, n);
		want[n] = '\0';
		if (strcmp(want, ".") == 0 || strcmp(want, "..") == 0)
			return false;
		snprintf(path, sizeof(path), "%s/%s", base, out);
		if (!(d = opendir(path)))
			return false;
		while ((e = readdir(d)))
			if (strcasecmp(e->d_name, want) == 0 && e->d_name[0] != '.') {
				snprintf(out + used, outlen - used, "%s%s", used ? "/" : "", e->d_name);
				found = true;
				break;
			}
		closedir(d);
		if (!found)
			return false;
		used = strlen(out);
		p += n;
		if (*p == '/')
			p++;
	}
	return cron_tz_valid(out);
}

/* Whom Hearth welcomed is kept as a keyed hash of (network, room, member id), never the id: the
 * key is random, made once and kept in the store, so the table alone tells nobody who joined. */
static int member_key(struct happ *app, const char *network, const char *room, const char *member,
		      char out[33])
{
	const char *parts[] = { network, room, member };

	return store_keyed_id(app->store, "rooms", "welcome_key", parts, 3, out);
}

bool rooms_welcomed(struct happ *app, const char *network, const char *room, const char *member)
{
	struct db_stmt *st;
	char id[33];
	bool yes;

	if (member_key(app, network, room, member, id) != HE_OK)
		return true; /* cannot tell: better no welcome than a second one */
	st = db_stmtf(store_sql(app->store), "SELECT 1 FROM welcome_seen WHERE network = ? AND room = ? AND"
			 " member = ?", "sss", network, room, id);
	if (!st)
		return true;
	yes = db_step(st) == DB_ROW;
	db_reset(st);
	return yes;
}

int rooms_mark_welcomed(struct happ *app, const char *network, const char *room, const char *member,
			time_t at)
{
	char id[33];
	int rc = member_key(app, network, room, member, id);

	if (rc)
		return rc;
	return db_runf(store_sql(app->store), NULL, "INSERT INTO welcome_seen (network, room, member, at)"
				      " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", "sssi", network, room, id, (int64_t)at);
}
