/* e2e_olm.c - Olm: to-device decryption, per-device encryption, one-time key claims and the
 * repair of wedged sessions. Sessions live in e2e_olm_session, pickled, and are loaded for each
 * use; every change is written before the result is used. */
#include "net/matrix/crypto/e2e_int.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SESSIONS_TRIED 50

static OlmSession *session_new(void)
{
	void *mem = malloc(olm_session_size());

	return mem ? olm_session(mem) : NULL;
}

static void session_free(OlmSession *s)
{
	if (!s)
		return;
	olm_clear_session(s);
	free(s);
}

static int session_save(struct e2e *e, OlmSession *s, const char *sender_key)
{
	size_t idlen = olm_session_id_length(s), plen = olm_pickle_session_length(s);
	char *id = malloc(idlen + 1), *p = malloc(plen + 1);
	int rc = HE_NOMEM;

	if (!id || !p)
		goto out;
	rc = HE_CRYPTO;
	if (olm_session_id(s, id, idlen) == olm_error() ||
	    olm_pickle_session(s, e->olm_key, sizeof(e->olm_key), p, plen) == olm_error())
		goto out;
	id[idlen] = '\0';
	p[plen] = '\0';
	rc = e2e_sql(e, "INSERT INTO e2e_olm_session (session_id, sender_key, pickle, last_used)"
		     " VALUES (?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET"
		     " pickle = excluded.pickle, last_used = excluded.last_used",
		     "sssi", id, sender_key, p, (int64_t)e->now_ms());
out:
	free(id);
	free(p);
	return rc;
}

static OlmSession *session_unpickle(struct e2e *e, const char *pickle)
{
	OlmSession *s = session_new();
	char *copy = strdup(pickle);

	if (!s || !copy || olm_unpickle_session(s, e->olm_key, sizeof(e->olm_key), copy,
						strlen(copy)) == olm_error()) {
		if (s && copy)
			hlog_error(E2E_MOD, "a stored Olm session cannot be opened");
		session_free(s);
		s = NULL;
	}
	free(copy);
	return s;
}

/* The stored pickles for sender_key, most recently used first: a JSON array of strings. */
static json_t *session_pickles(struct e2e *e, const char *sender_key, int limit)
{
	struct db_stmt *st = e2e_stmt(e, DB_SQL(store_sql(e->st),
		"SELECT pickle FROM e2e_olm_session WHERE sender_key = ?"
		" ORDER BY last_used DESC, rowid DESC LIMIT ?",
		"SELECT pickle FROM e2e_olm_session WHERE sender_key = ?"
		" ORDER BY last_used DESC, seq DESC LIMIT ?"), "si", sender_key, (int64_t)limit);
	json_t *arr;

	if (!st)
		return NULL;
	arr = json_array();
	while (arr && db_step(st) == DB_ROW)
		json_array_append_new(arr, json_string(db_col_text(st, 0)));
	db_reset(st);
	return arr;
}

bool e2e_olm_has_session(struct e2e *e, const char *curve)
{
	return e2e_has_row(e2e_stmt(e, "SELECT 1 FROM e2e_olm_session WHERE sender_key = ? LIMIT 1",
				   "s", curve));
}

/* Decrypts body with s; *out is malloc'd and NUL-terminated. s is changed on success only. */
static int session_decrypt(OlmSession *s, size_t type, const char *body, char **out)
{
	size_t len = strlen(body), max, n;
	char *copy = malloc(len + 1), *plain = NULL;
	int rc = HE_CRYPTO;

	*out = NULL;
	if (!copy)
		return HE_NOMEM;
	memcpy(copy, body, len + 1);
	max = olm_decrypt_max_plaintext_length(s, type, copy, len);
	if (max == olm_error() || max > E2E_MAX_CIPHERTEXT)
		goto out;
	memcpy(copy, body, len + 1);
	if (!(plain = malloc(max + 1))) {
		rc = HE_NOMEM;
		goto out;
	}
	n = olm_decrypt(s, type, copy, len, plain, max);
	if (n == olm_error())
		goto out;
	plain[n] = '\0';
	*out = plain;
	plain = NULL;
	rc = HE_OK;
out:
	free(copy);
	free(plain);
	return rc;
}

