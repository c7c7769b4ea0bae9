/* care.h - state of the support features, created once per app.
 *
 * care_init() runs every feature module's setup in order (their migrations included);
 * care_free() tears them down in reverse. Modules keep their state in struct care. */
#ifndef HEARTH_CARE_H
#define HEARTH_CARE_H

#include "core/app.h"

struct mood;
struct sched;
struct crisis;
struct welcome;
struct limit;

struct care {
	struct mood *mood;
	struct sched *sched;
	struct crisis *crisis;
	struct welcome *welcome;       /* welcome.c */
	struct limit *limit;           /* limit.c */
	/* care_daykey's cache: the day key of one quarter hour (every zone changes date on one). */
	time_t day_quarter;
	long day_key;
	char day_tz[64];
};

int care_init(struct happ *app);
void care_free(struct happ *app);      /* accepts an app whose care is NULL */

/* Loads content from cfg->content_dir; on failure keeps what was there and returns the error
 * (already logged with FILE:LINE). */
int care_load_content(struct happ *app);

/* Today's day key (YYYYMMDD) in the bot's time zone, for "once a day" rules. */
long care_daykey(const struct happ *app, time_t t);

#endif
