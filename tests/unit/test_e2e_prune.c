/* test_e2e_prune.c - the encryption store stays bounded: the newest five Olm sessions per device
 * stay, older ones go; seen-message indexes older than 30 days go, newer ones stay (replay
 * protection for them holds); a device flooding new sessions cannot grow the table; room keys
 * received (inbound Megolm sessions) not used for 30 days go beyond the newest ten per room and
 * sending device, and a session in use stays however old it is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "e2e_router.h"
#include "net/matrix/crypto/e2e.h"
#include "store/store.h"
#include "testapp.h"

#define DAY (24ull * 3600 * 1000)

static uint64_t clock_now;
static uint64_t fake_now(void) { return clock_now; }

static long count(struct store *st, const char *sql)
{
	return store_count(st, sql, "");
}

static void prunes_sessions_and_seen(void **state)
{
	unsigned char key[E2E_PICKLE_KEY_LEN] = { 7 };
	struct store *st = NULL;
	struct e2e *e = NULL;
	char sid[32];

	assert_int_equal(ta_store_open(":memory:", &st), HE_OK); /* PostgreSQL: unit.e2e_prune.pg */
	assert_int_equal(e2e_new(st, "@hearth:localhost", "DEV", key, &e), HE_OK);
	clock_now = 100ull * 24 * 3600 * 1000; /* day 100 */
	e2e_set_clock(e, fake_now);
	/* device A: 12 sessions used at times 1..12; device B: 3 */
	for (int i = 1; i <= 12; i++) {
		snprintf(sid, sizeof(sid), "a%02d", i);
		assert_int_equal(db_runf(store_sql(st), NULL, "INSERT INTO e2e_olm_session (session_id, sender_key,"
					    " pickle, last_used) VALUES (?, 'curveA', 'p', ?)", "si", sid,
					    (int64_t)i), HE_OK);
	}
	for (int i = 1; i <= 3; i++) {
		snprintf(sid, sizeof(sid), "b%02d", i);
		assert_int_equal(db_runf(store_sql(st), NULL, "INSERT INTO e2e_olm_session (session_id, sender_key,"
					    " pickle, last_used) VALUES (?, 'curveB', 'p', ?)", "si", sid,
					    (int64_t)i), HE_OK);
	}
	/* seen indexes: 40 from day 60 (older than 30 days), 10 from day 90 */
	for (int i = 0; i < 50; i++)
		assert_int_equal(db_runf(store_sql(st), NULL, "INSERT INTO e2e_seen (room_id, session_id, msg_index,"
					    " event_id, seen_ms) VALUES ('!r', 's', ?, 'e', ?)", "ii",
					    (int64_t)i, (int64_t)((i < 40 ? 60ull : 90ull) * 24 * 3600 * 1000)),
				 HE_OK);
	assert_int_equal(e2e_prune(e), HE_OK);
	assert_int_equal(count(st, "SELECT count(*) FROM e2e_olm_session WHERE sender_key = 'curveA'"),
			 E2E_OLM_KEEP);
	/* the newest by last use are the ones kept */
	assert_int_equal(count(st, "SELECT min(last_used) FROM e2e_olm_session WHERE sender_key = 'curveA'"),
			 12 - E2E_OLM_KEEP + 1);
	assert_int_equal(count(st, "SELECT count(*) FROM e2e_olm_session WHERE sender_key = 'curveB'"), 3);
	assert_int_equal(count(st, "SELECT count(*) FROM e2e_seen"), 10);
	assert_int_equal(count(st, "SELECT min(msg_index) FROM e2e_seen"), 40);
	/* pruning again changes nothing */
	assert_int_equal(e2e_prune(e), HE_OK);
	assert_int_equal(count(st, "SELECT count(*) FROM e2e_olm_session"), E2E_OLM_KEEP + 3);
	e2e_free(e);
	store_free(st);
}

static void add_inbound(struct store *st, const char *room, const char *key, int n, uint64_t day0)
{
	char sid[200];
	for (int i = 0; i < n; i++) {
		snprintf(sid, sizeof(sid), "%s-%s-%02d", room, key, i);
		assert_int_equal(db_runf(store_sql(st), NULL, "INSERT INTO e2e_inbound (room_id, session_id, sender_key,"
					    " ed25519, pickle, first_index, used_ms) VALUES (?, ?, ?, 'ed', 'p',"
					    " 0, ?)", "sssi", room, sid, key, (int64_t)((day0 + i) * DAY)),
				 HE_OK);
	}
}

