/* mx_e2e.c - end-to-end encryption for the Matrix transport: the mx_crypto_ops over the sans-I/O
 * module in crypto/ (e2e.h, the only crypto header included here).
 *
 * This file does the module's I/O: it sends the requests the module queues (e2e_outgoing) with
 * the transport's HTTP client (which retries 429, 5xx and network failures with the same path
 * and body) and reports the final answers; it adds user-interactive auth (the configured
 * password) to the cross-signing upload; it loads the full member list of an encrypted room
 * (lazy-loading sync does not send every member) before anything is encrypted for it; it
 * hands events whose keys arrived late back to the timeline; and it keeps the member in the
 * loop when their cross-signing identity changes: a short notice in their private chat, and
 * the one transport-specific command, PREFIX "trust" in that chat, which confirms the change
 * (it is answered here and never reaches the core, so that no support feature knows about
 * devices). */
#include "core/metrics.h"
#include "net/matrix/mx.h"
#include "net/matrix/crypto/e2e.h"
#include "net/matrix/verify.h"
#include "core/err.h"
#include "core/log.h"
#include "core/loop.h"
#include "store/store.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XE_MOD "matrix-e2e"
#define XE_DRAIN 32

enum xop_kind { XOP_E2E, XOP_MEMBERS, XOP_SELF };

struct xop {
	struct mx_e2e *x;
	enum xop_kind kind;
	struct mx_req *req;
	/* XOP_E2E */
	unsigned long id;
	const struct e2e_request *er;
	bool uia;                  /* the password was added to er->body */
	bool upload;               /* POST /keys/upload */
	/* XOP_MEMBERS */
	char *room_id;
	struct mx_batch *batch;
	struct xop *next;
};

struct mx_e2e {
	struct mx *mx;
	struct e2e *e;
	struct xop *ops;           /* requests in flight */
	json_t *stale;             /* {room id: true}: member list to reload if encrypted */
	json_t *loading;           /* {room id: true}: joined_members in flight, sends wait */
	json_t *waiting;           /* {room id: µs}: since when a send waits for the room's keys */
	bool resign;               /* device keys republished: sign the device again after */
	/* A sync that changed nothing for encryption costs nothing: what it repeats is skipped. */
	json_t *last_otk, *last_fallback; /* the key counts the module was last given */
	bool keys_came;            /* to-device messages came since messages waiting for a key
				    * were last looked at (a room key may have made them readable) */
	uint64_t looked_ms;        /* when waiting messages were last looked at (they expire) */
	uint64_t pumped_ms;        /* when the module's pumps last ran from a sync (retries) */
	bool told;                 /* identity changes left from before a restart were told */
	bool withheld_look;        /* a withheld notice or a message waiting for its key may have
				    * come since the last look: a quiet sync runs no withheld SQL */
	struct verify *vf;         /* members' clients verifying this device (verify.h) */
};

#define XE_LOOK_MS 60000u      /* waiting messages looked at (and expired) at least this often */
#define XE_PUMP_MS 2000u       /* a quiet sync lets the module retry what failed this often */

/* ---- requests ---- */

static void xop_unlink(struct mx_e2e *x, struct xop *op)
{
	for (struct xop **pp = &x->ops; *pp; pp = &(*pp)->next) {
		if (*pp == op) {
			*pp = op->next;
			return;
		}
	}
}

static void xop_free(struct xop *op)
{
	if (!op)
		return;
	free(op->room_id);
	free(op);
}

/* Removes the password from a request body before the module frees it. */
static void scrub_auth(const struct e2e_request *er)
{
	json_t *auth = json_object_get(er->body, "auth");
	json_t *pw = json_object_get(auth, "password");

	if (json_is_string(pw)) {
		char *s = (char *)json_string_value(pw);
		sodium_memzero(s, strlen(s));
		json_string_set(pw, "");
	}
	json_object_del(er->body, "auth");
}

static void drain(struct mx_e2e *x);

/* ---- members' identities ---- */

