/* dispatch.c - incoming IRC lines: each verb or numeric goes to its handler through one table
 * {verb, min_params, handler}, as ngIRCd's parse.c does; a line with fewer parameters than its
 * handler reads, or with a verb we do not handle, is ignored. Registration's handlers live in
 * reg.c; here are PING, channel state (JOIN, PART, KICK, QUIT, NICK, MODE, ACCOUNT, INVITE,
 * NAMES, WHOX replies, CHGHOST, SETNAME) and PRIVMSGs, which become struct hmsg (our own
 * echo-message echoes are not members' messages and are dropped). */
#include "net/irc/irc_int.h"
#include "core/err.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool irc_in_is_me(const struct irc *c, const char *nick)
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

/* A CTCP request in a query: VERSION and PING are answered, the rest ignored. */
static void on_ctcp(struct irc *c, const char *nick, const char *verb, const char *args,
		    size_t alen)
{
	char line[160];

	line[0] = '\0';
	if (strcmp(verb, "VERSION") == 0)
		snprintf(line, sizeof(line), "NOTICE %s :\x01VERSION Hearth %s (peer-support bot)\x01",
			 nick, HEARTH_VERSION);
	else if (strcmp(verb, "PING") == 0 && alen <= 64 && !memchr(args, '\r', alen) &&
		 !memchr(args, '\n', alen))
		snprintf(line, sizeof(line), "NOTICE %s :\x01PING %.*s\x01", nick, (int)alen, args);
	if (line[0])
		irc_sendq_to(c, nick, line, irc_sendq_key(nick));   /* a CTCP flood waits its own turn */
}

