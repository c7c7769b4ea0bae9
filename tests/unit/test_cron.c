/* Unit tests for bot/care/cron.c. Expected instants were computed independently with
 * `date -u -d '2026-03-29 01:00Z' +%s` and `TZ=Europe/Berlin date -d ...`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "care/cron.h"

#define INVAL (-3) /* HE_INVAL */

static struct cron_expr *parse_ok(const char *text)
{
	struct cron_expr *e = NULL;
	char err[128] = "";
	int rc = cron_parse(text, &e, err, sizeof(err));

	if (rc != 0)
		print_error("cron_parse(\"%s\") failed: %d %s\n", text, rc, err);
	assert_int_equal(rc, 0);
	assert_non_null(e);
	return e;
}

static void expect_parse_error(const char *text, const char *needle)
{
	struct cron_expr *e = (struct cron_expr *)0x1;
	char err[160] = "";
	int rc = cron_parse(text, &e, err, sizeof(err));

	assert_int_equal(rc, INVAL);
	assert_null(e);
	if (!strstr(err, needle))
		print_error("cron_parse(\"%s\"): message \"%s\" lacks \"%s\"\n", text, err, needle);
	assert_non_null(strstr(err, needle));
}

/* Next fire of `text` in `tz` after `after`. */
static time_t next_of(const char *text, const char *tz, time_t after)
{
	struct cron_expr *e = parse_ok(text);
	time_t t = 0;
	int rc = cron_next(e, tz, after, &t);

	cron_free(e);
	assert_int_equal(rc, 0);
	return t;
}

/* Checks that successive firings after `after` are exactly want[0..n). */
static void expect_sequence(const char *text, const char *tz, time_t after, const time_t *want,
			    size_t n)
{
	struct cron_expr *e = parse_ok(text);
	size_t i;

	for (i = 0; i < n; i++) {
		time_t t = 0;

		assert_int_equal(cron_next(e, tz, after, &t), 0);
		if (t != want[i])
			print_error("%s in %s, firing %zu: got %lld want %lld\n", text,
				    tz ? tz : "UTC", i, (long long)t, (long long)want[i]);
		assert_int_equal((long long)t, (long long)want[i]);
		after = t;
	}
	cron_free(e);
}

/* ------------------------------------------------------------------ parsing */

static void test_parse_valid(void **state)
{
	static const char *const ok[] = {
		"* * * * *", "0 0 * * *", "*/15 * * * *", "0-59/5 0-23 1-31 1-12 0-7",
		"5,10,15 9-17 * * mon-fri", "0 9 * JAN,Jul sun", "0 0 1 january *",
		"0 12 * * Monday", "  0\t0  *  * *  ", "30 2 * * *\n", "5/10 * * * *",
		"0 0 * * fri-sun", "0 0 * * 5-7", "@hourly", "@daily", "@midnight", "@weekly",
		"@monthly", "@yearly", "@annually", "  @DAILY  ", "0 0 29 2 *", "59 23 31 12 6",
	};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		cron_free(parse_ok(ok[i]));
	cron_free(NULL);
}

