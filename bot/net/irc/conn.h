/* conn.h - one non-blocking TCP connection to an IRC server, with OpenSSL when configured.
 *
 * Driven by the event loop: irc_conn_events() says what to wait for, irc_conn_step() advances
 * the TCP connect and TLS handshake, irc_conn_read()/irc_conn_flush() move bytes. Certificates
 * are verified by default (chain, host name and dates, with SNI); with tls_fingerprint the
 * server's certificate must be one of the pinned ones instead (checked inside the handshake, so a
 * wrong one is refused before a byte of IRC is sent). Errors name the problem. */
#ifndef HEARTH_IRC_CONN_H
#define HEARTH_IRC_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/config.h"

struct addrinfo;
typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

#define IRC_FP_MAX 4             /* pinned fingerprints per network */
#define IRC_FP_LEN 32            /* SHA-256 */
#define IRC_FP_TEXT (IRC_FP_LEN * 3 + 8)   /* "sha256:AB:CD:..." */

struct irc_conn {
	int fd;                       /* -1 when closed */
	SSL_CTX *ctx;
	SSL *ssl;
	struct addrinfo *ai, *ai_next;
	const struct config_irc *cfg;
	int port;                     /* the port connected to (cfg->port, or an STS policy's) */
	bool tls;
	bool sts;                     /* TLS because of an STS policy */
	bool connecting;              /* TCP connect in progress */
	bool handshaking;             /* TLS handshake in progress */
	bool ssl_wants_write;         /* OpenSSL asked to wait for writability */
	struct hbuf out;              /* bytes not yet written */
	unsigned gen;                 /* counts sockets made (the fd may be replaced while connecting) */
	unsigned char pins[IRC_FP_MAX][IRC_FP_LEN];
	size_t npins;                 /* > 0: the certificate must be one of pins */
	char seen_fp[IRC_FP_TEXT];    /* the server's certificate fingerprint, as openssl prints it */
};

/* Parses tls_fingerprint ("sha256:HEX[,sha256:HEX]", colons and case free) into pins. */
int irc_fp_parse(const char *s, unsigned char pins[][IRC_FP_LEN], size_t max, size_t *n);
/* "sha256:AB:CD:..." of a 32-byte digest. */
void irc_fp_format(const unsigned char fp[IRC_FP_LEN], char *out, size_t outlen);

void irc_conn_init(struct irc_conn *c);
/* Resolves and starts connecting to cfg->host on port, with TLS when tls or sts; sts (a
 * strict transport security policy) also makes the certificate checks hold whatever tls_verify
 * says. err gets a message a person can act on. */
int irc_conn_open(struct irc_conn *c, const struct config_irc *cfg, int port, bool tls, bool sts,
		  char *err, size_t errlen);
/* Advances connect and handshake: HE_OK when ready for IRC, HE_AGAIN while in progress. */
int irc_conn_step(struct irc_conn *c, char *err, size_t errlen);
bool irc_conn_ready(const struct irc_conn *c);
/* Reads up to cap bytes: HE_OK with *n > 0, HE_AGAIN, HE_IO on EOF or error (err set). */
int irc_conn_read(struct irc_conn *c, char *buf, size_t cap, size_t *n, char *err, size_t errlen);
/* Writes buffered bytes: HE_OK when all are out, HE_AGAIN when some remain, HE_IO on error. */
int irc_conn_flush(struct irc_conn *c, char *err, size_t errlen);
/* LOOP_READ and/or LOOP_WRITE. */
unsigned irc_conn_events(const struct irc_conn *c);
void irc_conn_close(struct irc_conn *c);   /* safe to call twice; keeps nothing */

#endif
