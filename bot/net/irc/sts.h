/* sts.h - the value of the IRCv3 `sts` capability (strict transport security), parsed without
 * I/O: "port=6697,duration=2592000[,preload][,...]". What the policy does is in sts.c. */
#ifndef HEARTH_IRC_STS_H
#define HEARTH_IRC_STS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IRC_STS_DURATION_MAX (10ULL * 366 * 24 * 3600)   /* longer is taken as ten years */

struct irc_sts_val {
	bool has_port, has_duration;
	int port;                     /* 1..65535 */
	uint64_t duration;            /* seconds, capped at IRC_STS_DURATION_MAX */
};

/* Parses n bytes of a cap value. HE_INVAL when a port or duration is malformed (the whole
 * advertisement is then ignored, as the specification asks); unknown keys are skipped. */
int irc_sts_parse(const char *v, size_t n, struct irc_sts_val *out);

#endif
