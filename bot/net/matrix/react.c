/* react.c - one-tap check-ins on Matrix (core/msg.h post_checkin).
 *
 * A check-in prompt goes out with a transaction id remembered here; when the homeserver answers
 * its PUT with the event id (send.c calls mx_react_sent; Hearth's own events no longer come back
 * in /sync: the sync filter leaves them out), Hearth remembers the prompt in the store, not yet
 * scaled, and adds its own reactions under it, the 5-step scale 😞 🙁 😐 🙂 😄, with transaction
 * ids made from the prompt's id (a scale sent again after a restart is the same request). The
 * answer to the last step's PUT marks the prompt scaled; a prompt still unscaled at the next
 * start gets its scale then (mx_react_resume), so a restart between the PUT and the scale still
 * adds it. A member's m.reaction
 * (plain, or decrypted from m.room.encrypted in an encrypted room) that annotates a remembered
 * prompt in the same room with one of those keys is reported to the core as HEV_SCALE_ANSWER
 * (2, 4, 6, 8, 10); a redaction of a reported reaction as HEV_SCALE_WITHDRAWN with the
 * redaction's sender (the core lets only the member who tapped take it back). Everything else is
 * ignored: our own reactions, other keys, reactions to other events, other relation types.
 *
 * Prompts are kept in the store (table mx_checkin_prompt, module "matrix_react" in
 * schema_version: room id, event id, time and whether the scale is on, nothing about members),
 * so a check-in posted
 * before a restart still takes taps after it. Bounded: prompts older than two days are pruned
 * (and no longer count), and a room keeps its newest PROMPTS_PER_ROOM. Each reaction to one of
 * the scale's keys costs one lookup by (room, event id); ids over ID_MAX are refused before it.
 * Prompts being sent (by transaction id) and reported reactions are remembered in memory only,
 * bounded: a prompt in reply to a command is sent again after a restart with the same
 * transaction id (its command is owed), so its PUT's answer still brings its event id; a
 * scheduled prompt is kept in the store until its PUT is answered and sent again after a
 * restart with the same transaction id (sched_post.c). A redaction of a reaction not remembered here (one from before a restart) is reported
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
	/* 2: whether the scale is on (prompts from before were scaled on their echo) */
	{ "ALTER TABLE mx_checkin_prompt ADD COLUMN scaled INTEGER NOT NULL DEFAULT 1;",
	  "ALTER TABLE mx_checkin_prompt ADD COLUMN scaled INTEGER NOT NULL DEFAULT 1;" },
	/* 3: scheduled prompts whose PUT has not been answered yet (sched_post.c) */
	{ "CREATE TABLE mx_checkin_pending (room_id TEXT NOT NULL, txn_id TEXT NOT NULL,"
	  " md TEXT NOT NULL, ts INTEGER NOT NULL, PRIMARY KEY (room_id, txn_id));",
	  "CREATE TABLE mx_checkin_pending (room_id TEXT NOT NULL, txn_id TEXT NOT NULL,"
	  " md TEXT NOT NULL, ts BIGINT NOT NULL, PRIMARY KEY (room_id, txn_id));" },
};

struct id_pair {
	char room[ID_MAX];
	char id[ID_MAX];
};

struct mx_react {
	struct id_pair pending[PENDING_MAX];   /* room, transaction id of a prompt being sent */
	struct id_pair answers[ANSWERS_MAX];   /* room, event id of a reaction reported */
	size_t npending, nanswers;
	bool resumed;                          /* unscaled prompts from before were looked up */
	unsigned long scales;                  /* scales queued (a figure for the tests) */
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
	rc = db_runf(store_sql(s), NULL, "INSERT INTO mx_checkin_prompt (room_id, event_id, ts, scaled)"
		     " VALUES (?, ?, ?, 0) ON CONFLICT DO NOTHING", "ssi", room, event_id, now_s);
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

bool mx_react_sending(struct mx *mx, const char *room, const char *txn)
{
	return mx->react && find(mx->react->pending, PENDING_MAX, room, txn);
}

int mx_op_post_checkin(struct htransport *t, const struct hmsg *in, const char *room, const char *md,
		       const char *idem)
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
	if (!in && idem && *idem && strlen(md) <= MX_SCHED_TEXT_MAX) {
		/* a scheduled one: posted once across a restart (sched_post.c) */
		mx_sched_txn(room, idem, txn);
		remember(rs->pending, PENDING_MAX, &rs->npending, room, txn); /* not resumed as well */
		return mx_sched_post(mx, room, md, idem);
	}
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

int mx_react_prompt_scaled(struct store *s, const char *room, const char *event_id)
{
	bool own;
	int rc;

	if (!id_ok(room) || !id_ok(event_id))
		return HE_INVAL;
	if ((rc = lease_open(s, MX_MOD, &own)) != HE_OK)
		return rc;
	rc = db_runf(store_sql(s), NULL, "UPDATE mx_checkin_prompt SET scaled = 1 WHERE room_id = ? AND event_id = ?"
		     " AND scaled = 0", "ss", room, event_id);
	return lease_end(s, own, rc) ? HE_DB : HE_OK;
}

/* The scale's transaction ids: "hk", a hash of the prompt's id, the step. The same prompt gets
 * the same ids in every process, so a scale sent again is the same request to the homeserver. */
void mx_react_scale_txn(const char *event_id, size_t step, char out[48])
{
	unsigned char h[crypto_shorthash_BYTES];
	static const unsigned char key[crypto_shorthash_KEYBYTES] = "hearth-scale-key";

	crypto_shorthash(h, (const unsigned char *)event_id, strlen(event_id), key);
	snprintf(out, 48, "hk%02x%02x%02x%02x%02x%02x%02x%02x.%zu", h[0], h[1], h[2], h[3], h[4], h[5],
		 h[6], h[7], step);
}

static void send_scale(struct mx *mx, struct mx_react *rs, const char *room, const char *event_id)
{
	char txn[48];

	rs->scales++;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *c = json_pack("{s:{s:s, s:s, s:s}}", "m.relates_to", "rel_type", "m.annotation",
				      "event_id", event_id, "key", keys[i]);
		mx_react_scale_txn(event_id, i, txn);
		if (mx_send_event(mx, room, "m.reaction", c, txn, NULL, NULL) != HE_OK)
			hlog_warn(MX_MOD, "could not add the check-in scale in %s", room);
	}
}

