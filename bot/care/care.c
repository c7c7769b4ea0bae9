/* care.c - sets up the support features and loads content. */
#include "care/care.h"
#include "care/checkin.h"
#include "care/content.h"
#include "care/cron.h"
#include "care/crisis.h"
#include "care/mood.h"
#include "care/sched.h"
#include "care/rooms.h"
#include "care/limit.h"
#include "care/welcome.h"
#include "care/router.h"
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

/* Room events: joins are welcomed (welcome.c), one-tap check-in answers go to the mood log. */
static int care_room_event(struct happ *app, const struct hevent *ev)
{
	if (ev->kind == HEV_SCALE_ANSWER || ev->kind == HEV_SCALE_WITHDRAWN)
		return mood_log_reaction(app, ev);
	return welcome_event(app, ev);
}

int care_init(struct happ *app)
{
	int rc;

	app->care = calloc(1, sizeof(*app->care));
	if (!app->care)
		return HE_NOMEM;
	app->on_message = router_dispatch;
	app->on_reload = care_load_content;
	app->on_room_event = care_room_event;
	app->wants_answer = router_wants_answer;
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
	app->on_message = NULL;
	app->on_reload = NULL;
	app->on_room_event = NULL;
	app->wants_answer = NULL;
}

