/* react.c - one-tap check-ins on Matrix (core/msg.h post_checkin).
 *
 * A check-in prompt goes out with a transaction id remembered here; when /sync shows the event
 * it became (our own event, unsigned.transaction_id), Hearth adds its own reactions under it,
 * the 5-step scale 😞 🙁 😐 🙂 😄, and remembers the prompt in the store. A member's m.reaction
 * (plain, or decrypted from m.room.encrypted in an encrypted room) that annotates a remembered
 * prompt in the same room with one of those keys is reported to the core as HEV_SCALE_ANSWER
 * (2, 4, 6, 8, 10); a redaction of a reported reaction as HEV_SCALE_WITHDRAWN with the
 * redaction's sender (the core lets only the member who tapped take it back). Everything else is
 * ignored: our own reactions, other keys, reactions to other events, other relation types.
 *
 * Prompts are kept in the store (table mx_checkin_prompt, module "matrix_react" in
 * schema_version: room id, event id and time only, nothing about members), so a check-in posted
 * before a restart still takes taps after it. Bounded: prompts older than two days are pruned
 * (and no longer count), and a room keeps its newest PROMPTS_PER_ROOM. Each reaction to one of
 * the scale's keys costs one lookup by (room, event id); ids over ID_MAX are refused before it.
 * Prompts being sent (by transaction id) and reported reactions are remembered in memory only,
 * bounded: a prompt whose event comes back after a restart gets no scale (the scale was never
 * added). A redaction of a reaction not remembered here (one from before a restart) is reported
 * too: the core keeps which reaction logged which entry in its store (care/mood_tap.c) and
 * ignores ids it does not know; a tap seen again after a restart (a replayed batch) is logged
 * once, as the core ignores a second tap on the same prompt. */
#include "net/matrix/mx.h"
#include "core/app.h"
#include "core/err.h"
#include "core/log.h"
#include "store/lease.h"
#include "store/store.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PENDING_MAX 16
#define PROMPTS_PER_ROOM 64
#define PROMPT_KEEP_S (2 * 24 * 3600)
#define ANSWERS_MAX 256
#define ID_MAX 256

static const struct db_migration migrations[] = {
	/* 1 */
	{ "CREATE TABLE mx_checkin_prompt (room_id TEXT NOT NULL, event_id TEXT NOT NULL,"
	  " ts INTEGER NOT NULL, PRIMARY KEY (room_id, event_id));"
	  "CREATE INDEX mx_checkin_prompt_ts ON mx_checkin_prompt (ts);",
	  "CREATE TABLE mx_checkin_prompt (room_id TEXT NOT NULL, event_id TEXT NOT NULL,"
	  " ts BIGINT NOT NULL, PRIMARY KEY (room_id, event_id));"
	  "CREATE INDEX mx_checkin_prompt_ts ON mx_checkin_prompt (ts);" },
};

struct id_pair {
	char room[ID_MAX];
	char id[ID_MAX];
};

struct mx_react {
	struct id_pair pending[PENDING_MAX];   /* room, transaction id of a prompt being sent */
	struct id_pair answers[ANSWERS_MAX];   /* room, event id of a reaction reported */
	size_t npending, nanswers;
};

static const char *const keys[] = { "😞", "🙁", "😐", "🙂", "😄" };

int mx_react_score(const char *key)
{
	size_t n;

	if (!key)
		return 0;
	n = strlen(key);
	/* a client may add the emoji variation selector U+FE0F */
	if (n > 3 && strcmp(key + n - 3, "\xef\xb8\x8f") == 0)
		n -= 3;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i]) == n && memcmp(keys[i], key, n) == 0)
			return 2 * ((int)i + 1);
	return 0;
}

static struct mx_react *state(struct mx *mx)
{
	if (!mx->react)
		mx->react = calloc(1, sizeof(*mx->react));
	return mx->react;
}

void mx_react_free(struct mx *mx)
{
	free(mx->react);
	mx->react = NULL;
}

/* ---- prompts in the store ---- */

static int prune(struct store *s, int64_t now_s)
{
	return db_runf(store_sql(s), NULL, "DELETE FROM mx_checkin_prompt WHERE ts < ?", "i",
		       now_s - PROMPT_KEEP_S);
}

