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
