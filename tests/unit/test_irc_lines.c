/* test_irc_lines.c - the capped line reader the IRC transport and the console share (core/buf):
 * lines cut anywhere by the network come out whole, a line over the cap is never held and is
 * reported once, the line after it is intact, a handler can stop the feed, and hbuf's own cap
 * refuses an append without changing the buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"

struct seen {
	char l[16][128];
	size_t len[16];
	size_t n, too_long, dropped, stop_after;
};

static int collect(void *ud, const char *line, size_t len)
{
	struct seen *s = ud;

	if (!line) {
		s->too_long++;
		s->dropped = len;
		return 0;
	}
	assert_true(s->n < 16);
	assert_int_equal(strlen(line), len);      /* NUL-terminated, no embedded '\n' */
	assert_true(len < sizeof(s->l[0]));
	memcpy(s->l[s->n], line, len + 1);
	s->len[s->n++] = len;
	return s->stop_after && s->n >= s->stop_after ? HE_IO : 0;
}

static void hbuf_cap_refuses_and_keeps(void **state)
{
	struct hbuf b = HBUF_INIT_MAX(8);

	assert_int_equal(hbuf_puts(&b, "12345"), HE_OK);
	assert_int_equal(hbuf_puts(&b, "6789"), HE_TOOBIG);
	assert_string_equal(hbuf_str(&b), "12345");
	assert_false(b.oom);
	assert_int_equal(hbuf_puts(&b, "678"), HE_OK);   /* exactly the cap */
	assert_int_equal(hbuf_putc(&b, 'x'), HE_TOOBIG);
	assert_int_equal(hbuf_printf(&b, "%d", 1), HE_TOOBIG);
	assert_string_equal(hbuf_str(&b), "12345678");
	hbuf_free(&b);
	/* no cap: the old behaviour */
	struct hbuf u = HBUF_INIT;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(hbuf_puts(&u, "0123456789"), HE_OK);
	assert_int_equal(u.len, 10000);
	hbuf_free(&u);
}

static void lines_cut_anywhere(void **state)
{
	const char *in = "PING :a\r\nhello world\nthird\n";
	/* every split point, fed byte by byte and in two pieces */
	for (size_t cut = 0; cut <= strlen(in); cut++) {
		struct hlines r;
		struct seen s = { 0 };
		hlines_init(&r, 64);
		assert_int_equal(hlines_feed(&r, in, cut, collect, &s), HE_OK);
		assert_int_equal(hlines_feed(&r, in + cut, strlen(in) - cut, collect, &s), HE_OK);
		assert_int_equal(s.n, 3);
		assert_string_equal(s.l[0], "PING :a\r");
		assert_string_equal(s.l[1], "hello world");
		assert_string_equal(s.l[2], "third");
		assert_int_equal(s.too_long, 0);
		hlines_free(&r);
	}
	{
		struct hlines r;
		struct seen s = { 0 };
		hlines_init(&r, 64);
		for (size_t i = 0; in[i]; i++)
			assert_int_equal(hlines_feed(&r, in + i, 1, collect, &s), HE_OK);
		assert_int_equal(s.n, 3);
		hlines_free(&r);
	}
}

static void overlong_line_dropped_next_intact(void **state)
{
	struct hlines r;
	struct seen s = { 0 };
	char big[1000];

	memset(big, 'A', sizeof(big));
	hlines_init(&r, 16);
	assert_int_equal(hlines_feed(&r, "ok1\n0123456789", 14, collect, &s), HE_OK);
	/* 10 bytes held; 1000 more would go over: nothing of it is held */
	for (int i = 0; i < 50; i++)
		assert_int_equal(hlines_feed(&r, big, sizeof(big), collect, &s), HE_OK);
	assert_true(r.b.cap <= 64);               /* never grew toward the line's size */
	assert_int_equal(s.too_long, 0);          /* reported once, at its end */
	assert_int_equal(hlines_feed(&r, "AAA\nok2\n", 8, collect, &s), HE_OK);
	assert_int_equal(s.too_long, 1);
	assert_int_equal(s.dropped, 10 + 50 * sizeof(big) + 3);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.l[0], "ok1");
	assert_string_equal(s.l[1], "ok2");

	/* exactly the cap passes, one more byte does not, also inside one chunk */
	s = (struct seen){ 0 };
	assert_int_equal(hlines_feed(&r, "0123456789abcdef\n0123456789abcdefg\nz\n", 37, collect, &s), HE_OK);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.l[0], "0123456789abcdef");
	assert_string_equal(s.l[1], "z");
	assert_int_equal(s.too_long, 1);
	assert_int_equal(s.dropped, 17);
	hlines_free(&r);
}

static void stop_and_finish(void **state)
{
	struct hlines r;
	struct seen s = { .stop_after = 1 };

	hlines_init(&r, 32);
	assert_int_equal(hlines_feed(&r, "a\nb\nc", 5, collect, &s), HE_IO);
	assert_int_equal(s.n, 1);                 /* the handler said stop: b is not read */
	hlines_reset(&r);
	s = (struct seen){ 0 };
	assert_int_equal(hlines_feed(&r, "x\nlast", 6, collect, &s), HE_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(hlines_finish(&r, collect, &s), HE_OK);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.l[1], "last");
	/* finish after an over-long partial line hands nothing over */
	s = (struct seen){ 0 };
	char big[100];
	memset(big, 'B', sizeof(big));
	assert_int_equal(hlines_feed(&r, big, sizeof(big), collect, &s), HE_OK);
	assert_int_equal(hlines_finish(&r, collect, &s), HE_OK);
	assert_int_equal(s.n, 0);
	/* empty lines are lines */
	assert_int_equal(hlines_feed(&r, "\n\n", 2, collect, &s), HE_OK);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.len[0], 0);
	hlines_free(&r);
	hlines_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hbuf_cap_refuses_and_keeps),
		cmocka_unit_test(lines_cut_anywhere),
		cmocka_unit_test(overlong_line_dropped_next_intact),
		cmocka_unit_test(stop_and_finish),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
