/* test_loop.c - timers fire in order, fds wake the loop, signals arrive as events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <unistd.h>

#include "core/app.h"
#include "core/err.h"
#include "core/loop.h"

/* Linked with -Wl,--wrap=realloc (CMakeLists.txt): fail_realloc makes the loop's realloc fail. */
static int fail_realloc;
void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n)
{
	return fail_realloc ? NULL : __real_realloc(p, n);
}

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
	norder = 0;
	assert_int_equal(loop_new(&l), HE_OK);
	assert_int_equal(loop_timer_add(l, 30, mark, (void *)3, NULL), HE_OK);
	assert_int_equal(loop_timer_add(l, 10, mark, (void *)1, NULL), HE_OK);
	assert_int_equal(loop_timer_add(l, 15, mark, (void *)9, &id), HE_OK);
	assert_true(id != 0);
	assert_int_equal(loop_timer_add(l, 20, mark, (void *)2, NULL), HE_OK);
	loop_timer_cancel(l, id);
	assert_int_equal(loop_run(l), HE_OK);
	assert_int_equal(norder, 3);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 3);
	assert_true(loop_now_ms() - t0 >= 30);
	loop_free(l);
}

static void count_fire(struct loop *l, void *ud)
{
	if (++*(int *)ud == 16)
		loop_stop(l);
}

/* A timer that cannot be armed is an error the caller sees (HE_NOMEM, id 0), never an id that
 * silently never fires; the timers already armed still fire. */
static void timer_out_of_memory_is_an_error(void **state)
{
	struct loop *l = NULL;
	uint64_t id = 99;
	int fired = 0;

	assert_int_equal(loop_new(&l), HE_OK);
	for (int i = 0; i < 16; i++)
		assert_int_equal(loop_timer_add(l, 1, count_fire, &fired, NULL), HE_OK);
	fail_realloc = 1;
	assert_int_equal(loop_timer_add(l, 1, count_fire, &fired, &id), HE_NOMEM);
	fail_realloc = 0;
	assert_int_equal(id, 0);
	assert_int_equal(loop_run(l), HE_OK);
	assert_int_equal(fired, 16);
	loop_free(l);
}

/* happ_fail() stops Hearth loudly: exit code 1 and a stopped loop (a tick that cannot re-arm). */
static void happ_fail_stops_the_loop(void **state)
{
	struct happ app = { 0 };

	assert_int_equal(loop_new(&app.loop), HE_OK);
	happ_fail(&app, "test", "cannot arm a tick", HE_NOMEM);
	assert_int_equal(app.exit_code, 1);
	assert_true(loop_stopped(app.loop));
	app.exit_code = 3;
	happ_fail(&app, "test", "again", HE_NOMEM);
	assert_int_equal(app.exit_code, 3);
	loop_free(app.loop);
}

static void on_read(struct loop *l, int fd, unsigned ev, void *ud)
{
	char c;
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
		cmocka_unit_test(timer_out_of_memory_is_an_error),
		cmocka_unit_test(happ_fail_stops_the_loop),
		cmocka_unit_test(fd_wakes_loop),
		cmocka_unit_test(signals_arrive_in_the_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
