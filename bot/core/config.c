/* config.c - INI configuration driven by one key table. */
#include "core/config.h"
#include "core/err.h"
#include "core/text.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum key_type { K_STR, K_SECRET, K_BOOL, K_INT, K_DOUBLE, K_LIST, K_LEVEL, K_LOGFMT };
enum key_scope { S_TOP, S_IRC, S_ROOM };

struct key {
	const char *section;   /* "bot", "irc" for [irc.NAME], "room" for [room NET ROOM] */
	const char *name;
	enum key_type type;
	enum key_scope scope;
	size_t off;            /* offset in struct config, config_irc or config_room */
	size_t count_off;      /* K_LIST: offset of the size_t count */
	int min, max;          /* K_INT range */
	const char *def;       /* default, as written in the example */
	const char *help;
};

#define TOP(sec, n, t, field, lo, hi, d, h) \
	{ sec, n, t, S_TOP, offsetof(struct config, field), 0, lo, hi, d, h }
#define TOPL(sec, n, field, cnt, d, h) \
	{ sec, n, K_LIST, S_TOP, offsetof(struct config, field), offsetof(struct config, cnt), 0, 0, d, h }
#define IRC(n, t, field, lo, hi, d, h) \
	{ "irc", n, t, S_IRC, offsetof(struct config_irc, field), 0, lo, hi, d, h }
#define IRCL(n, field, cnt, d, h) \
	{ "irc", n, K_LIST, S_IRC, offsetof(struct config_irc, field), offsetof(struct config_irc, cnt), 0, 0, d, h }
#define ROOM(n, t, field, d, h) \
	{ "room", n, t, S_ROOM, offsetof(struct config_room, field), 0, 0, 0, d, h }

