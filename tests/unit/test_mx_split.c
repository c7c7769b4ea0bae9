/* test_mx_split.c - a long Matrix reply is split at paragraph, line, then word boundaries into
 * notices that each render on their own; hostile input (one huge word, code fences, multibyte
 * text at the boundary, long fences and info strings) never yields a part over the size, a
 * broken character, or a lost byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/md.h"
#include "core/text.h"
#include "net/matrix/split.h"

static char *repeat(const char *unit, size_t times)
{
	size_t u = strlen(unit);
	char *s = malloc(u * times + 1);
	assert_non_null(s);
	for (size_t i = 0; i < times; i++)
		memcpy(s + i * u, unit, u);
	s[u * times] = '\0';
	return s;
}

/* Every part is at most max bytes, valid UTF-8 when md is, and renders. */
static void check_parts(const char *md, char **p, size_t n, size_t max)
{
	bool utf8 = text_utf8_valid(md, strlen(md));
	for (size_t i = 0; i < n; i++) {
		char *html = NULL;
		assert_true(strlen(p[i]) <= max);
		assert_true(strlen(p[i]) > 0);
		if (utf8)
			assert_true(text_utf8_valid(p[i], strlen(p[i])));
		assert_int_equal(md_to_html(p[i], strlen(p[i]), &html), HE_OK);
		free(html);
	}
}

static char *join(char **p, size_t n, const char *sep)
{
	size_t len = 1;
	for (size_t i = 0; i < n; i++)
		len += strlen(p[i]) + strlen(sep);
	char *s = calloc(1, len);
	assert_non_null(s);
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(s, sep);
		strcat(s, p[i]);
	}
	return s;
}

static void short_text_is_one_part(void **state)
{
	char **p;
	size_t n;
	assert_int_equal(mx_md_split("Hello **there**.", 16, 1000, &p, &n), HE_OK);
	assert_int_equal(n, 1);
	assert_string_equal(p[0], "Hello **there**.");
	mx_split_free(p, n);
	assert_int_equal(mx_md_split("x", 1, 10, &p, &n), HE_INVAL); /* max too small */
}

static void paragraphs_first(void **state)
{
	/* Six paragraphs of 100 bytes, each made of lines and words: cuts fall between them. */
	char md[1000] = "", para[120];
	char **p;
	size_t n;
	for (int k = 0; k < 6; k++) {
		snprintf(para, sizeof(para), "Para %d: %s\n%s", k, "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk",
			 "llll mmmm nnnn oooo pppp qqqq rrrr ssss");
		if (k)
			strcat(md, "\n\n");
		strcat(md, para);
	}
	assert_int_equal(mx_md_split(md, strlen(md), 260, &p, &n), HE_OK);
	check_parts(md, p, n, 260);
	assert_int_equal(n, 3); /* two paragraphs each: never a paragraph cut in the middle */
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(strncmp(p[i], "Para ", 5), 0);
		assert_true(p[i][strlen(p[i]) - 1] == 's'); /* ends where a paragraph ends */
	}
	char *back = join(p, n, "\n\n");
	assert_string_equal(back, md); /* in order, nothing lost */
	free(back);
	mx_split_free(p, n);
}

static void lines_then_words(void **state)
{
	/* One paragraph of 40 lines: cut at line ends. */
	char *md = repeat("- an item of a list, kept whole\n", 40);
	char **p;
	size_t n;
	md[strlen(md) - 1] = '\0';
	assert_int_equal(mx_md_split(md, strlen(md), 200, &p, &n), HE_OK);
	check_parts(md, p, n, 200);
	assert_true(n > 1);
	char *back = join(p, n, "\n");
	assert_string_equal(back, md);
	free(back);
	mx_split_free(p, n);
	free(md);

	/* One line of words: cut at spaces, no word broken. */
	md = repeat("word ", 400);
	md[strlen(md) - 1] = '\0';
	assert_int_equal(mx_md_split(md, strlen(md), 123, &p, &n), HE_OK);
	check_parts(md, p, n, 123);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(strncmp(p[i], "word", 4), 0);
		assert_int_equal(strcmp(p[i] + strlen(p[i]) - 4, "word"), 0);
	}
	back = join(p, n, " ");
	assert_string_equal(back, md);
	free(back);
	mx_split_free(p, n);
	free(md);
}

