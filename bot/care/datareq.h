/* datareq.h - an operator serves a member's access or erasure request (GDPR Art. 15/17) from
 * the command line, for a member who cannot use the chat: `hearth admin member export ID` and
 * `hearth admin member forget ID`. They give exactly what the member's own `!mood export` and
 * `!mood forget confirm` give (the same functions, mood.h), and write one audit line to the log
 * that names the member and what was done, never the data. */
#ifndef HEARTH_DATAREQ_H
#define HEARTH_DATAREQ_H

#include <stddef.h>

#include "core/app.h"

#define DATAREQ_MAX_NETS 16

/* The networks on which Hearth holds something about member (mood tables, private check-in
 * rotation). *n may be 0. */
int datareq_networks(struct happ *app, const char *member, char nets[][64], size_t max, size_t *n);

/* Writes the member's export as dir/hearth-mood-YYYY-MM-DD.csv and .json (0600, never over an
 * existing file); the paths written go to paths (may be NULL). HE_NOTFOUND when there is
 * nothing to export. */
int datareq_export(struct happ *app, const char *network, const char *member, const char *dir,
		   char paths[2][4096], char *err, size_t errlen);

/* Hard-deletes everything of the member, as `!mood forget confirm` does. */
int datareq_forget(struct happ *app, const char *network, const char *member, char *err, size_t errlen);

#endif
