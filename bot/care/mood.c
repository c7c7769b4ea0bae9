/* mood.c - opt-in private mood logs: the `!mood` command (consent, entries, history, export,
 * forget, optout, reminders) and the reminder timer. Storage is in mood_store.c.
 *
 * Privacy rules this file keeps (see mood.h): before `!mood optin confirm` nothing is stored
 * but the time the consent text was shown (for MOOD_OPTIN_WINDOW); a sender whose id can pass
 * to another person (sender_transient) gets an explanation and nothing else; every reply goes
 * to the member privately; a member is always (msg->network, msg->sender) and no subcommand
 * names anyone else; notes and tags are sealed with care/vault before they reach the database,
 * bound to member and entry id. */
#include "care/mood.h"
#include "care/mood_store.h"
#include "care/state.h"
#include "care/commands.h"
#include "care/content.h"
#include "care/cron.h"
#include "care/vault.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/tz.h"
#include "core/log.h"
#include "core/text.h"
#include "store/store.h"

#include <ctype.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const sparks[] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };

/* The tag after cur (NULL: the first) in a plaintext "note\0tag\0tag", or NULL. */
static const char *next_tag(const char *plain, size_t len, const char *cur)
{
	const char *end = plain + len;
	const char *p = cur ? cur : plain;

	p += strlen(p) + 1;
	return p < end ? p : NULL;
}

/* ---- time zones -------------------------------------------------------------------------- */

/* Days since 1970-01-01 of t's local date in zone z. */
static long local_day(const struct tz *z, time_t t, struct tm *tm)
{
	if (tz_local(z, t, tm) != HE_OK)
		return 0;
	return (long)tz_days_from_civil(tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday);
}

/* The zone a member reads their times in: their reminder's zone, else the bot's. */
static void member_tz(struct happ *app, const char *network, const char *member, char *tz, size_t len)
{
	if (!mstore_reminder_get(app, network, member, NULL, tz, len) || !*tz)
		snprintf(tz, len, "%s", app->cfg->timezone ? app->cfg->timezone : "UTC");
}

/* ---- replies ----------------------------------------------------------------------------- */

static int say(struct hctx *ctx, const char *md)
{
	return hctx_reply(ctx, HDEST_PRIVATE, md);
}

/* A member's text shown as written: no Markdown, links or mentions (text_md_escape), one line. */
static void put_escaped(struct hbuf *b, const char *s)
{
	char *safe = text_md_escape(s);

	hbuf_puts(b, safe ? safe : "(not shown)");
	free(safe);
}

static const char *const wdays[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
				      "Oct", "Nov", "Dec" };

static const char *consent_missing =
	"I'd be glad to keep a private mood log for you, but first I need your okay. Type "
	"`!mood optin` to read what is kept and how." MOOD_NOTHING_SAVED;

static const char *consent_changed =
	"What the mood log keeps, or how, has changed since you agreed. Please read it again with "
	"`!mood optin` and confirm if it still suits you." MOOD_NOTHING_SAVED;

/* HE_OK when the member may log; otherwise tells them why not and returns HE_PERM. */
static int need_consent(struct hctx *ctx)
{
	const struct hmsg *m = ctx->msg;
	int version = 0, rc = mstore_consent_get(ctx->app, m->network, m->sender, NULL, &version);

	if (rc == HE_OK && version >= ctx->app->content->consent_version)
		return HE_OK;
	if (rc == HE_OK)
		say(ctx, consent_changed);
	else if (rc == HE_NOTFOUND)
		say(ctx, consent_missing);
	else
		say(ctx, "Sorry, I couldn't reach your mood log just now. Please try again in a moment.");
	return HE_PERM;
}

/* The consent text with the retention filled in. */
static void put_consent(struct happ *app, struct hbuf *b)
{
	const struct content *c = app->content;

	if (c->consent_title)
		hbuf_printf(b, "**%s**\n\n", c->consent_title);
	for (const char *p = c->consent; *p;) {
		const char *hit = strstr(p, "{retention_days}");
		if (!hit) {
			hbuf_puts(b, p);
			break;
		}
		hbuf_append(b, p, (size_t)(hit - p));
		hbuf_printf(b, "%d", app->cfg->mood_retention_days);
		p = hit + strlen("{retention_days}");
	}
	hbuf_printf(b, "\n\n(`!mood optin confirm` works for %d minutes after this message.)",
		    MOOD_OPTIN_WINDOW / 60);
}

