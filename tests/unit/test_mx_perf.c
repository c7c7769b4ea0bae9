/* test_mx_perf.c - the Matrix transport's work saved per command: a reply's Markdown is rendered
 * once and kept (a private one only when the same text was sent before), what it sends is the
 * same as uncached; rooms are found through an index. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/matrix/mx.h"

static void same_snippet_rendered_once(void **state)
{
	static struct mx mx; /* zeroed */
	const char *md = "**Today's reading**\n\n- one\n- two\n\nA [link](https://example.org).";
	json_t *a, *b, *ref;

	a = mx_notice_cached(&mx, md, "$cmd1", NULL, false);
	b = mx_notice_cached(&mx, md, "$cmd2", "$root", false);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(mx.md_renders, 1);
	/* the same content as rendered afresh, with each reply's own relation */
	ref = mx_notice_content(md, "$cmd1", NULL);
	assert_true(json_equal(a, ref));
	json_decref(ref);
	ref = mx_notice_content(md, "$cmd2", "$root");
	assert_true(json_equal(b, ref));
	json_decref(ref);
	json_decref(a);
	json_decref(b);
	mx_md_cache_free(&mx);
}

static void least_recently_used_goes(void **state)
{
	static struct mx mx;
	char md[32];
	json_t *c;

	for (int i = 0; i <= MX_MD_CACHE; i++) {
		snprintf(md, sizeof(md), "reading *%d*", i);
		json_decref(c = mx_notice_cached(&mx, md, NULL, NULL, false));
		assert_non_null(c);
		if (i == 0) {
			/* used again: no longer the oldest */
			json_decref(mx_notice_cached(&mx, md, NULL, NULL, false));
		}
		if (i == 1)
			json_decref(mx_notice_cached(&mx, "reading *0*", NULL, NULL, false));
	}
	assert_int_equal(mx.md_renders, MX_MD_CACHE + 1);
	json_decref(mx_notice_cached(&mx, "reading *0*", NULL, NULL, false)); /* kept */
	assert_int_equal(mx.md_renders, MX_MD_CACHE + 1);
	json_decref(mx_notice_cached(&mx, "reading *1*", NULL, NULL, false)); /* replaced by *8* */
	assert_int_equal(mx.md_renders, MX_MD_CACHE + 2);
	mx_md_cache_free(&mx);
}

static void long_text_not_kept(void **state)
{
	static struct mx mx;
	size_t n = MX_MD_CACHE_MAX + 10;
	char *md = malloc(n + 1);
	json_t *c, *ref;

	memset(md, 'a', n);
	md[n] = '\0';
	c = mx_notice_cached(&mx, md, NULL, NULL, false);
	ref = mx_notice_content(md, NULL, NULL);
	assert_true(json_equal(c, ref));
	assert_int_equal(mx.md_renders, 0);
	for (size_t i = 0; i < MX_MD_CACHE; i++)
		assert_null(mx.md_cache[i].md);
	json_decref(c);
	json_decref(ref);
	free(md);
}

/* A private reply's text is kept only when the same text was sent before: a member's own figures
 * (sent once) are never held in the cache; a reading sent privately twice is. */
static void private_text_kept_only_when_repeated(void **state)
{
	static struct mx mx;
	const char *mine = "Your last 7 days: **3, 4, 2**";
	const char *reading = "**Today's reading**\n\nBe kind to yourself.";
	json_t *c, *ref;

	c = mx_notice_cached(&mx, mine, "$a", NULL, true);
	ref = mx_notice_content(mine, "$a", NULL);
	assert_true(json_equal(c, ref));
	json_decref(c);
	json_decref(ref);
	json_decref(mx_notice_cached(&mx, reading, "$b", NULL, true));
	assert_int_equal(mx.md_renders, 0);
	for (size_t i = 0; i < MX_MD_CACHE; i++)
		assert_null(mx.md_cache[i].md);
	c = mx_notice_cached(&mx, reading, "$c", NULL, true); /* the second time: kept */
	ref = mx_notice_content(reading, "$c", NULL);
	assert_true(json_equal(c, ref));
	json_decref(c);
	json_decref(ref);
	assert_int_equal(mx.md_renders, 1);
	json_decref(mx_notice_cached(&mx, reading, "$d", NULL, true));
	assert_int_equal(mx.md_renders, 1);
	for (size_t i = 0; i < MX_MD_CACHE; i++)
		assert_true(!mx.md_cache[i].md || strcmp(mx.md_cache[i].md, mine) != 0);
	mx_md_cache_free(&mx);
}

/* 1,000 rooms: each found through the index (a bucket holds about one room), removed ones gone,
 * the rest still found after the index grew and lost some. */
