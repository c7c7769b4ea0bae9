/* irc_int.h - what the IRC transport's own files share (not for use outside bot/net/irc/).
 *
 *   irc.c       the connection: connect, read, reconnect with backoff, lag check, the transport
 *               ops, irc_start()                                            prefix irc_
 *   sendq.c     the send queue: one round per member's reply, the token bucket, private lines
 *               bound to their member, splitting replies into lines        prefix irc_sendq_
 *   reg.c       registration: CAP LS/REQ/ACK, SASL PLAIN/EXTERNAL, nick fallback and regain,
 *               001 and the end of MOTD                                     prefix irc_reg_
 *   sts.c       strict transport security: upgrade, stored policy          prefix irc_sts_
 *   dispatch.c  incoming lines: the table {verb, min_params, handler}, channel events, PRIVMSG
 *               to struct hmsg                                              prefix irc_in_
 *
 * parse.c (lines, ISUPPORT, text), conn.c (socket, TLS, certificate pins), track.c (channels,
 * members), sasl.c (SCRAM, ECDSA: no I/O) and sts.c's value parser (sts.h) have their own
 * public headers. */
#ifndef HEARTH_IRC_INT_H
#define HEARTH_IRC_INT_H

#include "net/irc/irc.h"
#include "net/irc/conn.h"
#include "net/irc/parse.h"
#include "net/irc/sasl.h"
#include "net/irc/track.h"
#include "core/buf.h"

#include <stdbool.h>
#include <stdint.h>

/* A queued line. Lines are sent round by round: each reply (all its lines) of one member takes
 * the next round of that member, so one member's 20 commands do not make everyone else wait
 * behind them, and the lines of one reply stay together. */
struct irc_qline {
	char *line;
	char target[IRC_NAME_MAX];     /* the PRIVMSG/NOTICE target; "" for other lines */
	uint32_t key;                  /* hash of who it is for (member, room); 0 for our own lines */
	uint64_t round;
	bool bound;                    /* a private line: sent only if `to` still holds the nick */
	struct irc_holder to;
	uint32_t owed;                 /* the channel command this line answers (owed.c), 0: none */
};

/* A channel command being answered (owed.c): done once dispatched and its lines have left. */
#define IRC_OWED_PENDING 256
struct irc_owed_pend {
	uint32_t id;                   /* 0: a free slot */
	unsigned left;                 /* its lines still in the send queue */
	bool dispatching;
	char msgid[IRC_MSGID_MAX];
};

/* An open BATCH (IRCv3): only `chathistory` ones are kept; their lines are replays. */
#define IRC_BATCH_MAX 4
struct irc_batch {
	char ref[32];                  /* "": a free slot */
	unsigned answered;             /* replayed commands taken from it */
};

enum irc_state { IRC_ST_IDLE, IRC_ST_CONNECTING, IRC_ST_REGISTERING, IRC_ST_READY };

enum {
	IRC_CAP_SASL = 1 << 0, IRC_CAP_TAGS = 1 << 1, IRC_CAP_TIME = 1 << 2,
	IRC_CAP_ACCOUNT_TAG = 1 << 3, IRC_CAP_MULTI_PREFIX = 1 << 4, IRC_CAP_EXTENDED_JOIN = 1 << 5,
	IRC_CAP_ACCOUNT_NOTIFY = 1 << 6, IRC_CAP_CAP_NOTIFY = 1 << 7, IRC_CAP_CHGHOST = 1 << 8,
	IRC_CAP_SETNAME = 1 << 9, IRC_CAP_ECHO = 1 << 10, IRC_CAP_BATCH = 1 << 11,
};
/* The caps whose loss leaves tracked accounts stale: they are then forgotten. */
#define IRC_CAPS_ACCOUNTS (IRC_CAP_ACCOUNT_TAG | IRC_CAP_EXTENDED_JOIN | IRC_CAP_ACCOUNT_NOTIFY)
#define IRC_WHOX_TOKEN "152"             /* marks the replies to our own WHOX queries */
#define IRC_NICK_TRIES_MAX 30             /* nicks refused in a row before reconnecting later */

struct irc {
	struct htransport t;
	struct happ *app;
	const struct config_irc *cfg;
	struct irc_conn conn;
	enum irc_state st;
	char net[64];                  /* "irc.NAME" */
	char err[320];

