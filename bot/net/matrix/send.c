/* send.c - what Hearth says: per-room queues in order, transaction ids, private chats, files.
 *
 * One event per room is in flight at a time, so a member reads replies in the order they were
 * written. Each event gets its transaction id when it is queued and keeps it through every
 * retry; a reply's id is derived from the command's event id, so the same reply produced again
 * after a restart is recognised by the homeserver and not shown twice. Into an encrypted room
 * only encrypted events go: a reply waits while the crypto module sets up sessions (it says
 * HE_AGAIN), and without end-to-end encryption nothing is sent there at all. */
#include "net/matrix/mx.h"
#include "net/matrix/split.h"
#include "core/err.h"
#include "core/log.h"
#include "core/md.h"
#include "core/text.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MX_EVENT_MAX 60000 /* the spec allows 65536 bytes per event, envelope included */

struct mx_out {
	char *room_id;             /* NULL while waiting for a private chat */
	char *member;              /* the private chat's member, when private */
	bool priv;                 /* for member's eyes only: the room is checked before sending */
	char *type;
	json_t *content;
	char txn[48];
	struct mx_batch *batch;
	char *file;                /* uploaded first, then content.url is set */
	size_t file_len;
	char *file_mime;
	json_t *file_info;         /* encrypted room: the EncryptedFile that replaces content.url */
	bool creating;             /* this entry asked for the private chat to be created */
	bool timed;                /* a reply: its own time is recorded when its send is issued */
	uint64_t own_us;           /* Hearth's own time on it so far, from its message's start
				    * stamp, without the time it waited in the queue */
	uint64_t own_cpu_us;       /* the same in CPU time */
	bool setup;                /* its encryption waited for a session to be set up */
	struct mx_out *next;
};

/* ---- pure ---- */

void mx_txn_for_event(const char *event_id, unsigned n, char out[48])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[2 * crypto_hash_sha256_BYTES + 1];

	crypto_hash_sha256(h, (const unsigned char *)event_id, strlen(event_id));
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(out, 48, "hr%.24s.%u", hex, n);
}

static void fresh_txn(struct mx *mx, char out[48])
{
	snprintf(out, 48, "hp%llx.%llx.%x", (unsigned long long)mx->start_ms,
		 (unsigned long long)++mx->txn_counter, randombytes_random());
}

/* m.notice content around rendered text already made JSON strings (jhtml may be NULL); the
 * strings are shared, not copied. */
static json_t *notice_wrap(json_t *jplain, json_t *jhtml, const char *reply_to,
			   const char *thread_root)
{
	json_t *c, *rel;

	/* m.mentions empty: Hearth never pings a member or the room (intentional mentions) */
	c = json_pack("{s:s, s:O, s:{}}", "msgtype", "m.notice", "body", jplain, "m.mentions");
	if (!c)
		return NULL;
	if (jhtml && json_object_set_new(c, "format", json_string("org.matrix.custom.html")) == 0)
		json_object_set(c, "formatted_body", jhtml);
	if (reply_to) {
		if (thread_root)
			rel = json_pack("{s:s, s:s, s:b, s:{s:s}}", "rel_type", "m.thread", "event_id",
					thread_root, "is_falling_back", 1, "m.in_reply_to", "event_id", reply_to);
		else
			rel = json_pack("{s:{s:s}}", "m.in_reply_to", "event_id", reply_to);
		if (!rel || json_object_set_new(c, "m.relates_to", rel)) {
			json_decref(c);
			c = NULL;
		}
	}
	return c;
}

/* m.notice content from rendered text (plain may be cut when too long: a caller's copy). */
static json_t *notice_build(char *plain, const char *html, const char *reply_to,
			    const char *thread_root)
{
	json_t *jplain, *jhtml = NULL, *c = NULL;

	if (strlen(plain) + (html ? strlen(html) : 0) > MX_EVENT_MAX) {
		/* too long for one event: plain text only, cut at a character boundary */
		html = NULL;
		plain[text_utf8_prefix(plain, strlen(plain), MX_EVENT_MAX)] = '\0';
	}
	jplain = json_string(plain);
	if (jplain && (!html || (jhtml = json_string(html))))
		c = notice_wrap(jplain, jhtml, reply_to, thread_root);
	json_decref(jplain);
	json_decref(jhtml);
	return c;
}

