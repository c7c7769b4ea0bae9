/* irc.c - the IRC transport's connection: connect (each address in turn, TLS), read lines with a
 * cap, the lag check, reconnect with capped exponential backoff and jitter, the transport ops,
 * and irc_start(). The send queue is in sendq.c, registration (CAP, SASL, nick) in reg.c, the
 * handlers of incoming lines in dispatch.c; see irc_int.h. */
#include "core/metrics.h"
#include "net/irc/irc_int.h"
#include "net/irc/owed.h"
#include "core/err.h"
#include "core/log.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Timings. The first four can be shortened for tests only, through the environment
 * (HEARTH_IRC_TEST_PING_IDLE_MS, HEARTH_IRC_TEST_PING_DEADLINE_MS, HEARTH_IRC_TEST_SASL_TIMEOUT_MS,
 * HEARTH_IRC_TEST_SASL_RELIST_MS, milliseconds, 200 to the default); they are not config keys on
 * purpose. */
#define PING_IDLE_MS 60000        /* our own PING after this much silence */
#define PING_DEADLINE_MS 30000    /* no answer within this: the connection is dead */
#define SASL_TIMEOUT_MS 20000
#define SASL_RELIST_MS 60000      /* registered without SASL (services away): CAP LS this often */
#define PING_TICK_MS 5000         /* how often the lag check runs (at most) */
#define REG_TIMEOUT_MS 60000      /* registration must finish within this */
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 120000

void irc_log_raw(const struct irc *c, const char *dir, const char *line, size_t len)
{
	char shown[1024];

	if (hlog_get_level() < HLOG_DEBUG)
		return;
	irc_log_line(line, len, shown, sizeof(shown));
	hlog_debug("irc", "%s %s %s", c->net, dir, shown);
}

void irc_update_events(struct irc *c)
{
	if (c->conn.fd >= 0 && c->wfd == c->conn.fd)
		loop_mod_fd(c->app->loop, c->conn.fd, irc_conn_events(&c->conn));
}

void irc_cancel_timer(struct irc *c, uint64_t *id)
{
	if (*id)
		loop_timer_cancel(c->app->loop, *id);
	*id = 0;
}

/* ---------------------------------------------------------------- connection lifecycle */

static void on_fd(struct loop *l, int fd, unsigned events, void *ud);
static void on_reconnect(struct loop *l, void *ud);

static void reset_session(struct irc *c)
{
	irc_cancel_timer(c, &c->t_ping);
	irc_cancel_timer(c, &c->t_reg);
	irc_cancel_timer(c, &c->t_sasl);
	irc_cancel_timer(c, &c->t_regain);
	irc_cancel_timer(c, &c->t_sendq);
	irc_sendq_clear(c);
	irc_owed_reset(c);
	hlines_free(&c->in);
	irc_track_clear(&c->track);
	irc_isupport_init(&c->is);
	c->caps_offered = c->caps_on = c->caps_pending = 0;
	c->cap_ls_done = c->cap_end_sent = false;
	c->sasl_mechs[0] = '\0';
	c->sasl_started = c->sasl_done = c->sasl_ok = c->cap_relist = false;
	c->sasl_relist_ms = 0;
	c->sasl_step = 0;
	c->sasl_in.len = 0;
	c->sts_upgrade = false;
	irc_scram_free(&c->scram);
	c->nick_try = 0;
	c->nick_erroneous = c->regain_off = c->monitoring = false;
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
	c->st = IRC_ST_IDLE;
	metrics_net_up(c->net, false);
	if (!retry || c->stopping)
		return;
	/* capped exponential backoff with +-25% jitter */
	delay = BACKOFF_MIN_MS << (c->attempts < 7 ? c->attempts : 7);
	if (delay > BACKOFF_MAX_MS)
		delay = BACKOFF_MAX_MS;
	delay = delay * 3 / 4 + randombytes_uniform((uint32_t)(delay / 2 + 1));
	c->attempts++;
	metrics_irc_reconnect(c->net);
	if (error)
		hlog_error("irc", "%s: %s; trying again in %.1f s", c->net, why, (double)delay / 1000.0);
	else
		hlog_warn("irc", "%s: %s; reconnecting in %.1f s", c->net, why, (double)delay / 1000.0);
	irc_cancel_timer(c, &c->t_reconnect);
	int rc = loop_timer_add(c->app->loop, delay, on_reconnect, c, &c->t_reconnect);
	if (rc)
		happ_fail(c->app, "irc", "cannot arm the reconnect timer", rc);
}

