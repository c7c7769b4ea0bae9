/* libFuzzer target for the mood argument parsers: `!mood <score> [note]`, `history [days]` and
 * `remind HH:MM [zone]|off`. Checks the invariants members rely on, not just "no crash". */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "care/mood.h"
#include "core/err.h"
#include "core/text.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mood_entry_in e;
	char err[320], tz[72];
	char *text;
	int rc, days, minute;
	bool off;

	if (size > 8192)
		return 0;
	text = fuzz_cstr(data, size);
	if (!text)
		return 0;

	err[0] = '\0';
	rc = mood_parse_entry(NULL, NULL, text, &e, err, sizeof(err));
	if (rc == HE_OK) {
		if (e.score < 1 || e.score > 10 || e.ntags > MOOD_TAGS_MAX)
			abort();
		if (e.note && (text_utf8_count(e.note, strlen(e.note)) > MOOD_NOTE_MAX ||
			       !text_utf8_valid(e.note, strlen(e.note))))
			abort();
		for (size_t i = 0; i < e.ntags; i++) {
			size_t n = strlen(e.tags[i]);
			if (n == 0 || n > MOOD_TAG_MAX || !text_utf8_valid(e.tags[i], n) || strchr(e.tags[i], ' '))
				abort();
			for (size_t k = 0; k < i; k++)
				if (strcmp(e.tags[k], e.tags[i]) == 0)
					abort(); /* duplicates are folded */
		}
	} else if (rc != HE_NOMEM) {
		/* Every refusal explains itself, in valid UTF-8 (it reaches the member). */
		if (!err[0] || !text_utf8_valid(err, strlen(err)))
			abort();
		if (e.note || e.ntags)
			abort();
	}
	mood_entry_in_clear(&e);

	err[0] = '\0';
	if (mood_parse_days(NULL, NULL, text, &days, err, sizeof(err)) == HE_OK) {
		if (days < 1 || days > MOOD_HISTORY_MAX)
			abort();
	} else if (!err[0]) {
		abort();
	}

	err[0] = '\0';
	rc = mood_parse_remind(NULL, NULL, text, &off, &minute, tz, sizeof(tz), err, sizeof(err));
	if (rc == HE_OK && !off && (minute < 0 || minute > 23 * 60 + 59 || strstr(tz, "..")))
		abort();
	if (rc != HE_OK && !err[0])
		abort();
	free(text);
	return 0;
}
