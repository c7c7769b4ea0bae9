/* Unit tests for bot/core/tz.c. The reference is glibc itself: localtime_r and mktime under
 * setenv("TZ") (allowed in a test, never in the product), for several zones over many instants,
 * every change of offset found (with the second before and after it), gaps and overlaps, and
 * years past 2037 where the footer's POSIX rule takes over. Then hostile files and strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <time.h>

#include <cmocka.h>

#include "core/err.h"
#include "core/tz.h"

static const char *const zones[] = {
	"Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC",
	"America/Sao_Paulo", "Pacific/Chatham", "Europe/Dublin", "America/St_Johns",
	"Africa/Casablanca", "Antarctica/Troll", "Asia/Tehran",
};
#define NZONES (sizeof(zones) / sizeof(zones[0]))

static void glibc_zone(const char *tz)
{
	assert_int_equal(setenv("TZ", tz, 1), 0);
	tzset();
}

static long checked;

/* tz_local(t) must equal glibc's localtime_r(t), field by field. */
static void same_local(const char *name, const struct tz *z, time_t t)
{
	struct tm g, m;

	assert_non_null(localtime_r(&t, &g));
	assert_int_equal(tz_local(z, t, &m), HE_OK);
	if (g.tm_year != m.tm_year || g.tm_mon != m.tm_mon || g.tm_mday != m.tm_mday ||
	    g.tm_hour != m.tm_hour || g.tm_min != m.tm_min || g.tm_sec != m.tm_sec ||
	    g.tm_wday != m.tm_wday || g.tm_yday != m.tm_yday || g.tm_isdst != m.tm_isdst ||
	    g.tm_gmtoff != m.tm_gmtoff) {
		print_error("%s at %lld: glibc %04d-%02d-%02d %02d:%02d:%02d wd%d yd%d dst%d off%ld, "
			    "tz %04d-%02d-%02d %02d:%02d:%02d wd%d yd%d dst%d off%ld\n", name, (long long)t,
			    g.tm_year + 1900, g.tm_mon + 1, g.tm_mday, g.tm_hour, g.tm_min, g.tm_sec, g.tm_wday,
			    g.tm_yday, g.tm_isdst, g.tm_gmtoff, m.tm_year + 1900, m.tm_mon + 1, m.tm_mday,
			    m.tm_hour, m.tm_min, m.tm_sec, m.tm_wday, m.tm_yday, m.tm_isdst, m.tm_gmtoff);
		fail();
	}
	checked++;
}

static bool same_wall(const struct tm *a, const struct tm *b)
{
	return a->tm_year == b->tm_year && a->tm_mon == b->tm_mon && a->tm_mday == b->tm_mday &&
	       a->tm_hour == b->tm_hour && a->tm_min == b->tm_min && a->tm_sec == b->tm_sec;
}

/* tz_mktime of t's own wall time gives t back, or (when that wall time occurs twice) its
 * first occurrence, which glibc must also map to the same wall time. */
static void same_mktime(const char *name, const struct tz *z, time_t t)
{
	struct tm g, in, m;
	time_t r, gr;

	assert_non_null(localtime_r(&t, &g));
	in = g;
	in.tm_isdst = -1;
	m = in;
	r = tz_mktime(z, &m);
	gr = mktime(&in);
	if (r != t) {
		struct tm back;
		assert_non_null(localtime_r(&r, &back));
		if (!(r < t && same_wall(&back, &g))) {
			print_error("%s: tz_mktime of the wall time of %lld gave %lld (glibc %lld)\n", name,
				    (long long)t, (long long)r, (long long)gr);
			fail();
		}
	}
	assert_true(same_wall(&m, &g));
	/* Whatever glibc picked is an occurrence of the same wall time, never earlier than ours. */
	assert_true(gr >= r);
	checked++;
}

