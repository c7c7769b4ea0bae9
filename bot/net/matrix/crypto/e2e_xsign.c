/* e2e_xsign.c - cross-signing: the bot's master, self-signing and user-signing keys, made once
 * from random seeds, stored sealed (libsodium secretbox under a key derived from the pickle
 * key), uploaded with /keys/device_signing/upload (the transport adds UIA), then the bot's
 * device signed by the self-signing key and the master key signed by the device through
 * /keys/signatures/upload, so that clients that require cross-signed devices send it keys. */
#include "net/matrix/crypto/e2e_int.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SEED_LEN 32
#define NSEEDS 3 /* master, self-signing, user-signing */
#define SEALED_LEN (crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + SEED_LEN * NSEEDS)

enum { XS_NEW = 0, XS_KEYS_UPLOADED = 1, XS_DONE = 2 };

struct xs {
	char pub[NSEEDS][64];
	unsigned char seeds[NSEEDS * SEED_LEN];
	int state;
	bool have;
};

static int pk_pub(const unsigned char *seed, char out[64])
{
	void *mem = malloc(olm_pk_signing_size());
	OlmPkSigning *s;
	size_t plen = olm_pk_signing_public_key_length();
	int rc = HE_CRYPTO;

	if (!mem)
		return HE_NOMEM;
	s = olm_pk_signing(mem);
	if (plen < 64 && olm_pk_signing_key_from_seed(s, out, plen, seed, SEED_LEN) != olm_error()) {
		out[plen] = '\0';
		rc = HE_OK;
	}
	olm_clear_pk_signing(s);
	free(mem);
	return rc;
}

/* Adds the signature of the key made from seed (public key pub) to obj. */
static int pk_sign(struct e2e *e, const unsigned char *seed, const char *pub, json_t *obj)
{
	void *mem = malloc(olm_pk_signing_size());
	size_t plen = olm_pk_signing_public_key_length(), slen = olm_pk_signature_length();
	char pubbuf[64], *sig = malloc(slen + 1), *msg = e2e_canonical(obj), kid[80];
	json_t *sigs, *mine;
	OlmPkSigning *s = NULL;
	int rc = HE_NOMEM;

	if (!mem || !sig || !msg)
		goto out;
	s = olm_pk_signing(mem);
	rc = HE_CRYPTO;
	if (plen >= sizeof(pubbuf) ||
	    olm_pk_signing_key_from_seed(s, pubbuf, plen, seed, SEED_LEN) == olm_error() ||
	    olm_pk_sign(s, (const uint8_t *)msg, strlen(msg), (uint8_t *)sig, slen) == olm_error())
		goto out;
	sig[slen] = '\0';
	snprintf(kid, sizeof(kid), "ed25519:%s", pub);
	if (!(sigs = json_object_get(obj, "signatures")))
		json_object_set_new(obj, "signatures", sigs = json_object());
	if (!(mine = json_object_get(sigs, e->user_id)))
		json_object_set_new(sigs, e->user_id, mine = json_object());
	rc = json_object_set_new(mine, kid, json_string(sig)) ? HE_NOMEM : HE_OK;
out:
	if (s)
		olm_clear_pk_signing(s);
	free(mem);
	free(sig);
	free(msg);
	return rc;
}

static int xs_load(struct e2e *e, struct xs *x)
{
	struct db_stmt *st = e2e_stmt(e, "SELECT master, self_signing, user_signing, sealed, state FROM"
				    " e2e_xsign WHERE id = 1", "");
	int rc = HE_OK;

	memset(x, 0, sizeof(*x));
	if (!st)
		return HE_DB;
	if (db_step(st) == DB_ROW) {
		const unsigned char *blob = db_col_blob(st, 3);
		int blen = db_col_bytes(st, 3);
		for (int i = 0; i < NSEEDS; i++)
			snprintf(x->pub[i], sizeof(x->pub[i]), "%s",
				 db_col_text(st, i));
		x->state = db_col_int(st, 4);
		if (!blob || blen != (int)SEALED_LEN ||
		    crypto_secretbox_open_easy(x->seeds, blob + crypto_secretbox_NONCEBYTES,
					       SEALED_LEN - crypto_secretbox_NONCEBYTES, blob,
					       e->seal_key) != 0) {
			hlog_error(E2E_MOD, "the stored cross-signing keys cannot be opened: is this the "
				   "right encryption key file?");
			rc = HE_CRYPTO;
		}
		x->have = rc == HE_OK;
	}
	db_reset(st);
	return rc;
}

