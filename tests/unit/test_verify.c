/* test_verify.c - interactive (SAS) verification of Hearth's device, the flow of verify.c
 * driven by a member's client played here with libolm's own SAS (olm_sas_*, as nio and
 * Element use it): a full exchange in both flows (request/ready/start and start alone) with
 * both MAC methods, the commitment Hearth sends checked by the other side, a wrong MAC, a
 * non-moderator, too many at once, timeouts, oversized fields, messages out of order, and a
 * third party who tries to cancel someone else's verification. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <olm/olm.h>
#include <olm/sas.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "net/matrix/verify.h"

#define HEARTH "@hearth:example.org"
#define HDEV "HEARTHDEV"
#define HED "hearthEd25519KeyAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define HMASTER "hearthMasterKeyAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define MOD "@mod:example.org"
#define MDEV "MODDEV"
#define MED "modEd25519KeyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define MMASTER "modMasterKeyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define MEMBER "@member:example.org"
#define T0 1800000000000ull

/* ---- Hearth's side: the ops ---- */

struct env {
	uint64_t now;
	json_t *sent;        /* [{type, user, device, content}] */
	bool mod_master;     /* the crypto module pinned MOD's master key */
	bool know_device;    /* the crypto module has MOD's device keys */
	bool no_olm;         /* encrypting to-device fails (no Olm session) */
	struct verify *v;
};

static bool is_mod(void *ud, const char *user)
{
	return strncmp(user, "@mod", 4) == 0;
}

static int device_key(void *ud, const char *user, const char *device, char **ed)
{
	struct env *env = ud;

	*ed = NULL;
	if (!env->know_device || strncmp(user, "@mod", 4) != 0 || strcmp(device, MDEV) != 0)
		return HE_NOTFOUND;
	*ed = strdup(MED);
	return HE_OK;
}

static int master_key(void *ud, const char *user, char **master)
{
	struct env *env = ud;

	*master = NULL;
	if (strcmp(user, HEARTH) == 0)
		*master = strdup(HMASTER);
	else if (strcmp(user, MOD) == 0 && env->mod_master)
		*master = strdup(MMASTER);
	return *master ? HE_OK : HE_NOTFOUND;
}

static int sendf(void *ud, const char *type, const char *user, const char *device, json_t *c)
{
	struct env *env = ud;

	json_array_append_new(env->sent, json_pack("{s:s, s:s, s:s, s:O}", "type", type, "user",
						   user, "device", device, "content", c));
	return HE_OK;
}

static int send_enc(void *ud, const char *type, const char *user, const char *device, json_t *c)
{
	struct env *env = ud;

	if (env->no_olm)
		return HE_NOTFOUND;
	json_array_append_new(env->sent, json_pack("{s:s, s:s, s:s, s:b, s:O}", "type", type,
						   "user", user, "device", device, "encrypted", 1,
						   "content", c));
	return HE_OK;
}

static int send_room(void *ud, const char *room, const char *type, json_t *c)
{
	struct env *env = ud;

	json_array_append_new(env->sent, json_pack("{s:s, s:s, s:s, s:s, s:O}", "type", type,
						   "room", room, "user", "", "device", "",
						   "content", c));
	return HE_OK;
}

static uint64_t now_ms(void *ud)
{
	return ((struct env *)ud)->now;
}

static const struct verify_ops ops = {
	.is_moderator = is_mod, .device_key = device_key, .master_key = master_key,
	.send = sendf, .send_encrypted = send_enc, .send_room = send_room, .now_ms = now_ms,
};

static struct env *env_new(void)
{
	struct env *env = calloc(1, sizeof(*env));

	assert_non_null(env);
	env->now = T0;
	env->sent = json_array();
	env->know_device = true;
	assert_int_equal(verify_new(HEARTH, HDEV, HED, &ops, env, &env->v), HE_OK);
	return env;
}

static void env_free(struct env *env)
{
	verify_free(env->v);
	json_decref(env->sent);
	free(env);
}

/* The one message Hearth sent since the last call (fails when none or several). */
static json_t *take1(struct env *env, const char *type)
{
	json_t *m;

	assert_int_equal(json_array_size(env->sent), 1);
	m = json_incref(json_array_get(env->sent, 0));
	json_array_clear(env->sent);
	assert_string_equal(json_string_value(json_object_get(m, "type")), type);
	return m;
}

