/* mx.h - internals shared by the Matrix transport's files (not for the core).
 *
 *   matrix.c  the transport: start, login, filter, ops, stats, teardown
 *   http.c    libcurl multi handle inside the loop: request queue, retries, caps
 *   sync.c    /sync: parsing (fuzzed), the walk over a batch, gaps, since tokens
 *   handle.c  one member's message: recorded as owed, waits for the member list, dispatched
 *   rooms.c   the room table: membership, private chats, power levels, inviters
 *   rooms_fetch.c  each room's state fetched (bounded); a fresh start: room list, old invites
 *   send.c    outgoing events: per-room queues, transaction ids, private chats, files
 *   mx_e2e.c  end-to-end encryption: the mx_crypto_ops over crypto/e2e.h, its requests
 *   owed.c    what is still owed (replies, joins, missed messages) kept in the store
 *
 * Ownership: struct mx owns everything hanging from it; strings are malloc'd copies. */
#ifndef HEARTH_MX_H
#define HEARTH_MX_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/app.h"
#include "core/stats.h"
#include "net/matrix/mx_crypto.h"

#define MX_MOD "matrix"
#define MX_SYNC_CAP (8u * 1024 * 1024)   /* bytes of one /sync response */
#define MX_BODY_CAP (1024u * 1024)        /* bytes of any other response */
#define MX_JSON_DEPTH 64                  /* deeper JSON is refused */
#define MX_UPLOAD_CAP (8u * 1024 * 1024)  /* bytes of one file we upload */
#define MX_SYNC_TIMEOUT_MS 30000
#define MX_FIRST_SYNC_TIMEOUT_MS 600000 /* 10 minutes: given up and asked again, it starts over */
#define MX_SEEN 1024                      /* recent event ids remembered */
#define MX_SHUTDOWN_GRACE_MS 3000         /* at most this long sending what is queued at exit */
#define MX_SAMPLES 4096                   /* own-time samples kept for the shutdown figure */
#define MX_EASY_IDLE 4                    /* finished requests' curl handles kept for reuse */
#define MX_MD_CACHE 8                     /* room replies whose rendering is kept */
#define MX_MD_CACHE_MAX 8192              /* bytes of Markdown at most in one cached entry */
#define MX_MD_SEEN 32                     /* keyed hashes of private replies sent once */

struct mx_req;
struct mx_room;
struct mx_out;
struct mx_batch;
struct mx_pend;
struct mx_join;
struct store;

/* Per-event context handed to the core as hmsg.ref (core/msg.h declares the type). */
struct hmsg_ref {
	const char *room_id;
	const char *event_id;
	const char *thread_root;   /* NULL when not in a thread */
	struct mx_batch *batch;    /* its command hold (owed until its replies are sent), or NULL */
	unsigned nsent;            /* replies sent for it so far (numbers the transaction ids) */
	struct hstamp start;       /* when Hearth began on it: its /sync response read, or its
				    * decryption begun; carried with each reply (0: not timed) */
};

/* A room reply's Markdown and its renderings (send.c): the same reading is not rendered again. */
struct mx_md {
	char *md, *plain, *html;
	json_t *jplain, *jhtml;    /* the same as JSON strings, shared by every notice built from it
				    * (NULL: not valid UTF-8 or too long for one event: built anew) */
	size_t len;
	uint64_t used;             /* md_tick when last used (0: empty) */
};

struct mx_react;
struct mx_hdrs;

struct mx {
	struct htransport t;
	struct happ *app;
	struct loop *loop;
	struct mx_react *react;        /* react.c: one-tap check-ins (NULL until the first) */

	/* http.c */
	void *multi;               /* CURLM* */
	uint64_t curl_timer;
	struct mx_req *reqs;       /* every live request (in flight or waiting to retry) */
	bool auth_lost;            /* 401 M_UNKNOWN_TOKEN seen: requests wait for a new login */
	void *easy_idle[MX_EASY_IDLE];  /* CURL* handles of finished requests, configured, for reuse */
	size_t neasy_idle;
	struct mx_hdrs *hdr_json[2][2]; /* JSON requests' header lists: [token?][GET?] */
	unsigned long easy_setups;      /* handles configured (tests: a reused one is not again) */
	unsigned long hdr_builds;       /* header lists built (tests: once per token) */

