/* chart.h - a member's mood chart as a PNG, drawn with cairo into memory (chart.c), in a
 * short-lived child process for the daemon (chart_child.c).
 *
 * A pure function of the entries, the zone and the clock: no database, no network. The image is
 * CHART_W x CHART_H: a line of the daily averages (broken where a day has no entry), every entry
 * as a dot, the scale 1-10 on the left, dates in the member's zone along the bottom and the most
 * used emotion words under the chart. The geometry below is public so that tests can read the
 * PNG back and look at the pixel where a dot or a gap must be. */
#ifndef HEARTH_CHART_H
#define HEARTH_CHART_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/tz.h"

#define CHART_W 900
#define CHART_H 480
#define CHART_LEFT 60              /* plot area, in pixels */
#define CHART_RIGHT 870
#define CHART_TOP 50
#define CHART_BOTTOM 370
#define CHART_DAYS_MAX 365
#define CHART_WORDS_MAX 5

/* Colours (0xRRGGBB): a calm scheme readable on a phone, in light and dark chat themes. */
#define CHART_BG 0xf7f5f0
#define CHART_LINE 0x5b8fa8
#define CHART_DOT 0x2f6178

struct chart_entry {
	time_t ts;
	int score;                     /* 1-10; others are left out */
};

struct chart_in {
	const struct chart_entry *entries;
	size_t n;
	const struct tz *zone;         /* the member's zone: days and dates are local there */
	time_t now;                    /* the last day drawn is now's local day */
	int days;                      /* 1..CHART_DAYS_MAX */
	const char *const *words;      /* most used emotion words, most used first (may be NULL) */
	size_t nwords;
	/* The words on the image, in the member's language (NULL: English). */
	const char *title;             /* "Your mood, last 30 days" */
	const char *words_most;        /* "Words you used most:" */
	const char *no_words;          /* "No emotion words in these days (...)." */
	const char *day_month;         /* "%d %s": day of the month, month name */
	const char *const *months;     /* 12 short month names, January first */
};

struct chart_png {
	unsigned char *data;           /* malloc'd PNG bytes */
	size_t len;
	int width, height;
};

/* Draws the chart in this process. HE_INVAL for days out of range or no zone, HE_NOMEM, HE_IO
 * when cairo fails. out is cleared first; release it with chart_png_clear. The daemon does not
 * call it (it keeps cairo's libraries, fonts and caches in the process: +2.9 MB of RSS after one
 * chart); unit tests that read pixels and the child below do. */
int chart_draw(const struct chart_in *in, struct chart_png *out);

/* The same chart drawn in a short-lived child (chart_child.c): the daemon forks, the child
 * draws with chart_draw from the entries already gathered, writes the PNG to a pipe and leaves
 * with _exit; the parent reads at most CHART_PNG_MAX bytes within CHART_CHILD_TIMEOUT_MS and
 * always reaps the child (no zombie; no SIGCHLD handler is needed or installed). So the
 * drawing libraries' pages and caches never grow the daemon, and a crash inside cairo,
 * FreeType or libpng (a bad font, a library bug) kills only the child: the caller gets an
 * error. The child closes every descriptor but its pipe (store, sockets, lock file), uses no
 * stdio, runs no exit handlers and dies with the daemon. Blocks the caller like chart_draw
 * (a year-long chart 10-15 ms of CPU here; at most the time cap). The PNG's bytes are those of chart_draw.
 * HE_INVAL for bad input (nothing forked), HE_AGAIN when the child took too long (killed) or
 * could not be forked, HE_TOOBIG over the size cap (killed), HE_IO when it died or failed (or
 * left less than a whole PNG), HE_NOMEM. */
#define CHART_PNG_MAX (4u << 20)
#define CHART_CHILD_TIMEOUT_MS 5000
int chart_draw_isolated(const struct chart_in *in, struct chart_png *out);

/* For tests: other caps (0 keeps the default) and a hook run in the child before it draws
 * (to make it crash, hang or write too much). */
struct chart_isolation {
	int timeout_ms;
	size_t max_bytes;
	void (*child_hook)(void);
};
int chart_draw_isolated_with(const struct chart_in *in, struct chart_png *out,
			     const struct chart_isolation *opt);
void chart_png_clear(struct chart_png *p);

/* True when DejaVu Sans is opened from its file (fonts-dejavu-core) without fontconfig; false
 * when the file is missing and fontconfig finds the font by name (the costly path). */
bool chart_font_from_file(void);

/* Frees cairo's and fontconfig's process-wide caches (fonts, glyphs), at exit, when no chart is
 * being drawn: mood_free() calls it, so that a leak checker sees only real leaks. */
void chart_library_free(void);

/* Where day d (0 = the oldest of `days`) and a score are drawn: the centre of a dot. */
double chart_x(int days, int d);
double chart_y(double score);

#endif
