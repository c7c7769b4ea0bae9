/* test_irc_parse.c - the IRC line parser against the public ircdocs/parser-tests vectors (CC0),
 * plus the hard caps, formatting, encodings and CTCP a member's client may send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "net/irc/parse.h"

static json_t *load_vectors(const char *name)
{
	const char *src = getenv("SRC");
	char path[1024];
	json_error_t err;
	json_t *root;

	snprintf(path, sizeof(path), "%s/tests/data/irc-parser-tests/%s.json", src ? src : HEARTH_SOURCE_DIR, name);
	root = json_load_file(path, 0, &err);
	if (!root)
		fail_msg("%s:%d: %s", path, err.line, err.text);
	if (!json_object_get(root, "tests"))
		fail_msg("%s: no tests", path);
	return root;
}

static void msg_split_vectors(void **state)
{
	json_t *root = load_vectors("msg-split"), *t;
	size_t i, checked = 0;

	json_array_foreach(json_object_get(root, "tests"), i, t) {
		const char *input = json_string_value(json_object_get(t, "input"));
		json_t *atoms = json_object_get(t, "atoms"), *params, *tags, *v;
		const char *source = json_string_value(json_object_get(atoms, "source"));
		struct irc_msg *m = calloc(1, sizeof(*m));
		const char *key;
		size_t j;

		assert_non_null(m);
		if (irc_parse(input, strlen(input), 0, m) != HE_OK)
			fail_msg("vector %zu (%s) did not parse", i, input);
		assert_string_equal(m->verb, json_string_value(json_object_get(atoms, "verb")));
		if (source)
			assert_string_equal(m->source ? m->source : "(null)", source);
		else
			assert_null(m->source);
		params = json_object_get(atoms, "params");
		assert_int_equal(m->nparams, params ? json_array_size(params) : 0);
		json_array_foreach(params, j, v)
			assert_string_equal(m->params[j], json_string_value(v));
		tags = json_object_get(atoms, "tags");
		assert_int_equal(m->ntags, tags ? json_object_size(tags) : 0);
		json_object_foreach(tags, key, v) {
			const char *got = irc_msg_tag(m, key);
			if (!got)
				fail_msg("vector %zu (%s): tag %s missing", i, input, key);
			assert_string_equal(got, json_is_null(v) ? "" : json_string_value(v));
		}
		free(m);
		checked++;
	}
	assert_int_equal(checked, 35);
	json_decref(root);
}

static void msg_join_vectors(void **state)
{
	json_t *root = load_vectors("msg-join"), *t;
	size_t i, checked = 0;

	json_array_foreach(json_object_get(root, "tests"), i, t) {
		json_t *atoms = json_object_get(t, "atoms"), *jp = json_object_get(atoms, "params");
		json_t *jt = json_object_get(atoms, "tags"), *v, *matches = json_object_get(t, "matches");
		struct irc_tag tags[8];
		const char *params[IRC_MAX_PARAMS], *key;
		size_t np = 0, nt = 0, j;
		struct hbuf b = HBUF_INIT;
		bool found = false;

		json_array_foreach(jp, j, v)
			params[np++] = json_string_value(v);
		json_object_foreach(jt, key, v) {
			tags[nt].key = key;
			tags[nt++].value = json_string_value(v);
		}
		assert_int_equal(irc_format(&b, tags, nt,
					    json_string_value(json_object_get(atoms, "source")),
					    json_string_value(json_object_get(atoms, "verb")), params, np), HE_OK);
		json_array_foreach(matches, j, v)
			if (strcmp(hbuf_str(&b), json_string_value(v)) == 0)
				found = true;
		if (!found)
			fail_msg("join vector %zu (%s): got \"%s\"",
				 i, json_string_value(json_object_get(t, "desc")), hbuf_str(&b));
		/* and what we write parses back to the same atoms */
		{
			struct irc_msg *m = calloc(1, sizeof(*m));
			assert_int_equal(irc_parse(hbuf_str(&b), b.len, 0, m), HE_OK);
			assert_int_equal(m->nparams, np);
			for (j = 0; j < np; j++)
				assert_string_equal(m->params[j], params[j]);
			free(m);
		}
		hbuf_free(&b);
		checked++;
	}
	assert_int_equal(checked, 18);
	json_decref(root);
}