	struct hlines in;              /* lines from the server, capped at IRC_READ_MAX */
	struct irc_msg *msg;           /* parse scratch (large) */

	struct irc_isupport is;
	struct irc_track track;

	char nick[IRC_NAME_MAX];
	char user[IRC_NAME_MAX];
	char host[256];
	int nick_try;
	bool nick_erroneous;           /* the server called a nick we chose erroneous (432) */
	bool regain_off;               /* the main nick is erroneous here: stop trying to take it */
	bool monitoring;               /* MONITOR + main nick sent */

	unsigned caps_offered, caps_on, caps_pending;
	bool cap_ls_done, cap_end_sent;
	char sasl_mechs[128];          /* from sasl=PLAIN,EXTERNAL; "" when not listed */
	bool sasl_started, sasl_done;
	bool sasl_ok;                  /* logged in with SASL on this connection (903) */
	bool cap_relist;               /* a CAP LS sent after registration is being answered */
	uint64_t sasl_relist_ms;       /* when that CAP LS was last sent */
	int sasl_step;                 /* server messages answered in this exchange */
	struct irc_sasl_in sasl_in;    /* a server message being reassembled */
	struct irc_scram scram;
	int sts_port;                  /* > 0: connect with TLS to this port (an STS upgrade or policy) */
	bool sts_upgrade;              /* a plain connection was told to upgrade: reconnect now */

	struct irc_bucket bucket;
	struct irc_qline *q;           /* send queue, sorted by (round, arrival) */
	size_t qlen, qcap;
	uint64_t qround;               /* the round of the line sent last */
	uint32_t drop_key;             /* the reply whose dropped lines were logged last */
	struct irc_owed_pend owed[IRC_OWED_PENDING];
	uint32_t owed_cur;             /* stamped on lines queued while a command is dispatched */
	uint32_t owed_next;
	struct irc_batch batch[IRC_BATCH_MAX];
	uint64_t drop_round;

	uint64_t last_rx_ms, ping_sent_ms;
	uint64_t ping_idle_ms, ping_deadline_ms, sasl_timeout_ms, ping_tick_ms;
	uint64_t sasl_relist_every_ms; /* re-ask CAP LS this often while SASL waits for services */
	uint64_t t_ping, t_reg, t_sasl, t_regain, t_reconnect, t_sendq;
	int attempts;                  /* failed connects in a row */
	int wfd;                       /* the fd the loop watches, -1 when none */
	bool stopping;
};

/* The last parameter ("" when there is none): the text of most replies. */
static inline const char *irc_msg_last(const struct irc_msg *m)
{
	return m->nparams ? m->params[m->nparams - 1] : "";
}

/* The next word of a space-separated list: returns where it starts, its length in *n (0 at the
 * end of the list) and moves *p past it. */
static inline const char *irc_next_word(const char **p, size_t *n)
{
	const char *w = *p;

	while (*w == ' ')
		w++;
	for (*n = 0; w[*n] && w[*n] != ' ';)
		(*n)++;
	*p = w + *n;
	return w;
}

/* A handler of one incoming verb or numeric; nick is the source's nick ("" for a server). */
typedef void (*irc_in_fn)(struct irc *c, const struct irc_msg *m, const char *nick);

/* ---- irc.c: the connection */
void irc_disconnect(struct irc *c, const char *why, bool retry);
/* A failure a retry will not fix by itself (a certificate, a file, a password): an error. */
void irc_refused(struct irc *c, const char *why);
void irc_cancel_timer(struct irc *c, uint64_t *id);
/* After 001: ready, the token bucket starts, the lag check runs. */
void irc_ready(struct irc *c);
/* Tells the loop which events to watch for after output was added. */
void irc_update_events(struct irc *c);
/* Debug logging of a raw line, never a message body or a secret (see irc_log_line()). */
void irc_log_raw(const struct irc *c, const char *dir, const char *line, size_t len);

