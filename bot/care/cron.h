/* cron.h - cron schedules evaluated in IANA time zones, plus quiet-hours helpers.
 *
 * A pure module: no I/O except reading the zone database (core/tz.c, which caches each zone it
 * reads), no allocation except the parsed expression (owned by the caller, released with
 * cron_free).
 *
 * Errors: every int function returns 0 or a negative HE_* code (core/err.h):
 *   HE_INVAL = -3   invalid input (bad text, unknown zone, time out of range)
 *   HE_NOMEM = -2   out of memory
 * and cron_next may also return CRON_ENONE (below), which is HE_NOTFOUND.
 *
 * Zones are read with core/tz.h; nothing here touches the process's time zone ($TZ). Like
 * tz.h's cache, the zone functions are not thread-safe; Hearth is single-threaded.
 *
 * Cron syntax (5 fields, separated by spaces or tabs: minute hour day-of-month month day-of-week)
 *   *, a, a-b, steps a-b/n and a/n (= a-max/n), '*' followed by /n, and comma lists of these.
 *   minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or jan..dec, day-of-week 0-7 or
 *   sun..sat (0 and 7 are both Sunday; full names like "monday" work too; case-insensitive).
 *   A day-of-week range may end on Sunday: fri-sun, 5-7 and 5-0 all mean Fri, Sat, Sun;
 *   7-1 means Sun, Mon.
 *   Ranges never wrap: "22-2" is rejected with a hint to write "22-23,0-2".
 *   Day rule (as in Vixie cron/cronie): a day field is "restricted" unless it starts with '*'.
 *   If both day-of-month and day-of-week are restricted, a day matches when EITHER matches;
 *   otherwise both must match.
 *   Shortcuts: @hourly @daily (@midnight) @weekly @monthly @yearly (@annually).
 *   Input longer than 256 bytes is rejected, and so is a schedule that can never fire
 *   (e.g. "0 0 30 2 *").
 *
 * Time-zone and DST semantics (schedules are local wall-clock times in the given zone):
 *   - A wall-clock time that does not exist (spring forward, e.g. 02:30 on the change day in
 *     Europe/Berlin) fires ONCE at the first valid instant after the gap (03:00 local). Several
 *     missing times (e.g. 02:00, 02:15, ... of an every-15-minutes job) collapse into that one firing.
 *   - A wall-clock time that occurs twice (fall back, e.g. 01:30 in America/New_York on
 *     2026-11-01) fires ONCE, at its first occurrence.
 *   - Hence minute-granular jobs (every 15 minutes, "0 * * * *", ...) fire on every wall-clock match
 *     but never twice for the same wall-clock minute of the same local date: during the
 *     repeated hour they fire in its first pass and stay silent in the second pass.
 */
#ifndef HEARTH_CARE_CRON_H
#define HEARTH_CARE_CRON_H

#include <stdbool.h>

#include "core/err.h"
#include <stddef.h>
#include <time.h>

/* cron_next found no firing within 5 years of `after`. Only rare combinations get here, e.g.
 * 29 February together with a '*'-prefixed weekday step that must also match. */
#define CRON_ENONE HE_NOTFOUND

/* Longest accepted cron expression, in bytes, excluding the terminating NUL. */
#define CRON_MAX_TEXT 256

struct cron_expr; /* opaque: parsed 5-field cron expression */

/* Parses "m h dom mon dow" or an @shortcut. On success stores a new expression in *out (the
 * caller owns it; release with cron_free). On error returns HE_INVAL, leaves *out NULL and, if
 * errbuf/errlen allow, writes a short message a person can act on, e.g.
 * "minute must be 0-59, got 75" or "expected 5 fields (minute hour day-of-month month
 * day-of-week), got 3". Messages quote at most 24 bytes of the input, as printable ASCII
 * ('?' replaces anything else). Returns HE_NOMEM if allocation fails. */
int cron_parse(const char *text, struct cron_expr **out, char *errbuf, size_t errlen);

/* The words of the messages above for a person (issue 11: a German moderator reads German):
 * text(ud, key) returns the text of the phrase "cron.KEY" in their language (content/phrases.ini
 * [cron]), or NULL for the English built in here. A text whose printf slots differ from the
 * English one is not used. NULL words: English. */
struct cron_words {
	const char *(*text)(void *ud, const char *key);
	void *ud;
};
int cron_parse_words(const char *text, struct cron_expr **out, char *errbuf, size_t errlen,
		     const struct cron_words *words);

/* Releases an expression; accepts NULL. */
void cron_free(struct cron_expr *e);

/* Next fire time strictly after `after` (UTC epoch seconds), evaluated in the IANA zone `tz`
 * (e.g. "Europe/Berlin"; NULL or "" means UTC). Returns 0 and sets *next; HE_INVAL for an
 * unknown zone, NULL arguments or `after` outside the years 1..9990; CRON_ENONE when there is
 * no firing within 5 years; HE_NOMEM when a zone cannot be read into memory. */
int cron_next(const struct cron_expr *e, const char *tz, time_t after, time_t *next);

/* True when tz names a zone the system knows: a valid TZif file under $TZDIR (default
 * /usr/share/zoneinfo), given as a relative name of letters, digits and "._+-" components
 * separated by '/', with no "." or ".." component (tz_load). NULL and "" are not zone names. */
bool cron_tz_valid(const char *tz);

/* Local wall-clock parts of t in tz (NULL or "" = UTC): minutes since local midnight (0-1439),
 * weekday (0 = Sunday) and a day key YYYYMMDD (e.g. 20261025) for "once a day" logic. Any
 * output pointer may be NULL. Returns 0, or HE_INVAL for an unknown zone or unrepresentable t. */
int cron_local(const char *tz, time_t t, int *minute_of_day, int *wday, long *daykey);

/* Quiet hours "HH:MM-HH:MM" (H:MM also accepted, spaces around '-' allowed). May wrap midnight,
 * e.g. "22:00-07:00". Start is inclusive, end exclusive; equal start and end is invalid.
 * Stores minutes since midnight. Returns 0 or HE_INVAL with a message in errbuf. */
int cron_parse_quiet(const char *text, int *start_min, int *end_min, char *errbuf, size_t errlen);
int cron_parse_quiet_words(const char *text, int *start_min, int *end_min, char *errbuf,
			   size_t errlen, const struct cron_words *words);

/* True when minute_of_day lies in [start, end) (wrapping midnight when start > end). False for
 * out-of-range arguments or start == end. */
bool cron_in_quiet(int start_min, int end_min, int minute_of_day);

/* "HH:MM" (or "H:MM"; 00:00-23:59) -> minutes since midnight; HE_INVAL otherwise. */
int cron_parse_hhmm(const char *text, int *minute_of_day);

#endif /* HEARTH_CARE_CRON_H */
