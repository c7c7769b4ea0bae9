/* chart.c - a member's mood chart as a PNG (see chart.h). cairo draws, libpng encodes (at the
 * fastest compression, unfiltered rows: cairo's own PNG writer takes several times longer
 * than the drawing); the font is DejaVu Sans (Debian fonts-dejavu-core, shipped in the image),
 * opened from its file with FreeType: going through fontconfig (cairo's "toy" font API) loads
 * the whole font configuration and its caches, +5 MB of RSS at the first chart (issue 11). Only
 * when the file is missing does the toy API (fontconfig) find the family by name. */
#include "care/chart.h"
#include "core/err.h"

#include <cairo-ft.h>
#include <cairo.h>
#include <pixman.h>
#include <fontconfig/fontconfig.h>
#include <ft2build.h>
#include FT_FREETYPE_H
#include <limits.h>
#include <png.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define FONT "DejaVu Sans"
#ifndef CHART_FONT_DIR
#define CHART_FONT_DIR "/usr/share/fonts/truetype/dejavu"
#endif

/* The two faces, opened at the first chart and kept until chart_library_free. */
static struct {
	FT_Library ft;
	cairo_font_face_t *face[2]; /* normal, bold */
	bool tried;
	bool via_file;
} fonts;

static const cairo_user_data_key_t ft_face_key;

static void ft_face_done(void *face)
{
	FT_Done_Face(face);
}

/* One face from its file; NULL when it cannot be opened. cairo owns the FT_Face from here on
 * (FT_Done_Face when its font face is finally released). */
static cairo_font_face_t *face_from_file(const char *file)
{
	FT_Face f = NULL;
	cairo_font_face_t *cf;

	if (FT_New_Face(fonts.ft, file, 0, &f) != 0)
		return NULL;
	cf = cairo_ft_font_face_create_for_ft_face(f, 0);
	if (cairo_font_face_status(cf) != CAIRO_STATUS_SUCCESS ||
	    cairo_font_face_set_user_data(cf, &ft_face_key, f, ft_face_done) != CAIRO_STATUS_SUCCESS) {
		cairo_font_face_destroy(cf);
		FT_Done_Face(f);
		return NULL;
	}
	return cf;
}

static void fonts_load(void)
{
	if (fonts.tried)
		return;
	fonts.tried = true;
	if (FT_Init_FreeType(&fonts.ft) != 0) {
		fonts.ft = NULL;
		return;
	}
	fonts.face[0] = face_from_file(CHART_FONT_DIR "/DejaVuSans.ttf");
	fonts.face[1] = face_from_file(CHART_FONT_DIR "/DejaVuSans-Bold.ttf");
	fonts.via_file = fonts.face[0] && fonts.face[1];
}

/* DejaVu Sans, bold or not: from the file when it opened, else by name through fontconfig. */
static void set_font(cairo_t *cr, bool bold)
{
	if (fonts.via_file)
		cairo_set_font_face(cr, fonts.face[bold]);
	else
		cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
				       bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
}

bool chart_font_from_file(void)
{
	fonts_load();
	return fonts.via_file;
}

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
				      "Oct", "Nov", "Dec" };

double chart_x(int days, int d)
{
	if (days <= 1)
		return (CHART_LEFT + CHART_RIGHT) / 2.0;
	/* half a step of margin at each end so that the first and last dots are whole */
	double step = (double)(CHART_RIGHT - CHART_LEFT) / days;
	return CHART_LEFT + step / 2 + step * d;
}

double chart_y(double score)
{
	return CHART_BOTTOM - (score - 1.0) / 9.0 * (CHART_BOTTOM - CHART_TOP);
}

static void rgb(cairo_t *cr, unsigned c)
{
	cairo_set_source_rgb(cr, (c >> 16 & 255) / 255.0, (c >> 8 & 255) / 255.0, (c & 255) / 255.0);
}

