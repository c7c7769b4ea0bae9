/* mood_chart.c - `!mood chart [days]`: a member's own mood as a picture (care/chart.c draws
 * it), shown privately. Networks with images get the PNG with a description in words for
 * screen readers; a network that only carries files gets the file (the console saves it beside
 * exports); a network with neither gets the text sparkline and a line saying where charts show.
 * Nothing is drawn for a member without a mood log. */
#include "care/lang.h"
#include "care/chart.h"
#include "care/mood.h"
#include "care/mood_store.h"
#include "care/mood_views.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/text.h"
#include "core/tz.h"
#include "store/db.h"
#include "store/store.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHART_DEFAULT_DAYS 30
#define WORDS_SEEN_MAX 256         /* distinct words counted for "most used" */

static const char *const sparks[] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
#define PP(key) hctx_phrase(ctx, HDEST_PRIVATE, (key))

struct word {
	char *w;
	int n;
};

struct gathered {
	struct chart_entry *e;
	size_t n, cap;
	struct word words[WORDS_SEEN_MAX];
	size_t nwords;
};

static void gathered_clear(struct gathered *g)
{
	free(g->e);
	for (size_t i = 0; i < g->nwords; i++)
		free(g->words[i].w);
	memset(g, 0, sizeof(*g));
}

static int count_word(struct gathered *g, const char *w)
{
	for (size_t i = 0; i < g->nwords; i++)
		if (strcmp(g->words[i].w, w) == 0) {
			g->words[i].n++;
			return HE_OK;
		}
	if (g->nwords == WORDS_SEEN_MAX)
		return HE_OK;
	if (!(g->words[g->nwords].w = text_dup(w)))
		return HE_NOMEM;
	g->words[g->nwords++].n = 1;
	return HE_OK;
}

static int by_count(const void *a, const void *b)
{
	const struct word *x = a, *y = b;

	return x->n != y->n ? y->n - x->n : strcmp(x->w, y->w);
}

/* The member's entries since start, and how often each emotion word was used. */
static int gather(struct happ *app, const char *network, const char *member, time_t start,
		  struct gathered *g)
{
	struct db_stmt *st = db_stmtf(store_sql(app->store), "SELECT id, ts, score, nonce, box FROM mood_entry"
					" WHERE network = ? AND member = ? AND ts >= ? ORDER BY ts",
				       "ssi", network, member, (int64_t)start);
	int rc = HE_OK;

	if (!st)
		return HE_DB;
	while (rc == HE_OK && db_step(st) == DB_ROW) {
		char *plain = NULL;
		size_t plen = 0;
		if (g->n == g->cap) {
			size_t nc = g->cap ? g->cap * 2 : 64;
			struct chart_entry *ne = realloc(g->e, nc * sizeof(*ne));
			if (!ne) {
				rc = HE_NOMEM;
				break;
			}
			g->e = ne;
			g->cap = nc;
		}
		g->e[g->n].ts = (time_t)db_col_int64(st, 1);
		g->e[g->n++].score = db_col_int(st, 2);
		if (mstore_open_box(app, st, 3, 4, network, member, db_col_int64(st, 0), &plain,
				    &plen) == HE_OK && plain) {
			/* "note\0tag\0tag": the tags are the emotion words */
			for (const char *t = plain + strlen(plain) + 1; rc == HE_OK && t < plain + plen;
			     t += strlen(t) + 1)
				rc = count_word(g, t);
			sodium_memzero(plain, plen);
		}
		free(plain);
	}
	db_reset(st);
	return rc;
}

/* One mark per day (per week beyond 62 days), oldest first, "·" for none. */
static void put_sparkline(struct hbuf *b, const struct chart_in *in, long first)
{
	int step = in->days <= 62 ? 1 : 7;

	for (int d = 0; d < in->days; d += step) {
		double sum = 0;
		int n = 0;
		for (size_t i = 0; i < in->n; i++) {
			struct tm tm;
			long day;
			if (tz_local(in->zone, in->entries[i].ts, &tm) != HE_OK)
				continue;
			day = (long)tz_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday) - first;
			if (day >= d && day < d + step && day < in->days) {
				sum += in->entries[i].score;
				n++;
			}
		}
		if (!n) {
			hbuf_puts(b, "·");
			continue;
		}
		int lvl = (int)((sum / n - 1.0) / 9.0 * 7.0 + 0.5);
		hbuf_puts(b, sparks[lvl < 0 ? 0 : lvl > 7 ? 7 : lvl]);
	}
}

/* The chart in words, for screen readers and as the image's caption. */
static void put_description(struct hctx *ctx, struct hbuf *b, const struct chart_in *in, long first,
			    long today)
{
	int64_t y;
	int m1, d1, m2, d2;
	double sum = 0;
	int lo = 11, hi = 0;
	size_t n = 0;

	tz_civil_from_days(first, &y, &m1, &d1);
	tz_civil_from_days(today, &y, &m2, &d2);
	for (size_t i = 0; i < in->n; i++) {
		struct tm tm;
		long day;
		if (tz_local(in->zone, in->entries[i].ts, &tm) != HE_OK)
			continue;
		day = (long)tz_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
		if (day < first || day > today)
			continue;
		sum += in->entries[i].score;
		lo = in->entries[i].score < lo ? in->entries[i].score : lo;
		hi = in->entries[i].score > hi ? in->entries[i].score : hi;
		n++;
	}
	hbuf_printf(b, PP("chart.desc_range"), d1, in->months[(m1 - 1) % 12], d2, in->months[(m2 - 1) % 12]);
	hbuf_putc(b, ' ');
	if (!n)
		hbuf_puts(b, PP("chart.desc_none"));
	else
		hbuf_printf(b, PP(n == 1 ? "chart.desc_stats_one" : "chart.desc_stats"), n, sum / (double)n, lo, hi);
	if (in->nwords) {
		hbuf_printf(b, " %s ", PP("chart.desc_words"));
		for (size_t i = 0; i < in->nwords; i++)
			hbuf_printf(b, "%s%s", i ? ", " : "", in->words[i]);
		hbuf_putc(b, '.');
	}
}

