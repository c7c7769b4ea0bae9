/* learn.c - !help, !topics, !learn and !about. */
#include "care/commands.h"
#include "care/reply.h"
#include "care/content.h"
#include "care/lang.h"
#include "care/phrase.h"
#include "care/rooms.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/tz.h"
#include "core/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A phrase for a reply in the room or chat where the command was said. */
#define P(key) hctx_phrase(ctx, HDEST_SAME, (key))

/* Topic names come from content files that moderators reload: echoed as text, never Markdown. */
static void put_text(struct hbuf *b, const char *s)
{
	char *e = text_md_escape(s);

	if (e)
		hbuf_puts(b, e);
	else
		b->oom = true;
	free(e);
}

/* "- `!learn id`: Title" (or "- `id`: Title" without a command). */
static void put_topic_line(struct hbuf *b, const char *cmd, const struct topic *t)
{
	char *id, *code;

	if (asprintf(&id, "%s%s", cmd, t->id) < 0) {
		b->oom = true;
		return;
	}
	code = text_md_code(id);
	if (code) {
		hbuf_printf(b, "- %s: ", code);
		put_text(b, t->title);
		hbuf_putc(b, '\n');
	} else {
		b->oom = true;
	}
	free(code);
	free(id);
}

/* "`!name args`" as one code span: no emphasis to break (an empty argument slot once left
 * "**!crisis **", which CommonMark does not render), and read the same on every network. */
static void put_usage(struct hbuf *b, const struct hcmd *c)
{
	char *usage = NULL, *code = NULL;

	if (asprintf(&usage, "!%s%s%s", c->name, *c->args_help ? " " : "", c->args_help) < 0) {
		b->oom = true;
		return;
	}
	code = text_md_code(usage);
	if (code)
		hbuf_puts(b, code);
	else
		b->oom = true;
	free(code);
	free(usage);
}

/* A command's text in the reply's language ("commands.NAME" + suffix), else the table's. */
static const char *command_text(struct hctx *ctx, const struct hcmd *c, const char *suffix,
				const char *fallback)
{
	char key[48];
	const char *t;

	snprintf(key, sizeof(key), "commands.%s%s", c->name, suffix);
	t = phrase_opt(ctx->app->content, hctx_lang(ctx, HDEST_SAME), key);
	return t ? t : fallback;
}

/* A command's line in !help, and its longer help. */
static const char *summary(struct hctx *ctx, const struct hcmd *c)
{
	return command_text(ctx, c, "", c->summary);
}

static const char *long_help(struct hctx *ctx, const struct hcmd *c)
{
	return command_text(ctx, c, "_help", c->help);
}

int cmd_help(struct hctx *ctx)
{
	struct hbuf b = HBUF_INIT;
	size_t n;
	const struct hcmd *cmds = commands_list(&n), *one;
	bool moderator = ctx->msg->role == HROLE_MODERATOR;
	char word[32];
	const char *args = ctx->args;
	int rc;

	if (text_next_word(&args, word, sizeof(word))) {
		char *f = text_fold(word[0] == ctx->prefix[0] ? word + 1 : word);
		one = f ? commands_find(f) : NULL;
		free(f);
		if (!one)
			return hctx_reply(ctx, HDEST_SAME, P("help.no_such_command"));
		/* A command with its own full help gives it here too, exactly as "!NAME help" does
		 * (moderators' tools only to moderators: that is where the command itself answers). */
		if ((one->flags & HCMD_OWN_HELP) && (!(one->flags & HCMD_MODERATOR) || moderator)) {
			ctx->args = "help";
			rc = one->run(ctx);
			ctx->args = args;
			return rc;
		}
		put_usage(&b, one);
		hbuf_printf(&b, "\n\n%s", summary(ctx, one));
		if (one->help)
			hbuf_printf(&b, "\n\n%s", long_help(ctx, one));
		if (one->flags & HCMD_MODERATOR)
			hbuf_printf(&b, "\n\n%s", P("help.moderators_only"));
		goto send;
	}
	hbuf_printf(&b, "%s\n\n", P("help.intro"));
	for (size_t i = 0; i < n; i++) {
		if (cmds[i].flags & HCMD_HIDDEN)
			continue;
		if ((cmds[i].flags & HCMD_MODERATOR) && !moderator)
			continue;
		/* "- `!learn [topic]`: A short reading": the colon keeps command and description
		 * apart in plain text too, where the code span's backticks are dropped. */
		hbuf_puts(&b, "- ");
		put_usage(&b, &cmds[i]);
		hbuf_printf(&b, ": %s\n", summary(ctx, &cmds[i]));
	}
	hbuf_printf(&b, "\n%s", P("help.outro"));
send:
	rc = b.oom ? HE_NOMEM : hctx_reply(ctx, HDEST_SAME, hbuf_str(&b));
	hbuf_free(&b);
	return rc;
}

