/*
 * platform.h — what the VM provides to its bus devices (PCI functions, the
 * virtio-mmio transport): ioeventfds, interrupts and the event loop. The VM
 * implements it on KVM (vm/vm_pci.c); unit tests fake it
 * (tests/unit/virtio/fake_platform.h). Every hook may be NULL: the device then
 * falls back (no ioeventfd: notifications arrive as MMIO writes; no fd_watch:
 * the owner must poll).
 * @ioeventfd_add: make a guest write of @len bytes at @gpa signal eventfd @fd
 *                 without an exit to userspace (KVM_IOEVENTFD, MMIO); with
 *                 @datamatch >= 0 only a write of that value does. Returns 0 or
 *                 -errno. @ioeventfd_del undoes it (same arguments).
 * @msi_send:      deliver one MSI message (KVM_SIGNAL_MSI, or an irqfd bound
 *                 to a route for @addr/@data). Called from vCPU and event-loop
 *                 threads. Returns 0 or -errno.
 * @intx_set:      drive GSI @gsi (an IOAPIC input; active high as KVM sees it) to @level.
 * @fd_watch:      call @fn(@arg, epoll events) on the event-loop thread
 *                 whenever @fd is readable (level-triggered; the signature is
 *                 base/evloop.h's evloop_handler, so evloop_add(el, fd, EPOLLIN,
 *                 fn, arg) implements it). Returns 0 or -errno.
 * @fd_unwatch:    stop watching @fd.
 * @msi_route:     route a GSI as the MSI @addr/@data: a new one when @gsi < 0,
 *                 else update @gsi. Returns the GSI or -errno.
 * @msi_route_del: free a GSI made by @msi_route.
 * @irqfd:         make signalling eventfd @fd raise @gsi in the kernel with no
 *                 exit to userspace (KVM_IRQFD), or undo it. 0 or -errno.
 */
#ifndef VMON_BUS_PLATFORM_H
#define VMON_BUS_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

struct dev_platform {
	void *opaque;
	int (*ioeventfd_add)(void *opaque, uint64_t gpa, unsigned len, int64_t datamatch, int fd);
	int (*ioeventfd_del)(void *opaque, uint64_t gpa, unsigned len, int64_t datamatch, int fd);
	int (*msi_send)(void *opaque, uint64_t addr, uint32_t data);
	void (*intx_set)(void *opaque, unsigned gsi, int level);
	int (*fd_watch)(void *opaque, int fd, void (*fn)(void *arg, uint32_t events), void *arg);
	int (*fd_unwatch)(void *opaque, int fd);
	int (*msi_route)(void *opaque, int gsi, uint64_t addr, uint32_t data);
	void (*msi_route_del)(void *opaque, int gsi);
	int (*irqfd)(void *opaque, int fd, int gsi, bool assign);
};

#endif
