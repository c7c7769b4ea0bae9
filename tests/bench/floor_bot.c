/* floor_bot.c - the floor of the mandated libraries: a minimal Matrix bot doing only what every
 * correct bot must do per command, the way Hearth does it (issue 15's yardstick, not a product).
 *
 * libcurl's multi interface in an epoll loop (CURLMOPT_SOCKETFUNCTION / CURLMOPT_TIMERFUNCTION,
 * curl_multi_socket_action; curl's timer is the epoll_wait timeout, as in Hearth's loop), easy
 * handles configured once and reused over kept-alive connections; a long-poll /sync with Hearth's
 * filter, each body parsed whole with jansson; for each m.room.message from someone else whose
 * body starts with the command text, one m.notice PUT (plain body + HTML, in reply to it); after
 * the PUT's 200, one SQLite commit (WAL, synchronous=NORMAL, a kv table) of the sync position that
 * batch came with, so the position is never saved before the replies it caused are sent. The
 * next /sync goes out at once after a body is parsed. Invites are joined (blocking, rare).
 *
 * Usage: floor_bot [--no-store] [--room ROOM_ID] [--text !learn] [--db FILE] [--reply-bytes N]
 *        HOMESERVER_URL USER PASSWORD   (or FLOOR_HS, FLOOR_USER, FLOOR_PASSWORD)
 * Prints "ready" once the first position is known, nothing per command; SIGTERM/SIGINT stop it
 * and it prints "answered N" on stderr. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define BODY_CAP (64u << 20)
#define MAX_PUTS 16

struct buf {
	char *data;
	size_t len, cap;
	bool over;
};

struct batch {                 /* one /sync answer's position and the replies it still owes */
	char *token;
	unsigned left;
	struct batch *next;
};

struct put {
	CURL *e;
	bool busy;
	unsigned tries;
	char *url;
	char *body;
	struct batch *batch;
	struct buf resp;
};

static struct {
	const char *hs, *user, *pass, *room, *text, *db_path;
	size_t reply_bytes;
	bool store;
	CURLM *multi;
	int ep;
	bool curl_armed;           /* curl's timer: due at curl_due (ms, monotonic) */
	uint64_t curl_due;
	struct curl_slist *hdr_get, *hdr_json;
	char *own;                 /* our user id */
	char *filter_id;
	char *since;               /* the position the next /sync continues from */
	CURL *sync;
	bool sync_busy;
	struct buf sync_resp;
	uint64_t sync_retry_at;    /* ms, 0 none */
	struct put puts[MAX_PUTS];
	struct batch *head, *tail; /* oldest first */
	sqlite3 *db;
	sqlite3_stmt *save;
	char *plain, *html;        /* the reply's text (fixed: the same every command) */
	unsigned long long txn, answered, start_ms;
} B;

static volatile sig_atomic_t stop;

static void on_signal(int sig) { (void)sig; stop = 1; }

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void die(const char *what)
{
	fprintf(stderr, "floor_bot: %s\n", what);
	exit(1);
}

static size_t write_cb(char *data, size_t size, size_t n, void *ud)
{
	struct buf *b = ud;
	size_t len = size * n;

	if (b->len + len + 1 > BODY_CAP) {
		b->over = true;
		return 0;
	}
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		char *p;
		while (cap < b->len + len + 1)
			cap *= 2;
		p = realloc(b->data, cap);
		if (!p)
			return 0;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return len;
}

static CURL *easy_new(struct buf *resp)
{
	CURL *e = curl_easy_init();

	if (!e)
		die("out of memory");
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "floor_bot");
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, resp);
	return e;
}

