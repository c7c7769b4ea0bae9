/* verify.c - interactive (SAS) verification of Hearth's device: the to-device flow's state
 * machine (verify.h). The crypto (key agreement, MACs, commitment) is crypto/e2e_sas.c. */
#include "net/matrix/verify.h"
#include "net/matrix/crypto/e2e_sas.h"
#include "core/err.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VF_MOD "matrix-verify"
#define VF_MAX_ID 255        /* transaction ids, device ids (the spec's limit for ids) */
#define VF_MAX_USER 255      /* a user id */
#define VF_MAX_LIST 32       /* entries of an offered method list */
#define VF_MAX_MACS 8        /* keys a MAC message may cover */
#define VF_MAX_KEY_ID 300    /* "ed25519:" and a device id or a key */
#define VF_PAST_MS (10ull * 60 * 1000)   /* a request older than this is ignored */
#define VF_FUTURE_MS (5ull * 60 * 1000)  /* ... and one from further in the future */

#define T_PREFIX "m.key.verification."
#define SAS_V1 "m.sas.v1"
#define KA_V2 "curve25519-hkdf-sha256"
#define MAC_V1 "hkdf-hmac-sha256"
#define MAC_V2 "hkdf-hmac-sha256.v2"
#define MAC_V2_OLD "org.matrix.msc3783.hkdf-hmac-sha256"  /* the same as v2, before it was named */

enum vf_state {
	VF_READY,    /* request answered with ready: waiting for their start */
	VF_ACCEPTED, /* start answered with accept (our commitment): waiting for their key */
	VF_KEYS,     /* keys exchanged: waiting for their MAC (the person compares) */
};

struct vf {
	char *user, *device, *txn;
	char *room;               /* in-room (txn is the request's event id), or NULL: to-device */
	bool encrypted;           /* to-device and it came Olm-encrypted: answered so */
	enum vf_state st;
	bool requested;           /* began with a request (then done is what they expect) */
	enum e2e_sas_mac mac;
	const char *mac_name;     /* the chosen method's name (static) */
	struct e2e_sas *sas;
	uint64_t began_ms;
	struct vf *next;
};

struct verify {
	char *user, *device, *ed;
	const struct verify_ops *ops;
	void *ud;
	struct vf *list;
	size_t n;
	unsigned long done;
};

/* ---- checks of what came from the network ---- */

static bool ok_id(const char *s, size_t max)
{
	size_t n = 0;

	if (!s || !*s)
		return false;
	for (; s[n]; n++)
		if (n >= max || (unsigned char)s[n] < 0x20 || s[n] == 0x7f)
			return false;
	return true;
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Whether list (an array of at most VF_MAX_LIST short strings) holds want. */
static bool offers(json_t *list, const char *want)
{
	size_t i;
	json_t *it;

	if (!json_is_array(list) || json_array_size(list) > VF_MAX_LIST)
		return false;
	json_array_foreach(list, i, it)
		if (json_is_string(it) && strcmp(json_string_value(it), want) == 0)
			return true;
	return false;
}

/* ---- the list ---- */

static void vf_free(struct vf *f)
{
	if (!f)
		return;
	e2e_sas_free(f->sas);
	free(f->user);
	free(f->device);
	free(f->txn);
	free(f->room);
	free(f);
}

static struct vf *vf_find(struct verify *v, const char *user, const char *txn)
{
	for (struct vf *f = v->list; f; f = f->next)
		if (strcmp(f->user, user) == 0 && strcmp(f->txn, txn) == 0)
			return f;
	return NULL;
}

static void vf_remove(struct verify *v, struct vf *f)
{
	for (struct vf **pp = &v->list; *pp; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			v->n--;
			vf_free(f);
			return;
		}
	}
}

static size_t vf_count_user(struct verify *v, const char *user)
{
	size_t n = 0;

	for (struct vf *f = v->list; f; f = f->next)
		n += strcmp(f->user, user) == 0;
	return n;
}