/* Tries the existing sessions with sender_key, then (pre-key message) a new inbound one. */
static int olm_decrypt_any(struct e2e *e, const char *sender_key, size_t type, const char *body,
			   char **plain)
{
	json_t *pickles = session_pickles(e, sender_key, MAX_SESSIONS_TRIED), *v;
	size_t i, klen = strlen(sender_key), blen = strlen(body);
	OlmSession *s = NULL;
	char *copy = NULL;
	int rc = HE_CRYPTO;

	*plain = NULL;
	if (!pickles)
		return HE_DB;
	if (!(copy = malloc(blen + 1))) {
		rc = HE_NOMEM;
		goto out;
	}
	json_array_foreach(pickles, i, v) {
		if (!(s = session_unpickle(e, json_string_value(v))))
			continue;
		if (type == OLM_MESSAGE_TYPE_PRE_KEY) {
			memcpy(copy, body, blen + 1);
			if (olm_matches_inbound_session_from(s, sender_key, klen, copy, blen) != 1) {
				session_free(s);
				s = NULL;
				continue;
			}
			/* the message belongs to this session: it decrypts here or nowhere */
			rc = session_decrypt(s, type, body, plain);
			if (rc == HE_OK)
				rc = session_save(e, s, sender_key);
			goto out;
		}
		if (session_decrypt(s, type, body, plain) == HE_OK) {
			rc = session_save(e, s, sender_key);
			goto out;
		}
		session_free(s);
		s = NULL;
	}
	if (type != OLM_MESSAGE_TYPE_PRE_KEY)
		goto out; /* no session knows it: wedged */
	if (!(s = session_new())) {
		rc = HE_NOMEM;
		goto out;
	}
	memcpy(copy, body, blen + 1);
	if (olm_create_inbound_session_from(s, e->acct, sender_key, klen, copy, blen) == olm_error()) {
		hlog_debug(E2E_MOD, "no inbound Olm session: %s", olm_session_last_error(s));
		goto out;
	}
	if ((rc = session_decrypt(s, type, body, plain)))
		goto out;
	/* The one-time key is used up: account and session are written together. */
	olm_remove_one_time_keys(e->acct, s); /* fails harmlessly for the fallback key */
	if ((rc = e2e_begin(e)))
		goto out;
	rc = e2e_account_save(e);
	if (rc == HE_OK)
		rc = session_save(e, s, sender_key);
	rc = e2e_commit(e, rc);
	if (rc == HE_OK)
		e2e_account_pump(e); /* maybe top up */
out:
	if (rc) {
		free(*plain);
		*plain = NULL;
	}
	session_free(s);
	free(copy);
	json_decref(pickles);
	return rc;
}

int e2e_olm_need(struct e2e *e, const char *user_id, const char *device_id, int repair)
{
	return e2e_sql(e, DB_SQL(store_sql(e->st),
		"INSERT INTO e2e_olm_need (user_id, device_id, repair) VALUES (?, ?, ?)"
		" ON CONFLICT (user_id, device_id) DO UPDATE SET repair = MAX(repair, excluded.repair)",
		"INSERT INTO e2e_olm_need (user_id, device_id, repair) VALUES (?, ?, ?)"
		" ON CONFLICT (user_id, device_id) DO UPDATE SET"
		" repair = GREATEST(e2e_olm_need.repair, excluded.repair)"), "ssi", user_id, device_id,
		(int64_t)repair);
}

/* Nothing we hold decrypts this device's messages: start a new session (claim a one-time key,
 * send an encrypted m.dummy), at most once an hour per device. */
static int repair_wedged(struct e2e *e, const char *sender, const char *sender_key)
{
	char *dev = NULL, *ed = NULL;
	const char *user = sender;
	struct db_stmt *st;
	int64_t last = 0;
	int rc;

	rc = e2e_device_of(e, sender, sender_key, &dev, &ed);
	if (rc == HE_NOTFOUND) {
		hlog_info(E2E_MOD, "an unknown device of %s sent an unreadable message; asking for its "
			  "keys", sender);
		rc = e2e_track_user(e, sender);
		goto out;
	}
	if (rc)
		goto out;
	st = e2e_stmt(e, "SELECT repair_ms FROM e2e_device WHERE user_id = ? AND device_id = ?",
		      "ss", user, dev);
	if (st && db_step(st) == DB_ROW)
		last = db_col_int64(st, 0);
	if (st)
		db_reset(st);
	if (last && e->now_ms() - (uint64_t)last < E2E_REPAIR_INTERVAL_MS) {
		hlog_debug(E2E_MOD, "Olm session with %s %s still wedged; repaired recently", user, dev);
		goto out;
	}
	hlog_info(E2E_MOD, "the Olm session with %s device %s is wedged; starting a new one", user, dev);
	rc = e2e_sql(e, "UPDATE e2e_device SET repair_ms = ? WHERE user_id = ? AND device_id = ?",
		     "iss", (int64_t)e->now_ms(), user, dev);
	if (rc == HE_OK)
		rc = e2e_olm_need(e, user, dev, 1);
out:
	free(dev);
	free(ed);
	return rc;
}

