/* Unit tests for one-tap check-ins on Matrix (bot/net/matrix/react.c): the five emoji map to
 * 2..10, with or without the emoji variation selector, any other key is no answer; a check-in
 * prompt is kept in the store, so a prompt posted before a restart (a fresh transport, app and
 * store on the same database) takes a tap after it; reactions to anything else, from Hearth
 * itself, in another room or with oversized ids still do nothing; the prompts are bounded (two
 * days, PROMPTS_PER_ROOM per room). The scale goes on when the prompt's PUT is answered (its
 * echo no longer comes back: the sync filter leaves Hearth's own events out), with the same
 * transaction ids in every process; a prompt recorded but not scaled before a restart gets its
 * scale after it, once (so does one answered while stopping: the grace period is for replies); a hostile homeserver's oversized event id records nothing.
 * A scheduled check-in (sched_post.c) is recorded as pending before its PUT, under a transaction
 * id made from room and slot; the answer makes it a prompt and scales it; a restart before the
 * answer sends it again with the same id (then scales it), one over two hours old or in a room
 * left is dropped; no event id, an oversized one or a refusal record nothing; fenced. Runs on SQLite and, as unit.mx_react.pg, on PostgreSQL. The
 * flows against a real homeserver run in tests/matrix/test_look.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/log.h"
#include "net/matrix/mx.h"
#include "store/lease.h"
#include "store/store.h"
#include "testapp.h"

#define NOW 1773576000
#define ROOM "!group:hs"

static void test_scale_keys(void **state)
{
	assert_int_equal(mx_react_score("😞"), 2);
	assert_int_equal(mx_react_score("🙁"), 4);
	assert_int_equal(mx_react_score("😐"), 6);
	assert_int_equal(mx_react_score("🙂"), 8);
	assert_int_equal(mx_react_score("😄"), 10);
	assert_int_equal(mx_react_score("🙂\xef\xb8\x8f"), 8);
	assert_int_equal(mx_react_score("👍"), 0);
	assert_int_equal(mx_react_score("🙂🙂"), 0);
	assert_int_equal(mx_react_score("8"), 0);
	assert_int_equal(mx_react_score(""), 0);
	assert_int_equal(mx_react_score("\xef\xb8\x8f"), 0);
	assert_int_equal(mx_react_score(NULL), 0);
}

/* ---- prompts across a restart ---- */

static struct htransport_ops ops;
static int privates;
static char last_private[512];

static int post_private_cb(struct htransport *t, const char *member, const char *md)
{
	privates++;
	snprintf(last_private, sizeof(last_private), "%s", md);
	return HE_OK;
}

/* One run of Hearth: the app and its store on db, and a Matrix transport with no network (what
 * it sends finds no joined room and is dropped; what it hears is fed by hand). */
struct run {
	struct testapp *ta;
	struct mx *mx;
	struct mx_room room;
};

static struct run *run_start(const char *db)
{
	struct run *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	hlog_set_level(HLOG_ERROR);
	r->ta = ta_new(db);
	assert_non_null(r->ta);
	hlog_set_level(HLOG_ERROR);
	r->ta->app.fake_now = NOW;
	assert_int_equal(mx_react_init(r->ta->app.store, NOW), HE_OK); /* as mx_new does */
	ops = *r->ta->t.ops;
	ops.post_private = post_private_cb;
	r->ta->t.ops = &ops; /* private replies go by network name: "test" is this one */
	r->mx = calloc(1, sizeof(*r->mx));
	assert_non_null(r->mx);
	r->mx->app = &r->ta->app;
	r->mx->user_id = strdup("@hearth:hs");
	snprintf(r->mx->t.name, sizeof(r->mx->t.name), "test"); /* the care layer's network */
	r->mx->t.ops = &ops;
	r->mx->t.impl = r->ta;
	r->room.mx = r->mx;
	r->room.id = (char *)ROOM;
	return r;
}

static void run_stop(struct run *r)
{
	mx_react_free(r->mx);
	mx_md_cache_free(r->mx);
	free(r->mx->user_id);
	free(r->mx);
	ta_free(r->ta);
	free(r);
}

