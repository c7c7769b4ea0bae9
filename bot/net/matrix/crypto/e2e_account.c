/* e2e_account.c - the device's Olm account: creation, persistence, device keys, one-time and
 * fallback keys and their upload.
 *
 * Crash safety ("one time key already exists"): keys are generated and the account is written
 * to the store before the upload request is handed out; they are marked published (and the
 * account written again) only after a 200. A crash in between leaves them unpublished in the
 * stored account, and the next upload sends the very same key ids and keys again, which the
 * homeserver accepts. */
#include "net/matrix/crypto/e2e_int.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

static OlmAccount *account_alloc(void)
{
	void *mem = malloc(olm_account_size());

	return mem ? olm_account(mem) : NULL;
}

int e2e_account_save(struct e2e *e)
{
	size_t len = olm_pickle_account_length(e->acct);
	char *p = malloc(len + 1);
	int rc;

	if (!p)
		return HE_NOMEM;
	if (olm_pickle_account(e->acct, e->olm_key, sizeof(e->olm_key), p, len) == olm_error()) {
		free(p);
		return HE_CRYPTO;
	}
	p[len] = '\0';
	rc = e2e_sql(e, "INSERT INTO e2e_account (id, user_id, device_id, pickle, published)"
		     " VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET pickle = excluded.pickle,"
		     " published = excluded.published",
		     "sssi", e->user_id, e->device_id, p, (int64_t)e->keys_published);
	free(p);
	return rc;
}

static int read_identity(struct e2e *e)
{
	size_t len = olm_account_identity_keys_length(e->acct);
	char *buf = malloc(len + 1);
	json_t *j = NULL;
	const char *c, *d;
	int rc = HE_CRYPTO;

	if (!buf)
		return HE_NOMEM;
	if (olm_account_identity_keys(e->acct, buf, len) == olm_error())
		goto out;
	buf[len] = '\0';
	j = json_loads(buf, 0, NULL);
	c = e2e_jstr(j, "curve25519");
	d = e2e_jstr(j, "ed25519");
	if (!c || !d || strlen(c) >= sizeof(e->curve) || strlen(d) >= sizeof(e->ed))
		goto out;
	strcpy(e->curve, c);
	strcpy(e->ed, d);
	rc = HE_OK;
out:
	json_decref(j);
	free(buf);
	return rc;
}

int e2e_account_load(struct e2e *e)
{
	struct db_stmt *st = e2e_stmt(e, "SELECT user_id, device_id, pickle, published FROM e2e_account"
				    " WHERE id = 1", "");
	char *user = NULL, *dev = NULL, *pickle = NULL;
	void *rnd = NULL;
	int rc = HE_OK, s;

	if (!st)
		return HE_DB;
	if (!(e->acct = account_alloc())) {
		db_reset(st);
		return HE_NOMEM;
	}
	s = db_step(st);
	if (s == DB_ROW) {
		user = e2e_col_str(st, 0);
		dev = e2e_col_str(st, 1);
		pickle = e2e_col_str(st, 2);
		e->keys_published = db_col_int(st, 3) != 0;
	}
	db_reset(st);
	if (s == DB_ROW) {
		if (!user || !dev || !pickle) {
			rc = HE_NOMEM;
			goto out;
		}
		if (strcmp(user, e->user_id) != 0 || strcmp(dev, e->device_id) != 0) {
			hlog_error(E2E_MOD, "the stored encryption account belongs to %s device %s, not "
				   "%s device %s; log in with that device again, or move the data folder "
				   "aside to start with new keys", user, dev, e->user_id, e->device_id);
			rc = HE_CRYPTO;
			goto out;
		}
		if (olm_unpickle_account(e->acct, e->olm_key, sizeof(e->olm_key), pickle,
					 strlen(pickle)) == olm_error()) {
			hlog_error(E2E_MOD, "the stored encryption account cannot be opened (%s): is this "
				   "the right encryption key file?", olm_account_last_error(e->acct));
			rc = HE_CRYPTO;
			goto out;
		}
	} else if (s == DB_DONE) {
		size_t n = olm_create_account_random_length(e->acct);
		if (!(rnd = malloc(n))) {
			rc = HE_NOMEM;
			goto out;
		}
		e2e_random(rnd, n);
		if (olm_create_account(e->acct, rnd, n) == olm_error()) {
			rc = HE_CRYPTO;
			goto out;
		}
		e->keys_published = false;
		if ((rc = e2e_account_save(e)))
			goto out;
		hlog_info(E2E_MOD, "created the encryption account for device %s", e->device_id);
	} else {
		rc = HE_DB;
		goto out;
	}
	rc = read_identity(e);
out:
	free(rnd);
	free(user);
	free(dev);
	free(pickle);
	return rc;
}

