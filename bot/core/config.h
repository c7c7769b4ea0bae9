/* config.h - Hearth's configuration: an INI file read with inih, described by one key table.
 *
 * Every key lives in the table in config.c with its section, type, default and help text, so
 * `--check-config`, the example file and the loader cannot drift apart. Secrets may come from the
 * environment instead of the file (HEARTH_MATRIX_PASSWORD, HEARTH_MATRIX_ACCESS_TOKEN,
 * HEARTH_IRC_<NAME>_SASL_PASSWORD with NAME upper-cased). Secrets are never logged. */
#ifndef HEARTH_CONFIG_H
#define HEARTH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/log.h"

#define CONFIG_MAX_IRC 8
#define CONFIG_MAX_ROOMS 64
#define CONFIG_MAX_LIST 16
#define CONFIG_MAX_KEYS 128              /* rows of the key table in config.c */

struct config_irc {
	char *name;                      /* the NAME of [irc.NAME] */
	int line;                        /* where its section starts, for messages */
	char *host;
	int port;                        /* default 6697 with TLS, 6667 without */
	bool tls;                        /* default true */
	bool tls_verify;                 /* default true */
	char *tls_ca_file;
	char *tls_cert_file;             /* client certificate (PEM, may hold the key) */
	char *tls_key_file;
	char *tls_fingerprint;           /* "sha256:HEX[,sha256:HEX]": pinned certificates, or NULL */
	char *server_password;           /* PASS before registering (secret), or NULL */
	char *nick;
	char *alt_nicks[CONFIG_MAX_LIST];
	size_t nalt_nicks;
	char *username;
	char *realname;
	char *sasl_mechanism;            /* NULL, PLAIN, EXTERNAL, SCRAM-SHA-256/512, ECDSA-NIST256P-CHALLENGE */
	char *sasl_username;
	char *sasl_password;             /* secret */
	char *sasl_key_file;             /* ECDSA-NIST256P-CHALLENGE: PEM private key, mode 0600 */
	bool sasl_required;              /* stop registration when SASL fails (default true) */
	char *channels[CONFIG_MAX_LIST]; /* "#chan" or "#chan key" */
	size_t nchannels;
	char *moderators[CONFIG_MAX_LIST]; /* services account names */
	size_t nmoderators;
	double rate;                     /* lines per second after the burst (default 1) */
	int burst;                       /* lines allowed at once (default 4) */
};

struct config_room {
	char *network;                   /* "matrix", "irc.NAME", "console" */
	char *room;                      /* room id or channel */
	char *crisis_alert_room;         /* moderators' room on the same network, or NULL */
};

struct config {
	char *path;                      /* the file read, or NULL for defaults */
	int secret_line;                 /* first line of the file holding a password or token, or 0 */

	/* [bot] */
	char *prefix;                    /* command prefix, default "!" */
	int prefix_line;
	char *data_dir;
	char *content_dir;
	char *language;                  /* default "en" */
	char *timezone;                  /* default "UTC" */
	enum hlog_level log_level;
	enum hlog_format log_format;     /* text (default) or json */
	int max_message_bytes;           /* default 4096 */

	/* [store] */
	char *store_url;                 /* NULL/"": SQLite in data_dir; else postgresql://... */
	int store_url_line;

	/* [mood] */
	int mood_retention_days;         /* default 365 */
	char *mood_key_file;             /* default DATA_DIR/mood.key */
	int room_answers_per_minute;     /* busy commands per member a minute in a room; 0 = off */
	int stats_min_members;           /* k-anonymity threshold, default 5 */

	/* [crisis] */
	char *crisis_country;            /* e.g. "gb"; default "intl" */
	int crisis_country_line;         /* where it was set, for messages */
	int crisis_rate_minutes;         /* one automatic answer per member per N minutes, default 10 */

	/* [checkins] */
	int checkin_repeat_days;         /* a scheduled prompt is not repeated within N days (7) */