static const char *cstr(json_t *m, const char *k)
{
	return json_string_value(json_object_get(json_object_get(m, "content"), k));
}

static void expect_cancel(struct env *env, const char *code)
{
	json_t *m = take1(env, "m.key.verification.cancel");

	assert_string_equal(cstr(m, "code"), code);
	assert_true(strlen(cstr(m, "reason")) > 10);
	json_decref(m);
}

/* ---- the member's side: libolm's SAS ---- */

struct peer {
	const char *user, *device, *ed;
	char txn[40];
	OlmSAS *sas;
	char pub[64];
	char start[2048];    /* the start content as canonical JSON (written so by hand) */
	char commitment[64];
	bool v2;
	const char *room;    /* in-room: txn is the request's event id */
};

static void peer_init(struct peer *p, const char *user, const char *txn, bool v2)
{
	unsigned char rnd[64];

	memset(p, 0, sizeof(*p));
	p->user = user;
	p->device = MDEV;
	p->ed = MED;
	p->v2 = v2;
	snprintf(p->txn, sizeof(p->txn), "%s", txn);
	p->sas = olm_sas(malloc(olm_sas_size()));
	assert_true(olm_create_sas_random_length(p->sas) <= sizeof(rnd));
	randombytes_buf(rnd, sizeof(rnd));
	assert_int_not_equal(olm_create_sas(p->sas, rnd, olm_create_sas_random_length(p->sas)),
			     olm_error());
	olm_sas_get_pubkey(p->sas, p->pub, olm_sas_pubkey_length(p->sas));
	p->pub[olm_sas_pubkey_length(p->sas)] = '\0';
	/* keys sorted, no spaces: canonical JSON, so the hash below does not trust jansson */
	snprintf(p->start, sizeof(p->start),
		 "{\"from_device\":\"%s\",\"hashes\":[\"sha256\"],\"key_agreement_protocols\":"
		 "[\"curve25519\",\"curve25519-hkdf-sha256\"],\"message_authentication_codes\":"
		 "[%s\"hkdf-hmac-sha256\"],\"method\":\"m.sas.v1\","
		 "\"short_authentication_string\":[\"emoji\",\"decimal\"],\"transaction_id\":\"%s\"}",
		 p->device, v2 ? "\"hkdf-hmac-sha256.v2\"," : "", p->txn);
}

/* In a room: the relation to the request instead of transaction_id (sorted: "m.relates_to"
 * comes before "message_..."). */
static void peer_init_room(struct peer *p, const char *user, const char *request_id)
{
	peer_init(p, user, request_id, true);
	p->room = "!dm:example.org";
	snprintf(p->start, sizeof(p->start),
		 "{\"from_device\":\"%s\",\"hashes\":[\"sha256\"],\"key_agreement_protocols\":"
		 "[\"curve25519-hkdf-sha256\"],\"m.relates_to\":{\"event_id\":\"%s\","
		 "\"rel_type\":\"m.reference\"},\"message_authentication_codes\":"
		 "[\"hkdf-hmac-sha256.v2\",\"hkdf-hmac-sha256\"],\"method\":\"m.sas.v1\","
		 "\"short_authentication_string\":[\"emoji\",\"decimal\"]}", p->device, p->txn);
}

static void peer_free(struct peer *p)
{
	olm_clear_sas(p->sas);
	free(p->sas);
}

static json_t *peer_start(struct peer *p)
{
	json_t *c = json_loads(p->start, 0, NULL);

	assert_non_null(c);
	if (p->room) { /* feed() turns transaction_id back into the relation */
		json_object_del(c, "m.relates_to");
		json_object_set_new(c, "transaction_id", json_string(p->txn));
	}
	return c;
}

static json_t *peer_request(struct peer *p, uint64_t ts)
{
	return json_pack("{s:s, s:[s], s:I, s:s}", "from_device", p->device, "methods", "m.sas.v1",
			 "timestamp", (json_int_t)ts, "transaction_id", p->txn);
}