/* {"curve25519": {id: key}} from libolm -> {"signed_curve25519:id": {key, [fallback], signatures}} */
static int signed_keys(struct e2e *e, const char *olm_json, bool fallback, json_t **out)
{
	json_t *src = json_loads(olm_json, 0, NULL), *res = json_object(), *v;
	const char *id;
	char name[128];
	int rc = HE_OK;

	*out = NULL;
	if (!src || !res) {
		rc = HE_CRYPTO;
		goto out;
	}
	json_object_foreach(json_object_get(src, "curve25519"), id, v) {
		json_t *k = json_pack("{s:O}", "key", v);
		if (!k) {
			rc = HE_NOMEM;
			goto out;
		}
		if (fallback)
			json_object_set_new(k, "fallback", json_true());
		if ((rc = e2e_sign_json(e, k))) {
			json_decref(k);
			goto out;
		}
		snprintf(name, sizeof(name), OTK_ALG ":%s", id);
		json_object_set_new(res, name, k);
	}
	*out = res;
	res = NULL;
out:
	json_decref(src);
	json_decref(res);
	return rc;
}

static json_t *device_keys(struct e2e *e)
{
	char ck[300], ek[300];
	json_t *dk;

	snprintf(ck, sizeof(ck), "curve25519:%s", e->device_id);
	snprintf(ek, sizeof(ek), "ed25519:%s", e->device_id);
	dk = json_pack("{s:s, s:s, s:[s,s], s:{s:s, s:s}}", "user_id", e->user_id, "device_id",
		       e->device_id, "algorithms", ALG_OLM, ALG_MEGOLM, "keys", ck, e->curve, ek, e->ed);
	if (dk && e2e_sign_json(e, dk)) {
		json_decref(dk);
		return NULL;
	}
	return dk;
}

json_t *e2e_account_device_keys(struct e2e *e)
{
	return device_keys(e);
}

