/* e2e_trust.c - members' cross-signing identities, and who may read a private chat.
 *
 * A private chat (an encrypted room whose members are Hearth and one member) carries health
 * data, so its room key goes only to devices the member vouches for. A member with
 * cross-signing keys vouches by signing a device with their self-signing key, itself signed by
 * their master key. The master key is pinned the first time Hearth sees it (e2e_identity).
 * When /keys/query later shows another master key (or none), Hearth keeps trusting what the
 * pinned keys signed, trusts nothing new, logs it and owes the member a notice
 * (e2e_take_identity_notices); e2e_identity_confirm() pins the new key once the member says
 * the change was theirs. A member without cross-signing keys keeps what every room has: every
 * device whose own signature verifies. */
#include "net/matrix/crypto/e2e_int.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

/* The public key of a cross-signing key object of user with usage, or NULL. */
static const char *xkey(json_t *obj, const char *user, const char *usage)
{
	json_t *keys = json_object_get(obj, "keys"), *u, *v;
	const char *kid, *pub = NULL;
	bool has_usage = false;
	size_t i;

	if (!json_is_object(obj) || !e2e_jstr(obj, "user_id") ||
	    strcmp(e2e_jstr(obj, "user_id"), user) != 0 || json_object_size(keys) != 1)
		return NULL;
	json_array_foreach(json_object_get(obj, "usage"), i, u)
		if (json_is_string(u) && strcmp(json_string_value(u), usage) == 0)
			has_usage = true;
	json_object_foreach(keys, kid, v) {
		if (strncmp(kid, "ed25519:", 8) == 0 && json_is_string(v) &&
		    strcmp(kid + 8, json_string_value(v)) == 0 && strlen(json_string_value(v)) <= 100)
			pub = json_string_value(v);
	}
	return has_usage ? pub : NULL;
}

/* The self-signing key in resp for user when the master key signed it, else NULL. */
static const char *valid_ssk(struct e2e *e, const char *user, json_t *resp, const char *master)
{
	json_t *obj = json_object_get(json_object_get(resp, "self_signing_keys"), user);
	const char *ssk = xkey(obj, user, "self_signing");
	char kid[120];

	if (!ssk || !master)
		return NULL;
	snprintf(kid, sizeof(kid), "ed25519:%s", master);
	if (e2e_verify_json(e, obj, user, kid, master)) {
		hlog_warn(E2E_MOD, "the self-signing key of %s is not signed by their master key; "
			  "none of their devices is vouched for", user);
		return NULL;
	}
	return ssk;
}

int e2e_trust_query(struct e2e *e, const char *user, json_t *resp, char **ssk_out)
{
	const char *seen = xkey(json_object_get(json_object_get(resp, "master_keys"), user), user,
				"master");
	const char *ssk = NULL;
	char *master = NULL, *old_ssk = NULL, *pending = NULL;
	struct db_stmt *st;
	int rc = HE_OK;

	*ssk_out = NULL;
	if (strcmp(user, e->user_id) == 0)
		return HE_OK; /* Hearth's own keys are its own business (e2e_xsign.c) */
	st = e2e_stmt(e, "SELECT master, ssk, pending FROM e2e_identity WHERE user_id = ?", "s", user);
	if (!st)
		return HE_DB;
	if (db_step(st) == DB_ROW) {
		master = e2e_col_str(st, 0);
		old_ssk = e2e_col_str(st, 1);
		pending = e2e_col_str(st, 2);
	}
	db_reset(st);
	if (!master) {
		if (!seen)
			goto out; /* no cross-signing: every self-signed device, as in any room */
		ssk = valid_ssk(e, user, resp, seen);
		hlog_info(E2E_MOD, "pinned the cross-signing identity of %s", user);
		rc = e2e_sql(e, "INSERT INTO e2e_identity (user_id, master, ssk, pending, notify)"
			     " VALUES (?, ?, ?, NULL, 0) ON CONFLICT (user_id) DO UPDATE SET"
			     " master = excluded.master, ssk = excluded.ssk, pending = NULL, notify = 0",
			     "sss", user, seen, ssk);
	} else if (seen && strcmp(seen, master) == 0) {
		ssk = valid_ssk(e, user, resp, master);
		if (pending)
			hlog_info(E2E_MOD, "the cross-signing identity of %s is the pinned one again", user);
		rc = e2e_sql(e, "UPDATE e2e_identity SET ssk = ?, pending = NULL, notify = 0 WHERE"
			     " user_id = ?", "ss", ssk, user);
	} else {
		/* another master key, or none: what the pinned keys signed stays trusted, nothing
		 * new is, until the member confirms */
		const char *want = seen ? seen : "";
		ssk = old_ssk;
		if (!pending || strcmp(pending, want) != 0) {
			hlog_warn(E2E_MOD, "the cross-signing identity of %s changed%s; their private "
				  "chats go only to the devices vouched for before until they confirm",
				  user, seen ? "" : " (their keys are gone)");
			rc = e2e_sql(e, "UPDATE e2e_identity SET pending = ?, notify = 1 WHERE"
				     " user_id = ?", "ss", want, user);
		}
	}
	if (rc == HE_OK && ssk && !(*ssk_out = strdup(ssk)))
		rc = HE_NOMEM;
out:
	free(master);
	free(old_ssk);
	free(pending);
	return rc;
}

