/* router.c - the one entry point for members' messages: crisis scan, checks, the command. */
#include "care/router.h"
#include "care/commands.h"
#include "care/crisis.h"
#include "care/lang.h"
#include "care/limit.h"
#include "care/reply.h"
#include "care/rooms.h"
#include "core/err.h"
#include "core/metrics.h"
#include "core/text.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A phrase for a reply where the message was said. */
#define P(ctx, key) hctx_phrase((ctx), HDEST_SAME, (key))

/* Suggests a known command close to an unknown one, or NULL. */
static const struct hcmd *closest_command(const char *word)
{
	const struct hcmd *best = NULL;
	size_t n;
	const struct hcmd *commands = commands_list(&n);
	unsigned bestd = 3;

	for (size_t i = 0; i < n; i++) {
		unsigned d = text_distance(word, commands[i].name);
		if (d < bestd) {
			bestd = d;
			best = &commands[i];
		}
	}
	return best;
}

static int run_command(struct hctx *ctx, const struct room_settings *rs, const char *body)
{
	const struct hmsg *m = ctx->msg;
	const struct hcmd *cmd;
	char *folded;

	if (!text_next_word(&body, ctx->cmd, sizeof(ctx->cmd)))
		return HE_OK; /* a lone prefix */
	folded = text_fold(ctx->cmd);
	if (!folded)
		return HE_NOMEM;
	snprintf(ctx->cmd, sizeof(ctx->cmd), "%s", folded);
	free(folded);
	ctx->args = body;

	cmd = commands_find(ctx->cmd);
	if (!m->is_private && rs->paused && !(cmd && (cmd->flags & HCMD_WHEN_PAUSED)))
		return HE_OK; /* paused: silent but for crisis answers and moderators */
	if (!cmd) {
		const struct hcmd *near = closest_command(ctx->cmd);
		if (near) {
			/* The member's word, echoed: a code span it cannot end or break out of. */
			char said[sizeof(ctx->cmd) + 8], *code;
			int rc;
			snprintf(said, sizeof(said), "%s%s", ctx->prefix, ctx->cmd);
			if (!(code = text_md_code(said)))
				return HE_NOMEM;
			rc = hctx_replyf(ctx, HDEST_SAME, P(ctx, "router.did_you_mean"), code, near->name);
			free(code);
			return rc;
		}
		if (m->is_private)
			return hctx_reply(ctx, HDEST_SAME, P(ctx, "router.unknown_command"));
		return HE_OK; /* maybe another bot's command */
	}
	if ((cmd->flags & HCMD_MODERATOR) && m->role != HROLE_MODERATOR)
		return hctx_reply(ctx, HDEST_SAME, P(ctx, "router.moderators_only"));
	/* A group room is not flooded: the busy commands answer a member 3 times a minute there
	 * (limit.h). Moderators, private chats, !crisis and crisis words are never limited. */
	if ((cmd->flags & HCMD_LIMITED) && !m->is_private && m->role != HROLE_MODERATOR) {
		switch (limit_take(ctx->app, m->network, m->room, m->sender ? m->sender : "",
				   happ_now(ctx->app))) {
		case LIMIT_NOTE:
			return hctx_reply(ctx, HDEST_PRIVATE, hctx_phrase(ctx, HDEST_PRIVATE, "router.limited"));
		case LIMIT_SILENT:
			return HE_OK;
		case LIMIT_OK:
			break;
		}
	}
	metrics_command(m->network, cmd->name);
	return cmd->run(ctx);
}

/* Whether text may start with a prefix: the configured one or a room's (one punctuation mark). */
static bool maybe_command(const struct happ *app, const char *text)
{
	unsigned char c;

	while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
		text++;
	c = (unsigned char)text[0];
	return strncmp(text, app->cfg->prefix, strlen(app->cfg->prefix)) == 0 ||
	       (c > 0x20 && c < 0x7f && !isalnum(c));
}

bool router_wants_answer(struct happ *app, const char *text)
{
	return maybe_command(app, text) || crisis_match(app->content, text) == 1;
}

int router_dispatch(struct happ *app, const struct hmsg *m)
{
	struct hctx ctx = { .app = app, .msg = m };
	struct room_settings rs;
	const char *prefix;
	size_t plen, len = strlen(m->text);
	char *text = NULL;
	int rc;

	/* A room's own prefix (rooms.h); private chats use the configured one. A room prefix is
	 * one ASCII punctuation mark, so plain chatter costs no lookup. */
	if (m->is_private || !maybe_command(app, m->text) ||
	    rooms_get(app, m->network, m->room, &rs) != HE_OK)
		rooms_get_defaults(&rs);
	snprintf(ctx.prefix, sizeof(ctx.prefix), "%s", m->is_private ? app->cfg->prefix : rooms_prefix(app, &rs));
	prefix = ctx.prefix;
	plen = strlen(prefix);

	/* Crisis language first, on every message whatever its size or encoding: the scanner reads
	 * the first CRISIS_SCAN_MAX bytes of the message as it came and takes bytes that are not
	 * UTF-8 as Latin-1. Only then are the size and encoding checked, for the command. */
	ctx.text = m->text;
	rc = crisis_scan(&ctx);
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
			return hctx_replyf(&ctx, HDEST_SAME, P(&ctx, "router.too_long"), app->cfg->max_message_bytes);
		if (rc == HE_INVAL)
			return hctx_reply(&ctx, HDEST_SAME, P(&ctx, "router.unreadable"));
		return rc;
	}
	ctx.text = text;
	if (strncmp(text, prefix, plen) == 0)
		rc = run_command(&ctx, &rs, text + plen);
	free(text);
	return rc > 0 ? HE_OK : rc;
}
