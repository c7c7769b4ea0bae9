/* text.c - UTF-8 text helpers. */
#include "core/text.h"
#include "core/buf.h"
#include "core/err.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

size_t text_utf8_decode(const char *str, size_t len, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t c;
	size_t n, i;

	if (len == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if ((s[0] & 0xE0) == 0xC0) {
		n = 2;
		c = s[0] & 0x1F;
	} else if ((s[0] & 0xF0) == 0xE0) {
		n = 3;
		c = s[0] & 0x0F;
	} else if ((s[0] & 0xF8) == 0xF0) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return n;
}

bool text_utf8_valid(const char *s, size_t len)
{
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		n = text_utf8_decode(s + i, len - i, &cp);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

size_t text_utf8_prefix(const char *s, size_t len, size_t max)
{
	size_t i;

	if (len <= max)
		return len;
	i = max;
	/* Step back over continuation bytes to the start of the sequence that straddles max. */
	while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
		i--;
	return i;
}

size_t text_utf8_count(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

static bool is_control(uint32_t cp)
{
	if (cp == '\t' || cp == '\n')
		return false;
	return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0);
}

int text_clean_input(const char *in, size_t len, size_t max, char **out)
{
	size_t i = 0, n, start, end;
	uint32_t cp;

	*out = NULL;
	if (len > max)
		return HE_TOOBIG;
	while (i < len) {
		n = text_utf8_decode(in + i, len - i, &cp);
		if (!n)
			return HE_INVAL;
		/* A CR before LF is a line ending some clients send; any other CR is a control. */
		if (cp == '\r' && i + 1 < len && in[i + 1] == '\n') {
			i++;
			continue;
		}
		if (is_control(cp))
			return HE_INVAL;
		i += n;
	}
	start = 0;
	end = len;
	while (start < end && isspace((unsigned char)in[start]))
		start++;
	while (end > start && isspace((unsigned char)in[end - 1]))
		end--;
	*out = strndup(in + start, end - start);
	return *out ? HE_OK : HE_NOMEM;
}

/* Base letters for U+00C0..U+00FF; '*' keeps the character. */
static const char latin1_fold[] =
	"aaaaaaaceeeeiiiidnooooo*ouuuuyts"
	"aaaaaaaceeeeiiiidnooooo*ouuuuyty";
/* Base letters for U+0100..U+017F (Latin Extended-A). */
static const char latin_ext_a_fold[] =
	"aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiiiijjkkk"
	"llllllllllnnnnnnnnnoooooooorrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";

static bool is_unicode_space(uint32_t cp)
{
	return cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
	       cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

static bool is_invisible(uint32_t cp)
{
	return cp == 0x200B || cp == 0x200C || cp == 0x200D || cp == 0x2060 || cp == 0xFEFF ||
	       cp == 0xAD;
}

/* A byte that is not UTF-8, read as Latin-1, with the quotes and dashes of Windows-1252 (what
 * IRC clients that do not speak UTF-8 send). */
static uint32_t latin1_cp(unsigned char c)
{
	switch (c) {
	case 0x91: return 0x2018;
	case 0x92: return 0x2019;
	case 0x93: return 0x201C;
	case 0x94: return 0x201D;
	case 0x96: return 0x2013;
	case 0x97: return 0x2014;
	default: return c;
	}
}

char *text_fold(const char *s)
{
	return text_fold_n(s, strlen(s));
}

char *text_fold_n(const char *s, size_t len)
{
	struct hbuf b = HBUF_INIT;
	size_t i = 0, n;
	uint32_t cp;
	bool space = true; /* drops leading space */

	while (i < len) {
		char enc[4];
		const char *raw = s + i; /* cp as UTF-8: rawn bytes */
		size_t rawn;

		n = rawn = text_utf8_decode(s + i, len - i, &cp);
		if (!n) {
			/* Not UTF-8: the byte is Latin-1. */
			cp = latin1_cp((unsigned char)s[i]);
			n = 1;
			raw = enc;
			if (cp < 0x800) {
				enc[0] = (char)(0xC0 | (cp >> 6));
				enc[1] = (char)(0x80 | (cp & 0x3F));
				rawn = 2;
			} else {
				enc[0] = (char)(0xE0 | (cp >> 12));
				enc[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
				enc[2] = (char)(0x80 | (cp & 0x3F));
				rawn = 3;
			}
		}
		if (cp == 0) {
			i += n;
			continue;
		}
		if (cp < 0x80 && isspace((int)cp)) {
			cp = ' ';
		} else if (is_unicode_space(cp)) {
			cp = ' ';
		} else if (is_invisible(cp)) {
			i += n;
			continue;
		}
		if (cp == ' ') {
			if (!space)
				hbuf_putc(&b, ' ');
			space = true;
			i += n;
			continue;
		}
		space = false;
		if (cp < 0x80) {
			hbuf_putc(&b, (char)tolower((int)cp));
		} else if (cp >= 0xC0 && cp <= 0xFF && latin1_fold[cp - 0xC0] != '*') {
			hbuf_putc(&b, latin1_fold[cp - 0xC0]);
		} else if (cp >= 0x100 && cp <= 0x17F) {
			hbuf_putc(&b, latin_ext_a_fold[cp - 0x100]);
		} else if (cp == 0x2018 || cp == 0x2019 || cp == 0x02BC) {
			hbuf_putc(&b, '\'');
		} else if (cp == 0x201C || cp == 0x201D) {
			hbuf_putc(&b, '"');
		} else if (cp == 0x2010 || cp == 0x2011 || cp == 0x2013 || cp == 0x2014) {
			hbuf_putc(&b, '-');
		} else {
			hbuf_append(&b, raw, rawn);
		}
		i += n;
	}
	if (b.len && b.data[b.len - 1] == ' ')
		b.data[--b.len] = '\0';
	return hbuf_steal(&b);
}

#define DIST_MAX 64

static size_t to_cps(const char *s, uint32_t *out)
{
	size_t len = strlen(s), i = 0, n, k = 0;
	uint32_t cp;

	while (i < len && k < DIST_MAX) {
		n = text_utf8_decode(s + i, len - i, &cp);
		if (!n) {
			cp = (unsigned char)s[i];
			n = 1;
		}
		out[k++] = cp;
		i += n;
	}
	return k;
}

unsigned text_distance(const char *a, const char *b)
{
	return text_distance_max(a, b, DIST_MAX);
}

unsigned text_distance_max(const char *a, const char *b, unsigned max)
{
	uint32_t ca[DIST_MAX], cb[DIST_MAX];
	unsigned row[DIST_MAX + 1];
	size_t la = to_cps(a, ca), lb = to_cps(b, cb);

	/* The distance is at least the difference in length: skip the table when that is enough. */
	if ((la > lb ? la - lb : lb - la) > max)
		return max + 1;

	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0], rowmin;
		row[0] = (unsigned)i;
		rowmin = row[0];
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned best = diag + (ca[i - 1] != cb[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
			if (best < rowmin)
				rowmin = best;
		}
		if (rowmin > max)
			return max + 1; /* every path is already too long */
	}
	return row[lb] > max ? max + 1 : row[lb];
}

char *text_latin1_to_utf8(const char *in, size_t len)
{
	struct hbuf b = HBUF_INIT;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c < 0x80) {
			hbuf_putc(&b, (char)c);
		} else {
			hbuf_putc(&b, (char)(0xC0 | (c >> 6)));
			hbuf_putc(&b, (char)(0x80 | (c & 0x3F)));
		}
	}
	return hbuf_steal(&b);
}

const char *text_skip_space(const char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	return s;
}

bool text_next_word(const char **p, char *out, size_t outlen)
{
	const char *s = text_skip_space(*p), *e = s;
	size_t n;

	if (!*s)
		return false;
	while (*e && !isspace((unsigned char)*e))
		e++;
	n = text_utf8_prefix(s, (size_t)(e - s), outlen - 1);
	memcpy(out, s, n);
	out[n] = '\0';
	*p = text_skip_space(e);
	return true;
}

bool text_starts_with_ci(const char *s, const char *prefix)
{
	while (*prefix) {
		if (tolower((unsigned char)*s) != tolower((unsigned char)*prefix))
			return false;
		s++;
		prefix++;
	}
	return true;
}

char *text_dup(const char *s) { return s ? strdup(s) : NULL; }

/* ---- Markdown echoes ---- */

#define ZWSP "\xe2\x80\x8b"

static bool md_alnum(char c)
{
	return isalnum((unsigned char)c) || ((unsigned char)c & 0x80);
}

/* Whether a zero-width space goes after s[i] (len bytes) to break a link or mention. */
static bool md_break_after(const char *s, size_t len, size_t i)
{
	char next = i + 1 < len ? s[i + 1] : '\0';

	switch (s[i]) {
	case '@':
		return next && next != ' ';
	case ':':
		return next == '/' || isalpha((unsigned char)next);
	case '.':
		return i > 0 && md_alnum(s[i - 1]) && md_alnum(next);
	default:
		return false;
	}
}

/* Characters that make Markdown anywhere in a line. */
static bool md_special(char c)
{
	return strchr("\\`*_[]<>&~|", c) != NULL;
}

/* Appends s with runs of spaces and controls as one space, invalid bytes as U+FFFD and, when
 * escape is set, a backslash before Markdown punctuation and zero-width breaks in links. */
static void md_put(struct hbuf *b, const char *s, size_t len, bool escape)
{
	size_t i = 0, n, start = b->len;
	uint32_t cp;

	while (i < len) {
		n = text_utf8_decode(s + i, len - i, &cp);
		if (!n) {
			hbuf_puts(b, "\xef\xbf\xbd");
			i++;
			continue;
		}
		if (cp == ' ' || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || cp == 0x2028 ||
		    cp == 0x2029) {
			/* One space for any run, none at the start: no indented code block. */
			if (b->len > start && b->data[b->len - 1] != ' ')
				hbuf_putc(b, ' ');
		} else if (n == 1 && escape) {
			/* The first character shown could begin a list, heading or rule. */
			if (b->len == start && strchr("-+=#", (int)cp)) {
				hbuf_putc(b, '\\');
			} else if (b->len == start && isdigit((int)cp)) {
				size_t d = i;
				while (d < len && isdigit((unsigned char)s[d]))
					d++;
				if (d < len && (s[d] == '.' || s[d] == ')')) {
					hbuf_append(b, s + i, d - i);
					hbuf_putc(b, '\\');
					i = d;
					continue;
				}
			}
			if (md_special((char)cp))
				hbuf_putc(b, '\\');
			hbuf_putc(b, (char)cp);
			if (md_break_after(s, len, i))
				hbuf_puts(b, ZWSP);
		} else {
			hbuf_append(b, s + i, n);
		}
		i += n;
	}
}

char *text_md_escape(const char *s)
{
	struct hbuf b = HBUF_INIT;

	hbuf_puts(&b, "");
	md_put(&b, s, strlen(s), true);
	return hbuf_steal(&b);
}

char *text_md_code(const char *s)
{
	struct hbuf in = HBUF_INIT, b = HBUF_INIT;
	size_t run = 0, longest = 0;
	const char *t;
	bool pad;

	md_put(&in, s, strlen(s), false);
	if (in.oom)
		return NULL;
	t = hbuf_str(&in);
	for (size_t i = 0; i < in.len; i++) {
		run = t[i] == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	/* md4c reads at most a few dozen backticks as a fence: long runs inside become U+02CB (a
	 * grave accent that is not a backtick) so the fence stays short. */
	if (longest > 8) {
		struct hbuf re = HBUF_INIT;
		for (size_t i = 0; i < in.len; i++) {
			if (t[i] == '`')
				hbuf_puts(&re, "\xcb\x8b");
			else
				hbuf_putc(&re, t[i]);
		}
		hbuf_free(&in);
		in = re;
		if (in.oom) {
			hbuf_free(&in);
			return NULL;
		}
		t = hbuf_str(&in);
		longest = 0;
	}
	/* An empty span, or one that starts or ends with a backtick, needs a space inside each fence
	 * (CommonMark strips one on each side when both are there). */
	pad = in.len == 0 || t[0] == '`' || t[in.len - 1] == '`';
	for (size_t i = 0; i <= longest; i++)
		hbuf_putc(&b, '`');
	if (pad)
		hbuf_putc(&b, ' ');
	hbuf_append(&b, t, in.len);
	if (pad)
		hbuf_putc(&b, ' ');
	for (size_t i = 0; i <= longest; i++)
		hbuf_putc(&b, '`');
	hbuf_free(&in);
	return hbuf_steal(&b);
}

/* Word classes for text_words(). */
enum cls { CLS_BREAK, CLS_WORD, CLS_APOS };

static enum cls classify(uint32_t cp)
{
	if (cp < 0x80) {
		if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9'))
			return CLS_WORD;
		return cp == '\'' ? CLS_APOS : CLS_BREAK;
	}
	if (cp == 0x2019 || cp == 0x2018 || cp == 0x02bc)
		return CLS_APOS;
	/* Latin-1 punctuation and signs, general punctuation to dingbats and arrows, CJK punctuation,
	 * variation selectors, fullwidth punctuation, emoji and pictographs, tags. */
	if (cp <= 0xbf || cp == 0xd7 || cp == 0xf7 || (cp >= 0x2000 && cp <= 0x2bff) ||
	    (cp >= 0x3000 && cp <= 0x303f) || (cp >= 0xfe00 && cp <= 0xfe0f) ||
	    (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff0f) ||
	    (cp >= 0x1f000 && cp <= 0x1faff) || (cp >= 0xe0000 && cp <= 0xe007f))
		return CLS_BREAK;
	return CLS_WORD;
}

/* Class of the code point at s (len bytes); *n gets its length (1 for an invalid byte). */
static enum cls class_at(const char *s, size_t len, size_t *n)
{
	uint32_t cp = 0;

	*n = text_utf8_decode(s, len, &cp);
	if (*n == 0) {
		*n = 1;
		return CLS_BREAK;
	}
	return classify(cp);
}

/* See text.h. */
char *text_words(const char *s)
{
	size_t len = strlen(s), i = 0, o = 0, n, n2;
	char *out = malloc(len + 1);
	bool in_word = false, gap = false;

	if (!out)
		return NULL;
	while (i < len) {
		enum cls k = class_at(s + i, len - i, &n);
		if (k == CLS_WORD) {
			if (gap && o)
				out[o++] = ' ';
			gap = false;
			for (size_t j = 0; j < n; j++)
				out[o++] = (char)((s[i + j] >= 'A' && s[i + j] <= 'Z') ? s[i + j] - 'A' + 'a' : s[i + j]);
			in_word = true;
		} else if (k == CLS_APOS && in_word && i + n < len &&
			   class_at(s + i + n, len - i - n, &n2) == CLS_WORD) {
			/* "can't" -> "cant": the word goes on. */
		} else {
			in_word = false;
			gap = true;
		}
		i += n;
	}
	out[o] = '\0';
	return out;
}


_Static_assert(sizeof(latin1_fold) == 65, "one entry per code point U+00C0..U+00FF");
_Static_assert(sizeof(latin_ext_a_fold) == 129, "one entry per code point U+0100..U+017F");
