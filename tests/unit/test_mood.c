/* Unit tests for bot/care/mood.c: the whole command path (happ_dispatch -> router -> cmd_mood)
 * on a real store, the real content and a recording transport. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "care/care.h"
#include "care/content.h"
#include "care/mood.h"
#include "care/vault.h"
#include "core/app.h"
#include "core/config.h"
#include "core/err.h"
#include "core/md.h"
#include "core/log.h"
#include "store/store.h"
#include "testapp.h"

#define T0 1768478400 /* 2026-01-15 12:00:00Z */
#define DAY 86400
#define MAXREC 512

struct rec {
	enum hdest dest;
	bool priv;          /* landed in a private chat */
	char *to;           /* member (post_private) or room */
	char *text;
};

struct file {
	char *name;
	char *data;
};

struct tapp {
	struct happ app;
	struct htransport t;
	struct rec r[MAXREC];
	size_t n;
	struct file f[16];
	size_t nf;
	char dir[256];
	char db[300];
	char key[300];
	bool files;         /* offer send_file */
};

/* Records one message Hearth sent: where (dest), whether it landed privately, to whom. */
static int record(struct htransport *t, enum hdest dest, bool priv, const char *to, const char *md)
{
	struct tapp *ta = t->impl;
	assert_true(ta->n < MAXREC);
	ta->r[ta->n].dest = dest;
	ta->r[ta->n].priv = priv;
	ta->r[ta->n].to = strdup(to);
	ta->r[ta->n].text = strdup(md);
	ta->n++;
	return HE_OK;
}

static int t_reply(struct htransport *t, const struct hmsg *in, enum hdest dest, const char *md)
{
	return record(t, dest, in->is_private || dest == HDEST_PRIVATE,
		      dest == HDEST_PRIVATE ? in->sender : in->room, md);
}

static int t_post(struct htransport *t, const char *room, const char *md)
{
	return record(t, HDEST_ROOM, false, room, md);
}

static int t_post_private(struct htransport *t, const char *member, const char *md)
{
	return record(t, HDEST_PRIVATE, true, member, md);
}

static int t_send_file(struct htransport *t, const struct hmsg *in, const struct hfile *f)
{
	struct tapp *ta = t->impl;
	assert_true(ta->nf < 16);
	ta->f[ta->nf].name = strdup(f->name);
	ta->f[ta->nf].data = strndup(f->data, f->len);
	ta->nf++;
	return HE_OK;
}

static void t_free(struct htransport *t) {}

static const struct htransport_ops ops_files = {
	.reply = t_reply, .post = t_post, .post_private = t_post_private, .send_file = t_send_file,
	.free = t_free,
};
static const struct htransport_ops ops_nofiles = {
	.reply = t_reply, .post = t_post, .post_private = t_post_private, .free = t_free,
};

static void clear(struct tapp *ta)
{
	for (size_t i = 0; i < ta->n; i++) {
		free(ta->r[i].to);
		free(ta->r[i].text);
	}
	for (size_t i = 0; i < ta->nf; i++) {
		free(ta->f[i].name);
		free(ta->f[i].data);
	}
	ta->n = ta->nf = 0;
}

/* Opens the app on ta->db with the key file ta->key (created by vault_open when missing). */
static void app_open(struct tapp *ta)
{
	struct vault *v = NULL;

	/* A real key file, so that a reopened store can still read what it sealed. */
	assert_int_equal(vault_open(ta->key, &v), 0);
	vault_free(v);
	assert_int_equal(ta_app_open(&ta->app, ta->db, ta->dir, ta->key), 0);
	snprintf(ta->t.name, sizeof(ta->t.name), "test");
	ta->t.ops = ta->files ? &ops_files : &ops_nofiles;
	ta->t.impl = ta;
	ta->app.ntransports = 0;
	assert_int_equal(happ_add_transport(&ta->app, &ta->t), 0);
}

static void app_close(struct tapp *ta)
{
	clear(ta);
	ta_app_close(&ta->app);
}

static int setup(void **state)
{
	struct tapp *ta = calloc(1, sizeof(*ta));

	hlog_set_level(HLOG_ERROR);
	snprintf(ta->dir, sizeof(ta->dir), "/tmp/hearth-test-mood-XXXXXX");
	assert_non_null(mkdtemp(ta->dir));
	snprintf(ta->db, sizeof(ta->db), "%s/hearth.db", ta->dir);
	snprintf(ta->key, sizeof(ta->key), "%s/mood.key", ta->dir);
	ta->files = true;
	ta->app.fake_now = T0;
	app_open(ta);
	*state = ta;
	return 0;
}

static int teardown(void **state)
{
	struct tapp *ta = *state;
	char cmd[600];

	app_close(ta);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", ta->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", ta->dir);
	free(ta);
	return 0;
}

/* Says text as sender on network; room NULL = privately; transient as an IRC nick without a
 * services account is. */
static size_t say_on(struct tapp *ta, const char *network, const char *sender, const char *room,
		     bool transient, const char *text)
{
	char dm[128];
	struct hmsg m = {
		.network = network, .room = room, .sender = sender, .sender_name = sender, .text = text,
		.is_private = room == NULL, .sender_transient = transient, .role = HROLE_MEMBER,
		.via = &ta->t,
	};
	size_t before = ta->n;

	if (!room) {
		snprintf(dm, sizeof(dm), "dm:%s", sender);
		m.room = dm;
	}
	happ_dispatch(&ta->app, &m);
	return ta->n - before;
}

/* Says text as sender on the test network; room NULL = privately. Returns how many replies
 * came. */
static size_t say(struct tapp *ta, const char *sender, const char *room, const char *text)
{
	return say_on(ta, "test", sender, room, false, text);
}

static const char *last(const struct tapp *ta)
{
	return ta->n ? ta->r[ta->n - 1].text : "";
}

/* The whole file at path (malloc'd, *len bytes), or NULL if it cannot be read. */
static char *file_bytes(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *raw = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (raw = malloc((size_t)n + 1)) && fread(raw, 1, (size_t)n, f) == (size_t)n) {
		*len = (size_t)n;
	} else {
		free(raw);
		raw = NULL;
	}
	fclose(f);
	return raw;
}

/* With HEARTH_TEST_STORE=pg (unit.mood.pg) the store is PostgreSQL: what reads SQLite's files
 * or uses its pragmas and triggers is skipped there. */
static bool on_pg(struct tapp *ta)
{
	return store_engine(ta->app.store) == DB_PG;
}

#define SQLITE_ONLY(ta)                                                         \
	do {                                                                    \
		if (on_pg(ta)) {                                                \
			print_message("(SQLite only: skipped on PostgreSQL)\n");  \
			skip();                                                 \
		}                                                               \
	} while (0)

