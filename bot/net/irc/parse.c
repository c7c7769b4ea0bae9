/* parse.c - IRC line parsing, ISUPPORT, case mapping, formatting, splitting, token bucket and
 * SASL chunking: the pure pieces of the IRC transport (no I/O, no global state). */
#include "net/irc/parse.h"
#include "core/err.h"
#include "core/text.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- parsing */

static void tags_unescape(char *v)
{
	char *w = v;

	for (char *r = v; *r; r++) {
		if (*r != '\\') {
			*w++ = *r;
			continue;
		}
		r++;
		switch (*r) {
		case '\0': r--; break;            /* a trailing lone backslash is dropped */
		case ':': *w++ = ';'; break;
		case 's': *w++ = ' '; break;
		case '\\': *w++ = '\\'; break;
		case 'r': *w++ = '\r'; break;
		case 'n': *w++ = '\n'; break;
		default: *w++ = *r; break;        /* unknown escape: the backslash is dropped */
		}
	}
	*w = '\0';
}

static void tags_parse(struct irc_msg *m, char *s)
{
	char *save = NULL;

	for (char *item = strtok_r(s, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(item, '=');
		const char *val = "";
		size_t i;

		if (eq) {
			*eq = '\0';
			tags_unescape(eq + 1);
			val = eq + 1;
		}
		if (!*item)
			continue;
		for (i = 0; i < m->ntags; i++)
			if (strcmp(m->tags[i].key, item) == 0)
				break;
		if (i == m->ntags) {
			if (m->ntags == IRC_MAX_TAGS)
				continue;
			m->ntags++;
		}
		m->tags[i].key = item;    /* the last duplicate wins */
		m->tags[i].value = val;
	}
}

int irc_parse(const char *line, size_t len, size_t linelen, struct irc_msg *m)
{
	char *p, *end;

	m->ntags = 0;
	m->nparams = 0;
	m->source = NULL;
	m->verb = NULL;
	if (linelen == 0)
		linelen = IRC_LINE_MAX;
	if (linelen > IRC_LINELEN_CAP)
		linelen = IRC_LINELEN_CAP;
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len > IRC_READ_MAX)
		return HE_TOOBIG;
	if (memchr(line, '\0', len))
		return HE_PROTO;
	memcpy(m->buf, line, len);
	m->buf[len] = '\0';
	p = m->buf;
	end = p + len;

	if (*p == '@') {
		char *sp = strchr(p, ' ');
		size_t taglen = sp ? (size_t)(sp - p) + 1 : len;
		if (taglen > IRC_TAGS_MAX)
			return HE_TOOBIG;
		if (sp)
			*sp = '\0';
		tags_parse(m, p + 1);
		p = sp ? sp + 1 : end;
	}
	while (*p == ' ')
		p++;
	if ((size_t)(end - p) + 2 > linelen)
		return HE_TOOBIG;
	if (!*p)
		return m->ntags ? HE_PROTO : HE_AGAIN;
	if (*p == ':') {
		char *sp = strchr(p, ' ');
		m->source = p + 1;
		if (!sp)
			return HE_PROTO;
		*sp = '\0';
		p = sp + 1;
		while (*p == ' ')
			p++;
	}
	if (!*p)
		return HE_PROTO;
	m->verb = p;
	p = strchr(p, ' ');
	if (p) {
		*p++ = '\0';
		for (;;) {
			while (*p == ' ')
				p++;
			if (!*p)
				break;
			if (*p == ':' || m->nparams == IRC_MAX_PARAMS - 1) {
				/* trailing, or the 15th parameter which takes the rest (RFC 2812) */
				m->params[m->nparams++] = *p == ':' ? p + 1 : p;
				break;
			}
			m->params[m->nparams++] = p;
			p = strchr(p, ' ');
			if (!p)
				break;
			*p++ = '\0';
		}
	}
	return HE_OK;
}

