/* mood_store.h - the mood log's storage, shared by mood.c (the command and its views) and
 * mood_store.c (schema, sealed entries, consent, forget, optout, retention). Internal to
 * bot/care/mood*.c; everyone else uses mood.h.
 *
 * A member is always (network, member). Functions return 0 or a negative HE_* code unless
 * said otherwise; none of them replies to anyone. */
#ifndef HEARTH_MOOD_STORE_H
#define HEARTH_MOOD_STORE_H

#include "store/db.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "care/state.h"
#include "core/app.h"

struct vault;

struct mood {
	struct vault *vault;
	uint64_t timer;
	long purge_day;           /* day key of the last retention purge */
	struct mood_taps *taps;   /* mood_tap.c: recent one-tap answers (memory only) */
};
void mood_taps_free(struct mood_taps *mt);
/* mood_key.c: opens the mood key file at path (creating it only when the store holds no sealed
 * notes and no check value) and checks it against the store's check value, or on a store from
 * before the check against the newest sealed note. HE_CRYPTO (logged with what to do) when the
 * file is missing or another key; nothing in the store changes then. */
struct vault;
int mood_key_open(struct happ *app, const char *path, struct vault **out);

static inline struct mood *mood_state(struct happ *app)
{
	return app->care ? app->care->mood : NULL;
}

extern const struct db_migration mood_migrations[];
extern const size_t mood_nmigrations;

/* Opens the sealed note/tags of a row (columns inonce, ibox of st). *plain is NULL when the
 * entry has neither; HE_CRYPTO when it cannot be opened (wrong key, tampering). */
int mstore_open_box(struct happ *app, struct db_stmt *st, int inonce, int ibox, const char *network,
		    const char *member, long long id, char **plain, size_t *len);
/* HE_OK with the consent's time and version (each may be NULL), HE_NOTFOUND, or HE_DB. */
int mstore_consent_get(struct happ *app, const char *network, const char *member, long long *given_at,
		       int *version);
long mstore_count(struct happ *app, const char *network, const char *member);  /* -1 on error */
/* Runs a one-row write keyed by (network, member). */
int mstore_run(struct happ *app, const char *sql, const char *network, const char *member);
/* True when the member has a reminder; minute and tz (the zone, "" = the bot's) may be NULL. */
bool mstore_reminder_get(struct happ *app, const char *network, const char *member, int *minute,
			 char *tz, size_t tzlen);

/* `!mood optin` showed the consent text now; was it within MOOD_OPTIN_WINDOW? */
int mstore_consent_shown(struct happ *app, const char *network, const char *member);
bool mstore_consent_shown_recently(struct happ *app, const char *network, const char *member);
/* Consent (version), the member's forget slot, and the end of the shown mark: one transaction. */
int mstore_consent_give(struct happ *app, const char *network, const char *member, int version);

/* Opens the `!mood forget confirm` window (MOOD_FORGET_WINDOW): an update in place of the
 * member's slot, so it needs no new page on a full disk. */
int mstore_forget_arm(struct happ *app, const char *network, const char *member);
/* Deletes everything of the member in one transaction and checkpoints the WAL. */
int mstore_forget_all(struct happ *app, const char *network, const char *member);
/* Consent and reminder, in one transaction; entries and the slot stay. */
int mstore_optout_all(struct happ *app, const char *network, const char *member);

#endif
