/* checkin.h - check-in prompts in rotation, per room. */
#ifndef HEARTH_CHECKIN_H
#define HEARTH_CHECKIN_H

#include <time.h>

#include "core/app.h"

int checkin_init(struct happ *app);
/* Only the tables (`hearth store copy` prepares an empty store with it). */
struct store;
int checkin_migrate(struct store *s);
/* Picks a prompt for a room: one the room has never seen (at random) while there are any; once
 * every prompt was shown there, the one shown least recently, so the one shown last never comes
 * straight back (with two prompts or more) and avoid_days is kept as far as the pool allows.
 * Records it as shown at `now` and returns it in *prompt (borrowed from the content). */
int checkin_pick(struct happ *app, const char *network, const char *room, int avoid_days,
		 time_t now, const char **prompt);
/* The same from the prompts in lang (content_for: English where the language has none). */
int checkin_pick_in(struct happ *app, const char *lang, const char *network, const char *room, int avoid_days,
		    time_t now, const char **prompt);
/* Deletes the rotation kept for a member's private check-ins (`!mood forget`). */
int checkin_forget(struct happ *app, const char *network, const char *member);
/* The Markdown a room sees for a prompt, framed in lang. Caller frees. */
char *checkin_render(const struct happ *app, const char *lang, const char *prompt);

#endif
