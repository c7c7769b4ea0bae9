/* mod.c - !mod: moderators pause and resume Hearth in a room, schedule check-ins, set quiet
 * hours, reload content and see anonymous room aggregates. */
#include "care/lang.h"
#include "care/mod.h"
#include "care/mod_room.h"
#include "care/care.h"
#include "care/content.h"
#include "care/cron.h"
#include "care/mood.h"
#include "care/rooms.h"
#include "care/sched.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD_STATS_DEFAULT_DAYS 30
#define MOD_STATS_MAX_DAYS 365

struct mod_sub {
	const char *name;
	int (*run)(struct hctx *ctx, const char *args);
	bool needs_room;
};

/* A phrase for a reply where the command was said. */
#define S(key) hctx_phrase(ctx, HDEST_SAME, (key))

static int reply(struct hctx *ctx, const char *md)
{
	return hctx_reply(ctx, HDEST_SAME, md);
}

static int mod_help(struct hctx *ctx, const char *args)
{
	return hctx_replyf(ctx, HDEST_SAME,
		hctx_phrase(ctx, HDEST_SAME, "mod.moderator_tools_room_mod"),
		MOD_STATS_DEFAULT_DAYS, ctx->app->cfg->stats_min_members, ctx->app->cfg->checkin_repeat_days);
}

static int mod_pause(struct hctx *ctx, const char *args)
{
	const struct hmsg *m = ctx->msg;
	struct room_settings rs;

	if (rooms_get(ctx->app, m->network, m->room, &rs) == HE_OK && rs.paused)
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.im_already_paused_room"));
	if (rooms_set_paused(ctx->app, m->network, m->room, true) != HE_OK)
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.sorry_couldnt_pause_so"));
	hlog_info("mod", "paused in a room on %s", m->network);
	return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.paused_ill_stay_quiet"));
}

static int mod_resume(struct hctx *ctx, const char *args)
{
	const struct hmsg *m = ctx->msg;
	struct room_settings rs;

	if (rooms_get(ctx->app, m->network, m->room, &rs) == HE_OK && !rs.paused)
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.im_not_paused_room"));
	if (rooms_set_paused(ctx->app, m->network, m->room, false) != HE_OK)
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.sorry_couldnt_resume_so"));
	hlog_info("mod", "resumed in a room on %s", m->network);
	return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.im_back_commands_scheduled"));
}

static int mod_reload(struct hctx *ctx, const char *args)
{
	struct happ *app = ctx->app;
	struct content *probe = NULL;
	const char *dir = app->cfg->content_dir, *shown;
	char err[512] = "";
	int rc;

	rc = happ_reload(app);
	if (rc == HE_OK)
		return hctx_replyf(ctx, HDEST_SAME, hctx_phrase(ctx, HDEST_SAME, "mod.content_reloaded_zu_topics"), app->content->ntopics, app->content->nprompts);
	/* happ_reload logs the problem; read it again to tell the moderator what to fix. */
	if (content_load(dir, app->cfg->language, &probe, err, sizeof(err)) == HE_OK)
		snprintf(err, sizeof(err), "%s", S("mod.content_error_unknown"));
	content_free(probe);
	shown = err;
	if (dir && strncmp(err, dir, strlen(dir)) == 0) {
		shown = err + strlen(dir);
		while (*shown == '/')
			shown++;
	}
	{
		char *code = text_md_code(shown); /* file text can hold anything: a code span */
		rc = code ? hctx_replyf(ctx, HDEST_SAME, hctx_phrase(ctx, HDEST_SAME, "mod.couldnt_reload_content_so"), code) : HE_NOMEM;
		free(code);
		return rc;
	}
}

static bool parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* What a moderator may see of the room's moods: whole past days only (never today), each day
 * counted only when at least k members logged that day, numbers in bands and the average to the
 * nearest half. So a new entry never changes an answer, and no one's score shows by difference
 * (mood_stats.c). */
