/* Unit tests for the Matrix transport's pure pieces: event parsing, the sync walk, JSON caps,
 * backoff, Retry-After, transaction ids, inviter patterns, power levels, reply content (empty
 * m.mentions), and the decision whether a room is private (from its member list only). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "net/matrix/mx.h"
#include "store/store.h"
#include "testapp.h"

static json_t *parse(const char *s)
{
	json_t *j = NULL;

	assert_int_equal(mx_json_parse(s, strlen(s), MX_JSON_DEPTH, &j), HE_OK);
	assert_non_null(j);
	return j;
}

static void test_event_parse_message(void **state)
{
	json_t *j = parse("{\"type\":\"m.room.message\",\"event_id\":\"$e1\",\"sender\":\"@a:hs\","
			  "\"origin_server_ts\":5,\"content\":{\"msgtype\":\"m.text\",\"body\":\"!help\","
			  "\"m.relates_to\":{\"rel_type\":\"m.thread\",\"event_id\":\"$root\","
			  "\"is_falling_back\":true,\"m.in_reply_to\":{\"event_id\":\"$prev\"}}}}");
	struct mx_event ev;

	assert_int_equal(mx_event_parse(j, &ev), HE_OK);
	assert_string_equal(ev.type, "m.room.message");
	assert_string_equal(ev.event_id, "$e1");
	assert_string_equal(ev.sender, "@a:hs");
	assert_null(ev.state_key);
	assert_string_equal(ev.msgtype, "m.text");
	assert_string_equal(ev.body, "!help");
	assert_string_equal(ev.rel_type, "m.thread");
	assert_string_equal(ev.rel_event, "$root");
	assert_string_equal(ev.in_reply_to, "$prev");
	json_decref(j);
}

static void test_event_parse_member_and_bad(void **state)
{
	json_t *j = parse("{\"type\":\"m.room.member\",\"state_key\":\"@h:hs\",\"sender\":\"@a:hs\","
			  "\"content\":{\"membership\":\"invite\",\"is_direct\":true,\"displayname\":7}}");
	struct mx_event ev;

	assert_int_equal(mx_event_parse(j, &ev), HE_OK);
	assert_string_equal(ev.membership, "invite");
	assert_true(ev.is_direct);
	assert_null(ev.displayname); /* wrong type reads as absent */
	json_decref(j);
	/* no content, content not an object, no type: refused */
	j = parse("[{\"type\":\"x\"},{\"type\":\"x\",\"content\":[]},{\"content\":{}},{\"type\":1,\"content\":{}}]");
	for (size_t i = 0; i < json_array_size(j); i++)
		assert_int_equal(mx_event_parse(json_array_get(j, i), &ev), HE_PROTO);
	json_decref(j);
}

static void test_json_depth_and_garbage(void **state)
{
	char deep[200];
	json_t *j = NULL;

	memset(deep, '[', 65);
	memset(deep + 65, ']', 65);
	assert_int_equal(mx_json_parse(deep, 130, 64, &j), HE_PROTO);
	assert_null(j);
	assert_int_equal(mx_json_parse(deep + 1, 128, 64, &j), HE_OK); /* exactly 64 */
	json_decref(j);
	/* brackets inside strings do not count */
	{
		const char *s = "{\"a\":\"[[[[[[[[[[[[\"}";
		assert_int_equal(mx_json_parse(s, strlen(s), 2, &j), HE_OK);
	}
	json_decref(j);
	assert_int_equal(mx_json_parse("{\"a\":1} x", 9, 64, &j), HE_PROTO);
	assert_int_equal(mx_json_parse("{\"a\":\"\xff\"}", 9, 64, &j), HE_PROTO);
	assert_int_equal(mx_json_parse("{\"a\":1,\"a\":2}", 13, 64, &j), HE_PROTO);
	assert_int_equal(mx_json_parse("", 0, 64, &j), HE_PROTO);
}