static char *olm_keys_json(struct e2e *e, bool fallback)
{
	size_t len = fallback ? olm_account_unpublished_fallback_key_length(e->acct)
			      : olm_account_one_time_keys_length(e->acct);
	char *buf = malloc(len + 1);
	size_t n;

	if (!buf)
		return NULL;
	n = fallback ? olm_account_unpublished_fallback_key(e->acct, buf, len)
		     : olm_account_one_time_keys(e->acct, buf, len);
	if (n == olm_error()) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

int e2e_account_pump(struct e2e *e)
{
	size_t target = olm_account_max_number_of_one_time_keys(e->acct) / 2, unpub, want = 0;
	json_t *body = NULL, *otks = NULL, *fbs = NULL, *tmp = NULL;
	char *otk_json = NULL, *fb_json = NULL;
	bool changed = false;
	void *rnd = NULL;
	int rc = HE_OK;

	if (!e2e_req_may(e, REQ_UPLOAD))
		return HE_OK;
	/* the account changes only through e2e_account_save (counted in wgen) */
	if (e->idle_acct.on && e->idle_acct.gen == e->wgen && e->idle_otk_count == e->otk_count &&
	    e->idle_need_fallback == e->need_fallback && e->idle_published == e->keys_published)
		return HE_OK;
	if (!(otk_json = olm_keys_json(e, false)) || !(tmp = json_loads(otk_json, 0, NULL))) {
		rc = HE_CRYPTO;
		goto out;
	}
	unpub = json_object_size(json_object_get(tmp, "curve25519"));
	/* A new device has no keys on the server; otherwise wait for the count from /sync. */
	if (e->otk_count >= 0 || !e->keys_published) {
		size_t have = (size_t)(e->otk_count > 0 ? e->otk_count : 0) + unpub;
		want = have < target ? target - have : 0;
	}
	if (want > 0) {
		size_t n = olm_account_generate_one_time_keys_random_length(e->acct, want);
		if (!(rnd = malloc(n ? n : 1))) {
			rc = HE_NOMEM;
			goto out;
		}
		e2e_random(rnd, n);
		if (olm_account_generate_one_time_keys(e->acct, want, rnd, n) == olm_error()) {
			rc = HE_CRYPTO;
			goto out;
		}
		free(rnd);
		rnd = NULL;
		changed = true;
		free(otk_json);
		if (!(otk_json = olm_keys_json(e, false))) {
			rc = HE_CRYPTO;
			goto out;
		}
	}
	if (!(fb_json = olm_keys_json(e, true))) {
		rc = HE_CRYPTO;
		goto out;
	}
	json_decref(tmp);
	tmp = json_loads(fb_json, 0, NULL);
	if ((e->need_fallback || !e->keys_published) &&
	    json_object_size(json_object_get(tmp, "curve25519")) == 0) {
		size_t n = olm_account_generate_fallback_key_random_length(e->acct);
		if (!(rnd = malloc(n ? n : 1))) {
			rc = HE_NOMEM;
			goto out;
		}
		e2e_random(rnd, n);
		if (olm_account_generate_fallback_key(e->acct, rnd, n) == olm_error()) {
			rc = HE_CRYPTO;
			goto out;
		}
		changed = true;
		free(fb_json);
		if (!(fb_json = olm_keys_json(e, true))) {
			rc = HE_CRYPTO;
			goto out;
		}
	}
	/* Written before the request exists: a crash now re-uploads these same keys. */
	if (changed && (rc = e2e_account_save(e)))
		goto out;
	if ((rc = signed_keys(e, otk_json, false, &otks)) || (rc = signed_keys(e, fb_json, true, &fbs)))
		goto out;
	if (e->keys_published && json_object_size(otks) == 0 && json_object_size(fbs) == 0) {
		e->idle_acct.on = true; /* nothing to do, until something changes */
		e->idle_acct.gen = e->wgen;
		e->idle_otk_count = e->otk_count;
		e->idle_need_fallback = e->need_fallback;
		e->idle_published = e->keys_published;
		goto out;
	}
	if (!(body = json_object())) {
		rc = HE_NOMEM;
		goto out;
	}
	if (!e->keys_published)
		json_object_set_new(body, "device_keys", device_keys(e));
	if (json_object_size(otks))
		json_object_set(body, "one_time_keys", otks);
	if (json_object_size(fbs))
		json_object_set(body, "fallback_keys", fbs);
	if (!e2e_req_add(e, REQ_UPLOAD, "POST", "/keys/upload", body, NULL))
		rc = HE_NOMEM;
	body = NULL;
out:
	if (rc)
		hlog_error(E2E_MOD, "cannot prepare the key upload: %s", he_str(rc));
	free(rnd);
	free(otk_json);
	free(fb_json);
	json_decref(tmp);
	json_decref(otks);
	json_decref(fbs);
	json_decref(body);
	return rc;
}

int e2e_account_upload_done(struct e2e *e, int status, json_t *resp)
{
	json_t *cnt;

	e2e_req_result(e, REQ_UPLOAD, status == 200);
	if (status != 200)
		return HE_OK; /* the keys stay unpublished and go up again after the backoff */
	olm_account_mark_keys_as_published(e->acct);
	if (e->need_fallback)
		e->fallback_ms = e->now_ms(); /* the used one is forgotten later (e2e_prune.c) */
	e->keys_published = true;
	e->need_fallback = false;
	cnt = json_object_get(json_object_get(resp, "one_time_key_counts"), OTK_ALG);
	e->otk_count = json_is_integer(cnt) ? (int)json_integer_value(cnt) : 0;
	return e2e_account_save(e);
}

int e2e_account_counts(struct e2e *e, json_t *otk_counts, json_t *fallback_types)
{
	if (json_is_object(otk_counts)) {
		json_t *cnt = json_object_get(otk_counts, OTK_ALG);
		e->otk_count = json_is_integer(cnt) ? (int)json_integer_value(cnt) : 0;
	}
	if (json_is_array(fallback_types)) {
		size_t i;
		json_t *v;
		bool have = false;
		json_array_foreach(fallback_types, i, v)
			if (json_is_string(v) && strcmp(json_string_value(v), OTK_ALG) == 0)
				have = true;
		e->need_fallback = !have;
	}
	return HE_OK;
}

int e2e_device_keys_lost(struct e2e *e)
{
	int rc;

	hlog_warn(E2E_MOD, "the homeserver no longer has the keys of device %s: publishing them again",
		  e->device_id);
	e->keys_published = false;
	e->otk_count = 0;
	e->need_fallback = true;
	if ((rc = e2e_account_save(e)) == HE_OK)
		rc = e2e_xsign_device_lost(e);
	e2e_pump(e);
	return rc;
}
