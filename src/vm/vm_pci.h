/*
 * vm_pci.h — a VM's PCI bus and its virtio devices (disks, NICs, entropy,
 * console): the host backends opened from the configuration, the device
 * models, their virtio-pci transports, and struct dev_platform on KVM
 * (ioeventfd for queue kicks, KVM_SIGNAL_MSI for MSI-X, KVM_IRQ_LINE for INTx,
 * the event loop for backend fds).
 */
#ifndef VMON_VM_VM_PCI_H
#define VMON_VM_VM_PCI_H

#include <stdbool.h>
#include <stddef.h>

#include "bus/bus.h"
#include "vm/vm_config.h"

struct vm;
struct chardev;

/* vm_config_has_pci - the configuration asks for PCI devices (vmon then adds the bus). */
bool vm_config_has_pci(const struct vm_config *cfg);

/*
 * vm_pci_create - the PCI host bridge and one virtio-pci device per disk,
 * NIC, class-table device (virtio/virtio_class.h) and --console virtio (on
 * @console), then vsock and the balloon. The bridge owns ports
 * 0xCF8-0xCFF, so the reset-control byte 0xCF9 is served by @cf9_ops/@cf9.
 * Returns 0, or -errno with one line in @err; *@user_error is set when the
 * configuration was at fault (an image or a TAP that cannot be opened).
 */
int vm_pci_create(struct vm *vm, const struct bus_region_ops *cf9_ops, void *cf9,
		  struct chardev *console, bool *user_error, char *err, size_t err_len);

/*
 * vm_pci_drain - wait until every block request in flight has completed and
 * its completion has reached the guest (a snapshot). On the event-loop thread
 * (or with no loop running), vCPUs parked.
 */
void vm_pci_drain(struct vm *vm);

/*
 * vm_pci_quiesce - close the block backends (completing what is in flight)
 * before the devices are destroyed. vCPUs must have stopped.
 */
void vm_pci_quiesce(struct vm *vm);

/* vm_pci_flush - fdatasync every disk image (after vm_pci_drain). 0 or -errno with @err. */
int vm_pci_flush(struct vm *vm, char *err, size_t err_len);

/*
 * vm_pci_lock_disks / vm_pci_unlock_disks - take (0 or -EBUSY with @err) or
 * drop every disk image's lock: a migration hands the images over.
 */
int vm_pci_lock_disks(struct vm *vm, char *err, size_t err_len);
void vm_pci_unlock_disks(struct vm *vm);

/* vm_pci_announce - a RARP frame from each NIC's MAC out of its TAP (after a migration). */
void vm_pci_announce(struct vm *vm);

/*
 * vm_pci_set_disk_limit / vm_pci_set_net_limit - new rate limiters for the
 * @idx-th disk or NIC of the configuration (vm_set_disk_limit and
 * vm_set_net_limit call them). 0, -ENOENT, or -EOPNOTSUPP (a NIC on vhost-net).
 */
int vm_pci_set_disk_limit(struct vm *vm, unsigned idx, const struct rate_limit_config *c);
int vm_pci_set_net_limit(struct vm *vm, unsigned idx, const struct rate_limit_config *rx,
			 const struct rate_limit_config *tx);

/*
 * vm_pci_set_disk_path - the @idx-th disk of the configuration now reads and
 * writes the image at @path (opened and locked as at start, read-only if the
 * disk is); the guest gets a configuration-change interrupt and rereads the
 * capacity. The old image is closed. Event-loop thread. 0, or -errno with one
 * line in @err (then the disk is unchanged).
 */
int vm_pci_set_disk_path(struct vm *vm, unsigned idx, const char *path, char *err, size_t err_len);

/* vm_pci_balloon - the balloon's device model (virtio/virtio_balloon.h), or NULL without one. */
struct virtio_dev *vm_pci_balloon(struct vm *vm);

/* vm_pci_destroy - after the devices: close the TAPs, remove the bridge. */
void vm_pci_destroy(struct vm *vm);

#endif
