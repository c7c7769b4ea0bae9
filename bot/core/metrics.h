/* metrics.h - counters, gauges and histograms for Prometheus (/metrics, core/admin.c).
 *
 * One process-wide registry, like the log level: transports and the router report with one-line
 * calls at their edges, the admin endpoint renders the text format. No label ever carries a
 * user id, a room id or text: the only labels are `network` (a configured transport name:
 * "matrix", "irc.NAME", "console") and `command` (a name from the command table, or "unknown"),
 * and a label value that is not a short [A-Za-z0-9._-] word is recorded as "other". The number of
 * series is capped (METRICS_MAX_SERIES); beyond it, new series are dropped, never allocated.
 * Every call is cheap (no allocation) and safe before anything is set up. */
#ifndef HEARTH_METRICS_H
#define HEARTH_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"

#define METRICS_MAX_SERIES 256

/* The router: one command handled (before it runs); a reply handed to the transport, ok or not
 * (its latency counts from the start of the message's dispatch). */
void metrics_command(const char *network, const char *command);
void metrics_reply(const char *network, bool ok);
/* Around happ_dispatch: the time Hearth itself spends on one message. */
void metrics_dispatch_begin(void);
void metrics_dispatch_end(void);

/* Networks: connected (Matrix: the last /sync answered; IRC: registered) or not. /healthz is 200
 * only when every configured network is up. */
void metrics_net_up(const char *network, bool up);
bool metrics_net_is_up(const char *network);

/* Matrix: a /sync answered (ok) or failed; an event that could not be decrypted; a room key
 * requested from other devices. */
void metrics_matrix_sync(bool ok);
void metrics_e2e_undecryptable(void);
void metrics_e2e_key_request(void);

/* IRC: a reconnect scheduled; the send queue's depth now. */
void metrics_irc_reconnect(const char *network);
void metrics_irc_sendq(const char *network, long depth);

/* A crisis answer sent (a count only); a store error. */
void metrics_crisis_answer(void);
void metrics_store_error(void);

/* Renders every family in the Prometheus text format (version 0.0.4) into b. mood_members is
 * the count of members with a mood log (the caller asks the store; -1 leaves it out). */
int metrics_render(struct hbuf *b, long mood_members);

/* Tests: forget every value. */
void metrics_reset(void);

#endif
