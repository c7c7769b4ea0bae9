/* Unit tests of the e2e module under attack, with e2e_router.h as the homeserver:
 * a device that copies a member's identity key (the member is still read and answered), a
 * flood of events waiting for keys that do not exist (another member's message still gets
 * through; waiting events expire after 10 minutes), and private chats whose room keys go only
 * to devices the member vouches for (cross-signing, pinned master key, confirmation of a
 * change). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>
#include <sodium.h>

#include "e2e_router.h"

#define ROOM "!group:example.org"
#define PRIV "!private-b:example.org"
#define PRIV_C "!private-c:example.org"

static void join_all(const char *room, struct cl **clients, int n, const char **extra, int nextra)
{
	assert_int_equal(hs_join(clients, n, room, NULL, extra, nextra), 0);
}

static char *b64(const unsigned char *bin, size_t len)
{
	size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	char *s = malloc(n);
	sodium_bin2base64(s, n, bin, len, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	return s;
}

static void sign_obj(json_t *obj, const char *user, const char *kid, const unsigned char *sk)
{
	json_t *copy = json_deep_copy(obj);
	unsigned char sig[crypto_sign_BYTES];
	char *msg, *s;

	json_object_del(copy, "signatures");
	json_object_del(copy, "unsigned");
	msg = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
	crypto_sign_detached(sig, NULL, (unsigned char *)msg, strlen(msg), sk);
	s = b64(sig, sizeof(sig));
	json_object_set_new(obj, "signatures", json_pack("{s:{s:s}}", user, kid, s));
	free(s);
	free(msg);
	json_decref(copy);
}

/* A hostile device user/dev whose published identity key is curve (someone else's), with its
 * own signing key, a valid self-signature and a signed one-time key: everything the server
 * checks is in order. */
static void add_copycat(struct hs *h, const char *user, const char *dev, const char *curve)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES], otk[32];
	char kc[100], ke[100], kid[100];
	char *ed = NULL, *otk64 = NULL;
	json_t *dk, *key;

	crypto_sign_keypair(pk, sk);
	randombytes_buf(otk, sizeof(otk));
	ed = b64(pk, sizeof(pk));
	otk64 = b64(otk, sizeof(otk));
	snprintf(kc, sizeof(kc), "curve25519:%s", dev);
	snprintf(ke, sizeof(ke), "ed25519:%s", dev);
	dk = json_pack("{s:s, s:s, s:[s,s], s:{s:s, s:s}}", "user_id", user, "device_id", dev,
		       "algorithms", "m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2", "keys",
		       kc, curve, ke, ed);
	sign_obj(dk, user, ke, sk);
	json_object_set_new(hs_sub(h->devices, user, NULL), dev, dk);
	key = json_pack("{s:s}", "key", otk64);
	sign_obj(key, user, ke, sk);
	snprintf(kid, sizeof(kid), "signed_curve25519:EVIL%s", dev);
	json_object_set_new(hs_sub(h->otks, user, dev), kid, key);
	hs_changed(h, user);
	free(ed);
	free(otk64);
}

/* 10. A device of another user copies member B's identity key. B's own messages still decrypt
 * (verified, from B's device) and B still gets the room key for the answer; the copy gets
 * nothing. A copied key that nobody proved to hold is refused for both devices, until the
 * real one writes (an Olm message from the key proves it). */
