/* e2e_util.c - canonical JSON, signatures, randomness and small SQL helpers for the e2e module. */
#include "net/matrix/crypto/e2e_int.h"
#include "core/err.h"
#include "core/log.h"
#include "store/lease.h"
#include "store/store.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t e2e_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void e2e_random(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

const char *e2e_jstr(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* Canonical JSON as the spec signs it: sorted keys, no whitespace, UTF-8 as is, without the
 * "signatures" and "unsigned" members. */
char *e2e_canonical(json_t *obj)
{
	json_t *copy;
	char *s;

	if (!json_is_object(obj))
		return NULL;
	copy = json_copy(obj); /* shallow: members are shared, the object is ours */
	if (!copy)
		return NULL;
	json_object_del(copy, "signatures");
	json_object_del(copy, "unsigned");
	s = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(copy);
	return s;
}

int e2e_sign_json(struct e2e *e, json_t *obj)
{
	char *msg = e2e_canonical(obj), *sig = NULL, key_id[300];
	size_t siglen = olm_account_signature_length(e->acct), n;
	json_t *sigs, *mine;
	int rc = HE_NOMEM;

	if (!msg || !(sig = malloc(siglen + 1)))
		goto out;
	n = olm_account_sign(e->acct, msg, strlen(msg), sig, siglen);
	if (n == olm_error()) {
		hlog_error(E2E_MOD, "cannot sign: %s", olm_account_last_error(e->acct));
		rc = HE_CRYPTO;
		goto out;
	}
	sig[n] = '\0';
	snprintf(key_id, sizeof(key_id), "ed25519:%s", e->device_id);
	sigs = json_object_get(obj, "signatures");
	if (!sigs) {
		sigs = json_object();
		if (json_object_set_new(obj, "signatures", sigs))
			goto out;
	}
	mine = json_object_get(sigs, e->user_id);
	if (!mine) {
		mine = json_object();
		if (json_object_set_new(sigs, e->user_id, mine))
			goto out;
	}
	if (json_object_set_new(mine, key_id, json_string(sig)))
		goto out;
	rc = HE_OK;
out:
	free(msg);
	free(sig);
	return rc;
}

int e2e_verify_json(struct e2e *e, json_t *obj, const char *user_id, const char *key_id,
		    const char *ed25519)
{
	const char *sig = json_string_value(
		json_object_get(json_object_get(json_object_get(obj, "signatures"), user_id), key_id));
	char *msg = NULL, *sigcopy = NULL;
	int rc = HE_CRYPTO;

	if (!sig || !ed25519 || strlen(sig) > 200)
		return HE_CRYPTO;
	msg = e2e_canonical(obj);
	sigcopy = strdup(sig); /* olm_ed25519_verify overwrites the signature buffer */
	if (!msg || !sigcopy) {
		rc = HE_NOMEM;
		goto out;
	}
	if (olm_ed25519_verify(e->util, ed25519, strlen(ed25519), msg, strlen(msg), sigcopy,
			       strlen(sigcopy)) != olm_error())
		rc = HE_OK;
out:
	free(msg);
	free(sigcopy);
	return rc;
}

/* The SQL binder is the store's (store/db.h); these keep the crypto files' names. */
struct db_stmt *e2e_stmt(struct e2e *e, const char *sql, const char *fmt, ...)
{
	struct db_stmt *st;
	va_list ap;

	va_start(ap, fmt);
	st = db_vstmtf(store_sql(e->st), sql, fmt, ap);
	va_end(ap);
	return st;
}

bool e2e_has_row(struct db_stmt *st)
{
	bool yes;

	if (!st)
		return false;
	yes = db_step(st) == DB_ROW;
	db_reset(st);
	return yes;
}

static int vsql(struct e2e *e, int64_t *changes, const char *sql, const char *fmt, va_list ap)
{
	int64_t changed = 0;
	bool own;
	int rc;

	if ((rc = lease_open(e->st, "matrix", &own))) /* fenced (store/lease.h) */
		return rc;
	rc = db_vrunf(store_sql(e->st), &changed, sql, fmt, ap);
	if (!e->quiet && (rc || changed != 0))
		e->wgen++; /* rows changed (or it failed: a rolled-back write only costs a re-read) */
	if (changes)
		*changes = changed;
	return lease_end(e->st, own, rc);
}

int e2e_sql(struct e2e *e, const char *sql, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsql(e, NULL, sql, fmt, ap);
	va_end(ap);
	return rc;
}

int e2e_sql_n(struct e2e *e, int64_t *changes, const char *sql, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsql(e, changes, sql, fmt, ap);
	va_end(ap);
	return rc;
}

char *e2e_col_str(struct db_stmt *st, int col)
{
	const char *s = db_col_text(st, col);

	return s ? strdup(s) : NULL;
}

/* A transaction of its own when none is open, else a savepoint inside the caller's (PostgreSQL
 * allows SAVEPOINT only inside a transaction; SQLite would open one). */
int e2e_begin(struct e2e *e)
{
	struct db *db = store_sql(e->st);
	bool own = !db_in_tx(db);
	int rc;

	if (e->tx_depth >= 32)
		return HE_INVAL;
	/* Olm/Megolm state is written only while this Hearth holds the [matrix] lease: the
	 * transaction starts by checking its fence (store/lease.h). */
	if (own) {
		bool opened;
		rc = lease_open(e->st, "matrix", &opened);
		if (rc == HE_OK && !opened) /* no lease (tests, tools): a plain transaction */
			rc = db_begin(db);
	} else {
		rc = db_exec(db, "SAVEPOINT e2e");
	}
	if (rc)
		return rc;
	if (own)
		e->tx_own |= 1u << e->tx_depth;
	else
		e->tx_own &= ~(1u << e->tx_depth);
	e->tx_depth++;
	return HE_OK;
}

static int tx_end(struct e2e *e, int rc)
{
	struct db *db = store_sql(e->st);
	bool own;

	if (e->tx_depth <= 0)
		return rc ? rc : HE_INVAL;
	e->tx_depth--;
	own = e->tx_own & (1u << e->tx_depth);
	if (own) {
		if (rc == HE_OK)
			return db_commit(db);
		db_rollback(db);
		return rc;
	}
	if (rc == HE_OK) {
		int r = db_exec(db, "RELEASE e2e");
		if (r == HE_OK)
			return HE_OK;
		rc = r;
	}
	db_exec(db, "ROLLBACK TO e2e");
	db_exec(db, "RELEASE e2e");
	return rc;
}

int e2e_commit(struct e2e *e, int rc)
{
	rc = tx_end(e, rc);
	if (rc)
		e->wgen++; /* writes undone: what was read from them since must be read again */
	return rc;
}
