/* sync.c - the /sync long poll: parsing, the walk over one batch, since tokens (a message found
 * in it is handled in handle.c).
 *
 * A batch's next_batch token is written to the store as soon as the batch is walked: it never
 * waits for a join, a member list, a key query or a reply. What the batch started is owed in
 * the store first (owed.c): every message handed to the core is recorded by its event id before
 * it is dispatched and marked done when every reply it caused was sent; joins and missed
 * messages to fetch are recorded too. A restart finishes what is owed: open messages are
 * fetched again from the homeserver and handled, joins and gaps go on. Replies carry
 * transaction ids derived from the command's event id, so a reply that did go out before the
 * restart is not shown twice (the homeserver drops the copy), and a message marked done is not
 * handled again when a batch is repeated. Only when the store cannot record what is owed does
 * the token wait for it, as before. The very first sync (no token yet) only learns the rooms:
 * history is never answered, and its token is saved at once. */
#include "core/metrics.h"
#include "net/matrix/mx.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct mx_batch {
	uint64_t seq;
	char *token;               /* a sync batch: its next_batch */
	char *event_id;            /* a command: owed in the store under this id */
	struct mx_batch *parent;   /* a command the store could not record: it blocks this batch */
	int refs;                  /* holds that keep it alive */
	int blocking;              /* sync batch: holds that keep its token from being saved */
	bool saved;                /* sync batch: its token was saved (or a later one was) */
	struct mx_batch *next;
};

/* ---- parsing (pure) ---- */

