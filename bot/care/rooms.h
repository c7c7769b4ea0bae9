/* rooms.h - per-room settings moderators change: paused, quiet hours, time zone, crisis country,
 * language, command prefix, welcome, topic of the week. Rooms are keyed by (network, room id).
 * An empty string means "the configured default" (config values are the defaults). */
#ifndef HEARTH_ROOMS_H
#define HEARTH_ROOMS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/app.h"

#define ROOMS_WELCOME_MAX 500   /* bytes of a room's own welcome text */

struct room_settings {
	bool paused;
	int quiet_start;   /* minutes after local midnight; -1 when no quiet hours */
	int quiet_end;
	char tz[64];       /* the room's time zone: schedules and quiet hours ("" = the bot's) */
	char country[16];  /* crisis country code ("" = [crisis] country) */
	char language[16]; /* content language ("" = language) */
	char prefix[8];    /* command prefix ("" = prefix) */
	bool welcome;      /* greet new members and introduce Hearth (default on) */
	char welcome_text[ROOMS_WELCOME_MAX + 1]; /* the room's own welcome ("" = Hearth's) */
	char topic_week[64];  /* topic id for !learn without a topic ("" = none) */
	time_t topic_week_at; /* when it was set; it holds for 7 days */
	bool introduced;   /* Hearth already introduced itself here */
	time_t last_welcome;  /* when the last member welcome went out */
};

int rooms_init(struct happ *app);
/* A room that was never set up. */
void rooms_get_defaults(struct room_settings *out);
/* Only the tables (`hearth store copy` prepares an empty store with it). */
struct store;
int rooms_migrate(struct store *s);
/* Settings for a room (defaults when never set). */
int rooms_get(struct happ *app, const char *network, const char *room, struct room_settings *out);
int rooms_set_paused(struct happ *app, const char *network, const char *room, bool paused);
/* tz NULL keeps the room's time zone. */
int rooms_set_quiet(struct happ *app, const char *network, const char *room, int start, int end,
		    const char *tz);
/* Sets one text column: "tz", "country", "language", "prefix", "welcome_text", "topic_week"
 * (the last also stamps topic_week_at with now). Other names are HE_INVAL. */
int rooms_set_text(struct happ *app, const char *network, const char *room, const char *field,
		   const char *value);
/* Sets one flag or time: "welcome", "introduced", "last_welcome". */
int rooms_set_int(struct happ *app, const char *network, const char *room, const char *field,
		  long long value);

/* The effective values for a room: its own setting, else the configured default. */
const char *rooms_tz(const struct happ *app, const struct room_settings *rs);
const char *rooms_country(const struct happ *app, const struct room_settings *rs);
const char *rooms_language(const struct happ *app, const struct room_settings *rs);
const char *rooms_prefix(const struct happ *app, const struct room_settings *rs);

/* The IANA zone named by `in` in any case ("europe/london" -> "Europe/London") into out. Returns
 * false when there is no such zone. */
bool rooms_tz_canon(const char *in, char *out, size_t outlen);

/* Welcome bookkeeping: true when member was already welcomed in the room; marks it. Kept as a
 * keyed hash, never the member's id. */
bool rooms_welcomed(struct happ *app, const char *network, const char *room, const char *member);
int rooms_mark_welcomed(struct happ *app, const char *network, const char *room, const char *member,
			time_t at);

#endif
