/* e2e_withheld.c - m.room_key.withheld: when Hearth refuses a device a room key, the device is
 * told so (once per session), with the code that says why, so its client shows "the sender did
 * not share the key with this device (unverified)" instead of waiting for a key forever. */
#include "net/matrix/crypto/e2e_int.h"
#include "core/err.h"
#include "core/log.h"

#include <string.h>

#define ALG_MEGOLM "m.megolm.v1.aes-sha2"

int e2e_withhold(struct e2e *e, json_t **msgs, const char *room_id, const char *session_id,
		 const char *user_id, const char *device_id, const char *code)
{
	sqlite3_stmt *st;
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
		      strcmp(code, "m.blacklisted") == 0
			      ? "This device's identity key is claimed by another device."
			      : "This device is not verified by its owner's cross-signing key.");
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
