/* loop.h - the one event loop: file descriptors, timers and signals.
 *
 * Single-threaded, epoll-based. Signals (SIGINT, SIGTERM, SIGHUP) arrive through a signalfd, so
 * no work ever happens in a signal handler. Timers are one-shot; re-arm from the callback.
 * Callbacks may add and remove fds and timers, including their own. */
#ifndef HEARTH_LOOP_H
#define HEARTH_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;

enum { LOOP_READ = 1, LOOP_WRITE = 2 };

typedef void (*loop_fd_cb)(struct loop *l, int fd, unsigned events, void *ud);
typedef void (*loop_timer_cb)(struct loop *l, void *ud);
typedef void (*loop_signal_cb)(struct loop *l, int signo, void *ud);

int loop_new(struct loop **out);
void loop_free(struct loop *l);                 /* accepts NULL; does not close watched fds */

/* Watches fd for LOOP_READ and/or LOOP_WRITE. One watch per fd. */
int loop_add_fd(struct loop *l, int fd, unsigned events, loop_fd_cb cb, void *ud);
int loop_mod_fd(struct loop *l, int fd, unsigned events);
int loop_del_fd(struct loop *l, int fd);

/* Runs cb once after delay_ms. Returns HE_OK and stores the timer's id (never 0) in *id (when
 * id is not NULL), or HE_NOMEM with *id set to 0 and nothing armed. A timer that keeps the daemon
 * alive (a tick that re-arms itself) and cannot be armed goes to happ_fail() (core/app.h): the
 * out-of-memory policy in DEVELOPERS.md. */
int loop_timer_add(struct loop *l, uint64_t delay_ms, loop_timer_cb cb, void *ud, uint64_t *id);
void loop_timer_cancel(struct loop *l, uint64_t id);   /* unknown or fired ids are fine */
size_t loop_timers_pending(const struct loop *l);      /* armed timers that have not fired */

/* Blocks SIGINT, SIGTERM and SIGHUP and delivers them to cb from the loop. */
int loop_watch_signals(struct loop *l, loop_signal_cb cb, void *ud);

/* Runs until loop_stop(). Returns 0, or a negative code when epoll itself fails. */
int loop_run(struct loop *l);
/* One iteration, waiting at most timeout_ms (-1: until something happens). */
int loop_run_once(struct loop *l, int timeout_ms);
void loop_stop(struct loop *l);
/* Clears a stop, so that loop_run_once() dispatches again (a transport's bounded grace period at
 * shutdown: it runs the loop until its work is done, a deadline passes or loop_stop() is called
 * again, e.g. by a second SIGTERM). */
void loop_resume(struct loop *l);
bool loop_stopped(const struct loop *l);

/* Monotonic milliseconds. */
uint64_t loop_now_ms(void);

#endif
