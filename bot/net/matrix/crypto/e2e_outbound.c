/* e2e_outbound.c - outbound Megolm: one session per encrypted room, rotated by age, message
 * count, a member leaving or a device going away; its key shared over Olm with every current
 * member device (signature-checked) before the first message that uses it.
 *
 * A session in use stays in memory (up to OGS_CACHED rooms), so a message does not read,
 * unpickle, pickle and write it again. No message index is ever used twice: the store holds
 * the session with a reservation (column msgs: every index below it may have been used),
 * written before the first index of each run of OGS_RESERVE is used; a session read from the
 * store (a restart, another Hearth taking over, a session evicted from memory) is first
 * advanced to its reservation. Extending a reservation is an update on the exact row this
 * process read or wrote (same session, same reservation, not marked for rotation): when
 * another process has written it since, the memory copy is dropped and the store's taken. */
#include "net/matrix/crypto/e2e_int.h"
#include "core/err.h"
#include "core/log.h"
#include "store/lease.h"
#include "store/store.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define OGS_RESERVE 32   /* message indexes reserved in the store ahead of their use */
#define OGS_CACHED 64    /* rooms whose outbound session is kept in memory */
#define OGS_ADVANCE_MAX 4096 /* a longer way to a reservation: a new session instead */

struct ogs {
	OlmOutboundGroupSession *s;
	char *session_id;
	int64_t created_ms;
	int64_t msgs;              /* the next message's index */
	int64_t reserved;          /* the store's reservation: indexes below it are ours */
	bool rotate;
	/* At e->wgen settled_gen the room's rotation settings were rot_*, its members' device
	 * lists were current and every device allowed had the key (or was told it is withheld):
	 * while no crypto table changed, a message needs none of those reads again. */
	bool settled;
	uint64_t settled_gen;
	int64_t rot_ms, rot_msgs;
};

struct e2e_ogs_cache {
	struct ogs_entry {
		char *room_id;     /* NULL: a free slot */
		struct ogs o;
		uint64_t used;
	} v[OGS_CACHED];
	uint64_t tick;
};

static void ogs_clear(struct ogs *o)
{
	if (o->s) {
		olm_clear_outbound_group_session(o->s);
		free(o->s);
	}
	free(o->session_id);
	memset(o, 0, sizeof(*o));
}

static OlmOutboundGroupSession *ogs_alloc(void)
{
	void *mem = malloc(olm_outbound_group_session_size());

	return mem ? olm_outbound_group_session(mem) : NULL;
}

/* The session pickled with the store key: *out (NUL-terminated, len bytes) for the caller to
 * wipe (sodium_memzero) and free. */
static int ogs_pickle(struct e2e *e, struct ogs *o, char **out, size_t *len)
{
	char *p;

	*len = olm_pickle_outbound_group_session_length(o->s);
	if (!(p = malloc(*len + 1)))
		return HE_NOMEM;
	if (olm_pickle_outbound_group_session(o->s, e->olm_key, sizeof(e->olm_key), p, *len) ==
	    olm_error()) {
		free(p);
		return HE_CRYPTO;
	}
	p[*len] = '\0';
	*out = p;
	return HE_OK;
}

static int ogs_save(struct e2e *e, const char *room_id, struct ogs *o)
{
	size_t len;
	char *p;
	int rc;

	if ((rc = ogs_pickle(e, o, &p, &len)))
		return rc;
	rc = e2e_sql(e, "INSERT INTO e2e_outbound (room_id, session_id, pickle, created_ms, msgs,"
		     " rotate) VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT (room_id) DO UPDATE SET"
		     " session_id = excluded.session_id, pickle = excluded.pickle,"
		     " created_ms = excluded.created_ms, msgs = excluded.msgs, rotate = 0",
		     "sssii", room_id, o->session_id, p, o->created_ms, o->reserved);
	sodium_memzero(p, len);
	free(p);
	return rc;
}

/* The next OGS_RESERVE indexes, in the store before the first is used: the row this process
 * knows (same session and reservation, not marked for rotation), or HE_AGAIN. Fenced like every
 * Olm/Megolm write (store/lease.h). */
