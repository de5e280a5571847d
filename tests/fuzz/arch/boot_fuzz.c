/* boot_fuzz.c — the shared part of the boot loaders' fuzz targets (boot_fuzz.h). */
#include "boot_fuzz.h"

#include <stdlib.h>
#include <string.h>

void boot_fuzz_begin(struct boot_fuzz *f, uint32_t mem_bytes, const uint8_t *data, size_t size)
{
	static uint8_t *ram;

	if (!ram) {
		ram = calloc(1, mem_bytes);
		if (!ram)
			abort();
	}
	gmem_init(&f->gm);
	if (gmem_add_hva(&f->gm, 0, mem_bytes, ram) || layout_init(&f->lo, mem_bytes, NULL, 0))
		abort();
	f->image = malloc(size ? size : 1);
	if (!f->image)
		abort();
	memcpy(f->image, data, size);
	f->image_len = size;
}

void boot_fuzz_end(struct boot_fuzz *f)
{
	free(f->image);
	f->image = NULL;
}

const uint8_t *boot_fuzz_initrd(const uint8_t *data, size_t size, size_t *len)
{
	static const uint8_t initrd[64 << 10];

	*len = size ? (size_t)(data[size - 1] & 0x3F) << 10 : 0;
	return initrd;
}
