/* test_irc_sendq.c - the IRC send queue and the table of incoming verbs, driven through the
 * transport's own files over a socketpair: lines wait for the token bucket in rounds (one
 * member's long reply does not hold back another member), each queued line keeps its target so a
 * channel we are kicked from loses exactly its lines, and short lines never reach a handler. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"
#include "core/loop.h"
#include "net/irc/irc_int.h"

struct rig {
	struct happ app;
	struct config_irc cfg;
	struct irc c;
	int peer;                      /* the "server" end of the socketpair */
};

static void rig_open(struct rig *r)
{
	int sv[2];

	memset(r, 0, sizeof(*r));
	assert_int_equal(loop_new(&r->app.loop), HE_OK);
	r->cfg.name = "t";
	r->cfg.nick = "Hearth";
	r->cfg.burst = 1;
	r->cfg.rate = 0.001;           /* nothing more goes out during a test */
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
	irc_bucket_init(&r->c.bucket, r->cfg.burst, r->cfg.rate, loop_now_ms());
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
}

/* What the server received so far. */
static void rig_read(struct rig *r, char *buf, size_t cap)
{
	ssize_t n = recv(r->peer, buf, cap - 1, MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = '\0';
}

static void feed(struct rig *r, const char *line)
{
	irc_in_line(&r->c, line, strlen(line));
}

static void rounds_keep_members_fair(void **state)
{
	struct rig r;
	char got[512];

	rig_open(&r);
	/* the bucket's one line goes at once, the rest wait */
	assert_int_equal(irc_sendq_markdown(&r.c, "#group", "alice", "first", NULL, NULL), HE_OK);
	rig_read(&r, got, sizeof(got));
	assert_string_equal(got, "PRIVMSG #group :first\r\n");
	irc_sendq_markdown(&r.c, "#group", "alice", "a2", NULL, NULL);
	irc_sendq_markdown(&r.c, "#group", "alice", "a3", NULL, NULL);
	irc_sendq_markdown(&r.c, "#group", "bob", "b1", NULL, NULL);
	assert_int_equal(r.c.qlen, 3);
	/* bob's first reply goes before alice's third */
	assert_string_equal(r.c.q[0].line, "PRIVMSG #group :a2");
	assert_string_equal(r.c.q[1].line, "PRIVMSG #group :b1");
	assert_string_equal(r.c.q[2].line, "PRIVMSG #group :a3");
	assert_string_equal(r.c.q[1].target, "#group");
	rig_close(&r);
}

static void kick_drops_only_that_channels_lines(void **state)
{
	struct rig r;
	char got[512];

	rig_open(&r);
	feed(&r, ":Hearth!hearth@127.0.0.1 JOIN #group");
	feed(&r, ":Hearth!hearth@127.0.0.1 JOIN #other");
	assert_true(irc_track_in_chan(&r.c.track, "#group"));
	irc_sendq_line(&r.c, "USERHOST Hearth");                  /* takes the bucket's line */
	rig_read(&r, got, sizeof(got));
	assert_string_equal(got, "USERHOST Hearth\r\n");
	irc_sendq_markdown(&r.c, "#group", "alice", "to group", NULL, NULL);
	/* a line for #other whose text names #group is not a line for #group */
	irc_sendq_markdown(&r.c, "#other", "bob", "PRIVMSG #group :x", NULL, NULL);
	irc_sendq_printf(&r.c, "JOIN %s", "#group");
	assert_int_equal(r.c.qlen, 3);
	feed(&r, ":op!o@h KICK #GROUP Hearth :bye");              /* case-folded like the server */
	assert_false(irc_track_in_chan(&r.c.track, "#group"));
	assert_int_equal(r.c.qlen, 2);
	assert_string_equal(r.c.q[0].target, "#other");
	assert_string_equal(r.c.q[1].line, "JOIN #group");
	rig_close(&r);
}

static void table_answers_and_skips_short_lines(void **state)
{
	struct rig r;
	char got[512];

	rig_open(&r);
	r.c.st = IRC_ST_REGISTERING;                               /* PONG goes out at once */
	feed(&r, "PING :tok-1");
	rig_read(&r, got, sizeof(got));
	assert_string_equal(got, "PONG :tok-1\r\n");
	feed(&r, "ping :tok-2");                                   /* verbs are case-insensitive */
	rig_read(&r, got, sizeof(got));
	assert_string_equal(got, "PONG :tok-2\r\n");
	/* too few parameters: not handed to the handler, nothing changes */
	feed(&r, ":srv 353 Hearth =");
	feed(&r, ":op!o@h MODE #group");
	feed(&r, ":op!o@h INVITE Hearth");
	feed(&r, ":srv CAP");
	feed(&r, ":srv FOO bar baz");                                /* unknown: ignored */
	rig_read(&r, got, sizeof(got));
	assert_string_equal(got, "");
	/* a nick taken while registering: the next one is tried */
	feed(&r, ":srv 433 * Hearth :Nickname is already in use");
	rig_read(&r, got, sizeof(got));
	assert_non_null(strstr(got, "NICK Hearth"));
	assert_string_not_equal(r.c.nick, "Hearth");
	rig_close(&r);
}

static void cap_lists(void **state)
{
	struct rig r;
	char got[512];

	rig_open(&r);
	r.c.st = IRC_ST_REGISTERING;
	/* without SASL configured, sasl is not asked for; unknown caps neither */
	feed(&r, ":srv CAP * LS * :sasl=PLAIN,EXTERNAL  multi-prefix");
	feed(&r, ":srv CAP * LS :foo extended-join");
	rig_read(&r, got, sizeof(got));
	assert_string_equal(got, "CAP REQ :multi-prefix extended-join\r\n");
	feed(&r, ":srv CAP * ACK :multi-prefix  extended-join ");
	assert_int_equal(r.c.caps_on, IRC_CAP_MULTI_PREFIX | IRC_CAP_EXTENDED_JOIN);
	rig_read(&r, got, sizeof(got));
	assert_string_equal(got, "CAP END\r\n");
	feed(&r, ":srv CAP * ACK :-extended-join");
	assert_int_equal(r.c.caps_on, IRC_CAP_MULTI_PREFIX);
	feed(&r, ":srv CAP * DEL :multi-prefix");
	assert_int_equal(r.c.caps_on, 0);
	/* NAMES: one entry per word, prefixes kept for the tracker */
	r.c.st = IRC_ST_READY;
	feed(&r, ":Hearth!hearth@127.0.0.1 JOIN #group");
	feed(&r, ":srv 353 Hearth = #group :@opal  bea +cal");
	assert_true(irc_track_is_op(&r.c.track, "#group", "opal"));
	assert_false(irc_track_is_op(&r.c.track, "#group", "bea"));
	rig_close(&r);
}

static bool queued(const struct rig *r, const char *line)
{
	for (size_t i = 0; i < r->c.qlen; i++)
		if (strcmp(r->c.q[i].line, line) == 0)
			return true;
	return false;
}

static void reply_tag_and_tag_room(void **state)
{
	struct rig r;
	char got[1400], text[501];

	rig_open(&r);
	/* without message-tags: no tag, whatever the caller names */
	irc_sendq_markdown(&r.c, "#group", "alice", "plain", NULL, "abc-123");
	rig_read(&r, got, sizeof(got));
	assert_string_equal(got, "PRIVMSG #group :plain\r\n");
	r.c.caps_on |= IRC_CAP_TAGS;
	irc_bucket_init(&r.c.bucket, 3, 0.001, loop_now_ms());
	irc_sendq_markdown(&r.c, "#group", "alice", "tagged", NULL, "abc-123");
	rig_read(&r, got, sizeof(got));
	assert_string_equal(got, "@+draft/reply=abc-123 PRIVMSG #group :tagged\r\n");
	/* the tag does not eat into the 512 bytes of the line */
	memset(text, 'x', 400);
	text[400] = '\0';
	irc_sendq_markdown(&r.c, "#group", "alice", text, NULL, "abc-123");
	rig_read(&r, got, sizeof(got));
	assert_non_null(strstr(got, text));
	rig_close(&r);
}

static void whox_learns_accounts(void **state)
{
	struct rig r;

	rig_open(&r);
	irc_sendq_line(&r.c, "USERHOST Hearth");                  /* takes the bucket's line */
	r.c.is.whox = true;
	feed(&r, ":Hearth!hearth@127.0.0.1 JOIN #group");
	assert_true(queued(&r, "WHO #group %tcuhnfa,152"));
	feed(&r, ":srv 353 Hearth = #group :opal bea");
	feed(&r, ":srv 354 Hearth 152 #group o h.x opal H acct-opal");
	feed(&r, ":srv 354 Hearth 152 #group b h.x bea H 0");
	feed(&r, ":srv 354 Hearth 999 #group b h.x bea H forged");       /* not our query */
	feed(&r, ":srv 354 Hearth 152 #elsewhere b h.x bea H forged2");  /* not our channel */
	feed(&r, ":srv 354 Hearth 152 #group b");                        /* too short */
	assert_string_equal(irc_track_account_of(&r.c.track, "opal"), "acct-opal");
	assert_string_equal(irc_track_account_of(&r.c.track, "bea"), "");
	/* no WHOX on this server: no query */
	r.c.is.whox = false;
	feed(&r, ":Hearth!hearth@127.0.0.1 JOIN #two");
	assert_false(queued(&r, "WHO #two %tcuhnfa,152"));
	rig_close(&r);
}

static void cap_del_forgets_accounts_new_relearns(void **state)
{
	struct rig r;

	rig_open(&r);
	irc_sendq_line(&r.c, "USERHOST Hearth");                  /* takes the bucket's line */
	r.c.cap_ls_done = r.c.cap_end_sent = true;
	r.c.caps_on = r.c.caps_offered = IRC_CAP_ACCOUNT_NOTIFY | IRC_CAP_CAP_NOTIFY;
	r.c.is.whox = true;
	feed(&r, ":Hearth!hearth@127.0.0.1 JOIN #group");
	feed(&r, ":srv 353 Hearth = #group :opal");
	feed(&r, ":opal!o@h ACCOUNT acct-opal");
	assert_string_equal(irc_track_account_of(&r.c.track, "opal"), "acct-opal");
	/* services went away: the server withdraws account-notify */
	feed(&r, ":srv CAP Hearth DEL :account-notify");
	assert_int_equal(r.c.caps_on & IRC_CAP_ACCOUNT_NOTIFY, 0);
	assert_string_equal(irc_track_account_of(&r.c.track, "opal"), "");
	/* a cap we do not use disappearing forgets nothing */
	feed(&r, ":opal!o@h ACCOUNT acct-opal");
	feed(&r, ":srv CAP Hearth DEL :multi-prefix");
	assert_string_equal(irc_track_account_of(&r.c.track, "opal"), "acct-opal");
	/* it comes back: asked for again, and the channel asked again who is who */
	irc_sendq_clear(&r.c);
	feed(&r, ":srv CAP Hearth NEW :account-notify");
	assert_true(queued(&r, "CAP REQ :account-notify"));
	assert_true(queued(&r, "WHO #group %tcuhnfa,152"));
	/* without SASL configured, sasl coming back is not asked for */
	feed(&r, ":srv CAP Hearth NEW :sasl=PLAIN");
	assert_false(queued(&r, "CAP REQ :sasl"));
	rig_close(&r);
}

static void sasl_back_after_registration(void **state)
{
	struct rig r;

	rig_open(&r);
	irc_sendq_line(&r.c, "USERHOST Hearth");                  /* takes the bucket's line */
	r.cfg.sasl_mechanism = "PLAIN";
	r.cfg.sasl_username = "acct";
	r.cfg.sasl_password = "pw";
	r.c.sasl_timeout_ms = 1000;
	r.c.cap_ls_done = r.c.cap_end_sent = true;
	r.c.sasl_done = true;                  /* went on without it (sasl_required = false) */
	/* services are back: asked for, then logged in after registration */
	feed(&r, ":srv CAP Hearth NEW :sasl=PLAIN,EXTERNAL");
	assert_true(queued(&r, "CAP REQ :sasl"));
	feed(&r, ":srv CAP Hearth ACK :sasl");
	assert_true(queued(&r, "AUTHENTICATE PLAIN"));
	irc_cancel_timer(&r.c, &r.c.t_sasl);
	/* logged in: sasl going and coming again is left alone */
	r.c.sasl_started = true;
	feed(&r, ":srv 903 Hearth :SASL authentication successful");
	assert_true(r.c.sasl_ok);
	irc_sendq_clear(&r.c);
	feed(&r, ":srv CAP Hearth DEL :sasl");
	feed(&r, ":srv CAP Hearth NEW :sasl=PLAIN");
	assert_false(queued(&r, "CAP REQ :sasl"));
	rig_close(&r);
}

static void nicks_erroneous_and_storm(void **state)
{
	struct rig r;
	char got[2048];
	char *alts[] = { "HAlt" };

	rig_open(&r);
	r.c.st = IRC_ST_REGISTERING;
	r.cfg.nick = "9bad";
	memcpy(r.cfg.alt_nicks, alts, sizeof(alts));
	r.cfg.nalt_nicks = 1;
	snprintf(r.c.nick, sizeof(r.c.nick), "9bad");
	feed(&r, ":srv 432 * 9bad :Erroneous Nickname");
	rig_read(&r, got, sizeof(got));
	assert_string_equal(got, "NICK HAlt\r\n");
	feed(&r, ":srv 432 * HAlt :Erroneous Nickname");
	rig_read(&r, got, sizeof(got));
	/* the configured nick was refused: the generated ones do not build on it */
	assert_int_equal(strncmp(got, "NICK Hearth", 11), 0);
	/* a collision storm: after IRC_NICK_TRIES_MAX refusals, leave and come back later */
	for (int i = 0; i < IRC_NICK_TRIES_MAX + 5 && r.c.conn.fd >= 0; i++)
		feed(&r, ":srv 433 * x :Nickname is already in use");
	assert_true(r.c.conn.fd < 0);
	assert_true(r.c.t_reconnect != 0);
	irc_cancel_timer(&r.c, &r.c.t_reconnect);
	rig_close(&r);
}

static void regain_by_monitor_and_432_after_registration(void **state)
{
	struct rig r;

	rig_open(&r);
	irc_sendq_line(&r.c, "USERHOST Hearth");                  /* takes the bucket's line */
	snprintf(r.c.nick, sizeof(r.c.nick), "Hearth_");
	r.c.is.monitor = 100;
	feed(&r, ":srv 376 Hearth_ :End of MOTD");
	assert_true(queued(&r, "MONITOR + Hearth"));
	feed(&r, ":srv 731 Hearth_ :someone,other");
	assert_false(queued(&r, "NICK Hearth"));
	feed(&r, ":srv 731 Hearth_ :HEARTH");                        /* case-folded */
	assert_true(queued(&r, "NICK Hearth"));
	feed(&r, ":Hearth_!hearth@127.0.0.1 NICK Hearth");
	assert_string_equal(r.c.nick, "Hearth");
	assert_true(queued(&r, "MONITOR - Hearth"));
	/* the server calls the main nick erroneous: stop trying */
	irc_sendq_clear(&r.c);
	snprintf(r.c.nick, sizeof(r.c.nick), "Hearth_");
	r.c.monitoring = true;
	feed(&r, ":srv 432 Hearth_ Hearth :Erroneous Nickname");
	assert_true(r.c.regain_off);
	assert_true(queued(&r, "MONITOR - Hearth"));
	irc_sendq_clear(&r.c);
	feed(&r, ":srv 731 Hearth_ :Hearth");
	assert_false(queued(&r, "NICK Hearth"));
	/* CHGHOST of ourselves: the prefix replies are cut for changes */
	feed(&r, ":Hearth_!hearth@127.0.0.1 CHGHOST newuser some.vhost");
	assert_string_equal(r.c.host, "some.vhost");
	assert_string_equal(r.c.user, "newuser");
	feed(&r, ":other!o@h CHGHOST x y");
	assert_string_equal(r.c.host, "some.vhost");
	rig_close(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rounds_keep_members_fair),
		cmocka_unit_test(kick_drops_only_that_channels_lines),
		cmocka_unit_test(table_answers_and_skips_short_lines),
		cmocka_unit_test(cap_lists),
		cmocka_unit_test(reply_tag_and_tag_room),
		cmocka_unit_test(whox_learns_accounts),
		cmocka_unit_test(cap_del_forgets_accounts_new_relearns),
		cmocka_unit_test(nicks_erroneous_and_storm),
		cmocka_unit_test(sasl_back_after_registration),
		cmocka_unit_test(regain_by_monitor_and_432_after_registration),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
