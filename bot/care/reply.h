/* reply.h - the one owner of the outbound half of the seam (core/msg.h) in care/.
 *
 * Everything the care layer says goes through here: an answer to a member's message
 * (hctx_reply), an unprompted post into a room (reply_post: check-ins, moderators' alerts), an
 * unprompted private post (reply_post_private: mood reminders) and a file (reply_send_file: the
 * mood export). This file finds the transport, checks that it has the op, rewrites "!command"
 * mentions for the configured prefix, makes the call and logs a failure (never the text). No
 * other file in care/ calls a transport's ops.
 *
 * struct hctx is the context every command runs with (commands.h names the handlers). */
#ifndef HEARTH_REPLY_H
#define HEARTH_REPLY_H

#include <stdbool.h>

#include "core/app.h"
#include "core/msg.h"

struct hctx {
	struct happ *app;
	const struct hmsg *msg;
	const char *text;          /* the whole message, checked and trimmed; for the crisis scan
				    * that runs first, the message as it came (any size, any bytes) */
	const char *args;          /* after the command word, trimmed ("" when none) */
	char cmd[32];              /* the command word, folded */
	int replies;               /* how many replies were sent */
	char prefix[8];            /* the command prefix where the message was said: the room's own
				    * (rooms.h), else the configured one; "" counts as configured */
	char lang_room[16];        /* the room's language, "" until lang.c looks it up */
	char lang_member[16];      /* the member's own (`!lang`), "" for none */
	bool lang_member_known;    /* lang_member was looked up */
};

/* Sends Markdown to dest through the message's transport and counts it in ctx->replies. Text
 * from content/ written with "!" is shown with the configured prefix. HE_INVAL when the message
 * has no transport that can reply. */
int hctx_reply(struct hctx *ctx, enum hdest dest, const char *markdown);
int hctx_replyf(struct hctx *ctx, enum hdest dest, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Posts Markdown unprompted into `room` on `network` (prefix rewritten for the room). HE_AGAIN when the
 * network is not there or cannot post (the caller may retry); else the transport's result.
 * `what` names the post for the log ("a check-in"); a failure is logged, never the text. */
int reply_post(struct happ *app, const char *network, const char *room, const char *markdown,
	       const char *what);

/* True when `network` is there and can post into a room (reply_post would try). */
bool reply_can_post(struct happ *app, const char *network);

/* Posts Markdown unprompted to one member privately (prefix rewritten). HE_AGAIN when the
 * network is not there or cannot post privately; else the transport's result (logged). */
int reply_post_private(struct happ *app, const char *network, const char *member,
		       const char *markdown, const char *what);

/* True when the message's network can carry files (else send text instead). */
bool reply_can_send_file(const struct hctx *ctx);

/* Gives the sender a file, privately. HE_INVAL when the network carries no files; a failure is
 * logged with `what`. Not counted in ctx->replies. */
int reply_send_file(struct hctx *ctx, const struct hfile *f, const char *what);

/* True when the message's network can show the sender an image, or at least carry it as a file
 * (reply_send_image would try). */
bool reply_can_send_image(const struct hctx *ctx);
/* Shows the sender an image privately: the transport's send_image, else send_file with
 * img->file. HE_INVAL when the network carries neither; a failure is logged with `what`. Not
 * counted in ctx->replies. */
int reply_send_image(struct hctx *ctx, const struct himage *img, const char *what);

/* A check-in prompt that members may answer with one tap where the network offers it (the
 * transport's post_checkin; the answers come back as HEV_SCALE_* room events), else the plain
 * text: hctx_reply_checkin answers a `!checkin` said in a group room (a private one gets
 * hctx_reply), reply_post_checkin posts a scheduled one (as reply_post; idem names it, as in
 * msg.h's post_checkin, or NULL). */
int hctx_reply_checkin(struct hctx *ctx, const char *markdown);
int reply_post_checkin(struct happ *app, const char *network, const char *room, const char *markdown,
		       const char *idem, const char *what);

/* Greets a member who joined a room (a welcome) through the event's transport's greet op, the
 * prefix rewritten for the room. HE_AGAIN when the transport has no greet op. */
int reply_greet(struct happ *app, const struct hevent *joined, const char *markdown);
/* True when the event's transport can greet (reply_greet would try). */
bool reply_can_greet(const struct hevent *joined);

/* Rewrites "!command" mentions in Markdown for the configured prefix. Returns a malloc'd
 * string, NULL when out of memory. */
char *reply_prefixed(const struct happ *app, const char *markdown);
/* The same for a given prefix (a room's own, rooms.h). */
char *reply_prefixed_as(const char *prefix, const char *markdown);
/* The same for the prefix of room on network (its own, else the configured one). */
char *reply_prefixed_room(struct happ *app, const char *network, const char *room,
			  const char *markdown);

#endif
