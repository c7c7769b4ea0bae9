/* test_mx_rooms.c - many rooms (issue 15.3): the state fetches of a fresh start (one per
 * room) go at most MX_FETCH_INFLIGHT at a time, a room a message waits on is fetched at once,
 * and a room that goes frees its place; a fresh start lists its rooms from /joined_rooms and
 * its waiting invites from a listing of their own, a hostile homeserver's lists capped; an
 * unprompted post (a moderators' alert) into a room quiet since the start goes out, one into a
 * room this process saw Hearth leave does not, and an invite there is still joined. The
 * requests go to a closed port and the loop is never run: what is in flight is what was handed
 * to curl, and a homeserver's answers are handed to the callbacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/loop.h"
#include "net/matrix/mx.h"
#include "store/store.h"
#include "testapp.h"

#define N 20

static void counts(struct mx *mx, struct mx_room **r, unsigned *inflight, unsigned *queued)
{
	*inflight = *queued = 0;
	for (int i = 0; i < N; i++) {
		if (!r[i])
			continue;
		*inflight += r[i]->members_req != NULL;
		*queued += r[i]->fetch_queued;
		assert_false(r[i]->members_req && r[i]->fetch_queued);
	}
	assert_int_equal(*inflight, mx->fetch_inflight);
}

static void test_fetches_bounded(void **state)
{
	struct mx *mx = calloc(1, sizeof(*mx));
	struct mx_room *r[N];
	unsigned inflight, queued;
	char id[64];

	assert_non_null(mx);
	assert_int_equal(loop_new(&mx->loop), HE_OK);
	mx->hs = strdup("http://127.0.0.1:9");
	assert_int_equal(mx_http_init(mx), HE_OK);
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "!room%d:example.org", i);
		assert_non_null(r[i] = mx_room_add(mx, id));
		assert_int_equal(mx_room_members_fetch(mx, r[i]), HE_OK);
	}
	/* a first sync's 20 rooms: 4 fetched, 16 waiting, in the order they came */
	counts(mx, r, &inflight, &queued);
	assert_int_equal(inflight, MX_FETCH_INFLIGHT);
	assert_int_equal(queued, N - MX_FETCH_INFLIGHT);
	assert_ptr_equal(mx->fetch_head, r[MX_FETCH_INFLIGHT]);
	assert_ptr_equal(mx->fetch_tail, r[N - 1]);
	/* asked again (a limited timeline): still one fetch each */
	assert_int_equal(mx_room_members_fetch(mx, r[0]), HE_OK);
	assert_int_equal(mx_room_members_fetch(mx, r[10]), HE_OK);
	counts(mx, r, &inflight, &queued);
	assert_int_equal(inflight, MX_FETCH_INFLIGHT);

	/* a command waits in room 15 for its member list: fetched now, past the queue */
	r[15]->npend = 1;
	assert_int_equal(mx_room_members_fetch(mx, r[15]), HE_OK);
	r[15]->npend = 0;
	assert_non_null(r[15]->members_req);
	assert_false(r[15]->fetch_queued);
	counts(mx, r, &inflight, &queued);
	assert_int_equal(inflight, MX_FETCH_INFLIGHT + 1);
	assert_int_equal(queued, N - MX_FETCH_INFLIGHT - 1);

	/* a queued room left: out of the queue (the last one: the tail moves back) */
	mx_room_remove(mx, "!room19:example.org");
	r[19] = NULL;
	assert_ptr_equal(mx->fetch_tail, r[18]);
	counts(mx, r, &inflight, &queued);
	assert_int_equal(queued, N - MX_FETCH_INFLIGHT - 2);

	/* rooms being fetched left: their places go to the next in the queue */
	mx_room_remove(mx, "!room0:example.org");
	mx_room_remove(mx, "!room1:example.org");
	r[0] = r[1] = NULL;
	counts(mx, r, &inflight, &queued);
	assert_int_equal(inflight, MX_FETCH_INFLIGHT); /* 2, 3, 15 and now 4 */
	assert_non_null(r[4]->members_req);
	assert_null(r[5]->members_req);
	assert_ptr_equal(mx->fetch_head, r[5]);
	mx_room_remove(mx, "!room2:example.org");
	mx_room_remove(mx, "!room3:example.org");
	mx_room_remove(mx, "!room15:example.org");
	r[2] = r[3] = r[15] = NULL;
	counts(mx, r, &inflight, &queued);
	assert_int_equal(inflight, MX_FETCH_INFLIGHT); /* 4, 5, 6, 7 */
	assert_non_null(r[7]->members_req);
	assert_ptr_equal(mx->fetch_head, r[8]);

	mx_rooms_free(mx);
	assert_null(mx->fetch_head);
	assert_int_equal(mx->fetch_inflight, 0);
	mx_http_free(mx);
	loop_free(mx->loop);
	free(mx->hs);
	free(mx);
}

