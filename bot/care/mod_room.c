/* mod_room.c - !mod status, !mod set, !mod welcome and !mod topic-of-week: what a facilitator
 * sees and shapes of a room's setup. Settings live in the store (rooms.c); the configuration
 * gives the defaults. */
#include "care/lang.h"
#include "care/mod_room.h"
#include "care/mood_views.h"
#include "care/content.h"
#include "care/crisis.h"
#include "care/cron.h"
#include "care/sched.h"
#include "care/welcome.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/text.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPIC_WEEK_SECS (7 * 86400)

/* A phrase for a reply where the command was said. */
#define S(key) hctx_phrase(ctx, HDEST_SAME, (key))

static int reply(struct hctx *ctx, const char *md)
{
	return hctx_reply(ctx, HDEST_SAME, md);
}

size_t mod_quote_len(const char *s)
{
	if (*s == '"' || *s == '\'')
		return 1;
	if ((unsigned char)s[0] == 0xe2 && (unsigned char)s[1] == 0x80 &&
	    ((unsigned char)s[2] == 0x9c || (unsigned char)s[2] == 0x9d ||
	     (unsigned char)s[2] == 0x98 || (unsigned char)s[2] == 0x99))
		return 3;
	return 0;
}

/* 1 for a double quote mark (straight or curly), 2 for a single one, 0 for none. */
static int quote_family(const char *s)
{
	size_t q = mod_quote_len(s);

	if (!q)
		return 0;
	return *s == '"' || (q == 3 && ((unsigned char)s[2] == 0x9c || (unsigned char)s[2] == 0x9d)) ? 1 : 2;
}

int mod_take_quoted(const char **p, char *out, size_t outlen)
{
	const char *s = text_skip_space(*p), *end = NULL;
	size_t q = mod_quote_len(s);
	int fam = quote_family(s);

	if (!q)
		return 0;
	/* The text runs to the last quote of the same kind, so it may hold quotes and apostrophes
	 * ("Say "hi" when you're ready"). */
	for (const char *c = s + q; *c; c++)
		if (quote_family(c) == fam)
			end = c;
	if (!end || (size_t)(end - (s + q)) >= outlen)
		return -1;
	snprintf(out, outlen, "%.*s", (int)(end - (s + q)), s + q);
	*p = text_skip_space(end + mod_quote_len(end));
	return 1;
}

void mod_format_local(const struct content *c, const char *lang, const char *tz, time_t t, char *out,
		      size_t len)
{
	int minute = 0, wday = 0;
	long day = 0;

	if (cron_local(tz, t, &minute, &wday, &day) != 0) {
		snprintf(out, len, "%s", phrase(c, lang, "date.unknown"));
		return;
	}
	snprintf(out, len, "%s %04ld-%02ld-%02ld %02d:%02d", mood_weekday_name(c, lang, wday), day / 10000,
		 (day / 100) % 100, day % 100, minute / 60, minute % 60);
}

void mod_next_time(struct happ *app, const char *lang, const struct sched_entry *s, const char *show_tz, char *out,
		   size_t len)
{
	struct cron_expr *e = NULL;
	time_t now = happ_now(app), next;

	snprintf(out, len, "%s", phrase(app->content, lang, "date.unknown"));
	if (cron_parse(s->cron, &e, NULL, 0) == HE_OK &&
	    cron_next(e, s->tz, s->last_fire > now ? s->last_fire : now, &next) == HE_OK)
		mod_format_local(app->content, lang, show_tz, next, out, len);
	cron_free(e);
}

bool mod_clashes_quiet(struct happ *app, const struct room_settings *rs, const char *cron,
		       const char *tz)
{
	struct cron_expr *e = NULL;
	time_t t = happ_now(app), end = t + 8 * 86400, next;
	bool clash = false;

	if (rs->quiet_start < 0 || rs->quiet_end < 0 || cron_parse(cron, &e, NULL, 0) != HE_OK)
		return false;
	for (int i = 0; i < 200 && !clash && cron_next(e, tz, t, &next) == 0 && next <= end; i++) {
		int minute;
		if (cron_local(rooms_tz(app, rs), next, &minute, NULL, NULL) == 0 &&
		    cron_in_quiet(rs->quiet_start, rs->quiet_end, minute))
			clash = true;
		t = next;
	}
	cron_free(e);
	return clash;
}

