/* sched.h - scheduled check-ins per room (owner: scheduler module).
 *
 * A schedule is a cron expression evaluated in an IANA time zone and bound to one room. Schedules
 * live in the store (table `sched`) and survive restarts. Each remembers `last_fire`, the wall
 * clock when it was last handled (posted or skipped); a fire time is due when it is later than
 * last_fire and not later than now.
 *
 * Rules sched_due() applies (one schedule, one call):
 *   - Several due fire times (Hearth was down) collapse into ONE post, never a burst; fire times
 *     older than SCHED_CATCHUP_SECS are dropped silently.
 *   - A post whose fire time or posting time falls in the room's quiet hours is skipped, not
 *     queued for later. A paused room gets no scheduled posts either.
 *   - At most one scheduled post per room per call (two schedules at the same minute post once).
 *   - last_fire becomes `now` after a post or a skip, so a fire time is never handled twice (a
 *     repeated hour at a daylight-saving change cannot double a post).
 *   - When the room's network is not connected or the post fails, last_fire stays, and the
 *     timer retries within SCHED_RETRY_SECS.
 *
 * The loop timer is armed at the earliest next fire time (at most an hour ahead, so wall-clock
 * jumps are caught), re-armed after every change; on start it runs at once for the catch-up. */
#ifndef HEARTH_SCHED_H
#define HEARTH_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/app.h"

#define SCHED_CATCHUP_SECS (24 * 3600)
#define SCHED_RETRY_SECS 60
#define SCHED_MAX_PER_ROOM 12
#define SCHED_TEXT_MAX 300          /* bytes of a room's own check-in question */
#define SCHED_MIN_GAP_SECS 3600     /* check-ins of one schedule are at least an hour apart */

struct sched_entry {
	long long id;
	char network[64];
	char room[256];
	char cron[257];
	char tz[64];
	time_t created;
	time_t last_fire;
	char text[SCHED_TEXT_MAX + 1];  /* the room's own question ("" = a prompt in rotation) */
	char topic[64];                 /* a topic id the check-in goes with ("" = none) */
};

int sched_init(struct happ *app);
/* Only the tables (`hearth store copy` prepares an empty store with it). */
struct store;
int sched_migrate(struct store *s);
void sched_free(struct happ *app);       /* accepts an app without scheduler state */

/* Adds a schedule for a room. tz NULL or "": the room's quiet-hours zone if set, else the bot's.
 * Returns 0 and the new id; HE_INVAL with a sentence a moderator can act on in err (bad cron
 * expression, unknown zone, check-ins less than an hour apart) and nothing stored; HE_TOOBIG
 * when the room already has SCHED_MAX_PER_ROOM schedules. */
int sched_add(struct happ *app, const char *network, const char *room, const char *cron,
	      const char *tz, long long *id, char *err, size_t errlen);
/* The same with the room's own question (text) or a topic id (either may be NULL). The caller
 * checks the topic exists; text over SCHED_TEXT_MAX bytes is HE_INVAL. */
int sched_add_with(struct happ *app, const char *network, const char *room, const char *cron,
		   const char *tz, const char *text, const char *topic, long long *id, char *err,
		   size_t errlen);
/* Removes schedule id when it belongs to this room; HE_NOTFOUND otherwise (nothing changed). */
int sched_remove(struct happ *app, const char *network, const char *room, long long id);
/* The room's schedules (room NULL: every room), oldest first. *out is malloc'd; caller frees. */
int sched_list(struct happ *app, const char *network, const char *room, struct sched_entry **out,
	       size_t *n);

/* The scheduler's core, a pure function of the store and `now`: posts what is due (see above).
 * *posted (may be NULL) receives the number of posts made. */
int sched_due(struct happ *app, time_t now, int *posted);
/* Earliest fire time strictly after now across all schedules; HE_NOTFOUND when there is none. */
int sched_next(struct happ *app, time_t now, time_t *next);
/* The words of cron's messages (care/cron.h) in a language: pass &w to cron_parse_words or
 * cron_parse_quiet_words after sched_cron_words(&w, &ud, app, lang). */
struct cron_words;
struct sched_words_ud {
	struct happ *app;
	const char *lang;
};
void sched_cron_words(struct cron_words *w, struct sched_words_ud *ud, struct happ *app,
		      const char *lang);

/* Re-arms the loop timer (after a change); harmless without a loop. */
void sched_rearm(struct happ *app);

#endif