static int sub_optin(struct hctx *ctx, const char *rest)
{
	struct happ *app = ctx->app;
	const struct hmsg *m = ctx->msg;
	const struct content *c = app->content;
	struct hbuf b = HBUF_INIT;
	char word[16];
	int version = 0, rc;
	bool have = mstore_consent_get(app, m->network, m->sender, NULL, &version) == HE_OK;

	if (text_next_word(&rest, word, sizeof(word))) {
		if (strcasecmp(word, "confirm") != 0 || *rest)
			return say(ctx, "To agree, type `!mood optin confirm`. To read what that means first, "
				   "type `!mood optin`.");
		if (have && version >= c->consent_version)
			return say(ctx, "You're already opted in. Log how you feel with `!mood <1-10> [note]`.");
		if (!mstore_consent_shown_recently(app, m->network, m->sender)) {
			/* Consent is to the text just read: show it (again) first. */
			if (mstore_consent_shown(app, m->network, m->sender))
				return say(ctx, "Sorry, I couldn't do that just now. Please try again in a moment."
					   MOOD_NOTHING_SAVED);
			hbuf_puts(&b, "Before you agree, please read what the mood log keeps and how. Here "
				  "it is; nothing is logged yet.\n\n");
			put_consent(app, &b);
			rc = b.oom ? HE_NOMEM : say(ctx, hbuf_str(&b));
			hbuf_free(&b);
			return rc;
		}
		if (mstore_consent_give(app, m->network, m->sender, c->consent_version))
			return say(ctx, "Sorry, I couldn't save that just now. Please try again in a moment.");
		return say(ctx, "Thank you. Your mood log is ready, and only you can see it.\n\n"
			   "Log how you feel with `!mood <1-10> [note]`, for example `!mood 6 long day #tired`. "
			   "Several times a day is fine. `!mood history` shows your recent days.");
	}
	if (have && version >= c->consent_version)
		return say(ctx, "You're already opted in. Log how you feel with `!mood <1-10> [note]`; "
			   "`!mood optout` stops the log any time.");
	if (mstore_consent_shown(app, m->network, m->sender))
		return say(ctx, "Sorry, I couldn't do that just now. Please try again in a moment.");
	put_consent(app, &b);
	rc = b.oom ? HE_NOMEM : say(ctx, hbuf_str(&b));
	hbuf_free(&b);
	return rc;
}

static int sub_log(struct hctx *ctx)
{
	const struct hmsg *m = ctx->msg;
	struct mood_entry_in e;
	struct hbuf b = HBUF_INIT;
	char err[320];
	int rc;

	if (need_consent(ctx))
		return HE_OK;
	rc = mood_parse_entry(ctx->args, &e, err, sizeof(err));
	if (rc == HE_NOMEM)
		return rc;
	if (rc)
		return say(ctx, err);
	rc = mood_log(ctx->app, m->network, m->sender, m->is_private ? NULL : m->room, happ_now(ctx->app), &e);
	if (rc) {
		mood_entry_in_clear(&e);
		return say(ctx, "Sorry, I couldn't save that just now. Please try again in a moment." MOOD_NOTHING_SAVED);
	}
	hbuf_printf(&b, "Logged **%d**/10", e.score);
	if (e.note)
		hbuf_puts(&b, " with your note");
	if (e.ntags) {
		hbuf_puts(&b, " (");
		for (size_t i = 0; i < e.ntags; i++) {
			hbuf_puts(&b, i ? ", " : "");
			put_escaped(&b, e.tags[i]);
		}
		hbuf_puts(&b, ")");
	}
	hbuf_puts(&b, ". Thank you for checking in with yourself.");
	if (!m->is_private)
		hbuf_puts(&b, "\n\nYou can also log here, in our private chat, so your note stays between us.");
	mood_entry_in_clear(&e);
	rc = b.oom ? HE_NOMEM : say(ctx, hbuf_str(&b));
	hbuf_free(&b);
	return rc;
}

struct bucket {
	double sum;
	int n;
};

static void put_spark(struct hbuf *b, const struct bucket *k)
{
	if (!k->n) {
		hbuf_puts(b, "·");
		return;
	}
	double avg = k->sum / k->n;
	int lvl = (int)((avg - 1.0) / 9.0 * 7.0 + 0.5);
	hbuf_puts(b, sparks[lvl < 0 ? 0 : lvl > 7 ? 7 : lvl]);
}

#define HISTORY_RECENT 10
#define HISTORY_TABLE_DAYS 31

