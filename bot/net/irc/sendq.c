/* sendq.c - the IRC send queue: every line after registration waits for the token bucket, in
 * rounds (one reply of one member per round, see struct irc_qline); a private line is dropped,
 * unsent, when its nick has passed to someone else by its turn. Each queued PRIVMSG/NOTICE keeps
 * its target, so the lines for a channel we left are dropped without reading the lines again. */
#include "core/metrics.h"
#include "net/irc/irc_int.h"
#include "core/err.h"
#include "core/log.h"
#include "core/md.h"
#include "core/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SENDQ_MAX 4000            /* lines waiting; more are dropped (logged) */

void irc_sendq_now(struct irc *c, const char *line)
{
	size_t n = strlen(line);

	size_t tags = 0;

	if (c->conn.fd < 0)
		return;
	/* message tags have their own room (IRCv3); the 512 bytes are for the rest */
	if (line[0] == '@') {
		const char *sp = strchr(line, ' ');
		tags = sp && (size_t)(sp - line) + 1 <= IRC_TAGS_MAX ? (size_t)(sp - line) + 1 : 0;
	}
	if (n - tags > IRC_LINE_MAX - 2)
		n = tags + text_utf8_prefix(line + tags, n - tags, IRC_LINE_MAX - 2);
	irc_log_raw(c, ">>", line, n);
	hbuf_append(&c->conn.out, line, n);
	hbuf_append(&c->conn.out, "\r\n", 2);
	if (irc_conn_flush(&c->conn, c->err, sizeof(c->err)) == HE_IO) {
		irc_disconnect(c, c->err, true);
		return;
	}
	irc_update_events(c);
}

uint32_t irc_sendq_key(const char *who)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)who; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h ? h : 1;
}

/* The round a new reply for key goes in: the one after its last queued line, and never before
 * the round being sent now. */
static uint64_t sendq_round(const struct irc *c, uint32_t key)
{
	uint64_t r = c->qround;

	for (size_t i = 0; i < c->qlen; i++)
		if (c->q[i].key == key && c->q[i].round + 1 > r)
			r = c->q[i].round + 1;
	return r;
}

/* Queues a line behind the token bucket (everything after registration), in its round. target:
 * the PRIVMSG/NOTICE target (NULL for other lines). A line with `to` goes privately to a member
 * and is sent only if that member still holds the nick. */
static int sendq_at(struct irc *c, const char *target, const char *line, uint32_t key,
		    uint64_t round, const struct irc_holder *to)
{
	struct irc_qline *q;
	size_t at;
	char *copy;

	if (c->st != IRC_ST_READY) {
		irc_sendq_now(c, line);
		return HE_OK;
	}
	if (c->qlen >= SENDQ_MAX) {
		hlog_warn("irc", "%s: send queue full (%d lines); a line was dropped", c->net, SENDQ_MAX);
		return HE_AGAIN;
	}
	if (c->qlen == c->qcap) {
		size_t cap = c->qcap ? c->qcap * 2 : 64;
		struct irc_qline *n = realloc(c->q, cap * sizeof(*n));
		if (!n)
			return HE_NOMEM;
		c->q = n;
		c->qcap = cap;
	}
	if (!(copy = strdup(line)))
		return HE_NOMEM;
	at = c->qlen;
	while (at > 0 && c->q[at - 1].round > round)
		at--;
	memmove(c->q + at + 1, c->q + at, (c->qlen - at) * sizeof(*c->q));
	q = &c->q[at];
	*q = (struct irc_qline){ .line = copy, .key = key, .round = round, .bound = to != NULL,
				 .owed = c->owed_cur };
	irc_owed_line_queued(c, q->owed);
	/* a target too long to keep never matches a channel we leave (no channel name is) */
	if (target && strlen(target) < sizeof(q->target))
		memcpy(q->target, target, strlen(target) + 1);
	if (to)
		q->to = *to;
	c->qlen++;
	irc_sendq_pump(c);
	return HE_OK;
}

int irc_sendq_to(struct irc *c, const char *target, const char *line, uint32_t key)
{
	return sendq_at(c, target, line, key, sendq_round(c, key), NULL);
}

int irc_sendq_line(struct irc *c, const char *line)
{
	return sendq_at(c, NULL, line, 0, sendq_round(c, 0), NULL);
}

void irc_sendq_printf(struct irc *c, const char *fmt, ...)
{
	struct hbuf b = HBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	hbuf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (!b.oom)
		irc_sendq_line(c, hbuf_str(&b));
	hbuf_free(&b);
}

void irc_sendq_clear(struct irc *c)
{
	for (size_t i = 0; i < c->qlen; i++)
		free(c->q[i].line);
	c->qlen = 0;
	c->qround = 0;
	c->drop_key = 0;
	c->drop_round = 0;
}

void irc_sendq_drop_target(struct irc *c, const char *target)
{
	size_t keep = 0, dropped = 0;

	for (size_t i = 0; i < c->qlen; i++) {
		if (c->q[i].target[0] && irc_caseeq(c->is.casemap, c->q[i].target, target)) {
			free(c->q[i].line);
			irc_owed_line_gone(c, c->q[i].owed);
			dropped++;
			continue;
		}
		c->q[keep++] = c->q[i];
	}
	c->qlen = keep;
	if (dropped)
		hlog_info("irc", "%s: %zu queued line(s) for %s dropped (no longer in it)", c->net, dropped,
			  target);
}