static int mod_stats(struct hctx *ctx, const char *args)
{
	struct happ *app = ctx->app;
	const struct hmsg *m = ctx->msg;
	struct mood_room_stats rs;
	struct room_settings room;
	char word[32], nentries[64], nmembers[64], kept[192] = "";
	const char *tz;
	long days = MOD_STATS_DEFAULT_DAYS;
	int k = app->cfg->stats_min_members;

	if (text_next_word(&args, word, sizeof(word)) &&
	    (!parse_int(word, 1, MOD_STATS_MAX_DAYS, &days) || *args))
		return hctx_replyf(ctx, HDEST_SAME, hctx_phrase(ctx, HDEST_SAME, "mod.please_give_number_days"), MOD_STATS_MAX_DAYS);
	/* Days are the room's days: its quiet-hours zone, else Hearth's. */
	tz = app->cfg->timezone;
	if (rooms_get(app, m->network, m->room, &room) == HE_OK && room.tz[0])
		tz = room.tz;
	if (mood_room_stats(app, m->network, m->room, tz, (int)days, k, &rs) != HE_OK)
		return hctx_reply(ctx, HDEST_PRIVATE, hctx_phrase(ctx, HDEST_PRIVATE, "mod.sorry_couldnt_count_rooms"));
	if (rs.days_counted == 0)
		return hctx_replyf(ctx, HDEST_PRIVATE, hctx_phrase(ctx, HDEST_PRIVATE, "mod.none_last_ld_whole"), days, days == 1 ? "" : "s", k, k);
	mood_stats_band_in(rs.entries, hctx_phrase(ctx, HDEST_PRIVATE, "stats.band_fewer"),
			   hctx_phrase(ctx, HDEST_PRIVATE, "stats.band_more"), nentries, sizeof(nentries));
	mood_stats_band_in(rs.members, hctx_phrase(ctx, HDEST_PRIVATE, "stats.band_fewer"),
			   hctx_phrase(ctx, HDEST_PRIVATE, "stats.band_more"), nmembers, sizeof(nmembers));
	if (rs.days_open < rs.days) {
		int kn = snprintf(kept, sizeof(kept), "; ");
		snprintf(kept + kn, sizeof(kept) - (size_t)kn, hctx_phrase(ctx, HDEST_PRIVATE, "stats.kept"),
			 app->cfg->mood_retention_days, rs.days_open);
	}
	return hctx_replyf(ctx, HDEST_PRIVATE,
			   hctx_phrase(ctx, HDEST_PRIVATE, "mod.moods_logged_room_last"),
			   days, days == 1 ? "" : "s", tz && *tz ? tz : "UTC", rs.days_counted, k, kept, nentries,
			   nmembers, mood_stats_round(rs.mean));
}

/* Reads the cron part of `!mod checkin add`: "quoted" (straight or curly quotes, as phones type
 * them), an @shortcut, or five bare fields. Advances *p past it. Returns false when a quote is
 * not closed. */
static bool take_cron(const char **p, char *out, size_t outlen)
{
	const char *s = text_skip_space(*p), *end;
	struct hbuf b = HBUF_INIT;
	char word[64];
	size_t q = mod_quote_len(s);
	bool ok = true;

	out[0] = '\0';
	if (q) {
		for (end = s + q; *end && !mod_quote_len(end); end++)
			;
		if (!*end)
			return false;
		snprintf(out, outlen, "%.*s", (int)(end - (s + q)), s + q);
		*p = text_skip_space(end + mod_quote_len(end));
		return true;
	}
	for (int n = 0; n < 5 && text_next_word(&s, word, sizeof(word)); n++) {
		if (n)
			hbuf_putc(&b, ' ');
		hbuf_puts(&b, word);
		if (word[0] == '@')
			break;
	}
	if (b.oom)
		ok = false;
	else
		snprintf(out, outlen, "%s", hbuf_str(&b));
	hbuf_free(&b);
	*p = s;
	return ok;
}

/* A topic named by a moderator: exact, or the one close match. */
static const struct topic *find_topic(struct happ *app, const char *name)
{
	const struct topic *t = content_find(app->content, name), *near[2];

	if (!t && content_suggest(app->content, name, near, 2) == 1)
		t = near[0];
	return t;
}