static int sub_history(struct hctx *ctx, const char *rest)
{
	struct happ *app = ctx->app;
	const struct hmsg *m = ctx->msg;
	struct bucket *day = NULL, half[2] = { { 0, 0 }, { 0, 0 } };
	struct hbuf b = HBUF_INIT;
	const struct tz *zone = NULL;
	struct tm tm;
	struct db_stmt *st;
	char err[160], tz[72];
	int days, rc = HE_OK, shown;
	long first, today, total = 0, withdays = 0;
	double sum = 0;
	time_t now = happ_now(app), start;

	if (mood_parse_days(rest, &days, err, sizeof(err)))
		return say(ctx, err);
	if (mstore_count(app, m->network, m->sender) <= 0) {
		if (mstore_consent_get(app, m->network, m->sender, NULL, NULL) == HE_OK)
			return say(ctx, "Your mood log is empty so far. Log how you feel with `!mood <1-10> [note]`.");
		return say(ctx, "You don't have a mood log. If you'd like one, type `!mood optin` to read "
			   "what is kept and how.");
	}
	day = calloc((size_t)days, sizeof(*day));
	if (!day)
		return HE_NOMEM;
	member_tz(app, m->network, m->sender, tz, sizeof(tz));
	/* An unknown zone reads as UTC. */
	if (tz_load(tz, &zone) != HE_OK && (rc = tz_load(NULL, &zone)) != HE_OK) {
		free(day);
		return rc;
	}
	today = local_day(zone, now, &tm);
	first = today - (days - 1);
	tm.tm_mday -= days - 1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	start = tz_mktime(zone, &tm);

	st = db_stmtf(store_sql(app->store), "SELECT ts, score FROM mood_entry WHERE network = ? AND member = ?"
				     " AND ts >= ? ORDER BY ts", "ssi", m->network, m->sender, (int64_t)start);
	if (!st) {
		rc = HE_DB;
		goto out;
	}
	while (db_step(st) == DB_ROW) {
		struct tm et;
		long d = local_day(zone, (time_t)db_col_int64(st, 0), &et) - first;
		int score = db_col_int(st, 1);
		if (d < 0 || d >= days)
			continue; /* in the future (a clock step): not part of these days */
		day[d].sum += score;
		day[d].n++;
		total++;
		sum += score;
	}
	db_reset(st);

	if (total == 0) {
		hbuf_printf(&b, "No entries in the last %d day%s. Log one with `!mood <1-10> [note]`, "
			    "or look further back with `!mood history %d`.", days, days == 1 ? "" : "s",
			    MOOD_HISTORY_MAX);
		goto send;
	}
	for (int d = 0; d < days; d++) {
		if (!day[d].n)
			continue;
		withdays++;
		half[d >= days / 2].sum += day[d].sum / day[d].n;
		half[d >= days / 2].n++;
	}
	hbuf_printf(&b, "**Your mood, last %d day%s**\n\n", days, days == 1 ? "" : "s");
	hbuf_puts(&b, "`");
	if (days <= 62) {
		for (int d = 0; d < days; d++)
			put_spark(&b, &day[d]);
		hbuf_puts(&b, "` one mark per day, oldest first (· no entry)\n\n");
	} else {
		for (int d = 0; d < days; d += 7) {
			struct bucket w = { 0, 0 };
			for (int i = d; i < d + 7 && i < days; i++) {
				w.sum += day[i].sum;
				w.n += day[i].n;
			}
			put_spark(&b, &w);
		}
		hbuf_puts(&b, "` one mark per week, oldest first (· no entry)\n\n");
	}
	hbuf_printf(&b, "Average **%.1f** from %ld entr%s on %ld day%s. ", sum / total, total,
		    total == 1 ? "y" : "ies", withdays, withdays == 1 ? "" : "s");
	if (half[0].n && half[1].n) {
		double a = half[0].sum / half[0].n, z = half[1].sum / half[1].n;
		hbuf_printf(&b, "Trend: %s (%.1f in the first half, %.1f in the second).",
			    z - a >= 0.5 ? "up" : a - z >= 0.5 ? "down" : "steady", a, z);
	} else {
		hbuf_puts(&b, "Trend: not enough days yet to compare.");
	}

	/* Days with entries, most recent HISTORY_TABLE_DAYS of them. */
	hbuf_puts(&b, "\n\n```\nDay          Avg  Entries\n");
	shown = 0;
	for (int d = days - 1; d >= 0 && shown < HISTORY_TABLE_DAYS; d--)
		shown += day[d].n > 0;
	for (int d = 0, skip = (int)withdays - shown; d < days; d++) {
		struct tm dt;
		time_t noon;
		if (!day[d].n || skip-- > 0)
			continue;
		dt = tm; /* local midnight of the first day, normalised below */
		dt.tm_mday += d;
		dt.tm_hour = 12;
		dt.tm_isdst = -1;
		noon = tz_mktime(zone, &dt);
		tz_local(zone, noon, &dt);
		hbuf_printf(&b, "%s %02d %s  %4.1f  %d\n", wdays[dt.tm_wday], dt.tm_mday, months[dt.tm_mon],
			    day[d].sum / day[d].n, day[d].n);
	}
	hbuf_puts(&b, "```\n");
	if ((long)shown < withdays)
		hbuf_printf(&b, "(the last %d days with entries; `!mood export` has everything)\n", shown);

	/* The latest entries with their notes. */
	st = db_stmtf(store_sql(app->store), "SELECT id, ts, score, nonce, box FROM mood_entry WHERE network = ?"
				     " AND member = ? AND ts >= ? ORDER BY ts DESC, id DESC LIMIT 10",
			 "ssi", m->network, m->sender, (int64_t)start);
	if (!st) {
		rc = HE_DB;
		goto out;
	}
	hbuf_printf(&b, "\nLatest entries:\n\n");
	while (db_step(st) == DB_ROW) {
		struct tm et;
		time_t ts = (time_t)db_col_int64(st, 1);
		char *plain = NULL;
		size_t plen = 0;
		int orc = mstore_open_box(app, st, 3, 4, m->network, m->sender, db_col_int64(st, 0),
				   &plain, &plen);
		tz_local(zone, ts, &et);
		hbuf_printf(&b, "- %s %02d %s %02d:%02d · **%d**", wdays[et.tm_wday], et.tm_mday,
			    months[et.tm_mon], et.tm_hour, et.tm_min, db_col_int(st, 2));
		if (orc == HE_CRYPTO)
			hbuf_puts(&b, " · (this note can't be opened with the current key)");
		else if (plain && *plain) {
			hbuf_puts(&b, " · ");
			put_escaped(&b, plain);
		}
		hbuf_putc(&b, '\n');
		if (plain)
			sodium_memzero(plain, plen);
		free(plain);
	}
	db_reset(st);
	if (strcmp(tz, "UTC") != 0)
		hbuf_printf(&b, "\nTimes are in %s.", tz);
send:
	rc = b.oom ? HE_NOMEM : say(ctx, hbuf_str(&b));
	hbuf_free(&b);
	free(day);
	return rc;
out:
	hbuf_free(&b);
	free(day);
	if (rc == HE_DB)
		return say(ctx, "Sorry, I couldn't read your mood log just now. Please try again in a moment.");
	return rc;
}

