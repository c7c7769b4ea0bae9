/* commands.h - the command table: one row per command, and the handlers its rows name.
 *
 * A leaf of care/: it includes no other care header, so every feature can list or look up
 * commands (help, the prefix rewrite in reply.c) without depending on the router, and the
 * router can name every handler without depending on the features' headers. Each handler
 * lives in its feature's file and answers only through hctx_reply* (care/reply.h). */
#ifndef HEARTH_COMMANDS_H
#define HEARTH_COMMANDS_H

#include <stddef.h>

struct hctx;

enum {
	HCMD_MODERATOR = 1 << 0,   /* only moderators; others get a polite refusal */
	HCMD_WHEN_PAUSED = 1 << 1, /* answers even when a moderator paused Hearth in the room */
	HCMD_HIDDEN = 1 << 2,      /* not listed by !help */
	HCMD_OWN_HELP = 1 << 3,    /* "!help NAME" answers as "!NAME help" does (the full help) */
	HCMD_LIMITED = 1 << 4,     /* a member's answers in a group room are rate-limited (limit.h) */
};

struct hcmd {
	const char *name;
	const char *args_help;     /* e.g. "[topic]" */
	const char *summary;       /* one line for !help */
	const char *help;          /* longer help for !help NAME, may be NULL */
	int (*run)(struct hctx *ctx);
	unsigned flags;
};

/* The table (commands.c), for !help and the router. */
const struct hcmd *commands_list(size_t *n);
/* The row named `name` (folded, without the prefix), or NULL. */
const struct hcmd *commands_find(const char *name);

/* learn.c */
int cmd_help(struct hctx *ctx);
int cmd_topics(struct hctx *ctx);
int cmd_learn(struct hctx *ctx);
int cmd_about(struct hctx *ctx);
/* checkin.c */
int cmd_checkin(struct hctx *ctx);
/* mood.c */
int cmd_mood(struct hctx *ctx);
/* crisis.c */
int cmd_crisis(struct hctx *ctx);
/* lang.c */
int cmd_lang(struct hctx *ctx);
/* mod.c */
int cmd_mod(struct hctx *ctx);

#endif
