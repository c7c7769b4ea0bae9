/* parse.h - IRC line parsing and the small pure pieces of the IRC transport.
 *
 * Nothing here does I/O or keeps global state: everything is testable with plain strings.
 * Parsing follows RFC 1459/2812 plus IRCv3 message tags. Hard caps: the tag section is at most
 * IRC_TAGS_MAX bytes (with '@' and the space), the rest of the line at most the server's LINELEN
 * (512 by default, with CRLF), at most IRC_MAX_PARAMS parameters. */
#ifndef HEARTH_IRC_PARSE_H
#define HEARTH_IRC_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define IRC_LINE_MAX 512          /* bytes, CRLF included (RFC 1459) */
#define IRC_LINELEN_CAP 4096      /* the most we accept from an ISUPPORT LINELEN */
#define IRC_TAGS_MAX 8191         /* IRCv3: '@', tags and the space */
#define IRC_READ_MAX (IRC_TAGS_MAX + IRC_LINELEN_CAP)
#define IRC_MSGID_MAX 96          /* a msgid we name in +draft/reply; longer ones are not named */
#define IRC_MAX_PARAMS 15
#define IRC_MAX_TAGS 64

struct irc_tag {
	const char *key;
	const char *value;        /* unescaped; "" when the tag has no value */
};

/* One parsed line. Every string points into buf, owned by the struct. */
struct irc_msg {
	struct irc_tag tags[IRC_MAX_TAGS];
	size_t ntags;
	const char *source;       /* without ':', NULL when absent */
	const char *verb;         /* as received (compare case-insensitively) */
	const char *params[IRC_MAX_PARAMS];
	size_t nparams;
	char buf[IRC_READ_MAX + 2];
};

/* Parses one line (CR/LF at the end are ignored). linelen is the limit for the part after the
 * tags, CRLF included (0: 512). Returns HE_OK, HE_AGAIN for an empty line (ignore it),
 * HE_TOOBIG over a cap, HE_PROTO for a line without a verb or with a NUL byte. */
int irc_parse(const char *line, size_t len, size_t linelen, struct irc_msg *m);

/* The value of tag key, or NULL when absent. */
const char *irc_msg_tag(const struct irc_msg *m, const char *key);
/* Parameter i, or "" when there are fewer. */
const char *irc_msg_param(const struct irc_msg *m, size_t i);

/* Writes a line (without CRLF) from its atoms; tag values are escaped, the last parameter gets
 * a ':' when it needs one. tags/source may be NULL/0. Returns HE_OK or HE_NOMEM. */
int irc_format(struct hbuf *out, const struct irc_tag *tags, size_t ntags, const char *source,
	       const char *verb, const char *const *params, size_t nparams);

/* Splits "nick!user@host" (each part may be missing) into the given buffers (truncated). */
void irc_split_source(const char *source, char *nick, size_t nicklen, char *user, size_t userlen,
		      char *host, size_t hostlen);

/* A raw line (either direction) made fit for a debug log, into out (always terminated, cut to
 * outlen-1 bytes): the text of PRIVMSG and NOTICE (members' words, mood notes, Hearth's replies),
 * client-only tags ("+key"), SASL payloads and the parameters of PASS and OPER are replaced by a
 * marker. Returns the length written. */
size_t irc_log_line(const char *line, size_t len, char *out, size_t outlen);

/* ---- ISUPPORT and case mapping ---- */

enum irc_casemap { IRC_CM_RFC1459 = 0, IRC_CM_ASCII, IRC_CM_STRICT_RFC1459 };

struct irc_isupport {
	enum irc_casemap casemap;  /* default rfc1459 (RFC 2812) */
	size_t linelen;            /* default 512 */
	size_t nicklen;            /* default 30 */
	bool utf8only;
	char chantypes[16];        /* default "#&" */
	char prefix_modes[16];     /* default "ov" */
	char prefix_chars[16];     /* default "@+" */
	char chanmodes[4][64];     /* CHANMODES A,B,C,D */
	bool whox;                 /* WHO with %fields */
	int monitor;               /* MONITOR: the most targets (0: no MONITOR) */
};

void irc_isupport_init(struct irc_isupport *is);
/* Applies the tokens of one 005 RPL_ISUPPORT line. */
void irc_isupport_apply(struct irc_isupport *is, const struct irc_msg *m);

/* Case-folds s into out (truncated to outlen-1 bytes). */
void irc_casefold(enum irc_casemap cm, const char *s, char *out, size_t outlen);
bool irc_caseeq(enum irc_casemap cm, const char *a, const char *b);
bool irc_is_channel(const struct irc_isupport *is, const char *name);

/* The membership rank of a prefix character or mode letter: 0 for the highest (first in
 * PREFIX), -1 when unknown. */
int irc_prefix_rank_char(const struct irc_isupport *is, char c);
int irc_prefix_rank_mode(const struct irc_isupport *is, char mode);
/* Does mode letter m take a parameter when set (adding=true) or unset? */
bool irc_mode_has_param(const struct irc_isupport *is, char mode, bool adding);

/* ---- member text ---- */

/* Removes mIRC formatting (bold, colour with digits, hex colour, italic, underline, reverse,
 * reset, monospace, strikethrough) in place; returns the new length. */
size_t irc_strip_format(char *s, size_t len);

/* A malloc'd UTF-8 copy: s itself when valid UTF-8, else decoded as Latin-1. */
char *irc_to_utf8(const char *s, size_t len);

/* When text is a CTCP request ("\x01VERB args\x01", the closing \x01 optional), copies the verb
 * (upper-cased, truncated) and returns true; *args points at the arguments (not terminated at
 * a closing \x01: use argslen). */
bool irc_ctcp(const char *text, char *verb, size_t verblen, const char **args, size_t *argslen);

/* ---- output ---- */

/* Splits plain text into IRC lines of at most budget bytes: one per text line (empty lines
 * dropped, control characters made spaces), long lines cut at the last space that fits, or at a
 * UTF-8 boundary when a word is longer than the budget. emit returns 0 to go on. */
int irc_split_text(const char *text, size_t budget,
		   int (*emit)(void *ud, const char *line, size_t len), void *ud);

/* The room left for text in "PRIVMSG target :" with the server's ":nick!user@host " prefix. */
size_t irc_text_budget(size_t linelen, const char *nick, const char *user, const char *host,
		       const char *verb, const char *target);

/* A token bucket: burst lines at once, then rate lines a second. Times in milliseconds. */
struct irc_bucket {
	double tokens;
	double burst;
	double rate;
	uint64_t last_ms;
};

void irc_bucket_init(struct irc_bucket *b, int burst, double rate, uint64_t now_ms);
/* Takes one token if available. */
bool irc_bucket_take(struct irc_bucket *b, uint64_t now_ms);
/* Takes one token even when none is left (for PONG): the debt delays what follows. */
void irc_bucket_charge(struct irc_bucket *b, uint64_t now_ms);
/* Milliseconds until a token is available (0: now). */
uint64_t irc_bucket_wait_ms(struct irc_bucket *b, uint64_t now_ms);

/* ---- SASL ---- */

/* Builds the AUTHENTICATE lines for a base64 payload: 400-byte chunks, then "+" when the last
 * chunk was exactly 400 bytes (or the payload is empty). Each line is emitted without CRLF. */
int irc_sasl_lines(const char *b64, int (*emit)(void *ud, const char *line, size_t len), void *ud);
/* The base64 SASL PLAIN payload "authzid\0authcid\0password" (malloc'd; wipe and free). */
char *irc_sasl_plain(const char *user, const char *password);

#endif