/* Tells each member whose cross-signing identity changed, in their private chat. */
static void tell_identity_changes(struct mx_e2e *x)
{
	json_t *users = e2e_take_identity_notices(x->e), *u;
	const char *p = x->mx->app->cfg->prefix ? x->mx->app->cfg->prefix : "!";
	char md[700];
	size_t i;

	snprintf(md, sizeof(md),
		 "Your Matrix security keys have changed (maybe a new login, or a reset). To keep "
		 "this chat private, I only send it to the devices you had already confirmed.\n\n"
		 "If the change was you, send `%strust` here from one of those devices, and your new "
		 "devices can read along again. If it was not you, please change your Matrix password.",
		 p);
	json_array_foreach(users, i, u) {
		if (mx_op_post_private(&x->mx->t, json_string_value(u), md))
			hlog_warn(XE_MOD, "could not tell %s that their keys changed",
				  json_string_value(u));
	}
	json_decref(users);
}

/* Tells each member whose message Hearth cannot read because their client withheld its key,
 * privately and once per room, what happened and what helps. */
static void tell_withheld(struct mx_e2e *x)
{
	json_t *list = e2e_take_withheld_notices(x->e), *n;
	char md[900];
	size_t i;

	json_array_foreach(list, i, n) {
		const char *code = json_string_value(json_object_get(n, "code"));
		const char *why = !code ? "" :
			strcmp(code, "m.unverified") == 0 ? " Your app said it only shares keys with "
				"verified devices, and mine is not verified for you." :
			strcmp(code, "m.blacklisted") == 0 ? " Your app has blocked my device." :
			strcmp(code, "m.no_olm") == 0 ? " Your app could not set up a secure channel to "
				"my device." : "";
		snprintf(md, sizeof(md),
			 "I couldn't read a message you sent in an encrypted room: your Matrix app did "
			 "not share its key with me, so I can't answer it.%s\n\nIf you'd like me to "
			 "answer there, allow sending to unverified devices in your app's security "
			 "settings (or verify my device), then send it again.", why);
		if (mx_op_post_private(&x->mx->t, json_string_value(json_object_get(n, "user_id")), md))
			hlog_warn(XE_MOD, "could not tell %s that their key was withheld",
				  json_string_value(json_object_get(n, "user_id")));
	}
	json_decref(list);
}

/* Whether the decrypted event is PREFIX "trust" (nothing else, any case). */
static bool is_trust_command(struct mx_e2e *x, json_t *plain)
{
	json_t *c = json_object_get(plain, "content");
	const char *p = x->mx->app->cfg->prefix ? x->mx->app->cfg->prefix : "!";
	const char *type = json_string_value(json_object_get(plain, "type"));
	const char *mt = json_string_value(json_object_get(c, "msgtype"));
	const char *b = json_string_value(json_object_get(c, "body"));
	size_t n = strlen(p);

	if (!type || !mt || !b || strcmp(type, "m.room.message") != 0 || strcmp(mt, "m.text") != 0)
		return false;
	while (isspace((unsigned char)*b))
		b++;
	if (strncmp(b, p, n) != 0 || strncasecmp(b + n, "trust", 5) != 0)
		return false;
	for (b += n + 5; *b; b++)
		if (!isspace((unsigned char)*b))
			return false;
	return true;
}

/* The member confirms their new identity in their private chat. */
static void handle_trust(struct mx_e2e *x, const char *room_id, json_t *event, json_t *plain)
{
	const char *sender = json_string_value(json_object_get(event, "sender"));
	const char *event_id = json_string_value(json_object_get(event, "event_id"));
	const char *dev = json_is_true(json_object_get(plain, "sender_verified"))
		? json_string_value(json_object_get(plain, "sender_device")) : NULL;
	const char *md;
	int rc;

	if (!sender || !event_id || mx_seen_check(x->mx, event_id))
		return;
	rc = e2e_identity_confirm(x->e, sender, dev);
	if (rc == HE_OK)
		md = "Thank you. Your devices with the new keys can read this chat again from my next "
		     "message on.";
	else if (rc == HE_NOTFOUND)
		md = "There is nothing to confirm right now: the devices you have confirmed can read "
		     "this chat.";
	else if (rc == HE_PERM)
		md = "So that I know it is you, please send this from one of the devices you used with "
		     "me before the change.";
	else
		md = "Sorry, I could not note that just now. Please try again in a minute.";
	if (mx_send_event(x->mx, room_id, "m.room.message", mx_notice_content(md, event_id, NULL),
			  NULL, NULL, NULL))
		hlog_warn(XE_MOD, "could not answer a confirmation in %s", room_id);
}

