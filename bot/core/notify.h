/* notify.h - the service manager's notification protocol (systemd Type=notify), through
 * libsystemd's sd_notify when Hearth is built with it (HEARTH_SYSTEMD), else nothing.
 *
 * READY=1 once every network has started (and the admin endpoint listens); RELOADING=1 then
 * READY=1 around a SIGHUP reload; STOPPING=1 when shutting down. When the unit sets
 * WatchdogSec=, WATCHDOG=1 is sent from the event loop at half the interval, so a wedged loop
 * gets Hearth restarted. Without NOTIFY_SOCKET every call does nothing. */
#ifndef HEARTH_NOTIFY_H
#define HEARTH_NOTIFY_H

struct happ;

void notify_ready(void);
void notify_reloading(void);
void notify_stopping(void);
/* Arms the watchdog tick on app->loop when the service manager asked for one. */
int notify_watchdog_start(struct happ *app);
void notify_watchdog_stop(struct happ *app);

#endif
