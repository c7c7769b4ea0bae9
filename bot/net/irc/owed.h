/* owed.h - channel commands owed across a failover or a reconnect (issue 13).
 *
 * IRC keeps no history, but InspIRCd's chanhistory (channel mode +H) replays a channel's recent
 * lines to a client that joins, in a `chathistory` batch, each with its server-time and msgid.
 * The active Hearth records every channel command that carries a msgid in the store BEFORE it
 * hands it to the core (fenced by its lease: store/lease.h), and marks it done once the last
 * line of its reply has left the send queue. After a takeover (or a reconnect) the replayed
 * commands that are recent and not done are answered; done ones never again.
 *
 *   irc_owed(section TEXT, msgid TEXT, done INTEGER, ts INTEGER, PRIMARY KEY (section, msgid))
 *
 * Only the network's opaque message id and a time are kept: no nick, no text. Module "irc_owed"
 * in schema_version. What is replayed is trusted only from a batch the server opened: a line with
 * no msgid or no server-time, older than IRC_REPLAY_MAX_AGE_S, not a command, or past
 * IRC_REPLAY_MAX_LINES in one batch is never answered. Private messages have no replay: a member
 * who writes while no Hearth holds the nick gets ERR_NOSUCHNICK (401) from the server. */
#ifndef HEARTH_IRC_OWED_H
#define HEARTH_IRC_OWED_H

#include <stdbool.h>
#include <stdint.h>

struct store;

#define IRC_OWED_OPEN 1               /* taken, its reply not (known to be) sent: answer it */
#define IRC_OWED_DONE 2               /* answered: never again */
#define IRC_REPLAY_MAX_AGE_S 60       /* the lease TTL (10 s) + joining + a wide margin */
#define IRC_REPLAY_MAX_FUTURE_S 30    /* server clock ahead of ours */
#define IRC_REPLAY_MAX_LINES 50       /* commands answered from one replay batch */
#define IRC_OWED_KEEP_S (24 * 3600)   /* done rows are pruned after a day */

int irc_owed_migrate(struct store *s);
/* Records msgid for section (upsert, fenced by the section's lease when one is registered):
 * IRC_OWED_OPEN (new, or taken before and never marked done) or IRC_OWED_DONE; HE_PERM when
 * the lease is no longer ours (answer nothing), HE_DB. */
int irc_owed_take(struct store *s, const char *section, const char *msgid, int64_t now_s);
/* Marks it done (fenced). */
int irc_owed_done(struct store *s, const char *section, const char *msgid);
int irc_owed_prune(struct store *s, int64_t now_s);

/* An IRCv3 server-time value ("2026-11-30T21:25:21.000Z", fraction optional) in ms since the
 * epoch; HE_INVAL when it is not exactly that form. */
int irc_server_time_ms(const char *v, int64_t *out_ms);
/* Whether a replayed line sent at t_ms may be answered at now_ms. */
bool irc_replay_recent(int64_t t_ms, int64_t now_ms);

#endif
