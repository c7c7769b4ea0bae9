/* tz.c - time zones and calendar days (interim: through $TZ; see tz.h). */
#include "core/tz.h"

#include <stdlib.h>
#include <string.h>

long tz_daykey(const char *zone, time_t t)
{
	const char *cur = getenv("TZ");
	char *old = cur ? strdup(cur) : NULL;
	struct tm tm;
	long day;

	setenv("TZ", zone && *zone && !strstr(zone, "..") && zone[0] != '/' ? zone : "UTC0", 1);
	tzset();
	if (!localtime_r(&t, &tm))
		gmtime_r(&t, &tm);
	day = (tm.tm_year + 1900L) * 10000L + (tm.tm_mon + 1) * 100L + tm.tm_mday;
	if (old)
		setenv("TZ", old, 1);
	else
		unsetenv("TZ");
	tzset();
	free(old);
	return day;
}
