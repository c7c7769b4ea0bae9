/* standby.c - starts a network section only while its lease is held; re-executes Hearth when a
 * lease is lost (see standby.h). */
#include "core/standby.h"
#include "core/err.h"
#include "core/log.h"
#include "core/loop.h"
#include "store/db.h"
#include "store/lease.h"
#include "store/store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STANDBY_MAX 16
#define RESUME_ENV "HEARTH_LEASE_RESUME_HOLDER"

struct section {
	struct standby *sb;
	struct lease *lease;
	standby_start_fn start;
	size_t idx;
	bool started;
	bool said_waiting;
	uint64_t last_renew_ms;
	uint64_t standby_since_ms;
};

struct standby {
	struct happ *app;
	struct section sec[STANDBY_MAX];
	size_t n;
	uint64_t timer;
	bool reexec;
	char holder[160];
};

static void on_lost(struct lease *l, void *arg)
{
	struct section *s = arg;

	if (!s->started)
		return; /* nothing of it runs here */
	s->sb->reexec = true;
	hlog_warn("standby", "stopping [%s] and dropping what it holds in memory; Hearth restarts "
		  "itself and waits as a standby", lease_section(l));
	loop_stop(s->sb->app->loop);
}

int standby_new(struct happ *app, struct standby **out)
{
	struct standby *sb = calloc(1, sizeof(*sb));
	const char *resume = getenv(RESUME_ENV);
	int rc;

	*out = NULL;
	if (!sb)
		return HE_NOMEM;
	sb->app = app;
	if (resume && *resume && strlen(resume) < sizeof(sb->holder)) {
		snprintf(sb->holder, sizeof(sb->holder), "%s", resume);
		unsetenv(RESUME_ENV);
	}
	if ((rc = lease_migrate(app->store)) || (rc = lease_setup(app->store))) {
		free(sb);
		return rc;
	}
	*out = sb;
	return HE_OK;
}

size_t standby_count(const struct standby *sb) { return sb->n; }
bool standby_wants_reexec(const struct standby *sb) { return sb && sb->reexec; }

int standby_add(struct standby *sb, const char *section, standby_start_fn fn, size_t idx)
{
	struct section *s;
	int rc;

	if (sb->n >= STANDBY_MAX)
		return HE_TOOBIG;
	s = &sb->sec[sb->n];
	memset(s, 0, sizeof(*s));
	if ((rc = lease_new(sb->app->store, section, sb->holder[0] ? sb->holder : NULL, &s->lease)))
		return rc;
	if (!sb->holder[0])
		snprintf(sb->holder, sizeof(sb->holder), "%s", lease_holder(s->lease));
	/* SQLite: the store's lock file lets one Hearth use it, so nobody else can hold the lease */
	lease_set_exclusive(s->lease, db_engine(store_sql(sb->app->store)) != DB_PG);
	s->sb = sb;
	s->start = fn;
	s->idx = idx;
	lease_on_lost(s->lease, on_lost, s);
	sb->n++;
	return HE_OK;
}

static void tick_one(struct standby *sb, struct section *s, uint64_t now)
{
	bool held = false;
	int rc;

	if (s->started && now - s->last_renew_ms < LEASE_RENEW_MS)
		return;
	rc = lease_take(s->lease, LEASE_TTL_MS, &held);
	if (s->started) {
		if (held)
			s->last_renew_ms = now;
		else if (rc)
			hlog_warn("standby", "could not renew the lease for [%s] (%s); trying again",
				  lease_section(s->lease), he_str(rc));
		return; /* a lost lease has stopped the loop already (on_lost) */
	}
	if (!held) {
		if (!s->said_waiting && rc == HE_OK) {
			hlog_info("standby", "[%s] is active in another Hearth; this one waits as a standby",
				  lease_section(s->lease));
			s->said_waiting = true;
			s->standby_since_ms = now;
		}
		return;
	}
	s->last_renew_ms = now;
	if (s->said_waiting)
		hlog_info("standby", "took over [%s] (fence %lld) after %llu ms as a standby",
			  lease_section(s->lease), (long long)lease_fence(s->lease),
			  (unsigned long long)(now - s->standby_since_ms));
	else
		hlog_info("standby", "holding the lease for [%s] (fence %lld)", lease_section(s->lease),
			  (long long)lease_fence(s->lease));
	s->started = true;
	if ((rc = s->start(sb->app, s->idx))) {
		happ_fail(sb->app, "standby", "a network section could not start", rc);
		return;
	}
}

static void on_tick(struct loop *l, void *ud)
{
	struct standby *sb = ud;
	uint64_t now = loop_now_ms();

	sb->timer = 0;
	for (size_t i = 0; i < sb->n && !loop_stopped(l); i++)
		tick_one(sb, &sb->sec[i], now);
	if (loop_stopped(l))
		return;
	if (loop_timer_add(l, STANDBY_POLL_MS, on_tick, sb, &sb->timer))
		happ_fail(sb->app, "standby", "cannot arm the lease timer", HE_NOMEM);
}

int standby_start(struct standby *sb)
{
	uint64_t now = loop_now_ms();

	for (size_t i = 0; i < sb->n && !loop_stopped(sb->app->loop); i++)
		tick_one(sb, &sb->sec[i], now);
	return loop_timer_add(sb->app->loop, STANDBY_POLL_MS, on_tick, sb, &sb->timer);
}

void standby_free(struct standby *sb)
{
	if (!sb)
		return;
	if (sb->timer)
		loop_timer_cancel(sb->app->loop, sb->timer);
	for (size_t i = 0; i < sb->n; i++) {
		/* re-executing: the sections still held keep their lease for the next process */
		if (!sb->reexec)
			lease_release(sb->sec[i].lease);
		lease_free(sb->sec[i].lease);
	}
	free(sb);
}

const char *standby_holder(const struct standby *sb) { return sb->holder; }

int standby_reexec(const char *holder, char **argv)
{
	if (setenv(RESUME_ENV, holder, 1) != 0)
		return HE_NOMEM;
	/* nothing of this process passes on: every descriptor past stderr closes on exec */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	hlog_info("standby", "restarting Hearth as a standby");
	execv("/proc/self/exe", argv);
	hlog_error("standby", "cannot restart Hearth (execv failed); stopping instead");
	return HE_IO;
}