static long count(struct tapp *ta, const char *sql)
{
	struct db_stmt *st = NULL;
	long n = -1;

	assert_int_equal(db_prepare(store_sql(ta->app.store), sql, &st), HE_OK);
	if (db_step(st) == DB_ROW)
		n = (long)db_col_int64(st, 0);
	db_finalize(st);
	return n;
}

static void exec_sql(struct tapp *ta, const char *sql)
{
	assert_int_equal(db_exec(store_sql(ta->app.store), sql), HE_OK);
}

/* Rows in every mood table that mention member in any text column. */
static long rows_mentioning(struct tapp *ta, const char *member)
{
	struct db *db = store_sql(ta->app.store);
	struct db_stmt *tables = NULL;
	long total = 0;

	assert_int_equal(db_prepare(db, on_pg(ta) ? "SELECT table_name FROM information_schema.tables"
				    " WHERE table_schema = current_schema()"
				    : "SELECT name FROM sqlite_master WHERE type = 'table'", &tables), HE_OK);
	while (db_step(tables) == DB_ROW) {
		const char *name = db_col_text(tables, 0);
		char sql[512];
		struct db_stmt *rows = NULL;

		snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\"", name);
		assert_int_equal(db_prepare(db, sql, &rows), HE_OK);
		while (db_step(rows) == DB_ROW) {
			for (int c = 0; c < db_col_count(rows); c++) {
				const char *v = db_col_type(rows, c) == DB_TEXT ? db_col_text(rows, c) : NULL;
				if (v && strstr(v, member)) {
					print_message("table %s still mentions %s\n", name, member);
					total++;
				}
			}
		}
		db_finalize(rows);
	}
	db_finalize(tables);
	return total;
}

static long mood_rows(struct tapp *ta)
{
	return count(ta, "SELECT (SELECT count(*) FROM mood_consent) + (SELECT count(*) FROM mood_entry)"
			 " + (SELECT count(*) FROM mood_reminder) + (SELECT count(*) FROM mood_pending)");
}

static void optin(struct tapp *ta, const char *who)
{
	say(ta, who, NULL, "!mood optin");
	say(ta, who, NULL, "!mood optin confirm");
	assert_non_null(strstr(last(ta), "only you can see it"));
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_consent_gate(void **state)
{
	struct tapp *ta = *state;

	say(ta, "alice", NULL, "!mood 7 a good day");
	assert_non_null(strstr(last(ta), "!mood optin"));
	assert_non_null(strstr(last(ta), "Nothing was saved"));
	say(ta, "alice", NULL, "!mood remind 20:00");
	say(ta, "alice", NULL, "!mood history");
	say(ta, "alice", NULL, "!mood export");
	assert_int_equal(ta->nf, 0);
	say(ta, "alice", NULL, "!mood forget");
	assert_int_equal(mood_rows(ta), 0);

	/* The explanation: what, where, who, how long, control, not therapy. */
	say(ta, "alice", NULL, "!mood optin");
	const char *t = last(ta);
	assert_true(ta->r[ta->n - 1].priv);
	assert_non_null(strstr(t, "365 days"));
	assert_null(strstr(t, "{retention_days}"));
	assert_non_null(strstr(t, "only you"));
	assert_non_null(strstr(t, "!mood export"));
	assert_non_null(strstr(t, "!mood forget"));
	assert_non_null(strstr(t, "not therapy"));
	assert_non_null(strstr(t, "!mood optin confirm"));
	assert_int_equal(mood_rows(ta), 0);

	say(ta, "alice", NULL, "!mood optin confirm please");
	assert_int_equal(mood_rows(ta), 0);
	optin(ta, "alice");
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_consent WHERE member = 'alice'"
				   " AND given_at = 1768478400 AND version = 1"), 1);
	assert_int_equal(ta->app.content->consent_version, 1);

	/* A new consent text asks again before anything more is stored. */
	say(ta, "alice", NULL, "!mood 6");
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry"), 1);
	ta->app.content->consent_version = 2;
	say(ta, "alice", NULL, "!mood 6");
	assert_non_null(strstr(last(ta), "changed"));
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry"), 1);
	optin(ta, "alice");
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_consent WHERE version = 2"), 1);
}

static void test_entries_and_tags(void **state)
{
	struct tapp *ta = *state;
	char note[700];
	json_t *root;
	json_error_t jerr;

	optin(ta, "alice");
	say(ta, "alice", NULL, "!mood 7 good day #Calm, #lonely and #calm again");
	assert_non_null(strstr(last(ta), "Logged **7**/10"));
	ta->app.fake_now += 3600;
	say(ta, "alice", NULL, "!mood 3/10");
	ta->app.fake_now += 60;
	say(ta, "alice", NULL, "!mood 10");
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry WHERE member = 'alice'"), 3);

	static const char *const bad[] = { "!mood 0", "!mood 11", "!mood abc", "!mood 5.5", "!mood -3",
					   "!mood 100", "!mood 5,5 note", "!mood #sad" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		say(ta, "alice", NULL, bad[i]);
		if (!strstr(last(ta), "Nothing was saved"))
			print_error("%s -> %s\n", bad[i], last(ta));
		assert_non_null(strstr(last(ta), "Nothing was saved"));
		assert_true(ta->r[ta->n - 1].priv);
	}
	/* 500 characters is fine, 501 is kindly refused. */
	memcpy(note, "!mood 5 ", 8);
	memset(note + 8, 'x', 501);
	note[8 + 501] = '\0';
	say(ta, "alice", NULL, note);
	assert_non_null(strstr(last(ta), "501 characters"));
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry"), 3);
	note[8 + 500] = '\0';
	say(ta, "alice", NULL, note);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry"), 4);

	say(ta, "alice", NULL, "!mood export");
	assert_int_equal(ta->nf, 2);
	assert_non_null(strstr(ta->f[0].name, "hearth-mood-2026-01-15.csv"));
	assert_non_null(strstr(ta->f[1].name, "hearth-mood-2026-01-15.json"));
	root = json_loads(ta->f[1].data, 0, &jerr);
	assert_non_null(root);
	json_t *e = json_array_get(json_object_get(root, "entries"), 0);
	assert_int_equal(json_integer_value(json_object_get(e, "score")), 7);
	assert_string_equal(json_string_value(json_object_get(e, "note")), "good day #Calm, #lonely and #calm again");
	json_t *tags = json_object_get(e, "tags");
	assert_int_equal(json_array_size(tags), 2);
	assert_string_equal(json_string_value(json_array_get(tags, 0)), "calm");
	assert_string_equal(json_string_value(json_array_get(tags, 1)), "lonely");
	assert_int_equal(json_array_size(json_object_get(root, "entries")), 4);
	json_decref(root);
	assert_non_null(strstr(ta->f[0].data, "\"good day #Calm, #lonely and #calm again\",\"calm lonely\",\"private\"\r\n"));
}