static void on_sendq_timer(struct loop *l, void *ud)
{
	struct irc *c = ud;

	c->t_sendq = 0;
	irc_sendq_pump(c);
}

/* Drops the lines at the head of the queue that are for a member whose nick has passed to
 * someone else (one log line per reply, without its text). */
static void sendq_drop_head(struct irc *c)
{
	size_t n = 0;

	for (; n < c->qlen; n++) {
		const struct irc_qline *q = &c->q[n];
		if (!q->bound || irc_track_holder_same(&c->track, &q->to))
			break;
		if (q->key != c->drop_key || q->round != c->drop_round) {
			c->drop_key = q->key;
			c->drop_round = q->round;
			hlog_info("irc", "%s: a private reply for %s was not sent: that nick no longer "
				  "belongs to the member it was for", c->net, q->to.nick);
		}
		free(q->line);
		irc_owed_line_gone(c, q->owed);   /* dropped for good: never owed again */
	}
	if (n) {
		c->qlen -= n;
		memmove(c->q, c->q + n, c->qlen * sizeof(*c->q));
	}
}

void irc_sendq_pump(struct irc *c)
{
	uint64_t now = loop_now_ms();

	while (c->qlen && c->st == IRC_ST_READY) {
		char *line;
		uint32_t owed;
		sendq_drop_head(c);
		if (!c->qlen || !irc_bucket_take(&c->bucket, now))
			break;
		line = c->q[0].line;
		owed = c->q[0].owed;
		c->qround = c->q[0].round;
		c->qlen--;
		memmove(c->q, c->q + 1, c->qlen * sizeof(*c->q));
		irc_sendq_now(c, line);
		free(line);
		if (c->st != IRC_ST_READY)
			return;                  /* disconnected: what it owed stays owed (owed.c) */
		irc_owed_line_gone(c, owed);
	}
	metrics_irc_sendq(c->net, (long)c->qlen);
	if (c->qlen && c->st == IRC_ST_READY && !c->t_sendq) {
		int rc = loop_timer_add(c->app->loop, irc_bucket_wait_ms(&c->bucket, now),
					on_sendq_timer, c, &c->t_sendq);
		if (rc)
			happ_fail(c->app, "irc", "cannot arm the send queue timer", rc);
	}
}

struct say_ctx {
	struct irc *c;
	const char *verb;
	const char *target;
	uint32_t key;
	uint64_t round;
	const struct irc_holder *to;
	const char *reply_to;         /* a msgid for +draft/reply, or NULL */
};

static int say_line(void *ud, const char *line, size_t len)
{
	struct say_ctx *s = ud;
	struct hbuf b = HBUF_INIT;
	int rc;

	if (s->reply_to)
		hbuf_printf(&b, "@+draft/reply=%s ", s->reply_to);
	hbuf_printf(&b, "%s %s :%.*s", s->verb, s->target, (int)len, line);
	rc = b.oom ? HE_NOMEM : sendq_at(s->c, s->target, hbuf_str(&b), s->key, s->round, s->to);
	hbuf_free(&b);
	return rc;
}

/* Sends plain text to a channel or nick, split to fit with Hearth's own prefix counted; all its
 * lines share one round of who (see struct irc_qline). to: the member a private text is for. */
static int say_plain(struct irc *c, const char *verb, const char *target, const char *who,
		     const char *text, const struct irc_holder *to, const char *reply_to)
{
	struct say_ctx s = { c, verb, target, irc_sendq_key(who), 0, to,
			     reply_to && (c->caps_on & IRC_CAP_TAGS) ? reply_to : NULL };
	/* unknown user@host: assume the longest usual (63 + 10 + 63 with the nick) */
	const char *user = c->user[0] ? c->user : "uuuuuuuuuu";
	char host63[64];
	size_t budget;

	memset(host63, 'h', 63);
	host63[63] = '\0';
	budget = irc_text_budget(c->is.linelen, c->nick[0] ? c->nick : host63, user,
				 c->host[0] ? c->host : host63, verb, target);
	if (c->st != IRC_ST_READY)
		return HE_AGAIN;
	s.round = sendq_round(c, s.key);
	return irc_split_text(text, budget, say_line, &s);
}

int irc_sendq_notice(struct irc *c, const char *target, const char *who, const char *md,
		     const struct irc_holder *to)
{
	char *plain = NULL;
	int rc;

	if (md_to_plain(md, strlen(md), &plain) != HE_OK)
		plain = NULL;
	rc = say_plain(c, "NOTICE", target, who, plain ? plain : md, to, NULL);
	free(plain);
	return rc;
}

int irc_sendq_markdown(struct irc *c, const char *target, const char *who, const char *md,
		       const struct irc_holder *to, const char *reply_to)
{
	char *plain = NULL;
	int rc;

	if (md_to_plain(md, strlen(md), &plain) != HE_OK)
		plain = NULL;
	rc = say_plain(c, "PRIVMSG", target, who, plain ? plain : md, to, reply_to);
	free(plain);
	return rc;
}
