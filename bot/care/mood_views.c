/* mood_views.c - what a member reads of their own mood log: `!mood history` (sparkline, days,
 * latest entries in their zone), `!mood export` (CSV and JSON files, or CSV as text where the
 * network carries no files) and the daily reminders. The command, consent and storage are in
 * mood.c and mood_store.c; see mood.h for the privacy rules both keep. */
#include "care/content.h"
#include "care/lang.h"
#include "care/mood.h"
#include "care/mood_store.h"
#include "care/mood_views.h"
#include "care/cron.h"
#include "care/vault.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/text.h"
#include "core/tz.h"
#include "store/store.h"

#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sparks[] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };

/* The tag after cur (NULL: the first) in a plaintext "note\0tag\0tag", or NULL. */
static const char *next_tag(const char *plain, size_t len, const char *cur)
{
	const char *end = plain + len;
	const char *p = cur ? cur : plain;

	p += strlen(p) + 1;
	return p < end ? p : NULL;
}

/* A phrase for a private reply (every mood reply is private). */
#define PP(key) hctx_phrase(ctx, HDEST_PRIVATE, (key))

/* ---- time zones and shared pieces ------------------------------------------------------- */

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

/* A member's text shown as written: no Markdown, links or mentions (text_md_escape), one line.
 * not_shown (in the reader's language) stands in when memory ran out. */
void mood_put_escaped(struct hbuf *b, const char *s, const char *not_shown)
{
	char *safe = text_md_escape(s);

	hbuf_puts(b, safe ? safe : not_shown);
	free(safe);
}

/* Month (1-12) and weekday (0 = Sunday) names in lang, from the phrases (never the locale). */
const char *mood_month_name(const struct content *c, const char *lang, int mon)
{
	static const char *const keys[] = { "date.mon1", "date.mon2", "date.mon3", "date.mon4", "date.mon5",
					    "date.mon6", "date.mon7", "date.mon8", "date.mon9", "date.mon10",
					    "date.mon11", "date.mon12" };

	return phrase(c, lang, keys[((mon - 1) % 12 + 12) % 12]);
}

const char *mood_weekday_name(const struct content *c, const char *lang, int wday)
{
	static const char *const keys[] = { "date.wd0", "date.wd1", "date.wd2", "date.wd3", "date.wd4",
					    "date.wd5", "date.wd6" };

	return phrase(c, lang, keys[(wday % 7 + 7) % 7]);
}

