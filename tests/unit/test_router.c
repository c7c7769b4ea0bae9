/* test_router.c - the commands every member uses, through the real router, store and content. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "care/content.h"
#include "core/md.h"
#include "testapp.h"

static int setup(void **state)
{
	*state = ta_new(":memory:");
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	ta_free(*state);
	return 0;
}

static void help_lists_commands(void **state)
{
	struct testapp *ta = *state;
	assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MEMBER, "!help"), 1);
	assert_non_null(strstr(ta_last(ta), "!learn"));
	assert_non_null(strstr(ta_last(ta), "!checkin"));
	assert_non_null(strstr(ta_last(ta), "not therapy"));
	assert_null(strstr(ta_last(ta), "!mod ")); /* members don't see moderator tools */
	assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MODERATOR, "!help"), 1);
	assert_non_null(strstr(ta_last(ta), "!mod"));
	assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MEMBER, "!help learn"), 1);
	assert_non_null(strstr(ta_last(ta), "!learn [topic]"));
}

static void case_spaces_and_unicode(void **state)
{
	struct testapp *ta = *state;
	assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MEMBER, "  !LEARN    Roots  "), 1);
	assert_non_null(strstr(ta_last(ta), "Where it comes from"));
	assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MEMBER, "!learn \xf0\x9f\x92\x9a\xe2\x80\x8b"), 1);
	assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MEMBER, "!h\xc3\xa9lp"), 1); /* close: a suggestion */
	assert_non_null(strstr(ta_last(ta), "!help"));
}

static void other_text_is_not_answered(void **state)
{
	struct testapp *ta = *state;
	assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MEMBER, "hello everyone, rough day"), 0);
	assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MEMBER, "!"), 0);
	assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MEMBER, "!someotherbot do things"), 0);
	/* In a private chat an unknown command gets a hint. */
	assert_int_equal(ta_say(ta, "ann", "dm", true, HROLE_MEMBER, "!someotherbot"), 1);
}

static void bad_input_gets_kind_error(void **state)
{
	struct testapp *ta = *state;
	char big[8000];
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '!';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MEMBER, big), 1);
	assert_non_null(strstr(ta_last(ta), "too long"));
	assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MEMBER, "!learn \xff\xfe"), 1);
	assert_non_null(strstr(ta_last(ta), "couldn't read"));
	assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MEMBER, "!learn a\x07" "b"), 1);
	/* Not for us: silence, whatever it holds. */
	assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MEMBER, "\xff\xfe chatter"), 0);
}

static void learn_suggests_close_topics(void **state)
{
	struct testapp *ta = *state;
	assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MEMBER, "!learn attachmnt"), 1);
	assert_non_null(strstr(ta_last(ta), "anxious-attachment"));
	assert_non_null(strstr(ta_last(ta), "avoidant-attachment"));
	assert_non_null(strstr(ta_last(ta), "secure-attachment"));
	assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MEMBER, "!learn avoidnt"), 1);
	assert_non_null(strstr(ta_last(ta), "Avoidant attachment"));
	assert_non_null(strstr(ta_last(ta), "Bowlby"));
	assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MEMBER, "!learn quantum chromodynamics"), 1);
	assert_non_null(strstr(ta_last(ta), "!topics"));
}

static void learn_today_is_stable_within_a_day(void **state)
{
	struct testapp *ta = *state;
	char first[2048];
	ta->app.fake_now = 1795000000;
	ta_say(ta, "ann", "#r", false, HROLE_MEMBER, "!learn");
	snprintf(first, sizeof(first), "%s", ta_last(ta));
	assert_non_null(strstr(first, "Today's reading"));
	ta->app.fake_now += 3600;
	ta_say(ta, "bob", "#s", false, HROLE_MEMBER, "!learn");
	assert_string_equal(first, ta_last(ta));
	ta->app.fake_now += 86400;
	ta_say(ta, "bob", "#s", false, HROLE_MEMBER, "!learn");
	assert_string_not_equal(first, ta_last(ta));
	ta->app.fake_now = 0;
}

static void checkin_never_repeats_in_a_day(void **state)
{
	struct testapp *ta = *state;
	size_t n = ta->app.content->nprompts;
	char **seen = calloc(n, sizeof(*seen));
	ta->app.fake_now = 1795000000;
	for (size_t i = 0; i < n; i++) {
		ta->app.fake_now += 60; /* one a minute: a member's answers in a room are rate-limited */
		ta_say(ta, "ann", "#room", false, HROLE_MEMBER, "!checkin");
		seen[i] = strdup(ta_last(ta));
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(seen[i], seen[j]);
	}
	/* Another room has its own rotation and may see the same first prompt. */
	assert_int_equal(ta_say(ta, "ann", "#other", false, HROLE_MEMBER, "!checkin"), 1);
	for (size_t i = 0; i < n; i++)
		free(seen[i]);
	free(seen);
	ta->app.fake_now = 0;
}

