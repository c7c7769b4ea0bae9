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
 * someone else gets nothing. What links a tap to its entry is kept in memory only: after a
 * restart a tap can no longer be taken back (the entry stays, `!mood forget` removes it). */
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAPS_MAX 512               /* recent taps remembered */
#define TAP_ID_MAX 256             /* bytes of a tap's or a check-in's id */
#define TAP_UNDO 600               /* seconds a tap can be taken back (10 minutes) */
#define TAP_PER_HOUR 10
#define HINTED_MAX 4096

typedef unsigned char hash16[16];

struct tap {
	char answer[TAP_ID_MAX];
	hash16 who, about;
	long long entry;               /* 0: nothing logged any more */
	int score;
	time_t at;
};

struct mood_taps {
	struct tap t[TAPS_MAX];
	size_t next;
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

static int answer(struct happ *app, struct mood_taps *mt, const struct hevent *ev)
{
	struct mood_entry_in e = { .score = ev->score };
	hash16 who, about;
	time_t now = happ_now(app);
	int version = 0, recent = 0, rc;
	long long id;
	struct tap *t;
	int64_t id64 = 0;
	char md[800];

	if (ev->score < 1 || ev->score > 10 || !ev->answer || !ev->about || strlen(ev->answer) >= TAP_ID_MAX)
		return HE_INVAL;
	hash_of(who, ev->network, ev->member);
	hash_of(about, ev->network, ev->about);
	rc = mstore_consent_get(app, ev->network, ev->member, NULL, &version);
	if (rc == HE_NOTFOUND || (rc == HE_OK && version < app->content->consent_version))
		return hint_once(app, mt, ev, who);
	if (rc)
		return rc;
	for (size_t i = 0; i < TAPS_MAX; i++) {
		t = &mt->t[i];
		if (!t->at || memcmp(t->who, who, sizeof(hash16)))
			continue;
		if (t->entry && !memcmp(t->about, about, sizeof(hash16)))
			return HE_OK; /* this check-in is answered already: one entry each */
		recent += now - t->at < 3600;
	}
	if (recent >= TAP_PER_HOUR)
		return HE_OK;
	if ((rc = mood_log(app, ev->network, ev->member, ev->room, now, &e)) != HE_OK)
		return rc;
	if (db_int64f(store_sql(app->store), &id64, "SELECT max(id) FROM mood_entry WHERE network = ? AND member = ?",
		      "ss", ev->network, ev->member) != HE_OK)
		id64 = 0;
	id = id64;
	t = &mt->t[mt->next++ % TAPS_MAX];
	memset(t, 0, sizeof(*t));
	snprintf(t->answer, sizeof(t->answer), "%s", ev->answer);
	memcpy(t->who, who, sizeof(hash16));
	memcpy(t->about, about, sizeof(hash16));
	t->entry = id;
	t->score = ev->score;
	t->at = now;
	snprintf(md, sizeof(md), say(app, ev, "mood.tap_logged"), ev->score, ev->score, TAP_UNDO / 60);
	return reply_post_private(app, ev->network, ev->member, md, "a mood tap confirmation");
}

static int withdraw(struct happ *app, struct mood_taps *mt, const struct hevent *ev)
{
	hash16 who;
	char md[400];

	if (!ev->answer)
		return HE_INVAL;
	hash_of(who, ev->network, ev->member);
	for (size_t i = 0; i < TAPS_MAX; i++) {
		struct tap *t = &mt->t[i];
		if (!t->at || !t->entry || strcmp(t->answer, ev->answer) != 0)
			continue;
		if (memcmp(t->who, who, sizeof(hash16)))
			return HE_PERM; /* someone else's tap (a moderator's redaction): the entry stays */
		if (happ_now(app) - t->at > TAP_UNDO) {
			t->entry = 0; /* told once; the entry stays */
			return reply_post_private(app, ev->network, ev->member, say(app, ev, "mood.tap_too_late"),
						  "a mood tap note");
		}
		if (db_runf(store_sql(app->store), NULL, "DELETE FROM mood_entry WHERE id = ? AND network = ? AND member = ?",
			       "iss", (int64_t)t->entry, ev->network, ev->member) != HE_OK)
			return HE_DB;
		t->entry = 0;
		snprintf(md, sizeof(md), say(app, ev, "mood.tap_removed"), t->score);
		return reply_post_private(app, ev->network, ev->member, md, "a mood tap removal");
	}
	return HE_NOTFOUND;
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
		return withdraw(app, mt, ev);
	return HE_INVAL;
}
