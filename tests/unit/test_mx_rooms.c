/* test_mx_rooms.c - many rooms (issue 15.3): the state fetches a first sync starts (one per
 * room) go at most MX_FETCH_INFLIGHT at a time, a room a message waits on is fetched at once,
 * and a room that goes frees its place. The requests go to a closed port and the loop is never
 * run: what is in flight is what was handed to curl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/loop.h"
#include "net/matrix/mx.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fetches_bounded),
		cmocka_unit_test(test_power_levels_kept_small),
		cmocka_unit_test(test_own_join_without_echo),
		cmocka_unit_test(test_self_joined_makes_private),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
