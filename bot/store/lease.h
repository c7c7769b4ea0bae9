/* lease.h - one active Hearth per network section: a lease row with a fencing number.
 *
 * Two Hearth processes may share one PostgreSQL store. For each network section ("matrix",
 * "irc.NAME") one row of the table `lease` says who is active:
 *
 *   lease(section TEXT PRIMARY KEY, holder TEXT, fence BIGINT, expires_at BIGINT)
 *
 * lease_take() acquires or renews it in ONE conditional statement: it succeeds when the row is
 * ours or has expired, and the fence grows by one only when the holder changes. expires_at is in
 * milliseconds of the database server's clock (PostgreSQL: clock_timestamp()), so two machines'
 * clocks never matter. The holder id is host:pid:random.
 *
 * Every write that matters for a section (the Matrix sync position, Olm/Megolm state, sent-reply
 * records) runs in a transaction that first reads the fence back (FOR SHARE on PostgreSQL, so a
 * takeover waits for the write to commit, or the write sees the new fence): lease_guard(). A
 * holder whose fence is no longer the table's writes nothing; the lease is then marked lost,
 * and the owner (core/standby.c) stops the section and waits as a standby.
 *
 * On SQLite the store is one file on one machine and a lock file lets one Hearth use it, so the
 * same code runs and the lease is always held by that one process.
 *
 * Leases register themselves by section, so that code far from the owner (the crypto store)
 * can fence its writes with lease_guard_section() without a pointer being passed down.
 *
 * What a process whose lease is gone (it woke from a freeze, or was cut off while another took
 * over) could still write, and why each is safe:
 *   fenced here (lease_guard in the write's transaction): the Matrix sync position, every
 *     Olm/Megolm transaction, owed-reply records (net/matrix/owed.c, and the IRC channel
 *     commands' in net/irc/owed.c), check-in prompt records and scheduled check-ins still
 *     being sent (net/matrix/react.c, sched_post.c), the
 *     session rows: access token, device id, filter (matrix.c), and a scheduled check-in's
 *     "posted" mark (care/sched.c through happ_fenced_begin, core/app.h), taken BEFORE the post
 *     as a compare-and-set, so a refused mark means no post either;
 *   gated by the local deadline (lease_valid, which ends LEASE_MARGIN_MS before the row does):
 *     everything the care layer writes for a member's message or a room event (mood entries,
 *     consent, reminders, settings, schedules, check-in rotation, member language: happ_dispatch
 *     and happ_room_event refuse), and what it does unprompted (scheduled check-ins, mood
 *     reminders and their "sent" day: happ_transport() finds no transport). The write comes
 *     after the check within one turn of the loop, far less than the margin;
 *   harmless: the owed joins and gaps (a join is idempotent; a gap row only makes the active
 *     read a stretch of timeline again, whose events the owed records already answered), the
 *     daily mood purge and the prune of old prompt and owed rows (deletes by a fixed age, the
 *     same rows whoever runs them), the IRC STS policy (what the server itself declared).
 * A process that finds its lease gone restarts as a standby (core/standby.h). */
#ifndef HEARTH_LEASE_H
#define HEARTH_LEASE_H

#include <stdbool.h>
#include <stdint.h>

struct store;
struct lease;

#define LEASE_TTL_MS 10000   /* a standby takes over at most this long after the last renew */
#define LEASE_RENEW_MS 3000  /* the active instance renews this often */
#define LEASE_SECTION_MAX 64

/* Creates the table (module "lease" in schema_version). */
int lease_migrate(struct store *s);
/* PostgreSQL: the connection's settings for leases (a session frozen inside a transaction is
 * ended by the server after 3 s, so its row lock cannot hold a takeover back), kept across
 * reconnects. Nothing on SQLite. */
int lease_setup(struct store *s);

/* A lease for section (not yet taken). holder NULL: host:pid:random. The lease registers itself
 * for lease_guard_section(); lease_free() unregisters it. */
int lease_new(struct store *s, const char *section, const char *holder, struct lease **out);
void lease_free(struct lease *l);                        /* accepts NULL */

/* Acquires or renews: HE_OK with *held true (lease_fence() then says the fence), or *held false
 * when another holder's lease has not expired. A holder that was active and comes back with
 * another fence (someone held it in between) gets *held false and the lease is marked lost.
 * HE_DB/HE_IO when the database cannot be reached (*held false; the lease is lost only when
 * its local deadline passes, see lease_valid()). ttl_ms 0: LEASE_TTL_MS. */
int lease_take(struct lease *l, int64_t ttl_ms, bool *held);
/* Gives the lease up at once (clean shutdown): the row expires now if it is still ours. */
int lease_release(struct lease *l);
/* The daemon on SQLite: its lock file makes it the only process using the store, so the lease
 * is exclusive: it never runs out locally (a busy loop cannot lose it) and a row left by a
 * process that was killed before it could give it up is taken at once, not after the TTL. */
void lease_set_exclusive(struct lease *l, bool on);

int64_t lease_fence(const struct lease *l);   /* 0 when never held */
const char *lease_holder(const struct lease *l);
const char *lease_section(const struct lease *l);
/* True while held and the local deadline (the time the last successful renew was sent plus
 * the TTL, less a margin, on CLOCK_BOOTTIME, which keeps running through SIGSTOP and
 * suspend) has not passed. A process frozen past its TTL finds it false on waking. */
bool lease_valid(const struct lease *l);
/* True once the lease was lost (a fenced write refused, a renew refused, the local deadline
 * passed); lease_take() that succeeds clears it. */
bool lease_lost(const struct lease *l);
/* Marks the lease lost and logs it once ("lost the lease for [matrix]; going back to
 * standby"); the callback set with lease_on_lost() runs (once). */
void lease_mark_lost(struct lease *l, const char *why);
void lease_on_lost(struct lease *l, void (*fn)(struct lease *l, void *arg), void *arg);

/* Inside an open transaction: HE_OK when the table's fence for the section is still ours
 * (an exclusive lease is always ours while valid: nothing is read); HE_PERM (and the lease is
 * marked lost) when it is not, or when the lease is not valid. */
int lease_guard(struct lease *l);
/* db_begin() then lease_guard(); on refusal the transaction is rolled back. */
int lease_begin(struct lease *l);
/* The same for the lease registered for section; HE_OK when none is (SQLite tools, tests
 * without a lease, `hearth admin`). */
int lease_guard_section(struct store *s, const char *section);
/* For one fenced write that may or may not run inside a caller's transaction: opens a fenced
 * transaction when none is open (*own true), else only checks the fence inside the caller's.
 * Without a lease registered for section, or with an exclusive one (the daemon on SQLite: no
 * other process can take it), nothing is opened and the fence is not read (*own false): a plain
 * write, so a caller must not count on lease_open for atomicity. lease_end() commits
 * (rc HE_OK) or rolls back what lease_open() opened, and returns rc or the commit's error. */
int lease_open(struct store *s, const char *section, bool *own);
int lease_end(struct store *s, bool own, int rc);
/* The registered lease for section, or NULL. */
struct lease *lease_find(const char *section);
/* The same, among the leases on store s (two instances in one test process, each its store). */
struct lease *lease_find_store(struct store *s, const char *section);

#endif
