/* layout.c — the guest physical address map for an x86-64 VM. */
#include <errno.h>

#include "arch/x86/arch_err.h"
#include "arch/x86/layout.h"

int layout_init(struct layout *lo, uint64_t mem_bytes, char *err, size_t err_len)
{
	if (mem_bytes < LAYOUT_MIN_MEM_BYTES || mem_bytes > LAYOUT_MAX_MEM_BYTES)
		return arch_err(err, err_len, -EINVAL,
				"memory: %llu MiB is outside [%llu MiB, %llu MiB]",
				(unsigned long long)(mem_bytes >> 20), LAYOUT_MIN_MEM_BYTES >> 20,
				LAYOUT_MAX_MEM_BYTES >> 20);
	if (mem_bytes & 0xfff)
		return arch_err(err, err_len, -EINVAL,
				"memory: %llu bytes is not a multiple of 4 KiB",
				(unsigned long long)mem_bytes);
	lo->mem_bytes = mem_bytes;
	if (mem_bytes <= LAYOUT_MMIO_HOLE_GPA) {
		lo->low_ram_end = mem_bytes;
		lo->high_ram_bytes = 0;
	} else {
		lo->low_ram_end = LAYOUT_MMIO_HOLE_GPA;
		lo->high_ram_bytes = mem_bytes - LAYOUT_MMIO_HOLE_GPA;
	}
	return 0;
}

unsigned layout_ram_regions(const struct layout *lo,
			    struct layout_region out[LAYOUT_MAX_RAM_REGIONS])
{
	unsigned n = 0;

	out[n].gpa = 0;
	out[n++].len_bytes = lo->low_ram_end;
	if (lo->high_ram_bytes) {
		out[n].gpa = LAYOUT_HIGH_RAM_GPA;
		out[n++].len_bytes = lo->high_ram_bytes;
	}
	return n;
}
