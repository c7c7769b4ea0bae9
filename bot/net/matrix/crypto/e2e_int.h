/* e2e_int.h - shared internals of the e2e module. Only files in bot/net/matrix/crypto/ include
 * this; it is the one place (besides the .c files) that knows about libolm. */
#ifndef HEARTH_E2E_INT_H
#define HEARTH_E2E_INT_H

#include "net/matrix/crypto/e2e.h"

#include <olm/olm.h>
#include <olm/pk.h>
#include <stdint.h>

#define E2E_MOD "e2e"
#define ALG_OLM "m.olm.v1.curve25519-aes-sha2"
#define ALG_MEGOLM "m.megolm.v1.aes-sha2"
#define OTK_ALG "signed_curve25519"

#define E2E_MAX_CIPHERTEXT (256 * 1024) /* bytes of base64 accepted in one message */
#define E2E_MAX_EVENT (64 * 1024)       /* bytes of a blocked event kept for a retry */
#define E2E_MAX_TO_DEVICE 1000          /* to-device events handled per sync batch */
#define E2E_MAX_BLOCKED 2000            /* events kept waiting for their keys */
#define E2E_MAX_BLOCKED_PER_SENDER 50   /* of which from one sender */
#define E2E_BLOCKED_TTL_MS (10ULL * 60 * 1000) /* an event waits this long for its key at most */
#define E2E_ROTATE_MS_DEFAULT (7ULL * 24 * 3600 * 1000)
#define E2E_ROTATE_MSGS_DEFAULT 100
#define E2E_REPAIR_INTERVAL_MS (3600ULL * 1000)   /* one wedged-session repair per device/hour */
#define E2E_NO_OTK_RETRY_MS (3600ULL * 1000)      /* a device without one-time keys: retry later */
#define E2E_KEY_REQUEST_RETRY_MS (3600ULL * 1000) /* re-ask for a missing room key */
#define E2E_INBOUND_TOUCH_MS (3600ULL * 1000)     /* an inbound session's last use, to the hour */
#define E2E_MAX_BAD_DEVICES 20                    /* badly signed devices remembered per user */

enum e2e_req_kind {
	REQ_UPLOAD = 1,
	REQ_QUERY,
	REQ_CLAIM,
	REQ_TODEVICE_KEY,   /* encrypted m.room_key for ctx {room_id, session_id, devices} */
	REQ_TODEVICE_OTHER, /* key requests, dummies: fire and forget */
	REQ_XSIGN_KEYS,
	REQ_XSIGN_SIGS,
};

struct e2e_req {
	struct e2e_request pub;
	enum e2e_req_kind kind;
	bool handed;
	char *path;
	json_t *ctx; /* kind-specific context */
	struct e2e_req *next;
};

struct e2e {
	struct store *st;
	char *user_id;
	char *device_id;
	unsigned char olm_key[32];  /* pickle key for libolm objects (derived) */
	unsigned char seal_key[32]; /* secretbox key for cross-signing seeds (derived) */
	OlmAccount *acct;
	OlmUtility *util;
	char curve[64];
	char ed[64];
	int otk_count;            /* one-time keys on the server; -1 unknown */
	bool need_fallback;       /* the server has no unused fallback key */
	bool keys_published;      /* device keys uploaded */
	struct e2e_req *reqs;
	unsigned long next_id;
	int64_t dirty_seq;
	uint64_t retry_at[REQ_XSIGN_SIGS + 1]; /* backoff after a failed request, per kind */
	uint64_t backoff_ms[REQ_XSIGN_SIGS + 1];
	uint64_t (*now_ms)(void);  /* the clock, replaceable in tests */
	uint64_t pruned_ms;        /* last e2e_prune run (e2e_prune.c) */
	uint64_t fallback_ms;      /* a new fallback key published then: the old one goes later */
	/* e2e_begin nesting: bit i set when level i opened the transaction itself (BEGIN), clear
	 * when it is a savepoint inside a caller's transaction. */
	uint32_t tx_own;
	int tx_depth;
	json_t *sas_in;            /* decrypted verification events for the flow (e2e_sas.c) */
	struct e2e_ogs_cache *ogs; /* outbound sessions in use, by room (e2e_outbound.c) */
	struct e2e_igs_cache *igs; /* inbound sessions unpickled, by room + session (e2e_megolm.c) */
	/* Grows with every write through e2e_sql that changed rows or failed (but the per-message
	 * bookkeeping: seen indexes, last use) and with every transaction rolled back
	 * (e2e_commit): what was derived from the store at one value (a room's members have their
	 * device lists, every device has the outbound key, a sender's device) still holds while
	 * it is unchanged. Every table of the crypto state is written only in this module. */
	uint64_t wgen;
	bool quiet;                /* e2e_sql does not count the write (e2e_megolm.c) */
	/* The pumps found nothing to do at these wgen values (and, for the account, with these
	 * counts from the server): until one changes, a sync runs none of their reads. */
	struct {
		bool on;
		uint64_t gen;
	} idle_query, idle_claim, idle_acct;
	int idle_otk_count;
	bool idle_need_fallback, idle_published;
};

