/* checkin.c - !checkin and the prompt rotation shared with scheduled check-ins. */
#include "care/checkin.h"
#include "care/commands.h"
#include "care/content.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const migrations[] = {
	/* 1: which prompt a room saw when; prompts are keyed by their text, so editing the pool
	 * never confuses the rotation. */
	"CREATE TABLE checkin_shown (network TEXT NOT NULL, room TEXT NOT NULL, prompt TEXT NOT NULL,"
	" shown_at INTEGER NOT NULL, PRIMARY KEY (network, room, prompt)) WITHOUT ROWID;",
};

int checkin_init(struct happ *app)
{
	return store_migrate(app->store, "checkin", migrations, sizeof(migrations) / sizeof(migrations[0]));
}

int checkin_pick(struct happ *app, const char *network, const char *room, int avoid_days,
		 time_t now, const char **prompt)
{
	const struct content *c = app->content;
	sqlite3_stmt *st;
	long long *shown = NULL;
	size_t nfresh = 0, pick = 0, oldest = 0;
	int rc = HE_OK;

	*prompt = NULL;
	shown = calloc(c->nprompts, sizeof(*shown));
	if (!shown)
		return HE_NOMEM;
	st = store_stmt(app->store, "SELECT shown_at FROM checkin_shown WHERE network = ? AND room = ? AND prompt = ?");
	if (!st) {
		rc = HE_DB;
		goto out;
	}
	for (size_t i = 0; i < c->nprompts; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, network, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, room, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, c->prompts[i], -1, SQLITE_STATIC);
		shown[i] = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
		if (shown[i] < 0 || shown[i] <= (long long)now - (long long)avoid_days * 86400)
			nfresh++;
		if (shown[i] < shown[oldest])
			oldest = i;
	}
	sqlite3_reset(st);
	if (nfresh) {
		/* A random fresh prompt, so rooms don't all walk the list in the same order. */
		size_t k = randombytes_uniform((uint32_t)nfresh);
		for (size_t i = 0; i < c->nprompts; i++) {
			if (shown[i] < 0 || shown[i] <= (long long)now - (long long)avoid_days * 86400) {
				if (k-- == 0) {
					pick = i;
					break;
				}
			}
		}
	} else {
		pick = oldest;
	}
	st = store_stmt(app->store, "INSERT INTO checkin_shown (network, room, prompt, shown_at) VALUES (?, ?, ?, ?)"
				    " ON CONFLICT (network, room, prompt) DO UPDATE SET shown_at = excluded.shown_at");
	if (!st) {
		rc = HE_DB;
		goto out;
	}
	sqlite3_bind_text(st, 1, network, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, room, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, c->prompts[pick], -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)now);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = HE_DB;
	sqlite3_reset(st);
	*prompt = c->prompts[pick];
out:
	free(shown);
	return rc;
}

char *checkin_render(const char *prompt)
{
	char *out = NULL;
	if (asprintf(&out, "**Check-in:** %s\n\n*Share as much or as little as you like. Passing is always fine.*",
		     prompt) < 0)
		return NULL;
	return out;
}

int cmd_checkin(struct hctx *ctx)
{
	const struct hmsg *m = ctx->msg;
	const char *prompt;
	char *md;
	/* Private chats rotate per member; rooms per room. "Not twice in a day" = 1 day window. */
	int rc = checkin_pick(ctx->app, m->network, m->is_private ? m->sender : m->room, 1,
			      happ_now(ctx->app), &prompt);

	if (rc)
		return hctx_reply(ctx, HDEST_SAME, "Sorry, I couldn't pick a check-in just now. Please try again in a moment.");
	md = checkin_render(prompt);
	if (!md)
		return HE_NOMEM;
	rc = hctx_reply(ctx, HDEST_SAME, md);
	free(md);
	return rc;
}