/* ---- export ------------------------------------------------------------------------------ */

static void csv_field(struct hbuf *b, const char *s)
{
	hbuf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			hbuf_putc(b, '"');
		hbuf_putc(b, *s);
	}
	hbuf_putc(b, '"');
}

static void iso_utc(time_t t, char out[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Builds the CSV and JSON of every entry of a member. */
static int build_export(struct happ *app, const char *network, const char *member, struct hbuf *csv,
			char **json, long *n)
{
	json_t *root = NULL, *entries = NULL, *consent = json_null(), *reminder = json_null();
	struct db_stmt *st;
	long long given_at = 0;
	int version = 0, minute = 0, rc = HE_OK;
	char tz[72] = "", when[32];

	*json = NULL;
	*n = 0;
	if (mstore_consent_get(app, network, member, &given_at, &version) == HE_OK) {
		iso_utc((time_t)given_at, when);
		consent = json_pack("{s:s, s:i}", "given_at", when, "version", version);
	}
	if (mstore_reminder_get(app, network, member, &minute, tz, sizeof(tz))) {
		char hhmm[8];
		snprintf(hhmm, sizeof(hhmm), "%02d:%02d", minute / 60 % 24, minute % 60);
		reminder = json_pack("{s:s, s:s}", "time", hhmm, "time_zone", *tz ? tz : app->cfg->timezone);
	}
	entries = json_array();
	iso_utc(happ_now(app), when);
	root = json_pack("{s:s, s:i, s:s, s:s, s:s, s:o, s:o, s:o}", "format", "hearth-mood-export",
			 "format_version", 1, "exported_at", when, "network", network, "member", member,
			 "consent", consent, "reminder", reminder, "entries", entries);
	consent = reminder = NULL;
	if (!root) {
		rc = HE_NOMEM;
		goto out;
	}
	hbuf_puts(csv, "time_utc,score,note,tags,logged_in\r\n");
	st = db_stmtf(store_sql(app->store), "SELECT id, ts, score, origin_room, nonce, box FROM mood_entry"
				     " WHERE network = ? AND member = ? ORDER BY ts, id", "ss", network, member);
	if (!st) {
		rc = HE_DB;
		goto out;
	}
	while (db_step(st) == DB_ROW) {
		const char *room = db_col_text(st, 3);
		int score = db_col_int(st, 2);
		char *plain = NULL;
		size_t plen = 0;
		json_t *e, *tags = json_array();
		int orc = mstore_open_box(app, st, 4, 5, network, member, db_col_int64(st, 0), &plain, &plen);
		struct hbuf tagtext = HBUF_INIT;

		iso_utc((time_t)db_col_int64(st, 1), when);
		for (const char *t = plain ? next_tag(plain, plen, NULL) : NULL; t; t = next_tag(plain, plen, t)) {
			json_array_append_new(tags, json_string(t));
			if (tagtext.len)
				hbuf_putc(&tagtext, ' ');
			hbuf_puts(&tagtext, t);
		}
		e = json_pack("{s:s, s:I, s:i, s:o, s:o, s:o}", "time", when, "unix",
			      (json_int_t)db_col_int64(st, 1), "score", score, "note",
			      plain && *plain ? json_string(plain) : json_null(), "tags", tags, "room",
			      room ? json_string(room) : json_null());
		if (e && orc == HE_CRYPTO)
			json_object_set_new(e, "note_unreadable", json_true());
		if (!e || json_array_append_new(entries, e)) {
			db_reset(st);
			hbuf_free(&tagtext);
			free(plain);
			rc = HE_NOMEM;
			goto out;
		}
		hbuf_printf(csv, "%s,%d,", when, score);
		csv_field(csv, orc == HE_CRYPTO ? "(this note can't be opened with the current key)" :
						  plain ? plain : "");
		hbuf_putc(csv, ',');
		csv_field(csv, hbuf_str(&tagtext));
		hbuf_putc(csv, ',');
		csv_field(csv, room ? room : "private");
		hbuf_puts(csv, "\r\n");
		hbuf_free(&tagtext);
		if (plain)
			sodium_memzero(plain, plen);
		free(plain);
		(*n)++;
	}
	db_reset(st);
	*json = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!*json || csv->oom)
		rc = HE_NOMEM;
out:
	json_decref(consent);
	json_decref(reminder);
	json_decref(root);
	return rc;
}

static int sub_export(struct hctx *ctx)
{
	struct happ *app = ctx->app;
	const struct hmsg *m = ctx->msg;
	struct hbuf csv = HBUF_INIT, b = HBUF_INIT;
	char *json = NULL, name[64];
	long n = 0, day = tz_daykey(app->cfg->timezone, happ_now(app));
	int rc;

	if (mstore_count(app, m->network, m->sender) <= 0)
		return say(ctx, "There's nothing in your mood log to export yet.");
	rc = build_export(app, m->network, m->sender, &csv, &json, &n);
	if (rc) {
		rc = say(ctx, "Sorry, I couldn't put your export together just now. Please try again in a moment.");
		goto out;
	}
	if (reply_can_send_file(ctx)) {
		struct hfile f = { name, "text/csv", csv.data, csv.len };
		snprintf(name, sizeof(name), "hearth-mood-%04ld-%02ld-%02ld.csv", day / 10000, day / 100 % 100,
			 day % 100);
		rc = reply_send_file(ctx, &f, "a mood export");
		if (rc == HE_OK) {
			struct hfile j = { name, "application/json", json, strlen(json) };
			snprintf(name, sizeof(name), "hearth-mood-%04ld-%02ld-%02ld.json", day / 10000,
				 day / 100 % 100, day % 100);
			rc = reply_send_file(ctx, &j, "a mood export");
		}
		if (rc) {
			rc = say(ctx, "Sorry, I couldn't send your export files just now. Please try again in a moment.");
			goto out;
		}
		hbuf_printf(&b, "Here is your mood log: %ld entr%s, as a CSV file (for spreadsheets) and a "
			    "JSON file. They hold your notes, so keep them somewhere private.", n, n == 1 ? "y" : "ies");
	} else {
		/* No files on this network: the CSV as text, in a fence longer than any backtick run. */
		size_t run = 0, longest = 0;
		for (size_t i = 0; i < csv.len; i++) {
			run = csv.data[i] == '`' ? run + 1 : 0;
			longest = run > longest ? run : longest;
		}
		hbuf_printf(&b, "Here is your mood log (%ld entr%s) as CSV. Copy it into a file to keep it; "
			    "it holds your notes, so keep it somewhere private.\n\n", n, n == 1 ? "y" : "ies");
		for (size_t i = 0; i < (longest < 3 ? 3 : longest + 1); i++)
			hbuf_putc(&b, '`');
		hbuf_printf(&b, "\n%s", hbuf_str(&csv));
		for (size_t i = 0; i < (longest < 3 ? 3 : longest + 1); i++)
			hbuf_putc(&b, '`');
	}
	rc = b.oom ? HE_NOMEM : say(ctx, hbuf_str(&b));
out:
	if (csv.data)
		sodium_memzero(csv.data, csv.len);
	if (b.data)
		sodium_memzero(b.data, b.len);
	if (json)
		sodium_memzero(json, strlen(json));
	hbuf_free(&csv);
	hbuf_free(&b);
	free(json);
	return rc;
}

/* ---- forget, optout, remind -------------------------------------------------------------- */

static int sub_forget(struct hctx *ctx, const char *rest)
{
	struct happ *app = ctx->app;
	const struct hmsg *m = ctx->msg;
	char word[16];
	long n = mstore_count(app, m->network, m->sender);
	bool consent = mstore_consent_get(app, m->network, m->sender, NULL, NULL) == HE_OK;
	bool reminder = mstore_reminder_get(app, m->network, m->sender, NULL, NULL, 0);
	struct db_stmt *st;
	long long expires = 0;

	if (!text_next_word(&rest, word, sizeof(word))) {
		if (n <= 0 && !consent && !reminder)
			return say(ctx, "There's nothing stored about you in the mood log.");
		if (mstore_forget_arm(app, m->network, m->sender))
			return say(ctx, "Sorry, I couldn't do that just now. Please try again in a moment.");
		return hctx_replyf(ctx, HDEST_PRIVATE,
				   "This deletes everything the mood log holds about you: %ld entr%s%s%s. It "
				   "can't be undone.\n\nIf you'd like a copy first, type `!mood export`. To "
				   "delete everything, type `!mood forget confirm` within %d minutes.",
				   n < 0 ? 0 : n, n == 1 ? "y" : "ies", consent ? ", your consent record" : "",
				   reminder ? " and your daily reminder" : "", MOOD_FORGET_WINDOW / 60);
	}
	if (strcasecmp(word, "confirm") != 0 || *rest)
		return say(ctx, "To delete your mood log, type `!mood forget`; I'll ask you to confirm.");
	st = db_stmtf(store_sql(app->store), "SELECT expires FROM mood_pending WHERE network = ? AND member = ?"
				     " AND action = 'forget'", "ss", m->network, m->sender);
	if (!st)
		return say(ctx, "Sorry, I couldn't do that just now. Please try again in a moment.");
	if (db_step(st) == DB_ROW)
		expires = db_col_int64(st, 0);
	db_reset(st);
	if (expires < (long long)happ_now(app)) {
		/* Nothing is written here: the slot stays for the next `!mood forget`. */
		return say(ctx, "To delete your mood log, first type `!mood forget`, then "
			   "`!mood forget confirm` within 10 minutes. Nothing was deleted.");
	}
	if (mstore_forget_all(app, m->network, m->sender))
		return say(ctx, "Sorry, I couldn't delete your mood log just now; nothing was changed. "
			   "Please try again in a moment.");
	hlog_info("mood", "a member deleted their mood log");
	return say(ctx, "Done. Everything the mood log held about you is deleted: your entries, your "
		   "consent and any reminder. If you'd like a log again some day, `!mood optin` starts fresh.");
}

static int sub_optout(struct hctx *ctx)
{
	struct happ *app = ctx->app;
	const struct hmsg *m = ctx->msg;
	long n = mstore_count(app, m->network, m->sender);

	if (mstore_consent_get(app, m->network, m->sender, NULL, NULL) != HE_OK) {
		if (n > 0)
			return hctx_replyf(ctx, HDEST_PRIVATE, "You're not opted in, so nothing new is logged. "
					   "You still have %ld entr%s: read them with `!mood history`, export "
					   "them with `!mood export`, or delete them with `!mood forget`.",
					   n, n == 1 ? "y" : "ies");
		return say(ctx, "You're not opted in, and nothing is stored about you.");
	}
	if (mstore_optout_all(app, m->network, m->sender))
		return say(ctx, "Sorry, I couldn't do that just now, so nothing changed. Please try again in a moment.");
	if (n <= 0)
		return say(ctx, "Your mood log is stopped, and nothing is stored about you. If you'd like "
			   "to start again, `!mood optin` is always there.");
	return hctx_replyf(ctx, HDEST_PRIVATE,
			   "Your mood log is stopped: I won't log anything new, and any daily reminder is "
			   "off.\n\nYou have %ld entr%s. What would you like to do with them?\n\n"
			   "- **Keep them:** nothing to do. Only you can read them, with `!mood history` "
			   "or `!mood export`.\n"
			   "- **Delete them all:** type `!mood forget`.\n\n"
			   "To log again later, type `!mood optin`.", n, n == 1 ? "y" : "ies");
}

static int sub_remind(struct hctx *ctx, const char *rest)
{
	struct happ *app = ctx->app;
	const struct hmsg *m = ctx->msg;
	char tz[72], err[200];
	const char *eff;
	bool off;
	int minute, mod = 0;
	long day = 0;

	if (mood_parse_remind(rest, &off, &minute, tz, sizeof(tz), err, sizeof(err)))
		return say(ctx, err);
	if (off) {
		if (!mstore_reminder_get(app, m->network, m->sender, NULL, NULL, 0))
			return say(ctx, "You have no daily reminder; nothing changed.");
		if (mstore_run(app, "DELETE FROM mood_reminder WHERE network = ? AND member = ?", m->network, m->sender))
			return say(ctx, "Sorry, I couldn't do that just now. Please try again in a moment.");
		return say(ctx, "Your daily reminder is off. You can still log any time with `!mood <1-10>`.");
	}
	if (need_consent(ctx))
		return HE_OK;
	eff = *tz ? tz : app->cfg->timezone;
	/* Set after today's time: the first reminder comes tomorrow. */
	if (cron_local(eff, happ_now(app), &mod, NULL, &day) != 0)
		day = 0;
	if (db_runf(store_sql(app->store), NULL, "INSERT INTO mood_reminder (network, member, minute, tz, last_day)"
				   " VALUES (?, ?, ?, ?, ?) ON CONFLICT (network, member) DO UPDATE SET"
				   " minute = excluded.minute, tz = excluded.tz, last_day = excluded.last_day",
		       "ssisi", m->network, m->sender, (int64_t)minute, tz,
		       (int64_t)(mod >= minute ? day : 0)))
		return say(ctx, "Sorry, I couldn't save that just now. Please try again in a moment.");
	return hctx_replyf(ctx, HDEST_PRIVATE, "Okay: a gentle reminder each day at %02d:%02d (%s). Skip "
			   "any day you like; there's no streak to keep. `!mood remind off` stops it.",
			   minute / 60, minute % 60, eff);
}

static const char reminder_text[] =
	"Hello. If you'd like to, how are you feeling today? `!mood <1-10> [note]` logs it, just for "
	"you. Letting this one pass is fine too.\n\n(`!mood remind off` stops these reminders.)";

struct due {
	char *network, *member;
	int minute;
	char tz[72];
	long last;
};

int mood_send_reminders(struct happ *app, int *sent)
{
	struct due *d = NULL;
	size_t n = 0, cap = 0;
	struct db_stmt *st;
	time_t now = happ_now(app);
	int rc = HE_OK, count = 0;

	if (sent)
		*sent = 0;
	st = db_stmt(store_sql(app->store), "SELECT network, member, minute, tz, last_day FROM mood_reminder");
	if (!st)
		return HE_DB;
	while (db_step(st) == DB_ROW) {
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct due *nd = realloc(d, nc * sizeof(*d));
			if (!nd) {
				rc = HE_NOMEM;
				break;
			}
			d = nd;
			cap = nc;
		}
		d[n].network = text_dup(db_col_text(st, 0));
		d[n].member = text_dup(db_col_text(st, 1));
		d[n].minute = db_col_int(st, 2);
		snprintf(d[n].tz, sizeof(d[n].tz), "%s", db_col_text(st, 3));
		d[n].last = (long)db_col_int64(st, 4);
		if (!d[n].network || !d[n].member) {
			free(d[n].network);
			free(d[n].member);
			rc = HE_NOMEM;
			break;
		}
		n++;
	}
	db_reset(st);
	for (size_t i = 0; i < n; i++) {
		int mod, version = 0;
		long day;

		if (cron_local(d[i].tz[0] ? d[i].tz : app->cfg->timezone, now, &mod, NULL, &day) != 0)
			continue;
		/* Due: today not yet sent, and within the hour after the chosen time (after a longer
		 * outage the day is skipped rather than nudging late in the evening). */
		if (day == d[i].last || mod < d[i].minute || mod >= d[i].minute + 60)
			continue;
		if (mstore_consent_get(app, d[i].network, d[i].member, NULL, &version) != HE_OK)
			continue;
		if (reply_post_private(app, d[i].network, d[i].member, reminder_text, "a mood reminder") != HE_OK)
			continue; /* tried again next minute */
		db_runf(store_sql(app->store), NULL, "UPDATE mood_reminder SET last_day = ? WHERE network = ? AND member = ?",
			   "iss", (int64_t)day, d[i].network, d[i].member);
		count++;
	}
	for (size_t i = 0; i < n; i++) {
		free(d[i].network);
		free(d[i].member);
	}
	free(d);
	if (sent)
		*sent = count;
	return rc;
}

