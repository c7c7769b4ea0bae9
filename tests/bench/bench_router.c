/* bench_router.c - commands per second through the router (!learn, !checkin) and peak RSS.
 * Prints figures; asserts nothing. Aim: >= 100,000 commands/s on one core, < 5 MB RSS. */
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "testapp.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* n commands spread over `rooms` rooms; the replies per command show that each was answered
 * (a command the answer limit silenced costs far less and would flatter the figure). */
static void run(struct testapp *ta, const char *cmd, long n, long rooms)
{
	char room[32];
	size_t replies = 0;
	double t0 = now_s(), dt;
	for (long i = 0; i < n; i++) {
		snprintf(room, sizeof(room), "#room%ld", i % rooms);
		replies += ta_say(ta, "bench", room, false, HROLE_MEMBER, cmd);
		ta_clear(ta);
	}
	dt = now_s() - t0;
	printf("%-20s %5ld rooms %8ld commands in %.3f s = %9.0f commands/s (%.2f us each, %.2f replies each)\n",
	       cmd, rooms, n, dt, (double)n / dt, dt * 1e6 / (double)n, (double)replies / (double)n);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	char db[] = "/tmp/hearth-bench-XXXXXX";
	int fd = mkstemp(db);
	struct testapp *ta;

	if (fd < 0)
		return 1;
	close(fd);
	/* A real database file, as the daemon uses, so RSS includes SQLite's bounded page cache
	 * rather than an in-memory database that grows with every row. */
	ta = ta_new(db);
	struct rusage ru;

	if (!ta)
		return 1;
	hlog_set_level(HLOG_ERROR);
	/* One member asks all the commands: [bot] room_answers_per_minute (3 by default) would
	 * silence all but three per room and minute, so the limit is off (as in the Matrix bench's
	 * and the IRC suite's configs): every figure is an answered command. */
	ta->app.cfg->room_answers_per_minute = 0;
	run(ta, "!learn", n, 100);
	run(ta, "!learn roots", n, 100);
	run(ta, "!learn attachment", n / 4, 100);
	run(ta, "!learn attachmnt", n / 4, 100);
	/* Rooms that ask a few times a day (the usual case), then two rooms that exhausted the pool
	 * (every call falls back to the oldest prompt: the worst case). */
	run(ta, "!checkin", n, 10000);
	run(ta, "!checkin", n / 4, 2);
	run(ta, "!help", n / 4, 100);
	run(ta, "just chatting here", n, 100);
	getrusage(RUSAGE_SELF, &ru);
	printf("peak RSS: %.2f MB\n", (double)ru.ru_maxrss / 1024.0);
	ta_free(ta);
	unlink(db);
	char wal[64];
	snprintf(wal, sizeof(wal), "%s-wal", db);
	unlink(wal);
	snprintf(wal, sizeof(wal), "%s-shm", db);
	unlink(wal);
	return 0;
}