static void userhost_vectors(void **state)
{
	json_t *root = load_vectors("userhost-split"), *t;
	size_t i;

	json_array_foreach(json_object_get(root, "tests"), i, t) {
		json_t *a = json_object_get(t, "atoms");
		char nick[64], user[64], host[256];
		const char *en = json_string_value(json_object_get(a, "nick"));
		const char *eu = json_string_value(json_object_get(a, "user"));
		const char *eh = json_string_value(json_object_get(a, "host"));

		irc_split_source(json_string_value(json_object_get(t, "source")), nick, sizeof(nick),
				 user, sizeof(user), host, sizeof(host));
		assert_string_equal(nick, en ? en : "");
		assert_string_equal(user, eu ? eu : "");
		assert_string_equal(host, eh ? eh : "");
	}
	assert_int_equal(i, 6);
	json_decref(root);
}

static struct irc_msg M;

static int parse(const char *s)
{
	return irc_parse(s, strlen(s), 0, &M);
}

static void line_rules(void **state)
{
	char big[9000];

	/* empty lines are ignored, a lone LF or CRLF is stripped */
	assert_int_equal(parse(""), HE_AGAIN);
	assert_int_equal(parse("\r\n"), HE_AGAIN);
	assert_int_equal(parse("   "), HE_AGAIN);
	assert_int_equal(parse("PING :x\n"), HE_OK);
	assert_string_equal(M.params[0], "x");
	assert_int_equal(parse("PING :x\r\n"), HE_OK);
	assert_string_equal(M.params[0], "x");
	/* no verb */
	assert_int_equal(parse(":"), HE_PROTO);
	assert_int_equal(parse("@a=b"), HE_PROTO);
	assert_int_equal(parse(":src"), HE_PROTO);
	/* empty keys are skipped; "@ CMD" has no tags */
	assert_int_equal(parse("@;;=x CMD"), HE_OK);
	assert_int_equal(M.ntags, 0);
	assert_string_equal(M.verb, "CMD");
	assert_int_equal(parse("@ CMD"), HE_OK);
	assert_int_equal(M.ntags, 0);
	/* NUL inside a line is refused */
	assert_int_equal(irc_parse("PRIVMSG #a :x\0y", 15, 0, &M), HE_PROTO);

	/* 512 bytes with CRLF for the rest of the line: 510 fit, 511 do not */
	memset(big, 'a', sizeof(big));
	memcpy(big, "PRIVMSG #c :", 12);
	assert_int_equal(irc_parse(big, 510, 0, &M), HE_OK);
	assert_int_equal(irc_parse(big, 511, 0, &M), HE_TOOBIG);
	/* a larger LINELEN from ISUPPORT is honoured */
	assert_int_equal(irc_parse(big, 700, 1024, &M), HE_OK);
	/* tags: up to 8191 bytes with '@' and the space */
	big[0] = '@';
	memset(big + 1, 'k', 8189);
	memcpy(big + 8190, " PING :z", 8);
	assert_int_equal(irc_parse(big, 8198, 0, &M), HE_OK);
	assert_string_equal(M.verb, "PING");
	big[8190] = 'k';
	memcpy(big + 8191, " PING :z", 8);
	assert_int_equal(irc_parse(big, 8199, 0, &M), HE_TOOBIG);
}

static void fifteen_params(void **state)
{
	assert_int_equal(parse("CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17"), HE_OK);
	assert_int_equal(M.nparams, 15);
	assert_string_equal(M.params[13], "14");
	assert_string_equal(M.params[14], "15 16 17");
	assert_int_equal(parse("CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 :a b"), HE_OK);
	assert_int_equal(M.nparams, 15);
	assert_string_equal(M.params[14], "a b");
	assert_string_equal(irc_msg_param(&M, 20), "");
}

static void tags_escapes(void **state)
{
	assert_int_equal(parse("@account=al\\sice;time=2024-01-01T00:00:00.000Z;x=a\\b\\ :n!u@h PRIVMSG #c :hi"), HE_OK);
	assert_string_equal(irc_msg_tag(&M, "account"), "al ice");
	assert_string_equal(irc_msg_tag(&M, "x"), "ab");
	assert_null(irc_msg_tag(&M, "nope"));
	assert_string_equal(M.source, "n!u@h");
}

