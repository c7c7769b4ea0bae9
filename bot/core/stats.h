/* stats.h - timing figures kept off the hot path: a ring of samples, percentiles, clocks.
 *
 * A transport stamps each message when its work on it begins (hstamp_now) and carries that one
 * stamp with what it sends; when the send is issued it adds the time since to a ring. Figures
 * are computed only when asked (at shutdown, in a benchmark). This is the one percentile
 * function of the code base. */
#ifndef HEARTH_STATS_H
#define HEARTH_STATS_H

#include <stddef.h>
#include <stdint.h>

/* When work began, on the wall (monotonic) clock and on the thread's CPU clock. 0/0: unset. */
struct hstamp {
	uint64_t wall_us;
	uint64_t cpu_us;
};

uint64_t hstats_now_us(void);   /* CLOCK_MONOTONIC */
uint64_t hstats_cpu_us(void);   /* CLOCK_THREAD_CPUTIME_ID */
struct hstamp hstamp_now(void);

/* The last `cap` samples (older ones are overwritten). A value: zero it, hstats_init, add;
 * memory is taken on the first add. Samples saturate at UINT32_MAX. */
struct hstats {
	uint32_t *v;
	size_t cap;      /* samples kept at most */
	size_t n;        /* samples kept now (<= cap) */
	size_t next;     /* where the next one goes */
	uint64_t total;  /* samples ever added */
};

void hstats_init(struct hstats *s, size_t cap);
int hstats_add(struct hstats *s, uint64_t v);          /* HE_NOMEM (the sample is lost) */
void hstats_free(struct hstats *s);                    /* accepts a zeroed ring */

/* The p-th percentiles (0 <= p <= 100; 100 is the maximum) of the kept samples: out[i] for p[i],
 * nearest rank (the sample at index floor(n * p / 100) of the sorted ones, the last for p 100).
 * HE_INVAL when there is none (out set to 0), HE_NOMEM. The ring is left as it is. */
int hstats_pcts(const struct hstats *s, const double *p, size_t np, uint32_t *out);
/* The same over n values sorted ascending in place (for a benchmark's own array). */
int hstats_pcts_of(uint32_t *v, size_t n, const double *p, size_t np, uint32_t *out);

#endif