static void test_parsers(void **state)
{
	struct mood_entry_in e;
	char err[256], tz[72];
	int days, minute;
	bool off;
	struct content *c = NULL; /* the errors are phrases (content/phrases.ini) */
	char dir[4096], cerr[512];

	snprintf(dir, sizeof(dir), "%s/content", ta_src());
	assert_int_equal(content_load(dir, "en", &c, cerr, sizeof(cerr)), 0);

	assert_int_equal(mood_parse_entry(c, NULL, "  7/10   slept \"ok\" #Tired #tired #sad-ish. ", &e, err, sizeof(err)), 0);
	assert_int_equal(e.score, 7);
	assert_string_equal(e.note, "slept \"ok\" #Tired #tired #sad-ish.");
	assert_int_equal(e.ntags, 2);
	assert_string_equal(e.tags[0], "tired");
	assert_string_equal(e.tags[1], "sad-ish");
	mood_entry_in_clear(&e);
	assert_int_equal(mood_parse_entry(c, NULL, "10", &e, err, sizeof(err)), 0);
	assert_int_equal(e.score, 10);
	assert_null(e.note);
	mood_entry_in_clear(&e);
	assert_int_equal(mood_parse_entry(c, NULL, "4 müde #müde a#b", &e, err, sizeof(err)), 0);
	assert_int_equal(e.ntags, 1);
	assert_string_equal(e.tags[0], "müde");
	mood_entry_in_clear(&e);
	assert_int_equal(mood_parse_entry(c, NULL, "5 #a #b #c #d #e #f #g #h #i #j #k", &e, err, sizeof(err)), HE_INVAL);
	assert_non_null(strstr(err, "up to 10"));
	assert_int_equal(mood_parse_entry(c, NULL, "5 \xff", &e, err, sizeof(err)), HE_INVAL);
	assert_int_equal(mood_parse_entry(c, NULL, "", &e, err, sizeof(err)), HE_INVAL);

	assert_int_equal(mood_parse_days(c, NULL, "", &days, err, sizeof(err)), 0);
	assert_int_equal(days, 14);
	assert_int_equal(mood_parse_days(c, NULL, "365", &days, err, sizeof(err)), 0);
	assert_int_equal(days, 365);
	assert_int_equal(mood_parse_days(c, NULL, "366", &days, err, sizeof(err)), HE_INVAL);
	assert_int_equal(mood_parse_days(c, NULL, "0", &days, err, sizeof(err)), HE_INVAL);
	assert_int_equal(mood_parse_days(c, NULL, "7 bob", &days, err, sizeof(err)), HE_INVAL);
	assert_non_null(strstr(err, "1 to 365"));

	assert_int_equal(mood_parse_remind(c, NULL, "off", &off, &minute, tz, sizeof(tz), err, sizeof(err)), 0);
	assert_true(off);
	assert_int_equal(mood_parse_remind(c, NULL, "8:05 Europe/Berlin", &off, &minute, tz, sizeof(tz), err, sizeof(err)), 0);
	assert_false(off);
	assert_int_equal(minute, 8 * 60 + 5);
	assert_string_equal(tz, "Europe/Berlin");
	assert_int_equal(mood_parse_remind(c, NULL, "24:00", &off, &minute, tz, sizeof(tz), err, sizeof(err)), HE_INVAL);
	assert_int_equal(mood_parse_remind(c, NULL, "20:00 Nowhere/Land", &off, &minute, tz, sizeof(tz), err, sizeof(err)), HE_INVAL);
	assert_non_null(strstr(err, "Nowhere/Land"));
	assert_int_equal(mood_parse_remind(c, NULL, "20:00 ../../etc/passwd", &off, &minute, tz, sizeof(tz), err, sizeof(err)), HE_INVAL);
	assert_int_equal(mood_parse_remind(c, NULL, "", &off, &minute, tz, sizeof(tz), err, sizeof(err)), HE_INVAL);
	content_free(c);
}

static void test_history_sparkline(void **state)
{
	struct tapp *ta = *state;
	char *t;

	optin(ta, "alice");
	/* Two weeks: low for a week, then better. Two entries on the last day. */
	for (int d = 13; d >= 0; d--) {
		char cmd[64];
		ta->app.fake_now = T0 - (time_t)d * DAY;
		snprintf(cmd, sizeof(cmd), "!mood %d day %d", d >= 7 ? 2 : 9, 13 - d);
		say(ta, "alice", NULL, cmd);
	}
	say(ta, "alice", NULL, "!mood 9 HISTMARK #hopeful");
	say(ta, "alice", NULL, "!mood history");
	t = ta->r[ta->n - 1].text;
	assert_true(ta->r[ta->n - 1].priv);
	assert_non_null(strstr(t, "`▂▂▂▂▂▂▂▇▇▇▇▇▇▇`"));
	assert_non_null(strstr(t, "Average **5.7** from 15 entries on 14 days"));
	assert_non_null(strstr(t, "Trend: up (2.0 in the first half, 9.0 in the second)"));
	assert_non_null(strstr(t, "Thu 15 Jan   9.0  2"));
	assert_non_null(strstr(t, "HISTMARK #hopeful"));

	/* A gap and a shorter window. */
	say(ta, "alice", NULL, "!mood history 3");
	assert_non_null(strstr(last(ta), "`▇▇▇`"));
	assert_non_null(strstr(last(ta), "Trend: steady"));
	ta->app.fake_now = T0 + 3 * DAY;
	say(ta, "alice", NULL, "!mood history 5");
	assert_non_null(strstr(last(ta), "`▇▇···`"));
	say(ta, "alice", NULL, "!mood history 400");
	assert_non_null(strstr(last(ta), "1 to 365"));
	/* A long window is drawn by week. */
	say(ta, "alice", NULL, "!mood history 365");
	assert_non_null(strstr(last(ta), "one mark per week"));
}

