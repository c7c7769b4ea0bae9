/* cron.c - cron schedules in IANA time zones with DST, quiet hours. See cron.h. */
#include "care/cron.h"
#include "care/phrase.h"
#include "core/err.h"
#include "core/tz.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOM_STAR 0x1u
#define DOW_STAR 0x2u

struct cron_expr {
	uint64_t minute; /* bits 0-59 */
	uint32_t hour;   /* bits 0-23 */
	uint32_t dom;    /* bits 1-31 */
	uint16_t month;  /* bits 1-12 */
	uint8_t dow;     /* bits 0-6, Sunday = 0 */
	uint8_t flags;   /* DOM_STAR, DOW_STAR */
};

/* ---------------------------------------------------------------- messages */

/* Longest piece of user text quoted back in a message. */
#define QUOTE_MAX 24

/* Copies up to QUOTE_MAX bytes of s[0..n) into q for quoting in a message: printable ASCII
 * only (anything else becomes '?', so messages stay valid UTF-8), "..." when cut short. */
struct quoted {
	char s[QUOTE_MAX + 4];
};

static const char *quote(struct quoted *q, const char *s, size_t n)
{
	size_t i, k = n > QUOTE_MAX ? QUOTE_MAX : n;

	for (i = 0; i < k; i++)
		q->s[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (n > QUOTE_MAX) {
		memcpy(q->s + k, "...", 3);
		k += 3;
	}
	q->s[k] = '\0';
	return q->s;
}

/* Where a message goes and in which words (cron.h, struct cron_words). */
struct cerr {
	char *buf;
	size_t len;
	const struct cron_words *words;
};

/* The reader's text for key, or en when there is none or its printf slots are not en's (a
 * translation with other slots would read the wrong arguments). */
static const char *tr(const struct cerr *er, const char *key, const char *en)
{
	char a[64], b[64];
	const char *t;

	if (!er->words || !er->words->text || !(t = er->words->text(er->words->ud, key)))
		return en;
	if (!phrase_slots(t, a, sizeof(a)) || !phrase_slots(en, b, sizeof(b)) || strcmp(a, b))
		return en;
	return t;
}

/* Writes the message key (English: fmt) into the caller's buffer, if any. */
__attribute__((format(printf, 3, 4))) static void msg(const struct cerr *er, const char *key,
						      const char *fmt, ...)
{
	va_list ap;

	if (!er->buf || !er->len)
		return;
	va_start(ap, fmt);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	vsnprintf(er->buf, er->len, tr(er, key, fmt), ap);
#pragma GCC diagnostic pop
	va_end(ap);
}

/* ---------------------------------------------------------------- parsing */

struct field {
	const char *name;
	const char *key;            /* its name's phrase (cron.field_...) */
	int lo, hi;                 /* accepted values (day-of-week: 0-7) */
	const char *const *names;   /* 3-letter names, index 0 = value `name_base` */
	const char *const *full;    /* full names */
	int name_base;
	int nnames;
};

static const char *const mon3[] = { "jan", "feb", "mar", "apr", "may", "jun",
				    "jul", "aug", "sep", "oct", "nov", "dec" };
static const char *const monfull[] = { "january", "february", "march", "april", "may", "june",
				       "july", "august", "september", "october", "november",
				       "december" };
static const char *const dow3[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
static const char *const dowfull[] = { "sunday", "monday", "tuesday", "wednesday", "thursday",
				       "friday", "saturday" };

enum { F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, NFIELDS };

static const struct field fields[NFIELDS] = {
	{ "minute", "field_minute", 0, 59, NULL, NULL, 0, 0 },
	{ "hour", "field_hour", 0, 23, NULL, NULL, 0, 0 },
	{ "day-of-month", "field_day_of_month", 1, 31, NULL, NULL, 0, 0 },
	{ "month", "field_month", 1, 12, mon3, monfull, 1, 12 },
	{ "day-of-week", "field_day_of_week", 0, 7, dow3, dowfull, 0, 7 },
};

static const char *fname(const struct cerr *er, const struct field *f)
{
	return tr(er, f->key, f->name);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool word_eq(const char *s, size_t n, const char *word)
{
	size_t i;

	if (strlen(word) != n)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != word[i])
			return false;
	}
	return true;
}

static void range_msg(const struct field *f, const char *tok, size_t n, bool numeric,
		      const struct cerr *er)
{
	struct quoted q;

	quote(&q, tok, n);
	if (f->names)
		msg(er, numeric ? "range_names" : "range_names_word",
		    numeric ? "%s must be %d-%d or %s-%s, got %s" : "%s must be %d-%d or %s-%s, got '%s'",
		    fname(er, f), f->lo, f->hi, f->names[0], f->names[f->nnames == 7 ? 6 : 11], q.s);
	else
		msg(er, numeric ? "range" : "range_word",
		    numeric ? "%s must be %d-%d, got %s" : "%s must be %d-%d, got '%s'", fname(er, f), f->lo,
		    f->hi, q.s);
}

/* Reads one value (number or name) at *pp, advancing it. */
static int parse_value(const struct field *f, const char **pp, int *out, const struct cerr *er)
{
	const char *s = *pp, *p = s;
	struct quoted q;
	bool digits = true, alpha = true;
	size_t n;
	int i;

	while (is_digit(*p) || is_alpha(*p)) {
		digits = digits && is_digit(*p);
		alpha = alpha && is_alpha(*p);
		p++;
	}
	n = (size_t)(p - s);
	if (n == 0) {
		if (*p == '\0' || is_blank(*p))
			msg(er, "ends_early", "%s ends where a value was expected", fname(er, f));
		else
			msg(er, "unexpected_value", "unexpected '%s' in %s, expected a value",
			    quote(&q, p, 1), fname(er, f));
		return HE_INVAL;
	}
	*pp = p;
	if (digits) {
		long v = 0;
		size_t k;

		if (n > 4)
			goto bad_number;
		for (k = 0; k < n; k++)
			v = v * 10 + (s[k] - '0');
		if (v < f->lo || v > f->hi)
			goto bad_number;
		*out = (int)v;
		return 0;
bad_number:
		range_msg(f, s, n, true, er);
		return HE_INVAL;
	}
	if (alpha && f->names) {
		for (i = 0; i < f->nnames; i++) {
			if (word_eq(s, n, f->names[i]) || word_eq(s, n, f->full[i])) {
				*out = f->name_base + i;
				return 0;
			}
		}
	}
	range_msg(f, s, n, false, er);
	return HE_INVAL;
}

/* Parses one field from *pp up to the next blank or the end; sets bits in *mask. */
static int parse_field(int fi, const char **pp, uint64_t *mask, bool *star, const struct cerr *er)
{
	const struct field *f = &fields[fi];
	const char *p = *pp;
	struct quoted q;
	int rc;

	*mask = 0;
	*star = (*p == '*');
	for (;;) {
		int a, b, step = 1, v;
		bool single = false;

		if (*p == '*') {
			p++;
			a = f->lo;
			b = fi == F_DOW ? 6 : f->hi;
		} else {
			if (*p == ',' || *p == '\0' || is_blank(*p)) {
				msg(er, "empty_item", "%s has an empty item in its list", fname(er, f));
				return HE_INVAL;
			}
			rc = parse_value(f, &p, &a, er);
			if (rc)
				return rc;
			b = a;
			if (*p == '-') {
				p++;
				rc = parse_value(f, &p, &b, er);
				if (rc)
					return rc;
				if (fi == F_DOW && b == 0 && a > 0)
					b = 7; /* fri-sun */
				else if (fi == F_DOW && a == 7 && b < 7)
					a = 0; /* 7-1 is sun-mon */
				if (b < a) {
					msg(er, "backwards",
					    "%s range %d-%d runs backwards; write %d-%d,%d-%d instead",
					    fname(er, f), a, b, a, fi == F_DOW ? 6 : f->hi, f->lo, b);
					return HE_INVAL;
				}
			} else {
				single = true;
			}
		}
		if (*p == '/') {
			const char *s = ++p;
			long n = 0;

			while (is_digit(*p)) {
				if (n < 100000)
					n = n * 10 + (*p - '0');
				p++;
			}
			if (p == s) {
				msg(er, "step_number", "%s step after '/' must be a number", fname(er, f));
				return HE_INVAL;
			}
			if (n < 1 || n > f->hi) {
				msg(er, "step_range", "%s step must be 1-%d, got %s", fname(er, f), f->hi,
				    quote(&q, s, (size_t)(p - s)));
				return HE_INVAL;
			}
			step = (int)n;
			if (single)
				b = fi == F_DOW ? 6 : f->hi; /* a/n means a-max/n */
		}
		for (v = a; v <= b; v += step)
			*mask |= (uint64_t)1 << (fi == F_DOW && v == 7 ? 0 : v);
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p == '\0' || is_blank(*p))
			break;
		msg(er, "unexpected", "unexpected '%s' in %s", quote(&q, p, 1), fname(er, f));
		return HE_INVAL;
	}
	*pp = p;
	return 0;
}

