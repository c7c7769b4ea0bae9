/* sasl.c - SCRAM-SHA-256/512 and ECDSA-NIST256P-CHALLENGE for IRC SASL (see sasl.h). */
#include "net/irc/sasl.h"
#include "core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- base64 and framing */

char *irc_b64(const void *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (out)
		EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

/* Strict standard base64 (padding required, no spaces): malloc'd bytes + NUL. */
static int b64_decode(const char *s, size_t n, unsigned char **out, size_t *outlen)
{
	unsigned char *b;
	size_t bin = 0;

	*out = NULL;
	*outlen = 0;
	b = malloc(n / 4 * 3 + 2);
	if (!b)
		return HE_NOMEM;
	if (n % 4 || sodium_base642bin(b, n / 4 * 3 + 1, s, n, NULL, &bin, NULL,
				       sodium_base64_VARIANT_ORIGINAL) != 0) {
		free(b);
		return HE_PROTO;
	}
	b[bin] = '\0';
	*out = b;
	*outlen = bin;
	return HE_OK;
}

int irc_sasl_in_add(struct irc_sasl_in *in, const char *param, unsigned char **out, size_t *outlen)
{
	size_t n = strlen(param);
	int rc;

	*out = NULL;
	*outlen = 0;
	if (strcmp(param, "+") == 0)
		n = 0;
	if (n > 400 || in->len + n > IRC_SASL_IN_MAX) {
		in->len = 0;
		return HE_TOOBIG;
	}
	memcpy(in->b64 + in->len, param, n);
	in->len += n;
	in->b64[in->len] = '\0';
	if (n == 400)
		return HE_AGAIN;
	rc = b64_decode(in->b64, in->len, out, outlen);
	in->len = 0;
	return rc;
}

/* ---------------------------------------------------------------- SCRAM */

static const EVP_MD *scram_md(int bits)
{
	return bits == 512 ? EVP_sha512() : EVP_sha256();
}

/* saslname: '=' as "=3D" and ',' as "=2C" (RFC 5802 5.1). */
static char *saslname(const char *user)
{
	size_t n = 0;
	char *out, *o;

	for (const char *p = user; *p; p++)
		n += *p == '=' || *p == ',' ? 3 : 1;
	if (!(out = malloc(n + 1)))
		return NULL;
	o = out;
	for (const char *p = user; *p; p++) {
		if (*p == '=' || *p == ',') {
			memcpy(o, *p == '=' ? "=3D" : "=2C", 3);
			o += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

int irc_scram_start(struct irc_scram *s, int bits, const char *user, char **client_first)
{
	unsigned char raw[24];
	char *name = NULL;
	int rc = HE_NOMEM;

	memset(s, 0, sizeof(*s));
	*client_first = NULL;
	s->bits = bits == 512 ? 512 : 256;
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(s->cnonce, sizeof(s->cnonce), raw, sizeof(raw), sodium_base64_VARIANT_ORIGINAL);
	if (!(name = saslname(user)))
		goto out;
	if (asprintf(&s->first_bare, "n=%s,r=%s", name, s->cnonce) < 0) {
		s->first_bare = NULL;
		goto out;
	}
	if (asprintf(client_first, "n,,%s", s->first_bare) < 0) {
		*client_first = NULL;
		goto out;
	}
	s->state = IRC_SCRAM_FIRST;
	rc = HE_OK;
out:
	free(name);
	return rc;
}

/* The value of attribute a at *p ("a=VALUE," or "a=VALUE" at the end); moves *p past it. */
static bool attr(const char **p, const char *end, char a, const char **v, size_t *vlen)
{
	const char *q = *p, *comma;

	if (end - q < 2 || q[0] != a || q[1] != '=')
		return false;
	q += 2;
	comma = memchr(q, ',', (size_t)(end - q));
	*v = q;
	*vlen = comma ? (size_t)(comma - q) : (size_t)(end - q);
	*p = comma ? comma + 1 : end;
	return true;
}

static bool printable_nonce(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] < 0x21 || v[i] > 0x7e || v[i] == ',')
			return false;
	return n > 0;
}

static int hmac(const EVP_MD *md, const unsigned char *key, size_t klen, const void *data, size_t dlen,
		unsigned char *out)
{
	unsigned int n = 0;
	return HMAC(md, key, (int)klen, data, dlen, out, &n) ? HE_OK : HE_CRYPTO;
}

int irc_scram_server_first(struct irc_scram *s, const char *password, const unsigned char *msg,
			   size_t len, char **client_final, char *err, size_t errlen)
{
	const EVP_MD *md = scram_md(s->bits);
	size_t mdlen = (size_t)EVP_MD_get_size(md), rlen, slen, ilen, saltlen = 0;
	const char *p = (const char *)msg, *end = p + len, *r, *sv, *iv;
	unsigned char *salt = NULL, salted[64], ckey[64], stored[64], csig[64], proof[64], skey[64];
	char *without = NULL, *auth = NULL, *proof64 = NULL;
	unsigned long iter = 0;
	int rc = HE_PROTO;

	*client_final = NULL;
	if (s->state != IRC_SCRAM_FIRST) {
		he_fmt(err, errlen, "a SCRAM challenge out of turn");
		return HE_PROTO;
	}
	if (memchr(msg, '\0', len)) {
		he_fmt(err, errlen, "the SCRAM challenge holds a NUL byte");
		goto out;
	}
	if (!attr(&p, end, 'r', &r, &rlen) || !attr(&p, end, 's', &sv, &slen) ||
	    !attr(&p, end, 'i', &iv, &ilen)) {
		he_fmt(err, errlen, "the SCRAM challenge is not r=...,s=...,i=...");
		goto out;
	}
	/* the server's nonce extends ours */
	if (rlen <= strlen(s->cnonce) || memcmp(r, s->cnonce, strlen(s->cnonce)) != 0 ||
	    !printable_nonce(r, rlen)) {
		he_fmt(err, errlen, "the SCRAM nonce does not continue ours");
		goto out;
	}
	if (slen == 0 || slen > IRC_SCRAM_SALT_MAX * 2 || b64_decode(sv, slen, &salt, &saltlen) != HE_OK ||
	    saltlen == 0 || saltlen > IRC_SCRAM_SALT_MAX) {
		he_fmt(err, errlen, "the SCRAM salt is not valid base64 of 1 to %d bytes", IRC_SCRAM_SALT_MAX);
		goto out;
	}
	if (ilen == 0 || ilen > 9) {
		he_fmt(err, errlen, "the SCRAM iteration count is not a number from %d to %d",
		       IRC_SCRAM_ITER_MIN, IRC_SCRAM_ITER_MAX);
		goto out;
	}
	for (size_t i = 0; i < ilen; i++) {
		if (iv[i] < '0' || iv[i] > '9') {
			he_fmt(err, errlen, "the SCRAM iteration count is not a number from %d to %d",
			       IRC_SCRAM_ITER_MIN, IRC_SCRAM_ITER_MAX);
			goto out;
		}
		iter = iter * 10 + (unsigned long)(iv[i] - '0');
	}
	if (iter < IRC_SCRAM_ITER_MIN || iter > IRC_SCRAM_ITER_MAX) {
		he_fmt(err, errlen, "the SCRAM iteration count %lu is outside %d to %d", iter,
		       IRC_SCRAM_ITER_MIN, IRC_SCRAM_ITER_MAX);
		goto out;
	}
	rc = HE_NOMEM;
	if (asprintf(&without, "c=biws,r=%.*s", (int)rlen, r) < 0) {
		without = NULL;
		goto out;
	}
	if (asprintf(&auth, "%s,%.*s,%s", s->first_bare, (int)len, (const char *)msg, without) < 0) {
		auth = NULL;
		goto out;
	}
	rc = HE_CRYPTO;
	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)saltlen, (int)iter, md,
			      (int)mdlen, salted) != 1 ||
	    hmac(md, salted, mdlen, "Client Key", 10, ckey) || EVP_Digest(ckey, mdlen, stored, NULL, md, NULL) != 1 ||
	    hmac(md, stored, mdlen, auth, strlen(auth), csig) ||
	    hmac(md, salted, mdlen, "Server Key", 10, skey) ||
	    hmac(md, skey, mdlen, auth, strlen(auth), s->server_sig)) {
		he_fmt(err, errlen, "OpenSSL could not derive the SCRAM keys");
		goto out;
	}
	for (size_t i = 0; i < mdlen; i++)
		proof[i] = ckey[i] ^ csig[i];
	rc = HE_NOMEM;
	if (!(proof64 = irc_b64(proof, mdlen)))
		goto out;
	if (asprintf(client_final, "%s,p=%s", without, proof64) < 0) {
		*client_final = NULL;
		goto out;
	}
	s->state = IRC_SCRAM_FINAL;
	rc = HE_OK;