static void feed_room(struct env *env, const char *room, const char *sender, const char *type,
		      json_t *c, const char *event_id, bool rel_outside)
{
	json_t *ev = json_pack("{s:s, s:s, s:I, s:{}}", "sender", sender, "event_id", event_id,
			       "origin_server_ts", (json_int_t)env->now, "content");
	json_t *plain;

	if (rel_outside) { /* the relation in the clear part of m.room.encrypted only */
		json_object_set(json_object_get(ev, "content"), "m.relates_to",
				json_object_get(c, "m.relates_to"));
		json_object_del(c, "m.relates_to");
	}
	plain = json_pack("{s:s, s:o}", "type", type, "content", c);
	assert_int_equal(verify_room_event(env->v, room, ev, plain), HE_OK);
	json_decref(plain);
	json_decref(ev);
}

/* The content as it goes into the room: the relation instead of transaction_id. */
static json_t *in_room(json_t *c)
{
	json_object_set_new(c, "m.relates_to", json_pack("{s:s, s:s}", "rel_type", "m.reference",
							 "event_id", json_string_value(json_object_get(c, "transaction_id"))));
	json_object_del(c, "transaction_id");
	return c;
}

static void feed(struct env *env, const char *sender, const char *type, json_t *c)
{
	static int n;
	char id[32];
	const char *txn = json_string_value(json_object_get(c, "transaction_id"));

	if (txn && txn[0] == '$') { /* a peer in a room */
		snprintf(id, sizeof(id), "$ev%d", ++n);
		feed_room(env, "!dm:example.org", sender, type, in_room(c), id, n % 2 == 1);
		return;
	}
	assert_int_equal(verify_event(env->v, sender, NULL, type, c), HE_OK);
	json_decref(c);
}

static void peer_mac(struct peer *p, const char *input, const char *info, char *out)
{
	size_t n = olm_sas_mac_length(p->sas);
	char buf[128];

	if (p->v2)
		olm_sas_calculate_mac_fixed_base64(p->sas, input, strlen(input), info, strlen(info),
						   buf, sizeof(buf));
	else
		olm_sas_calculate_mac(p->sas, input, strlen(input), info, strlen(info), buf,
				      sizeof(buf));
	memcpy(out, buf, n);
	out[n] = '\0';
}

/* The member's MAC message; device_key: the key they claim for their device. */
static json_t *peer_mac_msg(struct peer *p, const char *device_key, const char *master)
{
	char info[512], full[700], kid[128], m[64], ids[256];
	json_t *mac = json_object();

	snprintf(info, sizeof(info), "MATRIX_KEY_VERIFICATION_MAC%s%s%s%s%s", p->user, p->device,
		 HEARTH, HDEV, p->txn);
	snprintf(kid, sizeof(kid), "ed25519:%s", p->device);
	snprintf(full, sizeof(full), "%s%s", info, kid);
	peer_mac(p, device_key, full, m);
	json_object_set_new(mac, kid, json_string(m));
	if (master) {
		snprintf(kid, sizeof(kid), "ed25519:%s", master);
		snprintf(full, sizeof(full), "%s%s", info, kid);
		peer_mac(p, master, full, m);
		json_object_set_new(mac, kid, json_string(m));
		/* sorted: "ed25519:MODDEV" < "ed25519:modMaster..." */
		snprintf(ids, sizeof(ids), "ed25519:%s,ed25519:%s", p->device, master);
	} else {
		snprintf(ids, sizeof(ids), "ed25519:%s", p->device);
	}
	snprintf(full, sizeof(full), "%sKEY_IDS", info);
	peer_mac(p, ids, full, m);
	return json_pack("{s:s, s:o, s:s}", "transaction_id", p->txn, "mac", mac, "keys", m);
}

/* Checks Hearth's MAC message as the member's client does: its device key and master key. */
static void peer_check_mac(struct peer *p, json_t *msg)
{
	json_t *c = json_object_get(msg, "content"), *mac = json_object_get(c, "mac");
	char info[512], full[700], m[64], ids[256];

	snprintf(info, sizeof(info), "MATRIX_KEY_VERIFICATION_MAC%s%s%s%s%s", HEARTH, HDEV,
		 p->user, p->device, p->txn);
	assert_int_equal(json_object_size(mac), 2);
	snprintf(full, sizeof(full), "%sed25519:%s", info, HDEV);
	peer_mac(p, HED, full, m);
	assert_string_equal(json_string_value(json_object_get(mac, "ed25519:" HDEV)), m);
	snprintf(full, sizeof(full), "%sed25519:%s", info, HMASTER);
	peer_mac(p, HMASTER, full, m);
	assert_string_equal(json_string_value(json_object_get(mac, "ed25519:" HMASTER)), m);
	snprintf(ids, sizeof(ids), "ed25519:%s,ed25519:%s", HDEV, HMASTER);
	snprintf(full, sizeof(full), "%sKEY_IDS", info);
	peer_mac(p, ids, full, m);
	assert_string_equal(cstr(msg, "keys"), m);
}

