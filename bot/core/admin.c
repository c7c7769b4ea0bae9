/* admin.c - /metrics and /healthz over libmicrohttpd, driven by the one event loop. */
#include "core/admin.h"
#include "core/app.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "store/store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define ADMIN_MOD "admin"
#define MAX_CONNECTIONS 16
#define MEMORY_LIMIT (16 * 1024)    /* per connection: the request line and headers must fit */
#define IDLE_TIMEOUT_S 5

struct admin {
	struct happ *app;
	struct MHD_Daemon *d;
	int listen_fd;
	int epoll_fd;
	uint64_t timer;
	bool allow_remote;
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static bool v4_loopback(const struct in_addr *a) { return (ntohl(a->s_addr) >> 24) == 127; }

static bool addr_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_UNIX)
		return true;
	if (sa->sa_family == AF_INET)
		return v4_loopback(&((const struct sockaddr_in *)sa)->sin_addr);
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			struct in_addr v4;
			memcpy(&v4, a->s6_addr + 12, 4);
			return v4_loopback(&v4);
		}
	}
	return false;
}

bool admin_peer_allowed(const struct sockaddr *peer, bool allow_remote)
{
	return allow_remote || (peer && addr_loopback(peer));
}

int admin_parse_listen(const char *spec, bool allow_remote, struct sockaddr_storage *ss,
		       socklen_t *len, char *err, size_t errlen)
{
	char host[64];
	const char *colon;
	char *end;
	long port;

	memset(ss, 0, sizeof(*ss));
	if (!spec || !*spec) {
		he_fmt(err, errlen, "[admin] listen is empty; write 127.0.0.1:9464 or unix:/PATH");
		return HE_INVAL;
	}
	if (strncmp(spec, "unix:", 5) == 0) {
		struct sockaddr_un *un = (struct sockaddr_un *)ss;
		if (spec[5] != '/' || strlen(spec + 5) >= sizeof(un->sun_path)) {
			he_fmt(err, errlen, "[admin] listen: a Unix socket needs an absolute path of at most "
			       "%zu bytes, e.g. unix:/run/hearth/admin.sock", sizeof(un->sun_path) - 1);
			return HE_INVAL;
		}
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, spec + 5, strlen(spec + 5) + 1);
		*len = (socklen_t)sizeof(*un);
		return HE_OK;
	}
	colon = strrchr(spec, ':');
	if (!colon || (size_t)(colon - spec) >= sizeof(host) || colon == spec)
		goto bad;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port < 1 || port > 65535)
		goto bad;
	if (host[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		size_t n = strlen(host);
		if (n < 3 || host[n - 1] != ']')
			goto bad;
		host[n - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			goto bad;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = (socklen_t)sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		if (strcmp(host, "localhost") == 0)
			snprintf(host, sizeof(host), "127.0.0.1");
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			goto bad;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = (socklen_t)sizeof(*s4);
	}
	if (!allow_remote && !addr_loopback((const struct sockaddr *)ss)) {
		he_fmt(err, errlen, "[admin] listen %s is reachable from other machines; metrics and health "
		       "stay on this machine (127.0.0.1, [::1] or unix:/PATH) unless you set "
		       "allow_remote = true (and put a firewall or a proxy with authentication in front)", spec);
		return HE_INVAL;
	}
	return HE_OK;
bad:
	he_fmt(err, errlen, "[admin] listen \"%s\" is not an address: write 127.0.0.1:9464, [::1]:9464 "
	       "or unix:/run/hearth/admin.sock", spec);
	return HE_INVAL;
}

int admin_check_listen(const char *spec, bool allow_remote, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;

	return admin_parse_listen(spec, allow_remote, &ss, &len, err, errlen);
}

int admin_health(struct happ *app, char *why, size_t len)
{
	const struct config *c = app->cfg;
	struct db_stmt *st;
	bool ok;

	if (c->matrix_enabled && !metrics_net_is_up("matrix")) {
		he_fmt(why, len, "matrix: not connected to the homeserver");
		return HE_AGAIN;
	}
	for (size_t i = 0; i < c->nirc; i++) {
		char net[80];
		snprintf(net, sizeof(net), "irc.%s", c->irc[i].name);
		if (!metrics_net_is_up(net)) {
			he_fmt(why, len, "%s: not connected", net);
			return HE_AGAIN;
		}
	}
	st = app->store ? db_stmt(store_sql(app->store), "SELECT count(*) FROM schema_version") : NULL;
	ok = st && db_step(st) == DB_ROW;
	if (st)
		db_reset(st);
	if (!ok) {
		he_fmt(why, len, "store: the database does not answer");
		return HE_AGAIN;
	}
	return HE_OK;
}

static long mood_members(struct happ *app)
{
	struct db_stmt *st = app->store ? db_stmt(store_sql(app->store), "SELECT count(*) FROM mood_consent") : NULL;
	long n = -1;

	if (st && db_step(st) == DB_ROW)
		n = (long)db_col_int64(st, 0);
	if (st)
		db_reset(st);
	return n;
}

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *type, char *body,
			       size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result rc;

	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result respond_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	char *body = strdup(text);
	return body ? respond(c, status, "text/plain; charset=utf-8", body, strlen(body)) : MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct admin *a = cls;

	/* Answered on the first call, before any body is read: nothing here takes a body. */
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return respond_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");
	/* exact paths only: no file system behind this, nothing to traverse */
	if (strcmp(url, "/metrics") == 0) {
		struct hbuf b = HBUF_INIT;
		char *body;
		size_t len;
		if (metrics_render(&b, mood_members(a->app)) || !(len = b.len, body = hbuf_steal(&b))) {
			hbuf_free(&b);
			return respond_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
		}
		return respond(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len);
	}
	if (strcmp(url, "/healthz") == 0) {
		char why[200], line[220];
		if (admin_health(a->app, why, sizeof(why)) == HE_OK)
			return respond_text(c, MHD_HTTP_OK, "ok\n");
		snprintf(line, sizeof(line), "%s\n", why);
		return respond_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, line);
	}
	return respond_text(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics or /healthz\n");
}