static int xs_create(struct e2e *e, struct xs *x)
{
	unsigned char sealed[SEALED_LEN];
	int rc;

	memset(x, 0, sizeof(*x));
	e2e_random(x->seeds, sizeof(x->seeds));
	for (int i = 0; i < NSEEDS; i++)
		if ((rc = pk_pub(x->seeds + i * SEED_LEN, x->pub[i])))
			return rc;
	e2e_random(sealed, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(sealed + crypto_secretbox_NONCEBYTES, x->seeds, sizeof(x->seeds), sealed,
			      e->seal_key);
	rc = e2e_sql(e, "INSERT INTO e2e_xsign (id, master, self_signing, user_signing, sealed, state)"
		     " VALUES (1, ?, ?, ?, ?, 0)", "sssb", x->pub[0], x->pub[1], x->pub[2], sealed,
		     (int)sizeof(sealed));
	x->have = rc == HE_OK;
	return rc;
}

static json_t *key_obj(struct e2e *e, const char *usage, const char *pub)
{
	char kid[80];

	snprintf(kid, sizeof(kid), "ed25519:%s", pub);
	return json_pack("{s:s, s:[s], s:{s:s}}", "user_id", e->user_id, "usage", usage, "keys", kid,
			 pub);
}

static int queue_keys(struct e2e *e, struct xs *x)
{
	json_t *master = key_obj(e, "master", x->pub[0]);
	json_t *ssk = key_obj(e, "self_signing", x->pub[1]);
	json_t *usk = key_obj(e, "user_signing", x->pub[2]);
	int rc = HE_NOMEM;

	if (!master || !ssk || !usk)
		goto out;
	if ((rc = pk_sign(e, x->seeds, x->pub[0], ssk)) || (rc = pk_sign(e, x->seeds, x->pub[0], usk)))
		goto out;
	rc = e2e_req_add(e, REQ_XSIGN_KEYS, "POST", "/keys/device_signing/upload",
			 json_pack("{s:O, s:O, s:O}", "master_key", master, "self_signing_key", ssk,
				   "user_signing_key", usk), NULL) ? HE_OK : HE_NOMEM;
out:
	json_decref(master);
	json_decref(ssk);
	json_decref(usk);
	return rc;
}

static int queue_sigs(struct e2e *e, struct xs *x)
{
	json_t *dev = e2e_account_device_keys(e), *master = key_obj(e, "master", x->pub[0]);
	json_t *body = NULL;
	int rc = HE_NOMEM;

	if (!dev || !master)
		goto out;
	if ((rc = pk_sign(e, x->seeds + SEED_LEN, x->pub[1], dev)) || (rc = e2e_sign_json(e, master)))
		goto out;
	rc = HE_NOMEM;
	if (!(body = json_object()) || json_object_set_new(body, e->user_id, json_object()))
		goto out;
	json_object_set(json_object_get(body, e->user_id), e->device_id, dev);
	json_object_set(json_object_get(body, e->user_id), x->pub[0], master);
	rc = e2e_req_add(e, REQ_XSIGN_SIGS, "POST", "/keys/signatures/upload", body, NULL)
		? HE_OK : HE_NOMEM;
	body = NULL;
out:
	json_decref(dev);
	json_decref(master);
	json_decref(body);
	return rc;
}

int e2e_cross_signing_bootstrap(struct e2e *e)
{
	struct xs x;
	int rc = xs_load(e, &x);

	if (rc == HE_OK && !x.have)
		rc = xs_create(e, &x);
	if (rc)
		goto out;
	if (x.state == XS_NEW && !e2e_req_pending(e, REQ_XSIGN_KEYS))
		rc = queue_keys(e, &x);
	else if (x.state == XS_KEYS_UPLOADED && !e2e_req_pending(e, REQ_XSIGN_SIGS))
		rc = queue_sigs(e, &x);
out:
	sodium_memzero(&x, sizeof(x));
	return rc;
}

int e2e_xsign_done(struct e2e *e, enum e2e_req_kind kind, int status, json_t *resp)
{
	int rc;

	if (status != 200) {
		hlog_warn(E2E_MOD, "cross-signing upload refused (HTTP %d%s%s)", status,
			  e2e_jstr(resp, "errcode") ? ": " : "",
			  e2e_jstr(resp, "errcode") ? e2e_jstr(resp, "errcode") : "");
		return HE_OK; /* e2e_cross_signing_bootstrap() again retries */
	}
	if (kind == REQ_XSIGN_KEYS) {
		if ((rc = e2e_sql(e, "UPDATE e2e_xsign SET state = ? WHERE id = 1", "i",
				  (int64_t)XS_KEYS_UPLOADED)))
			return rc;
		return e2e_cross_signing_bootstrap(e);
	}
	if (json_object_size(json_object_get(resp, "failures")) > 0) {
		hlog_warn(E2E_MOD, "the homeserver refused some cross-signing signatures");
		return HE_OK;
	}
	hlog_info(E2E_MOD, "this device is now cross-signed");
	return e2e_sql(e, "UPDATE e2e_xsign SET state = ? WHERE id = 1", "i", (int64_t)XS_DONE);
}

int e2e_xsign_device_lost(struct e2e *e)
{
	/* the cross-signing keys belong to the user and stay; the device's signature went with it */
	return e2e_sql(e, "UPDATE e2e_xsign SET state = ? WHERE id = 1 AND state = ?", "ii",
		       (int64_t)XS_KEYS_UPLOADED, (int64_t)XS_DONE);
}
