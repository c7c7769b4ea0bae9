/* e2e.c - the e2e module's entry points: state, sync input, the outgoing request queue. */
#include "net/matrix/crypto/e2e_int.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const e2e_migrations[] = {
	/* 1 */
	"CREATE TABLE e2e_account (id INTEGER PRIMARY KEY CHECK (id = 1), user_id TEXT NOT NULL,"
	" device_id TEXT NOT NULL, pickle TEXT NOT NULL, published INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE e2e_olm_session (session_id TEXT PRIMARY KEY, sender_key TEXT NOT NULL,"
	" pickle TEXT NOT NULL, last_used INTEGER NOT NULL);"
	"CREATE INDEX e2e_olm_session_key ON e2e_olm_session (sender_key, last_used);"
	"CREATE TABLE e2e_inbound (room_id TEXT NOT NULL, session_id TEXT NOT NULL,"
	" sender_key TEXT NOT NULL, ed25519 TEXT, pickle TEXT NOT NULL, first_index INTEGER NOT NULL,"
	" forwarded INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (room_id, session_id)) WITHOUT ROWID;"
	"CREATE TABLE e2e_seen (room_id TEXT NOT NULL, session_id TEXT NOT NULL,"
	" msg_index INTEGER NOT NULL, event_id TEXT NOT NULL,"
	" PRIMARY KEY (room_id, session_id, msg_index)) WITHOUT ROWID;"
	"CREATE TABLE e2e_outbound (room_id TEXT PRIMARY KEY, session_id TEXT NOT NULL,"
	" pickle TEXT NOT NULL, created_ms INTEGER NOT NULL, msgs INTEGER NOT NULL DEFAULT 0,"
	" rotate INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
	"CREATE TABLE e2e_shared (room_id TEXT NOT NULL, session_id TEXT NOT NULL,"
	" user_id TEXT NOT NULL, device_id TEXT NOT NULL, sent INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (room_id, session_id, user_id, device_id)) WITHOUT ROWID;"
	"CREATE TABLE e2e_device (user_id TEXT NOT NULL, device_id TEXT NOT NULL,"
	" curve25519 TEXT NOT NULL, ed25519 TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,"
	" no_otk_ms INTEGER NOT NULL DEFAULT 0, repair_ms INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (user_id, device_id)) WITHOUT ROWID;"
	"CREATE INDEX e2e_device_curve ON e2e_device (curve25519);"
	"CREATE TABLE e2e_user (user_id TEXT PRIMARY KEY, dirty INTEGER NOT NULL DEFAULT 1)"
	" WITHOUT ROWID;"
	"CREATE TABLE e2e_room (room_id TEXT PRIMARY KEY, rotation_ms INTEGER NOT NULL,"
	" rotation_msgs INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE e2e_member (room_id TEXT NOT NULL, user_id TEXT NOT NULL,"
	" PRIMARY KEY (room_id, user_id)) WITHOUT ROWID;"
	"CREATE INDEX e2e_member_user ON e2e_member (user_id);"
	"CREATE TABLE e2e_blocked (room_id TEXT NOT NULL, session_id TEXT NOT NULL,"
	" event_id TEXT NOT NULL, event TEXT NOT NULL, ready INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (room_id, session_id, event_id)) WITHOUT ROWID;"
	"CREATE TABLE e2e_key_request (room_id TEXT NOT NULL, session_id TEXT NOT NULL,"
	" sent_ms INTEGER NOT NULL, PRIMARY KEY (room_id, session_id)) WITHOUT ROWID;"
	"CREATE TABLE e2e_olm_need (user_id TEXT NOT NULL, device_id TEXT NOT NULL,"
	" repair INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (user_id, device_id)) WITHOUT ROWID;"
	"CREATE TABLE e2e_xsign (id INTEGER PRIMARY KEY CHECK (id = 1), master TEXT NOT NULL,"
	" self_signing TEXT NOT NULL, user_signing TEXT NOT NULL, sealed BLOB NOT NULL,"
	" state INTEGER NOT NULL DEFAULT 0);",
	/* 2: devices looked up by user and key together; who shared each inbound session; waiting
	 * events expire and are counted per sender; members' cross-signing identities pinned */
	"ALTER TABLE e2e_device ADD COLUMN xsigned INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX e2e_device_user_curve ON e2e_device (user_id, curve25519);"
	"ALTER TABLE e2e_inbound ADD COLUMN sender_user TEXT;"
	"ALTER TABLE e2e_blocked ADD COLUMN sender TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE e2e_blocked ADD COLUMN added_ms INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX e2e_blocked_sender ON e2e_blocked (sender, added_ms);"
	"CREATE TABLE e2e_curve_proof (curve25519 TEXT PRIMARY KEY, user_id TEXT NOT NULL,"
	" ed25519 TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE e2e_identity (user_id TEXT PRIMARY KEY, master TEXT, ssk TEXT, pending TEXT,"
	" notify INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;",
	/* 3: seen-message indexes carry their time, so they can be pruned (e2e_prune.c) */
	"ALTER TABLE e2e_seen ADD COLUMN seen_ms INTEGER NOT NULL DEFAULT 0;"
	"UPDATE e2e_seen SET seen_ms = CAST(strftime('%s', 'now') AS INTEGER) * 1000;"
	/* devices told that a session's key was withheld from them (e2e_withheld.c) */
	"CREATE TABLE e2e_withheld_out (room_id TEXT NOT NULL, session_id TEXT NOT NULL,"
	" user_id TEXT NOT NULL, device_id TEXT NOT NULL, code TEXT NOT NULL,"
	" PRIMARY KEY (room_id, session_id, user_id, device_id)) WITHOUT ROWID;"
	/* keys withheld from Hearth, and the members told about it (once per room) */
	"CREATE TABLE e2e_withheld_in (room_id TEXT NOT NULL, session_id TEXT NOT NULL,"
	" user_id TEXT NOT NULL, code TEXT NOT NULL, PRIMARY KEY (room_id, session_id)) WITHOUT ROWID;"
	"CREATE TABLE e2e_withheld_told (room_id TEXT NOT NULL, user_id TEXT NOT NULL,"
	" PRIMARY KEY (room_id, user_id)) WITHOUT ROWID;",
};

