/* text.h - UTF-8 text helpers shared by every module.
 *
 * All functions treat input as untrusted bytes: they never read past the given length and
 * never assume valid UTF-8 unless they say so. Returned strings are malloc'd; the caller frees. */
#ifndef HEARTH_TEXT_H
#define HEARTH_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
bool text_utf8_valid(const char *s, size_t len);

/* Decodes one code point at s (len bytes available). Returns its byte length (1-4) and sets *cp,
 * or 0 for an invalid sequence. */
size_t text_utf8_decode(const char *s, size_t len, uint32_t *cp);

/* Longest prefix of s (at most max bytes) that does not split a UTF-8 sequence. */
size_t text_utf8_prefix(const char *s, size_t len, size_t max);

/* Number of code points in a valid UTF-8 string. */
size_t text_utf8_count(const char *s, size_t len);

/* Checks a message from a member: returns HE_OK and a trimmed copy in *out, HE_TOOBIG when it is
 * over max bytes, HE_INVAL for invalid UTF-8 or control characters (tab and newline are fine). */
int text_clean_input(const char *in, size_t len, size_t max, char **out);

/* Folds text for matching: lower case, Latin accents removed (é -> e), curly quotes made
 * straight, Unicode spaces and runs of white space made one ASCII space, trimmed.
 * Returns NULL on allocation failure. */
char *text_fold(const char *s);
/* The same for len bytes of s (NUL bytes are dropped). Bytes that are not UTF-8 are read as
 * Latin-1 (with Windows-1252's curly quotes and dashes), so text from a Latin-1 IRC client folds
 * as its writer meant it. */
char *text_fold_n(const char *s, size_t len);

/* Rewrites folded text (text_fold) as its words joined by single spaces: punctuation, symbols
 * and emoji break words, an apostrophe inside a word is dropped ("can't" -> "cant"). Used to
 * match phrases on whole words. Never longer than s; NULL on allocation failure. */
char *text_words(const char *s);

/* Edit distance (Levenshtein, by code point) between two strings, capped at 64 code points
 * each; longer input is compared by its first 64 code points. */
unsigned text_distance(const char *a, const char *b);
/* The same, but stops early: any distance above max is returned as max + 1. */
unsigned text_distance_max(const char *a, const char *b, unsigned max);

/* Converts Latin-1 bytes to UTF-8 (for IRC input that is not UTF-8). */
char *text_latin1_to_utf8(const char *in, size_t len);

/* Skips ASCII white space. */
const char *text_skip_space(const char *s);

/* Copies the next space-separated word of *p into out (truncated to outlen-1 bytes at a UTF-8
 * boundary) and advances *p past it and the following spaces. Returns false when none is left. */
bool text_next_word(const char **p, char *out, size_t outlen);

/* Case-insensitive ASCII prefix test. */
bool text_starts_with_ci(const char *s, const char *prefix);

/* Untrusted text (a member's or moderator's words) made safe to echo inside Markdown, as inline
 * text: a backslash goes before each of \ ` * _ [ ] < > & ~ | and before a first character that
 * would start a list, heading, quote or rule ("- ", "#", "1."), so it adds no emphasis, link,
 * code, HTML, entity, table or block; line breaks, tabs and control characters become spaces, runs
 * of spaces one, and leading spaces go (no indented code block); bytes that are not UTF-8 become
 * U+FFFD. A zero-width space (U+200B) goes after '@', after a ':' followed by '/' or a letter, and
 * after a '.' between letters or digits, so neither md4c nor a client's linkifier sees a URL, a
 * domain, a @user:server mention or a #room:server pill. NULL on allocation failure. */
char *text_md_escape(const char *s);

/* The same text as a complete code span ("`...`", backticks included): its fence is longer than
 * any run of backticks in s, so s cannot end it (runs of more than 8 become U+02CB, as md4c reads
 * only short fences); controls and runs of spaces as above. Nothing
 * inside a code span is a link or a mention, so the text is otherwise kept as typed. */
char *text_md_code(const char *s);

/* strdup that returns NULL for NULL. */
char *text_dup(const char *s);

#endif