static const struct key keys[] = {
	TOP("bot", "prefix", K_STR, prefix, 0, 0, "!", "Command prefix (1-4 characters)."),
	TOP("bot", "data_dir", K_STR, data_dir, 0, 0, "~/.local/share/hearth",
	    "Where the SQLite database and key files live."),
	TOP("bot", "content_dir", K_STR, content_dir, 0, 0, "(built-in search)",
	    "Folder of topics, prompts and crisis resources."),
	TOP("bot", "language", K_STR, language, 0, 0, "en", "Language of content and crisis phrases."),
	TOP("bot", "timezone", K_STR, timezone, 0, 0, "UTC", "Default IANA time zone, e.g. Europe/Berlin."),
	TOP("bot", "log_level", K_LEVEL, log_level, 0, 0, "info", "error, warn, info or debug."),
	TOP("bot", "log_format", K_LOGFMT, log_format, 0, 0, "text",
	    "text, or json: one object per line (time, level, module, message, network) for log shippers."),
	TOP("bot", "max_message_bytes", K_INT, max_message_bytes, 64, 65536, "4096",
	    "Longer messages get a short error instead of an answer."),
	TOP("bot", "room_answers_per_minute", K_INT, room_answers_per_minute, 0, 20, "3",
	    "In a group room, !learn, !checkin, !topics and !help answer one member at most this "
	    "often a minute (0: no limit)."),
	TOP("store", "url", K_STR, store_url, 0, 0, "", "postgresql://USER@HOST/DATABASE: Hearth's data in PostgreSQL (password from HEARTH_STORE_PASSWORD or ~/.pgpass); empty: SQLite in data_dir."),
	TOP("mood", "retention_days", K_INT, mood_retention_days, 1, 3650, "365",
	    "Mood entries older than this are deleted by a daily purge."),
	TOP("mood", "key_file", K_STR, mood_key_file, 0, 0, "DATA_DIR/mood.key",
	    "Key that encrypts notes at rest; created with mode 0600 on first run."),
	TOP("mood", "stats_min_members", K_INT, stats_min_members, 2, 1000, "5",
	    "Room statistics count a day only when at least this many members logged that day."),
	TOP("crisis", "country", K_STR, crisis_country, 0, 0, "intl",
	    "Which content/crisis/CODE.md to show: gb, us, ... (uk, usa work too) or intl; else an error."),
	TOP("crisis", "rate_minutes", K_INT, crisis_rate_minutes, 0, 1440, "10",
	    "At most one automatic crisis answer per member in this many minutes."),
	TOP("checkins", "repeat_days", K_INT, checkin_repeat_days, 1, 365, "7",
	    "A scheduled prompt is not repeated in a room within this many days."),
	TOP("matrix", "homeserver", K_STR, matrix_homeserver, 0, 0, "https://matrix.example.org",
	    "Base URL of the homeserver."),
	TOP("matrix", "user_id", K_STR, matrix_user_id, 0, 0, "@hearth:example.org", "The bot's user id."),
	TOP("matrix", "password", K_SECRET, matrix_password, 0, 0, "",
	    "Or HEARTH_MATRIX_PASSWORD in the environment."),
	TOP("matrix", "access_token", K_SECRET, matrix_access_token, 0, 0, "",
	    "Or HEARTH_MATRIX_ACCESS_TOKEN in the environment."),
	TOP("matrix", "display_name", K_STR, matrix_display_name, 0, 0, "Hearth", "Shown to members."),
	TOP("matrix", "device_name", K_STR, matrix_device_name, 0, 0, "Hearth bot", "Name of the bot's device."),
	TOP("matrix", "moderator_power_level", K_INT, matrix_moderator_power_level, 0, 100, "50",
	    "Members at or above this power level are moderators."),
	TOP("matrix", "catch_up_minutes", K_INT, matrix_catch_up_minutes, 1, 10080, "60",
	    "After downtime, commands older than this are logged (no text) and skipped."),
	TOP("matrix", "allow_insecure_http", K_BOOL, matrix_allow_insecure_http, 0, 0, "false",
	    "Allow an http:// homeserver that is not on this machine (messages then cross the "
	    "network unencrypted). Leave false."),
	TOPL("matrix", "allowed_inviters", matrix_allowed_inviters, nmatrix_allowed_inviters, "",
	     "Comma-separated user ids or *:server patterns whose invites are accepted; empty: anyone."),
	TOP("admin", "listen", K_STR, admin_listen, 0, 0, "",
	    "Serve /metrics and /healthz here: 127.0.0.1:9464, [::1]:9464 or unix:/PATH; empty: off."),
	TOP("admin", "allow_remote", K_BOOL, admin_allow_remote, 0, 0, "false",
	    "Allow a listen address other machines can reach. Leave false."),
	IRC("host", K_STR, host, 0, 0, "irc.example.org", "Server host name."),
	IRC("port", K_INT, port, 1, 65535, "6697", "6697 with TLS, 6667 without."),
	IRC("tls", K_BOOL, tls, 0, 0, "true", "Use TLS (certificates are verified)."),
	IRC("tls_verify", K_BOOL, tls_verify, 0, 0, "true",
	    "Set to false only by explicit choice: the connection is then open to interception."),
	IRC("tls_ca_file", K_STR, tls_ca_file, 0, 0, "", "CA file for a private certificate authority."),
	IRC("tls_cert_file", K_STR, tls_cert_file, 0, 0, "", "Client certificate for SASL EXTERNAL."),
	IRC("tls_key_file", K_STR, tls_key_file, 0, 0, "", "Its key, if not in the certificate file."),
	IRC("tls_fingerprint", K_STR, tls_fingerprint, 0, 0, "",
	    "sha256:HEX[,sha256:HEX]: accept only a certificate with one of these SHA-256 fingerprints "
	    "(openssl x509 -fingerprint -sha256; colons optional); CA, name and expiry are then not checked."),
	IRC("server_password", K_SECRET, server_password, 0, 0, "",
	    "Server password (PASS), sent before registering; or HEARTH_IRC_<NAME>_SERVER_PASSWORD."),
	IRC("nick", K_STR, nick, 0, 0, "Hearth", "Nickname."),
	IRCL("alt_nicks", alt_nicks, nalt_nicks, "Hearth_,Hearth__", "Tried in order when the nick is in use."),
	IRC("username", K_STR, username, 0, 0, "hearth", "User name."),
	IRC("realname", K_STR, realname, 0, 0, "Hearth peer-support bot", "Real name field."),
	IRC("sasl_mechanism", K_STR, sasl_mechanism, 0, 0, "PLAIN",
	    "PLAIN, EXTERNAL, SCRAM-SHA-256, SCRAM-SHA-512 or ECDSA-NIST256P-CHALLENGE; empty for none."),
	IRC("sasl_username", K_STR, sasl_username, 0, 0, "hearth", "Services account."),
	IRC("sasl_password", K_SECRET, sasl_password, 0, 0, "",
	    "Or HEARTH_IRC_<NAME>_SASL_PASSWORD in the environment."),
	IRC("sasl_key_file", K_STR, sasl_key_file, 0, 0, "",
	    "ECDSA-NIST256P-CHALLENGE: the account's PEM private key (mode 0600)."),
	IRC("sasl_required", K_BOOL, sasl_required, 0, 0, "true",
	    "Stop registering when SASL fails instead of going on unauthenticated."),
	IRCL("channels", channels, nchannels, "#support", "Comma-separated; a key follows a space."),
	IRCL("moderators", moderators, nmoderators, "", "Services accounts that are moderators."),
	IRC("rate", K_DOUBLE, rate, 0, 0, "1", "Lines per second after a burst."),
	IRC("burst", K_INT, burst, 1, 20, "4", "Lines that may be sent at once."),
	ROOM("crisis_alert_room", K_STR, crisis_alert_room, "",
	     "Moderators' room told (without quotes) that someone may need support."),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))
