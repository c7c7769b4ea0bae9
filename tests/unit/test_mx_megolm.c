/* Unit tests of the outbound Megolm session kept in memory (bot/net/matrix/crypto/
 * e2e_outbound.c): messages in a row use indexes 0, 1, 2, ... while the store is written once
 * per run of 32 (its reservation, before the first index of the run is used); after a restart
 * the session goes on from its reservation, never below it, and the member still reads it;
 * when another process has written the session's row since (a Hearth that took over), the
 * memory copy is dropped at the next reservation and the store's taken, past the other's
 * reservation; a member leaving still rotates the session kept in memory. Uses the in-process
 * homeserver of e2e_router.h. */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reserved_runs_and_restart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
