/* handle.c - a message from a sync, a gap or an earlier run: decrypted when it came encrypted,
 * held until its room's member list is known (whether it was said privately depends on it),
 * then handed to the core. Split from sync.c, which walks the batches. */
#include "net/matrix/mx.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A message that waits for its room's member list: whether it was said privately is not known
 * before. */
struct mx_pend {
	json_t *event;             /* a copy (decrypted when it came encrypted) */
	struct mx_batch *batch;    /* held */
	struct hstamp start;       /* when Hearth began on it (0: not timed) */
	struct mx_pend *next;
};

#define MX_PEND_MAX 256 /* per room; more are handled at once, as said in a group room */

static void dispatch_message(struct mx *mx, struct mx_room *r, const struct mx_event *ev,
			     struct mx_batch *b, const struct hstamp *start);

static int pend_add(struct mx *mx, struct mx_room *r, const struct mx_event *ev,
		    struct mx_batch *b, const struct hstamp *start)
{
	struct mx_pend *p;

	if (r->npend >= MX_PEND_MAX || !(p = calloc(1, sizeof(*p))))
		return HE_NOMEM;
	if (!(p->event = json_deep_copy(ev->json))) {
		free(p);
		return HE_NOMEM;
	}
	p->batch = b;
	mx_batch_hold(b);
	if (start)
		p->start = *start;
	if (r->pend_tail)
		r->pend_tail->next = p;
	else
		r->pend = p;
	r->pend_tail = p;
	r->npend++;
	return HE_OK;
}

void mx_sync_members_ready(struct mx *mx, struct mx_room *r)
{
	struct mx_pend *p;
	struct mx_event ev;

	/* the list is in (or could not be had): in order, as they came */
	while (!r->members_req && (p = r->pend)) {
		r->pend = p->next;
		if (!r->pend)
			r->pend_tail = NULL;
		r->npend--;
		if (mx_event_parse(p->event, &ev) == HE_OK)
			dispatch_message(mx, r, &ev, p->batch, &p->start);
		mx_batch_release(mx, p->batch);
		json_decref(p->event);
		free(p);
	}
}

void mx_sync_pend_free(struct mx *mx, struct mx_room *r)
{
	while (r->pend) {
		struct mx_pend *p = r->pend;
		r->pend = p->next;
		mx_batch_release(mx, p->batch);
		json_decref(p->event);
		free(p);
	}
	r->pend_tail = NULL;
	r->npend = 0;
}

int mx_catch_up_minutes(const struct mx *mx)
{
	int m = mx->app->cfg->matrix_catch_up_minutes;

	return m > 0 ? m : MX_CATCH_UP_DEFAULT;
}

bool mx_too_old(const struct mx *mx, int64_t ts_ms)
{
	return ts_ms > 0 && (int64_t)time(NULL) * 1000 - ts_ms > (int64_t)mx_catch_up_minutes(mx) * 60000;
}

void mx_log_too_old(const struct mx *mx, const char *room_id, const struct mx_event *ev)
{
	const char *prefix = mx->app->cfg->prefix;
	bool cmd = ev->body && strncmp(ev->body, prefix, strlen(prefix)) == 0;

	/* ids and age only, never the text; a command at info, anything else at debug */
	hlog(cmd ? HLOG_INFO : HLOG_DEBUG, MX_MOD,
	     "%s %s in %s is %lld minutes old (catch_up_minutes %d): not answered",
	     cmd ? "command" : "message", ev->event_id ? ev->event_id : "?", room_id,
	     (long long)(((int64_t)time(NULL) * 1000 - ev->ts) / 60000), mx_catch_up_minutes(mx));
}

/* Hands a member's message on, recorded as owed first (so the sync position never waits for
 * it: a restart finds it in the store). Whether it was said privately is decided from the room's
 * whole member list, so a message waits for that list (and for a fetch in flight, which may say
 * someone joined); messages behind one that waits wait too. b is the sync batch it came in (NULL
 * when fetched again after a restart or handed back by the crypto module). Returns false when
 * the message is nothing to handle (ours, not a command candidate, an edit). */