struct walk_log {
	char order[512];
	int messages;
};

static void w_account(void *ud, const char *type, json_t *c)
{
	struct walk_log *w = ud;
	strcat(w->order, "A:");
	strcat(w->order, type);
	strcat(w->order, " ");
}

static void w_todev(void *ud, json_t *e)
{
	strcat(((struct walk_log *)ud)->order, "T ");
}

static void w_dl(void *ud, json_t *c, json_t *l)
{
	strcat(((struct walk_log *)ud)->order, "D ");
}

static void w_begin(void *ud, enum mx_section s, const char *room, json_t *r)
{
	struct walk_log *w = ud;
	strcat(w->order, s == MX_JOIN ? "J:" : s == MX_LEAVE ? "L:" : "I:");
	strcat(w->order, room);
	strcat(w->order, " ");
}

static void w_event(void *ud, enum mx_section s, const char *room, enum mx_where wh,
		    const struct mx_event *ev)
{
	struct walk_log *w = ud;
	strcat(w->order, wh == MX_STATE ? "s " : wh == MX_TIMELINE ? "t " : "i ");
	if (strcmp(ev->type, "m.room.message") == 0)
		w->messages++;
}

static const struct mx_sync_ops walk_ops = {
	.account_data = w_account, .to_device = w_todev, .device_lists = w_dl,
	.room_begin = w_begin, .room_event = w_event,
};

static void test_sync_walk_order(void **state)
{
	json_t *j = parse(
		"{\"next_batch\":\"s1\","
		"\"rooms\":{\"invite\":{\"!i:hs\":{\"invite_state\":{\"events\":[{\"type\":\"m.room.member\","
		"\"state_key\":\"@h:hs\",\"sender\":\"@a:hs\",\"content\":{\"membership\":\"invite\"}}]}}},"
		"\"join\":{\"!j:hs\":{\"timeline\":{\"events\":[{\"type\":\"m.room.message\",\"event_id\":\"$1\","
		"\"sender\":\"@a:hs\",\"content\":{\"msgtype\":\"m.text\",\"body\":\"hi\"}},{\"bad\":1}]},"
		"\"state\":{\"events\":[{\"type\":\"m.room.create\",\"state_key\":\"\",\"content\":{}}]}},"
		"\"not-a-room\":{}},"
		"\"leave\":{\"!l:hs\":{}}},"
		"\"device_lists\":{\"changed\":[\"@a:hs\"]},"
		"\"to_device\":{\"events\":[{\"type\":\"m.dummy\",\"content\":{}}]},"
		"\"account_data\":{\"events\":[{\"type\":\"m.direct\",\"content\":{}}]}}");
	struct walk_log w = { "", 0 };

	assert_int_equal(mx_sync_walk(j, &walk_ops, &w), HE_OK);
	/* account data, to-device, device lists; then leave, join (state before timeline), invite */
	assert_string_equal(w.order, "A:m.direct T D L:!l:hs J:!j:hs s t I:!i:hs i ");
	assert_int_equal(w.messages, 1);
	json_decref(j);
	j = parse("{\"rooms\":{}}");
	assert_int_equal(mx_sync_walk(j, &walk_ops, &w), HE_PROTO); /* no next_batch */
	json_decref(j);
}

static void test_backoff(void **state)
{
	/* 1 s doubling to 60 s, +-20% */
	assert_true(mx_backoff_ms(0, UINT32_MAX / 2) >= 999 && mx_backoff_ms(0, UINT32_MAX / 2) <= 1001);
	for (unsigned a = 0; a < 20; a++) {
		uint64_t base = a >= 6 ? 60000 : 1000u << a;
		uint64_t lo = mx_backoff_ms(a, 0), hi = mx_backoff_ms(a, UINT32_MAX);
		assert_true(lo >= base * 8 / 10 - 1 && lo <= base * 8 / 10 + 1);
		assert_true(hi >= base * 12 / 10 - 1 && hi <= base * 12 / 10 + 1);
	}
	assert_true(mx_backoff_ms(1000, 0) <= 72000);
}

