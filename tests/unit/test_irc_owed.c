/* test_irc_owed.c - channel commands owed across an IRC failover (net/irc/owed.h), on SQLite
 * and, as unit.irc_owed.pg (HEARTH_TEST_STORE=pg), on a real PostgreSQL: two "instances" are two
 * store connections to one database, each with its own lease for "irc.net". A command taken and
 * not done is owed to whoever holds the lease next; a done one never again; a stale holder can
 * neither take nor finish. Replayed lines: only a well-formed server-time within the window. */
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
#include "dbtest.h"
#include "net/irc/owed.h"
#include "store/db.h"
#include "store/lease.h"
#include "store/store.h"

#define SEC "irc.net"

struct fix {
	char *url;
	struct store *a, *b;
	struct lease *la, *lb;
};

static bool on_pg(void)
{
	const char *e = getenv("HEARTH_TEST_STORE");
	return e && strcmp(e, "pg") == 0;
}

static int open_one(const char *url, struct store **out)
{
	if (strncmp(url, "sqlite:", 7) == 0)
		return store_open_file(url + 7, out);
	return store_open_url_shared(url, out);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	hlog_set_level(HLOG_ERROR);
	if (on_pg() && !dbtest_pg_url()) {
		fprintf(stderr, "SKIP: HEARTH_TEST_STORE=pg but HEARTH_TEST_PG_URL is not set; run "
			"eval \"$(tests/pg/cluster.sh start)\" first\n");
		exit(77);
	}
	f->url = dbtest_fresh_url(on_pg() ? DB_PG : DB_SQLITE);
	if (!f->url || open_one(f->url, &f->a) || open_one(f->url, &f->b))
		return -1;
	if (lease_migrate(f->a) || irc_owed_migrate(f->a) || irc_owed_migrate(f->b))
		return -1;
	if (lease_new(f->a, SEC, "host-a:1:aaaa", &f->la) || lease_new(f->b, SEC, "host-b:2:bbbb", &f->lb))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	lease_free(f->la);
	lease_free(f->lb);
	store_free(f->a);
	store_free(f->b);
	dbtest_drop(f->url);
	free(f->url);
	free(f);
	return 0;
}

static void take_done_across_a_takeover(void **state)
{
	struct fix *f = *state;
	bool held = false;

	assert_int_equal(lease_take(f->la, 0, &held), HE_OK);
	assert_true(held);
	/* A answers m1 fully; m2 is taken, then A dies before its reply leaves */
	assert_int_equal(irc_owed_take(f->a, SEC, "m1", 1000), IRC_OWED_OPEN);
	assert_int_equal(irc_owed_done(f->a, SEC, "m1"), HE_OK);
	assert_int_equal(irc_owed_take(f->a, SEC, "m2", 1000), IRC_OWED_OPEN);
	/* the standby may not take anything while A holds the lease */
	assert_int_equal(lease_take(f->lb, 0, &held), HE_OK);
	assert_false(held);
	assert_int_equal(irc_owed_take(f->b, SEC, "m3", 1000), HE_PERM);

	/* A's lease runs out; B takes over and sees the replay of m1, m2, m3 */
	assert_int_equal(db_runf(store_sql(f->b), NULL, "UPDATE lease SET expires_at = 0 WHERE section = ?",
				 "s", SEC), HE_OK);
	assert_int_equal(lease_take(f->lb, 0, &held), HE_OK);
	assert_true(held);
	assert_int_equal(irc_owed_take(f->b, SEC, "m1", 1010), IRC_OWED_DONE);  /* never twice */
	assert_int_equal(irc_owed_take(f->b, SEC, "m2", 1010), IRC_OWED_OPEN);  /* owed: answer */
	assert_int_equal(irc_owed_take(f->b, SEC, "m3", 1010), IRC_OWED_OPEN);  /* never seen */
	assert_int_equal(irc_owed_done(f->b, SEC, "m2"), HE_OK);
	assert_int_equal(irc_owed_take(f->b, SEC, "m2", 1011), IRC_OWED_DONE);

	/* A wakes up with its old fence: it can neither take nor finish */
	assert_int_equal(irc_owed_take(f->a, SEC, "m4", 1012), HE_PERM);
	assert_int_equal(irc_owed_done(f->a, SEC, "m3"), HE_PERM);
	assert_int_equal(irc_owed_take(f->b, SEC, "m3", 1012), IRC_OWED_OPEN);
	assert_int_equal(irc_owed_take(f->b, SEC, "m4", 1012), IRC_OWED_OPEN);

	/* another network's ids are its own */
	assert_int_equal(irc_owed_take(f->b, "irc.other", "m1", 1012), IRC_OWED_OPEN);
}