int e2e_load_pickle_key(const char *path, unsigned char key[E2E_PICKLE_KEY_LEN])
{
	struct stat sb;
	ssize_t n;
	int fd, rc = HE_IO;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		unsigned char fresh[E2E_PICKLE_KEY_LEN];
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			hlog_error(E2E_MOD, "cannot create the encryption key file %s: %s", path,
				   strerror(errno));
			return HE_IO;
		}
		if (sodium_init() < 0)
			goto out;
		randombytes_buf(fresh, sizeof(fresh));
		if (write(fd, fresh, sizeof(fresh)) != (ssize_t)sizeof(fresh) || fsync(fd) < 0) {
			hlog_error(E2E_MOD, "cannot write the encryption key file %s: %s", path,
				   strerror(errno));
			sodium_memzero(fresh, sizeof(fresh));
			close(fd);
			unlink(path);
			return HE_IO;
		}
		memcpy(key, fresh, sizeof(fresh));
		sodium_memzero(fresh, sizeof(fresh));
		hlog_info(E2E_MOD, "created a new encryption key file %s (keep it with the data folder)",
			  path);
		rc = HE_OK;
		goto out;
	}
	if (fd < 0) {
		hlog_error(E2E_MOD, "cannot open the encryption key file %s: %s", path, strerror(errno));
		return HE_IO;
	}
	if (fstat(fd, &sb) < 0)
		goto out;
	if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & 077)) {
		hlog_error(E2E_MOD, "the encryption key file %s must be a regular file owned by this "
			   "user with mode 0600 (chmod 600 %s)", path, path);
		rc = HE_PERM;
		goto out;
	}
	n = read(fd, key, E2E_PICKLE_KEY_LEN);
	if (n != E2E_PICKLE_KEY_LEN || sb.st_size != E2E_PICKLE_KEY_LEN) {
		hlog_error(E2E_MOD, "the encryption key file %s is damaged (it must hold exactly %d "
			   "bytes); restore it from a backup", path, E2E_PICKLE_KEY_LEN);
		sodium_memzero(key, E2E_PICKLE_KEY_LEN);
		rc = HE_INVAL;
		goto out;
	}
	rc = HE_OK;
out:
	close(fd);
	return rc;
}

/* --- the request queue --- */

static void req_free(struct e2e_req *r)
{
	if (!r)
		return;
	json_decref(r->pub.body);
	json_decref(r->ctx);
	free(r->path);
	free(r);
}