/* start -> accept -> key -> key, checking the accept and Hearth's commitment. */
static void exchange_keys(struct env *env, struct peer *p)
{
	json_t *m;
	char key[64], hashed[256];
	OlmUtility *u;
	size_t hl;

	feed(env, p->user, "m.key.verification.start", peer_start(p));
	m = take1(env, "m.key.verification.accept");
	if (p->room) {
		json_t *rel = json_object_get(json_object_get(m, "content"), "m.relates_to");
		assert_string_equal(json_string_value(json_object_get(m, "room")), p->room);
		assert_null(cstr(m, "transaction_id"));
		assert_string_equal(json_string_value(json_object_get(rel, "event_id")), p->txn);
		assert_string_equal(json_string_value(json_object_get(rel, "rel_type")), "m.reference");
	} else {
		assert_string_equal(json_string_value(json_object_get(m, "user")), p->user);
		assert_string_equal(json_string_value(json_object_get(m, "device")), p->device);
		assert_string_equal(cstr(m, "transaction_id"), p->txn);
	}
	assert_string_equal(cstr(m, "method"), "m.sas.v1");
	assert_string_equal(cstr(m, "key_agreement_protocol"), "curve25519-hkdf-sha256");
	assert_string_equal(cstr(m, "hash"), "sha256");
	assert_string_equal(cstr(m, "message_authentication_code"),
			    p->v2 ? "hkdf-hmac-sha256.v2" : "hkdf-hmac-sha256");
	assert_int_equal(json_array_size(json_object_get(json_object_get(m, "content"),
							 "short_authentication_string")), 2);
	snprintf(p->commitment, sizeof(p->commitment), "%s", cstr(m, "commitment"));
	json_decref(m);
	feed(env, p->user, "m.key.verification.key",
	     json_pack("{s:s, s:s}", "transaction_id", p->txn, "key", p->pub));
	m = take1(env, "m.key.verification.key");
	snprintf(key, sizeof(key), "%s", cstr(m, "key"));
	json_decref(m);
	/* the commitment: sha256(Hearth's key + the canonical start), as the member checks it */
	u = olm_utility(malloc(olm_utility_size()));
	{
		char *in = malloc(strlen(key) + strlen(p->start) + 1);
		strcpy(in, key);
		strcat(in, p->start);
		hl = olm_sha256(u, in, strlen(in), hashed, sizeof(hashed));
		hashed[hl] = '\0';
		free(in);
	}
	olm_clear_utility(u);
	free(u);
	assert_string_equal(p->commitment, hashed);
	assert_int_not_equal(olm_sas_set_their_key(p->sas, key, strlen(key)), olm_error());
}

/* ---- tests ---- */

static void full_exchange(bool request, bool v2, bool master)
{
	struct env *env = env_new();
	struct peer p;
	json_t *m;

	env->mod_master = master;
	peer_init(&p, MOD, "txn-full-1", v2);
	if (request) {
		feed(env, MOD, "m.key.verification.request", peer_request(&p, T0 - 1000));
		m = take1(env, "m.key.verification.ready");
		assert_string_equal(cstr(m, "from_device"), HDEV);
		assert_string_equal(json_string_value(json_array_get(json_object_get(
			json_object_get(m, "content"), "methods"), 0)), "m.sas.v1");
		json_decref(m);
	}
	exchange_keys(env, &p);
	assert_int_equal(verify_count(env->v), 1);
	feed(env, MOD, "m.key.verification.mac", peer_mac_msg(&p, MED, master ? MMASTER : NULL));
	assert_int_equal(json_array_size(env->sent), 2);
	m = json_incref(json_array_get(env->sent, 0));
	assert_string_equal(json_string_value(json_object_get(m, "type")), "m.key.verification.mac");
	peer_check_mac(&p, m);
	json_decref(m);
	m = json_array_get(env->sent, 1);
	assert_string_equal(json_string_value(json_object_get(m, "type")), "m.key.verification.done");
	assert_string_equal(cstr(m, "transaction_id"), p.txn);
	assert_int_equal(verify_done_count(env->v), 1);
	assert_int_equal(verify_count(env->v), 0);
	json_array_clear(env->sent);
	/* their done afterwards: nothing more */
	feed(env, MOD, "m.key.verification.done", json_pack("{s:s}", "transaction_id", p.txn));
	assert_int_equal(json_array_size(env->sent), 0);
	peer_free(&p);
	env_free(env);
}