static void test_forget(void **state)
{
	struct tapp *ta = *state;
	char *raw;
	size_t len;

	optin(ta, "alice-forget-me");
	optin(ta, "bob");
	say(ta, "alice-forget-me", NULL, "!mood 4 first");
	say(ta, "alice-forget-me", "!room:test", "!mood 5 from the room");
	say(ta, "alice-forget-me", NULL, "!mood remind 21:00");
	say(ta, "alice-forget-me", NULL, "!checkin"); /* private check-ins rotate per member */
	assert_true(rows_mentioning(ta, "alice-forget-me") > 0);
	say(ta, "bob", NULL, "!mood 6 bob stays");

	/* Confirm without asking first, or too late: nothing happens. */
	say(ta, "alice-forget-me", NULL, "!mood forget confirm");
	assert_non_null(strstr(last(ta), "Nothing was deleted"));
	say(ta, "alice-forget-me", NULL, "!mood forget");
	assert_non_null(strstr(last(ta), "2 entries"));
	assert_non_null(strstr(last(ta), "!mood forget confirm"));
	ta->app.fake_now += MOOD_FORGET_WINDOW + 1;
	say(ta, "alice-forget-me", NULL, "!mood forget confirm");
	assert_non_null(strstr(last(ta), "Nothing was deleted"));
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry WHERE member = 'alice-forget-me'"), 2);

	say(ta, "alice-forget-me", NULL, "!mood forget");
	ta->app.fake_now += 60;
	say(ta, "alice-forget-me", NULL, "!mood forget confirm");
	assert_non_null(strstr(last(ta), "deleted"));
	assert_int_equal(rows_mentioning(ta, "alice-forget-me"), 0);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry WHERE member = 'bob'"), 1);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_consent WHERE member = 'bob'"), 1);

	/* Hard delete: not even in the file's free pages or the WAL (SQLite: PostgreSQL frees
	 * them at VACUUM, see README "Storage"). */
	if (!on_pg(ta)) {
		app_close(ta);
		raw = file_bytes(ta->db, &len);
		assert_non_null(raw);
		assert_null(memmem(raw, (size_t)len, "alice-forget-me", 15));
		assert_non_null(memmem(raw, (size_t)len, "bob", 3));
		free(raw);
		app_open(ta);
	}
	say(ta, "alice-forget-me", NULL, "!mood history");
	assert_non_null(strstr(last(ta), "!mood optin"));
}

static bool any_reply_has(struct tapp *ta, size_t from, const char *needle)
{
	for (size_t i = from; i < ta->n; i++)
		if (strstr(ta->r[i].text, needle))
			return true;
	for (size_t i = 0; i < ta->nf; i++)
		if (strstr(ta->f[i].data, needle))
			return true;
	return false;
}

static void test_isolation(void **state)
{
	struct tapp *ta = *state;
	static const char *const cmds[] = {
		"!mood", "!mood help", "!mood optin", "!mood optin confirm", "!mood 3 bob's own",
		"!mood history", "!mood history 365", "!mood history alice", "!mood alice",
		"!mood export", "!mood export alice", "!mood remind 20:00", "!mood remind off",
		"!mood optout", "!mood forget alice", "!mood forget", "!mood forget confirm",
	};
	size_t from;

	optin(ta, "alice");
	say(ta, "alice", NULL, "!mood 9 ALICE-SECRET #alicetag");
	say(ta, "alice", "!room:test", "!mood 8 ALICE-ROOM");
	clear(ta);
	from = ta->n;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
			say(ta, "bob", NULL, cmds[i]);
			say(ta, "bob", "!room:test", cmds[i]);
		}
	/* And as a moderator, in the room and privately. */
	struct hmsg m = { .network = "test", .room = "!room:test", .sender = "mod", .sender_name = "mod",
			  .text = "!mood history", .role = HROLE_MODERATOR, .via = &ta->t };
	happ_dispatch(&ta->app, &m);
	m.text = "!mod stats";
	happ_dispatch(&ta->app, &m);
	assert_false(any_reply_has(ta, from, "ALICE"));
	assert_false(any_reply_has(ta, from, "alicetag"));
	for (size_t i = from; i < ta->n; i++)
		assert_true(strcmp(ta->r[i].to, "alice") != 0);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry WHERE member = 'alice'"), 2);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_consent WHERE member = 'alice'"), 1);
	/* Alice still reads her own. */
	say(ta, "alice", NULL, "!mood history");
	assert_non_null(strstr(last(ta), "ALICE-SECRET"));
}

/* A note or tag is shown as written: it cannot add a link, a mention or formatting to the reply. */
static void test_note_echo_is_inert(void **state)
{
	struct tapp *ta = *state;
	char *html = NULL;

	optin(ta, "nora");
	say(ta, "nora", NULL, "!mood 4 see https://evil.example/x and @eve:evil.example **loud** [x](http://e.example) #ok");
	say(ta, "nora", NULL, "!mood history");
	assert_int_equal(md_to_html(last(ta), strlen(last(ta)), &html), HE_OK);
	assert_null(strstr(html, "<a"));
	assert_null(strstr(html, "<strong>loud"));
	assert_non_null(strstr(html, "evil"));
	free(html);
	/* The plain body clients linkify: no URL and no @user:server survive whole. */
	assert_int_equal(md_to_plain(last(ta), strlen(last(ta)), &html), HE_OK);
	assert_null(strstr(html, "https://evil"));
	assert_null(strstr(html, "@eve:evil"));
	assert_non_null(strstr(html, "evil"));
	free(html);
}

static void test_encrypted_at_rest(void **state)
{
	struct tapp *ta = *state;
	static const char *const suffixes[] = { "", "-wal" };
	bool pg = on_pg(ta);

	optin(ta, "alice");
	say(ta, "alice", NULL, "!mood 6 ZQXMARKER-4417 #zqxtag");
	/* Read the raw bytes while the store is open (WAL holds fresh pages) and after closing
	 * (SQLite's files; on PostgreSQL the column holds the same sealed box). */
	if (pg)
		assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry WHERE box IS NOT NULL AND"
				       " nonce IS NOT NULL"), 1);
	for (int closed = 0; closed < 2 && !pg; closed++) {
		if (closed)
			app_close(ta);
		for (size_t s = 0; s < 2; s++) {
			char path[400], *raw;
			size_t len;
			snprintf(path, sizeof(path), "%s%s", ta->db, suffixes[s]);
			if (access(path, F_OK) != 0)
				continue;
			raw = file_bytes(path, &len);
			assert_non_null(raw);
			assert_null(memmem(raw, (size_t)len, "ZQXMARKER", 9));
			assert_null(memmem(raw, (size_t)len, "zqxtag", 6));
			/* ...while the score and member are there: we read the right file. */
			if (closed && s == 0)
				assert_non_null(memmem(raw, (size_t)len, "alice", 5));
			free(raw);
		}
	}
	if (!pg)
		app_open(ta);
	say(ta, "alice", NULL, "!mood history");
	assert_non_null(strstr(last(ta), "ZQXMARKER-4417 #zqxtag"));
	say(ta, "alice", NULL, "!mood export");
	assert_int_equal(ta->nf, 2);
	assert_non_null(strstr(ta->f[0].data, "ZQXMARKER-4417"));
	assert_non_null(strstr(ta->f[1].data, "\"zqxtag\""));

	/* A sealed note moved to another member's row does not open there. */
	optin(ta, "bob");
	say(ta, "bob", NULL, "!mood 2 bobs");
	exec_sql(ta, "UPDATE mood_entry SET nonce = (SELECT nonce FROM mood_entry WHERE member = 'alice'),"
		 " box = (SELECT box FROM mood_entry WHERE member = 'alice') WHERE member = 'bob'");
	say(ta, "bob", NULL, "!mood history");
	assert_null(strstr(last(ta), "ZQXMARKER"));
	assert_non_null(strstr(last(ta), "can't be opened"));
}

