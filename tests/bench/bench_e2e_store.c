/* bench_e2e_store: the encryption store stays bounded (issue 16, point 4). Prints figures and
 * exits 1 when a bound does not hold.
 *
 * 50 member devices send 10,000 encrypted commands in one room (200 each); Hearth's device
 * decrypts each and answers every tenth. Hearth's clock advances 10 minutes per command (69 days
 * in all), so the hourly pruning runs and seen-message indexes pass 30 days. The members rotate
 * their Megolm session every 10 messages (20 room keys per device, one every 3.5 days), and
 * before each rotation forget their Olm session with Hearth, so every device starts a new Olm
 * session 20 times (as a wedged or hostile device would). Every 1,000 commands: the store's
 * live size and its rows. Bounds: at most E2E_OLM_KEEP + 1 Olm sessions per device, seen
 * indexes only from the last 30 days (plus one hour), room keys received at most
 * E2E_INBOUND_KEEP + 1 per member device (fewer than ten of a member's sessions fall in any 30
 * days here) and, for Hearth's own sessions (kept to read its own messages; one every 10
 * replies, 16.7 hours), those of the last 30 days plus two, and the live size at the end at
 * most 1.5 times that at the half. */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "e2e_router.h"
#include "core/log.h"

#define ROOM "!bench:example.org"
#define DEVICES 50
#define COMMANDS 10000
#define STEP_MS (10ull * 60 * 1000)
#define ROTATE 10 /* messages per Megolm session of a member, and of Hearth */
#define REPLY_EVERY 10 /* Hearth answers every tenth command */
/* Hearth's own sessions that the last 30 days hold, plus two */
#define OWN_MAX ((long)(E2E_INBOUND_IDLE_MS / (ROTATE * REPLY_EVERY * STEP_MS)) + 2)

static uint64_t fake_ms;
static uint64_t fake_clock(void) { return fake_ms; }

