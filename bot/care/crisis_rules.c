/* crisis_rules.c - the crisis pattern set: parser and matcher (format in crisis_rules.h and
 * content/crisis/README.md). */
#include "care/crisis_rules.h"
#include "core/err.h"
#include "core/text.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CR_MAX_TOKS 24        /* tokens in one pattern */
#define CR_MAX_ALT_WORDS 6    /* words in one alternative */
#define CR_MAX_GAP 9          /* ..N */
#define CR_MAX_NAME 32        /* a class name */
#define CR_MAX_LINE 2048
#define CR_FUZZY_MIN 5        /* ~word needs at least this many letters */

enum wkind { W_LIT, W_PREFIX, W_FUZZY };

struct cr_word {
	char *s;
	uint32_t len, hash;
	uint8_t kind;
};

struct cr_alt {
	uint32_t first, n;        /* words[first .. first+n) */
};

struct cr_tok {
	uint32_t first_alt, nalts; /* alts[first_alt .. +nalts); none for a gap */
	uint8_t optional;
	uint8_t gap;               /* ..N: 0 to N words of anything */
};

struct cr_rule {
	uint32_t first_tok, ntok;
	uint32_t maxspan;          /* the most words a match can cover */
	int anchor;                /* a required token whose alternatives all start with a plain
				    * word (so a message without any of them cannot match), or -1 */
	uint32_t minb, maxb;       /* how many words a match has before its anchor */
	int line;
	bool except;
};

struct cr_class {
	char name[CR_MAX_NAME];
	uint32_t first_alt, nalts;
};

struct cr_anchor {
	uint32_t hash;             /* a word that starts an alternative of a rule's anchor */
	uint32_t rule;
};

struct crisis_rules {
	struct cr_word *words;
	size_t nwords, capwords;
	struct cr_alt *alts;
	size_t nalts, capalts;
	struct cr_tok *toks;
	size_t ntoks, captoks;
	struct cr_rule *rules;
	size_t nrules, caprules;
	struct cr_class *classes;
	size_t nclasses, capclasses;
	size_t nsignals, nexcepts;
	uint32_t except_span;      /* the longest exception */
	struct cr_anchor *anchors; /* sorted by hash: which rules a message word can start */
	size_t nanchors;
	uint32_t *always;          /* rules without an anchor: tried on every message */
	size_t nalways;
};

static uint32_t hash_bytes(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h ? h : 1; /* 0 marks an empty slot in the message's word set */
}

/* Grows *arr (of *cap elements of size sz) to hold one more than n. */
static int grow(void **arr, size_t *cap, size_t n, size_t sz)
{
	size_t cap2;
	void *p;

	if (n < *cap)
		return HE_OK;
	cap2 = *cap ? *cap * 2 : 16;
	if (!(p = realloc(*arr, cap2 * sz)))
		return HE_NOMEM;
	*arr = p;
	*cap = cap2;
	return HE_OK;
}

#define GROW(r, field, n, cap) grow((void **)&(r)->field, &(r)->cap, (r)->n, sizeof(*(r)->field))

void crisis_rules_free(struct crisis_rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nwords; i++)
		free(r->words[i].s);
	free(r->words);
	free(r->alts);
	free(r->toks);
	free(r->rules);
	free(r->classes);
	free(r->anchors);
	free(r->always);
	free(r);
}

void crisis_rules_count(const struct crisis_rules *r, size_t *signals, size_t *excepts)
{
	*signals = r ? r->nsignals : 0;
	*excepts = r ? r->nexcepts : 0;
}

/* German written without umlauts or ß: after text_fold, "ä" is "a" and "ß" is "s", so the
 * spellings "ae", "oe", "ue" and "ss" ("fuer", "muede", "Strasse") are folded the same way here,
 * in patterns and messages alike: "ae" -> "a", "oe" -> "o", "ue" -> "u", a run of "s" -> "s", and
 * the capital sharp s (U+1E9E, which text_fold keeps) -> "s". Every spelling of a word then
 * matches every other. English words fold too ("does" -> "dos"), on both sides, so an English
 * pattern still meets its words. In place (text only shrinks); returns the new length. */
