/* datareq.c - data requests served by an operator: the member's own export and forget. */
#include "care/datareq.h"
#include "core/tz.h"
#include "care/content.h"
#include "care/lang.h"
#include "care/mood.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int datareq_networks(struct happ *app, const char *member, char nets[][64], size_t max, size_t *n)
{
	struct db_stmt *st = db_stmtf(store_sql(app->store),
		"SELECT network FROM mood_entry WHERE member = ? UNION SELECT network FROM mood_consent"
		" WHERE member = ? UNION SELECT network FROM mood_reminder WHERE member = ? UNION"
		" SELECT network FROM mood_pending WHERE member = ? UNION SELECT network FROM"
		" mood_consent_shown WHERE member = ? UNION SELECT network FROM checkin_shown WHERE"
		" room = ? ORDER BY 1", "ssssss", member, member, member, member, member, member);
	int step;

	*n = 0;
	if (!st)
		return HE_DB;
	while ((step = db_step(st)) == DB_ROW && *n < max)
		snprintf(nets[(*n)++], 64, "%s", db_col_text(st, 0));
	db_reset(st);
	return step == DB_ROW || step == DB_DONE ? HE_OK : HE_DB;
}

static int write_new(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600), rc = HE_OK;

	if (fd < 0)
		return errno == EEXIST ? HE_PERM : HE_IO;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = HE_IO;
			break;
		}
		off += (size_t)w;
	}
	if (close(fd) < 0)
		rc = HE_IO;
	if (rc)
		unlink(path);
	return rc;
}

int datareq_export(struct happ *app, const char *network, const char *member, const char *dir,
		   char paths[2][4096], char *err, size_t errlen)
{
	struct hbuf csv = HBUF_INIT;
	char *json = NULL, p[2][4096], lang[16];
	struct content *loaded = NULL;
	long n = 0, day = tz_daykey(app->cfg->timezone, happ_now(app));
	int rc;

	/* the CSV in the language Hearth speaks with the member in private: the command runs
	 * without the content, so it is read here for the words (English when it cannot be) */
	if (!app->content && content_load(app->cfg->content_dir, app->cfg->language, &loaded, NULL, 0) == HE_OK)
		app->content = loaded;
	rc = mood_export_build(app, network, member, lang_for_member(app, network, member, lang, sizeof(lang)),
			       &csv, &json, &n);
	if (rc) {
		he_fmt(err, errlen, "cannot build the export: %s", he_str(rc));
		goto out;
	}
	for (int i = 0; i < 2; i++)
		snprintf(p[i], sizeof(p[i]), "%s/hearth-mood-%04ld-%02ld-%02ld.%s", dir, day / 10000,
			 day / 100 % 100, day % 100, i ? "json" : "csv");
	if ((rc = write_new(p[0], csv.data, csv.len))) {
		he_fmt(err, errlen, "cannot write %s: %s", p[0], rc == HE_PERM ? "it exists already" : strerror(errno));
		goto out;
	}
	if ((rc = write_new(p[1], json, strlen(json)))) {
		he_fmt(err, errlen, "cannot write %s: %s", p[1], rc == HE_PERM ? "it exists already" : strerror(errno));
		unlink(p[0]);
		goto out;
	}
	if (paths)
		memcpy(paths, p, sizeof(p));
	/* the audit line: who and what, never the data */
	hlog_info("admin", "data request: an operator exported the mood log of %s on %s (%ld entries)",
		  member, network, n);
out:
	if (loaded) {
		app->content = NULL;
		content_free(loaded);
	}
	if (csv.data)
		sodium_memzero(csv.data, csv.len);
	if (json)
		sodium_memzero(json, strlen(json));
	hbuf_free(&csv);
	free(json);
	return rc;
}

int datareq_forget(struct happ *app, const char *network, const char *member, char *err, size_t errlen)
{
	int rc = mood_forget_all(app, network, member);

	if (rc) {
		he_fmt(err, errlen, "nothing was deleted: %s", he_str(rc));
		hlog_error("admin", "data request: deleting what Hearth holds about %s on %s failed; nothing "
			   "was deleted", member, network);
		return rc;
	}
	hlog_info("admin", "data request: an operator deleted everything Hearth held about %s on %s",
		  member, network);
	return HE_OK;
}