static void test_retry_after(void **state)
{
	json_t *b = parse("{\"errcode\":\"M_LIMIT_EXCEEDED\",\"retry_after_ms\":1500}");

	assert_int_equal(mx_retry_after_ms("3", b), 3000);     /* the header wins */
	assert_int_equal(mx_retry_after_ms(NULL, b), 1500);
	assert_int_equal(mx_retry_after_ms("", b), 1500);
	assert_int_equal(mx_retry_after_ms("soon", NULL), -1);
	assert_int_equal(mx_retry_after_ms("99999", NULL), 600000); /* capped */
	json_decref(b);
}

static void test_txn_ids(void **state)
{
	char a[48], b[48], c[48], d[48];

	mx_txn_for_event("$abc:hs", 0, a);
	mx_txn_for_event("$abc:hs", 0, b);
	mx_txn_for_event("$abc:hs", 1, c);
	mx_txn_for_event("$abd:hs", 0, d);
	assert_string_equal(a, b);          /* the same reply after a restart: the same id */
	assert_string_not_equal(a, c);      /* a second reply to one command: its own id */
	assert_string_not_equal(a, d);
	for (const char *p = a; *p; p++)    /* safe in a URL path as is */
		assert_true((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.');
}

static void test_inviters(void **state)
{
	char *pats[] = { "@ann:example.org", "*:circle.net" };

	assert_true(mx_inviter_allowed(pats, 0, "@anyone:any"));
	assert_true(mx_inviter_allowed(pats, 2, "@ann:example.org"));
	assert_false(mx_inviter_allowed(pats, 2, "@ann:example.org.evil"));
	assert_false(mx_inviter_allowed(pats, 2, "@bob:example.org"));
	assert_true(mx_inviter_allowed(pats, 2, "@bob:circle.net"));
	assert_false(mx_inviter_allowed(pats, 2, "@bob:evilcircle.net"));
	assert_false(mx_inviter_allowed(pats, 2, "@bob:circle.net.evil"));
	assert_false(mx_inviter_allowed(pats, 2, "nocolon"));
}

static void test_power_levels(void **state)
{
	json_t *pl = parse("{\"users\":{\"@mod:hs\":50,\"@old:hs\":\"75\"},\"users_default\":10}");

	assert_int_equal(mx_power_level(pl, NULL, "@mod:hs"), 50);
	assert_int_equal(mx_power_level(pl, NULL, "@old:hs"), 75);
	assert_int_equal(mx_power_level(pl, NULL, "@new:hs"), 10);
	assert_int_equal(mx_power_level(NULL, "@c:hs", "@c:hs"), 100);
	assert_int_equal(mx_power_level(NULL, "@c:hs", "@x:hs"), 0);
	json_decref(pl);
}

static void test_reply_content(void **state)
{
	json_t *c = mx_notice_content("**Hello** there", "$cmd", NULL), *rel;

	assert_non_null(c);
	assert_string_equal(json_string_value(json_object_get(c, "msgtype")), "m.notice");
	assert_string_equal(json_string_value(json_object_get(c, "format")), "org.matrix.custom.html");
	assert_non_null(strstr(json_string_value(json_object_get(c, "formatted_body")), "<strong>Hello</strong>"));
	assert_null(strstr(json_string_value(json_object_get(c, "body")), "**"));
	rel = json_object_get(c, "m.relates_to");
	assert_string_equal(json_string_value(json_object_get(json_object_get(rel, "m.in_reply_to"), "event_id")), "$cmd");
	assert_null(json_object_get(rel, "rel_type"));
	json_decref(c);

	c = mx_notice_content("hi", "$cmd", "$root");
	rel = json_object_get(c, "m.relates_to");
	assert_string_equal(json_string_value(json_object_get(rel, "rel_type")), "m.thread");
	assert_string_equal(json_string_value(json_object_get(rel, "event_id")), "$root");
	assert_true(json_is_true(json_object_get(rel, "is_falling_back")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(rel, "m.in_reply_to"), "event_id")), "$cmd");
	json_decref(c);

	c = mx_notice_content("plain", NULL, NULL);
	assert_null(json_object_get(c, "m.relates_to"));
	json_decref(c);
}

/* Every event Hearth writes carries an empty m.mentions: it never pings a member or the room,
 * whatever the text says (a member's name, @room). */
static void test_content_mentions_nobody(void **state)
{
	const char *mds[] = { "hi @room, @alice:localhost", "plain" };
	json_t *c, *m;

	for (size_t i = 0; i < 2; i++) {
		c = mx_notice_content(mds[i], i ? NULL : "$cmd", NULL);
		assert_non_null(c);
		m = json_object_get(c, "m.mentions");
		assert_true(json_is_object(m));
		assert_int_equal(json_object_size(m), 0);
		json_decref(c);
	}
	c = mx_file_content("hearth-mood.csv", "text/csv", 12);
	assert_non_null(c);
	assert_string_equal(json_string_value(json_object_get(c, "msgtype")), "m.file");
	m = json_object_get(c, "m.mentions");
	assert_true(json_is_object(m));
	assert_int_equal(json_object_size(m), 0);
	json_decref(c);
}

/* Private means: the joined and invited members are exactly Hearth and the member. Nothing an
 * inviter can set (is_direct, m.direct) enters the decision: only the member list does. */
static void test_members_private(void **state)
{
	const char *me = "@hearth:hs", *al = "@alice:hs";
	json_t *m;

	m = parse("{\"@hearth:hs\": \"join\", \"@alice:hs\": \"join\"}");
	assert_true(mx_members_private(m, me, al, false));
	assert_true(mx_members_private(m, me, al, true));
	assert_false(mx_members_private(m, me, "@bob:hs", true));     /* not the member's chat */
	assert_false(mx_members_private(m, me, me, true));
	assert_false(mx_members_private(m, NULL, al, true));
	/* a third person joins: private no more */
	json_object_set_new(m, "@bob:hs", json_string("join"));
	assert_false(mx_members_private(m, me, al, false));
	assert_false(mx_members_private(m, me, al, true));
	/* only invited still counts: they can join and read */
	json_object_set_new(m, "@bob:hs", json_string("invite"));
	assert_false(mx_members_private(m, me, al, true));
	/* left, banned, knocking: cannot read, do not count */
	json_object_set_new(m, "@bob:hs", json_string("leave"));
	assert_true(mx_members_private(m, me, al, false));
	json_object_set_new(m, "@bob:hs", json_string("ban"));
	assert_true(mx_members_private(m, me, al, false));
	json_decref(m);

	/* the chat Hearth opened: the member is invited, not joined yet */
	m = parse("{\"@hearth:hs\": \"join\", \"@alice:hs\": \"invite\"}");
	assert_true(mx_members_private(m, me, al, true));
	assert_false(mx_members_private(m, me, al, false));
	json_decref(m);

	/* Hearth only invited, the member alone, someone else alone, nothing known */
	m = parse("{\"@hearth:hs\": \"invite\", \"@alice:hs\": \"join\"}");
	assert_false(mx_members_private(m, me, al, true));
	json_decref(m);
	m = parse("{\"@alice:hs\": \"join\"}");
	assert_false(mx_members_private(m, me, al, true));
	json_decref(m);
	m = parse("{\"@hearth:hs\": \"join\", \"@bob:hs\": \"join\"}");
	assert_false(mx_members_private(m, me, al, true));
	json_decref(m);
	m = parse("{}");
	assert_false(mx_members_private(m, me, al, true));
	json_decref(m);
	assert_false(mx_members_private(NULL, me, al, true));
	/* a value that is not a membership string: not trusted */
	m = parse("{\"@hearth:hs\": \"join\", \"@alice:hs\": \"join\", \"@x:hs\": 1}");
	assert_false(mx_members_private(m, me, al, true));
	json_decref(m);
	/* 25 members, whatever the invite said */
	m = parse("{\"@hearth:hs\": \"join\", \"@alice:hs\": \"join\"}");
	for (int i = 0; i < 23; i++) {
		char u[32];
		snprintf(u, sizeof(u), "@m%d:hs", i);
		json_object_set_new(m, u, json_string("join"));
	}
	assert_false(mx_members_private(m, me, al, false));
	json_decref(m);
}

static void test_reply_content_too_long(void **state)
{
	size_t n = 100000;
	char *md = malloc(n + 1);
	json_t *c;

	memset(md, 'a', n);
	md[n] = '\0';
	c = mx_notice_content(md, NULL, NULL);
	assert_non_null(c);
	assert_null(json_object_get(c, "formatted_body"));
	assert_true(strlen(json_string_value(json_object_get(c, "body"))) <= 60000);
	json_decref(c);
	free(md);
}

static void test_strip_reply_fallback(void **state)
{
	assert_string_equal(mx_strip_reply_fallback("> <@a:hs> earlier\n> more\n\n!help"), "!help");
	assert_string_equal(mx_strip_reply_fallback("!help"), "!help");
	assert_string_equal(mx_strip_reply_fallback("> <@a:hs> only quote"), "> <@a:hs> only quote");
	assert_string_equal(mx_strip_reply_fallback("> not a fallback\n\nx"), "> not a fallback\n\nx");
}

static void test_escape(void **state)
{
	char *s = mx_http_pathf("%s", "!room:hs/x?y&z=1 ü");

	assert_string_equal(s, "%21room%3Ahs%2Fx%3Fy%26z%3D1%20%C3%BC");
	free(s);
	/* %s escaped, %S and the format copied, %d an int, %% a percent sign */
	s = mx_http_pathf("/r/%s/e/%s?l=%d&f=%S%%", "!a:hs", "", 50, "a/b");
	assert_string_equal(s, "/r/%21a%3Ahs/e/?l=50&f=a/b%");
	free(s);
	s = mx_http_pathf("%s", "-_.~AZaz09");
	assert_string_equal(s, "-_.~AZaz09");
	free(s);
	assert_null(mx_http_pathf("/x/%q", "y"));
}


/* ---- what is owed, and the sync position (issue 18) ---- */

struct owedfix {
	struct happ app;
	struct mx mx;
};

static struct owedfix *owedfix_new(void)
{
	struct owedfix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(ta_store_open(":memory:", &f->app.store), HE_OK);
	assert_int_equal(mx_owed_init(f->app.store, 1000000), HE_OK);
	f->mx.app = &f->app;
	return f;
}

static void owedfix_free(struct owedfix *f)
{
	mx_batches_free(&f->mx);
	store_free(f->app.store);
	free(f);
}

static char *since_of(struct owedfix *f)
{
	char *v = NULL;

	store_kv_get(f->app.store, MX_MOD, "since", &v);
	return v;
}

static void assert_since(struct owedfix *f, const char *want)
{
	char *v = since_of(f);

	if (!want) {
		assert_null(v);
		return;
	}
	assert_non_null(v);
	assert_string_equal(v, want);
	free(v);
}

static void test_owed_events(void **state)
{
	struct owedfix *f = owedfix_new();
	struct store *st = f->app.store;
	json_t *open = NULL;

	assert_int_equal(mx_owed_event_get(st, "$a"), MX_OWED_NONE);
	assert_int_equal(mx_owed_event_add(st, "$a", "!r:hs", 1000000), HE_OK);
	assert_int_equal(mx_owed_event_add(st, "$b", "!r:hs", 1000001), HE_OK);
	/* a second add (a repeated batch) keeps the row as it first came */
	assert_int_equal(mx_owed_event_add(st, "$a", "!other:hs", 1000002), HE_OK);
	assert_int_equal(mx_owed_event_get(st, "$a"), MX_OWED_OPEN);
	assert_int_equal(mx_owed_events_open(st, &open), HE_OK);
	assert_int_equal(json_array_size(open), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(open, 0), "event_id")), "$a");
	assert_string_equal(json_string_value(json_object_get(json_array_get(open, 0), "room_id")), "!r:hs");
	json_decref(open);
	assert_int_equal(mx_owed_event_done(st, "$a"), HE_OK);
	assert_int_equal(mx_owed_event_get(st, "$a"), MX_OWED_DONE);
	assert_int_equal(mx_owed_events_open(st, &open), HE_OK);
	assert_int_equal(json_array_size(open), 1);
	json_decref(open);
	/* two days later: done rows go, open ones stay */
	assert_int_equal(mx_owed_init(st, 1000000 + 3 * 24 * 3600), HE_OK);
	assert_int_equal(mx_owed_event_get(st, "$a"), MX_OWED_NONE);
	assert_int_equal(mx_owed_event_get(st, "$b"), MX_OWED_OPEN);
	assert_int_equal(mx_owed_clear(st), HE_OK);
	assert_int_equal(mx_owed_event_get(st, "$b"), MX_OWED_NONE);
	owedfix_free(f);
}

