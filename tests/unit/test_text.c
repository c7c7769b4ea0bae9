/* test_text.c - UTF-8 checks, folding, distance: what keeps odd input from crashing or fooling us. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/text.h"

static void utf8_validation(void **state)
{
	(void)state;
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
	(void)state;
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
	(void)state;
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
	(void)state;
	assert_int_equal(text_distance("attachment", "attachmnt"), 1);
	assert_int_equal(text_distance("learn", "lern"), 1);
	assert_int_equal(text_distance("", "abc"), 3);
	assert_int_equal(text_distance("caf\xc3\xa9", "cafe"), 1);   /* one code point, not two bytes */
}

static void prefix_and_words(void **state)
{
	const char *s = "\xc3\xa9\xc3\xa9\xc3\xa9", *p = "  one  two ";
	char w[8];
	(void)state;
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(utf8_validation),
		cmocka_unit_test(clean_input),
		cmocka_unit_test(folding),
		cmocka_unit_test(distance),
		cmocka_unit_test(prefix_and_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