static const struct {
	const char *name;
	const char *expansion;
} shortcuts[] = {
	{ "@yearly", "0 0 1 1 *" },  { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" },  { "@daily", "0 0 * * *" },    { "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

static const int month_days_max[13] = { 0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

static int parse_fields(const char *p, struct cron_expr *e, const struct cerr *er)
{
	uint64_t masks[NFIELDS];
	bool stars[NFIELDS];
	int nf = 0, rc, m;

	for (;;) {
		while (is_blank(*p))
			p++;
		if (*p == '\0')
			break;
		if (nf == NFIELDS) {
			while (*p) {
				while (*p && !is_blank(*p))
					p++;
				nf++;
				while (is_blank(*p))
					p++;
			}
			break;
		}
		rc = parse_field(nf, &p, &masks[nf], &stars[nf], er);
		if (rc)
			return rc;
		nf++;
	}
	if (nf != NFIELDS) {
		msg(er, "five_fields", "expected 5 fields (minute hour day-of-month month day-of-week), got %d",
		    nf);
		return HE_INVAL;
	}
	e->minute = masks[F_MIN];
	e->hour = (uint32_t)masks[F_HOUR];
	e->dom = (uint32_t)masks[F_DOM];
	e->month = (uint16_t)masks[F_MON];
	e->dow = (uint8_t)masks[F_DOW];
	e->flags = (uint8_t)((stars[F_DOM] ? DOM_STAR : 0) | (stars[F_DOW] ? DOW_STAR : 0));

	/* With AND semantics, a day-of-month that no chosen month has can never fire. */
	if (e->flags) {
		for (m = 1; m <= 12; m++) {
			uint32_t days = (uint32_t)(((uint64_t)1 << (month_days_max[m] + 1)) - 2);
			if ((e->month & (1u << m)) && (e->dom & days))
				break;
		}
		if (m > 12) {
			msg(er, "never_fires",
			    "this schedule never fires: the chosen months never have that day-of-month");
			return HE_INVAL;
		}
	}
	return 0;
}

int cron_parse(const char *text, struct cron_expr **out, char *errbuf, size_t errlen)
{
	return cron_parse_words(text, out, errbuf, errlen, NULL);
}

int cron_parse_words(const char *text, struct cron_expr **out, char *errbuf, size_t errlen,
		     const struct cron_words *words)
{
	const struct cerr er = { errbuf, errlen, words };
	struct cron_expr *e = NULL;
	const char *p, *end;
	size_t len, i;
	int rc;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (!out)
		return HE_INVAL;
	*out = NULL;
	if (!text) {
		msg(&er, "empty", "schedule is empty");
		return HE_INVAL;
	}
	len = strnlen(text, CRON_MAX_TEXT + 1);
	if (len > CRON_MAX_TEXT) {
		msg(&er, "too_long", "schedule is longer than %d characters", CRON_MAX_TEXT);
		return HE_INVAL;
	}
	p = text;
	while (is_blank(*p))
		p++;
	if (*p == '\0') {
		msg(&er, "empty", "schedule is empty");
		return HE_INVAL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return HE_NOMEM;
	if (*p == '@') {
		end = p;
		while (*end && !is_blank(*end))
			end++;
		for (i = 0; i < sizeof(shortcuts) / sizeof(shortcuts[0]); i++)
			if (word_eq(p, (size_t)(end - p), shortcuts[i].name))
				break;
		while (is_blank(*end))
			end++;
		if (i == sizeof(shortcuts) / sizeof(shortcuts[0]) || *end) {
			struct quoted q;

			msg(&er, "shortcut", "unknown shortcut '%s'; use @hourly, @daily, @weekly, @monthly or @yearly",
			    quote(&q, p, strcspn(p, " \t\r\n")));
			rc = HE_INVAL;
			goto out;
		}
		p = shortcuts[i].expansion;
	}
	rc = parse_fields(p, e, &er);
out:
	if (rc) {
		free(e);
		return rc;
	}
	*out = e;
	return 0;
}

void cron_free(struct cron_expr *e)
{
	free(e);
}

/* ---------------------------------------------------------------- calendar */

static bool day_matches(const struct cron_expr *e, int dom, int wday)
{
	bool dom_ok = (e->dom >> dom) & 1u;
	bool dow_ok = (e->dow >> wday) & 1u;

	if (e->flags & (DOM_STAR | DOW_STAR))
		return dom_ok && dow_ok;
	return dom_ok || dow_ok;
}

/* ---------------------------------------------------------------- time zones */

bool cron_tz_valid(const char *tz)
{
	return tz && *tz && tz_load(tz, NULL) == HE_OK;
}

/* UTC offset (seconds east) in effect at instant t in zone z. */
static int offset_at(const struct tz *z, time_t t, long *off)
{
	struct tm tm;

	if (tz_local(z, t, &tm) != HE_OK)
		return HE_INVAL;
	*off = tm.tm_gmtoff;
	return 0;
}

/* Offsets never exceed this many seconds either way (historic LMT included). */
#define OFF_SPAN (16 * 3600)

/* Maps a local wall-clock time `w` (seconds since 1970-01-01 00:00 local) to an instant:
 * its first occurrence if it exists, else the first valid instant after the gap it falls in.
 * Returns 0 with *t set, 1 if no instant could be determined, or a negative code. This mapping
 * is monotone in w, which cron_next relies on. */
static int resolve_wall(const struct tz *z, int64_t w, time_t *t)
{
	long offs[3], o;
	bool found = false;
	int i, j, rc;
	time_t best = 0, lo, hi;

	if ((rc = offset_at(z, (time_t)(w - OFF_SPAN), &offs[0])) ||
	    (rc = offset_at(z, (time_t)(w + OFF_SPAN), &offs[1])) ||
	    (rc = offset_at(z, (time_t)(w - offs[0]), &offs[2])))
		return rc;
	for (i = 0; i < 3; i++) {
		time_t cand = (time_t)(w - offs[i]);

		for (j = 0; j < i; j++)
			if (offs[j] == offs[i])
				break;
		if (j < i)
			continue;
		if ((rc = offset_at(z, cand, &o)))
			return rc;
		if (o == offs[i] && (!found || cand < best)) {
			best = cand;
			found = true;
		}
	}
	if (found) {
		*t = best;
		return 0;
	}
	/* In a gap: the clock jumped from offs[0] to offs[1] at some instant T in
	 * (w - offs[1], w - offs[0]]; find T, the first instant whose local time passes w. */
	if (offs[1] <= offs[0])
		return 1;
	lo = (time_t)(w - offs[1]); /* local time here is before w */
	hi = (time_t)(w - offs[0]); /* local time here is after w */
	while (hi - lo > 1) {
		time_t mid = lo + (hi - lo) / 2;

		if ((rc = offset_at(z, mid, &o)))
			return rc;
		if (mid + o > w)
			hi = mid;
		else
			lo = mid;
	}
	*t = hi;
	return 0;
}

/* 0001-01-01 and (roughly) 9990-01-01 as epoch seconds: keeps all arithmetic far from limits. */
#define EPOCH_MIN (-62135596800LL)
#define EPOCH_MAX (253086076800LL)
#define HORIZON_DAYS (5 * 365 + 2)

static int next_in_zone(const struct cron_expr *e, const struct tz *z, time_t after, time_t *next)
{
	int64_t wall, day0, day, last;
	int sec0, rc;
	long off;

	if ((rc = offset_at(z, after, &off)))
		return rc;
	wall = tz_floor_div((int64_t)after + off, 60) * 60;
	day0 = tz_floor_div(wall, 86400);
	sec0 = (int)(wall - day0 * 86400);
	last = day0 + HORIZON_DAYS;
	for (day = day0; day <= last; day++) {
		int64_t y;
		int m, d, wday, h, h0, mi, mi0;

		tz_civil_from_days(day, &y, &m, &d);
		if (!((e->month >> m) & 1u)) {
			/* skip to the last day of this month */
			day = tz_days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) - 1;
			continue;
		}
		wday = (int)(day + 4 - tz_floor_div(day + 4, 7) * 7); /* 1970-01-01 was a Thursday */
		if (!day_matches(e, d, wday))
			continue;
		h0 = day == day0 ? sec0 / 3600 : 0;
		for (h = h0; h < 24; h++) {
			if (!((e->hour >> h) & 1u))
				continue;
			mi0 = (day == day0 && h == h0) ? (sec0 % 3600) / 60 : 0;
			for (mi = mi0; mi < 60; mi++) {
				time_t t;

				if (!((e->minute >> mi) & 1u))
					continue;
				rc = resolve_wall(z, day * 86400 + h * 3600 + mi * 60, &t);
				if (rc < 0)
					return rc;
				if (rc == 0 && t > after) {
					*next = t;
					return 0;
				}
			}
		}
	}
	return CRON_ENONE;
}

int cron_next(const struct cron_expr *e, const char *tz, time_t after, time_t *next)
{
	const struct tz *z = NULL;
	int rc;

	if (!e || !next || (int64_t)after < EPOCH_MIN || (int64_t)after > EPOCH_MAX)
		return HE_INVAL;
	if ((rc = tz_load(tz, &z)))
		return rc;
	return next_in_zone(e, z, after, next);
}

int cron_local(const char *tz, time_t t, int *minute_of_day, int *wday, long *daykey)
{
	const struct tz *z = NULL;
	struct tm tm;
	int rc;

	if ((int64_t)t < EPOCH_MIN || (int64_t)t > EPOCH_MAX)
		return HE_INVAL;
	if ((rc = tz_load(tz, &z)) || (rc = tz_local(z, t, &tm)))
		return rc;
	if (minute_of_day)
		*minute_of_day = tm.tm_hour * 60 + tm.tm_min;
	if (wday)
		*wday = tm.tm_wday;
	if (daykey)
		*daykey = (tm.tm_year + 1900L) * 10000L + (tm.tm_mon + 1) * 100L + tm.tm_mday;
	return 0;
}

/* ---------------------------------------------------------------- quiet hours */

#define HHMM_TEXT_MAX 64

/* Parses exactly s[0..n) as H:MM or HH:MM. */
static int hhmm_span(const char *s, size_t n, int *out, const struct cerr *er)
{
	int h, m;

	if (!((n == 4 && is_digit(s[0]) && s[1] == ':' && is_digit(s[2]) && is_digit(s[3])) ||
	      (n == 5 && is_digit(s[0]) && is_digit(s[1]) && s[2] == ':' && is_digit(s[3]) &&
	       is_digit(s[4])))) {
		struct quoted q;

		msg(er, "time_form", "times must look like 07:30, got '%s'", quote(&q, s, n));
		return HE_INVAL;
	}
	h = n == 4 ? s[0] - '0' : (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[n - 2] - '0') * 10 + (s[n - 1] - '0');
	if (h > 23) {
		if (h == 24 && m == 0)
			msg(er, "hour_24", "hour must be 0-23, got 24 (write 00:00)");
		else
			msg(er, "hour_range", "hour must be 0-23, got %d", h);
		return HE_INVAL;
	}
	if (m > 59) {
		msg(er, "minute_range", "minute must be 0-59, got %d", m);
		return HE_INVAL;
	}
	*out = h * 60 + m;
	return 0;
}

static void trim(const char **s, size_t *n)
{
	while (*n && is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_blank((*s)[*n - 1]))
		(*n)--;
}

int cron_parse_hhmm(const char *text, int *minute_of_day)
{
	size_t n;
	int v, rc;

	if (!text || !minute_of_day)
		return HE_INVAL;
	n = strnlen(text, HHMM_TEXT_MAX + 1);
	if (n > HHMM_TEXT_MAX)
		return HE_INVAL;
	trim(&text, &n);
	rc = hhmm_span(text, n, &v, &(struct cerr){ NULL, 0, NULL });
	if (rc)
		return rc;
	*minute_of_day = v;
	return 0;
}

int cron_parse_quiet(const char *text, int *start_min, int *end_min, char *errbuf, size_t errlen)
{
	return cron_parse_quiet_words(text, start_min, end_min, errbuf, errlen, NULL);
}

int cron_parse_quiet_words(const char *text, int *start_min, int *end_min, char *errbuf,
			   size_t errlen, const struct cron_words *words)
{
	const struct cerr er = { errbuf, errlen, words };
	const char *dash, *b;
	size_t n, na, nb;
	int s, e, rc;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (!text || !start_min || !end_min) {
		msg(&er, "quiet_empty", "quiet hours are empty; write them like 22:00-07:00");
		return HE_INVAL;
	}
	n = strnlen(text, HHMM_TEXT_MAX + 1);
	if (n > HHMM_TEXT_MAX) {
		msg(&er, "quiet_long", "quiet hours are too long; write them like 22:00-07:00");
		return HE_INVAL;
	}
	trim(&text, &n);
	dash = memchr(text, '-', n);
	if (n == 0 || !dash || memchr(dash + 1, '-', n - (size_t)(dash + 1 - text))) {
		msg(&er, "quiet_form", "quiet hours must look like 22:00-07:00");
		return HE_INVAL;
	}
	na = (size_t)(dash - text);
	b = dash + 1;
	nb = n - na - 1;
	trim(&text, &na);
	trim(&b, &nb);
	if ((rc = hhmm_span(text, na, &s, &er)) ||
	    (rc = hhmm_span(b, nb, &e, &er)))
		return rc;
	if (s == e) {
		msg(&er, "quiet_same",
		    "quiet hours start and end at the same time (%02d:%02d); choose two different times",
		    s / 60, s % 60);
		return HE_INVAL;
	}
	*start_min = s;
	*end_min = e;
	return 0;
}

bool cron_in_quiet(int start_min, int end_min, int minute_of_day)
{
	if (start_min < 0 || start_min >= 1440 || end_min < 0 || end_min >= 1440 ||
	    minute_of_day < 0 || minute_of_day >= 1440 || start_min == end_min)
		return false;
	if (start_min < end_min)
		return minute_of_day >= start_min && minute_of_day < end_min;
	return minute_of_day >= start_min || minute_of_day < end_min;
}
