/* test_config.c - a facilitator's config file: defaults, every problem with its line, secrets
 * from the environment. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/err.h"

static char *write_tmp(const char *text)
{
	static char path[64];
	int fd;
	snprintf(path, sizeof(path), "/tmp/hearth-cfg-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void defaults_mean_console(void **state)
{
	struct config *c = NULL;
	struct config_problems p = { 0 };
	assert_int_equal(config_load(NULL, &c, &p), HE_OK);
	assert_int_equal(config_finish(c, &p), HE_OK);
	assert_int_equal(p.n, 0);
	assert_true(c->console);
	assert_string_equal(c->prefix, "!");
	assert_string_equal(c->timezone, "UTC");
	assert_int_equal(c->mood_retention_days, 365);
	assert_int_equal(c->stats_min_members, 5);
	assert_non_null(strstr(c->mood_key_file, "mood.key"));
	config_free(c);
}

static void problems_carry_their_line(void **state)
{
	struct config *c = NULL;
	struct config_problems p = { 0 };
	const char *path = write_tmp(
		"[bot]\n"
		"prefix = ?\n"
		"colour = blue\n"                 /* line 3: unknown key */
		"[mood]\n"
		"retention_days = forever\n"      /* line 5: not a number */
		"[weird]\n"                       /* line 6: unknown section */
		"x = 1\n"
		"[irc.libera]\n"
		"host = irc.libera.chat\n"
		"tls = maybe\n"                   /* line 10 */
		"channels = #a, #b key\n");
	assert_int_equal(config_load(path, &c, &p), HE_OK);
	assert_int_equal(config_finish(c, &p), HE_OK);
	assert_int_equal(p.n, 4);
	assert_int_equal(p.items[0].line, 3);
	assert_non_null(strstr(p.items[0].msg, "colour"));
	assert_int_equal(p.items[1].line, 5);
	assert_non_null(strstr(p.items[1].msg, "retention_days"));
	assert_int_equal(p.items[2].line, 6);
	assert_non_null(strstr(p.items[2].msg, "weird"));
	assert_int_equal(p.items[3].line, 10);
	assert_string_equal(c->prefix, "?");
	assert_int_equal(c->mood_retention_days, 365); /* a bad value changes nothing */
	assert_int_equal(c->nirc, 1);
	assert_int_equal(c->irc[0].nchannels, 2);
	assert_string_equal(c->irc[0].channels[1], "#b key");
	assert_false(c->console);
	config_free(c);
	unlink(path);
}

static void secrets_from_environment(void **state)
{
	struct config *c = NULL;
	struct config_problems p = { 0 };
	const char *path = write_tmp(
		"[matrix]\nhomeserver = http://127.0.0.1:1\nuser_id = @h:localhost\n"
		"[irc.my-net]\nhost = 127.0.0.1\nchannels = #x\nsasl_mechanism = PLAIN\nsasl_username = h\n");
	setenv("HEARTH_MATRIX_PASSWORD", "s3cret", 1);
	setenv("HEARTH_IRC_MY_NET_SASL_PASSWORD", "irc-s3cret", 1);
	assert_int_equal(config_load(path, &c, &p), HE_OK);
	assert_int_equal(config_finish(c, &p), HE_OK);
	assert_int_equal(p.n, 0);
	assert_string_equal(c->matrix_password, "s3cret");
	assert_string_equal(c->irc[0].sasl_password, "irc-s3cret");
	assert_true(c->irc[0].tls);
	assert_int_equal(c->irc[0].port, 6697);
	config_free(c);
	unsetenv("HEARTH_MATRIX_PASSWORD");
	unsetenv("HEARTH_IRC_MY_NET_SASL_PASSWORD");
	/* Without the secret: a clear problem, not a crash. */
	p.n = 0;
	assert_int_equal(config_load(path, &c, &p), HE_OK);
	assert_int_equal(config_finish(c, &p), HE_OK);
	assert_int_equal(p.n, 2);
	assert_non_null(strstr(p.items[0].msg, "password"));
	config_free(c);
	unlink(path);
}

/* server_password (PASS) from the file or the environment; one with a line break (possible only
 * from the environment) would add lines of its own to the registration: a problem, not shown. */
static void server_password_no_line_break(void **state)
{
	struct config *c = NULL;
	struct config_problems p = { 0 };
	const char *path = write_tmp("[irc.net]\nhost = 127.0.0.1\nchannels = #x\nsasl_mechanism =\n"
				     "server_password = from-file\n");

	assert_int_equal(config_load(path, &c, &p), HE_OK);
	assert_int_equal(config_finish(c, &p), HE_OK);
	assert_int_equal(p.n, 0);
	assert_string_equal(c->irc[0].server_password, "from-file");
	config_free(c);
	setenv("HEARTH_IRC_NET_SERVER_PASSWORD", "pw\r\nQUIT :gone", 1);
	assert_int_equal(config_load(path, &c, &p), HE_OK);
	assert_int_equal(config_finish(c, &p), HE_OK);
	unsetenv("HEARTH_IRC_NET_SERVER_PASSWORD");
	assert_int_equal(p.n, 1);
	assert_non_null(strstr(p.items[0].msg, "server_password"));
	assert_non_null(strstr(p.items[0].msg, "line break"));
	assert_null(strstr(p.items[0].msg, "QUIT"));
	config_free(c);
	unlink(path);
}