static void full_exchange_request_flow_v2(void **state) { full_exchange(true, true, true); }
static void full_exchange_start_flow_v1(void **state) { full_exchange(false, false, false); }
static void full_exchange_start_flow_v2(void **state) { full_exchange(false, true, false); }
static void full_exchange_request_flow_v1(void **state) { full_exchange(true, false, true); }

/* A MAC over another device key, a wrong KEY_IDS MAC, a wrong master key MAC: each cancels
 * with m.key_mismatch, and Hearth sends no MAC of its own. */
static void wrong_mac_cancels(void **state)
{
	for (int kind = 0; kind < 4; kind++) {
		struct env *env = env_new();
		struct peer p;
		json_t *c;

		env->mod_master = true;
		peer_init(&p, MOD, "txn-wrong-mac", true);
		exchange_keys(env, &p);
		if (kind == 0) {
			c = peer_mac_msg(&p, "someOtherDeviceKeyAAAAAAAAAAAAAAAAAAAAAAAAA", NULL);
		} else if (kind == 1) {
			c = peer_mac_msg(&p, MED, NULL);
			json_object_set_new(c, "keys",
					    json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
		} else if (kind == 2) {
			/* the MAC covers the pinned master key's id with another key's MAC */
			c = peer_mac_msg(&p, MED, MMASTER);
			json_object_set(json_object_get(c, "mac"), "ed25519:" MMASTER,
					json_object_get(json_object_get(c, "mac"), "ed25519:" MDEV));
		} else {
			/* the member's device key is unknown to the crypto module */
			env->know_device = false;
			c = peer_mac_msg(&p, MED, NULL);
		}
		feed(env, MOD, "m.key.verification.mac", c);
		expect_cancel(env, "m.key_mismatch");
		assert_int_equal(verify_done_count(env->v), 0);
		assert_int_equal(verify_count(env->v), 0);
		peer_free(&p);
		env_free(env);
	}
}

/* Someone who moderates no room with Hearth: a request or a start is cancelled with m.user
 * and a reason, and nothing is kept. */
static void non_moderator_cancelled(void **state)
{
	struct env *env = env_new();
	struct peer p;
	json_t *m;

	peer_init(&p, MEMBER, "txn-member", true);
	feed(env, MEMBER, "m.key.verification.request", peer_request(&p, T0));
	m = take1(env, "m.key.verification.cancel");
	assert_string_equal(json_string_value(json_object_get(m, "user")), MEMBER);
	assert_string_equal(json_string_value(json_object_get(m, "device")), MDEV);
	assert_string_equal(cstr(m, "code"), "m.user");
	assert_non_null(strstr(cstr(m, "reason"), "moderators"));
	json_decref(m);
	feed(env, MEMBER, "m.key.verification.start", peer_start(&p));
	expect_cancel(env, "m.user");
	assert_int_equal(verify_count(env->v), 0);
	/* and their key afterwards finds nothing to answer */
	feed(env, MEMBER, "m.key.verification.key",
	     json_pack("{s:s, s:s}", "transaction_id", p.txn, "key", p.pub));
	assert_int_equal(json_array_size(env->sent), 0);
	peer_free(&p);
	env_free(env);
}

/* One moderator may have VERIFY_PER_USER at once; all moderators VERIFY_MAX. */
static void too_many_at_once(void **state)
{
	struct env *env = env_new();
	struct peer p;
	char txn[40], user[64];
	json_t *m;

	for (int i = 0; i < VERIFY_PER_USER; i++) {
		snprintf(txn, sizeof(txn), "txn-many-%d", i);
		peer_init(&p, MOD, txn, true);
		feed(env, MOD, "m.key.verification.request", peer_request(&p, T0));
		json_decref(take1(env, "m.key.verification.ready"));
		peer_free(&p);
	}
	peer_init(&p, MOD, "txn-many-x", true);
	feed(env, MOD, "m.key.verification.start", peer_start(&p));
	expect_cancel(env, "m.user");
	feed(env, MOD, "m.key.verification.request", peer_request(&p, T0));
	expect_cancel(env, "m.user");
	peer_free(&p);
	assert_int_equal(verify_count(env->v), VERIFY_PER_USER);
	/* many moderators: the total stays bounded */
	for (int i = 0; i < VERIFY_MAX * 2; i++) {
		snprintf(user, sizeof(user), "@mod%d:example.org", i);
		peer_init(&p, user, "txn-one", true);
		feed(env, user, "m.key.verification.request", peer_request(&p, T0));
		m = json_incref(json_array_get(env->sent, 0));
		json_array_clear(env->sent);
		assert_string_equal(json_string_value(json_object_get(m, "type")),
				    i < VERIFY_MAX - VERIFY_PER_USER ? "m.key.verification.ready"
				    : "m.key.verification.cancel");
		json_decref(m);
		peer_free(&p);
	}
	assert_int_equal(verify_count(env->v), VERIFY_MAX);
	env_free(env);
}

/* A verification is forgotten 10 minutes after it began (m.timeout to the other side); a
 * request stamped more than 10 minutes ago (or 5 minutes ahead) is ignored. */
static void timeouts(void **state)
{
	struct env *env = env_new();
	struct peer p;

	peer_init(&p, MOD, "txn-slow", true);
	feed(env, MOD, "m.key.verification.request", peer_request(&p, T0));
	json_decref(take1(env, "m.key.verification.ready"));
	exchange_keys(env, &p);
	env->now = T0 + VERIFY_TIMEOUT_MS - 1;
	verify_tick(env->v);
	assert_int_equal(verify_count(env->v), 1);
	assert_int_equal(json_array_size(env->sent), 0);
	env->now = T0 + VERIFY_TIMEOUT_MS;
	verify_tick(env->v);
	expect_cancel(env, "m.timeout");
	assert_int_equal(verify_count(env->v), 0);
	/* the MAC after that finds nothing: no MAC, no done */
	feed(env, MOD, "m.key.verification.mac", peer_mac_msg(&p, MED, NULL));
	assert_int_equal(json_array_size(env->sent), 0);
	assert_int_equal(verify_done_count(env->v), 0);
	peer_free(&p);
	/* stale and future requests */
	peer_init(&p, MOD, "txn-stale", true);
	feed(env, MOD, "m.key.verification.request", peer_request(&p, env->now - 11 * 60 * 1000));
	feed(env, MOD, "m.key.verification.request", peer_request(&p, env->now + 6 * 60 * 1000));
	assert_int_equal(json_array_size(env->sent), 0);
	assert_int_equal(verify_count(env->v), 0);
	peer_free(&p);
	env_free(env);
}

/* Messages at the wrong moment cancel (m.unexpected_message); a third party cannot touch
 * another member's verification; malformed and oversized fields change nothing. */
static void hostile_messages(void **state)
{
	struct env *env = env_new();
	struct peer p;
	char big[400];
	json_t *c;

	/* a key before the start (request flow): unexpected */
	peer_init(&p, MOD, "txn-order", true);
	feed(env, MOD, "m.key.verification.request", peer_request(&p, T0));
	json_decref(take1(env, "m.key.verification.ready"));
	feed(env, MOD, "m.key.verification.key",
	     json_pack("{s:s, s:s}", "transaction_id", p.txn, "key", p.pub));
	expect_cancel(env, "m.unexpected_message");
	assert_int_equal(verify_count(env->v), 0);
	peer_free(&p);

	/* a MAC before the keys: unexpected, no MAC from Hearth */
	peer_init(&p, MOD, "txn-early-mac", true);
	feed(env, MOD, "m.key.verification.start", peer_start(&p));
	json_decref(take1(env, "m.key.verification.accept"));
	feed(env, MOD, "m.key.verification.mac", json_pack("{s:s, s:{s:s}, s:s}", "transaction_id",
	     p.txn, "mac", "ed25519:" MDEV, "x", "keys", "y"));
	expect_cancel(env, "m.unexpected_message");
	peer_free(&p);

	/* another user's cancel, key or MAC for a live verification: ignored, it goes on */
	peer_init(&p, MOD, "txn-third", true);
	feed(env, MOD, "m.key.verification.start", peer_start(&p));
	json_decref(take1(env, "m.key.verification.accept"));
	feed(env, "@mallory:example.org", "m.key.verification.cancel",
	     json_pack("{s:s, s:s, s:s}", "transaction_id", p.txn, "code", "m.user", "reason", "x"));
	feed(env, "@mallory:example.org", "m.key.verification.key",
	     json_pack("{s:s, s:s}", "transaction_id", p.txn, "key", p.pub));
	assert_int_equal(json_array_size(env->sent), 0);
	assert_int_equal(verify_count(env->v), 1);
	/* an encrypted message from another device of the same user: ignored too */
	c = json_pack("{s:s, s:s}", "transaction_id", p.txn, "key", p.pub);
	assert_int_equal(verify_event(env->v, MOD, "OTHERDEV", "m.key.verification.key", c), HE_OK);
	json_decref(c);
	assert_int_equal(json_array_size(env->sent), 0);
	/* a malformed key cancels */
	feed(env, MOD, "m.key.verification.key",
	     json_pack("{s:s, s:s}", "transaction_id", p.txn, "key", "not base64 at all!"));
	expect_cancel(env, "m.invalid_message");
	peer_free(&p);

	/* oversized ids: nothing answered, nothing kept */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	peer_init(&p, MOD, "txn-big", true);
	c = peer_request(&p, T0);
	json_object_set_new(c, "transaction_id", json_string(big));
	feed(env, MOD, "m.key.verification.request", c);
	c = peer_start(&p);
	json_object_set_new(c, "from_device", json_string(big));
	feed(env, MOD, "m.key.verification.start", c);
	c = peer_request(&p, T0);
	json_object_set_new(c, "methods", json_integer(3));
	feed(env, MOD, "m.key.verification.request", c);
	expect_cancel(env, "m.unknown_method");
	/* a start without the key agreement Hearth speaks */
	c = peer_start(&p);
	json_object_set_new(c, "key_agreement_protocols", json_pack("[s]", "curve25519"));
	feed(env, MOD, "m.key.verification.start", c);
	expect_cancel(env, "m.unknown_method");
	assert_int_equal(verify_count(env->v), 0); /* txn-third's is gone, nothing new */
	peer_free(&p);

	/* a MAC naming too many keys: cancelled, not answered */
	peer_init(&p, MOD, "txn-many-keys", true);
	exchange_keys(env, &p);
	c = peer_mac_msg(&p, MED, NULL);
	for (int i = 0; i < 20; i++) {
		char k[32];
		snprintf(k, sizeof(k), "ed25519:K%d", i);
		json_object_set_new(json_object_get(c, "mac"), k, json_string("x"));
	}
	feed(env, MOD, "m.key.verification.mac", c);
	expect_cancel(env, "m.key_mismatch");
	assert_int_equal(verify_done_count(env->v), 0);
	peer_free(&p);
	env_free(env);
}

/* The in-room flow (Element's "Verify" on a person): a request message addressed to Hearth,
 * answers in the room referring to it, the relation inside or outside the ciphertext; Hearth's
 * own echoes, a request for someone else and a start without a request are ignored; a
 * non-moderator is cancelled in the room. */
static void in_room_flow(void **state)
{
	struct env *env = env_new();
	struct peer p;
	json_t *m, *req;

	env->mod_master = true;
	peer_init_room(&p, MOD, "$request1");
	req = json_pack("{s:s, s:s, s:s, s:[s], s:s}", "msgtype", "m.key.verification.request",
			"body", "verify me", "from_device", MDEV, "methods", "m.sas.v1", "to", HEARTH);
	feed_room(env, p.room, MOD, "m.room.message", json_deep_copy(req), "$request1", false);
	m = take1(env, "m.key.verification.ready");
	assert_string_equal(json_string_value(json_object_get(m, "room")), p.room);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
		m, "content"), "m.relates_to"), "event_id")), "$request1");
	assert_null(cstr(m, "transaction_id"));
	/* Hearth's own ready, echoed in the timeline: nothing */
	feed_room(env, p.room, HEARTH, "m.key.verification.ready",
		  json_deep_copy(json_object_get(m, "content")), "$echo", false);
	assert_int_equal(json_array_size(env->sent), 0);
	json_decref(m);
	exchange_keys(env, &p);
	feed(env, MOD, "m.key.verification.mac", peer_mac_msg(&p, MED, MMASTER));
	assert_int_equal(json_array_size(env->sent), 2);
	m = json_incref(json_array_get(env->sent, 0));
	assert_string_equal(json_string_value(json_object_get(m, "type")), "m.key.verification.mac");
	assert_string_equal(json_string_value(json_object_get(m, "room")), p.room);
	peer_check_mac(&p, m);
	json_decref(m);
	assert_string_equal(json_string_value(json_object_get(json_array_get(env->sent, 1), "type")),
			    "m.key.verification.done");
	json_array_clear(env->sent);
	assert_int_equal(verify_done_count(env->v), 1);
	peer_free(&p);

	/* a request for someone else; a start without a request (in a room it needs one) */
	json_object_set_new(req, "to", json_string("@other:example.org"));
	feed_room(env, "!dm:example.org", MOD, "m.room.message", json_deep_copy(req), "$r2", false);
	peer_init_room(&p, MOD, "$r3");
	feed(env, MOD, "m.key.verification.start", peer_start(&p));
	assert_int_equal(json_array_size(env->sent), 0);
	peer_free(&p);
	/* a member who moderates nothing: cancelled in the room */
	json_object_set_new(req, "to", json_string(HEARTH));
	feed_room(env, "!dm2:example.org", MEMBER, "m.room.message", json_deep_copy(req), "$r4", false);
	m = take1(env, "m.key.verification.cancel");
	assert_string_equal(json_string_value(json_object_get(m, "room")), "!dm2:example.org");
	assert_string_equal(cstr(m, "code"), "m.user");
	json_decref(m);
	assert_int_equal(verify_count(env->v), 0);
	json_decref(req);
	env_free(env);
}

