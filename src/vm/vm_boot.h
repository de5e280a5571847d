/* vm_boot.h — loading the guest: kernel, initrd, command line, firmware tables (glue over
 * arch/x86). */
#ifndef VMON_VM_VM_BOOT_H
#define VMON_VM_VM_BOOT_H

#include <stddef.h>

struct vm;
struct vm_config;

/*
 * vm_boot_load - load the kernel (or the bundled demo guest), initrd and
 * command line of vm->cfg into guest memory, write the ACPI tables, and set
 * vm->boot_state. The kernel and initrd are read from the files @cfg holds
 * open: @cfg is the configuration vm->cfg was copied from, and must have
 * passed vm_config_validate(). Returns 0, or -errno with one line in @err (a
 * kernel that is not bootable or does not fit is the user's mistake, reported
 * as such).
 */
int vm_boot_load(struct vm *vm, const struct vm_config *cfg, char *err, size_t err_len);

#endif
