/* e2e_devices.c - encrypted rooms, their members, the tracked users and their devices
 * (/keys/query, device signatures). A device enters e2e_device only when its self-signature
 * verifies and its user_id/device_id match where it was listed: room keys go to no other. */
#include "net/matrix/crypto/e2e_int.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

static int64_t next_dirty(struct e2e *e)
{
	if (e->dirty_seq == 0) {
		struct db_stmt *st = e2e_stmt(e, "SELECT COALESCE(MAX(dirty), 0) FROM e2e_user", "");
		if (st && db_step(st) == DB_ROW)
			e->dirty_seq = db_col_int64(st, 0);
		if (st)
			db_reset(st);
	}
	return ++e->dirty_seq;
}

int e2e_track_user(struct e2e *e, const char *user_id)
{
	return e2e_sql(e, "INSERT INTO e2e_user (user_id, dirty) VALUES (?, ?)"
		       " ON CONFLICT (user_id) DO NOTHING", "si", user_id, next_dirty(e));
}

static int mark_dirty(struct e2e *e, const char *user_id)
{
	return e2e_sql(e, "UPDATE e2e_user SET dirty = ? WHERE user_id = ?", "is", next_dirty(e),
		       user_id);
}

int e2e_device_lists(struct e2e *e, json_t *device_lists)
{
	json_t *v;
	size_t i;
	int rc = HE_OK, r;

	json_array_foreach(json_object_get(device_lists, "changed"), i, v)
		if (json_is_string(v) && (r = mark_dirty(e, json_string_value(v))))
			rc = r;
	json_array_foreach(json_object_get(device_lists, "left"), i, v) {
		if (!json_is_string(v) || strcmp(json_string_value(v), e->user_id) == 0)
			continue;
		if ((r = e2e_sql(e, "DELETE FROM e2e_user WHERE user_id = ?", "s", json_string_value(v))))
			rc = r;
		if ((r = e2e_sql(e, "DELETE FROM e2e_bad_device WHERE user_id = ?", "s",
				 json_string_value(v))))
			rc = r;
	}
	return rc;
}

int e2e_query_pump(struct e2e *e)
{
	struct db_stmt *st;
	json_t *users = NULL, *ctx = NULL;
	int rc = HE_OK;

	if (!e2e_req_may(e, REQ_QUERY))
		return HE_OK;
	if (e->idle_query.on && e->idle_query.gen == e->wgen)
		return HE_OK; /* no user was marked since none was found */
	st = e2e_stmt(e, "SELECT user_id, dirty FROM e2e_user WHERE dirty > 0 LIMIT 200", "");
	if (!st)
		return HE_DB;
	users = json_object();
	ctx = json_object();
	if (!users || !ctx) {
		rc = HE_NOMEM;
		goto out;
	}
	while (db_step(st) == DB_ROW) {
		const char *u = db_col_text(st, 0);
		json_object_set_new(users, u, json_array());
		json_object_set_new(ctx, u, json_integer(db_col_int64(st, 1)));
	}
	if (json_object_size(users) == 0) {
		e->idle_query.on = true;
		e->idle_query.gen = e->wgen;
		goto out;
	}
	if (!e2e_req_add(e, REQ_QUERY, "POST", "/keys/query",
			 json_pack("{s:O, s:i}", "device_keys", users, "timeout", 10000), ctx))
		rc = HE_NOMEM;
	ctx = NULL;
out:
	db_reset(st);
	json_decref(users);
	json_decref(ctx);
	return rc;
}

/* Checks one device's keys as listed under user_id/device_id; fills curve and ed. */
static int check_device(struct e2e *e, const char *user_id, const char *device_id, json_t *dk,
			const char **curve, const char **ed)
{
	char kid[300];
	const char *u = e2e_jstr(dk, "user_id"), *d = e2e_jstr(dk, "device_id");

	if (!u || !d || strcmp(u, user_id) != 0 || strcmp(d, device_id) != 0)
		return HE_PROTO;
	snprintf(kid, sizeof(kid), "curve25519:%s", device_id);
	*curve = e2e_jstr(json_object_get(dk, "keys"), kid);
	snprintf(kid, sizeof(kid), "ed25519:%s", device_id);
	*ed = e2e_jstr(json_object_get(dk, "keys"), kid);
	if (!*curve || !*ed || strlen(*curve) > 100 || strlen(*ed) > 100)
		return HE_PROTO;
	return e2e_verify_json(e, dk, user_id, kid, *ed);
}

