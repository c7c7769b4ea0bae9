/* rooms_fetch.c - each room's whole state, fetched at most MX_FETCH_INFLIGHT at a time, and the
 * start of a fresh data folder.
 *
 * A fresh data folder (no sync position) does not wait for a first /sync of every room: with
 * 1,000 rooms a homeserver takes minutes to build it and the body is one big tree. Instead:
 *   1. a first /sync whose filter leaves out every room (matrix.c) gives a position at once;
 *   2. GET /joined_rooms (ids only) lists the rooms; each room's state (GET /rooms/X/state:
 *      members, power levels, creator, encryption, tombstone) is fetched through the queue, a
 *      room a message waits on first; the sync loop goes on from the position once the list
 *      is read (a leave after it comes in a later sync and is applied after);
 *   3. the invites that were waiting before the start come from a listing of their own (MSC4186
 *      sliding sync, filtered to invites; else one /sync of empty rooms, only its invites read),
 *      which does not hold back anything; until it is done the store says so ("invites_listed"
 *      = "0"), and a restart lists them again.
 * As before, a fresh folder answers no message sent before the start. */
#include "net/matrix/mx.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

/* The invites' /sync (without MSC4186): no events of any room, no account data; an invite's
 * stripped state is no state section, so it still comes. */
#define MX_INVITES_FILTER \
	"{\"account_data\":{\"types\":[]},\"presence\":{\"types\":[]},\"room\":{" \
	"\"account_data\":{\"types\":[]},\"ephemeral\":{\"types\":[]},\"state\":{" \
	"\"lazy_load_members\":true,\"types\":[]},\"timeline\":{\"limit\":1,\"types\":[]}}}"

static void set_str(char **dst, const char *v)
{
	char *c = v ? strdup(v) : NULL;

	if (v && !c)
		return;
	free(*dst);
	*dst = c;
}

/* ---- the whole state of one room ---- */

/* The rest of the room's state from the same fetch: power levels, creator and encryption when
 * this process has not seen them (after a restart an incremental sync only brings changes, so
 * moderators would otherwise count as members until the power levels change). What /sync said
 * is newer and stays. */
static void state_once(struct mx *mx, struct mx_room *r, const struct mx_event *ev)
{
	if (strcmp(ev->type, "m.room.power_levels") == 0 && !r->power_levels) {
		r->power_levels = mx_pl_keep(ev->content);
	} else if (strcmp(ev->type, "m.room.create") == 0 && !r->creator) {
		const char *c = json_string_value(json_object_get(ev->content, "creator"));
		set_str(&r->creator, c ? c : ev->sender);
	} else if (strcmp(ev->type, "m.room.encryption") == 0 && !r->encrypted &&
		   json_string_value(json_object_get(ev->content, "algorithm"))) {
		r->encrypted = true;
		if (mx->crypto && mx->crypto->encryption)
			mx->crypto->encryption(mx->crypto_state, r->id, ev->content);
	} else if (strcmp(ev->type, "m.room.tombstone") == 0 && r->listed) {
		/* a room of a fresh start's list: no sync brought its state, this fetch stands for it
		 * (after a restart, an old tombstone is not acted on again) */
		const char *to = json_string_value(json_object_get(ev->content, "replacement_room"));
		if (to && to[0] == '!' && strlen(to) <= MX_ROOM_ID_MAX && !mx_room_get(mx, to)) {
			hlog_info(MX_MOD, "room %s was upgraded to %s: joining it", r->id, to);
			mx_room_join(mx, to, NULL);
		}
	}
}

/* An encrypted room's members from its fetched state, for the crypto module (whose room keys
 * go to every member's devices): what the state section of a first /sync used to tell it. */
static void crypto_members(struct mx *mx, struct mx_room *r)
{
	const char *user;
	json_t *v;

	if (!r->encrypted || !mx->crypto || !mx->crypto->member)
		return;
	json_object_foreach(r->members, user, v)
		mx->crypto->member(mx->crypto_state, r->id, user, json_string_value(v));
}