const char *irc_msg_tag(const struct irc_msg *m, const char *key)
{
	for (size_t i = 0; i < m->ntags; i++)
		if (strcmp(m->tags[i].key, key) == 0)
			return m->tags[i].value;
	return NULL;
}

const char *irc_msg_param(const struct irc_msg *m, size_t i)
{
	return i < m->nparams ? m->params[i] : "";
}

int irc_format(struct hbuf *out, const struct irc_tag *tags, size_t ntags, const char *source,
	       const char *verb, const char *const *params, size_t nparams)
{
	if (ntags) {
		hbuf_putc(out, '@');
		for (size_t i = 0; i < ntags; i++) {
			if (i)
				hbuf_putc(out, ';');
			hbuf_puts(out, tags[i].key);
			if (!tags[i].value || !*tags[i].value)
				continue;
			hbuf_putc(out, '=');
			for (const char *v = tags[i].value; *v; v++) {
				switch (*v) {
				case ';': hbuf_puts(out, "\\:"); break;
				case ' ': hbuf_puts(out, "\\s"); break;
				case '\\': hbuf_puts(out, "\\\\"); break;
				case '\r': hbuf_puts(out, "\\r"); break;
				case '\n': hbuf_puts(out, "\\n"); break;
				default: hbuf_putc(out, *v); break;
				}
			}
		}
		hbuf_putc(out, ' ');
	}
	if (source) {
		hbuf_putc(out, ':');
		hbuf_puts(out, source);
		hbuf_putc(out, ' ');
	}
	hbuf_puts(out, verb);
	for (size_t i = 0; i < nparams; i++) {
		const char *p = params[i];
		hbuf_putc(out, ' ');
		if (i + 1 == nparams && (!*p || *p == ':' || strchr(p, ' ')))
			hbuf_putc(out, ':');
		hbuf_puts(out, p);
	}
	return out->oom ? HE_NOMEM : HE_OK;
}

/* ---------------------------------------------------------------- log lines */

struct lout {
	char *p;
	size_t cap, len;
};

