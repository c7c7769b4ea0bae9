/* mood.c - opt-in private mood logs: the `!mood` command (consent, entries, forget, optout,
 * reminder settings) and the minute timer. What a member reads (history, export) and the
 * reminders themselves are in mood_views.c; storage is in mood_store.c.
 *
 * Privacy rules this file keeps (see mood.h): before `!mood optin confirm` nothing is stored
 * but the time the consent text was shown (for MOOD_OPTIN_WINDOW); a sender whose id can pass
 * to another person (sender_transient) gets an explanation and nothing else; every reply goes
 * to the member privately; a member is always (msg->network, msg->sender) and no subcommand
 * names anyone else; notes and tags are sealed with care/vault before they reach the database,
 * bound to member and entry id. */
#include "care/chart.h"
#include "care/mood.h"
#include "care/mood_store.h"
#include "care/mood_views.h"
#include "care/state.h"
#include "care/commands.h"
#include "care/content.h"
#include "care/cron.h"
#include "care/lang.h"
#include "care/phrase.h"
#include "care/vault.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/tz.h"
#include "core/log.h"
#include "core/text.h"
#include "store/store.h"

#include <ctype.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- replies ----------------------------------------------------------------------------- */

/* A phrase for a private reply (every mood reply is private). */
#define PP(key) hctx_phrase(ctx, HDEST_PRIVATE, (key))

/* "1 entry", "3 entries" in the member's language, into buf. */
static const char *n_entries(struct hctx *ctx, long n, char *buf, size_t len)
{
	snprintf(buf, len, PP(n == 1 ? "mood.n_entries_one" : "mood.n_entries"), n);
	return buf;
}

/* HE_OK when the member may log; otherwise tells them why not and returns HE_PERM. */
static int need_consent(struct hctx *ctx)
{
	const struct hmsg *m = ctx->msg;
	int version = 0, rc = mstore_consent_get(ctx->app, m->network, m->sender, NULL, &version);

	if (rc == HE_OK && version >= ctx->app->content->consent_version)
		return HE_OK;
	if (rc == HE_OK)
		mood_say(ctx, PP("mood.consent_changed"));
	else if (rc == HE_NOTFOUND)
		mood_say(ctx, PP("mood.consent_missing"));
	else
		mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.sorry_couldnt_reach_mood"));
	return HE_PERM;
}

/* The consent text with its placeholders (retention, the stats threshold) filled in. */
static void put_consent(struct hctx *ctx, struct hbuf *b)
{
	struct happ *app = ctx->app;
	const struct content *c = hctx_content(ctx, HDEST_PRIVATE);
	struct content_vars v = { app->cfg->mood_retention_days, app->cfg->stats_min_members };
	char *text = NULL;

	if (c->consent_title)
		hbuf_printf(b, "**%s**\n\n", c->consent_title);
	if (content_fill(c->consent, &v, &text) == HE_OK)
		hbuf_puts(b, text);
	else
		b->oom = true;
	free(text);
	hbuf_puts(b, "\n\n(");
	hbuf_printf(b, PP("mood.optin_window"), MOOD_OPTIN_WINDOW / 60);
	hbuf_puts(b, ")");
}

static int sub_optin(struct hctx *ctx, const char *rest)
{
	struct happ *app = ctx->app;
	const struct hmsg *m = ctx->msg;
	const struct content *c = app->content;
	struct hbuf b = HBUF_INIT;
	char word[16];
	int version = 0, rc;
	bool have = mstore_consent_get(app, m->network, m->sender, NULL, &version) == HE_OK;

	if (text_next_word(&rest, word, sizeof(word))) {
		if (strcasecmp(word, "confirm") != 0 || *rest)
			return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.agree_type_mood_optin"));
		if (have && version >= c->consent_version)
			return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.youre_already_opted_log"));
		if (!mstore_consent_shown_recently(app, m->network, m->sender)) {
			/* Consent is to the text just read: show it (again) first. */
			if (mstore_consent_shown(app, m->network, m->sender))
				return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.sorry_couldnt_do_please"));
			hbuf_printf(&b, "%s\n\n", PP("mood.read_before_agree"));
			put_consent(ctx, &b);
			rc = b.oom ? HE_NOMEM : mood_say(ctx, hbuf_str(&b));
			hbuf_free(&b);
			return rc;
		}
		if (mstore_consent_give(app, m->network, m->sender, c->consent_version))
			return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.sorry_couldnt_save_please"));
		return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.thank_mood_log_ready"));
	}
	if (have && version >= c->consent_version)
		return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.youre_already_opted_log_2"));
	if (mstore_consent_shown(app, m->network, m->sender))
		return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.sorry_couldnt_do_please_2"));
	put_consent(ctx, &b);
	rc = b.oom ? HE_NOMEM : mood_say(ctx, hbuf_str(&b));
	hbuf_free(&b);
	return rc;
}