static void test_copied_identity_key(void **state)
{
	struct hs *h = hs_new();
	struct cl *bot = hs_add(h, "@hearth:example.org", "HDEV", NULL);
	struct cl *b = hs_add(h, "@b:example.org", "BDEV", NULL);
	struct cl *c = hs_add(h, "@c:example.org", "CDEV", NULL);
	struct cl *all[] = { bot, b, c };
	/* the hostile users sort before the members: a lookup by key alone would find them first */
	const char *hostile[] = { "@a:example.org", "@aa:example.org" };
	json_t *enc = NULL, *ev, *plain = NULL;
	char text[64];

	hs_run(h);
	join_all(ROOM, all, 3, hostile, 2);
	add_copycat(h, "@a:example.org", "EVIL", e2e_curve25519_key(b->e));
	add_copycat(h, "@aa:example.org", "EVIL2", e2e_curve25519_key(c->e));
	hs_run(h);

	/* B asks for help: its room key reaches Hearth over Olm, its message is read */
	assert_int_equal(cl_encrypt(b, ROOM, "!crisis", &enc), 0);
	cl_sync(bot);
	ev = hs_event(b, enc, "$crisis");
	assert_int_equal(cl_decrypt(bot, ROOM, ev, text, sizeof(text), &plain), 0);
	assert_string_equal(text, "!crisis");
	assert_string_equal(json_string_value(json_object_get(plain, "sender_device")), "BDEV");
	assert_true(json_is_true(json_object_get(plain, "sender_verified")));
	json_decref(plain);
	json_decref(ev);
	json_decref(enc);

	/* Hearth answers: B's device gets the key and reads it; neither copy is ever addressed;
	 * C, whose key was copied and who has not written yet, is refused like its copy */
	assert_int_equal(cl_encrypt(bot, ROOM, "the answer", &enc), 0);
	cl_sync(b);
	cl_sync(c);
	ev = hs_event(bot, enc, "$answer");
	assert_int_equal(cl_decrypt(b, ROOM, ev, text, sizeof(text), NULL), 0);
	assert_string_equal(text, "the answer");
	assert_int_equal(cl_decrypt(c, ROOM, ev, text, sizeof(text), NULL), HE_AGAIN);
	assert_int_equal(hs_todev_count(h, "@a:example.org", "EVIL"), 0);
	assert_int_equal(hs_todev_count(h, "@aa:example.org", "EVIL2"), 0);
	assert_int_equal(hs_todev_count(h, "@c:example.org", "CDEV"), 0);
	/* the refused devices are told why, once (m.room_key.withheld): a claimed identity key */
	int told = 0, again = 0;
	assert_string_equal(hs_withheld(h, "@c:example.org", "CDEV", &told), "m.blacklisted");
	assert_true(told >= 1);
	json_decref(ev);
	json_decref(enc);
	assert_int_equal(cl_encrypt(bot, ROOM, "the same session", &enc), 0);
	hs_withheld(h, "@c:example.org", "CDEV", &again);
	assert_int_equal(again, told); /* not told again for the same session */
	json_decref(enc);

	/* C writes: its Olm message proves it holds its key; from then on it is answered */
	assert_int_equal(cl_encrypt(c, ROOM, "hello", &enc), 0);
	cl_sync(bot);
	ev = hs_event(c, enc, "$hello");
	assert_int_equal(cl_decrypt(bot, ROOM, ev, text, sizeof(text), NULL), 0);
	assert_string_equal(text, "hello");
	json_decref(ev);
	json_decref(enc);
	assert_int_equal(cl_encrypt(bot, ROOM, "welcome", &enc), 0);
	cl_sync(c);
	ev = hs_event(bot, enc, "$welcome");
	assert_int_equal(cl_decrypt(c, ROOM, ev, text, sizeof(text), NULL), 0);
	assert_string_equal(text, "welcome");
	assert_int_equal(hs_todev_count(h, "@aa:example.org", "EVIL2"), 0);
	json_decref(ev);
	json_decref(enc);

	/* a hostile member replays B's ciphertext as its own event: B's session, another sender */
	assert_int_equal(cl_encrypt(b, ROOM, "mine", &enc), 0);
	ev = hs_event(b, enc, "$stolen");
	json_object_set_new(ev, "sender", json_string("@a:example.org"));
	assert_int_equal(cl_decrypt(bot, ROOM, ev, text, sizeof(text), NULL), HE_CRYPTO);
	json_decref(ev);
	json_decref(enc);
	hs_free(h);
}

static uint64_t fake_now;
static uint64_t fake_clock(void)
{
	return fake_now;
}

static json_t *bogus_event(struct cl *from, int i)
{
	char eid[32], sid[32];

	snprintf(eid, sizeof(eid), "$flood%d", i);
	snprintf(sid, sizeof(sid), "madeup%d", i);
	return json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}}", "type", "m.room.encrypted",
			 "event_id", eid, "sender", from->user, "content", "algorithm",
			 "m.megolm.v1.aes-sha2", "sender_key", e2e_curve25519_key(from->e),
			 "session_id", sid, "ciphertext", "AwgAEhAAAAAAAAAAAAAAAAAA", "device_id",
			 from->dev);
}

/* The events take_unblocked hands out, as "event id" strings joined by spaces. */
static void unblocked_ids(struct cl *c, char *buf, size_t len)
{
	json_t *un = e2e_take_unblocked(c->e), *it;
	size_t i;

	assert_non_null(un);
	buf[0] = '\0';
	json_array_foreach(un, i, it) {
		size_t n = strlen(buf);
		snprintf(buf + n, len - n, "%s%s", n ? " " : "",
			 json_string_value(json_object_get(json_object_get(it, "event"), "event_id")));
	}
	json_decref(un);
}

