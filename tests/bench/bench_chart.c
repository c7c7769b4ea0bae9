/* bench_chart - the mood chart at its largest: 365 days with three entries a day and five
 * words, drawn and PNG-encoded as the daemon does it: in a short-lived child
 * (chart_draw_isolated, care/chart_child.c). Prints the time the caller waits per chart, fork
 * and reaping included, and the CPU time of parent and child (p50/p99 and the first chart of
 * each) against the goal of 20 ms, the child's page faults, and this process's RSS growth,
 * RssAnon and RssFile apart, against the goal of 2 MB. Asserts nothing. Usage: bench_chart [charts]
 * [example.png] (also writes a 30-day example chart there: docs/mood-chart-example.png).
 * BENCH_CHART_PARENT_MB=N first fills N MB of this process's memory, as a daemon with many
 * rooms holds: fork copies the page tables of all of it (notes chart3: 20 MB cost ~2 ms more of
 * system time per chart). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "care/chart.h"
#include "core/err.h"
#include "core/tz.h"

/* CPU time of this process: the figure that does not depend on how busy the machine is (the
 * wall time is printed too). */
static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* RssAnon and RssFile of this process in kB (from /proc/self/status): the heap and the pages
 * of files (library code, the font files) are told apart. */
struct rss {
	long anon, file;
};

static struct rss rss_now(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	struct rss r = { 0, 0 };
	char line[128];

	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "RssAnon:", 8))
			r.anon = atol(line + 8);
		else if (!strncmp(line, "RssFile:", 8))
			r.file = atol(line + 8);
	}
	if (f)
		fclose(f);
	return r;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* CPU time of the children reaped so far (the drawing children), in ms. */
