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

static const char *consent_missing =
	"I'd be glad to keep a private mood log for you, but first I need your okay. Type "
	"`!mood optin` to read what is kept and how." MOOD_NOTHING_SAVED;

static const char *consent_changed =
	"What the mood log keeps, or how, has changed since you agreed. Please read it again with "
	"`!mood optin` and confirm if it still suits you." MOOD_NOTHING_SAVED;

/* HE_OK when the member may log; otherwise tells them why not and returns HE_PERM. */
static int need_consent(struct hctx *ctx)
{
	const struct hmsg *m = ctx->msg;
	int version = 0, rc = mstore_consent_get(ctx->app, m->network, m->sender, NULL, &version);

	if (rc == HE_OK && version >= ctx->app->content->consent_version)
		return HE_OK;
	if (rc == HE_OK)
		mood_say(ctx, consent_changed);
	else if (rc == HE_NOTFOUND)
		mood_say(ctx, consent_missing);
	else
		mood_say(ctx, "Sorry, I couldn't reach your mood log just now. Please try again in a moment.");
	return HE_PERM;
}

/* The consent text with its placeholders (retention, the stats threshold) filled in. */
static void put_consent(struct happ *app, struct hbuf *b)
{
	const struct content *c = app->content;
	struct content_vars v = { app->cfg->mood_retention_days, app->cfg->stats_min_members };
	char *text = NULL;

	if (c->consent_title)
		hbuf_printf(b, "**%s**\n\n", c->consent_title);
	if (content_fill(c->consent, &v, &text) == HE_OK)
		hbuf_puts(b, text);
	else
		b->oom = true;
	free(text);
	hbuf_printf(b, "\n\n(`!mood optin confirm` works for %d minutes after this message.)",
		    MOOD_OPTIN_WINDOW / 60);
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
			return mood_say(ctx, "To agree, type `!mood optin confirm`. To read what that means first, "
				   "type `!mood optin`.");
		if (have && version >= c->consent_version)
			return mood_say(ctx, "You're already opted in. Log how you feel with `!mood <1-10> [note]`.");
		if (!mstore_consent_shown_recently(app, m->network, m->sender)) {
			/* Consent is to the text just read: show it (again) first. */
			if (mstore_consent_shown(app, m->network, m->sender))
				return mood_say(ctx, "Sorry, I couldn't do that just now. Please try again in a moment."
					   MOOD_NOTHING_SAVED);
			hbuf_puts(&b, "Before you agree, please read what the mood log keeps and how. Here "
				  "it is; nothing is logged yet.\n\n");
			put_consent(app, &b);
			rc = b.oom ? HE_NOMEM : mood_say(ctx, hbuf_str(&b));
			hbuf_free(&b);
			return rc;
		}
		if (mstore_consent_give(app, m->network, m->sender, c->consent_version))
			return mood_say(ctx, "Sorry, I couldn't save that just now. Please try again in a moment.");
		return mood_say(ctx, "Thank you. Your mood log is ready, and only you can see it.\n\n"
			   "Log how you feel with `!mood <1-10> [note]`, for example `!mood 6 long day #tired`. "
			   "Several times a day is fine. `!mood history` shows your recent days.");
	}
	if (have && version >= c->consent_version)
		return mood_say(ctx, "You're already opted in. Log how you feel with `!mood <1-10> [note]`; "
			   "`!mood optout` stops the log any time.");
	if (mstore_consent_shown(app, m->network, m->sender))
		return mood_say(ctx, "Sorry, I couldn't do that just now. Please try again in a moment.");
	put_consent(app, &b);
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
	rc = mood_parse_entry(ctx->args, &e, err, sizeof(err));
	if (rc == HE_NOMEM)
		return rc;
	if (rc)
		return mood_say(ctx, err);
	rc = mood_log(ctx->app, m->network, m->sender, m->is_private ? NULL : m->room, happ_now(ctx->app), &e);
	if (rc) {
		mood_entry_in_clear(&e);
		return mood_say(ctx, "Sorry, I couldn't save that just now. Please try again in a moment." MOOD_NOTHING_SAVED);
	}
	hbuf_printf(&b, "Logged **%d**/10", e.score);
	if (e.note)
		hbuf_puts(&b, " with your note");
	if (e.ntags) {
		hbuf_puts(&b, " (");
		for (size_t i = 0; i < e.ntags; i++) {
			hbuf_puts(&b, i ? ", " : "");
			mood_put_escaped(&b, e.tags[i]);
		}
		hbuf_puts(&b, ")");
	}
	hbuf_puts(&b, ". Thank you for checking in with yourself.");
	if (!m->is_private)
		hbuf_puts(&b, "\n\nYou can also log here, in our private chat, so your note stays between us.");
	mood_entry_in_clear(&e);
	rc = b.oom ? HE_NOMEM : mood_say(ctx, hbuf_str(&b));
	hbuf_free(&b);
	return rc;
}

