/* crisis.c - crisis language detection, the private answer and moderators' alerts. */
#include "care/crisis.h"
#include "care/rooms.h"
#include "care/crisis_rules.h"
#include "care/lang.h"
#include "care/phrase.h"
#include "care/commands.h"
#include "care/state.h"
#include "care/content.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/text.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CRISIS_ID_BYTES 16
#define CRISIS_SEEN_MAX 4096       /* members and rooms remembered for the rate limits */

/* When a member or room last got an answer or alert. id is a keyed hash, never the name. */
struct crisis_seen {
	unsigned char id[CRISIS_ID_BYTES];
	time_t at;
};

struct crisis {
	unsigned char key[crypto_generichash_KEYBYTES]; /* random per process */
	struct crisis_seen *seen;
	size_t nseen, cap;
	unsigned long answers;     /* for the logs: counts only */
	unsigned long alerts;
};

/* Said when the content library is missing: no numbers, since none were vetted here. In
 * English and in German, the languages Hearth ships; any other language gets English. */
static const char fallback_answer[] =
	"I'm sorry it feels this hard right now. You deserve support, and you are not alone. "
	"Please reach out to someone you trust, and if you are in immediate danger, call your "
	"local emergency number.";
static const char fallback_answer_de[] =
	"Es tut mir leid, dass es gerade so schwer ist. Du verdienst Unterstützung, und du bist "
	"nicht allein. Bitte wende dich an einen Menschen, dem du vertraust, und wenn du in "
	"akuter Gefahr bist, ruf den Notruf an, wo du gerade bist.";

static const char *fallback_for(const char *lang)
{
	return lang && strncmp(lang, "de", 2) == 0 && (!lang[2] || lang[2] == '-' || lang[2] == '_')
		       ? fallback_answer_de
		       : fallback_answer;
}


/* ---- matching ---- */

int crisis_match(const struct content *c, const char *text)
{
	char *folded = NULL, *words = NULL;
	size_t len;
	int rc = HE_NOMEM;

	if (!c || !c->crisis_rules || !text)
		return 0;
	len = strnlen(text, CRISIS_SCAN_MAX);
	if (!(folded = text_fold_n(text, len)) || !(words = text_words(folded)))
		goto out;
	rc = crisis_rules_match(c->crisis_rules, words, NULL);
out:
	free(words);
	free(folded);
	return rc;
}

/* ---- the configured country ---- */

/* Names people write for a country, with the code of its list. */
static const struct {
	const char *alias, *code;
} country_aliases[] = {
	{ "uk", "gb" }, { "united kingdom", "gb" }, { "great britain", "gb" }, { "britain", "gb" },
	{ "england", "gb" }, { "scotland", "gb" }, { "wales", "gb" }, { "northern ireland", "gb" },
	{ "usa", "us" }, { "america", "us" }, { "united states", "us" },
	{ "united states of america", "us" },
	{ "australia", "au" }, { "canada", "ca" }, { "germany", "de" }, { "deutschland", "de" },
	{ "austria", "at" }, { "osterreich", "at" }, { "oesterreich", "at" },
	{ "switzerland", "ch" }, { "schweiz", "ch" }, { "suisse", "ch" }, { "svizzera", "ch" },
	{ "ireland", "ie" }, { "eire", "ie" }, { "republic of ireland", "ie" },
	{ "international", "intl" }, { "worldwide", "intl" },
};

static const struct crisis_country *country_exact(const struct content *c, const char *code)
{
	for (size_t i = 0; i < c->ncountries; i++)
		if (strcasecmp(c->countries[i].code, code) == 0)
			return &c->countries[i];
	return NULL;
}