_Static_assert(NKEYS <= CONFIG_MAX_KEYS, "raise CONFIG_MAX_KEYS in config.h");

struct parse_state {
	struct config *c;
	struct config_problems *probs;
	char cur_section[128];
	bool section_ok;
	int section_kind;        /* 0 top, 1 irc, 2 room */
	struct config_irc *irc;
	struct config_room *room;
	FILE *file;
	int line;
	bool key_seen;
	char pending[128];       /* the last [section] read; it begins at its first key */
	int pending_line;
	bool pending_begun;           /* a key was read since the last section (for continuation lines) */
};

static int set_str(char **field, const char *value)
{
	char *v = strdup(value);
	if (!v)
		return HE_NOMEM;
	free(*field);
	*field = v;
	return HE_OK;
}

static void free_list(char **items, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free(items[i]);
	*n = 0;
}

static int set_list(char **items, size_t *n, const char *value, int line, struct config_problems *p)
{
	const char *s = value;

	free_list(items, n);
	while (*s) {
		const char *e = strchr(s, ',');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		while (len && isspace((unsigned char)*s)) {
			s++;
			len--;
		}
		while (len && isspace((unsigned char)s[len - 1]))
			len--;
		if (len) {
			if (*n >= CONFIG_MAX_LIST) {
				config_problem(p, line, "too many items (at most %d)", CONFIG_MAX_LIST);
				break;
			}
			items[*n] = strndup(s, len);
			if (!items[*n])
				return HE_NOMEM;
			(*n)++;
		}
		if (!e)
			break;
		s = e + 1;
	}
	return HE_OK;
}

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return HE_OK;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return HE_OK;
		}
	}
	return HE_INVAL;
}

static void irc_defaults(struct config_irc *irc)
{
	irc->tls = true;
	irc->tls_verify = true;
	irc->sasl_required = true;
	irc->rate = 1.0;
	irc->burst = 4;
}

static int begin_section(struct parse_state *st, const char *section, int line)
{
	struct config *c = st->c;

	snprintf(st->cur_section, sizeof(st->cur_section), "%s", section);
	st->section_ok = true;
	st->section_kind = 0;
	if (strncmp(section, "irc.", 4) == 0) {
		const char *name = section + 4;
		bool ok = *name != '\0';
		for (const char *q = name; *q; q++)
			if (!isalnum((unsigned char)*q) && *q != '_' && *q != '-')
				ok = false;
		if (!ok) {
			config_problem(st->probs, line, "[%s]: an IRC network name uses letters, digits, - and _", section);
			st->section_ok = false;
			return HE_OK;
		}
		for (size_t i = 0; i < c->nirc; i++) {
			if (strcmp(c->irc[i].name, name) == 0) {
				config_problem(st->probs, line, "[%s] appears twice", section);
				st->section_ok = false;
				return HE_OK;
			}
		}
		if (c->nirc >= CONFIG_MAX_IRC) {
			config_problem(st->probs, line, "too many IRC networks (at most %d)", CONFIG_MAX_IRC);
			st->section_ok = false;
			return HE_OK;
		}
		st->irc = &c->irc[c->nirc++];
		irc_defaults(st->irc);
		st->irc->line = line;
		st->irc->name = strdup(name);
		st->section_kind = 1;
		return st->irc->name ? HE_OK : HE_NOMEM;
	}
	if (strncmp(section, "room ", 5) == 0) {
		char net[64], room[256];
		if (sscanf(section + 5, "%63s %255s", net, room) != 2) {
			config_problem(st->probs, line, "[%s]: write [room NETWORK ROOM], e.g. [room matrix !abc:example.org]",
				section);
			st->section_ok = false;
			return HE_OK;
		}
		if (c->nrooms >= CONFIG_MAX_ROOMS) {
			config_problem(st->probs, line, "too many [room] sections (at most %d)", CONFIG_MAX_ROOMS);
			st->section_ok = false;
			return HE_OK;
		}
		st->room = &c->rooms[c->nrooms++];
		st->room->network = strdup(net);
		st->room->room = strdup(room);
		st->section_kind = 2;
		return st->room->network && st->room->room ? HE_OK : HE_NOMEM;
	}
	if (strcmp(section, "matrix") == 0) {
		c->matrix_enabled = true;
		c->matrix_line = line;
	}
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].scope == S_TOP && strcmp(keys[i].section, section) == 0)
			return HE_OK;
	config_problem(st->probs, line, "unknown section [%s] (known: bot, store, mood, crisis, checkins, matrix, admin, irc.NAME, room NETWORK ROOM)",
		section);
	st->section_ok = false;
	return HE_OK;
}

