/* rooms.c - the rooms Hearth is in: membership, private chats, power levels, invites.
 *
 * Kept current from /sync (state and timeline). A room is private only when its current joined
 * and invited members are exactly Hearth and the member: the whole member list is fetched once
 * per room (the sync filter lazy-loads members) and after a gap, then kept current from the
 * m.room.member events of every sync. Whoever invites Hearth sets is_direct and m.direct: they
 * decide nothing. */
#include "net/matrix/mx.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the index: room id -> room (chained buckets, doubled past one room per bucket) ---- */

static size_t room_hash(const char *id)
{
	uint64_t h = 1469598103934665603u; /* FNV-1a */

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211u;
	return (size_t)h;
}

static void index_unlink(struct mx *mx, struct mx_room *r)
{
	struct mx_room **pp;

	if (!mx->room_tab)
		return;
	for (pp = &mx->room_tab[room_hash(r->id) & (mx->room_tab_cap - 1)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == r) {
			*pp = r->hnext;
			mx->nrooms--;
			return;
		}
	}
}

/* Builds or doubles the index from the list; without memory the list is searched instead. */
static void index_grow(struct mx *mx)
{
	size_t cap = mx->room_tab_cap ? mx->room_tab_cap * 2 : 64;
	struct mx_room **tab = calloc(cap, sizeof(*tab));

	if (!tab)
		return;
	free(mx->room_tab);
	mx->room_tab = tab;
	mx->room_tab_cap = cap;
	mx->nrooms = 0;
	for (struct mx_room *r = mx->rooms; r; r = r->next) {
		size_t i = room_hash(r->id) & (cap - 1);
		r->hnext = tab[i];
		tab[i] = r;
		mx->nrooms++;
	}
}

struct mx_room *mx_room_get(struct mx *mx, const char *id)
{
	struct mx_room *r;

	if (!mx->room_tab) {
		for (r = mx->rooms; r; r = r->next)
			if (strcmp(r->id, id) == 0)
				return r;
		return NULL;
	}
	for (r = mx->room_tab[room_hash(id) & (mx->room_tab_cap - 1)]; r; r = r->hnext)
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
	if (!r || !(r->id = strdup(id)) || !(r->names = json_object()) ||
	    !(r->members = json_object()) || !(r->members_touched = json_object())) {
		if (r) {
			free(r->id);
			json_decref(r->names);
			json_decref(r->members);
		}
		free(r);
		hlog_error(MX_MOD, "out of memory adding room %s", id);
		return NULL;
	}
	r->mx = mx;
	r->joined = r->invited = -1;
	json_object_del(mx->left, id); /* known again (joined, invited, or a waiting event's room) */
	r->next = mx->rooms;
	mx->rooms = r;
	if (!mx->room_tab || mx->nrooms >= mx->room_tab_cap) {
		index_grow(mx); /* indexes r too */
	} else {
		size_t i = room_hash(id) & (mx->room_tab_cap - 1);
		r->hnext = mx->room_tab[i];
		mx->room_tab[i] = r;
		mx->nrooms++;
	}
	return r;
}

static void room_free(struct mx *mx, struct mx_room *r)
{
	mx_send_room_gone(mx, r);
	mx_sync_pend_free(mx, r);
	mx_room_fetch_unqueue(mx, r);
	if (r->members_req) {
		mx_http_cancel(mx, r->members_req);
		mx->fetch_inflight--;
	}
	free(r->id);
	free(r->creator);
	json_decref(r->power_levels);
	json_decref(r->names);
	json_decref(r->members);
	json_decref(r->members_touched);
	free(r);
}

void mx_room_remove(struct mx *mx, const char *id)
{
	for (struct mx_room **pp = &mx->rooms; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->id, id) == 0) {
			struct mx_room *r = *pp;
			*pp = r->next;
			index_unlink(mx, r);
			room_free(mx, r);
			mx_rooms_fetch_next(mx); /* its slot, if it had one */
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
	free(mx->room_tab);
	mx->room_tab = NULL;
	mx->room_tab_cap = mx->nrooms = 0;
	mx->fetch_head = mx->fetch_tail = NULL;
	mx->fetch_inflight = 0;
	json_decref(mx->direct);
	mx->direct = NULL;
	json_decref(mx->left);
	mx->left = NULL;
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
}

/* Of a room's power levels, what mx_power_level reads (users, users_default): the rest of the
 * content (event levels, notifications, ...) is not kept, a few hundred bytes a room less. */