unsigned long mx_react_scales(const struct mx *mx)
{
	return mx->react ? mx->react->scales : 0;
}

/* The homeserver answered the PUT of an event of ours (send.c; status 200, or a refusal that
 * sending again would not change). A prompt being sent gets its scale; the scale's last step
 * marks its prompt scaled. */
void mx_react_sent(struct mx *mx, const char *room, const char *type, const char *txn, const json_t *content,
		   int status, const char *event_id)
{
	struct mx_react *rs = mx_sched_is_txn(txn) ? state(mx) : mx->react;
	struct id_pair *p;

	if (!rs || !room || !type || !txn)
		return; /* nothing of ours pending: no check-in was posted or resumed by this process */
	if (strcmp(type, "m.reaction") == 0) {
		json_t *rel = json_object_get(content, "m.relates_to");
		const char *target = json_string_value(json_object_get(rel, "event_id"));
		const char *key = json_string_value(json_object_get(rel, "key"));
		char want[48];

		if (strncmp(txn, "hk", 2) != 0 || !key || strcmp(key, keys[4]) != 0 || !id_ok(target))
			return;
		mx_react_scale_txn(target, 4, want);
		if (strcmp(want, txn) == 0 && mx_react_prompt_scaled(mx->app->store, room, target) != HE_OK)
			hlog_warn(MX_MOD, "could not record a check-in's scale in %s", room);
		return;
	}
	if (strcmp(type, "m.room.message") != 0)
		return;
	if (mx_sched_is_txn(txn)) { /* a scheduled prompt: its pending row becomes the record */
		if ((p = find(rs->pending, PENDING_MAX, room, txn)))
			p->id[0] = '\0';
		if (mx_sched_sent(mx, room, txn, status, event_id) && !mx->stopping)
			send_scale(mx, rs, room, event_id);
		return;
	}
	if (!(p = find(rs->pending, PENDING_MAX, room, txn)))
		return;
	p->id[0] = '\0';
	if (status != 200 || !id_ok(event_id))
		return;
	if (mx_react_prompt_add(mx->app->store, room, event_id, now_s(mx)) != HE_OK) {
		hlog_warn(MX_MOD, "could not keep a check-in in %s: it takes no taps", room);
		return;
	}
	/* stopping: the grace period is for replies; the scale goes on after the next start */
	if (!mx->stopping)
		send_scale(mx, rs, room, event_id);
}

/* Once per process, after a sync: prompts recorded but not yet scaled (a restart came between
 * the prompt's PUT and the answer to its scale's last step) get their scale. */
void mx_react_resume(struct mx *mx)
{
	struct mx_react *rs = state(mx);
	struct db_stmt *st;
	struct id_pair todo[PENDING_MAX];
	size_t n = 0;

	if (!rs || rs->resumed)
		return;
	rs->resumed = true;
	mx_sched_resume(mx); /* scheduled prompts a restart cut off: sent again, then scaled */
	st = db_stmtf(store_sql(mx->app->store), "SELECT room_id, event_id FROM mx_checkin_prompt WHERE scaled = 0"
		      " AND ts >= ? ORDER BY ts LIMIT ?", "ii", now_s(mx) - PROMPT_KEEP_S, (int64_t)PENDING_MAX);
	while (st && n < PENDING_MAX && db_step(st) == DB_ROW) {
		const char *room = db_col_text(st, 0), *id = db_col_text(st, 1);
		if (id_ok(room) && id_ok(id))
			remember(todo, PENDING_MAX, &n, room, id);
	}
	db_reset(st);
	for (size_t i = 0; i < n; i++) {
		struct mx_room *r = mx_room_of_waiting(mx, todo[i].room);
		if (!r) { /* not in the room any more: nothing to add */
			mx_react_prompt_scaled(mx->app->store, todo[i].room, todo[i].id);
			continue;
		}
		hlog_info(MX_MOD, "adding the scale of a check-in in %s sent before a restart", r->id);
		send_scale(mx, rs, todo[i].room, todo[i].id);
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
	if (strcmp(ev->sender, mx->user_id) == 0)
		return; /* our own events (the filter leaves them out) are not answers */
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
