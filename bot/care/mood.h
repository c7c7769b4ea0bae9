/* mood.h - opt-in private mood logs.
 *
 * A member (network, sender) opts in with `!mood optin confirm`; only then are entries kept: a
 * score 1-10, an optional note and #emotion tags (encrypted at rest, see care/vault.h), the time
 * and, when logged in a group room, that room (for anonymous room aggregates only). Every reply
 * goes privately; a group room sees at most a one-line pointer. No command takes another
 * member's name: a member only ever reaches their own log.
 *
 * A sender whose id can pass to another person (hmsg.sender_transient: an IRC nick without a
 * services account) gets an explanation and nothing is stored or shown under that id.
 *
 * Tables (migrations in mood.c): mood_consent, mood_entry, mood_reminder, mood_pending (one row
 * per member with something stored: the `!mood forget` confirmation slot), mood_consent_shown.
 * Retention: entries older than cfg->mood_retention_days are purged at start and once a day. */
#ifndef HEARTH_MOOD_H
#define HEARTH_MOOD_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "care/reply.h"
#include "core/app.h"

#define MOOD_NOTE_MAX 500          /* characters (code points) in a note */
#define MOOD_TAG_MAX 32            /* bytes in one tag */
#define MOOD_TAGS_MAX 10           /* tags per entry */
#define MOOD_HISTORY_DEFAULT 14    /* days */
#define MOOD_HISTORY_MAX 365
#define MOOD_NOTHING_SAVED " Nothing was saved."  /* ends every refusal that stored nothing */
#define MOOD_FORGET_WINDOW 600     /* seconds `!mood forget confirm` stays valid */
#define MOOD_OPTIN_WINDOW 1800     /* seconds `!mood optin confirm` is accepted after `!mood optin`
				    * showed that member the consent text */

/* Opens the key (creating it on first run; refuses a key file others can read), applies the
 * schema, purges expired entries and, when app->loop is set, arms the minute timer for
 * reminders and the daily purge. A store opened with store_open_file() (tests, benchmarks) whose
 * key file does not exist gets a random key for this run only, so that test suites never write
 * keys into a data directory; the daemon (store_open) always uses the key file. */
int mood_init(struct happ *app);
/* Only the tables (`hearth store copy` prepares an empty store with it). */
struct store;
int mood_migrate(struct store *s);
void mood_free(struct happ *app);        /* accepts an app without mood state */
/* The command, `!mood ...`, is cmd_mood (commands.h). */
/* Anonymous aggregates of the entries logged from a room, built so that comparing two answers
 * never reveals one member's score (mood_stats.c): the window is the `days` whole local days
 * before today in tz ("" or NULL: UTC), never today; a day counts only when at least k members
 * logged from the room that day; days the retention purge may have cut into are left out.
 * Callers show entries and members as bands (mood_stats_band) and the mean rounded to a half
 * (mood_stats_round). */
struct mood_room_stats {
	int days;                          /* asked for */
	int days_open;                     /* of those, within the retention limit */
	int days_counted;                  /* of those, with at least k members: the totals below */
	long entries, members;
	double mean;                       /* 0 when nothing is counted */
};
int mood_room_stats(struct happ *app, const char *network, const char *room, const char *tz,
		    int days, int k, struct mood_room_stats *out);
/* "fewer than 5", "5-9", "10-19", "20-49", "50-99", ... "10000 or more". */
void mood_stats_band(long n, char *out, size_t len);
/* The same with the words in the reader's language: fewer and more hold one %ld (phrases
 * stats.band_fewer, stats.band_more). */
void mood_stats_band_in(long n, const char *fewer, const char *more, char *out, size_t len);
/* The mean rounded to the nearest 0.5. */
double mood_stats_round(double mean);

/* A parsed `!mood <score> [note]`. Owned by the caller; release with mood_entry_in_clear. */
struct mood_entry_in {
	int score;
	char *note;                        /* trimmed, NULL when none */
	char *tags[MOOD_TAGS_MAX];         /* lower-case, without '#', unique */
	size_t ntags;
};

/* Pure parsers (no I/O but cron_tz_valid's zone lookup), exposed for tests and the fuzzer. On
 * HE_INVAL / HE_TOOBIG they write a short, kind message a member can act on into err. */
/* The parsers' errors are phrases in lang (content.h's phrase()). */
struct content;
int mood_parse_entry(const struct content *c, const char *lang, const char *args, struct mood_entry_in *out,
		     char *err, size_t errlen);
void mood_entry_in_clear(struct mood_entry_in *e);
/* "" -> MOOD_HISTORY_DEFAULT; "1".."365". */
int mood_parse_days(const struct content *c, const char *lang, const char *arg, int *days, char *err,
		    size_t errlen);
/* "HH:MM [Zone/Name]" or "off" (sets *off). tz gets the zone or "" when none was given. */
int mood_parse_remind(const struct content *c, const char *lang, const char *args, bool *off, int *minute,
		      char *tz, size_t tzlen, char *err,
		      size_t errlen);

/* Stores one entry for a member who has consented (the caller checks). origin_room is NULL for
 * an entry logged privately. Used by cmd_mood and the benchmark. */
int mood_log(struct happ *app, const char *network, const char *member, const char *origin_room,
	     time_t ts, const struct mood_entry_in *e);
/* What `!mood export` sends: every entry of (network, member) as CSV (into csv; its column
 * names and words in lang) and JSON (keys in English, the same in every language)
 * (*json, malloc'd; the caller wipes and frees both); *n gets the number of entries. Also used
 * by `hearth admin member export` (care/datareq.c), so that both give the same files. */
struct hbuf;
int mood_export_build(struct happ *app, const char *network, const char *member, const char *lang,
		      struct hbuf *csv, char **json, long *n);
/* What `!mood forget confirm` does: everything of (network, member) hard-deleted in one
 * transaction, then the WAL folded back. Also used by `hearth admin member forget`. */
int mood_forget_all(struct happ *app, const char *network, const char *member);
/* A check-in answered with one tap (HEV_SCALE_ANSWER) or the tap taken back
 * (HEV_SCALE_WITHDRAWN), from a transport's room event: see mood_tap.c for the rules. */
struct hevent;
int mood_log_reaction(struct happ *app, const struct hevent *ev);
/* Deletes entries older than the retention limit and expired confirmations; *purged may be
 * NULL. */
int mood_purge(struct happ *app, long *purged);
/* Sends the reminders that are due now (at most one per member per local day). Called by the
 * minute timer; exposed for tests. *sent may be NULL. */
int mood_send_reminders(struct happ *app, int *sent);

#endif
