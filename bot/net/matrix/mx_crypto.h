/* mx_crypto.h - the seam between the Matrix transport and end-to-end encryption.
 *
 * The transport works without crypto: then it never decrypts, and it never sends anything into
 * an encrypted room (it logs a warning and does not reply there: no plaintext ever goes where
 * members expect encryption). With crypto (mx_e2e.c over crypto/e2e.h, attached in one place,
 * mx_crypto_attach() in matrix.c) it reads and answers encrypted rooms, and still never sends
 * plaintext into one: a reply that cannot be encrypted yet waits, one that cannot be encrypted
 * at all is dropped.
 *
 * Every callback gets the state pointer that start() returned. JSON arguments are borrowed for
 * the duration of the call (json_incref what you keep). Callbacks run inside the event loop and
 * must not block; HTTP goes through mx_http_request() (http.c), which carries the access token
 * and retries.
 *
 * Order within one /sync batch (the spec's order): to_device(), device_lists(), key_counts(),
 * then per joined room its state and timeline events in order (encryption() for
 * m.room.encryption, member() for m.room.member, decrypt() for m.room.encrypted), and last
 * sync_done(). The batch's since token is persisted as soon as all of these returned (a request
 * sync_done() ties to the batch with mx_batch_hold keeps it alive, never the position), so a
 * state change the crypto module makes must be written to the store before its callback
 * returns. */
#ifndef HEARTH_MX_CRYPTO_H
#define HEARTH_MX_CRYPTO_H

#include <jansson.h>
#include <stdbool.h>

struct mx;
struct mx_batch;

struct mx_crypto_ops {
	/* After login (device id known): load or create the account, upload keys, cross-sign.
	 * *state is passed to every other callback. */
	int (*start)(struct mx *mx, void **state);
	void (*free)(void *state);                          /* accepts NULL */
	/* Logged in again (the old access token was revoked): a logout deletes the device, so
	 * the homeserver may have lost its keys. */
	void (*session_changed)(void *state);

	/* sync: to_device.events (array), before any room event of the batch. */
	void (*to_device)(void *state, json_t *events);
	/* sync: device_lists.changed / .left (arrays, either may be NULL). */
	void (*device_lists)(void *state, json_t *changed, json_t *left);
	/* sync: device_one_time_keys_count (object) and device_unused_fallback_key_types (array). */
	void (*key_counts)(void *state, json_t *otk_counts, json_t *fallback_types);

	/* m.room.encryption state (content object) of a joined room. */
	void (*encryption)(void *state, const char *room_id, json_t *content);
	/* m.room.member state of a joined room: membership "join", "invite", "leave", "ban", ... */
	void (*member)(void *state, const char *room_id, const char *user_id, const char *membership);
	/* What we know of a room's members may be incomplete (we just joined it, this process has
	 * not seen it before, or its timeline had a gap): reload them if it is encrypted. */
	void (*members_stale)(void *state, const char *room_id);
	/* The batch's rooms are walked: reload stale member lists (holding b until done) and hand
	 * back events whose keys arrived (mx_crypto_redeliver). */
	void (*sync_done)(void *state, struct mx_batch *b);

	/* Whether the crypto module knows room_id as encrypted (it remembers across restarts,
	 * when the room's state is not sent again). */
	bool (*is_encrypted)(void *state, const char *room_id);
	/* m.room.encrypted timeline event -> the decrypted event ({"type","content",...} object,
	 * new reference in *out). HE_AGAIN when the key is missing (the module requests it and
	 * hands the event back later through sync_done()); other errors: undecryptable. HE_OK with
	 * *out NULL: the event was for the crypto layer itself (a member confirming their new
	 * keys in their private chat) and was answered there; the core never sees it. */
	int (*decrypt)(void *state, const char *room_id, json_t *event, json_t **out);
	/* Encrypts content of type for room_id: *out is the m.room.encrypted content (new
	 * reference). HE_AGAIN when sessions are not ready yet: the send waits and is retried
	 * (mx_send_crypto_progress() when a request finished, or a timer). */
	int (*encrypt)(void *state, const char *room_id, const char *type, json_t *content,
		       json_t **out);
	/* Encrypts a file before it is uploaded for an encrypted room: *cipher (len bytes, the
	 * caller frees) is uploaded instead, and *file (EncryptedFile without "url") replaces
	 * content.url once the upload's mxc:// URI is known. */
	int (*encrypt_attachment)(void *state, const void *plain, size_t len,
				  unsigned char **cipher, json_t **file);
	/* Adds the room's initial_state for a new private chat (m.room.encryption). The transport
	 * calls it when creating a direct room, if set. */
	void (*private_chat_initial_state)(void *state, json_t *initial_state);
	/* The private chat Hearth created with initial_state above exists; member is invited. */
	void (*private_chat_created)(void *state, const char *room_id, const char *member);
};

/* Handles an event whose key arrived after the event itself: as if it had come in the room's
 * timeline now, tied to batch b (may be NULL). event is the original m.room.encrypted event. */
void mx_crypto_redeliver(struct mx *mx, const char *room_id, json_t *event, struct mx_batch *b);

/* A crypto request finished: replies waiting for sessions try again now. */
void mx_send_crypto_progress(struct mx *mx);

/* Whether room_id must only get encrypted events (room state or the crypto module says so). */
bool mx_room_encrypted(struct mx *mx, const char *room_id);

/* The crypto implementation (mx_e2e.c). */
extern const struct mx_crypto_ops mx_e2e_ops;

#endif
