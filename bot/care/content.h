/* content.h - the content library: topics, check-in prompts, about text, consent text and crisis
 * resources, read from content/ (see content/README.md for the format).
 *
 * A struct content is immutable once loaded; a reload builds a new one and swaps it in, so a
 * failed reload leaves the old content serving. */
#ifndef HEARTH_CONTENT_H
#define HEARTH_CONTENT_H

#include <stdbool.h>
#include <stddef.h>

struct config_problems;
struct crisis_rules;
struct phrasebook;

#define CONTENT_MAX_ALIASES 24
#define CONTENT_MAX_SOURCES 8
#define CONTENT_TOPIC_MAX 700       /* characters a member reads: title, note and body */
#define CONTENT_FILE_MAX (64 * 1024)
#define CONTENT_PROMPT_MAX 200      /* characters in one check-in prompt */

struct topic {
	char *id;
	char *title;
	char *note;                    /* content note, or NULL */
	char *body;                    /* Markdown */
	char *aliases[CONTENT_MAX_ALIASES]; /* folded (lower case, no accents) */
	size_t naliases;
	char *sources[CONTENT_MAX_SOURCES];
	size_t nsources;
	char *match_id;                /* the id with spaces for dashes, for searching */
	char *match_title;             /* the title, folded */
	bool guidance;                 /* "kind: guidance" (or no kind): practical guidance, not
					* research; "kind: research" cites at least one source */
	bool borrowed;                 /* a language's copy of the English topic (not translated):
					* its strings belong to the English content */
};

struct crisis_country {
	char *code;                    /* "gb", "intl" */
	char *name;
	char *body;                    /* Markdown list of vetted resources */
	bool borrowed;                 /* a language's copy of the English list */
};

/* The pieces of a language's content that are borrowed from English (not translated). */
enum {
	CONTENT_BORROWED_PROMPTS = 1 << 0,
	CONTENT_BORROWED_ABOUT = 1 << 1,
	CONTENT_BORROWED_CONSENT = 1 << 2,
	CONTENT_BORROWED_RESPONSE = 1 << 3,
};

struct content {
	char *dir;
	struct topic *topics;
	size_t ntopics;
	char **prompts;
	size_t nprompts;
	char *about;                   /* Markdown, may hold placeholders (content_fill) */
	char *consent;                 /* Markdown, may hold placeholders (content_fill) */
	char *consent_title;
	int consent_version;
	char *crisis_response;         /* Markdown */
	struct crisis_country *countries;
	size_t ncountries;
	struct crisis_rules *crisis_rules; /* crisis/patterns-LANG.txt (care/crisis_rules.h) */
	struct phrasebook *phrases;    /* phrases.ini (care/phrase.h) */
	/* Languages (content/LANG/, see content/README.md): the English content owns one struct
	 * content per language, whole: what the language lacks is borrowed from English (the
	 * borrowed flags), so a caller reads content_for(c, lang) as it reads c. */
	char *lang;                    /* "de" for a language; NULL for English */
	struct content **langs;
	size_t nlangs;
	unsigned borrowed;             /* CONTENT_BORROWED_* */
	size_t own_phrases;            /* phrases the language translates */
};

/* The content in lang ("de"), or c itself for English, NULL or a language it does not have. */
const struct content *content_for(const struct content *c, const char *lang);
/* Whether lang is one members can choose: "en" or a loaded language. */
bool content_has_lang(const struct content *c, const char *lang);
/* "de, en": the languages members can choose, into out. */
void content_lang_list(const struct content *c, char *out, size_t outlen);
/* --check-config: a line per language that lacks something (phrases, topics, prompts, about,
 * consent, crisis response), as warnings into f (a FILE *). Returns how many lines. */
int content_report_missing(const struct content *c, void *f);
/* Phrases (care/phrase.h has the books). The phrase key in lang (a loaded language, "en", or NULL for English), falling back to
 * English. Never NULL: with no content or an unknown key it is the key itself (and logged). */
const char *phrase(const struct content *c, const char *lang, const char *key);
/* The same, but NULL when no book has the key (for phrases with a default in the code). */
const char *phrase_opt(const struct content *c, const char *lang, const char *key);

/* Whether s is written as a language code ("de", "pt", "gsw"): 2 or 3 letters a-z. */
bool content_lang_code(const char *s);

/* Loads dir for a language ("en": crisis/patterns-en.txt). On error returns a negative code and
 * writes "FILE:LINE: message" to err. */
int content_load(const char *dir, const char *language, struct content **out, char *err, size_t errlen);
void content_free(struct content *c);        /* accepts NULL */

/* --check-config: reads everything in dir, every language's crisis patterns included, and
 * records each problem with its own file and line in probs (a language without patterns is
 * the caller's to report, at its config line: see content_languages). *out gets what loaded,
 * also when problems were found (so that e.g. crisis countries can be checked); the caller
 * frees it. Returns the number of problems, or HE_NOMEM. */
int content_check(const char *dir, const char *language, struct content **out,
		  struct config_problems *probs);

/* Writes the languages that have content in dir ("de, en") to out and sets *found when want is
 * one of them. Returns how many there are, or a negative code. */
int content_languages(const char *dir, char *out, size_t outlen, const char *want, bool *found);

/* Values for the placeholders a text may hold: {retention_days}, {stats_min_members}. */
struct content_vars {
	int retention_days;
	int stats_min_members;
};

/* Fills the placeholders in md (unknown ones stay as written). *out is malloc'd. */
int content_fill(const char *md, const struct content_vars *v, char **out);

/* Parses one topic file's text (header + body). Exposed for tests and the fuzzer. */
int content_parse_topic(const char *text, size_t len, struct topic *out, char *err, size_t errlen);
void content_topic_clear(struct topic *t);

/* The topic whose id, title or alias equals the folded query, or NULL. */
const struct topic *content_find(const struct content *c, const char *query);
/* Up to max topics close to query (misspellings, partial words), best first. */
size_t content_suggest(const struct content *c, const char *query, const struct topic **out, size_t max);
/* The crisis resources for a country code, falling back to "intl". NULL if neither exists. */
const struct crisis_country *content_crisis(const struct content *c, const char *code);

#endif
