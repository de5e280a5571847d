/*
 * fuzz_boot_bzimage.c — the Linux boot protocol loader over arbitrary image
 * bytes: the input is a bzImage file; the first byte, when the input is long
 * enough, also picks the initrd size and the command line length so those
 * placement checks are exercised. Guest RAM is a 64 MiB static buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/boot_bzimage.h"
#include "arch/x86/layout.h"
#include "mem/gmem.h"

#define FUZZ_MEM (64u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram, *initrd; /* separate buffers: the initrd is host memory */
	static char cmdline[4096];
	struct gmem gm;
	struct layout lo;
	struct x86_cpu_state st;
	struct bzimage_info info;
	char err[160];
	size_t initrd_len = 0, cmd_len = 0;
	uint8_t *copy;

	if (!ram) {
		ram = calloc(1, FUZZ_MEM);
		initrd = calloc(1, 256u << 16);
		if (!ram || !initrd)
			abort();
	}
	gmem_init(&gm);
	if (gmem_add_hva(&gm, 0, FUZZ_MEM, ram) || layout_init(&lo, FUZZ_MEM, NULL, 0))
		abort();
	/* exact-size copy so that any overread is seen by ASan */
	copy = malloc(size ? size : 1);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	bzimage_parse(copy, size, &lo, &info, err, sizeof(err));
	if (size > 0x300) {
		initrd_len = (size_t)data[0x2FF] << 16;
		cmd_len = (size_t)data[0x2FE] << 4;
	}
	memset(cmdline, 'x', cmd_len);
	cmdline[cmd_len] = 0;
	bzimage_load(&gm, &lo, copy, size, initrd_len ? initrd : NULL, initrd_len, cmdline, 0xE0000,
		     &st, err, sizeof(err));
	free(copy);
	return 0;
}
