/* test_md.c - Markdown reaches Matrix as HTML and IRC/console as readable plain text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/md.h"
#include "testapp.h"

static void html(void **state)
{
	char *out = NULL;
	static const char md[] = "**Title**\n\nSome *care* and `!help`.\n\n- one\n- two\n\n<script>x</script>";
	assert_int_equal(md_to_html(md, strlen(md), &out), HE_OK);
	assert_non_null(strstr(out, "<strong>Title</strong>"));
	assert_non_null(strstr(out, "<em>care</em>"));
	assert_non_null(strstr(out, "<li>one</li>"));
	assert_null(strstr(out, "<script>")); /* raw HTML never passes through */
	free(out);
}

static void plain(void **state)
{
	char *out = NULL;
	static const char md[] = "**Title**\n\nSome *care*, `!help` &amp; [a link](https://example.org).\n\n- one\n- two\n\nEnd.";
	assert_int_equal(md_to_plain(md, strlen(md), &out), HE_OK);
	assert_string_equal(out, "Title\n\nSome care, !help & a link (https://example.org).\n\n- one\n- two\n\nEnd.");
	free(out);
	assert_int_equal(md_to_plain("", 0, &out), HE_OK);
	assert_string_equal(out, "");
	free(out);
}

/* The help text for one command, as each network shows it. The bug this guards: an empty
 * argument slot made "**!crisis **", which CommonMark leaves as raw asterisks. */
static void help_one_command_renders(void **state)
{
	struct testapp *ta = ta_new(":memory:");
	char *html = NULL, *plain = NULL;
	const char *md;

	assert_non_null(ta);
	assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MEMBER, "!help crisis"), 1);
	md = ta_last(ta);
	assert_int_equal(md_to_html(md, strlen(md), &html), HE_OK);
	assert_int_equal(md_to_plain(md, strlen(md), &plain), HE_OK);
	assert_null(strstr(html, "*"));
	assert_non_null(strstr(html, "<code>!crisis</code>"));
	assert_null(strstr(plain, "*"));
	assert_string_equal(plain, "!crisis\n\nHelp right now: people you can reach today. Always answers.");
	free(html);
	free(plain);
	html = plain = NULL;

	/* Arguments too, and "!help !learn" is the same as "!help learn". */
	assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MEMBER, "!help !learn"), 1);
	md = ta_last(ta);
	assert_int_equal(md_to_html(md, strlen(md), &html), HE_OK);
	assert_non_null(strstr(html, "<code>!learn [topic]</code>"));
	assert_null(strstr(html, "*"));
	free(html);

	/* Another prefix: the usage shows it, still rendered. */
	free(ta->app.cfg->prefix);
	ta->app.cfg->prefix = strdup("?");
	assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MEMBER, "?help crisis"), 1);
	md = ta_last(ta);
	assert_int_equal(md_to_html(md, strlen(md), &html), HE_OK);
	assert_non_null(strstr(html, "<code>?crisis</code>"));
	free(html);
	ta_free(ta);
}

/* "!help mood" gives the whole mood help, the same reply "!mood" alone gives. */
static void help_mood_is_the_full_help(void **state)
{
	struct testapp *ta = ta_new(":memory:");
	char *alone;

	assert_non_null(ta);
	assert_int_equal(ta_say(ta, "ann", "dm", true, HROLE_MEMBER, "!mood"), 1);
	alone = strdup(ta_last(ta));
	assert_non_null(strstr(alone, "!mood history"));
	assert_int_equal(ta_say(ta, "ann", "dm", true, HROLE_MEMBER, "!help mood"), 1);
	assert_string_equal(ta_last(ta), alone);
	free(alone);
	/* The moderators' tools: the full list for a moderator, the summary for others. */
	assert_int_equal(ta_say(ta, "mo", "#r", false, HROLE_MODERATOR, "!help mod"), 1);
	assert_non_null(strstr(ta_last(ta), "!mod checkin remove"));
	assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MEMBER, "!help mod"), 1);
	assert_null(strstr(ta_last(ta), "!mod checkin remove"));
	assert_non_null(strstr(ta_last(ta), "Only this room's moderators"));
	ta_free(ta);
}

/* In the "!help" list, every command is set apart from its description in plain text (IRC,
 * console) as in HTML (Matrix). */
static void help_list_separates_command_and_text(void **state)
{
	struct testapp *ta = ta_new(":memory:");
	char *plain = NULL, *html = NULL, *save = NULL;
	const char *md;
	size_t items = 0;

	assert_non_null(ta);
	assert_int_equal(ta_say(ta, "ann", "#r", false, HROLE_MODERATOR, "!help"), 1);
	md = ta_last(ta);
	assert_int_equal(md_to_plain(md, strlen(md), &plain), HE_OK);
	assert_int_equal(md_to_html(md, strlen(md), &html), HE_OK);
	assert_non_null(strstr(html, "<li><code>!crisis</code>: Help right now"));
	assert_non_null(strstr(plain, "- !checkin: A gentle check-in question."));
	for (char *l = strtok_r(plain, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (strncmp(l, "- !", 3) != 0)
			continue;
		items++;
		/* "- !name [args]: Text": the colon comes right after the usage. */
		char *colon = strstr(l, ": ");
		assert_non_null(colon);
		assert_true(colon[2] >= 'A' && colon[2] <= 'Z');
	}
	assert_true(items >= 7);
	free(plain);
	free(html);
	ta_free(ta);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(html),
		cmocka_unit_test(plain),
		cmocka_unit_test(help_one_command_renders),
		cmocka_unit_test(help_mood_is_the_full_help),
		cmocka_unit_test(help_list_separates_command_and_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
