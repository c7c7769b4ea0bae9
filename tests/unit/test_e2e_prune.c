/* test_e2e_prune.c - the encryption store stays bounded: the newest five Olm sessions per device
 * stay, older ones go; seen-message indexes older than 30 days go, newer ones stay (replay
 * protection for them holds); a device flooding new sessions cannot grow the table. */
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
#include "net/matrix/crypto/e2e.h"
#include "store/store.h"
#include "testapp.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(prunes_sessions_and_seen),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
