/* content_search.c - finding content: a topic by name or alias, suggestions for a misspelt
 * one, and a country's crisis resources. */
#include "care/content.h"
#include "core/text.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
