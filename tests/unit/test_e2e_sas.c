/* test_e2e_sas.c - what the verification flow gets from the crypto module (e2e_sas.h): a
 * verification message that came Olm-encrypted is handed to the flow with the device it came
 * from (and one naming another sender is not), at most E2E_SAS_MAX_IN wait; a member's device
 * key and pinned master key are those the module checked; an unknown device starts a query;
 * the SAS key agreement and MACs agree with libolm on the other side. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <olm/sas.h>
#include <sodium.h>

#include "e2e_router.h"
#include "net/matrix/crypto/e2e_int.h"
#include "net/matrix/crypto/e2e_sas.h"

#define ROOM "!group:example.org"

/* b's client wraps a verification message for Hearth in Olm, as Element may. */
static json_t *wrapped(struct cl *from, struct cl *to, const char *type, json_t *content)
{
	json_t *enc = NULL, *ev;

	assert_int_equal(e2e_olm_encrypt(from->e, to->user, to->dev, e2e_curve25519_key(to->e),
					 e2e_ed25519_key(to->e), type, content, &enc), HE_OK);
	ev = json_pack("{s:s, s:s, s:o}", "type", "m.room.encrypted", "sender", from->user,
		       "content", enc);
	json_decref(content);
	return ev;
}

static void encrypted_verification_reaches_the_flow(void **state)
{
	struct hs *h = hs_new();
	struct cl *bot = hs_add(h, "@hearth:example.org", "HDEV", NULL);
	struct cl *b = hs_add(h, "@b:example.org", "BDEV", NULL);
	struct cl *all[] = { bot, b };
	json_t *enc = NULL, *evs, *got, *one;
	char *ed = NULL, *master = NULL;

	hs_run(h);
	assert_int_equal(hs_join(all, 2, ROOM, NULL, NULL, 0), 0);
	hs_run(h);
	/* b's room key opens an Olm session b -> Hearth */
	assert_int_equal(cl_encrypt(b, ROOM, "!help", &enc), 0);
	json_decref(enc);
	hs_run(h);
	assert_null(e2e_sas_take_events(bot->e)); /* a room key is not a verification */

	evs = json_array();
	json_array_append_new(evs, wrapped(b, bot, "m.key.verification.request",
					   json_pack("{s:s, s:s}", "from_device", "BDEV",
						     "transaction_id", "t1")));
	assert_int_equal(e2e_receive_sync_changes(bot->e, evs, NULL, NULL, NULL), HE_OK);
	json_decref(evs);
	got = e2e_sas_take_events(bot->e);
	assert_int_equal(json_array_size(got), 1);
	one = json_array_get(got, 0);
	assert_string_equal(json_string_value(json_object_get(one, "sender")), "@b:example.org");
	assert_string_equal(json_string_value(json_object_get(one, "sender_device")), "BDEV");
	assert_string_equal(json_string_value(json_object_get(one, "type")),
			    "m.key.verification.request");
	assert_string_equal(json_string_value(json_object_get(json_object_get(one, "content"),
							       "transaction_id")), "t1");
	json_decref(got);
	assert_null(e2e_sas_take_events(bot->e)); /* handed out once */

	/* a wrapped message whose outer sender is another user: refused by the Olm checks */
	evs = json_array();
	one = wrapped(b, bot, "m.key.verification.start", json_pack("{s:s}", "transaction_id", "t2"));
	json_object_set_new(one, "sender", json_string("@mallory:example.org"));
	json_array_append_new(evs, one);
	e2e_receive_sync_changes(bot->e, evs, NULL, NULL, NULL);
	json_decref(evs);
	assert_null(e2e_sas_take_events(bot->e));

	/* a flood: at most E2E_SAS_MAX_IN wait */
	evs = json_array();
	for (int i = 0; i < E2E_SAS_MAX_IN + 10; i++)
		json_array_append_new(evs, wrapped(b, bot, "m.key.verification.cancel",
						   json_pack("{s:s}", "transaction_id", "t3")));
	e2e_receive_sync_changes(bot->e, evs, NULL, NULL, NULL);
	json_decref(evs);
	got = e2e_sas_take_events(bot->e);
	assert_int_equal(json_array_size(got), E2E_SAS_MAX_IN);
	json_decref(got);

	/* Hearth answers encrypted: b's client reads it as a verification message from HDEV */
	{
		const struct e2e_request *out[16];
		json_t *c = json_pack("{s:s, s:s}", "from_device", "HDEV", "transaction_id", "t1");
		json_t *msg = NULL;
		size_t n;
		assert_int_equal(e2e_sas_send_encrypted(bot->e, "m.key.verification.ready",
							"@b:example.org", "NODEV", c), HE_NOTFOUND);
		assert_int_equal(e2e_sas_send_encrypted(bot->e, "m.key.verification.ready",
							"@b:example.org", "BDEV", c), HE_OK);
		json_decref(c);
		n = e2e_outgoing(bot->e, out, 16);
		for (size_t i = 0; i < n; i++)
			if (strstr(out[i]->path, "/sendToDevice/m.room.encrypted/"))
				msg = json_object_get(json_object_get(json_object_get(
					out[i]->body, "messages"), "@b:example.org"), "BDEV");
		assert_non_null(msg);
		assert_null(json_object_get(msg, "transaction_id")); /* nothing in the clear */
		evs = json_pack("[{s:s, s:s, s:O}]", "type", "m.room.encrypted", "sender",
				"@hearth:example.org", "content", msg);
		hs_reply(h, bot, out, n);
		assert_int_equal(e2e_receive_sync_changes(b->e, evs, NULL, NULL, NULL), HE_OK);
		json_decref(evs);
		got = e2e_sas_take_events(b->e);
		assert_int_equal(json_array_size(got), 1);
		one = json_array_get(got, 0);
		assert_string_equal(json_string_value(json_object_get(one, "type")),
				    "m.key.verification.ready");
		assert_string_equal(json_string_value(json_object_get(one, "sender_device")), "HDEV");
		json_decref(got);
	}

	/* keys: b's device as the module checked it; an unknown device is looked up */
	assert_int_equal(e2e_sas_device_key(bot->e, "@b:example.org", "BDEV", &ed), HE_OK);
	assert_string_equal(ed, e2e_ed25519_key(b->e));
	free(ed);
	assert_int_equal(e2e_sas_device_key(bot->e, "@b:example.org", "NODEV", &ed), HE_NOTFOUND);
	assert_null(ed);
	assert_int_equal(e2e_sas_device_key(bot->e, "@z:example.org", "ZDEV", &ed), HE_NOTFOUND);
	{
		const struct e2e_request *out[16];
		size_t n = e2e_outgoing(bot->e, out, 16);
		bool queried = false;
		for (size_t i = 0; i < n; i++)
			if (strcmp(out[i]->path, "/keys/query") == 0 &&
			    json_object_get(json_object_get(out[i]->body, "device_keys"), "@z:example.org"))
				queried = true;
		assert_true(queried);
		hs_reply(h, bot, out, n);
	}
	/* Hearth's own master key once cross-signing is set up; none for b (no cross-signing) */
	assert_int_equal(e2e_cross_signing_bootstrap(bot->e), HE_OK);
	hs_run(h);
	assert_int_equal(e2e_sas_master_key(bot->e, "@hearth:example.org", &master), HE_OK);
	assert_int_equal(strlen(master), 43);
	free(master);
	assert_int_equal(e2e_sas_master_key(bot->e, "@b:example.org", &master), HE_NOTFOUND);
	hs_free(h);
}

