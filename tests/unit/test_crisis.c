/* Unit tests for bot/care/crisis.c: the matcher over the shipped English phrase list, and the
 * whole path through happ_dispatch() with a transport that records what Hearth says where. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "care/care.h"
#include "care/content.h"
#include "care/crisis.h"
#include "care/rooms.h"
#include "core/app.h"
#include "core/config.h"
#include "core/log.h"
#include "store/store.h"

#define NET "matrix"
#define ROOM "!support:hs"
#define MODS "!mods:hs"
#define ALICE "@alice:hs"
#define BOB "@bob:hs"
#define T0 ((time_t)1767225600) /* 2026-01-01 00:00Z */

/* ---- a transport that records ---- */

struct said {
	enum { SAID_REPLY, SAID_POST } kind;
	enum hdest dest;       /* replies */
	bool in_private;       /* the message answered was private */
	char *room;            /* posts */
	char *text;
};

struct rec {
	struct htransport t;
	struct said said[32];
	size_t n;
};

static void rec_clear(struct rec *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->said[i].room);
		free(r->said[i].text);
	}
	r->n = 0;
}

static int rec_reply(struct htransport *t, const struct hmsg *in, enum hdest dest, const char *md)
{
	struct rec *r = t->impl;

	assert_true(r->n < 32);
	r->said[r->n++] = (struct said){ SAID_REPLY, dest, in->is_private, NULL, strdup(md) };
	return 0;
}

static int rec_post(struct htransport *t, const char *room, const char *md)
{
	struct rec *r = t->impl;

	assert_true(r->n < 32);
	r->said[r->n++] = (struct said){ SAID_POST, HDEST_SAME, false, strdup(room), strdup(md) };
	return 0;
}

static const struct htransport_ops rec_ops = { .reply = rec_reply, .post = rec_post };

/* ---- fixture ---- */

struct fx {
	struct happ app;
	struct rec rec;
	char cfgpath[64];
};

static const char *src_dir(void)
{
	const char *s = getenv("SRC");
	return s && *s ? s : HEARTH_SOURCE_DIR;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct config_problems probs = { 0 };
	char dir[4096], err[512];
	FILE *f;
	int fd;

	assert_non_null(fx);
	snprintf(fx->cfgpath, sizeof(fx->cfgpath), "/tmp/hearth-crisis-XXXXXX");
	fd = mkstemp(fx->cfgpath);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f, "[crisis]\ncountry = gb\nrate_minutes = 10\n\n"
		   "[room " NET " " ROOM "]\ncrisis_alert_room = " MODS "\n");
	fclose(f);
	assert_int_equal(config_load(fx->cfgpath, &fx->app.cfg, &probs), 0);
	assert_int_equal(config_finish(fx->app.cfg, &probs), 0);
	assert_int_equal(probs.n, 0);
	assert_int_equal(store_open_file(":memory:", &fx->app.store), 0);
	snprintf(dir, sizeof(dir), "%s/content", src_dir());
	assert_int_equal(content_load(dir, "en", &fx->app.content, err, sizeof(err)), 0);
	assert_int_equal(care_init(&fx->app), 0);
	snprintf(fx->rec.t.name, sizeof(fx->rec.t.name), NET);
	fx->rec.t.ops = &rec_ops;
	fx->rec.t.impl = &fx->rec;
	assert_int_equal(happ_add_transport(&fx->app, &fx->rec.t), 0);
	fx->app.fake_now = T0;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	rec_clear(&fx->rec);
	care_free(&fx->app);
	content_free(fx->app.content);
	store_free(fx->app.store);
	config_free(fx->app.cfg);
	unlink(fx->cfgpath);
	free(fx);
	return 0;
}

static void say_as(struct fx *fx, const char *sender, const char *room, bool private_chat,
		   const char *text)
{
	struct hmsg m = {
		.network = NET, .room = room, .sender = sender, .sender_name = sender, .text = text,
		.is_private = private_chat, .role = HROLE_MEMBER, .via = &fx->rec.t,
	};
	assert_int_equal(happ_dispatch(&fx->app, &m), 0);
}

static void say(struct fx *fx, const char *text)
{
	say_as(fx, ALICE, ROOM, false, text);
}