static int cmp_code(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int crisis_country_resolve(const struct content *c, char **country, char *err, size_t errlen)
{
	const struct crisis_country *cc = NULL;
	const char **codes = NULL;
	char *want = NULL, *fixed;
	struct hbuf list = HBUF_INIT;
	int rc = HE_NOMEM;

	if (!(want = text_fold(*country ? *country : "")))
		goto out;
	for (size_t i = 0; i < sizeof(country_aliases) / sizeof(country_aliases[0]) && !cc; i++)
		if (strcmp(want, country_aliases[i].alias) == 0)
			cc = country_exact(c, country_aliases[i].code);
	if (!cc)
		cc = country_exact(c, want);
	if (cc) {
		if (!(fixed = strdup(cc->code)))
			goto out;
		free(*country);
		*country = fixed;
		rc = HE_OK;
		goto out;
	}
	if (!(codes = calloc(c->ncountries + 1, sizeof(*codes))))
		goto out;
	for (size_t i = 0; i < c->ncountries; i++)
		codes[i] = c->countries[i].code;
	qsort(codes, c->ncountries, sizeof(*codes), cmp_code);
	for (size_t i = 0; i < c->ncountries; i++)
		if (strcmp(codes[i], "intl") != 0)
			hbuf_printf(&list, "%s%s", list.len ? ", " : "", codes[i]);
	if (list.oom)
		goto out;
	he_fmt(err, errlen, "[crisis] country \"%.40s\" has no vetted crisis lines; use one of %s (or "
	       "uk, usa, ...), or intl for the international directory", *country ? *country : "",
	       hbuf_str(&list));
	rc = HE_INVAL;
out:
	hbuf_free(&list);
	free(codes);
	free(want);
	return rc;
}

/* ---- the answer ---- */

static void put_trimmed(struct hbuf *b, const char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r'))
		n--;
	hbuf_append(b, s, n);
}

char *crisis_answer(const struct happ *app)
{
	return crisis_answer_in(app, app->cfg->crisis_country);
}

char *crisis_answer_in(const struct happ *app, const char *country)
{
	return crisis_answer_lang(app, NULL, country);
}

char *crisis_answer_lang(const struct happ *app, const char *lang, const char *country)
{
	const struct content *c = content_for(app->content, lang);
	const struct crisis_country *cc, *intl;
	struct hbuf b = HBUF_INIT;

	if (!c || !c->crisis_response)
		return strdup(fallback_for(lang));
	cc = content_crisis(c, country);
	intl = content_crisis(c, "intl");
	/* The start checked the country; a content reload can still have removed its list. */
	if (cc == intl && country && strcmp(country, "intl") != 0)
		hlog_warn("crisis", "country %s has no resource list in the content now; "
			  "answering with the international directory", country);
	put_trimmed(&b, c->crisis_response);
	if (cc) {
		hbuf_printf(&b, "\n\n**%s**\n\n", cc->name ? cc->name : cc->code);
		put_trimmed(&b, cc->body);
	}
	if (intl && intl != cc) {
		hbuf_printf(&b, "\n\n**%s**\n\n", phrase(app->content, lang, "crisis.other_countries"));
		put_trimmed(&b, intl->body);
	}
	if (!cc && !intl)
		hbuf_printf(&b, "\n\n%s", fallback_for(lang));
	return hbuf_steal(&b);
}

static int send_answer(struct hctx *ctx, enum hdest dest)
{
	const struct hmsg *m = ctx->msg;
	struct room_settings rs;
	char *md;
	int rc;

	/* A group room's own crisis country (`!mod set country`); else the configured one. */
	if (m->is_private || rooms_get(ctx->app, m->network, m->room, &rs) != HE_OK)
		rooms_get_defaults(&rs);
	/* In the member's language when they chose one, else the room's; what a language lacks is
	 * English (content_for), so the answer never fails for a missing translation. */
	md = crisis_answer_lang(ctx->app, hctx_lang(ctx, dest), rooms_country(ctx->app, &rs));

	if (!md)
		return HE_NOMEM;
	rc = hctx_reply(ctx, dest, md);
	if (rc == HE_OK)
		metrics_crisis_answer();
	free(md);
	return rc;
}

/* ---- rate limits ---- */

static struct crisis *state(const struct happ *app)
{
	return app->care ? app->care->crisis : NULL;
}

static void make_id(const struct crisis *cr, char kind, const char *network, const char *who,
		    unsigned char id[CRISIS_ID_BYTES])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, cr->key, sizeof(cr->key), CRISIS_ID_BYTES);
	crypto_generichash_update(&st, (const unsigned char *)&kind, 1);
	crypto_generichash_update(&st, (const unsigned char *)network, strlen(network) + 1);
	crypto_generichash_update(&st, (const unsigned char *)who, strlen(who) + 1);
	crypto_generichash_final(&st, id, CRISIS_ID_BYTES);
}

