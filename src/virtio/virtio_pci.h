/*
 * virtio_pci.h — the virtio-over-PCI transport (virtio 1.2 §4.1, modern
 * devices only): exposes one struct virtio_dev as a PCI function with
 * vendor id 0x1af4, device id 0x1040 + virtio id, and one 32 KiB memory BAR 0
 * laid out as
 *   0x0000 common configuration (struct virtio_pci_common_cfg)
 *   0x1000 ISR status (1 byte, read clears)
 *   0x2000 device-specific configuration
 *   0x3000 notifications: queue q at 0x3000 + 4 * q (notify_off_multiplier 4)
 *   0x4000 MSI-X table (nr_queues + 1 vectors), 0x5000 MSI-X PBA
 * with the four vendor capabilities that point there (§4.1.4), the
 * VIRTIO_PCI_CAP_PCI_CFG access window (§4.1.4.9) and MSI-X.
 *
 * Notifications: each queue has an eventfd. When BAR 0 is mapped the
 * transport asks the platform to bind it to the queue's notify address
 * (ioeventfd_add, 2-byte writes), so a kick needs no exit to userspace; the
 * platform's fd_watch runs the queue on the event-loop thread. A notify that
 * arrives as an ordinary MMIO write signals the same eventfd (or, without
 * fd_watch, runs the queue at once on the vCPU thread).
 *
 * Interrupts: with MSI-X enabled, the queue's (or config) vector through
 * pci_msix_notify (VIRTIO_MSI_NO_VECTOR: none); otherwise the ISR bit and INTA#
 * (lowered when the driver reads the ISR).
 *
 * Locking: register accesses (vCPU threads) and kicks (event loop) take the
 * virtio_dev lock; see virtio.h for the order.
 */
#ifndef VMON_VIRTIO_VIRTIO_PCI_H
#define VMON_VIRTIO_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "bus/pci.h"
#include "base/device.h"
#include "virtio/virtio.h"
#include "virtio/virtio_kick.h"

#define VIRTIO_PCI_BAR_SIZE 0x8000u
#define VIRTIO_PCI_COMMON_OFF 0x0000u
#define VIRTIO_PCI_ISR_OFF 0x1000u
#define VIRTIO_PCI_DEVICE_OFF 0x2000u
#define VIRTIO_PCI_NOTIFY_OFF 0x3000u
#define VIRTIO_PCI_NOTIFY_MULT 4u
#define VIRTIO_PCI_MSIX_TABLE_OFF 0x4000u
#define VIRTIO_PCI_MSIX_PBA_OFF 0x5000u

struct virtio_pci {
	struct pci_device pdev;
	struct virtio_dev *vdev;
	const struct dev_platform *plat;
	uint32_t device_feature_select;
	uint32_t driver_feature_select;
	uint16_t queue_select;
	uint8_t isr;
	uint8_t pcicfg_cap; /* config offset of the VIRTIO_PCI_CAP_PCI_CFG capability */
	struct virtio_kicks kicks; /* queue notification eventfds, requeue timer */
	/* queue_irqfd: interrupt eventfds, under pdev.lock */
	int call_fd[VIRTIO_MAX_QUEUES]; /* -1: none */
	uint16_t call_vec[VIRTIO_MAX_QUEUES];
	int call_gsi[VIRTIO_MAX_QUEUES]; /* MSI route, -1: none */
	bool call_kvm[VIRTIO_MAX_QUEUES]; /* bound as a KVM irqfd */
	bool call_watched[VIRTIO_MAX_QUEUES]; /* read on the event loop instead */
	bool ioeventfd_on;
	uint64_t ioeventfd_bar_gpa;
	struct ratelimit rl;
};

/*
 * virtio_pci_create - expose @vdev (an initialised device model) as a PCI
 * function in @slot (1..31) of @pb. Creates one eventfd per queue, watches
 * it through the platform's fd_watch, and attaches the function (BAR 0 is
 * placed in the PCI MMIO window). On success the transport owns @vdev:
 * virtio_pci_destroy() destroys it. Returns 0 and *@out, or -errno (then
 * @vdev is untouched and still the caller's).
 */
int virtio_pci_create(struct virtio_pci **out, struct pci_bus *pb, unsigned slot,
		      struct virtio_dev *vdev);

/* virtio_pci_destroy - detach from the bus, close the eventfds, destroy the device model. */
void virtio_pci_destroy(struct virtio_pci *vp);

/*
 * virtio_pci_device_ops - the lifecycle for the VM's device list (dev =
 * struct virtio_pci *): reset (device reset, command register 0 so the BAR
 * stops decoding, MSI-X off and masked, INTx low), save/load
 * (one section "virtio-pci", instance = slot: PCI config space and MSI-X,
 * transport registers, virtio common state, model state), destroy.
 */
extern const struct device_ops virtio_pci_device_ops;

/* virtio_pci_bar_ops - BAR 0's register access (exported for tests and fuzzers). */
extern const struct bus_region_ops virtio_pci_bar_ops;

/* virtio_pci_kick_fd - the eventfd of queue @q (for tests), or -1. */
int virtio_pci_kick_fd(struct virtio_pci *vp, unsigned q);

#endif
