/* test_log.c - a log line is one line of plain text, whatever a hostile nick or room name holds:
 * no forged lines (CR, LF, NEL, LS), no terminal escapes (ESC, 8-bit CSI as C1 in UTF-8 or as a
 * raw byte), no other control characters; ordinary UTF-8 is kept as it is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/err.h"
#include "core/log.h"
#include "core/text.h"

static void clean_in_place(void **state)
{
	char s[128];

	snprintf(s, sizeof(s), "a\r\nb\tc");
	assert_int_equal(hlog_clean(s), 6);
	assert_string_equal(s, "a  b c");
	/* ESC [ 2 J (clear screen), BEL, BS, NUL-free C0, DEL */
	snprintf(s, sizeof(s), "x\x1b[2Jy\x07z\x08w\x7fv\x01u\x1fq");
	hlog_clean(s);
	assert_string_equal(s, "x?[2Jy?z?w?v?u?q");
	/* C1 in UTF-8: U+0085 NEL, U+009B CSI, U+0080, U+009F; each becomes one '?' */
	snprintf(s, sizeof(s), "a\xc2\x85" "b\xc2\x9b" "31mc\xc2\x80\xc2\x9f" "d");
	hlog_clean(s);
	assert_string_equal(s, "a?b?31mc??d");
	/* a raw 8-bit CSI and other bytes that are not UTF-8 */
	snprintf(s, sizeof(s), "a\x9b" "31mb\xff\xc3(c\xe2\x82");
	hlog_clean(s);
	assert_string_equal(s, "a?31mb?" "?(c?" "?");
	/* U+00A0 and later, and 4-byte characters, stay as they are */
	snprintf(s, sizeof(s), "caf\xc3\xa9 \xc2\xa0 \xe2\x80\xa8x \xf0\x9f\x8c\xb1");
	hlog_clean(s);
	assert_string_equal(s, "caf\xc3\xa9 \xc2\xa0 \xe2\x80\xa8x \xf0\x9f\x8c\xb1");
	assert_int_equal(hlog_clean(s), strlen(s));
	s[0] = '\0';
	assert_int_equal(hlog_clean(s), 0);
}

/* Runs hlog() with stderr sent to a file; returns what it wrote (malloc'd). */
static char *logged(const char *nick, const char *room)
{
	FILE *f = tmpfile();
	int saved = dup(2);
	long n;
	char *out;

	assert_non_null(f);
	assert_true(saved >= 0);
	fflush(stderr);
	assert_int_equal(dup2(fileno(f), 2), 2);
	hlog_info("irc", "irc.x: invited to %s by %s", room, nick);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	n = ftell(f);
	assert_true(n > 0);
	out = calloc(1, (size_t)n + 1);
	assert_non_null(out);
	rewind(f);
	assert_int_equal(fread(out, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return out;
}

static void hostile_names_make_one_plain_line(void **state)
{
	static const char *const nicks[] = {
		"eve\r\n2026-01-01T00:00:00Z error mood: forged",
		"eve\x1b]0;owned\x07\x1b[2J",
		"eve\xc2\x85" "2026-01-01T00:00:00Z warn fake: line",
		"eve\xc2\x9b" "31mred",
		"eve\x9b" "31m\xfe",
		"eve\x0b\x0c\x7f\x01",
	};

	unsetenv("JOURNAL_STREAM");
	hlog_set_level(HLOG_INFO);
	for (size_t i = 0; i < sizeof(nicks) / sizeof(nicks[0]); i++) {
		char *out = logged(nicks[i], "#r\x1b[1mo\xc2\x9fom");
		size_t len = strlen(out);

		/* exactly one line: one newline, at the end */
		assert_true(len > 1);
		assert_int_equal(out[len - 1], '\n');
		assert_null(memchr(out, '\n', len - 1));
		assert_true(text_utf8_valid(out, len));
		for (size_t k = 0; k + 1 < len; k++) {
			unsigned char c = (unsigned char)out[k];
			assert_false(c < 0x20 || c == 0x7f);
			if (c == 0xc2)
				assert_false((unsigned char)out[k + 1] >= 0x80 && (unsigned char)out[k + 1] <= 0x9f);
		}
		assert_non_null(strstr(out, " info  irc: irc.x: invited to #r?[1mo?om by eve"));
		free(out);
	}
}

/* log_format = json: one object per line with time, level, module, message and network, also
 * when a hostile nick carries quotes, braces, line breaks or escapes. */
static void json_lines_are_one_object_each(void **state)
{
	static const char *const nicks[] = {
		"eve\"}\n{\"level\":\"error\",\"message\":\"forged",
		"eve\x1b]0;owned\x07\\",
		"eve\xc2\x85\xff\x9b" "31m",
	};
	enum hlog_format f;

	assert_int_equal(hlog_parse_format("JSON", &f), HE_OK);
	assert_int_equal(f, HLOG_JSON);
	assert_int_equal(hlog_parse_format("xml", &f), HE_INVAL);
	hlog_set_format(HLOG_JSON);
	hlog_set_level(HLOG_INFO);
	for (size_t i = 0; i < sizeof(nicks) / sizeof(nicks[0]); i++) {
		char *out = logged(nicks[i], "#room");
		size_t len = strlen(out);
		json_error_t err;
		json_t *o;
		const char *msg;

		assert_int_equal(out[len - 1], '\n');
		assert_null(memchr(out, '\n', len - 1));
		o = json_loads(out, JSON_REJECT_DUPLICATES, &err);
		assert_non_null(o);
		assert_int_equal(json_object_size(o), 5);
		assert_string_equal(json_string_value(json_object_get(o, "level")), "info");
		assert_string_equal(json_string_value(json_object_get(o, "module")), "irc");
		assert_string_equal(json_string_value(json_object_get(o, "network")), "irc.x");
		assert_non_null(json_string_value(json_object_get(o, "time")));
		assert_int_equal(strlen(json_string_value(json_object_get(o, "time"))), 24);
		msg = json_string_value(json_object_get(o, "message"));
		assert_non_null(msg);
		assert_true(strncmp(msg, "irc.x: invited to #room by eve", 30) == 0);
		assert_null(strchr(msg, '\n'));
		assert_null(strchr(msg, '\x1b'));
		json_decref(o);
		free(out);
	}
	/* a line about no network has no "network" key */
	{
		FILE *f2 = tmpfile();
		int saved = dup(2);
		char buf[512] = { 0 };
		json_t *o;

		fflush(stderr);
		dup2(fileno(f2), 2);
		hlog_warn("store", "database is busy");
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
		rewind(f2);
		assert_non_null(fgets(buf, sizeof(buf), f2));
		fclose(f2);
		o = json_loads(buf, 0, NULL);
		assert_non_null(o);
		assert_null(json_object_get(o, "network"));
		assert_string_equal(json_string_value(json_object_get(o, "level")), "warn");
		json_decref(o);
	}
	hlog_set_format(HLOG_TEXT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(clean_in_place),
		cmocka_unit_test(hostile_names_make_one_plain_line),
		cmocka_unit_test(json_lines_are_one_object_each),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