/* from floods Hearth with n events whose keys do not exist; each waits (HE_AGAIN). With
 * per_sender, every per_sender events come from another made-up account (@sybilN). */
static void flood(struct hs *h, struct cl *bot, struct cl *from, int n, int per_sender)
{
	json_t *ev, *plain = NULL;
	char who[64];

	for (int i = 0; i < n; i++) {
		ev = bogus_event(from, i);
		if (per_sender) {
			snprintf(who, sizeof(who), "@sybil%d:example.org", i / per_sender);
			json_object_set_new(ev, "sender", json_string(who));
		}
		assert_int_equal(e2e_decrypt_room_event(bot->e, ROOM, ev, &plain), HE_AGAIN);
		json_decref(ev);
		if (i % 100 == 0)
			hs_flush(h);
	}
	hs_flush(h);
}

/* from's text (event eid) reaches Hearth before its room key: it waits (HE_AGAIN). */
static void arrives_before_key(struct cl *bot, struct cl *from, const char *text, const char *eid)
{
	json_t *enc = NULL, *ev, *plain = NULL;

	assert_int_equal(cl_encrypt(from, ROOM, text, &enc), 0);
	ev = hs_event(from, enc, eid);
	assert_int_equal(e2e_decrypt_room_event(bot->e, ROOM, ev, &plain), HE_AGAIN);
	json_decref(ev);
	json_decref(enc);
}

/* 11. One member floods Hearth with 2,100 events whose keys do not exist. Another member's
 * message that waits for its key is still kept and read once its key comes; events wait 10
 * minutes at most. */
static void test_waiting_events_capped_and_expire(void **state)
{
	struct hs *h = hs_new();
	struct cl *bot = hs_add(h, "@hearth:example.org", "HDEV", NULL);
	struct cl *a = hs_add(h, "@a:example.org", "ADEV", NULL);
	struct cl *b = hs_add(h, "@b:example.org", "BDEV", NULL);
	struct cl *c = hs_add(h, "@c:example.org", "CDEV", NULL);
	struct cl *all[] = { bot, a, b, c };
	json_t *enc = NULL, *ev;
	char ids[256], text[64];

	hs_run(h);
	join_all(ROOM, all, 4, NULL, 0);
	fake_now = (uint64_t)time(NULL) * 1000;
	e2e_set_clock(bot->e, fake_clock);
	flood(h, bot, a, 2100, 0);

	/* B's "!crisis" arrives before its key, waits, and is handed back when the key comes */
	arrives_before_key(bot, b, "!crisis", "$crisis");
	cl_sync(bot);
	unblocked_ids(bot, ids, sizeof(ids));
	assert_string_equal(ids, "$crisis");

	/* C's message waits 9 minutes: still kept */
	arrives_before_key(bot, c, "nine minutes", "$nine");
	fake_now += 9 * 60 * 1000;
	unblocked_ids(bot, ids, sizeof(ids));
	assert_string_equal(ids, "");
	cl_sync(bot);
	unblocked_ids(bot, ids, sizeof(ids));
	assert_string_equal(ids, "$nine");

	/* 11 minutes after the flood, A's made-up events are gone, and A is heard again */
	fake_now += 2 * 60 * 1000;
	arrives_before_key(bot, a, "a real one", "$real");
	cl_sync(bot);
	unblocked_ids(bot, ids, sizeof(ids));
	assert_string_equal(ids, "$real");

	/* a message whose key comes 10 minutes and a second too late is dropped (B starts a new
	 * session, as it does when a member leaves) */
	assert_int_equal(e2e_room_member_change(b->e, ROOM, c->user, "leave"), 0);
	assert_int_equal(cl_encrypt(b, ROOM, "too late", &enc), 0);
	ev = hs_event(b, enc, "$late");
	json_decref(enc);
	assert_int_equal(cl_decrypt(bot, ROOM, ev, text, sizeof(text), NULL), HE_AGAIN);
	json_decref(ev);
	fake_now += 10 * 60 * 1000 + 1000;
	unblocked_ids(bot, ids, sizeof(ids));
	cl_sync(bot);
	unblocked_ids(bot, ids, sizeof(ids));
	assert_string_equal(ids, "");
	hs_free(h);
}

