/* test_lease.c - the lease with a fencing number (store/lease.h), on SQLite and, as
 * unit.lease.pg (HEARTH_TEST_STORE=pg), on a real PostgreSQL: two "instances" are two store
 * connections to one database in this process, each with its own lease for "matrix". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "dbtest.h"
#include "store/lease.h"
#include "store/store.h"

struct fix {
	char *url;
	struct store *a, *b;       /* two instances' connections to one store */
	struct lease *la, *lb;
	int lost_a;
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

static void count_lost(struct lease *l, void *arg)
{
	struct fix *f = arg;
	f->lost_a++;
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
	if (lease_migrate(f->a) || lease_migrate(f->b))
		return -1;
	if (lease_new(f->a, "matrix", "host-a:1:aaaa", &f->la) ||
	    lease_new(f->b, "matrix", "host-b:2:bbbb", &f->lb))
		return -1;
	lease_on_lost(f->la, count_lost, f);
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

/* The server's clock moves on by ttl: the row of section expires now (as if the holder had
 * been silent for the whole TTL). */
static void expire_now(struct store *s)
{
	assert_int_equal(db_runf(store_sql(s), NULL, "UPDATE lease SET expires_at = 0 WHERE section = ?",
				 "s", "matrix"), HE_OK);
}

static int64_t row_fence(struct store *s)
{
	int64_t v = -1;
	assert_int_equal(db_int64f(store_sql(s), &v, "SELECT fence FROM lease WHERE section = ?", "s",
				   "matrix"), HE_OK);
	return v;
}

static void acquire_and_renew(void **state)
{
	struct fix *f = *state;
	bool held = false;

	assert_int_equal(lease_take(f->la, 0, &held), HE_OK);
	assert_true(held);
	assert_int_equal(lease_fence(f->la), 1);
	assert_true(lease_valid(f->la));

	/* the other instance waits */
	assert_int_equal(lease_take(f->lb, 0, &held), HE_OK);
	assert_false(held);
	assert_false(lease_valid(f->lb));
	assert_int_equal(lease_fence(f->lb), 0);

	/* renewing keeps the fence: the holder did not change */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(lease_take(f->la, 0, &held), HE_OK);
		assert_true(held);
		assert_int_equal(lease_fence(f->la), 1);
	}
	assert_int_equal(row_fence(f->a), 1);
	assert_int_equal(f->lost_a, 0);
}

static void expiry_takeover_bumps_fence(void **state)
{
	struct fix *f = *state;
	bool held = false;

	assert_int_equal(lease_take(f->la, 0, &held), HE_OK);
	assert_true(held);
	expire_now(f->a);
	assert_int_equal(lease_take(f->lb, 0, &held), HE_OK);
	assert_true(held);
	assert_int_equal(lease_fence(f->lb), 2);
	assert_int_equal(row_fence(f->a), 2);

	/* the old holder's renew finds another holder: lost, once */
	assert_int_equal(lease_take(f->la, 0, &held), HE_OK);
	assert_false(held);
	assert_true(lease_lost(f->la));
	assert_false(lease_valid(f->la));
	assert_int_equal(f->lost_a, 1);
	assert_int_equal(lease_take(f->la, 0, &held), HE_OK);
	assert_int_equal(f->lost_a, 1);

	/* back to a: the fence grows again (a then comes back as a new holder) */
	expire_now(f->b);
	assert_int_equal(lease_take(f->la, 0, &held), HE_OK);
	assert_true(held);
	assert_int_equal(lease_fence(f->la), 3);
	assert_false(lease_lost(f->la));
}

/* The stale holder still believes it holds the lease (its local deadline has not passed: say
 * its clock was slow): its fenced write is refused by the fence in the table, and nothing of
 * it reaches the store. */
static void stale_holder_write_refused(void **state)
{
	struct fix *f = *state;
	bool held = false, own = false;
	char *v = NULL;

	assert_int_equal(lease_take(f->la, 0, &held), HE_OK);
	assert_true(held);
	assert_int_equal(lease_open(f->a, "matrix", &own), HE_OK);
	assert_true(own);
	assert_int_equal(lease_end(f->a, own, store_kv_set(f->a, "matrix", "since", "s1")), HE_OK);

	expire_now(f->b);
	assert_int_equal(lease_take(f->lb, 0, &held), HE_OK);
	assert_true(held);
	assert_true(lease_valid(f->la)); /* a does not know yet */

	assert_int_equal(lease_open(f->a, "matrix", &own), HE_PERM);
	assert_false(own);
	assert_true(lease_lost(f->la));
	assert_int_equal(f->lost_a, 1);
	/* and it stays refused without asking the server again */
	assert_int_equal(lease_open(f->a, "matrix", &own), HE_PERM);

	/* the new holder writes */
	assert_int_equal(lease_open(f->b, "matrix", &own), HE_OK);
	assert_int_equal(lease_end(f->b, own, store_kv_set(f->b, "matrix", "since", "s2")), HE_OK);
	assert_int_equal(store_kv_get(f->a, "matrix", "since", &v), HE_OK);
	assert_string_equal(v, "s2");
	free(v);
}

