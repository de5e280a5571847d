/*
 * fuzz_boot_multiboot.c — the multiboot v1 loader (header search, a.out
 * kludge, ELF32/ELF64) over arbitrary image bytes, with an initrd module
 * whose size the last input byte picks. Guest RAM is a 16 MiB static buffer.
 */
#include "arch/x86/boot_multiboot.h"

#include "boot_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct boot_fuzz f;
	struct x86_cpu_state st;
	struct multiboot_image img;
	const uint8_t *initrd;
	size_t initrd_len;
	char err[160];

	boot_fuzz_begin(&f, BOOT_FUZZ_SMALL_MEM, data, size);
	initrd = boot_fuzz_initrd(data, size, &initrd_len);
	multiboot_parse(f.image, size, &f.lo, &img, err, sizeof(err));
	multiboot_load(&f.gm, &f.lo, f.image, size, initrd, initrd_len, "fuzz", &st, err,
		       sizeof(err));
	boot_fuzz_end(&f);
	return 0;
}
