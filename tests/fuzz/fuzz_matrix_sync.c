/* libFuzzer target for the Matrix /sync parser: mx_json_parse (depth cap, UTF-8, garbage),
 * mx_sync_walk over whatever parses, mx_event_parse on every event, and the reply-fallback
 * stripper on every message body. Anything but a clean error is a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "net/matrix/mx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void f_event(void *ud, enum mx_section s, const char *room, enum mx_where w,
		    const struct mx_event *ev)
{
	size_t *n = ud;

	if (!room || !ev->type || !json_is_object(ev->content))
		abort();
	if (ev->body) {
		const char *t = mx_strip_reply_fallback(ev->body);
		if (t < ev->body || t > ev->body + strlen(ev->body))
			abort();
	}
	(*n)++;
}

static void f_begin(void *ud, enum mx_section s, const char *room, json_t *r)
{
	if (room[0] != '!' || !json_is_object(r))
		abort();
}

static void f_account(void *ud, const char *type, json_t *c)
{
	if (!type || !json_is_object(c))
		abort();
}

static const struct mx_sync_ops ops = {
	.account_data = f_account,
	.room_begin = f_begin,
	.room_event = f_event,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *root = NULL;
	size_t n = 0;
	int rc;

	if (size > MX_SYNC_CAP)
		return 0;
	rc = mx_json_parse((const char *)data, size, MX_JSON_DEPTH, &root);
	if (rc != HE_OK) {
		if (root || rc != HE_PROTO)
			abort();
		return 0;
	}
	rc = mx_sync_walk(root, &ops, &n);
	if (rc != HE_OK && rc != HE_PROTO)
		abort();
	json_decref(root);
	return 0;
}
