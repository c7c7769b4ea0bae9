/* router.h - the one entry point for members' messages.
 *
 * router_dispatch() runs for every message a transport hands to happ_dispatch() (care_init()
 * installs it as the app's message handler): the crisis scan first (crisis.c), then the size
 * and encoding checks, then the command named after the prefix, looked up in the command table
 * (commands.h). Commands answer through care/reply.h. */
#ifndef HEARTH_ROUTER_H
#define HEARTH_ROUTER_H

#include "core/app.h"
#include "core/msg.h"

/* Returns 0, or a negative code when a reply could not be delivered. */
int router_dispatch(struct happ *app, const struct hmsg *m);
/* app->wants_answer: text may be a command (any room's prefix) or holds crisis language. */
bool router_wants_answer(struct happ *app, const char *text);

#endif
