/* test_lease_care.c - fencing beyond the transport (issue 13): two "instances" in this process,
 * each a whole app (config, store connection, content, care layer) on ONE store, each with its
 * own lease for "matrix" and a recording transport named "matrix". On SQLite (two connections to
 * one file) and, as unit.lease_care.pg, on PostgreSQL (two connections to one schema).
 *
 * What a stale instance (its lease ran out, or another holder took it: the fence grew) must not
 * do: post or mark a scheduled check-in, send or mark a mood reminder, act on a member's message
 * or a room event (and so write nothing those would: settings, entries), write the Matrix
 * session rows. The standby posts and marks nothing; after the takeover the new active posts
 * each due check-in exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "care/care.h"
#include "care/mood.h"
#include "care/mood_store.h"
#include "care/sched.h"
#include "care/vault.h"
#include "core/app.h"
#include "core/err.h"
#include "core/log.h"
#include "dbtest.h"
#include "net/matrix/mx.h"
#include "store/db.h"
#include "store/lease.h"
#include "store/store.h"
#include "testapp.h"

#define T_2026_06_30_NOON 1782820800   /* 2026-06-30 12:00 UTC */
#define T_2026_07_01 1782864000        /* 2026-07-01 00:00 UTC */
#define NINE (T_2026_07_01 + 9 * 3600 + 30)
#define NET "matrix"
#define ROOM "!group:hs"
#define MEMBER "@m:hs"
#define MAXREC 32

struct side {
	struct happ app;
	struct htransport t;
	struct lease *l;
	size_t nposts;     /* room posts (scheduled check-ins) */
	size_t nprivate;   /* unprompted private posts (reminders) */
	size_t nreplies;   /* replies to a message */
	size_t ngreets;
};

struct fix {
	char dir[64];
	char db[128];
	char key[128];
	struct side a, b;
};

static bool on_pg(void)
{
	const char *e = getenv("HEARTH_TEST_STORE");
	return e && strcmp(e, "pg") == 0;
}

static int rec_post(struct htransport *t, const char *room, const char *md)
{
	((struct side *)t->impl)->nposts++;
	return HE_OK;
}

static int rec_private(struct htransport *t, const char *member, const char *md)
{
	((struct side *)t->impl)->nprivate++;
	return HE_OK;
}

static int rec_reply(struct htransport *t, const struct hmsg *in, enum hdest dest, const char *md)
{
	((struct side *)t->impl)->nreplies++;
	return HE_OK;
}

static int rec_greet(struct htransport *t, const struct hevent *ev, const char *md)
{
	((struct side *)t->impl)->ngreets++;
	return HE_OK;
}

static void rec_free(struct htransport *t) {}

static const struct htransport_ops rec_ops = {
	.reply = rec_reply,
	.post = rec_post,
	.post_private = rec_private,
	.greet = rec_greet,
	.free = rec_free,
};

