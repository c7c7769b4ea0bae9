/* e2e_sas.h - the short authentication string (SAS) of interactive verification, behind the
 * crypto module (libolm's olm_sas_*; no libolm type appears here).
 *
 * The flow itself (to-device messages, who may verify, timeouts) is net/matrix/verify.c; this
 * header gives it the crypto: an ephemeral Curve25519 key agreement, the MACs of the spec's
 * m.sas.v1 method, the accepting side's commitment, the keys of a member's device and their
 * pinned master key as the crypto module knows them, and the to-device queue. */
#ifndef HEARTH_E2E_SAS_H
#define HEARTH_E2E_SAS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct e2e;
struct e2e_sas;

#define E2E_SAS_KEY_LEN 43   /* a Curve25519 public key, unpadded base64 */
#define E2E_SAS_MAC_LEN 43   /* an HMAC-SHA-256, unpadded base64 */
#define E2E_SAS_HASH_LEN 43  /* a SHA-256, unpadded base64 */

/* MAC methods of m.sas.v1: "hkdf-hmac-sha256" (libolm's calculate_mac, whose base64 is not
 * the standard one: what nio and old clients use) and "hkdf-hmac-sha256.v2" (standard
 * base64, calculate_mac_fixed_base64: what Element prefers). */
enum e2e_sas_mac { E2E_SAS_MAC_V1, E2E_SAS_MAC_V2 };

/* A fresh ephemeral key pair (random from libsodium). */
int e2e_sas_new(struct e2e_sas **out);
void e2e_sas_free(struct e2e_sas *s); /* accepts NULL; wipes the secret */
/* Our public key, E2E_SAS_KEY_LEN characters. */
const char *e2e_sas_pubkey(const struct e2e_sas *s);
/* The other side's public key (E2E_SAS_KEY_LEN base64 characters); once only. HE_INVAL for a
 * malformed key, HE_PROTO when set before. */
int e2e_sas_set_their_key(struct e2e_sas *s, const char *key);
/* len bytes of the shared secret's HKDF with info (the SAS itself: 6 bytes for emoji and
 * decimal). HE_INVAL before the other side's key is set. */
int e2e_sas_bytes(struct e2e_sas *s, const char *info, unsigned char *out, size_t len);
/* The MAC of input with info, NUL-terminated in out. HE_INVAL before their key is set. */
int e2e_sas_mac(struct e2e_sas *s, enum e2e_sas_mac method, const char *input, const char *info,
		char out[E2E_SAS_MAC_LEN + 1]);
/* Whether mac (from the network) is input's MAC with info: constant time. */
bool e2e_sas_mac_ok(struct e2e_sas *s, enum e2e_sas_mac method, const char *input,
		    const char *info, const char *mac);
/* The accepting side's commitment: unpadded base64 SHA-256 of pubkey followed by the canonical
 * JSON of the start message's content (sorted keys, no spaces, UTF-8 as is). */
int e2e_sas_commitment(const char *pubkey, json_t *start_content,
		       char out[E2E_SAS_HASH_LEN + 1]);

/* ---- what the crypto module knows, for the flow ---- */

/* The Ed25519 key of user_id's device_id from their published device keys (signature
 * checked when they were stored): *ed25519 malloc'd. HE_NOTFOUND when unknown: a query of
 * the user's devices is queued then (send what e2e_outgoing() hands out). */
int e2e_sas_device_key(struct e2e *e, const char *user_id, const char *device_id,
		       char **ed25519);
/* user_id's cross-signing master key as pinned by the crypto module (*master malloc'd), or
 * HE_NOTFOUND. For Hearth's own user id: Hearth's own master key when cross-signing is set
 * up. */
int e2e_sas_master_key(struct e2e *e, const char *user_id, char **master);
/* Queues one plain to-device message (content borrowed) for user_id's device_id; it goes out
 * with the module's other requests (e2e_outgoing()). */
int e2e_sas_send(struct e2e *e, const char *type, const char *user_id, const char *device_id,
		 json_t *content);
/* The same, Olm-encrypted for that device (for a flow that came encrypted): HE_NOTFOUND when
 * the device or an Olm session with it is unknown (send it plain then). */
int e2e_sas_send_encrypted(struct e2e *e, const char *type, const char *user_id,
			   const char *device_id, json_t *content);
/* Verification events that came Olm-encrypted (decrypted by the module): an array of
 * {"sender", "sender_device" (the Olm-authenticated device or null), "type", "content"},
 * each handed out once, or NULL when none waits. At most E2E_SAS_MAX_IN wait between two
 * calls; more are dropped. */
#define E2E_SAS_MAX_IN 32
json_t *e2e_sas_take_events(struct e2e *e);

#endif