	/* session */
	char *hs;                  /* homeserver base URL, no trailing slash */
	char *user_id;
	char *access_token;        /* secret: never logged */
	char *device_id;
	char *filter_id;
	char *first_filter;        /* the filter (JSON) of a sync without a position (matrix.c) */
	bool logging_in;
	bool session_ready;         /* after_login() ran */

	/* sync.c */
	char *since;               /* the token the next /sync continues from */
	bool synced_once;          /* the first (history-skipping) sync is done */
	struct mx_req *sync_req;
	uint64_t sync_timer;       /* waiting to poll again after a failure */
	unsigned sync_failures;
	struct mx_batch *batches;  /* live sync batches and commands (see sync.c) */
	bool owed_frozen;          /* tearing down: finishing a hold writes nothing */
	uint64_t batch_seq;
	uint64_t seen[MX_SEEN];    /* hashes of recent event ids (a ring) */
	uint16_t seen_tab[2 * MX_SEEN];  /* their ring positions + 1, by hash (handle.c) */
	size_t seen_next;

	/* rooms.c */
	struct mx_room *rooms;
	struct mx_room **room_tab; /* an index of rooms by id: room_tab_cap buckets (a power of 2) */
	size_t room_tab_cap, nrooms;
	/* state fetches (mx_room_members_fetch) waiting for a slot: at most MX_FETCH_INFLIGHT in
	 * flight, so that a start with 1,000 rooms does not open 1,000 requests at once */
	struct mx_room *fetch_head, *fetch_tail;
	unsigned fetch_inflight;
	struct mx_req *list_req;    /* a fresh start's GET /joined_rooms (rooms_fetch.c) */
	struct mx_req *invites_req; /* a fresh start's listing of the invites waiting */
	bool list_reading;         /* its rooms' state fetches are not all done yet */
	json_t *direct;            /* our m.direct account data: {user: [room ids]} */
	json_t *left;              /* {room id: true}: rooms this process saw Hearth leave (or be
				    * removed from), at most MX_LEFT_MAX: never posted to again
				    * until joined again (rooms.c, mx_room_of_waiting) */
	struct mx_join *joins;     /* joins in flight or waiting to retry */

	/* send.c */
	struct mx_out *dm_wait;    /* private replies waiting for a private chat to exist */
	uint64_t txn_counter;
	uint64_t start_ms;
	struct mx_md md_cache[MX_MD_CACHE];  /* renderings; a private reply's only when sent twice */
	uint64_t md_tick;
	unsigned long md_renders;  /* renderings done for the cache (a figure for the tests) */
	uint64_t md_seen[MX_MD_SEEN];  /* keyed hashes of private replies' texts sent once */
	size_t md_seen_next;
	unsigned char md_key[16];  /* crypto_shorthash key, made at the first use */
	bool md_keyed;

	/* crypto seam (NULL when absent) */
	const struct mx_crypto_ops *crypto;
	void *crypto_state;

	/* figures printed at shutdown: own time per reply, from its message's start stamp to its
	 * send issued, without the time it waited (for a send ahead of it, for a session) */
	unsigned long ncommands;
	struct hstats st_own, st_cpu;          /* unencrypted replies: wall clock, CPU */
	struct hstats st_enc_own, st_enc_cpu;  /* encrypted replies */
	struct hstats st_enc_warm, st_enc_warm_cpu; /* encrypted ones that set up no new session */

	bool stopping;
};

/* ---- matrix.c ---- */
/* store_kv_set in the "matrix" namespace (value NULL: store_kv_del), fenced by the [matrix] lease
 * (store/lease.h): HE_PERM, nothing written, when this process no longer holds it. */
int mx_kv_set_fenced(struct mx *mx, const char *key, const char *value);
void mx_fatal(struct mx *mx, const char *why);              /* exit code 1, stop the loop */
void mx_auth_lost(struct mx *mx);                           /* token revoked: log in again */
/* A timed reply's send was issued: Hearth's own wall-clock and CPU time on it (see st_own). */
void mx_record_reply(struct mx *mx, uint64_t own_us, uint64_t cpu_us, bool encrypted, bool setup);

/* ---- http.c ---- */
enum mx_http_flags {
	MX_HTTP_RETRY = 1,      /* network errors, 5xx and 429 retry (capped backoff) until done */
	MX_HTTP_NOAUTH = 2,     /* no Authorization header (login, versions) */
	MX_HTTP_SYNC = 4,       /* the long poll: larger cap, longer timeout */
	MX_HTTP_FIRST = 8,      /* with SYNC: a first sync (no position), which a homeserver may take
				 * minutes to build for 1,000 rooms: MX_FIRST_SYNC_TIMEOUT_MS */
};

