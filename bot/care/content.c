/* content.c - load and search the content library. */
#include "care/content.h"
#include "care/crisis_rules.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "core/text.h"

#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_file(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct hbuf b = HBUF_INIT;
	char chunk[4096];
	size_t n;
	int rc = HE_OK;

	*out = NULL;
	if (!f)
		return errno == ENOENT ? HE_NOTFOUND : HE_IO;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b.len + n > CONTENT_FILE_MAX) {
			rc = HE_TOOBIG;
			break;
		}
		hbuf_append(&b, chunk, n);
	}
	if (ferror(f))
		rc = HE_IO;
	fclose(f);
	if (rc) {
		hbuf_free(&b);
		return rc;
	}
	*len = b.len;
	*out = hbuf_steal(&b);
	return *out ? HE_OK : HE_NOMEM;
}

/* Where problems go while loading: the first one into err ("FILE:LINE: message"), and with
 * content_check every one into probs. Loading goes on past a problem, so one pass finds them
 * all; any problem fails the load. */
struct loader {
	char *err;
	size_t errlen;
	struct config_problems *probs;
	size_t n;
};

static void problem(struct loader *L, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void problem(struct loader *L, const char *file, int line, const char *fmt, ...)
{
	char msg[240];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (L->n++ == 0 && L->err && L->errlen) {
		if (!file)
			he_fmt(L->err, L->errlen, "%d: %s", line, msg); /* content_parse_topic */
		else if (line > 0)
			he_fmt(L->err, L->errlen, "%s:%d: %s", file, line, msg);
		else
			he_fmt(L->err, L->errlen, "%s: %s", file, msg);
	}
	config_problem_in(L->probs, file ? file : "(topic)", line, "%s", msg);
}

/* Splits "---\nheader\n---\nbody" into header and body (both point into text, which is
 * modified: the header is NUL-terminated in place). Returns the body, or NULL. */
static char *split_header(char *text, char **header)
{
	char *p = text, *end;

	if (strncmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	if (strncmp(p, "---\n", 4) != 0 && strncmp(p, "---\r\n", 5) != 0)
		return NULL;
	p = strchr(p, '\n') + 1;
	*header = p;
	for (end = p; end && *end; end = strchr(end, '\n') ? strchr(end, '\n') + 1 : NULL) {
		if (strncmp(end, "---", 3) == 0 && (end[3] == '\n' || end[3] == '\r' || end[3] == '\0')) {
			*end = '\0';
			end += 3;
			while (*end == '\r' || *end == '\n')
				end++;
			return end;
		}
	}
	return NULL;
}

struct hdr_state {
	struct topic *t;
	struct loader *L;
	const char *file;
	const char *next;          /* the header text not yet read */
	int line;                  /* the file line last read (the header starts on line 2) */
	int version;
	char *country;
	char *kind;
	int id_line, kind_line;
};

/* inih's reader over the header, one physical line per call (a longer one is cut, never split
 * into two), so each key knows its real line. */
static char *hdr_read(char *str, int num, void *stream)
{
	struct hdr_state *h = stream;
	size_t n, keep;

	if (!*h->next)
		return NULL;
	n = strcspn(h->next, "\n");
	keep = n < (size_t)num - 2 ? n : (size_t)num - 2;
	memcpy(str, h->next, keep);
	str[keep] = '\n';
	str[keep + 1] = '\0';
	h->next += n + (h->next[n] == '\n');
	h->line++;
	if (keep < n) {
		problem(h->L, h->file, h->line, "this header line is too long (at most %d characters)", num - 2);
		str[0] = '\0'; /* half a line would be read wrong */
	} else {
		/* Every line inih cannot read, not only the first it would name. */
		const char *t = text_skip_space(str);
		if (*t && *t != '\r' && *t != '\n' && *t != ';' && *t != '#' && !strpbrk(t, ":="))
			problem(h->L, h->file, h->line, "a header line must be \"key: value\"");
	}
	return str;
}

static int on_header(void *user, const char *section, const char *name, const char *value)
{
	struct hdr_state *h = user;
	struct topic *t = h->t;
	char **slot = NULL;

	if (strcmp(name, "id") == 0) {
		slot = &t->id;
		h->id_line = h->line;
	} else if (strcmp(name, "title") == 0) {
		slot = &t->title;
	} else if (strcmp(name, "note") == 0) {
		slot = &t->note;
	} else if (strcmp(name, "country") == 0) {
		slot = &h->country;
	} else if (strcmp(name, "kind") == 0) {
		slot = &h->kind;
		h->kind_line = h->line;
	} else if (strcmp(name, "version") == 0) {
		h->version = atoi(value);
		return 1;
	} else if (strcmp(name, "source") == 0) {
		if (t->nsources >= CONTENT_MAX_SOURCES)
			problem(h->L, h->file, h->line, "at most %d sources", CONTENT_MAX_SOURCES);
		else if (!(t->sources[t->nsources] = strdup(value)))
			return 0;
		else
			t->nsources++;
		return 1;
	} else if (strcmp(name, "aliases") == 0) {
		char *copy = strdup(value), *save = NULL;
		if (!copy)
			return 0;
		for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			char *f = text_fold(tok);
			if (f && *f && t->naliases < CONTENT_MAX_ALIASES)
				t->aliases[t->naliases++] = f;
			else
				free(f);
		}
		free(copy);
		return 1;
	} else {
		problem(h->L, h->file, h->line, "unknown header key \"%s\" (known: id, title, aliases, "
			"note, kind, source)", name);
		return 1;
	}
	free(*slot);
	*slot = strdup(value);
	return *slot != NULL;
}

void content_topic_clear(struct topic *t)
{
	if (!t)
		return;
	free(t->id);
	free(t->title);
	free(t->note);
	free(t->body);
	free(t->match_id);
	free(t->match_title);
	for (size_t i = 0; i < t->naliases; i++)
		free(t->aliases[i]);
	for (size_t i = 0; i < t->nsources; i++)
		free(t->sources[i]);
	memset(t, 0, sizeof(*t));
}

/* Parses header + body, reporting every problem with its line. h receives version, country
 * and kind for the caller. Returns HE_INVAL when there is no header or text to read (a problem
 * in a header line is reported and reading goes on), HE_NOMEM. */
static int parse_doc(const char *text, size_t len, struct topic *t, struct hdr_state *h)
{
	char *copy = NULL, *header = NULL, *body;
	int rc = HE_OK, r;

	memset(t, 0, sizeof(*t));
	h->t = t;
	if (memchr(text, '\0', len) || !text_utf8_valid(text, len)) {
		problem(h->L, h->file, 1, "the file is not valid UTF-8 text");
		return HE_INVAL;
	}
	copy = strndup(text, len);
	if (!copy)
		return HE_NOMEM;
	body = split_header(copy, &header);
	if (!body) {
		problem(h->L, h->file, 1, "expected a header between two lines of ---");
		rc = HE_INVAL;
		goto out;
	}
	h->next = header;
	h->line = 1;
	r = ini_parse_stream(hdr_read, h, on_header, h);
	if (r < 0) {
		rc = HE_NOMEM;
		goto out;
	}
	/* r > 0: a line inih could not read, reported by hdr_read with its line. */
	t->body = strdup(body);
	if (!t->body)
		rc = HE_NOMEM;
	else
		for (size_t n = strlen(t->body); n && (t->body[n - 1] == '\n' || t->body[n - 1] == '\r'); n--)
			t->body[n - 1] = '\0';
out:
	free(copy);
	if (rc)
		content_topic_clear(t);
	return rc;
}

/* A topic file: header rules, id, kind and length. file is NULL for content_parse_topic. */
static int parse_topic(const char *text, size_t len, struct topic *t, const char *file,
		       const char *want_id, size_t want_len, struct loader *L)
{
	struct hdr_state h = { .L = L, .file = file };
	size_t before = L->n, shown;
	int rc = parse_doc(text, len, t, &h);

	free(h.country);
	if (rc)
		goto out;
	if (!t->id || !t->title || !*t->body) {
		problem(L, file, 1, "a topic needs id, title and a body");
		rc = HE_INVAL;
		goto out;
	}
	for (const char *p = t->id; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')) {
			problem(L, file, h.id_line, "id \"%s\" may only use a-z, 0-9 and -", t->id);
			break;
		}
	}
	if (want_id && (strlen(t->id) != want_len || strncmp(t->id, want_id, want_len) != 0))
		problem(L, file, h.id_line, "id \"%s\" must match the file name", t->id);
	/* Research cites what it rests on; anything else is shown as practical guidance. */
	if (!h.kind || strcmp(h.kind, "guidance") == 0) {
		t->guidance = true;
	} else if (strcmp(h.kind, "research") == 0) {
		if (!t->nsources)
			problem(L, file, h.kind_line, "kind: research needs at least one \"source:\" line");
	} else {
		problem(L, file, h.kind_line, "kind is \"research\" (with sources) or \"guidance\", "
			"not \"%s\"", h.kind);
	}
	shown = text_utf8_count(t->title, strlen(t->title)) + text_utf8_count(t->body, strlen(t->body)) +
		(t->note ? text_utf8_count(t->note, strlen(t->note)) : 0);
	if (shown > CONTENT_TOPIC_MAX)
		problem(L, file, h.line + 2, "topic \"%s\" is %zu characters; keep title, note and body "
			"under %d", t->id, shown, CONTENT_TOPIC_MAX);
	t->match_title = text_fold(t->title);
	t->match_id = strdup(t->id);
	if (!t->match_title || !t->match_id) {
		rc = HE_NOMEM;
		goto out;
	}
	for (char *p = t->match_id; *p; p++)
		if (*p == '-')
			*p = ' ';
	if (L->n > before)
		rc = HE_INVAL;
out:
	free(h.kind);
	if (rc)
		content_topic_clear(t);
	return rc;
}