bool mx_handle_message(struct mx *mx, struct mx_room *r, const struct mx_event *ev,
		       struct mx_batch *b, const struct hstamp *start)
{
	struct store *st = mx->app->store;
	struct mx_batch *cmd;
	int owed;

	if (!ev->event_id || !ev->sender || !ev->body || !ev->msgtype)
		return false;
	if (strcmp(ev->sender, mx->user_id) == 0)
		return false; /* our own */
	if (strcmp(ev->msgtype, "m.text") != 0)
		return false; /* m.notice: another bot; m.emote, files: not commands */
	if (ev->rel_type && strcmp(ev->rel_type, "m.replace") == 0)
		return false; /* an edit: the original was handled */
	if (mx_seen_check(mx, ev->event_id))
		return true;
	/* After downtime: a message older than catch_up_minutes is not answered out of context. */
	if (mx_too_old(mx, ev->ts)) {
		owed = mx_owed_event_get(st, ev->event_id);
		if (owed == MX_OWED_DONE) {
			hlog_debug(MX_MOD, "message %s in %s was answered before", ev->event_id, r->id);
			return true;
		}
		mx_log_too_old(mx, r->id, ev);
		if (owed == MX_OWED_OPEN && mx_owed_event_done(st, ev->event_id) != HE_OK)
			hlog_warn(MX_MOD, "could not update the store for a skipped message");
		return false;
	}
	/* Recorded as owed, or found owed from before a restart (then answered now, as the room
	 * is now: a reply meant to be private is checked again before it goes out), in one
	 * statement: the lookup and the insert were a read and a write transaction each. */
	owed = mx_owed_event_take(st, ev->event_id, r->id, (int64_t)time(NULL));
	if (owed == MX_OWED_DONE) {
		hlog_debug(MX_MOD, "message %s in %s was answered before", ev->event_id, r->id);
		return true;
	}
	if (owed != MX_OWED_OPEN)
		hlog_warn(MX_MOD, "could not record a message as owed in the store; the sync "
			  "position waits for its answer");
	cmd = mx_batch_cmd_new(mx, ev->event_id, owed == MX_OWED_OPEN, b);
	if (!cmd)
		hlog_error(MX_MOD, "out of memory holding a message; a restart may not answer it");
	if (r->members_req || r->pend || (!r->members_known && !r->members_failed)) {
		if (pend_add(mx, r, ev, cmd, start) == HE_OK) {
			mx_batch_release(mx, cmd); /* the wait holds it now */
			if (!r->members_req && !r->members_known)
				mx_room_members_fetch(mx, r);
			mx_sync_members_ready(mx, r); /* the fetch could not start: now */
			return true;
		}
	}
	dispatch_message(mx, r, ev, cmd, start);
	mx_batch_release(mx, cmd);
	return true;
}

/* cmd is the message's command hold (NULL when out of memory). */
static void dispatch_message(struct mx *mx, struct mx_room *r, const struct mx_event *ev,
			     struct mx_batch *cmd, const struct hstamp *start)
{
	const char *prefix = mx->app->cfg->prefix;
	struct hmsg_ref ctx = { 0 };
	struct hmsg m = { 0 };
	const char *text, *name;

