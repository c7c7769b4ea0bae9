/* mood_stats.c - anonymous room aggregates of mood entries, for `!mod stats`.
 *
 * What a moderator may learn is shaped so that no one member's score can be worked out by
 * comparing two answers (see mood.h): only whole local days that are over count (never today,
 * so a new entry never changes an answer), a day counts only when at least k members logged
 * from the room that day (each day is its own period; a total is a sum of such days, so two
 * windows differ by whole k-anonymous days), and a day the retention purge may already have
 * cut into is left out (an entry ageing out never changes a day that is shown). Banding and
 * rounding of what is shown happen in the caller (mood_stats_band, mood_stats_round). */
#include "care/mood.h"
#include "core/err.h"
#include "core/tz.h"
#include "store/store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct srow {
	int day;            /* index into the window, 0 = the oldest day */
	int score;
	uint64_t who;       /* hash of the member id: only ever compared for "same member" */
};

/* FNV-1a. A collision can only merge two members into one, which makes a day less likely to
 * reach k: it errs on the side of showing less. */
static uint64_t who_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; s && *s; s++) {
		h ^= *s;
		h *= 1099511628211ULL;
	}
	return h;
}

static int cmp_day_who(const void *a, const void *b)
{
	const struct srow *x = a, *y = b;

	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return x->who < y->who ? -1 : x->who > y->who;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Local midnights of the `days` days before today and of today, in zone z: bound[0] starts
 * the oldest day, bound[days] is today's start. */
static int day_bounds(const struct tz *z, time_t now, int days, time_t *bound)
{
	struct tm today, tm;

	if (tz_local(z, now, &today) != HE_OK)
		return HE_INVAL;
	for (int i = 0; i <= days; i++) {
		tm = today;
		tm.tm_mday -= days - i;
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		tm.tm_isdst = -1;
		bound[i] = tz_mktime(z, &tm);
		if (bound[i] == (time_t)-1)
			return HE_INVAL;
	}
	return HE_OK;
}

int mood_room_stats(struct happ *app, const char *network, const char *room, const char *tz,
		    int days, int k, struct mood_room_stats *out)
{
	const struct tz *zone = NULL;
	struct srow *row = NULL;
	uint64_t *who = NULL;
	time_t *bound = NULL, now = happ_now(app), cutoff;
	size_t n = 0, cap = 0, nwho = 0;
	struct db_stmt *st;
	int first = 0, rc = HE_OK;
	long long sum = 0;

	memset(out, 0, sizeof(*out));
	if (!network || !room || days < 1 || days > MOOD_HISTORY_MAX)
		return HE_INVAL;
	if (k < 1)
		k = 1;
	out->days = days;
	bound = calloc((size_t)days + 1, sizeof(*bound));
	if (!bound)
		return HE_NOMEM;
	/* The room's zone; an unknown one reads as UTC. */
	if (tz_load(tz, &zone) != HE_OK && (rc = tz_load(NULL, &zone)) != HE_OK)
		goto out_free;
	if ((rc = day_bounds(zone, now, days, bound)))
		goto out_free;
	/* Days that started before the retention limit may have lost entries to the purge already
	 * (or will during today): they are not counted. */
	cutoff = now - (time_t)app->cfg->mood_retention_days * 86400;
	while (first < days && bound[first] < cutoff)
		first++;
	out->days_open = days - first;
	if (first == days)
		goto out_free;

	st = db_stmtf(store_sql(app->store), "SELECT ts, member, score FROM mood_entry WHERE network = ?"
				     " AND origin_room = ? AND ts >= ? AND ts < ? ORDER BY ts", "ssii",
			 network, room, (int64_t)bound[first], (int64_t)bound[days]);
	if (!st) {
		rc = HE_DB;
		goto out_free;
	}
	for (int d = first; (rc = db_step(st)) == DB_ROW;) {
		time_t ts = (time_t)db_col_int64(st, 0);
		while (d < days - 1 && ts >= bound[d + 1])
			d++;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 256;
			struct srow *nr = realloc(row, nc * sizeof(*row));
			if (!nr) {
				rc = HE_NOMEM;
				break;
			}
			row = nr;
			cap = nc;
		}
		row[n].day = d;
		row[n].score = db_col_int(st, 2);
		row[n].who = who_hash(db_col_text(st, 1));
		n++;
	}
	db_reset(st);
	if (rc == HE_NOMEM)
		goto out_free;
	if (rc != DB_DONE) {
		rc = HE_DB;
		goto out_free;
	}
	rc = HE_OK;
	if (!n)
		goto out_free;

	/* Per day: distinct members; a day with fewer than k is left out entirely. */
	qsort(row, n, sizeof(*row), cmp_day_who);
	who = malloc(n * sizeof(*who));
	if (!who) {
		rc = HE_NOMEM;
		goto out_free;
	}
	for (size_t i = 0; i < n;) {
		size_t j = i;
		long members = 0;
		while (j < n && row[j].day == row[i].day) {
			members += j == i || row[j].who != row[j - 1].who;
			j++;
		}
		if (members >= k) {
			out->days_counted++;
			for (size_t x = i; x < j; x++) {
				out->entries++;
				sum += row[x].score;
				who[nwho++] = row[x].who;
			}
		}
		i = j;
	}
	if (nwho) {
		qsort(who, nwho, sizeof(*who), cmp_u64);
		for (size_t i = 0; i < nwho; i++)
			out->members += i == 0 || who[i] != who[i - 1];
		out->mean = (double)sum / (double)out->entries;
	}
out_free:
	free(who);
	free(row);
	free(bound);
	return rc;
}

double mood_stats_round(double mean)
{
	/* To the nearest half; scores are 1..10, so mean is positive. */
	return mean <= 0 ? 0 : (double)(long)(mean * 2.0 + 0.5) / 2.0;
}

void mood_stats_band(long n, char *out, size_t len)
{
	mood_stats_band_in(n, "fewer than %ld", "%ld or more", out, len);
}

void mood_stats_band_in(long n, const char *fewer, const char *more, char *out, size_t len)
{
	static const long edge[] = { 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000 };
	size_t i;

	if (n < edge[0]) {
		snprintf(out, len, fewer, edge[0]);
		return;
	}
	for (i = 0; i + 1 < sizeof(edge) / sizeof(edge[0]); i++)
		if (n < edge[i + 1]) {
			snprintf(out, len, "%ld-%ld", edge[i], edge[i + 1] - 1);
			return;
		}
	snprintf(out, len, more, edge[i]);
}