/* A room's power levels keep only what decides a level (users, users_default): the event
 * levels and the rest are not held for each of 1,000 rooms. The levels read are the same. */
static void test_power_levels_kept_small(void **state)
{
	static struct mx mx; /* zeroed */
	struct mx_room *r = mx_room_add(&mx, "!pl:example.org");
	json_t *j = json_loads("{\"type\":\"m.room.power_levels\",\"state_key\":\"\","
			       "\"sender\":\"@a:x\",\"event_id\":\"$1\",\"content\":{"
			       "\"users\":{\"@a:x\":100,\"@mod:x\":50},\"users_default\":5,"
			       "\"events\":{\"m.room.name\":50,\"m.room.topic\":50},"
			       "\"ban\":50,\"kick\":50,\"redact\":50,\"state_default\":50,"
			       "\"notifications\":{\"room\":50}}}", 0, NULL);
	struct mx_event ev;

	assert_non_null(r);
	assert_non_null(j);
	assert_int_equal(mx_event_parse(j, &ev), HE_OK);
	mx_room_apply_state(&mx, r, &ev);
	assert_non_null(r->power_levels);
	assert_int_equal(json_object_size(r->power_levels), 2);
	assert_null(json_object_get(r->power_levels, "events"));
	assert_int_equal(mx_power_level(r->power_levels, NULL, "@a:x"), 100);
	assert_int_equal(mx_power_level(r->power_levels, NULL, "@mod:x"), 50);
	assert_int_equal(mx_power_level(r->power_levels, NULL, "@someone:x"), 5);
	json_decref(j);
	mx_rooms_free(&mx);
}

/* Our own events are left out of the timeline (the sync filter's not_senders): our own join
 * is found in the state section, and history before it is told by unsigned.membership, else
 * by time. A homeserver (or member) cannot make an old join look new, nor a message after the
 * join look like history without saying so. */
