/* stats.c - a ring of samples and its percentiles (see stats.h). */
#include "core/stats.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t clock_us(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t hstats_now_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

uint64_t hstats_cpu_us(void)
{
	return clock_us(CLOCK_THREAD_CPUTIME_ID);
}

struct hstamp hstamp_now(void)
{
	struct hstamp t = { hstats_now_us(), hstats_cpu_us() };

	return t;
}

void hstats_init(struct hstats *s, size_t cap)
{
	memset(s, 0, sizeof(*s));
	s->cap = cap;
}

int hstats_add(struct hstats *s, uint64_t v)
{
	if (!s->cap)
		return HE_INVAL;
	if (!s->v && !(s->v = malloc(s->cap * sizeof(*s->v))))
		return HE_NOMEM;
	s->v[s->next] = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
	s->next = (s->next + 1) % s->cap;
	if (s->n < s->cap)
		s->n++;
	s->total++;
	return HE_OK;
}

void hstats_free(struct hstats *s)
{
	if (!s)
		return;
	free(s->v);
	s->v = NULL;
	s->n = s->next = 0;
	s->total = 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int hstats_pcts_of(uint32_t *v, size_t n, const double *p, size_t np, uint32_t *out)
{
	if (!n) {
		memset(out, 0, np * sizeof(*out));
		return HE_INVAL;
	}
	qsort(v, n, sizeof(*v), cmp_u32);
	for (size_t i = 0; i < np; i++) {
		double q = p[i] < 0 ? 0 : p[i] > 100 ? 100 : p[i];
		size_t k = (size_t)((double)n * q / 100.0);

		out[i] = v[k < n ? k : n - 1];
	}
	return HE_OK;
}

int hstats_pcts(const struct hstats *s, const double *p, size_t np, uint32_t *out)
{
	uint32_t *copy;
	int rc;

	if (!s->n) {
		memset(out, 0, np * sizeof(*out));
		return HE_INVAL;
	}
	if (!(copy = malloc(s->n * sizeof(*copy)))) {
		memset(out, 0, np * sizeof(*out));
		return HE_NOMEM;
	}
	memcpy(copy, s->v, s->n * sizeof(*copy));
	rc = hstats_pcts_of(copy, s->n, p, np, out);
	free(copy);
	return rc;
}
