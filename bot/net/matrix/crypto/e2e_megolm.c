/* e2e_megolm.c - inbound Megolm: room keys received, room events decrypted, replays refused,
 * missing keys requested and the events they block handed back once the key is here. */
#include "core/metrics.h"
#include "net/matrix/crypto/e2e_int.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static OlmInboundGroupSession *igs_new(void)
{
	void *mem = malloc(olm_inbound_group_session_size());

	return mem ? olm_inbound_group_session(mem) : NULL;
}

static void igs_free(OlmInboundGroupSession *s)
{
	if (!s)
		return;
	olm_clear_inbound_group_session(s);
	free(s);
}

int e2e_inbound_add(struct e2e *e, const char *room_id, const char *sender,
		    const char *sender_key, const char *ed25519, const char *session_key,
		    bool forwarded)
{
	OlmInboundGroupSession *s = igs_new();
	size_t klen = strlen(session_key), idlen, plen;
	char *key = strdup(session_key), *id = NULL, *p = NULL, *old_sender = NULL;
	struct db_stmt *st;
	int64_t old_first = -1;
	uint32_t first;
	int rc = HE_NOMEM;

	if (!s || !key)
		goto out;
	rc = HE_CRYPTO;
	if ((forwarded ? olm_import_inbound_group_session(s, (uint8_t *)key, klen)
		       : olm_init_inbound_group_session(s, (uint8_t *)key, klen)) == olm_error()) {
		hlog_warn(E2E_MOD, "a room key for %s is malformed: %s", room_id,
			  olm_inbound_group_session_last_error(s));
		goto out;
	}
	idlen = olm_inbound_group_session_id_length(s);
	plen = olm_pickle_inbound_group_session_length(s);
	rc = HE_NOMEM;
	if (!(id = malloc(idlen + 1)) || !(p = malloc(plen + 1)))
		goto out;
	rc = HE_CRYPTO;
	if (olm_inbound_group_session_id(s, (uint8_t *)id, idlen) == olm_error() ||
	    olm_pickle_inbound_group_session(s, e->olm_key, sizeof(e->olm_key), p, plen) == olm_error())
		goto out;
	id[idlen] = '\0';
	p[plen] = '\0';
	first = olm_inbound_group_session_first_known_index(s);
	st = e2e_stmt(e, "SELECT sender_key, first_index FROM e2e_inbound WHERE room_id = ? AND"
		      " session_id = ?", "ss", room_id, id);
	if (!st) {
		rc = HE_DB;
		goto out;
	}
	if (db_step(st) == DB_ROW) {
		old_sender = e2e_col_str(st, 0);
		old_first = db_col_int64(st, 1);
	}
	db_reset(st);
	if (old_sender && strcmp(old_sender, sender_key) != 0) {
		hlog_warn(E2E_MOD, "a room key for %s tries to replace a session of another device; "
			  "ignored", room_id);
		rc = HE_CRYPTO;
		goto out;
	}
	if ((rc = e2e_begin(e)))
		goto out;
	if (old_first < 0 || (int64_t)first < old_first)
		rc = e2e_sql(e, "INSERT INTO e2e_inbound (room_id, session_id, sender_key, ed25519,"
			     " pickle, first_index, forwarded, sender_user, used_ms) VALUES (?, ?, ?, ?,"
			     " ?, ?, ?, ?, ?) ON CONFLICT (room_id, session_id) DO UPDATE SET"
			     " pickle = excluded.pickle, first_index = excluded.first_index,"
			     " forwarded = excluded.forwarded, used_ms = excluded.used_ms,"
			     " sender_user = COALESCE(e2e_inbound.sender_user, excluded.sender_user)",
			     "sssssiisi", room_id, id, sender_key, ed25519, p, (int64_t)first,
			     (int64_t)forwarded, sender, (int64_t)e->now_ms());
	if (rc == HE_OK)
		rc = e2e_sql(e, "UPDATE e2e_blocked SET ready = 1 WHERE room_id = ? AND session_id = ?",
			     "ss", room_id, id);
	if (rc == HE_OK)
		rc = e2e_sql(e, "DELETE FROM e2e_key_request WHERE room_id = ? AND session_id = ?",
			     "ss", room_id, id);
	rc = e2e_commit(e, rc);
	/* the unpickled copy (if kept) may be an older one: read from the store next time */
	e2e_igs_drop(e, room_id, id);
out:
	igs_free(s);
	if (key) {
		sodium_memzero(key, klen);
		free(key);
	}
	free(id);
	free(p);
	free(old_sender);
	return rc;
}