/* Checks t-1, t, t+1 around the instant the offset changes between a and b (glibc's view). */
static void around_change(const char *name, const struct tz *z, time_t a, time_t b)
{
	struct tm ta, tb;

	localtime_r(&a, &ta);
	while (b - a > 1) {
		time_t mid = a + (b - a) / 2;
		struct tm tmid;
		localtime_r(&mid, &tmid);
		if (tmid.tm_gmtoff == ta.tm_gmtoff && tmid.tm_isdst == ta.tm_isdst)
			a = mid;
		else
			b = mid;
	}
	localtime_r(&b, &tb);
	for (time_t t = b - 2; t <= b + 1; t++) {
		same_local(name, z, t);
		same_mktime(name, z, t);
	}
	/* A wall time inside a gap (clocks forward): read with the offset before the change. */
	if (tb.tm_gmtoff > ta.tm_gmtoff) {
		long jump = tb.tm_gmtoff - ta.tm_gmtoff;
		time_t before = b - 1;
		struct tm w, gw;
		time_t r, gr;
		localtime_r(&before, &w);
		w.tm_sec += 1 + (int)(jump / 2); /* half way into the missing stretch */
		w.tm_isdst = -1;
		gw = w;
		r = tz_mktime(z, &w);
		gr = mktime(&gw);
		assert_int_equal((long long)r, (long long)(b + jump / 2));
		/* glibc reads it with the offset before or after the change, depending on history. */
		assert_true(gr == r || gr == r - jump);
	}
}

static void sweep(const char *name, const struct tz *z, time_t from, time_t to, time_t step)
{
	struct tm prev, cur;
	time_t last = from;

	localtime_r(&from, &prev);
	for (time_t t = from; t <= to; t += step) {
		same_local(name, z, t);
		same_mktime(name, z, t);
		localtime_r(&t, &cur);
		if (t != from && (cur.tm_gmtoff != prev.tm_gmtoff || cur.tm_isdst != prev.tm_isdst))
			around_change(name, z, last, t);
		prev = cur;
		last = t;
	}
}

static void test_against_glibc(void **state)
{
	for (size_t i = 0; i < NZONES; i++) {
		const struct tz *z = NULL;
		glibc_zone(zones[i]);
		assert_int_equal(tz_load(zones[i], &z), HE_OK);
		assert_non_null(z);
		/* 1890-2110 coarsely (every change found is checked to the second), 2024-2026 and
		 * 2038-2040 (after the 32-bit range: the footer's rule) every 47 minutes. */
		sweep(zones[i], z, -2524521600LL, 4417977600LL, 6 * 86400 + 3607);
		sweep(zones[i], z, 1704067200LL, 1798761600LL, 47 * 60);
		sweep(zones[i], z, 2145916800LL, 2240611200LL, 47 * 60);
		/* Far past the file's last transition. */
		sweep(zones[i], z, 32503680000LL, 32535216000LL, 86400 / 4 + 1);
	}
	unsetenv("TZ");
	tzset();
	print_message("compared %ld instants with glibc\n", checked);
}

/* Every zone of the system's database loads, and agrees with glibc at a spread of instants
 * (the "right/" zones count leap seconds, which Hearth does not: left out). */
static long nzones_all;

static int one_zone(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	const char *name = path + strlen("/usr/share/zoneinfo/");
	const struct tz *z = NULL;
	char magic[4] = "";
	FILE *f;

	if (type != FTW_F || strncmp(name, "right/", 6) == 0)
		return 0;
	if (!(f = fopen(path, "rb")))
		return 0;
	if (fread(magic, 1, 4, f) != 4 || memcmp(magic, "TZif", 4) != 0) {
		fclose(f);
		return 0;
	}
	fclose(f);
	if (tz_load(name, &z) != HE_OK) {
		print_error("%s does not load\n", name);
		fail();
	}
	glibc_zone(name);
	for (time_t t = -2208988800LL; t < 4102444800LL; t += 97 * 86400 + 3601) {
		same_local(name, z, t);
		same_mktime(name, z, t);
	}
	nzones_all++;
	return 0;
}

static void test_every_zone(void **state)
{
	assert_int_equal(nftw("/usr/share/zoneinfo", one_zone, 16, FTW_PHYS), 0);
	assert_true(nzones_all > 300);
	print_message("%ld zones load and agree with glibc\n", nzones_all);
	unsetenv("TZ");
	tzset();
	tz_cache_clear();
}

