/* e2e_prune.c - the encryption store stays bounded: old Olm sessions, the used fallback key and
 * old seen-message indexes go (see e2e_prune in e2e.h). */
#include "net/matrix/crypto/e2e_int.h"
#include "core/err.h"
#include "core/log.h"

#include <olm/olm.h>

int e2e_prune(struct e2e *e)
{
	uint64_t now = e->now_ms();
	int rc;

	e->pruned_ms = now;
	if ((rc = e2e_begin(e)))
		return rc;
	/* Per device (its identity key), the newest sessions by last use are kept: a device that
	 * keeps starting new ones (or a hostile one) cannot grow the table. The derived table is
	 * named: PostgreSQL before 16 refuses one without a name (unit.e2e_prune.pg). */
	rc = e2e_sql(e, "DELETE FROM e2e_olm_session WHERE session_id IN (SELECT session_id FROM"
		     " (SELECT session_id, ROW_NUMBER() OVER (PARTITION BY sender_key ORDER BY"
		     " last_used DESC, session_id) AS n FROM e2e_olm_session) AS r WHERE n > ?)",
		     "i", (int64_t)E2E_OLM_KEEP);
	/* Room keys received: per room and sending device, the newest by last use stay, however
	 * old (a late message from that sender can still be read); beyond those, what was not
	 * used for E2E_INBOUND_IDLE_MS goes. A sender that keeps making sessions cannot grow the
	 * table for longer than that. */
	if (rc == HE_OK && now > E2E_INBOUND_IDLE_MS)
		rc = e2e_sql(e, "DELETE FROM e2e_inbound WHERE used_ms < ? AND (room_id, session_id) IN"
			     " (SELECT room_id, session_id FROM (SELECT room_id, session_id, ROW_NUMBER()"
			     " OVER (PARTITION BY room_id, sender_key ORDER BY used_ms DESC, session_id)"
			     " AS n FROM e2e_inbound) AS r WHERE n > ?)", "ii",
			     (int64_t)(now - E2E_INBOUND_IDLE_MS), (int64_t)E2E_INBOUND_KEEP);
	if (rc == HE_OK && now > E2E_SEEN_KEEP_MS)
		rc = e2e_sql(e, "DELETE FROM e2e_seen WHERE seen_ms < ?", "i",
			     (int64_t)(now - E2E_SEEN_KEEP_MS));
	if (rc == HE_OK && e->fallback_ms && now - e->fallback_ms >= E2E_FALLBACK_GRACE_MS) {
		/* messages sent with the used key before its successor went up have had their time */
		olm_account_forget_old_fallback_key(e->acct);
		e->fallback_ms = 0;
		rc = e2e_account_save(e);
	}
	e2e_igs_drop(e, NULL, NULL); /* sessions pruned are read (and missed) from the store */
	return e2e_commit(e, rc);
}
