/* app.c - the application struct's small helpers. */
#include "core/app.h"
#include "core/err.h"
#include "core/metrics.h"
#include "core/log.h"
#include "core/loop.h"
#include "store/lease.h"

#include <string.h>

time_t happ_now(const struct happ *app)
{
	return app && app->fake_now ? app->fake_now : time(NULL);
}

void happ_fail(struct happ *app, const char *who, const char *what, int rc)
{
	hlog_error(who, "%s (%s); Hearth stops now so that it can be started again", what, he_str(rc));
	if (!app->exit_code)
		app->exit_code = 1;
	if (app->loop)
		loop_stop(app->loop);
}

int happ_add_transport(struct happ *app, struct htransport *t)
{
	if (app->ntransports >= HAPP_MAX_TRANSPORTS)
		return HE_TOOBIG;
	app->transports[app->ntransports++] = t;
	return HE_OK;
}

struct htransport *happ_transport(struct happ *app, const char *network)
{
	for (size_t i = 0; i < app->ntransports; i++)
		if (strcmp(app->transports[i]->name, network) == 0)
			return app->transports[i];
	return NULL;
}

int happ_dispatch(struct happ *app, const struct hmsg *m)
{
	if (!app->on_message) {
		hlog_error("app", "a message arrived before the features were started");
		return HE_INVAL;
	}
	/* A process that was frozen (SIGSTOP, a cut-off machine) past its lease answers nothing on
	 * waking: another Hearth is active for this section now (store/lease.h). */
	struct lease *l = m->network ? lease_find(m->network) : NULL;
	if (l && !lease_valid(l)) {
		lease_mark_lost(l, "a message arrived after its time ran out");
		return HE_PERM;
	}
	metrics_dispatch_begin();
	int rc = app->on_message(app, m);
	metrics_dispatch_end();
	return rc;
}

int happ_room_event(struct happ *app, const struct hevent *ev)
{
	return app->on_room_event ? app->on_room_event(app, ev) : HE_OK;
}

int happ_reload(struct happ *app)
{
	return app->on_reload ? app->on_reload(app) : HE_OK;
}
