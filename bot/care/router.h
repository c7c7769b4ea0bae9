/* router.h - the command table and the context every command runs with.
 *
 * Commands are rows of one table (router.c): name, arguments, summary, handler and flags. A
 * handler gets a struct hctx: the app, the message, and the arguments after the command word.
 * It answers only through hctx_reply*, never through a network. */
#ifndef HEARTH_ROUTER_H
#define HEARTH_ROUTER_H

#include <stddef.h>

#include "core/app.h"
#include "core/msg.h"

enum {
	HCMD_MODERATOR = 1 << 0,   /* only moderators; others get a polite refusal */
	HCMD_WHEN_PAUSED = 1 << 1, /* answers even when a moderator paused Hearth in the room */
	HCMD_HIDDEN = 1 << 2,      /* not listed by !help */
	HCMD_LIMITED = 1 << 3,     /* a member's answers in a group room are rate-limited (limit.h) */
};

struct hctx {
	struct happ *app;
	const struct hmsg *msg;
	const char *text;          /* the whole message, checked and trimmed; for the crisis scan
				    * that runs first, the message as it came (any size, any bytes) */
	const char *args;          /* after the command word, trimmed ("" when none) */
	char cmd[32];              /* the command word, folded */
	int replies;               /* how many replies were sent */
	char prefix[8];            /* the command prefix where the message was said (per room) */
};

struct hcmd {
	const char *name;
	const char *args_help;     /* e.g. "[topic]" */
	const char *summary;       /* one line for !help */
	const char *help;          /* longer help for !help NAME, may be NULL */
	int (*run)(struct hctx *ctx);
	unsigned flags;
};

/* The table, for !help. */
const struct hcmd *router_commands(size_t *n);
const struct hcmd *router_find(const char *name);

/* Sends Markdown to dest. Text from content/ written with "!" is shown with the configured
 * prefix. */
int hctx_reply(struct hctx *ctx, enum hdest dest, const char *markdown);
int hctx_replyf(struct hctx *ctx, enum hdest dest, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Rewrites "!command" mentions for the configured prefix. Returns a malloc'd string. */
char *router_prefixed(const struct happ *app, const char *markdown);
/* The same for a given prefix (a room's own, rooms.h). */
char *router_prefixed_as(const char *prefix, const char *markdown);

#endif
