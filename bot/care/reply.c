/* reply.c - everything the care layer says leaves through here (see reply.h). */
#include "care/reply.h"
#include "care/commands.h"
#include "care/rooms.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/metrics.h"
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *reply_prefixed(const struct happ *app, const char *md)
{
	return reply_prefixed_as(app->cfg->prefix, md);
}

char *reply_prefixed_room(struct happ *app, const char *network, const char *room, const char *md)
{
	struct room_settings rs;

	if (!room || rooms_get(app, network, room, &rs) != HE_OK)
		rooms_get_defaults(&rs);
	return reply_prefixed_as(rooms_prefix(app, &rs), md);
}

char *reply_prefixed_as(const char *prefix, const char *md)
{
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
			if (commands_find(word)) {
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
	char *text = NULL;
	int rc;

	if (!t || !t->ops || !t->ops->reply)
		return HE_INVAL;
	if (!(text = reply_prefixed_as(ctx->prefix[0] ? ctx->prefix : ctx->app->cfg->prefix, md))) {
		rc = HE_NOMEM;
		goto out;
	}
	rc = t->ops->reply(t, ctx->msg, dest, text);
	metrics_reply(t->name, rc == HE_OK);
	if (rc)
		hlog_warn("router", "a reply on %s could not be delivered: %s", t->name, he_str(rc));
	else
		ctx->replies++;
out:
	free(text);
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

/* The transport for network when it has the post (or post_private) op, else NULL. */
static struct htransport *with_op(struct happ *app, const char *network, bool private_op)
{
	struct htransport *t = network ? happ_transport(app, network) : NULL;

	if (!t || !t->ops)
		return NULL;
	if (private_op ? !t->ops->post_private : !t->ops->post)
		return NULL;
	return t;
}

static int post(struct happ *app, const char *network, const char *to, const char *md,
		const char *what, bool private_op)
{
	struct htransport *t = with_op(app, network, private_op);
	char *text = NULL;
	int rc;

	if (!t)
		return HE_AGAIN;
	/* a room's own prefix; a member's private chat has the configured one */
	if (!(text = private_op ? reply_prefixed(app, md) : reply_prefixed_room(app, network, to, md))) {
		rc = HE_NOMEM;
		goto out;
	}
	rc = private_op ? t->ops->post_private(t, to, text) : t->ops->post(t, to, text);
	if (rc)
		hlog_warn("reply", "%s could not be posted on %s: %s", what, t->name, he_str(rc));
out:
	free(text);
	return rc;
}

bool reply_can_post(struct happ *app, const char *network)
{
	return with_op(app, network, false) != NULL;
}

int reply_post(struct happ *app, const char *network, const char *room, const char *md,
	       const char *what)
{
	return post(app, network, room, md, what, false);
}

int reply_post_private(struct happ *app, const char *network, const char *member, const char *md,
		       const char *what)
{
	return post(app, network, member, md, what, true);
}

bool reply_can_greet(const struct hevent *ev)
{
	return ev->via && ev->via->ops && ev->via->ops->greet;
}

int reply_greet(struct happ *app, const struct hevent *ev, const char *md)
{
	struct htransport *t = ev->via;
	char *text = NULL;
	int rc;

	if (!t || !t->ops || !t->ops->greet)
		return HE_AGAIN;
	if (!(text = reply_prefixed_room(app, ev->network, ev->room, md))) {
		rc = HE_NOMEM;
		goto out;
	}
	rc = t->ops->greet(t, ev, text);
	if (rc)
		hlog_warn("reply", "a welcome could not be delivered on %s: %s", t->name, he_str(rc));
out:
	free(text);
	return rc;
}

bool reply_can_send_file(const struct hctx *ctx)
{
	const struct htransport *t = ctx->msg->via;

	return t && t->ops && t->ops->send_file;
}

int reply_send_file(struct hctx *ctx, const struct hfile *f, const char *what)
{
	struct htransport *t = ctx->msg->via;
	int rc;

	if (!reply_can_send_file(ctx))
		return HE_INVAL;
	rc = t->ops->send_file(t, ctx->msg, f);
	if (rc)
		hlog_warn("reply", "%s could not be delivered on %s: %s", what, t->name, he_str(rc));
	return rc;
}

bool reply_can_send_image(const struct hctx *ctx)
{
	const struct htransport *t = ctx->msg->via;

	return t && t->ops && (t->ops->send_image || t->ops->send_file);
}

int reply_send_image(struct hctx *ctx, const struct himage *img, const char *what)
{
	struct htransport *t = ctx->msg->via;
	int rc;

	if (!reply_can_send_image(ctx))
		return HE_INVAL;
	/* a network without images gets the picture as a file */
	rc = t->ops->send_image ? t->ops->send_image(t, ctx->msg, img) : t->ops->send_file(t, ctx->msg, &img->file);
	if (rc)
		hlog_warn("reply", "%s could not be delivered on %s: %s", what, t->name, he_str(rc));
	return rc;
}

int hctx_reply_checkin(struct hctx *ctx, const char *md)
{
	struct htransport *t = ctx->msg->via;
	char *text = NULL;
	int rc;

	if (ctx->msg->is_private || !t || !t->ops || !t->ops->post_checkin)
		return hctx_reply(ctx, HDEST_SAME, md);
	if (!(text = reply_prefixed_as(ctx->prefix[0] ? ctx->prefix : ctx->app->cfg->prefix, md)))
		return HE_NOMEM;
	rc = t->ops->post_checkin(t, ctx->msg, ctx->msg->room, text, NULL);
	if (rc)
		hlog_warn("router", "a check-in on %s could not be delivered: %s", t->name, he_str(rc));
	else
		ctx->replies++;
	free(text);
	return rc;
}

int reply_post_checkin(struct happ *app, const char *network, const char *room, const char *md,
		       const char *idem, const char *what)
{
	struct htransport *t = with_op(app, network, false);
	char *text = NULL;
	int rc;

	if (!t || !t->ops->post_checkin)
		return post(app, network, room, md, what, false);
	if (!(text = reply_prefixed_room(app, network, room, md)))
		return HE_NOMEM;
	rc = t->ops->post_checkin(t, NULL, room, text, idem);
	if (rc)
		hlog_warn("reply", "%s could not be posted on %s: %s", what, t->name, he_str(rc));
	free(text);
	return rc;
}
