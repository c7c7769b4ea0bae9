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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(html),
		cmocka_unit_test(plain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
