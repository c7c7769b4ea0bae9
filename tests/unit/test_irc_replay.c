/* test_irc_replay.c - channel commands owed across an IRC failover, through the transport's own
 * files over a socketpair (net/irc/owed.c, dispatch.c, sendq.c) with a store: a live channel
 * command is taken before it is dispatched and done only when its reply's last line has left
 * the send queue (a disconnect before that leaves it owed); a chathistory replay answers what is
 * owed and recent, never a done one, never a line without msgid or server-time, an old one, a
 * non-command, a line of a batch the server did not open as chathistory, or more than the cap;
 * a replayed line never makes its sender a moderator or changes what we know of the nick. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/loop.h"
#include "dbtest.h"
#include "net/irc/irc_int.h"
#include "net/irc/owed.h"
#include "store/store.h"

struct rig {
	struct happ app;
	struct config conf;
	struct config_irc cfg;
	struct irc c;
	int peer;
	char *url;
	int seen;                      /* messages dispatched */
	char last[64];                 /* the msgid of the last one */
	enum hrole last_role;
	bool last_transient;
	int reply_lines;               /* lines each dispatch queues as its reply */
};

static struct rig *cur;

static int on_message(struct happ *app, const struct hmsg *m)
{
	cur->seen++;
	snprintf(cur->last, sizeof(cur->last), "%s", m->msgid ? m->msgid : "");
	cur->last_role = m->role;
	cur->last_transient = m->sender_transient;
	for (int i = 0; i < cur->reply_lines; i++)
		irc_sendq_markdown(&cur->c, m->room, m->sender, "Check-in", NULL, m->msgid);
	return HE_OK;
}

/* The care layer's app->wants_answer (router_wants_answer: a command or crisis language),
 * here: the prefix, or the test's crisis marker. */
static bool wants_answer(struct happ *app, const char *text)
{
	(void)app;
	return text[0] == '!' || strstr(text, "CRISIS") != NULL;
}

static void rig_open(struct rig *r)
{
	int sv[2];

	memset(r, 0, sizeof(*r));
	cur = r;
	hlog_set_level(HLOG_ERROR);
	assert_int_equal(loop_new(&r->app.loop), HE_OK);
	assert_non_null(r->url = dbtest_fresh_url(DB_SQLITE));
	assert_int_equal(store_open_file(r->url + 7, &r->app.store), HE_OK);
	assert_int_equal(irc_owed_migrate(r->app.store), HE_OK);
	r->conf.prefix = "!";
	r->app.cfg = &r->conf;
	r->app.on_message = on_message;
	r->reply_lines = 1;
	r->cfg.name = "t";
	r->cfg.nick = "Hearth";
	r->cfg.burst = 1;
	r->cfg.rate = 0.001;           /* the bucket's one line goes at once, then nothing more */
	r->c.app = &r->app;
	r->c.cfg = &r->cfg;
	snprintf(r->c.net, sizeof(r->c.net), "irc.t");
	snprintf(r->c.nick, sizeof(r->c.nick), "Hearth");
	snprintf(r->c.user, sizeof(r->c.user), "hearth");
	snprintf(r->c.host, sizeof(r->c.host), "127.0.0.1");
	assert_non_null(r->c.msg = malloc(sizeof(*r->c.msg)));
	irc_conn_init(&r->c.conn);
	irc_isupport_init(&r->c.is);
	irc_track_init(&r->c.track, &r->c.is);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	r->c.conn.fd = sv[0];
	r->peer = sv[1];
	r->c.wfd = -1;
	r->c.st = IRC_ST_READY;
	r->c.caps_on = IRC_CAP_TAGS | IRC_CAP_TIME | IRC_CAP_BATCH | IRC_CAP_ACCOUNT_TAG;
	irc_bucket_init(&r->c.bucket, r->cfg.burst, r->cfg.rate, loop_now_ms());
	irc_in_line(&r->c, ":Hearth!hearth@127.0.0.1 JOIN #c", 32);
	irc_in_line(&r->c, ":irc.test 353 Hearth = #c :Hearth @opal", 39);
}