out:
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(ckey, sizeof(ckey));
	OPENSSL_cleanse(stored, sizeof(stored));
	OPENSSL_cleanse(csig, sizeof(csig));
	OPENSSL_cleanse(proof, sizeof(proof));
	OPENSSL_cleanse(skey, sizeof(skey));
	free(salt);
	free(without);
	free(auth);
	free(proof64);
	return rc;
}

int irc_scram_server_final(struct irc_scram *s, const unsigned char *msg, size_t len, char *err,
			   size_t errlen)
{
	size_t mdlen = (size_t)EVP_MD_get_size(scram_md(s->bits)), vlen, siglen = 0;
	const char *p = (const char *)msg, *end = p + len, *v;
	unsigned char *sig = NULL;
	int rc = HE_PROTO;

	if (s->state != IRC_SCRAM_FINAL) {
		he_fmt(err, errlen, "a SCRAM message out of turn");
		return HE_PROTO;
	}
	s->state = IRC_SCRAM_NEW;         /* one answer only, right or wrong */
	if (memchr(msg, '\0', len)) {
		he_fmt(err, errlen, "the SCRAM answer holds a NUL byte");
		goto out;
	}
	if (attr(&p, end, 'e', &v, &vlen)) {
		char shown[64];
		size_t n = 0;
		for (size_t i = 0; i < vlen && n + 1 < sizeof(shown); i++)
			shown[n++] = v[i] >= 0x20 && v[i] < 0x7f ? v[i] : '?';
		shown[n] = '\0';
		he_fmt(err, errlen, "the server refused the login (SCRAM e=%s)", shown);
		rc = HE_PERM;
		goto out;
	}
	if (!attr(&p, end, 'v', &v, &vlen) || b64_decode(v, vlen, &sig, &siglen) != HE_OK) {
		he_fmt(err, errlen, "the SCRAM answer is not v=BASE64");
		goto out;
	}
	if (siglen != mdlen || CRYPTO_memcmp(sig, s->server_sig, mdlen) != 0) {
		he_fmt(err, errlen, "the server's SCRAM signature is wrong: it does not know the password "
		       "(an impostor, or a man in the middle)");
		rc = HE_CRYPTO;
		goto out;
	}
	s->state = IRC_SCRAM_VERIFIED;
	rc = HE_OK;
out:
	free(sig);
	return rc;
}