static bool send_e2e(struct mx_e2e *x, struct xop *op);

static void on_e2e(struct mx *mx, int status, json_t *body, const struct hstamp *t, void *ud)
{
	struct xop *op = ud;
	struct mx_e2e *x = op->x;
	const char *pw = mx->app->cfg->matrix_password;
	const char *session = json_string_value(json_object_get(body, "session"));

	op->req = NULL;
	xop_unlink(x, op);
	if (status == 401 && !op->uia && session && pw &&
	    strcmp(op->er->path, "/keys/device_signing/upload") == 0) {
		json_t *auth = json_pack("{s:s, s:{s:s, s:s}, s:s, s:s}", "type", "m.login.password",
					 "identifier", "type", "m.id.user", "user", mx->user_id,
					 "password", pw, "session", session);
		if (auth && json_object_set_new(op->er->body, "auth", auth) == 0) {
			op->uia = true;
			if (send_e2e(x, op))
				return;
		}
		status = 0;
	}
	if (op->uia)
		scrub_auth(op->er);
	if (status == 401 && strcmp(op->er->path, "/keys/device_signing/upload") == 0)
		hlog_warn(XE_MOD, "the homeserver refused the cross-signing keys (HTTP 401 %s): "
			  "members' clients may not trust this device", mx_errcode(body));
	e2e_request_done(x->e, op->id, status, body);
	tell_identity_changes(x);
	tell_withheld(x);
	if (x->resign && status == 200 &&
	    op->upload && mx->app->cfg->matrix_password) {
		x->resign = false;
		if (e2e_cross_signing_bootstrap(x->e))
			hlog_warn(XE_MOD, "could not sign this device again");
	}
	xop_free(op);
	drain(x);
	mx_send_crypto_progress(mx);
}

static bool send_e2e(struct mx_e2e *x, struct xop *op)
{
	/* the module's path is already escaped */
	op->req = mx_http_jsonf(x->mx, op->er->method, op->er->body, MX_HTTP_RETRY, on_e2e, op,
				"/_matrix/client/v3%S", op->er->path);
	if (!op->req)
		return false;
	op->next = x->ops;
	x->ops = op;
	return true;
}

/* Sends everything the module queued; the module may queue more as answers come in. */
static void drain(struct mx_e2e *x)
{
	const struct e2e_request *reqs[XE_DRAIN];
	size_t n;

	while ((n = e2e_outgoing(x->e, reqs, XE_DRAIN)) > 0) {
		for (size_t i = 0; i < n; i++) {
			struct xop *op = calloc(1, sizeof(*op));
			if (op) {
				op->x = x;
				op->kind = XOP_E2E;
				op->id = reqs[i]->id;
				op->er = reqs[i];
				op->upload = strcmp(reqs[i]->path, "/keys/upload") == 0;
				if (send_e2e(x, op))
					continue;
				free(op);
			}
			hlog_error(XE_MOD, "out of memory sending an encryption request");
			e2e_request_done(x->e, reqs[i]->id, 0, NULL);
		}
	}
}

/* ---- member lists ---- */