static int checkin_add(struct hctx *ctx, const char *args)
{
	const struct hmsg *m = ctx->msg;
	char cron[CRON_MAX_TEXT + 32], tz[80] = "", word[16], err[512], question[SCHED_TEXT_MAX + 1] = "";
	const char *topic = NULL;
	struct room_settings rs;
	long long id = 0;
	int rc;

	if (!take_cron(&args, cron, sizeof(cron)))
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.schedules_closing_quote_missing"));
	if (!cron[0])
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.please_give_schedule_quotes"));
	/* [zone] [text "<question>" | topic <name>] */
	{
		const char *save = args;
		if (text_next_word(&args, tz, sizeof(tz)) && (text_starts_with_ci(tz, "text") ||
							      text_starts_with_ci(tz, "topic")) &&
		    (strlen(tz) == 4 || strlen(tz) == 5)) {
			tz[0] = '\0';
			args = save;
		} else if (tz[0]) {
			char canon[64];
			if (rooms_tz_canon(tz, canon, sizeof(canon)))
				snprintf(tz, sizeof(tz), "%s", canon);
		}
	}
	if (text_next_word(&args, word, sizeof(word))) {
		char *f = text_fold(word);
		bool is_text = f && strcmp(f, "text") == 0, is_topic = f && strcmp(f, "topic") == 0;
		free(f);
		if (is_text) {
			int q = mod_take_quoted(&args, question, sizeof(question));
			if (q <= 0 || *args || !*text_skip_space(question))
				return hctx_replyf(ctx, HDEST_SAME, hctx_phrase(ctx, HDEST_SAME, "mod.please_put_question_quotes"), SCHED_TEXT_MAX);
		} else if (is_topic) {
			const struct topic *t;
			args = text_skip_space(args);
			if (!*args || !(t = find_topic(ctx->app, args)))
				return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.dont_have_topic_topics"));
			topic = t->id;
			args = "";
		} else {
			return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.after_schedule_expected_time"));
		}
	}
	if (*args)
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.expected_at_most_time"));
	rc = sched_add_with(ctx->app, m->network, m->room, cron, tz, question[0] ? question : NULL,
			    topic, &id, err, sizeof(err));
	if (rc == HE_INVAL || rc == HE_TOOBIG)
		return hctx_replyf(ctx, HDEST_SAME, hctx_phrase(ctx, HDEST_SAME, "mod.nothing_was_added"), err);
	if (rc)
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.sorry_couldnt_save_schedule"));
	if (rooms_get(ctx->app, m->network, m->room, &rs) != HE_OK)
		rooms_get_defaults(&rs);
	{
		struct sched_entry *v = NULL;
		size_t n = 0;
		char when[64] = "", note[256] = "";
		time_t next;
		struct cron_expr *e = NULL;

		if (sched_list(ctx->app, m->network, m->room, &v, &n) == HE_OK) {
			for (size_t i = 0; i < n; i++) {
				if (v[i].id != id)
					continue;
				if (cron_parse(v[i].cron, &e, NULL, 0) == HE_OK &&
				    cron_next(e, v[i].tz, happ_now(ctx->app), &next) == HE_OK)
					mod_format_local(ctx->app->content, hctx_lang(ctx, HDEST_SAME), v[i].tz, next,
							 when, sizeof(when));
				snprintf(tz, sizeof(tz), "%s", v[i].tz);
			}
		}
		cron_free(e);
		free(v);
		if (mod_clashes_quiet(ctx->app, &rs, cron, tz)) {
			note[0] = ' ';
			mod_quiet_note(ctx->app, &rs, note + 1, sizeof(note) - 1);
		}
		{
			char *code = text_md_code(cron); /* the schedule as typed, echoed */
			rc = code ? hctx_replyf(ctx, HDEST_SAME, hctx_phrase(ctx, HDEST_SAME, "mod.scheduled_check_lld_added"), id, code, tz, question[0] ? S("mod.added_with_question") :
						topic ? S("mod.added_with_topic") : "", when[0] ? when : S("mod.added_soon"), id,
						note) : HE_NOMEM;
			free(code);
			return rc;
		}
	}
}

