/* Unit tests for bot/care/sched.c: scheduled check-ins on a fake clock.
 *
 * The scheduler's core, sched_due(app, now), is driven two ways: minute by minute (as a
 * once-a-minute tick would) and from fire time to fire time (as the real timer does, via
 * sched_next). Expected instants were computed independently with GNU date, e.g.
 * `date -u -d '2026-11-01 05:30Z' +%s` and `TZ=America/New_York date -d @1793511000`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "care/care.h"
#include "care/content.h"
#include "care/rooms.h"
#include "care/sched.h"
#include "core/app.h"
#include "core/config.h"
#include "core/err.h"
#include "core/loop.h"
#include "store/store.h"
#include "testapp.h"

#define T_2026_07_01 1782864000   /* 2026-07-01 00:00 UTC */
#define T_2026_07_03 1783036800
#define BERLIN_9_SUMMER (T_2026_07_01 + 7 * 3600)    /* 09:00 CEST = 07:00 UTC */
#define NEWYORK_9_SUMMER (T_2026_07_01 + 13 * 3600)  /* 09:00 EDT = 13:00 UTC */

#define MAX_POSTS 256

struct post {
	char room[64];
	char text[1024];
	time_t at;
};

struct fx {
	struct happ app;
	struct htransport t;
	struct post posts[MAX_POSTS];
	size_t nposts;
	int refused;
	char dir[64];
};

static int rec_post(struct htransport *t, const char *room, const char *md)
{
	struct fx *f = t->impl;
	struct post *p;

	if (strcmp(room, "!gone") == 0) {
		f->refused++;
		return HE_NOTFOUND; /* as a transport that is not in the room */
	}
	assert_true(f->nposts < MAX_POSTS);
	p = &f->posts[f->nposts++];
	snprintf(p->room, sizeof(p->room), "%s", room);
	snprintf(p->text, sizeof(p->text), "%s", md);
	p->at = f->app.fake_now;
	return HE_OK;
}

static int rec_reply(struct htransport *t, const struct hmsg *in, enum hdest dest, const char *md)
{
	return HE_OK;
}

static void rec_free(struct htransport *t)
{
}

static const struct htransport_ops rec_ops = {
	.reply = rec_reply,
	.post = rec_post,
	.free = rec_free,
};

/* Opens (or reopens, after fx_close) the app on f->dir, as Hearth's start-up does. */
static void fx_open(struct fx *f, bool with_transport)
{
	struct config_problems probs = { 0 };
	char err[512];

	assert_int_equal(config_load(NULL, &f->app.cfg, &probs), HE_OK);
	free(f->app.cfg->data_dir);
	f->app.cfg->data_dir = strdup(f->dir);
	assert_int_equal(config_finish(f->app.cfg, &probs), HE_OK);
	assert_int_equal(content_load(HEARTH_SOURCE_DIR "/content", "en", &f->app.content, err, sizeof(err)), HE_OK);
	assert_int_equal(ta_store_open_dir(f->dir, &f->app.store), HE_OK);
	assert_int_equal(care_init(&f->app), HE_OK);
	snprintf(f->t.name, sizeof(f->t.name), "test");
	f->t.ops = &rec_ops;
	f->t.impl = f;
	if (with_transport)
		assert_int_equal(happ_add_transport(&f->app, &f->t), HE_OK);
}