/* A flow that came Olm-encrypted is answered encrypted (plain when that fails); a plain one
 * plain. */
static void encrypted_flow_answered_encrypted(void **state)
{
	struct env *env = env_new();
	struct peer p;
	json_t *c, *m;

	peer_init(&p, MOD, "txn-enc", true);
	c = peer_request(&p, T0);
	assert_int_equal(verify_event(env->v, MOD, MDEV, "m.key.verification.request", c), HE_OK);
	json_decref(c);
	m = take1(env, "m.key.verification.ready");
	assert_true(json_is_true(json_object_get(m, "encrypted")));
	json_decref(m);
	c = peer_start(&p);
	assert_int_equal(verify_event(env->v, MOD, MDEV, "m.key.verification.start", c), HE_OK);
	json_decref(c);
	m = take1(env, "m.key.verification.accept");
	assert_true(json_is_true(json_object_get(m, "encrypted")));
	json_decref(m);
	env->no_olm = true; /* the session is gone: plain rather than nothing */
	c = json_pack("{s:s, s:s}", "transaction_id", p.txn, "key", p.pub);
	assert_int_equal(verify_event(env->v, MOD, MDEV, "m.key.verification.key", c), HE_OK);
	json_decref(c);
	m = take1(env, "m.key.verification.key");
	assert_null(json_object_get(m, "encrypted"));
	json_decref(m);
	peer_free(&p);
	/* a plain flow stays plain */
	env->no_olm = false;
	peer_init(&p, MOD, "txn-plain", true);
	feed(env, MOD, "m.key.verification.start", peer_start(&p));
	m = take1(env, "m.key.verification.accept");
	assert_null(json_object_get(m, "encrypted"));
	json_decref(m);
	peer_free(&p);
	env_free(env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_exchange_request_flow_v2),
		cmocka_unit_test(full_exchange_request_flow_v1),
		cmocka_unit_test(full_exchange_start_flow_v1),
		cmocka_unit_test(full_exchange_start_flow_v2),
		cmocka_unit_test(wrong_mac_cancels),
		cmocka_unit_test(non_moderator_cancelled),
		cmocka_unit_test(too_many_at_once),
		cmocka_unit_test(timeouts),
		cmocka_unit_test(hostile_messages),
		cmocka_unit_test(in_room_flow),
		cmocka_unit_test(encrypted_flow_answered_encrypted),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
