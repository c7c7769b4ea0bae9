/* test_irc_pieces.c - the pure pieces of the IRC transport members depend on: replies split to
 * fit the line without cutting a character or a word, the flood-safe send rate, SASL chunks,
 * who counts as a channel operator, and whether a private line still goes to the person it was
 * queued for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/text.h"
#include "net/irc/parse.h"
#include "net/irc/track.h"

struct lines {
	char l[64][600];
	size_t n;
};

static int collect(void *ud, const char *line, size_t len)
{
	struct lines *ls = ud;
	assert_true(ls->n < 64);
	assert_true(len < sizeof(ls->l[0]));
	memcpy(ls->l[ls->n], line, len);
	ls->l[ls->n++][len] = '\0';
	return 0;
}

static void split_words_and_utf8(void **state)
{
	struct lines ls = { .n = 0 };

	assert_int_equal(irc_split_text("one two three four", 9, collect, &ls), HE_OK);
	assert_int_equal(ls.n, 3);
	assert_string_equal(ls.l[0], "one two");
	assert_string_equal(ls.l[1], "three");
	assert_string_equal(ls.l[2], "four");

	/* paragraphs and list lines become lines; empty lines are dropped */
	ls.n = 0;
	assert_int_equal(irc_split_text("Hello.\n\n- a\n- b\n\n\nBye.", 100, collect, &ls), HE_OK);
	assert_int_equal(ls.n, 4);
	assert_string_equal(ls.l[1], "- a");
	assert_string_equal(ls.l[3], "Bye.");

	/* a long word of 4-byte emoji is cut at character boundaries only */
	{
		char s[4 * 30 + 1] = "";
		for (int i = 0; i < 30; i++)
			strcat(s, "\xf0\x9f\x8c\xb1");
		ls.n = 0;
		assert_int_equal(irc_split_text(s, 10, collect, &ls), HE_OK);
		assert_int_equal(ls.n, 15);
		for (size_t i = 0; i < ls.n; i++) {
			assert_true(strlen(ls.l[i]) <= 10);
			assert_true(text_utf8_valid(ls.l[i], strlen(ls.l[i])));
		}
	}
	/* é (2 bytes) at the edge is not cut */
	ls.n = 0;
	assert_int_equal(irc_split_text("abcd\xc3\xa9\xc3\xa9", 5, collect, &ls), HE_OK);
	assert_string_equal(ls.l[0], "abcd");
	assert_string_equal(ls.l[1], "\xc3\xa9\xc3\xa9");

	/* CR and \x01 never reach the wire */
	ls.n = 0;
	assert_int_equal(irc_split_text("a\rb\x01" "c", 100, collect, &ls), HE_OK);
	assert_string_equal(ls.l[0], "a b c");
}

static void budget_counts_own_prefix(void **state)
{
	/* 512 - 2 - ":Hearth!hearth@127.0.0.1 " - "PRIVMSG #group :" */
	size_t b = irc_text_budget(512, "Hearth", "hearth", "127.0.0.1", "PRIVMSG", "#group");
	assert_int_equal(b, 512 - 2 - strlen(":Hearth!hearth@127.0.0.1 ") - strlen("PRIVMSG #group :"));
	/* the conservative assumption (63 + 10 + 63) still leaves room */
	char h[64];
	memset(h, 'h', 63);
	h[63] = '\0';
	b = irc_text_budget(512, h, "uuuuuuuuuu", h, "PRIVMSG", "#group");
	assert_int_equal(b, 512 - 2 - (1 + 63 + 1 + 10 + 1 + 63 + 1) - strlen("PRIVMSG #group :"));
	/* and a real long reply, split with that budget, fits every line */
	{
		struct lines ls = { .n = 0 };
		char text[3000];
		for (size_t i = 0; i < sizeof(text) - 1; i++)
			text[i] = i % 7 == 6 ? ' ' : 'w';
		text[sizeof(text) - 1] = '\0';
		assert_int_equal(irc_split_text(text, b, collect, &ls), HE_OK);
		for (size_t i = 0; i < ls.n; i++)
			assert_true(strlen(ls.l[i]) <= b);
	}
}