int mx_react_migrate(struct store *s)
{
	return store_migrate_db(s, "matrix_react", migrations, sizeof(migrations) / sizeof(migrations[0]));
}

int mx_react_init(struct store *s, int64_t now_s)
{
	int rc = mx_react_migrate(s);

	return rc ? rc : prune(s, now_s);
}

static bool id_ok(const char *id)
{
	return id && *id && strlen(id) < ID_MAX;
}

int mx_react_prompt_add(struct store *s, const char *room, const char *event_id, int64_t now_s)
{
	bool own;
	int rc;

	if (!id_ok(room) || !id_ok(event_id))
		return HE_INVAL;
	if ((rc = lease_open(s, MX_MOD, &own)) != HE_OK) /* fenced: only the active Hearth records */
		return rc;
	rc = db_runf(store_sql(s), NULL, "INSERT INTO mx_checkin_prompt (room_id, event_id, ts) VALUES (?, ?, ?)"
		     " ON CONFLICT DO NOTHING", "ssi", room, event_id, now_s);
	/* the room keeps its newest prompts only */
	if (rc == HE_OK)
		rc = db_runf(store_sql(s), NULL, "DELETE FROM mx_checkin_prompt WHERE room_id = ? AND event_id NOT IN"
			     " (SELECT event_id FROM mx_checkin_prompt WHERE room_id = ?"
			     " ORDER BY ts DESC, event_id DESC LIMIT ?)", "ssi", room, room,
			     (int64_t)PROMPTS_PER_ROOM);
	if (rc == HE_OK)
		rc = prune(s, now_s);
	return lease_end(s, own, rc) ? HE_DB : HE_OK;
}

int mx_react_prompt_known(struct store *s, const char *room, const char *event_id, int64_t now_s)
{
	int64_t one = 0;
	int rc;

	if (!id_ok(room) || !id_ok(event_id))
		return HE_NOTFOUND;
	rc = db_int64f(store_sql(s), &one, "SELECT 1 FROM mx_checkin_prompt WHERE room_id = ? AND event_id = ?"
		       " AND ts >= ?", "ssi", room, event_id, now_s - PROMPT_KEEP_S);
	return rc;
}

static int64_t now_s(struct mx *mx)
{
	return mx->app ? (int64_t)happ_now(mx->app) : (int64_t)time(NULL);
}

static void remember(struct id_pair *ring, size_t max, size_t *n, const char *room, const char *id)
{
	struct id_pair *p = &ring[(*n)++ % max];

	snprintf(p->room, sizeof(p->room), "%s", room);
	snprintf(p->id, sizeof(p->id), "%s", id);
}

static struct id_pair *find(struct id_pair *ring, size_t max, const char *room, const char *id)
{
	if (!room || !id || strlen(id) >= ID_MAX || strlen(room) >= ID_MAX)
		return NULL;
	for (size_t i = 0; i < max; i++)
		if (ring[i].id[0] && strcmp(ring[i].id, id) == 0 && strcmp(ring[i].room, room) == 0)
			return &ring[i];
	return NULL;
}

int mx_op_post_checkin(struct htransport *t, const struct hmsg *in, const char *room, const char *md)
{
	struct mx *mx = t->impl;
	struct mx_react *rs = state(mx);
	struct hmsg_ref *ctx = in ? in->ref : NULL;
	char txn[48];
	json_t *c;

	if (!rs || strlen(room) >= ID_MAX)
		return rs ? HE_INVAL : HE_NOMEM;
	if (in && (!ctx || !ctx->event_id))
		return HE_INVAL;
	if (ctx) {
		mx_txn_for_event(ctx->event_id, ctx->nsent++, txn);
		c = mx_notice_cached(mx, md, ctx->event_id, ctx->thread_root, false);
	} else {
		snprintf(txn, sizeof(txn), "hc%llx.%08x", (unsigned long long)mx->start_ms, randombytes_random());
		c = mx_notice_cached(mx, md, NULL, NULL, false);
	}
	remember(rs->pending, PENDING_MAX, &rs->npending, room, txn);
	return mx_send_event(mx, room, "m.room.message", c, txn, ctx ? ctx->batch : NULL,
			     ctx ? &ctx->start : NULL);
}

