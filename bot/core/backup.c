/* backup.c - a running store copied into one SQLite file with its key files, and back. */
#include "core/backup.h"
#include "core/err.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_MAX 4096 /* a key file is 32 bytes, maybe hex or base64: anything larger is not one */

/* The files a store needs besides the database, by their name in the backup. */
enum { F_E2E, F_MOOD, NFILES };
static const char *const file_names[NFILES] = { "e2e.key", "mood.key" };

static int file_path(const char *data_dir, const char *mood_key_file, int which, char *buf,
		     size_t len)
{
	int n = which == F_MOOD ? snprintf(buf, len, "%s", mood_key_file)
				: snprintf(buf, len, "%s/%s", data_dir, file_names[which]);
	return n > 0 && (size_t)n < len ? HE_OK : HE_TOOBIG;
}

/* Reads a small file whole. HE_NOTFOUND when it does not exist. */
static int read_small(const char *path, unsigned char *buf, size_t cap, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = HE_OK;
	ssize_t n;

	*len = 0;
	if (fd < 0)
		return errno == ENOENT ? HE_NOTFOUND : HE_IO;
	while ((n = read(fd, buf + *len, cap - *len)) > 0)
		*len += (size_t)n;
	if (n < 0)
		rc = HE_IO;
	else if (*len == cap)
		rc = HE_TOOBIG;
	close(fd);
	return rc;
}

/* Writes a new file, 0600, never over an existing one, synced. */
static int write_new(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600), rc = HE_OK;
	const unsigned char *p = data;

	if (fd < 0)
		return errno == EEXIST ? HE_PERM : HE_IO;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = HE_IO;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (rc == HE_OK && fsync(fd) < 0)
		rc = HE_IO;
	close(fd);
	if (rc)
		unlink(path);
	return rc;
}

static int copy_db(sqlite3 *src, sqlite3 *dst)
{
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
	int rc;

	if (!b)
		return HE_DB;
	/* -1: every page in one step, under one read transaction: a consistent snapshot, while
	 * the running Hearth goes on writing to its WAL. */
	while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED)
		sqlite3_sleep(50);
	sqlite3_backup_finish(b);
	return rc == SQLITE_DONE ? HE_OK : HE_DB;
}

static int fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return HE_IO;
	rc = fsync(fd) < 0 ? HE_IO : HE_OK;
	close(fd);
	return rc;
}