static void test_own_join_without_echo(void **state)
{
	struct mx mx = { .user_id = (char *)"@hearth:hs" };
	json_error_t err;
	int64_t ts = 0;
	json_t *room = json_loads("{\"state\":{\"events\":["
		"{\"type\":\"m.room.member\",\"state_key\":\"@m:hs\",\"sender\":\"@m:hs\","
		"\"origin_server_ts\":5,\"content\":{\"membership\":\"join\"}},"
		"{\"type\":\"m.room.member\",\"state_key\":\"@hearth:hs\",\"sender\":\"@hearth:hs\","
		"\"origin_server_ts\":100,\"content\":{\"membership\":\"join\"},"
		"\"unsigned\":{\"prev_content\":{\"membership\":\"invite\"}}}]}}", 0, &err);
	json_t *old = json_loads("{\"state\":{\"events\":["
		"{\"type\":\"m.room.member\",\"state_key\":\"@hearth:hs\",\"sender\":\"@hearth:hs\","
		"\"origin_server_ts\":100,\"content\":{\"membership\":\"join\",\"displayname\":\"H\"},"
		"\"unsigned\":{\"prev_content\":{\"membership\":\"join\"}}}]}}", 0, &err);
	const char *evs[] = {
		"{\"type\":\"m.room.message\",\"sender\":\"@m:hs\",\"origin_server_ts\":50,"
		"\"content\":{\"body\":\"!x\"},\"unsigned\":{\"membership\":\"invite\"}}",
		"{\"type\":\"m.room.message\",\"sender\":\"@m:hs\",\"origin_server_ts\":150,"
		"\"content\":{\"body\":\"!x\"},\"unsigned\":{\"membership\":\"join\"}}",
		"{\"type\":\"m.room.message\",\"sender\":\"@m:hs\",\"origin_server_ts\":50,"
		"\"content\":{\"body\":\"!x\"}}",
		"{\"type\":\"m.room.message\",\"sender\":\"@m:hs\",\"origin_server_ts\":150,"
		"\"content\":{\"body\":\"!x\"}}",
	};
	struct mx_event ev[4];
	json_t *j[4];

	assert_non_null(room);
	assert_non_null(old);
	assert_true(mx_own_join_in_state(&mx, room, &ts));
	assert_int_equal(ts, 100);
	assert_false(mx_own_join_in_state(&mx, old, &ts)); /* a new display name, not a join */
	for (int i = 0; i < 4; i++) {
		j[i] = json_loads(evs[i], 0, &err);
		assert_non_null(j[i]);
		assert_int_equal(mx_event_parse(j[i], &ev[i]), HE_OK);
	}
	/* joined in this batch: the homeserver's membership first, then time */
	assert_true(mx_before_our_join(0, -1, true, 100, &ev[0]));
	assert_false(mx_before_our_join(0, -1, true, 100, &ev[1]));
	assert_true(mx_before_our_join(0, -1, true, 100, &ev[2]));
	assert_false(mx_before_our_join(0, -1, true, 100, &ev[3]));
	/* not joined in this batch: only a membership other than join makes history */
	assert_true(mx_before_our_join(0, -1, false, 0, &ev[0]));
	assert_false(mx_before_our_join(0, -1, false, 0, &ev[2]));
	/* our join in the timeline (a homeserver that ignores not_senders): its place decides */
	assert_true(mx_before_our_join(1, 3, false, 0, &ev[1]));
	assert_false(mx_before_our_join(3, 3, false, 0, &ev[3]));
	for (int i = 0; i < 4; i++)
		json_decref(j[i]);
	json_decref(room);
	json_decref(old);
}

/* A private chat a member opened: the timeline has their invite of Hearth, and Hearth's join is
 * left out (the filter's not_senders; the state section is the state before the timeline). Once
 * the room entry in the join section says so, the member list has Hearth joined, and the room is
 * the member's private chat; a third member keeps it a group room. */
static void test_self_joined_makes_private(void **state)
{
	struct mx *mx = calloc(1, sizeof(*mx));
	struct mx_room *r;
	json_error_t err;
	json_t *j[2];
	struct mx_event ev;
	const char *evs[] = {
		"{\"type\":\"m.room.member\",\"state_key\":\"@m:hs\",\"sender\":\"@m:hs\","
		"\"content\":{\"membership\":\"join\"}}",
		"{\"type\":\"m.room.member\",\"state_key\":\"@hearth:hs\",\"sender\":\"@m:hs\","
		"\"content\":{\"membership\":\"invite\",\"is_direct\":true}}",
	};

	assert_non_null(mx);
	mx->user_id = strdup("@hearth:hs");
	assert_non_null(r = mx_room_add(mx, "!dm:hs"));
	r->membership = MX_M_JOINED;
	r->members_known = true;
	for (int i = 0; i < 2; i++) {
		assert_non_null(j[i] = json_loads(evs[i], 0, &err));
		assert_int_equal(mx_event_parse(j[i], &ev), HE_OK);
		mx_room_apply_state(mx, r, &ev);
	}
	assert_false(mx_room_maybe_private_for(mx, r, "@m:hs")); /* Hearth only invited */
	mx_self_joined(mx, r, false);
	assert_true(mx_room_maybe_private_for(mx, r, "@m:hs"));
	assert_ptr_equal(mx_room_find_private(mx, "@m:hs"), r);
	json_decref(j[0]);
	j[0] = json_loads("{\"type\":\"m.room.member\",\"state_key\":\"@x:hs\",\"sender\":\"@x:hs\","
			  "\"content\":{\"membership\":\"join\"}}", 0, &err);
	assert_int_equal(mx_event_parse(j[0], &ev), HE_OK);
	mx_room_apply_state(mx, r, &ev);
	assert_false(mx_room_maybe_private_for(mx, r, "@m:hs"));
	json_decref(j[0]);
	json_decref(j[1]);
	mx_rooms_free(mx);
	free(mx->user_id);
	free(mx);
}

