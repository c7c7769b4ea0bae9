/* msg.h - the seam between networks and the core.
 *
 * A transport (console, Matrix, IRC) turns what arrives from its network into one struct hmsg and
 * hands it to happ_dispatch(). The core answers through the transport's ops, always with
 * Markdown; each transport renders it for its network (HTML for Matrix, plain text for IRC and
 * the console). Nothing in the core knows which network it talks to. */
#ifndef HEARTH_MSG_H
#define HEARTH_MSG_H

#include <stdbool.h>
#include <stddef.h>

enum hrole { HROLE_MEMBER = 0, HROLE_MODERATOR = 1 };

struct htransport;
struct hevent;

/* A transport's own context for one message, for its replies (Matrix: the event id, its
 * thread, the reply counter, the command hold and the start stamp). The one transport that
 * needs it defines it (net/matrix/mx.h); console and IRC leave hmsg.ref NULL. The core only
 * carries it: a transport reads the ref of its own messages only. */
struct hmsg_ref;

/* One message from a member. All strings are borrowed for the duration of the dispatch call. */
struct hmsg {
	const char *network;      /* transport instance: "console", "matrix", "irc.NAME" */
	const char *room;         /* where it was said: room id, channel, or the private chat id */
	const char *sender;       /* stable member id on that network: "@a:hs", IRC account or nick */
	const char *sender_name;  /* how to address them; may equal sender */
	const char *text;         /* UTF-8 as received (the core checks it) */
	bool is_private;          /* said in a private chat with Hearth */
	bool sender_transient;    /* the sender id can pass to another person (an IRC nick without a
				   * services account): nothing personal is stored or shown under it */
	enum hrole role;          /* decided by the transport: power level, channel op, account */
	struct htransport *via;   /* who delivers the replies */
	struct hmsg_ref *ref;     /* the transport's own context (above); the transport may update it
				   * while it replies (e.g. count its replies), the core never reads it */
	const char *msgid;        /* the network's id of this message when a reply can name it (IRC
				   * msgid tag for +draft/reply), else NULL; the core never reads it */
};

/* Where a reply goes. HDEST_SAME: where the message was said. HDEST_PRIVATE: in a private chat
 * with the sender (the transport opens one if needed). HDEST_ROOM: in the room the message came
 * from (for a private message, the same as HDEST_SAME). */
enum hdest { HDEST_SAME = 0, HDEST_PRIVATE = 1, HDEST_ROOM = 2 };

/* A file for the member (mood export). */
struct hfile {
	const char *name;         /* suggested file name, e.g. "hearth-mood.csv" */
	const char *mime;         /* "text/csv", "application/json" */
	const char *data;
	size_t len;
};

/* An image for the member (the mood chart). */
struct himage {
	struct hfile file;        /* the image itself: name, "image/png", bytes */
	int width, height;        /* in pixels */
	const char *alt;          /* what it shows, in words, for screen readers */
};

struct htransport_ops {
	/* Answer a message. markdown is UTF-8; the transport renders and splits it as its network
	 * needs. Returns 0 or a negative HE_* code. */
	int (*reply)(struct htransport *t, const struct hmsg *in, enum hdest dest, const char *markdown);
	/* Post unprompted into a room (scheduled check-ins, moderators' alerts). */
	int (*post)(struct htransport *t, const char *room, const char *markdown);
	/* Post unprompted to one member privately (mood reminders). May be NULL. */
	int (*post_private)(struct htransport *t, const char *member, const char *markdown);
	/* Give the sender a file, privately. May be NULL when the network cannot carry files; then
	 * the core falls back to text. */
	int (*send_file)(struct htransport *t, const struct hmsg *in, const struct hfile *f);
	/* Re-read configuration after SIGHUP without dropping connections. May be NULL. */
	int (*reload)(struct htransport *t);
	/* Stop cleanly: flush what is queued and close. May be NULL. */
	void (*shutdown)(struct htransport *t);
	void (*free)(struct htransport *t);
	/* Greet one member who just joined a room: Matrix posts a reply-less notice in the room that
	 * mentions only them; IRC sends a NOTICE to the member, never to the channel. May be NULL
	 * (then nobody is greeted on that network). */
	int (*greet)(struct htransport *t, const struct hevent *joined, const char *markdown);
	/* Show the sender an image, privately (Matrix: m.image). May be NULL: then the core gives
	 * it as a file with send_file (the console saves it beside exports) or, without that,
	 * answers in text only. */
	int (*send_image)(struct htransport *t, const struct hmsg *in, const struct himage *img);
	/* Post a check-in prompt that members can answer with one tap (Matrix: Hearth's own
	 * reactions 😞 🙁 😐 🙂 😄 under it; answers come back as HEV_SCALE_* events). in: the
	 * `!checkin` it answers (posted where that was said), or NULL for a scheduled one in room.
	 * idem: for a scheduled one, a key naming it (schedule and slot, the same in every process,
	 * never personal), so a transport that can post a thing exactly once across a restart
	 * (Matrix: a transaction id made from it, kept until the homeserver answered) does so; NULL
	 * when there is none. A transport may ignore it. May be NULL: then the core replies or
	 * posts the text as usual. */
	int (*post_checkin)(struct htransport *t, const struct hmsg *in, const char *room,
			    const char *markdown, const char *idem);
};

struct htransport {
	char name[64];            /* equals hmsg.network for its messages */
	const struct htransport_ops *ops;
	void *impl;
};

/* Something that happened in a room rather than a message said in it. A transport reports it
 * with happ_room_event() (core/app.h; care/welcome.c answers); the core decides what, if
 * anything, to say. Adding a network means reporting these, never touching a command. */
enum hevent_kind {
	HEV_MEMBER_JOINED = 1,    /* a member (not Hearth) joined a group room */
	HEV_SELF_JOINED = 2,      /* Hearth itself joined a group room */
	HEV_SCALE_ANSWER = 3,     /* a member tapped a step of a check-in's scale (post_checkin):
				   * score, answer and about are set */
	HEV_SCALE_WITHDRAWN = 4,  /* someone took back the tap `answer` (member: who took it back) */
};

struct hevent {
	enum hevent_kind kind;
	const char *network;      /* as hmsg.network */
	const char *room;
	const char *member;       /* HEV_MEMBER_JOINED: stable id ("@a:hs", "account:x" or a nick) */
	const char *member_name;  /* how to address them (display name, nick); may equal member */
	bool member_transient;    /* as hmsg.sender_transient: nothing is stored under this id */
	struct htransport *via;
	int score;                /* HEV_SCALE_ANSWER: 2, 4, 6, 8 or 10 */
	const char *answer;       /* HEV_SCALE_*: the network's id of the tap (a reaction event) */
	const char *about;        /* HEV_SCALE_ANSWER: the network's id of the check-in answered */
};

#endif