/* A device listed with keys whose self-signature does not verify gets no room key, and is told
 * so (m.room_key.withheld, see share() in e2e_outbound.c); its keys themselves are never used.
 * A device known with good keys before keeps those. At most E2E_MAX_BAD_DEVICES per user: a
 * hostile account uploading many cannot make Hearth send many messages. */
static int bad_device(struct e2e *e, const char *user_id, const char *dev_id, int *nbad)
{
	struct db_stmt *st;

	if (*nbad >= E2E_MAX_BAD_DEVICES || strlen(dev_id) > 255)
		return HE_OK;
	st = e2e_stmt(e, "SELECT 1 FROM e2e_device WHERE user_id = ? AND device_id = ? AND"
		      " deleted = 0", "ss", user_id, dev_id);
	if (!st)
		return HE_DB;
	if (e2e_has_row(st))
		return HE_OK;
	++*nbad;
	return e2e_sql(e, "INSERT INTO e2e_bad_device (user_id, device_id) VALUES (?, ?)"
		       " ON CONFLICT DO NOTHING", "ss", user_id, dev_id);
}

/* ssk: the user's self-signing key vouched for by their pinned master key (NULL: none). */
static int store_user_devices(struct e2e *e, const char *user_id, json_t *devices,
			      const char *ssk)
{
	struct db_stmt *st;
	const char *dev_id;
	json_t *dk;
	bool gone = false;
	int rc = HE_OK;

	int nbad = 0;

	/* the devices listed with a bad signature are this answer's */
	if ((rc = e2e_sql(e, "DELETE FROM e2e_bad_device WHERE user_id = ?", "s", user_id)))
		return rc;
	json_object_foreach(devices, dev_id, dk) {
		const char *curve = NULL, *ed = NULL;
		char *old_ed = NULL;
		int64_t was_signed = 0, dups = 0;
		bool xsigned;
		int crc;

		if (strcmp(user_id, e->user_id) == 0 && strcmp(dev_id, e->device_id) == 0)
			continue; /* ourselves */
		if ((crc = check_device(e, user_id, dev_id, dk, &curve, &ed))) {
			hlog_warn(E2E_MOD, "ignoring device %s of %s: its keys are not validly signed",
				  dev_id, user_id);
			if (crc == HE_CRYPTO && (rc = bad_device(e, user_id, dev_id, &nbad)))
				return rc;
			continue;
		}
		st = e2e_stmt(e, "SELECT ed25519, xsigned FROM e2e_device WHERE user_id = ? AND"
			      " device_id = ?", "ss", user_id, dev_id);
		if (!st)
			return HE_DB;
		if (db_step(st) == DB_ROW) {
			old_ed = e2e_col_str(st, 0);
			was_signed = db_col_int64(st, 1);
		}
		db_reset(st);
		if (old_ed && strcmp(old_ed, ed) != 0) {
			hlog_warn(E2E_MOD, "device %s of %s changed its signing key; keeping the old one",
				  dev_id, user_id);
			free(old_ed);
			continue;
		}
		free(old_ed);
		xsigned = e2e_trust_signed(e, user_id, dk, ssk);
		rc = e2e_sql(e, "INSERT INTO e2e_device (user_id, device_id, curve25519, ed25519,"
			     " xsigned) VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, device_id) DO UPDATE"
			     " SET curve25519 = excluded.curve25519, xsigned = excluded.xsigned,"
			     " deleted = 0", "ssssi", user_id, dev_id, curve, ed, (int64_t)xsigned);
		if (rc)
			return rc;
		if (was_signed && !xsigned)
			gone = true; /* no longer vouched for: its private chats get new sessions */
		st = e2e_stmt(e, "SELECT COUNT(*) FROM e2e_device WHERE curve25519 = ? AND deleted = 0",
			      "s", curve);
		if (!st)
			return HE_DB;
		if (db_step(st) == DB_ROW)
			dups = db_col_int64(st, 0);
		db_reset(st);
		if (dups > 1 || strcmp(curve, e->curve) == 0)
			hlog_warn(E2E_MOD, "device %s of %s claims an identity key another device claims "
				  "too; neither gets room keys unless it proves it holds the key",
				  dev_id, user_id);
	}
	/* Devices that disappeared: no more keys for them, and the rooms' sessions rotate. */
	st = e2e_stmt(e, "SELECT device_id FROM e2e_device WHERE user_id = ? AND deleted = 0", "s",
		      user_id);
	if (!st)
		return HE_DB;
	{
		json_t *gone_ids = json_array();
		size_t i;
		json_t *v;
		while (db_step(st) == DB_ROW) {
			const char *d = db_col_text(st, 0);
			if (!json_object_get(devices, d))
				json_array_append_new(gone_ids, json_string(d));
		}
		db_reset(st);
		json_array_foreach(gone_ids, i, v) {
			gone = true;
			rc = e2e_sql(e, "UPDATE e2e_device SET deleted = 1 WHERE user_id = ? AND"
				     " device_id = ?", "ss", user_id, json_string_value(v));
			if (rc)
				break;
		}
		json_decref(gone_ids);
	}
	if (rc == HE_OK && gone)
		rc = e2e_rotate_rooms_of(e, user_id);
	return rc;
}