static int sub_log(struct hctx *ctx)
{
	const struct hmsg *m = ctx->msg;
	struct mood_entry_in e;
	struct hbuf b = HBUF_INIT;
	char err[320];
	int rc;

	if (need_consent(ctx))
		return HE_OK;
	rc = mood_parse_entry(ctx->app->content, hctx_lang(ctx, HDEST_PRIVATE), ctx->args, &e, err, sizeof(err));
	if (rc == HE_NOMEM)
		return rc;
	if (rc)
		return mood_say(ctx, err);
	rc = mood_log(ctx->app, m->network, m->sender, m->is_private ? NULL : m->room, happ_now(ctx->app), &e);
	if (rc) {
		mood_entry_in_clear(&e);
		return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.sorry_couldnt_save_please_2"));
	}
	hbuf_printf(&b, PP("mood.logged"), e.score);
	if (e.note)
		hbuf_printf(&b, " %s", PP("mood.with_note"));
	if (e.ntags) {
		hbuf_puts(&b, " (");
		for (size_t i = 0; i < e.ntags; i++) {
			hbuf_puts(&b, i ? ", " : "");
			mood_put_escaped(&b, e.tags[i], PP("mood.not_shown"));
		}
		hbuf_puts(&b, ")");
	}
	hbuf_printf(&b, ". %s", PP("mood.thank_you"));
	if (!m->is_private)
		hbuf_printf(&b, "\n\n%s", PP("mood.log_here"));
	mood_entry_in_clear(&e);
	rc = b.oom ? HE_NOMEM : mood_say(ctx, hbuf_str(&b));
	hbuf_free(&b);
	return rc;
}

/* ---- forget, optout, remind -------------------------------------------------------------- */

int mood_forget_all(struct happ *app, const char *network, const char *member)
{
	int rc = mstore_forget_all(app, network, member);

	/* The language choice (`!lang`) is part of everything Hearth holds about a member. */
	return rc ? rc : lang_member_forget(app, network, member);
}

static int sub_forget(struct hctx *ctx, const char *rest)
{
	struct happ *app = ctx->app;
	const struct hmsg *m = ctx->msg;
	char word[16], count[48], rem[128];
	long n = mstore_count(app, m->network, m->sender);
	bool consent = mstore_consent_get(app, m->network, m->sender, NULL, NULL) == HE_OK;
	bool reminder = mstore_reminder_get(app, m->network, m->sender, NULL, NULL, 0);
	char lang[16];
	bool has_lang = lang_member_get(app, m->network, m->sender, lang, sizeof(lang)) == HE_OK && lang[0];
	struct db_stmt *st;
	long long expires = 0;

	if (!text_next_word(&rest, word, sizeof(word))) {
		if (n <= 0 && !consent && !reminder && !has_lang)
			return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.theres_nothing_stored_about"));
		if (mstore_forget_arm(app, m->network, m->sender))
			return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.sorry_couldnt_do_please_2"));
		snprintf(rem, sizeof(rem), " %s", PP("mood.forget_reminder"));
		return hctx_replyf(ctx, HDEST_PRIVATE,
				   hctx_phrase(ctx, HDEST_PRIVATE, "mood.deletes_everything_mood_log"),
				   n_entries(ctx, n < 0 ? 0 : n, count, sizeof(count)),
				   consent ? PP("mood.forget_consent") : "", reminder ? rem : "",
				   MOOD_FORGET_WINDOW / 60);
	}
	if (strcasecmp(word, "confirm") != 0 || *rest)
		return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.delete_mood_log_type"));
	st = db_stmtf(store_sql(app->store), "SELECT expires FROM mood_pending WHERE network = ? AND member = ?"
				     " AND action = 'forget'", "ss", m->network, m->sender);
	if (!st)
		return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.sorry_couldnt_do_please_2"));
	if (db_step(st) == DB_ROW)
		expires = db_col_int64(st, 0);
	db_reset(st);
	if (expires < (long long)happ_now(app)) {
		/* Nothing is written here: the slot stays for the next `!mood forget`. */
		return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.delete_mood_log_first"));
	}
	if (mood_forget_all(app, m->network, m->sender))
		return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.sorry_couldnt_delete_mood"));
	hlog_info("mood", "a member deleted their mood log");
	return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.done_everything_mood_log"));
}