	text = ev->in_reply_to ? mx_strip_reply_fallback(ev->body) : ev->body;
	ctx.room_id = r->id;
	ctx.event_id = ev->event_id;
	ctx.thread_root = ev->rel_type && strcmp(ev->rel_type, "m.thread") == 0 ? ev->rel_event : NULL;
	if (start)
		ctx.start = *start;
	name = json_string_value(json_object_get(r->names, ev->sender));
	m.network = mx->t.name;
	m.room = r->id;
	m.sender = ev->sender;
	m.sender_name = name && *name ? name : ev->sender;
	m.text = text;
	m.is_private = mx_room_is_private(mx, r, ev->sender);
	m.role = mx_power_level(r->power_levels, r->creator, ev->sender) >=
			 mx->app->cfg->matrix_moderator_power_level
		 ? HROLE_MODERATOR : HROLE_MEMBER;
	ctx.batch = cmd;
	m.via = &mx->t;
	m.ref = &ctx;
	if (strncmp(text, prefix, strlen(prefix)) == 0)
		mx->ncommands++;
	hlog_debug(MX_MOD, "message %s in %s from %s (%s%s)", ev->event_id, r->id, ev->sender,
		   m.is_private ? "private" : "room", m.role == HROLE_MODERATOR ? ", moderator" : "");
	happ_dispatch(mx->app, &m);
}

/* ---- de-duplication: the last MX_SEEN event ids, as 64-bit hashes in a ring, found through an
 * open-addressing index of their ring positions (a lookup was a scan of the whole ring). The
 * hash is not keyed: ids made to collide make a long probe, at worst the old scan's length. */

#define SEEN_MASK (2 * MX_SEEN - 1)
_Static_assert(MX_SEEN <= 65535 && (MX_SEEN & (MX_SEEN - 1)) == 0, "seen index: uint16, power of 2");

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h ? h : 1;
}

static size_t seen_home(uint64_t h)
{
	return (size_t)(h ^ (h >> 32)) & SEEN_MASK;
}

/* Ring position pos1 - 1 leaves the index; the entries after it in its run move back into the
 * hole where their home slot allows (no tombstones). */
static void seen_unindex(struct mx *mx, unsigned pos1)
{
	size_t i = seen_home(mx->seen[pos1 - 1]), j, k;

	while (mx->seen_tab[i] != pos1)
		i = (i + 1) & SEEN_MASK;
	for (j = i;;) {
		j = (j + 1) & SEEN_MASK;
		if (!mx->seen_tab[j])
			break;
		k = seen_home(mx->seen[mx->seen_tab[j] - 1]);
		if (j > i ? (k <= i || k > j) : (k <= i && k > j)) {
			mx->seen_tab[i] = mx->seen_tab[j];
			i = j;
		}
	}
	mx->seen_tab[i] = 0;
}

bool mx_seen_check(struct mx *mx, const char *event_id)
{
	uint64_t h = fnv1a(event_id);
	size_t i;

	for (i = seen_home(h); mx->seen_tab[i]; i = (i + 1) & SEEN_MASK)
		if (mx->seen[mx->seen_tab[i] - 1] == h)
			return true;
	if (mx->seen[mx->seen_next])
		seen_unindex(mx, mx->seen_next + 1);
	for (i = seen_home(h); mx->seen_tab[i]; i = (i + 1) & SEEN_MASK)
		;
	mx->seen[mx->seen_next] = h;
	mx->seen_tab[i] = (uint16_t)(mx->seen_next + 1);
	mx->seen_next = (mx->seen_next + 1) % MX_SEEN;
	return false;
}

/* 1 when handled, 0 when the event cannot be read (no crypto, undecryptable) or is nothing to
 * handle, -1 when its key is missing (the crypto module hands it back later). */
int mx_handle_encrypted(struct mx *mx, struct mx_room *r, const struct mx_event *ev,
			struct mx_batch *b)
{
	struct mx_event dec;
	json_t *plain = NULL, *copy = NULL;
	struct hstamp t_dec = hstamp_now(); /* an encrypted reply is timed from here */
	int taken = 0, rc;