json_t *mx_notice_content(const char *md, const char *reply_to, const char *thread_root)
{
	char *html = NULL, *plain = NULL;
	json_t *c = NULL;
	size_t len = strlen(md);

	if (md_to_plain(md, len, &plain) == HE_OK && md_to_html(md, len, &html) == HE_OK)
		c = notice_build(plain, html, reply_to, thread_root);
	free(html);
	free(plain);
	return c;
}

/* The cache of room replies' renderings: a few entries, the least recently used replaced. */
/* Whether this text was sent before (a reading, a standard answer: nothing about one member).
 * All that is kept of a text is a keyed 64-bit hash, in a small ring. */
_Static_assert(sizeof(((struct mx *)0)->md_key) == crypto_shorthash_KEYBYTES, "md_key size");

static bool md_seen_before(struct mx *mx, const char *md, size_t len)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t v;

	if (!mx->md_keyed) {
		crypto_shorthash_keygen(mx->md_key);
		mx->md_keyed = true;
	}
	crypto_shorthash(h, (const unsigned char *)md, len, mx->md_key);
	memcpy(&v, h, sizeof(v));
	for (size_t i = 0; i < MX_MD_SEEN; i++)
		if (mx->md_seen[i] == v)
			return true;
	mx->md_seen[mx->md_seen_next++ % MX_MD_SEEN] = v;
	return false;
}

/* NULL when it is not kept (a personal text seen for the first time) or out of memory. */
static struct mx_md *md_cached(struct mx *mx, const char *md, size_t len, bool personal)
{
	struct mx_md *e, *victim = &mx->md_cache[0];
	char *plain = NULL, *html = NULL, *copy = NULL;

	for (size_t i = 0; i < MX_MD_CACHE; i++) {
		e = &mx->md_cache[i];
		if (e->md && e->len == len && memcmp(e->md, md, len) == 0) {
			e->used = ++mx->md_tick;
			return e;
		}
		if (e->used < victim->used)
			victim = e;
	}
	if (personal && !md_seen_before(mx, md, len))
		return NULL;
	mx->md_renders++;
	if (md_to_plain(md, len, &plain) != HE_OK || md_to_html(md, len, &html) != HE_OK ||
	    !(copy = malloc(len + 1))) {
		free(plain);
		free(html);
		return NULL;
	}
	memcpy(copy, md, len + 1);
	free(victim->md);
	free(victim->plain);
	free(victim->html);
	json_decref(victim->jplain);
	json_decref(victim->jhtml);
	victim->jplain = victim->jhtml = NULL;
	victim->md = copy;
	victim->len = len;
	victim->plain = plain;
	victim->html = html;
	/* made once here (the UTF-8 check and copy of each): every notice of it shares them */
	if (strlen(plain) + strlen(html) <= MX_EVENT_MAX && (victim->jplain = json_string(plain)) &&
	    !(victim->jhtml = json_string(html))) {
		json_decref(victim->jplain);
		victim->jplain = NULL;
	}
	victim->used = ++mx->md_tick;
	return victim;
}

json_t *mx_notice_cached(struct mx *mx, const char *md, const char *reply_to,
			 const char *thread_root, bool personal)
{
	size_t len = strlen(md);
	struct mx_md *e;
	char *plain;
	json_t *c;

	if (len > MX_MD_CACHE_MAX || !(e = md_cached(mx, md, len, personal)))
		return mx_notice_content(md, reply_to, thread_root);
	if (e->jplain)
		return notice_wrap(e->jplain, e->jhtml, reply_to, thread_root);
	if (!(plain = strdup(e->plain)))
		return NULL;
	c = notice_build(plain, e->html, reply_to, thread_root);
	free(plain);
	return c;
}

void mx_md_cache_free(struct mx *mx)
{
	for (size_t i = 0; i < MX_MD_CACHE; i++) {
		free(mx->md_cache[i].md);
		free(mx->md_cache[i].plain);
		free(mx->md_cache[i].html);
		json_decref(mx->md_cache[i].jplain);
		json_decref(mx->md_cache[i].jhtml);
		memset(&mx->md_cache[i], 0, sizeof(mx->md_cache[i]));
	}
}

json_t *mx_file_content(const char *name, const char *mime, size_t len)
{
	return json_pack("{s:s, s:s, s:s, s:{s:s, s:I}, s:{}}", "msgtype", "m.file", "body", name,
			 "filename", name, "info", "mimetype", mime, "size", (json_int_t)len,
			 "m.mentions");
}

