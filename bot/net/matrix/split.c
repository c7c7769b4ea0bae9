/* split.c - a long reply split into several notices, not cut.
 *
 * A reply whose rendering is over MX_NOTICE_MAX (an export listing, a long history) is split in
 * its Markdown source: at a paragraph break, else a line break, else a space, else a character
 * boundary, so no word and no UTF-8 sequence is broken unless a single word is longer than a
 * notice. A fenced code block cut in two is closed and opened again, so each notice renders as
 * that piece of the whole would. A piece whose rendering is still too large (HTML escaping can
 * make it several times its source) is split again, smaller. */
#include "net/matrix/split.h"
#include "net/matrix/mx.h"
#include "core/err.h"
#include "core/text.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SPLIT_MIN 64          /* bytes: the smallest part size mx_md_split accepts */
#define NOTICE_BUDGET_MIN 256 /* source bytes: below this a piece is not split again */

/* ---- the splitter ---- */

struct fence {
	bool open;
	char ch;          /* '`' or '~' */
	size_t len;       /* its run */
	const char *line; /* the opening line (in md), to open it again */
	size_t line_len;
};

/* A fence line: up to three spaces, then three or more '`' or '~'. Its run, 0 when not one;
 * *after is the index just past the run. */
static size_t fence_run(const char *s, size_t n, char *ch, size_t *after)
{
	size_t i = 0, run = 0;

	while (i < 3 && i < n && s[i] == ' ')
		i++;
	if (i >= n || (s[i] != '`' && s[i] != '~'))
		return 0;
	*ch = s[i];
	while (i + run < n && s[i + run] == *ch)
		run++;
	*after = i + run;
	return run >= 3 ? run : 0;
}

/* Follows the fences through s (n bytes); line_start: s begins a line. */
static void fence_scan(struct fence *f, const char *s, size_t n, bool line_start)
{
	size_t i = 0;

	while (i < n) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - s) : n, after = 0, run;
		char ch = 0;

		if (line_start && (run = fence_run(s + i, end - i, &ch, &after))) {
			const char *rest = s + i + after;
			size_t rest_len = end - i - after;
			if (!f->open) {
				/* a backtick fence's info string has no backtick (else it is inline code) */
				if (ch != '`' || !memchr(rest, '`', rest_len)) {
					f->open = true;
					f->ch = ch;
					f->len = run;
					f->line = s + i;
					f->line_len = end - i;
				}
			} else if (ch == f->ch && run >= f->len) {
				size_t k = 0;
				while (k < rest_len && (rest[k] == ' ' || rest[k] == '\t' || rest[k] == '\r'))
					k++;
				if (k == rest_len)
					f->open = false;
			}
		}
		if (!nl)
			break;
		line_start = true;
		i = end + 1;
	}
}

/* Whether an open fence is closed at the end of a part and opened again in the next (not a
 * hostile run that would fill a part). */
static bool fence_carried(const struct fence *f, size_t max)
{
	return f->open && f->len <= max / 8;
}

/* Whether an open fence is carried into this part, and with what opening line: the run alone
 * when its info string is long (a hostile one could fill a part). */
static bool fence_carry(const struct fence *f, size_t max, const char **line, size_t *line_len)
{
	if (!fence_carried(f, max))
		return false;
	if (f->line_len <= max / 4) {
		*line = f->line;
		*line_len = f->line_len;
	} else {
		*line = NULL; /* the run of f->ch alone */
		*line_len = f->len;
	}
	return true;
}

enum cut_kind { CUT_END, CUT_PARAGRAPH, CUT_LINE, CUT_WORD, CUT_HARD };