/* A blocking request for the setup steps (login, filter, first position, joins): not per command. */
static json_t *request_now(const char *method, const char *path, const char *body, long *status)
{
	struct buf resp = { 0 };
	CURL *e = easy_new(&resp);
	char *url = NULL;
	json_t *j = NULL;

	if (asprintf(&url, "%s%s", B.hs, path) < 0)
		die("out of memory");
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, B.hdr_json ? B.hdr_json : NULL);
	if (body) {
		struct curl_slist *h = B.hdr_json ? NULL :
			curl_slist_append(NULL, "Content-Type: application/json");
		if (h)
			curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		*status = curl_easy_perform(e) == CURLE_OK ? 0 : -1;
		curl_slist_free_all(h);
	} else {
		*status = curl_easy_perform(e) == CURLE_OK ? 0 : -1;
	}
	if (*status == 0)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
	if (resp.len)
		j = json_loadb(resp.data, resp.len, 0, NULL);
	curl_easy_cleanup(e);
	free(resp.data);
	free(url);
	return j;
}

static char *esc(const char *s)
{
	char *c = curl_easy_escape(NULL, s, 0), *out;

	if (!c)
		die("out of memory");
	out = strdup(c);
	curl_free(c);
	if (!out)
		die("out of memory");
	return out;
}

/* ---- store ---- */