static void lput(struct lout *o, const char *s, size_t n)
{
	if (o->len + 1 >= o->cap)
		return;
	if (n > o->cap - 1 - o->len)
		n = o->cap - 1 - o->len;
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static bool word_is(const char *w, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(w, name, n) == 0;
}

size_t irc_log_line(const char *line, size_t len, char *out, size_t outlen)
{
	struct lout o = { out, outlen, 0 };
	const char *p = line, *end, *w;
	size_t n;

	if (!outlen)
		return 0;
	out[0] = '\0';
	if ((end = memchr(line, '\0', len)))
		len = (size_t)(end - line);              /* a NUL ends what is shown */
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	end = line + len;
	if (p < end && *p == '@') {
		/* tags: server tags (time, account, msgid) stay, client-only "+" tags hold member
		 * text and are left out */
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		const char *t = p + 1, *tend = sp ? sp : end;
		bool any = false;
		while (t < tend) {
			const char *semi = memchr(t, ';', (size_t)(tend - t));
			const char *iend = semi ? semi : tend;
			if (iend > t && *t != '+') {
				lput(&o, any ? ";" : "@", 1);
				lput(&o, t, (size_t)(iend - t));
				any = true;
			}
			t = iend + 1;
		}
		if (any)
			lput(&o, " ", 1);
		p = sp ? sp + 1 : end;
	}
	while (p < end && *p == ' ')
		p++;
	if (p < end && *p == ':') {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		const char *send = sp ? sp : end;
		lput(&o, p, (size_t)(send - p));
		lput(&o, " ", 1);
		p = send;
		while (p < end && *p == ' ')
			p++;
	}
	w = p;
	while (p < end && *p != ' ')
		p++;
	n = (size_t)(p - w);
	lput(&o, w, n);
	if (word_is(w, n, "PRIVMSG") || word_is(w, n, "NOTICE")) {
		/* the target stays, the text (mood notes, replies, CTCP) never reaches a log */
		while (p < end && *p == ' ')
			p++;
		if (p < end && *p != ':') {
			const char *t = p;
			while (p < end && *p != ' ')
				p++;
			lput(&o, " ", 1);
			lput(&o, t, (size_t)(p - t));
			while (p < end && *p == ' ')
				p++;
		}
		if (p < end)
			lput(&o, " :(text hidden)", 15);
		return o.len;
	}
	if (word_is(w, n, "AUTHENTICATE")) {
		const char *a = p;
		size_t an;
		while (a < end && *a == ' ')
			a++;
		an = (size_t)(end - a);
		if (an && (word_is(a, an, "+") || word_is(a, an, "*") || word_is(a, an, "PLAIN") ||
			   word_is(a, an, "EXTERNAL") || word_is(a, an, "SCRAM-SHA-256") ||
			   word_is(a, an, "SCRAM-SHA-512") || word_is(a, an, "ECDSA-NIST256P-CHALLENGE"))) {
			lput(&o, " ", 1);
			lput(&o, a, an);
		} else if (an) {
			lput(&o, " (payload hidden)", 17);
		}
		return o.len;
	}
	if (word_is(w, n, "PASS") || word_is(w, n, "OPER")) {
		if (p < end)
			lput(&o, " (hidden)", 9);
		return o.len;
	}
	lput(&o, p, (size_t)(end - p));
	return o.len;
}

static void copy_span(char *out, size_t outlen, const char *s, size_t n)
{
	if (!outlen)
		return;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

void irc_split_source(const char *source, char *nick, size_t nicklen, char *user, size_t userlen,
		      char *host, size_t hostlen)
{
	const char *bang, *at;
	size_t len = source ? strlen(source) : 0;

	copy_span(nick, nicklen, "", 0);
	copy_span(user, userlen, "", 0);
	copy_span(host, hostlen, "", 0);
	if (!len)
		return;
	at = strchr(source, '@');
	bang = memchr(source, '!', at ? (size_t)(at - source) : len);
	copy_span(nick, nicklen, source, (size_t)((bang ? bang : at ? at : source + len) - source));
	if (bang)
		copy_span(user, userlen, bang + 1, (size_t)((at ? at : source + len) - bang - 1));
	if (at)
		copy_span(host, hostlen, at + 1, strlen(at + 1));
}

/* ---------------------------------------------------------------- ISUPPORT */

void irc_isupport_init(struct irc_isupport *is)
{
	memset(is, 0, sizeof(*is));
	is->casemap = IRC_CM_RFC1459;
	is->linelen = IRC_LINE_MAX;
	is->nicklen = 30;
	strcpy(is->chantypes, "#&");
	strcpy(is->prefix_modes, "ov");
	strcpy(is->prefix_chars, "@+");
	strcpy(is->chanmodes[0], "beI");
	strcpy(is->chanmodes[1], "k");
	strcpy(is->chanmodes[2], "l");
	strcpy(is->chanmodes[3], "imnpst");
}

static void set_field(char *dst, size_t dstlen, const char *s, size_t n)
{
	copy_span(dst, dstlen, s, n);
}

void irc_isupport_apply(struct irc_isupport *is, const struct irc_msg *m)
{
	/* 005 nick TOKEN TOKEN ... :are supported by this server */
	for (size_t i = 1; i + 1 < m->nparams; i++) {
		const char *tok = m->params[i], *val = strchr(tok, '=');
		size_t klen = val ? (size_t)(val - tok) : strlen(tok);
		val = val ? val + 1 : "";

		if (klen == 11 && strncmp(tok, "CASEMAPPING", 11) == 0) {
			if (strcasecmp(val, "ascii") == 0)
				is->casemap = IRC_CM_ASCII;
			else if (strcasecmp(val, "strict-rfc1459") == 0)
				is->casemap = IRC_CM_STRICT_RFC1459;
			else
				is->casemap = IRC_CM_RFC1459;
		} else if (klen == 7 && strncmp(tok, "LINELEN", 7) == 0) {
			long n = strtol(val, NULL, 10);
			is->linelen = n >= IRC_LINE_MAX && n <= IRC_LINELEN_CAP ? (size_t)n : IRC_LINE_MAX;
		} else if (klen == 7 && strncmp(tok, "NICKLEN", 7) == 0) {
			long n = strtol(val, NULL, 10);
			if (n > 0 && n <= 200)
				is->nicklen = (size_t)n;
		} else if (klen == 8 && strncmp(tok, "UTF8ONLY", 8) == 0) {
			is->utf8only = true;
		} else if (klen == 4 && strncmp(tok, "WHOX", 4) == 0) {
			is->whox = true;
		} else if (klen == 7 && strncmp(tok, "MONITOR", 7) == 0) {
			long n = *val ? strtol(val, NULL, 10) : 100;
			is->monitor = n > 0 && n <= 100000 ? (int)n : 0;
		} else if (klen == 9 && strncmp(tok, "CHANTYPES", 9) == 0) {
			set_field(is->chantypes, sizeof(is->chantypes), val, strlen(val));
		} else if (klen == 6 && strncmp(tok, "PREFIX", 6) == 0) {
			const char *close = strchr(val, ')');
			if (*val == '(' && close && strlen(close + 1) == (size_t)(close - val - 1)) {
				set_field(is->prefix_modes, sizeof(is->prefix_modes), val + 1,
					  (size_t)(close - val - 1));
				set_field(is->prefix_chars, sizeof(is->prefix_chars), close + 1,
					  strlen(close + 1));
				if (strlen(is->prefix_modes) != strlen(is->prefix_chars))
					is->prefix_chars[strlen(is->prefix_modes)] = '\0';
			} else if (!*val) {
				is->prefix_modes[0] = is->prefix_chars[0] = '\0';
			}
		} else if (klen == 9 && strncmp(tok, "CHANMODES", 9) == 0) {
			const char *p = val;
			for (int k = 0; k < 4; k++) {
				const char *c = strchr(p, ',');
				size_t n = c ? (size_t)(c - p) : strlen(p);
				set_field(is->chanmodes[k], sizeof(is->chanmodes[k]), p, n);
				if (!c) {
					for (k++; k < 4; k++)
						is->chanmodes[k][0] = '\0';
					break;
				}
				p = c + 1;
			}
		}
	}
}

static char fold_char(enum irc_casemap cm, char c)
{
	if (c >= 'A' && c <= 'Z')
		return (char)(c + 32);
	if (cm == IRC_CM_ASCII)
		return c;
	if (c == '[')
		return '{';
	if (c == ']')
		return '}';
	if (c == '\\')
		return '|';
	if (c == '~' && cm == IRC_CM_RFC1459)
		return '^';
	return c;
}

void irc_casefold(enum irc_casemap cm, const char *s, char *out, size_t outlen)
{
	size_t i = 0;

	if (!outlen)
		return;
	for (; s[i] && i + 1 < outlen; i++)
		out[i] = fold_char(cm, s[i]);
	out[i] = '\0';
}

bool irc_caseeq(enum irc_casemap cm, const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (fold_char(cm, *a) != fold_char(cm, *b))
			return false;
	return *a == *b;
}

bool irc_is_channel(const struct irc_isupport *is, const char *name)
{
	return name && *name && strchr(is->chantypes, *name) != NULL;
}

int irc_prefix_rank_char(const struct irc_isupport *is, char c)
{
	const char *p = c ? strchr(is->prefix_chars, c) : NULL;
	return p ? (int)(p - is->prefix_chars) : -1;
}

int irc_prefix_rank_mode(const struct irc_isupport *is, char mode)
{
	const char *p = mode ? strchr(is->prefix_modes, mode) : NULL;
	return p ? (int)(p - is->prefix_modes) : -1;
}

bool irc_mode_has_param(const struct irc_isupport *is, char mode, bool adding)
{
	if (!mode)
		return false;
	if (strchr(is->prefix_modes, mode) || strchr(is->chanmodes[0], mode) ||
	    strchr(is->chanmodes[1], mode))
		return true;
	if (strchr(is->chanmodes[2], mode))
		return adding;
	return false;
}

/* ---------------------------------------------------------------- member text */

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static size_t skip_digits(const char *s, size_t i, size_t len, size_t max)
{
	size_t n = 0;
	while (i < len && n < max && s[i] >= '0' && s[i] <= '9') {
		i++;
		n++;
	}
	return i;
}

static size_t skip_hex6(const char *s, size_t i, size_t len)
{
	size_t n = 0;
	while (i + n < len && n < 6 && is_hex(s[i + n]))
		n++;
	return n == 6 ? i + 6 : i;
}

size_t irc_strip_format(char *s, size_t len)
{
	size_t r = 0, w = 0;

	while (r < len) {
		char c = s[r];
		switch (c) {
		case 0x02: case 0x0f: case 0x11: case 0x16: case 0x1d: case 0x1e: case 0x1f:
			r++;
			break;
		case 0x03: {
			size_t after = skip_digits(s, r + 1, len, 2);
			if (after > r + 1 && after + 1 < len && s[after] == ',' &&
			    s[after + 1] >= '0' && s[after + 1] <= '9')
				after = skip_digits(s, after + 1, len, 2);
			r = after;
			break;
		}
		case 0x04: {
			size_t after = skip_hex6(s, r + 1, len);
			if (after > r + 1 && after < len && s[after] == ',') {
				size_t bg = skip_hex6(s, after + 1, len);
				if (bg > after + 1)
					after = bg;
			}
			r = after;
			break;
		}
		default:
			s[w++] = s[r++];
			break;
		}
	}
	if (w < len)
		s[w] = '\0';
	return w;
}

char *irc_to_utf8(const char *s, size_t len)
{
	char *out;

	if (!text_utf8_valid(s, len))
		return text_latin1_to_utf8(s, len);
	out = malloc(len + 1);
	if (!out)
		return NULL;
	memcpy(out, s, len);
	out[len] = '\0';
	return out;
}

bool irc_ctcp(const char *text, char *verb, size_t verblen, const char **args, size_t *argslen)
{
	const char *p, *end;
	size_t n = 0;

	if (!text || text[0] != '\x01' || !verblen)
		return false;
	p = text + 1;
	end = strchr(p, '\x01');
	if (!end)
		end = p + strlen(p);
	while (p < end && *p != ' ') {
		if (n + 1 < verblen)
			verb[n++] = (char)toupper((unsigned char)*p);
		p++;
	}
	verb[n] = '\0';
	if (p < end && *p == ' ')
		p++;
	*args = p;
	*argslen = (size_t)(end - p);
	return n > 0;
}

/* ---------------------------------------------------------------- output */

static int split_one(const char *s, size_t len, size_t budget,
		     int (*emit)(void *ud, const char *line, size_t len), void *ud)
{
	int rc;

	while (len) {
		size_t take, cut;

		while (len && *s == ' ') {
			s++;
			len--;
		}
		if (!len)
			break;
		if (len <= budget) {
			while (len && s[len - 1] == ' ')
				len--;
			return emit(ud, s, len);
		}
		cut = text_utf8_prefix(s, len, budget);
		take = cut;
		/* the last space that fits: a word is never cut unless longer than a line */
		if (s[cut] != ' ') {
			size_t sp = cut;
			while (sp > 0 && s[sp - 1] != ' ')
				sp--;
			if (sp > 0)
				take = sp;
		}
		if (take == 0) {
			/* not even one character fits (budget < 4 with a 4-byte character) */
			take = 1;
			while (take < len && ((unsigned char)s[take] & 0xC0) == 0x80)
				take++;
		}
		{
			size_t out = take;
			while (out && s[out - 1] == ' ')
				out--;
			if (out && (rc = emit(ud, s, out)))
				return rc;
		}
		s += take;
		len -= take;
	}
	return HE_OK;
}

int irc_split_text(const char *text, size_t budget,
		   int (*emit)(void *ud, const char *line, size_t len), void *ud)
{
	struct hbuf clean = HBUF_INIT;
	const char *p;
	int rc = HE_OK;

	if (budget == 0)
		return HE_INVAL;
	/* control characters could end the line (CR) or start CTCP (\x01): make them spaces */
	for (p = text; *p; p++)
		hbuf_putc(&clean, (unsigned char)*p < 0x20 && *p != '\n' ? ' ' : *p);
	if (clean.oom) {
		rc = HE_NOMEM;
		goto out;
	}
	p = hbuf_str(&clean);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if ((rc = split_one(p, n, budget, emit, ud)))
			goto out;
		p += n + (nl ? 1 : 0);
	}
out:
	hbuf_free(&clean);
	return rc;
}

size_t irc_text_budget(size_t linelen, const char *nick, const char *user, const char *host,
		       const char *verb, const char *target)
{
	/* ":nick!user@host VERB target :" + CRLF */
	size_t used = 1 + strlen(nick) + 1 + strlen(user) + 1 + strlen(host) + 1 +
		      strlen(verb) + 1 + strlen(target) + 2 + 2;

	if (linelen < IRC_LINE_MAX)
		linelen = IRC_LINE_MAX;
	return used + 16 < linelen ? linelen - used : 16;
}

void irc_bucket_init(struct irc_bucket *b, int burst, double rate, uint64_t now_ms)
{
	b->burst = burst > 0 ? burst : 1;
	b->rate = rate > 0 ? rate : 1;
	b->tokens = b->burst;
	b->last_ms = now_ms;
}

static void bucket_refill(struct irc_bucket *b, uint64_t now_ms)
{
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * b->rate / 1000.0;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
	}
	b->last_ms = now_ms;
}