/* "Sun 01 Jan" in the member's language. */
static void put_day(struct hctx *ctx, struct hbuf *b, const struct tm *t)
{
	const struct content *c = ctx->app->content;
	const char *lang = hctx_lang(ctx, HDEST_PRIVATE);

	hbuf_printf(b, PP("date.day"), mood_weekday_name(c, lang, t->tm_wday), t->tm_mday,
		    mood_month_name(c, lang, t->tm_mon + 1));
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

int mood_history(struct hctx *ctx, const char *rest)
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

	if (mood_parse_days(ctx->app->content, hctx_lang(ctx, HDEST_PRIVATE), rest, &days, err, sizeof(err)))
		return mood_say(ctx, err);
	if (mstore_count(app, m->network, m->sender) <= 0) {
		if (mstore_consent_get(app, m->network, m->sender, NULL, NULL) == HE_OK)
			return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.mood_log_empty_so"));
		return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.dont_have_mood_log"));
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
		hbuf_printf(&b, PP(days == 1 ? "mood.history_none_one" : "mood.history_none"), days, MOOD_HISTORY_MAX);
		goto send;
	}
	for (int d = 0; d < days; d++) {
		if (!day[d].n)
			continue;
		withdays++;
		half[d >= days / 2].sum += day[d].sum / day[d].n;
		half[d >= days / 2].n++;
	}
	hbuf_printf(&b, PP(days == 1 ? "mood.history_title_one" : "mood.history_title"), days);
	hbuf_puts(&b, "\n\n");
	hbuf_puts(&b, "`");
	if (days <= 62) {
		for (int d = 0; d < days; d++)
			put_spark(&b, &day[d]);
		hbuf_printf(&b, "` %s\n\n", PP("mood.history_per_day"));
	} else {
		for (int d = 0; d < days; d += 7) {
			struct bucket w = { 0, 0 };
			for (int i = d; i < d + 7 && i < days; i++) {
				w.sum += day[i].sum;
				w.n += day[i].n;
			}
			put_spark(&b, &w);
		}
		hbuf_printf(&b, "` %s\n\n", PP("mood.history_per_week"));
	}
	hbuf_printf(&b, PP("mood.history_average"), sum / total, total,
		    PP(total == 1 ? "mood.entries_word_one" : "mood.entries_word"), withdays,
		    PP(withdays == 1 ? "mood.days_word_one" : "mood.days_word"));
	hbuf_putc(&b, ' ');
	if (half[0].n && half[1].n) {
		double a = half[0].sum / half[0].n, z = half[1].sum / half[1].n;
		hbuf_printf(&b, PP("mood.history_trend"),
			    PP(z - a >= 0.5 ? "mood.trend_up" : a - z >= 0.5 ? "mood.trend_down" : "mood.trend_steady"), a, z);
	} else {
		hbuf_puts(&b, PP("mood.history_no_trend"));
	}

	/* Days with entries, most recent HISTORY_TABLE_DAYS of them. */
	hbuf_printf(&b, "\n\n```\n%s\n", PP("date.table_head"));
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
		put_day(ctx, &b, &dt);
		hbuf_printf(&b, "  %4.1f  %d\n", day[d].sum / day[d].n, day[d].n);
	}
	hbuf_puts(&b, "```\n");
	if ((long)shown < withdays) {
		hbuf_printf(&b, PP("mood.history_table_cut"), shown);
		hbuf_putc(&b, '\n');
	}

	/* The latest entries with their notes. */
	st = db_stmtf(store_sql(app->store), "SELECT id, ts, score, nonce, box FROM mood_entry WHERE network = ?"
				     " AND member = ? AND ts >= ? ORDER BY ts DESC, id DESC LIMIT 10",
			 "ssi", m->network, m->sender, (int64_t)start);
	if (!st) {
		rc = HE_DB;
		goto out;
	}
	hbuf_printf(&b, "\n%s\n\n", PP("mood.history_latest"));
	while (db_step(st) == DB_ROW) {
		struct tm et;
		time_t ts = (time_t)db_col_int64(st, 1);
		char *plain = NULL;
		size_t plen = 0;
		int orc = mstore_open_box(app, st, 3, 4, m->network, m->sender, db_col_int64(st, 0),
				   &plain, &plen);
		tz_local(zone, ts, &et);
		hbuf_puts(&b, "- ");
		put_day(ctx, &b, &et);
		hbuf_printf(&b, " %02d:%02d · **%d**", et.tm_hour, et.tm_min, db_col_int(st, 2));
		if (orc == HE_CRYPTO)
			hbuf_printf(&b, " · (%s)", PP("mood.note_sealed"));
		else if (plain && *plain) {
			hbuf_puts(&b, " · ");
			mood_put_escaped(&b, plain, PP("mood.not_shown"));
		}
		hbuf_putc(&b, '\n');
		if (plain)
			sodium_memzero(plain, plen);
		free(plain);
	}
	db_reset(st);
	if (strcmp(tz, "UTC") != 0) {
		hbuf_putc(&b, '\n');
		hbuf_printf(&b, PP("mood.history_times_in"), tz);
	}
send:
	rc = b.oom ? HE_NOMEM : mood_say(ctx, hbuf_str(&b));
	hbuf_free(&b);
	free(day);
	return rc;
out:
	hbuf_free(&b);
	free(day);
	if (rc == HE_DB)
		return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.sorry_couldnt_read_mood"));
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

