/* pngmem.c - test kit: decode a PNG held in memory with cairo. */
#include "pngmem.h"

#include <string.h>

struct reader {
	const unsigned char *p;
	size_t len, off;
};

static cairo_status_t rd(void *ud, unsigned char *data, unsigned int len)
{
	struct reader *r = ud;

	if (r->off + len > r->len)
		return CAIRO_STATUS_READ_ERROR;
	memcpy(data, r->p + r->off, len);
	r->off += len;
	return CAIRO_STATUS_SUCCESS;
}

cairo_surface_t *tk_png_decode(const void *p, size_t len)
{
	struct reader r = { p, len, 0 };

	return cairo_image_surface_create_from_png_stream(rd, &r);
}