/* The footer's POSIX string alone, against glibc reading the same string as $TZ. */
static void test_posix_against_glibc(void **state)
{
	static const char *const specs[] = {
		"GMT0BST,M3.5.0/1,M10.5.0", "EST5EDT,M3.2.0,M11.1.0", "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
		"IST-5:30", "UTC0", "<-03>3", "<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45",
		"IST-1GMT0,M10.5.0,M3.5.0/1", "<+0330>-3:30", "CET-1CEST,M3.5.0,M10.5.0/3",
		"EST5EDT", "XXX3YYY,J60/2,J300/3", "AAA-2BBB,59/1,300/-1", "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
		"NZST-12NZDT,M9.5.0,M4.1.0/3", "EST5EDT,0/0,J365/25",
	};
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct tz *z = NULL;
		assert_int_equal(tz_parse_posix(specs[i], strlen(specs[i]), &z), HE_OK);
		glibc_zone(specs[i]);
		sweep(specs[i], z, 1893456000LL, 2524608000LL, 3 * 86400 + 3601);
		tz_free(z);
	}
	unsetenv("TZ");
	tzset();
}

static void test_normalises_like_mktime(void **state)
{
	const struct tz *z = NULL;
	static const int fields[][6] = {
		/* year-1900, mon, mday, hour, min, sec */
		{ 126, 0, 0, 12, 0, 0 },    { 126, 13, 1, 0, 0, 0 },   { 126, -1, 15, 0, 0, 0 },
		{ 126, 5, 45, 25, 61, 61 }, { 126, 5, 1, -5, 0, 0 },   { 140, 1, 29, 12, 0, 0 },
		{ 126, 6, -400, 12, 0, 0 }, { 200, 11, 31, 23, 59, 59 },
	};

	glibc_zone("America/New_York");
	assert_int_equal(tz_load("America/New_York", &z), HE_OK);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		struct tm a = { .tm_year = fields[i][0], .tm_mon = fields[i][1], .tm_mday = fields[i][2],
				.tm_hour = fields[i][3], .tm_min = fields[i][4], .tm_sec = fields[i][5],
				.tm_isdst = -1 };
		struct tm b = a;
		time_t r = tz_mktime(z, &a), g = mktime(&b);
		assert_int_equal((long long)r, (long long)g);
		assert_true(same_wall(&a, &b));
		assert_int_equal(a.tm_wday, b.tm_wday);
		assert_int_equal(a.tm_yday, b.tm_yday);
	}
	unsetenv("TZ");
	tzset();
}