static long one(struct store *st, const char *sql)
{
	sqlite3_stmt *s = store_stmt(st, sql);
	long n = -1;
	if (s && sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	if (s)
		sqlite3_reset(s);
	return n;
}

static long live_bytes(struct store *st)
{
	return (one(st, "PRAGMA page_count") - one(st, "PRAGMA freelist_count")) *
	       one(st, "PRAGMA page_size");
}

int main(void)
{
	struct hs *h = hs_new();
	static struct cl *c[DEVICES + 1];
	char pbot[] = "/tmp/bench-e2e-store.db", user[64], id[32];
	json_t *conf = json_pack("{s:s, s:i}", "algorithm", "m.megolm.v1.aes-sha2",
				 "rotation_period_msgs", ROTATE);
	json_t *reply = json_pack("{s:s, s:s}", "msgtype", "m.notice", "body", "Thank you for checking in.");
	long half = 0, end, olm_max = 0, seen_max = 0, in_max = 0, own_max = 0;
	int failures = 0, bad = 0;
	double t0;

	hlog_set_level(HLOG_ERROR);
	unlink(pbot);
	c[0] = hs_add(h, "@hearth:example.org", "HEARTH", pbot);
	for (int i = 1; i <= DEVICES; i++) {
		snprintf(user, sizeof(user), "@m%d:example.org", i);
		c[i] = hs_add(h, user, "DEV", NULL);
	}
	hs_run(h);
	if (hs_join(c, DEVICES + 1, ROOM, conf, NULL, 0))
		abort();
	fake_ms = (uint64_t)time(NULL) * 1000;
	e2e_set_clock(c[0]->e, fake_clock);
	t0 = (double)clock() / CLOCKS_PER_SEC;
	printf("%8s %10s %8s %8s %8s\n", "commands", "live bytes", "olm", "seen", "inbound");
	for (int i = 0; i < COMMANDS; i++) {
		struct cl *m = c[1 + i % DEVICES];
		json_t *enc = NULL, *ev, *plain = NULL, *out = NULL;
		int sent = i / DEVICES; /* this member's messages so far */

		if (sent % ROTATE == 0 && sent > 0)
			store_exec(m->st, "DELETE FROM e2e_olm_session"); /* a new Olm session next */
		if (cl_encrypt(m, ROOM, "!mood 6", &enc)) {
			failures++;
			continue;
		}
		hs_flush(h);
		cl_sync(c[0]); /* the room key, when it is new */
		snprintf(id, sizeof(id), "$c%d", i);
		ev = hs_event(m, enc, id);
		if (e2e_decrypt_room_event(c[0]->e, ROOM, ev, &plain) != HE_OK)
			failures++;
		if (i % REPLY_EVERY == 0) {
			int tries = 0, rc;
			while ((rc = e2e_encrypt_room_event(c[0]->e, ROOM, "m.room.message", reply, &out)) ==
				       HE_AGAIN && tries++ < 20)
				hs_flush(h);
			if (rc)
				failures++;
			for (int k = 1; k <= DEVICES; k++) /* members take what Hearth sent them */
				json_array_clear(c[k]->inbox);
		}
		json_decref(out);
		json_decref(plain);
		json_decref(ev);
		json_decref(enc);
		fake_ms += STEP_MS;
		if ((i + 1) % 1000 == 0) {
			long olm = one(c[0]->st, "SELECT max(n) FROM (SELECT count(*) AS n FROM e2e_olm_session"
						 " GROUP BY sender_key)");
			long seen = one(c[0]->st, "SELECT count(*) FROM e2e_seen");
			long bytes = live_bytes(c[0]->st);
			long in = store_count(c[0]->st, "SELECT COALESCE(max(n), 0) FROM (SELECT count(*)"
					      " AS n FROM e2e_inbound WHERE sender_key != ? GROUP BY"
					      " room_id, sender_key) AS r", "s", e2e_curve25519_key(c[0]->e));
			long own = store_count(c[0]->st, "SELECT count(*) FROM e2e_inbound WHERE"
					       " sender_key = ?", "s", e2e_curve25519_key(c[0]->e));
			printf("%8d %10ld %8ld %8ld %8ld\n", i + 1, bytes, olm, seen,
			       one(c[0]->st, "SELECT count(*) FROM e2e_inbound"));
			in_max = in > in_max ? in : in_max;
			own_max = own > own_max ? own : own_max;
			fflush(stdout);
			olm_max = olm > olm_max ? olm : olm_max;
			seen_max = seen > seen_max ? seen : seen_max;
			if (i + 1 == COMMANDS / 2)
				half = bytes;
		}
	}
	end = live_bytes(c[0]->st);
	printf("%d commands from %d devices in %.1f s CPU, %d failed\n", COMMANDS, DEVICES,
	       (double)clock() / CLOCKS_PER_SEC - t0, failures);
	if (olm_max > E2E_OLM_KEEP + 1) {
		printf("NOT BOUNDED: %ld Olm sessions for one device (keep %d)\n", olm_max, E2E_OLM_KEEP);
		bad = 1;
	}
	if ((uint64_t)seen_max > (E2E_SEEN_KEEP_MS + E2E_PRUNE_EVERY_MS) / STEP_MS + 1) {
		printf("NOT BOUNDED: %ld seen indexes (30 days are %llu commands here)\n", seen_max,
		       (unsigned long long)(E2E_SEEN_KEEP_MS / STEP_MS));
		bad = 1;
	}
	if (in_max > E2E_INBOUND_KEEP + 1) {
		printf("NOT BOUNDED: %ld room keys received from one device (keep %d)\n", in_max,
		       E2E_INBOUND_KEEP);
		bad = 1;
	}
	if (own_max > OWN_MAX) {
		printf("NOT BOUNDED: %ld of Hearth's own sessions kept (30 days hold %ld)\n", own_max,
		       OWN_MAX - 2);
		bad = 1;
	}
	if (end > half * 3 / 2) {
		printf("NOT BOUNDED: %ld live bytes at the end, %ld at the half\n", end, half);
		bad = 1;
	}
	if (failures) {
		printf("FAILED: %d commands did not go through\n", failures);
		bad = 1;
	}
	if (!bad)
		printf("bounded: Olm sessions per device <= %ld, seen indexes <= %ld, room keys per "
		       "member device <= %ld, own <= %ld, %ld live bytes at the end (%ld at the "
		       "half)\n", olm_max, seen_max, in_max, own_max, end, half);
	json_decref(conf);
	json_decref(reply);
	hs_free(h);
	unlink(pbot);
	return bad;
}
