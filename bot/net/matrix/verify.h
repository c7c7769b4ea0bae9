/* verify.h - interactive verification of Hearth's device from a member's client (the spec's
 * m.sas.v1 over to-device messages), sans-I/O.
 *
 * Hearth has no screen: the person on the other side compares the emoji (or numbers) their
 * client shows with nothing, and confirms. Hearth trusts that confirmation: it sends its own MAC
 * once the other side's MAC came and checked out (their MAC proves they confirmed and that the
 * key agreement was not tampered with), then m.key.verification.done. Only moderators (of a
 * room Hearth shares with them, as verify_ops.is_moderator decides) may verify; anyone else
 * gets m.key.verification.cancel with code m.user and a reason.
 *
 * Both flows are followed: request/ready/start (Element) and start directly (nio, older
 * clients); a to-device flow that came Olm-encrypted is answered encrypted. Hearth is always the accepting side: it never sends start, so it sends the
 * commitment (in accept) and the other side checks it against Hearth's key. At most
 * VERIFY_PER_USER verifications per user and VERIFY_MAX in all are alive at once; each is
 * forgotten VERIFY_TIMEOUT_MS after it began (with m.timeout to the other side). Every field
 * from the network is size-checked; a message that does not fit its verification's state
 * cancels it (m.unexpected_message), a wrong MAC cancels it with m.key_mismatch. */
#ifndef HEARTH_VERIFY_H
#define HEARTH_VERIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct verify;

#define VERIFY_TIMEOUT_MS (10ull * 60 * 1000)
#define VERIFY_PER_USER 3
#define VERIFY_MAX 64

struct verify_ops {
	/* Whether user_id moderates a room Hearth shares with them. */
	bool (*is_moderator)(void *ud, const char *user_id);
	/* The Ed25519 key of the member's device (*ed25519 malloc'd), or HE_NOTFOUND (a lookup may
	 * be started then; the flow asks again when it needs the key). */
	int (*device_key)(void *ud, const char *user_id, const char *device_id, char **ed25519);
	/* A user's cross-signing master key (Hearth's own for its own user id), *master
	 * malloc'd, or HE_NOTFOUND. May be NULL: no master keys then. */
	int (*master_key)(void *ud, const char *user_id, char **master);
	/* Sends a to-device message (content borrowed). */
	int (*send)(void *ud, const char *type, const char *user_id, const char *device_id,
		    json_t *content);
	/* Sends a to-device message Olm-encrypted (content borrowed), for a flow that came
	 * encrypted; may be NULL. An error: it goes plain instead. */
	int (*send_encrypted)(void *ud, const char *type, const char *user_id,
			      const char *device_id, json_t *content);
	/* Sends a room event (content borrowed; encrypted if the room is). May be NULL: no
	 * in-room verification then. */
	int (*send_room)(void *ud, const char *room_id, const char *type, json_t *content);
	/* Milliseconds since the epoch (the timestamp of a request is compared with it). */
	uint64_t (*now_ms)(void *ud);
};

/* user_id, device_id, ed25519: Hearth's own (copied). ops and ud are borrowed. */
int verify_new(const char *user_id, const char *device_id, const char *ed25519,
	       const struct verify_ops *ops, void *ud, struct verify **out);
void verify_free(struct verify *v); /* accepts NULL */

/* One to-device event of type m.key.verification.* from sender. sender_device: the device an
 * Olm-encrypted event came from (NULL for a plain event): it must then be the device the
 * verification is with. HE_OK also when the event was refused or ignored (that is part of the
 * flow); an error only when out of memory or a send failed. */
int verify_event(struct verify *v, const char *sender, const char *sender_device,
		 const char *type, json_t *content);
/* The in-room flow (what Element starts from a person's profile): plain is the room event as
 * read (decrypted if it was: {"type", "content"}), event the original (sender, event_id,
 * origin_server_ts). An m.room.message of msgtype m.key.verification.request addressed to
 * Hearth begins one (its event id is the transaction); m.key.verification.* events refer to it
 * with an m.reference relation. Hearth's answers go into the same room. Other events are
 * ignored. Same return values as verify_event(). */
int verify_room_event(struct verify *v, const char *room_id, json_t *event, json_t *plain);
/* Whether a room event (decrypted) belongs to a verification (for the transport to route it
 * to verify_room_event() rather than to the commands). */
bool verify_room_event_is(json_t *plain);
/* Forgets verifications older than VERIFY_TIMEOUT_MS (call now and then, e.g. every sync). */
void verify_tick(struct verify *v);
/* How many verifications are alive (for tests and figures). */
size_t verify_count(const struct verify *v);
/* Devices verified since verify_new (for tests and figures). */
unsigned long verify_done_count(const struct verify *v);
/* The ud given to verify_new. */
void *verify_ud(const struct verify *v);

/* ---- wiring into the Matrix transport (verify_mx.c) ---- */
struct mx;
struct e2e;
/* A verifier for Hearth's device on mx, over the crypto module e (both borrowed): moderators
 * as the transport decides for commands (power level >= matrix_moderator_power_level), in a
 * group room (more than Hearth and them joined: a room of one's own with Hearth makes nobody a
 * moderator) Hearth has joined and they are a member of; device and master keys and the
 * to-device queue from the crypto module. */
int mx_verify_new(struct mx *mx, struct e2e *e, struct verify **out);
void mx_verify_free(struct verify *v); /* accepts NULL */
/* One sync's to-device events: the plain m.key.verification.* ones, then those that came
 * Olm-encrypted (after e2e_receive_sync_changes() decrypted them). */
void mx_verify_to_device(struct verify *v, json_t *events);
/* A decrypted room event: true when it was a verification message and was handled. */
bool mx_verify_room(struct verify *v, const char *room_id, json_t *event, json_t *plain);

#endif
