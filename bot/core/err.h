/* err.h - the one error convention of Hearth.
 *
 * Functions that can fail return an int: HE_OK (0) on success, a negative HE_* code otherwise.
 * Callers clean up through a single `goto out`. he_str() gives a short text for logs. */
#ifndef HEARTH_ERR_H
#define HEARTH_ERR_H

#include <stddef.h>

enum {
	HE_OK = 0,
	HE_ERR = -1,      /* unspecified failure, already logged */
	HE_NOMEM = -2,    /* out of memory */
	HE_INVAL = -3,    /* invalid input or argument */
	HE_IO = -4,       /* a file or socket operation failed */
	HE_NOTFOUND = -5, /* no such thing */
	HE_AGAIN = -6,    /* try again later */
	HE_DB = -7,       /* the database said no */
	HE_TOOBIG = -8,   /* input over a hard size cap */
	HE_PERM = -9,     /* not allowed */
	HE_CRYPTO = -10,  /* a cryptographic operation failed */
	HE_PROTO = -11,   /* the peer broke the protocol */
};

const char *he_str(int err);

/* Writes a message for a person into err (errlen bytes; nothing when err is NULL or errlen 0).
 * Parsers use it to say what was wrong with an input. */
void he_fmt(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
