/* test_phrase.c - languages: the phrase books and their slot check, content/LANG/ over English
 * with English for what is missing, and `!lang` (a member's own language for private replies). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "care/content.h"
#include "care/phrase.h"
#include "core/err.h"
#include "store/store.h"
#include "testapp.h"

/* ---- slots ---- */

static void slots_are_what_the_arguments_are(void **state)
{
	char a[64], b[64];

	assert_true(phrase_slots("at %02d:%02d (%s)", a, sizeof(a)));
	assert_true(phrase_slots("um %d:%d (%s)", b, sizeof(b)));
	assert_string_equal(a, b);
	assert_true(phrase_slots("%ld day%s", a, sizeof(a)));
	assert_true(phrase_slots("%ld Tag(e)%.0s", b, sizeof(b)));
	assert_string_equal(a, b);
	assert_true(phrase_slots("%.*s and %zu", a, sizeof(a)));
	assert_string_equal(a, "%*s%zu");
	assert_true(phrase_slots("100%% sure, no slots", a, sizeof(a)));
	assert_string_equal(a, "");
	/* Slots Hearth never passes are refused: they would read arguments that are not there. */
	assert_false(phrase_slots("%n", a, sizeof(a)));
	assert_false(phrase_slots("%p", a, sizeof(a)));
	assert_false(phrase_slots("100%!", a, sizeof(a)));
	/* printf reads "% s" as a slot (' ' is a flag): the check sees it as printf does. */
	assert_true(phrase_slots("100% sure", a, sizeof(a)));
	assert_string_equal(a, "%s");
	assert_false(phrase_slots("trailing %", a, sizeof(a)));
	assert_false(phrase_slots("%s", a, 2)); /* too small to say */
}

struct probs {
	int n;
	char last[512];
};

static void on_problem(void *ud, const char *file, int line, const char *msg)
{
	struct probs *p = ud;
	p->n++;
	snprintf(p->last, sizeof(p->last), "%s:%d: %s", file, line, msg);
}

static struct phrasebook *parse(const char *text, const struct phrasebook *base, struct probs *p)
{
	struct phrasebook *pb = NULL;
	int rc = phrasebook_parse("x.ini", text, strlen(text), base, &pb, on_problem, p);
	assert_int_equal(rc, p->n);
	assert_non_null(pb);
	return pb;
}

static void books_parse_and_translations_keep_the_slots(void **state)
{
	struct probs p = { 0 }, q = { 0 };
	struct phrasebook *en = parse("; comment\n[mood]\nsaved = Logged **%d**/10\nhi = Hello\\nthere\n"
				      "# another\n[crisis]\nalert = Someone in %s\n", NULL, &p);
	struct phrasebook *de;

	assert_int_equal(p.n, 0);
	assert_int_equal(phrasebook_count(en), 3);
	assert_string_equal(phrasebook_get(en, "mood.hi"), "Hello\nthere");
	assert_string_equal(phrasebook_get(en, "crisis.alert"), "Someone in %s");
	assert_null(phrasebook_get(en, "mood.nope"));

	/* Line 3 swaps a number for a text: refused with its line, the rest kept. */
	de = parse("[mood]\nhi = Hallo\nsaved = Festgehalten: %s\n[crisis]\nalert = Jemand in %s\n", en, &q);
	assert_int_equal(q.n, 1);
	assert_non_null(strstr(q.last, "x.ini:3:"));
	assert_non_null(strstr(q.last, "same slots"));
	assert_null(phrasebook_get(de, "mood.saved"));
	assert_string_equal(phrasebook_get(de, "mood.hi"), "Hallo");
	phrasebook_free(de);

	/* One slot too many, an unknown phrase, a duplicate, a %n, a line without "=", no section. */
	memset(&q, 0, sizeof(q));
	de = parse("hi = before any section\n[crisis]\nalert = %s %s\n[mood]\nnew = Neu\nhi = a\nhi = b\n"
		   "saved = %n%d\nnonsense\n", en, &q);
	assert_int_equal(q.n, 6);
	assert_string_equal(phrasebook_get(de, "mood.hi"), "a");
	assert_int_equal(phrasebook_count(de), 1);
	phrasebook_free(de);

	/* Not UTF-8. */
	memset(&q, 0, sizeof(q));
	de = parse("[mood]\nhi = \xff\xfe\n", en, &q);
	assert_int_equal(q.n, 1);
	phrasebook_free(de);
	phrasebook_free(en);
}

/* A long phrase goes on over indented lines (inih's multi-line values): the pieces join with one
 * space, escapes work across them, and the phrase keeps its first line. */
