/* phrase.c - the phrase books (content/phrases.ini, content/LANG/phrases.ini) and the lookup. */
#include "care/phrase.h"
#include "core/err.h"
#include "core/text.h"

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

struct parser {
	const char *file;
	phrase_problem_fn problem;
	void *ud;
	int nproblems;
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

static void trim(char **s, char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r'))
		(*e)--;
}

static bool valid_name(const char *s, size_t n)
{
	if (!n || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* One "key = text" line of section sec. */
static int add_line(struct phrasebook *pb, struct parser *p, const char *sec, char *k, char *ke, char *v,
		    char *ve, int line, const struct phrasebook *base)
{
	struct phrase_entry *grown, e = { .line = line };
	char slots[128], bslots[128];
	const char *english;

	if (!*sec) {
		problem(p, line, "a phrase before any [section]");
		return HE_OK;
	}
	if (!valid_name(k, (size_t)(ke - k))) {
		problem(p, line, "\"%.*s\" is not a phrase name (a-z, 0-9, _ and -)", (int)(ke - k > 40 ? 40 : ke - k), k);
		return HE_OK;
	}
	*ve = '\0';
	if ((size_t)(ve - v) > PHRASE_MAX) {
		problem(p, line, "this phrase is %zu bytes; keep it under %d", (size_t)(ve - v), PHRASE_MAX);
		return HE_OK;
	}
	if (asprintf(&e.key, "%s.%.*s", sec, (int)(ke - k), k) < 0)
		return HE_NOMEM;
	if (!(e.text = unescape(v))) {
		free(e.key);
		return HE_NOMEM;
	}
	if (!phrase_slots(e.text, slots, sizeof(slots))) {
		problem(p, line, "[%s] %.*s has a slot Hearth never fills (use %%s, %%d, %%ld, %%zu; write %%%% for "
			"a percent sign)", sec, (int)(ke - k), k);
		goto drop;
	}
	if (base) {
		english = phrasebook_get(base, e.key);
		if (!english) {
			problem(p, line, "[%s] %.*s is not a phrase English has (a typo, or an old one?)", sec,
				(int)(ke - k), k);
			goto drop;
		}
		if (!phrase_slots(english, bslots, sizeof(bslots)) || strcmp(slots, bslots) != 0) {
			problem(p, line, "[%s] %.*s has the slots \"%s\" but English has \"%s\": a translation "
				"keeps the same slots in the same order", sec, (int)(ke - k), k, slots, bslots);
			goto drop;
		}
	}
	for (size_t i = 0; i < pb->n; i++)
		if (strcmp(pb->e[i].key, e.key) == 0) {
			problem(p, line, "[%s] %.*s is already on line %d", sec, (int)(ke - k), k, pb->e[i].line);
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

int phrasebook_parse(const char *file, const char *text, size_t len, const struct phrasebook *base,
		     struct phrasebook **out, phrase_problem_fn fn, void *ud)
{
	struct parser p = { .file = file, .problem = fn, .ud = ud };
	struct phrasebook *pb = calloc(1, sizeof(*pb));
	char *copy = NULL, sec[65] = "";
	int rc = HE_OK, line = 0;

	*out = NULL;
	if (!pb || !(copy = malloc(len + 1))) {
		free(pb);
		return HE_NOMEM;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (!text_utf8_valid(text, len) || memchr(text, '\0', len)) {
		problem(&p, 1, "the file is not valid UTF-8 text");
		goto out;
	}
	for (char *s = copy; s && rc == HE_OK;) {
		char *nl = strchr(s, '\n'), *e, *eq;
		line++;
		if (nl)
			*nl = '\0';
		e = s + strlen(s);
		trim(&s, &e);
		if (line == 1 && e - s >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
			s += 3; /* a byte order mark */
		if (s == e || *s == ';' || *s == '#') {
		} else if (*s == '[') {
			if (e[-1] != ']' || !valid_name(s + 1, (size_t)(e - s - 2))) {
				problem(&p, line, "a section is written [name] (a-z, 0-9, _ and -)");
				sec[0] = '\0';
			} else {
				snprintf(sec, sizeof(sec), "%.*s", (int)(e - s - 2), s + 1);
			}
		} else if (!(eq = memchr(s, '=', (size_t)(e - s)))) {
			problem(&p, line, "a phrase is written \"key = text\"");
		} else {
			char *ke = eq, *v = eq + 1, *ve = e;
			trim(&s, &ke);
			trim(&v, &ve);
			rc = add_line(pb, &p, sec, s, ke, v, ve, line, base);
		}
		s = nl ? nl + 1 : NULL;
	}
out:
	free(copy);
	if (rc) {
		phrasebook_free(pb);
		return rc;
	}
	if (pb->n)
		qsort(pb->e, pb->n, sizeof(*pb->e), cmp_entry);
	*out = pb;
	return p.nproblems;
}
