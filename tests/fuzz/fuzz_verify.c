/* fuzz_verify.c - what a member's client or a homeserver can send to the verification flow:
 * the input is a JSON array of events, each {"sender", "type", "content"} (to-device, with an
 * optional "sender_device" as an Olm-encrypted one has) or {"room", "sender", "event_id",
 * "type", "content"} (in a room), fed in order to a fresh verifier whose moderators are the
 * senders starting with "@mod". */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "net/matrix/verify.h"
#include "fuzz_input.h"

static bool is_mod(void *ud, const char *user)
{
	return strncmp(user, "@mod", 4) == 0;
}

static int device_key(void *ud, const char *user, const char *device, char **ed)
{
	*ed = strdup("modEd25519KeyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	return *ed ? HE_OK : HE_NOMEM;
}

static int master_key(void *ud, const char *user, char **master)
{
	*master = strdup("masterKeyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	return *master ? HE_OK : HE_NOMEM;
}

static int sendf(void *ud, const char *type, const char *user, const char *device, json_t *c)
{
	char *s = json_dumps(c, 0);

	free(s);
	return s ? HE_OK : HE_NOMEM;
}

static int send_room(void *ud, const char *room, const char *type, json_t *c)
{
	return sendf(ud, type, NULL, NULL, c);
}

static uint64_t now_ms(void *ud)
{
	return 1800000000000ull + (uint64_t)(*(size_t *)ud % 4) * 300000;
}

static const struct verify_ops ops = {
	.is_moderator = is_mod, .device_key = device_key, .master_key = master_key,
	.send = sendf, .send_room = send_room, .now_ms = now_ms,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct verify *v = NULL;
	json_t *evs, *ev;
	size_t i, step = 0;
	char *text;

	hlog_set_level(HLOG_ERROR);
	if (size > 65536 || !(text = fuzz_cstr(data, size)))
		return 0;
	evs = json_loads(text, JSON_DECODE_ANY, NULL);
	free(text);
	if (!json_is_array(evs) || verify_new("@hearth:example.org", "HDEV",
					      "hearthEd25519KeyAAAAAAAAAAAAAAAAAAAAAAAAAAA", &ops,
					      &step, &v)) {
		json_decref(evs);
		return 0;
	}
	json_array_foreach(evs, i, ev) {
		const char *room = json_string_value(json_object_get(ev, "room"));
		step = i;
		if (room) {
			json_t *plain = json_pack("{s:O?, s:O?}", "type", json_object_get(ev, "type"),
						  "content", json_object_get(ev, "content"));
			verify_room_event(v, room, ev, plain);
			json_decref(plain);
		} else {
			verify_event(v, json_string_value(json_object_get(ev, "sender")),
				     json_string_value(json_object_get(ev, "sender_device")),
				     json_string_value(json_object_get(ev, "type")),
				     json_object_get(ev, "content"));
		}
		verify_tick(v);
	}
	verify_free(v);
	json_decref(evs);
	return 0;
}
