/* conn.c - non-blocking TCP and TLS (OpenSSL) for the IRC transport. */
#include "net/irc/conn.h"
#include "core/err.h"
#include "core/log.h"
#include "core/loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <unistd.h>

void irc_conn_init(struct irc_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void ssl_errstr(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s%s%s", what, *buf ? ": " : "", buf);
	ERR_clear_error();
}

static bool is_ip(const char *host)
{
	unsigned char b[16];
	return inet_pton(AF_INET, host, b) == 1 || inet_pton(AF_INET6, host, b) == 1;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int irc_fp_parse(const char *s, unsigned char pins[][IRC_FP_LEN], size_t max, size_t *n)
{
	*n = 0;
	while (*s) {
		size_t k = 0;
		int hi = -1;

		while (*s == ' ')
			s++;
		if (strncasecmp(s, "sha256:", 7) != 0 || *n >= max)
			return HE_INVAL;
		for (s += 7; *s && *s != ','; s++) {
			int v = hexval((unsigned char)*s);
			if (v < 0) {
				if (*s == ':' || *s == ' ')
					continue;
				return HE_INVAL;
			}
			if (k >= IRC_FP_LEN)
				return HE_INVAL;
			if (hi < 0) {
				hi = v;
			} else {
				pins[*n][k++] = (unsigned char)(hi << 4 | v);
				hi = -1;
			}
		}
		if (k != IRC_FP_LEN || hi >= 0)
			return HE_INVAL;
		(*n)++;
		if (*s == ',')
			s++;
	}
	return *n ? HE_OK : HE_INVAL;
}

void irc_fp_format(const unsigned char fp[IRC_FP_LEN], char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	if (outlen < IRC_FP_TEXT) {
		if (outlen)
			*out = '\0';
		return;
	}
	memcpy(out, "sha256:", 7);
	o = 7;
	for (size_t i = 0; i < IRC_FP_LEN; i++) {
		if (i)
			out[o++] = ':';
		out[o++] = hex[fp[i] >> 4];
		out[o++] = hex[fp[i] & 15];
	}
	out[o] = '\0';
}

/* With pins, this replaces OpenSSL's chain verification: the leaf certificate's SHA-256 (of its
 * whole DER) must be one of them. Nothing else is checked: a pinned self-signed or expired
 * certificate is the one the operator chose. Runs inside the handshake, before any IRC byte. */
static int verify_pinned(X509_STORE_CTX *x, void *arg)
{
	struct irc_conn *c = arg;
	X509 *cert = X509_STORE_CTX_get0_cert(x);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	c->seen_fp[0] = '\0';
	if (!cert || X509_digest(cert, EVP_sha256(), md, &mdlen) != 1 || mdlen != IRC_FP_LEN) {
		X509_STORE_CTX_set_error(x, X509_V_ERR_UNSPECIFIED);
		return 0;
	}
	irc_fp_format(md, c->seen_fp, sizeof(c->seen_fp));
	for (size_t i = 0; i < c->npins; i++)
		if (CRYPTO_memcmp(md, c->pins[i], IRC_FP_LEN) == 0) {
			X509_STORE_CTX_set_error(x, X509_V_OK);
			return 1;
		}
	X509_STORE_CTX_set_error(x, X509_V_ERR_CERT_REJECTED);
	return 0;
}

static int tls_setup(struct irc_conn *c, char *err, size_t errlen)
{
	const struct config_irc *cfg = c->cfg;
	bool pinned = cfg->tls_fingerprint && *cfg->tls_fingerprint;

	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx) {
		ssl_errstr(err, errlen, "cannot create a TLS context");
		return HE_CRYPTO;
	}
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	c->npins = 0;
	c->seen_fp[0] = '\0';
	if (pinned) {
		if (irc_fp_parse(cfg->tls_fingerprint, c->pins, IRC_FP_MAX, &c->npins) != HE_OK) {
			snprintf(err, errlen, "tls_fingerprint must be sha256: and 64 hex digits, up to %d "
				 "separated by commas", IRC_FP_MAX);
			return HE_CRYPTO;
		}
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
		SSL_CTX_set_cert_verify_callback(c->ctx, verify_pinned, c);
	} else if (cfg->tls_verify || c->sts) {
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
		if (cfg->tls_ca_file) {
			if (SSL_CTX_load_verify_locations(c->ctx, cfg->tls_ca_file, NULL) != 1) {
				snprintf(err, errlen, "cannot read tls_ca_file %s (a PEM file of CA certificates)",
					 cfg->tls_ca_file);
				ERR_clear_error();
				return HE_CRYPTO;
			}
		} else if (SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
			ssl_errstr(err, errlen, "cannot load the system's CA certificates");
			return HE_CRYPTO;
		}
	} else {
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
	}
	if (cfg->tls_cert_file) {
		const char *key = cfg->tls_key_file ? cfg->tls_key_file : cfg->tls_cert_file;
		if (SSL_CTX_use_certificate_chain_file(c->ctx, cfg->tls_cert_file) != 1) {
			snprintf(err, errlen, "cannot read the client certificate tls_cert_file %s (PEM)",
				 cfg->tls_cert_file);
			ERR_clear_error();
			return HE_CRYPTO;
		}
		if (SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(c->ctx) != 1) {
			snprintf(err, errlen, "cannot use the private key in %s (missing, or not the key "
				 "of the client certificate)", key);
			ERR_clear_error();
			return HE_CRYPTO;
		}
	}
	c->ssl = SSL_new(c->ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
		ssl_errstr(err, errlen, "cannot create a TLS session");
		return HE_CRYPTO;
	}
	if ((cfg->tls_verify || c->sts) && !pinned) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
		X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (is_ip(cfg->host) ? X509_VERIFY_PARAM_set1_ip_asc(vp, cfg->host) != 1
				     : SSL_set1_host(c->ssl, cfg->host) != 1) {
			ssl_errstr(err, errlen, "cannot set the host name to verify");
			return HE_CRYPTO;
		}
	}
	if (!is_ip(cfg->host))
		SSL_set_tlsext_host_name(c->ssl, cfg->host);
	SSL_set_connect_state(c->ssl);
	c->handshaking = true;
	return HE_OK;
}

