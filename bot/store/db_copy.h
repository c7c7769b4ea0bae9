/* db_copy.h - copies a whole SQLite store into another store (`hearth store copy`).
 *
 * The target must already have this Hearth's schema (every module migrated) and hold no rows
 * in any table the source has. Values are copied as they are: encrypted notes and E2EE pickles
 * stay encrypted (their keys stay in their files, never in the store). Everything goes in one
 * transaction on the target; row counts are compared table by table before it commits, and
 * PostgreSQL identity sequences are moved past the copied ids. */
#ifndef HEARTH_DB_COPY_H
#define HEARTH_DB_COPY_H

#include <stdint.h>

#include "store/db.h"

/* Called after each table with its name and row count (may be NULL). */
typedef void (*db_copy_cb)(const char *table, int64_t rows, void *arg);

/* src must be SQLite. HE_OK; HE_PERM when the target already holds data (nothing copied);
 * HE_INVAL when the schemas differ (a module's version, a missing table or column: nothing
 * copied); HE_DB/HE_IO (logged; the target is left as it was). */
int db_copy(struct db *src, struct db *dst, db_copy_cb cb, void *arg);

#endif
