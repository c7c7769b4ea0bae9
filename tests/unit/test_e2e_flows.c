/* Unit tests of bot/net/matrix/crypto (the e2e module): two or three e2e instances in one
 * process, each on its own store, with e2e_router.h answering their requests. Signatures
 * are checked here with libsodium, independently of libolm. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "e2e_router.h"

#define ROOM "!room:example.org"

static char tmpdir[256];

static int setup_dir(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hearth-e2e-test-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown_dir(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
	unlink(buf);
}

/* Everyone in clients learns that the room is encrypted and who its members are. */
static void room_setup(struct cl **clients, int n, json_t *enc_content)
{
	assert_int_equal(hs_join(clients, n, ROOM, enc_content, NULL, 0), 0);
}

/* Decrypts ev for c; returns the rc and the body text (or ""). */
static int recv_text(struct cl *c, json_t *ev, char *body, size_t len)
{
	return cl_decrypt(c, ROOM, ev, body, len, NULL);
}

static bool verify_sig(json_t *obj, const char *user, const char *key_id, const char *pub_b64)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sig[crypto_sign_BYTES];
	const char *s = json_string_value(json_object_get(json_object_get(json_object_get(obj,
						"signatures"), user), key_id));
	json_t *copy;
	char *msg;
	size_t n;
	bool ok;

	if (!s || sodium_base642bin(pk, sizeof(pk), pub_b64, strlen(pub_b64), NULL, &n, NULL,
				    sodium_base64_VARIANT_ORIGINAL_NO_PADDING) || n != sizeof(pk) ||
	    sodium_base642bin(sig, sizeof(sig), s, strlen(s), NULL, &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL_NO_PADDING) || n != sizeof(sig))
		return false;
	copy = json_deep_copy(obj);
	json_object_del(copy, "signatures");
	json_object_del(copy, "unsigned");
	msg = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
	ok = crypto_sign_verify_detached(sig, (unsigned char *)msg, strlen(msg), pk) == 0;
	free(msg);
	json_decref(copy);
	return ok;
}

static int count_inbox(struct cl *c, const char *type)
{
	size_t i;
	json_t *ev;
	int n = 0;
	json_array_foreach(c->inbox, i, ev)
		if (strcmp(json_string_value(json_object_get(ev, "type")), type) == 0)
			n++;
	return n;
}

static int find_path(const struct e2e_request **out, size_t n, const char *path)
{
	int found = -1;
	for (size_t i = 0; i < n; i++)
		if (strcmp(out[i]->path, path) == 0) {
			assert_int_equal(found, -1); /* at most one */
			found = (int)i;
		}
	return found;
}

/* --- tests --- */

static void test_pickle_key_file(void **state)
{
	char path[300];
	unsigned char k1[32], k2[32];

	tmp_path(path, sizeof(path), "e2e.key");
	assert_int_equal(e2e_load_pickle_key(path, k1), 0);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(e2e_load_pickle_key(path, k2), 0);
	assert_memory_equal(k1, k2, 32);
	chmod(path, 0644);
	assert_int_equal(e2e_load_pickle_key(path, k2), HE_PERM);
	chmod(path, 0600);
	truncate(path, 10);
	assert_int_equal(e2e_load_pickle_key(path, k2), HE_INVAL);
}

static void test_keys_upload(void **state)
{
	struct hs *h = hs_new();
	struct cl *a = hs_add(h, "@a:example.org", "ADEV", NULL);
	const struct e2e_request *out[8];
	size_t n = e2e_outgoing(a->e, out, 8);
	int u = find_path(out, n, "/keys/upload");
	json_t *dk, *otks, *k;
	const char *id;

	assert_true(u >= 0);
	dk = json_object_get(out[u]->body, "device_keys");
	assert_non_null(dk);
	assert_string_equal(json_string_value(json_object_get(dk, "user_id")), "@a:example.org");
	assert_string_equal(json_string_value(json_object_get(json_object_get(dk, "keys"),
							      "ed25519:ADEV")), e2e_ed25519_key(a->e));
	assert_true(verify_sig(dk, "@a:example.org", "ed25519:ADEV", e2e_ed25519_key(a->e)));
	otks = json_object_get(out[u]->body, "one_time_keys");
	assert_int_equal(json_object_size(otks), 50);
	json_object_foreach(otks, id, k) {
		assert_true(strncmp(id, "signed_curve25519:", 18) == 0);
		assert_true(verify_sig(k, "@a:example.org", "ed25519:ADEV", e2e_ed25519_key(a->e)));
	}
	assert_int_equal(json_object_size(json_object_get(out[u]->body, "fallback_keys")), 1);
	/* handed out once only */
	assert_int_equal(e2e_outgoing(a->e, out + n, 8 - n), 0);
	hs_reply(h, a, out, n);
	hs_run(h); /* (our own device list changed: one /keys/query) */
	assert_int_equal(e2e_outgoing(a->e, out, 8), 0); /* 50 on the server: nothing to do */
	/* 45 claimed: topped up to 50 again with 45 new ids */
	for (int i = 0; i < 45; i++) {
		json_t *mine = json_object_get(json_object_get(h->otks, a->user), a->dev);
		json_object_del(mine, json_object_iter_key(json_object_iter(mine)));
	}
	cl_sync(a);
	n = e2e_outgoing(a->e, out, 8);
	assert_int_equal(n, 1);
	assert_null(json_object_get(out[0]->body, "device_keys"));
	assert_int_equal(json_object_size(json_object_get(out[0]->body, "one_time_keys")), 45);
	hs_reply(h, a, out, n);
	assert_int_equal(json_object_size(json_object_get(json_object_get(h->otks, a->user), a->dev)), 50);
	assert_int_equal(h->conflicts, 0);
	hs_free(h);
}

