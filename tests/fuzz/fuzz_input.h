/* fuzz_input.h - the one helper the fuzz targets share: libFuzzer's bytes as a C string. */
#ifndef HEARTH_FUZZ_INPUT_H
#define HEARTH_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A malloc'd, NUL-terminated copy of data[0..size) (the caller frees it), or NULL when out of
 * memory. Bytes after an embedded NUL are copied but C-string readers stop at the first NUL. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return NULL;
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
