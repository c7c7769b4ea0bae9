/* sched.c - scheduled check-ins: the `sched` table, the due rule and the loop timer. */
#include "care/sched.h"
#include "care/state.h"
#include "care/checkin.h"
#include "care/content.h"
#include "care/cron.h"
#include "care/rooms.h"
#include "care/reply.h"
#include "core/err.h"
#include "core/log.h"
#include "core/text.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHED_MAX_TIMER_SECS 3600
#define SCHED_GAP_SCAN 400          /* fire times checked for the one-hour gap when adding */
#define SCHED_CATCHUP_STEPS 1500    /* bound on fire times walked in one catch-up */

struct sched {
	uint64_t timer;
	bool retry;                 /* a post could not be delivered; try again soon */
};

static const char *const migrations[] = {
	/* 1: ids are never reused, so "remove 3" can never hit a newer schedule. */
	"CREATE TABLE sched (id INTEGER PRIMARY KEY AUTOINCREMENT, network TEXT NOT NULL,"
	" room TEXT NOT NULL, cron TEXT NOT NULL, tz TEXT NOT NULL, created_at INTEGER NOT NULL,"
	" last_fire INTEGER NOT NULL);"
	"CREATE INDEX sched_room ON sched (network, room);",
	/* 2: a schedule may carry the room's own question or a topic ('' = a prompt in rotation). */
	"ALTER TABLE sched ADD COLUMN text TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE sched ADD COLUMN topic TEXT NOT NULL DEFAULT '';",
};

static struct sched *state(struct happ *app)
{
	return app && app->care ? app->care->sched : NULL;
}

static void on_timer(struct loop *l, void *ud)
{
	struct happ *app = ud;
	struct sched *s = state(app);

	if (!s)
		return;
	s->timer = 0;
	sched_due(app, happ_now(app), NULL);
	sched_rearm(app);
}

int sched_init(struct happ *app)
{
	struct sched *s;
	int rc = store_migrate(app->store, "sched", migrations, sizeof(migrations) / sizeof(migrations[0]));

	if (rc)
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s)
		return HE_NOMEM;
	app->care->sched = s;
	/* First run as soon as the loop turns (transports are up by then): the catch-up. */
	if (app->loop)
		return loop_timer_add(app->loop, 0, on_timer, app, &s->timer);
	return HE_OK;
}

void sched_free(struct happ *app)
{
	struct sched *s = state(app);

	if (!s)
		return;
	if (s->timer && app->loop)
		loop_timer_cancel(app->loop, s->timer);
	free(s);
	app->care->sched = NULL;
}

static void copy(char *dst, size_t len, const unsigned char *src)
{
	snprintf(dst, len, "%s", src ? (const char *)src : "");
}

int sched_list(struct happ *app, const char *network, const char *room, struct sched_entry **out,
	       size_t *n)
{
	const char *sql = room ? "SELECT id, network, room, cron, tz, created_at, last_fire, text, topic"
				 " FROM sched WHERE network = ? AND room = ? ORDER BY id"
			       : "SELECT id, network, room, cron, tz, created_at, last_fire, text, topic"
				 " FROM sched ORDER BY network, room, id";
	sqlite3_stmt *st = room ? store_stmtf(app->store, sql, "ss", network, room) : store_stmt(app->store, sql);
	struct sched_entry *v = NULL, *grown;
	size_t cnt = 0, cap = 0;
	int rc = HE_OK, step;

	*out = NULL;
	*n = 0;
	if (!st)
		return HE_DB;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			grown = realloc(v, cap * sizeof(*v));
			if (!grown) {
				rc = HE_NOMEM;
				goto out;
			}
			v = grown;
		}
		struct sched_entry *e = &v[cnt++];
		e->id = sqlite3_column_int64(st, 0);
		copy(e->network, sizeof(e->network), sqlite3_column_text(st, 1));
		copy(e->room, sizeof(e->room), sqlite3_column_text(st, 2));
		copy(e->cron, sizeof(e->cron), sqlite3_column_text(st, 3));
		copy(e->tz, sizeof(e->tz), sqlite3_column_text(st, 4));
		e->created = (time_t)sqlite3_column_int64(st, 5);
		e->last_fire = (time_t)sqlite3_column_int64(st, 6);
		copy(e->text, sizeof(e->text), sqlite3_column_text(st, 7));
		copy(e->topic, sizeof(e->topic), sqlite3_column_text(st, 8));
	}
	if (step != SQLITE_DONE)
		rc = HE_DB;