int e2e_room_key_received(struct e2e *e, const char *sender, const char *sender_key,
			  const char *claimed_ed25519, json_t *content, bool forwarded)
{
	const char *alg = e2e_jstr(content, "algorithm"), *room = e2e_jstr(content, "room_id");
	const char *key = e2e_jstr(content, "session_key");

	if (!alg || strcmp(alg, ALG_MEGOLM) != 0 || !room || !key || strlen(key) > 4096)
		return HE_INVAL;
	if (forwarded) {
		/* the original sender's keys, vouched for by our own device */
		sender_key = e2e_jstr(content, "sender_key");
		claimed_ed25519 = e2e_jstr(content, "sender_claimed_ed25519_key");
		if (!sender_key || !claimed_ed25519)
			return HE_INVAL;
	}
	return e2e_inbound_add(e, room, forwarded ? NULL : sender, sender_key, claimed_ed25519, key,
			       forwarded);
}

/* Events that waited longer than E2E_BLOCKED_TTL_MS for their key are dropped. */
static int blocked_expire(struct e2e *e)
{
	uint64_t now = e->now_ms();
	int rc;

	if (now < E2E_BLOCKED_TTL_MS)
		return HE_OK;
	rc = e2e_sql(e, "DELETE FROM e2e_blocked WHERE ready = 0 AND added_ms < ?", "i",
		     (int64_t)(now - E2E_BLOCKED_TTL_MS));
	if (rc == HE_OK && db_last_changes(store_sql(e->st)) > 0)
		hlog_info(E2E_MOD, "%lld message(s) waited %llu minutes for their keys; dropped",
			  (long long)db_last_changes(store_sql(e->st)),
			  (unsigned long long)(E2E_BLOCKED_TTL_MS / 60000));
	return rc;
}

static int64_t count1(struct e2e *e, const char *sql, const char *fmt, const char *arg)
{
	struct db_stmt *st = arg ? e2e_stmt(e, sql, fmt, arg) : e2e_stmt(e, sql, fmt);
	int64_t n = -1;

	if (st && db_step(st) == DB_ROW)
		n = db_col_int64(st, 0);
	if (st)
		db_reset(st);
	return n;
}

/* Whether another event from sender may wait for its key: each sender keeps at most
 * E2E_MAX_BLOCKED_PER_SENDER waiting, and when all senders together reach E2E_MAX_BLOCKED, the
 * oldest event of the sender with the most waiting makes room (unless that is this sender):
 * a flood of made-up sessions, from one account or many, cannot keep out a member's message. */
