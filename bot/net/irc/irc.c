/* irc.c - the IRC transport: connection state machine, registration (CAP, SASL, nick), the send
 * queue, and turning PRIVMSGs into struct hmsg. Parsing lives in parse.c, sockets and TLS in
 * conn.c, channel state in track.c. */
#include "net/irc/irc.h"
#include "net/irc/conn.h"
#include "net/irc/parse.h"
#include "net/irc/track.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/md.h"
#include "core/text.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Timings. The first three can be shortened for tests only, through the environment
 * (HEARTH_IRC_TEST_PING_IDLE_MS, HEARTH_IRC_TEST_PING_DEADLINE_MS, HEARTH_IRC_TEST_SASL_TIMEOUT_MS,
 * milliseconds, 200 to the default); they are not config keys on purpose. */
#define PING_IDLE_MS 60000        /* our own PING after this much silence */
#define PING_DEADLINE_MS 30000    /* no answer within this: the connection is dead */
#define SASL_TIMEOUT_MS 20000
#define PING_TICK_MS 5000         /* how often the lag check runs (at most) */
#define REG_TIMEOUT_MS 60000      /* registration must finish within this */
#define REGAIN_MS 60000           /* try to take the main nick back this often */
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 120000
#define SENDQ_MAX 4000            /* lines waiting; more are dropped (logged) */

/* A queued line. Lines are sent round by round: each reply (all its lines) of one member takes
 * the next round of that member, so one member's 20 commands do not make everyone else wait
 * behind them, and the lines of one reply stay together. */
struct qline {
	char *line;
	uint32_t key;                  /* hash of who it is for (member, room); 0 for our own lines */
	uint64_t round;
	bool bound;                    /* a private line: sent only if `to` still holds the nick */
	struct irc_holder to;
};

enum irc_state { ST_IDLE, ST_CONNECTING, ST_REGISTERING, ST_READY };

enum {
	CAP_SASL = 1 << 0, CAP_TAGS = 1 << 1, CAP_TIME = 1 << 2, CAP_ACCOUNT_TAG = 1 << 3,
	CAP_MULTI_PREFIX = 1 << 4, CAP_EXTENDED_JOIN = 1 << 5, CAP_ACCOUNT_NOTIFY = 1 << 6,
};

static const struct { const char *name; unsigned bit; } wanted_caps[] = {
	{ "sasl", CAP_SASL }, { "message-tags", CAP_TAGS }, { "server-time", CAP_TIME },
	{ "account-tag", CAP_ACCOUNT_TAG }, { "multi-prefix", CAP_MULTI_PREFIX },
	{ "extended-join", CAP_EXTENDED_JOIN }, { "account-notify", CAP_ACCOUNT_NOTIFY },
};
#define NWANTED (sizeof(wanted_caps) / sizeof(wanted_caps[0]))

struct irc {
	struct htransport t;
	struct happ *app;
	const struct config_irc *cfg;
	struct irc_conn conn;
	enum irc_state st;
	char net[64];                  /* "irc.NAME" */
	char err[320];

	struct hbuf in;
	bool discarding;               /* the current input line went over the cap */
	struct irc_msg *msg;           /* parse scratch (large) */

	struct irc_isupport is;
	struct irc_track track;

	char nick[IRC_NAME_MAX];
	char user[IRC_NAME_MAX];
	char host[256];
	int nick_try;

	unsigned caps_offered, caps_on, caps_pending;
	bool cap_ls_done, cap_end_sent;
	char sasl_mechs[128];          /* from sasl=PLAIN,EXTERNAL; "" when not listed */
	bool sasl_started, sasl_done;

	struct irc_bucket bucket;
	struct qline *q;               /* send queue, sorted by (round, arrival) */
	size_t qlen, qcap;
	uint64_t qround;               /* the round of the line sent last */
	uint32_t drop_key;             /* the reply whose dropped lines were logged last */
	uint64_t drop_round;

	uint64_t last_rx_ms, ping_sent_ms;
	uint64_t ping_idle_ms, ping_deadline_ms, sasl_timeout_ms, ping_tick_ms;
	uint64_t t_ping, t_reg, t_sasl, t_regain, t_reconnect, t_sendq;
	int attempts;                  /* failed connects in a row */
	int wfd;                       /* the fd the loop watches, -1 when none */
	bool stopping;
};

static void irc_disconnect(struct irc *c, const char *why, bool retry);
static void irc_refused(struct irc *c, const char *why);
static void pump_queue(struct irc *c);

/* ---------------------------------------------------------------- output */

/* Debug logging of raw lines: never a message body (mood notes, replies) or a secret (SASL
 * payload, PASS), see irc_log_line(). */
static void log_raw(const struct irc *c, const char *dir, const char *line, size_t len)
{
	char shown[1024];

	if (hlog_get_level() < HLOG_DEBUG)
		return;
	irc_log_line(line, len, shown, sizeof(shown));
	hlog_debug("irc", "%s %s %s", c->net, dir, shown);
}

static void update_events(struct irc *c)
{
	if (c->conn.fd >= 0 && c->wfd == c->conn.fd)
		loop_mod_fd(c->app->loop, c->conn.fd, irc_conn_events(&c->conn));
}

/* Writes one line now (registration, PONG, PING, QUIT). */
static void send_now(struct irc *c, const char *line)
{
	size_t n = strlen(line);

	if (c->conn.fd < 0)
		return;
	if (n > IRC_LINE_MAX - 2)
		n = text_utf8_prefix(line, n, IRC_LINE_MAX - 2);
	log_raw(c, ">>", line, n);
	hbuf_append(&c->conn.out, line, n);
	hbuf_append(&c->conn.out, "\r\n", 2);
	if (irc_conn_flush(&c->conn, c->err, sizeof(c->err)) == HE_IO) {
		irc_disconnect(c, c->err, true);
		return;
	}
	update_events(c);
}

static uint32_t qkey(const char *who)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)who; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h ? h : 1;
}

/* The round a new reply for key goes in: the one after its last queued line, and never before
 * the round being sent now. */
static uint64_t queue_round(const struct irc *c, uint32_t key)
{
	uint64_t r = c->qround;

	for (size_t i = 0; i < c->qlen; i++)
		if (c->q[i].key == key && c->q[i].round + 1 > r)
			r = c->q[i].round + 1;
	return r;
}