static int apply_key(struct parse_state *st, const struct key *k, const char *value, int line)
{
	char *base;
	struct config_problems *p = st->probs;

	if (k->scope == S_IRC)
		base = (char *)st->irc;
	else if (k->scope == S_ROOM)
		base = (char *)st->room;
	else
		base = (char *)st->c;

	if (k->scope == S_TOP)
		st->c->key_lines[k - keys] = line;
	if (k->scope == S_TOP && k->off == offsetof(struct config, prefix))
		st->c->prefix_line = line;
	if (k->scope == S_TOP && k->off == offsetof(struct config, crisis_country))
		st->c->crisis_country_line = line;
	if (k->scope == S_TOP && k->off == offsetof(struct config, admin_listen))
		st->c->admin_line = line;
	switch (k->type) {
	case K_SECRET:
		if (*value && !st->c->secret_line)
			st->c->secret_line = line;
		return set_str((char **)(base + k->off), value);
	case K_STR:
		return set_str((char **)(base + k->off), value);
	case K_LIST:
		return set_list((char **)(base + k->off), (size_t *)(base + k->count_off), value, line, p);
	case K_BOOL:
		if (parse_bool(value, (bool *)(base + k->off)))
			config_problem(p, line, "%s must be true or false, got \"%s\"", k->name, value);
		return HE_OK;
	case K_LEVEL:
		if (hlog_parse_level(value, (enum hlog_level *)(base + k->off)))
			config_problem(p, line, "%s must be error, warn, info or debug, got \"%s\"", k->name, value);
		return HE_OK;
	case K_LOGFMT:
		if (hlog_parse_format(value, (enum hlog_format *)(base + k->off)))
			config_problem(p, line, "%s must be text or json, got \"%s\"", k->name, value);
		return HE_OK;
	case K_INT: {
		char *end;
		long v;
		errno = 0;
		v = strtol(value, &end, 10);
		if (errno || end == value || *end || v < k->min || v > k->max)
			config_problem(p, line, "%s must be a whole number from %d to %d, got \"%s\"", k->name,
				k->min, k->max, value);
		else
			*(int *)(base + k->off) = (int)v;
		return HE_OK;
	}
	case K_DOUBLE: {
		char *end;
		double v = strtod(value, &end);
		if (end == value || *end || !(v > 0.0) || v > 100.0)
			config_problem(p, line, "%s must be a number above 0 and at most 100, got \"%s\"", k->name, value);
		else
			*(double *)(base + k->off) = v;
		return HE_OK;
	}
	}
	return HE_OK;
}

/* A section without keys changes nothing (the example file has [matrix] with every key
 * commented out), but a misspelt name is still reported at its line. */
static void end_pending(struct parse_state *st)
{
	bool known = !*st->pending || strncmp(st->pending, "irc.", 4) == 0 ||
		     strncmp(st->pending, "room ", 5) == 0;

	for (size_t i = 0; i < NKEYS && !known; i++)
		known = keys[i].scope == S_TOP && strcmp(keys[i].section, st->pending) == 0;
	if (!st->pending_begun && !known)
		config_problem(st->probs, st->pending_line, "unknown section [%s] (known: bot, mood, crisis, "
			       "checkins, matrix, irc.NAME, room NETWORK ROOM)", st->pending);
	st->pending_begun = true;
}

/* Looks at one physical line the way inih will, so that every problem gets its real line:
 * inih as packaged passes no line numbers, reports only the first line it cannot read, and
 * names no section that has no keys. A section begins at its first key (on_key). */
