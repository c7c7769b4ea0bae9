/* test_stats.c - the sample ring and its percentiles (core/stats): what the shutdown figures and
 * the benchmarks print. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/stats.h"

static const double P[] = { 50, 99, 100, 0 };

static void empty_ring(void **state)
{
	struct hstats s;
	uint32_t out[4] = { 7, 7, 7, 7 };

	hstats_init(&s, 8);
	assert_int_equal(hstats_pcts(&s, P, 4, out), HE_INVAL);
	for (int i = 0; i < 4; i++)
		assert_int_equal(out[i], 0);
	assert_null(s.v); /* nothing allocated before the first sample */
	hstats_free(&s);
	hstats_free(NULL);
}

static void percentiles_nearest_rank(void **state)
{
	struct hstats s;
	uint32_t out[4];

	hstats_init(&s, 1000);
	/* 1..100 in a scrambled order */
	for (unsigned i = 0; i < 100; i++)
		assert_int_equal(hstats_add(&s, (i * 37) % 100 + 1), HE_OK);
	assert_int_equal(hstats_pcts(&s, P, 4, out), HE_OK);
	assert_int_equal(out[0], 51);  /* index 50 of 1..100 */
	assert_int_equal(out[1], 100); /* index 99 */
	assert_int_equal(out[2], 100); /* the maximum */
	assert_int_equal(out[3], 1);   /* the minimum */
	/* the ring itself is not reordered */
	assert_int_equal(s.v[0], 1);
	assert_int_equal(s.v[1], 38);
	hstats_free(&s);
}

static void ring_keeps_the_last(void **state)
{
	struct hstats s;
	uint32_t out[4];

	hstats_init(&s, 4);
	for (unsigned i = 1; i <= 10; i++)
		hstats_add(&s, i * 1000);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.total, 10);
	assert_int_equal(hstats_pcts(&s, P, 4, out), HE_OK);
	assert_int_equal(out[3], 7000); /* 1000..6000 were overwritten */
	assert_int_equal(out[2], 10000);
	hstats_free(&s);
}

static void saturates(void **state)
{
	struct hstats s;
	uint32_t out[1];
	const double max = 100;

	hstats_init(&s, 2);
	hstats_add(&s, (uint64_t)1 << 40);
	assert_int_equal(hstats_pcts(&s, &max, 1, out), HE_OK);
	assert_int_equal(out[0], UINT32_MAX);
	hstats_free(&s);
}

static void pcts_of_array(void **state)
{
	uint32_t v[] = { 5, 3, 9, 1, 7 }, out[3];
	const double p[] = { 50, 99, 100 };

	assert_int_equal(hstats_pcts_of(v, 5, p, 3, out), HE_OK);
	assert_int_equal(out[0], 5);
	assert_int_equal(out[1], 9);
	assert_int_equal(out[2], 9);
	assert_int_equal(v[0], 1); /* sorted in place */
	assert_int_equal(hstats_pcts_of(v, 0, p, 3, out), HE_INVAL);
}

static void stamps_move_forward(void **state)
{
	struct hstamp a = hstamp_now(), b;
	volatile unsigned long x = 0;

	for (unsigned long i = 0; i < 2000000; i++)
		x += i;
	b = hstamp_now();
	assert_true(a.wall_us > 0);
	assert_true(b.wall_us >= a.wall_us);
	assert_true(b.cpu_us >= a.cpu_us);
	(void)x;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_ring),
		cmocka_unit_test(percentiles_nearest_rank),
		cmocka_unit_test(ring_keeps_the_last),
		cmocka_unit_test(saturates),
		cmocka_unit_test(pcts_of_array),
		cmocka_unit_test(stamps_move_forward),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
