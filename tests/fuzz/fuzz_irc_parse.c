/* fuzz_irc_parse.c - libFuzzer target: the IRC line parser, ISUPPORT, formatting strip, Latin-1
 * fallback, CTCP detection and splitting, the debug-log form of a line, over bytes as a server
 * would send them (a read may hold several lines or part of one); and the capped line reader
 * (core/buf hlines) fed the same bytes in chunks of every size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/text.h"
#include "net/irc/parse.h"
#include "net/irc/track.h"

static int count_line(void *ud, const char *line, size_t len)
{
	size_t *budget = ud;
	if (len == 0 || len > *budget || !text_utf8_valid(line, len))
		abort();
	return 0;
}

struct seen {
	size_t max, lines, bytes, over;
};

static int check_line(void *ud, const char *line, size_t len)
{
	struct seen *s = ud;

	if (!line) {
		if (len <= s->max)
			abort();               /* only lines over the cap are dropped */
		s->over++;
		s->bytes += len;
		return 0;
	}
	if (len > s->max || line[len] != '\0' || memchr(line, '\n', len))
		abort();
	s->lines++;
	s->bytes += len;
	return 0;
}

/* Every byte that is not a '\n' comes out once, in a line or counted in a dropped one. */
static void line_reader(const uint8_t *data, size_t size)
{
	struct hlines r;
	struct seen s = { .max = 1 + size % 97 };
	size_t nl = 0, chunk = 1 + (size ? data[0] : 0) % 13;

	hlines_init(&r, s.max);
	for (size_t off = 0; off < size; off += chunk)
		if (hlines_feed(&r, (const char *)data + off, size - off < chunk ? size - off : chunk,
				check_line, &s) != 0)
			abort();
	for (size_t i = 0; i < size; i++)
		nl += data[i] == '\n';
	{
		size_t tail = r.discarding ? r.dropped : 0;   /* an over-long last line is not handed over */
		hlines_finish(&r, check_line, &s);
		if (s.bytes + nl + tail != size)
			abort();
	}
	if (r.b.cap > 2 * (s.max + 1) + 64)
		abort();                       /* never holds more than one capped line */
	hlines_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct irc_msg m;
	struct irc_isupport is;
	struct irc_track t;
	const char *p = (const char *)data, *end = p + size;

	line_reader(data, size);
	irc_isupport_init(&is);
	irc_track_init(&t, &is);
	irc_track_chan_add(&t, "#c");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char shown[200];

		if (irc_log_line(p, len, shown, 1 + size % sizeof(shown)) != strlen(shown))
			abort();

		if (irc_parse(p, len, is.linelen, &m) == 0) {
			char nick[64], user[64], host[256], verb[16];
			const char *args;
			size_t alen;

			irc_split_source(m.source, nick, sizeof(nick), user, sizeof(user), host, sizeof(host));
			if (strcmp(m.verb, "005") == 0)
				irc_isupport_apply(&is, &m);
			else if (strcmp(m.verb, "353") == 0)
				irc_track_names_entry(&t, "#c", irc_msg_param(&m, 3));
			else if (strcmp(m.verb, "MODE") == 0 && m.nparams >= 2)
				irc_track_mode(&t, "#c", m.params[1], m.params + 2, m.nparams - 2);
			else if (strcmp(m.verb, "NICK") == 0)
				irc_track_nick(&t, nick, irc_msg_param(&m, 0));
			if (m.nparams) {
				char *copy = strdup(m.params[m.nparams - 1]);
				size_t n = strlen(copy), budget;
				char *u;
				n = irc_strip_format(copy, n);
				u = irc_to_utf8(copy, n);
				if (!u || !text_utf8_valid(u, strlen(u)))
					abort();
				irc_ctcp(u, verb, sizeof(verb), &args, &alen);
				budget = 1 + (size) % 40;
				irc_split_text(u, budget < 4 ? 4 : budget, count_line, &(size_t){ budget < 4 ? 4 : budget });
				irc_track_is_op(&t, "#c", nick);
				free(u);
				free(copy);
			}
		}
		p += len + (nl ? 1 : 0);
	}
	irc_track_clear(&t);
	return 0;
}