static time_t window_of(const struct happ *app)
{
	int m = app->cfg->crisis_rate_minutes;

	return m > 0 ? (time_t)m * 60 : 0;
}

/* Whether id got something less than the window ago. A clock that went back does not hold an
 * answer back. */
static bool held_back(const struct crisis *cr, const unsigned char *id, time_t now, time_t window)
{
	for (size_t i = 0; cr && i < cr->nseen; i++)
		if (memcmp(cr->seen[i].id, id, CRISIS_ID_BYTES) == 0)
			return now >= cr->seen[i].at && now - cr->seen[i].at < window;
	return false;
}

/* Remembers that id got something now. When full, forgets expired entries, then the oldest:
 * forgetting can only mean an extra answer, never a missing one. */
static void remember(struct crisis *cr, const unsigned char *id, time_t now, time_t window)
{
	size_t i, j, oldest = 0;

	if (!cr)
		return;
	for (i = 0; i < cr->nseen; i++)
		if (memcmp(cr->seen[i].id, id, CRISIS_ID_BYTES) == 0) {
			cr->seen[i].at = now;
			return;
		}
	if (cr->nseen == cr->cap) {
		for (i = j = 0; i < cr->nseen; i++)
			if (now >= cr->seen[i].at && now - cr->seen[i].at < window)
				cr->seen[j++] = cr->seen[i];
		cr->nseen = j;
	}
	if (cr->nseen == cr->cap && cr->cap < CRISIS_SEEN_MAX) {
		size_t cap = cr->cap ? cr->cap * 2 : 64;
		struct crisis_seen *grown = realloc(cr->seen, cap * sizeof(*grown));
		if (grown) {
			cr->seen = grown;
			cr->cap = cap;
		}
	}
	if (cr->nseen == cr->cap) {
		if (!cr->cap)
			return;
		for (i = 1; i < cr->nseen; i++)
			if (cr->seen[i].at < cr->seen[oldest].at)
				oldest = i;
		cr->seen[oldest] = cr->seen[--cr->nseen];
	}
	memcpy(cr->seen[cr->nseen].id, id, CRISIS_ID_BYTES);
	cr->seen[cr->nseen++].at = now;
}

/* ---- moderators' alert ---- */

static void alert_moderators(struct hctx *ctx)
{
	struct happ *app = ctx->app;
	const struct hmsg *m = ctx->msg;
	struct crisis *cr = state(app);
	const struct config_room *r;
	unsigned char id[CRISIS_ID_BYTES];
	time_t now = happ_now(app), window = window_of(app);
	struct hbuf b = HBUF_INIT;
	char *room = NULL;
	int rc;

	/* A private chat stays private: no alert. */
	if (m->is_private || !m->room)
		return;
	r = config_room_find(app->cfg, m->network, m->room);
	if (!r || !r->crisis_alert_room || !*r->crisis_alert_room)
		return;
	if (strcmp(r->crisis_alert_room, m->room) == 0) {
		hlog_warn("crisis", "a room's crisis_alert_room is the room itself; no alert was posted "
			  "(set it to a separate moderators' room)");
		return;
	}
	if (cr) {
		make_id(cr, 'a', m->network, m->room, id);
		if (held_back(cr, id, now, window))
			return;
	}
	if (!reply_can_post(app, m->network)) {
		hlog_warn("crisis", "cannot post a moderators' alert on %s", m->network);
		return;
	}
	if (!(room = text_md_code(m->room)))
		return;
	hbuf_printf(&b, phrase(app->content, app->cfg->language, "crisis.alert"), room);
	free(room);
	if (b.oom) {
		hbuf_free(&b);
		return;
	}
	rc = reply_post(app, m->network, r->crisis_alert_room, hbuf_str(&b), "a moderators' alert");
	hbuf_free(&b);
	if (rc)
		return; /* logged by reply_post */
	if (cr) {
		remember(cr, id, now, window);
		cr->alerts++;
	}
	hlog_info("crisis", "posted a moderators' alert (%lu since start)", cr ? cr->alerts : 1UL);
}