int content_parse_topic(const char *text, size_t len, struct topic *t, char *err, size_t errlen)
{
	struct loader L = { .err = err, .errlen = errlen };

	if (err && errlen)
		err[0] = '\0';
	return parse_topic(text, len, t, NULL, NULL, 0, &L);
}

static int cmp_topic(const void *a, const void *b)
{
	return strcmp(((const struct topic *)a)->id, ((const struct topic *)b)->id);
}

static int load_topics(struct content *c, const char *dir, struct loader *L)
{
	char path[4096];
	DIR *d;
	struct dirent *e;
	int rc = HE_OK;

	snprintf(path, sizeof(path), "%s/topics", dir);
	d = opendir(path);
	if (!d) {
		problem(L, path, 0, "cannot open the topics folder: %s", strerror(errno));
		return HE_IO;
	}
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name), len;
		char *text = NULL;
		struct topic t, *grown;

		if (n < 4 || strcmp(e->d_name + n - 3, ".md") != 0 || e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/topics/%s", dir, e->d_name);
		if ((rc = read_file(path, &text, &len))) {
			if (rc == HE_NOMEM)
				break;
			problem(L, path, 0, "cannot read it (%s)", he_str(rc));
			rc = HE_OK;
			continue;
		}
		rc = parse_topic(text, len, &t, path, e->d_name, n - 3, L);
		free(text);
		if (rc == HE_NOMEM)
			break;
		if (rc) {
			rc = HE_OK; /* reported; go on to find the others */
			continue;
		}
		grown = realloc(c->topics, (c->ntopics + 1) * sizeof(*grown));
		if (!grown) {
			content_topic_clear(&t);
			rc = HE_NOMEM;
			break;
		}
		c->topics = grown;
		c->topics[c->ntopics++] = t;
	}
	closedir(d);
	if (rc == HE_OK && c->ntopics == 0 && L->n == 0) {
		snprintf(path, sizeof(path), "%s/topics", dir);
		problem(L, path, 0, "no topics found");
	}
	if (c->ntopics)
		qsort(c->topics, c->ntopics, sizeof(*c->topics), cmp_topic);
	return rc;
}

