/* admin.h - the operator's HTTP endpoint: GET /metrics (Prometheus text) and GET /healthz.
 *
 * `[admin] listen` turns it on (off by default): "127.0.0.1:9464", "[::1]:9464" or
 * "unix:/run/hearth/admin.sock". An address that is not loopback is refused unless
 * `allow_remote = true`; without it, a connection from a peer that is not loopback is closed
 * on accept too. Served by libmicrohttpd in its external epoll mode: MHD's epoll fd sits in the
 * one event loop (core/loop.h) and MHD_run() is called from there, so no thread is started.
 * Hard limits: 16 connections, 16 KB per request, 5 s to send a request; only GET and HEAD of
 * exactly "/metrics" and "/healthz" are answered, anything else gets 404 or 405.
 *
 * /healthz: 200 "ok" when every configured network is connected (metrics_net_is_up) and the
 * store answers a query; else 503 with a one-line reason. */
#ifndef HEARTH_ADMIN_H
#define HEARTH_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct happ;
struct hbuf;
struct admin;

/* Parses a listen address. HE_INVAL with a reason in err (for --check-config) when it is not
 * one of the three forms, or not loopback/Unix and allow_remote is false. */
int admin_parse_listen(const char *spec, bool allow_remote, struct sockaddr_storage *ss,
		       socklen_t *len, char *err, size_t errlen);

/* The same check without the address (config_finish). */
int admin_check_listen(const char *spec, bool allow_remote, char *err, size_t errlen);

/* Whether a connecting peer is served: always with allow_remote, else only loopback (127/8,
 * ::1, ::ffff:127.0.0.0/104) and Unix sockets. Checked on every accept. */
bool admin_peer_allowed(const struct sockaddr *peer, bool allow_remote);

/* Binds and starts serving from app->loop. */
int admin_start(struct happ *app, struct admin **out);
void admin_free(struct admin *a);          /* accepts NULL; closes the socket */

/* The health check's answer: HE_OK, or HE_AGAIN with the reason in why. */
int admin_health(struct happ *app, char *why, size_t len);

/* `hearth --healthcheck`: asks the configured endpoint's /healthz (for a container's
 * HEALTHCHECK, with no curl in the image). Returns 0 when healthy, 1 when not. */
int admin_healthcheck_client(const char *spec, int timeout_ms);

#endif
