/* sched_post.c - a scheduled check-in on Matrix is posted once, with its scale, across a restart.
 *
 * The scheduler (care/sched.c) marks a slot "sent" before it posts, so a process killed between
 * the mark and the homeserver's answer must not lose the check-in, nor post it twice, nor leave
 * it without its scale. So a scheduled prompt (post_checkin with a key naming the schedule's
 * slot, msg.h) gets a transaction id made from the room and that key ("hs" and a hash): the
 * same in every process. Before its PUT leaves, a pending row (room, transaction id, the text,
 * time; table mx_checkin_pending, module "matrix_react", fenced like the other Matrix writes)
 * is written. The PUT's answer with the event id turns it into the prompt record
 * (mx_checkin_prompt) and the scale follows (react.c). A row still pending at the next start
 * (mx_sched_resume) is sent again with the same transaction id: the homeserver recognises it
 * (Synapse keeps a device's transaction ids for 24 hours, per user and device, not per access
 * token) and answers with the first event's id when the first PUT had arrived, so the room shows
 * the prompt once; then the scale follows. A row older than PENDING_KEEP_S is dropped (a
 * check-in hours late helps nobody), and so is one whose room Hearth has left.
 *
 * A hostile homeserver: an answer without an event id or with one over ID_MAX records nothing
 * (the row is dropped); a refusal (4xx: not in the room any more) drops the row. The text kept
 * is the room's check-in prompt (content or a moderator's question): nothing about a member. */
#include "net/matrix/mx.h"
#include "core/app.h"
#include "core/err.h"
#include "core/log.h"
#include "store/lease.h"
#include "store/store.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PENDING_KEEP_S (2 * 3600)  /* a check-in later than this is not posted */
#define PENDING_RESUME_MAX 16
#define ID_MAX 256

static int64_t now_s(struct mx *mx)
{
	return mx->app ? (int64_t)happ_now(mx->app) : (int64_t)time(NULL);
}

static bool id_ok(const char *id)
{
	return id && *id && strlen(id) < ID_MAX;
}

void mx_sched_txn(const char *room, const char *idem, char out[48])
{
	crypto_hash_sha256_state st;
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[2 * 16 + 1];

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)room, strlen(room) + 1); /* with its NUL */
	crypto_hash_sha256_update(&st, (const unsigned char *)idem, strlen(idem));
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(hex, sizeof(hex), h, 16);
	snprintf(out, 48, "hs%s", hex);
}

bool mx_sched_is_txn(const char *txn)
{
	return txn && strncmp(txn, "hs", 2) == 0;
}

static int pending_del(struct store *s, const char *room, const char *txn)
{
	bool own;
	int rc;

	if ((rc = lease_open(s, MX_MOD, &own)) != HE_OK)
		return rc;
	rc = db_runf(store_sql(s), NULL, "DELETE FROM mx_checkin_pending WHERE room_id = ? AND txn_id = ?",
		     "ss", room, txn);
	return lease_end(s, own, rc) ? HE_DB : HE_OK;
}

int mx_sched_pending_add(struct store *s, const char *room, const char *txn, const char *md, int64_t now)
{
	bool own;
	int rc;

	if (!id_ok(room) || !txn || !*txn || !md || strlen(md) > MX_SCHED_TEXT_MAX)
		return HE_INVAL;
	if ((rc = lease_open(s, MX_MOD, &own)) != HE_OK) /* fenced: only the active Hearth posts */
		return rc;
	/* the same slot tried again (its post failed and the mark was given back): one row */
	rc = db_runf(store_sql(s), NULL, "INSERT INTO mx_checkin_pending (room_id, txn_id, md, ts)"
		     " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", "sssi", room, txn, md, now);
	if (rc == HE_OK)
		rc = db_runf(store_sql(s), NULL, "DELETE FROM mx_checkin_pending WHERE ts < ?", "i",
			     now - PENDING_KEEP_S);
	return lease_end(s, own, rc) ? HE_DB : HE_OK;
}

/* Queues the prompt under its transaction id; the pending row goes when it cannot be queued. */
static int send_prompt(struct mx *mx, const char *room, const char *txn, const char *md)
{
	json_t *c = mx_notice_cached(mx, md, NULL, NULL, false);
	int rc = mx_send_event(mx, room, "m.room.message", c, txn, NULL, NULL);

	if (rc != HE_OK && pending_del(mx->app->store, room, txn) != HE_OK)
		hlog_warn(MX_MOD, "could not update a scheduled check-in's record in %s", room);
	return rc;
}

int mx_sched_post(struct mx *mx, const char *room, const char *md, const char *idem)
{
	char txn[48];
	int rc;

	if (!id_ok(room) || !idem || !*idem)
		return HE_INVAL;
	/* after a restart a quiet room is not known to this process until a sync mentions it: the
	 * schedule's room is one we were in (had we left, the homeserver refuses the PUT and the
	 * row is dropped); a room this process saw us leave or not join is not posted to */
	if (!mx_room_of_waiting(mx, room)) {
		hlog_warn(MX_MOD, "not in room %s: message not sent", room);
		return HE_NOTFOUND;
	}
	mx_sched_txn(room, idem, txn);
	/* written before the PUT leaves: a refused write (another Hearth holds the lease) posts
	 * nothing, and the scheduler gives its mark back */
	if ((rc = mx_sched_pending_add(mx->app->store, room, txn, md, now_s(mx))) != HE_OK) {
		hlog_warn(MX_MOD, "could not record a scheduled check-in for %s (%s): not posting it", room,
			  he_str(rc));
		return rc;
	}
	return send_prompt(mx, room, txn, md);
}