void mx_room_fetched(struct mx *mx, int status, json_t *body, const struct hstamp *t, void *ud)
{
	struct mx_room *r = ud;
	json_t *chunk = body, *fresh = NULL, *e, *v;
	struct mx_event ev;
	const char *user;
	size_t i;

	r->members_req = NULL;
	mx->fetch_inflight--;
	if (status == 200 && json_is_array(chunk) && json_array_size(chunk) <= MX_MEMBERS_MAX &&
	    (fresh = json_object())) {
		json_array_foreach(chunk, i, e) {
			if (mx_event_parse(e, &ev) != HE_OK || !ev.state_key)
				continue;
			if (strcmp(ev.type, "m.room.member") == 0) {
				if (ev.membership && (strcmp(ev.membership, "join") == 0 ||
						      strcmp(ev.membership, "invite") == 0))
					json_object_set_new(fresh, ev.state_key, json_string(ev.membership));
			} else if (!ev.state_key[0]) {
				state_once(mx, r, &ev);
			}
		}
		/* what /sync said while the fetch was on its way is newer */
		json_object_foreach(r->members_touched, user, v) {
			json_t *now = json_object_get(r->members, user);
			if (now)
				json_object_set(fresh, user, now);
			else
				json_object_del(fresh, user);
		}
		json_decref(r->members);
		r->members = fresh;
		r->members_known = true;
		r->members_failed = false;
		crypto_members(mx, r);
		if (r->maybe_joined && r->membership == MX_M_NONE &&
		    json_object_get(fresh, mx->user_id) &&
		    strcmp(json_string_value(json_object_get(fresh, mx->user_id)), "join") == 0)
			r->membership = MX_M_JOINED; /* a room from m.direct: we are in it */
		hlog_debug(MX_MOD, "room %s: %zu members joined or invited", r->id,
			   json_object_size(fresh));
	} else {
		hlog_warn(MX_MOD, "room %s: could not read its member list (HTTP %d %s); it counts as "
			  "a group room", r->id, status, mx_errcode(body));
		r->members_failed = true;
	}
	json_object_clear(r->members_touched);
	mx_sync_members_ready(mx, r);
	mx_send_kick(mx, r);
	mx_rooms_fetch_next(mx);
}

void mx_room_fetch_unqueue(struct mx *mx, struct mx_room *r)
{
	if (!r->fetch_queued)
		return;
	for (struct mx_room **pp = &mx->fetch_head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->fetch_next) {
		if (*pp != r)
			continue;
		*pp = r->fetch_next;
		if (mx->fetch_tail == r)
			mx->fetch_tail = prev;
		break;
	}
	r->fetch_next = NULL;
	r->fetch_queued = false;
}

static int fetch_issue(struct mx *mx, struct mx_room *r)
{
	/* the whole state: members, and the power levels a restart would not otherwise bring */
	json_object_clear(r->members_touched);
	r->members_failed = false;
	r->members_req = mx_http_requestf(mx, "GET", NULL, 0, NULL, MX_HTTP_RETRY, mx_room_fetched, r,
					  "/_matrix/client/v3/rooms/%s/state", r->id);
	if (r->members_req) {
		mx->fetch_inflight++;
		return HE_OK;
	}
	hlog_warn(MX_MOD, "room %s: out of memory reading its member list; it counts as a group room",
		  r->id);
	r->members_failed = true;
	return HE_NOMEM;
}

void mx_rooms_fetch_next(struct mx *mx)
{
	while (mx->fetch_head && mx->fetch_inflight < MX_FETCH_INFLIGHT) {
		struct mx_room *r = mx->fetch_head;
		mx_room_fetch_unqueue(mx, r);
		if (fetch_issue(mx, r) != HE_OK) {
			/* what waited on it goes on as in a group room */
			mx_sync_members_ready(mx, r);
			mx_send_kick(mx, r);
		}
	}
	if (mx->list_reading && !mx->fetch_head && !mx->fetch_inflight) {
		mx->list_reading = false;
		hlog_info(MX_MOD, "read the state of the %zu rooms I am in", mx->nrooms);
		mx_rooms_first_sync_done(mx); /* what the fetches' bodies grew goes back */
	}
}

static void on_trim(struct loop *l, void *ud)
{
	malloc_trim(0);
}

/* At the next turn of the loop: the body's tree is freed by then (the sync callback runs before
 * its body is released). */
void mx_rooms_first_sync_done(struct mx *mx)
{
	uint64_t id;

	if (loop_timer_add(mx->loop, 0, on_trim, NULL, &id) != HE_OK)
		malloc_trim(0);
}

/* A room someone waits on (a message held for its member list, a reply queued) is fetched at
 * once; the others (every room a first sync brings) wait for one of MX_FETCH_INFLIGHT slots, in
 * the order they came. */