static size_t fold_spellings(char *s, size_t n)
{
	size_t i = 0, o = 0;

	while (i < n) {
		char c = s[i];
		if (i + 2 < n && (unsigned char)c == 0xE1 && (unsigned char)s[i + 1] == 0xBA &&
		    (unsigned char)s[i + 2] == 0x9E) {
			c = 's';
			i += 3;
		} else {
			i++;
		}
		if (c == 's' && o && s[o - 1] == 's')
			continue;
		/* Any e after a, o or u goes, so "saeen" (a spelling of "säen") and "saen" meet. */
		if (c == 'e' && o && (s[o - 1] == 'a' || s[o - 1] == 'o' || s[o - 1] == 'u'))
			continue;
		s[o++] = c;
	}
	if (o < n)
		s[o] = '\0';
	return o;
}

/* ---- parsing ---- */

struct parse {
	struct crisis_rules *r;
	char *err;
	size_t errlen;
};

/* Adds one word spec ("die", "suicid*", "~myself", "don't"), folded as messages are. */
static int add_word(struct parse *p, const char *spec, size_t n)
{
	struct crisis_rules *r = p->r;
	uint8_t kind = W_LIT;
	char raw[128], *f = NULL, *w = NULL;
	int rc = HE_INVAL;

	if (n && spec[0] == '~') {
		kind = W_FUZZY;
		spec++;
		n--;
	}
	if (n && spec[n - 1] == '*') {
		if (kind == W_FUZZY) {
			he_fmt(p->err, p->errlen, "a word cannot be both ~fuzzy and a prefix*");
			return HE_INVAL;
		}
		kind = W_PREFIX;
		n--;
	}
	if (n == 0 || n >= sizeof(raw)) {
		he_fmt(p->err, p->errlen, "an empty or overlong word");
		return HE_INVAL;
	}
	memcpy(raw, spec, n);
	raw[n] = '\0';
	if (strpbrk(raw, "()[]{}<>,;:!?*~@\"")) {
		he_fmt(p->err, p->errlen, "\"%s\": brackets and punctuation are not part of patterns "
		       "(for a group, define a @class)", raw);
		return HE_INVAL;
	}
	if (!(f = text_fold(raw)) || !(w = text_words(f))) {
		rc = HE_NOMEM;
		goto out;
	}
	if (!*w || strchr(w, ' ')) {
		he_fmt(p->err, p->errlen, "\"%s\" is not one word (use _ to join words, e.g. do_not)", raw);
		goto out;
	}
	fold_spellings(w, strlen(w));
	if (kind == W_PREFIX && strlen(w) < 3) {
		he_fmt(p->err, p->errlen, "the prefix \"%s*\" is too short (at least 3 letters)", w);
		goto out;
	}
	if (kind == W_FUZZY && text_utf8_count(w, strlen(w)) < CR_FUZZY_MIN) {
		he_fmt(p->err, p->errlen, "\"~%s\": spelling tolerance needs a word of at least %d letters",
		       w, CR_FUZZY_MIN);
		goto out;
	}
	if ((rc = GROW(r, words, nwords, capwords)))
		goto out;
	r->words[r->nwords++] = (struct cr_word){ w, (uint32_t)strlen(w), hash_bytes(w, strlen(w)), kind };
	w = NULL;
	rc = HE_OK;
out:
	free(f);
	free(w);
	return rc;
}

/* Adds one alternative: words separated by spaces (in a class) or _. */
static int add_alt(struct parse *p, const char *s, size_t n)
{
	struct crisis_rules *r = p->r;
	uint32_t first = (uint32_t)r->nwords, count = 0;
	size_t i = 0;
	int rc;

	while (i < n) {
		size_t j;
		while (i < n && (s[i] == ' ' || s[i] == '_'))
			i++;
		if (i == n)
			break;
		for (j = i; j < n && s[j] != ' ' && s[j] != '_'; j++)
			;
		if (++count > CR_MAX_ALT_WORDS) {
			he_fmt(p->err, p->errlen, "an alternative has more than %d words", CR_MAX_ALT_WORDS);
			return HE_INVAL;
		}
		if ((rc = add_word(p, s + i, j - i)))
			return rc;
		i = j;
	}
	if (!count) {
		he_fmt(p->err, p->errlen, "an empty alternative (look for a stray |)");
		return HE_INVAL;
	}
	if ((rc = GROW(r, alts, nalts, capalts)))
		return rc;
	r->alts[r->nalts++] = (struct cr_alt){ first, count };
	return HE_OK;
}