/* Called once per request when it is finished: status is the HTTP status (0 when the request
 * never got an answer and does not retry), body the parsed JSON (NULL when empty, not JSON or
 * over a cap; borrowed), t_done when the response was read (before it was parsed). */
typedef void (*mx_http_cb)(struct mx *mx, int status, json_t *body, const struct hstamp *t_done,
			   void *ud);

int mx_http_init(struct mx *mx);
void mx_http_free(struct mx *mx);
/* Queues a request. path starts with "/_matrix/"; body (JSON text or bytes) is copied;
 * content_type NULL means application/json. Returns the request, or NULL on allocation failure
 * (cb is not called then). */
struct mx_req *mx_http_request(struct mx *mx, const char *method, const char *path,
			       const void *body, size_t body_len, const char *content_type,
			       unsigned flags, mx_http_cb cb, void *ud);
struct mx_req *mx_http_json(struct mx *mx, const char *method, const char *path, json_t *body,
			    unsigned flags, mx_http_cb cb, void *ud); /* body borrowed; may be NULL */
void mx_http_cancel(struct mx *mx, struct mx_req *r);   /* cb is not called */
/* After a new login: requests held back by a lost token go out again with the new one. */
void mx_http_resume_auth(struct mx *mx);
/* Builds a request path from fmt: each %s argument is percent-encoded as a path segment or query
 * value (curl_easy_escape: all but A-Z a-z 0-9 - . _ ~), each %S is copied as it is (already safe,
 * e.g. a constant), %d an int, %% a percent sign. Caller frees; NULL on OOM or an unknown conversion. */
char *mx_http_pathf(const char *fmt, ...);
char *mx_http_vpathf(const char *fmt, va_list ap);
/* mx_http_request / mx_http_json with the path built by mx_http_pathf; NULL when either fails. */
struct mx_req *mx_http_requestf(struct mx *mx, const char *method, const void *body,
				size_t body_len, const char *content_type, unsigned flags,
				mx_http_cb cb, void *ud, const char *path_fmt, ...);
struct mx_req *mx_http_jsonf(struct mx *mx, const char *method, json_t *body, unsigned flags,
			     mx_http_cb cb, void *ud, const char *path_fmt, ...);

/* Pure helpers (unit tested). */
/* Backoff before retry number `attempt` (0-based): 1 s doubling to 60 s, +-20% from rnd. */
uint64_t mx_backoff_ms(unsigned attempt, uint32_t rnd);
/* Wait asked by a 429: Retry-After header (seconds; may be NULL) or retry_after_ms in body;
 * -1 when neither says. Capped at 10 minutes. */
int64_t mx_retry_after_ms(const char *header, json_t *body);
/* Parses JSON from the network: refuses nesting deeper than max_depth (checked before jansson
 * sees it), invalid UTF-8 and trailing garbage. HE_PROTO or HE_NOMEM. */
int mx_json_parse(const char *buf, size_t len, unsigned max_depth, json_t **out);
/* The Matrix errcode of an error body ("M_UNKNOWN_TOKEN"), or "". */
const char *mx_errcode(json_t *body);

/* ---- sync.c ---- */
enum mx_section { MX_JOIN, MX_INVITE, MX_LEAVE };
enum mx_where { MX_STATE, MX_TIMELINE, MX_INVITE_STATE };

/* One event, fields borrowed from the JSON it was parsed from. */
struct mx_event {
	json_t *json;
	const char *type;
	const char *event_id;
	const char *sender;
	const char *state_key;     /* NULL for a non-state event */
	json_t *content;           /* always an object */
	int64_t ts;
	/* m.room.message */
	const char *msgtype;
	const char *body;
	const char *in_reply_to;
	const char *rel_type;      /* "m.thread", "m.replace", ... */
	const char *rel_event;     /* the thread root for m.thread */
	/* m.room.member */
	const char *membership;
	const char *displayname;
	bool is_direct;
	json_t *unsigned_prev;     /* unsigned.prev_content, or NULL */
};

/* Fills ev from one event object. HE_PROTO when it lacks a string type or an object content,
 * or when a field it has is of the wrong type; sender and event_id may be NULL (stripped
 * state). */
int mx_event_parse(json_t *json, struct mx_event *ev);

