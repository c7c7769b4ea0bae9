/* content_lang.c - languages: content/LANG/ over the English content, phrase books, and what a
 * language still lacks (--check-config). */
#include "care/content.h"
#include "care/content_int.h"
#include "care/phrase.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void phrase_problem(void *ud, const char *file, int line, const char *msg)
{
	cl_problem(ud, file, line, "%s", msg);
}

/* dir/phrases.ini; English (base NULL) must have it, a language may not. */
int content_load_phrases(struct content *c, const char *dir, const struct phrasebook *base, struct loader *L)
{
	char path[4096], *text = NULL;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "%s/phrases.ini", dir);
	if ((rc = cl_read_file_max(path, &text, &len, 4 * CONTENT_FILE_MAX))) {
		if (rc == HE_NOMEM)
			return rc;
		if (!base || rc != HE_NOTFOUND)
			cl_problem(L, path, 0, "cannot read it (%s)", he_str(rc));
		return HE_OK;
	}
	rc = phrasebook_parse(path, text, len, base, &c->phrases, phrase_problem, L);
	free(text);
	if (rc >= 0)
		c->own_phrases = phrasebook_count(c->phrases);
	return rc == HE_NOMEM ? rc : HE_OK;
}

/* Makes the language lang whole: what it lacks points into the English content en. */
static int borrow(struct content *l, const struct content *en)
{
	size_t mine = l->ntopics, own_countries = l->ncountries;

	for (size_t i = 0; i < en->ntopics; i++) {
		bool have = false;
		struct topic *grown;
		for (size_t j = 0; j < mine && !have; j++)
			have = strcmp(l->topics[j].id, en->topics[i].id) == 0;
		if (have)
			continue;
		if (!(grown = realloc(l->topics, (l->ntopics + 1) * sizeof(*grown))))
			return HE_NOMEM;
		l->topics = grown;
		l->topics[l->ntopics] = en->topics[i];
		l->topics[l->ntopics++].borrowed = true;
	}
	if (l->ntopics)
		qsort(l->topics, l->ntopics, sizeof(*l->topics), cl_cmp_topic);
	for (size_t i = 0; i < en->ncountries; i++) {
		bool have = false;
		struct crisis_country *grown;
		for (size_t j = 0; j < own_countries && !have; j++)
			have = strcmp(l->countries[j].code, en->countries[i].code) == 0;
		if (have)
			continue;
		if (!(grown = realloc(l->countries, (l->ncountries + 1) * sizeof(*grown))))
			return HE_NOMEM;
		l->countries = grown;
		l->countries[l->ncountries] = en->countries[i];
		l->countries[l->ncountries++].borrowed = true;
	}
	if (!l->nprompts) {
		l->prompts = en->prompts;
		l->nprompts = en->nprompts;
		l->borrowed |= CONTENT_BORROWED_PROMPTS;
	}
	if (!l->about) {
		l->about = en->about;
		l->borrowed |= CONTENT_BORROWED_ABOUT;
	}
	if (!l->consent) {
		l->consent = en->consent;
		l->consent_title = en->consent_title;
		l->borrowed |= CONTENT_BORROWED_CONSENT;
	}
	/* Consent is recorded by version: a translation is of the English text's version. */
	l->consent_version = en->consent_version;
	if (!l->crisis_response) {
		l->crisis_response = en->crisis_response;
		l->borrowed |= CONTENT_BORROWED_RESPONSE;
	}
	return HE_OK;
}

/* One language, content/LANG/: every file is optional. */
static int load_lang(struct content *en, const char *dir, const char *lang, struct loader *L)
{
	struct content *l = calloc(1, sizeof(*l)), **grown;
	char path[4096];
	int rc = HE_NOMEM;

	if (!l || !(l->lang = strdup(lang)) || !(l->dir = strdup(dir)))
		goto out;
	snprintf(path, sizeof(path), "%s/topics", dir);
	if (cl_exists(path) && (rc = cl_load_topics(l, dir, false, L)) == HE_NOMEM)
		goto out;
	snprintf(path, sizeof(path), "%s/prompts.md", dir);
	if (cl_exists(path) && (rc = cl_load_prompts(l, path, L)) == HE_NOMEM)
		goto out;
	snprintf(path, sizeof(path), "%s/about.md", dir);
	if (cl_exists(path) && (rc = cl_load_doc(path, &l->about, NULL, NULL, NULL, L)) == HE_NOMEM)
		goto out;
	snprintf(path, sizeof(path), "%s/consent-mood.md", dir);
	if (cl_exists(path) &&
	    (rc = cl_load_doc(path, &l->consent, &l->consent_title, &l->consent_version, NULL, L)) == HE_NOMEM)
		goto out;
	if (l->consent && l->consent_version != en->consent_version)
		cl_problem(L, path, 1, "this translation is of version %d, the English text is version %d: "
			"translate the current text and give it the same version", l->consent_version,
			en->consent_version);
	snprintf(path, sizeof(path), "%s/crisis/response.md", dir);
	if (cl_exists(path) && (rc = cl_load_doc(path, &l->crisis_response, NULL, NULL, NULL, L)) == HE_NOMEM)
		goto out;
	snprintf(path, sizeof(path), "%s/crisis", dir);
	if (cl_exists(path) && (rc = cl_load_countries(l, dir, L)) == HE_NOMEM)
		goto out;
	if ((rc = content_load_phrases(l, dir, en->phrases, L)) == HE_NOMEM || (rc = borrow(l, en)))
		goto out;
	if (!(grown = realloc(en->langs, (en->nlangs + 1) * sizeof(*grown)))) {
		rc = HE_NOMEM;
		goto out;
	}
	en->langs = grown;
	en->langs[en->nlangs++] = l;
	return HE_OK;
out:
	content_free(l);
	return rc;
}

