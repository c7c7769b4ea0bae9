/* pngmem.h - test kit: a PNG held in memory, decoded by cairo (tests read charts back). */
#ifndef HEARTH_TEST_PNGMEM_H
#define HEARTH_TEST_PNGMEM_H

#include <cairo.h>
#include <stddef.h>

/* The image surface for the PNG bytes p[0..len) (the caller destroys it; its status says
 * whether the bytes were a PNG). */
cairo_surface_t *tk_png_decode(const void *p, size_t len);

#endif