/* The lookup and the record of a message in one statement: a new message is owed (open), a
 * repeated one keeps its row as it first came (open, or done: then it is not handled again). */
static void test_owed_take(void **state)
{
	struct owedfix *f = owedfix_new();
	struct store *st = f->app.store;
	json_t *open = NULL;
	char id[32];

	assert_int_equal(mx_owed_event_take(st, "$a", "!r:hs", 1000000), MX_OWED_OPEN);
	assert_int_equal(mx_owed_event_get(st, "$a"), MX_OWED_OPEN);
	assert_int_equal(mx_owed_event_take(st, "$b", "!r:hs", 1000001), MX_OWED_OPEN);
	/* a repeated batch: still open, the row as it first came */
	assert_int_equal(mx_owed_event_take(st, "$a", "!other:hs", 1000002), MX_OWED_OPEN);
	assert_int_equal(mx_owed_events_open(st, &open), HE_OK);
	assert_int_equal(json_array_size(open), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(open, 0), "event_id")), "$a");
	assert_string_equal(json_string_value(json_object_get(json_array_get(open, 0), "room_id")), "!r:hs");
	json_decref(open);
	/* answered: a repeated batch finds it done and it stays done */
	assert_int_equal(mx_owed_event_done(st, "$a"), HE_OK);
	assert_int_equal(mx_owed_event_take(st, "$a", "!r:hs", 1000003), MX_OWED_DONE);
	assert_int_equal(mx_owed_event_get(st, "$a"), MX_OWED_DONE);
	assert_int_equal(mx_owed_events_open(st, &open), HE_OK);
	assert_int_equal(json_array_size(open), 1);
	json_decref(open);
	/* old done rows still go while running: 1,030 new messages two days later cross a
	 * multiple of 1024 (row ids on SQLite; PostgreSQL's seq also counts repeated ones) */
	for (int i = 0; i < 1030; i++) {
		snprintf(id, sizeof(id), "$new%d", i);
		assert_int_equal(mx_owed_event_take(st, id, "!r:hs", 1000000 + 3 * 24 * 3600),
				 MX_OWED_OPEN);
	}
	assert_int_equal(mx_owed_event_get(st, "$new0"), MX_OWED_OPEN);
	assert_int_equal(mx_owed_event_get(st, "$a"), MX_OWED_NONE);
	assert_int_equal(mx_owed_event_get(st, "$b"), MX_OWED_OPEN); /* never done */
	owedfix_free(f);
}