/* ---- the queue ---- */

static void out_free(struct mx_out *o)
{
	if (!o)
		return;
	free(o->room_id);
	free(o->member);
	free(o->type);
	json_decref(o->content);
	json_decref(o->file_info);
	free(o->file);
	free(o->file_mime);
	free(o);
}

static struct mx_out *out_new(const char *type, json_t *content, const char *txn, struct mx *mx,
			      const struct hstamp *start)
{
	struct mx_out *o = calloc(1, sizeof(*o));

	if (!o || !(o->type = strdup(type))) {
		free(o);
		json_decref(content);
		return NULL;
	}
	o->content = content;
	if (start && start->wall_us) {
		struct hstamp now = hstamp_now();

		o->timed = true;
		o->own_us = now.wall_us - start->wall_us;
		o->own_cpu_us = now.cpu_us - start->cpu_us;
	}
	if (txn)
		snprintf(o->txn, sizeof(o->txn), "%s", txn);
	else
		fresh_txn(mx, o->txn);
	return o;
}

static void kick(struct mx *mx, struct mx_room *r);
static int route_private(struct mx *mx, struct mx_out *o);

static void pop_head(struct mx *mx, struct mx_room *r)
{
	struct mx_out *o = r->outq;

	r->outq = o->next;
	if (!r->outq)
		r->outq_tail = NULL;
	r->inflight = NULL;
	mx_batch_release(mx, o->batch);
	out_free(o);
}

static void on_retry(struct loop *l, void *ud);

static void on_sent(struct mx *mx, int status, json_t *body, const struct hstamp *t, void *ud)
{
	struct mx_room *r = ud;
	struct mx_out *o = r->outq;

	/* the answer has the event's id: a check-in prompt gets its scale now (react.c), not
	 * when its echo comes in /sync (our own events are filtered out of /sync). Before
	 * inflight is cleared: what it queues waits behind this entry. */
	if (o && (status == 200 || (status >= 400 && status < 500)))
		mx_react_sent(mx, r->id, o->type, o->txn, o->content, status,
			      json_string_value(json_object_get(body, "event_id")));
	r->inflight = NULL;
	if (status == 200) {
		hlog_debug(MX_MOD, "sent %s in %s", json_string_value(json_object_get(body, "event_id")), r->id);
	} else {
		hlog_warn(MX_MOD, "could not send a message in %s (HTTP %d %s); dropped it", r->id,
			  status, mx_errcode(body));
	}
	pop_head(mx, r);
	kick(mx, r);
}

static void on_uploaded(struct mx *mx, int status, json_t *body, const struct hstamp *t, void *ud)
{
	struct mx_room *r = ud;
	struct mx_out *o = r->outq;
	const char *uri = json_string_value(json_object_get(body, "content_uri"));

	r->inflight = NULL;
	if (status != 200 || !uri || strncmp(uri, "mxc://", 6) != 0) {
		hlog_warn(MX_MOD, "could not upload a file for %s (HTTP %d %s); dropped it", r->id,
			  status, mx_errcode(body));
		pop_head(mx, r);
		kick(mx, r);
		return;
	}
	if (o->file_info) {
		/* Only ciphertext went to the media store; the key travels in the encrypted event. */
		json_object_set_new(o->file_info, "url", json_string(uri));
		json_object_set_new(o->content, "file", o->file_info);
		json_object_del(o->content, "url");
		o->file_info = NULL;
	} else {
		json_object_set_new(o->content, "url", json_string(uri));
	}
	free(o->file);
	o->file = NULL;
	kick(mx, r);
}

static void on_retry(struct loop *l, void *ud)
{
	struct mx_room *r = ud;

	r->retry_timer = 0;
	r->crypto_wait = false;
	kick(r->mx, r);
}

void mx_send_crypto_progress(struct mx *mx)
{
	for (struct mx_room *r = mx->rooms; r; r = r->next) {
		if (!r->crypto_wait || !r->retry_timer)
			continue;
		loop_timer_cancel(mx->loop, r->retry_timer);
		r->retry_timer = 0;
		r->crypto_wait = false;
		kick(mx, r);
	}
}

