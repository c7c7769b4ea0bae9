/* limit.h - keeps busy commands from flooding a group room.
 *
 * In a group room a member gets at most cfg->room_answers_per_minute (3 by default; 0: no
 * limit) answers a minute from the commands the router marks HCMD_LIMITED (!learn, !checkin, !topics, !help); beyond that one short private
 * note, then silence until the minute has passed. Moderators, private chats, !crisis and crisis
 * words are never limited (the router does not ask). Members are kept in memory only, as keyed
 * hashes, in a fixed table: nothing personal is stored. */
#ifndef HEARTH_LIMIT_H
#define HEARTH_LIMIT_H

#include "core/app.h"

#define LIMIT_MAX_PER_MINUTE 20      /* the most [bot] room_answers_per_minute allows */
#define LIMIT_SLOTS 1024

enum limit_verdict { LIMIT_OK = 0, LIMIT_NOTE = 1, LIMIT_SILENT = 2 };

int limit_init(struct happ *app);
void limit_free(struct happ *app);      /* accepts an app without limit state */
/* Counts one answer for member in room at now, or says why not. */
enum limit_verdict limit_take(struct happ *app, const char *network, const char *room,
			      const char *member, time_t now);

#endif
