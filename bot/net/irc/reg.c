/* reg.c - IRC registration: CAP LS 302 / REQ / ACK / NAK / NEW / DEL, SASL PLAIN, EXTERNAL,
 * SCRAM-SHA-256/512 and ECDSA-NIST256P-CHALLENGE (sasl.c; with its timeout and sasl_required), NICK and USER, the nick fallback while registering and
 * the regain of the main nick afterwards, 001, our own user@host, and joining the configured
 * channels after the MOTD. */
#include "core/metrics.h"
#include "net/irc/irc_int.h"
#include "core/err.h"
#include "core/log.h"

#include <openssl/crypto.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REGAIN_MS 60000           /* try to take the main nick back this often */

static const struct { const char *name; unsigned bit; } wanted_caps[] = {
	{ "sasl", IRC_CAP_SASL }, { "message-tags", IRC_CAP_TAGS }, { "server-time", IRC_CAP_TIME },
	{ "account-tag", IRC_CAP_ACCOUNT_TAG }, { "multi-prefix", IRC_CAP_MULTI_PREFIX },
	{ "extended-join", IRC_CAP_EXTENDED_JOIN }, { "account-notify", IRC_CAP_ACCOUNT_NOTIFY },
	{ "cap-notify", IRC_CAP_CAP_NOTIFY }, { "chghost", IRC_CAP_CHGHOST },
	{ "setname", IRC_CAP_SETNAME }, { "echo-message", IRC_CAP_ECHO }, { "batch", IRC_CAP_BATCH },
};
#define NWANTED (sizeof(wanted_caps) / sizeof(wanted_caps[0]))

void irc_reg_begin(struct irc *c)
{
	c->st = IRC_ST_REGISTERING;
	snprintf(c->nick, sizeof(c->nick), "%s", c->cfg->nick);
	if (c->cfg->server_password && *c->cfg->server_password)
		irc_sendq_printf(c, "PASS :%s", c->cfg->server_password);   /* logged as "PASS (hidden)" */
	irc_sendq_now(c, "CAP LS 302");
	irc_sendq_printf(c, "NICK %s", c->nick);
	irc_sendq_printf(c, "USER %s 0 * :%s", c->cfg->username, c->cfg->realname);
}

static void on_regain_timer(struct loop *l, void *ud)
{
	struct irc *c = ud;

	c->t_regain = 0;
	if (c->st != IRC_ST_READY || c->regain_off)
		return;
	if (!irc_caseeq(c->is.casemap, c->nick, c->cfg->nick)) {
		irc_sendq_printf(c, "NICK %s", c->cfg->nick);
		if (loop_timer_add(l, REGAIN_MS, on_regain_timer, c, &c->t_regain))
			hlog_warn("irc", "%s: cannot arm the nick regain timer (out of memory)", c->net);
	}
}

/* ---------------------------------------------------------------- CAP and SASL */

static void cap_end(struct irc *c)
{
	if (!c->cap_end_sent) {
		c->cap_end_sent = true;
		irc_sendq_now(c, "CAP END");
	}
}

static bool sasl_wanted(const struct irc *c)
{
	return c->cfg->sasl_mechanism != NULL;
}

enum { MECH_PLAIN, MECH_EXTERNAL, MECH_SCRAM256, MECH_SCRAM512, MECH_ECDSA };

static int mech_of(const char *m)
{
	if (strcasecmp(m, "EXTERNAL") == 0)
		return MECH_EXTERNAL;
	if (strcasecmp(m, "SCRAM-SHA-256") == 0)
		return MECH_SCRAM256;
	if (strcasecmp(m, "SCRAM-SHA-512") == 0)
		return MECH_SCRAM512;
	if (strcasecmp(m, "ECDSA-NIST256P-CHALLENGE") == 0)
		return MECH_ECDSA;
	return MECH_PLAIN;
}

static const char *const mech_names[] = { "PLAIN", "EXTERNAL", "SCRAM-SHA-256", "SCRAM-SHA-512",
					   "ECDSA-NIST256P-CHALLENGE" };

