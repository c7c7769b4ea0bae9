/* sasl.h - the SASL mechanisms beyond PLAIN and EXTERNAL, without I/O (reg.c drives them):
 * SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) and ECDSA-NIST256P-CHALLENGE (as Atheme
 * offers it). OpenSSL does every primitive (PBKDF2, HMAC, the hashes, ECDSA); libsodium makes the
 * nonce. Everything a server sends is checked before use; any doubt fails closed. */
#ifndef HEARTH_IRC_SASL_H
#define HEARTH_IRC_SASL_H

#include <stdbool.h>
#include <stddef.h>

#define IRC_SASL_IN_MAX 4096          /* base64 bytes accepted in one server SASL message */
#define IRC_SCRAM_ITER_MIN 4096       /* RFC 7677: at least 4096 */
#define IRC_SCRAM_ITER_MAX 600000     /* more would stall the event loop for a second or more */
#define IRC_SCRAM_SALT_MAX 128
#define IRC_ECDSA_CHALLENGE 32

/* A server's SASL message, sent in AUTHENTICATE chunks of 400 (a shorter chunk or "+" ends it). */
struct irc_sasl_in {
	char b64[IRC_SASL_IN_MAX + 1];
	size_t len;
};

/* Adds one AUTHENTICATE parameter. HE_AGAIN: more chunks follow. HE_OK: *out (malloc'd, also
 * NUL-terminated, the caller frees) holds the decoded message of *outlen bytes (0 for "+").
 * HE_TOOBIG over IRC_SASL_IN_MAX, HE_PROTO for bad base64. The reassembly then starts over. */
int irc_sasl_in_add(struct irc_sasl_in *in, const char *param, unsigned char **out, size_t *outlen);

/* Base64 (standard alphabet, padded) of len bytes; malloc'd, NULL when out of memory. */
char *irc_b64(const void *data, size_t len);

enum irc_scram_state { IRC_SCRAM_NEW, IRC_SCRAM_FIRST, IRC_SCRAM_FINAL, IRC_SCRAM_VERIFIED };

struct irc_scram {
	enum irc_scram_state state;
	int bits;                     /* 256 or 512 */
	char *first_bare;             /* "n=USER,r=CNONCE" */
	char cnonce[48];
	unsigned char server_sig[64]; /* what the server must send back in v= */
};

/* bits: 256 or 512. *client_first (malloc'd) is the first message, "n,,n=USER,r=CNONCE". */
int irc_scram_start(struct irc_scram *s, int bits, const char *user, char **client_first);
/* The server-first message: checks the nonce, salt and iteration count, derives the keys and
 * returns the client-final message with its proof. err says what was wrong. */
int irc_scram_server_first(struct irc_scram *s, const char *password, const unsigned char *msg,
			   size_t len, char **client_final, char *err, size_t errlen);
/* The server-final message: HE_OK only when v= is the server signature expected (the server
 * knows the password); HE_CRYPTO when it is wrong; HE_PERM for e=; HE_PROTO otherwise. */
int irc_scram_server_final(struct irc_scram *s, const unsigned char *msg, size_t len, char *err,
			   size_t errlen);
void irc_scram_free(struct irc_scram *s);

/* ECDSA-NIST256P-CHALLENGE: signs the server's 32-byte challenge with the P-256 key in the PEM
 * file at path, which must be a regular file only its owner can read (mode 0600 or 0400).
 * *sig (malloc'd) is the DER signature. */
int irc_ecdsa_sign_file(const char *path, const unsigned char *challenge, size_t len,
			unsigned char **sig, size_t *siglen, char *err, size_t errlen);

#endif