static void kick(struct mx *mx, struct mx_room *r)
{
	struct mx_out *o = r->outq;
	const char *type;
	json_t *content = NULL;
	struct hstamp kicked = hstamp_now();
	bool encrypted;

	if (!o || r->inflight || r->retry_timer || !mx)
		return;
	if (o->priv) {
		/* Checked at the moment it goes out, not when it was queued: someone may have joined
		 * (or been invited) since. The member list first, when it is being read. */
		if (r->members_req || (!r->members_known && !r->members_failed)) {
			if (mx_room_members_fetch(mx, r) == HE_OK)
				return; /* kicked again when the list is in */
		}
		if (!mx_room_private_for(mx, r, o->member)) {
			hlog_info(MX_MOD, "room %s is not a private chat with %s (any more): a private "
				  "message for them goes to a private chat instead", r->id, o->member);
			r->outq = o->next;
			if (!r->outq)
				r->outq_tail = NULL;
			o->next = NULL;
			free(o->room_id);
			o->room_id = NULL;
			/* a reply to a message in this room: the relation would point into it */
			json_object_del(o->content, "m.relates_to");
			if (route_private(mx, o) != HE_OK) {
				hlog_warn(MX_MOD, "could not open a private chat with %s; a private "
					  "message was dropped", o->member);
				mx_batch_release(mx, o->batch);
				out_free(o);
			}
			kick(mx, r);
			return;
		}
	}
	encrypted = mx_room_encrypted(mx, r->id);
	if (encrypted && !mx->crypto) {
		hlog_warn(MX_MOD, "room %s is encrypted and this build has no end-to-end encryption: "
			  "not sending a plaintext message there", r->id);
		pop_head(mx, r);
		kick(mx, r);
		return;
	}
	if (o->file && encrypted && !o->file_info) {
		unsigned char *cipher = NULL;
		int erc = mx->crypto->encrypt_attachment ?
			mx->crypto->encrypt_attachment(mx->crypto_state, o->file, o->file_len, &cipher,
						       &o->file_info) : HE_CRYPTO;
		if (erc != HE_OK) {
			hlog_warn(MX_MOD, "could not encrypt a file for %s (%s); not uploading it", r->id,
				  he_str(erc));
			pop_head(mx, r);
			kick(mx, r);
			goto out;
		}
		sodium_memzero(o->file, o->file_len);
		free(o->file);
		o->file = (char *)cipher;
		free(o->file_mime);
		o->file_mime = strdup("application/octet-stream");
		if (!o->file_mime)
			goto oom;
	}
	if (o->file) {
		const char *fname = json_string_value(json_object_get(o->content, "filename"));
		r->inflight = mx_http_requestf(mx, "POST", o->file, o->file_len, o->file_mime,
					       MX_HTTP_RETRY, on_uploaded, r,
					       "/_matrix/media/v3/upload?filename=%s", fname ? fname : "file");
		if (!r->inflight)
			goto oom;
		goto out;
	}
	content = json_incref(o->content);
	type = o->type;
	if (encrypted) {
		json_t *enc = NULL;
		int rc = mx->crypto->encrypt ? mx->crypto->encrypt(mx->crypto_state, r->id, o->type,
								   o->content, &enc) : HE_CRYPTO;
		json_decref(content);
		content = NULL;
		if (rc == HE_AGAIN) {
			/* sessions are being set up: mx_send_crypto_progress() or the timer retries */
			if (o->timed) {
				struct hstamp now = hstamp_now();

				o->own_us += now.wall_us - kicked.wall_us;
				o->own_cpu_us += now.cpu_us - kicked.cpu_us;
			}
			o->setup = true;
			r->crypto_wait = true;
			if (loop_timer_add(mx->loop, 1000, on_retry, r, &r->retry_timer))
				happ_fail(mx->app, MX_MOD, "cannot arm a send retry", HE_NOMEM);
			goto out;
		}
		if (rc != HE_OK || !enc) {
			hlog_warn(MX_MOD, "could not encrypt a message for %s (%s); dropped it", r->id, he_str(rc));
			json_decref(enc);
			pop_head(mx, r);
			kick(mx, r);
			goto out;
		}
		content = enc;
		type = "m.room.encrypted";
	}
	if (!content)
		goto oom;
	r->inflight = mx_http_jsonf(mx, "PUT", content, MX_HTTP_RETRY, on_sent, r,
				    "/_matrix/client/v3/rooms/%s/send/%s/%s", r->id, type, o->txn);
	if (!r->inflight)
		goto oom;
	if (o->timed) {
		struct hstamp now = hstamp_now();

		mx_record_reply(mx, o->own_us + (now.wall_us - kicked.wall_us),
				o->own_cpu_us + (now.cpu_us - kicked.cpu_us), encrypted, o->setup);
		o->timed = false;
	}
	goto out;
oom:
	hlog_error(MX_MOD, "out of memory sending in %s; trying again in a second", r->id);
	if (loop_timer_add(mx->loop, 1000, on_retry, r, &r->retry_timer))
		happ_fail(mx->app, MX_MOD, "cannot arm a send retry", HE_NOMEM);
out:
	json_decref(content);
}

