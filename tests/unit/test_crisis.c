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
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "care/care.h"
#include "care/content.h"
#include "care/crisis.h"
#include "care/crisis_rules.h"
#include "core/err.h"
#include "care/rooms.h"
#include "core/app.h"
#include "core/config.h"
#include "core/log.h"
#include "core/text.h"
#include "store/store.h"
#include "testapp.h"

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
	assert_int_equal(ta_store_open(":memory:", &fx->app.store), 0);
	snprintf(dir, sizeof(dir), "%s/content", src_dir());
	if (content_load(dir, "en", &fx->app.content, err, sizeof(err)) != 0)
		print_error("content: %s\n", err);
	assert_non_null(fx->app.content);
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

/* The labelled sentences in tests/data/crisis/labelled-LANG.txt against the shipped patterns
 * (every language's, as in a live room): recall (sentences owed an answer that get one) and
 * false alarms (sentences not owed one that get one anyway). Each language is held to the same
 * bars. */
static void labelled_set(const struct content *c, const char *lang, size_t min_each)
{
	char path[4096], line[2048];
	size_t yes = 0, no = 0, hit = 0, alarm = 0;
	struct timespec t0, t1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/data/crisis/labelled-%s.txt", src_dir(), lang);
	f = fopen(path, "r");
	if (!f)
		print_error("cannot open %s\n", path);
	assert_non_null(f);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (fgets(line, sizeof(line), f)) {
		char *tab = strchr(line, '\t');
		bool owed;
		int m;

		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		assert_non_null(tab);
		*tab = '\0';
		assert_true(strcmp(line, "yes") == 0 || strcmp(line, "no") == 0);
		owed = strcmp(line, "yes") == 0;
		m = crisis_match(c, tab + 1);
		assert_true(m == 0 || m == 1);
		if (owed) {
			yes++;
			hit += (size_t)m;
			if (!m)
				print_message("  %s missed:      %s\n", lang, tab + 1);
		} else {
			no++;
			alarm += (size_t)m;
			if (m)
				print_message("  %s false alarm: %s\n", lang, tab + 1);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fclose(f);
	print_message("crisis patterns (%s): %zu sentences owed an answer, %zu not; recall %.1f%% "
		      "(%zu/%zu), false alarms %.1f%% (%zu/%zu); %.1f us per sentence\n", lang, yes, no,
		      100.0 * (double)hit / (double)yes, hit, yes, 100.0 * (double)alarm / (double)no, alarm,
		      no, ((double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3) /
		      (double)(yes + no));
	assert_true(yes >= min_each && no >= min_each);
	assert_true(hit * 100 >= yes * 95);
	assert_true(alarm * 100 <= no * 5);
}

static void test_labelled_set_recall_and_false_alarms(void **state)
{
	labelled_set(((struct fx *)*state)->app.content, "en", 75);
}

static void test_labelled_set_german(void **state)
{
	labelled_set(((struct fx *)*state)->app.content, "de", 60);
}

static void test_everyday_words_do_not_match(void **state)
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

	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		if (crisis_match(c, no[i]) != 0)
			print_error("matched but should not: %s\n", no[i]);
		assert_int_equal(crisis_match(c, no[i]), 0);
	}
}

/* The pattern format: what it means, and errors a reviewer can act on (FILE:LINE). */
/* What a transport that replays missed messages (IRC's channel history after a failover) asks
 * before it answers one: crisis language is answered like a command, everyday talk is not. */
static void test_wants_answer_crisis_and_commands(void **state)
{
	struct fx *fx = *state;

	assert_true(happ_wants_answer(&fx->app, "Ugh zebracorn day. I want to die honestly"));
	assert_true(happ_wants_answer(&fx->app, "!learn"));
	assert_true(happ_wants_answer(&fx->app, "  !checkin"));
	assert_false(happ_wants_answer(&fx->app, "hello everyone, how was your day?"));
	assert_false(happ_wants_answer(&fx->app, "This cake is to die for"));
	assert_false(happ_wants_answer(&fx->app, NULL));
}

static void test_pattern_format_and_errors(void **state)
{
	static const char good[] =
		"# a comment\n"
		"@me = myself | my self\n"
		"\n"
		"signal: hurt @me\n"
		"signal: ~rainbows\n"
		"signal: want|wish to? go ..2 away_forever\n"
		"signal: grue*\n"
		"except: hurt @me at the|a? gym\n";
	static const struct { const char *text; const char *msg; } bad[] = {
		{ "signal: hurt @me\n", "t.txt:1: unknown word class @me" },
		{ "@me = myself\nsignal: a | b\n", "t.txt:2:" },
		{ "signal: (is|was) sad\n", "t.txt:1: \"(is\": brackets" },
		{ "signal: ..2 sad\n", "t.txt:1: a pattern cannot start with a gap" },
		{ "signal: sad ..2\n", "t.txt:1: a pattern cannot end with a gap" },
		{ "signal: sad ..12 day\n", "t.txt:1: a gap is ..1 to ..9" },
		{ "signal: self-harm\n", "t.txt:1: \"self-harm\" is not one word" },
		{ "signal: a?\n", "t.txt:1: a pattern needs at least one word" },
		{ "signal: ~sad\n", "t.txt:1: \"~sad\": spelling tolerance" },
		{ "# nothing\n", "t.txt:1: no signal: lines" },
		{ "signal: ok\nsadness\n", "t.txt:2: expected" },
		{ "signal: ok\n@x = a\n@x = b\n", "t.txt:3: the class @x is defined twice" },
		{ "signal: ok\nsignal: a|\n", "t.txt:2: an empty alternative" },
	};
	struct crisis_rules *r = NULL;
	char err[256];
	size_t ns, nx;

	assert_int_equal(crisis_rules_parse("t.txt", good, sizeof(good) - 1, &r, err, sizeof(err)), 0);
	crisis_rules_count(r, &ns, &nx);
	assert_int_equal(ns, 4);
	assert_int_equal(nx, 1);
	assert_int_equal(crisis_rules_match(r, "i hurt my self", NULL), 1);
	assert_int_equal(crisis_rules_match(r, "i hurt myself at the gym", NULL), 0);
	assert_int_equal(crisis_rules_match(r, "i hurt myself at gym", NULL), 0);
	assert_int_equal(crisis_rules_match(r, "i hurt myself at home", NULL), 1);
	assert_int_equal(crisis_rules_match(r, "so many rainbow", NULL), 1);     /* one edit away */
	assert_int_equal(crisis_rules_match(r, "so many rain", NULL), 0);
	assert_int_equal(crisis_rules_match(r, "i wish go far far away forever", NULL), 1);
	assert_int_equal(crisis_rules_match(r, "i wish go far far far away forever", NULL), 0);
	assert_int_equal(crisis_rules_match(r, "gruesome", NULL), 1);
	assert_int_equal(crisis_rules_match(r, "agruesome", NULL), 0);
	crisis_rules_free(r);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		r = NULL;
		assert_int_equal(crisis_rules_parse("t.txt", bad[i].text, strlen(bad[i].text), &r, err,
						    sizeof(err)), HE_INVAL);
		assert_null(r);
		if (strncmp(err, bad[i].msg, strlen(bad[i].msg)) != 0)
			print_error("got \"%s\", wanted \"%s...\"\n", err, bad[i].msg);
		assert_memory_equal(err, bad[i].msg, strlen(bad[i].msg));
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

/* German written without umlauts or ß (ae, oe, ue, ss) and with them matches the same pattern,
 * whichever spelling the pattern uses; the capital sharp s too. */
static int match_text(const struct crisis_rules *r, const char *text)
{
	char *f = text_fold(text), *w = f ? text_words(f) : NULL;
	int m;

	assert_non_null(w);
	m = crisis_rules_match(r, w, NULL);
	free(w);
	free(f);
	return m;
}

static void test_german_spellings_fold(void **state)
{
	static const char pats[] =
		"signal: müde\n"
		"signal: strasse\n"
		"signal: lebensmüd*\n"
		"signal: ~überleben\n"
		"signal: weiß nicht weiter\n";
	static const char *const yes[] = {
		"so MÜDE", "so muede", "so Muede heute", "STRASSE", "Straße", "STRA\xe1\xba\x9e" "E",
		"strase", "lebensmuede", "Lebensmüdigkeit", "LEBENSMUEDE", "ueberleben", "Überleben",
		"uberleben", "ueberlebn", "ich weiss nicht weiter", "ich weiß nicht weiter",
		"ich weis nicht weiter",
	};
	static const char *const no[] = { "mud", "stras", "lebens", "leben", "weiter", "mus" };
	struct crisis_rules *r = NULL;
	const struct content *c = ((struct fx *)*state)->app.content;
	char err[256];

	assert_int_equal(crisis_rules_parse("t.txt", pats, sizeof(pats) - 1, &r, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (match_text(r, yes[i]) != 1)
			print_error("not matched: %s\n", yes[i]);
		assert_int_equal(match_text(r, yes[i]), 1);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		if (match_text(r, no[i]) != 0)
			print_error("matched but should not: %s\n", no[i]);
		assert_int_equal(match_text(r, no[i]), 0);
	}
	crisis_rules_free(r);
	/* The shipped German patterns, in both spellings. */
	assert_int_equal(crisis_match(c, "ich möchte nicht mehr leben"), 1);
	assert_int_equal(crisis_match(c, "ich moechte nicht mehr leben"), 1);
	assert_int_equal(crisis_match(c, "Ich bin LEBENSMUEDE"), 1);
	assert_int_equal(crisis_match(c, "ich wuenschte ich waere tot"), 1);
	assert_int_equal(crisis_match(c, "ich weiss nicht weiter, ich will nur noch sterben"), 1);
	assert_int_equal(crisis_match(c, "ich sterbe vor Lachen"), 0);
}

/* A second file's rules join the first: both match, each file's classes stay its own, and an
 * exception works across the join. */
static void test_merge_keeps_files_apart(void **state)
{
	static const char a[] = "@x = eins\nsignal: @x zwei\n";
	static const char b[] = "@x = drei\nsignal: @x vier\nexcept: drei vier fünf\n";
	struct crisis_rules *ra = NULL, *rb = NULL;
	char err[256];
	size_t ns, nx;

	(void)state;
	assert_int_equal(crisis_rules_parse("a.txt", a, sizeof(a) - 1, &ra, err, sizeof(err)), 0);
	assert_int_equal(crisis_rules_parse("b.txt", b, sizeof(b) - 1, &rb, err, sizeof(err)), 0);
	assert_int_equal(crisis_rules_match(ra, "drei vier", NULL), 0);
	assert_int_equal(crisis_rules_merge(ra, rb), 0);
	crisis_rules_free(rb);
	assert_int_equal(crisis_rules_merge(ra, NULL), 0);
	crisis_rules_count(ra, &ns, &nx);
	assert_int_equal(ns, 2);
	assert_int_equal(nx, 1);
	assert_int_equal(crisis_rules_match(ra, "eins zwei", NULL), 1);
	assert_int_equal(crisis_rules_match(ra, "drei vier", NULL), 1);
	assert_int_equal(crisis_rules_match(ra, "drei vier funf", NULL), 0);
	assert_int_equal(crisis_rules_match(ra, "eins vier", NULL), 0);
	assert_int_equal(crisis_rules_match(ra, "drei zwei", NULL), 0);
	crisis_rules_free(ra);
}

/* Every language's patterns are active whatever the configured language: a person in crisis
 * may write in any of them. */
static void test_every_language_is_active(void **state)
{
	struct content *de = NULL;
	const struct content *en = ((struct fx *)*state)->app.content;
	char dir[4096], err[512];

	assert_int_equal(crisis_match(en, "I want to die"), 1);
	assert_int_equal(crisis_match(en, "ich will nicht mehr leben"), 1);
	snprintf(dir, sizeof(dir), "%s/content", src_dir());
	if (content_load(dir, "de", &de, err, sizeof(err)) != 0)
		print_error("content: %s\n", err);
	assert_non_null(de);
	assert_int_equal(crisis_match(de, "I want to die"), 1);
	assert_int_equal(crisis_match(de, "ich will nicht mehr leben"), 1);
	assert_int_equal(crisis_match(de, "ich lach mich tot"), 0);
	assert_int_equal(crisis_match(de, "I'm killing it at work this week!"), 0);
	content_free(de);
}

/* The German library (content/de/) read as a whole library of its own, with the shipped
 * patterns: it loads without a problem, has every English topic under the same id with the same
 * kind and sources, the crisis lists of Germany, Austria, Switzerland and the international
 * directory, and a crisis answer that never lists a number (the lists do that). Until the
 * language overlay reads content/de/ itself, this is what checks those files. */
static int link_dir(const char *from, const char *to, const char *skip)
{
	DIR *d = opendir(from);
	struct dirent *e;
	char a[4400], b[4400];
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || (skip && strcmp(e->d_name, skip) == 0))
			continue;
		snprintf(a, sizeof(a), "%s/%s", from, e->d_name);
		snprintf(b, sizeof(b), "%s/%s", to, e->d_name);
		assert_int_equal(symlink(a, b), 0);
		n++;
	}
	closedir(d);
	return n;
}

static void test_german_library(void **state)
{
	const struct content *en = ((struct fx *)*state)->app.content;
	char tmp[] = "/tmp/hearth-de-XXXXXX", src[4096], path[4096], err[1024];
	struct content *de = NULL;
	static const char *const countries[] = { "de", "at", "ch", "intl" };

	assert_non_null(mkdtemp(tmp));
	snprintf(src, sizeof(src), "%s/content/de", src_dir());
	link_dir(src, tmp, "crisis");
	snprintf(path, sizeof(path), "%s/crisis", tmp);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(src, sizeof(src), "%s/content/de/crisis", src_dir());
	assert_int_equal(link_dir(src, path, NULL), 5);
	for (size_t i = 0; i < 2; i++) {
		char a[4200], b[4200];
		snprintf(a, sizeof(a), "%s/content/crisis/patterns-%s.txt", src_dir(), i ? "de" : "en");
		snprintf(b, sizeof(b), "%s/patterns-%s.txt", path, i ? "de" : "en");
		assert_int_equal(symlink(a, b), 0);
	}
	err[0] = '\0';
	if (content_load(tmp, "de", &de, err, sizeof(err)) != 0)
		print_error("German library: %s\n", err);
	assert_non_null(de);
	assert_int_equal(de->ntopics, en->ntopics);
	for (size_t i = 0; i < en->ntopics; i++) {
		const struct topic *t = &en->topics[i], *g = NULL;
		for (size_t j = 0; j < de->ntopics; j++)
			if (strcmp(de->topics[j].id, t->id) == 0)
				g = &de->topics[j];
		if (!g)
			print_error("no German topic %s\n", t->id);
		assert_non_null(g);
		assert_int_equal(g->guidance, t->guidance);
		assert_int_equal(g->nsources, t->nsources);
		for (size_t k = 0; k < t->nsources; k++)
			assert_string_equal(g->sources[k], t->sources[k]);
		assert_int_equal(g->note != NULL, t->note != NULL);
	}
	for (size_t i = 0; i < sizeof(countries) / sizeof(countries[0]); i++)
		assert_non_null(content_crisis(de, countries[i]));
	assert_true(text_utf8_count(de->crisis_response, strlen(de->crisis_response)) < 600);
	assert_null(strpbrk(de->crisis_response, "0123456789"));
	assert_non_null(strstr(de->crisis_response, "nicht allein"));
	assert_non_null(strstr(de->crisis_response, "kein Krisendienst"));
	assert_non_null(strstr(de->about, "keine* Therapie, kein Krisendienst"));
	assert_non_null(strstr(content_crisis(de, "at")->body, "142"));
	assert_non_null(strstr(content_crisis(de, "ch")->body, "143"));
	assert_non_null(strstr(content_crisis(de, "de")->body, "0800 111 0 111"));
	/* Every number in a German list is in the English list for the same country. */
	for (size_t i = 0; i < sizeof(countries) / sizeof(countries[0]); i++) {
		const char *g = content_crisis(de, countries[i])->body;
		const char *e = content_crisis(en, countries[i])->body;
		for (const char *p = g; *p; p++) {
			size_t n = strspn(p, "0123456789 ");
			char num[64];
			if (*p < '0' || *p > '9' || (p > g && p[-1] >= '0' && p[-1] <= '9'))
				continue;
			while (n && p[n - 1] == ' ')
				n--;
			assert_true(n < sizeof(num));
			memcpy(num, p, n);
			num[n] = '\0';
			if (!strstr(e, num))
				print_error("%s: %s is not in the English list\n", countries[i], num);
			assert_non_null(strstr(e, num));
		}
	}
	content_free(de);
	snprintf(src, sizeof(src), "rm -rf '%s'", tmp);
	assert_int_equal(system(src), 0);
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

/* Without any content library (a broken install), a person in crisis still gets an answer, in
 * their language when Hearth has one built in, and never a number nobody vetted. */
static void test_answer_without_content_in_member_language(void **state)
{
	struct fx *fx = *state;
	struct content *saved = fx->app.content;
	char *en, *de, *fr;

	fx->app.content = NULL;
	en = crisis_answer_lang(&fx->app, NULL, "de");
	de = crisis_answer_lang(&fx->app, "de", "de");
	fr = crisis_answer_lang(&fx->app, "fr", NULL);
	fx->app.content = saved;
	assert_non_null(en);
	assert_non_null(de);
	assert_non_null(fr);
	assert_non_null(strstr(en, "not alone"));
	assert_non_null(strstr(de, "nicht allein"));
	assert_non_null(strstr(de, "Notruf"));
	assert_null(strstr(de, "alone"));
	assert_string_equal(fr, en); /* a language without a built-in answer: English */
	assert_null(strpbrk(en, "0123456789"));
	assert_null(strpbrk(de, "0123456789"));
	free(en);
	free(de);
	free(fr);
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

/* [crisis] country: ISO codes in any case and common aliases name a vetted list; anything else
 * is an error that names the key and the known codes, never a silent fallback. */
static void test_country_codes_aliases_and_unknown(void **state)
{
	const struct content *c = ((struct fx *)*state)->app.content;
	static const struct { const char *in, *code; } ok[] = {
		{ "gb", "gb" }, { "GB", "gb" }, { "uk", "gb" }, { "UK", "gb" }, { "England", "gb" },
		{ "united kingdom", "gb" }, { "us", "us" }, { "usa", "us" }, { "America", "us" },
		{ "  USA ", "us" }, { "de", "de" }, { "Germany", "de" }, { "ireland", "ie" },
		{ "intl", "intl" }, { "International", "intl" }, { "au", "au" }, { "ca", "ca" },
		{ "at", "at" }, { "Austria", "at" }, { "Österreich", "at" }, { "oesterreich", "at" },
		{ "CH", "ch" }, { "Schweiz", "ch" }, { "switzerland", "ch" }, { "Deutschland", "de" },
	};
	static const char *const bad[] = { "narnia", "fr", "", "u k", "gbr", "intl2", "../gb" };
	char err[256];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char *v = strdup(ok[i].in);
		assert_int_equal(crisis_country_resolve(c, &v, err, sizeof(err)), HE_OK);
		assert_string_equal(v, ok[i].code);
		free(v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *v = strdup(bad[i]);
		err[0] = '\0';
		assert_int_equal(crisis_country_resolve(c, &v, err, sizeof(err)), HE_INVAL);
		assert_string_equal(v, bad[i]); /* unchanged */
		assert_non_null(strstr(err, "[crisis] country"));
		assert_non_null(strstr(err, "at, au, ca, ch, de, gb, ie, us"));
		assert_non_null(strstr(err, "intl"));
		free(v);
	}
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
		cmocka_unit_test_setup_teardown(test_labelled_set_recall_and_false_alarms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_labelled_set_german, setup, teardown),
		cmocka_unit_test_setup_teardown(test_everyday_words_do_not_match, setup, teardown),
		cmocka_unit_test(test_pattern_format_and_errors),
		cmocka_unit_test_setup_teardown(test_german_spellings_fold, setup, teardown),
		cmocka_unit_test(test_merge_keeps_files_apart),
		cmocka_unit_test_setup_teardown(test_every_language_is_active, setup, teardown),
		cmocka_unit_test_setup_teardown(test_german_library, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exclusion_suppresses_only_what_it_contains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_case_accents_punctuation_apostrophes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_is_private_vetted_and_never_quotes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_country_falls_back_to_intl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answer_without_content_in_member_language, setup, teardown),
		cmocka_unit_test_setup_teardown(test_country_codes_aliases_and_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit_per_member_with_fake_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alert_goes_to_moderators_without_text_or_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crisis_command_in_paused_room_and_quiet_hours, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command_still_runs_and_no_double_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logs_hold_no_name_and_no_words, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wants_answer_crisis_and_commands, setup, teardown),
	};

	hlog_set_level(HLOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