static long local_day(const struct tz *z, time_t t)
{
	struct tm tm;

	if (tz_local(z, t, &tm) != HE_OK)
		return LONG_MIN;
	return (long)tz_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

struct sink {
	unsigned char *data;
	size_t len, cap;
	bool oom;
};

static void sink_write(png_structp p, png_bytep data, size_t len)
{
	struct sink *s = png_get_io_ptr(p);

	if (s->oom)
		return;
	if (s->len + len > s->cap) {
		size_t nc = s->cap ? s->cap : 32768;
		while (nc < s->len + len)
			nc *= 2;
		unsigned char *nd = realloc(s->data, nc);
		if (!nd) {
			s->oom = true;
			return;
		}
		s->data = nd;
		s->cap = nc;
	}
	memcpy(s->data + s->len, data, len);
	s->len += len;
}

static void sink_flush(png_structp p)
{
}

/* One row of the surface (CAIRO_FORMAT_RGB24: a native-endian 0x00RRGGBB word a pixel) as
 * the PNG's R, G, B bytes. On a little-endian machine four pixels at a time as three words
 * (the byte loop below was 6% of a chart). */
static void row_rgb(unsigned char *out, const uint32_t *src, int w)
{
	int x = 0;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	for (; x + 4 <= w; x += 4, out += 12) {
		/* q = 0x00BBGGRR: its bytes in memory are R, G, B, 0 */
		uint32_t q0 = __builtin_bswap32(src[x]) >> 8, q1 = __builtin_bswap32(src[x + 1]) >> 8;
		uint32_t q2 = __builtin_bswap32(src[x + 2]) >> 8, q3 = __builtin_bswap32(src[x + 3]) >> 8;
		uint32_t w3[3] = { q0 | q1 << 24, q1 >> 8 | q2 << 16, q2 >> 16 | q3 << 8 };
		memcpy(out, w3, 12);
	}
#endif
	for (; x < w; x++, out += 3) {
		out[0] = (unsigned char)(src[x] >> 16);
		out[1] = (unsigned char)(src[x] >> 8);
		out[2] = (unsigned char)src[x];
	}
}

/* The surface (CAIRO_FORMAT_RGB24) as an 8-bit RGB PNG into sk. Deflate at its fastest level
 * with a smaller hash (memLevel 5) and no row filter: measured on the 365-day chart (notes
 * chart3), this is 30% fewer instructions than the SUB filter at the default memLevel and a
 * smaller file (a flat background compresses as well unfiltered: a run of one pixel is a
 * match at distance 3). */
static int encode_png(cairo_surface_t *sf, struct sink *sk)
{
	png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = p ? png_create_info_struct(p) : NULL;
	const unsigned char *px = cairo_image_surface_get_data(sf);
	int stride = cairo_image_surface_get_stride(sf);
	unsigned char *volatile row = NULL;
	volatile int rc = HE_NOMEM;

	if (!p || !info || !px || !(row = malloc(CHART_W * 3)))
		goto out;
	if (setjmp(png_jmpbuf(p))) {
		rc = sk->oom ? HE_NOMEM : HE_IO;
		goto out;
	}
	png_set_write_fn(p, sk, sink_write, sink_flush);
	png_set_IHDR(p, info, CHART_W, CHART_H, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_set_compression_level(p, 1);
	png_set_compression_mem_level(p, 5);
	png_set_filter(p, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
	png_write_info(p, info);
	for (int y = 0; y < CHART_H; y++) {
		row_rgb(row, (const uint32_t *)(px + (size_t)y * (size_t)stride), CHART_W);
		png_write_row(p, row);
	}
	png_write_end(p, info);
	rc = sk->oom ? HE_NOMEM : HE_OK;
out:
	png_destroy_write_struct(p ? &p : NULL, info ? &info : NULL);
	free(row);
	return rc;
}

/* One dot, drawn once and stamped at every entry: a thousand arcs filled one by one take ten
 * times longer. Centred on the corner between its pixels r+1 and r+2. */
static cairo_surface_t *dot_sprite(double r)
{
	int size = 2 * (int)r + 2;
	cairo_surface_t *d = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, size, size);
	cairo_t *c = cairo_create(d);

	rgb(c, CHART_DOT);
	cairo_arc(c, size / 2.0, size / 2.0, r, 0, 6.283185307179586);
	cairo_fill(c);
	cairo_destroy(c);
	return d;
}

static void text_at(cairo_t *cr, double x, double y, const char *s, double align)
{
	cairo_text_extents_t e;

	cairo_text_extents(cr, s, &e);
	cairo_move_to(cr, x - e.x_advance * align, y);
	cairo_show_text(cr, s);
}

static void draw_frame(cairo_t *cr, const struct chart_in *in, long first)
{
	const char *const *mon = in->months ? in->months : months;
	char label[160];

	rgb(cr, CHART_BG);
	cairo_paint(cr);
	set_font(cr, true);
	cairo_set_font_size(cr, 20);
	rgb(cr, 0x33403f);
	if (in->title)
		snprintf(label, sizeof(label), "%s", in->title);
	else
		snprintf(label, sizeof(label), "Your mood, last %d day%s", in->days, in->days == 1 ? "" : "s");
	text_at(cr, CHART_LEFT, 32, label, 0);

	/* the scale: a faint line at every even score, its number on the left */
	set_font(cr, false);
	cairo_set_font_size(cr, 14);
	cairo_set_line_width(cr, 1);
	for (int s = 2; s <= 10; s += 2) {
		double y = chart_y(s);
		rgb(cr, 0xe2ddd2);
		cairo_move_to(cr, CHART_LEFT, y + 0.5);
		cairo_line_to(cr, CHART_RIGHT, y + 0.5);
		cairo_stroke(cr);
		rgb(cr, 0x6b7271);
		snprintf(label, sizeof(label), "%d", s);
		text_at(cr, CHART_LEFT - 10, y + 5, label, 1);
	}
	rgb(cr, 0xb9b2a3);
	cairo_move_to(cr, CHART_LEFT, CHART_BOTTOM + 10.5);
	cairo_line_to(cr, CHART_RIGHT, CHART_BOTTOM + 10.5);
	cairo_stroke(cr);

	/* dates in the member's zone: up to six, evenly spread, the first and the last included */
	int marks = in->days < 6 ? in->days : 6, prev = -1;
	rgb(cr, 0x6b7271);
	for (int i = 0; i < marks; i++) {
		int d = marks == 1 ? 0 : (int)((long)i * (in->days - 1) / (marks - 1));
		int64_t y;
		int m, md;
		if (d == prev)
			continue;
		prev = d;
		tz_civil_from_days(first + d, &y, &m, &md);
		/* day_month is a checked phrase: its slots are exactly %d %s (care/phrase.h) */
		snprintf(label, sizeof(label), in->day_month ? in->day_month : "%d %s", md, mon[(m - 1) % 12]);
		text_at(cr, chart_x(in->days, d), CHART_BOTTOM + 32, label,
			marks == 1 ? 0.5 : i == 0 ? 0 : i == marks - 1 ? 1 : 0.5);
	}
}

static void draw_words(cairo_t *cr, const struct chart_in *in)
{
	char line[320];
	size_t n = 0;

	if (!in->words || !in->nwords)
		snprintf(line, sizeof(line), "%s",
			 in->no_words ? in->no_words : "No emotion words in these days (add #words to an entry).");
	else {
		n = (size_t)snprintf(line, sizeof(line), "%s ", in->words_most ? in->words_most : "Words you used most:");
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		for (size_t i = 0; i < in->nwords && i < CHART_WORDS_MAX && n < sizeof(line); i++)
			n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", i ? ", " : "", in->words[i]);
	}
	cairo_set_font_size(cr, 17);
	rgb(cr, 0x33403f);
	text_at(cr, CHART_LEFT, CHART_H - 40, line, 0);
}

/* The surface's pixels (1.7 MB): a fresh mapping for every chart, and in the daemon's drawing
 * child every page of it is new. 422 pages one fault each cost 2.5-2.9 ms a chart here, made
 * present in one call 1.4-1.8 ms: most of it the kernel's work per page. So the mapping is one
 * transparent huge page where the system allows it (aligned to 2 MB, MADV_HUGEPAGE: 0.1-0.2
 * ms; notes chart3), made present at once (MADV_POPULATE_WRITE, Linux 5.14); where neither
 * works the pages come one fault each as before. *map is the length to munmap. */
#define HUGE_PAGE (2u << 20)
static unsigned char *pixels_map(size_t len, size_t *map)
{
	size_t full = (len + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
	unsigned char *m = mmap(NULL, full + HUGE_PAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *p;

	if (m == MAP_FAILED)
		return m;
	/* the 2 MB-aligned part, the rest given back */
	p = (unsigned char *)(((uintptr_t)m + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
	if (p > m)
		munmap(m, (size_t)(p - m));
	if (m + full + HUGE_PAGE > p + full)
		munmap(p + full, (size_t)(m + full + HUGE_PAGE - (p + full)));
	*map = full;
#ifdef MADV_HUGEPAGE
	madvise(p, full, MADV_HUGEPAGE);
#endif
#ifdef MADV_POPULATE_WRITE
	madvise(p, full, MADV_POPULATE_WRITE);
#endif
	return p;
}

int chart_draw(const struct chart_in *in, struct chart_png *out)
{
	cairo_surface_t *sf = NULL, *dot = NULL;
	pixman_image_t *pdst = NULL, *pdot = NULL;
	cairo_t *cr = NULL;
	int stride = cairo_format_stride_for_width(CAIRO_FORMAT_RGB24, CHART_W);
	size_t px_len = (size_t)stride * CHART_H, px_map = 0;
	unsigned char *px = MAP_FAILED;
	long *day = NULL;
	struct sink sk = { 0 };
	double *sum = NULL;
	int *cnt = NULL, rc = HE_OK, ds;
	long today, first;
	double r;

	memset(out, 0, sizeof(*out));
	if (!in || !in->zone || in->days < 1 || in->days > CHART_DAYS_MAX || (in->n && !in->entries))
		return HE_INVAL;
	today = local_day(in->zone, in->now);
	if (today == LONG_MIN)
		return HE_INVAL;
	first = today - (in->days - 1);
	sum = calloc((size_t)in->days, sizeof(*sum));
	cnt = calloc((size_t)in->days, sizeof(*cnt));
	day = malloc((in->n ? in->n : 1) * sizeof(*day));
	if (!sum || !cnt || !day) {
		rc = HE_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < in->n; i++) {
		long d = day[i] = local_day(in->zone, in->entries[i].ts) - first;
		int s = in->entries[i].score;
		if (d < 0 || d >= in->days || s < 1 || s > 10)
			continue;
		sum[d] += s;
		cnt[d]++;
	}

	fonts_load();
	/* the pixels in a mapping of their own, returned to the system when the chart is done: from
	 * malloc they would stay in the heap after the first chart (glibc raises its mmap
	 * threshold to a freed mapping's size), +1.3 MB for the life of the process */
	px = pixels_map(px_len, &px_map);
	if (stride <= 0 || px == MAP_FAILED) {
		rc = HE_NOMEM;
		goto out;
	}
	sf = cairo_image_surface_create_for_data(px, CAIRO_FORMAT_RGB24, CHART_W, CHART_H, stride);
	cr = cairo_create(sf);
	if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
		rc = cairo_status(cr) == CAIRO_STATUS_NO_MEMORY ? HE_NOMEM : HE_IO;
		goto out;
	}
	if (fonts.via_file) {
		/* what Debian's fontconfig defaults gave the toy API: grey antialiasing, slight
		 * hinting, so the chart looks as it did */
		cairo_font_options_t *fo = cairo_font_options_create();
		cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
		cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_SLIGHT);
		cairo_set_font_options(cr, fo);
		cairo_font_options_destroy(fo);
	}
	draw_frame(cr, in, first);

	/* the daily averages, joined only between neighbouring days: a day without an entry is a gap */
	rgb(cr, CHART_LINE);
	cairo_set_line_width(cr, in->days > 120 ? 2 : 3);
	cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
	if (in->days > 120) {
		/* a year's thin line, a joint every 2.2 pixels: bevelled joints and 4x4 rather than
		 * 256x15 antialiasing samples look the same on it and take 40% less (a third of
		 * this chart's drawing was this stroke: notes chart3) */
		cairo_set_line_join(cr, CAIRO_LINE_JOIN_BEVEL);
		cairo_set_antialias(cr, CAIRO_ANTIALIAS_FAST);
	}
	for (int d = 0; d < in->days; d++) {
		if (!cnt[d])
			continue;
		double y = chart_y(sum[d] / cnt[d]);
		if (d > 0 && cnt[d - 1])
			cairo_line_to(cr, chart_x(in->days, d), y);
		else
			cairo_move_to(cr, chart_x(in->days, d), y);
	}
	cairo_stroke(cr);
	cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);

	/* every entry as a dot on its day: the sprite composited straight with pixman (what cairo
	 * does for a paint of a surface at a whole-pixel offset, same bytes) without cairo's
	 * per-call work (its state, pattern, clip and compositor choice: 5 M instructions for a
	 * year's 1,095 dots, at most 1.6 M this way; notes chart3) */
	r = in->days > 120 ? 3 : 5;
	dot = dot_sprite(r);
	cairo_surface_flush(sf);
	cairo_surface_flush(dot);
	ds = cairo_image_surface_get_width(dot);
	pdst = pixman_image_create_bits(PIXMAN_x8r8g8b8, CHART_W, CHART_H, (uint32_t *)px, stride);
	pdot = pixman_image_create_bits(PIXMAN_a8r8g8b8, ds, ds, (uint32_t *)cairo_image_surface_get_data(dot),
					cairo_image_surface_get_stride(dot));
	if (!pdst || !pdot || cairo_surface_status(dot) != CAIRO_STATUS_SUCCESS) {
		rc = HE_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < in->n; i++) {
		long d = day[i];
		int s = in->entries[i].score;
		if (d < 0 || d >= in->days || s < 1 || s > 10)
			continue;
		/* the dot's centre on the pixel corner nearest (x, y): that pixel is fully inside */
		pixman_image_composite32(PIXMAN_OP_OVER, pdot, NULL, pdst, 0, 0, 0, 0,
					 (int)(chart_x(in->days, (int)d) + 0.5) - (int)r - 1,
					 (int)(chart_y(s) + 0.5) - (int)r - 1, ds, ds);
	}
	cairo_surface_mark_dirty(sf);

	draw_words(cr, in);
	cairo_surface_flush(sf);
	if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
		rc = HE_IO;
		goto out;
	}
	if ((rc = encode_png(sf, &sk)) != HE_OK)
		goto out;
	out->data = sk.data;
	out->len = sk.len;
	out->width = CHART_W;
	out->height = CHART_H;
	sk.data = NULL;
out:
	cairo_destroy(cr);
	cairo_surface_destroy(sf);
	if (px != MAP_FAILED)
		munmap(px, px_map);
	if (pdot)
		pixman_image_unref(pdot);
	if (pdst)
		pixman_image_unref(pdst);
	cairo_surface_destroy(dot);
	free(day);
	free(sk.data);
	free(sum);
	free(cnt);
	return rc;
}

void chart_library_free(void)
{
	for (int i = 0; i < 2; i++) {
		cairo_font_face_destroy(fonts.face[i]);
		fonts.face[i] = NULL;
	}
	/* cairo's caches hold the last references: the FT_Faces are done when they go */
	cairo_debug_reset_static_data();
	if (fonts.ft)
		FT_Done_FreeType(fonts.ft);
	fonts.ft = NULL;
	FcFini(); /* a no-op unless the fallback initialised fontconfig */
	fonts.tried = fonts.via_file = false;
}

void chart_png_clear(struct chart_png *p)
{
	if (!p)
		return;
	free(p->data);
	memset(p, 0, sizeof(*p));
}
