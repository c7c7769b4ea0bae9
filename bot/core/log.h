/* log.h - levelled logging to stderr, journald-friendly.
 *
 * When stderr is connected to journald (JOURNAL_STREAM set) each line starts with a syslog
 * priority prefix "<N>", which journald turns into the entry's priority; otherwise lines read
 * "LEVEL module: message". With log_format = json (hlog_set_format(HLOG_JSON)) every entry is one
 * JSON object on one line: {"time","level","module","message","network"} ("network" only when
 * the line is about one: "matrix", "console" or "irc.NAME"). Never pass a secret (password, token, key) to these functions. */
#ifndef HEARTH_LOG_H
#define HEARTH_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum hlog_level { HLOG_ERROR = 0, HLOG_WARN, HLOG_INFO, HLOG_DEBUG };
enum hlog_format { HLOG_TEXT = 0, HLOG_JSON };

void hlog_set_level(enum hlog_level level);
enum hlog_level hlog_get_level(void);
/* "error", "warn", "info", "debug" -> level; returns 0 or HE_INVAL. */
int hlog_parse_level(const char *name, enum hlog_level *out);
void hlog_set_format(enum hlog_format format);
enum hlog_format hlog_get_format(void);
/* "text", "json" -> format; returns 0 or HE_INVAL. */
int hlog_parse_format(const char *name, enum hlog_format *out);

void hlog(enum hlog_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void hlogv(enum hlog_level level, const char *module, const char *fmt, va_list ap);

/* Makes s safe for one log line, in place: CR, LF and tab become a space; every other control
 * character (C0, DEL, and C1 U+0080..U+009F) and every byte that is not valid UTF-8 becomes '?'.
 * Returns the new length. hlog() applies it to every message. */
size_t hlog_clean(char *s);

#define hlog_error(mod, ...) hlog(HLOG_ERROR, (mod), __VA_ARGS__)
#define hlog_warn(mod, ...)  hlog(HLOG_WARN, (mod), __VA_ARGS__)
#define hlog_info(mod, ...)  hlog(HLOG_INFO, (mod), __VA_ARGS__)
#define hlog_debug(mod, ...) \
	do { if (hlog_get_level() >= HLOG_DEBUG) hlog(HLOG_DEBUG, (mod), __VA_ARGS__); } while (0)

#endif
