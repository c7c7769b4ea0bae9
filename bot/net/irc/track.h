/* track.h - who is in Hearth's channels, with which status, logged into which account.
 *
 * Fed from NAMES (multi-prefix), JOIN (extended-join), PART, KICK, QUIT, NICK, MODE and
 * ACCOUNT (account-notify) and from the account tag of messages. Names are compared under the
 * server's CASEMAPPING. Sizes are capped: a flood of joins cannot grow memory without bound. */
#ifndef HEARTH_IRC_TRACK_H
#define HEARTH_IRC_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/irc/parse.h"

#define IRC_NAME_MAX 64
#define IRC_TRACK_MAX_CHANS 64
#define IRC_TRACK_MAX_MEMBERS 5000
#define IRC_TRACK_MAX_USERS 20000

struct irc_member {
	char nick[IRC_NAME_MAX];      /* case-folded */
	unsigned modes;               /* bit i: the i-th mode of PREFIX */
};

struct irc_chan {
	char name[IRC_NAME_MAX];      /* case-folded */
	struct irc_member *members;
	size_t n, cap;
};

struct irc_user {
	char nick[IRC_NAME_MAX];      /* as the server spells it */
	char folded[IRC_NAME_MAX];
	char account[IRC_NAME_MAX];   /* "" when unknown or logged out */
	uint64_t uid;                 /* this person while we see them (follows NICK); never reused */
};

struct irc_track {
	const struct irc_isupport *is;
	struct irc_chan chans[IRC_TRACK_MAX_CHANS];
	size_t nchans;
	struct irc_user *users;
	size_t nusers, capusers;
	uint64_t next_uid;
};

void irc_track_init(struct irc_track *t, const struct irc_isupport *is);
void irc_track_clear(struct irc_track *t);      /* forgets everything (reconnect, free) */

/* Hearth itself joined / left a channel. */
int irc_track_chan_add(struct irc_track *t, const char *chan);
void irc_track_chan_del(struct irc_track *t, const char *chan);
bool irc_track_in_chan(const struct irc_track *t, const char *chan);

/* A member joined (account: NULL unknown, "*" logged out, else the account). */
int irc_track_join(struct irc_track *t, const char *chan, const char *nick, const char *account);
/* One NAMES entry: prefixes (multi-prefix) then nick, maybe "!user@host" (userhost-in-names). */
int irc_track_names_entry(struct irc_track *t, const char *chan, const char *entry);
void irc_track_part(struct irc_track *t, const char *chan, const char *nick);
void irc_track_quit(struct irc_track *t, const char *nick);
void irc_track_nick(struct irc_track *t, const char *from, const char *to);
/* A channel MODE line: modes is params[1], args the following parameters. */
void irc_track_mode(struct irc_track *t, const char *chan, const char *modes,
		    const char *const *args, size_t nargs);
void irc_track_account(struct irc_track *t, const char *nick, const char *account);
/* Every account becomes unknown (the server stopped keeping us told). */
void irc_track_forget_accounts(struct irc_track *t);

/* The account of nick ("" unknown), the nick logged into account (NULL if none seen). */
const char *irc_track_account_of(const struct irc_track *t, const char *nick);
const char *irc_track_nick_of_account(const struct irc_track *t, const char *account);
/* Who a private line is for. A nick is not an identity: it passes to another person on a nick
 * change, a quit or a services logout. The line is bound to the person who held the nick when it
 * was queued and is sent only if irc_track_holder_same() still says yes when its turn comes. */
struct irc_holder {
	char nick[IRC_NAME_MAX];      /* where the line goes */
	char account[IRC_NAME_MAX];   /* the services account it is for; "" for none */
	uint64_t uid;                 /* the tracked person holding nick then; 0 if not in our channels */
};

/* Binds a line for nick, meant for account ("" or NULL: none), to the current holder of nick. */
void irc_track_holder(const struct irc_track *t, const char *nick, const char *account,
		      struct irc_holder *h);
/* Does h->nick still belong to the one h was made for? No when the person we saw then no longer
 * holds it (nick change, quit, left our channels) or someone else now does, and no when the
 * account it was for is not the one logged in now. A nick that was not in our channels then and
 * is not now cannot be followed: yes, unless the line is for an account we now see is not theirs. */
bool irc_track_holder_same(const struct irc_track *t, const struct irc_holder *h);

/* Does nick hold channel operator status or higher in chan? */
bool irc_track_is_op(const struct irc_track *t, const char *chan, const char *nick);
/* Is nick known at all (in one of Hearth's channels)? */
bool irc_track_has_user(const struct irc_track *t, const char *nick);

#endif