/* Queues a line behind the token bucket (everything after registration), in its round. A line
 * with `to` goes privately to a member and is sent only if that member still holds the nick. */
static int queue_at(struct irc *c, const char *line, uint32_t key, uint64_t round,
		    const struct irc_holder *to)
{
	size_t at;
	char *copy;

	if (c->st != ST_READY) {
		send_now(c, line);
		return HE_OK;
	}
	if (c->qlen >= SENDQ_MAX) {
		hlog_warn("irc", "%s: send queue full (%d lines); a line was dropped", c->net, SENDQ_MAX);
		return HE_AGAIN;
	}
	if (c->qlen == c->qcap) {
		size_t cap = c->qcap ? c->qcap * 2 : 64;
		struct qline *n = realloc(c->q, cap * sizeof(*n));
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
	c->q[at] = (struct qline){ copy, key, round, to != NULL, { { 0 }, { 0 }, 0 } };
	if (to)
		c->q[at].to = *to;
	c->qlen++;
	pump_queue(c);
	return HE_OK;
}

static int queue_keyed(struct irc *c, const char *line, uint32_t key)
{
	return queue_at(c, line, key, queue_round(c, key), NULL);
}

static int queue_line(struct irc *c, const char *line)
{
	return queue_keyed(c, line, 0);
}

static void queue_clear(struct irc *c)
{
	for (size_t i = 0; i < c->qlen; i++)
		free(c->q[i].line);
	c->qlen = 0;
	c->qround = 0;
	c->drop_key = 0;
	c->drop_round = 0;
}

/* Drops the queued PRIVMSG/NOTICE lines to target (a channel we are no longer in). */
static void queue_drop_target(struct irc *c, const char *target)
{
	size_t keep = 0, dropped = 0;

	for (size_t i = 0; i < c->qlen; i++) {
		const char *l = c->q[i].line, *t = NULL, *sp;
		char name[IRC_NAME_MAX];
		if (strncmp(l, "PRIVMSG ", 8) == 0)
			t = l + 8;
		else if (strncmp(l, "NOTICE ", 7) == 0)
			t = l + 7;
		if (t && (sp = strchr(t, ' ')) && (size_t)(sp - t) < sizeof(name)) {
			snprintf(name, sizeof(name), "%.*s", (int)(sp - t), t);
			if (irc_caseeq(c->is.casemap, name, target)) {
				free(c->q[i].line);
				dropped++;
				continue;
			}
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
	(void)l;
	c->t_sendq = 0;
	pump_queue(c);
}

/* Drops the lines at the head of the queue that are for a member whose nick has passed to
 * someone else (one log line per reply, without its text). */
static void drop_head(struct irc *c)
{
	size_t n = 0;

	for (; n < c->qlen; n++) {
		const struct qline *q = &c->q[n];
		if (!q->bound || irc_track_holder_same(&c->track, &q->to))
			break;
		if (q->key != c->drop_key || q->round != c->drop_round) {
			c->drop_key = q->key;
			c->drop_round = q->round;
			hlog_info("irc", "%s: a private reply for %s was not sent: that nick no longer "
				  "belongs to the member it was for", c->net, q->to.nick);
		}
		free(q->line);
	}
	if (n) {
		c->qlen -= n;
		memmove(c->q, c->q + n, c->qlen * sizeof(*c->q));
	}
}

static void pump_queue(struct irc *c)
{
	uint64_t now = loop_now_ms();

	while (c->qlen && c->st == ST_READY) {
		char *line;
		drop_head(c);
		if (!c->qlen || !irc_bucket_take(&c->bucket, now))
			break;
		line = c->q[0].line;
		c->qround = c->q[0].round;
		c->qlen--;
		memmove(c->q, c->q + 1, c->qlen * sizeof(*c->q));
		send_now(c, line);
		free(line);
		if (c->st != ST_READY)
			return;
	}
	if (c->qlen && c->st == ST_READY && !c->t_sendq)
		c->t_sendq = loop_timer_add(c->app->loop, irc_bucket_wait_ms(&c->bucket, now),
					    on_sendq_timer, c);
}

static void sendf(struct irc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sendf(struct irc *c, const char *fmt, ...)
{
	struct hbuf b = HBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	hbuf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (!b.oom)
		queue_line(c, hbuf_str(&b));
	hbuf_free(&b);
}

struct say_ctx {
	struct irc *c;
	const char *verb;
	const char *target;
	uint32_t key;
	uint64_t round;
	const struct irc_holder *to;
};

static int say_line(void *ud, const char *line, size_t len)
{
	struct say_ctx *s = ud;
	struct hbuf b = HBUF_INIT;
	int rc;

	hbuf_printf(&b, "%s %s :%.*s", s->verb, s->target, (int)len, line);
	rc = b.oom ? HE_NOMEM : queue_at(s->c, hbuf_str(&b), s->key, s->round, s->to);
	hbuf_free(&b);
	return rc;
}

/* Sends plain text to a channel or nick, split to fit with Hearth's own prefix counted; all its
 * lines share one round of who (see struct qline). to: the member a private text is for. */
static int say_plain(struct irc *c, const char *verb, const char *target, const char *who,
		     const char *text, const struct irc_holder *to)
{
	struct say_ctx s = { c, verb, target, qkey(who), 0, to };
	/* unknown user@host: assume the longest usual (63 + 10 + 63 with the nick) */
	const char *user = c->user[0] ? c->user : "uuuuuuuuuu";
	char host63[64];
	size_t budget;

	memset(host63, 'h', 63);
	host63[63] = '\0';
	budget = irc_text_budget(c->is.linelen, c->nick[0] ? c->nick : host63, user,
				 c->host[0] ? c->host : host63, verb, target);
	if (c->st != ST_READY)
		return HE_AGAIN;
	s.round = queue_round(c, s.key);
	return irc_split_text(text, budget, say_line, &s);
}

static int say_markdown(struct irc *c, const char *target, const char *who, const char *md,
			const struct irc_holder *to)
{
	char *plain = NULL;
	int rc;

	if (md_to_plain(md, strlen(md), &plain) != HE_OK)
		plain = NULL;
	rc = say_plain(c, "PRIVMSG", target, who, plain ? plain : md, to);
	free(plain);
	return rc;
}

/* ---------------------------------------------------------------- connection lifecycle */

static void cancel_timer(struct irc *c, uint64_t *id)
{
	if (*id)
		loop_timer_cancel(c->app->loop, *id);
	*id = 0;
}

static void on_fd(struct loop *l, int fd, unsigned events, void *ud);
static void on_reconnect(struct loop *l, void *ud);

static void reset_session(struct irc *c)
{
	cancel_timer(c, &c->t_ping);
	cancel_timer(c, &c->t_reg);
	cancel_timer(c, &c->t_sasl);
	cancel_timer(c, &c->t_regain);
	cancel_timer(c, &c->t_sendq);
	queue_clear(c);
	hbuf_free(&c->in);
	c->discarding = false;
	irc_track_clear(&c->track);
	irc_isupport_init(&c->is);
	c->caps_offered = c->caps_on = c->caps_pending = 0;
	c->cap_ls_done = c->cap_end_sent = false;
	c->sasl_mechs[0] = '\0';
	c->sasl_started = c->sasl_done = false;
	c->nick_try = 0;
	c->user[0] = c->host[0] = '\0';
	c->ping_sent_ms = 0;
}

static void disconnect_lvl(struct irc *c, const char *why, bool retry, bool error)
{
	uint64_t delay;

	if (c->wfd >= 0)
		loop_del_fd(c->app->loop, c->wfd);
	c->wfd = -1;
	irc_conn_close(&c->conn);
	reset_session(c);
	c->st = ST_IDLE;
	if (!retry || c->stopping)
		return;
	/* capped exponential backoff with +-25% jitter */
	delay = BACKOFF_MIN_MS << (c->attempts < 7 ? c->attempts : 7);
	if (delay > BACKOFF_MAX_MS)
		delay = BACKOFF_MAX_MS;
	delay = delay * 3 / 4 + (uint64_t)(random() % (long)(delay / 2 + 1));
	c->attempts++;
	if (error)
		hlog_error("irc", "%s: %s; trying again in %.1f s", c->net, why, (double)delay / 1000.0);
	else
		hlog_warn("irc", "%s: %s; reconnecting in %.1f s", c->net, why, (double)delay / 1000.0);
	cancel_timer(c, &c->t_reconnect);
	c->t_reconnect = loop_timer_add(c->app->loop, delay, on_reconnect, c);
}

static void irc_disconnect(struct irc *c, const char *why, bool retry)
{
	disconnect_lvl(c, why, retry, false);
}

/* A failure a retry will not fix by itself (a certificate, a file, a password): an error. */
static void irc_refused(struct irc *c, const char *why)
{
	disconnect_lvl(c, why, true, true);
}

static void on_reg_timeout(struct loop *l, void *ud)
{
	struct irc *c = ud;
	(void)l;
	c->t_reg = 0;
	if (c->st != ST_READY)
		irc_disconnect(c, "registration did not finish in time", true);
}

static void connect_now(struct irc *c)
{
	int rc;

	reset_session(c);
	hlog_info("irc", "%s: connecting to %s port %d%s", c->net, c->cfg->host, c->cfg->port,
		  c->cfg->tls ? " with TLS" : " WITHOUT TLS");
	rc = irc_conn_open(&c->conn, c->cfg, c->err, sizeof(c->err));
	if (rc == HE_CRYPTO) {
		irc_refused(c, c->err);
		return;
	}
	if (rc != HE_OK && rc != HE_AGAIN) {
		irc_disconnect(c, c->err, true);
		return;
	}
	if (loop_add_fd(c->app->loop, c->conn.fd, irc_conn_events(&c->conn), on_fd, c)) {
		irc_disconnect(c, "cannot watch the socket", true);
		return;
	}
	c->wfd = c->conn.fd;
	c->st = ST_CONNECTING;
	c->last_rx_ms = loop_now_ms();
	c->t_reg = loop_timer_add(c->app->loop, REG_TIMEOUT_MS, on_reg_timeout, c);
}

static void on_reconnect(struct loop *l, void *ud)
{
	struct irc *c = ud;
	(void)l;
	c->t_reconnect = 0;
	connect_now(c);
}

static void begin_registration(struct irc *c)
{
	c->st = ST_REGISTERING;
	snprintf(c->nick, sizeof(c->nick), "%s", c->cfg->nick);
	send_now(c, "CAP LS 302");
	sendf(c, "NICK %s", c->nick);
	sendf(c, "USER %s 0 * :%s", c->cfg->username, c->cfg->realname);
}

/* ---------------------------------------------------------------- timers while connected */

static void on_ping_timer(struct loop *l, void *ud)
{
	struct irc *c = ud;
	uint64_t now = loop_now_ms();

	c->t_ping = loop_timer_add(l, c->ping_tick_ms, on_ping_timer, c);
	if (c->ping_sent_ms && now - c->ping_sent_ms > c->ping_deadline_ms) {
		char why[128];
		snprintf(why, sizeof(why), "no answer to PING (lag over %.1f s): the connection looks dead",
			 (double)c->ping_deadline_ms / 1000.0);
		irc_disconnect(c, why, true);
		return;
	}
	if (!c->ping_sent_ms && now - c->last_rx_ms > c->ping_idle_ms) {
		char line[64];
		snprintf(line, sizeof(line), "PING :hearth-%llu", (unsigned long long)now);
		irc_bucket_charge(&c->bucket, now);
		send_now(c, line);
		c->ping_sent_ms = now;
	}
}

static void on_regain_timer(struct loop *l, void *ud)
{
	struct irc *c = ud;

	c->t_regain = 0;
	if (c->st != ST_READY)
		return;
	if (!irc_caseeq(c->is.casemap, c->nick, c->cfg->nick)) {
		sendf(c, "NICK %s", c->cfg->nick);
		c->t_regain = loop_timer_add(l, REGAIN_MS, on_regain_timer, c);
	}
}

/* ---------------------------------------------------------------- CAP and SASL */

static void cap_end(struct irc *c)
{
	if (!c->cap_end_sent) {
		c->cap_end_sent = true;
		send_now(c, "CAP END");
	}
}

static bool sasl_wanted(const struct irc *c)
{
	return c->cfg->sasl_mechanism != NULL;
}

static void sasl_failed(struct irc *c, const char *why)
{
	cancel_timer(c, &c->t_sasl);
	c->sasl_done = true;
	if (c->cfg->sasl_required) {
		hlog_error("irc", "%s: SASL %s login as %s failed: %s", c->net, c->cfg->sasl_mechanism,
			   c->cfg->sasl_username ? c->cfg->sasl_username : "(certificate)", why);
		send_now(c, "QUIT :SASL failed");
		irc_refused(c, "not going on without logging in (sasl_required = true)");
		return;
	}
	hlog_warn("irc", "%s: SASL failed (%s); going on without logging in (sasl_required = false)",
		  c->net, why);
	cap_end(c);
}

static void on_sasl_timeout(struct loop *l, void *ud)
{
	struct irc *c = ud;
	(void)l;
	c->t_sasl = 0;
	if (!c->sasl_done) {
		char why[96];
		snprintf(why, sizeof(why), "no answer from services within %.1f s",
			 (double)c->sasl_timeout_ms / 1000.0);
		sasl_failed(c, why);
	}
}

static void sasl_begin(struct irc *c)
{
	const char *mech = c->cfg->sasl_mechanism;

	if (c->sasl_mechs[0]) {
		char list[sizeof(c->sasl_mechs) + 2], want[32];
		snprintf(list, sizeof(list), ",%s,", c->sasl_mechs);
		snprintf(want, sizeof(want), ",%s,", mech);
		if (!strcasestr(list, want)) {
			char why[200];
			snprintf(why, sizeof(why), "the server offers only %s", c->sasl_mechs);
			sasl_failed(c, why);
			return;
		}
	}
	c->sasl_started = true;
	sendf(c, "AUTHENTICATE %s", strcasecmp(mech, "EXTERNAL") == 0 ? "EXTERNAL" : "PLAIN");
	c->t_sasl = loop_timer_add(c->app->loop, c->sasl_timeout_ms, on_sasl_timeout, c);
}

static int emit_now(void *ud, const char *line, size_t len)
{
	char buf[420];
	snprintf(buf, sizeof(buf), "%.*s", (int)len, line);
	send_now(ud, buf);
	OPENSSL_cleanse(buf, sizeof(buf));
	return HE_OK;
}

static void sasl_continue(struct irc *c)
{
	char *b64;

	if (strcasecmp(c->cfg->sasl_mechanism, "EXTERNAL") == 0) {
		send_now(c, "AUTHENTICATE +");
		return;
	}
	b64 = irc_sasl_plain(c->cfg->sasl_username, c->cfg->sasl_password ? c->cfg->sasl_password : "");
	if (!b64) {
		sasl_failed(c, "out of memory");
		return;
	}
	irc_sasl_lines(b64, emit_now, c);
	OPENSSL_cleanse(b64, strlen(b64));
	free(b64);
}

static unsigned cap_bit(const char *name, size_t n)
{
	for (size_t i = 0; i < NWANTED; i++)
		if (strlen(wanted_caps[i].name) == n && strncmp(wanted_caps[i].name, name, n) == 0)
			return wanted_caps[i].bit;
	return 0;
}

/* Notes the caps in a LS/NEW list; returns the wanted ones. */
static unsigned caps_note(struct irc *c, const char *list)
{
	unsigned got = 0;

	for (const char *p = list; *p;) {
		size_t n = 0, k;
		unsigned bit;
		while (*p == ' ')
			p++;
		while (p[n] && p[n] != ' ')
			n++;
		if (!n)
			break;
		k = 0;
		while (k < n && p[k] != '=')
			k++;
		bit = cap_bit(p, k);
		if (bit == CAP_SASL) {
			if (!sasl_wanted(c))
				bit = 0;
			else if (k < n)
				snprintf(c->sasl_mechs, sizeof(c->sasl_mechs), "%.*s", (int)(n - k - 1), p + k + 1);
		}
		got |= bit;
		p += n;
	}
	c->caps_offered |= got;
	return got;
}

static void cap_request(struct irc *c, unsigned want)
{
	struct hbuf b = HBUF_INIT;

	want &= ~c->caps_on;
	if (!want)
		return;
	hbuf_puts(&b, "CAP REQ :");
	for (size_t i = 0; i < NWANTED; i++)
		if (want & wanted_caps[i].bit) {
			hbuf_puts(&b, wanted_caps[i].name);
			hbuf_putc(&b, ' ');
		}
	b.data[--b.len] = '\0';
	c->caps_pending |= want;
	queue_line(c, hbuf_str(&b));
	hbuf_free(&b);
}

static void after_caps(struct irc *c)
{
	if (c->caps_pending || c->cap_end_sent)
		return;
	if (sasl_wanted(c) && !c->sasl_done) {
		if (c->caps_on & CAP_SASL) {
			if (!c->sasl_started)
				sasl_begin(c);
			return;
		}
		if (c->cfg->sasl_required) {
			send_now(c, "QUIT :services not available");
			irc_disconnect(c, "the server does not offer SASL (yet): services may not be linked; "
				       "not going on unauthenticated (sasl_required = true)", true);
			return;
		}
		hlog_warn("irc", "%s: the server does not offer SASL; going on without logging in", c->net);
	}
	cap_end(c);
}

static void on_cap(struct irc *c, const struct irc_msg *m)
{
	const char *sub = irc_msg_param(m, 1);
	const char *list = m->nparams ? m->params[m->nparams - 1] : "";

	if (strcasecmp(sub, "LS") == 0) {
		bool more = m->nparams >= 4 && strcmp(m->params[2], "*") == 0;
		caps_note(c, list);
		if (more || c->cap_ls_done)
			return;
		c->cap_ls_done = true;
		cap_request(c, c->caps_offered);
		after_caps(c);
	} else if (strcasecmp(sub, "ACK") == 0 || strcasecmp(sub, "NAK") == 0) {
		bool ack = strcasecmp(sub, "ACK") == 0;
		for (const char *p = list; *p;) {
			size_t n = 0;
			bool off = false;
			unsigned bit;
			while (*p == ' ')
				p++;
			if (*p == '-') {
				off = true;
				p++;
			}
			while (p[n] && p[n] != ' ')
				n++;
			bit = cap_bit(p, n);
			c->caps_pending &= ~bit;
			if (ack && !off)
				c->caps_on |= bit;
			else
				c->caps_on &= ~bit;
			p += n;
		}
		if (!ack)
			c->caps_pending = 0;
		after_caps(c);
	} else if (strcasecmp(sub, "NEW") == 0) {
		unsigned got = caps_note(c, list);
		if (c->cap_ls_done)
			cap_request(c, got & ~CAP_SASL);   /* SASL after registration: not needed */
	} else if (strcasecmp(sub, "DEL") == 0) {
		for (const char *p = list; *p;) {
			size_t n = 0;
			while (*p == ' ')
				p++;
			while (p[n] && p[n] != ' ')
				n++;
			c->caps_on &= ~cap_bit(p, n);
			c->caps_offered &= ~cap_bit(p, n);
			p += n;
		}
	}
}

/* ---------------------------------------------------------------- registration */

static void try_next_nick(struct irc *c)
{
	c->nick_try++;
	if ((size_t)c->nick_try <= c->cfg->nalt_nicks) {
		snprintf(c->nick, sizeof(c->nick), "%s", c->cfg->alt_nicks[c->nick_try - 1]);
	} else {
		char base[IRC_NAME_MAX];
		size_t max = c->is.nicklen < sizeof(base) ? c->is.nicklen : sizeof(base) - 1;
		unsigned digits = ((unsigned)(c->nick_try - c->cfg->nalt_nicks) * 7u +
				   (unsigned)(random() % 90) + 10u) % 1000u;
		snprintf(base, sizeof(base), "%s", c->cfg->nick);
		if (strlen(base) + 3 > max)
			base[max > 3 ? max - 3 : 1] = '\0';
		/* The base leaves room for up to three digits. */
		snprintf(c->nick, sizeof(c->nick), "%.*s%u", (int)(sizeof(c->nick) - 4), base, digits);
	}
	hlog_warn("irc", "%s: nick in use, trying %s", c->net, c->nick);
}

static void join_channels(struct irc *c)
{
	for (size_t i = 0; i < c->cfg->nchannels; i++)
		sendf(c, "JOIN %s", c->cfg->channels[i]);
}

static void on_welcome(struct irc *c, const struct irc_msg *m)
{
	const char *text = m->nparams ? m->params[m->nparams - 1] : "";
	const char *last = strrchr(text, ' ');

	snprintf(c->nick, sizeof(c->nick), "%s", irc_msg_param(m, 0));
	/* "Welcome to the X Network, nick!user@host" */
	last = last ? last + 1 : text;
	if (strchr(last, '!') && strchr(last, '@')) {
		char n[IRC_NAME_MAX];
		irc_split_source(last, n, sizeof(n), c->user, sizeof(c->user), c->host, sizeof(c->host));
	}
	c->st = ST_READY;
	c->attempts = 0;
	cancel_timer(c, &c->t_reg);
	cancel_timer(c, &c->t_sasl);
	irc_bucket_init(&c->bucket, c->cfg->burst, c->cfg->rate, loop_now_ms());
	hlog_info("irc", "%s: registered as %s%s", c->net, c->nick,
		  c->sasl_done && (c->caps_on & CAP_SASL) ? " (logged in with SASL)" : "");
	c->t_ping = loop_timer_add(c->app->loop, c->ping_tick_ms, on_ping_timer, c);
	if (!irc_caseeq(c->is.casemap, c->nick, c->cfg->nick))
		c->t_regain = loop_timer_add(c->app->loop, REGAIN_MS, on_regain_timer, c);
}

static void after_motd(struct irc *c)
{
	/* learn our own user@host when 001 did not say it, then join */
	if (!c->host[0])
		sendf(c, "USERHOST %s", c->nick);
	join_channels(c);
}

static const char *config_channel_key(const struct irc *c, const char *chan, bool *found)
{
	*found = false;
	for (size_t i = 0; i < c->cfg->nchannels; i++) {
		const char *cfgc = c->cfg->channels[i], *sp = strchr(cfgc, ' ');
		size_t n = sp ? (size_t)(sp - cfgc) : strlen(cfgc);
		char name[IRC_NAME_MAX];
		snprintf(name, sizeof(name), "%.*s", (int)n, cfgc);
		if (irc_caseeq(c->is.casemap, name, chan)) {
			*found = true;
			return cfgc;
		}
	}
	return NULL;
}

/* ---------------------------------------------------------------- messages from members */

static bool is_me(const struct irc *c, const char *nick)
{
	return nick && irc_caseeq(c->is.casemap, nick, c->nick);
}

static bool account_is_moderator(const struct irc *c, const char *account)
{
	if (!account || !*account)
		return false;
	for (size_t i = 0; i < c->cfg->nmoderators; i++)
		if (irc_caseeq(c->is.casemap, c->cfg->moderators[i], account))
			return true;
	return false;
}

static void on_privmsg(struct irc *c, const struct irc_msg *m, const char *nick, bool notice)
{
	const char *target = irc_msg_param(m, 0), *raw = irc_msg_param(m, 1);
	const char *tag_account = (c->caps_on & CAP_ACCOUNT_TAG) ? irc_msg_tag(m, "account") : NULL;
	char verb[16], room[IRC_NAME_MAX], sender[IRC_NAME_MAX + 16], account[IRC_NAME_MAX];
	const char *args;
	size_t alen, len;
	char *text, *copy;
	bool priv = is_me(c, target);
	struct hmsg hm = { 0 };

	if (!nick[0] || is_me(c, nick) || (!priv && !irc_is_channel(&c->is, target)))
		return;
	if (irc_ctcp(raw, verb, sizeof(verb), &args, &alen)) {
		if (notice || !priv)
			return;                     /* ACTION and CTCP in channels are ignored */
		char line[160];
		line[0] = '\0';
		if (strcmp(verb, "VERSION") == 0)
			snprintf(line, sizeof(line), "NOTICE %s :\x01VERSION Hearth %s (peer-support bot)\x01",
				 nick, HEARTH_VERSION);
		else if (strcmp(verb, "PING") == 0 && alen <= 64 && !memchr(args, '\r', alen) &&
			 !memchr(args, '\n', alen))
			snprintf(line, sizeof(line), "NOTICE %s :\x01PING %.*s\x01", nick, (int)alen, args);
		if (line[0])
			queue_keyed(c, line, qkey(nick));   /* a CTCP flood waits its own turn */
		return;
	}
	if (notice)
		return;                             /* never answer a NOTICE (RFC 2812) */
	len = strlen(raw);
	copy = malloc(len + 1);
	if (!copy)
		return;
	memcpy(copy, raw, len + 1);
	len = irc_strip_format(copy, len);
	text = irc_to_utf8(copy, len);
	free(copy);
	if (!text)
		return;
	/* With account-tag the server marks every message of a logged-in member: no tag, no account
	 * (whatever we remembered for that nick) */
	if ((c->caps_on & CAP_ACCOUNT_TAG) && !tag_account)
		tag_account = "*";
	if (tag_account)
		irc_track_account(&c->track, nick, tag_account);
	snprintf(account, sizeof(account), "%s",
		 tag_account ? (strcmp(tag_account, "*") ? tag_account : "") : irc_track_account_of(&c->track, nick));
	if (account[0])
		snprintf(sender, sizeof(sender), "account:%s", account);
	else
		snprintf(sender, sizeof(sender), "nick:%s", nick);
	/* without a services account the sender is only a nick, which anyone can take next */
	hm.sender_transient = !account[0];
	irc_casefold(c->is.casemap, priv ? nick : target, room, sizeof(room));
	hm.network = c->net;
	hm.room = room;
	hm.sender = sender;
	hm.sender_name = nick;
	hm.text = text;
	hm.is_private = priv;
	hm.role = account_is_moderator(c, account) || (!priv && irc_track_is_op(&c->track, target, nick))
		  ? HROLE_MODERATOR : HROLE_MEMBER;
	hm.via = &c->t;
	happ_dispatch(c->app, &hm);
	free(text);
}

/* ---------------------------------------------------------------- dispatch of server lines */

static void handle(struct irc *c, const struct irc_msg *m)
{
	const char *v = m->verb;
	char nick[IRC_NAME_MAX], u[IRC_NAME_MAX], h[256];

	irc_split_source(m->source, nick, sizeof(nick), u, sizeof(u), h, sizeof(h));
	if (strcasecmp(v, "PING") == 0) {
		struct hbuf b = HBUF_INIT;
		const char *tok = irc_msg_param(m, 0);
		hbuf_printf(&b, "PONG :%s", tok);
		if (c->st == ST_READY)
			irc_bucket_charge(&c->bucket, loop_now_ms());
		send_now(c, hbuf_str(&b));
		hbuf_free(&b);
	} else if (strcasecmp(v, "PONG") == 0) {
		c->ping_sent_ms = 0;
	} else if (strcasecmp(v, "CAP") == 0) {
		on_cap(c, m);
	} else if (strcasecmp(v, "AUTHENTICATE") == 0) {
		if (c->sasl_started && strcmp(irc_msg_param(m, 0), "+") == 0)
			sasl_continue(c);
	} else if (strcmp(v, "900") == 0) {
		hlog_info("irc", "%s: logged in to services as %s", c->net, irc_msg_param(m, 2));
	} else if (strcmp(v, "903") == 0) {
		cancel_timer(c, &c->t_sasl);
		c->sasl_done = true;
		cap_end(c);
	} else if (strcmp(v, "908") == 0) {
		/* RPL_SASLMECHS: the mechanisms on offer; the 904 that follows is the failure */
		snprintf(c->sasl_mechs, sizeof(c->sasl_mechs), "%s", irc_msg_param(m, 1));
	} else if (strcmp(v, "904") == 0 || strcmp(v, "905") == 0 ||
		   strcmp(v, "902") == 0 || strcmp(v, "906") == 0) {
		if (!c->sasl_done) {
			char why[300];
			snprintf(why, sizeof(why), "%s %s", v, m->nparams ? m->params[m->nparams - 1] : "");
			sasl_failed(c, why);
		}
	} else if (strcmp(v, "001") == 0) {
		on_welcome(c, m);
	} else if (strcmp(v, "005") == 0) {
		irc_isupport_apply(&c->is, m);
	} else if (strcmp(v, "376") == 0 || strcmp(v, "422") == 0) {
		after_motd(c);
	} else if (strcmp(v, "302") == 0) {
		/* USERHOST: nick[*]=[+-]user@host */
		const char *r = irc_msg_param(m, 1), *eq = strchr(r, '=');
		if (eq && eq[1]) {
			char n[IRC_NAME_MAX];
			char uh[320];
			snprintf(uh, sizeof(uh), "x!%s", eq + 2);
			irc_split_source(uh, n, sizeof(n), c->user, sizeof(c->user), c->host, sizeof(c->host));
		}
	} else if (strcmp(v, "396") == 0) {
		snprintf(c->host, sizeof(c->host), "%s", irc_msg_param(m, 1));
	} else if (strcmp(v, "433") == 0 || strcmp(v, "432") == 0 || strcmp(v, "437") == 0) {
		if (c->st == ST_REGISTERING) {
			try_next_nick(c);
			sendf(c, "NICK %s", c->nick);
		}
	} else if (strcmp(v, "353") == 0) {
		const char *chan = irc_msg_param(m, 2), *list = irc_msg_param(m, 3);
		char entry[320];
		for (const char *p = list; *p;) {
			size_t n = 0;
			while (*p == ' ')
				p++;
			while (p[n] && p[n] != ' ')
				n++;
			if (n && n < sizeof(entry)) {
				memcpy(entry, p, n);
				entry[n] = '\0';
				irc_track_names_entry(&c->track, chan, entry);
			}
			p += n;
		}
	} else if (strcasecmp(v, "JOIN") == 0) {
		const char *chan = irc_msg_param(m, 0);
		const char *acct = (c->caps_on & CAP_EXTENDED_JOIN) && m->nparams >= 2 ? m->params[1] : NULL;
		if (is_me(c, nick)) {
			irc_track_chan_add(&c->track, chan);
			hlog_info("irc", "%s: joined %s", c->net, chan);
		}
		irc_track_join(&c->track, chan, nick, acct);
	} else if (strcasecmp(v, "PART") == 0) {
		if (is_me(c, nick)) {
			irc_track_chan_del(&c->track, irc_msg_param(m, 0));
			queue_drop_target(c, irc_msg_param(m, 0));
		} else
			irc_track_part(&c->track, irc_msg_param(m, 0), nick);
	} else if (strcasecmp(v, "KICK") == 0) {
		const char *chan = irc_msg_param(m, 0), *who = irc_msg_param(m, 1);
		if (is_me(c, who)) {
			/* A kick is a moderator's decision about Hearth's presence: stay out until
			 * invited back (or until the next connection joins the configured channels). */
			irc_track_chan_del(&c->track, chan);
			queue_drop_target(c, chan);
			hlog_warn("irc", "%s: kicked from %s by %s; staying out until invited back", c->net,
				  chan, nick);
		} else {
			irc_track_part(&c->track, chan, who);
		}
	} else if (strcasecmp(v, "QUIT") == 0) {
		irc_track_quit(&c->track, nick);
		if (irc_caseeq(c->is.casemap, nick, c->cfg->nick) && !is_me(c, nick) && c->st == ST_READY)
			sendf(c, "NICK %s", c->cfg->nick);
	} else if (strcasecmp(v, "NICK") == 0) {
		const char *to = irc_msg_param(m, 0);
		irc_track_nick(&c->track, nick, to);
		if (is_me(c, nick)) {
			snprintf(c->nick, sizeof(c->nick), "%s", to);
			hlog_info("irc", "%s: now known as %s", c->net, to);
		} else if (irc_caseeq(c->is.casemap, nick, c->cfg->nick) && c->st == ST_READY &&
			   !is_me(c, c->cfg->nick)) {
			sendf(c, "NICK %s", c->cfg->nick);   /* the holder let the main nick go */
		}
	} else if (strcasecmp(v, "MODE") == 0) {
		if (m->nparams >= 2 && irc_is_channel(&c->is, m->params[0]))
			irc_track_mode(&c->track, m->params[0], m->params[1], m->params + 2, m->nparams - 2);
	} else if (strcasecmp(v, "ACCOUNT") == 0) {
		irc_track_account(&c->track, nick, irc_msg_param(m, 0));
	} else if (strcasecmp(v, "INVITE") == 0) {
		bool found;
		const char *cfgc = config_channel_key(c, irc_msg_param(m, 1), &found);
		if (is_me(c, irc_msg_param(m, 0)) && found) {
			hlog_info("irc", "%s: invited to %s by %s", c->net, irc_msg_param(m, 1), nick);
			sendf(c, "JOIN %s", cfgc);
		}
	} else if (strcasecmp(v, "PRIVMSG") == 0 || strcasecmp(v, "NOTICE") == 0) {
		if (m->source && strchr(m->source, '!'))
			on_privmsg(c, m, nick, strcasecmp(v, "NOTICE") == 0);
	} else if (strcasecmp(v, "ERROR") == 0) {
		hlog_warn("irc", "%s: server says: %s", c->net, irc_msg_param(m, 0));
	} else if (strcmp(v, "471") == 0 || strcmp(v, "473") == 0 || strcmp(v, "474") == 0 ||
		   strcmp(v, "475") == 0 || strcmp(v, "403") == 0 || strcmp(v, "477") == 0) {
		hlog_warn("irc", "%s: cannot join %s: %s", c->net, irc_msg_param(m, 1),
			  m->nparams ? m->params[m->nparams - 1] : "");
	} else if (strcmp(v, "465") == 0 || strcmp(v, "464") == 0) {
		hlog_error("irc", "%s: the server refused us: %s", c->net,
			   m->nparams ? m->params[m->nparams - 1] : "");
	}
}

static void process_line(struct irc *c, const char *line, size_t len)
{
	int rc = irc_parse(line, len, c->is.linelen, c->msg);

	if (rc == HE_AGAIN)
		return;
	if (rc) {
		hlog_debug("irc", "%s: ignored a malformed line (%s)", c->net, he_str(rc));
		return;
	}
	log_raw(c, "<<", line, len);
	handle(c, c->msg);
}

static void read_input(struct irc *c)
{
	char buf[16384];

	for (int rounds = 0; rounds < 64 && c->conn.fd >= 0; rounds++) {
		size_t n = 0, start = 0;
		int rc = irc_conn_read(&c->conn, buf, sizeof(buf), &n, c->err, sizeof(c->err));

		if (rc == HE_AGAIN)
			return;
		if (rc) {
			irc_disconnect(c, c->err, true);
			return;
		}
		c->last_rx_ms = loop_now_ms();
		c->ping_sent_ms = 0;             /* any traffic proves the link is alive */
		for (size_t i = 0; i < n && c->conn.fd >= 0; i++) {
			if (buf[i] != '\n')
				continue;
			if (c->discarding) {
				c->discarding = false;
			} else if (c->in.len) {
				hbuf_append(&c->in, buf + start, i - start);
				process_line(c, c->in.data, c->in.len);
				hbuf_reset(&c->in);
			} else {
				process_line(c, buf + start, i - start);
			}
			start = i + 1;
		}
		if (c->conn.fd < 0)
			return;
		if (start < n && !c->discarding) {
			if (c->in.len + (n - start) > IRC_READ_MAX) {
				hlog_warn("irc", "%s: a line over %d bytes from the server was dropped", c->net,
					  IRC_READ_MAX);
				hbuf_reset(&c->in);
				c->discarding = true;
			} else {
				hbuf_append(&c->in, buf + start, n - start);
			}
		}
	}
}

static void on_fd(struct loop *l, int fd, unsigned events, void *ud)
{
	struct irc *c = ud;
	(void)l;
	(void)fd;
	(void)events;

	if (c->st == ST_CONNECTING) {
		unsigned gen = c->conn.gen;
		int rc = irc_conn_step(&c->conn, c->err, sizeof(c->err));
		if (gen != c->conn.gen) {
			/* the first address failed: watch the socket for the next one */
			if (c->wfd >= 0)
				loop_del_fd(c->app->loop, c->wfd);
			c->wfd = -1;
			if (c->conn.fd >= 0 && loop_add_fd(c->app->loop, c->conn.fd, irc_conn_events(&c->conn),
							   on_fd, c) == HE_OK)
				c->wfd = c->conn.fd;
		}
		if (rc == HE_AGAIN) {
			update_events(c);
			return;
		}
		if (rc == HE_CRYPTO) {
			irc_refused(c, c->err);
			return;
		}
		if (rc) {
			irc_disconnect(c, c->err, true);
			return;
		}
		begin_registration(c);
		if (c->conn.fd < 0)
			return;
	}
	read_input(c);
	if (c->conn.fd < 0)
		return;
	if (irc_conn_flush(&c->conn, c->err, sizeof(c->err)) == HE_IO) {
		irc_disconnect(c, c->err, true);
		return;
	}
	update_events(c);
}

/* ---------------------------------------------------------------- transport ops */

static int t_reply(struct htransport *t, const struct hmsg *in, enum hdest dest, const char *md)
{
	struct irc *c = t->impl;
	char chan[IRC_NAME_MAX];
	struct irc_holder to;

	if (in->is_private || dest == HDEST_PRIVATE) {
		/* bound to the member who wrote: dropped if the nick passes to someone else first */
		irc_track_holder(&c->track, in->sender_name,
				 strncmp(in->sender, "account:", 8) == 0 ? in->sender + 8 : "", &to);
		return say_markdown(c, in->sender_name, in->sender, md, &to);
	}
	snprintf(chan, sizeof(chan), "%s", in->room);
	if (!irc_track_in_chan(&c->track, chan)) {
		/* kicked or parted since the member wrote: the server would refuse it anyway */
		hlog_info("irc", "%s: not in %s any more; a reply was dropped", c->net, chan);
		return HE_NOTFOUND;
	}
	return say_markdown(c, chan, in->sender, md, NULL);
}

static int t_post(struct htransport *t, const char *room, const char *md)
{
	struct irc *c = t->impl;

	if (!irc_track_in_chan(&c->track, room))
		return HE_NOTFOUND;
	return say_markdown(c, room, room, md, NULL);
}

static int t_post_private(struct htransport *t, const char *member, const char *md)
{
	struct irc *c = t->impl;
	const char *nick = NULL;
	struct irc_holder to;

	/* Only to a services account: whoever holds a bare nick now may not be who it was. */
	if (strncmp(member, "account:", 8) == 0)
		nick = irc_track_nick_of_account(&c->track, member + 8);
	if (!nick)
		return HE_NOTFOUND;   /* not online in our channels (or a bare nick): skipped */
	irc_track_holder(&c->track, nick, member + 8, &to);
	return say_markdown(c, nick, member, md, &to);
}

static void t_shutdown(struct htransport *t)
{
	struct irc *c = t->impl;

	c->stopping = true;
	cancel_timer(c, &c->t_reconnect);
	if (c->st == ST_READY || c->st == ST_REGISTERING) {
		send_now(c, "QUIT :Hearth is going offline for now. Take care.");
		for (int i = 0; i < 20 && c->conn.out.len; i++)
			if (irc_conn_flush(&c->conn, c->err, sizeof(c->err)) != HE_AGAIN)
				break;
	}
	irc_disconnect(c, "shutting down", false);
}

static void t_free(struct htransport *t)
{
	struct irc *c;

	if (!t)
		return;
	c = t->impl;
	if (c->conn.fd >= 0 || c->t_reconnect) {
		c->stopping = true;
		cancel_timer(c, &c->t_reconnect);
		irc_disconnect(c, "freed", false);
	}
	irc_conn_close(&c->conn);
	reset_session(c);
	free(c->q);
	free(c->msg);
	free(c);
}

static const struct htransport_ops irc_ops = {
	.reply = t_reply,
	.post = t_post,
	.post_private = t_post_private,
	.send_file = NULL,
	.shutdown = t_shutdown,
	.free = t_free,
};

/* A timing shortened for tests through the environment (never lengthened, at least 200 ms). */
static uint64_t test_ms(const char *var, uint64_t def)
{
	const char *v = getenv(var);
	char *end;
	unsigned long long n;

	if (!v || !*v)
		return def;
	n = strtoull(v, &end, 10);
	if (*end || n < 200 || n > def) {
		hlog_warn("irc", "%s=%s ignored (200 to %llu milliseconds)", var, v, (unsigned long long)def);
		return def;
	}
	hlog_warn("irc", "%s=%llu: a timing for tests, not for a real network", var, n);
	return n;
}

static int irc_new(struct happ *app, const struct config_irc *cfg, struct irc **out)
{
	struct irc *c = calloc(1, sizeof(*c));

	if (!c || !(c->msg = malloc(sizeof(*c->msg)))) {
		free(c);
		return HE_NOMEM;
	}
	c->app = app;
	c->cfg = cfg;
	snprintf(c->net, sizeof(c->net), "irc.%s", cfg->name);
	snprintf(c->t.name, sizeof(c->t.name), "%s", c->net);
	c->t.ops = &irc_ops;
	c->t.impl = c;
	irc_conn_init(&c->conn);
	c->wfd = -1;
	irc_isupport_init(&c->is);
	irc_track_init(&c->track, &c->is);
	c->ping_idle_ms = test_ms("HEARTH_IRC_TEST_PING_IDLE_MS", PING_IDLE_MS);
	c->ping_deadline_ms = test_ms("HEARTH_IRC_TEST_PING_DEADLINE_MS", PING_DEADLINE_MS);
	c->sasl_timeout_ms = test_ms("HEARTH_IRC_TEST_SASL_TIMEOUT_MS", SASL_TIMEOUT_MS);
	c->ping_tick_ms = PING_TICK_MS;
	if (c->ping_tick_ms > c->ping_deadline_ms / 4)
		c->ping_tick_ms = c->ping_deadline_ms / 4;
	if (c->ping_tick_ms > c->ping_idle_ms / 4)
		c->ping_tick_ms = c->ping_idle_ms / 4;
	*out = c;
	return HE_OK;
}

int irc_start(struct happ *app)
{
	srandom((unsigned)loop_now_ms());
	for (size_t i = 0; i < app->cfg->nirc; i++) {
		const struct config_irc *cfg = &app->cfg->irc[i];
		struct irc *c;
		int rc;

		if (cfg->tls && !cfg->tls_verify)
			hlog_warn("irc", "irc.%s: tls_verify = false: the server's certificate is NOT checked, "
				  "anyone on the path can read and change this connection", cfg->name);
		if (!cfg->tls)
			hlog_warn("irc", "irc.%s: tls = false: messages (and the SASL password) travel unencrypted",
				  cfg->name);
		if ((rc = irc_new(app, cfg, &c)))
			return rc;
		if ((rc = happ_add_transport(app, &c->t))) {
			t_free(&c->t);
			return rc;
		}
		connect_now(c);
	}
	return HE_OK;
}
