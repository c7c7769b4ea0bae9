/* e2e.h - Matrix end-to-end encryption (Olm/Megolm), sans-I/O.
 *
 * The module keeps the device's Olm account, Olm sessions, Megolm sessions, the device lists of
 * the members of encrypted rooms and the cross-signing keys in the store (its own tables, module
 * "e2e"). It never does network I/O: the transport feeds it what /sync delivered and the
 * responses to the HTTP requests it asked for. No libolm type appears here, so the engine behind
 * this header can be replaced (vodozemac) without touching the transport.
 *
 * Wiring it into a transport (every step runs in the event loop; nothing here blocks):
 *  1. Once: e2e_load_pickle_key(DATA_DIR "/e2e.key", key) (creates it 0600), then after login,
 *     when the device id is known, e2e_new(store, user_id, device_id, key, &e). The first start
 *     creates the account and queues /keys/upload. Call e2e_cross_signing_bootstrap(e) once
 *     (it is a no-op when already done) to make the bot's device cross-signed.
 *  2. After every e2e_* call, drain e2e_outgoing(): send each request (method, path under
 *     /_matrix/client/v3, JSON body) and report it with e2e_request_done(id, status, body);
 *     status 0 with response NULL for a network failure. A request stays valid (and is not
 *     handed out again) until reported. Retry 429/5xx yourself with the same path and body:
 *     sendToDevice paths carry their transaction id, so a retry is idempotent.
 *     POST /keys/device_signing/upload needs user-interactive auth: on a 401 with a "session",
 *     add "auth": {"type": "m.login.password", "identifier": {"type": "m.id.user", "user":
 *     USER}, "password": PASSWORD, "session": SESSION} to the request's body (you may modify
 *     it) and send it again; report only the final answer.
 *  3. For each /sync batch, in this order: e2e_receive_sync_changes(to_device.events,
 *     device_lists, device_one_time_keys_count, device_unused_fallback_key_types) (any may be
 *     NULL; it may also be called once per part in that order); then for every joined room, the
 *     state and timeline events in order: m.room.encryption → e2e_room_encryption();
 *     m.room.member → e2e_room_member_change() (also for the initial member list:
 *     GET /rooms/{id}/joined_members once when a room is first seen encrypted, with "join");
 *     m.room.encrypted → e2e_decrypt_room_event(). Then e2e_take_unblocked() and handle each
 *     returned event as if it had just arrived (its key came in this batch). Persist next_batch
 *     only after all this returned: every state change is already in the store.
 *  4. Sending into a room for which e2e_room_is_encrypted() is true: e2e_encrypt_room_event()
 *     until it returns HE_OK (HE_AGAIN: drain and answer the outgoing requests, then call again;
 *     never send plaintext instead), then PUT /rooms/{id}/send/m.room.encrypted/{txn} with the
 *     returned content.
 *  5. Private chats: createRoom with e2e_encryption_state_event() in initial_state, and call
 *     e2e_room_encryption() + e2e_room_member_change() for the invitee right away.
 *  6. After each sync and each reported request: e2e_take_identity_notices(), and tell each
 *     member returned, in their private chat, that their keys changed; their confirmation goes
 *     to e2e_identity_confirm() with the device the decrypted message came from.
 *
 * Every function returns HE_OK or a negative HE_* code (core/err.h); JSON arguments are borrowed,
 * JSON results are new references the caller owns. Secrets never reach the log. */
#ifndef HEARTH_E2E_H
#define HEARTH_E2E_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct e2e;

#define E2E_PICKLE_KEY_LEN 32

/* Reads the 32-byte pickle key from path, creating it (mode 0600, random) when missing.
 * HE_PERM when the file is readable or writable by group or others, or not owned by us. */
int e2e_load_pickle_key(const char *path, unsigned char key[E2E_PICKLE_KEY_LEN]);

/* Loads this device's crypto state from st (creating the account on first use). st is
 * borrowed and must outlive e. HE_CRYPTO when the stored account does not open with pickle_key
 * or belongs to another user/device. */
int e2e_new(struct store *st, const char *user_id, const char *device_id,
	    const unsigned char pickle_key[E2E_PICKLE_KEY_LEN], struct e2e **out);
