/* md.h - Markdown rendering with md4c: HTML for Matrix, plain text for IRC and the console.
 * Returned strings are malloc'd; the caller frees. */
#ifndef HEARTH_MD_H
#define HEARTH_MD_H

#include <stddef.h>

/* Renders Markdown as HTML (Matrix formatted_body). Returns 0 or HE_NOMEM/HE_INVAL. */
int md_to_html(const char *md, size_t len, char **out);

/* Renders Markdown as readable plain text: paragraphs separated by one blank line, list items as
 * "- ", emphasis markers dropped, links as "text (url)". */
int md_to_plain(const char *md, size_t len, char **out);

#endif
