/*
 * fuzz_boot_bzimage.c — the Linux boot protocol loader over arbitrary image
 * bytes: the input is a bzImage file; the first byte, when the input is long
 * enough, also picks the initrd size and the command line length so those
 * placement checks are exercised. Guest RAM is a 64 MiB static buffer.
 */
#include <stdlib.h>
#include <string.h>

#include "arch/x86/boot_bzimage.h"

#include "boot_fuzz.h"

#define FUZZ_MEM (64u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *initrd; /* its own buffer: the initrd is host memory */
	static char cmdline[4096];
	struct boot_fuzz f;
	struct x86_cpu_state st;
	struct bzimage_info info;
	char err[160];
	size_t initrd_len = 0, cmd_len = 0;

	if (!initrd) {
		initrd = calloc(1, 256u << 16);
		if (!initrd)
			abort();
	}
	boot_fuzz_begin(&f, FUZZ_MEM, data, size);
	bzimage_parse(f.image, size, &f.lo, &info, err, sizeof(err));
	if (size > 0x300) {
		initrd_len = (size_t)data[0x2FF] << 16;
		cmd_len = (size_t)data[0x2FE] << 4;
	}
	memset(cmdline, 'x', cmd_len);
	cmdline[cmd_len] = 0;
	bzimage_load(&f.gm, &f.lo, f.image, size, initrd_len ? initrd : NULL, initrd_len, cmdline,
		     0xE0000, &st, err, sizeof(err));
	boot_fuzz_end(&f);
	return 0;
}