static void test_parse_errors(void **state)
{
	char big[400];

	expect_parse_error("75 * * * *", "minute must be 0-59, got 75");
	expect_parse_error("0 24 * * *", "hour must be 0-23, got 24");
	expect_parse_error("0 0 0 * *", "day-of-month must be 1-31, got 0");
	expect_parse_error("0 0 32 * *", "day-of-month must be 1-31, got 32");
	expect_parse_error("0 0 * 13 *", "month must be 1-12 or jan-dec, got 13");
	expect_parse_error("0 0 * foo *", "month must be 1-12 or jan-dec, got 'foo'");
	expect_parse_error("0 0 * * 8", "day-of-week must be 0-7 or sun-sat, got 8");
	expect_parse_error("0 0 * * funday", "got 'funday'");
	expect_parse_error("jan * * * *", "minute must be 0-59, got 'jan'");
	expect_parse_error("* * *", "expected 5 fields");
	expect_parse_error("* * *", "got 3");
	expect_parse_error("* * * * * *", "got 6");
	expect_parse_error("", "schedule is empty");
	expect_parse_error("   ", "schedule is empty");
	expect_parse_error("*/0 * * * *", "minute step must be 1-59, got 0");
	expect_parse_error("*/60 * * * *", "got 60");
	expect_parse_error("*/ * * * *", "step after '/' must be a number");
	expect_parse_error("0 22-2 * * *", "hour range 22-2 runs backwards; write 22-23,0-2");
	expect_parse_error("1,,2 * * * *", "minute has an empty item");
	expect_parse_error("1, * * * *", "minute has an empty item");
	expect_parse_error("1-* * * * *", "unexpected '*' in minute");
	expect_parse_error("1x * * * *", "minute must be 0-59, got '1x'");
	expect_parse_error("1;2 * * * *", "unexpected ';' in minute");
	expect_parse_error("99999999999999999999 * * * *", "minute must be 0-59, got 9999");
	expect_parse_error("@reboot", "unknown shortcut '@reboot'");
	expect_parse_error("@daily 0", "unknown shortcut");
	expect_parse_error("0 0 30 2 *", "never fires");
	/* user text quoted back is printable ASCII only (messages stay valid UTF-8) */
	expect_parse_error("0 0 * * mo\xc3\xa4", "got 'mo'");
	expect_parse_error("0\xe2\x80\x93""5 * * * *", "unexpected '?' in minute");
	expect_parse_error("@d\xc3\xa4ily", "unknown shortcut '@d??ily'");
	expect_parse_error("@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "'@aaaaaaaaaaaaaaaaaaaaaaa...'");
	expect_parse_error("0 0 31 4,6,9,11 *", "never fires");

	memset(big, ' ', sizeof(big));
	memcpy(big, "* * * * *", 9);
	big[sizeof(big) - 1] = '\0';
	expect_parse_error(big, "longer than 256");

	{ /* NULL arguments and a tiny error buffer are safe */
		struct cron_expr *e = NULL;
		char tiny[4];

		assert_int_equal(cron_parse(NULL, &e, NULL, 0), INVAL);
		assert_int_equal(cron_parse("* * * * *", NULL, NULL, 0), INVAL);
		assert_int_equal(cron_parse("99 * * * *", &e, tiny, sizeof(tiny)), INVAL);
		assert_string_equal(tiny, "min");
	}
}

/* ------------------------------------------------------------------ next, UTC */

static void test_next_common(void **state)
{
	/* every 15 minutes, from 2026-01-01 00:07:30Z */
	assert_int_equal(next_of("*/15 * * * *", NULL, 1767226050), 1767226500);
	/* strictly after: a firing instant is not returned again */
	assert_int_equal(next_of("*/15 * * * *", "", 1767226500), 1767226500 + 900);
	/* weekdays 09:00, from Friday 2026-01-02 10:00Z -> Monday 2026-01-05 09:00Z */
	assert_int_equal(next_of("0 9 * * mon-fri", "UTC", 1767348000), 1767603600);
	/* 0 and 7 are both Sunday: from Thursday 2026-01-01 -> Sunday 2026-01-04 */
	assert_int_equal(next_of("0 0 * * 7", NULL, 1767225600), 1767484800);
	assert_int_equal(next_of("0 0 * * 0", NULL, 1767225600), 1767484800);
	assert_int_equal(next_of("0 0 * * SUN", NULL, 1767225600), 1767484800);
	assert_int_equal(next_of("0 0 * * 7-1", NULL, 1767225600), 1767484800);
	/* fri-sun from Thursday: Friday 2026-01-02 00:00Z, then Saturday, Sunday, next Friday */
	{
		const time_t want[] = { 1767312000, 1767398400, 1767484800, 1767916800 };
		expect_sequence("0 0 * * fri-sun", NULL, 1767225600, want, 4);
	}
	/* month names: 2026-02-01 -> 2026-07-01 */
	assert_int_equal(next_of("0 0 1 jan,JUL *", NULL, 1769904000), 1782864000);
	/* 29 February: from 2026 the next one is 2028-02-29 */
	assert_int_equal(next_of("0 0 29 2 *", NULL, 1767225600), 1835395200);
	/* a/n means a-max/n: 5,15,...,55 */
	assert_int_equal(next_of("5/10 * * * *", NULL, 1767225600 + 56 * 60), 1767229200 + 5 * 60);
}

static void test_shortcuts(void **state)
{
	const time_t t0 = 1767225600; /* Thursday 2026-01-01 00:00Z */

	assert_int_equal(next_of("@hourly", NULL, t0), 1767229200);
	assert_int_equal(next_of("@daily", NULL, t0), 1767312000);
	assert_int_equal(next_of("@midnight", NULL, t0), 1767312000);
	assert_int_equal(next_of("@weekly", NULL, t0), 1767484800); /* Sunday 01-04 */
	assert_int_equal(next_of("@monthly", NULL, t0), 1769904000);
	assert_int_equal(next_of("@yearly", NULL, t0), 1798761600);
	assert_int_equal(next_of("@annually", NULL, t0), 1798761600);
}

static void test_dom_dow_rule(void **state)
{
	/* both restricted: the 13th OR any Friday. From Friday 2026-01-09 12:00Z:
	 * Tuesday the 13th, then Friday the 16th. */
	{
		const time_t want[] = { 1768305600, 1768564800 };
		expect_sequence("0 12 13 * fri", NULL, 1767960000, want, 2);
	}
	/* From 2026-01-01: Friday 2026-01-02 fires although it is not the 13th */
	assert_int_equal(next_of("0 12 13 * fri", NULL, 1767225600), 1767355200);
	/* day-of-month starts with '*': both must match (odd days that are Fridays) */
	assert_int_equal(next_of("0 12 */2 * fri", NULL, 1767225600), 1767960000);
}

static void test_none_within_five_years(void **state)
{
	struct cron_expr *e = parse_ok("0 0 29 2 */7"); /* 29 Feb on a Sunday: 2032 */
	time_t t = 0;

	assert_int_equal(cron_next(e, NULL, 1767225600, &t), CRON_ENONE);
	assert_int_equal(cron_next(e, NULL, 1830297600, &t), 0); /* from 2028-01-01 */
	assert_int_equal((long long)t, 1961625600LL);
	/* NULL arguments and out-of-range times */
	assert_int_equal(cron_next(NULL, NULL, 0, &t), INVAL);
	assert_int_equal(cron_next(e, NULL, 0, NULL), INVAL);
	assert_int_equal(cron_next(e, NULL, (time_t)INT64_MAX, &t), INVAL);
	assert_int_equal(cron_next(e, NULL, (time_t)INT64_MIN, &t), INVAL);
	cron_free(e);
}

/* cron_next agrees with a minute-by-minute scan in UTC (predicates written by hand). */
static void test_next_matches_bruteforce_utc(void **state)
{
	static const char *const cases[] = { "*/7 */5 * * *", "0,30 8-18/2 1-7 * mon",
					     "15 3 * feb-apr sat,sun" };
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cron_expr *e = parse_ok(cases[i]);
		time_t after = 1767225600 - 3600 * 24 * 40, t, scan;
		int k;

		for (k = 0; k < 40; k++) {
			assert_int_equal(cron_next(e, NULL, after, &t), 0);
			for (scan = (after / 60 + 1) * 60;; scan += 60) {
				struct tm tm;
				bool m = false, dom_ok, dow_ok;

				gmtime_r(&scan, &tm);
				switch (i) {
				case 0:
					m = tm.tm_min % 7 == 0 && tm.tm_hour % 5 == 0;
					break;
				case 1:
					dom_ok = tm.tm_mday <= 7;
					dow_ok = tm.tm_wday == 1;
					m = (tm.tm_min == 0 || tm.tm_min == 30) && tm.tm_hour >= 8 &&
					    tm.tm_hour <= 18 && tm.tm_hour % 2 == 0 && (dom_ok || dow_ok);
					break;
				default:
					m = tm.tm_min == 15 && tm.tm_hour == 3 && tm.tm_mon >= 1 &&
					    tm.tm_mon <= 3 && (tm.tm_wday == 0 || tm.tm_wday == 6);
					break;
				}
				if (m)
					break;
			}
			if (t != scan)
				print_error("%s: got %lld want %lld\n", cases[i], (long long)t,
					    (long long)scan);
			assert_int_equal((long long)t, (long long)scan);
			after = t;
		}
		cron_free(e);
	}
}

