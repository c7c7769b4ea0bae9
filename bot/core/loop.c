/* loop.c - epoll event loop with timers and signalfd. */
#include "core/loop.h"
#include "core/err.h"
#include "core/log.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

struct watch {
	int fd;
	loop_fd_cb cb;
	void *ud;
	struct watch *next;
};

struct timer {
	uint64_t id;
	uint64_t due;
	loop_timer_cb cb;
	void *ud;
};

struct loop {
	int epfd;
	bool stop;
	struct watch *watches;
	struct timer *timers;
	size_t ntimers, captimers;
	uint64_t next_id;
	int sigfd;
	loop_signal_cb sig_cb;
	void *sig_ud;
};

uint64_t loop_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int loop_new(struct loop **out)
{
	struct loop *l = calloc(1, sizeof(*l));

	*out = NULL;
	if (!l)
		return HE_NOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return HE_IO;
	}
	l->sigfd = -1;
	l->next_id = 1;
	*out = l;
	return HE_OK;
}

void loop_free(struct loop *l)
{
	struct watch *w, *next;

	if (!l)
		return;
	for (w = l->watches; w; w = next) {
		next = w->next;
		free(w);
	}
	if (l->sigfd >= 0)
		close(l->sigfd);
	close(l->epfd);
	free(l->timers);
	free(l);
}

static struct watch *find_watch(struct loop *l, int fd)
{
	for (struct watch *w = l->watches; w; w = w->next)
		if (w->fd == fd)
			return w;
	return NULL;
}

static uint32_t to_epoll(unsigned events)
{
	return ((events & LOOP_READ) ? EPOLLIN : 0) | ((events & LOOP_WRITE) ? EPOLLOUT : 0);
}

int loop_add_fd(struct loop *l, int fd, unsigned events, loop_fd_cb cb, void *ud)
{
	struct epoll_event ev = { .events = to_epoll(events) };
	struct watch *w;

	if (find_watch(l, fd))
		return HE_INVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return HE_NOMEM;
	w->fd = fd;
	w->cb = cb;
	w->ud = ud;
	ev.data.fd = fd;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(w);
		return HE_IO;
	}
	w->next = l->watches;
	l->watches = w;
	return HE_OK;
}

int loop_mod_fd(struct loop *l, int fd, unsigned events)
{
	struct epoll_event ev = { .events = to_epoll(events) };

	ev.data.fd = fd;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? HE_IO : HE_OK;
}

int loop_del_fd(struct loop *l, int fd)
{
	struct watch **pp;

	for (pp = &l->watches; *pp; pp = &(*pp)->next) {
		if ((*pp)->fd == fd) {
			struct watch *w = *pp;
			*pp = w->next;
			free(w);
			epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
			return HE_OK;
		}
	}
	return HE_NOTFOUND;
}

int loop_timer_add(struct loop *l, uint64_t delay_ms, loop_timer_cb cb, void *ud, uint64_t *id)
{
	if (id)
		*id = 0;
	if (l->ntimers == l->captimers) {
		size_t cap = l->captimers ? l->captimers * 2 : 16;
		struct timer *t = realloc(l->timers, cap * sizeof(*t));
		if (!t)
			return HE_NOMEM;
		l->timers = t;
		l->captimers = cap;
	}
	l->timers[l->ntimers] = (struct timer){ l->next_id, loop_now_ms() + delay_ms, cb, ud };
	l->ntimers++;
	if (id)
		*id = l->next_id;
	l->next_id++;
	return HE_OK;
}

void loop_timer_cancel(struct loop *l, uint64_t id)
{
	for (size_t i = 0; i < l->ntimers; i++) {
		if (l->timers[i].id == id) {
			l->timers[i] = l->timers[--l->ntimers];
			return;
		}
	}
}

size_t loop_timers_pending(const struct loop *l)
{
	return l->ntimers;
}

static void on_signal(struct loop *l, int fd, unsigned events, void *ud)
{
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		if (l->sig_cb)
			l->sig_cb(l, (int)si.ssi_signo, l->sig_ud);
}

int loop_watch_signals(struct loop *l, loop_signal_cb cb, void *ud)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return HE_IO;
	signal(SIGPIPE, SIG_IGN);
	l->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (l->sigfd < 0)
		return HE_IO;
	l->sig_cb = cb;
	l->sig_ud = ud;
	return loop_add_fd(l, l->sigfd, LOOP_READ, on_signal, NULL);
}

/* Fires every timer that is due; a timer added by a callback waits for the next round. */
static void run_timers(struct loop *l)
{
	uint64_t now = loop_now_ms(), limit = l->next_id;

	for (size_t i = 0; i < l->ntimers;) {
		struct timer t = l->timers[i];
		if (t.due <= now && t.id < limit) {
			l->timers[i] = l->timers[--l->ntimers];
			t.cb(l, t.ud);
			i = 0; /* the array may have changed */
			continue;
		}
		i++;
	}
}

static int next_timeout(struct loop *l, int cap)
{
	uint64_t now = loop_now_ms(), best = UINT64_MAX;

	for (size_t i = 0; i < l->ntimers; i++)
		if (l->timers[i].due < best)
			best = l->timers[i].due;
	if (best == UINT64_MAX)
		return cap;
	if (best <= now)
		return 0;
	if (cap >= 0 && best - now > (uint64_t)cap)
		return cap;
	return best - now > 3600000u ? 3600000 : (int)(best - now);
}

int loop_run_once(struct loop *l, int timeout_ms)
{
	struct epoll_event evs[32];
	int n;

	n = epoll_wait(l->epfd, evs, 32, next_timeout(l, timeout_ms));
	if (n < 0) {
		if (errno == EINTR)
			return HE_OK;
		hlog_error("loop", "epoll_wait failed: %s", strerror(errno));
		return HE_IO;
	}
	for (int i = 0; i < n && !l->stop; i++) {
		struct watch *w = find_watch(l, evs[i].data.fd);
		unsigned ev = 0;
		if (!w)
			continue; /* removed by an earlier callback in this round */
		if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			ev |= LOOP_READ;
		if (evs[i].events & (EPOLLOUT | EPOLLERR))
			ev |= LOOP_WRITE;
		w->cb(l, w->fd, ev, w->ud);
	}
	if (!l->stop)
		run_timers(l);
	return HE_OK;
}

int loop_run(struct loop *l)
{
	int rc = HE_OK;

	while (!l->stop && rc == HE_OK)
		rc = loop_run_once(l, -1);
	return rc;
}

void loop_stop(struct loop *l) { l->stop = true; }
void loop_resume(struct loop *l) { l->stop = false; }
bool loop_stopped(const struct loop *l) { return l->stop; }
