/* welcome.c - Hearth introduces itself in a room it joins and greets members who join. */
#include "care/welcome.h"
#include "care/content.h"
#include "care/state.h"
#include "care/rooms.h"
#include "care/reply.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/text.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WELCOME_TRANSIENT_SLOTS 512

/* Transient members (IRC nicks without an account) greeted since start: keyed hashes only, so
 * neither the store nor memory holds a nick. */
struct welcome {
	unsigned char key[crypto_generichash_KEYBYTES];
	unsigned char seen[WELCOME_TRANSIENT_SLOTS][16];
	size_t next;
};

static struct welcome *state(struct happ *app)
{
	return app && app->care ? app->care->welcome : NULL;
}

int welcome_init(struct happ *app)
{
	struct welcome *w;

	if (sodium_init() < 0)
		return HE_CRYPTO;
	if (!(w = calloc(1, sizeof(*w))))
		return HE_NOMEM;
	randombytes_buf(w->key, sizeof(w->key));
	app->care->welcome = w;
	return HE_OK;
}

void welcome_free(struct happ *app)
{
	struct welcome *w = state(app);

	if (!w)
		return;
	sodium_memzero(w, sizeof(*w));
	free(w);
	app->care->welcome = NULL;
}

static void transient_id(const struct welcome *w, const struct hevent *ev, unsigned char out[16])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, w->key, sizeof(w->key), 16);
	crypto_generichash_update(&st, (const unsigned char *)ev->network, strlen(ev->network) + 1);
	crypto_generichash_update(&st, (const unsigned char *)ev->room, strlen(ev->room) + 1);
	crypto_generichash_update(&st, (const unsigned char *)ev->member, strlen(ev->member) + 1);
	crypto_generichash_final(&st, out, 16);
}

static bool transient_seen(const struct welcome *w, const unsigned char id[16])
{
	static const unsigned char zero[16];

	for (size_t i = 0; i < WELCOME_TRANSIENT_SLOTS; i++)
		if (memcmp(w->seen[i], id, 16) == 0 && memcmp(id, zero, 16) != 0)
			return true;
	return false;
}

char *welcome_intro(const struct happ *app, const char *lang)
{
	return strdup(phrase(app->content, lang, "welcome.intro"));
}

char *welcome_render(const struct happ *app, const char *lang, const char *name, const char *room_text)
{
	struct hbuf b = HBUF_INIT;
	char cut[WELCOME_NAME_MAX + 1], *said = NULL;
	size_t n = 0;

	/* A name is someone's own text: cut, one line, shown as text (never Markdown or a link). */
	if (name)
		n = text_utf8_prefix(name, strlen(name), WELCOME_NAME_MAX);
	snprintf(cut, sizeof(cut), "%.*s", (int)n, name ? name : "");
	for (char *p = cut; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	if (cut[0] && !(said = text_md_escape(cut)))
		return NULL;
	if (said)
		hbuf_printf(&b, phrase(app->content, lang, "welcome.hello_name"), said);
	else
		hbuf_puts(&b, phrase(app->content, lang, "welcome.hello"));
	hbuf_putc(&b, ' ');
	free(said);
	if (room_text && *room_text)
		hbuf_puts(&b, room_text);
	else
		hbuf_puts(&b, phrase(app->content, lang, "welcome.default"));
	return hbuf_steal(&b);
}

static int self_joined(struct happ *app, const struct hevent *ev, const struct room_settings *rs)
{
	char *md = NULL;
	int rc;

	if (!rs->welcome || rs->introduced || !reply_can_post(app, ev->network))
		return HE_OK;
	if (!(md = welcome_intro(app, rooms_language(app, rs))))
		return HE_NOMEM;
	rc = reply_post(app, ev->network, ev->room, md, "an introduction");
	if (rc == HE_OK) {
		rooms_set_int(app, ev->network, ev->room, "introduced", 1);
		hlog_info("welcome", "introduced myself in a room on %s", ev->network);
	}
	free(md);
	return rc;
}

static int member_joined(struct happ *app, const struct hevent *ev, const struct room_settings *rs)
{
	struct welcome *w = state(app);
	unsigned char id[16] = { 0 };
	time_t now = happ_now(app);
	char *md = NULL;
	int rc;

	if (!rs->welcome || rs->paused || !reply_can_greet(ev) || !ev->member || !*ev->member)
		return HE_OK;
	if (ev->member_transient) {
		if (!w)
			return HE_OK;
		transient_id(w, ev, id);
		if (transient_seen(w, id))
			return HE_OK;
	} else if (rooms_welcomed(app, ev->network, ev->room, ev->member)) {
		return HE_OK;
	}
	if (rs->last_welcome && now >= rs->last_welcome && now - rs->last_welcome < WELCOME_GAP_SECS) {
		hlog_debug("welcome", "a welcome was held back: one went out in this room within a minute");
		return HE_OK;
	}
	if (!(md = welcome_render(app, rooms_language(app, rs), ev->member_name ? ev->member_name : ev->member,
				  rs->welcome_text)))
		return HE_NOMEM;
	rc = reply_greet(app, ev, md);
	if (rc)
		goto out;
	rooms_set_int(app, ev->network, ev->room, "last_welcome", (long long)now);
	if (ev->member_transient) {
		memcpy(w->seen[w->next], id, 16);
		w->next = (w->next + 1) % WELCOME_TRANSIENT_SLOTS;
	} else {
		rooms_mark_welcomed(app, ev->network, ev->room, ev->member, now);
	}
out:
	free(md);
	return rc;
}

int welcome_event(struct happ *app, const struct hevent *ev)
{
	struct room_settings rs;
	int rc;

	if (!ev || !ev->network || !ev->room)
		return HE_INVAL;
	if (!app || !app->store || !app->care)
		return HE_OK; /* a transport tested on its own: nobody to welcome */
	if ((rc = rooms_get(app, ev->network, ev->room, &rs)))
		return rc;
	switch (ev->kind) {
	case HEV_SELF_JOINED:
		return self_joined(app, ev, &rs);
	case HEV_MEMBER_JOINED:
		return member_joined(app, ev, &rs);
	case HEV_SCALE_ANSWER:
	case HEV_SCALE_WITHDRAWN:
		break; /* the mood log's (care.c) */
	}
	return HE_INVAL;
}
