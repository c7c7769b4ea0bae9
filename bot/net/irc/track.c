/* track.c - channel membership, status modes and services accounts. */
#include "net/irc/track.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void irc_track_init(struct irc_track *t, const struct irc_isupport *is)
{
	memset(t, 0, sizeof(*t));
	t->is = is;
}

void irc_track_clear(struct irc_track *t)
{
	uint64_t next_uid = t->next_uid;

	for (size_t i = 0; i < t->nchans; i++)
		free(t->chans[i].members);
	free(t->users);
	irc_track_init(t, t->is);
	t->next_uid = next_uid;   /* a person seen before the reconnect is not one seen after */
}

static void fold(const struct irc_track *t, const char *s, char *out)
{
	irc_casefold(t->is->casemap, s, out, IRC_NAME_MAX);
}

static struct irc_chan *chan_find(const struct irc_track *t, const char *chan)
{
	char f[IRC_NAME_MAX];

	fold(t, chan, f);
	for (size_t i = 0; i < t->nchans; i++)
		if (strcmp(t->chans[i].name, f) == 0)
			return (struct irc_chan *)&t->chans[i];
	return NULL;
}

static struct irc_member *member_find(const struct irc_track *t, struct irc_chan *c, const char *nick)
{
	char f[IRC_NAME_MAX];

	fold(t, nick, f);
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->members[i].nick, f) == 0)
			return &c->members[i];
	return NULL;
}

static struct irc_user *user_find(const struct irc_track *t, const char *nick)
{
	char f[IRC_NAME_MAX];

	fold(t, nick, f);
	for (size_t i = 0; i < t->nusers; i++)
		if (strcmp(t->users[i].folded, f) == 0)
			return &t->users[i];
	return NULL;
}

static struct irc_user *user_get(struct irc_track *t, const char *nick)
{
	struct irc_user *u = user_find(t, nick);

	if (u)
		return u;
	if (t->nusers == t->capusers) {
		size_t cap = t->capusers ? t->capusers * 2 : 32;
		struct irc_user *n;
		if (t->nusers >= IRC_TRACK_MAX_USERS)
			return NULL;
		n = realloc(t->users, cap * sizeof(*n));
		if (!n)
			return NULL;
		t->users = n;
		t->capusers = cap;
	}
	u = &t->users[t->nusers++];
	memset(u, 0, sizeof(*u));
	snprintf(u->nick, sizeof(u->nick), "%s", nick);
	fold(t, nick, u->folded);
	u->uid = ++t->next_uid;
	return u;
}

static void user_drop_if_gone(struct irc_track *t, const char *nick)
{
	struct irc_user *u;

	for (size_t i = 0; i < t->nchans; i++)
		if (member_find(t, &t->chans[i], nick))
			return;
	u = user_find(t, nick);
	if (u)
		*u = t->users[--t->nusers];
}

int irc_track_chan_add(struct irc_track *t, const char *chan)
{
	struct irc_chan *c = chan_find(t, chan);

	if (c) {
		c->n = 0;     /* a fresh NAMES list follows */
		return HE_OK;
	}
	if (t->nchans == IRC_TRACK_MAX_CHANS)
		return HE_TOOBIG;
	c = &t->chans[t->nchans++];
	memset(c, 0, sizeof(*c));
	fold(t, chan, c->name);
	return HE_OK;
}

void irc_track_chan_del(struct irc_track *t, const char *chan)
{
	struct irc_chan *c = chan_find(t, chan);
	struct irc_member *m;
	size_t n;

	if (!c)
		return;
	m = c->members;
	n = c->n;
	*c = t->chans[--t->nchans];
	for (size_t i = 0; i < n; i++)
		user_drop_if_gone(t, m[i].nick);
	free(m);
}

bool irc_track_in_chan(const struct irc_track *t, const char *chan)
{
	return chan_find(t, chan) != NULL;
}

static struct irc_member *member_add(struct irc_track *t, struct irc_chan *c, const char *nick)
{
	struct irc_member *m = member_find(t, c, nick);

	if (m)
		return m;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct irc_member *n;
		if (c->n >= IRC_TRACK_MAX_MEMBERS)
			return NULL;
		n = realloc(c->members, cap * sizeof(*n));
		if (!n)
			return NULL;
		c->members = n;
		c->cap = cap;
	}
	m = &c->members[c->n++];
	memset(m, 0, sizeof(*m));
	fold(t, nick, m->nick);
	return m;
}

int irc_track_join(struct irc_track *t, const char *chan, const char *nick, const char *account)
{
	struct irc_chan *c = chan_find(t, chan);
	struct irc_user *u;

	if (!c)
		return HE_NOTFOUND;
	if (!member_add(t, c, nick) || !(u = user_get(t, nick)))
		return HE_TOOBIG;
	if (account)
		snprintf(u->account, sizeof(u->account), "%s", strcmp(account, "*") == 0 ? "" : account);
	return HE_OK;
}