static int push_str(char ***arr, size_t *n, char *s)
{
	char **grown;

	if (!s)
		return HE_NOMEM;
	grown = realloc(*arr, (*n + 1) * sizeof(*grown));
	if (!grown) {
		free(s);
		return HE_NOMEM;
	}
	*arr = grown;
	grown[(*n)++] = s;
	return HE_OK;
}

/* One line of prompts.md (trimmed, not blank). */
static int prompt_line(struct content *c, char *s, const char *path, int line, struct loader *L)
{
	size_t chars;

	if (s[0] == '#')
		return HE_OK; /* the title, or a theme's heading */
	if (s[0] != '-' || s[1] != ' ') {
		problem(L, path, line, "a prompt is a list item starting with \"- \"");
		return HE_OK;
	}
	s = (char *)text_skip_space(s + 2);
	chars = text_utf8_count(s, strlen(s));
	if (chars > CONTENT_PROMPT_MAX) {
		problem(L, path, line, "this prompt is %zu characters; keep it under %d", chars,
			CONTENT_PROMPT_MAX);
		return HE_OK;
	}
	return push_str(&c->prompts, &c->nprompts, strdup(s));
}

static int load_prompts(struct content *c, const char *path, struct loader *L)
{
	char *text = NULL;
	size_t len;
	int rc, line = 0;

	if ((rc = read_file(path, &text, &len))) {
		if (rc != HE_NOMEM)
			problem(L, path, 0, "cannot read it (%s)", he_str(rc));
		return rc;
	}
	if (!text_utf8_valid(text, len) || memchr(text, '\0', len)) {
		problem(L, path, 1, "the file is not valid UTF-8 text");
		free(text);
		return HE_INVAL;
	}
	for (char *p = text; p && rc == HE_OK;) {
		char *nl = strchr(p, '\n'), *s = p, *e;
		line++;
		if (nl)
			*nl = '\0';
		p = nl ? nl + 1 : NULL;
		s = (char *)text_skip_space(s);
		e = s + strlen(s);
		while (e > s && (e[-1] == ' ' || e[-1] == '\r' || e[-1] == '\t'))
			*--e = '\0';
		if (*s)
			rc = prompt_line(c, s, path, line, L);
	}
	free(text);
	if (rc == HE_OK && c->nprompts == 0)
		problem(L, path, 1, "no check-in prompts");
	return rc;
}