/* ---- forget, optout, remind -------------------------------------------------------------- */

int mood_forget_all(struct happ *app, const char *network, const char *member)
{
	return mstore_forget_all(app, network, member);
}

static int sub_forget(struct hctx *ctx, const char *rest)
{
	struct happ *app = ctx->app;
	const struct hmsg *m = ctx->msg;
	char word[16];
	long n = mstore_count(app, m->network, m->sender);
	bool consent = mstore_consent_get(app, m->network, m->sender, NULL, NULL) == HE_OK;
	bool reminder = mstore_reminder_get(app, m->network, m->sender, NULL, NULL, 0);
	struct db_stmt *st;
	long long expires = 0;

	if (!text_next_word(&rest, word, sizeof(word))) {
		if (n <= 0 && !consent && !reminder)
			return mood_say(ctx, "There's nothing stored about you in the mood log.");
		if (mstore_forget_arm(app, m->network, m->sender))
			return mood_say(ctx, "Sorry, I couldn't do that just now. Please try again in a moment.");
		return hctx_replyf(ctx, HDEST_PRIVATE,
				   "This deletes everything the mood log holds about you: %ld entr%s%s%s. It "
				   "can't be undone.\n\nIf you'd like a copy first, type `!mood export`. To "
				   "delete everything, type `!mood forget confirm` within %d minutes.",
				   n < 0 ? 0 : n, n == 1 ? "y" : "ies", consent ? ", your consent record" : "",
				   reminder ? " and your daily reminder" : "", MOOD_FORGET_WINDOW / 60);
	}
	if (strcasecmp(word, "confirm") != 0 || *rest)
		return mood_say(ctx, "To delete your mood log, type `!mood forget`; I'll ask you to confirm.");
	st = db_stmtf(store_sql(app->store), "SELECT expires FROM mood_pending WHERE network = ? AND member = ?"
				     " AND action = 'forget'", "ss", m->network, m->sender);
	if (!st)
		return mood_say(ctx, "Sorry, I couldn't do that just now. Please try again in a moment.");
	if (db_step(st) == DB_ROW)
		expires = db_col_int64(st, 0);
	db_reset(st);
	if (expires < (long long)happ_now(app)) {
		/* Nothing is written here: the slot stays for the next `!mood forget`. */
		return mood_say(ctx, "To delete your mood log, first type `!mood forget`, then "
			   "`!mood forget confirm` within 10 minutes. Nothing was deleted.");
	}
	if (mood_forget_all(app, m->network, m->sender))
		return mood_say(ctx, "Sorry, I couldn't delete your mood log just now; nothing was changed. "
			   "Please try again in a moment.");
	hlog_info("mood", "a member deleted their mood log");
	return mood_say(ctx, "Done. Everything the mood log held about you is deleted: your entries, your "
		   "consent and any reminder. If you'd like a log again some day, `!mood optin` starts fresh.");
}