bool mx_sched_sent(struct mx *mx, const char *room, const char *txn, int status, const char *event_id)
{
	struct store *s = mx->app->store;
	int64_t one = 0;
	int rc;

	if (!id_ok(room) || !mx_sched_is_txn(txn))
		return false;
	/* only a prompt still pending: an answer to the same PUT again (the slot tried twice)
	 * neither records nor scales anything a second time */
	if (db_int64f(store_sql(s), &one, "SELECT 1 FROM mx_checkin_pending WHERE room_id = ? AND txn_id = ?",
		      "ss", room, txn) != HE_OK)
		return false;
	if (status == 200 && id_ok(event_id)) {
		/* the prompt first, then the pending row: a stop in between sends it again, which
		 * the homeserver answers with the same event id */
		if ((rc = mx_react_prompt_add(s, room, event_id, now_s(mx))) != HE_OK) {
			hlog_warn(MX_MOD, "could not keep a check-in in %s (%s): it takes no taps", room,
				  he_str(rc));
			return false;
		}
		if (pending_del(s, room, txn) != HE_OK)
			hlog_warn(MX_MOD, "could not update a scheduled check-in's record in %s", room);
		return true;
	}
	if (status == 200)
		hlog_warn(MX_MOD, "the homeserver answered a scheduled check-in in %s without a usable "
			  "event id: it takes no taps", room);
	else
		hlog_info(MX_MOD, "a scheduled check-in in %s was refused (HTTP %d): not sending it again",
			  room, status);
	if (pending_del(s, room, txn) != HE_OK)
		hlog_warn(MX_MOD, "could not update a scheduled check-in's record in %s", room);
	return false;
}

void mx_sched_room_left(struct mx *mx, const char *room)
{
	bool own;
	int rc;

	if (!mx->app || !id_ok(room))
		return;
	if ((rc = lease_open(mx->app->store, MX_MOD, &own)) == HE_OK)
		rc = lease_end(mx->app->store, own, db_runf(store_sql(mx->app->store), NULL,
			       "DELETE FROM mx_checkin_pending WHERE room_id = ?", "s", room));
	if (rc != HE_OK)
		hlog_warn(MX_MOD, "could not drop the scheduled check-ins waiting for %s", room);
}

struct pending {
	char room[ID_MAX];
	char txn[48];
	char *md;
	int64_t ts;
};

void mx_sched_resume(struct mx *mx)
{
	struct store *s = mx->app->store;
	struct pending todo[PENDING_RESUME_MAX];
	struct db_stmt *st;
	int64_t now = now_s(mx);
	size_t n = 0;

	st = db_stmtf(store_sql(s), "SELECT room_id, txn_id, md, ts FROM mx_checkin_pending ORDER BY ts LIMIT ?",
		      "i", (int64_t)PENDING_RESUME_MAX);
	while (st && n < PENDING_RESUME_MAX && db_step(st) == DB_ROW) {
		const char *room = db_col_text(st, 0), *txn = db_col_text(st, 1), *md = db_col_text(st, 2);
		struct pending *p = &todo[n];

		if (!id_ok(room) || !txn || strlen(txn) >= sizeof(p->txn) || !md)
			continue;
		snprintf(p->room, sizeof(p->room), "%s", room);
		snprintf(p->txn, sizeof(p->txn), "%s", txn);
		p->ts = db_col_int64(st, 3);
		if ((p->md = strdup(md)))
			n++;
	}
	db_reset(st);
	for (size_t i = 0; i < n; i++) {
		struct pending *p = &todo[i];
		struct mx_room *r;

		if (mx_react_sending(mx, p->room, p->txn)) {
			/* posted by this process before its first sync: already on its way */
		} else if (p->ts < now - PENDING_KEEP_S || p->ts > now + PENDING_KEEP_S) {
			hlog_info(MX_MOD, "a scheduled check-in in %s was cut off by a restart %lld minutes "
				  "ago: too late to post it now, dropped", p->room, (long long)(now - p->ts) / 60);
			if (pending_del(s, p->room, p->txn) != HE_OK)
				hlog_warn(MX_MOD, "could not drop a scheduled check-in's record for %s", p->room);
		} else if (!(r = mx_room_of_waiting(mx, p->room))) {
			hlog_info(MX_MOD, "a scheduled check-in for %s was cut off by a restart, and Hearth "
				  "is no longer in that room: dropped", p->room);
			if (pending_del(s, p->room, p->txn) != HE_OK)
				hlog_warn(MX_MOD, "could not drop a scheduled check-in's record for %s", p->room);
		} else {
			/* the same transaction id: posted once, whether or not the first PUT arrived */
			hlog_info(MX_MOD, "posting a scheduled check-in in %s that a restart cut off", r->id);
			if (send_prompt(mx, p->room, p->txn, p->md) != HE_OK)
				hlog_warn(MX_MOD, "could not post a scheduled check-in in %s again", p->room);
		}
		free(p->md);
	}
}
