/* content.c - load and search the content library. */
#include "care/content.h"
#include "care/crisis_rules.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/text.h"

#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
	int version;
	char *country;
	char *title;
	int bad;
	char key[32];
};

static int on_header(void *user, const char *section, const char *name, const char *value)
{
	struct hdr_state *h = user;
	struct topic *t = h->t;
	char **slot = NULL;

	if (strcmp(name, "id") == 0) {
		slot = &t->id;
	} else if (strcmp(name, "title") == 0) {
		slot = &t->title;
	} else if (strcmp(name, "note") == 0) {
		slot = &t->note;
	} else if (strcmp(name, "country") == 0) {
		slot = &h->country;
	} else if (strcmp(name, "version") == 0) {
		h->version = atoi(value);
		return 1;
	} else if (strcmp(name, "source") == 0) {
		if (t->nsources < CONTENT_MAX_SOURCES && (t->sources[t->nsources] = strdup(value)))
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
		snprintf(h->key, sizeof(h->key), "%s", name);
		h->bad = 1;
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

/* Parses header + body. extra receives version/country for non-topic files. */
static int parse_doc(const char *text, size_t len, struct topic *t, struct hdr_state *h,
		     char *err, size_t errlen)
{
	char *copy = NULL, *header = NULL, *body;
	int rc = HE_OK, r;

	memset(t, 0, sizeof(*t));
	h->t = t;
	if (memchr(text, '\0', len) || !text_utf8_valid(text, len)) {
		he_fmt(err, errlen, "1: the file is not valid UTF-8 text");
		return HE_INVAL;
	}
	copy = strndup(text, len);
	if (!copy)
		return HE_NOMEM;
	body = split_header(copy, &header);
	if (!body) {
		he_fmt(err, errlen, "1: expected a header between two lines of ---");
		rc = HE_INVAL;
		goto out;
	}
	r = ini_parse_string(header, on_header, h);
	if (r != 0) {
		he_fmt(err, errlen, "%d: a header line must be \"key: value\"", r > 0 ? r + 1 : 1);
		rc = HE_INVAL;
		goto out;
	}
	if (h->bad) {
		he_fmt(err, errlen, "1: unknown header key \"%s\"", h->key);
		rc = HE_INVAL;
		goto out;
	}
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

int content_parse_topic(const char *text, size_t len, struct topic *t, char *err, size_t errlen)
{
	struct hdr_state h = { 0 };
	size_t shown;
	int rc = parse_doc(text, len, t, &h, err, errlen);

	free(h.country);
	if (rc)
		return rc;
	if (!t->id || !t->title || !*t->body) {
		he_fmt(err, errlen, "1: a topic needs id, title and a body");
		rc = HE_INVAL;
		goto out;
	}
	for (const char *p = t->id; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')) {
			he_fmt(err, errlen, "1: id \"%s\" may only use a-z, 0-9 and -", t->id);
			rc = HE_INVAL;
			goto out;
		}
	}
	t->match_title = text_fold(t->title);
	t->match_id = strdup(t->id);
	if (!t->match_title || !t->match_id) {
		rc = HE_NOMEM;
		goto out;
	}
	for (char *p = t->match_id; *p; p++)
		if (*p == '-')
			*p = ' ';
	shown = text_utf8_count(t->title, strlen(t->title)) + text_utf8_count(t->body, strlen(t->body)) +
		(t->note ? text_utf8_count(t->note, strlen(t->note)) : 0);
	if (shown > CONTENT_TOPIC_MAX) {
		he_fmt(err, errlen, "1: topic \"%s\" is %zu characters; keep title, note and body under %d",
			t->id, shown, CONTENT_TOPIC_MAX);
		rc = HE_INVAL;
	}
out:
	if (rc)
		content_topic_clear(t);
	return rc;
}

static int cmp_topic(const void *a, const void *b)
{
	return strcmp(((const struct topic *)a)->id, ((const struct topic *)b)->id);
}

static int load_topics(struct content *c, const char *dir, char *err, size_t errlen)
{
	char path[4096];
	DIR *d;
	struct dirent *e;
	int rc = HE_OK;

	snprintf(path, sizeof(path), "%s/topics", dir);
	d = opendir(path);
	if (!d) {
		he_fmt(err, errlen, "%s: cannot open the topics folder: %s", path, strerror(errno));
		return HE_IO;
	}
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name), len;
		char *text = NULL;
		struct topic t, *grown;
		char msg[300];

		if (n < 4 || strcmp(e->d_name + n - 3, ".md") != 0 || e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/topics/%s", dir, e->d_name);
		if ((rc = read_file(path, &text, &len))) {
			he_fmt(err, errlen, "%s:1: cannot read it (%s)", path, he_str(rc));
			break;
		}
		rc = content_parse_topic(text, len, &t, msg, sizeof(msg));
		free(text);
		if (rc) {
			he_fmt(err, errlen, "%s:%s", path, msg);
			break;
		}
		if (strncmp(t.id, e->d_name, n - 3) != 0 || strlen(t.id) != n - 3) {
			he_fmt(err, errlen, "%s:1: id \"%s\" must match the file name", path, t.id);
			content_topic_clear(&t);
			rc = HE_INVAL;
			break;
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
	if (rc == HE_OK && c->ntopics == 0) {
		he_fmt(err, errlen, "%s/topics: no topics found", dir);
		rc = HE_INVAL;
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

/* Reads a line-based file. Each line is passed to fn after trimming; blank lines are skipped. */
static int load_lines(const char *path, bool required, int (*fn)(struct content *, char *, int, char *, size_t),
		      struct content *c, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len;
	int rc, line = 0;

	rc = read_file(path, &text, &len);
	if (rc == HE_NOTFOUND && !required)
		return HE_OK;
	if (rc) {
		he_fmt(err, errlen, "%s:1: cannot read it (%s)", path, he_str(rc));
		return rc;
	}
	if (!text_utf8_valid(text, len) || memchr(text, '\0', len)) {
		he_fmt(err, errlen, "%s:1: the file is not valid UTF-8 text", path);
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
		if (!*s)
			continue;
		rc = fn(c, s, line, err, errlen);
		if (rc && err && *err && !strchr(err, ':')) {
			char msg[256];
			snprintf(msg, sizeof(msg), "%s", err);
			he_fmt(err, errlen, "%s:%d: %s", path, line, msg);
		}
	}
	free(text);
	return rc;
}

static int prompt_line(struct content *c, char *s, int line, char *err, size_t errlen)
{
	if (s[0] == '#')
		return HE_OK; /* the title */
	if (s[0] != '-' || s[1] != ' ') {
		he_fmt(err, errlen, "a prompt is a list item starting with \"- \"");
		return HE_INVAL;
	}
	s = (char *)text_skip_space(s + 2);
	if (strlen(s) > 400) {
		he_fmt(err, errlen, "a prompt is at most 400 bytes");
		return HE_INVAL;
	}
	return push_str(&c->prompts, &c->nprompts, strdup(s));
}

/* The crisis pattern set (care/crisis_rules.c parses it). */
static int load_patterns(struct content *c, const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len;
	int rc = read_file(path, &text, &len);

	if (rc) {
		he_fmt(err, errlen, "%s:1: cannot read it (%s)", path, he_str(rc));
		return rc;
	}
	rc = crisis_rules_parse(path, text, len, &c->crisis_rules, err, errlen);
	free(text);
	return rc;
}

/* A single Markdown document with an optional header. */
static int load_doc(const char *path, bool required, char **body, char **title, int *version,
		    char **country, char *err, size_t errlen)
{
	char *text = NULL, msg[256];
	size_t len;
	int rc;

	rc = read_file(path, &text, &len);
	if (rc == HE_NOTFOUND && !required)
		return HE_OK;
	if (rc) {
		he_fmt(err, errlen, "%s:1: cannot read it (%s)", path, he_str(rc));
		return rc;
	}
	if (strncmp(text, "---", 3) == 0) {
		struct topic t;
		struct hdr_state h = { 0 };
		rc = parse_doc(text, len, &t, &h, msg, sizeof(msg));
		if (rc) {
			he_fmt(err, errlen, "%s:%s", path, msg);
		} else {
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
	} else if (!text_utf8_valid(text, len) || memchr(text, '\0', len)) {
		he_fmt(err, errlen, "%s:1: the file is not valid UTF-8 text", path);
		rc = HE_INVAL;
	} else {
		*body = strdup(text);
		rc = *body ? HE_OK : HE_NOMEM;
	}
	free(text);
	return rc;
}

static int load_crisis(struct content *c, const char *dir, const char *language, char *err, size_t errlen)
{
	char path[4096];
	DIR *d;
	struct dirent *e;
	int rc;

	snprintf(path, sizeof(path), "%s/crisis/response.md", dir);
	if ((rc = load_doc(path, true, &c->crisis_response, NULL, NULL, NULL, err, errlen)))
		return rc;
	snprintf(path, sizeof(path), "%s/crisis/patterns-%s.txt", dir, language);
	if ((rc = load_patterns(c, path, err, errlen)))
		return rc;
	snprintf(path, sizeof(path), "%s/crisis", dir);
	if (!(d = opendir(path))) {
		he_fmt(err, errlen, "%s: cannot open it", path);
		return HE_IO;
	}
	while ((e = readdir(d)) && rc == HE_OK) {
		size_t n = strlen(e->d_name);
		struct crisis_country cc = { 0 }, *grown;
		if (n < 4 || strcmp(e->d_name + n - 3, ".md") != 0 || strcmp(e->d_name, "response.md") == 0 ||
		    strcmp(e->d_name, "README.md") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/crisis/%s", dir, e->d_name);
		rc = load_doc(path, true, &cc.body, NULL, NULL, &cc.name, err, errlen);
		if (rc)
			break;
		cc.code = strndup(e->d_name, n - 3);
		grown = realloc(c->countries, (c->ncountries + 1) * sizeof(*grown));
		if (grown)
			c->countries = grown;
		if (!cc.code || !grown) {
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
	if (rc == HE_OK && !content_crisis(c, "intl")) {
		he_fmt(err, errlen, "%s/crisis/intl.md: the international directory is required", dir);
		rc = HE_INVAL;
	}
	return rc;
}

int content_load(const char *dir, const char *language, struct content **out, char *err, size_t errlen)
{
	struct content *c = calloc(1, sizeof(*c));
	char path[4096];
	int rc;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!c || !(c->dir = strdup(dir))) {
		free(c);
		return HE_NOMEM;
	}
	if ((rc = load_topics(c, dir, err, errlen)))
		goto out;
	snprintf(path, sizeof(path), "%s/prompts.md", dir);
	if ((rc = load_lines(path, true, prompt_line, c, err, errlen)))
		goto out;
	if (c->nprompts == 0) {
		he_fmt(err, errlen, "%s:1: no check-in prompts", path);
		rc = HE_INVAL;
		goto out;
	}
	snprintf(path, sizeof(path), "%s/about.md", dir);
	if ((rc = load_doc(path, true, &c->about, NULL, NULL, NULL, err, errlen)))
		goto out;
	snprintf(path, sizeof(path), "%s/consent-mood.md", dir);
	if ((rc = load_doc(path, true, &c->consent, &c->consent_title, &c->consent_version, NULL, err, errlen)))
		goto out;
	if (c->consent_version <= 0) {
		he_fmt(err, errlen, "%s:1: the consent text needs \"version: N\" in its header", path);
		rc = HE_INVAL;
		goto out;
	}
	rc = load_crisis(c, dir, language, err, errlen);
out:
	if (rc) {
		content_free(c);
		return rc;
	}
	*out = c;
	return HE_OK;
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

const struct topic *content_find(const struct content *c, const char *query)
{
	char *q = text_fold(query);
	const struct topic *hit = NULL;

	if (!q)
		return NULL;
	for (size_t i = 0; i < c->ntopics && !hit; i++) {
		const struct topic *t = &c->topics[i];
		if (strcmp(q, t->id) == 0 || strcmp(q, t->match_id) == 0 || strcmp(q, t->match_title) == 0)
			hit = t;
	}
	/* An alias shared by several topics ("attachment") is a search, not a pick: only an alias
	 * unique to one topic selects it. */
	for (size_t i = 0; i < c->ntopics && !hit; i++) {
		for (size_t j = 0; j < c->topics[i].naliases; j++) {
			if (strcmp(q, c->topics[i].aliases[j]) != 0)
				continue;
			size_t owners = 0;
			for (size_t k = 0; k < c->ntopics; k++)
				for (size_t m = 0; m < c->topics[k].naliases; m++)
					owners += strcmp(q, c->topics[k].aliases[m]) == 0;
			if (owners == 1)
				hit = &c->topics[i];
			break;
		}
	}
	free(q);
	return hit;
}

/* Distance of the query to one candidate phrase: whole-phrase edit distance, or the best match
 * of each query word against the phrase's words, whichever is smaller. */
static unsigned phrase_score(const char *q, const char *cand, unsigned limit)
{
	unsigned best = text_distance_max(q, cand, limit), sum = 0, nq = 0;
	char qw[64], cw[64];
	const char *qp = q;

	if (strstr(cand, q) && strlen(q) >= 4)
		return 0;
	while (text_next_word(&qp, qw, sizeof(qw))) {
		unsigned w = 1000;
		const char *cp = cand;
		while (text_next_word(&cp, cw, sizeof(cw))) {
			unsigned d = text_distance_max(qw, cw, w < limit ? w : limit);
			if (strlen(qw) >= 4 && strncmp(cw, qw, strlen(qw)) == 0)
				d = 0;
			if (d < w)
				w = d;
		}
		sum += w;
		nq++;
	}
	if (nq && sum < best)
		best = sum;
	return best;
}

size_t content_suggest(const struct content *c, const char *query, const struct topic **out, size_t max)
{
	char *q = text_fold(query);
	unsigned *score;
	size_t n = 0, qlen;
	unsigned limit;

	if (!q || !*q || !c->ntopics || !max) {
		free(q);
		return 0;
	}
	score = calloc(c->ntopics, sizeof(*score));
	if (!score) {
		free(q);
		return 0;
	}
	qlen = text_utf8_count(q, strlen(q));
	limit = qlen <= 4 ? 1 : qlen <= 8 ? 2 : 3;
	for (size_t i = 0; i < c->ntopics; i++) {
		const struct topic *t = &c->topics[i];
		unsigned s = phrase_score(q, t->match_id, limit), ts = phrase_score(q, t->match_title, limit);
		if (ts < s)
			s = ts;
		for (size_t j = 0; j < t->naliases && s; j++) {
			unsigned as = phrase_score(q, t->aliases[j], limit);
			if (as < s)
				s = as;
		}
		score[i] = s;
	}
	/* Selection of the best scores within the limit, stable by id order. */
	for (unsigned s = 0; s <= limit && n < max; s++)
		for (size_t i = 0; i < c->ntopics && n < max; i++)
			if (score[i] == s)
				out[n++] = &c->topics[i];
	free(score);
	free(q);
	return n;
}

const struct crisis_country *content_crisis(const struct content *c, const char *code)
{
	const struct crisis_country *intl = NULL;

	for (size_t i = 0; i < c->ncountries; i++) {
		if (code && strcasecmp(c->countries[i].code, code) == 0)
			return &c->countries[i];
		if (strcmp(c->countries[i].code, "intl") == 0)
			intl = &c->countries[i];
	}
	return intl;
}
