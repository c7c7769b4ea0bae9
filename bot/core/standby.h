/* standby.h - two Hearth processes, one active per network section (issue 13).
 *
 * Each network section ("matrix", "irc.NAME") starts only while this process holds its lease
 * (store/lease.h). A loop timer renews held leases every LEASE_RENEW_MS and, for sections held
 * by another process, tries to take them over (every STANDBY_POLL_MS): a standby takes over at
 * most LEASE_TTL_MS + STANDBY_POLL_MS after the active process stopped renewing.
 *
 * When a lease is lost (a fenced write refused, a renew refused or too late, a message that
 * arrives after the local deadline), the section must drop everything it has in memory. Hearth
 * does that the one way that cannot leave stale state behind: it stops the loop (no queued
 * reply is flushed), frees everything, and executes itself again with the same arguments. The
 * new process comes up as a standby for the lost section; the sections it still held keep their
 * lease (the holder id passes in HEARTH_LEASE_RESUME_HOLDER, so their fence does not change).
 *
 * On SQLite one process uses the store (lock file), so every lease is taken at the first tick. */
#ifndef HEARTH_STANDBY_H
#define HEARTH_STANDBY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/app.h"

#define STANDBY_POLL_MS 1000

struct standby;
struct lease;

/* Starts the section's transport (it registers itself with happ_add_transport). */
typedef int (*standby_start_fn)(struct happ *app, size_t idx);

int standby_new(struct happ *app, struct standby **out);
/* Frees; held leases are given up (expire now) unless the process is about to re-execute. */
void standby_free(struct standby *sb);
/* One section, started by fn(app, idx) once its lease is held. */
int standby_add(struct standby *sb, const char *section, standby_start_fn fn, size_t idx);
/* Takes what it can now and arms the timer. */
int standby_start(struct standby *sb);
/* The number of sections (held or not). */
size_t standby_count(const struct standby *sb);
/* After the loop stopped because a lease was lost: true, and Hearth should execute itself
 * again (standby_reexec) instead of exiting. */
bool standby_wants_reexec(const struct standby *sb);
/* This process's holder id (host:pid:random), for standby_reexec after standby_free. */
const char *standby_holder(const struct standby *sb);
/* Executes the running binary again with argv, the holder id passed on (returns only on
 * failure, logged). */
int standby_reexec(const char *holder, char **argv);

#endif