static void fx_close(struct fx *f)
{
	care_free(&f->app);
	store_free(f->app.store);
	content_free(f->app.content);
	config_free(f->app.cfg);
	memset(&f->app, 0, sizeof(f->app));
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/hearth-test-sched-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	fx_open(f, true);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	fx_close(f);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static long long add_ok(struct fx *f, const char *room, const char *cron, const char *tz)
{
	char err[512] = "";
	long long id = 0;
	int rc = sched_add(&f->app, "test", room, cron, tz, &id, err, sizeof(err));

	if (rc)
		print_error("sched_add(%s, %s) failed: %d %s\n", cron, tz ? tz : "-", rc, err);
	assert_int_equal(rc, HE_OK);
	assert_true(id > 0);
	return id;
}

/* Calls sched_due at every step seconds in [from, to]. */
static void tick(struct fx *f, time_t from, time_t to, time_t step)
{
	for (time_t t = from; t <= to; t += step) {
		f->app.fake_now = t;
		assert_int_equal(sched_due(&f->app, t, NULL), HE_OK);
	}
}

/* Runs as the loop timer does: jump to the next fire time, handle it, repeat until `to`. */
static void run_timer(struct fx *f, time_t from, time_t to)
{
	time_t t = from, next;

	f->app.fake_now = t;
	assert_int_equal(sched_due(&f->app, t, NULL), HE_OK);
	while (sched_next(&f->app, t, &next) == HE_OK && next <= to) {
		assert_true(next > t);
		t = next;
		f->app.fake_now = t;
		assert_int_equal(sched_due(&f->app, t, NULL), HE_OK);
	}
}

static void expect_posts(struct fx *f, const char *const *rooms, const time_t *at, size_t n)
{
	if (f->nposts != n) {
		for (size_t i = 0; i < f->nposts; i++)
			print_error("post %zu: %s at %lld\n", i, f->posts[i].room, (long long)f->posts[i].at);
	}
	assert_int_equal(f->nposts, n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(f->posts[i].room, rooms[i]);
		assert_int_equal((long long)f->posts[i].at, (long long)at[i]);
		assert_non_null(strstr(f->posts[i].text, "Check-in"));
		assert_non_null(strstr(f->posts[i].text, "Passing is always fine"));
	}
}

static void test_two_zones_minute_tick(void **state)
{
	struct fx *f = *state;
	const char *rooms[] = { "!berlin", "!newyork", "!berlin", "!newyork" };
	const time_t at[] = { BERLIN_9_SUMMER, NEWYORK_9_SUMMER, BERLIN_9_SUMMER + 86400,
			      NEWYORK_9_SUMMER + 86400 };

	f->app.fake_now = T_2026_07_01 - 3600;
	add_ok(f, "!berlin", "0 9 * * *", "Europe/Berlin");
	add_ok(f, "!newyork", "0 9 * * *", "America/New_York");
	tick(f, T_2026_07_01, T_2026_07_03 - 60, 60);
	expect_posts(f, rooms, at, 4);
}

static void test_two_zones_timer(void **state)
{
	struct fx *f = *state;
	const char *rooms[] = { "!berlin", "!newyork", "!berlin", "!newyork" };
	const time_t at[] = { BERLIN_9_SUMMER, NEWYORK_9_SUMMER, BERLIN_9_SUMMER + 86400,
			      NEWYORK_9_SUMMER + 86400 };

	f->app.fake_now = T_2026_07_01 - 3600;
	add_ok(f, "!berlin", "0 9 * * *", "Europe/Berlin");
	add_ok(f, "!newyork", "0 9 * * *", "America/New_York");
	run_timer(f, T_2026_07_01, T_2026_07_03 - 60);
	expect_posts(f, rooms, at, 4);
}

/* A check-in due inside quiet hours is skipped, and not posted when they end either. */
static void test_quiet_hours_skip_not_queue(void **state)
{
	struct fx *f = *state;
	const char *rooms[] = { "!late" };
	/* 07:00 CEST = 05:00 UTC: quiet hours end at 07:00 (end exclusive), so this one posts. */
	const time_t at[] = { T_2026_07_01 + 5 * 3600 };

	f->app.fake_now = T_2026_07_01 - 3600;
	assert_int_equal(rooms_set_quiet(&f->app, "test", "!early", 22 * 60, 7 * 60, "Europe/Berlin"), HE_OK);
	assert_int_equal(rooms_set_quiet(&f->app, "test", "!late", 22 * 60, 7 * 60, "Europe/Berlin"), HE_OK);
	add_ok(f, "!early", "30 6 * * *", "Europe/Berlin");   /* inside quiet hours */
	add_ok(f, "!late", "0 7 * * *", "Europe/Berlin");
	tick(f, T_2026_07_01, T_2026_07_01 + 86400 - 60, 60);
	expect_posts(f, rooms, at, 1);
}

/* Hearth was down for three scheduled times: one post on start, not three. */
static void test_catch_up_once_not_burst(void **state)
{
	struct fx *f = *state;
	const time_t day = 86400, nine = T_2026_07_01 + 9 * 3600;

	f->app.fake_now = T_2026_07_01;
	add_ok(f, "!room", "0 9 * * *", "UTC");
	tick(f, nine, nine, 60);
	assert_int_equal(f->nposts, 1);
	/* Down from 09:01 on day 0 until 12:00 on day 3 (missed day 1, 2 and 3 at 09:00). */
	tick(f, nine + 3 * day + 3 * 3600, nine + 3 * day + 3 * 3600 + 30 * 60, 60);
	assert_int_equal(f->nposts, 2);
	assert_int_equal((long long)f->posts[1].at, (long long)(nine + 3 * day + 3 * 3600));
	/* And back to normal the next day. */
	run_timer(f, nine + 3 * day + 4 * 3600, nine + 4 * day + 60);
	assert_int_equal(f->nposts, 3);
	assert_int_equal((long long)f->posts[2].at, (long long)(nine + 4 * day));
}

/* A missed fire time older than a day is dropped: a weekly check-in is not posted days late. */
static void test_stale_missed_post_dropped(void **state)
{
	struct fx *f = *state;

	f->app.fake_now = T_2026_07_01; /* a Wednesday */
	add_ok(f, "!room", "0 9 * * 3", "UTC");
	/* Down all Wednesday; back on Friday. */
	tick(f, T_2026_07_01 + 2 * 86400 + 10 * 3600, T_2026_07_01 + 2 * 86400 + 11 * 3600, 60);
	assert_int_equal(f->nposts, 0);
}

/* Fall back in New York (2026-11-01 02:00 EDT -> 01:00 EST): 01:30 happens twice, posts once. */
static void test_dst_fall_back_no_double(void **state)
{
	struct fx *f = *state;
	const char *rooms[] = { "!ny", "!ny" };
	const time_t at[] = { 1793511000 /* 2026-11-01 01:30 EDT */,
			      1793601000 /* 2026-11-02 01:30 EST */ };

	f->app.fake_now = 1793448000 - 60;   /* 2026-10-31 12:00 UTC */
	add_ok(f, "!ny", "30 1 * * *", "America/New_York");
	tick(f, 1793448000, 1793620800, 60);  /* until 2026-11-02 12:00 UTC */
	expect_posts(f, rooms, at, 2);
}

static void test_dst_fall_back_no_double_timer(void **state)
{
	struct fx *f = *state;
	const char *rooms[] = { "!ny", "!ny" };
	const time_t at[] = { 1793511000, 1793601000 };

	f->app.fake_now = 1793448000 - 60;
	add_ok(f, "!ny", "30 1 * * *", "America/New_York");
	run_timer(f, 1793448000, 1793620800);
	expect_posts(f, rooms, at, 2);
}

/* Spring forward in Berlin (2026-03-29 02:00 CET -> 03:00 CEST): 02:30 does not exist that day;
 * the check-in comes once, at 03:00 CEST, and neither day around it is skipped. */
static void test_dst_spring_forward_no_skip(void **state)
{
	struct fx *f = *state;
	const char *rooms[] = { "!berlin", "!berlin", "!berlin" };
	const time_t at[] = { 1774661400 /* 2026-03-28 02:30 CET */, 1774746000 /* 03-29 03:00 CEST */,
			      1774830600 /* 2026-03-30 02:30 CEST */ };

	f->app.fake_now = 1774656000 - 60;
	add_ok(f, "!berlin", "30 2 * * *", "Europe/Berlin");
	tick(f, 1774656000, 1774915200, 60);  /* 2026-03-28 00:00 to 03-31 00:00 UTC */
	expect_posts(f, rooms, at, 3);
}

static void test_dst_spring_forward_no_skip_timer(void **state)
{
	struct fx *f = *state;
	const char *rooms[] = { "!berlin", "!berlin", "!berlin" };
	const time_t at[] = { 1774661400, 1774746000, 1774830600 };

	f->app.fake_now = 1774656000 - 60;
	add_ok(f, "!berlin", "30 2 * * *", "Europe/Berlin");
	run_timer(f, 1774656000, 1774915200);
	expect_posts(f, rooms, at, 3);
}

/* Schedules and their last post survive a restart (the store file is closed and reopened). */
static void test_survives_restart(void **state)
{
	struct fx *f = *state;
	struct sched_entry *v = NULL;
	size_t n = 0;
	const time_t nine = T_2026_07_01 + 9 * 3600;
	long long id;

	f->app.fake_now = T_2026_07_01;
	id = add_ok(f, "!room", "0 9 * * *", "Europe/Lisbon");
	tick(f, nine - 3600, nine - 3600, 60);   /* 09:00 in Lisbon (WEST) is 08:00 UTC */
	assert_int_equal(f->nposts, 1);

	fx_close(f);
	fx_open(f, true);
	assert_int_equal(sched_list(&f->app, "test", "!room", &v, &n), HE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].id, id);
	assert_string_equal(v[0].cron, "0 9 * * *");
	assert_string_equal(v[0].tz, "Europe/Lisbon");
	free(v);
	/* Restarted half an hour later: the 09:00 post was made, so nothing is repeated. */
	tick(f, nine - 1800, nine - 1800, 60);
	assert_int_equal(f->nposts, 1);
	/* The next day's still comes. */
	run_timer(f, nine - 1800, nine + 86400);
	assert_int_equal(f->nposts, 2);
	assert_int_equal((long long)f->posts[1].at, (long long)(nine - 3600 + 86400));
}