struct mx_sync_ops {
	void (*account_data)(void *ud, const char *type, json_t *content);
	void (*to_device)(void *ud, json_t *events);
	void (*device_lists)(void *ud, json_t *changed, json_t *left);
	void (*key_counts)(void *ud, json_t *otk, json_t *fallback);
	void (*room_begin)(void *ud, enum mx_section s, const char *room_id, json_t *room);
	void (*room_event)(void *ud, enum mx_section s, const char *room_id, enum mx_where w,
			   const struct mx_event *ev);
	void (*room_end)(void *ud, enum mx_section s, const char *room_id, json_t *room);
};

/* Walks one /sync response in the spec's order: account data, to-device, device lists, key
 * counts, then left, joined and invited rooms (state before timeline). Malformed parts are
 * skipped. Returns HE_PROTO when root is not an object or has no string next_batch. */
int mx_sync_walk(json_t *root, const struct mx_sync_ops *ops, void *ud);

/* A member's message body without the rich-reply fallback ("> <@a:b> quoted" lines and the
 * blank line after them). Returns a pointer into body. */
const char *mx_strip_reply_fallback(const char *body);

int mx_sync_start(struct mx *mx);              /* after login and filter */
void mx_sync_stop(struct mx *mx);
void mx_sync_continue(struct mx *mx);          /* the long poll goes on (a fresh start's list read) */
/* A batch is a sync batch (its token is saved once it is walked, never waiting for what it
 * started) or a command (owed in the store until every hold on it is released). Hold and
 * release keep either alive; for a command the last release marks it done. */
void mx_batch_hold(struct mx_batch *b);
void mx_batch_release(struct mx *mx, struct mx_batch *b);
/* Fallback when what a sync batch started could not be written to the store: its token (and
 * every later one) waits for mx_batch_unblock(). Both accept NULL. */
void mx_batch_block(struct mx_batch *b);
void mx_batch_unblock(struct mx *mx, struct mx_batch *b);
void mx_batches_free(struct mx *mx);
/* r's member list is known (or its fetch failed): messages that waited for it are handled. */
void mx_sync_members_ready(struct mx *mx, struct mx_room *r);
void mx_sync_pend_free(struct mx *mx, struct mx_room *r);   /* drops what waited (room gone) */
/* handle.c: a message event in r (b held while it is handled; NULL after a restart). start is
 * when Hearth began on it (its response read, or its decryption begun; NULL or 0: not timed),
 * carried with its replies. mx_handle_message returns whether the core took it;
 * mx_handle_encrypted 1 when handled, 0 when it cannot be, -1 when the crypto module hands it
 * back later (mx_crypto_redeliver). */
bool mx_handle_message(struct mx *mx, struct mx_room *r, const struct mx_event *ev,
		       struct mx_batch *b, const struct hstamp *start);
int mx_handle_encrypted(struct mx *mx, struct mx_room *r, const struct mx_event *ev,
			struct mx_batch *b);
/* handle.c: an m.room.member event of the timeline: Hearth's own join into a group room, or a
 * member's, is reported to the core (happ_room_event). */
void mx_handle_member(struct mx *mx, struct mx_room *r, const struct mx_event *ev);
int mx_op_greet(struct htransport *t, const struct hevent *ev, const char *md);
/* catch_up_minutes ([matrix], default MX_CATCH_UP_DEFAULT): a message older than that when
 * Hearth sees it (after downtime) is not answered out of context; mx_too_old says so of an
 * origin_server_ts in ms (0: unknown, never too old). */
#define MX_CATCH_UP_DEFAULT 60
int mx_catch_up_minutes(const struct mx *mx);
bool mx_too_old(const struct mx *mx, int64_t ts_ms);
/* Logs a message skipped as too old: its id and age, never its text. */
void mx_log_too_old(const struct mx *mx, const char *room_id, const struct mx_event *ev);
/* image.c: the mood chart as m.image, privately (encrypted before upload in encrypted chats). */
json_t *mx_image_content(const struct himage *img);
int mx_op_send_image(struct htransport *t, const struct hmsg *in, const struct himage *img);
/* react.c: one-tap check-ins. post_checkin op; mx_react_event takes m.reaction (decrypted ones
 * too) and m.room.redaction. */
int mx_op_post_checkin(struct htransport *t, const struct hmsg *in, const char *room, const char *md,
		       const char *idem);