static void scan_line(struct parse_state *st, const char *raw)
{
	const char *s = text_skip_space(raw);
	size_t n = strcspn(s, "\r\n");
	bool indented = s != raw;

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0 || *s == ';' || *s == '#')
		return;
	if (*s == '[') {
		const char *close = memchr(s, ']', n);
		char name[sizeof(st->cur_section)];
		end_pending(st);
		if (!close) {
			config_problem(st->probs, st->line, "a [section] line needs its closing ]");
			st->pending[0] = '\0';
			st->section_ok = false;
			return;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(close - s - 1), s + 1);
		snprintf(st->pending, sizeof(st->pending), "%s", name);
		st->pending_line = st->line;
		st->pending_begun = false;
		st->key_seen = false;
		return;
	}
	if (indented && st->key_seen)
		return; /* inih reads it as the previous key's value going on */
	if (!memchr(s, '=', n) && !memchr(s, ':', n)) {
		config_problem(st->probs, st->line, "this line is not \"key = value\" nor a [section]");
		return;
	}
	st->key_seen = true;
}

/* One physical line per call, however long: inih's buffer takes num - 1 bytes of it and the
 * rest is skipped (and reported), so line numbers stay true. */
static char *read_line(char *str, int num, void *stream)
{
	struct parse_state *st = stream;
	size_t len;
	bool cut = false;

	if (!fgets(str, num, st->file))
		return NULL;
	st->line++;
	len = strlen(str);
	if (len && str[len - 1] != '\n' && !feof(st->file)) {
		char rest[256];
		cut = true;
		while (fgets(rest, sizeof(rest), st->file) && rest[strlen(rest) - 1] != '\n')
			;
	}
	if (cut) {
		const char *t = text_skip_space(str);
		if (*t != ';' && *t != '#') /* a long comment is no problem */
			config_problem(st->probs, st->line, "this line is too long (at most %d characters)", num - 2);
		str[0] = '\0'; /* read as blank: half a line would be read wrong */
		return str;
	}
	scan_line(st, str);
	return str;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *st = user;
	int line = st->line;
	const char *want;
	enum key_scope scope;

	/* The section is the one scan_line read (inih's copy may be cut at 50 characters). */
	if (!st->pending_begun) {
		st->pending_begun = true;
		if (begin_section(st, st->pending, st->pending_line) != HE_OK)
			return 0;
	}
	if (!st->section_ok)
		return 1;
	if (!*st->cur_section) {
		config_problem(st->probs, line, "\"%s\" is outside any section; put it under [bot]", name);
		return 1;
	}
	section = st->cur_section;
	scope = st->section_kind == 1 ? S_IRC : st->section_kind == 2 ? S_ROOM : S_TOP;
	want = scope == S_IRC ? "irc" : scope == S_ROOM ? "room" : section;
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].scope == scope && strcmp(keys[i].section, want) == 0 &&
		    strcmp(keys[i].name, name) == 0)
			return apply_key(st, &keys[i], value, line) == HE_OK;
	config_problem(st->probs, line, "unknown key \"%s\" in [%s]", name, section);
	return 1;
}

static void set_defaults(struct config *c)
{
	c->log_level = HLOG_INFO;
	c->max_message_bytes = 4096;
	c->mood_retention_days = 365;
	c->stats_min_members = 5;
	c->crisis_rate_minutes = 10;
	c->checkin_repeat_days = 7;
	c->room_answers_per_minute = 3;
	c->matrix_moderator_power_level = 50;
}

int config_load(const char *path, struct config **out, struct config_problems *probs)
{
	struct config *c = calloc(1, sizeof(*c));
	struct parse_state st = { 0 };
	FILE *f = NULL;
	int rc = HE_OK, r;

	*out = NULL;
	if (!c)
		return HE_NOMEM;
	set_defaults(c);
	if (path) {
		c->path = strdup(path);
		f = fopen(path, "r");
		if (!f) {
			rc = HE_IO;
			goto out;
		}
		st.c = c;
		st.probs = probs;
		st.file = f;
		st.section_ok = true;
		st.pending_begun = true; /* keys before any [section] */
		r = ini_parse_stream(read_line, &st, on_key, &st);
		end_pending(&st);
		/* r > 0: a line inih could not read, already reported by scan_line with its line. */
		if (r < 0)
			rc = HE_NOMEM;
	}
out:
	if (f)
		fclose(f);
	if (rc) {
		config_free(c);
		return rc;
	}
	*out = c;
	return HE_OK;
}

/* [irc.NAME] tls_fingerprint: "sha256:" and 64 hex digits (colons between them allowed), several
 * separated by commas. net/irc/conn.c reads the values; this only says whether they are well formed. */
/* SCRAM wants the user name and password prepared with SASLprep (RFC 4013), which Hearth does
 * not implement. For printable ASCII SASLprep changes nothing (and it forbids control
 * characters), so that is what SCRAM accepts; anything else is refused rather than sent in a
 * form the server may prepare differently (a login that fails for no visible reason). */