static void enqueue(struct mx *mx, struct mx_room *r, struct mx_out *o)
{
	o->next = NULL;
	if (r->outq_tail)
		r->outq_tail->next = o;
	else
		r->outq = o;
	r->outq_tail = o;
	kick(mx, r);
}

void mx_send_kick(struct mx *mx, struct mx_room *r)
{
	kick(mx, r);
}

static int queue_in_room(struct mx *mx, struct mx_room *r, struct mx_out *o, struct mx_batch *b)
{
	if (!mx->crypto && mx_room_encrypted(mx, r->id)) {
		hlog_warn(MX_MOD, "room %s is encrypted and this build has no end-to-end encryption: "
			  "not replying there", r->id);
		out_free(o);
		return HE_PERM;
	}
	if (!(o->room_id = strdup(r->id))) {
		out_free(o);
		return HE_NOMEM;
	}
	o->batch = b;
	mx_batch_hold(b);
	enqueue(mx, r, o);
	return HE_OK;
}

int mx_send_event(struct mx *mx, const char *room_id, const char *type, json_t *content,
		  const char *txn, struct mx_batch *b, const struct hstamp *start)
{
	struct mx_room *r = mx_room_get(mx, room_id);
	struct mx_out *o;

	if (!content)
		return HE_NOMEM;
	if (!r || r->membership != MX_M_JOINED) {
		hlog_warn(MX_MOD, "not in room %s: message not sent", room_id);
		json_decref(content);
		return HE_NOTFOUND;
	}
	o = out_new(type, content, txn, mx, start);
	if (!o)
		return HE_NOMEM;
	return queue_in_room(mx, r, o, b);
}

/* ---- private chats ---- */

struct create_op {
	struct mx *mx;
	char *member;
	bool encrypted;            /* created with m.room.encryption in its initial state */
};

static void on_created(struct mx *mx, int status, json_t *body, const struct hstamp *t, void *ud)
{
	struct create_op *op = ud;
	const char *room_id = json_string_value(json_object_get(body, "room_id"));
	struct mx_out **pp, *o, *mine = NULL, **tail = &mine;
	struct mx_room *r = NULL;

	if (status == 200 && room_id) {
		hlog_info(MX_MOD, "opened a private chat %s with %s", room_id, op->member);
		r = mx_room_add(mx, room_id);
		if (r) {
			r->membership = MX_M_JOINED;
			/* What createRoom made: it answers once the invite is done, so the member is in
			 * even when /sync (or a fetch) saw the room before the invite. */
			mx_room_member_created(mx, r, op->member);
			mx_direct_add(mx, op->member, room_id);
			if (op->encrypted) {
				/* before the first message: it must go out encrypted */
				r->encrypted = true;
				if (mx->crypto && mx->crypto->private_chat_created)
					mx->crypto->private_chat_created(mx->crypto_state, room_id,
									 op->member);
			}
		}
	} else {
		hlog_warn(MX_MOD, "could not open a private chat with %s (HTTP %d %s)", op->member,
			  status, mx_errcode(body));
	}
	/* take this member's waiting entries, in order */
	for (pp = &mx->dm_wait; (o = *pp);) {
		if (strcmp(o->member, op->member) == 0) {
			*pp = o->next;
			o->next = NULL;
			*tail = o;
			tail = &o->next;
		} else {
			pp = &o->next;
		}
	}
	while ((o = mine)) {
		mine = o->next;
		if (r && (o->room_id = strdup(r->id))) {
			enqueue(mx, r, o);
		} else {
			mx_batch_release(mx, o->batch);
			out_free(o);
		}
	}
	free(op->member);
	free(op);
}

