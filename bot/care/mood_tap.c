/* mood_tap.c - a check-in answered with one tap (mood_log_reaction in mood.h). A transport that
 * offers a check-in's scale (msg.h post_checkin) reports a member's tap as HEV_SCALE_ANSWER and
 * its taking back as HEV_SCALE_WITHDRAWN.
 *
 * Rules: an opted-in member's tap logs one entry (score 2/4/6/8/10, no note, the room as its
 * origin) and a short private confirmation; one entry per member per check-in, and at most
 * TAP_PER_HOUR an hour (a flood of taps logs nothing more and says nothing more); taking the tap
 * back within TAP_UNDO seconds removes that entry and says so, and only the member who tapped
 * can take it back. A member who is not opted in has nothing stored and gets at most one
 * private hint (remembered in memory as a hash, for this run only); an id that can pass to
 * someone else gets nothing. What links a tap to its entry is kept in the store (table
 * mood_tap: the reaction's id and room, the check-in, the entry, the time; pruned an hour after
 * the tap), so a tap can be taken back across a restart too. */
#include "care/content.h"
#include "care/lang.h"
#include "care/mood.h"
#include "care/mood_store.h"
#include "care/reply.h"
#include "core/err.h"
#include "core/log.h"
#include "store/db.h"
#include "store/store.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAP_ID_MAX 256             /* bytes of a tap's or a check-in's id */
#define TAP_UNDO 600               /* seconds a tap can be taken back (10 minutes) */
#define TAP_WINDOW 3600            /* the flood limit's window; rows are kept this long */
#define TAP_PER_HOUR 10
#define HINTED_MAX 4096

typedef unsigned char hash16[16];

struct mood_taps {
	hash16 hinted[HINTED_MAX];
	size_t nhinted;
};

static void hash_of(hash16 out, const char *a, const char *b)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, sizeof(hash16));
	crypto_generichash_update(&st, (const unsigned char *)a, strlen(a) + 1);
	crypto_generichash_update(&st, (const unsigned char *)b, strlen(b) + 1);
	crypto_generichash_final(&st, out, sizeof(hash16));
}

void mood_taps_free(struct mood_taps *mt)
{
	if (mt)
		sodium_memzero(mt, sizeof(*mt));
	free(mt);
}

static struct mood_taps *taps(struct happ *app)
{
	struct mood *mo = mood_state(app);

	if (mo && !mo->taps)
		mo->taps = calloc(1, sizeof(*mo->taps));
	return mo ? mo->taps : NULL;
}

/* A phrase in the member's language (their `!lang`, else [bot] language). */
static const char *say(struct happ *app, const struct hevent *ev, const char *key)
{
	char lang[16];

	return phrase(app->content, lang_for_member(app, ev->network, ev->member, lang, sizeof(lang)), key);
}

static int hint_once(struct happ *app, struct mood_taps *mt, const struct hevent *ev, const hash16 who)
{
	for (size_t i = 0; i < mt->nhinted; i++)
		if (!memcmp(mt->hinted[i], who, sizeof(hash16)))
			return HE_OK;
	if (mt->nhinted == HINTED_MAX)
		return HE_OK; /* "at most one": when the memory is full, no more hints */
	memcpy(mt->hinted[mt->nhinted++], who, sizeof(hash16));
	return reply_post_private(app, ev->network, ev->member, say(app, ev, "mood.tap_hint"), "a mood log hint");
}

static int64_t count_of(struct happ *app, const char *sql, const char *fmt, ...)
{
	struct db_stmt *st;
	int64_t n = -1;
	va_list ap;

	va_start(ap, fmt);
	st = db_vstmtf(store_sql(app->store), sql, fmt, ap);
	va_end(ap);
	if (st && db_step(st) == DB_ROW)
		n = db_col_int64(st, 0);
	if (st)
		db_reset(st);
	return n;
}