static const char *str_of(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

int mx_event_parse(json_t *j, struct mx_event *ev)
{
	json_t *rel, *v;

	memset(ev, 0, sizeof(*ev));
	if (!json_is_object(j))
		return HE_PROTO;
	ev->json = j;
	ev->type = str_of(j, "type");
	ev->content = json_object_get(j, "content");
	if (!ev->type || !json_is_object(ev->content))
		return HE_PROTO;
	ev->event_id = str_of(j, "event_id");
	ev->sender = str_of(j, "sender");
	ev->state_key = str_of(j, "state_key");
	v = json_object_get(j, "origin_server_ts");
	ev->ts = json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
	v = json_object_get(j, "unsigned");
	if (json_is_object(v) && json_is_object(json_object_get(v, "prev_content")))
		ev->unsigned_prev = json_object_get(v, "prev_content");
	if (strcmp(ev->type, "m.room.message") == 0) {
		ev->msgtype = str_of(ev->content, "msgtype");
		ev->body = str_of(ev->content, "body");
		rel = json_object_get(ev->content, "m.relates_to");
		if (json_is_object(rel)) {
			ev->rel_type = str_of(rel, "rel_type");
			ev->rel_event = str_of(rel, "event_id");
			ev->in_reply_to = str_of(json_object_get(rel, "m.in_reply_to"), "event_id");
		}
	} else if (strcmp(ev->type, "m.room.member") == 0) {
		ev->membership = str_of(ev->content, "membership");
		ev->displayname = str_of(ev->content, "displayname");
		ev->is_direct = json_is_true(json_object_get(ev->content, "is_direct"));
	}
	return HE_OK;
}

static void walk_events(json_t *list, enum mx_section s, const char *room_id, enum mx_where w,
			const struct mx_sync_ops *ops, void *ud)
{
	struct mx_event ev;
	size_t i;
	json_t *j;

	if (!json_is_array(list) || !ops->room_event)
		return;
	json_array_foreach(list, i, j) {
		if (mx_event_parse(j, &ev) == HE_OK)
			ops->room_event(ud, s, room_id, w, &ev);
	}
}

static void walk_rooms(json_t *rooms, enum mx_section s, const struct mx_sync_ops *ops, void *ud)
{
	const char *room_id;
	json_t *room;

	if (!json_is_object(rooms))
		return;
	json_object_foreach(rooms, room_id, room) {
		if (!json_is_object(room) || room_id[0] != '!')
			continue;
		if (ops->room_begin)
			ops->room_begin(ud, s, room_id, room);
		if (s == MX_INVITE) {
			walk_events(json_object_get(json_object_get(room, "invite_state"), "events"), s,
				    room_id, MX_INVITE_STATE, ops, ud);
		} else {
			walk_events(json_object_get(json_object_get(room, "state"), "events"), s, room_id,
				    MX_STATE, ops, ud);
			walk_events(json_object_get(json_object_get(room, "timeline"), "events"), s,
				    room_id, MX_TIMELINE, ops, ud);
		}
		if (ops->room_end)
			ops->room_end(ud, s, room_id, room);
	}
}

int mx_sync_walk(json_t *root, const struct mx_sync_ops *ops, void *ud)
{
	json_t *v, *rooms, *dl;
	size_t i;

	if (!json_is_object(root) || !json_is_string(json_object_get(root, "next_batch")))
		return HE_PROTO;
	v = json_object_get(json_object_get(root, "account_data"), "events");
	if (json_is_array(v) && ops->account_data) {
		json_t *e;
		json_array_foreach(v, i, e) {
			const char *type = str_of(e, "type");
			json_t *content = json_object_get(e, "content");
			if (type && json_is_object(content))
				ops->account_data(ud, type, content);
		}
	}
	v = json_object_get(json_object_get(root, "to_device"), "events");
	if (json_is_array(v) && json_array_size(v) && ops->to_device)
		ops->to_device(ud, v);
	dl = json_object_get(root, "device_lists");
	if (json_is_object(dl) && ops->device_lists) {
		json_t *ch = json_object_get(dl, "changed"), *left = json_object_get(dl, "left");
		if (json_is_array(ch) || json_is_array(left))
			ops->device_lists(ud, json_is_array(ch) ? ch : NULL, json_is_array(left) ? left : NULL);
	}
	v = json_object_get(root, "device_one_time_keys_count");
	if (ops->key_counts) {
		json_t *fb = json_object_get(root, "device_unused_fallback_key_types");
		if (json_is_object(v) || json_is_array(fb))
			ops->key_counts(ud, json_is_object(v) ? v : NULL, json_is_array(fb) ? fb : NULL);
	}
	rooms = json_object_get(root, "rooms");
	if (json_is_object(rooms)) {
		walk_rooms(json_object_get(rooms, "leave"), MX_LEAVE, ops, ud);
		walk_rooms(json_object_get(rooms, "join"), MX_JOIN, ops, ud);
		walk_rooms(json_object_get(rooms, "invite"), MX_INVITE, ops, ud);
	}
	return HE_OK;
}

const char *mx_strip_reply_fallback(const char *body)
{
	const char *p = body;

	if (strncmp(p, "> <", 3) != 0)
		return body;
	while (*p == '>') {
		p = strchr(p, '\n');
		if (!p)
			return body; /* nothing but quote: keep it all */
		p++;
	}
	if (*p == '\n')
		p++;
	return p;
}

/* (de-duplication, mx_seen_check: handle.c) */

/* ---- batches and the since token ---- */

void mx_batch_hold(struct mx_batch *b)
{
	if (b)
		b->refs++;
}

static void batch_unlink_free(struct mx *mx, struct mx_batch *b)
{
	for (struct mx_batch **pp = &mx->batches; *pp; pp = &(*pp)->next) {
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	}
	free(b->token);
	free(b->event_id);
	free(b);
}

/* Saves the token of the newest sync batch that is walked with nothing blocking it or an
 * earlier one, and frees the saved batches nothing holds any more. */
static void settle(struct mx *mx)
{
	const char *save = NULL;
	struct mx_batch **pp, *b;

	for (b = mx->batches; b; b = b->next) {
		if (!b->token || b->saved)
			continue;
		if (b->blocking > 0)
			break;
		b->saved = true;
		save = b->token;
	}
	if (save && !mx->owed_frozen && mx_kv_set_fenced(mx, "since", save) != HE_OK)
		hlog_warn(MX_MOD, "could not save the sync position; a restart may handle some messages again");
	for (pp = &mx->batches; (b = *pp);) {
		if (b->token && b->saved && b->refs <= 0) {
			*pp = b->next;
			free(b->token);
			free(b);
		} else {
			pp = &b->next;
		}
	}
}

void mx_batch_release(struct mx *mx, struct mx_batch *b)
{
	struct mx_batch *parent;

	if (!b || --b->refs > 0)
		return;
	if (b->token) {
		settle(mx);
		return;
	}
	/* a command: every reply it caused is sent (or dropped for good) */
	if (!mx->owed_frozen && mx_owed_event_done(mx->app->store, b->event_id) != HE_OK)
		hlog_warn(MX_MOD, "could not mark a message as answered in the store; a restart may "
			  "handle it again (its replies are not shown twice)");
	parent = b->parent;
	batch_unlink_free(mx, b);
	mx_batch_unblock(mx, parent);
}

void mx_batch_block(struct mx_batch *b)
{
	if (!b)
		return;
	b->refs++;
	b->blocking++;
}

void mx_batch_unblock(struct mx *mx, struct mx_batch *b)
{
	if (!b)
		return;
	b->blocking--;
	if (b->refs > 1)
		settle(mx);
	mx_batch_release(mx, b);
}

void mx_batches_free(struct mx *mx)
{
	while (mx->batches) {
		struct mx_batch *n = mx->batches->next;
		free(mx->batches->token);
		free(mx->batches->event_id);
		free(mx->batches);
		mx->batches = n;
	}
}

static void batch_append(struct mx *mx, struct mx_batch *b)
{
	struct mx_batch **pp;

	b->seq = ++mx->batch_seq;
	for (pp = &mx->batches; *pp; pp = &(*pp)->next)
		;
	*pp = b;
}

struct mx_batch *mx_batch_sync_new(struct mx *mx, const char *token)
{
	struct mx_batch *b = calloc(1, sizeof(*b));

	if (!b || !(b->token = strdup(token))) {
		free(b);
		return NULL;
	}
	b->refs = 1; /* held, and blocking, while it is being walked */
	b->blocking = 1;
	batch_append(mx, b);
	return b;
}

struct mx_batch *mx_batch_cmd_new(struct mx *mx, const char *event_id, bool recorded,
				struct mx_batch *parent)
{
	struct mx_batch *b = calloc(1, sizeof(*b));

	if (!b || !(b->event_id = strdup(event_id))) {
		free(b);
		return NULL;
	}
	b->refs = 1;
	if (!recorded) {
		b->parent = parent;
		mx_batch_block(parent);
	}
	batch_append(mx, b);
	return b;
}

/* ---- handling one batch ---- */

struct sync_ctx {
	struct mx *mx;
	struct mx_batch *batch;
	bool dispatch;              /* false for the first sync: history is not answered */
	const struct hstamp *t0;     /* when its response was read */
	/* the room being walked */
	struct mx_room *room;
	const char *inviter;
	bool invite_direct;
	const char *left_by;
	const char *left_how;
	long skip_until;            /* timeline index of our own join in this batch, or -1 */
	long tl_index;              /* index of the timeline event being walked */
	bool joined_now, self_out;  /* our join in the state section; we were out in the timeline */
	int64_t join_ts;            /* (our events are filtered out) the join's time */
};

/* The index of our own (new) join in a room's timeline, or -1. Messages before it were
 * written before Hearth was there: history, never answered. */
static long own_join_index(struct mx *mx, json_t *room)
{
	json_t *tl = json_object_get(json_object_get(room, "timeline"), "events"), *e;
	struct mx_event ev;
	long found = -1, n = -1;
	size_t i;

	json_array_foreach(tl, i, e) {
		const char *prev;
		if (mx_event_parse(e, &ev) != HE_OK)
			continue;
		n++; /* counts as walk_events() does: parseable events only */
		if (strcmp(ev.type, "m.room.member") != 0 ||
		    !ev.state_key || strcmp(ev.state_key, mx->user_id) != 0 || !ev.membership ||
		    strcmp(ev.membership, "join") != 0)
			continue;
		prev = json_string_value(json_object_get(ev.unsigned_prev, "membership"));
		if (!prev || strcmp(prev, "join") != 0)
			found = n;
	}
	return found;
}

static void s_account_data(void *ud, const char *type, json_t *content)
{
	struct sync_ctx *sc = ud;

	if (strcmp(type, "m.direct") == 0)
		mx_direct_set(sc->mx, content);
}

static void s_to_device(void *ud, json_t *events)
{
	struct mx *mx = ((struct sync_ctx *)ud)->mx;

	if (mx->crypto && mx->crypto->to_device)
		mx->crypto->to_device(mx->crypto_state, events);
}

static void s_device_lists(void *ud, json_t *changed, json_t *left)
{
	struct mx *mx = ((struct sync_ctx *)ud)->mx;

	if (mx->crypto && mx->crypto->device_lists)
		mx->crypto->device_lists(mx->crypto_state, changed, left);
}

static void s_key_counts(void *ud, json_t *otk, json_t *fallback)
{
	struct mx *mx = ((struct sync_ctx *)ud)->mx;

	if (mx->crypto && mx->crypto->key_counts)
		mx->crypto->key_counts(mx->crypto_state, otk, fallback);
}

static void s_room_begin(void *ud, enum mx_section s, const char *room_id, json_t *room)
{
	struct sync_ctx *sc = ud;

	sc->room = NULL;
	sc->inviter = NULL;
	sc->invite_direct = false;
	sc->left_by = NULL;
	sc->left_how = NULL;
	sc->tl_index = -1;
	sc->skip_until = -1;
	sc->joined_now = sc->self_out = false;
	sc->join_ts = 0;
	if (s != MX_JOIN)
		return;
	sc->skip_until = own_join_index(sc->mx, room);
	if (sc->skip_until < 0)
		sc->joined_now = mx_own_join_in_state(sc->mx, room, &sc->join_ts);
	sc->room = mx_room_add(sc->mx, room_id);
	if (!sc->room)
		return;
	/* just joined, or first seen by this process: the member list may be incomplete */
	if (sc->room->membership != MX_M_JOINED && sc->mx->crypto && sc->mx->crypto->members_stale)
		sc->mx->crypto->members_stale(sc->mx->crypto_state, room_id);
	sc->room->membership = MX_M_JOINED;
	mx_room_apply_summary(sc->room, json_object_get(room, "summary"));
	/* Before its events are walked: the whole member list once per room, and again after a
	 * gap (members who came in the gap may not be in the lazy-loaded state). */
	if ((!sc->room->members_known && !sc->room->members_failed) ||
	    json_is_true(json_object_get(json_object_get(room, "timeline"), "limited")))
		mx_room_members_fetch(sc->mx, sc->room);
}

static void s_room_event(void *ud, enum mx_section s, const char *room_id, enum mx_where w,
			 const struct mx_event *ev)
{
	struct sync_ctx *sc = ud;
	struct mx *mx = sc->mx;
	bool about_us = ev->state_key && strcmp(ev->state_key, mx->user_id) == 0 &&
			strcmp(ev->type, "m.room.member") == 0;

	if (s == MX_INVITE) {
		if (about_us && ev->membership && strcmp(ev->membership, "invite") == 0) {
			sc->inviter = ev->sender;
			sc->invite_direct = ev->is_direct;
		}
		return;
	}
	if (s == MX_LEAVE) {
		if (about_us && ev->membership) {
			sc->left_how = ev->membership;
			sc->left_by = ev->sender;
		}
		return;
	}
	if (!sc->room)
		return;
	if (w == MX_TIMELINE)
		sc->tl_index++;
	if (ev->state_key) {
		mx_room_apply_state(mx, sc->room, ev);
		sc->self_out |= about_us && w == MX_TIMELINE && sc->skip_until < 0 && /* our join: */
				ev->membership && strcmp(ev->membership, "join") != 0; /* filtered */
		if (w == MX_TIMELINE && sc->dispatch && !mx_before_our_join(sc->tl_index, sc->skip_until, sc->joined_now, sc->join_ts, ev) &&
		    strcmp(ev->type, "m.room.member") == 0)
			mx_handle_member(mx, sc->room, ev); /* welcome (care/welcome.c) */
		else if (w == MX_STATE && sc->dispatch && sc->joined_now && about_us)
			mx_handle_member(mx, sc->room, ev); /* our own join, left out of the timeline */
		if (!mx->crypto)
			return;
		if (strcmp(ev->type, "m.room.member") == 0 && ev->membership && mx->crypto->member)
			mx->crypto->member(mx->crypto_state, room_id, ev->state_key, ev->membership);
		else if (strcmp(ev->type, "m.room.encryption") == 0 && !ev->state_key[0] &&
			 mx->crypto->encryption)
			mx->crypto->encryption(mx->crypto_state, room_id, ev->content);
		return;
	}
	if (w != MX_TIMELINE || !sc->dispatch || mx_before_our_join(sc->tl_index, sc->skip_until, sc->joined_now, sc->join_ts, ev))
		return;
	if (strcmp(ev->type, "m.room.message") == 0)
		mx_handle_message(mx, sc->room, ev, sc->batch, sc->t0);
	else if (strcmp(ev->type, "m.room.encrypted") == 0)
		mx_handle_encrypted(mx, sc->room, ev, sc->batch);
	else if (strcmp(ev->type, "m.reaction") == 0 || strcmp(ev->type, "m.room.redaction") == 0)
		mx_react_event(mx, sc->room, ev); /* one-tap check-in answers */
}

/* ---- the gap of a limited timeline ---- */

#define MX_GAP_LIMIT 200 /* events per /messages page */
#define MX_GAP_PAGES 10  /* pages at most: the newest 2,000 messages of a gap */

struct gap_op {
	char *room_id;
	char *from;                /* owed in the store under (room_id, from) */
	char *to;
	json_t *events;            /* the gap's events so far, newest first */
	unsigned pages;
	struct mx_batch *batch;    /* the sync batch (held), or NULL after a restart */
	bool blocking;             /* not recorded: it blocks the batch's token */
};

static void gap_free(struct gap_op *op)
{
	if (!op)
		return;
	free(op->room_id);
	free(op->from);
	free(op->to);
	json_decref(op->events);
	free(op);
}

static bool gap_request(struct mx *mx, struct gap_op *op, const char *from);

/* Keeps a page's events; whether to fetch the page before it: not when this one reached
 * messages older than catch_up_minutes (none before them is answered), the gap's start, or the
 * bound. */
static bool gap_page(struct mx *mx, struct gap_op *op, json_t *chunk, const char *end)
{
	size_t i, n = json_array_size(chunk);
	bool old = false;
	json_t *e;

	json_array_foreach(chunk, i, e) {
		struct mx_event ev;
		if (!old && !mx_too_old(mx, json_integer_value(json_object_get(e, "origin_server_ts")))) {
			json_array_append(op->events, e);
			continue;
		}
		/* newest first: the rest of this page and every page before are older still */
		old = true;
		if (mx_event_parse(e, &ev) == HE_OK && ev.sender && strcmp(ev.sender, mx->user_id) != 0 &&
		    strcmp(ev.type, "m.room.message") == 0)
			mx_log_too_old(mx, op->room_id, &ev);
	}
	if (old || !end || n == 0)
		return false;
	if (++op->pages >= MX_GAP_PAGES) {
		hlog_warn(MX_MOD, "room %s: more than %d messages were missed; the older ones stay "
			  "unanswered", op->room_id, MX_GAP_PAGES * MX_GAP_LIMIT);
		return false;
	}
	return true;
}

static void on_gap(struct mx *mx, int status, json_t *body, const struct hstamp *t_done, void *ud)
{
	struct gap_op *op = ud;
	struct mx_room *r;
	json_t *chunk = json_object_get(body, "chunk");
	struct mx_event ev;
	size_t n;

	if (status == 0 && mx->stopping)
		goto out; /* stopping: still owed after the restart */
	if (status != 200 || !json_is_array(chunk)) {
		hlog_warn(MX_MOD, "room %s: could not fetch the messages I missed (HTTP %d %s); "
			  "only the latest ones were answered", op->room_id, status, mx_errcode(body));
	} else if (gap_page(mx, op, chunk, json_string_value(json_object_get(body, "end"))) &&
		   gap_request(mx, op, json_string_value(json_object_get(body, "end")))) {
		return; /* the page before: this op goes on */
	}
	r = op->batch ? mx_room_get(mx, op->room_id) : mx_room_of_waiting(mx, op->room_id);
	if (r && (n = json_array_size(op->events)) > 0) {
		hlog_info(MX_MOD, "room %s: answering %zu missed events", op->room_id, n);
		/* dir=b: newest first; answer in the order they were written */
		while (n-- > 0) {
			if (mx_event_parse(json_array_get(op->events, n), &ev) != HE_OK || ev.state_key)
				continue;
			if (strcmp(ev.type, "m.room.message") == 0)
				mx_handle_message(mx, r, &ev, op->batch, t_done);
			else if (strcmp(ev.type, "m.room.encrypted") == 0)
				mx_handle_encrypted(mx, r, &ev, op->batch);
		}
	}
	/* every message of the gap is owed on its own now */
	if (!op->blocking && mx_owed_gap_del(mx->app->store, op->room_id, op->from) != HE_OK)
		hlog_warn(MX_MOD, "could not update the store after fetching missed messages");
out:
	if (op->blocking)
		mx_batch_unblock(mx, op->batch);
	else
		mx_batch_release(mx, op->batch);
	gap_free(op);
}

static bool gap_request(struct mx *mx, struct gap_op *op, const char *from)
{
	return mx_http_requestf(mx, "GET", NULL, 0, NULL, MX_HTTP_RETRY, on_gap, op,
				"/_matrix/client/v3/rooms/%s/messages?dir=b&limit=%d&from=%s&to=%s&filter=%s",
				op->room_id, MX_GAP_LIMIT, from, op->to,
				"{\"types\":[\"m.room.message\",\"m.room.encrypted\"]}") != NULL;
}

/* Fetches what a limited timeline left out: /messages backwards from the timeline's start
 * (from) to where the previous sync ended (to), page by page (gap_page says how far). Owed in
 * the store until it is handled; b (the sync batch, or NULL) is held meanwhile. */
static void gap_start(struct mx *mx, const char *room_id, const char *from, const char *to,
		      struct mx_batch *b)
{
	struct gap_op *op = NULL;

	if (!from || !to)
		goto fail;
	op = calloc(1, sizeof(*op));
	if (!op || !(op->room_id = strdup(room_id)) || !(op->from = strdup(from)) ||
	    !(op->to = strdup(to)) || !(op->events = json_array()))
		goto fail;
	op->batch = b;
	op->blocking = b && mx_owed_gap_add(mx->app->store, room_id, from, to) != HE_OK;
	if (!gap_request(mx, op, from))
		goto fail;
	if (op->blocking)
		mx_batch_block(b);
	else
		mx_batch_hold(b);
	if (b)
		hlog_info(MX_MOD, "room %s: more messages arrived while I was away than one sync "
			  "returns; fetching the gap", room_id);
	op = NULL;
	goto out;
fail:
	hlog_warn(MX_MOD, "room %s: more messages arrived while I was away than one sync returns; "
		  "I answered the latest ones, the older ones stay unanswered", room_id);
out:
	gap_free(op);
}

static void s_room_end(void *ud, enum mx_section s, const char *room_id, json_t *room)
{
	struct sync_ctx *sc = ud;
	struct mx *mx = sc->mx;
	char why[200];

	if (s == MX_INVITE) {
		if (sc->inviter)
			mx_room_invited(mx, room_id, sc->inviter, sc->invite_direct, sc->batch);
		return;
	}
	if (s == MX_LEAVE) {
		if (sc->left_how && strcmp(sc->left_how, "ban") == 0)
			snprintf(why, sizeof(why), "banned by %s", sc->left_by ? sc->left_by : "someone");
		else if (sc->left_by && strcmp(sc->left_by, mx->user_id) != 0)
			snprintf(why, sizeof(why), "removed by %s", sc->left_by);
		else
			snprintf(why, sizeof(why), "left");
		mx_room_left(mx, room_id, why);
		return;
	}
	if (sc->room && sc->self_out) { /* we are in (the join section says so), after the invite */
		mx_self_joined(mx, sc->room, sc->dispatch && !sc->joined_now);
		sc->joined_now = true;
	}
	/* limited is normal for a room joined in this batch; otherwise events were left out */
	if (json_is_true(json_object_get(json_object_get(room, "timeline"), "limited"))) {
		/* members who came or went in the gap may not be in the (lazy-loaded) state */
		if (mx->crypto && mx->crypto->members_stale)
			mx->crypto->members_stale(mx->crypto_state, room_id);
		if (sc->dispatch && sc->skip_until < 0 && !sc->joined_now)
			gap_start(mx, room_id, json_string_value(json_object_get(
				json_object_get(room, "timeline"), "prev_batch")), mx->since, sc->batch);
	}
}

static const struct mx_sync_ops sync_ops = {
	.account_data = s_account_data,
	.to_device = s_to_device,
	.device_lists = s_device_lists,
	.key_counts = s_key_counts,
	.room_begin = s_room_begin,
	.room_event = s_room_event,
	.room_end = s_room_end,
};

/* ---- the long poll ---- */

static void sync_next(struct mx *mx);

static void on_sync_retry(struct loop *l, void *ud)
{
	struct mx *mx = ud;

	mx->sync_timer = 0;
	sync_next(mx);
}

/* The long poll is what keeps Hearth on Matrix: it never stops quietly. */
static void retry_sync(struct mx *mx, uint64_t ms)
{
	int rc = loop_timer_add(mx->loop, ms, on_sync_retry, mx, &mx->sync_timer);

	if (rc)
		happ_fail(mx->app, MX_MOD, "cannot arm the sync retry", rc);
}

static void on_sync(struct mx *mx, int status, json_t *body, const struct hstamp *t_done, void *ud)
{
	struct sync_ctx sc = { .mx = mx, .t0 = t_done };
	const char *next;
	char *since;

	mx->sync_req = NULL;
	next = json_string_value(json_object_get(body, "next_batch"));
	if (status != 200 || !next) {
		hlog_warn(MX_MOD, "sync failed (HTTP %d %s); trying again", status, mx_errcode(body));
		metrics_matrix_sync(false);
		retry_sync(mx, mx_backoff_ms(mx->sync_failures++, 0x7fffffffu));
		return;
	}
	metrics_matrix_sync(true);
	if (mx->sync_failures)
		hlog_info(MX_MOD, "connected to the homeserver again");
	mx->sync_failures = 0;
	sc.batch = mx_batch_sync_new(mx, next);
	since = strdup(next);
	if (!sc.batch || !since) {
		free(since);
		hlog_error(MX_MOD, "out of memory handling a sync; trying again");
		retry_sync(mx, 1000);
		return;
	}
	sc.dispatch = mx->synced_once;
	mx_sync_walk(body, &sync_ops, &sc);
	if (mx->crypto && mx->crypto->sync_done)
		mx->crypto->sync_done(mx->crypto_state, sc.batch);
	free(mx->since);
	mx->since = since;
	if (!mx->synced_once)
		mx_rooms_fresh_mark(mx); /* the invites waiting from before: still to be read */
	/* walked: what it started is owed in the store, so its token is saved now */
	mx_batch_unblock(mx, sc.batch);
	if (!mx->synced_once) {
		/* it brought no room (matrix.c's first filter): the rooms are listed and their state
		 * fetched (rooms_fetch.c), and the loop goes on once the list is read */
		hlog_info(MX_MOD, "first sync done: answering messages from now on");
		mx->synced_once = true;
		mx_rooms_fresh_start(mx);
		return;
	}
	mx_react_resume(mx); /* once: check-ins a restart left without their scale (react.c) */
	if (!mx->stopping)
		sync_next(mx);
}

void mx_sync_continue(struct mx *mx)
{
	sync_next(mx);
}

static void sync_next(struct mx *mx)
{
	const char *filter = mx->filter_id ? mx->filter_id : "";
	int timeout = mx->synced_once ? MX_SYNC_TIMEOUT_MS : 0;

	if (mx->stopping || mx->sync_req)
		return;
	if (mx->since)
		mx->sync_req = mx_http_requestf(mx, "GET", NULL, 0, NULL, MX_HTTP_RETRY | MX_HTTP_SYNC,
						on_sync, NULL, "/_matrix/client/v3/sync?filter=%s&timeout=%d&since=%s",
						filter, timeout, mx->since);
	else /* the first sync of a fresh data folder: its own filter of no room (matrix.c) */
		mx->sync_req = mx_http_requestf(mx, "GET", NULL, 0, NULL,
						MX_HTTP_RETRY | MX_HTTP_SYNC | MX_HTTP_FIRST,
						on_sync, NULL, "/_matrix/client/v3/sync?filter=%s&timeout=%d",
						mx->first_filter ? mx->first_filter : filter, timeout);
	if (!mx->sync_req)
		retry_sync(mx, 1000);
}

/* ---- what was owed when Hearth stopped ---- */

struct owed_op {
	char *room_id;
	char *event_id;
};

static void on_owed_event(struct mx *mx, int status, json_t *body, const struct hstamp *t_done, void *ud)
{
	struct owed_op *op = ud;
	struct mx_event ev;
	struct mx_room *r;
	int taken = 0;

	if (status == 200 && mx_event_parse(body, &ev) == HE_OK && ev.event_id &&
	    strcmp(ev.event_id, op->event_id) == 0) {
		r = mx_room_of_waiting(mx, op->room_id);
		if (r && strcmp(ev.type, "m.room.message") == 0)
			taken = mx_handle_message(mx, r, &ev, NULL, t_done) ? 1 : 0;
		else if (r && strcmp(ev.type, "m.room.encrypted") == 0)
			taken = mx_handle_encrypted(mx, r, &ev, NULL); /* -1: handed back later */
		if (!taken)
			hlog_info(MX_MOD, "an earlier message in %s cannot be answered any more",
				  op->room_id);
	} else if (status != 0) {
		/* redacted, or the room is gone: nothing left to answer */
		hlog_info(MX_MOD, "an earlier message in %s cannot be read any more (HTTP %d %s); "
			  "it stays unanswered", op->room_id, status, mx_errcode(body));
	}
	if (!taken && status != 0 && mx_owed_event_done(mx->app->store, op->event_id) != HE_OK)
		hlog_warn(MX_MOD, "could not update the store for an earlier message");
	free(op->room_id);
	free(op->event_id);
	free(op);
}

/* Messages that were handed to the core but not fully answered are fetched again and handled
 * (their replies keep their transaction ids); missed messages not fetched yet are fetched. */
static void owed_resume(struct mx *mx)
{
	json_t *list = NULL, *v;
	struct owed_op *op;
	size_t i, n = 0;

	if (mx_owed_events_open(mx->app->store, &list) == HE_OK) {
		json_array_foreach(list, i, v) {
			const char *room_id = json_string_value(json_object_get(v, "room_id"));
			const char *event_id = json_string_value(json_object_get(v, "event_id"));
			if (!room_id || !event_id)
				continue;
			op = calloc(1, sizeof(*op));
			if (op && (op->room_id = strdup(room_id)) && (op->event_id = strdup(event_id))) {
				if (mx_http_requestf(mx, "GET", NULL, 0, NULL, MX_HTTP_RETRY, on_owed_event, op,
						     "/_matrix/client/v3/rooms/%s/event/%s", room_id, event_id)) {
					op = NULL;
					n++;
				}
			}
			if (op) {
				free(op->room_id);
				free(op->event_id);
				free(op);
				hlog_error(MX_MOD, "out of memory fetching an earlier message again");
			}
		}
		if (n)
			hlog_info(MX_MOD, "%zu earlier message%s not fully answered yet: answering now", n,
				  n == 1 ? " was" : "s were");
	} else {
		hlog_warn(MX_MOD, "could not read the messages still owed from the store");
	}
	json_decref(list);
	list = NULL;
	if (mx_owed_gaps(mx->app->store, &list) == HE_OK) {
		json_array_foreach(list, i, v) {
			const char *room_id = json_string_value(json_object_get(v, "room_id"));
			if (room_id)
				gap_start(mx, room_id, json_string_value(json_object_get(v, "from")),
					  json_string_value(json_object_get(v, "to")), NULL);
		}
	}
	json_decref(list);
}

int mx_sync_start(struct mx *mx)
{
	char *since = NULL;

	if (store_kv_get(mx->app->store, MX_MOD, "since", &since) == HE_OK && since && *since) {
		mx->since = since;
		mx->synced_once = true;
		hlog_info(MX_MOD, "continuing from the last handled sync");
		owed_resume(mx);
		mx_rooms_resume_listing(mx);
	} else {
		free(since);
		hlog_info(MX_MOD, "no sync position yet: learning the rooms, earlier messages stay unanswered");
	}
	mx_joins_resume(mx);
	sync_next(mx);
	return HE_OK;
}

void mx_sync_stop(struct mx *mx)
{
	if (mx->sync_timer)
		loop_timer_cancel(mx->loop, mx->sync_timer);
	mx->sync_timer = 0;
	mx_http_cancel(mx, mx->sync_req);
	mx->sync_req = NULL;
}