static int sub_optout(struct hctx *ctx)
{
	struct happ *app = ctx->app;
	const struct hmsg *m = ctx->msg;
	long n = mstore_count(app, m->network, m->sender);
	char count[48];

	if (mstore_consent_get(app, m->network, m->sender, NULL, NULL) != HE_OK) {
		if (n > 0)
			return hctx_replyf(ctx, HDEST_PRIVATE, hctx_phrase(ctx, HDEST_PRIVATE, "mood.youre_not_opted_so"),
					   n_entries(ctx, n, count, sizeof(count)));
		return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.youre_not_opted_nothing"));
	}
	if (mstore_optout_all(app, m->network, m->sender))
		return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.sorry_couldnt_do_so"));
	if (n <= 0)
		return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.mood_log_stopped_nothing"));
	return hctx_replyf(ctx, HDEST_PRIVATE,
			   hctx_phrase(ctx, HDEST_PRIVATE, "mood.mood_log_stopped_wont"), n_entries(ctx, n, count, sizeof(count)));
}

static int sub_remind(struct hctx *ctx, const char *rest)
{
	struct happ *app = ctx->app;
	const struct hmsg *m = ctx->msg;
	char tz[72], err[200];
	const char *eff;
	bool off;
	int minute, mod = 0;
	long day = 0;

	if (mood_parse_remind(ctx->app->content, hctx_lang(ctx, HDEST_PRIVATE), rest, &off, &minute, tz, sizeof(tz), err, sizeof(err)))
		return mood_say(ctx, err);
	if (off) {
		if (!mstore_reminder_get(app, m->network, m->sender, NULL, NULL, 0))
			return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.have_no_daily_reminder"));
		if (mstore_run(app, "DELETE FROM mood_reminder WHERE network = ? AND member = ?", m->network, m->sender))
			return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.sorry_couldnt_do_please_2"));
		return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.daily_reminder_off_can"));
	}
	if (need_consent(ctx))
		return HE_OK;
	eff = *tz ? tz : app->cfg->timezone;
	/* Set after today's time: the first reminder comes tomorrow. */
	if (cron_local(eff, happ_now(app), &mod, NULL, &day) != 0)
		day = 0;
	if (db_runf(store_sql(app->store), NULL, "INSERT INTO mood_reminder (network, member, minute, tz, last_day)"
				   " VALUES (?, ?, ?, ?, ?) ON CONFLICT (network, member) DO UPDATE SET"
				   " minute = excluded.minute, tz = excluded.tz, last_day = excluded.last_day",
		       "ssisi", m->network, m->sender, (int64_t)minute, tz,
		       (int64_t)(mod >= minute ? day : 0)))
		return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.sorry_couldnt_save_please"));
	return hctx_replyf(ctx, HDEST_PRIVATE, hctx_phrase(ctx, HDEST_PRIVATE, "mood.okay_gentle_reminder_each"),
			   minute / 60, minute % 60, eff);
}

/* ---- the command ------------------------------------------------------------------------- */

static int sub_help(struct hctx *ctx)
{
	return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.private_mood_log_mood"));
}


static const char *const subcommands[] = { "optin", "optout", "history", "chart", "export", "forget", "remind", "help" };

int cmd_mood(struct hctx *ctx)
{
	const char *rest = ctx->args;
	char word[24];
	int rc;

	if (!mood_state(ctx->app))
		return mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.mood_logs_are_not"));
	if (!text_next_word(&rest, word, sizeof(word))) {
		rc = sub_help(ctx);
		goto out;
	}
	for (char *c = word; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (ctx->msg->sender_transient && strcmp(word, "help") != 0) {
		/* An id that can pass to someone else: nothing is stored, read or deleted under it. */
		rc = mood_say(ctx, PP("mood.transient"));
		goto out;
	}
	if (!strcmp(word, "optin") || !strcmp(word, "opt-in"))
		rc = sub_optin(ctx, rest);
	else if (!strcmp(word, "optout") || !strcmp(word, "opt-out"))
		rc = sub_optout(ctx);
	else if (!strcmp(word, "history"))
		rc = mood_history(ctx, rest);
	else if (!strcmp(word, "chart"))
		rc = mood_chart(ctx, rest);
	else if (!strcmp(word, "export"))
		rc = mood_export(ctx);
	else if (!strcmp(word, "forget"))
		rc = sub_forget(ctx, rest);
	else if (!strcmp(word, "remind") || !strcmp(word, "reminder"))
		rc = sub_remind(ctx, rest);
	else if (!strcmp(word, "help"))
		rc = sub_help(ctx);
	else if (isalpha((unsigned char)word[0])) {
		const char *near = NULL;
		unsigned best = 3;
		for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
			unsigned dist = text_distance(word, subcommands[i]);
			if (dist < best) {
				best = dist;
				near = subcommands[i];
			}
		}
		if (near)
			rc = hctx_replyf(ctx, HDEST_PRIVATE, hctx_phrase(ctx, HDEST_PRIVATE, "mood.dont_know_one_did"), near);
		else
			rc = mood_say(ctx, hctx_phrase(ctx, HDEST_PRIVATE, "mood.didnt_understand_log_mood"));
	} else {
		rc = sub_log(ctx);
	}
out:
	if (!ctx->msg->is_private) {
		/* The room learns nothing but that a reply went elsewhere. */
		if (rc == HE_OK)
			hctx_reply(ctx, HDEST_SAME, hctx_phrase(ctx, HDEST_SAME, "mood.ive_replied_privately"));
		else
			hctx_reply(ctx, HDEST_SAME, hctx_phrase(ctx, HDEST_SAME, "mood.couldnt_reach_privately_please"));
	}
	return rc;
}

