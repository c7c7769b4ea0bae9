/* rooms.c - the rooms Hearth is in: membership, private chats, power levels, invites.
 *
 * Kept current from /sync (state and timeline). A private chat is a room listed in our m.direct
 * account data, joined from an invite marked is_direct, or a room of exactly two members. */
#include "net/matrix/mx.h"
#include "core/err.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mx_room *mx_room_get(struct mx *mx, const char *id)
{
	for (struct mx_room *r = mx->rooms; r; r = r->next)
		if (strcmp(r->id, id) == 0)
			return r;
	return NULL;
}

struct mx_room *mx_room_add(struct mx *mx, const char *id)
{
	struct mx_room *r = mx_room_get(mx, id);

	if (r)
		return r;
	r = calloc(1, sizeof(*r));
	if (!r || !(r->id = strdup(id)) || !(r->names = json_object())) {
		if (r)
			free(r->id);
		free(r);
		hlog_error(MX_MOD, "out of memory adding room %s", id);
		return NULL;
	}
	r->mx = mx;
	r->joined = r->invited = -1;
	r->next = mx->rooms;
	mx->rooms = r;
	return r;
}

static void room_free(struct mx *mx, struct mx_room *r)
{
	mx_send_room_gone(mx, r);
	free(r->id);
	free(r->creator);
	free(r->hero);
	json_decref(r->power_levels);
	json_decref(r->names);
	free(r);
}

void mx_room_remove(struct mx *mx, const char *id)
{
	for (struct mx_room **pp = &mx->rooms; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->id, id) == 0) {
			struct mx_room *r = *pp;
			*pp = r->next;
			room_free(mx, r);
			return;
		}
	}
}

void mx_rooms_free(struct mx *mx)
{
	while (mx->rooms) {
		struct mx_room *r = mx->rooms;
		mx->rooms = r->next;
		room_free(mx, r);
	}
	json_decref(mx->direct);
	mx->direct = NULL;
}

static void set_str(char **dst, const char *v)
{
	char *c = v ? strdup(v) : NULL;

	if (v && !c)
		return;
	free(*dst);
	*dst = c;
}

void mx_room_apply_summary(struct mx_room *r, json_t *summary)
{
	json_t *v;

	if (!json_is_object(summary))
		return;
	v = json_object_get(summary, "m.joined_member_count");
	if (json_is_integer(v))
		r->joined = (long)json_integer_value(v);
	v = json_object_get(summary, "m.invited_member_count");
	if (json_is_integer(v))
		r->invited = (long)json_integer_value(v);
	v = json_object_get(summary, "m.heroes");
	if (json_is_array(v))
		set_str(&r->hero, json_string_value(json_array_get(v, 0)));
}

void mx_room_apply_state(struct mx *mx, struct mx_room *r, const struct mx_event *ev)
{
	const char *t = ev->type;

	if (strcmp(t, "m.room.power_levels") == 0 && ev->state_key[0] == '\0') {
		json_decref(r->power_levels);
		r->power_levels = json_incref(ev->content);
	} else if (strcmp(t, "m.room.create") == 0) {
		const char *c = json_string_value(json_object_get(ev->content, "creator"));
		set_str(&r->creator, c ? c : ev->sender);
	} else if (strcmp(t, "m.room.encryption") == 0) {
		if (json_string_value(json_object_get(ev->content, "algorithm")) && !r->encrypted) {
			r->encrypted = true;
			hlog_info(MX_MOD, "room %s is encrypted", r->id);
		}
	} else if (strcmp(t, "m.room.member") == 0 && ev->membership) {
		if (strcmp(ev->membership, "join") == 0 && ev->displayname)
			json_object_set_new(r->names, ev->state_key, json_string(ev->displayname));
		else if (strcmp(ev->membership, "join") != 0)
			json_object_del(r->names, ev->state_key);
	} else if (strcmp(t, "m.room.tombstone") == 0) {
		const char *to = json_string_value(json_object_get(ev->content, "replacement_room"));
		if (to && to[0] == '!' && !mx_room_get(mx, to)) {
			hlog_info(MX_MOD, "room %s was upgraded to %s: joining it", r->id, to);
			mx_room_join(mx, to, NULL);
		}
	}
}

bool mx_room_encrypted(struct mx *mx, const char *room_id)
{
	struct mx_room *r = mx_room_get(mx, room_id);

	if (r && r->encrypted)
		return true;
	if (mx->crypto && mx->crypto->is_encrypted && mx->crypto_state &&
	    mx->crypto->is_encrypted(mx->crypto_state, room_id)) {
		if (r)
			r->encrypted = true;
		return true;
	}
	return false;
}

