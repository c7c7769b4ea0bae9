/* Unit tests for `!mood chart` (bot/care/mood_chart.c) through a real app: what reaches the
 * transport's image op, the file fallback (the console's way) and the text fallback (IRC's),
 * and that nothing is drawn for a member without a log or with a nickname that can pass on. */
#include "pngmem.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <cmocka.h>

#include "care/chart.h"
#include "core/log.h"
#include "testapp.h"

static struct {
	int images, files;
	char alt[1024], name[128], mime[32];
	int w, h;
	size_t len;
	int png_w, png_h;
	char sender[64];
} seen;

static void look_at(const struct hfile *f)
{
	cairo_surface_t *s = tk_png_decode(f->data, f->len);

	snprintf(seen.name, sizeof(seen.name), "%s", f->name);
	snprintf(seen.mime, sizeof(seen.mime), "%s", f->mime);
	seen.len = f->len;
	if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS) {
		seen.png_w = cairo_image_surface_get_width(s);
		seen.png_h = cairo_image_surface_get_height(s);
	}
	cairo_surface_destroy(s);
}

static int image_cb(struct htransport *t, const struct hmsg *in, const struct himage *img)
{
	seen.images++;
	snprintf(seen.alt, sizeof(seen.alt), "%s", img->alt);
	snprintf(seen.sender, sizeof(seen.sender), "%s", in->sender);
	seen.w = img->width;
	seen.h = img->height;
	look_at(&img->file);
	return HE_OK;
}

static int file_cb(struct htransport *t, const struct hmsg *in, const struct hfile *f)
{
	seen.files++;
	snprintf(seen.sender, sizeof(seen.sender), "%s", in->sender);
	look_at(f);
	return HE_OK;
}

static struct htransport_ops with_images, with_files, text_only;

static size_t say(struct testapp *ta, const char *who, bool transient, const char *text)
{
	char dm[96];
	struct hmsg m = { .network = "test", .room = dm, .sender = who, .sender_name = who,
			  .text = text, .is_private = true, .sender_transient = transient,
			  .role = HROLE_MEMBER, .via = &ta->t };
	size_t before = ta->n;

	snprintf(dm, sizeof(dm), "dm:%s", who);
	happ_dispatch(&ta->app, &m);
	return ta->n - before;
}

static int setup(void **state)
{
	struct testapp *ta;

	hlog_set_level(HLOG_ERROR);
	ta = ta_new(":memory:");
	assert_non_null(ta);
	ta->app.fake_now = 1773576000; /* 2026-03-15 12:00 UTC */
	with_images = with_files = text_only = *ta->t.ops;
	with_images.send_image = image_cb;
	with_files.send_file = file_cb;
	memset(&seen, 0, sizeof(seen));
	*state = ta;
	return 0;
}

static int teardown(void **state)
{
	ta_free(*state);
	return 0;
}

static void optin_and_log(struct testapp *ta, const char *who)
{
	say(ta, who, false, "!mood optin");
	say(ta, who, false, "!mood optin confirm");
	assert_non_null(strstr(ta_last(ta), "only you can see it"));
	ta->app.fake_now -= 2 * 86400;
	say(ta, who, false, "!mood 4 rough day #tired #tired2");
	ta->app.fake_now += 86400;
	say(ta, who, false, "!mood 8 better #calm #tired");
	ta->app.fake_now += 86400;
	say(ta, who, false, "!mood 6 #tired");
}

static void test_image_for_an_opted_in_member(void **state)
{
	struct testapp *ta = *state;

	ta->t.ops = &with_images;
	optin_and_log(ta, "@alice:hs");
	ta_clear(ta);
	assert_int_equal(say(ta, "@alice:hs", false, "!mood chart"), 1);
	assert_int_equal(seen.images, 1);
	assert_string_equal(seen.sender, "@alice:hs");
	assert_string_equal(seen.mime, "image/png");
	assert_int_equal(seen.w, CHART_W);
	assert_int_equal(seen.h, CHART_H);
	assert_int_equal(seen.png_w, CHART_W); /* what was sent decodes as that size */
	assert_int_equal(seen.png_h, CHART_H);
	assert_non_null(strstr(seen.name, ".png"));
	/* the words say what the picture shows, from the entries */
	assert_non_null(strstr(seen.alt, "14 Feb to 15 Mar"));
	assert_non_null(strstr(seen.alt, "3 entries, average 6.0, lowest 4, highest 8"));
	assert_non_null(strstr(seen.alt, "Words used most: tired, calm, tired2"));
	assert_true(ta->replies[0].dest == HDEST_PRIVATE);

	/* days: the chart of one day has the one entry of today */
	assert_int_equal(say(ta, "@alice:hs", false, "!mood chart 1"), 1);
	assert_int_equal(seen.images, 2);
	assert_non_null(strstr(seen.alt, "1 entry, average 6.0"));
	/* bad days: a kind error and nothing drawn */
	say(ta, "@alice:hs", false, "!mood chart 400");
	assert_int_equal(seen.images, 2);
	say(ta, "@alice:hs", false, "!mood chart lots");
	assert_int_equal(seen.images, 2);
}

static void test_nothing_drawn_without_a_log(void **state)
{
	struct testapp *ta = *state;

	ta->t.ops = &with_images;
	assert_int_equal(say(ta, "@bob:hs", false, "!mood chart"), 1);
	assert_non_null(strstr(ta_last(ta), "don't have a mood log"));
	say(ta, "@bob:hs", false, "!mood optin");
	say(ta, "@bob:hs", false, "!mood optin confirm");
	say(ta, "@bob:hs", false, "!mood chart");
	assert_non_null(strstr(ta_last(ta), "nothing to draw"));
	optin_and_log(ta, "@alice:hs");
	/* a nickname that can pass to someone else reads nothing, even one with a log */
	say(ta, "@alice:hs", true, "!mood chart");
	assert_int_equal(seen.images, 0);
}

static void test_file_where_no_images(void **state)
{
	struct testapp *ta = *state;

	ta->t.ops = &with_files;
	optin_and_log(ta, "carol");
	say(ta, "carol", false, "!mood chart 7");
	assert_int_equal(seen.files, 1);
	assert_int_equal(seen.png_w, CHART_W);
	assert_non_null(strstr(seen.name, "hearth-mood-chart-2026-03-15.png"));
}

static void test_text_where_neither(void **state)
{
	struct testapp *ta = *state;

	ta->t.ops = &text_only;
	optin_and_log(ta, "dave");
	say(ta, "dave", false, "!mood chart 7");
	assert_int_equal(seen.files + seen.images, 0);
	/* four empty days, then 4, 8, 6 */
	assert_non_null(strstr(ta_last(ta), "····▃▆▅"));
	assert_non_null(strstr(ta_last(ta), "shown on Matrix"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_image_for_an_opted_in_member, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_drawn_without_a_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_where_no_images, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text_where_neither, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