static void test_roundtrip_both_ways(void **state)
{
	struct hs *h = hs_new();
	struct cl *a = hs_add(h, "@a:example.org", "ADEV", NULL);
	struct cl *b = hs_add(h, "@b:example.org", "BDEV", NULL);
	struct cl *all[] = { a, b };
	json_t *enc = NULL, *ev, *plain = NULL;
	char text[64];

	hs_run(h);
	room_setup(all, 2, NULL);
	assert_int_equal(cl_encrypt(a, ROOM, "hello from a", &enc), 0);
	assert_string_equal(json_string_value(json_object_get(enc, "algorithm")), "m.megolm.v1.aes-sha2");
	assert_null(json_object_get(enc, "body")); /* never plaintext */
	/* B's inbox: the room key over a new Olm session (a pre-key message) */
	assert_int_equal(count_inbox(b, "m.room.encrypted"), 1);
	json_t *olm = json_object_get(json_object_get(json_object_get(json_array_get(b->inbox, 0),
		"content"), "ciphertext"), e2e_curve25519_key(b->e));
	assert_int_equal(json_integer_value(json_object_get(olm, "type")), 0);
	cl_sync(b);
	ev = hs_event(a, enc, "$e1");
	assert_int_equal(e2e_decrypt_room_event(b->e, ROOM, ev, &plain), 0);
	assert_string_equal(json_string_value(json_object_get(plain, "type")), "m.room.message");
	assert_string_equal(json_string_value(json_object_get(json_object_get(plain, "content"), "body")),
			    "hello from a");
	assert_string_equal(json_string_value(json_object_get(plain, "sender_device")), "ADEV");
	assert_true(json_is_true(json_object_get(plain, "sender_verified")));
	json_decref(plain);
	json_decref(ev);
	json_decref(enc);

	/* and back: B shares its own session with A over the existing Olm session */
	assert_int_equal(cl_encrypt(b, ROOM, "hello from b", &enc), 0);
	cl_sync(a);
	ev = hs_event(b, enc, "$e2");
	assert_int_equal(recv_text(a, ev, text, sizeof(text)), 0);
	assert_string_equal(text, "hello from b");
	json_decref(ev);
	json_decref(enc);

	/* more messages reuse the session: no more to-device traffic */
	int before = h->requests;
	assert_int_equal(cl_encrypt(a, ROOM, "again", &enc), 0);
	assert_int_equal(h->requests, before);
	ev = hs_event(a, enc, "$e3");
	assert_int_equal(recv_text(b, ev, text, sizeof(text)), 0);
	assert_string_equal(text, "again");
	/* the sender's own copy decrypts too */
	assert_int_equal(recv_text(a, ev, text, sizeof(text)), 0);
	json_decref(ev);
	json_decref(enc);
	hs_free(h);
}

static void test_replay_and_sender_mismatch(void **state)
{
	struct hs *h = hs_new();
	struct cl *a = hs_add(h, "@a:example.org", "ADEV", NULL);
	struct cl *b = hs_add(h, "@b:example.org", "BDEV", NULL);
	struct cl *all[] = { a, b };
	json_t *enc = NULL, *ev, *ev2, *ev3;

	hs_run(h);
	room_setup(all, 2, NULL);
	assert_int_equal(cl_encrypt(a, ROOM, "once", &enc), 0);
	cl_sync(b);
	ev = hs_event(a, enc, "$orig");
	assert_int_equal(recv_text(b, ev, NULL, 0), 0);
	assert_int_equal(recv_text(b, ev, NULL, 0), 0); /* the same event again is fine */
	ev2 = hs_event(a, enc, "$replay");
	assert_int_equal(recv_text(b, ev2, NULL, 0), HE_CRYPTO);
	/* a message whose session belongs to A but claims another sender */
	json_decref(enc);
	assert_int_equal(cl_encrypt(a, ROOM, "spoof", &enc), 0);
	ev3 = hs_event(a, enc, "$spoof");
	json_object_set_new(ev3, "sender", json_string("@b:example.org"));
	assert_int_equal(recv_text(b, ev3, NULL, 0), HE_CRYPTO);
	json_decref(ev);
	json_decref(ev2);
	json_decref(ev3);
	json_decref(enc);
	hs_free(h);
}