static void rooms_indexed(void **state)
{
	static struct mx mx;
	char id[64];
	size_t longest = 0;

	for (int i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "!room%d:example.org", i);
		assert_non_null(mx_room_add(&mx, id));
	}
	assert_int_equal(mx.nrooms, 1000);
	assert_true(mx.room_tab_cap >= 1000);
	for (size_t b = 0; b < mx.room_tab_cap; b++) {
		size_t n = 0;
		for (struct mx_room *r = mx.room_tab[b]; r; r = r->hnext)
			n++;
		if (n > longest)
			longest = n;
	}
	assert_true(longest <= 8);
	for (int i = 0; i < 1000; i += 3) {
		snprintf(id, sizeof(id), "!room%d:example.org", i);
		mx_room_remove(&mx, id);
	}
	for (int i = 0; i < 1000; i++) {
		struct mx_room *r;
		snprintf(id, sizeof(id), "!room%d:example.org", i);
		r = mx_room_get(&mx, id);
		if (i % 3 == 0) {
			assert_null(r);
		} else {
			assert_non_null(r);
			assert_string_equal(r->id, id);
		}
	}
	assert_ptr_equal(mx_room_add(&mx, "!room1:example.org"), mx_room_get(&mx, "!room1:example.org"));
	assert_null(mx_room_get(&mx, "!room1:example.orh"));
	mx_rooms_free(&mx);
	assert_null(mx.room_tab);
}

/* A kept rendering's JSON strings are made once and shared by every notice built from it (no
 * copy, no UTF-8 check per reply); the notices serialise to the same bytes as uncached ones,
 * outlive the entry (replaced, freed), and one changed does not change the others. */
static void kept_strings_shared(void **state)
{
	static struct mx mx;
	const char *md = "**Reading**\n\nÄ *kind* word.";
	json_t *a, *b, *ref;
	char *sa, *sref;

	a = mx_notice_cached(&mx, md, "$1", NULL, false);
	b = mx_notice_cached(&mx, md, "$2", "$root", false);
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_equal(json_object_get(a, "body"), json_object_get(b, "body"));
	assert_ptr_equal(json_object_get(a, "formatted_body"), json_object_get(b, "formatted_body"));
	ref = mx_notice_content(md, "$1", NULL);
	sa = json_dumps(a, JSON_COMPACT);
	sref = json_dumps(ref, JSON_COMPACT);
	assert_string_equal(sa, sref);
	free(sa);
	free(sref);
	json_decref(ref);
	json_object_del(a, "m.relates_to"); /* as kick() does for a private message rerouted */
	assert_non_null(json_object_get(b, "m.relates_to"));
	mx_md_cache_free(&mx); /* the notices keep their strings */
	assert_string_equal(json_string_value(json_object_get(b, "body")), "Reading\n\nÄ kind word.");
	json_decref(a);
	json_decref(b);
}

/* De-duplication through the index answers exactly as the plain ring of the last MX_SEEN ids
 * (a model here): ids seen again, ids pushed out of the ring and seen afresh, the index kept
 * consistent through thousands of evictions (a pool a little larger than the ring). */
static void seen_same_as_ring(void **state)
{
	static struct mx mx;
	static char ring[MX_SEEN][32];
	size_t next = 0, nseen = 0, hits = 0;
	uint32_t x = 12345;
	char id[32];

	for (int step = 0; step < 40000; step++) {
		bool model = false;

		x = x * 1103515245u + 12345u;
		snprintf(id, sizeof(id), "$ev%u:hs", (x >> 8) % (MX_SEEN + MX_SEEN / 4));
		for (size_t i = 0; i < nseen && !model; i++)
			model = strcmp(ring[i], id) == 0;
		if (!model) {
			strcpy(ring[next], id);
			next = (next + 1) % MX_SEEN;
			if (nseen < MX_SEEN)
				nseen++;
		}
		assert_int_equal(mx_seen_check(&mx, id), model);
		hits += model;
	}
	/* both answers, and thousands of evictions, were exercised */
	assert_true(hits > 1000 && 40000 - hits > 4 * MX_SEEN);
	for (size_t i = 0; i < 2 * MX_SEEN; i++)
		assert_true(mx.seen_tab[i] <= MX_SEEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_snippet_rendered_once),
		cmocka_unit_test(least_recently_used_goes),
		cmocka_unit_test(long_text_not_kept),
		cmocka_unit_test(rooms_indexed),
		cmocka_unit_test(private_text_kept_only_when_repeated),
		cmocka_unit_test(kept_strings_shared),
		cmocka_unit_test(seen_same_as_ring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