static void test_retention(void **state)
{
	struct tapp *ta = *state;
	struct mood_entry_in e = { .score = 5 };
	long purged = -1;

	ta->app.cfg->mood_retention_days = 30;
	optin(ta, "alice");
	assert_int_equal(mood_log(&ta->app, "test", "alice", NULL, T0 - 31 * DAY, &e), 0);
	assert_int_equal(mood_log(&ta->app, "test", "alice", NULL, T0 - 29 * DAY, &e), 0);
	assert_int_equal(mood_log(&ta->app, "test", "alice", NULL, T0, &e), 0);
	assert_int_equal(mood_purge(&ta->app, &purged), 0);
	assert_int_equal(purged, 1);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry"), 2);
	/* Time passes; the purge at start removes what aged out. */
	ta->app.fake_now = T0 + 2 * DAY;
	mood_free(&ta->app);
	assert_int_equal(mood_init(&ta->app), 0);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry"), 1);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_consent"), 1);
}

static void test_group_room_private(void **state)
{
	struct tapp *ta = *state;
	static const char *const cmds[] = {
		"!mood optin", "!mood optin confirm", "!mood 6 ROOMNOTE-55 #roomtag", "!mood history",
		"!mood export", "!mood remind 07:30", "!mood abc", "!mood 11", "!mood optout", "!mood forget",
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		size_t before = ta->n, nroom = 0;
		say(ta, "carol", "!group:test", cmds[i]);
		assert_true(ta->n - before >= 2);
		for (size_t k = before; k < ta->n; k++) {
			if (ta->r[k].priv) {
				assert_int_equal(ta->r[k].dest, HDEST_PRIVATE);
				assert_string_equal(ta->r[k].to, "carol");
				continue;
			}
			nroom++;
			assert_string_equal(ta->r[k].text, "I've replied to you privately.");
		}
		assert_int_equal(nroom, 1);
	}
	/* The entry remembers its room, for anonymous totals only. */
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry WHERE origin_room = '!group:test'"), 1);
	assert_int_equal(ta->nf, 2);
}

static void room_entry(struct tapp *ta, const char *who, time_t ts, int score)
{
	struct mood_entry_in e = { .score = score };
	assert_int_equal(mood_log(&ta->app, "test", who, "!r:test", ts, &e), 0);
}

/* Room totals: whole past days only, k members per day, days the purge may cut into left out,
 * days in the room's zone. */
static void test_room_stats(void **state)
{
	struct tapp *ta = *state;
	struct mood_room_stats rs;
	const char *five[] = { "a", "b", "c", "d", "e" };
	const time_t today0 = T0 - 12 * 3600; /* 2026-01-15 00:00Z */

	for (int i = 0; i < 5; i++)
		room_entry(ta, five[i], today0 - DAY + 3600 * (i + 1), 4 + i);  /* yesterday: 4..8 */
	room_entry(ta, "a", today0 - DAY + 20 * 3600, 6);                    /* a again: 6 entries */
	room_entry(ta, "a", today0 - 2 * DAY + 3600, 1);                     /* 2 days ago: 2 members */
	room_entry(ta, "b", today0 - 2 * DAY + 7200, 1);
	for (int i = 0; i < 5; i++)
		room_entry(ta, five[i], today0 + 3600, 10);                  /* today: never counted */
	{
		struct mood_entry_in e = { .score = 9 };
		assert_int_equal(mood_log(&ta->app, "test", "c", NULL, today0 - DAY + 60, &e), 0); /* private */
		assert_int_equal(mood_log(&ta->app, "test", "d", "!other:test", today0 - DAY + 60, &e), 0);
	}

	assert_int_equal(mood_room_stats(&ta->app, "test", "!r:test", "UTC", 7, 5, &rs), 0);
	assert_int_equal(rs.days, 7);
	assert_int_equal(rs.days_open, 7);
	assert_int_equal(rs.days_counted, 1);
	assert_int_equal(rs.entries, 6);
	assert_int_equal(rs.members, 5);
	assert_true(rs.mean > 5.99 && rs.mean < 6.01); /* (4+5+6+7+8+6)/6 */
	/* With k = 2 the day with two members counts too. */
	assert_int_equal(mood_room_stats(&ta->app, "test", "!r:test", "UTC", 7, 2, &rs), 0);
	assert_int_equal(rs.days_counted, 2);
	assert_int_equal(rs.entries, 8);
	/* "1 day" is yesterday, not the last 24 hours. */
	assert_int_equal(mood_room_stats(&ta->app, "test", "!r:test", "UTC", 1, 5, &rs), 0);
	assert_int_equal(rs.entries, 6);
	/* A day the retention purge can reach is left out: with 2 days' retention, the day before
	 * yesterday started before the limit (2026-01-13 12:00Z). */
	ta->app.cfg->mood_retention_days = 2;
	assert_int_equal(mood_room_stats(&ta->app, "test", "!r:test", "UTC", 7, 2, &rs), 0);
	assert_int_equal(rs.days_open, 1);
	assert_int_equal(rs.days_counted, 1);
	assert_int_equal(rs.entries, 6);
	ta->app.cfg->mood_retention_days = 365;
	/* Days in the room's zone: 12:00Z is already tomorrow in Auckland (UTC+13), so all of the
	 * day there from the 14th 11:00Z to the 15th 11:00Z is closed: today's five entries (UTC)
	 * and a's second one of the 14th (20:00Z). */
	assert_int_equal(mood_room_stats(&ta->app, "test", "!r:test", "Pacific/Auckland", 1, 5, &rs), 0);
	assert_int_equal(rs.days_counted, 1);
	assert_int_equal(rs.entries, 6);
	assert_true(rs.mean > 9.33 && rs.mean < 9.34); /* (5 * 10 + 6) / 6 */
	/* Other networks and bad arguments. */
	assert_int_equal(mood_room_stats(&ta->app, "other-net", "!r:test", "UTC", 30, 1, &rs), 0);
	assert_int_equal(rs.entries, 0);
	assert_int_equal(rs.days_counted, 0);
	assert_int_equal(mood_room_stats(&ta->app, "test", "!r:test", "UTC", 0, 5, &rs), HE_INVAL);
	assert_int_equal(mood_room_stats(&ta->app, "test", "!r:test", "UTC", 366, 5, &rs), HE_INVAL);
}

