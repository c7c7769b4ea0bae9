/* Unit tests for one-tap check-in answers (bot/care/mood_tap.c) through a real app: the room
 * events a transport reports (HEV_SCALE_ANSWER / HEV_SCALE_WITHDRAWN), what is stored and what
 * is said privately. Hostile cases: a flood of taps, someone else taking a tap back, an id that
 * can pass to someone else, a tap taken back too late. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "care/mood.h"
#include "core/log.h"
#include "testapp.h"

static struct htransport_ops ops;
static int privates;
static char last_private[512], last_to[64];

static int post_private_cb(struct htransport *t, const char *member, const char *md)
{
	privates++;
	snprintf(last_private, sizeof(last_private), "%s", md);
	snprintf(last_to, sizeof(last_to), "%s", member);
	return HE_OK;
}

static size_t say(struct testapp *ta, const char *who, const char *text)
{
	char dm[96];
	struct hmsg m = { .network = "test", .room = dm, .sender = who, .sender_name = who,
			  .text = text, .is_private = true, .role = HROLE_MEMBER, .via = &ta->t };

	snprintf(dm, sizeof(dm), "dm:%s", who);
	happ_dispatch(&ta->app, &m);
	return ta->n;
}

static int tap(struct testapp *ta, enum hevent_kind kind, const char *who, int score, const char *answer,
	       const char *about, bool transient)
{
	struct hevent ev = { .kind = kind, .network = "test", .room = "!room", .member = who,
			     .member_name = who, .member_transient = transient, .via = &ta->t,
			     .score = score, .answer = answer, .about = about };
	return happ_room_event(&ta->app, &ev);
}

static long entries(struct testapp *ta, const char *who)
{
	return store_count(ta->app.store, "SELECT count(*) FROM mood_entry WHERE member = ?", "s", who);
}

static int setup(void **state)
{
	struct testapp *ta;

	hlog_set_level(HLOG_ERROR);
	ta = ta_new(":memory:");
	assert_non_null(ta);
	ta->app.fake_now = 1773576000;
	ops = *ta->t.ops;
	ops.post_private = post_private_cb;
	ta->t.ops = &ops;
	privates = 0;
	last_private[0] = last_to[0] = '\0';
	*state = ta;
	return 0;
}

static int teardown(void **state)
{
	ta_free(*state);
	return 0;
}

static void optin(struct testapp *ta, const char *who)
{
	say(ta, who, "!mood optin");
	say(ta, who, "!mood optin confirm");
	assert_non_null(strstr(ta_last(ta), "only you can see it"));
}

static void test_tap_logs_once_and_confirms(void **state)
{
	struct testapp *ta = *state;

	optin(ta, "@a:hs");
	tap(ta, HEV_SCALE_ANSWER, "@a:hs", 8, "$r1", "$p1", false);
	assert_int_equal(entries(ta, "@a:hs"), 1);
	assert_int_equal(privates, 1);
	assert_string_equal(last_to, "@a:hs");
	assert_non_null(strstr(last_private, "Logged **8**"));
	assert_non_null(strstr(last_private, "`!mood 8 <your words>`"));
	/* a flood on the same check-in: nothing more stored, nothing more said */
	for (int i = 0; i < 50; i++) {
		char id[16];
		snprintf(id, sizeof(id), "$f%d", i);
		tap(ta, HEV_SCALE_ANSWER, "@a:hs", 2 + 2 * (i % 5), id, "$p1", false);
	}
	assert_int_equal(entries(ta, "@a:hs"), 1);
	assert_int_equal(privates, 1);
	/* taps on many check-ins: at most 10 an hour */
	for (int i = 0; i < 30; i++) {
		char id[16], about[16];
		snprintf(id, sizeof(id), "$g%d", i);
		snprintf(about, sizeof(about), "$q%d", i);
		tap(ta, HEV_SCALE_ANSWER, "@a:hs", 6, id, about, false);
	}
	assert_int_equal(entries(ta, "@a:hs"), 10);
}

static void test_only_the_tapper_takes_it_back_in_time(void **state)
{
	struct testapp *ta = *state;

	optin(ta, "@a:hs");
	optin(ta, "@m:hs");
	tap(ta, HEV_SCALE_ANSWER, "@a:hs", 4, "$r1", "$p1", false);
	assert_int_equal(entries(ta, "@a:hs"), 1);
	/* someone else's redaction (a moderator): the entry stays, nobody is told */
	privates = 0;
	assert_int_equal(tap(ta, HEV_SCALE_WITHDRAWN, "@m:hs", 0, "$r1", NULL, false), HE_PERM);
	assert_int_equal(entries(ta, "@a:hs"), 1);
	assert_int_equal(privates, 0);
	/* the member, within ten minutes: removed, and told */
	ta->app.fake_now += 9 * 60;
	assert_int_equal(tap(ta, HEV_SCALE_WITHDRAWN, "@a:hs", 0, "$r1", NULL, false), HE_OK);
	assert_int_equal(entries(ta, "@a:hs"), 0);
	assert_non_null(strstr(last_private, "took the 4 out"));
	/* a tap on a new check-in taken back after more than ten minutes: it stays */
	tap(ta, HEV_SCALE_ANSWER, "@a:hs", 10, "$r2", "$p2", false);
	ta->app.fake_now += 11 * 60;
	tap(ta, HEV_SCALE_WITHDRAWN, "@a:hs", 0, "$r2", NULL, false);
	assert_int_equal(entries(ta, "@a:hs"), 1);
	assert_non_null(strstr(last_private, "stays in your log"));
	/* an unknown tap */
	assert_int_equal(tap(ta, HEV_SCALE_WITHDRAWN, "@a:hs", 0, "$nope", NULL, false), HE_NOTFOUND);
}

