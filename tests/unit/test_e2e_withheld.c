/* test_e2e_withheld.c - a key withheld from Hearth: when a member's client withholds its room
 * key (m.room_key.withheld) and their message waits for it, Hearth hands out one notice for
 * that member and room, once; a withheld claimed with another member's key is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "e2e_router.h"

#define ROOM "!group:example.org"

static void withheld_key_told_once(void **state)
{
	struct hs *h = hs_new();
	struct cl *bot = hs_add(h, "@hearth:example.org", "HDEV", NULL);
	struct cl *b = hs_add(h, "@b:example.org", "BDEV", NULL);
	struct cl *c = hs_add(h, "@c:example.org", "CDEV", NULL);
	struct cl *all[] = { bot, b, c };
	json_t *enc = NULL, *ev, *notes, *wh;
	char text[64];

	hs_run(h);
	assert_int_equal(hs_join(all, 3, ROOM, NULL, NULL, 0), 0);
	hs_run(h);
	assert_int_equal(cl_encrypt(b, ROOM, "!help", &enc), 0);
	json_array_clear(bot->inbox); /* B's client did not send Hearth the key... */
	const char *sid = json_string_value(json_object_get(enc, "session_id"));
	/* ...but said so; and C claims the same with B's key (refused: not C's device) */
	wh = json_pack("[{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}}, {s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}}]",
		       "type", "m.room_key.withheld", "sender", c->user, "content", "algorithm",
		       "m.megolm.v1.aes-sha2", "room_id", ROOM, "session_id", sid, "sender_key",
		       e2e_curve25519_key(b->e), "code", "m.blacklisted",
		       "type", "m.room_key.withheld", "sender", b->user, "content", "algorithm",
		       "m.megolm.v1.aes-sha2", "room_id", ROOM, "session_id", sid, "sender_key",
		       e2e_curve25519_key(b->e), "code", "m.unverified");
	ev = hs_event(b, enc, "$b1");
	/* nothing to tell before a message waits */
	notes = e2e_take_withheld_notices(bot->e);
	assert_int_equal(json_array_size(notes), 0);
	json_decref(notes);
	assert_int_equal(cl_decrypt(bot, ROOM, ev, text, sizeof(text), NULL), HE_AGAIN);
	json_array_extend(bot->inbox, wh);
	cl_sync(bot);
	notes = e2e_take_withheld_notices(bot->e);
	assert_int_equal(json_array_size(notes), 1);
	json_t *n = json_array_get(notes, 0);
	assert_string_equal(json_string_value(json_object_get(n, "user_id")), b->user);
	assert_string_equal(json_string_value(json_object_get(n, "room_id")), ROOM);
	assert_string_equal(json_string_value(json_object_get(n, "code")), "m.unverified");
	json_decref(notes);
	/* told once: the same again, or a second session withheld in the room, says nothing */
	json_array_extend(bot->inbox, wh);
	cl_sync(bot);
	notes = e2e_take_withheld_notices(bot->e);
	assert_int_equal(json_array_size(notes), 0);
	json_decref(notes);
	json_decref(wh);
	json_decref(ev);
	json_decref(enc);
	hs_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(withheld_key_told_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
