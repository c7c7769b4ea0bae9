/* router.c - the one entry point for members' messages and the command table. */
#include "care/router.h"
#include "care/care.h"
#include "care/commands.h"
#include "care/content.h"
#include "care/crisis.h"
#include "care/mod.h"
#include "care/mood.h"
#include "care/rooms.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every command Hearth knows. Adding a network never touches this table. */
static const struct hcmd commands[] = {
	{ "help", "[command]", "What I can do, or how one command works.", NULL, cmd_help, HCMD_WHEN_PAUSED },
	{ "topics", "", "The topics I can tell you about.", NULL, cmd_topics, 0 },
	{ "learn", "[topic]", "A short reading: today's, or the topic you name.",
	  "Without a topic you get today's reading. Name a topic (see !topics) for that one; close "
	  "spellings are fine, I will suggest what I have.", cmd_learn, 0 },
	{ "checkin", "", "A gentle check-in question. Passing is always fine.", NULL, cmd_checkin, 0 },
	{ "about", "", "What Hearth is and is not, and how it treats your data.", NULL, cmd_about,
	  HCMD_WHEN_PAUSED },
	{ "mood", "<1-10> [note] | optin | history | export | forget | optout | remind",
	  "Your private mood log (opt-in). Replies always come privately.", NULL, cmd_mood, 0 },
	{ "crisis", "", "Help right now: people you can reach today. Always answers.", NULL, cmd_crisis,
	  HCMD_WHEN_PAUSED },
	{ "mod", "help | pause | resume | reload | stats | checkin | quiet",
	  "Moderator tools for this room.", NULL, cmd_mod, HCMD_MODERATOR | HCMD_WHEN_PAUSED },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

const struct hcmd *router_commands(size_t *n)
{
	*n = NCOMMANDS;
	return commands;
}

const struct hcmd *router_find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

char *router_prefixed(const struct happ *app, const char *md)
{
	const char *prefix = app->cfg->prefix;
	struct hbuf b = HBUF_INIT;

	if (strcmp(prefix, "!") == 0)
		return strdup(md);
	for (const char *p = md; *p; p++) {
		bool word_start = p == md || p[-1] == ' ' || p[-1] == '`' || p[-1] == '(' || p[-1] == '\n' ||
				  p[-1] == '"';
		if (*p == '!' && word_start && p[1] >= 'a' && p[1] <= 'z') {
			char word[32];
			size_t n = 0;
			while (n + 1 < sizeof(word) && p[1 + n] >= 'a' && p[1 + n] <= 'z') {
				word[n] = p[1 + n];
				n++;
			}
			word[n] = '\0';
			if (router_find(word)) {
				hbuf_puts(&b, prefix);
				continue;
			}
		}
		hbuf_putc(&b, *p);
	}
	return hbuf_steal(&b);
}

int hctx_reply(struct hctx *ctx, enum hdest dest, const char *md)
{
	struct htransport *t = ctx->msg->via;
	char *text;
	int rc;

	if (!t || !t->ops->reply)
		return HE_INVAL;
	text = router_prefixed(ctx->app, md);
	if (!text)
		return HE_NOMEM;
	rc = t->ops->reply(t, ctx->msg, dest, text);
	metrics_reply(t->name, rc == HE_OK);
	free(text);
	if (rc)
		hlog_warn("router", "a reply on %s could not be delivered: %s", t->name, he_str(rc));
	else
		ctx->replies++;
	return rc;
}

int hctx_replyf(struct hctx *ctx, enum hdest dest, const char *fmt, ...)
{
	struct hbuf b = HBUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = hbuf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (rc == HE_OK)
		rc = hctx_reply(ctx, dest, hbuf_str(&b));
	hbuf_free(&b);
	return rc;
}

/* Suggests a known command close to an unknown one, or NULL. */
static const struct hcmd *closest_command(const char *word)
{
	const struct hcmd *best = NULL;
	unsigned bestd = 3;

	for (size_t i = 0; i < NCOMMANDS; i++) {
		unsigned d = text_distance(word, commands[i].name);
		if (d < bestd) {
			bestd = d;
			best = &commands[i];
		}
	}
	return best;
}

static int run_command(struct hctx *ctx, const char *body)
{
	struct happ *app = ctx->app;
	const struct hmsg *m = ctx->msg;
	const struct hcmd *cmd;
	struct room_settings rs;
	char *folded;

	if (!text_next_word(&body, ctx->cmd, sizeof(ctx->cmd)))
		return HE_OK; /* a lone prefix */
	folded = text_fold(ctx->cmd);
	if (!folded)
		return HE_NOMEM;
	snprintf(ctx->cmd, sizeof(ctx->cmd), "%s", folded);
	free(folded);
	ctx->args = body;

	cmd = router_find(ctx->cmd);
	if (!m->is_private && rooms_get(app, m->network, m->room, &rs) == HE_OK && rs.paused &&
	    !(cmd && (cmd->flags & HCMD_WHEN_PAUSED)))
		return HE_OK; /* paused: silent but for crisis answers and moderators */
	if (!cmd) {
		const struct hcmd *near = closest_command(ctx->cmd);
		if (near) {
			/* The member's word, echoed: a code span it cannot end or break out of. */
			char said[sizeof(ctx->cmd) + 8], *code;
			int rc;
			snprintf(said, sizeof(said), "%s%s", app->cfg->prefix, ctx->cmd);
			if (!(code = text_md_code(said)))
				return HE_NOMEM;
			rc = hctx_replyf(ctx, HDEST_SAME, "I don't know %s. Did you mean `!%s`? "
					 "Type `!help` to see everything I can do.", code, near->name);
			free(code);
			return rc;
		}
		if (m->is_private)
			return hctx_reply(ctx, HDEST_SAME, "I don't know that command. Type `!help` to see "
					  "what I can do.");
		return HE_OK; /* maybe another bot's command */
	}
	if ((cmd->flags & HCMD_MODERATOR) && m->role != HROLE_MODERATOR)
		return hctx_reply(ctx, HDEST_SAME, "Sorry, only this room's moderators can use that. "
				  "Nothing was changed.");
	metrics_command(m->network, cmd->name);
	return cmd->run(ctx);
}

static int dispatch(struct happ *app, const struct hmsg *m);

int happ_dispatch(struct happ *app, const struct hmsg *m)
{
	int rc;

	metrics_dispatch_begin();
	rc = dispatch(app, m);
	metrics_dispatch_end();
	return rc;
}

static int dispatch(struct happ *app, const struct hmsg *m)
{
	struct hctx ctx = { .app = app, .msg = m };
	const char *prefix = app->cfg->prefix;
	size_t plen = strlen(prefix), len = strlen(m->text);
	char *text = NULL;
	int rc;

	/* Crisis language first, on every message whatever its size or encoding: the scanner reads
	 * the first CRISIS_SCAN_MAX bytes of the message as it came and takes bytes that are not
	 * UTF-8 as Latin-1. Only then are the size and encoding checked, for the command. */
	ctx.text = m->text;
	rc = care_before_command(&ctx);
	ctx.text = NULL;
	if (rc)
		return rc > 0 ? HE_OK : rc;
	rc = text_clean_input(m->text, len, (size_t)app->cfg->max_message_bytes, &text);
	if (rc) {
		free(text);
		/* Only answer what was meant for us; say plainly what went wrong. */
		if (strncmp(m->text, prefix, plen) != 0)
			return HE_OK;
		if (rc == HE_TOOBIG)
			return hctx_replyf(&ctx, HDEST_SAME, "That message is too long for me to read "
					   "(I read up to %d bytes). Could you send a shorter one?",
					   app->cfg->max_message_bytes);
		if (rc == HE_INVAL)
			return hctx_reply(&ctx, HDEST_SAME, "I couldn't read that message: it has characters "
					  "I can't handle. Could you type it again?");
		return rc;
	}
	ctx.text = text;
	if (strncmp(text, prefix, plen) == 0)
		rc = run_command(&ctx, text + plen);
	free(text);
	return rc > 0 ? HE_OK : rc;
}