static long inbound(struct store *st, const char *room, const char *key)
{
	return store_count(st, "SELECT count(*) FROM e2e_inbound WHERE room_id = ? AND"
			   " sender_key = ?", "ss", room, key);
}

static void prunes_idle_room_keys(void **state)
{
	unsigned char key[E2E_PICKLE_KEY_LEN] = { 7 };
	struct store *st = NULL;
	struct e2e *e = NULL;

	assert_int_equal(ta_store_open(":memory:", &st), HE_OK);
	assert_int_equal(e2e_new(st, "@hearth:localhost", "DEV", key, &e), HE_OK);
	clock_now = 100 * DAY;
	e2e_set_clock(e, fake_now);
	add_inbound(st, "!r", "A", 25, 1);  /* 25 idle ones (days 1..25): the newest 10 stay */
	add_inbound(st, "!r", "B", 4, 1);   /* 4 idle: all stay, the sender's latest */
	add_inbound(st, "!r", "C", 14, 80); /* used in the last 30 days (80..93): all stay */
	add_inbound(st, "!s", "A", 12, 1);  /* the same device in another room: its own ten */
	assert_int_equal(e2e_prune(e), HE_OK);
	assert_int_equal(inbound(st, "!r", "A"), E2E_INBOUND_KEEP);
	assert_int_equal(count(st, "SELECT min(used_ms) FROM e2e_inbound WHERE room_id = '!r' AND"
			       " sender_key = 'A'") / (long)DAY, 25 - E2E_INBOUND_KEEP + 1);
	assert_int_equal(inbound(st, "!r", "B"), 4);
	assert_int_equal(inbound(st, "!r", "C"), 14);
	assert_int_equal(inbound(st, "!s", "A"), E2E_INBOUND_KEEP);
	/* 40 days later, C's are idle too: its newest ten stay */
	clock_now = 140 * DAY;
	assert_int_equal(e2e_prune(e), HE_OK);
	assert_int_equal(inbound(st, "!r", "C"), E2E_INBOUND_KEEP);
	assert_int_equal(inbound(st, "!r", "A"), E2E_INBOUND_KEEP);
	e2e_free(e);
	store_free(st);
}

/* A session from day 1 that is still read on day 100 is in use: pruning keeps it, while newer
 * but idle ones go. */
static uint64_t clock_b;
static uint64_t fake_b(void) { return clock_b; }

static void room_key_in_use_stays(void **state)
{
	struct hs *h = hs_new();
	struct cl *a = hs_add(h, "@a:example.org", "ADEV", NULL);
	struct cl *b = hs_add(h, "@b:example.org", "BDEV", NULL);
	struct cl *all[] = { a, b };
	json_t *enc = NULL, *ev, *plain = NULL;
	const char *sid;

	clock_b = 1 * DAY;
	e2e_set_clock(b->e, fake_b);
	hs_run(h);
	assert_int_equal(hs_join(all, 2, "!room:example.org", NULL, NULL, 0), 0);
	assert_int_equal(cl_encrypt(a, "!room:example.org", "an old session", &enc), 0);
	sid = json_string_value(json_object_get(enc, "session_id"));
	cl_sync(b);
	/* day 100: twelve newer sessions from A's device that nobody used since day 50 */
	add_inbound(b->st, "!room:example.org", e2e_curve25519_key(a->e), 12, 50);
	clock_b = 100 * DAY;
	ev = hs_event(a, enc, "$old");
	assert_int_equal(e2e_decrypt_room_event(b->e, "!room:example.org", ev, &plain), HE_OK);
	assert_int_equal(e2e_prune(b->e), HE_OK);
	assert_int_equal(store_count(b->st, "SELECT count(*) FROM e2e_inbound WHERE session_id = ?",
				     "s", sid), 1);
	assert_int_equal(inbound(b->st, "!room:example.org", e2e_curve25519_key(a->e)),
			 E2E_INBOUND_KEEP);
	json_decref(plain);
	json_decref(ev);
	json_decref(enc);
	hs_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(prunes_sessions_and_seen),
		cmocka_unit_test(prunes_idle_room_keys),
		cmocka_unit_test(room_key_in_use_stays),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