int irc_track_names_entry(struct irc_track *t, const char *chan, const char *entry)
{
	struct irc_chan *c = chan_find(t, chan);
	struct irc_member *m;
	unsigned modes = 0;
	char nick[IRC_NAME_MAX];
	size_t n = 0;
	int r;

	if (!c)
		return HE_NOTFOUND;
	while (*entry && (r = irc_prefix_rank_char(t->is, *entry)) >= 0) {
		modes |= 1u << r;
		entry++;
	}
	while (entry[n] && entry[n] != '!' && entry[n] != '@' && n + 1 < sizeof(nick)) {
		nick[n] = entry[n];
		n++;
	}
	nick[n] = '\0';
	if (!n)
		return HE_INVAL;
	if (!(m = member_add(t, c, nick)) || !user_get(t, nick))
		return HE_TOOBIG;
	m->modes = modes;
	return HE_OK;
}

void irc_track_part(struct irc_track *t, const char *chan, const char *nick)
{
	struct irc_chan *c = chan_find(t, chan);
	struct irc_member *m = c ? member_find(t, c, nick) : NULL;

	if (!m)
		return;
	*m = c->members[--c->n];
	user_drop_if_gone(t, nick);
}

void irc_track_quit(struct irc_track *t, const char *nick)
{
	for (size_t i = 0; i < t->nchans; i++) {
		struct irc_member *m = member_find(t, &t->chans[i], nick);
		if (m)
			*m = t->chans[i].members[--t->chans[i].n];
	}
	user_drop_if_gone(t, nick);
}

void irc_track_nick(struct irc_track *t, const char *from, const char *to)
{
	struct irc_user *u = user_find(t, from), *old = user_find(t, to);

	if (old && old != u) {
		/* a stale entry for the new nick: whoever it was, it is not this person */
		size_t i = (size_t)(old - t->users);
		t->users[i] = t->users[--t->nusers];
		u = user_find(t, from);
	}

	for (size_t i = 0; i < t->nchans; i++) {
		struct irc_chan *c = &t->chans[i];
		struct irc_member *m = member_find(t, c, from), *stale = member_find(t, c, to);
		if (m && stale && stale != m) {
			*stale = c->members[--c->n];
			m = member_find(t, c, from);
		}
		if (m)
			fold(t, to, m->nick);
	}
	if (u) {
		snprintf(u->nick, sizeof(u->nick), "%s", to);
		fold(t, to, u->folded);
	}
}

void irc_track_mode(struct irc_track *t, const char *chan, const char *modes,
		    const char *const *args, size_t nargs)
{
	struct irc_chan *c = chan_find(t, chan);
	bool adding = true;
	size_t ai = 0;

	if (!c)
		return;
	for (const char *p = modes; *p; p++) {
		int rank;
		if (*p == '+' || *p == '-') {
			adding = *p == '+';
			continue;
		}
		if (!irc_mode_has_param(t->is, *p, adding))
			continue;
		if (ai >= nargs)
			return;
		rank = irc_prefix_rank_mode(t->is, *p);
		if (rank >= 0) {
			struct irc_member *m = member_find(t, c, args[ai]);
			if (m) {
				if (adding)
					m->modes |= 1u << rank;
				else
					m->modes &= ~(1u << rank);
			}
		}
		ai++;
	}
}

void irc_track_account(struct irc_track *t, const char *nick, const char *account)
{
	struct irc_user *u = user_find(t, nick);

	if (u)
		snprintf(u->account, sizeof(u->account), "%s",
			 !account || strcmp(account, "*") == 0 ? "" : account);
}

void irc_track_forget_accounts(struct irc_track *t)
{
	for (size_t i = 0; i < t->nusers; i++)
		t->users[i].account[0] = '\0';
}

const char *irc_track_account_of(const struct irc_track *t, const char *nick)
{
	const struct irc_user *u = user_find(t, nick);
	return u ? u->account : "";
}

const char *irc_track_nick_of_account(const struct irc_track *t, const char *account)
{
	for (size_t i = 0; i < t->nusers; i++)
		if (t->users[i].account[0] && irc_caseeq(t->is->casemap, t->users[i].account, account))
			return t->users[i].nick;
	return NULL;
}

void irc_track_holder(const struct irc_track *t, const char *nick, const char *account,
		      struct irc_holder *h)
{
	const struct irc_user *u = user_find(t, nick);

	snprintf(h->nick, sizeof(h->nick), "%s", nick);
	snprintf(h->account, sizeof(h->account), "%s", account ? account : "");
	h->uid = u ? u->uid : 0;
}

bool irc_track_holder_same(const struct irc_track *t, const struct irc_holder *h)
{
	const struct irc_user *u = user_find(t, h->nick);

	if (h->uid) {
		if (!u || u->uid != h->uid)
			return false;     /* changed nick, quit or left; or another person holds it now */
	} else if (u && !h->account[0]) {
		return false;             /* unknown then, someone is here with it now: cannot tell */
	}
	if (h->account[0] && u && !irc_caseeq(t->is->casemap, u->account, h->account))
		return false;             /* logged out, or into another account */
	return true;
}

bool irc_track_is_op(const struct irc_track *t, const char *chan, const char *nick)
{
	struct irc_chan *c = chan_find(t, chan);
	struct irc_member *m = c ? member_find(t, c, nick) : NULL;
	int op = irc_prefix_rank_mode(t->is, 'o');

	if (!m || op < 0)
		return false;
	/* 'o' or any mode ranked above it (q, a) */
	return (m->modes & ((2u << op) - 1)) != 0;
}

bool irc_track_has_user(const struct irc_track *t, const char *nick)
{
	return user_find(t, nick) != NULL;
}
