/* log.c - levelled logging to stderr. */
#include "core/log.h"
#include "core/err.h"
#include "core/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The level is process-wide configuration, like stderr itself. */
static enum hlog_level cur_level = HLOG_INFO;
static int journald = -1;

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const int syslog_prio[] = { 3, 4, 6, 7 };

void hlog_set_level(enum hlog_level level) { cur_level = level; }
enum hlog_level hlog_get_level(void) { return cur_level; }

int hlog_parse_level(const char *name, enum hlog_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (name && strcasecmp(name, level_names[i]) == 0) {
			*out = (enum hlog_level)i;
			return HE_OK;
		}
	}
	return HE_INVAL;
}

size_t hlog_clean(char *s)
{
	size_t len = strlen(s), r = 0, w = 0;

	while (r < len) {
		unsigned char c = (unsigned char)s[r];
		uint32_t cp;
		size_t n;

		if (c < 0x80) {
			/* C0 and DEL: line breaks and tabs become a space, the rest a visible '?' */
			s[w++] = c == '\n' || c == '\r' || c == '\t' ? ' ' : c < 0x20 || c == 0x7f ? '?' : (char)c;
			r++;
			continue;
		}
		n = text_utf8_decode(s + r, len - r, &cp);
		if (n == 0 || (cp >= 0x80 && cp <= 0x9f)) {
			/* C1 (8-bit CSI and friends) and bytes that are not UTF-8: one '?' each */
			s[w++] = '?';
			r += n ? n : 1;
			continue;
		}
		memmove(s + w, s + r, n);
		w += n;
		r += n;
	}
	s[w] = '\0';
	return w;
}

void hlogv(enum hlog_level level, const char *module, const char *fmt, va_list ap)
{
	char msg[1024];

	if (level > cur_level)
		return;
	if (journald < 0)
		journald = getenv("JOURNAL_STREAM") != NULL;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One line per entry, and no terminal escapes: a nick or a room name never forges a log
	 * line or drives the terminal of whoever reads the log. */
	hlog_clean(msg);
	if (journald) {
		fprintf(stderr, "<%d>%s: %s\n", syslog_prio[level], module, msg);
	} else {
		char ts[32];
		struct tm tm;
		time_t now = time(NULL);
		gmtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(stderr, "%s %-5s %s: %s\n", ts, level_names[level], module, msg);
	}
}

void hlog(enum hlog_level level, const char *module, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	hlogv(level, module, fmt, ap);
	va_end(ap);
}

const char *he_str(int err)
{
	switch (err) {
	case HE_OK: return "ok";
	case HE_NOMEM: return "out of memory";
	case HE_INVAL: return "invalid input";
	case HE_IO: return "input/output error";
	case HE_NOTFOUND: return "not found";
	case HE_AGAIN: return "try again";
	case HE_DB: return "database error";
	case HE_TOOBIG: return "too big";
	case HE_PERM: return "not allowed";
	case HE_CRYPTO: return "cryptographic error";
	case HE_PROTO: return "protocol error";
	default: return "error";
	}
}

void he_fmt(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