static const struct cr_class *find_class(const struct crisis_rules *r, const char *name, size_t n)
{
	for (size_t i = 0; i < r->nclasses; i++)
		if (strlen(r->classes[i].name) == n && memcmp(r->classes[i].name, name, n) == 0)
			return &r->classes[i];
	return NULL;
}

static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || n >= CR_MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

/* "@name = a | b c | d*" */
static int parse_class(struct parse *p, char *s)
{
	struct crisis_rules *r = p->r;
	char *eq = strchr(s, '='), *name = s + 1, *e;
	struct cr_class cl = { 0 };
	size_t nl;
	int rc;

	if (!eq) {
		he_fmt(p->err, p->errlen, "a word class is written \"@name = word | other words\"");
		return HE_INVAL;
	}
	for (e = eq; e > name && e[-1] == ' '; e--)
		;
	nl = (size_t)(e - name);
	if (!name_ok(name, nl)) {
		he_fmt(p->err, p->errlen, "a class name is 1-%d of a-z, 0-9 and _", CR_MAX_NAME - 1);
		return HE_INVAL;
	}
	if (find_class(r, name, nl)) {
		he_fmt(p->err, p->errlen, "the class @%.*s is defined twice", (int)nl, name);
		return HE_INVAL;
	}
	memcpy(cl.name, name, nl);
	cl.first_alt = (uint32_t)r->nalts;
	for (char *a = eq + 1;;) {
		char *bar = strchr(a, '|');
		size_t n = bar ? (size_t)(bar - a) : strlen(a);
		if ((rc = add_alt(p, a, n)))
			return rc;
		cl.nalts++;
		if (!bar)
			break;
		a = bar + 1;
	}
	if ((rc = GROW(r, classes, nclasses, capclasses)))
		return rc;
	r->classes[r->nclasses++] = cl;
	return HE_OK;
}

/* One token of a pattern: "..N", "@class", "a|b_c|d*", each with an optional "?". */
static int parse_token(struct parse *p, char *s, size_t n, struct cr_tok *t)
{
	struct crisis_rules *r = p->r;
	int rc;

	memset(t, 0, sizeof(*t));
	if (n > 1 && s[n - 1] == '?') {
		t->optional = 1;
		n--;
	}
	if (n >= 2 && s[0] == '.' && s[1] == '.') {
		if (n != 3 || s[2] < '1' || s[2] > '0' + CR_MAX_GAP || t->optional) {
			he_fmt(p->err, p->errlen, "a gap is ..1 to ..%d", CR_MAX_GAP);
			return HE_INVAL;
		}
		t->gap = (uint8_t)(s[2] - '0');
		return HE_OK;
	}
	if (s[0] == '@') {
		const struct cr_class *cl = find_class(r, s + 1, n - 1);
		if (!cl) {
			he_fmt(p->err, p->errlen, "unknown word class %.*s (define it above its first use)",
			       (int)n, s);
			return HE_INVAL;
		}
		t->first_alt = cl->first_alt;
		t->nalts = cl->nalts;
		return HE_OK;
	}
	t->first_alt = (uint32_t)r->nalts;
	for (size_t i = 0; i <= n;) {
		size_t j = i;
		while (j < n && s[j] != '|')
			j++;
		if (j > i && s[i] == '@') {
			he_fmt(p->err, p->errlen, "a class cannot be one of | alternatives; define a new class");
			return HE_INVAL;
		}
		if ((rc = add_alt(p, s + i, j - i)))
			return rc;
		t->nalts++;
		i = j + 1;
	}
	return HE_OK;
}

