/* console.c - the console chat transport. */
#include "net/console/console.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/md.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONSOLE_ROOM "#lobby"
#define CONSOLE_LINE_MAX (64 * 1024)

struct console {
	struct htransport t;
	struct happ *app;
	char *as;
	char *dm_room;
	enum hrole role;
	bool tty;
	struct hlines in;         /* lines typed, capped at CONSOLE_LINE_MAX */
};

/* A name as the header shows it: control characters (C0, DEL, and C1 as UTF-8 writes them) and
 * ']' become '?', so a name from the config or the command line cannot move the cursor or fake
 * another header. At most 64 bytes. */
static void put_name(struct hbuf *b, const char *name)
{
	const unsigned char *s = (const unsigned char *)name;

	for (size_t n = 0; s[n] && n < 64; n++) {
		bool c1 = s[n] == 0xC2 && s[n + 1] >= 0x80 && s[n + 1] <= 0x9F;
		if (c1 || s[n] < ' ' || s[n] == 127 || s[n] == ']') {
			hbuf_putc(b, '?');
			n += c1;
		} else {
			hbuf_putc(b, (char)s[n]);
		}
	}
}

/* Prints one reply under a header naming who it is for: "[room]" for the console's room,
 * "[room #mods]" for another room (a moderators' alert), "[private → sam]" for one member. */
static void print_block(const char *kind, const char *who, const char *markdown)
{
	struct hbuf h = HBUF_INIT;
	char *plain = NULL;

	hbuf_putc(&h, '[');
	hbuf_puts(&h, kind);
	if (who) {
		hbuf_puts(&h, strcmp(kind, "private") == 0 ? " → " : " ");
		put_name(&h, who);
	}
	hbuf_putc(&h, ']');
	if (md_to_plain(markdown, strlen(markdown), &plain) != HE_OK)
		plain = NULL;
	printf("%s\n%s\n\n", h.oom ? "[?]" : hbuf_str(&h), plain ? plain : markdown);
	fflush(stdout);
	free(plain);
	hbuf_free(&h);
}

static void print_room(const char *room, const char *markdown)
{
	print_block("room", strcmp(room, CONSOLE_ROOM) == 0 ? NULL : room, markdown);
}

static int c_reply(struct htransport *t, const struct hmsg *in, enum hdest dest, const char *md)
{
	if (in->is_private || dest == HDEST_PRIVATE)
		print_block("private", in->sender, md);
	else
		print_room(in->room, md);
	return HE_OK;
}

static int c_post(struct htransport *t, const char *room, const char *md)
{
	print_room(room, md);
	return HE_OK;
}

/* Only the member at the console reads what is meant for one member: a reminder for someone
 * else stays unsent (the mood log tries again while it is due). */
static int c_post_private(struct htransport *t, const char *member, const char *md)
{
	struct console *c = t->impl;

	if (strcmp(member, c->as) != 0)
		return HE_NOTFOUND;
	print_block("private", member, md);
	return HE_OK;
}

/* A member's own folder name: letters, digits, '-' and '_' as they are, every other byte as %XX,
 * so two different names never share a folder and none can climb out of exports/. */
static void member_folder(const char *member, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)member; *p && n + 4 < outlen; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_') {
			out[n++] = (char)*p;
		} else {
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	out[n] = '\0';
}

/* The console has no file transfer: files are written to DATA_DIR/exports/MEMBER/ with mode 0600
 * (one folder per member, so two members exporting on one day keep their own files) and the
 * member is told where. */