out:
	sqlite3_reset(st);
	if (rc) {
		free(v);
		return rc;
	}
	*out = v;
	*n = cnt;
	return HE_OK;
}

static long long count_room(struct happ *app, const char *network, const char *room)
{
	return store_count(app->store, "SELECT count(*) FROM sched WHERE network = ? AND room = ?", "ss",
			   network, room);
}

/* Refuses schedules that would crowd a room: two fire times less than an hour apart. */
static int check_gap(const struct cron_expr *e, const char *text, const char *tz, time_t now, char *err,
		     size_t errlen)
{
	time_t prev = 0, t = now, next;
	int rc;

	for (int i = 0; i < SCHED_GAP_SCAN; i++) {
		rc = cron_next(e, tz, t, &next);
		if (rc == CRON_ENONE && i > 0)
			return HE_OK;
		if (rc == CRON_ENONE) {
			snprintf(err, errlen, "That schedule would not post in the next five years. "
				 "Could you check the day and month?");
			return HE_INVAL;
		}
		if (rc)
			return rc;
		if (next > now + 366 * 86400)
			return HE_OK; /* a year shows every pattern cron can make */
		if (i > 0 && next - prev < SCHED_MIN_GAP_SECS) {
			snprintf(err, errlen, "That schedule would post more than once an hour, which would "
				 "crowd the room. Check-ins need to be at least an hour apart.%s",
				 text[0] == '*' ? " (A `*` in the minute field means every minute; for 9:00 "
				 "every day write `0 9 * * *`.)" : "");
			return HE_INVAL;
		}
		prev = t = next;
	}
	return HE_OK;
}

int sched_add(struct happ *app, const char *network, const char *room, const char *cron,
	      const char *tz, long long *id, char *err, size_t errlen)
{
	return sched_add_with(app, network, room, cron, tz, NULL, NULL, id, err, errlen);
}

int sched_add_with(struct happ *app, const char *network, const char *room, const char *cron,
		   const char *tz, const char *text, const char *topic, long long *id, char *err,
		   size_t errlen)
{
	struct cron_expr *e = NULL;
	struct room_settings rs;
	char why[160] = "";
	const char *zone = tz;
	time_t now = happ_now(app);
	long long have;
	int rc;

	*id = 0;
	if (err && errlen)
		err[0] = '\0';
	rc = cron_parse(cron, &e, why, sizeof(why));
	if (rc == HE_INVAL) {
		char *said = text_md_escape(why); /* it quotes what they typed */
		if (!said) {
			rc = HE_NOMEM;
			goto out;
		}
		snprintf(err, errlen, "I couldn't read that schedule: %s. It needs five fields: minute hour "
			 "day-of-month month day-of-week, e.g. `\"0 9 * * 1-5\"` for 9:00 on weekdays.", said);
		free(said);
		goto out;
	}
	if (rc)
		goto out;
	if (!zone || !*zone) {
		if ((rc = rooms_get(app, network, room, &rs)))
			goto out;
		zone = rs.tz[0] ? rs.tz : app->cfg->timezone;
	}
	if (!cron_tz_valid(zone) || strlen(zone) >= sizeof(((struct sched_entry *)0)->tz)) {
		char cut[64], *said;
		snprintf(cut, sizeof(cut), "%.*s", (int)text_utf8_prefix(zone, strlen(zone), 60), zone);
		if (!(said = text_md_escape(cut))) {
			rc = HE_NOMEM;
			goto out;
		}
		snprintf(err, errlen, "I don't know the time zone \"%s\". Please use a name like "
			 "`Europe/Berlin` or `America/New_York`.", said);
		free(said);
		rc = HE_INVAL;
		goto out;
	}
	if ((rc = check_gap(e, cron, zone, now, err, errlen)))
		goto out;
	have = count_room(app, network, room);
	if (have < 0) {
		rc = HE_DB;
		goto out;
	}
	if (have >= SCHED_MAX_PER_ROOM) {
		snprintf(err, errlen, "This room already has %d scheduled check-ins, the most I keep. "
			 "Remove one with `!mod checkin remove <id>` first.", SCHED_MAX_PER_ROOM);
		rc = HE_TOOBIG;
		goto out;
	}
	if ((text && strlen(text) > SCHED_TEXT_MAX) || (topic && strlen(topic) >= 64)) {
		snprintf(err, errlen, "That question is too long for a check-in: please keep it under %d "
			 "characters.", SCHED_TEXT_MAX);
		rc = HE_INVAL;
		goto out;
	}
	rc = store_runf(app->store, "INSERT INTO sched (network, room, cron, tz, created_at, last_fire,"
				    " text, topic) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", "ssssiiss", network, room,
			cron, zone, (int64_t)now, (int64_t)now, text ? text : "", topic ? topic : "");
	if (rc == HE_OK) {
		*id = sqlite3_last_insert_rowid(store_db(app->store));
		hlog_info("sched", "schedule %lld added on %s", *id, network);
		sched_rearm(app);
	}
out:
	cron_free(e);
	return rc;
}

