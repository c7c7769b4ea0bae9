/* mood_parse.c - the pure parsers behind `!mood`: score, note and #tags, history days,
 * reminder time. No I/O but cron_tz_valid's zone lookup; exposed for tests and the fuzzer. */
#include "care/content.h"
#include "care/mood.h"
#include "care/cron.h"
#include "core/err.h"
#include "core/text.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- parsing (pure) ---------------------------------------------------------------------- */

/* Copies at most max bytes of s as printable ASCII ('?' for anything else) for an error. */
static void quote_ascii(char *dst, size_t dstlen, const char *s, size_t len, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < len && i < max && n + 1 < dstlen; i++)
		dst[n++] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '`') ? s[i] : '?';
	dst[n] = '\0';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool tag_byte(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '-' || c >= 0x80;
}

void mood_entry_in_clear(struct mood_entry_in *e)
{
	if (!e)
		return;
	free(e->note);
	for (size_t i = 0; i < e->ntags; i++)
		free(e->tags[i]);
	memset(e, 0, sizeof(*e));
}

/* A phrase in the member's language (content.h); c NULL gives the key (tests of the good paths). */
#define W(key) phrase(c, lang, (key))

int mood_parse_entry(const struct content *c, const char *lang, const char *args, struct mood_entry_in *out,
		     char *err, size_t errlen)
{
	const char *p, *tok, *end;
	char q[32];
	size_t toklen, len;
	int score = 0, rc = HE_INVAL;

	memset(out, 0, sizeof(*out));
	if (!args)
		return HE_INVAL;
	len = strlen(args);
	if (!text_utf8_valid(args, len)) {
		he_fmt(err, errlen, "%s", W("mood.parse_unreadable"));
		return HE_INVAL;
	}
	p = args;
	while (is_space(*p))
		p++;
	tok = p;
	while (*p && !is_space(*p))
		p++;
	toklen = (size_t)(p - tok);
	/* "7" or "7/10" */
	if (toklen > 3 && strncmp(tok + toklen - 3, "/10", 3) == 0)
		toklen -= 3;
	if (toklen == 0) {
		he_fmt(err, errlen, "%s", W("mood.parse_no_score"));
		return HE_INVAL;
	}
	for (size_t i = 0; i < toklen; i++) {
		if (tok[i] < '0' || tok[i] > '9') {
			quote_ascii(q, sizeof(q), tok, toklen, 12);
			if (tok[i] == '.' || tok[i] == ',')
				he_fmt(err, errlen, "%s", W("mood.parse_whole_number"));
			else
				he_fmt(err, errlen, W("mood.parse_not_a_score"), q);
			return HE_INVAL;
		}
		if (i < 3)
			score = score * 10 + (tok[i] - '0');
	}
	if (toklen > 2 || score < 1 || score > 10) {
		he_fmt(err, errlen, "%s", W("mood.parse_range"));
		return HE_INVAL;
	}
	out->score = score;

	while (is_space(*p))
		p++;
	end = p + strlen(p);
	while (end > p && is_space(end[-1]))
		end--;
	if (end == p)
		return HE_OK;
	len = text_utf8_count(p, (size_t)(end - p));
	if (len > MOOD_NOTE_MAX) {
		he_fmt(err, errlen, W("mood.parse_note_long"), len, MOOD_NOTE_MAX);
		rc = HE_TOOBIG;
		goto fail;
	}
	out->note = strndup(p, (size_t)(end - p));
	if (!out->note) {
		rc = HE_NOMEM;
		goto fail;
	}
	/* #emotion words: '#' at the start of a word, then letters, digits, '_', '-' (any non-ASCII
	 * letter too), lower-cased, without duplicates. */
	for (const char *s = out->note; *s; s++) {
		const char *w;
		size_t n;
		char *tag;
		bool dup = false;

		if (*s != '#' || (s > out->note && !is_space(s[-1]) && s[-1] != '(' && s[-1] != ','))
			continue;
		w = s + 1;
		n = 0;
		while (w[n] && tag_byte((unsigned char)w[n]))
			n++;
		if (n == 0)
			continue;
		s = w + n - 1;
		n = text_utf8_prefix(w, n, MOOD_TAG_MAX);
		if (n == 0)
			continue;
		for (size_t i = 0; i < out->ntags && !dup; i++)
			dup = strlen(out->tags[i]) == n && strncasecmp(out->tags[i], w, n) == 0;
		if (dup)
			continue;
		if (out->ntags == MOOD_TAGS_MAX) {
			he_fmt(err, errlen, W("mood.parse_many_tags"), MOOD_TAGS_MAX);
			rc = HE_INVAL;
			goto fail;
		}
		tag = strndup(w, n);
		if (!tag) {
			rc = HE_NOMEM;
			goto fail;
		}
		for (char *k = tag; *k; k++)
			if ((unsigned char)*k < 0x80)
				*k = (char)tolower((unsigned char)*k);
		out->tags[out->ntags++] = tag;
	}
	return HE_OK;
fail:
	mood_entry_in_clear(out);
	return rc;
}

int mood_parse_days(const struct content *c, const char *lang, const char *arg, int *days, char *err,
		    size_t errlen)
{
	const char *p = arg ? text_skip_space(arg) : "";
	size_t n = 0;
	int d = 0;

	*days = MOOD_HISTORY_DEFAULT;
	if (!*p)
		return HE_OK;
	while (p[n] >= '0' && p[n] <= '9') {
		if (n < 4)
			d = d * 10 + (p[n] - '0');
		n++;
	}
	if (n == 0 || n > 3 || *text_skip_space(p + n) || d < 1 || d > MOOD_HISTORY_MAX) {
		he_fmt(err, errlen, W("mood.parse_days"), MOOD_HISTORY_MAX);
		return HE_INVAL;
	}
	*days = d;
	return HE_OK;
}

int mood_parse_remind(const struct content *c, const char *lang, const char *args, bool *off, int *minute,
		      char *tz, size_t tzlen, char *err, size_t errlen)
{
	const char *p = args ? args : "";
	char when[16], zone[128], extra[8], q[48];

	*off = false;
	*minute = -1;
	if (tzlen)
		tz[0] = '\0';
	if (!text_next_word(&p, when, sizeof(when))) {
		he_fmt(err, errlen, "%s", W("mood.parse_remind_time"));
		return HE_INVAL;
	}
	if (strcasecmp(when, "off") == 0 && !*p) {
		*off = true;
		return HE_OK;
	}
	if (cron_parse_hhmm(when, minute) != 0) {
		quote_ascii(q, sizeof(q), when, strlen(when), 12);
		he_fmt(err, errlen, W("mood.parse_remind_bad_time"), q);
		*minute = -1;
		return HE_INVAL;
	}
	if (text_next_word(&p, zone, sizeof(zone))) {
		if (text_next_word(&p, extra, sizeof(extra))) {
			he_fmt(err, errlen, "%s", W("mood.parse_remind_extra"));
			*minute = -1;
			return HE_INVAL;
		}
		if (strlen(zone) >= tzlen || strlen(zone) > 64 || !cron_tz_valid(zone)) {
			quote_ascii(q, sizeof(q), zone, strlen(zone), 40);
			he_fmt(err, errlen, W("mood.parse_remind_zone"), q);
			*minute = -1;
			return HE_INVAL;
		}
		snprintf(tz, tzlen, "%s", zone);
	}
	return HE_OK;
}

