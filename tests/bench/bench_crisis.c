/* bench_crisis.c - the crisis scan that runs on every message: microseconds per message for short
 * chat, a 230-byte post with a signal in the middle, and 16 KB (the most that is scanned) of
 * chatter and of figures of speech that exceptions cover. Prints figures; asserts nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "care/content.h"
#include "care/crisis.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run(const struct content *c, const char *name, const char *text, long n)
{
	double t0 = now_s(), dt;
	long hits = 0;

	for (long i = 0; i < n; i++)
		hits += crisis_match(c, text);
	dt = now_s() - t0;
	printf("%-34s %6zu bytes %7ld scans %9.2f us each (%s)\n", name, strlen(text), n,
	       dt * 1e6 / (double)n, hits ? "answered" : "quiet");
}

static char *repeat(const char *unit, size_t len)
{
	char *s = malloc(len + 1);
	size_t ul = strlen(unit);

	if (!s)
		exit(1);
	for (size_t i = 0; i < len; i++)
		s[i] = unit[i % ul];
	s[len] = '\0';
	return s;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	const char *src = getenv("SRC");
	char dir[4096], err[512];
	struct content *c = NULL;
	char *chat, *figures;

	snprintf(dir, sizeof(dir), "%s/content", src && *src ? src : HEARTH_SOURCE_DIR);
	if (content_load(dir, "en", &c, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	run(c, "short chat", "just chatting here", n);
	run(c, "short chat, Latin-1", "caf\xe9 au lait, anyone?", n);
	run(c, "signal in the middle of a post",
	    "Sorry for the long post. Work has been hard, my partner left in March, and I've been "
	    "staying up until 4am most nights. Some days I think everyone would be better off without "
	    "me. Anyway I hope everyone's week is going ok.", n);
	chat = repeat("so tired today, the bus was late again and work was long. ", CRISIS_SCAN_MAX);
	figures = repeat("this traffic is killing me, no way out of this parking lot lol. ", CRISIS_SCAN_MAX);
	run(c, "16 KB of chatter", chat, n / 100);
	run(c, "16 KB of covered figures of speech", figures, n / 100);
	free(chat);
	free(figures);
	content_free(c);
	return 0;
}