static void test_missing_key_then_unblocked(void **state)
{
	struct hs *h = hs_new();
	struct cl *a = hs_add(h, "@a:example.org", "ADEV", NULL);
	struct cl *b = hs_add(h, "@b:example.org", "BDEV", NULL);
	struct cl *all[] = { a, b };
	json_t *enc = NULL, *ev, *un, *plain = NULL;
	const struct e2e_request *out[8];
	size_t n;
	bool asked = false;

	hs_run(h);
	room_setup(all, 2, NULL);
	assert_int_equal(cl_encrypt(a, ROOM, "early", &enc), 0);
	/* B sees the room event before its to-device key (no sync yet) */
	ev = hs_event(a, enc, "$early");
	assert_int_equal(e2e_decrypt_room_event(b->e, ROOM, ev, &plain), HE_AGAIN);
	assert_null(plain);
	n = e2e_outgoing(b->e, out, 8);
	for (size_t i = 0; i < n; i++) {
		if (strncmp(out[i]->path, "/sendToDevice/m.room_key_request/", 33) == 0) {
			json_t *m = json_object_get(out[i]->body, "messages");
			json_t *req = json_object_get(json_object_get(m, "@a:example.org"), "*");
			assert_non_null(req);
			assert_non_null(json_object_get(json_object_get(m, "@b:example.org"), "*"));
			assert_string_equal(json_string_value(json_object_get(req, "action")), "request");
			assert_string_equal(json_string_value(json_object_get(json_object_get(req, "body"),
				"session_id")), json_string_value(json_object_get(enc, "session_id")));
			asked = true;
		}
		e2e_request_done(b->e, out[i]->id, 200, NULL);
	}
	assert_true(asked);
	un = e2e_take_unblocked(b->e);
	assert_int_equal(json_array_size(un), 0);
	json_decref(un);
	/* the key arrives */
	cl_sync(b);
	un = e2e_take_unblocked(b->e);
	assert_int_equal(json_array_size(un), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(un, 0), "room_id")), ROOM);
	json_t *again = json_object_get(json_array_get(un, 0), "event");
	assert_string_equal(json_string_value(json_object_get(again, "event_id")), "$early");
	assert_int_equal(e2e_decrypt_room_event(b->e, ROOM, again, &plain), 0);
	json_decref(plain);
	json_decref(un);
	un = e2e_take_unblocked(b->e); /* handed out once */
	assert_int_equal(json_array_size(un), 0);
	json_decref(un);
	json_decref(ev);
	json_decref(enc);
	hs_free(h);
}

static void test_rotation_by_count(void **state)
{
	struct hs *h = hs_new();
	struct cl *a = hs_add(h, "@a:example.org", "ADEV", NULL);
	struct cl *b = hs_add(h, "@b:example.org", "BDEV", NULL);
	struct cl *all[] = { a, b };
	json_t *conf = json_pack("{s:s, s:i}", "algorithm", "m.megolm.v1.aes-sha2",
				 "rotation_period_msgs", 3);
	char first[128] = "", ev_id[16];

	hs_run(h);
	room_setup(all, 2, conf);
	for (int i = 0; i < 4; i++) {
		json_t *enc = NULL, *ev;
		assert_int_equal(cl_encrypt(a, ROOM, "msg", &enc), 0);
		const char *sid = json_string_value(json_object_get(enc, "session_id"));
		if (i == 0)
			snprintf(first, sizeof(first), "%s", sid);
		else if (i < 3)
			assert_string_equal(sid, first);
		else
			assert_string_not_equal(sid, first);
		cl_sync(b);
		snprintf(ev_id, sizeof(ev_id), "$r%d", i);
		ev = hs_event(a, enc, ev_id);
		assert_int_equal(recv_text(b, ev, NULL, 0), 0);
		json_decref(ev);
		json_decref(enc);
	}
	json_decref(conf);
	hs_free(h);
}