void mx_react_event(struct mx *mx, struct mx_room *r, const struct mx_event *ev);
int mx_react_score(const char *key);     /* 2, 4, 6, 8, 10 for the scale's keys, else 0 */
void mx_react_free(struct mx *mx);
/* The answer to the PUT of an event of ours (send.c): a prompt's scale goes out; the scale's
 * last step marks the prompt scaled. resume: once, after a sync, the scale of prompts left
 * unscaled by a restart. scales: how many scales were queued (tests). */
void mx_react_sent(struct mx *mx, const char *room, const char *type, const char *txn, const json_t *content,
		   int status, const char *event_id);
void mx_react_resume(struct mx *mx);
unsigned long mx_react_scales(const struct mx *mx);
int mx_react_prompt_scaled(struct store *s, const char *room, const char *event_id);
void mx_react_scale_txn(const char *event_id, size_t step, char out[48]); /* the scale's ids */
/* The prompts that take taps, in the store (module "matrix_react"; ids and time only). init:
 * migrate and prune. prompt_add: HE_OK, HE_INVAL for an id over the cap, HE_DB. prompt_known:
 * HE_OK when room/event_id is a prompt of the last two days, HE_NOTFOUND, HE_DB. */
int mx_react_migrate(struct store *s);
int mx_react_init(struct store *s, int64_t now_s);
int mx_react_prompt_add(struct store *s, const char *room, const char *event_id, int64_t now_s);
int mx_react_prompt_known(struct store *s, const char *room, const char *event_id, int64_t now_s);
/* sched_post.c: a scheduled check-in (post_checkin with idem) posted once across a restart. txn:
 * "hs" and a hash of room and idem. post: the pending row (fenced), then the PUT. sent: the PUT's
 * answer; true when the prompt was recorded (the caller adds the scale). resume: once, the rows
 * a restart left: sent again (same txn), or dropped when too old or the room is left. room_left:
 * the room's rows dropped. pending_add: HE_OK, HE_INVAL, HE_PERM (fence), HE_DB. */
#define MX_SCHED_TEXT_MAX 16384 /* a longer scheduled prompt is posted as before: not kept */
void mx_sched_txn(const char *room, const char *idem, char out[48]);
bool mx_react_sending(struct mx *mx, const char *room, const char *txn); /* posted by this process */
bool mx_sched_is_txn(const char *txn);
int mx_sched_post(struct mx *mx, const char *room, const char *md, const char *idem);
bool mx_sched_sent(struct mx *mx, const char *room, const char *txn, int status, const char *event_id);
void mx_sched_resume(struct mx *mx);
void mx_sched_room_left(struct mx *mx, const char *room);
int mx_sched_pending_add(struct store *s, const char *room, const char *txn, const char *md, int64_t now);
/* The joined room of an event that may have waited across a restart, or of an unprompted post
 * (added if no sync has mentioned it yet); NULL when we are not in it or this process saw us
 * leave it (mx->left). */
struct mx_room *mx_room_of_waiting(struct mx *mx, const char *room_id);
/* handle.c: our own join in a room entry's state section (new: not from "join"), and whether a
 * timeline event was written before it (history, never answered). */
bool mx_own_join_in_state(struct mx *mx, json_t *room, int64_t *ts);
bool mx_before_our_join(long tl_index, long skip_until, bool joined_now, int64_t join_ts,
			const struct mx_event *ev);
void mx_self_joined(struct mx *mx, struct mx_room *r, bool dispatch);
/* A sync batch: held and blocking while it is walked (mx_batch_unblock when walked). NULL on
 * allocation failure. */
struct mx_batch *mx_batch_sync_new(struct mx *mx, const char *token);
/* A command's hold, with one reference released after its dispatch. When it is not recorded
 * in the store it blocks parent (the sync batch it came in, may be NULL) until it is done. */
struct mx_batch *mx_batch_cmd_new(struct mx *mx, const char *event_id, bool recorded,
				  struct mx_batch *parent);
/* Event de-duplication (a ring of recent ids). Returns true when id was seen; records it. */
bool mx_seen_check(struct mx *mx, const char *event_id);

/* ---- rooms.c ---- */
enum mx_membership { MX_M_NONE, MX_M_INVITED, MX_M_JOINED };
#define MX_LEFT_MAX 1024