static void prune_drops_old_rows(void **state)
{
	struct fix *f = *state;
	int64_t n = -1;
	bool held = false;

	/* an instance that never held the lease takes nothing */
	assert_int_equal(irc_owed_take(f->a, SEC, "old", 1000), HE_PERM);
	assert_int_equal(lease_take(f->la, 0, &held), HE_OK);
	assert_true(held);
	assert_int_equal(irc_owed_take(f->a, SEC, "old", 1000), IRC_OWED_OPEN);
	assert_int_equal(irc_owed_done(f->a, SEC, "old"), HE_OK);
	assert_int_equal(irc_owed_take(f->a, SEC, "new", 1000 + IRC_OWED_KEEP_S), IRC_OWED_OPEN);
	assert_int_equal(irc_owed_prune(f->a, 1001 + IRC_OWED_KEEP_S), HE_OK);
	assert_int_equal(db_int64f(store_sql(f->a), &n, "SELECT COUNT(*) FROM irc_owed", ""), HE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(irc_owed_take(f->a, SEC, "new", 1002 + IRC_OWED_KEEP_S), IRC_OWED_OPEN);
}

static void server_time_parses_only_its_form(void **state)
{
	int64_t t = 0;

	assert_int_equal(irc_server_time_ms("2026-11-30T21:25:21.000Z", &t), HE_OK);
	assert_int_equal(t, 1796073921000LL);
	assert_int_equal(irc_server_time_ms("2026-11-30T21:25:21.5Z", &t), HE_OK);
	assert_int_equal(t, 1796073921500LL);
	assert_int_equal(irc_server_time_ms("2026-11-30T21:25:21.123456Z", &t), HE_OK);
	assert_int_equal(t, 1796073921123LL);
	assert_int_equal(irc_server_time_ms("2026-11-30T21:25:21Z", &t), HE_OK);
	assert_int_equal(t, 1796073921000LL);
	const char *bad[] = { NULL, "", "2026-11-30T21:25:21", "2026-11-30 21:25:21Z",
			      "2026-11-30T21:25:21.Z", "2026-11-30T21:25:21.000Zx", "2026-13-30T21:25:21Z",
			      "2026-11-30T24:00:00Z", "1969-12-31T23:59:59Z", "+026-11-30T21:25:21Z",
			      "2026-11-30T21:25:21+01:00", "yesterday" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = 42;
		assert_int_equal(irc_server_time_ms(bad[i], &t), HE_INVAL);
		assert_int_equal(t, 42);
	}
}

static void replay_window(void **state)
{
	int64_t now = 1796073921000LL;

	assert_true(irc_replay_recent(now, now));
	assert_true(irc_replay_recent(now - IRC_REPLAY_MAX_AGE_S * 1000LL, now));
	assert_false(irc_replay_recent(now - IRC_REPLAY_MAX_AGE_S * 1000LL - 1, now));   /* too old */
	assert_false(irc_replay_recent(now - 24 * 3600 * 1000LL, now));
	assert_true(irc_replay_recent(now + IRC_REPLAY_MAX_FUTURE_S * 1000LL, now));
	assert_false(irc_replay_recent(now + IRC_REPLAY_MAX_FUTURE_S * 1000LL + 1, now)); /* future */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(take_done_across_a_takeover, setup, teardown),
		cmocka_unit_test_setup_teardown(prune_drops_old_rows, setup, teardown),
		cmocka_unit_test(server_time_parses_only_its_form),
		cmocka_unit_test(replay_window),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