static double child_cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_CHILDREN, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/* Page faults of the children reaped so far. */
static long child_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_CHILDREN, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 200;
	static const char *const words[] = { "tired", "calm", "hopeful", "anxious", "grateful" };
	struct chart_entry *e = calloc(365 * 3, sizeof(*e));
	const struct tz *z = NULL;
	time_t now = 1773576000;
	double *t = calloc((size_t)(runs > 0 ? runs : 1), sizeof(*t)), first, t0, c0, wall = 0;
	double *c = calloc((size_t)(runs > 0 ? runs : 1), sizeof(*c)), cpu = 0, parent_cpu = 0, p0;
	double first_cpu;
	long f0;
	struct rss m0, m1, m2;
	size_t png_len = 0;

	if (!e || !t || !c || runs < 1 || tz_load("Europe/Berlin", &z) != HE_OK)
		return 1;
	const char *mb = getenv("BENCH_CHART_PARENT_MB");
	size_t ballast_len = mb ? (size_t)atol(mb) << 20 : 0;
	char *ballast = ballast_len ? malloc(ballast_len) : NULL;
	if (ballast)
		memset(ballast, 1, ballast_len); /* touched: resident, as a daemon's heap is */
	for (int i = 0; i < 365 * 3; i++) {
		e[i].ts = now - (time_t)(i / 3) * 86400 - (i % 3) * 14400;
		e[i].score = 1 + (i * 7 + i / 5) % 10;
	}
	struct chart_in in = { e, 365 * 3, z, now, 365, words, 5, NULL, NULL, NULL, NULL, NULL };
	struct chart_png png;

	/* the daemon's path: each chart drawn in a child (chart_draw_isolated); the time is the
	 * wall time the caller is blocked, fork and reaping included */
	m0 = rss_now();
	t0 = ms_now();
	c0 = cpu_ms() + child_cpu_ms();
	if (chart_draw_isolated(&in, &png) != HE_OK)
		return 1;
	first = ms_now() - t0;
	first_cpu = cpu_ms() + child_cpu_ms() - c0;
	chart_png_clear(&png);
	m1 = rss_now();
	f0 = child_faults();
	for (int i = 0; i < runs; i++) {
		t0 = ms_now();
		c0 = cpu_ms() + child_cpu_ms();
		p0 = cpu_ms();
		if (chart_draw_isolated(&in, &png) != HE_OK)
			return 1;
		t[i] = ms_now() - t0;
		wall += t[i];
		c[i] = cpu_ms() + child_cpu_ms() - c0;
		cpu += c[i];
		parent_cpu += cpu_ms() - p0;
		png_len = png.len;
		chart_png_clear(&png);
	}
	m2 = rss_now();
	qsort(t, (size_t)runs, sizeof(*t), cmp);
	qsort(c, (size_t)runs, sizeof(*c), cmp);
	printf("chart: 365 days, %d entries, %dx%d PNG of %zu bytes, drawn in a child process "
	       "(chart_draw_isolated); font %s\n", 365 * 3, CHART_W, CHART_H, png_len,
	       chart_font_from_file() ? "from its file" : "through fontconfig");
	printf("  first chart: %.1f ms, CPU %.1f ms\n", first, first_cpu);
	printf("  %d charts, time the caller waits (fork, draw, encode, read, reap): p50 %.1f ms, "
	       "p99 %.1f ms, max %.1f ms, mean %.1f ms (goal < 20 ms)\n", runs, t[runs / 2],
	       t[(runs * 99) / 100 < runs ? (runs * 99) / 100 : runs - 1], t[runs - 1], wall / runs);
	printf("  CPU time per chart, parent and child: p50 %.1f ms, p99 %.1f ms, mean %.1f ms, of "
	       "which the parent (fork, read, reap) %.1f ms (the wall time above the CPU time is a "
	       "busy machine); page faults in the child %.0f per chart\n", c[runs / 2],
	       c[(runs * 99) / 100 < runs ? (runs * 99) / 100 : runs - 1], cpu / runs,
	       parent_cpu / runs, (double)(child_faults() - f0) / runs);
	printf("  RSS of this process at start: %ld kB (RssAnon %ld, RssFile %ld)\n", m0.anon + m0.file,
	       m0.anon, m0.file);
	printf("  after the first chart: RSS %+ld kB (RssAnon %+ld kB, RssFile %+ld kB)\n",
	       m1.anon + m1.file - m0.anon - m0.file, m1.anon - m0.anon, m1.file - m0.file);
	printf("  after %d charts: RSS growth %+ld kB (RssAnon %+ld kB, RssFile %+ld kB); goal: "
	       "RSS growth < 2048 kB: %s\n", runs + 1, m2.anon + m2.file - m0.anon - m0.file,
	       m2.anon - m0.anon, m2.file - m0.file,
	       m2.anon + m2.file - m0.anon - m0.file < 2048 ? "met" : "NOT met");
	{
		/* for comparison: the same chart drawn in this process (chart_draw), after the RSS
		 * figures above were taken (it grows the process by about 2.9 MB) */
		double ic[20];
		for (int i = 0; i < 21; i++) {
			c0 = cpu_ms();
			if (chart_draw(&in, &png) != HE_OK)
				return 1;
			if (i)
				ic[i - 1] = cpu_ms() - c0;
			chart_png_clear(&png);
		}
		qsort(ic, 20, sizeof(*ic), cmp);
		printf("  for comparison, drawn in this process (chart_draw, fonts and glyphs cached): "
		       "CPU p50 %.1f ms per chart\n", ic[10]);
	}
	if (argc > 2) {
		/* the README's example: 30 days with gaps, two entries on some days */
		static const char *const ex_words[] = { "tired", "hopeful", "calm" };
		static const int score[30] = { 5, 4, 0, 6, 6, 0, 0, 3, 4, 5, 7, 0, 6, 7, 8, 0, 0, 7, 6,
					       5, 4, 0, 5, 6, 7, 7, 0, 8, 7, 8 };
		struct chart_entry ex[60];
		size_t n = 0;
		for (int d = 0; d < 30; d++) {
			if (!score[d])
				continue;
			ex[n].ts = now - (time_t)(29 - d) * 86400 - 3600;
			ex[n++].score = score[d];
			if (d % 4 == 1) {
				ex[n].ts = now - (time_t)(29 - d) * 86400 - 8 * 3600;
				ex[n++].score = score[d] + 2 > 10 ? 10 : score[d] + 2;
			}
		}
		struct chart_in exin = { ex, n, z, now, 30, ex_words, 3, NULL, NULL, NULL, NULL, NULL };
		FILE *f;
		if (chart_draw(&exin, &png) != HE_OK || !(f = fopen(argv[2], "wb")))
			return 1;
		fwrite(png.data, 1, png.len, f);
		fclose(f);
		chart_png_clear(&png);
		printf("  example written to %s\n", argv[2]);
	}
	free(ballast);
	free(e);
	free(t);
	free(c);
	chart_library_free();
	return 0;
}
