/* libFuzzer target for the crisis pattern parser and matcher (bot/care/crisis_rules.c): the input
 * is a pattern file, a NUL byte, then a message. Besides crashes and hangs it checks that a parsed
 * file always has a signal and that matching says 1 or 0. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "care/crisis_rules.h"
#include "core/text.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t plen = nul ? (size_t)(nul - data) : size;
	struct crisis_rules *r = NULL;
	char err[256], *msg = NULL, *folded = NULL, *words = NULL;
	size_t ns, nx;
	int m;

	if (size > 8192)
		return 0;
	if (crisis_rules_parse("fuzz.txt", (const char *)data, plen, &r, err, sizeof(err)) != 0)
		return 0;
	crisis_rules_count(r, &ns, &nx);
	if (ns == 0)
		abort();
	if (nul && (msg = fuzz_cstr(nul + 1, size - plen - 1)) &&
	    (folded = text_fold(msg)) && (words = text_words(folded))) {
		m = crisis_rules_match(r, words, NULL);
		if (m != 0 && m != 1)
			abort();
	}
	free(words);
	free(folded);
	free(msg);
	crisis_rules_free(r);
	return 0;
}
