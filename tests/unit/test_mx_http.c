/* test_mx_http.c - the Matrix transport's HTTP layer against a loopback server (a thread): a
 * finished request's curl handle is kept configured for the next (set up once, not reset), the
 * JSON requests' header list is built once per token, and what goes on the wire stays each
 * request's own: its method, its body or none, its token or none (a new token after a new
 * login, never the old one), an upload's own content type; every request rides one kept-alive
 * connection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"
#include "core/loop.h"
#include "net/matrix/mx.h"

#define MAXREQ 16

struct server {
	int lfd;
	int port;
	int want;                  /* requests to answer, then stop */
	int accepts;
	int nreq;
	char *req[MAXREQ];         /* head and body of each request, as received */
};

/* Reads one request (head, then Content-Length bytes of body); NULL at end of connection. */
static char *read_request(int fd, char *buf, size_t *have, size_t cap)
{
	for (;;) {
		char *end = memmem(buf, *have, "\r\n\r\n", 4);
		if (end) {
			size_t head = (size_t)(end - buf) + 4, body = 0, total;
			const char *cl = strcasestr(buf, "\r\nContent-Length:");
			char *out;

			if (cl && cl < end)
				body = strtoul(cl + 17, NULL, 10);
			total = head + body;
			if (*have >= total) {
				out = strndup(buf, total);
				memmove(buf, buf + total, *have - total);
				*have -= total;
				return out;
			}
		}
		if (*have == cap)
			return NULL;
		ssize_t n = read(fd, buf + *have, cap - *have);
		if (n <= 0)
			return NULL;
		*have += (size_t)n;
	}
}

static void *serve(void *arg)
{
	struct server *s = arg;
	static char buf[65536];
	size_t have = 0;

	while (s->nreq < s->want) {
		int fd = accept(s->lfd, NULL, NULL);
		char *req;

		if (fd < 0)
			break;
		s->accepts++;
		have = 0;
		while (s->nreq < s->want && (req = read_request(fd, buf, &have, sizeof(buf)))) {
			char reply[160];
			int n = snprintf(reply, sizeof(reply),
					 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
					 "Content-Length: 9\r\n\r\n{\"n\":%3d}", s->nreq);

			s->req[s->nreq++] = req;
			if (write(fd, reply, (size_t)n) != n)
				break;
		}
		close(fd);
	}
	return NULL;
}

struct got {
	int status;
	int n;
	bool done;
};

static void on_answer(struct mx *mx, int status, json_t *body, const struct hstamp *t, void *ud)
{
	struct got *g = ud;

	g->status = status;
	g->n = (int)json_integer_value(json_object_get(body, "n"));
	g->done = true;
}

static void run_until(struct mx *mx, struct got *g)
{
	for (int i = 0; i < 2000 && !g->done; i++)
		loop_run_once(mx->loop, 10);
	assert_true(g->done);
	assert_int_equal(g->status, 200);
}

static bool has_header(const char *req, const char *line)
{
	const char *end = strstr(req, "\r\n\r\n");
	const char *p = strcasestr(req, line);

	return p && p < end;
}

static const char *body_of(const char *req)
{
	return strstr(req, "\r\n\r\n") + 4;
}