void e2e_free(struct e2e *e); /* accepts NULL; requests not yet reported are dropped */

/* The device's public identity keys (unpadded base64), valid for e's lifetime. */
const char *e2e_curve25519_key(const struct e2e *e);
const char *e2e_ed25519_key(const struct e2e *e);

/* One /sync batch's crypto input; any argument may be NULL. to_device_events: the array
 * to_device.events; device_lists: {"changed": [...], "left": [...]}; otk_counts: the object
 * device_one_time_keys_count; unused_fallback_key_types: the array (NULL = not reported).
 * Undecryptable to-device events are logged and skipped; the result is an error only for a
 * store failure. */
int e2e_receive_sync_changes(struct e2e *e, json_t *to_device_events, json_t *device_lists,
			     json_t *otk_counts, json_t *unused_fallback_key_types);

/* m.room.encryption content for room_id (algorithm, rotation_period_ms, rotation_period_msgs).
 * Once encrypted, a room stays encrypted. HE_INVAL for an algorithm other than Megolm v1. */
int e2e_room_encryption(struct e2e *e, const char *room_id, json_t *content);
bool e2e_room_is_encrypted(struct e2e *e, const char *room_id);
/* membership: "join", "invite" (both count as members who get keys), "leave", "ban". A member
 * leaving rotates the room's outbound session. */
int e2e_room_member_change(struct e2e *e, const char *room_id, const char *user_id,
			   const char *membership);

/* Decrypts an m.room.encrypted room event (Megolm). On HE_OK *plain is
 * {"type", "content", "sender_device": ID or null, "sender_verified": bool}, where
 * sender_verified means the session's key belongs to a device of the event's sender whose
 * signature we checked. Devices are looked up by the event's sender and the session's key
 * together, and the session must have been shared by the event's sender. HE_AGAIN: the key is
 * missing; a key request was queued and the event kept: e2e_take_unblocked() hands it back
 * once the key arrived. An event waits 10 minutes at most, and each sender has at most 50
 * waiting: a flood from one sender (or many) does not keep out another member's message.
 * HE_CRYPTO: a replay (the same message index for another event id), a sender mismatch or a
 * bad ciphertext. HE_INVAL: not a Megolm event. */
int e2e_decrypt_room_event(struct e2e *e, const char *room_id, json_t *event, json_t **plain);
/* Events whose key has arrived since they were blocked: an array of
 * {"room_id": ..., "event": <the original event>} (possibly empty), or NULL when out of
 * memory. Each is handed out once. */
json_t *e2e_take_unblocked(struct e2e *e);

/* Encrypts {type, content} for room_id. HE_OK: *encrypted is the m.room.encrypted content.
 * HE_AGAIN: requests (keys/query, keys/claim, sendToDevice of the room key) must be sent
 * first; call again after reporting them. HE_AGAIN with nothing in e2e_outgoing() means a
 * failed request is in its backoff (2 s doubling to 5 min): keep the reply queued and call
 * again later. HE_NOTFOUND when the room is not encrypted. */
int e2e_encrypt_room_event(struct e2e *e, const char *room_id, const char *type, json_t *content,
			   json_t **encrypted);

/* The m.room.encryption state event for createRoom's initial_state (new reference). */
json_t *e2e_encryption_state_event(void);

/* Creates the cross-signing keys (master, self-signing, user-signing) once and queues
 * /keys/device_signing/upload (needs UIA, see above), then /keys/signatures/upload. HE_OK when
 * queued or already done. */
int e2e_cross_signing_bootstrap(struct e2e *e);

/* The homeserver no longer has this device's keys (a logout deletes the device, and a new login
 * that reuses its id starts without keys): publish the device keys, new one-time keys and a
 * fallback key again, and (when cross-signing was done) let e2e_cross_signing_bootstrap()
 * sign the device again, after the keys are up. The account and its sessions stay. */
int e2e_device_keys_lost(struct e2e *e);