	if (!ev->sender || strcmp(ev->sender, mx->user_id) == 0)
		return 0;
	if (!r->encrypted) {
		/* whatever its state said: a room that carries encrypted messages gets only those */
		r->encrypted = true;
	}
	if (!mx->crypto || !mx->crypto->decrypt) {
		if (!r->warned_encrypted) {
			hlog_warn(MX_MOD, "room %s is encrypted and this build cannot read or write "
				  "encrypted messages: I will not answer there", r->id);
			r->warned_encrypted = true;
		}
		return 0;
	}
	rc = mx->crypto->decrypt(mx->crypto_state, r->id, ev->json, &plain);
	if (rc != HE_OK || !plain) {
		json_decref(plain);
		return rc == HE_AGAIN ? -1 : 0;
	}
	copy = json_deep_copy(ev->json);
	if (copy && json_is_object(plain)) {
		json_t *pc = json_object_get(plain, "content"), *rel = json_object_get(ev->content, "m.relates_to");
		json_object_set(copy, "type", json_object_get(plain, "type"));
		json_object_set(copy, "content", pc);
		/* a relation may travel outside the ciphertext only (a reaction's, for the server) */
		if (json_is_object(pc) && json_is_object(rel) && !json_object_get(pc, "m.relates_to"))
			json_object_set(pc, "m.relates_to", rel);
		if (mx_event_parse(copy, &dec) == HE_OK && strcmp(dec.type, "m.room.message") == 0)
			taken = mx_handle_message(mx, r, &dec, b, &t_dec) ? 1 : 0;
		else if (mx_event_parse(copy, &dec) == HE_OK && strcmp(dec.type, "m.reaction") == 0)
			mx_react_event(mx, r, &dec); /* a one-tap answer in an encrypted room (react.c) */
	}
	json_decref(copy);
	json_decref(plain);
	return taken;
}

/* The room of an event that may have waited across a restart, in a room no sync has mentioned
 * since (only rooms with news are in one): we were in it when the event came. Had we left
 * since, the reply fails at the homeserver and is dropped. A room this process saw us leave is
 * not added back (NULL). */
struct mx_room *mx_room_of_waiting(struct mx *mx, const char *room_id)
{
	struct mx_room *r = mx_room_get(mx, room_id);

	if (!r && json_object_get(mx->left, room_id))
		return NULL;
	if (!r && (r = mx_room_add(mx, room_id))) {
		r->membership = MX_M_JOINED;
		/* first seen by this process: the member list may be incomplete */
		if (mx->crypto && mx->crypto->members_stale)
			mx->crypto->members_stale(mx->crypto_state, room_id);
	}
	return r && r->membership == MX_M_JOINED ? r : NULL;
}

void mx_crypto_redeliver(struct mx *mx, const char *room_id, json_t *event, struct mx_batch *b)
{
	struct mx_room *r = mx_room_of_waiting(mx, room_id);
	struct mx_event ev;

	if (r && mx_event_parse(event, &ev) == HE_OK)
		mx_handle_encrypted(mx, r, &ev, b);
}

/* ---- joins: the core's welcome (care/welcome.c) ---- */

/* A group room by the homeserver's count or the member list: more than Hearth and one member.
 * A room of two is a private chat for Hearth (rooms.c), and nobody is welcomed there. */
static bool group_room(struct mx *mx, const struct mx_room *r, const char *member)
{
	long n = r->joined >= 0 ? r->joined + (r->invited > 0 ? r->invited : 0) : -1;

	if (r->members_known && !r->members_req)
		return !mx_room_is_private(mx, r, member ? member : "");
	return n > 2;
}