void irc_disconnect(struct irc *c, const char *why, bool retry)
{
	disconnect_lvl(c, why, retry, false);
}

void irc_refused(struct irc *c, const char *why)
{
	disconnect_lvl(c, why, true, true);
}

static void on_reg_timeout(struct loop *l, void *ud)
{
	struct irc *c = ud;

	c->t_reg = 0;
	if (c->st != IRC_ST_READY)
		irc_disconnect(c, "registration did not finish in time", true);
}

static void connect_now(struct irc *c)
{
	int rc;

	int port = c->cfg->port, p;
	bool sts = false;

	reset_session(c);
	if (c->sts_port > 0) {
		port = c->sts_port;
		sts = true;
	} else if (!c->cfg->tls && irc_sts_policy(c, &p)) {
		port = c->sts_port = p;
		sts = true;
		hlog_info("irc", "%s: an STS policy holds for %s: connecting with TLS to port %d, never in "
			  "plain text (tls = false is overridden)", c->net, c->cfg->host, port);
	}
	hlog_info("irc", "%s: connecting to %s port %d%s", c->net, c->cfg->host, port,
		  c->cfg->tls || sts ? " with TLS" : " WITHOUT TLS");
	rc = irc_conn_open(&c->conn, c->cfg, port, c->cfg->tls, sts, c->err, sizeof(c->err));
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
	c->st = IRC_ST_CONNECTING;
	c->last_rx_ms = loop_now_ms();
	if (loop_timer_add(c->app->loop, REG_TIMEOUT_MS, on_reg_timeout, c, &c->t_reg))
		hlog_warn("irc", "%s: no registration timeout (out of memory); the PING check still "
			  "notices a dead connection", c->net);
}

static void on_reconnect(struct loop *l, void *ud)
{
	struct irc *c = ud;

	c->t_reconnect = 0;
	connect_now(c);
}

void irc_reconnect_now(struct irc *c, const char *why)
{
	int rc;

	hlog_info("irc", "%s: %s", c->net, why);
	disconnect_lvl(c, why, false, false);
	irc_cancel_timer(c, &c->t_reconnect);
	if ((rc = loop_timer_add(c->app->loop, 0, on_reconnect, c, &c->t_reconnect)))
		happ_fail(c->app, "irc", "cannot arm the reconnect timer", rc);
}

/* ---------------------------------------------------------------- the lag check */

static void on_ping_timer(struct loop *l, void *ud)
{
	struct irc *c = ud;
	uint64_t now = loop_now_ms();
	int rc = loop_timer_add(l, c->ping_tick_ms, on_ping_timer, c, &c->t_ping);

	if (rc) {
		happ_fail(c->app, "irc", "cannot re-arm the PING check", rc);
		return;
	}
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
		irc_sendq_now(c, line);
		c->ping_sent_ms = now;
	}
	irc_reg_relist_caps(c, now);
}

void irc_ready(struct irc *c)
{
	c->st = IRC_ST_READY;
	c->attempts = 0;
	irc_cancel_timer(c, &c->t_reg);
	irc_cancel_timer(c, &c->t_sasl);
	irc_bucket_init(&c->bucket, c->cfg->burst, c->cfg->rate, loop_now_ms());
	int rc = loop_timer_add(c->app->loop, c->ping_tick_ms, on_ping_timer, c, &c->t_ping);
	if (rc)
		happ_fail(c->app, "irc", "cannot arm the PING check", rc);
}

/* ---------------------------------------------------------------- input */

/* One line from the server; stops the reader once the connection is gone. */
static int on_line(void *ud, const char *line, size_t len)
{
	struct irc *c = ud;

	if (!line)
		hlog_warn("irc", "%s: a line of %zu bytes from the server was dropped (the most is %d)",
			  c->net, len, IRC_READ_MAX);
	else
		irc_in_line(c, line, len);
	return c->conn.fd < 0 ? HE_IO : HE_OK;
}

static void read_input(struct irc *c)
{
	char buf[16384];

	for (int rounds = 0; rounds < 64 && c->conn.fd >= 0; rounds++) {
		size_t n = 0;
		int rc = irc_conn_read(&c->conn, buf, sizeof(buf), &n, c->err, sizeof(c->err));

		if (rc == HE_AGAIN)
			return;
		if (rc) {
			irc_disconnect(c, c->err, true);
			return;
		}
		c->last_rx_ms = loop_now_ms();
		c->ping_sent_ms = 0;             /* any traffic proves the link is alive */
		if (hlines_feed(&c->in, buf, n, on_line, c) || c->conn.fd < 0)
			return;
	}
}