int e2e_olm_to_device(struct e2e *e, json_t *event)
{
	json_t *content = json_object_get(event, "content"), *payload = NULL, *c;
	const char *sender = e2e_jstr(event, "sender"), *alg = e2e_jstr(content, "algorithm");
	const char *sender_key = e2e_jstr(content, "sender_key"), *body, *ptype, *claimed;
	char *plain = NULL, *kdev = NULL, *ked = NULL;
	json_int_t type;
	int rc = HE_INVAL;

	if (!sender || !alg || strcmp(alg, ALG_OLM) != 0 || !sender_key || strlen(sender_key) > 100)
		return HE_INVAL;
	c = json_object_get(json_object_get(content, "ciphertext"), e->curve);
	body = e2e_jstr(c, "body");
	if (!json_is_integer(json_object_get(c, "type")) || !body)
		return HE_INVAL; /* not for this device */
	type = json_integer_value(json_object_get(c, "type"));
	if ((type != 0 && type != 1) || strlen(body) > E2E_MAX_CIPHERTEXT)
		return HE_INVAL;
	rc = olm_decrypt_any(e, sender_key, (size_t)type, body, &plain);
	if (rc == HE_CRYPTO) {
		int r = repair_wedged(e, sender, sender_key);
		return r == HE_DB || r == HE_NOMEM ? r : HE_CRYPTO;
	}
	if (rc)
		return rc;
	rc = HE_CRYPTO;
	payload = json_loads(plain, JSON_REJECT_DUPLICATES, NULL);
	ptype = e2e_jstr(payload, "type");
	claimed = e2e_jstr(json_object_get(payload, "keys"), "ed25519");
	if (!ptype || !claimed || !e2e_jstr(payload, "sender") ||
	    strcmp(e2e_jstr(payload, "sender"), sender) != 0 ||
	    !e2e_jstr(payload, "recipient") || strcmp(e2e_jstr(payload, "recipient"), e->user_id) != 0 ||
	    !e2e_jstr(json_object_get(payload, "recipient_keys"), "ed25519") ||
	    strcmp(e2e_jstr(json_object_get(payload, "recipient_keys"), "ed25519"), e->ed) != 0) {
		hlog_warn(E2E_MOD, "an Olm message from %s names the wrong sender or recipient; ignored",
			  sender);
		goto out;
	}
	/* The device behind sender_key is looked up among the sender's devices only (what other
	 * users' devices claim changes nothing); when we know it, its signing key must match. */
	rc = e2e_device_of(e, sender, sender_key, &kdev, &ked);
	if (rc == HE_OK && strcmp(ked, claimed) != 0) {
		hlog_warn(E2E_MOD, "an Olm message from %s claims keys of another device; ignored",
			  sender);
		rc = HE_CRYPTO;
		goto out;
	}
	if (rc == HE_CRYPTO)
		hlog_warn(E2E_MOD, "two devices of %s claim one identity key; its messages are ignored",
			  sender);
	if (rc == HE_NOTFOUND)
		rc = e2e_track_user(e, sender);
	/* only the holder of sender_key could write this: it names its user and signing key */
	if (rc == HE_OK)
		rc = e2e_curve_proven(e, sender_key, sender, claimed);
	if (rc)
		goto out;
	if (strcmp(ptype, "m.room_key") == 0) {
		rc = e2e_room_key_received(e, sender, sender_key, claimed,
					   json_object_get(payload, "content"), false);
	} else if (strcmp(ptype, "m.forwarded_room_key") == 0) {
		/* Only our own verified devices may forward keys to us. */
		if (strcmp(sender, e->user_id) != 0 || !kdev) {
			hlog_warn(E2E_MOD, "ignoring a forwarded room key from %s", sender);
			rc = HE_PERM;
			goto out;
		}
		rc = e2e_room_key_received(e, NULL, sender_key, claimed,
					   json_object_get(payload, "content"), true);
	} else if (strncmp(ptype, "m.key.verification.", 19) == 0) {
		e2e_sas_received(e, sender, kdev, ptype, json_object_get(payload, "content"));
		rc = HE_OK;
	} else {
		rc = HE_OK; /* m.dummy and others: the session itself was the point */
	}
out:
	json_decref(payload);
	if (plain) {
		memset(plain, 0, strlen(plain));
		free(plain);
	}
	free(kdev);
	free(ked);
	return rc;
}