/* ------------------------------------------------------------------ DST */

static void test_dst_berlin_spring_forward(void **state)
{
	/* 2026-03-29 02:00 CET -> 03:00 CEST: 02:30 does not exist. The daily 02:30 job fires
	 * 2026-03-28 02:30 CET (01:30Z), 2026-03-29 03:00 CEST (01:00Z), 2026-03-30 02:30 CEST
	 * (00:30Z): exactly once on the change day. */
	const time_t want[] = { 1774661400, 1774746000, 1774830600 };

	expect_sequence("30 2 * * *", "Europe/Berlin", 1774661400 - 3600, want, 3);
	/* 09:00 local keeps its wall-clock time: 08:00Z before, 07:00Z after the change */
	{
		const time_t want9[] = { 1774684800, 1774767600 };
		expect_sequence("0 9 * * *", "Europe/Berlin", 1774661400, want9, 2);
	}
	/* hourly from 01:00 CET (00:00Z): 02:00 is missing, so 03:00 CEST (01:00Z) once, then
	 * 04:00 CEST (02:00Z) */
	{
		const time_t wanth[] = { 1774746000, 1774749600 };
		expect_sequence("0 * * * *", "Europe/Berlin", 1774742400, wanth, 2);
	}
	/* every 15 minutes: 01:45 CET (00:45Z), then 03:00 CEST (01:00Z) once, then 03:15 */
	{
		const time_t wantq[] = { 1774745100, 1774746000, 1774746900 };
		expect_sequence("*/15 * * * *", "Europe/Berlin", 1774742400 + 1800, wantq, 3);
	}
}