int mood_chart(struct hctx *ctx, const char *rest)
{
	struct happ *app = ctx->app;
	const struct hmsg *m = ctx->msg;
	struct gathered g = { 0 };
	struct chart_png png = { 0 };
	struct hbuf alt = HBUF_INIT, b = HBUF_INIT;
	const struct tz *zone = NULL;
	const char *words[CHART_WORDS_MAX], *months[12];
	char err[160], tz[72], name[64], title[160];
	int days = CHART_DEFAULT_DAYS, rc;
	long today, first;
	struct tm tm;

	if (*rest && mood_parse_days(ctx->app->content, hctx_lang(ctx, HDEST_PRIVATE), rest, &days, err, sizeof(err)))
		return mood_say(ctx, err);
	if (mstore_count(app, m->network, m->sender) <= 0) {
		/* nothing drawn for a member without a log */
		if (mstore_consent_get(app, m->network, m->sender, NULL, NULL) == HE_OK)
			return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.mood_log_empty_so_2"));
		return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.dont_have_mood_log"));
	}
	if (!mstore_reminder_get(app, m->network, m->sender, NULL, tz, sizeof(tz)) || !*tz)
		snprintf(tz, sizeof(tz), "%s", app->cfg->timezone ? app->cfg->timezone : "UTC");
	if (tz_load(tz, &zone) != HE_OK && (rc = tz_load(NULL, &zone)) != HE_OK)
		return rc;
	if (tz_local(zone, happ_now(app), &tm) != HE_OK)
		return HE_INVAL;
	today = (long)tz_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	first = today - (days - 1);
	/* a day before the first local day is enough: the chart drops what is outside its days */
	rc = gather(app, m->network, m->sender, happ_now(app) - (time_t)(days + 1) * 86400, &g);
	if (rc)
		goto out;
	qsort(g.words, g.nwords, sizeof(g.words[0]), by_count);
	for (int i = 0; i < 12; i++)
		months[i] = mood_month_name(app->content, hctx_lang(ctx, HDEST_PRIVATE), i + 1);
	snprintf(title, sizeof(title), PP(days == 1 ? "chart.title_one" : "chart.title"), days);
	struct chart_in in = { g.e, g.n, zone, happ_now(app), days, words, 0, title, PP("chart.words_most"),
			       PP("chart.no_words"), PP("date.day_month"), months };
	for (; in.nwords < g.nwords && in.nwords < CHART_WORDS_MAX; in.nwords++)
		words[in.nwords] = g.words[in.nwords].w;
	put_description(ctx, &alt, &in, first, today);
	if (alt.oom) {
		rc = HE_NOMEM;
		goto out;
	}

	if (!reply_can_send_image(ctx)) {
		hbuf_printf(&b, "**%s**\n\n`", title);
		put_sparkline(&b, &in, first);
		hbuf_printf(&b, "` %s\n\n%s\n\n%s", PP(days <= 62 ? "chart.text_per_day" : "chart.text_per_week"),
			    hbuf_str(&alt), PP("chart.text_where"));
		rc = b.oom ? HE_NOMEM : mood_say(ctx, hbuf_str(&b));
		goto out;
	}
	if ((rc = chart_draw_isolated(&in, &png)) != HE_OK) {
		hlog_warn("mood", "a mood chart could not be drawn (%s)", he_str(rc));
		goto out;
	}
	snprintf(name, sizeof(name), "hearth-mood-chart-%04ld-%02ld-%02ld.png",
		 (long)tm.tm_year + 1900, (long)tm.tm_mon + 1, (long)tm.tm_mday);
	struct himage img = { { name, "image/png", (const char *)png.data, png.len }, png.width,
			      png.height, hbuf_str(&alt) };
	if ((rc = reply_send_image(ctx, &img, "a mood chart")) != HE_OK)
		goto out;
	rc = hctx_replyf(ctx, HDEST_PRIVATE, hctx_phrase(ctx, HDEST_PRIVATE, "mood.thats_mood_over_last"),
			 days, days == 1 ? "" : "s");
out:
	if (rc == HE_DB || rc == HE_IO || rc == HE_AGAIN || rc == HE_TOOBIG || rc == HE_INVAL)
		rc = mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.sorry_couldnt_draw_chart"));
	if (alt.data)
		sodium_memzero(alt.data, alt.len);
	if (b.data)
		sodium_memzero(b.data, b.len);
	hbuf_free(&alt);
	hbuf_free(&b);
	chart_png_clear(&png);
	gathered_clear(&g);
	return rc;
}