/* ---- sending ---- */

/* content carries "transaction_id"; in a room it becomes the reference to the request. */
static int send_to_enc(struct verify *v, const char *room, const char *user,
		       const char *device, bool enc, const char *type, json_t *content)
{
	const char *txn = jstr(content, "transaction_id");
	int rc = HE_NOMEM;

	if (!content || !txn)
		goto out;
	if (room) {
		json_t *rel = json_pack("{s:s, s:s}", "rel_type", "m.reference", "event_id", txn);
		if (!rel || json_object_set_new(content, "m.relates_to", rel))
			goto out;
		json_object_del(content, "transaction_id");
		rc = v->ops->send_room ? v->ops->send_room(v->ud, room, type, content) : HE_INVAL;
	} else if (enc && v->ops->send_encrypted &&
		   v->ops->send_encrypted(v->ud, type, user, device, content) == HE_OK) {
		rc = HE_OK;
	} else {
		rc = v->ops->send(v->ud, type, user, device, content);
	}
out:
	json_decref(content);
	return rc;
}

static int send_to(struct verify *v, const char *room, const char *user, const char *device,
		   const char *type, json_t *content)
{
	return send_to_enc(v, room, user, device, false, type, content);
}

/* To the other side of f, the way its messages come. */
static int send_f(struct verify *v, struct vf *f, const char *type, json_t *content)
{
	return send_to_enc(v, f->room, f->user, f->device, f->encrypted, type, content);
}

static int send_cancel(struct verify *v, const char *room, const char *user, const char *device,
		       const char *txn, const char *code, const char *reason)
{
	hlog_info(VF_MOD, "verification with %s (device %s) cancelled: %s", user, device, code);
	return send_to(v, room, user, device, T_PREFIX "cancel",
		       json_pack("{s:s, s:s, s:s}", "transaction_id", txn, "code", code,
				 "reason", reason));
}

/* Cancels f and forgets it. */
static int cancel(struct verify *v, struct vf *f, const char *code, const char *reason)
{
	int rc;

	hlog_info(VF_MOD, "verification with %s (device %s) cancelled: %s", f->user, f->device,
		  code);
	rc = send_f(v, f, T_PREFIX "cancel", json_pack("{s:s, s:s, s:s}", "transaction_id",
						       f->txn, "code", code, "reason", reason));

	vf_remove(v, f);
	return rc;
}

/* ---- the flow ---- */

/* Whether a new verification with user's device may begin; else it is refused (cancel). */
static int may_begin(struct verify *v, const char *room, const char *user, const char *device,
		     const char *txn, bool *ok)
{
	*ok = false;
	if (!v->ops->is_moderator(v->ud, user)) {
		hlog_info(VF_MOD, "%s asked to verify Hearth but moderates no group room with it", user);
		return send_cancel(v, room, user, device, txn, "m.user",
				   "Hearth verifies its device only with moderators of a group room "
				   "it shares with you.");
	}
	if (vf_count_user(v, user) >= VERIFY_PER_USER || v->n >= VERIFY_MAX)
		return send_cancel(v, room, user, device, txn, "m.user",
				   "Too many verifications at once: please finish or cancel the "
				   "others first.");
	*ok = true;
	return HE_OK;
}

static int vf_add(struct verify *v, const char *room, const char *user, const char *device,
		  const char *txn, struct vf **out)
{
	struct vf *f = calloc(1, sizeof(*f));
	char *ed = NULL;

	*out = NULL;
	if (!f || !(f->user = strdup(user)) || !(f->device = strdup(device)) ||
	    !(f->txn = strdup(txn)) || (room && !(f->room = strdup(room)))) {
		vf_free(f);
		return HE_NOMEM;
	}
	f->began_ms = v->ops->now_ms(v->ud);
	f->next = v->list;
	v->list = f;
	v->n++;
	/* looked up now, so that a query of their devices is on its way when the MAC comes */
	if (v->ops->device_key(v->ud, user, device, &ed) == HE_OK)
		free(ed);
	*out = f;
	return HE_OK;
}