static void test_stats_band_and_round(void **state)
{
	char b[32];
	static const struct { long n; const char *band; } bands[] = {
		{ 0, "fewer than 5" }, { 4, "fewer than 5" }, { 5, "5-9" }, { 9, "5-9" }, { 10, "10-19" },
		{ 19, "10-19" }, { 20, "20-49" }, { 49, "20-49" }, { 50, "50-99" }, { 100, "100-199" },
		{ 999, "500-999" }, { 9999, "5000-9999" }, { 10000, "10000 or more" }, { 123456, "10000 or more" },
	};
	for (size_t i = 0; i < sizeof(bands) / sizeof(bands[0]); i++) {
		mood_stats_band(bands[i].n, b, sizeof(b));
		assert_string_equal(b, bands[i].band);
	}
	assert_true(mood_stats_round(5.0) == 5.0);
	assert_true(mood_stats_round(4.74) == 4.5);
	assert_true(mood_stats_round(4.75) == 5.0);
	assert_true(mood_stats_round(4.6) == 4.5);
	assert_true(mood_stats_round(6.2) == 6.0);
	assert_true(mood_stats_round(6.25) == 6.5);
	assert_true(mood_stats_round(10.0) == 10.0);
}

static void test_optout(void **state)
{
	struct tapp *ta = *state;

	optin(ta, "alice");
	say(ta, "alice", NULL, "!mood 5 kept after optout");
	say(ta, "alice", NULL, "!mood remind 09:00");
	say(ta, "alice", NULL, "!mood optout");
	assert_non_null(strstr(last(ta), "1 entry"));
	assert_non_null(strstr(last(ta), "!mood forget"));
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_consent"), 0);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_reminder"), 0);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry"), 1);
	say(ta, "alice", NULL, "!mood 6 after");
	assert_non_null(strstr(last(ta), "!mood optin"));
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry"), 1);
	say(ta, "alice", NULL, "!mood history");
	assert_non_null(strstr(last(ta), "kept after optout"));
	say(ta, "alice", NULL, "!mood export");
	assert_int_equal(ta->nf, 2);
	optin(ta, "alice");
	say(ta, "alice", NULL, "!mood 6 after");
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry"), 2);
}

static void test_export_without_files(void **state)
{
	struct tapp *ta = *state;

	ta->t.ops = &ops_nofiles;
	optin(ta, "alice");
	say(ta, "alice", NULL, "!mood 5 with ``` fences and \"quotes\"");
	say(ta, "alice", NULL, "!mood export");
	assert_int_equal(ta->nf, 0);
	assert_true(ta->r[ta->n - 1].priv);
	assert_non_null(strstr(last(ta), "````\ntime_utc,score,note,tags,logged_in\r\n"));
	assert_non_null(strstr(last(ta), "\"with ``` fences and \"\"quotes\"\"\""));
}

static void test_reminders(void **state)
{
	struct tapp *ta = *state;
	int sent = -1;
	const time_t berlin_2031 = 1768505460; /* 2026-01-15 19:31Z = 20:31 in Berlin */

	optin(ta, "alice");
	ta->app.fake_now = T0; /* 13:00 in Berlin */
	say(ta, "alice", NULL, "!mood remind 20:30 Europe/Berlin");
	assert_non_null(strstr(last(ta), "20:30 (Europe/Berlin)"));
	say(ta, "alice", NULL, "!mood remind 7pm");
	assert_non_null(strstr(last(ta), "HH:MM"));
	clear(ta);
	assert_int_equal(mood_send_reminders(&ta->app, &sent), 0);
	assert_int_equal(sent, 0);
	ta->app.fake_now = berlin_2031;
	assert_int_equal(mood_send_reminders(&ta->app, &sent), 0);
	assert_int_equal(sent, 1);
	assert_string_equal(ta->r[ta->n - 1].to, "alice");
	assert_true(ta->r[ta->n - 1].priv);
	assert_non_null(strstr(last(ta), "!mood remind off"));
	assert_null(strstr(last(ta), "missed"));
	assert_null(strstr(last(ta), "streak"));
	/* Once per local day. */
	ta->app.fake_now += 120;
	assert_int_equal(mood_send_reminders(&ta->app, &sent), 0);
	assert_int_equal(sent, 0);
	ta->app.fake_now = berlin_2031 + DAY - 180; /* 20:28 next day */
	assert_int_equal(mood_send_reminders(&ta->app, &sent), 0);
	assert_int_equal(sent, 0);
	ta->app.fake_now = berlin_2031 + DAY;
	assert_int_equal(mood_send_reminders(&ta->app, &sent), 0);
	assert_int_equal(sent, 1);
	/* Setting a time already past today starts tomorrow. */
	say(ta, "alice", NULL, "!mood remind 20:00 Europe/Berlin");
	assert_int_equal(mood_send_reminders(&ta->app, &sent), 0);
	assert_int_equal(sent, 0);
	say(ta, "alice", NULL, "!mood remind off");
	assert_non_null(strstr(last(ta), "off"));
	ta->app.fake_now += DAY;
	assert_int_equal(mood_send_reminders(&ta->app, &sent), 0);
	assert_int_equal(sent, 0);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_reminder"), 0);
}

/* Consent counts only right after reading the text: within MOOD_OPTIN_WINDOW of `!mood optin`
 * by the same member on the same network, even across a restart. */
