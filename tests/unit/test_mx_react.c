/* Unit tests for the Matrix scale keys (bot/net/matrix/react.c): the five emoji map to 2..10,
 * with or without the emoji variation selector; any other key is no answer. The flows (our own
 * reactions, members' taps, redactions) run against Synapse in tests/matrix/test_look.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "net/matrix/mx.h"

static void test_scale_keys(void **state)
{
	assert_int_equal(mx_react_score("😞"), 2);
	assert_int_equal(mx_react_score("🙁"), 4);
	assert_int_equal(mx_react_score("😐"), 6);
	assert_int_equal(mx_react_score("🙂"), 8);
	assert_int_equal(mx_react_score("😄"), 10);
	assert_int_equal(mx_react_score("🙂\xef\xb8\x8f"), 8);
	assert_int_equal(mx_react_score("👍"), 0);
	assert_int_equal(mx_react_score("🙂🙂"), 0);
	assert_int_equal(mx_react_score("8"), 0);
	assert_int_equal(mx_react_score(""), 0);
	assert_int_equal(mx_react_score("\xef\xb8\x8f"), 0);
	assert_int_equal(mx_react_score(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_scale_keys) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