static int blocked_admit(struct e2e *e, const char *sender, bool *ok)
{
	int64_t mine, total;
	struct db_stmt *st;
	char *top = NULL;
	int64_t top_n = 0;
	int rc;

	*ok = false;
	if ((rc = blocked_expire(e)))
		return rc;
	mine = count1(e, "SELECT COUNT(*) FROM e2e_blocked WHERE ready = 0 AND sender = ?", "s",
		      sender);
	total = count1(e, "SELECT COUNT(*) FROM e2e_blocked WHERE ready = 0", "", NULL);
	if (mine < 0 || total < 0)
		return HE_DB;
	if (mine >= E2E_MAX_BLOCKED_PER_SENDER) {
		hlog_debug(E2E_MOD, "%s already has %d messages waiting for keys; not keeping another",
			   sender, E2E_MAX_BLOCKED_PER_SENDER);
		return HE_OK;
	}
	if (total < E2E_MAX_BLOCKED) {
		*ok = true;
		return HE_OK;
	}
	st = e2e_stmt(e, "SELECT sender, COUNT(*) AS n FROM e2e_blocked WHERE ready = 0 GROUP BY"
		      " sender ORDER BY n DESC LIMIT 1", "");
	if (!st)
		return HE_DB;
	if (db_step(st) == DB_ROW) {
		top = e2e_col_str(st, 0);
		top_n = db_col_int64(st, 1);
	}
	db_reset(st);
	if (top && top_n > mine + 1) {
		rc = e2e_sql(e, "DELETE FROM e2e_blocked WHERE (room_id, session_id, event_id) IN"
			     " (SELECT room_id, session_id, event_id FROM e2e_blocked WHERE ready = 0"
			     " AND sender = ? ORDER BY added_ms LIMIT 1)", "s", top);
		*ok = rc == HE_OK;
	} else {
		hlog_warn(E2E_MOD, "%d messages already wait for their keys; not keeping another",
			  E2E_MAX_BLOCKED);
	}
	free(top);
	return rc;
}

/* Keeps an event whose key is missing and asks the sender's and our own devices for the key. */
static int block_event(struct e2e *e, const char *room_id, const char *session_id,
		       const char *sender, const char *sender_key, json_t *event)
{
	const char *event_id = e2e_jstr(event, "event_id");
	char *text = NULL;
	struct db_stmt *st;
	int64_t sent = -1;
	bool known = false, ok = false;
	int rc = HE_OK;

	if (!event_id)
		return HE_OK;
	st = e2e_stmt(e, "SELECT 1 FROM e2e_blocked WHERE room_id = ? AND session_id = ? AND"
		      " event_id = ?", "sss", room_id, session_id, event_id);
	if (!st)
		return HE_DB;
	known = db_step(st) == DB_ROW;
	db_reset(st);
	if (known)
		return HE_OK; /* already waiting (and its key asked for) */
	if ((rc = blocked_admit(e, sender, &ok)) || !ok)
		return rc;
	text = json_dumps(event, JSON_COMPACT);
	if (text && strlen(text) <= E2E_MAX_EVENT)
		rc = e2e_sql(e, "INSERT INTO e2e_blocked (room_id, session_id, event_id, event, sender,"
			     " added_ms) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", "sssssi",
			     room_id, session_id, event_id, text, sender, (int64_t)e->now_ms());
	free(text);
	if (rc)
		return rc;
	st = e2e_stmt(e, "SELECT sent_ms FROM e2e_key_request WHERE room_id = ? AND session_id = ?",
		      "ss", room_id, session_id);
	if (!st)
		return HE_DB;
	if (db_step(st) == DB_ROW)
		sent = db_col_int64(st, 0);
	db_reset(st);
	if (sent >= 0 && e->now_ms() - (uint64_t)sent < E2E_KEY_REQUEST_RETRY_MS)
		return HE_OK;
	{
		unsigned char rnd[8];
		char rid[17];
		json_t *req, *msgs;
		e2e_random(rnd, sizeof(rnd));
		sodium_bin2hex(rid, sizeof(rid), rnd, sizeof(rnd));
		req = json_pack("{s:s, s:{s:s, s:s, s:s}, s:s, s:s}", "action", "request", "body",
				"algorithm", ALG_MEGOLM, "room_id", room_id, "session_id", session_id,
				"request_id", rid, "requesting_device_id", e->device_id);
		if (!req)
			return HE_NOMEM;
		if (sender_key)
			json_object_set_new(json_object_get(req, "body"), "sender_key",
					    json_string(sender_key));
		msgs = json_pack("{s:{s:O}}", e->user_id, "*", req);
		if (msgs && strcmp(sender, e->user_id) != 0)
			json_object_set_new(msgs, sender, json_pack("{s:O}", "*", req));
		json_decref(req);
		if (!msgs)
			return HE_NOMEM;
		hlog_info(E2E_MOD, "a message in %s waits for its key; asking %s for it", room_id, sender);
		if ((rc = e2e_send_to_device(e, REQ_TODEVICE_OTHER, "m.room_key_request", msgs, NULL)))
			return rc;
		metrics_e2e_key_request();
	}
	return e2e_sql(e, "INSERT INTO e2e_key_request (room_id, session_id, sent_ms) VALUES (?, ?, ?)"
		       " ON CONFLICT (room_id, session_id) DO UPDATE SET sent_ms = excluded.sent_ms",
		       "ssi", room_id, session_id, (int64_t)e->now_ms());
}