/* 11. Many accounts flood together (41 senders x 50 made-up events, more than the 2,000 kept in
 * all): the sender with the most waiting makes room, so a member's message is still kept. */
static void test_waiting_events_many_senders(void **state)
{
	struct hs *h = hs_new();
	struct cl *bot = hs_add(h, "@hearth:example.org", "HDEV", NULL);
	struct cl *a = hs_add(h, "@a:example.org", "ADEV", NULL);
	struct cl *b = hs_add(h, "@b:example.org", "BDEV", NULL);
	struct cl *all[] = { bot, a, b };
	char ids[256];

	hs_run(h);
	join_all(ROOM, all, 3, NULL, 0);
	flood(h, bot, a, 41 * 50, 50);
	/* Hearth's own key requests for them (to "*" of its user) come back to it; Synapse hands
	 * out 100 to-device events per sync, this router all at once; Hearth ignores them anyway */
	json_array_clear(bot->inbox);
	arrives_before_key(bot, b, "!crisis", "$crisis");
	cl_sync(bot);
	unblocked_ids(bot, ids, sizeof(ids));
	assert_string_equal(ids, "$crisis");
	hs_free(h);
}

/* Bootstraps cross-signing on c's device (new master/self-signing keys for its user). */
static void cross_sign(struct hs *h, struct cl *c)
{
	assert_int_equal(e2e_cross_signing_bootstrap(c->e), 0);
	hs_flush(h);
	hs_run(h);
}

/* Hearth writes text in room as event eid; reader and outsider sync; reader reads it, outsider
 * cannot (it got no room key). */
static void only_reader_reads(struct cl *bot, const char *room, const char *text, const char *eid,
			      struct cl *reader, struct cl *outsider)
{
	json_t *enc = NULL, *ev;
	char body[64];

	assert_int_equal(cl_encrypt(bot, room, text, &enc), 0);
	cl_sync(reader);
	cl_sync(outsider);
	ev = hs_event(bot, enc, eid);
	assert_int_equal(cl_decrypt(reader, room, ev, body, sizeof(body), NULL), 0);
	assert_int_equal(cl_decrypt(outsider, room, ev, body, sizeof(body), NULL), HE_AGAIN);
	json_decref(ev);
	json_decref(enc);
}

/* 12. Private chats: with cross-signing, only devices signed by the member's self-signing key
 * get the key; the master key is pinned; a changed one trusts nothing new until the member
 * confirms from a device they had vouched for. Group rooms and members without cross-signing
 * keep today's rule. */
