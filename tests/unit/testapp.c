/* testapp.c - the test app of testapp.h. */
#include "testapp.h"

#include "core/log.h"
#include "core/loop.h"

static int ta_reply_cb(struct htransport *t, const struct hmsg *in, enum hdest dest, const char *md)
{
	struct testapp *ta = t->impl;
	if (ta->n >= TA_MAX)
		return HE_TOOBIG;
	ta->replies[ta->n].dest = dest;
	ta->replies[ta->n].is_private = in->is_private || dest == HDEST_PRIVATE;
	ta->replies[ta->n].room = strdup(in->room);
	ta->replies[ta->n].text = strdup(md);
	ta->n++;
	return HE_OK;
}

static int ta_post_cb(struct htransport *t, const char *room, const char *md)
{
	struct testapp *ta = t->impl;
	if (ta->n >= TA_MAX)
		return HE_TOOBIG;
	ta->replies[ta->n].dest = HDEST_ROOM;
	ta->replies[ta->n].room = strdup(room);
	ta->replies[ta->n].text = strdup(md);
	ta->n++;
	return HE_OK;
}

static void ta_free_cb(struct htransport *t) {}

static const struct htransport_ops ta_ops = {
	.reply = ta_reply_cb,
	.post = ta_post_cb,
	.free = ta_free_cb,
};

void ta_clear(struct testapp *ta)
{
	for (size_t i = 0; i < ta->n; i++) {
		free(ta->replies[i].room);
		free(ta->replies[i].text);
	}
	ta->n = 0;
}

const char *ta_src(void)
{
	const char *src = getenv("SRC");
	return src && *src ? src : HEARTH_SOURCE_DIR;
}

struct testapp *ta_new(const char *db)
{
	struct testapp *ta = calloc(1, sizeof(*ta));
	char dir[4096];

	if (!ta)
		return NULL;
	hlog_set_level(HLOG_WARN);
	if (config_load(NULL, &ta->app.cfg, NULL) || config_finish(ta->app.cfg, NULL))
		goto fail;
	snprintf(dir, sizeof(dir), "%s/content", ta_src());
	ta->app.cfg->content_dir = strdup(dir);
	if (loop_new(&ta->app.loop) || store_open_file(db, &ta->app.store) || care_init(&ta->app) ||
	    care_load_content(&ta->app))
		goto fail;
	snprintf(ta->t.name, sizeof(ta->t.name), "test");
	ta->t.ops = &ta_ops;
	ta->t.impl = ta;
	happ_add_transport(&ta->app, &ta->t);
	return ta;
fail:
	fprintf(stderr, "testapp: set-up failed\n");
	return NULL;
}

void ta_free(struct testapp *ta)
{
	if (!ta)
		return;
	ta_clear(ta);
	care_free(&ta->app);
	content_free(ta->app.content);
	store_free(ta->app.store);
	loop_free(ta->app.loop);
	config_free(ta->app.cfg);
	free(ta);
}

size_t ta_say(struct testapp *ta, const char *sender, const char *room, bool priv,
	      enum hrole role, const char *text)
{
	struct hmsg m = {
		.network = "test", .room = room, .sender = sender, .sender_name = sender,
		.text = text, .is_private = priv, .role = role, .via = &ta->t,
	};
	size_t before = ta->n;
	happ_dispatch(&ta->app, &m);
	return ta->n - before;
}

const char *ta_last(const struct testapp *ta)
{
	return ta->n ? ta->replies[ta->n - 1].text : "";
}