/* ---- the command ------------------------------------------------------------------------- */

static int sub_help(struct hctx *ctx)
{
	return say(ctx, "**Your private mood log**\n\n"
		   "- `!mood optin`: read what is kept, then agree with `!mood optin confirm`\n"
		   "- `!mood <1-10> [note]`: log how you feel; emotion words like #calm are kept as tags\n"
		   "- `!mood history [days]`: your recent days (14 unless you say)\n"
		   "- `!mood export`: everything, as CSV and JSON files\n"
		   "- `!mood remind HH:MM [time zone]`: a gentle daily reminder; `!mood remind off` stops it\n"
		   "- `!mood optout`: stop logging; `!mood forget`: delete everything\n\n"
		   "Only you can see your log. Hearth is peer self-help, not therapy.");
}

static const char transient_text[] =
	"Your mood log needs a registered account on this network, so that it stays yours: a "
	"nickname can pass to someone else, and so could your log. Please log in to your account "
	"(on many networks: `/msg NickServ IDENTIFY <password>`, or your app's SASL login), then try "
	"again." MOOD_NOTHING_SAVED;

static const char *const subcommands[] = { "optin", "optout", "history", "export", "forget", "remind", "help" };

int cmd_mood(struct hctx *ctx)
{
	const char *rest = ctx->args;
	char word[24];
	int rc;

	if (!mood_state(ctx->app))
		return say(ctx, "Mood logs are not available on this Hearth.");
	if (!text_next_word(&rest, word, sizeof(word))) {
		rc = sub_help(ctx);
		goto out;
	}
	for (char *c = word; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (ctx->msg->sender_transient && strcmp(word, "help") != 0) {
		/* An id that can pass to someone else: nothing is stored, read or deleted under it. */
		rc = say(ctx, transient_text);
		goto out;
	}
	if (!strcmp(word, "optin") || !strcmp(word, "opt-in"))
		rc = sub_optin(ctx, rest);
	else if (!strcmp(word, "optout") || !strcmp(word, "opt-out"))
		rc = sub_optout(ctx);
	else if (!strcmp(word, "history"))
		rc = sub_history(ctx, rest);
	else if (!strcmp(word, "export"))
		rc = sub_export(ctx);
	else if (!strcmp(word, "forget"))
		rc = sub_forget(ctx, rest);
	else if (!strcmp(word, "remind") || !strcmp(word, "reminder"))
		rc = sub_remind(ctx, rest);
	else if (!strcmp(word, "help"))
		rc = sub_help(ctx);
	else if (isalpha((unsigned char)word[0])) {
		const char *near = NULL;
		unsigned best = 3;
		for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
			unsigned dist = text_distance(word, subcommands[i]);
			if (dist < best) {
				best = dist;
				near = subcommands[i];
			}
		}
		if (near)
			rc = hctx_replyf(ctx, HDEST_PRIVATE, "I don't know that one. Did you mean `!mood %s`?"
					 MOOD_NOTHING_SAVED, near);
		else
			rc = say(ctx, "I didn't understand that. Log a mood with a number from 1 to 10, like "
				 "`!mood 6 tired but okay`, or type `!mood help`." MOOD_NOTHING_SAVED);
	} else {
		rc = sub_log(ctx);
	}
out:
	if (!ctx->msg->is_private) {
		/* The room learns nothing but that a reply went elsewhere. */
		if (rc == HE_OK)
			hctx_reply(ctx, HDEST_SAME, "I've replied to you privately.");
		else
			hctx_reply(ctx, HDEST_SAME, "I couldn't reach you privately just now. Please send me a "
				   "private message and try there.");
	}
	return rc;
}