static int try_connect(struct irc_conn *c, char *err, size_t errlen)
{
	while (c->ai_next) {
		struct addrinfo *a = c->ai_next;
		int one = 1;

		c->ai_next = a->ai_next;
		c->fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
		if (c->fd < 0)
			continue;
		c->gen++;
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(c->fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
			c->connecting = true;
			return HE_AGAIN;
		}
		snprintf(err, errlen, "cannot connect to %s port %d: %s", c->cfg->host, c->port,
			 strerror(errno));
		close(c->fd);
		c->fd = -1;
	}
	if (!*err)
		snprintf(err, errlen, "cannot connect to %s port %d", c->cfg->host, c->port);
	return HE_IO;
}

int irc_conn_open(struct irc_conn *c, const struct config_irc *cfg, int port, bool tls, bool sts,
		  char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC };
	char service[16];
	int rc;

	irc_conn_close(c);
	c->cfg = cfg;
	c->port = port;
	c->tls = tls || sts;
	c->sts = sts;
	*err = '\0';
	snprintf(service, sizeof(service), "%d", c->port);
	/* synchronous: the configured servers are names the resolver answers quickly */
	rc = getaddrinfo(cfg->host, service, &hints, &c->ai);
	if (rc) {
		snprintf(err, errlen, "cannot resolve %s: %s", cfg->host, gai_strerror(rc));
		c->ai = NULL;
		return HE_IO;
	}
	c->ai_next = c->ai;
	return try_connect(c, err, errlen);
}

static const char *verify_hint(long v)
{
	switch (v) {
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
		return " (for a private CA set tls_ca_file to its certificate)";
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		return " (host must be a name the certificate was issued for)";
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return " (the server's certificate has expired or is not valid yet: its operator must "
		       "renew it, or this machine's clock is wrong)";
	default:
		return "";
	}
}

/* An SSL_ERROR_WANT_* from OpenSSL: the call is to be repeated when the socket is ready (for
 * writing when it wants to write; c->ssl_wants_write tells the loop). */
static bool ssl_would_block(struct irc_conn *c, int e)
{
	if (e == SSL_ERROR_WANT_WRITE) {
		c->ssl_wants_write = true;
		return true;
	}
	return e == SSL_ERROR_WANT_READ;
}

static int handshake(struct irc_conn *c, char *err, size_t errlen)
{
	int r = SSL_do_handshake(c->ssl), e;

	c->ssl_wants_write = false;
	if (r == 1) {
		c->handshaking = false;
		hlog_info("irc", "%s:%d: TLS %s, %s, certificate %s%s", c->cfg->host, c->port,
			  SSL_get_version(c->ssl), SSL_get_cipher_name(c->ssl),
			  c->npins ? "pinned " : c->cfg->tls_verify || c->sts ? "verified" : "NOT verified (tls_verify = false)",
			  c->npins ? c->seen_fp : "");
		return HE_OK;
	}
	e = SSL_get_error(c->ssl, r);
	if (ssl_would_block(c, e))
		return HE_AGAIN;
	if (c->npins && SSL_get_verify_result(c->ssl) == X509_V_ERR_CERT_REJECTED) {
		snprintf(err, errlen, "TLS certificate of %s:%d refused: its fingerprint %s is not one of "
			 "tls_fingerprint", c->cfg->host, c->port, c->seen_fp);
		ERR_clear_error();
	} else if (SSL_get_verify_result(c->ssl) != X509_V_OK) {
		long v = SSL_get_verify_result(c->ssl);
		snprintf(err, errlen, "TLS certificate of %s:%d refused: %s%s", c->cfg->host, c->port,
			 X509_verify_cert_error_string(v), verify_hint(v));
		ERR_clear_error();
	} else {
		char what[160];
		snprintf(what, sizeof(what), "TLS handshake with %s:%d failed", c->cfg->host, c->port);
		ssl_errstr(err, errlen, what);
	}
	return HE_CRYPTO;
}