static void rig_close(struct rig *r)
{
	irc_cancel_timer(&r->c, &r->c.t_sendq);
	irc_sendq_clear(&r->c);
	free(r->c.q);
	free(r->c.msg);
	irc_track_clear(&r->c.track);
	hbuf_free(&r->c.conn.out);
	close(r->c.conn.fd);
	close(r->peer);
	loop_free(r->app.loop);
	store_free(r->app.store);
	dbtest_drop(r->url);
	free(r->url);
}

static void feed(struct rig *r, const char *line)
{
	irc_in_line(&r->c, line, strlen(line));
}

/* A server-time tag value for now + delta seconds. */
static const char *stamp(int delta)
{
	static char buf[40];
	time_t t = time(NULL) + delta;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	return buf;
}

static void replayed(struct rig *r, const char *batch, const char *msgid, int age, const char *text)
{
	char line[512];

	snprintf(line, sizeof(line), "@time=%s;msgid=%s;batch=%s :ann!a@h PRIVMSG #c :%s", stamp(-age),
		 msgid, batch, text);
	feed(r, line);
}

static int state_of(struct rig *r, const char *msgid)
{
	/* no lease is registered here: irc_owed_take is a plain upsert, and tells the state */
	return irc_owed_take(r->app.store, "irc.t", msgid, time(NULL));
}

static void live_done_only_when_its_lines_left(void **state)
{
	struct rig r;

	rig_open(&r);
	r.reply_lines = 1;
	feed(&r, "@msgid=live1 :ann!a@h PRIVMSG #c :!checkin");      /* the bucket's line: sent */
	assert_int_equal(r.seen, 1);
	assert_string_equal(r.last, "live1");
	r.reply_lines = 2;
	feed(&r, "@msgid=live2 :ann!a@h PRIVMSG #c :!checkin");      /* both lines wait */
	assert_int_equal(r.seen, 2);
	assert_int_equal(r.c.qlen, 2);
	assert_int_equal(state_of(&r, "live1"), IRC_OWED_DONE);
	assert_int_equal(state_of(&r, "live2"), IRC_OWED_OPEN);
	/* not a command, no msgid: dispatched as ever, nothing recorded */
	feed(&r, "@msgid=chat1 :ann!a@h PRIVMSG #c :hello all");
	feed(&r, ":ann!a@h PRIVMSG #c :!checkin");
	assert_int_equal(r.seen, 4);
	/* the connection ends with live2's lines unsent: it stays owed */
	irc_sendq_clear(&r.c);
	irc_owed_reset(&r.c);
	assert_int_equal(state_of(&r, "live2"), IRC_OWED_OPEN);
	rig_close(&r);
}

