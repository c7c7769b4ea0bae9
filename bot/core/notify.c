/* notify.c - sd_notify READY/RELOADING/STOPPING/WATCHDOG, when built with libsystemd. */
#include "core/notify.h"
#include "core/app.h"
#include "core/err.h"
#include "core/log.h"

#include <stdint.h>

#ifdef HEARTH_SYSTEMD
#include <systemd/sd-daemon.h>
#define NOTIFY(s) sd_notify(0, (s))
#else
#define NOTIFY(s) ((void)0)
#endif

static uint64_t watchdog_timer, watchdog_ms;

void notify_ready(void) { NOTIFY("READY=1\nSTATUS=Connected; answering members."); }
void notify_reloading(void) { NOTIFY("RELOADING=1\nSTATUS=Reloading configuration and content."); }
void notify_stopping(void) { NOTIFY("STOPPING=1\nSTATUS=Shutting down."); }

static void on_watchdog(struct loop *l, void *ud)
{
	struct happ *app = ud;

	watchdog_timer = 0;
	NOTIFY("WATCHDOG=1");
	if (loop_timer_add(l, watchdog_ms, on_watchdog, app, &watchdog_timer))
		happ_fail(app, "notify", "cannot arm the watchdog tick", HE_NOMEM);
}

int notify_watchdog_start(struct happ *app)
{
#ifdef HEARTH_SYSTEMD
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return HE_OK;
	watchdog_ms = usec / 2000 ? usec / 2000 : 1;
	hlog_info("notify", "the service manager's watchdog is on: a sign of life every %llu ms",
		  (unsigned long long)watchdog_ms);
	NOTIFY("WATCHDOG=1");
	return loop_timer_add(app->loop, watchdog_ms, on_watchdog, app, &watchdog_timer);
#else
	return HE_OK;
#endif
}

void notify_watchdog_stop(struct happ *app)
{
	if (watchdog_timer && app->loop)
		loop_timer_cancel(app->loop, watchdog_timer);
	watchdog_timer = 0;
}