static void test_consent_needs_recent_text(void **state)
{
	struct tapp *ta = *state;
	const char *t;

	/* Confirm without reading: the text comes, nothing is stored. */
	say(ta, "alice", NULL, "!mood optin confirm");
	t = last(ta);
	assert_true(ta->r[ta->n - 1].priv);
	assert_non_null(strstr(t, "Before you agree"));
	assert_non_null(strstr(t, "not therapy"));
	assert_non_null(strstr(t, "365 days"));
	assert_non_null(strstr(t, "30 minutes"));
	assert_null(strstr(t, "only you can see it"));
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_consent"), 0);
	say(ta, "alice", NULL, "!mood 6");
	assert_non_null(strstr(last(ta), "Nothing was saved"));
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry"), 0);

	/* Too late: 30 minutes and a second after it was shown. */
	ta->app.fake_now += MOOD_OPTIN_WINDOW + 1;
	say(ta, "alice", NULL, "!mood optin confirm");
	assert_non_null(strstr(last(ta), "Before you agree"));
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_consent"), 0);
	/* ...but that showing counts, right away. */
	ta->app.fake_now += 60;
	say(ta, "alice", NULL, "!mood optin confirm");
	assert_non_null(strstr(last(ta), "only you can see it"));
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_consent WHERE member = 'alice'"), 1);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_consent_shown WHERE member = 'alice'"), 0);

	/* Someone else's reading does not count, nor the same id's on another network. */
	say(ta, "bob", NULL, "!mood optin");
	say(ta, "carol", NULL, "!mood optin confirm");
	assert_non_null(strstr(last(ta), "Before you agree"));
	say_on(ta, "other", "bob", NULL, false, "!mood optin confirm");
	assert_non_null(strstr(last(ta), "Before you agree"));
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_consent WHERE member IN ('bob', 'carol')"), 0);

	/* Exactly at the limit, after a restart: accepted (the time is in the store). */
	say(ta, "dave", NULL, "!mood optin");
	app_close(ta);
	ta->app.fake_now += MOOD_OPTIN_WINDOW;
	app_open(ta);
	say(ta, "dave", NULL, "!mood optin confirm");
	assert_non_null(strstr(last(ta), "only you can see it"));
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_consent WHERE member = 'dave'"), 1);

	/* A clock stepped back does not stretch the window. */
	say(ta, "erin", NULL, "!mood optin");
	ta->app.fake_now -= 3600;
	say(ta, "erin", NULL, "!mood optin confirm");
	assert_non_null(strstr(last(ta), "Before you agree"));
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_consent WHERE member = 'erin'"), 0);

	/* Marks of texts shown long ago are purged. */
	ta->app.fake_now += 2 * 3600;
	assert_int_equal(mood_purge(&ta->app, NULL), 0);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_consent_shown"), 0);
}

/* An IRC nick without a services account can pass to someone else: the mood log explains and
 * stores, shows and deletes nothing under it. */
static void test_transient_sender(void **state)
{
	struct tapp *ta = *state;
	static const char *const cmds[] = {
		"!mood optin", "!mood optin confirm", "!mood 7 NICKNOTE #nicktag", "!mood history",
		"!mood export", "!mood forget", "!mood forget confirm", "!mood optout",
		"!mood remind 20:00", "!mood remind off", "!mood hist",
	};
	struct mood_entry_in old = { .score = 3, .note = "OLD-NICK-NOTE" };

	/* What an older Hearth stored under the nick (before migration 2 removes it). */
	assert_int_equal(mood_log(&ta->app, "irc.net", "nick:sam", NULL, T0 - DAY, &old), 0);
	exec_sql(ta, "INSERT INTO mood_consent VALUES ('irc.net', 'nick:sam', 1, 1)");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		for (int inroom = 0; inroom < 2; inroom++) {
			size_t before = ta->n;
			say_on(ta, "irc.net", "nick:sam", inroom ? "#group" : NULL, true, cmds[i]);
			assert_int_equal(ta->n - before, inroom ? 2 : 1);
			assert_true(ta->r[before].priv);
			assert_int_equal(ta->r[before].dest, HDEST_PRIVATE);
			assert_non_null(strstr(ta->r[before].text, "registered account on this network"));
			assert_non_null(strstr(ta->r[before].text, "Nothing was saved"));
			assert_null(strstr(ta->r[before].text, "OLD-NICK-NOTE"));
			if (inroom)
				assert_string_equal(ta->r[before + 1].text, "I've replied to you privately.");
		}
	}
	assert_int_equal(ta->nf, 0);
	/* Nothing new, nothing deleted (the old rows are the migration's business). */
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry"), 1);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_consent"), 1);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_reminder"), 0);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_pending"), 0);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_consent_shown"), 0);
	/* Help is still there. */
	say_on(ta, "irc.net", "nick:sam", NULL, true, "!mood help");
	assert_non_null(strstr(last(ta), "Your private mood log"));
	/* Logged in to services, the same person has a log as usual. */
	say_on(ta, "irc.net", "account:sam", NULL, false, "!mood optin");
	say_on(ta, "irc.net", "account:sam", NULL, false, "!mood optin confirm");
	assert_non_null(strstr(last(ta), "only you can see it"));
	say_on(ta, "irc.net", "account:sam", NULL, false, "!mood 6");
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry WHERE member = 'account:sam'"), 1);
}

/* Migration 2: what was stored under IRC nicks goes, accounts stay (and get a forget slot). */
static void test_migration_drops_nick_rows(void **state)
{
	struct tapp *ta = *state;
	struct mood_entry_in e = { .score = 4, .note = "NICKZED-NOTE" };
	struct store *old = NULL;
	bool pg = on_pg(ta);
	char *raw;
	size_t len;

	say_on(ta, "irc.net", "account:ann", NULL, false, "!mood optin");
	say_on(ta, "irc.net", "account:ann", NULL, false, "!mood optin confirm");
	say_on(ta, "irc.net", "account:ann", NULL, false, "!mood 7 ann stays");
	say_on(ta, "irc.net", "account:ann", NULL, false, "!mood remind 20:00");
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry WHERE member = 'account:ann'"), 1);
	assert_int_equal(mood_log(&ta->app, "irc.net", "nick:zed", "#chan", T0 - DAY, &e), 0);
	assert_int_equal(mood_log(&ta->app, "irc.net", "nick:zed", NULL, T0 - 2 * DAY, &e), 0);
	assert_int_equal(mood_log(&ta->app, "matrix", "@nick:hs", NULL, T0 - DAY, &e), 0);
	app_close(ta);

	/* Back to a version-1 store holding rows under nicks, as an older Hearth left it. */
	assert_int_equal(ta_store_open(ta->db, &old), HE_OK);
	assert_int_equal(db_exec(store_sql(old),
		"UPDATE schema_version SET version = 1 WHERE module = 'mood';"
		"DROP TABLE mood_consent_shown;"
		"DROP TABLE mood_tap;" /* migration 3 */
		"DELETE FROM mood_pending;"
		"INSERT INTO mood_consent VALUES ('irc.net', 'nick:zed', 1, 1), ('irc.other', 'nick:zed', 1, 1);"
		"INSERT INTO mood_reminder VALUES ('irc.net', 'nick:zed', 600, '', 0);"
		"INSERT INTO mood_pending VALUES ('irc.net', 'nick:zed', 'forget', 99999999999);"), HE_OK);
	store_free(old);
	app_open(ta);

	assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry WHERE member LIKE 'nick:%'"), 0);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_consent WHERE member LIKE 'nick:%'"), 0);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_reminder WHERE member LIKE 'nick:%'"), 0);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_pending WHERE member LIKE 'nick:%'"), 0);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry WHERE member = 'account:ann'"), 1);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_consent WHERE member = 'account:ann'"), 1);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_reminder WHERE member = 'account:ann'"), 1);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry WHERE member = '@nick:hs'"), 1);
	/* Every remaining member has a forget slot, not pending. */
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_pending WHERE member IN ('account:ann', '@nick:hs')"
				   " AND expires < 1768478400"), 2);
	/* Ann's log still reads; the rows are gone from the file too (secure_delete, checkpoint). */
	say_on(ta, "irc.net", "account:ann", NULL, false, "!mood history");
	assert_non_null(strstr(last(ta), "ann stays"));
	if (pg)
		return;
	app_close(ta);
	raw = file_bytes(ta->db, &len);
	assert_non_null(raw);
	assert_null(memmem(raw, (size_t)len, "nick:zed", 8));
	assert_non_null(memmem(raw, (size_t)len, "account:ann", 11));
	free(raw);
	app_open(ta);
}