/* Where the part starting at s (n bytes left) ends, at most avail bytes in. */
static size_t pick_cut(const char *s, size_t n, size_t avail, enum cut_kind *kind)
{
	size_t lo = avail / 4, c;

	if (n <= avail) {
		*kind = CUT_END;
		return n;
	}
	for (c = avail; c > lo; c--)
		if (s[c] == '\n' && (s[c - 1] == '\n' || (s[c - 1] == '\r' && c >= 2 && s[c - 2] == '\n'))) {
			*kind = CUT_PARAGRAPH;
			return c;
		}
	for (c = avail; c > lo; c--)
		if (s[c] == '\n') {
			*kind = CUT_LINE;
			return c;
		}
	for (c = avail; c > lo; c--)
		if (s[c] == ' ' || s[c] == '\t') {
			*kind = CUT_WORD;
			return c;
		}
	*kind = CUT_HARD;
	c = text_utf8_prefix(s, n, avail);
	return c ? c : avail; /* not UTF-8 at all: any byte will do */
}

static void put(char **w, const char *s, size_t n)
{
	memcpy(*w, s, n);
	*w += n;
}

void mx_split_free(char **parts, size_t n)
{
	if (!parts)
		return;
	for (size_t i = 0; i < n; i++)
		free(parts[i]);
	free(parts);
}

int mx_md_split(const char *md, size_t len, size_t max, char ***out, size_t *n)
{
	struct fence f = { 0 };
	char **parts = NULL, **grown, *p, *w;
	size_t pos = 0, np = 0, cap = 0;
	bool line_start = true;
	int rc = HE_OK;

	*out = NULL;
	*n = 0;
	if (max < SPLIT_MIN)
		return HE_INVAL;
	while (pos < len) {
		const char *pre = NULL, *s = md + pos;
		size_t pre_len = 0, avail = max, cut = 0, body, suf_len = 0, room;
		bool carried = fence_carry(&f, max, &pre, &pre_len);
		struct fence after;
		enum cut_kind kind;

		if (carried && line_start) {
			/* The part would open the fence only to close it: the previous one did. */
			const char *nl = memchr(s, '\n', len - pos);
			size_t line = nl ? (size_t)(nl - s) : len - pos;
			after = f;
			fence_scan(&after, s, line, true);
			if (!after.open) {
				f = after;
				pos += nl ? line + 1 : line;
				continue;
			}
		}

		if (carried)
			avail -= pre_len + 1;
		/* The cut, then the closing fence it needs: cut again earlier until both fit. */
		for (;;) {
			cut = pick_cut(s, len - pos, avail, &kind);
			after = f;
			fence_scan(&after, s, cut, line_start);
			suf_len = kind != CUT_END && fence_carried(&after, max) ? 1 + after.len : 0;
			if ((carried ? pre_len + 1 : 0) + cut + suf_len <= max || avail <= max / 2)
				break;
			room = max - (carried ? pre_len + 1 : 0) - suf_len;
			avail = room < avail ? room : avail - 1; /* only ever smaller: it ends */
		}
		/* The break itself is dropped: trailing blanks here, the separators after the cut. */
		body = cut;
		while (body > 0 && (s[body - 1] == '\n' || s[body - 1] == '\r' ||
				    (s[body - 1] == ' ' && kind != CUT_HARD)))
			body--;
		pos += cut;
		if (kind == CUT_PARAGRAPH || kind == CUT_LINE)
			while (pos < len && (md[pos] == '\n' || md[pos] == '\r'))
				pos++;
		else if (kind == CUT_WORD)
			while (pos < len && (md[pos] == ' ' || md[pos] == '\t'))
				pos++;
		line_start = kind == CUT_PARAGRAPH || kind == CUT_LINE;
		if (body == 0 && !carried) {
			f = after;
			continue; /* nothing but blanks */
		}
		if (!(p = malloc((carried ? pre_len + 1 : 0) + body + suf_len + 2))) {
			rc = HE_NOMEM;
			goto out;
		}
		w = p;
		if (carried) {
			if (pre)
				put(&w, pre, pre_len);
			else
				for (size_t k = 0; k < pre_len; k++)
					*w++ = f.ch;
			*w++ = '\n';
		}
		put(&w, s, body);
		if (suf_len) {
			*w++ = '\n';
			for (size_t k = 0; k + 1 < suf_len; k++)
				*w++ = after.ch;
		}
		*w = '\0';
		f = after;
		if (np == cap) {
			cap = cap ? cap * 2 : 4;
			if (!(grown = realloc(parts, cap * sizeof(*parts)))) {
				free(p);
				rc = HE_NOMEM;
				goto out;
			}
			parts = grown;
		}
		parts[np++] = p;
	}
out:
	if (rc) {
		mx_split_free(parts, np);
		return rc;
	}
	*out = parts;
	*n = np;
	return HE_OK;
}