static void test_no_log_no_store_one_hint(void **state)
{
	struct testapp *ta = *state;

	tap(ta, HEV_SCALE_ANSWER, "@b:hs", 6, "$r1", "$p1", false);
	tap(ta, HEV_SCALE_ANSWER, "@b:hs", 2, "$r2", "$p2", false);
	tap(ta, HEV_SCALE_ANSWER, "@b:hs", 4, "$r3", "$p3", false);
	assert_int_equal(entries(ta, "@b:hs"), 0);
	assert_int_equal(store_count(ta->app.store, "SELECT count(*) FROM mood_consent", ""), 0);
	assert_int_equal(privates, 1);
	assert_non_null(strstr(last_private, "!mood optin"));
	/* an id that can pass to someone else: nothing at all, even with a log under that id */
	optin(ta, "nick");
	privates = 0;
	tap(ta, HEV_SCALE_ANSWER, "nick", 6, "$r4", "$p4", true);
	assert_int_equal(entries(ta, "nick"), 0);
	assert_int_equal(privates, 0);
	/* bad scores */
	optin(ta, "@c:hs");
	assert_int_equal(tap(ta, HEV_SCALE_ANSWER, "@c:hs", 0, "$r5", "$p5", false), HE_INVAL);
	assert_int_equal(tap(ta, HEV_SCALE_ANSWER, "@c:hs", 11, "$r6", "$p6", false), HE_INVAL);
	assert_int_equal(entries(ta, "@c:hs"), 0);
}

static struct testapp *open_at(const char *db, time_t now)
{
	struct testapp *ta = ta_new(db);

	assert_non_null(ta);
	ta->app.fake_now = now;
	ops = *ta->t.ops;
	ops.post_private = post_private_cb;
	ta->t.ops = &ops;
	return ta;
}

/* Issue 11: what links a tap to its entry is in the store, so taking the tap back after a
 * restart still removes the entry (and still only for the member who tapped); `!mood forget`
 * takes the links too. */
static void test_taken_back_after_restart(void **state)
{
	char dir[] = "/tmp/hearth-tap-XXXXXX", db[64], cmd[64];
	struct testapp *ta;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/h.db", dir);
	ta = open_at(db, 1773576000);
	optin(ta, "@a:hs");
	optin(ta, "@b:hs");
	assert_int_equal(tap(ta, HEV_SCALE_ANSWER, "@a:hs", 8, "$r1", "$p1", false), HE_OK);
	assert_int_equal(tap(ta, HEV_SCALE_ANSWER, "@b:hs", 4, "$r2", "$p1", false), HE_OK);
	assert_int_equal(entries(ta, "@a:hs"), 1);
	ta_free(ta);

	ta = open_at(db, 1773576000 + 120); /* restarted, two minutes later */
	privates = 0;
	/* someone else's redaction (a moderator's): the entry stays */
	assert_int_equal(tap(ta, HEV_SCALE_WITHDRAWN, "@b:hs", 0, "$r1", NULL, false), HE_PERM);
	assert_int_equal(entries(ta, "@a:hs"), 1);
	assert_int_equal(tap(ta, HEV_SCALE_WITHDRAWN, "@a:hs", 0, "$r1", NULL, false), HE_OK);
	assert_int_equal(entries(ta, "@a:hs"), 0);
	assert_int_equal(privates, 1);
	assert_non_null(strstr(last_private, "took the 8 out"));
	/* taken back once: a second redaction does nothing */
	assert_int_equal(tap(ta, HEV_SCALE_WITHDRAWN, "@a:hs", 0, "$r1", NULL, false), HE_NOTFOUND);
	/* one entry per check-in holds across the restart too */
	assert_int_equal(tap(ta, HEV_SCALE_ANSWER, "@b:hs", 6, "$r3", "$p1", false), HE_OK);
	assert_int_equal(entries(ta, "@b:hs"), 1);
	/* forget takes the links as well */
	say(ta, "@b:hs", "!mood forget");
	say(ta, "@b:hs", "!mood forget confirm");
	assert_int_equal(store_count(ta->app.store, "SELECT count(*) FROM mood_tap WHERE member = ?",
				     "s", "@b:hs"), 0);
	assert_int_equal(store_count(ta->app.store, "SELECT count(*) FROM mood_tap WHERE member = ?",
				     "s", "@a:hs"), 1);
	/* the links go an hour after the tap */
	ta->app.fake_now = 1773576000 + 3601;
	assert_int_equal(tap(ta, HEV_SCALE_ANSWER, "@a:hs", 6, "$r4", "$p2", false), HE_OK);
	assert_int_equal(store_count(ta->app.store, "SELECT count(*) FROM mood_tap WHERE answer = ?",
				     "s", "$r1"), 0);
	ta_free(ta);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tap_logs_once_and_confirms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_only_the_tapper_takes_it_back_in_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_log_no_store_one_hint, setup, teardown),
		cmocka_unit_test(test_taken_back_after_restart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