/* ---- a fresh start ---- */

struct fresh {
	struct happ app;
	struct mx *mx;
};

static struct mx *fresh_open(struct fresh *f)
{
	struct mx *mx = calloc(1, sizeof(*mx));

	memset(&f->app, 0, sizeof(f->app));
	hlog_set_level(HLOG_ERROR);
	assert_non_null(mx);
	assert_int_equal(ta_app_open(&f->app, ":memory:", NULL, NULL), HE_OK);
	assert_int_equal(mx_owed_init(f->app.store, 1700000000), HE_OK);
	mx->app = &f->app;
	mx->loop = f->app.loop;
	mx->hs = strdup("http://127.0.0.1:9");
	mx->user_id = strdup("@hearth:example.org");
	assert_int_equal(mx_http_init(mx), HE_OK);
	f->mx = mx;
	return mx;
}

static void fresh_close(struct fresh *f)
{
	struct mx *mx = f->mx;

	mx_joins_free(mx);
	mx_rooms_free(mx);
	mx_http_free(mx);
	free(mx->hs);
	free(mx->user_id);
	free(mx);
	ta_app_close(&f->app);
}

static size_t nrooms(struct mx *mx)
{
	size_t n = 0;

	for (struct mx_room *r = mx->rooms; r; r = r->next)
		n++;
	return n;
}

/* The room list of a fresh start: each room joined and its state fetched through the queue
 * (4 in flight); what is no room id is left out. */
static void test_fresh_start_lists_rooms(void **state)
{
	struct fresh f;
	struct mx *mx = fresh_open(&f);
	json_t *ids = json_array(), *body;
	char id[64], longid[400];
	struct mx_room *r;
	unsigned queued = 0;

	for (int i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "!room%d:example.org", i);
		json_array_append_new(ids, json_string(id));
	}
	memset(longid, 'a', sizeof(longid) - 1);
	longid[0] = '!';
	longid[sizeof(longid) - 1] = '\0';
	longid[5] = ':';
	json_array_append_new(ids, json_string(longid));            /* over MX_ROOM_ID_MAX */
	json_array_append_new(ids, json_string("#alias:example.org")); /* no room id */
	json_array_append_new(ids, json_string("!nocolon"));
	json_array_append_new(ids, json_integer(7));
	json_array_append_new(ids, json_string("!room3:example.org")); /* twice: one room */
	body = json_pack("{s:o}", "joined_rooms", ids);
	assert_int_equal(mx_rooms_listed(mx, body), 21);
	assert_int_equal(nrooms(mx), 20);
	assert_int_equal(mx->fetch_inflight, MX_FETCH_INFLIGHT);
	for (r = mx->rooms; r; r = r->next) {
		assert_int_equal(r->membership, MX_M_JOINED);
		assert_true(r->listed);
		queued += r->fetch_queued;
	}
	assert_int_equal(queued, 20 - MX_FETCH_INFLIGHT);
	/* not a list: nothing */
	json_decref(body);
	body = json_pack("{s:s}", "joined_rooms", "!x:example.org");
	assert_int_equal(mx_rooms_listed(mx, body), HE_PROTO);
	json_decref(body);
	assert_int_equal(mx_rooms_listed(mx, NULL), HE_PROTO);
	assert_int_equal(nrooms(mx), 20);
	fresh_close(&f);
}