static void test_rotation_on_leave_and_late_device(void **state)
{
	struct hs *h = hs_new();
	struct cl *a = hs_add(h, "@a:example.org", "ADEV", NULL);
	struct cl *b = hs_add(h, "@b:example.org", "BDEV", NULL);
	struct cl *c = hs_add(h, "@c:example.org", "CDEV", NULL);
	struct cl *all[] = { a, b, c };
	json_t *enc = NULL, *ev;
	char s1[128];

	hs_run(h);
	room_setup(all, 3, NULL);
	assert_int_equal(cl_encrypt(a, ROOM, "to all three", &enc), 0);
	snprintf(s1, sizeof(s1), "%s", json_string_value(json_object_get(enc, "session_id")));
	cl_sync(b);
	cl_sync(c);
	ev = hs_event(a, enc, "$m1");
	assert_int_equal(recv_text(b, ev, NULL, 0), 0);
	assert_int_equal(recv_text(c, ev, NULL, 0), 0);
	json_decref(ev);
	json_decref(enc);

	/* C leaves: the next message uses a new session C never gets */
	assert_int_equal(e2e_room_member_change(a->e, ROOM, c->user, "leave"), 0);
	assert_int_equal(cl_encrypt(a, ROOM, "after c left", &enc), 0);
	assert_string_not_equal(json_string_value(json_object_get(enc, "session_id")), s1);
	assert_int_equal(count_inbox(c, "m.room.encrypted"), 0);
	cl_sync(b);
	cl_sync(c);
	ev = hs_event(a, enc, "$m2");
	assert_int_equal(recv_text(b, ev, NULL, 0), 0);
	assert_int_equal(recv_text(c, ev, NULL, 0), HE_AGAIN);
	json_decref(ev);
	json_decref(enc);

	/* a device added later (B's second device) receives the current session */
	struct cl *b2 = hs_add(h, "@b:example.org", "BDEV2", NULL);
	hs_flush(h);                     /* its keys go up: A hears of it in device_lists.changed */
	cl_sync(a);
	assert_int_equal(cl_encrypt(a, ROOM, "welcome b2", &enc), 0);
	cl_sync(b2);
	ev = hs_event(a, enc, "$m3");
	assert_int_equal(recv_text(b2, ev, NULL, 0), 0);
	json_decref(ev);
	json_decref(enc);
	hs_free(h);
}

static void test_rotation_when_device_goes_away(void **state)
{
	struct hs *h = hs_new();
	struct cl *a = hs_add(h, "@a:example.org", "ADEV", NULL);
	struct cl *b = hs_add(h, "@b:example.org", "BDEV", NULL);
	struct cl *b2 = hs_add(h, "@b:example.org", "BOLD", NULL);
	struct cl *all[] = { a, b, b2 };
	json_t *enc = NULL, *ev;
	char s1[128];

	hs_run(h);
	room_setup(all, 3, NULL);
	assert_int_equal(cl_encrypt(a, ROOM, "one", &enc), 0);
	snprintf(s1, sizeof(s1), "%s", json_string_value(json_object_get(enc, "session_id")));
	json_decref(enc);
	hs_run(h);
	/* B logs out its old device: the server drops it and says B's list changed */
	json_object_del(json_object_get(h->devices, b->user), "BOLD");
	hs_changed(h, b->user);
	cl_sync(a);
	assert_int_equal(cl_encrypt(a, ROOM, "two", &enc), 0);
	assert_string_not_equal(json_string_value(json_object_get(enc, "session_id")), s1);
	assert_int_equal(count_inbox(b2, "m.room.encrypted"), 0);
	assert_int_equal(count_inbox(b, "m.room.encrypted"), 1);
	cl_sync(b);
	ev = hs_event(a, enc, "$two");
	assert_int_equal(recv_text(b, ev, NULL, 0), 0);
	json_decref(ev);
	json_decref(enc);
	hs_free(h);
}