	/* [matrix] */
	bool matrix_enabled;             /* true when the section exists */
	int matrix_line;                 /* where [matrix] starts, for messages */
	char *matrix_homeserver;
	char *matrix_user_id;
	char *matrix_password;           /* secret */
	char *matrix_access_token;       /* secret */
	char *matrix_display_name;
	int matrix_moderator_power_level; /* default 50 */
	int matrix_catch_up_minutes;     /* commands older than this after downtime: skipped (0: 60) */
	char *matrix_allowed_inviters[CONFIG_MAX_LIST];
	size_t nmatrix_allowed_inviters;
	char *matrix_device_name;
	bool matrix_allow_insecure_http; /* http:// to a homeserver that is not on loopback */

	/* [admin] */
	char *admin_listen;              /* NULL or "": off; "127.0.0.1:9464", "[::1]:9464", "unix:/PATH" */
	int admin_line;
	bool admin_allow_remote;         /* a listen address other machines can reach */

	/* [irc.NAME] */
	struct config_irc irc[CONFIG_MAX_IRC];
	size_t nirc;

	/* [room NETWORK ROOM] */
	struct config_room rooms[CONFIG_MAX_ROOMS];
	size_t nrooms;

	bool console;                    /* console chat (set when no network is configured) */

	int key_lines[CONFIG_MAX_KEYS];  /* where each top-level key was set (config_line) */
};

/* One problem found while reading: "FILE:LINE: message". */
struct config_problem {
	char *file;                      /* NULL: the configuration file; else its own (malloc'd) */
	int line;                        /* 0: not on a line (a default value, a whole file) */
	char msg[240];
};

struct config_problems {
	struct config_problem items[64];
	size_t n;
	size_t dropped;
};

/* Records a problem (nothing happens when p is NULL or full: the count of dropped ones grows). */
void config_problem(struct config_problems *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same for a problem in another file (content): file is copied. */
void config_problem_in(struct config_problems *p, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Frees the copied file names and empties the list. */
void config_problems_clear(struct config_problems *p);

/* Reads path (NULL: defaults only). Returns HE_OK with *out set even when problems were found
 * (they are in *probs; the caller decides), HE_IO when the file cannot be read, HE_NOMEM. */
int config_load(const char *path, struct config **out, struct config_problems *probs);
/* [store] url (config_store.c): HEARTH_STORE_URL when the file has none, the scheme checked, and
 * a password written in it makes the file one that must stay private (secret_line). */
int config_store_finish(struct config *c, struct config_problems *probs);
/* Fills defaults that depend on other keys (data_dir, key file) and validates cross-key rules. */
int config_finish(struct config *c, struct config_problems *probs);
void config_free(struct config *c);    /* accepts NULL */

/* Prints every problem as "FILE:LINE: message" to f ("FILE: message" when it has no line):
 * the configuration file's first, then other files by name, each in line order. */
void config_print_problems(const struct config *c, const char *path,
			   const struct config_problems *probs, void *file);

/* Pure: url is http:// or https:// and, when http://, its host is loopback (127.0.0.0/8, ::1,
 * localhost) or allow_insecure is set. On false, why says what is wrong. */
bool config_homeserver_ok(const char *url, bool allow_insecure, const char **why);

/* The line where a top-level key ("bot", "language") was set, or 0 when it was not. */
int config_line(const struct config *c, const char *section, const char *name);

/* Finds the [room ...] section for a room, or NULL. */
const struct config_room *config_room_find(const struct config *c, const char *network,
					   const char *room);

/* Writes the documented example configuration (generated from the key table) to a FILE*. */
void config_write_example(void *file);
/* Writes the manual page hearth.ini(5) (roff), generated from the same key table. Both
 * writers live in config_doc.c and read the table through config_keydoc(). */
void config_write_man(void *file);

/* One key of the table, for documentation: false when i is past the end. */
struct config_keydoc {
	const char *section, *name, *def, *help;
	bool irc, room;                  /* [irc.NAME] or [room NETWORK ROOM] key */
};
bool config_keydoc(size_t i, struct config_keydoc *out);



/* After SIGHUP: moves the settings that can change without reconnecting (bot, mood, crisis,
 * checkins, rooms) from fresh into live; network settings stay as they are and are reported
 * with a warning when they differ. fresh keeps the old values and is freed by the caller. */
void config_apply_reload(struct config *live, struct config *fresh);

#endif
