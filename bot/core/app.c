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

/* Fencing (issue 13): a network section runs here only while this process holds its lease
 * (store/lease.h, core/standby.h). The care layer never sees leases: what it does unprompted
 * goes through happ_transport() (posts: scheduled check-ins, mood reminders), what members ask
 * through happ_dispatch()/happ_room_event(), and its one "sent" mark through happ_fenced_*().
 * Each of them refuses while the lease is not valid here. No lease registered for the network
 * (the console, tools, tests without one): always active. */
static bool section_active(struct happ *app, const char *network, const char *what)
{
	struct lease *l = network && app->store ? lease_find_store(app->store, network) : NULL;

	if (!l || lease_valid(l))
		return true;
	/* a process that was frozen (SIGSTOP, a cut-off machine) past its lease acts on nothing
	 * on waking: another Hearth is active for this section now. For a standby (never held)
	 * this only notes it; a held lease is lost and the process restarts as a standby. */
	lease_mark_lost(l, what);
	return false;
}

bool happ_network_active(struct happ *app, const char *network)
{
	return section_active(app, network, "it was used after its time ran out");
}

int happ_fenced_begin(struct happ *app, const char *network, bool *own)
{
	*own = false;
	if (!network || !app->store)
		return HE_INVAL;
	return lease_open(app->store, network, own);
}

int happ_fenced_end(struct happ *app, bool own, int rc)
{
	return lease_end(app->store, own, rc);
}

struct htransport *happ_transport(struct happ *app, const char *network)
{
	if (!section_active(app, network, "a post was refused: its time ran out"))
		return NULL;
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
	 * waking, and so writes nothing a message would (mood entries, consent, settings). */
	if (!section_active(app, m->network, "a message arrived after its time ran out"))
		return HE_PERM;
	metrics_dispatch_begin();
	int rc = app->on_message(app, m);
	metrics_dispatch_end();
	return rc;
}

bool happ_wants_answer(struct happ *app, const char *text)
{
	if (!text)
		return false;
	if (app->wants_answer)
		return app->wants_answer(app, text);
	return app->cfg && app->cfg->prefix && *app->cfg->prefix &&
	       strncmp(text, app->cfg->prefix, strlen(app->cfg->prefix)) == 0;
}

int happ_room_event(struct happ *app, const struct hevent *ev)
{
	if (!app->on_room_event)
		return HE_OK;
	/* the same for a join (its welcome) and a one-tap answer (a mood entry) */
	if (!section_active(app, ev->network, "an event arrived after its time ran out"))
		return HE_PERM;
	return app->on_room_event(app, ev);
}

int happ_reload(struct happ *app)
{
	return app->on_reload ? app->on_reload(app) : HE_OK;
}
