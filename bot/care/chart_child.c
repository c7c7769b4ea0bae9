/* chart_child.c - the mood chart drawn in a short-lived child process (see chart.h,
 * chart_draw_isolated).
 *
 * Why: a process that draws with cairo touches the pages of libcairo, libpixman, libfreetype,
 * libpng, libm and the font files, and keeps them (+2.2 MB of RssFile, +0.7 MB of heap and
 * caches after one chart: notes/rooms.md "Chart memory"). The daemon forks instead; the child
 * draws from the entries already gathered, writes the PNG to a pipe with write(2) and leaves
 * with _exit; the parent reads it under a size and a time cap and reaps the child.
 *
 * What the child must not do: it shares the parent's memory image (copied on write) and its
 * descriptors. It closes every descriptor except the pipe's end first (store, sockets, the
 * signalfd, the lock file), calls no stdio (a copy of an unflushed buffer would be written
 * twice) and no exit handlers (_exit), and dies with the parent (PR_SET_PDEATHSIG). */
#include "care/chart.h"
#include "core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Every descriptor above 2 except keep; stdin/out/err go to /dev/null so that nothing the
 * libraries print can reach the daemon's log or a terminal it writes to. */
static void child_close_fds(int keep)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	if ((keep > 3 && close_range(3, (unsigned)keep - 1, 0) != 0) ||
	    close_range((unsigned)keep + 1, ~0U, 0) != 0) {
		/* a seccomp filter that refuses close_range (EPERM): one by one */
		struct rlimit rl;
		int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? (int)rl.rlim_cur : 65536;
		for (int fd = 3; fd < max; fd++)
			if (fd != keep)
				close(fd);
	}
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The child: never returns. Exit status 0 with the PNG written; else the HE_* code negated. */
static void child_main(const struct chart_in *in, const struct chart_isolation *opt, int wfd,
		       pid_t parent)
{
	struct chart_png png;
	struct sigaction sa;
	sigset_t none;
	int rc;

	/* killed with the daemon, whatever happens to it; default actions, so that a crash in a
	 * library kills only this process and no handler of the parent runs here */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(100); /* the daemon died before the line above */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int s = 1; s < 32; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (wfd < 3 && (wfd = fcntl(wfd, F_DUPFD, 3)) < 0) /* a daemon started with 0-2 closed */
		_exit(-HE_IO);
	child_close_fds(wfd);
	if (opt && opt->child_hook)
		opt->child_hook();
	rc = chart_draw(in, &png);
	if (rc == HE_OK && write_all(wfd, png.data, png.len) != 0)
		rc = HE_IO;
	/* no free: the process ends here */
	_exit(rc == HE_OK ? 0 : -rc);
}

/* Waits for the child until deadline (CLOCK_MONOTONIC ms); kills it then. Returns its wait
 * status, -1 when it had to be killed, or REAPED_UNKNOWN when the system reaped it (SIGCHLD
 * ignored: a disposition the daemon may inherit through exec). The child is gone either way.
 * The child has closed the pipe but may still be leaving (its memory is torn down first): a
 * pidfd wakes this process the moment it has exited; without one (a kernel before 5.3, a
 * seccomp filter), a 0.5 ms sleep between looks, which cost most charts half a millisecond. */
#define REAPED_UNKNOWN -2
static int reap(pid_t pid, long long deadline)
{
	int status = 0, pfd = -1, rc;

#ifdef SYS_pidfd_open
	pfd = (int)syscall(SYS_pidfd_open, pid, 0); /* close-on-exec always */
#endif
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		long long left = deadline - now_ms();
		if (r == pid) {
			rc = status;
			goto out;
		}
		if (r < 0 && errno != EINTR) {
			rc = REAPED_UNKNOWN;
			goto out;
		}
		if (r == 0 && left <= 0)
			break;
		if (r == 0 && pfd >= 0) {
			struct pollfd p = { pfd, POLLIN, 0 };
			poll(&p, 1, left > 1000 ? 1000 : (int)left); /* readable once it has exited */
		} else if (r == 0) {
			struct timespec ts = { 0, 500000 };
			nanosleep(&ts, NULL);
		}
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	rc = -1;
out:
	if (pfd >= 0)
		close(pfd);
	return rc;
}