static void one_huge_word(void **state)
{
	/* 100 kB with no break at all: hard cuts, every byte kept, in order. */
	char *md = repeat("x", 100 * 1024);
	char **p;
	size_t n;
	assert_int_equal(mx_md_split(md, strlen(md), 4000, &p, &n), HE_OK);
	check_parts(md, p, n, 4000);
	assert_int_equal(n, 26);
	char *back = join(p, n, "");
	assert_string_equal(back, md);
	free(back);
	mx_split_free(p, n);
	free(md);
}

static void multibyte_at_the_boundary(void **state)
{
	/* 2-, 3- and 4-byte characters with no space: each max lands inside a sequence somewhere. */
	static const char *const units[] = { "é", "€", "😀", "a😀é€" };
	for (size_t u = 0; u < 4; u++)
		for (size_t max = 64; max < 80; max++) {
			char *md = repeat(units[u], 3000);
			char **p;
			size_t n;
			assert_int_equal(mx_md_split(md, strlen(md), max, &p, &n), HE_OK);
			check_parts(md, p, n, max);
			char *back = join(p, n, "");
			assert_string_equal(back, md);
			free(back);
			mx_split_free(p, n);
			free(md);
		}
}

static int count(const char *s, const char *what)
{
	int k = 0;
	for (const char *q = s; (q = strstr(q, what)); q += strlen(what))
		k++;
	return k;
}

static void code_fence_closed_and_opened_again(void **state)
{
	char *lines = repeat("    x = compute(y) + 1  # a line of code\n", 100);
	char *md = malloc(strlen(lines) + 100);
	char **p;
	size_t n;
	sprintf(md, "Before the code.\n\n```python\n%s```\n\nAfter the code.", lines);
	assert_int_equal(mx_md_split(md, strlen(md), 700, &p, &n), HE_OK);
	check_parts(md, p, n, 700);
	assert_true(n >= 6);
	int code_lines = 0;
	for (size_t i = 0; i < n; i++) {
		char *html = NULL;
		assert_int_equal(md_to_html(p[i], strlen(p[i]), &html), HE_OK);
		/* every part's code is inside one balanced code block; no fence shows as text */
		assert_int_equal(count(html, "<pre>"), count(html, "</pre>"));
		assert_null(strstr(html, "```"));
		if (i > 0 && i + 1 < n)
			assert_int_equal(strncmp(p[i], "```python\n", 10), 0);
		code_lines += count(p[i], "compute(y)");
		free(html);
	}
	assert_int_equal(code_lines, 100); /* no line lost, none doubled */
	assert_non_null(strstr(p[n - 1], "After the code."));
	mx_split_free(p, n);
	free(md);
	free(lines);
}

static void longer_fence_and_tildes(void **state)
{
	/* A four-backtick fence with ``` inside (the CSV export's form) and a ~~~ fence. */
	char *inner = repeat("a,b,```,c\n```\n", 60);
	char *md = malloc(strlen(inner) * 2 + 100);
	char **p;
	size_t n;
	sprintf(md, "````\n%s````\n\n~~~ text\n%s~~~", inner, inner);
	assert_int_equal(mx_md_split(md, strlen(md), 300, &p, &n), HE_OK);
	check_parts(md, p, n, 300);
	int rows = 0;
	for (size_t i = 0; i < n; i++) {
		char *html = NULL;
		assert_int_equal(md_to_html(p[i], strlen(p[i]), &html), HE_OK);
		assert_int_equal(count(html, "<pre>"), 1); /* all of it is code, in one block */
		rows += count(html, "a,b,```,c");
		free(html);
	}
	assert_int_equal(rows, 120);
	mx_split_free(p, n);
	free(md);
	free(inner);
}