static int sub_optout(struct hctx *ctx)
{
	struct happ *app = ctx->app;
	const struct hmsg *m = ctx->msg;
	long n = mstore_count(app, m->network, m->sender);

	if (mstore_consent_get(app, m->network, m->sender, NULL, NULL) != HE_OK) {
		if (n > 0)
			return hctx_replyf(ctx, HDEST_PRIVATE, "You're not opted in, so nothing new is logged. "
					   "You still have %ld entr%s: read them with `!mood history`, export "
					   "them with `!mood export`, or delete them with `!mood forget`.",
					   n, n == 1 ? "y" : "ies");
		return mood_say(ctx, "You're not opted in, and nothing is stored about you.");
	}
	if (mstore_optout_all(app, m->network, m->sender))
		return mood_say(ctx, "Sorry, I couldn't do that just now, so nothing changed. Please try again in a moment.");
	if (n <= 0)
		return mood_say(ctx, "Your mood log is stopped, and nothing is stored about you. If you'd like "
			   "to start again, `!mood optin` is always there.");
	return hctx_replyf(ctx, HDEST_PRIVATE,
			   "Your mood log is stopped: I won't log anything new, and any daily reminder is "
			   "off.\n\nYou have %ld entr%s. What would you like to do with them?\n\n"
			   "- **Keep them:** nothing to do. Only you can read them, with `!mood history` "
			   "or `!mood export`.\n"
			   "- **Delete them all:** type `!mood forget`.\n\n"
			   "To log again later, type `!mood optin`.", n, n == 1 ? "y" : "ies");
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

	if (mood_parse_remind(rest, &off, &minute, tz, sizeof(tz), err, sizeof(err)))
		return mood_say(ctx, err);
	if (off) {
		if (!mstore_reminder_get(app, m->network, m->sender, NULL, NULL, 0))
			return mood_say(ctx, "You have no daily reminder; nothing changed.");
		if (mstore_run(app, "DELETE FROM mood_reminder WHERE network = ? AND member = ?", m->network, m->sender))
			return mood_say(ctx, "Sorry, I couldn't do that just now. Please try again in a moment.");
		return mood_say(ctx, "Your daily reminder is off. You can still log any time with `!mood <1-10>`.");
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
		return mood_say(ctx, "Sorry, I couldn't save that just now. Please try again in a moment.");
	return hctx_replyf(ctx, HDEST_PRIVATE, "Okay: a gentle reminder each day at %02d:%02d (%s). Skip "
			   "any day you like; there's no streak to keep. `!mood remind off` stops it.",
			   minute / 60, minute % 60, eff);
}

/* ---- the command ------------------------------------------------------------------------- */

static int sub_help(struct hctx *ctx)
{
	return mood_say(ctx, "**Your private mood log**\n\n"
		   "- `!mood optin`: read what is kept, then agree with `!mood optin confirm`\n"
		   "- `!mood <1-10> [note]`: log how you feel; emotion words like #calm are kept as tags\n"
		   "- `!mood history [days]`: your recent days (14 unless you say)\n"
		   "- `!mood chart [days]`: your days as a picture (30 unless you say)\n"
		   "- `!mood export`: everything, as CSV and JSON files\n"
		   "- `!mood remind HH:MM [time zone]`: a gentle daily reminder; `!mood remind off` stops it\n"
		   "- `!mood optout`: stop logging; `!mood forget`: delete everything\n\n"
		   "Only you can see your log. Hearth is peer self-help, not therapy.");
}

static const char transient_text[] =
	"Your mood log needs a registered account on this network, so that it stays yours: a "
	"nickname can pass to someone else, and so could your log. Please log in to your account "
	"(on many networks: `/msg NickServ IDENTIFY <password>`, or your app's SASL login), then try "
	"again." MOOD_NOTHING_SAVED;

static const char *const subcommands[] = { "optin", "optout", "history", "chart", "export", "forget", "remind", "help" };

int cmd_mood(struct hctx *ctx)
{
	const char *rest = ctx->args;
	char word[24];
	int rc;

	if (!mood_state(ctx->app))
		return mood_say(ctx, "Mood logs are not available on this Hearth.");
	if (!text_next_word(&rest, word, sizeof(word))) {
		rc = sub_help(ctx);
		goto out;
	}
	for (char *c = word; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (ctx->msg->sender_transient && strcmp(word, "help") != 0) {
		/* An id that can pass to someone else: nothing is stored, read or deleted under it. */
		rc = mood_say(ctx, transient_text);
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
			rc = hctx_replyf(ctx, HDEST_PRIVATE, "I don't know that one. Did you mean `!mood %s`?"
					 MOOD_NOTHING_SAVED, near);
		else
			rc = mood_say(ctx, "I didn't understand that. Log a mood with a number from 1 to 10, like "
				 "`!mood 6 tired but okay`, or type `!mood help`." MOOD_NOTHING_SAVED);
	} else {
		rc = sub_log(ctx);
	}
out:
	if (!ctx->msg->is_private) {
		/* The room learns nothing but that a reply went elsewhere. */
		if (rc == HE_OK)
			hctx_reply(ctx, HDEST_SAME, "I've replied to you privately.");
		else
			hctx_reply(ctx, HDEST_SAME, "I couldn't reach you privately just now. Please send me a "
				   "private message and try there.");
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