struct e2e_req *e2e_req_add(struct e2e *e, enum e2e_req_kind kind, const char *method,
			    const char *path, json_t *body, json_t *ctx)
{
	struct e2e_req *r = calloc(1, sizeof(*r)), **tail;

	if (!r || !body || !(r->path = strdup(path))) {
		json_decref(body);
		json_decref(ctx);
		if (r)
			free(r);
		return NULL;
	}
	r->kind = kind;
	r->pub.id = ++e->next_id;
	r->pub.method = method;
	r->pub.path = r->path;
	r->pub.body = body;
	r->ctx = ctx;
	for (tail = &e->reqs; *tail; tail = &(*tail)->next)
		;
	*tail = r;
	return r;
}

bool e2e_req_pending(struct e2e *e, enum e2e_req_kind kind)
{
	for (struct e2e_req *r = e->reqs; r; r = r->next)
		if (r->kind == kind)
			return true;
	return false;
}

int e2e_send_to_device(struct e2e *e, enum e2e_req_kind kind, const char *type, json_t *messages,
		       json_t *ctx)
{
	unsigned char rnd[12];
	char txn[32], path[160];

	e2e_random(rnd, sizeof(rnd));
	sodium_bin2hex(txn, sizeof(txn), rnd, sizeof(rnd));
	snprintf(path, sizeof(path), "/sendToDevice/%s/he2e%s", type, txn);
	if (!e2e_req_add(e, kind, "PUT", path, json_pack("{s:o}", "messages", messages), ctx))
		return HE_NOMEM;
	return HE_OK;
}

size_t e2e_outgoing(struct e2e *e, const struct e2e_request **out, size_t max)
{
	size_t n = 0;

	for (struct e2e_req *r = e->reqs; r && n < max; r = r->next) {
		if (r->handed)
			continue;
		r->handed = true;
		out[n++] = &r->pub;
	}
	return n;
}

bool e2e_req_may(struct e2e *e, enum e2e_req_kind kind)
{
	return !e2e_req_pending(e, kind) && e->now_ms() >= e->retry_at[kind];
}

/* Exponential backoff, 2 s to 5 min, so that a homeserver that is away is not hammered. */
void e2e_req_result(struct e2e *e, enum e2e_req_kind kind, bool ok)
{
	if (ok) {
		e->backoff_ms[kind] = 0;
		e->retry_at[kind] = 0;
		return;
	}
	e->backoff_ms[kind] = e->backoff_ms[kind] ? e->backoff_ms[kind] * 2 : 2000;
	if (e->backoff_ms[kind] > 300000)
		e->backoff_ms[kind] = 300000;
	e->retry_at[kind] = e->now_ms() + e->backoff_ms[kind];
}

void e2e_pump(struct e2e *e)
{
	e2e_account_pump(e);
	e2e_query_pump(e);
	e2e_claim_pump(e);
}

int e2e_request_done(struct e2e *e, unsigned long id, int http_status, json_t *response)
{
	struct e2e_req **pp, *r;
	int rc = HE_OK;

	for (pp = &e->reqs; *pp && (*pp)->pub.id != id; pp = &(*pp)->next)
		;
	if (!(r = *pp))
		return HE_NOTFOUND;
	*pp = r->next;
	if (http_status != 200)
		hlog_warn(E2E_MOD, "%s %s failed (HTTP %d)", r->pub.method, r->kind == REQ_TODEVICE_KEY ||
			  r->kind == REQ_TODEVICE_OTHER ? "/sendToDevice" : r->path, http_status);
	switch (r->kind) {
	case REQ_UPLOAD:
		rc = e2e_account_upload_done(e, http_status, response);
		break;
	case REQ_QUERY:
		rc = e2e_query_done(e, r->ctx, http_status, response);
		break;
	case REQ_CLAIM:
		rc = e2e_claim_done(e, r->ctx, http_status, response);
		break;
	case REQ_TODEVICE_KEY:
		rc = e2e_share_done(e, r->ctx, http_status);
		break;
	case REQ_TODEVICE_OTHER:
		break;
	case REQ_XSIGN_KEYS:
	case REQ_XSIGN_SIGS:
		rc = e2e_xsign_done(e, r->kind, http_status, response);
		break;
	}
	req_free(r);
	e2e_pump(e);
	return rc;
}

/* --- lifetime --- */

