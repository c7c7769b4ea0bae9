/* http.c - libcurl's multi interface inside Hearth's event loop.
 *
 * Every request is one easy handle on one multi handle; curl tells us which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION -> loop_add_fd/loop_mod_fd/loop_del_fd) and when to wake it
 * (CURLMOPT_TIMERFUNCTION -> loop_timer_add). Bodies are capped while they arrive; JSON is
 * parsed with a depth check. Requests flagged MX_HTTP_RETRY survive network errors, 5xx and 429
 * (waiting as the server says, else 1 s doubling to 60 s with jitter). The access token goes in
 * the Authorization header only, and curl's verbose output is never enabled. */
#include "core/metrics.h"
#include "net/matrix/mx.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/loop.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mx_req {
	struct mx *mx;
	CURL *easy;
	char *method;
	char *path;
	char *body;
	size_t body_len;
	char *content_type;
	unsigned flags;
	mx_http_cb cb;
	void *ud;
	struct mx_hdrs *hdrs;      /* shared (http.c's header lists) */
	struct hbuf resp;
	size_t cap;
	bool over_cap;
	char retry_after[32];
	unsigned attempt;
	uint64_t timer;            /* waiting to retry */
	bool held;                 /* waiting for a new login */
	struct mx_req *next;
};

/* A request's header list. Every JSON request made with the same token shares one, built once
 * per token rather than per request; an upload (its own content type) has one of its own. The
 * last user frees it, and a list that holds the token is wiped first. */
struct mx_hdrs {
	unsigned refs;
	bool secret;
	struct curl_slist *list;
};

#define AUTH_LINE "Authorization: Bearer "

/* ---- pure helpers ---- */

uint64_t mx_backoff_ms(unsigned attempt, uint32_t rnd)
{
	uint64_t base = 1000;
	double jitter;

	for (unsigned i = 0; i < attempt && base < 60000; i++)
		base *= 2;
	if (base > 60000)
		base = 60000;
	/* rnd spread over [-20%, +20%] */
	jitter = ((double)rnd / (double)UINT32_MAX) * 0.4 - 0.2;
	return (uint64_t)((double)base * (1.0 + jitter));
}

int64_t mx_retry_after_ms(const char *header, json_t *body)
{
	int64_t ms = -1;

	if (header && *header) {
		char *end;
		long long s = strtoll(header, &end, 10);
		if (end != header && s >= 0)
			ms = s > 600 ? 600000 : s * 1000;
	}
	if (ms < 0 && json_is_object(body)) {
		json_t *v = json_object_get(body, "retry_after_ms");
		if (json_is_integer(v) && json_integer_value(v) >= 0)
			ms = json_integer_value(v);
	}
	if (ms > 600000)
		ms = 600000;
	return ms;
}

int mx_json_parse(const char *buf, size_t len, unsigned max_depth, json_t **out)
{
	unsigned depth = 0;
	bool in_str = false, esc = false;
	json_error_t err;

	*out = NULL;
	/* jansson recurses to 2048 levels; we refuse far less, before it starts. */
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"')
			in_str = true;
		else if (c == '[' || c == '{') {
			if (++depth > max_depth)
				return HE_PROTO;
		} else if ((c == ']' || c == '}') && depth > 0)
			depth--;
	}
	*out = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
	if (!*out)
		return HE_PROTO;
	return HE_OK;
}

const char *mx_errcode(json_t *body)
{
	const char *s = json_string_value(json_object_get(body, "errcode"));
	return s ? s : "";
}

char *mx_http_vpathf(const char *fmt, va_list ap)
{
	struct hbuf b = HBUF_INIT;

	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			hbuf_putc(&b, *p);
			continue;
		}
		p++;
		if (*p == 's') {
			const char *arg = va_arg(ap, const char *);
			char *esc = curl_easy_escape(NULL, arg ? arg : "", 0);

			if (!esc) {
				hbuf_free(&b);
				return NULL;
			}
			hbuf_puts(&b, esc);
			curl_free(esc);
		} else if (*p == 'S') {
			const char *arg = va_arg(ap, const char *);

			hbuf_puts(&b, arg ? arg : "");
		} else if (*p == 'd') {
			hbuf_printf(&b, "%d", va_arg(ap, int));
		} else if (*p == '%') {
			hbuf_putc(&b, '%');
		} else {
			hbuf_free(&b); /* a format this function does not know: a bug in the caller */
			return NULL;
		}
	}
	if (!b.data && !b.oom)
		return strdup("");
	return hbuf_steal(&b);
}