int chart_draw_isolated_with(const struct chart_in *in, struct chart_png *out,
			     const struct chart_isolation *opt)
{
	int fd[2] = { -1, -1 }, rc = HE_OK, status;
	int timeout_ms = opt && opt->timeout_ms > 0 ? opt->timeout_ms : CHART_CHILD_TIMEOUT_MS;
	size_t cap = opt && opt->max_bytes > 0 ? opt->max_bytes : CHART_PNG_MAX;
	unsigned char *buf = NULL;
	size_t len = 0, size = 0;
	long long deadline;
	pid_t pid = -1, self = getpid();
	bool killed = false;

	memset(out, 0, sizeof(*out));
	if (!in || !in->zone || in->days < 1 || in->days > CHART_DAYS_MAX || (in->n && !in->entries))
		return HE_INVAL;
	if (pipe2(fd, O_CLOEXEC) != 0)
		return HE_IO;
	deadline = now_ms() + timeout_ms;
	pid = fork();
	if (pid < 0) {
		/* no memory or process slot for a child just now: the member hears "could not draw" */
		rc = HE_AGAIN;
		goto out;
	}
	if (pid == 0)
		child_main(in, opt, fd[1], self);
	close(fd[1]);
	fd[1] = -1;

	/* the PNG, until the child closes its end; a hard cap on its size and on the time */
	for (;;) {
		long long left = deadline - now_ms();
		struct pollfd p = { fd[0], POLLIN, 0 };
		int n;
		if (left <= 0) {
			rc = HE_AGAIN;
			break;
		}
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = HE_IO;
			break;
		}
		if (n == 0)
			continue; /* the deadline, checked above */
		if (len == size) {
			size_t ns = size ? size * 2 : 65536;
			unsigned char *nb;
			if (ns > cap + 1)
				ns = cap + 1;
			if (len >= ns) {
				rc = HE_TOOBIG;
				break;
			}
			if (!(nb = realloc(buf, ns))) {
				rc = HE_NOMEM;
				break;
			}
			buf = nb;
			size = ns;
		}
		ssize_t r = read(fd[0], buf + len, size - len);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0) {
			rc = HE_IO;
			break;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > cap) {
			rc = HE_TOOBIG;
			break;
		}
	}
	if (rc != HE_OK) {
		kill(pid, SIGKILL);
		killed = true;
	}
	status = reap(pid, killed ? now_ms() : deadline);
	pid = -1;
	if (rc != HE_OK)
		goto out;
	if (status == REAPED_UNKNOWN)
		rc = HE_OK; /* no exit status to read: the PNG's end is checked below */
	else if (status < 0)
		rc = HE_AGAIN; /* it closed the pipe but did not end in time */
	else if (!WIFEXITED(status))
		rc = HE_IO; /* a crash in cairo, freetype or libpng: the daemon goes on */
	else if (WEXITSTATUS(status) != 0)
		rc = WEXITSTATUS(status) == -HE_NOMEM ? HE_NOMEM
		   : WEXITSTATUS(status) == -HE_INVAL ? HE_INVAL : HE_IO;
	/* a whole PNG: its signature and its closing IEND chunk (a child that died while writing
	 * leaves less) */
	if (rc == HE_OK && (len < 20 || memcmp(buf, "\x89PNG\r\n\x1a\n", 8) != 0 ||
			    memcmp(buf + len - 12, "\0\0\0\0IEND\xae\x42\x60\x82", 12) != 0))
		rc = HE_IO;
	if (rc != HE_OK)
		goto out;
	out->data = buf;
	out->len = len;
	out->width = CHART_W;
	out->height = CHART_H;
	buf = NULL;
out:
	if (fd[0] >= 0)
		close(fd[0]);
	if (fd[1] >= 0)
		close(fd[1]);
	free(buf);
	return rc;
}

int chart_draw_isolated(const struct chart_in *in, struct chart_png *out)
{
	return chart_draw_isolated_with(in, out, NULL);
}