struct mx_room {
	struct mx *mx;
	char *id;
	enum mx_membership membership;
	bool encrypted;
	char *creator;
	json_t *power_levels;      /* content of m.room.power_levels, or NULL */
	json_t *names;             /* {user id: display name} seen so far */
	long joined, invited;      /* from the sync summary (-1 unknown) */
	/* who can read the room: decides whether it is private (never is_direct nor m.direct) */
	json_t *members;           /* {user id: "join" | "invite"}, others left out */
	bool members_known;        /* members is the whole list (fetched, then kept current) */
	bool members_failed;       /* the last fetch failed: the room counts as not private */
	struct mx_req *members_req;  /* the fetch in flight */
	bool fetch_queued;         /* waiting in mx->fetch_head's queue */
	struct mx_room *fetch_next;
	json_t *members_touched;   /* {user id: true} changed by /sync while it was in flight */
	struct mx_pend *pend, *pend_tail;  /* messages waiting for the member list (sync.c) */
	size_t npend;
	bool maybe_joined;         /* added from our m.direct: joined if its member list says so */
	bool warned_encrypted;
	bool joining;              /* a join is in flight or waiting to retry */
	bool listed;               /* first known from a fresh start's room list (rooms_fetch.c) */
	/* send.c */
	struct mx_out *outq, *outq_tail;
	struct mx_req *inflight;   /* the send (or upload) of outq's head */
	uint64_t retry_timer;
	bool crypto_wait;          /* retry_timer waits for encryption sessions */
	struct mx_room *next;
	struct mx_room *hnext;     /* next in its index bucket */
};

struct mx_room *mx_room_get(struct mx *mx, const char *id);
struct mx_room *mx_room_add(struct mx *mx, const char *id);
void mx_room_remove(struct mx *mx, const char *id);
void mx_rooms_free(struct mx *mx);
/* Applies a state event (state section or timeline) to the room. */
void mx_room_apply_state(struct mx *mx, struct mx_room *r, const struct mx_event *ev);
void mx_room_apply_summary(struct mx_room *r, json_t *summary);
/* The member's power level (power_levels users, else users_default; without power levels the
 * creator has 100, everyone else 0). */
long mx_power_level(json_t *power_levels, const char *creator, const char *user);
/* Pure: members ({user: "join"|"invite"}) make a private chat of self and member: self joined,
 * member joined (or invited, with invited_ok) and no one else joined or invited. */
bool mx_members_private(json_t *members, const char *self, const char *member, bool invited_ok);
/* A message from sender in r was said privately: the whole member list is known and its joined
 * and invited members are exactly Hearth and sender (the sync summary does not say more). */
bool mx_room_is_private(struct mx *mx, const struct mx_room *r, const char *sender);
/* r may carry a private message for member now: as above, member joined or still invited. */
bool mx_room_private_for(struct mx *mx, const struct mx_room *r, const char *member);
/* As mx_room_private_for() but a fetch of the member list may still be on its way: where a
 * private message may be queued (it is checked strictly before it goes out). */
bool mx_room_maybe_private_for(struct mx *mx, const struct mx_room *r, const char *member);
/* The private chat with member (member joined preferred over invited), or NULL. */
struct mx_room *mx_room_find_private(struct mx *mx, const char *member);
/* A room our m.direct lists for member whose member list is not read yet (its fetch started),
 * or NULL: where a private message may wait to be checked. */
struct mx_room *mx_room_direct_candidate(struct mx *mx, const char *member);
/* Hearth created r with member invited (createRoom answered): both are in its member list. */
void mx_room_member_created(struct mx *mx, struct mx_room *r, const char *member);
/* Fetches r's whole state (its member list; power levels, creator and encryption when not
 * known yet) unless a fetch is in flight; when it ends, waiting messages are dispatched and r's
 * queue is kicked. HE_NOMEM when it could not start. */
int mx_room_members_fetch(struct mx *mx, struct mx_room *r);
#define MX_FETCH_INFLIGHT 4 /* state fetches in flight for rooms no message waits on */
/* Starts queued state fetches while slots are free (rooms.c; after each fetch ends). */
void mx_rooms_fetch_next(struct mx *mx);
/* After a big body was walked: the heap it grew goes back to the system (malloc_trim, at the
 * next turn of the loop). */
void mx_rooms_first_sync_done(struct mx *mx);
/* rooms_fetch.c: shared with rooms.c, and the callback of a state fetch (ud: the room; a test
 * calls it with a homeserver's answer). */
