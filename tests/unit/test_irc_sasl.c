/* test_irc_sasl.c - the SASL mechanisms of net/irc/sasl.c with the RFC 7677 exchange as test
 * vector, and everything a hostile server can send instead: a wrong signature, iteration counts
 * out of range, a nonce that is not ours, bad base64, over-long messages, messages out of turn.
 * Also the ECDSA-NIST256P-CHALLENGE signature (verified with OpenSSL), the key file's mode, and
 * tls_fingerprint parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "net/irc/conn.h"
#include "net/irc/sasl.h"
#include "net/irc/sts.h"

#define U(s) (const unsigned char *)(s), strlen(s)

/* RFC 7677 section 3 */
#define CNONCE "rOprNGfwEbeRWgbNEkqO"
#define SFIRST "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define CFINAL "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define SFINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

/* A SCRAM exchange started for user with the RFC's client nonce in place of a random one. */
static void start_rfc(struct irc_scram *s, const char *user)
{
	char *first = NULL;

	assert_int_equal(irc_scram_start(s, 256, user, &first), HE_OK);
	assert_non_null(strstr(first, "n,,n="));
	assert_true(strlen(s->cnonce) >= 24);      /* 24 random bytes, base64 */
	free(first);
	snprintf(s->cnonce, sizeof(s->cnonce), "%s", CNONCE);
	free(s->first_bare);
	assert_true(asprintf(&s->first_bare, "n=%s,r=%s", user, CNONCE) > 0);
}

static void scram_rfc7677_vector(void **state)
{
	struct irc_scram s;
	char *final = NULL, err[200] = "";

	start_rfc(&s, "user");
	assert_int_equal(irc_scram_server_first(&s, "pencil", U(SFIRST), &final, err, sizeof(err)), HE_OK);
	assert_string_equal(final, CFINAL);
	assert_int_equal(irc_scram_server_final(&s, U(SFINAL), err, sizeof(err)), HE_OK);
	assert_int_equal(s.state, IRC_SCRAM_VERIFIED);
	free(final);
	irc_scram_free(&s);
}

