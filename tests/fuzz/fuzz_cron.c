/* libFuzzer target for bot/care/cron.c: schedule, quiet-hours and HH:MM parsers, and
 * cron_next on whatever parses (UTC and Europe/Berlin, around a DST change). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "care/cron.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Error messages reach chat users: printable ASCII only. */
static void check_message(const char *err)
{
	for (; *err; err++)
		if (*err < 0x20 || *err > 0x7e)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const time_t afters[] = {
		1767225600, /* 2026-01-01 00:00Z */
		1774742400, /* 2026-03-29 00:00Z, Berlin spring forward */
		1792882800, /* 2026-10-24 23:00Z, Berlin fall back */
	};
	struct cron_expr *e = NULL;
	char err[96];
	char *text;
	int s, en, m;
	size_t i;

	err[0] = '\0';
	if (size > 4096)
		return 0;
	text = fuzz_cstr(data, size);
	if (!text)
		return 0;

	if (cron_parse(text, &e, err, sizeof(err)) == 0) {
		for (i = 0; i < sizeof(afters) / sizeof(afters[0]); i++) {
			time_t next = 0;
			int rc = cron_next(e, NULL, afters[i], &next);

			if (rc == 0 && next <= afters[i])
				abort(); /* must be strictly after */
			rc = cron_next(e, "Europe/Berlin", afters[i], &next);
			if (rc == 0 && next <= afters[i])
				abort();
			if (rc != 0 && rc != CRON_ENONE)
				abort(); /* valid zone and time: only "none" may fail */
		}
		cron_free(e);
	} else if (e != NULL || err[0] == '\0') {
		abort(); /* failure must leave *out NULL and say why */
	}
	check_message(err);
	if (cron_parse_quiet(text, &s, &en, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort();
		check_message(err);
	} else {
		if (s == en || s < 0 || s >= 1440 || en < 0 || en >= 1440)
			abort();
		/* a quiet window is half-open: its first minute is quiet, its end minute is not */
		if (!cron_in_quiet(s, en, s) || cron_in_quiet(s, en, en))
			abort();
	}
	if (cron_parse_hhmm(text, &m) == 0 && (m < 0 || m >= 1440))
		abort();
	free(text);
	return 0;
}