static bool scram_text_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

static bool fingerprints_ok(const char *s)
{
	while (*s) {
		int digits = 0;
		while (*s == ' ')
			s++;
		if (strncasecmp(s, "sha256:", 7) != 0)
			return false;
		for (s += 7; *s && *s != ','; s++) {
			if (isxdigit((unsigned char)*s))
				digits++;
			else if (*s != ':' && *s != ' ')
				return false;
		}
		if (digits != 64)
			return false;
		if (*s == ',')
			s++;
	}
	return true;
}

static int env_secret(char **field, const char *var)
{
	const char *v = getenv(var);
	if (v && *v)
		return set_str(field, v);
	return HE_OK;
}

static char *expand_home(const char *p)
{
	const char *home = getenv("HOME");
	char *out;

	if (p[0] != '~' || p[1] != '/')
		return strdup(p);
	if (!home || !*home)
		home = ".";
	if (asprintf(&out, "%s%s", home, p + 1) < 0)
		return NULL;
	return out;
}

static bool host_is_loopback(const char *h, size_t n)
{
	char buf[64];
	struct in_addr a4;
	struct in6_addr a6;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, h, n);
	buf[n] = '\0';
	if (strcasecmp(buf, "localhost") == 0)
		return true;
	if (buf[0] == '[' && buf[n - 1] == ']') {
		buf[n - 1] = '\0';
		return inet_pton(AF_INET6, buf + 1, &a6) == 1 &&
		       memcmp(&a6, &in6addr_loopback, sizeof(a6)) == 0;
	}
	/* only the strict dotted quad: no "127.1", no octal, no hex */
	return inet_pton(AF_INET, buf, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

bool config_homeserver_ok(const char *url, bool allow_insecure, const char **why)
{
	const char *host, *end, *colon;

	if (strncasecmp(url, "https://", 8) == 0)
		return true;
	if (strncasecmp(url, "http://", 7) != 0) {
		*why = "must start with https://";
		return false;
	}
	if (allow_insecure)
		return true;
	host = url + 7;
	end = host + strcspn(host, "/?#");
	if (memchr(host, '@', (size_t)(end - host)))
		goto insecure; /* user info: the host is not what it seems */
	if (*host == '[') {
		colon = memchr(host, ']', (size_t)(end - host));
		if (!colon)
			goto insecure;
		colon++;
	} else {
		colon = memchr(host, ':', (size_t)(end - host));
		if (!colon)
			colon = end;
	}
	if (host_is_loopback(host, (size_t)(colon - host)))
		return true;
insecure:
	*why = "http:// (unencrypted) is only allowed on this machine (127.0.0.1, ::1, localhost); "
	       "use https://, or set allow_insecure_http = true in [matrix] if you really mean it";
	return false;
}

int config_finish(struct config *c, struct config_problems *probs)
{
	char var[96];
	int rc = HE_OK;

	if (!c->prefix && (rc = set_str(&c->prefix, "!")))
		return rc;
	if (!*c->prefix || strlen(c->prefix) > 4 || strchr(c->prefix, ' '))
		config_problem(probs, c->prefix_line, "[bot] prefix must be 1 to 4 characters without spaces");
	if (!c->language && (rc = set_str(&c->language, "en")))
		return rc;
	if (!c->timezone && (rc = set_str(&c->timezone, "UTC")))
		return rc;
	if (!c->crisis_country && (rc = set_str(&c->crisis_country, "intl")))
		return rc;
	if (!c->data_dir) {
		const char *xdg = getenv("XDG_DATA_HOME");
		if (xdg && *xdg) {
			if (asprintf(&c->data_dir, "%s/hearth", xdg) < 0)
				return HE_NOMEM;
		} else if (!(c->data_dir = expand_home("~/.local/share/hearth"))) {
			return HE_NOMEM;
		}
	} else {
		char *d = expand_home(c->data_dir);
		if (!d)
			return HE_NOMEM;
		free(c->data_dir);
		c->data_dir = d;
	}
	if (!c->mood_key_file && asprintf(&c->mood_key_file, "%s/mood.key", c->data_dir) < 0)
		return HE_NOMEM;

	if ((rc = env_secret(&c->matrix_password, "HEARTH_MATRIX_PASSWORD")) ||
	    (rc = env_secret(&c->matrix_access_token, "HEARTH_MATRIX_ACCESS_TOKEN")) ||
	    (rc = config_store_finish(c, probs)))
		return rc;
	if (c->matrix_enabled) {
		if (!c->matrix_homeserver)
			config_problem(probs, c->matrix_line, "[matrix] needs homeserver, e.g. https://matrix.example.org");
		const char *why = NULL;
		if (c->matrix_homeserver &&
		    !config_homeserver_ok(c->matrix_homeserver, c->matrix_allow_insecure_http, &why))
			config_problem(probs, c->matrix_line, "[matrix] homeserver: %s", why);
		if (!c->matrix_user_id || c->matrix_user_id[0] != '@' || !strchr(c->matrix_user_id, ':'))
			config_problem(probs, c->matrix_line, "[matrix] needs user_id like @hearth:example.org");
		if (!c->matrix_password && !c->matrix_access_token)
			config_problem(probs, c->matrix_line, "[matrix] needs password or access_token (or HEARTH_MATRIX_PASSWORD)");
		if (!c->matrix_display_name && (rc = set_str(&c->matrix_display_name, "Hearth")))
			return rc;
		if (!c->matrix_device_name && (rc = set_str(&c->matrix_device_name, "Hearth bot")))
			return rc;
	}
	for (size_t i = 0; i < c->nirc; i++) {
		struct config_irc *irc = &c->irc[i];
		size_t j, n = 0;
		n = (size_t)snprintf(var, sizeof(var), "HEARTH_IRC_");
		for (j = 0; irc->name[j] && n + 1 < sizeof(var) - 16; j++)
			var[n++] = irc->name[j] == '-' ? '_' : (char)toupper((unsigned char)irc->name[j]);
		snprintf(var + n, sizeof(var) - n, "_SASL_PASSWORD");
		if ((rc = env_secret(&irc->sasl_password, var)))
			return rc;
		snprintf(var + n, sizeof(var) - n, "_SERVER_PASSWORD");
		if ((rc = env_secret(&irc->server_password, var)))
			return rc;
		if (irc->server_password && strpbrk(irc->server_password, "\r\n"))
			config_problem(probs, irc->line, "[irc.%s] server_password (or %s) may not hold a line break",
				       irc->name, var);
		if (!irc->host)
			config_problem(probs, irc->line, "[irc.%s] needs host", irc->name);
		if (!irc->nick && (rc = set_str(&irc->nick, "Hearth")))
			return rc;
		if (!irc->username && (rc = set_str(&irc->username, "hearth")))
			return rc;
		if (!irc->realname && (rc = set_str(&irc->realname, "Hearth peer-support bot")))
			return rc;
		if (!irc->port)
			irc->port = irc->tls ? 6697 : 6667;
		if (irc->sasl_mechanism && !*irc->sasl_mechanism) {
			free(irc->sasl_mechanism);
			irc->sasl_mechanism = NULL;
		}
		if (irc->sasl_mechanism) {
			if (strcasecmp(irc->sasl_mechanism, "PLAIN") == 0) {
				if (!irc->sasl_username || !irc->sasl_password)
					config_problem(probs, irc->line, "[irc.%s] SASL PLAIN needs sasl_username and sasl_password (or %s)",
						irc->name, var);
			} else if (strcasecmp(irc->sasl_mechanism, "EXTERNAL") == 0) {
				if (!irc->tls_cert_file)
					config_problem(probs, irc->line, "[irc.%s] SASL EXTERNAL needs tls_cert_file", irc->name);
			} else if (strcasecmp(irc->sasl_mechanism, "SCRAM-SHA-256") == 0 ||
				   strcasecmp(irc->sasl_mechanism, "SCRAM-SHA-512") == 0) {
				if (!irc->sasl_username || !irc->sasl_password)
					config_problem(probs, irc->line, "[irc.%s] SASL %s needs sasl_username and sasl_password (or %s)",
						irc->name, irc->sasl_mechanism, var);
				if (irc->sasl_username && !scram_text_ok(irc->sasl_username))
					config_problem(probs, irc->line, "[irc.%s] SASL %s: sasl_username may only hold printable "
						       "ASCII (SASLprep for other characters is not supported); use PLAIN over TLS",
						       irc->name, irc->sasl_mechanism);
				if (irc->sasl_password && !scram_text_ok(irc->sasl_password))
					config_problem(probs, irc->line, "[irc.%s] SASL %s: the password (sasl_password or %s) may only "
						       "hold printable ASCII (SASLprep for other characters is not supported); "
						       "use PLAIN over TLS or change the password", irc->name, irc->sasl_mechanism, var);
			} else if (strcasecmp(irc->sasl_mechanism, "ECDSA-NIST256P-CHALLENGE") == 0) {
				if (!irc->sasl_username || !irc->sasl_key_file)
					config_problem(probs, irc->line, "[irc.%s] SASL ECDSA-NIST256P-CHALLENGE needs sasl_username and sasl_key_file",
						irc->name);
			} else {
				config_problem(probs, irc->line, "[irc.%s] sasl_mechanism must be PLAIN, EXTERNAL, SCRAM-SHA-256, "
					       "SCRAM-SHA-512 or ECDSA-NIST256P-CHALLENGE", irc->name);
			}
		}
		if (irc->tls_fingerprint && *irc->tls_fingerprint && !fingerprints_ok(irc->tls_fingerprint))
			config_problem(probs, irc->line, "[irc.%s] tls_fingerprint must be sha256: and 64 hex digits "
				       "(colons allowed), several separated by commas", irc->name);
		if (!irc->nchannels)
			config_problem(probs, irc->line, "[irc.%s] has no channels to join", irc->name);
	}
	c->console = !c->matrix_enabled && c->nirc == 0;
	return HE_OK;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		if (k->scope != S_TOP)
			continue;
		if (k->type == K_STR || k->type == K_SECRET)
			free(*(char **)((char *)c + k->off));
		else if (k->type == K_LIST)
			free_list((char **)((char *)c + k->off), (size_t *)((char *)c + k->count_off));
	}
	for (size_t j = 0; j < c->nirc; j++) {
		struct config_irc *irc = &c->irc[j];
		for (size_t i = 0; i < NKEYS; i++) {
			const struct key *k = &keys[i];
			if (k->scope != S_IRC)
				continue;
			if (k->type == K_STR || k->type == K_SECRET)
				free(*(char **)((char *)irc + k->off));
			else if (k->type == K_LIST)
				free_list((char **)((char *)irc + k->off), (size_t *)((char *)irc + k->count_off));
		}
		free(irc->name);
	}
	for (size_t j = 0; j < c->nrooms; j++) {
		free(c->rooms[j].network);
		free(c->rooms[j].room);
		free(c->rooms[j].crisis_alert_room);
	}
	free(c->path);
	free(c);
}