static void test_private_chat_vouched_devices(void **state)
{
	struct hs *h = hs_new();
	struct cl *bot = hs_add(h, "@hearth:example.org", "HDEV", NULL);
	struct cl *b = hs_add(h, "@b:example.org", "BDEV", NULL);
	struct cl *c = hs_add(h, "@c:example.org", "CDEV", NULL);
	json_t *enc = NULL, *ev, *notes;
	char text[64];

	hs_run(h);
	cross_sign(h, b);
	struct cl *b2 = hs_add(h, "@b:example.org", "BNEW", NULL); /* B's second, unsigned device */
	struct cl *c2 = hs_add(h, "@c:example.org", "CNEW", NULL); /* C has no cross-signing */
	hs_run(h);
	struct cl *priv_b[] = { bot, b, b2 }, *priv_c[] = { bot, c, c2 }, *group[] = { bot, b, b2, c, c2 };
	join_all(ROOM, group, 5, NULL, 0);
	join_all(PRIV, priv_b, 3, NULL, 0);
	join_all(PRIV_C, priv_c, 3, NULL, 0);
	hs_run(h);
	assert_true(e2e_room_private_with(bot->e, PRIV, b->user));
	assert_false(e2e_room_private_with(bot->e, ROOM, b->user));
	assert_true(e2e_device_trusted(bot->e, b->user, "BDEV"));
	assert_false(e2e_device_trusted(bot->e, b->user, "BNEW"));

	/* the private chat: B's signed device reads it, the unsigned one gets no key */
	only_reader_reads(bot, PRIV, "your mood history", "$p1", b, b2);
	assert_int_equal(hs_todev_count(h, b->user, "BNEW"), 0);
	/* and is told so, once per session, as not verified (m.room_key.withheld) */
	int told = 0;
	assert_string_equal(hs_withheld(h, b->user, "BNEW", &told), "m.unverified");
	assert_int_equal(told, 1);
	assert_null(hs_withheld(h, b->user, "BDEV", NULL));
	/* the group room: every self-signed device, as before */
	assert_int_equal(cl_encrypt(bot, ROOM, "check-in", &enc), 0);
	cl_sync(b2);
	ev = hs_event(bot, enc, "$g1");
	assert_int_equal(cl_decrypt(b2, ROOM, ev, text, sizeof(text), NULL), 0);
	json_decref(ev);
	json_decref(enc);
	/* C without cross-signing: both its devices read its private chat */
	assert_int_equal(cl_encrypt(bot, PRIV_C, "for c", &enc), 0);
	cl_sync(c);
	cl_sync(c2);
	ev = hs_event(bot, enc, "$c1");
	assert_int_equal(cl_decrypt(c, PRIV_C, ev, text, sizeof(text), NULL), 0);
	assert_int_equal(cl_decrypt(c2, PRIV_C, ev, text, sizeof(text), NULL), 0);
	json_decref(ev);
	json_decref(enc);
	notes = e2e_take_identity_notices(bot->e);
	assert_int_equal(json_array_size(notes), 0);
	json_decref(notes);
	assert_int_equal(e2e_identity_confirm(bot->e, b->user, "BDEV"), HE_NOTFOUND);

	/* B's new device resets B's cross-signing: a new master key, which signs only BNEW */
	cross_sign(h, b2);
	assert_true(e2e_identity_pending(bot->e, b->user));
	notes = e2e_take_identity_notices(bot->e);
	assert_int_equal(json_array_size(notes), 1);
	assert_string_equal(json_string_value(json_array_get(notes, 0)), b->user);
	json_decref(notes);
	notes = e2e_take_identity_notices(bot->e); /* told once */
	assert_int_equal(json_array_size(notes), 0);
	json_decref(notes);
	assert_false(e2e_device_trusted(bot->e, b->user, "BNEW"));
	assert_true(e2e_device_trusted(bot->e, b->user, "BDEV"));
	int to_new = hs_todev_count(h, b->user, "BNEW");
	only_reader_reads(bot, PRIV, "still only the old device", "$p2", b, b2);
	assert_int_equal(hs_todev_count(h, b->user, "BNEW"), to_new);

	/* the confirmation must come from the device B vouched for before */
	assert_int_equal(e2e_identity_confirm(bot->e, b->user, "BNEW"), HE_PERM);
	assert_int_equal(e2e_identity_confirm(bot->e, b->user, NULL), HE_PERM);
	assert_true(e2e_identity_pending(bot->e, b->user));
	assert_int_equal(e2e_identity_confirm(bot->e, b->user, "BDEV"), 0);
	assert_false(e2e_identity_pending(bot->e, b->user));
	hs_run(h);
	assert_true(e2e_device_trusted(bot->e, b->user, "BNEW"));
	assert_false(e2e_device_trusted(bot->e, b->user, "BDEV")); /* not signed by the new keys */
	assert_int_equal(cl_encrypt(bot, PRIV, "after the confirmation", &enc), 0);
	cl_sync(b);
	cl_sync(b2);
	ev = hs_event(bot, enc, "$p3");
	assert_int_equal(cl_decrypt(b2, PRIV, ev, text, sizeof(text), NULL), 0);
	assert_string_equal(text, "after the confirmation");
	assert_int_equal(cl_decrypt(b, PRIV, ev, text, sizeof(text), NULL), HE_AGAIN);
	json_decref(ev);
	json_decref(enc);
	assert_int_equal(e2e_identity_confirm(bot->e, b->user, "BNEW"), HE_NOTFOUND);

	/* a homeserver that stops showing B's cross-signing keys does not downgrade B to "every
	 * device": it is a change like any other */
	json_object_del(h->xsign, b->user);
	hs_changed(h, b->user);
	hs_run(h);
	assert_true(e2e_identity_pending(bot->e, b->user));
	assert_true(e2e_device_trusted(bot->e, b->user, "BNEW"));
	assert_false(e2e_device_trusted(bot->e, b->user, "BDEV"));
	int to_old = hs_todev_count(h, b->user, "BDEV");
	assert_int_equal(cl_encrypt(bot, PRIV, "keys gone", &enc), 0);
	assert_int_equal(hs_todev_count(h, b->user, "BDEV"), to_old);
	json_decref(enc);
	hs_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copied_identity_key),
		cmocka_unit_test(test_waiting_events_capped_and_expire),
		cmocka_unit_test(test_waiting_events_many_senders),
		cmocka_unit_test(test_private_chat_vouched_devices),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