long mx_power_level(json_t *pl, const char *creator, const char *user)
{
	json_t *v;

	if (!json_is_object(pl))
		return creator && strcmp(creator, user) == 0 ? 100 : 0;
	v = json_object_get(json_object_get(pl, "users"), user);
	if (!v)
		v = json_object_get(pl, "users_default");
	if (json_is_integer(v))
		return (long)json_integer_value(v);
	if (json_is_string(v))
		return strtol(json_string_value(v), NULL, 10); /* some old rooms */
	return 0;
}

static bool direct_lists(struct mx *mx, const char *room_id, const char **member)
{
	const char *user;
	json_t *rooms, *v;
	size_t i;

	if (!json_is_object(mx->direct))
		return false;
	json_object_foreach(mx->direct, user, rooms) {
		if (!json_is_array(rooms))
			continue;
		json_array_foreach(rooms, i, v) {
			const char *s = json_string_value(v);
			if (s && strcmp(s, room_id) == 0) {
				if (member)
					*member = user;
				return true;
			}
		}
	}
	return false;
}

bool mx_room_is_private(struct mx *mx, const struct mx_room *r)
{
	if (r->direct || direct_lists(mx, r->id, NULL))
		return true;
	return r->joined >= 0 && r->invited >= 0 && r->joined + r->invited == 2;
}

struct mx_room *mx_room_find_private(struct mx *mx, const char *member)
{
	json_t *rooms = json_object_get(mx->direct, member), *v;
	struct mx_room *r;
	size_t i;

	json_array_foreach(rooms, i, v) {
		const char *id = json_string_value(v);
		if (id && (r = mx_room_get(mx, id)) && r->membership == MX_M_JOINED &&
		    (r->joined < 0 || r->joined + (r->invited > 0 ? r->invited : 0) >= 2))
			return r;
	}
	for (r = mx->rooms; r; r = r->next) {
		if (r->membership != MX_M_JOINED || !r->hero || strcmp(r->hero, member) != 0)
			continue;
		if (r->joined + r->invited == 2)
			return r;
	}
	return NULL;
}

static void on_direct_put(struct mx *mx, int status, json_t *body, uint64_t t, void *ud)
{
	(void)t;
	(void)ud;
	if (status != 200)
		hlog_warn(MX_MOD, "could not save the list of private chats (HTTP %d %s)", status,
			  mx_errcode(body));
}

void mx_direct_add(struct mx *mx, const char *member, const char *room_id)
{
	char path[512], *uid;
	json_t *list;

	if (direct_lists(mx, room_id, NULL))
		return;
	if (!mx->direct && !(mx->direct = json_object()))
		return;
	list = json_object_get(mx->direct, member);
	if (!json_is_array(list)) {
		list = json_array();
		if (!list || json_object_set_new(mx->direct, member, list))
			return;
	}
	json_array_append_new(list, json_string(room_id));
	uid = mx_http_escape(mx->user_id);
	if (!uid)
		return;
	snprintf(path, sizeof(path), "/_matrix/client/v3/user/%s/account_data/m.direct", uid);
	free(uid);
	if (!mx_http_json(mx, "PUT", path, mx->direct, MX_HTTP_RETRY, on_direct_put, NULL))
		hlog_warn(MX_MOD, "could not save the list of private chats (out of memory)");
}

void mx_direct_set(struct mx *mx, json_t *content)
{
	json_t *copy = json_deep_copy(content);

	if (!copy)
		return;
	json_decref(mx->direct);
	mx->direct = copy;
}

bool mx_inviter_allowed(char *const *patterns, size_t n, const char *user)
{
	const char *server = strchr(user, ':');

	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++) {
		const char *p = patterns[i];
		if (!p)
			continue;
		if (strcmp(p, "*") == 0 || strcmp(p, user) == 0)
			return true;
		if (p[0] == '*' && p[1] == ':' && server && strcmp(p + 1, server) == 0)
			return true;
	}
	return false;
}

/* ---- joining, with the invite/join race retried ---- */

struct join_op {
	struct mx *mx;
	char *room_id;
	char *inviter;             /* set for a direct invite: recorded in m.direct on join */
	unsigned attempt;
	struct mx_batch *batch;
	uint64_t timer;
};

#define JOIN_ATTEMPTS 8

static void join_send(struct join_op *op);

static void join_done(struct join_op *op)
{
	struct mx_room *r = mx_room_get(op->mx, op->room_id);

	if (r)
		r->joining = false;
	mx_batch_release(op->mx, op->batch);
	free(op->room_id);
	free(op->inviter);
	free(op);
}

static void on_join_timer(struct loop *l, void *ud)
{
	struct join_op *op = ud;

	(void)l;
	op->timer = 0;
	join_send(op);
}