/* Our own event came back: a prompt being sent gets its scale. */
static void own_event(struct mx *mx, struct mx_react *rs, struct mx_room *r, const struct mx_event *ev)
{
	const char *txn = json_string_value(json_object_get(json_object_get(ev->json, "unsigned"),
							    "transaction_id"));
	struct id_pair *p = find(rs->pending, PENDING_MAX, r->id, txn);

	if (!p || !id_ok(ev->event_id))
		return;
	p->id[0] = '\0';
	if (mx_react_prompt_add(mx->app->store, r->id, ev->event_id, now_s(mx)) != HE_OK) {
		hlog_warn(MX_MOD, "could not keep a check-in in %s: it takes no taps", r->id);
		return;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *c = json_pack("{s:{s:s, s:s, s:s}}", "m.relates_to", "rel_type", "m.annotation",
				      "event_id", ev->event_id, "key", keys[i]);
		if (mx_send_event(mx, r->id, "m.reaction", c, NULL, NULL, NULL) != HE_OK)
			hlog_warn(MX_MOD, "could not add the check-in scale in %s", r->id);
	}
}

static void report(struct mx *mx, struct mx_room *r, const struct mx_event *ev, enum hevent_kind kind,
		   int score, const char *answer, const char *about)
{
	const char *name = json_string_value(json_object_get(r->names, ev->sender));
	struct hevent hev = { .kind = kind, .network = mx->t.name, .room = r->id, .member = ev->sender,
			      .member_name = name && *name ? name : ev->sender, .via = &mx->t,
			      .score = score, .answer = answer, .about = about };

	if (happ_room_event(mx->app, &hev) != HE_OK)
		hlog_debug(MX_MOD, "a check-in tap in %s was not taken", r->id);
}

void mx_react_event(struct mx *mx, struct mx_room *r, const struct mx_event *ev)
{
	struct mx_react *rs = mx->react;
	struct id_pair *p;

	if (!ev->sender || !ev->event_id)
		return;
	if (strcmp(ev->type, "m.room.redaction") == 0 && strcmp(ev->sender, mx->user_id) != 0) {
		/* room versions up to 10: top-level "redacts"; 11: content.redacts */
		const char *gone = json_string_value(json_object_get(ev->content, "redacts"));
		if (!gone)
			gone = json_string_value(json_object_get(ev->json, "redacts"));
		if (!gone || !*gone || strlen(gone) >= ID_MAX)
			return;
		p = rs ? find(rs->answers, ANSWERS_MAX, r->id, gone) : NULL;
		report(mx, r, ev, HEV_SCALE_WITHDRAWN, 0, p ? p->id : gone, NULL);
		return;
	}
	if (strcmp(ev->sender, mx->user_id) == 0) {
		/* none pending when no check-in was posted by this process */
		if (rs && (strcmp(ev->type, "m.room.message") == 0 || strcmp(ev->type, "m.room.encrypted") == 0))
			own_event(mx, rs, r, ev);
		return; /* our own reactions and redactions are not answers */
	}
	if (strcmp(ev->type, "m.reaction") == 0) {
		json_t *rel = json_object_get(ev->content, "m.relates_to");
		const char *type = json_string_value(json_object_get(rel, "rel_type"));
		const char *target = json_string_value(json_object_get(rel, "event_id"));
		int score = mx_react_score(json_string_value(json_object_get(rel, "key")));
		/* cheap checks first: the store is asked only about a scale key on a plausible id */
		if (!type || strcmp(type, "m.annotation") != 0 || !score || !id_ok(target) ||
		    !id_ok(ev->event_id) || !id_ok(r->id) || (rs && find(rs->answers, ANSWERS_MAX, r->id, ev->event_id)) ||
		    mx_react_prompt_known(mx->app->store, r->id, target, now_s(mx)) != HE_OK ||
		    !(rs = state(mx)))
			return;
		remember(rs->answers, ANSWERS_MAX, &rs->nanswers, r->id, ev->event_id);
		report(mx, r, ev, HEV_SCALE_ANSWER, score, ev->event_id, target);
	}
}