int e2e_new(struct store *st, const char *user_id, const char *device_id,
	    const unsigned char pickle_key[E2E_PICKLE_KEY_LEN], struct e2e **out)
{
	struct e2e *e = NULL;
	void *mem;
	int rc;

	*out = NULL;
	if (!st || !user_id || !device_id || !*user_id || !*device_id || !pickle_key)
		return HE_INVAL;
	if (sodium_init() < 0)
		return HE_CRYPTO;
	rc = store_migrate(st, "e2e", e2e_migrations, sizeof(e2e_migrations) / sizeof(e2e_migrations[0]));
	if (rc)
		return rc;
	e = calloc(1, sizeof(*e));
	if (!e)
		return HE_NOMEM;
	e->st = st;
	e->otk_count = -1;
	e->now_ms = e2e_clock_ms;
	e->user_id = strdup(user_id);
	e->device_id = strdup(device_id);
	mem = malloc(olm_utility_size());
	if (!e->user_id || !e->device_id || !mem) {
		free(mem);
		rc = HE_NOMEM;
		goto out;
	}
	e->util = olm_utility(mem);
	crypto_kdf_derive_from_key(e->olm_key, sizeof(e->olm_key), 1, "hearthe2", pickle_key);
	crypto_kdf_derive_from_key(e->seal_key, sizeof(e->seal_key), 2, "hearthe2", pickle_key);
	if ((rc = e2e_account_load(e)))
		goto out;
	/* Shares that were in flight when we stopped never arrived as far as we know. */
	if ((rc = e2e_sql(e, "DELETE FROM e2e_shared WHERE sent = 0", "")))
		goto out;
	if ((rc = e2e_track_user(e, user_id)))
		goto out;
	e2e_pump(e);
out:
	if (rc) {
		e2e_free(e);
		return rc;
	}
	*out = e;
	return HE_OK;
}

void e2e_free(struct e2e *e)
{
	if (!e)
		return;
	while (e->reqs) {
		struct e2e_req *r = e->reqs;
		e->reqs = r->next;
		req_free(r);
	}
	if (e->acct) {
		olm_clear_account(e->acct);
		free(e->acct);
	}
	if (e->util) {
		olm_clear_utility(e->util);
		free(e->util);
	}
	sodium_memzero(e->olm_key, sizeof(e->olm_key));
	sodium_memzero(e->seal_key, sizeof(e->seal_key));
	free(e->user_id);
	free(e->device_id);
	free(e);
}

void e2e_set_clock(struct e2e *e, uint64_t (*now_ms)(void))
{
	e->now_ms = now_ms ? now_ms : e2e_clock_ms;
}

const char *e2e_curve25519_key(const struct e2e *e) { return e->curve; }
const char *e2e_ed25519_key(const struct e2e *e) { return e->ed; }

int e2e_receive_sync_changes(struct e2e *e, json_t *to_device_events, json_t *device_lists,
			     json_t *otk_counts, json_t *unused_fallback_key_types)
{
	size_t i;
	json_t *ev;
	int rc = HE_OK, r;

	json_array_foreach(to_device_events, i, ev) {
		const char *type = e2e_jstr(ev, "type");
		if (i >= E2E_MAX_TO_DEVICE) {
			hlog_warn(E2E_MOD, "more than %d to-device events in one sync; the rest are skipped",
				  E2E_MAX_TO_DEVICE);
			break;
		}
		if (type && strcmp(type, "m.room_key.withheld") == 0) {
			r = e2e_withheld_receive(e, ev);
			if (r == HE_DB || r == HE_NOMEM)
				rc = r;
			continue;
		}
		if (!type || strcmp(type, "m.room.encrypted") != 0)
			continue; /* key requests from others: the bot does not forward keys */
		r = e2e_olm_to_device(e, ev);
		if (r == HE_DB || r == HE_NOMEM)
			rc = r;
		else if (r)
			hlog_warn(E2E_MOD, "an encrypted to-device message from %s could not be read (%s)",
				  e2e_jstr(ev, "sender") ? e2e_jstr(ev, "sender") : "?", he_str(r));
	}
	if (device_lists && (r = e2e_device_lists(e, device_lists)))
		rc = r;
	if ((otk_counts || unused_fallback_key_types) &&
	    (r = e2e_account_counts(e, otk_counts, unused_fallback_key_types)))
		rc = r;
	if (e->now_ms() - e->pruned_ms >= E2E_PRUNE_EVERY_MS && (r = e2e_prune(e)))
		hlog_warn(E2E_MOD, "could not prune old encryption state (%s)", he_str(r));
	e2e_pump(e);
	return rc;
}

json_t *e2e_encryption_state_event(void)
{
	return json_pack("{s:s, s:s, s:{s:s}}", "type", "m.room.encryption", "state_key", "",
			 "content", "algorithm", ALG_MEGOLM);
}