static void test_names(void **state)
{
	const struct tz *z = (const struct tz *)1;

	assert_int_equal(tz_load(NULL, &z), HE_OK);
	assert_non_null(z);
	assert_int_equal(tz_load("", &z), HE_OK);
	assert_int_equal(tz_load("Europe/London", NULL), HE_OK);
	assert_int_equal(tz_load("../../../etc/passwd", &z), HE_INVAL);
	assert_null(z);
	assert_int_equal(tz_load("Europe/../UTC", &z), HE_INVAL);
	assert_int_equal(tz_load("/usr/share/zoneinfo/UTC", &z), HE_INVAL);
	assert_int_equal(tz_load("./UTC", &z), HE_INVAL);
	assert_int_equal(tz_load("Europe//London", &z), HE_INVAL);
	assert_int_equal(tz_load("Europe", &z), HE_INVAL);       /* a directory */
	assert_int_equal(tz_load("zone.tab", &z), HE_INVAL);     /* not a TZif file */
	assert_int_equal(tz_load("Mars/Olympus_Mons", &z), HE_INVAL);
	assert_int_equal(tz_load("GMT0BST,M3.5.0/1,M10.5.0", &z), HE_INVAL);
	{
		char longname[TZ_NAME_MAX + 8];
		memset(longname, 'A', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		assert_int_equal(tz_load(longname, &z), HE_INVAL);
	}
	/* The cache hands out the same zone for the same name. */
	{
		const struct tz *a = NULL, *b = NULL;
		assert_int_equal(tz_load("Asia/Kolkata", &a), HE_OK);
		assert_int_equal(tz_load("Asia/Kolkata", &b), HE_OK);
		assert_ptr_equal(a, b);
	}
	assert_int_equal(tz_daykey("Pacific/Chatham", 1767225600), 20260101);   /* 13:45 there */
	assert_int_equal(tz_daykey("America/New_York", 1767225600), 20251231);
	assert_int_equal(tz_daykey("No/Such_Zone", 1767225600), 20260101);    /* UTC */
	assert_int_equal(tz_daykey(NULL, 1767225599), 20251231);
	tz_cache_clear();
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = malloc(TZ_FILE_MAX);

	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, TZ_FILE_MAX, f);
	fclose(f);
	return buf;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* A hand-made version 2 file: one type each way, one transition, the given footer. */
static size_t make_file(unsigned char *buf, int64_t when, int32_t off0, int32_t off1, unsigned idx,
			unsigned abbr, const char *footer)
{
	size_t n = 0;

	memset(buf, 0, 44);
	memcpy(buf, "TZif2", 5);
	n = 44; /* v1 block: all counts 0 but typecnt 1, charcnt 4 */
	put32(buf + 36, 1);
	put32(buf + 40, 4);
	memset(buf + n, 0, 6);
	n += 6;
	memcpy(buf + n, "UTC", 4);
	n += 4;
	memset(buf + n, 0, 44);
	memcpy(buf + n, "TZif2", 5);
	put32(buf + n + 32, 1); /* timecnt */
	put32(buf + n + 36, 2); /* typecnt */
	put32(buf + n + 40, 8); /* charcnt */
	n += 44;
	put32(buf + n, (uint32_t)((uint64_t)when >> 32));
	put32(buf + n + 4, (uint32_t)when);
	n += 8;
	buf[n++] = (unsigned char)idx;
	put32(buf + n, (uint32_t)off0);
	buf[n + 4] = 0;
	buf[n + 5] = 0;
	n += 6;
	put32(buf + n, (uint32_t)off1);
	buf[n + 4] = 1;
	buf[n + 5] = (unsigned char)abbr;
	n += 6;
	memcpy(buf + n, "AAA\0BBB\0", 8);
	n += 8;
	n += (size_t)sprintf((char *)buf + n, "\n%s\n", footer);
	return n;
}

static void test_hostile_files(void **state)
{
	unsigned char buf[512];
	struct tz *z = NULL;
	struct tm tm;
	size_t len, n;
	unsigned char *real = slurp("/usr/share/zoneinfo/Europe/London", &len);

	/* The hand-made file is good as made... */
	n = make_file(buf, 1000000, 0, 3600, 1, 4, "BBB-1");
	assert_int_equal(tz_parse(buf, n, &z), HE_OK);
	assert_int_equal(tz_local(z, 999999, &tm), HE_OK);
	assert_int_equal(tm.tm_gmtoff, 0);
	assert_int_equal(tz_local(z, 1000000, &tm), HE_OK);
	assert_int_equal(tm.tm_gmtoff, 3600);
	assert_string_equal(tm.tm_zone, "BBB");
	tz_free(z);
	/* ...and each flaw is refused. */
	n = make_file(buf, 1000000, 0, 3600, 2, 4, "BBB-1");    /* type index past the types */
	assert_int_equal(tz_parse(buf, n, &z), HE_INVAL);
	n = make_file(buf, 1000000, 0, 3600, 1, 8, "BBB-1");    /* abbreviation past the chars */
	assert_int_equal(tz_parse(buf, n, &z), HE_INVAL);
	n = make_file(buf, 1000000, 0, 400000, 1, 4, "BBB-1");  /* offset of 111 hours */
	assert_int_equal(tz_parse(buf, n, &z), HE_INVAL);
	n = make_file(buf, 1000000, 0, 3600, 1, 4, "BBB-1,M13.1.0,M1.1.0"); /* month 13 */
	assert_int_equal(tz_parse(buf, n, &z), HE_INVAL);
	n = make_file(buf, 1000000, 0, 3600, 1, 4, "BBB-1\n"); /* footer: one extra line is ok */
	assert_int_equal(tz_parse(buf, n, &z), HE_OK);
	tz_free(z);
	n = make_file(buf, 1000000, 0, 3600, 1, 4, "BBB-1");
	buf[n - 1] = 'x';                                      /* footer not ended */
	assert_int_equal(tz_parse(buf, n, &z), HE_INVAL);
	n = make_file(buf, 1000000, 0, 3600, 1, 4, "BBB-1");
	put32(buf + 54 + 32, 0xffffffffu);                     /* timecnt 4 billion */
	assert_int_equal(tz_parse(buf, n, &z), HE_INVAL);
	n = make_file(buf, 1000000, 0, 3600, 1, 4, "BBB-1");
	put32(buf + 36, 0);                                    /* no types in the v1 block */
	assert_int_equal(tz_parse(buf, n, &z), HE_INVAL);
	n = make_file(buf, 1000000, 0, 3600, 1, 4, "BBB-1");
	buf[4] = '1';                                          /* unknown version */
	assert_int_equal(tz_parse(buf, n, &z), HE_INVAL);
	assert_null(z);

	/* A real file: every truncation is refused or read without reading past its end (the
	 * sanitizer build checks the latter), and the whole file is read. */
	for (size_t cut = 0; cut < len; cut++) {
		unsigned char *copy = malloc(cut ? cut : 1);
		assert_non_null(copy);
		memcpy(copy, real, cut);
		if (tz_parse(copy, cut, &z) == HE_OK) {
			assert_int_equal(tz_local(z, 2000000000, &tm), HE_OK);
			tz_free(z);
		}
		free(copy);
	}
	assert_int_equal(tz_parse(real, len, &z), HE_OK);
	tz_free(z);
	free(real);
}

static void test_hostile_posix(void **state)
{
	static const char *const bad[] = {
		"", "E", "EST", "EST5EDT,", "EST5EDT,M3.2.0", "EST5EDT,M3.2.0,", "EST5EDT,M0.1.0,M11.1.0",
		"EST5EDT,M3.6.0,M11.1.0", "EST5EDT,M3.2.7,M11.1.0", "EST5EDT,J0,J100", "EST5EDT,J366,J100",
		"EST5EDT,366,1", "EST99", "<AB>5", "<+01", "EST5EDT,M3.2.0/168,M11.1.0",
		"EST5EDT,M3.2.0,M11.1.0x", "EST5:60", "EST5EDT4:00:60", "EST-", "EST+",
		"<AAAAAAAAAAAAAAAAAAAAAAA>5", "1234", "EST5 ",
	};
	static const char *const good[] = {
		"EST5", "<+0545>-5:45", "EST5EDT", "EST+5EDT+4,M3.2.0/-167,M11.1.0/167",
		"AAA-24BBB24,J1/0,365/0",
	};
	struct tz *z = NULL;
	struct tm tm;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tz_parse_posix(bad[i], strlen(bad[i]), &z) != HE_INVAL)
			print_error("accepted: \"%s\"\n", bad[i]);
		assert_null(z);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(tz_parse_posix(good[i], strlen(good[i]), &z), HE_OK);
		for (time_t t = -4000000000LL; t < 8000000000LL; t += 86400 * 13 + 7)
			assert_int_equal(tz_local(z, t, &tm), HE_OK);
		tz_free(z);
	}
	/* A NUL inside the string is not the end of it. */
	assert_int_equal(tz_parse_posix("EST5\0EDT", 8, &z), HE_INVAL);
	/* Out of range instants. */
	assert_int_equal(tz_parse_posix("EST5", 4, &z), HE_OK);
	assert_int_equal(tz_local(z, (time_t)((int64_t)1 << 56), &tm), HE_INVAL);
	tm = (struct tm){ .tm_year = INT32_MAX, .tm_mon = INT32_MAX, .tm_mday = INT32_MAX };
	assert_int_equal((long long)tz_mktime(z, &tm), -1LL);
	tz_free(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_glibc),
		cmocka_unit_test(test_posix_against_glibc),
		cmocka_unit_test(test_every_zone),
		cmocka_unit_test(test_normalises_like_mktime),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_hostile_files),
		cmocka_unit_test(test_hostile_posix),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	tz_cache_clear();
	return rc;
}