/* A hostile homeserver lists 100,000 rooms: at most MX_LIST_ROOMS_MAX are taken, still 4
 * fetches in flight. */
static void test_fresh_start_list_capped(void **state)
{
	struct fresh f;
	struct mx *mx = fresh_open(&f);
	json_t *ids = json_array(), *body;
	char id[64];

	for (int i = 0; i < 100000; i++) {
		snprintf(id, sizeof(id), "!r%d:evil.example", i);
		assert_int_equal(json_array_append_new(ids, json_string(id)), 0);
	}
	body = json_pack("{s:o}", "joined_rooms", ids);
	assert_int_equal(mx_rooms_listed(mx, body), MX_LIST_ROOMS_MAX);
	assert_int_equal(nrooms(mx), MX_LIST_ROOMS_MAX);
	assert_int_equal(mx->fetch_inflight, MX_FETCH_INFLIGHT);
	json_decref(body);
	fresh_close(&f);
}

struct crypto_rec {
	int encryption;
	json_t *members; /* {user: membership} told */
};

static struct crypto_rec rec;

static void rec_encryption(void *st, const char *room_id, json_t *content)
{
	rec.encryption++;
}

static void rec_member(void *st, const char *room_id, const char *user, const char *membership)
{
	json_object_set_new(rec.members, user, json_string(membership));
}

/* A room's fetched state stands for the first sync's state section: its encryption and, for an
 * encrypted room, every joined and invited member go to the crypto module (whose room keys go
 * to their devices); a member who left does not. */
static void test_fetched_state_tells_crypto(void **state)
{
	static const struct mx_crypto_ops ops = { .encryption = rec_encryption, .member = rec_member };
	struct fresh f;
	struct mx *mx = fresh_open(&f);
	struct mx_room *r;
	json_t *chunk;

	rec.encryption = 0;
	rec.members = json_object();
	mx->crypto = &ops;
	r = mx_room_add(mx, "!enc:example.org");
	assert_non_null(r);
	r->membership = MX_M_JOINED;
	assert_int_equal(mx_room_members_fetch(mx, r), HE_OK);
	assert_non_null(r->members_req);
	chunk = json_loads("["
		"{\"type\":\"m.room.member\",\"state_key\":\"@hearth:example.org\",\"sender\":\"@hearth:example.org\",\"event_id\":\"$1\",\"content\":{\"membership\":\"join\"}},"
		"{\"type\":\"m.room.member\",\"state_key\":\"@ann:example.org\",\"sender\":\"@ann:example.org\",\"event_id\":\"$2\",\"content\":{\"membership\":\"join\"}},"
		"{\"type\":\"m.room.member\",\"state_key\":\"@ben:example.org\",\"sender\":\"@ann:example.org\",\"event_id\":\"$3\",\"content\":{\"membership\":\"invite\"}},"
		"{\"type\":\"m.room.member\",\"state_key\":\"@cat:example.org\",\"sender\":\"@cat:example.org\",\"event_id\":\"$4\",\"content\":{\"membership\":\"leave\"}},"
		"{\"type\":\"m.room.power_levels\",\"state_key\":\"\",\"sender\":\"@ann:example.org\",\"event_id\":\"$5\",\"content\":{\"users\":{\"@ann:example.org\":100}}},"
		"{\"type\":\"m.room.encryption\",\"state_key\":\"\",\"sender\":\"@ann:example.org\",\"event_id\":\"$6\",\"content\":{\"algorithm\":\"m.megolm.v1.aes-sha2\"}}"
		"]", 0, NULL);
	assert_non_null(chunk);
	mx_room_fetched(mx, 200, chunk, NULL, r);
	assert_true(r->members_known);
	assert_true(r->encrypted);
	assert_int_equal(rec.encryption, 1);
	assert_int_equal(json_object_size(rec.members), 3);
	assert_string_equal(json_string_value(json_object_get(rec.members, "@ann:example.org")), "join");
	assert_string_equal(json_string_value(json_object_get(rec.members, "@ben:example.org")), "invite");
	assert_null(json_object_get(rec.members, "@cat:example.org"));
	assert_int_equal(mx_power_level(r->power_levels, NULL, "@ann:example.org"), 100);
	assert_int_equal(mx->fetch_inflight, 0);
	json_decref(chunk);
	json_decref(rec.members);
	mx->crypto = NULL;
	fresh_close(&f);
}

