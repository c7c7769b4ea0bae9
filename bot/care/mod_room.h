/* mod_room.h - the room-setup half of !mod (mod_room.c): status, per-room settings, the welcome,
 * the topic of the week, and helpers the check-in commands in mod.c share. Internal to care/. */
#ifndef HEARTH_MOD_ROOM_H
#define HEARTH_MOD_ROOM_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "care/rooms.h"
#include "care/reply.h"

int mod_status(struct hctx *ctx, const char *args);
int mod_set(struct hctx *ctx, const char *args);
int mod_welcome(struct hctx *ctx, const char *args);
int mod_topic_week(struct hctx *ctx, const char *args);

/* Length of the quote mark at s (straight or curly, single or double), or 0. */
size_t mod_quote_len(const char *s);
/* Reads "quoted text" at *p into out and advances *p past it: 1 when read, 0 when *p does not
 * start with a quote, -1 when the quote is not closed or the text does not fit. */
int mod_take_quoted(const char **p, char *out, size_t outlen);
/* "Mon 2026-03-30 09:00" in tz. */
struct content;
void mod_format_local(const struct content *c, const char *lang, const char *tz, time_t t, char *out,
		      size_t len);
/* When schedule s posts next (from now, or after its last post), as "Mon 2026-03-30 09:00" in
 * show_tz; "unknown" when it cannot be worked out. */
struct sched_entry;
void mod_next_time(struct happ *app, const char *lang, const struct sched_entry *s, const char *show_tz, char *out,
		   size_t len);
/* True when the schedule posts inside the room's quiet hours within the next 8 days. */
bool mod_clashes_quiet(struct happ *app, const struct room_settings *rs, const char *cron,
		       const char *tz);
/* A kind sentence on the clash for a reply ("" when none); out gets at most len bytes. */
void mod_quiet_note(struct happ *app, const struct room_settings *rs, char *out, size_t len);

#endif