/* ---- set-up ------------------------------------------------------------------------------ */

static void on_tick(struct loop *l, void *ud)
{
	struct happ *app = ud;
	struct mood *mo = mood_state(app);
	long day;
	int rc;

	if (!mo)
		return;
	mood_send_reminders(app, NULL);
	day = tz_daykey(app->cfg->timezone, happ_now(app));
	if (day != mo->purge_day) {
		mood_purge(app, NULL);
		mo->purge_day = day;
	}
	/* Near the start of each minute. */
	rc = loop_timer_add(l, (uint64_t)(60 - time(NULL) % 60) * 1000 + 50, on_tick, app, &mo->timer);
	if (rc)
		happ_fail(app, "mood", "cannot arm the reminder tick", rc);
}

int mood_migrate(struct store *s)
{
	/* Deleted rows are overwritten, not left in free pages: "forget" means gone (the
	 * migrations' deletes included). PostgreSQL: see README, "Storage". */
	if (store_engine(s) == DB_SQLITE)
		db_exec(store_sql(s), "PRAGMA secure_delete = ON");
	return store_migrate_db(s, "mood", mood_migrations, mood_nmigrations);
}

int mood_init(struct happ *app)
{
	struct mood *mo;
	int rc;

	if (!app->care)
		return HE_INVAL;
	if (!app->cfg->mood_key_file) {
		hlog_error("mood", "no mood key file is configured ([mood] key_file)");
		return HE_INVAL;
	}
	mo = calloc(1, sizeof(*mo));
	if (!mo)
		return HE_NOMEM;
	app->care->mood = mo;
	/* The tables first: the key check below looks at what is stored (nothing changes when the
	 * schema is current). */
	if ((rc = mood_migrate(app->store)))
		return rc;
	if (!store_dir(app->store) && access(app->cfg->mood_key_file, F_OK) != 0) {
		/* A store opened directly (tests, benchmarks) and no key file yet: a key for this run
		 * only, so that test suites never write keys into a real data directory. The daemon
		 * always opens its data dir with store_open() and so always uses the key file. */
		unsigned char key[VAULT_KEY_BYTES];
		randombytes_buf(key, sizeof(key));
		rc = vault_from_key(key, &mo->vault);
		sodium_memzero(key, sizeof(key));
	} else {
		rc = mood_key_open(app, app->cfg->mood_key_file, &mo->vault);
	}
	if (rc) {
		hlog_error("mood", "mood logs cannot start without their key file; fix the problem above "
			   "and start Hearth again");
		return rc;
	}
	mood_purge(app, NULL);
	mo->purge_day = tz_daykey(app->cfg->timezone, happ_now(app));
	if (app->loop) {
		/* The first look a second after start: a reminder due while Hearth was down goes out then. */
		if ((rc = loop_timer_add(app->loop, 1000, on_tick, app, &mo->timer)))
			return rc;
	}
	return HE_OK;
}

void mood_free(struct happ *app)
{
	struct mood *mo = mood_state(app);

	if (!mo)
		return;
	if (mo->timer && app->loop)
		loop_timer_cancel(app->loop, mo->timer);
	vault_free(mo->vault);
	mood_taps_free(mo->taps);
	free(mo);
	chart_library_free(); /* the font caches of !mood chart (care/chart.c) */
	app->care->mood = NULL;
}
