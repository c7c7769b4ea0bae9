/* bench_e2e: figures for the e2e module (prints them; no pass/fail).
 *  1. An encrypted reply: decrypt a member's Megolm event, encrypt the bot's answer (sessions
 *     established): p50/p99 over 2,000 replies, on a store file like production. Aim: p99 < 2 ms.
 *  2. Sharing a new room session with 50 member devices: keys/query answer, keys/claim answer,
 *     50 Olm sessions created and 50 Olm encryptions (the in-process key server's time included). */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "e2e_router.h"
#include "core/log.h"
#include "core/stats.h"

#define ROOM "!bench:example.org"
#define REPLIES 2000
#define MEMBERS 50

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}


static void bench_reply(void)
{
	struct hs *h = hs_new();
	char pa[] = "/tmp/bench-e2e-a.db", pb[] = "/tmp/bench-e2e-b.db";
	unlink(pa);
	unlink(pb);
	struct cl *bot = hs_add(h, "@bot:example.org", "BOT", pa);
	struct cl *mem = hs_add(h, "@member:example.org", "MEM", pb);
	struct cl *all[] = { bot, mem };
	json_t *conf = json_pack("{s:s, s:i}", "algorithm", "m.megolm.v1.aes-sha2",
				 "rotation_period_msgs", 100000);
	static uint32_t t[REPLIES]; /* microseconds */
	static const double p[] = { 50, 99, 100 };
	uint32_t pc[3];
	json_t *enc = NULL, *plain = NULL, *reply = NULL, *content;
	char id[32];

	hs_run(h);
	if (hs_join(all, 2, ROOM, conf, NULL, 0))
		abort();
	/* warm up: sessions both ways */
	cl_encrypt(mem, ROOM, "hi", &enc);
	cl_sync(bot);
	json_decref(enc);
	cl_encrypt(bot, ROOM, "hello", &enc);
	cl_sync(mem);
	json_decref(enc);
	content = json_pack("{s:s, s:s}", "msgtype", "m.notice", "body",
			    "A short check-in: how are you feeling today, on a scale of 1 to 5?");
	for (int i = 0; i < REPLIES; i++) {
		json_t *ev;
		if (cl_encrypt(mem, ROOM, "!checkin 3 feeling a bit better today", &enc))
			abort();
		snprintf(id, sizeof(id), "$m%d", i);
		ev = hs_event(mem, enc, id);
		double t0 = now_ms();
		if (e2e_decrypt_room_event(bot->e, ROOM, ev, &plain) != 0 ||
		    e2e_encrypt_room_event(bot->e, ROOM, "m.room.message", content, &reply) != 0)
			abort();
		t[i] = (uint32_t)((now_ms() - t0) * 1e3);
		json_decref(plain);
		json_decref(reply);
		json_decref(ev);
		json_decref(enc);
	}
	hstats_pcts_of(t, REPLIES, p, 3, pc);
	printf("encrypted reply (decrypt + encrypt, store file): p50 %.3f ms  p99 %.3f ms  max %.3f ms"
	       "  (%d replies)\n", pc[0] / 1e3, pc[1] / 1e3, pc[2] / 1e3, REPLIES);
	json_decref(content);
	json_decref(conf);
	hs_free(h);
}

static void bench_share(void)
{
	struct hs *h = hs_new();
	static struct cl *c[MEMBERS + 1];
	json_t *conf = json_pack("{s:s}", "algorithm", "m.megolm.v1.aes-sha2"), *enc = NULL;
	char pbot[] = "/tmp/bench-e2e-share.db", user[64];

	unlink(pbot);
	c[0] = hs_add(h, "@bot:example.org", "BOT", pbot);
	for (int i = 1; i <= MEMBERS; i++) {
		snprintf(user, sizeof(user), "@m%d:example.org", i);
		c[i] = hs_add(h, user, "DEV", NULL);
	}
	hs_flush(h);
	for (int i = 1; i <= MEMBERS; i++) {
		e2e_room_member_change(c[0]->e, ROOM, c[i]->user, "join");
	}
	e2e_room_member_change(c[0]->e, ROOM, c[0]->user, "join");
	e2e_room_encryption(c[0]->e, ROOM, conf);
	double t0 = now_ms();
	int rounds = 0, rc;
	json_t *content = json_pack("{s:s}", "body", "Welcome to the group.");
	while ((rc = e2e_encrypt_room_event(c[0]->e, ROOM, "m.room.message", content, &enc)) == HE_AGAIN &&
	       rounds++ < 20)
		hs_flush(h);
	double dt = now_ms() - t0;
	int got = 0;
	for (int i = 1; i <= MEMBERS; i++)
		got += json_array_size(c[i]->inbox) > 0;
	printf("share a new session with %d member devices (query + claim + %d Olm sessions and "
	       "encryptions): %.1f ms, %d devices reached, rc %d\n", MEMBERS, MEMBERS, dt, got, rc);
	json_decref(enc);
	json_decref(content);
	json_decref(conf);
	hs_free(h);
}

int main(void)
{
	hlog_set_level(HLOG_ERROR);
	bench_reply();
	bench_share();
	return 0;
}