static void isupport_and_casemapping(void **state)
{
	struct irc_isupport is;
	char out[64];

	irc_isupport_init(&is);
	assert_int_equal(is.casemap, IRC_CM_RFC1459);
	irc_casefold(is.casemap, "Nick[A]\\~", out, sizeof(out));
	assert_string_equal(out, "nick{a}|^");
	assert_true(irc_caseeq(IRC_CM_RFC1459, "[Hearth]", "{hearth}"));
	assert_true(irc_caseeq(IRC_CM_RFC1459, "a~", "A^"));
	assert_false(irc_caseeq(IRC_CM_STRICT_RFC1459, "a~", "A^"));
	assert_true(irc_caseeq(IRC_CM_STRICT_RFC1459, "a\\", "A|"));
	assert_false(irc_caseeq(IRC_CM_ASCII, "[x]", "{x}"));
	assert_true(irc_caseeq(IRC_CM_ASCII, "#Group", "#gROUP"));
	assert_false(irc_caseeq(IRC_CM_ASCII, "#group", "#group2"));

	assert_int_equal(parse(":irc.test 005 hearth CASEMAPPING=ascii LINELEN=1024 NICKLEN=30 "
			       "PREFIX=(qaohv)~&@%+ CHANTYPES=# UTF8ONLY CHANMODES=IXbeg,k,Hfl,BCMNOPRSTcimnprstz "
			       ":are supported by this server"), HE_OK);
	irc_isupport_apply(&is, &M);
	assert_int_equal(is.casemap, IRC_CM_ASCII);
	assert_int_equal(is.linelen, 1024);
	assert_true(is.utf8only);
	assert_string_equal(is.prefix_modes, "qaohv");
	assert_string_equal(is.prefix_chars, "~&@%+");
	assert_int_equal(irc_prefix_rank_char(&is, '@'), 2);
	assert_int_equal(irc_prefix_rank_mode(&is, 'q'), 0);
	assert_int_equal(irc_prefix_rank_mode(&is, 'x'), -1);
	assert_true(irc_is_channel(&is, "#a"));
	assert_false(irc_is_channel(&is, "&a"));
	assert_true(irc_mode_has_param(&is, 'b', false));
	assert_true(irc_mode_has_param(&is, 'l', true));
	assert_false(irc_mode_has_param(&is, 'l', false));
	assert_false(irc_mode_has_param(&is, 'n', true));
	/* an absurd LINELEN falls back to 512 */
	assert_int_equal(parse(":s 005 me LINELEN=99999999 :x"), HE_OK);
	irc_isupport_apply(&is, &M);
	assert_int_equal(is.linelen, 512);
	assert_int_equal(parse(":s 005 me CASEMAPPING=strict-rfc1459 :x"), HE_OK);
	irc_isupport_apply(&is, &M);
	assert_int_equal(is.casemap, IRC_CM_STRICT_RFC1459);
}