char *mx_http_pathf(const char *fmt, ...)
{
	va_list ap;
	char *path;

	va_start(ap, fmt);
	path = mx_http_vpathf(fmt, ap);
	va_end(ap);
	return path;
}

/* ---- curl in the loop ---- */

static void check_done(struct mx *mx);
static int start_transfer(struct mx_req *r);
static size_t write_cb(char *data, size_t size, size_t n, void *ud);
static size_t header_cb(char *data, size_t size, size_t n, void *ud);

static void on_socket_ready(struct loop *l, int fd, unsigned events, void *ud)
{
	struct mx *mx = ud;
	int running = 0, flags = 0;

	if (events & LOOP_READ)
		flags |= CURL_CSELECT_IN;
	if (events & LOOP_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(mx->multi, fd, flags, &running);
	check_done(mx);
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct mx *mx = userp;
	unsigned ev = 0;

	if (what == CURL_POLL_REMOVE) {
		loop_del_fd(mx->loop, s);
		curl_multi_assign(mx->multi, s, NULL);
		return 0;
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		ev |= LOOP_READ;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		ev |= LOOP_WRITE;
	if (!socketp) {
		if (loop_add_fd(mx->loop, s, ev, on_socket_ready, mx) == HE_OK)
			curl_multi_assign(mx->multi, s, mx);
		else
			loop_mod_fd(mx->loop, s, ev);
	} else {
		loop_mod_fd(mx->loop, s, ev);
	}
	return 0;
}

static void on_curl_timer(struct loop *l, void *ud)
{
	struct mx *mx = ud;
	int running = 0;

	mx->curl_timer = 0;
	curl_multi_socket_action(mx->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(mx);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct mx *mx = userp;

	if (mx->curl_timer) {
		loop_timer_cancel(mx->loop, mx->curl_timer);
		mx->curl_timer = 0;
	}
	if (timeout_ms >= 0 &&
	    loop_timer_add(mx->loop, (uint64_t)timeout_ms, on_curl_timer, mx, &mx->curl_timer)) {
		happ_fail(mx->app, MX_MOD, "cannot arm curl's timer", HE_NOMEM);
		return -1;
	}
	return 0;
}

int mx_http_init(struct mx *mx)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return HE_ERR;
	mx->multi = curl_multi_init();
	if (!mx->multi)
		return HE_NOMEM;
	curl_multi_setopt(mx->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(mx->multi, CURLMOPT_SOCKETDATA, mx);
	curl_multi_setopt(mx->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(mx->multi, CURLMOPT_TIMERDATA, mx);
	curl_multi_setopt(mx->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 8L);
	return HE_OK;
}

static void req_unlink(struct mx *mx, struct mx_req *r)
{
	for (struct mx_req **pp = &mx->reqs; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			return;
		}
	}
}

static void hdrs_unref(struct mx_hdrs *h)
{
	if (!h || --h->refs)
		return;
	if (h->secret)
		for (struct curl_slist *l = h->list; l; l = l->next)
			explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(h->list);
	free(h);
}

static bool hdr_add(struct curl_slist **list, const char *line)
{
	struct curl_slist *n = curl_slist_append(*list, line);

	if (!n)
		return false;
	*list = n;
	return true;
}

static struct mx_hdrs *hdrs_build(struct mx *mx, const char *token, const char *ctype, bool get)
{
	struct mx_hdrs *h = calloc(1, sizeof(*h));
	struct hbuf line = HBUF_INIT;
	bool ok;

	if (!h)
		return NULL;
	h->refs = 1;
	h->secret = token != NULL;
	mx->hdr_builds++;
	ok = true;
	if (token) {
		/* one exact allocation (no growth leaving copies of the token behind), wiped */
		size_t n = sizeof(AUTH_LINE) - 1 + strlen(token) + 1;
		char *auth = malloc(n);

		ok = auth && hdr_add(&h->list, strcat(strcpy(auth, AUTH_LINE), token));
		if (auth) {
			explicit_bzero(auth, n);
			free(auth);
		}
	}
	/* a GET sends no body: no content type, nothing to expect */
	if (!get) {
		hbuf_puts(&line, "Content-Type: ");
		hbuf_puts(&line, ctype);
		ok = ok && !line.oom && hdr_add(&h->list, line.data) && hdr_add(&h->list, "Expect:");
	}
	ok = ok && hdr_add(&h->list, "Accept: application/json");
	hbuf_free(&line);
	if (!ok) {
		hdrs_unref(h);
		return NULL;
	}
	return h;
}

/* The header list of this request: a JSON request takes the shared list of the token in use
 * (a new token, after a new login, builds a new one; requests in flight keep theirs). */
static struct mx_hdrs *hdrs_for(struct mx *mx, const struct mx_req *r)
{
	const char *token = (!(r->flags & MX_HTTP_NOAUTH) && mx->access_token) ? mx->access_token : NULL;
	bool get = strcmp(r->method, "GET") == 0;
	struct mx_hdrs **slot = &mx->hdr_json[token != NULL][get];

	if (r->content_type)
		return hdrs_build(mx, token, r->content_type, get);
	if (*slot && token && strcmp((*slot)->list->data + sizeof(AUTH_LINE) - 1, token) != 0) {
		hdrs_unref(*slot);
		*slot = NULL;
	}
	if (!*slot && !(*slot = hdrs_build(mx, token, "application/json", get)))
		return NULL;
	(*slot)->refs++;
	return *slot;
}

/* A handle is configured once with what every request shares; a request sets only what is its
 * own (start_transfer), so a finished one is kept for the next without curl_easy_reset. */
static CURL *easy_new(struct mx *mx)
{
	CURL *e = curl_easy_init();

	if (!e)
		return NULL;
	mx->easy_setups++;
	if (curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT, "Hearth/" HEARTH_VERSION) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK) {
		curl_easy_cleanup(e);
		return NULL;
	}
	curl_easy_setopt(e, CURLOPT_VERBOSE, 0L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	return e;
}

/* A finished request's easy handle is kept for the next one: what pointed into this request
 * (its header list, body, buffers) is cleared, the shared configuration stays. */
static void easy_park(struct mx *mx, CURL *e)
{
	curl_multi_remove_handle(mx->multi, e);
	if (mx->neasy_idle < MX_EASY_IDLE) {
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
		curl_easy_setopt(e, CURLOPT_WRITEDATA, NULL);
		curl_easy_setopt(e, CURLOPT_HEADERDATA, NULL);
		curl_easy_setopt(e, CURLOPT_PRIVATE, NULL);
		mx->easy_idle[mx->neasy_idle++] = e;
	} else {
		curl_easy_cleanup(e);
	}
}

static CURL *easy_take(struct mx *mx)
{
	return mx->neasy_idle ? mx->easy_idle[--mx->neasy_idle] : easy_new(mx);
}

static void req_free(struct mx *mx, struct mx_req *r)
{
	if (!r)
		return;
	if (r->easy)
		easy_park(mx, r->easy);
	if (r->timer)
		loop_timer_cancel(mx->loop, r->timer);
	hdrs_unref(r->hdrs);
	hbuf_free(&r->resp);
	free(r->method);
	free(r->path);
	if (r->body)
		explicit_bzero(r->body, r->body_len); /* a login body holds the password */
	free(r->body);
	free(r->content_type);
	free(r);
}

void mx_http_free(struct mx *mx)
{
	struct mx_req *r, *next;

	for (r = mx->reqs; r; r = next) {
		next = r->next;
		req_free(mx, r);
	}
	mx->reqs = NULL;
	while (mx->neasy_idle)
		curl_easy_cleanup(mx->easy_idle[--mx->neasy_idle]);
	for (size_t i = 0; i < 4; i++) {
		hdrs_unref(mx->hdr_json[i / 2][i % 2]);
		mx->hdr_json[i / 2][i % 2] = NULL;
	}
	if (mx->curl_timer)
		loop_timer_cancel(mx->loop, mx->curl_timer);
	mx->curl_timer = 0;
	if (mx->multi)
		curl_multi_cleanup(mx->multi);
	mx->multi = NULL;
	curl_global_cleanup();
}

static size_t write_cb(char *data, size_t size, size_t n, void *ud)
{
	struct mx_req *r = ud;
	size_t len = size * n;

	if (r->resp.len + len > r->cap) {
		r->over_cap = true;
		return 0; /* curl aborts the transfer: CURLE_WRITE_ERROR */
	}
	if (hbuf_append(&r->resp, data, len) != HE_OK)
		return 0;
	return len;
}

static size_t header_cb(char *data, size_t size, size_t n, void *ud)
{
	struct mx_req *r = ud;
	size_t len = size * n;
	static const char name[] = "retry-after:";

	if (len > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
		size_t vlen = len - (sizeof(name) - 1);
		const char *v = data + sizeof(name) - 1;
		while (vlen && (*v == ' ' || *v == '\t')) {
			v++;
			vlen--;
		}
		while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
			vlen--;
		if (vlen >= sizeof(r->retry_after))
			vlen = sizeof(r->retry_after) - 1;
		memcpy(r->retry_after, v, vlen);
		r->retry_after[vlen] = '\0';
	}
	return len;
}

static int start_transfer(struct mx_req *r)
{
	struct mx *mx = r->mx;
	struct hbuf url = HBUF_INIT;
	CURL *e;
	int rc = HE_NOMEM;

	r->timer = 0;
	hbuf_reset(&r->resp);
	r->over_cap = false;
	r->retry_after[0] = '\0';
	hdrs_unref(r->hdrs);
	r->hdrs = NULL;
	if (r->easy)
		easy_park(mx, r->easy);
	r->easy = e = easy_take(mx);
	if (!e)
		goto out;
	hbuf_puts(&url, mx->hs);
	hbuf_puts(&url, r->path);
	if (url.oom || !(r->hdrs = hdrs_for(mx, r)))
		goto out;
	curl_easy_setopt(e, CURLOPT_URL, url.data);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs->list);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (r->flags & MX_HTTP_FIRST) ? (long)MX_FIRST_SYNC_TIMEOUT_MS :
			 (r->flags & MX_HTTP_SYNC) ? (long)MX_SYNC_TIMEOUT_MS + 30000L : 60000L);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->cap);
	if (strcmp(r->method, "GET") == 0) {
		/* the handle may have sent a body last time: a GET of its own, no custom verb */
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
	} else {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(r->body ? r->body_len : 0));
	}
	if (curl_multi_add_handle(mx->multi, e) != CURLM_OK)
		goto out;
	rc = HE_OK;
