/* bench_mood - mood logs at scale: 1,000,000 entries from 1,000 members in a temporary file
 * database (insert rate, transactions of 1,000), then `!mood history` through the real command
 * path (happ_dispatch -> router -> cmd_mood) for 1,000 random members: p50/p99. Prints figures,
 * asserts nothing. Usage: bench_mood [entries] [members]
 * HEARTH_TEST_STORE=pg: the same in a fresh schema of the PostgreSQL test cluster
 * (tests/pg/cluster.sh); tests/bench/engines.sh runs both and prints them side by side. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "care/care.h"
#include "care/content.h"
#include "care/mood.h"
#include "core/app.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/stats.h"
#include "store/store.h"
#include "testapp.h"

static size_t replies, reply_bytes;

static int b_reply(struct htransport *t, const struct hmsg *in, enum hdest dest, const char *md)
{
	replies++;
	reply_bytes += strlen(md);
	return HE_OK;
}

static void b_free(struct htransport *t) {}

static const struct htransport_ops ops = { .reply = b_reply, .free = b_free };

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


static void say(struct happ *app, struct htransport *t, const char *member, const char *text)
{
	char dm[64];
	struct hmsg m = { .network = "bench", .room = dm, .sender = member, .sender_name = member,
			  .text = text, .is_private = true, .via = t };
	snprintf(dm, sizeof(dm), "dm:%s", member);
	happ_dispatch(app, &m);
}

/* v: microseconds */
static void percentiles(const char *what, uint32_t *v, size_t n)
{
	static const double p[] = { 50, 99, 100 };
	uint32_t out[3];

	hstats_pcts_of(v, n, p, 3, out);
	printf("%-28s p50 %.3f ms  p99 %.3f ms  max %.3f ms  (%zu runs)\n", what, out[0] / 1e3,
	       out[1] / 1e3, out[2] / 1e3, n);
}

int main(int argc, char **argv)
{
	long total = argc > 1 ? atol(argv[1]) : 1000000, nmembers = argc > 2 ? atol(argv[2]) : 1000;
	struct happ app = { 0 };
	struct htransport t = { .ops = &ops };
	char dir[] = "/tmp/hearth-bench-mood-XXXXXX", path[256], member[48];
	const char *src = getenv("SRC");
	struct rusage ru;
	double t0, t1, start = now_s();
	uint32_t *ms;
	size_t runs = 1000;
	unsigned seed = 42;
	time_t now = 1768478400;

	hlog_set_level(HLOG_WARN);
	if (!mkdtemp(dir))
		return 1;
	if (config_load(NULL, &app.cfg, NULL) || config_finish(app.cfg, NULL))
		return 1;
	free(app.cfg->mood_key_file);
	snprintf(path, sizeof(path), "%s/mood.key", dir);
	app.cfg->mood_key_file = strdup(path);
	snprintf(path, sizeof(path), "%s/content", src && *src ? src : HEARTH_SOURCE_DIR);
	app.cfg->content_dir = strdup(path);
	app.fake_now = now;
	snprintf(path, sizeof(path), "%s/bench.db", dir);
	if (ta_store_open(path, &app.store) || care_init(&app) || care_load_content(&app)) {
		fprintf(stderr, "bench_mood: set-up failed\n");
		return 1;
	}
	snprintf(t.name, sizeof(t.name), "bench");
	happ_add_transport(&app, &t);

	for (long i = 0; i < nmembers; i++) {
		snprintf(member, sizeof(member), "@member%ld:bench", i);
		say(&app, &t, member, "!mood optin");
		say(&app, &t, member, "!mood optin confirm");
	}

	/* Entries arrive in time order, as they do in life, spread over the last 360 days from
	 * random members; a third with a note and a tag (sealed), a fifth logged in a room. */
	t0 = now_s();
	store_exec(app.store, "BEGIN");
	for (long i = 0; i < total; i++) {
		struct mood_entry_in e = { .score = 1 + (int)(rand_r(&seed) % 10) };
		char note[64];
		char *tags[1] = { "calm" };
		if (i % 3 == 0) {
			snprintf(note, sizeof(note), "bench note %ld #calm", i);
			e.note = note;
			e.tags[0] = tags[0];
			e.ntags = 1;
		}
		snprintf(member, sizeof(member), "@member%u:bench", (unsigned)(rand_r(&seed) % nmembers));
		if (mood_log(&app, "bench", member, i % 5 == 0 ? "!room:bench" : NULL,
			     now - 360L * 86400 + (time_t)((double)i / (double)total * 360 * 86400), &e)) {
			fprintf(stderr, "bench_mood: insert failed at %ld\n", i);
			return 1;
		}
		if (i % 1000 == 999) {
			store_exec(app.store, "COMMIT");
			store_exec(app.store, "BEGIN");
		}
	}
	store_exec(app.store, "COMMIT");
	t1 = now_s();
	printf("inserted %ld entries for %ld members in %.1f s: %.0f entries/s (transactions of 1000)\n",
	       total, nmembers, t1 - t0, (double)total / (t1 - t0));

	ms = calloc(runs, sizeof(*ms));
	for (size_t i = 0; i < runs; i++) {
		snprintf(member, sizeof(member), "@member%u:bench", (unsigned)(rand_r(&seed) % nmembers));
		t0 = now_s();
		say(&app, &t, member, "!mood history");
		ms[i] = (uint32_t)((now_s() - t0) * 1e6);
	}
	percentiles("!mood history (14 days)", ms, runs);
	for (size_t i = 0; i < runs / 5; i++) {
		snprintf(member, sizeof(member), "@member%u:bench", (unsigned)(rand_r(&seed) % nmembers));
		t0 = now_s();
		say(&app, &t, member, "!mood history 365");
		ms[i] = (uint32_t)((now_s() - t0) * 1e6);
	}
	percentiles("!mood history 365", ms, runs / 5);
	for (size_t i = 0; i < runs / 10; i++) {
		snprintf(member, sizeof(member), "@member%u:bench", (unsigned)(rand_r(&seed) % nmembers));
		t0 = now_s();
		say(&app, &t, member, "!mood export");
		ms[i] = (uint32_t)((now_s() - t0) * 1e6);
	}
	percentiles("!mood export (~1000 entries)", ms, runs / 10);
	for (size_t i = 0; i < 20; i++) {
		struct mood_room_stats rs;
		t0 = now_s();
		mood_room_stats(&app, "bench", "!room:bench", "UTC", 7, 5, &rs);
		ms[i] = (uint32_t)((now_s() - t0) * 1e6);
	}
	percentiles("mood_room_stats (7 days)", ms, 20);
	t0 = now_s();
	say(&app, &t, "@member1:bench", "!mood 5 one more");
	printf("one !mood entry at %ld rows: %.3f ms\n", total, (now_s() - t0) * 1000);

	getrusage(RUSAGE_SELF, &ru);
	printf("replies %zu (%zu bytes); peak RSS %.1f MB; total run %.1f s\n", replies, reply_bytes,
	       (double)ru.ru_maxrss / 1024.0, now_s() - start);
	free(ms);
	care_free(&app);
	content_free(app.content);
	store_free(app.store);
	config_free(app.cfg);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return 0;
}