void mod_quiet_note(struct happ *app, const struct room_settings *rs, char *out, size_t len)
{
	snprintf(out, len, phrase(app->content, rooms_language(app, rs), "mod.quiet_note"),
		 rs->quiet_start / 60, rs->quiet_start % 60,
		 rs->quiet_end / 60, rs->quiet_end % 60, rooms_tz(app, rs));
}

/* ---- !mod status ---- */

static void put_code(struct hbuf *b, const char *s)
{
	char *code = text_md_code(s);

	if (code)
		hbuf_puts(b, code);
	else
		b->oom = true;
	free(code);
}

static void put_schedules(struct hctx *ctx, struct hbuf *b, const struct room_settings *rs)
{
	const struct hmsg *m = ctx->msg;
	struct sched_entry *v = NULL;
	size_t n = 0;
	const char *tz = rooms_tz(ctx->app, rs);

	if (sched_list(ctx->app, m->network, m->room, &v, &n) != HE_OK) {
		hbuf_printf(b, "- %s\n", S("mod.status_sched_unreadable"));
		return;
	}
	if (n == 0)
		hbuf_printf(b, "- %s\n", S("mod.status_sched_none"));
	else {
		hbuf_puts(b, "- ");
		hbuf_printf(b, S("mod.status_sched"), tz);
		hbuf_putc(b, '\n');
	}
	for (size_t i = 0; i < n; i++) {
		char when[64];

		mod_next_time(ctx->app, hctx_lang(ctx, HDEST_SAME), &v[i], tz, when, sizeof(when));
		hbuf_printf(b, "  - **#%lld** ", v[i].id);
		put_code(b, v[i].cron);
		hbuf_printf(b, " (%s), ", v[i].tz);
		hbuf_printf(b, S("mod.status_next"), when);
		if (v[i].topic[0]) {
			hbuf_puts(b, ", ");
			hbuf_printf(b, S("mod.status_with_topic"), v[i].topic);
		} else if (v[i].text[0]) {
			hbuf_printf(b, ", %s", S("mod.status_own_question"));
		}
		if (mod_clashes_quiet(ctx->app, rs, v[i].cron, v[i].tz))
			hbuf_printf(b, " (%s)", S("mod.status_some_quiet"));
		hbuf_putc(b, '\n');
	}
	free(v);
}

int mod_status(struct hctx *ctx, const char *args)
{
	struct happ *app = ctx->app;
	const struct hmsg *m = ctx->msg;
	struct room_settings rs;
	struct hbuf b = HBUF_INIT;
	const char *def;
	int rc;

	if (rooms_get(app, m->network, m->room, &rs) != HE_OK)
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.sorry_couldnt_read_rooms_3"));
	def = S("mod.status_default");
	hbuf_printf(&b, "**%s**\n\n- Hearth: %s\n", S("mod.status_title"),
		    S(rs.paused ? "mod.status_paused" : "mod.status_active"));
	if (rs.quiet_start >= 0)
		hbuf_printf(&b, "- %s: %02d:%02d-%02d:%02d (%s)\n", S("mod.status_quiet"), rs.quiet_start / 60,
			    rs.quiet_start % 60, rs.quiet_end / 60, rs.quiet_end % 60, rooms_tz(app, &rs));
	else
		hbuf_printf(&b, "- %s: %s\n", S("mod.status_quiet"), S("mod.status_none"));
	hbuf_printf(&b, "- %s: %s%s%s\n", S("mod.status_tz"), rooms_tz(app, &rs), rs.tz[0] ? "" : " ",
		    rs.tz[0] ? "" : def);
	put_schedules(ctx, &b, &rs);
	hbuf_printf(&b, "- %s: %s%s%s\n", S("mod.status_country"), rooms_country(app, &rs), rs.country[0] ? "" : " ",
		    rs.country[0] ? "" : def);
	hbuf_printf(&b, "- %s: %s%s%s\n", S("mod.status_language"), rooms_language(app, &rs),
		    rs.language[0] ? "" : " ", rs.language[0] ? "" : def);
	hbuf_printf(&b, "- %s: ", S("mod.status_prefix"));
	put_code(&b, rooms_prefix(app, &rs));
	hbuf_printf(&b, "%s%s\n", rs.prefix[0] ? "" : " ", rs.prefix[0] ? "" : def);
	hbuf_printf(&b, "- %s: %s\n", S("mod.status_welcome"), S(!rs.welcome ? "mod.status_welcome_off" :
		    rs.welcome_text[0] ? "mod.status_welcome_room" : "mod.status_welcome_mine"));
	if (rs.topic_week[0] && happ_now(app) - rs.topic_week_at < TOPIC_WEEK_SECS) {
		char until[64];
		mod_format_local(app->content, hctx_lang(ctx, HDEST_SAME), rooms_tz(app, &rs), rs.topic_week_at + TOPIC_WEEK_SECS, until, sizeof(until));
		hbuf_puts(&b, "- ");
		hbuf_printf(&b, S("mod.status_topic_week"), rs.topic_week, until);
		hbuf_putc(&b, '\n');
	}
	hbuf_printf(&b, "\n%s", S("mod.status_outro"));
	rc = b.oom ? HE_NOMEM : reply(ctx, hbuf_str(&b));
	hbuf_free(&b);
	return rc;
}