int e2e_query_done(struct e2e *e, json_t *ctx, int status, json_t *resp)
{
	json_t *all = json_object_get(resp, "device_keys"), *failures = json_object_get(resp, "failures");
	const char *user;
	json_t *seq;
	int rc;

	e2e_req_result(e, REQ_QUERY, status == 200);
	if (status != 200)
		return HE_OK;
	if ((rc = e2e_begin(e)))
		return rc;
	json_object_foreach(ctx, user, seq) {
		json_t *devs = json_object_get(all, user);
		const char *at = strchr(user, ':');
		char *ssk = NULL;
		/* failures are keyed by server name: that user's list stays dirty */
		if (!json_is_object(devs) || (at && json_object_get(failures, at + 1)))
			continue;
		rc = e2e_trust_query(e, user, resp, &ssk);
		if (rc == HE_OK)
			rc = store_user_devices(e, user, devs, ssk);
		free(ssk);
		if (rc)
			break;
		rc = e2e_sql(e, "UPDATE e2e_user SET dirty = 0 WHERE user_id = ? AND dirty = ?", "si",
			     user, json_integer_value(seq));
		if (rc)
			break;
	}
	return e2e_commit(e, rc);
}

bool e2e_room_members_dirty(struct e2e *e, const char *room_id)
{
	struct db_stmt *st = e2e_stmt(e, "SELECT 1 FROM e2e_member m JOIN e2e_user u"
				    " ON u.user_id = m.user_id WHERE m.room_id = ? AND u.dirty > 0"
				    " LIMIT 1", "s", room_id);
	bool dirty;

	if (!st)
		return true;
	dirty = db_step(st) == DB_ROW;
	db_reset(st);
	return dirty;
}

int e2e_rotate_rooms_of(struct e2e *e, const char *user_id)
{
	e2e_ogs_forget(e, NULL); /* the sessions kept in memory: read again, rotate seen */
	return e2e_sql(e, "UPDATE e2e_outbound SET rotate = 1 WHERE room_id IN"
		       " (SELECT room_id FROM e2e_member WHERE user_id = ?)", "s", user_id);
}

int e2e_device_of(struct e2e *e, const char *user_id, const char *curve, char **device_id,
		  char **ed25519)
{
	struct db_stmt *st = e2e_stmt(e, "SELECT device_id, ed25519 FROM e2e_device WHERE user_id = ?"
				    " AND curve25519 = ? AND deleted = 0 LIMIT 2", "ss", user_id, curve);
	int rc = HE_NOTFOUND;

	*device_id = *ed25519 = NULL;
	if (!st)
		return HE_DB;
	if (db_step(st) == DB_ROW) {
		*device_id = e2e_col_str(st, 0);
		*ed25519 = e2e_col_str(st, 1);
		rc = *device_id && *ed25519 ? HE_OK : HE_NOMEM;
		if (rc == HE_OK && db_step(st) == DB_ROW)
			rc = HE_CRYPTO; /* two devices of one user with one key: believe neither */
	}
	db_reset(st);
	if (rc) {
		free(*device_id);
		free(*ed25519);
		*device_id = *ed25519 = NULL;
	}
	return rc;
}