/* A huge state (over MX_MEMBERS_MAX events) is not taken: the room counts as a group room. */
static void test_huge_state_refused(void **state)
{
	struct fresh f;
	struct mx *mx = fresh_open(&f);
	struct mx_room *r = mx_room_add(mx, "!big:example.org");
	json_t *chunk = json_array();
	json_t *ev = json_loads("{\"type\":\"m.room.member\",\"state_key\":\"@x:example.org\","
				"\"sender\":\"@x:example.org\",\"event_id\":\"$1\","
				"\"content\":{\"membership\":\"join\"}}", 0, NULL);

	assert_non_null(ev);
	for (int i = 0; i <= MX_MEMBERS_MAX; i++)
		json_array_append(chunk, ev); /* the same event: one object, many references */
	r->membership = MX_M_JOINED;
	assert_int_equal(mx_room_members_fetch(mx, r), HE_OK);
	mx_room_fetched(mx, 200, chunk, NULL, r);
	assert_false(r->members_known);
	assert_true(r->members_failed);
	assert_int_equal(json_object_size(r->members), 0);
	assert_false(mx_room_is_private(mx, r, "@x:example.org"));
	json_decref(ev);
	json_decref(chunk);
	fresh_close(&f);
}

static json_t *invite_room(const char *self_membership, const char *sender)
{
	return json_pack("{s:[{s:s,s:s,s:s,s:{s:s}},{s:s,s:s,s:s,s:{s:s,s:b}}]}", "invite_state",
			 "type", "m.room.create", "state_key", "", "sender", sender, "content", "room_version", "11",
			 "type", "m.room.member", "state_key", "@hearth:example.org", "sender", sender,
			 "content", "membership", self_membership, "is_direct", 0);
}

static char *kv(struct mx *mx, const char *key)
{
	char *v = NULL;

	store_kv_get(mx->app->store, "matrix", key, &v);
	return v;
}

/* The invites waiting from before a fresh start: those that invite us are joined (owed in the
 * store, as a sync's), the rest is not; when read, the store says so, and a start with a
 * position does not read them again. Until then (a start that stopped early) it does. */
static void test_fresh_start_invites(void **state)
{
	struct fresh f;
	struct mx *mx = fresh_open(&f);
	json_t *rooms = json_object(), *body, *list = NULL;
	char *v;

	mx_rooms_fresh_mark(mx);
	v = kv(mx, "invites_listed");
	assert_string_equal(v, "0");
	free(v);
	/* a start with a position before the invites were read: read again */
	mx_rooms_resume_listing(mx);
	assert_non_null(mx->invites_req);
	mx_http_cancel(mx, mx->invites_req);
	mx->invites_req = NULL;

	json_object_set_new(rooms, "!inv:example.org", invite_room("invite", "@carol:example.org"));
	json_object_set_new(rooms, "!gone:example.org", invite_room("leave", "@carol:example.org"));
	json_object_set_new(rooms, "no-room-id", invite_room("invite", "@carol:example.org"));
	json_object_set_new(rooms, "!bare:example.org", json_object());
	body = json_pack("{s:s,s:o}", "pos", "1", "rooms", rooms);
	mx_rooms_invites_answer(mx, 200, body, NULL, NULL);
	json_decref(body);
	assert_int_equal(mx_owed_joins(mx->app->store, &list), HE_OK);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "room_id")),
			    "!inv:example.org");
	json_decref(list);
	assert_non_null(mx->joins);
	assert_int_equal(nrooms(mx), 1);
	v = kv(mx, "invites_listed");
	assert_string_equal(v, "1");
	free(v);
	mx_rooms_resume_listing(mx);
	assert_null(mx->invites_req);
	fresh_close(&f);
}

