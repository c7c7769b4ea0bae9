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
#include "core/config.h"
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

	static const char badkind[] = "---\nid: a\ntitle: b\nkind: maybe\n---\nx\n";
	assert_int_equal(content_parse_topic(badkind, sizeof(badkind) - 1, &t, err, sizeof(err)), HE_INVAL);
	assert_non_null(strstr(err, "4: kind"));
	static const char nosrc[] = "---\nid: a\ntitle: b\nkind: research\n---\nx\n";
	assert_int_equal(content_parse_topic(nosrc, sizeof(nosrc) - 1, &t, err, sizeof(err)), HE_INVAL);
	assert_non_null(strstr(err, "source"));

	static const char nohdr[] = "just text\n";
	assert_int_equal(content_parse_topic(nohdr, sizeof(nohdr) - 1, &t, err, sizeof(err)), HE_INVAL);
	assert_non_null(strstr(err, "---"));
	static const char badkey[] = "---\nid: a\ntitle: b\ncolour: red\n---\nx\n";
	assert_int_equal(content_parse_topic(badkey, sizeof(badkey) - 1, &t, err, sizeof(err)), HE_INVAL);
	assert_non_null(strstr(err, "colour"));
	assert_int_equal(atoi(err), 4); /* its own line */
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
	assert_non_null(strstr(err, "bad.md:2:")); /* the id's own line */
	assert_non_null(strstr(err, "file name"));
	unlink(path);
	snprintf(path, sizeof(path), "%s/topics", tmpl);
	rmdir(path);
	rmdir(tmpl);
}

static const char bowlby[] = "Bowlby, J. (1969). Attachment and Loss: Vol. 1. Attachment. Basic Books.";
static const char ainsworth[] = "Ainsworth, M. D. S., Blehar, M. C., Waters, E., & Wall, S. (1978). "
				"Patterns of Attachment. Erlbaum.";

static bool cites(const struct topic *t, const char *who)
{
	for (size_t i = 0; i < t->nsources; i++)
		if (strstr(t->sources[i], who))
			return true;
	return false;
}

static bool has_source(const struct topic *t, const char *full)
{
	for (size_t i = 0; i < t->nsources; i++)
		if (strcmp(t->sources[i], full) == 0)
			return true;
	return false;
}

/* Bowlby and Ainsworth et al. where attachment research is discussed, with the full references;
 * never under the micro-abandonment topics (not their term), which say they are guidance. */
static void citations_where_they_belong(void **state)
{
	struct content *c = NULL;
	char dir[4096], err[512];
	static const char *const research[] = {
		"roots", "secure-attachment", "anxious-attachment", "avoidant-attachment", "what-we-notice",
	};
	static const char *const guidance[] = {
		"micro-abandonment", "how-it-shows", "questions-we-ask", "breaking-the-cycle", "not-your-fault",
		"awareness", "naming-feelings", "professional-help", "self-compassion",
	};
	snprintf(dir, sizeof(dir), "%s/content", src());
	assert_int_equal(content_load(dir, "en", &c, err, sizeof(err)), HE_OK);
	for (size_t i = 0; i < sizeof(research) / sizeof(research[0]); i++) {
		const struct topic *t = content_find(c, research[i]);
		assert_non_null(t);
		assert_false(t->guidance);
		assert_true(has_source(t, bowlby));
		assert_true(has_source(t, ainsworth));
	}
	for (size_t i = 0; i < sizeof(guidance) / sizeof(guidance[0]); i++) {
		const struct topic *t = content_find(c, guidance[i]);
		assert_non_null(t);
		assert_true(t->guidance);
		assert_false(cites(t, "Bowlby"));
		assert_false(cites(t, "Ainsworth"));
	}
	/* Every topic is one or the other, and a topic that cites them is research. */
	for (size_t i = 0; i < c->ntopics; i++)
		if (cites(&c->topics[i], "Bowlby") || cites(&c->topics[i], "Ainsworth"))
			assert_false(c->topics[i].guidance);
	/* Micro-abandonment is not presented as a research term. */
	assert_non_null(strstr(content_find(c, "micro-abandonment")->body, "not a clinical term"));
	content_free(c);
}

/* An anxiously attached person watches for distance or rejection, not for closeness; heavy
 * topics carry a content note. */