/* ts: the request's timestamp (to-device) or the event's origin_server_ts (in a room). */
static int on_request(struct verify *v, const char *room, const char *sender, const char *txn,
		      json_t *c, json_t *ts, bool enc)
{
	const char *dev = jstr(c, "from_device");
	uint64_t now = v->ops->now_ms(v->ud), t;
	struct vf *f;
	bool ok;
	int rc;

	if (!ok_id(dev, VF_MAX_ID) || !ok_id(txn, VF_MAX_ID) || !json_is_integer(ts) ||
	    json_integer_value(ts) < 0)
		return HE_OK; /* malformed: nothing to answer to */
	t = (uint64_t)json_integer_value(ts);
	if (t + VF_PAST_MS < now || t > now + VF_FUTURE_MS)
		return HE_OK; /* the spec: stale or future requests are ignored */
	if (vf_find(v, sender, txn))
		return HE_OK; /* a repeat */
	if (!offers(json_object_get(c, "methods"), SAS_V1))
		return send_cancel(v, room, sender, dev, txn, "m.unknown_method",
				   "Hearth can only verify by comparing emoji (m.sas.v1).");
	if ((rc = may_begin(v, room, sender, dev, txn, &ok)) || !ok)
		return rc;
	if ((rc = vf_add(v, room, sender, dev, txn, &f)))
		return rc;
	f->requested = true;
	f->encrypted = enc;
	f->st = VF_READY;
	hlog_info(VF_MOD, "%s (device %s) asked to verify Hearth: ready", sender, dev);
	return send_f(v, f, T_PREFIX "ready",
		       json_pack("{s:s, s:[s], s:s}", "from_device", v->device, "methods", SAS_V1,
				 "transaction_id", txn));
}

static int on_start(struct verify *v, const char *room, const char *sender, const char *txn,
		    json_t *c, bool enc)
{
	const char *dev = jstr(c, "from_device");
	const char *method = jstr(c, "method");
	char commitment[E2E_SAS_HASH_LEN + 1];
	json_t *sas_list = json_object_get(c, "short_authentication_string"), *mine;
	json_t *macs = json_object_get(c, "message_authentication_codes");
	struct vf *f;
	bool ok;
	int rc;

	if (!ok_id(dev, VF_MAX_ID) || !ok_id(txn, VF_MAX_ID))
		return HE_OK;
	f = vf_find(v, sender, txn);
	if (room && (!f || !f->room || strcmp(f->room, room) != 0))
		return HE_OK; /* in a room, a verification always begins with a request */
	if (f && (f->st != VF_READY || strcmp(f->device, dev) != 0))
		return cancel(v, f, "m.unexpected_message", "This verification has already begun.");
	if (!method || strcmp(method, SAS_V1) != 0 ||
	    !offers(json_object_get(c, "key_agreement_protocols"), KA_V2) ||
	    !offers(json_object_get(c, "hashes"), "sha256") ||
	    !(offers(macs, MAC_V2) || offers(macs, MAC_V2_OLD) || offers(macs, MAC_V1)) ||
	    !(offers(sas_list, "emoji") || offers(sas_list, "decimal"))) {
		if (f)
			return cancel(v, f, "m.unknown_method",
				      "Hearth can only verify by comparing emoji (m.sas.v1 with "
				      "curve25519-hkdf-sha256).");
		return send_cancel(v, room, sender, dev, txn, "m.unknown_method",
				   "Hearth can only verify by comparing emoji (m.sas.v1 with "
				   "curve25519-hkdf-sha256).");
	}
	if (!f) { /* the older flow: start without a request */
		if ((rc = may_begin(v, room, sender, dev, txn, &ok)) || !ok)
			return rc;
		if ((rc = vf_add(v, room, sender, dev, txn, &f)))
			return rc;
	}
	f->encrypted = f->encrypted || enc;
	if (offers(macs, MAC_V2) || offers(macs, MAC_V2_OLD)) {
		f->mac = E2E_SAS_MAC_V2;
		f->mac_name = offers(macs, MAC_V2) ? MAC_V2 : MAC_V2_OLD;
	} else {
		f->mac = E2E_SAS_MAC_V1;
		f->mac_name = MAC_V1;
	}
	if ((rc = e2e_sas_new(&f->sas)) ||
	    (rc = e2e_sas_commitment(e2e_sas_pubkey(f->sas), c, commitment))) {
		cancel(v, f, "m.user", "Hearth could not go on with the verification just now.");
		return rc;
	}
	if (!(mine = json_array()))
		return HE_NOMEM;
	if (offers(sas_list, "emoji"))
		json_array_append_new(mine, json_string("emoji"));
	if (offers(sas_list, "decimal"))
		json_array_append_new(mine, json_string("decimal"));
	f->st = VF_ACCEPTED;
	hlog_info(VF_MOD, "verification with %s (device %s) accepted", sender, dev);
	return send_f(v, f, T_PREFIX "accept",
		       json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s}", "transaction_id", txn,
				 "method", SAS_V1, "key_agreement_protocol", KA_V2,
				 "hash", "sha256", "message_authentication_code", f->mac_name,
				 "short_authentication_string", mine, "commitment", commitment));
}