static int parse_rule(struct parse *p, char *s, bool except, int line)
{
	struct crisis_rules *r = p->r;
	struct cr_rule ru = { .first_tok = (uint32_t)r->ntoks, .anchor = -1, .line = line,
			      .except = except };
	bool required = false;
	uint32_t minb = 0, anchor_alts = 0;
	int rc;

	while (*s) {
		struct cr_tok t;
		size_t n;
		while (*s == ' ')
			s++;
		if (!*s)
			break;
		n = strcspn(s, " ");
		if (ru.ntok == CR_MAX_TOKS) {
			he_fmt(p->err, p->errlen, "a pattern has at most %d parts", CR_MAX_TOKS);
			return HE_INVAL;
		}
		if ((rc = parse_token(p, s, n, &t)) || (rc = GROW(r, toks, ntoks, captoks)))
			return rc;
		if (t.gap) {
			ru.maxspan += t.gap;
		} else {
			uint32_t most = 0, least = CR_MAX_ALT_WORDS;
			bool plain = true;
			for (uint32_t a = 0; a < t.nalts; a++) {
				const struct cr_alt *al = &r->alts[t.first_alt + a];
				if (al->n > most)
					most = al->n;
				if (al->n < least)
					least = al->n;
				plain = plain && r->words[al->first].kind == W_LIT;
			}
			/* The anchor is the required plain token with the fewest alternatives: the
			 * rarest words, so few messages wake the rule. */
			if (!t.optional) {
				required = true;
				if (plain && (ru.anchor < 0 || t.nalts < anchor_alts)) {
					ru.anchor = (int)ru.ntok;
					ru.minb = minb;
					ru.maxb = ru.maxspan;
					anchor_alts = t.nalts;
				}
			}
			minb += t.optional ? 0 : least;
			ru.maxspan += most;
		}
		if (t.gap && ru.ntok == 0) {
			he_fmt(p->err, p->errlen, "a pattern cannot start with a gap");
			return HE_INVAL;
		}
		r->toks[r->ntoks++] = t;
		ru.ntok++;
		s += n;
	}
	if (!required) {
		he_fmt(p->err, p->errlen, "a pattern needs at least one word that is not optional");
		return HE_INVAL;
	}
	if (r->toks[r->ntoks - 1].gap) {
		he_fmt(p->err, p->errlen, "a pattern cannot end with a gap");
		return HE_INVAL;
	}
	if ((rc = GROW(r, rules, nrules, caprules)))
		return rc;
	r->rules[r->nrules++] = ru;
	if (except) {
		r->nexcepts++;
		if (ru.maxspan > r->except_span)
			r->except_span = ru.maxspan;
	} else {
		r->nsignals++;
	}
	return HE_OK;
}

static int parse_line(struct parse *p, char *s, int line)
{
	if (*s == '#' || !*s)
		return HE_OK;
	if (*s == '@')
		return parse_class(p, s);
	if (strncmp(s, "signal:", 7) == 0)
		return parse_rule(p, s + 7, false, line);
	if (strncmp(s, "except:", 7) == 0)
		return parse_rule(p, s + 7, true, line);
	he_fmt(p->err, p->errlen, "expected \"signal: ...\", \"except: ...\", \"@name = ...\" or a # comment");
	return HE_INVAL;
}

static int cmp_anchor(const void *a, const void *b)
{
	const struct cr_anchor *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/* Indexes the rules by their anchors' words, so a message only walks the rules its words can
 * start. */
static int index_rules(struct crisis_rules *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nrules; i++)
		if (r->rules[i].anchor >= 0)
			n += r->toks[r->rules[i].first_tok + (uint32_t)r->rules[i].anchor].nalts;
	if (!(r->anchors = calloc(n ? n : 1, sizeof(*r->anchors))) ||
	    !(r->always = calloc(r->nrules ? r->nrules : 1, sizeof(*r->always))))
		return HE_NOMEM;
	for (size_t i = 0; i < r->nrules; i++) {
		const struct cr_rule *ru = &r->rules[i];
		const struct cr_tok *t;
		if (ru->anchor < 0) {
			r->always[r->nalways++] = (uint32_t)i;
			continue;
		}
		t = &r->toks[ru->first_tok + (uint32_t)ru->anchor];
		for (uint32_t a = 0; a < t->nalts; a++)
			r->anchors[r->nanchors++] = (struct cr_anchor){
				r->words[r->alts[t->first_alt + a].first].hash, (uint32_t)i };
	}
	qsort(r->anchors, r->nanchors, sizeof(*r->anchors), cmp_anchor);
	return HE_OK;
}

