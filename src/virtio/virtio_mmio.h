/*
 * virtio_mmio.h — the virtio-over-MMIO transport (virtio 1.2 §4.2, version 2
 * "modern" register layout only): one struct virtio_dev behind a 4 KiB
 * register window at a fixed guest-physical address, with one interrupt line.
 * No PCI bus, no config space, no MSI-X: the transport Firecracker's guests
 * use, and the one a guest booted with `pci=off` (or a kernel without PCI)
 * finds — through the ACPI DSDT (_HID "LNRO0005", arch/x86/acpi.h) or a
 * `virtio_mmio.device=4K@ADDR:GSI` command-line entry.
 *
 * Registers (offsets from the window's base; control registers are 32 bits
 * wide and aligned — other accesses to them read 0 and are dropped):
 *   0x000 MagicValue "virt"     0x004 Version 2          0x008 DeviceID
 *   0x00c VendorID              0x010 DeviceFeatures     0x014 DeviceFeaturesSel
 *   0x020 DriverFeatures        0x024 DriverFeaturesSel  0x030 QueueSel
 *   0x034 QueueNumMax           0x038 QueueNum           0x044 QueueReady
 *   0x050 QueueNotify           0x060 InterruptStatus    0x064 InterruptACK
 *   0x070 Status                0x080/0x084 QueueDesc    0x090/0x094 QueueDriver
 *   0x0a0/0x0a4 QueueDevice     0x0ac SHMSel             0x0b0..0x0bc SHMLen/SHMBase
 *   0x0c0 QueueReset            0x0fc ConfigGeneration   0x100.. device configuration
 * Queue registers other than QueueReady are writable only while the queue is
 * not ready; QueueReady goes back to 0 only while the driver has not set
 * DRIVER_OK (teardown after a reset). No shared-memory regions (SHMLen and
 * SHMBase read all-ones) and no VIRTIO_F_RING_RESET (QueueReset reads 0).
 *
 * Notifications: each queue's eventfd (virtio_kick.h) is bound to QueueNotify
 * with the queue index as datamatch (KVM_IOEVENTFD_FLAG_DATAMATCH), so a kick
 * needs no exit to userspace; a notify that arrives as a register write
 * signals the same eventfd.
 *
 * Interrupts: InterruptStatus bit 0 (used buffer) or bit 1 (configuration
 * change) is set and the GSI driven high; it stays high until the driver
 * acknowledges every bit (InterruptACK) or resets the device: a
 * level-triggered line, declared so in the DSDT and the MP table. An ACK that
 * leaves bits pending lowers and raises the line (a new edge for a guest that
 * made the pin edge-triggered anyway). A model's interrupt eventfd
 * (queue_irqfd, vhost-net) is read on the event loop and raises the same bit.
 *
 * Locking: register accesses (vCPU threads), kicks and interrupt eventfds
 * (event loop) take the virtio_dev lock.
 */
#ifndef VMON_VIRTIO_VIRTIO_MMIO_H
#define VMON_VIRTIO_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "base/device.h"
#include "bus/bus.h"
#include "bus/platform.h"
#include "virtio/virtio.h"
#include "virtio/virtio_kick.h"

#define VIRTIO_MMIO_WINDOW 0x1000u
#define VIRTIO_MMIO_MAGIC 0x74726976u /* "virt" */
#define VIRTIO_MMIO_VENDOR 0x6e6f6d76u /* "vmon" */
#define VIRTIO_MMIO_CONFIG_OFF 0x100u

struct virtio_mmio_call {
	struct virtio_mmio *vm;
	unsigned q;
};

struct virtio_mmio {
	struct virtio_dev *vdev;
	const struct dev_platform *plat;
	struct bus *bus; /* where the window is registered, NULL before */
	uint64_t gpa;
	unsigned gsi;
	unsigned index; /* instance in the VM's device list */
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint32_t queue_sel;
	uint32_t shm_sel;
	uint32_t isr; /* InterruptStatus */
	bool ioeventfd_on;
	struct virtio_kicks kicks;
	/* queue_irqfd: interrupt eventfds read on the event loop */
	int call_fd[VIRTIO_MAX_QUEUES]; /* -1: none */
	struct virtio_mmio_call call[VIRTIO_MAX_QUEUES];
	struct ratelimit rl;
};

/*
 * virtio_mmio_create - expose @vdev (an initialised device model) at
 * [@gpa, @gpa + VIRTIO_MMIO_WINDOW) of @bus, interrupting on GSI @gsi through
 * @plat's intx_set, as instance @index of "virtio-mmio". Binds each queue's
 * eventfd to QueueNotify when @plat has ioeventfds. @bus may be NULL (tests:
 * the caller drives virtio_mmio_ops itself). On success the transport owns
 * @vdev (virtio_mmio_destroy() destroys it). Returns 0 and *@out, or -errno
 * (then @vdev is untouched and still the caller's).
 */
int virtio_mmio_create(struct virtio_mmio **out, struct bus *bus, const struct dev_platform *plat,
		       unsigned index, uint64_t gpa, unsigned gsi, struct virtio_dev *vdev);

/* virtio_mmio_destroy - unregister the window, unbind and close the eventfds, destroy the model.
 */
void virtio_mmio_destroy(struct virtio_mmio *vm);

/*
 * virtio_mmio_device_ops - the lifecycle for the VM's device list (dev =
 * struct virtio_mmio *): reset (device reset, selectors 0, interrupt status
 * 0 and the line low), save/load (one section "virtio-mmio", instance =
 * index: transport registers, virtio common state, model state; a loaded
 * non-zero InterruptStatus raises the line again), destroy.
 */
extern const struct device_ops virtio_mmio_device_ops;

/* virtio_mmio_ops - the register window's access (exported for tests and fuzzers). */
extern const struct bus_region_ops virtio_mmio_ops;

#endif
