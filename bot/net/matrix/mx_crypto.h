/* mx_crypto.h - the seam between the Matrix transport and end-to-end encryption.
 *
 * The transport works without crypto: then it never decrypts, and it never sends anything into
 * an encrypted room (it logs a warning and does not reply there: no plaintext ever goes where
 * members expect encryption). The crypto module (bot/net/matrix/crypto/, libolm behind it)
 * implements these ops and is attached in one place, mx_crypto_attach() in matrix.c.
 *
 * Every callback gets the state pointer that start() returned. JSON arguments are borrowed for
 * the duration of the call (json_incref what you keep). Callbacks run inside the event loop and
 * must not block; for HTTP (keys/upload, keys/query, keys/claim, sendToDevice) use
 * mx_http_request() from http.h, which carries the access token and retries.
 *
 * Order within one /sync batch (the spec's order): to_device(), then device_lists(), then
 * key_counts(), then room events (decrypt() for each m.room.encrypted in the timeline, in order).
 * The batch's since token is persisted only after all of these returned, so a state change the
 * crypto module makes must be written to the store before its callback returns. */
#ifndef HEARTH_MX_CRYPTO_H
#define HEARTH_MX_CRYPTO_H

#include <jansson.h>
#include <stdbool.h>

struct mx;

struct mx_crypto_ops {
	/* After login (device id known): load or create the account, upload keys. *state is
	 * passed to every other callback. */
	int (*start)(struct mx *mx, void **state);
	void (*free)(void *state);                          /* accepts NULL */

	/* sync: to_device.events (array), before any room event of the batch. */
	void (*to_device)(void *state, json_t *events);
	/* sync: device_lists.changed / .left (arrays, either may be NULL). */
	void (*device_lists)(void *state, json_t *changed, json_t *left);
	/* sync: device_one_time_keys_count (object) and device_unused_fallback_key_types (array). */
	void (*key_counts)(void *state, json_t *otk_counts, json_t *fallback_types);
	/* A room's membership changed (join, leave, invite) or its m.room.encryption was set:
	 * room keys must be rotated or shared. */
	void (*room_changed)(void *state, const char *room_id);

	/* m.room.encrypted timeline event -> the decrypted event ({"type","content"} object, new
	 * reference in *out). HE_AGAIN when the key is missing (the module may request it and
	 * hand the event back later through mx_crypto_redeliver()); other errors: undecryptable. */
	int (*decrypt)(void *state, const char *room_id, json_t *event, json_t **out);
	/* Encrypts content of type for room_id: *out is the m.room.encrypted content (new
	 * reference). HE_AGAIN when sessions are not ready yet: the send is retried later. */
	int (*encrypt)(void *state, const char *room_id, const char *type, json_t *content,
		       json_t **out);
	/* Adds the room's initial_state for a new private chat (m.room.encryption). The transport
	 * calls it when creating a direct room, if set. */
	void (*private_chat_initial_state)(void *state, json_t *initial_state);
};

/* Handles a decrypted event later (key arrived after the event): as if it had come in the
 * room's timeline now. event is the original m.room.encrypted event. */
void mx_crypto_redeliver(struct mx *mx, const char *room_id, json_t *event);

#endif
