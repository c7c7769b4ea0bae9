/* checkin.c - !checkin and the prompt rotation shared with scheduled check-ins. */
#include "care/checkin.h"
#include "care/content.h"
#include "care/lang.h"
#include "care/phrase.h"
#include "care/commands.h"
#include "care/reply.h"
#include "care/content.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct db_migration migrations[] = {
	/* 1: which prompt a room saw when; prompts are keyed by a hash of their text, so editing
	 * the pool never confuses the rotation. */
	{ "CREATE TABLE checkin_shown (network TEXT NOT NULL, room TEXT NOT NULL, prompt_hash INTEGER NOT NULL,"
	  " shown_at INTEGER NOT NULL, PRIMARY KEY (network, room, prompt_hash)) WITHOUT ROWID;"
	  "CREATE INDEX checkin_shown_when ON checkin_shown (network, room, shown_at);",
	  "CREATE TABLE checkin_shown (network TEXT NOT NULL, room TEXT NOT NULL, prompt_hash BIGINT NOT NULL,"
	  " shown_at BIGINT NOT NULL, PRIMARY KEY (network, room, prompt_hash));"
	  "CREATE INDEX checkin_shown_when ON checkin_shown (network, room, shown_at);" },
	/* 2: the order prompts were shown in a room, so "shown last" is exact even within a second. */
	{ "ALTER TABLE checkin_shown ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;",
	  "ALTER TABLE checkin_shown ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;" },
};

int checkin_migrate(struct store *s)
{
	return store_migrate_db(s, "checkin", migrations, sizeof(migrations) / sizeof(migrations[0]));
}

int checkin_init(struct happ *app)
{
	return checkin_migrate(app->store);
}

/* FNV-1a, as a signed 64-bit value (SQLite INTEGER, PostgreSQL BIGINT). */
static int64_t prompt_hash(const char *p)
{
	uint64_t h = 1469598103934665603ull;
	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return (int64_t)h;
}

int checkin_pick(struct happ *app, const char *network, const char *room, int avoid_days,
		 time_t now, const char **prompt)
{
	return checkin_pick_in(app, NULL, network, room, avoid_days, now, prompt);
}

int checkin_pick_in(struct happ *app, const char *lang, const char *network, const char *room, int avoid_days,
		    time_t now, const char **prompt)
{
	const struct content *c = content_for(app->content, lang);
	int64_t *hash = NULL, *seq = NULL, top = 0;
	struct db_stmt *st;
	size_t nnever, pick = 0;
	bool found = false;
	int rc = HE_OK;

	*prompt = NULL;
	if (!c || c->nprompts == 0)
		return HE_NOTFOUND;
	hash = calloc(c->nprompts, sizeof(*hash));
	seq = calloc(c->nprompts, sizeof(*seq)); /* 0: never shown here; else its place in order */
	if (!hash || !seq) {
		rc = HE_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < c->nprompts; i++)
		hash[i] = prompt_hash(c->prompts[i]);
	/* When each prompt was last shown in this room, oldest first (rows from before the order
	 * was kept have seq 0 and count as older, by time). */
	st = db_stmtf(store_sql(app->store), "SELECT prompt_hash, seq FROM checkin_shown WHERE network = ? AND"
				     " room = ? ORDER BY seq, shown_at", "ss", network, room);
	if (!st) {
		rc = HE_DB;
		goto out;
	}
	nnever = c->nprompts;
	for (int64_t place = 1; db_step(st) == DB_ROW; place++) {
		int64_t h = db_col_int64(st, 0);
		if (db_col_int64(st, 1) > top)
			top = db_col_int64(st, 1);
		for (size_t i = 0; i < c->nprompts; i++) {
			if (hash[i] == h && !seq[i]) {
				seq[i] = place;
				nnever--;
			}
		}
	}
	db_reset(st);
	if (nnever) {
		/* A random prompt this room has never seen, so rooms don't all walk the list in the
		 * same order. */
		size_t k = randombytes_uniform((uint32_t)nnever);
		for (size_t i = 0; i < c->nprompts && !found; i++)
			if (!seq[i] && k-- == 0)
				pick = i, found = true;
	} else {
		/* Every prompt was shown here: the one shown longest ago, so the one shown last comes
		 * round only after all the others (and never twice in a row while there are two). This
		 * also keeps avoid_days as well as the pool allows. */
		for (size_t i = 0; i < c->nprompts; i++)
			if (!found || seq[i] < seq[pick])
				pick = i, found = true;
	}
	rc = db_runf(store_sql(app->store), NULL, "INSERT INTO checkin_shown (network, room, prompt_hash, shown_at, seq)"
				    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (network, room, prompt_hash) DO UPDATE"
				    " SET shown_at = excluded.shown_at, seq = excluded.seq", "ssiii", network,
			room, (int64_t)hash[pick], (int64_t)now, (int64_t)(top + 1));
	if (rc == HE_OK)
		*prompt = c->prompts[pick];
out:
	free(hash);
	free(seq);
	return rc;
}

int checkin_forget(struct happ *app, const char *network, const char *member)
{
	return db_runf(store_sql(app->store), NULL, "DELETE FROM checkin_shown WHERE network = ? AND room = ?", "ss", network, member);
}

char *checkin_render(const struct happ *app, const char *lang, const char *prompt)
{
	char *out = NULL;
	if (asprintf(&out, "**%s** %s\n\n*%s*", phrase(app->content, lang, "checkin.title"), prompt,
		     phrase(app->content, lang, "checkin.passing")) < 0)
		return NULL;
	return out;
}

int cmd_checkin(struct hctx *ctx)
{
	const struct hmsg *m = ctx->msg;
	const char *prompt, *lang = hctx_lang(ctx, HDEST_SAME);
	char *md;
	/* Private chats rotate per member (cleared by !mood forget); rooms per room. "Not twice in
	 * a day" = a 1 day window. */
	int rc = checkin_pick_in(ctx->app, lang, m->network, m->is_private ? m->sender : m->room, 1,
				 happ_now(ctx->app), &prompt);

	if (rc)
		return hctx_reply(ctx, HDEST_SAME, hctx_phrase(ctx, HDEST_SAME, "checkin.failed"));
	md = checkin_render(ctx->app, lang, prompt);
	if (!md)
		return HE_NOMEM;
	rc = hctx_reply_checkin(ctx, md); /* one-tap answers where the network has them */
	free(md);
	return rc;
}
