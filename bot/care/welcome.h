/* welcome.h - Hearth's introduction when it joins a room, and the welcome a new member gets.
 *
 * Transports report joins with happ_room_event() (core/msg.h). The rules:
 *   - Hearth introduces itself once per room (kept in the store), unless the room turned the
 *     welcome off (`!mod welcome off`).
 *   - A member who joins gets the room's welcome (its own text or Hearth's) through the
 *     transport's greet op, once per room: the store remembers whom it greeted. A transient
 *     sender (an IRC nick without an account) is remembered only in memory, as a keyed hash.
 *   - At most one member welcome per room per WELCOME_GAP_SECS: when many join at once the rest
 *     get none (and are not marked, so a later join can still greet them).
 *   - Nothing in a paused room; never for Hearth's own join as a member. */
#ifndef HEARTH_WELCOME_H
#define HEARTH_WELCOME_H

#include "core/app.h"

#define WELCOME_GAP_SECS 60
#define WELCOME_NAME_MAX 64      /* bytes of a display name shown in a welcome */

int welcome_init(struct happ *app);
void welcome_free(struct happ *app);   /* accepts an app without welcome state */

/* Handles a transport's room event (installed as app->on_room_event by care_init). */
int welcome_event(struct happ *app, const struct hevent *ev);

/* The Markdown a member gets (the room's text or Hearth's), addressed to name (escaped here).
 * Caller frees. */
char *welcome_render(const struct happ *app, const char *lang, const char *name, const char *room_text);
/* Hearth's introduction when it joins a room. Caller frees. */
char *welcome_intro(const struct happ *app, const char *lang);

#endif