static int answer(struct happ *app, struct mood_taps *mt, const struct hevent *ev)
{
	struct mood_entry_in e = { .score = ev->score };
	struct db *db = store_sql(app->store);
	hash16 who;
	time_t now = happ_now(app);
	int version = 0, rc;
	int64_t id = 0, n;
	char md[800];

	if (ev->score < 1 || ev->score > 10 || !ev->answer || !ev->about || !ev->room ||
	    strlen(ev->answer) >= TAP_ID_MAX || strlen(ev->about) >= TAP_ID_MAX ||
	    strlen(ev->room) >= TAP_ID_MAX)
		return HE_INVAL;
	hash_of(who, ev->network, ev->member);
	rc = mstore_consent_get(app, ev->network, ev->member, NULL, &version);
	if (rc == HE_NOTFOUND || (rc == HE_OK && version < app->content->consent_version))
		return hint_once(app, mt, ev, who);
	if (rc)
		return rc;
	if (db_runf(db, NULL, "DELETE FROM mood_tap WHERE at < ?", "i", (int64_t)now - TAP_WINDOW))
		return HE_DB;
	/* the same reaction again (a replay): logged once */
	if ((n = count_of(app, "SELECT count(*) FROM mood_tap WHERE network = ? AND answer = ?", "ss",
			  ev->network, ev->answer)) != 0)
		return n < 0 ? HE_DB : HE_OK;
	/* this check-in is answered already: one entry each */
	if ((n = count_of(app, "SELECT count(*) FROM mood_tap WHERE network = ? AND member = ? AND"
			  " about = ? AND entry <> 0", "sss", ev->network, ev->member, ev->about)) != 0)
		return n < 0 ? HE_DB : HE_OK;
	n = count_of(app, "SELECT count(*) FROM mood_tap WHERE network = ? AND member = ? AND at > ?",
		     "ssi", ev->network, ev->member, (int64_t)now - TAP_WINDOW);
	if (n < 0)
		return HE_DB;
	if (n >= TAP_PER_HOUR)
		return HE_OK;
	if ((rc = mood_log(app, ev->network, ev->member, ev->room, now, &e)) != HE_OK)
		return rc;
	if (db_int64f(db, &id, "SELECT max(id) FROM mood_entry WHERE network = ? AND member = ?",
		      "ss", ev->network, ev->member) != HE_OK)
		id = 0;
	if (db_runf(db, NULL, "INSERT INTO mood_tap (network, answer, room, about, member, entry, score,"
		    " at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", "sssssiii", ev->network, ev->answer, ev->room,
		    ev->about, ev->member, id, (int64_t)ev->score, (int64_t)now) != HE_OK)
		hlog_warn("mood", "a one-tap entry was logged but cannot be taken back by its reaction");
	snprintf(md, sizeof(md), say(app, ev, "mood.tap_logged"), ev->score, ev->score, TAP_UNDO / 60);
	return reply_post_private(app, ev->network, ev->member, md, "a mood tap confirmation");
}

static int withdraw(struct happ *app, const struct hevent *ev)
{
	struct db *db = store_sql(app->store);
	struct db_stmt *st;
	char md[400];
	bool mine;
	int64_t entry, at;
	int score, rc;

	if (!ev->answer || !ev->room || strlen(ev->answer) >= TAP_ID_MAX)
		return HE_INVAL;
	st = db_stmtf(db, "SELECT member, entry, score, at FROM mood_tap WHERE network = ? AND"
		      " answer = ? AND room = ?", "sss", ev->network, ev->answer, ev->room);
	if (!st)
		return HE_DB;
	rc = db_step(st);
	if (rc != DB_ROW) {
		db_reset(st);
		return rc == DB_DONE ? HE_NOTFOUND : HE_DB;
	}
	mine = db_col_text(st, 0) && strcmp(db_col_text(st, 0), ev->member) == 0;
	entry = db_col_int64(st, 1);
	score = (int)db_col_int64(st, 2);
	at = db_col_int64(st, 3);
	db_reset(st);
	if (!mine)
		return HE_PERM; /* someone else's tap (a moderator's redaction): the entry stays */
	if (!entry)
		return HE_NOTFOUND;
	if ((int64_t)happ_now(app) - at > TAP_UNDO) { /* told once; the entry stays */
		if (db_runf(db, NULL, "UPDATE mood_tap SET entry = 0 WHERE network = ? AND answer = ?",
			    "ss", ev->network, ev->answer))
			return HE_DB;
		return reply_post_private(app, ev->network, ev->member, say(app, ev, "mood.tap_too_late"),
					  "a mood tap note");
	}
	if (db_runf(db, NULL, "DELETE FROM mood_entry WHERE id = ? AND network = ? AND member = ?",
		    "iss", entry, ev->network, ev->member) != HE_OK ||
	    db_runf(db, NULL, "UPDATE mood_tap SET entry = 0 WHERE network = ? AND answer = ?", "ss",
		    ev->network, ev->answer) != HE_OK)
		return HE_DB;
	snprintf(md, sizeof(md), say(app, ev, "mood.tap_removed"), score);
	return reply_post_private(app, ev->network, ev->member, md, "a mood tap removal");
}

int mood_log_reaction(struct happ *app, const struct hevent *ev)
{
	struct mood_taps *mt;

	if (!ev->member || !ev->network || ev->member_transient)
		return HE_OK; /* an id that can pass to someone else: nothing at all */
	if (!(mt = taps(app)))
		return mood_state(app) ? HE_NOMEM : HE_OK;
	if (ev->kind == HEV_SCALE_ANSWER)
		return answer(app, mt, ev);
	if (ev->kind == HEV_SCALE_WITHDRAWN)
		return withdraw(app, ev);
	return HE_INVAL;
}
