/* verify_mx.c - the verification flow (verify.c) wired into the Matrix transport: who is a
 * moderator, the crypto module's keys, its to-device queue, and the clock. */
#include "net/matrix/verify.h"
#include "net/matrix/mx.h"
#include "net/matrix/crypto/e2e.h"
#include "net/matrix/crypto/e2e_sas.h"
#include "core/err.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct vmx {
	struct mx *mx;
	struct e2e *e;
	struct verify *v;
};

/* A group room: more joined members than Hearth and one person. Whoever makes a room of their
 * own with Hearth has power level 100 there; that makes nobody a moderator. */
static bool vmx_group_room(const struct mx_room *r)
{
	const char *k;
	json_t *val;
	long n = 0;

	json_object_foreach(r->members, k, val)
		n += json_is_string(val) && strcmp(json_string_value(val), "join") == 0;
	if (!r->members_known && r->joined > n)
		n = r->joined;
	return n > 2;
}

/* As handle.c decides a command's role (the member's power level), in a group room Hearth has
 * joined and they are a member of. */
static bool vmx_is_moderator(void *ud, const char *user)
{
	struct vmx *m = ud;

	for (struct mx_room *r = m->mx->rooms; r; r = r->next) {
		const char *ms = json_string_value(json_object_get(r->members, user));
		if (r->membership != MX_M_JOINED || !ms || strcmp(ms, "join") != 0 ||
		    !vmx_group_room(r))
			continue;
		if (mx_power_level(r->power_levels, r->creator, user) >=
		    m->mx->app->cfg->matrix_moderator_power_level)
			return true;
	}
	return false;
}

static int vmx_device_key(void *ud, const char *user, const char *device, char **ed)
{
	return e2e_sas_device_key(((struct vmx *)ud)->e, user, device, ed);
}

static int vmx_master_key(void *ud, const char *user, char **master)
{
	return e2e_sas_master_key(((struct vmx *)ud)->e, user, master);
}

static int vmx_send(void *ud, const char *type, const char *user, const char *device,
		    json_t *content)
{
	return e2e_sas_send(((struct vmx *)ud)->e, type, user, device, content);
}

static int vmx_send_encrypted(void *ud, const char *type, const char *user, const char *device,
			      json_t *content)
{
	return e2e_sas_send_encrypted(((struct vmx *)ud)->e, type, user, device, content);
}

static int vmx_send_room(void *ud, const char *room_id, const char *type, json_t *content)
{
	struct vmx *m = ud;

	/* encrypted when the room is (send.c), like every event Hearth sends */
	return mx_send_event(m->mx, room_id, type, json_incref(content), NULL, NULL, NULL);
}

static uint64_t vmx_now(void *ud)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const struct verify_ops vmx_ops = {
	.is_moderator = vmx_is_moderator,
	.device_key = vmx_device_key,
	.master_key = vmx_master_key,
	.send = vmx_send,
	.send_encrypted = vmx_send_encrypted,
	.send_room = vmx_send_room,
	.now_ms = vmx_now,
};

int mx_verify_new(struct mx *mx, struct e2e *e, struct verify **out)
{
	struct vmx *m = calloc(1, sizeof(*m));
	int rc;

	*out = NULL;
	if (!m)
		return HE_NOMEM;
	m->mx = mx;
	m->e = e;
	if ((rc = verify_new(mx->user_id, mx->device_id, e2e_ed25519_key(e), &vmx_ops, m, &m->v))) {
		free(m);
		return rc;
	}
	*out = m->v;
	return HE_OK;
}

void mx_verify_free(struct verify *v)
{
	struct vmx *m = v ? verify_ud(v) : NULL;

	verify_free(v);
	free(m);
}

void mx_verify_to_device(struct verify *v, json_t *events)
{
	struct vmx *m = verify_ud(v);
	json_t *ev, *enc;
	size_t i;

	json_array_foreach(events, i, ev) {
		const char *type = json_string_value(json_object_get(ev, "type"));
		if (i >= 1000)
			break;
		if (type && strncmp(type, "m.key.verification.", 19) == 0 &&
		    verify_event(v, json_string_value(json_object_get(ev, "sender")), NULL, type,
				 json_object_get(ev, "content")))
			hlog_warn("matrix-verify", "could not answer a verification message");
	}
	enc = e2e_sas_take_events(m->e);
	json_array_foreach(enc, i, ev) {
		if (verify_event(v, json_string_value(json_object_get(ev, "sender")),
				 json_string_value(json_object_get(ev, "sender_device")),
				 json_string_value(json_object_get(ev, "type")),
				 json_object_get(ev, "content")))
			hlog_warn("matrix-verify", "could not answer a verification message");
	}
	json_decref(enc);
}

bool mx_verify_room(struct verify *v, const char *room_id, json_t *event, json_t *plain)
{
	if (!verify_room_event_is(plain))
		return false;
	if (verify_room_event(v, room_id, event, plain))
		hlog_warn("matrix-verify", "could not answer a verification message in %s", room_id);
	return true;
}
