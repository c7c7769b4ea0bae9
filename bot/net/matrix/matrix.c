/* matrix.c - the Matrix transport: session (login once, token reuse), filter, ops, teardown.
 *
 * Start-up runs inside the loop: the access token and device id from an earlier login (store,
 * namespace "matrix") are checked with /account/whoami and reused, so restarts never pile up
 * devices; only without one, or when the homeserver says the token is gone (M_UNKNOWN_TOKEN),
 * does Hearth log in with the configured password, reusing its device id. */
#include "net/matrix/matrix.h"
#include "net/matrix/mx.h"
#include "net/matrix/crypto/e2e_secret.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/loop.h"
#include "store/lease.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void after_login(struct mx *mx);

void mx_fatal(struct mx *mx, const char *why)
{
	hlog_error(MX_MOD, "%s", why);
	mx->app->exit_code = 1;
	loop_stop(mx->loop);
}

void mx_record_reply(struct mx *mx, uint64_t own_us, uint64_t cpu_us, bool encrypted, bool setup)
{
	/* a lost sample (out of memory) only thins the figure */
	if (!encrypted) {
		hstats_add(&mx->st_own, own_us);
		hstats_add(&mx->st_cpu, cpu_us);
		return;
	}
	hstats_add(&mx->st_enc_own, own_us);
	hstats_add(&mx->st_enc_cpu, cpu_us);
	if (!setup) {
		hstats_add(&mx->st_enc_warm, own_us);
		hstats_add(&mx->st_enc_warm_cpu, cpu_us);
	}
}

/* The crypto module attaches here (and nowhere else). Without it (or when it cannot start),
 * encrypted rooms are read-never, write-never. */
static int mx_crypto_attach(struct mx *mx)
{
	mx->crypto = &mx_e2e_ops;
	mx->crypto_state = NULL;
	return HE_OK;
}

/* ---- session ---- */

int mx_kv_set_fenced(struct mx *mx, const char *key, const char *value)
{
	struct store *st = mx->app->store;
	bool own;
	int rc = lease_open(st, MX_MOD, &own); /* only the active Hearth writes (store/lease.h) */

	if (rc)
		return rc;
	return lease_end(st, own, value ? store_kv_set(st, MX_MOD, key, value) : store_kv_del(st, MX_MOD, key));
}

/* The session's rows (user id, access token, device id, filter): fenced like the sync position,
 * so an instance whose lease is gone (it was frozen, another Hearth took over and perhaps
 * logged in again) cannot put its older token or device back over the active one's. Refused,
 * the lease is lost and Hearth restarts as a standby (core/standby.h). value NULL deletes. */
static void kv_set(struct mx *mx, const char *key, const char *value)
{
	int rc = mx_kv_set_fenced(mx, key, value);

	if (rc == HE_PERM)
		hlog_warn(MX_MOD, "did not save %s: another Hearth is active for [matrix]", key);
	else if (rc != HE_OK)
		hlog_warn(MX_MOD, "could not save %s in the store", key);
}

static void set_session(struct mx *mx, const char *token, const char *device)
{
	if (token && token != mx->access_token) {
		if (mx->access_token) {
			explicit_bzero(mx->access_token, strlen(mx->access_token));
			free(mx->access_token);
		}
		mx->access_token = strdup(token);
	}
	if (device && device != mx->device_id) {
		free(mx->device_id);
		mx->device_id = strdup(device);
	}
}

/* The key file that protects the E2EE pickles also seals the access token at rest. */
static void secret_key_path(const struct mx *mx, char *out, size_t len)
{
	const char *dir = mx->app->cfg->data_dir;

	snprintf(out, len, "%s/e2e.key", dir ? dir : ".");
}

/* The key file against the store's E2EE data (e2e_key_check, issue 13). */
static int e2e_key_check_mx(struct mx *mx)
{
	char path[4096];

	secret_key_path(mx, path, sizeof(path));
	return e2e_key_check(mx->app->store, path, MX_MOD);
}

/* The access token, sealed (never in clear in the store). The row it replaces is overwritten
 * (secure_delete) and the WAL checkpointed, so a token once kept in clear leaves no copy. */