int sched_remove(struct happ *app, const char *network, const char *room, long long id)
{
	int rc = store_runf(app->store, "DELETE FROM sched WHERE id = ? AND network = ? AND room = ?",
			    "iss", (int64_t)id, network, room);

	if (rc == HE_OK && sqlite3_changes(store_db(app->store)) == 0)
		rc = HE_NOTFOUND;
	if (rc == HE_OK) {
		hlog_info("sched", "schedule %lld removed", id);
		sched_rearm(app);
	}
	return rc;
}

static int set_last_fire(struct happ *app, long long id, time_t t)
{
	return store_runf(app->store, "UPDATE sched SET last_fire = ? WHERE id = ?", "ii", (int64_t)t,
			  (int64_t)id);
}

static bool in_quiet(struct happ *app, const struct room_settings *rs, time_t t)
{
	const char *tz = rs->tz[0] ? rs->tz : app->cfg->timezone;
	int minute;

	if (rs->quiet_start < 0 || rs->quiet_end < 0)
		return false;
	if (cron_local(tz, t, &minute, NULL, NULL) != 0 && cron_local(NULL, t, &minute, NULL, NULL) != 0)
		return false;
	return cron_in_quiet(rs->quiet_start, rs->quiet_end, minute);
}

/* The latest fire time in (max(last_fire, now - catch-up window), now], or 0 when none. */
static time_t latest_due(const struct cron_expr *e, const struct sched_entry *s, time_t now)
{
	time_t from = s->last_fire, t, next, latest = 0;

	if (from < now - SCHED_CATCHUP_SECS)
		from = now - SCHED_CATCHUP_SECS;
	t = from;
	for (int i = 0; i < SCHED_CATCHUP_STEPS; i++) {
		if (cron_next(e, s->tz, t, &next) != 0 || next > now)
			break;
		latest = t = next;
	}
	return latest;
}

/* A schedule's post: the check-in, and with a topic a pointer to its reading. */
static char *sched_render(struct happ *app, const struct sched_entry *s, const char *prompt)
{
	const struct topic *t = s->topic[0] ? content_find(app->content, s->topic) : NULL;
	char *md = checkin_render(prompt), *out = NULL, *title;

	if (!md || !t)
		return md;
	title = text_md_escape(t->title);
	if (title && asprintf(&out, "%s\n\nThis check-in goes with **%s**: `!learn %s`", md, title,
			      t->id) < 0)
		out = NULL;
	free(title);
	free(md);
	return out;
}

/* Posts one check-in into the schedule's room. HE_AGAIN: the network is not there (retry). */
static int post_checkin(struct happ *app, const struct sched_entry *s, time_t now)
{
	const char *prompt = NULL;
	char *md = NULL;
	int rc;

	if (!reply_can_post(app, s->network))
		return HE_AGAIN;
	if (!app->content || (app->content->nprompts == 0 && !s->text[0]))
		return HE_NOTFOUND;
	if (s->text[0])
		prompt = s->text; /* the room's own question */
	else if ((rc = checkin_pick(app, s->network, s->room, app->cfg->checkin_repeat_days, now, &prompt)))
		goto out;
	if (!(md = sched_render(app, s, prompt))) {
		rc = HE_NOMEM;
		goto out;
	}
	rc = reply_post(app, s->network, s->room, md, "a scheduled check-in");
out:
	free(md);
	return rc;
}