/* The SAS as numbers (the spec's decimal method), for the log: Hearth has no screen, but whoever
 * runs it can read the numbers to the moderator, who compares them with their client's. They
 * are no secret (every client shows them) and say nothing of the MAC key. */
static void log_decimals(struct verify *v, struct vf *f, const char *their_key)
{
	char info[1400];
	unsigned char b[5];
	unsigned n1, n2, n3;

	/* the side that sent start (them) comes first */
	snprintf(info, sizeof(info), "MATRIX_KEY_VERIFICATION_SAS|%s|%s|%s|%s|%s|%s|%s", f->user,
		 f->device, their_key, v->user, v->device, e2e_sas_pubkey(f->sas), f->txn);
	if (e2e_sas_bytes(f->sas, info, b, sizeof(b)) != HE_OK)
		return;
	n1 = ((unsigned)b[0] << 5 | b[1] >> 3) + 1000;
	n2 = (((unsigned)b[1] & 0x7) << 10 | (unsigned)b[2] << 2 | b[3] >> 6) + 1000;
	n3 = (((unsigned)b[3] & 0x3f) << 7 | b[4] >> 1) + 1000;
	hlog_info(VF_MOD, "verification with %s (device %s): the numbers are %u %u %u", f->user,
		  f->device, n1, n2, n3);
}

static int on_key(struct verify *v, struct vf *f, json_t *c)
{
	if (f->st != VF_ACCEPTED)
		return cancel(v, f, "m.unexpected_message", "A key came at the wrong moment.");
	if (e2e_sas_set_their_key(f->sas, jstr(c, "key")) != HE_OK)
		return cancel(v, f, "m.invalid_message", "The key in that message is not valid.");
	log_decimals(v, f, jstr(c, "key"));
	f->st = VF_KEYS;
	return send_f(v, f, T_PREFIX "key",
		       json_pack("{s:s, s:s}", "transaction_id", f->txn, "key",
				 e2e_sas_pubkey(f->sas)));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The comma-separated sorted key ids of mac (at most VF_MAX_MACS), malloc'd; NULL when too
 * many or malformed. */
static char *key_ids(json_t *mac)
{
	const char *ids[VF_MAX_MACS], *k;
	size_t n = 0, len = 1;
	json_t *val;
	char *out;

	if (!json_is_object(mac) || json_object_size(mac) == 0 ||
	    json_object_size(mac) > VF_MAX_MACS)
		return NULL;
	json_object_foreach(mac, k, val) {
		if (!json_is_string(val) || !ok_id(k, VF_MAX_KEY_ID) || strchr(k, ','))
			return NULL;
		ids[n++] = k;
		len += strlen(k) + 1;
	}
	qsort(ids, n, sizeof(ids[0]), cmp_str);
	if (!(out = malloc(len)))
		return NULL;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(out, ",");
		strcat(out, ids[i]);
	}
	return out;
}