static void token_bucket(void **state)
{
	struct irc_bucket b;
	uint64_t now = 1000000;
	int sent = 0;

	irc_bucket_init(&b, 4, 1.0, now);
	while (irc_bucket_take(&b, now))
		sent++;
	assert_int_equal(sent, 4);                       /* the burst */
	assert_int_equal(irc_bucket_wait_ms(&b, now), 1001);
	assert_false(irc_bucket_take(&b, now + 999));
	assert_true(irc_bucket_take(&b, now + 1001));    /* then one a second */
	assert_false(irc_bucket_take(&b, now + 1500));
	/* 50 lines take 4 at once then 46 s: never more than the server's 20 + 1/s */
	irc_bucket_init(&b, 4, 1.0, now);
	sent = 0;
	for (uint64_t t = now; t < now + 60000; t += 100) {
		while (irc_bucket_take(&b, t) && sent < 50)
			sent++;
		assert_true(sent <= 4 + (int)((t - now) / 1000) + 1);
	}
	assert_int_equal(sent, 50);
	/* a PONG charged against an empty bucket delays what follows */
	irc_bucket_init(&b, 1, 1.0, now);
	assert_true(irc_bucket_take(&b, now));
	irc_bucket_charge(&b, now);
	assert_false(irc_bucket_take(&b, now + 1500));
	assert_true(irc_bucket_take(&b, now + 2001));
	/* idle time refills only up to the burst */
	assert_true(irc_bucket_take(&b, now + 100000));
	assert_false(irc_bucket_take(&b, now + 100000));
}

static void sasl_chunks(void **state)
{
	struct lines ls;
	char *p = malloc(1201);

	memset(p, 'A', 1200);
	for (size_t n = 0; n <= 1200; n++) {
		size_t want;
		p[n] = '\0';
		ls.n = 0;
		assert_int_equal(irc_sasl_lines(p, collect, &ls), HE_OK);
		want = n == 0 ? 1 : (n + 399) / 400 + (n % 400 == 0 ? 1 : 0);
		assert_int_equal(ls.n, want);
		if (n % 400 == 0)
			assert_string_equal(ls.l[ls.n - 1], "AUTHENTICATE +");
		for (size_t i = 0; i + (n % 400 == 0) < ls.n; i++)
			assert_true(strlen(ls.l[i]) <= 13 + 400);
		p[n] = 'A';
	}
	free(p);
	/* PLAIN: base64 of "acct\0acct\0pw" */
	p = irc_sasl_plain("hearth", "pw");
	assert_string_equal(p, "aGVhcnRoAGhlYXJ0aABwdw==");
	free(p);
}

static void op_tracking(void **state)
{
	struct irc_isupport is;
	struct irc_track t;
	struct irc_msg *m = malloc(sizeof(*m));
	const char *line = ":s 005 me PREFIX=(qaohv)~&@%+ CASEMAPPING=rfc1459 CHANMODES=b,k,l,imnt :ok";

	irc_isupport_init(&is);
	assert_int_equal(irc_parse(line, strlen(line), 0, m), HE_OK);
	irc_isupport_apply(&is, m);
	irc_track_init(&t, &is);
	assert_int_equal(irc_track_chan_add(&t, "#Group"), HE_OK);
	/* multi-prefix NAMES with userhost-in-names */
	irc_track_names_entry(&t, "#group", "~&@Owner!o@h");
	irc_track_names_entry(&t, "#group", "+Voiced");
	irc_track_names_entry(&t, "#group", "%Half");
	irc_track_names_entry(&t, "#group", "@Op[1]");
	irc_track_names_entry(&t, "#group", "plain");
	assert_true(irc_track_is_op(&t, "#GROUP", "owner"));
	assert_true(irc_track_is_op(&t, "#group", "op{1}"));    /* rfc1459 casemapping */
	assert_false(irc_track_is_op(&t, "#group", "Half"));     /* halfop is below op */
	assert_false(irc_track_is_op(&t, "#group", "Voiced"));
	assert_false(irc_track_is_op(&t, "#group", "plain"));
	assert_false(irc_track_is_op(&t, "#other", "owner"));

	/* MODE with parameters of other modes in between (+l 5, +b mask) */
	{
		const char *args[] = { "plain", "5", "*!*@x", "Op[1]" };
		irc_track_mode(&t, "#group", "+olb-o", args, 4);
	}
	assert_true(irc_track_is_op(&t, "#group", "plain"));
	assert_false(irc_track_is_op(&t, "#group", "Op[1]"));
	/* owner loses only +o but keeps ~ and &: still above op */
	{
		const char *args[] = { "Owner" };
		irc_track_mode(&t, "#group", "-o", args, 1);
	}
	assert_true(irc_track_is_op(&t, "#group", "Owner"));

	/* a nick change keeps status; the old nick is no op any more */
	irc_track_nick(&t, "plain", "renamed");
	assert_true(irc_track_is_op(&t, "#group", "renamed"));
	assert_false(irc_track_is_op(&t, "#group", "plain"));
	/* part and rejoin: status is gone */
	irc_track_part(&t, "#group", "renamed");
	assert_false(irc_track_has_user(&t, "renamed"));
	irc_track_join(&t, "#group", "renamed", "acct1");
	assert_false(irc_track_is_op(&t, "#group", "renamed"));
	/* accounts: extended-join, account-notify, logout */
	assert_string_equal(irc_track_account_of(&t, "renamed"), "acct1");
	assert_string_equal(irc_track_nick_of_account(&t, "ACCT1"), "renamed");
	irc_track_account(&t, "renamed", "*");
	assert_string_equal(irc_track_account_of(&t, "renamed"), "");
	assert_null(irc_track_nick_of_account(&t, "acct1"));
	/* quit removes everywhere */
	irc_track_quit(&t, "Owner");
	assert_false(irc_track_is_op(&t, "#group", "Owner"));
	assert_false(irc_track_has_user(&t, "Owner"));
	/* Hearth leaves: members only there are forgotten */
	irc_track_chan_del(&t, "#group");
	assert_false(irc_track_has_user(&t, "Voiced"));
	assert_false(irc_track_in_chan(&t, "#group"));
	irc_track_clear(&t);
	free(m);
}

