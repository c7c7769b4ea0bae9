/* test_text.c - UTF-8 checks, folding, distance: what keeps odd input from crashing or fooling us. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/md.h"
#include "core/text.h"

static void utf8_validation(void **state)
{
	assert_true(text_utf8_valid("hello", 5));
	assert_true(text_utf8_valid("caf\xc3\xa9 \xf0\x9f\x92\x9a", 10));
	assert_false(text_utf8_valid("\xc3", 1));               /* truncated */
	assert_false(text_utf8_valid("\xc0\x80", 2));           /* overlong NUL */
	assert_false(text_utf8_valid("\xed\xa0\x80", 3));       /* surrogate */
	assert_false(text_utf8_valid("\xf4\x90\x80\x80", 4));   /* above U+10FFFF */
	assert_false(text_utf8_valid("\xff", 1));
}

static void clean_input(void **state)
{
	char *out = NULL;
	assert_int_equal(text_clean_input("  !help  ", 9, 100, &out), HE_OK);
	assert_string_equal(out, "!help");
	free(out);
	assert_int_equal(text_clean_input("a\x01" "b", 3, 100, &out), HE_INVAL);
	assert_null(out);
	assert_int_equal(text_clean_input("a\xc2\x85" "b", 4, 100, &out), HE_INVAL); /* C1 control */
	assert_int_equal(text_clean_input("line1\r\nline2", 12, 100, &out), HE_OK);
	free(out);
	assert_int_equal(text_clean_input("\xc3\x28", 2, 100, &out), HE_INVAL);
	assert_int_equal(text_clean_input("0123456789", 10, 9, &out), HE_TOOBIG);
}

static void folding(void **state)
{
	char *f;
	f = text_fold("  I WANT  To D\xc3\x8d" "E\xe2\x80\xa8 ");  /* Í and a line separator */
	assert_string_equal(f, "i want to die");
	free(f);
	f = text_fold("can\xe2\x80\x99t \xc5\x81\xc3\xb3" "d\xc5\xba");   /* can’t Łódź */
	assert_string_equal(f, "can't lodz");
	free(f);
	f = text_fold("\xe2\x80\x8b" "zero\xc2\xa0" "width");
	assert_string_equal(f, "zero width");
	free(f);
	f = text_fold("\xce\x93\xce\xb5\xce\xb9\xce\xac");  /* Greek passes through untouched */
	assert_string_equal(f, "\xce\x93\xce\xb5\xce\xb9\xce\xac");
	free(f);
}

static void distance(void **state)
{
	assert_int_equal(text_distance("attachment", "attachmnt"), 1);
	assert_int_equal(text_distance("learn", "lern"), 1);
	assert_int_equal(text_distance("", "abc"), 3);
	assert_int_equal(text_distance("caf\xc3\xa9", "cafe"), 1);   /* one code point, not two bytes */
}

static void prefix_and_words(void **state)
{
	const char *s = "\xc3\xa9\xc3\xa9\xc3\xa9", *p = "  one  two ";
	char w[8];
	assert_int_equal(text_utf8_prefix(s, 6, 3), 2);   /* never splits a code point */
	assert_int_equal(text_utf8_prefix(s, 6, 6), 6);
	assert_true(text_next_word(&p, w, sizeof(w)));
	assert_string_equal(w, "one");
	assert_true(text_next_word(&p, w, sizeof(w)));
	assert_string_equal(w, "two");
	assert_false(text_next_word(&p, w, sizeof(w)));
	char *u = text_latin1_to_utf8("caf\xe9", 4);
	assert_string_equal(u, "caf\xc3\xa9");
	free(u);
}

/* Hostile echoes: whatever a member or moderator types, escaped text renders through the real
 * Markdown renderer (core/md.c, md4c) as text only: no link, emphasis, code, heading, list,
 * quote, table, image or HTML, and the plain rendering reads as they typed it. */
static const char *const hostile[] = {
	"**bold** __strong__ *em* _em_ ~~gone~~",
	"[click](https://evil.example/x) and ![img](https://evil.example/p.png)",
	"<https://evil.example> <b>bold</b> <script>alert(1)</script> <img src=x onerror=y>",
	"https://evil.example/path?q=1 http://evil.example ftp://evil.example/f",
	"www.evil.example and evil.example and mail me: mallory@evil.example",
	"@mallory:evil.example hi @room and #lobby:evil.example and !abc:evil.example",
	"# heading",
	"> quoted\n- item\n1. first\n+ plus\n---\n===",
	"| a | b |\n|---|---|\n| c | d |",
	"`code` ``more`` ```fence```",
	"line\nbreak\r\nand\ttab \\*not\\* &amp; &lt;b&gt; &#x2a; [ref]: https://evil.example",
	"    indented code after a newline\n    more",
	"\xff\xfe broken utf-8 \xc3",
	"[x]\n\n[x]: https://evil.example",
	"*",
	"",
	"\x01\x02",     /* controls only: the code span is still one (found by fuzz_md_escape) */
	"\x7f\x7f# after controls", /* a heading once controls are dropped (fuzz_md_escape) */
	"\x01 12. after controls",
	"**q````````````````````````````````````|<ol [x](https://evil.example) **b**", /* fuzz */
};

static void check_html(const char *md, const char *input)
{
	static const char *const tags[] = { "<a", "<strong", "<em", "<del", "<img", "<h1", "<h2",
					     "<blockquote", "<ul", "<ol", "<li", "<table", "<b>",
					     "<script", "<hr", "<pre", "href" };
	char *html = NULL;

	assert_int_equal(md_to_html(md, strlen(md), &html), 0);
	for (size_t t = 0; t < sizeof(tags) / sizeof(tags[0]); t++) {
		if (strstr(html, tags[t]))
			print_error("input \"%s\" rendered \"%s\"\n", input, html);
		assert_null(strstr(html, tags[t]));
	}
	free(html);
}