static int ogs_reserve(struct e2e *e, const char *room_id, struct ogs *o)
{
	int64_t want = o->msgs + OGS_RESERVE, changed = 0;
	size_t len;
	char *p;
	bool own;
	int rc;

	if ((rc = ogs_pickle(e, o, &p, &len)))
		return rc;
	if ((rc = lease_open(e->st, "matrix", &own)) == HE_OK) {
		rc = db_runf(store_sql(e->st), &changed, "UPDATE e2e_outbound SET pickle = ?, msgs = ?"
			     " WHERE room_id = ? AND session_id = ? AND msgs = ? AND rotate = 0", "sissi",
			     p, want, room_id, o->session_id, o->reserved);
		rc = lease_end(e->st, own, rc);
	}
	sodium_memzero(p, len);
	free(p);
	if (rc == HE_OK && changed != 1) {
		hlog_info(E2E_MOD, "the outbound session of %s changed in the store: reading it again",
			  room_id);
		return HE_AGAIN;
	}
	if (rc == HE_OK)
		o->reserved = want;
	return rc;
}

/* A session read from the store: its ratchet moved on to the reservation (indexes below it may
 * have been used by the process that wrote it). */
static int ogs_advance(struct ogs *o)
{
	uint32_t idx = olm_outbound_group_session_message_index(o->s);
	/* the length grows with the index (a varint): room for the largest one */
	size_t mlen = olm_group_encrypt_message_length(o->s, 0) + 16;
	uint8_t *msg;

	if (o->reserved <= (int64_t)idx) { /* a row from before reservations: msgs was the index */
		o->msgs = idx;
		return HE_OK;
	}
	if (o->reserved - (int64_t)idx > OGS_ADVANCE_MAX) {
		o->rotate = true;
		return HE_OK;
	}
	if (!(msg = malloc(mlen)))
		return HE_NOMEM;
	for (int64_t i = idx; i < o->reserved; i++)
		if (olm_group_encrypt(o->s, (const uint8_t *)"", 0, msg, mlen) == olm_error()) {
			free(msg);
			return HE_CRYPTO;
		}
	free(msg);
	o->msgs = o->reserved;
	return HE_OK;
}

static int ogs_load(struct e2e *e, const char *room_id, struct ogs *o)
{
	struct db_stmt *st = e2e_stmt(e, "SELECT session_id, pickle, created_ms, msgs, rotate FROM"
				    " e2e_outbound WHERE room_id = ?", "s", room_id);
	char *pickle = NULL;
	int rc = HE_NOTFOUND;

	memset(o, 0, sizeof(*o));
	if (!st)
		return HE_DB;
	if (db_step(st) == DB_ROW) {
		o->session_id = e2e_col_str(st, 0);
		pickle = e2e_col_str(st, 1);
		o->created_ms = db_col_int64(st, 2);
		o->reserved = db_col_int64(st, 3);
		o->rotate = db_col_int(st, 4) != 0;
		rc = HE_OK;
	}
	db_reset(st);
	if (rc)
		return rc;
	rc = HE_NOMEM;
	if (!o->session_id || !pickle || !(o->s = ogs_alloc()))
		goto out;
	rc = HE_CRYPTO;
	if (olm_unpickle_outbound_group_session(o->s, e->olm_key, sizeof(e->olm_key), pickle,
						strlen(pickle)) == olm_error())
		goto out;
	rc = ogs_advance(o);
out:
	free(pickle);
	if (rc)
		ogs_clear(o);
	return rc;
}

static char *ogs_key(struct ogs *o)
{
	size_t len = olm_outbound_group_session_key_length(o->s);
	char *k = malloc(len + 1);

	if (!k)
		return NULL;
	if (olm_outbound_group_session_key(o->s, (uint8_t *)k, len) == olm_error()) {
		free(k);
		return NULL;
	}
	k[len] = '\0';
	return k;
}

