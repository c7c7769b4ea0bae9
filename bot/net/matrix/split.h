/* split.h - a long Markdown reply split into several, each valid on its own. */
#ifndef HEARTH_MX_SPLIT_H
#define HEARTH_MX_SPLIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct mx;

/* Bytes of rendering (plain body plus HTML) in one notice at most: far under the 65,536 bytes of
 * an event even once encrypted (JSON escaping, then base64), and still readable in one screen. */
#define MX_NOTICE_MAX 16000

/* Splits md (len bytes) into *n parts of at most max bytes each (max >= 64), in order: at a
 * paragraph break, else a line break, else a space, else at a character boundary (never inside
 * a UTF-8 sequence). A fenced code block cut in two is closed at the end of one part and opened
 * again (same fence, same info string) at the start of the next, so each part renders as the
 * whole would. The breaks themselves are dropped. *out is a new array of new strings (free with
 * mx_split_free), NULL when md is empty. */
int mx_md_split(const char *md, size_t len, size_t max, char ***out, size_t *n);
void mx_split_free(char **parts, size_t n);

/* The m.notice contents for md, in order: one when its rendering fits MX_NOTICE_MAX, else as
 * many as needed. Only the first replies to reply_to, unless in a thread (thread_root), where
 * every part belongs to it. mx non-NULL: a short one's rendering may come from mx's cache
 * (mx_notice_cached, with personal); a long one is never cached. *out is a new array of new
 * references; free with mx_notices_free. */
int mx_notices(struct mx *mx, const char *md, const char *reply_to, const char *thread_root,
	       bool personal, json_t ***out, size_t *n);
void mx_notices_free(json_t **parts, size_t n);

#endif