int config_line(const struct config *c, const char *section, const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].scope == S_TOP && strcmp(keys[i].section, section) == 0 &&
		    strcmp(keys[i].name, name) == 0)
			return c->key_lines[i];
	return 0;
}

const struct config_room *config_room_find(const struct config *c, const char *network,
					   const char *room)
{
	for (size_t i = 0; i < c->nrooms; i++)
		if (strcmp(c->rooms[i].network, network) == 0 && strcmp(c->rooms[i].room, room) == 0)
			return &c->rooms[i];
	return NULL;
}

bool config_keydoc(size_t i, struct config_keydoc *out)
{
	if (i < NKEYS)
		*out = (struct config_keydoc){ keys[i].section, keys[i].name, keys[i].def, keys[i].help,
					       keys[i].scope == S_IRC, keys[i].scope == S_ROOM };
	return i < NKEYS;
}

#define SWAP(a, b) do { __typeof__(a) tmp_ = (a); (a) = (b); (b) = tmp_; } while (0)

void config_apply_reload(struct config *live, struct config *fresh)
{
	SWAP(live->prefix, fresh->prefix);
	SWAP(live->content_dir, fresh->content_dir);
	SWAP(live->language, fresh->language);
	SWAP(live->timezone, fresh->timezone);
	SWAP(live->log_level, fresh->log_level);
	SWAP(live->log_format, fresh->log_format);
	SWAP(live->max_message_bytes, fresh->max_message_bytes);
	SWAP(live->mood_retention_days, fresh->mood_retention_days);
	SWAP(live->stats_min_members, fresh->stats_min_members);
	SWAP(live->crisis_country, fresh->crisis_country);
	SWAP(live->crisis_rate_minutes, fresh->crisis_rate_minutes);
	SWAP(live->checkin_repeat_days, fresh->checkin_repeat_days);
	SWAP(live->room_answers_per_minute, fresh->room_answers_per_minute);
	for (size_t i = 0; i < CONFIG_MAX_ROOMS; i++)
		SWAP(live->rooms[i], fresh->rooms[i]);
	SWAP(live->nrooms, fresh->nrooms);
	hlog_set_level(live->log_level);
	hlog_set_format(live->log_format);
	if (strcmp(live->data_dir, fresh->data_dir) != 0 || live->nirc != fresh->nirc ||
	    live->matrix_enabled != fresh->matrix_enabled)
		hlog_warn("config", "data_dir and network settings change only on restart");
}
