/* store_copy.c - `hearth store copy`: a whole SQLite store into an empty store (PostgreSQL).
 *
 * The source folder's lock is taken first, so a running Hearth is never copied mid-write. The
 * target gets this build's tables (every module's migrations), must hold no rows, and receives
 * everything in one transaction with row counts compared (store/db_copy.c). Key files are not
 * touched: encrypted notes and E2EE pickles stay sealed with the keys in data_dir. */
#include "cli/store_copy.h"
#include "care/checkin.h"
#include "care/mood.h"
#include "care/rooms.h"
#include "care/sched.h"
#include "core/err.h"
#include "core/log.h"
#include "net/irc/owed.h"
#include "net/matrix/mx.h"
#include "store/db.h"
#include "store/db_copy.h"
#include "store/lease.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every module's tables, as the daemon makes them at start. */
static int (*const migrators[])(struct store *) = {
	rooms_migrate, checkin_migrate, sched_migrate, mood_migrate, mx_owed_migrate, mx_react_migrate,
	lease_migrate, irc_owed_migrate,
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: hearth store copy --from sqlite:PATH --to postgresql://USER@HOST/DATABASE\n"
		"\n"
		"Copies every table of a stopped Hearth's SQLite store (PATH: its data folder or its\n"
		"hearth.db) into an empty PostgreSQL database. Encrypted data stays encrypted; the key\n"
		"files stay in the data folder (use the same ones with the new store). The password\n"
		"comes from HEARTH_STORE_PASSWORD or ~/.pgpass.\n");
}

static void said(const char *table, int64_t rows, void *arg)
{
	printf("  %-28s %lld rows\n", table, (long long)rows);
}

int store_copy_main(int argc, char **argv)
{
	const char *from = NULL, *to = NULL;
	char *path = NULL, *lock = NULL, *dir = NULL;
	struct db *src = NULL;
	struct store *dst = NULL;
	struct stat st;
	int lock_fd = -1, rc = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = argv[++i];
		else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			to = argv[++i];
		else if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!from || !to || strncmp(from, "sqlite:", 7) != 0 || !from[7] || !db_url_is_pg(to)) {
		usage(stderr);
		return 2;
	}
	from += 7;
	if (stat(from, &st) != 0) {
		fprintf(stderr, "hearth: %s: %s\n", from, strerror(errno));
		return 1;
	}
	if (S_ISDIR(st.st_mode)) {
		if (asprintf(&path, "%s/hearth.db", from) < 0 || !(dir = strdup(from)))
			goto oom;
	} else {
		char *slash;
		if (!(path = strdup(from)) || !(dir = strdup(from)))
			goto oom;
		slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		else
			strcpy(dir, ".");
	}
	if (access(path, R_OK) != 0) {
		fprintf(stderr, "hearth: cannot read %s: %s\n", path, strerror(errno));
		goto out;
	}
	/* A running Hearth holds this lock: never copy a store that is being written. */
	if (asprintf(&lock, "%s/hearth.lock", dir) < 0)
		goto oom;
	lock_fd = open(lock, O_RDWR | O_CLOEXEC);
	if (lock_fd >= 0 && flock(lock_fd, LOCK_EX | LOCK_NB) < 0) {
		fprintf(stderr, "hearth: a Hearth is running on %s; stop it first, then copy\n", dir);
		goto out;
	}
	if (db_open_sqlite(path, &src))
		goto out;
	if (store_open_url(NULL, to, &dst))
		goto out;
	for (size_t i = 0; i < sizeof(migrators) / sizeof(migrators[0]); i++)
		if (migrators[i](dst))
			goto out;
	printf("copying %s into %s\n", path, db_safe_url(store_sql(dst)));
	switch (db_copy(src, store_sql(dst), said, NULL)) {
	case HE_OK:
		printf("done: every table copied and its rows counted. Point [store] url at the new store "
		       "and keep the key files of %s with it.\n", dir);
		rc = 0;
		break;
	case HE_PERM:
		fprintf(stderr, "hearth: nothing copied: the target already holds data. Copy only into "
			"an empty database.\n");
		break;
	default:
		fprintf(stderr, "hearth: nothing copied (the reason is above)\n");
		break;
	}
	goto out;
oom:
	fprintf(stderr, "hearth: out of memory\n");
out:
	store_free(dst);
	db_free(src);
	if (lock_fd >= 0)
		close(lock_fd);
	free(lock);
	free(path);
	free(dir);
	return rc;
}