static int c_send_file(struct htransport *t, const struct hmsg *in, const struct hfile *f)
{
	struct console *c = t->impl;
	const char *dir = store_dir(c->app->store);
	char path[4096], who[3 * 64 + 4], *msg = NULL;
	int fd, rc = HE_OK;

	if (strchr(f->name, '/') || f->name[0] == '.')
		return HE_INVAL;
	member_folder(in->sender, who, sizeof(who));
	snprintf(path, sizeof(path), "%s/exports", dir ? dir : ".");
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return HE_IO;
	snprintf(path, sizeof(path), "%s/exports/%s", dir ? dir : ".", who);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return HE_IO;
	snprintf(path, sizeof(path), "%s/exports/%s/%s", dir ? dir : ".", who, f->name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return HE_IO;
	for (size_t off = 0; off < f->len;) {
		ssize_t n = write(fd, f->data + off, f->len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = HE_IO;
			break;
		}
		off += (size_t)n;
	}
	if (close(fd) < 0)
		rc = HE_IO;
	if (rc == HE_OK && asprintf(&msg, "Saved `%s`", path) >= 0) {
		print_block("private", in->sender, msg);
		free(msg);
	}
	return rc;
}

/* The console is the room: a welcome shows there, addressed to the member in its text. */
static int c_greet(struct htransport *t, const struct hevent *ev, const char *md)
{
	print_room(ev->room, md);
	return HE_OK;
}

static void c_free(struct htransport *t)
{
	struct console *c;

	if (!t)
		return;
	c = t->impl;
	free(c->as);
	free(c->dm_room);
	hlines_free(&c->in);
	free(c);
}

static const struct htransport_ops console_ops = {
	.reply = c_reply,
	.post = c_post,
	.post_private = c_post_private,
	.send_file = c_send_file,
	.free = c_free,
	.greet = c_greet,
};

static void handle_line(struct console *c, const char *line)
{
	struct hmsg m = {
		.network = "console",
		.room = CONSOLE_ROOM,
		.sender = c->as,
		.sender_name = c->as,
		.text = line,
		.role = c->role,
		.via = &c->t,
	};

	/* "/join NAME": NAME joins the room; "/enter": Hearth joins it (tests, demos). */
	if (strncmp(line, "/join ", 6) == 0 || strcmp(line, "/enter") == 0) {
		struct hevent ev = {
			.kind = line[1] == 'e' ? HEV_SELF_JOINED : HEV_MEMBER_JOINED,
			.network = "console",
			.room = CONSOLE_ROOM,
			.member = line[1] == 'j' ? line + 6 : NULL,
			.member_name = line[1] == 'j' ? line + 6 : NULL,
			.via = &c->t,
		};
		happ_room_event(c->app, &ev);
		return;
	}
	if (strncmp(line, "/dm ", 4) == 0 || strcmp(line, "/dm") == 0) {
		m.is_private = true;
		m.room = c->dm_room;
		m.text = line[3] ? line + 4 : "";
	}
	happ_dispatch(c->app, &m);
}

static void prompt(struct console *c)
{
	if (c->tty) {
		printf("%s> ", c->as);
		fflush(stdout);
	}
}

/* One line typed (or NULL for one too long to read); stops when the loop was told to stop. */
static int on_line(void *ud, const char *line, size_t len)
{
	struct console *c = ud;

	if (!line)
		print_block("room", NULL, "That message is too long for me to read. Could you send a shorter one?");
	else
		handle_line(c, line);
	if (loop_stopped(c->app->loop))
		return HE_AGAIN;
	prompt(c);
	return HE_OK;
}

/* The last line, without a newline, at the end of input. */
static int on_line_last(void *ud, const char *line, size_t len)
{
	struct console *c = ud;

	handle_line(c, line);
	return HE_OK;
}

static void on_stdin(struct loop *l, int fd, unsigned events, void *ud)
{
	struct console *c = ud;
	char buf[4096];
	ssize_t n;

	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		hlines_finish(&c->in, on_line_last, c);
		loop_del_fd(l, fd);
		if (c->tty)
			printf("\n");
		loop_stop(l);
		return;
	}
	hlines_feed(&c->in, buf, (size_t)n, on_line, c);
}

int console_start(struct happ *app, const char *as, enum hrole role)
{
	struct console *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return HE_NOMEM;
	c->app = app;
	c->role = role;
	c->as = strdup(as);
	hlines_init(&c->in, CONSOLE_LINE_MAX);
	c->tty = isatty(STDIN_FILENO);
	if (!c->as || asprintf(&c->dm_room, "dm:%s", as) < 0) {
		c->dm_room = NULL;
		c_free(&c->t);
		return HE_NOMEM;
	}
	snprintf(c->t.name, sizeof(c->t.name), "console");
	c->t.ops = &console_ops;
	c->t.impl = c;
	if ((rc = happ_add_transport(app, &c->t))) {
		c_free(&c->t);
		return rc;
	}
	/* epoll refuses regular files: feed a redirected file through a pipe-like path by reading
	 * it in the loop's first turn. */
	rc = loop_add_fd(app->loop, STDIN_FILENO, LOOP_READ, on_stdin, c);
	if (rc == HE_IO) {
		while (!loop_stopped(app->loop))
			on_stdin(app->loop, STDIN_FILENO, LOOP_READ, c);
		rc = HE_OK;
	}
	if (c->tty) {
		printf("Hearth console. You are \"%s\" in %s; start a line with /dm to talk privately. "
		       "Type %shelp to begin, Ctrl-D to leave.\n", as, CONSOLE_ROOM, app->cfg->prefix);
		prompt(c);
	}
	return rc;
}