int crisis_rules_parse(const char *name, const char *text, size_t len, struct crisis_rules **out,
		       char *err, size_t errlen)
{
	struct parse p = { calloc(1, sizeof(struct crisis_rules)), NULL, 0 };
	char line[CR_MAX_LINE + 1], msg[256];
	size_t i = 0;
	int rc = HE_OK, lineno = 0;

	*out = NULL;
	p.err = msg;
	p.errlen = sizeof(msg);
	msg[0] = '\0';
	if (!p.r)
		return HE_NOMEM;
	if (!text_utf8_valid(text, len) || memchr(text, '\0', len)) {
		he_fmt(err, errlen, "%s:1: the file is not valid UTF-8 text", name);
		rc = HE_INVAL;
		goto out;
	}
	while (i < len && rc == HE_OK) {
		size_t e = i, n, k = 0;
		while (e < len && text[e] != '\n')
			e++;
		n = e - i;
		lineno++;
		if (n > CR_MAX_LINE) {
			he_fmt(msg, sizeof(msg), "a line is at most %d bytes", CR_MAX_LINE);
			rc = HE_INVAL;
			break;
		}
		/* Tabs and CR are spaces; trimmed. */
		for (size_t j = 0; j < n; j++)
			line[k++] = (text[i + j] == '\t' || text[i + j] == '\r') ? ' ' : text[i + j];
		while (k && line[k - 1] == ' ')
			k--;
		line[k] = '\0';
		rc = parse_line(&p, line + strspn(line, " "), lineno);
		i = e + 1;
	}
	if (rc == HE_OK && p.r->nsignals == 0) {
		he_fmt(msg, sizeof(msg), "no signal: lines");
		lineno = 1;
		rc = HE_INVAL;
	}
	if (rc)
		he_fmt(err, errlen, "%s:%d: %s", name, lineno, msg[0] ? msg : he_str(rc));
	else if ((rc = index_rules(p.r)))
		he_fmt(err, errlen, "%s: %s", name, he_str(rc));
out:
	if (rc) {
		crisis_rules_free(p.r);
		return rc;
	}
	*out = p.r;
	return HE_OK;
}

/* See crisis_rules.h. */
int crisis_rules_merge(struct crisis_rules *dst, const struct crisis_rules *src)
{
	size_t nw = dst->nwords, na = dst->nalts, nt = dst->ntoks, nr = dst->nrules;
	struct cr_anchor *anchors = dst->anchors;
	uint32_t *always = dst->always;
	size_t nanchors = dst->nanchors, nalways = dst->nalways;
	int rc = HE_NOMEM;

	if (!src)
		return HE_OK;
	for (size_t i = 0; i < src->nwords; i++) {
		struct cr_word w = src->words[i];
		if (GROW(dst, words, nwords, capwords) || !(w.s = strdup(w.s)))
			goto fail;
		dst->words[dst->nwords++] = w;
	}
	for (size_t i = 0; i < src->nalts; i++) {
		struct cr_alt a = src->alts[i];
		if (GROW(dst, alts, nalts, capalts))
			goto fail;
		a.first += (uint32_t)nw;
		dst->alts[dst->nalts++] = a;
	}
	for (size_t i = 0; i < src->ntoks; i++) {
		struct cr_tok t = src->toks[i];
		if (GROW(dst, toks, ntoks, captoks))
			goto fail;
		t.first_alt += (uint32_t)na;
		dst->toks[dst->ntoks++] = t;
	}
	for (size_t i = 0; i < src->nrules; i++) {
		struct cr_rule ru = src->rules[i];
		if (GROW(dst, rules, nrules, caprules))
			goto fail;
		ru.first_tok += (uint32_t)nt;
		dst->rules[dst->nrules++] = ru;
	}
	/* A new index over all rules; the old one stays until it is built. */
	dst->anchors = NULL;
	dst->always = NULL;
	dst->nanchors = dst->nalways = 0;
	if ((rc = index_rules(dst))) {
		free(dst->anchors);
		free(dst->always);
		dst->anchors = anchors;
		dst->always = always;
		dst->nanchors = nanchors;
		dst->nalways = nalways;
		goto fail;
	}
	free(anchors);
	free(always);
	dst->nsignals += src->nsignals;
	dst->nexcepts += src->nexcepts;
	if (src->except_span > dst->except_span)
		dst->except_span = src->except_span;
	return HE_OK;
fail:
	for (size_t i = nw; i < dst->nwords; i++)
		free(dst->words[i].s);
	dst->nwords = nw;
	dst->nalts = na;
	dst->ntoks = nt;
	dst->nrules = nr;
	return HE_NOMEM;
}

/* ---- matching ---- */