static void side_open(struct fix *f, struct side *s, const char *holder)
{
	assert_int_equal(ta_app_open(&s->app, f->db, f->dir, f->key), HE_OK);
	snprintf(s->t.name, sizeof(s->t.name), NET);
	s->t.ops = &rec_ops;
	s->t.impl = s;
	assert_int_equal(happ_add_transport(&s->app, &s->t), HE_OK);
	assert_int_equal(lease_migrate(s->app.store), HE_OK);
	assert_int_equal(lease_new(s->app.store, NET, holder, &s->l), HE_OK);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct vault *v = NULL;

	assert_non_null(f);
	hlog_set_level(HLOG_ERROR);
	if (on_pg() && !dbtest_pg_url()) {
		fprintf(stderr, "SKIP: HEARTH_TEST_STORE=pg but HEARTH_TEST_PG_URL is not set; run "
			"eval \"$(tests/pg/cluster.sh start)\" first\n");
		exit(77);
	}
	snprintf(f->dir, sizeof(f->dir), "/tmp/hearth-test-lease-care-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/hearth.db", f->dir);
	/* one mood key for both instances, as README tells an operator to provision it */
	snprintf(f->key, sizeof(f->key), "%s/mood.key", f->dir);
	assert_int_equal(vault_open(f->key, &v), HE_OK);
	vault_free(v);
	side_open(f, &f->a, "host-a:1:aaaa");
	side_open(f, &f->b, "host-b:2:bbbb");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	char cmd[128], *url = on_pg() ? dbtest_pg_url_for(f->db) : NULL;

	lease_free(f->a.l);
	lease_free(f->b.l);
	ta_app_close(&f->a.app);
	ta_app_close(&f->b.app);
	if (url) {
		dbtest_drop(url);
		free(url);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void set_now(struct fix *f, time_t t)
{
	f->a.app.fake_now = t;
	f->b.app.fake_now = t;
}

/* A holds the lease with a short TTL and stops renewing (killed, frozen, cut off); its time
 * runs out, and B, which waited as a standby, takes over: the fence grows. */
static void a_cut_off_b_takes_over(struct fix *f)
{
	bool held = false;

	assert_int_equal(lease_take(f->a.l, 300, &held), HE_OK);
	assert_true(held);
	assert_int_equal(lease_take(f->b.l, 0, &held), HE_OK);
	assert_false(held); /* the standby */
	usleep(450 * 1000);
	assert_int_equal(lease_take(f->b.l, 0, &held), HE_OK);
	assert_true(held);
	assert_true(lease_fence(f->b.l) > 1);
}

/* The harder case: A's own clock says its lease is still good (a clock that ran slow, a write
 * that started just before the deadline), yet the row expired and B took it over. */
static void fence_grew_under_a(struct fix *f)
{
	bool held = false;

	assert_int_equal(lease_take(f->a.l, 0, &held), HE_OK);
	assert_true(held);
	assert_int_equal(db_runf(store_sql(f->b.app.store), NULL,
				 "UPDATE lease SET expires_at = 0 WHERE section = ?", "s", NET), HE_OK);
	assert_int_equal(lease_take(f->b.l, 0, &held), HE_OK);
	assert_true(held);
	assert_true(lease_valid(f->a.l)); /* A does not know yet */
}

static long long add_schedule(struct fix *f)
{
	char err[512] = "";
	long long id = 0;

	set_now(f, T_2026_07_01 + 8 * 3600);
	assert_int_equal(sched_add(&f->b.app, NET, ROOM, "0 9 * * *", "UTC", &id, err, sizeof(err)), HE_OK);
	return id;
}

/* The first schedule's last fire; every schedule's must be the same. */
static time_t last_fire(struct side *s)
{
	struct sched_entry *v = NULL;
	size_t n = 0;
	time_t t;

	assert_int_equal(sched_list(&s->app, NULL, NULL, &v, &n), HE_OK);
	assert_true(n >= 1);
	t = v[0].last_fire;
	for (size_t i = 1; i < n; i++)
		assert_int_equal(v[i].last_fire, t);
	free(v);
	return t;
}

static int due(struct side *s)
{
	int posted = -1;

	assert_int_equal(sched_due(&s->app, s->app.fake_now, &posted), HE_OK);
	return posted;
}

/* Two instances, the standby with two check-ins due: it posts nothing and marks nothing; A,
 * cut off, wakes after B took over and posts nothing either; B posts each check-in once. */
static void standby_schedules_nothing_takeover_posts_once(void **state)
{
	struct fix *f = *state;
	bool held = false;
	time_t before;

	char err[512] = "";
	long long id = 0;

	add_schedule(f);
	/* a second room with a check-in at the same time */
	assert_int_equal(sched_add(&f->b.app, NET, "!other:hs", "0 9 * * *", "UTC", &id, err, sizeof(err)), HE_OK);
	assert_int_equal(lease_take(f->a.l, 300, &held), HE_OK);
	assert_true(held);
	before = last_fire(&f->a);
	set_now(f, NINE);
	/* the standby: its transport is there (a test), the lease is not: nothing */
	assert_int_equal(due(&f->b), 0);
	assert_int_equal(f->b.nposts, 0);
	assert_int_equal(last_fire(&f->b), before);
	/* A is cut off before its tick; its time runs out; B takes over */
	usleep(450 * 1000);
	assert_int_equal(lease_take(f->b.l, 0, &held), HE_OK);
	assert_true(held);
	/* A wakes with the check-in due: nothing posted, nothing marked */
	assert_int_equal(due(&f->a), 0);
	assert_int_equal(f->a.nposts, 0);
	assert_int_equal(last_fire(&f->a), before);
	assert_true(lease_lost(f->a.l));
	/* the new active posts each once, not twice */
	assert_int_equal(due(&f->b), 2);
	assert_int_equal(f->b.nposts, 2);
	assert_int_equal(last_fire(&f->b), NINE);
	assert_int_equal(due(&f->b), 0);
	f->b.app.fake_now = NINE + 120;
	assert_int_equal(due(&f->b), 0);
	assert_int_equal(f->b.nposts, 2);
	assert_int_equal(f->a.nposts, 0);
}

/* The fence grew while A's clock still says valid: the "sent" mark, taken before the post in a
 * fenced transaction, is refused, so A neither marks nor posts; B posts once. */
static void stale_fence_mark_refused_nothing_posted(void **state)
{
	struct fix *f = *state;
	time_t before;

	add_schedule(f);
	before = last_fire(&f->a);
	fence_grew_under_a(f);
	set_now(f, NINE);
	assert_int_equal(due(&f->a), 0);
	assert_int_equal(f->a.nposts, 0);
	assert_int_equal(last_fire(&f->a), before);
	assert_true(lease_lost(f->a.l));
	assert_int_equal(due(&f->b), 1);
	assert_int_equal(f->b.nposts, 1);
	assert_int_equal(due(&f->a), 0);
	assert_int_equal(f->a.nposts, 0);
}

static int say(struct side *s, const char *text)
{
	struct hmsg m = {
		.network = NET, .room = "!dm:hs", .sender = MEMBER, .sender_name = "m", .text = text,
		.is_private = true, .role = HROLE_MEMBER, .via = &s->t,
	};

	return happ_dispatch(&s->app, &m);
}

static int reminder_minute(struct side *s)
{
	int minute = -1;

	assert_true(mstore_reminder_get(&s->app, NET, MEMBER, &minute, NULL, 0));
	return minute;
}

static int64_t reminder_last_day(struct side *s)
{
	int64_t day = -1;

	assert_int_equal(db_int64f(store_sql(s->app.store), &day, "SELECT last_day FROM mood_reminder", ""), HE_OK);
	return day;
}

/* A member with consent and a reminder at 09:00, set through A while A was active. */
static void member_with_reminder(struct fix *f)
{
	bool held = false;

	set_now(f, T_2026_06_30_NOON);
	assert_int_equal(mstore_consent_give(&f->a.app, NET, MEMBER, 1), HE_OK);
	assert_int_equal(lease_take(f->a.l, 0, &held), HE_OK);
	assert_true(held);
	assert_int_equal(say(&f->a, "!mood remind 09:00"), HE_OK);
	assert_true(f->a.nreplies > 0);
	assert_int_equal(reminder_minute(&f->a), 9 * 60);
	f->a.nreplies = 0;
	assert_int_equal(lease_release(f->a.l), HE_OK);
}

/* A stale instance acts on no message and no room event: nothing is answered or written. */
static void stale_dispatch_and_events_refused(void **state)
{
	struct fix *f = *state;
	struct hevent ev = { .kind = HEV_MEMBER_JOINED, .network = NET, .room = ROOM, .member = "@new:hs",
			     .member_name = "new" };

	member_with_reminder(f);
	a_cut_off_b_takes_over(f);
	ev.via = &f->a.t;
	assert_int_equal(say(&f->a, "!mood remind 10:30"), HE_PERM);
	assert_int_equal(f->a.nreplies, 0);
	assert_int_equal(reminder_minute(&f->a), 9 * 60);
	assert_int_equal(say(&f->a, "!mood 7"), HE_PERM);
	assert_int_equal(mstore_count(&f->a.app, NET, MEMBER), 0);
	assert_int_equal(happ_room_event(&f->a.app, &ev), HE_PERM);
	assert_int_equal(f->a.ngreets, 0);
	/* the active one does */
	assert_int_equal(say(&f->b, "!mood remind 10:30"), HE_OK);
	assert_true(f->b.nreplies > 0);
	assert_int_equal(reminder_minute(&f->b), 10 * 60 + 30);
}

/* Mood reminders: the standby and the stale instance send none and mark none; the active
 * sends each once. */
static void reminders_only_from_the_active(void **state)
{
	struct fix *f = *state;
	int64_t day;
	int sent = -1;

	member_with_reminder(f);
	day = reminder_last_day(&f->a);
	set_now(f, NINE);
	{
		bool held = false;
		assert_int_equal(lease_take(f->a.l, 300, &held), HE_OK);
		assert_true(held);
	}
	assert_int_equal(mood_send_reminders(&f->b.app, &sent), HE_OK); /* the standby */
	assert_int_equal(sent, 0);
	assert_int_equal(f->b.nprivate, 0);
	usleep(450 * 1000);
	{
		bool held = false;
		assert_int_equal(lease_take(f->b.l, 0, &held), HE_OK);
		assert_true(held);
	}
	assert_int_equal(mood_send_reminders(&f->a.app, &sent), HE_OK); /* A woke up stale */
	assert_int_equal(sent, 0);
	assert_int_equal(f->a.nprivate, 0);
	assert_int_equal(reminder_last_day(&f->a), day);
	assert_int_equal(mood_send_reminders(&f->b.app, &sent), HE_OK);
	assert_int_equal(sent, 1);
	assert_int_equal(f->b.nprivate, 1);
	assert_true(reminder_last_day(&f->b) != day);
	assert_int_equal(mood_send_reminders(&f->b.app, &sent), HE_OK);
	assert_int_equal(sent, 0);
	assert_int_equal(f->b.nprivate, 1);
}

/* The Matrix session rows (access token, device id, filter) are written through the fence:
 * a stale instance neither sets nor deletes them. */
static void matrix_session_rows_fenced(void **state)
{
	struct fix *f = *state;
	struct mx *mx = calloc(1, sizeof(*mx));
	char *v = NULL;

	assert_non_null(mx);
	mx->app = &f->a.app;
	assert_int_equal(store_kv_set(f->a.app.store, MX_MOD, "device_id", "ACTIVEDEV"), HE_OK);
	fence_grew_under_a(f);
	assert_int_equal(mx_kv_set_fenced(mx, "device_id", "STALEDEV"), HE_PERM);
	assert_int_equal(mx_kv_set_fenced(mx, "access_token", NULL), HE_PERM);
	assert_int_equal(mx_kv_set_fenced(mx, "filter_id", "F"), HE_PERM);
	assert_int_equal(store_kv_get(f->b.app.store, MX_MOD, "device_id", &v), HE_OK);
	assert_string_equal(v, "ACTIVEDEV");
	free(v);
	v = NULL;
	assert_int_not_equal(store_kv_get(f->b.app.store, MX_MOD, "filter_id", &v), HE_OK);
	free(v);
	/* the active instance's writes go through, a delete too */
	mx->app = &f->b.app;
	assert_int_equal(mx_kv_set_fenced(mx, "filter_id", "F2"), HE_OK);
	assert_int_equal(mx_kv_set_fenced(mx, "device_id", NULL), HE_OK);
	v = NULL;
	assert_int_not_equal(store_kv_get(f->b.app.store, MX_MOD, "device_id", &v), HE_OK);
	free(v);
	free(mx);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(standby_schedules_nothing_takeover_posts_once),
		T(stale_fence_mark_refused_nothing_posted),
		T(stale_dispatch_and_events_refused),
		T(reminders_only_from_the_active),
		T(matrix_session_rows_fenced),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
