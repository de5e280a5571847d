/* vm_boot.h — the VM's RAM layout and kernel loading (glue over arch/x86's loaders). */
#ifndef VMON_VM_VM_BOOT_H
#define VMON_VM_VM_BOOT_H

#include <stddef.h>
#include <stdint.h>

struct vm;

struct vm_ram_region {
	uint64_t gpa;
	uint64_t len_bytes;
};

/* vm_ram_layout - the RAM regions for @mem_bytes of guest RAM; returns how many (<= @max). */
unsigned vm_ram_layout(uint64_t mem_bytes, struct vm_ram_region *out, unsigned max);

/*
 * vm_boot_load - load the configured kernel (or the bundled demo guest),
 * initrd and command line into guest memory, write the firmware tables, and
 * set vm->boot_state. 0 or -errno with one line in @err.
 */
int vm_boot_load(struct vm *vm, char *err, size_t err_len);

#endif