/* The SAS against libolm's on the other side: the same bytes and MACs both ways, both
 * methods; a bad key, a second key and a MAC before the key are refused. */
static void sas_agrees_with_libolm(void **state)
{
	struct e2e_sas *s = NULL;
	OlmSAS *o = olm_sas(malloc(olm_sas_size()));
	unsigned char rnd[64], a[6], b[6];
	char opub[64], mac[E2E_SAS_MAC_LEN + 1], omac[64], k[64];

	randombytes_buf(rnd, sizeof(rnd));
	assert_int_not_equal(olm_create_sas(o, rnd, olm_create_sas_random_length(o)), olm_error());
	olm_sas_get_pubkey(o, opub, olm_sas_pubkey_length(o));
	opub[olm_sas_pubkey_length(o)] = '\0';
	assert_int_equal(e2e_sas_new(&s), HE_OK);
	assert_int_equal(e2e_sas_mac(s, E2E_SAS_MAC_V2, "x", "y", mac), HE_INVAL);
	assert_int_equal(e2e_sas_set_their_key(s, "short"), HE_INVAL);
	assert_int_equal(e2e_sas_set_their_key(s, "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"),
			 HE_INVAL);
	assert_int_equal(e2e_sas_set_their_key(s, opub), HE_OK);
	assert_int_equal(e2e_sas_set_their_key(s, opub), HE_PROTO);
	snprintf(k, sizeof(k), "%s", e2e_sas_pubkey(s));
	assert_int_not_equal(olm_sas_set_their_key(o, k, strlen(k)), olm_error());
	assert_int_equal(e2e_sas_bytes(s, "INFO", a, sizeof(a)), HE_OK);
	olm_sas_generate_bytes(o, "INFO", 4, b, sizeof(b));
	assert_memory_equal(a, b, sizeof(a));
	assert_int_equal(e2e_sas_mac(s, E2E_SAS_MAC_V2, "key", "info", mac), HE_OK);
	olm_sas_calculate_mac_fixed_base64(o, "key", 3, "info", 4, omac, sizeof(omac));
	omac[E2E_SAS_MAC_LEN] = '\0';
	assert_string_equal(mac, omac);
	assert_true(e2e_sas_mac_ok(s, E2E_SAS_MAC_V2, "key", "info", omac));
	assert_false(e2e_sas_mac_ok(s, E2E_SAS_MAC_V1, "key", "info", omac)); /* other base64 */
	olm_sas_calculate_mac(o, "key", 3, "info", 4, omac, sizeof(omac));
	omac[E2E_SAS_MAC_LEN] = '\0';
	assert_true(e2e_sas_mac_ok(s, E2E_SAS_MAC_V1, "key", "info", omac));
	assert_false(e2e_sas_mac_ok(s, E2E_SAS_MAC_V1, "other", "info", omac));
	assert_false(e2e_sas_mac_ok(s, E2E_SAS_MAC_V1, "key", "info", "short"));
	e2e_sas_free(s);
	olm_clear_sas(o);
	free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(encrypted_verification_reaches_the_flow),
		cmocka_unit_test(sas_agrees_with_libolm),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