static void store_open(void)
{
	char *since = NULL;
	sqlite3_stmt *st;

	if (!B.store)
		return;
	if (sqlite3_open(B.db_path, &B.db) != SQLITE_OK ||
	    sqlite3_exec(B.db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			 "CREATE TABLE IF NOT EXISTS kv(k TEXT PRIMARY KEY, v TEXT NOT NULL)",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(B.db, "INSERT OR REPLACE INTO kv(k, v) VALUES('since', ?1)", -1,
			       SQLITE_PREPARE_PERSISTENT, &B.save, NULL) != SQLITE_OK)
		die("cannot open the store");
	if (sqlite3_prepare_v2(B.db, "SELECT v FROM kv WHERE k = 'since'", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		since = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	B.since = since;
}

/* One commit: the newest position whose replies are all sent. */
static void store_save(const char *token)
{
	if (!B.store)
		return;
	sqlite3_bind_text(B.save, 1, token, -1, SQLITE_STATIC);
	if (sqlite3_step(B.save) != SQLITE_DONE)
		fprintf(stderr, "floor_bot: could not save the position: %s\n", sqlite3_errmsg(B.db));
	sqlite3_reset(B.save);
	sqlite3_clear_bindings(B.save);
}

static void batches_settle(void)
{
	struct batch *done = NULL;

	while (B.head && B.head->left == 0) {
		struct batch *b = B.head;
		B.head = b->next;
		if (!B.head)
			B.tail = NULL;
		if (done) {
			free(done->token);
			free(done);
		}
		done = b;
	}
	if (done) {
		store_save(done->token);
		free(done->token);
		free(done);
	}
}

/* ---- curl in the loop ---- */

static int socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct epoll_event ev = { .data.fd = s };

	(void)e;
	(void)userp;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(B.ep, EPOLL_CTL_DEL, s, NULL);
		curl_multi_assign(B.multi, s, NULL);
		return 0;
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		ev.events |= EPOLLIN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		ev.events |= EPOLLOUT;
	if (!socketp) {
		if (epoll_ctl(B.ep, EPOLL_CTL_ADD, s, &ev) == 0)
			curl_multi_assign(B.multi, s, &B);
		else
			epoll_ctl(B.ep, EPOLL_CTL_MOD, s, &ev);
	} else {
		epoll_ctl(B.ep, EPOLL_CTL_MOD, s, &ev);
	}
	return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	(void)m;
	(void)userp;
	B.curl_armed = timeout_ms >= 0;
	B.curl_due = B.curl_armed ? now_ms() + (uint64_t)timeout_ms : 0;
	return 0;
}

/* The next long poll; the position is the homeserver's text, so it is escaped (as Hearth does). */
static void sync_start(void)
{
	char *url = NULL, *since;

	if (B.sync_busy)
		return;
	B.sync_resp.len = 0;
	B.sync_resp.over = false;
	since = esc(B.since);
	if (asprintf(&url, "%s/_matrix/client/v3/sync?filter=%s&timeout=30000&since=%s",
		     B.hs, B.filter_id, since) < 0)
		die("out of memory");
	free(since);
	curl_easy_setopt(B.sync, CURLOPT_URL, url); /* curl keeps its own copy */
	free(url);
	if (curl_multi_add_handle(B.multi, B.sync) != CURLM_OK)
		die("cannot start a sync");
	B.sync_busy = true;
}

static void put_start(struct put *p)
{
	p->resp.len = 0;
	p->resp.over = false;
	curl_easy_setopt(p->e, CURLOPT_URL, p->url);
	curl_easy_setopt(p->e, CURLOPT_POSTFIELDS, p->body);
	curl_easy_setopt(p->e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(p->body));
	if (curl_multi_add_handle(B.multi, p->e) != CURLM_OK)
		die("cannot start a reply");
	p->busy = true;
}

static struct put *put_free_slot(void)
{
	for (int i = 0; i < MAX_PUTS; i++)
		if (!B.puts[i].busy)
			return &B.puts[i];
	return NULL;
}

/* The reply to one command: an m.notice with HTML, in reply to the command. */
static void answer(const char *room, const char *event_id, struct batch *b)
{
	struct put *p = put_free_slot();
	json_t *c;
	char *room_e, *body;

	if (!p) { /* a yardstick: more than MAX_PUTS at once is not the bench's pattern */
		fprintf(stderr, "floor_bot: too many replies in flight, one dropped\n");
		return;
	}
	c = json_pack("{s:s, s:s, s:s, s:s, s:{}, s:{s:{s:s}}}", "msgtype", "m.notice", "body",
		      B.plain, "format", "org.matrix.custom.html", "formatted_body", B.html,
		      "m.mentions", "m.relates_to", "m.in_reply_to", "event_id", event_id);
	body = c ? json_dumps(c, JSON_COMPACT) : NULL;
	json_decref(c);
	room_e = esc(room);
	free(p->url);
	free(p->body);
	p->url = NULL;
	p->body = body;
	if (!body || asprintf(&p->url, "%s/_matrix/client/v3/rooms/%s/send/m.room.message/fb%llx.%llx",
			      B.hs, room_e, B.start_ms, ++B.txn) < 0)
		die("out of memory");
	free(room_e);
	p->batch = b;
	p->tries = 0;
	b->left++;
	put_start(p);
}

static void join(const char *room)
{
	char *path = NULL, *r = esc(room);
	long status;
	json_t *j;

	if (asprintf(&path, "/_matrix/client/v3/join/%s", r) < 0)
		die("out of memory");
	j = request_now("POST", path, "{}", &status);
	if (status != 200)
		fprintf(stderr, "floor_bot: could not join (HTTP %ld)\n", status);
	json_decref(j);
	free(path);
	free(r);
}

static void on_sync_body(void)
{
	json_t *root = json_loadb(B.sync_resp.data, B.sync_resp.len, JSON_REJECT_DUPLICATES, NULL);
	const char *next = json_string_value(json_object_get(root, "next_batch"));
	json_t *rooms = json_object_get(root, "rooms"), *joined, *tl, *invites;
	struct batch *b;
	const char *room_id;
	size_t tlen = strlen(B.text);

	if (!next) {
		json_decref(root);
		B.sync_retry_at = now_ms() + 1000;
		return;
	}
	b = calloc(1, sizeof(*b));
	if (!b || !(b->token = strdup(next)))
		die("out of memory");
	free(B.since);
	if (!(B.since = strdup(next)))
		die("out of memory");
	sync_start(); /* the next /sync at once; this body's replies follow */
	joined = json_object_get(rooms, "join");
	json_object_foreach(joined, room_id, tl) {
		json_t *events = json_object_get(json_object_get(tl, "timeline"), "events"), *ev;
		size_t i;

		if (B.room && strcmp(room_id, B.room) != 0)
			continue;
		json_array_foreach(events, i, ev) {
			json_t *content = json_object_get(ev, "content");
			const char *type = json_string_value(json_object_get(ev, "type"));
			const char *sender = json_string_value(json_object_get(ev, "sender"));
			const char *id = json_string_value(json_object_get(ev, "event_id"));
			const char *body = json_string_value(json_object_get(content, "body"));

			if (!type || strcmp(type, "m.room.message") != 0 || !sender || !id || !body ||
			    strcmp(sender, B.own) == 0 || strncmp(body, B.text, tlen) != 0)
				continue;
			answer(room_id, id, b);
		}
	}
	invites = json_object_get(rooms, "invite");
	json_object_foreach(invites, room_id, tl)
		if (!B.room || strcmp(room_id, B.room) == 0)
			join(room_id);
	if (B.tail)
		B.tail->next = b;
	else
		B.head = b;
	B.tail = b;
	json_decref(root);
	batches_settle(); /* a batch without replies is saved with the next commit */
}

static void check_done(void)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(B.multi, &left))) {
		CURL *e = m->easy_handle;
		CURLcode rc = m->data.result;
		long status = 0;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
		curl_multi_remove_handle(B.multi, e);
		if (e == B.sync) {
			B.sync_busy = false;
			if (rc == CURLE_OK && status == 200 && !B.sync_resp.over)
				on_sync_body();
			else
				B.sync_retry_at = now_ms() + 1000;
			continue;
		}
		for (int i = 0; i < MAX_PUTS; i++) {
			struct put *p = &B.puts[i];
			if (p->e != e)
				continue;
			if ((rc != CURLE_OK || status != 200) && ++p->tries < 5 &&
			    (rc != CURLE_OK || status == 429 || status >= 500)) {
				fprintf(stderr, "floor_bot: reply failed (HTTP %ld), again\n", status);
				put_start(p); /* the same transaction id: the homeserver deduplicates */
				break;
			}
			if (status != 200)
				fprintf(stderr, "floor_bot: reply refused (HTTP %ld)\n", status);
			else
				B.answered++;
			p->busy = false;
			p->batch->left--;
			batches_settle();
			break;
		}
	}
}

