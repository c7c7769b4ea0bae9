/* e2e_sas.c - the SAS of interactive verification over libolm's olm_sas_*, and what the
 * verification flow (net/matrix/verify.c) needs to know from the crypto module. */
#include "net/matrix/crypto/e2e_sas.h"
#include "net/matrix/crypto/e2e_int.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"

#include <olm/sas.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct e2e_sas {
	OlmSAS *sas;
	bool their_key;
	char pub[E2E_SAS_KEY_LEN + 1];
};

int e2e_sas_new(struct e2e_sas **out)
{
	struct e2e_sas *s = calloc(1, sizeof(*s));
	size_t rlen;
	unsigned char *rnd = NULL;
	int rc = HE_NOMEM;

	*out = NULL;
	if (!s || !(s->sas = malloc(olm_sas_size())))
		goto out;
	olm_sas(s->sas);
	rlen = olm_create_sas_random_length(s->sas);
	if (!(rnd = malloc(rlen ? rlen : 1)))
		goto out;
	e2e_random(rnd, rlen);
	rc = HE_CRYPTO;
	if (olm_create_sas(s->sas, rnd, rlen) == olm_error() ||
	    olm_sas_pubkey_length(s->sas) != E2E_SAS_KEY_LEN ||
	    olm_sas_get_pubkey(s->sas, s->pub, E2E_SAS_KEY_LEN) == olm_error())
		goto out;
	s->pub[E2E_SAS_KEY_LEN] = '\0';
	*out = s;
	s = NULL;
	rc = HE_OK;
out:
	if (rnd) {
		sodium_memzero(rnd, rlen);
		free(rnd);
	}
	e2e_sas_free(s);
	return rc;
}

void e2e_sas_free(struct e2e_sas *s)
{
	if (!s)
		return;
	if (s->sas) {
		olm_clear_sas(s->sas);
		free(s->sas);
	}
	free(s);
}

const char *e2e_sas_pubkey(const struct e2e_sas *s)
{
	return s->pub;
}

static bool is_b64(const char *k, size_t len)
{
	size_t n = 0;

	for (; k[n]; n++) {
		char c = k[n];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/'))
			return false;
		if (n > len)
			return false;
	}
	return n == len;
}

int e2e_sas_set_their_key(struct e2e_sas *s, const char *key)
{
	char buf[E2E_SAS_KEY_LEN + 1];

	if (!key || !is_b64(key, E2E_SAS_KEY_LEN))
		return HE_INVAL;
	if (s->their_key)
		return HE_PROTO;
	memcpy(buf, key, sizeof(buf)); /* libolm decodes in place */
	if (olm_sas_set_their_key(s->sas, buf, E2E_SAS_KEY_LEN) == olm_error())
		return HE_INVAL;
	s->their_key = true;
	return HE_OK;
}

int e2e_sas_bytes(struct e2e_sas *s, const char *info, unsigned char *out, size_t len)
{
	if (!s->their_key)
		return HE_INVAL;
	if (olm_sas_generate_bytes(s->sas, info, strlen(info), out, len) == olm_error())
		return HE_CRYPTO;
	return HE_OK;
}

int e2e_sas_mac(struct e2e_sas *s, enum e2e_sas_mac method, const char *input, const char *info,
		char out[E2E_SAS_MAC_LEN + 1])
{
	/* calculate_mac encodes in place over its output: give it room */
	char buf[E2E_SAS_MAC_LEN + 32];
	size_t r;

	out[0] = '\0';
	if (!s->their_key || olm_sas_mac_length(s->sas) != E2E_SAS_MAC_LEN)
		return HE_INVAL;
	if (method == E2E_SAS_MAC_V2)
		r = olm_sas_calculate_mac_fixed_base64(s->sas, input, strlen(input), info,
						       strlen(info), buf, sizeof(buf));
	else
		r = olm_sas_calculate_mac(s->sas, input, strlen(input), info, strlen(info), buf,
					  sizeof(buf));
	if (r == olm_error())
		return HE_CRYPTO;
	memcpy(out, buf, E2E_SAS_MAC_LEN);
	out[E2E_SAS_MAC_LEN] = '\0';
	return HE_OK;
}

bool e2e_sas_mac_ok(struct e2e_sas *s, enum e2e_sas_mac method, const char *input,
		    const char *info, const char *mac)
{
	char want[E2E_SAS_MAC_LEN + 1];

	if (!mac || strlen(mac) != E2E_SAS_MAC_LEN ||
	    e2e_sas_mac(s, method, input, info, want) != HE_OK)
		return false;
	return sodium_memcmp(want, mac, E2E_SAS_MAC_LEN) == 0;
}