struct mword {
	const char *s;
	uint32_t len, hash;
};

struct msg {
	const struct crisis_rules *r;
	struct mword *w;
	size_t nw;
	uint32_t *first;           /* per rule: its anchor's positions are pos[first[i] .. first[i+1]) */
	uint32_t *pos;
};

struct walk {
	const struct msg *m;
	size_t start;
	size_t need;               /* an exception must end after this word */
	bool except;
};

static bool word_eq(const struct cr_word *p, const struct mword *m)
{
	switch (p->kind) {
	case W_LIT:
		return p->hash == m->hash && p->len == m->len && memcmp(p->s, m->s, m->len) == 0;
	case W_PREFIX:
		return m->len >= p->len && memcmp(p->s, m->s, p->len) == 0;
	default:
		return m->len + 1 >= p->len && m->len <= p->len + 1 &&
		       text_distance_max(p->s, m->s, 1) <= 1;
	}
}

static bool alt_at(const struct crisis_rules *r, const struct cr_alt *a, const struct msg *m, size_t wi)
{
	if (wi + a->n > m->nw)
		return false;
	for (uint32_t k = 0; k < a->n; k++)
		if (!word_eq(&r->words[a->first + k], &m->w[wi + k]))
			return false;
	return true;
}

static bool covered(const struct msg *m, size_t start, size_t end);

static bool walk(const struct walk *w, const struct cr_rule *ru, uint32_t ti, size_t wi)
{
	const struct crisis_rules *r = w->m->r;
	const struct cr_tok *t;

	if (ti == ru->ntok) {
		if (wi == w->start)
			return false;
		return w->except ? wi > w->need : !covered(w->m, w->start, wi);
	}
	t = &r->toks[ru->first_tok + ti];
	if (t->gap) {
		for (size_t g = 0; g <= t->gap && wi + g <= w->m->nw; g++)
			if (walk(w, ru, ti + 1, wi + g))
				return true;
		return false;
	}
	for (uint32_t a = 0; a < t->nalts; a++) {
		const struct cr_alt *al = &r->alts[t->first_alt + a];
		if (alt_at(r, al, w->m, wi) && walk(w, ru, ti + 1, wi + al->n))
			return true;
	}
	return t->optional && walk(w, ru, ti + 1, wi);
}

/* Calls walk for every start where ru could match (from its anchor's positions) in
 * [from, to); true when one matched. */
static bool try_rule(const struct msg *m, size_t i, size_t from, size_t to, struct walk *w)
{
	const struct crisis_rules *r = m->r;
	const struct cr_rule *ru = &r->rules[i];
	size_t next = from; /* the first start not tried yet */
	uint32_t a, b, end;

	if (ru->anchor < 0) {
		for (size_t s = from; s < to && s < m->nw; s++) {
			w->start = s;
			if (walk(w, ru, 0, s))
				return true;
		}
		return false;
	}
	/* Positions are in order: skip those whose starts all lie before from (lower bound). */
	a = m->first[i];
	end = b = m->first[i + 1];
	while (a < b) {
		uint32_t mid = a + (b - a) / 2;
		if (m->pos[mid] < from + ru->minb)
			a = mid + 1;
		else
			b = mid;
	}
	for (uint32_t h = a; h < end; h++) {
		size_t k = m->pos[h];
		size_t lo = k >= ru->maxb ? k - ru->maxb : 0, hi = k >= ru->minb ? k - ru->minb : 0;
		if (k < ru->minb)
			continue;
		if (lo >= to)
			break;
		if (lo < next)
			lo = next;
		for (size_t s = lo; s <= hi && s < to; s++) {
			w->start = s;
			if (walk(w, ru, 0, s))
				return true;
		}
		if (hi + 1 > next)
			next = hi + 1;
	}
	return false;
}

/* Whether an exception's match shares a word with the signal's words [start, end). */
static bool covered(const struct msg *m, size_t start, size_t end)
{
	const struct crisis_rules *r = m->r;

	for (size_t i = 0; i < r->nrules; i++) {
		const struct cr_rule *ru = &r->rules[i];
		size_t from = start >= ru->maxspan ? start + 1 - ru->maxspan : 0;
		struct walk w = { m, 0, start, true };
		if (ru->except && try_rule(m, i, from, end, &w))
			return true;
	}
	return false;
}