int mx_room_members_fetch(struct mx *mx, struct mx_room *r)
{
	bool waited_on = r->npend > 0 || r->outq != NULL;

	if (r->members_req)
		return HE_OK;
	if (waited_on) {
		mx_room_fetch_unqueue(mx, r);
		return fetch_issue(mx, r);
	}
	if (!r->fetch_queued && mx->fetch_inflight >= MX_FETCH_INFLIGHT) {
		r->fetch_queued = true;
		r->fetch_next = NULL;
		if (mx->fetch_tail)
			mx->fetch_tail->fetch_next = r;
		else
			mx->fetch_head = r;
		mx->fetch_tail = r;
	}
	if (r->fetch_queued)
		return HE_OK;
	return fetch_issue(mx, r);
}


/* ---- a fresh start: the rooms from GET /joined_rooms ---- */

static bool room_id_ok(const char *id)
{
	return id && id[0] == '!' && strnlen(id, MX_ROOM_ID_MAX + 1) <= MX_ROOM_ID_MAX &&
	       strchr(id, ':');
}

int mx_rooms_listed(struct mx *mx, json_t *body)
{
	json_t *ids = json_object_get(body, "joined_rooms"), *v;
	size_t i, n = 0, bad = 0;
	struct mx_room *r;

	if (!json_is_array(ids))
		return HE_PROTO;
	json_array_foreach(ids, i, v) {
		const char *id = json_string_value(v);
		if (n >= MX_LIST_ROOMS_MAX) {
			hlog_warn(MX_MOD, "the homeserver lists %zu rooms: the first %d are read now, "
				  "the others when a message comes", json_array_size(ids), MX_LIST_ROOMS_MAX);
			break;
		}
		if (!room_id_ok(id)) {
			bad++;
			continue;
		}
		if (!(r = mx_room_add(mx, id)))
			return HE_NOMEM;
		n++;
		if (r->membership != MX_M_JOINED) {
			r->membership = MX_M_JOINED;
			r->listed = true;
			/* first seen by this process: the crypto module reads its members if encrypted */
			if (mx->crypto && mx->crypto->members_stale)
				mx->crypto->members_stale(mx->crypto_state, id);
		}
		if (!r->members_known && !r->members_failed)
			mx_room_members_fetch(mx, r); /* queued: MX_FETCH_INFLIGHT at a time */
	}
	if (bad)
		hlog_warn(MX_MOD, "the homeserver's list of my rooms had %zu entries that are no room "
			  "id: left out", bad);
	return (int)n;
}

static void on_joined_rooms(struct mx *mx, int status, json_t *body, const struct hstamp *t,
			    void *ud)
{
	int n = status == 200 ? mx_rooms_listed(mx, body) : HE_PROTO;

	mx->list_req = NULL;
	if (n < 0)
		hlog_warn(MX_MOD, "could not list the rooms I am in (HTTP %d %s): each one is read "
			  "when a message comes", status, mx_errcode(body));
	else
		hlog_info(MX_MOD, "in %d room%s: reading their state, %d at a time", n,
			  n == 1 ? "" : "s", MX_FETCH_INFLIGHT);
	mx->list_reading = n > 0;
	mx_rooms_fetch_next(mx); /* says so at once when no room needed a fetch */
	mx_sync_continue(mx);
}

/* ---- a fresh start: the invites that were waiting ---- */

/* One invited room's stripped state (an array of events): when it invites us, handled as an
 * invite of a sync (allowed inviters, the bound on joins). */
static void invite_seen(struct mx *mx, const char *room_id, json_t *events, size_t *n)
{
	const char *inviter = NULL;
	bool direct = false;
	struct mx_event ev;
	json_t *e;
	size_t i;

	if (!room_id_ok(room_id) || !json_is_array(events))
		return;
	json_array_foreach(events, i, e) {
		if (mx_event_parse(e, &ev) != HE_OK || !ev.state_key || !ev.sender ||
		    strcmp(ev.type, "m.room.member") != 0 || strcmp(ev.state_key, mx->user_id) != 0)
			continue;
		if (ev.membership && strcmp(ev.membership, "invite") == 0) {
			inviter = ev.sender;
			direct = ev.is_direct;
		} else {
			inviter = NULL; /* a later event says otherwise */
		}
	}
	if (!inviter)
		return;
	(*n)++;
	mx_room_invited(mx, room_id, inviter, direct, NULL);
}

static void invites_done(struct mx *mx, size_t n)
{
	if (n)
		hlog_info(MX_MOD, "%zu invite%s from before the start", n, n == 1 ? " was waiting" :
			  "s were waiting");
	if (mx_kv_set_fenced(mx, "invites_listed", "1") != HE_OK)
		hlog_warn(MX_MOD, "could not save that the waiting invites were read");
}