static void prefix_is_configurable(void **state)
{
	struct testapp *ta = *state;
	free(ta->app.cfg->prefix);
	ta->app.cfg->prefix = strdup("?");
	assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MEMBER, "!help"), 0);
	assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MEMBER, "?help"), 1);
	assert_non_null(strstr(ta_last(ta), "?learn"));
	assert_null(strstr(ta_last(ta), "!learn"));
	free(ta->app.cfg->prefix);
	ta->app.cfg->prefix = strdup("!");
}

static void about_says_what_it_is_not(void **state)
{
	struct testapp *ta = *state;
	assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MEMBER, "!about"), 1);
	assert_non_null(strstr(ta_last(ta), "therapy"));
	assert_non_null(strstr(ta_last(ta), "not a crisis service"));
	assert_non_null(strstr(ta_last(ta), "!mood forget"));
	assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MEMBER, "!topics"), 1);
	assert_non_null(strstr(ta_last(ta), "micro-abandonment"));
}

/* The crisis answer among replies: private, and never the member's words. */
static size_t crisis_answers(const struct testapp *ta, const char *words)
{
	size_t n = 0;

	for (size_t i = 0; i < ta->n; i++) {
		if (!strstr(ta->replies[i].text, "not alone"))
			continue;
		assert_true(ta->replies[i].is_private);
		assert_int_equal(ta->replies[i].dest, HDEST_PRIVATE);
		assert_null(strstr(ta->replies[i].text, words));
		n++;
	}
	return n;
}

/* A message of len bytes: head, then filler words, then tail at the end. */
static char *long_message(const char *head, size_t len, const char *tail, size_t tail_at)
{
	char *m = malloc(len + 1);
	size_t hl = strlen(head);

	assert_non_null(m);
	for (size_t i = 0; i < len; i++)
		m[i] = "so tired today "[i % 15];
	memcpy(m, head, hl);
	if (tail)
		memcpy(m + tail_at, tail, strlen(tail));
	m[len] = '\0';
	return m;
}

static void crisis_is_checked_before_size_and_encoding(void **state)
{
	struct testapp *ta = *state;
	char *big;

	/* 5 KB, over max_message_bytes (4096): the crisis answer still goes out. */
	big = long_message("some nights I feel like I want to kill myself. ", 5000, NULL, 0);
	assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MEMBER, big), 1);
	assert_int_equal(crisis_answers(ta, "kill myself"), 1);
	free(big);
	/* A command that is too long: the crisis answer, then the kind error. */
	ta_clear(ta);
	big = long_message("!learn some nights I feel like I want to kill myself. ", 5000, NULL, 0);
	assert_int_equal(ta_say(ta, "bob", "#r", false, HROLE_MEMBER, big), 2);
	assert_int_equal(crisis_answers(ta, "kill myself"), 1);
	assert_non_null(strstr(ta_last(ta), "too long"));
	free(big);
	/* Deep inside a long message, within the first 16 KB. */
	ta_clear(ta);
	big = long_message("hi all. ", 15000, " i don't want to wake up tomorrow. ", 12000);
	assert_int_equal(ta_say(ta, "cat", "#r", false, HROLE_MEMBER, big), 1);
	assert_int_equal(crisis_answers(ta, "wake up"), 1);
	free(big);
	/* Latin-1 from an IRC client: invalid UTF-8, read as Latin-1 (0x92 is a curly apostrophe
	 * in Windows-1252, 0xE9 is e acute). */
	ta_clear(ta);
	assert_int_equal(ta_say(ta, "dan", "#r", false, HROLE_MEMBER,
				"the caf\xe9 closed. I don\x92t want to live anymore"), 1);
	assert_int_equal(crisis_answers(ta, "live anymore"), 1);
	ta_clear(ta);
	assert_int_equal(ta_say(ta, "eve", "#r", false, HROLE_MEMBER, "je suis fatigu\xe9" "e, I want to d\xef" "e"), 1);
	assert_int_equal(crisis_answers(ta, "fatigu"), 1);
	/* As a command, Latin-1 still gets the encoding error after the crisis answer. */
	ta_clear(ta);
	assert_int_equal(ta_say(ta, "fay", "#r", false, HROLE_MEMBER, "!learn caf\xe9, I want to kill myself"), 2);
	assert_int_equal(crisis_answers(ta, "kill myself"), 1);
	assert_non_null(strstr(ta_last(ta), "couldn't read"));
	/* Plain chatter in Latin-1 or at length stays silent. */
	ta_clear(ta);
	assert_int_equal(ta_say(ta, "gus", "#r", false, HROLE_MEMBER, "caf\xe9 au lait, anyone?"), 0);
	big = long_message("hello. ", 20000, NULL, 0);
	assert_int_equal(ta_say(ta, "gus", "#r", false, HROLE_MEMBER, big), 0);
	free(big);
}

/* An unknown command close to a real one is echoed back; a backtick in it cannot end the code
 * span and let the rest render as Markdown. */