static void test_dst_berlin_fall_back(void **state)
{
	/* 2026-10-25 03:00 CEST -> 02:00 CET: 02:30 happens twice (00:30Z and 01:30Z). The daily
	 * job fires at the first (00:30Z) only, then 2026-10-26 02:30 CET (01:30Z). */
	const time_t want[] = { 1792888200, 1792978200 };

	expect_sequence("30 2 * * *", "Europe/Berlin", 1792843200, want, 2);
	/* 09:00 local: 07:00Z before, 08:00Z after */
	{
		const time_t want9[] = { 1792825200, 1792915200 };
		expect_sequence("0 9 * * *", "Europe/Berlin", 1792825200 - 60, want9, 2);
	}
	/* hourly from 01:00 CEST (23:00Z): 02:00 CEST (00:00Z); 02:00 CET (01:00Z) is the same
	 * wall-clock minute and is skipped; then 03:00 CET (02:00Z) */
	{
		const time_t wanth[] = { 1792886400, 1792893600 };
		expect_sequence("0 * * * *", "Europe/Berlin", 1792882800, wanth, 2);
	}
}

static void test_dst_new_york(void **state)
{
	/* 2026-03-08 02:00 EST -> 03:00 EDT. Daily 02:30: 03-07 07:30Z, 03-08 03:00 EDT (07:00Z),
	 * 03-09 06:30Z. */
	{
		const time_t want[] = { 1772868600, 1772953200, 1773037800 };
		expect_sequence("30 2 * * *", "America/New_York", 1772841600, want, 3);
	}
	/* 09:00 local: 14:00Z then 13:00Z */
	{
		const time_t want9[] = { 1772892000, 1772974800 };
		expect_sequence("0 9 * * *", "America/New_York", 1772884800, want9, 2);
	}
	/* 2026-11-01 02:00 EDT -> 01:00 EST: 01:30 happens twice (05:30Z, 06:30Z). Daily 01:30
	 * fires once at 05:30Z, then 2026-11-02 01:30 EST (06:30Z). */
	{
		const time_t want[] = { 1793511000, 1793601000 };
		expect_sequence("30 1 * * *", "America/New_York", 1793448000, want, 2);
	}
	/* 02:30 exists once on 11-01 (EST, 07:30Z) */
	{
		const time_t want[] = { 1793518200, 1793604600 };
		expect_sequence("30 2 * * *", "America/New_York", 1793448000, want, 2);
	}
	/* 09:00 local: 13:00Z on 10-31, 14:00Z on 11-01 */
	{
		const time_t want9[] = { 1793451600, 1793541600 };
		expect_sequence("0 9 * * *", "America/New_York", 1793448000, want9, 2);
	}
	/* hourly from 00:00 EDT (04:00Z): 01:00 EDT (05:00Z); 01:00 EST (06:00Z) skipped;
	 * 02:00 EST (07:00Z); 03:00 EST (08:00Z) */
	{
		const time_t want[] = { 1793509200, 1793516400, 1793520000 };
		expect_sequence("0 * * * *", "America/New_York", 1793505600, want, 3);
	}
	/* every 15 minutes: the first pass of 01:xx fires, the second pass stays silent */
	{
		const time_t want[] = { 1793510100, 1793511000, 1793511900, 1793516400 };
		expect_sequence("*/15 * * * *", "America/New_York", 1793509200, want, 4);
		/* asked from inside the second pass (01:00 EST = 06:00Z) */
		assert_int_equal(next_of("*/15 * * * *", "America/New_York", 1793512800),
				 1793516400);
	}
}

