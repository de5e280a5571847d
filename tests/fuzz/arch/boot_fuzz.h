/*
 * boot_fuzz.h — what the boot loaders' fuzz targets share: guest RAM in a
 * buffer allocated once per process, a layout over it, and an exact-size
 * heap copy of the input (so that any overread is seen by ASan).
 */
#ifndef VMON_TESTS_FUZZ_BOOT_FUZZ_H
#define VMON_TESTS_FUZZ_BOOT_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "arch/x86/layout.h"
#include "mem/gmem.h"

/* The guest RAM of a multiboot or PVH target, whose initrd is boot_fuzz_initrd(). */
#define BOOT_FUZZ_SMALL_MEM (16u << 20)

struct boot_fuzz {
	struct gmem gm;
	struct layout lo;
	uint8_t *image; /* the copy of the input; boot_fuzz_end() frees it */
	size_t image_len;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * boot_fuzz_begin - @f over @mem_bytes of zeroed-once guest RAM at gpa 0 (the
 * same @mem_bytes at every call of a process), with the input @data/@size
 * copied. Aborts when the host is out of memory.
 */
void boot_fuzz_begin(struct boot_fuzz *f, uint32_t mem_bytes, const uint8_t *data, size_t size);

/* boot_fuzz_end - free the copy of the input. */
void boot_fuzz_end(struct boot_fuzz *f);

/*
 * boot_fuzz_initrd - a zeroed initrd (host memory, up to 63 KiB) whose length
 * the low six bits of the input's last byte pick, in KiB; *@len 0 for an empty input.
 */
const uint8_t *boot_fuzz_initrd(const uint8_t *data, size_t size, size_t *len);

#endif