static void on_join(struct mx *mx, int status, json_t *body, uint64_t t, void *ud)
{
	struct join_op *op = ud;
	struct mx_room *r;

	(void)t;
	if (status == 200) {
		hlog_info(MX_MOD, "joined %s", op->room_id);
		r = mx_room_add(mx, op->room_id);
		if (r) {
			r->membership = MX_M_JOINED;
			if (op->inviter) {
				r->direct = true;
				set_str(&r->hero, op->inviter);
				mx_direct_add(mx, op->inviter, op->room_id);
			}
		}
		join_done(op);
		return;
	}
	/* 403 right after an invite: the invite has not reached every worker yet */
	if ((status == 403 || status == 404) && op->attempt + 1 < JOIN_ATTEMPTS && !mx->stopping) {
		uint64_t wait = mx_backoff_ms(op->attempt, 0x7fffffffu) / 2;
		if (wait > 30000)
			wait = 30000;
		hlog_info(MX_MOD, "join %s refused (HTTP %d %s), trying again in %llu ms", op->room_id,
			  status, mx_errcode(body), (unsigned long long)wait);
		op->attempt++;
		op->timer = loop_timer_add(mx->loop, wait, on_join_timer, op);
		if (op->timer)
			return;
	}
	hlog_warn(MX_MOD, "could not join %s (HTTP %d %s); giving up", op->room_id, status,
		  mx_errcode(body));
	join_done(op);
}

static void join_send(struct join_op *op)
{
	char path[512], *id = mx_http_escape(op->room_id);

	if (id) {
		snprintf(path, sizeof(path), "/_matrix/client/v3/join/%s", id);
		free(id);
		if (mx_http_request(op->mx, "POST", path, "{}", 2, NULL, MX_HTTP_RETRY, on_join, op))
			return;
	}
	hlog_error(MX_MOD, "out of memory joining %s", op->room_id);
	join_done(op);
}

static void join_start(struct mx *mx, const char *room_id, const char *inviter, struct mx_batch *b)
{
	struct mx_room *r = mx_room_add(mx, room_id);
	struct join_op *op;

	if (!r || r->joining || r->membership == MX_M_JOINED)
		return;
	op = calloc(1, sizeof(*op));
	if (!op || !(op->room_id = strdup(room_id)) || (inviter && !(op->inviter = strdup(inviter)))) {
		if (op)
			free(op->room_id);
		free(op);
		return;
	}
	r->joining = true;
	r->membership = MX_M_INVITED;
	op->mx = mx;
	op->batch = b;
	mx_batch_hold(b);
	join_send(op);
}

void mx_room_join(struct mx *mx, const char *room_id, struct mx_batch *b)
{
	join_start(mx, room_id, NULL, b);
}

static void on_quiet(struct mx *mx, int status, json_t *body, uint64_t t, void *ud)
{
	(void)mx;
	(void)t;
	if (status != 200)
		hlog_debug(MX_MOD, "%s: HTTP %d %s", (const char *)ud, status, mx_errcode(body));
}

void mx_room_invited(struct mx *mx, const char *room_id, const char *inviter, bool is_direct,
		     struct mx_batch *b)
{
	const struct config *c = mx->app->cfg;
	char path[512], *id;

	if (!mx_inviter_allowed(c->matrix_allowed_inviters, c->nmatrix_allowed_inviters, inviter)) {
		hlog_info(MX_MOD, "declining the invite to %s from %s: not in [matrix] allowed_inviters",
			  room_id, inviter);
		id = mx_http_escape(room_id);
		if (!id)
			return;
		snprintf(path, sizeof(path), "/_matrix/client/v3/rooms/%s/leave", id);
		free(id);
		mx_http_request(mx, "POST", path, "{}", 2, NULL, MX_HTTP_RETRY, on_quiet, "decline");
		return;
	}
	hlog_info(MX_MOD, "invited to %s by %s%s: joining", room_id, inviter,
		  is_direct ? " (private chat)" : "");
	join_start(mx, room_id, is_direct ? inviter : NULL, b);
}

void mx_room_left(struct mx *mx, const char *room_id, const char *why)
{
	char path[512], *id;

	hlog_info(MX_MOD, "no longer in %s (%s): forgetting it", room_id, why);
	mx_room_remove(mx, room_id);
	id = mx_http_escape(room_id);
	if (!id)
		return;
	snprintf(path, sizeof(path), "/_matrix/client/v3/rooms/%s/forget", id);
	free(id);
	mx_http_request(mx, "POST", path, "{}", 2, NULL, MX_HTTP_RETRY, on_quiet, "forget");
}
