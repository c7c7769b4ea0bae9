/* test_loop.c - timers fire in order, fds wake the loop, signals arrive as events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <unistd.h>

#include "core/err.h"
#include "core/loop.h"

static int order[8], norder;

static void mark(struct loop *l, void *ud)
{
	order[norder++] = (int)(intptr_t)ud;
	if (norder == 3)
		loop_stop(l);
}

static void timers_fire_in_order_and_cancel(void **state)
{
	struct loop *l = NULL;
	uint64_t t0 = loop_now_ms(), id;
	(void)state;
	norder = 0;
	assert_int_equal(loop_new(&l), HE_OK);
	loop_timer_add(l, 30, mark, (void *)3);
	loop_timer_add(l, 10, mark, (void *)1);
	id = loop_timer_add(l, 15, mark, (void *)9);
	loop_timer_add(l, 20, mark, (void *)2);
	loop_timer_cancel(l, id);
	assert_int_equal(loop_run(l), HE_OK);
	assert_int_equal(norder, 3);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 3);
	assert_true(loop_now_ms() - t0 >= 30);
	loop_free(l);
}

static void on_read(struct loop *l, int fd, unsigned ev, void *ud)
{
	char c;
	(void)ev;
	assert_int_equal(read(fd, &c, 1), 1);
	*(char *)ud = c;
	loop_del_fd(l, fd);
	loop_stop(l);
}

static void fd_wakes_loop(void **state)
{
	struct loop *l = NULL;
	int p[2];
	char got = 0;
	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_new(&l), HE_OK);
	assert_int_equal(loop_add_fd(l, p[0], LOOP_READ, on_read, &got), HE_OK);
	assert_int_equal(loop_add_fd(l, p[0], LOOP_READ, on_read, &got), HE_INVAL);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(loop_run(l), HE_OK);
	assert_int_equal(got, 'x');
	close(p[0]);
	close(p[1]);
	loop_free(l);
}

static void on_sig(struct loop *l, int signo, void *ud)
{
	*(int *)ud = signo;
	if (signo == SIGTERM)
		loop_stop(l);
}

static void signals_arrive_in_the_loop(void **state)
{
	struct loop *l = NULL;
	int got = 0;
	(void)state;
	assert_int_equal(loop_new(&l), HE_OK);
	assert_int_equal(loop_watch_signals(l, on_sig, &got), HE_OK);
	kill(getpid(), SIGHUP);
	assert_int_equal(loop_run_once(l, 1000), HE_OK);
	assert_int_equal(got, SIGHUP);
	kill(getpid(), SIGTERM);
	assert_int_equal(loop_run(l), HE_OK);
	assert_int_equal(got, SIGTERM);
	loop_free(l);
	loop_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timers_fire_in_order_and_cancel),
		cmocka_unit_test(fd_wakes_loop),
		cmocka_unit_test(signals_arrive_in_the_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