void mx_handle_member(struct mx *mx, struct mx_room *r, const struct mx_event *ev)
{
	struct hevent hev = { .network = mx->t.name, .room = r->id, .via = &mx->t };
	const char *prev;

	if (!ev->state_key || !ev->membership || strcmp(ev->membership, "join") != 0)
		return;
	prev = json_string_value(json_object_get(ev->unsigned_prev, "membership"));
	if (prev && strcmp(prev, "join") == 0)
		return; /* a new display name or avatar, not a join */
	if (strcmp(ev->state_key, mx->user_id) == 0) {
		if (!group_room(mx, r, NULL))
			return;
		hev.kind = HEV_SELF_JOINED;
	} else {
		/* Only a member's own join (never one made for them by someone else's event) */
		if (!ev->sender || strcmp(ev->sender, ev->state_key) != 0 || !group_room(mx, r, ev->state_key))
			return;
		hev.kind = HEV_MEMBER_JOINED;
		hev.member = ev->state_key;
		hev.member_name = ev->displayname && *ev->displayname ? ev->displayname : ev->state_key;
	}
	if (happ_room_event(mx->app, &hev) != HE_OK)
		hlog_debug(MX_MOD, "a join in %s was not answered", r->id);
}

/* A welcome: a notice in the room, no reply relation, that mentions only the member. */
int mx_op_greet(struct htransport *t, const struct hevent *ev, const char *md)
{
	const char *room = ev->room, *member = ev->member;
	struct mx *mx = t->impl;
	json_t *c = mx_notice_content(md, NULL, NULL), *ids;

	if (!c)
		return HE_NOMEM;
	ids = json_pack("{s:[s]}", "user_ids", member);
	if (!ids || json_object_set_new(c, "m.mentions", ids) != 0) {
		json_decref(c);
		return HE_NOMEM;
	}
	return mx_send_event(mx, room, "m.room.message", c, NULL, NULL, NULL);
}

/* ---- our own join, when the sync filter leaves our own events out of the timeline ---- */

/* Our own new join in a room's state section (where it is when the timeline filter leaves our
 * events out): its origin_server_ts in *ts. */
bool mx_own_join_in_state(struct mx *mx, json_t *room, int64_t *ts)
{
	json_t *st = json_object_get(json_object_get(room, "state"), "events"), *e;
	struct mx_event ev;
	size_t i;

	json_array_foreach(st, i, e) {
		const char *prev;
		if (mx_event_parse(e, &ev) != HE_OK || strcmp(ev.type, "m.room.member") != 0 ||
		    !ev.state_key || strcmp(ev.state_key, mx->user_id) != 0 || !ev.membership ||
		    strcmp(ev.membership, "join") != 0)
			continue;
		prev = json_string_value(json_object_get(ev.unsigned_prev, "membership"));
		if (prev && strcmp(prev, "join") == 0)
			return false;
		*ts = ev.ts;
		return true;
	}
	return false;
}

/* Written before Hearth was in the room: history, never answered. By our own join's place in
 * the timeline when it is there (tl_index < skip_until); else by the homeserver's
 * unsigned.membership (ours at the event, MSC4115); else by our join's time. */
bool mx_before_our_join(long tl_index, long skip_until, bool joined_now, int64_t join_ts,
			const struct mx_event *ev)
{
	const char *m;

	if (tl_index < skip_until)
		return true;
	m = json_string_value(json_object_get(json_object_get(ev->json, "unsigned"), "membership"));
	if (m)
		return strcmp(m, "join") != 0;
	return joined_now && ev->ts < join_ts;
}

/* Our join that the timeline filter left out, after our invite in the same timeline (the state
 * section is the state before the timeline): the room's member list and the crypto module's
 * learn it as the echo would have told them, and a group room gets Hearth's introduction. */
void mx_self_joined(struct mx *mx, struct mx_room *r, bool dispatch)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:{s:s}}", "type", "m.room.member", "state_key",
			      mx->user_id, "sender", mx->user_id, "content", "membership", "join");
	struct mx_event ev;

	if (!j || mx_event_parse(j, &ev) != HE_OK) {
		json_decref(j);
		return;
	}
	mx_room_apply_state(mx, r, &ev);
	if (mx->crypto && mx->crypto->member)
		mx->crypto->member(mx->crypto_state, r->id, mx->user_id, "join");
	if (dispatch)
		mx_handle_member(mx, r, &ev);
	json_decref(j);
}
