/* mood.h - opt-in private mood logs (owner: mood module). */
#ifndef HEARTH_MOOD_H
#define HEARTH_MOOD_H

#include "care/router.h"
#include "core/app.h"

int mood_init(struct happ *app);
void mood_free(struct happ *app);        /* accepts an app without mood state */
int cmd_mood(struct hctx *ctx);
/* Anonymous aggregates of entries logged from a room in the last `days` days. */
int mood_room_stats(struct happ *app, const char *network, const char *room, int days,
		    long *entries, long *members, double *mean);

#endif