/* Twice a day for a week: fourteen check-ins, no prompt seen twice in the room. */
static void test_prompts_do_not_repeat_within_a_week(void **state)
{
	struct fx *f = *state;

	assert_int_equal(f->app.cfg->checkin_repeat_days, 7);
	assert_true(f->app.content->nprompts >= 14);
	f->app.fake_now = T_2026_07_01;
	add_ok(f, "!room", "0 9,18 * * *", "UTC");
	run_timer(f, T_2026_07_01, T_2026_07_01 + 7 * 86400 - 60);
	assert_int_equal(f->nposts, 14);
	for (size_t i = 0; i < f->nposts; i++)
		for (size_t j = i + 1; j < f->nposts; j++)
			assert_string_not_equal(f->posts[i].text, f->posts[j].text);
}

static void test_paused_room_gets_nothing(void **state)
{
	struct fx *f = *state;

	f->app.fake_now = T_2026_07_01;
	add_ok(f, "!room", "0 9 * * *", "UTC");
	assert_int_equal(rooms_set_paused(&f->app, "test", "!room", true), HE_OK);
	tick(f, T_2026_07_01 + 9 * 3600, T_2026_07_01 + 9 * 3600, 60);
	assert_int_equal(f->nposts, 0);
	/* Resuming does not bring the held-back post as a surprise later. */
	assert_int_equal(rooms_set_paused(&f->app, "test", "!room", false), HE_OK);
	tick(f, T_2026_07_01 + 10 * 3600, T_2026_07_01 + 10 * 3600, 60);
	assert_int_equal(f->nposts, 0);
}

