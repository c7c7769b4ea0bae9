/* content_int.h - the content loader's pieces shared by content.c (English, the base) and
 * content_lang.c (languages, content/LANG/). Internal to those two files. */
#ifndef HEARTH_CONTENT_INT_H
#define HEARTH_CONTENT_INT_H

#include <stdbool.h>
#include <stddef.h>

struct config_problems;
struct content;
struct phrasebook;

/* Where problems go while loading: the first one into err ("FILE:LINE: message"), and with
 * content_check every one into probs. Loading goes on past a problem, so one pass finds them
 * all; any problem fails the load. */
struct loader {
	char *err;
	size_t errlen;
	struct config_problems *probs;
	size_t n;
};

void cl_problem(struct loader *L, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int cl_read_file(const char *path, char **out, size_t *len);
int cl_read_file_max(const char *path, char **out, size_t *len, size_t max);
bool cl_exists(const char *path);
int cl_push_str(char ***arr, size_t *n, char *s);    /* takes s (NULL: HE_NOMEM) */
void cl_free_strs(char **arr, size_t n);
int cl_cmp_str(const void *a, const void *b);
int cl_cmp_topic(const void *a, const void *b);
/* dir/topics; required: "no topics found" is a problem. */
int cl_load_topics(struct content *c, const char *dir, bool required, struct loader *L);
int cl_load_prompts(struct content *c, const char *path, struct loader *L);
int cl_load_doc(const char *path, char **body, char **title, int *version, char **country,
		struct loader *L);
int cl_load_countries(struct content *c, const char *dir, struct loader *L);

/* content_lang.c: dir/phrases.ini (base NULL: English, required) and every content/LANG/. */
int content_load_phrases(struct content *c, const char *dir, const struct phrasebook *base, struct loader *L);
int content_load_langs(struct content *en, const char *dir, struct loader *L);

#endif