/* ---- sendq.c: the send queue */
/* Writes one line now (registration, PONG, PING, QUIT); disconnects on a write error. */
void irc_sendq_now(struct irc *c, const char *line);
/* Queues one of our own lines (before registration ends: sent now). */
int irc_sendq_line(struct irc *c, const char *line);
void irc_sendq_printf(struct irc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Queues a NOTICE/PRIVMSG line for target in the next round of key. */
int irc_sendq_to(struct irc *c, const char *target, const char *line, uint32_t key);
uint32_t irc_sendq_key(const char *who);
/* Sends markdown as plain text to target, split to fit; all its lines share the next round of
 * who. to: the member a private text is bound to (NULL: none). reply_to: the msgid of the
 * message answered, sent as +draft/reply when the server has message-tags (NULL: none). */
int irc_sendq_markdown(struct irc *c, const char *target, const char *who, const char *md,
		       const struct irc_holder *to, const char *reply_to);
/* The same as one NOTICE (a welcome: never answered by clients or bots). */
int irc_sendq_notice(struct irc *c, const char *target, const char *who, const char *md,
		     const struct irc_holder *to);
void irc_sendq_pump(struct irc *c);
/* dispatch.c: a welcome to a member who joined: a NOTICE to their nick, never the channel. */
int irc_greet(struct htransport *t, const struct hevent *ev, const char *md);
/* Drops the queued lines to target (a channel we are no longer in). */
void irc_sendq_drop_target(struct irc *c, const char *target);
void irc_sendq_clear(struct irc *c);

/* ---- reg.c: registration */
void irc_reg_begin(struct irc *c);
void irc_reg_on_cap(struct irc *c, const struct irc_msg *m, const char *nick);
void irc_reg_relist_caps(struct irc *c, uint64_t now);
void irc_reg_on_authenticate(struct irc *c, const struct irc_msg *m, const char *nick);
void irc_reg_on_logged_in(struct irc *c, const struct irc_msg *m, const char *nick);
void irc_reg_on_sasl_ok(struct irc *c, const struct irc_msg *m, const char *nick);
void irc_reg_on_sasl_mechs(struct irc *c, const struct irc_msg *m, const char *nick);
void irc_reg_on_sasl_fail(struct irc *c, const struct irc_msg *m, const char *nick);
void irc_reg_on_welcome(struct irc *c, const struct irc_msg *m, const char *nick);
void irc_reg_on_motd_end(struct irc *c, const struct irc_msg *m, const char *nick);
void irc_reg_on_userhost(struct irc *c, const struct irc_msg *m, const char *nick);
void irc_reg_on_host(struct irc *c, const struct irc_msg *m, const char *nick);
void irc_reg_on_nick_taken(struct irc *c, const struct irc_msg *m, const char *nick);
void irc_reg_on_nick_erroneous(struct irc *c, const struct irc_msg *m, const char *nick);
void irc_reg_on_monitor_offline(struct irc *c, const struct irc_msg *m, const char *nick);
/* Our nick is now the main one: MONITOR no longer needed. */
void irc_reg_have_main_nick(struct irc *c);

/* ---- sts.c: strict transport security */
/* Whether a stored policy for the host holds (an expired one is deleted); its port in *port. */
bool irc_sts_policy(struct irc *c, int *port);
/* The value of an `sts` cap (n bytes) from CAP LS or NEW. */
void irc_sts_on_cap(struct irc *c, const char *value, size_t n);
/* Closes the connection and connects again at once (an STS upgrade). */
void irc_reconnect_now(struct irc *c, const char *why);

/* ---- owed.c: channel commands owed across a failover (owed.h) */
/* Before a channel message is dispatched: false when it must not be answered (a replay that is
 * old, not a command, without msgid; a command already answered; the lease lost). *pend: the
 * slot to pass to irc_owed_after (0: not tracked). */
bool irc_owed_before(struct irc *c, const struct irc_msg *m, const char *text, const char *msgid,
		     uint32_t *pend);
void irc_owed_after(struct irc *c, uint32_t pend);
void irc_owed_line_queued(struct irc *c, uint32_t id);
/* A queued line stamped with owed id left the queue (sent, or dropped for good). */
void irc_owed_line_gone(struct irc *c, uint32_t id);
/* The connection ended: what was not sent stays owed in the store (answered after a rejoin). */
void irc_owed_reset(struct irc *c);
/* BATCH +ref type ... / BATCH -ref */
void irc_owed_on_batch(struct irc *c, const struct irc_msg *m, const char *nick);

/* ---- dispatch.c: incoming lines */
/* Parses one line from the server and hands it to the handler of its verb. */
void irc_in_line(struct irc *c, const char *line, size_t len);
bool irc_in_is_me(const struct irc *c, const char *nick);
/* WHOX (%tcuhnfa) for every channel we are in, to learn the accounts of who is there. */
void irc_in_whox_all(struct irc *c);

#endif
