/* vm_boot.c — RAM layout and kernel loading for a VM (glue over arch/x86). */
#include "vm/vm_boot.h"

#include <errno.h>
#include <stdio.h>

#include "vm/vm.h"

#define RAM_BELOW_4G_MAX 0xC0000000ull /* the MMIO hole starts here */
#define RAM_ABOVE_4G_BASE 0x100000000ull

unsigned vm_ram_layout(uint64_t mem_bytes, struct vm_ram_region *out, unsigned max)
{
	unsigned n = 0;
	uint64_t low = mem_bytes < RAM_BELOW_4G_MAX ? mem_bytes : RAM_BELOW_4G_MAX;

	if (max >= 1 && low) {
		out[n++] = (struct vm_ram_region){ 0, low };
	}
	if (max >= 2 && mem_bytes > low)
		out[n++] = (struct vm_ram_region){ RAM_ABOVE_4G_BASE, mem_bytes - low };
	return n;
}

int vm_boot_load(struct vm *vm, char *err, size_t err_len)
{
	(void)vm;
	snprintf(err, err_len, "no kernel loader is built in yet");
	return -ENOEXEC;
}