void mx_room_fetch_unqueue(struct mx *mx, struct mx_room *r);
json_t *mx_pl_keep(json_t *content);   /* users and users_default of power levels */
void mx_room_fetched(struct mx *mx, int status, json_t *body, const struct hstamp *t, void *ud);
#define MX_MEMBERS_MAX 100000    /* state events taken from one fetch (the body cap comes first) */
#define MX_ROOM_ID_MAX 255       /* bytes of a room id taken from a list */
#define MX_LIST_ROOMS_MAX 4096   /* rooms of /joined_rooms fetched at a fresh start */
#define MX_LIST_INVITES 100      /* invites read at a fresh start */
/* A fresh data folder's start (rooms_fetch.c): fresh_mark before the first (room-less) sync's
 * position is saved (the waiting invites are still to be read); fresh_start after it: the
 * invites' listing, and GET /joined_rooms whose answer (mx_rooms_listed) queues each room's
 * state fetch, then the sync loop goes on (mx_sync_continue). resume_listing (a start with a
 * position): the invites' listing again when a start before did not finish it. */
void mx_rooms_fresh_mark(struct mx *mx);
void mx_rooms_fresh_start(struct mx *mx);
void mx_rooms_resume_listing(struct mx *mx);
void mx_rooms_invites_start(struct mx *mx);
/* The callback of the invites' listing (MSC4186; a test calls it with a homeserver's answer):
 * each room whose stripped state invites us is handled as a sync's invite; any other answer
 * falls back to a /sync without a position, only its invites read. */
void mx_rooms_invites_answer(struct mx *mx, int status, json_t *body, const struct hstamp *t,
			     void *ud);
/* Applies a /joined_rooms answer: each valid room id (at most MX_LIST_ROOMS_MAX) joined, its
 * state fetch queued. The number taken, HE_PROTO (not a list) or HE_NOMEM. */
int mx_rooms_listed(struct mx *mx, json_t *body);
/* Records room as our private chat with member in m.direct (and on the server). */
void mx_direct_add(struct mx *mx, const char *member, const char *room_id);
void mx_direct_set(struct mx *mx, json_t *content);
/* Handles an invite: join if the inviter is allowed (retrying the invite/join race), else
 * decline. is_direct is only logged: it never makes a room private. */
void mx_room_invited(struct mx *mx, const char *room_id, const char *inviter, bool is_direct,
		     struct mx_batch *b);
/* We left or were removed: forget the room and drop what was queued for it. */
void mx_room_left(struct mx *mx, const char *room_id, const char *why);
void mx_room_join(struct mx *mx, const char *room_id, struct mx_batch *b);
/* Joins that were still owed when Hearth stopped go on (after login). */
void mx_joins_resume(struct mx *mx);
void mx_joins_free(struct mx *mx);                 /* teardown: nothing is written */
/* Pure: "@a:b" matches the pattern "@a:b" exactly or "*:b" by server. No patterns: anyone. */
bool mx_inviter_allowed(char *const *patterns, size_t n, const char *user);

/* ---- send.c ---- */
/* Transaction id for the n-th reply to an event: the same on every retry and after a restart
 * (the homeserver then drops the second copy). out has room for 48 bytes. */
void mx_txn_for_event(const char *event_id, unsigned n, char out[48]);
/* m.notice content from Markdown: body from md_to_plain, formatted_body from md_to_html, empty
 * m.mentions (no one is pinged), and the rich reply (thread aware) to ctx when given. New
 * reference or NULL. */
json_t *mx_notice_content(const char *md, const char *reply_to, const char *thread_root);
/* The same with the rendering kept in mx's small cache, so the same snippet is rendered once.
 * personal (a private reply): kept only once the same text was sent before (a reading, a
 * standard answer: nothing about one member); of a first one only a keyed hash is kept.
 * New reference or NULL. */
json_t *mx_notice_cached(struct mx *mx, const char *md, const char *reply_to,
			 const char *thread_root, bool personal);
void mx_md_cache_free(struct mx *mx);
/* m.file content (the url or file is added at upload), with empty m.mentions. New reference. */
json_t *mx_file_content(const char *name, const char *mime, size_t len);
/* Queues an event for a room (content stolen). txn may be NULL for a fresh one. start (may be
 * NULL) is the stamp of the message it answers: its own time is recorded when it is sent. */
int mx_send_event(struct mx *mx, const char *room_id, const char *type, json_t *content,
		  const char *txn, struct mx_batch *b, const struct hstamp *start);