static void token_save(struct mx *mx)
{
	struct store *st = mx->app->store;
	char path[4096], *sealed = NULL;

	secret_key_path(mx, path, sizeof(path));
	if (!mx->access_token || e2e_secret_seal(path, mx->access_token, &sealed) != HE_OK) {
		hlog_warn(MX_MOD, "could not seal the access token: it is not kept (a restart logs in "
			  "again)");
		kv_set(mx, "access_token", NULL);
		return;
	}
	/* SQLite: overwrite the old value's cells and fold the WAL back, so a token once kept in
	 * clear does not linger in free pages (PostgreSQL: see README, "Storage"). */
	if (store_engine(st) == DB_SQLITE)
		store_exec(st, "PRAGMA secure_delete = ON");
	kv_set(mx, "access_token", sealed);
	if (store_engine(st) == DB_SQLITE)
		store_exec(st, "PRAGMA wal_checkpoint(TRUNCATE)");
	else if (!db_in_tx(store_sql(st)))
		/* PostgreSQL keeps the replaced row version (perhaps a token an older Hearth kept in
		 * clear) until VACUUM: the kv table is a few rows, so now rather than at autovacuum. */
		db_exec(store_sql(st), "VACUUM kv");
	free(sealed);
}

/* The account, its access token and device: what a restart needs to reuse the session. */
static void session_save(struct mx *mx)
{
	kv_set(mx, "user_id", mx->user_id);
	token_save(mx);
	kv_set(mx, "device_id", mx->device_id);
}

/* The stored token in clear (a new string), or NULL: sealed, or kept in clear by an older
 * Hearth (sealed now, by the session_save after whoami). */
static char *token_load(struct mx *mx, char *stored)
{
	char path[4096], *plain = NULL;
	int rc;

	if (!stored || !e2e_secret_is_sealed(stored)) {
		if (stored)
			hlog_info(MX_MOD, "the stored access token was kept in clear: sealing it");
		return stored;
	}
	secret_key_path(mx, path, sizeof(path));
	if ((rc = e2e_secret_open(path, stored, &plain)) != HE_OK)
		hlog_warn(MX_MOD, "the stored access token does not open with %s (%s): logging in "
			  "again", path, he_str(rc));
	free(stored);
	return plain;
}

static void on_login(struct mx *mx, int status, json_t *body, const struct hstamp *t, void *ud)
{
	const char *token = json_string_value(json_object_get(body, "access_token"));
	const char *device = json_string_value(json_object_get(body, "device_id"));
	const char *uid = json_string_value(json_object_get(body, "user_id"));
	char msg[300];

	mx->logging_in = false;
	if (status != 200 || !token || !device) {
		snprintf(msg, sizeof(msg), "the homeserver refused the login of %s (HTTP %d %s): check "
			 "[matrix] user_id and password", mx->user_id, status, mx_errcode(body));
		mx_fatal(mx, msg);
		return;
	}
	if (uid && strcmp(uid, mx->user_id) != 0)
		hlog_warn(MX_MOD, "logged in as %s, configured as %s", uid, mx->user_id);
	set_session(mx, token, device);
	if (!mx->access_token || !mx->device_id) {
		mx_fatal(mx, "out of memory after login");
		return;
	}
	session_save(mx);
	hlog_info(MX_MOD, "logged in as %s on device %s", mx->user_id, mx->device_id);
	if (mx->auth_lost)
		mx_http_resume_auth(mx);
	if (mx->session_ready && mx->crypto && mx->crypto_state && mx->crypto->session_changed)
		mx->crypto->session_changed(mx->crypto_state);
	after_login(mx);
}

static void do_login(struct mx *mx)
{
	const struct config *c = mx->app->cfg;
	json_t *req;

	if (mx->logging_in)
		return;
	req = json_pack("{s:s, s:{s:s, s:s}, s:s, s:s}", "type", "m.login.password", "identifier",
			"type", "m.id.user", "user", mx->user_id, "password", c->matrix_password,
			"initial_device_display_name", c->matrix_device_name ? c->matrix_device_name : "Hearth bot");
	if (req && mx->device_id)
		json_object_set_new(req, "device_id", json_string(mx->device_id));
	mx->logging_in = true;
	if (!req || !mx_http_json(mx, "POST", "/_matrix/client/v3/login", req,
				  MX_HTTP_RETRY | MX_HTTP_NOAUTH, on_login, NULL)) {
		mx->logging_in = false;
		mx_fatal(mx, "out of memory logging in");
	}
	if (req) {
		/* wipe the password from the request object before freeing it */
		json_t *pw = json_object_get(req, "password");
		if (pw)
			json_string_set(pw, "");
	}
	json_decref(req);
}

