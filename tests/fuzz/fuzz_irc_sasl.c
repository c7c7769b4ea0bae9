/* fuzz_irc_sasl.c - libFuzzer target: what a hostile server can put in a SASL exchange. The input
 * is lines: each goes through the AUTHENTICATE reassembly (irc_sasl_in_add) and, as raw bytes, to
 * the SCRAM steps (server-first, then server-final) of an exchange started with a fixed user; the
 * first line is also read as a tls_fingerprint value, every line as an sts cap value. Nothing may crash, leak or verify: no input
 * without the password's keys can produce the server signature. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "net/irc/conn.h"
#include "net/irc/sasl.h"
#include "net/irc/sts.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct irc_sasl_in in;
	char *s = fuzz_cstr(data, size), *line, *save = NULL;
	struct irc_scram sc;
	char *first = NULL, *final = NULL, err[200];
	unsigned char pins[IRC_FP_MAX][IRC_FP_LEN];
	size_t npins = 0;
	int step = 0;

	if (!s)
		return 0;
	in.len = 0;
	if (irc_scram_start(&sc, size % 2 ? 512 : 256, "user", &first) != HE_OK)
		abort();
	free(first);
	/* a known client nonce, so inputs can get past the nonce check to the key derivation */
	memcpy(sc.cnonce, "fuzznonce", 10);
	free(sc.first_bare);
	sc.first_bare = strdup("n=user,r=fuzznonce");
	if (!sc.first_bare)
		abort();
	for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save), step++) {
		unsigned char *msg = NULL;
		size_t len = 0;
		int rc;

		if (step == 0 && irc_fp_parse(line, pins, IRC_FP_MAX, &npins) == HE_OK && npins == 0)
			abort();
		{
			struct irc_sts_val v;
			if (irc_sts_parse(line, strlen(line), &v) == HE_OK &&
			    ((v.has_port && (v.port < 1 || v.port > 65535)) || v.duration > IRC_STS_DURATION_MAX))
				abort();
		}
		rc = irc_sasl_in_add(&in, line, &msg, &len);
		if (rc == HE_OK && (!msg || msg[len] != '\0'))
			abort();
		free(msg);
		/* the raw line as a decoded server message; the iteration cap keeps each run short */
		/* iteration counts past 8192 are valid but only slow the fuzzer down (PBKDF2) */
		if (sc.state == IRC_SCRAM_FIRST && strstr(line, ",i=") &&
		    strtoul(strstr(line, ",i=") + 3, NULL, 10) > 8192)
			continue;
		if (sc.state == IRC_SCRAM_FIRST) {
			rc = irc_scram_server_first(&sc, "pencil", (const unsigned char *)line, strlen(line), &final,
						    err, sizeof(err));
			if ((rc == HE_OK) != (final != NULL))
				abort();
			free(final);
			final = NULL;
		} else if (sc.state == IRC_SCRAM_FINAL) {
			if (irc_scram_server_final(&sc, (const unsigned char *)line, strlen(line), err, sizeof(err)) == HE_OK)
				abort();     /* a forged signature */
		}
	}
	irc_scram_free(&sc);
	free(s);
	return 0;
}