int irc_conn_step(struct irc_conn *c, char *err, size_t errlen)
{
	int rc;

	if (c->fd < 0)
		return HE_IO;
	if (c->connecting) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			soerr = errno;
		if (soerr == EINPROGRESS || soerr == EALREADY)
			return HE_AGAIN;
		if (soerr) {
			snprintf(err, errlen, "cannot connect to %s port %d: %s", c->cfg->host, c->port,
				 strerror(soerr));
			close(c->fd);
			c->fd = -1;
			c->connecting = false;
			rc = try_connect(c, err, errlen);
			return rc == HE_AGAIN ? HE_AGAIN : rc;
		}
		/* a non-blocking connect completes with writability; check it really did */
		{
			struct sockaddr_storage ss;
			socklen_t l = sizeof(ss);
			if (getpeername(c->fd, (struct sockaddr *)&ss, &l) < 0)
				return HE_AGAIN;
		}
		c->connecting = false;
		if (c->tls && (rc = tls_setup(c, err, errlen)))
			return rc;
	}
	if (c->handshaking)
		return handshake(c, err, errlen);
	return HE_OK;
}

bool irc_conn_ready(const struct irc_conn *c)
{
	return c->fd >= 0 && !c->connecting && !c->handshaking;
}

int irc_conn_read(struct irc_conn *c, char *buf, size_t cap, size_t *n, char *err, size_t errlen)
{
	*n = 0;
	if (c->ssl) {
		int r = SSL_read(c->ssl, buf, (int)cap), e;
		if (r > 0) {
			*n = (size_t)r;
			return HE_OK;
		}
		e = SSL_get_error(c->ssl, r);
		if (ssl_would_block(c, e))
			return HE_AGAIN;
		if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && r == 0))
			snprintf(err, errlen, "the server closed the connection");
		else
			ssl_errstr(err, errlen, "TLS read failed");
		return HE_IO;
	}
	for (;;) {
		ssize_t r = read(c->fd, buf, cap);
		if (r > 0) {
			*n = (size_t)r;
			return HE_OK;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return HE_AGAIN;
		snprintf(err, errlen, "%s", r == 0 ? "the server closed the connection" : strerror(errno));
		return HE_IO;
	}
}

int irc_conn_flush(struct irc_conn *c, char *err, size_t errlen)
{
	size_t off = 0;
	int rc = HE_OK;

	if (!irc_conn_ready(c))
		return c->out.len ? HE_AGAIN : HE_OK;
	c->ssl_wants_write = false;
	while (off < c->out.len) {
		size_t left = c->out.len - off;
		if (c->ssl) {
			int r = SSL_write(c->ssl, c->out.data + off, (int)left), e;
			if (r > 0) {
				off += (size_t)r;
				continue;
			}
			e = SSL_get_error(c->ssl, r);
			if (ssl_would_block(c, e)) {
				rc = HE_AGAIN;
				break;
			}
			ssl_errstr(err, errlen, "TLS write failed");
			rc = HE_IO;
			break;
		} else {
			ssize_t r = send(c->fd, c->out.data + off, left, MSG_NOSIGNAL);
			if (r >= 0) {
				off += (size_t)r;
				continue;
			}
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				rc = HE_AGAIN;
				break;
			}
			snprintf(err, errlen, "write failed: %s", strerror(errno));
			rc = HE_IO;
			break;
		}
	}
	if (off) {
		memmove(c->out.data, c->out.data + off, c->out.len - off);
		c->out.len -= off;
		c->out.data[c->out.len] = '\0';
	}
	return rc;
}

unsigned irc_conn_events(const struct irc_conn *c)
{
	unsigned ev = LOOP_READ;

	if (c->connecting || c->ssl_wants_write || (irc_conn_ready(c) && c->out.len))
		ev |= LOOP_WRITE;
	return ev;
}

void irc_conn_close(struct irc_conn *c)
{
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->ctx) {
		SSL_CTX_free(c->ctx);
		c->ctx = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->ai)
		freeaddrinfo(c->ai);
	c->ai = c->ai_next = NULL;
	c->connecting = c->handshaking = c->ssl_wants_write = false;
	hbuf_free(&c->out);
}