/* util */
uint64_t e2e_clock_ms(void);
void e2e_random(void *buf, size_t len);
char *e2e_canonical(json_t *obj); /* without signatures/unsigned; malloc'd */
int e2e_sign_json(struct e2e *e, json_t *obj);  /* adds our device's signature */
/* Verifies obj's signature by user_id's key_id (e.g. "ed25519:DEV") with the base64 ed25519
 * public key. 0 or HE_CRYPTO. */
int e2e_verify_json(struct e2e *e, json_t *obj, const char *user_id, const char *key_id,
		    const char *ed25519);
/* db_stmtf/db_runf (store/db.h, the one SQL binder) on the crypto state's store. */
int e2e_sql(struct e2e *e, const char *sql, const char *fmt, ...);
int e2e_sql_n(struct e2e *e, int64_t *changes, const char *sql, const char *fmt, ...);
struct db_stmt *e2e_stmt(struct e2e *e, const char *sql, const char *fmt, ...);
/* Steps st (from e2e_stmt) once and resets it: true when it gave a row. NULL gives false. */
bool e2e_has_row(struct db_stmt *st);
char *e2e_col_str(struct db_stmt *st, int col); /* malloc'd copy or NULL */
/* A known (not deleted) device's curve25519 and ed25519 keys, malloc'd (the caller frees both);
 * HE_NOTFOUND (both NULL) when the device is unknown, HE_DB on a store error. */
int e2e_device_keys(struct e2e *e, const char *user_id, const char *device_id, char **curve, char **ed);
int e2e_begin(struct e2e *e);
int e2e_commit(struct e2e *e, int rc); /* commits when rc == 0, else rolls back; returns rc */
const char *e2e_jstr(json_t *obj, const char *key); /* string member or NULL */

/* requests */
struct e2e_req *e2e_req_add(struct e2e *e, enum e2e_req_kind kind, const char *method,
			    const char *path, json_t *body, json_t *ctx); /* steals body, ctx */
bool e2e_req_pending(struct e2e *e, enum e2e_req_kind kind);
/* true when a request of kind may be queued now (none pending, no backoff running) */
bool e2e_req_may(struct e2e *e, enum e2e_req_kind kind);
void e2e_req_result(struct e2e *e, enum e2e_req_kind kind, bool ok);
void e2e_pump(struct e2e *e);
int e2e_send_to_device(struct e2e *e, enum e2e_req_kind kind, const char *type, json_t *messages,
		       json_t *ctx); /* steals messages, ctx */

/* account (e2e_account.c) */
int e2e_account_load(struct e2e *e);
int e2e_account_save(struct e2e *e);
int e2e_account_pump(struct e2e *e);
int e2e_account_counts(struct e2e *e, json_t *otk_counts, json_t *fallback_types);
json_t *e2e_account_device_keys(struct e2e *e); /* signed, as uploaded */
int e2e_account_upload_done(struct e2e *e, int status, json_t *resp);

/* devices and rooms (e2e_devices.c) */
int e2e_track_user(struct e2e *e, const char *user_id);
int e2e_device_lists(struct e2e *e, json_t *device_lists);
int e2e_query_pump(struct e2e *e);
int e2e_query_done(struct e2e *e, json_t *ctx, int status, json_t *resp);
bool e2e_room_members_dirty(struct e2e *e, const char *room_id);
int e2e_rotate_rooms_of(struct e2e *e, const char *user_id);
/* e2e_outbound.c: the outbound sessions kept in memory between messages. forget: room_id's
 * (NULL: every room's), when the store marks it for rotation; free: all, at e2e_free. index:
 * the message index the room's next message will use (tests). */
void e2e_ogs_forget(struct e2e *e, const char *room_id);
void e2e_ogs_free(struct e2e *e);
int e2e_outbound_next_index(struct e2e *e, const char *room_id, uint32_t *index);
/* e2e_megolm.c: the inbound sessions kept unpickled. drop: room_id's session_id (room_id NULL:
 * all), wiped, read from the store again at the next use; free: all, at e2e_free. cached: how
 * many are kept (tests). */