static void test_restart_keeps_everything(void **state)
{
	struct hs *h = hs_new();
	char pa[300], pb[300], text[64];
	tmp_path(pa, sizeof(pa), "a.db");
	tmp_path(pb, sizeof(pb), "b.db");
	struct cl *a = hs_add(h, "@a:example.org", "ADEV", pa);
	struct cl *b = hs_add(h, "@b:example.org", "BDEV", pb);
	struct cl *all[] = { a, b };
	json_t *enc = NULL, *ev1, *ev2, *ev3;
	char sid[128], curve[64];

	hs_run(h);
	room_setup(all, 2, NULL);
	snprintf(curve, sizeof(curve), "%s", e2e_curve25519_key(a->e));
	assert_int_equal(cl_encrypt(a, ROOM, "before restart", &enc), 0);
	snprintf(sid, sizeof(sid), "%s", json_string_value(json_object_get(enc, "session_id")));
	cl_sync(b);
	ev1 = hs_event(a, enc, "$before");
	assert_int_equal(recv_text(b, ev1, NULL, 0), 0);
	json_decref(enc);

	cl_close(a);
	cl_close(b);
	assert_int_equal(cl_open(a), 0);
	assert_int_equal(cl_open(b), 0);
	assert_string_equal(e2e_curve25519_key(a->e), curve);
	/* nothing to upload again, and the outbound session is reused without re-sharing */
	hs_flush(h);
	int before = h->requests;
	assert_int_equal(cl_encrypt(a, ROOM, "after restart", &enc), 0);
	assert_int_equal(h->requests, before);
	assert_string_equal(json_string_value(json_object_get(enc, "session_id")), sid);
	ev2 = hs_event(a, enc, "$after");
	assert_int_equal(recv_text(b, ev2, text, sizeof(text)), 0);
	assert_string_equal(text, "after restart");
	/* seen indexes survive: the old event is fine, a replay of it is not */
	assert_int_equal(recv_text(b, ev1, NULL, 0), 0);
	json_t *replay = hs_event(a, json_object_get(ev1, "content"), "$replay");
	assert_int_equal(recv_text(b, replay, NULL, 0), HE_CRYPTO);
	json_decref(replay);
	json_decref(enc);
	/* B encrypts after the restart over the stored Olm session */
	assert_int_equal(cl_encrypt(b, ROOM, "from b", &enc), 0);
	cl_sync(a);
	ev3 = hs_event(b, enc, "$fromb");
	assert_int_equal(recv_text(a, ev3, text, sizeof(text)), 0);
	assert_string_equal(text, "from b");
	json_decref(enc);
	json_decref(ev1);
	json_decref(ev2);
	json_decref(ev3);
	hs_free(h);
}

static void test_bad_signature_gets_no_key(void **state)
{
	struct hs *h = hs_new();
	snprintf(h->tamper_dev, sizeof(h->tamper_dev), "EVIL");
	struct cl *a = hs_add(h, "@a:example.org", "ADEV", NULL);
	struct cl *b = hs_add(h, "@b:example.org", "BDEV", NULL);
	struct cl *m = hs_add(h, "@m:example.org", "EVIL", NULL);
	struct cl *all[] = { a, b, m };
	json_t *enc = NULL, *ev;

	int n = 0;
	const char *code;

	hs_run(h);
	room_setup(all, 3, NULL);
	assert_int_equal(cl_encrypt(a, ROOM, "not for evil", &enc), 0);
	assert_int_equal(count_inbox(m, "m.room.encrypted"), 0);
	assert_int_equal(count_inbox(b, "m.room.encrypted"), 1);
	/* the badly signed device is told that the key is withheld from it, and why; the good
	 * one is told nothing */
	code = hs_withheld(h, "@m:example.org", "EVIL", &n);
	assert_non_null(code);
	assert_string_equal(code, "m.unverified");
	assert_int_equal(n, 1);
	assert_null(hs_withheld(h, "@b:example.org", "BDEV", NULL));
	cl_sync(m);
	ev = hs_event(a, enc, "$x");
	assert_int_equal(recv_text(m, ev, NULL, 0), HE_AGAIN);
	json_decref(ev);
	json_decref(enc);
	/* told once per session: the next message of the same session tells it nothing new */
	assert_int_equal(cl_encrypt(a, ROOM, "still not for evil", &enc), 0);
	json_decref(enc);
	hs_withheld(h, "@m:example.org", "EVIL", &n);
	assert_int_equal(n, 1);
	assert_int_equal(count_inbox(m, "m.room.encrypted"), 0);
	hs_free(h);
}

/* A hostile account lists 40 badly signed devices: Hearth remembers (and tells) at most
 * E2E_MAX_BAD_DEVICES of them, once per session; the good devices still get the key. */