static void long_phrases_go_on_over_indented_lines(void **state)
{
	struct probs p = { 0 }, q = { 0 };
	struct phrasebook *en = parse("[mood]\nsaved = Logged **%d**/10,\n    kept\\nprivate\n"
				      "; a comment between the pieces\n\tand [only] yours\nhi = Hello ; an inline comment\n"
				      "[crisis]\n  alert = Someone in %s\n", NULL, &p);
	struct phrasebook *de;

	assert_int_equal(p.n, 0);
	assert_int_equal(phrasebook_count(en), 3);
	assert_string_equal(phrasebook_get(en, "mood.saved"), "Logged **%d**/10, kept\nprivate and [only] yours");
	assert_string_equal(phrasebook_get(en, "mood.hi"), "Hello");
	/* Indented right after a section line: a phrase of its own, not the last one going on. */
	assert_string_equal(phrasebook_get(en, "crisis.alert"), "Someone in %s");

	/* The slot check sees the joined text, with the phrase's first line; a repeat is still one. */
	de = parse("[mood]\nhi = Hallo\n\nsaved = Festgehalten:\n   %s\nhi = wieder\n", en, &q);
	assert_int_equal(q.n, 2);
	assert_non_null(strstr(q.last, "x.ini:6: [mood] hi is already on line 2"));
	assert_null(phrasebook_get(de, "mood.saved"));
	assert_string_equal(phrasebook_get(de, "mood.hi"), "Hallo");
	phrasebook_free(de);
	memset(&q, 0, sizeof(q));
	de = parse("[mood]\nhi = Hallo\n\nsaved = Festgehalten:\n   %s\n", en, &q);
	assert_int_equal(q.n, 1);
	assert_non_null(strstr(q.last, "x.ini:4: [mood] saved has the slots \"%s\""));
	phrasebook_free(de);

	/* A syntax error: inih names its line (the first one); the phrase after it stays in [mood]. */
	memset(&q, 0, sizeof(q));
	de = parse("[mood]\nhi = Hallo\n[crisis\nalert = x %s\n", en, &q);
	assert_int_equal(q.n, 2);
	assert_non_null(strstr(q.last, "x.ini:3: this line is not"));
	phrasebook_free(de);
	phrasebook_free(en);
}

/* inih reads 200 bytes of a line and the rest as a line of its own, without a word: a line over
 * PHRASE_LINE_MAX is a problem with its line, and nothing of it is loaded. */