/* A Hearth that never restarts still forgets answered messages after two days. */
static void test_owed_pruned_while_running(void **state)
{
	struct owedfix *f = owedfix_new();
	struct store *st = f->app.store;
	char id[32];

	for (int i = 0; i < 1023; i++) {
		snprintf(id, sizeof(id), "$old%d", i);
		assert_int_equal(mx_owed_event_add(st, id, "!r:hs", 1000000), HE_OK);
		if (i)
			assert_int_equal(mx_owed_event_done(st, id), HE_OK);
	}
	assert_int_equal(mx_owed_event_get(st, "$old1"), MX_OWED_DONE);
	assert_int_equal(mx_owed_event_add(st, "$new", "!r:hs", 1000000 + 3 * 24 * 3600), HE_OK);
	assert_int_equal(mx_owed_event_get(st, "$old1"), MX_OWED_NONE);
	assert_int_equal(mx_owed_event_get(st, "$old0"), MX_OWED_OPEN); /* never done */
	assert_int_equal(mx_owed_event_get(st, "$new"), MX_OWED_OPEN);
	owedfix_free(f);
}

static void test_owed_joins_and_gaps(void **state)
{
	struct owedfix *f = owedfix_new();
	struct store *st = f->app.store;
	json_t *list = NULL, *o;
	int64_t first = 0;
	unsigned tries = 9;

	assert_int_equal(mx_owed_join_get(st, "!a:hs", &first, &tries), HE_NOTFOUND);
	assert_int_equal(mx_owed_join_add(st, "!a:hs", "@x:hs", 5000), HE_OK);
	assert_int_equal(mx_owed_join_add(st, "!b:hs", NULL, 6000), HE_OK);
	/* invited again (a repeated batch): the first try's time is kept, so the bound holds */
	assert_int_equal(mx_owed_join_add(st, "!a:hs", NULL, 9000), HE_OK);
	assert_int_equal(mx_owed_join_tried(st, "!a:hs", 2), HE_OK);
	assert_int_equal(mx_owed_join_get(st, "!a:hs", &first, &tries), HE_OK);
	assert_int_equal(first, 5000);
	assert_int_equal(tries, 2);
	assert_int_equal(mx_owed_join_count(st), 2);
	assert_int_equal(mx_owed_joins(st, &list), HE_OK);
	assert_int_equal(json_array_size(list), 2);
	o = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(o, "room_id")), "!a:hs");
	assert_string_equal(json_string_value(json_object_get(o, "inviter")), "@x:hs");
	assert_null(json_object_get(json_array_get(list, 1), "inviter"));
	json_decref(list);
	assert_int_equal(mx_owed_join_del(st, "!a:hs"), HE_OK);
	assert_int_equal(mx_owed_join_count(st), 1);

	assert_int_equal(mx_owed_gap_add(st, "!a:hs", "t1", "t0"), HE_OK);
	assert_int_equal(mx_owed_gaps(st, &list), HE_OK);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "to")), "t0");
	json_decref(list);
	assert_int_equal(mx_owed_gap_del(st, "!a:hs", "t1"), HE_OK);
	assert_int_equal(mx_owed_gaps(st, &list), HE_OK);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	owedfix_free(f);
}