bool e2e_trust_signed(struct e2e *e, const char *user, json_t *dk, const char *ssk)
{
	char kid[120];

	if (!ssk)
		return false;
	snprintf(kid, sizeof(kid), "ed25519:%s", ssk);
	return e2e_verify_json(e, dk, user, kid, ssk) == HE_OK;
}

bool e2e_trust_may_share(bool private_chat, bool has_identity, bool xsigned, int dups,
			 bool proven)
{
	if (dups > 1 && !proven)
		return false; /* an identity key claimed twice: neither claim is believed */
	if (private_chat && has_identity && !xsigned)
		return false; /* health data: only devices the member signed */
	return true;
}

json_t *e2e_take_identity_notices(struct e2e *e)
{
	/* only members who have a private chat with Hearth: nobody else is affected */
	struct db_stmt *st = e2e_stmt(e, "SELECT i.user_id FROM e2e_identity i WHERE i.notify = 1 AND"
				    " EXISTS (SELECT 1 FROM e2e_member m JOIN e2e_room r ON"
				    " r.room_id = m.room_id WHERE m.user_id = i.user_id AND"
				    " (SELECT COUNT(*) FROM e2e_member m2 WHERE m2.room_id = m.room_id"
				    " AND m2.user_id != ?) = 1)", "s", e->user_id);
	json_t *arr = json_array();

	if (!st || !arr) {
		if (st)
			db_reset(st);
		json_decref(arr);
		return NULL;
	}
	while (db_step(st) == DB_ROW)
		json_array_append_new(arr, json_string(db_col_text(st, 0)));
	db_reset(st);
	if (e2e_sql(e, "UPDATE e2e_identity SET notify = 0 WHERE notify = 1", "")) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

bool e2e_identity_pending(struct e2e *e, const char *user_id)
{
	return e2e_has_row(e2e_stmt(e, "SELECT 1 FROM e2e_identity WHERE user_id = ? AND pending IS"
				   " NOT NULL", "s", user_id));
}

bool e2e_device_trusted(struct e2e *e, const char *user_id, const char *device_id)
{
	return e2e_has_row(e2e_stmt(e, "SELECT 1 FROM e2e_device WHERE user_id = ? AND device_id = ?"
				   " AND deleted = 0 AND xsigned = 1", "ss", user_id, device_id));
}

int e2e_identity_confirm(struct e2e *e, const char *user_id, const char *device_id)
{
	struct db_stmt *st;
	bool any_trusted;
	int rc;

	if (!e2e_identity_pending(e, user_id))
		return HE_NOTFOUND;
	st = e2e_stmt(e, "SELECT 1 FROM e2e_device WHERE user_id = ? AND deleted = 0 AND"
		      " xsigned = 1 LIMIT 1", "s", user_id);
	if (!st)
		return HE_DB;
	any_trusted = db_step(st) == DB_ROW;
	db_reset(st);
	/* while the member still has a device they vouched for, the confirmation comes from it */
	if (any_trusted && (!device_id || !e2e_device_trusted(e, user_id, device_id))) {
		hlog_warn(E2E_MOD, "%s confirmed a new cross-signing identity from a device they had "
			  "not vouched for; not accepted", user_id);
		return HE_PERM;
	}
	if ((rc = e2e_begin(e)))
		return rc;
	rc = e2e_sql(e, "UPDATE e2e_identity SET master = NULLIF(pending, ''), ssk = NULL,"
		     " pending = NULL, notify = 0 WHERE user_id = ?", "s", user_id);
	/* the devices are queried again and checked against the new keys before the next send */
	if (rc == HE_OK)
		rc = e2e_track_user(e, user_id);
	if (rc == HE_OK)
		rc = e2e_sql(e, "UPDATE e2e_user SET dirty = (SELECT COALESCE(MAX(dirty), 0) + 1 FROM"
			     " e2e_user) WHERE user_id = ?", "s", user_id);
	rc = e2e_commit(e, rc);
	if (rc == HE_OK) {
		hlog_info(E2E_MOD, "%s confirmed their new cross-signing identity", user_id);
		e->dirty_seq = 0; /* re-read: the SQL above moved it */
		e2e_pump(e);
	}
	return rc;
}

bool e2e_room_private_with(struct e2e *e, const char *room_id, const char *user_id)
{
	struct db_stmt *st = e2e_stmt(e, "SELECT COUNT(*), SUM(CASE WHEN user_id = ? THEN 1 ELSE 0 END) FROM e2e_member WHERE"
				    " room_id = ? AND user_id != ?", "sss", user_id, room_id,
				    e->user_id);
	bool yes = false;

	if (!st)
		return false;
	if (db_step(st) == DB_ROW)
		yes = db_col_int(st, 0) == 1 && db_col_int(st, 1) == 1;
	db_reset(st);
	return yes && e2e_room_is_encrypted(e, room_id);
}
