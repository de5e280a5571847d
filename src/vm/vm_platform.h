/*
 * vm_platform.h — the PC platform devices of a VM (8250 UART on COM1, i8042,
 * CMOS RTC, port 0x80, debug-exit, ACPI power registers) created and wired to
 * the VM's buses, IRQ lines and power events.
 */
#ifndef VMON_VM_VM_PLATFORM_H
#define VMON_VM_VM_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>

struct vm;

/*
 * vm_platform_create - create and register the platform devices, and the PCI
 * bus with the virtio devices when the configuration has any (vm_pci.h).
 * 0 or -errno with @err; *@user_error as vm_pci_create() sets it.
 */
int vm_platform_create(struct vm *vm, bool *user_error, char *err, size_t err_len);

/*
 * vm_vmgenid_regenerate - give the VM a new generation ID and raise the
 * ACPI event that tells the guest (devices/vmgenid.h). For a restore: after
 * the in-kernel irqchip state is set (it would drop the edge) and before the
 * vCPUs start. 0, -ENODEV before vm_platform_create(), or -errno from
 * getrandom / -EFAULT.
 */
int vm_vmgenid_regenerate(struct vm *vm);

/*
 * vm_platform_quiesce - stop the platform's host timers (the RTC's), so that
 * nothing calls into a device any more; before the devices are destroyed.
 */
void vm_platform_quiesce(struct vm *vm);

/* vm_platform_destroy - free what vm_platform_create() made (devices on vm->devices excepted). */
void vm_platform_destroy(struct vm *vm);

#endif
