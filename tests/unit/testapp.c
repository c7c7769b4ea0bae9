/* testapp.c - the test app of testapp.h. */
#include "testapp.h"
#include "dbtest.h"

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

/* Replaces *field with a copy of value; HE_NOMEM if the copy fails. */
static int set_str(char **field, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return HE_NOMEM;
	free(*field);
	*field = copy;
	return HE_OK;
}

/* HEARTH_TEST_STORE=pg: the store is a fresh schema in the test cluster (tests/pg/cluster.sh)
 * instead of the SQLite file db, so the same test runs on PostgreSQL. */
/* HEARTH_TEST_STORE=pg without a cluster: the whole test is skipped (ctest SKIP_RETURN_CODE). */
static void need_cluster(void)
{
	if (dbtest_pg_url())
		return;
	fprintf(stderr, "SKIP: HEARTH_TEST_STORE=pg but HEARTH_TEST_PG_URL is not set; run "
		"eval \"$(tests/pg/cluster.sh start)\" first (tests/run-all.sh does)\n");
	exit(77);
}

int ta_store_open(const char *db, struct store **out)
{
	const char *engine = getenv("HEARTH_TEST_STORE");
	char *url;
	int rc;

	if (!engine || strcmp(engine, "pg") != 0)
		return store_open_file(db, out);
	need_cluster();
	url = db && strcmp(db, ":memory:") != 0 ? dbtest_pg_url_for(db) : dbtest_fresh_url(DB_PG);
	if (!url) {
		fprintf(stderr, "testapp: HEARTH_TEST_STORE=pg but no PostgreSQL test cluster "
			"(HEARTH_TEST_PG_URL); run eval \"$(tests/pg/cluster.sh start)\"\n");
		return HE_DB;
	}
	rc = store_open_url(NULL, url, out);
	free(url);
	return rc;
}

int ta_store_open_dir(const char *dir, struct store **out)
{
	const char *engine = getenv("HEARTH_TEST_STORE");
	char *url;
	int rc;

	if (!engine || strcmp(engine, "pg") != 0)
		return store_open(dir, out);
	need_cluster();
	if (!(url = dbtest_pg_url_for(dir)))
		return HE_DB;
	rc = store_open_url(dir, url, out);
	free(url);
	return rc;
}

int ta_app_open(struct happ *app, const char *db, const char *data_dir, const char *key_file)
{
	char dir[4096];
	int rc;

	if ((rc = config_load(NULL, &app->cfg, NULL)))
		goto out;
	if (data_dir && (rc = set_str(&app->cfg->data_dir, data_dir)))
		goto out;
	if ((rc = config_finish(app->cfg, NULL)))
		goto out;
	if (key_file && (rc = set_str(&app->cfg->mood_key_file, key_file)))
		goto out;
	snprintf(dir, sizeof(dir), "%s/content", ta_src());
	if ((rc = set_str(&app->cfg->content_dir, dir)) || (rc = loop_new(&app->loop)) ||
	    (rc = db && strncmp(db, "dir:", 4) == 0 ? ta_store_open_dir(db + 4, &app->store)
							    : ta_store_open(db, &app->store)) || (rc = care_init(app)) ||
	    (rc = care_load_content(app)))
		goto out;
out:
	if (rc)
		fprintf(stderr, "testapp: set-up failed (%d)\n", rc);
	return rc;
}

void ta_app_close(struct happ *app)
{
	care_free(app);
	content_free(app->content);
	store_free(app->store);
	loop_free(app->loop);
	config_free(app->cfg);
	app->content = NULL;
	app->store = NULL;
	app->loop = NULL;
	app->cfg = NULL;
}

struct testapp *ta_new(const char *db)
{
	struct testapp *ta = calloc(1, sizeof(*ta));

	if (!ta)
		return NULL;
	hlog_set_level(HLOG_WARN);
	if (ta_app_open(&ta->app, db, NULL, NULL)) {
		ta_free(ta);
		return NULL;
	}
	snprintf(ta->t.name, sizeof(ta->t.name), "test");
	ta->t.ops = &ta_ops;
	ta->t.impl = ta;
	happ_add_transport(&ta->app, &ta->t);
	return ta;
}

void ta_free(struct testapp *ta)
{
	if (!ta)
		return;
	ta_clear(ta);
	ta_app_close(&ta->app);
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
