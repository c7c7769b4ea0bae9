/* libFuzzer target for the crisis matcher (bot/care/crisis.c) with the shipped patterns of every
 * language (content/crisis/patterns-*.txt, all active at once, as in a live room). Besides crashes
 * it checks what members depend on: the answer is 1 or 0, text before or after a message, set off
 * by punctuation, never changes whether it matches, and German written without umlauts or ß
 * ("ae", "oe", "ue", "ss") matches exactly as the same text with them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "care/content.h"
#include "care/crisis.h"
#include "fuzz_input.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct content *content;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *src = getenv("SRC");
	char dir[4096], err[512];

	snprintf(dir, sizeof(dir), "%s/content", src && *src ? src : HEARTH_SOURCE_DIR);
	if (content_load(dir, "en", &content, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_crisis: %s\n", err);
		abort();
	}
	return 0;
}

/* The text with every ä, ö, ü (either case) and ß written as ae, oe, ue, ss: the same length. */
static void spell_out(char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)s[1];
		if ((unsigned char)s[0] != 0xC3 || !c)
			continue;
		if (c == 0xA4 || c == 0x84)
			memcpy(s, "ae", 2);
		else if (c == 0xB6 || c == 0x96)
			memcpy(s, "oe", 2);
		else if (c == 0xBC || c == 0x9C)
			memcpy(s, "ue", 2);
		else if (c == 0x9F)
			memcpy(s, "ss", 2);
		else
			continue;
		s++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *framed;
	int plain, with;

	if (size > 4096)
		return 0;
	text = fuzz_cstr(data, size);
	framed = malloc(size + 32);
	if (!text || !framed)
		goto out;
	plain = crisis_match(content, text);
	if (plain != 0 && plain != 1)
		abort();
	/* "zqxv." and ".zqxv" are words no phrase or exclusion holds, set off by punctuation. */
	snprintf(framed, size + 32, "zqxv. %s .zqxv", text);
	with = crisis_match(content, framed);
	if (with != plain)
		abort();
	spell_out(text);
	if (crisis_match(content, text) != plain)
		abort();
out:
	free(framed);
	free(text);
	return 0;
}
