/* lang.h - which language Hearth speaks to whom, and the `!lang` command.
 *
 * A group room speaks its own language (`!mod set language`, else [bot] language). A member
 * may choose their own language for private replies with `!lang CODE`; it is stored per member
 * as a keyed hash of their id (never for a sender_transient sender, whose id can pass to
 * someone else) and deleted with everything else by `!mood forget confirm`. Private replies use
 * the member's choice, else the room's language. Crisis answers too: they never fail for a
 * missing translation, since every language borrows what it lacks from English. */
#ifndef HEARTH_LANG_H
#define HEARTH_LANG_H

#include <stddef.h>

#include "care/reply.h"
#include "core/app.h"

#define LANG_INPUT_MAX 8    /* bytes of a language code a member may type */

/* The language to speak to ctx's sender for a reply sent to dest. Never NULL ("en" at worst). */
const char *hctx_lang(struct hctx *ctx, enum hdest dest);
/* The phrase key (care/phrase.h) in that language. Never NULL. */
const char *hctx_phrase(struct hctx *ctx, enum hdest dest, const char *key);
/* The content (topics, prompts, ...) in that language. NULL only when no content is loaded. */
const struct content *hctx_content(struct hctx *ctx, enum hdest dest);

/* The member's own language into out ("" when none was chosen). */
int lang_member_get(struct happ *app, const char *network, const char *member, char *out, size_t outlen);
/* The language for an unprompted private post to member (their own, else [bot] language). */
const char *lang_for_member(struct happ *app, const char *network, const char *member, char *buf, size_t buflen);
/* Deletes the member's choice (part of `!mood forget confirm`). */
int lang_member_forget(struct happ *app, const char *network, const char *member);

#endif