/* Two schedules at the same minute in one room make one post. */
static void test_one_post_per_room_at_a_time(void **state)
{
	struct fx *f = *state;

	f->app.fake_now = T_2026_07_01;
	add_ok(f, "!room", "0 9 * * *", "UTC");
	add_ok(f, "!room", "0 9 * * 1-5", "UTC");
	tick(f, T_2026_07_01 + 9 * 3600, T_2026_07_01 + 9 * 3600 + 120, 60);
	assert_int_equal(f->nposts, 1);
}

/* The network is not connected yet: the post waits for it (once), it is not lost. */
static void test_retry_when_network_missing(void **state)
{
	struct fx *f = *state;
	const time_t nine = T_2026_07_01 + 9 * 3600;

	f->app.fake_now = T_2026_07_01;
	add_ok(f, "!room", "0 9 * * *", "UTC");
	f->app.ntransports = 0;
	tick(f, nine, nine + 300, 60);
	assert_int_equal(f->nposts, 0);
	assert_int_equal(happ_add_transport(&f->app, &f->t), HE_OK);
	tick(f, nine + 360, nine + 600, 60);
	assert_int_equal(f->nposts, 1);
	assert_int_equal((long long)f->posts[0].at, (long long)(nine + 360));
}

/* sched_due from..to (as tick) with stderr (the log) in buf. */
static void tick_logged(struct fx *f, time_t from, time_t to, char *buf, size_t len)
{
	char path[] = "/tmp/hearth-sched-log-XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	tick(f, from, to, 60);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, buf, len - 1, 0);
	close(fd);
	unlink(path);
	buf[n > 0 ? n : 0] = '\0';
}

