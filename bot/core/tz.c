/* tz.c - time zones read from TZif files, with the POSIX TZ footer (see tz.h). */
#include "core/tz.h"
#include "core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TZ_TIMES_MAX 2000          /* transitions (tzcode's TZ_MAX_TIMES) */
#define TZ_TYPES_MAX 256           /* local time types: indices are one byte */
#define TZ_CHARS_MAX 256           /* bytes of abbreviations */
#define TZ_LEAPS_MAX 50
#define TZ_ABBR_MAX 16
#define TZ_OFF_MAX (26 * 3600)     /* an offset from UTC, either way (RFC 8536 allows 25h59m59s) */
#define TZ_RULE_TIME_MAX (167 * 3600) /* a rule's time of day (RFC 8536 extension to POSIX) */
#define TZ_T_LIMIT ((int64_t)1 << 55) /* instants we answer for: years fit an int */

struct tz_type {
	int32_t utoff;                 /* seconds east of UTC */
	bool isdst;
	const char *abbr;              /* into tz.chars or the posix abbreviations */
};

/* A POSIX rule date: Jn (1-365, never Feb 29), n (0-365) or Mm.w.d; time in local seconds. */
struct tz_rule {
	char kind;                     /* 'J', 'N' or 'M' */
	int n, m, w, d;
	int32_t time;
};

struct tz_posix {
	bool set;                      /* a footer was given */
	bool has_dst;
	struct tz_type std, dst;
	struct tz_rule start, end;
	char std_abbr[TZ_ABBR_MAX], dst_abbr[TZ_ABBR_MAX];
};

struct tz {
	size_t ntimes, ntypes;
	int64_t *times;                /* strictly ascending */
	unsigned char *idx;            /* type of each transition, < ntypes */
	struct tz_type types[TZ_TYPES_MAX];
	char chars[TZ_CHARS_MAX + 1];  /* NUL-terminated abbreviations, one extra NUL at the end */
	struct tz_posix posix;
	char *key;                     /* cache: the file's path ("" for UTC) */
	struct tz *next;
};

/* ---------------------------------------------------------------- calendar */

int64_t tz_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t tz_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = tz_floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void tz_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = tz_floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* ---------------------------------------------------------------- POSIX TZ strings */

struct cursor {
	const char *p, *end;
};