static int open_private(struct mx *mx, const char *member)
{
	struct create_op *op = calloc(1, sizeof(*op));
	json_t *req = NULL, *state;
	int rc = HE_NOMEM;

	if (!op || !(op->member = strdup(member)))
		goto out;
	op->mx = mx;
	req = json_pack("{s:s, s:b, s:[s], s:[]}", "preset", "trusted_private_chat", "is_direct", 1,
			"invite", member, "initial_state");
	if (!req)
		goto out;
	state = json_object_get(req, "initial_state");
	/* Encrypted private chats come with end-to-end encryption: the crypto module adds
	 * m.room.encryption here. Without it the chat is opened unencrypted. */
	if (mx->crypto && mx->crypto->private_chat_initial_state) {
		mx->crypto->private_chat_initial_state(mx->crypto_state, state);
		op->encrypted = json_array_size(state) > 0;
	}
	if (!mx_http_json(mx, "POST", "/_matrix/client/v3/createRoom", req, MX_HTTP_RETRY, on_created, op))
		goto out;
	op = NULL;
	rc = HE_OK;
out:
	json_decref(req);
	if (op)
		free(op->member);
	free(op);
	return rc;
}

/* o (its batch held, member set) goes to member's private chat, or waits for one to be opened. */
static int route_private(struct mx *mx, struct mx_out *o)
{
	struct mx_room *r = mx_room_find_private(mx, o->member);
	struct mx_out **pp;
	bool creating = false;
	int rc;

	if (!r)
		r = mx_room_direct_candidate(mx, o->member); /* checked when its list is in */
	if (r) {
		if (!(o->room_id = strdup(r->id)))
			return HE_NOMEM;
		enqueue(mx, r, o);
		return HE_OK;
	}
	for (struct mx_out *w = mx->dm_wait; w; w = w->next)
		if (strcmp(w->member, o->member) == 0)
			creating = true;
	if (!creating && (rc = open_private(mx, o->member)) != HE_OK)
		return rc;
	o->next = NULL;
	for (pp = &mx->dm_wait; *pp; pp = &(*pp)->next)
		;
	*pp = o;
	return HE_OK;
}

int mx_send_private(struct mx *mx, const char *member, const char *room_hint, const char *type,
		    json_t *content, const char *txn, struct mx_batch *b, const void *file,
		    size_t file_len, const char *file_mime, const struct hstamp *start)
{
	struct mx_room *r;
	struct mx_out *o;
	int rc;

	if (!content)
		return HE_NOMEM;
	o = out_new(type, content, txn, mx, start);
	if (!o)
		return HE_NOMEM;
	if (file) {
		if (file_len > MX_UPLOAD_CAP) {
			hlog_warn(MX_MOD, "a file of %zu bytes is over the upload cap", file_len);
			out_free(o);
			return HE_TOOBIG;
		}
		o->file = malloc(file_len ? file_len : 1);
		o->file_mime = strdup(file_mime ? file_mime : "application/octet-stream");
		if (!o->file || !o->file_mime) {
			out_free(o);
			return HE_NOMEM;
		}
		memcpy(o->file, file, file_len);
		o->file_len = file_len;
	}
	o->priv = true;
	if (!(o->member = strdup(member))) {
		out_free(o);
		return HE_NOMEM;
	}
	r = room_hint ? mx_room_get(mx, room_hint) : NULL;
	if (r && mx_room_maybe_private_for(mx, r, member))
		return queue_in_room(mx, r, o, b);
	/* elsewhere: a reply relation would point into another room */
	json_object_del(o->content, "m.relates_to");
	o->batch = b;
	mx_batch_hold(b);
	if ((rc = route_private(mx, o)) != HE_OK) {
		mx_batch_release(mx, b);
		out_free(o);
	}
	return rc;
}

void mx_send_room_gone(struct mx *mx, struct mx_room *r)
{
	if (r->inflight)
		mx_http_cancel(mx, r->inflight);
	r->inflight = NULL;
	if (r->retry_timer)
		loop_timer_cancel(mx->loop, r->retry_timer);
	r->retry_timer = 0;
	while (r->outq)
		pop_head(mx, r);
}

void mx_send_free(struct mx *mx)
{
	while (mx->dm_wait) {
		struct mx_out *o = mx->dm_wait;
		mx->dm_wait = o->next;
		out_free(o);
	}
}

