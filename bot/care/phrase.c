/* phrase.c - the phrase books (content/phrases.ini, content/LANG/phrases.ini) and the lookup.
 * libinih reads the files; this file joins a phrase's continuation lines, checks every phrase,
 * and catches the lines inih would cut without a word. */
#include "care/phrase.h"
#include "core/err.h"
#include "core/text.h"

#include <ini.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct phrase_entry {
	char *key;     /* "section.key" */
	char *text;
	int line;
};

struct phrasebook {
	struct phrase_entry *e;
	size_t n;
};

/* What inih's reader and handler share while one file is read. */
struct parser {
	const char *file;
	phrase_problem_fn problem;
	void *ud;
	int nproblems;
	struct phrasebook *pb;
	const struct phrasebook *base;
	const char *next, *end;   /* the text inih has not read yet */
	int line;                 /* the line inih read last */
	bool indented, line_cut;  /* ... began with a blank; was over the limit */
	bool new_section;         /* a [section] line came after the phrase being read */
	bool orphan_pieces;       /* indented lines now go on a phrase that was too long to read */
	int rc;                   /* HE_NOMEM stops the reading */
	/* The phrase being read (its continuation lines may follow). */
	bool has_pending, pending_cut;
	char sec[PHRASE_NAME_MAX + 2], name[PHRASE_NAME_MAX + 2];
	int pending_line;
	char *value;
	size_t vlen, vcap;
};

static void problem(struct parser *p, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void problem(struct parser *p, int line, const char *fmt, ...)
{
	char msg[240];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->nproblems++;
	if (p->problem)
		p->problem(p->ud, p->file, line, msg);
}

bool phrase_slots(const char *text, char *out, size_t outlen)
{
	size_t used = 0;

	if (!outlen)
		return false;
	out[0] = '\0';
	for (const char *s = text; (s = strchr(s, '%'));) {
		char tok[8];
		size_t t = 0, lenmod;
		s++;
		if (*s == '%') {
			s++;
			continue;
		}
		/* What an argument is matters, not how it is shown: flags, widths and precisions
		 * written as digits drop out ("%02d" is "%d"; "%.0s" is "%s", which shows nothing:
		 * a language without an English plural ending can drop it). A '*' takes an int. */
		tok[t++] = '%';
		s += strspn(s, "-+ #0");
		if (*s == '*') {
			tok[t++] = '*';
			s++;
		} else {
			s += strspn(s, "0123456789");
		}
		if (*s == '.') {
			s++;
			if (*s == '*') {
				tok[t++] = '*';
				s++;
			} else {
				s += strspn(s, "0123456789");
			}
		}
		lenmod = strncmp(s, "ll", 2) == 0 || strncmp(s, "hh", 2) == 0 ? 2 : *s && strchr("lzhjt", *s) ? 1 : 0;
		memcpy(tok + t, s, lenmod);
		t += lenmod;
		s += lenmod;
		if (!*s || !strchr("sdiuxXcf", *s))
			return false; /* %n, %p, a lone % ... */
		tok[t++] = *s == 'i' ? 'd' : *s == 'X' ? 'x' : *s;
		s++;
		if (used + t >= outlen)
			return false;
		memcpy(out + used, tok, t);
		used += t;
		out[used] = '\0';
	}
	return true;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct phrase_entry *)a)->key, ((const struct phrase_entry *)b)->key);
}

const char *phrasebook_get(const struct phrasebook *pb, const char *key)
{
	struct phrase_entry want = { .key = (char *)key }, *hit;

	if (!pb || !key || !pb->n)
		return NULL;
	hit = bsearch(&want, pb->e, pb->n, sizeof(*pb->e), cmp_entry);
	return hit ? hit->text : NULL;
}

size_t phrasebook_count(const struct phrasebook *pb)
{
	return pb ? pb->n : 0;
}

const char *phrasebook_key(const struct phrasebook *pb, size_t i)
{
	return pb && i < pb->n ? pb->e[i].key : NULL;
}

void phrasebook_free(struct phrasebook *pb)
{
	if (!pb)
		return;
	for (size_t i = 0; i < pb->n; i++) {
		free(pb->e[i].key);
		free(pb->e[i].text);
	}
	free(pb->e);
	free(pb);
}

