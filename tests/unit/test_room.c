/* Unit tests for a facilitator's room setup (issue 10, points 1-6): !mod status, per-room
 * settings, the welcome, check-ins with text or topic, topic of the week, the rate limit in
 * group rooms and the check-in rotation. Through the real router, store and content, with a
 * recording transport (testapp.h) that also records greetings. */
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

#include "care/checkin.h"
#include "care/limit.h"
#include "care/rooms.h"
#include "care/sched.h"
#include "care/welcome.h"
#include "store/store.h"
#include "testapp.h"

#define ROOM "!group:hs"
#define MOD HROLE_MODERATOR
#define MEMBER HROLE_MEMBER
#define T0 1782864000 /* 2026-07-01 00:00 UTC */

struct fx {
	struct testapp *ta;
	struct htransport_ops ops;
	char dir[64];
};

/* Greetings are recorded as replies whose room is "greet:MEMBER@ROOM". */
static int greet_cb(struct htransport *t, const struct hevent *ev, const char *md)
{
	const char *room = ev->room, *member = ev->member;
	struct testapp *ta = t->impl;
	char where[512];

	if (ta->n >= TA_MAX)
		return HE_TOOBIG;
	snprintf(where, sizeof(where), "greet:%s@%s", member, room);
	ta->replies[ta->n].dest = HDEST_PRIVATE;
	ta->replies[ta->n].room = strdup(where);
	ta->replies[ta->n].text = strdup(md);
	ta->n++;
	return HE_OK;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char path[128];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/hearth-test-room-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	setenv("XDG_DATA_HOME", f->dir, 1);
	snprintf(path, sizeof(path), "%s/hearth", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	f->ta = ta_new(":memory:");
	assert_non_null(f->ta);
	f->ops = *f->ta->t.ops;
	f->ops.greet = greet_cb;
	f->ta->t.ops = &f->ops;
	f->ta->app.fake_now = T0;
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

static size_t mod(struct testapp *ta, const char *text)
{
	return ta_say(ta, "@mo:hs", ROOM, false, MOD, text);
}

static size_t member(struct testapp *ta, const char *who, const char *text)
{
	return ta_say(ta, who, ROOM, false, MEMBER, text);
}

static void expect_in(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

static void expect_not_in(const char *hay, const char *needle)
{
	if (strstr(hay, needle))
		fail_msg("did not expect \"%s\" in:\n%s", needle, hay);
}

static int join(struct testapp *ta, enum hevent_kind kind, const char *who, const char *name, bool transient)
{
	struct hevent ev = { .kind = kind, .network = "test", .room = ROOM, .member = who,
			     .member_name = name, .member_transient = transient, .via = &ta->t };
	return happ_room_event(&ta->app, &ev);
}

/* ---- point 1: status and quiet-hour warnings ---- */

static void status_shows_the_room(void **state)
{
	struct testapp *ta = ((struct fx *)*state)->ta;

	assert_int_equal(mod(ta, "!mod status"), 1);
	expect_in(ta_last(ta), "Hearth: active");
	expect_in(ta_last(ta), "Quiet hours: none");
	expect_in(ta_last(ta), "Scheduled check-ins: none");
	expect_in(ta_last(ta), "Crisis country: intl (the default)");
	expect_in(ta_last(ta), "Language: en (the default)");
	expect_in(ta_last(ta), "Prefix: `!` (the default)");
	expect_in(ta_last(ta), "Welcome: on");

	mod(ta, "!mod set timezone Asia/Tokyo");
	mod(ta, "!mod pause");
	mod(ta, "!mod quiet 22:00-07:00");
	mod(ta, "!mod checkin add \"0 20 * * *\" Europe/London");
	mod(ta, "!mod welcome off");
	mod(ta, "!mod set country gb");
	assert_int_equal(mod(ta, "!mod status"), 1);
	expect_in(ta_last(ta), "Hearth: paused");
	expect_in(ta_last(ta), "Quiet hours: 22:00-07:00 (Asia/Tokyo)");
	/* 20:00 in London on 2026-07-01 is 04:00 the next day in Tokyo: shown in the room's zone,
	 * and it falls in the room's quiet hours. */
	expect_in(ta_last(ta), "next: Thu 2026-07-02 04:00");
	expect_in(ta_last(ta), "quiet hours");
	expect_in(ta_last(ta), "Crisis country: gb\n");
	expect_in(ta_last(ta), "Welcome: off");
	/* Members cannot see or change it. */
	assert_int_equal(member(ta, "@bea:hs", "!mod status"), 1);
	expect_in(ta_last(ta), "only this room's moderators");
}

static void checkin_add_and_list_warn_in_quiet_hours(void **state)
{
	struct testapp *ta = ((struct fx *)*state)->ta;

	mod(ta, "!mod quiet 22:00-07:00 Europe/Berlin");
	mod(ta, "!mod checkin add \"0 23 * * *\" Europe/Berlin");
	expect_in(ta_last(ta), "added");
	expect_in(ta_last(ta), "inside the room's quiet hours");
	mod(ta, "!mod checkin add \"0 19 * * *\" Europe/Berlin");
	expect_in(ta_last(ta), "added");
	expect_not_in(ta_last(ta), "quiet hours");
	mod(ta, "!mod checkin list");
	expect_in(ta_last(ta), "#1");
	expect_in(ta_last(ta), "(falls in quiet hours at times)");
	expect_in(ta_last(ta), "inside the room's quiet hours");
	/* A zone in any case is accepted and written as its real name. */
	mod(ta, "!mod checkin add \"0 12 * * *\" europe/london");
	expect_in(ta_last(ta), "(Europe/London)");
}

/* ---- point 2: per-room settings ---- */

static void set_refuses_bad_values_with_the_good_ones(void **state)
{
	struct testapp *ta = ((struct fx *)*state)->ta;
	struct room_settings rs;

	mod(ta, "!mod set country mars");
	expect_in(ta_last(ta), "Good values: `at`, `au`, `ca`, `ch`, `de`, `gb`, `ie`, `us`, or `intl`");
	expect_in(ta_last(ta), "Nothing was changed");
	mod(ta, "!mod set language xx");
	expect_in(ta_last(ta), "Good values: `de`, `en`");
	mod(ta, "!mod set prefix a");
	expect_in(ta_last(ta), "`?`");
	mod(ta, "!mod set prefix !!");
	expect_in(ta_last(ta), "Nothing was changed");
	mod(ta, "!mod set prefix é");
	expect_in(ta_last(ta), "Nothing was changed");
	mod(ta, "!mod set timezone Moon/Base");
	expect_in(ta_last(ta), "Europe/London");
	expect_in(ta_last(ta), "Nothing was changed");
	mod(ta, "!mod set timezone ../../etc/passwd");
	expect_in(ta_last(ta), "Nothing was changed");
	mod(ta, "!mod set colour blue");
	expect_in(ta_last(ta), "Nothing was changed");
	assert_int_equal(rooms_get(&ta->app, "test", ROOM, &rs), 0);
	assert_string_equal(rs.country, "");
	assert_string_equal(rs.language, "");
	assert_string_equal(rs.prefix, "");
	assert_string_equal(rs.tz, "");
}

static void set_values_are_kept_and_canonical(void **state)
{
	struct testapp *ta = ((struct fx *)*state)->ta;
	struct room_settings rs;

	mod(ta, "!mod set timezone europe/london");
	expect_in(ta_last(ta), "Europe/London");
	mod(ta, "!mod set country UK");
	mod(ta, "!mod set language EN");
	assert_int_equal(rooms_get(&ta->app, "test", ROOM, &rs), 0);
	assert_string_equal(rs.tz, "Europe/London");
	assert_string_equal(rs.country, "gb");
	assert_string_equal(rs.language, "en");
	/* Quiet hours without a zone keep the room's zone; schedules default to it. */
	mod(ta, "!mod quiet 22:00-06:00");
	expect_in(ta_last(ta), "(Europe/London)");
	mod(ta, "!mod checkin add \"0 9 * * *\"");
	expect_in(ta_last(ta), "(Europe/London)");
	mod(ta, "!mod quiet off");
	assert_int_equal(rooms_get(&ta->app, "test", ROOM, &rs), 0);
	assert_string_equal(rs.tz, "Europe/London");
	mod(ta, "!mod set country default");
	assert_int_equal(rooms_get(&ta->app, "test", ROOM, &rs), 0);
	assert_string_equal(rs.country, "");
}

static void room_prefix_works_in_the_router(void **state)
{
	struct testapp *ta = ((struct fx *)*state)->ta;

	mod(ta, "!mod set prefix ?");
	expect_in(ta_last(ta), "`?help`");
	/* The old prefix is silent here; the new one answers, and help shows it. */
	assert_int_equal(member(ta, "@bea:hs", "!help"), 0);
	assert_int_equal(member(ta, "@bea:hs", "?help"), 1);
	expect_in(ta_last(ta), "`?learn [topic]`");
	expect_not_in(ta_last(ta), "`!learn");
	assert_int_equal(member(ta, "@bea:hs", "  ?about"), 1); /* leading spaces, as before */
	assert_int_equal(member(ta, "@bea:hs", "?help crisis"), 1);
	expect_in(ta_last(ta), "crisis");
	/* A typo is suggested with the room's prefix. */
	assert_int_equal(member(ta, "@bea:hs", "?lern"), 1);
	expect_in(ta_last(ta), "`?lern`");
	/* Other rooms and private chats keep the configured one. */
	assert_int_equal(ta_say(ta, "@bea:hs", "!other:hs", false, MEMBER, "!about"), 1);
	assert_int_equal(ta_say(ta, "@bea:hs", "!dm:hs", true, MEMBER, "!about"), 1);
	/* !crisis with the room's prefix answers once (no automatic answer on top). */
	ta_clear(ta);
	member(ta, "@bea:hs", "?crisis");
	assert_true(ta->n >= 1);
	mod(ta, "?mod set prefix default");
	assert_int_equal(member(ta, "@bea:hs", "!about"), 1);
}

static void room_country_is_what_crisis_uses(void **state)
{
	struct testapp *ta = ((struct fx *)*state)->ta;

	mod(ta, "!mod set country de");
	ta_clear(ta);
	member(ta, "@bea:hs", "!crisis");
	assert_true(ta->n >= 1);
	expect_in(ta->replies[0].text, "Germany");
	/* Crisis words in the room too. */
	ta_clear(ta);
	member(ta, "@cal:hs", "I want to kill myself");
	assert_true(ta->n >= 1);
	expect_in(ta->replies[0].text, "Germany");
	/* Another room keeps the configured country. */
	ta_clear(ta);
	ta_say(ta, "@bea:hs", "!other:hs", false, MEMBER, "!crisis");
	assert_true(ta->n >= 1);
	expect_not_in(ta->replies[0].text, "Germany");
}

/* ---- point 3: welcome ---- */

static void bot_introduces_itself_once(void **state)
{
	struct testapp *ta = ((struct fx *)*state)->ta;

	assert_int_equal(join(ta, HEV_SELF_JOINED, NULL, NULL, false), 0);
	assert_int_equal(ta->n, 1);
	assert_string_equal(ta->replies[0].room, ROOM);
	expect_in(ta_last(ta), "Hearth");
	expect_in(ta_last(ta), "`!help`");
	expect_in(ta_last(ta), "not therapy");
	/* Rejoining (a restart, an IRC reconnect) does not repeat it. */
	join(ta, HEV_SELF_JOINED, NULL, NULL, false);
	assert_int_equal(ta->n, 1);
	/* A room that turned welcomes off gets no introduction. */
	ta_say(ta, "@mo:hs", "!quiet:hs", false, MOD, "!mod welcome off");
	ta_clear(ta);
	{
		struct hevent ev = { .kind = HEV_SELF_JOINED, .network = "test", .room = "!quiet:hs",
				     .via = &ta->t };
		happ_room_event(&ta->app, &ev);
	}
	assert_int_equal(ta->n, 0);
}

static void member_welcomed_once_and_escaped(void **state)
{
	struct testapp *ta = ((struct fx *)*state)->ta;

	join(ta, HEV_MEMBER_JOINED, "@eve:hs", "**Eve** [click](https://x.example) @room <b>", false);
	assert_int_equal(ta->n, 1);
	assert_string_equal(ta->replies[0].room, "greet:@eve:hs@" ROOM);
	expect_in(ta_last(ta), "Welcome, \\*\\*Eve\\*\\*");
	expect_in(ta_last(ta), "\\[click\\]"); /* shown as text, never a link */
	expect_not_in(ta_last(ta), "@room");
	expect_in(ta_last(ta), "`!help`");
	/* The store keeps a keyed hash, not the member's id. */
	assert_int_equal(store_count(ta->app.store, "SELECT count(*) FROM welcome_seen", ""), 1);
	assert_int_equal(store_count(ta->app.store, "SELECT count(*) FROM welcome_seen WHERE member"
				     " LIKE '%eve%'", ""), 0);
	/* Leaves and rejoins, later: no second welcome (kept in the store). */
	ta->app.fake_now += 3600;
	join(ta, HEV_MEMBER_JOINED, "@eve:hs", "Eve", false);
	assert_int_equal(ta->n, 1);
	/* The room's own words. */
	mod(ta, "!mod welcome set \"Glad you're here. Say \"hi\" when ready.\"");
	ta_clear(ta);
	join(ta, HEV_MEMBER_JOINED, "@fay:hs", "Fay", false);
	assert_int_equal(ta->n, 1);
	expect_in(ta_last(ta), "Welcome, Fay! Glad you're here. Say \"hi\" when ready.");
	/* Off: nobody is greeted. */
	ta->app.fake_now += 3600;
	mod(ta, "!mod welcome off");
	ta_clear(ta);
	join(ta, HEV_MEMBER_JOINED, "@gus:hs", "Gus", false);
	assert_int_equal(ta->n, 0);
	/* A bad welcome changes nothing. */
	mod(ta, "!mod welcome set \"no closing quote");
	expect_in(ta_last(ta), "Nothing was changed");
}

static void join_flood_gets_one_welcome_a_minute(void **state)
{
	struct testapp *ta = ((struct fx *)*state)->ta;
	char who[32];

	for (int i = 0; i < 30; i++) {
		snprintf(who, sizeof(who), "@bot%d:hs", i);
		join(ta, HEV_MEMBER_JOINED, who, who, false);
	}
	assert_int_equal(ta->n, 1);
	ta->app.fake_now += 59;
	join(ta, HEV_MEMBER_JOINED, "@late:hs", "Late", false);
	assert_int_equal(ta->n, 1);
	ta->app.fake_now += 2;
	join(ta, HEV_MEMBER_JOINED, "@late:hs", "Late", false);
	assert_int_equal(ta->n, 2);
	/* Another room has its own minute. */
	{
		struct hevent ev = { .kind = HEV_MEMBER_JOINED, .network = "test", .room = "!b:hs",
				     .member = "@x:hs", .member_name = "X", .via = &ta->t };
		happ_room_event(&ta->app, &ev);
	}
	assert_int_equal(ta->n, 3);
}

static void transient_member_is_not_stored(void **state)
{
	struct testapp *ta = ((struct fx *)*state)->ta;

	join(ta, HEV_MEMBER_JOINED, "nick", "nick", true);
	assert_int_equal(ta->n, 1);
	ta->app.fake_now += 120;
	join(ta, HEV_MEMBER_JOINED, "nick", "nick", true);
	assert_int_equal(ta->n, 1); /* remembered in memory, as a hash */
	assert_int_equal(store_count(ta->app.store, "SELECT count(*) FROM welcome_seen", ""), 0);
	/* A paused room greets nobody. */
	mod(ta, "!mod pause");
	ta_clear(ta);
	ta->app.fake_now += 120;
	join(ta, HEV_MEMBER_JOINED, "@new:hs", "New", false);
	assert_int_equal(ta->n, 0);
}

/* ---- point 4: check-ins with text or topic; topic of the week ---- */

static void checkin_with_text_and_topic(void **state)
{
	struct testapp *ta = ((struct fx *)*state)->ta;
	struct sched_entry *v = NULL;
	size_t n = 0;
	int posted = 0;

	mod(ta, "!mod checkin add \"0 9 * * *\" UTC text \"What is one kind thing you did today?\"");
	expect_in(ta_last(ta), "added");
	mod(ta, "!mod checkin add \"0 18 * * *\" topic self compassion");
	expect_in(ta_last(ta), "added");
	mod(ta, "!mod checkin add \"0 20 * * *\" topic nosuchthing");
	expect_in(ta_last(ta), "Nothing was added");
	mod(ta, "!mod checkin add \"0 21 * * *\" text unquoted");
	expect_in(ta_last(ta), "Nothing was added");
	assert_int_equal(sched_list(&ta->app, "test", ROOM, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].text, "What is one kind thing you did today?");
	assert_string_equal(v[1].topic, "self-compassion");
	free(v);
	ta_clear(ta);
	assert_int_equal(sched_due(&ta->app, T0 + 9 * 3600 + 30, &posted), 0);
	assert_int_equal(posted, 1);
	expect_in(ta_last(ta), "What is one kind thing you did today?");
	assert_int_equal(sched_due(&ta->app, T0 + 18 * 3600 + 30, &posted), 0);
	assert_int_equal(posted, 1);
	expect_in(ta_last(ta), "`!learn self-compassion`");
}

static void topic_of_the_week(void **state)
{
	struct testapp *ta = ((struct fx *)*state)->ta;

	mod(ta, "!mod topic-of-week self compassion");
	expect_in(ta_last(ta), "Topic of the week");
	member(ta, "@bea:hs", "!learn");
	expect_in(ta_last(ta), "This week's topic:");
	/* Other rooms: the day's reading. */
	ta_say(ta, "@bea:hs", "!other:hs", false, MEMBER, "!learn");
	expect_in(ta_last(ta), "Today's reading:");
	/* A week later it is over. */
	ta->app.fake_now += 7 * 86400 + 1;
	member(ta, "@bea:hs", "!learn");
	expect_in(ta_last(ta), "Today's reading:");
	mod(ta, "!mod topic-of-week nonsense-topic-xyz");
	expect_in(ta_last(ta), "Nothing was changed");
}

/* ---- point 5: rate limit ---- */

static void busy_commands_are_limited_per_member(void **state)
{
	struct testapp *ta = ((struct fx *)*state)->ta;

	assert_int_equal(member(ta, "@bea:hs", "!learn"), 1);
	assert_int_equal(member(ta, "@bea:hs", "!checkin"), 1);
	assert_int_equal(member(ta, "@bea:hs", "!topics"), 1);
	/* The fourth: one private note. */
	assert_int_equal(member(ta, "@bea:hs", "!help"), 1);
	assert_true(ta->replies[ta->n - 1].dest == HDEST_PRIVATE);
	expect_in(ta_last(ta), "minute");
	/* Then silence. */
	assert_int_equal(member(ta, "@bea:hs", "!learn"), 0);
	assert_int_equal(member(ta, "@bea:hs", "!learn"), 0);
	/* !crisis and crisis words always answer. */
	assert_true(member(ta, "@bea:hs", "I want to kill myself") >= 1);
	assert_true(member(ta, "@bea:hs", "!crisis") >= 1);
	/* Others, moderators and private chats are not limited. */
	assert_int_equal(member(ta, "@cal:hs", "!learn"), 1);
	for (int i = 0; i < 6; i++)
		assert_int_equal(mod(ta, "!learn"), 1);
	for (int i = 0; i < 6; i++)
		assert_int_equal(ta_say(ta, "@bea:hs", "!dm:hs", true, MEMBER, "!learn"), 1);
	/* A minute later she is answered again. */
	ta->app.fake_now += 61;
	assert_int_equal(member(ta, "@bea:hs", "!learn"), 1);
	assert_true(ta->replies[ta->n - 1].dest == HDEST_SAME);
	/* [bot] room_answers_per_minute: 5 allows five, 0 turns the limit off. */
	ta->app.fake_now += 61;
	ta->app.cfg->room_answers_per_minute = 5;
	for (int i = 0; i < 5; i++)
		assert_int_equal(member(ta, "@dan:hs", "!learn"), 1);
	assert_true(member(ta, "@dan:hs", "!learn") == 1 && ta->replies[ta->n - 1].dest == HDEST_PRIVATE);
	assert_int_equal(member(ta, "@dan:hs", "!learn"), 0);
	ta->app.cfg->room_answers_per_minute = 0;
	for (int i = 0; i < 10; i++)
		assert_int_equal(member(ta, "@eli:hs", "!learn"), 1);
}

/* ---- point 6: rotation ---- */

static void rotation_never_repeats_the_last_one(void **state)
{
	struct testapp *ta = ((struct fx *)*state)->ta;
	size_t n = ta->app.content->nprompts;
	const char **order = calloc(3 * n, sizeof(*order));

	assert_true(n >= 2);
	/* Everything in the same second: "shown last" must still be exact. */
	for (size_t i = 0; i < 3 * n; i++) {
		assert_int_equal(checkin_pick(&ta->app, "test", ROOM, 14, T0, &order[i]), 0);
		if (i)
			assert_ptr_not_equal(order[i], order[i - 1]);
		if (i < n)
			for (size_t j = 0; j < i; j++)
				assert_ptr_not_equal(order[i], order[j]);
		else
			assert_ptr_equal(order[i], order[i - n]); /* least recently shown */
	}
	free(order);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(status_shows_the_room, setup, teardown),
		cmocka_unit_test_setup_teardown(checkin_add_and_list_warn_in_quiet_hours, setup, teardown),
		cmocka_unit_test_setup_teardown(set_refuses_bad_values_with_the_good_ones, setup, teardown),
		cmocka_unit_test_setup_teardown(set_values_are_kept_and_canonical, setup, teardown),
		cmocka_unit_test_setup_teardown(room_prefix_works_in_the_router, setup, teardown),
		cmocka_unit_test_setup_teardown(room_country_is_what_crisis_uses, setup, teardown),
		cmocka_unit_test_setup_teardown(bot_introduces_itself_once, setup, teardown),
		cmocka_unit_test_setup_teardown(member_welcomed_once_and_escaped, setup, teardown),
		cmocka_unit_test_setup_teardown(join_flood_gets_one_welcome_a_minute, setup, teardown),
		cmocka_unit_test_setup_teardown(transient_member_is_not_stored, setup, teardown),
		cmocka_unit_test_setup_teardown(checkin_with_text_and_topic, setup, teardown),
		cmocka_unit_test_setup_teardown(topic_of_the_week, setup, teardown),
		cmocka_unit_test_setup_teardown(busy_commands_are_limited_per_member, setup, teardown),
		cmocka_unit_test_setup_teardown(rotation_never_repeats_the_last_one, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