static void strip(const char *in, const char *want)
{
	char buf[256];
	size_t n = strlen(in);
	memcpy(buf, in, n + 1);
	n = irc_strip_format(buf, n);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void formatting_is_stripped(void **state)
{
	strip("\x02!help\x02", "!help");
	strip("\x03" "04,12!learn\x03 x", "!learn x");
	strip("\x03" "4!mood 5", "!mood 5");
	strip("\x03,5x", ",5x");               /* a comma without a foreground stays */
	strip("\x03" "12,x", ",x");
	strip("\x03" "1234", "34");            /* at most two digits */
	strip("\x1d" "it\x1f" "un\x16" "rev\x0f" "re\x11" "mono\x1e" "strike", "itunrevremonostrike");
	strip("\x04" "ff00aa,00ff00hex", "hex");
	strip("\x04" "ff00aahex", "hex");
	strip("\x04" "zz", "zz");
	strip("\x03", "");
}

static void latin1_fallback(void **state)
{
	char *s;
	s = irc_to_utf8("caf\xe9", 4);
	assert_string_equal(s, "caf\xc3\xa9");
	free(s);
	s = irc_to_utf8("caf\xc3\xa9", 5);
	assert_string_equal(s, "caf\xc3\xa9");
	free(s);
	s = irc_to_utf8("\xc3", 1);            /* cut UTF-8 sequence */
	assert_string_equal(s, "\xc3\x83");
	free(s);
	s = irc_to_utf8("\xed\xa0\x80", 3);    /* a surrogate is not UTF-8 */
	assert_non_null(s);
	free(s);
	s = irc_to_utf8("\xf0\x9f\x8c\xb1 ok", 7); /* 4-byte emoji kept */
	assert_string_equal(s, "\xf0\x9f\x8c\xb1 ok");
	free(s);
}

static void ctcp(void **state)
{
	char verb[16];
	const char *args;
	size_t alen;
	assert_true(irc_ctcp("\x01VERSION\x01", verb, sizeof(verb), &args, &alen));
	assert_string_equal(verb, "VERSION");
	assert_int_equal(alen, 0);
	assert_true(irc_ctcp("\x01ping 12345\x01", verb, sizeof(verb), &args, &alen));
	assert_string_equal(verb, "PING");
	assert_int_equal(alen, 5);
	assert_memory_equal(args, "12345", 5);
	assert_true(irc_ctcp("\x01" "ACTION waves", verb, sizeof(verb), &args, &alen));
	assert_string_equal(verb, "ACTION");
	assert_int_equal(alen, 5);
	assert_false(irc_ctcp("!help", verb, sizeof(verb), &args, &alen));
	assert_false(irc_ctcp("\x01", verb, sizeof(verb), &args, &alen));
}

static void logged(const char *line, const char *want)
{
	char out[256];
	size_t n = irc_log_line(line, strlen(line), out, sizeof(out));

	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
}

/* A debug log shows the shape of traffic, never a member's words, Hearth's replies or a secret. */
static void log_lines_hide_bodies_and_secrets(void **state)
{
	char small[12];

	logged("@time=2026-01-01T00:00:00.000Z;account=ann;+draft/reply=abc;+x=my\\snote :ann!a@h PRIVMSG "
	       "Hearth :!mood 3 my secret note\r\n",
	       "@time=2026-01-01T00:00:00.000Z;account=ann :ann!a@h PRIVMSG Hearth :(text hidden)");
	logged("PRIVMSG ann :Here are your recent days: 3/10 my secret note",
	       "PRIVMSG ann :(text hidden)");
	logged("PRIVMSG #c one-word", "PRIVMSG #c :(text hidden)");
	logged(":n!u@h notice  ann   :\x01VERSION\x01", ":n!u@h notice ann :(text hidden)");
	logged("PRIVMSG :only text", "PRIVMSG :(text hidden)");
	logged("PRIVMSG #c", "PRIVMSG #c");
	logged("@+typing=active :n!u@h TAGMSG #c", ":n!u@h TAGMSG #c");
	logged("AUTHENTICATE aGVhcnRoYm90AGhlYXJ0aGJvdABzZWNyZXQ=", "AUTHENTICATE (payload hidden)");
	logged("AUTHENTICATE PLAIN", "AUTHENTICATE PLAIN");
	logged("AUTHENTICATE +", "AUTHENTICATE +");
	logged(":irc.test AUTHENTICATE +", ":irc.test AUTHENTICATE +");
	logged("PASS hunter2", "PASS (hidden)");
	logged("OPER admin hunter2", "OPER (hidden)");
	logged(":irc.test 001 Hearth :Welcome to the HearthTest IRC Network Hearth!h@127.0.0.1",
	       ":irc.test 001 Hearth :Welcome to the HearthTest IRC Network Hearth!h@127.0.0.1");
	logged("JOIN #c", "JOIN #c");
	logged("", "");
	/* a short buffer is cut and terminated, never overrun */
	assert_int_equal(irc_log_line("PRIVMSG #channel :secret", 24, small, sizeof(small)), 11);
	assert_string_equal(small, "PRIVMSG #ch");
	assert_int_equal(irc_log_line("x", 1, small, 0), 0);
	assert_int_equal(irc_log_line("JOIN #a\0b", 9, small, sizeof(small)), 7);
	assert_string_equal(small, "JOIN #a");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(msg_split_vectors),
		cmocka_unit_test(msg_join_vectors),
		cmocka_unit_test(userhost_vectors),
		cmocka_unit_test(line_rules),
		cmocka_unit_test(fifteen_params),
		cmocka_unit_test(tags_escapes),
		cmocka_unit_test(isupport_and_casemapping),
		cmocka_unit_test(formatting_is_stripped),
		cmocka_unit_test(latin1_fallback),
		cmocka_unit_test(ctcp),
		cmocka_unit_test(log_lines_hide_bodies_and_secrets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