static void test_bad_devices_capped(void **state)
{
	struct hs *h = hs_new();
	struct cl *a = hs_add(h, "@a:example.org", "ADEV", NULL);
	struct cl *b = hs_add(h, "@b:example.org", "BDEV", NULL);
	struct cl *m = hs_add(h, "@m:example.org", "MDEV", NULL);
	struct cl *all[] = { a, b, m };
	json_t *enc = NULL;
	char dev[32], kid[64];
	int told = 0;

	hs_run(h);
	for (int i = 0; i < 40; i++) {
		snprintf(dev, sizeof(dev), "BAD%02d", i);
		json_t *dk = json_pack("{s:s, s:s, s:[s], s:{}, s:{s:{}}}", "user_id", "@m:example.org",
				       "device_id", dev, "algorithms", "m.megolm.v1.aes-sha2", "keys",
				       "signatures", "@m:example.org");
		snprintf(kid, sizeof(kid), "curve25519:%s", dev);
		json_object_set_new(json_object_get(dk, "keys"), kid,
				    json_string("Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm8"));
		snprintf(kid, sizeof(kid), "ed25519:%s", dev);
		json_object_set_new(json_object_get(dk, "keys"), kid,
				    json_string(e2e_ed25519_key(m->e)));
		json_object_set_new(json_object_get(json_object_get(dk, "signatures"), "@m:example.org"),
				    kid, json_string("c2lnbmF0dXJlIHRoYXQgZG9lcyBub3QgdmVyaWZ5"));
		json_object_set_new(hs_sub(h->devices, "@m:example.org", NULL), dev, dk);
	}
	json_t *conf = json_pack("{s:s, s:i}", "algorithm", "m.megolm.v1.aes-sha2",
				 "rotation_period_msgs", 1);
	int n;

	room_setup(all, 3, conf);
	json_decref(conf);
	/* three messages, three sessions: each told once per session */
	for (int k = 0; k < 3; k++) {
		assert_int_equal(cl_encrypt(a, ROOM, "for the good devices", &enc), 0);
		json_decref(enc);
	}
	for (int i = 0; i < 40; i++) {
		snprintf(dev, sizeof(dev), "BAD%02d", i);
		if (hs_withheld(h, "@m:example.org", dev, &n)) {
			told++;
			assert_int_equal(n, 3);
		}
		assert_int_equal(hs_todev_count(h, "@m:example.org", dev), 0);
	}
	assert_int_equal(told, 20); /* E2E_MAX_BAD_DEVICES */
	assert_int_equal(count_inbox(b, "m.room.encrypted"), 3);
	assert_int_equal(count_inbox(m, "m.room.encrypted"), 3);
	/* what was told is kept for the current session only */
	assert_int_equal(store_count(a->st, "SELECT count(*) FROM e2e_withheld_out", ""), 20);
	hs_free(h);
}

static void test_one_time_key_crash_safety(void **state)
{
	struct hs *h = hs_new();
	char pa[300];
	tmp_path(pa, sizeof(pa), "crash.db");
	struct cl *a = hs_add(h, "@a:example.org", "ADEV", pa);
	const struct e2e_request *out[4];
	json_t *first_ids, *resp;
	int status;

	/* the upload reaches the server, but we "crash" before its answer is recorded */
	size_t n = e2e_outgoing(a->e, out, 4);
	int u = find_path(out, n, "/keys/upload");
	assert_true(u >= 0);
	first_ids = json_deep_copy(json_object_get(out[u]->body, "one_time_keys"));
	assert_int_equal(json_object_size(first_ids), 50);
	resp = hs_answer(h, a, out[u], &status);
	assert_int_equal(status, 200);
	json_decref(resp);
	cl_close(a);

	assert_int_equal(cl_open(a), 0);
	n = e2e_outgoing(a->e, out, 4);
	u = find_path(out, n, "/keys/upload");
	assert_true(u >= 0);
	assert_true(json_equal(json_object_get(out[u]->body, "one_time_keys"), first_ids));
	hs_reply(h, a, out, n);
	hs_flush(h);
	assert_int_equal(h->conflicts, 0);
	assert_int_equal(json_object_size(json_object_get(json_object_get(h->otks, a->user), a->dev)), 50);
	/* and published now: the next start uploads nothing */
	hs_run(h);
	cl_close(a);
	assert_int_equal(cl_open(a), 0);
	cl_sync(a);
	n = e2e_outgoing(a->e, out, 4);
	assert_int_equal(find_path(out, n, "/keys/upload"), -1);
	hs_reply(h, a, out, n);
	json_decref(first_ids);
	hs_free(h);
}