/* ---- notices ---- */

struct notices {
	json_t **v;
	size_t n, cap;
};

static size_t rendered_size(const json_t *c)
{
	const char *body = json_string_value(json_object_get(c, "body"));
	const char *html = json_string_value(json_object_get(c, "formatted_body"));

	return (body ? strlen(body) : 0) + (html ? strlen(html) : 0);
}

static int notices_add(struct notices *ns, json_t *c)
{
	json_t **grown;

	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 4;
		if (!(grown = realloc(ns->v, cap * sizeof(*grown)))) {
			json_decref(c);
			return HE_NOMEM;
		}
		ns->v = grown;
		ns->cap = cap;
	}
	ns->v[ns->n++] = c;
	return HE_OK;
}

/* md split at budget source bytes; a piece whose rendering is still too large is split again. */
static int add_pieces(struct notices *ns, const char *md, size_t budget, const char *reply_to,
		      const char *thread_root)
{
	char **parts = NULL;
	size_t np = 0;
	int rc = mx_md_split(md, strlen(md), budget, &parts, &np);

	for (size_t i = 0; rc == HE_OK && i < np; i++) {
		/* Only the first notice is the reply; in a thread every one needs the relation. */
		const char *rel = (ns->n == 0 || thread_root) ? reply_to : NULL;
		json_t *c = mx_notice_content(parts[i], rel, thread_root);
		if (!c)
			rc = HE_NOMEM;
		else if (rendered_size(c) <= MX_NOTICE_MAX || budget / 2 < NOTICE_BUDGET_MIN)
			rc = notices_add(ns, c); /* at the floor, notice_build cuts what is left */
		else {
			json_decref(c);
			rc = add_pieces(ns, parts[i], budget / 2, reply_to, thread_root);
		}
	}
	mx_split_free(parts, np);
	return rc;
}

void mx_notices_free(json_t **parts, size_t n)
{
	if (!parts)
		return;
	for (size_t i = 0; i < n; i++)
		json_decref(parts[i]);
	free(parts);
}

int mx_notices(struct mx *mx, const char *md, const char *reply_to, const char *thread_root,
	       bool personal, json_t ***out, size_t *n)
{
	struct notices ns = { 0 };
	json_t *one;
	int rc;

	*out = NULL;
	*n = 0;
	one = mx ? mx_notice_cached(mx, md, reply_to, thread_root, personal)
		 : mx_notice_content(md, reply_to, thread_root);
	if (!one)
		return HE_NOMEM;
	if (rendered_size(one) <= MX_NOTICE_MAX) {
		rc = notices_add(&ns, one);
	} else {
		json_decref(one);
		rc = add_pieces(&ns, md, MX_NOTICE_MAX / 2, reply_to, thread_root);
	}
	if (rc == HE_OK && ns.n == 0) /* only blanks: one notice still */
		rc = (one = mx_notice_content(md, reply_to, thread_root)) ? notices_add(&ns, one)
									    : HE_NOMEM;
	if (rc) {
		mx_notices_free(ns.v, ns.n);
		return rc;
	}
	*out = ns.v;
	*n = ns.n;
	return HE_OK;
}