static void scram_wrong_signature_fails_closed(void **state)
{
	struct irc_scram s;
	char *final = NULL, err[200] = "";

	start_rfc(&s, "user");
	assert_int_equal(irc_scram_server_first(&s, "pencil", U(SFIRST), &final, err, sizeof(err)), HE_OK);
	free(final);
	/* one bit off */
	assert_int_equal(irc_scram_server_final(&s, U("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
						err, sizeof(err)), HE_CRYPTO);
	assert_non_null(strstr(err, "signature is wrong"));
	assert_int_not_equal(s.state, IRC_SCRAM_VERIFIED);
	/* no second try with the same exchange */
	assert_int_equal(irc_scram_server_final(&s, U(SFINAL), err, sizeof(err)), HE_PROTO);
	irc_scram_free(&s);

	/* the right password but a truncated signature, e=, garbage */
	static const char *bad[] = { "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G=", "v=", "v=!!!!",
				     "e=invalid-proof", "x=1", "", "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		start_rfc(&s, "user");
		assert_int_equal(irc_scram_server_first(&s, "pencil", U(SFIRST), &final, err, sizeof(err)), HE_OK);
		free(final);
		assert_int_not_equal(irc_scram_server_final(&s, U(bad[i]), err, sizeof(err)), HE_OK);
		assert_int_not_equal(s.state, IRC_SCRAM_VERIFIED);
		irc_scram_free(&s);
	}
	/* a password the server does not know: its (correct for it) signature is refused */
	start_rfc(&s, "user");
	assert_int_equal(irc_scram_server_first(&s, "pencil2", U(SFIRST), &final, err, sizeof(err)), HE_OK);
	assert_string_not_equal(final, CFINAL);
	free(final);
	assert_int_equal(irc_scram_server_final(&s, U(SFINAL), err, sizeof(err)), HE_CRYPTO);
	irc_scram_free(&s);
}

static void scram_hostile_server_first(void **state)
{
	static const char *bad[] = {
		"r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1",            /* too few */
		"r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095",
		"r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=600001",        /* a stall */
		"r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4000000000",
		"r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999999999999",
		"r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-4096",
		"r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=",
		"r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096x",
		"r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==",
		"r=rOprNGfwEbeRWgbNEkqO%hv,s=,i=4096",                                   /* no salt */
		"r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7so*sUEjb6gQ==,i=4096",          /* bad base64 */
		"r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",             /* nonce not extended */
		"r=XOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",          /* not ours */
		"m=ext,r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",    /* mandatory ext */
		"s=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqO%hv,i=4096",
		"",
	};
	struct irc_scram s;
	char *final = NULL, err[200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		start_rfc(&s, "user");
		err[0] = '\0';
		assert_int_not_equal(irc_scram_server_first(&s, "pencil", U(bad[i]), &final, err, sizeof(err)), HE_OK);
		assert_null(final);
		assert_true(err[0] != '\0');
		irc_scram_free(&s);
	}
	/* a NUL inside */
	start_rfc(&s, "user");
	assert_int_not_equal(irc_scram_server_first(&s, "pencil", (const unsigned char *)SFIRST "\0x",
						  sizeof(SFIRST) + 1, &final, err, sizeof(err)), HE_OK);
	irc_scram_free(&s);
	/* a 200-byte salt */
	{
		char m[600];
		char salt[300];
		memset(salt, 'A', 268);
		salt[268] = '\0';
		snprintf(m, sizeof(m), "r=" CNONCE "x,s=%s,i=4096", salt);
		start_rfc(&s, "user");
		assert_int_not_equal(irc_scram_server_first(&s, "pencil", U(m), &final, err, sizeof(err)), HE_OK);
		irc_scram_free(&s);
	}
	/* out of turn: the final before the first */
	start_rfc(&s, "user");
	assert_int_equal(irc_scram_server_final(&s, U(SFINAL), err, sizeof(err)), HE_PROTO);
	irc_scram_free(&s);
}

static void scram_username_escaped(void **state)
{
	struct irc_scram s;
	char *first = NULL;

	assert_int_equal(irc_scram_start(&s, 512, "a=b,c", &first), HE_OK);
	assert_int_equal(strncmp(first, "n,,n=a=3Db=2Cc,r=", 17), 0);
	assert_null(strchr(first + 17, ','));       /* the nonce has no comma */
	free(first);
	irc_scram_free(&s);
}

static void sasl_in_reassembly(void **state)
{
	struct irc_sasl_in in = { .len = 0 };
	unsigned char *out = NULL;
	size_t n = 0;
	char chunk[401];

	assert_int_equal(irc_sasl_in_add(&in, "+", &out, &n), HE_OK);
	assert_int_equal(n, 0);
	free(out);
	assert_int_equal(irc_sasl_in_add(&in, "aGVsbG8=", &out, &n), HE_OK);
	assert_int_equal(n, 5);
	assert_string_equal((char *)out, "hello");
	free(out);
	/* 400 + "+" : one message of 300 bytes */
	memset(chunk, 'Q', 400);
	chunk[400] = '\0';
	assert_int_equal(irc_sasl_in_add(&in, chunk, &out, &n), HE_AGAIN);
	assert_int_equal(irc_sasl_in_add(&in, "+", &out, &n), HE_OK);
	assert_int_equal(n, 300);
	free(out);
	/* bad base64, then it starts over */
	assert_int_equal(irc_sasl_in_add(&in, "a*b=", &out, &n), HE_PROTO);
	assert_null(out);
	assert_int_equal(irc_sasl_in_add(&in, "aGk=", &out, &n), HE_OK);
	assert_string_equal((char *)out, "hi");
	free(out);
	/* a server that never ends its message */
	int rc = HE_AGAIN, k = 0;
	while (rc == HE_AGAIN && k++ < 100)
		rc = irc_sasl_in_add(&in, chunk, &out, &n);
	assert_int_equal(rc, HE_TOOBIG);
	assert_true(k <= IRC_SASL_IN_MAX / 400 + 1);
	/* a chunk over 400 */
	char big[402];
	memset(big, 'Q', 401);
	big[401] = '\0';
	assert_int_equal(irc_sasl_in_add(&in, big, &out, &n), HE_TOOBIG);
	assert_int_equal(irc_sasl_in_add(&in, "aGk=", &out, &n), HE_OK);
	free(out);
}

static char *write_key(const char *dir, const char *name, EVP_PKEY *k, mode_t mode)
{
	char *path = NULL;
	FILE *f;

	assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	chmod(path, mode);
	return path;
}

static void ecdsa_sign_and_key_checks(void **state)
{
	char dir[] = "/tmp/hearth-sasl-XXXXXX", err[300];
	unsigned char challenge[32], *sig = NULL;
	size_t siglen = 0;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *k384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY_CTX *v;
	char *good, *open644, *p384;

	assert_non_null(mkdtemp(dir));
	assert_non_null(k);
	good = write_key(dir, "good.pem", k, 0600);
	open644 = write_key(dir, "open.pem", k, 0644);
	p384 = write_key(dir, "p384.pem", k384, 0600);
	for (int i = 0; i < 32; i++)
		challenge[i] = (unsigned char)(i * 7 + 1);

	assert_int_equal(irc_ecdsa_sign_file(good, challenge, 32, &sig, &siglen, err, sizeof(err)), HE_OK);
	v = EVP_PKEY_CTX_new(k, NULL);
	assert_int_equal(EVP_PKEY_verify_init(v), 1);
	assert_int_equal(EVP_PKEY_verify(v, sig, siglen, challenge, 32), 1);
	challenge[0] ^= 1;
	assert_int_not_equal(EVP_PKEY_verify(v, sig, siglen, challenge, 32), 1);
	EVP_PKEY_CTX_free(v);
	free(sig);

	assert_int_equal(irc_ecdsa_sign_file(open644, challenge, 32, &sig, &siglen, err, sizeof(err)), HE_PERM);
	assert_non_null(strstr(err, "chmod 600"));
	assert_null(sig);
	assert_int_equal(irc_ecdsa_sign_file(p384, challenge, 32, &sig, &siglen, err, sizeof(err)), HE_CRYPTO);
	assert_int_equal(irc_ecdsa_sign_file(good, challenge, 31, &sig, &siglen, err, sizeof(err)), HE_PROTO);
	assert_int_equal(irc_ecdsa_sign_file(good, challenge, 33, &sig, &siglen, err, sizeof(err)), HE_PROTO);
	assert_int_equal(irc_ecdsa_sign_file("/nonexistent/k.pem", challenge, 32, &sig, &siglen, err, sizeof(err)), HE_IO);
	assert_int_equal(irc_ecdsa_sign_file(dir, challenge, 32, &sig, &siglen, err, sizeof(err)), HE_IO);

	unlink(good);
	unlink(open644);
	unlink(p384);
	rmdir(dir);
	free(good);
	free(open644);
	free(p384);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k384);
}

