/* libFuzzer target for text_md_escape/text_md_code (bot/core/text.c) through the real renderer
 * (core/md.c): whatever the input, the escaped text renders without a link, emphasis, image,
 * heading, list, quote, table or HTML, and the code span renders as one code element. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/md.h"
#include "core/text.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const forbidden[] = { "<a", "<strong", "<em", "<del", "<img", "<h1", "<h2",
					  "<h3", "<h4", "<h5", "<h6", "<blockquote", "<ul", "<ol",
					  "<table", "<hr", "<pre", "<code" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in, *e = NULL, *c = NULL, *html = NULL, *first;

	if (size > 4096 || !(in = fuzz_cstr(data, size)))
		return 0;
	if ((e = text_md_escape(in)) && md_to_html(e, strlen(e), &html) == 0) {
		for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
			if (strstr(html, forbidden[i]))
				abort();
	}
	free(html);
	html = NULL;
	if (*in && (c = text_md_code(in)) && md_to_html(c, strlen(c), &html) == 0) {
		first = strstr(html, "<code>");
		if (!first || strstr(first + 1, "<code>") || strstr(html, "<a") || strstr(html, "<em"))
			abort();
	}
	free(html);
	free(c);
	free(e);
	free(in);
	return 0;
}