/* The value as written, with "\n" made a line break and "\\" a backslash. */
static char *unescape(const char *v)
{
	char *out = malloc(strlen(v) + 1), *o = out;

	if (!out)
		return NULL;
	for (; *v; v++) {
		if (v[0] == '\\' && v[1] == 'n') {
			*o++ = '\n';
			v++;
		} else if (v[0] == '\\' && v[1] == '\\') {
			*o++ = '\\';
			v++;
		} else {
			*o++ = *v;
		}
	}
	*o = '\0';
	return out;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > PHRASE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* One whole phrase (its continuation lines joined) of section sec, begun on line. */
static int add_phrase(struct phrasebook *pb, struct parser *p, const char *sec, const char *k, const char *v,
		      size_t vlen, int line, const struct phrasebook *base)
{
	struct phrase_entry *grown, e = { .line = line };
	char slots[128], bslots[128];
	const char *english;

	if (!*sec) {
		problem(p, line, "a phrase before any [section]");
		return HE_OK;
	}
	if (!valid_name(sec)) {
		problem(p, line, "[%.40s] is not a section name: a section is written [name] (a-z, 0-9, _ and -)", sec);
		return HE_OK;
	}
	if (!valid_name(k)) {
		problem(p, line, "\"%.40s\" is not a phrase name (a-z, 0-9, _ and -)", k);
		return HE_OK;
	}
	if (vlen > PHRASE_MAX) {
		problem(p, line, "[%s] %s is over %d bytes; keep it shorter", sec, k, PHRASE_MAX);
		return HE_OK;
	}
	if (asprintf(&e.key, "%s.%s", sec, k) < 0)
		return HE_NOMEM;
	if (!(e.text = unescape(v))) {
		free(e.key);
		return HE_NOMEM;
	}
	if (!phrase_slots(e.text, slots, sizeof(slots))) {
		problem(p, line, "[%s] %s has a slot Hearth never fills (use %%s, %%d, %%ld, %%zu; write %%%% for "
			"a percent sign)", sec, k);
		goto drop;
	}
	if (base) {
		english = phrasebook_get(base, e.key);
		if (!english) {
			problem(p, line, "[%s] %s is not a phrase English has (a typo, or an old one?)", sec, k);
			goto drop;
		}
		if (!phrase_slots(english, bslots, sizeof(bslots)) || strcmp(slots, bslots) != 0) {
			problem(p, line, "[%s] %s has the slots \"%s\" but English has \"%s\": a translation "
				"keeps the same slots in the same order", sec, k, slots, bslots);
			goto drop;
		}
	}
	for (size_t i = 0; i < pb->n; i++)
		if (strcmp(pb->e[i].key, e.key) == 0) {
			problem(p, line, "[%s] %s is already on line %d", sec, k, pb->e[i].line);
			goto drop;
		}
	grown = realloc(pb->e, (pb->n + 1) * sizeof(*grown));
	if (!grown) {
		free(e.key);
		free(e.text);
		return HE_NOMEM;
	}
	pb->e = grown;
	pb->e[pb->n++] = e;
	return HE_OK;
drop:
	free(e.key);
	free(e.text);
	return HE_OK;
}

/* The phrase being read: inih hands a value that goes on over indented lines in pieces. */
static int finish_pending(struct parser *p)
{
	int rc = HE_OK;

	if (p->has_pending && !p->pending_cut)
		rc = add_phrase(p->pb, p, p->sec, p->name, p->value ? p->value : "", p->vlen, p->pending_line, p->base);
	p->has_pending = false;
	p->pending_cut = false;
	p->vlen = 0;
	if (p->value)
		p->value[0] = '\0';
	return rc;
}

static int append(struct parser *p, const char *piece)
{
	size_t n = strlen(piece), need = p->vlen + (p->vlen ? 1 : 0) + n + 1;
	char *grown;

	if (p->vlen > PHRASE_MAX) {
		p->vlen += n; /* too long already: add_phrase says so; nothing more is kept */
		return HE_OK;
	}
	if (need > p->vcap) {
		if (!(grown = realloc(p->value, need + 64)))
			return HE_NOMEM;
		p->value = grown;
		p->vcap = need + 64;
	}
	if (p->vlen)
		p->value[p->vlen++] = ' '; /* the pieces join with one space */
	memcpy(p->value + p->vlen, piece, n + 1);
	p->vlen += n;
	return HE_OK;
}

/* inih's handler: a "key = text" line, or (an indented line after one) the same key's text going
 * on. The line is the one read_line gave inih last. */
static int on_value(void *user, const char *section, const char *name, const char *value)
{
	struct parser *p = user;

	if (p->rc)
		return 1;
	if (p->indented && p->orphan_pieces)
		return 1; /* the rest of a phrase whose first line was too long (already said) */
	p->orphan_pieces = false;
	/* inih's copy of the name for a piece is cut at PHRASE_NAME_MAX (a longer one is refused). */
	if (p->indented && p->has_pending && !p->new_section && strcmp(section, p->sec) == 0 &&
	    strncmp(name, p->name, PHRASE_NAME_MAX) == 0) {
		if (p->line_cut)
			p->pending_cut = true;
		p->rc = append(p, value);
		return 1;
	}
	if ((p->rc = finish_pending(p)))
		return 1;
	snprintf(p->sec, sizeof(p->sec), "%s", section);
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->pending_line = p->line;
	p->has_pending = true;
	p->new_section = false;
	p->rc = append(p, value);
	return 1;
}

/* inih's reader: one physical line of the text a call, so inih's line count is the file's. A line
 * longer than inih reads (it would cut it without a word, and read the rest as a line of its own)
 * is a problem, and inih is given an empty line for it. */
static char *read_line(char *str, int num, void *stream)
{
	struct parser *p = stream;
	const char *s = p->next, *nl, *t;
	size_t n, shown;

	if (!s || s >= p->end)
		return NULL;
	nl = memchr(s, '\n', (size_t)(p->end - s));
	n = nl ? (size_t)(nl - s) + 1 : (size_t)(p->end - s);
	p->next = s + n;
	p->line++;
	shown = n;
	while (shown && (s[shown - 1] == '\n' || s[shown - 1] == '\r'))
		shown--;
	t = s;
	while (t < s + shown && (*t == ' ' || *t == '\t'))
		t++;
	p->indented = t > s;
	p->line_cut = false;
	if (!p->indented && t < s + shown && *t == '[')
		p->new_section = true; /* no value goes on past a section line (an indented '[' does) */
	if (shown > PHRASE_LINE_MAX || n + 1 > (size_t)num) {
		if (t < s + shown && (*t == ';' || *t == '#')) {
			str[0] = ';'; /* a long comment is still a comment */
			str[1] = '\0';
			return str;
		}
		problem(p, p->line, "this line is %zu bytes; a line may have at most %d (inih would cut it): go on "
			"with the phrase on the next line, indented (see content/README.md)", shown, PHRASE_LINE_MAX);
		p->line_cut = true;
		if (p->indented && p->has_pending)
			p->pending_cut = true;
		else if (!p->indented)
			p->orphan_pieces = true;
		str[0] = '\0';
		return str;
	}
	memcpy(str, s, n);
	str[n] = '\0';
	return str;
}

int phrasebook_parse(const char *file, const char *text, size_t len, const struct phrasebook *base,
		     struct phrasebook **out, phrase_problem_fn fn, void *ud)
{
	struct parser p = { .file = file, .problem = fn, .ud = ud, .base = base, .next = text, .end = text + len };
	int rc = HE_OK, r;

	*out = NULL;
	if (!(p.pb = calloc(1, sizeof(*p.pb))))
		return HE_NOMEM;
	if (!text_utf8_valid(text, len) || memchr(text, '\0', len)) {
		problem(&p, 1, "the file is not valid UTF-8 text");
		goto out;
	}
	r = ini_parse_stream(read_line, &p, on_value, &p);
	if (r < 0) {
		rc = HE_NOMEM;
		goto out;
	}
	if (!p.rc)
		p.rc = finish_pending(&p);
	rc = p.rc;
	/* inih reads on after a line it cannot read, and names only the first. */
	if (r > 0 && !rc)
		problem(&p, r, "this line is not \"key = text\" nor a [section]: a phrase is written \"key = text\", "
			"a section [name]");
out:
	free(p.value);
	if (rc) {
		phrasebook_free(p.pb);
		return rc;
	}
	if (p.pb->n)
		qsort(p.pb->e, p.pb->n, sizeof(*p.pb->e), cmp_entry);
	*out = p.pb;
	return p.nproblems;
}
