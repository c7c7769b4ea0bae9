/* phrase.h - everything Hearth's code says to members, in the members' language.
 *
 * The texts live in content/phrases.ini (English, complete: the base and the fallback) and
 * content/LANG/phrases.ini (a translation), read by libinih: "[section]" then "key = text",
 * comments on lines starting with ';' or '#' (and after " ;" on a "key =" line). A long text goes
 * on over indented lines (inih's multi-line values), joined with one space; no line may be over
 * PHRASE_LINE_MAX bytes (inih would cut it). "\n" in a text is a line break and "\\" a
 * backslash. A phrase is named "section.key" ("mood.saved").
 *
 * Slots: a text may hold printf slots (%s, %d, %ld, %zu, %.*s, ...). A translation must have
 * exactly the English text's slots in the same order, else it is refused with FILE:LINE and
 * "[section] key" (the code passes the English arguments to it). Only what an argument is counts: "%02d" and "%d" are the
 * same slot, and "%.0s" is a %s slot that shows nothing (to drop an English plural ending).
 * %n and %p are never allowed. */
#ifndef HEARTH_PHRASE_H
#define HEARTH_PHRASE_H

#include <stdbool.h>
#include <stddef.h>

struct phrasebook;

/* Where load problems go: called once per problem with the file's line (0: the whole file). */
typedef void (*phrase_problem_fn)(void *ud, const char *file, int line, const char *msg);

#define PHRASE_MAX 4000       /* bytes in one phrase */
#define PHRASE_LINE_MAX 190   /* bytes on one line of the file (inih's buffer is 200) */
#define PHRASE_NAME_MAX 49    /* bytes in a section or key name (inih keeps 49) */

/* Parses a phrases.ini text. base is the English book to check slots against (NULL: this is
 * English; its slots are only checked to be ones Hearth passes). Every problem is reported;
 * *out is set unless memory ran out (HE_NOMEM). Returns the number of problems, or HE_NOMEM. */
int phrasebook_parse(const char *file, const char *text, size_t len, const struct phrasebook *base,
		     struct phrasebook **out, phrase_problem_fn problem, void *ud);
void phrasebook_free(struct phrasebook *pb);   /* accepts NULL */

/* The text of key ("mood.saved"), or NULL when this book has none. */
const char *phrasebook_get(const struct phrasebook *pb, const char *key);
size_t phrasebook_count(const struct phrasebook *pb);
/* The i-th key in sorted order (0 <= i < count). */
const char *phrasebook_key(const struct phrasebook *pb, size_t i);

/* The slots of a printf text, normalised ("%s%d%.*s"), into out. False when it holds a slot
 * Hearth never passes (%n, %p, an unknown conversion) or out is too small. */
bool phrase_slots(const char *text, char *out, size_t outlen);

/* The lookup in a language, with English as fallback, is content.h's phrase(). */

#endif