static void fingerprint_parse(void **state)
{
	unsigned char pins[IRC_FP_MAX][IRC_FP_LEN];
	size_t n = 0;
	char shown[IRC_FP_TEXT];
	const char *colons = "sha256:51:24:E4:D3:52:CD:CC:C1:C3:89:3E:DC:75:7F:10:FD:C1:3D:63:A2:A0:97:86:19:FB:48:61:06:BC:39:21:FC";

	assert_int_equal(irc_fp_parse(colons, pins, IRC_FP_MAX, &n), HE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(pins[0][0], 0x51);
	assert_int_equal(pins[0][31], 0xFC);
	irc_fp_format(pins[0], shown, sizeof(shown));
	assert_string_equal(shown, colons);
	assert_int_equal(irc_fp_parse("SHA256:5124e4d352cdccc1c3893edc757f10fdc13d63a2a0978619fb486106bc3921fc, "
				      "sha256:0000000000000000000000000000000000000000000000000000000000000000",
				      pins, IRC_FP_MAX, &n), HE_OK);
	assert_int_equal(n, 2);
	static const char *bad[] = {
		"", "sha1:5124e4d352cdccc1c3893edc757f10fdc13d63a2",
		"sha256:5124e4d352cdccc1c3893edc757f10fdc13d63a2a0978619fb486106bc3921f",     /* 63 */
		"sha256:5124e4d352cdccc1c3893edc757f10fdc13d63a2a0978619fb486106bc3921fc00",  /* 33 bytes */
		"sha256:5124e4d352cdccc1c3893edc757f10fdc13d63a2a0978619fb486106bc3921fg",
		"5124e4d352cdccc1c3893edc757f10fdc13d63a2a0978619fb486106bc3921fc",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(irc_fp_parse(bad[i], pins, IRC_FP_MAX, &n), HE_INVAL);
	/* more pins than there is room for */
	char many[1024] = "";
	for (int i = 0; i <= IRC_FP_MAX; i++)
		strcat(many, "sha256:0000000000000000000000000000000000000000000000000000000000000000,");
	assert_int_equal(irc_fp_parse(many, pins, IRC_FP_MAX, &n), HE_INVAL);
}

static void sts_values(void **state)
{
	struct irc_sts_val v;
#define STS(s) irc_sts_parse(s, strlen(s), &v)

	assert_int_equal(STS("port=6697,duration=300"), HE_OK);
	assert_true(v.has_port && v.port == 6697 && v.has_duration && v.duration == 300);
	assert_int_equal(STS("duration=0,preload,x=y"), HE_OK);
	assert_true(!v.has_port && v.has_duration && v.duration == 0);
	assert_int_equal(STS("duration=99999999999999999999999"), HE_OK);   /* capped, no wrap */
	assert_int_equal(v.duration, IRC_STS_DURATION_MAX);
	assert_int_equal(STS(""), HE_OK);
	assert_false(v.has_port || v.has_duration);
	static const char *bad[] = { "port=0", "port=65536", "port=99999", "port=", "port=66x", "port=-1",
				     "duration=", "duration=1e9", "duration=-5", "port=6697,duration=x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(STS(bad[i]), HE_INVAL);
#undef STS
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scram_rfc7677_vector),
		cmocka_unit_test(scram_wrong_signature_fails_closed),
		cmocka_unit_test(scram_hostile_server_first),
		cmocka_unit_test(scram_username_escaped),
		cmocka_unit_test(sasl_in_reassembly),
		cmocka_unit_test(ecdsa_sign_and_key_checks),
		cmocka_unit_test(fingerprint_parse),
		cmocka_unit_test(sts_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
