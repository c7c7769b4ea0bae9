/* backup.h - `hearth backup FILE` and `hearth restore FILE`.
 *
 * A backup is ONE SQLite database file: a consistent copy of DATA_DIR/hearth.db made with
 * SQLite's online backup API (so Hearth may keep running and writing), plus one extra table,
 * hearth_backup(name TEXT PRIMARY KEY, data BLOB), that holds the key files the store needs:
 * "e2e.key" (the pickle key of the Matrix encryption state) and "mood.key" (the key of the mood
 * notes). Why SQLite and not a tar or a folder: the format is documented and stable, it is
 * checked on open (PRAGMA quick_check), one file is easy to move and to keep at 0600, and
 * `sqlite3 FILE .tables` shows what is inside without Hearth. The file is written with mode
 * 0600 under a temporary name and renamed into place, so a failed run never leaves half a
 * backup under FILE. It holds the keys AND the data they open: keep it as safe as the data
 * folder itself.
 *
 * restore writes a backup into a data folder that is missing or empty (it refuses any other:
 * it never mixes two stores), the keys to DATA_DIR/e2e.key and the mood key file (0600, never
 * over an existing file), then drops the extra table from the restored database. */
#ifndef HEARTH_BACKUP_H
#define HEARTH_BACKUP_H

#include <stddef.h>

/* Copies DATA_DIR/hearth.db and the key files into file (which must not exist). On error
 * returns a negative HE_* and err says why in words an operator can act on. */
int backup_write(const char *data_dir, const char *mood_key_file, const char *file,
		 char *err, size_t errlen);

/* Restores file into data_dir (missing or empty) and the mood key into mood_key_file. */
int backup_restore(const char *file, const char *data_dir, const char *mood_key_file,
		   char *err, size_t errlen);

#endif