/* ---- !mod set ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Languages with content: crisis/patterns-LANG.txt in the content folder. */
static void list_languages(const struct happ *app, struct hbuf *b, const char *want, bool *found)
{
	char path[4096], *names[32];
	size_t n = 0;
	DIR *d;
	struct dirent *e;

	*found = false;
	if (!app->content || !app->content->dir)
		return;
	snprintf(path, sizeof(path), "%s/crisis", app->content->dir);
	if (!(d = opendir(path)))
		return;
	while ((e = readdir(d)) && n < 32) {
		size_t len = strlen(e->d_name);
		if (len > 13 && len < 30 && strncmp(e->d_name, "patterns-", 9) == 0 &&
		    strcmp(e->d_name + len - 4, ".txt") == 0 &&
		    (names[n] = strndup(e->d_name + 9, len - 13)))
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (want && strcmp(names[i], want) == 0)
			*found = true;
		hbuf_printf(b, "%s`%s`", i ? ", " : "", names[i]);
		free(names[i]);
	}
}

static void list_countries(const struct happ *app, struct hbuf *b, const char *or_intl)
{
	const struct content *c = app->content;
	const char **codes = c ? calloc(c->ncountries + 1, sizeof(*codes)) : NULL;
	size_t k = 0;

	if (!codes) {
		b->oom = c != NULL;
		return;
	}
	for (size_t i = 0; i < c->ncountries; i++)
		codes[i] = c->countries[i].code;
	qsort(codes, c->ncountries, sizeof(*codes), cmp_str);
	for (size_t i = 0; i < c->ncountries; i++)
		if (strcmp(codes[i], "intl") != 0)
			hbuf_printf(b, "%s`%s`", k++ ? ", " : "", codes[i]);
	if (k)
		hbuf_printf(b, ", %s", or_intl);
	else
		hbuf_puts(b, "`intl`");
	free(codes);
}

static bool prefix_ok(const char *v)
{
	unsigned char ch = (unsigned char)v[0];

	return v[0] && !v[1] && ch > 0x20 && ch < 0x7f && ch != '`' &&
	       !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'));
}

static void list_prefixes(struct hbuf *b)
{
	bool first = true;

	for (int ch = 0x21; ch < 0x7f; ch++) {
		char s[2] = { (char)ch, 0 };
		if (!prefix_ok(s))
			continue;
		hbuf_printf(b, "%s", first ? "" : " ");
		put_code(b, s);
		first = false;
	}
}

/* The value echoed in a refusal: cut and shown as text. */
static char *said(const char *v)
{
	char cut[64];

	snprintf(cut, sizeof(cut), "%.*s", (int)text_utf8_prefix(v, strlen(v), 40), v);
	return text_md_escape(cut);
}

static int set_refused(struct hctx *ctx, const char *what, const char *v, struct hbuf *good)
{
	char *s = said(v);
	int rc = s && !good->oom ? hctx_replyf(ctx, HDEST_SAME, hctx_phrase(ctx, HDEST_SAME, "mod.cant_use_as_good"), s, what, hbuf_str(good))
				 : HE_NOMEM;
	free(s);
	hbuf_free(good);
	return rc;
}

