/* crisis_rules.h - the crisis pattern set: parsed from content/crisis/patterns-LANG.txt, matched
 * against members' messages.
 *
 * The file format is described in content/crisis/README.md. In short: a line
 * "@name = a | b c | d*" defines a word class; "signal: PATTERN" is language owed an answer;
 * "except: PATTERN" is language that is not (a figure of speech, a title, news, a negation):
 * a signal is dropped when an exception's match shares a word with it. A PATTERN is words
 * separated by spaces: a word ("die"), a prefix ("suicid*"), alternatives ("cut|cutting"), a word
 * class ("@myself"), "do_not" for two words in an alternative, "~word" for the word or a spelling
 * one edit away, "?" after any of these for an optional one, and "..N" for up to N other words.
 *
 * Matching runs on whole words after text_fold and text_words: case, accents and curly quotes do
 * not matter, punctuation breaks words and an apostrophe inside a word is dropped ("can't" and
 * "cant" are one word). German spellings without umlauts or ß meet their umlaut forms: "ae", "oe",
 * "ue" fold to "a", "o", "u" and "ss" to "s", in patterns and messages alike ("muede" is "müde",
 * "Strasse" is "Straße"). A struct crisis_rules is immutable once parsed. */
#ifndef HEARTH_CRISIS_RULES_H
#define HEARTH_CRISIS_RULES_H

#include <stddef.h>

struct crisis_rules;

/* Parses text (len bytes) read from file name. On error returns HE_INVAL (or HE_NOMEM) and writes
 * "NAME:LINE: message" to err. */
int crisis_rules_parse(const char *name, const char *text, size_t len, struct crisis_rules **out,
		       char *err, size_t errlen);
void crisis_rules_free(struct crisis_rules *r);      /* accepts NULL */

/* Adds a copy of src's patterns (another language's file) to dst, so one match checks both. Each
 * file's word classes were its own; a rule's line stays the line in its own file. HE_OK (also for
 * a NULL src) or HE_NOMEM, with dst unchanged. */
int crisis_rules_merge(struct crisis_rules *dst, const struct crisis_rules *src);

/* How many signal and exception lines r holds. */
void crisis_rules_count(const struct crisis_rules *r, size_t *signals, size_t *excepts);

/* 1 when folded words (text_words output: words joined by single spaces) hold a signal that no
 * exception overlaps, 0 when not, HE_NOMEM. line, when not NULL, gets the signal's line. */
int crisis_rules_match(const struct crisis_rules *r, const char *words, int *line);

#endif