/* A crisis pattern set (care/crisis_rules.c parses it and says "PATH:LINE: message"). out may
 * be NULL: only check it. */
static int load_patterns(const char *path, struct crisis_rules **out, struct loader *L)
{
	struct crisis_rules *rules = NULL;
	char *text = NULL, msg[512];
	size_t len, plen = strlen(path);
	int rc = read_file(path, &text, &len);

	if (rc) {
		if (rc != HE_NOMEM)
			problem(L, path, 0, "cannot read it (%s)", he_str(rc));
		return rc;
	}
	msg[0] = '\0';
	rc = crisis_rules_parse(path, text, len, &rules, msg, sizeof(msg));
	free(text);
	if (rc && rc != HE_NOMEM) {
		const char *m = msg;
		long line = 0;
		char *end;
		if (strncmp(m, path, plen) == 0 && m[plen] == ':') {
			m += plen + 1;
			line = strtol(m, &end, 10);
			m = end != m && *end == ':' ? end + 1 : m;
			m = text_skip_space(m);
		}
		problem(L, path, (int)line, "%s", *m ? m : he_str(rc));
	}
	if (out)
		*out = rules;
	else
		crisis_rules_free(rules);
	return rc;
}

/* Placeholders a text may hold, filled at run time (content_fill). */
static const char *const placeholders[] = { "retention_days", "stats_min_members" };

/* Every {name} in a document's body is one Hearth fills in; first_line is the body's line. */
static void check_placeholders(const char *body, const char *path, int first_line, struct loader *L)
{
	int line = first_line;

	for (const char *p = body; *p; p++) {
		size_t n;
		bool known = false;
		if (*p == '\n')
			line++;
		if (*p != '{')
			continue;
		n = strspn(p + 1, "abcdefghijklmnopqrstuvwxyz_");
		if (n == 0 || p[1 + n] != '}')
			continue;
		for (size_t i = 0; i < sizeof(placeholders) / sizeof(placeholders[0]); i++)
			known |= strlen(placeholders[i]) == n && strncmp(placeholders[i], p + 1, n) == 0;
		if (!known)
			problem(L, path, line, "unknown placeholder {%.*s} (known: {retention_days}, "
				"{stats_min_members})", (int)n, p + 1);
	}
}

/* A single Markdown document with an optional header. */
static int load_doc(const char *path, char **body, char **title, int *version, char **country,
		    struct loader *L)
{
	char *text = NULL;
	size_t len;
	int rc, body_line = 1;