json_t *mx_pl_keep(json_t *content)
{
	json_t *k = json_object(), *v;

	if (!k)
		return NULL;
	if ((v = json_object_get(content, "users")))
		json_object_set(k, "users", v);
	if ((v = json_object_get(content, "users_default")))
		json_object_set(k, "users_default", v);
	return k;
}

static void member_set(struct mx_room *r, const char *user, const char *membership)
{
	bool counts = strcmp(membership, "join") == 0 || strcmp(membership, "invite") == 0;
	json_t *was = json_object_get(r->members, user);

	if (counts && (!was || strcmp(json_string_value(was), membership) != 0))
		json_object_set_new(r->members, user, json_string(membership));
	else if (!counts && was)
		json_object_del(r->members, user);
	if (r->members_req)
		json_object_set_new(r->members_touched, user, json_true());
}

void mx_room_apply_state(struct mx *mx, struct mx_room *r, const struct mx_event *ev)
{
	const char *t = ev->type;

	if (strcmp(t, "m.room.power_levels") == 0 && ev->state_key[0] == '\0') {
		json_decref(r->power_levels);
		r->power_levels = mx_pl_keep(ev->content);
	} else if (strcmp(t, "m.room.create") == 0) {
		const char *c = json_string_value(json_object_get(ev->content, "creator"));
		set_str(&r->creator, c ? c : ev->sender);
	} else if (strcmp(t, "m.room.encryption") == 0) {
		if (json_string_value(json_object_get(ev->content, "algorithm")) && !r->encrypted) {
			r->encrypted = true;
			hlog_info(MX_MOD, "room %s is encrypted", r->id);
		}
	} else if (strcmp(t, "m.room.member") == 0 && ev->membership) {
		member_set(r, ev->state_key, ev->membership);
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

bool mx_members_private(json_t *members, const char *self, const char *member, bool invited_ok)
{
	const char *user, *how;
	json_t *v;
	bool self_in = false, member_in = false;

	if (!json_is_object(members) || !self || !member || strcmp(self, member) == 0)
		return false;
	json_object_foreach(members, user, v) {
		how = json_string_value(v);
		if (!how)
			return false;
		if (strcmp(how, "join") != 0 && strcmp(how, "invite") != 0)
			continue; /* not kept, but never counted */
		if (strcmp(user, self) == 0 && strcmp(how, "join") == 0)
			self_in = true;
		else if (strcmp(user, member) == 0 && (strcmp(how, "join") == 0 || invited_ok))
			member_in = true;
		else
			return false; /* a third person (or we are only invited) */
	}
	return self_in && member_in;
}

static bool room_private(struct mx *mx, const struct mx_room *r, const char *member, bool invited_ok)
{
	if (!r || r->membership != MX_M_JOINED || !r->members_known || r->members_req)
		return false;
	/* the homeserver's own count, when it gave one, must not say more either */
	if (r->joined > 2 || r->invited > 1 ||
	    (r->joined >= 0 && r->invited >= 0 && r->joined + r->invited > 2))
		return false;
	return mx_members_private(r->members, mx->user_id, member, invited_ok);
}

bool mx_room_is_private(struct mx *mx, const struct mx_room *r, const char *sender)
{
	return room_private(mx, r, sender, false);
}

bool mx_room_private_for(struct mx *mx, const struct mx_room *r, const char *member)
{
	return room_private(mx, r, member, true);
}

bool mx_room_maybe_private_for(struct mx *mx, const struct mx_room *r, const char *member)
{
	return r && r->membership == MX_M_JOINED && r->members_known &&
	       mx_members_private(r->members, mx->user_id, member, true);
}

struct mx_room *mx_room_find_private(struct mx *mx, const char *member)
{
	struct mx_room *invited = NULL;

	/* a fetch in flight may still say otherwise: the send checks again (strictly) */
	for (struct mx_room *r = mx->rooms; r; r = r->next) {
		if (!mx_room_maybe_private_for(mx, r, member))
			continue;
		if (json_object_get(r->members, member) &&
		    strcmp(json_string_value(json_object_get(r->members, member)), "join") == 0)
			return r;
		if (!invited)
			invited = r;
	}
	return invited;
}

void mx_room_member_created(struct mx *mx, struct mx_room *r, const char *member)
{
	if (!json_object_get(r->members, mx->user_id))
		member_set(r, mx->user_id, "join");
	if (!json_object_get(r->members, member))
		member_set(r, member, "invite");
	if (!r->members_known && !r->members_req) {
		r->members_known = true;
		r->members_failed = false;
	}
}

/* A room our own m.direct lists for member (only Hearth writes its account data) that this
 * process has not read yet, e.g. after a restart: a candidate only. Its member list is fetched
 * and decides, as for any room; a private message queued there waits for it. NULL when none. */
struct mx_room *mx_room_direct_candidate(struct mx *mx, const char *member)
{
	json_t *rooms = json_object_get(mx->direct, member), *v;
	struct mx_room *r;
	size_t i;

	json_array_foreach(rooms, i, v) {
		const char *id = json_string_value(v);
		if (!id || id[0] != '!')
			continue;
		r = mx_room_get(mx, id);
		if (r && (r->members_known || r->members_failed))
			continue; /* decided already: not private, or found by mx_room_find_private */
		if (!r) {
			if (!(r = mx_room_add(mx, id)))
				continue;
			r->maybe_joined = true;
			/* first seen by this process: the crypto module reads its members too */
			if (mx->crypto && mx->crypto->members_stale)
				mx->crypto->members_stale(mx->crypto_state, id);
		}
		if (mx_room_members_fetch(mx, r) == HE_OK)
			return r;
	}
	return NULL;
}

static bool direct_lists(struct mx *mx, const char *room_id)
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
			if (s && strcmp(s, room_id) == 0)
				return true;
		}
	}
	return false;
}