/* A new session for the room; our own inbound copy lets us read our messages. */
static int ogs_create(struct e2e *e, const char *room_id, struct ogs *o)
{
	size_t rlen, idlen;
	void *rnd = NULL;
	char *key = NULL;
	int rc = HE_NOMEM;

	memset(o, 0, sizeof(*o));
	if (!(o->s = ogs_alloc()))
		goto out;
	rlen = olm_init_outbound_group_session_random_length(o->s);
	if (!(rnd = malloc(rlen ? rlen : 1)))
		goto out;
	e2e_random(rnd, rlen);
	rc = HE_CRYPTO;
	if (olm_init_outbound_group_session(o->s, rnd, rlen) == olm_error())
		goto out;
	idlen = olm_outbound_group_session_id_length(o->s);
	rc = HE_NOMEM;
	if (!(o->session_id = malloc(idlen + 1)))
		goto out;
	rc = HE_CRYPTO;
	if (olm_outbound_group_session_id(o->s, (uint8_t *)o->session_id, idlen) == olm_error())
		goto out;
	o->session_id[idlen] = '\0';
	o->created_ms = (int64_t)e->now_ms();
	o->msgs = 0;
	o->reserved = OGS_RESERVE;
	if (!(key = ogs_key(o)))
		goto out;
	if ((rc = e2e_begin(e)))
		goto out;
	rc = e2e_inbound_add(e, room_id, e->user_id, e->curve, e->ed, key, false);
	if (rc == HE_OK)
		rc = ogs_save(e, room_id, o);
	if (rc == HE_OK)
		rc = e2e_sql(e, "DELETE FROM e2e_shared WHERE room_id = ? AND session_id != ?", "ss",
			     room_id, o->session_id);
	if (rc == HE_OK) /* who was told of a session no longer shared: not needed any more */
		rc = e2e_sql(e, "DELETE FROM e2e_withheld_out WHERE room_id = ? AND session_id != ?",
			     "ss", room_id, o->session_id);
	rc = e2e_commit(e, rc);
	if (rc == HE_OK)
		hlog_debug(E2E_MOD, "new outbound session for %s", room_id);
out:
	free(rnd);
	if (key) {
		sodium_memzero(key, strlen(key));
		free(key);
	}
	if (rc)
		ogs_clear(o);
	return rc;
}

/* Sends the session key to member devices that do not have it yet. HE_OK when every reachable
 * device has it, HE_AGAIN when requests are queued or in flight. */