/* rooms: {room id: room}; each room's stripped state at path (one key, or two). */
static void invites_walk(struct mx *mx, json_t *rooms, const char *k1, const char *k2)
{
	const char *room_id;
	json_t *room, *events;
	size_t n = 0, seen = 0;

	json_object_foreach(rooms, room_id, room) {
		if (++seen > MX_LIST_INVITES)
			break; /* a homeserver's answer to a bounded request, bounded */
		events = json_object_get(room, k1);
		if (k2)
			events = json_object_get(events, k2);
		invite_seen(mx, room_id, events, &n);
	}
	invites_done(mx, n);
}

static void on_invites_sync(struct mx *mx, int status, json_t *body, const struct hstamp *t,
			    void *ud)
{
	mx->invites_req = NULL;
	if (status != 200 || !json_is_object(body)) {
		hlog_warn(MX_MOD, "could not read the invites waiting from before the start (HTTP %d "
			  "%s): they are read again at the next start", status, mx_errcode(body));
		return;
	}
	invites_walk(mx, json_object_get(json_object_get(body, "rooms"), "invite"), "invite_state",
		     "events");
	mx_rooms_first_sync_done(mx); /* the memory of its body back */
}

/* Homeservers without MSC4186: a /sync without a position whose rooms bring no events (the
 * homeserver still walks every room, so this may take a minute; nothing waits for it). */
static void invites_by_sync(struct mx *mx)
{
	mx->invites_req = mx_http_requestf(mx, "GET", NULL, 0, NULL,
					   MX_HTTP_RETRY | MX_HTTP_SYNC | MX_HTTP_FIRST,
					   on_invites_sync, NULL, "/_matrix/client/v3/sync?filter=%s&timeout=0",
					   MX_INVITES_FILTER);
	if (!mx->invites_req)
		hlog_error(MX_MOD, "out of memory reading the waiting invites");
}

void mx_rooms_invites_answer(struct mx *mx, int status, json_t *body, const struct hstamp *t,
			     void *ud)
{
	mx->invites_req = NULL;
	if (status == 200 && json_is_object(json_object_get(body, "rooms"))) {
		invites_walk(mx, json_object_get(body, "rooms"), "invite_state", NULL);
		return;
	}
	if (mx->stopping)
		return;
	hlog_debug(MX_MOD, "no sliding sync (HTTP %d %s): the waiting invites from a /sync",
		   status, mx_errcode(body));
	invites_by_sync(mx);
}

void mx_rooms_invites_start(struct mx *mx)
{
	json_t *req;

	if (mx->invites_req)
		return;
	req = json_pack("{s:{s:{s:[[i,i]], s:{s:b}, s:i, s:[]}}}", "lists", "invites", "ranges", 0,
			MX_LIST_INVITES - 1, "filters", "is_invite", 1, "timeline_limit", 0,
			"required_state");
	if (req)
		mx->invites_req = mx_http_jsonf(mx, "POST", req, MX_HTTP_RETRY, mx_rooms_invites_answer, NULL,
						"/_matrix/client/unstable/org.matrix.simplified_msc3575/sync?timeout=0");
	json_decref(req);
	if (!mx->invites_req)
		invites_by_sync(mx);
}

void mx_rooms_fresh_mark(struct mx *mx)
{
	if (mx_kv_set_fenced(mx, "invites_listed", "0") != HE_OK)
		hlog_warn(MX_MOD, "could not save that the waiting invites are still to be read");
}

void mx_rooms_fresh_start(struct mx *mx)
{
	mx_rooms_invites_start(mx);
	mx->list_req = mx_http_requestf(mx, "GET", NULL, 0, NULL, 0, on_joined_rooms, NULL,
					"/_matrix/client/v3/joined_rooms");
	if (!mx->list_req) {
		hlog_error(MX_MOD, "out of memory listing my rooms: each one is read when a message comes");
		mx_sync_continue(mx);
	}
}

void mx_rooms_resume_listing(struct mx *mx)
{
	char *v = NULL;

	if (store_kv_get(mx->app->store, MX_MOD, "invites_listed", &v) == HE_OK && v &&
	    strcmp(v, "0") == 0) {
		hlog_info(MX_MOD, "reading the invites waiting from before the first start again");
		mx_rooms_invites_start(mx);
	}
	free(v);
}