int sched_due(struct happ *app, time_t now, int *posted)
{
	struct sched *ss = state(app);
	struct sched_entry *v = NULL;
	const struct sched_entry *last_posted = NULL;
	size_t n = 0;
	int rc, count = 0;

	if (posted)
		*posted = 0;
	if ((rc = sched_list(app, NULL, NULL, &v, &n)))
		return rc;
	if (ss)
		ss->retry = false;
	for (size_t i = 0; i < n; i++) {
		const struct sched_entry *s = &v[i];
		struct cron_expr *e = NULL;
		struct room_settings rs;
		const char *why = NULL;
		time_t fire;
		int prc;

		if (cron_parse(s->cron, &e, NULL, 0) != HE_OK) {
			hlog_warn("sched", "schedule %lld: cannot parse its cron expression; skipping it", s->id);
			continue;
		}
		fire = latest_due(e, s, now);
		cron_free(e);
		if (fire == 0)
			continue;
		if (rooms_get(app, s->network, s->room, &rs) != HE_OK)
			continue;
		if (rs.paused)
			why = "the room is paused";
		else if (in_quiet(app, &rs, fire) || in_quiet(app, &rs, now))
			why = "quiet hours";
		else if (last_posted && strcmp(last_posted->network, s->network) == 0 &&
			 strcmp(last_posted->room, s->room) == 0)
			why = "the room already got a check-in just now";
		if (why) {
			hlog_debug("sched", "schedule %lld: skipped (%s)", s->id, why);
			set_last_fire(app, s->id, now);
			continue;
		}
		prc = post_checkin(app, s, now);
		if (prc == HE_AGAIN || (prc && prc != HE_NOTFOUND)) {
			hlog_warn("sched", "schedule %lld: the check-in could not be posted (%s); will retry",
				  s->id, he_str(prc));
			if (ss)
				ss->retry = true;
			continue;
		}
		if (prc == HE_NOTFOUND)
			hlog_warn("sched", "schedule %lld: there are no check-in prompts in the content", s->id);
		else
			count++;
		set_last_fire(app, s->id, now);
		last_posted = s;
	}
	free(v);
	if (posted)
		*posted = count;
	return HE_OK;
}

int sched_next(struct happ *app, time_t now, time_t *next)
{
	struct sched_entry *v = NULL;
	size_t n = 0;
	time_t best = 0;
	int rc;

	if ((rc = sched_list(app, NULL, NULL, &v, &n)))
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct cron_expr *e = NULL;
		time_t t;

		if (cron_parse(v[i].cron, &e, NULL, 0) != HE_OK)
			continue;
		if (cron_next(e, v[i].tz, v[i].last_fire > now ? v[i].last_fire : now, &t) == 0 &&
		    (best == 0 || t < best))
			best = t;
		cron_free(e);
	}
	free(v);
	if (best == 0)
		return HE_NOTFOUND;
	*next = best;
	return HE_OK;
}

void sched_rearm(struct happ *app)
{
	struct sched *s = state(app);
	time_t now, next;
	long long delay;
	int rc;

	if (!s || !app->loop)
		return;
	if (s->timer)
		loop_timer_cancel(app->loop, s->timer);
	s->timer = 0;
	now = happ_now(app);
	rc = sched_next(app, now, &next);
	if (rc == HE_NOTFOUND && !s->retry)
		return; /* nothing is scheduled; sched_add() arms the timer again */
	if (rc) {
		/* The schedules could not be read (database, memory): the scheduler must not stop
		 * quietly, so it says so and looks again soon. */
		if (rc != HE_NOTFOUND)
			hlog_error("sched", "cannot read the schedules (%s); trying again in %d s",
				   he_str(rc), SCHED_RETRY_SECS);
		next = now + SCHED_RETRY_SECS;
	}
	delay = (long long)(next - now);
	if (delay > SCHED_MAX_TIMER_SECS)
		delay = SCHED_MAX_TIMER_SECS;
	if (s->retry && delay > SCHED_RETRY_SECS)
		delay = SCHED_RETRY_SECS;
	if (delay < 1)
		delay = 1;
	rc = loop_timer_add(app->loop, (uint64_t)delay * 1000, on_timer, app, &s->timer);
	if (rc)
		happ_fail(app, "sched", "cannot arm the check-in timer", rc);
}