void mx_auth_lost(struct mx *mx)
{
	if (mx->auth_lost)
		return;
	mx->auth_lost = true;
	kv_set(mx, "access_token", NULL);
	if (!mx->app->cfg->matrix_password) {
		mx_fatal(mx, "the homeserver no longer accepts the access token (M_UNKNOWN_TOKEN) and "
			 "no password is configured: set [matrix] password (or HEARTH_MATRIX_PASSWORD) "
			 "or a new access_token");
		return;
	}
	hlog_warn(MX_MOD, "the access token is no longer valid: logging in again");
	do_login(mx);
}

static void on_whoami(struct mx *mx, int status, json_t *body, const struct hstamp *t, void *ud)
{
	const char *uid = json_string_value(json_object_get(body, "user_id"));
	const char *device = json_string_value(json_object_get(body, "device_id"));
	char msg[300];

	if (mx->session_ready)
		return; /* a login already got us going */
	if (status != 200 || !uid) {
		snprintf(msg, sizeof(msg), "the homeserver did not accept the session (HTTP %d %s)",
			 status, mx_errcode(body));
		mx_fatal(mx, msg);
		return;
	}
	if (strcmp(uid, mx->user_id) != 0) {
		snprintf(msg, sizeof(msg), "the access token belongs to %s, but [matrix] user_id is %s",
			 uid, mx->user_id);
		mx_fatal(mx, msg);
		return;
	}
	if (device)
		set_session(mx, NULL, device);
	if (!mx->device_id) {
		mx_fatal(mx, "the homeserver did not say which device the access token belongs to");
		return;
	}
	session_save(mx);
	hlog_info(MX_MOD, "reusing the session of %s on device %s", mx->user_id, mx->device_id);
	after_login(mx);
}

static int session_begin(struct mx *mx)
{
	const struct config *c = mx->app->cfg;
	struct store *st = mx->app->store;
	char *uid = NULL, *token = NULL, *device = NULL;

	store_kv_get(st, MX_MOD, "user_id", &uid);
	if (uid && strcmp(uid, mx->user_id) != 0) {
		/* another account: nothing stored belongs to this one */
		hlog_info(MX_MOD, "the store belongs to %s; starting afresh for %s", uid, mx->user_id);
		kv_set(mx, "access_token", NULL);
		kv_set(mx, "device_id", NULL);
		kv_set(mx, "since", NULL);
		kv_set(mx, "filter_id", NULL);
		kv_set(mx, "filter_json", NULL);
		if (mx_owed_clear(st) != HE_OK)
			hlog_warn(MX_MOD, "could not clear what the other account was owed");
	} else {
		store_kv_get(st, MX_MOD, "access_token", &token);
		token = token_load(mx, token);
		store_kv_get(st, MX_MOD, "device_id", &device);
	}
	free(uid);
	if (c->matrix_access_token) {
		set_session(mx, c->matrix_access_token, NULL);
		if (token && strcmp(token, c->matrix_access_token) == 0)
			set_session(mx, NULL, device);
	} else if (token) {
		set_session(mx, token, device);
	} else if (device) {
		set_session(mx, NULL, device); /* log in again on the same device */
	}
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	free(device);
	if (mx->access_token) {
		if (!mx_http_request(mx, "GET", "/_matrix/client/v3/account/whoami", NULL, 0, NULL,
				     MX_HTTP_RETRY, on_whoami, NULL))
			return HE_NOMEM;
		return HE_OK;
	}
	do_login(mx);
	return HE_OK;
}

/* ---- after login: display name, filter, sync ---- */

/* The sync filter: only the event types Hearth reads, at most timeline_limit timeline events
 * per room, none of Hearth's own timeline events (not_senders: its replies' echoes would wake
 * a /sync per reply; a prompt's scale goes on at the PUT's answer, react.c, and its own join
 * comes in the state section, sync.c). A changed text is uploaded again (after_login). */
