/* buf.h - a growable byte buffer, always NUL-terminated.
 *
 * struct hbuf is a value: zero-initialise it (HBUF_INIT), append, then either take ownership of
 * the bytes with hbuf_steal() or release them with hbuf_free(). A buffer that failed to grow
 * stays valid and remembers the failure in `oom`; append calls then do nothing. */
#ifndef HEARTH_BUF_H
#define HEARTH_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct hbuf {
	char *data;
	size_t len;
	size_t cap;
	bool oom;
};

#define HBUF_INIT { NULL, 0, 0, false }

int hbuf_append(struct hbuf *b, const void *data, size_t len);
int hbuf_puts(struct hbuf *b, const char *s);
int hbuf_putc(struct hbuf *b, char c);
int hbuf_printf(struct hbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int hbuf_vprintf(struct hbuf *b, const char *fmt, va_list ap);
void hbuf_reset(struct hbuf *b);              /* length 0, keeps memory */
/* Returns the bytes (caller frees) or NULL after an allocation failure; b is emptied. */
char *hbuf_steal(struct hbuf *b);
void hbuf_free(struct hbuf *b);               /* accepts a zeroed buffer */
/* The current contents as a C string ("" when empty). */
const char *hbuf_str(const struct hbuf *b);

#endif