static void hostile_unknown_command_is_echoed_as_code(void **state)
{
	struct testapp *ta = *state;
	static const char *const tries[] = { "!he`lp", "!h`*lp", "!`help", "!hel`", "!mo``d" };

	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		char *html = NULL, want[64];
		const char *close;
		ta_clear(ta);
		assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MEMBER, tries[i]), 1);
		assert_int_equal(md_to_html(ta_last(ta), strlen(ta_last(ta)), &html), 0);
		/* The first code element holds exactly what they typed. */
		snprintf(want, sizeof(want), "<code>%s</code>", tries[i]);
		if (!strstr(html, want))
			print_error("reply %s rendered %s\n", ta_last(ta), html);
		assert_non_null(strstr(html, want));
		assert_null(strstr(html, "<em"));
		assert_null(strstr(html, "<strong"));
		/* Then our suggestion and !help, each its own code element, after the echo. */
		close = strstr(html, want) + strlen(want);
		assert_non_null(strstr(close, "<code>!help</code>"));
		free(html);
	}
}

/* A moderator's words echoed by !mod (a time zone, a schedule, an unknown tool) render as text:
 * no link, emphasis or mention, whatever they hold. */
static void moderator_echoes_render_as_text(void **state)
{
	struct testapp *ta = *state;
	static const char *const tries[] = {
		"!mod quiet 22:00-07:00 [x](https://evil.example)",
		"!mod quiet 22:00-07:00 **@mallory:evil.example**",
		"!mod quiet 2[x](https://evil.example)",
		"!mod checkin add \"0 9 * * *\" <https://evil.example>_*boo*_",
		"!mod checkin add \"[x](https://evil.example) 9 * * *\"",
		"!mod checkin add \"`` **x** ``\"",
		"!mod qu`**iet**",
	};

	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		char *html = NULL;
		ta_clear(ta);
		assert_int_equal(ta_say(ta, "mo", "#r", false, HROLE_MODERATOR, tries[i]), 1);
		assert_non_null(strstr(ta_last(ta), "Nothing was") ? ta_last(ta) : strstr(ta_last(ta), "I don't know"));
		assert_int_equal(md_to_html(ta_last(ta), strlen(ta_last(ta)), &html), 0);
		if (strstr(html, "<a") || strstr(html, "<em") || strstr(html, "<strong"))
			print_error("%s -> %s\n", tries[i], html);
		assert_null(strstr(html, "<a"));
		assert_null(strstr(html, "<em"));
		assert_null(strstr(html, "<strong"));
		assert_null(strstr(html, "evil.example"));  /* broken by a zero-width space */
		free(html);
	}
}

/* Topic names come from content files a moderator reloads: shown as text, never as Markdown. */
static void topic_names_render_as_text(void **state)
{
	struct testapp *ta = *state;
	struct topic *t = &ta->app.content->topics[0];
	char *old = t->title, cmd[128], *html = NULL;
	static const char *const cmds[] = { "!topics", NULL, "!learn zzzzattachment" };
	int shown = 0;

	t->title = strdup("**Big** [x](https://evil.example) @mallory:evil.example `c`");
	assert_non_null(t->title);
	snprintf(cmd, sizeof(cmd), "!learn %s", t->id);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		ta_clear(ta);
		ta_say(ta, "ann", "#r", false, HROLE_MEMBER, cmds[i] ? cmds[i] : cmd);
		assert_int_equal(ta->n, 1);
		assert_int_equal(md_to_html(ta_last(ta), strlen(ta_last(ta)), &html), 0);
		if (strstr(ta_last(ta), "Big")) { /* the title is in this reply */
			shown++;
			assert_null(strstr(html, "<a"));
			assert_null(strstr(html, "evil.example"));
			assert_null(strstr(html, "<strong>Big</strong>"));
			assert_non_null(strstr(html, "**Big**"));
		}
		free(html);
		html = NULL;
	}
	assert_true(shown >= 2);
	free(t->title);
	t->title = old;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(help_lists_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(case_spaces_and_unicode, setup, teardown),
		cmocka_unit_test_setup_teardown(other_text_is_not_answered, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_input_gets_kind_error, setup, teardown),
		cmocka_unit_test_setup_teardown(learn_suggests_close_topics, setup, teardown),
		cmocka_unit_test_setup_teardown(learn_today_is_stable_within_a_day, setup, teardown),
		cmocka_unit_test_setup_teardown(checkin_never_repeats_in_a_day, setup, teardown),
		cmocka_unit_test_setup_teardown(prefix_is_configurable, setup, teardown),
		cmocka_unit_test_setup_teardown(about_says_what_it_is_not, setup, teardown),
		cmocka_unit_test_setup_teardown(crisis_is_checked_before_size_and_encoding, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_unknown_command_is_echoed_as_code, setup, teardown),
		cmocka_unit_test_setup_teardown(moderator_echoes_render_as_text, setup, teardown),
		cmocka_unit_test_setup_teardown(topic_names_render_as_text, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