static void test_handles_and_headers_kept(void **state)
{
	struct server s = { .want = 7 };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	struct mx *mx = calloc(1, sizeof(*mx));
	pthread_t th;
	char hs[64];
	json_t *j;
	struct got g[7] = { 0 };

	assert_non_null(mx);
	s.lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s.lfd >= 0);
	assert_int_equal(bind(s.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s.lfd, 4), 0);
	assert_int_equal(getsockname(s.lfd, (struct sockaddr *)&a, &alen), 0);
	assert_int_equal(pthread_create(&th, NULL, serve, &s), 0);

	assert_int_equal(loop_new(&mx->loop), HE_OK);
	snprintf(hs, sizeof(hs), "http://127.0.0.1:%d", ntohs(a.sin_port));
	mx->hs = strdup(hs);
	mx->access_token = strdup("tok1secret");
	assert_int_equal(mx_http_init(mx), HE_OK);

	/* 0: a PUT with a JSON body and the token */
	j = json_pack("{s:s}", "body", "hello");
	assert_non_null(mx_http_jsonf(mx, "PUT", j, 0, on_answer, &g[0], "/r/%s/send", "!a:hs"));
	json_decref(j);
	run_until(mx, &g[0]);
	/* 1: a GET on the same handle: no body, no custom verb left from the PUT */
	assert_non_null(mx_http_requestf(mx, "GET", NULL, 0, NULL, 0, on_answer, &g[1], "/sync?since=%s", "s1"));
	run_until(mx, &g[1]);
	/* 2: without the token */
	assert_non_null(mx_http_requestf(mx, "POST", "{\"a\":1}", 7, NULL, MX_HTTP_NOAUTH, on_answer, &g[2],
					 "/login"));
	run_until(mx, &g[2]);
	/* 3: an upload's own content type, with the token */
	assert_non_null(mx_http_requestf(mx, "POST", "PNG", 3, "image/png", 0, on_answer, &g[3],
					 "/upload"));
	run_until(mx, &g[3]);
	/* 4, 5: a new login's token: the old one is never sent again */
	free(mx->access_token);
	mx->access_token = strdup("tok2secret");
	assert_non_null(mx_http_requestf(mx, "GET", NULL, 0, NULL, 0, on_answer, &g[4], "/sync"));
	run_until(mx, &g[4]);
	assert_non_null(mx_http_requestf(mx, "POST", NULL, 0, NULL, 0, on_answer, &g[5], "/leave"));
	run_until(mx, &g[5]);
	assert_non_null(mx_http_requestf(mx, "GET", NULL, 0, NULL, 0, on_answer, &g[6], "/sync"));
	run_until(mx, &g[6]);
	pthread_join(th, NULL);

	for (int i = 0; i < 7; i++)
		assert_int_equal(g[i].n, i);
	assert_int_equal(s.nreq, 7);
	/* on the wire: each request its own */
	assert_true(strncmp(s.req[0], "PUT /r/%21a%3Ahs/send HTTP/1.1\r\n", 32) == 0);
	assert_true(has_header(s.req[0], "\r\nAuthorization: Bearer tok1secret\r\n"));
	assert_true(has_header(s.req[0], "\r\nContent-Type: application/json\r\n"));
	assert_string_equal(body_of(s.req[0]), "{\"body\":\"hello\"}");
	assert_true(strncmp(s.req[1], "GET /sync?since=s1 HTTP/1.1\r\n", 29) == 0);
	assert_false(has_header(s.req[1], "\r\nContent-Length:"));
	assert_false(has_header(s.req[1], "\r\nContent-Type:"));
	assert_string_equal(body_of(s.req[1]), "");
	assert_true(has_header(s.req[1], "\r\nAuthorization: Bearer tok1secret\r\n"));
	assert_true(strncmp(s.req[2], "POST /login HTTP/1.1\r\n", 22) == 0);
	assert_false(has_header(s.req[2], "\r\nAuthorization:"));
	assert_string_equal(body_of(s.req[2]), "{\"a\":1}");
	assert_true(has_header(s.req[3], "\r\nContent-Type: image/png\r\n"));
	assert_true(has_header(s.req[3], "\r\nAuthorization: Bearer tok1secret\r\n"));
	assert_string_equal(body_of(s.req[3]), "PNG");
	for (int i = 4; i < 7; i++) {
		assert_true(has_header(s.req[i], "\r\nAuthorization: Bearer tok2secret\r\n"));
		assert_false(has_header(s.req[i], "tok1secret"));
		assert_true(has_header(s.req[i], "\r\nAccept: application/json\r\n"));
		assert_true(has_header(s.req[i], "\r\nUser-Agent: Hearth/"));
	}
	assert_true(has_header(s.req[5], "\r\nContent-Type: application/json\r\n"));
	assert_true(strncmp(s.req[5], "POST /leave HTTP/1.1\r\n", 22) == 0);
	assert_true(has_header(s.req[5], "\r\nContent-Length: 0\r\n"));
	assert_true(strncmp(s.req[6], "GET /sync HTTP/1.1\r\n", 20) == 0);
	assert_false(has_header(s.req[6], "\r\nContent-Length:"));

	/* the work saved: one connection, one configured handle, one header list per token and
	 * kind (tok1: PUT, GET; none: POST; tok2: GET, POST) and one for the upload, for 7
	 * requests */
	assert_int_equal(s.accepts, 1);
	assert_int_equal(mx->easy_setups, 1);
	assert_int_equal(mx->hdr_builds, 6);

	mx_http_free(mx);
	loop_free(mx->loop);
	close(s.lfd);
	for (int i = 0; i < s.nreq; i++)
		free(s.req[i]);
	free(mx->hs);
	free(mx->access_token);
	free(mx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handles_and_headers_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