bool irc_bucket_take(struct irc_bucket *b, uint64_t now_ms)
{
	bucket_refill(b, now_ms);
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}

void irc_bucket_charge(struct irc_bucket *b, uint64_t now_ms)
{
	bucket_refill(b, now_ms);
	b->tokens -= 1.0;
}

uint64_t irc_bucket_wait_ms(struct irc_bucket *b, uint64_t now_ms)
{
	double need;

	bucket_refill(b, now_ms);
	if (b->tokens >= 1.0)
		return 0;
	need = (1.0 - b->tokens) * 1000.0 / b->rate;
	return (uint64_t)need + 1;
}

/* ---------------------------------------------------------------- SASL */

int irc_sasl_lines(const char *b64, int (*emit)(void *ud, const char *line, size_t len), void *ud)
{
	size_t len = strlen(b64), off = 0;
	char line[16 + 400];
	int rc;

	while (off < len) {
		size_t n = len - off < 400 ? len - off : 400;
		memcpy(line, "AUTHENTICATE ", 13);
		memcpy(line + 13, b64 + off, n);
		if ((rc = emit(ud, line, 13 + n)))
			return rc;
		off += n;
	}
	if (len == 0 || len % 400 == 0)
		return emit(ud, "AUTHENTICATE +", 14);
	return HE_OK;
}

char *irc_sasl_plain(const char *user, const char *password)
{
	size_t ul = strlen(user), pl = strlen(password), n = ul * 2 + pl + 2;
	unsigned char *raw = malloc(n);
	char *out = NULL;

	if (!raw)
		return NULL;
	memcpy(raw, user, ul);
	raw[ul] = '\0';
	memcpy(raw + ul + 1, user, ul);
	raw[2 * ul + 1] = '\0';
	memcpy(raw + 2 * ul + 2, password, pl);
	out = malloc(4 * ((n + 2) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, raw, (int)n);
	OPENSSL_cleanse(raw, n);
	free(raw);
	return out;
}