static void on_members(struct mx *mx, int status, json_t *body, const struct hstamp *t, void *ud)
{
	struct xop *op = ud;
	struct mx_e2e *x = op->x;
	json_t *joined = json_object_get(body, "joined"), *v;
	const char *user;
	size_t n = 0;

	op->req = NULL;
	xop_unlink(x, op);
	if (status == 200 && json_is_object(joined)) {
		json_object_foreach(joined, user, v) {
			if (e2e_room_member_change(x->e, op->room_id, user, "join") == HE_OK)
				n++;
		}
		hlog_debug(XE_MOD, "room %s: %zu members will get its keys", op->room_id, n);
	} else {
		hlog_warn(XE_MOD, "room %s: could not load its members (HTTP %d %s); room keys go to "
			  "the members seen so far", op->room_id, status, mx_errcode(body));
	}
	json_object_del(x->loading, op->room_id);
	mx_batch_release(mx, op->batch);
	xop_free(op);
	drain(x);
	mx_send_crypto_progress(mx);
}

static void load_members(struct mx_e2e *x, const char *room_id, struct mx_batch *b)
{
	struct xop *op = calloc(1, sizeof(*op));

	if (!op || !(op->room_id = strdup(room_id)))
		goto fail;
	op->x = x;
	op->kind = XOP_MEMBERS;
	op->batch = b;
	op->req = mx_http_requestf(x->mx, "GET", NULL, 0, NULL, MX_HTTP_RETRY, on_members, op,
				   "/_matrix/client/v3/rooms/%s/joined_members", room_id);
	if (!op->req)
		goto fail;
	json_object_set_new(x->loading, room_id, json_true());
	mx_batch_hold(b);
	op->next = x->ops;
	x->ops = op;
	return;
fail:
	hlog_error(XE_MOD, "out of memory loading the members of %s", room_id);
	xop_free(op);
}

/* ---- does the homeserver still have our device's keys? ---- */

static bool upload_in_flight(struct mx_e2e *x)
{
	for (struct xop *op = x->ops; op; op = op->next)
		if (op->kind == XOP_E2E && op->upload)
			return true;
	return false;
}

static void on_self(struct mx *mx, int status, json_t *body, const struct hstamp *t, void *ud)
{
	struct xop *op = ud;
	struct mx_e2e *x = op->x;
	json_t *dk = json_object_get(json_object_get(json_object_get(body, "device_keys"),
						     mx->user_id), mx->device_id);
	char kid[300];
	const char *ed;

	op->req = NULL;
	xop_unlink(x, op);
	xop_free(op);
	if (status != 200) {
		hlog_warn(XE_MOD, "could not check this device's keys on the homeserver (HTTP %d %s)",
			  status, mx_errcode(body));
		return;
	}
	snprintf(kid, sizeof(kid), "ed25519:%s", mx->device_id);
	ed = json_string_value(json_object_get(json_object_get(dk, "keys"), kid));
	if (ed && strcmp(ed, e2e_ed25519_key(x->e)) == 0)
		return;
	if (ed) {
		hlog_error(XE_MOD, "the homeserver lists other keys for device %s than this store "
			   "holds: members will not be able to write to Hearth securely", mx->device_id);
		return;
	}
	if (upload_in_flight(x))
		return; /* the first upload of a new device is on its way */
	x->resign = true;
	if (e2e_device_keys_lost(x->e))
		hlog_warn(XE_MOD, "could not prepare the key upload again");
	drain(x);
}

static void check_self(struct mx_e2e *x)
{
	struct xop *op = calloc(1, sizeof(*op));
	json_t *body = json_pack("{s:{s:[s]}}", "device_keys", x->mx->user_id, x->mx->device_id);

	if (!op || !body)
		goto fail;
	op->x = x;
	op->kind = XOP_SELF;
	op->req = mx_http_json(x->mx, "POST", "/_matrix/client/v3/keys/query", body, MX_HTTP_RETRY,
			       on_self, op);
	if (!op->req)
		goto fail;
	op->next = x->ops;
	x->ops = op;
	json_decref(body);
	return;
fail:
	json_decref(body);
	free(op);
}

/* ---- the ops ---- */