json_t *e2e_take_unblocked(struct e2e *e)
{
	struct db_stmt *st;
	json_t *arr;

	if (blocked_expire(e))
		return NULL;
	st = e2e_stmt(e, "SELECT room_id, event FROM e2e_blocked WHERE ready = 1", "");
	arr = json_array();

	if (!st || !arr) {
		if (st)
			db_reset(st);
		json_decref(arr);
		return NULL;
	}
	while (db_step(st) == DB_ROW) {
		json_t *ev = json_loads(db_col_text(st, 1), 0, NULL);
		if (ev)
			json_array_append_new(arr, json_pack("{s:s, s:o}", "room_id",
							      db_col_text(st, 0),
							      "event", ev));
	}
	db_reset(st);
	if (e2e_sql(e, "DELETE FROM e2e_blocked WHERE ready = 1", "")) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

struct igs_row {
	char *sender_user; /* NULL: forwarded, or stored before it was recorded */
	char *sender_key;
	char *ed25519;
	char *pickle;
	bool forwarded;
	int64_t used_ms; /* last decryption (to the hour), for e2e_prune */
};

static void igs_row_clear(struct igs_row *r)
{
	free(r->sender_user);
	free(r->sender_key);
	free(r->ed25519);
	free(r->pickle);
	memset(r, 0, sizeof(*r));
}

static int igs_load(struct e2e *e, const char *room_id, const char *session_id, struct igs_row *r)
{
	struct db_stmt *st = e2e_stmt(e, "SELECT sender_key, ed25519, pickle, forwarded, sender_user,"
				    " used_ms FROM e2e_inbound"
				    " WHERE room_id = ? AND session_id = ?", "ss", room_id, session_id);
	int rc = HE_NOTFOUND;

	memset(r, 0, sizeof(*r));
	if (!st)
		return HE_DB;
	if (db_step(st) == DB_ROW) {
		r->sender_key = e2e_col_str(st, 0);
		r->ed25519 = e2e_col_str(st, 1);
		r->pickle = e2e_col_str(st, 2);
		r->forwarded = db_col_int(st, 3) != 0;
		r->sender_user = e2e_col_str(st, 4);
		r->used_ms = db_col_int64(st, 5);
		rc = r->sender_key && r->pickle ? HE_OK : HE_NOMEM;
	}
	db_reset(st);
	if (rc)
		igs_row_clear(r);
	return rc;
}

/* ---- inbound sessions kept unpickled ----
 * A message used to read its session's row, unpickle it (the ratchet as it was received) and
 * advance a copy of the ratchet from there to its index. A session in use now stays in memory
 * (up to IGS_CACHED, least recently used out), its ratchet advanced by libolm as messages come
 * (a lower index still decrypts from the session's first known ratchet, kept too). The store
 * stays the truth: an entry is wiped and dropped when its row is replaced (e2e_inbound_add),
 * pruned (e2e_prune), when its decryption fails (read again next time), and at e2e_free. What
 * each message is checked against (the sender's device, replays, the room) is unchanged; the
 * sender's device lookup is kept with the entry while no crypto table changed (e->wgen). */
#define IGS_CACHED 32

struct igs_entry {
	char *room_id; /* NULL: a free slot */
	char *session_id;
	struct igs_row row;
	OlmInboundGroupSession *s;
	uint64_t used;
	/* e2e_device_of(sender, row.sender_key) as found at wgen dev_gen (dev_ok: HE_OK) */
	bool dev_ok;
	uint64_t dev_gen;
	char *dev_user, *kdev, *ked;
};

struct e2e_igs_cache {
	struct igs_entry v[IGS_CACHED];
	uint64_t tick;
};

static void entry_dev_clear(struct igs_entry *en)
{
	free(en->dev_user);
	free(en->kdev);
	free(en->ked);
	en->dev_user = en->kdev = en->ked = NULL;
	en->dev_ok = false;
}

static void entry_clear(struct igs_entry *en)
{
	igs_free(en->s);
	if (en->row.pickle)
		sodium_memzero(en->row.pickle, strlen(en->row.pickle));
	igs_row_clear(&en->row);
	entry_dev_clear(en);
	free(en->room_id);
	free(en->session_id);
	memset(en, 0, sizeof(*en));
}

void e2e_igs_drop(struct e2e *e, const char *room_id, const char *session_id)
{
	if (!e || !e->igs)
		return;
	for (size_t i = 0; i < IGS_CACHED; i++) {
		struct igs_entry *en = &e->igs->v[i];
		if (en->room_id && (!room_id || (strcmp(en->room_id, room_id) == 0 &&
						 strcmp(en->session_id, session_id) == 0)))
			entry_clear(en);
	}
}

void e2e_igs_free(struct e2e *e)
{
	if (!e)
		return;
	e2e_igs_drop(e, NULL, NULL);
	free(e->igs);
	e->igs = NULL;
}

int e2e_igs_cached(struct e2e *e)
{
	int n = 0;

	for (size_t i = 0; e && e->igs && i < IGS_CACHED; i++)
		n += e->igs->v[i].room_id != NULL;
	return n;
}

/* The entry of room_id's session_id: kept, or read from the store and unpickled into the least
 * recently used slot. HE_NOTFOUND when the store has no such session. */
static int igs_get(struct e2e *e, const char *room_id, const char *session_id,
		   struct igs_entry **out)
{
	struct igs_entry *en = NULL;
	struct igs_row row;
	int rc;

	*out = NULL;
	if (!e->igs && !(e->igs = calloc(1, sizeof(*e->igs))))
		return HE_NOMEM;
	for (size_t i = 0; i < IGS_CACHED; i++) {
		struct igs_entry *c = &e->igs->v[i];
		if (!c->room_id) {
			if (!en || en->room_id)
				en = c; /* a free slot first */
			continue;
		}
		if (strcmp(c->room_id, room_id) == 0 && strcmp(c->session_id, session_id) == 0) {
			c->used = ++e->igs->tick;
			*out = c;
			return HE_OK;
		}
		if (!en || (en->room_id && c->used < en->used))
			en = c;
	}
	if ((rc = igs_load(e, room_id, session_id, &row)))
		return rc;
	entry_clear(en); /* the least recently used goes (its session stays in the store) */
	en->row = row;
	rc = HE_NOMEM;
	if (!(en->room_id = strdup(room_id)) || !(en->session_id = strdup(session_id)) ||
	    !(en->s = igs_new()))
		goto out;
	rc = HE_CRYPTO;
	if (olm_unpickle_inbound_group_session(en->s, e->olm_key, sizeof(e->olm_key), row.pickle,
					       strlen(row.pickle)) == olm_error())
		goto out;
	/* the pickle is not needed any more: the session is */
	sodium_memzero(en->row.pickle, strlen(en->row.pickle));
	free(en->row.pickle);
	en->row.pickle = NULL;
	en->used = ++e->igs->tick;
	*out = en;
	rc = HE_OK;
out:
	if (rc)
		entry_clear(en);
	return rc;
}

/* e2e_device_of for the entry's sender, kept with the entry while no crypto table changed. */
static int igs_device(struct e2e *e, struct igs_entry *en, const char *sender, char **kdev,
		      char **ked)
{
	int rc;

	*kdev = *ked = NULL;
	if (en->dev_ok && en->dev_gen == e->wgen && strcmp(en->dev_user, sender) == 0) {
		*kdev = strdup(en->kdev);
		*ked = strdup(en->ked);
		if (*kdev && *ked)
			return HE_OK;
		free(*kdev);
		free(*ked);
		*kdev = *ked = NULL;
		return HE_NOMEM;
	}
	entry_dev_clear(en);
	rc = e2e_device_of(e, sender, en->row.sender_key, kdev, ked);
	if (rc == HE_OK && *kdev && *ked && (en->dev_user = strdup(sender)) &&
	    (en->kdev = strdup(*kdev)) && (en->ked = strdup(*ked))) {
		en->dev_ok = true;
		en->dev_gen = e->wgen;
	} else if (rc == HE_OK) {
		entry_dev_clear(en);
	}
	return rc;
}

/* The message index must not have been seen with another event id: recorded with its event
 * when new (one statement), else compared with the event recorded. */
static int check_replay(struct e2e *e, const char *room_id, const char *session_id, uint32_t index,
			const char *event_id)
{
	struct db_stmt *st;
	int64_t added = 0;
	int rc;

	rc = e2e_sql_n(e, &added, "INSERT INTO e2e_seen (room_id, session_id, msg_index, event_id,"
		       " seen_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", "ssisi", room_id,
		       session_id, (int64_t)index, event_id, (int64_t)e->now_ms());
	if (rc || added == 1)
		return rc;
	st = e2e_stmt(e, "SELECT event_id FROM e2e_seen WHERE room_id = ? AND session_id = ? AND"
		      " msg_index = ?", "ssi", room_id, session_id, (int64_t)index);
	if (!st)
		return HE_DB;
	rc = HE_CRYPTO; /* not added, and not found: refused rather than guessed */
	if (db_step(st) == DB_ROW && strcmp(db_col_text(st, 0), event_id) == 0)
		rc = HE_OK;
	db_reset(st);
	if (rc)
		hlog_warn(E2E_MOD, "refusing a replayed message in %s (index %u seen in another event)",
			  room_id, index);
	return rc;
}

int e2e_decrypt_room_event(struct e2e *e, const char *room_id, json_t *event, json_t **plain)
{
	json_t *content = json_object_get(event, "content"), *payload = NULL;
	const char *alg = e2e_jstr(content, "algorithm"), *sid = e2e_jstr(content, "session_id");
	const char *ct = e2e_jstr(content, "ciphertext"), *event_id = e2e_jstr(event, "event_id");
	const char *sender = e2e_jstr(event, "sender"), *claimed_key = e2e_jstr(content, "sender_key");
	const char *ptype, *proom;
	OlmInboundGroupSession *s;
	struct igs_entry *en = NULL;
	struct igs_row *row;
	char *copy = NULL, *text = NULL, *kdev = NULL, *ked = NULL;
	size_t len, max, n;
	uint32_t index = 0;
	bool verified = false;
	int rc;

	*plain = NULL;
	if (!room_id || !alg || strcmp(alg, ALG_MEGOLM) != 0)
		return HE_INVAL;
	if (!sid || !ct || !event_id || !sender || strlen(sid) > 200 || strlen(event_id) > 255 ||
	    strlen(sender) > 255 || (len = strlen(ct)) > E2E_MAX_CIPHERTEXT || len == 0)
		return HE_CRYPTO;
	if (claimed_key && strlen(claimed_key) > 100)
		return HE_CRYPTO;
	rc = igs_get(e, room_id, sid, &en);
	if (rc == HE_NOTFOUND) {
		rc = block_event(e, room_id, sid, sender, claimed_key, event);
		e2e_pump(e);
		return rc ? rc : HE_AGAIN;
	}
	if (rc)
		return rc;
	s = en->s;
	row = &en->row;
	rc = HE_NOMEM;
	if (!(copy = malloc(len + 1)))
		goto out;
	rc = HE_CRYPTO;
	memcpy(copy, ct, len + 1);
	max = olm_group_decrypt_max_plaintext_length(s, (uint8_t *)copy, len);
	if (max == olm_error() || max > E2E_MAX_CIPHERTEXT)
		goto out;
	if (!(text = malloc(max + 1))) {
		rc = HE_NOMEM;
		goto out;
	}
	memcpy(copy, ct, len + 1);
	n = olm_group_decrypt(s, (uint8_t *)copy, len, (uint8_t *)text, max, &index);
	if (n == olm_error()) {
		if (olm_inbound_group_session_last_error_code(s) == OLM_UNKNOWN_MESSAGE_INDEX) {
			rc = block_event(e, room_id, sid, sender, claimed_key, event);
			e2e_pump(e);
			rc = rc ? rc : HE_AGAIN;
		}
		goto out;
	}
	text[n] = '\0';
	if (claimed_key && strcmp(claimed_key, row->sender_key) != 0) {
		hlog_warn(E2E_MOD, "a message in %s names a sender key other than its session's", room_id);
		goto out;
	}
	payload = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	ptype = e2e_jstr(payload, "type");
	proom = e2e_jstr(payload, "room_id");
	if (!ptype || !json_is_object(json_object_get(payload, "content")) || !proom ||
	    strcmp(proom, room_id) != 0) {
		hlog_warn(E2E_MOD, "a message in %s decrypts to something malformed or meant for "
			  "another room", room_id);
		goto out;
	}
	/* Who holds the session's key? The user who shared it with us, and a device of theirs:
	 * the event's sender and the session's key are checked together, so what devices of other
	 * users claim never decides whether a member's message is read. */
	if (row->sender_user && strcmp(row->sender_user, sender) != 0) {
		hlog_warn(E2E_MOD, "a message in %s claims to be from %s but its session was shared by "
			  "another user; refused", room_id, sender);
		goto out;
	}
	if (strcmp(row->sender_key, e->curve) == 0) {
		if (strcmp(sender, e->user_id) != 0)
			goto out;
		kdev = strdup(e->device_id);
		verified = true;
	} else {
		rc = igs_device(e, en, sender, &kdev, &ked);
		if (rc == HE_OK) {
			verified = !row->forwarded && row->ed25519 && strcmp(ked, row->ed25519) == 0;
		} else if (rc == HE_NOTFOUND && !row->sender_user &&
			   count1(e, "SELECT COUNT(*) FROM e2e_device WHERE curve25519 = ? AND"
				  " deleted = 0", "s", row->sender_key) != 0) {
			/* a session from before senders were recorded, whose key is another user's */
			hlog_warn(E2E_MOD, "a message in %s claims to be from %s but its key belongs "
				  "to another user; refused", room_id, sender);
			rc = HE_CRYPTO;
			goto out;
		} else if (rc == HE_NOTFOUND || rc == HE_CRYPTO) {
			/* not known yet (or ambiguous): readable, but not verified */
			if ((rc = e2e_track_user(e, sender)))
				goto out;
		} else {
			goto out;
		}
	}
	/* the seen index and the last use are bookkeeping of each message: not counted in
	 * e->wgen (nothing derived from the store depends on them) */
	e->quiet = true;
	rc = check_replay(e, room_id, sid, index, event_id);
	/* in use: e2e_prune keeps it (written at most once an hour per session) */
	if (rc == HE_OK && e->now_ms() - (uint64_t)row->used_ms >= E2E_INBOUND_TOUCH_MS &&
	    (rc = e2e_sql(e, "UPDATE e2e_inbound SET used_ms = ? WHERE room_id = ? AND"
			  " session_id = ?", "iss", (int64_t)e->now_ms(), room_id, sid)) == HE_OK)
		row->used_ms = (int64_t)e->now_ms();
	e->quiet = false;
	if (rc)
		goto out;
	*plain = json_pack("{s:s, s:O, s:s?, s:b}", "type", ptype, "content",
			   json_object_get(payload, "content"), "sender_device", kdev,
			   "sender_verified", verified);
	rc = *plain ? HE_OK : HE_NOMEM;
out:
	if (text) {
		sodium_memzero(text, max + 1);
		free(text);
	}
	free(copy);
	/* a session that did not decrypt this message is read from the store again next time */
	if (rc && en)
		entry_clear(en);
	json_decref(payload);
	free(kdev);
	free(ked);
	return rc;
}