/* ------------------------------------------------------------------ zones */

static void test_tz_valid(void **state)
{
	assert_true(cron_tz_valid("Europe/Berlin"));
	assert_true(cron_tz_valid("America/New_York"));
	assert_true(cron_tz_valid("UTC"));
	assert_true(cron_tz_valid("Etc/GMT+5"));
	assert_false(cron_tz_valid(NULL));
	assert_false(cron_tz_valid(""));
	assert_false(cron_tz_valid("Mars/Olympus_Mons"));
	assert_false(cron_tz_valid("europe/berlin"));
	assert_false(cron_tz_valid("../../../etc/passwd"));
	assert_false(cron_tz_valid("Europe/../UTC"));
	assert_false(cron_tz_valid("./UTC"));
	assert_false(cron_tz_valid("Europe//Berlin"));
	assert_false(cron_tz_valid("/usr/share/zoneinfo/UTC"));
	assert_false(cron_tz_valid("Europe"));   /* a directory */
	assert_false(cron_tz_valid("zone.tab")); /* not a TZif file */
	assert_false(cron_tz_valid("Europe/Berlin "));
	assert_false(cron_tz_valid(":Europe/Berlin"));
	assert_false(cron_tz_valid("CET-1CEST,M3.5.0,M10.5.0/3")); /* POSIX strings are not zones */
}

static void test_unknown_tz_rejected(void **state)
{
	struct cron_expr *e = parse_ok("0 9 * * *");
	time_t t = 42;
	int m = -1;

	assert_int_equal(cron_next(e, "Mars/Olympus_Mons", 1767225600, &t), INVAL);
	assert_int_equal(cron_next(e, "../etc/passwd", 1767225600, &t), INVAL);
	assert_int_equal((long long)t, 42);
	assert_int_equal(cron_local("Nowhere/Land", 1767225600, &m, NULL, NULL), INVAL);
	assert_int_equal(m, -1);
	cron_free(e);
}