/* SCRAM without SASLprep: a non-ASCII or control character in the user name or password is a
 * clear problem (which never shows the password); printable ASCII and PLAIN are fine. */
static size_t scram_problems(const char *mech, const char *user, const char *pw, char *msg, size_t n)
{
	struct config *c = NULL;
	struct config_problems p = { 0 };
	char text[512];
	const char *path;
	size_t count;

	snprintf(text, sizeof(text), "[irc.s]\nhost = 127.0.0.1\nchannels = #x\nsasl_mechanism = %s\n"
		 "sasl_username = %s\n", mech, user);
	path = write_tmp(text);
	setenv("HEARTH_IRC_S_SASL_PASSWORD", pw, 1);
	assert_int_equal(config_load(path, &c, &p), HE_OK);
	assert_int_equal(config_finish(c, &p), HE_OK);
	unsetenv("HEARTH_IRC_S_SASL_PASSWORD");
	count = p.n;
	snprintf(msg, n, "%s", count ? p.items[0].msg : "");
	for (size_t i = 0; i < p.n; i++)
		assert_null(strstr(p.items[i].msg, pw));
	config_free(c);
	unlink(path);
	return count;
}

static void scram_credentials_printable_ascii(void **state)
{
	char msg[512];

	assert_int_equal(scram_problems("SCRAM-SHA-256", "hearth", "Tr0ub4dor &3 ~!", msg, sizeof(msg)), 0);
	assert_int_equal(scram_problems("SCRAM-SHA-512", "a=b,c", "pw", msg, sizeof(msg)), 0);
	assert_int_equal(scram_problems("SCRAM-SHA-256", "hearth", "p\xc3\xa4sswort", msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "printable ASCII"));
	assert_non_null(strstr(msg, "password"));
	assert_int_equal(scram_problems("SCRAM-SHA-512", "b\xc3\xa4r", "pw", msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "sasl_username"));
	assert_int_equal(scram_problems("SCRAM-SHA-256", "hearth", "tab\there", msg, sizeof(msg)), 1);
	assert_int_equal(scram_problems("SCRAM-SHA-256", "hearth", "nbsp\xc2\xa0x", msg, sizeof(msg)), 1);
	/* PLAIN sends the bytes as they are: no SASLprep involved */
	assert_int_equal(scram_problems("PLAIN", "b\xc3\xa4r", "p\xc3\xa4sswort", msg, sizeof(msg)), 0);
}

static void reload_moves_hot_settings_only(void **state)
{
	struct config *live = NULL, *fresh = NULL;
	assert_int_equal(config_load(NULL, &live, NULL), HE_OK);
	config_finish(live, NULL);
	assert_int_equal(config_load(NULL, &fresh, NULL), HE_OK);
	free(fresh->prefix);
	fresh->prefix = strdup("?");
	fresh->stats_min_members = 9;
	config_finish(fresh, NULL);
	config_apply_reload(live, fresh);
	assert_string_equal(live->prefix, "?");
	assert_int_equal(live->stats_min_members, 9);
	config_free(fresh);
	config_free(live);
}

/* Loads [matrix] with this homeserver (and optionally allow_insecure_http = true): the number
 * of problems, and the first one's text in *msg. */
static size_t homeserver_problems(const char *hs, bool allow, char *msg, size_t n)
{
	struct config *c = NULL;
	struct config_problems p = { 0 };
	char text[512];
	const char *path;

	snprintf(text, sizeof(text), "[matrix]\nhomeserver = %s\nuser_id = @h:localhost\n"
		 "password = x\n%s", hs, allow ? "allow_insecure_http = true\n" : "");
	path = write_tmp(text);
	assert_int_equal(config_load(path, &c, &p), HE_OK);
	assert_int_equal(config_finish(c, &p), HE_OK);
	msg[0] = '\0';
	if (p.n)
		snprintf(msg, n, "%s", p.items[0].msg);
	config_free(c);
	unlink(path);
	return p.n;
}

