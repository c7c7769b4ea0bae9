/* buf.c - growable byte buffer. */
#include "core/buf.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(struct hbuf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (b->oom)
		return HE_NOMEM;
	if (extra > (size_t)-1 / 2 - b->len)
		goto fail;
	if (b->max && extra > b->max - (b->len < b->max ? b->len : b->max))
		return HE_TOOBIG;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return HE_OK;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		goto fail;
	b->data = p;
	b->cap = cap;
	return HE_OK;
fail:
	b->oom = true;
	return HE_NOMEM;
}

int hbuf_append(struct hbuf *b, const void *data, size_t len)
{
	int rc = grow(b, len);
	if (rc)
		return rc;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return HE_OK;
}

int hbuf_puts(struct hbuf *b, const char *s) { return hbuf_append(b, s, strlen(s)); }
int hbuf_putc(struct hbuf *b, char c) { return hbuf_append(b, &c, 1); }

int hbuf_vprintf(struct hbuf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n, rc;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return HE_INVAL;
	rc = grow(b, (size_t)n);
	if (rc)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return HE_OK;
}

int hbuf_printf(struct hbuf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;
	va_start(ap, fmt);
	rc = hbuf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void hbuf_reset(struct hbuf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *hbuf_steal(struct hbuf *b)
{
	char *p = NULL;

	if (!b->oom) {
		p = b->data ? b->data : strdup("");
		b->data = NULL;
	}
	hbuf_free(b);
	return p;
}

void hbuf_free(struct hbuf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->oom = false;
}

const char *hbuf_str(const struct hbuf *b) { return b->data ? b->data : ""; }

/* ---------------------------------------------------------------- line reader */

void hlines_init(struct hlines *r, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->b.max = max;
}

void hlines_reset(struct hlines *r)
{
	if (r->b.oom) {               /* an allocation failed: start again with no memory held */
		size_t max = r->b.max;
		hbuf_free(&r->b);
		r->b.max = max;
	}
	hbuf_reset(&r->b);
	r->discarding = false;
	r->dropped = 0;
}

void hlines_free(struct hlines *r)
{
	if (!r)
		return;
	hbuf_free(&r->b);
	r->discarding = false;
	r->dropped = 0;
}

static void drop(struct hlines *r, size_t n)
{
	if (!r->discarding) {
		r->discarding = true;
		r->dropped = r->b.len;
		hbuf_reset(&r->b);
	}
	r->dropped = n > (size_t)-1 - r->dropped ? (size_t)-1 : r->dropped + n;
}

int hlines_feed(struct hlines *r, const char *data, size_t n, hlines_fn fn, void *ud)
{
	size_t start = 0;
	int rc;

	for (size_t i = 0; i <= n; i++) {
		bool eol = i < n && data[i] == '\n';

		if (i < n && !eol)
			continue;
		/* data[start, i) belongs to the current line */
		if (!r->discarding && i > start && hbuf_append(&r->b, data + start, i - start) != HE_OK)
			drop(r, i - start);
		else if (r->discarding)
			drop(r, i - start);
		if (!eol)
			break;
		if (r->discarding) {
			size_t d = r->dropped;
			hlines_reset(r);
			rc = fn(ud, NULL, d);
		} else {
			/* the line is passed from the buffer, which then starts the next one */
			rc = fn(ud, hbuf_str(&r->b), r->b.len);
			hbuf_reset(&r->b);
		}
		if (rc)
			return rc;
		start = i + 1;
	}
	return HE_OK;
}

int hlines_finish(struct hlines *r, hlines_fn fn, void *ud)
{
	int rc = HE_OK;

	if (!r->discarding && r->b.len)
		rc = fn(ud, hbuf_str(&r->b), r->b.len);
	hlines_reset(r);
	return rc;
}