static void test_tz_restored(void **state)
{
	struct cron_expr *e = parse_ok("0 9 * * *");
	time_t t;
	const char *cur;

	assert_int_equal(setenv("TZ", "Asia/Tokyo", 1), 0);
	tzset();
	assert_int_equal(cron_next(e, "Europe/Berlin", 1767225600, &t), 0);
	cur = getenv("TZ");
	assert_non_null(cur);
	assert_string_equal(cur, "Asia/Tokyo");
	{
		struct tm tm;
		time_t t0 = 0;

		localtime_r(&t0, &tm);
		assert_int_equal(tm.tm_gmtoff, 9 * 3600);
	}
	assert_int_equal(unsetenv("TZ"), 0);
	tzset();
	assert_int_equal(cron_local("America/New_York", t, NULL, NULL, NULL), 0);
	assert_null(getenv("TZ"));
	cron_free(e);
}

static void test_local(void **state)
{
	int m = -1, wd = -1;
	long key = -1;

	/* 2026-10-25 00:30Z and 01:30Z are both 02:30 in Berlin, a Sunday */
	assert_int_equal(cron_local("Europe/Berlin", 1792888200, &m, &wd, &key), 0);
	assert_int_equal(m, 150);
	assert_int_equal(wd, 0);
	assert_int_equal(key, 20261025);
	assert_int_equal(cron_local("Europe/Berlin", 1792888200 + 3600, &m, &wd, &key), 0);
	assert_int_equal(m, 150);
	/* 2026-01-01 00:00Z is still 2025-12-31 19:00 (Wednesday) in New York */
	assert_int_equal(cron_local("America/New_York", 1767225600, &m, &wd, &key), 0);
	assert_int_equal(m, 19 * 60);
	assert_int_equal(wd, 3);
	assert_int_equal(key, 20251231);
	/* UTC by default */
	assert_int_equal(cron_local(NULL, 1767225600 + 61, &m, &wd, &key), 0);
	assert_int_equal(m, 1);
	assert_int_equal(wd, 4);
	assert_int_equal(key, 20260101);
	assert_int_equal(cron_local("", 1767225600, NULL, NULL, NULL), 0);
}

/* ------------------------------------------------------------------ quiet hours */

static void test_hhmm(void **state)
{
	int m = -1;

	assert_int_equal(cron_parse_hhmm("07:30", &m), 0);
	assert_int_equal(m, 450);
	assert_int_equal(cron_parse_hhmm("7:05", &m), 0);
	assert_int_equal(m, 425);
	assert_int_equal(cron_parse_hhmm(" 23:59 ", &m), 0);
	assert_int_equal(m, 1439);
	assert_int_equal(cron_parse_hhmm("00:00", &m), 0);
	assert_int_equal(m, 0);
	m = -1;
	assert_int_equal(cron_parse_hhmm("24:00", &m), INVAL);
	assert_int_equal(cron_parse_hhmm("12:60", &m), INVAL);
	assert_int_equal(cron_parse_hhmm("12:5", &m), INVAL);
	assert_int_equal(cron_parse_hhmm("123:00", &m), INVAL);
	assert_int_equal(cron_parse_hhmm("12-00", &m), INVAL);
	assert_int_equal(cron_parse_hhmm("", &m), INVAL);
	assert_int_equal(cron_parse_hhmm("+1:00", &m), INVAL);
	assert_int_equal(cron_parse_hhmm(NULL, &m), INVAL);
	assert_int_equal(cron_parse_hhmm("12:00", NULL), INVAL);
	assert_int_equal(m, -1);
}

