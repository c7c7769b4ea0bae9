/* Unit tests of the outbound Megolm session kept in memory (bot/net/matrix/crypto/
 * e2e_outbound.c): messages in a row use indexes 0, 1, 2, ... while the store is written once
 * per run of 32 (its reservation, before the first index of the run is used); after a restart
 * the session goes on from its reservation, never below it, and the member still reads it;
 * when another process has written the session's row since (a Hearth that took over), the
 * memory copy is dropped at the next reservation and the store's taken, past the other's
 * reservation; a member leaving still rotates the session kept in memory. And the inbound
 * sessions kept unpickled (e2e_megolm.c): same answers as from the store, replays refused,
 * bounded, dropped at prune and when their row is replaced; a settled room (e->wgen) reads
 * nothing per message until something changes. Uses the in-process homeserver of e2e_router.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "e2e_router.h"
#include "net/matrix/crypto/e2e_int.h"
#include "store/store.h"

#define ROOM "!room:example.org"

static int64_t row_msgs(struct cl *c)
{
	int64_t v = -1;

	assert_int_equal(db_int64f(store_sql(c->st), &v, "SELECT msgs FROM e2e_outbound WHERE room_id = ?",
				   "s", ROOM), HE_OK);
	return v;
}

static char *row_session(struct cl *c)
{
	struct db_stmt *st = db_stmtf(store_sql(c->st), "SELECT session_id FROM e2e_outbound WHERE"
				      " room_id = ?", "s", ROOM);
	char *s = NULL;

	assert_non_null(st);
	if (db_step(st) == DB_ROW)
		s = strdup(db_col_text(st, 0));
	db_reset(st);
	assert_non_null(s);
	return s;
}

static uint32_t next_index(struct cl *c)
{
	uint32_t i = 0;

	assert_int_equal(e2e_outbound_next_index(c->e, ROOM, &i), HE_OK);
	return i;
}

/* a sends text; b reads it */
static void say(struct hs *h, struct cl *a, struct cl *b, const char *text, int n)
{
	json_t *enc = NULL, *ev, *plain = NULL;
	char id[32];

	assert_int_equal(cl_encrypt(a, ROOM, text, &enc), 0);
	cl_sync(b);
	snprintf(id, sizeof(id), "$m%d", n);
	ev = hs_event(a, enc, id);
	assert_int_equal(e2e_decrypt_room_event(b->e, ROOM, ev, &plain), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(plain, "content"), "body")), text);
	json_decref(plain);
	json_decref(ev);
	json_decref(enc);
}