/* Their MAC: the keys of their device (and their master key, when sent and known) checked
 * against what the crypto module knows. */
static int check_their_mac(struct verify *v, struct vf *f, json_t *c, const char **why)
{
	json_t *mac = json_object_get(c, "mac"), *val;
	char info[1400], kid[sizeof(info) + VF_MAX_KEY_ID + 16], *ids = key_ids(mac), *ed = NULL;
	char *master = NULL;
	const char *k;
	bool device_ok = false;
	int rc = HE_CRYPTO;

	*why = "The keys did not match, so I cannot mark this as verified.";
	snprintf(info, sizeof(info), "MATRIX_KEY_VERIFICATION_MAC%s%s%s%s%s", f->user, f->device,
		 v->user, v->device, f->txn);
	if (!ids) {
		*why = "That message is not valid.";
		goto out;
	}
	snprintf(kid, sizeof(kid), "%sKEY_IDS", info);
	if (!e2e_sas_mac_ok(f->sas, f->mac, ids, kid, jstr(c, "keys")))
		goto out;
	if (v->ops->device_key(v->ud, f->user, f->device, &ed) != HE_OK) {
		*why = "I could not find your device's keys yet; please try again in a minute.";
		goto out;
	}
	if (v->ops->master_key)
		v->ops->master_key(v->ud, f->user, &master);
	json_object_foreach(mac, k, val) {
		const char *input = NULL;
		if (strncmp(k, "ed25519:", 8) != 0)
			continue;
		if (strcmp(k + 8, f->device) == 0)
			input = ed;
		else if (master && strcmp(k + 8, master) == 0)
			input = master;
		if (!input)
			continue; /* a key Hearth does not know: the spec says to ignore it */
		snprintf(kid, sizeof(kid), "%s%s", info, k);
		if (!e2e_sas_mac_ok(f->sas, f->mac, input, kid, json_string_value(val)))
			goto out;
		if (input == ed)
			device_ok = true;
	}
	rc = device_ok ? HE_OK : HE_CRYPTO;
out:
	free(ids);
	free(ed);
	free(master);
	return rc;
}

/* Our MAC: our device key, and our master key when cross-signing is set up. */
static json_t *our_mac(struct verify *v, struct vf *f)
{
	char info[1400], kid[VF_MAX_KEY_ID + 16], full[sizeof(info) + sizeof(kid)];
	char m[E2E_SAS_MAC_LEN + 1], *master = NULL, *ids = NULL;
	json_t *macs = json_object(), *out = NULL;

	snprintf(info, sizeof(info), "MATRIX_KEY_VERIFICATION_MAC%s%s%s%s%s", v->user, v->device,
		 f->user, f->device, f->txn);
	if (!macs)
		goto out;
	snprintf(kid, sizeof(kid), "ed25519:%s", v->device);
	snprintf(full, sizeof(full), "%s%s", info, kid);
	if (e2e_sas_mac(f->sas, f->mac, v->ed, full, m) || json_object_set_new(macs, kid, json_string(m)))
		goto out;
	if (v->ops->master_key && v->ops->master_key(v->ud, v->user, &master) == HE_OK) {
		snprintf(kid, sizeof(kid), "ed25519:%s", master);
		snprintf(full, sizeof(full), "%s%s", info, kid);
		if (e2e_sas_mac(f->sas, f->mac, master, full, m) ||
		    json_object_set_new(macs, kid, json_string(m)))
			goto out;
	}
	if (!(ids = key_ids(macs)))
		goto out;
	snprintf(full, sizeof(full), "%sKEY_IDS", info);
	if (e2e_sas_mac(f->sas, f->mac, ids, full, m))
		goto out;
	out = json_pack("{s:s, s:O, s:s}", "transaction_id", f->txn, "mac", macs, "keys", m);
out:
	json_decref(macs);
	free(master);
	free(ids);
	return out;
}