static int x_start(struct mx *mx, void **state)
{
	const struct config *c = mx->app->cfg;
	unsigned char key[E2E_PICKLE_KEY_LEN];
	struct mx_e2e *x;
	char path[4096];
	int rc;

	*state = NULL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return HE_NOMEM;
	x->mx = mx;
	x->stale = json_object();
	x->loading = json_object();
	x->waiting = json_object();
	if (!x->stale || !x->loading || !x->waiting) {
		rc = HE_NOMEM;
		goto out;
	}
	snprintf(path, sizeof(path), "%s/e2e.key", c->data_dir ? c->data_dir : ".");
	if ((rc = e2e_load_pickle_key(path, key)))
		goto out;
	rc = e2e_new(mx->app->store, mx->user_id, mx->device_id, key, &x->e);
	if (rc == HE_OK) {
		/* The account opened with this key: the store's check value (e2e_key_check). */
		unsigned char fp[STORE_KEYCHECK_BYTES];
		store_keycheck_of(key, sizeof(key), "e2e", fp);
		if (store_keycheck_record(mx->app->store, "e2e", fp) != HE_OK)
			hlog_warn(XE_MOD, "could not keep the encryption key's check value");
	}
	sodium_memzero(key, sizeof(key));
	if (rc) {
		hlog_error(XE_MOD, "the encryption store does not open for %s on device %s (%s): is "
			   "this the data folder and key file of this device?", mx->user_id,
			   mx->device_id, he_str(rc));
		goto out;
	}
	if (c->matrix_password) {
		if ((rc = e2e_cross_signing_bootstrap(x->e)))
			hlog_warn(XE_MOD, "could not set up cross-signing (%s)", he_str(rc));
	} else {
		hlog_warn(XE_MOD, "no [matrix] password configured (access token only): the device "
			  "cannot be cross-signed, and clients that require cross-signed devices will "
			  "not send it their room keys");
	}
	if ((rc = mx_verify_new(mx, x->e, &x->vf)))
		goto out;
	hlog_info(XE_MOD, "end-to-end encryption ready on device %s (ed25519 %s)", mx->device_id,
		  e2e_ed25519_key(x->e));
	drain(x);
	x->keys_came = true;      /* messages that waited across a restart are looked at once */
	x->withheld_look = true;  /* and notices owed from before it */
	check_self(x);
	*state = x;
	return HE_OK;
out:
	e2e_free(x->e);
	json_decref(x->stale);
	json_decref(x->loading);
	json_decref(x->waiting);
	free(x);
	return rc;
}

static void x_free(void *state)
{
	struct mx_e2e *x = state;

	if (!x)
		return;
	while (x->ops) {
		struct xop *op = x->ops;
		x->ops = op->next;
		mx_http_cancel(x->mx, op->req);
		if (op->kind == XOP_E2E && op->uia)
			scrub_auth(op->er);
		xop_free(op);
	}
	mx_verify_free(x->vf);
	e2e_free(x->e);
	json_decref(x->last_otk);
	json_decref(x->last_fallback);
	json_decref(x->stale);
	json_decref(x->loading);
	json_decref(x->waiting);
	free(x);
}

static void x_session_changed(void *state)
{
	check_self(state);
}

static void x_to_device(void *state, json_t *events)
{
	struct mx_e2e *x = state;

	x->keys_came = true;
	x->withheld_look = true; /* an m.room_key.withheld may be among them */
	if (e2e_receive_sync_changes(x->e, events, NULL, NULL, NULL))
		hlog_warn(XE_MOD, "could not store what to-device messages brought");
	mx_verify_to_device(x->vf, events); /* plain, and those that came encrypted */
	drain(x);
}

static void x_device_lists(void *state, json_t *changed, json_t *left)
{
	struct mx_e2e *x = state;
	json_t *dl;

	if (!json_array_size(changed) && !json_array_size(left))
		return; /* Synapse sends empty lists on every sync */
	if (!(dl = json_object()))
		return;
	if (changed)
		json_object_set(dl, "changed", changed);
	if (left)
		json_object_set(dl, "left", left);
	if (e2e_receive_sync_changes(x->e, NULL, dl, NULL, NULL))
		hlog_warn(XE_MOD, "could not store device list changes");
	json_decref(dl);
	drain(x);
}

