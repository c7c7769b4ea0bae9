/* tz.h - time zones and calendar days. */
#ifndef HEARTH_TZ_H
#define HEARTH_TZ_H

#include <time.h>

/* The day key YYYYMMDD of instant t in the IANA zone `zone` (NULL, "" or an unknown zone:
 * UTC), for "once a day" rules. */
long tz_daykey(const char *zone, time_t t);

#endif
