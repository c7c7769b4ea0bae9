/* config_problems.c - the problems --check-config and a refused start report: collected with
 * their file and line, printed in file and line order as FILE:LINE: message. */
#include "core/config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void problem_v(struct config_problems *p, const char *file, int line, const char *fmt, va_list ap)
{
	struct config_problem *it;

	if (!p)
		return;
	if (p->n >= sizeof(p->items) / sizeof(p->items[0])) {
		p->dropped++;
		return;
	}
	it = &p->items[p->n];
	it->file = NULL;
	if (file && !(it->file = strdup(file))) {
		p->dropped++; /* better unshown than shown under the wrong file */
		return;
	}
	it->line = line;
	vsnprintf(it->msg, sizeof(it->msg), fmt, ap);
	p->n++;
}

void config_problem(struct config_problems *p, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	problem_v(p, NULL, line, fmt, ap);
	va_end(ap);
}

void config_problem_in(struct config_problems *p, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	problem_v(p, file, line, fmt, ap);
	va_end(ap);
}

void config_problems_clear(struct config_problems *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->items[i].file);
		p->items[i].file = NULL;
	}
	p->n = 0;
	p->dropped = 0;
}

static int cmp_problem(const void *a, const void *b)
{
	const struct config_problem *x = *(const struct config_problem *const *)a;
	const struct config_problem *y = *(const struct config_problem *const *)b;
	int c;

	if (!x->file != !y->file)
		return x->file ? 1 : -1;
	if (x->file && (c = strcmp(x->file, y->file)))
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x < y ? -1 : x > y; /* as found */
}

void config_print_problems(const struct config *c, const char *path,
			   const struct config_problems *probs, void *file)
{
	FILE *f = file;
	const char *name = path ? path : (c && c->path ? c->path : "(defaults)");
	const struct config_problem *order[sizeof(probs->items) / sizeof(probs->items[0])];

	for (size_t i = 0; i < probs->n; i++)
		order[i] = &probs->items[i];
	qsort(order, probs->n, sizeof(order[0]), cmp_problem);
	for (size_t i = 0; i < probs->n; i++) {
		const struct config_problem *it = order[i];
		if (it->line > 0)
			fprintf(f, "%s:%d: %s\n", it->file ? it->file : name, it->line, it->msg);
		else
			fprintf(f, "%s: %s\n", it->file ? it->file : name, it->msg);
	}
	if (probs->dropped)
		fprintf(f, "%s: %zu more problems not shown\n", name, probs->dropped);
}
