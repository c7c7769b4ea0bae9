/* fuzz_command.c - any bytes a member can send, through the whole command path (router, learn,
 * check-ins, mood, crisis, moderation) as member and as moderator, in a room and privately. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testapp.h"
#include "fuzz_input.h"

static struct testapp *ta;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (!ta) {
		ta = ta_new(":memory:");
		if (!ta)
			abort();
		hlog_set_level(HLOG_ERROR);
	}
	if (size > 16384)
		return 0;
	text = fuzz_cstr(data, size);
	if (!text)
		return 0;
	ta_say(ta, "fuzz", "#room", size & 1, (size & 2) ? HROLE_MODERATOR : HROLE_MEMBER, text);
	ta_clear(ta);
	free(text);
	return 0;
}