static void http_homeserver_only_on_loopback(void **state)
{
	static const char *const ok[] = {
		"https://matrix.example.org", "https://203.0.113.9:8448/", "http://127.0.0.1:8008",
		"http://127.8.9.10", "http://localhost:8008/", "http://LOCALHOST", "http://[::1]:8008",
	};
	static const char *const refused[] = {
		"http://matrix.example.org", "http://203.0.113.9:8008", "http://127.0.0.1.evil.org",
		"http://127.0.0.1@evil.org/", "http://localhost.evil.org", "http://[::2]:8008",
		"http://128.0.0.1", "http://127.1", "http://0x7f.0.0.1", "http://[::ffff:8.8.8.8]",
		"http://", "ftp://127.0.0.1",
	};
	char msg[256];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (homeserver_problems(ok[i], false, msg, sizeof(msg)) != 0)
			fail_msg("%s refused: %s", ok[i], msg);
	}
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (homeserver_problems(refused[i], false, msg, sizeof(msg)) != 1)
			fail_msg("%s accepted", refused[i]);
		assert_non_null(strstr(msg, "homeserver"));
		if (strncmp(refused[i], "http://", 7) == 0)
			assert_non_null(strstr(msg, "allow_insecure_http"));
	}
	/* the key says it is meant: any http:// host is accepted, other schemes still are not */
	assert_int_equal(homeserver_problems("http://matrix.example.org", true, msg, sizeof(msg)), 0);
	assert_int_equal(homeserver_problems("ftp://matrix.example.org", true, msg, sizeof(msg)), 1);
}

/* Every problem, however many, each with its real line: long lines do not shift the count,
 * every unreadable line is named (inih itself names only the first), a misspelt section is
 * named even when it has no keys, and a long room id is read whole. */
static void every_problem_with_its_real_line(void **state)
{
	struct config *c = NULL;
	struct config_problems p = { 0 };
	char text[2048], *out = NULL;
	size_t outlen = 0;
	char longc[400], longroom[120];
	const char *path;
	FILE *mem;

	memset(longc, 'c', 300);
	longc[300] = '\0';
	memset(longroom, 'r', 90);
	longroom[90] = '\0';
	snprintf(text, sizeof(text),
		 "[bot]\n"
		 "; %s\n"                         /* 2: a long comment, ignored */
		 "not a setting\n"                /* 3 */
		 "timezone = Europe/Berlin\n"     /* 4 */
		 "allowed = %s\n"                 /* 5: too long to read */
		 "nor this\n"                     /* 6 */
		 "[moood]\n"                      /* 7: misspelt, no keys */
		 "[room console !%s:example.org]\n" /* 8 */
		 "crisis_alert_room = #mods\n"    /* 9 */
		 "[mood]\n"
		 "retention_days = 0\n",          /* 11 */
		 longc, longc, longroom);
	path = write_tmp(text);
	assert_int_equal(config_load(path, &c, &p), HE_OK);
	assert_int_equal(config_finish(c, &p), HE_OK);
	assert_int_equal(p.n, 5);
	assert_int_equal(p.items[0].line, 3);
	assert_int_equal(p.items[1].line, 5);
	assert_non_null(strstr(p.items[1].msg, "too long"));
	assert_int_equal(p.items[2].line, 6);
	assert_int_equal(p.items[3].line, 7);
	assert_non_null(strstr(p.items[3].msg, "[moood]"));
	assert_int_equal(p.items[4].line, 11);
	assert_int_equal(config_line(c, "bot", "timezone"), 4);
	assert_int_equal(config_line(c, "bot", "language"), 0);
	assert_int_equal(c->nrooms, 1);
	assert_int_equal(strlen(c->rooms[0].room), 1 + 90 + strlen(":example.org"));
	assert_string_equal(c->rooms[0].crisis_alert_room, "#mods");

	/* Printed in order: the config file's by line, then other files by name and line. */
	config_problem_in(&p, "/c/topics/b.md", 9, "b9");
	config_problem(&p, 1, "first");
	config_problem_in(&p, "/c/about.md", 2, "a2");
	config_problem_in(&p, "/c/topics/b.md", 3, "b3");
	config_problem(&p, 0, "no line");
	mem = open_memstream(&out, &outlen);
	assert_non_null(mem);
	config_print_problems(c, "x.ini", &p, mem);
	fclose(mem);
	assert_string_equal(out,
		"x.ini: no line\n"
		"x.ini:1: first\n"
		"x.ini:3: this line is not \"key = value\" nor a [section]\n"
		"x.ini:5: this line is too long (at most 198 characters)\n"
		"x.ini:6: this line is not \"key = value\" nor a [section]\n"
		"x.ini:7: unknown section [moood] (known: bot, mood, crisis, checkins, matrix, irc.NAME, room NETWORK ROOM)\n"
		"x.ini:11: retention_days must be a whole number from 1 to 3650, got \"0\"\n"
		"/c/about.md:2: a2\n"
		"/c/topics/b.md:3: b3\n"
		"/c/topics/b.md:9: b9\n");
	free(out);
	config_problems_clear(&p);
	assert_int_equal(p.n, 0);
	config_free(c);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_mean_console),
		cmocka_unit_test(problems_carry_their_line),
		cmocka_unit_test(secrets_from_environment),
		cmocka_unit_test(server_password_no_line_break),
		cmocka_unit_test(scram_credentials_printable_ascii),
		cmocka_unit_test(reload_moves_hot_settings_only),
		cmocka_unit_test(http_homeserver_only_on_loopback),
		cmocka_unit_test(every_problem_with_its_real_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
