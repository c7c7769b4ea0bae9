/* care.c - sets up the support features and loads content. */
#include "care/care.h"
#include "care/checkin.h"
#include "care/commands.h"
#include "care/content.h"
#include "care/cron.h"
#include "care/crisis.h"
#include "care/mood.h"
#include "care/sched.h"
#include "care/rooms.h"
#include "care/limit.h"
#include "care/welcome.h"
#include "core/err.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int care_load_content(struct happ *app)
{
	struct content *c = NULL;
	char err[512];
	int rc = content_load(app->cfg->content_dir, app->cfg->language, &c, err, sizeof(err));

	if (rc) {
		hlog_error("content", "%s", err);
		return rc;
	}
	content_free(app->content);
	app->content = c;
	hlog_info("content", "loaded %zu topics, %zu check-in prompts, %zu crisis resource lists from %s",
		  c->ntopics, c->nprompts, c->ncountries, c->dir);
	return HE_OK;
}

long care_daykey(const struct happ *app, time_t t)
{
	struct care *care = app->care;
	int minute, wday;
	long day;
	struct tm tm;

	if (care && care->day_quarter == t / 900 && strcmp(care->day_tz, app->cfg->timezone) == 0)
		return care->day_key;
	if (cron_local(app->cfg->timezone, t, &minute, &wday, &day) == 0) {
		if (care) {
			care->day_quarter = t / 900;
			care->day_key = day;
			snprintf(care->day_tz, sizeof(care->day_tz), "%s", app->cfg->timezone);
		}
		return day;
	}
	gmtime_r(&t, &tm);
	return (long)(tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

int care_init(struct happ *app)
{
	int rc;

	app->care = calloc(1, sizeof(*app->care));
	if (!app->care)
		return HE_NOMEM;
	if ((rc = rooms_init(app)) || (rc = checkin_init(app)) || (rc = mood_init(app)) ||
	    (rc = crisis_init(app)) || (rc = sched_init(app)) || (rc = welcome_init(app)) ||
	    (rc = limit_init(app)))
		return rc;
	return HE_OK;
}

void care_free(struct happ *app)
{
	if (!app || !app->care)
		return;
	limit_free(app);
	welcome_free(app);
	sched_free(app);
	crisis_free(app);
	mood_free(app);
	free(app->care);
	app->care = NULL;
}

int care_before_command(struct hctx *ctx)
{
	return crisis_scan(ctx);
}

int happ_reload(struct happ *app)
{
	return care_load_content(app);
}