static void topics_read_right(void **state)
{
	struct content *c = NULL;
	char dir[4096], err[512];
	const struct topic *t;

	snprintf(dir, sizeof(dir), "%s/content", src());
	assert_int_equal(content_load(dir, "en", &c, err, sizeof(err)), HE_OK);
	t = content_find(c, "anxious-attachment");
	assert_non_null(strstr(t->body, "signs of distance or rejection"));
	assert_null(strstr(t->body, "signs of closeness"));
	for (size_t i = 0; i < c->ntopics; i++) {
		t = &c->topics[i];
		if (strstr(t->body, "neglect") || strstr(t->body, "abandon") || strstr(t->body, "about to be left"))
			assert_non_null(t->note);
	}
	content_free(c);
}

/* At least 12 prompts in the seed's themes; none repeats the "passing is fine" line Hearth adds
 * to every check-in, and none speaks to a group (prompts also go to private chats). */
static void prompts_follow_the_themes(void **state)
{
	static const char *const themes[] = {
		"## Noticing small hurts", "## Naming a need", "## Reaching out", "## Trusting yourself",
	};
	struct content *c = NULL;
	char path[4096], line[512], err[512];
	size_t per_theme[4] = { 0 }, total = 0;
	int theme = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/content/prompts.md", src());
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#') {
			theme = -1;
			for (int i = 0; i < 4; i++)
				if (strncmp(line, themes[i], strlen(themes[i])) == 0)
					theme = i;
		} else if (strncmp(line, "- ", 2) == 0 && theme >= 0) {
			per_theme[theme]++;
		}
	}
	fclose(f);
	for (int i = 0; i < 4; i++) {
		assert_true(per_theme[i] >= 3);
		total += per_theme[i];
	}
	assert_true(total >= 12);
	snprintf(path, sizeof(path), "%s/content", src());
	assert_int_equal(content_load(path, "en", &c, err, sizeof(err)), HE_OK);
	for (size_t i = 0; i < c->nprompts; i++) {
		char *folded = text_fold(c->prompts[i]);
		assert_non_null(folded);
		assert_null(strstr(folded, "pass"));
		assert_null(strstr(folded, "as much or as little"));
		assert_null(strstr(folded, "group"));
		assert_null(strstr(folded, "everyone"));
		assert_true(text_utf8_count(c->prompts[i], strlen(c->prompts[i])) <= CONTENT_PROMPT_MAX);
		free(folded);
	}
	content_free(c);
}

