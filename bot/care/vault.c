/* vault.c - the mood key file and XChaCha20-Poly1305 sealing (see vault.h). */
#include "care/vault.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct vault {
	unsigned char *key;   /* sodium_malloc'd, VAULT_KEY_BYTES */
};

static int vault_alloc(struct vault **out)
{
	struct vault *v;

	*out = NULL;
	if (sodium_init() < 0) {
		hlog_error("vault", "libsodium could not start");
		return HE_CRYPTO;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return HE_NOMEM;
	v->key = sodium_malloc(VAULT_KEY_BYTES);
	if (!v->key) {
		free(v);
		return HE_NOMEM;
	}
	*out = v;
	return HE_OK;
}

int vault_from_key(const unsigned char key[VAULT_KEY_BYTES], struct vault **out)
{
	int rc = vault_alloc(out);

	if (rc == HE_OK)
		memcpy((*out)->key, key, VAULT_KEY_BYTES);
	return rc;
}

void vault_free(struct vault *v)
{
	if (!v)
		return;
	sodium_free(v->key); /* zeroes the memory before releasing it */
	free(v);
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return HE_IO;
		}
		p += n;
		len -= (size_t)n;
	}
	return HE_OK;
}

/* Creates a new key file; O_EXCL so that a file appearing meanwhile is never overwritten. */
static int create_key(const char *path, struct vault *v)
{
	int fd, rc;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		hlog_error("vault", "cannot create the mood key file %s: %s", path, strerror(errno));
		return HE_IO;
	}
	/* The umask cannot widen 0600, but be explicit in case the file system ignores modes. */
	if (fchmod(fd, 0600) < 0) {
		hlog_error("vault", "cannot set mode 0600 on the mood key file %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return HE_IO;
	}
	randombytes_buf(v->key, VAULT_KEY_BYTES);
	rc = write_all(fd, v->key, VAULT_KEY_BYTES);
	if (rc == HE_OK && fsync(fd) < 0)
		rc = HE_IO;
	if (close(fd) < 0)
		rc = HE_IO;
	if (rc) {
		hlog_error("vault", "cannot write the mood key file %s: %s", path, strerror(errno));
		unlink(path);
		return rc;
	}
	hlog_info("vault", "created a new mood key file %s (mode 0600); back it up with the database, "
		  "without it notes cannot be read", path);
	return HE_OK;
}

static int read_key(const char *path, int fd, struct vault *v)
{
	struct stat st;
	size_t got = 0;

	if (fstat(fd, &st) < 0) {
		hlog_error("vault", "cannot check the mood key file %s: %s", path, strerror(errno));
		return HE_IO;
	}
	if (!S_ISREG(st.st_mode)) {
		hlog_error("vault", "the mood key file %s is not a regular file; point [mood] key_file at a "
			   "file Hearth created", path);
		return HE_INVAL;
	}
	if (st.st_uid != geteuid()) {
		hlog_error("vault", "the mood key file %s belongs to another user; it must be owned by the "
			   "user Hearth runs as", path);
		return HE_PERM;
	}
	if (st.st_mode & 077) {
		hlog_error("vault", "the mood key file %s can be read by others (mode %03o); refusing to "
			   "start. Run: chmod 600 %s", path, (unsigned)(st.st_mode & 0777), path);
		return HE_PERM;
	}
	if (st.st_size != VAULT_KEY_BYTES) {
		hlog_error("vault", "the mood key file %s has %lld bytes, a key has %d; it is damaged or "
			   "not a Hearth key. Restore it from your backup", path, (long long)st.st_size,
			   VAULT_KEY_BYTES);
		return HE_INVAL;
	}
	while (got < VAULT_KEY_BYTES) {
		ssize_t n = read(fd, v->key + got, VAULT_KEY_BYTES - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			hlog_error("vault", "cannot read the mood key file %s", path);
			return HE_IO;
		}
		got += (size_t)n;
	}
	return HE_OK;
}

int vault_open(const char *path, struct vault **out)
{
	struct vault *v = NULL;
	int fd = -1, rc;

	*out = NULL;
	if (!path || !*path)
		return HE_INVAL;
	if ((rc = vault_alloc(&v)))
		return rc;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		rc = create_key(path, v);
	} else if (fd < 0) {
		hlog_error("vault", "cannot open the mood key file %s: %s", path, strerror(errno));
		rc = errno == ELOOP ? HE_INVAL : HE_IO;
	} else {
		rc = read_key(path, fd, v);
		close(fd);
	}
	if (rc)
		goto out;
	*out = v;
	v = NULL;
out:
	vault_free(v);
	return rc;
}

int vault_seal(const struct vault *v, const void *plain, size_t len, const void *ad, size_t adlen,
	       unsigned char nonce[VAULT_NONCE_BYTES], unsigned char **out, size_t *outlen)
{
	unsigned long long clen = 0;
	unsigned char *c;

	*out = NULL;
	*outlen = 0;
	if (len > SIZE_MAX - VAULT_TAG_BYTES)
		return HE_TOOBIG;
	c = malloc(len + VAULT_TAG_BYTES);
	if (!c)
		return HE_NOMEM;
	randombytes_buf(nonce, VAULT_NONCE_BYTES);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(c, &clen, plain, len, ad, adlen, NULL, nonce,
						       v->key) != 0) {
		free(c);
		return HE_CRYPTO;
	}
	*out = c;
	*outlen = (size_t)clen;
	return HE_OK;
}

int vault_unseal(const struct vault *v, const void *cipher, size_t len, const void *ad, size_t adlen,
		 const unsigned char nonce[VAULT_NONCE_BYTES], char **out, size_t *outlen)
{
	unsigned long long plen = 0;
	unsigned char *p;

	*out = NULL;
	*outlen = 0;
	if (len < VAULT_TAG_BYTES)
		return HE_INVAL;
	p = malloc(len - VAULT_TAG_BYTES + 1);
	if (!p)
		return HE_NOMEM;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(p, &plen, NULL, cipher, len, ad, adlen, nonce,
						       v->key) != 0) {
		free(p);
		return HE_CRYPTO;
	}
	p[plen] = '\0';
	*out = (char *)p;
	*outlen = (size_t)plen;
	return HE_OK;
}

void vault_keycheck(const struct vault *v, unsigned char out[32])
{
	store_keycheck_of(v->key, VAULT_KEY_BYTES, "mood", out);
}
