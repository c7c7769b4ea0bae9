/* e2e_withheld.c - m.room_key.withheld: when Hearth refuses a device a room key, the device is
 * told so (once per session), with the code that says why, so its client shows "the sender did
 * not share the key with this device (unverified)" instead of waiting for a key forever. */
#include "net/matrix/crypto/e2e_int.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"

#include <string.h>

#define ALG_MEGOLM "m.megolm.v1.aes-sha2"

int e2e_withhold(struct e2e *e, json_t **msgs, const char *room_id, const char *session_id,
		 const char *user_id, const char *device_id, const char *code, const char *reason)
{
	struct db_stmt *st;
	json_t *per, *c;
	bool told;
	int rc;

	st = e2e_stmt(e, "SELECT 1 FROM e2e_withheld_out WHERE room_id = ? AND session_id = ? AND"
		      " user_id = ? AND device_id = ?", "ssss", room_id, session_id, user_id, device_id);
	if (!st)
		return HE_DB;
	told = e2e_has_row(st);
	if (told)
		return HE_OK;
	if ((rc = e2e_sql(e, "INSERT INTO e2e_withheld_out (room_id, session_id, user_id, device_id,"
			  " code) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", "sssss", room_id,
			  session_id, user_id, device_id, code)))
		return rc;
	if (!*msgs && !(*msgs = json_object()))
		return HE_NOMEM;
	c = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "algorithm", ALG_MEGOLM, "room_id", room_id,
		      "session_id", session_id, "sender_key", e->curve, "code", code, "reason",
		      reason);
	if (!c)
		return HE_NOMEM;
	if (!(per = json_object_get(*msgs, user_id)))
		json_object_set_new(*msgs, user_id, per = json_object());
	json_object_set_new(per, device_id, c);
	hlog_info(E2E_MOD, "room key of %s withheld from %s %s (%s)", room_id, user_id, device_id, code);
	return HE_OK;
}

int e2e_withhold_send(struct e2e *e, json_t *msgs)
{
	if (!msgs || json_object_size(msgs) == 0) {
		json_decref(msgs);
		return HE_OK;
	}
	return e2e_send_to_device(e, REQ_TODEVICE_OTHER, "m.room_key.withheld", msgs, NULL);
}

/* ---- a key withheld from Hearth ---- */

int e2e_withheld_receive(struct e2e *e, json_t *ev)
{
	json_t *c = json_object_get(ev, "content");
	const char *sender = e2e_jstr(ev, "sender"), *room = e2e_jstr(c, "room_id");
	const char *sid = e2e_jstr(c, "session_id"), *key = e2e_jstr(c, "sender_key");
	const char *code = e2e_jstr(c, "code");

	if (!sender || !room || !sid || !key || !code || strlen(room) > 255 || strlen(sid) > 128 ||
	    strlen(code) > 64)
		return HE_PROTO;
	/* only from a device of its sender (the homeserver sets the sender; the key must be theirs) */
	if (!e2e_has_row(e2e_stmt(e, "SELECT 1 FROM e2e_device WHERE user_id = ? AND curve25519 = ?"
				  " AND deleted = 0", "ss", sender, key)))
		return HE_PERM;
	hlog_info(E2E_MOD, "%s withheld the key of a session in %s from me (%s)", sender, room, code);
	return e2e_sql(e, "INSERT INTO e2e_withheld_in (room_id, session_id, user_id, code)"
		       " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", "ssss", room, sid, sender, code);
}

json_t *e2e_take_withheld_notices(struct e2e *e)
{
	/* a message of the member's waits for a key they said they withheld; each member once
	 * per room */
	struct db_stmt *st = e2e_stmt(e, "SELECT DISTINCT w.room_id, w.user_id, w.code FROM"
				    " e2e_withheld_in w WHERE EXISTS (SELECT 1 FROM e2e_blocked b WHERE"
				    " b.room_id = w.room_id AND b.session_id = w.session_id) AND NOT"
				    " EXISTS (SELECT 1 FROM e2e_withheld_told t WHERE t.room_id ="
				    " w.room_id AND t.user_id = w.user_id)", "");
	json_t *arr = json_array(), *n;
	size_t i;

	if (!st || !arr) {
		if (st)
			db_reset(st);
		json_decref(arr);
		return NULL;
	}
	while (db_step(st) == DB_ROW)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "room_id", db_col_text(st, 0),
						     "user_id", db_col_text(st, 1), "code",
						     db_col_text(st, 2)));
	db_reset(st);
	json_array_foreach(arr, i, n) {
		if (e2e_sql(e, "INSERT INTO e2e_withheld_told (room_id, user_id) VALUES (?, ?)"
			    " ON CONFLICT DO NOTHING", "ss", e2e_jstr(n, "room_id"),
			    e2e_jstr(n, "user_id"))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}