static void test_wedged_session_repaired(void **state)
{
	struct hs *h = hs_new();
	struct cl *a = hs_add(h, "@a:example.org", "ADEV", NULL);
	struct cl *b = hs_add(h, "@b:example.org", "BDEV", NULL);
	struct cl *all[] = { a, b };
	json_t *enc = NULL, *bogus;

	hs_run(h);
	room_setup(all, 2, NULL);
	assert_int_equal(cl_encrypt(a, ROOM, "hi", &enc), 0);
	json_decref(enc);
	cl_sync(b);
	/* an Olm message from A that no session of B's can read */
	bogus = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:{s:i, s:s}}}}", "type", "m.room.encrypted",
			  "sender", a->user, "content", "algorithm", "m.olm.v1.curve25519-aes-sha2",
			  "sender_key", e2e_curve25519_key(a->e), "ciphertext", e2e_curve25519_key(b->e),
			  "type", 1, "body", "AwogbGlrZSBhIHdlZGdlZCBzZXNzaW9u");
	json_array_append(b->inbox, bogus);
	cl_sync(b);
	int claims_before = h->claims;
	hs_flush(h); /* B claims a key of A's and sends an encrypted m.dummy */
	assert_int_equal(h->claims, claims_before + 1);
	assert_int_equal(count_inbox(a, "m.room.encrypted"), 1);
	json_t *olm = json_object_get(json_object_get(json_object_get(json_array_get(a->inbox, 0),
		"content"), "ciphertext"), e2e_curve25519_key(a->e));
	assert_int_equal(json_integer_value(json_object_get(olm, "type")), 0); /* a new session */
	cl_sync(a);
	/* rate limited: the same again within the hour starts nothing */
	json_array_append(b->inbox, bogus);
	cl_sync(b);
	hs_flush(h);
	assert_int_equal(h->claims, claims_before + 1);
	assert_int_equal(count_inbox(a, "m.room.encrypted"), 0);
	json_decref(bogus);
	hs_free(h);
}

static void test_cross_signing(void **state)
{
	struct hs *h = hs_new();
	struct cl *a = hs_add(h, "@a:example.org", "ADEV", NULL);
	json_t *xs, *master, *ssk, *usk, *dev, *mk;
	const char *mpub = "", *spub = "", *k;
	json_t *v;
	char kid[80];

	hs_run(h);
	assert_int_equal(e2e_cross_signing_bootstrap(a->e), 0);
	hs_flush(h);
	assert_true(h->uia_done);
	xs = json_object_get(h->xsign, a->user);
	master = json_object_get(xs, "master_key");
	ssk = json_object_get(xs, "self_signing_key");
	usk = json_object_get(xs, "user_signing_key");
	assert_non_null(master);
	json_object_foreach(json_object_get(master, "keys"), k, v) mpub = json_string_value(v);
	json_object_foreach(json_object_get(ssk, "keys"), k, v) spub = json_string_value(v);
	snprintf(kid, sizeof(kid), "ed25519:%s", mpub);
	assert_true(verify_sig(ssk, a->user, kid, mpub));
	assert_true(verify_sig(usk, a->user, kid, mpub));
	assert_non_null(h->sigs);
	dev = json_object_get(json_object_get(h->sigs, a->user), "ADEV");
	snprintf(kid, sizeof(kid), "ed25519:%s", spub);
	assert_true(verify_sig(dev, a->user, kid, spub));
	mk = json_object_get(json_object_get(h->sigs, a->user), mpub);
	assert_true(verify_sig(mk, a->user, "ed25519:ADEV", e2e_ed25519_key(a->e)));
	/* done once: a second bootstrap queues nothing */
	int before = h->requests;
	assert_int_equal(e2e_cross_signing_bootstrap(a->e), 0);
	hs_flush(h);
	assert_int_equal(h->requests, before);
	hs_free(h);
}

/* A logout deleted the device on the server; a new login reused its id: the same account
 * publishes its device keys, one-time keys and a fallback key again, and the device is signed
 * again by the self-signing key. */
static void test_device_keys_lost(void **state)
{
	struct hs *h = hs_new();
	struct cl *a = hs_add(h, "@a:example.org", "ADEV", NULL);
	const struct e2e_request *out[8];
	char ed[64];
	size_t n;
	int u, before;

	hs_run(h);
	assert_int_equal(e2e_cross_signing_bootstrap(a->e), 0);
	hs_flush(h);
	snprintf(ed, sizeof(ed), "%s", e2e_ed25519_key(a->e));
	/* the server forgot the device and its keys */
	json_object_del(h->otks, a->user);
	json_object_del(h->sigs, a->user);
	assert_int_equal(e2e_device_keys_lost(a->e), 0);
	n = e2e_outgoing(a->e, out, 8);
	u = find_path(out, n, "/keys/upload");
	assert_true(u >= 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
		out[u]->body, "device_keys"), "keys"), "ed25519:ADEV")), ed); /* the same account */
	assert_int_equal(json_object_size(json_object_get(out[u]->body, "one_time_keys")), 50);
	assert_int_equal(json_object_size(json_object_get(out[u]->body, "fallback_keys")), 1);
	hs_reply(h, a, out, n);
	hs_flush(h);
	before = h->requests;
	assert_int_equal(e2e_cross_signing_bootstrap(a->e), 0);
	hs_flush(h);
	assert_true(h->requests > before);
	assert_non_null(json_object_get(json_object_get(h->sigs, a->user), "ADEV"));
	assert_int_equal(h->conflicts, 0);
	hs_free(h);
}