static int checkin_list(struct hctx *ctx, const char *args)
{
	const struct hmsg *m = ctx->msg;
	struct sched_entry *v = NULL;
	struct hbuf b = HBUF_INIT;
	size_t n = 0;
	struct room_settings rs;
	bool clash = false;
	char quiet[160];
	int rc;

	if (rooms_get(ctx->app, m->network, m->room, &rs) != HE_OK)
		rooms_get_defaults(&rs);
	if (sched_list(ctx->app, m->network, m->room, &v, &n) != HE_OK)
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.sorry_couldnt_read_rooms"));
	if (n == 0) {
		rc = reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.no_scheduled_check_ins"));
		goto out;
	}
	snprintf(quiet, sizeof(quiet), " %s", S("mod.list_quiet"));
	hbuf_printf(&b, "%s\n\n", S("mod.list_title"));
	for (size_t i = 0; i < n; i++) {
		char when[64];

		mod_next_time(ctx->app, hctx_lang(ctx, HDEST_SAME), &v[i], v[i].tz, when, sizeof(when));
		{
			char *code = text_md_code(v[i].cron);
			bool q = mod_clashes_quiet(ctx->app, &rs, v[i].cron, v[i].tz);
			clash = clash || q;
			if (code)
				hbuf_printf(&b, S("mod.list_line"), v[i].id, code, v[i].tz, when,
					    v[i].topic[0] ? S("mod.added_with_topic") : "",
					    v[i].text[0] ? S("mod.list_own_question") : "",
					    q ? quiet : "");
			else
				b.oom = true;
			free(code);
		}
	}
	hbuf_printf(&b, "\n%s", S("mod.list_outro"));
	if (clash) {
		char note[256];
		mod_quiet_note(ctx->app, &rs, note, sizeof(note));
		hbuf_printf(&b, "\n\n%s", note);
	}
	rc = b.oom ? HE_NOMEM : reply(ctx, hbuf_str(&b));
out:
	hbuf_free(&b);
	free(v);
	return rc;
}

static int checkin_remove(struct hctx *ctx, const char *args)
{
	const struct hmsg *m = ctx->msg;
	char word[32];
	const char *w = word;
	long id;
	int rc;

	if (!text_next_word(&args, word, sizeof(word)))
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.which_one_give_its"));
	if (*w == '#')
		w++;
	if (!parse_int(w, 1, 1000000000L, &id) || *args)
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.please_give_check_ins"));
	rc = sched_remove(ctx->app, m->network, m->room, id);
	if (rc == HE_NOTFOUND)
		return hctx_replyf(ctx, HDEST_SAME, hctx_phrase(ctx, HDEST_SAME, "mod.there_no_scheduled_check"), id);
	if (rc)
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.sorry_couldnt_remove_so"));
	return hctx_replyf(ctx, HDEST_SAME, hctx_phrase(ctx, HDEST_SAME, "mod.scheduled_check_ld_removed"), id);
}

static int mod_checkin(struct hctx *ctx, const char *args)
{
	char word[16];
	char *f;
	int rc;

	if (!text_next_word(&args, word, sizeof(word)))
		return checkin_list(ctx, args);
	f = text_fold(word);
	if (!f)
		return HE_NOMEM;
	if (strcmp(f, "add") == 0)
		rc = checkin_add(ctx, args);
	else if (strcmp(f, "list") == 0)
		rc = checkin_list(ctx, args);
	else if (strcmp(f, "remove") == 0 || strcmp(f, "rm") == 0 || strcmp(f, "delete") == 0)
		rc = checkin_remove(ctx, args);
	else
		rc = reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.mod_checkin_takes_add"));
	free(f);
	return rc;
}

static int quiet_show(struct hctx *ctx)
{
	const struct hmsg *m = ctx->msg;
	struct room_settings rs;

	if (rooms_get(ctx->app, m->network, m->room, &rs) != HE_OK)
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.sorry_couldnt_read_rooms_2"));
	if (rs.quiet_start < 0)
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.room_has_no_quiet"));
	return hctx_replyf(ctx, HDEST_SAME, hctx_phrase(ctx, HDEST_SAME, "mod.quiet_hours_here_02d"), rs.quiet_start / 60, rs.quiet_start % 60, rs.quiet_end / 60,
			   rs.quiet_end % 60, rs.tz[0] ? rs.tz : ctx->app->cfg->timezone);
}