int mod_set(struct hctx *ctx, const char *args)
{
	struct happ *app = ctx->app;
	const struct hmsg *m = ctx->msg;
	struct hbuf good = HBUF_INIT;
	char what[32], value[160], *f, fkey[48], nkey[48], extra[240] = "";
	const char *field = NULL, *store = value, *note;
	bool reset;
	int rc;

	if (!text_next_word(&args, what, sizeof(what)))
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.what_would_like_set"));
	args = text_skip_space(args);
	if (!*args || strlen(args) >= sizeof(value))
		return hctx_replyf(ctx, HDEST_SAME, hctx_phrase(ctx, HDEST_SAME, "mod.please_give_value_e"), "timezone", "Europe/London");
	snprintf(value, sizeof(value), "%s", args);
	for (char *e = value + strlen(value); e > value && e[-1] == ' '; )
		*--e = '\0';
	if (!(f = text_fold(what)))
		return HE_NOMEM;
	reset = strcmp(value, "default") == 0 || strcmp(value, "reset") == 0;
	if (reset)
		store = "";
	if (strcmp(f, "country") == 0) {
		field = "country";
		if (!reset) {
			char *c = strdup(value), err[256];
			if (!c) {
				free(f);
				return HE_NOMEM;
			}
			rc = app->content ? crisis_country_resolve(app->content, &c, err, sizeof(err)) : HE_INVAL;
			if (rc == HE_OK)
				snprintf(value, sizeof(value), "%s", c);
			free(c);
			if (rc == HE_NOMEM) {
				free(f);
				return rc;
			}
			if (rc) {
				free(f);
				list_countries(app, &good, S("mod.countries_or_intl"));
				return set_refused(ctx, S("mod.refused_country"), args, &good);
			}
		}
	} else if (strcmp(f, "language") == 0 || strcmp(f, "lang") == 0) {
		bool found;
		char *lv = text_fold(value);
		field = "language";
		if (!lv) {
			free(f);
			return HE_NOMEM;
		}
		snprintf(value, sizeof(value), "%s", lv);
		free(lv);
		list_languages(app, &good, value, &found);
		if (!reset && !found) {
			free(f);
			return set_refused(ctx, S("mod.refused_language"), args, &good);
		}
		hbuf_free(&good);
	} else if (strcmp(f, "prefix") == 0) {
		field = "prefix";
		if (!reset && !prefix_ok(value)) {
			free(f);
			list_prefixes(&good);
			return set_refused(ctx, S("mod.refused_prefix"), args, &good);
		}
	} else if (strcmp(f, "timezone") == 0 || strcmp(f, "tz") == 0 || strcmp(f, "zone") == 0) {
		char canon[64];
		field = "tz";
		if (!reset) {
			if (!rooms_tz_canon(value, canon, sizeof(canon))) {
				free(f);
				hbuf_puts(&good, S("mod.refused_tz_good"));
				return set_refused(ctx, S("mod.field_tz"), args, &good);
			}
			snprintf(value, sizeof(value), "%s", canon);
		}
	}
	free(f);
	if (!field)
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.can_set_country_language"));
	if (rooms_set_text(app, m->network, m->room, field, store) != HE_OK)
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.sorry_couldnt_save_so"));
	hlog_info("mod", "a room setting (%s) changed on %s", field, m->network);
	ctx->lang_room[0] = '\0'; /* a new language answers in itself */
	if (strcmp(field, "prefix") == 0) {
		/* The reply must show the new prefix itself, not rewrite it for the old one. */
		const char *now = reset ? app->cfg->prefix : value;
		char help[16], back[32], *hc, *bc;
		snprintf(help, sizeof(help), "%.8shelp", now);
		snprintf(back, sizeof(back), "%.8smod set prefix %.8s", now, app->cfg->prefix);
		hc = text_md_code(help);
		bc = text_md_code(back);
		rc = hc && bc ? hctx_replyf(ctx, HDEST_SAME, hctx_phrase(ctx, HDEST_SAME, "mod.done_commands_room_start"), hc, bc) : HE_NOMEM;
		free(hc);
		free(bc);
		return rc;
	}
	/* "the time zone", "the crisis country", "the language" in the room's language (its new
	 * one, when that is what changed). */
	snprintf(fkey, sizeof(fkey), "mod.field_%s", field);
	snprintf(nkey, sizeof(nkey), "mod.set_note_%s", field);
	if (reset)
		return hctx_replyf(ctx, HDEST_SAME, S("mod.done_rooms_back_default"), S(fkey));
	note = phrase_opt(app->content, hctx_lang(ctx, HDEST_SAME), nkey);
	if (note)
		snprintf(extra, sizeof(extra), " %s", note);
	return hctx_replyf(ctx, HDEST_SAME, S("mod.done_rooms"), S(fkey), value, extra);
}