static void test_reserved_runs_and_restart(void **state)
{
	char dir[64], pa[96];
	struct hs *h = hs_new();
	struct cl *a, *b;
	struct cl *all[2];
	char *sid, *sid2;
	json_t *conf;

	snprintf(dir, sizeof(dir), "/tmp/hearth-mx-megolm-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(pa, sizeof(pa), "%s/a.db", dir);
	a = hs_add(h, "@a:example.org", "ADEV", pa);
	b = hs_add(h, "@b:example.org", "BDEV", NULL);
	all[0] = a;
	all[1] = b;
	hs_run(h);
	conf = json_pack("{s:s, s:i}", "algorithm", "m.megolm.v1.aes-sha2", "rotation_period_msgs", 1000);
	assert_int_equal(hs_join(all, 2, ROOM, conf, NULL, 0), 0);
	json_decref(conf);

	/* 40 messages: indexes 0..39; the store holds the reservation, written at 0 and at 32 */
	for (int i = 0; i < 40; i++) {
		assert_int_equal(a->e->ogs ? (int)next_index(a) : 0, i);
		say(h, a, b, "in a row", i);
		assert_int_equal(row_msgs(a), i < 32 ? 32 : 64);
	}
	assert_int_equal(next_index(a), 40);
	sid = row_session(a);

	/* a restart: the session goes on from its reservation, not from 40 */
	cl_close(a);
	assert_int_equal(cl_open(a), 0);
	assert_int_equal(next_index(a), 64);
	say(h, a, b, "after the restart", 100);
	sid2 = row_session(a);
	assert_string_equal(sid, sid2); /* the same session: no new key to share */
	free(sid2);
	assert_int_equal(row_msgs(a), 65 + 31);
	assert_int_equal(next_index(a), 65);

	/* another process takes the row over (its own reservation, indexes it may have used) */
	assert_int_equal(db_runf(store_sql(a->st), NULL, "UPDATE e2e_outbound SET msgs = 500", ""), HE_OK);
	for (int i = 0; i < 31; i++) /* up to this process's reservation: indexes of its own */
		say(h, a, b, "before the boundary", 200 + i);
	assert_int_equal(next_index(a), 96);
	/* the next reservation finds the row changed: the store's session, past 500 */
	say(h, a, b, "past the other's", 300);
	assert_int_equal(row_msgs(a), 500 + 1 + 31);
	assert_int_equal(next_index(a), 501);
	sid2 = row_session(a);
	assert_string_equal(sid, sid2);
	free(sid2);
	/* indexes count toward rotation: past the room's 1,000, a new session (reserved anew) */
	assert_int_equal(db_runf(store_sql(a->st), NULL, "UPDATE e2e_outbound SET msgs = 1000", ""), HE_OK);
	for (int i = 0; i < 31; i++)
		say(h, a, b, "up to the boundary", 500 + i);
	say(h, a, b, "rotated", 600);
	assert_int_equal(row_msgs(a), 32);
	sid2 = row_session(a);
	assert_string_not_equal(sid, sid2);
	free(sid);
	sid = sid2;

	/* a member leaving still rotates the session kept in memory */
	assert_int_equal(e2e_room_member_change(a->e, ROOM, "@c:example.org", "join"), 0);
	hs_run(h);
	assert_int_equal(e2e_room_member_change(a->e, ROOM, "@c:example.org", "leave"), 0);
	say(h, a, b, "after a leave", 400);
	sid2 = row_session(a);
	assert_string_not_equal(sid, sid2);
	free(sid2);
	free(sid);
	hs_free(h);
	rmdir(dir);
}

/* ---- inbound sessions kept unpickled (e2e_megolm.c) ---- */

static uint64_t clock_b;
static uint64_t fake_b(void) { return clock_b; }

#define DAY (24ull * 3600 * 1000)

/* a's encrypted text as the event event_id (the caller frees it) */
static json_t *sealed(struct cl *a, struct cl *b, const char *text, const char *event_id)
{
	json_t *enc = NULL, *ev;

	assert_int_equal(cl_encrypt(a, ROOM, text, &enc), 0);
	cl_sync(b);
	ev = hs_event(a, enc, event_id);
	json_decref(enc);
	return ev;
}

static json_t *open_ok(struct cl *b, json_t *ev)
{
	json_t *plain = NULL;

	assert_int_equal(e2e_decrypt_room_event(b->e, ROOM, ev, &plain), HE_OK);
	assert_non_null(plain);
	return plain;
}

static struct hs *two(struct cl **a, struct cl **b, int rotation_msgs)
{
	struct hs *h = hs_new();
	struct cl *all[2];
	json_t *conf;

	all[0] = *a = hs_add(h, "@a:example.org", "ADEV", NULL);
	all[1] = *b = hs_add(h, "@b:example.org", "BDEV", NULL);
	hs_run(h);
	conf = json_pack("{s:s, s:i}", "algorithm", "m.megolm.v1.aes-sha2", "rotation_period_msgs",
			 rotation_msgs);
	assert_int_equal(hs_join(all, 2, ROOM, conf, NULL, 0), 0);
	json_decref(conf);
	return h;
}

/* A kept session decrypts exactly what one read from the store decrypts, in order and out of
 * order (a lower index after a higher one), with the same sender device and verification. */
static void test_cached_same_as_uncached(void **state)
{
	struct cl *a, *b;
	struct hs *h = two(&a, &b, 1000);
	json_t *ev[8], *p1, *p2;
	char id[32];

	(void)state;
	for (int i = 0; i < 8; i++) {
		snprintf(id, sizeof(id), "$c%d", i);
		ev[i] = sealed(a, b, i % 2 ? "odd" : "even", id);
	}
	/* 0, 5, 2 (behind the kept ratchet), 7, 1 with the kept session */
	for (int k = 0, order[] = { 0, 5, 2, 7, 1 }; k < 5; k++) {
		p1 = open_ok(b, ev[order[k]]);
		assert_int_equal(e2e_igs_cached(b->e), 1);
		e2e_igs_drop(b->e, NULL, NULL); /* the same event, from the store */
		assert_int_equal(e2e_igs_cached(b->e), 0);
		p2 = open_ok(b, ev[order[k]]);
		assert_true(json_equal(p1, p2));
		assert_true(json_is_true(json_object_get(p1, "sender_verified")));
		assert_string_equal(json_string_value(json_object_get(p1, "sender_device")), "ADEV");
		json_decref(p1);
		json_decref(p2);
	}
	for (int i = 0; i < 8; i++)
		json_decref(ev[i]);
	hs_free(h);
}

/* A replayed index (the same ciphertext under another event id) is refused with the session
 * kept, before and behind the kept ratchet; the event itself again is fine (a re-delivery). */
static void test_cached_replay_refused(void **state)
{
	struct cl *a, *b;
	struct hs *h = two(&a, &b, 1000);
	json_t *e0 = sealed(a, b, "first", "$r0"), *e1 = sealed(a, b, "second", "$r1");
	json_t *plain = NULL, *copy;

	(void)state;
	json_decref(open_ok(b, e0));
	json_decref(open_ok(b, e1));
	assert_int_equal(e2e_igs_cached(b->e), 1);
	json_decref(open_ok(b, e1)); /* the same event again */
	for (int k = 0; k < 2; k++) {
		copy = json_deep_copy(k ? e0 : e1);
		json_object_set_new(copy, "event_id", json_string(k ? "$replay0" : "$replay1"));
		assert_int_equal(e2e_igs_cached(b->e), 1);
		assert_int_equal(e2e_decrypt_room_event(b->e, ROOM, copy, &plain), HE_CRYPTO);
		assert_null(plain);
		json_decref(copy);
		json_decref(open_ok(b, e1)); /* the session is read again and still works */
	}
	json_decref(e0);
	json_decref(e1);
	hs_free(h);
}

/* More sessions than are kept: the oldest goes out of memory and is read from the store again
 * at its next message; a session the store prunes is not used from memory any more. */
static void test_evicted_and_pruned(void **state)
{
	struct cl *a, *b;
	struct hs *h = two(&a, &b, 1); /* a new session for every message */
	json_t *ev[40], *plain = NULL;
	char id[32];

	(void)state;
	clock_b = 1 * DAY;
	e2e_set_clock(b->e, fake_b);
	ev[0] = sealed(a, b, "the oldest", "$p0");
	json_decref(open_ok(b, ev[0]));
	clock_b = 2 * DAY;
	for (int i = 1; i < 40; i++) {
		snprintf(id, sizeof(id), "$p%d", i);
		ev[i] = sealed(a, b, "one more", id);
		json_decref(open_ok(b, ev[i]));
		assert_true(e2e_igs_cached(b->e) <= 32); /* (a daily prune empties it at day 2) */
	}
	json_decref(open_ok(b, ev[0])); /* evicted: from the store */
	json_decref(open_ok(b, ev[0])); /* and kept again */
	assert_int_equal(e2e_igs_cached(b->e), 32);
	/* day 40: every session idle; beyond the newest E2E_INBOUND_KEEP they go */
	clock_b = 40 * DAY;
	assert_int_equal(e2e_prune(b->e), HE_OK);
	assert_int_equal(e2e_igs_cached(b->e), 0);
	/* only the sessions the store kept still read (32 were in memory before the prune) */
	for (int i = 0, ok = 0; i < 40; i++) {
		int rc = e2e_decrypt_room_event(b->e, ROOM, ev[i], &plain);
		assert_true(rc == HE_OK || rc == HE_AGAIN);
		ok += rc == HE_OK;
		json_decref(plain);
		plain = NULL;
		if (i == 39)
			assert_int_equal(ok, E2E_INBOUND_KEEP);
	}
	for (int i = 0; i < 40; i++)
		json_decref(ev[i]);
	hs_free(h);
}

/* a's own inbound copy of its room session, exported from message index at */
static char *exported(struct cl *a, uint32_t at)
{
	struct db_stmt *st = db_stmtf(store_sql(a->st), "SELECT pickle FROM e2e_inbound WHERE"
				      " room_id = ?", "s", ROOM);
	OlmInboundGroupSession *s = olm_inbound_group_session(malloc(olm_inbound_group_session_size()));
	char *pickle, *out;
	size_t n;

	assert_non_null(st);
	assert_int_equal(db_step(st), DB_ROW);
	pickle = strdup(db_col_text(st, 0));
	db_reset(st);
	assert_true(olm_unpickle_inbound_group_session(s, a->e->olm_key, sizeof(a->e->olm_key), pickle,
						       strlen(pickle)) != olm_error());
	n = olm_export_inbound_group_session_length(s);
	out = calloc(1, n + 1);
	assert_true(olm_export_inbound_group_session(s, (uint8_t *)out, n, at) != olm_error());
	olm_clear_inbound_group_session(s);
	free(s);
	free(pickle);
	return out;
}

/* A kept session is dropped when the store's row is replaced: c holds a forwarded copy from
 * index 3 (kept after a message), then the copy from index 0 arrives: index 1 reads. */
static void test_replaced_session_not_kept(void **state)
{
	struct cl *a, *b, *c;
	struct hs *h = two(&a, &b, 1000);
	json_t *ev[6], *plain = NULL;
	char id[32], *k3, *k0;

	(void)state;
	c = hs_add(h, "@c:example.org", "CDEV", NULL);
	hs_run(h);
	for (int i = 0; i < 6; i++) {
		snprintf(id, sizeof(id), "$f%d", i);
		ev[i] = sealed(a, b, "forwarded", id);
	}
	k3 = exported(a, 3);
	k0 = exported(a, 0);
	assert_int_equal(e2e_inbound_add(c->e, ROOM, NULL, e2e_curve25519_key(a->e), a->e->ed, k3,
					 true), HE_OK);
	assert_int_equal(e2e_decrypt_room_event(c->e, ROOM, ev[1], &plain), HE_AGAIN);
	json_decref(open_ok(c, ev[4]));
	assert_int_equal(e2e_igs_cached(c->e), 1);
	assert_int_equal(e2e_inbound_add(c->e, ROOM, NULL, e2e_curve25519_key(a->e), a->e->ed, k0,
					 true), HE_OK);
	json_decref(open_ok(c, ev[1]));
	json_decref(open_ok(c, ev[5]));
	for (int i = 0; i < 6; i++)
		json_decref(ev[i]);
	free(k3);
	free(k0);
	hs_free(h);
}

/* Once the room is settled (every device has the key), messages write nothing that counts
 * (e->wgen stays), so no share, member or rotation read runs; a member joining changes that,
 * and the new member's device gets the key before the next message. */
static void test_settled_until_a_change(void **state)
{
	struct cl *a, *b, *c;
	struct hs *h = two(&a, &b, 1000);
	json_t *ev;
	char body[64];
	uint64_t ga, gb;

	(void)state;
	say(h, a, b, "hello", 1);
	say(h, a, b, "again", 2);
	ga = a->e->wgen;
	gb = b->e->wgen;
	for (int i = 0; i < 5; i++)
		say(h, a, b, "settled", 10 + i);
	assert_true(a->e->wgen == ga);
	assert_true(b->e->wgen == gb);
	c = hs_add(h, "@c:example.org", "CDEV", NULL);
	hs_run(h);
	assert_int_equal(e2e_room_member_change(a->e, ROOM, "@c:example.org", "join"), 0);
	assert_int_equal(e2e_room_member_change(c->e, ROOM, "@a:example.org", "join"), 0);
	hs_run(h);
	assert_true(a->e->wgen != ga);
	ev = sealed(a, c, "welcome", "$s1");
	assert_int_equal(cl_decrypt(c, ROOM, ev, body, sizeof(body), NULL), 0);
	assert_string_equal(body, "welcome");
	json_decref(ev);
	hs_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reserved_runs_and_restart),
		cmocka_unit_test(test_cached_same_as_uncached),
		cmocka_unit_test(test_cached_replay_refused),
		cmocka_unit_test(test_evicted_and_pruned),
		cmocka_unit_test(test_replaced_session_not_kept),
		cmocka_unit_test(test_settled_until_a_change),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