/* Without allow_remote only this machine may ask, whatever address was bound. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct admin *a = cls;

	if (admin_peer_allowed(addr, a->allow_remote))
		return MHD_YES;
	hlog_warn(ADMIN_MOD, "a connection from another machine was refused (allow_remote is off)");
	return MHD_NO;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	hlog_debug(ADMIN_MOD, "%s", msg);
}

static void run_mhd(struct admin *a);

static void on_timer(struct loop *l, void *ud)
{
	struct admin *a = ud;
	a->timer = 0;
	run_mhd(a);
}

/* Runs MHD, then arms a timer for its next timeout (idle connections), at most 1 s away. */
static void run_mhd(struct admin *a)
{
	MHD_UNSIGNED_LONG_LONG ms = 1000;

	MHD_run(a->d);
	if (a->timer)
		loop_timer_cancel(a->app->loop, a->timer);
	a->timer = 0;
	if (MHD_get_timeout(a->d, &ms) != MHD_YES || ms > 1000)
		ms = 1000;
	if (loop_timer_add(a->app->loop, ms, on_timer, a, &a->timer))
		happ_fail(a->app, ADMIN_MOD, "cannot arm the admin endpoint's timer", HE_NOMEM);
}

static void on_ready(struct loop *l, int fd, unsigned events, void *ud)
{
	run_mhd(ud);
}

static int open_socket(struct admin *a, const struct sockaddr_storage *ss, socklen_t len)
{
	int one = 1, fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return HE_IO;
	if (ss->ss_family == AF_UNIX) {
		const struct sockaddr_un *un = (const struct sockaddr_un *)ss;
		struct stat sb;
		/* a stale socket from an earlier run goes; any other file stays */
		if (lstat(un->sun_path, &sb) == 0 && S_ISSOCK(sb.st_mode))
			unlink(un->sun_path);
		snprintf(a->unix_path, sizeof(a->unix_path), "%s", un->sun_path);
	} else {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	}
	if (bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, 16) < 0) {
		int e = errno;
		close(fd);
		a->unix_path[0] = '\0';
		errno = e;
		return HE_IO;
	}
	return fd;
}