/* Optout is one transaction: a failure on its second delete leaves the consent in place. */
static void test_optout_is_atomic(void **state)
{
	struct tapp *ta = *state;
	sqlite3 *db = store_db(ta->app.store);

	SQLITE_ONLY(ta); /* a TEMP TRIGGER injects the failure */
	optin(ta, "alice");
	say(ta, "alice", NULL, "!mood 5 kept");
	say(ta, "alice", NULL, "!mood remind 09:00");
	assert_int_equal(sqlite3_exec(db, "CREATE TEMP TRIGGER fail_reminder BEFORE DELETE ON mood_reminder"
				      " BEGIN SELECT RAISE(ABORT, 'injected'); END", NULL, NULL, NULL), SQLITE_OK);
	say(ta, "alice", NULL, "!mood optout");
	assert_non_null(strstr(last(ta), "nothing changed"));
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_consent WHERE member = 'alice'"), 1);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_reminder WHERE member = 'alice'"), 1);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry WHERE member = 'alice'"), 1);
	assert_true(sqlite3_get_autocommit(db));
	/* Still opted in: logging works. */
	say(ta, "alice", NULL, "!mood 6");
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry WHERE member = 'alice'"), 2);
	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER fail_reminder", NULL, NULL, NULL), SQLITE_OK);
	say(ta, "alice", NULL, "!mood optout");
	assert_non_null(strstr(last(ta), "2 entries"));
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_consent"), 0);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_reminder"), 0);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry"), 2);
}

/* A full disk (max_page_count at the current page count, and the confirmation table's last page
 * filled) never keeps a member from deleting their log. */
static void test_forget_on_full_disk(void **state)
{
	struct tapp *ta = *state;
	sqlite3 *db = store_db(ta->app.store);
	char sql[200];
	long pages;
	int rc = SQLITE_OK;

	SQLITE_ONLY(ta); /* max_page_count makes the full disk */
	optin(ta, "zz-member");
	say(ta, "zz-member", NULL, "!mood 4 a note #tag");
	say(ta, "zz-member", "!room:test", "!mood 5 from the room");
	say(ta, "zz-member", NULL, "!mood remind 21:00");
	say(ta, "zz-member", NULL, "!checkin");
	optin(ta, "bob");
	say(ta, "bob", NULL, "!mood 6 bob stays");
	pages = count(ta, "PRAGMA page_count");
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %ld", pages);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(count(ta, "PRAGMA max_page_count"), pages);
	/* Fill the pages of mood_pending where zz-member's row sorts (the last one). */
	for (int i = 0; i < 200000 && rc == SQLITE_OK; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO mood_pending VALUES ('test', 'y%06d', 'forget', 1)", i);
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	}
	assert_int_equal(rc, SQLITE_FULL);
	/* The disk is full: a new confirmation row for zz-member would not fit. */
	assert_int_equal(sqlite3_exec(db, "INSERT INTO mood_pending VALUES ('test', 'zz-other', 'forget', 1)",
				      NULL, NULL, NULL), SQLITE_FULL);

	say(ta, "zz-member", NULL, "!mood forget");
	assert_non_null(strstr(last(ta), "!mood forget confirm"));
	say(ta, "zz-member", NULL, "!mood forget confirm");
	assert_non_null(strstr(last(ta), "Everything the mood log held about you is deleted"));
	assert_int_equal(rows_mentioning(ta, "zz-member"), 0);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry WHERE member = 'bob'"), 1);
}

/* The retention purge folds the WAL back (TRUNCATE), as forget does: old page images go. */
static void test_purge_truncates_wal(void **state)
{
	struct tapp *ta = *state;
	struct mood_entry_in e = { .score = 5, .note = "aged out" };
	char wal[400];
	struct stat sb;
	long purged = 0;

	SQLITE_ONLY(ta); /* SQLite's write-ahead log */
	optin(ta, "alice");
	assert_int_equal(mood_log(&ta->app, "test", "alice", NULL, T0 - 400 * DAY, &e), 0);
	assert_int_equal(mood_log(&ta->app, "test", "alice", NULL, T0, &e), 0);
	/* bob opted out with nothing logged: his forget slot goes with the purge. */
	optin(ta, "bob");
	say(ta, "bob", NULL, "!mood optout");
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_pending WHERE member = 'bob'"), 1);
	snprintf(wal, sizeof(wal), "%s-wal", ta->db);
	assert_int_equal(stat(wal, &sb), 0);
	assert_true(sb.st_size > 0);
	assert_int_equal(mood_purge(&ta->app, &purged), 0);
	assert_int_equal(purged, 1);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_pending WHERE member = 'bob'"), 0);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_pending WHERE member = 'alice'"), 1);
	assert_int_equal(count(ta, "SELECT count(*) FROM mood_entry"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_consent_gate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entries_and_tags, setup, teardown),
		cmocka_unit_test(test_parsers),
		cmocka_unit_test_setup_teardown(test_history_sparkline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_isolation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_note_echo_is_inert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_encrypted_at_rest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_room_private, setup, teardown),
		cmocka_unit_test_setup_teardown(test_room_stats, setup, teardown),
		cmocka_unit_test(test_stats_band_and_round),
		cmocka_unit_test_setup_teardown(test_optout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_export_without_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reminders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_consent_needs_recent_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transient_sender, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_drops_nick_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_optout_is_atomic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forget_on_full_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_purge_truncates_wal, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
