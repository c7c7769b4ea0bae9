/* Unit tests for bot/care/mod.c: !mod through the real router, store and content, with a
 * recording transport (testapp.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "care/mood.h"
#include "care/rooms.h"
#include "care/sched.h"
#include "testapp.h"

#define ROOM "!group:hs"
#define MOD HROLE_MODERATOR
#define MEMBER HROLE_MEMBER
#define DAY_S 86400

struct fx {
	struct testapp *ta;
	char dir[64];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char path[128];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/hearth-test-mod-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	/* Keys and files of other modules (mood.key) go to the temporary folder, not $HOME. */
	setenv("XDG_DATA_HOME", f->dir, 1);
	snprintf(path, sizeof(path), "%s/hearth", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	f->ta = ta_new(":memory:");
	assert_non_null(f->ta);
	f->ta->app.fake_now = 1782864000; /* 2026-07-01 00:00 UTC */
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	ta_free(f->ta);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Says text and returns the last reply (asserting there was exactly one). */
static const char *say1(struct testapp *ta, const char *sender, bool priv, enum hrole role, const char *text)
{
	size_t n = ta_say(ta, sender, priv ? "dm:x" : ROOM, priv, role, text);

	if (n != 1)
		print_error("\"%s\" got %zu replies\n", text, n);
	assert_int_equal(n, 1);
	return ta_last(ta);
}

static void expect_has(const char *got, const char *needle)
{
	if (!strstr(got, needle))
		print_error("reply \"%s\" lacks \"%s\"\n", got, needle);
	assert_non_null(strstr(got, needle));
}

static size_t n_sched(struct testapp *ta, const char *room)
{
	struct sched_entry *v = NULL;
	size_t n = 0;

	assert_int_equal(sched_list(&ta->app, "test", room, &v, &n), HE_OK);
	free(v);
	return n;
}

static bool paused(struct testapp *ta)
{
	struct room_settings rs;

	assert_int_equal(rooms_get(&ta->app, "test", ROOM, &rs), HE_OK);
	return rs.paused;
}

static void test_member_is_refused_nothing_changes(void **state)
{
	struct testapp *ta = ((struct fx *)*state)->ta;
	const char *r;

	r = say1(ta, "@bob:hs", false, MEMBER, "!mod checkin add \"0 9 * * *\" UTC");
	expect_has(r, "only this room's moderators");
	expect_has(r, "Nothing was changed");
	assert_int_equal(n_sched(ta, ROOM), 0);
	r = say1(ta, "@bob:hs", false, MEMBER, "!mod pause");
	expect_has(r, "Nothing was changed");
	assert_false(paused(ta));
	r = say1(ta, "@bob:hs", false, MEMBER, "!mod quiet 22:00-07:00");
	expect_has(r, "Nothing was changed");
	{
		struct room_settings rs;
		assert_int_equal(rooms_get(&ta->app, "test", ROOM, &rs), HE_OK);
		assert_int_equal(rs.quiet_start, -1);
	}
}

static void test_pause_silences_learn_not_crisis_or_help(void **state)
{
	struct testapp *ta = ((struct fx *)*state)->ta;
	const char *r;

	assert_int_equal(ta_say(ta, "@bob:hs", ROOM, false, MEMBER, "!learn"), 1);
	r = say1(ta, "@mod:hs", false, MOD, "!mod pause");
	expect_has(r, "Paused");
	expect_has(r, "!crisis");
	assert_true(paused(ta));
	assert_int_equal(ta_say(ta, "@bob:hs", ROOM, false, MEMBER, "!learn"), 0);
	assert_int_equal(ta_say(ta, "@bob:hs", ROOM, false, MEMBER, "!checkin"), 0);
	assert_true(ta_say(ta, "@bob:hs", ROOM, false, MEMBER, "!crisis") >= 1);
	assert_true(ta_say(ta, "@bob:hs", ROOM, false, MEMBER, "!help") >= 1);
	r = say1(ta, "@mod:hs", false, MOD, "!mod pause");
	expect_has(r, "already paused");
	r = say1(ta, "@mod:hs", false, MOD, "!mod resume");
	expect_has(r, "I'm back");
	assert_false(paused(ta));
	assert_int_equal(ta_say(ta, "@bob:hs", ROOM, false, MEMBER, "!learn"), 1);
	r = say1(ta, "@mod:hs", false, MOD, "!mod resume");
	expect_has(r, "not paused");
}

static void test_checkin_add_list_remove(void **state)
{
	struct testapp *ta = ((struct fx *)*state)->ta;
	char cmd[64], id[16];
	const char *r, *hash;

	r = say1(ta, "@mod:hs", false, MOD, "!mod checkin add \"0 9 * * 1-5\" Europe/Berlin");
	expect_has(r, "added");
	expect_has(r, "Europe/Berlin");
	expect_has(r, "Wed 2026-07-01 09:00"); /* it is 02:00 on a Wednesday in Berlin */
	hash = strstr(r, "#");
	assert_non_null(hash);
	snprintf(id, sizeof(id), "%ld", strtol(hash + 1, NULL, 10));
	assert_int_equal(n_sched(ta, ROOM), 1);

	/* Phones type curly quotes; a bare expression works too. */
	r = say1(ta, "@mod:hs", false, MOD, "!mod checkin add \xe2\x80\x9c" "30 18 * * 0\xe2\x80\x9d");
	expect_has(r, "added");
	r = say1(ta, "@mod:hs", false, MOD, "!mod checkin add @daily Asia/Tokyo");
	expect_has(r, "Asia/Tokyo");
	assert_int_equal(n_sched(ta, ROOM), 3);

	r = say1(ta, "@mod:hs", false, MOD, "!mod checkin list");
	expect_has(r, "0 9 * * 1-5");
	expect_has(r, "30 18 * * 0");
	expect_has(r, "@daily");

	/* Another room's moderator cannot remove it. */
	snprintf(cmd, sizeof(cmd), "!mod checkin remove %s", id);
	assert_int_equal(ta_say(ta, "@mod:hs", "!other:hs", false, MOD, cmd), 1);
	expect_has(ta_last(ta), "no scheduled check-in");
	assert_int_equal(n_sched(ta, ROOM), 3);

	r = say1(ta, "@mod:hs", false, MOD, cmd);
	expect_has(r, "removed");
	assert_int_equal(n_sched(ta, ROOM), 2);
	r = say1(ta, "@mod:hs", false, MOD, "!mod checkin remove banana");
	expect_has(r, "Nothing was removed");
	assert_int_equal(n_sched(ta, ROOM), 2);
}

static void test_checkin_errors_are_kind_and_store_nothing(void **state)
{
	struct testapp *ta = ((struct fx *)*state)->ta;
	const char *r;

	r = say1(ta, "@mod:hs", false, MOD, "!mod checkin add \"75 9 * * *\"");
	expect_has(r, "minute must be 0-59, got 75");
	expect_has(r, "Nothing was added");
	r = say1(ta, "@mod:hs", false, MOD, "!mod checkin add \"0 9 * *\"");
	expect_has(r, "expected 5 fields");
	r = say1(ta, "@mod:hs", false, MOD, "!mod checkin add \"0 9 * * *\" Atlantis/Capital");
	expect_has(r, "don't know the time zone");
	expect_has(r, "Nothing was added");
	r = say1(ta, "@mod:hs", false, MOD, "!mod checkin add \"0 9 * * *");
	expect_has(r, "closing quote");
	r = say1(ta, "@mod:hs", false, MOD, "!mod checkin add \"* 9 * * *\"");
	expect_has(r, "at least an hour apart");
	r = say1(ta, "@mod:hs", false, MOD, "!mod checkin add \"0 9 * * *\" UTC and more");
	expect_has(r, "Nothing was added");
	r = say1(ta, "@mod:hs", false, MOD, "!mod checkin add");
	expect_has(r, "in quotes");
	assert_int_equal(n_sched(ta, ROOM), 0);
}

static void test_quiet_hours(void **state)
{
	struct testapp *ta = ((struct fx *)*state)->ta;
	struct room_settings rs;
	const char *r;

	r = say1(ta, "@mod:hs", false, MOD, "!mod quiet 22:00-07:00 Europe/Berlin");
	expect_has(r, "22:00-07:00");
	expect_has(r, "skipped");
	assert_int_equal(rooms_get(&ta->app, "test", ROOM, &rs), HE_OK);
	assert_int_equal(rs.quiet_start, 22 * 60);
	assert_int_equal(rs.quiet_end, 7 * 60);
	assert_string_equal(rs.tz, "Europe/Berlin");

	r = say1(ta, "@mod:hs", false, MOD, "!mod quiet 23:00-25:00");
	expect_has(r, "Nothing was changed");
	r = say1(ta, "@mod:hs", false, MOD, "!mod quiet 23:00-06:00 Nowhere/Land");
	expect_has(r, "Nothing was changed");
	assert_int_equal(rooms_get(&ta->app, "test", ROOM, &rs), HE_OK);
	assert_int_equal(rs.quiet_start, 22 * 60);
	assert_string_equal(rs.tz, "Europe/Berlin");

	r = say1(ta, "@mod:hs", false, MOD, "!mod quiet");
	expect_has(r, "22:00-07:00 (Europe/Berlin)");
	r = say1(ta, "@mod:hs", false, MOD, "!mod quiet off");
	expect_has(r, "off");
	assert_int_equal(rooms_get(&ta->app, "test", ROOM, &rs), HE_OK);
	assert_int_equal(rs.quiet_start, -1);
}

static void test_private_chat_explains(void **state)
{
	struct testapp *ta = ((struct fx *)*state)->ta;
	const char *r;

	r = say1(ta, "@mod:hs", true, MOD, "!mod pause");
	expect_has(r, "group room");
	expect_has(r, "Nothing was changed");
	assert_false(paused(ta));
	r = say1(ta, "@mod:hs", true, MOD, "!mod checkin add \"0 9 * * *\"");
	expect_has(r, "group room");
	assert_int_equal(n_sched(ta, "dm:x"), 0);
	r = say1(ta, "@mod:hs", true, MOD, "!mod help");
	expect_has(r, "!mod checkin add");
	expect_has(r, "skipped, not saved up");
}

static void test_help_and_unknown(void **state)
{
	struct testapp *ta = ((struct fx *)*state)->ta;
	const char *r;

	r = say1(ta, "@mod:hs", false, MOD, "!mod help");
	expect_has(r, "!mod pause");
	expect_has(r, "!mod resume");
	expect_has(r, "!mod reload");
	expect_has(r, "!mod stats");
	expect_has(r, "!mod quiet");
	expect_has(r, "!mod checkin remove");
	r = say1(ta, "@mod:hs", false, MOD, "!mod");
	expect_has(r, "!mod pause");
	r = say1(ta, "@mod:hs", false, MOD, "!mod frobnicate");
	expect_has(r, "!mod help");
}

static void test_reload_reports_success_and_errors(void **state)
{
	struct fx *f = *state;
	struct testapp *ta = f->ta;
	const struct content *before;
	char bad[128], *saved;
	const char *r;

	r = say1(ta, "@mod:hs", false, MOD, "!mod reload");
	expect_has(r, "Content reloaded");
	expect_has(r, "check-in prompts");
	before = ta->app.content;

	/* A content folder with a broken prompts file: the old content keeps serving. */
	snprintf(bad, sizeof(bad), "%s/content", f->dir);
	{
		char cmd[512];
		snprintf(cmd, sizeof(cmd), "cp -r '%s/content' '%s' && printf 'not a heading\\n' > '%s/prompts.md'",
			 ta_src(), bad, bad);
		assert_int_equal(system(cmd), 0);
	}
	saved = ta->app.cfg->content_dir;
	ta->app.cfg->content_dir = bad;
	r = say1(ta, "@mod:hs", false, MOD, "!mod reload");
	expect_has(r, "couldn't reload");
	expect_has(r, "prompts.md");
	assert_null(strstr(r, f->dir)); /* the server's paths stay out of the room */
	assert_ptr_equal(ta->app.content, before);
	ta->app.cfg->content_dir = saved;
	assert_true(ta_say(ta, "@bob:hs", ROOM, false, MEMBER, "!checkin") == 1);
}

static void mood_as(struct testapp *ta, const char *who, const char *score)
{
	char line[64];

	ta_say(ta, who, "dm:x", true, MEMBER, "!mood optin");
	ta_say(ta, who, "dm:x", true, MEMBER, "!mood optin confirm");
	snprintf(line, sizeof(line), "!mood %s", score);
	ta_say(ta, who, ROOM, false, MEMBER, line);
}

/* An entry logged from the room at a given time (as if typed then). */
static void entry_at(struct testapp *ta, const char *who, time_t ts, int score)
{
	struct mood_entry_in e = { .score = score };

	assert_int_equal(mood_log(&ta->app, "test", who, ROOM, ts, &e), 0);
}

/* The moderator's stats reply, copied. */
static char *stats(struct testapp *ta, const char *args)
{
	char line[64];
	const char *r;

	snprintf(line, sizeof(line), "!mod stats%s%s", *args ? " " : "", args);
	r = say1(ta, "@mod:hs", false, MOD, line);
	assert_true(ta->replies[ta->n - 1].is_private);
	return strdup(r);
}

/* The difference attack: five members log 5, the moderator reads the totals; a sixth logs once
 * and the moderator reads again. Only closed days count, so the second answer is the first. */
static void test_stats_difference_attack(void **state)
{
	struct testapp *ta = ((struct fx *)*state)->ta;
	const char *members[] = { "@m1:hs", "@m2:hs", "@m3:hs", "@m4:hs", "@m5:hs" };
	const time_t day1 = 1782864000; /* 2026-07-01 00:00 UTC */
	char *before, *r;

	assert_int_equal(ta->app.cfg->stats_min_members, 5);
	ta->app.fake_now = day1 + 10 * 3600;
	for (int i = 0; i < 5; i++)
		mood_as(ta, members[i], "5");
	/* Today does not count: nothing to show yet. */
	r = stats(ta, "");
	expect_has(r, "not showing numbers");
	expect_has(r, "never today");
	assert_null(strstr(r, "verage"));
	assert_null(strstr(r, "5.0"));
	free(r);

	/* The next day, the 1st is closed: banded and rounded. */
	ta->app.fake_now = day1 + DAY_S + 9 * 3600;
	before = stats(ta, "");
	expect_has(before, "Entries: 5-9, from 5-9 members");
	expect_has(before, "Average: 5.0 out of 10");
	expect_has(before, "Days counted: 1");
	for (int i = 0; i < 5; i++)
		assert_null(strstr(before, members[i]));

	/* The sixth member logs a 2 today, and one of the five logs again: nothing changes. */
	mood_as(ta, "@m6:hs", "2");
	mood_as(ta, members[0], "9");
	r = stats(ta, "");
	assert_string_equal(r, before);
	free(r);
	/* Nor tomorrow: the 2nd had two members, fewer than k, so it is not counted. */
	ta->app.fake_now += DAY_S;
	r = stats(ta, "");
	assert_string_equal(r, before);
	free(r);

	/* A day with four members is never counted, whatever they logged. */
	for (int i = 0; i < 4; i++)
		entry_at(ta, members[i], day1 - DAY_S + 3600, 1);
	r = stats(ta, "");
	assert_string_equal(r, before);
	free(r);

	/* One more entry on the closed 1st, within the band and the rounding (31/6 = 5.17): the
	 * answer is the same, so it cannot be told apart. */
	entry_at(ta, "@m6:hs", day1 + 12 * 3600, 6);
	r = stats(ta, "");
	assert_string_equal(r, before);
	free(r);
	/* Rounding to the half: 39/7 = 5.57 shows as 5.5; the count stays in its band. */
	entry_at(ta, "@m6:hs", day1 + 13 * 3600, 8);
	r = stats(ta, "");
	expect_has(r, "Entries: 5-9, from 5-9 members");
	expect_has(r, "Average: 5.5 out of 10");
	assert_null(strstr(r, "5.6"));
	free(r);
	/* 10 entries: the next band. */
	for (int i = 0; i < 3; i++)
		entry_at(ta, members[1 + i], day1 + (14 + i) * 3600, 5);
	r = stats(ta, "");
	expect_has(r, "Entries: 10-19, from 5-9 members");
	free(r);
	/* "1 day" is yesterday only: the 2nd, with two members. */
	r = stats(ta, "1");
	expect_has(r, "not showing numbers");
	free(r);
	free(before);
	/* Days the retention purge can reach are not counted, and the answer says so. */
	ta->app.cfg->mood_retention_days = 3;
	r = stats(ta, "");
	expect_has(r, "entries are kept 3 days, so only the last 2 can count");
	free(r);
	ta->app.cfg->mood_retention_days = 365;

	/* Days are the room's days: its quiet-hours zone. */
	say1(ta, "@mod:hs", false, MOD, "!mod quiet 23:00-06:00 Pacific/Auckland");
	r = stats(ta, "");
	expect_has(r, "Pacific/Auckland days");
	free(r);

	expect_has(say1(ta, "@mod:hs", false, MOD, "!mod stats 0"), "from 1 to 365");
	expect_has(say1(ta, "@mod:hs", false, MOD, "!mod stats lots"), "from 1 to 365");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_member_is_refused_nothing_changes),
		T(test_pause_silences_learn_not_crisis_or_help),
		T(test_checkin_add_list_remove),
		T(test_checkin_errors_are_kind_and_store_nothing),
		T(test_quiet_hours),
		T(test_private_chat_explains),
		T(test_help_and_unknown),
		T(test_reload_reports_success_and_errors),
		T(test_stats_difference_attack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
