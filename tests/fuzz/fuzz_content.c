/* fuzz_content.c - the topic file parser: a facilitator's typo must give an error, not a crash. */
#include <stdint.h>
#include <stdlib.h>

#include "care/content.h"
#include "core/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct topic t;
	char err[256];

	if (size > CONTENT_FILE_MAX)
		return 0;
	if (content_parse_topic((const char *)data, size, &t, err, sizeof(err)) == HE_OK)
		content_topic_clear(&t);
	return 0;
}