/* No sliding sync (404): the invites come from a /sync instead, and are still owed meanwhile;
 * a hostile answer of 100,000 invites reads at most MX_LIST_INVITES of them. */
static void test_fresh_start_invites_fallback_and_cap(void **state)
{
	struct fresh f;
	struct mx *mx = fresh_open(&f);
	json_t *rooms = json_object(), *body;
	char id[64], *v;
	long joins;

	mx_rooms_fresh_mark(mx);
	body = json_pack("{s:s}", "errcode", "M_UNRECOGNIZED");
	mx_rooms_invites_answer(mx, 404, body, NULL, NULL);
	json_decref(body);
	assert_non_null(mx->invites_req); /* the /sync */
	v = kv(mx, "invites_listed");
	assert_string_equal(v, "0");
	free(v);
	mx_http_cancel(mx, mx->invites_req);
	mx->invites_req = NULL;

	for (int i = 0; i < 100000; i++) {
		snprintf(id, sizeof(id), "!i%d:evil.example", i);
		json_object_set_new(rooms, id, invite_room("invite", "@evil:evil.example"));
	}
	body = json_pack("{s:o}", "rooms", rooms);
	mx_rooms_invites_answer(mx, 200, body, NULL, NULL);
	json_decref(body);
	joins = mx_owed_join_count(mx->app->store);
	assert_true(joins > 0 && joins <= MX_JOINS_MAX);
	assert_true(nrooms(mx) <= MX_LIST_INVITES);
	fresh_close(&f);
}

/* A listed room's fetched state stands for the first sync's: its tombstone is followed (the
 * replacement joined); a room known from syncs (a restart's fetch) does not act on an old one. */
/* An unprompted post (a moderators' alert, mx_op_post) into a room no sync has mentioned since
 * the start (quiet since a restart) goes out; one into a room this process saw Hearth leave is
 * refused and the room is not added back as joined (until Hearth joins it again); what is no
 * room id (an alias in the config) is refused and adds nothing. */