/* !about and the consent text take the configured threshold, never a fixed number. */
static void texts_use_the_configured_threshold(void **state)
{
	struct content *c = NULL;
	struct content_vars v = { 90, 8 };
	char dir[4096], err[512], *out = NULL;

	snprintf(dir, sizeof(dir), "%s/content", src());
	assert_int_equal(content_load(dir, "en", &c, err, sizeof(err)), HE_OK);
	assert_non_null(strstr(c->about, "{stats_min_members}"));
	assert_non_null(strstr(c->consent, "{stats_min_members}"));
	assert_null(strstr(c->about, "least 5"));
	assert_int_equal(content_fill(c->about, &v, &out), HE_OK);
	assert_non_null(strstr(out, "at least 8 people"));
	assert_null(strchr(out, '{'));
	free(out);
	assert_int_equal(content_fill(c->consent, &v, &out), HE_OK);
	assert_non_null(strstr(out, "at least 8 people"));
	assert_non_null(strstr(out, "older than 90 days"));
	free(out);
	/* Unknown or broken placeholders stay as written. */
	assert_int_equal(content_fill("{x} {retention_days {stats_min_members}}", &v, &out), HE_OK);
	assert_string_equal(out, "{x} {retention_days 8}");
	free(out);
	content_free(c);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const struct config_problem *find_problem(const struct config_problems *p, const char *file_end,
						 int line, const char *words)
{
	for (size_t i = 0; i < p->n; i++) {
		const char *f = p->items[i].file;
		size_t fl = f ? strlen(f) : 0, el = strlen(file_end);
		if (f && fl >= el && strcmp(f + fl - el, file_end) == 0 && p->items[i].line == line &&
		    strstr(p->items[i].msg, words))
			return &p->items[i];
	}
	return NULL;
}

/* --check-config: every problem in every content file, each with its real line, in one pass. */
static void check_finds_every_problem(void **state)
{
	char tmpl[] = "/tmp/hearth-check-XXXXXX", cmd[4200], longp[400];
	struct config_problems p = { 0 };
	struct content *c = NULL;
	int n;

	assert_non_null(mkdtemp(tmpl));
	snprintf(cmd, sizeof(cmd), "cp -r '%s/content/.' '%s/'", src(), tmpl);
	assert_int_equal(system(cmd), 0);
	/* A topic with three problems: an unknown key (line 4), a bad kind (line 5), too long. */
	char big[1400];
	int k = snprintf(big, sizeof(big), "---\nid: roots\ntitle: Roots\ncolour: red\nkind: opinion\n---\n");
	memset(big + k, 'x', 900);
	big[k + 900] = '\0';
	write_file(tmpl, "topics/roots.md", big);
	/* Research without a source (kind on line 4). */
	write_file(tmpl, "topics/awareness.md", "---\nid: awareness\ntitle: A\nkind: research\n---\nBody.\n");
	/* Two lines that are not "key: value" (inih alone names only the first). */
	write_file(tmpl, "topics/self-compassion.md", "---\nid: self-compassion\nnot a key\ntitle: S\n"
		   "nor this\n---\nBody.\n");
	/* A prompt over the limit on line 4 and a line that is not a list item on line 6. */
	memset(longp, 'y', 250);
	longp[250] = '\0';
	snprintf(cmd, sizeof(cmd), "# Check-in prompts\n\n- Fine?\n- %s\n\nnot a list item\n", longp);
	write_file(tmpl, "prompts.md", cmd);
	/* An unknown placeholder on about.md's line 3. */
	write_file(tmpl, "about.md", "Hearth.\n\nAt least {min_members} people.\n");
	/* A broken crisis pattern in another language's file, line 2. */
	write_file(tmpl, "crisis/patterns-de.txt", "signal: ich will sterben\nnonsense here\n");

	n = content_check(tmpl, "en", &c, &p);
	assert_non_null(c);
	assert_true(n >= 7);
	assert_non_null(find_problem(&p, "topics/roots.md", 4, "unknown header key \"colour\""));
	assert_non_null(find_problem(&p, "topics/roots.md", 5, "opinion"));
	assert_non_null(find_problem(&p, "topics/roots.md", 7, "characters"));
	assert_non_null(find_problem(&p, "topics/awareness.md", 4, "source"));
	assert_non_null(find_problem(&p, "topics/self-compassion.md", 3, "key: value"));
	assert_non_null(find_problem(&p, "topics/self-compassion.md", 5, "key: value"));
	assert_non_null(find_problem(&p, "prompts.md", 4, "250 characters"));
	assert_non_null(find_problem(&p, "prompts.md", 6, "list item"));
	assert_non_null(find_problem(&p, "about.md", 3, "{min_members}"));
	assert_non_null(find_problem(&p, "crisis/patterns-de.txt", 2, ""));
	/* What loaded is there (the crisis countries can still be checked). */
	assert_non_null(content_crisis(c, "gb"));
	content_free(c);
	config_problems_clear(&p);

	/* The same library refuses to load, naming the first problem it met. */
	{
		char err[512];
		assert_int_not_equal(content_load(tmpl, "en", &c, err, sizeof(err)), HE_OK);
		assert_null(c);
		assert_non_null(strstr(err, tmpl));
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	assert_int_equal(system(cmd), 0);
}

static void languages_are_listed(void **state)
{
	char dir[4096], out[128];
	bool found = true;

	snprintf(dir, sizeof(dir), "%s/content", src());
	assert_true(content_languages(dir, out, sizeof(out), "fr", &found) >= 1);
	assert_false(found);
	assert_non_null(strstr(out, "en"));
	assert_true(content_languages(dir, out, sizeof(out), "en", &found) >= 1);
	assert_true(found);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shipped_content_meets_the_rules),
		cmocka_unit_test(topic_parser_rules),
		cmocka_unit_test(broken_library_names_the_file),
		cmocka_unit_test(citations_where_they_belong),
		cmocka_unit_test(topics_read_right),
		cmocka_unit_test(prompts_follow_the_themes),
		cmocka_unit_test(texts_use_the_configured_threshold),
		cmocka_unit_test(check_finds_every_problem),
		cmocka_unit_test(languages_are_listed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