static char *filter_text(const char *own, int timeline_limit)
{
	static const char *const types[] = {
		"m.room.message", "m.room.encrypted", "m.room.member", "m.room.power_levels",
		"m.room.encryption", "m.room.create", "m.room.tombstone", "m.reaction",
		"m.room.redaction",
	};
	json_t *f, *t1 = json_array(), *t2 = json_array();
	char *s = NULL;

	for (size_t i = 0; t1 && t2 && i < sizeof(types) / sizeof(types[0]); i++) {
		json_array_append_new(t1, json_string(types[i]));
		json_array_append_new(t2, json_string(types[i]));
	}
	f = json_pack("{s:{s:[]}, s:{s:[s]}, s:{s:{s:i, s:o, s:[s]}, s:{s:b, s:o}, s:{s:[]}, s:{s:[]}}}",
		      "presence", "types",
		      "account_data", "types", "m.direct",
		      "room",
		      "timeline", "limit", timeline_limit, "types", t1, "not_senders", own,
		      "state", "lazy_load_members", 1, "types", t2,
		      "ephemeral", "types",
		      "account_data", "types");
	if (f)
		s = json_dumps(f, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(f);
	return s;
}

static void on_filter(struct mx *mx, int status, json_t *body, const struct hstamp *t, void *ud)
{
	char *text = ud;
	const char *id = json_string_value(json_object_get(body, "filter_id"));

	if (status == 200 && id) {
		mx->filter_id = strdup(id);
		kv_set(mx, "filter_id", id);
		kv_set(mx, "filter_json", text);
	} else {
		hlog_warn(MX_MOD, "could not upload the sync filter (HTTP %d %s); syncing without it",
			  status, mx_errcode(body));
		mx->filter_id = strdup("");
	}
	free(text);
	if (!mx->filter_id) {
		mx_fatal(mx, "out of memory");
		return;
	}
	mx_sync_start(mx);
}

static void on_quiet(struct mx *mx, int status, json_t *body, const struct hstamp *t, void *ud)
{
	if (status != 200)
		hlog_warn(MX_MOD, "%s: HTTP %d %s", (const char *)ud, status, mx_errcode(body));
}

static void on_profile(struct mx *mx, int status, json_t *body, const struct hstamp *t, void *ud)
{
	const char *want = mx->app->cfg->matrix_display_name;
	const char *have = json_string_value(json_object_get(body, "displayname"));
	json_t *req;

	if (!want || (status == 200 && have && strcmp(have, want) == 0))
		return;
	req = json_pack("{s:s}", "displayname", want);
	if (req)
		mx_http_jsonf(mx, "PUT", req, MX_HTTP_RETRY, on_quiet, "setting the display name",
			      "/_matrix/client/v3/profile/%s/displayname", mx->user_id);
	json_decref(req);
}

static void on_direct(struct mx *mx, int status, json_t *body, const struct hstamp *t, void *ud)
{
	if (status == 200 && json_is_object(body) && !mx->direct)
		mx_direct_set(mx, body);
}

static void after_login(struct mx *mx)
{
	char *text, *stored_json = NULL, *stored_id = NULL;

	if (mx->session_ready)
		return;
	mx->session_ready = true;
	if (mx->crypto && mx->crypto->start && mx->crypto->start(mx, &mx->crypto_state) != HE_OK) {
		hlog_error(MX_MOD, "end-to-end encryption could not start: encrypted rooms stay unanswered");
		mx->crypto = NULL;
		mx->crypto_state = NULL;
	}
	text = filter_text(mx->user_id, 100);
	/* The first sync of a fresh data folder answers nothing (what it brings is history) and
	 * brings no room at all: a homeserver answers it at once however many rooms Hearth is in
	 * (with 1,000 rooms Synapse took 100 s to build a first sync of every room), and it gives
	 * the position the loop goes on from. The rooms, their state and the invites waiting
	 * come from requests of their own (rooms_fetch.c). Given inline: used once. */
	free(mx->first_filter);
	mx->first_filter = strdup("{\"account_data\":{\"types\":[\"m.direct\"]},"
				  "\"presence\":{\"types\":[]},\"room\":{\"rooms\":[]}}");
	if (!text || !mx->first_filter) {
		mx_fatal(mx, "out of memory");
		return;
	}
	mx_http_requestf(mx, "GET", NULL, 0, NULL, MX_HTTP_RETRY, on_profile, NULL,
			 "/_matrix/client/v3/profile/%s/displayname", mx->user_id);
	/* a sync that continues from a saved position does not repeat unchanged account data */
	mx_http_requestf(mx, "GET", NULL, 0, NULL, MX_HTTP_RETRY, on_direct, NULL,
			 "/_matrix/client/v3/user/%s/account_data/m.direct", mx->user_id);
	store_kv_get(mx->app->store, MX_MOD, "filter_json", &stored_json);
	store_kv_get(mx->app->store, MX_MOD, "filter_id", &stored_id);
	if (stored_json && stored_id && strcmp(stored_json, text) == 0) {
		mx->filter_id = stored_id;
		stored_id = NULL;
		free(text);
		mx_sync_start(mx);
	} else {
		if (!mx_http_requestf(mx, "POST", text, strlen(text), NULL, MX_HTTP_RETRY, on_filter, text,
				      "/_matrix/client/v3/user/%s/filter", mx->user_id)) {
			free(text);
			mx_fatal(mx, "out of memory");
		}
	}
	free(stored_json);
	free(stored_id);
}

/* ---- ops ---- */

static const double PCTS[] = { 50, 99, 100 };

static void log_figures(struct mx *mx)
{
	uint32_t own[3], cpu[3], eown[3], ecpu[3], wown[3] = { 0 }, wcpu[3] = { 0 };

	if (hstats_pcts(&mx->st_own, PCTS, 3, own) == HE_OK &&
	    hstats_pcts(&mx->st_cpu, PCTS, 3, cpu) == HE_OK)
		hlog_info(MX_MOD, "handled %lu commands, own time p50 %u us p99 %u us (%zu timed "
			  "unencrypted replies), CPU time p50 %u us p99 %u us", mx->ncommands,
			  own[0], own[1], mx->st_own.n, cpu[0], cpu[1]);
	else
		hlog_info(MX_MOD, "handled %lu commands", mx->ncommands);
	if (hstats_pcts(&mx->st_enc_own, PCTS, 3, eown) != HE_OK ||
	    hstats_pcts(&mx->st_enc_cpu, PCTS, 3, ecpu) != HE_OK)
		return;
	hstats_pcts(&mx->st_enc_warm, PCTS, 3, wown);
	hstats_pcts(&mx->st_enc_warm_cpu, PCTS, 3, wcpu);
	hlog_info(MX_MOD, "encrypted replies: own time (decrypt, handle, encrypt, send issued) "
		  "p50 %u us p99 %u us max %u us, CPU time p50 %u us p99 %u us (%zu timed); "
		  "without the %zu that set up a new session: p50 %u us p99 %u us, CPU p99 %u us",
		  eown[0], eown[1], eown[2], ecpu[0], ecpu[1], mx->st_enc_own.n,
		  mx->st_enc_own.n - mx->st_enc_warm.n, wown[0], wown[1], wcpu[1]);
}

/* What is queued when Hearth is asked to stop (replies just written, an answer waiting for a
 * private chat) gets a short, bounded grace period inside the loop: no new sync, only the sends
 * and what they need (encryption sessions, a private chat). A second SIGTERM, a fatal error or
 * the deadline ends it; whatever is left goes out after a restart (same transaction ids, so the
 * homeserver shows it once). */
static void flush_sends(struct mx *mx)
{
	uint64_t deadline, now;
	size_t n = mx_send_pending(mx);

	if (!n || mx->auth_lost || mx->app->exit_code)
		return;
	hlog_info(MX_MOD, "sending %zu queued message%s before stopping (at most %d s)", n,
		  n == 1 ? "" : "s", MX_SHUTDOWN_GRACE_MS / 1000);
	deadline = loop_now_ms() + MX_SHUTDOWN_GRACE_MS;
	loop_resume(mx->loop);
	while ((n = mx_send_pending(mx)) && !loop_stopped(mx->loop) && !mx->auth_lost &&
	       (now = loop_now_ms()) < deadline) {
		if (loop_run_once(mx->loop, (int)(deadline - now)) != HE_OK)
			break;
	}
	loop_stop(mx->loop);
	if (n)
		hlog_warn(MX_MOD, "%zu message%s still queued at exit: sent after the next start", n,
			  n == 1 ? "" : "s");
	else
		hlog_info(MX_MOD, "all queued messages sent");
}

static void t_shutdown(struct htransport *t)
{
	struct mx *mx = t->impl;

	mx->stopping = true;
	mx_sync_stop(mx);
	flush_sends(mx);
	log_figures(mx);
}

static void t_free(struct htransport *t)
{
	struct mx *mx;

	if (!t)
		return;
	mx = t->impl;
	mx->stopping = true;
	mx->owed_frozen = true; /* what is still queued stays owed in the store */
	if (mx->crypto && mx->crypto->free)
		mx->crypto->free(mx->crypto_state);
	mx_sync_stop(mx);
	mx_joins_free(mx);
	mx_rooms_free(mx);
	mx_send_free(mx);
	mx_react_free(mx);
	mx_http_free(mx);
	mx_batches_free(mx);
	free(mx->hs);
	free(mx->user_id);
	if (mx->access_token) {
		explicit_bzero(mx->access_token, strlen(mx->access_token));
		free(mx->access_token);
	}
	free(mx->device_id);
	free(mx->filter_id);
	free(mx->first_filter);
	free(mx->since);
	mx_md_cache_free(mx);
	hstats_free(&mx->st_own);
	hstats_free(&mx->st_cpu);
	hstats_free(&mx->st_enc_own);
	hstats_free(&mx->st_enc_cpu);
	hstats_free(&mx->st_enc_warm);
	hstats_free(&mx->st_enc_warm_cpu);
	free(mx);
}

static int t_reload(struct htransport *t)
{
	/* allowed_inviters and moderator_power_level are read from the live config */
	return HE_OK;
}

static const struct htransport_ops ops = {
	.reply = mx_op_reply,
	.post = mx_op_post,
	.greet = mx_op_greet,
	.send_image = mx_op_send_image,
	.post_checkin = mx_op_post_checkin,
	.post_private = mx_op_post_private,
	.send_file = mx_op_send_file,
	.reload = t_reload,
	.shutdown = t_shutdown,
	.free = t_free,
};

int matrix_start(struct happ *app)
{
	const struct config *c = app->cfg;
	const char *why = NULL;
	struct mx *mx;
	size_t n;
	int rc;

	if (!c->matrix_homeserver || !c->matrix_user_id)
		return HE_INVAL;
	if (!config_homeserver_ok(c->matrix_homeserver, c->matrix_allow_insecure_http, &why)) {
		hlog_error(MX_MOD, "[matrix] homeserver: %s", why);
		return HE_INVAL;
	}
	mx = calloc(1, sizeof(*mx));
	if (!mx)
		return HE_NOMEM;
	mx->app = app;
	mx->loop = app->loop;
	mx->start_ms = (uint64_t)time(NULL) * 1000u;
	snprintf(mx->t.name, sizeof(mx->t.name), "matrix");
	mx->t.ops = &ops;
	mx->t.impl = mx;
	hstats_init(&mx->st_own, MX_SAMPLES);
	hstats_init(&mx->st_cpu, MX_SAMPLES);
	hstats_init(&mx->st_enc_own, MX_SAMPLES);
	hstats_init(&mx->st_enc_cpu, MX_SAMPLES);
	hstats_init(&mx->st_enc_warm, MX_SAMPLES);
	hstats_init(&mx->st_enc_warm_cpu, MX_SAMPLES);
	mx->hs = strdup(c->matrix_homeserver);
	mx->user_id = strdup(c->matrix_user_id);
	if (!mx->hs || !mx->user_id) {
		rc = HE_NOMEM;
		goto fail;
	}
	n = strlen(mx->hs);
	while (n && mx->hs[n - 1] == '/')
		mx->hs[--n] = '\0';
	if ((rc = e2e_key_check_mx(mx)) != HE_OK)
		goto fail;
	if ((rc = mx_owed_init(app->store, (int64_t)time(NULL))) != HE_OK ||
	    (rc = mx_react_init(app->store, (int64_t)time(NULL))) != HE_OK) {
		hlog_error(MX_MOD, "could not prepare the store for what is owed to the rooms");
		goto fail;
	}
	if ((rc = mx_http_init(mx)) != HE_OK)
		goto fail;
	if ((rc = mx_crypto_attach(mx)) != HE_OK)
		goto fail;
	if ((rc = happ_add_transport(app, &mx->t)) != HE_OK)
		goto fail;
	hlog_info(MX_MOD, "connecting to %s as %s", mx->hs, mx->user_id);
	return session_begin(mx);
fail:
	t_free(&mx->t);
	return rc;
}