static void test_post_into_quiet_room(void **state)
{
	struct fresh f;
	struct mx *mx = fresh_open(&f);
	struct mx_room *r;

	assert_int_equal(mx_react_init(f.app.store, 1700000000), HE_OK);
	mx->t.impl = mx;
	/* quiet since the start: unknown to this process, posted (the PUT handed to curl) */
	assert_null(mx_room_get(mx, "!mods:example.org"));
	assert_int_equal(mx_op_post(&mx->t, "!mods:example.org", "Someone in `!g:example.org` may need support."),
			 HE_OK);
	assert_non_null(r = mx_room_get(mx, "!mods:example.org"));
	assert_int_equal(r->membership, MX_M_JOINED);
	assert_non_null(r->inflight);
	/* Hearth removed from it (the sync's leave section): refused, not added back as joined */
	mx_room_left(mx, "!mods:example.org", "removed by @mod:example.org");
	assert_null(mx_room_get(mx, "!mods:example.org"));
	assert_int_equal(mx_op_post(&mx->t, "!mods:example.org", "again"), HE_NOTFOUND);
	assert_null(mx_room_get(mx, "!mods:example.org"));
	assert_int_equal(mx_send_pending(mx), 0);
	/* invited and joined again: posted again */
	assert_non_null(r = mx_room_add(mx, "!mods:example.org"));
	r->membership = MX_M_JOINED;
	assert_int_equal(mx_op_post(&mx->t, "!mods:example.org", "back"), HE_OK);
	assert_int_equal(mx_send_pending(mx), 1);
	/* a room known but not joined (an invite being joined): refused */
	assert_non_null(r = mx_room_add(mx, "!invited:example.org"));
	r->membership = MX_M_INVITED;
	assert_int_equal(mx_op_post(&mx->t, "!invited:example.org", "no"), HE_NOTFOUND);
	/* not a room id: refused, nothing added */
	assert_int_equal(mx_op_post(&mx->t, "#mods:example.org", "no"), HE_INVAL);
	assert_int_equal(mx_op_post(&mx->t, "!nocolon", "no"), HE_INVAL);
	assert_int_equal(mx_op_post(&mx->t, "", "no"), HE_INVAL);
	assert_null(mx_room_get(mx, "#mods:example.org"));
	assert_null(mx_room_get(mx, "!nocolon"));
	assert_int_equal(mx_send_pending(mx), 1);

	/* left while Hearth was stopped: after the restart the post takes the room as joined (the
	 * homeserver refuses the PUT); a new invite there is still joined, not ignored */
	assert_int_equal(mx_op_post(&mx->t, "!kicked:example.org", "lost"), HE_OK);
	assert_non_null(r = mx_room_get(mx, "!kicked:example.org"));
	assert_int_equal(r->membership, MX_M_JOINED);
	mx_room_invited(mx, "!kicked:example.org", "@mod:example.org", false, NULL);
	assert_true(r->joining);
	assert_int_equal(r->membership, MX_M_INVITED);
	assert_non_null(mx->joins);
	mx_react_free(mx);
	mx_md_cache_free(mx);
	fresh_close(&f);
}

static void test_listed_tombstone_followed(void **state)
{
	struct fresh f;
	struct mx *mx = fresh_open(&f);
	json_t *body = json_pack("{s:[s,s]}", "joined_rooms", "!old:example.org", "!other:example.org");
	json_t *chunk = json_loads("[{\"type\":\"m.room.tombstone\",\"state_key\":\"\",\"sender\":"
				   "\"@ann:example.org\",\"event_id\":\"$t\",\"content\":{"
				   "\"replacement_room\":\"!new:example.org\"}}]", 0, NULL);
	json_t *list = NULL;
	struct mx_room *r, *plain;

	assert_non_null(chunk);
	assert_int_equal(mx_rooms_listed(mx, body), 2);
	json_decref(body);
	/* a room of syncs, not of the list */
	plain = mx_room_add(mx, "!synced:example.org");
	plain->membership = MX_M_JOINED;
	assert_int_equal(mx_room_members_fetch(mx, plain), HE_OK);
	mx_room_fetched(mx, 200, chunk, NULL, plain);
	assert_null(mx->joins);
	r = mx_room_get(mx, "!old:example.org");
	assert_non_null(r->members_req);
	mx_room_fetched(mx, 200, chunk, NULL, r);
	assert_non_null(mx->joins);
	assert_int_equal(mx_owed_joins(mx->app->store, &list), HE_OK);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "room_id")),
			    "!new:example.org");
	json_decref(list);
	json_decref(chunk);
	fresh_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fetches_bounded),
		cmocka_unit_test(test_power_levels_kept_small),
		cmocka_unit_test(test_own_join_without_echo),
		cmocka_unit_test(test_self_joined_makes_private),
		cmocka_unit_test(test_fresh_start_lists_rooms),
		cmocka_unit_test(test_fresh_start_list_capped),
		cmocka_unit_test(test_fetched_state_tells_crypto),
		cmocka_unit_test(test_huge_state_refused),
		cmocka_unit_test(test_fresh_start_invites),
		cmocka_unit_test(test_fresh_start_invites_fallback_and_cap),
		cmocka_unit_test(test_listed_tombstone_followed),
		cmocka_unit_test(test_post_into_quiet_room),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