static void test_quiet(void **state)
{
	int s = -1, e = -1;
	char err[128];

	assert_int_equal(cron_parse_quiet("22:00-07:00", &s, &e, err, sizeof(err)), 0);
	assert_int_equal(s, 1320);
	assert_int_equal(e, 420);
	assert_true(cron_in_quiet(s, e, 1320));  /* 22:00 inclusive */
	assert_true(cron_in_quiet(s, e, 1439));  /* 23:59 */
	assert_true(cron_in_quiet(s, e, 0));     /* midnight */
	assert_true(cron_in_quiet(s, e, 419));   /* 06:59 */
	assert_false(cron_in_quiet(s, e, 420));  /* 07:00 exclusive */
	assert_false(cron_in_quiet(s, e, 720));  /* noon */
	assert_false(cron_in_quiet(s, e, 1319)); /* 21:59 */

	assert_int_equal(cron_parse_quiet(" 13:00 - 14:30 ", &s, &e, err, sizeof(err)), 0);
	assert_int_equal(s, 780);
	assert_int_equal(e, 870);
	assert_true(cron_in_quiet(s, e, 800));
	assert_false(cron_in_quiet(s, e, 870));
	assert_false(cron_in_quiet(s, e, 100));

	s = e = -1;
	assert_int_equal(cron_parse_quiet("22:00-22:00", &s, &e, err, sizeof(err)), INVAL);
	assert_non_null(strstr(err, "same time (22:00)"));
	assert_int_equal(cron_parse_quiet("22:00", &s, &e, err, sizeof(err)), INVAL);
	assert_non_null(strstr(err, "must look like 22:00-07:00"));
	assert_int_equal(cron_parse_quiet("25:00-07:00", &s, &e, err, sizeof(err)), INVAL);
	assert_non_null(strstr(err, "hour must be 0-23, got 25"));
	assert_int_equal(cron_parse_quiet("22:00-24:00", &s, &e, err, sizeof(err)), INVAL);
	assert_non_null(strstr(err, "write 00:00"));
	assert_int_equal(cron_parse_quiet("22:00-07:75", &s, &e, err, sizeof(err)), INVAL);
	assert_non_null(strstr(err, "minute must be 0-59, got 75"));
	assert_int_equal(cron_parse_quiet("10pm-7am", &s, &e, err, sizeof(err)), INVAL);
	assert_non_null(strstr(err, "like 07:30, got '10pm'"));
	assert_int_equal(cron_parse_quiet("22:00-07:00-08:00", &s, &e, err, sizeof(err)), INVAL);
	assert_int_equal(cron_parse_quiet("", &s, &e, err, sizeof(err)), INVAL);
	assert_int_equal(cron_parse_quiet(NULL, &s, &e, NULL, 0), INVAL);
	assert_int_equal(s, -1);
	assert_int_equal(e, -1);

	/* out-of-range or empty windows are never quiet */
	assert_false(cron_in_quiet(600, 600, 600));
	assert_false(cron_in_quiet(-1, 600, 0));
	assert_false(cron_in_quiet(0, 1440, 5));
	assert_false(cron_in_quiet(0, 600, 1440));
}

/* ------------------------------------------------------------------ speed */

static void test_next_is_fast(void **state)
{
	struct cron_expr *e = parse_ok("30 2 * * *");
	struct timespec a, b;
	time_t t = 1767225600;
	double us;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < 200; i++)
		assert_int_equal(cron_next(e, "Europe/Berlin", t, &t), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	us = ((double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3) / 200;
	/* generous bound so sanitizer builds pass; typical is far below */
	if (us > 1000)
		print_error("cron_next took %.1f us per call\n", us);
	assert_true(us < 1000);
	cron_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_next_common),
		cmocka_unit_test(test_shortcuts),
		cmocka_unit_test(test_dom_dow_rule),
		cmocka_unit_test(test_none_within_five_years),
		cmocka_unit_test(test_next_matches_bruteforce_utc),
		cmocka_unit_test(test_dst_berlin_spring_forward),
		cmocka_unit_test(test_dst_berlin_fall_back),
		cmocka_unit_test(test_dst_new_york),
		cmocka_unit_test(test_tz_valid),
		cmocka_unit_test(test_unknown_tz_rejected),
		cmocka_unit_test(test_tz_restored),
		cmocka_unit_test(test_local),
		cmocka_unit_test(test_hhmm),
		cmocka_unit_test(test_quiet),
		cmocka_unit_test(test_next_is_fast),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