static void test_join_give_up(void **state)
{
	/* refused: the invite/join race gets a couple of tries, then the invite is declined */
	assert_false(mx_join_give_up(404, 1, 100));
	assert_false(mx_join_give_up(403, MX_JOIN_REFUSED_TRIES - 1, 1500));
	assert_true(mx_join_give_up(404, MX_JOIN_REFUSED_TRIES, 3000));
	assert_true(mx_join_give_up(403, 50, 0));
	/* no answer (the homeserver is down): tried until the bound, never longer */
	assert_false(mx_join_give_up(0, 40, MX_JOIN_GIVE_UP_MS - 1));
	assert_false(mx_join_give_up(502, 40, 60000));
	assert_true(mx_join_give_up(0, 1, MX_JOIN_GIVE_UP_MS));
	assert_true(mx_join_give_up(404, 1, MX_JOIN_GIVE_UP_MS + 1));
	assert_false(mx_join_give_up(200, 99, MX_JOIN_GIVE_UP_MS * 10));
}

/* The first sync's position is saved when it is walked, though a join or a member list it
 * started is still going (they hold the batch, not the position). */
static void test_position_saved_when_walked(void **state)
{
	struct owedfix *f = owedfix_new();
	struct mx_batch *b1, *b2;

	b1 = mx_batch_sync_new(&f->mx, "s1");
	assert_non_null(b1);
	mx_batch_hold(b1);            /* e.g. a member list being loaded for it */
	assert_since(f, NULL);        /* being walked */
	mx_batch_unblock(&f->mx, b1); /* walked */
	assert_since(f, "s1");
	b2 = mx_batch_sync_new(&f->mx, "s2");
	mx_batch_unblock(&f->mx, b2);
	assert_since(f, "s2");
	mx_batch_release(&f->mx, b1); /* the member list came: nothing changes */
	assert_since(f, "s2");
	assert_null(f->mx.batches);   /* all freed */
	owedfix_free(f);
}