out:
	hbuf_free(&url);
	return rc;
}

static void on_retry_timer(struct loop *l, void *ud)
{
	struct mx_req *r = ud;

	r->timer = 0;
	if (start_transfer(r) != HE_OK) {
		/* out of memory: try again a little later */
		if (loop_timer_add(r->mx->loop, 1000, on_retry_timer, r, &r->timer))
			happ_fail(r->mx->app, MX_MOD, "cannot arm a request's retry", HE_NOMEM);
	}
}

static void schedule_retry(struct mx_req *r, int64_t wait_ms)
{
	struct mx *mx = r->mx;

	if (r->easy) {
		curl_multi_remove_handle(mx->multi, r->easy);
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
	}
	if (wait_ms < 0)
		wait_ms = (int64_t)mx_backoff_ms(r->attempt, randombytes_random());
	r->attempt++;
	if (loop_timer_add(mx->loop, (uint64_t)wait_ms, on_retry_timer, r, &r->timer))
		happ_fail(mx->app, MX_MOD, "cannot arm a request's retry", HE_NOMEM);
}

static void finish(struct mx *mx, struct mx_req *r, int status, json_t *body,
		   const struct hstamp *t_done)
{
	mx_http_cb cb = r->cb;
	void *ud = r->ud;

	req_unlink(mx, r);
	req_free(mx, r);
	if (cb)
		cb(mx, status, body, t_done, ud);
}