/* Queues for the member's private chat, opening one when there is none: room_hint (may be
 * NULL) when it is private with member, else another private chat. Whichever room it is, the
 * room is checked again right before the event goes out; when it is no longer private with
 * member the event goes to another private chat (its reply relation dropped). */
int mx_send_private(struct mx *mx, const char *member, const char *room_hint, const char *type,
		    json_t *content, const char *txn, struct mx_batch *b, const void *file,
		    size_t file_len, const char *file_mime, const struct hstamp *start);
/* A file (an export, a chart) for the sender of in, privately, as content (taken, even on error)
 * with f uploaded first (encrypted in an encrypted chat). HE_NOMEM when content is NULL. */
int mx_send_attachment(struct mx *mx, const struct hmsg *in, json_t *content, const struct hfile *f);
/* r's member list changed or became known: what waits in its queue is looked at again. */
void mx_send_kick(struct mx *mx, struct mx_room *r);
void mx_send_room_gone(struct mx *mx, struct mx_room *r);  /* drops its queue */
void mx_send_free(struct mx *mx);
/* Messages queued or in flight (rooms' queues and those waiting for a private chat). */
size_t mx_send_pending(const struct mx *mx);
/* The transaction id of the i-th event queued in r (tests), or NULL. */
const char *mx_send_queued_txn(const struct mx_room *r, size_t i);
/* The transport's ops that send (matrix.c holds the table). */
int mx_op_reply(struct htransport *t, const struct hmsg *in, enum hdest dest, const char *md);
int mx_op_post(struct htransport *t, const char *room, const char *md);
int mx_op_post_private(struct htransport *t, const char *member, const char *md);
int mx_op_send_file(struct htransport *t, const struct hmsg *in, const struct hfile *f);

/* ---- owed.c ---- (every function takes the store; HE_DB on a store error) */
#define MX_JOIN_GIVE_UP_MS 120000u   /* an invite not joined within this is declined */
#define MX_JOIN_REFUSED_TRIES 4u     /* refused (4xx) this many times: declined at once */
#define MX_JOINS_MAX 64              /* invites being joined at once; more are declined */
enum mx_owed_state { MX_OWED_NONE = 0, MX_OWED_OPEN = 1, MX_OWED_DONE = 2 };

/* Migrates the tables and prunes done events older than two days. */
int mx_owed_init(struct store *s, int64_t now_s);
/* Only the tables (`hearth store copy` prepares an empty store with it). */
int mx_owed_migrate(struct store *s);
int mx_owed_clear(struct store *s);   /* another account: nothing owed belongs to this one */
/* MX_OWED_*, or HE_DB. Only ids are kept: an owed message is fetched again and judged as its
 * room is then (private or not, who is a moderator). */
int mx_owed_event_get(struct store *s, const char *event_id);
int mx_owed_event_add(struct store *s, const char *event_id, const char *room_id,
		      int64_t now_s);    /* an existing row is kept as it is */
int mx_owed_event_done(struct store *s, const char *event_id);
/* get and add in one statement (one write, no read transaction before it): a new event is
 * recorded open; an existing row is kept as it is. MX_OWED_OPEN (new, or open already),
 * MX_OWED_DONE, or HE_DB. */
int mx_owed_event_take(struct store *s, const char *event_id, const char *room_id, int64_t now_s);
/* Open events, oldest first: new array of {"event_id","room_id"}. */
int mx_owed_events_open(struct store *s, json_t **out);
int mx_owed_join_add(struct store *s, const char *room_id, const char *inviter, int64_t now_ms);
int mx_owed_join_get(struct store *s, const char *room_id, int64_t *first_ms, unsigned *tries);
int mx_owed_join_tried(struct store *s, const char *room_id, unsigned tries);
int mx_owed_join_del(struct store *s, const char *room_id);
/* New array of {"room_id","inviter" (absent when none),"first_ms","tries"}. */
int mx_owed_joins(struct store *s, json_t **out);
long mx_owed_join_count(struct store *s);   /* -1 on error */
/* Pure: after a failed join (HTTP status, tries so far including this one, time since the
 * first try), whether to stop trying and decline the invite. */
bool mx_join_give_up(int status, unsigned tries, uint64_t elapsed_ms);
int mx_owed_gap_add(struct store *s, const char *room_id, const char *from, const char *to);
int mx_owed_gap_del(struct store *s, const char *room_id, const char *from);
/* New array of {"room_id","from","to"}. */
int mx_owed_gaps(struct store *s, json_t **out);

#endif