/* ---- setup ---- */

static void login(void)
{
	json_t *req = json_pack("{s:s, s:{s:s, s:s}, s:s, s:s}", "type", "m.login.password",
				"identifier", "type", "m.id.user", "user", B.user, "password", B.pass,
				"initial_device_display_name", "floor_bot");
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL, *auth = NULL;
	long status;
	json_t *j;

	json_decref(req);
	if (!body)
		die("out of memory");
	j = request_now("POST", "/_matrix/client/v3/login", body, &status);
	free(body);
	if (status != 200 || !json_string_value(json_object_get(j, "access_token")))
		die("login failed");
	B.own = strdup(json_string_value(json_object_get(j, "user_id")));
	if (!B.own || asprintf(&auth, "Authorization: Bearer %s",
			       json_string_value(json_object_get(j, "access_token"))) < 0)
		die("out of memory");
	json_decref(j);
	B.hdr_get = curl_slist_append(NULL, auth);
	B.hdr_json = curl_slist_append(NULL, auth);
	B.hdr_json = curl_slist_append(B.hdr_json, "Content-Type: application/json");
	free(auth);
	if (!B.hdr_get || !B.hdr_json)
		die("out of memory");
}

/* Hearth's filter (bot/net/matrix/matrix.c, filter_text()), uploaded once. */
static void upload_filter(void)
{
	static const char *const types[] = {
		"m.room.message", "m.room.encrypted", "m.room.member", "m.room.power_levels",
		"m.room.encryption", "m.room.create", "m.room.tombstone", "m.reaction",
		"m.room.redaction",
	};
	json_t *t1 = json_array(), *t2 = json_array(), *f, *j;
	char *text, *path = NULL, *u = esc(B.own);
	long status;

	for (size_t i = 0; t1 && t2 && i < sizeof(types) / sizeof(types[0]); i++) {
		json_array_append_new(t1, json_string(types[i]));
		json_array_append_new(t2, json_string(types[i]));
	}
	f = json_pack("{s:{s:[]}, s:{s:[s]}, s:{s:{s:i, s:o, s:[s]}, s:{s:b, s:o}, s:{s:[]}, s:{s:[]}}}",
		      "presence", "types", "account_data", "types", "m.direct", "room",
		      "timeline", "limit", 100, "types", t1, "not_senders", B.own,
		      "state", "lazy_load_members", 1, "types", t2,
		      "ephemeral", "types", "account_data", "types");
	text = f ? json_dumps(f, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(f);
	if (!text || asprintf(&path, "/_matrix/client/v3/user/%s/filter", u) < 0)
		die("out of memory");
	j = request_now("POST", path, text, &status);
	if (status != 200 || !json_string_value(json_object_get(j, "filter_id")))
		die("could not upload the filter");
	B.filter_id = esc(json_string_value(json_object_get(j, "filter_id")));
	json_decref(j);
	free(text);
	free(path);
	free(u);
}

/* A fresh start answers no history: the first position comes from a sync of no room. */
static void first_position(void)
{
	char *f = esc("{\"presence\":{\"types\":[]},\"room\":{\"rooms\":[]}}"), *path = NULL;
	long status;
	json_t *j;

	if (asprintf(&path, "/_matrix/client/v3/sync?filter=%s&timeout=0", f) < 0)
		die("out of memory");
	j = request_now("GET", path, NULL, &status);
	if (status != 200 || !json_string_value(json_object_get(j, "next_batch")))
		die("the first sync failed");
	B.since = strdup(json_string_value(json_object_get(j, "next_batch")));
	json_decref(j);
	free(path);
	free(f);
	if (!B.since)
		die("out of memory");
	store_save(B.since);
}

/* The reply's text: about the size of Hearth's `!learn` reply (--reply-bytes of plain text,
 * its HTML a little longer). */
static void make_reply(void)
{
	static const char words[] = "Noticing a feeling is a first step; naming it gently is the next. ";
	size_t n = B.reply_bytes, w = sizeof(words) - 1;

	B.plain = malloc(n + 1);
	B.html = malloc(n + 64);
	if (!B.plain || !B.html)
		die("out of memory");
	for (size_t i = 0; i < n; i++)
		B.plain[i] = words[i % w];
	B.plain[n] = '\0';
	snprintf(B.html, n + 64, "<p><strong>Today</strong></p>\n<p>%s</p>\n", B.plain);
}

static void usage(void)
{
	fprintf(stderr, "usage: floor_bot [--no-store] [--room ROOM_ID] [--text TEXT] [--db FILE] "
		"[--reply-bytes N] HOMESERVER_URL USER PASSWORD\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	const char *pos[3] = { getenv("FLOOR_HS"), getenv("FLOOR_USER"), getenv("FLOOR_PASSWORD") };
	int npos = 0;

	B.store = true;
	B.text = "!learn";
	B.db_path = "floor_bot.db";
	B.reply_bytes = 800;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--no-store"))
			B.store = false;
		else if (!strcmp(argv[i], "--room") && i + 1 < argc)
			B.room = argv[++i];
		else if (!strcmp(argv[i], "--text") && i + 1 < argc)
			B.text = argv[++i];
		else if (!strcmp(argv[i], "--db") && i + 1 < argc)
			B.db_path = argv[++i];
		else if (!strcmp(argv[i], "--reply-bytes") && i + 1 < argc)
			B.reply_bytes = strtoul(argv[++i], NULL, 10);
		else if (argv[i][0] == '-' || npos == 3)
			usage();
		else
			pos[npos++] = argv[i];
	}
	B.hs = pos[0];
	B.user = pos[1];
	B.pass = pos[2];
	if (!B.hs || !B.user || !B.pass || B.reply_bytes == 0 || B.reply_bytes > 30000)
		usage();
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	B.start_ms = (unsigned long long)time(NULL) * 1000u;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		die("curl_global_init failed");
	make_reply();
	store_open();
	login();
	upload_filter();
	if (!B.since)
		first_position();

	B.ep = epoll_create1(EPOLL_CLOEXEC);
	B.multi = curl_multi_init();
	if (B.ep < 0 || !B.multi)
		die("cannot set up the loop");
	curl_multi_setopt(B.multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(B.multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(B.multi, CURLMOPT_MAX_HOST_CONNECTIONS, 8L);
	B.sync = easy_new(&B.sync_resp);
	curl_easy_setopt(B.sync, CURLOPT_HTTPHEADER, B.hdr_get);
	curl_easy_setopt(B.sync, CURLOPT_TIMEOUT_MS, 90000L);
	curl_easy_setopt(B.sync, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)BODY_CAP);
	for (int i = 0; i < MAX_PUTS; i++) {
		CURL *e = easy_new(&B.puts[i].resp);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, B.hdr_json);
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
		curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)65536);
		B.puts[i].e = e;
	}
	sync_start();
	printf("ready\n");
	fflush(stdout);

	while (!stop) {
		struct epoll_event evs[16];
		int n, running, timeout = -1;
		uint64_t now = now_ms();

		if (B.curl_armed) /* an absolute due time: events before it do not postpone it */
			timeout = B.curl_due > now ? (int)(B.curl_due - now) : 0;
		if (B.sync_retry_at) {
			int t = B.sync_retry_at > now ? (int)(B.sync_retry_at - now) : 0;
			if (timeout < 0 || t < timeout)
				timeout = t;
		}
		n = epoll_wait(B.ep, evs, 16, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait failed");
		}
		for (int i = 0; i < n; i++) {
			int flags = 0;
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				flags |= CURL_CSELECT_IN;
			if (evs[i].events & (EPOLLOUT | EPOLLERR))
				flags |= CURL_CSELECT_OUT;
			curl_multi_socket_action(B.multi, evs[i].data.fd, flags, &running);
		}
		if (B.curl_armed && now_ms() >= B.curl_due) {
			B.curl_armed = false;
			curl_multi_socket_action(B.multi, CURL_SOCKET_TIMEOUT, 0, &running);
		}
		check_done();
		if (B.sync_retry_at && now_ms() >= B.sync_retry_at) {
			B.sync_retry_at = 0;
			sync_start();
		}
	}

	fprintf(stderr, "floor_bot: answered %llu\n", B.answered);
	if (B.sync_busy)
		curl_multi_remove_handle(B.multi, B.sync);
	curl_easy_cleanup(B.sync);
	for (int i = 0; i < MAX_PUTS; i++) {
		if (B.puts[i].busy)
			curl_multi_remove_handle(B.multi, B.puts[i].e);
		curl_easy_cleanup(B.puts[i].e);
		free(B.puts[i].url);
		free(B.puts[i].body);
		free(B.puts[i].resp.data);
	}
	while (B.head) {
		struct batch *b = B.head;
		B.head = b->next;
		free(b->token);
		free(b);
	}
	curl_multi_cleanup(B.multi);
	curl_slist_free_all(B.hdr_get);
	curl_slist_free_all(B.hdr_json);
	curl_global_cleanup();
	close(B.ep);
	sqlite3_finalize(B.save);
	sqlite3_close(B.db);
	free(B.sync_resp.data);
	free(B.own);
	free(B.filter_id);
	free(B.since);
	free(B.plain);
	free(B.html);
	return 0;
}
