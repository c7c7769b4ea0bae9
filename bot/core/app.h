/* app.h - the one application struct, passed explicitly everywhere.
 *
 * struct happ owns the configuration, the loop, the store, the content and the transports. It is
 * created by main() and torn down in reverse order. The core's single entry point for messages is
 * happ_dispatch(): it hands the message to the handler the feature layer installed
 * (care_init() installs care/router.c's router_dispatch), so core/ never includes care/. */
#ifndef HEARTH_APP_H
#define HEARTH_APP_H

#include <stdbool.h>
#include <time.h>

#include "core/config.h"
#include "core/loop.h"
#include "core/msg.h"

#define HAPP_MAX_TRANSPORTS 16

struct store;
struct content;
struct care;

struct happ {
	struct config *cfg;
	struct loop *loop;
	struct store *store;
	struct content *content;       /* replaced whole on reload */
	struct care *care;             /* state of the support features (care/care.h) */
	struct htransport *transports[HAPP_MAX_TRANSPORTS];
	size_t ntransports;
	time_t fake_now;               /* tests: when non-zero, happ_now() returns it */
	/* Installed by the feature layer (care_init): what happ_dispatch and happ_reload run. */
	int (*on_message)(struct happ *app, const struct hmsg *m);
	int (*on_reload)(struct happ *app);
	int (*on_room_event)(struct happ *app, const struct hevent *ev);
	int exit_code;
};

/* Wall-clock seconds (UTC epoch); tests may pin it with HEARTH_FAKE_NOW. */
time_t happ_now(const struct happ *app);

/* The other half of the out-of-memory policy (DEVELOPERS.md): when work that nobody can drop
 * fails (a tick that keeps the daemon alive cannot re-arm itself), Hearth stops loudly instead
 * of going quiet: the error is logged, the exit code becomes 1 (unless one is set) and the loop
 * stops. The service manager starts Hearth again; owed replies wait in the store. */
void happ_fail(struct happ *app, const char *who, const char *what, int rc);

int happ_add_transport(struct happ *app, struct htransport *t);
struct htransport *happ_transport(struct happ *app, const char *network);

/* Handles one message from a member (app->on_message: commands, crisis detection, replies).
 * Returns 0, or a negative code when a reply could not be delivered; HE_INVAL when no handler
 * is installed. */
int happ_dispatch(struct happ *app, const struct hmsg *m);

/* Handles one room event from a transport (app->on_room_event: a join, for the welcome).
 * HE_OK when no handler is installed (a transport tested on its own). */
int happ_room_event(struct happ *app, const struct hevent *ev);

/* Reloads content and what can change without reconnecting (app->on_reload); HE_OK when no
 * handler is installed. */
int happ_reload(struct happ *app);

#endif