/* ---- set-up ------------------------------------------------------------------------------ */

static void on_tick(struct loop *l, void *ud)
{
	struct happ *app = ud;
	struct mood *mo = mood_state(app);
	long day;
	int rc;

	if (!mo)
		return;
	mood_send_reminders(app, NULL);
	day = tz_daykey(app->cfg->timezone, happ_now(app));
	if (day != mo->purge_day) {
		mood_purge(app, NULL);
		mo->purge_day = day;
	}
	/* Near the start of each minute. */
	rc = loop_timer_add(l, (uint64_t)(60 - time(NULL) % 60) * 1000 + 50, on_tick, app, &mo->timer);
	if (rc)
		happ_fail(app, "mood", "cannot arm the reminder tick", rc);
}

int mood_migrate(struct store *s)
{
	/* Deleted rows are overwritten, not left in free pages: "forget" means gone (the
	 * migrations' deletes included). PostgreSQL: see README, "Storage". */
	if (store_engine(s) == DB_SQLITE)
		db_exec(store_sql(s), "PRAGMA secure_delete = ON");
	return store_migrate_db(s, "mood", mood_migrations, mood_nmigrations);
}

int mood_init(struct happ *app)
{
	struct mood *mo;
	int rc;

	if (!app->care)
		return HE_INVAL;
	if (!app->cfg->mood_key_file) {
		hlog_error("mood", "no mood key file is configured ([mood] key_file)");
		return HE_INVAL;
	}
	mo = calloc(1, sizeof(*mo));
	if (!mo)
		return HE_NOMEM;
	if (!store_dir(app->store) && access(app->cfg->mood_key_file, F_OK) != 0) {
		/* A store opened directly (tests, benchmarks) and no key file yet: a key for this run
		 * only, so that test suites never write keys into a real data directory. The daemon
		 * always opens its data dir with store_open() and so always uses the key file. */
		unsigned char key[VAULT_KEY_BYTES];
		randombytes_buf(key, sizeof(key));
		rc = vault_from_key(key, &mo->vault);
		sodium_memzero(key, sizeof(key));
	} else {
		rc = vault_open(app->cfg->mood_key_file, &mo->vault);
	}
	if (rc) {
		hlog_error("mood", "mood logs cannot start without their key file; fix the problem above "
			   "and start Hearth again");
		free(mo);
		return rc;
	}
	app->care->mood = mo;
	rc = mood_migrate(app->store);
	if (rc)
		return rc;
	mood_purge(app, NULL);
	mo->purge_day = tz_daykey(app->cfg->timezone, happ_now(app));
	if (app->loop) {
		/* The first look a second after start: a reminder due while Hearth was down goes out then. */
		if ((rc = loop_timer_add(app->loop, 1000, on_tick, app, &mo->timer)))
			return rc;
	}
	return HE_OK;
}

void mood_free(struct happ *app)
{
	struct mood *mo = mood_state(app);

	if (!mo)
		return;
	if (mo->timer && app->loop)
		loop_timer_cancel(app->loop, mo->timer);
	vault_free(mo->vault);
	free(mo);
	app->care->mood = NULL;
}
