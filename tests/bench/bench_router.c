/* bench_router.c - commands per second through the router (!learn, !checkin) and peak RSS.
 * Prints figures; asserts nothing. Aim: >= 100,000 commands/s on one core, < 5 MB RSS. */
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

#include "../unit/testapp.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run(struct testapp *ta, const char *cmd, long n)
{
	double t0 = now_s(), dt;
	for (long i = 0; i < n; i++) {
		ta_say(ta, "bench", (i & 1) ? "#a" : "#b", false, HROLE_MEMBER, cmd);
		ta_clear(ta);
	}
	dt = now_s() - t0;
	printf("%-22s %8ld commands in %.3f s = %10.0f commands/s (%.2f us each)\n", cmd, n, dt,
	       (double)n / dt, dt * 1e6 / (double)n);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	struct testapp *ta = ta_new(":memory:");
	struct rusage ru;

	if (!ta)
		return 1;
	hlog_set_level(HLOG_ERROR);
	run(ta, "!learn", n);
	run(ta, "!learn attachment", n / 4);
	run(ta, "!learn attachmnt", n / 4);
	run(ta, "!checkin", n / 4);
	run(ta, "!help", n / 4);
	run(ta, "just chatting here", n);
	getrusage(RUSAGE_SELF, &ru);
	printf("peak RSS: %.2f MB\n", (double)ru.ru_maxrss / 1024.0);
	ta_free(ta);
	return 0;
}
