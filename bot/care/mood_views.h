/* mood_views.h - the mood log's views (mood_views.c), for mood.c. Internal to bot/care/mood*.c;
 * everyone else uses mood.h. Every view answers the member privately. */
#ifndef HEARTH_MOOD_VIEWS_H
#define HEARTH_MOOD_VIEWS_H

#include "care/reply.h"
#include "core/buf.h"

/* Every mood reply goes to the member privately. */
static inline int mood_say(struct hctx *ctx, const char *md)
{
	return hctx_reply(ctx, HDEST_PRIVATE, md);
}

/* A member's text shown as written: no Markdown, links or mentions (text_md_escape), one line. */
void mood_put_escaped(struct hbuf *b, const char *s, const char *not_shown);
/* Month (1-12) and weekday (0 = Sunday) names in lang (phrases date.monN, date.wdN). */
struct content;
const char *mood_month_name(const struct content *c, const char *lang, int mon);
const char *mood_weekday_name(const struct content *c, const char *lang, int wday);

/* `!mood history [days]`: the member's recent days, in their zone (reminder's, else the bot's). */
int mood_history(struct hctx *ctx, const char *rest);
/* `!mood chart [days]`: the member's days as a picture (mood_chart.c; 30 days unless they say). */
int mood_chart(struct hctx *ctx, const char *rest);
/* `!mood export`: everything of the member, as files (or CSV text where files cannot go). */
int mood_export(struct hctx *ctx);

#endif
