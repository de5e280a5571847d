/*
 * fuzz_boot_pvh.c — the PVH ELF loader (ELF32/ELF64 program headers, the Xen
 * entry note, start info) over arbitrary image bytes, with an initrd whose
 * size the last input byte picks. Guest RAM is a 16 MiB static buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/boot_pvh.h"
#include "arch/x86/layout.h"
#include "mem/gmem.h"

#define FUZZ_MEM (16u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	static const uint8_t initrd[64 << 10];
	struct gmem gm;
	struct layout lo;
	struct x86_cpu_state st;
	struct boot_image img;
	char err[160];
	size_t initrd_len = 0;
	uint8_t *copy;

	if (!ram) {
		ram = calloc(1, FUZZ_MEM);
		if (!ram)
			abort();
	}
	gmem_init(&gm);
	if (gmem_add_hva(&gm, 0, FUZZ_MEM, ram) || layout_init(&lo, FUZZ_MEM, NULL, 0))
		abort();
	copy = malloc(size ? size : 1);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	pvh_detect(copy, size);
	pvh_parse(copy, size, &lo, &img, err, sizeof(err));
	if (size)
		initrd_len = (size_t)(data[size - 1] & 0x3F) << 10;
	pvh_load(&gm, &lo, copy, size, initrd, initrd_len, "fuzz", 0xE0000, &st, err, sizeof(err));
	free(copy);
	return 0;
}