size_t mx_send_pending(const struct mx *mx)
{
	size_t n = 0;

	for (const struct mx_room *r = mx->rooms; r; r = r->next)
		for (const struct mx_out *o = r->outq; o; o = o->next)
			n++;
	for (const struct mx_out *o = mx->dm_wait; o; o = o->next)
		n++;
	return n;
}

const char *mx_send_queued_txn(const struct mx_room *r, size_t i)
{
	for (const struct mx_out *o = r->outq; o; o = o->next)
		if (i-- == 0)
			return o->txn;
	return NULL;
}

/* ---- the transport's ops ---- */

/* Sends md as one or more notices (split.c), in order, each its own transaction: to member's
 * private chat when member is set, else to room. */
static int send_notices(struct mx *mx, const char *room, const char *member,
			const char *room_hint, const char *md, struct hmsg_ref *ctx)
{
	json_t **parts = NULL;
	size_t n = 0;
	char txn[48];
	int rc = mx_notices(mx, md, ctx ? ctx->event_id : NULL, ctx ? ctx->thread_root : NULL,
			    member != NULL, &parts, &n);

	for (size_t i = 0; rc == HE_OK && i < n; i++) {
		if (ctx)
			mx_txn_for_event(ctx->event_id, ctx->nsent++, txn);
		if (member)
			rc = mx_send_private(mx, member, room_hint, "m.room.message", parts[i],
					     ctx ? txn : NULL, ctx ? ctx->batch : NULL, NULL, 0, NULL,
					     ctx ? &ctx->start : NULL);
		else
			rc = mx_send_event(mx, room, "m.room.message", parts[i], ctx ? txn : NULL,
					   ctx ? ctx->batch : NULL, ctx ? &ctx->start : NULL);
		parts[i] = NULL; /* stolen */
	}
	mx_notices_free(parts, n);
	return rc;
}

int mx_op_reply(struct htransport *t, const struct hmsg *in, enum hdest dest, const char *md)
{
	struct mx *mx = (struct mx *)t->impl;

	if (!in->ref || !in->ref->event_id)
		return HE_INVAL;
	if (dest == HDEST_PRIVATE || in->is_private)
		/* A reply for the member's eyes (or to a message said privately): into this room
		 * while it is still private with them, else into a private chat. */
		return send_notices(mx, NULL, in->sender, in->is_private ? in->room : NULL, md, in->ref);
	return send_notices(mx, in->room, NULL, NULL, md, in->ref);
}

/* An unprompted post (a moderators' alert, a welcome, a check-in): after a restart its room may
 * be quiet, unknown to this process until a sync mentions it; it is one we were in (the room
 * ids come from the config and from rooms Hearth answered in). A room this process saw Hearth
 * leave stays refused; had we left before the restart, the homeserver refuses the PUT. */
int mx_op_post(struct htransport *t, const char *room, const char *md)
{
	struct mx *mx = t->impl;

	if (!room || room[0] != '!' || strnlen(room, MX_ROOM_ID_MAX + 1) > MX_ROOM_ID_MAX || !strchr(room, ':')) {
		hlog_warn(MX_MOD, "%s is not a room id (!id:server; an alias is not taken): message not sent",
			  room ? room : "(none)");
		return HE_INVAL;
	}
	if (!mx_room_of_waiting(mx, room)) {
		hlog_warn(MX_MOD, "not in room %s: message not sent", room);
		return HE_NOTFOUND;
	}
	return send_notices(mx, room, NULL, NULL, md, NULL);
}

int mx_op_post_private(struct htransport *t, const char *member, const char *md)
{
	return send_notices((struct mx *)t->impl, NULL, member, NULL, md, NULL);
}

int mx_send_attachment(struct mx *mx, const struct hmsg *in, json_t *content, const struct hfile *f)
{
	struct hmsg_ref *ctx = in->ref;
	char txn[48];

	if (!content)
		return HE_NOMEM;
	if (!ctx || !ctx->event_id) {
		json_decref(content);
		return HE_INVAL;
	}
	mx_txn_for_event(ctx->event_id, ctx->nsent++, txn);
	return mx_send_private(mx, in->sender, in->is_private ? in->room : NULL, "m.room.message", content,
			       txn, ctx->batch, f->data, f->len, f->mime, &ctx->start);
}

int mx_op_send_file(struct htransport *t, const struct hmsg *in, const struct hfile *f)
{
	return mx_send_attachment((struct mx *)t->impl, in, mx_file_content(f->name, f->mime, f->len), f);
}