static int on_mac(struct verify *v, struct vf *f, json_t *c)
{
	const char *why;
	int rc;

	if (f->st != VF_KEYS)
		return cancel(v, f, "m.unexpected_message", "A MAC came at the wrong moment.");
	if (check_their_mac(v, f, c, &why) != HE_OK)
		return cancel(v, f, "m.key_mismatch", why);
	/* they compared and confirmed, and their keys check out: Hearth confirms too */
	rc = send_f(v, f, T_PREFIX "mac", our_mac(v, f));
	if (rc == HE_OK)
		rc = send_f(v, f, T_PREFIX "done",
			     json_pack("{s:s}", "transaction_id", f->txn));
	if (rc == HE_OK) {
		v->done++;
		hlog_info(VF_MOD, "%s verified Hearth's device from their device %s", f->user,
			  f->device);
	}
	vf_remove(v, f);
	return rc;
}

/* One verification message on its channel (room NULL: to-device), txn already found. */
static int dispatch(struct verify *v, const char *room, const char *sender,
		    const char *sender_device, const char *type, const char *txn, json_t *content,
		    json_t *ts)
{
	const char *what = type + strlen(T_PREFIX);
	struct vf *f;

	verify_tick(v);
	if (sender_device && jstr(content, "from_device") &&
	    strcmp(sender_device, jstr(content, "from_device")) != 0)
		return HE_OK; /* an encrypted message that names another device than its sender */
	if (strcmp(what, "request") == 0)
		return on_request(v, room, sender, txn, content, ts, sender_device != NULL);
	if (strcmp(what, "start") == 0)
		return on_start(v, room, sender, txn, content, sender_device != NULL);
	f = vf_find(v, sender, txn);
	if (!f || (room ? !f->room || strcmp(f->room, room) != 0 : f->room != NULL))
		return HE_OK; /* not ours, or already forgotten: nothing to answer */
	if (sender_device && strcmp(sender_device, f->device) != 0)
		return HE_OK;
	if (strcmp(what, "cancel") == 0) {
		hlog_info(VF_MOD, "%s cancelled the verification (%s)", sender,
			  ok_id(jstr(content, "code"), 64) ? jstr(content, "code") : "no code");
		vf_remove(v, f);
		return HE_OK;
	}
	if (strcmp(what, "key") == 0)
		return on_key(v, f, content);
	if (strcmp(what, "mac") == 0)
		return on_mac(v, f, content);
	if (strcmp(what, "done") == 0)
		return HE_OK; /* ours went after our MAC; theirs may come before or after */
	/* ready and accept answer a request or a start Hearth never sends */
	return cancel(v, f, "m.unexpected_message", "Hearth did not expect that message.");
}

int verify_event(struct verify *v, const char *sender, const char *sender_device,
		 const char *type, json_t *content)
{
	const char *txn = jstr(content, "transaction_id");

	if (!ok_id(sender, VF_MAX_USER) || !type || strncmp(type, T_PREFIX, strlen(T_PREFIX)) != 0 ||
	    !json_is_object(content) || !ok_id(txn, VF_MAX_ID))
		return HE_OK;
	if (sender_device && !ok_id(sender_device, VF_MAX_ID))
		return HE_OK;
	return dispatch(v, NULL, sender, sender_device, type, txn, content,
			json_object_get(content, "timestamp"));
}

