/* crisis.h - crisis safety: detection, the private answer, moderators' alerts.
 *
 * Every message Hearth sees passes through crisis_scan() before commands run, in paused rooms
 * and in quiet hours too. When it holds crisis language (content/crisis/patterns-LANG.txt, matched
 * on whole words after text_fold, see care/crisis_rules.h), the sender gets a fixed, human-reviewed answer privately: the
 * crisis response text and the vetted resources for [crisis] country, plus the international
 * directory. Automatic answers are rate-limited per member ([crisis] rate_minutes); `!crisis`
 * always answers. A room with crisis_alert_room set also gets a note in that moderators' room
 * saying only that someone there may need support, rate-limited per room.
 *
 * Privacy: the member's words are never repeated (not in replies, alerts or logs) and logs never
 * name the member. The rate limits live in memory only, keyed by a keyed hash of the member or
 * room, so nothing about who triggered an answer is written to disk; a restart forgets them,
 * which errs on the side of answering. */
#ifndef HEARTH_CRISIS_H
#define HEARTH_CRISIS_H

#include "care/reply.h"
#include "core/app.h"

struct content;

int crisis_init(struct happ *app);
void crisis_free(struct happ *app);      /* accepts an app without crisis state */

/* cmd_crisis (declared in commands.h), `!crisis`: the answer, privately, with no rate limit,
 * also in paused rooms. In a group room the room gets a one-line pointer. */

/* Runs on every message: when it holds crisis language, answers privately (rate-limited per
 * member) and alerts the room's moderators' room if one is configured. Always returns 0 so that
 * a command in the same message still runs. */
int crisis_scan(struct hctx *ctx);

/* How much of a message is scanned: longer messages are scanned up to here, whatever their
 * size or encoding, before any check of the command. */
#define CRISIS_SCAN_MAX (16 * 1024)

/* The matcher, pure: 1 when the first CRISIS_SCAN_MAX bytes of text (any bytes, NUL-terminated;
 * bytes that are not UTF-8 are read as Latin-1) hold a signal of c's crisis patterns that no
 * exception overlaps (care/crisis_rules.h); 0 when not; HE_NOMEM. */
int crisis_match(const struct content *c, const char *text);

/* Checks a [crisis] country value against c's resource lists: an ISO code in any case ("GB"),
 * or a common alias ("uk", "usa", "america", "england", ...), is rewritten in *country as the
 * code of its list. An unknown value, or a country without a list, is HE_INVAL with a message
 * in err that names the key and lists the known codes; HE_NOMEM. */
int crisis_country_resolve(const struct content *c, char **country, char *err, size_t errlen);

/* The full answer a member gets (Markdown, malloc'd), or NULL on allocation failure. */
char *crisis_answer(const struct happ *app);
/* The same for a given country code (a room's own, rooms.h). */
char *crisis_answer_in(const struct happ *app, const char *country);
/* The same in lang (content_for: English where the language lacks a piece). */
char *crisis_answer_lang(const struct happ *app, const char *lang, const char *country);

#endif