/* The transport refuses the room (Matrix: Hearth is not in it): the log says so, not "no
 * prompts in the content"; the slot is not tried again. No prompts at all still says that. */
static void test_refused_room_logged_as_such(void **state)
{
	struct fx *f = *state;
	const time_t nine = T_2026_07_01 + 9 * 3600;
	char buf[4096];
	size_t np;

	f->app.fake_now = T_2026_07_01;
	add_ok(f, "!gone", "0 9 * * *", "UTC");
	tick_logged(f, nine, nine + 300, buf, sizeof(buf));
	assert_int_equal(f->refused, 1);
	assert_int_equal(f->nposts, 0);
	assert_non_null(strstr(buf, "could not be posted to its room (Hearth is not in it)"));
	assert_null(strstr(buf, "no check-in prompts"));

	/* the content really has no prompts: that is what the log says */
	add_ok(f, "!room", "0 10 * * *", "UTC");
	np = f->app.content->nprompts;
	f->app.content->nprompts = 0;
	tick_logged(f, nine + 3600, nine + 3660, buf, sizeof(buf));
	f->app.content->nprompts = np;
	assert_int_equal(f->nposts, 0);
	assert_non_null(strstr(buf, "there are no check-in prompts in the content"));
	assert_null(strstr(buf, "Hearth is not in it"));
}

/* The scheduler's timer never stops quietly: when the schedules cannot be read (here their
 * table is gone for a moment), it looks again after SCHED_RETRY_SECS and then finds them. */
static void test_timer_survives_unreadable_schedules(void **state)
{
	struct fx *f = *state;
	long long id;

	f->app.fake_now = T_2026_07_01;
	assert_int_equal(loop_new(&f->app.loop), HE_OK);
	id = add_ok(f, "!room", "0 9 * * *", "UTC");
	assert_int_equal(loop_timers_pending(f->app.loop), 1);
	assert_int_equal(store_exec(f->app.store, "ALTER TABLE sched RENAME TO sched_away"), HE_OK);
	sched_rearm(&f->app);
	assert_int_equal(loop_timers_pending(f->app.loop), 1);
	assert_int_equal(store_exec(f->app.store, "ALTER TABLE sched_away RENAME TO sched"), HE_OK);
	sched_rearm(&f->app);
	assert_int_equal(loop_timers_pending(f->app.loop), 1);
	/* Nothing scheduled: no timer, until a schedule is added. */
	assert_int_equal(sched_remove(&f->app, "test", "!room", id), HE_OK);
	assert_int_equal(loop_timers_pending(f->app.loop), 0);
	loop_free(f->app.loop);
	f->app.loop = NULL;
}

static size_t count_all(struct fx *f)
{
	struct sched_entry *v = NULL;
	size_t n = 0;

	assert_int_equal(sched_list(&f->app, NULL, NULL, &v, &n), HE_OK);
	free(v);
	return n;
}