int verify_room_event(struct verify *v, const char *room_id, json_t *event, json_t *plain)
{
	const char *sender = jstr(event, "sender"), *event_id = jstr(event, "event_id");
	const char *type = jstr(plain, "type"), *txn;
	json_t *content = json_object_get(plain, "content"), *rel;

	if (!ok_id(room_id, VF_MAX_ID) || !ok_id(sender, VF_MAX_USER) || !type ||
	    !json_is_object(content) || strcmp(sender, v->user) == 0)
		return HE_OK; /* (our own messages come back in the timeline) */
	if (strcmp(type, "m.room.message") == 0) {
		const char *to = jstr(content, "to");
		if (!jstr(content, "msgtype") ||
		    strcmp(jstr(content, "msgtype"), T_PREFIX "request") != 0 ||
		    !to || strcmp(to, v->user) != 0 || !ok_id(event_id, VF_MAX_ID))
			return HE_OK;
		return dispatch(v, room_id, sender, NULL, T_PREFIX "request", event_id, content,
				json_object_get(event, "origin_server_ts"));
	}
	if (strncmp(type, T_PREFIX, strlen(T_PREFIX)) != 0 ||
	    strcmp(type, T_PREFIX "request") == 0)
		return HE_OK;
	rel = json_object_get(content, "m.relates_to");
	if (!rel) /* an encrypted event's relation may travel outside the ciphertext only */
		rel = json_object_get(json_object_get(event, "content"), "m.relates_to");
	txn = jstr(rel, "event_id");
	if (!jstr(rel, "rel_type") || strcmp(jstr(rel, "rel_type"), "m.reference") != 0 ||
	    !ok_id(txn, VF_MAX_ID))
		return HE_OK;
	if (!json_object_get(content, "m.relates_to")) {
		/* the content as its sender made it (the commitment covers the relation) */
		json_t *copy = json_copy(content);
		int rc = HE_NOMEM;
		if (copy && json_object_set(copy, "m.relates_to", rel) == 0)
			rc = dispatch(v, room_id, sender, NULL, type, txn, copy, NULL);
		json_decref(copy);
		return rc;
	}
	return dispatch(v, room_id, sender, NULL, type, txn, content, NULL);
}

bool verify_room_event_is(json_t *plain)
{
	const char *type = jstr(plain, "type");
	const char *mt = jstr(json_object_get(plain, "content"), "msgtype");

	if (!type)
		return false;
	if (strcmp(type, "m.room.message") == 0)
		return mt && strcmp(mt, T_PREFIX "request") == 0;
	return strncmp(type, T_PREFIX, strlen(T_PREFIX)) == 0;
}

void verify_tick(struct verify *v)
{
	uint64_t now = v->ops->now_ms(v->ud);
	struct vf *f = v->list, *next;

	for (; f; f = next) {
		next = f->next;
		if (now - f->began_ms >= VERIFY_TIMEOUT_MS)
			cancel(v, f, "m.timeout", "The verification took too long; please start again.");
	}
}

size_t verify_count(const struct verify *v)
{
	return v->n;
}

unsigned long verify_done_count(const struct verify *v)
{
	return v->done;
}

void *verify_ud(const struct verify *v)
{
	return v->ud;
}

int verify_new(const char *user_id, const char *device_id, const char *ed25519,
	       const struct verify_ops *ops, void *ud, struct verify **out)
{
	struct verify *v = calloc(1, sizeof(*v));

	*out = NULL;
	if (!v || !(v->user = strdup(user_id)) || !(v->device = strdup(device_id)) ||
	    !(v->ed = strdup(ed25519))) {
		verify_free(v);
		return HE_NOMEM;
	}
	v->ops = ops;
	v->ud = ud;
	*out = v;
	return HE_OK;
}

void verify_free(struct verify *v)
{
	if (!v)
		return;
	while (v->list) {
		struct vf *f = v->list;
		v->list = f->next;
		vf_free(f);
	}
	free(v->user);
	free(v->device);
	free(v->ed);
	free(v);
}
