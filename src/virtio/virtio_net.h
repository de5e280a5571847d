/*
 * virtio_net.h — virtio network device (virtio 1.2 §5.1): one receive and
 * one transmit queue (no control queue), struct virtio_net_hdr_v1 in front
 * of every packet, MAC, STATUS (link up) and MTU in the config; checksum and
 * TSO offloads (CSUM, GUEST_CSUM, HOST_TSO4/6, GUEST_TSO4/6) are offered only
 * when the backend passes the vnet header through.
 *
 * The host side is a struct virtio_net_backend (mirrors src/backends/
 * net_tap.h; the VM adapts a struct net_tap to it). Receive runs on the
 * event-loop thread: the VM calls virtio_net_rx_ready() when the TAP fd is
 * readable. While the guest has posted no receive buffers the model asks the
 * VM to stop watching the fd (@rx_watch(false)), and asks again when the
 * guest posts some, so a level-triggered loop does not spin.
 */
#ifndef VMON_VIRTIO_VIRTIO_NET_H
#define VMON_VIRTIO_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "mem/gmem.h"
#include "virtio/virtio.h"

#define VIRTIO_NET_QUEUE_SIZE 256
#define VIRTIO_NET_MTU 1500

/*
 * struct virtio_net_backend - the host link.
 * @vnet_hdr:    readv/writev carry a 12-byte struct virtio_net_hdr_v1 first.
 * @set_offload: TUN_F_* flags the guest can take (may be NULL; then none offered).
 * @readv:       one packet into @iov, bytes read, or -errno (-EAGAIN: none now).
 * @writev:      one packet from @iov, bytes written or -errno.
 * @rx_watch:    the model wants (true) or does not want (false)
 *               virtio_net_rx_ready() calls; may be NULL (then the VM must
 *               watch the fd edge-triggered).
 * @release:     called once when the device is destroyed (may be NULL).
 */
struct virtio_net_backend {
	void *opaque;
	bool vnet_hdr;
	int (*set_offload)(void *opaque, unsigned tun_flags);
	ssize_t (*readv)(void *opaque, const struct iovec *iov, int n);
	ssize_t (*writev)(void *opaque, const struct iovec *iov, int n);
	void (*rx_watch)(void *opaque, bool on);
	void (*release)(void *opaque);
};

/*
 * virtio_net_create - a network device over @gm and @be (copied) with MAC
 * @mac. Returns 0 and *@out (give it to virtio_pci_create()), or -errno.
 */
int virtio_net_create(struct virtio_dev **out, const struct gmem *gm,
		      const struct virtio_net_backend *be, const uint8_t mac[6]);

/*
 * virtio_net_rx_ready - the backend has packets: move as many as the guest
 * has buffers for into the receive queue. Event-loop thread; takes the lock.
 */
void virtio_net_rx_ready(struct virtio_dev *vdev);

/* struct virtio_net_stats - counters for --stats and tests. */
struct virtio_net_stats {
	uint64_t rx_packets, tx_packets, rx_dropped, tx_dropped;
};
void virtio_net_get_stats(struct virtio_dev *vdev, struct virtio_net_stats *st);

#endif