/* md_to_plain(out), without zero-width spaces, equals the input with controls as spaces (and
 * invalid UTF-8 as U+FFFD), up to runs of spaces. */
static void check_plain(const char *md, const char *input)
{
	char *plain = NULL, want[512], got[512];
	size_t w = 0, g = 0;

	assert_int_equal(md_to_plain(md, strlen(md), &plain), 0);
	for (const char *p = input; *p && w + 4 < sizeof(want); p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			if (w && want[w - 1] != ' ')
				want[w++] = ' ';
		} else if (*p == ' ') {
			if (w && want[w - 1] != ' ')
				want[w++] = ' ';
		} else if ((unsigned char)*p >= 0x80) {
			want[w++] = '?'; /* non-ASCII: compared loosely */
		} else {
			want[w++] = *p;
		}
	}
	while (w && want[w - 1] == ' ')
		w--;
	want[w] = '\0';
	for (const char *p = plain; *p && g + 4 < sizeof(got); p++) {
		if (strncmp(p, "\xe2\x80\x8b", 3) == 0) {
			p += 2;
		} else if (*p == ' ' || *p == '\n') {
			if (g && got[g - 1] != ' ')
				got[g++] = ' ';
		} else if ((unsigned char)*p >= 0x80) {
			if ((((unsigned char)*p) & 0xC0) != 0x80 || !g || got[g - 1] != '?')
				got[g++] = '?';
		} else {
			got[g++] = *p;
		}
	}
	while (g && got[g - 1] == ' ')
		g--;
	got[g] = '\0';
	/* Collapse runs of '?' on both sides (an invalid byte is one U+FFFD). */
	for (char *s = want; *s; s++)
		while (s[0] == '?' && s[1] == '?')
			memmove(s, s + 1, strlen(s));
	for (char *s = got; *s; s++)
		while (s[0] == '?' && s[1] == '?')
			memmove(s, s + 1, strlen(s));
	if (strcmp(want, got) != 0)
		print_error("input \"%s\": plain \"%s\", wanted \"%s\"\n", input, got, want);
	assert_string_equal(got, want);
	free(plain);
}

static void md_escape_through_renderer(void **state)
{
	/* Unescaped, the same input does render links, emphasis and mentions-as-links. */
	{
		char *html = NULL;
		assert_int_equal(md_to_html(hostile[1], strlen(hostile[1]), &html), 0);
		assert_non_null(strstr(html, "<a href"));
		free(html);
		assert_int_equal(md_to_html(hostile[0], strlen(hostile[0]), &html), 0);
		assert_non_null(strstr(html, "<strong>"));
		free(html);
		assert_int_equal(md_to_html(hostile[3], strlen(hostile[3]), &html), 0);
		assert_non_null(strstr(html, "<a href"));
		free(html);
	}
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		char *e = text_md_escape(hostile[i]), *c = text_md_code(hostile[i]), *inl;
		assert_non_null(e);
		assert_non_null(c);
		check_html(e, hostile[i]);
		check_plain(e, hostile[i]);
		/* Inside a sentence, bold around it, and after a list marker of our own. */
		assert_true(asprintf(&inl, "- I don't know **%s** or %s. Type `!help`.", e, c) > 0);
		{
			char *html = NULL;
			assert_int_equal(md_to_html(inl, strlen(inl), &html), 0);
			assert_null(strstr(html, "<a"));
			assert_null(strstr(html, "<em"));
			assert_non_null(strstr(html, "<code>!help</code>")); /* our own span survives */
			if (*e) { /* our own bold, once, around it */
				assert_non_null(strstr(html, "<strong>"));
				assert_null(strstr(strstr(html, "<strong>") + 1, "<strong>"));
			}
			free(html);
		}
		free(inl);
		/* The code span: exactly one <code> element, nothing else. */
		{
			char *html = NULL;
			const char *tags[] = { "<a", "<strong", "<em", "<img", "<b>", "<script" };
			assert_int_equal(md_to_html(c, strlen(c), &html), 0);
			assert_non_null(strstr(html, "<code>"));
			assert_null(strstr(strstr(html, "<code>") + 1, "<code>"));
			for (size_t t = 0; t < sizeof(tags) / sizeof(tags[0]); t++)
				assert_null(strstr(html, tags[t]));
			free(html);
		}
		free(e);
		free(c);
	}
	/* The exact form, for the simple cases. */
	{
		char *e = text_md_escape("a*b_c @x:y.z");
		assert_string_equal(e, "a\\*b\\_c @\xe2\x80\x8bx:\xe2\x80\x8by.\xe2\x80\x8bz");
		free(e);
		e = text_md_code("x `y` z");
		assert_string_equal(e, "``x `y` z``");
		free(e);
		e = text_md_code("`");
		assert_string_equal(e, "`` ` ``");
		free(e);
		e = text_md_escape("12:30 Europe/Berlin, got 0-59");
		assert_string_equal(e, "12:30 Europe/Berlin, got 0-59");
		free(e);
		e = text_md_escape("12. - x");
		assert_string_equal(e, "12\\. - x");
		free(e);
		e = text_md_escape("- x");
		assert_string_equal(e, "\\- x");
		free(e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(utf8_validation),
		cmocka_unit_test(clean_input),
		cmocka_unit_test(folding),
		cmocka_unit_test(distance),
		cmocka_unit_test(prefix_and_words),
		cmocka_unit_test(md_escape_through_renderer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
