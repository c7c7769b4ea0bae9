/* e2e_router.c - the in-process homeserver of e2e_router.h. */
#include "e2e_router.h"
#include "testapp.h"

unsigned char *hs_test_key(void)
{
	static unsigned char key[E2E_PICKLE_KEY_LEN] = { 7, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	return key;
}

struct hs *hs_new(void)
{
	struct hs *h = calloc(1, sizeof(*h));
	if (!h)
		abort();
	h->devices = json_object();
	h->otks = json_object();
	h->fallbacks = json_object();
	h->xsign = json_object();
	h->todev = json_object();
	h->withheld = json_object();
	return h;
}

json_t *hs_sub(json_t *o, const char *a, const char *b)
{
	json_t *x = json_object_get(o, a), *y;
	if (!x)
		json_object_set_new(o, a, x = json_object());
	if (!b)
		return x;
	if (!(y = json_object_get(x, b)))
		json_object_set_new(x, b, y = json_object());
	return y;
}

struct cl *hs_client(struct hs *h, const char *user, const char *dev)
{
	for (int i = 0; i < h->ncl; i++)
		if (h->cl[i] && strcmp(h->cl[i]->user, user) == 0 && strcmp(h->cl[i]->dev, dev) == 0)
			return h->cl[i];
	return NULL;
}

void hs_changed(struct hs *h, const char *user)
{
	for (int i = 0; i < h->ncl; i++)
		if (h->cl[i])
			json_array_append_new(h->cl[i]->changed, json_string(user));
}

/* Opens (or re-opens) a client; path NULL = in-memory store. */
int cl_open(struct cl *c)
{
	int rc = ta_store_open(c->path[0] ? c->path : ":memory:", &c->st);
	if (rc)
		return rc;
	return e2e_new(c->st, c->user, c->dev, hs_test_key(), &c->e);
}

struct cl *hs_add(struct hs *h, const char *user, const char *dev, const char *path)
{
	struct cl *c = calloc(1, sizeof(*c));
	if (!c || h->ncl >= HS_MAX_CLIENTS)
		abort();
	c->hs = h;
	snprintf(c->user, sizeof(c->user), "%s", user);
	snprintf(c->dev, sizeof(c->dev), "%s", dev);
	if (path)
		snprintf(c->path, sizeof(c->path), "%s", path);
	c->inbox = json_array();
	c->changed = json_array();
	if (cl_open(c)) {
		fprintf(stderr, "cannot open client %s %s\n", user, dev);
		abort();
	}
	h->cl[h->ncl++] = c;
	return c;
}

/* Frees the client's e2e and store, as a crash or a stop would; the server keeps its data. */
void cl_close(struct cl *c)
{
	e2e_free(c->e);
	store_free(c->st);
	c->e = NULL;
	c->st = NULL;
}

void hs_free(struct hs *h)
{
	if (!h)
		return;
	for (int i = 0; i < h->ncl; i++) {
		if (!h->cl[i])
			continue;
		cl_close(h->cl[i]);
		json_decref(h->cl[i]->inbox);
		json_decref(h->cl[i]->changed);
		if (h->cl[i]->path[0])
			unlink(h->cl[i]->path);
		free(h->cl[i]);
	}
	json_decref(h->devices);
	json_decref(h->otks);
	json_decref(h->fallbacks);
	json_decref(h->xsign);
	json_decref(h->sigs);
	json_decref(h->todev);
	json_decref(h->withheld);
	free(h);
}

static json_t *hs_upload(struct hs *h, struct cl *c, json_t *body, int *status)
{
	json_t *dk = json_object_get(body, "device_keys"), *mine = hs_sub(h->otks, c->user, c->dev);
	const char *id;
	json_t *k;

	json_object_foreach(json_object_get(body, "one_time_keys"), id, k) {
		json_t *old = json_object_get(mine, id);
		if (old && !json_equal(old, k)) {
			h->conflicts++;
			*status = 400;
			return json_pack("{s:s, s:s}", "errcode", "M_INVALID_PARAM", "error",
					 "One time key already exists");
		}
	}
	json_object_foreach(json_object_get(body, "one_time_keys"), id, k)
		json_object_set(mine, id, k);
	if (json_object_size(json_object_get(body, "fallback_keys")))
		json_object_set(hs_sub(h->fallbacks, c->user, NULL), c->dev,
				json_object_get(body, "fallback_keys"));
	if (dk) {
		json_t *copy = json_deep_copy(dk);
		if (strcmp(h->tamper_dev, c->dev) == 0) {
			/* flip a character of the signature */
			json_t *sigs = json_object_get(json_object_get(copy, "signatures"), c->user);
			const char *kid;
			json_t *s;
			json_object_foreach(sigs, kid, s) {
				char *t = strdup(json_string_value(s));
				t[3] = t[3] == 'A' ? 'B' : 'A';
				json_object_set_new(sigs, kid, json_string(t));
				free(t);
			}
		}
		json_object_set_new(hs_sub(h->devices, c->user, NULL), c->dev, copy);
		hs_changed(h, c->user);
	}
	*status = 200;
	return json_pack("{s:{s:i}}", "one_time_key_counts", "signed_curve25519",
			 (int)json_object_size(mine));
}

static json_t *hs_claim(struct hs *h, json_t *body)
{
	json_t *res = json_object(), *devs, *v;
	const char *u, *d;

	json_object_foreach(json_object_get(body, "one_time_keys"), u, devs) {
		json_object_foreach(devs, d, v) {
			json_t *mine = json_object_get(json_object_get(h->otks, u), d);
			json_t *fb = json_object_get(json_object_get(h->fallbacks, u), d);
			void *it = mine ? json_object_iter(mine) : NULL;
			if (it) {
				char *kid = strdup(json_object_iter_key(it));
				json_object_set(hs_sub(res, u, d), kid, json_object_iter_value(it));
				json_object_del(mine, kid);
				free(kid);
			} else if (fb && json_object_size(fb)) {
				json_object_update(hs_sub(res, u, d), fb);
			}
		}
	}
	return json_pack("{s:o, s:{}}", "one_time_keys", res, "failures");
}

static void hs_deliver(struct hs *h, struct cl *from, const char *path, json_t *body)
{
	char type[128];
	const char *u, *d;
	json_t *devs, *content;

	sscanf(path, "/sendToDevice/%127[^/]/", type);
	json_object_foreach(json_object_get(body, "messages"), u, devs) {
		json_object_foreach(devs, d, content) {
			char key[160];
			snprintf(key, sizeof(key), "%s %s", u, d);
			if (strcmp(type, "m.room_key.withheld") == 0) /* tells, carries no key */
				json_object_set_new(h->withheld, key, json_pack("{s:O, s:i}", "code",
					json_object_get(content, "code"), "n", 1 + json_integer_value(
					json_object_get(json_object_get(h->withheld, key), "n"))));
			else
				json_object_set_new(h->todev, key, json_integer(
					json_integer_value(json_object_get(h->todev, key)) + 1));
			for (int i = 0; i < h->ncl; i++) {
				struct cl *t = h->cl[i];
				if (!t || strcmp(t->user, u) != 0 || (strcmp(d, "*") != 0 && strcmp(t->dev, d) != 0))
					continue;
				json_array_append_new(t->inbox, json_pack("{s:s, s:s, s:O}", "type", type,
									  "sender", from->user, "content",
									  content));
			}
		}
	}
}

json_t *hs_answer(struct hs *h, struct cl *c, const struct e2e_request *r,
				int *status)
{
	*status = 200;
	h->requests++;
	if (strcmp(r->path, "/keys/upload") == 0)
		return hs_upload(h, c, r->body, status);
	if (strcmp(r->path, "/keys/query") == 0) {
		json_t *res = json_object();
		const char *u;
		json_t *v;
		json_t *mk = json_object(), *ssk = json_object();
		json_object_foreach(json_object_get(r->body, "device_keys"), u, v) {
			json_t *devs = json_object_get(h->devices, u), *xs = json_object_get(h->xsign, u);
			json_object_set_new(res, u, devs ? json_deep_copy(devs) : json_object());
			if (xs) {
				json_object_set_new(mk, u, json_deep_copy(json_object_get(xs, "master_key")));
				json_object_set_new(ssk, u, json_deep_copy(json_object_get(xs,
								"self_signing_key")));
			}
		}
		return json_pack("{s:o, s:{}, s:o, s:o}", "device_keys", res, "failures",
				 "master_keys", mk, "self_signing_keys", ssk);
	}
	if (strcmp(r->path, "/keys/claim") == 0) {
		h->claims++;
		return hs_claim(h, r->body);
	}
	if (strncmp(r->path, "/sendToDevice/", 14) == 0) {
		hs_deliver(h, c, r->path, r->body);
		return json_object();
	}
	if (strcmp(r->path, "/keys/device_signing/upload") == 0) {
		if (!json_object_get(r->body, "auth")) {
			*status = 401;
			return json_pack("{s:s, s:[{s:[s]}]}", "session", "uia-1", "flows", "stages",
					 "m.login.password");
		}
		h->uia_done = true;
		json_object_set_new(h->xsign, c->user, json_deep_copy(r->body));
		hs_changed(h, c->user);
		return json_object();
	}
	if (strcmp(r->path, "/keys/signatures/upload") == 0) {
		const char *u, *k;
		json_t *objs, *o;
		json_decref(h->sigs);
		h->sigs = json_deep_copy(r->body);
		/* the signatures join the signed keys, as the server publishes them */
		json_object_foreach(r->body, u, objs) {
			json_object_foreach(objs, k, o) {
				json_t *target = json_object_get(json_object_get(h->devices, u), k);
				json_t *mk = json_object_get(json_object_get(h->xsign, u), "master_key");
				char kid[120];
				snprintf(kid, sizeof(kid), "ed25519:%s", k);
				if (!target && json_object_get(json_object_get(mk, "keys"), kid))
					target = mk;
				if (!target)
					continue;
				json_object_update(hs_sub(hs_sub(target, "signatures", NULL), u, NULL),
						   json_object_get(json_object_get(o, "signatures"), u));
			}
			hs_changed(h, u);
		}
		return json_pack("{s:{}}", "failures");
	}
	*status = 404;
	return json_pack("{s:s}", "errcode", "M_UNRECOGNIZED");
}

/* Answers requests already handed out by e2e_outgoing() (as the transport would, including
 * the UIA retry). */
void hs_reply(struct hs *h, struct cl *c, const struct e2e_request **out, size_t k)
{
	for (size_t j = 0; j < k; j++) {
		int status;
		unsigned long id = out[j]->id;
		json_t *resp = hs_answer(h, c, out[j], &status);
		if (status == 401 && json_object_get(resp, "session")) {
			json_object_set_new(out[j]->body, "auth", json_pack(
				"{s:s, s:{s:s, s:s}, s:s, s:s}", "type", "m.login.password",
				"identifier", "type", "m.id.user", "user", c->user, "password",
				"secret", "session", json_string_value(json_object_get(resp, "session"))));
			json_decref(resp);
			resp = hs_answer(h, c, out[j], &status);
		}
		e2e_request_done(c->e, id, status, resp);
		json_decref(resp);
	}
}

/* Answers every outgoing request of every client until none is left; returns how many. */
int hs_flush(struct hs *h)
{
	int total = 0, n;

	do {
		n = 0;
		for (int i = 0; i < h->ncl; i++) {
			struct cl *c = h->cl[i];
			const struct e2e_request *out[64];
			size_t k;
			if (!c || !c->e || c->offline)
				continue;
			k = e2e_outgoing(c->e, out, 64);
			hs_reply(h, c, out, k);
			n += (int)k;
		}
		total += n;
	} while (n > 0);
	return total;
}

/* One /sync for c: its to-device inbox, device list changes, key counts. */
int cl_sync(struct cl *c)
{
	struct hs *h = c->hs;
	json_t *todev = c->inbox, *lists, *counts, *fb;
	json_t *mine = json_object_get(json_object_get(h->otks, c->user), c->dev);
	json_t *fbk = json_object_get(json_object_get(h->fallbacks, c->user), c->dev);
	int rc;

	c->inbox = json_array();
	lists = json_pack("{s:o, s:[]}", "changed", c->changed, "left");
	c->changed = json_array();
	counts = json_pack("{s:i}", "signed_curve25519", (int)json_object_size(mine));
	fb = fbk && json_object_size(fbk) ? json_pack("[s]", "signed_curve25519") : json_array();
	rc = e2e_receive_sync_changes(c->e, todev, lists, counts, fb);
	json_decref(todev);
	json_decref(lists);
	json_decref(counts);
	json_decref(fb);
	return rc;
}

/* Requests and syncs for everyone until nothing moves. */
void hs_run(struct hs *h)
{
	for (int round = 0; round < 20; round++) {
		int moved = hs_flush(h);
		for (int i = 0; i < h->ncl; i++) {
			if (!h->cl[i] || !h->cl[i]->e)
				continue;
			if (json_array_size(h->cl[i]->inbox) || json_array_size(h->cl[i]->changed))
				moved++;
			cl_sync(h->cl[i]);
		}
		if (!moved)
			break;
	}
}

/* Encrypts like the transport: on HE_AGAIN answer the requests (no sync) and try again. */
int cl_encrypt(struct cl *c, const char *room, const char *text, json_t **out)
{
	json_t *content = json_pack("{s:s, s:s}", "msgtype", "m.notice", "body", text);
	int rc = HE_AGAIN;

	for (int i = 0; i < 20 && rc == HE_AGAIN; i++) {
		rc = e2e_encrypt_room_event(c->e, room, "m.room.message", content, out);
		if (rc == HE_AGAIN)
			hs_flush(c->hs);
	}
	if (rc)
		fprintf(stderr, "cl_encrypt %s %s: %d\n", c->user, room, rc);
	json_decref(content);
	return rc;
}

const char *hs_withheld(struct hs *h, const char *user, const char *dev, int *n)
{
	char key[160];
	json_t *w;
	snprintf(key, sizeof(key), "%s %s", user, dev);
	w = json_object_get(h->withheld, key);
	if (n)
		*n = (int)json_integer_value(json_object_get(w, "n"));
	return json_string_value(json_object_get(w, "code"));
}

int hs_todev_count(struct hs *h, const char *user, const char *dev)
{
	char key[160];
	snprintf(key, sizeof(key), "%s %s", user, dev);
	return (int)json_integer_value(json_object_get(h->todev, key));
}

int hs_join(struct cl **clients, int n, const char *room, json_t *conf, const char **extra,
	    int nextra)
{
	json_t *def = json_pack("{s:s}", "algorithm", "m.megolm.v1.aes-sha2");
	int rc = def ? HE_OK : HE_NOMEM;

	for (int i = 0; i < n && rc == HE_OK; i++) {
		rc = e2e_room_encryption(clients[i]->e, room, conf ? conf : def);
		for (int j = 0; j < n && rc == HE_OK; j++)
			rc = e2e_room_member_change(clients[i]->e, room, clients[j]->user, "join");
		for (int j = 0; j < nextra && rc == HE_OK; j++)
			rc = e2e_room_member_change(clients[i]->e, room, extra[j], "join");
	}
	json_decref(def);
	return rc;
}

int cl_decrypt(struct cl *c, const char *room, json_t *ev, char *body, size_t len,
	       json_t **plain_out)
{
	json_t *plain = NULL;
	int rc = e2e_decrypt_room_event(c->e, room, ev, &plain);

	if (body && len)
		body[0] = '\0';
	if (rc == HE_OK) {
		const char *b = json_string_value(json_object_get(json_object_get(plain, "content"),
								  "body"));
		if (!b)
			rc = HE_PROTO;
		else if (body && len)
			snprintf(body, len, "%s", b);
	}
	if (plain_out)
		*plain_out = plain;
	else
		json_decref(plain);
	return rc;
}

/* Wraps encrypted content as the room event the homeserver would deliver. */
json_t *hs_event(struct cl *from, json_t *content, const char *event_id)
{
	return json_pack("{s:s, s:s, s:s, s:O, s:i}", "type", "m.room.encrypted", "event_id",
			 event_id, "sender", from->user, "content", content, "origin_server_ts", 1);
}