static void on_fd(struct loop *l, int fd, unsigned events, void *ud)
{
	struct irc *c = ud;

	if (c->st == IRC_ST_CONNECTING) {
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
			irc_update_events(c);
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
		irc_reg_begin(c);
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
	irc_update_events(c);
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
		return irc_sendq_markdown(c, in->sender_name, in->sender, md, &to,
					  in->is_private ? in->msgid : NULL);
	}
	snprintf(chan, sizeof(chan), "%s", in->room);
	if (!irc_track_in_chan(&c->track, chan)) {
		/* kicked or parted since the member wrote: the server would refuse it anyway */
		hlog_info("irc", "%s: not in %s any more; a reply was dropped", c->net, chan);
		return HE_NOTFOUND;
	}
	return irc_sendq_markdown(c, chan, in->sender, md, NULL, in->msgid);
}

static int t_post(struct htransport *t, const char *room, const char *md)
{
	struct irc *c = t->impl;

	if (!irc_track_in_chan(&c->track, room))
		return HE_NOTFOUND;
	return irc_sendq_markdown(c, room, room, md, NULL, NULL);
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
	return irc_sendq_markdown(c, nick, member, md, &to, NULL);
}

static void t_shutdown(struct htransport *t)
{
	struct irc *c = t->impl;

	c->stopping = true;
	irc_cancel_timer(c, &c->t_reconnect);
	if (c->st == IRC_ST_READY || c->st == IRC_ST_REGISTERING) {
		irc_sendq_now(c, "QUIT :Hearth is going offline for now. Take care.");
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
		irc_cancel_timer(c, &c->t_reconnect);
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
	.greet = irc_greet,
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
	hlines_init(&c->in, IRC_READ_MAX + 1);   /* + the '\r' */
	c->wfd = -1;
	irc_isupport_init(&c->is);
	irc_track_init(&c->track, &c->is);
	c->ping_idle_ms = test_ms("HEARTH_IRC_TEST_PING_IDLE_MS", PING_IDLE_MS);
	c->ping_deadline_ms = test_ms("HEARTH_IRC_TEST_PING_DEADLINE_MS", PING_DEADLINE_MS);
	c->sasl_timeout_ms = test_ms("HEARTH_IRC_TEST_SASL_TIMEOUT_MS", SASL_TIMEOUT_MS);
	c->sasl_relist_every_ms = test_ms("HEARTH_IRC_TEST_SASL_RELIST_MS", SASL_RELIST_MS);
	c->ping_tick_ms = PING_TICK_MS;
	if (c->ping_tick_ms > c->ping_deadline_ms / 4)
		c->ping_tick_ms = c->ping_deadline_ms / 4;
	if (c->ping_tick_ms > c->ping_idle_ms / 4)
		c->ping_tick_ms = c->ping_idle_ms / 4;
	if (c->ping_tick_ms > c->sasl_relist_every_ms / 4)
		c->ping_tick_ms = c->sasl_relist_every_ms / 4;
	*out = c;
	return HE_OK;
}

int irc_start(struct happ *app)
{
	for (size_t i = 0; i < app->cfg->nirc; i++) {
		int rc = irc_start_net(app, i);

		if (rc)
			return rc;
	}
	return HE_OK;
}

int irc_start_net(struct happ *app, size_t i)
{
	const struct config_irc *cfg;
	struct irc *c;
	int rc;

	if (i >= app->cfg->nirc)
		return HE_INVAL;
	cfg = &app->cfg->irc[i];
	if (cfg->tls && !cfg->tls_verify)
		hlog_warn("irc", "irc.%s: tls_verify = false: the server's certificate is NOT checked, "
			  "anyone on the path can read and change this connection", cfg->name);
	if (!cfg->tls)
		hlog_warn("irc", "irc.%s: tls = false: messages (and the SASL password) travel unencrypted",
			  cfg->name);
	if (app->store && ((rc = irc_owed_migrate(app->store)) ||
			   (rc = irc_owed_prune(app->store, (int64_t)time(NULL))))) {
		hlog_error("irc", "irc.%s: cannot set up the table of owed channel commands", cfg->name);
		return rc;
	}
	if ((rc = irc_new(app, cfg, &c)))
		return rc;
	if ((rc = happ_add_transport(app, &c->t))) {
		t_free(&c->t);
		return rc;
	}
	connect_now(c);
	return HE_OK;
}