static char *answer(struct fx *fx)
{
	char *a = crisis_answer(&fx->app);
	assert_non_null(a);
	return a;
}

/* How many replies were the crisis answer, sent privately. */
static size_t private_answers(struct fx *fx)
{
	char *a = answer(fx);
	size_t n = 0;

	for (size_t i = 0; i < fx->rec.n; i++) {
		const struct said *s = &fx->rec.said[i];
		if (s->kind == SAID_REPLY && strcmp(s->text, a) == 0) {
			assert_true(s->dest == HDEST_PRIVATE || s->in_private);
			n++;
		}
	}
	free(a);
	return n;
}

static size_t posts(struct fx *fx)
{
	size_t n = 0;

	for (size_t i = 0; i < fx->rec.n; i++)
		n += fx->rec.said[i].kind == SAID_POST;
	return n;
}

/* Every non-empty line of a vetted resource list appears in text. */
static void has_lines(const char *text, const char *body)
{
	char *copy = strdup(body), *save = NULL;

	assert_non_null(copy);
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!*line)
			continue;
		if (!strstr(text, line))
			print_error("missing vetted line: %s\n", line);
		assert_non_null(strstr(text, line));
	}
	free(copy);
}

/* ---- the matcher ---- */

static void test_every_listed_phrase_matches(void **state)
{
	struct fx *fx = *state;
	const struct content *c = fx->app.content;
	char buf[512];

	assert_true(c->ncrisis_phrases > 10);
	for (size_t i = 0; i < c->ncrisis_phrases; i++) {
		snprintf(buf, sizeof(buf), "Honestly, lately %s. Sorry.", c->crisis_phrases[i]);
		if (crisis_match(c, buf) != 1)
			print_error("not matched: %s\n", buf);
		assert_int_equal(crisis_match(c, buf), 1);
		assert_int_equal(crisis_match(c, c->crisis_phrases[i]), 1);
	}
}

static void test_exclusions_and_everyday_words_do_not_match(void **state)
{
	const struct content *c = ((struct fx *)*state)->app.content;
	static const char *const no[] = {
		"I'm killing it at work this week!",
		"This cake is to die for",
		"dead tired after the night shift",
		"Suicide Squad was on TV last night",
		"I was dying to know how it ended",
		"she is so skillful",
		"I want to skill myself up in C",
		"unskilled myselfish thoughts",
		"I wanted to diet",
		"my garden is overgrown with self-heal",
		"hello everyone, how was your day?",
		"",
		"!!! ... ???",
	};

	for (size_t i = 0; i < c->ncrisis_exclusions; i++)
		assert_int_equal(crisis_match(c, c->crisis_exclusions[i]), 0);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		if (crisis_match(c, no[i]) != 0)
			print_error("matched but should not: %s\n", no[i]);
		assert_int_equal(crisis_match(c, no[i]), 0);
	}
}

static void test_exclusion_suppresses_only_what_it_contains(void **state)
{
	const struct content *c = ((struct fx *)*state)->app.content;

	assert_int_equal(crisis_match(c, "I'm killing it at work but I want to die"), 1);
	assert_int_equal(crisis_match(c, "Suicide Squad is on again. I keep thinking about suicide"), 1);
	/* "to die for" overlaps "want to die" without containing it. */
	assert_int_equal(crisis_match(c, "i want to die for real"), 1);
}

static void test_case_accents_punctuation_apostrophes(void **state)
{
	const struct content *c = ((struct fx *)*state)->app.content;
	static const char *const yes[] = {
		"I WANT TO DÍE",
		"i want to díe",
		"Want.To.Die",
		"i want to die!!!",
		"i want to die\xf0\x9f\x98\xa2",        /* crying face right after the word */
		"I can't go on",
		"I cant go on",
		"I can\xe2\x80\x99t go on",              /* curly apostrophe */
		"thinking about self-harm again",
		"I\xe2\x80\x99m not safe",
		"\"kill myself\" is all I think",
		"i    want\tto\ndie",
	};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (crisis_match(c, yes[i]) != 1)
			print_error("not matched: %s\n", yes[i]);
		assert_int_equal(crisis_match(c, yes[i]), 1);
	}
	assert_int_equal(crisis_match(c, "iwanttodie"), 0);
	assert_int_equal(crisis_match(NULL, "I want to die"), 0);
}