int admin_start(struct happ *app, struct admin **out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct admin *a;
	char err[300];
	const union MHD_DaemonInfo *info;
	int rc;

	*out = NULL;
	if (admin_parse_listen(app->cfg->admin_listen, app->cfg->admin_allow_remote, &ss, &len, err,
			       sizeof(err))) {
		hlog_error(ADMIN_MOD, "%s", err);
		return HE_INVAL;
	}
	if (!(a = calloc(1, sizeof(*a))))
		return HE_NOMEM;
	a->app = app;
	a->allow_remote = app->cfg->admin_allow_remote;
	a->epoll_fd = -1;
	a->listen_fd = open_socket(a, &ss, len);
	if (a->listen_fd < 0) {
		hlog_error(ADMIN_MOD, "cannot listen on %s: %s", app->cfg->admin_listen, strerror(errno));
		rc = HE_IO;
		goto out;
	}
	a->d = MHD_start_daemon(MHD_USE_EPOLL, 0, on_accept, a, on_request, a,
				MHD_OPTION_LISTEN_SOCKET, (MHD_socket)a->listen_fd,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MEMORY_LIMIT,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
				MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, a,
				MHD_OPTION_END);
	info = a->d ? MHD_get_daemon_info(a->d, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
	if (!info) {
		hlog_error(ADMIN_MOD, "cannot start the HTTP server for %s", app->cfg->admin_listen);
		rc = HE_IO;
		goto out;
	}
	a->epoll_fd = info->epoll_fd;
	if ((rc = loop_add_fd(app->loop, a->epoll_fd, LOOP_READ, on_ready, a)))
		goto out;
	run_mhd(a);
	hlog_info(ADMIN_MOD, "serving /metrics and /healthz on %s", app->cfg->admin_listen);
	*out = a;
	return HE_OK;
out:
	admin_free(a);
	return rc;
}

void admin_free(struct admin *a)
{
	if (!a)
		return;
	if (a->timer)
		loop_timer_cancel(a->app->loop, a->timer);
	if (a->epoll_fd >= 0)
		loop_del_fd(a->app->loop, a->epoll_fd);
	if (a->d)
		MHD_stop_daemon(a->d);
	if (a->listen_fd >= 0)
		close(a->listen_fd);
	if (a->unix_path[0])
		unlink(a->unix_path);
	free(a);
}

int admin_healthcheck_client(const char *spec, int timeout_ms)
{
	static const char req[] = "GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n";
	struct sockaddr_storage ss;
	socklen_t len;
	char err[300], buf[512];
	size_t got = 0;
	int fd, rc = 1;
	struct pollfd p;

	if (admin_parse_listen(spec, true, &ss, &len, err, sizeof(err))) {
		fprintf(stderr, "hearth: %s\n", err);
		return 1;
	}
	/* a wildcard address is asked on loopback */
	if (ss.ss_family == AF_INET && ((struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(INADDR_ANY))
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ss.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr))
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){ timeout_ms / 1000, timeout_ms % 1000 * 1000 },
		   sizeof(struct timeval));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &(struct timeval){ timeout_ms / 1000, timeout_ms % 1000 * 1000 },
		   sizeof(struct timeval));
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 || write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
		fprintf(stderr, "hearth: cannot reach %s: %s\n", spec, strerror(errno));
		goto out;
	}
	p = (struct pollfd){ fd, POLLIN, 0 };
	while (got + 1 < sizeof(buf) && poll(&p, 1, timeout_ms) > 0) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	if (strncmp(buf, "HTTP/1.", 7) == 0 && strncmp(buf + 8, " 200", 4) == 0) {
		rc = 0;
	} else {
		char *body = strstr(buf, "\r\n\r\n");
		fprintf(stderr, "hearth: unhealthy: %s", body ? body + 4 : "no answer\n");
	}
out:
	close(fd);
	return rc;
}
