/* test_content.c - the content library facilitators edit: every file loads, rules hold, and bad
 * files are refused with FILE:LINE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "care/content.h"
#include "care/crisis_rules.h"
#include "core/err.h"
#include "core/text.h"

static const char *src(void)
{
	const char *s = getenv("SRC");
	return s && *s ? s : HEARTH_SOURCE_DIR;
}

static void shipped_content_meets_the_rules(void **state)
{
	struct content *c = NULL;
	char dir[4096], err[512];
	static const char *const required[] = {
		"micro-abandonment", "how-it-shows", "questions-we-ask", "roots", "secure-attachment",
		"anxious-attachment", "avoidant-attachment", "what-we-notice", "awareness",
		"naming-feelings", "professional-help", "not-your-fault",
	};
	snprintf(dir, sizeof(dir), "%s/content", src());
	assert_int_equal(content_load(dir, "en", &c, err, sizeof(err)), HE_OK);
	assert_true(c->ntopics >= 10);
	assert_true(c->nprompts >= 25);
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		assert_non_null(content_find(c, required[i]));
	for (size_t i = 0; i < c->ntopics; i++) {
		const struct topic *t = &c->topics[i];
		size_t shown = text_utf8_count(t->body, strlen(t->body)) + strlen(t->title);
		assert_true(shown <= CONTENT_TOPIC_MAX);
	}
	/* The attachment topics cite their references. */
	const struct topic *t = content_find(c, "secure-attachment");
	assert_true(t->nsources >= 2);
	assert_non_null(strstr(t->sources[0], "1969") ? t->sources[0] : t->sources[1]);
	t = content_find(c, "awareness");
	assert_non_null(strstr(t->body, "Spinoza"));
	/* Crisis resources: the fallback directory exists and unknown countries fall back to it. */
	assert_non_null(content_crisis(c, "intl"));
	assert_string_equal(content_crisis(c, "zz")->code, "intl");
	assert_string_equal(content_crisis(c, "GB")->code, "gb");
	{
		size_t nsig, nexc;
		crisis_rules_count(c->crisis_rules, &nsig, &nexc);
		assert_true(nsig > 10 && nexc > 10);
	}
	assert_true(c->consent_version >= 1);
	assert_non_null(strstr(c->consent, "{retention_days}"));
	content_free(c);
}

static void topic_parser_rules(void **state)
{
	struct topic t;
	char err[256];
	static const char ok[] = "---\nid: x-y\ntitle: A title\naliases: One, Two\nnote: heavy\n"
				 "source: Bowlby, J. (1969). Attachment.\n---\nBody *here*.\n";
	assert_int_equal(content_parse_topic(ok, sizeof(ok) - 1, &t, err, sizeof(err)), HE_OK);
	assert_string_equal(t.id, "x-y");
	assert_int_equal(t.naliases, 2);
	assert_string_equal(t.aliases[0], "one");
	assert_string_equal(t.body, "Body *here*.");
	content_topic_clear(&t);

	static const char nohdr[] = "just text\n";
	assert_int_equal(content_parse_topic(nohdr, sizeof(nohdr) - 1, &t, err, sizeof(err)), HE_INVAL);
	assert_non_null(strstr(err, "---"));
	static const char badkey[] = "---\nid: a\ntitle: b\ncolour: red\n---\nx\n";
	assert_int_equal(content_parse_topic(badkey, sizeof(badkey) - 1, &t, err, sizeof(err)), HE_INVAL);
	assert_non_null(strstr(err, "colour"));
	static const char badid[] = "---\nid: A B\ntitle: b\n---\nx\n";
	assert_int_equal(content_parse_topic(badid, sizeof(badid) - 1, &t, err, sizeof(err)), HE_INVAL);
	static const char notutf[] = "---\nid: a\ntitle: \xff\n---\nx\n";
	assert_int_equal(content_parse_topic(notutf, sizeof(notutf) - 1, &t, err, sizeof(err)), HE_INVAL);
	char big[1200];
	int n = snprintf(big, sizeof(big), "---\nid: a\ntitle: b\n---\n");
	memset(big + n, 'x', 800);
	big[n + 800] = '\0';
	assert_int_equal(content_parse_topic(big, strlen(big), &t, err, sizeof(err)), HE_INVAL);
	assert_non_null(strstr(err, "700"));
}

static void broken_library_names_the_file(void **state)
{
	char tmpl[] = "/tmp/hearth-content-XXXXXX", path[4096], err[512];
	struct content *c = NULL;
	FILE *f;
	assert_non_null(mkdtemp(tmpl));
	snprintf(path, sizeof(path), "%s/topics", tmpl);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/topics/bad.md", tmpl);
	f = fopen(path, "w");
	fputs("---\nid: other\ntitle: x\n---\nbody\n", f);
	fclose(f);
	assert_int_not_equal(content_load(tmpl, "en", &c, err, sizeof(err)), HE_OK);
	assert_null(c);
	assert_non_null(strstr(err, "bad.md:1:"));
	assert_non_null(strstr(err, "file name"));
	unlink(path);
	snprintf(path, sizeof(path), "%s/topics", tmpl);
	rmdir(path);
	rmdir(tmpl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shipped_content_meets_the_rules),
		cmocka_unit_test(topic_parser_rules),
		cmocka_unit_test(broken_library_names_the_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