static int mod_quiet(struct hctx *ctx, const char *args)
{
	const struct hmsg *m = ctx->msg;
	char text[128], err[200] = "";
	const char *tz = NULL, *last;
	char canon[64];
	struct cron_words words;
	struct sched_words_ud wud;
	struct room_settings rs;
	char *sp;
	int start, end;

	args = text_skip_space(args);
	if (!*args)
		return quiet_show(ctx);
	if (text_starts_with_ci(args, "off") && !*text_skip_space(args + 3)) {
		if (rooms_set_quiet(ctx->app, m->network, m->room, -1, -1, NULL) != HE_OK)
			return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.sorry_couldnt_change_so"));
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.quiet_hours_are_off"));
	}
	if (strlen(args) >= sizeof(text))
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.please_write_quiet_hours"));
	snprintf(text, sizeof(text), "%s", args);
	/* A last word without ':' is the time zone. */
	sp = strrchr(text, ' ');
	last = sp ? sp + 1 : text;
	if (sp && !strchr(last, ':')) {
		*sp = '\0';
		tz = last;
		if (!rooms_tz_canon(tz, canon, sizeof(canon))) {
			char cut[64], *said;
			int rc;
			snprintf(cut, sizeof(cut), "%.*s", (int)text_utf8_prefix(tz, strlen(tz), 60), tz);
			if (!(said = text_md_escape(cut)))
				return HE_NOMEM;
			rc = hctx_replyf(ctx, HDEST_SAME, hctx_phrase(ctx, HDEST_SAME, "mod.dont_know_time_zone"), said);
			free(said);
			return rc;
		}
		tz = canon;
	}
	sched_cron_words(&words, &wud, ctx->app, hctx_lang(ctx, HDEST_SAME));
	if (cron_parse_quiet_words(text, &start, &end, err, sizeof(err), &words) != 0) {
		char *said = text_md_escape(err); /* it quotes what they typed */
		int rc = said ? hctx_replyf(ctx, HDEST_SAME, hctx_phrase(ctx, HDEST_SAME, "mod.couldnt_read_those_quiet"),
					    said) : HE_NOMEM;
		free(said);
		return rc;
	}
	if (rooms_set_quiet(ctx->app, m->network, m->room, start, end, tz) != HE_OK)
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.sorry_couldnt_save_quiet"));
	if (rooms_get(ctx->app, m->network, m->room, &rs) != HE_OK)
		rooms_get_defaults(&rs);
	return hctx_replyf(ctx, HDEST_SAME, hctx_phrase(ctx, HDEST_SAME, "mod.quiet_hours_set_02d"), start / 60, start % 60,
			   end / 60, end % 60, rooms_tz(ctx->app, &rs));
}

static const struct mod_sub subs[] = {
	{ "help", mod_help, false },
	{ "status", mod_status, true },
	{ "set", mod_set, true },
	{ "welcome", mod_welcome, true },
	{ "topic-of-week", mod_topic_week, true },
	{ "topic", mod_topic_week, true },
	{ "pause", mod_pause, true },
	{ "resume", mod_resume, true },
	{ "reload", mod_reload, true },
	{ "stats", mod_stats, true },
	{ "checkin", mod_checkin, true },
	{ "checkins", mod_checkin, true },
	{ "quiet", mod_quiet, true },
};

int cmd_mod(struct hctx *ctx)
{
	const char *args = ctx->args;
	char word[32];
	char *f;
	const struct mod_sub *sub = NULL;

	if (!text_next_word(&args, word, sizeof(word)))
		return mod_help(ctx, args);
	f = text_fold(word);
	if (!f)
		return HE_NOMEM;
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(f, subs[i].name) == 0)
			sub = &subs[i];
	if (!sub) {
		char said[48], *code;
		int rc;
		snprintf(said, sizeof(said), "!mod %s", f);
		code = text_md_code(said);
		rc = code ? hctx_replyf(ctx, HDEST_SAME, hctx_phrase(ctx, HDEST_SAME, "mod.dont_know_type_mod"), code) : HE_NOMEM;
		free(code);
		free(f);
		return rc;
	}
	free(f);
	if (sub->needs_room && ctx->msg->is_private)
		return reply(ctx, hctx_phrase(ctx, HDEST_SAME, "mod.moderator_commands_work_group"));
	return sub->run(ctx, args);
}