void e2e_igs_drop(struct e2e *e, const char *room_id, const char *session_id);
void e2e_igs_free(struct e2e *e);
int e2e_igs_cached(struct e2e *e);
/* The device of user_id whose identity key is curve: its id and ed25519 key (malloc'd).
 * Devices are always looked up by user and key together, never by key alone: a device of
 * someone else that copies a member's key changes nothing for the member. HE_NOTFOUND, or
 * HE_CRYPTO when two devices of user_id claim the key (neither is believed). */
int e2e_device_of(struct e2e *e, const char *user_id, const char *curve, char **device_id,
		  char **ed25519);
/* The device (user_id, ed25519) proved that it holds curve: an Olm message from curve
 * decrypted and named them. Only the key's holder can do that. */
int e2e_curve_proven(struct e2e *e, const char *curve, const char *user_id, const char *ed25519);

/* Olm (e2e_olm.c) */
int e2e_olm_to_device(struct e2e *e, json_t *event);
/* A decrypted m.key.verification.* event, kept for e2e_sas_take_events() (e2e_sas.c). */
void e2e_sas_received(struct e2e *e, const char *sender, const char *sender_device,
		      const char *type, json_t *content);
/* Encrypts payload {type, content} for one device; *out is the m.room.encrypted content.
 * HE_NOTFOUND when there is no Olm session with it. */
int e2e_olm_encrypt(struct e2e *e, const char *user_id, const char *device_id, const char *curve,
		    const char *ed25519, const char *type, json_t *content, json_t **out);
bool e2e_olm_has_session(struct e2e *e, const char *curve);
int e2e_olm_need(struct e2e *e, const char *user_id, const char *device_id, int repair);
int e2e_claim_pump(struct e2e *e);
int e2e_claim_done(struct e2e *e, json_t *ctx, int status, json_t *resp);

/* Megolm (e2e_megolm.c, e2e_outbound.c) */
/* sender: the user whose device sent the key over Olm (the session's messages must come
 * from that user); NULL for a forwarded key. */
int e2e_room_key_received(struct e2e *e, const char *sender, const char *sender_key,
			  const char *claimed_ed25519, json_t *content, bool forwarded);
int e2e_share_done(struct e2e *e, json_t *ctx, int status);
int e2e_inbound_add(struct e2e *e, const char *room_id, const char *sender,
		    const char *sender_key, const char *ed25519, const char *session_key,
		    bool exported);

/* cross-signing (e2e_xsign.c) */
int e2e_xsign_done(struct e2e *e, enum e2e_req_kind kind, int status, json_t *resp);
int e2e_xsign_device_lost(struct e2e *e); /* the device's signature must go up again */

/* members' cross-signing identities (e2e_trust.c) */
/* From one /keys/query answer for user_id: pins the master key on first sight, notes a changed
 * one (a notice is owed, nothing new is trusted until e2e_identity_confirm), and returns in
 * *ssk the self-signing key (malloc'd, NULL when none) that vouches for the user's devices. */
int e2e_trust_query(struct e2e *e, const char *user_id, json_t *resp, char **ssk);
/* Whether dk (device keys as listed) carries a valid signature of user_id's key ssk. */
bool e2e_trust_signed(struct e2e *e, const char *user_id, json_t *dk, const char *ssk);
/* Whether a room key may go to this device. private_chat: the room's members are Hearth and
 * the device's user only. has_identity: the user has (or had) cross-signing keys. xsigned: the
 * device is signed by their pinned self-signing key. dups: devices claiming its identity key
 * (Hearth's own key counts as one). proven: it proved to hold that key. */
bool e2e_trust_may_share(bool private_chat, bool has_identity, bool xsigned, int dups,
			 bool proven);

/* withheld (e2e_withheld.c): adds to *msgs (created when NULL) the m.room_key.withheld for a
 * refused device (code and a reason in plain words), unless it was told for this session
 * before; e2e_withhold_send queues them (steals msgs). */
int e2e_withhold(struct e2e *e, json_t **msgs, const char *room_id, const char *session_id,
		 const char *user_id, const char *device_id, const char *code, const char *reason);
int e2e_withhold_send(struct e2e *e, json_t *msgs);
/* An m.room_key.withheld to Hearth (plain to-device event): recorded when its sender_key is a
 * device of its sender. */
int e2e_withheld_receive(struct e2e *e, json_t *ev);

#endif