/* ---- entry points ---- */

/* The message is the !crisis command itself, which answers on its own. */
static bool is_crisis_command(const struct hctx *ctx)
{
	const char *prefix = ctx->prefix[0] ? ctx->prefix : ctx->app->cfg->prefix, *p = ctx->text;
	size_t plen = strlen(prefix);
	char word[32], *f;
	bool yes;

	if (strncmp(p, prefix, plen) != 0)
		return false;
	p += plen;
	if (!text_next_word(&p, word, sizeof(word)))
		return false;
	f = text_fold(word);
	yes = f && strcmp(f, "crisis") == 0;
	free(f);
	return yes;
}

static void counted(struct crisis *cr, const char *how)
{
	if (cr)
		cr->answers++;
	hlog_info("crisis", "sent a private crisis answer (%s; %lu since start)", how,
		  cr ? cr->answers : 1UL);
}

int crisis_scan(struct hctx *ctx)
{
	struct happ *app = ctx->app;
	const struct hmsg *m = ctx->msg;
	struct crisis *cr = state(app);
	unsigned char id[CRISIS_ID_BYTES];
	time_t now = happ_now(app), window = window_of(app);
	int hit;

	if (!ctx->text || !app->content)
		return HE_OK;
	hit = crisis_match(app->content, ctx->text);
	if (hit < 0)
		hlog_error("crisis", "could not check a message for crisis language: %s", he_str(hit));
	if (hit <= 0)
		return HE_OK;
	if (!is_crisis_command(ctx)) {
		if (cr)
			make_id(cr, 'm', m->network, m->sender ? m->sender : "", id);
		if (cr && held_back(cr, id, now, window)) {
			hlog_debug("crisis", "an automatic answer was held back by the rate limit");
		} else if (send_answer(ctx, HDEST_PRIVATE) == HE_OK) {
			if (cr)
				remember(cr, id, now, window);
			counted(cr, "automatic");
		}
	}
	alert_moderators(ctx);
	return HE_OK;
}

int cmd_crisis(struct hctx *ctx)
{
	struct happ *app = ctx->app;
	const struct hmsg *m = ctx->msg;
	struct crisis *cr = state(app);
	unsigned char id[CRISIS_ID_BYTES];
	int rc;

	rc = send_answer(ctx, HDEST_PRIVATE);
	if (rc && !m->is_private) {
		/* They asked for help: when a private chat cannot be opened, answer where they are. */
		hlog_warn("crisis", "the private answer could not be delivered; answering in the room");
		rc = send_answer(ctx, HDEST_SAME);
		if (rc == HE_OK)
			counted(cr, "!crisis, in the room");
		return rc;
	}
	if (rc)
		return rc;
	counted(cr, "!crisis");
	/* A later automatic answer would only repeat this one. */
	if (cr) {
		make_id(cr, 'm', m->network, m->sender ? m->sender : "", id);
		remember(cr, id, happ_now(app), window_of(app));
	}
	if (!m->is_private)
		rc = hctx_reply(ctx, HDEST_SAME, hctx_phrase(ctx, HDEST_SAME, "crisis.room_pointer"));
	return rc;
}

int crisis_init(struct happ *app)
{
	struct crisis *cr;

	if (sodium_init() < 0) {
		hlog_error("crisis", "libsodium could not be initialised");
		return HE_CRYPTO;
	}
	if (!(cr = calloc(1, sizeof(*cr))))
		return HE_NOMEM;
	randombytes_buf(cr->key, sizeof(cr->key));
	app->care->crisis = cr;
	return HE_OK;
}

void crisis_free(struct happ *app)
{
	struct crisis *cr;

	if (!app || !app->care || !(cr = app->care->crisis))
		return;
	free(cr->seen);
	sodium_memzero(cr, sizeof(*cr));
	free(cr);
	app->care->crisis = NULL;
}