int backup_write(const char *data_dir, const char *mood_key_file, const char *file,
		 char *err, size_t errlen)
{
	char src_path[4096], tmp[4200], path[4096];
	unsigned char key[KEY_MAX];
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_stmt *st = NULL;
	struct stat sb;
	bool tmp_made = false;
	int rc;

	if (snprintf(src_path, sizeof(src_path), "%s/hearth.db", data_dir) >= (int)sizeof(src_path) ||
	    snprintf(tmp, sizeof(tmp), "%s.part", file) >= (int)sizeof(tmp)) {
		he_fmt(err, errlen, "the path is too long");
		return HE_TOOBIG;
	}
	if (stat(src_path, &sb) < 0) {
		he_fmt(err, errlen, "there is no store to back up at %s", src_path);
		return HE_NOTFOUND;
	}
	if (lstat(file, &sb) == 0) {
		he_fmt(err, errlen, "%s exists already; choose a new file name (a backup never "
		       "overwrites a file)", file);
		return HE_PERM;
	}
	if (sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		he_fmt(err, errlen, "cannot open %s: %s", src_path, src ? sqlite3_errmsg(src) : "?");
		rc = HE_DB;
		goto out;
	}
	sqlite3_busy_timeout(src, 5000);
	/* created 0600 by us first, so that SQLite never makes it with a wider mode */
	if ((rc = write_new(tmp, "", 0))) {
		he_fmt(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	tmp_made = true;
	rc = HE_DB;
	if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		goto db_err;
	if (copy_db(src, dst))
		goto db_err;
	/* one file: no -wal beside it */
	if (sqlite3_exec(dst, "PRAGMA journal_mode=DELETE;"
			 "CREATE TABLE hearth_backup (name TEXT PRIMARY KEY, data BLOB NOT NULL);",
			 NULL, NULL, NULL) != SQLITE_OK)
		goto db_err;
	if (sqlite3_prepare_v2(dst, "INSERT INTO hearth_backup (name, data) VALUES (?, ?)", -1, &st,
			       NULL) != SQLITE_OK)
		goto db_err;
	for (int i = 0; i < NFILES; i++) {
		size_t len;
		if ((rc = file_path(data_dir, mood_key_file, i, path, sizeof(path))))
			goto out;
		rc = read_small(path, key, sizeof(key), &len);
		if (rc == HE_NOTFOUND)
			continue; /* e.g. no Matrix: no e2e.key */
		if (rc) {
			he_fmt(err, errlen, "cannot read the key file %s", path);
			goto out;
		}
		rc = HE_DB;
		sqlite3_reset(st);
		if (sqlite3_bind_text(st, 1, file_names[i], -1, SQLITE_STATIC) != SQLITE_OK ||
		    sqlite3_bind_blob(st, 2, key, (int)len, SQLITE_TRANSIENT) != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_DONE)
			goto db_err;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_close(dst) != SQLITE_OK)
		goto db_err;
	dst = NULL;
	if (fsync_path(tmp) || rename(tmp, file) < 0) {
		he_fmt(err, errlen, "cannot write %s: %s", file, strerror(errno));
		rc = HE_IO;
		goto out;
	}
	tmp_made = false;
	rc = HE_OK;
	goto out;
db_err:
	he_fmt(err, errlen, "the copy failed: %s", dst ? sqlite3_errmsg(dst) : "cannot open the copy");
	rc = HE_DB;
out:
	sodium_memzero(key, sizeof(key));
	sqlite3_finalize(st);
	sqlite3_close(dst);
	sqlite3_close(src);
	if (tmp_made)
		unlink(tmp);
	return rc;
}

/* A data folder that restore may fill: missing (then made, 0700) or empty. */
static int empty_dir(const char *dir, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = HE_OK;

	if (!d) {
		if (errno == ENOENT && mkdir(dir, 0700) == 0)
			return HE_OK;
		he_fmt(err, errlen, "cannot use the data folder %s: %s", dir, strerror(errno));
		return HE_IO;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			he_fmt(err, errlen, "the data folder %s is not empty; restore only into a new or "
			       "empty folder, so that no store is ever mixed with another", dir);
			rc = HE_PERM;
			break;
		}
	closedir(d);
	return rc;
}

int backup_restore(const char *file, const char *data_dir, const char *mood_key_file,
		   char *err, size_t errlen)
{
	char dst_path[4096], path[4096];
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_stmt *st = NULL;
	bool have[NFILES] = { false };
	int rc = HE_DB, step;

	if (snprintf(dst_path, sizeof(dst_path), "%s/hearth.db", data_dir) >= (int)sizeof(dst_path)) {
		he_fmt(err, errlen, "the path is too long");
		return HE_TOOBIG;
	}
	if (sqlite3_open_v2(file, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		he_fmt(err, errlen, "cannot open %s: %s", file, src ? sqlite3_errmsg(src) : "?");
		goto out;
	}
	/* a Hearth backup, whole: checked before anything is written */
	if (sqlite3_prepare_v2(src, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
		he_fmt(err, errlen, "%s is not a Hearth backup or is damaged", file);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(src, "SELECT name, data FROM hearth_backup", -1, &st, NULL) != SQLITE_OK) {
		he_fmt(err, errlen, "%s is not a Hearth backup (made by hearth backup)", file);
		goto out;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		int i;
		for (i = 0; i < NFILES; i++)
			if (name && strcmp(name, file_names[i]) == 0)
				break;
		/* only the names Hearth writes: a crafted backup cannot put a file anywhere else */
		if (i == NFILES || sqlite3_column_bytes(st, 1) > KEY_MAX) {
			he_fmt(err, errlen, "%s holds an unknown file; it was not made by hearth backup", file);
			rc = HE_INVAL;
			goto out;
		}
		have[i] = true;
	}
	if (step != SQLITE_DONE) {
		he_fmt(err, errlen, "cannot read %s: %s", file, sqlite3_errmsg(src));
		goto out;
	}
	if ((rc = empty_dir(data_dir, err, errlen)))
		goto out;
	if (have[F_MOOD] && access(mood_key_file, F_OK) == 0) {
		he_fmt(err, errlen, "the mood key file %s exists already; move it away first (restore "
		       "never overwrites a key)", mood_key_file);
		rc = HE_PERM;
		goto out;
	}
	rc = HE_DB;
	if (write_new(dst_path, "", 0) ||
	    sqlite3_open_v2(dst_path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    copy_db(src, dst) ||
	    sqlite3_exec(dst, "DROP TABLE hearth_backup; PRAGMA journal_mode=WAL;", NULL, NULL, NULL) !=
		    SQLITE_OK) {
		he_fmt(err, errlen, "cannot write %s: %s", dst_path, dst ? sqlite3_errmsg(dst) : strerror(errno));
		goto out;
	}
	sqlite3_reset(st);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		int i = strcmp(name, file_names[F_E2E]) == 0 ? F_E2E : F_MOOD;
		if ((rc = file_path(data_dir, mood_key_file, i, path, sizeof(path))) ||
		    (rc = write_new(path, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1)))) {
			he_fmt(err, errlen, "cannot write the key file %s", path);
			goto out;
		}
	}
	rc = HE_OK;
out:
	sqlite3_finalize(st);
	sqlite3_close(dst);
	sqlite3_close(src);
	if (rc && dst)
		unlink(dst_path); /* the folder was empty: leave it so */
	return rc;
}