static int share(struct e2e *e, const char *room_id, struct ogs *o, bool *settled)
{
	struct db_stmt *st;
	json_t *msgs = NULL, *done = NULL, *rk = NULL, *targets = NULL, *t, *withheld = NULL;
	char *key = NULL;
	bool claim = false;
	size_t i;
	bool later = false; /* a device left out until a time passes: not settled */
	int rc = HE_OK, withheld_rc = HE_OK, r0;

	*settled = false;
	st = e2e_stmt(e, "SELECT 1 FROM e2e_shared WHERE room_id = ? AND session_id = ? AND sent = 0"
		      " LIMIT 1", "ss", room_id, o->session_id);
	if (!st)
		return HE_DB;
	rc = db_step(st) == DB_ROW ? HE_AGAIN : HE_OK;
	db_reset(st);
	if (rc)
		return rc; /* a share is in flight */
	st = e2e_stmt(e, "SELECT d.user_id, d.device_id, d.curve25519, d.ed25519, d.no_otk_ms,"
		      " d.xsigned, (SELECT COUNT(*) FROM e2e_member m2 WHERE m2.room_id = m.room_id"
		      " AND m2.user_id != ?) = 1 AND d.user_id != ?,"
		      " EXISTS (SELECT 1 FROM e2e_identity x WHERE x.user_id = d.user_id AND"
		      " (x.master IS NOT NULL OR x.pending IS NOT NULL)),"
		      " (SELECT COUNT(*) FROM e2e_device d2 WHERE d2.curve25519 = d.curve25519 AND"
		      " d2.deleted = 0) + CASE WHEN d.curve25519 = ? THEN 1 ELSE 0 END,"
		      " EXISTS (SELECT 1 FROM e2e_curve_proof p WHERE p.curve25519 = d.curve25519 AND"
		      " p.user_id = d.user_id AND p.ed25519 = d.ed25519)"
		      " FROM e2e_member m JOIN e2e_device d ON d.user_id = m.user_id"
		      " WHERE m.room_id = ? AND d.deleted = 0 AND NOT EXISTS (SELECT 1 FROM e2e_shared s"
		      " WHERE s.room_id = m.room_id AND s.session_id = ? AND s.user_id = d.user_id"
		      " AND s.device_id = d.device_id)", "sssss", e->user_id, e->user_id, e->curve,
		      room_id, o->session_id);
	if (!st)
		return HE_DB;
	targets = json_array();
	while (targets && db_step(st) == DB_ROW) {
		if (!e2e_trust_may_share(db_col_int(st, 6) != 0, db_col_int(st, 7) != 0,
					 db_col_int(st, 5) != 0, db_col_int(st, 8),
					 db_col_int(st, 9) != 0)) {
			/* not vouched for: it gets no key, and is told so (once per session) */
			bool claimed = db_col_int(st, 8) > 1 && !db_col_int(st, 9);
			withheld_rc = e2e_withhold(e, &withheld, room_id, o->session_id,
						   db_col_text(st, 0), db_col_text(st, 1),
						   claimed ? "m.blacklisted" : "m.unverified",
						   claimed ? "This device's identity key is claimed by"
							     " another device."
							   : "This device is not verified by its owner's"
							     " cross-signing key.");
			continue;
		}
		json_array_append_new(targets, json_pack("[s,s,s,s,I]",
			db_col_text(st, 0), db_col_text(st, 1),
			db_col_text(st, 2), db_col_text(st, 3),
			(json_int_t)db_col_int64(st, 4)));
	}
	db_reset(st);
	/* members' devices listed with a bad signature: no key, and told so */
	st = e2e_stmt(e, "SELECT b.user_id, b.device_id FROM e2e_member m JOIN e2e_bad_device b"
		      " ON b.user_id = m.user_id WHERE m.room_id = ? AND NOT EXISTS (SELECT 1 FROM"
		      " e2e_device d WHERE d.user_id = b.user_id AND d.device_id = b.device_id AND"
		      " d.deleted = 0)", "s", room_id);
	if (!st) {
		json_decref(targets);
		json_decref(withheld);
		return HE_DB;
	}
	{
		json_t *bad = json_array(), *v;
		while (bad && db_step(st) == DB_ROW)
			json_array_append_new(bad, json_pack("[s,s]", db_col_text(st, 0),
							      db_col_text(st, 1)));
		db_reset(st);
		if (!bad && !withheld_rc)
			withheld_rc = HE_NOMEM;
		json_array_foreach(bad, i, v) {
			int r = e2e_withhold(e, &withheld, room_id, o->session_id,
					     json_string_value(json_array_get(v, 0)),
					     json_string_value(json_array_get(v, 1)), "m.unverified",
					     "This device's keys do not carry a valid signature.");
			if (r && !withheld_rc)
				withheld_rc = r;
		}
		json_decref(bad);
	}
	if ((r0 = e2e_withhold_send(e, withheld)) && !withheld_rc)
		withheld_rc = r0;
	if (withheld_rc)
		hlog_warn(E2E_MOD, "could not tell refused devices in %s (%s)", room_id,
			  he_str(withheld_rc));
	if (!targets)
		return HE_NOMEM;
	if (json_array_size(targets) == 0) {
		*settled = withheld_rc == HE_OK;
		goto out;
	}
	rc = HE_NOMEM;
	if (!(key = ogs_key(o)) || !(msgs = json_object()) || !(done = json_array()))
		goto out;
	rk = json_pack("{s:s, s:s, s:s, s:s}", "algorithm", ALG_MEGOLM, "room_id", room_id,
		       "session_id", o->session_id, "session_key", key);
	if (!rk)
		goto out;
	rc = HE_OK;
	json_array_foreach(targets, i, t) {
		const char *u = json_string_value(json_array_get(t, 0));
		const char *d = json_string_value(json_array_get(t, 1));
		const char *curve = json_string_value(json_array_get(t, 2));
		const char *ed = json_string_value(json_array_get(t, 3));
		int64_t no_otk = json_integer_value(json_array_get(t, 4));
		json_t *enc = NULL, *per;
		int r;

		if (!e2e_olm_has_session(e, curve)) {
			if (no_otk && e->now_ms() - (uint64_t)no_otk < E2E_NO_OTK_RETRY_MS) {
				later = true;
				continue; /* unreachable for now; logged when the claim failed */
			}
			if ((rc = e2e_olm_need(e, u, d, 0)))
				goto out;
			claim = true;
			continue;
		}
		r = e2e_olm_encrypt(e, u, d, curve, ed, "m.room_key", rk, &enc);
		if (r) {
			hlog_warn(E2E_MOD, "cannot encrypt the room key for %s %s: %s", u, d, he_str(r));
			continue;
		}
		if (!(per = json_object_get(msgs, u)))
			json_object_set_new(msgs, u, per = json_object());
		json_object_set_new(per, d, enc);
		json_array_append_new(done, json_pack("[s,s]", u, d));
		if ((rc = e2e_sql(e, "INSERT INTO e2e_shared (room_id, session_id, user_id, device_id,"
				  " sent) VALUES (?, ?, ?, ?, 0) ON CONFLICT DO NOTHING", "ssss", room_id,
				  o->session_id, u, d)))
			goto out;
	}
	if (json_array_size(done) > 0) {
		json_t *ctx = json_pack("{s:s, s:s, s:O}", "room_id", room_id, "session_id",
					o->session_id, "devices", done);
		rc = e2e_send_to_device(e, REQ_TODEVICE_KEY, "m.room.encrypted", msgs, ctx);
		msgs = NULL;
		if (rc)
			goto out;
	}
	if (claim)
		e2e_pump(e);
	rc = claim || json_array_size(done) > 0 ? HE_AGAIN : HE_OK;
	*settled = rc == HE_OK && !later && withheld_rc == HE_OK;
out:
	if (key) {
		sodium_memzero(key, strlen(key));
		free(key);
	}
	json_decref(rk);
	json_decref(msgs);
	json_decref(done);
	json_decref(targets);
	return rc;
}

