/* sts.c - IRCv3 strict transport security (https://ircv3.net/specs/extensions/sts).
 *
 * Over plain text an `sts` cap with port= makes Hearth leave at once and reconnect with TLS to
 * that port (irc_sts_on_cap sets sts_port; irc.c's connect_now uses it). Nothing is stored then:
 * a policy seen in plain text may be forged. Over a TLS connection that succeeded, duration=
 * stores (or refreshes) the policy in the store ("irc.sts", the host: "PORT EXPIRY"); duration=0
 * removes it. While a stored policy holds, connect_now never connects to that host in plain
 * text, whatever tls says, and says so in the log. */
#include "net/irc/irc_int.h"
#include "net/irc/sts.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STS_NS "irc.sts"

static bool digits(const char *v, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t x = 0;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		if (x > (UINT64_MAX - 9) / 10)
			x = UINT64_MAX;
		else
			x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*out = x > max ? max + 1 : x;
	return true;
}

int irc_sts_parse(const char *v, size_t n, struct irc_sts_val *out)
{
	const char *end = v + n;

	memset(out, 0, sizeof(*out));
	while (v < end) {
		const char *comma = memchr(v, ',', (size_t)(end - v)), *eq;
		size_t len = comma ? (size_t)(comma - v) : (size_t)(end - v);
		uint64_t x;

		eq = memchr(v, '=', len);
		if (eq && (size_t)(eq - v) == 4 && strncmp(v, "port", 4) == 0) {
			if (!digits(eq + 1, len - 5, 65535, &x) || x == 0 || x > 65535)
				return HE_INVAL;
			out->has_port = true;
			out->port = (int)x;
		} else if (eq && (size_t)(eq - v) == 8 && strncmp(v, "duration", 8) == 0) {
			if (!digits(eq + 1, len - 9, IRC_STS_DURATION_MAX, &x))
				return HE_INVAL;
			out->has_duration = true;
			out->duration = x > IRC_STS_DURATION_MAX ? IRC_STS_DURATION_MAX : x;
		}
		v += len + (comma ? 1 : 0);
	}
	return HE_OK;
}

/* The store key: the host in lower case. */
static void host_key(const struct irc *c, char *out, size_t outlen)
{
	size_t i = 0;

	for (const char *h = c->cfg->host; *h && i + 1 < outlen; h++)
		out[i++] = (char)tolower((unsigned char)*h);
	out[i] = '\0';
}

bool irc_sts_policy(struct irc *c, int *port)
{
	char key[256], *val = NULL;
	unsigned long long expiry = 0;
	int p = 0;
	bool holds = false;

	host_key(c, key, sizeof(key));
	if (store_kv_get(c->app->store, STS_NS, key, &val) != HE_OK || !val)
		return false;
	if (sscanf(val, "%d %llu", &p, &expiry) == 2 && p > 0 && p <= 65535) {
		if ((unsigned long long)time(NULL) < expiry) {
			*port = p;
			holds = true;
		} else {
			hlog_info("irc", "%s: the STS policy for %s has expired", c->net, c->cfg->host);
			store_kv_del(c->app->store, STS_NS, key);
		}
	} else {
		store_kv_del(c->app->store, STS_NS, key);
	}
	free(val);
	return holds;
}

void irc_sts_on_cap(struct irc *c, const char *value, size_t n)
{
	struct irc_sts_val v;
	char key[256], val[64];

	if (irc_sts_parse(value, n, &v) != HE_OK) {
		hlog_warn("irc", "%s: the server's sts policy is malformed; ignored", c->net);
		return;
	}
	if (!c->conn.tls) {
		/* plain text: only an upgrade, nothing stored (the policy could be forged) */
		if (!v.has_port)
			return;
		hlog_info("irc", "%s: the server asks for TLS (STS) on port %d: reconnecting with TLS now",
			  c->net, v.port);
		c->sts_port = v.port;
		c->sts_upgrade = true;
		return;
	}
	if (!v.has_duration)
		return;
	host_key(c, key, sizeof(key));
	if (v.duration == 0) {
		if (store_kv_del(c->app->store, STS_NS, key) == HE_OK)
			hlog_info("irc", "%s: the server removed its STS policy (duration=0)", c->net);
		c->sts_port = 0;
		return;
	}
	snprintf(val, sizeof(val), "%d %llu", c->conn.port,
		 (unsigned long long)time(NULL) + (unsigned long long)v.duration);
	if (store_kv_set(c->app->store, STS_NS, key, val) != HE_OK)
		hlog_warn("irc", "%s: cannot store the STS policy; it holds until Hearth stops", c->net);
	else
		hlog_info("irc", "%s: STS policy for %s: TLS only (port %d) for %" PRIu64 " s", c->net,
			  c->cfg->host, c->conn.port, v.duration);
	c->sts_port = c->conn.port;
}