static void done_one(struct mx *mx, struct mx_req *r, CURLcode res)
{
	struct hstamp t_done = hstamp_now();
	long status = 0;
	json_t *body = NULL;
	const char *errcode;

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	if ((r->flags & MX_HTTP_SYNC) && (res != CURLE_OK || status == 0 || status >= 500))
		metrics_matrix_sync(false);
	if (res != CURLE_OK) {
		if (r->over_cap || res == CURLE_FILESIZE_EXCEEDED)
			hlog_warn(MX_MOD, "%s %s: response over %zu bytes, refused", r->method, r->path, r->cap);
		else
			hlog_warn(MX_MOD, "%s %s: %s", r->method, r->path, curl_easy_strerror(res));
		if (r->flags & MX_HTTP_RETRY) {
			if (r->attempt >= 2)
				hlog_info(MX_MOD, "homeserver unreachable, retrying (attempt %u)", r->attempt + 1);
			schedule_retry(r, -1);
			return;
		}
		finish(mx, r, 0, NULL, &t_done);
		return;
	}
	if (r->resp.len && mx_json_parse(r->resp.data, r->resp.len, MX_JSON_DEPTH, &body) != HE_OK) {
		hlog_warn(MX_MOD, "%s %s: HTTP %ld with a body that is not acceptable JSON (%zu bytes): skipped",
			  r->method, r->path, status, r->resp.len);
		body = NULL;
		if ((r->flags & MX_HTTP_RETRY) && status >= 200 && status < 300) {
			schedule_retry(r, -1);
			return;
		}
	}
	/* parsed: the text (a first /sync of 1,000 rooms is megabytes) goes before the tree is
	 * walked, not after */
	hbuf_free(&r->resp);
	errcode = mx_errcode(body);
	if (status == 429 && (r->flags & MX_HTTP_RETRY)) {
		int64_t wait = mx_retry_after_ms(r->retry_after, body);
		hlog_info(MX_MOD, "%s %s: rate limited, waiting %lld ms", r->method, r->path,
			  (long long)(wait < 0 ? (int64_t)mx_backoff_ms(r->attempt, 0x7fffffffu) : wait));
		schedule_retry(r, wait);
		json_decref(body);
		return;
	}
	if ((status >= 500 || status == 0) && (r->flags & MX_HTTP_RETRY)) {
		hlog_warn(MX_MOD, "%s %s: HTTP %ld, retrying", r->method, r->path, status);
		schedule_retry(r, -1);
		json_decref(body);
		return;
	}
	if (status == 401 && !(r->flags & MX_HTTP_NOAUTH) && strcmp(errcode, "M_UNKNOWN_TOKEN") == 0) {
		/* hold it; it goes out again after a new login */
		curl_multi_remove_handle(mx->multi, r->easy);
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
		r->held = true;
		json_decref(body);
		mx_auth_lost(mx);
		return;
	}
	if (status >= 400)
		hlog_debug(MX_MOD, "%s %s: HTTP %ld %s", r->method, r->path, status, errcode);
	finish(mx, r, (int)status, body, &t_done);
	json_decref(body);
}