static void test_add_errors_store_nothing(void **state)
{
	struct fx *f = *state;
	char err[512];
	long long id = 0;

	f->app.fake_now = T_2026_07_01;
	assert_int_equal(sched_add(&f->app, "test", "!r", "0 25 * * *", "UTC", &id, err, sizeof(err)), HE_INVAL);
	assert_non_null(strstr(err, "hour must be 0-23"));
	assert_int_equal(sched_add(&f->app, "test", "!r", "0 9 * *", "UTC", &id, err, sizeof(err)), HE_INVAL);
	assert_non_null(strstr(err, "expected 5 fields"));
	assert_int_equal(sched_add(&f->app, "test", "!r", "0 9 * * *", "Mars/Olympus", &id, err, sizeof(err)), HE_INVAL);
	assert_non_null(strstr(err, "Mars/Olympus"));
	assert_int_equal(sched_add(&f->app, "test", "!r", "0 9 * * *", "../../etc/passwd", &id, err, sizeof(err)), HE_INVAL);
	assert_int_equal(sched_add(&f->app, "test", "!r", "*/10 9 * * *", "UTC", &id, err, sizeof(err)), HE_INVAL);
	assert_non_null(strstr(err, "at least an hour apart"));
	assert_int_equal(count_all(f), 0);
	for (int i = 0; i < SCHED_MAX_PER_ROOM; i++)
		add_ok(f, "!r", "0 9 * * *", "UTC");
	assert_int_equal(sched_add(&f->app, "test", "!r", "0 9 * * *", "UTC", &id, err, sizeof(err)), HE_TOOBIG);
	assert_int_equal(count_all(f), SCHED_MAX_PER_ROOM);
}

static void test_default_zone_is_room_then_bot(void **state)
{
	struct fx *f = *state;
	struct sched_entry *v = NULL;
	size_t n = 0;

	f->app.fake_now = T_2026_07_01;
	add_ok(f, "!a", "0 9 * * *", NULL);
	assert_int_equal(rooms_set_quiet(&f->app, "test", "!b", 60, 120, "Asia/Tokyo"), HE_OK);
	add_ok(f, "!b", "0 9 * * *", "");
	assert_int_equal(sched_list(&f->app, NULL, NULL, &v, &n), HE_OK);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].tz, f->app.cfg->timezone);
	assert_string_equal(v[1].tz, "Asia/Tokyo");
	free(v);
}

static void test_remove_only_in_its_room(void **state)
{
	struct fx *f = *state;
	long long id;

	f->app.fake_now = T_2026_07_01;
	id = add_ok(f, "!a", "0 9 * * *", "UTC");
	assert_int_equal(sched_remove(&f->app, "test", "!b", id), HE_NOTFOUND);
	assert_int_equal(sched_remove(&f->app, "other", "!a", id), HE_NOTFOUND);
	assert_int_equal(count_all(f), 1);
	assert_int_equal(sched_remove(&f->app, "test", "!a", id), HE_OK);
	assert_int_equal(count_all(f), 0);
	assert_int_equal(sched_remove(&f->app, "test", "!a", id), HE_NOTFOUND);
	/* A new schedule never reuses a removed id. */
	assert_true(add_ok(f, "!a", "0 9 * * *", "UTC") > id);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_two_zones_minute_tick),
		T(test_two_zones_timer),
		T(test_quiet_hours_skip_not_queue),
		T(test_catch_up_once_not_burst),
		T(test_stale_missed_post_dropped),
		T(test_dst_fall_back_no_double),
		T(test_dst_fall_back_no_double_timer),
		T(test_dst_spring_forward_no_skip),
		T(test_dst_spring_forward_no_skip_timer),
		T(test_survives_restart),
		T(test_prompts_do_not_repeat_within_a_week),
		T(test_paused_room_gets_nothing),
		T(test_one_post_per_room_at_a_time),
		T(test_retry_when_network_missing),
		T(test_add_errors_store_nothing),
		T(test_timer_survives_unreadable_schedules),
		T(test_default_zone_is_room_then_bot),
		T(test_remove_only_in_its_room),
		T(test_refused_room_logged_as_such),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
