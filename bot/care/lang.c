/* lang.c - the language of each reply, members' own choice, and the `!lang` command. */
#include "care/lang.h"
#include "care/commands.h"
#include "care/content.h"
#include "care/phrase.h"
#include "care/rooms.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/text.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The member's id as a keyed hash (hex), so the table names nobody. */
static int member_key(struct happ *app, const char *network, const char *member, char out[33])
{
	const char *parts[] = { network, member };

	return store_keyed_id(app->store, "lang", "member_key", parts, 2, out);
}

int lang_member_get(struct happ *app, const char *network, const char *member, char *out, size_t outlen)
{
	struct db_stmt *st;
	char id[33];
	int rc;

	if (outlen)
		out[0] = '\0';
	if (!member || !*member || !app->store)
		return HE_OK;
	if ((rc = member_key(app, network, member, id)))
		return rc;
	st = db_stmtf(store_sql(app->store), "SELECT lang FROM member_lang WHERE network = ? AND member = ?",
		      "ss", network, id);
	if (!st)
		return HE_DB;
	if (db_step(st) == DB_ROW) {
		const char *l = db_col_text(st, 0);
		snprintf(out, outlen, "%s", l ? l : "");
	}
	db_reset(st);
	return HE_OK;
}

static int member_set(struct happ *app, const char *network, const char *member, const char *lang)
{
	char id[33];
	int rc = member_key(app, network, member, id);

	if (rc)
		return rc;
	return db_runf(store_sql(app->store), NULL, "INSERT INTO member_lang (network, member, lang) VALUES (?, ?, ?)"
		       " ON CONFLICT (network, member) DO UPDATE SET lang = excluded.lang", "sss", network, id, lang);
}

int lang_member_forget(struct happ *app, const char *network, const char *member)
{
	char id[33];
	int rc = member_key(app, network, member, id);

	if (rc)
		return rc;
	return db_runf(store_sql(app->store), NULL, "DELETE FROM member_lang WHERE network = ? AND member = ?", "ss",
		       network, id);
}

const char *lang_for_member(struct happ *app, const char *network, const char *member, char *buf, size_t buflen)
{
	if (lang_member_get(app, network, member, buf, buflen) != HE_OK || !buf[0] ||
	    !content_has_lang(app->content, buf))
		return app->cfg->language;
	return buf;
}

static const char *room_lang(struct hctx *ctx)
{
	const struct hmsg *m = ctx->msg;

	if (!ctx->lang_room[0]) {
		struct room_settings rs;
		if (m->is_private || rooms_get(ctx->app, m->network, m->room, &rs) != HE_OK)
			rooms_get_defaults(&rs);
		snprintf(ctx->lang_room, sizeof(ctx->lang_room), "%s", rooms_language(ctx->app, &rs));
	}
	return ctx->lang_room;
}

const char *hctx_lang(struct hctx *ctx, enum hdest dest)
{
	const struct hmsg *m = ctx->msg;

	if ((dest == HDEST_PRIVATE || m->is_private) && !m->sender_transient) {
		if (!ctx->lang_member_known) {
			ctx->lang_member_known = true;
			if (lang_member_get(ctx->app, m->network, m->sender, ctx->lang_member, sizeof(ctx->lang_member)))
				ctx->lang_member[0] = '\0';
		}
		if (ctx->lang_member[0] && content_has_lang(ctx->app->content, ctx->lang_member))
			return ctx->lang_member;
	}
	return room_lang(ctx);
}

const char *hctx_phrase(struct hctx *ctx, enum hdest dest, const char *key)
{
	return phrase(ctx->app->content, hctx_lang(ctx, dest), key);
}

const struct content *hctx_content(struct hctx *ctx, enum hdest dest)
{
	return content_for(ctx->app->content, hctx_lang(ctx, dest));
}

/* A language's own name, in that language ("Deutsch"), from its phrases. */
static const char *lang_name(struct hctx *ctx, const char *code)
{
	const char *n = phrase(ctx->app->content, code, "lang.name");

	return strcmp(n, "lang.name") == 0 ? code : n;
}

/* A copy of s with A-Z made a-z (nothing else changes: "én" stays no language code). */
static char *ascii_lower(const char *s)
{
	char *out = strdup(s);

	for (char *p = out; p && *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return out;
}

int cmd_lang(struct hctx *ctx)
{
	struct happ *app = ctx->app;
	const struct hmsg *m = ctx->msg;
	const char *args = ctx->args, *cur;
	char word[LANG_INPUT_MAX + 2], list[256], *folded = NULL;
	int rc;

	content_lang_list(app->content, list, sizeof(list));
	if (!*args) {
		cur = hctx_lang(ctx, HDEST_PRIVATE);
		if (m->sender_transient || !ctx->lang_member[0])
			return hctx_replyf(ctx, HDEST_PRIVATE, hctx_phrase(ctx, HDEST_PRIVATE, "lang.current_room"),
					   lang_name(ctx, cur), cur, list);
		return hctx_replyf(ctx, HDEST_PRIVATE, hctx_phrase(ctx, HDEST_PRIVATE, "lang.current_own"),
				   lang_name(ctx, cur), cur, list);
	}
	/* One short word of a-z, a language Hearth has: anything else is refused, nothing stored. */
	if (strlen(args) > LANG_INPUT_MAX || !text_next_word(&args, word, sizeof(word)) || *args ||
	    !(folded = ascii_lower(word)) || !content_lang_code(folded) || !content_has_lang(app->content, folded)) {
		free(folded);
		return hctx_replyf(ctx, HDEST_PRIVATE, hctx_phrase(ctx, HDEST_PRIVATE, "lang.unknown"), list);
	}
	if (m->sender_transient) {
		free(folded);
		cur = hctx_lang(ctx, HDEST_PRIVATE);
		return hctx_replyf(ctx, HDEST_PRIVATE, hctx_phrase(ctx, HDEST_PRIVATE, "lang.transient"),
				   lang_name(ctx, cur));
	}
	rc = member_set(app, m->network, m->sender, folded);
	if (rc) {
		free(folded);
		hlog_error("lang", "could not store a member's language: %s", he_str(rc));
		return hctx_reply(ctx, HDEST_PRIVATE, hctx_phrase(ctx, HDEST_PRIVATE, "lang.failed"));
	}
	snprintf(ctx->lang_member, sizeof(ctx->lang_member), "%s", folded);
	ctx->lang_member_known = true;
	free(folded);
	return hctx_replyf(ctx, HDEST_PRIVATE, hctx_phrase(ctx, HDEST_PRIVATE, "lang.set"),
			   lang_name(ctx, ctx->lang_member));
}