/* ---- the answer ---- */

static void test_reply_is_private_vetted_and_never_quotes(void **state)
{
	struct fx *fx = *state;
	const struct content *c = fx->app.content;
	const char *words = "Ugh zebracorn day. I want to die honestly";

	say(fx, words);
	assert_int_equal(fx->rec.n, 2); /* the answer and the moderators' alert */
	assert_int_equal(private_answers(fx), 1);
	for (size_t i = 0; i < fx->rec.n; i++) {
		const struct said *s = &fx->rec.said[i];
		assert_null(strstr(s->text, "zebracorn"));
		assert_null(strstr(s->text, "want to die"));
		assert_null(strstr(s->text, "alice"));
		if (s->kind == SAID_REPLY) {
			assert_int_equal(s->dest, HDEST_PRIVATE);
			assert_non_null(strstr(s->text, "not alone"));
			has_lines(s->text, content_crisis(c, "gb")->body);
			has_lines(s->text, content_crisis(c, "intl")->body);
			assert_non_null(strstr(s->text, "immediate danger"));
		}
	}
}

static void test_unknown_country_falls_back_to_intl(void **state)
{
	struct fx *fx = *state;
	const struct content *c = fx->app.content;
	const struct crisis_country *gb = content_crisis(c, "gb");
	char *a;

	free(fx->app.cfg->crisis_country);
	fx->app.cfg->crisis_country = strdup("zz");
	assert_ptr_equal(content_crisis(c, "zz"), content_crisis(c, "intl"));
	say_as(fx, ALICE, "dm:alice", true, "i just want to die");
	assert_int_equal(private_answers(fx), 1);
	a = answer(fx);
	has_lines(a, content_crisis(c, "intl")->body);
	/* Nothing from the configured country that does not exist, nor from another list. */
	assert_null(strstr(a, gb->name));
	{
		size_t first = strcspn(gb->body, "\n");
		char *line = strndup(gb->body, first);
		assert_non_null(line);
		assert_null(strstr(a, line));
		free(line);
	}
	free(a);
}

static void test_rate_limit_per_member_with_fake_clock(void **state)
{
	struct fx *fx = *state;

	say(fx, "I want to die");
	assert_int_equal(private_answers(fx), 1);
	rec_clear(&fx->rec);

	fx->app.fake_now = T0 + 60;
	say(fx, "really, I want to die");
	assert_int_equal(private_answers(fx), 0);
	say_as(fx, BOB, ROOM, false, "me too, no reason to live");
	assert_int_equal(private_answers(fx), 1); /* another member is answered */
	rec_clear(&fx->rec);

	fx->app.fake_now = T0 + 9 * 60 + 59;
	say(fx, "I want to die");
	assert_int_equal(private_answers(fx), 0);

	fx->app.fake_now = T0 + 10 * 60;
	say(fx, "I want to die");
	assert_int_equal(private_answers(fx), 1);
	rec_clear(&fx->rec);

	/* !crisis is never held back. */
	fx->app.fake_now = T0 + 10 * 60 + 5;
	say(fx, "!crisis");
	say(fx, "!crisis");
	assert_int_equal(private_answers(fx), 2);
}