int e2e_olm_encrypt(struct e2e *e, const char *user_id, const char *device_id, const char *curve,
		    const char *ed25519, const char *type, json_t *content, json_t **out)
{
	json_t *pickles = session_pickles(e, curve, 1), *payload = NULL;
	OlmSession *s = NULL;
	char *plain = NULL, *msg = NULL;
	void *rnd = NULL;
	size_t plen, rlen, mlen, mtype;
	int rc = HE_NOTFOUND;

	*out = NULL;
	if (!pickles)
		return HE_DB;
	if (json_array_size(pickles) == 0)
		goto out;
	rc = HE_CRYPTO;
	if (!(s = session_unpickle(e, json_string_value(json_array_get(pickles, 0)))))
		goto out;
	rc = HE_NOMEM;
	payload = json_pack("{s:s, s:O, s:s, s:s, s:{s:s}, s:s, s:{s:s}}", "type", type, "content",
			    content, "sender", e->user_id, "sender_device", e->device_id, "keys",
			    "ed25519", e->ed, "recipient", user_id, "recipient_keys", "ed25519", ed25519);
	if (!payload || !(plain = json_dumps(payload, JSON_COMPACT)))
		goto out;
	plen = strlen(plain);
	mtype = olm_encrypt_message_type(s);
	rlen = olm_encrypt_random_length(s);
	mlen = olm_encrypt_message_length(s, plen);
	if (!(rnd = malloc(rlen ? rlen : 1)) || !(msg = malloc(mlen + 1)))
		goto out;
	e2e_random(rnd, rlen);
	rc = HE_CRYPTO;
	if (olm_encrypt(s, plain, plen, rnd, rlen, msg, mlen) == olm_error())
		goto out;
	msg[mlen] = '\0';
	if ((rc = session_save(e, s, curve)))
		goto out;
	*out = json_pack("{s:s, s:s, s:{s:{s:i, s:s}}}", "algorithm", ALG_OLM, "sender_key", e->curve,
			 "ciphertext", curve, "type", (int)mtype, "body", msg);
	rc = *out ? HE_OK : HE_NOMEM;
out:
	if (plain) {
		memset(plain, 0, strlen(plain));
		free(plain);
	}
	free(rnd);
	free(msg);
	json_decref(payload);
	json_decref(pickles);
	session_free(s);
	return rc;
}

int e2e_claim_pump(struct e2e *e)
{
	struct db_stmt *st;
	json_t *want = NULL;
	int rc = HE_OK, n = 0;

	if (!e2e_req_may(e, REQ_CLAIM))
		return HE_OK;
	if (e->idle_claim.on && e->idle_claim.gen == e->wgen)
		return HE_OK; /* no need and no device changed since none was found */
	/* needs for devices that went away are dropped */
	if ((rc = e2e_sql(e, "DELETE FROM e2e_olm_need WHERE NOT EXISTS (SELECT 1 FROM e2e_device d"
			  " WHERE d.user_id = e2e_olm_need.user_id AND d.device_id ="
			  " e2e_olm_need.device_id AND d.deleted = 0)", "")))
		return rc;
	st = e2e_stmt(e, "SELECT user_id, device_id FROM e2e_olm_need LIMIT 500", "");
	if (!st)
		return HE_DB;
	if (!(want = json_object())) {
		db_reset(st);
		return HE_NOMEM;
	}
	while (db_step(st) == DB_ROW) {
		const char *u = db_col_text(st, 0);
		const char *d = db_col_text(st, 1);
		json_t *devs = json_object_get(want, u);
		if (!devs)
			json_object_set_new(want, u, devs = json_object());
		json_object_set_new(devs, d, json_string(OTK_ALG));
		n++;
	}
	db_reset(st);
	if (n == 0) {
		e->idle_claim.on = true;
		e->idle_claim.gen = e->wgen;
		goto out;
	}
	if (!e2e_req_add(e, REQ_CLAIM, "POST", "/keys/claim",
			 json_pack("{s:O, s:i}", "one_time_keys", want, "timeout", 10000),
			 json_incref(want)))
		rc = HE_NOMEM;
out:
	json_decref(want);
	return rc;
}

int e2e_device_keys(struct e2e *e, const char *user_id, const char *device_id, char **curve, char **ed)
{
	struct db_stmt *st;

	*curve = *ed = NULL;
	st = e2e_stmt(e, "SELECT curve25519, ed25519 FROM e2e_device WHERE user_id = ? AND"
		      " device_id = ? AND deleted = 0", "ss", user_id, device_id);
	if (!st)
		return HE_DB;
	if (db_step(st) == DB_ROW) {
		*curve = e2e_col_str(st, 0);
		*ed = e2e_col_str(st, 1);
	}
	db_reset(st);
	if (*curve && *ed)
		return HE_OK;
	free(*curve);
	free(*ed);
	*curve = *ed = NULL;
	return HE_NOTFOUND;
}