static void x_key_counts(void *state, json_t *otk, json_t *fallback)
{
	struct mx_e2e *x = state;

	/* the same counts as last time (every sync has them): nothing for the module to do */
	if ((otk ? x->last_otk && json_equal(otk, x->last_otk) : !x->last_otk) &&
	    (fallback ? x->last_fallback && json_equal(fallback, x->last_fallback) : !x->last_fallback))
		return;
	json_decref(x->last_otk);
	json_decref(x->last_fallback);
	x->last_otk = otk ? json_deep_copy(otk) : NULL;
	x->last_fallback = fallback ? json_deep_copy(fallback) : NULL;
	if (e2e_receive_sync_changes(x->e, NULL, NULL, otk, fallback))
		hlog_warn(XE_MOD, "could not store the one-time key counts");
	drain(x);
}

static void x_encryption(void *state, const char *room_id, json_t *content)
{
	struct mx_e2e *x = state;
	bool was = e2e_room_is_encrypted(x->e, room_id);

	if (e2e_room_encryption(x->e, room_id, content) == HE_OK && !was)
		json_object_set_new(x->stale, room_id, json_true()); /* first seen encrypted */
	drain(x);
}

static void x_member(void *state, const char *room_id, const char *user_id, const char *membership)
{
	struct mx_e2e *x = state;

	if (e2e_room_member_change(x->e, room_id, user_id, membership))
		hlog_warn(XE_MOD, "could not record that %s's membership in %s is now %s", user_id,
			  room_id, membership);
	drain(x);
}

static void x_members_stale(void *state, const char *room_id)
{
	struct mx_e2e *x = state;

	json_object_set_new(x->stale, room_id, json_true());
}

static void x_sync_done(void *state, struct mx_batch *b)
{
	struct mx_e2e *x = state;
	const char *room_id;
	json_t *v, *ready, *it;
	void *tmp;
	size_t i;
	uint64_t now = loop_now_ms();

	if (now - x->pumped_ms >= XE_PUMP_MS) {
		/* what a quiet sync used to give: the module retries what failed after its backoff */
		x->pumped_ms = now;
		e2e_receive_sync_changes(x->e, NULL, NULL, NULL, NULL);
	}
	if (!x->keys_came && now - x->looked_ms < XE_LOOK_MS)
		goto stale;
	x->keys_came = false;
	x->looked_ms = now;
	ready = e2e_take_unblocked(x->e);
	json_array_foreach(ready, i, it) {
		const char *rid = json_string_value(json_object_get(it, "room_id"));
		json_t *ev = json_object_get(it, "event");
		if (rid && json_is_object(ev)) {
			hlog_info(XE_MOD, "the key for a waiting message in %s arrived: reading it now", rid);
			mx_crypto_redeliver(x->mx, rid, ev, b);
		}
	}
	json_decref(ready);
stale:
	/* identity changes come with key queries' answers (on_e2e tells them); those left from
	 * before a restart are told after the first sync, when the private chats are known */
	if (!x->told) {
		x->told = true;
		tell_identity_changes(x);
	}
	/* the withheld notice and the waiting message come in syncs: a sync that brought either
	 * looks (a three-table query: not on every sync) */
	if (x->withheld_look) {
		x->withheld_look = false;
		tell_withheld(x);
	}
	verify_tick(x->vf);
	json_object_foreach_safe(x->stale, tmp, room_id, v) {
		if (e2e_room_is_encrypted(x->e, room_id) && !json_object_get(x->loading, room_id))
			load_members(x, room_id, b);
		json_object_del(x->stale, room_id);
	}
	drain(x);
}

static bool x_is_encrypted(void *state, const char *room_id)
{
	return e2e_room_is_encrypted(((struct mx_e2e *)state)->e, room_id);
}