/* A column name of the CSV's first line: as it is unless it needs quotes. */
static void csv_head(struct hbuf *b, const char *s, bool last)
{
	if (s[strcspn(s, ",\"\r\n")])
		csv_field(b, s);
	else
		hbuf_puts(b, s);
	hbuf_puts(b, last ? "\r\n" : ",");
}

/* A word of the export: `hearth admin member export` runs without the content loaded, and
 * then gives what an English member gets. */
static const char *export_word(struct happ *app, const char *lang, const char *key, const char *en)
{
	const char *t = app->content ? phrase_opt(app->content, lang, key) : NULL;

	return t ? t : en;
}

/* Builds the CSV and JSON of every entry of a member. The CSV is for a person: its column names
 * and words in lang; the JSON is for programs: its keys stay the same in every language. */
int mood_export_build(struct happ *app, const char *network, const char *member, const char *lang,
		      struct hbuf *csv, char **json, long *n)
{
	static const char *const head[][2] = { { "mood.csv_time", "time_utc" }, { "mood.csv_score", "score" },
					       { "mood.csv_note", "note" }, { "mood.csv_tags", "tags" },
					       { "mood.csv_room", "logged_in" } };
	const char *sealed = export_word(app, lang, "mood.note_sealed", "this note can't be opened with the current key");
	const char *private_word = export_word(app, lang, "mood.csv_private", "private");
	char sealed_note[256];
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
	snprintf(sealed_note, sizeof(sealed_note), "(%s)", sealed);
	for (size_t i = 0; i < 5; i++)
		csv_head(csv, export_word(app, lang, head[i][0], head[i][1]), i == 4);
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
		csv_field(csv, orc == HE_CRYPTO ? sealed_note : plain ? plain : "");
		hbuf_putc(csv, ',');
		csv_field(csv, hbuf_str(&tagtext));
		hbuf_putc(csv, ',');
		csv_field(csv, room ? room : private_word);
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

int mood_export(struct hctx *ctx)
{
	struct happ *app = ctx->app;
	const struct hmsg *m = ctx->msg;
	struct hbuf csv = HBUF_INIT, b = HBUF_INIT;
	char *json = NULL, name[64];
	long n = 0, day = tz_daykey(app->cfg->timezone, happ_now(app));
	int rc;

	if (mstore_count(app, m->network, m->sender) <= 0)
		return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.theres_nothing_mood_log"));
	rc = mood_export_build(app, m->network, m->sender, hctx_lang(ctx, HDEST_PRIVATE), &csv, &json, &n);
	if (rc) {
		rc = mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.sorry_couldnt_put_export"));
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
			rc = mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.sorry_couldnt_send_export"));
			goto out;
		}
		hbuf_printf(&b, PP(n == 1 ? "mood.export_files_one" : "mood.export_files"), n);
	} else {
		/* No files on this network: the CSV as text, in a fence longer than any backtick run. */
		size_t run = 0, longest = 0;
		for (size_t i = 0; i < csv.len; i++) {
			run = csv.data[i] == '`' ? run + 1 : 0;
			longest = run > longest ? run : longest;
		}
		hbuf_printf(&b, PP(n == 1 ? "mood.export_text_one" : "mood.export_text"), n);
		hbuf_puts(&b, "\n\n");
		for (size_t i = 0; i < (longest < 3 ? 3 : longest + 1); i++)
			hbuf_putc(&b, '`');
		hbuf_printf(&b, "\n%s", hbuf_str(&csv));
		for (size_t i = 0; i < (longest < 3 ? 3 : longest + 1); i++)
			hbuf_putc(&b, '`');
	}
	rc = b.oom ? HE_NOMEM : mood_say(ctx, hbuf_str(&b));
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
		char lang[16];
		const char *text = phrase(app->content, lang_for_member(app, d[i].network, d[i].member, lang,
									 sizeof(lang)), "mood.reminder");
		if (reply_post_private(app, d[i].network, d[i].member, text, "a mood reminder") != HE_OK)
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