/* ---- !mod welcome ---- */

int mod_welcome(struct hctx *ctx, const char *args)
{
	struct happ *app = ctx->app;
	const struct hmsg *m = ctx->msg;
	struct room_settings rs;
	char word[16], text[ROOMS_WELCOME_MAX + 1], *f, *md;
	int rc, q;

	if (!text_next_word(&args, word, sizeof(word))) {
		if (rooms_get(app, m->network, m->room, &rs) != HE_OK)
			return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.sorry_couldnt_read_rooms_2"));
		if (!rs.welcome)
			return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.welcomes_are_off_room"));
		if (!(md = welcome_render(app, hctx_lang(ctx, HDEST_SAME), "NAME", rs.welcome_text)))
			return HE_NOMEM;
		rc = hctx_replyf(ctx, HDEST_SAME, hctx_phrase(ctx, HDEST_SAME, "mod.new_member_here_gets"), md);
		free(md);
		return rc;
	}
	if (!(f = text_fold(word)))
		return HE_NOMEM;
	if (strcmp(f, "off") == 0 || strcmp(f, "on") == 0) {
		bool on = strcmp(f, "on") == 0;
		free(f);
		if (*text_skip_space(args))
			return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.mod_welcome_mod_welcome"));
		if (rooms_set_int(app, m->network, m->room, "welcome", on) != HE_OK)
			return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.sorry_couldnt_change_so"));
		return reply(ctx, S(on ? "mod.welcomes_on" : "mod.welcomes_off"));
	}
	if (strcmp(f, "set") != 0) {
		free(f);
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.mod_welcome_takes_set"));
	}
	free(f);
	q = mod_take_quoted(&args, text, sizeof(text));
	if (q == 0 || (q == 1 && (*args || !*text_skip_space(text))))
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.please_put_welcome_quotes"));
	if (q < 0)
		return hctx_replyf(ctx, HDEST_SAME, hctx_phrase(ctx, HDEST_SAME, "mod.welcomes_closing_quote_missing"), ROOMS_WELCOME_MAX);
	if (rooms_set_text(app, m->network, m->room, "welcome_text", text) != HE_OK ||
	    rooms_set_int(app, m->network, m->room, "welcome", 1) != HE_OK)
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.sorry_couldnt_save_welcome"));
	return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.saved_new_member_who"));
}

/* ---- !mod topic-of-week ---- */

int mod_topic_week(struct hctx *ctx, const char *args)
{
	struct happ *app = ctx->app;
	const struct hmsg *m = ctx->msg;
	const struct topic *t, *near[2];
	char *title;
	int rc;

	args = text_skip_space(args);
	if (!*args)
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.which_topic_e_g"));
	if (text_starts_with_ci(args, "off") && !*text_skip_space(args + 3)) {
		if (rooms_set_text(app, m->network, m->room, "topic_week", "") != HE_OK)
			return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.sorry_couldnt_change_so"));
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.no_topic_week_learn"));
	}
	t = content_find(app->content, args);
	if (!t && content_suggest(app->content, args, near, 2) == 1)
		t = near[0];
	if (!t)
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.dont_have_topic_like"));
	if (rooms_set_text(app, m->network, m->room, "topic_week", t->id) != HE_OK)
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.sorry_couldnt_save_so_2"));
	if (!(title = text_md_escape(t->title)))
		return HE_NOMEM;
	rc = hctx_replyf(ctx, HDEST_SAME, hctx_phrase(ctx, HDEST_SAME, "mod.topic_week_next_7"), title);
	free(title);
	return rc;
}
