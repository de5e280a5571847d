/*
 * fuzz_boot_pvh.c — the PVH ELF loader (ELF32/ELF64 program headers, the Xen
 * entry note, start info) over arbitrary image bytes, with an initrd whose
 * size the last input byte picks. Guest RAM is a 16 MiB static buffer.
 */
#include "arch/x86/boot_pvh.h"

#include "boot_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct boot_fuzz f;
	struct x86_cpu_state st;
	struct boot_image img;
	const uint8_t *initrd;
	size_t initrd_len;
	char err[160];

	boot_fuzz_begin(&f, BOOT_FUZZ_SMALL_MEM, data, size);
	initrd = boot_fuzz_initrd(data, size, &initrd_len);
	pvh_detect(f.image, size);
	pvh_parse(f.image, size, &f.lo, &img, err, sizeof(err));
	pvh_load(&f.gm, &f.lo, f.image, size, initrd, initrd_len, "fuzz", 0xE0000, &st, err,
		 sizeof(err));
	boot_fuzz_end(&f);
	return 0;
}