static void an_over_long_line_is_named(void **state)
{
	struct probs p = { 0 };
	struct phrasebook *pb;
	char text[2048], longtext[400];

	memset(longtext, 'a', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	/* Line 3: a key line over the limit (line 4 goes on with it); line 7: a continuation over it;
	 * both phrases dropped.
	 * A long comment is harmless; a line of exactly PHRASE_LINE_MAX bytes is fine. */
	snprintf(text, sizeof(text), "[mood]\nhi = Hello\nlong = %.*s x = y\n    more\nok = fine\ncont = begins\n    %.*s\n"
		 "; %s\nedge = %.*s\n", 200, longtext, 200, longtext, longtext, PHRASE_LINE_MAX - 7, longtext);
	pb = parse(text, NULL, &p);
	assert_int_equal(p.n, 2);
	assert_non_null(strstr(p.last, "x.ini:7: this line is 204 bytes; a line may have at most 190"));
	assert_null(phrasebook_get(pb, "mood.long"));
	assert_null(phrasebook_get(pb, "mood.cont"));
	assert_null(phrasebook_get(pb, "mood.x"));
	assert_string_equal(phrasebook_get(pb, "mood.hi"), "Hello"); /* not "Hello more" */
	assert_string_equal(phrasebook_get(pb, "mood.ok"), "fine");
	assert_int_equal(strlen(phrasebook_get(pb, "mood.edge")), PHRASE_LINE_MAX - 7);
	assert_int_equal(phrasebook_count(pb), 3);
	phrasebook_free(pb);

	/* Short lines, but a phrase too long in all (25 pieces of 181 bytes): refused, not kept. */
	{
		char *big = calloc(1, 8192);
		assert_non_null(big);
		memset(&p, 0, sizeof(p));
		strcpy(big, "[mood]\nhuge = x\nhi = Hello\n");
		for (int i = 0; i < 25; i++)
			snprintf(big + strlen(big), 8192 - strlen(big), " %.*s\n", 180, longtext);
		pb = parse(big, NULL, &p);
		assert_int_equal(p.n, 1);
		assert_non_null(strstr(p.last, "x.ini:3: [mood] hi is over 4000 bytes"));
		assert_null(phrasebook_get(pb, "mood.hi"));
		assert_string_equal(phrasebook_get(pb, "mood.huge"), "x");
		phrasebook_free(pb);
		free(big);
	}
}

/* The shipped books: every line within the limit, every phrase read (the files are inih's). */
static void the_shipped_books_read_clean(void **state)
{
	const char *files[] = { "content/phrases.ini", "content/de/phrases.ini" };
	struct phrasebook *en = NULL;

	for (size_t i = 0; i < 2; i++) {
		char path[1024], *buf = malloc(1 << 20);
		struct probs p = { 0 };
		struct phrasebook *pb;
		size_t n;
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", ta_src(), files[i]);
		assert_non_null(buf);
		assert_non_null(f = fopen(path, "rb"));
		n = fread(buf, 1, 1 << 20, f);
		fclose(f);
		buf[n] = '\0';
		pb = parse(buf, en, &p);
		if (p.n)
			fail_msg("%s: %s", files[i], p.last);
		assert_true(phrasebook_count(pb) > 100);
		free(buf);
		if (!en)
			en = pb;
		else
			phrasebook_free(pb);
	}
	phrasebook_free(en);
}

/* ---- a language over English ---- */

static char tmpdir[256];

static void write_file(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

/* A copy of the shipped English content with a small German: one phrase, one topic. */
static void make_content(const char *de_phrases)
{
	char cmd[1024];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hearth-phrase-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(cmd, sizeof(cmd), "cp -r '%s/content/.' '%s/' && rm -rf '%s/de' && mkdir -p '%s/de/topics'",
		 ta_src(), tmpdir, tmpdir, tmpdir);
	assert_int_equal(system(cmd), 0);
	write_file("de/phrases.ini", de_phrases);
	write_file("de/topics/roots.md", "---\nid: roots\ntitle: Wurzeln\naliases: Herkunft\n---\nWas früh war.\n");
}

static void drop_content(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
}

static void a_language_borrows_what_it_lacks(void **state)
{
	struct content *c = NULL;
	const struct content *de;
	const struct topic *t;
	char err[512];

	make_content("[help]\nintro = Das kann ich für dich tun:\n");
	assert_int_equal(content_load(tmpdir, "en", &c, err, sizeof(err)), HE_OK);
	de = content_for(c, "de");
	assert_ptr_not_equal(de, c);
	assert_ptr_equal(content_for(c, "fr"), c);
	assert_ptr_equal(content_for(c, "en"), c);
	assert_true(content_has_lang(c, "de"));
	assert_false(content_has_lang(c, "fr"));
	/* Phrases: German where translated, else English; an unknown language is English. */
	assert_string_equal(phrase(c, "de", "help.intro"), "Das kann ich für dich tun:");
	assert_string_equal(phrase(c, "de", "router.unknown_command"), phrase(c, "en", "router.unknown_command"));
	assert_string_equal(phrase(c, "fr", "help.intro"), "Here is what I can do:");
	assert_null(phrase_opt(c, "de", "no.such"));
	assert_string_equal(phrase(c, "de", "no.such"), "no.such");
	/* Topics: the German one, found by its German alias too; the untranslated ones in English. */
	assert_non_null(t = content_find(de, "herkunft"));
	assert_string_equal(t->title, "Wurzeln");
	assert_non_null(t = content_find(de, "awareness"));
	assert_ptr_equal(t->body, content_find(c, "awareness")->body);
	assert_int_equal(de->ntopics, c->ntopics);
	/* Everything else borrowed: prompts, about, consent (at English's version), crisis. */
	assert_ptr_equal(de->prompts, c->prompts);
	assert_ptr_equal(de->about, c->about);
	assert_ptr_equal(de->consent, c->consent);
	assert_int_equal(de->consent_version, c->consent_version);
	assert_ptr_equal(de->crisis_response, c->crisis_response);
	assert_non_null(content_crisis(de, "intl"));
	content_free(c); /* frees once: the borrowed pieces belong to English */
	drop_content();
}

static void a_translation_with_other_slots_is_refused(void **state)
{
	struct content *c = NULL;
	char err[512];

	make_content("[lang]\nname = Deutsch\n\n[router]\ntoo_long = Zu lang (höchstens %s Bytes).\n");
	assert_int_equal(content_load(tmpdir, "en", &c, err, sizeof(err)), HE_INVAL);
	assert_null(c);
	assert_non_null(strstr(err, "de/phrases.ini:5:"));
	assert_non_null(strstr(err, "too_long"));
	drop_content();
}

/* ---- !lang ---- */

static size_t say_as(struct testapp *ta, const char *sender, const char *room, bool transient, const char *text)
{
	struct hmsg m = {
		.network = "test", .room = room, .sender = sender, .sender_name = sender, .text = text,
		.is_private = room == NULL, .sender_transient = transient, .role = HROLE_MEMBER, .via = &ta->t,
	};
	size_t before = ta->n;

	if (!room)
		m.room = "dm";
	happ_dispatch(&ta->app, &m);
	return ta->n - before;
}

static long stored(struct testapp *ta)
{
	return store_count(ta->app.store, "SELECT count(*) FROM member_lang", "");
}

static void lang_chooses_private_replies_and_is_forgotten(void **state)
{
	struct testapp *ta = ta_new(":memory:");
	size_t n;
	bool found = false;
	const char *hostile[] = { "!lang ../../etc", "!lang xx", "!lang de de", "!lang d'e",
				  "!lang aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
				  "!lang deu", "!lang \xc3\xa9n", "!lang de;", "!lang %s%n" };

	assert_non_null(ta);
	/* No choice yet: the room's language, and the choices. */
	assert_int_equal(say_as(ta, "@ann:x", NULL, false, "!lang"), 1);
	assert_non_null(strstr(ta_last(ta), "English (`en`)"));
	assert_non_null(strstr(ta_last(ta), "de, en"));
	/* Anything but a language Hearth has: a kind no, nothing stored. */
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		assert_int_equal(say_as(ta, "@ann:x", NULL, false, hostile[i]), 1);
		if (!strstr(ta_last(ta), "nothing was changed"))
			fail_msg("%s: %s", hostile[i], ta_last(ta));
		assert_int_equal(stored(ta), 0);
	}
	/* An IRC nick without an account: the room's language and why; nothing stored. */
	assert_int_equal(say_as(ta, "nick", "#room", true, "!lang de"), 1);
	assert_non_null(strstr(ta_last(ta), "can pass to someone else"));
	assert_int_equal(ta->replies[ta->n - 1].dest, HDEST_PRIVATE);
	assert_int_equal(stored(ta), 0);
	/* A choice: private replies in German, kept as a keyed hash (never the id). */
	assert_int_equal(say_as(ta, "@ann:x", NULL, false, "!lang DE"), 1);
	assert_non_null(strstr(ta_last(ta), "Deutsch"));
	assert_int_equal(stored(ta), 1);
	assert_int_equal(store_count(ta->app.store, "SELECT count(*) FROM member_lang WHERE member LIKE ?", "s",
				     "%ann%"), 0);
	say_as(ta, "@ann:x", NULL, false, "!nosuchcommand");
	assert_non_null(strstr(ta_last(ta), "Diesen Befehl kenne ich nicht"));
	/* In an English room: the room hears English, her private answers come in German. */
	say_as(ta, "@ann:x", "#room", false, "!help");
	assert_non_null(strstr(ta_last(ta), "Here is what I can do"));
	n = say_as(ta, "@ann:x", "#room", false, "!mood optin");
	assert_true(n >= 1);
	for (size_t i = ta->n - n; i < ta->n; i++) {
		if (ta->replies[i].dest == HDEST_PRIVATE)
			found = strstr(ta->replies[i].text, "gilt 30 Minuten") != NULL;
		else /* the room's pointer to it, in the room's language */
			assert_null(strstr(ta->replies[i].text, "Ich habe"));
	}
	assert_true(found);
	/* Someone else is not affected. */
	say_as(ta, "@bob:x", NULL, false, "!nosuchcommand");
	assert_non_null(strstr(ta_last(ta), "I don't know that command"));
	/* !mood forget confirm deletes the choice with everything else. */
	say_as(ta, "@ann:x", NULL, false, "!mood forget");
	say_as(ta, "@ann:x", NULL, false, "!mood forget confirm");
	assert_int_equal(stored(ta), 0);
	say_as(ta, "@ann:x", NULL, false, "!nosuchcommand");
	assert_non_null(strstr(ta_last(ta), "I don't know that command"));
	ta_free(ta);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(slots_are_what_the_arguments_are),
		cmocka_unit_test(books_parse_and_translations_keep_the_slots),
		cmocka_unit_test(long_phrases_go_on_over_indented_lines),
		cmocka_unit_test(an_over_long_line_is_named),
		cmocka_unit_test(the_shipped_books_read_clean),
		cmocka_unit_test(a_language_borrows_what_it_lacks),
		cmocka_unit_test(a_translation_with_other_slots_is_refused),
		cmocka_unit_test(lang_chooses_private_replies_and_is_forgotten),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