int e2e_curve_proven(struct e2e *e, const char *curve, const char *user_id, const char *ed25519)
{
	return e2e_sql(e, "INSERT INTO e2e_curve_proof (curve25519, user_id, ed25519) VALUES (?, ?, ?)"
		       " ON CONFLICT (curve25519) DO UPDATE SET user_id = excluded.user_id,"
		       " ed25519 = excluded.ed25519", "sss", curve, user_id, ed25519);
}

/* --- rooms --- */

bool e2e_room_is_encrypted(struct e2e *e, const char *room_id)
{
	struct db_stmt *st = e2e_stmt(e, "SELECT 1 FROM e2e_room WHERE room_id = ?", "s", room_id);
	bool yes;

	if (!st)
		return true; /* when in doubt, never plaintext */
	yes = db_step(st) == DB_ROW;
	db_reset(st);
	return yes;
}

int e2e_room_encryption(struct e2e *e, const char *room_id, json_t *content)
{
	const char *alg = e2e_jstr(content, "algorithm");
	json_t *pms = json_object_get(content, "rotation_period_ms");
	json_t *pmsg = json_object_get(content, "rotation_period_msgs");
	int64_t ms = E2E_ROTATE_MS_DEFAULT, msgs = E2E_ROTATE_MSGS_DEFAULT;
	struct db_stmt *st;
	int rc;

	if (!room_id || !alg || strcmp(alg, ALG_MEGOLM) != 0) {
		hlog_warn(E2E_MOD, "room %s asks for encryption algorithm %s, which Hearth does not "
			  "support", room_id ? room_id : "?", alg ? alg : "(none)");
		return HE_INVAL;
	}
	if (json_is_integer(pms) && json_integer_value(pms) > 0)
		ms = json_integer_value(pms);
	if (json_is_integer(pmsg) && json_integer_value(pmsg) > 0)
		msgs = json_integer_value(pmsg);
	if ((rc = e2e_begin(e)))
		return rc;
	rc = e2e_sql(e, "INSERT INTO e2e_room (room_id, rotation_ms, rotation_msgs) VALUES (?, ?, ?)"
		     " ON CONFLICT (room_id) DO UPDATE SET rotation_ms = excluded.rotation_ms,"
		     " rotation_msgs = excluded.rotation_msgs", "sii", room_id, ms, msgs);
	if (rc)
		goto out;
	st = e2e_stmt(e, "SELECT user_id FROM e2e_member WHERE room_id = ?", "s", room_id);
	if (!st) {
		rc = HE_DB;
		goto out;
	}
	{
		json_t *users = json_array(), *v;
		size_t i;
		while (db_step(st) == DB_ROW)
			json_array_append_new(users, json_string(db_col_text(st, 0)));
		db_reset(st);
		json_array_foreach(users, i, v)
			if ((rc = e2e_track_user(e, json_string_value(v))))
				break;
		json_decref(users);
	}
out:
	rc = e2e_commit(e, rc);
	e2e_pump(e);
	return rc;
}

int e2e_room_member_change(struct e2e *e, const char *room_id, const char *user_id,
			   const char *membership)
{
	int rc;

	if (!room_id || !user_id || !membership)
		return HE_INVAL;
	if (strcmp(membership, "join") == 0 || strcmp(membership, "invite") == 0) {
		rc = e2e_sql(e, "INSERT INTO e2e_member (room_id, user_id) VALUES (?, ?)"
			     " ON CONFLICT DO NOTHING", "ss", room_id, user_id);
		if (rc == HE_OK && e2e_room_is_encrypted(e, room_id))
			rc = e2e_track_user(e, user_id);
		e2e_pump(e);
		return rc;
	}
	rc = e2e_sql(e, "DELETE FROM e2e_member WHERE room_id = ? AND user_id = ?", "ss", room_id,
		     user_id);
	if (rc == HE_OK && db_last_changes(store_sql(e->st)) > 0) {
		e2e_ogs_forget(e, room_id);
		rc = e2e_sql(e, "UPDATE e2e_outbound SET rotate = 1 WHERE room_id = ?", "s", room_id);
	}
	return rc;
}