/* Finds where each rule's anchor occurs in the message: first[] and pos[], by rule. Scratch
 * space comes from sp (sn words) when it fits, else from the heap (*heap, freed by the caller). */
static int index_message(struct msg *m, uint32_t *sp, size_t sn, uint32_t **heap)
{
	const struct crisis_rules *r = m->r;
	uint32_t *lo, *cnt, *next;
	size_t total = 0, need;

	/* First pass: where each word's anchors start (lo) and how many (cnt). */
	need = 2 * m->nw + 2 * (r->nrules + 1);
	if (need > sn) {
		if (!(*heap = malloc(need * sizeof(**heap))))
			return HE_NOMEM;
		sp = *heap;
		sn = need;
	}
	lo = sp;
	cnt = lo + m->nw;
	m->first = cnt + m->nw;
	next = m->first + r->nrules + 1;
	memset(m->first, 0, 2 * (r->nrules + 1) * sizeof(*m->first));
	for (size_t k = 0; k < m->nw; k++) {
		uint32_t h = m->w[k].hash;
		size_t a = 0, b = r->nanchors;
		while (a < b) {
			size_t mid = a + (b - a) / 2;
			if (r->anchors[mid].hash < h)
				a = mid + 1;
			else
				b = mid;
		}
		lo[k] = (uint32_t)a;
		cnt[k] = 0;
		for (; a < r->nanchors && r->anchors[a].hash == h; a++) {
			cnt[k]++;
			m->first[r->anchors[a].rule + 1]++;
		}
		total += cnt[k];
	}
	for (size_t i = 0; i < r->nrules; i++)
		m->first[i + 1] += m->first[i];
	if (need + total > sn) {
		uint32_t *grown = realloc(*heap, (need + total) * sizeof(*grown));
		if (!grown)
			return HE_NOMEM;
		if (!*heap)
			memcpy(grown, sp, need * sizeof(*grown));
		*heap = grown;
		lo = grown;
		cnt = lo + m->nw;
		m->first = cnt + m->nw;
		next = m->first + r->nrules + 1;
	}
	m->pos = lo + need;
	/* Counting sort: positions stay in order within each rule. */
	for (size_t k = 0; k < m->nw; k++)
		for (uint32_t a = 0; a < cnt[k]; a++) {
			uint32_t ru = r->anchors[lo[k] + a].rule;
			m->pos[m->first[ru] + next[ru]++] = (uint32_t)k;
		}
	return HE_OK;
}

int crisis_rules_match(const struct crisis_rules *r, const char *words, int *line)
{
	struct mword wstack[64];
	uint32_t scratch[1024], *heap = NULL;
	char bstack[512];
	struct msg m = { r, wstack, 0, NULL, NULL };
	size_t len, nw = 0;
	char *buf = bstack;
	int rc = 0;

	if (line)
		*line = 0;
	if (!r || !words || !*words)
		return 0;
	len = strlen(words);
	if (len >= sizeof(bstack) && !(buf = malloc(len + 1)))
		return HE_NOMEM;
	memcpy(buf, words, len + 1);
	len = fold_spellings(buf, len);
	for (size_t i = 0; i < len; i++)
		nw += buf[i] == ' ';
	nw++;
	if (nw > sizeof(wstack) / sizeof(wstack[0]) && !(m.w = malloc(nw * sizeof(*m.w)))) {
		rc = HE_NOMEM;
		goto out;
	}
	for (char *s = buf, *e; s; s = e) {
		struct mword *w = &m.w[m.nw++];
		if ((e = strchr(s, ' ')))
			*e++ = '\0';
		w->s = s;
		w->len = (uint32_t)strlen(s);
		w->hash = hash_bytes(s, w->len);
	}
	if ((rc = index_message(&m, scratch, sizeof(scratch) / sizeof(scratch[0]), &heap)))
		goto out;
	for (size_t i = 0; i < r->nrules && !rc; i++) {
		struct walk w = { &m, 0, 0, false };
		if (!r->rules[i].except && try_rule(&m, i, 0, m.nw, &w)) {
			rc = 1;
			if (line)
				*line = r->rules[i].line;
		}
	}
out:
	if (m.w != wstack)
		free(m.w);
	free(heap);
	if (buf != bstack)
		free(buf);
	return rc;
}
