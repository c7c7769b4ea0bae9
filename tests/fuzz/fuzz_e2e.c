/* libFuzzer target for the e2e module's input paths: whatever a homeserver or another device
 * sends must end in an error, never a crash. The first byte picks the path:
 *   0  the input is a whole m.room.encrypted room event (JSON) -> e2e_decrypt_room_event
 *   1  the input is the Megolm ciphertext of an event of a real, known session
 *   2  the input is the to-device events array of a sync (JSON) -> e2e_receive_sync_changes
 *   3  the input is the body of an Olm message (type 1) from a device with a session
 *   4  the same as a pre-key message (type 0)
 *   5  the input is the answer to /keys/query for a user whose devices changed (device keys,
 *      master and self-signing keys: the cross-signing identities that guard private chats)
 * Setup: two devices with an Olm session and a shared Megolm session (e2e_router.h). */
#include <stdint.h>
#include <stddef.h>

#include "e2e_router.h"
#include "core/log.h"
#include "fuzz_input.h"

#define ROOM "!fuzz:example.org"

static struct hs *h;
static struct cl *a, *b;
static char *session_id;
static uint64_t fuzz_ms = 1700000000000ULL;

/* b's clock moves an hour per input: no backoff or waiting period outlives one input */
static uint64_t fuzz_clock(void)
{
	return fuzz_ms;
}

static void setup(void)
{
	json_t *enc = NULL;

	hlog_set_level(HLOG_ERROR);
	h = hs_new();
	a = hs_add(h, "@a:example.org", "ADEV", NULL);
	b = hs_add(h, "@b:example.org", "BDEV", NULL);
	hs_run(h);
	if (hs_join((struct cl *[]){ a, b }, 2, ROOM, NULL, NULL, 0) != 0 ||
	    cl_encrypt(a, ROOM, "seed", &enc) != 0)
		abort();
	session_id = strdup(json_string_value(json_object_get(enc, "session_id")));
	cl_sync(b);
	json_decref(enc);
	e2e_set_clock(b->e, fuzz_clock);
}

static void drain(struct cl *c)
{
	const struct e2e_request *out[64];
	size_t n;

	while ((n = e2e_outgoing(c->e, out, 64)) > 0)
		for (size_t i = 0; i < n; i++)
			e2e_request_done(c->e, out[i]->id, 500, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *plain = NULL, *ev = NULL, *arr = NULL, *in = NULL;
	char *text;

	if (!h)
		setup();
	fuzz_ms += 3600ULL * 1000;
	if (size < 1 || size > 65536)
		return 0;
	text = fuzz_cstr(data + 1, size - 1);
	if (!text)
		return 0;
	switch (data[0] % 6) {
	case 0:
		in = json_loadb((const char *)data + 1, size - 1, 0, NULL);
		if (in && e2e_decrypt_room_event(b->e, ROOM, in, &plain) == 0 && !plain)
			abort();
		break;
	case 1:
		ev = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}}", "type", "m.room.encrypted",
			       "event_id", "$fuzz", "sender", a->user, "content", "algorithm",
			       "m.megolm.v1.aes-sha2", "sender_key", e2e_curve25519_key(a->e),
			       "session_id", session_id, "ciphertext", text, "device_id", "ADEV");
		if (ev && e2e_decrypt_room_event(b->e, ROOM, ev, &plain) == 0 && !plain)
			abort();
		break;
	case 2:
		in = json_loadb((const char *)data + 1, size - 1, 0, NULL);
		e2e_receive_sync_changes(b->e, in, in, in, in);
		break;
	case 3:
	case 4:
		arr = json_pack("[{s:s, s:s, s:{s:s, s:s, s:{s:{s:i, s:s}}}}]", "type",
				"m.room.encrypted", "sender", a->user, "content", "algorithm",
				"m.olm.v1.curve25519-aes-sha2", "sender_key", e2e_curve25519_key(a->e),
				"ciphertext", e2e_curve25519_key(b->e), "type", data[0] % 5 == 3 ? 1 : 0,
				"body", text);
		if (arr)
			e2e_receive_sync_changes(b->e, arr, NULL, NULL, NULL);
		break;
	case 5: {
		const struct e2e_request *out[64];
		size_t n;
		in = json_loadb((const char *)data + 1, size - 1, 0, NULL);
		arr = json_pack("{s:[s], s:[]}", "changed", a->user, "left");
		e2e_receive_sync_changes(b->e, NULL, arr, NULL, NULL);
		n = e2e_outgoing(b->e, out, 64);
		for (size_t i = 0; i < n; i++)
			e2e_request_done(b->e, out[i]->id,
					 in && strcmp(out[i]->path, "/keys/query") == 0 ? 200 : 500, in);
		break;
	}
	}
	drain(b);
	json_decref(plain);
	json_decref(ev);
	json_decref(arr);
	json_decref(in);
	free(text);
	return 0;
}