static void sasl_failed(struct irc *c, const char *why)
{
	irc_cancel_timer(c, &c->t_sasl);
	c->sasl_done = true;
	if (c->cfg->sasl_required) {
		hlog_error("irc", "%s: SASL %s login as %s failed: %s", c->net, c->cfg->sasl_mechanism,
			   c->cfg->sasl_username ? c->cfg->sasl_username : "(certificate)", why);
		irc_sendq_now(c, "QUIT :SASL failed");
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
	c->sasl_step = 0;
	c->sasl_in.len = 0;
	irc_sendq_printf(c, "AUTHENTICATE %s", mech_names[mech_of(mech)]);
	if (loop_timer_add(c->app->loop, c->sasl_timeout_ms, on_sasl_timeout, c, &c->t_sasl))
		hlog_warn("irc", "%s: no SASL timeout (out of memory); the registration timeout still "
			  "applies", c->net);
}

static int emit_now(void *ud, const char *line, size_t len)
{
	char buf[420];
	snprintf(buf, sizeof(buf), "%.*s", (int)len, line);
	irc_sendq_now(ud, buf);
	OPENSSL_cleanse(buf, sizeof(buf));
	return HE_OK;
}

/* Sends len bytes as one SASL message (base64, in 400-byte chunks); wipes the copy. */
static int sasl_send(struct irc *c, const void *data, size_t len)
{
	char *b64 = irc_b64(data, len);

	if (!b64)
		return HE_NOMEM;
	irc_sasl_lines(len ? b64 : "", emit_now, c);
	OPENSSL_cleanse(b64, strlen(b64));
	free(b64);
	return HE_OK;
}

/* Gives up on this exchange: tells the server (AUTHENTICATE *), then fails as sasl_failed()
 * does. A server that cannot prove it knows the password is refused whatever sasl_required says:
 * it may be an impostor, and going on would talk to it. */
static void sasl_abort(struct irc *c, const char *why, bool impostor)
{
	irc_sendq_now(c, "AUTHENTICATE *");
	irc_scram_free(&c->scram);
	if (impostor) {
		char msg[400];
		irc_cancel_timer(c, &c->t_sasl);
		c->sasl_done = true;
		snprintf(msg, sizeof(msg), "SASL %s login refused: %s", c->cfg->sasl_mechanism, why);
		irc_sendq_now(c, "QUIT :SASL failed");
		irc_refused(c, msg);
		return;
	}
	sasl_failed(c, why);
}

/* One complete server message (msg of len bytes, len 0 for "+") in the exchange. */
static void sasl_step(struct irc *c, const unsigned char *msg, size_t len)
{
	const struct config_irc *cfg = c->cfg;
	int mech = mech_of(cfg->sasl_mechanism), step = c->sasl_step++, rc;
	char err[200] = "", *out = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;

	switch (mech) {
	case MECH_EXTERNAL:
		if (step == 0 && len == 0) {
			irc_sendq_now(c, "AUTHENTICATE +");
			return;
		}
		break;
	case MECH_PLAIN:
		if (step == 0 && len == 0) {
			out = irc_sasl_plain(cfg->sasl_username, cfg->sasl_password ? cfg->sasl_password : "");
			if (!out) {
				sasl_abort(c, "out of memory", false);
				return;
			}
			irc_sasl_lines(out, emit_now, c);
			OPENSSL_cleanse(out, strlen(out));
			free(out);
			return;
		}
		break;
	case MECH_SCRAM256:
	case MECH_SCRAM512:
		if (step == 0 && len == 0) {
			rc = irc_scram_start(&c->scram, mech == MECH_SCRAM512 ? 512 : 256, cfg->sasl_username, &out);
			if (rc == HE_OK)
				rc = sasl_send(c, out, strlen(out));
			free(out);
			if (rc)
				sasl_abort(c, "out of memory", false);
			return;
		}
		if (step == 1) {
			rc = irc_scram_server_first(&c->scram, cfg->sasl_password ? cfg->sasl_password : "", msg, len,
						    &out, err, sizeof(err));
			if (rc == HE_OK)
				rc = sasl_send(c, out, strlen(out));
			if (out) {
				OPENSSL_cleanse(out, strlen(out));
				free(out);
			}
			if (rc)
				sasl_abort(c, *err ? err : "out of memory", false);
			return;
		}
		if (step == 2) {
			rc = irc_scram_server_final(&c->scram, msg, len, err, sizeof(err));
			if (rc == HE_OK) {
				irc_sendq_now(c, "AUTHENTICATE +");
				return;
			}
			sasl_abort(c, err, rc == HE_CRYPTO || rc == HE_PROTO);
			return;
		}
		break;
	case MECH_ECDSA:
		if (step == 0 && len == 0) {
			if (sasl_send(c, cfg->sasl_username, strlen(cfg->sasl_username)))
				sasl_abort(c, "out of memory", false);
			return;
		}
		if (step == 1) {
			rc = irc_ecdsa_sign_file(cfg->sasl_key_file, msg, len, &sig, &siglen, err, sizeof(err));
			if (rc == HE_OK)
				rc = sasl_send(c, sig, siglen);
			free(sig);
			if (rc)
				sasl_abort(c, *err ? err : "out of memory", false);
			return;
		}
		break;
	}
	snprintf(err, sizeof(err), "the server sent an unexpected %s message (step %d)", mech_names[mech], step + 1);
	sasl_abort(c, err, false);
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
	const char *p = list, *w;
	size_t n;

	while ((w = irc_next_word(&p, &n)), n) {
		size_t k = 0;
		unsigned bit;
		while (k < n && w[k] != '=')
			k++;
		bit = cap_bit(w, k);
		if (k == 3 && strncmp(w, "sts", 3) == 0)
			irc_sts_on_cap(c, k < n ? w + k + 1 : "", k < n ? n - k - 1 : 0);
		if (bit == IRC_CAP_SASL) {
			if (!sasl_wanted(c))
				bit = 0;
			else if (k < n)
				snprintf(c->sasl_mechs, sizeof(c->sasl_mechs), "%.*s", (int)(n - k - 1), w + k + 1);
		}
		got |= bit;
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
	irc_sendq_line(c, hbuf_str(&b));
	hbuf_free(&b);
}

static void after_caps(struct irc *c)
{
	if (c->caps_pending || c->cap_end_sent)
		return;
	if (sasl_wanted(c) && !c->sasl_done) {
		if (c->caps_on & IRC_CAP_SASL) {
			if (!c->sasl_started)
				sasl_begin(c);
			return;
		}
		if (c->cfg->sasl_required) {
			irc_sendq_now(c, "QUIT :services not available");
			irc_disconnect(c, "the server does not offer SASL (yet): services may not be linked; "
				       "not going on unauthenticated (sasl_required = true)", true);
			return;
		}
		hlog_warn("irc", "%s: the server does not offer SASL; going on without logging in", c->net);
	}
	cap_end(c);
}

void irc_reg_on_cap(struct irc *c, const struct irc_msg *m, const char *nick)
{
	const char *sub = irc_msg_param(m, 1);
	const char *list = irc_msg_last(m);

	if (strcasecmp(sub, "LS") == 0) {
		bool more = m->nparams >= 4 && strcmp(m->params[2], "*") == 0;
		caps_note(c, list);
		if (c->sts_upgrade) {
			irc_reconnect_now(c, "STS: leaving the plain-text connection for TLS");
			return;
		}
		if (more)
			return;
		if (c->cap_ls_done) {
			/* our own re-ask after registration: services that linked since (InspIRCd
			 * announces that with no CAP NEW) make sasl appear here; the ACK logs in */
			if (c->cap_relist && (c->caps_offered & IRC_CAP_SASL) && c->st == IRC_ST_READY &&
			    !c->sasl_ok && !c->sasl_done)
				cap_request(c, IRC_CAP_SASL);
			c->cap_relist = false;
			return;
		}
		c->cap_ls_done = true;
		cap_request(c, c->caps_offered);
		after_caps(c);
	} else if (strcasecmp(sub, "ACK") == 0 || strcasecmp(sub, "NAK") == 0) {
		bool ack = strcasecmp(sub, "ACK") == 0;
		const char *p = list, *w;
		size_t n;
		while ((w = irc_next_word(&p, &n)), n) {
			bool off = w[0] == '-';
			unsigned bit = off ? cap_bit(w + 1, n - 1) : cap_bit(w, n);
			c->caps_pending &= ~bit;
			if (ack && !off)
				c->caps_on |= bit;
			else
				c->caps_on &= ~bit;
		}
		if (!ack)
			c->caps_pending = 0;
		/* sasl came back after registration (services were away): log in now */
		if (ack && c->st == IRC_ST_READY && (c->caps_on & IRC_CAP_SASL) && sasl_wanted(c) &&
		    !c->sasl_ok && !c->caps_pending && strstr(list, "sasl")) {
			hlog_info("irc", "%s: SASL is offered again; logging in now", c->net);
			c->sasl_done = c->sasl_started = false;
			irc_scram_free(&c->scram);
			sasl_begin(c);
			return;
		}
		after_caps(c);
	} else if (strcasecmp(sub, "NEW") == 0) {
		unsigned got = caps_note(c, list);
		if (c->sts_upgrade) {
			irc_reconnect_now(c, "STS: leaving the plain-text connection for TLS");
			return;
		}
		/* SASL after registration only when not logged in (services came back) */
		if (c->cap_ls_done)
			cap_request(c, c->sasl_ok || c->st != IRC_ST_READY ? got & ~IRC_CAP_SASL : got);
		if (c->cap_ls_done && (got & IRC_CAPS_ACCOUNTS) && c->st == IRC_ST_READY)
			irc_in_whox_all(c);                    /* relearn who is logged in */
	} else if (strcasecmp(sub, "DEL") == 0) {
		const char *p = list, *w;
		size_t n;
		unsigned lost = 0;
		while ((w = irc_next_word(&p, &n)), n) {
			size_t k = 0;
			while (k < n && w[k] != '=')
				k++;
			lost |= c->caps_on & cap_bit(w, k);
			c->caps_on &= ~cap_bit(w, k);
			c->caps_offered &= ~cap_bit(w, k);
		}
		/* Without these the accounts we know go stale (services restarting, say): forget them
		 * rather than trust them; CAP NEW brings the caps back and WHOX relearns. */
		if (lost & IRC_CAPS_ACCOUNTS) {
			irc_track_forget_accounts(&c->track);
			hlog_warn("irc", "%s: the server withdrew account tracking; accounts are unknown until "
				  "it comes back", c->net);
		}
	}
}

/* Registered without SASL because services were away: ask CAP LS again now and then, as a
 * server may link its services without a CAP NEW (InspIRCd 3 only changes what CAP LS lists).
 * Not after a login attempt on this connection ended (a wrong password is not retried). */
void irc_reg_relist_caps(struct irc *c, uint64_t now)
{
	if (c->st != IRC_ST_READY || !sasl_wanted(c) || c->sasl_ok || c->sasl_started || c->sasl_done ||
	    (c->caps_on & IRC_CAP_SASL) || c->caps_pending || !c->cap_ls_done)
		return;
	if (c->sasl_relist_ms && now - c->sasl_relist_ms < c->sasl_relist_every_ms)
		return;
	if (!c->sasl_relist_ms) {                 /* the first tick after registering: start the clock */
		c->sasl_relist_ms = now;
		return;
	}
	c->sasl_relist_ms = now;
	c->cap_relist = true;
	irc_sendq_line(c, "CAP LS 302");
}

void irc_reg_on_authenticate(struct irc *c, const struct irc_msg *m, const char *nick)
{
	unsigned char *msg = NULL;
	size_t len = 0;
	int rc;

	if (!c->sasl_started || c->sasl_done)
		return;
	rc = irc_sasl_in_add(&c->sasl_in, irc_msg_param(m, 0), &msg, &len);
	if (rc == HE_AGAIN)
		return;
	if (rc == HE_OK)
		sasl_step(c, msg, len);
	else
		sasl_abort(c, rc == HE_TOOBIG ? "the server's SASL message is too long"
					       : "the server's SASL message is not valid base64", false);
	if (msg) {
		OPENSSL_cleanse(msg, len);
		free(msg);
	}
}

/* 900 RPL_LOGGEDIN */
void irc_reg_on_logged_in(struct irc *c, const struct irc_msg *m, const char *nick)
{
	int mech = mech_of(c->cfg->sasl_mechanism ? c->cfg->sasl_mechanism : "");

	/* SCRAM: not believed before the server proved it knows the password (903 checks it) */
	if ((mech == MECH_SCRAM256 || mech == MECH_SCRAM512) && c->sasl_started && !c->sasl_done &&
	    c->scram.state != IRC_SCRAM_VERIFIED)
		return;
	hlog_info("irc", "%s: logged in to services as %s", c->net, irc_msg_param(m, 2));
}

/* 903 RPL_SASLSUCCESS */
void irc_reg_on_sasl_ok(struct irc *c, const struct irc_msg *m, const char *nick)
{
	int mech = mech_of(c->cfg->sasl_mechanism ? c->cfg->sasl_mechanism : "");

	if (!c->sasl_started || c->sasl_done)
		return;
	/* SCRAM: success counts only after the server proved it knows the password */
	if ((mech == MECH_SCRAM256 || mech == MECH_SCRAM512) && c->scram.state != IRC_SCRAM_VERIFIED) {
		sasl_abort(c, "the server said the login succeeded without proving it knows the password", true);
		return;
	}
	irc_scram_free(&c->scram);
	c->sasl_ok = true;
	if (c->st == IRC_ST_READY)
		hlog_info("irc", "%s: logged in with SASL", c->net);
	irc_cancel_timer(c, &c->t_sasl);
	c->sasl_done = true;
	cap_end(c);
}

/* 908 RPL_SASLMECHS: the mechanisms on offer; the 904 that follows is the failure */
void irc_reg_on_sasl_mechs(struct irc *c, const struct irc_msg *m, const char *nick)
{
	snprintf(c->sasl_mechs, sizeof(c->sasl_mechs), "%s", irc_msg_param(m, 1));
}

/* 902, 904, 905, 906 */
void irc_reg_on_sasl_fail(struct irc *c, const struct irc_msg *m, const char *nick)
{
	if (!c->sasl_done) {
		char why[300];
		snprintf(why, sizeof(why), "%s %s", m->verb, irc_msg_last(m));
		sasl_failed(c, why);
	}
}

/* ---------------------------------------------------------------- nick, 001, MOTD */

static void try_next_nick(struct irc *c, bool erroneous)
{
	c->nick_try++;
	if (c->nick_try > IRC_NICK_TRIES_MAX) {
		char why[96];
		snprintf(why, sizeof(why), "the server refused %d nicks in a row", IRC_NICK_TRIES_MAX);
		irc_sendq_now(c, "QUIT :no nick available");
		irc_disconnect(c, why, true);
		return;
	}
	if ((size_t)c->nick_try <= c->cfg->nalt_nicks) {
		snprintf(c->nick, sizeof(c->nick), "%s", c->cfg->alt_nicks[c->nick_try - 1]);
	} else {
		char base[IRC_NAME_MAX];
		size_t max = c->is.nicklen < sizeof(base) ? c->is.nicklen : sizeof(base) - 1;
		unsigned digits = ((unsigned)(c->nick_try - c->cfg->nalt_nicks) * 7u +
				   (unsigned)randombytes_uniform(90) + 10u) % 1000u;
		/* after a 432 the configured nick may be what the server refuses: use a plain one */
		snprintf(base, sizeof(base), "%s", c->nick_erroneous ? "Hearth" : c->cfg->nick);
		if (strlen(base) + 3 > max)
			base[max > 3 ? max - 3 : 1] = '\0';
		/* The base leaves room for up to three digits. */
		snprintf(c->nick, sizeof(c->nick), "%.*s%u", (int)(sizeof(c->nick) - 4), base, digits);
	}
	hlog_warn("irc", "%s: nick %s, trying %s", c->net, erroneous ? "refused" : "in use", c->nick);
}

/* 433, 437 */
void irc_reg_on_nick_taken(struct irc *c, const struct irc_msg *m, const char *nick)
{
	if (c->st == IRC_ST_REGISTERING) {
		try_next_nick(c, false);
		if (c->conn.fd >= 0)
			irc_sendq_printf(c, "NICK %s", c->nick);
	}
}

/* 432 ERR_ERRONEUSNICKNAME: the nick itself is not allowed here. While registering, the next
 * fallback nick; afterwards (taking the main nick back) stop trying, it will not change. */
void irc_reg_on_nick_erroneous(struct irc *c, const struct irc_msg *m, const char *nick)
{
	if (c->st == IRC_ST_REGISTERING) {
		c->nick_erroneous = true;
		try_next_nick(c, true);
		if (c->conn.fd >= 0)
			irc_sendq_printf(c, "NICK %s", c->nick);
		return;
	}
	if (!c->regain_off) {
		hlog_warn("irc", "%s: the server does not allow the nick %s; keeping %s", c->net,
			  irc_msg_param(m, 1), c->nick);
		c->regain_off = true;
		irc_cancel_timer(c, &c->t_regain);
		if (c->monitoring) {
			irc_sendq_printf(c, "MONITOR - %s", c->cfg->nick);
			c->monitoring = false;
		}
	}
}

/* 731 RPL_MONOFFLINE: a nick we MONITOR is free; if it is the main nick, take it back now. */
void irc_reg_on_monitor_offline(struct irc *c, const struct irc_msg *m, const char *nick)
{
	const char *p = irc_msg_last(m);

	if (c->st != IRC_ST_READY || c->regain_off || irc_caseeq(c->is.casemap, c->nick, c->cfg->nick))
		return;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char one[IRC_NAME_MAX];
		snprintf(one, sizeof(one), "%.*s", (int)(n < sizeof(one) - 1 ? n : sizeof(one) - 1), p);
		if (strchr(one, '!'))
			*strchr(one, '!') = '\0';
		if (irc_caseeq(c->is.casemap, one, c->cfg->nick)) {
			hlog_info("irc", "%s: %s is free (MONITOR): taking it back", c->net, c->cfg->nick);
			irc_sendq_printf(c, "NICK %s", c->cfg->nick);
			return;
		}
		p += n + (comma ? 1 : 0);
	}
}

void irc_reg_have_main_nick(struct irc *c)
{
	irc_cancel_timer(c, &c->t_regain);
	if (c->monitoring) {
		irc_sendq_printf(c, "MONITOR - %s", c->cfg->nick);
		c->monitoring = false;
	}
}

void irc_reg_on_welcome(struct irc *c, const struct irc_msg *m, const char *nick)
{
	const char *text = irc_msg_last(m);
	const char *last = strrchr(text, ' ');

	snprintf(c->nick, sizeof(c->nick), "%s", irc_msg_param(m, 0));
	/* "Welcome to the X Network, nick!user@host" */
	last = last ? last + 1 : text;
	if (strchr(last, '!') && strchr(last, '@')) {
		char n[IRC_NAME_MAX];
		irc_split_source(last, n, sizeof(n), c->user, sizeof(c->user), c->host, sizeof(c->host));
	}
	irc_ready(c);
	metrics_net_up(c->net, true);
	hlog_info("irc", "%s: registered as %s%s", c->net, c->nick,
		  c->sasl_done && (c->caps_on & IRC_CAP_SASL) ? " (logged in with SASL)" : "");
	if (!irc_caseeq(c->is.casemap, c->nick, c->cfg->nick))
		if (loop_timer_add(c->app->loop, REGAIN_MS, on_regain_timer, c, &c->t_regain))
			hlog_warn("irc", "%s: cannot arm the nick regain timer (out of memory)", c->net);
}

/* 376 RPL_ENDOFMOTD, 422 ERR_NOMOTD */
void irc_reg_on_motd_end(struct irc *c, const struct irc_msg *m, const char *nick)
{
	/* learn our own user@host when 001 did not say it, then join */
	if (!c->host[0])
		irc_sendq_printf(c, "USERHOST %s", c->nick);
	/* not the main nick: ask to be told the moment it frees up (the regain timer stays) */
	if (c->is.monitor > 0 && !c->monitoring && !c->regain_off &&
	    !irc_caseeq(c->is.casemap, c->nick, c->cfg->nick)) {
		irc_sendq_printf(c, "MONITOR + %s", c->cfg->nick);
		c->monitoring = true;
	}
	for (size_t i = 0; i < c->cfg->nchannels; i++)
		irc_sendq_printf(c, "JOIN %s", c->cfg->channels[i]);
}

/* 302 RPL_USERHOST: nick[*]=[+-]user@host */
void irc_reg_on_userhost(struct irc *c, const struct irc_msg *m, const char *nick)
{
	const char *r = irc_msg_param(m, 1), *eq = strchr(r, '=');

	if (eq && eq[1]) {
		char n[IRC_NAME_MAX];
		char uh[320];
		snprintf(uh, sizeof(uh), "x!%s", eq + 2);
		irc_split_source(uh, n, sizeof(n), c->user, sizeof(c->user), c->host, sizeof(c->host));
	}
}

/* 396 RPL_HOSTHIDDEN */
void irc_reg_on_host(struct irc *c, const struct irc_msg *m, const char *nick)
{
	snprintf(c->host, sizeof(c->host), "%s", irc_msg_param(m, 1));
}