static void check_done(struct mx *mx)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(mx->multi, &left))) {
		struct mx_req *r = NULL;
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (r)
			done_one(mx, r, msg->data.result);
	}
}

/* A request of this path and body, both taken over (freed here on failure; the body wiped). */
static struct mx_req *req_new(struct mx *mx, const char *method, char *path, char *body,
			      size_t body_len, const char *content_type, unsigned flags,
			      mx_http_cb cb, void *ud)
{
	struct mx_req *r = calloc(1, sizeof(*r));

	if (!r) {
		if (body)
			explicit_bzero(body, body_len);
		free(body);
		free(path);
		return NULL;
	}
	r->mx = mx;
	r->flags = flags;
	r->cb = cb;
	r->ud = ud;
	r->cap = (flags & MX_HTTP_SYNC) ? MX_SYNC_CAP : MX_BODY_CAP;
	r->method = strdup(method);
	r->path = path;
	r->body = body;
	r->body_len = body_len;
	if (content_type)
		r->content_type = strdup(content_type);
	if (!r->method || !r->path || (content_type && !r->content_type)) {
		req_free(mx, r);
		return NULL;
	}
	r->next = mx->reqs;
	mx->reqs = r;
	if (mx->auth_lost && !(flags & MX_HTTP_NOAUTH)) {
		r->held = true;
		return r;
	}
	/* Start from the loop, never from inside a curl callback chain. */
	if (loop_timer_add(mx->loop, 0, on_retry_timer, r, &r->timer)) {
		req_unlink(mx, r);
		req_free(mx, r);
		return NULL;
	}
	return r;
}