static void feed(struct run *r, struct mx_room *room, const char *json)
{
	json_error_t err;
	json_t *j = json_loads(json, 0, &err);
	struct mx_event ev;

	assert_non_null(j);
	assert_int_equal(mx_event_parse(j, &ev), HE_OK);
	mx_react_event(r->mx, room, &ev);
	json_decref(j);
}

/* `!checkin` said as $cmd in ROOM: the prompt goes out, and the homeserver answers its PUT with
 * the event id $prompt (send.c's on_sent). */
static void post_checkin(struct run *r, const char *prompt)
{
	struct hmsg_ref ref = { .room_id = ROOM, .event_id = "$cmd" };
	struct hmsg in = { .network = "test", .room = ROOM, .sender = "@m:hs", .text = "!checkin",
			   .ref = &ref };
	struct htransport t = { .impl = r->mx };
	char txn[48];

	mx_txn_for_event("$cmd", 0, txn);
	mx_op_post_checkin(&t, &in, ROOM, "How are you today?", NULL);
	mx_react_sent(r->mx, ROOM, "m.room.message", txn, NULL, 200, prompt);
}

/* The room as joined, its send queue held (no network in these tests): what is sent queues. */
static struct mx_room *hold_room(struct run *r)
{
	struct mx_room *room = mx_room_add(r->mx, ROOM);

	assert_non_null(room);
	room->membership = MX_M_JOINED;
	room->retry_timer = 1;
	return room;
}

static void drop_rooms(struct run *r)
{
	for (struct mx_room *room = r->mx->rooms; room; room = room->next)
		room->retry_timer = 0;
	mx_rooms_free(r->mx);
}

static long unscaled(struct run *r)
{
	return store_count(r->ta->app.store, "SELECT count(*) FROM mx_checkin_prompt WHERE scaled = 0", "");
}

/* The answer to the PUT of the scale's step i under prompt. */
static void scale_answered(struct run *r, const char *prompt, size_t i, int status)
{
	static const char *const keys[] = { "😞", "🙁", "😐", "🙂", "😄" };
	char txn[48];
	json_t *c = json_pack("{s:{s:s, s:s, s:s}}", "m.relates_to", "rel_type", "m.annotation",
			      "event_id", prompt, "key", keys[i]);

	mx_react_scale_txn(prompt, i, txn);
	mx_react_sent(r->mx, ROOM, "m.reaction", txn, c, status, "$r");
	json_decref(c);
}

static void react(struct run *r, struct mx_room *room, const char *sender, const char *id,
		  const char *target, const char *key)
{
	char ev[2048];

	snprintf(ev, sizeof(ev), "{\"type\":\"m.reaction\",\"event_id\":\"%s\",\"sender\":\"%s\","
		 "\"content\":{\"m.relates_to\":{\"rel_type\":\"m.annotation\",\"event_id\":\"%s\","
		 "\"key\":\"%s\"}}}", id, sender, target, key);
	feed(r, room, ev);
}

static long entries(struct run *r, const char *who)
{
	return store_count(r->ta->app.store, "SELECT count(*) FROM mood_entry WHERE member = ?", "s", who);
}

static void optin(struct run *r, const char *who)
{
	ta_say(r->ta, who, "dm", true, HROLE_MEMBER, "!mood optin");
	ta_say(r->ta, who, "dm", true, HROLE_MEMBER, "!mood optin confirm");
	assert_non_null(strstr(ta_last(r->ta), "only you can see it"));
}