static int x_decrypt(void *state, const char *room_id, json_t *event, json_t **out)
{
	struct mx_e2e *x = state;
	const char *sender = json_string_value(json_object_get(event, "sender"));
	int rc = e2e_decrypt_room_event(x->e, room_id, event, out);

	if (rc == HE_OK && mx_verify_room(x->vf, room_id, event, *out)) {
		json_decref(*out);
		*out = NULL; /* a verification (verify.c): not for the core */
	} else if (rc == HE_OK && sender && is_trust_command(x, *out) &&
	    e2e_room_private_with(x->e, room_id, sender)) {
		handle_trust(x, room_id, event, *out);
		json_decref(*out);
		*out = NULL; /* handled here: not for the core */
	}
	if (rc)
		metrics_e2e_undecryptable();
	if (rc == HE_AGAIN)
		x->withheld_look = true; /* it waits for a key its sender may have withheld */
	if (rc && rc != HE_AGAIN)
		hlog_warn(XE_MOD, "could not decrypt %s in %s from %s (%s)",
			  json_string_value(json_object_get(event, "event_id")), room_id,
			  json_string_value(json_object_get(event, "sender")), he_str(rc));
	drain(x);
	return rc;
}

static int x_encrypt(void *state, const char *room_id, const char *type, json_t *content,
		     json_t **out)
{
	struct mx_e2e *x = state;
	json_t *rel, *w;
	int rc;

	*out = NULL;
	if (json_object_get(x->loading, room_id))
		rc = HE_AGAIN; /* the member list first: nobody may miss the session */
	else
		rc = e2e_encrypt_room_event(x->e, room_id, type, content, out);
	drain(x);
	if (rc == HE_AGAIN && !json_object_get(x->waiting, room_id))
		json_object_set_new(x->waiting, room_id, json_integer((json_int_t)hstats_now_us()));
	if (rc == HE_OK && (w = json_object_get(x->waiting, room_id))) {
		/* keys queried, one-time keys claimed, the room key sent to every member device */
		hlog_info(XE_MOD, "room %s: keys ready after %.1f ms of setup", room_id,
			  (double)(hstats_now_us() - (uint64_t)json_integer_value(w)) / 1000.0);
		json_object_del(x->waiting, room_id);
	}
	if (rc == HE_OK && (rel = json_object_get(content, "m.relates_to")))
		json_object_set(*out, "m.relates_to", rel); /* relations stay visible to the server */
	return rc;
}

static void x_private_initial_state(void *state, json_t *initial_state)
{
	json_array_append_new(initial_state, e2e_encryption_state_event());
}

static void x_private_created(void *state, const char *room_id, const char *member)
{
	struct mx_e2e *x = state;
	json_t *ev = e2e_encryption_state_event();

	if (!ev || e2e_room_encryption(x->e, room_id, json_object_get(ev, "content")) ||
	    e2e_room_member_change(x->e, room_id, x->mx->user_id, "join") ||
	    e2e_room_member_change(x->e, room_id, member, "invite"))
		hlog_warn(XE_MOD, "could not record the new private chat %s", room_id);
	json_decref(ev);
	drain(x);
}

static int x_encrypt_attachment(void *state, const void *plain, size_t len, unsigned char **cipher,
				json_t **file)
{
	return e2e_encrypt_attachment(plain, len, cipher, file);
}

const struct mx_crypto_ops mx_e2e_ops = {
	.start = x_start,
	.free = x_free,
	.session_changed = x_session_changed,
	.to_device = x_to_device,
	.device_lists = x_device_lists,
	.key_counts = x_key_counts,
	.encryption = x_encryption,
	.member = x_member,
	.members_stale = x_members_stale,
	.sync_done = x_sync_done,
	.is_encrypted = x_is_encrypted,
	.decrypt = x_decrypt,
	.encrypt = x_encrypt,
	.encrypt_attachment = x_encrypt_attachment,
	.private_chat_initial_state = x_private_initial_state,
	.private_chat_created = x_private_created,
};