static void replay_answers_only_what_is_owed(void **state)
{
	struct rig r;
	int before;

	rig_open(&r);
	r.reply_lines = 0;
	feed(&r, "@msgid=done1 :ann!a@h PRIVMSG #c :!checkin");      /* answered (no reply lines) */
	assert_int_equal(state_of(&r, "done1"), IRC_OWED_DONE);
	assert_int_equal(irc_owed_take(r.app.store, "irc.t", "open1", time(NULL)), IRC_OWED_OPEN);
	before = r.seen;

	feed(&r, "@time=2026-01-01T00:00:00.000Z :irc.test BATCH +h1 chathistory :#c");
	replayed(&r, "h1", "done1", 5, "!checkin");                   /* answered already */
	assert_int_equal(r.seen, before);
	replayed(&r, "h1", "open1", 8, "!checkin");                   /* taken, never finished */
	assert_int_equal(r.seen, before + 1);
	assert_string_equal(r.last, "open1");
	replayed(&r, "h1", "gap1", 3, "!checkin");                    /* said while nobody was there */
	assert_int_equal(r.seen, before + 2);
	assert_int_equal(r.last_role, HROLE_MEMBER);
	replayed(&r, "h1", "gap1", 3, "!checkin");                    /* the same line again */
	replayed(&r, "h1", "old1", IRC_REPLAY_MAX_AGE_S + 5, "!checkin");
	replayed(&r, "h1", "fut1", -(IRC_REPLAY_MAX_FUTURE_S + 5), "!checkin");
	replayed(&r, "h1", "chat2", 3, "just talking");
	r.app.wants_answer = wants_answer;                           /* the care layer's question */
	replayed(&r, "h1", "crisis1", 4, "I feel CRISIS tonight");      /* answered like a command */
	assert_int_equal(r.seen, before + 3);
	assert_string_equal(r.last, "crisis1");
	replayed(&r, "h1", "chat3", 3, "still just talking");
	assert_int_equal(r.seen, before + 3);
	before++;
	feed(&r, "@msgid=notime;batch=h1 :ann!a@h PRIVMSG #c :!checkin");
	feed(&r, "@time=2026-01-01T00:00:00.000Z;batch=h1 :ann!a@h PRIVMSG #c :!checkin");
	feed(&r, "@time=yesterday;msgid=badtime;batch=h1 :ann!a@h PRIVMSG #c :!checkin");
	replayed(&r, "nope", "other1", 3, "!checkin");                /* a batch never opened */
	assert_int_equal(r.seen, before + 2);
	/* an operator's old line: no moderator rights from who holds the nick now */
	{
		char line[256];
		snprintf(line, sizeof(line), "@time=%s;msgid=op1;batch=h1 :opal!o@h PRIVMSG #c :!checkin",
			 stamp(-3));
		feed(&r, line);
	}
	assert_int_equal(r.seen, before + 3);
	assert_int_equal(r.last_role, HROLE_MEMBER);
	feed(&r, "@time=2026-01-01T00:00:00.000Z :irc.test BATCH :-h1");
	replayed(&r, "h1", "after1", 3, "!checkin");                  /* the batch is closed */
	assert_int_equal(r.seen, before + 3);
	assert_int_equal(state_of(&r, "gap1"), IRC_OWED_DONE);
	/* the operator's own live line still makes them a moderator */
	feed(&r, "@msgid=op2 :opal!o@h PRIVMSG #c :!checkin");
	assert_int_equal(r.last_role, HROLE_MODERATOR);
	rig_close(&r);
}

static void replay_is_bounded_and_server_only(void **state)
{
	struct rig r;
	char id[32];

	rig_open(&r);
	r.reply_lines = 0;
	/* a member cannot open a batch */
	feed(&r, ":mallory!m@h BATCH +m1 chathistory :#c");
	replayed(&r, "m1", "forged1", 3, "!checkin");
	assert_int_equal(r.seen, 0);
	/* nor is a batch of another type a replay */
	feed(&r, ":irc.test BATCH +n1 netjoin irc.a irc.b");
	replayed(&r, "n1", "nj1", 3, "!checkin");
	assert_int_equal(r.seen, 0);
	/* a client-only +batch tag is the member's own: the line is live */
	feed(&r, "@+batch=m1;msgid=live9 :mallory!m@h PRIVMSG #c :!checkin");
	assert_int_equal(r.seen, 1);
	/* at most IRC_REPLAY_MAX_LINES commands from one batch */
	feed(&r, ":irc.test BATCH +big chathistory :#c");
	for (int i = 0; i < IRC_REPLAY_MAX_LINES + 20; i++) {
		snprintf(id, sizeof(id), "many%d", i);
		replayed(&r, "big", id, 2, "!checkin");
	}
	assert_int_equal(r.seen, 1 + IRC_REPLAY_MAX_LINES);
	feed(&r, ":irc.test BATCH -big");
	/* private lines in a batch are not a member speaking now */
	feed(&r, ":irc.test BATCH +p1 chathistory :Hearth");
	feed(&r, "@time=2026-01-01T00:00:00.000Z;msgid=p;batch=p1 :ann!a@h PRIVMSG Hearth :!checkin");
	assert_int_equal(r.seen, 1 + IRC_REPLAY_MAX_LINES);
	rig_close(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(live_done_only_when_its_lines_left),
		cmocka_unit_test(replay_answers_only_what_is_owed),
		cmocka_unit_test(replay_is_bounded_and_server_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