	rc = read_file(path, &text, &len);
	if (rc) {
		if (rc != HE_NOMEM)
			problem(L, path, 0, "cannot read it (%s)", he_str(rc));
		return rc;
	}
	if (strncmp(text, "---", 3) == 0) {
		struct topic t;
		struct hdr_state h = { .L = L, .file = path };
		rc = parse_doc(text, len, &t, &h);
		if (rc == HE_OK && h.kind)
			problem(L, path, h.kind_line, "kind is only for topics");
		if (rc == HE_OK) {
			body_line = h.line + 2;
			*body = t.body;
			t.body = NULL;
			if (title) {
				*title = t.title;
				t.title = NULL;
			}
			if (version)
				*version = h.version;
			if (country) {
				*country = h.country;
				h.country = NULL;
			}
			content_topic_clear(&t);
		}
		free(h.country);
		free(h.kind);
	} else if (!text_utf8_valid(text, len) || memchr(text, '\0', len)) {
		problem(L, path, 1, "the file is not valid UTF-8 text");
		rc = HE_INVAL;
	} else {
		*body = strdup(text);
		rc = *body ? HE_OK : HE_NOMEM;
	}
	if (rc == HE_OK)
		check_placeholders(*body, path, body_line, L);
	free(text);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The languages with crisis patterns in dir (crisis/patterns-LANG.txt), sorted. */
static int list_languages(const char *dir, char ***out, size_t *n)
{
	char path[4096];
	DIR *d;
	struct dirent *e;
	int rc = HE_OK;

	*out = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "%s/crisis", dir);
	if (!(d = opendir(path)))
		return HE_OK;
	while ((e = readdir(d)) && rc == HE_OK) {
		size_t len = strlen(e->d_name);
		if (len > 13 && strncmp(e->d_name, "patterns-", 9) == 0 && strcmp(e->d_name + len - 4, ".txt") == 0)
			rc = push_str(out, n, strndup(e->d_name + 9, len - 13));
	}
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof(**out), cmp_str);
	return rc;
}

static int load_crisis(struct content *c, const char *dir, const char *language, bool all_languages,
		       struct loader *L)
{
	char path[4096], **langs = NULL;
	size_t nlangs = 0;
	bool listed = false;
	DIR *d;
	struct dirent *e;
	int rc;

	snprintf(path, sizeof(path), "%s/crisis/response.md", dir);
	if ((rc = load_doc(path, &c->crisis_response, NULL, NULL, NULL, L)) == HE_NOMEM)
		return rc;
	/* Every language's patterns are active in every room, whatever its language: a person in
	 * crisis may write in any of them. The configured language's file must be there (for
	 * --check-config, main.c says so when it is not); the others are added to it. */
	rc = list_languages(dir, &langs, &nlangs);
	for (size_t i = 0; i < nlangs; i++)
		listed |= strcmp(langs[i], language) == 0;
	if (rc != HE_NOMEM && (!all_languages || listed)) {
		snprintf(path, sizeof(path), "%s/crisis/patterns-%s.txt", dir, language);
		rc = load_patterns(path, &c->crisis_rules, L);
	}
	for (size_t i = 0; i < nlangs && rc != HE_NOMEM; i++) {
		struct crisis_rules *more = NULL;
		if (strcmp(langs[i], language) == 0)
			continue;
		snprintf(path, sizeof(path), "%s/crisis/patterns-%s.txt", dir, langs[i]);
		rc = load_patterns(path, &more, L);
		if (rc == HE_OK && c->crisis_rules)
			rc = crisis_rules_merge(c->crisis_rules, more);
		crisis_rules_free(more);
	}
	for (size_t i = 0; i < nlangs; i++)
		free(langs[i]);
	free(langs);
	if (rc == HE_NOMEM)
		return rc;
	snprintf(path, sizeof(path), "%s/crisis", dir);
	if (!(d = opendir(path))) {
		problem(L, path, 0, "cannot open it");
		return HE_IO;
	}
	rc = HE_OK;
	while ((e = readdir(d)) && rc != HE_NOMEM) {
		size_t n = strlen(e->d_name);
		struct crisis_country cc = { 0 }, *grown;
		if (n < 4 || strcmp(e->d_name + n - 3, ".md") != 0 || strcmp(e->d_name, "response.md") == 0 ||
		    strcmp(e->d_name, "README.md") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/crisis/%s", dir, e->d_name);
		rc = load_doc(path, &cc.body, NULL, NULL, &cc.name, L);
		if (rc)
			continue;
		cc.code = strndup(e->d_name, n - 3);
		grown = realloc(c->countries, (c->ncountries + 1) * sizeof(*grown));
		if (!cc.code || !grown) {
			if (grown)
				c->countries = grown;
			free(cc.code);
			free(cc.body);
			free(cc.name);
			rc = HE_NOMEM;
			break;
		}
		c->countries = grown;
		c->countries[c->ncountries++] = cc;
	}
	closedir(d);
	if (rc != HE_NOMEM && !content_crisis(c, "intl")) {
		snprintf(path, sizeof(path), "%s/crisis/intl.md", dir);
		problem(L, path, 0, "the international directory is required");
	}
	return rc == HE_NOMEM ? rc : HE_OK;
}

/* Loads everything, reporting each problem; *out is set unless memory ran out. */
static int load_all(const char *dir, const char *language, bool all_languages, struct content **out,
		    struct loader *L)
{
	struct content *c = calloc(1, sizeof(*c));
	char path[4096];
	int rc;