static void on_direct_put(struct mx *mx, int status, json_t *body, const struct hstamp *t, void *ud)
{
	if (status != 200)
		hlog_warn(MX_MOD, "could not save the list of private chats (HTTP %d %s)", status,
			  mx_errcode(body));
}

void mx_direct_add(struct mx *mx, const char *member, const char *room_id)
{
	json_t *list;

	if (direct_lists(mx, room_id))
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
	if (!mx_http_jsonf(mx, "PUT", mx->direct, MX_HTTP_RETRY, on_direct_put, NULL,
			   "/_matrix/client/v3/user/%s/account_data/m.direct", mx->user_id))
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

/* ---- joining: owed in the store, the invite/join race retried, for a bounded time ----
 *
 * A join never holds back the sync position: it is recorded (mx_owed_joins) and goes on after
 * a restart. A refusal right after an invite can be the invite reaching the homeserver's
 * workers late, so it is tried again a few times; an invite that still cannot be joined (the
 * inviter left, the room is gone) is declined after MX_JOIN_REFUSED_TRIES refusals or
 * MX_JOIN_GIVE_UP_MS, counted from the first try across restarts, with one log line. */

struct mx_join {
	struct mx *mx;
	char *room_id;
	char *inviter;             /* who invited (for the log line when the invite is declined) */
	unsigned tries;
	int64_t first_ms;          /* wall clock of the first try */
	struct mx_batch *block;    /* the store could not record it: it blocks this sync batch */
	uint64_t timer;
	struct mx_req *req;
	struct mx_join *next;
};

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void join_send(struct mx_join *j);

static void join_free(struct mx_join *j)
{
	free(j->room_id);
	free(j->inviter);
	free(j);
}

static void join_done(struct mx_join *j)
{
	struct mx *mx = j->mx;
	struct mx_room *r = mx_room_get(mx, j->room_id);

	for (struct mx_join **pp = &mx->joins; *pp; pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	}
	if (r)
		r->joining = false;
	mx_batch_unblock(mx, j->block);
	join_free(j);
}

static void on_join_timer(struct loop *l, void *ud)
{
	struct mx_join *j = ud;

	j->timer = 0;
	join_send(j);
}

static void on_quiet(struct mx *mx, int status, json_t *body, const struct hstamp *t, void *ud)
{
	if (status != 200)
		hlog_debug(MX_MOD, "%s: HTTP %d %s", (const char *)ud, status, mx_errcode(body));
}

static void decline(struct mx *mx, const char *room_id)
{
	mx_http_requestf(mx, "POST", "{}", 2, NULL, MX_HTTP_RETRY, on_quiet, "decline",
			 "/_matrix/client/v3/rooms/%s/leave", room_id);
}

static void join_give_up(struct mx_join *j, int status, json_t *body, int64_t elapsed)
{
	struct mx *mx = j->mx;
	struct mx_room *r = mx_room_get(mx, j->room_id);

	hlog_warn(MX_MOD, "could not join %s (invited by %s; HTTP %d %s, %u tr%s in %lld s): the invite "
		  "is no longer valid (did the inviter leave?); declining it", j->room_id,
		  j->inviter ? j->inviter : "?", status, mx_errcode(body), j->tries, j->tries == 1 ? "y" : "ies", (long long)(elapsed / 1000));
	decline(mx, j->room_id);
	if (mx_owed_join_del(mx->app->store, j->room_id) != HE_OK)
		hlog_warn(MX_MOD, "could not update the store after declining an invite");
	if (r && r->membership != MX_M_JOINED)
		mx_room_remove(mx, j->room_id);
	join_done(j);
}

static void on_join(struct mx *mx, int status, json_t *body, const struct hstamp *t, void *ud)
{
	struct mx_join *j = ud;
	struct mx_room *r;
	int64_t elapsed;
	uint64_t wait;

	j->req = NULL;
	if (status == 200) {
		hlog_info(MX_MOD, "joined %s", j->room_id);
		r = mx_room_add(mx, j->room_id);
		if (r)
			r->membership = MX_M_JOINED;
		if (mx_owed_join_del(mx->app->store, j->room_id) != HE_OK)
			hlog_warn(MX_MOD, "could not update the store after a join");
		join_done(j);
		return;
	}
	if (mx->stopping) {
		join_done(j); /* still owed in the store: it goes on after the restart */
		return;
	}
	j->tries++;
	if (mx_owed_join_tried(mx->app->store, j->room_id, j->tries) != HE_OK)
		hlog_debug(MX_MOD, "could not count a join try in the store");
	elapsed = wall_ms() - j->first_ms;
	if (elapsed < 0)
		elapsed = 0; /* the clock went back */
	if (!mx_join_give_up(status, j->tries, (uint64_t)elapsed)) {
		wait = mx_backoff_ms(j->tries - 1, 0x7fffffffu) / 2;
		if (wait > 30000)
			wait = 30000;
		if ((uint64_t)elapsed + wait > MX_JOIN_GIVE_UP_MS)
			wait = MX_JOIN_GIVE_UP_MS - (uint64_t)elapsed;
		hlog_debug(MX_MOD, "join %s refused (HTTP %d %s), trying again in %llu ms", j->room_id,
			   status, mx_errcode(body), (unsigned long long)wait);
		if (loop_timer_add(mx->loop, wait, on_join_timer, j, &j->timer) == HE_OK)
			return;
	}
	join_give_up(j, status, body, elapsed);
}

static void join_send(struct mx_join *j)
{
	j->req = mx_http_requestf(j->mx, "POST", "{}", 2, NULL, MX_HTTP_RETRY, on_join, j,
				  "/_matrix/client/v3/join/%s", j->room_id);
	if (j->req)
		return;
	hlog_error(MX_MOD, "out of memory joining %s", j->room_id);
	join_done(j);
}

/* Starts (or, after a restart, continues) the join recorded for room_id; b is the sync batch
 * that asked for it (NULL when resumed). */
static void join_start(struct mx *mx, const char *room_id, const char *inviter, struct mx_batch *b)
{
	struct mx_room *r = mx_room_add(mx, room_id);
	struct store *st = mx->app->store;
	struct mx_join *j;

	if (!r || r->joining || r->membership == MX_M_JOINED)
		return;
	j = calloc(1, sizeof(*j));
	if (!j || !(j->room_id = strdup(room_id)) || (inviter && !(j->inviter = strdup(inviter)))) {
		if (j)
			join_free(j);
		hlog_error(MX_MOD, "out of memory joining %s", room_id);
		return;
	}
	j->mx = mx;
	j->first_ms = wall_ms();
	if (mx_owed_join_add(st, room_id, inviter, j->first_ms) != HE_OK ||
	    mx_owed_join_get(st, room_id, &j->first_ms, &j->tries) != HE_OK) {
		hlog_warn(MX_MOD, "could not record the join of %s in the store; the sync position "
			  "waits for it", room_id);
		j->first_ms = wall_ms();
		j->tries = 0;
		j->block = b;
		mx_batch_block(b);
	}
	r->joining = true;
	r->membership = MX_M_INVITED;
	j->next = mx->joins;
	mx->joins = j;
	join_send(j);
}

void mx_room_join(struct mx *mx, const char *room_id, struct mx_batch *b)
{
	join_start(mx, room_id, NULL, b);
}

void mx_joins_resume(struct mx *mx)
{
	json_t *list = NULL, *v;
	size_t i;

	if (mx_owed_joins(mx->app->store, &list) != HE_OK) {
		hlog_warn(MX_MOD, "could not read the invites still being joined from the store");
		return;
	}
	if (json_array_size(list))
		hlog_info(MX_MOD, "%zu invite%s still being joined", json_array_size(list),
			  json_array_size(list) == 1 ? "" : "s");
	json_array_foreach(list, i, v) {
		const char *room_id = json_string_value(json_object_get(v, "room_id"));
		if (room_id)
			join_start(mx, room_id, json_string_value(json_object_get(v, "inviter")), NULL);
	}
	json_decref(list);
}

void mx_joins_free(struct mx *mx)
{
	while (mx->joins) {
		struct mx_join *j = mx->joins;
		mx->joins = j->next;
		if (j->timer)
			loop_timer_cancel(mx->loop, j->timer);
		mx_http_cancel(mx, j->req);
		join_free(j); /* its row stays: joined after the next start */
	}
}

void mx_room_invited(struct mx *mx, const char *room_id, const char *inviter, bool is_direct,
		     struct mx_batch *b)
{
	const struct config *c = mx->app->cfg;
	struct mx_room *r = mx_room_get(mx, room_id);
	int64_t first;
	unsigned tries;

	if (!mx_inviter_allowed(c->matrix_allowed_inviters, c->nmatrix_allowed_inviters, inviter)) {
		hlog_info(MX_MOD, "declining the invite to %s from %s: not in [matrix] allowed_inviters",
			  room_id, inviter);
		decline(mx, room_id);
		return;
	}
	if (r && r->joining)
		return;
	if (r && r->membership == MX_M_JOINED) {
		/* the homeserver says we are invited, so we are not in it: a room taken as joined
		 * after a restart (a post or a waiting event into it, mx_room_of_waiting) that we had
		 * left while stopped. Joined again; joining a room we are in changes nothing. */
		hlog_info(MX_MOD, "invited to %s, which this process took as joined: joining it again",
			  room_id);
		r->membership = MX_M_NONE;
	}
	if (mx_owed_join_count(mx->app->store) >= MX_JOINS_MAX &&
	    mx_owed_join_get(mx->app->store, room_id, &first, &tries) != HE_OK) {
		hlog_warn(MX_MOD, "declining the invite to %s from %s: %d invites are being joined "
			  "already", room_id, inviter, MX_JOINS_MAX);
		decline(mx, room_id);
		return;
	}
	/* is_direct is the inviter's word: whether the room is private is decided from its
	 * member list each time */
	hlog_info(MX_MOD, "invited to %s by %s%s: joining", room_id, inviter,
		  is_direct ? " (marked as a direct chat)" : "");
	join_start(mx, room_id, inviter, b);
}

void mx_room_left(struct mx *mx, const char *room_id, const char *why)
{
	struct mx_room *r = mx_room_get(mx, room_id);

	for (struct mx_join *j = mx->joins; j; j = j->next) {
		if (strcmp(j->room_id, room_id) == 0) {
			/* the invite was withdrawn while we were joining */
			hlog_info(MX_MOD, "the invite to %s is gone (%s): not joining", room_id, why);
			mx_http_cancel(mx, j->req);
			if (j->timer)
				loop_timer_cancel(mx->loop, j->timer);
			mx_owed_join_del(mx->app->store, room_id);
			join_done(j);
			r = NULL;
			break;
		}
	}
	if (r && r->membership == MX_M_JOINED)
		hlog_info(MX_MOD, "no longer in %s (%s): forgetting it", room_id, why);
	else
		hlog_debug(MX_MOD, "%s is in the left rooms (%s): forgetting it", room_id, why);
	mx_sched_room_left(mx, room_id); /* its scheduled check-ins cut off by a restart: dropped */
	mx_room_remove(mx, room_id);
	/* remembered: a post into it (an alert, a check-in) is refused here, not re-added as joined */
	if (!mx->left)
		mx->left = json_object();
	if (mx->left && json_object_size(mx->left) < MX_LEFT_MAX)
		json_object_set_new(mx->left, room_id, json_true());
	mx_http_requestf(mx, "POST", "{}", 2, NULL, MX_HTTP_RETRY, on_quiet, "forget",
			 "/_matrix/client/v3/rooms/%s/forget", room_id);
}