/* Every content/LANG/ folder (LANG: 2 or 3 letters a-z). */
int content_load_langs(struct content *en, const char *dir, struct loader *L)
{
	char path[4096], **names = NULL;
	size_t n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = HE_OK;

	if (!d)
		return HE_OK;
	while ((e = readdir(d)) && rc == HE_OK) {
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		struct stat st;
		if (content_lang_code(e->d_name) && strcmp(e->d_name, "en") != 0 && stat(path, &st) == 0 &&
		    S_ISDIR(st.st_mode))
			rc = cl_push_str(&names, &n, strdup(e->d_name));
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cl_cmp_str);
	for (size_t i = 0; i < n && rc == HE_OK; i++) {
		char *ldir = NULL;
		if (asprintf(&ldir, "%s/%s", dir, names[i]) < 0)
			rc = HE_NOMEM;
		else
			rc = load_lang(en, ldir, names[i], L);
		free(ldir);
	}
	cl_free_strs(names, n);
	return rc;
}

bool content_lang_code(const char *s)
{
	size_t n = s ? strspn(s, "abcdefghijklmnopqrstuvwxyz") : 0;

	return (n == 2 || n == 3) && s[n] == '\0';
}

const struct content *content_for(const struct content *c, const char *lang)
{
	if (!c || !lang)
		return c;
	for (size_t i = 0; i < c->nlangs; i++)
		if (strcmp(c->langs[i]->lang, lang) == 0)
			return c->langs[i];
	return c;
}

bool content_has_lang(const struct content *c, const char *lang)
{
	if (!lang)
		return false;
	if (strcmp(lang, "en") == 0)
		return true;
	for (size_t i = 0; c && i < c->nlangs; i++)
		if (strcmp(c->langs[i]->lang, lang) == 0)
			return true;
	return false;
}

void content_lang_list(const struct content *c, char *out, size_t outlen)
{
	const char *names[64];
	size_t n = 0, used = 0;

	names[n++] = "en";
	for (size_t i = 0; c && i < c->nlangs && n < 64; i++)
		names[n++] = c->langs[i]->lang;
	qsort(names, n, sizeof(*names), cl_cmp_str);
	if (outlen)
		out[0] = '\0';
	for (size_t i = 0; i < n && used < outlen; i++)
		used += (size_t)snprintf(out + used, outlen - used, "%s%s", i ? ", " : "", names[i]);
}

int content_report_missing(const struct content *c, void *file)
{
	FILE *f = file;
	int lines = 0;

	for (size_t i = 0; c && i < c->nlangs; i++) {
		const struct content *l = c->langs[i];
		struct hbuf b = HBUF_INIT;
		size_t missing = 0, topics = 0;

		for (size_t k = 0; k < phrasebook_count(c->phrases); k++)
			if (!phrasebook_get(l->phrases, phrasebook_key(c->phrases, k)))
				missing++;
		if (missing) {
			hbuf_printf(&b, "%zu of %zu phrases (phrases.ini:", missing, phrasebook_count(c->phrases));
			for (size_t k = 0, shown = 0; k < phrasebook_count(c->phrases); k++) {
				const char *key = phrasebook_key(c->phrases, k);
				if (phrasebook_get(l->phrases, key))
					continue;
				if (shown++ == 8) {
					hbuf_puts(&b, " ...");
					break;
				}
				hbuf_printf(&b, " %s", key);
			}
			hbuf_puts(&b, ")");
		}
		for (size_t k = 0; k < l->ntopics; k++)
			if (l->topics[k].borrowed)
				hbuf_printf(&b, "%s%s", topics++ ? ", " : (b.len ? "; topics: " : "topics: "),
					    l->topics[k].id);
		if (l->borrowed & CONTENT_BORROWED_PROMPTS)
			hbuf_printf(&b, "%sprompts.md", b.len ? "; " : "");
		if (l->borrowed & CONTENT_BORROWED_ABOUT)
			hbuf_printf(&b, "%sabout.md", b.len ? "; " : "");
		if (l->borrowed & CONTENT_BORROWED_CONSENT)
			hbuf_printf(&b, "%sconsent-mood.md", b.len ? "; " : "");
		if (l->borrowed & CONTENT_BORROWED_RESPONSE)
			hbuf_printf(&b, "%scrisis/response.md", b.len ? "; " : "");
		if (b.len && !b.oom) {
			fprintf(f, "%s: warning: language %s has no translation yet (English is used) for: %s\n",
				l->dir, l->lang, hbuf_str(&b));
			lines++;
		}
		hbuf_free(&b);
	}
	return lines;
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

const char *phrase_opt(const struct content *c, const char *lang, const char *key)
{
	const struct content *l = c ? content_for(c, lang) : NULL;
	const char *t = l ? phrasebook_get(l->phrases, key) : NULL;

	return t || !c ? t : phrasebook_get(c->phrases, key);
}

const char *phrase(const struct content *c, const char *lang, const char *key)
{
	const char *t = phrase_opt(c, lang, key);

	if (!t) {
		if (c) /* no content at all: a parser's test or fuzzer */
			hlog_error("phrase", "no text for the phrase %s (content/phrases.ini)", key);
		t = key;
	}
	return t;
}
