/* buf.h - a growable byte buffer, always NUL-terminated.
 *
 * struct hbuf is a value: zero-initialise it (HBUF_INIT), append, then either take ownership of
 * the bytes with hbuf_steal() or release them with hbuf_free(). A buffer that failed to grow
 * stays valid and remembers the failure in `oom`; append calls then do nothing.
 *
 * A buffer may have a size cap (`max`, 0 for none, as curl's dynbuf has): an append that would
 * take it over max bytes returns HE_TOOBIG and changes nothing. The line reader below uses it so
 * that no peer can make a transport hold more than one capped line. */
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
	size_t max;                   /* most bytes it may hold (NUL not counted); 0: no cap */
};

#define HBUF_INIT { NULL, 0, 0, false, 0 }
#define HBUF_INIT_MAX(m) { NULL, 0, 0, false, (m) }

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

/* ---- a capped line reader, shared by the console and IRC
 *
 * Bytes arrive in chunks of any size; every '\n' ends a line. Each line (without its '\n'; a
 * '\r' before it is kept for the caller's protocol to judge) is handed to fn NUL-terminated. A
 * line longer than max bytes is never held: its bytes are dropped as they come and, at its '\n',
 * fn is called once with line NULL and len the number of bytes dropped (capped at SIZE_MAX). */
struct hlines {
	struct hbuf b;
	bool discarding;              /* the current line went over the cap */
	size_t dropped;               /* bytes of it dropped so far */
};

/* fn returns 0 to go on; anything else stops the feed and is returned (the rest of the chunk is
 * dropped: a transport stops reading when it closes or quits). */
typedef int (*hlines_fn)(void *ud, const char *line, size_t len);

void hlines_init(struct hlines *r, size_t max);
int hlines_feed(struct hlines *r, const char *data, size_t n, hlines_fn fn, void *ud);
/* At end of input: hands over a last line that had no '\n' (if it fit). */
int hlines_finish(struct hlines *r, hlines_fn fn, void *ud);
/* Forgets a partial line (a new connection). */
void hlines_reset(struct hlines *r);
void hlines_free(struct hlines *r);

#endif