/* A command owed in the store never holds the position; it is done when its last reply is. A
 * command the store could not record holds its batch's position, and every later one. */
static void test_command_owed_not_holding(void **state)
{
	struct owedfix *f = owedfix_new();
	struct store *st = f->app.store;
	struct mx_batch *b1, *c1, *c2, *b2;

	b1 = mx_batch_sync_new(&f->mx, "s1");
	assert_int_equal(mx_owed_event_add(st, "$c1", "!r:hs", 1000000), HE_OK);
	c1 = mx_batch_cmd_new(&f->mx, "$c1", true, b1);
	assert_non_null(c1);
	mx_batch_hold(c1);            /* a reply queued */
	mx_batch_release(&f->mx, c1); /* dispatched */
	mx_batch_unblock(&f->mx, b1); /* walked */
	assert_since(f, "s1");        /* the reply is still queued: owed, not holding */
	assert_int_equal(mx_owed_event_get(st, "$c1"), MX_OWED_OPEN);
	mx_batch_release(&f->mx, c1); /* the reply was sent */
	assert_int_equal(mx_owed_event_get(st, "$c1"), MX_OWED_DONE);

	/* not recorded: the position waits for it, and a later batch waits behind it */
	b1 = mx_batch_sync_new(&f->mx, "s3");
	c2 = mx_batch_cmd_new(&f->mx, "$c2", false, b1);
	mx_batch_hold(c2);
	mx_batch_release(&f->mx, c2);
	mx_batch_unblock(&f->mx, b1);
	b2 = mx_batch_sync_new(&f->mx, "s4");
	mx_batch_unblock(&f->mx, b2);
	assert_since(f, "s1");
	mx_batch_release(&f->mx, c2);
	assert_since(f, "s4");
	assert_null(f->mx.batches);
	owedfix_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_parse_message),
		cmocka_unit_test(test_event_parse_member_and_bad),
		cmocka_unit_test(test_json_depth_and_garbage),
		cmocka_unit_test(test_sync_walk_order),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_txn_ids),
		cmocka_unit_test(test_inviters),
		cmocka_unit_test(test_power_levels),
		cmocka_unit_test(test_reply_content),
		cmocka_unit_test(test_reply_content_too_long),
		cmocka_unit_test(test_content_mentions_nobody),
		cmocka_unit_test(test_members_private),
		cmocka_unit_test(test_strip_reply_fallback),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_owed_events),
		cmocka_unit_test(test_owed_pruned_while_running),
		cmocka_unit_test(test_owed_joins_and_gaps),
		cmocka_unit_test(test_join_give_up),
		cmocka_unit_test(test_owed_take),
		cmocka_unit_test(test_position_saved_when_walked),
		cmocka_unit_test(test_command_owed_not_holding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