void irc_scram_free(struct irc_scram *s)
{
	if (!s)
		return;
	free(s->first_bare);
	OPENSSL_cleanse(s, sizeof(*s));
	s->first_bare = NULL;
}

/* ---------------------------------------------------------------- ECDSA-NIST256P-CHALLENGE */

int irc_ecdsa_sign_file(const char *path, const unsigned char *challenge, size_t len,
			unsigned char **sig, size_t *siglen, char *err, size_t errlen)
{
	EVP_PKEY *key = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	FILE *f = NULL;
	struct stat st;
	char group[64] = "";
	int fd = -1, rc = HE_CRYPTO;

	*sig = NULL;
	*siglen = 0;
	if (len != IRC_ECDSA_CHALLENGE) {
		he_fmt(err, errlen, "the ECDSA challenge is %zu bytes, not %d", len, IRC_ECDSA_CHALLENGE);
		return HE_PROTO;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		he_fmt(err, errlen, "cannot open sasl_key_file %s: %s", path, strerror(errno));
		return HE_IO;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		he_fmt(err, errlen, "sasl_key_file %s is not a regular file", path);
		rc = HE_IO;
		goto out;
	}
	if (st.st_mode & 077) {
		he_fmt(err, errlen, "sasl_key_file %s can be read by others (mode %03o): chmod 600 it first",
		       path, (unsigned)(st.st_mode & 0777));
		rc = HE_PERM;
		goto out;
	}
	if (!(f = fdopen(fd, "r"))) {
		rc = HE_NOMEM;
		goto out;
	}
	fd = -1;
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
	    EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof(group), NULL) != 1 ||
	    (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0)) {
		he_fmt(err, errlen, "sasl_key_file %s is not a PEM P-256 (prime256v1) private key", path);
		goto out;
	}
	/* Atheme verifies the raw challenge as the digest: no hash on top */
	if (!(ctx = EVP_PKEY_CTX_new(key, NULL)) || EVP_PKEY_sign_init(ctx) != 1 ||
	    EVP_PKEY_sign(ctx, NULL, siglen, challenge, len) != 1 || !(*sig = malloc(*siglen)) ||
	    EVP_PKEY_sign(ctx, *sig, siglen, challenge, len) != 1) {
		free(*sig);
		*sig = NULL;
		*siglen = 0;
		he_fmt(err, errlen, "OpenSSL could not sign the ECDSA challenge");
		goto out;
	}
	rc = HE_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(key);
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	return rc;
}
