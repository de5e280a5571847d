/*
 * vmgenid.h — the VM generation ID (Microsoft's "Virtual Machine Generation
 * ID" spec, as Linux's drivers/virt/vmgenid.c uses it): 16 random bytes in
 * guest RAM at an address the DSDT's VGEN device gives (ADDR), and an
 * interrupt, the GSI of the DSDT's Generic Event Device, that makes the guest
 * run _EVT -> Notify(VGEN, 0x80) and reread them. A guest that finds the ID
 * changed knows it runs as a new copy of a snapshot, and Linux reseeds its
 * CRNG ("random: crng reseeded due to virtual machine fork").
 *
 * No registers and no state of its own: the ID lives in guest RAM (saved and
 * restored with it), the event is an edge on the GSI (the in-kernel IOAPIC
 * and LAPIC state carry a pending one). So the device has no snapshot
 * section; after a restore the VM calls vmgenid_new_generation().
 */
#ifndef VMON_DEVICES_VMGENID_H
#define VMON_DEVICES_VMGENID_H

#include <stdint.h>

#include "base/device.h"
#include "mem/gmem.h"

#define VMGENID_ID_BYTES 16
#define VMGENID_NOTIFY 0x80 /* the Notify value of a new generation (spec; acpi.c's _EVT) */
/*
 * IOAPIC pin 5, edge, active-high. Free on vmon's platform: 0 is the PIT, 1
 * and 12 the i8042, 4 COM1, 8 the RTC, 9 the FADT's SCI_INT (Linux programs
 * that pin level/active-low even on a hardware-reduced platform), 16-23 the
 * PCI INTx lines (level, shared). An ISA-range pin, as COM1's, takes the
 * identity GSI routing Linux assumes for 0-15 (acpi.c); Firecracker also
 * hands out GSI 5 first.
 */
#define VMGENID_GSI 5

struct vmgenid;

/*
 * vmgenid_fill - write a fresh random ID (getrandom) to @gm at @id_gpa,
 * marked dirty like every device write. For the boot path (vm_boot.c),
 * before any device exists. 0, -EFAULT when @gm does not map the 16 bytes,
 * or -errno from getrandom.
 */
int vmgenid_fill(struct gmem *gm, uint64_t id_gpa);

/*
 * vmgenid_create - the device for the ID at @id_gpa of @gm, announcing new
 * ones on @irq (both not owned, must outlive it). Writes nothing. NULL with
 * errno set on failure.
 */
struct vmgenid *vmgenid_create(struct gmem *gm, uint64_t id_gpa, struct irq_line *irq);

/* vmgenid_destroy - free it; NULL is a no-op. */
void vmgenid_destroy(struct vmgenid *vg);

/*
 * vmgenid_new_generation - write a fresh random ID, then pulse the IRQ line
 * (raise, lower: an edge) so the guest's GED runs _EVT and its driver
 * rereads the ID. Call it with the vCPUs not running (a restore, before they
 * start) or at least with no other caller at once. 0 or -errno as
 * vmgenid_fill(); on failure no event is raised and the old ID may remain.
 */
int vmgenid_new_generation(struct vmgenid *vg);

/*
 * vmgenid_device_ops - lifecycle (name "vmgenid"): destroy only (no save,
 * load or reset: nothing but guest RAM to keep).
 */
extern const struct device_ops vmgenid_device_ops;

#endif