int e2e_share_done(struct e2e *e, json_t *ctx, int status)
{
	const char *room = e2e_jstr(ctx, "room_id"), *sid = e2e_jstr(ctx, "session_id");
	json_t *d;
	size_t i;
	int rc = HE_OK;

	json_array_foreach(json_object_get(ctx, "devices"), i, d) {
		const char *u = json_string_value(json_array_get(d, 0));
		const char *dev = json_string_value(json_array_get(d, 1));
		rc = status == 200
			? e2e_sql(e, "UPDATE e2e_shared SET sent = 1 WHERE room_id = ? AND session_id = ?"
				  " AND user_id = ? AND device_id = ?", "ssss", room, sid, u, dev)
			: e2e_sql(e, "DELETE FROM e2e_shared WHERE room_id = ? AND session_id = ? AND"
				  " user_id = ? AND device_id = ? AND sent = 0", "ssss", room, sid, u, dev);
		if (rc)
			break;
	}
	return rc;
}

/* ---- the sessions kept in memory ---- */

static void entry_drop(struct ogs_entry *en)
{
	if (!en)
		return;
	ogs_clear(&en->o);
	free(en->room_id);
	en->room_id = NULL;
}

static struct ogs_entry *cache_find(struct e2e *e, const char *room_id)
{
	if (!e->ogs)
		return NULL;
	for (size_t i = 0; i < OGS_CACHED; i++)
		if (e->ogs->v[i].room_id && strcmp(e->ogs->v[i].room_id, room_id) == 0) {
			e->ogs->v[i].used = ++e->ogs->tick;
			return &e->ogs->v[i];
		}
	return NULL;
}

/* A slot for room_id: a free one, or the least recently used (its session stays in the store). */
static struct ogs_entry *cache_slot(struct e2e *e, const char *room_id)
{
	struct ogs_entry *en = NULL;

	if (!e->ogs && !(e->ogs = calloc(1, sizeof(*e->ogs))))
		return NULL;
	for (size_t i = 0; i < OGS_CACHED; i++) {
		struct ogs_entry *c = &e->ogs->v[i];
		if (!c->room_id) {
			en = c;
			break;
		}
		if (!en || c->used < en->used)
			en = c;
	}
	entry_drop(en);
	if (!(en->room_id = strdup(room_id)))
		return NULL;
	en->used = ++e->ogs->tick;
	return en;
}

void e2e_ogs_forget(struct e2e *e, const char *room_id)
{
	if (!e || !e->ogs)
		return;
	for (size_t i = 0; i < OGS_CACHED; i++)
		if (e->ogs->v[i].room_id && (!room_id || strcmp(e->ogs->v[i].room_id, room_id) == 0))
			entry_drop(&e->ogs->v[i]);
}

void e2e_ogs_free(struct e2e *e)
{
	e2e_ogs_forget(e, NULL);
	free(e->ogs);
	e->ogs = NULL;
}