	*out = NULL;
	if (!c || !(c->dir = strdup(dir))) {
		free(c);
		return HE_NOMEM;
	}
	if ((rc = load_topics(c, dir, L)) == HE_NOMEM)
		goto out;
	snprintf(path, sizeof(path), "%s/prompts.md", dir);
	if ((rc = load_prompts(c, path, L)) == HE_NOMEM)
		goto out;
	snprintf(path, sizeof(path), "%s/about.md", dir);
	if ((rc = load_doc(path, &c->about, NULL, NULL, NULL, L)) == HE_NOMEM)
		goto out;
	snprintf(path, sizeof(path), "%s/consent-mood.md", dir);
	if ((rc = load_doc(path, &c->consent, &c->consent_title, &c->consent_version, NULL, L)) == HE_NOMEM)
		goto out;
	if (rc == HE_OK && c->consent_version <= 0)
		problem(L, path, 1, "the consent text needs \"version: N\" in its header");
	rc = load_crisis(c, dir, language, all_languages, L);
out:
	if (rc == HE_NOMEM) {
		content_free(c);
		return rc;
	}
	*out = c;
	return HE_OK;
}

int content_load(const char *dir, const char *language, struct content **out, char *err, size_t errlen)
{
	struct loader L = { .err = err, .errlen = errlen };
	struct content *c = NULL;
	int rc;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if ((rc = load_all(dir, language, false, &c, &L)))
		return rc;
	if (L.n) {
		content_free(c);
		return HE_INVAL;
	}
	*out = c;
	return HE_OK;
}

int content_check(const char *dir, const char *language, struct content **out,
		  struct config_problems *probs)
{
	struct loader L = { .probs = probs };
	int rc = load_all(dir, language, true, out, &L);

	return rc ? rc : (int)L.n;
}

int content_languages(const char *dir, char *out, size_t outlen, const char *want, bool *found)
{
	char **langs = NULL;
	size_t n = 0, used = 0;
	int rc = list_languages(dir, &langs, &n);

	if (outlen)
		out[0] = '\0';
	*found = false;
	for (size_t i = 0; i < n; i++) {
		if (want && strcmp(langs[i], want) == 0)
			*found = true;
		if (rc == HE_OK && outlen > used)
			used += (size_t)snprintf(out + used, outlen - used, "%s%s", i ? ", " : "", langs[i]);
		free(langs[i]);
	}
	free(langs);
	return rc ? rc : (int)n;
}

int content_fill(const char *md, const struct content_vars *v, char **out)
{
	struct hbuf b = HBUF_INIT;
	const char *p = md;

	*out = NULL;
	while (*p) {
		const char *open = strchr(p, '{');
		size_t n;
		if (!open) {
			hbuf_puts(&b, p);
			break;
		}
		hbuf_append(&b, p, (size_t)(open - p));
		n = strspn(open + 1, "abcdefghijklmnopqrstuvwxyz_");
		if (open[1 + n] == '}' && n == 14 && strncmp(open + 1, "retention_days", n) == 0)
			hbuf_printf(&b, "%d", v->retention_days);
		else if (open[1 + n] == '}' && n == 17 && strncmp(open + 1, "stats_min_members", n) == 0)
			hbuf_printf(&b, "%d", v->stats_min_members);
		else {
			hbuf_putc(&b, '{');
			p = open + 1;
			continue;
		}
		p = open + n + 2;
	}
	if (b.oom) {
		hbuf_free(&b);
		return HE_NOMEM;
	}
	*out = hbuf_steal(&b);
	return *out ? HE_OK : HE_NOMEM;
}

static void free_strs(char **arr, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(arr[i]);
	free(arr);
}

void content_free(struct content *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->ntopics; i++)
		content_topic_clear(&c->topics[i]);
	free(c->topics);
	free_strs(c->prompts, c->nprompts);
	crisis_rules_free(c->crisis_rules);
	for (size_t i = 0; i < c->ncountries; i++) {
		free(c->countries[i].code);
		free(c->countries[i].name);
		free(c->countries[i].body);
	}
	free(c->countries);
	free(c->about);
	free(c->consent);
	free(c->consent_title);
	free(c->crisis_response);
	free(c->dir);
	free(c);
}