int e2e_sas_commitment(const char *pubkey, json_t *start_content, char out[E2E_SAS_HASH_LEN + 1])
{
	char *canon = json_is_object(start_content)
		? json_dumps(start_content, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	unsigned char h[crypto_hash_sha256_BYTES];
	char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES,
					   sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
	crypto_hash_sha256_state st;

	out[0] = '\0';
	if (!canon)
		return HE_NOMEM;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)pubkey, strlen(pubkey));
	crypto_hash_sha256_update(&st, (const unsigned char *)canon, strlen(canon));
	crypto_hash_sha256_final(&st, h);
	free(canon);
	sodium_bin2base64(b64, sizeof(b64), h, sizeof(h), sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	if (strlen(b64) != E2E_SAS_HASH_LEN)
		return HE_CRYPTO;
	memcpy(out, b64, E2E_SAS_HASH_LEN + 1);
	return HE_OK;
}

/* ---- the crypto module's knowledge ---- */

int e2e_sas_device_key(struct e2e *e, const char *user_id, const char *device_id, char **ed25519)
{
	struct db_stmt *st;
	int rc;

	*ed25519 = NULL;
	st = e2e_stmt(e, "SELECT ed25519 FROM e2e_device WHERE user_id = ? AND device_id = ? AND"
		      " deleted = 0", "ss", user_id, device_id);
	if (!st)
		return HE_DB;
	if (db_step(st) == DB_ROW)
		*ed25519 = e2e_col_str(st, 0);
	db_reset(st);
	if (*ed25519)
		return HE_OK;
	rc = e2e_track_user(e, user_id); /* asked for at the next pump */
	if (rc == HE_OK)
		e2e_pump(e);
	return rc ? rc : HE_NOTFOUND;
}

int e2e_sas_master_key(struct e2e *e, const char *user_id, char **master)
{
	bool own = strcmp(user_id, e->user_id) == 0;
	struct db_stmt *st;

	*master = NULL;
	st = own ? e2e_stmt(e, "SELECT master FROM e2e_xsign WHERE id = 1", "")
		 : e2e_stmt(e, "SELECT master FROM e2e_identity WHERE user_id = ? AND"
			    " master IS NOT NULL", "s", user_id);
	if (!st)
		return HE_DB;
	if (db_step(st) == DB_ROW)
		*master = e2e_col_str(st, 0);
	db_reset(st);
	return *master ? HE_OK : HE_NOTFOUND;
}

int e2e_sas_send(struct e2e *e, const char *type, const char *user_id, const char *device_id,
		 json_t *content)
{
	json_t *msgs = json_pack("{s:{s:O}}", user_id, device_id, content);

	if (!msgs)
		return HE_NOMEM;
	return e2e_send_to_device(e, REQ_TODEVICE_OTHER, type, msgs, NULL);
}

int e2e_sas_send_encrypted(struct e2e *e, const char *type, const char *user_id,
			   const char *device_id, json_t *content)
{
	char *curve = NULL, *ed = NULL;
	json_t *enc = NULL, *msgs;
	int rc = HE_NOTFOUND;

	if ((rc = e2e_device_keys(e, user_id, device_id, &curve, &ed)) != HE_OK)
		return rc;
	if ((rc = e2e_olm_encrypt(e, user_id, device_id, curve, ed, type, content, &enc)))
		goto out;
	rc = HE_NOMEM;
	if (!(msgs = json_pack("{s:{s:o}}", user_id, device_id, enc)))
		goto out;
	enc = NULL;
	rc = e2e_send_to_device(e, REQ_TODEVICE_OTHER, "m.room.encrypted", msgs, NULL);
out:
	json_decref(enc);
	free(curve);
	free(ed);
	return rc;
}

json_t *e2e_sas_take_events(struct e2e *e)
{
	json_t *in = e->sas_in;

	e->sas_in = NULL;
	return in;
}

/* Called by e2e_olm.c for a decrypted to-device event whose type is m.key.verification.*. */
void e2e_sas_received(struct e2e *e, const char *sender, const char *sender_device,
		      const char *type, json_t *content)
{
	if (!json_is_object(content))
		return;
	if (!e->sas_in && !(e->sas_in = json_array()))
		return;
	if (json_array_size(e->sas_in) >= E2E_SAS_MAX_IN) {
		hlog_warn(E2E_MOD, "too many encrypted verification messages at once; one from %s "
			  "dropped", sender);
		return;
	}
	json_array_append_new(e->sas_in, json_pack("{s:s, s:s?, s:s, s:O}", "sender", sender,
						   "sender_device", sender_device, "type", type,
						   "content", content));
}