/* A private line is bound to the person who held the nick when it was queued; it goes out only
 * if that person still holds it (the drop decision of the send queue). */
static void private_lines_follow_the_person(void **state)
{
	struct irc_isupport is;
	struct irc_track t;
	struct irc_holder h, ha, far;

	irc_isupport_init(&is);
	irc_track_init(&t, &is);
	irc_track_chan_add(&t, "#group");
	irc_track_join(&t, "#group", "ann", "*");          /* no services account */
	irc_track_join(&t, "#group", "bea", "bea-acct");
	irc_track_holder(&t, "Ann", "", &h);
	irc_track_holder(&t, "bea", "bea-acct", &ha);
	assert_true(h.uid != 0 && ha.uid != 0 && h.uid != ha.uid);
	assert_true(irc_track_holder_same(&t, &h));
	assert_true(irc_track_holder_same(&t, &ha));

	/* nick change, then someone else takes the old nick: not the same person */
	irc_track_nick(&t, "ann", "ann_away");
	assert_false(irc_track_holder_same(&t, &h));
	irc_track_join(&t, "#group", "ann", "*");
	assert_false(irc_track_holder_same(&t, &h));
	/* ... and a nick change back by the first person is the same person again */
	irc_track_quit(&t, "ann");
	irc_track_nick(&t, "ann_away", "ann");
	assert_true(irc_track_holder_same(&t, &h));

	/* quit, then someone else joins with the nick (even into the same account-less state) */
	irc_track_quit(&t, "ann");
	assert_false(irc_track_holder_same(&t, &h));
	irc_track_join(&t, "#group", "ann", "*");
	assert_false(irc_track_holder_same(&t, &h));
	/* a case-only nick change is still the same person */
	irc_track_holder(&t, "ann", "", &h);
	irc_track_nick(&t, "ann", "ANN");
	assert_true(irc_track_holder_same(&t, &h));

	/* the account changes under the same connection: logout, another account */
	irc_track_account(&t, "bea", "*");
	assert_false(irc_track_holder_same(&t, &ha));
	irc_track_account(&t, "bea", "mallory");
	assert_false(irc_track_holder_same(&t, &ha));
	irc_track_account(&t, "BEA", "BEA-ACCT");             /* back in, case-insensitively */
	assert_true(irc_track_holder_same(&t, &ha));
	/* a nick-only line does not care about a later login of the same person */
	irc_track_account(&t, "ann", "ann-acct");
	assert_true(irc_track_holder_same(&t, &h));

	/* left all our channels: we cannot follow the nick any more, so not sent */
	irc_track_part(&t, "#group", "bea");
	assert_false(irc_track_holder_same(&t, &ha));
	/* back again: a new person as far as we can tell */
	irc_track_join(&t, "#group", "bea", "bea-acct");
	assert_false(irc_track_holder_same(&t, &ha));

	/* someone in none of our channels: cannot be followed; sent unless we now see the nick
	 * with another person, or without the account the line is for */
	irc_track_holder(&t, "far", "", &far);
	assert_int_equal(far.uid, 0);
	assert_true(irc_track_holder_same(&t, &far));
	irc_track_join(&t, "#group", "far", "*");
	assert_false(irc_track_holder_same(&t, &far));
	irc_track_part(&t, "#group", "far");
	irc_track_holder(&t, "far", "far-acct", &far);
	assert_true(irc_track_holder_same(&t, &far));
	irc_track_join(&t, "#group", "far", "far-acct");
	assert_true(irc_track_holder_same(&t, &far));
	irc_track_account(&t, "far", "*");
	assert_false(irc_track_holder_same(&t, &far));

	/* a reconnect forgets everyone; nobody seen later gets an old person's number */
	irc_track_holder(&t, "bea", "bea-acct", &ha);
	irc_track_clear(&t);
	irc_track_chan_add(&t, "#group");
	irc_track_join(&t, "#group", "bea", "bea-acct");
	assert_false(irc_track_holder_same(&t, &ha));
	irc_track_clear(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(split_words_and_utf8),
		cmocka_unit_test(budget_counts_own_prefix),
		cmocka_unit_test(token_bucket),
		cmocka_unit_test(sasl_chunks),
		cmocka_unit_test(op_tracking),
		cmocka_unit_test(private_lines_follow_the_person),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
