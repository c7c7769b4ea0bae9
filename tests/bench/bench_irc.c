/* bench_irc.c - IRC figures: parser throughput over a realistic mix of server lines, and
 * Hearth's own time per command (parse -> strip/decode -> happ_dispatch -> Markdown to plain ->
 * split -> PRIVMSG lines formatted and queued), p50/p99. Prints figures; asserts nothing.
 * The reply path uses the same pure functions as the IRC transport (parse.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "care/care.h"
#include "care/content.h"
#include "core/app.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/stats.h"
#include "core/md.h"
#include "net/irc/parse.h"
#include "store/store.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *mix[] = {
	"@time=2026-01-01T10:00:00.000Z;account=alice;msgid=abc123 :alice!alice@127.0.0.1 PRIVMSG #group :!learn attachment",
	":bob!~bob@host.example.org PRIVMSG #group :hey everyone, how are you doing today? \x02bold\x02 words",
	"PING :irc.test",
	":irc.test 353 Hearth = #group :~&@owner @op +voice alice bob carol dave erin frank",
	"@time=2026-01-01T10:00:01.000Z :carol!c@h JOIN #group carol :Carol Real Name",
	":dave!d@h MODE #group +ov alice bob",
	":erin!e@h QUIT :Quit: see you",
	":irc.test 005 Hearth CASEMAPPING=ascii CHANMODES=b,k,l,imnpst PREFIX=(qaohv)~&@%+ :are supported",
	":frank!f@h PRIVMSG Hearth :\x01VERSION\x01",
	":gina!g@h PRIVMSG #group :caf\xe9 au lait (Latin-1)",
};
#define NMIX (sizeof(mix) / sizeof(mix[0]))

/* ---- a transport doing the IRC reply work into memory ---- */
struct bench_t {
	struct htransport t;
	struct hbuf out;
	size_t lines;
};

struct say {
	struct bench_t *b;
	const char *target;
};

static int emit(void *ud, const char *line, size_t len)
{
	struct say *s = ud;
	char text[600];
	const char *params[2] = { s->target, text };

	snprintf(text, sizeof(text), "%.*s", (int)len, line);
	s->b->lines++;
	return irc_format(&s->b->out, NULL, 0, NULL, "PRIVMSG", params, 2);
}

static int b_reply(struct htransport *t, const struct hmsg *in, enum hdest dest, const char *md)
{
	struct bench_t *b = t->impl;
	struct say s = { b, in->is_private || dest == HDEST_PRIVATE ? in->sender_name : in->room };
	char *plain = NULL;
	size_t budget = irc_text_budget(512, "Hearth", "hearth", "127.0.0.1", "PRIVMSG", s.target);
	int rc;

	if (md_to_plain(md, strlen(md), &plain))
		return HE_NOMEM;
	rc = irc_split_text(plain, budget, emit, &s);
	free(plain);
	return rc;
}

static int b_post(struct htransport *t, const char *room, const char *md)
{
	struct hmsg m = { .room = room, .sender_name = room };
	return b_reply(t, &m, HDEST_SAME, md);
}

static void b_free(struct htransport *t) {}

static const struct htransport_ops bench_ops = { .reply = b_reply, .post = b_post, .free = b_free };

static void per_command(struct happ *app, struct bench_t *b, const char *line, int n)
{
	static struct irc_msg m;
	uint32_t *t = malloc(sizeof(*t) * (size_t)n), pc[2]; /* nanoseconds */
	static const double p[] = { 50, 99 };
	size_t lines0 = b->lines;

	for (int i = 0; i < n; i++) {
		double t0 = now_s();
		char nick[64], user[64], host[256], *copy, *text;
		size_t len;
		struct hmsg hm = { 0 };

		irc_parse(line, strlen(line), 512, &m);
		irc_split_source(m.source, nick, sizeof(nick), user, sizeof(user), host, sizeof(host));
		copy = strdup(m.params[1]);
		len = irc_strip_format(copy, strlen(copy));
		text = irc_to_utf8(copy, len);
		hm.network = "irc.bench";
		hm.room = m.params[0];
		hm.sender = "nick:alice";
		hm.sender_name = nick;
		hm.text = text;
		hm.via = &b->t;
		happ_dispatch(app, &hm);
		free(text);
		free(copy);
		t[i] = (uint32_t)((now_s() - t0) * 1e9);
		hbuf_reset(&b->out);
	}
	hstats_pcts_of(t, (size_t)n, p, 2, pc);
	printf("%-28s p50 %7.1f us  p99 %7.1f us  (%.1f lines queued per command)\n", strstr(line, "#group :") + 8,
	       pc[0] / 1e3, pc[1] / 1e3, (double)(b->lines - lines0) / n);
	free(t);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	static struct irc_msg m;
	struct happ app = { 0 };
	struct bench_t b = { .out = HBUF_INIT };
	const char *src = getenv("HEARTH_SOURCE_DIR");
	char dir[4096];
	double t0, dt;
	size_t bytes = 0;

	for (long i = 0; i < n; i++) {
		const char *l = mix[i % NMIX];
		bytes += strlen(l);
	}
	t0 = now_s();
	for (long i = 0; i < n; i++) {
		const char *l = mix[i % NMIX];
		irc_parse(l, strlen(l), 512, &m);
	}
	dt = now_s() - t0;
	printf("parser: %ld lines in %.3f s = %.0f lines/s (%.1f MB/s, realistic mix of %zu kinds)\n",
	       n, dt, (double)n / dt, (double)bytes / dt / 1e6, NMIX);

	hlog_set_level(HLOG_ERROR);
	if (config_load(NULL, &app.cfg, NULL) || config_finish(app.cfg, NULL))
		return 1;
	/* one member asks every command: the answer limit (3 a minute by default) would silence
	 * all but the first three, so it is off and every figure is an answered command */
	app.cfg->room_answers_per_minute = 0;
	snprintf(dir, sizeof(dir), "%s/content", src && *src ? src : HEARTH_SOURCE_DIR);
	free(app.cfg->content_dir);
	app.cfg->content_dir = strdup(dir);
	if (loop_new(&app.loop) || store_open_file(":memory:", &app.store) || care_init(&app) ||
	    care_load_content(&app))
		return 1;
	snprintf(b.t.name, sizeof(b.t.name), "irc.bench");
	b.t.ops = &bench_ops;
	b.t.impl = &b;
	happ_add_transport(&app, &b.t);
	printf("per command (parse -> dispatch -> reply lines formatted and queued):\n");
	per_command(&app, &b, "@account=alice :alice!a@h PRIVMSG #group :!learn", 20000);
	per_command(&app, &b, "@account=alice :alice!a@h PRIVMSG #group :!learn attachmnt", 20000);
	per_command(&app, &b, "@account=alice :alice!a@h PRIVMSG #group :!checkin", 20000);
	per_command(&app, &b, "@account=alice :alice!a@h PRIVMSG #group :!help", 20000);
	per_command(&app, &b, "@account=alice :alice!a@h PRIVMSG #group :just chatting, no command", 20000);
	hbuf_free(&b.out);
	care_free(&app);
	content_free(app.content);
	store_free(app.store);
	loop_free(app.loop);
	config_free(app.cfg);
	return 0;
}
