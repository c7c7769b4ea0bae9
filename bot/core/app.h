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
	bool (*wants_answer)(struct happ *app, const char *text);
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
/* The transport for network, or NULL: none, or the network is not active in this process (it
 * waits as a standby, or its lease ran out: see happ_network_active). */
struct htransport *happ_transport(struct happ *app, const char *network);

/* Two Hearth processes may share one store, one active per network (store/lease.h). True when
 * network is active here (always, when no lease is kept for it: console, tools, tests). */
bool happ_network_active(struct happ *app, const char *network);
/* A write only the active process for network may make: opens a transaction that first checks
 * this process still holds the network's lease (or checks it inside the caller's transaction),
 * HE_PERM when it does not (nothing is written; the process then restarts as a standby).
 * happ_fenced_end() commits (rc HE_OK) or rolls back what happ_fenced_begin() opened and
 * returns rc or the commit's error. Without a lease for network: a plain write. */
int happ_fenced_begin(struct happ *app, const char *network, bool *own);
int happ_fenced_end(struct happ *app, bool own, int rc);

/* Handles one message from a member (app->on_message: commands, crisis detection, replies).
 * Returns 0, or a negative code when a reply could not be delivered; HE_INVAL when no handler
 * is installed; HE_PERM when the message's network is not active here (nothing is done). */
int happ_dispatch(struct happ *app, const struct hmsg *m);

/* Whether a member's message with this text would get an answer (a command, in any room's
 * prefix, or crisis language: app->wants_answer). A transport that replays messages missed while
 * no Hearth was connected (IRC's channel history) answers only these, so a person in crisis is
 * answered after a failover like a command is. Without a handler: text starts with the prefix. */
bool happ_wants_answer(struct happ *app, const char *text);

/* Handles one room event from a transport (app->on_room_event: a join, for the welcome).
 * HE_OK when no handler is installed (a transport tested on its own); HE_PERM, like
 * happ_dispatch, when the event's network is not active here. */
int happ_room_event(struct happ *app, const struct hevent *ev);

/* Reloads content and what can change without reconnecting (app->on_reload); HE_OK when no
 * handler is installed. */
int happ_reload(struct happ *app);

#endif
