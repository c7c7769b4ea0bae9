/* libFuzzer target for bot/core/tz.c: the TZif parser (the input as a zone file) and the POSIX
 * TZ string parser (the input as a footer), then local time and mktime on whatever parses,
 * at instants spread over the range the product uses and past it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* tz_mktime normalises *tm to the local time of the instant it returns: that instant must read
 * back as the same fields. (time_t)-1 is "out of range" (or one second before 1970 in UTC). */
static void mktime_reads_back(const struct tz *z, struct tm *tm)
{
	struct tm back;
	time_t t = tz_mktime(z, tm);

	if (t == (time_t)-1)
		return;
	if (tz_local(z, t, &back) != HE_OK || back.tm_year != tm->tm_year || back.tm_mon != tm->tm_mon ||
	    back.tm_mday != tm->tm_mday || back.tm_hour != tm->tm_hour || back.tm_min != tm->tm_min ||
	    back.tm_sec != tm->tm_sec)
		abort();
}

static void exercise(const struct tz *z)
{
	static const int64_t instants[] = {
		INT64_C(-9000000000000000), INT64_C(-62135596800), INT64_C(-2208988800), -1, 0,
		INT64_C(1767225600), INT64_C(2147483647), INT64_C(2147483648), INT64_C(4102444800),
		INT64_C(253402300799), INT64_C(9000000000000000),
	};

	for (size_t i = 0; i < sizeof(instants) / sizeof(instants[0]); i++) {
		struct tm tm;
		if (tz_local(z, (time_t)instants[i], &tm) != HE_OK)
			continue;
		/* A local time read back gives an instant whose local time is a valid time. */
		if (tm.tm_sec < 0 || tm.tm_sec > 59 || tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_hour < 0 ||
		    tm.tm_hour > 23 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31)
			abort();
		tm.tm_isdst = -1;
		mktime_reads_back(z, &tm);
		tm.tm_mday += 400;
		tm.tm_hour -= 1000;
		mktime_reads_back(z, &tm);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tz *z = NULL;

	if (tz_parse(data, size, &z) == HE_OK) {
		exercise(z);
		tz_free(z);
	}
	if (size <= TZ_POSIX_MAX && tz_parse_posix((const char *)data, size, &z) == HE_OK) {
		exercise(z);
		tz_free(z);
	}
	return 0;
}