static void on_privmsg(struct irc *c, const struct irc_msg *m, const char *nick, bool notice)
{
	const char *target = irc_msg_param(m, 0), *raw = irc_msg_param(m, 1);
	const char *tag_account = (c->caps_on & IRC_CAP_ACCOUNT_TAG) ? irc_msg_tag(m, "account") : NULL;
	char verb[16], room[IRC_NAME_MAX], sender[IRC_NAME_MAX + 16], account[IRC_NAME_MAX];
	char msgid[IRC_MSGID_MAX];
	const char *args;
	size_t alen, len;
	char *text, *copy;
	bool priv = irc_in_is_me(c, target);
	/* a line of a batch (a chathistory replay, owed.c) is old: its own tags say who sent it,
	 * not what we know of that nick now, and it changes nothing we track */
	bool replay = irc_msg_tag(m, "batch") != NULL;
	struct hmsg hm = { 0 };
	uint32_t pend = 0;

	if (!m->source || !strchr(m->source, '!'))
		return;                             /* from a server, not a member */
	if (!nick[0] || irc_in_is_me(c, nick) || (!priv && !irc_is_channel(&c->is, target)))
		return;
	if (irc_ctcp(raw, verb, sizeof(verb), &args, &alen)) {
		if (!notice && priv)
			on_ctcp(c, nick, verb, args, alen);
		return;                             /* ACTION and CTCP in channels are ignored */
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
	if ((c->caps_on & IRC_CAP_ACCOUNT_TAG) && !tag_account)
		tag_account = "*";
	if (tag_account && !replay)
		irc_track_account(&c->track, nick, tag_account);
	snprintf(account, sizeof(account), "%s",
		 tag_account ? (strcmp(tag_account, "*") ? tag_account : "")
			     : replay ? "" : irc_track_account_of(&c->track, nick));
	if (account[0])
		snprintf(sender, sizeof(sender), "account:%s", account);
	else
		snprintf(sender, sizeof(sender), "nick:%s", nick);
	/* without a services account the sender is only a nick, which anyone can take next */
	hm.sender_transient = !account[0];
	irc_casefold(c->is.casemap, priv ? nick : target, room, sizeof(room));
	/* message-tags: the id a reply names with +draft/reply (only a plain token is kept) */
	if (c->caps_on & IRC_CAP_TAGS) {
		const char *id = irc_msg_tag(m, "msgid");
		size_t k = 0;
		for (; id && id[k] && k < sizeof(msgid) - 1; k++)
			if (!((id[k] >= 'a' && id[k] <= 'z') || (id[k] >= 'A' && id[k] <= 'Z') ||
			      (id[k] >= '0' && id[k] <= '9') || strchr("-_+/=:.~", id[k])))
				break;
		if (id && k > 0 && !id[k]) {
			memcpy(msgid, id, k + 1);
			hm.msgid = msgid;
		}
	}
	hm.network = c->net;
	hm.room = room;
	hm.sender = sender;
	hm.sender_name = nick;
	hm.text = text;
	hm.is_private = priv;
	hm.role = account_is_moderator(c, account) ||
		  (!priv && !replay && irc_track_is_op(&c->track, target, nick))
		  ? HROLE_MODERATOR : HROLE_MEMBER;
	hm.via = &c->t;
	if (priv ? replay : !irc_owed_before(c, m, text, hm.msgid, &pend)) {
		free(text);                  /* batched private lines: not a member speaking now */
		return;
	}
	happ_dispatch(c->app, &hm);
	irc_owed_after(c, pend);
	free(text);
}

static void in_privmsg(struct irc *c, const struct irc_msg *m, const char *nick)
{
	on_privmsg(c, m, nick, false);
}

static void in_notice(struct irc *c, const struct irc_msg *m, const char *nick)
{
	on_privmsg(c, m, nick, true);
}

/* ---------------------------------------------------------------- server lines */

static void in_ping(struct irc *c, const struct irc_msg *m, const char *nick)
{
	struct hbuf b = HBUF_INIT;

	hbuf_printf(&b, "PONG :%s", irc_msg_param(m, 0));
	if (c->st == IRC_ST_READY)
		irc_bucket_charge(&c->bucket, loop_now_ms());
	irc_sendq_now(c, hbuf_str(&b));
	hbuf_free(&b);
}

static void in_pong(struct irc *c, const struct irc_msg *m, const char *nick)
{
	c->ping_sent_ms = 0;
}

static void in_isupport(struct irc *c, const struct irc_msg *m, const char *nick)
{
	irc_isupport_apply(&c->is, m);
}

static void in_error(struct irc *c, const struct irc_msg *m, const char *nick)
{
	hlog_warn("irc", "%s: server says: %s", c->net, irc_msg_param(m, 0));
}

/* 403, 471, 473, 474, 475, 477 */
static void in_cannot_join(struct irc *c, const struct irc_msg *m, const char *nick)
{
	hlog_warn("irc", "%s: cannot join %s: %s", c->net, irc_msg_param(m, 1), irc_msg_last(m));
}

/* 464, 465 */
static void in_refused(struct irc *c, const struct irc_msg *m, const char *nick)
{
	hlog_error("irc", "%s: the server refused us: %s", c->net, irc_msg_last(m));
}

/* 353 RPL_NAMREPLY */
static void in_names(struct irc *c, const struct irc_msg *m, const char *nick)
{
	const char *chan = irc_msg_param(m, 2), *p = irc_msg_param(m, 3), *w;
	char entry[320];
	size_t n;

	while ((w = irc_next_word(&p, &n)), n) {
		if (n < sizeof(entry)) {
			memcpy(entry, w, n);
			entry[n] = '\0';
			irc_track_names_entry(&c->track, chan, entry);
		}
	}
}

static void in_join(struct irc *c, const struct irc_msg *m, const char *nick)
{
	const char *chan = irc_msg_param(m, 0);
	const char *acct = (c->caps_on & IRC_CAP_EXTENDED_JOIN) && m->nparams >= 2 ? m->params[1] : NULL;
	const char *tag = (c->caps_on & IRC_CAP_ACCOUNT_TAG) ? irc_msg_tag(m, "account") : NULL;
	char room[IRC_NAME_MAX], member[IRC_NAME_MAX + 16], account[IRC_NAME_MAX] = "";
	struct hevent ev = { .network = c->net, .room = room, .via = &c->t };
	bool me = irc_in_is_me(c, nick);

	if (me) {
		irc_track_chan_add(&c->track, chan);
		hlog_info("irc", "%s: joined %s", c->net, chan);
	}
	irc_track_join(&c->track, chan, nick, acct);
	/* learn the accounts of who is already there (NAMES does not say) */
	if (me && c->is.whox)
		irc_sendq_printf(c, "WHO %s %%tcuhnfa," IRC_WHOX_TOKEN, chan);
	if (!chan || !irc_is_channel(&c->is, chan) || !m->source || !strchr(m->source, '!'))
		return;
	/* The welcome (care/welcome.c): Hearth's own join, or a member's, keyed as messages are. */
	irc_casefold(c->is.casemap, chan, room, sizeof(room));
	if (me) {
		ev.kind = HEV_SELF_JOINED;
	} else {
		if (acct && strcmp(acct, "*") != 0)
			snprintf(account, sizeof(account), "%s", acct);
		else if (tag && strcmp(tag, "*") != 0)
			snprintf(account, sizeof(account), "%s", tag);
		if (account[0])
			snprintf(member, sizeof(member), "account:%s", account);
		else
			snprintf(member, sizeof(member), "nick:%s", nick);
		ev.kind = HEV_MEMBER_JOINED;
		ev.member = member;
		ev.member_name = nick;
		ev.member_transient = !account[0];
	}
	happ_room_event(c->app, &ev);
}

int irc_greet(struct htransport *t, const struct hevent *ev, const char *md)
{
	struct irc *c = t->impl;
	const char *nick = ev->member_name;
	struct irc_holder to;

	if (!nick || !*nick || irc_is_channel(&c->is, nick))
		return HE_INVAL;   /* never the channel */
	/* bound to the member who joined: dropped if the nick passes to someone else first */
	irc_track_holder(&c->track, nick, strncmp(ev->member, "account:", 8) == 0 ? ev->member + 8 : "",
			 &to);
	return irc_sendq_notice(c, nick, ev->member, md, &to);
}

void irc_in_whox_all(struct irc *c)
{
	if (!c->is.whox)
		return;
	for (size_t i = 0; i < c->track.nchans; i++)
		irc_sendq_printf(c, "WHO %s %%tcuhnfa," IRC_WHOX_TOKEN, c->track.chans[i].name);
}

/* 354 RPL_WHOSPCRPL to our %tcuhnfa: me TOKEN CHANNEL USER HOST NICK FLAGS ACCOUNT ("0": none) */
static void in_whox(struct irc *c, const struct irc_msg *m, const char *nick)
{
	const char *chan = m->params[2], *who = m->params[5], *acct = m->params[7];

	if (strcmp(m->params[1], IRC_WHOX_TOKEN) != 0 || !irc_track_in_chan(&c->track, chan))
		return;
	if (!irc_track_has_user(&c->track, who))
		irc_track_join(&c->track, chan, who, NULL);
	irc_track_account(&c->track, who, strcmp(acct, "0") == 0 ? "*" : acct);
}

/* CHGHOST new-user new-host: ours changes the prefix length replies are cut for. */
static void in_chghost(struct irc *c, const struct irc_msg *m, const char *nick)
{
	if (irc_in_is_me(c, nick)) {
		snprintf(c->user, sizeof(c->user), "%s", m->params[0]);
		snprintf(c->host, sizeof(c->host), "%s", m->params[1]);
	}
}

/* SETNAME: a real name; Hearth keeps none, the cap only spares the server a fallback. */
static void in_setname(struct irc *c, const struct irc_msg *m, const char *nick)
{
}

static void in_part(struct irc *c, const struct irc_msg *m, const char *nick)
{
	if (irc_in_is_me(c, nick)) {
		irc_track_chan_del(&c->track, irc_msg_param(m, 0));
		irc_sendq_drop_target(c, irc_msg_param(m, 0));
	} else {
		irc_track_part(&c->track, irc_msg_param(m, 0), nick);
	}
}

static void in_kick(struct irc *c, const struct irc_msg *m, const char *nick)
{
	const char *chan = irc_msg_param(m, 0), *who = irc_msg_param(m, 1);

	if (irc_in_is_me(c, who)) {
		/* A kick is a moderator's decision about Hearth's presence: stay out until invited
		 * back (or until the next connection joins the configured channels). */
		irc_track_chan_del(&c->track, chan);
		irc_sendq_drop_target(c, chan);
		hlog_warn("irc", "%s: kicked from %s by %s; staying out until invited back", c->net,
			  chan, nick);
	} else {
		irc_track_part(&c->track, chan, who);
	}
}

static void in_quit(struct irc *c, const struct irc_msg *m, const char *nick)
{
	irc_track_quit(&c->track, nick);
	if (irc_caseeq(c->is.casemap, nick, c->cfg->nick) && !irc_in_is_me(c, nick) &&
	    c->st == IRC_ST_READY)
		irc_sendq_printf(c, "NICK %s", c->cfg->nick);
}

static void in_nick(struct irc *c, const struct irc_msg *m, const char *nick)
{
	const char *to = irc_msg_param(m, 0);

	irc_track_nick(&c->track, nick, to);
	if (irc_in_is_me(c, nick)) {
		snprintf(c->nick, sizeof(c->nick), "%s", to);
		hlog_info("irc", "%s: now known as %s", c->net, to);
		if (irc_caseeq(c->is.casemap, to, c->cfg->nick))
			irc_reg_have_main_nick(c);
	} else if (irc_caseeq(c->is.casemap, nick, c->cfg->nick) && c->st == IRC_ST_READY &&
		   !irc_in_is_me(c, c->cfg->nick)) {
		irc_sendq_printf(c, "NICK %s", c->cfg->nick);   /* the holder let the main nick go */
	}
}

static void in_mode(struct irc *c, const struct irc_msg *m, const char *nick)
{
	if (irc_is_channel(&c->is, m->params[0]))
		irc_track_mode(&c->track, m->params[0], m->params[1], m->params + 2, m->nparams - 2);
}

static void in_account(struct irc *c, const struct irc_msg *m, const char *nick)
{
	irc_track_account(&c->track, nick, irc_msg_param(m, 0));
}

static void in_invite(struct irc *c, const struct irc_msg *m, const char *nick)
{
	bool found;
	const char *cfgc = config_channel_key(c, m->params[1], &found);

	if (irc_in_is_me(c, m->params[0]) && found) {
		hlog_info("irc", "%s: invited to %s by %s", c->net, m->params[1], nick);
		irc_sendq_printf(c, "JOIN %s", cfgc);
	}
}

/* min_params: the fewest parameters the handler acts on; with fewer it would do nothing, so the
 * line is not handed to it. Handlers still read optional parameters with irc_msg_param(). */
static const struct {
	const char *verb;
	unsigned min_params;
	irc_in_fn fn;
} in_table[] = {
	{ "PING", 0, in_ping },
	{ "PONG", 0, in_pong },
	{ "CAP", 2, irc_reg_on_cap },
	{ "AUTHENTICATE", 1, irc_reg_on_authenticate },
	{ "900", 0, irc_reg_on_logged_in },
	{ "903", 0, irc_reg_on_sasl_ok },
	{ "908", 0, irc_reg_on_sasl_mechs },
	{ "902", 0, irc_reg_on_sasl_fail },
	{ "904", 0, irc_reg_on_sasl_fail },
	{ "905", 0, irc_reg_on_sasl_fail },
	{ "906", 0, irc_reg_on_sasl_fail },
	{ "001", 0, irc_reg_on_welcome },
	{ "005", 0, in_isupport },
	{ "376", 0, irc_reg_on_motd_end },
	{ "422", 0, irc_reg_on_motd_end },
	{ "302", 2, irc_reg_on_userhost },
	{ "396", 0, irc_reg_on_host },
	{ "432", 0, irc_reg_on_nick_erroneous },
	{ "731", 2, irc_reg_on_monitor_offline },
	{ "354", 8, in_whox },
	{ "CHGHOST", 2, in_chghost },
	{ "SETNAME", 1, in_setname },
	{ "433", 0, irc_reg_on_nick_taken },
	{ "437", 0, irc_reg_on_nick_taken },
	{ "353", 4, in_names },
	{ "JOIN", 0, in_join },
	{ "PART", 0, in_part },
	{ "KICK", 0, in_kick },
	{ "QUIT", 0, in_quit },
	{ "NICK", 0, in_nick },
	{ "MODE", 2, in_mode },
	{ "ACCOUNT", 0, in_account },
	{ "INVITE", 2, in_invite },
	{ "PRIVMSG", 1, in_privmsg },
	{ "BATCH", 1, irc_owed_on_batch },
	{ "NOTICE", 1, in_notice },
	{ "ERROR", 0, in_error },
	{ "403", 0, in_cannot_join },
	{ "471", 0, in_cannot_join },
	{ "473", 0, in_cannot_join },
	{ "474", 0, in_cannot_join },
	{ "475", 0, in_cannot_join },
	{ "477", 0, in_cannot_join },
	{ "464", 0, in_refused },
	{ "465", 0, in_refused },
};

static void in_dispatch(struct irc *c, const struct irc_msg *m)
{
	char nick[IRC_NAME_MAX], u[IRC_NAME_MAX], h[256];

	for (size_t i = 0; i < sizeof(in_table) / sizeof(in_table[0]); i++) {
		if (strcasecmp(m->verb, in_table[i].verb) != 0)
			continue;
		if (m->nparams < in_table[i].min_params)
			return;
		irc_split_source(m->source, nick, sizeof(nick), u, sizeof(u), h, sizeof(h));
		in_table[i].fn(c, m, nick);
		return;
	}
}

void irc_in_line(struct irc *c, const char *line, size_t len)
{
	int rc = irc_parse(line, len, c->is.linelen, c->msg);

	if (rc == HE_AGAIN)
		return;
	if (rc) {
		hlog_debug("irc", "%s: ignored a malformed line (%s)", c->net, he_str(rc));
		return;
	}
	irc_log_raw(c, "<<", line, len);
	in_dispatch(c, c->msg);
}