/* A database that outlives one run: a file (SQLite) or a schema named after it (PostgreSQL). */
/* A fresh folder for a test's store file (db: its path), and its removal with the WAL files. */
static void db_folder(char dir[64], char db[96])
{
	snprintf(dir, 64, "/tmp/hearth-mx-react-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(db, 96, "%s/hearth.db", dir);
}

static void db_folder_remove(const char *dir)
{
	static const char *const files[] = { "hearth.db", "hearth.db-wal", "hearth.db-shm" };
	char path[96];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

static void test_prompt_takes_taps_after_restart(void **state)
{
	char dir[64], db[96], big[400];
	struct run *r;
	struct mx_room other = { 0 };

	db_folder(dir, db);
	r = run_start(db);
	optin(r, "@a:hs");
	post_checkin(r, "$prompt");
	assert_int_equal(mx_react_prompt_known(r->ta->app.store, ROOM, "$prompt", NOW), HE_OK);
	run_stop(r);

	/* a restart: a fresh transport, app and store on the same database */
	privates = 0;
	r = run_start(db);
	r->ta->app.fake_now = NOW + 3600;
	react(r, &r->room, "@a:hs", "$tap1", "$prompt", "🙂");
	assert_int_equal(entries(r, "@a:hs"), 1);
	assert_int_equal(privates, 1);
	assert_non_null(strstr(last_private, "Logged **8**"));

	/* a hostile member: taps on anything else do nothing */
	optin(r, "@b:hs");
	privates = 0;
	react(r, &r->room, "@b:hs", "$x1", "$cmd", "🙂");          /* not a prompt */
	react(r, &r->room, "@b:hs", "$x2", "$nothing", "😄");      /* never seen */
	react(r, &r->room, "@b:hs", "$x3", "$prompt", "👍");       /* not a step of the scale */
	react(r, &r->room, "@hearth:hs", "$x4", "$prompt", "😐");  /* Hearth's own scale */
	other.mx = r->mx;
	other.id = (char *)"!elsewhere:hs";                         /* the prompt's id, another room */
	react(r, &other, "@b:hs", "$x5", "$prompt", "🙂");
	memset(big, 'p', sizeof(big) - 1);                          /* ids over the cap */
	big[0] = '$';
	big[sizeof(big) - 1] = '\0';
	react(r, &r->room, "@b:hs", "$x6", big, "🙂");
	react(r, &r->room, "@b:hs", big, "$prompt", "🙂");
	assert_int_equal(entries(r, "@b:hs"), 0);
	assert_int_equal(privates, 0);
	assert_int_equal(mx_react_prompt_add(r->ta->app.store, ROOM, big, NOW), HE_INVAL);
	assert_int_equal(mx_react_prompt_known(r->ta->app.store, ROOM, big, NOW), HE_NOTFOUND);
	/* the table holds ids and time, no member */
	assert_int_equal(store_count(r->ta->app.store, "SELECT count(*) FROM mx_checkin_prompt", ""), 1);
	/* the same member, on the same prompt: one entry all the same */
	react(r, &r->room, "@b:hs", "$b1", "$prompt", "😐");
	assert_int_equal(entries(r, "@b:hs"), 1);
	run_stop(r);

	/* two days later, a restart: the old prompt is pruned and takes no tap */
	hlog_set_level(HLOG_ERROR);
	{
		struct testapp *ta = ta_new(db);
		assert_non_null(ta);
		assert_int_equal(mx_react_init(ta->app.store, NOW + 2 * 24 * 3600 + 1), HE_OK);
		assert_int_equal(store_count(ta->app.store, "SELECT count(*) FROM mx_checkin_prompt", ""), 0);
		ta_free(ta);
	}
	db_folder_remove(dir);
}

static void test_prompts_bounded(void **state)
{
	struct store *s = NULL;
	char id[32];

	hlog_set_level(HLOG_ERROR);
	assert_int_equal(ta_store_open(":memory:", &s), HE_OK);
	assert_int_equal(mx_react_init(s, NOW), HE_OK);
	for (int i = 0; i < 70; i++) {
		snprintf(id, sizeof(id), "$p%02d", i);
		assert_int_equal(mx_react_prompt_add(s, ROOM, id, NOW + i), HE_OK);
	}
	assert_int_equal(mx_react_prompt_add(s, "!other:hs", "$p00", NOW), HE_OK);
	/* the room keeps its newest 64; another room is its own */
	assert_int_equal(store_count(s, "SELECT count(*) FROM mx_checkin_prompt WHERE room_id = ?", "s", ROOM), 64);
	assert_int_equal(mx_react_prompt_known(s, ROOM, "$p05", NOW + 100), HE_NOTFOUND);
	assert_int_equal(mx_react_prompt_known(s, ROOM, "$p06", NOW + 100), HE_OK);
	assert_int_equal(mx_react_prompt_known(s, ROOM, "$p69", NOW + 100), HE_OK);
	assert_int_equal(mx_react_prompt_known(s, "!other:hs", "$p00", NOW + 100), HE_OK);
	/* the same prompt twice is one row */
	assert_int_equal(mx_react_prompt_add(s, "!other:hs", "$p00", NOW + 1), HE_OK);
	assert_int_equal(store_count(s, "SELECT count(*) FROM mx_checkin_prompt WHERE room_id = ?", "s", "!other:hs"), 1);
	/* older than two days: no longer a prompt, even before it is pruned */
	assert_int_equal(mx_react_prompt_known(s, "!other:hs", "$p00", NOW + 2 * 24 * 3600 + 1), HE_NOTFOUND);
	/* a new prompt prunes the old ones */
	assert_int_equal(mx_react_prompt_add(s, "!third:hs", "$n", NOW + 2 * 24 * 3600 + 1000), HE_OK);
	assert_int_equal(store_count(s, "SELECT count(*) FROM mx_checkin_prompt", ""), 1);
	assert_int_equal(mx_react_prompt_add(s, "", "$n", NOW), HE_INVAL);
	assert_int_equal(mx_react_prompt_add(s, ROOM, NULL, NOW), HE_INVAL);
	assert_int_equal(mx_react_prompt_known(s, NULL, "$n", NOW), HE_NOTFOUND);
	store_free(s);
}

static void test_scale_on_put_answer(void **state)
{
	struct run *r = run_start(":memory:");
	struct hmsg_ref ref = { .room_id = ROOM, .event_id = "$cmd2" };
	struct hmsg in = { .network = "test", .room = ROOM, .sender = "@m:hs", .text = "!checkin",
			   .ref = &ref };
	struct htransport t = { .impl = r->mx };
	char txn[48], big[400];

	hold_room(r);
	/* the prompt queues; nothing is recorded or scaled before the homeserver answers */
	mx_txn_for_event("$cmd2", 0, txn);
	assert_int_equal(mx_op_post_checkin(&t, &in, ROOM, "How are you today?", NULL), HE_OK);
	assert_int_equal(mx_send_pending(r->mx), 1);
	assert_int_equal(mx_react_scales(r->mx), 0);
	/* an echo of it (a homeserver that ignores the filter's not_senders) adds nothing */
	feed(r, &r->room, "{\"type\":\"m.room.message\",\"event_id\":\"$prompt\",\"sender\":\"@hearth:hs\","
	     "\"content\":{\"msgtype\":\"m.notice\",\"body\":\"How are you?\"}}");
	assert_int_equal(mx_react_scales(r->mx), 0);
	/* other answers: another transaction, another room, a refusal, an oversized id */
	mx_react_sent(r->mx, ROOM, "m.room.message", "other", NULL, 200, "$x");
	mx_react_sent(r->mx, "!elsewhere:hs", "m.room.message", txn, NULL, 200, "$x");
	memset(big, 'p', sizeof(big) - 1);
	big[0] = '$';
	big[sizeof(big) - 1] = '\0';
	mx_react_sent(r->mx, ROOM, "m.room.message", txn, NULL, 200, big);
	assert_int_equal(mx_react_scales(r->mx), 0);
	assert_int_equal(store_count(r->ta->app.store, "SELECT count(*) FROM mx_checkin_prompt", ""), 0);
	/* the oversized answer used up the pending prompt: sent again (a replayed command), answered */
	ref.nsent = 0;
	assert_int_equal(mx_op_post_checkin(&t, &in, ROOM, "How are you today?", NULL), HE_OK);
	mx_react_sent(r->mx, ROOM, "m.room.message", txn, NULL, 200, "$prompt");
	assert_int_equal(mx_react_scales(r->mx), 1);
	assert_int_equal(mx_react_prompt_known(r->ta->app.store, ROOM, "$prompt", NOW), HE_OK);
	assert_int_equal(mx_send_pending(r->mx), 2 + 5); /* two prompts held, five steps */
	assert_int_equal(unscaled(r), 1);
	/* the same answer again adds no second scale */
	mx_react_sent(r->mx, ROOM, "m.room.message", txn, NULL, 200, "$prompt");
	assert_int_equal(mx_react_scales(r->mx), 1);
	/* steps answered: the prompt is scaled at the last one only */
	for (size_t i = 0; i < 4; i++)
		scale_answered(r, "$prompt", i, 200);
	assert_int_equal(unscaled(r), 1);
	scale_answered(r, "$other", 4, 200);                /* another prompt's step */
	assert_int_equal(unscaled(r), 1);
	scale_answered(r, "$prompt", 4, 200);
	assert_int_equal(unscaled(r), 0);
	drop_rooms(r);
	run_stop(r);
}

static void test_scale_after_restart(void **state)
{
	char dir[64], db[96];
	struct run *r;

	db_folder(dir, db);
	r = run_start(db);
	hold_room(r);
	/* a check-in answered while stopping: recorded, its scale left for the next start */
	r->mx->stopping = true;
	post_checkin(r, "$early");
	assert_int_equal(mx_react_scales(r->mx), 0);
	assert_int_equal(unscaled(r), 1);
	r->mx->stopping = false;
	post_checkin(r, "$prompt");
	assert_int_equal(mx_react_scales(r->mx), 1);
	scale_answered(r, "$prompt", 0, 200);
	assert_int_equal(unscaled(r), 2);
	drop_rooms(r);
	run_stop(r); /* a restart before the scale was all answered */

	r = run_start(db);
	hold_room(r);
	mx_react_resume(r->mx);
	assert_int_equal(mx_react_scales(r->mx), 2);
	assert_int_equal(mx_send_pending(r->mx), 10);
	mx_react_resume(r->mx); /* once per process */
	assert_int_equal(mx_react_scales(r->mx), 2);
	/* the same transaction ids as before the restart: the last step marks it scaled */
	scale_answered(r, "$prompt", 4, 400);                /* e.g. M_DUPLICATE_ANNOTATION */
	assert_int_equal(unscaled(r), 1);
	scale_answered(r, "$early", 4, 200);
	assert_int_equal(unscaled(r), 0);
	drop_rooms(r);
	run_stop(r);

	/* a third start: nothing left to scale */
	r = run_start(db);
	hold_room(r);
	mx_react_resume(r->mx);
	assert_int_equal(mx_react_scales(r->mx), 0);
	assert_int_equal(mx_send_pending(r->mx), 0);
	drop_rooms(r);
	run_stop(r);
	db_folder_remove(dir);
}

/* ---- a scheduled check-in across a restart (sched_post.c) ---- */

#define SCHED_MD "**Check-in:** how is today going for you?"

static long pending_rows(struct run *r, const char *txn)
{
	return txn ? store_count(r->ta->app.store, "SELECT count(*) FROM mx_checkin_pending WHERE txn_id = ?", "s", txn)
		   : store_count(r->ta->app.store, "SELECT count(*) FROM mx_checkin_pending", "");
}

static int sched_post(struct run *r, const char *idem)
{
	struct htransport t = { .impl = r->mx };

	return mx_op_post_checkin(&t, NULL, ROOM, SCHED_MD, idem);
}

/* Whether an event with this transaction id waits in the room's queue. */
static bool queued(struct mx_room *room, const char *txn)
{
	const char *q;

	for (size_t i = 0; (q = mx_send_queued_txn(room, i)); i++)
		if (strcmp(q, txn) == 0)
			return true;
	return false;
}

static void sent(struct run *r, const char *txn, int status, const char *event_id)
{
	mx_react_sent(r->mx, ROOM, "m.room.message", txn, NULL, status, event_id);
}

static void test_scheduled_checkin_across_restart(void **state)
{
	char dir[64], db[96], t1[48], t2[48], t3[48], t4[48], tx[48], big[400];
	struct mx_room *room;
	struct lease *l = NULL;
	struct run *r;

	/* the transaction id names the room and the slot: the same in every process */
	mx_sched_txn(ROOM, "sched.1.1000", t1);
	mx_sched_txn(ROOM, "sched.1.1000", tx);
	assert_string_equal(t1, tx);
	assert_true(mx_sched_is_txn(t1));
	mx_sched_txn(ROOM, "sched.1.2000", t2);
	mx_sched_txn("!other:hs", "sched.1.1000", tx);
	assert_string_not_equal(t1, t2);
	assert_string_not_equal(t1, tx);
	mx_sched_txn(ROOM, "sched.1.3000", t3);
	mx_sched_txn(ROOM, "sched.1.4000", t4);

	db_folder(dir, db);
	r = run_start(db);
	room = hold_room(r);
	/* recorded before the PUT, which goes out with the derived id; nothing scaled yet */
	assert_int_equal(sched_post(r, "sched.1.1000"), HE_OK);
	assert_int_equal(pending_rows(r, t1), 1);
	assert_string_equal(mx_send_queued_txn(room, 0), t1);
	assert_int_equal(mx_react_scales(r->mx), 0);
	/* the same slot tried again (the scheduler gave its mark back): one row, the same id */
	assert_int_equal(sched_post(r, "sched.1.1000"), HE_OK);
	assert_int_equal(pending_rows(r, NULL), 1);
	assert_string_equal(mx_send_queued_txn(room, 1), t1);
	/* the first sync comes after it: a row this process is still sending is not sent again */
	mx_react_resume(r->mx);
	assert_int_equal(mx_send_pending(r->mx), 2);
	/* the answer: the pending row becomes the prompt record, and the scale follows */
	sent(r, t1, 200, "$sched1");
	assert_int_equal(pending_rows(r, NULL), 0);
	assert_int_equal(mx_react_prompt_known(r->ta->app.store, ROOM, "$sched1", NOW), HE_OK);
	assert_int_equal(mx_react_scales(r->mx), 1);
	for (size_t i = 0; i < 5; i++)
		scale_answered(r, "$sched1", i, 200);
	assert_int_equal(unscaled(r), 0);
	/* the second PUT's answer (the homeserver's same event): no row, no second scale */
	sent(r, t1, 200, "$sched1");
	assert_int_equal(mx_react_scales(r->mx), 1);

	/* the next slot is cut off: its PUT left, no answer, the process is killed */
	assert_int_equal(sched_post(r, "sched.1.2000"), HE_OK);
	assert_int_equal(pending_rows(r, t2), 1);
	drop_rooms(r);
	run_stop(r);

	r = run_start(db);
	r->ta->app.fake_now = NOW + 1800;
	room = hold_room(r);
	mx_react_resume(r->mx);
	/* sent again with the same transaction id, still pending until answered; then scaled */
	assert_true(queued(room, t2));
	assert_int_equal(mx_send_pending(r->mx), 1);
	assert_int_equal(pending_rows(r, t2), 1);
	assert_int_equal(mx_react_scales(r->mx), 0);
	sent(r, t2, 200, "$sched2");
	assert_int_equal(pending_rows(r, NULL), 0);
	assert_int_equal(mx_react_prompt_known(r->ta->app.store, ROOM, "$sched2", NOW + 1800), HE_OK);
	assert_int_equal(mx_react_scales(r->mx), 1);
	assert_int_equal(mx_send_pending(r->mx), 1 + 5);
	for (size_t i = 0; i < 5; i++)
		scale_answered(r, "$sched2", i, 200);
	assert_int_equal(unscaled(r), 0);

	/* a slot cut off and a restart more than two hours later: dropped, nothing sent */
	assert_int_equal(sched_post(r, "sched.1.3000"), HE_OK);
	drop_rooms(r);
	run_stop(r);
	r = run_start(db);
	r->ta->app.fake_now = NOW + 1800 + 2 * 3600 + 1;
	room = hold_room(r);
	mx_react_resume(r->mx);
	assert_int_equal(pending_rows(r, NULL), 0);
	assert_int_equal(mx_send_pending(r->mx), 0);
	drop_rooms(r);
	run_stop(r);

	/* a slot cut off, and Hearth has left the room since (the sync said so): dropped */
	r = run_start(db);
	room = hold_room(r);
	assert_int_equal(sched_post(r, "sched.1.4000"), HE_OK);
	drop_rooms(r);
	run_stop(r);
	r = run_start(db);
	room = mx_room_add(r->mx, ROOM);
	assert_non_null(room);
	room->membership = MX_M_INVITED; /* known to this process, not joined */
	room->retry_timer = 1;
	mx_react_resume(r->mx);
	assert_int_equal(pending_rows(r, NULL), 0);
	assert_int_equal(mx_send_pending(r->mx), 0);
	room->membership = MX_M_JOINED;
	/* a leave seen while one waits: its row goes too */
	assert_int_equal(sched_post(r, "sched.1.4000"), HE_OK);
	assert_int_equal(pending_rows(r, t4), 1);
	mx_sched_room_left(r->mx, ROOM);
	assert_int_equal(pending_rows(r, NULL), 0);

	/* a hostile homeserver: no event id, an oversized one, a refusal: nothing recorded */
	memset(big, 'p', sizeof(big) - 1);
	big[0] = '$';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(sched_post(r, "sched.2.1"), HE_OK);
	mx_sched_txn(ROOM, "sched.2.1", tx);
	sent(r, tx, 200, NULL);
	assert_int_equal(sched_post(r, "sched.2.2"), HE_OK);
	mx_sched_txn(ROOM, "sched.2.2", tx);
	sent(r, tx, 200, big);
	assert_int_equal(sched_post(r, "sched.2.3"), HE_OK);
	mx_sched_txn(ROOM, "sched.2.3", tx);
	sent(r, tx, 403, NULL);
	assert_int_equal(pending_rows(r, NULL), 0);
	assert_int_equal(store_count(r->ta->app.store, "SELECT count(*) FROM mx_checkin_prompt WHERE event_id = ?",
				     "s", big), 0);
	assert_int_equal(mx_react_scales(r->mx), 0);
	/* an answer to a transaction never recorded (another room, a made-up id) records nothing */
	mx_sched_txn(ROOM, "sched.9.9", tx);
	sent(r, tx, 200, "$made-up");
	assert_int_equal(mx_react_prompt_known(r->ta->app.store, ROOM, "$made-up", NOW), HE_NOTFOUND);
	/* not in the room: nothing recorded, nothing queued */
	room->membership = MX_M_INVITED;
	assert_int_equal(sched_post(r, "sched.2.4"), HE_NOTFOUND);
	assert_int_equal(pending_rows(r, NULL), 0);
	room->membership = MX_M_JOINED;
	/* fenced: while another Hearth holds the lease, nothing is recorded or posted */
	{
		size_t before = mx_send_pending(r->mx);

		assert_int_equal(lease_new(r->ta->app.store, "matrix", "someone-else", &l), HE_OK);
		assert_int_not_equal(sched_post(r, "sched.2.5"), HE_OK);
		lease_free(l);
		assert_int_equal(pending_rows(r, NULL), 0);
		assert_int_equal(mx_send_pending(r->mx), before);
	}
	drop_rooms(r);
	run_stop(r);
	db_folder_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_scale_keys),
					    cmocka_unit_test(test_prompt_takes_taps_after_restart),
					    cmocka_unit_test(test_prompts_bounded),
					    cmocka_unit_test(test_scale_on_put_answer),
					    cmocka_unit_test(test_scale_after_restart),
					    cmocka_unit_test(test_scheduled_checkin_across_restart) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