/* A new outbound session with a device from its claimed one-time key. */
static int session_from_claim(struct e2e *e, const char *user_id, const char *device_id,
			      json_t *keys, bool repair)
{
	char *curve = NULL, *ed = NULL, kid[300];
	const char *name, *otk = NULL;
	json_t *kobj = NULL, *v, *dummy = NULL, *msgs = NULL;
	OlmSession *s = NULL;
	void *rnd = NULL;
	size_t rlen;
	int rc;

	if ((rc = e2e_device_keys(e, user_id, device_id, &curve, &ed)) != HE_OK)
		return rc;
	json_object_foreach(keys, name, v) {
		if (strncmp(name, OTK_ALG ":", strlen(OTK_ALG) + 1) == 0 && json_is_object(v)) {
			kobj = v;
			break;
		}
	}
	if (!kobj || !(otk = e2e_jstr(kobj, "key"))) {
		hlog_warn(E2E_MOD, "device %s of %s has no one-time keys left; it gets no room keys "
			  "for now", device_id, user_id);
		rc = e2e_sql(e, "UPDATE e2e_device SET no_otk_ms = ? WHERE user_id = ? AND"
			     " device_id = ?", "iss", (int64_t)e->now_ms(), user_id, device_id);
		goto out;
	}
	snprintf(kid, sizeof(kid), "ed25519:%s", device_id);
	if (e2e_verify_json(e, kobj, user_id, kid, ed)) {
		hlog_warn(E2E_MOD, "the one-time key of device %s of %s is not validly signed; ignored",
			  device_id, user_id);
		rc = e2e_sql(e, "UPDATE e2e_device SET no_otk_ms = ? WHERE user_id = ? AND"
			     " device_id = ?", "iss", (int64_t)e->now_ms(), user_id, device_id);
		rc = rc ? rc : HE_CRYPTO;
		goto out;
	}
	rc = HE_NOMEM;
	if (!(s = session_new()))
		goto out;
	rlen = olm_create_outbound_session_random_length(s);
	if (!(rnd = malloc(rlen ? rlen : 1)))
		goto out;
	e2e_random(rnd, rlen);
	rc = HE_CRYPTO;
	if (olm_create_outbound_session(s, e->acct, curve, strlen(curve), otk, strlen(otk), rnd,
					rlen) == olm_error())
		goto out;
	if ((rc = session_save(e, s, curve)))
		goto out;
	rc = e2e_sql(e, "UPDATE e2e_device SET no_otk_ms = 0 WHERE user_id = ? AND device_id = ?",
		     "ss", user_id, device_id);
	if (rc == HE_OK && repair) {
		json_t *empty = json_object();
		rc = e2e_olm_encrypt(e, user_id, device_id, curve, ed, "m.dummy", empty, &dummy);
		json_decref(empty);
		if (rc == HE_OK) {
			msgs = json_pack("{s:{s:O}}", user_id, device_id, dummy);
			rc = msgs ? e2e_send_to_device(e, REQ_TODEVICE_OTHER, "m.room.encrypted", msgs, NULL)
				  : HE_NOMEM;
		}
	}
out:
	session_free(s);
	free(rnd);
	free(curve);
	free(ed);
	json_decref(dummy);
	return rc;
}

int e2e_claim_done(struct e2e *e, json_t *ctx, int status, json_t *resp)
{
	json_t *otks = json_object_get(resp, "one_time_keys"), *devs, *v;
	const char *user, *dev;
	int rc = HE_OK;

	e2e_req_result(e, REQ_CLAIM, status == 200);
	if (status != 200)
		return HE_OK;
	json_object_foreach(ctx, user, devs) {
		json_object_foreach(devs, dev, v) {
			struct db_stmt *st = e2e_stmt(e, "SELECT repair FROM e2e_olm_need WHERE user_id = ?"
						    " AND device_id = ?", "ss", user, dev);
			bool repair = false;
			int r;
			if (!st)
				return HE_DB;
			if (db_step(st) == DB_ROW)
				repair = db_col_int(st, 0) != 0;
			db_reset(st);
			r = session_from_claim(e, user, dev,
					       json_object_get(json_object_get(otks, user), dev), repair);
			if (r == HE_DB || r == HE_NOMEM)
				rc = r;
			if ((r = e2e_sql(e, "DELETE FROM e2e_olm_need WHERE user_id = ? AND device_id = ?",
					 "ss", user, dev)))
				rc = r;
		}
	}
	return rc;
}