static void test_alert_goes_to_moderators_without_text_or_name(void **state)
{
	struct fx *fx = *state;
	const struct said *s = NULL;

	say(fx, "zebracorn. I want to kill myself");
	assert_int_equal(posts(fx), 1);
	for (size_t i = 0; i < fx->rec.n; i++)
		if (fx->rec.said[i].kind == SAID_POST)
			s = &fx->rec.said[i];
	assert_string_equal(s->room, MODS);
	assert_non_null(strstr(s->text, ROOM));
	assert_non_null(strstr(s->text, "may need support"));
	assert_null(strstr(s->text, "alice"));
	assert_null(strstr(s->text, "zebracorn"));
	assert_null(strstr(s->text, "kill"));
	rec_clear(&fx->rec);

	/* Rate-limited per room: another member a minute later gets an answer, no second alert. */
	fx->app.fake_now = T0 + 60;
	say_as(fx, BOB, ROOM, false, "I want to die");
	assert_int_equal(private_answers(fx), 1);
	assert_int_equal(posts(fx), 0);
	rec_clear(&fx->rec);

	/* After the window, an alert again. */
	fx->app.fake_now = T0 + 11 * 60;
	say_as(fx, BOB, ROOM, false, "I want to die");
	assert_int_equal(posts(fx), 1);
	rec_clear(&fx->rec);

	/* A private chat never alerts; a room without crisis_alert_room neither. */
	fx->app.fake_now = T0 + 30 * 60;
	say_as(fx, BOB, "dm:bob", true, "I want to die");
	say_as(fx, ALICE, "!other:hs", false, "I want to die");
	assert_int_equal(posts(fx), 0);
	assert_int_equal(private_answers(fx), 2);
}

static void test_crisis_command_in_paused_room_and_quiet_hours(void **state)
{
	struct fx *fx = *state;
	const struct said *pointer = NULL;

	assert_int_equal(rooms_set_paused(&fx->app, NET, ROOM, true), 0);
	assert_int_equal(rooms_set_quiet(&fx->app, NET, ROOM, 0, 1439, "UTC"), 0);
	say(fx, "!crisis");
	assert_int_equal(private_answers(fx), 1);
	for (size_t i = 0; i < fx->rec.n; i++)
		if (fx->rec.said[i].kind == SAID_REPLY && fx->rec.said[i].dest == HDEST_SAME)
			pointer = &fx->rec.said[i];
	assert_non_null(pointer);
	assert_non_null(strstr(pointer->text, "privately"));
	assert_null(strchr(pointer->text, '\n')); /* one line */
	rec_clear(&fx->rec);

	/* The automatic answer fires in a paused room, in quiet hours, for another member. */
	say_as(fx, BOB, ROOM, false, "I want to die");
	assert_int_equal(private_answers(fx), 1);
	rec_clear(&fx->rec);

	/* Privately, !crisis answers once, with no pointer. */
	say_as(fx, BOB, "dm:bob", true, "!crisis");
	assert_int_equal(fx->rec.n, 1);
	assert_int_equal(private_answers(fx), 1);
}

static void test_command_still_runs_and_no_double_answer(void **state)
{
	struct fx *fx = *state;
	size_t others = 0;

	say_as(fx, ALICE, "dm:alice", true, "!mood 2 I want to die");
	assert_int_equal(private_answers(fx), 1);
	others = fx->rec.n - private_answers(fx);
	assert_true(others >= 1); /* the mood command answered too */
	rec_clear(&fx->rec);

	/* "!crisis" with crisis words answers once, not twice. */
	fx->app.fake_now = T0 + 3600;
	say_as(fx, BOB, "dm:bob", true, "!crisis I want to die");
	assert_int_equal(private_answers(fx), 1);
	assert_int_equal(fx->rec.n, 1);
}

static void test_logs_hold_no_name_and_no_words(void **state)
{
	struct fx *fx = *state;
	char path[] = "/tmp/hearth-crisis-log-XXXXXX", buf[8192];
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	hlog_set_level(HLOG_DEBUG);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	say(fx, "zebracorn I want to die");
	fx->app.fake_now = T0 + 60;
	say(fx, "zebracorn I want to die");
	say(fx, "!crisis");
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	hlog_set_level(HLOG_WARN);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(path);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "crisis answer")); /* it does say that one was sent */
	assert_null(strstr(buf, "alice"));
	assert_null(strstr(buf, "zebracorn"));
	assert_null(strstr(buf, "want to die"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_listed_phrase_matches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exclusions_and_everyday_words_do_not_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exclusion_suppresses_only_what_it_contains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_case_accents_punctuation_apostrophes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_is_private_vetted_and_never_quotes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_country_falls_back_to_intl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit_per_member_with_fake_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alert_goes_to_moderators_without_text_or_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crisis_command_in_paused_room_and_quiet_hours, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command_still_runs_and_no_double_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logs_hold_no_name_and_no_words, setup, teardown),
	};

	hlog_set_level(HLOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
