/* rooms.h - per-room settings moderators change: paused, quiet hours.
 * Rooms are keyed by (network, room id). */
#ifndef HEARTH_ROOMS_H
#define HEARTH_ROOMS_H

#include <stdbool.h>

#include "core/app.h"

struct room_settings {
	bool paused;
	int quiet_start;   /* minutes after local midnight; -1 when no quiet hours */
	int quiet_end;
	char tz[64];       /* room time zone for quiet hours ("" = the bot's) */
};

int rooms_init(struct happ *app);
/* Only the tables (`hearth store copy` prepares an empty store with it). */
struct store;
int rooms_migrate(struct store *s);
/* Settings for a room (defaults when never set). */
int rooms_get(struct happ *app, const char *network, const char *room, struct room_settings *out);
int rooms_set_paused(struct happ *app, const char *network, const char *room, bool paused);
int rooms_set_quiet(struct happ *app, const char *network, const char *room, int start, int end,
		    const char *tz);

#endif