int cmd_topics(struct hctx *ctx)
{
	const struct content *c = hctx_content(ctx, HDEST_SAME);
	struct hbuf b = HBUF_INIT;
	int rc;

	hbuf_printf(&b, "%s\n\n", P("learn.topics_intro"));
	for (size_t i = 0; i < c->ntopics; i++)
		put_topic_line(&b, "", &c->topics[i]);
	rc = b.oom ? HE_NOMEM : hctx_reply(ctx, HDEST_SAME, hbuf_str(&b));
	hbuf_free(&b);
	return rc;
}

/* A reference as cited in text: "Bowlby, J. (1969). Attachment..." -> "Bowlby (1969)";
 * "Ainsworth, M. D. S., Blehar, M. C., ... & Wall, S. (1978). ..." -> "Ainsworth et al. (1978)".
 * Anything else (no year): up to its first parenthesis or full stop. */
static void short_source(struct hbuf *b, const char *src)
{
	const char *open = strchr(src, '('), *close = open ? strchr(open, ')') : NULL;
	size_t surname = strcspn(src, ",("), n;
	char *cut;

	if (open && close && close - open == 5 && strspn(open + 1, "0123456789") == 4 && surname < 40) {
		bool several = memchr(src, '&', (size_t)(open - src)) != NULL;
		cut = NULL;
		if (asprintf(&cut, "%.*s%s (%.4s)", (int)surname, src, several ? " et al." : "", open + 1) < 0)
			cut = NULL;
	} else {
		n = close && close - src < 80 ? (size_t)(close - src + 1) : strcspn(src, ".");
		cut = strndup(src, n);
	}
	if (cut)
		put_text(b, cut);
	else
		b->oom = true;
	free(cut);
}

static int send_topic(struct hctx *ctx, const struct topic *t, const char *intro)
{
	struct hbuf b = HBUF_INIT;
	int rc;

	if (intro)
		hbuf_printf(&b, "%s\n\n", intro);
	hbuf_puts(&b, "**");
	put_text(&b, t->title);
	hbuf_puts(&b, "**\n\n");
	if (t->note) {
		hbuf_printf(&b, "*%s ", P("learn.content_note"));
		put_text(&b, t->note);
		hbuf_puts(&b, ".*\n\n");
	}
	hbuf_puts(&b, t->body);
	if (t->guidance)
		hbuf_printf(&b, "\n\n*%s*", P("learn.guidance"));
	if (t->nsources) {
		hbuf_printf(&b, "\n\n*%s ", P("learn.sources"));
		for (size_t i = 0; i < t->nsources; i++) {
			if (i)
				hbuf_puts(&b, "; ");
			short_source(&b, t->sources[i]);
		}
		hbuf_puts(&b, ".*");
	}
	rc = b.oom ? HE_NOMEM : hctx_reply(ctx, HDEST_SAME, hbuf_str(&b));
	hbuf_free(&b);
	return rc;
}

int cmd_learn(struct hctx *ctx)
{
	const struct content *c = hctx_content(ctx, HDEST_SAME);
	const struct topic *t, *near[6];
	struct hbuf b = HBUF_INIT;
	size_t n;
	int rc;

	if (!*ctx->args) {
		struct room_settings rs;
		long day;
		long idx;

		/* A room's topic of the week (`!mod topic-of-week`) holds for 7 days. */
		if (!ctx->msg->is_private &&
		    rooms_get(ctx->app, ctx->msg->network, ctx->msg->room, &rs) == HE_OK && rs.topic_week[0] &&
		    happ_now(ctx->app) - rs.topic_week_at < 7 * 86400 && (t = content_find(c, rs.topic_week)))
			return send_topic(ctx, t, P("learn.this_week"));
		day = tz_daykey(ctx->app->cfg->timezone, happ_now(ctx->app));
		/* Day keys are YYYYMMDD; spread them so consecutive days differ. */
		idx = (day / 10000) * 372 + ((day / 100) % 100) * 31 + day % 100;
		return send_topic(ctx, &c->topics[(size_t)idx % c->ntopics], P("learn.today"));
	}
	t = content_find(c, ctx->args);
	if (t)
		return send_topic(ctx, t, NULL);
	n = content_suggest(c, ctx->args, near, sizeof(near) / sizeof(near[0]));
	if (n == 1)
		return send_topic(ctx, near[0], NULL);
	if (n == 0)
		return hctx_reply(ctx, HDEST_SAME, P("learn.no_topic"));
	hbuf_printf(&b, "%s\n\n", P("learn.which_one"));
	for (size_t i = 0; i < n; i++)
		put_topic_line(&b, "!learn ", near[i]);
	rc = b.oom ? HE_NOMEM : hctx_reply(ctx, HDEST_SAME, hbuf_str(&b));
	hbuf_free(&b);
	return rc;
}

int cmd_about(struct hctx *ctx)
{
	const struct config *cfg = ctx->app->cfg;
	struct content_vars v = { cfg->mood_retention_days, cfg->stats_min_members };
	char *text;
	int rc;

	if ((rc = content_fill(hctx_content(ctx, HDEST_SAME)->about, &v, &text)))
		return rc;
	rc = hctx_reply(ctx, HDEST_SAME, text);
	free(text);
	return rc;
}
