/* log.c - levelled logging to stderr. */
#include "core/log.h"
#include "core/err.h"
#include "core/text.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The level is process-wide configuration, like stderr itself. */
static enum hlog_level cur_level = HLOG_INFO;
static int journald = -1;
static enum hlog_format cur_format = HLOG_TEXT;

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const int syslog_prio[] = { 3, 4, 6, 7 };

void hlog_set_level(enum hlog_level level) { cur_level = level; }
enum hlog_level hlog_get_level(void) { return cur_level; }
void hlog_set_format(enum hlog_format format) { cur_format = format; }
enum hlog_format hlog_get_format(void) { return cur_format; }

int hlog_parse_format(const char *name, enum hlog_format *out)
{
	if (name && strcasecmp(name, "text") == 0)
		*out = HLOG_TEXT;
	else if (name && strcasecmp(name, "json") == 0)
		*out = HLOG_JSON;
	else
		return HE_INVAL;
	return HE_OK;
}

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

/* The network a line is about: the Matrix modules log for "matrix"; IRC lines start with the
 * network's name ("irc.NAME: ..."), a convention of bot/net/irc. NULL when it is no network's. */
static const char *line_network(const char *module, const char *msg, char *buf, size_t len)
{
	size_t n;

	if (strncmp(module, "matrix", 6) == 0 || strcmp(module, "e2e") == 0)
		return "matrix";
	if (strcmp(module, "console") == 0)
		return "console";
	if (strncmp(msg, "irc.", 4) != 0)
		return NULL;
	n = strcspn(msg, ": ");
	if (msg[n] != ':' || n >= len)
		return NULL;
	memcpy(buf, msg, n);
	buf[n] = '\0';
	return buf;
}

/* One JSON object per line for log shippers. The message went through hlog_clean() (valid
 * UTF-8, no control characters) and jansson escapes what JSON needs, so a hostile name can
 * neither break the object nor start a second one. */
static void write_json(enum hlog_level level, const char *module, const char *msg)
{
	char ts[40], netbuf[64];
	struct timespec now;
	struct tm tm;
	const char *net = line_network(module, msg, netbuf, sizeof(netbuf));
	json_t *o;
	char *line = NULL;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + strlen(ts), sizeof(ts) - strlen(ts), ".%03ldZ", now.tv_nsec / 1000000L);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s*}", "time", ts, "level", level_names[level],
		      "module", module, "message", msg, "network", net);
	if (o)
		line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (line)
		fprintf(stderr, "%s\n", line);
	else /* out of memory: still one line, without the message */
		fprintf(stderr, "{\"time\":\"%s\",\"level\":\"%s\",\"module\":\"log\","
			"\"message\":\"a log line was lost (out of memory)\"}\n", ts, level_names[level]);
	free(line);
	json_decref(o);
}

void hlogv(enum hlog_level level, const char *module, const char *fmt, va_list ap)
{
	char msg[1024], mod[64];

	if (level > cur_level)
		return;
	if (journald < 0)
		journald = getenv("JOURNAL_STREAM") != NULL;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One line per entry, and no terminal escapes: a nick or a room name never forges a log
	 * line or drives the terminal of whoever reads the log. */
	hlog_clean(msg);
	if (cur_format == HLOG_JSON) {
		snprintf(mod, sizeof(mod), "%s", module ? module : "");
		hlog_clean(mod);
		write_json(level, mod, msg);
	} else if (journald) {
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