int e2e_outbound_next_index(struct e2e *e, const char *room_id, uint32_t *index)
{
	struct ogs_entry *en = cache_find(e, room_id);
	struct ogs o;
	int rc;

	if (en) {
		*index = olm_outbound_group_session_message_index(en->o.s);
		return HE_OK;
	}
	if ((rc = ogs_load(e, room_id, &o)) == HE_OK)
		*index = olm_outbound_group_session_message_index(o.s);
	ogs_clear(&o);
	return rc;
}

int e2e_encrypt_room_event(struct e2e *e, const char *room_id, const char *type, json_t *content,
			   json_t **encrypted)
{
	struct db_stmt *st;
	struct ogs_entry *en = NULL;
	struct ogs *o;
	int64_t rot_ms = 0, rot_msgs = 0;
	json_t *payload = NULL;
	char *plain = NULL, *msg = NULL;
	size_t plen, mlen;
	int rc;

	*encrypted = NULL;
	if (!room_id || !type || !json_is_object(content))
		return HE_INVAL;
	rc = HE_OK;
	if ((en = cache_find(e, room_id)) && en->o.settled && en->o.settled_gen == e->wgen) {
		rot_ms = en->o.rot_ms; /* nothing in the crypto store changed since */
		rot_msgs = en->o.rot_msgs;
		goto known;
	}
	st = e2e_stmt(e, "SELECT rotation_ms, rotation_msgs FROM e2e_room WHERE room_id = ?", "s",
		      room_id);
	if (!st)
		return HE_DB;
	rc = HE_NOTFOUND;
	if (db_step(st) == DB_ROW) {
		rot_ms = db_col_int64(st, 0);
		rot_msgs = db_col_int64(st, 1);
		rc = HE_OK;
	}
	db_reset(st);
	if (rc)
		return rc;
	/* Device lists of the members first: a stale list could leave someone out. */
	if (e2e_room_members_dirty(e, room_id)) {
		e2e_pump(e);
		return HE_AGAIN;
	}
known:
	if (!en) {
		if (!(en = cache_slot(e, room_id))) {
			rc = HE_NOMEM;
			goto out;
		}
		rc = ogs_load(e, room_id, &en->o);
	}
	o = &en->o;
	if (rc == HE_OK && (o->rotate || o->msgs >= rot_msgs ||
			    (int64_t)e->now_ms() - o->created_ms >= rot_ms)) {
		hlog_debug(E2E_MOD, "rotating the outbound session of %s", room_id);
		ogs_clear(o);
		rc = HE_NOTFOUND;
	}
	if (rc == HE_NOTFOUND)
		rc = ogs_create(e, room_id, o);
	if (rc)
		goto drop;
	if (!o->settled || o->settled_gen != e->wgen) {
		bool settled;
		if ((rc = share(e, room_id, o, &settled)))
			goto out;
		o->settled = settled;
		o->settled_gen = e->wgen;
		o->rot_ms = rot_ms;
		o->rot_msgs = rot_msgs;
	}
	/* the index this message uses is reserved in the store before it leaves */
	if (o->msgs >= o->reserved && (rc = ogs_reserve(e, room_id, o)))
		goto drop;
	rc = HE_NOMEM;
	payload = json_pack("{s:s, s:O, s:s}", "type", type, "content", content, "room_id", room_id);
	if (!payload || !(plain = json_dumps(payload, JSON_COMPACT)))
		goto out;
	plen = strlen(plain);
	mlen = olm_group_encrypt_message_length(o->s, plen);
	if (!(msg = malloc(mlen + 1)))
		goto out;
	rc = HE_CRYPTO;
	if (olm_group_encrypt(o->s, (uint8_t *)plain, plen, (uint8_t *)msg, mlen) == olm_error())
		goto drop;
	msg[mlen] = '\0';
	o->msgs++;
	*encrypted = json_pack("{s:s, s:s, s:s, s:s, s:s}", "algorithm", ALG_MEGOLM, "sender_key",
			       e->curve, "ciphertext", msg, "session_id", o->session_id, "device_id",
			       e->device_id);
	rc = *encrypted ? HE_OK : HE_NOMEM;
	goto out;
drop:
	entry_drop(en); /* read from the store again next time */
out:
	if (plain) {
		sodium_memzero(plain, strlen(plain));
		free(plain);
	}
	free(msg);
	json_decref(payload);
	return rc;
}
