/* testapp.h - a real app (store, content, care) with a recording transport, for unit tests,
 * benchmarks and fuzzers. The bodies are in testapp.c (in the hearth_testkit library). */
#ifndef HEARTH_TESTAPP_H
#define HEARTH_TESTAPP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "care/care.h"
#include "care/content.h"
#include "core/app.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "store/store.h"

#define TA_MAX 64

struct ta_reply {
	enum hdest dest;
	bool is_private;   /* where it landed: a private chat or the room */
	char *room;
	char *text;
};

struct testapp {
	struct happ app;
	struct htransport t;
	struct ta_reply replies[TA_MAX];
	size_t n;
};

/* The source tree: $SRC, else the one the test was built from. */
const char *ta_src(void);
/* Opens app's config (defaults; data_dir and key_file if not NULL), the content of the source
 * tree, a loop, the store db (a file path or ":memory:") and the care layer. 0 or the first
 * error; ta_app_close() frees what was opened either way. db "dir:PATH": the store of a data
 * folder (store_open, as the daemon opens it). */
/* The store for a test: the SQLite file db, or with HEARTH_TEST_STORE=pg a fresh PostgreSQL
 * schema in the test cluster. */
struct store;
int ta_store_open(const char *db, struct store **out);
/* The same for store_open(dir): with HEARTH_TEST_STORE=pg a schema named after dir. */
int ta_store_open_dir(const char *dir, struct store **out);
int ta_app_open(struct happ *app, const char *db, const char *data_dir, const char *key_file);
/* Frees what ta_app_open() opened; the rest of app (fake_now, transports) stays. */
void ta_app_close(struct happ *app);
/* A test app with a recording transport; db: a file path or ":memory:". NULL on failure. */
struct testapp *ta_new(const char *db);
/* NULL-safe. */
void ta_free(struct testapp *ta);
/* Forgets the recorded replies. */
void ta_clear(struct testapp *ta);
/* Sends text as sender in room (or privately) and returns the number of replies. */
size_t ta_say(struct testapp *ta, const char *sender, const char *room, bool priv,
	      enum hrole role, const char *text);
/* The last reply's text, or "". */
const char *ta_last(const struct testapp *ta);

#endif
