/* e820.c — the e820 memory map for a guest layout. */
#include <errno.h>

#include "arch/x86/e820.h"

static void e820_set(struct boot_e820_entry *e, uint64_t addr, uint64_t size, uint32_t type)
{
	e->addr = addr;
	e->size = size;
	e->type = type;
}

int e820_build(const struct layout *lo, struct boot_e820_entry *out, unsigned max)
{
	struct boot_e820_entry tmp[E820_MAX_VMON_ENTRIES];
	unsigned n = 0;

	e820_set(&tmp[n++], 0, LAYOUT_EBDA_GPA, E820_RAM);
	e820_set(&tmp[n++], LAYOUT_EBDA_GPA, LAYOUT_HIGH_MEM_GPA - LAYOUT_EBDA_GPA, E820_RESERVED);
	if (lo->low_ram_end > LAYOUT_HIGH_MEM_GPA)
		e820_set(&tmp[n++], LAYOUT_HIGH_MEM_GPA, lo->low_ram_end - LAYOUT_HIGH_MEM_GPA,
			 E820_RAM);
	e820_set(&tmp[n++], LAYOUT_PCI_ECAM_GPA, LAYOUT_PCI_ECAM_LEN, E820_RESERVED);
	if (lo->high_ram_bytes)
		e820_set(&tmp[n++], LAYOUT_HIGH_RAM_GPA, lo->high_ram_bytes, E820_RAM);
	if (n > max)
		return -E2BIG;
	for (unsigned i = 0; i < n; i++)
		out[i] = tmp[i];
	return (int)n;
}