static void hostile_fences(void **state)
{
	char **p;
	size_t n;
	/* An info string of 100 kB, then code. */
	char *info = repeat("i", 100 * 1024);
	char *md = malloc(strlen(info) + 5000);
	sprintf(md, "```%s\n", info);
	for (int k = 0; k < 200; k++)
		strcat(md, "code line\n");
	assert_int_equal(mx_md_split(md, strlen(md), 1000, &p, &n), HE_OK);
	check_parts(md, p, n, 1000);
	mx_split_free(p, n);
	free(md);
	free(info);
	/* A fence of 50,000 backticks, lines after it; and a text of nothing but fences. */
	char *run = repeat("`", 50000);
	md = malloc(strlen(run) + 5000);
	sprintf(md, "%s\n", run);
	for (int k = 0; k < 200; k++)
		strcat(md, "code line\n");
	assert_int_equal(mx_md_split(md, strlen(md), 1000, &p, &n), HE_OK);
	check_parts(md, p, n, 1000);
	mx_split_free(p, n);
	free(md);
	free(run);
	md = repeat("```\n", 5000);
	assert_int_equal(mx_md_split(md, strlen(md), 64, &p, &n), HE_OK);
	check_parts(md, p, n, 64);
	mx_split_free(p, n);
	free(md);
}

static void random_text_keeps_every_bound(void **state)
{
	static const char *const pieces[] = { "a", "bb ", " ", "\n", "\n\n", "```", "~~~", "````\n",
					      "é", "😀", "*", "<", "&", "\r\n", "- ", "> " };
	unsigned char seed[randombytes_SEEDBYTES] = { 16 };
	uint32_t r[4096];
	for (int round = 0; round < 40; round++) {
		seed[1] = (unsigned char)round;
		randombytes_buf_deterministic(r, sizeof(r), seed);
		char *md = malloc(4096 * 6 + 1);
		md[0] = '\0';
		for (size_t i = 1; i < 4096; i++)
			strcat(md, pieces[r[i] % 16]);
		size_t max = 64 + r[0] % 2000;
		char **p;
		size_t n;
		assert_int_equal(mx_md_split(md, strlen(md), max, &p, &n), HE_OK);
		check_parts(md, p, n, max);
		mx_split_free(p, n);
		free(md);
	}
}

static void notices_fit_and_only_the_first_replies(void **state)
{
	/* 120 kB of paragraphs heavy in '<' and '&' (HTML escaping makes them several times
	 * larger): every notice's rendering fits, the first is the reply, the others are not. */
	char *para = repeat("<&> ", 60);
	char *md = malloc(130 * 1024);
	json_t **v;
	size_t n;
	md[0] = '\0';
	for (int k = 0; k < 500; k++) {
		strcat(md, para);
		strcat(md, "\n\n");
	}
	assert_int_equal(mx_notices(NULL, md, "$event", NULL, false, &v, &n), HE_OK);
	assert_true(n > 1);
	for (size_t i = 0; i < n; i++) {
		const char *body = json_string_value(json_object_get(v[i], "body"));
		const char *html = json_string_value(json_object_get(v[i], "formatted_body"));
		assert_non_null(body);
		assert_non_null(html); /* never cut down to plain text */
		assert_true(strlen(body) + strlen(html) <= MX_NOTICE_MAX);
		assert_string_equal(json_string_value(json_object_get(v[i], "msgtype")), "m.notice");
		assert_true((json_object_get(v[i], "m.relates_to") != NULL) == (i == 0));
	}
	mx_notices_free(v, n);
	/* In a thread every part belongs to the thread. */
	assert_int_equal(mx_notices(NULL, md, "$event", "$root", false, &v, &n), HE_OK);
	for (size_t i = 0; i < n; i++) {
		json_t *rel = json_object_get(v[i], "m.relates_to");
		assert_string_equal(json_string_value(json_object_get(rel, "rel_type")), "m.thread");
	}
	mx_notices_free(v, n);
	/* A short reply stays one notice. */
	assert_int_equal(mx_notices(NULL, "Hello.", "$event", NULL, false, &v, &n), HE_OK);
	assert_int_equal(n, 1);
	mx_notices_free(v, n);
	free(md);
	free(para);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(short_text_is_one_part),
		cmocka_unit_test(paragraphs_first),
		cmocka_unit_test(lines_then_words),
		cmocka_unit_test(one_huge_word),
		cmocka_unit_test(multibyte_at_the_boundary),
		cmocka_unit_test(code_fence_closed_and_opened_again),
		cmocka_unit_test(longer_fence_and_tildes),
		cmocka_unit_test(hostile_fences),
		cmocka_unit_test(random_text_keeps_every_bound),
		cmocka_unit_test(notices_fit_and_only_the_first_replies),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
