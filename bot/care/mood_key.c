/* mood_key.c - the mood key file against the notes already stored (issue 13): an instance whose
 * key cannot open them refuses to start instead of making a new key or sealing new notes with
 * another one. The store keeps a check value of the key (store_keycheck, name "mood"); a store
 * from before the check is tried on its newest sealed note, then gets its check value. */
#include "care/mood.h"
#include "care/mood_store.h"
#include "care/vault.h"
#include "core/err.h"
#include "core/log.h"
#include "store/db.h"
#include "store/store.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* HE_OK when the newest sealed note opens with the vault now in mood_state(app). */
static int newest_note_opens(struct happ *app)
{
	struct db_stmt *st = db_stmt(store_sql(app->store), "SELECT id, network, member, nonce, box"
				     " FROM mood_entry WHERE box IS NOT NULL ORDER BY id DESC LIMIT 1");
	char *network = NULL, *member = NULL, *plain = NULL;
	size_t len = 0;
	int rc;

	if (!st)
		return HE_DB;
	rc = db_step(st);
	if (rc == DB_DONE) {
		db_reset(st);
		return HE_OK;
	}
	if (rc != DB_ROW) {
		db_reset(st);
		return HE_DB;
	}
	network = strdup(db_col_text(st, 1) ? db_col_text(st, 1) : "");
	member = strdup(db_col_text(st, 2) ? db_col_text(st, 2) : "");
	rc = network && member ? mstore_open_box(app, st, 3, 4, network, member, db_col_int64(st, 0),
						 &plain, &len) : HE_NOMEM;
	db_reset(st);
	if (plain) {
		sodium_memzero(plain, len);
		free(plain);
	}
	free(network);
	free(member);
	return rc;
}

static void refuse_other_key(const char *path)
{
	hlog_error("mood", "the mood key in %s does not open the mood notes already stored: it is "
		   "not the key they were sealed with. Nothing was changed. Copy the key file from the "
		   "first machine (the one that ran Hearth with this store first) to %s, mode 0600, "
		   "then start Hearth again", path, path);
}

int mood_key_open(struct happ *app, const char *path, struct vault **out)
{
	struct mood *mo = mood_state(app);
	struct vault *v = NULL;
	unsigned char fp[STORE_KEYCHECK_BYTES] = { 0 };
	int64_t sealed = 0;
	bool recorded;
	int rc;

	*out = NULL;
	rc = store_keycheck(app->store, "mood", fp); /* a zero value: only "is there one" */
	if (rc != HE_OK && rc != HE_CRYPTO && rc != HE_NOTFOUND)
		return rc;
	recorded = rc != HE_NOTFOUND;
	if ((rc = db_int64f(store_sql(app->store), &sealed,
			    "SELECT count(*) FROM mood_entry WHERE box IS NOT NULL", "")))
		return rc;
	if ((recorded || sealed > 0) && access(path, F_OK) != 0 && errno == ENOENT) {
		hlog_error("mood", "the mood key file %s is missing, but the store already holds mood "
			   "notes sealed with a key. Hearth makes no new key, as it could not open them. "
			   "Copy the key file from the first machine (the one that ran Hearth with this "
			   "store first) to %s, mode 0600, then start Hearth again", path, path);
		return HE_CRYPTO;
	}
	if ((rc = vault_open(path, &v)))
		return rc;
	vault_keycheck(v, fp);
	rc = store_keycheck(app->store, "mood", fp);
	if (rc == HE_NOTFOUND) {
		/* No check value yet: a first start, or a store from before the check. */
		mo->vault = v;
		rc = newest_note_opens(app);
		mo->vault = NULL;
		if (rc == HE_OK)
			rc = store_keycheck_record(app->store, "mood", fp);
	}
	if (rc == HE_CRYPTO)
		refuse_other_key(path);
	sodium_memzero(fp, sizeof(fp));
	if (rc) {
		vault_free(v);
		return rc;
	}
	*out = v;
	return HE_OK;
}