static bool at(const struct cursor *c, char ch)
{
	return c->p < c->end && *c->p == ch;
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool is_alpha(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* A decimal number of at most `max`. */
static bool number(struct cursor *c, int max, int *out)
{
	int v = 0;

	if (c->p >= c->end || !is_digit(*c->p))
		return false;
	while (c->p < c->end && is_digit(*c->p)) {
		v = v * 10 + (*c->p++ - '0');
		if (v > max)
			return false;
	}
	*out = v;
	return true;
}

/* An abbreviation: three or more letters, or <...> of letters, digits, '+' and '-'. */
static bool abbr(struct cursor *c, char *out)
{
	size_t n = 0;

	if (at(c, '<')) {
		c->p++;
		while (c->p < c->end && *c->p != '>') {
			char ch = *c->p++;
			if (!is_alpha(ch) && !is_digit(ch) && ch != '+' && ch != '-')
				return false;
			if (n + 1 >= TZ_ABBR_MAX)
				return false;
			out[n++] = ch;
		}
		if (!at(c, '>'))
			return false;
		c->p++;
	} else {
		while (c->p < c->end && is_alpha(*c->p)) {
			if (n + 1 >= TZ_ABBR_MAX)
				return false;
			out[n++] = *c->p++;
		}
	}
	out[n] = '\0';
	return n >= 3;
}

/* [+-]hh[:mm[:ss]], hours up to max_h; the value with its sign. */
static bool hms(struct cursor *c, int max_h, int32_t *out)
{
	int sign = 1, h, m = 0, s = 0;

	if (at(c, '+') || at(c, '-'))
		sign = *c->p++ == '-' ? -1 : 1;
	if (!number(c, max_h, &h))
		return false;
	if (at(c, ':')) {
		c->p++;
		if (!number(c, 59, &m))
			return false;
		if (at(c, ':')) {
			c->p++;
			if (!number(c, 59, &s))
				return false;
		}
	}
	*out = sign * (h * 3600 + m * 60 + s);
	return true;
}

static bool rule(struct cursor *c, struct tz_rule *r)
{
	r->time = 2 * 3600;
	if (at(c, 'J')) {
		c->p++;
		r->kind = 'J';
		if (!number(c, 365, &r->n) || r->n < 1)
			return false;
	} else if (at(c, 'M')) {
		c->p++;
		r->kind = 'M';
		if (!number(c, 12, &r->m) || r->m < 1 || !at(c, '.'))
			return false;
		c->p++;
		if (!number(c, 5, &r->w) || r->w < 1 || !at(c, '.'))
			return false;
		c->p++;
		if (!number(c, 6, &r->d))
			return false;
	} else {
		r->kind = 'N';
		if (!number(c, 365, &r->n))
			return false;
	}
	if (at(c, '/')) {
		c->p++;
		if (!hms(c, 167, &r->time))
			return false;
	}
	return true;
}

static int posix_parse(const char *s, size_t len, struct tz_posix *px)
{
	struct cursor c = { s, s + len };
	int32_t off;

	memset(px, 0, sizeof(*px));
	if (len > TZ_POSIX_MAX || memchr(s, '\0', len))
		return HE_INVAL;
	/* POSIX offsets count hours west of UTC: "EST5" is UTC-5. */
	if (!abbr(&c, px->std_abbr) || !hms(&c, 24, &off))
		return HE_INVAL;
	px->std = (struct tz_type){ -off, false, px->std_abbr };
	px->set = true;
	if (c.p == c.end)
		return HE_OK;
	if (!abbr(&c, px->dst_abbr))
		return HE_INVAL;
	px->has_dst = true;
	px->dst = (struct tz_type){ px->std.utoff + 3600, true, px->dst_abbr };
	if (c.p < c.end && !at(&c, ',')) {
		if (!hms(&c, 24, &off))
			return HE_INVAL;
		px->dst.utoff = -off;
	}
	if (c.p == c.end) {
		/* No rule: the US rules, as glibc assumes. */
		px->start = (struct tz_rule){ 'M', 0, 3, 2, 0, 2 * 3600 };
		px->end = (struct tz_rule){ 'M', 0, 11, 1, 0, 2 * 3600 };
		return HE_OK;
	}
	if (!at(&c, ','))
		return HE_INVAL;
	c.p++;
	if (!rule(&c, &px->start) || !at(&c, ','))
		return HE_INVAL;
	c.p++;
	if (!rule(&c, &px->end) || c.p != c.end)
		return HE_INVAL;
	return HE_OK;
}

/* Local seconds (since 1970-01-01 00:00 local) at which rule r falls in year y. */
static int64_t rule_local(const struct tz_rule *r, int64_t y)
{
	int64_t jan1 = tz_days_from_civil(y, 1, 1), day;

	if (r->kind == 'J') {
		day = jan1 + r->n - 1 + (is_leap(y) && r->n >= 60);
	} else if (r->kind == 'N') {
		day = jan1 + r->n;
	} else {
		int64_t first = tz_days_from_civil(y, r->m, 1);
		int64_t next = r->m == 12 ? tz_days_from_civil(y + 1, 1, 1) : tz_days_from_civil(y, r->m + 1, 1);
		int wd = (int)(first + 4 - tz_floor_div(first + 4, 7) * 7); /* 1970-01-01: Thursday */

		day = first + (r->d - wd + 7) % 7 + (int64_t)(r->w - 1) * 7;
		while (day >= next)
			day -= 7;
	}
	return day * 86400 + r->time;
}

/* The type the footer gives instant t. As glibc does (and so as Hearth always did): the two
 * changes of t's year in UTC; the change to DST happens on standard time, the change back on
 * DST; when the change back comes first in the year (southern hemisphere), DST is outside. */
static const struct tz_type *posix_at(const struct tz_posix *px, int64_t t)
{
	int64_t y, start, end;
	int m, d;
	bool dst;

	if (!px->has_dst)
		return &px->std;
	tz_civil_from_days(tz_floor_div(t, 86400), &y, &m, &d);
	start = rule_local(&px->start, y) - px->std.utoff;
	end = rule_local(&px->end, y) - px->dst.utoff;
	if (start > end)
		dst = t < end || t >= start;
	else
		dst = t >= start && t < end;
	return dst ? &px->dst : &px->std;
}

/* ---------------------------------------------------------------- TZif files */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_header {
	char version;
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static int read_header(const unsigned char *p, size_t avail, struct tzif_header *h)
{
	if (avail < 44 || memcmp(p, "TZif", 4) != 0)
		return HE_INVAL;
	h->version = (char)p[4];
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	if (h->typecnt < 1 || h->typecnt > TZ_TYPES_MAX || h->timecnt > TZ_TIMES_MAX ||
	    h->charcnt < 1 || h->charcnt > TZ_CHARS_MAX || h->leapcnt > TZ_LEAPS_MAX ||
	    (h->isstdcnt != 0 && h->isstdcnt != h->typecnt) ||
	    (h->isutcnt != 0 && h->isutcnt != h->typecnt))
		return HE_INVAL;
	return HE_OK;
}

/* Bytes of the data block after a header, for 4- or 8-byte times (counts are capped above). */
static size_t block_size(const struct tzif_header *h, size_t tsize)
{
	return h->timecnt * tsize + h->timecnt + h->typecnt * 6 + h->charcnt +
	       h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

static int read_block(struct tz *z, const struct tzif_header *h, const unsigned char *p, size_t tsize)
{
	const unsigned char *times = p, *idx = times + h->timecnt * tsize, *types = idx + h->timecnt;
	const unsigned char *chars = types + h->typecnt * 6;

	z->ntimes = h->timecnt;
	z->ntypes = h->typecnt;
	if (z->ntimes) {
		z->times = malloc(z->ntimes * sizeof(*z->times));
		z->idx = malloc(z->ntimes);
		if (!z->times || !z->idx)
			return HE_NOMEM;
	}
	for (size_t i = 0; i < z->ntimes; i++) {
		z->times[i] = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
		if (i && z->times[i] <= z->times[i - 1])
			return HE_INVAL;
		if (idx[i] >= z->ntypes)
			return HE_INVAL;
		z->idx[i] = idx[i];
	}
	memcpy(z->chars, chars, h->charcnt);
	z->chars[h->charcnt] = '\0';
	for (size_t i = 0; i < z->ntypes; i++) {
		const unsigned char *t = types + 6 * i;
		int32_t off = (int32_t)be32(t);

		if (off < -TZ_OFF_MAX || off > TZ_OFF_MAX || t[4] > 1 || t[5] >= h->charcnt)
			return HE_INVAL;
		z->types[i] = (struct tz_type){ off, t[4] == 1, z->chars + t[5] };
	}
	return HE_OK;
}

static struct tz *tz_new(void)
{
	return calloc(1, sizeof(struct tz));
}

void tz_free(struct tz *z)
{
	if (!z)
		return;
	free(z->times);
	free(z->idx);
	free(z->key);
	free(z);
}

/* The footer's string stays with the zone (posix.*_abbr); types point into it. */
static void posix_fix(struct tz_posix *px)
{
	px->std.abbr = px->std_abbr;
	px->dst.abbr = px->dst_abbr;
}

int tz_parse(const unsigned char *data, size_t len, struct tz **out)
{
	struct tzif_header h;
	struct tz *z = NULL;
	size_t off = 0, tsize = 4;
	int rc;

	*out = NULL;
	if (!data || len > TZ_FILE_MAX)
		return HE_INVAL;
	if ((rc = read_header(data, len, &h)))
		return rc;
	off = 44;
	if (h.version != '\0') {
		if (h.version < '2' || h.version > '9')
			return HE_INVAL;
		/* Version 2+: skip the 32-bit block, read the 64-bit one. */
		off += block_size(&h, 4);
		if (off > len || (rc = read_header(data + off, len - off, &h)))
			return HE_INVAL;
		off += 44;
		tsize = 8;
	}
	if (block_size(&h, tsize) > len - off)
		return HE_INVAL;
	if (!(z = tz_new()))
		return HE_NOMEM;
	if ((rc = read_block(z, &h, data + off, tsize)))
		goto out;
	off += block_size(&h, tsize);
	if (tsize == 8 && off < len) {
		/* The footer: "\n" TZ-string "\n"; an empty string says nothing past the end. */
		const unsigned char *nl;
		if (data[off] != '\n') {
			rc = HE_INVAL;
			goto out;
		}
		off++;
		nl = memchr(data + off, '\n', len - off);
		if (!nl) {
			rc = HE_INVAL;
			goto out;
		}
		if (nl > data + off) {
			if ((rc = posix_parse((const char *)data + off, (size_t)(nl - (data + off)), &z->posix)))
				goto out;
			posix_fix(&z->posix);
		}
	}
	*out = z;
	z = NULL;
out:
	tz_free(z);
	return rc;
}

int tz_parse_posix(const char *s, size_t len, struct tz **out)
{
	struct tz *z;
	int rc;

	*out = NULL;
	if (!s)
		return HE_INVAL;
	if (!(z = tz_new()))
		return HE_NOMEM;
	if ((rc = posix_parse(s, len, &z->posix))) {
		tz_free(z);
		return rc;
	}
	posix_fix(&z->posix);
	z->types[0] = z->posix.std;
	z->ntypes = 1;
	*out = z;
	return HE_OK;
}

/* ---------------------------------------------------------------- loading and the cache */

static struct tz *cache;
static struct tz utc_zone = {
	.ntypes = 1,
	.types = { { 0, false, "UTC" } },
};

void tz_cache_clear(void)
{
	while (cache) {
		struct tz *next = cache->next;
		tz_free(cache);
		cache = next;
	}
}

static bool name_ok(const char *name)
{
	size_t comp = 0;

	if (strnlen(name, TZ_NAME_MAX + 1) > TZ_NAME_MAX || name[0] == '/')
		return false;
	for (const char *c = name;; c++) {
		if (*c == '/' || *c == '\0') {
			/* no empty, "." or ".." component */
			if (comp == 0 || (comp == 1 && c[-1] == '.') || (comp == 2 && c[-1] == '.' && c[-2] == '.'))
				return false;
			if (*c == '\0')
				return true;
			comp = 0;
			continue;
		}
		if (!is_alpha(*c) && !is_digit(*c) && *c != '_' && *c != '-' && *c != '+' && *c != '.')
			return false;
		comp++;
	}
}

/* Reads a regular file of at most TZ_FILE_MAX bytes. */
static int read_file(const char *path, unsigned char **data, size_t *len)
{
	struct stat st;
	unsigned char *buf = NULL;
	size_t got = 0;
	int fd, rc = HE_INVAL;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return HE_INVAL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > TZ_FILE_MAX)
		goto out;
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		rc = HE_NOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size + 1) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got > (size_t)st.st_size) /* it grew: not a zone file we trust */
		goto out;
	*data = buf;
	*len = got;
	buf = NULL;
	rc = HE_OK;
out:
	free(buf);
	close(fd);
	return rc;
}

int tz_load(const char *name, const struct tz **out)
{
	const char *dir = getenv("TZDIR");
	char path[PATH_MAX];
	unsigned char *data = NULL;
	struct tz *z = NULL;
	size_t len = 0;
	int n, rc;

	if (out)
		*out = NULL;
	if (!name || !*name) {
		if (out)
			*out = &utc_zone;
		return HE_OK;
	}
	if (!name_ok(name))
		return HE_INVAL;
	if (!dir || !*dir)
		dir = "/usr/share/zoneinfo";
	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return HE_INVAL;
	for (struct tz *c = cache; c; c = c->next)
		if (strcmp(c->key, path) == 0) {
			if (out)
				*out = c;
			return HE_OK;
		}
	if ((rc = read_file(path, &data, &len)))
		return rc;
	rc = tz_parse(data, len, &z);
	free(data);
	if (rc)
		return rc;
	if (!(z->key = strdup(path))) {
		tz_free(z);
		return HE_NOMEM;
	}
	z->next = cache;
	cache = z;
	if (out)
		*out = z;
	return HE_OK;
}

/* ---------------------------------------------------------------- conversions */

/* The type in effect at t. */
static const struct tz_type *type_at(const struct tz *z, int64_t t)
{
	size_t lo, hi;

	if (z->ntimes == 0 || t < z->times[0]) {
		/* Before the first change (or none): the first standard-time type, as glibc does. */
		if (z->ntimes == 0 && z->posix.set)
			return posix_at(&z->posix, t);
		for (size_t i = 0; i < z->ntypes; i++)
			if (!z->types[i].isdst)
				return &z->types[i];
		return &z->types[0];
	}
	if (t >= z->times[z->ntimes - 1] && z->posix.set)
		return posix_at(&z->posix, t);
	lo = 0;
	hi = z->ntimes; /* times[lo] <= t < times[hi] (hi == ntimes: past the last) */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->times[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return &z->types[z->idx[lo]];
}

static void fill_tm(int64_t t, const struct tz_type *ty, struct tm *tm)
{
	int64_t local = t + ty->utoff, days = tz_floor_div(local, 86400), secs = local - days * 86400, y;
	int m, d;

	tz_civil_from_days(days, &y, &m, &d);
	memset(tm, 0, sizeof(*tm));
	tm->tm_year = (int)(y - 1900);
	tm->tm_mon = m - 1;
	tm->tm_mday = d;
	tm->tm_hour = (int)(secs / 3600);
	tm->tm_min = (int)(secs / 60 % 60);
	tm->tm_sec = (int)(secs % 60);
	tm->tm_wday = (int)(days + 4 - tz_floor_div(days + 4, 7) * 7);
	tm->tm_yday = (int)(days - tz_days_from_civil(y, 1, 1));
	tm->tm_isdst = ty->isdst;
	tm->tm_gmtoff = ty->utoff;
	tm->tm_zone = ty->abbr;
}

int tz_local(const struct tz *z, time_t t, struct tm *tm)
{
	if (!z)
		z = &utc_zone;
	if ((int64_t)t <= -TZ_T_LIMIT || (int64_t)t >= TZ_T_LIMIT)
		return HE_INVAL;
	fill_tm((int64_t)t, type_at(z, (int64_t)t), tm);
	return HE_OK;
}

/* w is in a gap: the clock jumped past it at an instant between a and b. The offset in effect
 * before the jump. */
static int32_t gap_offset(const struct tz *z, int64_t a, int64_t b)
{
	return type_at(z, a < b ? a : b)->utoff;
}

time_t tz_mktime(const struct tz *z, struct tm *tm)
{
	int64_t y, mon, w, cand[3], best = 0;
	bool found = false;
	int n = 0;

	if (!z)
		z = &utc_zone;
	/* Normalise the fields into local seconds w (int64: no field can overflow it). */
	mon = tm->tm_mon;
	y = (int64_t)tm->tm_year + 1900 + tz_floor_div(mon, 12);
	mon -= tz_floor_div(mon, 12) * 12;
	if (y <= -(1LL << 31) || y >= (1LL << 31))
		return (time_t)-1;
	w = (tz_days_from_civil(y, (int)mon + 1, 1) + tm->tm_mday - 1) * 86400 +
	    (int64_t)tm->tm_hour * 3600 + (int64_t)tm->tm_min * 60 + tm->tm_sec;
	if (w <= -TZ_T_LIMIT + 2 * TZ_OFF_MAX || w >= TZ_T_LIMIT - 2 * TZ_OFF_MAX)
		return (time_t)-1;
	/* The offsets that can apply near w: before, after, and at w read as UTC. */
	cand[n++] = type_at(z, w - TZ_OFF_MAX)->utoff;
	cand[n++] = type_at(z, w + TZ_OFF_MAX)->utoff;
	cand[n++] = type_at(z, w - cand[0])->utoff;
	for (int i = 0; i < n; i++) {
		int64_t t = w - cand[i];
		if (type_at(z, t)->utoff == cand[i] && (!found || t < best)) {
			best = t;
			found = true;
		}
	}
	if (!found)
		best = w - gap_offset(z, w - cand[1], w - cand[0]);
	fill_tm(best, type_at(z, best), tm);
	return (time_t)best;
}

long tz_daykey(const char *name, time_t t)
{
	const struct tz *z = NULL;
	struct tm tm;

	if (tz_load(name, &z) != HE_OK)
		z = &utc_zone;
	if (tz_local(z, t, &tm) != HE_OK)
		return 0;
	return (tm.tm_year + 1900L) * 10000L + (tm.tm_mon + 1) * 100L + tm.tm_mday;
}
