/* md.c - Markdown to HTML and plain text through md4c. */
#include "core/md.h"
#include "core/buf.h"
#include "core/err.h"

#include <md4c-html.h>
#include <md4c.h>
#include <string.h>

static void html_out(const MD_CHAR *text, MD_SIZE size, void *ud)
{
	hbuf_append(ud, text, size);
}

int md_to_html(const char *md, size_t len, char **out)
{
	struct hbuf b = HBUF_INIT;

	*out = NULL;
	if (md_html(md, (MD_SIZE)len, html_out, &b, MD_FLAG_NOHTML | MD_FLAG_STRIKETHROUGH |
		    MD_FLAG_PERMISSIVEURLAUTOLINKS | MD_FLAG_TABLES, 0) != 0) {
		hbuf_free(&b);
		return HE_INVAL;
	}
	/* md4c ends blocks with a newline; Matrix clients render them, so trim the last one. */
	while (b.len && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	*out = hbuf_steal(&b);
	return *out ? HE_OK : HE_NOMEM;
}

struct plain {
	struct hbuf b;
	int list_depth;
	int ol_index[8];
	bool ordered[8];
	bool pending_break;     /* a block ended; separate the next one */
	int quote;
	const char *href;
	size_t href_len;
};

static void plain_break(struct plain *p)
{
	if (p->pending_break && p->b.len) {
		hbuf_puts(&p->b, p->list_depth ? "\n" : "\n\n");
		for (int i = 0; i < p->quote; i++)
			hbuf_puts(&p->b, "> ");
	}
	p->pending_break = false;
}

static int enter_block(MD_BLOCKTYPE type, void *detail, void *ud)
{
	struct plain *p = ud;

	switch (type) {
	case MD_BLOCK_UL:
	case MD_BLOCK_OL:
		if (p->list_depth < 8) {
			p->ordered[p->list_depth] = type == MD_BLOCK_OL;
			p->ol_index[p->list_depth] =
				type == MD_BLOCK_OL ? (int)((MD_BLOCK_OL_DETAIL *)detail)->start : 0;
		}
		if (p->list_depth == 0 && p->b.len)
			p->pending_break = true;
		p->list_depth++;
		break;
	case MD_BLOCK_LI: {
		int d = p->list_depth - 1;
		if (p->b.len)
			hbuf_puts(&p->b, p->pending_break && p->list_depth == 1 ? "\n\n" : "\n");
		p->pending_break = false;
		for (int i = 1; i < p->list_depth; i++)
			hbuf_puts(&p->b, "  ");
		if (d >= 0 && d < 8 && p->ordered[d])
			hbuf_printf(&p->b, "%d. ", p->ol_index[d]++);
		else
			hbuf_puts(&p->b, "- ");
		break;
	}
	case MD_BLOCK_QUOTE:
		plain_break(p);
		p->quote++;
		hbuf_puts(&p->b, "> ");
		break;
	case MD_BLOCK_HR:
		plain_break(p);
		hbuf_puts(&p->b, "----");
		p->pending_break = true;
		break;
	case MD_BLOCK_P:
	case MD_BLOCK_H:
	case MD_BLOCK_CODE:
	case MD_BLOCK_TABLE:
		if (p->list_depth == 0)
			plain_break(p);
		break;
	case MD_BLOCK_TR:
		if (p->b.len)
			hbuf_putc(&p->b, '\n');
		break;
	case MD_BLOCK_TH:
	case MD_BLOCK_TD:
		hbuf_puts(&p->b, " | ");
		break;
	default:
		break;
	}
	return 0;
}

static int leave_block(MD_BLOCKTYPE type, void *detail, void *ud)
{
	struct plain *p = ud;

	switch (type) {
	case MD_BLOCK_UL:
	case MD_BLOCK_OL:
		p->list_depth--;
		p->pending_break = true;
		break;
	case MD_BLOCK_QUOTE:
		p->quote--;
		p->pending_break = true;
		break;
	case MD_BLOCK_P:
	case MD_BLOCK_H:
	case MD_BLOCK_CODE:
	case MD_BLOCK_TABLE:
		if (p->list_depth == 0)
			p->pending_break = true;
		break;
	default:
		break;
	}
	return 0;
}

static int enter_span(MD_SPANTYPE type, void *detail, void *ud)
{
	struct plain *p = ud;

	if (type == MD_SPAN_A) {
		MD_SPAN_A_DETAIL *a = detail;
		p->href = a->href.text;
		p->href_len = a->href.size;
	}
	return 0;
}

static int leave_span(MD_SPANTYPE type, void *detail, void *ud)
{
	struct plain *p = ud;

	if (type == MD_SPAN_A && p->href) {
		/* Autolinks show the URL already; other links get it in brackets. */
		const char *tail = p->b.data + (p->b.len >= p->href_len ? p->b.len - p->href_len : 0);
		if (!(p->b.len >= p->href_len && memcmp(tail, p->href, p->href_len) == 0)) {
			hbuf_puts(&p->b, " (");
			hbuf_append(&p->b, p->href, p->href_len);
			hbuf_putc(&p->b, ')');
		}
		p->href = NULL;
	}
	return 0;
}

static int on_text(MD_TEXTTYPE type, const MD_CHAR *text, MD_SIZE size, void *ud)
{
	struct plain *p = ud;

	plain_break(p);
	switch (type) {
	case MD_TEXT_BR:
		hbuf_putc(&p->b, '\n');
		break;
	case MD_TEXT_SOFTBR:
		hbuf_putc(&p->b, ' ');
		break;
	case MD_TEXT_NULLCHAR:
		break;
	case MD_TEXT_ENTITY:
		/* The few entities content uses; others pass through as written. */
		if (size == 5 && memcmp(text, "&amp;", 5) == 0)
			hbuf_putc(&p->b, '&');
		else if (size == 4 && memcmp(text, "&lt;", 4) == 0)
			hbuf_putc(&p->b, '<');
		else if (size == 4 && memcmp(text, "&gt;", 4) == 0)
			hbuf_putc(&p->b, '>');
		else if (size == 6 && memcmp(text, "&nbsp;", 6) == 0)
			hbuf_putc(&p->b, ' ');
		else
			hbuf_append(&p->b, text, size);
		break;
	default:
		hbuf_append(&p->b, text, size);
		break;
	}
	return 0;
}

int md_to_plain(const char *md, size_t len, char **out)
{
	struct plain p = { .b = HBUF_INIT };
	MD_PARSER parser = {
		.abi_version = 0,
		.flags = MD_FLAG_NOHTML | MD_FLAG_STRIKETHROUGH | MD_FLAG_PERMISSIVEURLAUTOLINKS | MD_FLAG_TABLES,
		.enter_block = enter_block,
		.leave_block = leave_block,
		.enter_span = enter_span,
		.leave_span = leave_span,
		.text = on_text,
	};

	*out = NULL;
	if (md_parse(md, (MD_SIZE)len, &parser, &p) != 0) {
		hbuf_free(&p.b);
		return HE_INVAL;
	}
	*out = hbuf_steal(&p.b);
	return *out ? HE_OK : HE_NOMEM;
}