static void test_plaintext_never_and_bad_input(void **state)
{
	struct hs *h = hs_new();
	struct cl *a = hs_add(h, "@a:example.org", "ADEV", NULL);
	struct cl *b = hs_add(h, "@b:example.org", "BDEV", NULL);
	struct cl *all[] = { a, b };
	json_t *content = json_pack("{s:s}", "body", "x"), *out = NULL, *plain = NULL, *enc = NULL;

	hs_run(h);
	assert_int_equal(e2e_encrypt_room_event(a->e, "!plain:x", "m.room.message", content, &out),
			 HE_NOTFOUND);
	assert_null(out);
	assert_false(e2e_room_is_encrypted(a->e, "!plain:x"));
	json_t *bad_alg = json_pack("{s:s}", "algorithm", "m.fancy.v9");
	assert_int_equal(e2e_room_encryption(a->e, "!weird:x", bad_alg), HE_INVAL);
	json_decref(bad_alg);
	room_setup(all, 2, NULL);
	assert_true(e2e_room_is_encrypted(a->e, ROOM));
	/* B's devices not queried yet: no ciphertext, and certainly no plaintext */
	assert_int_equal(e2e_encrypt_room_event(a->e, ROOM, "m.room.message", content, &out), HE_AGAIN);
	assert_null(out);
	assert_int_equal(cl_encrypt(a, ROOM, "real", &enc), 0);
	cl_sync(b);
	const char *bad[] = {
		"{}",
		"{\"content\": {\"algorithm\": \"m.megolm.v1.aes-sha2\"}}",
		"{\"event_id\": \"$1\", \"sender\": \"@a:example.org\", \"content\": {\"algorithm\": "
		"\"m.megolm.v1.aes-sha2\", \"session_id\": \"SID\", \"ciphertext\": \"!!!\"}}",
		"{\"event_id\": \"$1\", \"sender\": \"@a:example.org\", \"content\": {\"algorithm\": "
		"\"m.olm.v1.curve25519-aes-sha2\"}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *ev = json_loads(bad[i], 0, NULL);
		assert_true(e2e_decrypt_room_event(b->e, ROOM, ev, &plain) < 0);
		assert_null(plain);
		json_decref(ev);
	}
	/* the right session, a corrupted ciphertext */
	json_t *ev = hs_event(a, enc, "$corrupt");
	char *ct = strdup(json_string_value(json_object_get(enc, "ciphertext")));
	ct[10] = ct[10] == 'A' ? 'B' : 'A';
	json_object_set_new(json_object_get(ev, "content"), "ciphertext", json_string(ct));
	free(ct);
	assert_int_equal(e2e_decrypt_room_event(b->e, ROOM, ev, &plain), HE_CRYPTO);
	json_object_set_new(json_object_get(ev, "content"), "ciphertext", json_string("not base64 ***"));
	assert_int_equal(e2e_decrypt_room_event(b->e, ROOM, ev, &plain), HE_CRYPTO);
	/* garbage to-device events are skipped */
	json_t *junk = json_pack("[{s:s}, {s:s, s:s, s:{s:s, s:s, s:{s:{s:i, s:s}}}}, i]", "type",
				 "m.room.encrypted", "type", "m.room.encrypted", "sender", "@a:example.org",
				 "content", "algorithm", "m.olm.v1.curve25519-aes-sha2", "sender_key", "xx",
				 "ciphertext", e2e_curve25519_key(b->e), "type", 0, "body", "%%%", 5);
	assert_int_equal(e2e_receive_sync_changes(b->e, junk, NULL, NULL, NULL), 0);
	json_decref(junk);
	json_decref(ev);
	json_decref(enc);
	json_decref(content);
	hs_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pickle_key_file),
		cmocka_unit_test(test_keys_upload),
		cmocka_unit_test(test_roundtrip_both_ways),
		cmocka_unit_test(test_replay_and_sender_mismatch),
		cmocka_unit_test(test_missing_key_then_unblocked),
		cmocka_unit_test(test_rotation_by_count),
		cmocka_unit_test(test_rotation_on_leave_and_late_device),
		cmocka_unit_test(test_rotation_when_device_goes_away),
		cmocka_unit_test(test_restart_keeps_everything),
		cmocka_unit_test(test_bad_signature_gets_no_key),
		cmocka_unit_test(test_bad_devices_capped),
		cmocka_unit_test(test_one_time_key_crash_safety),
		cmocka_unit_test(test_wedged_session_repaired),
		cmocka_unit_test(test_cross_signing),
		cmocka_unit_test(test_device_keys_lost),
		cmocka_unit_test(test_plaintext_never_and_bad_input),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
