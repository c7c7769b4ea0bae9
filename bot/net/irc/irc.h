/* irc.h - the IRC transport: one connection per [irc.NAME] section, transport name "irc.NAME".
 *
 * TLS verified by default, CAP LS 302, SASL PLAIN/EXTERNAL, IRCv3 tags, nick fallback and regain,
 * lag detection, reconnect with capped exponential backoff and jitter, a token-bucket send queue
 * for every line after registration, channel operators and configured services accounts as
 * moderators. Messages become struct hmsg: sender "account:NAME" when the services account is
 * known, else "nick:NICK" with sender_transient set (a nick passes to whoever takes it next);
 * room is the case-folded channel, or the case-folded nick in a query. A private reply or post is
 * bound to the member it is for and dropped, unsent, if their nick has passed to someone else by
 * the time its turn in the send queue comes (see irc_track_holder_same()). Private posts go to
 * services accounts only. */
#ifndef HEARTH_IRC_H
#define HEARTH_IRC_H

#include "core/app.h"

/* Starts every configured IRC network (connections are made from the loop). Returns 0 or a
 * negative HE_* code (logged) when a transport cannot be set up. */
int irc_start(struct happ *app);
/* Only the network app->cfg->irc[idx] (a standby that took over [irc.NAME]). */
int irc_start_net(struct happ *app, size_t idx);

#endif