struct mx_req *mx_http_request(struct mx *mx, const char *method, const char *path,
			       const void *body, size_t body_len, const char *content_type,
			       unsigned flags, mx_http_cb cb, void *ud)
{
	char *copy = NULL;

	if (body) {
		if (!(copy = malloc(body_len + 1)))
			return NULL;
		memcpy(copy, body, body_len);
		copy[body_len] = '\0';
	}
	return req_new(mx, method, strdup(path), copy, body_len, content_type, flags, cb, ud);
}

/* The one core under mx_http_json and the *f forms: path is a format for mx_http_vpathf when
 * args is given; json (when given) is serialised as the body (handed over, not copied: the
 * request wipes it when done, as a login body holds the password). */
static struct mx_req *request_core(struct mx *mx, const char *method, const char *path,
				   va_list *args, const void *body, size_t body_len, json_t *json,
				   const char *content_type, unsigned flags, mx_http_cb cb, void *ud)
{
	char *built = NULL, *text = NULL;

	if (args && !(path = built = mx_http_vpathf(path, *args)))
		return NULL;
	if (!json) {
		if (!built)
			return mx_http_request(mx, method, path, body, body_len, content_type, flags, cb, ud);
		if (body && !(text = malloc(body_len + 1))) {
			free(built);
			return NULL;
		}
		if (body) {
			memcpy(text, body, body_len);
			text[body_len] = '\0';
		}
		return req_new(mx, method, built, text, body_len, content_type, flags, cb, ud);
	}
	if (!(text = json_dumps(json, JSON_COMPACT))) {
		free(built);
		return NULL;
	}
	return req_new(mx, method, built ? built : strdup(path), text, strlen(text), NULL, flags,
		       cb, ud);
}

struct mx_req *mx_http_json(struct mx *mx, const char *method, const char *path, json_t *body,
			    unsigned flags, mx_http_cb cb, void *ud)
{
	return request_core(mx, method, path, NULL, NULL, 0, body, NULL, flags, cb, ud);
}

struct mx_req *mx_http_requestf(struct mx *mx, const char *method, const void *body,
				size_t body_len, const char *content_type, unsigned flags,
				mx_http_cb cb, void *ud, const char *path_fmt, ...)
{
	struct mx_req *r;
	va_list ap;

	va_start(ap, path_fmt);
	r = request_core(mx, method, path_fmt, &ap, body, body_len, NULL, content_type, flags, cb,
			 ud);
	va_end(ap);
	return r;
}

struct mx_req *mx_http_jsonf(struct mx *mx, const char *method, json_t *body, unsigned flags,
			     mx_http_cb cb, void *ud, const char *path_fmt, ...)
{
	struct mx_req *r;
	va_list ap;

	va_start(ap, path_fmt);
	r = request_core(mx, method, path_fmt, &ap, NULL, 0, body, NULL, flags, cb, ud);
	va_end(ap);
	return r;
}

void mx_http_cancel(struct mx *mx, struct mx_req *r)
{
	if (!r)
		return;
	req_unlink(mx, r);
	req_free(mx, r);
}

void mx_http_resume_auth(struct mx *mx)
{
	mx->auth_lost = false;
	for (struct mx_req *r = mx->reqs; r; r = r->next) {
		if (r->held) {
			r->held = false;
			r->attempt = 0;
			if (!r->timer && loop_timer_add(mx->loop, 0, on_retry_timer, r, &r->timer))
				happ_fail(mx->app, MX_MOD, "cannot arm a held request", HE_NOMEM);
		}
	}
}
