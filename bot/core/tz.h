/* tz.h - time zones without touching the process's time zone, and calendar days.
 *
 * glibc has no per-call zone API: localtime_r/mktime read the process-wide $TZ, and switching
 * it (setenv + tzset) around a computation is global state. This module reads the zone's TZif
 * file (RFC 8536) from the zone database itself and answers for any zone at any instant:
 * the transitions stored in the file (64-bit data of version 2+ files), and past the last one
 * the POSIX TZ string of the file's footer (e.g. "GMT0BST,M3.5.0/1,M10.5.0"), as glibc does.
 *
 * Zone files are read as hostile input: the name is checked (a relative name of letters,
 * digits and "._+-" components, no "." or ".." component, no leading '/'), the file is bounded
 * in size and every count, index, offset and string in it is checked before use. Leap-second
 * records ("right/" zones) are skipped: times are POSIX times.
 *
 * Single-threaded (like Hearth): loaded zones are kept in a process-wide cache per name. */
#ifndef HEARTH_TZ_H
#define HEARTH_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TZ_NAME_MAX 128           /* bytes in a zone name */
#define TZ_FILE_MAX (256 * 1024)  /* bytes in a zone file; real ones are under 4 KiB */
#define TZ_POSIX_MAX 256          /* bytes in a footer's TZ string */

struct tz; /* opaque: one zone */

/* The zone named `name` (e.g. "Europe/London") from $TZDIR, default /usr/share/zoneinfo; NULL
 * or "" is UTC. On HE_OK *out (if out is not NULL) is a zone owned by the cache: valid until
 * tz_cache_clear(), never freed by the caller. HE_INVAL for a bad name, a missing, unreadable
 * or malformed file; HE_NOMEM. */
int tz_load(const char *name, const struct tz **out);

/* Parses a TZif file image (not cached; the caller frees it with tz_free). HE_INVAL when it is
 * not a valid TZif file, HE_NOMEM. */
int tz_parse(const unsigned char *data, size_t len, struct tz **out);

/* Parses a POSIX TZ string such as "EST5EDT,M3.2.0,M11.1.0" or "<+0530>-5:30" into a zone
 * without transitions (the caller frees it with tz_free). HE_INVAL when malformed. */
int tz_parse_posix(const char *s, size_t len, struct tz **out);

void tz_free(struct tz *tz);       /* accepts NULL; only for zones from tz_parse* */
void tz_cache_clear(void);         /* frees every zone tz_load returned */

/* Local time of t in tz, as localtime_r in that zone would give it (tm_gmtoff, tm_isdst and
 * tm_zone included; tm_zone points into tz). HE_INVAL when t is out of range (|t| >= 2^55). */
int tz_local(const struct tz *tz, time_t t, struct tm *tm);

/* The instant of the local time in *tm (fields may be out of range: they are normalised, as
 * mktime does), and *tm rewritten to that instant's local time. tm_isdst is ignored: a time
 * that occurs twice (clocks going back) is its first occurrence; a time that does not occur
 * (clocks going forward) is read with the offset before the change, so 01:30 in a gap after
 * 01:00 becomes 02:30. Returns (time_t)-1 and leaves *tm when out of range. */
time_t tz_mktime(const struct tz *tz, struct tm *tm);

/* The day key YYYYMMDD of t in the zone `name` (NULL, "" or an unknown zone: UTC), for
 * "once a day" rules. */
long tz_daykey(const char *name, time_t t);

/* Calendar arithmetic on the proleptic Gregorian calendar (H. Hinnant's algorithms). */
int64_t tz_floor_div(int64_t a, int64_t b);
int64_t tz_days_from_civil(int64_t y, int m, int d);    /* days since 1970-01-01 */
void tz_civil_from_days(int64_t z, int64_t *y, int *m, int *d);

#endif