/* Inside a caller's transaction: the fence is checked there, and the caller's writes roll back. */
static void guard_inside_transaction(void **state)
{
	struct fix *f = *state;
	bool held = false;
	char *v = NULL;

	assert_int_equal(lease_take(f->la, 0, &held), HE_OK);
	expire_now(f->b);
	assert_int_equal(lease_take(f->lb, 0, &held), HE_OK);
	assert_true(held);

	assert_int_equal(db_begin(store_sql(f->a)), HE_OK);
	assert_int_equal(store_kv_set(f->a, "matrix", "olm", "stale"), HE_OK);
	assert_int_equal(lease_guard_section(f->a, "matrix"), HE_PERM);
	assert_int_equal(db_rollback(store_sql(f->a)), HE_OK);
	assert_int_equal(store_kv_get(f->b, "matrix", "olm", &v), HE_NOTFOUND);
}

/* A process frozen past its TTL (SIGSTOP, a cut-off machine) finds its lease invalid on
 * waking, before it asks the server: it writes nothing, even where nobody took over. */
static void frozen_past_ttl_writes_nothing(void **state)
{
	struct fix *f = *state;
	bool held = false, own = false;
	char *v = NULL;

	assert_int_equal(lease_take(f->la, 200, &held), HE_OK); /* valid for 100 ms locally */
	assert_true(held);
	assert_true(lease_valid(f->la));
	usleep(150 * 1000);
	assert_false(lease_valid(f->la));
	assert_int_equal(lease_open(f->a, "matrix", &own), HE_PERM);
	assert_int_equal(f->lost_a, 1);
	assert_int_equal(store_kv_get(f->a, "matrix", "since", &v), HE_NOTFOUND);

	/* nobody took over meanwhile: a takes it again, with the same fence */
	assert_int_equal(lease_take(f->la, 0, &held), HE_OK);
	assert_true(held);
	assert_int_equal(lease_fence(f->la), 1);
}

/* A clean shutdown gives the lease up at once: the standby need not wait for the TTL. */
static void release_hands_over_at_once(void **state)
{
	struct fix *f = *state;
	bool held = false;

	assert_int_equal(lease_take(f->la, 0, &held), HE_OK);
	assert_int_equal(lease_take(f->lb, 0, &held), HE_OK);
	assert_false(held);
	assert_int_equal(lease_release(f->la), HE_OK);
	assert_int_equal(lease_take(f->lb, 0, &held), HE_OK);
	assert_true(held);
	assert_int_equal(lease_fence(f->lb), 2);
}

/* The daemon on SQLite (lease_set_exclusive: its lock file holds others out): a fenced write is
 * a plain write, no transaction opened and no fence read (they cost ~15% of a command's CPU),
 * inside a caller's transaction too; a lease that is not held still refuses. */
static void exclusive_writes_plain(void **state)
{
	struct fix *f = *state;
	bool held = false, own = true;

	if (on_pg())
		skip(); /* only the daemon on SQLite makes a lease exclusive */
	assert_int_equal(lease_open(f->a, "matrix", &own), HE_PERM); /* not taken yet */
	lease_set_exclusive(f->la, true);
	assert_int_equal(lease_take(f->la, 0, &held), HE_OK);
	assert_true(held);
	/* the row is gone: a fence read would refuse (HE_NOTFOUND), the exclusive lease does not */
	assert_int_equal(db_runf(store_sql(f->a), NULL, "DELETE FROM lease", ""), HE_OK);
	assert_int_equal(lease_open(f->a, "matrix", &own), HE_OK);
	assert_false(own);
	assert_false(db_in_tx(store_sql(f->a)));
	assert_int_equal(lease_end(f->a, own, store_kv_set(f->a, "matrix", "since", "s1")), HE_OK);
	assert_int_equal(db_begin(store_sql(f->a)), HE_OK);
	assert_int_equal(lease_guard_section(f->a, "matrix"), HE_OK);
	assert_int_equal(db_rollback(store_sql(f->a)), HE_OK);
	/* a renewal of the held exclusive lease writes nothing (the row stays gone) and keeps it */
	held = false;
	assert_int_equal(lease_take(f->la, 0, &held), HE_OK);
	assert_true(held);
	assert_int_equal(store_count(f->a, "SELECT count(*) FROM lease", ""), 0);
	assert_true(lease_valid(f->la));
	assert_int_equal(f->lost_a, 0);
}

/* Without a lease registered for the store (tools, tests), fenced writes simply run. */
static void no_lease_no_fence(void **state)
{
	struct fix *f = *state;
	struct store *c = NULL;
	bool own = false;

	assert_int_equal(open_one(f->url, &c), HE_OK);
	assert_null(lease_find("irc.none"));
	assert_int_equal(lease_open(c, "matrix", &own), HE_OK);
	assert_false(own);
	assert_int_equal(lease_end(c, own, store_kv_set(c, "matrix", "x", "1")), HE_OK);
	store_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(acquire_and_renew, setup, teardown),
		cmocka_unit_test_setup_teardown(expiry_takeover_bumps_fence, setup, teardown),
		cmocka_unit_test_setup_teardown(stale_holder_write_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(guard_inside_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(frozen_past_ttl_writes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(release_hands_over_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(no_lease_no_fence, setup, teardown),
		cmocka_unit_test_setup_teardown(exclusive_writes_plain, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
