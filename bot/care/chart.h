/* chart.h - a member's mood chart as a PNG, drawn with cairo into memory (chart.c).
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
};

struct chart_png {
	unsigned char *data;           /* malloc'd PNG bytes */
	size_t len;
	int width, height;
};

/* Draws the chart. HE_INVAL for days out of range or no zone, HE_NOMEM, HE_IO when cairo
 * fails. out is cleared first; release it with chart_png_clear. */
int chart_draw(const struct chart_in *in, struct chart_png *out);
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