/* Private chats carry health data. A private chat is an encrypted room whose members are
 * Hearth and one member; its room key goes only to devices that member vouches for: when they
 * have cross-signing keys, the devices signed by their self-signing key (signed in turn by
 * their master key, which is pinned the first time it is seen); without cross-signing, every
 * device whose own signature verifies (as in every room). When /keys/query shows another
 * master key than the pinned one (or none), what the pinned keys signed stays trusted, nothing
 * new is, and the member is owed a notice until they confirm. In every room, an identity
 * (Curve25519) key claimed by two devices gets no room key for either, unless one of them
 * proved to hold it (an Olm message from it that names that device's user and signing key). */
/* Members with a private chat owed a notice that their identity changed (each handed out
 * once): an array of user ids, or NULL when out of memory. */
json_t *e2e_take_identity_notices(struct e2e *e);
/* Members whose message waits for a key they withheld from Hearth (m.room_key.withheld), each
 * handed out once per room: an array of {room_id, user_id, code}, or NULL when out of memory.
 * Tell each privately that Hearth could not read it, and why. */
json_t *e2e_take_withheld_notices(struct e2e *e);
/* Whether user_id's changed identity waits for their confirmation. */
bool e2e_identity_pending(struct e2e *e, const char *user_id);
/* The member confirms that the change was theirs, from device_id (the decrypted message's
 * verified sender device, NULL when not verified): the new master key is pinned and their
 * devices are checked against it again. HE_NOTFOUND when nothing waits; HE_PERM when they
 * still have a device vouched for under the old keys and device_id is not one of them. */
int e2e_identity_confirm(struct e2e *e, const char *user_id, const char *device_id);
/* Whether the device is vouched for by its user's pinned cross-signing keys. */
bool e2e_device_trusted(struct e2e *e, const char *user_id, const char *device_id);
/* Whether room_id is encrypted and its members are Hearth and user_id only. */
bool e2e_room_private_with(struct e2e *e, const char *room_id, const char *user_id);

/* Replaces the clock (milliseconds since the epoch) for tests; NULL restores the real one. */
void e2e_set_clock(struct e2e *e, uint64_t (*now_ms)(void));

/* Outgoing HTTP requests. path is under /_matrix/client/v3 ("/keys/upload"). */
struct e2e_request {
	unsigned long id;
	const char *method; /* "POST" or "PUT" */
	const char *path;
	json_t *body;       /* owned by the module; the transport may add "auth" */
};
/* Fills out[0..max) with requests not handed out before; returns how many. The pointers stay
 * valid until e2e_request_done() for that id (or e2e_free()). */
size_t e2e_outgoing(struct e2e *e, const struct e2e_request **out, size_t max);
/* Reports a request's outcome: http_status 200 with the response body, another status with
 * the error body (may be NULL), or 0 for a network failure. HE_NOTFOUND for an unknown id. */
int e2e_request_done(struct e2e *e, unsigned long id, int http_status, json_t *response);

/* Encrypts a file for an encrypted room (AES-256-CTR, fresh key and IV; the spec's
 * EncryptedFile v2). *cipher (len bytes, caller frees) is what to upload; *file is the
 * EncryptedFile object without "url": add the mxc:// URI after the upload and send it as
 * content.file instead of content.url. */
int e2e_encrypt_attachment(const void *plain, size_t len, unsigned char **cipher, json_t **file);

/* Prunes what is old (run once an hour from e2e_receive_sync_changes; callable for tests):
 * Olm sessions beyond the newest E2E_OLM_KEEP per device (by last use), the used fallback key
 * E2E_FALLBACK_GRACE_MS after its successor went up, seen-message indexes (replay
 * protection) older than E2E_SEEN_KEEP_MS, and inbound Megolm sessions (room keys received)
 * not used for E2E_INBOUND_IDLE_MS beyond the newest E2E_INBOUND_KEEP per room and sending
 * device (by last use): a sender's latest sessions always stay, so messages that arrive late
 * (the gap after downtime, a delayed federation) can still be read. */
#define E2E_PRUNE_EVERY_MS (3600ull * 1000)
#define E2E_OLM_KEEP 5
#define E2E_INBOUND_KEEP 10
#define E2E_INBOUND_IDLE_MS (30ull * 24 * 3600 * 1000)
#define E2E_FALLBACK_GRACE_MS (3600ull * 1000)
#define E2E_SEEN_KEEP_MS (30ull * 24 * 3600 * 1000)
int e2e_prune(struct e2e *e);

#endif
