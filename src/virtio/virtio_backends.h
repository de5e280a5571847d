/*
 * virtio_backends.h — glue from vmon's host backends (backends/blk/
 * blk_backend.h, backends/net/net_tap.h) to the device models' small
 * vtables (struct virtio_blk_backend, struct virtio_net_backend), so the VM
 * creates a disk or a NIC in one call.
 *
 * The functions exist when the backends' headers are in the tree
 * (VIRTIO_HAVE_HOST_BACKENDS is then 1); until the backends branch is merged
 * they are not built.
 */
#ifndef VMON_VIRTIO_VIRTIO_BACKENDS_H
#define VMON_VIRTIO_VIRTIO_BACKENDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "mem/gmem.h"
#include "virtio/virtio.h"

#if __has_include("backends/blk/blk_backend.h") && __has_include("backends/net/net_tap.h")
#define VIRTIO_HAVE_HOST_BACKENDS 1
#else
#define VIRTIO_HAVE_HOST_BACKENDS 0
#endif

struct blk_backend;
struct net_tap;
struct net_vhost;
struct evloop;

/*
 * virtio_blk_create_on - a virtio-blk device over an open block backend @b
 * (the caller's: close it with blk_backend_close() after destroying the
 * device; that completes what is in flight). Read-only when @b was opened
 * read-only. @serial: GET_ID string (may be NULL). Each I/O allocates a small
 * struct blk_io. Returns 0 and *@out, or -errno.
 */
int virtio_blk_create_on(struct virtio_dev **out, const struct gmem *gm, struct blk_backend *b,
			 const char *serial);

/*
 * virtio_blk_replace_on - serve the running device @vdev (made by
 * virtio_blk_create_on) from block backend @b instead (virtio_blk_replace);
 * the old backend is then free to close. 0 or -errno.
 */
int virtio_blk_replace_on(struct virtio_dev *vdev, struct blk_backend *b);

/*
 * struct virtio_net_filter - an endpoint on the guest's link in front of the
 * TAP (the metadata service's): @tx sees each frame the guest sends first
 * (@iov, @n: a @hdr_len-byte struct virtio_net_hdr_v1, 0 without the TAP's
 * vnet header, then the Ethernet frame) and returns true when it took it (it
 * does not reach the TAP); @has_rx tells that it has a frame for the guest,
 * which @rx writes (Ethernet only, at most @cap bytes) and returns the length
 * of (0: none). Its frames go to the guest before the TAP's. All three run on
 * the event-loop thread with the device lock held.
 */
struct virtio_net_filter {
	void *opaque;
	bool (*tx)(void *opaque, const struct iovec *iov, int n, size_t hdr_len);
	bool (*has_rx)(void *opaque);
	size_t (*rx)(void *opaque, uint8_t *buf, size_t cap);
};

/*
 * virtio_net_create_on - a virtio-net device over TAP @t with MAC @mac. The
 * TAP fd is watched on @el (EPOLLIN) while the guest has receive buffers
 * posted; offloads are set from the negotiated features. @t stays the
 * caller's (close it after destroying the device). With @vh (an open
 * /dev/vhost-net, also the caller's), the queues go to vhost-net at
 * DRIVER_OK and its interrupts come back through two eventfds the transport
 * binds as KVM irqfds (-EOPNOTSUPP when @t has no vnet header). With
 * @filter (copied; not with @vh), its endpoint sits in front of the TAP.
 * Returns 0 and *@out, or -errno.
 */
int virtio_net_create_on(struct virtio_dev **out, const struct gmem *gm, struct net_tap *t,
			 struct net_vhost *vh, const struct virtio_net_filter *filter,
			 const uint8_t mac[6], struct evloop *el);

#endif
